/*
 * analysis_dynamics.h - training dynamics of every sample over a run's
 * checkpoints, accumulated one checkpoint at a time.
 *
 * The accumulator holds O(N) numbers per metric (plus one int32 prediction
 * per sample and checkpoint, for the usual prediction): checkpoints are fed
 * in step order and never kept, so N = 100,000 x 1,000 classes x 50
 * checkpoints needs no more than one checkpoint's logits in memory.
 *
 * Per sample i, with p_t the softmax probability of the given label at
 * checkpoint t (double, max-subtracted) and correct_t "the argmax, first on
 * ties, is the given label":
 *   confidence   mean_t p_t                          (Dataset Cartography)
 *   variability  population standard deviation of p_t (Cartography, ddof 0)
 *   correctness  fraction of checkpoints with correct_t
 *   aum          mean_t (logit of the label - largest other logit)  (AUM)
 *   forgetting   #{t : correct_t and not correct_t+1}   (forgetting events)
 *   learned_at   step of the first checkpoint from which every prediction
 *                is correct; NaN when the last one is wrong
 *   label_issue  (1 + mean confidence of the samples given the same label
 *                - confidence) / 2, in [0, 1], higher = more likely a wrong
 *                label: the run's confidence against its class's, as
 *                confident learning compares p with a per-class threshold
 *                (chosen by the measurements of scripts/make_noisy_run.py,
 *                see README)
 *   label_issue_rank  1 = highest label_issue, ties by sample index
 *   usual_prediction  the class other than the label predicted most often
 *                (ties: the smaller index); -1 when always the label
 *   movement     path length of the sample in the aligned 2-D coordinates
 *   persistent_outlier  checkpoints that had the sample among their top-k
 *                outliers (lowest outlier scores, ties by index)
 * scripts/dynamics_ref.py is the same in NumPy (the tests' reference).
 */
#ifndef ANALYSIS_DYNAMICS_H
#define ANALYSIS_DYNAMICS_H

#include <stddef.h>
#include <stdint.h>

/* The per-sample results, the columns of dynamics.npy in this order. */
enum {
	ANALYSIS_DYN_CONFIDENCE,
	ANALYSIS_DYN_VARIABILITY,
	ANALYSIS_DYN_CORRECTNESS,
	ANALYSIS_DYN_AUM,
	ANALYSIS_DYN_FORGETTING,
	ANALYSIS_DYN_LEARNED_AT,
	ANALYSIS_DYN_LABEL_ISSUE,
	ANALYSIS_DYN_LABEL_ISSUE_RANK,
	ANALYSIS_DYN_MOVEMENT,
	ANALYSIS_DYN_PERSISTENT_OUTLIER,
	ANALYSIS_DYN_USUAL_PREDICTION,
	ANALYSIS_DYN_NCOLS
};

/* Column name of a result (the CSV header / dynamics.json "columns"). */
const char *analysis_dyn_col_name(int col);

typedef struct analysis_dyn analysis_dyn;

/*
 * An accumulator for n samples with the given labels (borrowed; must
 * outlive it).  VV_ENOMEM or VV_EINVAL (n < 1).
 */
int analysis_dyn_alloc(analysis_dyn **pd, int64_t n, const int *labels);

/* Free *pd and set it to NULL (NULL-safe). */
void analysis_dyn_free(analysis_dyn **pd);

/*
 * Add the n x c float32 logits of the next checkpoint (at `step`).  A class
 * count other than the first checkpoint's is VV_EMISMATCH, a label not
 * below c VV_EMISMATCH, a non-finite logit VV_EFORMAT naming the row; the
 * accumulator is unchanged then.  `threads` (>= 1) splits the rows;
 * results do not depend on it.
 */
int analysis_dyn_add_logits(analysis_dyn *d, const float *logits, int64_t c, int64_t step, int threads);

/* Add the next checkpoint's n x 2 aligned coordinates (for movement). */
void analysis_dyn_add_coords(analysis_dyn *d, const float *xy);

/*
 * Add the next checkpoint's outliers: order[0..k) are its k most atypical
 * samples (k <= n).
 */
void analysis_dyn_add_outliers(analysis_dyn *d, const int32_t *order, int64_t k);

/* Checkpoints added so far: with logits, with coordinates, with outliers. */
size_t analysis_dyn_count(const analysis_dyn *d, int what);
enum { ANALYSIS_DYN_LOGITS, ANALYSIS_DYN_COORDS, ANALYSIS_DYN_OUTLIERS };

/* Bytes the accumulator holds now (O(N) per metric + 4 N bytes per checkpoint). */
size_t analysis_dyn_memory(const analysis_dyn *d);

/* Logit columns of the checkpoints added (0 before the first). */
int64_t analysis_dyn_classes(const analysis_dyn *d);

/*
 * Compute the results from what was added: col(d, ANALYSIS_DYN_*) then
 * holds n values each, NaN where unknown (no logits: the label columns; one
 * checkpoint: variability, forgetting and movement; never learned:
 * learned_at; usual_prediction -1 stored as -1).  VV_ENOMEM.
 */
int analysis_dyn_finish(analysis_dyn *d);

/* The n values of result column `col` after analysis_dyn_finish(). */
const double *analysis_dyn_col(const analysis_dyn *d, int col);

#endif
