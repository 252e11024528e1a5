/*
 * analysis_report.h - the outlier report of one checkpoint as CSV.
 *
 * Reads what `analyze` wrote (scores.npy) plus samples.csv and, when the
 * checkpoint has them, its logits; prints RFC 4180 CSV with a header row:
 *   rank,index,path,label,label_name,score
 * and, with logits, ,predicted,predicted_name,misclassified,label_quality.
 * Rank 1 is the lowest score (most atypical); ties by sample index.
 */
#ifndef ANALYSIS_REPORT_H
#define ANALYSIS_REPORT_H

#include <stdint.h>

typedef struct analysis_report_opts {
	int top;                 /* rows to print (8); 0 = every sample */
	int64_t checkpoint_step; /* checkpoint by step; -1 = the last one */
	const char *out_path;    /* file to write (atomically), NULL = stdout */
} analysis_report_opts;

/* Fill *o with the defaults above. */
void analysis_report_opts_default(analysis_report_opts *o);

/*
 * Write the report.  No scores.npy (analyze not run) is VV_ENOTFOUND, a
 * scores.npy that does not match the manifest (stale) VV_EMISMATCH, a step
 * that no checkpoint has VV_ENOTFOUND listing the steps there are.
 */
int analysis_report(const char *workdir, const analysis_report_opts *o);

#endif
