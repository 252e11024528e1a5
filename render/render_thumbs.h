/*
 * render_thumbs.h - the dataset's pixels for the outlier thumbnails, loaded
 * once per sample and kept as cairo surfaces.
 *
 * The loader is a hook the caller supplies (cli/ passes embed/'s
 * embed_dataset_load_path(); tests inject synthetic pixels), so render/
 * never reads a data set itself.
 */
#ifndef RENDER_THUMBS_H
#define RENDER_THUMBS_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vv_work.h"
#include "embed/images/embed_image.h"

/* Decode sample `relpath` (as in samples.csv) under the data root `root`. */
typedef int (*render_thumb_load_fn)(const char *root, const char *relpath, embed_image **out);
/* Free what the loader returned and set *img to NULL. */
typedef void (*render_thumb_free_fn)(embed_image **img);

typedef struct render_thumbs render_thumbs;

/*
 * A thumbnail cache for the samples of `s` under data root `root`.  The
 * caller supplies the loader (render/ never reads data sets itself; cli/
 * passes embed_dataset_load_path); without one every thumbnail is the
 * placeholder.  A NULL free_fn means embed_image_free.  `placeholder` is the grey of failed loads.
 */
int render_thumbs_alloc(render_thumbs **pt, const char *root, const vv_samples *s,
			render_thumb_load_fn load, render_thumb_free_fn free_fn, uint32_t placeholder);

/* Free *pt and its surfaces, set it to NULL (NULL-safe). */
void render_thumbs_free(render_thumbs **pt);

/*
 * The thumbnail of sample `index` (0..n-1): an opaque ARGB32 surface of the
 * image at its own size (images over 512 pixels wide or tall are reduced
 * to 256), or the placeholder when it cannot be loaded (warned once).
 * Owned by the cache; NULL only for an index out of range.
 */
cairo_surface_t *render_thumbs_get(render_thumbs *t, int64_t index);

#endif
