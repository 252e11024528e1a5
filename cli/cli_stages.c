/* cli_stages.c - the options of each stage, as tables for cli_parse(). */
#include "cli/cli.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "embed/images/embed_dataset.h"
#include "render/render_encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int
cli_fail(int err)
{
	if (!err)
		return 0;
	fprintf(stderr, "vitviz: %s\n", vv_errmsg()[0] ? vv_errmsg() : vv_strerror(err));
	return vv_exit_code(err);
}

int
cli_check_out_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int err = 0;

	if (!dir)
		return vv_error(VV_ENOMEM, "out of memory");
	if (!vv_is_dir(dir))
		err = vv_error(VV_EIO, "%s: no such folder \"%s\" (vitviz does not create it; make it first)", path, dir);
	else if (access(dir, W_OK | X_OK) != 0)
		err = vv_error(VV_EIO, "%s: folder \"%s\" is not writable", path, dir);
	free(dir);
	return err;
}

int
cli_check_png(const char *path)
{
	size_t n = strlen(path);

	if (n < 5 || strcasecmp(path + n - 4, ".png"))
		return vv_error(VV_EINVAL, "%s: frame writes PNG images; name the output .png", path);
	return cli_check_out_parent(path);
}

int
cli_check_video(const char *path, const char *frames_dir)
{
	render_format fmt;
	int err = 0;

	if (path && ((err = render_format_from_path(path, &fmt)) || (err = cli_check_out_parent(path))))
		return err;
	/* the frames folder itself may be made, not its parents */
	if (frames_dir && !vv_is_dir(frames_dir))
		err = cli_check_out_parent(frames_dir);
	return err;
}

int
cli_parsed(int rc)
{
	if (rc == 1)
		return VV_EXIT_OK;
	if (rc)
		return cli_fail(rc);
	return -1;
}

/* --- embed ------------------------------------------------------------ */

enum { E_DATA, E_LIMIT, E_PER_CLASS, E_SPLIT, E_BATCH, E_THREADS, E_POOL, E_STRICT, E_FORCE,
       E_ARCH, E_EMA, E_LABEL_MAP, E_BY_INDEX, E_IMAGE_SIZE, E_SHARD };

static const cli_opt embed_opts[] = {
	{ "data", 'd', "DATA", "images: CIFAR-10/100 batches (file or folder) or root/<class>/<file>", E_DATA },
	{ "limit", 0, "N", "embed only the first N samples", E_LIMIT },
	{ "per-class", 0, "N", "embed the first N samples of each class", E_PER_CLASS },
	{ "split", 0, "test|train", "CIFAR split to use (default test)", E_SPLIT },
	{ "batch", 0, "B", "images per forward pass (default 16)", E_BATCH },
	{ "threads", 0, "T", "worker threads (default: all cores; the output is the same for any T)", E_THREADS },
	{ "pool", 0, "cls|mean|head", "embedding: CLS token (default), mean of patch tokens, or what the head sees", E_POOL },
	{ "arch", 0, "NAME", "architecture: timm name (default: from the checkpoint or args.yaml), "
	  "jeonsworld config (R50-ViT-B_16, ...), flower model (vit_base_patch16_224_in21k, ...)", E_ARCH },
	{ "image-size", 0, "N", "jeonsworld/ViT-pytorch: its train.py's --img_size (default 224)", E_IMAGE_SIZE },
	{ "ema", 0, NULL, "timm: use the EMA weights (state_dict_ema)", E_EMA },
	{ "label-map", 0, "FILE", "CSV data_class,model_class: which model class each data class is", E_LABEL_MAP },
	{ "labels-by-index", 0, NULL, "data class j (folder name order) is model class j, whatever the names", E_BY_INDEX },
	{ "strict", 0, NULL, "fail on an undecodable image instead of skipping it", E_STRICT },
	{ "force", 0, NULL, "recompute every checkpoint", E_FORCE },
	{ "shard", 0, "I/N", "compute shard I of N (0-based) as parts; default: from Slurm/MPI/torchrun", E_SHARD },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
embed_apply(void *ctx, int id, const char *arg)
{
	embed_stage_opts *o = ctx;
	long long v;
	int err = 0;

	switch (id) {
	case E_DATA: o->data = arg; break;
	case E_LIMIT: err = cli_int("limit", arg, 1, 1LL << 40, &v); o->limit = (size_t)v; break;
	case E_PER_CLASS: err = cli_int("per-class", arg, 1, 1LL << 40, &v); o->per_class = (size_t)v; break;
	case E_SPLIT:
		if (strcmp(arg, "test") && strcmp(arg, "train"))
			return vv_error(VV_EINVAL, "--split must be test or train, not \"%s\"", arg);
		o->split = arg;
		break;
	case E_BATCH: err = cli_int("batch", arg, 1, 4096, &v); o->batch = (int)v; break;
	case E_THREADS: err = cli_int("threads", arg, 1, 1024, &v); o->threads = (int)v; break;
	case E_POOL: err = embed_parse_pool(arg, &o->pool); break;
	case E_STRICT: o->strict = 1; break;
	case E_FORCE: o->force = 1; break;
	case E_ARCH: o->arch = arg; break;
	case E_EMA: o->ema = 1; break;
	case E_IMAGE_SIZE: err = cli_int("image-size", arg, 16, 8192, &v); o->image_size = (int)v; break;
	case E_LABEL_MAP: o->label_map = arg; break;
	case E_BY_INDEX: o->labels_by_index = 1; break;
	case E_SHARD: err = embed_shard_parse(arg, &o->shard); break;
	}
	return err;
}

cli_group
cli_embed_group(embed_stage_opts *o)
{
	return (cli_group){ "Embedding options", embed_opts, embed_apply, o };
}

/* --- analyze ---------------------------------------------------------- */

enum { A_ALIGN, A_K, A_METRIC, A_OOD_SCALE, A_LOSS };

static const cli_opt analyze_opts[] = {
	{ "align", 0, "rotate|chain|anchor|gpa", "frame alignment: rotate (default, no rescaling), chain (scipy.spatial.procrustes, rescales each frame), anchor, gpa", A_ALIGN },
	{ "k", 0, "K", "neighbours for outlier scores (default min(10, N-1))", A_K },
	{ "metric", 0, "auto|cosine|euclidean", "kNN distance (default auto: cosine when D > 3, else euclidean)", A_METRIC },
	{ "ood-scale", 0, "median|none", "score scaling: cleanlab >= 2.6 (median) or older", A_OOD_SCALE },
	{ "loss", 0, "FILE", "loss curve from a CSV with columns step,loss", A_LOSS },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
analyze_apply(void *ctx, int id, const char *arg)
{
	analysis_opts *o = ctx;
	long long v;
	int err = 0;

	switch (id) {
	case A_ALIGN: err = analysis_parse_align(arg, &o->align); break;
	case A_K: err = cli_int("k", arg, 1, 100000, &v); o->k = (int)v; break;
	case A_METRIC: err = analysis_parse_metric(arg, &o->metric); break;
	case A_OOD_SCALE: err = analysis_parse_ood_scale(arg, &o->ood_scale); break;
	case A_LOSS: o->loss_file = arg; break;
	}
	return err;
}

cli_group
cli_analyze_group(analysis_opts *o)
{
	return (cli_group){ "Analysis options", analyze_opts, analyze_apply, o };
}

/* --- render ----------------------------------------------------------- */

enum { R_SIZE, R_FPS, R_SPC, R_HOLD, R_CRF, R_PRESET, R_X264, R_THEME, R_TITLE, R_FRAMES, R_DATA_MAP, R_TOP };

static const cli_opt render_opts_table[] = {
	{ "size", 0, "WxH", "frame size, even numbers (default 1920x1080)", R_SIZE },
	{ "fps", 0, "N", "frames per second (default 30)", R_FPS },
	{ "seconds-per-checkpoint", 0, "S", "time between checkpoints (default 1.0)", R_SPC },
	{ "hold", 0, "S", "seconds to hold the last frame (default 2)", R_HOLD },
	{ "crf", 0, "N", "H.264/VP9 quality, lower is better (default 20)", R_CRF },
	{ "preset", 0, "classroom|standard", "look: classroom = larger text, thicker points, 2 s per checkpoint", R_PRESET },
	{ "x264-preset", 0, "NAME", "x264 speed preset (default medium)", R_X264 },
	{ "theme", 0, "light|dark", "colour theme (default light)", R_THEME },
	{ "title", 0, "TEXT", "title above the plot", R_TITLE },
	{ "frames", 0, "DIR", "also write every frame as PNG into DIR", R_FRAMES },
	{ "data-map", 0, NULL, "the run's data map (confidence vs variability): frame draws it, a video ends on it", R_DATA_MAP },
	{ "top", 0, "outliers|label-issue", "thumbnails: each checkpoint's outliers (default) or the run's label issues", R_TOP },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
render_apply(void *ctx, int id, const char *arg)
{
	render_opts *o = ctx;
	long long v;
	int err = 0;

	switch (id) {
	case R_SIZE: err = render_parse_size(arg, &o->width, &o->height); break;
	case R_FPS: err = cli_int("fps", arg, 1, 240, &v); o->fps = (int)v; break;
	case R_SPC:
		err = cli_double("seconds-per-checkpoint", arg, 0.01, 3600, &o->seconds_per_checkpoint);
		o->spc_given = 1;
		break;
	case R_HOLD: err = cli_double("hold", arg, 0, 3600, &o->hold_seconds); break;
	case R_CRF: err = cli_int("crf", arg, 0, 63, &v); o->crf = (int)v; break;
	case R_PRESET:
		if (!strcmp(arg, "classroom")) {
			o->classroom = 1;
			if (!o->spc_given)
				o->seconds_per_checkpoint = 2.0;
		} else if (!strcmp(arg, "standard")) {
			o->classroom = 0;
			if (!o->spc_given)
				o->seconds_per_checkpoint = 1.0;
		} else {
			err = vv_error(VV_EINVAL, "--preset must be classroom or standard, not \"%s\" "
				       "(the encoder's speed preset is --x264-preset)", arg);
		}
		break;
	case R_X264: o->preset = arg; break;
	case R_THEME:
		if (!strcmp(arg, "light"))
			o->theme = RENDER_THEME_LIGHT;
		else if (!strcmp(arg, "dark"))
			o->theme = RENDER_THEME_DARK;
		else
			err = vv_error(VV_EINVAL, "--theme must be light or dark, not \"%s\"", arg);
		break;
	case R_TITLE: o->title = arg; break;
	case R_FRAMES: o->frames_dir = arg; break;
	case R_DATA_MAP: o->data_map = 1; break;
	case R_TOP:
		if (!strcmp(arg, "outliers"))
			o->top_kind = RENDER_TOP_OUTLIERS;
		else if (!strcmp(arg, "label-issue") || !strcmp(arg, "label-issues"))
			o->top_kind = RENDER_TOP_LABEL_ISSUES;
		else
			err = vv_error(VV_EINVAL, "--top must be outliers or label-issue, not \"%s\"", arg);
		break;
	}
	return err;
}

/* The options of render_opts_table that a still uses (same ids). */
static const char *const frame_names[] = { "size", "preset", "theme", "title", "data-map", "top", NULL };

cli_group
cli_frame_group(render_opts *o)
{
	static cli_opt table[sizeof(render_opts_table) / sizeof(render_opts_table[0])];

	if (!table[0].name) {
		size_t k = 0;

		for (size_t i = 0; render_opts_table[i].name; i++)
			for (size_t j = 0; frame_names[j]; j++)
				if (!strcmp(render_opts_table[i].name, frame_names[j]))
					table[k++] = render_opts_table[i];
	}
	return (cli_group){ "Rendering options", table, render_apply, o };
}

cli_group
cli_render_group(render_opts *o)
{
	return (cli_group){ "Rendering options", render_opts_table, render_apply, o };
}

void
cli_render_opts_default(render_opts *o)
{
	render_opts_default(o);
	o->thumb_load = embed_dataset_load_path;
	o->thumb_free = embed_image_free;
}
