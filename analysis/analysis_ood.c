/* analysis_ood.c - cleanlab-compatible kNN outlier scores from GEMM tiles: the API and the driver. */
#include "analysis/analysis_ood.h"
#include "analysis/analysis_ood_knn.h"
#include "analysis/analysis_ood_prune.h"
#include "analysis/analysis_ood_tiles.h"
#include "common/vv_error.h"
#include "common/vv_thread.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* float64 machine epsilon (eps) and negative epsilon (epsneg = 2^-53) */
#define EPS64 DBL_EPSILON
#define EPSNEG64 (DBL_EPSILON / 2)

/* Pruning switch and the last cosine call's pruned fraction (tests, bench). */
static int ood_pruning = 1;
static double ood_pruned = 0;

void
analysis_ood_set_pruning(int on)
{
	ood_pruning = on != 0;
}

double
analysis_ood_pruned_fraction(void)
{
	return ood_pruned;
}

int64_t
analysis_ood_k(int64_t n, int k)
{
	if (k > 0)
		return k;
	return n - 1 < 10 ? n - 1 : 10;
}

int
analysis_ood_metric(int metric, int64_t d)
{
	if (metric == ANALYSIS_METRIC_AUTO)
		return d > 3 ? ANALYSIS_METRIC_COSINE : ANALYSIS_METRIC_EUCLIDEAN;
	return metric;
}

const char *
analysis_metric_name(int metric)
{
	switch (metric) {
	case ANALYSIS_METRIC_AUTO:
		return "auto";
	case ANALYSIS_METRIC_COSINE:
		return "cosine";
	case ANALYSIS_METRIC_EUCLIDEAN:
		return "euclidean";
	}
	return "?";
}

const char *
analysis_ood_scale_name(int scale)
{
	return scale == ANALYSIS_OOD_NONE ? "none" : "median";
}

int
analysis_parse_metric(const char *s, int *out)
{
	int m;

	for (m = ANALYSIS_METRIC_AUTO; m <= ANALYSIS_METRIC_EUCLIDEAN; m++)
		if (s && !strcmp(s, analysis_metric_name(m))) {
			*out = m;
			return 0;
		}
	return vv_error(VV_EINVAL, "unknown metric \"%s\" (expected auto, cosine or euclidean)", s ? s : "");
}

int
analysis_parse_ood_scale(const char *s, int *out)
{
	if (s && !strcmp(s, "median"))
		*out = ANALYSIS_OOD_MEDIAN;
	else if (s && !strcmp(s, "none"))
		*out = ANALYSIS_OOD_NONE;
	else
		return vv_error(VV_EINVAL, "unknown outlier scale \"%s\" (expected median or none)", s ? s : "");
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
analysis_median(const double *v, int64_t n)
{
	double *s, m;

	if (n <= 0)
		return NAN;
	s = malloc((size_t)n * sizeof(*s));
	if (!s)
		return NAN;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
	free(s);
	return m;
}

/* One thread of analysis_ood_knn_finish_cosine(). */
struct finish_job {
	const analysis_ood_knn *s; /* heaps */
	const float *x;     /* the caller's rows */
	int64_t d, k;       /* width, neighbours */
	const double *inv;  /* inverse norms */
	double delta;       /* float32 error bound */
	double *avg;        /* output, caller's order */
	int64_t p0, p1;     /* working rows p0..p1-1 */
	int64_t redo;       /* brute-force rows, -1: out of memory */
};

static void *
finish_thread(void *arg)
{
	struct finish_job *j = arg;

	j->redo = analysis_ood_knn_finish_cosine(j->s, j->x, j->d, j->inv, j->k, j->delta, j->avg, j->p0,
						 j->p1);
	return NULL;
}

/* Cosine mean neighbour distances (caller's order) into avg. */
static int
cosine_avg(const float *x, int64_t n, int64_t d, int64_t k, double *avg)
{
	/* float32 GEMM error bound of a unit-row dot product (see analysis_ood_knn_finish_cosine()) */
	const double delta = 1.01 * (double)(d + 3) * 0x1p-24 + 1e-12;
	double *inv = malloc((size_t)n * sizeof(*inv)), work = 0;
	analysis_ood_prune pc;
	analysis_ood_knn s;
	float *xn = NULL;
	int prune = ood_pruning && n >= OOD_PRUNE_MIN, err, i, nth = vv_threads(), blas;
	struct finish_job job[OOD_MAX_THREADS];

	memset(&pc, 0, sizeof(pc));
	if (!inv)
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	/* our threads share the work, each calling single-threaded GEMMs */
	nth = nth > OOD_MAX_THREADS ? OOD_MAX_THREADS : nth;
	blas = vv_blas_serial_begin();
	analysis_ood_inverse_norms(x, n, d, inv);
	if (!(xn = analysis_ood_normalised_rows(x, n, d, NULL, inv))) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_inv;
	}
	if (prune && ((err = analysis_ood_prune_init(&pc, xn, n, d, delta)) ||
		      (err = analysis_ood_permute_rows(xn, n, d, pc.perm))))
		goto out_prune;
	if ((err = analysis_ood_knn_init(&s, x, n, d, k, OOD_EXTRA, pc.perm)))
		goto out_prune;
	err = prune ? analysis_ood_run_pruned(&s, xn, n, d, &pc, nth, &work)
		    : analysis_ood_run_symmetric(&s, xn, n, d, NULL, nth, &work);
	free(xn);
	xn = NULL;
	if (err)
		goto out_state;
	ood_pruned = prune ? 1.0 - work / ((double)n * (double)n) : 0;
	for (i = 0; i < nth; i++)
		job[i] = (struct finish_job){ .s = &s, .x = x, .d = d, .k = k, .inv = inv, .delta = delta,
					      .avg = avg, .p0 = n * i / nth, .p1 = n * (i + 1) / nth };
	vv_run_parallel(finish_thread, job, sizeof(*job), nth);
	for (i = 0; i < nth; i++)
		if (job[i].redo < 0)
			err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
out_state:
	analysis_ood_knn_free(&s);
out_prune:
	analysis_ood_prune_free(&pc);
	free(xn);
out_inv:
	vv_blas_serial_end(blas);
	free(inv);
	return err;
}

int
analysis_ood_scores(const float *x, int64_t n, int64_t d, int k, int metric, int scale, double *scores,
		    double *avg_dist)
{
	int64_t kk = analysis_ood_k(n, k), i;
	double *avg = avg_dist, tol, denom = 1.0;
	int err;

	metric = analysis_ood_metric(metric, d);
	if (n < 2)
		return vv_error(VV_EINVAL, "outlier scores: need at least 2 samples (got %lld)", (long long)n);
	if (d < 1 || k < 0 || kk >= n)
		return vv_error(VV_EINVAL, "outlier scores: k=%lld must be below the number of samples %lld",
				(long long)kk, (long long)n);
	if (n > INT32_MAX || kk > INT32_MAX - OOD_EXTRA || d > INT32_MAX)
		return vv_error(VV_EUNSUPPORTED, "outlier scores: %lld x %lld is too large", (long long)n,
				(long long)d);
	if (metric != ANALYSIS_METRIC_COSINE && metric != ANALYSIS_METRIC_EUCLIDEAN)
		return vv_error(VV_EINVAL, "outlier scores: unknown metric %d", metric);
	if (!avg && !(avg = malloc((size_t)n * sizeof(*avg))))
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	if (metric == ANALYSIS_METRIC_COSINE) {
		if ((err = cosine_avg(x, n, d, kk, avg)))
			goto out_avg;
	} else {
		analysis_ood_knn s;
		int blas;

		if ((err = analysis_ood_knn_init(&s, x, n, d, kk, 0, NULL)))
			goto out_avg;
		blas = vv_blas_serial_begin(); /* same GEMM tiles, same neighbours */
		err = analysis_ood_run_euclidean(&s, x, n, d);
		vv_blas_serial_end(blas);
		/* duplicates contribute zeros; the heap holds the nearest others in double */
		for (i = 0; !err && i < n; i++) {
			const int32_t *hi = s.hidx + i * s.k;
			double sum = 0;
			int32_t j;

			for (j = 0; j < s.cnt[i]; j++)
				sum += analysis_ood_exact_distance(x, d, i, hi[j], metric, NULL);
			avg[i] = sum / (double)kk;
		}
		analysis_ood_knn_free(&s);
		if (err)
			goto out_avg;
	}
	if (scale == ANALYSIS_OOD_MEDIAN) {
		double med = analysis_median(avg, n);

		denom = med > 100 * EPS64 ? med : 100 * EPS64;
	}
	tol = metric == ANALYSIS_METRIC_COSINE ? 100 * EPSNEG64 : sqrt(100 * EPS64);
	for (i = 0; i < n; i++)
		scores[i] = avg[i] < tol ? 1.0 : exp(-avg[i] / denom);
out_avg:
	if (avg != avg_dist)
		free(avg);
	return err;
}
