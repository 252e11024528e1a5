/*
 * analysis_run.h - the `analyze` stage.
 *
 * Reads the work folder written by `embed` (manifest.json, samples.csv,
 * embeddings/<ckpt>.npy, logits/<ckpt>.npy) and the run's loss log, and
 * writes coords.npy, scores.npy, frames.csv, loss.csv, outliers.csv and
 * analysis.json (formats: notes in workdir.md / README), every file through
 * a temporary file and rename, analysis.json last.
 *
 * Per checkpoint: 2-D PCA (analysis_pca.h), cleanlab-compatible outlier
 * scores (analysis_ood.h), predictions and label quality when logits exist
 * (analysis_pred.h); then Procrustes alignment over all checkpoints
 * (analysis_procrustes.h; by default rotation only, so each frame keeps its
 * PCA's spread) and one display factor for the whole animation so that
 * max |coordinate| = 5.  Each checkpoint is mapped to the training loss
 * last logged at or before its step (analysis_loss.h).
 *
 * Reuse: when analysis.json records the same options and every output is
 * newer than every input read, nothing is recomputed.
 *
 * Then the training dynamics (analysis_dynamics_stage.h): dynamics.csv,
 * dynamics.npy and dynamics.json, reused on their own when still current
 * (so a work folder from before them gains them without a new analysis).
 */
#ifndef ANALYSIS_RUN_H
#define ANALYSIS_RUN_H

#include "analysis/analysis_ood.h"
#include "analysis/analysis_procrustes.h"

#include <stdint.h>

/* The half-width of the display axes: coordinates span [-5, 5]. */
#define ANALYSIS_DISPLAY_MAX 5.0

typedef struct analysis_opts {
	int align;             /* ANALYSIS_ALIGN_ROTATE (default), _CHAIN, _ANCHOR or _GPA */
	int k;                 /* neighbours for the outlier score; 0 = min(10, N - 1) */
	int metric;            /* ANALYSIS_METRIC_AUTO (default), _COSINE or _EUCLIDEAN */
	int ood_scale;         /* ANALYSIS_OOD_MEDIAN (default) or _NONE */
	const char *loss_file; /* loss log overriding the manifest's (any kind), or NULL */
	int top;               /* outliers listed per frame in analysis.json (8) */
	int shard_index;       /* analyze --shard I/N: this process's I ... */
	int shard_count;       /* ... and N; 0 = not sharded.  A shard computes
				* the PCA and outlier scores of its own block
				* of checkpoints into <work>/analysis/; the one
				* that finds every block there assembles */
} analysis_opts;

/* Fill *o with the defaults above. */
void analysis_opts_default(analysis_opts *o);

/*
 * Run the stage on `workdir`.  Returns 0 or a negative VV_E* code after one
 * error line: no manifest.json is VV_ENOTFOUND (from vv_manifest_load), a
 * missing embeddings file VV_ENOTFOUND, checkpoints of different N or D and
 * a loss log covering none of the checkpoints VV_EMISMATCH, NaN/Inf in an
 * embedding or logit VV_EFORMAT naming the checkpoint and row, logits whose
 * class count changes between checkpoints VV_EMISMATCH naming the file,
 * N <= 1 VV_EINVAL; the outputs are then left as they were.
 */
int analysis_run(const char *workdir, const analysis_opts *o);

#endif
