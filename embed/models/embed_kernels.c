/* embed_kernels.c - vectorised ViT element-wise kernels with runtime dispatch. */
#include "embed/models/embed_kernels.h"
#include "common/vv_error.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct kernel_ops {
	void (*exp)(const float *, float *, size_t);
	void (*erf)(const float *, float *, size_t);
	void (*bias_gelu)(float *, size_t, int, const float *);
	void (*add_bias)(float *, size_t, int, const float *);
	void (*residual)(float *, const float *, size_t, int, const float *, const float *);
	void (*softmax)(float *, size_t, int, size_t);
	void (*softmax_exp)(float *, size_t, int, size_t, float *);
	void (*scale_rows)(float *, size_t, int, size_t, const float *);
	void (*attn_av)(const float *, size_t, const float *, size_t, const float *, size_t, int,
			float *, size_t);
	void (*layernorm)(const float *, size_t, float *, size_t, size_t, int, const float *,
			  const float *, double);
	void (*bias_layernorm)(float *, size_t, float *, size_t, size_t, int, const float *,
			       const float *, const float *, double);
} kernel_ops;

/* ------------------------------------------------------------------ */
/* generic C                                                           */

static void
g_exp(const float *x, float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = expf(x[i]);
}

static void
g_erf(const float *x, float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = erff(x[i]);
}

static void
g_bias_gelu(float *y, size_t rows, int n, const float *b)
{
	for (size_t r = 0; r < rows; r++, y += n)
		for (int i = 0; i < n; i++) {
			float v = y[i] + b[i];

			y[i] = 0.5f * v * (1.0f + erff(v * (float)M_SQRT1_2));
		}
}

static void
g_add_bias(float *y, size_t rows, int n, const float *b)
{
	for (size_t r = 0; r < rows; r++, y += n)
		for (int i = 0; i < n; i++)
			y[i] += b[i];
}

static void
g_residual(float *x, const float *y, size_t rows, int d, const float *b, const float *s)
{
	for (size_t r = 0; r < rows; r++, x += d, y += d)
		for (int i = 0; i < d; i++)
			x[i] += s ? s[i] * (y[i] + b[i]) : y[i] + b[i];
}

static void
g_softmax_exp(float *a, size_t rows, int n, size_t lda, float *inv)
{
	for (size_t r = 0; r < rows; r++, a += lda) {
		float mx = a[0];
		double s = 0;

		for (int i = 1; i < n; i++)
			mx = a[i] > mx ? a[i] : mx;
		for (int i = 0; i < n; i++) {
			a[i] = expf(a[i] - mx);
			s += a[i];
		}
		inv[r] = (float)(1.0 / s);
	}
}

static void
g_softmax(float *a, size_t rows, int n, size_t lda)
{
	for (size_t r = 0; r < rows; r++, a += lda) {
		float inv;

		g_softmax_exp(a, 1, n, lda, &inv);
		for (int i = 0; i < n; i++)
			a[i] *= inv;
	}
}

static void
g_scale_rows(float *y, size_t rows, int n, size_t ldy, const float *s)
{
	for (size_t r = 0; r < rows; r++, y += ldy)
		for (int i = 0; i < n; i++)
			y[i] *= s[r];
}

static void
g_attn_av(const float *p, size_t ldp, const float *v, size_t ldv, const float *s, size_t t,
	  int hd, float *ctx, size_t ldc)
{
	for (size_t i = 0; i < t; i++)
		for (int c = 0; c < hd; c++) {
			float a = 0;

			for (size_t j = 0; j < t; j++)
				a += p[i * ldp + j] * v[j * ldv + c];
			ctx[i * ldc + c] = a * s[i];
		}
}

static void
g_layernorm(const float *x, size_t xs, float *y, size_t ys, size_t rows, int d, const float *g,
	    const float *b, double eps)
{
	for (size_t r = 0; r < rows; r++, x += xs, y += ys) {
		double s = 0, v = 0, mean;
		float fm, rs;

		for (int i = 0; i < d; i++)
			s += x[i];
		mean = s / d;
		fm = (float)mean;
		for (int i = 0; i < d; i++) {
			double t = (double)x[i] - (double)fm;

			v += t * t;
		}
		rs = (float)(1.0 / sqrt(v / d + eps));
		for (int i = 0; i < d; i++)
			y[i] = (x[i] - fm) * rs * g[i] + b[i];
	}
}

static void
g_bias_layernorm(float *x, size_t xs, float *y, size_t ys, size_t rows, int d, const float *xb,
		 const float *g, const float *b, double eps)
{
	for (size_t r = 0; r < rows; r++)
		for (int i = 0; i < d; i++)
			x[r * xs + i] += xb[i];
	g_layernorm(x, xs, y, ys, rows, d, g, b, eps);
}

static const kernel_ops ops_generic = {
	g_exp, g_erf, g_bias_gelu, g_add_bias, g_residual, g_softmax, g_softmax_exp, g_scale_rows,
	g_attn_av,
	g_layernorm, g_bias_layernorm,
};

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/*
 * erf on [0, 4) in 16 pieces of 1/4: piece j is c4 u^4 + ... + c0 in
 * u = |x| - (j + 1/2) / 4, degree-4 fits (Chebyshev nodes, float
 * coefficients; max error 2.2e-7 with float Horner), but the last piece
 * is 1 (error <= 1 - erf(3.75) = 1.1e-7; 1.0f exactly at the end).  Rows c4 .. c0.
 */
static const float erf_tab[5][16] __attribute__((aligned(64))) = {
	{ 6.817832589e-02f, 1.654138118e-01f, 1.754936874e-01f, 1.121527851e-01f,
	  2.833487280e-02f, -2.998302504e-02f, -4.938126728e-02f, -4.216305912e-02f,
	  -2.640292794e-02f, -1.320594549e-02f, -5.466938484e-03f, -1.908538281e-03f,
	  -5.682226038e-04f, -1.453429431e-04f, -3.210366776e-05f, 0.0f },
	{ -3.566962481e-01f, -2.339897454e-01f, -5.620282143e-02f, 9.161673486e-02f,
	  1.612576842e-01f, 1.573394835e-01f, 1.147969440e-01f, 6.766339391e-02f,
	  3.328085691e-02f, 1.389380172e-02f, 4.973024130e-03f, 1.536167460e-03f,
	  4.113740870e-04f, 9.581451013e-05f, 1.945718213e-05f, 0.0f },
	{ -1.388575584e-01f, -3.676254451e-01f, -4.771815538e-01f, -4.591504931e-01f,
	  -3.580603302e-01f, -2.342477143e-01f, -1.307694018e-01f, -6.289899349e-02f,
	  -2.622399852e-02f, -9.514959529e-03f, -3.012863686e-03f, -8.342493093e-04f,
	  -2.023083944e-04f, -4.301683657e-05f, -8.027214790e-06f, 0.0f },
	{ 1.110877395e+00f, 9.803493619e-01f, 7.635015845e-01f, 5.247501135e-01f,
	  3.182786107e-01f, 1.703621149e-01f, 8.047243208e-02f, 3.354496136e-02f,
	  1.233987045e-02f, 4.005840048e-03f, 1.147552161e-03f, 2.900966792e-04f,
	  6.471422239e-05f, 1.273907492e-05f, 2.212846766e-06f, 0.0f },
	{ 1.403162032e-01f, 4.041168988e-01f, 6.232408881e-01f, 7.840750813e-01f,
	  8.883882165e-01f, 9.481700659e-01f, 9.784437418e-01f, 9.919900298e-01f,
	  9.973459840e-01f, 9.992170334e-01f, 9.997946024e-01f, 9.999521375e-01f,
	  9.999901056e-01f, 9.999982119e-01f, 9.999997020e-01f, 1.0f },
};

/* ------------------------------------------------------------------ */
/* AVX-512                                                             */

#define T512 "avx512f,avx512dq,fma"

/* the 16 lanes summed in double, as a tree (not a 16-add chain) */
static __attribute__((target(T512))) inline double
hsum512(__m512 v)
{
	__m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
	__m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));

	return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

/*
 * erf(x) by erf_tab: the piece's coefficients picked per lane with one
 * vpermps each; |x| >= 4 gives 1 (erf(4) = 1 - 1.5e-8); NaN gives NaN.
 */
static __attribute__((target(T512))) inline __m512
erf_lut512(__m512 x)
{
	/* min's second operand comes back for NaN: NaN flows through to the result */
	__m512 ax = _mm512_min_ps(_mm512_set1_ps(3.99999976f), _mm512_abs_ps(x));
	__m512 f = _mm512_roundscale_ps(_mm512_mul_ps(ax, _mm512_set1_ps(4.0f)),
					_MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
	__m512i j = _mm512_cvttps_epi32(f);
	__m512 u = _mm512_sub_ps(_mm512_fmadd_ps(f, _mm512_set1_ps(-0.25f), ax),
				 _mm512_set1_ps(0.125f));
	__m512 p = _mm512_permutexvar_ps(j, _mm512_load_ps(erf_tab[0]));

	p = _mm512_fmadd_ps(p, u, _mm512_permutexvar_ps(j, _mm512_load_ps(erf_tab[1])));
	p = _mm512_fmadd_ps(p, u, _mm512_permutexvar_ps(j, _mm512_load_ps(erf_tab[2])));
	p = _mm512_fmadd_ps(p, u, _mm512_permutexvar_ps(j, _mm512_load_ps(erf_tab[3])));
	p = _mm512_fmadd_ps(p, u, _mm512_permutexvar_ps(j, _mm512_load_ps(erf_tab[4])));
	/* |x| >= 4 (and inf): the last piece at its end, 1.0f exactly (tested) */
	return _mm512_or_ps(p, _mm512_and_ps(x, _mm512_set1_ps(-0.0f)));
}

#define SFX _512
#define AVR 6
#define TGT T512
#define W 16
#define VF __m512
#define LD(p) _mm512_loadu_ps(p)
#define ST(p, v) _mm512_storeu_ps(p, v)
#define KM(k) ((__mmask16)((1u << (k)) - 1))
#define LDM(p, k) _mm512_maskz_loadu_ps(KM(k), p)
#define STM(p, k, v) _mm512_mask_storeu_ps(p, KM(k), v)
#define SET1(x) _mm512_set1_ps(x)
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define MUL _mm512_mul_ps
#define DIV _mm512_div_ps
#define MAX _mm512_max_ps
#define MIN _mm512_min_ps
#define FMA _mm512_fmadd_ps
#define ROUND(v) _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define POW2I(n) _mm512_castsi512_ps(_mm512_slli_epi32( \
	_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define SEL_LT(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x)
#define SEL_NAN(a, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), y, x)
#define ABS(v) _mm512_abs_ps(v)
#define COPYSIGN(m, s) _mm512_or_ps(m, _mm512_and_ps(s, _mm512_set1_ps(-0.0f)))
#define HSUM(v) hsum512(v)
#define HMAX(v) _mm512_reduce_max_ps(v)
#define ERF_LUT16(x) erf_lut512(x)
#define SCALEF _mm512_scalef_ps
#include "embed/models/embed_kernels_simd.h"
#undef SFX
#undef AVR
#undef TGT
#undef W
#undef VF
#undef LD
#undef ST
#undef KM
#undef LDM
#undef STM
#undef SET1
#undef ADD
#undef SUB
#undef MUL
#undef DIV
#undef MAX
#undef MIN
#undef FMA
#undef ROUND
#undef POW2I
#undef SEL_LT
#undef SEL_NAN
#undef ABS
#undef COPYSIGN
#undef HSUM
#undef HMAX
#undef RCP
#undef ERF_LUT16
#undef SCALEF

static const kernel_ops ops_avx512 = {
	k_exp_512, k_erf_512, k_bias_gelu_512, k_add_bias_512, k_residual_512, k_softmax_512,
	k_softmax_exp_512, k_scale_rows_512, k_attn_av_512, k_layernorm_512, k_bias_layernorm_512,
};

/* ------------------------------------------------------------------ */
/* AVX2 + FMA                                                          */

#define T256 "avx2,fma"

static __attribute__((target(T256))) inline __m256i
mask256(int k)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static __attribute__((target(T256))) inline double
hsum256(__m256 v)
{
	float f[8];
	double s = 0;

	_mm256_storeu_ps(f, v);
	for (int i = 0; i < 8; i++)
		s += f[i];
	return s;
}

static __attribute__((target(T256))) inline float
hmax256(__m256 v)
{
	float f[8], m;

	_mm256_storeu_ps(f, v);
	m = f[0];
	for (int i = 1; i < 8; i++)
		m = f[i] > m ? f[i] : m;
	return m;
}

#define SFX _256
#define AVR 3
#define TGT T256
#define W 8
#define VF __m256
#define LD(p) _mm256_loadu_ps(p)
#define ST(p, v) _mm256_storeu_ps(p, v)
#define LDM(p, k) _mm256_maskload_ps(p, mask256(k))
#define STM(p, k, v) _mm256_maskstore_ps(p, mask256(k), v)
#define SET1(x) _mm256_set1_ps(x)
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#define DIV _mm256_div_ps
#define MAX _mm256_max_ps
#define MIN _mm256_min_ps
#define FMA _mm256_fmadd_ps
#define ROUND(v) _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define POW2I(n) _mm256_castsi256_ps(_mm256_slli_epi32( \
	_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define SEL_LT(a, b, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ))
#define SEL_NAN(a, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, a, _CMP_UNORD_Q))
#define ABS(v) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v)
#define COPYSIGN(m, s) _mm256_or_ps(m, _mm256_and_ps(s, _mm256_set1_ps(-0.0f)))
#define HSUM(v) hsum256(v)
#define HMAX(v) hmax256(v)
#define RCP(v) _mm256_div_ps(_mm256_set1_ps(1.0f), v)
#include "embed/models/embed_kernels_simd.h"

static const kernel_ops ops_avx2 = {
	k_exp_256, k_erf_256, k_bias_gelu_256, k_add_bias_256, k_residual_256, k_softmax_256,
	k_softmax_exp_256, k_scale_rows_256, k_attn_av_256, k_layernorm_256, k_bias_layernorm_256,
};

static int
cpu_level(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
		return EMBED_KERNELS_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return EMBED_KERNELS_AVX2;
	return EMBED_KERNELS_GENERIC;
}

static const kernel_ops *const levels[] = { &ops_generic, &ops_avx2, &ops_avx512 };
#else
static int
cpu_level(void)
{
	return EMBED_KERNELS_GENERIC;
}

static const kernel_ops *const levels[] = { &ops_generic, NULL, NULL };
#endif

static const kernel_ops *ops;
static int level;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* VITVIZ_KERNELS=generic|avx2|avx512 picks a lower level than the CPU's
 * best (tests compare the kernel paths); unknown names and levels the CPU
 * lacks are ignored. */
static void
choose(void)
{
	static const char *const names[] = { "generic", "avx2", "avx512" };
	const char *env = getenv("VITVIZ_KERNELS");
	int l;

	level = cpu_level();
	for (l = EMBED_KERNELS_GENERIC; env && l < level; l++)
		if (!strcmp(env, names[l]) && levels[l])
			level = l;
	ops = levels[level];
}

static const kernel_ops *
get(void)
{
	pthread_once(&once, choose);
	return ops;
}

int
embed_kernels_level(void)
{
	get();
	return level;
}

const char *
embed_kernels_name(int l)
{
	return l == EMBED_KERNELS_AVX512 ? "AVX-512" : l == EMBED_KERNELS_AVX2 ? "AVX2+FMA" : "generic C";
}

int
embed_kernels_force(int l)
{
	get();
	if (l < EMBED_KERNELS_GENERIC || l > EMBED_KERNELS_AVX512)
		return vv_error(VV_EINVAL, "unknown kernel level %d", l);
	if (l > cpu_level() || !levels[l])
		return vv_error(VV_EUNSUPPORTED, "this CPU cannot run the %s kernels",
				embed_kernels_name(l));
	level = l;
	ops = levels[l];
	return 0;
}

void
embed_kernels_exp(const float *x, float *y, size_t n)
{
	get()->exp(x, y, n);
}

void
embed_kernels_erf(const float *x, float *y, size_t n)
{
	get()->erf(x, y, n);
}

void
embed_kernels_bias_gelu(float *y, size_t rows, int n, const float *b)
{
	get()->bias_gelu(y, rows, n, b);
}

void
embed_kernels_add_bias(float *y, size_t rows, int n, const float *b)
{
	get()->add_bias(y, rows, n, b);
}

void
embed_kernels_residual(float *x, const float *y, size_t rows, int d, const float *b,
		       const float *s)
{
	get()->residual(x, y, rows, d, b, s);
}

void
embed_kernels_softmax(float *a, size_t rows, int n, size_t lda)
{
	get()->softmax(a, rows, n, lda);
}

void
embed_kernels_softmax_exp(float *a, size_t rows, int n, size_t lda, float *inv)
{
	get()->softmax_exp(a, rows, n, lda, inv);
}

void
embed_kernels_scale_rows(float *y, size_t rows, int n, size_t ldy, const float *s)
{
	get()->scale_rows(y, rows, n, ldy, s);
}

void
embed_kernels_attn_av(const float *p, size_t ldp, const float *v, size_t ldv, const float *s,
		      size_t t, int hd, float *ctx, size_t ldc)
{
	get()->attn_av(p, ldp, v, ldv, s, t, hd, ctx, ldc);
}

void
embed_kernels_layernorm(const float *x, size_t xs, float *y, size_t ys, size_t rows, int d,
			const float *g, const float *b, double eps)
{
	get()->layernorm(x, xs, y, ys, rows, d, g, b, eps);
}

void
embed_kernels_bias_layernorm(float *x, size_t xs, float *y, size_t ys, size_t rows, int d,
			     const float *xb, const float *g, const float *b, double eps)
{
	if (xb)
		get()->bias_layernorm(x, xs, y, ys, rows, d, xb, g, b, eps);
	else
		get()->layernorm(x, xs, y, ys, rows, d, g, b, eps);
}
