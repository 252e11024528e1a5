#!/bin/sh
# bench/ood.sh [N] [D] [THREADS] [KINDS] [ROUNDS] - vitviz's kNN outlier
# scores (build/bench/ood_bench: analysis_ood_scores, as `vitviz analyze`
# runs it) against sklearn NearestNeighbors(metric="cosine") + cleanlab's
# formula (bench/ood_bench.py) on the same float32 data, same thread count,
# in the same run, ROUNDS interleaved rounds each.  KINDS: "clustered"
# (classes, like real ViT embeddings) and/or "gaussian" (no clusters, the
# worst case for vitviz's pruning).  Prints a markdown section; the raw
# lines of each side go to stderr.
set -e
cd "$(dirname "$0")/.."
N=${1:-10000}
D=${2:-768}
TH=${3:-$(nproc)}
KINDS=${4:-clustered gaussian}
ROUNDS=${5:-3}
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=$TH OMP_NUM_THREADS=$TH MKL_NUM_THREADS=$TH
mkdir -p bench/out
make -s build/bench/ood_bench >&2
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
fmin() { echo "$@" | tr ' ' '\n' | sort -g | head -1; }
fmax() { echo "$@" | tr ' ' '\n' | sort -g | tail -1; }

echo "## Outlier scores (vitviz vs sklearn + cleanlab's formula)"
echo
echo "N = $N, D = $D, cosine, k = 10, $TH threads; best of 3 calls per side, $ROUNDS interleaved rounds"
echo "(range over rounds in brackets). Peak RSS of the whole process; Python's includes ~130 MiB of imports."
echo
echo "| data | vitviz s | sklearn s | speed-up | vitviz peak RSS MiB | python peak RSS MiB | max abs score diff | top-8 equal |"
echo "|---|---|---|---|---|---|---|---|"
for KIND in $KINDS; do
	X=bench/out/ood_x_${N}x${D}_$KIND.npy
	[ -f "$X" ] || $PY bench/ood_bench.py gen "$X" "$N" "$D" "$KIND"
	cl=""; pl=""; rl=""
	for r in $(seq "$ROUNDS"); do
		C=$(build/bench/ood_bench "$X" bench/out/ood_scores_c.npy 3)
		P=$($PY bench/ood_bench.py run "$X" bench/out/ood_scores_c.npy 3)
		echo "$C" >&2; echo "$P" >&2
		cs=$(field "$C" seconds); ps=$(field "$P" seconds)
		cl="$cl $cs"; pl="$pl $ps"
		rl="$rl $(awk -v a="$ps" -v b="$cs" 'BEGIN { printf "%.2f", a / b }')"
		cr=$(field "$C" peak_rss_mib); pr=$(field "$P" peak_rss_mib)
		diff=$(field "$P" max_abs_diff); top=$(field "$P" top8_equal)
	done
	cb=$(fmin $cl); pb=$(fmin $pl)
	ratio=$(awk -v a="$pb" -v b="$cb" 'BEGIN { printf "%.1f", a / b }')
	echo "| $KIND | $cb [$(fmin $cl)-$(fmax $cl)] | $pb [$(fmin $pl)-$(fmax $pl)] | ${ratio}x [$(fmin $rl)-$(fmax $rl)] | $cr | $pr | $diff | $top |"
done
echo
echo "Target (issue 4): >= 5x on N = 10,000, D = 768."
