/*
 * render_inputs.h - everything the renderer reads from a work folder:
 * manifest.json and samples.csv (common/vv_work.h), coords.npy,
 * analysis.json and loss.csv (written by `analyze`), all validated.
 */
#ifndef RENDER_INPUTS_H
#define RENDER_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/vv_work.h"

/* Most outliers a frame shows. */
#define RENDER_MAX_TOP 8

typedef struct render_top {
	int64_t index;  /* sample index, 0..n-1 */
	double score;   /* outlier score (lower = more atypical) */
	int label;      /* the sample's class */
	int predicted;  /* predicted class, -1 unknown */
} render_top;

typedef struct render_frame_info {
	int64_t step;    /* global step of the checkpoint, -1 unknown */
	double epoch;    /* epoch, NaN unknown */
	double loss;     /* training loss at this step, NaN unknown */
	int ntop;        /* entries in top */
	render_top top[RENDER_MAX_TOP]; /* most atypical samples, rank order */
} render_frame_info;

typedef struct render_loss {
	size_t n;          /* logged rows */
	double *step;      /* n steps, ascending */
	double *loss;      /* n training losses, NaN where not logged */
	double *eval_loss; /* n evaluation losses, NaN where not logged */
} render_loss;

typedef struct render_inputs {
	vv_manifest *man;         /* manifest.json */
	vv_samples *samples;      /* samples.csv (n rows) */
	size_t T;                 /* checkpoints (frames of the analysis) */
	size_t n;                 /* samples */
	const float *coords;      /* T x n x 2 display coordinates, in [-5, 5] */
	void *coords_arr;         /* owner of coords (vv_array) */
	render_frame_info *frames;/* T frames, manifest order */
	render_loss loss;         /* loss.csv (n = 0 when absent) */
	int has_logits;           /* analysis.json has predictions */
	int top_label_issues;     /* 1: every frame's top lists the run's label issues (render_issues.h):
				   * score = label_issue, predicted = usual prediction */
} render_inputs;

/*
 * Load and cross-check a work folder: coords.npy must be float32 T x n x 2
 * with T the manifest's checkpoints and n the samples; analysis.json must
 * have T frames whose outlier indices and classes are in range; loss.csv is
 * optional.  Errors name the file and the problem.
 */
int render_inputs_load(const char *workdir, render_inputs **pi);

/* Free *pi and set it to NULL (NULL-safe). */
void render_inputs_free(render_inputs **pi);

/* Index of the checkpoint with global step `step` (-1: the last); or -1. */
int render_inputs_find_step(const render_inputs *in, int64_t step);

/*
 * The title of a video or page without --title: "<model> fine-tuning ·
 * <run folder name>", the model's display name from the manifest ("Swin-T",
 * "R50+ViT-B/16"; "ViT" when none).  malloc'd; NULL when out of memory.
 */
char *render_default_title(const vv_manifest *m);

#endif
