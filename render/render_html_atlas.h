/*
 * render_html_atlas.h - the thumbnails of the HTML viewer: every sample's
 * image reduced to fit a side x side cell (aspect kept, centred on grey)
 * and packed row by row into square JPEG atlases of cols x cols cells, so
 * that the JPEG headers are paid once per atlas instead of once per image.
 *
 * The cell side adapts to a byte budget: the first atlas is encoded at the
 * requested side and, when the projected total exceeds the budget, at 3/4
 * of it (down to 12 px); samples that still do not fit get no cell.
 */
#ifndef RENDER_HTML_ATLAS_H
#define RENDER_HTML_ATLAS_H

#include <stddef.h>
#include <stdint.h>

#include "common/vv_work.h"
#include "render/render_thumbs.h"

typedef struct render_html_atlas {
	int side;              /* cell side in pixels */
	int cols;              /* cells per atlas row (and rows per atlas) */
	size_t natlas;         /* JPEG images */
	unsigned char **jpeg;  /* natlas JPEG files */
	size_t *len;           /* their sizes in bytes */
	size_t ncells;         /* samples with a cell: list entries 0..ncells-1 */
	uint8_t *ok;           /* per list entry: 1 when its cell holds its image (0: grey, load failed) */
	size_t bytes;          /* sum of len */
} render_html_atlas;

/*
 * Thumbnails of the samples idx[0..n) of `s` (paths relative to `root`),
 * decoded with `load` / `free_fn` (both required), cells of at most `side`
 * pixels (8..64), JPEG bytes at most about `budget` in total.  Load
 * failures become grey cells with one warning.  Progress on stderr.
 */
int render_html_atlas_build(render_html_atlas **pa, const char *root, const vv_samples *s, const int64_t *idx,
			    size_t n, int side, int64_t budget, render_thumb_load_fn load,
			    render_thumb_free_fn free_fn);

/* Free *pa and set it to NULL (NULL-safe). */
void render_html_atlas_free(render_html_atlas **pa);

#endif
