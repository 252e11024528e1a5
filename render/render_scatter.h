/*
 * render_scatter.h - many dots fast: one anti-aliased disc per class,
 * precomputed as premultiplied ARGB sprites at 4x4 subpixel offsets, blitted
 * with the OVER operator straight into a cairo ARGB32 pixel buffer (no
 * cairo path per point).
 */
#ifndef RENDER_SCATTER_H
#define RENDER_SCATTER_H

#include <stddef.h>
#include <stdint.h>

#include "render/render_palette.h"

typedef struct render_dots render_dots;

/*
 * Build the sprites: `nclasses` colours, disc radius in pixels (0.5..64),
 * opacity 0..1.
 */
int render_dots_alloc(render_dots **pd, int nclasses, const render_rgb *colors,
		      double radius, double alpha);

/* Free *pd and set it to NULL (NULL-safe). */
void render_dots_free(render_dots **pd);

typedef struct render_dot_target {
	uint8_t *data; /* cairo ARGB32 pixels (cairo_image_surface_get_data) */
	int stride;    /* bytes per row */
	int x0, y0;    /* clip rectangle, inclusive top-left ... */
	int x1, y1;    /* ... exclusive bottom-right, inside the surface */
} render_dot_target;

/*
 * Blit dots centred at pixel coordinates (xy[2*i], xy[2*i+1]) with class
 * cls[i], in the order order[0..n-1] (indices into xy/cls; NULL: 0..n-1).
 * Non-finite positions and classes outside 0..nclasses-1 are skipped; dots
 * are clipped to the target's rectangle.  The caller flushes the surface
 * before and marks it dirty after.
 */
void render_dots_draw(const render_dots *d, const render_dot_target *t,
		      const float *xy, const int *cls, const uint32_t *order, size_t n);

#endif
