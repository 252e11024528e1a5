/* render_scatter.c - dot sprites and the premultiplied OVER blit. */
#include "render/render_scatter.h"
#include "common/vv_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SUB 4 /* subpixel bins per axis */

struct render_dots {
	int nclasses; /* number of classes */
	int size;     /* sprite width and height in pixels */
	int half;     /* offset from the dot centre's pixel to the sprite's corner */
	uint32_t *px; /* nclasses * SUB * SUB sprites of size*size premultiplied ARGB */
};

/* Coverage of pixel (px, py) by a disc of radius r at (cx, cy), 8x8 samples. */
static double
coverage(double px, double py, double cx, double cy, double r)
{
	int hits = 0;

	for (int j = 0; j < 8; j++)
		for (int i = 0; i < 8; i++) {
			double dx = px + (i + 0.5) / 8 - cx, dy = py + (j + 0.5) / 8 - cy;

			hits += dx * dx + dy * dy <= r * r;
		}
	return hits / 64.0;
}

int
render_dots_alloc(render_dots **pd, int nclasses, const render_rgb *colors,
		  double radius, double alpha)
{
	render_dots *d;
	size_t per;
	float *cov;

	*pd = NULL;
	if (nclasses < 1 || nclasses > 1 << 16 || !(radius >= 0.5 && radius <= 64) ||
	    !(alpha >= 0 && alpha <= 1))
		return vv_error(VV_EINVAL, "dot sprites: bad class count, radius or opacity");
	d = calloc(1, sizeof(*d));
	if (!d)
		return vv_error(VV_ENOMEM, "out of memory");
	d->nclasses = nclasses;
	d->half = (int)ceil(radius) + 1;
	d->size = 2 * d->half + 1;
	per = (size_t)d->size * d->size;
	d->px = calloc((size_t)nclasses * SUB * SUB, per * sizeof(uint32_t));
	cov = malloc(per * sizeof(float));
	if (!d->px || !cov) {
		free(cov);
		free(d->px);
		free(d);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	for (int sy = 0; sy < SUB; sy++)
		for (int sx = 0; sx < SUB; sx++) {
			/* dot centre inside the sprite: pixel `half`, plus the bin offset */
			double cx = d->half + (sx + 0.5) / SUB, cy = d->half + (sy + 0.5) / SUB;
			uint32_t *cov0 = d->px + (size_t)(sy * SUB + sx) * per;

			for (int y = 0; y < d->size; y++)
				for (int x = 0; x < d->size; x++)
					cov[y * d->size + x] = (float)coverage(x, y, cx, cy, radius);
			for (int c = 0; c < nclasses; c++) {
				uint32_t *sp = cov0 + (size_t)c * SUB * SUB * per;

				for (size_t k = 0; k < per; k++) {
					double a = cov[k] * alpha;
					uint32_t A = (uint32_t)lround(a * 255);
					uint32_t R = (uint32_t)lround(colors[c].r * a * 255);
					uint32_t G = (uint32_t)lround(colors[c].g * a * 255);
					uint32_t B = (uint32_t)lround(colors[c].b * a * 255);

					sp[k] = A << 24 | R << 16 | G << 8 | B;
				}
			}
		}
	free(cov);
	*pd = d;
	return 0;
}

void
render_dots_free(render_dots **pd)
{
	if (!*pd)
		return;
	free((*pd)->px);
	free(*pd);
	*pd = NULL;
}

/* dst = src OVER dst, premultiplied ARGB32, all four channels at once in two lanes */
static inline uint32_t
over(uint32_t s, uint32_t d)
{
	uint32_t ia = 255 - (s >> 24);
	uint32_t rb = (d & 0x00ff00ffu) * ia + 0x00800080u;
	uint32_t ag = ((d >> 8) & 0x00ff00ffu) * ia + 0x00800080u;

	rb = ((rb + ((rb >> 8) & 0x00ff00ffu)) >> 8) & 0x00ff00ffu;
	ag = (ag + ((ag >> 8) & 0x00ff00ffu)) & 0xff00ff00u;
	return s + (rb | ag);
}

void
render_dots_draw(const render_dots *d, const render_dot_target *t,
		 const float *xy, const int *cls, const uint32_t *order, size_t n)
{
	size_t per = (size_t)d->size * d->size;

	for (size_t k = 0; k < n; k++) {
		size_t i = order ? order[k] : k;
		float fx = xy[2 * i], fy = xy[2 * i + 1];
		int c = cls[i];
		int ix, iy, bx, by, x0, y0, xa, xb, ya, yb;
		const uint32_t *sp;

		if (!isfinite(fx) || !isfinite(fy) || c < 0 || c >= d->nclasses)
			continue;
		if (fx < -1e6f || fx > 1e6f || fy < -1e6f || fy > 1e6f)
			continue;
		/* pixel holding the centre and the quarter-pixel bin inside it */
		ix = (int)floorf(fx);
		iy = (int)floorf(fy);
		bx = (int)((fx - ix) * SUB);
		by = (int)((fy - iy) * SUB);
		bx = bx >= SUB ? SUB - 1 : bx;
		by = by >= SUB ? SUB - 1 : by;
		x0 = ix - d->half;
		y0 = iy - d->half;
		xa = x0 < t->x0 ? t->x0 - x0 : 0;
		ya = y0 < t->y0 ? t->y0 - y0 : 0;
		xb = x0 + d->size > t->x1 ? t->x1 - x0 : d->size;
		yb = y0 + d->size > t->y1 ? t->y1 - y0 : d->size;
		if (xa >= xb || ya >= yb)
			continue;
		sp = d->px + ((size_t)c * SUB * SUB + (size_t)(by * SUB + bx)) * per;
		for (int y = ya; y < yb; y++) {
			uint32_t *dst = (uint32_t *)(t->data + (size_t)(y0 + y) * t->stride) + x0;
			const uint32_t *src = sp + (size_t)y * d->size;

			for (int x = xa; x < xb; x++) {
				uint32_t s = src[x];

				if (s)
					dst[x] = over(s, dst[x]);
			}
		}
	}
}
