#!/usr/bin/env bash
# Build every profile and run every test; the last line counts the steps:
# "tests: N passed, N failed". Exit status is non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
passed=0 failed=0 failures=()
LOG=out/test-logs
mkdir -p "$LOG"

step() {
	local name=$1
	shift
	echo "=== $name: $*"
	if "$@" 2>&1 | tee "$LOG/${name//[^a-zA-Z0-9_.-]/_}.log"; then
		passed=$((passed + 1))
		echo "=== $name: PASS"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== $name: FAIL (log: $LOG/${name//[^a-zA-Z0-9_.-]/_}.log)"
	fi
}

quiet_build() {
	make --no-print-directory -j"$JOBS" PROFILE="$1" all | grep -v '^  [A-Z][A-Z]* '
	return "${PIPESTATUS[0]}"
}

tools/install_deps.sh || exit 1
for p in release debug asan tsan; do
	step "build-$p" quiet_build "$p"
done
step layers tools/check_layers.sh
step headers tools/check_headers.sh
step verify ./build.sh verify out/release/libhakmem.so
for p in release debug asan tsan; do
	step "unit-$p" out/$p/tests/unit_tests
done
step unit-valgrind valgrind -q --error-exitcode=3 out/release/tests/unit_tests
step unit-p0-off env HAKMEM_TINY_P0_ENABLE=0 out/release/tests/unit_tests
for p in release debug; do
	step "integration-$p" tests/integration/run.sh "$p"
done
step integration-p0-off env HAKMEM_TINY_P0_ENABLE=0 tests/integration/run.sh release
step bench-verify tests/bench/run.sh release
step real-programs tools/real_programs.sh "$PWD/out/release/libhakmem.so"
step docs tools/check_docs.sh
for t in install deb launcher; do
	step "$t" tests/install/run.sh "$t"
done
step fuzz tests/fuzz/run.sh 60

echo
[ ${#failures[@]} -eq 0 ] || echo "failed steps: ${failures[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
