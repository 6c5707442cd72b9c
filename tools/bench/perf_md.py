#!/usr/bin/env python3
"""Write docs/PERF.md from the last `./build.sh bench quick` and
`./build.sh icount` outputs (out/bench/summary.md, out/bench/icount.md),
with the tier issues' targets checked against those same tables."""
import subprocess
import sys

summary = open('out/bench/summary.md').read()
icount = open('out/bench/icount.md').read()
commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                        capture_output=True, text=True).stdout.strip()


def demote(text):
    return '\n'.join('#' + l if l.startswith('#') else l for l in text.splitlines())


def rows(text, name):
    return [[c.strip() for c in l.strip('|').split('|')]
            for l in text.splitlines() if l.startswith('| ' + name + ' |')]


def thr(n):  # throughput row: name, 5 allocators, vs best, vs mimalloc, spread
    return rows(summary, n)[0]


def rel(n):  # relative to mimalloc: name, hakmem, glibc, mimalloc, ...
    return rows(summary, n)[1]


def rss(n):  # peak RSS: name, 5 allocators, hakmem / mimalloc
    return rows(summary, n)[2]


def ic(tier):
    r = [[c.strip() for c in l.strip('|').split('|')]
         for l in icount.splitlines() if l.startswith('| ' + tier)][0]
    return float(r[1]), float(r[3])  # hakmem, mimalloc


def best(n):
    return float(thr(n)[6].split()[0])


def vs_glibc(n):
    r = rel(n)
    return float(r[1]) / float(r[2])


def yes(cond):
    return 'yes' if cond else 'no'


rm, ml, pt, bl = 'bench_random_mixed', 'bench_mid_large_mt', 'bench_pool_tls', 'bench_large'
tiny, pool = ic('tiny'), ic('pool')
targets = f'''| issue | target | measured in the runs above | met? |
|---|---|---|---|
| Tiny tier | `{rm}` >= 1.0x best peer; RSS <= 1.1x mimalloc | {thr(rm)[6]}; RSS {rss(rm)[6]}x | {yes(best(rm) >= 1 and float(rss(rm)[6]) <= 1.1)} |
| Tiny tier | `larson`, `bench_xthread` >= 1.0x mimalloc | {thr('larson')[7]}x, {thr('bench_xthread')[7]}x | {yes(float(thr('larson')[7]) >= 1 and float(thr('bench_xthread')[7]) >= 1)} |
| Tiny tier | tiny icount <= mimalloc | {tiny[0]} vs {tiny[1]} | {yes(tiny[0] <= tiny[1])} |
| Pool tier | `{ml}`, `{pt}` >= 1.2x best peer | {thr(ml)[6]}, {thr(pt)[6]} | {yes(best(ml) >= 1.2 and best(pt) >= 1.2)} |
| Pool tier | same, >= 5x glibc | {vs_glibc(ml):.1f}x, {vs_glibc(pt):.1f}x | {yes(vs_glibc(ml) >= 5 and vs_glibc(pt) >= 5)} |
| Pool tier | RSS <= 1.2x mimalloc; pool icount <= mimalloc | {rss(ml)[6]}x, {rss(pt)[6]}x; {pool[0]} vs {pool[1]} | {yes(float(rss(ml)[6]) <= 1.2 and float(rss(pt)[6]) <= 1.2 and pool[0] <= pool[1])} |
| Large tier | `{bl}` >= 1.0x best peer; RSS <= 1.1x mimalloc | {thr(bl)[6]}; RSS {rss(bl)[6]}x | {yes(best(bl) >= 1 and float(rss(bl)[6]) <= 1.1)} |
| Large tier | `bench_realloc` >= 1.0x glibc | {vs_glibc('bench_realloc'):.2f}x | {yes(vs_glibc('bench_realloc') >= 1)} |
'''

sys.stdout.write(f'''# HAKMEM performance record

Written by `tools/bench/perf_md.py > docs/PERF.md` from the outputs of the
two commands below, on the machine each names (2 shared vCPUs: quote ratios,
not absolute times; "spread" says how much runs of one allocator disagreed,
and the same binary can differ by 30% between runs here, so decide with
several runs and with `./build.sh icount`). Never edit the numbers by hand.

Latest: commit {commit}.

## `./build.sh bench quick`

{demote(summary)}

## `./build.sh icount`

{demote(icount)}

## Where the tier issues' targets stand

{targets}''')
