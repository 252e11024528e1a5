/*
 * analysis_loss.h - the training-loss log of a run.
 *
 * Three sources, one table of points (one per logged step, ascending):
 *   trainer_state  HF Trainer's trainer_state.json: "log_history" entries
 *                  with "loss" are training points, with "eval_loss" eval
 *                  points; "step", "epoch", "learning_rate" as logged.
 *                  Python's NaN / Infinity tokens are accepted.
 *   timm_summary   timm train.py's summary.csv: epoch,train_loss,eval_loss,
 *                  ... (and "lr" when present); step = epoch.
 *   csv            a user CSV with a header holding "step" and "loss"
 *                  (optional "epoch", "eval_loss", "learning_rate" or "lr").
 * Entries logged at the same step are merged (a later value wins).
 */
#ifndef ANALYSIS_LOSS_H
#define ANALYSIS_LOSS_H

#include <stddef.h>
#include <stdint.h>

/* Which values a point holds (a logged NaN is a value). */
enum {
	ANALYSIS_LOSS_HAS_EPOCH = 1,
	ANALYSIS_LOSS_HAS_LOSS = 2,
	ANALYSIS_LOSS_HAS_EVAL = 4,
	ANALYSIS_LOSS_HAS_LR = 8,
};

typedef struct analysis_loss_point {
	int64_t step;     /* global step (Trainer) or epoch (timm), >= 0 */
	double epoch;     /* epoch as logged */
	double loss;      /* training loss */
	double eval_loss; /* evaluation loss */
	double lr;        /* learning rate */
	unsigned has;     /* ANALYSIS_LOSS_HAS_* bits: which of the above were logged */
} analysis_loss_point;

typedef struct analysis_loss_log {
	size_t n;                /* number of points */
	analysis_loss_point *pt; /* points, ascending step, one per step */
	char *kind;              /* "trainer_state", "timm_summary" or "csv" */
} analysis_loss_log;

/*
 * Load a loss log.  `kind` is one of the kinds above, or NULL to detect it
 * from the content (a JSON object -> trainer_state; a CSV header with
 * "train_loss" -> timm_summary; with "step" and "loss" -> csv).  A missing
 * file is VV_ENOTFOUND; malformed content VV_EFORMAT naming the file.
 */
int analysis_loss_load(const char *path, const char *kind, analysis_loss_log **pl);

/* Parse in-memory content of a known kind; `name` appears in messages. */
int analysis_loss_parse(const char *name, const char *kind, const char *text, size_t len,
			analysis_loss_log **pl);

/* Free *pl and set it to NULL (NULL-safe). */
void analysis_loss_free(analysis_loss_log **pl);

/*
 * The last point at or before `step` holding value `what` (one
 * ANALYSIS_LOSS_HAS_* bit), or NULL when there is none.
 */
const analysis_loss_point *analysis_loss_at(const analysis_loss_log *l, int64_t step, unsigned what);

/* The point logged exactly at `step`, or NULL. */
const analysis_loss_point *analysis_loss_find(const analysis_loss_log *l, int64_t step);

#endif
