#!/bin/sh
# tests/bench/run.sh PROFILE - run check_bench: every benchmark of
# out/PROFILE/bench must catch a deliberately corrupted block and pass
# cleanly otherwise, and the harness's launcher must give each allocator its
# environment; then check_harness.py: tools/bench/run.sh's plan, and
# summarize.py and perf_md.py on made-up results. Exits non-zero on a failure.
set -eu
cd "$(dirname "$0")/../.."
PROFILE=${1:-release}
CHECK=out/$PROFILE/tests/check_bench
if [ ! -x "$CHECK" ]; then
	echo "tests/bench/run.sh: $CHECK missing; run ./build.sh $PROFILE" >&2
	exit 1
fi
BENCH_DIR=out/$PROFILE/bench "$CHECK"
python3 tests/bench/check_harness.py
