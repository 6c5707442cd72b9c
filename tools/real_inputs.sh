# shellcheck shell=bash
# Sourced by tools/real_programs.sh (outputs checked) and tools/bench/run.sh
# (timed): the real programs run under HAKMEM and the inputs they work on.
#
# real_inputs PCT: write the inputs into the current directory, sized PCT
# percent of the check's (100): alloc_heavy.py, gen.c, sort.in, xz.in,
# heavy.pl, heavy.sql.
# REAL_PROGRAMS: "name|command" for each program; commands read those files
# and write their results to stdout (gcc: the assembly), so that runs under
# two allocators can be compared byte for byte.
REAL_PROGRAMS=(
	"python3|python3 alloc_heavy.py"
	"gcc|gcc -O2 -g -frandom-seed=hakmem -S -o - gen.c"
	"sort|sort -S 24M -T . --parallel=2 -k2,2 -k1,1n sort.in"
	"xz|xz -6 -T2 -c xz.in"
	"perl|perl heavy.pl"
	"sqlite3|sqlite3 -init /dev/null :memory: '.read heavy.sql'"
)

real_inputs() {
	local pct=$1

	real_python "$pct" >alloc_heavy.py
	awk -v n=$((400 * pct / 100)) -f - >gen.c <<'AWK'
BEGIN {
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
}
AWK
	# Lines in no order (a linear congruential generator), ~50 MB at 100%.
	awk -v n=$((1500000 * pct / 100)) 'BEGIN {
		x = 1
		for (i = 0; i < n; i++) {
			x = (x * 1103515245 + 12345) % 2147483648
			printf "%010d %08x %s line-%d\n", x % 1000000000, x, substr("abcdefghijklmnopqrstuvwxyz", 1 + x % 26, 1 + i % 13), i
		}
	}' >sort.in
	head -c $((6000000 * pct / 100)) sort.in >xz.in
	cat gen.c alloc_heavy.py >>xz.in
	real_perl "$pct" >heavy.pl
	real_sql "$pct" >heavy.sql
}

# An allocation-heavy Python script: dicts, strings, lists, cycles, buffers.
real_python() {
	cat <<EOF
import collections, hashlib, json, random

S = $1 / 100
random.seed(12345)

def n(x):
    return max(1, int(x * S))

def digest(x):
    return hashlib.sha256(x if isinstance(x, bytes) else x.encode()).hexdigest()[:16]
EOF
	cat <<'EOF'

# dicts of lists of strings, and a json round trip
data = {}
for i in range(n(120000)):
    data["key%d_%s" % (i, "x" * (i % 37))] = [
        i, str(i * i), list(range(i % 11)), {"a": i % 7, "b": "y" * (i % 53)}]
text = json.dumps(data, sort_keys=True)
back = json.loads(text)
assert back == data
print("json", len(data), len(text), digest(text))

# many strings: build, join, split, sort, dedupe
parts = [("%08x" % (i * 2654435761 % 2 ** 32)) * (1 + i % 5) for i in range(n(200000))]
big = "|".join(parts)
words = big.split("|")
words.sort()
print("strings", len(big), digest(big), words[0][:8], words[-1][:8], len(set(words)))
print("counter", collections.Counter(w[:2] for w in words).most_common(3))

# floats, list surgery
nums = [random.random() for _ in range(n(300000))]
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
for r in range(n(20)):
    root = Node(r)
    level = [root]
    for depth in range(4):
        nxt = []
        for nd in level:
            for k in range(6):
                c = Node(nd.v * 6 + k, nd)
                nd.kids.append(c)
                nxt.append(c)
        level = nxt
    total += sum(nd.v for nd in level)
print("tree", total)

# growing buffers (realloc-heavy), bytes and tuples
ba = bytearray()
for i in range(n(150000)):
    ba += b"%d," % i
print("bytearray", len(ba), digest(bytes(ba)))
tuples = sorted((i % 97, str(i), i * 1.5) for i in range(n(100000)))
print("tuples", tuples[0], tuples[-1], len(tuples))
d = {}
for i in range(n(200000)):
    d[i] = i
    if i % 3 == 0:
        del d[i // 2]
print("dict churn", len(d), sum(d))
EOF
}

# Perl: a hash of arrays of strings and hashes, sorted, cut, split and counted.
real_perl() {
	echo "my \$N = $((300000 * $1 / 100));"
	cat <<'EOF'
use strict; use warnings;
my %h; my @a;
for my $i (0 .. $N - 1) {
    my $k = sprintf("k%07d-%s", ($i * 2654435761) % 1000003, "z" x ($i % 23));
    $h{$k} = [$i, "v" x ($i % 41), { n => $i % 97 }];
    push @a, $k if $i % 3 == 0;
}
my $n = 0;
for my $k (sort keys %h) { $n = ($n * 31 + length($k) + $h{$k}[0]) % 1000000007; }
delete @h{@a};
my $s = join(",", map { $_ * 3 } 0 .. $N * 2 / 3);
my @w = split /,/, $s;
my %c; $c{substr($_, 0, 2)}++ for @w;
my $top = join(" ", (sort { $c{$b} <=> $c{$a} || $a cmp $b } keys %c)[0 .. 4]);
print "perl ", scalar(keys %h), " $n ", length($s), " $top\n";
EOF
}

# SQLite in memory: a table built row by row, an index, grouping, deletes.
real_sql() {
	cat <<EOF
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v TEXT, n INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $((300000 * $1 / 100)))
INSERT INTO t SELECT i, printf('key%08d', (i * 2654435761) % 1000003), substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26, 1 + i % 20), i % 97 FROM c;
CREATE INDEX tk ON t(k);
SELECT n, count(*), sum(length(v)) FROM t GROUP BY n ORDER BY n LIMIT 5;
SELECT count(DISTINCT k), max(k), min(v) FROM t;
DELETE FROM t WHERE n < 40;
SELECT count(*), total(id) FROM t;
EOF
}
