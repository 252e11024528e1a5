/* embed_registry.c - timm ViT architectures by name. */
#include "embed/models/embed_registry.h"
#include "embed/images/embed_preproc.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "embed/models/embed_timm_tags.h"
#include "embed/models/embed_vit.h"

#include <pthread.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* timm.data constants */
#define INCEPTION_MEAN { 0.5f, 0.5f, 0.5f }
#define INCEPTION_STD { 0.5f, 0.5f, 0.5f }
#define IMAGENET_MEAN { 0.485f, 0.456f, 0.406f }
#define IMAGENET_STD { 0.229f, 0.224f, 0.225f }

#define BICUBIC EMBED_RESAMPLE_BICUBIC
#define TOKEN EMBED_POOL_CLS

/* one ViT line: name, depth, width, heads, mlp_ratio, patch, image size,
 * prefix tokens, pool, default tag, interpolation, crop_pct, mean, std */
#define VIT(nm, d, w, h, mlp, p, img, pre, pool, tag, interp, crop, mn, sd)               \
	{ .name = nm, .depth = d, .width = w, .heads = h, .mlp_ratio = mlp, .patch = p,    \
	  .img_size = img, .prefix_tokens = pre, .global_pool = pool, .default_tag = tag,   \
	  .interpolation = interp, .crop_pct = crop, .mean = mn, .std = sd }

/* a timm hybrid (vision_transformer_hybrid.py, its _cfg(): bicubic, crop
 * 0.9, mean = std = 0.5; the 384 tags crop 1.0): name, depth, width,
 * heads, projection kernel over the backbone's features, image size,
 * default tag, crop_pct, backbone stages and units per stage; the backbone
 * of _resnetv2(): stem 64 channels, stages of 256, 512, 1024, 2048 */
#define HYB(nm, d, w, h, p, img, tag, crop, ns, ...)                                      \
	{ .name = nm, .depth = d, .width = w, .heads = h, .mlp_ratio = 4.0, .patch = p,    \
	  .img_size = img, .prefix_tokens = 1, .global_pool = TOKEN, .default_tag = tag,    \
	  .interpolation = BICUBIC, .crop_pct = crop, .mean = INCEPTION_MEAN,               \
	  .std = INCEPTION_STD, .hybrid = 1,                                                \
	  .backbone = { .flavor = EMBED_RESNETV2_TIMM, .stem_chs = 64, .nstages = ns,       \
			.depth = __VA_ARGS__, .chans = { 256, 512, 1024, 2048 } } }

/* Swin stage depths and heads by size (timm's swin_{tiny,small,base,large}_*) */
#define SWIN_T .depth = 12, .heads = 3, .stage_depths = { 2, 2, 6, 2 }, .stage_heads = { 3, 6, 12, 24 }
#define SWIN_S .depth = 24, .heads = 3, .stage_depths = { 2, 2, 18, 2 }, .stage_heads = { 3, 6, 12, 24 }
#define SWIN_B .depth = 24, .heads = 4, .stage_depths = { 2, 2, 18, 2 }, .stage_heads = { 4, 8, 16, 32 }
#define SWIN_L .depth = 24, .heads = 6, .stage_depths = { 2, 2, 18, 2 }, .stage_heads = { 6, 12, 24, 48 }
/* one Swin line: name, embed_dim, window, image size, default tag, crop_pct, size */
#define SWIN(nm, dim, win, img, tag, crop, ...)                                         \
	{ .name = nm, .width = dim, .mlp_ratio = 4.0, .patch = 4, .img_size = img,      \
	  .prefix_tokens = 1, .global_pool = EMBED_POOL_MEAN, .default_tag = tag,       \
	  .interpolation = BICUBIC, .crop_pct = crop, .mean = IMAGENET_MEAN,            \
	  .std = IMAGENET_STD, .family = "swin", .window = win, __VA_ARGS__ }

/*
 * One line per architecture.  Shapes from the @register_model functions of
 * timm/models/vision_transformer.py and deit.py (mlp_ratio 4, qkv_bias,
 * LayerNorm eps 1e-6 throughout); preprocessing from the default_cfgs entry
 * of the default (first listed) tag: vision_transformer.py's _cfg() is
 * bicubic, crop_pct 0.9, IMAGENET_INCEPTION mean/std (0.5), the 384 tags
 * set crop_pct 1.0; deit.py's _cfg() is bicubic, crop_pct 0.9, IMAGENET
 * mean/std, its 384 tags crop_pct 1.0.
 */
static const embed_registry_entry builtin[] = {
	/* name                        depth width heads mlp patch img pre pool  tag                     interp  crop */
	VIT("vit_tiny_patch16_224",      12, 192,  3, 4.0, 16, 224, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 0.9, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_tiny_patch16_384",      12, 192,  3, 4.0, 16, 384, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 1.0, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_small_patch16_224",     12, 384,  6, 4.0, 16, 224, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 0.9, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_small_patch16_384",     12, 384,  6, 4.0, 16, 384, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 1.0, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_small_patch32_224",     12, 384,  6, 4.0, 32, 224, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 0.9, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_small_patch32_384",     12, 384,  6, 4.0, 32, 384, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 1.0, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_base_patch16_224",      12, 768, 12, 4.0, 16, 224, 1, TOKEN, "augreg2_in21k_ft_in1k", BICUBIC, 0.9, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_base_patch16_384",      12, 768, 12, 4.0, 16, 384, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 1.0, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_base_patch8_224",       12, 768, 12, 4.0,  8, 224, 1, TOKEN, "augreg2_in21k_ft_in1k", BICUBIC, 0.9, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_base_patch32_224",      12, 768, 12, 4.0, 32, 224, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 0.9, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_base_patch32_384",      12, 768, 12, 4.0, 32, 384, 1, TOKEN, "augreg_in21k_ft_in1k",  BICUBIC, 1.0, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_large_patch16_224",     24, 1024, 16, 4.0, 16, 224, 1, TOKEN, "augreg_in21k_ft_in1k", BICUBIC, 0.9, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_large_patch16_384",     24, 1024, 16, 4.0, 16, 384, 1, TOKEN, "augreg_in21k_ft_in1k", BICUBIC, 1.0, INCEPTION_MEAN, INCEPTION_STD),
	VIT("vit_large_patch32_384",     24, 1024, 16, 4.0, 32, 384, 1, TOKEN, "orig_in21k_ft_in1k",   BICUBIC, 1.0, INCEPTION_MEAN, INCEPTION_STD),
	VIT("deit_tiny_patch16_224",     12, 192,  3, 4.0, 16, 224, 1, TOKEN, "fb_in1k", BICUBIC, 0.9, IMAGENET_MEAN, IMAGENET_STD),
	VIT("deit_small_patch16_224",    12, 384,  6, 4.0, 16, 224, 1, TOKEN, "fb_in1k", BICUBIC, 0.9, IMAGENET_MEAN, IMAGENET_STD),
	VIT("deit_base_patch16_224",     12, 768, 12, 4.0, 16, 224, 1, TOKEN, "fb_in1k", BICUBIC, 0.9, IMAGENET_MEAN, IMAGENET_STD),
	VIT("deit_base_patch16_384",     12, 768, 12, 4.0, 16, 384, 1, TOKEN, "fb_in1k", BICUBIC, 1.0, IMAGENET_MEAN, IMAGENET_STD),
	VIT("deit_tiny_distilled_patch16_224",  12, 192,  3, 4.0, 16, 224, 2, TOKEN, "fb_in1k", BICUBIC, 0.9, IMAGENET_MEAN, IMAGENET_STD),
	VIT("deit_small_distilled_patch16_224", 12, 384,  6, 4.0, 16, 224, 2, TOKEN, "fb_in1k", BICUBIC, 0.9, IMAGENET_MEAN, IMAGENET_STD),
	VIT("deit_base_distilled_patch16_224",  12, 768, 12, 4.0, 16, 224, 2, TOKEN, "fb_in1k", BICUBIC, 0.9, IMAGENET_MEAN, IMAGENET_STD),
	VIT("deit_base_distilled_patch16_384",  12, 768, 12, 4.0, 16, 384, 2, TOKEN, "fb_in1k", BICUBIC, 1.0, IMAGENET_MEAN, IMAGENET_STD),
	/* hybrids: patch = the projection's kernel over the features (1, or
	 * 8 over the stem-only backbone of the r_s16_p8 models) */
	HYB("vit_tiny_r_s16_p8_224",  12, 192,  3, 8, 224, "augreg_in21k_ft_in1k", 0.9, 0, { 0 }),
	HYB("vit_tiny_r_s16_p8_384",  12, 192,  3, 8, 384, "augreg_in21k_ft_in1k", 1.0, 0, { 0 }),
	HYB("vit_small_r26_s32_224",  12, 384,  6, 1, 224, "augreg_in21k_ft_in1k", 0.9, 4, { 2, 2, 2, 2 }),
	HYB("vit_small_r26_s32_384",  12, 384,  6, 1, 384, "augreg_in21k_ft_in1k", 1.0, 4, { 2, 2, 2, 2 }),
	HYB("vit_base_r50_s16_224",   12, 768, 12, 1, 224, "orig_in21k",           0.9, 3, { 3, 4, 9 }),
	HYB("vit_base_r50_s16_384",   12, 768, 12, 1, 384, "orig_in21k_ft_in1k",   1.0, 3, { 3, 4, 9 }),
	HYB("vit_large_r50_s32_224",  24, 1024, 16, 1, 224, "augreg_in21k_ft_in1k", 0.9, 4, { 3, 4, 6, 3 }),
	HYB("vit_large_r50_s32_384",  24, 1024, 16, 1, 384, "augreg_in21k_ft_in1k", 1.0, 4, { 3, 4, 6, 3 }),
	/*
	 * Swin Transformers (timm/models/swin_transformer.py: patch 4,
	 * mlp_ratio 4, qkv_bias, LayerNorm eps 1e-5, avg pool; _cfg() is
	 * bicubic, crop_pct 0.9, IMAGENET mean/std, the 384 tags crop_pct 1.0).
	 */
	SWIN("swin_tiny_patch4_window7_224",    96,  7, 224, "ms_in1k",          0.9, SWIN_T),
	SWIN("swin_small_patch4_window7_224",   96,  7, 224, "ms_in22k_ft_in1k", 0.9, SWIN_S),
	SWIN("swin_base_patch4_window7_224",   128,  7, 224, "ms_in22k_ft_in1k", 0.9, SWIN_B),
	SWIN("swin_base_patch4_window12_384",  128, 12, 384, "ms_in22k_ft_in1k", 1.0, SWIN_B),
	SWIN("swin_large_patch4_window7_224",  192,  7, 224, "ms_in22k_ft_in1k", 0.9, SWIN_L),
	SWIN("swin_large_patch4_window12_384", 192, 12, 384, "ms_in22k_ft_in1k", 1.0, SWIN_L),
};

#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))
#define MAX_ADDED 64

/* Entries added at run time; their strings are owned here. */
static embed_registry_entry added[MAX_ADDED];
static size_t nadded;

size_t
embed_registry_count(void)
{
	return NBUILTIN + nadded;
}

const embed_registry_entry *
embed_registry_at(size_t i)
{
	if (i < NBUILTIN)
		return &builtin[i];
	i -= NBUILTIN;
	return i < nadded ? &added[i] : NULL;
}

/* The entry called exactly `name` (n bytes), or NULL. */
static const embed_registry_entry *
find_exact(const char *name, size_t n)
{
	size_t i, k = embed_registry_count();

	for (i = 0; i < k; i++) {
		const embed_registry_entry *e = embed_registry_at(i);

		if (strlen(e->name) == n && !strncmp(e->name, name, n))
			return e;
	}
	return NULL;
}

/* Entries of tagged names whose preprocessing differs from the default
 * tag's: a copy of the architecture's entry with the tag's values, made on
 * first use and kept for the life of the process. */
#define MAX_TAGGED 64
static embed_registry_entry tagged[MAX_TAGGED];
static size_t ntagged;
static pthread_mutex_t tagged_lock = PTHREAD_MUTEX_INITIALIZER;

static int
same_preproc(const embed_registry_entry *e, const embed_timm_tag *t)
{
	return e->interpolation == t->interpolation && e->crop_pct == t->crop_pct &&
	       !memcmp(e->mean, t->mean, sizeof(e->mean)) && !memcmp(e->std, t->std, sizeof(e->std));
}

/* "a, b, c" of the known tags of `e` into buf. */
static void
list_tags(const embed_registry_entry *e, char *buf, size_t size)
{
	size_t i, o = 0, k = embed_timm_tag_count();

	buf[0] = '\0';
	for (i = 0; i < k && o < size - 8; i++) {
		const embed_timm_tag *t = embed_timm_tag_at(i);
		int r;

		if (strcmp(t->arch, e->name))
			continue;
		r = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", t->tag);
		if (r < 0 || (size_t)r >= size - o) {
			snprintf(buf + o, size - o, ", ...");
			break;
		}
		o += (size_t)r;
	}
}

/*
 * The entry of architecture `e` with pretrained tag `tag`: `e` itself when
 * the tag is its default or preprocesses the same way, else a copy with
 * the tag's interpolation, crop_pct, mean and std (timm's pretrained_cfg).
 * An unknown tag is VV_ENOTFOUND listing the known ones.
 */
static const embed_registry_entry *
with_tag(const embed_registry_entry *e, const char *tag, const char *name, const char *source)
{
	const embed_timm_tag *t;
	embed_registry_entry *n = NULL;
	char known[1024];
	size_t i;

	if (e->default_tag && !strcmp(tag, e->default_tag))
		return e;
	t = embed_timm_tag_find(e->name, strlen(e->name), tag);
	if (!t) {
		list_tags(e, known, sizeof(known));
		vv_error(VV_ENOTFOUND, "%s%s%.*s: unknown pretrained tag \"%.64s\" of %s (%s%s); "
			 "its preprocessing is not known: give the name without the tag to use "
			 "the default tag's", source ? source : "", source ? ": " : "",
			 EMBED_REGISTRY_NAME_MAX + 64, name, tag, e->name,
			 known[0] ? "known: " : "timm lists no tags for it", known);
		return NULL;
	}
	if (t->crop_mode != EMBED_CROP_CENTER) {
		vv_error(VV_EUNSUPPORTED, "%s%s%s.%s: timm's eval transform for this tag is not a "
			 "centre crop (crop_mode %s)", source ? source : "", source ? ": " : "",
			 e->name, tag, t->crop_mode == EMBED_CROP_SQUASH ? "squash" : "border");
		return NULL;
	}
	if (same_preproc(e, t))
		return e;
	pthread_mutex_lock(&tagged_lock);
	for (i = 0; i < ntagged; i++)
		if (!strcmp(tagged[i].name, e->name) && !strcmp(tagged[i].default_tag, t->tag)) {
			n = &tagged[i];
			break;
		}
	if (!n && ntagged < MAX_TAGGED) {
		n = &tagged[ntagged++];
		*n = *e;
		n->default_tag = t->tag;
		n->interpolation = t->interpolation;
		n->crop_pct = t->crop_pct;
		memcpy(n->mean, t->mean, sizeof(n->mean));
		memcpy(n->std, t->std, sizeof(n->std));
	}
	pthread_mutex_unlock(&tagged_lock);
	if (!n)
		vv_error(VV_ENOMEM, "%s: more than %d distinct pretrained tags in one run", name,
			 MAX_TAGGED);
	return n;
}

const embed_registry_entry *
embed_registry_find(const char *name, const char *source)
{
	const embed_registry_entry *e;
	const char *base = name, *dot;
	char known[640];
	size_t i, o = 0, k;

	if (!strncmp(base, "hf-hub:", 7))
		base += 7;
	if (!strncmp(base, "timm/", 5))
		base += 5;
	dot = strchr(base, '.');
	e = find_exact(base, dot ? (size_t)(dot - base) : strlen(base));
	if (e)
		return dot ? with_tag(e, dot + 1, name, source) : e;
	k = embed_registry_count();
	known[0] = '\0';
	for (i = 0; i < k && o < sizeof(known) - 8; i++) {
		int r = snprintf(known + o, sizeof(known) - o, "%s%s", i ? ", " : "",
				 embed_registry_at(i)->name);

		if (r < 0 || (size_t)r >= sizeof(known) - o) {
			snprintf(known + o, sizeof(known) - o, ", ...");
			break;
		}
		o += (size_t)r;
	}
	vv_error(VV_ENOTFOUND, "%s%sunknown architecture \"%.*s\" (known: %s); to add one, give "
		 "--arch with a known name of the same shape, or add a line to the table in "
		 "embed/models/embed_registry.c", source ? source : "", source ? ": " : "",
		 EMBED_REGISTRY_NAME_MAX, name, known);
	return NULL;
}

const char *
embed_registry_family(const embed_registry_entry *e)
{
	return e->family ? e->family : "vit";
}

/* What every family's entry needs: a name and a valid preprocessing. */
static int
check_common(const embed_registry_entry *e, const char *what)
{
	if (!e->name || !*e->name || strlen(e->name) > EMBED_REGISTRY_NAME_MAX ||
	    strchr(e->name, '.'))
		return vv_error(VV_EINVAL, "%s: a name of 1..%d characters without '.' is needed",
				what, EMBED_REGISTRY_NAME_MAX);
	if (!(e->crop_pct > 0 && e->crop_pct <= 1))
		return vv_error(VV_EINVAL, "%s: crop_pct %g out of range (0, 1]", what, e->crop_pct);
	if (e->interpolation < EMBED_RESAMPLE_NEAREST || e->interpolation > EMBED_RESAMPLE_HAMMING)
		return vv_error(VV_EINVAL, "%s: unknown interpolation %d", what, e->interpolation);
	for (int i = 0; i < 3; i++)
		if (!(e->std[i] > 0) || !isfinite(e->mean[i]))
			return vv_error(VV_EINVAL, "%s: bad mean/std", what);
	if (!(e->img_size > 0 && e->img_size <= EMBED_MAX_IMAGE))
		return vv_error(VV_EINVAL, "%s: image size %d out of range", what, e->img_size);
	return 0;
}

/*
 * A Swin entry: stages with blocks and heads that divide their width
 * (embed_dim * 2^i), the total depth and first heads consistent.
 */
static int
check_swin(const embed_registry_entry *e, const char *what)
{
	int i, sum = 0, w = e->width;
	double m = (double)e->width * e->mlp_ratio;

	if (!(e->patch > 0 && e->patch <= 64 && e->window > 0 && e->window <= 64 && w > 0 &&
	      m >= 1 && m <= EMBED_MAX_INTERMEDIATE))
		return vv_error(VV_EINVAL, "%s: patch, window, width and MLP ratio must be positive "
				"and small", what);
	for (i = 0; i < EMBED_REGISTRY_MAX_STAGES && e->stage_depths[i] > 0; i++) {
		if (e->stage_heads[i] <= 0 || w % e->stage_heads[i] || w > EMBED_MAX_HIDDEN)
			return vv_error(VV_EINVAL, "%s: stage %d: %d heads do not divide width %d",
					what, i, e->stage_heads[i], w);
		sum += e->stage_depths[i];
		w *= 2;
	}
	if (!i || sum != e->depth || e->heads != e->stage_heads[0] || sum > EMBED_MAX_LAYERS)
		return vv_error(VV_EINVAL, "%s: stage depths must be positive and add up to depth "
				"%d; heads must be the first stage's", what, e->depth);
	return 0;
}

/* The shape of `e` as a config, validated (VV_EINVAL naming `e`). */
static int
fill_config(const embed_registry_entry *e, embed_vit_config *c)
{
	char what[EMBED_REGISTRY_NAME_MAX + 32];
	double m;
	int err;

	snprintf(what, sizeof(what), "architecture %s", e->name ? e->name : "(no name)");
	embed_vit_config_defaults(c);
	err = check_common(e, what);
	if (err)
		return err;
	if (strcmp(embed_registry_family(e), "vit"))
		return vv_error(VV_EINVAL, "%s: a %s, not a ViT", what, embed_registry_family(e));
	m = (double)e->width * e->mlp_ratio;
	if (!(m >= 1 && m <= EMBED_MAX_INTERMEDIATE))
		return vv_error(VV_EINVAL, "%s: MLP ratio %g gives a hidden size out of range",
				what, e->mlp_ratio);
	if (e->prefix_tokens != 1 && e->prefix_tokens != 2)
		return vv_error(VV_EINVAL, "%s: %d prefix tokens (1, or 2 with a distillation "
				"token)", what, e->prefix_tokens);
	if (e->global_pool != EMBED_POOL_CLS && e->global_pool != EMBED_POOL_MEAN)
		return vv_error(VV_EINVAL, "%s: global pool must be token or avg", what);
	if (e->prefix_tokens == 2 && e->global_pool != EMBED_POOL_CLS)
		return vv_error(VV_EINVAL, "%s: distilled models pool the tokens", what);
	c->hidden = e->width;
	c->layers = e->depth;
	c->heads = e->heads;
	c->intermediate = (int)m; /* int(dim * mlp_ratio), as timm's Block */
	c->image_w = c->image_h = e->img_size;
	c->patch = e->patch;
	c->channels = 3;
	c->ln_eps = 1e-6;
	c->act = EMBED_ACT_GELU;
	c->qkv_bias = 1;
	c->prefix_tokens = e->prefix_tokens;
	c->global_pool = e->global_pool;
	if (e->hybrid) {
		/* stem /4, then stage 0 at stride 1 and each later one /2 */
		if (e->backbone.nstages < 0 || e->backbone.nstages > EMBED_RESNETV2_MAX_STAGES)
			return vv_error(VV_EINVAL, "%s: %d ResNet stages", what,
					e->backbone.nstages);
		c->feature_stride = e->backbone.nstages > 1 ? 4 << (e->backbone.nstages - 1) : 4;
	}
	return embed_vit_config_validate(c, what);
}

int
embed_registry_add(const embed_registry_entry *e)
{
	char what[EMBED_REGISTRY_NAME_MAX + 32];
	embed_vit_config c;
	embed_registry_entry *n;
	int err;

	snprintf(what, sizeof(what), "architecture %s", e->name ? e->name : "(no name)");
	if (!strcmp(embed_registry_family(e), "swin")) {
		err = check_common(e, what);
		if (!err)
			err = check_swin(e, what);
	} else {
		err = fill_config(e, &c);
	}
	if (err)
		return err;
	if (find_exact(e->name, strlen(e->name)))
		return vv_error(VV_EINVAL, "architecture %s is already registered", e->name);
	if (nadded == MAX_ADDED)
		return vv_error(VV_ENOMEM, "architecture %s: more than %d added architectures",
				e->name, MAX_ADDED);
	n = &added[nadded];
	*n = *e;
	n->name = vv_strdup(e->name);
	n->default_tag = vv_strdup(e->default_tag ? e->default_tag : "");
	n->family = e->family ? vv_strdup(e->family) : NULL;
	if (!n->name || !n->default_tag || (e->family && !n->family)) {
		free((char *)n->name);
		free((char *)n->default_tag);
		free((char *)n->family);
		memset(n, 0, sizeof(*n));
		return VV_ENOMEM;
	}
	nadded++;
	return 0;
}

int
embed_registry_config(const embed_registry_entry *e, embed_vit_config **pc)
{
	embed_vit_config *c;
	int err;

	*pc = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return vv_error(VV_ENOMEM, "out of memory");
	err = fill_config(e, c);
	if (err) {
		free(c);
		return err;
	}
	c->architectures = calloc(1, sizeof(char *));
	if (!c->architectures || !(c->architectures[0] = vv_strdup(e->name))) {
		embed_vit_config_free(&c);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	c->n_arch = 1;
	*pc = c;
	return 0;
}

void
embed_timm_preproc(embed_preproc *pp, int img_size, double crop_pct, int resample,
		   const float mean[3], const float std[3])
{
	int i;

	memset(pp, 0, sizeof(*pp));
	pp->do_resize = 1;
	pp->resize_shortest = 1;
	pp->shortest = (int)floor((double)img_size / crop_pct);
	pp->size_w = pp->size_h = pp->shortest;
	pp->resample = resample;
	pp->do_crop = 1;
	pp->crop_w = pp->crop_h = img_size;
	pp->do_rescale = 1;
	pp->rescale = 1.0 / 255.0;
	pp->do_normalize = 1;
	for (i = 0; i < 3; i++) {
		pp->mean[i] = mean[i];
		pp->std[i] = std[i];
	}
}

void
embed_registry_preproc(const embed_registry_entry *e, embed_preproc *pp)
{
	embed_timm_preproc(pp, e->img_size, e->crop_pct, e->interpolation, e->mean, e->std);
}
