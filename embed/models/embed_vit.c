/* embed_vit.c - ViT weights layout and forward pass (OpenBLAS). */
#include "embed/models/embed_vit.h"
#include "embed/models/embed_kernels.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "common/vv_thread.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest batch one forward call accepts. */
#define VIT_MAX_BATCH 65536
/* Most worker threads one forward call uses. */
#define VIT_MAX_WORKERS VV_MAX_THREADS

/* One worker's scratch, for B images (B = embed_vit.ws_cap). */
typedef struct vit_ws {
	float *x;              /* residual stream [B*T, D] */
	float *y;              /* LayerNorm output / attention context [B*T, D] */
	float *qkv;            /* [B*T, 3D]; also the patch GEMM output */
	float *h;              /* MLP hidden [B*T, M] */
	float *col;            /* im2col of the patches [B*Np, C*P*P] */
	float *att;            /* attention scores of one (image, head) [T, T],
				* then T floats: 1 / their row sums */
	float *feat;           /* hybrid: backbone feature maps [B, C', H', W'] */
	float *stem_ws;        /* hybrid: the backbone's scratch (one image) */
} vit_ws;

struct embed_vit {
	embed_vit_config cfg;  /* copy of the config (no labels, no architectures) */
	int ntok;              /* tokens per image: prefix + patches */
	int npatch;            /* patches per image */
	int gw, gh;            /* patch grid width and height */
	int cpp;               /* C' * P * P, one patch flattened */
	int in_c, in_h, in_w;  /* what the patch embedding reads: the image
				* (channels, height, width) or, hybrid, the
				* backbone's feature map */
	embed_resnetv2 *stem;  /* hybrid: the ResNetV2 backbone, else NULL */
	int num_labels;        /* classifier outputs, 0 without a head */
	float *w[EMBED_W_FIRST_LAYER_SLOT];     /* model-wide slots */
	float *(*lw)[EMBED_W_NLAYER_SLOTS];     /* per-layer slots, cfg.layers rows */
	unsigned char *has_ls; /* per layer: bit 0 LS1 loaded, bit 1 LS2 loaded */
	unsigned char loaded[EMBED_W_FIRST_LAYER_SLOT]; /* model-wide slots filled
							 * from the file */
	float *arena;          /* one allocation holding every slot */
	vit_ws *ws;            /* scratch of each worker thread */
	int nws;               /* workers the scratch is sized for */
	int ws_cap;            /* images each worker's scratch holds */
};

/* ------------------------------------------------------------------ */
/* Hugging Face names                                                  */

#define D2(a, b) 2, { a, b, 0, 0 }
#define D1(a) 1, { a, 0, 0, 0 }

static const char *const hf_prefixes[] = { "vit.", "", NULL };
static const char *const hf_ignore[] = { "pooler.", NULL };

static const embed_vit_name hf_names[] = {
	{ "embeddings.cls_token", EMBED_W_CLS, -1, 0, 3, { EMBED_DIM_1, EMBED_DIM_1, EMBED_DIM_D, 0 } },
	{ "embeddings.position_embeddings", EMBED_W_POS, -1, 0, 3,
	  { EMBED_DIM_1, EMBED_DIM_T, EMBED_DIM_D, 0 } },
	{ "embeddings.patch_embeddings.projection.weight", EMBED_W_PATCH_W, -1, 0, 4,
	  { EMBED_DIM_D, EMBED_DIM_C, EMBED_DIM_P, EMBED_DIM_P } },
	{ "embeddings.patch_embeddings.projection.bias", EMBED_W_PATCH_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.layernorm_before.weight", EMBED_W_LN1_W, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.layernorm_before.bias", EMBED_W_LN1_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attention.attention.query.weight", EMBED_W_QKV_W, 0, 0,
	  D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "encoder.layer.%d.attention.attention.key.weight", EMBED_W_QKV_W, 1, 0,
	  D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "encoder.layer.%d.attention.attention.value.weight", EMBED_W_QKV_W, 2, 0,
	  D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "encoder.layer.%d.attention.attention.query.bias", EMBED_W_QKV_B, 0, EMBED_NAME_QKV_BIAS,
	  D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attention.attention.key.bias", EMBED_W_QKV_B, 1, EMBED_NAME_QKV_BIAS,
	  D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attention.attention.value.bias", EMBED_W_QKV_B, 2, EMBED_NAME_QKV_BIAS,
	  D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attention.output.dense.weight", EMBED_W_PROJ_W, -1, 0,
	  D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "encoder.layer.%d.attention.output.dense.bias", EMBED_W_PROJ_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.layernorm_after.weight", EMBED_W_LN2_W, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.layernorm_after.bias", EMBED_W_LN2_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.intermediate.dense.weight", EMBED_W_FC1_W, -1, 0,
	  D2(EMBED_DIM_M, EMBED_DIM_D) },
	{ "encoder.layer.%d.intermediate.dense.bias", EMBED_W_FC1_B, -1, 0, D1(EMBED_DIM_M) },
	{ "encoder.layer.%d.output.dense.weight", EMBED_W_FC2_W, -1, 0, D2(EMBED_DIM_D, EMBED_DIM_M) },
	{ "encoder.layer.%d.output.dense.bias", EMBED_W_FC2_B, -1, 0, D1(EMBED_DIM_D) },
	{ "layernorm.weight", EMBED_W_NORM_W, -1, 0, D1(EMBED_DIM_D) },
	{ "layernorm.bias", EMBED_W_NORM_B, -1, 0, D1(EMBED_DIM_D) },
	{ "classifier.weight", EMBED_W_HEAD_W, -1, EMBED_NAME_ROOT | EMBED_NAME_HEAD,
	  D2(EMBED_DIM_L, EMBED_DIM_D) },
	{ "classifier.bias", EMBED_W_HEAD_B, -1, EMBED_NAME_ROOT | EMBED_NAME_HEAD, D1(EMBED_DIM_L) },
};

const embed_vit_naming embed_vit_naming_hf = {
	.what = "Hugging Face ViT",
	.prefixes = hf_prefixes,
	.probe = "embeddings.cls_token",
	.layer_fmt = "encoder.layer.%d.",
	.ignore = hf_ignore,
	.names = hf_names,
	.n = sizeof(hf_names) / sizeof(hf_names[0]),
};

/* ------------------------------------------------------------------ */
/* timm names                                                          */

static const char *const timm_prefixes[] = { "", NULL };
/* the hybrids' backbone is read by embed_resnetv2 */
static const char *const timm_ignore[] = { "patch_embed.backbone.", NULL };

static const embed_vit_name timm_names[] = {
	{ "cls_token", EMBED_W_CLS, -1, 0, 3, { EMBED_DIM_1, EMBED_DIM_1, EMBED_DIM_D, 0 } },
	{ "dist_token", EMBED_W_DIST, -1, EMBED_NAME_DIST, 3,
	  { EMBED_DIM_1, EMBED_DIM_1, EMBED_DIM_D, 0 } },
	{ "pos_embed", EMBED_W_POS, -1, 0, 3, { EMBED_DIM_1, EMBED_DIM_T, EMBED_DIM_D, 0 } },
	{ "patch_embed.proj.weight", EMBED_W_PATCH_W, -1, 0, 4,
	  { EMBED_DIM_D, EMBED_DIM_C, EMBED_DIM_P, EMBED_DIM_P } },
	{ "patch_embed.proj.bias", EMBED_W_PATCH_B, -1, 0, D1(EMBED_DIM_D) },
	{ "blocks.%d.norm1.weight", EMBED_W_LN1_W, -1, 0, D1(EMBED_DIM_D) },
	{ "blocks.%d.norm1.bias", EMBED_W_LN1_B, -1, 0, D1(EMBED_DIM_D) },
	{ "blocks.%d.attn.qkv.weight", EMBED_W_QKV_W, -1, 0, D2(EMBED_DIM_3D, EMBED_DIM_D) },
	{ "blocks.%d.attn.qkv.bias", EMBED_W_QKV_B, -1, EMBED_NAME_QKV_BIAS, D1(EMBED_DIM_3D) },
	{ "blocks.%d.attn.proj.weight", EMBED_W_PROJ_W, -1, 0, D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "blocks.%d.attn.proj.bias", EMBED_W_PROJ_B, -1, 0, D1(EMBED_DIM_D) },
	{ "blocks.%d.ls1.gamma", EMBED_W_LS1, -1, EMBED_NAME_OPTIONAL, D1(EMBED_DIM_D) },
	{ "blocks.%d.norm2.weight", EMBED_W_LN2_W, -1, 0, D1(EMBED_DIM_D) },
	{ "blocks.%d.norm2.bias", EMBED_W_LN2_B, -1, 0, D1(EMBED_DIM_D) },
	{ "blocks.%d.mlp.fc1.weight", EMBED_W_FC1_W, -1, 0, D2(EMBED_DIM_M, EMBED_DIM_D) },
	{ "blocks.%d.mlp.fc1.bias", EMBED_W_FC1_B, -1, 0, D1(EMBED_DIM_M) },
	{ "blocks.%d.mlp.fc2.weight", EMBED_W_FC2_W, -1, 0, D2(EMBED_DIM_D, EMBED_DIM_M) },
	{ "blocks.%d.mlp.fc2.bias", EMBED_W_FC2_B, -1, 0, D1(EMBED_DIM_D) },
	{ "blocks.%d.ls2.gamma", EMBED_W_LS2, -1, EMBED_NAME_OPTIONAL, D1(EMBED_DIM_D) },
	{ "norm.weight", EMBED_W_NORM_W, -1, EMBED_NAME_OPTIONAL, D1(EMBED_DIM_D) },
	{ "norm.bias", EMBED_W_NORM_B, -1, EMBED_NAME_OPTIONAL, D1(EMBED_DIM_D) },
	{ "fc_norm.weight", EMBED_W_FCNORM_W, -1, EMBED_NAME_OPTIONAL, D1(EMBED_DIM_D) },
	{ "fc_norm.bias", EMBED_W_FCNORM_B, -1, EMBED_NAME_OPTIONAL, D1(EMBED_DIM_D) },
	{ "pre_logits.fc.weight", EMBED_W_PRELOGITS_W, -1, EMBED_NAME_OPTIONAL,
	  D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "pre_logits.fc.bias", EMBED_W_PRELOGITS_B, -1, EMBED_NAME_OPTIONAL, D1(EMBED_DIM_D) },
	{ "head.weight", EMBED_W_HEAD_W, -1, EMBED_NAME_HEAD, D2(EMBED_DIM_L, EMBED_DIM_D) },
	{ "head.bias", EMBED_W_HEAD_B, -1, EMBED_NAME_HEAD, D1(EMBED_DIM_L) },
	{ "head_dist.weight", EMBED_W_HEAD_DIST_W, -1, EMBED_NAME_HEAD | EMBED_NAME_DIST,
	  D2(EMBED_DIM_L, EMBED_DIM_D) },
	{ "head_dist.bias", EMBED_W_HEAD_DIST_B, -1, EMBED_NAME_HEAD | EMBED_NAME_DIST,
	  D1(EMBED_DIM_L) },
};

const embed_vit_naming embed_vit_naming_timm = {
	.what = "timm ViT",
	.prefixes = timm_prefixes,
	.probe = "cls_token",
	.layer_fmt = "blocks.%d.",
	.ignore = timm_ignore,
	.names = timm_names,
	.n = sizeof(timm_names) / sizeof(timm_names[0]),
};

/* ------------------------------------------------------------------ */
/* jeonsworld/ViT-pytorch names                                        */

static const char *const jw_prefixes[] = { "transformer.", NULL };
/* the hybrid's backbone is read by embed_resnetv2 */
static const char *const jw_ignore[] = { "embeddings.hybrid_model.", NULL };

static const embed_vit_name jw_names[] = {
	{ "embeddings.cls_token", EMBED_W_CLS, -1, 0, 3, { EMBED_DIM_1, EMBED_DIM_1, EMBED_DIM_D, 0 } },
	{ "embeddings.position_embeddings", EMBED_W_POS, -1, 0, 3,
	  { EMBED_DIM_1, EMBED_DIM_T, EMBED_DIM_D, 0 } },
	{ "embeddings.patch_embeddings.weight", EMBED_W_PATCH_W, -1, 0, 4,
	  { EMBED_DIM_D, EMBED_DIM_C, EMBED_DIM_P, EMBED_DIM_P } },
	{ "embeddings.patch_embeddings.bias", EMBED_W_PATCH_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attention_norm.weight", EMBED_W_LN1_W, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attention_norm.bias", EMBED_W_LN1_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attn.query.weight", EMBED_W_QKV_W, 0, 0, D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "encoder.layer.%d.attn.key.weight", EMBED_W_QKV_W, 1, 0, D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "encoder.layer.%d.attn.value.weight", EMBED_W_QKV_W, 2, 0, D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "encoder.layer.%d.attn.query.bias", EMBED_W_QKV_B, 0, EMBED_NAME_QKV_BIAS, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attn.key.bias", EMBED_W_QKV_B, 1, EMBED_NAME_QKV_BIAS, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attn.value.bias", EMBED_W_QKV_B, 2, EMBED_NAME_QKV_BIAS, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.attn.out.weight", EMBED_W_PROJ_W, -1, 0, D2(EMBED_DIM_D, EMBED_DIM_D) },
	{ "encoder.layer.%d.attn.out.bias", EMBED_W_PROJ_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.ffn_norm.weight", EMBED_W_LN2_W, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.ffn_norm.bias", EMBED_W_LN2_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.layer.%d.ffn.fc1.weight", EMBED_W_FC1_W, -1, 0, D2(EMBED_DIM_M, EMBED_DIM_D) },
	{ "encoder.layer.%d.ffn.fc1.bias", EMBED_W_FC1_B, -1, 0, D1(EMBED_DIM_M) },
	{ "encoder.layer.%d.ffn.fc2.weight", EMBED_W_FC2_W, -1, 0, D2(EMBED_DIM_D, EMBED_DIM_M) },
	{ "encoder.layer.%d.ffn.fc2.bias", EMBED_W_FC2_B, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.encoder_norm.weight", EMBED_W_NORM_W, -1, 0, D1(EMBED_DIM_D) },
	{ "encoder.encoder_norm.bias", EMBED_W_NORM_B, -1, 0, D1(EMBED_DIM_D) },
	{ "head.weight", EMBED_W_HEAD_W, -1, EMBED_NAME_ROOT | EMBED_NAME_HEAD,
	  D2(EMBED_DIM_L, EMBED_DIM_D) },
	{ "head.bias", EMBED_W_HEAD_B, -1, EMBED_NAME_ROOT | EMBED_NAME_HEAD, D1(EMBED_DIM_L) },
};

const embed_vit_naming embed_vit_naming_jeonsworld = {
	.what = "jeonsworld/ViT-pytorch ViT",
	.prefixes = jw_prefixes,
	.probe = "embeddings.cls_token",
	.layer_fmt = "encoder.layer.%d.",
	.ignore = jw_ignore,
	.names = jw_names,
	.n = sizeof(jw_names) / sizeof(jw_names[0]),
};

/* ------------------------------------------------------------------ */
/* Building                                                            */

/* Number of floats a slot holds. */
static size_t
slot_numel(const embed_vit *m, int slot)
{
	size_t d = (size_t)m->cfg.hidden, mm = (size_t)m->cfg.intermediate;

	switch (slot) {
	case EMBED_W_POS:
		return (size_t)m->ntok * d;
	case EMBED_W_PATCH_W:
		return d * (size_t)m->cpp;
	case EMBED_W_HEAD_W:
		return (size_t)m->num_labels * d;
	case EMBED_W_HEAD_B:
		return (size_t)m->num_labels;
	case EMBED_W_QKV_W:
		return 3 * d * d;
	case EMBED_W_QKV_B:
		return 3 * d;
	case EMBED_W_PROJ_W:
		return d * d;
	case EMBED_W_FC1_W:
	case EMBED_W_FC2_W:
		return mm * d;
	case EMBED_W_FC1_B:
		return mm;
	case EMBED_W_DIST:
		return m->cfg.prefix_tokens > 1 ? d : 0;
	case EMBED_W_HEAD_DIST_W:
		return m->cfg.prefix_tokens > 1 ? (size_t)m->num_labels * d : 0;
	case EMBED_W_HEAD_DIST_B:
		return m->cfg.prefix_tokens > 1 ? (size_t)m->num_labels : 0;
	case EMBED_W_PRELOGITS_W:
		return d * d;
	default:
		return d;
	}
}

static int64_t
dim_value(const embed_vit *m, int code)
{
	switch (code) {
	case EMBED_DIM_1: return 1;
	case EMBED_DIM_D: return m->cfg.hidden;
	case EMBED_DIM_3D: return 3 * (int64_t)m->cfg.hidden;
	case EMBED_DIM_M: return m->cfg.intermediate;
	case EMBED_DIM_T: return m->ntok;
	case EMBED_DIM_C: return m->in_c;
	case EMBED_DIM_P: return m->cfg.patch;
	case EMBED_DIM_L: return m->num_labels;
	default: return -1;
	}
}

/* "[a, b, c]" into buf. */
static const char *
shape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
	size_t o = 0;
	int i;

	o += (size_t)snprintf(buf + o, size - o, "[");
	for (i = 0; i < ndim && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
	if (o < size)
		snprintf(buf + o, size - o, "]");
	return buf;
}

/* The full file name of entry `e` for layer `layer`. */
static void
entry_name(char *buf, size_t size, const char *prefix, const embed_vit_name *e, int layer)
{
	char tail[256];

	if (e->slot >= EMBED_W_FIRST_LAYER_SLOT)
		snprintf(tail, sizeof(tail), e->fmt, layer);
	else
		snprintf(tail, sizeof(tail), "%s", e->fmt);
	snprintf(buf, size, "%s%s", (e->flags & EMBED_NAME_ROOT) ? "" : prefix, tail);
}

/* Layer index of a tensor name (prefix + layer_fmt), or -1. */
static long
layer_of(const char *name, const char *prefix, const char *layer_fmt)
{
	const char *pct = strstr(layer_fmt, "%d"), *p, *tail;
	size_t np = strlen(prefix), nh = (size_t)(pct - layer_fmt);
	long v = 0;

	if (strncmp(name, prefix, np) || strncmp(name + np, layer_fmt, nh))
		return -1;
	p = name + np + nh;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		if (v > 1000000)
			return -1;
	}
	tail = pct + 2;
	return strncmp(p, tail, strlen(tail)) ? -1 : v;
}

/*
 * Fill one slot (or part) from tensor `name`; `used` marks consumed tensors;
 * `consume`: free the tensor's data once copied.
 */
static int
load_entry(embed_vit *m, const embed_tensors *t, const embed_vit_name *e, const char *name,
	   float *dst, const char *source, unsigned char *used, int consume)
{
	const embed_tensor *x = embed_tensors_find(t, name);
	int64_t want[4];
	char a[96], b[96];
	size_t n;
	int i, ok;

	for (i = 0; i < e->ndim; i++)
		want[i] = dim_value(m, e->dims[i]);
	if (!x)
		return vv_error(VV_ENOTFOUND, "%s: tensor %s is missing (the config expects "
				"shape %s)", source, name, shape_str(a, sizeof(a), e->ndim, want));
	ok = x->ndim == e->ndim;
	for (i = 0; ok && i < e->ndim; i++)
		ok = x->shape[i] == want[i];
	if (!ok)
		return vv_error(VV_EMISMATCH, "%s: tensor %s has shape %s, the config expects %s",
				source, name, shape_str(a, sizeof(a), x->ndim, x->shape),
				shape_str(b, sizeof(b), e->ndim, want));
	n = (size_t)embed_tensor_numel(x);
	if (e->part >= 0)
		dst += (size_t)e->part * n;
	if (!x->data)
		return vv_error(VV_EINVAL, "%s: tensor %s is used twice", source, name);
	memcpy(dst, x->data, n * sizeof(float));
	used[x - t->v] = 1;
	if (consume) {
		/* the caller gave us t (embed_vit_build_consume) */
		free(((embed_tensor *)x)->data);
		((embed_tensor *)x)->data = NULL;
	}
	return 0;
}

static int
entry_required(const embed_vit *m, const embed_vit_name *e)
{
	if (e->flags & EMBED_NAME_OPTIONAL)
		return 0;
	if ((e->flags & EMBED_NAME_HEAD) && !m->num_labels)
		return 0;
	if ((e->flags & EMBED_NAME_QKV_BIAS) && !m->cfg.qkv_bias)
		return 0;
	if ((e->flags & EMBED_NAME_DIST) && m->cfg.prefix_tokens < 2)
		return 0;
	return 1;
}

/* Pick the prefix, count layers, size the head. */
static int
inspect(embed_vit *m, const embed_tensors *t, const embed_vit_naming *nm, const char *source,
	const char **prefix)
{
	char name[320];
	long maxl = -1, l;
	size_t i;
	int k;

	*prefix = NULL;
	for (k = 0; nm->prefixes[k]; k++) {
		snprintf(name, sizeof(name), "%s%s", nm->prefixes[k], nm->probe);
		if (embed_tensors_find(t, name)) {
			*prefix = nm->prefixes[k];
			break;
		}
	}
	if (!*prefix)
		return vv_error(VV_ENOTFOUND, "%s: no %s weights (no tensor %s%s, %zu tensors "
				"in the file)", source, nm->what, nm->prefixes[0], nm->probe, t->n);
	for (i = 0; i < t->n; i++) {
		l = layer_of(t->v[i].name, *prefix, nm->layer_fmt);
		if (l > maxl)
			maxl = l;
	}
	if (maxl + 1 != m->cfg.layers)
		return vv_error(VV_EMISMATCH, "%s: the weights have %ld layers but the config "
				"says num_hidden_layers %d", source, maxl + 1, m->cfg.layers);
	/* the head's size comes from its weight */
	m->num_labels = 0;
	for (i = 0; i < nm->n; i++) {
		const embed_vit_name *e = &nm->names[i];
		const embed_tensor *x;

		if (e->slot != EMBED_W_HEAD_W)
			continue;
		entry_name(name, sizeof(name), *prefix, e, 0);
		x = embed_tensors_find(t, name);
		if (x && x->ndim == e->ndim && x->ndim >= 1 && x->shape[0] > 0 &&
		    x->shape[0] <= EMBED_MAX_LABELS)
			m->num_labels = (int)x->shape[0];
		else if (x)
			return vv_error(VV_EMISMATCH, "%s: classifier tensor %s has a bad shape",
					source, name);
	}
	return 0;
}

static int
alloc_arena(embed_vit *m)
{
	size_t total = 0, s, n;
	float *p;
	int l;

	for (s = 0; s < EMBED_W_FIRST_LAYER_SLOT; s++)
		total += slot_numel(m, (int)s);
	for (s = EMBED_W_FIRST_LAYER_SLOT; s < EMBED_W_NSLOTS; s++)
		total += slot_numel(m, (int)s) * (size_t)m->cfg.layers;
	m->arena = calloc(total ? total : 1, sizeof(float));
	m->lw = calloc((size_t)m->cfg.layers, sizeof(*m->lw));
	m->has_ls = calloc((size_t)m->cfg.layers, 1);
	if (!m->arena || !m->lw || !m->has_ls)
		return vv_error(VV_ENOMEM, "out of memory for %zu weights", total);
	p = m->arena;
	for (s = 0; s < EMBED_W_FIRST_LAYER_SLOT; s++) {
		n = slot_numel(m, (int)s);
		m->w[s] = n ? p : NULL;
		p += n;
	}
	for (l = 0; l < m->cfg.layers; l++)
		for (s = EMBED_W_FIRST_LAYER_SLOT; s < EMBED_W_NSLOTS; s++) {
			m->lw[l][s - EMBED_W_FIRST_LAYER_SLOT] = p;
			p += slot_numel(m, (int)s);
		}
	return 0;
}

static float *
slot_ptr(embed_vit *m, int slot, int layer)
{
	return slot >= EMBED_W_FIRST_LAYER_SLOT ? m->lw[layer][slot - EMBED_W_FIRST_LAYER_SLOT]
						: m->w[slot];
}

/* One warning for tensors nothing consumed (other than nm->ignore). */
static void
warn_unused(const embed_tensors *t, const unsigned char *used, const char *prefix,
	    const embed_vit_naming *nm, const char *source)
{
	size_t i, cnt = 0, np = strlen(prefix);
	const char *first = NULL;
	int k;

	for (i = 0; i < t->n; i++) {
		const char *nmv = t->v[i].name;
		int ign = 0;

		if (used[i])
			continue;
		if (!strncmp(nmv, prefix, np))
			nmv += np;
		for (k = 0; nm->ignore && nm->ignore[k]; k++)
			if (!strncmp(nmv, nm->ignore[k], strlen(nm->ignore[k])))
				ign = 1;
		if (ign)
			continue;
		if (!first)
			first = t->v[i].name;
		cnt++;
	}
	if (cnt)
		vv_warn("%s: %zu tensor%s not used by the %s model (first: %s)", source, cnt,
			cnt > 1 ? "s" : "", nm->what, first);
}

/*
 * An optional final norm (timm) may be missing only when the model has
 * fc_norm instead; name the tensor that is missing otherwise.
 */
static int
check_final_norm(const embed_vit *m, const embed_vit_naming *nm, const char *prefix,
		 const char *source)
{
	char name[320];
	size_t i;

	if (m->loaded[EMBED_W_NORM_W] || m->loaded[EMBED_W_FCNORM_W])
		return 0;
	for (i = 0; i < nm->n; i++)
		if (nm->names[i].slot == EMBED_W_NORM_W) {
			entry_name(name, sizeof(name), prefix, &nm->names[i], 0);
			return vv_error(VV_ENOTFOUND, "%s: tensor %s is missing (and no fc_norm "
					"either: the model has no final LayerNorm)", source, name);
		}
	return 0;
}

static int
build(const embed_vit_config *c, const embed_tensors *t, const embed_vit_naming *nm,
      const char *source, embed_vit **pm, int consume, embed_resnetv2 *stem)
{
	embed_vit *m;
	unsigned char *used = NULL;
	const char *prefix;
	char name[320];
	size_t i;
	int err, l;

	*pm = NULL;
	err = embed_vit_config_validate(c, source);
	if (err) {
		embed_resnetv2_free(&stem);
		return err;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		embed_resnetv2_free(&stem);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	m->cfg = *c;
	m->cfg.id2label = NULL;
	m->cfg.num_labels = 0;
	m->cfg.architectures = NULL;
	m->cfg.n_arch = 0;
	m->stem = stem;
	if (stem) {
		embed_resnetv2_out_shape(stem, &m->in_c, &m->in_h, &m->in_w);
		if (m->in_h % c->patch || m->in_w % c->patch) {
			/* timm's HybridEmbed asserts this too */
			err = vv_error(VV_EMISMATCH, "%s: the backbone's %dx%d feature map is not a "
				       "multiple of the patch size %d", source, m->in_w, m->in_h,
				       c->patch);
			goto out_free;
		}
	} else {
		m->in_c = c->channels;
		m->in_h = c->image_h;
		m->in_w = c->image_w;
	}
	m->gw = m->in_w / c->patch;
	m->gh = m->in_h / c->patch;
	m->npatch = m->gw * m->gh;
	m->ntok = m->npatch + c->prefix_tokens;
	m->cpp = m->in_c * c->patch * c->patch;
	err = inspect(m, t, nm, source, &prefix);
	if (err)
		goto out_free;
	m->cfg.num_labels = m->num_labels;
	err = alloc_arena(m);
	if (err)
		goto out_free;
	used = calloc(t->n ? t->n : 1, 1);
	if (!used) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	for (i = 0; i < nm->n; i++) {
		const embed_vit_name *e = &nm->names[i];
		int per_layer = e->slot >= EMBED_W_FIRST_LAYER_SLOT;

		for (l = 0; l < (per_layer ? m->cfg.layers : 1); l++) {
			entry_name(name, sizeof(name), prefix, e, l);
			if (!entry_required(m, e) && !embed_tensors_find(t, name))
				continue;
			if ((e->flags & EMBED_NAME_HEAD) && !m->num_labels)
				continue;
			if (e->slot == EMBED_W_DIST && m->cfg.prefix_tokens < 2)
				continue;
			if (!per_layer && !slot_numel(m, e->slot))
				continue; /* head_dist without a distillation token */
			err = load_entry(m, t, e, name, slot_ptr(m, e->slot, l), source, used,
					 consume);
			if (err)
				goto out_free;
			if (!per_layer)
				m->loaded[e->slot] = 1;
			if (e->slot == EMBED_W_LS1)
				m->has_ls[l] |= 1;
			if (e->slot == EMBED_W_LS2)
				m->has_ls[l] |= 2;
		}
	}
	err = check_final_norm(m, nm, prefix, source);
	if (err)
		goto out_free;
	warn_unused(t, used, prefix, nm, source);
	free(used);
	*pm = m;
	return 0;
out_free:
	free(used);
	embed_vit_free(&m);
	return err;
}

int
embed_vit_build(const embed_vit_config *c, const embed_tensors *t,
		const embed_vit_naming *nm, const char *source, embed_vit **pm)
{
	return build(c, t, nm, source, pm, 0, NULL);
}

int
embed_vit_build_consume(const embed_vit_config *c, embed_tensors *t,
			const embed_vit_naming *nm, const char *source, embed_vit **pm)
{
	return build(c, t, nm, source, pm, 1, NULL);
}

int
embed_vit_build_hybrid(const embed_vit_config *c, embed_resnetv2 *stem, embed_tensors *t,
		       const embed_vit_naming *nm, const char *source, embed_vit **pm)
{
	return build(c, t, nm, source, pm, 1, stem);
}

const embed_resnetv2 *
embed_vit_stem(const embed_vit *m)
{
	return m->stem;
}

int
embed_vit_num_labels(const embed_vit *m)
{
	return m->num_labels;
}

int
embed_vit_dim(const embed_vit *m)
{
	return m->cfg.hidden;
}

static void
free_scratch(embed_vit *m)
{
	int i;

	for (i = 0; i < m->nws; i++) {
		vit_ws *w = &m->ws[i];

		free(w->x);
		free(w->y);
		free(w->qkv);
		free(w->h);
		free(w->col);
		free(w->att);
		free(w->feat);
		free(w->stem_ws);
	}
	free(m->ws);
	m->ws = NULL;
	m->nws = m->ws_cap = 0;
}

void
embed_vit_free(embed_vit **pm)
{
	embed_vit *m = *pm;

	if (!m)
		return;
	free_scratch(m);
	free(m->arena);
	free(m->lw);
	free(m->has_ls);
	embed_resnetv2_free(&m->stem);
	free(m);
	*pm = NULL;
}

/* ------------------------------------------------------------------ */
/* Forward pass                                                        */

static float *
alloc_floats(size_t n)
{
	void *p = NULL;
	size_t bytes = n * sizeof(float);

	bytes = (bytes + 63) & ~(size_t)63;
	if (posix_memalign(&p, 64, bytes ? bytes : 64))
		return NULL;
	return p;
}

/* Scratch for `nws` workers of `per` images each. */
static int
ensure_scratch(embed_vit *m, int nws, int per)
{
	size_t rows, d = (size_t)m->cfg.hidden;
	int i;

	if (per <= m->ws_cap && nws <= m->nws)
		return 0;
	if (per < m->ws_cap)
		per = m->ws_cap;
	rows = (size_t)per * (size_t)m->ntok;
	free_scratch(m);
	m->ws = calloc((size_t)nws, sizeof(*m->ws));
	if (!m->ws)
		goto nomem;
	m->nws = nws;
	for (i = 0; i < nws; i++) {
		vit_ws *w = &m->ws[i];

		/* the patch GEMM writes B*Np x D into qkv, which holds B*T x 3D */
		w->x = alloc_floats(rows * d);
		w->y = alloc_floats(rows * d);
		w->qkv = alloc_floats(rows * 3 * d);
		w->h = alloc_floats(rows * (size_t)m->cfg.intermediate);
		w->col = alloc_floats((size_t)per * (size_t)m->npatch * (size_t)m->cpp);
		w->att = alloc_floats((size_t)m->ntok * ((size_t)m->ntok + 1));
		if (!w->x || !w->y || !w->qkv || !w->h || !w->col || !w->att)
			goto nomem;
		if (m->stem) {
			w->feat = alloc_floats((size_t)per * m->in_c * m->in_h * m->in_w);
			w->stem_ws = alloc_floats(embed_resnetv2_scratch_floats(m->stem));
			if (!w->feat || !w->stem_ws)
				goto nomem;
		}
	}
	m->ws_cap = per;
	return 0;
nomem:
	free_scratch(m);
	return vv_error(VV_ENOMEM, "out of memory for %d x %d images", nws, per);
}

/* out[rows, n] = in[rows, k] W^T (W [n, k]) + beta * out */
static void
linear(const float *in, size_t rows, int k, const float *w, int n, float beta, float *out)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, n, k, 1.0f, in, k,
		    w, k, beta, out, n);
}

/* Every one of `rows` rows of n = b (the bias, before a beta = 1 GEMM). */
static void
fill_rows(float *y, size_t rows, int n, const float *b)
{
	size_t r;

	for (r = 0; r < rows; r++, y += n)
		memcpy(y, b, (size_t)n * sizeof(float));
}

static void
bias_gelu(float *y, size_t rows, int n, const float *b, int act)
{
	const float k = 0.7978845608028654f; /* sqrt(2/pi) */
	size_t r;
	int i;

	if (act == EMBED_ACT_GELU) {
		embed_kernels_bias_gelu(y, rows, n, b);
		return;
	}
	for (r = 0; r < rows; r++, y += n)
		for (i = 0; i < n; i++) {
			float v = y[i] + b[i];

			y[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
		}
}

/*
 * Patch embedding, class/distillation tokens and position embeddings into
 * ws->x; `pixels`: B x in_c x in_h x in_w (the images, or a hybrid's
 * feature maps).
 */
static void
embed_patches(const embed_vit *m, vit_ws *ws, const float *pixels, int batch)
{
	const int c = m->in_c, p = m->cfg.patch, d = m->cfg.hidden;
	const int iw = m->in_w, ih = m->in_h, pre = m->cfg.prefix_tokens;
	const size_t img = (size_t)c * ih * iw;
	const float *pos = m->w[EMBED_W_POS];
	int b, gy, gx, ch, ky, t, i;
	float *col = ws->col;

	/* im2col: one row per patch, columns ordered (channel, ky, kx) as the
	 * conv weight [D, C, P, P] flattens */
	for (b = 0; b < batch; b++)
		for (gy = 0; gy < m->gh; gy++)
			for (gx = 0; gx < m->gw; gx++)
				for (ch = 0; ch < c; ch++)
					for (ky = 0; ky < p; ky++) {
						const float *src = pixels + b * img +
							((size_t)ch * ih + (size_t)gy * p + ky) * iw +
							(size_t)gx * p;

						memcpy(col, src, (size_t)p * sizeof(float));
						col += p;
					}
	linear(ws->col, (size_t)batch * m->npatch, m->cpp, m->w[EMBED_W_PATCH_W], d, 0.0f, ws->qkv);
	for (b = 0; b < batch; b++) {
		float *xb = ws->x + (size_t)b * m->ntok * d;

		for (i = 0; i < d; i++) {
			xb[i] = m->w[EMBED_W_CLS][i] + pos[i];
			if (pre > 1)
				xb[d + i] = m->w[EMBED_W_DIST][i] + pos[d + i];
		}
		for (t = pre; t < m->ntok; t++) {
			const float *pr = ws->qkv + ((size_t)b * m->npatch + (t - pre)) * d;
			float *xr = xb + (size_t)t * d;
			const float *pt = pos + (size_t)t * d;

			for (i = 0; i < d; i++)
				xr[i] = pr[i] + m->w[EMBED_W_PATCH_B][i] + pt[i];
		}
	}
}

/* Multi-head self-attention of ws->qkv into ws->y (context, heads side by side). */
static void
attention(const embed_vit *m, vit_ws *ws, int batch)
{
	const int d = m->cfg.hidden, nh = m->cfg.heads, hd = d / nh, t = m->ntok;
	const int ld = 3 * d;
	const float alpha = (float)(1.0 / sqrt((double)hd));
	float *rinv = ws->att + (size_t)t * t; /* 1 / row sums, T floats */
	/* p V: the AVX-512 kernel beats sgemm (T = 197, hd = 64: 38 vs 42 us
	 * alone, 2-5% of the whole ViT-Ti/16 pass); the AVX2 one (77 vs 54 us
	 * with OpenBLAS's Haswell kernels) and plain C do not */
	const int av_kernel = embed_kernels_level() == EMBED_KERNELS_AVX512;
	int b, h;

	for (b = 0; b < batch; b++) {
		const float *qb = ws->qkv + (size_t)b * t * ld;

		for (h = 0; h < nh; h++) {
			const float *q = qb + h * hd, *k = q + d, *v = q + 2 * d;
			float *ctx = ws->y + (size_t)b * t * d + h * hd;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, hd, alpha,
				    q, ld, k, ld, 0.0f, ws->att, t);
			/* softmax with its 1 / sum applied to the T x hd context rather
			 * than to the T x T scores */
			embed_kernels_softmax_exp(ws->att, (size_t)t, t, (size_t)t, rinv);
			if (av_kernel) {
				embed_kernels_attn_av(ws->att, (size_t)t, v, (size_t)ld, rinv,
						      (size_t)t, hd, ctx, (size_t)d);
			} else {
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, hd, t,
					    1.0f, ws->att, t, v, ld, 0.0f, ctx, d);
				embed_kernels_scale_rows(ctx, (size_t)t, hd, (size_t)d, rinv);
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* timm heads: optional final norm, fc_norm, avg pooling, distillation  */

/* 1 when the end of the forward pass is more than "LayerNorm, take CLS". */
static int
needs_timm_head(const embed_vit *m, int pool)
{
	return pool == EMBED_POOL_HEAD || m->cfg.global_pool != EMBED_POOL_CLS ||
	       m->cfg.prefix_tokens > 1 || m->loaded[EMBED_W_FCNORM_W] ||
	       !m->loaded[EMBED_W_NORM_W] || m->loaded[EMBED_W_PRELOGITS_W];
}

/*
 * `feat` (B x D) = what timm's forward_head(pre_logits=True) returns from
 * the final hidden states `y` (B x T x D, after `norm` when present):
 * pool ('token': CLS, distilled: (CLS + dist) / 2, 'avg': mean of the
 * patch tokens), then fc_norm when present, then the representation layer
 * tanh(pre_logits.fc(.)) when present and `rep` (`tmp`: B x D scratch).
 */
static void
timm_head_features(const embed_vit *m, const float *y, int batch, float *feat, int pool,
		   int rep, float *tmp)
{
	const int d = m->cfg.hidden, pre = m->cfg.prefix_tokens, t = m->ntok;
	int b, i, k;

	for (b = 0; b < batch; b++) {
		const float *yb = y + (size_t)b * t * d;
		float *f = feat + (size_t)b * d;

		if (pool == EMBED_POOL_MEAN) {
			memset(f, 0, (size_t)d * sizeof(float));
			for (k = pre; k < t; k++)
				for (i = 0; i < d; i++)
					f[i] += yb[(size_t)k * d + i];
			for (i = 0; i < d; i++)
				f[i] /= (float)(t - pre);
		} else if (pre > 1) {
			for (i = 0; i < d; i++)
				f[i] = (yb[i] + yb[d + i]) / 2;
		} else {
			memcpy(f, yb, (size_t)d * sizeof(float));
		}
	}
	if (m->loaded[EMBED_W_FCNORM_W])
		embed_kernels_layernorm(feat, d, feat, d, (size_t)batch, d, m->w[EMBED_W_FCNORM_W],
					m->w[EMBED_W_FCNORM_B], m->cfg.ln_eps);
	if (rep && m->loaded[EMBED_W_PRELOGITS_W]) {
		size_t i, n = (size_t)batch * d;

		linear(feat, (size_t)batch, d, m->w[EMBED_W_PRELOGITS_W], d, 0.0f, tmp);
		embed_kernels_add_bias(tmp, (size_t)batch, d, m->w[EMBED_W_PRELOGITS_B]);
		for (i = 0; i < n; i++)
			feat[i] = tanhf(tmp[i]);
	}
}

/* The end of the forward pass for timm models (see needs_timm_head()). */
static void
timm_head(const embed_vit *m, vit_ws *ws, int batch, int pool, float *emb, float *logits)
{
	const int d = m->cfg.hidden, t = m->ntok, nl = m->num_labels;
	const size_t rows = (size_t)batch * t;
	float *feat = ws->qkv; /* B x D fits in the B x T x 3D scratch */
	int b;

	if (m->loaded[EMBED_W_NORM_W])
		embed_kernels_layernorm(ws->x, d, ws->y, d, rows, d, m->w[EMBED_W_NORM_W],
					m->w[EMBED_W_NORM_B], m->cfg.ln_eps);
	else
		memcpy(ws->y, ws->x, rows * d * sizeof(float));
	/* the embedding */
	if (pool == EMBED_POOL_CLS) {
		for (b = 0; b < batch; b++)
			memcpy(emb + (size_t)b * d, ws->y + (size_t)b * t * d, (size_t)d * sizeof(float));
	} else {
		timm_head_features(m, ws->y, batch, emb,
				   pool == EMBED_POOL_MEAN ? EMBED_POOL_MEAN : m->cfg.global_pool,
				   pool == EMBED_POOL_HEAD, ws->h);
	}
	if (!logits || !nl)
		return;
	if (m->cfg.prefix_tokens > 1 && m->cfg.global_pool == EMBED_POOL_CLS) {
		/* (head(CLS) + head_dist(dist)) / 2; rows strided by T*D */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, nl, d, 0.5f, ws->y,
			    t * d, m->w[EMBED_W_HEAD_W], d, 0.0f, logits, nl);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, nl, d, 0.5f, ws->y + d,
			    t * d, m->w[EMBED_W_HEAD_DIST_W], d, 1.0f, logits, nl);
		for (b = 0; b < batch; b++) {
			float *lr = logits + (size_t)b * nl;
			int i;

			for (i = 0; i < nl; i++)
				lr[i] += 0.5f * (m->w[EMBED_W_HEAD_B][i] + m->w[EMBED_W_HEAD_DIST_B][i]);
		}
		return;
	}
	timm_head_features(m, ws->y, batch, feat, m->cfg.global_pool, 1, ws->h);
	linear(feat, (size_t)batch, d, m->w[EMBED_W_HEAD_W], nl, 0.0f, logits);
	embed_kernels_add_bias(logits, (size_t)batch, nl, m->w[EMBED_W_HEAD_B]);
}

/* The forward pass of `batch` images on one worker's scratch `ws`. */
static void
forward_part(const embed_vit *m, vit_ws *ws, const float *pixels, int batch, int pool,
	     float *emb, float *logits)
{
	const int d = m->cfg.hidden, mi = m->cfg.intermediate, pre = m->cfg.prefix_tokens;
	const double eps = m->cfg.ln_eps;
	const float *pend = NULL;
	size_t rows;
	int l, b, i, t;

	rows = (size_t)batch * m->ntok;
	if (m->stem) {
		const size_t img = (size_t)m->cfg.channels * m->cfg.image_h * m->cfg.image_w;
		const size_t fs = (size_t)m->in_c * m->in_h * m->in_w;

		for (b = 0; b < batch; b++)
			embed_resnetv2_forward(m->stem, pixels + (size_t)b * img, ws->stem_ws,
					       ws->feat + (size_t)b * fs);
		pixels = ws->feat;
	}
	embed_patches(m, ws, pixels, batch);
	for (l = 0; l < m->cfg.layers; l++) {
		float *const *w = m->lw[l];
#define LW(s) w[(s) - EMBED_W_FIRST_LAYER_SLOT]
		const float *ls1 = (m->has_ls[l] & 1) ? LW(EMBED_W_LS1) : NULL;
		const float *ls2 = (m->has_ls[l] & 2) ? LW(EMBED_W_LS2) : NULL;

		/* attention block; `pend`: the residual's bias, added by the next
		 * LayerNorm's first pass */
		embed_kernels_bias_layernorm(ws->x, d, ws->y, d, rows, d, pend, LW(EMBED_W_LN1_W),
					     LW(EMBED_W_LN1_B), eps);
		fill_rows(ws->qkv, rows, 3 * d, LW(EMBED_W_QKV_B));
		linear(ws->y, rows, d, LW(EMBED_W_QKV_W), 3 * d, 1.0f, ws->qkv);
		attention(m, ws, batch);
		pend = NULL;
		if (ls1) {
			linear(ws->y, rows, d, LW(EMBED_W_PROJ_W), d, 0.0f, ws->qkv);
			embed_kernels_residual(ws->x, ws->qkv, rows, d, LW(EMBED_W_PROJ_B), ls1);
		} else {
			linear(ws->y, rows, d, LW(EMBED_W_PROJ_W), d, 1.0f, ws->x);
			pend = LW(EMBED_W_PROJ_B);
		}
		/* MLP block */
		embed_kernels_bias_layernorm(ws->x, d, ws->y, d, rows, d, pend, LW(EMBED_W_LN2_W),
					     LW(EMBED_W_LN2_B), eps);
		linear(ws->y, rows, d, LW(EMBED_W_FC1_W), mi, 0.0f, ws->h);
		bias_gelu(ws->h, rows, mi, LW(EMBED_W_FC1_B), m->cfg.act);
		pend = NULL;
		if (ls2) {
			linear(ws->h, rows, mi, LW(EMBED_W_FC2_W), d, 0.0f, ws->qkv);
			embed_kernels_residual(ws->x, ws->qkv, rows, d, LW(EMBED_W_FC2_B), ls2);
		} else {
			linear(ws->h, rows, mi, LW(EMBED_W_FC2_W), d, 1.0f, ws->x);
			pend = LW(EMBED_W_FC2_B);
		}
#undef LW
	}
	if (pend)
		embed_kernels_add_bias(ws->x, rows, d, pend);
	if (needs_timm_head(m, pool)) {
		timm_head(m, ws, batch, pool, emb, logits);
		return;
	}
	/* final LayerNorm: CLS rows always (logits), every row for mean pooling */
	if (pool == EMBED_POOL_MEAN)
		embed_kernels_layernorm(ws->x, d, ws->y, d, rows, d, m->w[EMBED_W_NORM_W],
					m->w[EMBED_W_NORM_B], eps);
	else
		embed_kernels_layernorm(ws->x, (size_t)m->ntok * d, ws->y, (size_t)m->ntok * d,
					(size_t)batch, d, m->w[EMBED_W_NORM_W], m->w[EMBED_W_NORM_B],
					eps);
	for (b = 0; b < batch; b++) {
		const float *yb = ws->y + (size_t)b * m->ntok * d;
		float *e = emb + (size_t)b * d;

		if (pool == EMBED_POOL_CLS) {
			memcpy(e, yb, (size_t)d * sizeof(float));
			continue;
		}
		memset(e, 0, (size_t)d * sizeof(float));
		for (t = pre; t < m->ntok; t++)
			for (i = 0; i < d; i++)
				e[i] += yb[(size_t)t * d + i];
		for (i = 0; i < d; i++)
			e[i] /= (float)(m->ntok - pre);
	}
	if (logits && m->num_labels) {
		/* CLS rows of y are strided by T*D */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, m->num_labels, d, 1.0f,
			    ws->y, m->ntok * d, m->w[EMBED_W_HEAD_W], d, 0.0f, logits, m->num_labels);
		embed_kernels_add_bias(logits, (size_t)batch, m->num_labels, m->w[EMBED_W_HEAD_B]);
	}
}

/* Rows one forward tile aims at (images x tokens), and its most images. */
#define VIT_TILE_ROWS 768
#define VIT_TILE_MAX_IMAGES 4

/*
 * Images per tile.  Every GEMM of the forward pass covers the rows of one
 * tile, and OpenBLAS's result for a row depends on the call's shape, so
 * the tile depends on the model only, never on the thread count: a batch
 * gives the same bytes on 1, 2 or 16 threads.  About VIT_TILE_ROWS rows
 * (4 images of 197 tokens, 1 of 577), at most VIT_TILE_MAX_IMAGES so that a
 * batch of 16 still makes 4 tiles for the workers to share.
 */
static int
tile_images(const embed_vit *m)
{
	int g = (VIT_TILE_ROWS + m->ntok / 2) / m->ntok;

	return g < 1 ? 1 : g > VIT_TILE_MAX_IMAGES ? VIT_TILE_MAX_IMAGES : g;
}

/* What every tile of one embed_vit_forward() call shares. */
typedef struct vit_call {
	embed_vit *m;          /* the model (scratch: m->ws[worker]) */
	const float *pixels;   /* the batch's images */
	int batch;             /* images in the batch */
	int per;               /* images per tile (the last may hold fewer) */
	int pool;              /* EMBED_POOL_* */
	float *emb;            /* B x D */
	float *logits;         /* B x L, or NULL */
} vit_call;

static void
run_tile(void *arg, int64_t tile, int worker)
{
	const vit_call *c = arg;
	const embed_vit *m = c->m;
	const size_t img = (size_t)m->cfg.channels * m->cfg.image_h * m->cfg.image_w;
	int start = (int)tile * c->per, n = c->batch - start < c->per ? c->batch - start : c->per;

	forward_part(m, &c->m->ws[worker], c->pixels + (size_t)start * img, n, c->pool,
		     c->emb + (size_t)start * m->cfg.hidden,
		     c->logits ? c->logits + (size_t)start * m->num_labels : NULL);
}

/*
 * Threading: the batch is cut into tiles of tile_images() images, the same
 * whatever the thread count; vv_threads() workers (at most one per tile)
 * take tiles in turn, each on its own scratch, calling single-threaded
 * OpenBLAS (vv_run_tiles).  The element-wise kernels, the softmax and the
 * per-head attention run in parallel too, and the threads meet once per
 * call instead of once per GEMM.
 */
int
embed_vit_forward(embed_vit *m, const float *pixels, int batch, int pool, float *emb,
		  float *logits)
{
	vit_call c = { .m = m, .pixels = pixels, .batch = batch, .pool = pool, .emb = emb,
		       .logits = m->num_labels ? logits : NULL };
	int ntiles, nw, err;

	if (batch <= 0 || batch > VIT_MAX_BATCH)
		return vv_error(VV_EINVAL, "batch of %d images out of range 1..%d", batch,
				VIT_MAX_BATCH);
	if (pool != EMBED_POOL_CLS && pool != EMBED_POOL_MEAN && pool != EMBED_POOL_HEAD)
		return vv_error(VV_EINVAL, "unknown pooling %d", pool);
	c.per = tile_images(m);
	c.per = c.per < batch ? c.per : batch;
	/* BLAS dimensions are int */
	if ((size_t)c.per * (size_t)m->ntok > INT_MAX / 4)
		return vv_error(VV_EINVAL, "images of %d tokens are too large", m->ntok);
	ntiles = (batch + c.per - 1) / c.per;
	nw = vv_threads();
	nw = nw < ntiles ? nw : ntiles;
	nw = nw < VIT_MAX_WORKERS ? nw : VIT_MAX_WORKERS;
	err = ensure_scratch(m, nw, c.per);
	if (err)
		return err;
	vv_run_tiles(run_tile, &c, ntiles, nw);
	return 0;
}
