#!/bin/sh
# bench/swin.sh [BATCH] [THREADS] [REPEATS] [ROUNDS] - vitviz's Swin-T forward
# pass (build/bench/swin_bench: embed_swin_build_consume + embed_swin_forward,
# the code path of `vitviz embed` for a Swin) against PyTorch 1.13 running
# timm's own SwinTransformer (bench/swin_bench.py, timm's source from
# /opt/timm-src) on the same random weights (bench/out/swin_t/, written once),
# 224x224, same batch, same thread count, in the same run.  ROUNDS
# interleaved rounds, best of REPEATS passes after a warm-up each; the sgemm
# rate (build/bench/sgemm_peak at M = BATCH x 197, same threads) is measured
# again at the start of every round and % of peak = vitviz GFLOP/s / that
# round's rate (GFLOP per image counted from the shapes by swin_bench).
# Prints a markdown section; nothing when timm's source is missing.
set -e
cd "$(dirname "$0")/.."
B=${1:-16}
TH=${2:-$(nproc)}
REP=${3:-3}
ROUNDS=${4:-3}
PY=/usr/bin/python3
TIMM=${TIMM_SRC:-/opt/timm-src}
if [ ! -d "$TIMM/timm" ]; then
	echo "bench/swin.sh: no timm source at $TIMM (TIMM_SRC): Swin row skipped" >&2
	exit 0
fi
export PYTHONPATH=$TIMM OPENBLAS_NUM_THREADS=$TH OMP_NUM_THREADS=$TH MKL_NUM_THREADS=$TH
make -s build/bench/swin_bench build/bench/sgemm_peak >&2
mkdir -p bench/out
[ -f bench/out/swin_t/model.safetensors ] || $PY bench/swin_bench.py gen bench/out/swin_t
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
fmax() { echo "$@" | tr ' ' '\n' | sort -g | tail -1; }
fmin() { echo "$@" | tr ' ' '\n' | sort -g | head -1; }

echo "## Swin forward pass (vitviz vs PyTorch 1.13 running timm's SwinTransformer)"
echo
echo "swin_tiny_patch4_window7_224 (Swin-T), 224x224, random weights (same safetensors both sides), batch $B, $TH threads,"
echo "pooled embedding (timm forward_head(pre_logits=True)); best of $REP passes after a warm-up, best of $ROUNDS interleaved rounds"
echo "(range over rounds in brackets). % of sgemm peak: the whole forward pass's GFLOP/s over the sgemm rate measured at the start of the same round"
echo "(M=$((B * 197)), ViT-B/16 Linear shapes)."
echo
echo "| model | vitviz img/s | PyTorch img/s | speed-up | GFLOP/image | vitviz GFLOP/s | % of sgemm peak (same round) | max abs diff | RSS MiB: baseline / load peak / run peak | weights + 2 x activations MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
cs="" ps="" rs="" pcs=""
r=0
while [ $r -lt "$ROUNDS" ]; do
	Pr=$(field "$(build/bench/sgemm_peak $((B * 197)) 10 | tail -1)" gflops)
	C=$(build/bench/swin_bench bench/out/swin_t "$B" "$REP" bench/out/emb_swin_t.f32)
	T=$($PY bench/swin_bench.py run bench/out/swin_t "$B" "$TH" "$REP" bench/out/emb_swin_t.f32)
	echo "$C" >&2
	echo "$T" >&2
	G=$(field "$C" gflop_per_image)
	c=$(field "$C" images_per_s)
	t=$(field "$T" images_per_s)
	cs="$cs $c"
	ps="$ps $t"
	rs="$rs $(awk -v a="$c" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
	pcs="$pcs $(awk -v a="$c" -v g="$G" -v p="$Pr" 'BEGIN { printf "%.0f", 100 * a * g / p }')"
	r=$((r + 1))
done
cb=$(fmax $cs)
pb=$(fmax $ps)
gf=$(awk -v a="$cb" -v g="$G" 'BEGIN { printf "%.0f", a * g }')
ratio=$(awk -v a="$cb" -v b="$pb" 'BEGIN { printf "%.2f", a / b }')
bound=$(awk -v w="$(field "$C" weights_mib)" -v a="$(field "$C" activations_mib)" \
	'BEGIN { printf "%.0f + 2 x %.0f = %.0f", w, a, w + 2 * a }')
echo "| Swin-T | $cb [$(fmin $cs)-$cb] | $pb [$(fmin $ps)-$pb] | ${ratio}x [$(fmin $rs)-$(fmax $rs)] | $G | $gf | $(fmax $pcs)% [$(fmin $pcs)-$(fmax $pcs)] | $(field "$T" max_abs_diff) | $(field "$C" baseline_rss_mib) / $(field "$C" load_peak_rss_mib) / $(field "$C" run_peak_rss_mib) | $bound |"
echo
echo "Targets (issue 12): >= 1.3x PyTorch; GEMM-bound parts >= 80% of the sgemm peak; peak RSS - baseline <= weights + 2 x activations"
echo "(activations: the forward scratch, one image per worker thread: each image runs alone so that its output does not depend on the batch)."
echo "PyTorch peak RSS for comparison: $(field "$T" peak_rss_mib) MiB (after imports $(field "$T" baseline_rss_mib) MiB)."
