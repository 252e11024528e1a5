#!/bin/sh
# bench/vit.sh [BATCH] [THREADS] [REPEATS] [ROUNDS] - vitviz's ViT forward pass
# (build/bench/vit_bench: embed_vit_build + embed_vit_forward, the code path
# of `vitviz embed`) against PyTorch 1.13 (bench/vit_bench.py) on the same
# random weights (bench/out/<model>/, written once by vit_bench.py gen),
# 224x224, same batch, same thread count, in the same run.  Each side runs
# ROUNDS times interleaved (best of REPEATS passes after a warm-up each);
# the table shows the best round and the range over rounds (ViT-Ti/16
# runs 3 x REPEATS passes, its passes being ~15x shorter).  The sgemm rate
# at M = BATCH x 197 (build/bench/sgemm_peak, same threads) is measured on
# the spot, once up front and again at the start of every round; % of peak
# = vitviz GFLOP/s / that round's sgemm GFLOP/s with 35.1 (B/16) and 2.51
# (Ti/16) GFLOP per image (REFERENCE.md section 10), so that load from
# other processes hits both sides of the ratio.  Prints markdown.
set -e
cd "$(dirname "$0")/.."
B=${1:-16}  # vitviz embed's default --batch
TH=${2:-$(nproc)}
REP=${3:-3}
ROUNDS=${4:-3}
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=$TH OMP_NUM_THREADS=$TH MKL_NUM_THREADS=$TH
make -s build/bench/vit_bench build/bench/sgemm_peak >&2
mkdir -p bench/out
for m in vit_b16 vit_ti16; do
	[ -f bench/out/$m/model.safetensors ] || $PY bench/vit_bench.py gen bench/out/$m $m
done
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
fmax() { echo "$@" | tr ' ' '\n' | sort -g | tail -1; }
fmin() { echo "$@" | tr ' ' '\n' | sort -g | head -1; }

peak=$(build/bench/sgemm_peak $((B * 197)) 10 | tail -1)
P=$(field "$peak" gflops)
kern=$(field "$peak" kernels)
p1=$(OPENBLAS_NUM_THREADS=1 build/bench/sgemm_peak $((B * 197)) 10 | tail -1)
hw=$(OPENBLAS_CORETYPE=Haswell build/bench/sgemm_peak $((B * 197)) 10 | tail -1)

echo "## ViT forward pass (vitviz vs PyTorch 1.13)"
echo
echo "224x224, random weights (same safetensors both sides), batch $B, $TH threads, CLS embedding;"
echo "best of $REP (ViT-B/16) or $((3 * REP)) (ViT-Ti/16) passes after a warm-up, best of $ROUNDS interleaved rounds (range over rounds in brackets;"
echo "speed-up = best / best, bracket = the per-round ratios). Other processes on a shared machine widen the ranges (load average: see the header)."
echo "sgemm peak measured now at M=$((B * 197)), N x K = ViT-B/16 Linear shapes: **$P GFLOP/s** ($kern kernels, $TH threads;"
echo "the better of one sgemm on OpenBLAS threads, $(field "$peak" blas_gflops), and $TH single-threaded sgemms on M/$TH rows each, $(field "$peak" split_gflops));"
echo "same with 1 thread: $(field "$p1" gflops) GFLOP/s; with \`OPENBLAS_CORETYPE=Haswell\` ($TH threads): $(field "$hw" gflops) GFLOP/s."
echo
echo "| model | vitviz img/s | PyTorch img/s | speed-up | vitviz GFLOP/s | % of sgemm peak (same round) | max abs diff | RSS MiB: baseline / load peak / run peak | weights + 2 x activations MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in vit_b16 vit_ti16; do
	# Ti/16 passes are ~15x shorter: 3x the repeats so that both models
	# get a comparable chance at a quiet moment on a shared machine
	case $m in vit_b16) G=35.1; name="ViT-B/16"; R=$REP;; *) G=2.51; name="ViT-Ti/16"; R=$((3 * REP));; esac
	cs="" ps="" rs="" pcs=""
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		Pr=$(field "$(build/bench/sgemm_peak $((B * 197)) 10 | tail -1)" gflops)
		C=$(build/bench/vit_bench bench/out/$m "$B" "$R" bench/out/emb_$m.f32)
		T=$($PY bench/vit_bench.py run bench/out/$m "$B" "$TH" "$R" bench/out/emb_$m.f32)
		echo "$C" >&2
		echo "$T" >&2
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
	echo "| $name | $cb [$(fmin $cs)-$cb] | $pb [$(fmin $ps)-$pb] | ${ratio}x [$(fmin $rs)-$(fmax $rs)] | $gf | $(fmax $pcs)% [$(fmin $pcs)-$(fmax $pcs)] | $(field "$T" max_abs_diff) | $(field "$C" baseline_rss_mib) / $(field "$C" load_peak_rss_mib) / $(field "$C" run_peak_rss_mib) | $bound |"
done
echo
echo "Targets: ViT-B/16 >= 1.3x PyTorch and >= 80% of the sgemm peak; ViT-Ti/16 >= 3x PyTorch;"
echo "peak RSS (while loading and while running) - baseline <= weights + 2 x one batch's activations (the forward pass's scratch)."
echo "PyTorch peak RSS for comparison: $(field "$T" peak_rss_mib) MiB (ViT-Ti/16 run, after imports $(field "$T" baseline_rss_mib) MiB)."
