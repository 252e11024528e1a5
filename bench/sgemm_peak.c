/*
 * sgemm_peak.c - OpenBLAS sgemm rate at the GEMM shapes of a ViT forward
 * pass, measured on the spot (bench/vit.sh divides vitviz's GFLOP/s by it).
 *
 *   build/bench/sgemm_peak [ROWS] [REPEATS]
 *
 * ROWS is M (batch x tokens, default 8 x 197).  For each shape (the ViT-B/16
 * Linear layers: N x K = 2304 x 768 qkv, 768 x 768 proj, 3072 x 768 fc1,
 * 768 x 3072 fc2; C = A B^T as embed_vit.c calls it) it prints the best
 * GFLOP/s over REPEATS runs after a warm-up, two ways: one sgemm on
 * OpenBLAS's T threads ("blas"), and T threads of our own each running a
 * single-threaded sgemm on its M/T rows ("split", how embed_vit_forward
 * runs).  Then one line
 *   sgemm_peak gflops=G blas_gflops=Gb split_gflops=Gs kernels=... threads=T
 * with Gb, Gs the FLOP-weighted rates over the four shapes (total FLOP /
 * total best time) and G the larger: the peak a ViT-B/16 forward could
 * reach in its GEMMs.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/vv_log.h"
#include "embed/models/embed_blas.h"

static float *
randf(size_t n)
{
	float *p = malloc(n * sizeof(float));
	size_t i;

	if (!p) {
		fprintf(stderr, "sgemm_peak: out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++)
		p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
	return p;
}

typedef struct part {
	int rows, n, k;        /* this thread's GEMM */
	const float *a, *b;    /* its rows of A; the shared B */
	float *c;              /* its rows of C */
} part;

static void *
run_part(void *arg)
{
	part *p = arg;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->rows, p->n, p->k, 1.0f, p->a,
		    p->k, p->b, p->k, 0.0f, p->c, p->n);
	return NULL;
}

/* One C = A B^T, on BLAS threads (split 0) or split by rows over nt threads. */
static double
gemm_seconds(int split, int nt, int rows, int n, int k, const float *a, const float *b, float *c)
{
	pthread_t tid[64];
	part p[64];
	double t0 = vv_now();
	int i, per = (rows + nt - 1) / nt, start;

	if (!split) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, k, 1.0f, a, k, b, k,
			    0.0f, c, n);
		return vv_now() - t0;
	}
	for (i = 0, start = 0; i < nt; i++, start += per) {
		p[i] = (part){ rows - start < per ? rows - start : per, n, k, a + (size_t)start * k, b,
			       c + (size_t)start * n };
		if (i && pthread_create(&tid[i], NULL, run_part, &p[i]))
			exit(1);
	}
	run_part(&p[0]);
	for (i = 1; i < nt; i++)
		pthread_join(tid[i], NULL);
	return vv_now() - t0;
}

int
main(int argc, char **argv)
{
	static const int shapes[][2] = { { 2304, 768 }, { 768, 768 }, { 3072, 768 }, { 768, 3072 } };
	int rows, reps, s, r, nt, split;
	double tot_flop = 0, tot_t[2] = { 0, 0 }, gb, gs;

	embed_blas_select_kernels(argc, argv);
	rows = argc > 1 ? atoi(argv[1]) : 8 * 197;
	reps = argc > 2 ? atoi(argv[2]) : 5;
	if (rows <= 0 || reps <= 0) {
		fprintf(stderr, "usage: sgemm_peak [ROWS] [REPEATS]\n");
		return 2;
	}
	nt = embed_blas_threads();
	if (nt > 64)
		nt = 64;
	for (s = 0; s < 4; s++) {
		const int n = shapes[s][0], k = shapes[s][1];
		float *a = randf((size_t)rows * k), *b = randf((size_t)n * k);
		float *c = randf((size_t)rows * n);
		double flop = 2.0 * rows * n * k;

		for (split = 0; split < 2; split++) {
			double best = 1e30;

			if (split)
				openblas_set_num_threads(1);
			for (r = 0; r < reps + 1; r++) {
				double t = gemm_seconds(split, nt, rows, n, k, a, b, c);

				if (r > 0 && t < best) /* run 0 is the warm-up */
					best = t;
			}
			openblas_set_num_threads(nt);
			printf("sgemm %s M=%d N=%d K=%d: %.1f GFLOP/s\n", split ? "split" : "blas", rows,
			       n, k, flop / best * 1e-9);
			tot_t[split] += best;
		}
		tot_flop += flop;
		free(a);
		free(b);
		free(c);
	}
	gb = tot_flop / tot_t[0] * 1e-9;
	gs = tot_flop / tot_t[1] * 1e-9;
	printf("sgemm_peak gflops=%.1f blas_gflops=%.1f split_gflops=%.1f kernels=%s threads=%d\n",
	       gb > gs ? gb : gs, gb, gs, embed_blas_corename(), nt);
	return 0;
}
