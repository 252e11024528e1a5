/*
 * embed_resnetv2.h - the ResNetV2 (BiT) feature extractor of the hybrid
 * ResNet + ViT models: weight-standardized convolutions, GroupNorm, and
 * bottleneck units (conv1x1 -> GN+ReLU -> conv3x3 (stride) -> GN+ReLU ->
 * conv1x1 -> GN, plus the shortcut (a strided 1x1 conv + GN on the first
 * unit of a stage), then ReLU).  Its output feature map feeds the ViT's
 * patch embedding (embed_vit_build_hybrid()).
 *
 * Two flavours, each the exact arithmetic of its reference code:
 *  - timm (vision_transformer_hybrid.py's _resnetv2(): ResNetV2 with
 *    preact=False, StdConv2dSame eps 1e-8, TF "SAME" padding of convs and
 *    of the stem's max pool, GroupNormAct 32 groups eps 1e-5 everywhere;
 *    names stem.conv, stem.norm, stages.S.blocks.U.{conv1, norm1, conv2,
 *    norm2, conv3, norm3, downsample.conv, downsample.norm}; with no stage
 *    (vit_tiny_r_s16_p8_*) the stem's conv / norm sit at the top);
 *  - jeonsworld/ViT-pytorch (models/modeling_resnet.py: StdConv2d eps 1e-5,
 *    explicit padding 3 / 1 / 0 and an unpadded 3x3/2 max pool, GroupNorm
 *    32 groups eps 1e-6, the projection's gn_proj one group per channel
 *    eps 1e-5; names root.conv, root.gn, body.blockS.unitU.{conv1, gn1,
 *    conv2, gn2, conv3, gn3, downsample, gn_proj}, S and U from 1).
 *
 * The forward pass works on one image at a time (C x H x W, row-major),
 * convolutions as OpenBLAS sgemm (1x1: directly on the activations; k x k:
 * on an im2col copy).  Weights are standardized once, at build time.
 */
#ifndef EMBED_RESNETV2_H
#define EMBED_RESNETV2_H

#include <stddef.h>

#include "embed/formats/embed_tensors.h"

/* embed_resnetv2_spec.flavor */
enum {
	EMBED_RESNETV2_TIMM = 0,       /* timm's hybrid backbone */
	EMBED_RESNETV2_JEONSWORLD = 1, /* jeonsworld/ViT-pytorch's ResNetV2 */
};

/* Most stages a backbone may have. */
#define EMBED_RESNETV2_MAX_STAGES 4

/* The shape of a backbone. */
typedef struct embed_resnetv2_spec {
	int flavor;       /* EMBED_RESNETV2_*: padding, epsilons, tensor names */
	int stem_chs;     /* output channels of the 7x7/2 stem convolution */
	int nstages;      /* 0 (stem only) .. EMBED_RESNETV2_MAX_STAGES */
	int depth[EMBED_RESNETV2_MAX_STAGES]; /* bottleneck units of each stage */
	int chans[EMBED_RESNETV2_MAX_STAGES]; /* output channels of each stage
					       * (bottleneck width chans / 4);
					       * stage 0 has stride 1, the
					       * others 2 */
} embed_resnetv2_spec;

typedef struct embed_resnetv2 embed_resnetv2;

/*
 * Build a backbone of shape `s` for in_h x in_w RGB images from the tensors
 * of `t` whose names start with `prefix` ("patch_embed.backbone.",
 * "transformer.embeddings.hybrid_model.").  Every tensor is checked by name
 * and shape; a backbone in the file whose stages or units per stage differ
 * from `s` is VV_EMISMATCH naming `source` and both depths; a missing
 * tensor VV_ENOTFOUND.  With `consume`, each tensor's data is freed once
 * copied (see embed_vit_build_consume()); `used` (t->n flags, may be NULL)
 * marks the tensors taken.  Channel counts must divide into the 32 groups
 * of GroupNorm (VV_EINVAL).
 */
int embed_resnetv2_build(const embed_resnetv2_spec *s, embed_tensors *t, const char *prefix,
			 int consume, unsigned char *used, int in_h, int in_w,
			 const char *source, embed_resnetv2 **pm);

/* Output feature map of one image: channels, height, width. */
void embed_resnetv2_out_shape(const embed_resnetv2 *r, int *c, int *h, int *w);

/* Floats of scratch embed_resnetv2_forward() needs for one image. */
size_t embed_resnetv2_scratch_floats(const embed_resnetv2 *r);

/*
 * Run one image `img` (3 x in_h x in_w) into `out` (c x h x w as
 * embed_resnetv2_out_shape() says), using `scratch`
 * (embed_resnetv2_scratch_floats() floats, 64-byte aligned is best).
 * The sgemm calls run on one OpenBLAS thread (the count is set to 1 for
 * the call and restored), so the output is the same for any thread
 * count; run several images on threads of your own to use more cores,
 * as embed_vit_forward() does.  Not to be called while other threads of
 * the process run BLAS with more than one thread.
 */
void embed_resnetv2_forward(const embed_resnetv2 *r, const float *img, float *scratch,
			    float *out);

/* The shape the backbone was built with. */
const embed_resnetv2_spec *embed_resnetv2_spec_of(const embed_resnetv2 *r);

/* Multiply-adds of the convolutions for one image (for benchmarks). */
double embed_resnetv2_macs(const embed_resnetv2 *r);

/* Free *pm and set it to NULL (NULL-safe). */
void embed_resnetv2_free(embed_resnetv2 **pm);

#endif
