/*
 * render_layout.h - where everything goes on a frame.  Sizes scale with
 * s = min(width / 1920, height / 1080); the scatter and the loss curve take
 * the width left after the legend and the outlier column.
 */
#ifndef RENDER_LAYOUT_H
#define RENDER_LAYOUT_H

#include "render/render_inputs.h"

/* Data range shown on both scatter axes: the contract's [-5, 5] plus a margin. */
#define RENDER_AXIS_LIMIT 5.4

typedef struct render_rect {
	double x, y, w, h; /* top-left corner and size in pixels */
} render_rect;

typedef struct render_layout {
	int width, height;     /* frame size */
	double s;              /* scale factor, 1 at 1920x1080 */
	double margin;         /* outer margin */
	render_rect header;    /* title block */
	render_rect progress;  /* progress bar under the title */
	render_rect scatter;   /* scatter plot area (data [-lim, lim] both ways) */
	render_rect loss;      /* loss plot area */
	render_rect legend;    /* class legend column */
	render_rect outliers;  /* outlier column, heading included */
	int ntop;              /* outlier slots used, 0..RENDER_MAX_TOP */
	render_rect slot[RENDER_MAX_TOP];  /* cell of each slot: image and caption */
	render_rect thumb[RENDER_MAX_TOP]; /* square box of each slot's image */
	double lim;            /* RENDER_AXIS_LIMIT */
} render_layout;

/* Compute the layout of a width x height frame with `ntop` outlier slots. */
void render_layout_compute(render_layout *L, int width, int height, int ntop);

/* Scatter data coordinates to pixel coordinates. */
void render_layout_scatter_px(const render_layout *L, double x, double y, double *px, double *py);

/*
 * Where an image of iw x ih pixels is drawn inside box `b`: scaled by a
 * whole factor (nearest neighbour) when it fits at least once, else reduced
 * to fit; centred on whole pixels.  *k is the scale.
 */
void render_layout_fit(const render_rect *b, int iw, int ih, render_rect *out, double *k);

#endif
