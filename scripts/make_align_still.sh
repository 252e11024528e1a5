#!/bin/sh
# make_align_still.sh - data/align-before-after.png for the README: the
# demo's checkpoint at step 240 aligned by scipy.spatial.procrustes's chain
# (left; the cloud shrinks to 1.60 RMS) and by rotation only (right).
# Usage: scripts/make_align_still.sh [WORK]   (WORK: an embedded demo work
# folder; default: embeds the demo into a temporary one).  Needs ./vitviz
# and Debian's python3-pil for the side-by-side montage.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=${1:-$tmp/work}
[ -f "$work/manifest.json" ] || ./vitviz embed data/demo/run --data data/demo/images -o "$work" --quiet
for a in chain rotate; do
	rm -rf "$tmp/$a" && cp -r "$work" "$tmp/$a"
	./vitviz analyze "$tmp/$a" --align $a --quiet
	./vitviz frame "$tmp/$a" --checkpoint 240 -o "$tmp/$a.png" --size 960x540 \
		--title "--align $a" --quiet
done
/usr/bin/python3 - "$tmp/chain.png" "$tmp/rotate.png" data/align-before-after.png <<'PY'
import sys
from PIL import Image
a, b = Image.open(sys.argv[1]), Image.open(sys.argv[2])
out = Image.new("RGB", (a.width + b.width + 16, max(a.height, b.height)), "white")
out.paste(a, (0, 0))
out.paste(b, (a.width + 16, 0))
out.save(sys.argv[3], optimize=True)
PY
echo "wrote data/align-before-after.png"
