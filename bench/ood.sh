#!/bin/sh
# bench/ood.sh [N] [D] [THREADS] [KIND] - vitviz kNN outlier scores vs
# sklearn + cleanlab's formula on the same float32 data (KIND clustered, the
# default, or gaussian: no clusters, the worst case for vitviz's pruning),
# same thread count, same run.  Prints both lines and a markdown table row:
# | N x D | threads | vitviz s | sklearn s | speed-up | vitviz peak RSS | python peak RSS | max |diff| | top-8 equal |
set -e
cd "$(dirname "$0")/.."
N=${1:-10000}
D=${2:-768}
TH=${3:-$(nproc)}
KIND=${4:-clustered}
export OPENBLAS_NUM_THREADS=$TH OMP_NUM_THREADS=$TH MKL_NUM_THREADS=$TH
mkdir -p bench/out
bench/build_ood.sh >/dev/null
X=bench/out/ood_x_${N}x${D}.npy
[ "$KIND" = clustered ] || X=bench/out/ood_x_${N}x${D}_$KIND.npy
[ -f "$X" ] || /usr/bin/python3 bench/ood_bench.py gen "$X" "$N" "$D" "$KIND"
C=$(build/bench/ood_bench "$X" bench/out/ood_scores_c.npy 3)
P=$(/usr/bin/python3 bench/ood_bench.py run "$X" bench/out/ood_scores_c.npy 3)
echo "$C"
echo "$P"
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
cs=$(field "$C" seconds); ps=$(field "$P" seconds)
cr=$(field "$C" peak_rss_mib); pr=$(field "$P" peak_rss_mib); pb=$(field "$P" baseline_rss_mib)
diff=$(field "$P" max_abs_diff); top=$(field "$P" top8_equal)
ratio=$(awk -v a="$ps" -v b="$cs" 'BEGIN { printf "%.1f", a / b }')
echo "| N x D ($KIND) | threads | vitviz s | sklearn s | speed-up | vitviz peak RSS MiB | python peak RSS MiB (after imports) | max abs score diff | top-8 equal |"
echo "|---|---|---|---|---|---|---|---|---|"
echo "| $N x $D | $TH | $cs | $ps | ${ratio}x | $cr | $pr ($pb) | $diff | $top |"
