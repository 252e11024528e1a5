/* embed_config.c - config.json and preprocessor_config.json. */
#include "embed/models/embed_config.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest config file read. */
#define CONFIG_MAX_FILE ((size_t)16 << 20)

/* The member `key`, or NULL when it is absent or JSON null. */
static const cJSON *
member(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return it && !cJSON_IsNull(it) ? it : NULL;
}

/* An integral JSON number within [lo, hi]. */
static int
as_int(const cJSON *it, long lo, long hi, int *out)
{
	double v;

	if (!cJSON_IsNumber(it))
		return -1;
	v = it->valuedouble;
	if (!(v >= (double)lo && v <= (double)hi) || v != floor(v))
		return -1;
	*out = (int)v;
	return 0;
}

/* Optional integer member (default kept when absent). */
static int
get_int(const char *name, const cJSON *obj, const char *key, int *out)
{
	const cJSON *it = member(obj, key);

	if (it && as_int(it, INT_MIN, INT_MAX, out))
		return vv_error(VV_EFORMAT, "%s: \"%s\" is not an integer", name, key);
	return 0;
}

/* Optional boolean member (true/false, or 0/1). */
static int
get_bool(const char *name, const cJSON *obj, const char *key, int *out)
{
	const cJSON *it = member(obj, key);
	int v;

	if (!it)
		return 0;
	if (cJSON_IsBool(it)) {
		*out = cJSON_IsTrue(it);
		return 0;
	}
	if (!as_int(it, 0, 1, &v)) {
		*out = v;
		return 0;
	}
	return vv_error(VV_EFORMAT, "%s: \"%s\" is not a boolean", name, key);
}

/* Optional finite number member. */
static int
get_double(const char *name, const cJSON *obj, const char *key, double *out)
{
	const cJSON *it = member(obj, key);

	if (!it)
		return 0;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return vv_error(VV_EFORMAT, "%s: \"%s\" is not a finite number", name, key);
	*out = it->valuedouble;
	return 0;
}

/* An int or a two-element [h, w] array (image_size, patch_size). */
static int
get_hw(const char *name, const cJSON *obj, const char *key, int *h, int *w)
{
	const cJSON *it = member(obj, key);

	if (!it)
		return 0;
	if (cJSON_IsNumber(it)) {
		if (as_int(it, 1, INT_MAX, h))
			goto out_bad;
		*w = *h;
		return 0;
	}
	if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 &&
	    !as_int(cJSON_GetArrayItem(it, 0), 1, INT_MAX, h) &&
	    !as_int(cJSON_GetArrayItem(it, 1), 1, INT_MAX, w))
		return 0;
out_bad:
	return vv_error(VV_EFORMAT, "%s: \"%s\" is not a positive integer or [h, w]", name, key);
}

void
embed_vit_config_defaults(embed_vit_config *c)
{
	memset(c, 0, sizeof(*c));
	c->hidden = 768;
	c->layers = 12;
	c->heads = 12;
	c->intermediate = 3072;
	c->image_w = c->image_h = 224;
	c->patch = 16;
	c->channels = 3;
	c->ln_eps = 1e-12;
	c->act = EMBED_ACT_GELU;
	c->qkv_bias = 1;
	c->prefix_tokens = 1;
	c->feature_stride = 1;
}

int
embed_vit_config_validate(const embed_vit_config *c, const char *name)
{
	int64_t tokens;

	if (c->hidden <= 0 || c->hidden > EMBED_MAX_HIDDEN)
		return vv_error(VV_EINVAL, "%s: hidden_size %d out of range 1..%d", name,
				c->hidden, EMBED_MAX_HIDDEN);
	if (c->layers <= 0 || c->layers > EMBED_MAX_LAYERS)
		return vv_error(VV_EINVAL, "%s: num_hidden_layers %d out of range 1..%d", name,
				c->layers, EMBED_MAX_LAYERS);
	if (c->heads <= 0 || c->hidden % c->heads)
		return vv_error(VV_EINVAL, "%s: hidden_size %d is not a multiple of "
				"num_attention_heads %d", name, c->hidden, c->heads);
	if (c->intermediate <= 0 || c->intermediate > EMBED_MAX_INTERMEDIATE)
		return vv_error(VV_EINVAL, "%s: intermediate_size %d out of range 1..%d", name,
				c->intermediate, EMBED_MAX_INTERMEDIATE);
	if (c->channels <= 0 || c->channels > EMBED_MAX_CHANNELS)
		return vv_error(VV_EINVAL, "%s: num_channels %d out of range 1..%d", name,
				c->channels, EMBED_MAX_CHANNELS);
	if (c->image_w <= 0 || c->image_h <= 0 || c->image_w > EMBED_MAX_IMAGE ||
	    c->image_h > EMBED_MAX_IMAGE)
		return vv_error(VV_EINVAL, "%s: image_size %dx%d out of range 1..%d", name,
				c->image_w, c->image_h, EMBED_MAX_IMAGE);
	if (c->feature_stride < 0 || c->feature_stride > 64)
		return vv_error(VV_EINVAL, "%s: feature stride %d out of range 1..64", name,
				c->feature_stride);
	/* a hybrid's backbone pads (SAME) or floors: its grid is checked when
	 * the model is built (a zeroed feature_stride means 1) */
	if (c->patch <= 0 || (c->feature_stride <= 1 && (c->image_w % c->patch ||
							  c->image_h % c->patch)))
		return vv_error(VV_EINVAL, "%s: image_size %dx%d is not a multiple of "
				"patch_size %d", name, c->image_w, c->image_h, c->patch);
	if (c->prefix_tokens < 1 || c->prefix_tokens > 8)
		return vv_error(VV_EINVAL, "%s: %d prefix tokens", name, c->prefix_tokens);
	{
		int64_t r = (int64_t)c->patch * (c->feature_stride > 1 ? c->feature_stride : 1);

		tokens = ((c->image_w + r - 1) / r) * ((c->image_h + r - 1) / r) +
			 c->prefix_tokens;
	}
	if (tokens > EMBED_MAX_TOKENS)
		return vv_error(VV_EINVAL, "%s: %lld tokens (image_size / patch_size) exceed %d",
				name, (long long)tokens, EMBED_MAX_TOKENS);
	if (!(c->ln_eps > 0 && c->ln_eps < 1))
		return vv_error(VV_EINVAL, "%s: layer_norm_eps %g out of range (0, 1)", name,
				c->ln_eps);
	if (c->num_labels < 0 || c->num_labels > EMBED_MAX_LABELS)
		return vv_error(VV_EINVAL, "%s: %d labels out of range 0..%d", name,
				c->num_labels, EMBED_MAX_LABELS);
	return 0;
}

static void
free_labels(embed_vit_config *c)
{
	int i;

	if (c->id2label)
		for (i = 0; i < c->num_labels; i++)
			free(c->id2label[i]);
	free(c->id2label);
	c->id2label = NULL;
	c->num_labels = 0;
}

int
embed_vit_config_set_labels(embed_vit_config *c, int n, char *const *names)
{
	char **v;
	int i;

	if (n < 0 || n > EMBED_MAX_LABELS)
		return vv_error(VV_EINVAL, "%d labels out of range", n);
	if (!n) {
		free_labels(c);
		return 0;
	}
	v = calloc(n ? (size_t)n : 1, sizeof(*v));
	if (!v)
		return vv_error(VV_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		char buf[32];

		if (!names)
			snprintf(buf, sizeof(buf), "LABEL_%d", i);
		v[i] = strdup(names ? names[i] : buf);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return vv_error(VV_ENOMEM, "out of memory");
		}
	}
	free_labels(c);
	c->id2label = v;
	c->num_labels = n;
	return 0;
}

int
embed_vit_config_parse_labels(const char *name, const cJSON *obj, embed_vit_config *c)
{
	const cJSON *it;
	char **v;
	int n = cJSON_GetArraySize(obj), err = 0, i;

	if (!cJSON_IsObject(obj))
		return vv_error(VV_EFORMAT, "%s: \"id2label\" is not an object", name);
	if (n > EMBED_MAX_LABELS)
		return vv_error(VV_EINVAL, "%s: %d labels exceed %d", name, n, EMBED_MAX_LABELS);
	if (!n) {
		free_labels(c);
		return 0;
	}
	v = calloc(n ? (size_t)n : 1, sizeof(*v));
	if (!v)
		return vv_error(VV_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, obj) {
		const char *k = it->string;
		char *end;
		long id;

		errno = 0;
		id = strtol(k, &end, 10);
		if (!k[0] || *end || errno || id < 0 || id >= n || (k[0] == '0' && k[1]) ||
		    k[0] == '+' || k[0] == ' ') {
			err = vv_error(VV_EFORMAT, "%s: id2label key \"%.40s\" is not an integer "
				       "in 0..%d", name, k, n - 1);
			goto out_free;
		}
		if (v[id]) {
			err = vv_error(VV_EFORMAT, "%s: id2label key %ld appears twice", name, id);
			goto out_free;
		}
		if (!cJSON_IsString(it)) {
			err = vv_error(VV_EFORMAT, "%s: id2label[%ld] is not a string", name, id);
			goto out_free;
		}
		v[id] = strdup(it->valuestring);
		if (!v[id]) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
	}
	free_labels(c);
	c->id2label = v;
	c->num_labels = n;
	return 0;
out_free:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return err;
}

static int
parse_arch(const char *name, const cJSON *arr, embed_vit_config *c)
{
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(arr))
		return vv_error(VV_EFORMAT, "%s: \"architectures\" is not a list", name);
	c->architectures = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
	if (!c->architectures)
		return vv_error(VV_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			return vv_error(VV_EFORMAT, "%s: \"architectures\" holds a non-string", name);
		c->architectures[n] = strdup(it->valuestring);
		if (!c->architectures[n])
			return vv_error(VV_ENOMEM, "out of memory");
		c->n_arch = ++n;
	}
	return 0;
}

int
embed_vit_config_parse(const char *name, const char *text, size_t len,
		       embed_vit_config **pc)
{
	embed_vit_config *c;
	cJSON *root;
	const cJSON *it;
	int err;

	*pc = NULL;
	root = vv_json_parse(name, text, len);
	if (!root)
		return VV_EFORMAT;
	c = malloc(sizeof(*c));
	if (!c) {
		cJSON_Delete(root);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	embed_vit_config_defaults(c);
	if (!cJSON_IsObject(root)) {
		err = vv_error(VV_EFORMAT, "%s: not a JSON object", name);
		goto out_free;
	}
	it = member(root, "model_type");
	if (it && (!cJSON_IsString(it) || strcmp(it->valuestring, "vit")))
		vv_warn("%s: model_type \"%s\" is not \"vit\"; reading it as a ViT", name,
			cJSON_IsString(it) ? it->valuestring : "?");
	if ((err = get_int(name, root, "hidden_size", &c->hidden)) ||
	    (err = get_int(name, root, "num_hidden_layers", &c->layers)) ||
	    (err = get_int(name, root, "num_attention_heads", &c->heads)) ||
	    (err = get_int(name, root, "intermediate_size", &c->intermediate)) ||
	    (err = get_hw(name, root, "image_size", &c->image_h, &c->image_w)) ||
	    (err = get_int(name, root, "num_channels", &c->channels)) ||
	    (err = get_double(name, root, "layer_norm_eps", &c->ln_eps)) ||
	    (err = get_bool(name, root, "qkv_bias", &c->qkv_bias)))
		goto out_free;
	{
		int ph = c->patch, pw = c->patch;

		if ((err = get_hw(name, root, "patch_size", &ph, &pw)))
			goto out_free;
		if (ph != pw) {
			err = vv_error(VV_EUNSUPPORTED, "%s: non-square patch_size [%d, %d]",
				       name, ph, pw);
			goto out_free;
		}
		c->patch = ph;
	}
	it = member(root, "hidden_act");
	if (it) {
		if (!cJSON_IsString(it)) {
			err = vv_error(VV_EFORMAT, "%s: \"hidden_act\" is not a string", name);
			goto out_free;
		}
		if (!strcmp(it->valuestring, "gelu")) {
			c->act = EMBED_ACT_GELU;
		} else if (!strcmp(it->valuestring, "gelu_new") ||
			   !strcmp(it->valuestring, "gelu_pytorch_tanh")) {
			c->act = EMBED_ACT_GELU_TANH;
		} else {
			err = vv_error(VV_EUNSUPPORTED, "%s: hidden_act \"%.40s\" is not supported "
				       "(gelu, gelu_new, gelu_pytorch_tanh)", name, it->valuestring);
			goto out_free;
		}
	}
	if ((it = member(root, "id2label")) && (err = embed_vit_config_parse_labels(name, it, c)))
		goto out_free;
	if ((it = member(root, "architectures")) && (err = parse_arch(name, it, c)))
		goto out_free;
	err = embed_vit_config_validate(c, name);
	if (err)
		goto out_free;
	cJSON_Delete(root);
	*pc = c;
	return 0;
out_free:
	embed_vit_config_free(&c);
	cJSON_Delete(root);
	return err;
}

int
embed_vit_config_load(const char *path, embed_vit_config **pc)
{
	char *text;
	size_t len;
	int err;

	*pc = NULL;
	/* a missing file is VV_ENOTFOUND, a folder or unreadable file VV_EREAD */
	err = vv_read_file(path, CONFIG_MAX_FILE, &text, &len);
	if (err)
		return err;
	err = embed_vit_config_parse(path, text, len, pc);
	free(text);
	return err;
}

void
embed_vit_config_free(embed_vit_config **pc)
{
	embed_vit_config *c = *pc;
	size_t i;

	if (!c)
		return;
	free_labels(c);
	for (i = 0; i < c->n_arch; i++)
		free(c->architectures[i]);
	free(c->architectures);
	free(c);
	*pc = NULL;
}

void
embed_preproc_defaults(embed_preproc *pp, const embed_vit_config *c)
{
	memset(pp, 0, sizeof(*pp));
	pp->do_resize = 1;
	pp->size_w = c ? c->image_w : 224;
	pp->size_h = c ? c->image_h : 224;
	pp->resample = EMBED_RESAMPLE_BILINEAR;
	pp->do_rescale = 1;
	pp->rescale = 1.0 / 255.0;
	pp->do_normalize = 1;
	pp->mean[0] = pp->mean[1] = pp->mean[2] = 0.5f;
	pp->std[0] = pp->std[1] = pp->std[2] = 0.5f;
}

/* size / crop_size: an int (square), {"height","width"}, or {"shortest_edge"}. */
static int
parse_size(const char *name, const cJSON *it, const char *key, int allow_shortest,
	   int *w, int *h, int *shortest)
{
	const cJSON *hh, *ww, *se;

	if (cJSON_IsNumber(it)) {
		if (as_int(it, 1, EMBED_MAX_IMAGE, h))
			goto out_bad;
		*w = *h;
		return 0;
	}
	if (!cJSON_IsObject(it))
		goto out_bad;
	hh = member(it, "height");
	ww = member(it, "width");
	se = member(it, "shortest_edge");
	if (hh && ww) {
		if (as_int(hh, 1, EMBED_MAX_IMAGE, h) || as_int(ww, 1, EMBED_MAX_IMAGE, w))
			goto out_bad;
		return 0;
	}
	if (se && allow_shortest && !member(it, "longest_edge")) {
		if (as_int(se, 1, EMBED_MAX_IMAGE, shortest))
			goto out_bad;
		return 1;
	}
	if (se || member(it, "longest_edge"))
		return vv_error(VV_EUNSUPPORTED, "%s: \"%s\" form not supported (use height/width"
				"%s)", name, key, allow_shortest ? " or shortest_edge alone" : "");
out_bad:
	return vv_error(VV_EFORMAT, "%s: \"%s\" is not a size in 1..%d", name, key,
			EMBED_MAX_IMAGE);
}

/* image_mean / image_std: three numbers (or one, replicated). */
static int
parse_triple(const char *name, const cJSON *obj, const char *key, float *v, int positive)
{
	const cJSON *it = member(obj, key), *x;
	double d[3];
	int i = 0;

	if (!it)
		return 0;
	if (cJSON_IsNumber(it)) {
		d[0] = d[1] = d[2] = it->valuedouble;
	} else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 3) {
		cJSON_ArrayForEach(x, it) {
			if (!cJSON_IsNumber(x))
				goto out_bad;
			d[i++] = x->valuedouble;
		}
	} else {
		goto out_bad;
	}
	for (i = 0; i < 3; i++) {
		if (!isfinite(d[i]) || (positive && !(d[i] > 0)))
			goto out_bad;
		v[i] = (float)d[i];
	}
	return 0;
out_bad:
	return vv_error(VV_EFORMAT, "%s: \"%s\" is not three %snumbers", name, key,
			positive ? "positive " : "");
}

int
embed_preproc_parse(const char *name, const char *text, size_t len,
		    const embed_vit_config *c, embed_preproc *pp)
{
	cJSON *root;
	const cJSON *it;
	int err = 0, r;

	embed_preproc_defaults(pp, c);
	/* a file that has no "size" means ViTImageProcessor's own 224 x 224 */
	pp->size_w = pp->size_h = 224;
	root = vv_json_parse(name, text, len);
	if (!root)
		return VV_EFORMAT;
	if (!cJSON_IsObject(root)) {
		err = vv_error(VV_EFORMAT, "%s: not a JSON object", name);
		goto out_free;
	}
	if ((err = get_bool(name, root, "do_resize", &pp->do_resize)) ||
	    (err = get_bool(name, root, "do_rescale", &pp->do_rescale)) ||
	    (err = get_double(name, root, "rescale_factor", &pp->rescale)) ||
	    (err = get_bool(name, root, "do_normalize", &pp->do_normalize)) ||
	    (err = get_bool(name, root, "do_center_crop", &pp->do_crop)) ||
	    (err = parse_triple(name, root, "image_mean", pp->mean, 0)) ||
	    (err = parse_triple(name, root, "image_std", pp->std, 1)))
		goto out_free;
	if (!(pp->rescale > 0)) {
		err = vv_error(VV_EFORMAT, "%s: rescale_factor %g is not positive", name, pp->rescale);
		goto out_free;
	}
	if ((it = member(root, "resample"))) {
		if (as_int(it, EMBED_RESAMPLE_NEAREST, EMBED_RESAMPLE_HAMMING, &pp->resample)) {
			err = vv_error(VV_EFORMAT, "%s: \"resample\" is not a Pillow filter 0..5", name);
			goto out_free;
		}
	}
	if ((it = member(root, "size"))) {
		r = parse_size(name, it, "size", 1, &pp->size_w, &pp->size_h, &pp->shortest);
		if (r < 0) {
			err = r;
			goto out_free;
		}
		pp->resize_shortest = r;
	}
	if (pp->do_crop) {
		pp->crop_floor = 1; /* transformers' center_crop, not torchvision's */
		pp->crop_w = pp->crop_h = 224;
		if ((it = member(root, "crop_size"))) {
			r = parse_size(name, it, "crop_size", 0, &pp->crop_w, &pp->crop_h, NULL);
			if (r < 0) {
				err = r;
				goto out_free;
			}
		}
	}
out_free:
	cJSON_Delete(root);
	return err;
}

int
embed_preproc_load(const char *path, const embed_vit_config *c, embed_preproc *pp)
{
	char *text;
	size_t len;
	int err;

	if (!vv_is_file(path)) {
		embed_preproc_defaults(pp, c);
		vv_warn("%s: not found; using ViTImageProcessor defaults (resize to %dx%d "
			"bilinear, rescale 1/255, mean = std = 0.5)", path, pp->size_w, pp->size_h);
		return 0;
	}
	err = vv_read_file(path, CONFIG_MAX_FILE, &text, &len);
	if (err)
		return err;
	err = embed_preproc_parse(path, text, len, c, pp);
	free(text);
	return err;
}

int
embed_preproc_out_size(const embed_preproc *pp, int *w, int *h)
{
	if (pp->do_crop) {
		*w = pp->crop_w;
		*h = pp->crop_h;
		return 0;
	}
	if (pp->do_resize && !pp->resize_shortest) {
		*w = pp->size_w;
		*h = pp->size_h;
		return 0;
	}
	return VV_EUNSUPPORTED;
}
