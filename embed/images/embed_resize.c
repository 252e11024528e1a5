/*
 * embed_resize.c - Pillow-exact resampling of RGB images.
 *
 * Same arithmetic as Pillow 9.4 (libImaging/Resample.c, ImagingResample):
 * per output sample, the filter is evaluated in double precision at the
 * input pixel centres within `support` (scaled by the shrink factor when
 * shrinking, which is the antialiasing), normalised to sum 1, rounded to
 * fixed point with 22 fractional bits; sums start at one half and are
 * shifted and clipped to 0..255.  The horizontal pass runs first, only on
 * the rows the vertical pass reads, and the image is uint8 in between.
 */
#include "embed/images/embed_resize.h"
#include "common/vv_error.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

struct filter {
	double (*fn)(double x); /* the kernel */
	double support;         /* half-width at scale 1 */
};

static double
box_fn(double x)
{
	return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static double
bilinear_fn(double x)
{
	x = fabs(x);
	return x < 1.0 ? 1.0 - x : 0.0;
}

static double
hamming_fn(double x)
{
	x = fabs(x);
	if (x == 0.0)
		return 1.0;
	if (x >= 1.0)
		return 0.0;
	x *= M_PI;
	/* the float constants are Pillow's */
	return sin(x) / x * (0.54f + 0.46f * cos(x));
}

static double
bicubic_fn(double x)
{
	const double a = -0.5;

	x = fabs(x);
	if (x < 1.0)
		return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
	if (x < 2.0)
		return (((x - 5) * x + 8) * x - 4) * a;
	return 0.0;
}

static double
sinc(double x)
{
	if (x == 0.0)
		return 1.0;
	x *= M_PI;
	return sin(x) / x;
}

static double
lanczos_fn(double x)
{
	if (-3.0 <= x && x < 3.0)
		return sinc(x) * sinc(x / 3);
	return 0.0;
}

static const struct filter filters[] = {
	[EMBED_RESAMPLE_LANCZOS] = { lanczos_fn, 3.0 },
	[EMBED_RESAMPLE_BILINEAR] = { bilinear_fn, 1.0 },
	[EMBED_RESAMPLE_BICUBIC] = { bicubic_fn, 2.0 },
	[EMBED_RESAMPLE_BOX] = { box_fn, 0.5 },
	[EMBED_RESAMPLE_HAMMING] = { hamming_fn, 1.0 },
};

/* Fixed-point weights of one pass. */
struct coeffs {
	int ksize;      /* weights stored per output sample */
	int *bounds;    /* per output sample: first input index, weight count */
	int32_t *k;     /* out_size * ksize weights, 22 fractional bits */
};

static void
coeffs_free(struct coeffs *c)
{
	free(c->bounds);
	free(c->k);
	c->bounds = NULL;
	c->k = NULL;
}

static int
coeffs_build(int in_size, int out_size, const struct filter *f, struct coeffs *c)
{
	double scale, filterscale, support, *kd;
	int xx, x, ksize;

	/* Pillow's box is float: (double)(in1 - in0) with in0 = 0 */
	filterscale = scale = (double)(float)in_size / out_size;
	if (filterscale < 1.0)
		filterscale = 1.0;
	support = f->support * filterscale;
	ksize = (int)ceil(support) * 2 + 1;
	if ((size_t)out_size > SIZE_MAX / sizeof(int32_t) / (size_t)ksize)
		return vv_error(VV_ENOMEM, "resize: too many coefficients");
	c->ksize = ksize;
	c->bounds = malloc((size_t)out_size * 2 * sizeof(int));
	c->k = calloc((size_t)out_size * ksize, sizeof(int32_t));
	kd = malloc((size_t)ksize * sizeof(double));
	if (!c->bounds || !c->k || !kd) {
		free(kd);
		coeffs_free(c);
		return vv_error(VV_ENOMEM, "resize: out of memory");
	}
	for (xx = 0; xx < out_size; xx++) {
		double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
		int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
		int32_t *k = c->k + (size_t)xx * ksize;

		if (xmin < 0)
			xmin = 0;
		if (xmax > in_size)
			xmax = in_size;
		xmax -= xmin;
		if (xmax > ksize)
			xmax = ksize;  /* cannot happen; keeps the writes in bounds */
		for (x = 0; x < xmax; x++) {
			double w = f->fn((x + xmin - center + 0.5) * ss);

			kd[x] = w;
			ww += w;
		}
		for (x = 0; x < xmax; x++) {
			double v = ww != 0.0 ? kd[x] / ww : kd[x];

			k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
				     : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
		}
		c->bounds[2 * xx] = xmin;
		c->bounds[2 * xx + 1] = xmax < 0 ? 0 : xmax;
	}
	free(kd);
	return 0;
}

static inline uint8_t
clip8(int32_t ss)
{
	int32_t v = ss >> PRECISION_BITS;

	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Rows [y0, y0 + out_h) of `in` (in_w wide) resampled to out_w wide. */
static void
pass_horizontal(const uint8_t *in, int in_w, int y0, uint8_t *out, int out_w,
		int out_h, const struct coeffs *c)
{
	int xx, yy, x;

	for (yy = 0; yy < out_h; yy++) {
		const uint8_t *row = in + (size_t)(yy + y0) * in_w * 3;
		uint8_t *o = out + (size_t)yy * out_w * 3;

		for (xx = 0; xx < out_w; xx++) {
			const int32_t *k = c->k + (size_t)xx * c->ksize;
			const uint8_t *p = row + (size_t)c->bounds[2 * xx] * 3;
			int n = c->bounds[2 * xx + 1];
			int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;

			for (x = 0; x < n; x++, p += 3) {
				s0 += p[0] * k[x];
				s1 += p[1] * k[x];
				s2 += p[2] * k[x];
			}
			o[3 * xx] = clip8(s0);
			o[3 * xx + 1] = clip8(s1);
			o[3 * xx + 2] = clip8(s2);
		}
	}
}

/*
 * Columns resampled from `in` (w wide); bounds are relative to `in`.
 * Row by row into an int32 accumulator (integer sums: the order of the
 * additions does not change the result), which vectorises.
 */
static void
pass_vertical(const uint8_t *in, int w, uint8_t *out, int out_h,
	      const struct coeffs *c, int32_t *acc)
{
	size_t stride = (size_t)w * 3, xx;
	int yy, y;

	for (yy = 0; yy < out_h; yy++) {
		const int32_t *k = c->k + (size_t)yy * c->ksize;
		int ymin = c->bounds[2 * yy], n = c->bounds[2 * yy + 1];
		uint8_t *o = out + (size_t)yy * stride;

		for (xx = 0; xx < stride; xx++)
			acc[xx] = 1 << (PRECISION_BITS - 1);
		for (y = 0; y < n; y++) {
			const uint8_t *p = in + (size_t)(ymin + y) * stride;
			int32_t ky = k[y];

			for (xx = 0; xx < stride; xx++)
				acc[xx] += p[xx] * ky;
		}
		for (xx = 0; xx < stride; xx++)
			o[xx] = clip8(acc[xx]);
	}
}

int
embed_resample(const embed_image *src, embed_image *dst, int resample)
{
	struct coeffs ch = { 0 }, cv = { 0 };
	const struct filter *f;
	uint8_t *tmp = NULL;
	int32_t *acc = NULL;
	const uint8_t *vin = src->rgb;
	int need_h, need_v, y_first, y_last, i, err;

	if (resample < 0 || resample >= (int)(sizeof(filters) / sizeof(filters[0])) ||
	    !filters[resample].fn)
		return vv_error(VV_EINVAL, "unknown resampling filter %d", resample);
	f = &filters[resample];
	need_h = dst->w != src->w;
	need_v = dst->h != src->h;

	err = coeffs_build(src->h, dst->h, f, &cv);
	if (err)
		return err;
	/* rows of the source the vertical pass reads */
	y_first = cv.bounds[0];
	y_last = cv.bounds[2 * dst->h - 2] + cv.bounds[2 * dst->h - 1];

	if (need_h) {
		err = coeffs_build(src->w, dst->w, f, &ch);
		if (err)
			goto out_free_coeffs;
		for (i = 0; i < dst->h; i++)
			cv.bounds[2 * i] -= y_first;
		if (!need_v) {
			pass_horizontal(src->rgb, src->w, 0, dst->rgb, dst->w, dst->h, &ch);
			goto out_free_coeffs;
		}
		tmp = malloc((size_t)dst->w * 3 * (size_t)(y_last - y_first));
		if (!tmp) {
			err = vv_error(VV_ENOMEM, "resize: out of memory");
			goto out_free_coeffs;
		}
		pass_horizontal(src->rgb, src->w, y_first, tmp, dst->w, y_last - y_first, &ch);
		vin = tmp;
	}
	if (need_v) {
		acc = malloc((size_t)dst->w * 3 * sizeof(int32_t));
		if (!acc) {
			err = vv_error(VV_ENOMEM, "resize: out of memory");
			goto out_free_buffers;
		}
		pass_vertical(vin, dst->w, dst->rgb, dst->h, &cv, acc);
	} else {
		memcpy(dst->rgb, src->rgb, (size_t)src->w * src->h * 3);
	}
out_free_buffers:
	free(acc);
	free(tmp);
out_free_coeffs:
	coeffs_free(&ch);
	coeffs_free(&cv);
	return err;
}

int
embed_resize_nearest(const embed_image *src, embed_image *dst)
{
	/* Geometry.c ImagingScaleAffine: positions accumulate in double */
	double a0 = (double)(float)src->w / dst->w, a4 = (double)(float)src->h / dst->h;
	double xo = a0 * 0.5, yo = a4 * 0.5;
	int *xin, x, y;

	xin = malloc((size_t)dst->w * sizeof(int));
	if (!xin)
		return vv_error(VV_ENOMEM, "resize: out of memory");
	for (x = 0; x < dst->w; x++) {
		xin[x] = xo < 0.0 ? -1 : (int)xo;
		xo += a0;
	}
	for (y = 0; y < dst->h; y++) {
		int yi = yo < 0.0 ? -1 : (int)yo;
		const uint8_t *row;
		uint8_t *o = dst->rgb + (size_t)y * dst->w * 3;

		yo += a4;
		/* outside the source: left black, as Pillow's fill does */
		if (yi < 0 || yi >= src->h)
			continue;
		row = src->rgb + (size_t)yi * src->w * 3;
		for (x = 0; x < dst->w; x++)
			if (xin[x] >= 0 && xin[x] < src->w)
				memcpy(o + 3 * x, row + 3 * xin[x], 3);
	}
	free(xin);
	return 0;
}

int
embed_image_resize(const embed_image *src, int w, int h, int resample,
		   embed_image **out)
{
	int err;

	*out = NULL;
	if (w <= 0 || h <= 0)
		return vv_error(VV_EINVAL, "resize to %d x %d: sizes must be positive", w, h);
	if (w == src->w && h == src->h)
		return embed_image_crop(src, 0, 0, w, h, out);
	err = embed_image_alloc(out, w, h);
	if (err)
		return err;
	if (resample == EMBED_RESAMPLE_NEAREST)
		err = embed_resize_nearest(src, *out);
	else
		err = embed_resample(src, *out, resample);
	if (err)
		embed_image_free(out);
	return err;
}
