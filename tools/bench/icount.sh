#!/usr/bin/env bash
# tools/bench/icount.sh - instructions per malloc+free pair, per tier, for
# HAKMEM and every installed peer, under valgrind's callgrind
# (./build.sh icount runs it after building release).
#
# out/release/bench/icount_system TIER PAIRS walks a fixed request pattern
# twice, with every allocator preloaded into it (hakmem: libhakmem.so, as
# users run it; hakmem_nolearn with HAKMEM_LEARN=0); hakmem_static runs
# icount_hakmem, libhakmem.a linked in.
# Callgrind collects only inside icount_malloc() and icount_free() during
# the second walk (--toggle-collect), so start-up,
# warm-up, the loop and the pattern checks do not count. The wrappers' own
# instructions (4 each, read back from callgrind's per-function costs) are
# subtracted: what remains is the allocator's user-space work. Kernel work
# (mmap, page faults) is invisible to callgrind; bench_large measures it.
# Prints a Markdown table and writes it to out/bench/icount.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=out/release/bench
OUTDIR=out/bench
# shellcheck source=tools/bench/allocators.sh
. tools/bench/allocators.sh
TIERS=("tiny 100000" "pool 100000" "medium 20000" "large 5000")


command -v valgrind >/dev/null || {
	echo "icount.sh: valgrind not installed (./build.sh setup)" >&2
	exit 1
}
for v in hakmem system; do
	[ -x "$BIN/icount_$v" ] || {
		echo "icount.sh: $BIN/icount_$v missing; run ./build.sh release" >&2
		exit 1
	}
done

# shellcheck disable=SC2086 # a list of names on purpose
pick_allocs icount.sh $DEFAULT_ALLOCS

mkdir -p "$OUTDIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Self cost of function $2 in callgrind output $1 (0 if absent).
self_cost() {
	callgrind_annotate --threshold=100 "$1" 2>/dev/null |
		awk -v fn=":$2 " 'index($0, fn) && !n++ { gsub(",", "", $1); c = $1 }
			END { print c + 0 }'
}

# count ALLOC TIER PAIRS: print instructions per pair, or FAIL.
count() {
	local alloc=$1 tier=$2 pairs=$3 exe cg=$TMP/cg.out
	local total wrap lib

	exe=$(bench_exe "$BIN" icount "$alloc")
	if ! with_alloc "$alloc" valgrind --tool=callgrind --collect-atstart=no \
		--toggle-collect=icount_malloc --toggle-collect=icount_free \
		--callgrind-out-file="$cg" "$exe" "$tier" "$pairs" \
		>"$TMP/out" 2>"$TMP/err"; then
		echo "icount.sh: $tier $alloc failed:" >&2
		tail -n 5 "$TMP/err" >&2
		echo FAIL
		return
	fi
	lib=$(sed -n 's/.* malloc_lib=\([^ ]*\).*/\1/p' "$TMP/out")
	case $lib in
	*"${EXPECT_LIB[$alloc]}"*) ;;
	*)
		echo "icount.sh: $tier $alloc ran malloc from '$lib'" >&2
		echo FAIL
		return
		;;
	esac
	total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/err")
	wrap=$(($(self_cost "$cg" icount_malloc) + $(self_cost "$cg" icount_free)))
	python3 -c "print('%.1f' % (($total - $wrap) / $pairs))"
}

row() {
	local out="|" c

	for c in "$@"; do
		out+=" $c |"
	done
	echo "$out"
}

header=("tier (sizes, pairs)")
sep=("---")
for a in "${ALLOCS[@]}"; do
	header+=("$a")
	sep+=("---:")
done
lines=("$(row "${header[@]}")" "$(row "${sep[@]}")")
declare -A SIZES=([tiny]="16 B-1 KiB" [pool]="8-32 KiB" [medium]="56 KiB-1 MiB" [large]="64 KiB-1 MiB")
for t in "${TIERS[@]}"; do
	read -r tier pairs <<<"$t"
	cells=("$tier (${SIZES[$tier]}, $pairs)")
	for a in "${ALLOCS[@]}"; do
		echo "icount: $tier $a" >&2
		cells+=("$(count "$a" "$tier" "$pairs")")
	done
	lines+=("$(row "${cells[@]}")")
done

{
	echo "# Instructions per malloc+free pair (callgrind)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(valgrind --version);" \
		"HAKMEM $(git describe --always --dirty 2>/dev/null || echo '?')."
	echo "User-space instructions inside malloc and free per pair, in a warmed-up"
	echo "steady state (fixed-seed sizes, ring of live slots); lower is better."
	echo "Kernel work (mmap, page faults) is not counted."
	echo
	printf '%s\n' "${lines[@]}"
	echo
	echo "Command: \`valgrind --tool=callgrind --collect-atstart=no" \
		"--toggle-collect=icount_malloc --toggle-collect=icount_free" \
		"out/release/bench/icount_system TIER PAIRS\`, every allocator" \
		"preloaded (\`LD_PRELOAD\`) but hakmem_static, which runs" \
		"icount_hakmem (libhakmem.a linked in); hakmem_nolearn is hakmem" \
		"with \`HAKMEM_LEARN=0\`."
} >"$OUTDIR/icount.md"
cat "$OUTDIR/icount.md"
