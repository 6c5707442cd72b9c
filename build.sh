#!/usr/bin/env bash
# HAKMEM build driver: ./build.sh help
set -euo pipefail
cd "$(dirname "$0")"
JOBS=${JOBS:-$(nproc)}

usage() {
	cat <<'USAGE'
usage: ./build.sh TARGET [ARGS]
  quickstart          install what is needed (Debian, as root), build everything,
                      run the main job (real-program smoke run + quick benchmark)
  setup               install the Debian packages the project needs
  release [TARGET]    build out/release/ (libhakmem.a, libhakmem.so, tests, benches)
  debug [TARGET]      build out/debug/ (-O0, assertions, full checks, backtraces)
  asan | tsan         sanitizer builds (HAKMEM_FORCE_LIBC_ALLOC_BUILD=1: the
                      sanitizer owns malloc; tests drive HAKMEM via hak_*)
  test                build every profile and run every test
  fuzz [SECONDS]      build the libFuzzer target and run it SECONDS (default 60)
                      from tests/fuzz/corpus/; a failing input lands in out/fuzz/
  bench [quick|full]  compare HAKMEM (preloaded and static) with glibc, mimalloc,
                      jemalloc, tcmalloc: benchmarks, sweep, real programs
  icount              instructions per malloc+free pair under callgrind
  verify BINARY       print the flags embedded in BINARY; fail if none or if
                      they differ from the current config of its profile
  print-flags [PROF]  the flag string a PROF (default release) build embeds
  install [VAR=...]   build release, make install (PREFIX=/usr/local DESTDIR=...)
  uninstall [VAR=...] remove what install put (same PREFIX and DESTDIR)
  deb                 out/hakmem_VERSION_ARCH.deb of the release build (dpkg-deb)
  list                build targets and the binaries they make
  clean               remove out/
USAGE
}

build() {
	local profile=$1
	shift
	make --no-print-directory -j"$JOBS" PROFILE="$profile" "${@:-all}"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case $cmd in
help | -h | --help) usage ;;
setup) tools/install_deps.sh ;;
release | debug | asan | tsan) build "$cmd" "$@" ;;
test) tools/run_tests.sh "$@" ;;
fuzz) tests/fuzz/run.sh "${1:-60}" ;;
bench) build release && tools/bench/run.sh "${1:-quick}" ;;
icount) build release && tools/bench/icount.sh ;;
print-flags) make --no-print-directory PROFILE="${1:-release}" print-flags ;;
verify)
	[ $# -eq 1 ] || { echo "usage: ./build.sh verify BINARY" >&2; exit 2; }
	found=$(tools/extract_config.sh "$1") || { echo "verify: no HAKMEM flags in $1" >&2; exit 1; }
	echo "$found"
	profile=$(echo "$found" | sed -n 's/^PROFILE=\([a-z]*\).*/\1/p')
	want=$(make --no-print-directory PROFILE="${profile:-release}" print-flags)
	if [ "$found" != "$want" ]; then
		echo "verify: $1 differs from the current $profile config:" >&2
		echo "  current: $want" >&2
		exit 1
	fi
	echo "verify: $1 matches the current $profile config"
	;;
list)
	usage | sed -n '/^  [a-z]/p'
	echo
	echo "binaries (out/<profile>/):"
	make --no-print-directory PROFILE=release list-bins
	;;
quickstart)
	tools/install_deps.sh
	build release
	build debug
	tools/real_programs.sh out/release/libhakmem.so
	tools/bench/run.sh quick
	;;
install | uninstall)
	[ "$cmd" = uninstall ] || build release lib
	make --no-print-directory PROFILE=release "$cmd" "$@"
	;;
deb) build release lib && tools/make_deb.sh ;;
clean) rm -rf out ;;
*)
	usage >&2
	exit 2
	;;
esac
