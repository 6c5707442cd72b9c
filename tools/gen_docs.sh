#!/bin/sh
# tools/gen_docs.sh [--print md|man]: write the HAKMEM_* option docs,
# generated from boxes/base/hak_options.h by tools/gen_options.c, between the
# markers in README.md and man/hakmem.7 (make docs). --print writes one
# generated section to stdout instead (tools/check_docs.sh diffs it).
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory PROFILE=release out/release/config/hakmem_config.h >/dev/null
gen=$(mktemp)
trap 'rm -f "$gen" "$gen.new" "$gen.rows"' EXIT
${CC:-cc} -std=gnu11 -Wall -Wextra -Iout/release/config -o "$gen" tools/gen_options.c

if [ "${1:-}" = --print ]; then
	"$gen" "$2"
	exit
fi

# splice FILE BEGIN END KIND: replace the lines between the lines starting BEGIN and END
splice() {
	"$gen" "$4" > "$gen.rows"
	awk -v b="$2" -v e="$3" -v rows="$gen.rows" '
		index($0, e) == 1 { skip = 0 }
		!skip { print }
		index($0, b) == 1 { while ((getline l < rows) > 0) print l; skip = 1 }' "$1" > "$gen.new"
	rm -f "$gen.rows"
	if ! cmp -s "$gen.new" "$1"; then
		cat "$gen.new" > "$1"
		echo "  GEN     $1"
	fi
}
splice README.md '<!-- options-begin' '<!-- options-end' md
splice man/hakmem.7 '.\\" options-begin' '.\\" options-end' man
