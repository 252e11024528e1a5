/*
 * test_test_util.c - the array helpers of tests/test_util.c that the parity
 * tests rely on: a NaN or an infinity anywhere is a failure, never a
 * difference that fmax() could drop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "tests/test_util.h"

static void
test_max_diff_nan(void **state)
{
	float a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 2, 3, 4.5f };
	double da[3] = { 0, 1, 2 }, db[3] = { 0, 1, 2 };

	(void)state;
	assert_true(tu_max_diff_f32(a, b, 4) == 0.5);
	b[1] = NAN; /* in the expected array */
	assert_true(isinf(tu_max_diff_f32(a, b, 4)));
	b[1] = 2;
	a[0] = NAN; /* in the first element: fmax(0, NaN) would have kept 0 */
	assert_true(isinf(tu_max_diff_f32(a, b, 4)));
	assert_false(tu_max_diff_f32(a, b, 4) <= 1e30);
	assert_true(isinf(tu_max_abs_f32(a, 4)));
	a[0] = INFINITY;
	b[0] = INFINITY; /* inf - inf is NaN */
	assert_true(isinf(tu_max_diff_f32(a, b, 4)));
	assert_true(tu_max_diff_f64(da, db, 3) == 0);
	db[2] = NAN;
	assert_true(isinf(tu_max_diff_f64(da, db, 3)));
	a[2] = NAN;
	assert_true(isinf(tu_max_diff_f64_f32(da, a, 3)));
	assert_true(isinf(tu_fmax(0, NAN)) && isinf(tu_fmax(NAN, 0)) && tu_fmax(1, 2) == 2);
}

static void
test_assert_close_passes(void **state)
{
	float a[3] = { 1, 2, 3 }, b[3] = { 1, 2, 3.00001f };

	(void)state;
	tu_assert_close_f32("equal within 1e-4", a, b, 3, 1e-4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_diff_nan),
		cmocka_unit_test(test_assert_close_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
