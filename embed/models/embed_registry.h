/*
 * embed_registry.h - timm architectures by name, in the spirit of timm's
 * create_model() / @register_model: the name fixes the network's shape
 * (depth, width, heads, MLP ratio, patch, image size, prefix tokens, global
 * pool) and the eval preprocessing of its default pretrained tag
 * (interpolation, crop_pct, mean, std), taken from timm's
 * vision_transformer.py and deit.py (`_cfg(...)` and default_cfgs: the
 * first tag listed for an architecture is its default).
 *
 * Adding an architecture is one entry in the table of embed_registry.c (or
 * one embed_registry_add() call at run time, which is how the tests add
 * their tiny networks).
 */
#ifndef EMBED_REGISTRY_H
#define EMBED_REGISTRY_H

#include <stddef.h>

#include "embed/models/embed_config.h"
#include "embed/images/embed_image.h"
#include "embed/models/embed_resnetv2.h"

/* Longest architecture name (without a ".tag" suffix). */
#define EMBED_REGISTRY_NAME_MAX 96

/* Most stages of a hierarchical (Swin) architecture. */
#define EMBED_REGISTRY_MAX_STAGES 8

typedef struct embed_registry_entry {
	const char *name;        /* timm model name, "vit_base_patch16_224" */
	int depth;               /* transformer blocks */
	int width;               /* embed_dim D */
	int heads;               /* attention heads (divide D) */
	double mlp_ratio;        /* MLP hidden = (int)(D * mlp_ratio) */
	int patch;               /* patch size in pixels */
	int img_size;            /* input width = height in pixels */
	int prefix_tokens;       /* 1 (class token), 2 with a distillation
				  * token (DeiT distilled) */
	int global_pool;         /* EMBED_POOL_CLS ('token') or EMBED_POOL_MEAN
				  * ('avg': fc_norm, no final norm) */
	const char *default_tag; /* pretrained tag the preprocessing is from */
	int interpolation;       /* EMBED_RESAMPLE_BICUBIC / _BILINEAR */
	double crop_pct;         /* resize the shorter side to
				  * floor(img_size / crop_pct), centre crop */
	float mean[3];           /* per-channel normalisation mean */
	float std[3];            /* per-channel normalisation std */
	/* model families other than the plain ViT (see embed_family.h) */
	const char *family;      /* NULL or "vit": a ViT (the fields above);
				  * "swin": a Swin Transformer, whose shape is
				  * width = embed_dim, patch, img_size,
				  * mlp_ratio and the fields below (depth =
				  * the sum of the stage depths, heads = the
				  * first stage's; prefix_tokens 1, pool avg) */
	int window;              /* swin: attention window (7, 12) */
	int stage_depths[EMBED_REGISTRY_MAX_STAGES]; /* swin: blocks per stage,
				  * 0 after the last stage */
	int stage_heads[EMBED_REGISTRY_MAX_STAGES];  /* swin: heads per stage */
	int hybrid;              /* vit: 1 when a ResNetV2 backbone feeds the
				  * patch embedding (timm's
				  * vision_transformer_hybrid.py); `patch` is
				  * then the projection's kernel over the
				  * backbone's feature map */
	embed_resnetv2_spec backbone; /* hybrid: the backbone's shape (the
				  * flavour is set by the checkpoint format) */
} embed_registry_entry;

/* The entry's family name: "vit" when e->family is NULL. */
const char *embed_registry_family(const embed_registry_entry *e);

/*
 * The entry of `name`: an exact name, or a name with a pretrained tag
 * (a "timm/" or "hf-hub:" prefix is ignored).  A tag selects that tag's
 * eval preprocessing from timm's pretrained_cfg (embed_timm_tags.h):
 * "vit_small_patch16_224.dino" gives vit_small_patch16_224's shape with
 * ImageNet mean/std, its default_tag then names the tag.  NULL when the
 * architecture or the tag is unknown (VV_ENOTFOUND: the message names
 * `name` and lists the known architectures or tags) or the tag's eval
 * transform is not a centre crop (VV_EUNSUPPORTED).  `source` (may be
 * NULL) starts the message.  The entry lives as long as the process.
 */
const embed_registry_entry *embed_registry_find(const char *name, const char *source);

/*
 * Register an architecture at run time (the entry and its strings are
 * copied).  Its values are checked as a config would be (VV_EINVAL naming
 * the entry); a name already registered is VV_EINVAL.  Not thread-safe:
 * register before opening models.  At most 64 added entries (VV_ENOMEM).
 */
int embed_registry_add(const embed_registry_entry *e);

/* Number of known architectures, built-in first, then added ones. */
size_t embed_registry_count(void);

/* The i-th architecture (i < embed_registry_count()). */
const embed_registry_entry *embed_registry_at(size_t i);

/*
 * A config for the architecture: its shape, LayerNorm eps 1e-6, exact GELU,
 * qkv bias, no labels; architectures[0] is the entry's name.  Free with
 * embed_vit_config_free().  VV_EINVAL for an entry of another family.
 */
int embed_registry_config(const embed_registry_entry *e, embed_vit_config **pc);

/*
 * timm's eval transform for the entry (transforms_imagenet_eval,
 * crop_mode 'center'): resize the shorter side to
 * floor(img_size / crop_pct) with the entry's interpolation, centre crop
 * img_size, /255, normalise with mean/std.
 */
void embed_registry_preproc(const embed_registry_entry *e, embed_preproc *pp);

/*
 * The same for explicit values (shared with args.yaml overrides): a square
 * input of `img_size`, crop_pct in (0, 1], resample EMBED_RESAMPLE_*.  The
 * shorter side goes to floor(img_size / crop_pct) (timm's
 * `math.floor(img_size / crop_pct)`, torchvision Resize(int)).
 */
void embed_timm_preproc(embed_preproc *pp, int img_size, double crop_pct, int resample,
			const float mean[3], const float std[3]);

#endif
