/* render_layout.c - frame geometry. */
#include "render/render_layout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double
render_layout_min_text(double s, int height)
{
	return fmax(RENDER_SMALL_TEXT * s, fmax(RENDER_MIN_TEXT_PX, height * RENDER_MIN_TEXT_FRAC));
}

void
render_layout_compute(render_layout *L, int width, int height, int ntop, double boost)
{
	double s = fmin(width / 1920.0, height / 1080.0), t;
	double M, top, bottom, content_h, plot_x, plot_r, scatter_h, head_h, gap, row_h, cell_w, cap_h, col_w, leg_w;
	int rows, cols;

	memset(L, 0, sizeof(*L));
	L->width = width;
	L->height = height;
	L->s = s;
	t = render_layout_min_text(s, height) / RENDER_SMALL_TEXT * (boost > 0 ? boost : 1);
	L->t = t;
	L->limx = L->limy = RENDER_AXIS_LIMIT; /* set below, with the scatter */
	L->ntop = ntop < 0 ? 0 : ntop > RENDER_MAX_TOP ? RENDER_MAX_TOP : ntop;
	M = L->margin = 34 * s;
	/* title (40 t) over the checkpoint line (26 t), then the progress bar */
	L->header = (render_rect){ M, M, width - 2 * M, 96 * t };
	L->progress = (render_rect){ M, M + 96 * t, width - 2 * M, fmax(2, 6 * s) };
	top = L->progress.y + L->progress.h + 20 * t;
	bottom = height - M;
	content_h = bottom - top;

	/* 8 thumbnails need room for an image and 3 caption lines each; small
	 * frames show 4 with 2 caption lines, larger */
	cap_h = 72 * t;
	head_h = 46 * t;
	gap = 20 * s;
	col_w = fmax(404 * s, fmin(0.3 * width, 300 * t));
	cell_w = (col_w - gap) / 2;
	if (L->ntop > 4 && (content_h - head_h) / 4 - cap_h - 12 * s < 0.6 * cell_w) {
		L->compact = 1;
		L->ntop = 4;
	}
	if (L->compact || L->ntop <= 4) {
		cap_h = L->compact ? 46 * t : cap_h;
	}
	rows = L->ntop > 4 ? 4 : 2;
	cols = 2;

	/* right to left: outlier column, legend, plots */
	L->outliers = (render_rect){ width - M - col_w, top, col_w, content_h };
	leg_w = fmin(fmax(236 * s, 150 * t), 0.2 * width);
	L->legend = (render_rect){ L->outliers.x - 40 * s - leg_w, top, leg_w, content_h };
	if (L->ntop == 0) {
		L->outliers.w = 0;
		L->outliers.x = width - M;
		L->legend.x = L->outliers.x - leg_w;
	}
	plot_x = M + 62 * t;          /* room for the y tick labels */
	plot_r = L->legend.x - 36 * s;
	/* scatter, its x tick labels (17 t) and the loss title line (22 t),
	 * the loss panel and its tick labels */
	scatter_h = (content_h - 120 * t) * 0.68;
	L->scatter = (render_rect){ plot_x, top, plot_r - plot_x, scatter_h };
	L->loss = (render_rect){ plot_x, top + scatter_h + 84 * t, plot_r - plot_x,
				 content_h - scatter_h - 84 * t - 36 * t };
	render_layout_set_range(L, RENDER_AXIS_LIMIT, RENDER_AXIS_LIMIT);

	/* outlier grid: heading, then 2 columns of image + caption lines */
	row_h = (content_h - head_h) / rows;
	for (int i = 0; i < L->ntop; i++) {
		double x = L->outliers.x + (i % cols) * (cell_w + gap);
		double y = top + head_h + (i / cols) * row_h;
		double box = fmax(0, fmin(cell_w, row_h - cap_h - 12 * s));

		L->slot[i] = (render_rect){ x, y, cell_w, row_h };
		L->thumb[i] = (render_rect){ x, y, box, box };
	}
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* k-th smallest of v[0..n-1] (v is reordered). */
static float
select_kth(float *v, size_t n, size_t k)
{
	qsort(v, n, sizeof(float), cmp_float);
	return v[k];
}

void
render_layout_robust_range(const float *coords, size_t T, size_t n, double *rx, double *ry)
{
	float *m = malloc((n ? n : 1) * sizeof(float));
	double lim[2] = { 0, 0 }, mx[2] = { 0, 0 };

	*rx = *ry = RENDER_AXIS_LIMIT; /* the contract's range, if out of memory */
	if (!m)
		return;
	for (int a = 0; a < 2; a++)
		for (size_t f = 0; f < T; f++) {
			size_t k = 0;

			for (size_t i = 0; i < n; i++) {
				float v = fabsf(coords[(f * n + i) * 2 + a]);

				if (isfinite(v)) {
					m[k++] = v;
					mx[a] = fmax(mx[a], v);
				}
			}
			if (k)
				lim[a] = fmax(lim[a], select_kth(m, k, (size_t)floor(0.99 * (double)(k - 1))));
		}
	free(m);
	for (int a = 0; a < 2; a++) {
		double r = mx[a] > 0 ? fmin(lim[a] * 1.08, mx[a] * 1.04) : 1;

		if (!(r > 0))
			r = mx[a] * 1.04;
		if (a)
			*ry = r;
		else
			*rx = r;
	}
}

void
render_layout_set_range(render_layout *L, double rx, double ry)
{
	L->limx = rx > 0 && isfinite(rx) ? rx : RENDER_AXIS_LIMIT;
	L->limy = ry > 0 && isfinite(ry) ? ry : RENDER_AXIS_LIMIT;
}

void
render_layout_place_badges(const double *px, const double *py, int m, double rr, double br,
			   const render_rect *bounds, double *bx, double *by)
{
	/* 16 directions in order of preference: up-right first, as a reader
	 * expects, then the other diagonals, the axes, the rest */
	static const int order[16] = { 2, 6, 14, 10, 0, 8, 4, 12, 1, 3, 5, 7, 9, 11, 13, 15 };
	double need = 2 * br + 2;

	for (int j = 0; j < m; j++) {
		double best = -INFINITY, bxj = px[j] + (rr + br) * 0.7071, byj = py[j] - (rr + br) * 0.7071;
		int done = 0;

		for (int k = 0; k < 8 && !done; k++) {
			double d = rr + br + 1 + k * 1.3 * br;

			for (int q = 0; q < 16 && !done; q++) {
				/* screen y grows downwards: direction 2 (45 degrees) is up-right */
				double th = order[q] * M_PI / 8;
				double x = px[j] + d * cos(th), y = py[j] - d * sin(th), clear = INFINITY;

				if (x - br < bounds->x || x + br > bounds->x + bounds->w || y - br < bounds->y ||
				    y + br > bounds->y + bounds->h)
					continue;
				for (int i = 0; i < j; i++)
					clear = fmin(clear, hypot(x - bx[i], y - by[i]) - need);
				for (int i = 0; i < m; i++)
					if (i != j)
						clear = fmin(clear, hypot(x - px[i], y - py[i]) - (rr + br + 1));
				if (clear >= -1e-6) {
					bxj = x;
					byj = y;
					done = 1;
				} else if (clear > best) {
					best = clear;
					bxj = x;
					byj = y;
				}
			}
		}
		bx[j] = bxj;
		by[j] = byj;
	}
}

void
render_layout_scatter_px(const render_layout *L, double x, double y, double *px, double *py)
{
	*px = L->scatter.x + (x + L->limx) / (2 * L->limx) * L->scatter.w;
	*py = L->scatter.y + (L->limy - y) / (2 * L->limy) * L->scatter.h;
}

void
render_layout_fit(const render_rect *b, int iw, int ih, render_rect *out, double *k)
{
	double side = iw > ih ? iw : ih;
	double kk = floor(fmin(b->w, b->h) / side);
	double w, h;

	if (kk < 1)
		kk = fmin(b->w / iw, b->h / ih);
	w = iw * kk;
	h = ih * kk;
	out->x = floor(b->x + (b->w - w) / 2 + 0.5);
	out->y = floor(b->y + (b->h - h) / 2 + 0.5);
	out->w = w;
	out->h = h;
	*k = kk;
}
