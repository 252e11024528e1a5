/*
 * analysis_ood_knn.h - the outlier search's per-row state (internal to
 * analysis_ood*.c): a max-heap of candidate neighbours per row fed by
 * similarity or distance tiles, exact duplicates grouped, and the final
 * exact (double) mean neighbour distance.
 *
 * Where the outlier search lives (analysis/analysis_ood*):
 *   analysis_ood.c        API (k, metric, names, median), the driver
 *                         analysis_ood_scores() and its cosine path
 *   analysis_ood_knn.c    this: heaps, tile feeders, duplicates, exact
 *                         distances and the exact re-ranking at the end
 *   analysis_ood_tiles.c  passes over all pairs: symmetric cosine tiles on
 *                         the workers, euclidean tiles
 *   analysis_ood_prune.c  exact pruning for cosine: k-means ordering, bound
 *                         terms, the pruned pass over row blocks
 */
#ifndef ANALYSIS_OOD_KNN_H
#define ANALYSIS_OOD_KNN_H

#include <stdint.h>

/* widths up to this compute euclidean distances directly, not by GEMM */
#define OOD_DIRECT_MAXD 32
/* square tile side of the symmetric pass and the euclidean tiles */
#define OOD_TILE 1024

/*
 * The per-row top-k state.  Rows are addressed in the working order (perm
 * maps a working index to the caller's row).  For cosine each heap keeps
 * OOD_EXTRA candidates more than it needs, chosen by float32 similarity;
 * they are measured again in double and re-ranked at the end (see
 * analysis_ood_knn_finish_cosine()), which makes the float ordering exact.
 */
typedef struct analysis_ood_knn {
	int64_t n;      /* rows */
	int64_t k;      /* heap capacity per row (stride of heap) */
	double *heap;   /* n x k distances, max-heap per row */
	int32_t *hidx;  /* n x k neighbour (working index) of each heap entry */
	int32_t *cnt;   /* entries in each row's heap */
	int32_t *cap;   /* capacity of each row's heap */
	int32_t *need;  /* neighbours each row reports besides its duplicates */
	double *worst;  /* a candidate must be below this to enter (heap top) */
	float *sthr;    /* cosine prefilter: similarities not above this cannot enter */
	int32_t *grp;   /* duplicate-group id of each row */
	int64_t *gsize; /* size of each row's duplicate group */
	const int32_t *perm; /* working index -> caller's row (NULL: identity) */
	int has_dups;   /* some group has more than one row */
} analysis_ood_knn;

/* Extra float-ranked candidates kept per row for the exact re-ranking. */
#define OOD_EXTRA 4

/* Threads of the pruned and symmetric passes (at most). */
#define OOD_MAX_THREADS 16

/*
 * Empty heaps for n rows of x (n x d, the caller's order) in the working
 * order perm (NULL: identity), each keeping `extra` candidates more than
 * its k - duplicates neighbours; exact duplicates are grouped first.
 * VV_ENOMEM (state freed).
 */
int analysis_ood_knn_init(analysis_ood_knn *s, const float *x, int64_t n, int64_t d, int64_t k,
			  int64_t extra, const int32_t *perm);

/* Free the state's arrays and zero it. */
void analysis_ood_knn_free(analysis_ood_knn *s);

/* Mark working row `row` finished: no candidate enters its heap any more. */
void analysis_ood_knn_close(analysis_ood_knn *s, int64_t row);

/*
 * Feed the float similarities sim (bi x bj) of working rows i0.. against
 * j0.. into both rows' heaps, pairs i < j only (the diagonal tile's lower
 * half skipped).
 */
void analysis_ood_knn_update_cosine(analysis_ood_knn *s, const float *sim, int64_t i0, int64_t bi,
				    int64_t j0, int64_t bj);

/*
 * One-sided: rows r0.. (bi of them) against the ncols working rows col[]
 * whose similarities are the bi x ncols tile sim; only rows r0.. are
 * updated.
 */
void analysis_ood_knn_update_rows(analysis_ood_knn *s, const float *sim, int64_t r0, int64_t bi,
				  const int32_t *col, int64_t ncols);

/*
 * Euclidean tile rows i0.. x j0.. (pairs i < j) in double: direct
 * differences for d <= OOD_DIRECT_MAXD, else |x|^2 + |y|^2 - 2 x.y with the
 * doubles xd, squared norms sq and the scratch gram (bi x bj).
 */
void analysis_ood_knn_update_euclidean(analysis_ood_knn *s, const float *x, const double *xd,
				       const double *sq, double *gram, int64_t d, int64_t i0,
				       int64_t bi, int64_t j0, int64_t bj);

/* inv[i] = 1 / |x_i| in double (1 for a zero row). */
void analysis_ood_inverse_norms(const float *x, int64_t n, int64_t d, double *inv);

/*
 * Unit rows (double norm, float storage) in the working order perm (NULL:
 * identity), malloc'd; zero rows stay zero.  NULL when out of memory.
 */
float *analysis_ood_normalised_rows(const float *x, int64_t n, int64_t d, const int32_t *perm,
				    const double *inv);

/* The distance of rows a and b of x in double (what sklearn computes in float64). */
double analysis_ood_exact_distance(const float *x, int64_t d, int64_t a, int64_t b, int metric,
				   const double *inv_norm);

/*
 * Mean exact neighbour distance (caller's order, into avg) of working rows
 * p0..p1-1 from the cosine heaps; delta bounds the float32 GEMM error.
 * Returns the rows searched again by brute force, -1 when out of memory.
 */
int64_t analysis_ood_knn_finish_cosine(const analysis_ood_knn *s, const float *x, int64_t d,
				       const double *inv, int64_t k, double delta, double *avg,
				       int64_t p0, int64_t p1);

#endif
