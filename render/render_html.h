/*
 * render_html.h - the `html` stage: an analysed work folder becomes one
 * self-contained, offline HTML file to explore the run in a browser.
 *
 * The file holds the viewer (render/html/viewer.{html,css,js}, compiled in)
 * and the data as JSON with base64 typed arrays: coordinates quantized to
 * 16 bits per axis, outlier scores (float32, as scores.npy), ranks,
 * predictions and label quality (float64, as `vitviz report` prints them),
 * samples.csv's paths and labels, dynamics.csv's columns when present, the
 * loss curve, and the thumbnails as a few JPEG atlases.
 *
 * Size: when the data alone would exceed 3/4 of max_bytes, an even
 * subsample of the samples (plus every checkpoint's top outliers) is shown,
 * and both stderr and the page say so; thumbnails shrink (32 px, then 24,
 * 16) to fit what is left, and are dropped for the samples that still do not
 * fit (also stated).
 */
#ifndef RENDER_HTML_H
#define RENDER_HTML_H

#include <stdint.h>

#include "render/render_palette.h"
#include "render/render_thumbs.h"

typedef struct render_html_opts {
	const char *title;         /* page title; NULL: render_default_title() */
	int theme;                 /* initial theme, RENDER_THEME_LIGHT or _DARK */
	int64_t max_points;        /* show at most this many samples (even subsample); 0: no limit */
	int64_t max_bytes;         /* size budget of the file in bytes (50 MB) */
	int thumb_side;            /* largest thumbnail side in pixels, 8..64 (32); 0: none */
	render_thumb_load_fn thumb_load; /* image decoder for thumbnails; NULL: no thumbnails */
	render_thumb_free_fn thumb_free; /* frees what thumb_load returned (required with it) */
} render_html_opts;

/* Fill *o with the defaults above. */
void render_html_opts_default(render_html_opts *o);

/*
 * Write the viewer of `workdir` to `out_path` (atomically).  A work folder
 * without analysis (coords.npy, analysis.json or scores.npy missing) is
 * VV_ENOTFOUND naming the file; stale or malformed inputs VV_EMISMATCH /
 * VV_EFORMAT; an unwritable output VV_EIO.
 */
int render_html_write(const char *workdir, const char *out_path, const render_html_opts *o);

#endif
