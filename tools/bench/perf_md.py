#!/usr/bin/env python3
"""Write docs/PERF.md from the last `./build.sh bench` and `./build.sh icount`
outputs (out/bench/results.csv, summary.md, ratios.csv, icount.md), with
the issues' targets checked against those same runs: a target is met only
where the lower end of its 95% interval meets it, in a `full` run. Copies
the charts into docs/perf/."""
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summarize as S  # noqa: E402

OUT = 'out/bench'
# The charts go into docs/perf/, beside the record that shows them.
os.makedirs('docs/perf', exist_ok=True)
for chart in ('compare.png', 'sweep.png', 'rss.png'):
    if os.path.exists(f'{OUT}/{chart}'):
        shutil.copyfile(f'{OUT}/{chart}', f'docs/perf/{chart}')
summary = open(f'{OUT}/summary.md').read()
icount = open(f'{OUT}/icount.md').read()
cells = S.load(f'{OUT}/results.csv')
ratios = {r['label']: r for r in csv.DictReader(open(f'{OUT}/ratios.csv'))}
mode = re.search(r'^# .*\((\w+)\)$', summary, re.M).group(1)
full = mode == 'full'
allocs = list(dict.fromkeys(a for c in cells.values() for a in c['runs']))
commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                        capture_output=True, text=True).stdout.strip()


def demote(text):
    return '\n'.join('#' + l if l.startswith('#') else l for l in text.splitlines())


def ic(tier, alloc):
    """Instructions per pair of @alloc in @tier, from icount.md's table."""
    lines = [l for l in icount.splitlines() if l.startswith('|')]
    head = [c.strip() for c in lines[0].strip('|').split('|')]
    for l in lines[2:]:
        c = [x.strip() for x in l.strip('|').split('|')]
        if c[0].startswith(tier):
            return float(c[head.index(alloc)])
    return None


def vs(label, peers, i=0, lowest=False):
    """(point, lo, hi) of hakmem's median over the best of @peers in @label."""
    if label not in cells:
        return None, None, None
    return S.interval(cells[label], allocs, 'hakmem', peers, i=i, lowest=lowest)


def verdict(point, lo, want):
    """At least @want: yes only from a full run whose interval clears it."""
    if point is None:
        return 'no data'
    if point < want:
        return '**no**'
    if full and lo is not None and lo >= want:
        return 'yes'
    return 'not proven (%s)' % ('interval reaches below' if full else 'quick run')


def upper_verdict(point, hi, want):
    """At most @want: the interval's upper end must stay at or below it."""
    if point is None:
        return 'no data'
    if point > want:
        return '**no**'
    if full and hi is not None and hi <= want:
        return 'yes'
    return 'not proven (%s)' % ('quick run' if not full else 'interval reaches above')


def both(*vs_):
    order = ['no data', '**no**', 'not proven (interval reaches below)',
             'not proven (interval reaches above)', 'not proven (quick run)', 'yes']
    return min(vs_, key=order.index)


targets = ['| issue | target | measured (ratio [95% CI]) | met? |', '|---|---|---|---|']


def target(issue, what, measured, met):
    targets.append(f'| {issue} | {what} | {measured} | {met} |')


rm, ml, pt, bl = 'bench_random_mixed', 'bench_mid_large_mt', 'bench_pool_tls', 'bench_large'
best = S.PEERS
r = vs(rm, best)
m = vs(rm, ('mimalloc',), i=1)
target('Tiny tier', f'`{rm}` >= 1.0x best peer; RSS <= 1.1x mimalloc',
       f'{S.fmt_ci(*r)}; RSS {S.fmt_ci(*m)}',
       both(verdict(r[0], r[1], 1.0), upper_verdict(m[0], m[2], 1.1)))
a, b = vs('larson', ('mimalloc',)), vs('bench_xthread', ('mimalloc',))
target('Tiny tier', '`larson`, `bench_xthread` >= 1.0x mimalloc',
       f'{S.fmt_ci(*a)}; {S.fmt_ci(*b)}',
       both(verdict(a[0], a[1], 1.0), verdict(b[0], b[1], 1.0)))
t_h, t_m = ic('tiny', 'hakmem'), ic('tiny', 'mimalloc')
target('Tiny tier', 'tiny icount (preloaded) <= mimalloc', f'{t_h} vs {t_m}',
       'yes' if t_h is not None and t_m is not None and t_h <= t_m else '**no**')
a, b = vs(ml, best), vs(pt, best)
target('Pool tier', f'`{ml}`, `{pt}` >= 1.2x best peer', f'{S.fmt_ci(*a)}; {S.fmt_ci(*b)}',
       both(verdict(a[0], a[1], 1.2), verdict(b[0], b[1], 1.2)))
a, b = vs(ml, ('glibc',)), vs(pt, ('glibc',))
target('Pool tier', 'same, >= 5x glibc', f'{S.fmt_ci(*a)}; {S.fmt_ci(*b)}',
       both(verdict(a[0], a[1], 5), verdict(b[0], b[1], 5)))
a, b = vs(ml, ('mimalloc',), i=1), vs(pt, ('mimalloc',), i=1)
p_h, p_m = ic('pool', 'hakmem'), ic('pool', 'mimalloc')
target('Pool tier', 'RSS <= 1.2x mimalloc; pool icount <= mimalloc',
       f'{S.fmt_ci(*a)}; {S.fmt_ci(*b)}; {p_h} vs {p_m}',
       both(upper_verdict(a[0], a[2], 1.2), upper_verdict(b[0], b[2], 1.2),
            'yes' if p_h is not None and p_m is not None and p_h <= p_m else '**no**'))
r, m = vs(bl, best), vs(bl, ('mimalloc',), i=1)
target('Large tier', f'`{bl}` >= 1.0x best peer; RSS <= 1.1x mimalloc',
       f'{S.fmt_ci(*r)}; RSS {S.fmt_ci(*m)}',
       both(verdict(r[0], r[1], 1.0), upper_verdict(m[0], m[2], 1.1)))
r = vs('bench_realloc', ('glibc',))
target('Large tier', '`bench_realloc` >= 1.0x glibc', S.fmt_ci(*r), verdict(r[0], r[1], 1.0))

sweep = [r for r in ratios.values() if r['group'] == 'sweep' and r['ratio']]


def fl(x):
    return float(x) if x else None


if sweep:
    worst = min(sweep, key=lambda r: fl(r['ratio']))
    lo_worst = min(fl(r['lo']) or 0 for r in sweep)
    target('#15 span engine', 'sweep: no cell below 0.8x the best peer',
           f'worst {worst["label"]} {S.fmt_ci(fl(worst["ratio"]), fl(worst["lo"]), fl(worst["hi"]))}',
           verdict(fl(worst['ratio']), lo_worst, 0.8))
    big = [r for r in sweep if r['label'].split(':')[1] in ('52k-128k', '128k-512k', '512k-4m')
           and r['label'].split(':')[2] in ('t4', 't8', 't16')]
    if big:
        w = min(big, key=lambda r: fl(r['ratio']))
        ran = sorted({r['label'].split(':')[2] for r in big})
        target('#15 span engine', 'sweep: every 52 KiB-4 MiB cell at 4, 8, 16 threads >= 1.0x',
               f'worst {w["label"]} {S.fmt_ci(fl(w["ratio"]), fl(w["lo"]), fl(w["hi"]))} '
               f'(threads run: {", ".join(ran)})',
               verdict(fl(w['ratio']), min(fl(r['lo']) or 0 for r in big), 1.0)
               if len(ran) == 3 else 'not proven (not every thread count run)')
    med = statistics.median(fl(r['ratio']) for r in sweep)
    med_lo = statistics.median(fl(r['lo']) or 0 for r in sweep)
    target('#15 span engine', 'sweep: median cell >= 1.2x',
           f'{med:.2f} (median of lower ends {med_lo:.2f})', verdict(med, med_lo, 1.2))
    rss = [r for r in sweep if r['rss_ratio']]
    w = max(rss, key=lambda r: fl(r['rss_ratio']))
    target('#15 span engine', 'sweep: peak RSS <= 1.5x the leanest peer in every cell',
           f'worst {w["label"]} {S.fmt_ci(fl(w["rss_ratio"]), fl(w["rss_lo"]), fl(w["rss_hi"]))}',
           upper_verdict(fl(w['rss_ratio']), max(fl(r['rss_hi']) or 9 for r in rss), 1.5))
target('#15 span engine', 'tiny and pool icount (preloaded) <= 47.0 and 62.0',
       f'{t_h}, {p_h}', 'yes' if t_h is not None and p_h is not None
       and t_h <= 47.0 and p_h <= 62.0 else '**no**')

phases = S.load_phases(f'{OUT}/rss_phases.csv')
if phases:
    rows = S.phase_rows(phases, list(dict.fromkeys(allocs + list(phases))))
    frees = [r for r in rows if r[0] != 'idle']
    worst = max((r for r in frees if r[3].get('hakmem')), key=lambda r: r[3]['hakmem'],
                default=None)
    # One run per allocator: no interval; RSS moves little between runs.
    if worst is None:
        target('#17 learner', 'phases: RSS / live <= 1.25 after each free phase, '
               'below every peer', 'hakmem failed or did not run', 'no data')
    else:
        ok = all(r[3].get('hakmem') and r[3]['hakmem'] <= 1.25 and r[6] and r[6] < 1
                 for r in frees)
        target('#17 learner', 'phases: RSS / live <= 1.25 after each free phase, '
               'below every peer',
               f'worst {worst[0]} {worst[3]["hakmem"]:.2f}; '
               + ', '.join(f'{r[0]} {S.fmt(r[6])}x {r[4]}' for r in frees),
               ('yes' if full else 'not proven (quick run)') if ok else '**no**')

# Learner on / off: every cell hakmem ran in must have hakmem_nolearn's runs.
on_off, without = [], []
for label, cell in cells.items():
    if cell['runs'].get('hakmem'):
        t, m = S.learner(cell, allocs)
        (on_off.append((label, t, m)) if t[0] is not None else without.append(label))
what = (f'on/off: throughput >= {S.LEARN_MIN}x off in every cell, '
        f'peak RSS no higher (<= {S.LEARN_RSS_MAX}x)')
if not on_off:
    target('#17 learner', what, 'hakmem_nolearn ran in no cell with hakmem'
           + ('' if full else ' (a quick run has it in the rss group only)'), 'no data')
else:
    t, m = min(on_off, key=lambda c: c[1][0]), max(on_off, key=lambda c: c[2][0] or 0)
    met = both(verdict(t[1][0], min(c[1][1] or 0 for c in on_off), S.LEARN_MIN),
               upper_verdict(m[2][0], max(c[2][2] or 9 for c in on_off), S.LEARN_RSS_MAX))
    if without and met != '**no**':
        met = f'not proven ({len(without)} cells without hakmem_nolearn)'
    target('#17 learner', what,
           f'{len(on_off)} cells; worst {t[0]} {S.fmt_ci(*t[1])}; '
           f'RSS worst {m[0]} {S.fmt_ci(*m[2])}'
           + (f'; no hakmem_nolearn in {len(without)} cells ({", ".join(without[:3])}'
              f'{", ..." if len(without) > 3 else ""})' if without else ''), met)

behind, maybe = [], []
for label, r in ratios.items():
    p, hi = fl(r['ratio']), fl(r['hi'])
    if p is None:
        continue
    line = f'- `{label}`: {S.fmt_ci(p, fl(r["lo"]), hi)} against {r["best_peer"]}'
    if hi is not None and hi < 1:
        behind.append(line)
    elif p < 1:
        maybe.append(line)

sys.stdout.write(f'''# HAKMEM performance record

Written by `tools/bench/perf_md.py > docs/PERF.md` from the outputs of the
two commands below, on the machine each names (2 shared vCPUs: quote ratios,
not absolute times; the same binary can differ by 30% between runs here, so
read the 95% intervals, and `./build.sh icount` for fast paths). Never edit
the numbers by hand. The *hakmem* column is `libhakmem.so` preloaded, as
every peer is; *hakmem_nolearn* is the same with `HAKMEM_LEARN=0`;
*hakmem_static* is the statically linked binary.

Latest: commit {commit}, `./build.sh bench {mode}`{'' if full else ' (a quick run: no target can be met from it, docs/BENCH.md)'}.

## Where HAKMEM is behind the best peer

Behind (the whole interval below 1):

{chr(10).join(behind) or '- none'}

Possibly behind (median below 1, interval reaching above):

{chr(10).join(maybe) or '- none'}

## Where the issues' targets stand

{chr(10).join(targets)}

## `./build.sh bench {mode}`

{demote(summary)}
![throughput relative to mimalloc](perf/compare.png)

![sweep heat-map](perf/sweep.png)
{'' if not phases else chr(10) + '![RSS over time](perf/rss.png)' + chr(10)}
## `./build.sh icount`

{demote(icount)}
''')
