# shellcheck shell=bash disable=SC2034 # the tables are used by the sourcing script
# Sourced by tools/bench/run.sh and icount.sh: the allocators compared, how
# each is loaded, and the name its malloc's library must show.
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR=/usr/lib/$MULTIARCH

# hakmem is the statically linked _hakmem binary; the others preload into the
# _system binary (hakmem_so: libhakmem.so preloaded like the peers).
declare -A PRELOAD=(
	[hakmem]=""
	[hakmem_so]=out/release/libhakmem.so
	[glibc]=""
	[mimalloc]=$LIBDIR/libmimalloc.so.2
	[jemalloc]=$LIBDIR/libjemalloc.so.2
	[tcmalloc]=$LIBDIR/libtcmalloc_minimal.so.4
)
# What the malloc_lib a program reports must name, to prove the preload took.
declare -A EXPECT_LIB=(
	[hakmem]=_hakmem
	[hakmem_so]=libhakmem.so
	[glibc]=libc.so
	[mimalloc]=libmimalloc
	[jemalloc]=libjemalloc
	[tcmalloc]=libtcmalloc
)

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
