/*
 * dynamics_bench.c - the cost of the training dynamics against the rest of
 * `vitviz analyze` at scale, in one process.
 *
 *   dynamics_bench OUTDIR [N] [C] [T] [D] [ANALYSIS_CHECKPOINTS]
 *   (defaults N = 100000, C = 1000, T = 50, D = 768, 1)
 *
 * Writes one checkpoint's N x C float32 logits and N x D embeddings
 * (clustered, like ViT embeddings of C classes) as .npy into OUTDIR, then:
 *  - dynamics: T times, what the stage does per checkpoint: read the logits
 *    file (analysis_read_matrix: read + finiteness check) and
 *    analysis_dyn_add_logits(); the logits change from checkpoint to
 *    checkpoint (a growing margin for the label), the change not timed;
 *    then analysis_dyn_finish();
 *  - analysis: ANALYSIS_CHECKPOINTS times, what `analyze` does per
 *    checkpoint besides: read the embeddings file, 2-D PCA, kNN outlier
 *    scores (analysis_pca2, analysis_ood_scores with the defaults).
 * Prints key=value lines: seconds per checkpoint of each, the dynamics'
 * share of a T-checkpoint analysis (T x analysis + dynamics), the memory
 * the accumulator holds and the process's peak RSS.
 * Threads: OPENBLAS_NUM_THREADS (the same for both sides).
 */
#include "analysis/analysis_dynamics.h"
#include "analysis/analysis_input.h"
#include "analysis/analysis_ood.h"
#include "analysis/analysis_pca.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "common/vv_work.h"
#include "embed/models/embed_blas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* xorshift64* uniform in [0, 1). */
static double
urand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Approximately standard normal (sum of 4 uniforms, centred and scaled). */
static float
nrand(void)
{
	return (float)((urand() + urand() + urand() + urand() - 2.0) * 1.7320508);
}

static double
peak_rss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024.0;
}

static int
die(const char *what)
{
	fprintf(stderr, "dynamics_bench: %s: %s\n", what, vv_errmsg());
	return 1;
}

int
main(int argc, char **argv)
{
	int64_t n = argc > 2 ? atoll(argv[2]) : 100000, c = argc > 3 ? atoll(argv[3]) : 1000;
	int64_t t = argc > 4 ? atoll(argv[4]) : 50, d = argc > 5 ? atoll(argv[5]) : 768;
	int64_t na = argc > 6 ? atoll(argv[6]) : 1, i, j, f;
	int64_t lshape[2] = { n, c }, eshape[2] = { n, d };
	double t_dyn = 0, t_read = 0, t_an = 0, t0, rss_before;
	vv_manifest man;
	vv_ckpt_info ck = { .name = "bench", .step = 0, .has_logits = 1, .logits_match = 1 };
	analysis_dyn *dyn = NULL;
	vv_array *a = NULL;
	int *labels;
	float *buf, *centres;
	double *coords, *scores;
	char *p;

	if (argc < 2 || n < 2 || c < 2 || t < 1 || d < 2) {
		fprintf(stderr, "usage: dynamics_bench OUTDIR [N] [C] [T] [D] [ANALYSIS_CHECKPOINTS]\n");
		return 2;
	}
	if (vv_mkdir_p(argv[1]) || vv_mkdir_p(vv_path_join(argv[1], "logits")) ||
	    vv_mkdir_p(vv_path_join(argv[1], "embeddings")))
		return die(argv[1]);
	memset(&man, 0, sizeof(man));
	man.nckpt = 1;
	man.ckpt = &ck;
	labels = malloc((size_t)n * sizeof(*labels));
	buf = malloc((size_t)n * (size_t)(c > d ? c : d) * sizeof(*buf));
	centres = malloc((size_t)c * (size_t)d * sizeof(*centres));
	coords = malloc((size_t)n * 2 * sizeof(*coords));
	scores = malloc((size_t)n * sizeof(*scores));
	if (!labels || !buf || !centres || !coords || !scores)
		return die("out of memory");
	for (i = 0; i < n; i++)
		labels[i] = (int)(i % c);
	/* embeddings: one centre per class plus noise */
	for (i = 0; i < c * d; i++)
		centres[i] = nrand();
	for (i = 0; i < n; i++)
		for (j = 0; j < d; j++)
			buf[i * d + j] = centres[labels[i] * d + j] + 0.8f * nrand();
	p = vv_work_path(argv[1], "embeddings", "bench", ".npy");
	if (vv_npy_write(p, VV_F32, buf, 2, eshape))
		return die(p);
	free(p);
	/* logits: noise, the label a little ahead */
	for (i = 0; i < n; i++)
		for (j = 0; j < c; j++)
			buf[i * c + j] = 2.0f * nrand() + (j == labels[i] ? 1.0f : 0.0f);
	p = vv_work_path(argv[1], "logits", "bench", ".npy");
	if (vv_npy_write(p, VV_F32, buf, 2, lshape))
		return die(p);
	free(p);
	free(buf);
	if (analysis_dyn_alloc(&dyn, n, labels))
		return die("alloc");
	rss_before = peak_rss_mib();
	for (f = 0; f < t; f++) {
		double tr;

		t0 = vv_now();
		if (analysis_read_matrix(argv[1], &man, 0, "logits", n, -1, &a))
			return die("read logits");
		tr = vv_now() - t0;
		/* the next checkpoint knows the labels a little better (not timed) */
		for (i = 0; i < n; i++)
			((float *)a->data)[i * c + labels[i]] += 0.1f * (float)f;
		t0 = vv_now();
		if (analysis_dyn_add_logits(dyn, a->data, c, f * 100, embed_blas_threads()))
			return die("add");
		t_dyn += vv_now() - t0 + tr;
		t_read += tr;
		vv_array_free(&a);
	}
	t0 = vv_now();
	if (analysis_dyn_finish(dyn))
		return die("finish");
	t_dyn += vv_now() - t0;
	printf("dynamics n=%lld c=%lld t=%lld seconds=%.3f per_checkpoint=%.4f of_which_read=%.4f "
	       "accumulator_mib=%.1f\n",
	       (long long)n, (long long)c, (long long)t, t_dyn, t_dyn / (double)t, t_read / (double)t,
	       analysis_dyn_memory(dyn) / 1048576.0);
	fflush(stdout);
	for (f = 0; f < na; f++) {
		t0 = vv_now();
		if (analysis_read_matrix(argv[1], &man, 0, "embeddings", n, d, &a))
			return die("read embeddings");
		if (analysis_pca2(a->data, n, d, coords, NULL, NULL) ||
		    analysis_ood_scores(a->data, n, d, 0, ANALYSIS_METRIC_AUTO, ANALYSIS_OOD_MEDIAN, scores, NULL))
			return die("analysis");
		t_an += vv_now() - t0;
		vv_array_free(&a);
	}
	t_an /= (double)na;
	printf("analysis n=%lld d=%lld per_checkpoint=%.3f measured_checkpoints=%lld\n", (long long)n, (long long)d,
	       t_an, (long long)na);
	printf("share dynamics=%.4f of_analysis_of_t=%lld threads=%d peak_rss_mib=%.1f rss_before_dynamics_mib=%.1f\n",
	       t_dyn / (t_dyn + t_an * (double)t), (long long)t, embed_blas_threads(), peak_rss_mib(), rss_before);
	analysis_dyn_free(&dyn);
	free(scores);
	free(coords);
	free(centres);
	free(labels);
	return 0;
}
