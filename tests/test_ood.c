/* test_ood.c - analysis_ood_scores against cleanlab's formula on sklearn NearestNeighbors distances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis_input.h"
#include "analysis/analysis_ood.h"
#include "common/vv_error.h"
#include "common/vv_npy.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/analysis/"

/* Parity tolerance (absolute) for mean distances and scores. */
#define OOD_TOL 1e-6
#define TOP 8

static vv_array *
load(const char *name, const char *suffix)
{
	return tu_load_npy(FIX "%s%s.npy", name, suffix);
}

/* The first TOP ranks of our scores and of the reference agree. */
static void
check_top(const double *got, const float *exp, int64_t n)
{
	float *g = malloc((size_t)n * sizeof(*g));
	int32_t *og = malloc((size_t)n * sizeof(*og)), *oe = malloc((size_t)n * sizeof(*oe));
	int64_t i;

	for (i = 0; i < n; i++)
		g[i] = (float)got[i];
	assert_int_equal(analysis_rank(g, n, og), 0);
	assert_int_equal(analysis_rank(exp, n, oe), 0);
	for (i = 0; i < TOP && i < n; i++)
		assert_int_equal(og[i], oe[i]);
	free(oe);
	free(og);
	free(g);
}

/*
 * Compare mean distances and both score kinds of `name` with the reference
 * files <name><tag>_avg/_med/_none.npy (tag "" for the defaults, e.g.
 * "_k5e" for an explicit k and metric).
 */
static void
check_case(const char *name, int k, int metric, const char *tag)
{
	char suf[32];
	vv_array *x = load(name, "_x"), *avg, *med, *none;
	int64_t n = x->shape[0], d = x->shape[1];
	double *sc = malloc((size_t)n * sizeof(*sc)), *ad = malloc((size_t)n * sizeof(*ad));
	double e_avg, e_med, e_none;

	snprintf(suf, sizeof(suf), "%s_avg", tag);
	avg = load(name, suf);
	snprintf(suf, sizeof(suf), "%s_med", tag);
	med = load(name, suf);
	snprintf(suf, sizeof(suf), "%s_none", tag);
	none = load(name, suf);
	assert_true(vv_array_numel(avg) == n && vv_array_numel(med) == n && vv_array_numel(none) == n);
	assert_int_equal(analysis_ood_scores(x->data, n, d, k, metric, ANALYSIS_OOD_MEDIAN, sc, ad), 0);
	e_med = tu_max_diff_f64_f32(sc, med->data, n);
	check_top(sc, med->data, n);
	e_avg = tu_max_diff_f64_f32(ad, avg->data, n);
	assert_int_equal(analysis_ood_scores(x->data, n, d, k, metric, ANALYSIS_OOD_NONE, sc, NULL), 0);
	e_none = tu_max_diff_f64_f32(sc, none->data, n);
	print_message("%s%s (%s, k=%lld): max error mean distance %.2e, score(median) %.2e, score(none) %.2e\n", name,
		      tag, analysis_metric_name(analysis_ood_metric(metric, d)), (long long)analysis_ood_k(n, k), e_avg,
		      e_med, e_none);
	assert_true(e_avg <= OOD_TOL && e_med <= OOD_TOL && e_none <= OOD_TOL);
	free(ad);
	free(sc);
	vv_array_free(&none);
	vv_array_free(&med);
	vv_array_free(&avg);
	vv_array_free(&x);
}

static void
test_cosine_50x16(void **state)
{
	(void)state;
	check_case("ood_50x16", 0, ANALYSIS_METRIC_AUTO, "");
}

static void
test_cosine_200x64(void **state)
{
	(void)state;
	check_case("ood_200x64", 0, ANALYSIS_METRIC_AUTO, "");
}

static void
test_small_n(void **state)
{
	(void)state;
	check_case("ood_11x16", 0, ANALYSIS_METRIC_AUTO, "");
	check_case("ood_6x8", 0, ANALYSIS_METRIC_AUTO, "");
}

static void
test_duplicates(void **state)
{
	vv_array *x = load("ood_dup", "_x");
	double sc[60], ad[60];
	int i;

	(void)state;
	check_case("ood_dup", 0, ANALYSIS_METRIC_AUTO, "");
	/* 13 equal rows, more than k = 10: mean distance exactly 0, score 1 */
	assert_int_equal(analysis_ood_scores(x->data, 60, 16, 0, ANALYSIS_METRIC_COSINE, ANALYSIS_OOD_MEDIAN, sc, ad), 0);
	assert_true(ad[3] == 0 && sc[3] == 1.0);
	for (i = 40; i < 52; i++)
		assert_true(ad[i] == 0 && sc[i] == 1.0);
	/* a pair: one zero among the ten distances */
	assert_true(ad[5] > 0 && ad[5] == ad[17]);
	vv_array_free(&x);
}

static void
test_euclidean_low_dim(void **state)
{
	(void)state;
	check_case("ood_150x3", 0, ANALYSIS_METRIC_AUTO, "");
	check_case("ood_40x2", 0, ANALYSIS_METRIC_AUTO, "");
}

/*
 * k and metric given: euclidean through the GEMM expansion (D = 64), and
 * cosine with k = 3 instead of the default 10.
 */
static void
test_explicit_k_metric(void **state)
{
	(void)state;
	check_case("ood_200x64", 5, ANALYSIS_METRIC_EUCLIDEAN, "_k5e");
	check_case("ood_50x16", 3, ANALYSIS_METRIC_COSINE, "_k3c");
}

static void
test_zero_rows_and_median(void **state)
{
	float x[4 * 4] = { 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	double sc[4], ad[4], v[4] = { 3, 1, 2, 10 };

	(void)state;
	/* rows 0 and 3 are equal zero rows: distance 0 to each other, 1 to the rest */
	assert_int_equal(analysis_ood_scores(x, 4, 4, 2, ANALYSIS_METRIC_COSINE, ANALYSIS_OOD_NONE, sc, ad), 0);
	assert_true(fabs(ad[0] - 0.5) < 1e-12 && fabs(ad[3] - 0.5) < 1e-12);
	assert_true(fabs(ad[1] - 1.0) < 1e-12 && fabs(sc[1] - exp(-1.0)) < 1e-12);
	assert_true(analysis_median(v, 4) == 2.5 && analysis_median(v, 3) == 2);
}

static void
test_bad_input(void **state)
{
	float x[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	double sc[4];
	int m;

	(void)state;
	assert_int_equal(analysis_ood_scores(x, 1, 8, 0, 0, 0, sc, NULL), VV_EINVAL);
	assert_int_equal(analysis_ood_scores(x, 4, 2, 4, 0, 0, sc, NULL), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "k=4"));
	assert_int_equal(analysis_ood_k(4, 0), 3);
	assert_int_equal(analysis_ood_k(100, 0), 10);
	assert_int_equal(analysis_ood_metric(ANALYSIS_METRIC_AUTO, 3), ANALYSIS_METRIC_EUCLIDEAN);
	assert_int_equal(analysis_ood_metric(ANALYSIS_METRIC_AUTO, 4), ANALYSIS_METRIC_COSINE);
	assert_int_equal(analysis_parse_metric("cosine", &m), 0);
	assert_int_equal(m, ANALYSIS_METRIC_COSINE);
	assert_int_equal(analysis_parse_metric("manhattan", &m), VV_EINVAL);
	assert_int_equal(analysis_parse_ood_scale("none", &m), 0);
	assert_int_equal(m, ANALYSIS_OOD_NONE);
	assert_int_equal(analysis_parse_ood_scale("mean", &m), VV_EINVAL);
}

/* Deterministic test data: a 64-bit LCG and Box-Muller normals. */
static uint64_t rng_state;

static double
rnd_unif(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((rng_state >> 11) + 0.5) * 0x1p-53;
}

static double
rnd_normal(void)
{
	return sqrt(-2 * log(rnd_unif())) * cos(6.283185307179586 * rnd_unif());
}

/* n x d rows around ncl random centres (noise sd), or plain normals when ncl is 0. */
static float *
gen_rows(int64_t n, int64_t d, int ncl, double noise, uint64_t seed)
{
	float *x = malloc((size_t)(n * d) * sizeof(*x)), *cen = malloc((size_t)((ncl ? ncl : 1) * d) * sizeof(*cen));
	int64_t i, j;

	rng_state = seed;
	for (i = 0; i < (ncl ? ncl : 1) * d; i++)
		cen[i] = (float)rnd_normal();
	for (i = 0; i < n; i++) {
		int c = ncl ? (int)(rnd_unif() * ncl) : 0;

		for (j = 0; j < d; j++)
			x[i * d + j] = (float)((ncl ? cen[c * d + j] : 0) + noise * rnd_normal());
	}
	free(cen);
	return x;
}

/* Brute-force mean distance of row i to its k nearest others, all in double. */
static double
brute_avg(const float *x, int64_t n, int64_t d, int64_t i, int64_t k, int cosine)
{
	double *best = malloc((size_t)k * sizeof(*best)), ni = 0, sum = 0;
	int64_t j, l, m = 0;

	for (l = 0; l < d; l++)
		ni += (double)x[i * d + l] * x[i * d + l];
	for (j = 0; j < n; j++) {
		double dot = 0, nj = 0, dist;

		if (j == i)
			continue;
		if (!memcmp(x + i * d, x + j * d, (size_t)d * sizeof(*x))) {
			dist = 0; /* exact duplicates */
		} else if (cosine) {
			for (l = 0; l < d; l++) {
				dot += (double)x[i * d + l] * x[j * d + l];
				nj += (double)x[j * d + l] * x[j * d + l];
			}
			dist = 1 - dot / ((ni > 0 ? sqrt(ni) : 1) * (nj > 0 ? sqrt(nj) : 1));
			dist = dist < 0 ? 0 : dist > 2 ? 2 : dist;
		} else {
			for (l = 0; l < d; l++)
				dot += ((double)x[i * d + l] - x[j * d + l]) * ((double)x[i * d + l] - x[j * d + l]);
			dist = sqrt(dot);
		}
		if (m == k && !(dist < best[k - 1]))
			continue;
		l = m < k ? m++ : k - 1;
		while (l > 0 && best[l - 1] > dist) {
			best[l] = best[l - 1];
			l--;
		}
		best[l] = dist;
	}
	for (l = 0; l < k; l++)
		sum += best[l];
	free(best);
	return sum / (double)k;
}

/*
 * Pruned and unpruned searches give the same mean distances and scores (to
 * 1e-12), and every step-th row matches a brute-force search in double.
 * Returns the pruned share of the pruned run.
 */
static double
check_pruning(const float *x, int64_t n, int64_t d, int metric, int64_t step)
{
	double *s1 = malloc((size_t)n * sizeof(*s1)), *a1 = malloc((size_t)n * sizeof(*a1));
	double *s0 = malloc((size_t)n * sizeof(*s0)), *a0 = malloc((size_t)n * sizeof(*a0)), frac, e = 0;
	int64_t i, k = analysis_ood_k(n, 0);
	int cosine = analysis_ood_metric(metric, d) == ANALYSIS_METRIC_COSINE;

	analysis_ood_set_pruning(1);
	assert_int_equal(analysis_ood_scores(x, n, d, 0, metric, ANALYSIS_OOD_MEDIAN, s1, a1), 0);
	frac = analysis_ood_pruned_fraction();
	analysis_ood_set_pruning(0);
	assert_int_equal(analysis_ood_scores(x, n, d, 0, metric, ANALYSIS_OOD_MEDIAN, s0, a0), 0);
	analysis_ood_set_pruning(1);
	for (i = 0; i < n; i++) {
		assert_true(fabs(a1[i] - a0[i]) <= 1e-12);
		assert_true(fabs(s1[i] - s0[i]) <= 1e-12);
	}
	for (i = 0; step > 0 && i < n; i += step)
		e = tu_fmax(e, fabs(a1[i] - brute_avg(x, n, d, i, k, cosine)));
	print_message("n=%lld d=%lld: pruned share %.3f, max |mean distance - brute force| %.2e\n", (long long)n,
		      (long long)d, frac, e);
	assert_true(e <= 1e-12);
	free(a0);
	free(s0);
	free(a1);
	free(s1);
	return frac;
}

/* Clustered rows: pruning skips most pairs and changes nothing. */
static void
test_pruned_clustered(void **state)
{
	float *x = gen_rows(2000, 128, 8, 0.6, 11);

	(void)state;
	assert_true(check_pruning(x, 2000, 128, ANALYSIS_METRIC_AUTO, 3) > 0.5);
	free(x);
}

/* Unclustered rows: pruning gives up after its probe blocks, same result. */
static void
test_pruned_gaussian(void **state)
{
	float *x = gen_rows(3500, 64, 0, 1.0, 12);

	(void)state;
	check_pruning(x, 3500, 64, ANALYSIS_METRIC_AUTO, 50);
	free(x);
}

/* Duplicates (pairs, a group larger than k), zero rows and near-ties. */
static void
test_pruned_adversarial(void **state)
{
	int64_t n = 1200, d = 32, i, j;
	float *x = gen_rows(n, d, 5, 0.5, 13);

	(void)state;
	for (i = 0; i < 60; i += 2) /* pairs */
		memcpy(x + (i + 1) * d, x + i * d, (size_t)d * sizeof(*x));
	for (i = 100; i < 115; i++) /* 15 equal rows */
		memcpy(x + i * d, x + 99 * d, (size_t)d * sizeof(*x));
	for (i = 200; i < 204; i++) /* zero rows */
		memset(x + i * d, 0, (size_t)d * sizeof(*x));
	for (i = 300; i < 340; i++) /* near-ties: below float32 resolution of the GEMM */
		for (j = 0; j < d; j++)
			x[i * d + j] = x[299 * d + j] * (1 + 1e-6f * (float)((i + j) % 3));
	for (i = 400; i < 420; i++) /* scalar multiples: cosine distance 0, not duplicates */
		for (j = 0; j < d; j++)
			x[i * d + j] = x[399 * d + j] * (float)(i - 398);
	check_pruning(x, n, d, ANALYSIS_METRIC_COSINE, 1);
	free(x);
}

/* All rows identical, tiny n, and the euclidean path (d <= 3). */
static void
test_pruned_edge_cases(void **state)
{
	float *x = gen_rows(700, 3, 4, 0.3, 14), *same = malloc(600 * 8 * sizeof(*same));
	double sc[600], ad[600];
	int64_t i;

	(void)state;
	for (i = 0; i < 600 * 8; i++)
		same[i] = (float)(i % 8) - 3.5f;
	check_pruning(same, 600, 8, ANALYSIS_METRIC_AUTO, 37);
	assert_int_equal(analysis_ood_scores(same, 600, 8, 0, 0, ANALYSIS_OOD_MEDIAN, sc, ad), 0);
	for (i = 0; i < 600; i++)
		assert_true(ad[i] == 0 && sc[i] == 1.0);
	check_pruning(x, 11, 8, ANALYSIS_METRIC_AUTO, 1);
	check_pruning(x, 5, 8, ANALYSIS_METRIC_AUTO, 1);
	check_pruning(x, 700, 3, ANALYSIS_METRIC_AUTO, 7);
	check_pruning(x, 600, 3, ANALYSIS_METRIC_COSINE, 7);
	free(same);
	free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cosine_50x16),
		cmocka_unit_test(test_cosine_200x64),
		cmocka_unit_test(test_small_n),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_euclidean_low_dim),
		cmocka_unit_test(test_explicit_k_metric),
		cmocka_unit_test(test_zero_rows_and_median),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_pruned_clustered),
		cmocka_unit_test(test_pruned_gaussian),
		cmocka_unit_test(test_pruned_adversarial),
		cmocka_unit_test(test_pruned_edge_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
