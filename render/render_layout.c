/* render_layout.c - frame geometry. */
#include "render/render_layout.h"

#include <math.h>
#include <string.h>

void
render_layout_compute(render_layout *L, int width, int height, int ntop)
{
	double s = fmin(width / 1920.0, height / 1080.0);
	double M, top, bottom, content_h, plot_x, plot_r, scatter_h, head_h, gap, row_h, cell_w, cap_h;

	memset(L, 0, sizeof(*L));
	L->width = width;
	L->height = height;
	L->s = s;
	L->lim = RENDER_AXIS_LIMIT;
	L->ntop = ntop < 0 ? 0 : ntop > RENDER_MAX_TOP ? RENDER_MAX_TOP : ntop;
	M = L->margin = 34 * s;
	L->header = (render_rect){ M, M, width - 2 * M, 96 * s };
	L->progress = (render_rect){ M, M + 100 * s, width - 2 * M, 6 * s };
	top = L->progress.y + L->progress.h + 26 * s;
	bottom = height - M;
	content_h = bottom - top;

	/* right to left: outlier column, legend, plots */
	L->outliers = (render_rect){ width - M - 404 * s, top, 404 * s, content_h };
	L->legend = (render_rect){ L->outliers.x - 40 * s - 236 * s, top, 236 * s, content_h };
	plot_x = M + 62 * s;          /* room for the y tick labels */
	plot_r = L->legend.x - 36 * s;
	scatter_h = (content_h - 40 * s) * 0.66;
	L->scatter = (render_rect){ plot_x, top, plot_r - plot_x, scatter_h };
	/* scatter x tick labels, then the loss panel title line */
	L->loss = (render_rect){ plot_x, top + scatter_h + 84 * s, plot_r - plot_x,
				 content_h - scatter_h - 84 * s - 36 * s };

	/* outlier grid: heading, then 2 columns x 4 rows of image + 3 caption lines */
	head_h = 50 * s;
	gap = 20 * s;
	cell_w = (L->outliers.w - gap) / 2;
	row_h = (content_h - head_h) / 4;
	cap_h = 66 * s;
	for (int i = 0; i < L->ntop; i++) {
		double x = L->outliers.x + (i % 2) * (cell_w + gap);
		double y = top + head_h + (i / 2) * row_h;
		double box = fmin(cell_w, row_h - cap_h - 8 * s);

		L->slot[i] = (render_rect){ x, y, cell_w, row_h };
		L->thumb[i] = (render_rect){ x, y, box, box };
	}
}

void
render_layout_scatter_px(const render_layout *L, double x, double y, double *px, double *py)
{
	*px = L->scatter.x + (x + L->lim) / (2 * L->lim) * L->scatter.w;
	*py = L->scatter.y + (L->lim - y) / (2 * L->lim) * L->scatter.h;
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
