#!/usr/bin/env bash
# tools/outside/mimalloc_gperftools_tests.sh [LIBSO...] - mimalloc 2.0.9's
# and gperftools 2.10's own malloc tests, built against plain libc, run
# with glibc's malloc and then under LD_PRELOAD=LIBSO for each LIBSO
# (default: out/release/libhakmem.so). Not run in CI; docs/OUTSIDE.md
# records the results and why each skipped test is skipped.
#
# Sources: MIMALLOC_SRC and GPERFTOOLS_SRC (unpacked Debian sources). If
# unset, they are fetched with `apt-get source mimalloc google-perftools`
# into the work directory; on Debian 12 that needs a deb-src line, e.g.
#   echo 'deb-src http://deb.debian.org/debian bookworm main' \
#     > /etc/apt/sources.list.d/src.list && apt-get update
# Needs gcc, g++, cmake (gperftools' config.h), timeout, gdb not needed.
#
# Only tests of the standard API are built. mimalloc's tests include
# tools/outside/mimalloc_shim/mimalloc.h, which maps mi_* names with
# standard meaning to the libc calls; checks of mimalloc-only features
# are cut out of a copy of the test (cut_checks below). gperftools' tests
# that measure tcmalloc itself (MallocExtension properties, hooks,
# sampling, profilers, its debug allocator) are not built.
#
# Prints one line per test and allocator ("TEST ALLOC: pass|FAIL (why)"),
# then "outside: N passed, N failed". T (seconds per run, default 300)
# bounds every run: a hang is reported as "FAIL (timeout)". KEEP=1 keeps
# the work directory.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
root=$(realpath "$here/../..")
limit=${T:-300}

libs=()
for l in "${@:-$root/out/release/libhakmem.so}"; do
	libs+=("$(realpath -e "$l")") || exit 2
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-outside.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
	echo "outside: work directory $work"
else
	trap 'rm -rf "$work"' EXIT
fi
cd "$work" || exit 2

fetch() {	# fetch PACKAGE: unpack its Debian source here, print its directory
	(apt-get source -qq "$1" >/dev/null 2>&1) || { echo "outside: apt-get source $1 failed (deb-src?)" >&2; exit 2; }
	find . -maxdepth 1 -type d -name "$2" | head -1
}
mi=${MIMALLOC_SRC:-$(fetch mimalloc 'mimalloc-*')}
gp=${GPERFTOOLS_SRC:-$(fetch google-perftools 'google-perftools-*')}
mi=$(realpath -e "$mi") && gp=$(realpath -e "$gp") || exit 2

# cut_checks FILE 'NAME|NAME...': FILE without those CHECK/CHECK_BODY tests
cut_checks() {
	awk -v skip="^($2)\$" '
		match($0, /CHECK(_BODY)?\("[^"]*"/) {
			name = substr($0, RSTART, RLENGTH)
			sub(/^CHECK(_BODY)?\("/, "", name); sub(/"$/, "", name)
			if (name ~ skip) {
				if ($0 !~ /CHECK_BODY/) next	# a one-line CHECK
				drop = 1; next
			}
		}
		drop { if ($0 ~ /^  }/) drop = 0; next }
		{ print }' "$1"
}

cflags=(-O2 -g -pthread -w)
built=()
build() {	# build NAME COMPILER ARGS...: log in NAME.build
	local name=$1
	shift
	if "$@" -o "$name" >"$name.build" 2>&1; then
		built+=("$name")
	else
		echo "$name: FAIL (build; see $name.build)"
	fi
}

# --- mimalloc ---
shim=(-I"$here/mimalloc_shim" -I"$mi/test")
build mi-test-stress gcc "${cflags[@]}" -DUSE_STD_MALLOC "$mi/test/test-stress.c"
# heaps, aligned_at: mimalloc-only. calloc0 wants mimalloc's usable size
# (<= 16 B; glibc's is 24) and realloc-sizezero a block from realloc(p, 0)
# (glibc frees p and returns NULL; C leaves it to the implementation).
# malloc-aligned9 checks only alignment, so its mi_zalloc_aligned (no
# standard counterpart) becomes memalign.
cut_checks "$mi/test/test-api.c" \
	'malloc_aligned11|malloc-aligned-at[12]|heap_destroy|heap_delete|calloc0|realloc-sizezero' |
	sed 's/mi_zalloc_aligned(/mi_malloc_aligned(/' >test-api.c
build mi-test-api gcc "${cflags[@]}" "${shim[@]}" test-api.c
# zeroing realloc and zeroing aligned allocation: mimalloc-only
cut_checks "$mi/test/test-api-fill.c" '.*(rezalloc|recalloc|_aligned).*' >test-api-fill.c
build mi-test-api-fill gcc "${cflags[@]}" "${shim[@]}" test-api-fill.c
# a double free and overflows on purpose: expected to stop with SIGABRT
build mi-test-wrong gcc "${cflags[@]}" -O0 -DUSE_STD_MALLOC "${shim[@]}" "$mi/test/test-wrong.c"
build mi-main-override gcc "${cflags[@]}" "${shim[@]}" "$mi/test/main-override.c"
# main-override.cpp's main(), then its tests of the standard API that its
# main() leaves commented out
cat >main-override-all.cpp <<EOF
#define main override_main
#include "$mi/test/main-override.cpp"
#undef main
int main()
{
	override_main();
	heap_thread_free_large();
	padding_shrink();
	various_tests();
	large_alloc();
	tsan_numa_test();
	return 0;
}
EOF
build mi-main-override-cpp g++ "${cflags[@]}" -std=gnu++17 "${shim[@]}" main-override-all.cpp

# --- gperftools ---
mkdir -p gpt && (cd gpt && cmake -S "$gp" -B . >cmake.log 2>&1) ||
	echo "outside: cmake of gperftools failed (gpt/cmake.log)"
gpflags=("${cflags[@]}" -std=gnu++17 -Igpt -I"$gp/src")
gpsupport=("$gp/src/tests/testutil.cc" "$gp/src/base/logging.cc")
for t in realloc_unittest memalign_unittest tcmalloc_large_unittest; do
	build "gp-$t" g++ "${gpflags[@]}" "$gp/src/tests/$t.cc" "${gpsupport[@]}"
done
# tcmalloc_unittest: built as for gperftools' debug allocator
# (-DDEBUGALLOCATION leaves out nallocx, the heap limit, the out-of-memory
# system allocator and tcmalloc's realloc-in-place checks), minus what only
# tcmalloc has: malloc hooks and their checks, MallocExtension (ranges,
# release, ReleaseFreeMemory), tc_set_new_mode, tc_version; tc_malloc_size
# and tc_malloc_skip_new_handler become malloc_usable_size and malloc;
# cfree (gone from glibc) becomes free. The check that its test threads'
# TryLock seldom fails measures the scheduler, not malloc: removed.
sed -E \
	-e '/^\s*(Verify|Set|Reset)[A-Za-z]*Hook(WasCalled)?\(\);/d' \
	-e '/CHECK_EQ\(g_SbrkHook_calls, 0\);/d' \
	-e '/^\s*Test(Ranges|ReleaseToSystem|AggressiveDecommit|SetNewMode)\(\);/d' \
	-e '/MallocExtension\* inst = MallocExtension::instance\(\);|^\s*CHECK\(inst\);|inst->ReleaseFreeMemory\(\);/d' \
	-e '/FLAGS_max_free_queue_size = 0;/d' \
	-e '/\/\/ Test tc_version\(\)/,/CHECK\(!strcmp\(PACKAGE_VERSION, mmp\)\);/d' \
	-e '/^struct OOMAbleSysAlloc/,/^namespace testing \{/{/^namespace testing \{/!d}' \
	-e '/^static bool HaveSystemRelease =/{N;s/.*/static const bool HaveSystemRelease = false;/}' \
	-e '/CHECK_LE\(locks_failed_, locks_ok_ \/ 2\);/d' \
	-e 's/tc_malloc_size\(/malloc_usable_size(/; s/tc_malloc_skip_new_handler\(/malloc(/; s/cfree\(p1\);/free(p1);/' \
	"$gp/src/tests/tcmalloc_unittest.cc" >tcmalloc_unittest.cc
build gp-tcmalloc_unittest g++ "${gpflags[@]}" -DDEBUGALLOCATION tcmalloc_unittest.cc "${gpsupport[@]}"
# its only tcmalloc call prints tcmalloc's statistics
sed 's/MallocExtension::instance()->GetStats(display, kDisplaySize);/display[0] = 0;/' \
	"$gp/src/tests/thread_dealloc_unittest.cc" >thread_dealloc_unittest.cc
build gp-thread_dealloc_unittest g++ "${gpflags[@]}" thread_dealloc_unittest.cc "${gpsupport[@]}"

# --- runs ---
passed=0
failed=0
# run NAME ALLOC LIB ARGS...: one run, judged by exit status (and timeout)
run() {
	local name=$1 alloc=$2 lib=$3 log rc why want=0
	shift 3
	log="$name.$alloc${*:+.${*// /_}}.log"
	# (the subshell keeps bash's "Aborted" notice out of the report)
	(env ${lib:+LD_PRELOAD="$lib"} timeout -k 10 "$limit" "./$name" "$@" >"$log" 2>&1; exit $?) 2>/dev/null
	rc=$?
	[ "$name" = mi-test-wrong ] && want=134	# SIGABRT
	case $rc in
	"$want") why= ;;
	124 | 137) why="timeout after ${limit}s" ;;
	*) why="exit $rc: $(grep -m1 -E 'FAILED|Check failed|hakmem:|Assert|abort' "$log" | cut -c1-120)" ;;
	esac
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "$name${*:+ $*} $alloc: pass"
	else
		failed=$((failed + 1))
		echo "$name${*:+ $*} $alloc: FAIL ($why; $log)"
	fi
}
for name in "${built[@]}"; do
	for alloc in glibc "${libs[@]}"; do
		lib=$alloc tag=$alloc
		if [ "$alloc" = glibc ]; then
			lib=
		else
			tag=$(basename "$(dirname "$alloc")")	# out/<profile>/libhakmem.so
		fi
		case $name in
		mi-test-stress)
			for threads in 1 4 8 16 32; do
				run "$name" "$tag" "$lib" "$threads"
			done
			;;
		*) run "$name" "$tag" "$lib" ;;
		esac
	done
done
echo "outside: $passed passed, $failed failed"
[ "$failed" = 0 ]
