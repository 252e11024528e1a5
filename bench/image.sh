#!/bin/sh
# bench/image.sh [IMAGE] [REPEATS] [ROUNDS] - vitviz's JPEG decode + ViT
# preprocessing (build/bench/image_bench) against PIL + numpy
# (bench/image_bench.py) on the same image, one thread each, ROUNDS
# interleaved rounds.  Prints a markdown section; raw lines go to stderr.
set -e
cd "$(dirname "$0")/.."
IMG=${1:-tests/fixtures/image/photo_500x375.jpg}
N=${2:-50}
ROUNDS=${3:-3}
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
make -s build/bench/image_bench >&2
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
fmin() { echo "$@" | tr ' ' '\n' | sort -g | head -1; }
cd_=""; cp_=""; pd=""; pp=""
for r in $(seq "$ROUNDS"); do
	C=$(build/bench/image_bench "$IMG" "$N")
	P=$($PY bench/image_bench.py "$IMG" "$N")
	echo "$C" >&2; echo "$P" >&2
	cd_="$cd_ $(field "$C" decode_ms)"; cp_="$cp_ $(field "$C" preprocess_ms)"
	pd="$pd $(field "$P" decode_ms)"; pp="$pp $(field "$P" preprocess_ms)"
done
w=$(field "$C" width); h=$(field "$C" height)
a=$(fmin $cd_); b=$(fmin $cp_); c=$(fmin $pd); d=$(fmin $pp)
echo "## Image decode + preprocessing (vitviz vs PIL + numpy)"
echo
echo "$(basename "$IMG") (${w}x${h}) to 224x224 bilinear, normalised; mean ms per image over $N, best of $ROUNDS rounds, 1 thread."
echo
echo "| step | vitviz ms | PIL/numpy ms | speed-up |"
echo "|---|---|---|---|"
echo "| decode | $a | $c | $(awk -v x="$c" -v y="$a" 'BEGIN { printf "%.1fx", x / y }') |"
echo "| preprocess | $b | $d | $(awk -v x="$d" -v y="$b" 'BEGIN { printf "%.1fx", x / y }') |"
echo
