#!/usr/bin/env bash
# tests/integration/run.sh PROFILE - run every integration test of PROFILE:
# each out/PROFILE/tests/check_*_static as built, and each check_*_preload
# under LD_PRELOAD=out/PROFILE/libhakmem.so. Check prints its summary per
# binary; the last line is "integration: N passed, N failed" (N counts
# Check tests; a binary that dies without a summary counts as one failure).
#
# Environment: JOBS (binaries run at once, default 2), ITEST_TIMEOUT
# (seconds per binary, default 300), CK_* variables reach Check.
set -uo pipefail
cd "$(dirname "$0")/../.."

profile=${1:-}
if [ -z "$profile" ]; then
	echo "usage: tests/integration/run.sh PROFILE" >&2
	exit 2
fi
case $profile in
release | debug) ;;
*)
	# asan/tsan: the sanitizer owns malloc, there is nothing to preload
	echo "integration: not built for $profile (release and debug only)"
	echo "integration: 0 passed, 0 failed"
	exit 0
	;;
esac

dir=out/$profile/tests
lib=$(realpath -e "out/$profile/libhakmem.so" 2>/dev/null) || {
	echo "integration: out/$profile/libhakmem.so missing; run ./build.sh $profile" >&2
	echo "integration: 0 passed, 1 failed"
	exit 1
}
jobs=${JOBS:-2}
limit=${ITEST_TIMEOUT:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

names=$(cd "$dir" 2>/dev/null && ls check_*_static 2>/dev/null | sed 's/_static$//')
if [ -z "$names" ]; then
	echo "integration: no test binaries in $dir; run make PROFILE=$profile tests" >&2
	echo "integration: 0 passed, 1 failed"
	exit 1
fi

runs=()
for n in $names; do
	runs+=("${n}_static" "${n}_preload")
done

# run_one BIN: output to $tmp/BIN.log, exit status to $tmp/BIN.rc
run_one() {
	local bin=$1 rc
	local -a pre=()

	[ "${bin%_preload}" != "$bin" ] && pre=(env "LD_PRELOAD=$lib")
	if [ ! -x "$dir/$bin" ]; then
		echo "$dir/$bin: not built" >"$tmp/$bin.log"
		echo 127 >"$tmp/$bin.rc"
		return
	fi
	SECONDS=0
	timeout -k 10 "$limit" "${pre[@]}" "$dir/$bin" >"$tmp/$bin.log" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "$bin: timed out after ${limit}s" >>"$tmp/$bin.log"
	echo "($bin: ${SECONDS}s, exit $rc)" >>"$tmp/$bin.log"
	echo $rc >"$tmp/$bin.rc"
}

running=0
for bin in "${runs[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$bin" &
	running=$((running + 1))
done
wait

passed=0
failed=0
for bin in "${runs[@]}"; do
	log=$tmp/$bin.log
	rc=$(cat "$tmp/$bin.rc" 2>/dev/null || echo 1)
	if [ "${bin%_preload}" != "$bin" ]; then
		echo "== $bin (LD_PRELOAD=$lib)"
	else
		echo "== $bin"
	fi
	cat "$log"
	# "100%: Checks: 20, Failures: 0, Errors: 0"
	summary=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -1)
	if [ -n "$summary" ]; then
		read -r checks fails errs < <(echo "$summary" |
			sed -E 's/.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/')
		passed=$((passed + checks - fails - errs))
		failed=$((failed + fails + errs))
		# a non-zero exit with all checks passed is still a failure
		if [ "$rc" -ne 0 ] && [ $((fails + errs)) -eq 0 ]; then
			failed=$((failed + 1))
		fi
	else
		failed=$((failed + 1))
	fi
done

echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
