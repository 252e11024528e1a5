#!/bin/sh
# HTML viewer benchmark (issue 14): size of the page written by `vitviz html`
# and the time to write it, against the size budgets and against rendering
# the video of the same work folder; then first draw and scrubbing speed of
# each page in headless Chromium (bench/html_bench.mjs).  Prints markdown.
#
#   bench/html.sh            (from the repository root; needs node + chromium)
#
# Work folders: the bundled demo (real images, 360 x 30) and synthetic ones
# by bench/make_html_work.mjs (10,000 x 50 and 50,000 x 20, 32x32 images in
# CIFAR-10 batches).  Budgets: demo <= 2 MB, 10k x 50 <= 25 MB, 50k x 20 <= 50 MB;
# first draw <= 2 s and scrubbing >= 30 frames/s at 50,000 points.
set -e
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-/tmp/vitviz-html-bench}
mkdir -p "$OUT"
V=./vitviz

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mb() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", s / 1e6 }'; }

if [ ! -f "$OUT/demo-work/scores.npy" ]; then
	$V -q embed data/demo/run --data data/demo/images -o "$OUT/demo-work" >&2
	$V -q analyze "$OUT/demo-work" >&2
fi
[ -f "$OUT/w10k/coords.npy" ] || node bench/make_html_work.mjs "$OUT/w10k" --n 10000 --T 50 >&2
[ -f "$OUT/w50k/coords.npy" ] || node bench/make_html_work.mjs "$OUT/w50k" --n 50000 --T 20 >&2

t0=$(now); $V -q html "$OUT/demo-work" -o "$OUT/demo.html"; t1=$(now); demo_s=$(secs "$t0" "$t1")
t0=$(now); $V -q html "$OUT/w10k" -o "$OUT/w10k.html"; t1=$(now); w10_s=$(secs "$t0" "$t1")
t0=$(now); $V -q html "$OUT/w50k" -o "$OUT/w50k.html" 2>"$OUT/w50k.err"; t1=$(now); w50_s=$(secs "$t0" "$t1")
t0=$(now); $V -q render "$OUT/w10k" -o "$OUT/w10k.mp4"; t1=$(now); vid_s=$(secs "$t0" "$t1")

node bench/html_bench.mjs "$OUT/demo.html" "$OUT/w10k.html" "$OUT/w50k.html" > "$OUT/browser.jsonl"
row() {
	node -e '
		const [f, label, budget, secs] = process.argv.slice(1);
		const r = require("fs").readFileSync(process.env.J, "utf8").trim().split("\n").map(JSON.parse).find((x) => x.file.endsWith(f));
		const mb = require("fs").statSync(process.env.D + "/" + f).size / 1e6;
		console.log(`| ${label} | ${r.n.toLocaleString("en")} x ${r.T} | ${mb.toFixed(1)} | ${budget} | ${secs} | ${(r.firstDrawMs / 1000).toFixed(2)} | ${r.fps.toFixed(1)} | ${r.drawMs.toFixed(1)} |`);
	' "$@"
}
export J="$OUT/browser.jsonl" D="$OUT"
echo "## Interactive page (vitviz html, headless Chromium)"
echo
echo "| work folder | shown points x checkpoints | MB | budget MB | write s | first draw s | scrub frames/s | ms per redraw |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
row demo.html "bundled demo (real images)" 2 "$demo_s"
row w10k.html "synthetic 10,000 x 50" 25 "$w10_s"
row w50k.html "synthetic 50,000 x 20" 50 "$w50_s"
echo
echo "Writing the 10,000 x 50 page: $w10_s s; rendering its video (\`vitviz render\`, 1920x1080, 30 fps, 1 s per checkpoint): $vid_s s"
echo "($(awk -v a="$vid_s" -v b="$w10_s" 'BEGIN { printf "%.0fx", a / b }') faster)."
if grep -q subsample "$OUT/w50k.err"; then echo "50,000 x 20: $(sed 's/^vitviz: warning: //' "$OUT/w50k.err" | head -1)"; fi
echo "$(chromium --version 2>/dev/null | head -1), headless, 1280x800, device scale 1, software rendering (--disable-gpu);"
echo "first draw: navigation start to the first drawn scatter frame (data parsed, decoded, drawn); scrubbing: the"
echo "checkpoint changes every 100 ms for 3 s, every frame tweens and redraws all points (2-D canvas, dots blended"
echo "into an ImageData buffer). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
