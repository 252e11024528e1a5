/*
 * hybrid_bench.c - vitviz's hybrid R50+ViT-B/16 (vit_base_r50_s16_224)
 * through embed_model_open / embed_model_forward, the code path of
 * `vitviz embed`, on the weights bench/hybrid_bench.py wrote.
 *
 *   build/bench/hybrid_bench FILE BATCH REPEATS [EMB_OUT]
 *
 * FILE is a safetensors state dict with timm's names.  Runs one warm-up
 * and REPEATS forward passes of BATCH images (CLS pooling, no logits) and
 * prints one line of key=value pairs: images_per_s (best repeat), the
 * backbone alone (its own build from the same file: one image at a time on
 * one thread, as each worker of the forward pass runs it) in seconds per
 * image and GFLOP/s, the backbone's and the ViT's GFLOP per image, the
 * weights' and the scratch activations' size, peak RSS while loading and
 * while running.  The input is the deterministic batch sin(0.001 i) that
 * hybrid_bench.py also builds; EMB_OUT receives the B x D embeddings.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_rss.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "common/vv_fs.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/formats/embed_safetensors.h"
#include "embed/models/embed_blas.h"
#include "embed/models/embed_model.h"
#include "embed/models/embed_registry.h"
#include "embed/models/embed_resnetv2.h"

#define ARCH "vit_base_r50_s16_224"

/*
 * The backbone alone: build it from the file, run `n` images one at a
 * time; best seconds per image over 2 tries, its MACs, its scratch.
 */
static int
time_backbone(const char *file, const float *px, int n, double *sec, double *macs,
	      size_t *scratch, size_t *feat)
{
	const embed_registry_entry *e = embed_registry_find(ARCH, NULL);
	embed_tensors *t = NULL;
	embed_resnetv2 *r = NULL;
	float *ws = NULL, *out = NULL;
	int err, i, k, c, h, w;

	*sec = 1e30;
	if ((err = embed_tensors_alloc(&t)) || (err = embed_safetensors_load(file, t)))
		goto out;
	err = embed_resnetv2_build(&e->backbone, t, "patch_embed.backbone.", 1, NULL, 224, 224,
				   file, &r);
	embed_tensors_free(&t);
	if (err)
		goto out;
	embed_resnetv2_out_shape(r, &c, &h, &w);
	*scratch = embed_resnetv2_scratch_floats(r);
	*feat = (size_t)c * h * w;
	ws = malloc(*scratch * sizeof(float));
	out = malloc(*feat * sizeof(float));
	if (!ws || !out) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out;
	}
	embed_resnetv2_forward(r, px, ws, out); /* warm-up */
	for (k = 0; k < 2; k++) {
		double t0 = vv_now(), s;

		for (i = 0; i < n; i++)
			embed_resnetv2_forward(r, px + (size_t)i * 3 * 224 * 224, ws, out);
		s = (vv_now() - t0) / n;
		if (s < *sec)
			*sec = s;
	}
	*macs = embed_resnetv2_macs(r);
out:
	free(ws);
	free(out);
	embed_resnetv2_free(&r);
	embed_tensors_free(&t);
	return err;
}

int
main(int argc, char **argv)
{
	embed_ckpt_list *l = NULL;
	embed_model *m = NULL;
	float *px = NULL, *emb = NULL;
	double best = 1e30, base_mib, load_mib, wmib, amib, bb_sec, bb_macs = 0, vit_gflop;
	size_t n, i, bb_scratch = 0, feat = 0;
	int batch, reps, r, err, d, nt, nw;

	embed_blas_select_kernels(argc, argv);
	if (argc < 4 || argc > 5 || (batch = atoi(argv[2])) <= 0 || (reps = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: hybrid_bench FILE BATCH REPEATS [EMB_OUT]\n");
		return 2;
	}
	base_mib = bench_peak_rss_mib();
	if ((err = embed_ckpt_discover_opts(argv[1], &(embed_ckpt_opts){ .arch = ARCH }, &l)))
		goto fail;
	if ((err = embed_model_open(&l->v[0], &m)))
		goto fail;
	load_mib = bench_peak_rss_mib();
	d = embed_model_get_info(m)->dim;
	n = (size_t)batch * 3 * 224 * 224;
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

		if ((err = embed_model_forward(m, px, batch, EMBED_POOL_CLS, emb, NULL)))
			goto fail;
		s = vv_now() - t0;
		if (r > 0 && s < best) /* run 0 is the warm-up */
			best = s;
	}
	if (argc == 5) {
		FILE *f = fopen(argv[4], "wb");

		if (!f || fwrite(emb, sizeof(float) * d, batch, f) != (size_t)batch) {
			fprintf(stderr, "hybrid_bench: cannot write %s\n", argv[4]);
			return 1;
		}
		fclose(f);
	}
	/* RSS first, then the backbone alone (its own copy of the weights) */
	{
		double run_mib = bench_peak_rss_mib();
		size_t D = 768, M = 3072, L = 12, np = 196, ntok = 197, rows;

		nt = embed_blas_threads();
		nw = nt < batch ? nt : batch;
		if ((err = time_backbone(argv[1], px, batch < 4 ? batch : 4, &bb_sec, &bb_macs,
					 &bb_scratch, &feat)))
			goto fail;
		rows = (size_t)batch * ntok;
		wmib = (double)vv_file_size(argv[1]) / 1048576;
		/* the ViT's scratch (x, y, qkv, h, im2col of the 1x1 projection
		 * over 1024 channels, one T x T), the feature maps, each worker's
		 * backbone scratch */
		amib = ((double)(rows * (5 * D + M) + (size_t)batch * np * 1024 + ntok * ntok +
				 (size_t)batch * feat) +
			(double)nw * bb_scratch) * 4 / 1048576;
		/* ViT FLOPs at 197 tokens: Linear GEMMs + attention + the 1x1 projection */
		vit_gflop = (2.0 * L * ntok * (4 * D * D + 2 * D * M) + 4.0 * L * ntok * ntok * D +
			     2.0 * np * 1024 * D) / 1e9;
		printf("vitviz images_per_s=%.3f seconds=%.4f batch=%d kernels=%s threads=%d "
		       "backbone_s_per_image_1t=%.4f backbone_gflops_1t=%.1f backbone_gflop=%.3f "
		       "vit_gflop=%.3f weights_mib=%.1f activations_mib=%.1f baseline_rss_mib=%.0f "
		       "load_peak_rss_mib=%.0f run_peak_rss_mib=%.0f\n",
		       batch / best, best, batch, embed_blas_corename(), nt, bb_sec,
		       2 * bb_macs / bb_sec / 1e9, 2 * bb_macs / 1e9, vit_gflop, wmib, amib,
		       base_mib, load_mib, run_mib);
	}
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
	free(px);
	free(emb);
	return 0;
fail:
	fprintf(stderr, "hybrid_bench: %s\n", vv_errmsg());
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
	free(px);
	free(emb);
	return 1;
}
