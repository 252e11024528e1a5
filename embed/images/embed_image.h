/*
 * embed_image.h - a decoded RGB image: the leaf type of embed/images/.
 * Decoding is embed_decode.h, resizing embed_resize.h, the model-input
 * transform embed_preproc.h.
 */
#ifndef EMBED_IMAGE_H
#define EMBED_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct embed_image {
	int w;        /* width in pixels */
	int h;        /* height in pixels */
	uint8_t *rgb; /* w*h*3 bytes, rows top to bottom, RGB interleaved */
} embed_image;

/* Largest accepted image: each side, and the pixel count. */
#define EMBED_IMAGE_MAX_SIDE 32768
#define EMBED_IMAGE_MAX_PIXELS ((uint64_t)1 << 28)

/* Pillow's resampling filter numbers (PIL.Image.Resampling). */
enum {
	EMBED_RESAMPLE_NEAREST = 0,
	EMBED_RESAMPLE_LANCZOS = 1,
	EMBED_RESAMPLE_BILINEAR = 2,
	EMBED_RESAMPLE_BICUBIC = 3,
	EMBED_RESAMPLE_BOX = 4,
	EMBED_RESAMPLE_HAMMING = 5,
};

/* Allocate a w x h image (zeroed). */
int embed_image_alloc(embed_image **pi, int w, int h);

/* Free *pi and set it to NULL (NULL-safe). */
void embed_image_free(embed_image **pi);

/* Copy the w x h region at (x, y); it must lie inside the image. */
int embed_image_crop(const embed_image *src, int x, int y, int w, int h,
		     embed_image **out);

#endif
