/* embed_vit_family.c - ViT checkpoints (HF and timm) behind embed_family. */
#include "embed/models/embed_vit_family.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "embed/models/embed_flower.h"
#include "embed/models/embed_jeonsworld.h"
#include "embed/models/embed_timm.h"
#include "embed/models/embed_vit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the family keeps of one open checkpoint. */
typedef struct vit_state {
	embed_vit_config *cfg; /* config.json / registry, labels set to the head present */
	embed_vit *vit;        /* the network */
} vit_state;

static int
vit_detect(const embed_family_probe *p)
{
	/* HF: whatever no other family claimed (embed_config warns when the
	 * model_type is not "vit" and reads it as a ViT) */
	if (p->ck->format != EMBED_CKPT_TIMM)
		return 1;
	/* timm: a ViT entry, or no architecture at all (open() then asks for --arch) */
	return p->entry ? !strcmp(embed_registry_family(p->entry), "vit") : 1;
}

/* Make the config's labels describe the head the weights hold. */
static int
match_labels(vit_state *s, const char *cfg_path)
{
	int nl = embed_vit_num_labels(s->vit);

	if (!nl)
		return embed_vit_config_set_labels(s->cfg, 0, NULL);
	if (!s->cfg->num_labels) {
		vv_debug("%s: no id2label; naming the %d classifier outputs LABEL_<i>", cfg_path, nl);
		return embed_vit_config_set_labels(s->cfg, nl, NULL);
	}
	if (s->cfg->num_labels != nl)
		return vv_error(VV_EMISMATCH, "%s: id2label has %d labels but the classifier has "
				"%d outputs", cfg_path, s->cfg->num_labels, nl);
	return 0;
}

/*
 * Build the network for config `c` from `t` (consumed) named after `nm`: a
 * plain ViT, or, when `e` (may be NULL) is a hybrid, its ResNetV2 backbone
 * of flavour `flavor` from the tensors under `bb_prefix` feeding the ViT.
 */
static int
build_vit(const embed_vit_config *c, const embed_registry_entry *e, int flavor,
	  const char *bb_prefix, embed_tensors *t, const embed_vit_naming *nm,
	  const char *source, embed_vit **pm)
{
	embed_resnetv2_spec spec;
	embed_resnetv2 *stem = NULL;
	int err;

	*pm = NULL;
	if (!e || !e->hybrid)
		return embed_vit_build_consume(c, t, nm, source, pm);
	spec = e->backbone;
	spec.flavor = flavor;
	err = embed_resnetv2_build(&spec, t, bb_prefix, 1, NULL, c->image_h, c->image_w, source,
				   &stem);
	if (err)
		return err;
	/* takes the stem, frees it on failure */
	return embed_vit_build_hybrid(c, stem, t, nm, source, pm);
}

/*
 * A timm checkpoint: architecture from --arch / the checkpoint / args.yaml,
 * config and preprocessing from the registry (+ args.yaml), timm names.
 */
static int
open_timm(const embed_family_probe *p, vit_state *s, embed_preproc *pp)
{
	const embed_ckpt *ck = p->ck;
	const embed_registry_entry *e;
	const char *name;
	char msg[1024];
	int err, src;

	/* again, for its message when nothing names the architecture */
	err = embed_timm_arch(ck, p->info, &e, &name, &src);
	if (err)
		return err;
	if (p->info && p->info->used_ema)
		vv_debug("%s: EMA weights", ck->weights);
	err = embed_timm_config(ck, e, p->t, &s->cfg, pp);
	if (err)
		return err;
	err = build_vit(s->cfg, e, EMBED_RESNETV2_TIMM, "patch_embed.backbone.", p->t,
			&embed_vit_naming_timm, ck->weights, &s->vit);
	if (err) {
		/* name the architecture the shapes were expected from */
		snprintf(msg, sizeof(msg), "%s", vv_errmsg());
		return vv_error(err, "%s (architecture %s from %s)", msg, e->name,
				embed_arch_source_name(src));
	}
	return match_labels(s, ck->weights);
}

/*
 * A jeonsworld/ViT-pytorch state dict: model from --arch / --image-size,
 * its names, its ResNet for R50-ViT-B_16.
 */
static int
open_jeonsworld(const embed_family_probe *p, vit_state *s, embed_preproc *pp,
		embed_registry_entry *e)
{
	const char *name;
	char msg[1024];
	int err;

	err = embed_jeonsworld_config(p->ck, p->t, e, &s->cfg, pp, &name);
	if (err)
		return err;
	err = build_vit(s->cfg, e, EMBED_RESNETV2_JEONSWORLD, EMBED_JEONSWORLD_BACKBONE, p->t,
			&embed_vit_naming_jeonsworld, p->ck->weights, &s->vit);
	if (err) {
		snprintf(msg, sizeof(msg), "%s", vv_errmsg());
		return vv_error(err, "%s (--arch %s, image size %d)", msg, name, s->cfg->image_w);
	}
	return match_labels(s, p->ck->weights);
}

/* The flower tutorial's state dict: --arch, timm-style names, class_indices.json. */
static int
open_flower(const embed_family_probe *p, vit_state *s, embed_preproc *pp,
	    embed_registry_entry *e)
{
	char **names = NULL, msg[1024];
	int err, nl;

	err = embed_flower_config(p->ck, p->t, e, &s->cfg, pp);
	if (err)
		return err;
	err = build_vit(s->cfg, e, EMBED_RESNETV2_TIMM, "patch_embed.backbone.", p->t,
			&embed_vit_naming_timm, p->ck->weights, &s->vit);
	if (err) {
		snprintf(msg, sizeof(msg), "%s", vv_errmsg());
		return vv_error(err, "%s (--arch %s)", msg, s->cfg->architectures[0]);
	}
	nl = embed_vit_num_labels(s->vit);
	embed_flower_labels(p->ck, nl, &names);
	err = embed_vit_config_set_labels(s->cfg, nl, names);
	if (names)
		vv_strv_free(&names, (size_t)nl);
	return err;
}

/* An HF checkpoint folder: config.json, preprocessor_config.json, HF names. */
static int
open_hf(const embed_family_probe *p, vit_state *s, embed_preproc *pp)
{
	const embed_ckpt *ck = p->ck;
	embed_tensors *t = NULL;
	char *pp_path;
	int err, w, h;

	pp_path = vv_path_join(ck->path, "preprocessor_config.json");
	if (!pp_path)
		return vv_error(VV_ENOMEM, "out of memory");
	err = embed_vit_config_parse(p->config_path, p->config_text, p->config_len, &s->cfg);
	if (err)
		goto out_free_path;
	err = embed_preproc_load(pp_path, s->cfg, pp);
	if (err)
		goto out_free_path;
	if (s->cfg->channels != 3) {
		err = vv_error(VV_EUNSUPPORTED, "%s: num_channels %d (images are RGB, 3 channels)",
			       p->config_path, s->cfg->channels);
		goto out_free_path;
	}
	if (embed_preproc_out_size(pp, &w, &h)) {
		err = vv_error(VV_EUNSUPPORTED, "%s: the preprocessing gives no fixed image size "
			       "(resize to a shortest edge without a crop)", pp_path);
		goto out_free_path;
	}
	if (w != s->cfg->image_w || h != s->cfg->image_h) {
		err = vv_error(VV_EMISMATCH, "%s: preprocessing gives %dx%d images but config.json "
			       "has image_size %dx%d", pp_path, w, h, s->cfg->image_w,
			       s->cfg->image_h);
		goto out_free_path;
	}
	err = embed_ckpt_load_tensors(ck, &t);
	if (err)
		goto out_free_path;
	err = embed_vit_build_consume(s->cfg, t, &embed_vit_naming_hf, ck->weights, &s->vit);
	embed_tensors_free(&t);
	if (!err)
		err = match_labels(s, p->config_path);
out_free_path:
	free(pp_path);
	return err;
}

void
embed_vit_display_name(const embed_vit_config *c, const char *arch, char *buf, size_t size)
{
	const char *sz = NULL, *kind = arch && !strncmp(arch, "deit", 4) ? "DeiT" : "ViT";

	switch (c->hidden) {
	case 192: sz = c->layers == 12 ? "Ti" : NULL; break;
	case 384: sz = c->layers == 12 ? "S" : NULL; break;
	case 768: sz = c->layers == 12 ? "B" : NULL; break;
	case 1024: sz = c->layers == 24 ? "L" : NULL; break;
	case 1280: sz = c->layers == 32 ? "H" : NULL; break;
	}
	if (sz)
		snprintf(buf, size, "%s-%s/%d", kind, sz, c->patch);
	else
		snprintf(buf, size, "%s (width %d, %d layers, patch %d)", kind, c->hidden, c->layers,
			 c->patch);
}

/*
 * A hybrid's display name as the ViT paper writes it: "R50+ViT-B/16" (the
 * backbone's layer count, 3 per bottleneck unit + 2, none for a stem-only
 * backbone; the patch as the total stride in pixels).
 */
static void
hybrid_name(const vit_state *s, const char *arch, char *buf, size_t size)
{
	const embed_resnetv2_spec *r = embed_resnetv2_spec_of(embed_vit_stem(s->vit));
	embed_vit_config c = *s->cfg;
	char vit[EMBED_MODEL_NAME_MAX - 16], rn[12] = "";
	int i, units = 0;

	for (i = 0; i < r->nstages; i++)
		units += r->depth[i];
	if (units)
		snprintf(rn, sizeof(rn), "%d", 3 * units + 2);
	c.patch *= c.feature_stride > 1 ? c.feature_stride : 1;
	embed_vit_display_name(&c, arch, vit, sizeof(vit));
	snprintf(buf, size, "R%s+%s", rn, vit);
}

static void vit_free(void **pstate);

static int
vit_open(const embed_family_probe *p, void **pstate, embed_model_info *info)
{
	vit_state *s = calloc(1, sizeof(*s));
	embed_registry_entry fe;
	const char *arch;
	int err;

	*pstate = NULL;
	if (!s)
		return vv_error(VV_ENOMEM, "out of memory");
	switch (p->ck->format) {
	case EMBED_CKPT_TIMM: err = open_timm(p, s, &info->pp); break;
	case EMBED_CKPT_JEONSWORLD: err = open_jeonsworld(p, s, &info->pp, &fe); break;
	case EMBED_CKPT_FLOWER: err = open_flower(p, s, &info->pp, &fe); break;
	default: err = open_hf(p, s, &info->pp); break;
	}
	if (err) {
		vit_free((void **)&s);
		return err;
	}
	arch = s->cfg->n_arch ? s->cfg->architectures[0] : "";
	info->family = "vit";
	snprintf(info->arch, sizeof(info->arch), "%s", arch);
	if (embed_vit_stem(s->vit)) {
		hybrid_name(s, p->entry ? p->entry->name : arch, info->name, sizeof(info->name));
	} else {
		embed_vit_display_name(s->cfg, p->entry ? p->entry->name : arch, info->name,
				       sizeof(info->name));
	}
	info->dim = s->cfg->hidden;
	info->num_labels = s->cfg->num_labels;
	info->id2label = s->cfg->id2label;
	info->image_w = s->cfg->image_w;
	info->image_h = s->cfg->image_h;
	info->avg_pool = s->cfg->global_pool == EMBED_POOL_MEAN;
	info->pool_fixed = 0;
	*pstate = s;
	return 0;
}

const embed_vit_config *
embed_vit_family_config(const void *state)
{
	return ((const vit_state *)state)->cfg;
}

static int
vit_forward(void *state, const float *pixels, int batch, int pool, float *emb, float *logits)
{
	return embed_vit_forward(((vit_state *)state)->vit, pixels, batch, pool, emb, logits);
}

static void
vit_free(void **pstate)
{
	vit_state *s = *pstate;

	if (!s)
		return;
	embed_vit_free(&s->vit);
	embed_vit_config_free(&s->cfg);
	free(s);
	*pstate = NULL;
}

/* A hybrid's backbone: "backbone": "resnetv2", its flavour and shape. */
static void
describe_backbone(const embed_vit *vit, cJSON *j)
{
	const embed_resnetv2 *r = embed_vit_stem(vit);
	const embed_resnetv2_spec *s;
	double d[EMBED_RESNETV2_MAX_STAGES], f[3];
	int i, c, h, w;

	if (!r)
		return;
	s = embed_resnetv2_spec_of(r);
	embed_resnetv2_out_shape(r, &c, &h, &w);
	for (i = 0; i < s->nstages; i++)
		d[i] = s->depth[i];
	f[0] = c;
	f[1] = h;
	f[2] = w;
	cJSON_AddStringToObject(j, "backbone", "resnetv2");
	cJSON_AddStringToObject(j, "backbone_flavor", s->flavor == EMBED_RESNETV2_TIMM ?
				"timm" : "jeonsworld");
	cJSON_AddNumberToObject(j, "backbone_stem_channels", s->stem_chs);
	cJSON_AddItemToObject(j, "backbone_units_per_stage", cJSON_CreateDoubleArray(d,
											s->nstages));
	cJSON_AddItemToObject(j, "backbone_features", cJSON_CreateDoubleArray(f, 3));
}

static void
vit_describe(const void *state, cJSON *j)
{
	const embed_vit_config *c = ((const vit_state *)state)->cfg;

	cJSON_AddNumberToObject(j, "hidden_size", c->hidden);
	cJSON_AddNumberToObject(j, "num_hidden_layers", c->layers);
	cJSON_AddNumberToObject(j, "num_attention_heads", c->heads);
	cJSON_AddNumberToObject(j, "intermediate_size", c->intermediate);
	cJSON_AddNumberToObject(j, "image_width", c->image_w);
	cJSON_AddNumberToObject(j, "image_height", c->image_h);
	cJSON_AddNumberToObject(j, "patch_size", c->patch);
	cJSON_AddNumberToObject(j, "num_channels", c->channels);
	cJSON_AddNumberToObject(j, "layer_norm_eps", c->ln_eps);
	cJSON_AddStringToObject(j, "hidden_act", c->act == EMBED_ACT_GELU ? "gelu" : "gelu_tanh");
	cJSON_AddBoolToObject(j, "qkv_bias", c->qkv_bias);
	cJSON_AddNumberToObject(j, "prefix_tokens", c->prefix_tokens);
	cJSON_AddStringToObject(j, "global_pool", c->global_pool ? "avg" : "token");
	describe_backbone(((const vit_state *)state)->vit, j);
}

const embed_family embed_family_vit = {
	.name = "vit",
	.detect = vit_detect,
	.open = vit_open,
	.forward = vit_forward,
	.free = vit_free,
	.describe = vit_describe,
};
