/* render_thumbs.c - outlier thumbnails from the dataset, cached. */
#include "render/render_thumbs.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"

#include <stdlib.h>
#include <string.h>

#define THUMB_MAX_SIDE 512  /* larger images are reduced ... */
#define THUMB_REDUCED 256   /* ... to fit this square */
#define THUMB_MAX_PIXELS ((int64_t)1 << 28)

typedef struct thumb_slot {
	int tried;              /* a load was attempted */
	cairo_surface_t *surf;  /* the image, or NULL: use the placeholder */
} thumb_slot;

struct render_thumbs {
	char *root;                   /* data root */
	const vv_samples *samples;    /* paths and labels (borrowed) */
	render_thumb_load_fn load;    /* decoder hook */
	render_thumb_free_fn free_fn; /* matching free */
	thumb_slot *slot;             /* one per sample */
	cairo_surface_t *placeholder; /* 32 x 32 grey */
	int warned;                   /* failures already reported */
};

int
render_thumbs_alloc(render_thumbs **pt, const char *root, const vv_samples *s,
		    render_thumb_load_fn load, render_thumb_free_fn free_fn, uint32_t placeholder)
{
	render_thumbs *t;

	*pt = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return vv_error(VV_ENOMEM, "out of memory");
	t->root = vv_strdup(root ? root : "");
	t->slot = calloc(s->n ? s->n : 1, sizeof(*t->slot));
	t->placeholder = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 32, 32);
	if (!t->root || !t->slot || cairo_surface_status(t->placeholder)) {
		render_thumbs_free(&t);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	{
		cairo_t *cr = cairo_create(t->placeholder);

		cairo_set_source_rgb(cr, ((placeholder >> 16) & 255) / 255.0, ((placeholder >> 8) & 255) / 255.0,
				     (placeholder & 255) / 255.0);
		cairo_paint(cr);
		cairo_destroy(cr);
	}
	t->samples = s;
	t->load = load;
	t->free_fn = free_fn ? free_fn : embed_image_free;
	*pt = t;
	return 0;
}

void
render_thumbs_free(render_thumbs **pt)
{
	render_thumbs *t = *pt;

	if (!t)
		return;
	if (t->slot)
		for (size_t i = 0; i < t->samples->n; i++)
			if (t->slot[i].surf)
				cairo_surface_destroy(t->slot[i].surf);
	if (t->placeholder)
		cairo_surface_destroy(t->placeholder);
	free(t->slot);
	free(t->root);
	free(t);
	*pt = NULL;
}

/* RGB8 image to an opaque ARGB32 surface, reduced when large; NULL on failure. */
static cairo_surface_t *
to_surface(const embed_image *img)
{
	cairo_surface_t *s, *r;
	unsigned char *data;
	int stride;
	double k;
	cairo_t *cr;

	if (!img || !img->rgb || img->w < 1 || img->h < 1 || img->w > 32768 || img->h > 32768 ||
	    (int64_t)img->w * img->h > THUMB_MAX_PIXELS)
		return NULL;
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, img->w, img->h);
	if (cairo_surface_status(s)) {
		cairo_surface_destroy(s);
		return NULL;
	}
	cairo_surface_flush(s);
	data = cairo_image_surface_get_data(s);
	stride = cairo_image_surface_get_stride(s);
	for (int y = 0; y < img->h; y++) {
		uint32_t *row = (uint32_t *)(data + (size_t)y * stride);
		const uint8_t *p = img->rgb + (size_t)y * img->w * 3;

		for (int x = 0; x < img->w; x++, p += 3)
			row[x] = 0xff000000u | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	}
	cairo_surface_mark_dirty(s);
	if (img->w <= THUMB_MAX_SIDE && img->h <= THUMB_MAX_SIDE)
		return s;
	k = (double)THUMB_REDUCED / (img->w > img->h ? img->w : img->h);
	r = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(img->w * k + 0.5) > 0 ? (int)(img->w * k + 0.5) : 1,
				       (int)(img->h * k + 0.5) > 0 ? (int)(img->h * k + 0.5) : 1);
	cr = cairo_create(r);
	cairo_scale(cr, k, k);
	cairo_set_source_surface(cr, s, 0, 0);
	cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
	cairo_paint(cr);
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	if (cairo_surface_status(r)) {
		cairo_surface_destroy(r);
		return NULL;
	}
	return r;
}

cairo_surface_t *
render_thumbs_get(render_thumbs *t, int64_t index)
{
	thumb_slot *sl;
	embed_image *img = NULL;
	int err;

	if (index < 0 || (uint64_t)index >= t->samples->n)
		return NULL;
	sl = &t->slot[index];
	if (sl->tried)
		return sl->surf ? sl->surf : t->placeholder;
	sl->tried = 1;
	if (!t->load) {
		if (!t->warned++)
			vv_warn("thumbnails: no image loader linked in; showing grey placeholders");
		return t->placeholder;
	}
	err = t->load(t->root, t->samples->path[index], &img);
	if (err) {
		if (!t->warned++)
			vv_warn("thumbnail of sample %lld: %s (shown grey)", (long long)index, vv_errmsg());
		return t->placeholder;
	}
	sl->surf = to_surface(img);
	if (!sl->surf && !t->warned++)
		vv_warn("thumbnail of sample %lld (%s): unusable image (shown grey)", (long long)index,
			t->samples->path[index]);
	t->free_fn(&img);
	return sl->surf ? sl->surf : t->placeholder;
}
