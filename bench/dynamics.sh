#!/bin/sh
# bench/dynamics.sh [N] [C] [T] [D] - the training dynamics of `vitviz
# analyze` (build/bench/dynamics_bench) against the rest of the analysis of
# the same run, in one process: N samples, C classes, T checkpoints (logits
# streamed from an .npy file per checkpoint), D-wide embeddings for the
# per-checkpoint PCA + kNN outlier scores (one checkpoint measured, the same
# work for each).  Prints a markdown section.  Target (issue 13): under 10%
# of the analysis at N = 100,000, C = 1,000, T = 50, memory O(N x metrics).
set -e
cd "$(dirname "$0")/.."
N=${1:-100000}
C=${2:-1000}
T=${3:-50}
D=${4:-768}
mkdir -p bench/out
make -s build/bench/dynamics_bench >&2
R=$(build/bench/dynamics_bench bench/out/dynamics "$N" "$C" "$T" "$D" 1)
echo "$R" >&2
field() { echo "$R" | grep "^$1 " | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
dyn=$(field dynamics seconds); dpc=$(field dynamics per_checkpoint); rd=$(field dynamics of_which_read)
mem=$(field dynamics accumulator_mib); apc=$(field analysis per_checkpoint)
share=$(field share dynamics); rss=$(field share peak_rss_mib); th=$(field share threads)
rm -rf bench/out/dynamics
echo "## Training dynamics (share of the analysis)"
echo
echo "N = $N samples, C = $C classes, T = $T checkpoints, embeddings D = $D, $th threads."
echo "Dynamics: per checkpoint, read the N x C float32 logits file and accumulate (all $T checkpoints measured);"
echo "analysis: per checkpoint, read the N x D embeddings, 2-D PCA and kNN outlier scores (one checkpoint measured)."
echo
echo "| dynamics s (all $T) | per checkpoint s (of which reading) | analysis per checkpoint s | dynamics share of the whole analysis | accumulator MiB | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
echo "| $dyn | $dpc ($rd) | $apc | $(awk -v s="$share" 'BEGIN { printf "%.1f%%", 100 * s }') | $mem | $rss |"
echo
echo "Target (issue 13): under 10%, streamed (memory O(N x metrics), not O(N x T x C))."
