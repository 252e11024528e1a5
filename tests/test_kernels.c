/*
 * test_kernels.c - embed/embed_kernels.c: every implementation this CPU can
 * run (generic C, AVX2+FMA, AVX-512) against libm / double references:
 * exp within 1e-6 relative (dense over [-100, 100] and the extremes, NaN,
 * +-inf), erf and GELU within 1e-6 absolute (dense over [-12, 12]),
 * softmax, LayerNorm (also with a bias added first), bias and residual over odd sizes with the floats past
 * each row left untouched; the attention context (p V, rows scaled) against a double sum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_error.h"
#include "embed/models/embed_kernels.h"

#define CANARY 12345.0f

static unsigned rng = 1;

static float
frand(void) /* [-1, 1) */
{
	rng = rng * 1103515245u + 12345u;
	return (float)((rng >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

/* Calls fn(level) for every level this CPU runs, restoring the best one. */
static void
each_level(void (*fn)(int))
{
	int best = embed_kernels_level(), l, ran = 0;

	for (l = EMBED_KERNELS_GENERIC; l <= EMBED_KERNELS_AVX512; l++) {
		if (embed_kernels_force(l))
			continue;
		fn(l);
		ran++;
	}
	assert_int_equal(embed_kernels_force(best), 0);
	assert_true(ran >= 1);
}

static void
exp_level(int l)
{
	const size_t n = 2000001;
	float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
	static const float special[] = { 0.0f, -0.0f, 1.0f, -1.0f, 88.7f, 88.72f, 88.73f, 89.0f,
					 100.0f, 1e30f, FLT_MAX, -87.0f, -87.3f, -88.0f, -89.0f,
					 -103.0f, -104.0f, -1e30f, -FLT_MAX, 1e-30f, -1e-30f };
	double worst = 0;
	size_t i;

	assert_non_null(x);
	assert_non_null(y);
	for (i = 0; i < n; i++)
		x[i] = -100.0f + 200.0f * (float)i / (float)(n - 1);
	embed_kernels_exp(x, y, n);
	for (i = 0; i < n; i++) {
		double ref = expf(x[i]);

		if (isinf(ref)) {
			if (!isinf(y[i]))
				fail_msg("%s exp(%g) = %g, want inf", embed_kernels_name(l), x[i], y[i]);
		} else if (ref >= FLT_MIN) {
			double e = fabs(y[i] - ref) / ref;

			worst = e > worst ? e : worst;
		} else if (fabs(y[i] - ref) > 1e-37) {
			fail_msg("%s exp(%g) = %g, want %g", embed_kernels_name(l), x[i], y[i], ref);
		}
	}
	if (worst > 1e-6)
		fail_msg("%s exp: max relative error %g", embed_kernels_name(l), worst);
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		double ref = expf(special[i]);

		embed_kernels_exp(&special[i], y, 1);
		if (isinf(ref) ? !isinf(y[0]) :
		    ref >= FLT_MIN ? fabs(y[0] - ref) > 1e-6 * ref : fabs(y[0] - ref) > 1e-37)
			fail_msg("%s exp(%g) = %g, want %g", embed_kernels_name(l), special[i], y[0], ref);
	}
	x[0] = NAN;
	x[1] = -INFINITY;
	x[2] = INFINITY;
	embed_kernels_exp(x, y, 3);
	assert_true(isnan(y[0]));
	assert_true(y[1] == 0.0f);
	assert_true(isinf(y[2]) && y[2] > 0);
	free(x);
	free(y);
}

static void
test_exp(void **state)
{
	(void)state;
	each_level(exp_level);
}

static void
erf_level(int l)
{
	const size_t n = 1200001;
	float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
	double worst = 0, worst_g = 0;
	size_t i;

	assert_non_null(x);
	assert_non_null(y);
	for (i = 0; i < n; i++)
		x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
	embed_kernels_erf(x, y, n);
	for (i = 0; i < n; i++) {
		double e = fabs(y[i] - erf((double)x[i]));

		worst = e > worst ? e : worst;
	}
	/* GELU through the bias kernel: one row of n, bias 0 */
	memset(y, 0, n * sizeof(float));
	embed_kernels_bias_gelu(x, 1, (int)n, y);
	for (i = 0; i < n; i++) {
		float v = -12.0f + 24.0f * (float)i / (float)(n - 1);
		double ref = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
		double e = fabs(x[i] - ref) / (fabs(ref) > 1 ? fabs(ref) : 1);

		worst_g = e > worst_g ? e : worst_g;
	}
	if (worst > 1e-6 || worst_g > 1e-6)
		fail_msg("%s: erf max abs error %g, GELU %g", embed_kernels_name(l), worst, worst_g);
	x[0] = NAN;
	x[1] = -INFINITY;
	x[2] = INFINITY;
	x[3] = 0.0f;
	x[4] = -0.0f;
	x[5] = 1e30f;
	x[6] = -1e30f;
	embed_kernels_erf(x, y, 7);
	assert_true(isnan(y[0]));
	assert_true(y[1] == -1.0f && y[2] == 1.0f);
	assert_true(fabsf(y[3]) < 1e-6f && fabsf(y[4]) < 1e-6f);
	assert_true(y[5] == 1.0f && y[6] == -1.0f);
	free(x);
	free(y);
}

static void
test_erf_gelu(void **state)
{
	(void)state;
	each_level(erf_level);
}

static void
rows_level(int l)
{
	static const int sizes[] = { 1, 5, 7, 8, 9, 16, 17, 31, 197, 768 };
	const size_t rows = 3;
	size_t s, r;

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		const int n = sizes[s], ld = n + 3;
		float *a = malloc(rows * ld * sizeof(float)), *o = malloc(rows * ld * sizeof(float));
		float *g = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
		float *y = malloc(rows * ld * sizeof(float));
		int i;

		assert_true(a && o && g && b && y);
		for (i = 0; i < n; i++) {
			g[i] = 1 + frand();
			b[i] = frand();
		}
		for (r = 0; r < rows * ld; r++)
			o[r] = (r % ld) < (size_t)n ? 20 * frand() + 3 : CANARY;
		/* softmax */
		memcpy(a, o, rows * ld * sizeof(float));
		embed_kernels_softmax(a, rows, n, ld);
		for (r = 0; r < rows; r++) {
			double mx = -INFINITY, sum = 0;

			for (i = 0; i < n; i++)
				mx = o[r * ld + i] > mx ? o[r * ld + i] : mx;
			for (i = 0; i < n; i++)
				sum += exp(o[r * ld + i] - mx);
			for (i = 0; i < n; i++) {
				double ref = exp(o[r * ld + i] - mx) / sum;

				if (fabs(a[r * ld + i] - ref) > 1e-6)
					fail_msg("%s softmax n=%d: %g vs %g", embed_kernels_name(l), n,
						 a[r * ld + i], ref);
			}
			for (i = n; i < ld; i++)
				assert_true(a[r * ld + i] == CANARY);
		}
		/* softmax_exp + scale_rows = softmax */
		{
			float inv[3];

			memcpy(y, o, rows * ld * sizeof(float));
			embed_kernels_softmax_exp(y, rows, n, ld, inv);
			for (r = 0; r < rows * ld; r++)
				if ((r % ld) >= (size_t)n)
					assert_true(y[r] == CANARY);
			embed_kernels_scale_rows(y, rows, n, ld, inv);
			for (r = 0; r < rows * ld; r++)
				if (fabs(y[r] - a[r]) > 1e-6)
					fail_msg("%s softmax_exp n=%d: %g vs %g", embed_kernels_name(l),
						 n, y[r], a[r]);
		}
		/* LayerNorm, into y strided ld */
		for (r = 0; r < rows * ld; r++)
			y[r] = CANARY;
		embed_kernels_layernorm(o, ld, y, ld, rows, n, g, b, 1e-6);
		for (r = 0; r < rows; r++) {
			double m = 0, v = 0;

			for (i = 0; i < n; i++)
				m += o[r * ld + i];
			m /= n;
			for (i = 0; i < n; i++)
				v += (o[r * ld + i] - m) * (o[r * ld + i] - m);
			v /= n;
			for (i = 0; i < n; i++) {
				double ref = (o[r * ld + i] - m) / sqrt(v + 1e-6) * g[i] + b[i];

				if (fabs(y[r * ld + i] - ref) > 1e-5)
					fail_msg("%s layernorm n=%d: %g vs %g", embed_kernels_name(l), n,
						 y[r * ld + i], ref);
			}
			for (i = n; i < ld; i++)
				assert_true(y[r * ld + i] == CANARY);
		}
		/* bias + LayerNorm: x += g (as the bias) in place, y = LN(x) */
		memcpy(a, o, rows * ld * sizeof(float));
		for (r = 0; r < rows * ld; r++)
			y[r] = CANARY;
		embed_kernels_bias_layernorm(a, ld, y, ld, rows, n, g, g, b, 1e-6);
		for (r = 0; r < rows; r++) {
			double m = 0, v = 0;

			for (i = 0; i < n; i++) {
				assert_true(a[r * ld + i] == o[r * ld + i] + g[i]);
				m += a[r * ld + i];
			}
			m /= n;
			for (i = 0; i < n; i++)
				v += (a[r * ld + i] - m) * (a[r * ld + i] - m);
			v /= n;
			for (i = 0; i < n; i++) {
				double ref = (a[r * ld + i] - m) / sqrt(v + 1e-6) * g[i] + b[i];

				if (fabs(y[r * ld + i] - ref) > 1e-5)
					fail_msg("%s bias_layernorm n=%d: %g vs %g", embed_kernels_name(l),
						 n, y[r * ld + i], ref);
			}
			for (i = n; i < ld; i++)
				assert_true(a[r * ld + i] == CANARY && y[r * ld + i] == CANARY);
		}
		/* bias and residual: rows of exactly n, one canary after the last */
		memcpy(a, o, rows * ld * sizeof(float));
		a[rows * n] = CANARY;
		embed_kernels_add_bias(a, rows, n, b);
		for (r = 0; r < rows * n; r++)
			assert_true(a[r] == o[r] + b[r % n]);
		assert_true(a[rows * n] == CANARY);
		memcpy(y, o, rows * ld * sizeof(float));
		y[rows * n] = CANARY;
		embed_kernels_residual(y, a, rows, n, b, NULL);
		for (r = 0; r < rows * n; r++)
			assert_true(fabsf(y[r] - (o[r] + (a[r] + b[r % n]))) <= 1e-5f * (1 + fabsf(y[r])));
		assert_true(y[rows * n] == CANARY);
		memcpy(y, o, rows * ld * sizeof(float));
		y[rows * n] = CANARY;
		embed_kernels_residual(y, a, rows, n, b, g);
		for (r = 0; r < rows * n; r++)
			assert_true(fabsf(y[r] - (o[r] + g[r % n] * (a[r] + b[r % n]))) <=
				    1e-5f * (1 + fabsf(y[r])));
		assert_true(y[rows * n] == CANARY);
		free(a);
		free(o);
		free(g);
		free(b);
		free(y);
	}
}

static void
test_rows(void **state)
{
	(void)state;
	each_level(rows_level);
}

/* attention context: every (t, hd) shape path (row blocks, leftover rows and columns) */
static void
attn_av_level(int l)
{
	static const int ts[] = { 1, 5, 7, 13, 197 };
	static const int hds[] = { 8, 20, 32, 40, 64, 72, 96 };
	size_t a, b;

	for (a = 0; a < sizeof(ts) / sizeof(ts[0]); a++)
		for (b = 0; b < sizeof(hds) / sizeof(hds[0]); b++) {
			const size_t t = (size_t)ts[a], ldp = t + 2, ldv = 3 * (size_t)hds[b] + 1;
			const int hd = hds[b];
			const size_t ldc = (size_t)hd + 5;
			float *p = malloc(t * ldp * sizeof(float)), *v = malloc(t * ldv * sizeof(float));
			float *s = malloc(t * sizeof(float)), *c = malloc(t * ldc * sizeof(float));
			size_t i, j;
			int k;

			assert_true(p && v && s && c);
			for (i = 0; i < t * ldp; i++)
				p[i] = (frand() + 1) / 2;
			for (i = 0; i < t * ldv; i++)
				v[i] = frand();
			for (i = 0; i < t; i++)
				s[i] = 1 + frand() / 2;
			for (i = 0; i < t * ldc; i++)
				c[i] = CANARY;
			embed_kernels_attn_av(p, ldp, v, ldv, s, t, hd, c, ldc);
			for (i = 0; i < t; i++) {
				for (k = 0; k < hd; k++) {
					double ref = 0;

					for (j = 0; j < t; j++)
						ref += (double)p[i * ldp + j] * v[j * ldv + (size_t)k];
					ref *= s[i];
					if (fabs(c[i * ldc + (size_t)k] - ref) > 1e-6 * (1 + (double)t))
						fail_msg("%s attn_av t=%zu hd=%d [%zu][%d]: %g vs %g",
							 embed_kernels_name(l), t, hd, i, k,
							 c[i * ldc + (size_t)k], ref);
				}
				for (k = hd; k < (int)ldc; k++)
					assert_true(c[i * ldc + (size_t)k] == CANARY);
			}
			free(p);
			free(v);
			free(s);
			free(c);
		}
}

static void
test_attn_av(void **state)
{
	(void)state;
	each_level(attn_av_level);
}

static void
test_force(void **state)
{
	(void)state;
	assert_int_equal(embed_kernels_force(7), VV_EINVAL);
	assert_int_equal(embed_kernels_force(-1), VV_EINVAL);
	assert_int_equal(embed_kernels_force(EMBED_KERNELS_GENERIC), 0);
	assert_int_equal(embed_kernels_level(), EMBED_KERNELS_GENERIC);
	assert_string_equal(embed_kernels_name(EMBED_KERNELS_AVX512), "AVX-512");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exp),
		cmocka_unit_test(test_erf_gelu),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_attn_av),
		cmocka_unit_test(test_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
