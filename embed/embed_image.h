/*
 * embed_image.h - decoded RGB images and preprocessing identical to Pillow /
 * transformers' ViTImageProcessor (PIL path) / timm's eval transform.
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

/*
 * Decode a JPEG or PNG held in memory (format from the magic bytes) and
 * convert it to RGB as Pillow's convert("RGB") does: gray replicated,
 * alpha dropped, palette expanded, 16-bit reduced to 8.  `name` is used in
 * error messages.  Dimensions above 32768 or images over 2^28 pixels are
 * VV_EUNSUPPORTED; anything undecodable is VV_EFORMAT.
 */
int embed_image_decode(const char *name, const unsigned char *buf, size_t len,
		       embed_image **out);

/* Read and decode a file (bounded to 256 MiB). */
int embed_image_load(const char *path, embed_image **out);

/*
 * Resize to w x h exactly as Pillow's Image.resize(size, resample) does
 * (separable passes, support scaled when shrinking, fixed-point
 * coefficients, uint8 between the passes).
 */
int embed_image_resize(const embed_image *src, int w, int h, int resample,
		       embed_image **out);

/* Copy the w x h region at (x, y); it must lie inside the image. */
int embed_image_crop(const embed_image *src, int x, int y, int w, int h,
		     embed_image **out);

/* How an image becomes the model's input tensor. */
typedef struct embed_preproc {
	int do_resize;        /* resize at all */
	int resize_shortest;  /* 1: shorter side to `shortest`, aspect kept
			       *    (timm: floor(size / crop_pct));
			       * 0: to exactly size_w x size_h (ViTImageProcessor) */
	int size_w, size_h;   /* exact resize target */
	int shortest;         /* shorter-side target */
	int resample;         /* EMBED_RESAMPLE_* */
	int do_crop;          /* centre crop to crop_w x crop_h after resizing */
	int crop_w, crop_h;   /* centre crop size */
	int do_rescale;       /* multiply by `rescale` (1/255) */
	double rescale;       /* rescale factor */
	int do_normalize;     /* (x - mean) / std per channel */
	float mean[3];        /* per-channel mean */
	float std[3];         /* per-channel standard deviation */
} embed_preproc;

/*
 * Preprocess one image into `chw`, a 3 x out_h x out_w float32 buffer in
 * channel-major order (PyTorch's NCHW for one sample).  The final size must
 * equal out_w x out_h or the call fails with VV_EMISMATCH.
 */
int embed_preprocess(const embed_preproc *pp, const embed_image *img,
		     float *chw, int out_w, int out_h);

#endif
