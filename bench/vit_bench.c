/*
 * vit_bench.c - vitviz's ViT forward pass (embed/models/embed_vit.h, the code path
 * `vitviz embed` runs) on the model bench/vit_bench.py wrote.
 *
 *   build/bench/vit_bench DIR BATCH REPEATS [EMB_OUT]
 *
 * DIR holds config.json + model.safetensors (timm naming).  Runs one
 * warm-up and REPEATS forward passes of BATCH images (CLS pooling, no
 * logits) and prints one line of key=value pairs: images_per_s (best
 * repeat), seconds, the BLAS in use, the weights' and the scratch
 * activations' size, peak RSS while loading and while running (VmHWM reset
 * after the load).  The input is the deterministic batch sin(0.001 i) that
 * vit_bench.py also builds; EMB_OUT receives its B x D float32 embeddings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_rss.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "embed/models/embed_blas.h"
#include "embed/models/embed_config.h"
#include "embed/formats/embed_safetensors.h"
#include "embed/formats/embed_tensors.h"
#include "embed/models/embed_vit.h"

int
main(int argc, char **argv)
{
	embed_vit_config *cfg = NULL;
	embed_tensors *t = NULL;
	embed_vit *m = NULL;
	float *px = NULL, *emb = NULL;
	char path[4096];
	double best = 1e30, base_mib, load_mib, wmib, amib;
	size_t n, i, rows, ntok;
	int batch, reps, r, err, d;

	embed_blas_select_kernels(argc, argv);
	if (argc < 4 || argc > 5 || (batch = atoi(argv[2])) <= 0 || (reps = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: vit_bench DIR BATCH REPEATS [EMB_OUT]\n");
		return 2;
	}
	base_mib = bench_peak_rss_mib();
	snprintf(path, sizeof(path), "%s/config.json", argv[1]);
	if ((err = embed_vit_config_load(path, &cfg)))
		goto fail;
	snprintf(path, sizeof(path), "%s/model.safetensors", argv[1]);
	if ((err = embed_tensors_alloc(&t)) || (err = embed_safetensors_load(path, t)))
		goto fail;
	if ((err = embed_vit_build_consume(cfg, t, &embed_vit_naming_timm, path, &m)))
		goto fail;
	embed_tensors_free(&t);
	load_mib = bench_peak_rss_mib();
	d = embed_vit_dim(m);
	n = (size_t)batch * cfg->channels * cfg->image_h * cfg->image_w;
	px = malloc(n * sizeof(float));
	emb = malloc((size_t)batch * d * sizeof(float));
	if (!px || !emb) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++)
		px[i] = (float)sin(0.001 * (double)i);
	bench_reset_peak_rss();
	for (r = 0; r < reps + 1; r++) {
		double t0 = vv_now(), s;

		if ((err = embed_vit_forward(m, px, batch, EMBED_POOL_CLS, emb, NULL)))
			goto fail;
		s = vv_now() - t0;
		if (r > 0 && s < best) /* run 0 is the warm-up */
			best = s;
	}
	if (argc == 5) {
		FILE *f = fopen(argv[4], "wb");

		if (!f || fwrite(emb, sizeof(float) * d, batch, f) != (size_t)batch) {
			fprintf(stderr, "vit_bench: cannot write %s\n", argv[4]);
			return 1;
		}
		fclose(f);
	}
	/* weights: every slot (the safetensors' size); activations: the
	 * scratch embed_vit_forward keeps (x, y, qkv, h, im2col, one T x T) */
	{
		size_t D = (size_t)d, M = (size_t)cfg->intermediate, L = (size_t)cfg->layers;
		size_t p = (size_t)cfg->patch, np = (size_t)(cfg->image_h / cfg->patch) *
			(cfg->image_w / cfg->patch);
		size_t w = L * (4 * D + 3 * D * D + 3 * D + D * D + D + 2 * M * D + M + D) +
			   D * cfg->channels * p * p + D + 3 * D + (np + 1) * D;

		ntok = np + 1;
		rows = (size_t)batch * ntok;
		wmib = (double)w * 4 / 1048576;
		amib = (double)(rows * (5 * D + M) + (size_t)batch * np * cfg->channels * p * p +
				ntok * ntok) * 4 / 1048576;
	}
	printf("vitviz images_per_s=%.3f seconds=%.4f batch=%d "
	       "kernels=%s threads=%d weights_mib=%.1f activations_mib=%.1f baseline_rss_mib=%.0f "
	       "load_peak_rss_mib=%.0f run_peak_rss_mib=%.0f\n",
	       batch / best, best, batch, embed_blas_corename(), embed_blas_threads(), wmib, amib,
	       base_mib, load_mib, bench_peak_rss_mib());
	embed_vit_free(&m);
	embed_vit_config_free(&cfg);
	free(px);
	free(emb);
	return 0;
fail:
	fprintf(stderr, "vit_bench: %s\n", vv_errmsg());
	embed_vit_free(&m);
	embed_tensors_free(&t);
	embed_vit_config_free(&cfg);
	free(px);
	free(emb);
	return 1;
}
