/* embed_jeonsworld.c - jeonsworld/ViT-pytorch checkpoints: config names, image size, preprocessing. */
#include "embed/models/embed_jeonsworld.h"
#include "common/vv_error.h"
#include "embed/embed_pool.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One of models/configs.py's configurations. */
typedef struct jw_arch {
	const char *name;    /* CONFIGS key */
	int patch;           /* patches.size; 0 for the hybrid (patches.grid) */
	int grid;            /* patches.grid (hybrid): patch = S // 16 // grid */
	int hidden;          /* hidden_size */
	int mlp;             /* transformer.mlp_dim */
	int heads;           /* transformer.num_heads */
	int layers;          /* transformer.num_layers */
	int rn_depth[3];     /* resnet.num_layers (hybrid) */
	int rn_width;        /* 64 * resnet.width_factor (hybrid) */
} jw_arch;

static const jw_arch archs[] = {
	{ "ViT-B_16", 16, 0, 768, 3072, 12, 12, { 0 }, 0 },
	{ "ViT-B_32", 32, 0, 768, 3072, 12, 12, { 0 }, 0 },
	{ "ViT-L_16", 16, 0, 1024, 4096, 16, 24, { 0 }, 0 },
	{ "ViT-L_32", 32, 0, 1024, 4096, 16, 24, { 0 }, 0 },
	{ "ViT-H_14", 14, 0, 1280, 5120, 16, 32, { 0 }, 0 },
	{ "R50-ViT-B_16", 0, 14, 768, 3072, 12, 12, { 3, 4, 9 }, 64 },
};

#define NARCHS (sizeof(archs) / sizeof(archs[0]))

/* 1 when the state dict holds the hybrid's ResNet. */
static int
has_backbone(const embed_tensors *t)
{
	size_t i, n = strlen(EMBED_JEONSWORLD_BACKBONE);

	for (i = 0; i < t->n; i++)
		if (!strncmp(t->v[i].name, EMBED_JEONSWORLD_BACKBONE, n))
			return 1;
	return 0;
}

/* Fill e from configs.py's `a` at image size s. */
static int
from_table(const jw_arch *a, int s, const char *source, embed_registry_entry *e)
{
	int i;

	memset(e, 0, sizeof(*e));
	e->name = a->name;
	e->depth = a->layers;
	e->width = a->hidden;
	e->heads = a->heads;
	e->mlp_ratio = (double)a->mlp / a->hidden;
	e->img_size = s;
	e->prefix_tokens = 1;
	e->global_pool = EMBED_POOL_CLS;
	e->patch = a->patch;
	if (a->grid) {
		/* modeling.py's Embeddings: patch_size = img_size // 16 // grid */
		e->patch = s / 16 / a->grid;
		if (e->patch < 1)
			return vv_error(VV_EMISMATCH, "%s: %s needs images of at least %d pixels "
					"(its patch size is image // 16 // %d), not %d", source,
					a->name, 16 * a->grid, a->grid, s);
		e->hybrid = 1;
		e->backbone.flavor = EMBED_RESNETV2_JEONSWORLD;
		e->backbone.stem_chs = a->rn_width;
		e->backbone.nstages = 3;
		for (i = 0; i < 3; i++) {
			e->backbone.depth[i] = a->rn_depth[i];
			e->backbone.chans[i] = a->rn_width * 4 << i;
		}
	}
	return 0;
}

/* "ViT-B_16, ViT-B_32, ..." */
static void
known(char *buf, size_t size)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < NARCHS && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", archs[i].name);
}

int
embed_jeonsworld_config(const embed_ckpt *ck, const embed_tensors *t,
			embed_registry_entry *e, embed_vit_config **pc, embed_preproc *pp,
			const char **arch_name)
{
	const int bb = has_backbone(t);
	const char *name = ck->arch;
	const embed_registry_entry *re = NULL;
	embed_vit_config *c = NULL;
	char list[256];
	size_t i;
	int err, s = ck->image_size > 0 ? ck->image_size : 224;

	*pc = NULL;
	if (!name) {
		/* train.py's --model_type default; the one hybrid when it shows */
		name = bb ? "R50-ViT-B_16" : "ViT-B_16";
		vv_info("%s: no --arch: %s (jeonsworld/ViT-pytorch's %s)", ck->weights, name,
			bb ? "hybrid config, the weights hold a ResNet" : "default");
	}
	for (i = 0; i < NARCHS; i++)
		if (!strcmp(archs[i].name, name))
			break;
	if (i < NARCHS) {
		err = from_table(&archs[i], s, ck->weights, e);
		if (err)
			return err;
	} else {
		/* a registry architecture of the same code (the tests' small ones) */
		vv_error_clear();
		re = embed_registry_find(name, NULL);
		if (!re || strcmp(embed_registry_family(re), "vit")) {
			known(list, sizeof(list));
			return vv_error(VV_ENOTFOUND, "%s: unknown --arch \"%.100s\" for a "
					"jeonsworld/ViT-pytorch checkpoint (its config names: %s)",
					ck->weights, name, list);
		}
		*e = *re;
		if (ck->image_size > 0)
			e->img_size = ck->image_size;
		s = e->img_size;
		if (e->hybrid)
			e->backbone.flavor = EMBED_RESNETV2_JEONSWORLD;
	}
	if (bb && !e->hybrid)
		return vv_error(VV_EMISMATCH, "%s: the weights hold a ResNet (%s*) but --arch %s "
				"is a plain ViT (R50-ViT-B_16?)", ck->weights,
				EMBED_JEONSWORLD_BACKBONE, name);
	if (!bb && e->hybrid)
		return vv_error(VV_EMISMATCH, "%s: --arch %s is a hybrid ResNet + ViT but the "
				"weights have no %s* tensors", ck->weights, name,
				EMBED_JEONSWORLD_BACKBONE);
	/* the registry's shape: LayerNorm eps 1e-6, exact GELU, qkv bias, as
	 * modeling.py (LayerNorm(eps=1e-6), F.gelu, Linear with bias) */
	c = calloc(1, sizeof(*c));
	if (!c)
		return vv_error(VV_ENOMEM, "out of memory");
	embed_vit_config_defaults(c);
	c->hidden = e->width;
	c->layers = e->depth;
	c->heads = e->heads;
	c->intermediate = (int)((double)e->width * e->mlp_ratio + 0.5);
	c->image_w = c->image_h = s;
	c->patch = e->patch;
	c->ln_eps = 1e-6;
	c->feature_stride = e->hybrid ? (e->backbone.nstages > 1 ?
					 4 << (e->backbone.nstages - 1) : 4) : 1;
	c->architectures = calloc(1, sizeof(char *));
	if (!c->architectures || !(c->architectures[0] = vv_strdup(e->name))) {
		embed_vit_config_free(&c);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	c->n_arch = 1;
	err = embed_vit_config_validate(c, ck->weights);
	if (err) {
		embed_vit_config_free(&c);
		return err;
	}
	/* data_utils.py's transform_test: Resize((S, S)) (torchvision:
	 * bilinear, antialiased as Pillow), ToTensor, Normalize(0.5, 0.5) */
	memset(pp, 0, sizeof(*pp));
	pp->do_resize = 1;
	pp->size_w = pp->size_h = s;
	pp->resample = EMBED_RESAMPLE_BILINEAR;
	pp->do_rescale = 1;
	pp->rescale = 1.0 / 255.0;
	pp->do_normalize = 1;
	for (i = 0; i < 3; i++)
		pp->mean[i] = pp->std[i] = 0.5f;
	*arch_name = e->name;
	*pc = c;
	return 0;
}
