#!/usr/bin/env bash
# tools/bench/run.sh quick|full - compare HAKMEM with glibc, mimalloc,
# jemalloc and tcmalloc (./build.sh bench runs it after building release;
# docs/BENCH.md describes the benchmarks and the statistics).
#
# Four groups, each cell run RUNS times with the allocators taking turns run
# by run (the first allocator rotates each round):
#   classic   the seven original benchmarks, fixed work per run;
#   workload  programs modelled on the classic allocator benchmarks, and
#   sweep     the random-ring workload over size bands x thread counts, both
#             timed for a fixed duration per run;
#   real      real programs (tools/real_inputs.sh), wall time and peak RSS;
# and rss: bench_phases once per allocator, RSS sampled every 10 ms.
# hakmem_nolearn (HAKMEM_LEARN=0, issue 17's A/B) runs in the rss group and,
# in full mode, in every cell; quick leaves it out of the timed cells unless
# BENCH_ALLOCS names it.
# Writes out/bench/results.csv (one row per run), rss.csv (the samples),
# rss_phases.csv (RSS / live bytes after each phase), summary.md (medians,
# ratios with 95% intervals), compare.png, sweep.png, rss.png, then prints
# the summary. Progress goes to stderr.
#
# Environment: BENCH_RUNS overrides the run count; BENCH_ONLY="word ..."
# keeps the cells whose label, program or group is one of the words (a
# label is e.g. bench_random_mixed, sweep:52k-128k:t8, real:python3; rss
# or bench_phases keeps the rss group);
# BENCH_ALLOCS="hakmem mimalloc ..." picks the allocators (allocators.sh);
# BENCH_PLAN=1 prints the runs it would make, one a line
# (group|label|program|args|allocator|run), and exits without running any.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=${1:-quick}
BIN=out/release/bench
OUTDIR=out/bench
CSV=$OUTDIR/results.csv
# shellcheck source=tools/bench/allocators.sh
. tools/bench/allocators.sh
# shellcheck source=tools/real_inputs.sh
. tools/real_inputs.sh

BANDS="16:128 16:1k 1k:8k 8k:32k 32k:52k 52k:128k 128k:512k 512k:4m"
# name|threads quick|threads full|SECS if not the mode's: bench_malloc_large
# does a few hundred ops/s under glibc, bench_mleak's leak needs time to grow.
WORKLOADS=(
	"bench_cache_scratch|2|2 8|"
	"bench_cache_thrash|2|2 8|"
	"bench_glibc_thread|2|1 2 8|"
	"bench_xmalloc|4|4 16|"
	"bench_mstress|8|16|"
	"bench_rptest|4|2 8|"
	"bench_malloc_large|2|2 8|1"
	"bench_mleak|2|2 8|2"
	"bench_batch|2|1 2 8|"
	"bench_churn|2|1 4 16|"
)

# FLOOR: the least seconds of work any run should do (summary.md flags a
# cell with a shorter run); SECS: duration of the timed programs' runs.
# Classic work sizes are chosen so the fastest allocator measured stays above
# the floor. REAL_PCT: size of the real programs' inputs (100 = the check's).
# PHASES: bench_phases HEAP SEED HOLD IDLE for the rss group.
case $MODE in
quick)
	RUNS=${BENCH_RUNS:-3}
	TIMEOUT=60
	FLOOR=0.2
	SECS=0.22
	THREADS_SWEEP="1 8"
	REAL_PCT=20
	PHASES="32m 42 0.3 1"
	CLASSIC=(
		"bench_random_mixed|20000000 4096 42"
		"bench_pool_tls|14000000 512 42"
		"bench_mid_large_mt|2 12000000 256 42"
		"larson|2 20000 100000 15 42"
		"bench_xthread|1 5000000 16 1024 42"
		"bench_realloc|5 8 32m 42"
		"bench_large|2 4000 8 128m 42"
	)
	;;
full)
	RUNS=${BENCH_RUNS:-5}
	TIMEOUT=300
	FLOOR=0.5
	SECS=0.6
	THREADS_SWEEP="1 2 4 8 16"
	REAL_PCT=100
	PHASES="256m 42 1 5"
	CLASSIC=(
		"bench_random_mixed|50000000 8192 42"
		"bench_pool_tls|36000000 1024 42"
		"bench_mid_large_mt|2 30000000 512 42"
		"larson|2 20000 100000 40 42"
		"bench_xthread|1 10000000 16 1024 42"
		"bench_realloc|3 4 256m 42"
		"bench_large|2 10000 8 128m 42"
	)
	;;
*)
	echo "usage: $0 quick|full" >&2
	exit 2
	;;
esac

# CELLS: "group|label|program|args"; a real program's program is real:NAME.
CELLS=()
for c in "${CLASSIC[@]}"; do
	CELLS+=("classic|${c%%|*}|${c%%|*}|${c#*|}")
done
for w in "${WORKLOADS[@]}"; do
	IFS='|' read -r prog tq tf secs <<<"$w"
	threads=$tq
	[ "$MODE" = full ] && threads=$tf
	# Longer runs of their own in full only: quick keeps to its budget.
	[ "$MODE" = full ] && [ -n "$secs" ] || secs=$SECS
	for t in $threads; do
		CELLS+=("workload|$prog:t$t|$prog|$t $secs 42")
	done
done
for band in $BANDS; do
	for t in $THREADS_SWEEP; do
		CELLS+=("sweep|sweep:${band/:/-}:t$t|bench_sweep|$t $SECS 42 ${band%:*} ${band#*:}")
	done
done
for p in "${REAL_PROGRAMS[@]}"; do
	CELLS+=("real|real:${p%%|*}|real:${p%%|*}|${p#*|}")
done

RSS_GROUP=1
if [ -n "${BENCH_ONLY:-}" ]; then
	RSS_GROUP=0
	for want in $BENCH_ONLY; do
		case $want in rss | bench_phases) RSS_GROUP=1 ;; esac
	done
	kept=()
	for c in "${CELLS[@]}"; do
		IFS='|' read -r group label prog _ <<<"$c"
		for want in $BENCH_ONLY; do
			if [ "$want" = "$group" ] || [ "$want" = "$label" ] || [ "$want" = "$prog" ]; then
				kept+=("$c")
				break
			fi
		done
	done
	CELLS=("${kept[@]}")
fi

# shellcheck disable=SC2086 # a list of names on purpose
pick_allocs run.sh ${BENCH_ALLOCS:-$DEFAULT_ALLOCS}

# The allocators a cell runs: real programs cannot link libhakmem.a; quick
# keeps its timed cells short without hakmem_nolearn unless asked for it.
cell_allocs() {
	local a
	CELL_ALLOCS=()
	for a in "${ALLOCS[@]}"; do
		[[ $1 == real:* && $a == hakmem_static ]] && continue
		[[ $MODE == quick && -z ${BENCH_ALLOCS:-} && $a == hakmem_nolearn ]] && continue
		CELL_ALLOCS+=("$a")
	done
}

# PLAN: every process in the order they run, "CELL|ALLOC|RUN" (CELL as in
# CELLS); round by round, the first allocator rotating; the rss group last.
PLAN=()
for c in "${CELLS[@]}"; do
	IFS='|' read -r _ _ prog _ <<<"$c"
	cell_allocs "$prog"
	na=${#CELL_ALLOCS[@]}
	for run in $(seq 1 "$RUNS"); do
		for k in $(seq 0 $((na - 1))); do
			PLAN+=("$c|${CELL_ALLOCS[$(((k + run - 1) % na))]}|$run")
		done
	done
done
if [ "$RSS_GROUP" = 1 ]; then
	for a in "${ALLOCS[@]}"; do
		PLAN+=("rss|bench_phases|bench_phases||$a|1")
	done
fi
if [ -n "${BENCH_PLAN:-}" ]; then
	printf '%s\n' "${PLAN[@]}"
	exit 0
fi

PROGS=()
[ "$RSS_GROUP" = 1 ] && PROGS=(bench_phases)
for c in "${CELLS[@]}"; do
	IFS='|' read -r _ _ prog _ <<<"$c"
	[[ $prog == real:* ]] || PROGS+=("$prog")
done
for prog in "${PROGS[@]}"; do
	for v in hakmem system; do
		[ -x "$BIN/${prog}_$v" ] || {
			echo "run.sh: $BIN/${prog}_$v missing; run ./build.sh release" >&2
			exit 1
		}
	done
done

mkdir -p "$OUTDIR"
# Never two timed runs at once, even from two shells: wait for the lock.
exec 9>"$OUTDIR/.lock"
if ! flock -n 9; then
	echo "run.sh: another benchmark run holds $OUTDIR/.lock; waiting" >&2
	flock 9
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
REAL_DIR=$TMP/real
mkdir -p "$REAL_DIR"
(cd "$REAL_DIR" && real_inputs "$REAL_PCT")
declare -A REAL_SUM=()

field() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

# run_real NAME CMD ALLOC: time CMD under ALLOC in REAL_DIR; sets ops, secs,
# rss, lib and status. Its output must match glibc's, byte for byte.
run_real() {
	local name=$1 cmd=$2 alloc=$3 sum rc=0 t

	(cd "$REAL_DIR" && with_alloc "$alloc" HAKMEM_VERBOSE=1 \
		/usr/bin/time -f '%e %M' -o "$TMP/time" \
		timeout "$TIMEOUT" sh -c "$cmd" >"$TMP/out" 2>"$TMP/err" 9>&-) || rc=$?
	[ "$rc" -eq 0 ] || status=fail
	[ "$rc" -eq 124 ] && status=timeout
	[ "$status" = ok ] || return 0
	read -r t rss <"$TMP/time"
	# 10 ms resolution: never report less than that.
	secs=$(awk -v t="$t" 'BEGIN { print (t < 0.01 ? 0.01 : t) }')
	ops=1
	lib=${PRELOAD[$alloc]:-libc.so}
	lib=${lib##*/}
	if [ "${EXPECT_LIB[$alloc]}" = libhakmem.so ] && ! grep -q '^hakmem: box ' "$TMP/err"; then
		status=wrong_lib
	fi
	sum=$(md5sum <"$TMP/out")
	REAL_SUM[$name]=${REAL_SUM[$name]:-$sum}
	[ "${REAL_SUM[$name]}" = "$sum" ] || status=wrong_output
}

# run_bench PROG ARGS ALLOC: one benchmark process; sets the same fields.
run_bench() {
	local prog=$1 args=$2 alloc=$3 exe line rc=0

	exe=$(bench_exe "$BIN" "$prog" "$alloc")
	# shellcheck disable=SC2086 # ARGS are words on purpose
	with_alloc "$alloc" timeout "$TIMEOUT" "$exe" $args >"$TMP/out" 2>"$TMP/err" 9>&- ||
		rc=$?
	[ "$rc" -eq 0 ] || status=fail
	[ "$rc" -eq 124 ] && status=timeout
	[ "$status" = ok ] || return 0
	line=$(grep -m1 '^RESULT ' "$TMP/out" || true)
	if [ -z "$line" ]; then
		status=no_result
		return 0
	fi
	ops=$(field ops "$line")
	secs=$(field secs "$line")
	rss=$(field peak_rss_kb "$line")
	live=$(field peak_live_kb "$line")
	lib=$(field malloc_lib "$line")
	case $lib in
	*"${EXPECT_LIB[$alloc]}"*) ;;
	*) status=wrong_lib ;;
	esac
}

# run_one LABEL PROG ARGS ALLOC RUN: one timed process, one CSV row.
run_one() {
	local label=$1 prog=$2 args=$3 alloc=$4 run=$5 ops_s=""
	local status=ok ops="" secs="" rss="" live="" lib=""

	if [[ $prog == real:* ]]; then
		run_real "${prog#real:}" "$args" "$alloc"
	else
		run_bench "$prog" "$args" "$alloc"
	fi
	if [ "$status" = ok ]; then
		# awk, not python3: its start-up would cost more than a quick run
		ops_s=$(awk -v o="$ops" -v s="$secs" 'BEGIN { printf "%.1f", o / s }')
	else
		echo "run.sh: $label $alloc run $run: $status (malloc_lib=$lib)" >&2
		tail -n 5 "$TMP/err" >&2 || true
		failures=$((failures + 1))
	fi
	echo "$label,$prog,$alloc,$run,$ops,$secs,$ops_s,$rss,$live,$status,$lib,\"$args\"" >>"$CSV"
}

# run_phases ALLOC: bench_phases once (the rss group); its samples go to
# rss.csv, its PHASE lines to rss_phases.csv, a failure to both.
run_phases() {
	local alloc=$1 status=ok ops="" secs="" rss="" live="" lib=""

	run_bench bench_phases "$PHASES $TMP/samples" "$alloc"
	if [ "$status" != ok ]; then
		echo "run.sh: bench_phases $alloc: $status (malloc_lib=$lib)" >&2
		tail -n 5 "$TMP/err" >&2 || true
		failures=$((failures + 1))
		echo "$alloc,,,,,,$status" >>"$RSS_PHASES"
		return 0
	fi
	tail -n +2 "$TMP/samples" | sed "s/^/$alloc,/" >>"$RSS_CSV"
	grep '^PHASE ' "$TMP/out" | while read -r line; do
		echo "$alloc,$(field name "$line"),$(field after_secs "$line"),$(field rss_bytes "$line"),$(field live_bytes "$line"),$(field rss_per_live "$line"),ok"
	done >>"$RSS_PHASES"
}

echo "label,program,allocator,run,ops,secs,ops_per_sec,peak_rss_kb,peak_live_kb,status,malloc_lib,args" >"$CSV"
RSS_CSV=$OUTDIR/rss.csv
RSS_PHASES=$OUTDIR/rss_phases.csv
# A run without the rss group, or with no peer in the sweep, leaves no stale chart.
rm -f "$RSS_CSV" "$RSS_PHASES" "$OUTDIR"/{rss,sweep}.{dat,png}
if [ "$RSS_GROUP" = 1 ]; then
	echo "allocator,time_ms,phase,rss_bytes,live_bytes" >"$RSS_CSV"
	echo "allocator,phase,after_secs,rss_bytes,live_bytes,rss_per_live,status" >"$RSS_PHASES"
fi
total=${#PLAN[@]}
n=0
failures=0
start=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
for p in "${PLAN[@]}"; do
	# from the end: a real program's command may hold a '|'
	run=${p##*|}
	p=${p%|*}
	alloc=${p##*|}
	IFS='|' read -r group label prog args <<<"${p%|*}"
	elapsed=$(($(date +%s) - start))
	left="?"
	[ "$n" -gt 0 ] && left=$((elapsed * (total - n) / n))
	n=$((n + 1))
	if [ "$group" = rss ]; then
		echo "[$n/$total, ${elapsed}s, ~${left}s left] rss bench_phases $alloc" >&2
		run_phases "$alloc"
	else
		echo "[$n/$total, ${elapsed}s, ~${left}s left] $group $label $alloc run $run/$RUNS" >&2
		run_one "$label" "$prog" "$args" "$alloc" "$run"
	fi
done
echo "run.sh: $total runs in $(($(date +%s) - start)) s" >&2

load_end=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')

python3 tools/bench/summarize.py --mode "$MODE" --runs "$RUNS" --floor "$FLOOR" \
	--allocs "${ALLOCS[*]}" --load "$load_start -> $load_end" \
	--real-pct "$REAL_PCT" --phases "$PHASES" "$CSV" "$OUTDIR"
if command -v gnuplot >/dev/null; then
	for chart in compare sweep rss; do
		# compare.dat has a header even when no cell of its groups ran
		if [ ! -s "$OUTDIR/$chart.dat" ] || [ "$(wc -l <"$OUTDIR/$chart.dat")" -lt 2 ]; then
			continue
		fi
		gnuplot -e "datafile='$OUTDIR/$chart.dat'; outfile='$OUTDIR/$chart.png'" \
			"tools/bench/$chart.gp" || echo "run.sh: gnuplot $chart failed" >&2
	done
else
	echo "run.sh: gnuplot not installed, no charts" >&2
fi
echo >&2
cat "$OUTDIR/summary.md"
echo
echo "results: $CSV  $OUTDIR/summary.md  $OUTDIR/compare.png  $OUTDIR/sweep.png  $OUTDIR/rss.png"
if [ "$failures" -gt 0 ]; then
	echo "run.sh: $failures of $total runs failed (status column of $CSV)" >&2
	exit 1
fi
