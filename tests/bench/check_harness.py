#!/usr/bin/env python3
"""check_harness.py - the benchmark harness without timing anything
(tests/bench/run.sh runs it): the runs tools/bench/run.sh plans (BENCH_PLAN),
and summarize.py and perf_md.py on made-up results: the columns, the
learner on / off table, issue 17's target rows, and that neither
hakmem_nolearn nor hakmem_static is ever a peer. Needs out/release's
libhakmem.so; Python 3 standard library only."""
import csv
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(ROOT, "tools", "bench")
ALLOCS = ["hakmem", "hakmem_nolearn", "hakmem_static", "glibc", "mimalloc",
          "jemalloc", "tcmalloc"]
# Median ops/s and peak RSS kB of each allocator in every cell: the HAKMEM
# variants that are not hakmem are the fastest and the leanest, so a "best
# peer" that counted them would name them.
SPEED = {"hakmem": 100, "hakmem_nolearn": 100, "hakmem_static": 500,
         "glibc": 50, "mimalloc": 80, "jemalloc": 70, "tcmalloc": 90}
RSS = {"hakmem": 4000, "hakmem_nolearn": 4000, "hakmem_static": 100,
       "glibc": 3000, "mimalloc": 3500, "jemalloc": 5000, "tcmalloc": 6000}
CELLS = [("bench_random_mixed", "bench_random_mixed", "1 2 3"),
         ("bench_xmalloc:t4", "bench_xmalloc", "4 0.2 42"),
         ("sweep:16-128:t1", "bench_sweep", "1 0.2 42 16 128"),
         ("real:sort", "real:sort", "sort x")]
FIELDS = ["label", "program", "allocator", "run", "ops", "secs", "ops_per_sec",
          "peak_rss_kb", "peak_live_kb", "status", "malloc_lib", "args"]
TARGET = "on/off: throughput >= 0.98x off in every cell"


def write_results(path, runs, on=1.0, on_rss=1.0, skip=()):
    """@runs rounds of every cell; hakmem at @on times hakmem_nolearn's
    speed and @on_rss times its RSS; no hakmem_nolearn in the cells @skip."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        for label, prog, args in CELLS:
            for run in range(1, runs + 1):
                for a in ALLOCS:
                    if a == "hakmem_nolearn" and label in skip:
                        continue
                    if a == "hakmem_static" and prog.startswith("real:"):
                        continue
                    noise = 1 + 0.01 * (run % 3 - 1)	# the whole round
                    speed = SPEED[a] * noise * (on if a == "hakmem" else 1)
                    rss = RSS[a] * (on_rss if a == "hakmem" else 1)
                    w.writerow({"label": label, "program": prog, "allocator": a,
                                "run": run, "ops": "%.1f" % speed, "secs": "1.0",
                                "ops_per_sec": "%.1f" % speed,
                                "peak_rss_kb": "%d" % rss, "status": "ok",
                                "args": args})


def write_phases(out):
    """rss_phases.csv, RSS / live after two phases: hakmem_nolearn and
    hakmem_static below every peer, hakmem above glibc; rss.csv, two
    samples each."""
    ratio = {"hakmem": 2.0, "hakmem_nolearn": 1.1, "hakmem_static": 1.05,
             "glibc": 1.5, "mimalloc": 3.0, "jemalloc": 4.0, "tcmalloc": 5.0}
    with open(os.path.join(out, "rss.csv"), "w") as f:
        f.write("allocator,time_ms,phase,rss_bytes,live_bytes\n")
        for a in ALLOCS:
            f.write("%s,0,small_build,1000000,0\n%s,10,idle,%d,1000\n" % (
                a, a, 2000000 * ratio[a]))
    with open(os.path.join(out, "rss_phases.csv"), "w") as f:
        f.write("allocator,phase,after_secs,rss_bytes,live_bytes,rss_per_live,status\n")
        for a in ALLOCS:
            for phase in ("small_free", "idle"):
                live = 1 << 20
                f.write("%s,%s,1.0,%d,%d,%.3f,ok\n" % (
                    a, phase, live * ratio[a], live, ratio[a]))


class Plan(unittest.TestCase):
    def plan(self, mode, **env):
        """run.sh's plan for @mode with @env (no other BENCH_ variable):
        [(group, label, allocator, run)], in order."""
        env = dict({k: v for k, v in os.environ.items()
                    if not k.startswith("BENCH_")}, BENCH_PLAN="1", **env)
        out = subprocess.run([os.path.join(TOOLS, "run.sh"), mode], env=env,
                             check=True, capture_output=True, text=True).stdout
        runs = []
        for line in out.splitlines():
            head, alloc, run = line.rsplit("|", 2)
            group, label = head.split("|")[:2]
            runs.append((group, label, alloc, int(run)))
        self.assertTrue(runs)
        return runs

    def allocs(self, runs):
        """{label: [allocator of each run]}."""
        out = {}
        for _, label, alloc, _ in runs:
            out.setdefault(label, []).append(alloc)
        return out

    def test_full_runs_nolearn_in_every_cell(self):
        runs = self.plan("full")
        groups = {g for g, _, _, _ in runs}
        self.assertEqual(groups, {"classic", "workload", "sweep", "real", "rss"})
        for label, allocs in self.allocs(runs).items():
            want = 1 if label == "bench_phases" else 5
            self.assertEqual(allocs.count("hakmem"), want, label)
            self.assertEqual(allocs.count("hakmem_nolearn"), want, label)
            self.assertEqual(allocs.count("hakmem_static"),
                             0 if label.startswith("real:") else want, label)

    def test_quick_runs_nolearn_in_the_rss_group_only(self):
        for label, allocs in self.allocs(self.plan("quick")).items():
            self.assertEqual(allocs.count("hakmem"), 1 if label == "bench_phases" else 3)
            self.assertEqual(allocs.count("hakmem_nolearn"),
                             1 if label == "bench_phases" else 0, label)

    def test_quick_runs_nolearn_when_named(self):
        runs = self.plan("quick", BENCH_ONLY="bench_random_mixed",
                         BENCH_ALLOCS="hakmem hakmem_nolearn")
        self.assertEqual(self.allocs(runs), {
            "bench_random_mixed": ["hakmem", "hakmem_nolearn", "hakmem_nolearn",
                                   "hakmem", "hakmem", "hakmem_nolearn"]})

    def test_allocators_take_turns(self):
        runs = self.plan("full", BENCH_ONLY="larson", BENCH_RUNS="4",
                         BENCH_ALLOCS="hakmem hakmem_nolearn glibc")
        self.assertEqual([(a, r) for _, _, a, r in runs], [
            ("hakmem", 1), ("hakmem_nolearn", 1), ("glibc", 1),
            ("hakmem_nolearn", 2), ("glibc", 2), ("hakmem", 2),
            ("glibc", 3), ("hakmem", 3), ("hakmem_nolearn", 3),
            ("hakmem", 4), ("hakmem_nolearn", 4), ("glibc", 4)])


class Harness(unittest.TestCase):
    def bench(self, mode="full", runs=5, phases=False, allocs=ALLOCS, **kw):
        """summarize.py then perf_md.py on made-up results in a fresh
        directory: (summary.md, PERF.md, ratios.csv rows)."""
        tmp = self.tmp = tempfile.mkdtemp(prefix="check_harness.")
        self.addCleanup(subprocess.run, ["rm", "-rf", tmp])
        out = os.path.join(tmp, "out", "bench")
        os.makedirs(out)
        write_results(os.path.join(out, "results.csv"), runs, **kw)
        if phases:
            write_phases(out)
        with open(os.path.join(out, "icount.md"), "w") as f:
            f.write("| tier | hakmem | mimalloc |\n|---|---:|---:|\n"
                    "| tiny (x) | 40.0 | 50.0 |\n| pool (x) | 60.0 | 70.0 |\n")
        subprocess.run([sys.executable, os.path.join(TOOLS, "summarize.py"),
                        "--mode", mode, "--runs", str(runs), "--allocs",
                        " ".join(allocs), "out/bench/results.csv", "out/bench"],
                       cwd=tmp, check=True)
        perf = subprocess.run([sys.executable, os.path.join(TOOLS, "perf_md.py")],
                              cwd=tmp, check=True, capture_output=True, text=True)
        with open(os.path.join(out, "summary.md")) as f:
            summary = f.read()
        with open(os.path.join(out, "ratios.csv")) as f:
            ratios = list(csv.DictReader(f))
        return summary, perf.stdout, ratios

    def row(self, text, start):
        """The cells of the Markdown table row beginning with @start."""
        lines = [l for l in text.splitlines() if l.startswith(start)]
        self.assertEqual(len(lines), 1, "one row %r in:\n%s" % (start, text))
        return [c.strip() for c in lines[0].strip("|").split("|")]

    def section(self, text, title):
        self.assertIn(title, text)
        return text.split(title, 1)[1].split("\n## ", 1)[0]

    def learner_row(self, perf):
        return self.row(perf, "| #17 learner | " + TARGET)

    def test_learner_equal_is_met_in_full(self):
        summary, perf, _ = self.bench()
        table = self.section(summary, "## Learner on / off")
        for label, _, _ in CELLS:
            cols = self.row(table, "| %s |" % label)
            self.assertEqual(cols[3], "1.00 [1.00, 1.00]", cols)
            self.assertEqual(cols[5], "1.00 [1.00, 1.00]", cols)
        self.assertEqual(self.row(table, "| real:sort |")[1], "1.00 s")
        cols = self.learner_row(perf)
        self.assertTrue(cols[2].startswith("4 cells;"), cols)
        self.assertEqual(cols[3], "yes")

    def test_learner_quick_is_not_proven(self):
        _, perf, _ = self.bench(mode="quick", runs=3)
        self.assertEqual(self.learner_row(perf)[3], "not proven (quick run)")

    def test_learner_slower_is_not_met(self):
        summary, perf, _ = self.bench(on=0.9)
        cols = self.row(self.section(summary, "## Learner on / off"),
                        "| bench_random_mixed |")
        self.assertEqual(cols[3], "0.90 [0.90, 0.90]")
        self.assertEqual(self.learner_row(perf)[3], "**no**")

    def test_learner_barely_slower_is_met(self):
        _, perf, _ = self.bench(on=0.985)
        self.assertEqual(self.learner_row(perf)[3], "yes")

    def test_learner_more_rss_is_not_met(self):
        _, perf, _ = self.bench(on_rss=1.05)
        cols = self.learner_row(perf)
        self.assertIn("RSS worst", cols[2])
        self.assertIn("1.05", cols[2])
        self.assertEqual(cols[3], "**no**")

    def test_learner_missing_cell_is_named(self):
        _, perf, _ = self.bench(skip=("sweep:16-128:t1",))
        cols = self.learner_row(perf)
        self.assertIn("no hakmem_nolearn in 1 cells (sweep:16-128:t1)", cols[2])
        self.assertEqual(cols[3], "not proven (1 cells without hakmem_nolearn)")

    def test_learner_absent_has_no_data(self):
        labels = tuple(c[0] for c in CELLS)
        summary, perf, _ = self.bench(mode="quick", runs=3, skip=labels)
        self.assertIn("No timed cell ran hakmem_nolearn",
                      self.section(summary, "## Learner on / off"))
        # quick's timed cells have no hakmem_nolearn column
        classic = self.section(summary, "## The seven original benchmarks")
        self.assertNotIn("hakmem_nolearn", self.row(classic, "| benchmark |"))
        cols = self.learner_row(perf)
        self.assertIn("hakmem_nolearn ran in no cell", cols[2])
        self.assertEqual(cols[3], "no data")

    def test_never_a_peer(self):
        summary, _, ratios = self.bench()
        for r in ratios:
            self.assertEqual(r["best_peer"], "tcmalloc", r)
            self.assertEqual(r["leanest_peer"], "mimalloc", r)
        classic = self.section(summary, "## The seven original benchmarks")
        cols = self.row(classic, "| bench_random_mixed |")
        self.assertIn("(tcmalloc)", " ".join(cols))
        rss = self.section(summary, "## Peak RSS")
        head = self.row(rss, "| benchmark |")
        self.assertIn("hakmem_nolearn", head)
        cols = self.row(rss, "| bench_random_mixed |")
        self.assertEqual(cols[head.index("hakmem_nolearn")], "3.9")
        self.assertIn("(mimalloc)", cols[-1])

    def test_phases_compare_hakmem_with_peers(self):
        summary, perf, _ = self.bench(phases=True)
        table = self.section(summary, "## RSS over time")
        head = self.row(table, "| phase")
        cols = self.row(table, "| small_free")
        self.assertEqual(cols[head.index("hakmem_nolearn")], "1.10")
        self.assertEqual(cols[head.index("best peer")], "glibc 1.50")
        self.assertEqual(cols[head.index("hakmem / hakmem_nolearn")], "1.82")
        with open(os.path.join(self.tmp, "out", "bench", "rss.dat")) as f:
            self.assertIn("hakmem_nolearn\n0.000 0.95\n0.010 2.10\n", f.read())
        cols = self.row(perf, "| #17 learner | phases:")
        self.assertIn("small_free 1.33x glibc", cols[2])
        self.assertEqual(cols[3], "**no**")


if __name__ == "__main__":
    unittest.main()
