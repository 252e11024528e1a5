/* embed_stage.c - the `embed` stage: checkpoints x images -> .npy files. */
#include "embed/embed_stage.h"
#include "embed/embed_labels.h"
#include "embed/embed_pool.h"
#include "embed/embed_merge.h"
#include "embed/embed_shard.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/images/embed_dataset.h"
#include "embed/models/embed_model.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "common/vv_thread.h"
#include "common/vv_version.h"
#include "common/vv_work.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* preprocessed inputs are kept across checkpoints up to this size */
#define INPUT_CACHE_MAX ((size_t)1 << 30)

/* Everything one run of the stage holds. */
typedef struct stage {
	const embed_stage_opts *o; /* options */
	embed_ckpt_list *ckpts;    /* discovered checkpoints, step order */
	embed_dataset *data;       /* the dataset (listing; opened once) */
	vv_samples *samples;       /* what samples.csv holds / will hold */
	char samples_key[40];      /* hash of the listing + subset options */
	cJSON *old;                /* previous manifest.json, or NULL */
	int reuse;                 /* previous outputs describe the same samples */
	cJSON *model;              /* "model" + "preprocess" of the run */
	cJSON *preprocess;
	int dim;                   /* embedding width, -1 until known */
	int num_labels;            /* classifier outputs of the last checkpoint */
	float *cache;              /* preprocessed inputs of every sample, or NULL */
	embed_preproc cache_pp;    /* the preprocessing `cache` was made with */
	int in_w, in_h;            /* model input size */
	char labels_key[48];       /* embed_labels_opts_key() of the options */
	cJSON *class_order;        /* data set classes in the model's order, or NULL */
	size_t nembed;             /* checkpoints this process embeds (input cache
				    * pays off from 2) */
} stage;

void
embed_stage_opts_default(embed_stage_opts *o)
{
	memset(o, 0, sizeof(*o));
	/* 16: on 2 vCPUs (bench/vit_bench, ViT-B/16 and Ti/16 at 224, 2 threads)
	 * images/s are flat within 2-3% from 8 to 32, 5% lower at 4 and 20-40%
	 * lower at 1; 16 keeps one batch's activations at ~92 MiB for B/16 */
	o->batch = 16;
	o->pool = EMBED_POOL_CLS;
	o->split = "test";
}

int
embed_parse_pool(const char *s, int *pool)
{
	if (!strcmp(s, "cls"))
		*pool = EMBED_POOL_CLS;
	else if (!strcmp(s, "mean"))
		*pool = EMBED_POOL_MEAN;
	else if (!strcmp(s, "head"))
		*pool = EMBED_POOL_HEAD;
	else
		return vv_error(VV_EINVAL, "--pool must be cls, mean or head, not \"%s\"", s);
	return 0;
}

static const char *
pool_name(int pool)
{
	return pool == EMBED_POOL_MEAN ? "mean" : pool == EMBED_POOL_HEAD ? "head" : "cls";
}

static const char *
kind_name(embed_data_kind k)
{
	return k == EMBED_DATA_CIFAR10 ? "cifar10" : k == EMBED_DATA_CIFAR100 ? "cifar100" : "folder";
}

/*
 * Size and modification time of the file behind sample i (the image, or
 * the CIFAR batch holding it), all -1 when it cannot be read; `prev`
 * caches the last CIFAR batch so that each batch is looked at once.
 */
static void
sample_file_stamp(const embed_dataset *d, size_t i, char **prev, int64_t stamp[3])
{
	const char *rel = d->samples[i].path, *colon;
	struct stat st;
	char *path;
	size_t len;

	stamp[0] = stamp[1] = stamp[2] = -1;
	if (d->kind == EMBED_DATA_FOLDER) {
		path = vv_path_join(d->root, rel);
	} else if (vv_is_file(d->root)) {
		path = vv_strdup(d->root);
	} else {
		colon = strrchr(rel, ':');
		len = colon ? (size_t)(colon - rel) : strlen(rel);
		path = malloc(len + 1);
		if (path) {
			memcpy(path, rel, len);
			path[len] = '\0';
			if (*prev && !strcmp(*prev, path)) {
				free(path);
				stamp[0] = -2; /* same batch as the sample before: mixed already */
				return;
			}
			free(*prev);
			*prev = path;
			path = vv_path_join(d->root, *prev);
		}
	}
	if (path && stat(path, &st) == 0) {
		stamp[0] = (int64_t)st.st_size;
		stamp[1] = (int64_t)st.st_mtim.tv_sec;
		stamp[2] = (int64_t)st.st_mtim.tv_nsec;
	}
	free(path);
}

/*
 * FNV-1a over the sample listing (paths, labels, and the size and
 * modification time of each file, so that an image replaced in place is
 * embedded again) and the options that select it.
 */
static void
listing_key(const stage *s, char out[40])
{
	const embed_dataset *d = s->data;
	uint64_t h = 1469598103934665603ULL;
	char *prev = NULL;
	int64_t stamp[3];
	size_t i;
	int c;

#define MIX(p, n) do { const unsigned char *b_ = (const unsigned char *)(p); size_t k_; \
	for (k_ = 0; k_ < (n); k_++) { h ^= b_[k_]; h *= 1099511628211ULL; } } while (0)
	MIX(&d->kind, sizeof(d->kind));
	MIX(&d->n, sizeof(d->n));
	for (i = 0; i < d->n; i++) {
		MIX(d->samples[i].path, strlen(d->samples[i].path) + 1);
		MIX(&d->samples[i].label, sizeof(int));
		sample_file_stamp(d, i, &prev, stamp);
		if (stamp[0] != -2)
			MIX(stamp, sizeof(stamp));
	}
	free(prev);
	for (c = 0; c < d->nclasses; c++)
		MIX(d->class_names[c], strlen(d->class_names[c]) + 1);
	MIX(&s->o->limit, sizeof(size_t));
	MIX(&s->o->per_class, sizeof(size_t));
#undef MIX
	snprintf(out, 40, "%016llx", (unsigned long long)h);
}

/* samples.csv from the (validated) dataset. */
static int
write_samples(const stage *s)
{
	const embed_dataset *d = s->data;
	char *path = vv_path_join(s->o->workdir, "samples.csv");
	vv_outfile *f;
	size_t i;
	int err;

	if (!path)
		return VV_ENOMEM;
	err = vv_outfile_open(&f, path);
	free(path);
	if (err)
		return err;
	fputs("index,path,label,label_name" VV_CSV_EOL, f->fp);
	for (i = 0; i < d->n; i++) {
		fprintf(f->fp, "%zu,", i);
		vv_csv_field(f->fp, d->samples[i].path);
		fprintf(f->fp, ",%d,", d->samples[i].label);
		vv_csv_field(f->fp, d->class_names[d->samples[i].label]);
		vv_csv_eol(f->fp);
	}
	return vv_outfile_commit(&f);
}

/*
 * Decide whether earlier outputs can be reused: same listing as recorded.
 * If not, validate every image (dropping undecodable ones) and write a new
 * samples.csv; all checkpoints are then recomputed.
 */
static int
prepare_samples(stage *s)
{
	embed_dataset_opts dopts = { 0 };
	char *mpath;
	int err;

	dopts.limit = s->o->limit;
	dopts.per_class = s->o->per_class;
	dopts.strict = s->o->strict;
	dopts.split = s->o->split;
	err = embed_dataset_open(s->o->data, &dopts, &s->data);
	if (err)
		return err;
	listing_key(s, s->samples_key);

	mpath = vv_path_join(s->o->workdir, "manifest.json");
	if (!mpath)
		return VV_ENOMEM;
	if (vv_is_file(mpath)) {
		s->old = vv_json_load(mpath);
		if (!s->old)
			vv_warn("%s; ignoring the earlier outputs", vv_errmsg());
	}
	free(mpath);
	if (s->old && !s->o->force &&
	    vv_json_get_int(s->old, "format", -1) == VV_WORK_FORMAT &&
	    !strcmp(vv_json_get_string(s->old, "samples_key", ""), s->samples_key) &&
	    vv_samples_load(s->o->workdir, &s->samples) == 0 &&
	    (long long)s->samples->n == vv_json_get_int(s->old, "n", -1)) {
		s->reuse = 1;
		return 0;
	}
	vv_samples_free(&s->samples);
	vv_error_clear();

	/* a fresh listing: decode each image once, drop what does not decode */
	embed_dataset_free(&s->data);
	dopts.validate = 1;
	err = embed_dataset_open(s->o->data, &dopts, &s->data);
	if (err)
		return err;
	if (s->data->n == 0)
		return vv_error(VV_ENOTFOUND, "%s: no decodable images", s->o->data);
	err = write_samples(s);
	if (err)
		return err;
	return vv_samples_load(s->o->workdir, &s->samples);
}

/* The previous manifest's entry for `ck`, if its outputs are still valid. */
static const cJSON *
reusable_entry(const stage *s, const embed_ckpt *ck, const char *fp)
{
	const cJSON *arr, *it;

	if (!s->reuse || s->o->force)
		return NULL;
	if (strcmp(vv_json_get_string(s->old, "pool", ""), pool_name(s->o->pool)) ||
	    strcmp(vv_json_get_string(s->old, "labels", ""), s->labels_key))
		return NULL;
	arr = cJSON_GetObjectItemCaseSensitive(s->old, "checkpoints");
	cJSON_ArrayForEach(it, arr) {
		char *e, *l;
		int ok;

		if (strcmp(vv_json_get_string(it, "name", ""), ck->name) ||
		    strcmp(vv_json_get_string(it, "fingerprint", ""), fp))
			continue;
		e = vv_work_path(s->o->workdir, "embeddings", ck->name, ".npy");
		l = vv_work_path(s->o->workdir, "logits", ck->name, ".npy");
		ok = e && l && vv_is_file(e) &&
		     (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "has_logits")) || vv_is_file(l));
		free(e);
		free(l);
		return ok ? it : NULL;
	}
	return NULL;
}

/* JSON description of a model's config and preprocessing. */
static void
describe_model(stage *s, const embed_model *m)
{
	const embed_preproc *pp = embed_model_preproc(m);
	cJSON *j = cJSON_CreateObject(), *p = cJSON_CreateObject();
	double mean[3], std[3];
	int i;

	embed_model_describe(m, j);
	cJSON_AddBoolToObject(p, "do_resize", pp->do_resize);
	if (pp->resize_shortest)
		cJSON_AddNumberToObject(p, "shortest_edge", pp->shortest);
	else {
		cJSON_AddNumberToObject(p, "width", pp->size_w);
		cJSON_AddNumberToObject(p, "height", pp->size_h);
	}
	cJSON_AddStringToObject(p, "resample", pp->resample == EMBED_RESAMPLE_BICUBIC ? "bicubic" :
				pp->resample == EMBED_RESAMPLE_BILINEAR ? "bilinear" :
				pp->resample == EMBED_RESAMPLE_NEAREST ? "nearest" : "other");
	if (pp->do_crop) {
		cJSON_AddNumberToObject(p, "crop_width", pp->crop_w);
		cJSON_AddNumberToObject(p, "crop_height", pp->crop_h);
	}
	cJSON_AddNumberToObject(p, "rescale", pp->do_rescale ? pp->rescale : 1.0);
	for (i = 0; i < 3; i++) {
		mean[i] = pp->do_normalize ? pp->mean[i] : 0.0;
		std[i] = pp->do_normalize ? pp->std[i] : 1.0;
	}
	cJSON_AddItemToObject(p, "mean", cJSON_CreateDoubleArray(mean, 3));
	cJSON_AddItemToObject(p, "std", cJSON_CreateDoubleArray(std, 3));
	cJSON_Delete(s->model);
	cJSON_Delete(s->preprocess);
	s->model = j;
	s->preprocess = p;
}

/*
 * Match the data set's classes with the classifier's outputs
 * (embed/embed_labels.h); col[j] is the output of data set class j.  Done
 * before the forward pass, so that a mismatch costs no embedding time.
 */
static int
match_labels(stage *s, const embed_ckpt *ck, const embed_model_info *c, int *col, int *mode)
{
	const embed_dataset *d = s->data;
	embed_label_opts lo = { s->o->label_map, s->o->labels_by_index };
	char what[512];

	snprintf(what, sizeof(what), c->id2label ? "%s: id2label" : "%s: no class names", ck->name);
	return embed_labels_match((const char *const *)d->class_names, d->nclasses, s->o->data,
				  (const char *const *)c->id2label, c->num_labels, what, &lo, col, mode);
}

/* The data set's classes sorted by their model output: the legend's order. */
static void
set_class_order(stage *s, const int *col, int nd)
{
	cJSON *arr = cJSON_CreateArray();

	for (int k = 0, done = 0; arr && done < nd; k++) {
		for (int j = 0; j < nd; j++)
			if (col[j] == k) {
				cJSON_AddItemToArray(arr, cJSON_CreateNumber(j));
				done++;
			}
	}
	cJSON_Delete(s->class_order);
	s->class_order = arr;
}

/* Preprocess sample i into `dst` (3 x in_h x in_w). */
static int
load_input(const stage *s, const embed_preproc *pp, size_t i, float *dst)
{
	embed_image *img = NULL;
	int err;

	err = embed_dataset_load_path(s->o->data, s->samples->path[i], &img);
	if (!err)
		err = embed_preprocess(pp, img, dst, s->in_w, s->in_h);
	embed_image_free(&img);
	return err;
}

/* Fill the input cache when the inputs of all checkpoints fit in it. */
static int
ensure_cache(stage *s, const embed_preproc *pp)
{
	size_t per = (size_t)3 * s->in_w * s->in_h, i;
	int err;

	if (s->cache && !memcmp(&s->cache_pp, pp, sizeof(*pp)))
		return 0;
	free(s->cache);
	s->cache = NULL;
	if (s->samples->n * per * sizeof(float) > INPUT_CACHE_MAX || s->nembed < 2)
		return 0;
	s->cache = malloc(s->samples->n * per * sizeof(float));
	if (!s->cache)
		return 0; /* no cache: decode per checkpoint instead */
	for (i = 0; i < s->samples->n; i++) {
		err = load_input(s, pp, i, s->cache + i * per);
		if (err) {
			free(s->cache);
			s->cache = NULL;
			return err;
		}
	}
	s->cache_pp = *pp;
	return 0;
}

/*
 * Rewrite the n x nl logits in place as n x nd, column j holding output
 * col[j] (nd <= nl, distinct columns): one column per data set class.
 */
static void
select_logits(float *logits, size_t n, int nl, const int *col, int nd, float *tmp)
{
	for (size_t i = 0; i < n; i++) {
		const float *row = logits + i * (size_t)nl;

		for (int j = 0; j < nd; j++)
			tmp[j] = row[col[j]];
		memcpy(logits + i * (size_t)nd, tmp, (size_t)nd * sizeof(float));
	}
}

/* The checkpoint's epoch (trainer_state.json, or the timm epoch), when known. */
static void
add_epoch(cJSON *entry, const embed_ckpt *ck)
{
	double ep = embed_ckpt_epoch(ck);

	if (isfinite(ep))
		cJSON_AddNumberToObject(entry, "epoch", ep);
}

/* A checkpoint's manifest entry before its outputs are known. */
static cJSON *
new_entry(const embed_ckpt *ck, const char *fp)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "name", ck->name);
	cJSON_AddNumberToObject(e, "step", (double)ck->step);
	add_epoch(e, ck);
	cJSON_AddStringToObject(e, "path", ck->path);
	cJSON_AddStringToObject(e, "format", embed_ckpt_format_name(ck->format));
	cJSON_AddStringToObject(e, "fingerprint", fp);
	return e;
}

/*
 * The model's width and input size agree with the checkpoints embedded
 * before it and with its preprocessing; records them in s.
 */
static int
check_model(stage *s, const embed_ckpt *ck, const embed_model_info *c, const embed_preproc *pp)
{
	if (s->dim > 0 && c->dim != s->dim)
		return vv_error(VV_EMISMATCH, "%s: hidden size %d differs from the other checkpoints' %d",
				ck->path, c->dim, s->dim);
	s->dim = c->dim;
	s->num_labels = c->num_labels;
	s->in_w = c->image_w;
	s->in_h = c->image_h;
	if (embed_preproc_out_size(pp, &s->in_w, &s->in_h) == 0 &&
	    (s->in_w != c->image_w || s->in_h != c->image_h))
		return vv_error(VV_EMISMATCH, "%s: preprocessing makes %dx%d images, the model takes %dx%d",
				ck->path, s->in_w, s->in_h, c->image_w, c->image_h);
	s->in_w = c->image_w;
	s->in_h = c->image_h;
	return 0;
}

/*
 * The forward pass over samples [r0, r0 + n) in batches: emb n x D and,
 * when logits is not NULL, logits n x nl; every embedding must be finite.
 */
static int
embed_rows(const stage *s, embed_model *m, const embed_ckpt *ck, const char *label, size_t r0,
	   size_t n, float *pix, float *emb, float *logits)
{
	const embed_preproc *pp = embed_model_preproc(m);
	const embed_model_info *c = embed_model_get_info(m);
	size_t per = (size_t)3 * s->in_w * s->in_h, i;
	int B = s->o->batch > 0 ? s->o->batch : 16, D = c->dim, nl = c->num_labels, err = 0;
	vv_progress *prog = vv_progress_alloc(label, (int64_t)n, "img");

	for (i = 0; i < n; i += (size_t)B) {
		int b = (int)(n - i < (size_t)B ? n - i : (size_t)B), k;
		const float *in = s->cache ? s->cache + (r0 + i) * per : pix;

		for (k = 0; !s->cache && k < b; k++) {
			err = load_input(s, pp, r0 + i + (size_t)k, pix + (size_t)k * per);
			if (err)
				break;
		}
		if (!err)
			err = embed_model_forward(m, in, b, s->o->pool, emb + i * (size_t)D,
						  logits ? logits + i * (size_t)nl : NULL);
		if (err)
			break;
		vv_progress_update(prog, (int64_t)(i + (size_t)b));
	}
	vv_progress_free(&prog);
	if (err) {
		vv_error_prefix("%s", ck->name);
		return err;
	}
	for (i = 0; i < n * (size_t)D; i++)
		if (!isfinite(emb[i]))
			return vv_error(VV_EFORMAT, "%s: embedding of sample %zu is not finite (NaN or "
					"Inf in the weights?)", ck->weights, r0 + i / (size_t)D);
	return 0;
}

/* Write rows x cols float32 as WORK/<sub>/<stem>.npy. */
static int
write_rows(const stage *s, const embed_ckpt *ck, const char *sub, const char *stem,
	   const float *data, size_t rows, int cols)
{
	int64_t shape[2] = { (int64_t)rows, cols };
	char *path = vv_work_path(s->o->workdir, sub, stem, ".npy");
	int err;

	if (!path)
		return vv_error(VV_ENOMEM, "%s: out of memory", ck->name);
	err = vv_npy_write(path, VV_F32, data, 2, shape);
	free(path);
	return err;
}

/* The manifest entry's model fields: width, head, the logits columns' names. */
static void
describe_entry(cJSON *entry, const embed_ckpt *ck, const embed_model_info *c, int nd,
	       const int *col, int mode)
{
	int nl = c->num_labels, cols = mode != EMBED_LABELS_NONE ? nd : nl;
	cJSON *names;

	cJSON_AddBoolToObject(entry, "has_logits", nl > 0);
	cJSON_AddNumberToObject(entry, "dim", c->dim);
	cJSON_AddNumberToObject(entry, "num_labels", nl);
	if (!nl)
		return;
	/* the model's name of each logits column, after the selection */
	names = cJSON_CreateArray();
	for (int j = 0; j < cols; j++) {
		int k = mode != EMBED_LABELS_NONE ? col[j] : j;

		cJSON_AddItemToArray(names, cJSON_CreateString(
			c->id2label && c->id2label[k] ? c->id2label[k] : ""));
	}
	cJSON_AddItemToObject(entry, "id2label", names);
	cJSON_AddStringToObject(entry, "logits_match", embed_labels_mode_name(mode));
	if (mode == EMBED_LABELS_NONE)
		vv_warn("%s: the classifier has %d outputs but the data set %d classes, none of them "
			"named alike; predictions are written but not compared with the labels",
			ck->name, nl, nd);
}

/*
 * Embed samples [r0, r1) with one checkpoint and write its .npy files:
 * <name>.npy, or <part>.npy when `part` names a shard's part.
 */
static int
compute_checkpoint(stage *s, const embed_ckpt *ck, size_t idx, cJSON *entry, size_t r0, size_t r1,
		   const char *part)
{
	const embed_stage_opts *o = s->o;
	size_t n = r1 - r0;
	const char *stem = part ? part : ck->name;
	const embed_model_info *c;
	const embed_preproc *pp;
	embed_model *m = NULL;
	float *pix = NULL, *emb = NULL, *logits = NULL, *tmp = NULL;
	char label[96];
	int nl, nd = s->data->nclasses, B = o->batch > 0 ? o->batch : 16, err, mode = EMBED_LABELS_NONE;
	int *col = NULL;

	err = embed_model_open(ck, &m);
	if (err)
		return err;
	c = embed_model_get_info(m);
	pp = embed_model_preproc(m);
	nl = c->num_labels;
	if ((err = check_model(s, ck, c, pp)))
		goto out_free_model;
	if (nl) {
		col = malloc((size_t)nd * sizeof(int));
		if (!col) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free_model;
		}
		if ((err = match_labels(s, ck, c, col, &mode)))
			goto out_free_model;
	}
	describe_model(s, m);
	if (c->avg_pool && !c->pool_fixed && o->pool == EMBED_POOL_CLS && idx == 0)
		vv_warn("%s: the model pools by averaging; --pool head gives the features its "
			"classifier sees", ck->name);
	err = ensure_cache(s, pp);
	if (err)
		goto out_free_model;

	emb = malloc(n * (size_t)c->dim * sizeof(float));
	logits = nl ? malloc(n * (size_t)nl * sizeof(float)) : NULL;
	pix = s->cache ? NULL : malloc((size_t)B * 3 * s->in_w * s->in_h * sizeof(float));
	tmp = nl ? malloc((size_t)nd * sizeof(float)) : NULL;
	if (!emb || (nl && (!logits || !tmp)) || (!s->cache && !pix)) {
		err = vv_error(VV_ENOMEM, "%s: out of memory for %zu embeddings", ck->name, n);
		goto out_free_bufs;
	}
	snprintf(label, sizeof(label), "embed %s (%zu/%zu)", stem, idx + 1, s->ckpts->n);
	err = embed_rows(s, m, ck, label, r0, n, pix, emb, logits);
	if (!err)
		err = write_rows(s, ck, "embeddings", stem, emb, n, c->dim);
	if (err)
		goto out_free_bufs;
	if (nl) {
		if (mode != EMBED_LABELS_NONE) {
			select_logits(logits, n, nl, col, nd, tmp);
			set_class_order(s, col, nd);
		}
		err = write_rows(s, ck, "logits", stem, logits, n, mode != EMBED_LABELS_NONE ? nd : nl);
		if (err)
			goto out_free_bufs;
	}
	describe_entry(entry, ck, c, nd, col, mode);
out_free_bufs:
	free(tmp);
	free(pix);
	free(emb);
	free(logits);
out_free_model:
	free(col);
	embed_model_free(&m);
	return err;
}

/*
 * The manifest.json document: the run's description and, when `entries` is
 * not NULL, its "checkpoints" (a shard's part manifests carry it without).
 */
static cJSON *
manifest_json(const stage *s, const cJSON *entries)
{
	const embed_dataset *d = s->data;
	cJSON *j = cJSON_CreateObject(), *classes, *opts;
	int c;

	if (!j)
		return NULL;
	cJSON_AddNumberToObject(j, "format", VV_WORK_FORMAT);
	cJSON_AddStringToObject(j, "vitviz_version", VV_VERSION);
	cJSON_AddStringToObject(j, "run", s->o->run);
	cJSON_AddStringToObject(j, "data", s->o->data);
	cJSON_AddStringToObject(j, "data_kind", kind_name(d->kind));
	cJSON_AddNumberToObject(j, "n", (double)s->samples->n);
	cJSON_AddNumberToObject(j, "dim", s->dim);
	cJSON_AddNumberToObject(j, "num_labels", s->num_labels);
	cJSON_AddStringToObject(j, "pool", pool_name(s->o->pool));
	cJSON_AddStringToObject(j, "samples_key", s->samples_key);
	cJSON_AddStringToObject(j, "labels", s->labels_key);
	classes = cJSON_AddArrayToObject(j, "classes");
	for (c = 0; c < d->nclasses; c++)
		cJSON_AddItemToArray(classes, cJSON_CreateString(d->class_names[c]));
	if (s->class_order)
		cJSON_AddItemToObject(j, "class_order", cJSON_Duplicate(s->class_order, 1));
	if (s->ckpts->loss_kind && s->ckpts->loss_path) {
		cJSON *l = cJSON_AddObjectToObject(j, "loss");

		cJSON_AddStringToObject(l, "kind", s->ckpts->loss_kind);
		cJSON_AddStringToObject(l, "path", s->ckpts->loss_path);
	}
	if (s->model)
		cJSON_AddItemToObject(j, "model", cJSON_Duplicate(s->model, 1));
	if (s->preprocess)
		cJSON_AddItemToObject(j, "preprocess", cJSON_Duplicate(s->preprocess, 1));
	opts = cJSON_AddObjectToObject(j, "options");
	cJSON_AddNumberToObject(opts, "limit", (double)s->o->limit);
	cJSON_AddNumberToObject(opts, "per_class", (double)s->o->per_class);
	cJSON_AddStringToObject(opts, "split", s->o->split ? s->o->split : "test");
	if (s->o->arch)
		cJSON_AddStringToObject(opts, "arch", s->o->arch);
	if (s->o->image_size)
		cJSON_AddNumberToObject(opts, "image_size", s->o->image_size);
	cJSON_AddBoolToObject(opts, "ema", s->o->ema);
	if (entries)
		cJSON_AddItemToObject(j, "checkpoints", cJSON_Duplicate(entries, 1));
	return j;
}

/* manifest.json from the checkpoint entries finished so far. */
static int
write_manifest(const stage *s, cJSON *entries)
{
	char *path = vv_path_join(s->o->workdir, "manifest.json");
	cJSON *j = manifest_json(s, entries);
	int err;

	if (!path || !j) {
		free(path);
		cJSON_Delete(j);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	err = vv_json_save(path, j);
	cJSON_Delete(j);
	free(path);
	return err;
}

static void
stage_release(stage *s)
{
	embed_ckpt_list_free(&s->ckpts);
	embed_dataset_free(&s->data);
	vv_samples_free(&s->samples);
	cJSON_Delete(s->old);
	cJSON_Delete(s->model);
	cJSON_Delete(s->preprocess);
	cJSON_Delete(s->class_order);
	free(s->cache);
}

/* Remove the temporary files a killed run left in the work folder. */
static void
clean_stale(const char *workdir)
{
	static const char *const subs[] = { NULL, "embeddings", "logits" };
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(subs) / sizeof(*subs); i++) {
		char *d = subs[i] ? vv_path_join(workdir, subs[i]) : NULL;

		if (subs[i] && !d)
			continue;
		n += vv_clean_stale_tmp(d ? d : workdir, NULL);
		free(d);
	}
	if (n)
		vv_info("%s: removed %d temporary file(s) left by an interrupted run", workdir, n);
}

/* FNV-1a of a string into a running hash. */
static uint64_t
fnv_str(uint64_t h, const char *str)
{
	const unsigned char *b = (const unsigned char *)str;

	for (; *b; b++) {
		h ^= *b;
		h *= 1099511628211ULL;
	}
	h ^= 0xff; /* end of string */
	return h * 1099511628211ULL;
}

/* Hash of the options that change what a part holds. */
static void
options_key(const stage *s, char out[40])
{
	const embed_stage_opts *o = s->o;
	char buf[512];

	snprintf(buf, sizeof(buf), "pool=%s;batch=%d;limit=%zu;per_class=%zu;split=%s;arch=%s;ema=%d;strict=%d;"
		 "labels=%s;image_size=%d", pool_name(o->pool), o->batch > 0 ? o->batch : 16, o->limit, o->per_class,
		 o->split ? o->split : "test", o->arch ? o->arch : "", o->ema, o->strict, s->labels_key, o->image_size);
	snprintf(out, 40, "%016llx", (unsigned long long)fnv_str(1469598103934665603ULL, buf));
}

/* What every part of one sharded run shares. */
typedef struct shard_run {
	embed_shard_plan *plan; /* the units */
	char (*fp)[40];         /* weights fingerprint of each checkpoint */
	char data_key[40];      /* samples.csv + listing (embed_merge_data_key) */
	char opts_key[40];      /* options_key() */
	char plan_key[40];      /* all of the above + the plan */
	cJSON *plan_json;       /* the plan as part manifests record it */
} shard_run;

/* Cost of one row of each checkpoint: its weights in KiB (FLOPs ~ parameters). */
static int
checkpoint_costs(const stage *s, uint64_t *cost)
{
	size_t c, k;

	for (c = 0; c < s->ckpts->n; c++) {
		char **files = NULL;
		size_t nf = 0;
		uint64_t bytes = 0;
		int err = embed_ckpt_weight_files(&s->ckpts->v[c], &files, &nf);

		if (err)
			return err;
		for (k = 0; k < nf; k++) {
			int64_t sz = vv_file_size(files[k]);

			if (sz > 0)
				bytes += (uint64_t)sz;
		}
		vv_strv_free(&files, nf);
		cost[c] = bytes / 1024 + 1;
	}
	vv_error_clear();
	return 0;
}

/* Plan, fingerprints and keys of a sharded run. */
static int
shard_prepare(stage *s, shard_run *r)
{
	const embed_stage_opts *o = s->o;
	size_t T = s->ckpts->n, c, u;
	uint64_t *cost = calloc(T + 1, sizeof(*cost)), h;
	int err;

	r->fp = calloc(T + 1, sizeof(*r->fp));
	if (!cost || !r->fp) {
		free(cost);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	for (c = 0; c < T; c++)
		if ((err = embed_ckpt_fingerprint(&s->ckpts->v[c], r->fp[c])))
			goto out;
	if ((err = checkpoint_costs(s, cost)) ||
	    (err = embed_shard_plan_make(cost, T, s->samples->n, (size_t)(o->batch > 0 ? o->batch : 16),
					 o->shard.count, &r->plan)) ||
	    (err = embed_merge_data_key(o->workdir, s->samples_key, r->data_key)))
		goto out;
	options_key(s, r->opts_key);
	h = fnv_str(1469598103934665603ULL, r->data_key);
	h = fnv_str(h, r->opts_key);
	r->plan_json = cJSON_CreateArray();
	for (c = 0, u = 0; c < T; c++) {
		cJSON *ck = cJSON_CreateObject(), *units = cJSON_CreateArray();

		cJSON_AddStringToObject(ck, "name", s->ckpts->v[c].name);
		cJSON_AddStringToObject(ck, "fingerprint", r->fp[c]);
		h = fnv_str(fnv_str(h, s->ckpts->v[c].name), r->fp[c]);
		for (; u < r->plan->nunits && r->plan->unit[u].ckpt == c; u++) {
			const embed_shard_unit *un = &r->plan->unit[u];
			double v[3] = { (double)un->r0, (double)un->r1, un->owner };
			char buf[96];

			cJSON_AddItemToArray(units, cJSON_CreateDoubleArray(v, 3));
			snprintf(buf, sizeof(buf), "%zu-%zu@%d/%d", un->r0, un->r1, un->owner, o->shard.count);
			h = fnv_str(h, buf);
		}
		cJSON_AddItemToObject(ck, "units", units);
		cJSON_AddItemToArray(r->plan_json, ck);
	}
	snprintf(r->plan_key, sizeof(r->plan_key), "%016llx", (unsigned long long)h);
out:
	free(cost);
	return err;
}

static void
shard_release(shard_run *r)
{
	embed_shard_plan_free(&r->plan);
	free(r->fp);
	cJSON_Delete(r->plan_json);
}

/* The part manifest of unit `un`, written after its .npy files. */
static int
write_part_manifest(const stage *s, const shard_run *r, const embed_shard_unit *un, const char *stem,
		    const cJSON *entry)
{
	const embed_stage_opts *o = s->o;
	cJSON *j = cJSON_CreateObject(), *sh;
	double rows[2] = { (double)un->r0, (double)un->r1 };
	char *path = vv_work_path(o->workdir, "embeddings", stem, ".json");
	int err;

	if (!j || !path) {
		cJSON_Delete(j);
		free(path);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	cJSON_AddNumberToObject(j, "vitviz_part", EMBED_PART_FORMAT);
	cJSON_AddStringToObject(j, "vitviz_version", VV_VERSION);
	cJSON_AddStringToObject(j, "checkpoint", s->ckpts->v[un->ckpt].name);
	cJSON_AddNumberToObject(j, "part", un->part);
	cJSON_AddNumberToObject(j, "parts", un->parts);
	cJSON_AddItemToObject(j, "rows", cJSON_CreateDoubleArray(rows, 2));
	cJSON_AddNumberToObject(j, "n", (double)s->samples->n);
	cJSON_AddStringToObject(j, "dtype", "<f4");
	sh = cJSON_AddObjectToObject(j, "shard");
	cJSON_AddNumberToObject(sh, "index", o->shard.index);
	cJSON_AddNumberToObject(sh, "count", o->shard.count);
	cJSON_AddStringToObject(sh, "source", o->shard.source);
	cJSON_AddStringToObject(j, "weights_fingerprint", r->fp[un->ckpt]);
	cJSON_AddStringToObject(j, "data_fingerprint", r->data_key);
	cJSON_AddStringToObject(j, "options_fingerprint", r->opts_key);
	cJSON_AddStringToObject(j, "plan_fingerprint", r->plan_key);
	cJSON_AddItemToObject(j, "entry", cJSON_Duplicate(entry, 1));
	cJSON_AddItemToObject(j, "header", manifest_json(s, NULL));
	cJSON_AddItemToObject(j, "plan", cJSON_Duplicate(r->plan_json, 1));
	err = vv_json_save(path, j);
	cJSON_Delete(j);
	free(path);
	return err;
}

/*
 * This shard's units: skip what the merged outputs or a current part
 * already hold, compute the rest as part files.
 */
static int
run_shard(stage *s)
{
	const embed_stage_opts *o = s->o;
	shard_run r = { 0 };
	size_t u, done = 0, skipped = 0, mine = 0, last = (size_t)-1;
	int err;

	if ((err = shard_prepare(s, &r)))
		goto out;
	for (u = 0; u < r.plan->nunits; u++) {
		const embed_shard_unit *un = &r.plan->unit[u];

		if (un->owner != o->shard.index)
			continue;
		mine++;
		if (un->ckpt != last)
			s->nembed++;
		last = un->ckpt;
	}
	vv_info("embed: shard %d/%d (from %s): %zu of %zu parts", o->shard.index, o->shard.count,
		o->shard.source, mine, r.plan->nunits);
	(void)embed_part_remove_stale(o->workdir, o->shard.index, o->shard.count, r.plan_key);
	for (u = 0; u < r.plan->nunits && !err; u++) {
		const embed_shard_unit *un = &r.plan->unit[u];
		const embed_ckpt *ck = &s->ckpts->v[un->ckpt];
		char *stem;
		cJSON *e;

		if (un->owner != o->shard.index)
			continue;
		if (!(stem = embed_shard_part_name(ck->name, un->part, un->parts, ""))) {
			err = VV_ENOMEM;
			break;
		}
		/* a killed run of this shard may have left temporary files */
		embed_part_clean_tmp(o->workdir, stem);
		if (reusable_entry(s, ck, r.fp[un->ckpt]) ||
		    (!o->force && embed_part_is_current(o->workdir, stem, r.plan_key, un->r0, un->r1))) {
			vv_debug("embed: %s is current, reused", stem);
			skipped++;
			free(stem);
			continue;
		}
		e = new_entry(ck, r.fp[un->ckpt]);
		err = compute_checkpoint(s, ck, un->ckpt, e, un->r0, un->r1, stem);
		if (!err)
			err = write_part_manifest(s, &r, un, stem, e);
		cJSON_Delete(e);
		free(stem);
		done++;
	}
	if (!err)
		vv_info("embed: shard %d/%d: %zu part(s) computed, %zu current -> %s", o->shard.index,
			o->shard.count, done, skipped, o->workdir);
out:
	shard_release(&r);
	return err;
}

int
embed_stage_run(const embed_stage_opts *o)
{
	stage s = { .o = o, .dim = -1 };
	cJSON *entries = NULL;
	size_t i, reused = 0;
	int err;
	char *sub;

	if (o->threads > 0)
		vv_threads_set(o->threads);
	err = embed_labels_opts_key(&(embed_label_opts){ o->label_map, o->labels_by_index }, s.labels_key);
	if (err)
		goto out;
	err = embed_ckpt_discover_opts(o->run, &(embed_ckpt_opts){ .arch = o->arch, .ema = o->ema,
								     .image_size = o->image_size },
				       &s.ckpts);
	if (err)
		goto out;
	if ((err = vv_mkdir_p(o->workdir)))
		goto out;
	if (!(sub = vv_path_join(o->workdir, "embeddings")) || (err = vv_mkdir_p(sub)) ||
	    (free(sub), !(sub = vv_path_join(o->workdir, "logits"))) || (err = vv_mkdir_p(sub))) {
		free(sub);
		err = err ? err : VV_ENOMEM;
		goto out;
	}
	free(sub);
	/* shards share the folder: each removes only its own parts' leftovers */
	if (!o->shard.count)
		clean_stale(o->workdir);
	err = prepare_samples(&s);
	if (err)
		goto out;
	if (s.reuse) {
		s.model = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s.old, "model"), 1);
		s.preprocess = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s.old, "preprocess"), 1);
		s.dim = (int)vv_json_get_int(s.old, "dim", -1);
		s.num_labels = (int)vv_json_get_int(s.old, "num_labels", 0);
		s.class_order = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s.old, "class_order"), 1);
	}
	vv_info("embed: %zu checkpoint(s) in %s, %zu images from %s",
		s.ckpts->n, o->run, s.samples->n, o->data);
	if (o->shard.count) {
		err = run_shard(&s);
		goto out;
	}
	s.nembed = s.ckpts->n;

	entries = cJSON_CreateArray();
	for (i = 0; i < s.ckpts->n && !err; i++) {
		const embed_ckpt *ck = &s.ckpts->v[i];
		const cJSON *old;
		char fp[40];
		cJSON *e;

		err = embed_ckpt_fingerprint(ck, fp);
		if (err)
			break;
		old = reusable_entry(&s, ck, fp);
		if (old) {
			cJSON_AddItemToArray(entries, cJSON_Duplicate(old, 1));
			reused++;
			vv_debug("embed: %s is current, reused", ck->name);
			continue;
		}
		e = new_entry(ck, fp);
		err = compute_checkpoint(&s, ck, i, e, 0, s.samples->n, NULL);
		if (err) {
			cJSON_Delete(e);
			break;
		}
		cJSON_AddItemToArray(entries, e);
		/* record progress so an interrupted run keeps what it finished */
		err = write_manifest(&s, entries);
	}
	if (!err) {
		err = write_manifest(&s, entries);
		if (!err)
			err = vv_checkpoints_csv_write(o->workdir);
		if (!err)
			vv_info("embed: %zu computed, %zu reused -> %s", s.ckpts->n - reused, reused, o->workdir);
	}
out:
	cJSON_Delete(entries);
	stage_release(&s);
	return err;
}
