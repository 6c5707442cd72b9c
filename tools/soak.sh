#!/usr/bin/env bash
# tools/soak.sh MINUTES - the soak (issue 16; not in CI): for MINUTES, loop
# the stress tests (check_threads static and preloaded: threads freeing each
# other's blocks, fork, 1000 short threads; bench_xthread: every free on
# another thread; check_oom: exhaustion and recovery), the fuzzer (60 s a
# round) and the real programs (tools/real_programs.sh), while one larson
# process (4 threads handing 8 B - 100 KiB blocks to their successors)
# runs the whole time: its RSS is sampled every 10 s for the drift.
#
# Prints one line per run that failed, then a summary; logs go to
# out/soak/. Exits non-zero on any failure, on larson dying, or on an RSS
# drift above 10 % (the mean over the last third of the soak against the
# mean over the middle third; the first third is warm-up).
set -uo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-}
case $minutes in
'' | *[!0-9]*) echo "usage: tools/soak.sh MINUTES" >&2; exit 2 ;;
esac
JOBS=${JOBS:-2}
make --no-print-directory -j"$JOBS" PROFILE=release all | grep -v '^  [A-Z][A-Z]* ' || true
rel=out/release
lib=$PWD/$rel/libhakmem.so
logs=out/soak
rm -rf "$logs"
mkdir -p "$logs"

end=$((SECONDS + minutes * 60))
"$rel/bench/larson_hakmem" 4 2000 20000 1048576 1 8 100000 >"$logs/larson.log" 2>&1 &
larson=$!
(
	while kill -0 "$larson" 2>/dev/null; do
		rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$larson/status" 2>/dev/null)
		[ -n "$rss" ] && echo "$SECONDS $rss"
		sleep 10
	done
) >"$logs/rss.log" &
sampler=$!

runs=0 failures=0 round=0
# run NAME CMD...: one run with a 10-minute limit, its output to the log
run() {
	local name=$1 rc
	shift
	timeout -k 10 600 "$@" >"$logs/$name.$round.log" 2>&1
	rc=$?
	runs=$((runs + 1))
	if [ $rc -ne 0 ]; then
		failures=$((failures + 1))
		echo "soak: round $round: $name FAILED (exit $rc, log $logs/$name.$round.log)"
	else
		rm -f "$logs/$name.$round.log"
	fi
}

while [ $SECONDS -lt $end ]; do
	round=$((round + 1))
	echo "soak: round $round at ${SECONDS}s"
	run check_threads_static "$rel/tests/check_threads_static"
	run check_threads_preload env LD_PRELOAD="$lib" "$rel/tests/check_threads_preload"
	run bench_xthread "$rel/bench/bench_xthread_hakmem" 2 200000 16 70000 "$round"
	run check_oom_static "$rel/tests/check_oom_static"
	[ $SECONDS -lt $end ] || break
	run fuzz tests/fuzz/run.sh 60
	[ $SECONDS -lt $end ] || break
	run real_programs tools/real_programs.sh "$lib"
done

alive=yes
kill -0 "$larson" 2>/dev/null || alive=no
kill "$larson" 2>/dev/null
wait "$larson" 2>/dev/null
larson_rc=$?
wait "$sampler" 2>/dev/null
# the mean RSS over the middle third of the soak and over the last third
# (the first third is warm-up: larson's live set takes minutes to settle)
read -r first last max < <(awk 'NR == FNR { t = $1; next }
	$1 >= t / 3 && $1 < 2 * t / 3 { a += $2; na++ } $1 >= 2 * t / 3 { b += $2; nb++ }
	$2 > m { m = $2 }
	END { printf "%d %d %d\n", na ? a / na : 0, nb ? b / nb : 0, m }' "$logs/rss.log" "$logs/rss.log")
drift=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%+.1f", a ? (b - a) * 100 / a : 0 }')

echo "soak: ${minutes} min, $round rounds, $runs runs, $failures failed"
echo "soak: larson ran throughout: $alive (killed at the end: exit $larson_rc expected 143)"
echo "soak: larson RSS: mean $((first / 1024)) MiB over the middle third, $((last / 1024)) MiB over the last third ($drift %), highest $((max / 1024)) MiB"
[ "$failures" -eq 0 ] && [ "$alive" = yes ] &&
	awk -v d="$drift" 'BEGIN { exit !(d <= 10) }'
