/*
 * embed_preproc.c - image to model input tensor.
 *
 * Order and arithmetic follow the reference pipelines:
 *  - ViTImageProcessor (PIL path): Pillow resize to size_w x size_h,
 *    rescale as (float)(x * rescale) computed in double (numpy float64
 *    then astype(float32)), normalise (x - mean) / std in float32.
 *  - timm eval: Resize(shortest) on the shorter side, CenterCrop, ToTensor
 *    (x / 255 in float32), Normalize in float32.  For every 8-bit x,
 *    (float)(x * (1.0 / 255)) equals (float)x / 255.0f (test_image checks
 *    all 256), so one rescale serves both.
 */
#include "embed/images/embed_preproc.h"
#include "embed/images/embed_resize.h"
#include "common/vv_error.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
embed_preproc_resized_size(const embed_preproc *pp, int w, int h, int *rw, int *rh)
{
	*rw = w;
	*rh = h;
	if (!pp->do_resize)
		return;
	if (!pp->resize_shortest) {
		*rw = pp->size_w;
		*rh = pp->size_h;
		return;
	}
	if (w <= h) {
		*rw = pp->shortest;
		*rh = (int)((double)((int64_t)pp->shortest * h) / w);
	} else {
		*rh = pp->shortest;
		*rw = (int)((double)((int64_t)pp->shortest * w) / h);
	}
}

void
embed_preproc_output_size(const embed_preproc *pp, int w, int h, int *out_w, int *out_h)
{
	embed_preproc_resized_size(pp, w, h, out_w, out_h);
	if (pp->do_crop) {
		*out_w = pp->crop_w;
		*out_h = pp->crop_h;
	}
}

int
embed_image_center_crop(const embed_image *src, int w, int h, int floor_mode, embed_image **out)
{
	int pl = 0, pt = 0, pw = src->w, ph = src->h, left, top, y, x0, x1, err;

	*out = NULL;
	if (w <= 0 || h <= 0)
		return vv_error(VV_EINVAL, "centre crop to %d x %d: sizes must be positive", w, h);
	if (floor_mode) {
		/* transformers: floor((H - h) / 2); a smaller side is padded
		 * with ceil((h - H) / 2) zeros before, so it lands there */
		top = h > src->h ? -((h - src->h + 1) / 2) : (src->h - h) / 2;
		left = w > src->w ? -((w - src->w + 1) / 2) : (src->w - w) / 2;
	} else {
		/* torchvision pads with floor((h - H) / 2) zeros before when
		 * the crop is larger, then rounds half to even */
		if (w > src->w) {
			pl = (w - src->w) / 2;
			pw = src->w + pl + (w - src->w + 1) / 2;
		}
		if (h > src->h) {
			pt = (h - src->h) / 2;
			ph = src->h + pt + (h - src->h + 1) / 2;
		}
		top = (int)nearbyint((ph - h) / 2.0) - pt;
		left = (int)nearbyint((pw - w) / 2.0) - pl;
	}
	if (left >= 0 && top >= 0 && left + w <= src->w && top + h <= src->h)
		return embed_image_crop(src, left, top, w, h, out);
	err = embed_image_alloc(out, w, h);
	if (err)
		return err;
	/* source columns [x0, x1) land in the output at x0 - left */
	x0 = left < 0 ? 0 : left;
	x1 = left + w > src->w ? src->w : left + w;
	for (y = 0; y < h; y++) {
		int sy = y + top;

		if (sy < 0 || sy >= src->h || x1 <= x0)
			continue;
		memcpy((*out)->rgb + ((size_t)y * w + (x0 - left)) * 3,
		       src->rgb + ((size_t)sy * src->w + x0) * 3, (size_t)(x1 - x0) * 3);
	}
	return 0;
}

int
embed_preprocess(const embed_preproc *pp, const embed_image *img, float *chw,
		 int out_w, int out_h)
{
	embed_image *resized = NULL, *cropped = NULL;
	const embed_image *cur = img;
	size_t plane, i;
	int rw, rh, fw, fh, c, err = 0;

	embed_preproc_resized_size(pp, img->w, img->h, &rw, &rh);
	embed_preproc_output_size(pp, img->w, img->h, &fw, &fh);
	if (fw != out_w || fh != out_h)
		return vv_error(VV_EMISMATCH,
				"preprocessing a %d x %d image gives %d x %d, the model wants %d x %d",
				img->w, img->h, fw, fh, out_w, out_h);
	if (rw != img->w || rh != img->h) {
		err = embed_image_resize(img, rw, rh, pp->resample, &resized);
		if (err)
			return err;
		cur = resized;
	}
	if (pp->do_crop && (pp->crop_w != cur->w || pp->crop_h != cur->h)) {
		err = embed_image_center_crop(cur, pp->crop_w, pp->crop_h, pp->crop_floor, &cropped);
		if (err)
			goto out_free_resized;
		cur = cropped;
	}
	plane = (size_t)out_w * out_h;
	for (c = 0; c < 3; c++) {
		const uint8_t *p = cur->rgb + c;
		float *o = chw + c * plane;
		float m = pp->mean[c], s = pp->std[c];
		float lut[256];
		int v;

		/* 256 possible inputs: tabulate the per-channel arithmetic */
		for (v = 0; v < 256; v++) {
			float x = pp->do_rescale ? (float)((double)v * pp->rescale) : (float)v;

			lut[v] = pp->do_normalize ? (x - m) / s : x;
		}
		for (i = 0; i < plane; i++, p += 3)
			o[i] = lut[*p];
	}
	embed_image_free(&cropped);
out_free_resized:
	embed_image_free(&resized);
	return err;
}
