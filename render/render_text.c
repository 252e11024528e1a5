/* render_text.c - pangocairo layouts for labels. */
#include "render/render_text.h"

#include <pango/pangocairo.h>
#include <string.h>

static PangoLayout *
make_layout(cairo_t *cr, const char *text, const render_text_style *st)
{
	PangoLayout *lay = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string(RENDER_FONT_FAMILY);
	double size = st->size > 1 ? st->size : 1;

	pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
	pango_font_description_set_weight(fd, st->bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_layout_set_font_description(lay, fd);
	pango_font_description_free(fd);
	if (st->max_w > 0) {
		pango_layout_set_width(lay, (int)(st->max_w * PANGO_SCALE));
		pango_layout_set_ellipsize(lay, PANGO_ELLIPSIZE_END);
	}
	pango_layout_set_single_paragraph_mode(lay, TRUE);
	pango_layout_set_text(lay, text, -1);
	return lay;
}

void
render_text_measure(cairo_t *cr, const char *text, const render_text_style *st,
		    double *w, double *h)
{
	PangoLayout *lay = make_layout(cr, text, st);
	PangoRectangle log;

	pango_layout_get_extents(lay, NULL, &log);
	if (w)
		*w = (double)log.width / PANGO_SCALE;
	if (h)
		*h = (double)log.height / PANGO_SCALE;
	g_object_unref(lay);
}

void
render_text_draw(cairo_t *cr, const char *text, const render_text_style *st,
		 double x, double y, double *w, double *h)
{
	PangoLayout *lay = make_layout(cr, text, st);
	PangoRectangle log;
	double lw, lh, x0 = x;

	pango_layout_get_extents(lay, NULL, &log);
	lw = (double)log.width / PANGO_SCALE;
	lh = (double)log.height / PANGO_SCALE;
	if (st->align == RENDER_ALIGN_CENTER)
		x0 = x - lw / 2;
	else if (st->align == RENDER_ALIGN_RIGHT)
		x0 = x - lw;
	cairo_save(cr);
	cairo_set_source_rgba(cr, st->color.r, st->color.g, st->color.b, st->alpha);
	cairo_move_to(cr, x0 - (double)log.x / PANGO_SCALE, y);
	pango_cairo_show_layout(cr, lay);
	cairo_restore(cr);
	if (w)
		*w = lw;
	if (h)
		*h = lh;
	g_object_unref(lay);
}

int
render_text_unknown_glyphs(const char *text, double size)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
	cairo_t *cr = cairo_create(s);
	render_text_style st;
	PangoLayout *lay;
	int n;

	memset(&st, 0, sizeof(st));
	st.size = size;
	st.alpha = 1;
	lay = make_layout(cr, text, &st);
	n = pango_layout_get_unknown_glyphs_count(lay);
	g_object_unref(lay);
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	return n;
}
