/*
 * sgemm_peak.c - OpenBLAS sgemm rate at the GEMM shapes of a ViT forward
 * pass, measured on the spot (bench/vit.sh divides vitviz's GFLOP/s by it).
 *
 *   build/bench/sgemm_peak [ROWS] [REPEATS]
 *
 * ROWS is M (batch x tokens, default 8 x 197).  For each shape (the ViT-B/16
 * Linear layers: N x K = 2304 x 768 qkv, 768 x 768 proj, 3072 x 768 fc1,
 * 768 x 3072 fc2; C = A B^T as embed_vit.c calls it) it prints the best
 * GFLOP/s over REPEATS runs after a warm-up, then one line
 *   sgemm_peak gflops=G kernels=... threads=T
 * with G the FLOP-weighted rate over the four shapes (total FLOP / total
 * best time), the "peak" a ViT-B/16 forward could reach in its GEMMs.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embed/embed_blas.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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

int
main(int argc, char **argv)
{
	static const int shapes[][2] = { { 2304, 768 }, { 768, 768 }, { 3072, 768 }, { 768, 3072 } };
	int rows, reps, s, r;
	double tot_flop = 0, tot_t = 0;

	embed_blas_select_kernels(argc, argv);
	rows = argc > 1 ? atoi(argv[1]) : 8 * 197;
	reps = argc > 2 ? atoi(argv[2]) : 5;
	if (rows <= 0 || reps <= 0) {
		fprintf(stderr, "usage: sgemm_peak [ROWS] [REPEATS]\n");
		return 2;
	}
	for (s = 0; s < 4; s++) {
		const int n = shapes[s][0], k = shapes[s][1];
		float *a = randf((size_t)rows * k), *b = randf((size_t)n * k);
		float *c = randf((size_t)rows * n);
		double best = 1e30, flop = 2.0 * rows * n * k;

		for (r = 0; r < reps + 1; r++) {
			double t0 = now(), t;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, k, 1.0f, a, k,
				    b, k, 0.0f, c, n);
			t = now() - t0;
			if (r > 0 && t < best) /* run 0 is the warm-up */
				best = t;
		}
		printf("sgemm M=%d N=%d K=%d: %.1f GFLOP/s\n", rows, n, k, flop / best * 1e-9);
		tot_flop += flop;
		tot_t += best;
		free(a);
		free(b);
		free(c);
	}
	printf("sgemm_peak gflops=%.1f kernels=%s threads=%d\n", tot_flop / tot_t * 1e-9,
	       embed_blas_corename(), embed_blas_threads());
	return 0;
}
