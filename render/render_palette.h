/*
 * render_palette.h - colours: the class palette (matplotlib's tab10, then a
 * longer qualitative list, then generated hues) and the two themes.
 */
#ifndef RENDER_PALETTE_H
#define RENDER_PALETTE_H

#include <stdint.h>

enum {
	RENDER_THEME_LIGHT = 0,
	RENDER_THEME_DARK = 1,
};

typedef struct render_rgb {
	double r, g, b; /* components in [0, 1] */
} render_rgb;

typedef struct render_theme_colors {
	render_rgb bg;     /* page background */
	render_rgb panel;  /* plot area background */
	render_rgb fg;     /* main text and strong lines */
	render_rgb muted;  /* secondary text, tick labels */
	render_rgb grid;   /* grid lines */
	render_rgb axis;   /* panel frames */
	render_rgb train;  /* training-loss curve */
	render_rgb eval;   /* evaluation-loss curve */
	render_rgb alert;  /* misclassified highlight */
	render_rgb ok;     /* correctly classified mark */
} render_theme_colors;

/*
 * Colour of class `i` (>= 0): tab10 for 0..9, then 22 distinct colours of a
 * glasbey-like list, then hues stepped by the golden angle at alternating
 * lightness.  The dark theme gets slightly lighter variants.
 */
render_rgb render_class_color(int i, int theme);

/* The colours of a theme (RENDER_THEME_LIGHT or RENDER_THEME_DARK). */
void render_theme_colors_get(int theme, render_theme_colors *c);

/* 0xAARRGGBB (opaque) of a colour. */
uint32_t render_rgb_pack(render_rgb c);

/* Linear blend a*(1-t) + b*t. */
render_rgb render_rgb_mix(render_rgb a, render_rgb b, double t);

#endif
