/*
 * embed_config.h - a ViT's shape from config.json (transformers' ViTConfig)
 * and its input preprocessing from preprocessor_config.json.
 */
#ifndef EMBED_CONFIG_H
#define EMBED_CONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "embed/images/embed_preproc.h"

/* Activation of the MLP. */
enum {
	EMBED_ACT_GELU = 0,      /* exact erf GELU ("gelu") */
	EMBED_ACT_GELU_TANH = 1, /* tanh approximation ("gelu_new", "gelu_pytorch_tanh") */
};

/* Sane upper bounds for values read from a config file. */
#define EMBED_MAX_HIDDEN 16384
#define EMBED_MAX_LAYERS 256
#define EMBED_MAX_INTERMEDIATE 131072
#define EMBED_MAX_IMAGE 8192
#define EMBED_MAX_CHANNELS 16
#define EMBED_MAX_TOKENS 65536
#define EMBED_MAX_LABELS 1000000

typedef struct embed_vit_config {
	int hidden;          /* hidden_size D */
	int layers;          /* num_hidden_layers */
	int heads;           /* num_attention_heads (divides hidden) */
	int intermediate;    /* intermediate_size of the MLP */
	int image_w, image_h;/* image_size (input width and height in pixels) */
	int patch;           /* patch_size (square patches; a hybrid's projection
			      * kernel over its backbone's feature map) */
	int feature_stride;  /* 1, or a hybrid's backbone stride (4, 16, 32):
			      * the grid is about image / (stride * patch) */
	int channels;        /* num_channels */
	double ln_eps;       /* layer_norm_eps (ViTConfig default 1e-12) */
	int act;             /* EMBED_ACT_* from hidden_act */
	int qkv_bias;        /* query/key/value have biases */
	int prefix_tokens;   /* tokens before the patches: 1 (CLS), 2 with a
			      * distillation token (timm DeiT) */
	int global_pool;     /* pooling the classifier reads: EMBED_POOL_CLS
			      * (0: the class token, HF and timm 'token') or
			      * EMBED_POOL_MEAN (timm 'avg'); see embed_vit.h */
	int num_labels;      /* classifier outputs: the id2label count, 0 when
			      * the config has none; the model facade sets it to
			      * the head's size, 0 without a head */
	char **id2label;     /* num_labels names ordered by integer key */
	size_t n_arch;       /* number of `architectures` entries */
	char **architectures;/* n_arch class names ("ViTForImageClassification") */
} embed_vit_config;

/*
 * ViTConfig defaults (ViT-B/16 at 224, eps 1e-12, exact GELU, qkv bias, one
 * prefix token, no labels) into a zeroed struct it owns nothing of.
 */
void embed_vit_config_defaults(embed_vit_config *c);

/*
 * Parse a config.json held in memory (`name` used in messages): absent keys
 * take the ViTConfig defaults; mistyped keys, an unknown hidden_act, an
 * id2label whose keys are not exactly 0..n-1, or values failing
 * embed_vit_config_validate() are errors (VV_EFORMAT / VV_EUNSUPPORTED /
 * VV_EINVAL) naming the file.
 */
int embed_vit_config_parse(const char *name, const char *text, size_t len,
			   embed_vit_config **pc);

/* Read and parse a config.json file (VV_ENOTFOUND when it is missing). */
int embed_vit_config_load(const char *path, embed_vit_config **pc);

/*
 * Check the shape: everything positive, hidden divisible by heads, image
 * divisible by patch, within the EMBED_MAX_* bounds.  VV_EINVAL naming
 * `name` on failure.
 */
int embed_vit_config_validate(const embed_vit_config *c, const char *name);

/*
 * Parse an id2label object (keys exactly "0".."n-1" in any order, string
 * values) into c's labels (other families keep their labels in a config
 * too).  VV_EFORMAT / VV_EINVAL naming `name`.
 */
int embed_vit_config_parse_labels(const char *name, const cJSON *obj, embed_vit_config *c);

/* Replace the label names by `n` copies of names (NULL: "LABEL_<i>"). */
int embed_vit_config_set_labels(embed_vit_config *c, int n, char *const *names);

/* Free *pc and everything it owns; *pc becomes NULL (NULL-safe). */
void embed_vit_config_free(embed_vit_config **pc);

/*
 * ViTImageProcessor defaults for a model of this config: resize to exactly
 * image_w x image_h with BILINEAR, rescale 1/255, normalise mean = std = 0.5,
 * no crop.
 */
void embed_preproc_defaults(embed_preproc *pp, const embed_vit_config *c);

/*
 * Parse a preprocessor_config.json held in memory.  Both forms are read:
 * current (size {"height","width"} or {"shortest_edge"}, do_rescale,
 * rescale_factor, ...) and legacy ViTFeatureExtractor (size an integer, no
 * rescale keys: rescale 1/255 implied).  Absent keys take the
 * ViTImageProcessor defaults; do_center_crop/crop_size are honoured.
 */
int embed_preproc_parse(const char *name, const char *text, size_t len,
			const embed_vit_config *c, embed_preproc *pp);

/*
 * Read <path> (a preprocessor_config.json); a missing file gives the
 * defaults of embed_preproc_defaults() and a warning, not an error.
 */
int embed_preproc_load(const char *path, const embed_vit_config *c, embed_preproc *pp);

/*
 * The size of the tensor this preprocessing produces: 0 and *w, *h set, or
 * VV_EUNSUPPORTED when it depends on the image (shortest-edge resize
 * without a crop, or no resize and no crop).
 */
int embed_preproc_out_size(const embed_preproc *pp, int *w, int *h);

#endif
