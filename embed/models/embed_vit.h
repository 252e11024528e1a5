/*
 * embed_vit.h - a Vision Transformer in float32 on OpenBLAS: weights mapped
 * from a named tensor set into one internal layout, and the forward pass.
 *
 * The internal layout is the same whatever the checkpoint's naming: fused
 * query|key|value rows ([3D, D], as timm stores `attn.qkv`), Linear weights
 * [out, in], the patch projection flattened to [D, C*P*P], the class (and
 * optional distillation) token as [D] rows, position embeddings [T, D].
 * A naming (embed_vit_naming) is a table saying which file tensor fills
 * which slot (or which third of a fused slot), with which file shape; the
 * Hugging Face table is embed_vit_naming_hf.  Another naming (timm) is
 * added by writing another table, not by touching the math.
 */
#ifndef EMBED_VIT_H
#define EMBED_VIT_H

#include <stddef.h>

#include "embed/embed_pool.h"
#include "embed/models/embed_config.h"
#include "embed/formats/embed_tensors.h"
#include "embed/models/embed_resnetv2.h"

/* Weight slots of the internal layout.  Shapes: D hidden, M intermediate,
 * T tokens, C channels, P patch, L labels. */
typedef enum embed_vit_slot {
	/* model-wide */
	EMBED_W_CLS = 0,   /* class token [D] */
	EMBED_W_DIST,      /* distillation token [D] (prefix_tokens 2 only) */
	EMBED_W_POS,       /* position embeddings [T, D] */
	EMBED_W_PATCH_W,   /* patch projection [D, C*P*P] (conv weight flattened) */
	EMBED_W_PATCH_B,   /* patch projection bias [D] */
	EMBED_W_NORM_W,    /* final LayerNorm weight [D] */
	EMBED_W_NORM_B,    /* final LayerNorm bias [D] */
	EMBED_W_HEAD_W,    /* classifier [L, D] (only with a head) */
	EMBED_W_HEAD_B,    /* classifier bias [L] */
	EMBED_W_FCNORM_W,  /* timm fc_norm: LayerNorm after pooling [D]
			    * (optional; avg-pooled models, whose `norm` is
			    * then absent) */
	EMBED_W_FCNORM_B,
	EMBED_W_HEAD_DIST_W, /* timm DeiT distillation head [L, D]
			      * (prefix_tokens 2 with a head) */
	EMBED_W_HEAD_DIST_B,
	EMBED_W_PRELOGITS_W, /* representation layer before the head (Linear
			      * [D, D] + tanh; the flower tutorial's in21k
			      * models, old timm) (optional) */
	EMBED_W_PRELOGITS_B, /* [D] */
	/* per layer */
	EMBED_W_LN1_W,     /* LayerNorm before attention [D] */
	EMBED_W_LN1_B,
	EMBED_W_QKV_W,     /* query|key|value [3D, D] */
	EMBED_W_QKV_B,     /* [3D]; zeros without qkv_bias */
	EMBED_W_PROJ_W,    /* attention output [D, D] */
	EMBED_W_PROJ_B,    /* [D] */
	EMBED_W_LN2_W,     /* LayerNorm before the MLP [D] */
	EMBED_W_LN2_B,
	EMBED_W_FC1_W,     /* MLP in [M, D] */
	EMBED_W_FC1_B,     /* [M] */
	EMBED_W_FC2_W,     /* MLP out [D, M] */
	EMBED_W_FC2_B,     /* [D] */
	EMBED_W_LS1,       /* LayerScale after attention [D] (optional) */
	EMBED_W_LS2,       /* LayerScale after the MLP [D] (optional) */
	EMBED_W_NSLOTS
} embed_vit_slot;

/* First per-layer slot; slots from here on exist once per layer. */
#define EMBED_W_FIRST_LAYER_SLOT EMBED_W_LN1_W
#define EMBED_W_NLAYER_SLOTS (EMBED_W_NSLOTS - EMBED_W_FIRST_LAYER_SLOT)

/* Symbolic extents used in a naming's file shapes. */
enum {
	EMBED_DIM_1 = 1,   /* literally 1 */
	EMBED_DIM_D,       /* hidden */
	EMBED_DIM_3D,      /* 3 x hidden */
	EMBED_DIM_M,       /* intermediate */
	EMBED_DIM_T,       /* tokens: prefix + patches */
	EMBED_DIM_C,       /* channels */
	EMBED_DIM_P,       /* patch size */
	EMBED_DIM_L,       /* classifier outputs (taken from the head weight) */
};

/* embed_vit_name.flags */
enum {
	EMBED_NAME_ROOT = 1,      /* not under the model prefix ("classifier.*") */
	EMBED_NAME_OPTIONAL = 2,  /* may be absent (slot left unset) */
	EMBED_NAME_HEAD = 4,      /* classifier: all present or all absent */
	EMBED_NAME_QKV_BIAS = 8,  /* required only when qkv_bias (else may be absent) */
	EMBED_NAME_DIST = 16,     /* required only when prefix_tokens == 2 */
};

typedef struct embed_vit_name {
	const char *fmt;   /* file name after the prefix; one "%d" = layer index
			    * for per-layer slots */
	int slot;          /* embed_vit_slot it fills */
	int part;          /* -1: the whole slot; 0, 1, 2: that third of the
			    * slot's rows (query, key, value of EMBED_W_QKV_*) */
	int flags;         /* EMBED_NAME_* */
	int ndim;          /* rank of the file tensor */
	signed char dims[4]; /* EMBED_DIM_* extents of the file tensor */
} embed_vit_name;

typedef struct embed_vit_naming {
	const char *what;               /* "Hugging Face ViT" (for messages) */
	const char *const *prefixes;    /* candidate model prefixes, NULL-ended
					 * ("vit.", ""); the first for which
					 * `probe` exists is used */
	const char *probe;              /* name (after the prefix) probing a prefix */
	const char *layer_fmt;          /* per-layer name start, "encoder.layer.%d." */
	const char *const *ignore;      /* name starts ignored silently, NULL-ended */
	const embed_vit_name *names;    /* the table */
	size_t n;                       /* entries in the table */
} embed_vit_naming;

/* transformers' ViTModel / ViTForImageClassification names. */
extern const embed_vit_naming embed_vit_naming_hf;

/*
 * timm's VisionTransformer / VisionTransformerDistilled names
 * (patch_embed.proj, cls_token, pos_embed, blocks.N.{norm1, attn.qkv,
 * attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma}, norm, fc_norm,
 * head; dist_token and head_dist with prefix_tokens 2).  `norm` may be
 * absent only when fc_norm is present (timm's avg-pooled models).
 */
extern const embed_vit_naming embed_vit_naming_timm;

typedef struct embed_vit embed_vit;

/*
 * Build a model of shape `c` from the tensors `t` named after `nm`.  Every
 * expected tensor is checked by name and exact shape: a missing one is
 * VV_ENOTFOUND, a misshapen one VV_EMISMATCH, and a layer count that
 * disagrees with c->layers VV_EMISMATCH, each naming the tensor, `source`
 * (the weights file, for messages) and both shapes.  The classifier is
 * optional (embed_vit_num_labels() is then 0).  Unused tensors outside
 * nm->ignore give one warning.  `c` is copied (labels excluded).
 */
int embed_vit_build(const embed_vit_config *c, const embed_tensors *t,
		    const embed_vit_naming *nm, const char *source, embed_vit **pm);

/*
 * embed_vit_build(), freeing each tensor's data (data set to NULL) as soon
 * as it is copied into the model, so that the weights are held about once,
 * not twice, at the peak.  On success and on failure `t` keeps its names
 * and shapes and must still be freed by the caller; its data is gone
 * (partly on failure).
 */
int embed_vit_build_consume(const embed_vit_config *c, embed_tensors *t,
			    const embed_vit_naming *nm, const char *source, embed_vit **pm);

/*
 * A hybrid ViT (timm's vision_transformer_hybrid.py, jeonsworld's
 * R50-ViT-B_16): the patch embedding reads the feature map of `stem` (a
 * ResNetV2 built for c's image size; ownership passes to the model, which
 * frees it on failure too) instead of the pixels: the patch projection is
 * [D, C', P, P] over the C' x H' x W' features, the grid (H' / P) x (W' / P).
 * Otherwise as embed_vit_build_consume(); tensors under nm->ignore (the
 * backbone's prefix) are not reported as unused.
 */
int embed_vit_build_hybrid(const embed_vit_config *c, embed_resnetv2 *stem, embed_tensors *t,
			   const embed_vit_naming *nm, const char *source, embed_vit **pm);

/* jeonsworld/ViT-pytorch's VisionTransformer names (transformer.embeddings.
 * {cls_token, position_embeddings, patch_embeddings}, transformer.encoder.
 * layer.N.{attention_norm, attn.{query,key,value,out}, ffn_norm, ffn.fc1,
 * ffn.fc2}, transformer.encoder.encoder_norm, head). */
extern const embed_vit_naming embed_vit_naming_jeonsworld;

/* The backbone of a hybrid model, NULL for a plain ViT. */
const embed_resnetv2 *embed_vit_stem(const embed_vit *m);

/* Classifier outputs, 0 without a head. */
int embed_vit_num_labels(const embed_vit *m);

/* Embedding width D. */
int embed_vit_dim(const embed_vit *m);

/*
 * Run `batch` images, `pixels` B x C x H x W float32 (preprocessed, H x W
 * the config's image size), writing `emb` B x D (pool EMBED_POOL_CLS,
 * EMBED_POOL_MEAN or EMBED_POOL_HEAD) and, when `logits` is not NULL and
 * the model has a head, `logits` B x L as the model's classifier computes
 * them: from the CLS token after the final LayerNorm (HF, timm 'token'
 * pooling), from fc_norm(mean of the patch tokens) (timm 'avg' pooling), or
 * (head(CLS) + head_dist(distillation token)) / 2 (DeiT distilled, timm's
 * inference output).  Scratch
 * buffers are kept in the model and grown to the largest batch seen; not
 * thread-safe on one model.  Threads: the batch is cut into tiles of a few
 * images fixed by the model (never by the thread count), run by up to
 * vv_threads() workers of this call on single-threaded OpenBLAS
 * (common/vv_thread.h; other threads should not call BLAS meanwhile): the
 * output is byte-identical for any thread count.  It can change with the
 * batch size (which images share a GEMM call) and with the kernel set.
 * VV_EINVAL for a bad batch or pool, VV_ENOMEM.
 */
int embed_vit_forward(embed_vit *m, const float *pixels, int batch, int pool,
		      float *emb, float *logits);

/* Free *pm and set it to NULL (NULL-safe). */
void embed_vit_free(embed_vit **pm);

#endif
