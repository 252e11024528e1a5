/*
 * swin_bench.c - vitviz's Swin forward pass (embed/models/embed_swin.h, the
 * code path `vitviz embed` runs for a Swin) on the model bench/swin_bench.py
 * wrote.
 *
 *   build/bench/swin_bench DIR BATCH REPEATS [EMB_OUT]
 *
 * DIR holds model.safetensors (timm names of swin_tiny_patch4_window7_224).
 * Runs one warm-up and REPEATS forward passes of BATCH images and prints
 * one line of key=value pairs: images_per_s (best repeat), seconds, GFLOP
 * per image (the Linear layers, the patch embedding, PatchMerging and the
 * two attention products, counted from the shapes), the BLAS in use, the
 * weights' and the forward scratch's size, peak RSS while loading and
 * while running (VmHWM reset after the load).  The input is the
 * deterministic batch sin(0.001 i) that swin_bench.py also builds;
 * EMB_OUT receives its B x D float32 embeddings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_rss.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "embed/formats/embed_safetensors.h"
#include "embed/formats/embed_tensors.h"
#include "embed/models/embed_blas.h"
#include "embed/models/embed_registry.h"
#include "embed/models/embed_swin.h"

/* FLOPs of one image (multiply-adds x 2). */
static double
gflop(const embed_swin_config *c)
{
	double f = 0;
	int s, res, ws, sh, ch = c->embed_dim;

	embed_swin_stage_geometry(c, 0, &res, &ws, &sh);
	f += 2.0 * res * res * 3 * c->patch * c->patch * ch;
	for (s = 0; s < c->stages; s++, ch *= 2) {
		double l, hp;

		embed_swin_stage_geometry(c, s, &res, &ws, &sh);
		hp = ceil((double)res / ws) * ws;
		l = (double)res * res;
		/* qkv and proj on the padded windows, MLP on the tokens, q k^T and p v */
		f += c->depths[s] * (2.0 * hp * hp * ch * 4 * ch + 2.0 * l * ch * c->mlp_hidden[s] * 2 +
				     4.0 * hp * hp * ws * ws * ch);
		if (s + 1 < c->stages)
			f += 2.0 * ((res + 1) / 2) * ((res + 1) / 2) * 4 * ch * 2 * ch;
	}
	return f / 1e9;
}

int
main(int argc, char **argv)
{
	const embed_registry_entry *e;
	embed_swin_config cfg;
	embed_tensors *t = NULL;
	embed_swin *m = NULL;
	float *px = NULL, *emb = NULL;
	char path[4096];
	double best = 1e30, base_mib, load_mib, wmib = 0;
	size_t n, i;
	int batch, reps, r, err, d, s;

	embed_blas_select_kernels(argc, argv);
	if (argc < 4 || argc > 5 || (batch = atoi(argv[2])) <= 0 || (reps = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: swin_bench DIR BATCH REPEATS [EMB_OUT]\n");
		return 2;
	}
	base_mib = bench_peak_rss_mib();
	e = embed_registry_find("swin_tiny_patch4_window7_224", NULL);
	if (!e) {
		err = VV_ENOTFOUND;
		goto fail;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.embed_dim = e->width;
	cfg.window = e->window;
	cfg.patch = e->patch;
	cfg.image = e->img_size;
	cfg.mlp_ratio = e->mlp_ratio;
	cfg.qkv_bias = 1;
	cfg.ln_eps = 1e-5;
	cfg.layout = EMBED_SWIN_TIMM;
	for (s = 0; s < EMBED_SWIN_MAX_STAGES && e->stage_depths[s]; s++) {
		cfg.depths[s] = e->stage_depths[s];
		cfg.heads[s] = e->stage_heads[s];
		cfg.mlp_hidden[s] = (int)(e->mlp_ratio * (e->width << s));
	}
	cfg.stages = s;
	snprintf(path, sizeof(path), "%s/model.safetensors", argv[1]);
	if ((err = embed_tensors_alloc(&t)) || (err = embed_safetensors_load(path, t)))
		goto fail;
	for (i = 0; i < t->n; i++)
		if (!strstr(t->v[i].name, "relative_position_index"))
			wmib += (double)embed_tensor_numel(&t->v[i]) * 4 / 1048576;
	if ((err = embed_swin_build_consume(&cfg, t, path, &m)))
		goto fail;
	embed_tensors_free(&t);
	load_mib = bench_peak_rss_mib();
	d = embed_swin_dim(m);
	n = (size_t)batch * 3 * cfg.image * cfg.image;
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
		double t0 = vv_now(), sec;

		if ((err = embed_swin_forward(m, px, batch, emb, NULL)))
			goto fail;
		sec = vv_now() - t0;
		if (r > 0 && sec < best) /* run 0 is the warm-up */
			best = sec;
	}
	if (argc == 5) {
		FILE *f = fopen(argv[4], "wb");

		if (!f || fwrite(emb, sizeof(float) * d, batch, f) != (size_t)batch) {
			fprintf(stderr, "swin_bench: cannot write %s\n", argv[4]);
			return 1;
		}
		fclose(f);
	}
	printf("vitviz images_per_s=%.3f seconds=%.4f batch=%d gflop_per_image=%.3f "
	       "kernels=%s threads=%d weights_mib=%.1f activations_mib=%.1f baseline_rss_mib=%.0f "
	       "load_peak_rss_mib=%.0f run_peak_rss_mib=%.0f\n",
	       batch / best, best, batch, gflop(&cfg), embed_blas_corename(), embed_blas_threads(),
	       wmib, (double)embed_swin_scratch_bytes(m) / 1048576, base_mib, load_mib,
	       bench_peak_rss_mib());
	embed_swin_free(&m);
	free(px);
	free(emb);
	return 0;
fail:
	fprintf(stderr, "swin_bench: %s\n", vv_errmsg());
	embed_swin_free(&m);
	embed_tensors_free(&t);
	free(px);
	free(emb);
	return 1;
}
