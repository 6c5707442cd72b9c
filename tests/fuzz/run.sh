#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - build the libFuzzer target fuzz_api (clang,
# HAKMEM's sources with coverage, ASan and UBSan, the debug config: HAKMEM's
# assertions on, its caches on as users run it) and run it for SECONDS
# (default 60) from the seed corpus tests/fuzz/corpus/. New inputs go to
# out/fuzz/corpus/; a failing input is saved as out/fuzz/crash-* and the
# exit status is non-zero. Reproduce one with: out/fuzz/fuzz_api FILE
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-60}
case $secs in
'' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS]" >&2; exit 2 ;;
esac
CLANG=${CLANG:-clang-14}
command -v "$CLANG" >/dev/null || {
	echo "fuzz: $CLANG not installed (./build.sh setup)" >&2
	exit 1
}
out=out/fuzz
mkdir -p "$out/obj" "$out/corpus"

# The debug profile's generated config, built by make like every profile's.
make --no-print-directory PROFILE=debug out/debug/config/hakmem_config.h >/dev/null
flags=(-std=gnu11 -O1 -g -fno-omit-frame-pointer -fvisibility=hidden -ftls-model=initial-exec
	-fno-strict-aliasing -D_GNU_SOURCE -DHAKMEM_TEST -Iout/debug/config -Iinclude
	-fsanitize=address,undefined -fno-sanitize-recover=all)
# The library's sources, as the Makefile lists them (override.c is not among them).
srcs=$(make --no-print-directory -s PROFILE=debug -f Makefile \
	-f <(printf 'print-lib-src:\n\t@echo $(lib-src)\n') print-lib-src)
objs=() pids=()
for src in $srcs; do
	objs+=("$out/obj/$(basename "${src%.c}").o")
	rm -f "${objs[-1]}"
	"$CLANG" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "${objs[-1]}" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || exit 1
done
"$CLANG" "${flags[@]}" -Wall -Wextra -fsanitize=fuzzer tests/fuzz/fuzz_api.c "${objs[@]}" \
	-o "$out/fuzz_api" -lpthread -Wl,--push-state,--no-as-needed -lgcc_s -Wl,--pop-state -lunwind

echo "fuzz: running fuzz_api for ${secs}s (seeds: tests/fuzz/corpus)"
# HAKMEM_CHECK=fast: thread caches on, as users run it (the debug config
# would check every call instead); leaks are the model's to find.
HAKMEM_CHECK=fast ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	"$out/fuzz_api" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
	-max_len=4096 -print_final_stats=1 -artifact_prefix="$out/" \
	"$out/corpus" tests/fuzz/corpus
