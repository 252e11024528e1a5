#!/bin/sh
# bench/hybrid.sh [BATCH] [THREADS] [REPEATS] [ROUNDS] - vitviz's hybrid
# R50+ViT-B/16 (vit_base_r50_s16_224; build/bench/hybrid_bench: embed_model_open
# + embed_model_forward, the code path of `vitviz embed`) against PyTorch 1.13
# running timm's own module (bench/hybrid_bench.py, timm's source from
# $TIMM_SRC, default /opt/timm-src) on the same weights (bench/out/r50/, written
# once by hybrid_bench.py gen), 224x224, same batch, same thread count, in the
# same run.  Each side runs ROUNDS times interleaved (best of REPEATS passes
# after a warm-up); the sgemm rate at M = BATCH x 197 (build/bench/sgemm_peak,
# same threads) is measured at the start of every round and % of peak =
# vitviz GFLOP/s / that round's sgemm rate, with the backbone's and the ViT's
# FLOPs that hybrid_bench counts.  The backbone alone is timed too (one image
# at a time on one thread, as each worker runs it) against the 1-thread sgemm
# rate.  Prints markdown; without timm's source, says so and prints no row.
set -e
cd "$(dirname "$0")/.."
B=${1:-16}  # vitviz embed's default --batch
TH=${2:-$(nproc)}
REP=${3:-2}
ROUNDS=${4:-3}
PY=/usr/bin/python3
TIMM=${TIMM_SRC:-/opt/timm-src}
W=bench/out/r50/r50.safetensors
export OPENBLAS_NUM_THREADS=$TH OMP_NUM_THREADS=$TH MKL_NUM_THREADS=$TH
echo "## Hybrid R50+ViT-B/16 forward pass (vitviz vs PyTorch 1.13 + timm)"
echo
if [ ! -f "$TIMM/timm/models/vision_transformer_hybrid.py" ]; then
	echo "Not measured: timm's source is not at $TIMM (set TIMM_SRC)."
	exit 0
fi
make -s build/bench/hybrid_bench build/bench/sgemm_peak >&2
[ -f $W ] || PYTHONPATH=$TIMM $PY bench/hybrid_bench.py gen $W
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
fmax() { echo "$@" | tr ' ' '\n' | sort -g | tail -1; }
fmin() { echo "$@" | tr ' ' '\n' | sort -g | head -1; }

cs="" ps="" rs="" pcs="" bbs="" bps="" Ps="" P1s=""
r=0
while [ $r -lt "$ROUNDS" ]; do
	Pr=$(field "$(build/bench/sgemm_peak $((B * 197)) 10 | tail -1)" gflops)
	P1=$(field "$(OPENBLAS_NUM_THREADS=1 build/bench/sgemm_peak $((B * 197)) 10 | tail -1)" gflops)
	Ps="$Ps $Pr"
	P1s="$P1s $P1"
	C=$(build/bench/hybrid_bench $W "$B" "$REP" bench/out/emb_r50.f32)
	T=$(PYTHONPATH=$TIMM $PY bench/hybrid_bench.py run $W "$B" "$TH" "$REP" bench/out/emb_r50.f32)
	echo "$C" >&2
	echo "$T" >&2
	c=$(field "$C" images_per_s)
	t=$(field "$T" images_per_s)
	G=$(awk -v a="$(field "$C" backbone_gflop)" -v b="$(field "$C" vit_gflop)" 'BEGIN { printf "%.3f", a + b }')
	cs="$cs $c"
	ps="$ps $t"
	rs="$rs $(awk -v a="$c" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
	pcs="$pcs $(awk -v a="$c" -v g="$G" -v p="$Pr" 'BEGIN { printf "%.0f", 100 * a * g / p }')"
	bb=$(field "$C" backbone_gflops_1t)
	bbs="$bbs $bb"
	bps="$bps $(awk -v a="$bb" -v p="$P1" 'BEGIN { printf "%.0f", 100 * a / p }')"
	r=$((r + 1))
done
cb=$(fmax $cs)
pb=$(fmax $ps)
gf=$(awk -v a="$cb" -v g="$G" 'BEGIN { printf "%.0f", a * g }')
# against the best sgemm rate of the whole run too: on a loaded machine a
# round's own measurement can land in a busy moment
pbest=$(awk -v a="$cb" -v g="$G" -v p="$(fmax $Ps)" 'BEGIN { printf "%.0f", 100 * a * g / p }')
bbest=$(awk -v a="$(fmax $bbs)" -v p="$(fmax $P1s)" 'BEGIN { printf "%.0f", 100 * a / p }')
ratio=$(awk -v a="$cb" -v b="$pb" 'BEGIN { printf "%.2f", a / b }')
bound=$(awk -v w="$(field "$C" weights_mib)" -v a="$(field "$C" activations_mib)" \
	'BEGIN { printf "%.0f + 2 x %.0f = %.0f", w, a, w + 2 * a }')
echo "224x224, timm's own initialisation (same safetensors both sides), batch $B, $TH threads, CLS embedding;"
echo "best of $REP passes after a warm-up, best of $ROUNDS interleaved rounds (range over rounds in brackets)."
echo "FLOPs per image: backbone $(field "$C" backbone_gflop) GFLOP (its convolutions), ViT $(field "$C" vit_gflop) GFLOP (Linear GEMMs, attention, 1x1 projection);"
echo "% of sgemm peak against the rate measured at the start of the same round ($TH threads, M=$((B * 197))); the backbone alone"
echo "(one image at a time on one thread, as each worker runs it) against the 1-thread sgemm rate of that round."
echo "sgemm rates measured in the run: $TH threads $(fmin $Ps)-$(fmax $Ps) GFLOP/s, 1 thread $(fmin $P1s)-$(fmax $P1s) GFLOP/s; best against best:"
echo "vitviz $gf GFLOP/s = $pbest% of $(fmax $Ps), the backbone alone $(fmax $bbs) GFLOP/s = $bbest% of $(fmax $P1s)."
echo
echo "| model | vitviz img/s | PyTorch img/s | speed-up | vitviz GFLOP/s | % of sgemm peak (same round) | backbone alone, 1 thread: GFLOP/s (% of 1-thread peak) | max abs diff | RSS MiB: baseline / load peak / run peak | weights + 2 x activations MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| R50+ViT-B/16 | $cb [$(fmin $cs)-$cb] | $pb [$(fmin $ps)-$pb] | ${ratio}x [$(fmin $rs)-$(fmax $rs)] | $gf | $(fmax $pcs)% [$(fmin $pcs)-$(fmax $pcs)] | $(fmax $bbs) [$(fmin $bbs)-$(fmax $bbs)] ($(fmax $bps)% [$(fmin $bps)-$(fmax $bps)]) | $(field "$T" max_abs_diff) | $(field "$C" baseline_rss_mib) / $(field "$C" load_peak_rss_mib) / $(field "$C" run_peak_rss_mib) | $bound |"
echo
echo "Targets: >= 1.3x PyTorch; GEMM-bound parts >= 80% of the sgemm peak; peak RSS - baseline <= weights + 2 x one batch's activations"
echo "(activations: the ViT's scratch, the feature maps, each worker's backbone scratch). PyTorch peak RSS: $(field "$T" peak_rss_mib) MiB (after imports $(field "$T" baseline_rss_mib) MiB)."
