#!/usr/bin/env python3
"""summarize.py CSV OUTDIR - medians and ratios of tools/bench/run.sh results.

Writes OUTDIR/summary.md (Markdown tables) and OUTDIR/compare.dat (throughput
relative to mimalloc, one row per benchmark, for tools/bench/compare.gp).
Only runs with status "ok" count. Python 3 standard library only.
"""
import argparse
import csv
import math
import os
import platform
import statistics
import subprocess
import time

PEERS = ("mimalloc", "jemalloc", "tcmalloc")
REF = "mimalloc"


def load(path):
    """{bench: {alloc: [(ops_per_sec, rss_kb), ...]}} in file order, and args."""
    cells, args = {}, {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            bench = cells.setdefault(row["bench"], {})
            runs = bench.setdefault(row["allocator"], [])
            args[row["bench"]] = row["args"]
            if row["status"] == "ok":
                runs.append((float(row["ops_per_sec"]), float(row["peak_rss_kb"])))
    return cells, args


def median(runs, i):
    return statistics.median(r[i] for r in runs) if runs else None


def spread(runs):
    """(max - min) / median of the throughput: how noisy the cell was."""
    if len(runs) < 2:
        return 0.0
    vals = [r[0] for r in runs]
    return (max(vals) - min(vals)) / statistics.median(vals)


def rate(x):
    if x is None:
        return "FAIL"
    if x >= 1e6:
        return "%.2f M" % (x / 1e6)
    if x >= 1e3:
        return "%.1f k" % (x / 1e3)
    return "%.0f" % x


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "n/a" if r is None else "%.2f" % r


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


def throughput_table(cells, allocs, runs_wanted):
    peers = [p for p in PEERS if p in allocs]
    out = header(["benchmark"] + allocs +
                 ["hakmem / best peer", "hakmem / mimalloc", "spread"])
    for bench, per in cells.items():
        med = {a: median(per.get(a, []), 0) for a in allocs}
        best = max((p for p in peers if med[p]), key=lambda p: med[p],
                   default=None)
        vs_best = ratio(med.get("hakmem"), med[best] if best else None)
        cols = [bench]
        for a in allocs:
            n = len(per.get(a, []))
            cols.append(rate(med[a]) + ("" if n in (0, runs_wanted) else
                                        " (%d runs)" % n))
        cols.append("%s (%s)" % (fmt_ratio(vs_best), best) if best else "n/a")
        cols.append(fmt_ratio(ratio(med.get("hakmem"), med.get(REF))))
        cols.append("%.0f%%" % (100 * max(spread(per.get(a, []))
                                          for a in allocs)))
        out.append(row(cols))
    return out


def relative(cells, allocs):
    """{bench: {alloc: median / median of mimalloc}}."""
    rel = {}
    for bench, per in cells.items():
        ref = median(per.get(REF, []), 0)
        rel[bench] = {a: ratio(median(per.get(a, []), 0), ref) for a in allocs}
    return rel


def relative_table(rel, allocs):
    out = header(["benchmark"] + allocs)
    for bench, r in rel.items():
        out.append(row([bench] + [fmt_ratio(r[a]) for a in allocs]))
    out.append(row(["**geometric mean**"] +
                    [fmt_ratio(geomean([r[a] for r in rel.values()]))
                     for a in allocs]))
    return out


def rss_table(cells, allocs):
    out = header(["benchmark"] + allocs + ["hakmem / mimalloc"])
    for bench, per in cells.items():
        med = {a: median(per.get(a, []), 1) for a in allocs}
        cols = [bench] + ["FAIL" if med[a] is None else "%.1f" % (med[a] / 1024)
                          for a in allocs]
        cols.append(fmt_ratio(ratio(med.get("hakmem"), med.get(REF))))
        out.append(row(cols))
    return out


def write_dat(path, rel, allocs):
    with open(path, "w") as f:
        f.write("benchmark " + " ".join(allocs) + "\n")
        for bench, r in rel.items():
            f.write(bench + " " + " ".join(
                "NaN" if r[a] is None else "%.4f" % r[a] for a in allocs) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="?")
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--allocs", default="hakmem glibc mimalloc jemalloc tcmalloc")
    ap.add_argument("--load", default="?", help="load average, start -> end")
    ap.add_argument("csv")
    ap.add_argument("outdir")
    a = ap.parse_args()
    allocs = a.allocs.split()
    cells, args = load(a.csv)
    rel = relative(cells, allocs)

    md = ["# HAKMEM vs glibc, mimalloc, jemalloc, tcmalloc (%s)" % a.mode, "",
          "%s; %s; load average %s; median of %d runs per cell, allocators "
          "taking turns run by run." % (time.strftime("%Y-%m-%d %H:%M %Z"),
                                        machine(), a.load, a.runs), "",
          "## Throughput (median ops/s, higher is better)", ""]
    md += throughput_table(cells, allocs, a.runs)
    md += ["", "*best peer*: the fastest of %s on that benchmark; *spread*: the "
           "largest (max - min) / median of any allocator in the row." %
           "/".join(PEERS), "",
           "## Throughput relative to mimalloc (the chart)", ""]
    md += relative_table(rel, allocs)
    md += ["", "## Peak RSS (median MiB, lower is better)", ""]
    md += rss_table(cells, allocs)
    md += ["", "## Commands", "", "Binaries in `out/release/bench/`; peers run "
           "the `_system` binary with `LD_PRELOAD`.", ""]
    md += ["- `%s %s`" % (b, args[b]) for b in cells]
    with open(os.path.join(a.outdir, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    write_dat(os.path.join(a.outdir, "compare.dat"), rel, allocs)


if __name__ == "__main__":
    main()
