#!/usr/bin/env python3
"""summarize.py CSV OUTDIR - medians, ratios and 95% intervals of
tools/bench/run.sh results.

Writes into OUTDIR:
  summary.md   the tables (Markdown);
  ratios.csv   one row per cell: HAKMEM / best peer with its interval, peak
               RSS against the leanest peer (tools/bench/perf_md.py reads it);
  compare.dat  throughput relative to mimalloc (tools/bench/compare.gp);
  sweep.dat, sweep_tics.gp  the sweep heat-map (tools/bench/sweep.gp);
  rss.dat      RSS over time per allocator, from rss.csv (tools/bench/rss.gp).
The table of RSS / live bytes after each phase comes from rss_phases.csv.
hakmem_nolearn (HAKMEM_LEARN=0) and hakmem_static are never peers: they
get columns, and the learner's table sets hakmem against hakmem_nolearn.

Only runs with status "ok" count. Intervals: a paired bootstrap over the
rounds of a cell (docs/BENCH.md). Python 3 standard library only.
"""
import argparse
import csv
import math
import os
import platform
import random
import statistics
import subprocess
import time

PEERS = ("mimalloc", "jemalloc", "tcmalloc")
RSS_PEERS = ("glibc",) + PEERS	# the phase benchmark's target: below every peer
REF = "mimalloc"
HAK = "hakmem"
NOLEARN = "hakmem_nolearn"
STATIC = "hakmem_static"
# Issue 17: hakmem / hakmem_nolearn at least this in throughput and at most
# this in peak RSS, in every cell (perf_md.py judges it).
LEARN_MIN, LEARN_RSS_MAX = 0.98, 1.0
BOOT = 2000
GROUPS = (("classic", "The seven original benchmarks"),
          ("workload", "Workloads modelled on the classic allocator benchmarks"))
TIMED = ("classic", "workload", "sweep", "real")	# every group but rss


def load(path):
    """{label: cell} in file order; cell has group, program, args and
    runs = {alloc: {run: (ops_per_sec, rss_kb, secs)}}, failed = {alloc: n}."""
    cells = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            label = row["label"]
            prog = row["program"]
            group = ("real" if prog.startswith("real:") else
                     "sweep" if label.startswith("sweep:") else
                     "workload" if ":" in label else "classic")
            c = cells.setdefault(label, {"group": group, "program": prog,
                                         "args": row["args"], "runs": {},
                                         "failed": {}})
            a = row["allocator"]
            runs = c["runs"].setdefault(a, {})
            if row["status"] == "ok":
                runs[int(row["run"])] = (float(row["ops_per_sec"]),
                                         float(row["peak_rss_kb"] or 0),
                                         float(row["secs"]))
            else:
                c["failed"][a] = c["failed"].get(a, 0) + 1
    return cells


def med(runs, i=0, keys=None):
    keys = runs.keys() if keys is None else keys
    vals = [runs[k][i] for k in keys if k in runs]
    return statistics.median(vals) if vals else None


def best_peer(cell, allocs, i=0, keys=None, lowest=False):
    """(name, median) of the peer with the highest (lowest) median."""
    meds = [(med(cell["runs"].get(p, {}), i, keys), p) for p in PEERS if p in allocs]
    meds = [(m, p) for m, p in meds if m is not None]
    if not meds:
        return None, None
    m, p = (min if lowest else max)(meds)
    return p, m


def interval(cell, allocs, num, den_peers, i=0, lowest=False):
    """Point estimate and 95% bootstrap interval of median(num) / median of
    the best of den_peers (highest median, or lowest with lowest=True).
    The rounds where every allocator involved succeeded are resampled
    together, so each resample keeps the pairing of a round."""
    runs = cell["runs"]
    who = [num] + [p for p in den_peers if p in allocs and runs.get(p)]
    if not runs.get(num) or len(who) < 2:
        return None, None, None
    rounds = sorted(set.intersection(*(set(runs[a]) for a in who)))
    if not rounds:
        return None, None, None

    def ratio(keys):
        dens = [med(runs[p], i, keys) for p in who[1:]]
        den = min(dens) if lowest else max(dens)
        return med(runs[num], i, keys) / den if den else None

    point = ratio(rounds)
    rng = random.Random(cell["program"] + cell["args"] + num)
    boots = sorted(r for r in (ratio([rng.choice(rounds) for _ in rounds])
                               for _ in range(BOOT)) if r is not None)
    if not boots:
        return point, None, None
    return point, boots[int(0.025 * (len(boots) - 1))], boots[int(0.975 * (len(boots) - 1))]


def learner(cell, allocs):
    """hakmem / hakmem_nolearn in @cell: (throughput, peak RSS), each
    (point, lo, hi) as interval() gives it, None points unless both ran."""
    return (interval(cell, allocs, HAK, (NOLEARN,)),
            interval(cell, allocs, HAK, (NOLEARN,), i=1))


def spread(runs):
    vals = [r[0] for r in runs.values()]
    if len(vals) < 2:
        return 0.0
    return (max(vals) - min(vals)) / statistics.median(vals)


def rate(x):
    if x is None:
        return "FAIL"
    if x >= 1e6:
        return "%.2f M" % (x / 1e6)
    if x >= 1e3:
        return "%.1f k" % (x / 1e3)
    return "%.0f" % x


def fmt(r):
    return "n/a" if r is None else "%.2f" % r


def fmt_ci(p, lo, hi):
    if p is None:
        return "n/a"
    if lo is None:
        return "%.2f" % p
    return "%.2f [%.2f, %.2f]" % (p, lo, hi)


def geomean(vals):
    vals = [v for v in vals if v]
    if not vals:
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    return "%s, %d CPUs, Linux %s, HAKMEM %s" % (
        cpu, os.cpu_count() or 0, platform.release(), rev or "?")


def row(cells):
    return "| " + " | ".join(cells) + " |"


def header(cols):
    return [row(cols), row(["---"] + ["---:"] * (len(cols) - 1))]


class Report:
    def __init__(self, cells, allocs, runs_wanted, floor):
        self.cells, self.allocs = cells, allocs
        self.runs_wanted, self.floor = runs_wanted, floor
        self.ratios = []	# rows of ratios.csv

    def cell_ratio(self, label, cell):
        """HAKMEM / best peer (throughput) and / leanest peer (RSS)."""
        allocs = self.allocs
        r = interval(cell, allocs, HAK, PEERS)
        peer, _ = best_peer(cell, allocs)
        rss = interval(cell, allocs, HAK, PEERS, i=1, lowest=True)
        lean, _ = best_peer(cell, allocs, i=1, lowest=True)
        short = min((v[2] for a in allocs for v in cell["runs"].get(a, {}).values()),
                    default=None)
        self.ratios.append({
            "label": label, "group": cell["group"], "best_peer": peer or "",
            "ratio": r[0], "lo": r[1], "hi": r[2],
            "leanest_peer": lean or "", "rss_ratio": rss[0], "rss_lo": rss[1],
            "rss_hi": rss[2], "shortest_secs": short,
            "failed": sum(cell["failed"].values())})
        return r, peer, rss, lean, short

    def ran(self, groups):
        """The allocators with a run, ok or not, in a cell of @groups: the
        columns of their tables (quick has no hakmem_nolearn in most)."""
        return [a for a in self.allocs if any(
            a in c["runs"] for c in self.cells.values() if c["group"] in groups)]

    def median_col(self, cell, a, i=0):
        """Median ops/s (i 0), peak RSS MiB (1) or seconds (2) of @a."""
        runs = cell["runs"].get(a, {})
        m = med(runs, i)
        if m is None:
            return "FAIL" if a in cell["failed"] else "-"
        text = rate(m) if i == 0 else "%.1f" % (m / 1024) if i == 1 else "%.2f s" % m
        n = len(runs)
        return text + ("" if n == self.runs_wanted else " (%d runs)" % n)

    def shortest(self, secs):
        """The cell's shortest run, SHORT when it did less than the floor."""
        if secs is None:
            return "n/a"
        return "%.2f s%s" % (secs, " SHORT" if secs < self.floor else "")

    def throughput(self, group):
        allocs = self.ran((group,))
        out = header(["benchmark"] + allocs + [
            "hakmem / best peer [95% CI]", "hakmem / mimalloc", "static / so",
            "spread", "shortest run"])
        for label, cell in self.cells.items():
            if cell["group"] != group:
                continue
            r, peer, _, _, short = self.cell_ratio(label, cell)
            cols = [label] + [self.median_col(cell, a) for a in allocs]
            cols.append(fmt_ci(*r) + (" (%s)" % peer if peer else ""))
            ref = interval(cell, allocs, HAK, (REF,))
            cols.append(fmt_ci(*ref))
            st = interval(cell, allocs, STATIC, (HAK,))
            cols.append(fmt(st[0]))
            cols.append("%.0f%%" % (100 * max(
                (spread(cell["runs"].get(a, {})) for a in allocs), default=0)))
            cols.append(self.shortest(short))
            out.append(row(cols))
        return out

    def rss(self, groups):
        allocs = self.ran(groups)
        out = header(["benchmark"] + allocs + ["hakmem / leanest peer [95% CI]"])
        for label, cell in self.cells.items():
            if cell["group"] not in groups:
                continue
            rss = interval(cell, allocs, HAK, PEERS, i=1, lowest=True)
            lean, _ = best_peer(cell, allocs, i=1, lowest=True)
            out.append(row([label] + [self.median_col(cell, a, 1) for a in allocs]
                           + [fmt_ci(*rss) + (" (%s)" % lean if lean else "")]))
        return out

    def relative(self, groups):
        """{label: {alloc: median / median of mimalloc}}, the allocators
        that ran in @groups."""
        rel = {}
        allocs = self.ran(groups)
        for label, cell in self.cells.items():
            if cell["group"] not in groups:
                continue
            ref = med(cell["runs"].get(REF, {}))
            meds = {a: med(cell["runs"].get(a, {})) for a in allocs}
            rel[label] = {a: m / ref if m and ref else None for a, m in meds.items()}
        return rel, allocs

    def relative_table(self, rel, allocs):
        out = header(["benchmark"] + allocs)
        for label, r in rel.items():
            out.append(row([label] + [fmt(r[a]) for a in allocs]))
        out.append(row(["**geometric mean**"] + [
            fmt(geomean([r[a] for r in rel.values()])) for a in allocs]))
        return out

    def sweep(self):
        """Tables band x threads of the ratio and of peak RSS; heat-map data."""
        grid = {}
        for label, cell in self.cells.items():
            if cell["group"] != "sweep":
                continue
            _, band, t = label.split(":")
            grid[(band, int(t[1:]))] = (label, cell)
        if not grid:
            return [], [], []
        bands = list(dict.fromkeys(b for b, _ in grid))
        threads = sorted({t for _, t in grid})
        cols = ["sizes \\ threads"] + [str(t) for t in threads]
        thr, mem, dat = header(cols), header(cols), []
        for y, band in enumerate(bands):
            tr, mr = [band], [band]
            for x, t in enumerate(threads):
                if (band, t) not in grid:
                    tr.append("-")
                    mr.append("-")
                    continue
                label, cell = grid[(band, t)]
                r, peer, _, lean, _ = self.cell_ratio(label, cell)
                tr.append(fmt_ci(*r) + (" %s" % peer[:2] if peer else ""))
                h = med(cell["runs"].get(HAK, {}), 1)
                _, lm = best_peer(cell, self.allocs, i=1, lowest=True)
                mr.append("n/a" if h is None or lm is None else
                          "%.1f / %.1f %s" % (h / 1024, lm / 1024, lean[:2]))
                dat.append((x, y, r[0], r[1]))
            thr.append(row(tr))
            mem.append(row(mr))
        self.sweep_axes = (bands, threads)
        return thr, mem, dat

    def real(self):
        allocs = self.ran(("real",))
        out = header(["program"] + allocs + ["hakmem speed / best peer [95% CI]",
                                             "hakmem RSS / leanest peer", "shortest run"])
        for label, cell in self.cells.items():
            if cell["group"] != "real":
                continue
            r, peer, rss, lean, short = self.cell_ratio(label, cell)
            cols = [label.split(":", 1)[1]]
            for a in allocs:
                runs = cell["runs"].get(a, {})
                t, m = med(runs, 2), med(runs, 1)
                cols.append("FAIL" if t is None else "%.2f s, %.0f MiB" % (t, m / 1024))
            cols.append(fmt_ci(*r) + (" (%s)" % peer if peer else ""))
            cols.append(fmt(rss[0]) + (" (%s)" % lean if lean else ""))
            cols.append(self.shortest(short))
            out.append(row(cols))
        return out

    def learner(self):
        """Every timed cell: hakmem and hakmem_nolearn's medians (real
        programs: wall time) and their ratios; no rows if hakmem_nolearn
        ran in none."""
        if NOLEARN not in self.ran(TIMED):
            return []
        out = header(["benchmark", HAK, NOLEARN, "on / off [95% CI]",
                      "peak RSS MiB, on / off", "RSS on / off [95% CI]"])
        for label, cell in self.cells.items():
            if HAK not in cell["runs"] and NOLEARN not in cell["runs"]:
                continue
            t, m = learner(cell, self.allocs)
            i = 2 if cell["group"] == "real" else 0
            out.append(row([label] + [self.median_col(cell, a, i) for a in (HAK, NOLEARN)]
                           + [fmt_ci(*t), " / ".join(self.median_col(cell, a, 1)
                                                     for a in (HAK, NOLEARN)),
                              fmt_ci(*m)]))
        return out


def write_ratios(path, rows):
    keys = ["label", "group", "best_peer", "ratio", "lo", "hi", "leanest_peer",
            "rss_ratio", "rss_lo", "rss_hi", "shortest_secs", "failed"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r[k] is None else
                            "%.4f" % r[k] if isinstance(r[k], float) else r[k])
                        for k in keys})


def write_compare(path, rel, allocs):
    with open(path, "w") as f:
        f.write("benchmark " + " ".join(allocs) + "\n")
        for label, r in rel.items():
            f.write(label + " " + " ".join(
                "NaN" if r[a] is None else "%.4f" % r[a] for a in allocs) + "\n")


def write_sweep(outdir, dat, axes):
    bands, threads = axes
    with open(os.path.join(outdir, "sweep.dat"), "w") as f:
        f.write("# x(threads) y(band) log2(ratio) ratio lower_end\n")
        for x, y, r, lo in dat:
            f.write("%d %d %s %s %s\n" % (
                x, y, "NaN" if not r else "%.4f" % math.log2(r),
                "NaN" if r is None else "%.2f" % r,
                "NaN" if lo is None else "%.2f" % lo))
    with open(os.path.join(outdir, "sweep_tics.gp"), "w") as f:
        f.write("set xtics (%s)\n" % ", ".join('"%d" %d' % (t, i) for i, t in enumerate(threads)))
        f.write("set ytics (%s)\n" % ", ".join('"%s" %d' % (b, i) for i, b in enumerate(bands)))
        f.write("set xrange [-0.5:%g]\nset yrange [-0.5:%g]\n" % (len(threads) - 0.5,
                                                                  len(bands) - 0.5))


def load_phases(path):
    """{alloc: {phase: (after_secs, live_bytes, rss_per_live)}} from
    rss_phases.csv, with "failed" as the entry of an allocator whose run
    failed; None without the file (the rss group did not run)."""
    if not os.path.exists(path):
        return None
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            a = out.setdefault(r["allocator"], {})
            if r["status"] != "ok":
                a["failed"] = r["status"]
            else:
                a[r["phase"]] = (float(r["after_secs"]), int(r["live_bytes"]),
                                 float(r["rss_per_live"]))
    return out


def phase_rows(phases, allocs):
    """Per phase: (phase, after_secs, live_bytes, {alloc: ratio or None},
    best peer, its ratio, hakmem / best peer): the best peer is the lowest
    RSS / live of RSS_PEERS."""
    names = list(dict.fromkeys(p for a in phases.values() for p in a if p != "failed"))
    rows = []
    for name in names:
        got = {a: phases.get(a, {}).get(name) for a in allocs}
        first = next((v for v in got.values() if v), None)
        if not first:
            continue
        ratio = {a: v[2] if v else None for a, v in got.items()}
        peers = [(ratio[p], p) for p in RSS_PEERS if ratio.get(p)]
        best, peer = min(peers) if peers else (None, None)
        hak = ratio.get(HAK)
        rows.append((name, first[0], first[1], ratio, peer, best,
                     hak / best if hak and best else None))
    return rows


def phase_table(phases, allocs):
    onoff = HAK in phases and NOLEARN in phases
    out = header(["phase (RSS / live after)", "live MiB"] + allocs +
                 ["best peer", "hakmem / best peer"] +
                 ["hakmem / hakmem_nolearn"] * onoff)
    for name, after, live, ratio, peer, best, rel in phase_rows(phases, allocs):
        cols = ["%s (%g s)" % (name, after), "%.1f" % (live / 2**20)]
        cols += ["FAIL" if "failed" in phases.get(a, {}) else fmt(ratio[a])
                 for a in allocs]
        cols += ["%s %s" % (peer, fmt(best)) if peer else "n/a", fmt(rel)]
        if onoff:
            on, off = ratio.get(HAK), ratio.get(NOLEARN)
            cols.append(fmt(on / off if on and off else None))
        out.append(row(cols))
    return out


def write_rss(outdir, allocs):
    """rss.dat: one block per allocator (seconds, RSS MiB), then a block of
    the first allocator's live bytes (every run makes the same requests)."""
    curves = {}
    with open(os.path.join(outdir, "rss.csv"), newline="") as f:
        for r in csv.DictReader(f):
            curves.setdefault(r["allocator"], []).append(
                (int(r["time_ms"]) / 1000, int(r["rss_bytes"]) / 2**20,
                 int(r["live_bytes"]) / 2**20))
    order = [a for a in allocs if a in curves]
    if not order:
        return
    with open(os.path.join(outdir, "rss.dat"), "w") as f:
        for a in order:
            f.write("%s\n" % a)
            f.writelines("%.3f %.2f\n" % (t, rss) for t, rss, _ in curves[a])
            f.write("\n\n")
        f.write("live\n")
        f.writelines("%.3f %.2f\n" % (t, live) for t, _, live in curves[order[0]])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="?")
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--floor", type=float, default=0.0)
    ap.add_argument("--real-pct", default="?")
    ap.add_argument("--allocs", default="hakmem hakmem_nolearn hakmem_static glibc "
                    "mimalloc jemalloc tcmalloc")
    ap.add_argument("--load", default="?", help="load average, start -> end")
    ap.add_argument("--phases", default="", help="bench_phases' arguments")
    ap.add_argument("csv")
    ap.add_argument("outdir")
    a = ap.parse_args()
    allocs = a.allocs.split()
    cells = load(a.csv)
    rep = Report(cells, allocs, a.runs, a.floor)

    md = ["# HAKMEM vs glibc, mimalloc, jemalloc, tcmalloc (%s)" % a.mode, "",
          "%s; %s; load average %s; %d runs per cell, allocators taking turns "
          "run by run; every run of the timed programs lasts %s s or more." % (
              time.strftime("%Y-%m-%d %H:%M %Z"), machine(), a.load, a.runs,
              a.floor), "",
          "*hakmem* is `libhakmem.so` preloaded into the same `_system` binary "
          "as every peer (the column targets are judged on); *hakmem_nolearn* "
          "is the same with `HAKMEM_LEARN=0` (the learner off); "
          "*hakmem_static* is the binary with `libhakmem.a` linked in. "
          "Ratios are of medians; "
          "[95%% CI] is a paired bootstrap interval over the rounds "
          "(docs/BENCH.md): a target is met only where the interval's lower "
          "end meets it, in a `full` run. *best peer*: the fastest of %s in "
          "the cell; *static / so*: hakmem_static's median over hakmem's; "
          "*spread*: the largest (max - min) / median of any allocator; "
          "*shortest run*: SHORT when a run did less work than %s s." % (
              "/".join(PEERS), a.floor), ""]
    for group, title in GROUPS:
        md += ["## %s (median ops/s, higher is better)" % title, ""]
        md += rep.throughput(group)
        md += [""]
    rel, rel_allocs = rep.relative(("classic", "workload"))
    md += ["## Throughput relative to mimalloc (compare.png)", ""]
    md += rep.relative_table(rel, rel_allocs)
    md += ["", "## Peak RSS (median MiB, lower is better)", ""]
    md += rep.rss(("classic", "workload"))
    thr, mem, dat = rep.sweep()
    ratios = [r for r in rep.ratios if r["group"] == "sweep" and r["ratio"]]
    if thr and ratios:	# no peer ran (BENCH_ALLOCS): no ratios to show
        worst = min(ratios, key=lambda r: r["ratio"])
        md += ["", "## Sweep: random ring, hakmem / best peer (sweep.png)", "",
               "Each thread a ring of live blocks (256, fewer for the largest "
               "sizes), sizes uniform in the band. Cell: ratio [95%% CI] and the "
               "best peer's initials. Median cell %.2f; worst %.2f (%s)." % (
                   statistics.median(r["ratio"] for r in ratios),
                   worst["ratio"], worst["label"]), ""]
        md += thr
        md += ["", "### Sweep: peak RSS, hakmem / leanest peer (median MiB)", ""]
        md += mem
        write_sweep(a.outdir, dat, rep.sweep_axes)
    real = rep.real()
    if len(real) > 2:
        md += ["", "## Real programs (median wall time and peak RSS; inputs at "
               "%s%% of the check's)" % a.real_pct, ""]
        md += real
    learn = rep.learner()
    if learn:
        md += ["", "## Learner on / off: hakmem / hakmem_nolearn", "",
               "Every cell, median ops/s (real programs: wall time) with the "
               "learner on (*hakmem*) and off (`HAKMEM_LEARN=0`), their ratio "
               "and the peak RSS ratio, paired intervals as above. Issue 17's "
               "target: throughput on / off at least %.2f and peak RSS on / "
               "off at most %.2f in every cell, from a `full` run." % (
                   LEARN_MIN, LEARN_RSS_MAX), ""]
        md += learn
    elif HAK in rep.ran(TIMED):
        md += ["", "## Learner on / off: hakmem / hakmem_nolearn", "",
               "No timed cell ran hakmem_nolearn: a quick run has it in the "
               "rss group only (`full`, or `BENCH_ALLOCS` naming it, runs it "
               "in every cell)."]
    phases = load_phases(os.path.join(a.outdir, "rss_phases.csv"))
    if phases:
        md += ["", "## RSS over time: RSS / live bytes after each phase (rss.png)", "",
               "`bench_phases`, one run per allocator: RSS over the bytes "
               "requested and not yet freed, at the end of the hold after "
               "each free phase and of idle (docs/BENCH.md); lower is better. "
               "*best peer*: the lowest of %s." % "/".join(RSS_PEERS), ""]
        md += phase_table(phases, allocs)
        write_rss(a.outdir, allocs)
    md += ["", "## Commands", "", "Binaries in `out/release/bench/`; every "
           "allocator but hakmem_static runs the `_system` binary with "
           "`LD_PRELOAD`. Real programs: `tools/real_inputs.sh`.", ""]
    md += ["- `%s %s`" % (c["program"], c["args"]) for c in cells.values()
           if c["group"] != "real"]
    if phases:
        md += ["- `bench_phases %s OUT`" % a.phases]
    with open(os.path.join(a.outdir, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    write_ratios(os.path.join(a.outdir, "ratios.csv"), rep.ratios)
    write_compare(os.path.join(a.outdir, "compare.dat"), rel, rel_allocs)


if __name__ == "__main__":
    main()
