#!/usr/bin/env bash
# tools/real_programs.sh LIBSO - real programs under LD_PRELOAD=LIBSO.
#
# Each program runs twice, without and with the preloaded HAKMEM, and the
# outputs must be identical byte for byte: python3 (an allocation-heavy
# script), gcc (compiles a generated C file; the objects and the program's
# output are compared), sort (a generated ~50 MB file), xz (a compress and
# decompress round trip; the .xz files are compared too), perl (a hash-heavy
# script) and sqlite3 (an in-memory database); inputs from tools/real_inputs.sh.
#
# That HAKMEM really served each preloaded run is checked on its stderr:
# every run has HAKMEM_VERBOSE=1 (start-up lines "hakmem: box ...") and
# HAKMEM_STATS=1 (the "hakmem: stats" report at exit; HAKMEM writes it to
# a copy of fd 2, so it survives sort and xz closing stderr). Any other
# "hakmem:" line (an error report) fails the program.
#
# Prints one PASS/FAIL line per program, then "real programs: N passed,
# N failed"; exits non-zero on any failure. KEEP=1 keeps the work directory.
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: tools/real_programs.sh path/to/libhakmem.so" >&2
	exit 2
fi
lib=$(realpath -e "$1" 2>/dev/null) || {
	echo "real programs: $1 not found" >&2
	exit 2
}

here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-real.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
	echo "real programs: work directory $work"
else
	trap 'rm -rf "$work"' EXIT
fi
cd "$work" || exit 2

export LC_ALL=C PYTHONHASHSEED=0
passed=0
failed=0
fail_why=

# plain OUT ERR CMD...: run CMD without HAKMEM
plain() {
	local out=$1 err=$2
	shift 2
	"$@" >"$out" 2>"$err"
}

# hakmem OUT ERR CMD...: run CMD under LD_PRELOAD, start-up lines and stats on
hakmem() {
	local out=$1 err=$2
	shift 2
	env LD_PRELOAD="$lib" HAKMEM_VERBOSE=1 HAKMEM_STATS=1 "$@" >"$out" 2>"$err"
}

# note REASON: remember why the current program failed
note() {
	fail_why="${fail_why:+$fail_why; }$1"
}

# same A B WHAT: A and B are identical
same() {
	cmp -s "$1" "$2" || note "$3 differ ($(cmp "$1" "$2" 2>&1 | head -1))"
}

# used_hakmem ERR: the preloaded run started HAKMEM and printed its stats
# report at exit, and HAKMEM reported nothing else
used_hakmem() {
	grep -q '^hakmem: box ' "$1" || note "no 'hakmem: box' lines in $1: HAKMEM was not used"
	grep -q '^hakmem: stats' "$1" || note "no 'hakmem: stats' report in $1"
	if grep '^hakmem: ' "$1" | grep -qv -e '^hakmem: stats' -e '^hakmem: box '; then
		note "HAKMEM reported: $(grep '^hakmem: ' "$1" | grep -v -e '^hakmem: stats' -e '^hakmem: box ' | head -1)"
	fi
}

# report NAME SECONDS: one line per program
report() {
	if [ -z "$fail_why" ]; then
		echo "PASS  $1 (${2}s)"
		passed=$((passed + 1))
	else
		echo "FAIL  $1 (${2}s): $fail_why"
		failed=$((failed + 1))
	fi
	fail_why=
}

# The inputs, at full size (tools/real_inputs.sh); sort.in is ~50 MB.
# shellcheck source=tools/real_inputs.sh
. "$here/real_inputs.sh"
real_inputs 100

# ------------------------------------------------------------- python3

SECONDS=0
plain py.plain.out py.plain.err python3 alloc_heavy.py || note "plain python3 failed: $(tail -1 py.plain.err)"
hakmem py.hak.out py.hak.err python3 alloc_heavy.py || note "python3 under HAKMEM failed: $(tail -3 py.hak.err | tr '\n' ' ')"
[ -s py.plain.out ] || note "no output"
same py.plain.out py.hak.out "outputs"
used_hakmem py.hak.err
report "python3 alloc_heavy.py" $SECONDS

# ------------------------------------------------------------------ gcc

SECONDS=0
cflags=(-O2 -g -frandom-seed=hakmem -c gen.c)
plain gcc.plain.out gcc.plain.err gcc "${cflags[@]}" -o plain.o || note "plain gcc failed: $(head -3 gcc.plain.err)"
hakmem gcc.hak.out gcc.hak.err gcc "${cflags[@]}" -o hak.o || note "gcc under HAKMEM failed: $(head -3 gcc.hak.err)"
same plain.o hak.o "object files"
used_hakmem gcc.hak.err
hakmem link.out link.err gcc hak.o -o gen_hak || note "link under HAKMEM failed: $(head -3 link.err)"
used_hakmem link.err
gcc plain.o -o gen_plain || note "plain link failed"
./gen_plain >run.plain.out 2>&1 || note "generated program failed"
hakmem run.hak.out run.hak.err ./gen_hak || note "generated program under HAKMEM failed"
grep -q '^checksum [0-9]' run.plain.out || note "generated program printed no checksum"
same run.plain.out run.hak.out "program outputs"
used_hakmem run.hak.err
report "gcc -O2 -c gen.c ($(wc -l <gen.c) lines), link, run" $SECONDS

# ----------------------------------------------------------------- sort

SECONDS=0
sortflags=(-S 24M -T "$work" --parallel=2 -k2,2 -k1,1n sort.in)
plain sort.plain.out sort.plain.err sort "${sortflags[@]}" || note "plain sort failed"
hakmem sort.hak.out sort.hak.err sort "${sortflags[@]}" || note "sort under HAKMEM failed: $(head -3 sort.hak.err)"
[ "$(wc -l <sort.hak.out)" = 1500000 ] || note "sorted output has $(wc -l <sort.hak.out) lines"
same sort.plain.out sort.hak.out "sorted outputs"
used_hakmem sort.hak.err
hakmem uniq.hak.out uniq.hak.err sort -u -k3,3 sort.in || note "sort -u under HAKMEM failed"
sort -u -k3,3 sort.in >uniq.plain.out
same uniq.plain.out uniq.hak.out "sort -u outputs"
used_hakmem uniq.hak.err
report "sort $(($(stat -c %s sort.in) / 1000000)) MB" $SECONDS

# ------------------------------------------------------------------- xz

SECONDS=0
plain plain.xz xz.plain.err xz -6 -T2 -c xz.in || note "plain xz failed"
hakmem hak.xz xz.hak.err xz -6 -T2 -c xz.in || note "xz under HAKMEM failed: $(head -3 xz.hak.err)"
same plain.xz hak.xz ".xz files"
used_hakmem xz.hak.err
hakmem unxz.hak.out unxz.hak.err xz -d -c hak.xz || note "xz -d under HAKMEM failed"
same xz.in unxz.hak.out "round trip"
used_hakmem unxz.hak.err
report "xz -6 -T2 round trip ($(($(stat -c %s xz.in) / 1000000)) MB)" $SECONDS

# ----------------------------------------------------------- perl, sqlite3

SECONDS=0
plain pl.plain.out pl.plain.err perl heavy.pl || note "plain perl failed: $(tail -1 pl.plain.err)"
hakmem pl.hak.out pl.hak.err perl heavy.pl || note "perl under HAKMEM failed: $(tail -3 pl.hak.err | tr '\n' ' ')"
[ -s pl.plain.out ] || note "no output"
same pl.plain.out pl.hak.out "outputs"
used_hakmem pl.hak.err
report "perl heavy.pl" $SECONDS

SECONDS=0
sqlargs=(-init /dev/null :memory: '.read heavy.sql')
plain sql.plain.out sql.plain.err sqlite3 "${sqlargs[@]}" || note "plain sqlite3 failed: $(tail -1 sql.plain.err)"
hakmem sql.hak.out sql.hak.err sqlite3 "${sqlargs[@]}" || note "sqlite3 under HAKMEM failed: $(tail -3 sql.hak.err | tr '\n' ' ')"
[ "$(wc -l <sql.plain.out)" -ge 7 ] || note "sqlite3 printed $(wc -l <sql.plain.out) lines"
same sql.plain.out sql.hak.out "outputs"
used_hakmem sql.hak.err
report "sqlite3 in memory (heavy.sql)" $SECONDS

echo "real programs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
