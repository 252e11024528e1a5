/*
 * analysis_dynamics_stage.h - the training-dynamics part of `analyze`:
 * WORK/dynamics.csv, dynamics.npy and dynamics.json from the logits of
 * every checkpoint (streamed one file at a time), coords.npy and scores.npy.
 *
 * dynamics.csv (RFC 4180, one row per sample, header row):
 *   index,path,label,label_name,confidence,variability,correctness,aum,
 *   forgetting,learned_at,label_issue,label_issue_rank,movement,
 *   persistent_outlier,usual_prediction,usual_prediction_name
 * (definitions: analysis_dynamics.h); an unknown value is an empty field.
 * dynamics.npy: float32 N x 11, the numeric columns in that order
 * (analysis_dynamics.h ANALYSIS_DYN_*), NaN where unknown, -1 for "no usual
 * prediction".  dynamics.json: {"format":2, "columns":[...],
 * "checkpoints":[names], "top":k, "label_metrics":bool, "notes":[...]},
 * written last.
 */
#ifndef ANALYSIS_DYNAMICS_STAGE_H
#define ANALYSIS_DYNAMICS_STAGE_H

#include "analysis/analysis_dynamics.h"
#include "common/vv_work.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Compute and write the dynamics of `workdir` (coords.npy and scores.npy
 * must be current), persistent_outlier counting the `top` lowest scores of
 * each checkpoint.  Reuses the outputs when they are newer than every input
 * and were made for the same checkpoints and top.  The label metrics need
 * logits of the dataset's classes at every checkpoint; otherwise they are
 * left empty and dynamics.json's "notes" (and the log) say why.  Logits with another
 * class count than the first checkpoint's: VV_EMISMATCH naming the file;
 * NaN/Inf: VV_EFORMAT naming file and row; nothing is written then.
 */
int analysis_dynamics_run(const char *workdir, const vv_manifest *m, const vv_samples *s, int top);

/* dynamics.npy as read back for the report and the renderer. */
typedef struct analysis_dyn_table {
	int64_t n;          /* samples */
	int label_metrics;  /* the label columns hold values */
	float *v;           /* n x ANALYSIS_DYN_NCOLS values, row-major */
} analysis_dyn_table;

/*
 * Read <workdir>/dynamics.npy and dynamics.json for n samples.  Missing:
 * VV_ENOTFOUND ("run `vitviz analyze`"); another shape: VV_EMISMATCH.
 */
int analysis_dyn_table_load(const char *workdir, int64_t n, analysis_dyn_table **pt);

/* Free *pt and set it to NULL (NULL-safe). */
void analysis_dyn_table_free(analysis_dyn_table **pt);

/* Value of column col for sample i. */
static inline float
analysis_dyn_at(const analysis_dyn_table *t, int64_t i, int col)
{
	return t->v[(size_t)i * ANALYSIS_DYN_NCOLS + (size_t)col];
}

/*
 * order[0..n) = samples by column col, largest first when `descending`,
 * unknown (NaN) values last, ties by sample index.
 */
int analysis_dyn_table_order(const analysis_dyn_table *t, int col, int descending, int32_t *order);

#endif
