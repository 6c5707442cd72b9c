#!/bin/sh
# tools/check_docs.sh [LIB]: the HAKMEM_* option docs cannot disagree.
# README.md's table and hakmem(7)'s OPTIONS must be what `make docs`
# generates from boxes/base/hak_options.h, and HAKMEM_HELP=1 of the built
# library (default out/release/libhakmem.so) must list the same options,
# defaults, ranges and help as the README table.
set -eu
cd "$(dirname "$0")/.."
lib=$(realpath "${1:-out/release/libhakmem.so}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0

# between FILE BEGIN END: the lines between the marker lines
between() {
	awk -v b="$2" -v e="$3" 'index($0, e) == 1 { on = 0 } on { print } index($0, b) == 1 { on = 1 }' "$1"
}

between README.md '<!-- options-begin' '<!-- options-end' >"$tmp/readme"
between man/hakmem.7 '.\\" options-begin' '.\\" options-end' >"$tmp/man"
for kind in md man; do
	tools/gen_docs.sh --print $kind >"$tmp/gen.$kind"
done
diff -u "$tmp/gen.md" "$tmp/readme" || { echo "check_docs: README.md's option table is stale: run make docs"; bad=1; }
diff -u "$tmp/gen.man" "$tmp/man" || { echo "check_docs: man/hakmem.7's options are stale: run make docs"; bad=1; }

# HAKMEM_HELP=1's table, in the README's row format
HAKMEM_HELP=1 LD_PRELOAD="$lib" ls / 2>"$tmp/help" >/dev/null
awk '/^  HAKMEM_/ {
	name = $1; def = $3; range = $5
	if ($6 == "=") range = range ": " $7
	if (def == "unset") range = "`" range "`"
	getline; sub(/^ +/, ""); help = $0
	gsub(/\|/, "\\|", range); gsub(/\|/, "\\|", help)
	printf "| `%s` | %s | %s | %s |\n", name, def, range, help }' "$tmp/help" >"$tmp/help.md"
[ -s "$tmp/help.md" ] || { echo "check_docs: HAKMEM_HELP=1 printed no options"; bad=1; }
tail -n +3 "$tmp/readme" | diff -u "$tmp/help.md" - ||
	{ echo "check_docs: HAKMEM_HELP=1 and README.md's table differ"; bad=1; }
[ "$bad" = 0 ] && echo "check_docs: HAKMEM_HELP=1, README.md and hakmem(7) list the same $(wc -l <"$tmp/help.md") options"
exit "$bad"
