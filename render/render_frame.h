/*
 * render_frame.h - one frame of the animation: a scene holds everything that
 * does not change between frames (layout, the static background with axes,
 * grid, legend and titles, the dot sprites, the full loss curve, the
 * thumbnails) and draws a frame for a timeline position in a few
 * milliseconds.
 */
#ifndef RENDER_FRAME_H
#define RENDER_FRAME_H

#include <cairo.h>

#include "render/render_inputs.h"
#include "render/render_layout.h"
#include "render/render_run.h"
#include "render/render_timeline.h"

typedef struct render_scene render_scene;

/*
 * Prepare a scene for the inputs and options (size, theme, title, top,
 * thumbnail hooks).  `in` must outlive the scene.
 */
int render_scene_alloc(render_scene **ps, const render_inputs *in, const render_opts *o);

/* Free *ps and set it to NULL (NULL-safe). */
void render_scene_free(render_scene **ps);

/* The colours of the theme, the classes (0xRRGGBB) for a GIF palette; *n set. */
const uint32_t *render_scene_palette(const render_scene *s, int *n);

/*
 * What a frame says, in words.  At rest (mix 0 or 1, or from == to) a frame
 * shows one checkpoint everywhere: header, loss marker and value, outlier
 * column and rings all belong to `to`.  While the points move between two
 * checkpoints the header says "240 → 255", the loss label "0.512 → 0.456"
 * (no marker), and the column cross-fades; nothing ever shows a value that
 * was not logged.
 */
typedef struct render_frame_text {
	int from, to;       /* checkpoints shown (equal at rest) */
	int moving;         /* 1 between two checkpoints */
	char step[96];      /* the big header number: "240" or "240 → 255" ("" unknown) */
	char line[512];     /* the header line under the title */
	char loss[96];      /* the loss label ("" none): "0.456", "0.456 (logged at 230)", "0.512 → 0.456" */
	double loss_step;   /* step of the logged value of `to` shown, NaN none */
	double loss_value;  /* that logged value, NaN none */
} render_frame_text;

/* Fill *out for the timeline state `tm`; VV_EINVAL for checkpoints out of range. */
int render_scene_describe(const render_scene *s, const render_time *tm, render_frame_text *out);

/*
 * Draw the frame at timeline state `tm` into `target`, an ARGB32 image
 * surface of the scene's size; what it says is render_scene_describe()'s.
 */
int render_scene_draw(render_scene *s, cairo_surface_t *target, const render_time *tm);

#endif
