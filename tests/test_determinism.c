/*
 * test_determinism.c - the same inputs give byte-identical .npy and CSV
 * outputs run after run (same thread count), and, across BLAS thread
 * counts (--threads 1 vs 2), identical arrays and CSV numbers within a
 * stated tolerance.  Measured on the demo subset below (this machine,
 * OpenBLAS 0.3.21): embeddings, logits, coordinates and scores were
 * identical across thread counts; the Procrustes disparities in
 * frames.csv differed in the last digits (max relative 6.9e-16, max
 * absolute 3.3e-16; values near 0 by 1e-31).  Asserted: arrays within 1e-5 absolute (float32), CSV
 * numbers within 1e-12 absolute + 1e-9 relative.
 * Runs ./build/vitviz ($VITVIZ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_csv.h"
#include "common/vv_fs.h"
#include "common/vv_npy.h"
#include "tests/test_util.h"

#define NCKPT 4
#define OPTS "--per-class 8 --size 160x120 --fps 5 --seconds-per-checkpoint 0.2 --hold 0.2"
#define ARR_ATOL 1e-5
#define CSV_ATOL 1e-12
#define CSV_RTOL 1e-9

/* what tu_demo_subset(.., 4) copies */
static const char *const ckpts[NCKPT] = { "checkpoint-15", "checkpoint-150", "checkpoint-300",
					  "checkpoint-450" };
static const char *const arrays[] = { "coords.npy", "scores.npy" };
static const char *const csvs[] = { "samples.csv", "outliers.csv", "loss.csv", "frames.csv" };

static int
run_into(const char *work, int threads)
{
	char out[600];

	snprintf(out, sizeof(out), "%s.mp4", work);
	return tu_run("--quiet run %s --data %s -o %s --work %s --threads %d " OPTS, tu_path("run"),
		      TU_DEMO_DATA, out, work, threads);
}

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_determinism") || tu_demo_subset("run", NCKPT))
		return -1;
	if (run_into(tu_path("a1"), 1) || run_into(tu_path("b1"), 1) || run_into(tu_path("a2"), 2) ||
	    run_into(tu_path("b2"), 2))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* Every compared file of work folder `a` and its twin in `b`, as paths. */
static size_t
list_outputs(const char *a, const char *b, char pa[][600], char pb[][600])
{
	size_t n = 0, i;

	for (i = 0; i < NCKPT; i++) {
		snprintf(pa[n], 600, "%s/embeddings/%s.npy", a, ckpts[i]);
		snprintf(pb[n++], 600, "%s/embeddings/%s.npy", b, ckpts[i]);
		snprintf(pa[n], 600, "%s/logits/%s.npy", a, ckpts[i]);
		snprintf(pb[n++], 600, "%s/logits/%s.npy", b, ckpts[i]);
	}
	for (i = 0; i < sizeof(arrays) / sizeof(*arrays); i++) {
		snprintf(pa[n], 600, "%s/%s", a, arrays[i]);
		snprintf(pb[n++], 600, "%s/%s", b, arrays[i]);
	}
	for (i = 0; i < sizeof(csvs) / sizeof(*csvs); i++) {
		snprintf(pa[n], 600, "%s/%s", a, csvs[i]);
		snprintf(pb[n++], 600, "%s/%s", b, csvs[i]);
	}
	return n;
}

static void
check_identical(const char *a, const char *b)
{
	char pa[32][600], pb[32][600];
	size_t n = list_outputs(a, b, pa, pb), i;

	for (i = 0; i < n; i++)
		if (!tu_files_equal(pa[i], pb[i]))
			fail_msg("%s and %s differ", pa[i], pb[i]);
}

/* Same thread count, two runs: byte-identical. */
static void
test_rerun_identical(void **state)
{
	char a[600];

	(void)state;
	snprintf(a, sizeof(a), "%s", tu_path("a1"));
	check_identical(a, tu_path("b1"));
	snprintf(a, sizeof(a), "%s", tu_path("a2"));
	check_identical(a, tu_path("b2"));
}

/* max |x - y| over two float32 arrays of the same shape */
static double
array_diff(const char *pa, const char *pb)
{
	vv_array *x = NULL, *y = NULL;
	double md = 0;
	int64_t i;

	assert_int_equal(vv_npy_read(pa, &x), 0);
	assert_int_equal(vv_npy_read(pb, &y), 0);
	assert_int_equal(x->ndim, y->ndim);
	assert_int_equal(vv_array_numel(x), vv_array_numel(y));
	assert_int_equal(x->dtype, VV_F32);
	assert_int_equal(y->dtype, VV_F32);
	for (i = 0; i < vv_array_numel(x); i++) {
		double u = ((float *)x->data)[i], v = ((float *)y->data)[i];

		assert_int_equal(isnan(u), isnan(v));
		if (!isnan(u))
			md = fmax(md, fabs(u - v));
	}
	vv_array_free(&x);
	vv_array_free(&y);
	return md;
}

static int
as_number(const char *s, double *v)
{
	char *end;

	if (!*s)
		return 0;
	*v = strtod(s, &end);
	return *end == '\0';
}

/*
 * Compare two CSV files cell by cell: numbers within the tolerance, other
 * text equal.  *max_rel / *max_abs receive the largest differences seen.
 */
static void
csv_diff(const char *pa, const char *pb, double *max_abs, double *max_rel)
{
	vv_csv *x = NULL, *y = NULL;
	size_t r, c;

	assert_int_equal(vv_csv_read(pa, 1 << 24, &x), 0);
	assert_int_equal(vv_csv_read(pb, 1 << 24, &y), 0);
	assert_int_equal(x->nrows, y->nrows);
	assert_int_equal(x->ncols, y->ncols);
	for (c = 0; c < x->ncols; c++)
		assert_string_equal(x->header[c], y->header[c]);
	for (r = 0; r < x->nrows; r++)
		for (c = 0; c < x->ncols; c++) {
			const char *s = x->rows[r][c], *t = y->rows[r][c];
			double u, v, d;

			if (!as_number(s, &u) || !as_number(t, &v)) {
				if (strcmp(s, t))
					fail_msg("%s row %zu col %s: \"%s\" vs \"%s\"", pa, r + 1,
						 x->header[c], s, t);
				continue;
			}
			if (isnan(u) || isnan(v)) {
				assert_int_equal(isnan(u), isnan(v));
				continue;
			}
			d = fabs(u - v);
			*max_abs = fmax(*max_abs, d);
			if (fmax(fabs(u), fabs(v)) > CSV_ATOL) /* relative: away from 0 */
				*max_rel = fmax(*max_rel, d / fmax(fabs(u), fabs(v)));
			if (d > CSV_ATOL + CSV_RTOL * fmax(fabs(u), fabs(v)))
				fail_msg("%s row %zu col %s: %s vs %s", pa, r + 1, x->header[c], s, t);
		}
	vv_csv_free(&x);
	vv_csv_free(&y);
}

/* --threads 1 against --threads 2: within the stated tolerance. */
static void
test_threads_within_tolerance(void **state)
{
	char a[600], pa[32][600], pb[32][600];
	double arr = 0, cabs = 0, crel = 0;
	size_t n, i, identical = 0;

	(void)state;
	snprintf(a, sizeof(a), "%s", tu_path("a1"));
	n = list_outputs(a, tu_path("a2"), pa, pb);
	for (i = 0; i < n; i++) {
		identical += tu_files_equal(pa[i], pb[i]);
		if (strstr(pa[i], ".npy"))
			arr = fmax(arr, array_diff(pa[i], pb[i]));
		else
			csv_diff(pa[i], pb[i], &cabs, &crel);
	}
	printf("threads 1 vs 2: %zu of %zu files byte-identical; arrays max abs diff %.3g; "
	       "CSV numbers max abs diff %.3g, max rel diff %.3g\n", identical, n, arr, cabs, crel);
	assert_true(arr <= ARR_ATOL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rerun_identical),
		cmocka_unit_test(test_threads_within_tolerance),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
