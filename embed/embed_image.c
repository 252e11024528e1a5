/*
 * embed_image.c - RGB image buffers, loading (format by magic bytes),
 * cropping and the resize entry point.
 */
#include "embed/embed_image.h"
#include "embed/embed_decode.h"
#include "embed/embed_resize.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES ((size_t)256 << 20)

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
embed_image_decode(const char *name, const unsigned char *buf, size_t len,
		   embed_image **out)
{
	static const unsigned char png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

	*out = NULL;
	if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		return embed_decode_jpeg(name, buf, len, out);
	if (len >= 8 && !memcmp(buf, png_magic, 8))
		return embed_decode_png(name, buf, len, out);
	return vv_error(VV_EFORMAT, "%s: not a JPEG or PNG file", name);
}

int
embed_image_load(const char *path, embed_image **out)
{
	char *buf;
	size_t len;
	int err;

	*out = NULL;
	err = vv_read_file(path, MAX_FILE_BYTES, &buf, &len);
	if (err)
		return err;
	err = embed_image_decode(path, (const unsigned char *)buf, len, out);
	free(buf);
	return err;
}

int
embed_image_resize(const embed_image *src, int w, int h, int resample,
		   embed_image **out)
{
	int err;

	*out = NULL;
	if (w <= 0 || h <= 0)
		return vv_error(VV_EINVAL, "resize to %d x %d: sizes must be positive", w, h);
	if (w == src->w && h == src->h)
		return embed_image_crop(src, 0, 0, w, h, out);
	err = embed_image_alloc(out, w, h);
	if (err)
		return err;
	if (resample == EMBED_RESAMPLE_NEAREST)
		err = embed_resize_nearest(src, *out);
	else
		err = embed_resample(src, *out, resample);
	if (err)
		embed_image_free(out);
	return err;
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
