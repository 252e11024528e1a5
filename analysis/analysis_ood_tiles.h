/*
 * analysis_ood_tiles.h - the outlier search's passes over all pairs
 * (internal to analysis_ood*.c; map in analysis_ood_knn.h).
 */
#ifndef ANALYSIS_OOD_TILES_H
#define ANALYSIS_OOD_TILES_H

#include <stdint.h>

#include "analysis/analysis_ood_knn.h"

/*
 * All cosine pairs i < j through symmetric float32 tiles of the unit rows
 * xn (working order) on nth workers (single-threaded GEMMs, heap updates
 * under a lock), skipping tiles whose rows are all finished (fin[i] != 0;
 * fin may be NULL).  Adds the similarities computed to *work (2 per
 * off-diagonal pair).  VV_ENOMEM.
 */
int analysis_ood_run_symmetric(analysis_ood_knn *s, const float *xn, int64_t n, int64_t d,
			       const uint8_t *fin, int nth, double *work);

/* All euclidean pairs of x (n x d), in double, on the calling thread.  VV_ENOMEM. */
int analysis_ood_run_euclidean(analysis_ood_knn *s, const float *x, int64_t n, int64_t d);

#endif
