/* test_procrustes.c - analysis_procrustes / analysis_align against scipy.spatial.procrustes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis_procrustes.h"
#include "common/vv_error.h"
#include "common/vv_npy.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/analysis/"

/* Parity tolerance against scipy (matrices and disparity, absolute). */
#define PROC_TOL 1e-6

static double *
load_d(const char *name, int64_t *count)
{
	char path[256];

	snprintf(path, sizeof(path), FIX "%s.npy", name);
	return tu_load_npy_f64(path, count);
}

static void
check_pair(const char *name)
{
	char nm[64];
	double *a, *b, *m1, *m2, *dis, *o1, *o2, got;
	int64_t cnt;

	snprintf(nm, sizeof(nm), "%s_a", name);
	a = load_d(nm, &cnt);
	snprintf(nm, sizeof(nm), "%s_b", name);
	b = load_d(nm, NULL);
	snprintf(nm, sizeof(nm), "%s_m1", name);
	m1 = load_d(nm, NULL);
	snprintf(nm, sizeof(nm), "%s_m2", name);
	m2 = load_d(nm, NULL);
	snprintf(nm, sizeof(nm), "%s_disp", name);
	dis = load_d(nm, NULL);
	o1 = malloc((size_t)cnt * sizeof(*o1));
	o2 = malloc((size_t)cnt * sizeof(*o2));
	assert_int_equal(analysis_procrustes(a, b, cnt / 2, 2, o1, o2, &got), 0);
	print_message("%s: |A - scipy| %.2e, |B' - scipy| %.2e, disparity %.9f vs %.9f\n", name,
		      tu_max_diff_f64(o1, m1, cnt), tu_max_diff_f64(o2, m2, cnt), got, dis[0]);
	assert_true(tu_max_diff_f64(o1, m1, cnt) <= PROC_TOL);
	assert_true(tu_max_diff_f64(o2, m2, cnt) <= PROC_TOL);
	assert_true(fabs(got - dis[0]) <= PROC_TOL);
	free(o2);
	free(o1);
	free(dis);
	free(m2);
	free(m1);
	free(b);
	free(a);
}

static void
test_random_pair(void **state)
{
	(void)state;
	check_pair("proc_rand");
}

static void
test_rotated_scaled_mirrored(void **state)
{
	(void)state;
	check_pair("proc_rot");
}

static void
check_sequence(int mode, const char *exp_name, const char *disp_name)
{
	int64_t cnt;
	double *pca = load_d("seq_pca", &cnt), *exp = load_d(exp_name, NULL), *edis = load_d(disp_name, NULL);
	double *out = malloc((size_t)cnt * sizeof(*out)), dis[3];
	int t;

	assert_int_equal(analysis_align(pca, 3, cnt / 6, mode, out, dis), 0);
	print_message("%s: max |frame - scipy| %.2e; disparities %.6f %.6f %.6f\n", exp_name, tu_max_diff_f64(out, exp, cnt),
		      dis[0], dis[1], dis[2]);
	assert_true(tu_max_diff_f64(out, exp, cnt) <= PROC_TOL);
	for (t = 0; t < 3; t++)
		assert_true(fabs(dis[t] - edis[t]) <= PROC_TOL);
	free(out);
	free(edis);
	free(exp);
	free(pca);
}

static void
test_chain(void **state)
{
	(void)state;
	check_sequence(ANALYSIS_ALIGN_CHAIN, "seq_chain", "seq_chain_disp");
}

static void
test_anchor(void **state)
{
	(void)state;
	check_sequence(ANALYSIS_ALIGN_ANCHOR, "seq_anchor", "seq_anchor_disp");
}

static double
frob(const double *x, int64_t count)
{
	double ss = 0;

	for (int64_t i = 0; i < count; i++)
		ss += x[i] * x[i];
	return sqrt(ss);
}

/*
 * rotate (the default): each frame keeps its PCA's spread (Frobenius norm
 * of the centred frame), and is scipy's chain frame up to that scale: the
 * rotation is scipy's, only the rescaling is gone.  Chain's frames, for
 * contrast, do not keep the spread.
 */
static void
test_rotate(void **state)
{
	int64_t cnt, n, i;
	double *pca = load_d("seq_pca", &cnt), *chain = load_d("seq_chain", NULL), *edis = load_d("seq_chain_disp", NULL);
	double *out, dis[3], worst_norm = 0, worst_shape = 0, chain_norm_dev = 0;
	int t;

	(void)state;
	n = cnt / 6;
	out = malloc((size_t)cnt * sizeof(*out));
	assert_non_null(out);
	assert_int_equal(analysis_align(pca, 3, n, ANALYSIS_ALIGN_ROTATE, out, dis), 0);
	for (t = 0; t < 3; t++) {
		const double *p = pca + t * n * 2, *o = out + t * n * 2, *c = chain + t * n * 2;
		double mean[2] = { 0, 0 }, ss = 0, no = frob(o, n * 2), nc = frob(c, n * 2), np;

		for (i = 0; i < n; i++) {
			mean[0] += p[2 * i] / (double)n;
			mean[1] += p[2 * i + 1] / (double)n;
		}
		for (i = 0; i < n; i++)
			ss += (p[2 * i] - mean[0]) * (p[2 * i] - mean[0]) + (p[2 * i + 1] - mean[1]) * (p[2 * i + 1] - mean[1]);
		np = sqrt(ss);
		worst_norm = fmax(worst_norm, fabs(no - np) / np);
		chain_norm_dev = fmax(chain_norm_dev, fabs(nc - np) / np);
		for (i = 0; i < n * 2; i++)
			worst_shape = fmax(worst_shape, fabs(o[i] / no - c[i] / nc));
		assert_true(fabs(dis[t] - edis[t]) <= PROC_TOL);
	}
	print_message("rotate: spread vs PCA %.2e (chain's: %.2e); shape vs scipy chain %.2e\n", worst_norm,
		      chain_norm_dev, worst_shape);
	assert_true(worst_norm <= 1e-12);
	assert_true(worst_shape <= PROC_TOL);
	assert_true(chain_norm_dev > 1e-3); /* the fixture would catch a rescaling */
	free(out);
	free(edis);
	free(chain);
	free(pca);
}

/* Rotate, scale, mirror and shift one n x 2 frame in place. */
static void
transform(double *x, int64_t n, double th, double s, int mirror, double dx, double dy)
{
	int64_t i;

	for (i = 0; i < n; i++) {
		double a = x[2 * i], b = x[2 * i + 1];

		x[2 * i] = s * (cos(th) * a - sin(th) * b) + dx;
		x[2 * i + 1] = (mirror ? -1 : 1) * s * (sin(th) * a + cos(th) * b) + dy;
	}
}

static void
test_gpa(void **state)
{
	int64_t cnt, n, i;
	double *pca = load_d("seq_pca", &cnt), *p2, *a, *b, dis[3], dis2[3], mean[2] = { 0 };
	double sxx = 0, syy = 0, sxy = 0;
	int t;

	(void)state;
	n = cnt / 6;
	p2 = malloc((size_t)cnt * sizeof(*p2));
	a = malloc((size_t)cnt * sizeof(*a));
	b = malloc((size_t)cnt * sizeof(*b));
	assert_int_equal(analysis_align(pca, 3, n, ANALYSIS_ALIGN_GPA, a, dis), 0);
	/* each frame centred with unit norm */
	for (t = 0; t < 3; t++) {
		double ss = 0, cx = 0, cy = 0;

		for (i = 0; i < n; i++) {
			cx += a[t * n * 2 + 2 * i];
			cy += a[t * n * 2 + 2 * i + 1];
			ss += a[t * n * 2 + 2 * i] * a[t * n * 2 + 2 * i] +
			      a[t * n * 2 + 2 * i + 1] * a[t * n * 2 + 2 * i + 1];
		}
		assert_true(fabs(cx) < 1e-12 && fabs(cy) < 1e-12 && fabs(ss - 1) < 1e-12);
		assert_true(dis[t] >= 0 && dis[t] < 1);
	}
	/* the mean shape lies in its own principal axes: no cross term */
	for (i = 0; i < n; i++) {
		mean[0] = (a[2 * i] + a[n * 2 + 2 * i] + a[n * 4 + 2 * i]) / 3;
		mean[1] = (a[2 * i + 1] + a[n * 2 + 2 * i + 1] + a[n * 4 + 2 * i + 1]) / 3;
		sxx += mean[0] * mean[0];
		syy += mean[1] * mean[1];
		sxy += mean[0] * mean[1];
	}
	assert_true(fabs(sxy) < 1e-9 && sxx >= syy);
	/* the last frame keeps the orientation of the last checkpoint's PCA */
	for (t = 0; t < 2; t++) {
		double corr = 0;

		for (i = 0; i < n; i++)
			corr += a[n * 4 + 2 * i + t] * pca[n * 4 + 2 * i + t];
		assert_true(corr > 0);
	}
	/* drift-free: moving, scaling or mirroring the other input frames changes nothing */
	memcpy(p2, pca, (size_t)cnt * sizeof(*p2));
	transform(p2, n, 0.9, 3.0, 0, 5, -2);
	transform(p2 + n * 2, n, -2.0, 0.1, 1, 0, 1);
	assert_int_equal(analysis_align(p2, 3, n, ANALYSIS_ALIGN_GPA, b, dis2), 0);
	print_message("gpa: disparities %.6f %.6f %.6f, change under input transforms %.2e\n", dis[0], dis[1], dis[2],
		      tu_max_diff_f64(a, b, cnt));
	assert_true(tu_max_diff_f64(a, b, cnt) < 1e-8);
	for (t = 0; t < 3; t++)
		assert_true(fabs(dis[t] - dis2[t]) < 1e-10);
	free(b);
	free(a);
	free(p2);
	free(pca);
}

static void
test_first_frame_is_standardised(void **state)
{
	double p[8] = { 1, 2, 3, 4, 5, 7, -1, 0 }, o[8], d;
	double ss = 0;
	int i;

	(void)state;
	assert_int_equal(analysis_align(p, 1, 4, ANALYSIS_ALIGN_CHAIN, o, &d), 0);
	for (i = 0; i < 8; i++)
		ss += o[i] * o[i];
	assert_true(fabs(ss - 1) < 1e-12 && fabs(d) < 1e-15);
	/* procrustes(X, X) keeps the orientation: o is X centred and scaled */
	assert_true(fabs(o[0] / o[2] - (1 - 2.0) / (3 - 2.0)) < 1e-9);
}

static void
test_bad_input(void **state)
{
	double same[6] = { 1, 1, 1, 1, 1, 1 }, ok[6] = { 0, 0, 1, 0, 0, 1 }, o1[6], o2[6], d;

	(void)state;
	assert_int_equal(analysis_procrustes(ok, same, 3, 2, o1, o2, &d), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "unique"));
	assert_int_equal(analysis_procrustes(ok, ok, 3, 0, o1, o2, &d), VV_EINVAL);
	assert_int_equal(analysis_align(ok, 0, 3, ANALYSIS_ALIGN_CHAIN, o1, &d), VV_EINVAL);
	assert_int_equal(analysis_align(ok, 1, 3, 7, o1, &d), VV_EINVAL);
}

static void
test_display_scale_and_names(void **state)
{
	double v[4] = { 0.1, -0.4, 0.2, 0 }, z[2] = { 0, 0 };
	int m;

	(void)state;
	assert_true(fabs(analysis_display_scale(v, 4, 5.0) - 12.5) < 1e-12);
	assert_true(analysis_display_scale(z, 2, 5.0) == 1.0);
	assert_int_equal(analysis_parse_align("gpa", &m), 0);
	assert_int_equal(m, ANALYSIS_ALIGN_GPA);
	assert_int_equal(analysis_parse_align("anchor", &m), 0);
	assert_int_equal(m, ANALYSIS_ALIGN_ANCHOR);
	assert_int_equal(analysis_parse_align("chain", &m), 0);
	assert_int_equal(m, ANALYSIS_ALIGN_CHAIN);
	assert_int_equal(analysis_parse_align("rotate", &m), 0);
	assert_int_equal(m, ANALYSIS_ALIGN_ROTATE);
	assert_string_equal(analysis_align_name(ANALYSIS_ALIGN_ROTATE), "rotate");
	assert_int_equal(analysis_parse_align("spin", &m), VV_EINVAL);
	assert_string_equal(analysis_align_name(ANALYSIS_ALIGN_GPA), "gpa");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_pair),
		cmocka_unit_test(test_rotated_scaled_mirrored),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_anchor),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_gpa),
		cmocka_unit_test(test_first_frame_is_standardised),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_display_scale_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
