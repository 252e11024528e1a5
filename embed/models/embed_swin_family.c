/*
 * embed_swin_family.c - Swin checkpoints behind embed_family: the shape
 * from config.json (transformers' SwinConfig), from the timm registry
 * (+ args.yaml), or from the tensors of an original Microsoft checkpoint;
 * the layout from the tensor names; the preprocessing.
 */
#include "embed/models/embed_swin.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "embed/models/embed_config.h"
#include "embed/models/embed_timm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the family keeps of one open checkpoint. */
typedef struct swin_state {
	embed_swin *net;          /* the network */
	embed_swin_config cfg;    /* its shape */
	embed_vit_config *labels; /* holds id2label (and the image size for
				   * preprocessing defaults); nothing else used */
} swin_state;

static const char *const layout_names[] = { "transformers", "timm", "Microsoft Swin" };

int
embed_swin_config_validate(const embed_swin_config *c, const char *name)
{
	int s, ch = c->embed_dim, res, ws, shift;

	if (c->embed_dim <= 0 || c->embed_dim > EMBED_MAX_HIDDEN || c->stages < 1 ||
	    c->stages > EMBED_SWIN_MAX_STAGES || c->window < 1 || c->window > 64 ||
	    c->patch < 1 || c->patch > 64 || c->image < 1 || c->image > EMBED_MAX_IMAGE ||
	    !(c->ln_eps > 0 && c->ln_eps < 1))
		return vv_error(VV_EFORMAT, "%s: Swin embed_dim %d, %d stages, window %d, patch %d, "
				"image %d: out of range", name, c->embed_dim, c->stages, c->window,
				c->patch, c->image);
	if (c->image % c->patch)
		return vv_error(VV_EFORMAT, "%s: image size %d is not a multiple of the patch size %d",
				name, c->image, c->patch);
	for (s = 0; s < c->stages; s++, ch *= 2) {
		if (c->depths[s] < 1 || c->depths[s] > EMBED_MAX_LAYERS || c->heads[s] < 1 ||
		    ch % c->heads[s] || ch > EMBED_MAX_HIDDEN || c->mlp_hidden[s] < 1 ||
		    c->mlp_hidden[s] > EMBED_MAX_INTERMEDIATE)
			return vv_error(VV_EFORMAT, "%s: Swin stage %d: %d blocks, %d heads for %d "
					"channels, MLP %d: out of range or heads not dividing the "
					"channels", name, s, c->depths[s], c->heads[s], ch,
					c->mlp_hidden[s]);
		embed_swin_stage_geometry(c, s, &res, &ws, &shift);
		if (c->layout == EMBED_SWIN_HF && res < c->window)
			return vv_error(VV_EFORMAT, "%s: window_size %d does not fit stage %d's %dx%d "
					"feature map (image_size %d, patch %d): transformers builds "
					"the relative position index for the %dx%d window and cannot "
					"run this config", name, c->window, s, res, res, c->image,
					c->patch, c->window, c->window);
	}
	return 0;
}

void
embed_swin_display_name(const embed_swin_config *c, char *buf, size_t size)
{
	static const struct {
		int dim, heads0, depth2;
		const char *sz;
	} sizes[] = { { 96, 3, 6, "T" }, { 96, 3, 18, "S" }, { 128, 4, 18, "B" },
		      { 192, 6, 18, "L" } };
	size_t i;

	if (c->stages == 4 && c->depths[0] == 2 && c->depths[1] == 2 && c->depths[3] == 2)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (c->embed_dim == sizes[i].dim && c->heads[0] == sizes[i].heads0 &&
			    c->depths[2] == sizes[i].depth2) {
				snprintf(buf, size, "Swin-%s", sizes[i].sz);
				return;
			}
	snprintf(buf, size, "Swin");
}

/* ---- the shape from the tensors ---------------------------------------- */

static const embed_tensor *
findf(const embed_tensors *t, const char *fmt, const char *prefix, int a, int b)
{
	char pre[160], name[200];

	snprintf(pre, sizeof(pre), fmt, a, b);
	snprintf(name, sizeof(name), "%s%s", prefix, pre);
	return embed_tensors_find(t, name);
}

int
embed_swin_infer(const embed_tensors *t, int layout, const char *prefix, int image,
		 const char *source, embed_swin_config *c)
{
	const int hf = layout == EMBED_SWIN_HF;
	const char *blk = hf ? "encoder.layers.%d.blocks.%d." : "layers.%d.blocks.%d.";
	const char *ln1 = hf ? "%slayernorm_before.weight" : "%snorm1.weight";
	const char *tab = hf ? "%sattention.self.relative_position_bias_table"
			     : "%sattn.relative_position_bias_table";
	const char *fc1 = hf ? "%sintermediate.dense.weight" : "%smlp.fc1.weight";
	const embed_tensor *pw, *x;
	char fmt[200];
	int s, j, side;

	memset(c, 0, sizeof(*c));
	c->layout = layout;
	c->ln_eps = 1e-5;
	c->qkv_bias = 1;
	{
		char name[160];

		snprintf(name, sizeof(name), "%s%s", prefix,
			 hf ? "embeddings.patch_embeddings.projection.weight" : "patch_embed.proj.weight");
		pw = embed_tensors_find(t, name);
		if (!pw || pw->ndim != 4 || pw->shape[1] != 3 || pw->shape[2] != pw->shape[3] ||
		    pw->shape[0] < 1 || pw->shape[0] > EMBED_MAX_HIDDEN || pw->shape[2] > 64)
			return vv_error(pw ? VV_EFORMAT : VV_ENOTFOUND, "%s: no Swin patch embedding "
					"%s [C, 3, p, p]", source, name);
	}
	c->embed_dim = (int)pw->shape[0];
	c->patch = (int)pw->shape[2];
	for (s = 0; s < EMBED_SWIN_MAX_STAGES; s++) {
		snprintf(fmt, sizeof(fmt), ln1, blk);
		if (!findf(t, fmt, prefix, s, 0))
			break;
		for (j = 0; j < EMBED_MAX_LAYERS && findf(t, fmt, prefix, s, j); j++)
			;
		c->depths[s] = j;
		snprintf(fmt, sizeof(fmt), tab, blk);
		x = findf(t, fmt, prefix, s, 0);
		if (!x || x->ndim != 2 || x->shape[1] < 1 || x->shape[1] > 4096)
			return vv_error(VV_ENOTFOUND, "%s: Swin stage %d has no relative position "
					"bias table [(2w-1)^2, heads]", source, s);
		c->heads[s] = (int)x->shape[1];
		side = (int)lround(sqrt((double)x->shape[0]));
		if (side * side != x->shape[0] || !(side & 1))
			return vv_error(VV_EFORMAT, "%s: Swin stage %d: relative position bias table "
					"of %lld rows is not (2w-1)^2", source, s,
					(long long)x->shape[0]);
		if (s == 0)
			c->window = (side + 1) / 2;
		snprintf(fmt, sizeof(fmt), fc1, blk);
		x = findf(t, fmt, prefix, s, 0);
		if (!x || x->ndim != 2)
			return vv_error(VV_ENOTFOUND, "%s: Swin stage %d has no MLP", source, s);
		c->mlp_hidden[s] = (int)x->shape[0];
	}
	c->stages = s;
	if (!s)
		return vv_error(VV_ENOTFOUND, "%s: no Swin stages (no %s)", source, "layers.0.blocks.0");
	c->mlp_ratio = (double)c->mlp_hidden[0] / c->embed_dim;
	{
		char name[160];

		snprintf(name, sizeof(name), "%s%s", prefix,
			 hf ? "embeddings.position_embeddings" : "absolute_pos_embed");
		c->ape = embed_tensors_find(t, name) != NULL;
		snprintf(fmt, sizeof(fmt), "%sattn.qkv.bias", blk);
		if (!hf && !findf(t, fmt, prefix, 0, 0))
			c->qkv_bias = 0;
	}
	if (image > 0) {
		c->image = image;
		return 0;
	}
	/* the Microsoft code keeps attn_mask: (res / w)^2 windows in stage 0 */
	snprintf(fmt, sizeof(fmt), "%sattn_mask", blk);
	x = c->depths[0] > 1 ? findf(t, fmt, prefix, 0, 1) : NULL;
	if (x && x->ndim == 3 && x->shape[1] == (int64_t)c->window * c->window) {
		int nw = (int)lround(sqrt((double)x->shape[0]));

		if (nw > 0 && (int64_t)nw * nw == x->shape[0] && nw * c->window * c->patch <= EMBED_MAX_IMAGE) {
			c->image = nw * c->window * c->patch;
			return 0;
		}
	}
	c->image = c->window == 12 ? 384 : 224;
	vv_info("%s: image size not recorded; taking %d (window %d)", source, c->image, c->window);
	return 0;
}

/* Which layout names `t` uses: HF ("swin." / "" prefix), timm or Microsoft. */
static int
detect_layout(const embed_tensors *t, const char **prefix)
{
	*prefix = "";
	if (embed_tensors_find(t, "swin.embeddings.patch_embeddings.projection.weight")) {
		*prefix = "swin.";
		return EMBED_SWIN_HF;
	}
	if (embed_tensors_find(t, "embeddings.patch_embeddings.projection.weight"))
		return EMBED_SWIN_HF;
	if (embed_tensors_find(t, "layers.0.downsample.reduction.weight") ||
	    embed_tensors_find(t, "head.weight"))
		return EMBED_SWIN_MS;
	return EMBED_SWIN_TIMM;
}

/* ---- the family --------------------------------------------------------- */

static int
swin_detect(const embed_family_probe *p)
{
	if (p->ck->format != EMBED_CKPT_TIMM)
		return p->model_type && !strcmp(p->model_type, "swin");
	if (p->entry)
		return !strcmp(embed_registry_family(p->entry), "swin");
	return p->t && (embed_tensors_find(p->t, "layers.0.blocks.0.attn.relative_position_bias_table") ||
			embed_tensors_find(p->t, "swin.encoder.layers.0.blocks.0.attention.self."
					   "relative_position_bias_table"));
}

/* An int array of config.json (depths, num_heads). */
static int
int_array(const char *name, const cJSON *root, const char *key, int *v, int *n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key), *it;
	int k = 0;

	if (!cJSON_IsArray(a))
		return vv_error(VV_EFORMAT, "%s: \"%s\" is not an array", name, key);
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsNumber(it) || k == EMBED_SWIN_MAX_STAGES || it->valuedouble != floor(it->valuedouble) ||
		    fabs(it->valuedouble) > 1e6)
			return vv_error(VV_EFORMAT, "%s: \"%s\" must be at most %d integers", name, key,
					EMBED_SWIN_MAX_STAGES);
		v[k++] = (int)it->valuedouble;
	}
	*n = k;
	return 0;
}

int
embed_swin_config_parse(const char *name, const char *text, size_t len, embed_swin_config *c,
			embed_vit_config *labels)
{
	static const int dd[4] = { 2, 2, 6, 2 }, dh[4] = { 3, 6, 12, 24 };
	const cJSON *it;
	cJSON *root;
	int err = 0, nd = 4, nh = 4, i;
	char act[32] = "gelu";

	memset(c, 0, sizeof(*c));
	root = vv_json_parse(name, text, len);
	if (!root)
		return VV_EFORMAT;
	if (!cJSON_IsObject(root)) {
		err = vv_error(VV_EFORMAT, "%s: not a JSON object", name);
		goto out;
	}
	c->layout = EMBED_SWIN_HF;
	c->image = (int)vv_json_get_int(root, "image_size", 224);
	c->patch = (int)vv_json_get_int(root, "patch_size", 4);
	c->embed_dim = (int)vv_json_get_int(root, "embed_dim", 96);
	c->window = (int)vv_json_get_int(root, "window_size", 7);
	c->mlp_ratio = vv_json_get_double(root, "mlp_ratio", 4.0);
	c->ln_eps = vv_json_get_double(root, "layer_norm_eps", 1e-5);
	c->qkv_bias = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "qkv_bias"));
	c->ape = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "use_absolute_embeddings"));
	snprintf(act, sizeof(act), "%s", vv_json_get_string(root, "hidden_act", "gelu"));
	memcpy(c->depths, dd, sizeof(dd));
	memcpy(c->heads, dh, sizeof(dh));
	if (cJSON_GetObjectItemCaseSensitive(root, "depths") &&
	    (err = int_array(name, root, "depths", c->depths, &nd)))
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(root, "num_heads") &&
	    (err = int_array(name, root, "num_heads", c->heads, &nh)))
		goto out;
	if (nd != nh || !nd) {
		err = vv_error(VV_EFORMAT, "%s: %d depths but %d num_heads", name, nd, nh);
		goto out;
	}
	c->stages = nd;
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "image_size")) && !cJSON_IsNumber(it)) {
		err = vv_error(VV_EUNSUPPORTED, "%s: image_size must be one number (square inputs)",
			       name);
		goto out;
	}
	if (strcmp(act, "gelu")) {
		err = vv_error(VV_EUNSUPPORTED, "%s: hidden_act \"%s\" (vitviz computes \"gelu\")",
			       name, act);
		goto out;
	}
	if (c->ape) {
		/* SwinEmbeddings adds a [1, patches + 1, C] parameter to patches
		 * tokens: transformers fails on such a model itself */
		err = vv_error(VV_EUNSUPPORTED, "%s: use_absolute_embeddings (transformers' Swin "
			       "cannot run it: its position_embeddings have one row more than the "
			       "patches)", name);
		goto out;
	}
	if (!(c->mlp_ratio > 0 && c->mlp_ratio < 1000)) {
		err = vv_error(VV_EFORMAT, "%s: mlp_ratio %g out of range", name, c->mlp_ratio);
		goto out;
	}
	for (i = 0; i < c->stages; i++)
		c->mlp_hidden[i] = (int)(c->mlp_ratio * (c->embed_dim << i));
	err = embed_swin_config_validate(c, name);
	if (err)
		goto out;
	embed_vit_config_defaults(labels);
	labels->image_w = labels->image_h = c->image;
	it = cJSON_GetObjectItemCaseSensitive(root, "id2label");
	if (it)
		err = embed_vit_config_parse_labels(name, it, labels);
out:
	cJSON_Delete(root);
	return err;
}

/* The registry's shape (+ args.yaml's img_size) and timm's eval preprocessing. */
static int
timm_config(const embed_family_probe *p, swin_state *s, embed_preproc *pp)
{
	const embed_registry_entry *e = p->entry;
	const embed_timm_args *a = p->ck->args;
	embed_swin_config *c = &s->cfg;
	const float *mean = e->mean, *std = e->std;
	double crop = e->crop_pct;
	int interp = e->interpolation, i;

	memset(c, 0, sizeof(*c));
	c->embed_dim = e->width;
	c->window = e->window;
	c->patch = e->patch;
	c->image = a && a->img_size ? a->img_size : e->img_size;
	c->mlp_ratio = e->mlp_ratio;
	c->qkv_bias = 1;
	c->ln_eps = 1e-5;
	for (i = 0; i < EMBED_SWIN_MAX_STAGES && e->stage_depths[i] > 0; i++) {
		c->depths[i] = e->stage_depths[i];
		c->heads[i] = e->stage_heads[i];
		c->mlp_hidden[i] = (int)((double)(e->width << i) * e->mlp_ratio);
	}
	c->stages = i;
	if (a && a->crop_pct > 0)
		crop = a->crop_pct;
	if (a && a->interpolation >= 0)
		interp = a->interpolation;
	if (a && a->has_mean)
		mean = a->mean;
	if (a && a->has_std)
		std = a->std;
	embed_timm_preproc(pp, c->image, crop, interp, mean, std);
	return 0;
}

static void swin_free(void **pstate);

static int
swin_open(const embed_family_probe *p, void **pstate, embed_model_info *info)
{
	const embed_ckpt *ck = p->ck;
	embed_tensors *t = NULL, *own = NULL;
	swin_state *s;
	const char *prefix = "", *src = ck->weights;
	char *pp_path = NULL;
	int err, layout, w, h;

	*pstate = NULL;
	s = calloc(1, sizeof(*s));
	if (s)
		s->labels = calloc(1, sizeof(*s->labels));
	if (!s || !s->labels) {
		free(s);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	if (ck->format != EMBED_CKPT_TIMM) {
		/* transformers: config.json, preprocessor_config.json, HF names */
		err = embed_swin_config_parse(p->config_path, p->config_text, p->config_len,
					      &s->cfg, s->labels);
		if (err)
			goto out_free;
		pp_path = vv_path_join(ck->path, "preprocessor_config.json");
		if (!pp_path) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
		err = embed_preproc_load(pp_path, s->labels, &info->pp);
		if (err)
			goto out_free;
		if (embed_preproc_out_size(&info->pp, &w, &h) || w != s->cfg.image ||
		    h != s->cfg.image) {
			err = vv_error(VV_EMISMATCH, "%s: the preprocessing does not give the %dx%d "
				       "images of config.json's image_size", pp_path, s->cfg.image,
				       s->cfg.image);
			goto out_free;
		}
		err = embed_ckpt_load_tensors(ck, &own);
		if (err)
			goto out_free;
		t = own;
		layout = detect_layout(t, &prefix);
		if (layout != EMBED_SWIN_HF) {
			err = vv_error(VV_EFORMAT, "%s: config.json says swin but the tensors are not "
				       "named as transformers' Swin (no embeddings.patch_embeddings)",
				       src);
			goto out_free;
		}
	} else {
		/* timm / Microsoft: the architecture if named, else the tensors */
		t = p->t;
		layout = detect_layout(t, &prefix);
		if (p->entry) {
			err = timm_config(p, s, &info->pp);
			s->cfg.layout = layout;
			if (!err) {
				/* the registry's shape must be the tensors' (clear messages) */
				embed_swin_config got;

				err = embed_swin_infer(t, layout, prefix, s->cfg.image, src, &got);
				if (!err && (got.embed_dim != s->cfg.embed_dim || got.patch != s->cfg.patch))
					err = vv_error(VV_EMISMATCH, "%s: embed_dim %d, patch %d, but "
						       "architecture %s has %d, %d", src, got.embed_dim,
						       got.patch, p->entry->name, s->cfg.embed_dim,
						       s->cfg.patch);
				else if (!err && got.stages < s->cfg.stages)
					err = vv_error(VV_ENOTFOUND, "%s: Swin stage %d is missing: the "
						       "checkpoint has %d stage(s), architecture %s %d",
						       src, got.stages, got.stages, p->entry->name,
						       s->cfg.stages);
				if (!err)
					s->cfg.qkv_bias = got.qkv_bias;
			}
		} else {
			err = embed_swin_infer(t, layout, prefix, 0, src, &s->cfg);
			if (!err) {
				embed_registry_entry e = { .img_size = s->cfg.image, .crop_pct = 0.9,
							   .interpolation = EMBED_RESAMPLE_BICUBIC,
							   .mean = { 0.485f, 0.456f, 0.406f },
							   .std = { 0.229f, 0.224f, 0.225f } };

				/* the Microsoft code's eval transform: timm's, crop 0.875
				 * up to 224 (config TEST.CROP), none at 384 */
				e.crop_pct = s->cfg.image > 224 ? 1.0 : 0.875;
				embed_registry_preproc(&e, &info->pp);
			}
		}
		if (err)
			goto out_free;
		embed_vit_config_defaults(s->labels);
	}
	err = embed_swin_build_consume(&s->cfg, t, src, &s->net);
	if (err)
		goto out_free;
	if (embed_swin_num_labels(s->net) && s->labels->num_labels &&
	    s->labels->num_labels != embed_swin_num_labels(s->net)) {
		err = vv_error(VV_EMISMATCH, "%s: id2label has %d labels but the classifier has "
			       "%d outputs", p->config_path ? p->config_path : src,
			       s->labels->num_labels, embed_swin_num_labels(s->net));
		goto out_free;
	}
	if (s->labels->num_labels != embed_swin_num_labels(s->net))
		err = embed_vit_config_set_labels(s->labels, embed_swin_num_labels(s->net), NULL);
	if (err)
		goto out_free;
	info->family = "swin";
	embed_swin_display_name(&s->cfg, info->name, sizeof(info->name));
	snprintf(info->arch, sizeof(info->arch), "%s", p->entry ? p->entry->name :
		 layout == EMBED_SWIN_HF ? (embed_swin_num_labels(s->net) ?
					    "SwinForImageClassification" : "SwinModel") : "");
	info->dim = embed_swin_dim(s->net);
	info->num_labels = s->labels->num_labels;
	info->id2label = s->labels->id2label;
	info->image_w = info->image_h = s->cfg.image;
	info->avg_pool = 1;
	info->pool_fixed = 1;
	embed_tensors_free(&own);
	free(pp_path);
	*pstate = s;
	return 0;
out_free:
	embed_tensors_free(&own);
	free(pp_path);
	swin_free((void **)&s);
	return err;
}

static int
swin_forward(void *state, const float *pixels, int batch, int pool, float *emb, float *logits)
{
	(void)pool; /* the embedding is always the pooled vector */
	return embed_swin_forward(((swin_state *)state)->net, pixels, batch, emb, logits);
}

static void
swin_free(void **pstate)
{
	swin_state *s = *pstate;

	if (!s)
		return;
	embed_swin_free(&s->net);
	embed_vit_config_free(&s->labels);
	free(s);
	*pstate = NULL;
}

static void
swin_describe(const void *state, cJSON *j)
{
	const embed_swin_config *c = &((const swin_state *)state)->cfg;
	double d[EMBED_SWIN_MAX_STAGES], h[EMBED_SWIN_MAX_STAGES];
	int i;

	for (i = 0; i < c->stages; i++) {
		d[i] = c->depths[i];
		h[i] = c->heads[i];
	}
	cJSON_AddNumberToObject(j, "embed_dim", c->embed_dim);
	cJSON_AddItemToObject(j, "depths", cJSON_CreateDoubleArray(d, c->stages));
	cJSON_AddItemToObject(j, "num_heads", cJSON_CreateDoubleArray(h, c->stages));
	cJSON_AddNumberToObject(j, "window_size", c->window);
	cJSON_AddNumberToObject(j, "patch_size", c->patch);
	cJSON_AddNumberToObject(j, "image_width", c->image);
	cJSON_AddNumberToObject(j, "image_height", c->image);
	cJSON_AddNumberToObject(j, "mlp_ratio", c->mlp_ratio);
	cJSON_AddBoolToObject(j, "absolute_position_embedding", c->ape);
	cJSON_AddNumberToObject(j, "layer_norm_eps", c->ln_eps);
	cJSON_AddStringToObject(j, "layout", layout_names[c->layout]);
	cJSON_AddStringToObject(j, "global_pool", "avg");
}

const embed_family embed_family_swin = {
	.name = "swin",
	.detect = swin_detect,
	.open = swin_open,
	.forward = swin_forward,
	.free = swin_free,
	.describe = swin_describe,
};
