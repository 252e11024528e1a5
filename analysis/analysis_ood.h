/*
 * analysis_ood.h - kNN outlier scores compatible with cleanlab's
 * OutOfDistribution().fit_score(features=X).
 *
 * As cleanlab 2.6+ (cleanlab/outlier.py _get_ood_features_scores with
 * cleanlab/internal/neighbor/knn_graph.py and cleanlab/internal/outlier.py):
 *   - k = min(10, N - 1) unless given; k must be below N.
 *   - metric cosine when D > 3, else euclidean, unless given.  Cosine
 *     distance 1 - x.y / (|x| |y|) clipped to [0, 2] (a zero row has
 *     distance 1 to everything, as sklearn's normalize() leaves it zero).
 *   - each row's k nearest OTHER rows (sklearn kneighbors() on the fit set);
 *     rows that are exactly equal (np.unique) have distance 0 to each other
 *     and fill the first slots (correct_knn_distances_and_indices).
 *   - d = mean of the k distances; score = exp(-d / max(median(d),
 *     100 eps)) with ANALYSIS_OOD_MEDIAN, or exp(-d) with ANALYSIS_OOD_NONE
 *     (cleanlab 2.4-2.5, what the original workflow ran).  Rows whose d is
 *     below 100 epsneg (cosine) or sqrt(100 eps) (euclidean) score 1.
 *   Lower score = more atypical.
 * The neighbours are exact (the same as a brute-force search in double):
 *   - cosine: float32 sgemm similarities of the normalised rows choose k + 4
 *     candidates per row (a running max-heap behind a vectorised threshold
 *     check); the candidates are measured again in double and re-ranked.
 *     A row is searched again by brute force in double whenever the float
 *     error bound of the GEMM could have hidden a nearer row (rare: ties
 *     within about d * 2^-24).  For n >= 512 the search is pruned: rows are
 *     ordered by spherical k-means clusters and a row block skips a tile of
 *     rows whose similarity upper bound (Cauchy-Schwarz in the basis of the
 *     orthonormalised centroids, bounding boxes of the coefficients, margins
 *     above every rounding) cannot beat any of its rows' current k-th best.
 *     When a few probe blocks show pruning skips under half of the work,
 *     the rest runs as symmetric tiles over pairs i < j (both rows updated).
 *   - euclidean: double GEMM tiles (direct differences for d <= 32) over
 *     pairs i < j, exact to double rounding.
 * Memory O(N D + N k + threads tile^2), never N x N.  Threads: vv_threads()
 * (common/vv_thread.h), each taking row blocks or tiles and calling
 * single-threaded GEMMs (cosine; euclidean runs on one thread).  The
 * scores do not depend on the thread count: the cosine neighbours are exact
 * and each row's k distances are summed in ascending order, whatever order
 * the tiles were searched in.  Not
 * reentrant across threads (the pruning switch and statistics below are
 * process-wide).
 */
#ifndef ANALYSIS_OOD_H
#define ANALYSIS_OOD_H

#include <stdint.h>

enum {
	ANALYSIS_METRIC_AUTO = 0,      /* cosine when D > 3, else euclidean */
	ANALYSIS_METRIC_COSINE = 1,
	ANALYSIS_METRIC_EUCLIDEAN = 2,
};

enum {
	ANALYSIS_OOD_MEDIAN = 0, /* exp(-d / median(d)), cleanlab >= 2.6 */
	ANALYSIS_OOD_NONE = 1,   /* exp(-d), cleanlab 2.4-2.5 */
};

/* Neighbour count actually used: k, or min(10, n - 1) when k is 0. */
int64_t analysis_ood_k(int64_t n, int k);

/* Metric actually used for width d (AUTO resolved). */
int analysis_ood_metric(int metric, int64_t d);

/* "cosine" / "euclidean" / "auto". */
const char *analysis_metric_name(int metric);
/* "median" / "none". */
const char *analysis_ood_scale_name(int scale);
/* Parse the names above into ANALYSIS_METRIC_* / ANALYSIS_OOD_*. */
int analysis_parse_metric(const char *s, int *out);
int analysis_parse_ood_scale(const char *s, int *out);

/*
 * Outlier scores of the n x d float32 rows of x (C order, finite).  k = 0
 * selects the default; metric and scale are ANALYSIS_METRIC_* and
 * ANALYSIS_OOD_*.  scores (n doubles) receives the scores; avg_dist, when
 * not NULL, the mean neighbour distance of each row.  n < 2 or k >= n is
 * VV_EINVAL.
 */
int analysis_ood_scores(const float *x, int64_t n, int64_t d, int k, int metric, int scale,
			double *scores, double *avg_dist);

/*
 * Exact pruning of the cosine search (on by default; tests and benches turn
 * it off to compare).  Process-wide, not thread-safe: set it before calling.
 */
void analysis_ood_set_pruning(int on);

/*
 * Share of the n x n similarities that the last cosine analysis_ood_scores()
 * call in this process did not compute (0 without pruning; symmetric tiles
 * count twice, as they serve both rows; negative when the pruning gave up
 * after its probe blocks and their work was partly repeated).
 */
double analysis_ood_pruned_fraction(void);

/* The median of n values as numpy computes it (mean of the middle two). */
double analysis_median(const double *v, int64_t n);

#endif
