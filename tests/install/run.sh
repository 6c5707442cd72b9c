#!/usr/bin/env bash
# tests/install/run.sh install|deb|launcher - HAKMEM as users get it, from
# the release build (./build.sh release first):
#   install   make install into a temporary root: the exact file list, a
#             program built with pkg-config both dynamically and --static,
#             its hak_stats_json() and malloc_info() output read by a real
#             JSON and XML parser (python3), HAKMEM_STATS=json at exit;
#             make uninstall leaves no file behind
#   deb       ./build.sh deb, unpacked: files, control, the soname ldconfig sees
#   launcher  tools/hakmem as installed: report, exit status, --json, --check,
#             --rss-plot, bad usage
# Prints "install: <what> ok" per check and fails at the first that does not hold.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(make --no-print-directory print-version)
major=${version%%.*}

fail() {
	echo "install: FAIL: $*" >&2
	exit 1
}
ok() { echo "install: $* ok"; }

# The boxes of the registry, as HAKMEM_VERBOSE=1 names them.
boxes() {
	HAKMEM_VERBOSE=1 LD_PRELOAD="$top/out/release/libhakmem.so" ls / 2>&1 >/dev/null |
		sed -n 's/^hakmem: box \([a-z_0-9]*\) .*/\1/p'
}

# json_check FILE: a JSON document with version, process and every box.
json_check() {
	python3 - "$1" "$version" $(boxes) <<'PY' || fail "$1 is not the stats document"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["version"] == sys.argv[2], doc["version"]
for box in ["process"] + sys.argv[3:]:
    assert isinstance(doc[box], dict), box
    for k, v in doc[box].items():
        assert isinstance(v, int) or isinstance(v, dict), (box, k)
assert doc["process"]["rss_bytes"] > 0 and doc["process"]["peak_rss_bytes"] > 0
PY
}

# xml_check FILE: malloc_info's XML, one <heap> per box that has counters.
xml_check() {
	python3 - "$1" $(boxes) <<'PY' || fail "$1 is not malloc_info's XML"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "malloc"
heaps = [h.get("name") for h in root.findall("heap")]
assert heaps == sys.argv[2:], heaps
assert root.findall("heap/size") and root.find("system[@type='current']") is not None
# a class holds the sizes above the previous class's, whichever box reports it
sizes = {int(s.get("class")): (int(s.get("from")), int(s.get("to"))) for s in root.iter("size")}
for c, (lo, hi) in sizes.items():
    assert 0 < lo <= hi and (c == 0) == (lo == 1), (c, lo, hi)
    assert c - 1 not in sizes or lo == sizes[c - 1][1] + 1, (c, lo, sizes[c - 1])
PY
}

test_install() {
	local root=$tmp/root prefix=/usr/local lib want got
	make --no-print-directory install PREFIX=$prefix DESTDIR="$root" >/dev/null
	lib=$prefix/lib
	want="$prefix/bin/hakmem $prefix/include/hakmem.h $lib/libhakmem.a $lib/libhakmem.so
$lib/libhakmem.so.$major $lib/libhakmem.so.$version $lib/pkgconfig/hakmem.pc
$prefix/share/man/man1/hakmem.1 $prefix/share/man/man3/hakmem.3 $prefix/share/man/man7/hakmem.7
$prefix/share/doc/hakmem/STATS.md"
	got=$(cd "$root" && find . ! -type d | sed 's|^\.||' | sort)
	[ "$got" = "$(echo $want | tr ' ' '\n' | sort)" ] || fail "installed files: $got"
	[ "$(readlink "$root$lib/libhakmem.so.$major")" = "libhakmem.so.$version" ] ||
		fail "libhakmem.so.$major does not point to libhakmem.so.$version"
	objdump -p "$root$lib/libhakmem.so.$version" | grep -q "SONAME *libhakmem.so.$major$" ||
		fail "soname is not libhakmem.so.$major"
	grep -q "$prefix/share/doc/hakmem/STATS.md" "$root$prefix/share/man/man7/hakmem.7" ||
		fail "hakmem(7) does not name the installed STATS.md"
	ok "make install: files, soname, STATS.md named by the man pages"

	export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root$lib/pkgconfig
	[ "$(pkg-config --modversion hakmem)" = "$version" ] || fail "pkg-config --modversion"
	# shellcheck disable=SC2046
	cc -o "$tmp/dyn" tests/install/prog.c $(pkg-config --cflags --libs hakmem)
	# shellcheck disable=SC2046
	cc -static -o "$tmp/static" tests/install/prog.c $(pkg-config --static --cflags --libs hakmem)
	unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
	objdump -p "$tmp/dyn" | grep -q "NEEDED *libhakmem.so.$major$" || fail "dyn does not need the soname"
	if objdump -p "$tmp/static" | grep -q "NEEDED"; then fail "static has dynamic dependencies"; fi
	LD_LIBRARY_PATH=$root$lib "$tmp/dyn" "$tmp/dyn.xml" >"$tmp/dyn.json" || fail "dynamic program"
	"$tmp/static" "$tmp/static.xml" >"$tmp/static.json" || fail "static program"
	for f in dyn static; do
		json_check "$tmp/$f.json"
		xml_check "$tmp/$f.xml"
	done
	ok "pkg-config: dynamic and static programs, hak_stats_json and malloc_info parsed"

	HAKMEM_STATS=json HAKMEM_STATS_FILE="$tmp/exit.%p.json" "$tmp/static" >/dev/null
	set -- "$tmp"/exit.*.json
	[ $# -eq 1 ] && [ -e "$1" ] || fail "HAKMEM_STATS=json wrote $# files"
	json_check "$1"
	HAKMEM_STATS=json "$tmp/static" 2>"$tmp/stderr.json" >/dev/null
	json_check "$tmp/stderr.json"
	ok "HAKMEM_STATS=json at exit, to HAKMEM_STATS_FILE (%p, unset before exit) and to stderr"

	echo kept >"$tmp/victim"
	ln -s "$tmp/victim" "$tmp/link.json"
	HAKMEM_STATS=json HAKMEM_STATS_FILE="$tmp/link.json" "$tmp/static" >/dev/null 2>"$tmp/stderr.link"
	[ "$(cat "$tmp/victim")" = kept ] || fail "HAKMEM_STATS_FILE followed a symbolic link"
	grep -q "HAKMEM_STATS_FILE: cannot open" "$tmp/stderr.link" || fail "no word on the link"
	ok "HAKMEM_STATS_FILE does not follow a symbolic link"
	# setuid to another user (root only): HAKMEM_STATS_FILE is ignored, the report goes to stderr
	if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
		cp "$tmp/static" "$tmp/suid"
		chown nobody "$tmp/suid"
		chmod 4755 "$tmp/suid"
		HAKMEM_STATS=json HAKMEM_STATS_FILE="$tmp/suid.json" "$tmp/suid" >/dev/null 2>"$tmp/stderr.suid"
		[ ! -e "$tmp/suid.json" ] || fail "a setuid program wrote HAKMEM_STATS_FILE"
		json_check "$tmp/stderr.suid"
		ok "a setuid program ignores HAKMEM_STATS_FILE"
	fi

	make --no-print-directory uninstall PREFIX=$prefix DESTDIR="$root" >/dev/null
	got=$(cd "$root" && find . ! -type d)
	[ -z "$got" ] && [ ! -d "$root$prefix/share/doc/hakmem" ] || fail "make uninstall left: $got"
	ok "make uninstall"
}

test_deb() {
	local deb root=$tmp/deb multiarch dir need
	deb=$(tools/make_deb.sh)
	dpkg-deb -x "$deb" "$root"
	[ "$(dpkg-deb -f "$deb" Package Version | tr '\n' ' ')" = "Package: hakmem Version: $version " ] ||
		fail "control: $(dpkg-deb -f "$deb" Package Version)"
	dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -qx './triggers' || fail "no ldconfig trigger"
	multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || cc -print-multiarch)
	dir=$root/usr/lib/$multiarch
	for f in "$dir/libhakmem.so.$version" "$dir/libhakmem.a" "$dir/pkgconfig/hakmem.pc" \
		 "$root/usr/include/hakmem.h" "$root/usr/bin/hakmem" \
		 "$root/usr/share/man/man1/hakmem.1.gz" "$root/usr/share/man/man3/hakmem.3.gz" \
		 "$root/usr/share/man/man7/hakmem.7.gz" "$root/usr/share/doc/hakmem/STATS.md" \
		 "$root/usr/share/doc/hakmem/copyright"; do
		[ -f "$f" ] || fail "deb lacks ${f#$root}"
	done
	grep -q "no licence has been chosen" "$root/usr/share/doc/hakmem/copyright" || fail "copyright"
	# Depends names the glibc version the library needs (its highest GLIBC_x.y symbol)
	need=$(objdump -T "$dir/libhakmem.so.$version" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)
	dpkg-deb -f "$deb" Depends | grep -q "libc6 (>= ${need#GLIBC_})" ||
		fail "Depends: $(dpkg-deb -f "$deb" Depends) (needs $need)"
	# md5sums: every file of the package, and they match
	[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./md5sums | wc -l)" = \
	  "$(cd "$root" && find usr -type f | wc -l)" ] || fail "md5sums does not list every file"
	dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./md5sums | (cd "$root" && md5sum --quiet -c) ||
		fail "md5sums"
	# stripped, with the debug symbols outside the package
	if readelf -S "$dir/libhakmem.so.$version" | grep -qE '\.(symtab|debug_info)'; then fail "not stripped"; fi
	[ "$(dpkg-deb -c "$deb" | grep -c '\.debug')" = 0 ] || fail "the debug file is in the package"
	grep -q "^libdir=/usr/lib/$multiarch$" "$dir/pkgconfig/hakmem.pc" || fail "hakmem.pc libdir"
	# ldconfig makes the soname link from the library's SONAME, as on install
	rm "$dir/libhakmem.so.$major"
	ldconfig -n "$dir"
	[ "$(readlink "$dir/libhakmem.so.$major")" = "libhakmem.so.$version" ] ||
		fail "ldconfig -n made no libhakmem.so.$major link"
	objdump -p "$dir/libhakmem.so.$version" | grep -q "SONAME *libhakmem.so.$major$" || fail "deb soname"
	man -l "$root/usr/share/man/man7/hakmem.7.gz" 2>&1 | grep -q HAKMEM_STATS_FILE || fail "man -l hakmem.7"
	man -l "$root/usr/share/man/man3/hakmem.3.gz" 2>&1 | grep -q hak_stats_json || fail "man -l hakmem.3"
	man -l "$root/usr/share/man/man1/hakmem.1.gz" 2>&1 | grep -q rss-plot || fail "man -l hakmem.1"
	ok "deb $deb: files, control (libc6 >= ${need#GLIBC_}), md5sums, stripped, ldconfig soname, man pages"
}

# run_hakmem ARGS...: the launcher as installed, status in $rc
run_hakmem() {
	rc=0
	HAKMEM_LIB=$top/out/release/libhakmem.so "$tmp/bin/hakmem" "$@" >/dev/null 2>"$tmp/report" || rc=$?
}

test_launcher() {
	make --no-print-directory install DESTDIR="$tmp" PREFIX=/ BINDIR=/bin >/dev/null
	run_hakmem --stats -- python3 -c 'print(1)'
	[ $rc -eq 0 ] || fail "hakmem --stats -- python3 exited $rc: $(cat "$tmp/report")"
	for line in "python3 exited with status 0" "RSS: peak" "tiny  (<= 1 KiB):" \
		    "pool  (1-52 KiB):" "medium (52K-1 MiB):" "large (> 1 MiB):" "returned to the OS:" "checks:"; do
		grep -qF "$line" "$tmp/report" || fail "report lacks '$line': $(cat "$tmp/report")"
	done
	ok "hakmem --stats -- python3 -c 'print(1)' report"

	run_hakmem -- python3 -c 'import sys; sys.exit(5)'
	[ $rc -eq 5 ] || fail "exit status 5 came back as $rc"
	[ ! -s "$tmp/report" ] || fail "no --stats, yet: $(cat "$tmp/report")"
	run_hakmem --stats -- sh -c 'kill -TERM $$'
	[ $rc -eq 143 ] || fail "SIGTERM came back as $rc"
	grep -q "wrote no statistics: it was killed by signal 15" "$tmp/report" ||
		fail "no word on the missing statistics: $(cat "$tmp/report")"
	ok "exit status passed through (5, SIGTERM)"

	echo 'int main(void) { return 0; }' >"$tmp/noalloc.c"
	cc -o "$tmp/noalloc" "$tmp/noalloc.c"
	run_hakmem --stats -- "$tmp/noalloc"
	[ $rc -eq 0 ] && grep -q "HAKMEM was never used" "$tmp/report" ||
		fail "a program that never allocates: $rc, $(cat "$tmp/report")"
	ok "a program that never allocates: HAKMEM was never used"

	run_hakmem --check --json "$tmp/run.json" -- python3 -c 'import subprocess; subprocess.run(["true"])'
	[ $rc -eq 0 ] || fail "--check --json exited $rc: $(cat "$tmp/report")"
	json_check "$tmp/run.json"
	python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["process"]["self_check_errors"] == 0' \
		"$tmp/run.json" || fail "--check: no self-check in the document"
	ok "--json FILE, --check"

	# Only the program runs under HAKMEM: not the launcher's own awk, grep, cp or sampler.
	run_hakmem --json "$tmp/one.json" -- ls /
	set -- "$tmp"/one.json*
	[ $rc -eq 0 ] && [ $# -eq 1 ] || fail "--json on ls: status $rc, files $*"
	run_hakmem --stats --json "$tmp/two.json" --rss-plot "$tmp/two.png" -- \
		sleep 0.5
	set -- "$tmp"/two.json*
	[ $rc -eq 0 ] && [ $# -eq 1 ] || fail "--json --rss-plot on sleep: status $rc, files $*"
	if grep -q "child processes" "$tmp/report"; then fail "children counted: $(cat "$tmp/report")"; fi
	ok "--json FILE of a program without children, with --rss-plot: one document"

	run_hakmem --rss-plot "$tmp/rss.png" -- python3 -c 'import time; x = bytearray(50 << 20); time.sleep(0.5)'
	[ $rc -eq 0 ] && [ "$(head -c 4 "$tmp/rss.png" | tail -c 3)" = PNG ] || fail "--rss-plot drew no PNG"
	ok "--rss-plot FILE.png"

	run_hakmem --bogus -- true
	[ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$tmp/report" || fail "bad option: $rc"
	run_hakmem --stats
	[ $rc -eq 2 ] && grep -q "^usage: hakmem" "$tmp/report" || fail "no program: $rc"
	ok "bad usage exits 2 with a message"
}

case ${1:-} in
install) test_install ;;
deb) test_deb ;;
launcher) test_launcher ;;
*) echo "usage: tests/install/run.sh install|deb|launcher" >&2; exit 2 ;;
esac
