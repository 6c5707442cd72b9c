#!/usr/bin/env bash
# tools/real_programs.sh LIBSO - real programs under LD_PRELOAD=LIBSO.
#
# Each program of REAL_PROGRAMS (tools/real_inputs.sh: the commands
# tools/bench/run.sh times, at full size here) runs twice, without and with
# the preloaded HAKMEM, and the outputs must be identical byte for byte:
# python3 (an allocation-heavy script), gcc (a generated C file to
# assembly; also compiled to an object, which must match, linked and run),
# sort (a generated ~50 MB file; also sort -u), xz (HAKMEM's .xz must
# decompress to the input), perl (a hash-heavy script) and sqlite3 (an
# in-memory database).
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

# Each program of REAL_PROGRAMS (the commands the benchmark times) without
# and with HAKMEM: the same output, byte for byte, and HAKMEM really used;
# then the checks of its own that a program has (check_NAME), if any.

# gcc: the object file, linked and run under HAKMEM
check_gcc() {
	local cflags=(-O2 -g -frandom-seed=hakmem -c gen.c)

	grep -q '^main:' out.hak || note "no assembly for main"
	plain gcc.plain.out gcc.plain.err gcc "${cflags[@]}" -o plain.o || note "plain gcc -c failed"
	hakmem gcc.hak.out gcc.hak.err gcc "${cflags[@]}" -o hak.o || note "gcc -c under HAKMEM failed: $(head -3 gcc.hak.err)"
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
}

# sort: every line kept; sort -u too
check_sort() {
	[ "$(wc -l <out.hak)" = "$(wc -l <sort.in)" ] || note "sorted output has $(wc -l <out.hak) lines"
	hakmem uniq.hak.out uniq.hak.err sort -u -k3,3 sort.in || note "sort -u under HAKMEM failed"
	sort -u -k3,3 sort.in >uniq.plain.out
	same uniq.plain.out uniq.hak.out "sort -u outputs"
	used_hakmem uniq.hak.err
}

# xz: HAKMEM's .xz decompressed under HAKMEM gives the input back
check_xz() {
	hakmem unxz.hak.out unxz.hak.err xz -d -c out.hak || note "xz -d under HAKMEM failed"
	same xz.in unxz.hak.out "round trip"
	used_hakmem unxz.hak.err
}

# sqlite3: every query answered
check_sqlite3() {
	[ "$(wc -l <out.hak)" -ge 7 ] || note "sqlite3 printed $(wc -l <out.hak) lines"
}

for entry in "${REAL_PROGRAMS[@]}"; do
	name=${entry%%|*}
	cmd=${entry#*|}
	SECONDS=0
	plain out.plain err.plain sh -c "$cmd" || note "plain run failed: $(tail -1 err.plain)"
	hakmem out.hak err.hak sh -c "$cmd" || note "run under HAKMEM failed: $(tail -3 err.hak | tr '\n' ' ')"
	[ -s out.plain ] || note "no output"
	same out.plain out.hak "outputs"
	used_hakmem err.hak
	if declare -F "check_$name" >/dev/null; then
		"check_$name"
	fi
	report "$name: $cmd" $SECONDS
done

echo "real programs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
