/*
 * analysis_pca.h - principal component analysis to two dimensions.
 *
 * What sklearn's PCA(n_components=2).fit_transform(X) returns: the rows are
 * centred (no scaling) and projected on the two leading principal axes.  The
 * computation runs in double precision whatever the input: with more rows
 * than columns through the D x D scatter matrix and LAPACKE_dsyevr (top two
 * eigenpairs only), otherwise through the N x N Gram matrix.  Signs follow
 * sklearn >= 1.5: in each component the entry of largest magnitude (the
 * first such entry on ties) is positive.
 */
#ifndef ANALYSIS_PCA_H
#define ANALYSIS_PCA_H

#include <stdint.h>

/*
 * Project the n x d float32 rows of `x` (C order) to 2-D.  `coords` receives
 * n x 2 doubles (row i = sample i); `components`, when not NULL, receives the
 * two unit principal axes as 2 x d doubles and `variance`, when not NULL,
 * the two eigenvalues of the scatter matrix divided by n - 1 (sklearn's
 * explained_variance_).  Needs n >= 2 and d >= 2.  A direction without
 * variance (rank < 2) gets coordinates 0.  Inputs must be finite.
 */
int analysis_pca2(const float *x, int64_t n, int64_t d, double *coords,
		  double *components, double *variance);

#endif
