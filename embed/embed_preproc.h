/*
 * embed_preproc.h - the model-input side of embed_image.h: sizes and
 * crops as transformers' ViTImageProcessor and timm's eval transform
 * (torchvision Resize(int) + CenterCrop) compute them.  embed_preprocess()
 * itself is declared in embed_image.h.
 */
#ifndef EMBED_PREPROC_H
#define EMBED_PREPROC_H

#include "embed/embed_image.h"

/*
 * Size after the resize step for a w x h input: size_w x size_h, or the
 * shorter side set to `shortest` and the longer one
 * int(shortest * long / short) as torchvision's Resize(int) computes it;
 * the input size when do_resize is 0.
 */
void embed_preproc_resized_size(const embed_preproc *pp, int w, int h,
				int *rw, int *rh);

/*
 * Final tensor size (after the optional centre crop) for a w x h input;
 * embed_preprocess() wants exactly this as out_w x out_h.
 */
void embed_preproc_output_size(const embed_preproc *pp, int w, int h,
			       int *out_w, int *out_h);

/*
 * Centre crop to w x h as torchvision's CenterCrop does: zero padding when
 * the crop is larger than the image, then top = int(round((H - h) / 2)),
 * left likewise (Python's round: halves to even).
 */
int embed_image_center_crop(const embed_image *src, int w, int h,
			    embed_image **out);

#endif
