#!/bin/sh
# Every public header compiles on its own (hermetic headers).
set -eu
cd "$(dirname "$0")/.."
cfg=${1:-out/release/config}
for h in include/hakmem.h boxes/*/*.h; do
	case $h in *_internal.h) continue ;; esac
	printf '#include "%s"\n' "$PWD/$h" |
		${CC:-cc} -std=gnu11 -Wall -Wextra -Wundef -D_GNU_SOURCE -I"$cfg" -Iinclude \
			-fsyntax-only -x c - || { echo "check_headers: $h does not compile alone"; exit 1; }
done
echo "check_headers: every header compiles alone"
