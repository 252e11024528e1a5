/*
 * embed_resize.h - Pillow's resampling, re-implemented: the convolution
 * filters of libImaging/Resample.c and the nearest-neighbour scaling of
 * libImaging/Geometry.c that Image.resize() uses.  embed_image_resize() is
 * the public entry; these fill an already allocated output.
 */
#ifndef EMBED_RESIZE_H
#define EMBED_RESIZE_H

#include "embed/images/embed_image.h"

/*
 * Resample `src` into `dst` (its w and h are the target size) with a
 * convolution filter: EMBED_RESAMPLE_BOX, BILINEAR, HAMMING, BICUBIC or
 * LANCZOS.  Separable: horizontal pass, then vertical, uint8 in between;
 * a pass whose size does not change is skipped, as in Pillow.
 */
int embed_resample(const embed_image *src, embed_image *dst, int resample);

/* Nearest neighbour as Pillow's resize(..., NEAREST) (affine scaling). */
int embed_resize_nearest(const embed_image *src, embed_image *dst);

/*
 * Resize to w x h exactly as Pillow's Image.resize(size, resample) does
 * (separable passes, support scaled when shrinking, fixed-point
 * coefficients, uint8 between the passes).
 */
int embed_image_resize(const embed_image *src, int w, int h, int resample,
		       embed_image **out);

#endif
