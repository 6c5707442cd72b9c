#!/bin/sh
# Print the HAKMEM build flags embedded in a binary (between HAKCFG_ST and
# HAKCFG_ED, see boxes/frontend/version.c); exit 1 if there are none.
set -eu
[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: extract_config.sh BINARY" >&2; exit 2; }
out=$(grep -a -o 'HAKCFG_ST[^"]*HAKCFG_ED' "$1" | head -n 1 | sed 's/^HAKCFG_ST//;s/HAKCFG_ED$//')
[ -n "$out" ] || exit 1
echo "$out"
