# shellcheck shell=bash disable=SC2034 # the tables are used by the sourcing script
# Sourced by tools/bench/run.sh, icount.sh and tests/bench/check_bench.c:
# the allocators compared, how each is loaded and with what environment,
# and the name its malloc's library must show.
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR=/usr/lib/$MULTIARCH

# Every allocator but hakmem_static preloads into the same _system binary:
# hakmem is libhakmem.so preloaded exactly as users and the peers run, the
# column targets are judged on; hakmem_nolearn is the same with the learner
# off (ALLOC_ENV below), issue 17's A/B; hakmem_static is the _hakmem
# binary with libhakmem.a linked in (direct calls, local-exec TLS), an
# extra column.
declare -A PRELOAD=(
	[hakmem]=$PWD/out/release/libhakmem.so
	[hakmem_nolearn]=$PWD/out/release/libhakmem.so
	[hakmem_static]=""
	[glibc]=""
	[mimalloc]=$LIBDIR/libmimalloc.so.2
	[jemalloc]=$LIBDIR/libjemalloc.so.2
	[tcmalloc]=$LIBDIR/libtcmalloc_minimal.so.4
)
# What the malloc_lib a program reports must name, to prove the preload took.
declare -A EXPECT_LIB=(
	[hakmem]=libhakmem.so
	[hakmem_nolearn]=libhakmem.so
	[hakmem_static]=_hakmem
	[glibc]=libc.so
	[mimalloc]=libmimalloc
	[jemalloc]=libjemalloc
	[tcmalloc]=libtcmalloc
)
# Environment assignments (NAME=VALUE words) an allocator runs with, none
# if absent (not named ENV: POSIX shells read that variable). Every launch
# goes through with_alloc, which applies them.
declare -A ALLOC_ENV=(
	[hakmem_nolearn]="HAKMEM_LEARN=0"
)
DEFAULT_ALLOCS="hakmem hakmem_nolearn hakmem_static glibc mimalloc jemalloc tcmalloc"

# with_alloc ALLOC [NAME=VALUE...] CMD [ARG...]: run CMD under ALLOC, its
# preload and environment set (more assignments may come first, env(1)
# style), BENCH_CORRUPT unset so a stray one cannot fail every run.
with_alloc() {
	local alloc=$1
	shift
	# shellcheck disable=SC2086 # ALLOC_ENV holds words on purpose
	env -u BENCH_CORRUPT ${ALLOC_ENV[$alloc]:-} LD_PRELOAD="${PRELOAD[$alloc]}" "$@"
}

# bench_exe DIR NAME ALLOC: the binary ALLOC runs.
bench_exe() {
	if [ "$3" = hakmem_static ]; then
		echo "$1/$2_hakmem"
	else
		echo "$1/$2_system"
	fi
}

# pick_allocs WHO NAME...: set ALLOCS to the NAMEs that are installed; an
# unknown NAME is an error (exit 2), a missing peer is skipped with a message.
pick_allocs() {
	local who=$1 a
	shift
	ALLOCS=()
	for a in "$@"; do
		if [ -z "${EXPECT_LIB[$a]+x}" ]; then
			echo "$who: unknown allocator '$a'" >&2
			exit 2
		fi
		if [ -n "${PRELOAD[$a]}" ] && [ ! -e "${PRELOAD[$a]}" ]; then
			echo "$who: $a not installed (${PRELOAD[$a]}), skipping it" >&2
			continue
		fi
		ALLOCS+=("$a")
	done
}
