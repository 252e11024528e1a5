/*
 * analysis_report.h - the outlier report of one checkpoint as CSV.
 *
 * Reads what `analyze` wrote (scores.npy) plus samples.csv and, when the
 * checkpoint has them, its logits; prints RFC 4180 CSV with a header row:
 *   rank,index,path,label,label_name,score
 * and, with logits, ,predicted,predicted_name,misclassified,label_quality.
 * Rank 1 is the lowest score (most atypical); ties by sample index.
 *
 * With `by` set to a training-dynamics ranking (dynamics.npy, written by
 * `analyze`), the rows are the samples by that ranking instead:
 *   rank,index,path,label,label_name,confidence,variability,correctness,aum,
 *   forgetting,learned_at,label_issue,movement,persistent_outlier,
 *   usual_prediction,usual_prediction_name
 * label-issue: highest label_issue first (most likely mislabeled), with the
 * class predicted most often instead; movement: longest path first;
 * persistent-outlier: most checkpoints among the top outliers first.  Ties
 * by sample index.
 */
#ifndef ANALYSIS_REPORT_H
#define ANALYSIS_REPORT_H

#include <stdint.h>

/* What a report ranks by. */
enum {
	ANALYSIS_REPORT_OUTLIER = 0,     /* the outlier scores of one checkpoint (default) */
	ANALYSIS_REPORT_LABEL_ISSUE,     /* dynamics: label_issue */
	ANALYSIS_REPORT_MOVEMENT,        /* dynamics: movement */
	ANALYSIS_REPORT_PERSISTENT,      /* dynamics: persistent_outlier */
};

/* Parse "outlier", "label-issue", "movement", "persistent-outlier"; VV_EINVAL otherwise. */
int analysis_report_parse_by(const char *s, int *by);

typedef struct analysis_report_opts {
	int top;                 /* rows to print (8); 0 = every sample */
	int64_t checkpoint_step; /* checkpoint by step; -1 = the last one */
	const char *out_path;    /* file to write (atomically), NULL = stdout */
	int by;                  /* ANALYSIS_REPORT_* (outlier) */
} analysis_report_opts;

/* Fill *o with the defaults above. */
void analysis_report_opts_default(analysis_report_opts *o);

/*
 * Write the report.  No scores.npy (analyze not run) is VV_ENOTFOUND, a
 * scores.npy that does not match the manifest (stale) VV_EMISMATCH, a step
 * that no checkpoint has VV_ENOTFOUND listing the steps there are.  A
 * dynamics ranking without dynamics.npy is VV_ENOTFOUND; label-issue on a
 * run without label metrics (no classifier head) VV_EUNSUPPORTED.
 */
int analysis_report(const char *workdir, const analysis_report_opts *o);

#endif
