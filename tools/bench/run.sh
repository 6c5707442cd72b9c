#!/usr/bin/env bash
# tools/bench/run.sh quick|full - compare HAKMEM with glibc, mimalloc,
# jemalloc and tcmalloc on every benchmark (./build.sh bench runs it after
# building release; docs/BENCH.md describes the benchmarks).
#
# Runs one process at a time; allocators take turns run by run (the
# starting allocator rotates each round). Writes out/bench/results.csv (one
# row per run), out/bench/summary.md (medians and ratios) and
# out/bench/compare.png, then prints the summary. Progress goes to stderr.
#
# Environment: BENCH_RUNS overrides the run count, BENCH_ONLY="name ..."
# limits the benchmarks, BENCH_ALLOCS="hakmem mimalloc ..." the allocators
# (hakmem_so, not run by default, is libhakmem.so preloaded like the peers).
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=${1:-quick}
BIN=out/release/bench
OUTDIR=out/bench
CSV=$OUTDIR/results.csv
# shellcheck source=tools/bench/allocators.sh
. tools/bench/allocators.sh

# name|arguments. quick: runs of 0.03..4 s on a 2-core machine, under 4
# minutes in all (the fastest allocators finish the pool ones in 30-60 ms,
# where first-touch costs weigh: docs/POOL.md, Known limits); full: longer
# runs, 256 MiB realloc, about 12 minutes.
case $MODE in
quick)
	RUNS=${BENCH_RUNS:-3}
	TIMEOUT=60
	BENCHES=(
		"bench_random_mixed|20000000 4096 42"
		"bench_pool_tls|3000000 512 42"
		"bench_mid_large_mt|2 1500000 256 42"
		"larson|2 20000 100000 10 42"
		"bench_xthread|1 4000000 16 1024 42"
		"bench_realloc|1 8 32m 42"
		"bench_large|2 300 8 128m 42"
	)
	;;
full)
	RUNS=${BENCH_RUNS:-7}
	TIMEOUT=300
	BENCHES=(
		"bench_random_mixed|50000000 8192 42"
		"bench_pool_tls|6000000 1024 42"
		"bench_mid_large_mt|2 6000000 512 42"
		"larson|2 20000 100000 30 42"
		"bench_xthread|1 10000000 16 1024 42"
		"bench_realloc|1 4 256m 42"
		"bench_large|2 600 8 128m 42"
	)
	;;
*)
	echo "usage: $0 quick|full" >&2
	exit 2
	;;
esac

# shellcheck disable=SC2086 # a list of names on purpose
pick_allocs run.sh ${BENCH_ALLOCS:-hakmem glibc mimalloc jemalloc tcmalloc}

if [ -n "${BENCH_ONLY:-}" ]; then
	kept=()
	for b in "${BENCHES[@]}"; do
		for want in $BENCH_ONLY; do
			[ "${b%%|*}" = "$want" ] && kept+=("$b")
		done
	done
	BENCHES=("${kept[@]}")
fi

for b in "${BENCHES[@]}"; do
	for v in hakmem system; do
		[ -x "$BIN/${b%%|*}_$v" ] || {
			echo "run.sh: $BIN/${b%%|*}_$v missing; run ./build.sh release" >&2
			exit 1
		}
	done
done

mkdir -p "$OUTDIR"
# Never two timed runs at once, even from two shells: wait for the lock.
exec 9>"$OUTDIR/.lock"
if ! flock -n 9; then
	echo "run.sh: another benchmark run holds $OUTDIR/.lock; waiting" >&2
	flock 9
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# run_one BENCH ARGS ALLOC RUN: one timed process, one CSV row.
run_one() {
	local bench=$1 args=$2 alloc=$3 run=$4 exe status=ok line rc=0
	local ops="" secs="" ops_s="" rss="" live="" lib=""

	exe=$BIN/${bench}_system
	[ "$alloc" = hakmem ] && exe=$BIN/${bench}_hakmem
	# shellcheck disable=SC2086 # ARGS are words on purpose
	env -u BENCH_CORRUPT LD_PRELOAD="${PRELOAD[$alloc]}" \
		timeout "$TIMEOUT" "$exe" $args >"$TMP/out" 2>"$TMP/err" 9>&- ||
		rc=$?
	[ "$rc" -eq 0 ] || status=fail
	[ "$rc" -eq 124 ] && status=timeout
	line=$(grep -m1 '^RESULT ' "$TMP/out" || true)
	if [ "$status" != ok ]; then
		:
	elif [ -n "$line" ]; then
		ops=$(field ops "$line")
		secs=$(field secs "$line")
		ops_s=$(field ops_per_sec "$line")
		rss=$(field peak_rss_kb "$line")
		live=$(field peak_live_kb "$line")
		lib=$(field malloc_lib "$line")
		case $lib in
		*"${EXPECT_LIB[$alloc]}"*) ;;
		*) status=wrong_lib ;;
		esac
	else
		status=no_result
	fi
	if [ "$status" != ok ]; then
		echo "run.sh: $bench $alloc run $run: $status (malloc_lib=$lib)" >&2
		tail -n 5 "$TMP/err" >&2 || true
	fi
	echo "$bench,$alloc,$run,$ops,$secs,$ops_s,$rss,$live,$status,$lib,$args" >>"$CSV"
	[ "$status" = ok ] || failures=$((failures + 1))
}

field() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

echo "bench,allocator,run,ops,secs,ops_per_sec,peak_rss_kb,peak_live_kb,status,malloc_lib,args" >"$CSV"
total=$((${#BENCHES[@]} * RUNS * ${#ALLOCS[@]}))
n=0
failures=0
start=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
for b in "${BENCHES[@]}"; do
	bench=${b%%|*}
	args=${b#*|}
	for run in $(seq 1 "$RUNS"); do
		for k in $(seq 0 $((${#ALLOCS[@]} - 1))); do
			alloc=${ALLOCS[$(((k + run - 1) % ${#ALLOCS[@]}))]}
			n=$((n + 1))
			echo "[$n/$total] $bench $alloc run $run/$RUNS" >&2
			run_one "$bench" "$args" "$alloc" "$run"
		done
	done
done
echo "run.sh: $total runs in $(($(date +%s) - start)) s" >&2

load_end=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')

python3 tools/bench/summarize.py --mode "$MODE" --runs "$RUNS" \
	--allocs "${ALLOCS[*]}" --load "$load_start -> $load_end" "$CSV" "$OUTDIR"
if [[ " ${ALLOCS[*]} " != *" mimalloc "* ]]; then
	echo "run.sh: mimalloc not run, no chart (it shows ratios to mimalloc)" >&2
elif command -v gnuplot >/dev/null; then
	gnuplot -e "datafile='$OUTDIR/compare.dat'; outfile='$OUTDIR/compare.png'" \
		tools/bench/compare.gp || echo "run.sh: gnuplot failed" >&2
else
	echo "run.sh: gnuplot not installed, no chart" >&2
fi
echo >&2
cat "$OUTDIR/summary.md"
echo
echo "results: $CSV  $OUTDIR/summary.md  $OUTDIR/compare.png"
if [ "$failures" -gt 0 ]; then
	echo "run.sh: $failures of $total runs failed (status column of $CSV)" >&2
	exit 1
fi
