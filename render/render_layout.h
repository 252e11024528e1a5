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

/*
 * The smallest text on a frame (tick labels, captions) is at least this
 * many pixels high (font size) ...
 */
#define RENDER_MIN_TEXT_PX 11.0
/* ... and at least this fraction of the frame height. */
#define RENDER_MIN_TEXT_FRAC (1.0 / 60)
/* Design size of that smallest text at 1920x1080 (scale 1). */
#define RENDER_SMALL_TEXT 17.0

typedef struct render_rect {
	double x, y, w, h; /* top-left corner and size in pixels */
} render_rect;

typedef struct render_layout {
	int width, height;     /* frame size */
	double s;              /* scale factor, 1 at 1920x1080 */
	double t;              /* text scale: s, raised so that the smallest
				* text (RENDER_SMALL_TEXT * t) is at least
				* RENDER_MIN_TEXT_PX and RENDER_MIN_TEXT_FRAC of
				* the height, times the preset's boost */
	int compact;           /* small frame: fewer outliers, shorter captions */
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
	double limx, limy;     /* half-widths of the scatter's data range in x and
				* y (each axis fitted to the data, as matplotlib
				* does); RENDER_AXIS_LIMIT until
				* render_layout_set_range() */
} render_layout;

/*
 * Compute the layout of a width x height frame with up to `ntop` outlier
 * slots and text `boost` times its minimum size (1: normal; the classroom
 * preset's is larger).  Frames too small for 8 thumbnails with readable
 * captions get 4 (L->ntop says how many).
 */
void render_layout_compute(render_layout *L, int width, int height, int ntop, double boost);

/* The smallest font size a frame of `height` pixels may use at scale `s`. */
double render_layout_min_text(double s, int height);

/*
 * Robust half-widths of the data for T frames of n points (T x n x 2):
 * per frame and axis the 99th percentile of |coordinate|, the largest over
 * the frames, plus 8%; never more than the largest |coordinate| plus 4%.  A
 * single outlier cannot squeeze the cloud; points beyond are drawn at the
 * edge with a marker.  1 and 1 when there is no finite coordinate.
 */
void render_layout_robust_range(const float *coords, size_t T, size_t n, double *rx, double *ry);

/* Show [-rx, rx] x [-ry, ry] (RENDER_AXIS_LIMIT for a value that is not positive). */
void render_layout_set_range(render_layout *L, double rx, double ry);

/*
 * Place m badges of radius br next to m points (px, py) ringed at radius
 * rr, inside `bounds`: in rank order each badge takes the first of 16
 * directions x 8 distances where it overlaps no badge placed before and no
 * other ring; failing that, the candidate that overlaps least.
 * (bx, by) receive the badge centres; a badge farther than rr + br + 2 from
 * its point gets a leader line.
 */
void render_layout_place_badges(const double *px, const double *py, int m, double rr, double br,
				const render_rect *bounds, double *bx, double *by);

/* Scatter data coordinates to pixel coordinates. */
void render_layout_scatter_px(const render_layout *L, double x, double y, double *px, double *py);

/*
 * Where an image of iw x ih pixels is drawn inside box `b`: scaled by a
 * whole factor (nearest neighbour) when it fits at least once, else reduced
 * to fit; centred on whole pixels.  *k is the scale.
 */
void render_layout_fit(const render_rect *b, int iw, int ih, render_rect *out, double *k);

#endif
