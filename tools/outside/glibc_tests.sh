#!/usr/bin/env bash
# tools/outside/glibc_tests.sh [LIB.so] - glibc 2.36's own malloc tests
# (malloc/tst-*.c of Debian 12's glibc source) against HAKMEM. Not run in
# CI: it downloads the glibc source (19 MB) and needs deb-src in apt's
# sources. Results and the reasons for each n/a: docs/OUTSIDE.md.
#
# glibc itself is not built. Each test is compiled alone against the
# installed glibc; its harness (test-driver main, TEST_VERIFY, xmalloc,
# xpthread_*, ...) is compiled from glibc's own support/*.c, and the four
# internal headers the tests include come from tools/outside/glibc-shim/.
# Each test runs three ways: with glibc's malloc (the baseline), under
# LD_PRELOAD=LIB.so (default out/release/libhakmem.so), and linked with
# the libhakmem.a next to LIB.so. glibc's driver kills a test that runs
# past its timeout ("Timed out"): that, or the outer timeout, is a HANG.
#
# Environment: GLIBC_SRC (an unpacked glibc-2.36 tree: no download), WORK
# (default out/outside/glibc), TIMEOUTFACTOR (scales glibc's per-test
# timeouts, default 3). Exit status 1 if a test that should pass under
# HAKMEM does not.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
lib=$(realpath -e "${1:-$repo/out/release/libhakmem.so}") ||
	{ echo "glibc_tests: no library; run ./build.sh release" >&2; exit 2; }
liba=${lib%.so}.a
work=${WORK:-$repo/out/outside/glibc}
mkdir -p "$work" && work=$(realpath "$work")
export TIMEOUTFACTOR=${TIMEOUTFACTOR:-3}

# ------------------------------------------------------------ the source
src=${GLIBC_SRC:-$work/glibc-2.36}
if [ ! -f "$src/malloc/tst-malloc.c" ]; then
	if [ "$(id -u)" = 0 ] && ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d; then
		echo "glibc_tests: adding deb-src to /etc/apt/sources.list.d/debian.sources"
		sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources &&
			apt-get update -q
	fi
	command -v dpkg-source >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -yq dpkg-dev; }
	if ! (cd "$work" && apt-get source -q glibc) || [ ! -f "$src/malloc/tst-malloc.c" ]; then
		cat >&2 <<'EOF'
glibc_tests: `apt-get source glibc` failed. It needs dpkg-dev and deb-src:
on Debian 12 make the Types: line of /etc/apt/sources.list.d/debian.sources
read "Types: deb deb-src", then apt-get update. Or set GLIBC_SRC to an
unpacked glibc-2.36 tree.
EOF
		exit 2
	fi
fi
src=$(realpath "$src")

# ------------------------------------------------------------- the build
mkdir -p "$work/inc" "$work/obj" "$work/bin" "$work/bin-static" "$work/logs"
ln -sfn "$src/support" "$work/inc/support"	# <support/...>
ln -sfn "$src/malloc" "$work/inc/malloc"	# <malloc/...>
# -idirafter: glibc's own directories only for names the system lacks
cflags=(-O1 -g -w -D_GNU_SOURCE -DTIMEOUTFACTOR=1 -include limits.h
	-I"$repo/tools/outside/glibc-shim" -I"$work/inc"
	-idirafter "$src/support" -idirafter "$src/malloc")
paths=()
for v in SRCDIR OBJDIR OBJDIR_ELF_LDSO INSTDIR LIBDIR BINDIR SBINDIR SLIBDIR ROOTSBINDIR COMPLOCALEDIR; do
	paths+=("-D${v}_PATH=\"$work\"")
done

echo "glibc_tests: building the harness from $src/support"
rm -f "$work"/obj/*.o
for f in "$src"/support/*.c; do
	b=$(basename "$f" .c)
	case $b in tst-* | test-driver | *container* | links-dso-* | README-testing) continue ;; esac
	# a few need glibc's build tree (stack, nss, time64 internals): no test here uses them
	gcc "${cflags[@]}" "${paths[@]}" -c "$f" -o "$work/obj/$b.o" 2>/dev/null || true
done
ar rcs "$work/libsupport.a" "$work"/obj/*.o

# Not built: they include glibc-internal headers (libc-symbols.h,
# shlib-compat.h, dynarray, alloc_buffer, scratch_buffer) and test glibc's
# internals. The aux and skeleton files are parts of the interpose tests.
skip=" tst-alloc_buffer tst-dynarray tst-dynarray-fail tst-dynarray-at-fail tst-scratch_buffer "
skip+=" tst-compathooks-off tst-compathooks-on tst-mallocstate tst-interpose-aux "
skip+=" tst-interpose-aux-nothread tst-interpose-aux-thread tst-interpose-skeleton "
# what libhakmem.a needs: the debug build's libunwind, after libgcc_s (config/debug.mk)
haklibs=(-lpthread)
ldd "$lib" | grep -q libunwind && haklibs+=("-Wl,--no-as-needed" -lgcc_s -lunwind)
tests=()
echo "glibc_tests: building the tests"
for f in "$src"/malloc/tst-*.c "$src"/malloc/mallocbug.c; do
	t=$(basename "$f" .c)
	case $skip in *" $t "*) continue ;; esac
	extra=() static=()
	case $t in
	tst-interpose-static-*) static=(-static) extra=("$src/malloc/tst-interpose-aux-${t##*-}.c") ;;
	tst-interpose-*) extra=("$src/malloc/tst-interpose-aux-${t##*-}.c") ;;
	esac
	gcc "${cflags[@]}" "${static[@]}" "$f" "${extra[@]}" -o "$work/bin/$t" "$work/libsupport.a" -lpthread \
		2>"$work/logs/$t.build" || { echo "  $t: does not build, see $work/logs/$t.build"; continue; }
	tests+=("$t")
	# the interpose tests bring their own malloc: no HAKMEM to link in
	[ -f "$liba" ] && [ ${#extra[@]} = 0 ] &&
		gcc "${cflags[@]}" "$f" -o "$work/bin-static/$t" "$work/libsupport.a" "$liba" "${haklibs[@]}" \
			2>>"$work/logs/$t.build"
done

# --------------------------------------------------------------- the runs
debuglib=$(dirname "$(gcc -print-file-name=libc.so.6)")/libc_malloc_debug.so.0

# run MODE TEST: prints PASS, FAIL(status), HANG or UNSUPPORTED
run() {
	local mode=$1 t=$2 bin=$work/bin/$2 rc out
	local -a env=()

	case $t in	# as glibc's malloc/Makefile runs them
	tst-malloc-check | tst-malloc-usable) env=(MALLOC_CHECK_=3) ;;
	tst-malloc-usable-tunables) env=(GLIBC_TUNABLES=glibc.malloc.check=3) ;;
	tst-mxfast) env=(GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0) ;;
	tst-mtrace) env=(MALLOC_TRACE="$work/logs/$t.$mode.mtrace") ;;
	esac
	case $mode in
	glibc)	# MALLOC_CHECK_ lives in libc_malloc_debug.so
		case $t in tst-malloc-check | tst-malloc-usable*) env+=(LD_PRELOAD="$debuglib") ;; esac ;;
	preload) env+=(LD_PRELOAD="$lib") ;;
	static) bin=$work/bin-static/$t ;;
	esac
	if [ ! -x "$bin" ]; then
		echo "-"
		return
	fi
	out=$work/logs/$t.$mode.log
	(cd "$work" && timeout $((120 * TIMEOUTFACTOR)) env "${env[@]}" "$bin") >"$out" 2>&1
	rc=$?
	if [ $rc = 124 ] || grep -q '^Timed out: killed the child process' "$out"; then
		echo HANG
	elif [ $rc = 0 ]; then
		echo PASS
	elif [ $rc = 77 ]; then
		echo UNSUPPORTED
	else
		echo "FAIL($rc)"
	fi
}

# Tests a replacement malloc need not pass (they check ptmalloc's internals
# or its layout): na_reason TEST [MODE] prints why, or nothing.
na_reason() {
	case $1 in
	tst-free-errno)	# n/a only for a crash: a changed errno is a real failure
		grep -qs "^Didn't expect signal" "$work/logs/$1.${2:-}.log" &&
			echo "killed by a signal: it remaps a page past each end of its block (MAP_FIXED), which here was HAKMEM's" ;;
	tst-malloc-backtrace) echo "expects ptmalloc's abort on a write to the size word before a freed chunk" ;;
	tst-malloc-usable | tst-malloc-usable-tunables) echo "MALLOC_CHECK_=3 semantics of libc_malloc_debug.so (usable size == request)" ;;
	tst-safe-linking) echo "expects ptmalloc's safe-linking abort message for corrupted tcache/fastbin links" ;;
	tst-malloc-stats-cancellation) echo "expects ptmalloc's \"max mmap bytes\" line in malloc_stats' output" ;;
	tst-mtrace) echo "mtrace() tracing is ptmalloc's (libc_malloc_debug.so); the program only runs" ;;
	tst-mxfast) echo "mallinfo().smblks after M_MXFAST=0: a ptmalloc fastbin detail" ;;
	tst-interpose-*) echo "the program brings its own malloc; HAKMEM is loaded but unused" ;;
	esac
}

printf '%-34s %-12s %-12s %-12s\n' test glibc preload static
bad=0
declare -A count
for t in "${tests[@]}"; do
	line=$(printf '%-34s' "$t")
	for mode in glibc preload static; do
		r=$(run $mode "$t")
		line+=$(printf ' %-12s' "$r")
		if [ $mode != glibc ] && [ "$r" != - ]; then
			if [ "$r" = PASS ]; then
				count[$mode.pass]=$((${count[$mode.pass]:-0} + 1))
			elif [ -n "$(na_reason "$t" $mode)" ]; then
				count[$mode.na]=$((${count[$mode.na]:-0} + 1))
			else
				count[$mode.fail]=$((${count[$mode.fail]:-0} + 1))
				bad=1
			fi
		fi
	done
	reason=$(na_reason "$t" preload)
	reason=${reason:-$(na_reason "$t" static)}
	echo "$line${reason:+  n/a: $reason}"
done
for mode in preload static; do
	echo "glibc_tests: $mode: ${count[$mode.pass]:-0} passed, ${count[$mode.fail]:-0} failed," \
		"${count[$mode.na]:-0} failed as n/a (ptmalloc internals or layout); logs in $work/logs"
done
exit $bad
