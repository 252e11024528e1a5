/*
 * embed_kernels_simd.h - the vector kernels of embed_kernels.c, written once
 * over the macros below and included once per instruction set (AVX-512,
 * AVX2) with those macros defined.  Not a public header.
 *
 * Expects: SFX (name suffix), TGT (target attribute string), W (lanes),
 * VF (vector type), LD/ST (unaligned load/store), LDM/STM (load / store of
 * the first k lanes, k < W; the load gives 0 elsewhere), SET1, ADD, SUB,
 * MUL, DIV, MAX, MIN, FMA (a * b + c), ROUND (to nearest), POW2I (2^n for
 * an integral-valued float vector n in [-64, 64]), SEL_LT(a, b, x, y)
 * (x where a < b, else y), SEL_NAN(a, x, y) (x where a is NaN, else y),
 * ABS, COPYSIGN(mag, sgn), HSUM (lanes summed in double), HMAX, RCP (1 / v
 * for v >= 1 or inf, to float precision); optional: SCALEF(p, n) (p * 2^n
 * for integral n, one rounding, as vscalefps), ERF_LUT16(x) (erf(x)).
 */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)
#define ATTR static __attribute__((target(TGT), unused))

/* exp(x), see embed_kernels.h */
ATTR inline VF
FN(vexp)(VF x)
{
#ifdef SCALEF
	/* MAX / MIN return their second operand for NaN: x's NaN goes on */
	VF xc = MIN(SET1(89.0f), MAX(SET1(-104.0f), x));
#else
	VF xc = MIN(MAX(x, SET1(-88.0f)), SET1(89.0f));
#endif
	VF n = ROUND(MUL(xc, SET1(1.44269504088896341f)));
	VF r = FMA(n, SET1(-0.693359375f), xc);
	VF p, h, res;

	r = FMA(n, SET1(2.12194440e-4f), r);
	p = SET1(1.9875691500e-4f);
	p = FMA(p, r, SET1(1.3981999507e-3f));
	p = FMA(p, r, SET1(8.3334519073e-3f));
	p = FMA(p, r, SET1(4.1665795894e-2f));
	p = FMA(p, r, SET1(1.6666665459e-1f));
	p = FMA(p, r, SET1(5.0000001201e-1f));
	p = FMA(p, MUL(r, r), ADD(r, SET1(1.0f)));
#ifdef SCALEF
	/* p * 2^n, rounded once: denormal for x < -87.3, 0 below -103.9, inf above 88.7 */
	(void)h;
	(void)res;
	return SCALEF(p, n);
#endif
	/* 2^n as 2^h * 2^(n - h), each factor a normal float for n in [-127, 128] */
	h = ROUND(MUL(n, SET1(0.5f)));
	res = MUL(MUL(p, POW2I(h)), POW2I(SUB(n, h)));
	res = SEL_LT(x, SET1(-88.0f), SET1(0.0f), res);
	return SEL_NAN(x, x, res);
}

/* erf(x): ERF_LUT16 where the target has it, else Abramowitz-Stegun 7.1.26 */
ATTR inline VF
FN(verf)(VF x)
{
#ifdef ERF_LUT16
	return ERF_LUT16(x);
#else
	VF ax = MIN(ABS(x), SET1(1e4f)); /* erf = +-1 there; keeps RCP finite (NaN: below) */
	VF t = RCP(FMA(ax, SET1(0.3275911f), SET1(1.0f)));
	VF p = SET1(1.061405429f), y;

	p = FMA(p, t, SET1(-1.453152027f));
	p = FMA(p, t, SET1(1.421413741f));
	p = FMA(p, t, SET1(-0.284496736f));
	p = FMA(p, t, SET1(0.254829592f));
	p = MUL(p, t);
	y = SUB(SET1(1.0f), MUL(p, FN(vexp)(MUL(SUB(SET1(0.0f), ax), ax))));
	y = COPYSIGN(y, x);
	return SEL_NAN(x, x, y);
#endif
}

ATTR inline VF
FN(vgelu)(VF v)
{
	VF e = FN(verf)(MUL(v, SET1(0.70710678118654752f)));

	VF hv = MUL(SET1(0.5f), v);

	return FMA(hv, e, hv);
}

ATTR void
FN(k_exp)(const float *x, float *y, size_t n)
{
	size_t i = 0;

	for (; i + W <= n; i += W)
		ST(y + i, FN(vexp)(LD(x + i)));
	if (i < n)
		STM(y + i, (int)(n - i), FN(vexp)(LDM(x + i, (int)(n - i))));
}

ATTR void
FN(k_erf)(const float *x, float *y, size_t n)
{
	size_t i = 0;

	for (; i + W <= n; i += W)
		ST(y + i, FN(verf)(LD(x + i)));
	if (i < n)
		STM(y + i, (int)(n - i), FN(verf)(LDM(x + i, (int)(n - i))));
}

ATTR void
FN(k_bias_gelu)(float *y, size_t rows, int n, const float *b)
{
	size_t r;
	int i;

	for (r = 0; r < rows; r++, y += n) {
		for (i = 0; i + W <= n; i += W)
			ST(y + i, FN(vgelu)(ADD(LD(y + i), LD(b + i))));
		if (i < n)
			STM(y + i, n - i, FN(vgelu)(ADD(LDM(y + i, n - i), LDM(b + i, n - i))));
	}
}

ATTR void
FN(k_add_bias)(float *y, size_t rows, int n, const float *b)
{
	size_t r;
	int i;

	for (r = 0; r < rows; r++, y += n) {
		for (i = 0; i + W <= n; i += W)
			ST(y + i, ADD(LD(y + i), LD(b + i)));
		if (i < n)
			STM(y + i, n - i, ADD(LDM(y + i, n - i), LDM(b + i, n - i)));
	}
}

ATTR void
FN(k_residual)(float *x, const float *y, size_t rows, int d, const float *b, const float *s)
{
	size_t r;
	int i;

	for (r = 0; r < rows; r++, x += d, y += d) {
		for (i = 0; i + W <= d; i += W) {
			VF v = ADD(LD(y + i), LD(b + i));

			ST(x + i, s ? FMA(LD(s + i), v, LD(x + i)) : ADD(LD(x + i), v));
		}
		if (i < d) {
			int k = d - i;
			VF v = ADD(LDM(y + i, k), LDM(b + i, k));

			STM(x + i, k, s ? FMA(LDM(s + i, k), v, LDM(x + i, k)) : ADD(LDM(x + i, k), v));
		}
	}
}

/* a[i] = exp(a[i] - max), i < n; returns their sum */
ATTR inline double
FN(exp_row)(float *a, int n)
{
	VF vm = SET1(-INFINITY), vs = SET1(0.0f), m;
	float mx, tail = 0;
	int i;

	for (i = 0; i + W <= n; i += W)
		vm = MAX(vm, LD(a + i));
	mx = HMAX(vm);
	for (int j = i; j < n; j++)
		mx = a[j] > mx ? a[j] : mx;
	m = SET1(mx);
	for (i = 0; i + W <= n; i += W) {
		VF e = FN(vexp)(SUB(LD(a + i), m));

		ST(a + i, e);
		vs = ADD(vs, e);
	}
	if (i < n) {
		STM(a + i, n - i, FN(vexp)(SUB(LDM(a + i, n - i), m)));
		for (int j = i; j < n; j++)
			tail += a[j];
	}
	return HSUM(vs) + tail;
}

ATTR void
FN(k_scale_rows)(float *y, size_t rows, int n, size_t ldy, const float *s)
{
	size_t r;
	int i;

	for (r = 0; r < rows; r++, y += ldy) {
		VF f = SET1(s[r]);

		for (i = 0; i + W <= n; i += W)
			ST(y + i, MUL(LD(y + i), f));
		if (i < n)
			STM(y + i, n - i, MUL(LDM(y + i, n - i), f));
	}
}

/*
 * ctx[i][c] = s[i] * sum_j p[i][j] v[j][c]: AVR rows x 4 vectors of
 * accumulators, v's row j loaded once for the AVR rows, p's entries
 * broadcast; nothing packed, nothing zeroed first.
 */
ATTR void
FN(k_attn_av)(const float *p, size_t ldp, const float *v, size_t ldv, const float *s, size_t t,
	      int hd, float *ctx, size_t ldc)
{
	size_t i, j;
	int c0, r, q;

	for (c0 = 0; c0 + 4 * W <= hd; c0 += 4 * W) {
		for (i = 0; i + AVR <= t; i += AVR) {
			VF acc[AVR][4];

#pragma GCC unroll 8
			for (r = 0; r < AVR; r++)
#pragma GCC unroll 4
				for (q = 0; q < 4; q++)
					acc[r][q] = SET1(0.0f);
			for (j = 0; j < t; j++) {
				const float *vj = v + j * ldv + c0;
				VF v0 = LD(vj), v1 = LD(vj + W), v2 = LD(vj + 2 * W), v3 = LD(vj + 3 * W);

#pragma GCC unroll 8
				for (r = 0; r < AVR; r++) {
					VF pb = SET1(p[(i + r) * ldp + j]);

					acc[r][0] = FMA(pb, v0, acc[r][0]);
					acc[r][1] = FMA(pb, v1, acc[r][1]);
					acc[r][2] = FMA(pb, v2, acc[r][2]);
					acc[r][3] = FMA(pb, v3, acc[r][3]);
				}
			}
#pragma GCC unroll 8
			for (r = 0; r < AVR; r++) {
				VF sc = SET1(s[i + r]);
				float *o = ctx + (i + r) * ldc + c0;

#pragma GCC unroll 4
				for (q = 0; q < 4; q++)
					ST(o + q * W, MUL(acc[r][q], sc));
			}
		}
		for (; i < t; i++) {
			VF a0 = SET1(0.0f), a1 = a0, a2 = a0, a3 = a0;
			float *o = ctx + i * ldc + c0;

			for (j = 0; j < t; j++) {
				const float *vj = v + j * ldv + c0;
				VF pb = SET1(p[i * ldp + j]);

				a0 = FMA(pb, LD(vj), a0);
				a1 = FMA(pb, LD(vj + W), a1);
				a2 = FMA(pb, LD(vj + 2 * W), a2);
				a3 = FMA(pb, LD(vj + 3 * W), a3);
			}
			ST(o, MUL(a0, SET1(s[i])));
			ST(o + W, MUL(a1, SET1(s[i])));
			ST(o + 2 * W, MUL(a2, SET1(s[i])));
			ST(o + 3 * W, MUL(a3, SET1(s[i])));
		}
	}
	/* columns past the last 4 vectors: one (masked) vector at a time */
	for (; c0 < hd; c0 += W) {
		int k = hd - c0 < W ? hd - c0 : W;

		for (i = 0; i < t; i++) {
			VF a = SET1(0.0f);

			for (j = 0; j < t; j++) {
				VF vj = k == W ? LD(v + j * ldv + c0) : LDM(v + j * ldv + c0, k);

				a = FMA(SET1(p[i * ldp + j]), vj, a);
			}
			a = MUL(a, SET1(s[i]));
			if (k == W)
				ST(ctx + i * ldc + c0, a);
			else
				STM(ctx + i * ldc + c0, k, a);
		}
	}
}

ATTR void
FN(k_softmax)(float *a, size_t rows, int n, size_t lda)
{
	size_t r;

	for (r = 0; r < rows; r++, a += lda) {
		float inv = (float)(1.0 / FN(exp_row)(a, n));

		FN(k_scale_rows)(a, 1, n, 0, &inv);
	}
}

ATTR void
FN(k_softmax_exp)(float *a, size_t rows, int n, size_t lda, float *inv)
{
	size_t r;

	for (r = 0; r < rows; r++, a += lda)
		inv[r] = (float)(1.0 / FN(exp_row)(a, n));
}

/* y = (x - mean) / sqrt(var + eps) * g + b for one row of d, its mean given */
ATTR inline void
FN(ln_row)(const float *x, float *y, int d, double mean, const float *g, const float *b, double eps)
{
	VF acc = SET1(0.0f), m = SET1((float)mean), rs;
	double var;
	int i;

	for (i = 0; i + W <= d; i += W) {
		VF t = SUB(LD(x + i), m);

		acc = FMA(t, t, acc);
	}
	/* the tail (i < d) is added in double */
	var = HSUM(acc);
	for (int j = i; j < d; j++) {
		double u = (double)x[j] - (double)(float)mean;

		var += u * u;
	}
	var /= d;
	rs = SET1((float)(1.0 / sqrt(var + eps)));
	for (i = 0; i + W <= d; i += W)
		ST(y + i, FMA(MUL(SUB(LD(x + i), m), rs), LD(g + i), LD(b + i)));
	if (i < d) {
		int k = d - i;

		STM(y + i, k, FMA(MUL(SUB(LDM(x + i, k), m), rs), LDM(g + i, k), LDM(b + i, k)));
	}
}

ATTR void
FN(k_layernorm)(const float *x, size_t xs, float *y, size_t ys, size_t rows, int d,
		const float *g, const float *b, double eps)
{
	size_t r;
	int i;

	for (r = 0; r < rows; r++, x += xs, y += ys) {
		VF acc = SET1(0.0f);

		for (i = 0; i + W <= d; i += W)
			acc = ADD(acc, LD(x + i));
		if (i < d)
			acc = ADD(acc, LDM(x + i, d - i));
		FN(ln_row)(x, y, d, HSUM(acc) / d, g, b, eps);
	}
}

/* x += xb row by row, then y = LayerNorm(x): one pass less than the two apart */
ATTR void
FN(k_bias_layernorm)(float *x, size_t xs, float *y, size_t ys, size_t rows, int d,
		     const float *xb, const float *g, const float *b, double eps)
{
	size_t r;
	int i;

	for (r = 0; r < rows; r++, x += xs, y += ys) {
		VF acc = SET1(0.0f);

		for (i = 0; i + W <= d; i += W) {
			VF v = ADD(LD(x + i), LD(xb + i));

			ST(x + i, v);
			acc = ADD(acc, v);
		}
		if (i < d) {
			VF v = ADD(LDM(x + i, d - i), LDM(xb + i, d - i));

			STM(x + i, d - i, v);
			acc = ADD(acc, v);
		}
		FN(ln_row)(x, y, d, HSUM(acc) / d, g, b, eps);
	}
}

#undef ATTR
#undef FN
