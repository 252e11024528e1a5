/*
 * render_datamap.h - the data map of a run (Dataset Cartography): every
 * sample at (variability, confidence) of the probability of its given
 * label over the checkpoints, coloured by correctness (alert colour never
 * right -> ok colour always right), the easy-to-learn / ambiguous /
 * hard-to-learn regions labelled, and the top label issues ringed and
 * numbered with a list beside the plot (number, file, given label ->
 * usual prediction).  Read from WORK/dynamics.npy (`analyze`).
 *
 * Drawn as a still (`vitviz frame WORK --data-map`) or as the end card of
 * the video (`vitviz render --data-map`), at any frame size: sizes scale
 * with s = min(width / 1920, height / 1080).
 */
#ifndef RENDER_DATAMAP_H
#define RENDER_DATAMAP_H

#include <cairo.h>

#include "analysis/analysis_dynamics_stage.h"
#include "common/vv_work.h"
#include "render/render_run.h"

/* Axis ranges: variability 0..0.5 (the largest possible), confidence 0..1. */
#define RENDER_DATAMAP_VAR_MAX 0.5

/* Where the plot is on a width x height picture. */
typedef struct render_datamap_geom {
	double x0, y0;  /* top-left corner of the plot area (variability 0, confidence 1) in pixels */
	double x1, y1;  /* bottom-right corner (variability 0.5, confidence 0) */
	double dot_r;   /* radius of a sample's dot */
	double ring_r;  /* radius of a label issue's ring (centre of its stroke) */
	double ring_w;  /* width of the ring's stroke */
} render_datamap_geom;

/* The geometry of a width x height data map. */
void render_datamap_geometry(int width, int height, render_datamap_geom *g);

/* Pixel position of (variability, confidence); values outside the axes are clamped to them. */
void render_datamap_pos(const render_datamap_geom *g, double variability, double confidence, double *px,
			double *py);

/* What a data map shows. */
typedef struct render_datamap_data {
	const analysis_dyn_table *dyn; /* dynamics.npy (label metrics required) */
	const vv_samples *samples;     /* paths and given labels */
	const char *const *class_names;/* nclasses names (usual prediction and labels) */
	int nclasses;                  /* entries in class_names */
	size_t ncheckpoints;           /* checkpoints the dynamics cover (subtitle) */
	const char *title;             /* heading */
} render_datamap_data;

/*
 * Draw the map of `d` over the whole of `cr`'s width x height (background
 * included) in `theme`, ringing the `nring` (0..8) highest label issues.
 */
void render_datamap_draw(cairo_t *cr, int width, int height, const render_datamap_data *d, int theme, int nring);

/*
 * Draw the data map of `workdir` into `target` (an ARGB32 surface of
 * o->width x o->height), o->top label issues ringed, o->title or
 * "Data map · <run>" as heading.  No dynamics.npy: VV_ENOTFOUND; no label
 * metrics: VV_EUNSUPPORTED saying a classifier head is needed.
 */
int render_datamap_card(const char *workdir, const render_opts *o, cairo_surface_t *target);

/* render_datamap_card() into a new PNG at png_path (atomically). */
int render_datamap_png(const char *workdir, const char *png_path, const render_opts *o);

#endif
