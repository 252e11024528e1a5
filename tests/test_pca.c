/* test_pca.c - analysis_pca2 against sklearn PCA(2) (signs as sklearn >= 1.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis_pca.h"
#include "common/vv_error.h"
#include "common/vv_npy.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/analysis/"

/* Parity tolerance: coordinates within 1e-4 of max |coordinate| (sklearn, float64). */
#define COORD_RTOL 1e-4

static vv_array *
load(const char *name)
{
	return tu_load_npy(FIX "%s.npy", name);
}

static void
check_case(const char *name)
{
	char nm[64];
	vv_array *x, *y, *comp;
	int64_t n, d, i;
	double *got, *axes, var[2], mx = 0, worst = 0;

	snprintf(nm, sizeof(nm), "%s_x", name);
	x = load(nm);
	snprintf(nm, sizeof(nm), "%s_y", name);
	y = load(nm);
	snprintf(nm, sizeof(nm), "%s_comp", name);
	comp = load(nm);
	n = x->shape[0];
	d = x->shape[1];
	got = malloc((size_t)n * 2 * sizeof(*got));
	axes = malloc((size_t)d * 2 * sizeof(*axes));
	assert_int_equal(analysis_pca2(x->data, n, d, got, axes, var), 0);
	mx = tu_max_abs_f32(y->data, n * 2);
	for (i = 0; i < n * 2; i++) {
		double e = fabs(got[i] - ((float *)y->data)[i]) / mx;

		worst = tu_fmax(worst, e);
		/* same sign wherever the value is not near zero */
		if (fabs(((float *)y->data)[i]) > 1e-3 * mx)
			assert_true((got[i] > 0) == (((float *)y->data)[i] > 0));
	}
	for (i = 0; i < d * 2; i++)
		assert_true(fabs(axes[i] - ((float *)comp->data)[i]) < 1e-4);
	print_message("%s: %lldx%lld max relative coordinate error %.2e\n", name, (long long)n, (long long)d, worst);
	assert_true(worst <= COORD_RTOL);
	assert_true(var[0] >= var[1] && var[1] >= 0);
	free(axes);
	free(got);
	vv_array_free(&comp);
	vv_array_free(&y);
	vv_array_free(&x);
}

static void
test_scatter_50x16(void **state)
{
	(void)state;
	check_case("pca_50x16");
}

static void
test_scatter_200x64(void **state)
{
	(void)state;
	check_case("pca_200x64");
}

static void
test_gram_8x16(void **state)
{
	(void)state;
	check_case("pca_8x16");
}

static void
test_scatter_11x3(void **state)
{
	(void)state;
	check_case("pca_11x3");
}

/* Rank 1 data: the second coordinate is zero, the first recovers the line. */
static void
test_rank_deficient(void **state)
{
	float x[4 * 3];
	double c[8];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		x[i * 3] = (float)i;
		x[i * 3 + 1] = (float)(2 * i);
		x[i * 3 + 2] = 1.0f;
	}
	assert_int_equal(analysis_pca2(x, 4, 3, c, NULL, NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_true(fabs(c[2 * i + 1]) < 1e-6);
		/* largest loading (y) positive: coordinate grows with i */
		assert_true(fabs(c[2 * i] - (i - 1.5) * sqrt(5.0)) < 1e-9);
	}
	/* the Gram path (n <= d) on two points */
	assert_int_equal(analysis_pca2(x, 2, 3, c, NULL, NULL), 0);
	assert_true(fabs(c[0] + 0.5 * sqrt(5.0)) < 1e-9 && fabs(c[2] - 0.5 * sqrt(5.0)) < 1e-9);
	assert_true(c[1] == 0 && c[3] == 0);
}

static void
test_bad_shapes(void **state)
{
	float x[4] = { 1, 2, 3, 4 };
	double c[8];

	(void)state;
	assert_int_equal(analysis_pca2(x, 1, 4, c, NULL, NULL), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "at least 2"));
	assert_int_equal(analysis_pca2(x, 4, 1, c, NULL, NULL), VV_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scatter_50x16),
		cmocka_unit_test(test_scatter_200x64),
		cmocka_unit_test(test_gram_8x16),
		cmocka_unit_test(test_scatter_11x3),
		cmocka_unit_test(test_rank_deficient),
		cmocka_unit_test(test_bad_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
