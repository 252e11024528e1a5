/*
 * ood_bench.c - time analysis_ood_scores() on an N x D float32 .npy.
 *
 *   ood_bench X.npy [SCORES_OUT.npy] [REPEATS]
 *
 * Prints one line "vitviz n=.. d=.. k=.. seconds=.. peak_rss_mib=.." (the
 * best of REPEATS runs, default 3) and writes the scores as float32 when
 * SCORES_OUT is given.  Threads: whatever OPENBLAS_NUM_THREADS says.
 * OOD_PRUNING=0 in the environment turns the exact pruning off; the line
 * also tells the share of similarities pruning skipped.  OOD_AVG_OUT=FILE
 * writes the mean neighbour distances of the last run too (raw float64).
 */
#include "analysis/analysis_ood.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

int
main(int argc, char **argv)
{
	vv_array *x = NULL;
	double *sc, *avg, best = 1e30;
	float *out;
	struct rusage ru;
	int64_t n, d, i;
	int r, reps = argc > 3 ? atoi(argv[3]) : 3;

	if (argc < 2) {
		fprintf(stderr, "usage: ood_bench X.npy [SCORES_OUT.npy] [REPEATS]\n");
		return 2;
	}
	if (vv_npy_read(argv[1], &x) || x->ndim != 2) {
		fprintf(stderr, "ood_bench: %s\n", x ? "expected a 2-D array" : vv_errmsg());
		return 3;
	}
	n = x->shape[0];
	d = x->shape[1];
	sc = malloc((size_t)n * sizeof(*sc));
	avg = malloc((size_t)n * sizeof(*avg));
	out = malloc((size_t)n * sizeof(*out));
	if (!sc || !avg || !out)
		return 1;
	if (getenv("OOD_PRUNING"))
		analysis_ood_set_pruning(atoi(getenv("OOD_PRUNING")));
	for (r = 0; r < (reps > 0 ? reps : 1); r++) {
		double t0 = vv_now(), t;

		if (analysis_ood_scores(x->data, n, d, 0, ANALYSIS_METRIC_AUTO, ANALYSIS_OOD_MEDIAN, sc, avg)) {
			fprintf(stderr, "ood_bench: %s\n", vv_errmsg());
			return 1;
		}
		t = vv_now() - t0;
		best = t < best ? t : best;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("vitviz n=%lld d=%lld k=%lld seconds=%.4f peak_rss_mib=%.1f pruned=%.3f\n", (long long)n,
	       (long long)d, (long long)analysis_ood_k(n, 0), best, ru.ru_maxrss / 1024.0,
	       analysis_ood_pruned_fraction());
	if (argc > 2) {
		int64_t shape[1] = { n };

		for (i = 0; i < n; i++)
			out[i] = (float)sc[i];
		if (vv_npy_write(argv[2], VV_F32, out, 1, shape)) {
			fprintf(stderr, "ood_bench: %s\n", vv_errmsg());
			return 4;
		}
	}
	if (getenv("OOD_AVG_OUT")) {
		FILE *fp = fopen(getenv("OOD_AVG_OUT"), "wb");

		if (!fp || fwrite(avg, sizeof(*avg), (size_t)n, fp) != (size_t)n || fclose(fp)) {
			fprintf(stderr, "ood_bench: cannot write %s\n", getenv("OOD_AVG_OUT"));
			return 4;
		}
	}
	free(out);
	free(avg);
	free(sc);
	vv_array_free(&x);
	return 0;
}
