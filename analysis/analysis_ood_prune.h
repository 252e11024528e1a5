/*
 * analysis_ood_prune.h - exact pruning of the cosine outlier search
 * (internal to analysis_ood*.c; map in analysis_ood_knn.h).
 */
#ifndef ANALYSIS_OOD_PRUNE_H
#define ANALYSIS_OOD_PRUNE_H

#include <stdint.h>

#include "analysis/analysis_ood_knn.h"

/*
 * Exact pruning for cosine.  The rows are clustered (spherical k-means on a
 * sample) and put in cluster order; the centroids, orthonormalised, give a
 * basis Q.  A unit row splits as x = Q a_x + r_x with r_x orthogonal to Q,
 * so for rows x, y:  x.y = a_x.a_y + r_x.r_y.  For a tile T of consecutive
 * rows whose coefficients lie in the box centre c_T +- half width w_T, and
 * R_T >= |r_y| (y in T),
 *   x.y <= a_x.c_T + |a_x|.w_T + |r_x| R_T
 * (|a_x| elementwise): one small double GEMM of [a, |a|] against [c, w] per
 * row block.  The coefficients come from a float32 GEMM; the box widths and
 * a per-tile slack cover its error, the rest is double with margins far
 * above its rounding.  A tile is skipped for a block of rows when that
 * bound, plus OOD_BOUND_MARGIN, is below the similarity each row of the
 * block already needs to beat: none of its rows could enter any heap.
 */

/* Rows below this go straight to the symmetric pass. */
#define OOD_PRUNE_MIN 512

typedef struct analysis_ood_prune {
	int64_t c;      /* basis vectors */
	double *a;      /* n x 2c: coefficients a of each unit row (working order), then |a| */
	double *rn;     /* upper bound of |r_x| */
	int64_t ntile;  /* column tiles */
	int64_t *tile;  /* ntile + 1 tile starts (working order) */
	double *tm;     /* ntile x 2c: centre, half width of each tile's box of coefficients */
	double *tr;     /* per tile: upper bound of |r_y| */
	double *te;     /* per tile: bound slack for the row's coefficient error */
	int64_t nblk;   /* row blocks */
	int64_t *blk;   /* nblk + 1 row block starts */
	int32_t *perm;  /* working index -> caller's row */
} analysis_ood_prune;

/*
 * Cluster the unit rows xn (float32, the caller's order), order them by
 * cluster (rows far from every centroid last: p->perm), and compute the
 * bound terms of every row and tile; eps bounds the float32 error of each
 * coefficient.  VV_ENOMEM (p freed).
 */
int analysis_ood_prune_init(analysis_ood_prune *p, const float *xn, int64_t n, int64_t d,
			    double eps);

/* Free p's arrays and zero it. */
void analysis_ood_prune_free(analysis_ood_prune *p);

/* Put the rows of xn in the working order perm (in place).  VV_ENOMEM. */
int analysis_ood_permute_rows(float *xn, int64_t n, int64_t d, const int32_t *perm);

/*
 * The pruned pass over all row blocks of the unit rows xn (working order)
 * on nth workers; falls back to analysis_ood_run_symmetric() when a few
 * probe blocks show that pruning does not pay.  *work receives the
 * similarities computed.  VV_ENOMEM.
 */
int analysis_ood_run_pruned(analysis_ood_knn *s, const float *xn, int64_t n, int64_t d,
			    const analysis_ood_prune *p, int nth, double *work);

#endif
