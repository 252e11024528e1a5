/*
 * embed_preproc.h - the model-input side of embed_image.h: sizes and
 * crops as transformers' ViTImageProcessor and timm's eval transform
 * (torchvision Resize(int) + CenterCrop) compute them.  embed_preprocess()
 * itself is declared in embed_image.h.
 */
#ifndef EMBED_PREPROC_H
#define EMBED_PREPROC_H

#include "embed/images/embed_image.h"

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
	int crop_floor;       /* centre-crop arithmetic: 1 transformers'
			       * center_crop (offset floor((H - h) / 2), a
			       * smaller image padded ceil((h - H) / 2) before),
			       * 0 torchvision's CenterCrop (offset
			       * round-half-even((H - h) / 2), padding
			       * floor((h - H) / 2) before) */
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
 * Centre crop to w x h, zero padding where the crop is larger than the
 * image.  floor_mode 1 is transformers' center_crop (top = floor((H - h) / 2),
 * padding ceil((h - H) / 2) before), 0 torchvision's CenterCrop (padding
 * floor((h - H) / 2) before, then top = round-half-even((H' - h) / 2)).
 */
int embed_image_center_crop(const embed_image *src, int w, int h, int floor_mode,
			    embed_image **out);

#endif
