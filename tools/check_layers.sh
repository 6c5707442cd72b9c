#!/bin/sh
# Every box includes only base, its own files, and the public headers of
# boxes in lower layers (snmalloc's layer rule, checked mechanically).
set -eu
cd "$(dirname "$0")/.."
# box layer public-header
LAYERS="sysmem 0 sysmem.h
regionmap 1 regionmap.h
superslab 2 superslab.h
bigcache 2 bigcache.h
tiny 3 tiny.h
pool_p1_p4 3 pool.h
medium 3 medium.h
learner 4 learner.h
frontend 5 -"
layer_of() { echo "$LAYERS" | awk -v b="$1" '$1 == b { print $2 }'; }
public_of() { echo "$LAYERS" | awk -v b="$1" '$1 == b { print $3 }'; }

bad=0
for dir in boxes/*/; do
	box=$(basename "$dir")
	[ "$box" = base ] && continue
	mine=$(layer_of "$box")
	[ -n "$mine" ] || { echo "check_layers: box $box is not in the layer table"; bad=1; continue; }
	for f in "$dir"*.c "$dir"*.h; do
		[ -e "$f" ] || continue
		grep -o '#include "\.\./[^"]*"' "$f" | sed 's/#include "\.\.\/\(.*\)"/\1/' |
		while IFS=/ read -r other header; do
			[ "$other" = base ] && continue
			theirs=$(layer_of "$other")
			if [ -z "$theirs" ] || [ "$theirs" -ge "$mine" ] ||
			   [ "$header" != "$(public_of "$other")" ]; then
				echo "check_layers: $f includes ../$other/$header (layer $mine may use only public headers of lower layers)"
				echo x
			fi
		done
	done
done | { out=$(cat); [ -z "$out" ] || { echo "$out" | grep -v '^x$'; exit 1; }; }
echo "check_layers: every box includes only lower layers' public headers"
