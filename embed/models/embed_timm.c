/* embed_timm.c - architecture, config and preprocessing of timm checkpoints. */
#include "embed/models/embed_timm.h"
#include "embed/images/embed_preproc.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "embed/models/embed_vit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
embed_arch_source_name(int src)
{
	switch (src) {
	case EMBED_ARCH_USER: return "--arch";
	case EMBED_ARCH_CHECKPOINT: return "the checkpoint's 'arch'";
	case EMBED_ARCH_ARGS_YAML: return "args.yaml's model";
	case EMBED_ARCH_CKPT_ARGS: return "the checkpoint's args.model";
	default: return "?";
	}
}

/* Length of a model name without its ".tag" (and "timm/" prefix: *start). */
static size_t
base_len(const char *name, const char **start)
{
	const char *dot;

	if (!strncmp(name, "hf-hub:", 7))
		name += 7;
	if (!strncmp(name, "timm/", 5))
		name += 5;
	*start = name;
	dot = strchr(name, '.');
	return dot ? (size_t)(dot - name) : strlen(name);
}

static int
same_arch(const char *a, const char *b)
{
	const char *sa, *sb;
	size_t na = base_len(a, &sa), nb = base_len(b, &sb);

	return na == nb && !strncmp(sa, sb, na);
}

int
embed_timm_arch(const embed_ckpt *ck, const embed_pt_info *info,
		const embed_registry_entry **pe, const char **name, int *src)
{
	const char *cand[4];
	char source[1200];
	int i, pick = -1;

	*pe = NULL;
	*name = NULL;
	*src = -1;
	cand[EMBED_ARCH_USER] = ck->arch;
	cand[EMBED_ARCH_CHECKPOINT] = info ? info->arch : NULL;
	cand[EMBED_ARCH_ARGS_YAML] = ck->args ? ck->args->model : NULL;
	cand[EMBED_ARCH_CKPT_ARGS] = info ? info->args_model : NULL;
	for (i = 0; i < 4; i++) {
		if (cand[i] && !*cand[i])
			cand[i] = NULL;
		if (cand[i] && pick < 0)
			pick = i;
	}
	if (pick < 0)
		return vv_error(VV_ENOTFOUND, "%s: no architecture recorded (no 'arch' in the "
				"checkpoint, %s): give --arch NAME, e.g. --arch vit_base_patch16_224",
				ck->weights, ck->args_path ? "no model: in args.yaml" :
				"no args.yaml next to it");
	for (i = pick + 1; i < 4; i++)
		if (cand[i] && !same_arch(cand[i], cand[pick])) {
			vv_warn("%s: using architecture %.100s from %s; %s says %.100s",
				ck->weights, cand[pick], embed_arch_source_name(pick),
				embed_arch_source_name(i), cand[i]);
			break;
		}
	snprintf(source, sizeof(source), "%s (architecture from %s)", ck->weights,
		 embed_arch_source_name(pick));
	*src = pick;
	*pe = embed_registry_find(cand[pick], source);
	if (!*pe)
		return VV_ENOTFOUND;
	if (strcmp((*pe)->default_tag ? (*pe)->default_tag : "", "") &&
	    strchr(cand[pick], '.'))
		vv_debug("%s: %.100s: preprocessing of pretrained tag %s (%s, crop_pct %g)",
			 ck->weights, cand[pick], (*pe)->default_tag,
			 (*pe)->interpolation == EMBED_RESAMPLE_BICUBIC ? "bicubic" : "bilinear",
			 (*pe)->crop_pct);
	*name = cand[pick];
	*src = pick;
	return 0;
}

/* Parts of timm ViTs vitviz does not compute: tensor name pieces. */
static const struct {
	const char *piece; /* found at the start (^) or anywhere in a name */
	int at_start;
	const char *what;
} unsupported[] = {
	{ "pre_logits.", 1, "the representation layer pre_logits (Linear + tanh of old timm ViTs)" },
	{ "norm_pre.", 1, "a LayerNorm before the blocks (pre_norm, CLIP-style)" },
	{ "reg_token", 1, "register tokens" },
	{ "attn_pool.", 1, "attention pooling (global_pool 'map')" },
	{ "patch_embed.norm.", 1, "a norm after the patch embedding" },
	{ ".attn.q_norm.", 0, "qk-norm in attention" },
	{ ".attn.k_norm.", 0, "qk-norm in attention" },
	{ ".attn.norm.", 0, "a norm inside attention (scale_attn_norm)" },
	{ ".mlp.norm.", 0, "a norm inside the MLP (scale_mlp_norm)" },
	{ ".mlp.fc1_g.", 0, "a gated (SwiGLU) MLP" },
	{ "embeddings.cls_token", 0, "Hugging Face ViT names (give the checkpoint folder, with "
	  "its config.json)" },
};

static int
check_supported(const embed_tensors *t, const char *source)
{
	size_t i, k;

	for (i = 0; i < t->n; i++)
		for (k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++) {
			const char *p = unsupported[k].piece, *nm = t->v[i].name;

			if (unsupported[k].at_start ? !strncmp(nm, p, strlen(p)) : !!strstr(nm, p))
				return vv_error(VV_EUNSUPPORTED, "%s: tensor %.120s: %s is not "
						"supported", source, nm, unsupported[k].what);
		}
	return 0;
}

/* "[a, b, c]" of a tensor. */
static const char *
shape_of(char *buf, size_t size, const embed_tensor *x)
{
	size_t o = 0;
	int i;

	o += (size_t)snprintf(buf, size, "[");
	for (i = 0; i < x->ndim && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? ", " : "",
				      (long long)x->shape[i]);
	if (o < size)
		snprintf(buf + o, size - o, "]");
	return buf;
}

/* Width, depth, patch size and distillation token against the entry. */
static int
check_shape(const embed_registry_entry *e, const embed_tensors *t, const char *source)
{
	const embed_tensor *cls = embed_tensors_find(t, "cls_token");
	const embed_tensor *pw = embed_tensors_find(t, "patch_embed.proj.weight");
	const embed_tensor *dist = embed_tensors_find(t, "dist_token");
	char sh[96];
	long maxb = -1;
	size_t i;
	int has_bb = 0;

	for (i = 0; i < t->n; i++)
		if (!strncmp(t->v[i].name, "patch_embed.backbone.", 21))
			has_bb = 1;
	if (has_bb && !e->hybrid)
		return vv_error(VV_EMISMATCH, "%s: the weights hold a ResNet backbone "
				"(patch_embed.backbone.*) but architecture %s is a plain ViT (a "
				"hybrid such as vit_base_r50_s16_224?)", source, e->name);
	if (!has_bb && e->hybrid && cls)
		return vv_error(VV_EMISMATCH, "%s: architecture %s is a hybrid ResNet + ViT but "
				"the weights have no patch_embed.backbone.* tensors", source, e->name);
	if (cls && cls->ndim == 3 && cls->shape[2] != e->width)
		return vv_error(VV_EMISMATCH, "%s: the weights have width %lld (cls_token %s) but "
				"architecture %s has width %d", source, (long long)cls->shape[2],
				shape_of(sh, sizeof(sh), cls), e->name, e->width);
	if (pw && pw->ndim == 4 && (pw->shape[2] != e->patch || pw->shape[3] != e->patch))
		return vv_error(VV_EMISMATCH, "%s: the weights have %lldx%lld patches "
				"(patch_embed.proj.weight %s) but architecture %s has patch %d",
				source, (long long)pw->shape[2], (long long)pw->shape[3],
				shape_of(sh, sizeof(sh), pw), e->name, e->patch);
	for (i = 0; i < t->n; i++) {
		const char *nm = t->v[i].name;
		char *end;
		long b;

		if (strncmp(nm, "blocks.", 7) || nm[7] < '0' || nm[7] > '9')
			continue;
		b = strtol(nm + 7, &end, 10);
		if (*end == '.' && b < 100000 && b > maxb)
			maxb = b;
	}
	if (maxb >= 0 && maxb + 1 != e->depth)
		return vv_error(VV_EMISMATCH, "%s: the weights have %ld blocks but architecture %s "
				"has depth %d", source, maxb + 1, e->name, e->depth);
	if (dist && e->prefix_tokens < 2)
		return vv_error(VV_EMISMATCH, "%s: the weights hold a distillation token "
				"(dist_token) but architecture %s has none (a deit_*_distilled_* "
				"architecture?)", source, e->name);
	if (!dist && cls && e->prefix_tokens > 1)
		return vv_error(VV_EMISMATCH, "%s: architecture %s is distilled but the weights "
				"have no dist_token", source, e->name);
	return 0;
}

int
embed_timm_config(const embed_ckpt *ck, const embed_registry_entry *e,
		  const embed_tensors *t, embed_vit_config **pc, embed_preproc *pp)
{
	const embed_timm_args *a = ck->args;
	const embed_tensor *pos;
	embed_vit_config *c = NULL;
	const float *mean = e->mean, *std = e->std;
	double crop = e->crop_pct;
	int err, interp = e->interpolation;

	*pc = NULL;
	err = check_supported(t, ck->weights);
	if (err)
		return err;
	err = check_shape(e, t, ck->weights);
	if (err)
		return err;
	err = embed_registry_config(e, &c);
	if (err)
		return err;
	if (a && a->img_size)
		c->image_w = c->image_h = a->img_size;
	if (a && a->global_pool >= 0) {
		if (a->global_pool != EMBED_POOL_CLS && c->prefix_tokens > 1) {
			err = vv_error(VV_EUNSUPPORTED, "%s: gp avg with the distilled architecture %s",
				       ck->args_path, e->name);
			goto out_free;
		}
		c->global_pool = a->global_pool;
	}
	err = embed_vit_config_validate(c, a && a->img_size ? ck->args_path : e->name);
	if (err)
		goto out_free;
	pos = embed_tensors_find(t, "pos_embed");
	/* a hybrid's grid follows from its backbone: checked when building */
	if (pos && pos->ndim == 3 && !e->hybrid) {
		int64_t want = (int64_t)(c->image_w / c->patch) * (c->image_h / c->patch) +
			       c->prefix_tokens;

		if (pos->shape[1] != want) {
			err = vv_error(VV_EMISMATCH, "%s: pos_embed has %lld positions but "
				       "architecture %s at image size %d (%s) has %lld", ck->weights,
				       (long long)pos->shape[1], e->name, c->image_w,
				       a && a->img_size ? "from args.yaml" : "the architecture's",
				       (long long)want);
			goto out_free;
		}
	}
	if (a && a->crop_pct > 0)
		crop = a->crop_pct;
	if (a && a->interpolation >= 0)
		interp = a->interpolation;
	if (a && a->has_mean)
		mean = a->mean;
	if (a && a->has_std)
		std = a->std;
	embed_timm_preproc(pp, c->image_w, crop, interp, mean, std);
	*pc = c;
	return 0;
out_free:
	embed_vit_config_free(&c);
	return err;
}
