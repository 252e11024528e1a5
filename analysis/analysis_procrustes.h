/*
 * analysis_procrustes.h - Procrustes superimposition of the PCA frames.
 *
 * analysis_procrustes() is scipy.spatial.procrustes(a, b) (scipy 1.10-1.15,
 * scipy/spatial/_procrustes.py with scipy.linalg.orthogonal_procrustes):
 * both matrices are centred and divided by their Frobenius norm; with
 * U W V^T = svd(A^T B), R = U V^T (reflections allowed) and s = sum(W), the
 * outputs are A, B R^T s and disparity = sum((A - B R^T s)^2).
 *
 * analysis_align() turns the per-checkpoint PCA outputs into one stable
 * animation.  Modes:
 *   rotate (default) frame 0 is P0 centred; frame t is P_t centred and
 *          rotated (rotation or reflection, no scaling) onto frame t-1, the
 *          rotation being scipy's orthogonal_procrustes of the pair.  Each
 *          frame keeps its PCA's spread, so the size of the cloud follows
 *          the embeddings (chain rescales every frame to the previous one's
 *          standardised size times sqrt(1 - disparity): a cloud that
 *          "shrinks" where the data did not).  Disparity as chain's.
 *   chain  (what the original workflow did: scipy.spatial.procrustes) frame 0 is
 *          procrustes(P0, P0), i.e. centred with unit Frobenius norm; frame t
 *          is the B output of procrustes(frame t-1, P_t).  Disparity is the
 *          one to the previous frame.  Small rotations accumulate (drift).
 *   anchor frame t is the B output of procrustes(P_last, P_t): every frame
 *          is aligned to the final checkpoint's standardised PCA.
 *   gpa    generalised Procrustes, drift-free: every P_t is standardised
 *          (centred, unit norm); starting from the last frame as the mean
 *          shape, each frame is rotated (rotation or reflection, no scaling,
 *          frames keep unit norm) onto the mean, the mean of the rotated
 *          frames is renormalised to unit norm, until the mean moves by less
 *          than 1e-10 (Frobenius) or after 100 iterations.  The frames are
 *          rotated onto the final mean once more, then the whole set is
 *          rotated into the mean shape's own principal axes, each axis
 *          pointing so that the mean correlates positively with the last
 *          checkpoint's PCA on it; the result depends only on the PCA frames
 *          (no drift, no spin; moving, scaling or mirroring one input frame
 *          other than the last changes nothing).  Disparity is the one to
 *          the (unit-norm) mean shape.
 * Display scaling is separate: analysis_display_scale().
 */
#ifndef ANALYSIS_PROCRUSTES_H
#define ANALYSIS_PROCRUSTES_H

#include <stddef.h>
#include <stdint.h>

enum {
	ANALYSIS_ALIGN_CHAIN = 0,  /* each frame to the previous aligned frame */
	ANALYSIS_ALIGN_ANCHOR = 1, /* each frame to the last checkpoint */
	ANALYSIS_ALIGN_GPA = 2,    /* generalised Procrustes to the mean shape */
	ANALYSIS_ALIGN_ROTATE = 3, /* each frame rotated onto the previous, no scaling */
};

/* Largest column count analysis_procrustes() accepts. */
#define ANALYSIS_PROCRUSTES_MAXDIM 16

/*
 * scipy.spatial.procrustes(a, b) for two n x m row-major double matrices
 * (1 <= m <= ANALYSIS_PROCRUSTES_MAXDIM).  a_out and b_out (n x m, may not
 * alias the inputs) receive the standardised A and the transformed B;
 * *disparity the sum of squared differences.  A matrix whose points are all
 * equal (zero norm after centring) is VV_EINVAL.
 */
int analysis_procrustes(const double *a, const double *b, int64_t n, int m,
			double *a_out, double *b_out, double *disparity);

/*
 * Align `t` frames of n x 2 PCA coordinates (`pca`, t x n x 2) with mode
 * ANALYSIS_ALIGN_*; `out` (t x n x 2) receives the aligned frames and
 * `disparity` (t values) the per-frame disparity described above.
 */
int analysis_align(const double *pca, size_t t, int64_t n, int mode, double *out, double *disparity);

/*
 * The factor that makes max |v| over `count` values equal to `target`
 * (1 when every value is 0).
 */
double analysis_display_scale(const double *v, size_t count, double target);

/* "rotate" | "chain" | "anchor" | "gpa" -> ANALYSIS_ALIGN_*; VV_EINVAL otherwise. */
int analysis_parse_align(const char *s, int *out);

/* The name of an ANALYSIS_ALIGN_* mode. */
const char *analysis_align_name(int mode);

#endif
