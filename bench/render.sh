#!/bin/sh
# Render benchmark: matplotlib FuncAnimation + FFMpegWriter vs vitviz's
# renderer on the same synthetic work folder, 1920x1080, 30 fps, 2
# checkpoints x 1 s (60 frames), H.264 crf 20 preset medium on both sides;
# then vitviz at 100,000 points.  Prints a markdown table.
#
#   bench/render.sh            (from the repository root)
#   MPL_100K=1 bench/render.sh also runs matplotlib at 100,000 points (slow)
#
# The vitviz side is bench/render_driver.c, a tiny program around
# render_run() (built by `make bench-bins`), so the time excludes process
# start-up and is measured inside the same call `vitviz render` makes.
set -e
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
OUT=${BENCH_OUT:-/tmp/vitviz-render-bench}
mkdir -p "$OUT"

make -s build/bench/render_driver >&2

[ -f "$OUT/w10k/coords.npy" ] || $PY bench/make_render_work.py "$OUT/w10k" --n 10000 --T 2 >/dev/null
[ -f "$OUT/w100k/coords.npy" ] || $PY bench/make_render_work.py "$OUT/w100k" --n 100000 --T 2 >/dev/null

# frames/s from "render_driver: S s" (time inside render_run)
vv() {
	s=$(build/bench/render_driver "$1" "$2" --size 1920x1080 --fps 30 --spc 1 --hold 0 2>&1 |
		sed -n 's/^render_driver: \([0-9.]*\) s$/\1/p')
	n=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
		-of default=nw=1:nk=1 "$2")
	echo "$n $s"
}
mpl() {
	r=$($PY bench/render_bench.py "$1" "$2" --size 1920x1080 --fps 30 --spc 1 --hold 0 2>/dev/null | tail -1)
	echo "$r" | awk '{print $2, $4}'
}

set -- $(mpl "$OUT/w10k" "$OUT/mpl10k.mp4"); mpl_n=$1; mpl_s=$2
set -- $(vv "$OUT/w10k" "$OUT/vv10k.mp4"); vv_n=$1; vv_s=$2
set -- $(vv "$OUT/w100k" "$OUT/vv100k.mp4"); vv1_n=$1; vv1_s=$2
if [ -n "$MPL_100K" ]; then
	set -- $(mpl "$OUT/w100k" "$OUT/mpl100k.mp4"); mpl1_n=$1; mpl1_s=$2
fi

fps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }
echo
echo "## Rendering (vitviz vs matplotlib)"
echo
echo "| renderer | points | frames | seconds | frames/s | vs matplotlib |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| matplotlib $($PY -c 'import matplotlib; print(matplotlib.__version__)') FuncAnimation + FFMpegWriter | 10,000 | $mpl_n | $mpl_s | $(fps $mpl_n $mpl_s) | 1.0x |"
echo "| vitviz render | 10,000 | $vv_n | $vv_s | $(fps $vv_n $vv_s) | $(awk -v a="$mpl_s" -v b="$vv_s" -v n="$mpl_n" -v m="$vv_n" 'BEGIN { printf "%.1fx", (m / b) / (n / a) }') |"
if [ -n "$MPL_100K" ]; then
	echo "| matplotlib FuncAnimation + FFMpegWriter | 100,000 | $mpl1_n | $mpl1_s | $(fps $mpl1_n $mpl1_s) | 1.0x |"
fi
echo "| vitviz render | 100,000 | $vv1_n | $vv1_s | $(fps $vv1_n $vv1_s) | |"
echo
echo "1920x1080, 30 fps, 2 checkpoints x 1 s, libx264 crf 20 preset medium, yuv420p; $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1))."
echo "Seconds: matplotlib's anim.save(); vitviz's render_run() (load, draw, encode, mux)."
