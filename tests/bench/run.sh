#!/bin/sh
# tests/bench/run.sh PROFILE - run check_bench: every benchmark of
# out/PROFILE/bench must catch a deliberately corrupted block and pass
# cleanly otherwise. Prints Check's summary; exits non-zero on failure.
set -eu
cd "$(dirname "$0")/../.."
PROFILE=${1:-release}
CHECK=out/$PROFILE/tests/check_bench
if [ ! -x "$CHECK" ]; then
	echo "tests/bench/run.sh: $CHECK missing; run ./build.sh $PROFILE" >&2
	exit 1
fi
BENCH_DIR=out/$PROFILE/bench exec "$CHECK"
