/* embed_flower.c - the flower tutorial's ViT checkpoints: names, preprocessing, labels. */
#include "embed/models/embed_flower.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* class_indices.json larger than this is not one */
#define LABELS_MAX_FILE ((size_t)4 << 20)

/* The model functions of vit_model.py (all at 224, MLP ratio 4). */
static const struct {
	const char *name;  /* function name */
	int patch, width, depth, heads;
} archs[] = {
	{ "vit_base_patch16_224", 16, 768, 12, 12 },
	{ "vit_base_patch16_224_in21k", 16, 768, 12, 12 },
	{ "vit_base_patch32_224", 32, 768, 12, 12 },
	{ "vit_base_patch32_224_in21k", 32, 768, 12, 12 },
	{ "vit_large_patch16_224", 16, 1024, 24, 16 },
	{ "vit_large_patch16_224_in21k", 16, 1024, 24, 16 },
	{ "vit_large_patch32_224_in21k", 32, 1024, 24, 16 },
	{ "vit_huge_patch14_224_in21k", 14, 1280, 32, 16 },
};

#define NARCHS (sizeof(archs) / sizeof(archs[0]))
/* predict.py's transform */
#define FLOWER_RESIZE 256
#define FLOWER_CROP 224

int
embed_flower_config(const embed_ckpt *ck, const embed_tensors *t, embed_registry_entry *e,
		    embed_vit_config **pc, embed_preproc *pp)
{
	const char *name = ck->arch ? ck->arch : "vit_base_patch16_224_in21k";
	embed_vit_config *c = NULL;
	char base[EMBED_REGISTRY_NAME_MAX + 1], list[400];
	size_t i, n, o = 0;
	int err;

	(void)t;
	*pc = NULL;
	for (i = 0; i < NARCHS; i++)
		if (!strcmp(archs[i].name, name))
			break;
	memset(e, 0, sizeof(*e));
	if (i < NARCHS) {
		e->name = archs[i].name;
		e->depth = archs[i].depth;
		e->width = archs[i].width;
		e->heads = archs[i].heads;
		e->mlp_ratio = 4.0;
		e->patch = archs[i].patch;
		e->img_size = FLOWER_CROP;
	} else {
		/* a registry ViT of the same code (the tests' small ones) */
		const embed_registry_entry *re;

		n = strlen(name);
		if (n > 6 && !strcmp(name + n - 6, "_in21k"))
			n -= 6;
		snprintf(base, sizeof(base), "%.*s", (int)(n < sizeof(base) - 1 ? n : sizeof(base) - 1),
			 name);
		re = embed_registry_find(base, NULL);
		vv_error_clear();
		if (!re || strcmp(embed_registry_family(re), "vit") || re->hybrid ||
		    re->prefix_tokens != 1) {
			list[0] = '\0';
			for (i = 0; i < NARCHS && o < sizeof(list); i++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
						      archs[i].name);
			return vv_error(VV_ENOTFOUND, "%s: unknown --arch \"%.100s\" for the flower "
					"tutorial's vit_model.py (its models: %s)", ck->weights, name,
					list);
		}
		*e = *re;
		e->name = re->name;
	}
	if (e->img_size != FLOWER_CROP)
		return vv_error(VV_EMISMATCH, "%s: --arch %s takes %dx%d images but predict.py "
				"crops %dx%d", ck->weights, name, e->img_size, e->img_size,
				FLOWER_CROP, FLOWER_CROP);
	c = calloc(1, sizeof(*c));
	if (!c)
		return vv_error(VV_ENOMEM, "out of memory");
	/* vit_model.py: LayerNorm(eps=1e-6), nn.GELU, qkv_bias=True, class token */
	embed_vit_config_defaults(c);
	c->hidden = e->width;
	c->layers = e->depth;
	c->heads = e->heads;
	c->intermediate = (int)(e->width * e->mlp_ratio);
	c->image_w = c->image_h = e->img_size;
	c->patch = e->patch;
	c->ln_eps = 1e-6;
	c->architectures = calloc(1, sizeof(char *));
	if (!c->architectures || !(c->architectures[0] = vv_strdup(name))) {
		embed_vit_config_free(&c);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	c->n_arch = 1;
	err = embed_vit_config_validate(c, ck->weights);
	if (err) {
		embed_vit_config_free(&c);
		return err;
	}
	/* predict.py: Resize(256) (shorter side, bilinear through Pillow),
	 * CenterCrop(224), ToTensor, Normalize([0.5] * 3, [0.5] * 3) */
	memset(pp, 0, sizeof(*pp));
	pp->do_resize = 1;
	pp->resize_shortest = 1;
	pp->shortest = FLOWER_RESIZE;
	pp->size_w = pp->size_h = FLOWER_RESIZE;
	pp->resample = EMBED_RESAMPLE_BILINEAR;
	pp->do_crop = 1;
	pp->crop_w = pp->crop_h = FLOWER_CROP;
	pp->do_rescale = 1;
	pp->rescale = 1.0 / 255.0;
	pp->do_normalize = 1;
	for (i = 0; i < 3; i++)
		pp->mean[i] = pp->std[i] = 0.5f;
	*pc = c;
	return 0;
}

void
embed_flower_labels(const embed_ckpt *ck, int n, char ***pnames)
{
	char **names = NULL, *text = NULL, key[24];
	cJSON *root = NULL;
	size_t len;
	int i;

	*pnames = NULL;
	if (!ck->labels || n <= 0)
		return;
	if (vv_read_file(ck->labels, LABELS_MAX_FILE, &text, &len))
		goto out_warn;
	root = vv_json_parse(ck->labels, text, len);
	if (!root || !cJSON_IsObject(root) || cJSON_GetArraySize(root) != n) {
		if (root)
			vv_error(VV_EMISMATCH, "%s: %d classes, the classifier has %d outputs",
				 ck->labels, cJSON_IsObject(root) ? cJSON_GetArraySize(root) : 0, n);
		goto out_warn;
	}
	names = calloc((size_t)n, sizeof(char *));
	if (!names)
		goto out_warn;
	for (i = 0; i < n; i++) {
		const cJSON *v;

		snprintf(key, sizeof(key), "%d", i);
		v = cJSON_GetObjectItemCaseSensitive(root, key);
		if (!cJSON_IsString(v) || !(names[i] = vv_strdup(v->valuestring))) {
			vv_error(VV_EFORMAT, "%s: no class name for \"%s\"", ck->labels, key);
			goto out_warn;
		}
	}
	cJSON_Delete(root);
	free(text);
	*pnames = names;
	return;
out_warn:
	vv_warn("%s: class names not used (%s); naming the outputs LABEL_<i>", ck->labels,
		vv_errmsg()[0] ? vv_errmsg() : "unreadable");
	vv_error_clear();
	if (names)
		vv_strv_free(&names, (size_t)n);
	cJSON_Delete(root);
	free(text);
}
