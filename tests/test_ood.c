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

#define FIX "tests/fixtures/analysis/"

/* Parity tolerance (absolute) for mean distances and scores. */
#define OOD_TOL 1e-6
#define TOP 8

static vv_array *
load(const char *name, const char *suffix)
{
	char path[256];
	vv_array *a = NULL;

	snprintf(path, sizeof(path), FIX "%s%s.npy", name, suffix);
	if (vv_npy_read(path, &a))
		fail_msg("%s: %s", path, vv_errmsg());
	return a;
}

static double
max_diff(const double *a, const float *b, int64_t n)
{
	double m = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		m = fmax(m, fabs(a[i] - b[i]));
	return m;
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

static void
check_case(const char *name, int k, int metric, const char *med_name)
{
	vv_array *x = load(name, "_x"), *avg = load(name, "_avg"), *med = load(name, med_name), *none = load(name, "_none");
	int64_t n = x->shape[0], d = x->shape[1];
	double *sc = malloc((size_t)n * sizeof(*sc)), *ad = malloc((size_t)n * sizeof(*ad));
	double e_avg, e_med, e_none;

	assert_int_equal(analysis_ood_scores(x->data, n, d, k, metric, ANALYSIS_OOD_MEDIAN, sc, ad), 0);
	e_med = max_diff(sc, med->data, n);
	check_top(sc, med->data, n);
	e_avg = k ? 0 : max_diff(ad, avg->data, n);
	assert_int_equal(analysis_ood_scores(x->data, n, d, k, metric, ANALYSIS_OOD_NONE, sc, NULL), 0);
	e_none = k ? 0 : max_diff(sc, none->data, n);
	print_message("%s (%s, k=%lld): max error mean distance %.2e, score(median) %.2e, score(none) %.2e\n", name,
		      analysis_metric_name(analysis_ood_metric(metric, d)), (long long)analysis_ood_k(n, k), e_avg,
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
	check_case("ood_50x16", 0, ANALYSIS_METRIC_AUTO, "_med");
}

static void
test_cosine_200x64(void **state)
{
	(void)state;
	check_case("ood_200x64", 0, ANALYSIS_METRIC_AUTO, "_med");
}

static void
test_small_n(void **state)
{
	(void)state;
	check_case("ood_11x16", 0, ANALYSIS_METRIC_AUTO, "_med");
	check_case("ood_6x8", 0, ANALYSIS_METRIC_AUTO, "_med");
}

static void
test_duplicates(void **state)
{
	vv_array *x = load("ood_dup", "_x");
	double sc[60], ad[60];
	int i;

	(void)state;
	check_case("ood_dup", 0, ANALYSIS_METRIC_AUTO, "_med");
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
	check_case("ood_150x3", 0, ANALYSIS_METRIC_AUTO, "_med");
	check_case("ood_40x2", 0, ANALYSIS_METRIC_AUTO, "_med");
}

/* k and metric given: euclidean through the GEMM expansion (D = 64). */
static void
test_explicit_k_metric(void **state)
{
	(void)state;
	check_case("ood_200x64", 5, ANALYSIS_METRIC_EUCLIDEAN, "_k5e_med");
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
