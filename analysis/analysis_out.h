/*
 * analysis_out.h - the text outputs of the `analyze` stage: frames.csv,
 * loss.csv, the rows of outliers.csv and analysis.json.
 */
#ifndef ANALYSIS_OUT_H
#define ANALYSIS_OUT_H

#include "analysis/analysis_loss.h"
#include "analysis/analysis_run.h"
#include "common/vv_work.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One of the lowest-scoring samples of a frame. */
typedef struct analysis_top {
	int64_t index;     /* sample index (row of samples.csv) */
	float score;       /* outlier score as stored in scores.npy */
	int label;         /* given label */
	int32_t predicted; /* predicted class, -1 without logits */
} analysis_top;

/* What analysis.json and frames.csv say about one checkpoint. */
typedef struct analysis_frame {
	const vv_ckpt_info *ckpt; /* the checkpoint (name, step, epoch) */
	double epoch;             /* epoch at the checkpoint, NaN unknown */
	const analysis_loss_point *loss; /* last training-loss point at or before the step, or NULL */
	const analysis_loss_point *eval; /* last eval-loss point at or before the step, or NULL */
	double disparity;         /* Procrustes disparity of this frame */
	size_t ntop;              /* entries in top */
	analysis_top *top;        /* lowest scores, rank order */
} analysis_frame;

/* Everything analysis.json records. */
typedef struct analysis_summary {
	const char *align;       /* alignment mode name */
	int64_t k;               /* neighbours used */
	const char *metric;      /* metric used */
	const char *ood_scale;   /* "median" or "none" */
	double display_scale;    /* factor applied to the aligned coordinates */
	int has_logits;          /* some checkpoint has logits */
	const char *loss_kind;   /* kind of the loss log read, or NULL */
	const char *loss_path;   /* the loss log read, or NULL */
	size_t nframes;          /* checkpoints */
	const analysis_frame *frames; /* one per checkpoint, manifest order */
	const analysis_opts *opts; /* options as requested (recorded for reuse) */
} analysis_summary;

/* A number as CSV text: shortest round-trip form; nan, inf, -inf. */
void analysis_put_number(FILE *fp, double v);

/*
 * The prediction columns of one sample's CSV row for frame f:
 * ",predicted,predicted_name,misclassified,label_quality".  The verdict and
 * the label quality are left empty when the classifier's classes are not
 * the dataset's (vv_ckpt_info.logits_match) or the quality is NaN.
 */
void analysis_put_prediction(FILE *fp, const vv_manifest *m, size_t f, int32_t pred,
			     int label, double quality);

/* The "options" object analysis.json records for these options. */
cJSON *analysis_opts_json(const analysis_opts *o);

/* frames.csv: checkpoint,step,epoch,loss,disparity. */
void analysis_write_frames(FILE *fp, const analysis_summary *s);

/* loss.csv: step,epoch,loss,eval_loss,learning_rate (header only without a log). */
void analysis_write_loss(FILE *fp, const analysis_loss_log *l);

/* analysis.json as a cJSON tree (NULL when out of memory). */
cJSON *analysis_summary_json(const analysis_summary *s);

#endif
