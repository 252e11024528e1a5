/*
 * embed_image.c - RGB image buffers: allocation and cropping.
 */
#include "embed/images/embed_image.h"
#include "common/vv_error.h"

#include <stdlib.h>
#include <string.h>

int
embed_image_alloc(embed_image **pi, int w, int h)
{
	embed_image *im;

	*pi = NULL;
	if (w <= 0 || h <= 0 || w > EMBED_IMAGE_MAX_SIDE || h > EMBED_IMAGE_MAX_SIDE ||
	    (uint64_t)w * (uint64_t)h > EMBED_IMAGE_MAX_PIXELS)
		return vv_error(VV_EUNSUPPORTED, "image of %d x %d pixels is too large", w, h);
	im = calloc(1, sizeof(*im));
	if (!im)
		return vv_error(VV_ENOMEM, "out of memory");
	im->rgb = calloc((size_t)w * (size_t)h, 3);
	if (!im->rgb) {
		free(im);
		return vv_error(VV_ENOMEM, "out of memory for a %d x %d image", w, h);
	}
	im->w = w;
	im->h = h;
	*pi = im;
	return 0;
}

void
embed_image_free(embed_image **pi)
{
	if (!*pi)
		return;
	free((*pi)->rgb);
	free(*pi);
	*pi = NULL;
}

int
embed_image_crop(const embed_image *src, int x, int y, int w, int h,
		 embed_image **out)
{
	int err, r;

	*out = NULL;
	if (x < 0 || y < 0 || w <= 0 || h <= 0 || x > src->w - w || y > src->h - h)
		return vv_error(VV_EINVAL, "crop %d x %d at (%d, %d) is outside a %d x %d image",
				w, h, x, y, src->w, src->h);
	err = embed_image_alloc(out, w, h);
	if (err)
		return err;
	for (r = 0; r < h; r++)
		memcpy((*out)->rgb + (size_t)r * w * 3,
		       src->rgb + ((size_t)(y + r) * src->w + x) * 3, (size_t)w * 3);
	return 0;
}
