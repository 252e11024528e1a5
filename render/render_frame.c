/* render_frame.c - drawing a frame: static layer, dots, loss curve, outliers. */
#include "render/render_frame.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "render/render_scatter.h"
#include "render/render_text.h"
#include "render/render_thumbs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Outlier column images cached per checkpoint (the two of a cross-fade). */
#define COL_CACHE 2

typedef struct col_cache {
	int ckpt;               /* checkpoint drawn, -1 none */
	cairo_surface_t *surf;  /* the slots of that checkpoint on the background */
	unsigned long used;     /* last use, for eviction */
} col_cache;

struct render_scene {
	const render_inputs *in;    /* data (borrowed) */
	render_layout L;            /* geometry */
	render_theme_colors tc;     /* theme colours */
	int theme;                  /* RENDER_THEME_* */
	char *title;                /* title text */
	int nclasses;               /* classes of the dataset */
	render_rgb *cls_color;      /* nclasses colours */
	uint32_t *palette;          /* theme + class colours as 0xRRGGBB */
	int npalette;               /* entries in palette */
	render_dots *dots;          /* dot sprites */
	double dot_r;               /* dot radius in pixels */
	uint32_t *order;            /* drawing order of the samples (shuffled) */
	float *xy;                  /* n pixel positions of the current frame */
	uint32_t *clamped;          /* samples of the current frame drawn at the scatter's edge */
	size_t nclamped;            /* entries in clamped */
	double *badge_dx;           /* T x RENDER_MAX_TOP badge offsets from their point (pixels), */
	double *badge_dy;           /* placed per checkpoint at rest; NAN until computed */
	cairo_surface_t *stat;      /* static layer */
	cairo_surface_t *curve;     /* full loss curves, transparent, frame-sized rect of the loss panel */
	render_rect curve_rect;     /* where `curve` goes */
	cairo_surface_t *badge[RENDER_MAX_TOP]; /* rank badges "1".."8" */
	int badge_r;                /* badge radius in pixels */
	render_thumbs *thumbs;      /* thumbnail cache */
	col_cache col[COL_CACHE];   /* outlier column per checkpoint */
	render_rect col_rect;       /* the part of the column that changes */
	unsigned long tick;         /* use counter for col_cache */
	int has_loss, has_eval;     /* curves to draw */
	double lx0, lx1, ly0, ly1;  /* loss axes ranges (ly in log10 when loss_log) */
	int loss_log;               /* logarithmic loss axis */
};

static render_text_style
style(double size, int bold, render_rgb c, int align, double max_w)
{
	render_text_style st = { size, bold, c, 1.0, align, max_w };

	return st;
}

static void
set_rgb(cairo_t *cr, render_rgb c, double a)
{
	cairo_set_source_rgba(cr, c.r, c.g, c.b, a);
}

static void
round_rect(cairo_t *cr, double x, double y, double w, double h, double r)
{
	r = fmin(r, fmin(w, h) / 2);
	cairo_new_sub_path(cr);
	cairo_arc(cr, x + w - r, y + r, r, -M_PI / 2, 0);
	cairo_arc(cr, x + w - r, y + h - r, r, 0, M_PI / 2);
	cairo_arc(cr, x + r, y + h - r, r, M_PI / 2, M_PI);
	cairo_arc(cr, x + r, y + r, r, M_PI, 1.5 * M_PI);
	cairo_close_path(cr);
}

/* "12,345" */
static void
fmt_int(char *buf, size_t n, double v)
{
	char tmp[48];
	long long x = llround(fabs(v));
	int len, o = 0, lead;

	len = snprintf(tmp, sizeof(tmp), "%lld", x);
	if (v < 0 && o < (int)n - 1)
		buf[o++] = '-';
	lead = len % 3 ? len % 3 : 3;
	for (int i = 0; i < len && o < (int)n - 1; i++) {
		if (i && (i - lead) % 3 == 0 && i >= lead && o < (int)n - 1)
			buf[o++] = ',';
		if (o < (int)n - 1)
			buf[o++] = tmp[i];
	}
	buf[o] = 0;
}

/* Tick spacing 1, 2 or 5 x 10^k giving at most `max` intervals over [lo, hi]. */
static double
nice_step(double lo, double hi, int max)
{
	double raw = (hi - lo) / max, p, m;

	if (!(raw > 0))
		return 1;
	p = pow(10, floor(log10(raw)));
	m = raw / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* ---- loss axes ------------------------------------------------------------------ */

static double
loss_px_x(const render_scene *s, double step)
{
	return s->L.loss.x + (step - s->lx0) / (s->lx1 - s->lx0) * s->L.loss.w;
}

static double
loss_px_y(const render_scene *s, double v)
{
	double y = s->loss_log ? log10(fmax(v, 1e-12)) : v;

	return s->L.loss.y + s->L.loss.h - (y - s->ly0) / (s->ly1 - s->ly0) * s->L.loss.h;
}

static void
loss_ranges(render_scene *s)
{
	const render_loss *L = &s->in->loss;
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;

	for (size_t i = 0; i < L->n; i++) {
		double v[2] = { L->loss[i], L->eval_loss[i] };

		for (int k = 0; k < 2; k++) {
			if (!isfinite(v[k]) || (s->loss_log && v[k] <= 0))
				continue;
			s->has_loss |= k == 0;
			s->has_eval |= k == 1;
			xmin = fmin(xmin, L->step[i]);
			xmax = fmax(xmax, L->step[i]);
			ymin = fmin(ymin, v[k]);
			ymax = fmax(ymax, v[k]);
		}
	}
	for (size_t i = 0; i < s->in->T; i++)
		if (s->in->frames[i].step >= 0) {
			xmin = fmin(xmin, (double)s->in->frames[i].step);
			xmax = fmax(xmax, (double)s->in->frames[i].step);
		}
	if (!(s->has_loss || s->has_eval))
		return;
	s->lx0 = xmin >= 0 ? 0 : xmin;
	s->lx1 = xmax > s->lx0 ? xmax : s->lx0 + 1;
	if (s->loss_log) {
		s->ly0 = log10(ymin) - 0.1;
		s->ly1 = log10(ymax) + 0.1;
	} else {
		s->ly0 = ymin >= 0 ? 0 : ymin * 1.1;
		s->ly1 = ymax > 0 ? ymax * 1.1 : 1;
	}
	if (!(s->ly1 > s->ly0))
		s->ly1 = s->ly0 + 1;
}

/* One series as a polyline (NaN entries skipped) on `cr`. */
static void
loss_path(const render_scene *s, cairo_t *cr, const double *v)
{
	const render_loss *L = &s->in->loss;

	cairo_new_path(cr);
	for (size_t i = 0; i < L->n; i++)
		if (isfinite(v[i]) && (!s->loss_log || v[i] > 0))
			cairo_line_to(cr, loss_px_x(s, L->step[i]), loss_px_y(s, v[i]));
}

static int
draw_curves(render_scene *s)
{
	double pad = 12 * s->L.t;
	render_rect r = { floor(s->L.loss.x - pad), floor(s->L.loss.y - pad), ceil(s->L.loss.w + 2 * pad),
			  ceil(s->L.loss.h + 2 * pad) };
	cairo_t *cr;

	s->curve_rect = r;
	s->curve = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)r.w, (int)r.h);
	if (cairo_surface_status(s->curve))
		return vv_error(VV_ENOMEM, "out of memory");
	cr = cairo_create(s->curve);
	cairo_translate(cr, -r.x, -r.y);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
	if (s->has_eval) {
		double dash[2] = { 10 * s->L.t, 7 * s->L.t };

		loss_path(s, cr, s->in->loss.eval_loss);
		set_rgb(cr, s->tc.eval, 1);
		cairo_set_line_width(cr, 3 * s->L.t);
		cairo_set_dash(cr, dash, 2, 0);
		cairo_stroke(cr);
		cairo_set_dash(cr, NULL, 0, 0);
	}
	if (s->has_loss) {
		loss_path(s, cr, s->in->loss.loss);
		set_rgb(cr, s->tc.train, 1);
		cairo_set_line_width(cr, 3.5 * s->L.t);
		cairo_stroke(cr);
	}
	cairo_destroy(cr);
	return 0;
}

/*
 * The value of a series last logged at or before `step` (what frames.csv
 * gives the checkpoint), its step in *at; NaN when nothing was logged up to
 * there.  Never an interpolation: only logged values are printed.
 */
static double
logged_at(const render_loss *L, const double *v, double step, double *at)
{
	double pv = NAN;

	*at = NAN;
	for (size_t i = 0; i < L->n && L->step[i] <= step; i++)
		if (isfinite(v[i])) {
			pv = v[i];
			*at = L->step[i];
		}
	return pv;
}

/* ---- static layer --------------------------------------------------------------------- */

static void
draw_scatter_axes(render_scene *s, cairo_t *cr)
{
	const render_layout *L = &s->L;
	double sc = L->t;
	render_text_style tick = style(17 * sc, 0, s->tc.muted, RENDER_ALIGN_RIGHT, 0);

	set_rgb(cr, s->tc.panel, 1);
	cairo_rectangle(cr, L->scatter.x, L->scatter.y, L->scatter.w, L->scatter.h);
	cairo_fill(cr);
	cairo_set_line_width(cr, fmax(1, 1.2 * sc));
	/* grid lines, labelled (every other one when many) */
	{
		for (int axis = 0; axis < 2; axis++) {
			double lim = axis ? L->limy : L->limx, len = axis ? L->scatter.h : L->scatter.w;
			/* lines about 60 text units apart across, 40 up (labels are short) */
			double step = nice_step(-lim, lim, (int)fmax(2, len / ((axis ? 40 : 60) * sc)));
			long k0 = (long)ceil(-lim / step - 1e-9), k1 = (long)floor(lim / step + 1e-9);

			for (long k = k0; k <= k1 && k1 - k0 < 200; k++) {
				double v = k * step, px, py, h;
				char buf[32];

				render_layout_scatter_px(L, v, v, &px, &py);
				set_rgb(cr, s->tc.grid, 1);
				if (axis) {
					cairo_move_to(cr, L->scatter.x, py);
					cairo_line_to(cr, L->scatter.x + L->scatter.w, py);
				} else {
					cairo_move_to(cr, px, L->scatter.y);
					cairo_line_to(cr, px, L->scatter.y + L->scatter.h);
				}
				cairo_stroke(cr);
				if (k % 2 && k1 - k0 > 5)
					continue;
				snprintf(buf, sizeof(buf), "%g", fabs(v) < 1e-12 ? 0.0 : v);
				render_text_measure(cr, buf, &tick, NULL, &h);
				if (axis) {
					if (py - h / 2 < L->scatter.y - 2 || py + h / 2 > L->scatter.y + L->scatter.h + 2)
						continue;
					tick.align = RENDER_ALIGN_RIGHT;
					render_text_draw(cr, buf, &tick, L->scatter.x - 10 * sc, py - h / 2, NULL, NULL);
				} else {
					tick.align = RENDER_ALIGN_CENTER;
					render_text_draw(cr, buf, &tick, px, L->scatter.y + L->scatter.h + 8 * sc, NULL, NULL);
				}
			}
		}
	}
	set_rgb(cr, s->tc.axis, 1);
	cairo_set_line_width(cr, fmax(1, 1.5 * sc));
	cairo_rectangle(cr, L->scatter.x, L->scatter.y, L->scatter.w, L->scatter.h);
	cairo_stroke(cr);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
draw_legend(render_scene *s, cairo_t *cr)
{
	const render_layout *L = &s->L;
	double sc = L->t, font = 24 * sc, row = 0, colw = L->legend.w, avail;
	int n = s->nclasses, rows = n, cols = 1, shown = n;
	render_text_style head = style(21 * sc, 1, s->tc.muted, RENDER_ALIGN_LEFT, L->legend.w);
	double y0 = L->legend.y + 36 * sc;

	double wmax = 0, *wid = malloc((size_t)n * sizeof(double));

	render_text_draw(cr, "Classes", &head, L->legend.x, L->legend.y, NULL, NULL);
	avail = L->legend.y + L->legend.h - y0;
	/* name widths at 24 * sc pixels; the few longest may be ellipsized, so
	 * size for the 85th percentile */
	if (wid) {
		render_text_style st = style(24 * sc, 0, s->tc.fg, RENDER_ALIGN_LEFT, 0);

		for (int i = 0; i < n; i++)
			render_text_measure(cr, s->in->man->class_names[i], &st, &wid[i], NULL);
		qsort(wid, (size_t)n, sizeof(double), cmp_double);
		wmax = wid[(int)floor(0.85 * (n - 1))];
		free(wid);
	}
	/* the largest font at which (nearly) every name fits whole, in up to 4 columns */
	for (double f = 24; f >= RENDER_SMALL_TEXT; f -= 1) {
		font = f * sc;
		row = font * 1.55;
		rows = (int)(avail / row);
		rows = rows < 1 ? 1 : rows;
		cols = (n + rows - 1) / rows;
		colw = L->legend.w / cols;
		if (cols <= 4 && 0.72 * font + 10 * sc + wmax * f / 24 + 6 * sc <= colw)
			break;
	}
	if (cols > 4) {
		cols = 4;
		colw = L->legend.w / 4;
	}
	if (n > rows * cols)
		shown = rows * cols - 1;
	for (int i = 0; i < shown; i++) {
		double x = L->legend.x + (i / rows) * colw, y = y0 + (i % rows) * row;
		double r = font * 0.36;
		render_text_style st = style(font, 0, s->tc.fg, RENDER_ALIGN_LEFT, colw - 2.4 * r - 8 * sc);
		int c = s->in->man->class_order[i]; /* the model's order */
		double h;

		render_text_measure(cr, s->in->man->class_names[c], &st, NULL, &h);
		set_rgb(cr, s->cls_color[c], 1);
		cairo_arc(cr, x + r, y + h / 2, r, 0, 2 * M_PI);
		cairo_fill(cr);
		render_text_draw(cr, s->in->man->class_names[c], &st, x + 2 * r + 10 * sc, y, NULL, NULL);
	}
	/* the sample count under the legend */
	{
		char buf[64];
		int used = shown < n ? shown + 1 : shown;
		double y = y0 + (used < rows ? used : rows) * row + 8 * sc;
		render_text_style st = style(17 * sc, 0, s->tc.muted, RENDER_ALIGN_LEFT, L->legend.w);

		fmt_int(buf, sizeof(buf), (double)s->in->n);
		strncat(buf, " samples", sizeof(buf) - strlen(buf) - 1);
		if (y + 20 * sc < L->legend.y + L->legend.h)
			render_text_draw(cr, buf, &st, L->legend.x, y, NULL, NULL);
	}
	if (shown < n) {
		char buf[48];
		render_text_style st = style(font, 0, s->tc.muted, RENDER_ALIGN_LEFT, colw);

		snprintf(buf, sizeof(buf), "+ %d more", n - shown);
		render_text_draw(cr, buf, &st, L->legend.x + (shown / rows) * colw, y0 + (shown % rows) * row, NULL,
				 NULL);
	}
}

static void
draw_loss_axes(render_scene *s, cairo_t *cr)
{
	const render_layout *L = &s->L;
	double sc = L->t, tw, th;
	render_text_style head = style(22 * sc, 1, s->tc.fg, RENDER_ALIGN_LEFT, 0);
	render_text_style tick = style(17 * sc, 0, s->tc.muted, RENDER_ALIGN_RIGHT, 0);
	render_text_style key = style(19 * sc, 0, s->tc.muted, RENDER_ALIGN_RIGHT, 0);
	double ty = L->loss.y - 40 * sc;

	render_text_draw(cr, "Loss", &head, L->loss.x, ty, &tw, &th);
	{
		render_text_style sub = style(19 * sc, 0, s->tc.muted, RENDER_ALIGN_LEFT, 0);
		const char *what = s->loss_log ? "by training step, log scale" : "by training step";
		double sh, sw, kw = 0, w1;

		/* the subtitle only where it clears the key at the right */
		render_text_measure(cr, what, &sub, &sw, &sh);
		if (s->has_eval) {
			render_text_measure(cr, "eval", &key, &w1, NULL);
			kw += w1 + 10 * sc + 34 * sc + 28 * sc;
		}
		if (s->has_loss) {
			render_text_measure(cr, "train", &key, &w1, NULL);
			kw += w1 + 10 * sc + 34 * sc;
		}
		if (tw + 12 * sc + sw + 24 * sc + kw <= L->loss.w)
			render_text_draw(cr, what, &sub, L->loss.x + tw + 12 * sc, ty + (th - sh) * 0.75, NULL, NULL);
	}
	set_rgb(cr, s->tc.panel, 1);
	cairo_rectangle(cr, L->loss.x, L->loss.y, L->loss.w, L->loss.h);
	cairo_fill(cr);
	if (!s->has_loss && !s->has_eval) {
		tick.align = RENDER_ALIGN_CENTER;
		tick.size = 20 * sc;
		render_text_measure(cr, "no training log in this work folder", &tick, NULL, &th);
		render_text_draw(cr, "no training log in this work folder", &tick, L->loss.x + L->loss.w / 2,
				 L->loss.y + L->loss.h / 2 - th / 2, NULL, NULL);
	} else {
		double step, v;
		char buf[48];

		/* key: train (solid) and eval (dashed) */
		{
			double x = L->loss.x + L->loss.w, yk = ty + 4 * sc, lw = 34 * sc;

			if (s->has_eval) {
				double dash[2] = { 8 * sc, 5 * sc };

				render_text_draw(cr, "eval", &key, x, yk, &tw, &th);
				x -= tw + 10 * sc;
				set_rgb(cr, s->tc.eval, 1);
				cairo_set_line_width(cr, 3 * sc);
				cairo_set_dash(cr, dash, 2, 0);
				cairo_move_to(cr, x - lw, yk + th / 2);
				cairo_line_to(cr, x, yk + th / 2);
				cairo_stroke(cr);
				cairo_set_dash(cr, NULL, 0, 0);
				x -= lw + 28 * sc;
			}
			if (s->has_loss) {
				render_text_draw(cr, "train", &key, x, yk, &tw, &th);
				x -= tw + 10 * sc;
				set_rgb(cr, s->tc.train, 1);
				cairo_set_line_width(cr, 3.5 * sc);
				cairo_move_to(cr, x - lw, yk + th / 2);
				cairo_line_to(cr, x, yk + th / 2);
				cairo_stroke(cr);
			}
		}
		cairo_set_line_width(cr, fmax(1, 1.2 * sc));
		/* y grid and labels */
		step = nice_step(s->ly0, s->ly1, 4);
		if (s->loss_log && step < 1)
			step = 1;
		for (v = ceil(s->ly0 / step) * step; v <= s->ly1 + 1e-9; v += step) {
			double py = loss_px_y(s, s->loss_log ? pow(10, v) : v);

			set_rgb(cr, s->tc.grid, 1);
			cairo_move_to(cr, L->loss.x, py);
			cairo_line_to(cr, L->loss.x + L->loss.w, py);
			cairo_stroke(cr);
			if (s->loss_log)
				snprintf(buf, sizeof(buf), "%g", pow(10, v));
			else
				snprintf(buf, sizeof(buf), "%g", fabs(v) < 1e-12 ? 0.0 : v);
			render_text_measure(cr, buf, &tick, NULL, &th);
			tick.align = RENDER_ALIGN_RIGHT;
			render_text_draw(cr, buf, &tick, L->loss.x - 10 * sc, py - th / 2, NULL, NULL);
		}
		/* x grid and labels (steps) */
		step = nice_step(s->lx0, s->lx1, (int)fmax(3, L->loss.w / (110 * sc)));
		if (step < 1)
			step = 1;
		for (v = ceil(s->lx0 / step) * step; v <= s->lx1 + 1e-9; v += step) {
			double px = loss_px_x(s, v);

			set_rgb(cr, s->tc.grid, 1);
			cairo_move_to(cr, px, L->loss.y);
			cairo_line_to(cr, px, L->loss.y + L->loss.h);
			cairo_stroke(cr);
			fmt_int(buf, sizeof(buf), v);
			tick.align = RENDER_ALIGN_CENTER;
			render_text_draw(cr, buf, &tick, px, L->loss.y + L->loss.h + 8 * sc, NULL, NULL);
		}
	}
	set_rgb(cr, s->tc.axis, 1);
	cairo_set_line_width(cr, fmax(1, 1.5 * sc));
	cairo_rectangle(cr, L->loss.x, L->loss.y, L->loss.w, L->loss.h);
	cairo_stroke(cr);
}

static int
draw_static(render_scene *s)
{
	const render_layout *L = &s->L;
	double sc = L->t;
	render_text_style title = style(40 * sc, 1, s->tc.fg, RENDER_ALIGN_LEFT, L->header.w * 0.64);
	render_text_style head = style(24 * sc, 1, s->tc.fg, RENDER_ALIGN_LEFT, L->outliers.w);
	render_text_style sub = style(17 * sc, 0, s->tc.muted, RENDER_ALIGN_RIGHT, 0);
	cairo_t *cr;
	char buf[64];

	s->stat = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, L->width, L->height);
	if (cairo_surface_status(s->stat))
		return vv_error(VV_ENOMEM, "out of memory (%dx%d frame)", L->width, L->height);
	cr = cairo_create(s->stat);
	set_rgb(cr, s->tc.bg, 1);
	cairo_paint(cr);
	render_text_draw(cr, s->title, &title, L->header.x, L->header.y, NULL, NULL);
	/* progress track */
	set_rgb(cr, s->tc.grid, 1);
	round_rect(cr, L->progress.x, L->progress.y, L->progress.w, L->progress.h, L->progress.h / 2);
	cairo_fill(cr);
	draw_scatter_axes(s, cr);
	draw_legend(s, cr);
	draw_loss_axes(s, cr);
	if (L->ntop > 0) {
		double tw;

		const char *sub_text = s->in->top_label_issues ? "whole run" : "most unusual first";
		double sw;

		snprintf(buf, sizeof(buf), s->in->top_label_issues ? "Top %d label issues" : "Top %d outliers", L->ntop);
		render_text_draw(cr, buf, &head, L->outliers.x, L->outliers.y - 4 * sc, &tw, NULL);
		render_text_measure(cr, sub_text, &sub, &sw, NULL);
		if (tw + 16 * sc + sw <= L->outliers.w)
			render_text_draw(cr, sub_text, &sub, L->outliers.x + L->outliers.w, L->outliers.y + 2 * sc, NULL,
					 NULL);
	}

	cairo_destroy(cr);
	cairo_surface_flush(s->stat);
	return cairo_surface_status(s->stat) ? vv_error(VV_ENOMEM, "out of memory") : 0;
}

static int
draw_badges(render_scene *s)
{
	double sc = s->L.t;
	int r = (int)ceil(13 * sc);

	s->badge_r = r < 4 ? 4 : r;
	r = s->badge_r;
	for (int i = 0; i < RENDER_MAX_TOP; i++) {
		render_text_style st = style(r * 1.25, 1, s->tc.bg, RENDER_ALIGN_CENTER, 0);
		cairo_t *cr;
		char buf[sizeof("-2147483648")]; /* any int fits: no truncation */
		double h;

		s->badge[i] = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 2 * r + 2, 2 * r + 2);
		if (cairo_surface_status(s->badge[i]))
			return vv_error(VV_ENOMEM, "out of memory");
		cr = cairo_create(s->badge[i]);
		set_rgb(cr, s->tc.fg, 1);
		cairo_arc(cr, r + 1, r + 1, r, 0, 2 * M_PI);
		cairo_fill(cr);
		snprintf(buf, sizeof(buf), "%d", i + 1);
		render_text_measure(cr, buf, &st, NULL, &h);
		render_text_draw(cr, buf, &st, r + 1, r + 1 - h / 2, NULL, NULL);
		cairo_destroy(cr);
	}
	return 0;
}

/* ---- outlier column -------------------------------------------------------------------- */

/*
 * "more unusual than 99.7%" for rank r (1 = most atypical) of n samples:
 * the share of the others with a higher score, rounded down so it never
 * overstates; short: "top 0.3% unusual" (compact frames, narrow cells).
 */
static void
unusual_text(char *buf, size_t size, int r, size_t n, int compact)
{
	double more = n > 0 ? 100.0 * (double)(n - (size_t)r) / (double)n : 0;
	double top = 100.0 - more;

	if (compact)
		snprintf(buf, size, top < 1 ? "top %.1f%% unusual" : "top %.0f%% unusual", top < 1 ? ceil(top * 10) / 10 : ceil(top));
	else if (more >= 99.9)
		snprintf(buf, size, "more unusual than %.2f%%", floor(more * 100) / 100);
	else
		snprintf(buf, size, "more unusual than %.1f%%", floor(more * 10) / 10);
}

static void
draw_slot(render_scene *s, cairo_t *cr, int ckpt, int j)
{
	const render_layout *L = &s->L;
	const render_top *t = &s->in->frames[ckpt].top[j];
	const render_rect *box = &L->thumb[j], *cell = &L->slot[j];
	cairo_surface_t *img = render_thumbs_get(s->thumbs, t->index);
	double sc = L->t, k, y, h;
	int wrong = t->predicted >= 0 && t->predicted != t->label;
	render_rect fit;
	char buf[96];

	if (box->w < 2 || box->h < 2)
		return; /* a frame too small for thumbnails */
	if (img) {
		int iw = cairo_image_surface_get_width(img), ih = cairo_image_surface_get_height(img);

		render_layout_fit(box, iw, ih, &fit, &k);
		cairo_save(cr);
		cairo_rectangle(cr, fit.x, fit.y, fit.w, fit.h);
		cairo_clip(cr);
		cairo_translate(cr, fit.x, fit.y);
		cairo_scale(cr, k, k);
		cairo_set_source_surface(cr, img, 0, 0);
		cairo_pattern_set_filter(cairo_get_source(cr), k >= 1 && k == floor(k) ? CAIRO_FILTER_NEAREST
										      : CAIRO_FILTER_GOOD);
		cairo_paint(cr);
		cairo_restore(cr);
	} else {
		fit = *box;
	}
	/* frame: thin normally, thick alert colour when misclassified */
	if (wrong) {
		double lw = fmax(2, 5 * sc);

		set_rgb(cr, s->tc.alert, 1);
		cairo_set_line_width(cr, lw);
		cairo_rectangle(cr, fit.x - lw / 2, fit.y - lw / 2, fit.w + lw, fit.h + lw);
	} else {
		set_rgb(cr, s->tc.axis, 1);
		cairo_set_line_width(cr, fmax(1, 1.5 * sc));
		cairo_rectangle(cr, fit.x - 0.75 * sc, fit.y - 0.75 * sc, fit.w + 1.5 * sc, fit.h + 1.5 * sc);
	}
	cairo_stroke(cr);
	/* rank badge on the image's top-left corner */
	cairo_set_source_surface(cr, s->badge[j], floor(fit.x - s->badge_r * 0.6), floor(fit.y - s->badge_r * 0.6));
	cairo_paint(cr);

	/* caption: class, how unusual, prediction (compact: class, then the
	 * prediction when wrong, else how unusual) */
	y = box->y + box->h + 5 * sc;
	{
		render_text_style st = style(21 * sc, 1, s->tc.fg, RENDER_ALIGN_LEFT, cell->w - 22 * sc);
		double r = 7 * sc;

		render_text_measure(cr, s->in->man->class_names[t->label], &st, NULL, &h);
		set_rgb(cr, s->cls_color[t->label], 1);
		cairo_arc(cr, cell->x + r, y + h / 2, r, 0, 2 * M_PI);
		cairo_fill(cr);
		render_text_draw(cr, s->in->man->class_names[t->label], &st, cell->x + 2 * r + 6 * sc, y, NULL, &h);
		y += h;
	}
	{
		render_text_style st = style(17 * sc, 0, s->tc.muted, RENDER_ALIGN_LEFT, cell->w);

		/* how unusual, as a share of the samples: the raw score (a
		 * kNN distance through an exponential, 9e-15 or 0.4) means
		 * nothing on screen and stays in outliers.csv */
		if (s->in->top_label_issues && isfinite(t->score))
			snprintf(buf, sizeof(buf), "label issue %.2f", t->score);
		else
			unusual_text(buf, sizeof(buf), j + 1, s->in->n, 0);
		if (!s->in->top_label_issues) {
			render_text_style whole = st; /* measured without ellipsizing */
			double w;

			whole.max_w = 0;
			render_text_measure(cr, buf, &whole, &w, NULL);
			if (L->compact || w > cell->w) {
				unusual_text(buf, sizeof(buf), j + 1, s->in->n, 1);
				render_text_measure(cr, buf, &whole, &w, NULL);
				if (w > cell->w) /* "top 0.3%" */
					*strrchr(buf, ' ') = '\0';
			}
		}
		if (!L->compact || !wrong) {
			render_text_draw(cr, buf, &st, cell->x, y, NULL, &h);
			y += h;
		}
		if (t->predicted >= 0 && (!L->compact || wrong)) {
			const char *pn = t->predicted < s->nclasses ? s->in->man->class_names[t->predicted] : NULL;

			if (wrong) {
				st.bold = 1;
				st.color = s->tc.alert;
				if (pn)
					snprintf(buf, sizeof(buf), "predicted %s", pn);
				else
					snprintf(buf, sizeof(buf), "predicted #%d", t->predicted);
			} else {
				snprintf(buf, sizeof(buf), "predicted \xe2\x9c\x93");
				st.color = s->tc.ok;
			}
			render_text_draw(cr, buf, &st, cell->x, y, NULL, NULL);
		}
	}
}

/* The column image of checkpoint `c`, from the cache or drawn now. */
static cairo_surface_t *
column(render_scene *s, int c)
{
	col_cache *slot = &s->col[0];
	cairo_t *cr;

	s->tick++;
	for (int i = 0; i < COL_CACHE; i++)
		if (s->col[i].ckpt == c && s->col[i].surf) {
			s->col[i].used = s->tick;
			return s->col[i].surf;
		}
	for (int i = 1; i < COL_CACHE; i++)
		if (s->col[i].used < slot->used)
			slot = &s->col[i];
	if (!slot->surf) {
		slot->surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)s->col_rect.w, (int)s->col_rect.h);
		if (cairo_surface_status(slot->surf)) {
			cairo_surface_destroy(slot->surf);
			slot->surf = NULL;
			return NULL;
		}
	}
	cr = cairo_create(slot->surf);
	set_rgb(cr, s->tc.bg, 1);
	cairo_paint(cr);
	cairo_translate(cr, -s->col_rect.x, -s->col_rect.y);
	for (int j = 0; j < s->L.ntop && j < s->in->frames[c].ntop; j++)
		draw_slot(s, cr, c, j);
	cairo_destroy(cr);
	slot->ckpt = c;
	slot->used = s->tick;
	return slot->surf;
}

/* ---- allocation ------------------------------------------------------------------------- */

void
render_scene_free(render_scene **ps)
{
	render_scene *s = *ps;

	if (!s)
		return;
	for (int i = 0; i < COL_CACHE; i++)
		if (s->col[i].surf)
			cairo_surface_destroy(s->col[i].surf);
	for (int i = 0; i < RENDER_MAX_TOP; i++)
		if (s->badge[i])
			cairo_surface_destroy(s->badge[i]);
	if (s->stat)
		cairo_surface_destroy(s->stat);
	if (s->curve)
		cairo_surface_destroy(s->curve);
	render_thumbs_free(&s->thumbs);
	render_dots_free(&s->dots);
	free(s->order);
	free(s->xy);
	free(s->clamped);
	free(s->badge_dx);
	free(s->badge_dy);
	free(s->cls_color);
	free(s->palette);
	free(s->title);
	free(s);
	*ps = NULL;
}

int
render_scene_alloc(render_scene **ps, const render_inputs *in, const render_opts *o)
{
	render_scene *s;
	size_t n = in->n;
	double lg;
	int err;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	*ps = NULL;
	if (o->top < 0 || o->top > RENDER_MAX_TOP)
		return vv_error(VV_EINVAL, "top %d outside 0..%d", o->top, RENDER_MAX_TOP);
	s = calloc(1, sizeof(*s));
	if (!s)
		return vv_error(VV_ENOMEM, "out of memory");
	s->in = in;
	s->theme = o->theme == RENDER_THEME_DARK ? RENDER_THEME_DARK : RENDER_THEME_LIGHT;
	s->loss_log = o->loss_log != 0;
	render_theme_colors_get(s->theme, &s->tc);
	render_layout_compute(&s->L, o->width, o->height, o->top, o->classroom ? RENDER_CLASSROOM_TEXT : 1.0);
	{
		double rx, ry;

		render_layout_robust_range(in->coords, in->T, in->n, &rx, &ry);
		render_layout_set_range(&s->L, rx, ry);
	}
	for (int i = 0; i < COL_CACHE; i++)
		s->col[i].ckpt = -1;
	s->nclasses = in->man->nclasses;
	s->title = o->title ? vv_strdup(o->title) : render_default_title(in->man);
	s->cls_color = malloc((size_t)s->nclasses * sizeof(*s->cls_color));
	s->palette = malloc(((size_t)s->nclasses + 16) * sizeof(uint32_t));
	s->order = malloc((n ? n : 1) * sizeof(uint32_t));
	s->xy = malloc((n ? n : 1) * 2 * sizeof(float));
	s->clamped = malloc((n ? n : 1) * sizeof(uint32_t));
	s->badge_dx = malloc((in->T ? in->T : 1) * RENDER_MAX_TOP * sizeof(double));
	s->badge_dy = malloc((in->T ? in->T : 1) * RENDER_MAX_TOP * sizeof(double));
	if (!s->title || !s->cls_color || !s->palette || !s->order || !s->xy || !s->clamped || !s->badge_dx ||
	    !s->badge_dy || n > UINT32_MAX) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < (in->T ? in->T : 1) * RENDER_MAX_TOP; i++)
		s->badge_dx[i] = s->badge_dy[i] = NAN;
	/* colours by display position, so that a class keeps its colour
	 * whatever the data set calls it or however its folders sort */
	for (int i = 0; i < s->nclasses; i++)
		s->cls_color[in->man->class_order[i]] = render_class_color(i, s->theme);
	{
		const render_rgb theme[] = { s->tc.bg, s->tc.fg, s->tc.muted, s->tc.grid, s->tc.axis,
					     s->tc.panel, s->tc.train, s->tc.eval, s->tc.alert, s->tc.ok };

		for (size_t i = 0; i < sizeof(theme) / sizeof(theme[0]); i++)
			s->palette[s->npalette++] = render_rgb_pack(theme[i]) & 0xffffff;
		for (int i = 0; i < s->nclasses; i++)
			s->palette[s->npalette++] = render_rgb_pack(s->cls_color[i]) & 0xffffff;
	}
	/* drawing order: a fixed shuffle, so that no class is always on top */
	for (size_t i = 0; i < n; i++)
		s->order[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j;
		uint32_t tmp;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = (size_t)(x % i);
		tmp = s->order[i - 1];
		s->order[i - 1] = s->order[j];
		s->order[j] = tmp;
	}
	/* dots get smaller and lighter as the cloud gets denser */
	lg = log10(fmax((double)n, 1000.0) / 1000.0);
	s->dot_r = fmax(0.8, s->L.s * fmax(1.6, 6.0 - 1.75 * lg));
	if (o->classroom)
		s->dot_r = fmax(s->dot_r * 1.5, 1.6); /* thicker points for a projector */
	s->dot_r = fmin(s->dot_r, 60);
	err = render_dots_alloc(&s->dots, s->nclasses, s->cls_color, s->dot_r,
				fmin(0.92, fmax(0.45, 0.9 - 0.2 * lg)));
	if (err)
		goto out_free;
	err = render_thumbs_alloc(&s->thumbs, in->man->data, in->samples, o->thumb_load, o->thumb_free,
				  render_rgb_pack(s->tc.axis));
	if (err)
		goto out_free;
	loss_ranges(s);
	if ((err = draw_static(s)) || (err = draw_badges(s)))
		goto out_free;
	if ((s->has_loss || s->has_eval) && (err = draw_curves(s)))
		goto out_free;
	if (s->L.ntop > 0) {
		double x0 = floor(s->L.outliers.x - 2 * s->L.t - s->badge_r),
		       y0 = floor(s->L.slot[0].y - s->badge_r - 2);

		s->col_rect = (render_rect){ x0, y0, ceil(s->L.outliers.x + s->L.outliers.w + 2) - x0,
					     ceil(s->L.outliers.y + s->L.outliers.h) - y0 };
	}
	*ps = s;
	return 0;

out_free:
	render_scene_free(&s);
	return err;
}

const uint32_t *
render_scene_palette(const render_scene *s, int *n)
{
	*n = s->npalette;
	return s->palette;
}

/* ---- per frame ------------------------------------------------------------------------------ */

/* A frame at rest shows one checkpoint: a move that has not started is its start. */
static render_time
settle(const render_time *tm)
{
	render_time t = *tm;

	if (t.from == t.to || t.mix >= 1) {
		t.from = t.to;
		t.mix = 1;
	} else if (t.mix <= 0) {
		t.to = t.from;
		t.mix = 1;
	}
	return t;
}

/* "checkpoint-240", with the epoch when known */
static void
ckpt_words(const render_scene *s, int c, char *buf, size_t n)
{
	const render_frame_info *f = &s->in->frames[c];

	if (isfinite(f->epoch))
		snprintf(buf, n, "%s  \xc2\xb7  epoch %.2f", s->in->man->ckpt[c].name, f->epoch);
	else
		snprintf(buf, n, "%s", s->in->man->ckpt[c].name);
}

int
render_scene_describe(const render_scene *s, const render_time *tm, render_frame_text *out)
{
	render_time t;
	const render_loss *Ls = &s->in->loss;
	size_t T = s->in->T;
	char b[128], na[40], nb[40];

	memset(out, 0, sizeof(*out));
	if (tm->from < 0 || tm->to < 0 || (size_t)tm->from >= T || (size_t)tm->to >= T)
		return vv_error(VV_EINVAL, "checkpoint %d outside 0..%zu", tm->to, T - 1);
	t = settle(tm);
	out->from = t.from;
	out->to = t.to;
	out->moving = t.from != t.to;
	out->loss_step = NAN;
	out->loss_value = NAN;
	for (int k = 0; k < 2; k++) {
		int c = k ? t.to : t.from;
		char *dst = k ? nb : na;

		if (s->in->frames[c].step >= 0)
			fmt_int(dst, sizeof(na), (double)s->in->frames[c].step);
		else
			snprintf(dst, sizeof(na), "?");
	}
	if (s->in->frames[t.to].step >= 0 || s->in->frames[t.from].step >= 0) {
		if (out->moving)
			snprintf(out->step, sizeof(out->step), "%s \xe2\x86\x92 %s", na, nb);
		else
			snprintf(out->step, sizeof(out->step), "%s", nb);
	}
	ckpt_words(s, t.to, b, sizeof(b));
	if (out->moving && isfinite(s->in->frames[t.from].epoch) && isfinite(s->in->frames[t.to].epoch))
		snprintf(out->line, sizeof(out->line), "checkpoint %d \xe2\x86\x92 %d of %zu   \xc2\xb7   epoch %.2f \xe2\x86\x92 %.2f",
			 t.from + 1, t.to + 1, T, s->in->frames[t.from].epoch, s->in->frames[t.to].epoch);
	else if (out->moving)
		snprintf(out->line, sizeof(out->line), "checkpoint %d \xe2\x86\x92 %d of %zu", t.from + 1, t.to + 1, T);
	else
		snprintf(out->line, sizeof(out->line), "%s  \xc2\xb7  checkpoint %d of %zu", b, t.to + 1, T);
	/* the loss: logged values of the checkpoints shown, never in between */
	if ((s->has_loss || s->has_eval) && s->in->frames[t.from].step >= 0 && s->in->frames[t.to].step >= 0) {
		const double *v = s->has_loss ? Ls->loss : Ls->eval_loss;
		double at0, at1, v0 = logged_at(Ls, v, (double)s->in->frames[t.from].step, &at0),
				 v1 = logged_at(Ls, v, (double)s->in->frames[t.to].step, &at1);

		if (s->loss_log && !(v1 > 0))
			v1 = NAN;
		if (s->loss_log && !(v0 > 0))
			v0 = NAN;
		if (isfinite(v1)) {
			out->loss_step = at1;
			out->loss_value = v1;
		}
		if (out->moving && isfinite(v0) && isfinite(v1))
			snprintf(out->loss, sizeof(out->loss), "%.3f \xe2\x86\x92 %.3f", v0, v1);
		else if (!out->moving && isfinite(v1))
			snprintf(out->loss, sizeof(out->loss), "%.3f", v1);
		if (!out->moving && isfinite(v1) && at1 != (double)s->in->frames[t.to].step) {
			size_t len = strlen(out->loss);

			fmt_int(na, sizeof(na), at1);
			snprintf(out->loss + len, sizeof(out->loss) - len, " (logged at %s)", na);
		}
	}
	return 0;
}

static void
draw_header(render_scene *s, cairo_t *cr, const render_time *tm, const render_frame_text *d)
{
	const render_layout *L = &s->L;
	double sc = L->t, w, h, x = L->header.x + L->header.w, frac;
	render_text_style big = style(50 * sc, 1, s->tc.fg, RENDER_ALIGN_RIGHT, 0);
	render_text_style lab = style(28 * sc, 0, s->tc.muted, RENDER_ALIGN_RIGHT, 0);
	render_text_style line = style(26 * sc, 0, s->tc.muted, RENDER_ALIGN_LEFT, L->header.w * 0.6);
	size_t T = s->in->T;

	if (d->step[0]) {
		double lw;

		render_text_draw(cr, d->step, &big, x, L->header.y - 6 * sc, &w, &h);
		render_text_draw(cr, "step", &lab, x - w - 14 * sc, L->header.y + 12 * sc, &lw, NULL);
		/* the line under the title stops short of the step block */
		line.max_w = fmax(L->header.w * 0.3, L->header.w - w - lw - 50 * sc);
	}
	render_text_draw(cr, d->line, &line, L->header.x, L->header.y + 54 * sc, NULL, NULL);

	/* progress along the checkpoints: moves with the points */
	frac = T > 1 ? (tm->from + (tm->to - tm->from) * tm->mix) / (double)(T - 1) : 1;
	set_rgb(cr, s->tc.fg, 1);
	round_rect(cr, L->progress.x, L->progress.y, fmax(L->progress.h, L->progress.w * frac), L->progress.h,
		   L->progress.h / 2);
	cairo_fill(cr);
}

static void
draw_dots(render_scene *s, cairo_surface_t *target, const render_time *tm)
{
	const render_layout *L = &s->L;
	const float *a = s->in->coords + (size_t)tm->from * s->in->n * 2;
	const float *b = s->in->coords + (size_t)tm->to * s->in->n * 2;
	float m = (float)tm->mix;
	float sx = (float)(L->scatter.w / (2 * L->limx)), sy = (float)(L->scatter.h / (2 * L->limy));
	float ox = (float)(L->scatter.x + L->limx * sx), oy = (float)(L->scatter.y + L->limy * sy);
	/* a point beyond the range sits on the edge, inside by its radius */
	float ex = (float)(L->limx - (s->dot_r + 1) / sx), ey = (float)(L->limy - (s->dot_r + 1) / sy);
	render_dot_target t;

	s->nclamped = 0;
	for (size_t i = 0; i < s->in->n; i++) {
		float x = a[2 * i] + (b[2 * i] - a[2 * i]) * m, y = a[2 * i + 1] + (b[2 * i + 1] - a[2 * i + 1]) * m;

		if (fabsf(x) > (float)L->limx || fabsf(y) > (float)L->limy) {
			x = x > ex ? ex : x < -ex ? -ex : x;
			y = y > ey ? ey : y < -ey ? -ey : y;
			if (isfinite(x) && isfinite(y))
				s->clamped[s->nclamped++] = (uint32_t)i;
		}
		s->xy[2 * i] = ox + x * sx;
		s->xy[2 * i + 1] = oy - y * sy;
	}
	cairo_surface_flush(target);
	t.data = cairo_image_surface_get_data(target);
	t.stride = cairo_image_surface_get_stride(target);
	t.x0 = (int)ceil(L->scatter.x);
	t.y0 = (int)ceil(L->scatter.y);
	t.x1 = (int)floor(L->scatter.x + L->scatter.w);
	t.y1 = (int)floor(L->scatter.y + L->scatter.h);
	render_dots_draw(s->dots, &t, s->xy, s->in->samples->label, s->order, s->in->n);
	cairo_surface_mark_dirty(target);
}

/* Points held at the edge: a small outward chevron says "further out". */
static void
draw_clamp_marks(render_scene *s, cairo_t *cr)
{
	const render_layout *L = &s->L;
	double r = s->dot_r + 2.5 * L->t, cx = L->scatter.x + L->scatter.w / 2, cy = L->scatter.y + L->scatter.h / 2;

	if (!s->nclamped)
		return;
	cairo_save(cr);
	cairo_set_line_width(cr, fmax(1, 1.6 * L->t));
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	set_rgb(cr, s->tc.fg, 0.85);
	for (size_t k = 0; k < s->nclamped; k++) {
		double x = s->xy[2 * s->clamped[k]], y = s->xy[2 * s->clamped[k] + 1];
		double dx = x - cx, dy = y - cy, len = hypot(dx, dy);

		if (!(len > 0))
			continue;
		dx /= len;
		dy /= len;
		/* a chevron pointing outward, just outside the dot */
		cairo_move_to(cr, x + dx * r - dy * r * 0.7 - dx * r * 0.5, y + dy * r + dx * r * 0.7 - dy * r * 0.5);
		cairo_line_to(cr, x + dx * r, y + dy * r);
		cairo_line_to(cr, x + dx * r + dy * r * 0.7 - dx * r * 0.5, y + dy * r - dx * r * 0.7 - dy * r * 0.5);
		cairo_stroke(cr);
	}
	cairo_restore(cr);
}

/*
 * Where checkpoint c's badges go, as offsets from their points: placed once
 * per checkpoint at its rest positions (render_layout_place_badges: no
 * overlap, leader lines when pushed away), then carried with the points
 * while they move, so that badges never jump between frames.
 */
static void
place_badges(render_scene *s, int c, double r)
{
	const render_layout *L = &s->L;
	const render_frame_info *f = &s->in->frames[c];
	double px[RENDER_MAX_TOP], py[RENDER_MAX_TOP], bx[RENDER_MAX_TOP], by[RENDER_MAX_TOP];
	double *dx = s->badge_dx + (size_t)c * RENDER_MAX_TOP, *dy = s->badge_dy + (size_t)c * RENDER_MAX_TOP;
	int m = L->ntop < f->ntop ? L->ntop : f->ntop;

	if (!isnan(dx[0]))
		return;
	for (int j = 0; j < m; j++) {
		const float *p = s->in->coords + ((size_t)c * s->in->n + (size_t)f->top[j].index) * 2;
		double x = fmax(-L->limx, fmin(L->limx, p[0])), y = fmax(-L->limy, fmin(L->limy, p[1]));

		render_layout_scatter_px(L, x, y, &px[j], &py[j]);
	}
	render_layout_place_badges(px, py, m, r, s->badge_r, &L->scatter, bx, by);
	for (int j = 0; j < RENDER_MAX_TOP; j++) {
		dx[j] = j < m ? bx[j] - px[j] : 0;
		dy[j] = j < m ? by[j] - py[j] : 0;
	}
}

static void
draw_rings(render_scene *s, cairo_t *cr, int c, double alpha)
{
	const render_layout *L = &s->L;
	const render_frame_info *f = &s->in->frames[c];
	double sc = L->t, r = s->dot_r + 7 * sc;
	const double *dx = s->badge_dx + (size_t)c * RENDER_MAX_TOP, *dy = s->badge_dy + (size_t)c * RENDER_MAX_TOP;

	place_badges(s, c, r);
	cairo_save(cr);
	cairo_rectangle(cr, L->scatter.x, L->scatter.y, L->scatter.w, L->scatter.h);
	cairo_clip(cr);
	/* rings and leader lines first, badges on top of all of them */
	for (int j = L->ntop < f->ntop ? L->ntop - 1 : f->ntop - 1; j >= 0; j--) {
		size_t i = (size_t)f->top[j].index;
		float x = s->xy[2 * i], y = s->xy[2 * i + 1];
		double d = hypot(dx[j], dy[j]);

		if (!isfinite(x) || !isfinite(y))
			continue;
		cairo_set_line_width(cr, fmax(1.5, 4.5 * sc));
		set_rgb(cr, s->tc.bg, 0.9 * alpha);
		cairo_new_path(cr);
		cairo_arc(cr, x, y, r, 0, 2 * M_PI);
		cairo_stroke(cr);
		cairo_set_line_width(cr, fmax(1, 2.5 * sc));
		set_rgb(cr, s->tc.fg, alpha);
		cairo_arc(cr, x, y, r, 0, 2 * M_PI);
		cairo_stroke(cr);
		if (d > r + s->badge_r + 2) {
			/* leader line from the ring to the badge */
			cairo_set_line_width(cr, fmax(1, 1.5 * sc));
			cairo_move_to(cr, x + dx[j] / d * r, y + dy[j] / d * r);
			cairo_line_to(cr, x + dx[j] / d * (d - s->badge_r), y + dy[j] / d * (d - s->badge_r));
			cairo_stroke(cr);
		}
	}
	for (int j = L->ntop < f->ntop ? L->ntop - 1 : f->ntop - 1; j >= 0; j--) {
		size_t i = (size_t)f->top[j].index;
		float x = s->xy[2 * i], y = s->xy[2 * i + 1];

		if (!isfinite(x) || !isfinite(y))
			continue;
		cairo_set_source_surface(cr, s->badge[j], floor(x + dx[j] - s->badge_r - 1),
					 floor(y + dy[j] - s->badge_r - 1));
		cairo_paint_with_alpha(cr, alpha);
	}
	cairo_restore(cr);
}

static void
draw_loss_now(render_scene *s, cairo_t *cr, const render_time *tm, const render_frame_text *d)
{
	const render_layout *L = &s->L;
	int64_t s0 = s->in->frames[tm->from].step, s1 = s->in->frames[tm->to].step;
	double sc = L->t, step, px;

	if (!s->has_loss && !s->has_eval)
		return;
	if (s0 < 0 || s1 < 0) {
		/* steps unknown: the whole curve, no marker */
		cairo_set_source_surface(cr, s->curve, s->curve_rect.x, s->curve_rect.y);
		cairo_paint(cr);
		return;
	}
	/* the curve is revealed, and the rule moves, with the points */
	step = s0 + (s1 - s0) * tm->mix;
	px = loss_px_x(s, step);
	cairo_save(cr);
	cairo_rectangle(cr, s->curve_rect.x, s->curve_rect.y, px - s->curve_rect.x + 0.5, s->curve_rect.h);
	cairo_clip(cr);
	cairo_set_source_surface(cr, s->curve, s->curve_rect.x, s->curve_rect.y);
	cairo_paint(cr);
	cairo_restore(cr);

	/* where we are: a vertical rule, a marker and the value */
	{
		double dash[2] = { 4 * sc, 5 * sc };

		set_rgb(cr, s->tc.muted, 0.8);
		cairo_set_line_width(cr, fmax(1, 1.5 * sc));
		cairo_set_dash(cr, dash, 2, 0);
		cairo_move_to(cr, px, L->loss.y);
		cairo_line_to(cr, px, L->loss.y + L->loss.h);
		cairo_stroke(cr);
		cairo_set_dash(cr, NULL, 0, 0);
	}
	if (d->loss[0]) {
		render_text_style st = style(24 * sc, 1, s->has_loss ? s->tc.train : s->tc.eval, RENDER_ALIGN_LEFT, 0);
		double py = L->loss.y + 2 * sc, w, h, tx, ty;

		/* the marker sits on the logged point, at rest only */
		if (!d->moving && isfinite(d->loss_value)) {
			double mx = loss_px_x(s, d->loss_step);

			py = loss_px_y(s, d->loss_value);
			set_rgb(cr, s->tc.bg, 1);
			cairo_arc(cr, mx, py, 9 * sc, 0, 2 * M_PI);
			cairo_fill(cr);
			set_rgb(cr, s->has_loss ? s->tc.train : s->tc.eval, 1);
			cairo_arc(cr, mx, py, 6.5 * sc, 0, 2 * M_PI);
			cairo_fill(cr);
		}
		render_text_measure(cr, d->loss, &st, &w, &h);
		tx = px + 14 * sc;
		ty = py - h - 6 * sc;
		if (tx + w > L->loss.x + L->loss.w - 4 * sc)
			tx = px - 14 * sc - w;
		if (ty < L->loss.y + 2 * sc)
			ty = d->moving ? L->loss.y + 4 * sc : py + 8 * sc;
		set_rgb(cr, s->tc.panel, 0.85);
		round_rect(cr, tx - 5 * sc, ty, w + 10 * sc, h, 5 * sc);
		cairo_fill(cr);
		render_text_draw(cr, d->loss, &st, tx, ty, NULL, NULL);
	}
}

/* The part of the column image that belongs to slot j (the slots tile it). */
static render_rect
slot_area(const render_scene *s, int j)
{
	const render_layout *L = &s->L;
	const render_rect *c = &s->col_rect;
	double x0 = j % 2 ? (L->slot[j - 1].x + L->slot[j - 1].w + L->slot[j].x) / 2 : c->x;
	double x1 = j % 2 || j + 1 >= L->ntop ? c->x + c->w : (L->slot[j].x + L->slot[j].w + L->slot[j + 1].x) / 2;
	double y0 = j < 2 ? c->y : floor(L->slot[j].y - s->badge_r - 2);
	int next = j - j % 2 + 2; /* first slot of the next row */
	double y1 = next < L->ntop ? floor(L->slot[next].y - s->badge_r - 2) : c->y + c->h;

	return (render_rect){ floor(x0), y0, floor(x1) - floor(x0), y1 - y0 };
}

/*
 * The outlier column.  Between checkpoints each slot cross-fades: a slot
 * keeping its sample blends straight from the old caption to the new; a
 * slot changing sample fades out to the background, then the new one in,
 * so that two captions are never seen on top of each other.
 */
static void
draw_column(render_scene *s, cairo_t *cr, const render_time *tm)
{
	cairo_surface_t *a = column(s, tm->from), *b = NULL;
	const render_frame_info *fa = &s->in->frames[tm->from], *fb = &s->in->frames[tm->to];

	if (tm->from != tm->to && tm->mix > 0)
		b = column(s, tm->to);
	if (!b) {
		if (a) {
			cairo_set_source_surface(cr, a, s->col_rect.x, s->col_rect.y);
			cairo_paint(cr);
		}
		return;
	}
	a = column(s, tm->from); /* both are cached now */
	for (int j = 0; j < s->L.ntop; j++) {
		render_rect r = slot_area(s, j);
		int same = j < fa->ntop && j < fb->ntop && fa->top[j].index == fb->top[j].index;
		double wa = same ? 1 : fmax(0, 1 - 2 * tm->mix), wb = same ? tm->mix : fmax(0, 2 * tm->mix - 1);

		cairo_save(cr);
		cairo_rectangle(cr, r.x, r.y, r.w, r.h);
		cairo_clip(cr);
		set_rgb(cr, s->tc.bg, 1);
		cairo_paint(cr);
		if (a && wa > 0) {
			cairo_set_source_surface(cr, a, s->col_rect.x, s->col_rect.y);
			cairo_paint_with_alpha(cr, wa);
		}
		if (b && wb > 0) {
			cairo_set_source_surface(cr, b, s->col_rect.x, s->col_rect.y);
			cairo_paint_with_alpha(cr, wb);
		}
		cairo_restore(cr);
	}
}

int
render_scene_draw(render_scene *s, cairo_surface_t *target, const render_time *tm)
{
	render_frame_text d;
	render_time t;
	cairo_t *cr;
	cairo_status_t st;
	int err;

	if ((err = render_scene_describe(s, tm, &d)))
		return err;
	t = settle(tm);
	tm = &t;
	if (cairo_image_surface_get_format(target) != CAIRO_FORMAT_ARGB32 ||
	    cairo_image_surface_get_width(target) != s->L.width || cairo_image_surface_get_height(target) != s->L.height)
		return vv_error(VV_EINVAL, "frame surface is not %dx%d ARGB32", s->L.width, s->L.height);
	if (tm->from < 0 || tm->to < 0 || (size_t)tm->from >= s->in->T || (size_t)tm->to >= s->in->T)
		return vv_error(VV_EINVAL, "checkpoint %d outside 0..%zu", tm->to, s->in->T - 1);
	cr = cairo_create(target);
	cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
	cairo_set_source_surface(cr, s->stat, 0, 0);
	cairo_paint(cr);
	cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
	cairo_destroy(cr);

	draw_dots(s, target, tm);

	cr = cairo_create(target);
	draw_clamp_marks(s, cr);
	if (tm->from != tm->to && tm->mix < 1)
		draw_rings(s, cr, tm->from, 1 - tm->mix);
	draw_rings(s, cr, tm->to, tm->from != tm->to ? tm->mix : 1);
	draw_loss_now(s, cr, tm, &d);
	draw_header(s, cr, tm, &d);
	if (s->L.ntop > 0)
		draw_column(s, cr, tm);
	st = cairo_status(cr);
	cairo_destroy(cr);
	if (st != CAIRO_STATUS_SUCCESS)
		return vv_error(VV_ENOMEM, "drawing failed: %s", cairo_status_to_string(st));
	cairo_surface_flush(target);
	return 0;
}
