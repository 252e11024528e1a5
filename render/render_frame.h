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

/* The scene's layout (where the thumbnails, the scatter, ... are). */
const render_layout *render_scene_layout(const render_scene *s);

/* The colours of the theme, the classes (0xRRGGBB) for a GIF palette; *n set. */
const uint32_t *render_scene_palette(const render_scene *s, int *n);

/*
 * Draw the frame at timeline state `tm` into `target`, an ARGB32 image
 * surface of the scene's size.
 */
int render_scene_draw(render_scene *s, cairo_surface_t *target, const render_time *tm);

#endif
