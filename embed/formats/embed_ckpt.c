/* embed_ckpt.c - checkpoint discovery and weights loading. */
#include "embed/formats/embed_ckpt.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_json.h"
#include "embed/formats/embed_safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_PREFIX "checkpoint-"

/* Extensions of a single-file (timm) checkpoint, longest first. */
static const char *const timm_exts[] = { ".pth.tar", ".pth", ".pt", ".bin", ".safetensors", NULL };
/* Extensions of the numbered checkpoints in a timm run folder. */
static const char *const timm_run_exts[] = { ".pth.tar", ".pth", NULL };

/* Weights files in order of preference (transformers prefers safetensors). */
static const struct {
	const char *file;
	int format;
} weight_files[] = {
	{ "model.safetensors", EMBED_CKPT_SAFETENSORS },
	{ "model.safetensors.index.json", EMBED_CKPT_SHARDED },
	{ "pytorch_model.bin", EMBED_CKPT_PYTORCH },
};

const char *
embed_ckpt_format_name(int format)
{
	switch (format) {
	case EMBED_CKPT_SAFETENSORS: return "safetensors";
	case EMBED_CKPT_SHARDED: return "sharded";
	case EMBED_CKPT_PYTORCH: return "pytorch";
	case EMBED_CKPT_TIMM: return "timm";
	case EMBED_CKPT_JEONSWORLD: return "jeonsworld";
	case EMBED_CKPT_FLOWER: return "flower";
	default: return "unknown";
	}
}

/*
 * Step of a "checkpoint-<n>" name (its first `len` bytes): 1 and *step set
 * for an integer, 0 for a name without the prefix, -1 for the prefix
 * followed by a non-integer.
 */
static int
parse_step_n(const char *name, size_t len, int64_t *step)
{
	const char *p, *end = name + len;
	int64_t v = 0;

	if (len < strlen(CKPT_PREFIX) || strncmp(name, CKPT_PREFIX, strlen(CKPT_PREFIX)))
		return 0;
	p = name + strlen(CKPT_PREFIX);
	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*step = v;
	return 1;
}

static int
parse_step(const char *name, int64_t *step)
{
	return parse_step_n(name, strlen(name), step);
}

/*
 * The epoch of the Swin Transformer code's (Microsoft) "ckpt_epoch_<n>"
 * (its main.py saves ckpt_epoch_<epoch>.pth): 1 and *step set, else 0.
 */
#define MS_PREFIX "ckpt_epoch_"
static int
parse_ms_epoch(const char *name, size_t len, int64_t *step)
{
	size_t k = strlen(MS_PREFIX), i;
	int64_t v = 0;

	if (len <= k || strncmp(name, MS_PREFIX, k))
		return 0;
	for (i = k; i < len; i++) {
		if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	*step = v;
	return 1;
}

/* Length of `name` without the first extension of `exts` it ends with, or 0. */
static size_t
stem_len(const char *name, const char *const *exts)
{
	size_t n = strlen(name), k;
	int i;

	for (i = 0; exts[i]; i++) {
		k = strlen(exts[i]);
		if (n > k && !strcmp(name + n - k, exts[i]))
			return n - k;
	}
	return 0;
}

/* malloc'd folder part of a path ("." for a bare name). */
static char *
path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (!slash)
		return vv_strdup(".");
	if (slash == path)
		return vv_strdup("/");
	d = malloc((size_t)(slash - path) + 1);
	if (!d) {
		vv_error(VV_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = '\0';
	return d;
}

static void
ckpt_clear(embed_ckpt *c)
{
	free(c->name);
	free(c->path);
	free(c->weights);
	free(c->trainer_state);
	free(c->arch);
	free(c->labels);
	memset(c, 0, sizeof(*c));
}

/* Fill `c` for folder `dir`; 1 when it holds a weights file, 0 when not. */
static int
ckpt_probe(const char *dir, embed_ckpt *c)
{
	char *ts;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(weight_files) / sizeof(weight_files[0]); i++) {
		char *w = vv_path_join(dir, weight_files[i].file);

		if (!w)
			return vv_error(VV_ENOMEM, "out of memory");
		if (vv_is_file(w)) {
			c->weights = w;
			c->format = weight_files[i].format;
			break;
		}
		free(w);
	}
	if (!c->weights)
		return 0;
	c->path = vv_strdup(dir);
	c->name = vv_path_basename(dir);
	ts = vv_path_join(dir, "trainer_state.json");
	if (!c->path || !c->name || !ts) {
		free(ts);
		ckpt_clear(c);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	if (vv_is_file(ts))
		c->trainer_state = ts;
	else
		free(ts);
	c->step = -1;
	parse_step(c->name, &c->step);
	return 1;
}

static int
ckpt_cmp(const void *a, const void *b)
{
	const embed_ckpt *x = a, *y = b;

	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
embed_ckpt_list_free(embed_ckpt_list **pl)
{
	embed_ckpt_list *l = *pl;
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		ckpt_clear(&l->v[i]);
	free(l->v);
	free(l->loss_kind);
	free(l->loss_path);
	free(l->args_path);
	if (l->args)
		embed_timm_args_reset(l->args);
	free(l->args);
	free(l);
	*pl = NULL;
}

/* Fill `c` as the timm checkpoint file `file` (step from its name). */
static int
timm_probe(const char *file, embed_ckpt *c)
{
	char *base;
	size_t n;

	memset(c, 0, sizeof(*c));
	c->step = -1;
	c->format = EMBED_CKPT_TIMM;
	base = vv_path_basename(file);
	c->path = vv_strdup(file);
	c->weights = vv_strdup(file);
	if (!base || !c->path || !c->weights) {
		free(base);
		ckpt_clear(c);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	n = stem_len(base, timm_exts);
	if (n)
		base[n] = '\0';
	if (parse_step(base, &c->step) != 1)
		parse_ms_epoch(base, strlen(base), &c->step);
	c->name = base;
	return 0;
}

/* ------------------------------------------------------------------ */
/* jeonsworld/ViT-pytorch and the flower tutorial: one state dict a file */

#define JW_SUFFIX "_checkpoint.bin"
#define FLOWER_PREFIX "model-"
#define FLOWER_EXT ".pth"

/* "<name>_checkpoint.bin" (a non-empty name): jeonsworld's save_model(). */
static int
jw_name(const char *base)
{
	size_t n = strlen(base), k = strlen(JW_SUFFIX);

	return n > k && !strcmp(base + n - k, JW_SUFFIX);
}

/* "model-<integer>.pth": the flower tutorial's; *epoch set. */
static int
flower_name(const char *base, int64_t *epoch)
{
	size_t n = strlen(base), np = strlen(FLOWER_PREFIX), ne = strlen(FLOWER_EXT);
	const char *p;
	int64_t v = 0;

	if (n <= np + ne || strncmp(base, FLOWER_PREFIX, np) || strcmp(base + n - ne, FLOWER_EXT))
		return 0;
	for (p = base + np; p < base + n - ne; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (*p - '0');
	}
	*epoch = v;
	return 1;
}

/*
 * Fill `c` as the single-file checkpoint `file` of format `fmt` (name: the
 * file name without ".bin" / ".pth"; step as given).
 */
static int
file_probe(const char *file, int fmt, int64_t step, embed_ckpt *c)
{
	char *base;
	size_t n;

	memset(c, 0, sizeof(*c));
	c->step = step;
	c->format = fmt;
	base = vv_path_basename(file);
	c->path = vv_strdup(file);
	c->weights = vv_strdup(file);
	if (!base || !c->path || !c->weights) {
		free(base);
		ckpt_clear(c);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	n = stem_len(base, (const char *const[]){ ".bin", ".pth", NULL });
	if (n)
		base[n] = '\0';
	c->name = base;
	return 0;
}

/*
 * The files of folder `dir` that are checkpoints of format `fmt`
 * (jeonsworld: <name>_checkpoint.bin; flower: model-<epoch>.pth), into l
 * in step (then name) order; l->n stays 0 when there are none.
 */
static int
scan_files(const char *dir, int fmt, embed_ckpt_list *l)
{
	char **names = NULL;
	size_t n = 0, i;
	int err;

	err = vv_list_dir(dir, &names, &n);
	if (err)
		return err;
	free(l->v);
	l->n = 0;
	l->v = calloc(n ? n : 1, sizeof(*l->v));
	if (!l->v) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free_names;
	}
	for (i = 0; i < n; i++) {
		int64_t step = -1;
		char *f;

		if (fmt == EMBED_CKPT_FLOWER ? !flower_name(names[i], &step) : !jw_name(names[i]))
			continue;
		f = vv_path_join(dir, names[i]);
		if (!f) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free_names;
		}
		if (vv_is_file(f))
			err = file_probe(f, fmt, step, &l->v[l->n]);
		free(f);
		if (err)
			goto out_free_names;
		if (l->v[l->n].name)
			l->n++;
	}
	qsort(l->v, l->n, sizeof(*l->v), ckpt_cmp);
out_free_names:
	vv_strv_free(&names, n);
	return err;
}

/*
 * A flower run: `path` holds weights/model-<n>.pth, or is that weights/
 * folder.  1 when found (l filled, *prun the run root: the folder holding
 * weights/), 0 when `path` is not one, or an error.
 */
static int
discover_flower_dir(const char *path, embed_ckpt_list *l, char **prun)
{
	char *w = vv_path_join(path, "weights");
	int err;

	if (!w)
		return vv_error(VV_ENOMEM, "out of memory");
	if (vv_is_dir(w)) {
		err = scan_files(w, EMBED_CKPT_FLOWER, l);
		if (!err && l->n)
			*prun = vv_strdup(path);
	} else {
		err = scan_files(path, EMBED_CKPT_FLOWER, l);
		if (!err && l->n)
			*prun = path_dirname(path);
	}
	free(w);
	if (err)
		return err;
	if (l->n && !*prun)
		return VV_ENOMEM;
	return l->n > 0;
}

/* A jeonsworld output_dir: <name>_checkpoint.bin files; as above. */
static int
discover_jw_dir(const char *path, embed_ckpt_list *l, char **prun)
{
	int err = scan_files(path, EMBED_CKPT_JEONSWORLD, l);

	if (err)
		return err;
	if (!l->n)
		return 0;
	*prun = vv_strdup(path);
	return *prun ? 1 : VV_ENOMEM;
}

/*
 * A file given directly that one of the two layouts names: 1 and
 * l->v[0] filled, 0 when its name is neither, or an error.
 */
static int
discover_named_file(const char *path, embed_ckpt_list *l)
{
	char *base = vv_path_basename(path);
	int64_t step = -1;
	int err, fmt = -1;

	if (!base)
		return vv_error(VV_ENOMEM, "out of memory");
	if (jw_name(base))
		fmt = EMBED_CKPT_JEONSWORLD;
	else if (flower_name(base, &step))
		fmt = EMBED_CKPT_FLOWER;
	free(base);
	if (fmt < 0)
		return 0;
	err = file_probe(path, fmt, step, &l->v[0]);
	return err ? err : 1;
}

/*
 * The flower run's class_indices.json (its utils.read_split_data writes it
 * in the working folder, the one holding weights/): in `run`, else in the
 * folder above the weights file's; each flower checkpoint gets the path.
 */
static int
flower_labels(embed_ckpt_list *l, const char *run)
{
	char *p = vv_path_join(run, "class_indices.json"), *d;
	size_t i;

	if (!p)
		return VV_ENOMEM;
	for (i = 0; i < l->n; i++) {
		embed_ckpt *c = &l->v[i];

		if (c->format != EMBED_CKPT_FLOWER)
			continue;
		if (vv_is_file(p)) {
			c->labels = vv_strdup(p);
		} else {
			/* the folder holding weights/ (a file given directly) */
			char *w = path_dirname(c->weights);

			d = w ? path_dirname(w) : NULL;
			free(w);
			c->labels = d ? vv_path_join(d, "class_indices.json") : NULL;
			free(d);
			if (c->labels && !vv_is_file(c->labels)) {
				free(c->labels);
				c->labels = NULL;
				continue;
			}
		}
		if (!c->labels) {
			free(p);
			return VV_ENOMEM;
		}
	}
	free(p);
	return 0;
}

/*
 * Scan `path` for checkpoint-<n> folders and checkpoint-<n>.pth.tar files
 * into l; *timm_extra counts last.pth.tar / model_best.pth.tar seen.
 */
static int
scan_run(const char *path, embed_ckpt_list *l, int *timm_extra)
{
	char **names = NULL;
	size_t n = 0, i;
	int err, r;

	*timm_extra = 0;
	err = vv_list_dir(path, &names, &n);
	if (err)
		return err;
	l->v = calloc(n ? n : 1, sizeof(*l->v));
	if (!l->v) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free_names;
	}
	for (i = 0; i < n; i++) {
		size_t stem = stem_len(names[i], timm_run_exts);
		int64_t step;
		char *sub;

		if (stem && (!strncmp(names[i], "last.", 5) || !strncmp(names[i], "model_best.", 11)))
			(*timm_extra)++;
		if (stem && parse_ms_epoch(names[i], stem, &step)) {
			/* the Swin code's ckpt_epoch_<epoch>.pth */
			sub = vv_path_join(path, names[i]);
			if (!sub) {
				err = vv_error(VV_ENOMEM, "out of memory");
				goto out_free_names;
			}
			if (vv_is_file(sub) && (err = timm_probe(sub, &l->v[l->n])) == 0)
				l->n++;
			free(sub);
			if (err)
				goto out_free_names;
			continue;
		}
		r = parse_step_n(names[i], stem ? stem : strlen(names[i]), &step);
		if (r == 0)
			continue;
		sub = vv_path_join(path, names[i]);
		if (!sub) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free_names;
		}
		if (stem && vv_is_file(sub)) {
			/* timm: checkpoint-<epoch>.pth.tar */
			if (r < 0)
				vv_warn("%s: skipped: \"%s\" is not checkpoint-<integer epoch>", sub,
					names[i]);
			else if ((err = timm_probe(sub, &l->v[l->n])) == 0)
				l->n++;
			free(sub);
			if (err)
				goto out_free_names;
			continue;
		}
		if (!vv_is_dir(sub)) {
			free(sub);
			continue;
		}
		if (r < 0) {
			vv_warn("%s: skipped: \"%s\" is not checkpoint-<integer step>", sub, names[i]);
			free(sub);
			continue;
		}
		r = ckpt_probe(sub, &l->v[l->n]);
		if (r < 0) {
			free(sub);
			err = r;
			goto out_free_names;
		}
		if (r == 0)
			vv_warn("%s: skipped: no model.safetensors, model.safetensors.index.json "
				"or pytorch_model.bin", sub);
		else
			l->n++;
		free(sub);
	}
	qsort(l->v, l->n, sizeof(*l->v), ckpt_cmp);
out_free_names:
	vv_strv_free(&names, n);
	return err;
}

/*
 * A file given as the run: the weights file of an HF checkpoint folder
 * (1, *dir set to the folder), or a timm checkpoint file (0).
 */
static int
file_kind(const char *path, char **dir)
{
	char *base, *d, *cfg;
	size_t i;
	int hf = 0;

	*dir = NULL;
	base = vv_path_basename(path);
	d = path_dirname(path);
	cfg = d ? vv_path_join(d, "config.json") : NULL;
	if (!base || !d || !cfg) {
		free(base);
		free(d);
		free(cfg);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	for (i = 0; i < sizeof(weight_files) / sizeof(weight_files[0]); i++)
		if (!strcmp(base, weight_files[i].file) && vv_is_file(cfg))
			hf = 1;
	free(base);
	free(cfg);
	if (hf)
		*dir = d;
	else
		free(d);
	return hf;
}

/* args.yaml and summary.csv of the timm run in folder `dir`. */
static int
timm_run_files(const char *dir, embed_ckpt_list *l)
{
	char *args = vv_path_join(dir, "args.yaml"), *sum = vv_path_join(dir, "summary.csv");
	int err = 0;

	if (!args || !sum) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out;
	}
	if (vv_is_file(args)) {
		l->args = calloc(1, sizeof(*l->args));
		if (!l->args) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out;
		}
		err = embed_timm_args_load(args, l->args);
		if (err)
			goto out;
		l->args_path = args;
		args = NULL;
	}
	if (!l->loss_kind && vv_is_file(sum)) {
		l->loss_kind = vv_strdup("timm_summary");
		if (!l->loss_kind) {
			err = VV_ENOMEM;
			goto out;
		}
		l->loss_path = sum;
		sum = NULL;
	}
out:
	free(args);
	free(sum);
	return err;
}

int
embed_ckpt_discover(const char *path, embed_ckpt_list **pl)
{
	return embed_ckpt_discover_opts(path, NULL, pl);
}

/*
 * A single file: a Hugging Face weights file (its folder is the
 * checkpoint) or a timm-style .pth.tar / .pth / .pt / .bin.  *prun gets
 * the folder holding it.
 */
static int
discover_file(const char *path, embed_ckpt_list *l, char **prun)
{
	char *hfdir = NULL;
	int r;

	r = file_kind(path, &hfdir);
	if (r < 0)
		return r;
	if (r) {
		r = ckpt_probe(hfdir, &l->v[0]);
	} else if ((r = discover_named_file(path, l)) != 0) {
		/* jeonsworld's <name>_checkpoint.bin, the flower's model-<n>.pth */
	} else if (!stem_len(path, timm_exts)) {
		r = vv_error(VV_EUNSUPPORTED, "%s: not a checkpoint (give a run folder, a "
			     "checkpoint folder, or a .pth.tar / .pth / .pt / .bin / "
			     ".safetensors file)", path);
	} else {
		r = timm_probe(path, &l->v[0]);
		r = r ? r : 1;
	}
	free(hfdir);
	if (r < 0)
		return r;
	l->n = r > 0;
	*prun = path_dirname(path);
	return *prun ? 0 : VV_ENOMEM;
}

/*
 * A folder: one checkpoint folder, or a run of checkpoint-<step>/ folders
 * and checkpoint-<epoch>.pth.tar files (*extra counts last / model_best).
 */
static int
discover_dir(const char *path, embed_ckpt_list *l, char **prun, int *extra)
{
	int r, err;

	r = ckpt_probe(path, &l->v[0]);
	if (r < 0)
		return r;
	if (r > 0) {
		l->n = 1;
	} else {
		/* the single-file layouts first: a flower weights/ folder, a
		 * jeonsworld output_dir */
		r = discover_flower_dir(path, l, prun);
		if (!r)
			r = discover_jw_dir(path, l, prun);
		if (r)
			return r < 0 ? r : 0;
		free(l->v);
		l->v = NULL;
		err = scan_run(path, l, extra);
		if (err)
			return err;
	}
	*prun = vv_strdup(path);
	return *prun ? 0 : VV_ENOMEM;
}

/*
 * What the run holds beside its checkpoints: the newest trainer_state.json
 * for the loss curve, and for timm checkpoints args.yaml / summary.csv in
 * `run` and the --arch / --ema options.
 */
static int
attach_run_files(embed_ckpt_list *l, const char *run, const embed_ckpt_opts *opts)
{
	size_t i;
	int err, ntimm = 0;

	for (i = l->n; i-- > 0;)
		if (l->v[i].trainer_state) {
			l->loss_kind = vv_strdup("trainer_state");
			l->loss_path = vv_strdup(l->v[i].trainer_state);
			if (!l->loss_kind || !l->loss_path)
				return VV_ENOMEM;
			break;
		}
	for (i = 0; i < l->n; i++) {
		embed_ckpt *c = &l->v[i];

		ntimm += c->format == EMBED_CKPT_TIMM;
		if (c->format != EMBED_CKPT_JEONSWORLD && c->format != EMBED_CKPT_FLOWER)
			continue;
		c->image_size = opts ? opts->image_size : 0;
		if (opts && opts->arch && !(c->arch = vv_strdup(opts->arch)))
			return VV_ENOMEM;
	}
	err = flower_labels(l, run);
	if (err)
		return err;
	if (!ntimm)
		return 0;
	err = timm_run_files(run, l);
	if (err)
		return err;
	for (i = 0; i < l->n; i++) {
		embed_ckpt *c = &l->v[i];

		if (c->format != EMBED_CKPT_TIMM)
			continue;
		c->ema = opts ? opts->ema : 0;
		c->args = l->args;
		c->args_path = l->args_path;
		if (opts && opts->arch && !(c->arch = vv_strdup(opts->arch)))
			return VV_ENOMEM;
	}
	return 0;
}

int
embed_ckpt_discover_opts(const char *path, const embed_ckpt_opts *opts, embed_ckpt_list **pl)
{
	embed_ckpt_list *l;
	char *run = NULL;
	int err, extra = 0;

	*pl = NULL;
	if (!vv_is_dir(path) && !vv_is_file(path))
		return vv_error(VV_ENOTFOUND, "%s: no such folder (or checkpoint file)", path);
	l = calloc(1, sizeof(*l));
	if (!l)
		return vv_error(VV_ENOMEM, "out of memory");
	l->v = calloc(1, sizeof(*l->v));
	if (!l->v) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	err = vv_is_file(path) ? discover_file(path, l, &run) : discover_dir(path, l, &run, &extra);
	if (err)
		goto out_free;
	if (!l->n) {
		if (extra)
			err = vv_error(VV_ENOTFOUND, "%s: no checkpoint-<epoch>.pth.tar files (only "
				       "last / model_best: give one of those files directly)", path);
		else
			err = vv_error(VV_ENOTFOUND, "%s: no checkpoints (no checkpoint-<step> "
				       "folder with model.safetensors, model.safetensors.index.json "
				       "or pytorch_model.bin, no checkpoint-<epoch>.pth.tar)", path);
		goto out_free;
	}
	if (extra)
		vv_debug("%s: last / model_best checkpoints ignored (give them directly to use "
			 "them)", path);
	err = attach_run_files(l, run, opts);
	if (err)
		goto out_free;
	free(run);
	*pl = l;
	return 0;
out_free:
	free(run);
	embed_ckpt_list_free(&l);
	return err;
}

int
embed_ckpt_weight_files(const embed_ckpt *ck, char ***files, size_t *n)
{
	char **v;

	if (ck->format == EMBED_CKPT_SHARDED)
		return embed_safetensors_index_files(ck->weights, files, n);
	*files = NULL;
	*n = 0;
	v = calloc(1, sizeof(*v));
	if (!v || !(v[0] = vv_strdup(ck->weights))) {
		free(v);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	*files = v;
	*n = 1;
	return 0;
}

/* Fold the bytes of `s` into the two running hashes. */
static void
hash_str(uint64_t *h1, uint64_t *h2, const char *s)
{
	for (; *s; s++) {
		*h1 = (*h1 ^ (unsigned char)*s) * 1099511628211ULL;
		*h2 = (*h2 ^ (unsigned char)*s) * 0x100000001b3ULL + 0x632be59bd9b4e019ULL;
	}
}

/*
 * A single-file checkpoint's outputs also depend on --ema, --arch,
 * --image-size, args.yaml and class_indices.json: part of its fingerprint.
 */
static int
timm_fingerprint(const embed_ckpt *ck, char out[40])
{
	uint64_t h1 = 1469598103934665603ULL, h2 = 0x9e3779b97f4a7c15ULL;
	char fp[40];
	int err;

	err = vv_file_fingerprint(ck->weights, fp);
	if (err)
		return err;
	hash_str(&h1, &h2, fp);
	hash_str(&h1, &h2, ck->ema ? "|ema" : "|no-ema");
	hash_str(&h1, &h2, "|arch=");
	hash_str(&h1, &h2, ck->arch ? ck->arch : "");
	if (ck->image_size) {
		snprintf(fp, sizeof(fp), "|img=%d", ck->image_size);
		hash_str(&h1, &h2, fp);
	}
	if (ck->labels) {
		err = vv_file_fingerprint(ck->labels, fp);
		if (err)
			return err;
		hash_str(&h1, &h2, "|labels=");
		hash_str(&h1, &h2, fp);
	}
	if (ck->args_path) {
		err = vv_file_fingerprint(ck->args_path, fp);
		if (err)
			return err;
		hash_str(&h1, &h2, "|args=");
		hash_str(&h1, &h2, fp);
	}
	snprintf(out, 40, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
	return 0;
}

int
embed_ckpt_fingerprint(const embed_ckpt *ck, char out[40])
{
	char **files = NULL, fp[40];
	size_t n = 0, i;
	uint64_t h1 = 1469598103934665603ULL, h2 = 0x9e3779b97f4a7c15ULL;
	int err;

	if (ck->format == EMBED_CKPT_TIMM || ck->format == EMBED_CKPT_JEONSWORLD ||
	    ck->format == EMBED_CKPT_FLOWER)
		return timm_fingerprint(ck, out);
	if (ck->format != EMBED_CKPT_SHARDED)
		return vv_file_fingerprint(ck->weights, out);
	err = embed_ckpt_weight_files(ck, &files, &n);
	if (err)
		return err;
	/* the index and every shard, in index order */
	for (i = 0; i <= n; i++) {
		err = vv_file_fingerprint(i ? files[i - 1] : ck->weights, fp);
		if (err)
			goto out_free;
		hash_str(&h1, &h2, fp);
	}
	snprintf(out, 40, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
out_free:
	vv_strv_free(&files, n);
	return err;
}

int
embed_ckpt_load(const embed_ckpt *ck, embed_tensors **pt, embed_pt_info *info)
{
	embed_pt_opts po = { .ema = ck->format == EMBED_CKPT_TIMM && ck->ema };
	embed_tensors *t;
	int err;

	*pt = NULL;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->epoch = -1;
	}
	if (ck->format == EMBED_CKPT_PYTORCH || ck->format == EMBED_CKPT_JEONSWORLD ||
	    ck->format == EMBED_CKPT_FLOWER ||
	    (ck->format == EMBED_CKPT_TIMM && !stem_len(ck->weights, (const char *const[]){
		    ".safetensors", NULL })))
		return embed_pt_load(ck->weights, &po, pt, info);
	err = embed_tensors_alloc(&t);
	if (err)
		return err;
	if (ck->format == EMBED_CKPT_SHARDED)
		err = embed_safetensors_load_sharded(ck->weights, t);
	else
		err = embed_safetensors_load(ck->weights, t);
	if (err) {
		embed_tensors_free(&t);
		return err;
	}
	*pt = t;
	return 0;
}

int
embed_ckpt_load_tensors(const embed_ckpt *ck, embed_tensors **pt)
{
	return embed_ckpt_load(ck, pt, NULL);
}

double
embed_ckpt_epoch(const embed_ckpt *ck)
{
	cJSON *j;
	double e;

	if (ck->format == EMBED_CKPT_TIMM || ck->format == EMBED_CKPT_FLOWER ||
	    ck->format == EMBED_CKPT_JEONSWORLD)
		return ck->step >= 0 ? (double)ck->step : NAN;
	if (!ck->trainer_state)
		return NAN;
	j = vv_json_load(ck->trainer_state);
	e = j ? vv_json_get_double(j, "epoch", NAN) : NAN;
	cJSON_Delete(j);
	if (!j)
		vv_error_clear();
	return isfinite(e) ? e : NAN;
}
