/*
 * embed_kernels.h - the element-wise and row-wise parts of the ViT forward
 * pass (everything but the BLAS GEMMs) and attention's p V product,
 * vectorised.
 *
 * Three implementations share one contract: AVX-512 (F, DQ), AVX2 + FMA
 * and generic C (libm's erff/expf), compiled with __attribute__((target))
 * so that the binary runs on any x86-64; the best one the CPU supports is
 * chosen on first use.  The vector exp and erf stay within 1e-6 of libm
 * (relative for exp, absolute for erf; tests/test_kernels.c): exp by
 * range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial (AVX-512:
 * times 2^n by vscalefps); erf with
 * AVX-512 by 16 degree-4 pieces on [0, 4) (coefficients picked per lane by
 * vpermps), with AVX2 by Abramowitz-Stegun 7.1.26 (error 1.5e-7) on that
 * exp; measured here: exp 1.2e-7 relative, erf 2.2e-7 absolute (AVX-512),
 * 5.2e-7 (AVX2).  NaN propagates,
 * exp(-inf) = 0, exp(+inf) = inf, erf(+-inf) = +-1.
 */
#ifndef EMBED_KERNELS_H
#define EMBED_KERNELS_H

#include <stddef.h>

/* Implementation levels, best last. */
enum {
	EMBED_KERNELS_GENERIC = 0, /* plain C, libm */
	EMBED_KERNELS_AVX2 = 1,    /* AVX2 + FMA, 8 lanes */
	EMBED_KERNELS_AVX512 = 2,  /* AVX-512 F + DQ, 16 lanes */
};

/* The level in use (chosen on first call of any kernel: the CPU's best, or
 * the lower one the environment variable VITVIZ_KERNELS names, "generic",
 * "avx2" or "avx512"; or forced). */
int embed_kernels_level(void);

/* "AVX-512", "AVX2+FMA" or "generic C" for a level. */
const char *embed_kernels_name(int level);

/*
 * Use `level` from now on (tests run every implementation the CPU has).
 * VV_EUNSUPPORTED when the CPU (or the OS) lacks its instructions, -1
 * (VV_EINVAL) for an unknown level; the level in use is then unchanged.
 * Not thread-safe with concurrent kernel calls.
 */
int embed_kernels_force(int level);

/* y[i] = exp(x[i]), i < n (y may be x). */
void embed_kernels_exp(const float *x, float *y, size_t n);

/* y[i] = erf(x[i]), i < n (y may be x). */
void embed_kernels_erf(const float *x, float *y, size_t n);

/* y[r][i] = GELU(y[r][i] + b[i]) (exact, erf form) for `rows` rows of n. */
void embed_kernels_bias_gelu(float *y, size_t rows, int n, const float *b);

/* y[r][i] += b[i] for `rows` rows of n. */
void embed_kernels_add_bias(float *y, size_t rows, int n, const float *b);

/* x[r][i] += s[i] * (y[r][i] + b[i]) (s NULL: 1), `rows` rows of d. */
void embed_kernels_residual(float *x, const float *y, size_t rows, int d, const float *b,
			    const float *s);

/* Each of `rows` rows of n floats, `lda` apart: softmax in place. */
void embed_kernels_softmax(float *a, size_t rows, int n, size_t lda);

/*
 * The softmax of embed_kernels_softmax() but for the last step: each row
 * becomes exp(a - row max), unnormalised, and inv[r] = 1 / its sum (a
 * product with the row then needs only scaling: embed_kernels_scale_rows,
 * embed_kernels_attn_av).
 */
void embed_kernels_softmax_exp(float *a, size_t rows, int n, size_t lda, float *inv);

/* y[r][i] *= s[r] for `rows` rows of n floats, `ldy` apart. */
void embed_kernels_scale_rows(float *y, size_t rows, int n, size_t ldy, const float *s);

/*
 * Attention's context from unnormalised probabilities p (t x t, rows ldp
 * apart), values v (t x hd, ldv) and the row scales s (t): ctx[i][c] =
 * s[i] * sum_j p[i][j] v[j][c] (t x hd, rows ldc apart; must not overlap).
 */
void embed_kernels_attn_av(const float *p, size_t ldp, const float *v, size_t ldv,
			   const float *s, size_t t, int hd, float *ctx, size_t ldc);

/*
 * y = LayerNorm(x) row by row, rows `xs` / `ys` floats apart (y may be x):
 * (x - mean) / sqrt(var + eps) * g + b, mean and biased variance of the
 * row (two passes, float lanes summed in double).
 */
void embed_kernels_layernorm(const float *x, size_t xs, float *y, size_t ys, size_t rows,
			     int d, const float *g, const float *b, double eps);

/*
 * x[r][i] += xb[i] in place (xb NULL: x unchanged), then y = LayerNorm(x)
 * as embed_kernels_layernorm(); y must not overlap x.  Fuses a pending
 * residual bias into the next LayerNorm's passes.
 */
void embed_kernels_bias_layernorm(float *x, size_t xs, float *y, size_t ys, size_t rows, int d,
				  const float *xb, const float *g, const float *b, double eps);

#endif
