#!/usr/bin/env bash
# tools/real_programs.sh LIBSO - real programs under LD_PRELOAD=LIBSO.
#
# Each program runs twice, without and with the preloaded HAKMEM, and the
# outputs must be identical byte for byte: python3 (an allocation-heavy
# script), gcc (compiles a generated C file; the objects and the program's
# output are compared), sort (a generated ~50 MB file), xz (a compress and
# decompress round trip; the .xz files are compared too).
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

# ------------------------------------------------------------- python3

cat >alloc_heavy.py <<'EOF'
import collections, hashlib, json, random

random.seed(12345)

def digest(x):
    return hashlib.sha256(x if isinstance(x, bytes) else x.encode()).hexdigest()[:16]

# dicts of lists of strings, and a json round trip
data = {}
for i in range(120000):
    data["key%d_%s" % (i, "x" * (i % 37))] = [
        i, str(i * i), list(range(i % 11)), {"a": i % 7, "b": "y" * (i % 53)}]
text = json.dumps(data, sort_keys=True)
back = json.loads(text)
assert back == data
print("json", len(data), len(text), digest(text))

# many strings: build, join, split, sort, dedupe
parts = [("%08x" % (i * 2654435761 % 2 ** 32)) * (1 + i % 5) for i in range(200000)]
big = "|".join(parts)
words = big.split("|")
words.sort()
print("strings", len(big), digest(big), words[0][:8], words[-1][:8], len(set(words)))
print("counter", collections.Counter(w[:2] for w in words).most_common(3))

# floats, list surgery
nums = [random.random() for _ in range(300000)]
nums.sort()
del nums[::3]
nums.extend(x * 2 for x in nums[:1000])
print("floats", len(nums), "%.6f" % sum(nums))

# objects with reference cycles, dropped and collected
class Node:
    def __init__(self, v, parent=None):
        self.v = v
        self.parent = parent
        self.kids = []

total = 0
for r in range(20):
    root = Node(r)
    level = [root]
    for depth in range(4):
        nxt = []
        for n in level:
            for k in range(6):
                c = Node(n.v * 6 + k, n)
                n.kids.append(c)
                nxt.append(c)
        level = nxt
    total += sum(n.v for n in level)
print("tree", total)

# growing buffers (realloc-heavy), bytes and tuples
ba = bytearray()
for i in range(150000):
    ba += b"%d," % i
print("bytearray", len(ba), digest(bytes(ba)))
tuples = sorted((i % 97, str(i), i * 1.5) for i in range(100000))
print("tuples", tuples[0], tuples[-1], len(tuples))
d = {}
for i in range(200000):
    d[i] = i
    if i % 3 == 0:
        del d[i // 2]
print("dict churn", len(d), sum(d))
EOF

SECONDS=0
plain py.plain.out py.plain.err python3 alloc_heavy.py || note "plain python3 failed: $(tail -1 py.plain.err)"
hakmem py.hak.out py.hak.err python3 alloc_heavy.py || note "python3 under HAKMEM failed: $(tail -3 py.hak.err | tr '\n' ' ')"
[ -s py.plain.out ] || note "no output"
same py.plain.out py.hak.out "outputs"
used_hakmem py.hak.err
report "python3 alloc_heavy.py" $SECONDS

# ------------------------------------------------------------------ gcc

# A generated program: many functions, tables, strings and a checksum.
awk 'BEGIN {
	n = 400
	print "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
	for (i = 0; i < n; i++) {
		printf "static const char *s%d[] = { \"alpha%d\", \"beta%d\", \"gamma%d\" };\n", i, i, i * 3, i * 7
		printf "struct t%d { int a[%d]; double d; char name[%d]; };\n", i, 1 + i % 17, 8 + i % 23
		printf "static unsigned long f%d(unsigned long x)\n{\n", i
		printf "\tstruct t%d t;\n\tunsigned long h = x * %du;\n", i, 2654435761 % (i + 7919)
		printf "\tmemset(&t, %d, sizeof(t));\n", i % 200
		printf "\tfor (int k = 0; k < %d; k++) {\n", 1 + i % 17
		printf "\t\tt.a[k] = (int)(h >> (k %% 13)) ^ k;\n\t\th = h * 31 + (unsigned long)t.a[k];\n\t}\n"
		printf "\tswitch (x %% 5) {\n"
		for (c = 0; c < 5; c++)
			printf "\tcase %d: h ^= strlen(s%d[%d]) + %d; break;\n", c, i, c % 3, c * i
		printf "\t}\n\tt.d = (double)h / %d.0;\n", i + 1
		printf "\treturn h + (unsigned long)t.d + (unsigned char)t.name[%d];\n}\n\n", i % 8
	}
	print "int main(void)\n{\n\tunsigned long sum = 0;\n\tchar *buf = malloc(1 << 16);\n"
	for (i = 0; i < n; i++)
		printf "\tsum += f%d(sum + %d);\n", i, i
	print "\tsnprintf(buf, 1 << 16, \"%lu\", sum);\n\tprintf(\"checksum %s\\n\", buf);\n\tfree(buf);\n\treturn 0;\n}"
}' >gen.c

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

# ~50 MB of lines in no order (a linear congruential generator).
awk 'BEGIN {
	x = 1
	for (i = 0; i < 1500000; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		printf "%010d %08x %s line-%d\n", x % 1000000000, x, substr("abcdefghijklmnopqrstuvwxyz", 1 + x % 26, 1 + i % 13), i
	}
}' >sort.in

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

head -c 6000000 sort.in >xz.in
cat gen.c alloc_heavy.py >>xz.in

SECONDS=0
plain plain.xz xz.plain.err xz -6 -T2 -c xz.in || note "plain xz failed"
hakmem hak.xz xz.hak.err xz -6 -T2 -c xz.in || note "xz under HAKMEM failed: $(head -3 xz.hak.err)"
same plain.xz hak.xz ".xz files"
used_hakmem xz.hak.err
hakmem unxz.hak.out unxz.hak.err xz -d -c hak.xz || note "xz -d under HAKMEM failed"
same xz.in unxz.hak.out "round trip"
used_hakmem unxz.hak.err
report "xz -6 -T2 round trip ($(($(stat -c %s xz.in) / 1000000)) MB)" $SECONDS

echo "real programs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
