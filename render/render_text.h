/*
 * render_text.h - text through pangocairo: shaping, font fallback (the
 * "Sans" family; fontconfig picks a CJK font such as WenQuanYi Micro Hei for
 * characters the main font lacks), ellipsizing to a width.
 */
#ifndef RENDER_TEXT_H
#define RENDER_TEXT_H

#include <cairo.h>

#include "render/render_palette.h"

/* Font family every label uses (a Pango family list). */
#define RENDER_FONT_FAMILY "Sans"

enum {
	RENDER_ALIGN_LEFT = 0,
	RENDER_ALIGN_CENTER = 1,
	RENDER_ALIGN_RIGHT = 2,
};

typedef struct render_text_style {
	double size;     /* font size in pixels (absolute) */
	int bold;        /* 1: bold weight */
	render_rgb color;/* text colour */
	double alpha;    /* opacity 0..1 */
	int align;       /* RENDER_ALIGN_*: which edge `x` names */
	double max_w;    /* ellipsize (end) beyond this width; <= 0: no limit */
} render_text_style;

/*
 * Draw UTF-8 `text` with its top edge at `y` (x names the left, centre or
 * right edge per style->align).  The logical width and height in pixels go
 * to *w and *h when not NULL.  Invalid UTF-8 is drawn as replacement marks.
 */
void render_text_draw(cairo_t *cr, const char *text, const render_text_style *st,
		      double x, double y, double *w, double *h);

/* Measure without drawing (logical width and height in pixels). */
void render_text_measure(cairo_t *cr, const char *text, const render_text_style *st,
			 double *w, double *h);

/*
 * Number of characters of `text` that no installed font can show (drawn as
 * boxes), as pango_layout_get_unknown_glyphs_count() reports it for the
 * renderer's font at `size` pixels.
 */
int render_text_unknown_glyphs(const char *text, double size);

#endif
