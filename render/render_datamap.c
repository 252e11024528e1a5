/* render_datamap.c - the data map: confidence against variability of every sample. */
#include "render/render_datamap.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "render/render_encode.h"
#include "render/render_palette.h"
#include "render/render_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Scale factor of a frame size, 1 at 1920x1080. */
static double
scale_of(int width, int height)
{
	return fmin(width / 1920.0, height / 1080.0);
}

void
render_datamap_geometry(int width, int height, render_datamap_geom *g)
{
	double s = scale_of(width, height);

	g->x0 = floor(110 * s);
	g->y0 = floor(150 * s);
	g->x1 = floor(width * 0.66);
	g->y1 = floor(height - 100 * s);
	g->dot_r = fmax(1.5, 4.5 * s);
	g->ring_r = fmax(5, 15 * s);
	g->ring_w = fmax(1.5, 3 * s);
}

void
render_datamap_pos(const render_datamap_geom *g, double variability, double confidence, double *px, double *py)
{
	double v = fmin(fmax(variability, 0), RENDER_DATAMAP_VAR_MAX), c = fmin(fmax(confidence, 0), 1);

	*px = g->x0 + (g->x1 - g->x0) * v / RENDER_DATAMAP_VAR_MAX;
	*py = g->y1 - (g->y1 - g->y0) * c;
}

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

/* Name of class k, or "#k" in buf. */
static const char *
class_name(const render_datamap_data *d, int k, char *buf, size_t len)
{
	if (k >= 0 && k < d->nclasses && d->class_names[k] && d->class_names[k][0])
		return d->class_names[k];
	snprintf(buf, len, "#%d", k);
	return buf;
}

/* Axes, grid, tick labels, axis titles and the three region names. */
static void
draw_axes(cairo_t *cr, const render_datamap_geom *g, const render_theme_colors *tc, double s)
{
	render_text_style tick = style(18 * s, 0, tc->muted, RENDER_ALIGN_RIGHT, 0);
	render_text_style region = style(26 * s, 1, tc->muted, RENDER_ALIGN_LEFT, 0);
	double px, py, h;
	char buf[16];
	int i;

	set_rgb(cr, tc->panel, 1);
	cairo_rectangle(cr, g->x0, g->y0, g->x1 - g->x0, g->y1 - g->y0);
	cairo_fill(cr);
	cairo_set_line_width(cr, fmax(1, s));
	for (i = 0; i <= 5; i++) {
		render_datamap_pos(g, i * 0.1, 0, &px, &py);
		set_rgb(cr, tc->grid, 1);
		cairo_move_to(cr, floor(px) + 0.5, g->y0);
		cairo_line_to(cr, floor(px) + 0.5, g->y1);
		cairo_stroke(cr);
		snprintf(buf, sizeof(buf), "%.1f", i * 0.1);
		tick.align = RENDER_ALIGN_CENTER;
		render_text_draw(cr, buf, &tick, px, g->y1 + 8 * s, NULL, NULL);
	}
	for (i = 0; i <= 5; i++) {
		render_datamap_pos(g, 0, i * 0.2, &px, &py);
		set_rgb(cr, tc->grid, 1);
		cairo_move_to(cr, g->x0, floor(py) + 0.5);
		cairo_line_to(cr, g->x1, floor(py) + 0.5);
		cairo_stroke(cr);
		snprintf(buf, sizeof(buf), "%.1f", i * 0.2);
		tick.align = RENDER_ALIGN_RIGHT;
		render_text_measure(cr, buf, &tick, NULL, &h);
		render_text_draw(cr, buf, &tick, g->x0 - 10 * s, py - h / 2, NULL, NULL);
	}
	set_rgb(cr, tc->axis, 1);
	cairo_rectangle(cr, g->x0, g->y0, g->x1 - g->x0, g->y1 - g->y0);
	cairo_stroke(cr);
	tick = style(21 * s, 0, tc->fg, RENDER_ALIGN_CENTER, 0);
	render_text_draw(cr, "variability (std. dev. of p(given label) over the checkpoints)", &tick,
			 (g->x0 + g->x1) / 2, g->y1 + 40 * s, NULL, NULL);
	cairo_save(cr);
	cairo_translate(cr, g->x0 - 78 * s, (g->y0 + g->y1) / 2);
	cairo_rotate(cr, -M_PI / 2);
	render_text_draw(cr, "confidence (mean p(given label))", &tick, 0, 0, NULL, NULL);
	cairo_restore(cr);
	/* Cartography's regions: easy top-left, hard bottom-left, ambiguous to the right */
	region.alpha = 0.55;
	render_datamap_pos(g, 0.012, 0.985, &px, &py);
	render_text_draw(cr, "easy-to-learn", &region, px, py, NULL, NULL);
	render_datamap_pos(g, 0.012, 0.015, &px, &py);
	render_text_measure(cr, "hard-to-learn", &region, NULL, &h);
	render_text_draw(cr, "hard-to-learn", &region, px, py - h, NULL, NULL);
	region.align = RENDER_ALIGN_RIGHT;
	render_datamap_pos(g, 0.49, 0.5, &px, &py);
	render_text_draw(cr, "ambiguous", &region, px, py - 13 * s, NULL, NULL);
}

/* The correctness colour: alert (never right) to ok (always right). */
static render_rgb
correct_color(const render_theme_colors *tc, double correctness)
{
	return render_rgb_mix(tc->alert, tc->ok, fmin(fmax(correctness, 0), 1));
}

/* Legend of the colours and the list of ringed samples, right of the plot. */
static void
draw_side(cairo_t *cr, int width, const render_datamap_geom *g, const render_datamap_data *d,
	  const render_theme_colors *tc, double s, const int32_t *ringed, int nring)
{
	double x = g->x1 + 50 * s, w = width - x - 40 * s, y = g->y0, h;
	render_text_style head = style(24 * s, 1, tc->fg, RENDER_ALIGN_LEFT, w);
	render_text_style body = style(18 * s, 0, tc->fg, RENDER_ALIGN_LEFT, w);
	char buf[512], b1[16], b2[16];
	int i;

	if (w < 40 * s)
		return;
	render_text_draw(cr, "correctness", &head, x, y, NULL, &h);
	y += h + 6 * s;
	for (i = 0; i <= 4; i++) {
		double r = 7 * s;

		set_rgb(cr, correct_color(tc, i / 4.0), 1);
		cairo_new_path(cr);
		cairo_arc(cr, x + r + i * (w / 5), y + r, r, 0, 2 * M_PI);
		cairo_fill(cr);
		snprintf(buf, sizeof(buf), "%d%%", i * 25);
		body.color = tc->muted;
		render_text_draw(cr, buf, &body, x + 2 * r + 5 * s + i * (w / 5), y - 2 * s, NULL, NULL);
	}
	y += 40 * s;
	if (nring <= 0)
		return;
	body.color = tc->fg;
	render_text_draw(cr, "Likely label issues", &head, x, y, NULL, &h);
	y += h + 4 * s;
	body.color = tc->muted;
	render_text_draw(cr, "given label \xe2\x86\x92 usual prediction", &body, x, y, NULL, &h);
	y += h + 10 * s;
	for (i = 0; i < nring; i++) {
		int32_t k = ringed[i];
		int up = (int)analysis_dyn_at(d->dyn, k, ANALYSIS_DYN_USUAL_PREDICTION);
		const char *given = class_name(d, d->samples->label[k], b1, sizeof(b1));

		body.color = tc->fg;
		body.bold = 1;
		snprintf(buf, sizeof(buf), "%d", i + 1);
		render_text_draw(cr, buf, &body, x, y, NULL, &h);
		body.bold = 0;
		body.max_w = w - 34 * s;
		render_text_draw(cr, d->samples->path[k], &body, x + 34 * s, y, NULL, &h);
		y += h;
		if (up >= 0)
			snprintf(buf, sizeof(buf), "%s \xe2\x86\x92 %s   (label issue %.2f)", given,
				 class_name(d, up, b2, sizeof(b2)),
				 (double)analysis_dyn_at(d->dyn, k, ANALYSIS_DYN_LABEL_ISSUE));
		else
			snprintf(buf, sizeof(buf), "%s   (label issue %.2f)", given,
				 (double)analysis_dyn_at(d->dyn, k, ANALYSIS_DYN_LABEL_ISSUE));
		body.color = tc->alert;
		render_text_draw(cr, buf, &body, x + 34 * s, y, NULL, &h);
		body.max_w = w;
		y += h + 10 * s;
	}
}

void
render_datamap_draw(cairo_t *cr, int width, int height, const render_datamap_data *d, int theme, int nring)
{
	const analysis_dyn_table *t = d->dyn;
	render_theme_colors tc;
	render_datamap_geom g;
	double s = scale_of(width, height), px, py, h;
	int32_t ringed[8];
	char buf[160];
	int64_t i;
	int j;

	render_theme_colors_get(theme, &tc);
	render_datamap_geometry(width, height, &g);
	set_rgb(cr, tc.bg, 1);
	cairo_paint(cr);
	{
		render_text_style head = style(34 * s, 1, tc.fg, RENDER_ALIGN_LEFT, width - 80 * s);
		render_text_style sub = style(20 * s, 0, tc.muted, RENDER_ALIGN_LEFT, width - 80 * s);

		render_text_draw(cr, d->title ? d->title : "Data map", &head, 40 * s, 28 * s, NULL, &h);
		snprintf(buf, sizeof(buf), "%lld images over %zu checkpoints \xc2\xb7 colour: fraction of checkpoints "
					   "predicting the given label",
			 (long long)t->n, d->ncheckpoints);
		render_text_draw(cr, buf, &sub, 40 * s, 28 * s + h + 4 * s, NULL, NULL);
	}
	draw_axes(cr, &g, &tc, s);
	/* dots in index order (deterministic), clipped to the plot */
	cairo_save(cr);
	cairo_rectangle(cr, g.x0, g.y0, g.x1 - g.x0, g.y1 - g.y0);
	cairo_clip(cr);
	for (i = 0; i < t->n; i++) {
		float v = analysis_dyn_at(t, i, ANALYSIS_DYN_VARIABILITY), c = analysis_dyn_at(t, i, ANALYSIS_DYN_CONFIDENCE);

		if (isnan(c))
			continue;
		render_datamap_pos(&g, isnan(v) ? 0 : v, c, &px, &py);
		set_rgb(cr, correct_color(&tc, analysis_dyn_at(t, i, ANALYSIS_DYN_CORRECTNESS)), 0.75);
		cairo_new_path(cr);
		cairo_arc(cr, px, py, g.dot_r, 0, 2 * M_PI);
		cairo_fill(cr);
	}
	cairo_restore(cr);
	/* the top label issues: ring and number (label_issue_rank 1..nring) */
	if (nring > 8)
		nring = 8;
	if (nring > t->n)
		nring = (int)t->n;
	for (j = 0; j < nring; j++)
		ringed[j] = -1;
	for (i = 0; i < t->n; i++) {
		float r = analysis_dyn_at(t, i, ANALYSIS_DYN_LABEL_ISSUE_RANK);

		if (r >= 1 && r <= nring)
			ringed[(int)r - 1] = (int32_t)i;
	}
	for (j = 0; j < nring && ringed[j] >= 0; j++)
		;
	nring = j;
	for (j = nring - 1; j >= 0; j--) {
		render_text_style num = style(20 * s, 1, tc.fg, RENDER_ALIGN_LEFT, 0);
		float v = analysis_dyn_at(t, ringed[j], ANALYSIS_DYN_VARIABILITY);

		render_datamap_pos(&g, isnan(v) ? 0 : v, analysis_dyn_at(t, ringed[j], ANALYSIS_DYN_CONFIDENCE), &px, &py);
		set_rgb(cr, tc.fg, 1);
		cairo_set_line_width(cr, g.ring_w);
		cairo_new_path(cr); /* text drawing leaves a current point */
		cairo_arc(cr, px, py, g.ring_r, 0, 2 * M_PI);
		cairo_stroke(cr);
		snprintf(buf, sizeof(buf), "%d", j + 1);
		render_text_measure(cr, buf, &num, NULL, &h);
		render_text_draw(cr, buf, &num, px + g.ring_r * 0.75 + 2 * s, py - g.ring_r * 0.75 - h, NULL, NULL);
	}
	draw_side(cr, width, &g, d, &tc, s, ringed, nring);
}

int
render_datamap_card(const char *workdir, const render_opts *o, cairo_surface_t *target)
{
	analysis_dyn_table *t = NULL;
	vv_manifest *m = NULL;
	vv_samples *s = NULL;
	render_datamap_data d;
	char title[512], *run = NULL;
	cairo_t *cr;
	int err;

	if ((err = vv_manifest_load(workdir, &m)) || (err = vv_samples_load(workdir, &s)) ||
	    (err = analysis_dyn_table_load(workdir, (int64_t)s->n, &t)))
		goto out_free;
	if (!t->label_metrics) {
		err = vv_error(VV_EUNSUPPORTED, "%s: the data map needs the label metrics of dynamics.npy, which need "
						"a classifier head at every checkpoint (see dynamics.json \"notes\")", workdir);
		goto out_free;
	}
	run = vv_path_basename(m->run ? m->run : workdir);
	snprintf(title, sizeof(title), "Data map \xc2\xb7 %s", o->title ? o->title : run ? run : "");
	d = (render_datamap_data){ .dyn = t, .samples = s, .class_names = (const char *const *)m->class_names,
				   .nclasses = m->nclasses, .ncheckpoints = m->nckpt, .title = title };
	cr = cairo_create(target);
	render_datamap_draw(cr, cairo_image_surface_get_width(target), cairo_image_surface_get_height(target), &d,
			    o->theme, o->top);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		err = vv_error(VV_ENOMEM, "data map: cairo: %s", cairo_status_to_string(cairo_status(cr)));
	cairo_destroy(cr);
	cairo_surface_flush(target);
out_free:
	free(run);
	analysis_dyn_table_free(&t);
	vv_samples_free(&s);
	vv_manifest_free(&m);
	return err;
}

int
render_datamap_png(const char *workdir, const char *png_path, const render_opts *o)
{
	cairo_surface_t *f = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, o->width, o->height);
	int err;

	if (cairo_surface_status(f)) {
		cairo_surface_destroy(f);
		return vv_error(VV_ENOMEM, "out of memory (%dx%d picture)", o->width, o->height);
	}
	if (!(err = render_datamap_card(workdir, o, f)))
		err = render_png_write(f, png_path);
	cairo_surface_destroy(f);
	return err;
}
