/* analysis_procrustes.c - scipy-compatible Procrustes and frame alignment. */
#include "analysis/analysis_procrustes.h"
#include "common/vv_error.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GPA_MAX_ITER 100
#define GPA_TOL 1e-10

/* Centre the columns of x (n x m) into out and divide by the Frobenius norm. */
static int
standardise(const double *x, int64_t n, int m, double *out)
{
	double mean[ANALYSIS_PROCRUSTES_MAXDIM] = { 0 }, ss = 0, norm;
	int64_t i;
	int j;

	for (i = 0; i < n; i++)
		for (j = 0; j < m; j++)
			mean[j] += x[i * m + j];
	for (j = 0; j < m; j++)
		mean[j] /= (double)n;
	for (i = 0; i < n * m; i++) {
		out[i] = x[i] - mean[i % m];
		ss += out[i] * out[i];
	}
	norm = sqrt(ss);
	if (!(norm > 0) || !isfinite(norm))
		return vv_error(VV_EINVAL, "Procrustes: input matrices must contain more than 1 unique point");
	for (i = 0; i < n * m; i++)
		out[i] /= norm;
	return 0;
}

/*
 * scipy.linalg.orthogonal_procrustes(a, b): with U W V^T = svd(a^T b),
 * r = U V^T (m x m, row major) and *scale = sum(W).
 */
static int
orthogonal_procrustes(const double *a, const double *b, int64_t n, int m, double *r, double *scale)
{
	double mt[ANALYSIS_PROCRUSTES_MAXDIM * ANALYSIS_PROCRUSTES_MAXDIM] = { 0 };
	double u[ANALYSIS_PROCRUSTES_MAXDIM * ANALYSIS_PROCRUSTES_MAXDIM];
	double vt[ANALYSIS_PROCRUSTES_MAXDIM * ANALYSIS_PROCRUSTES_MAXDIM];
	double w[ANALYSIS_PROCRUSTES_MAXDIM];
	lapack_int info;
	int64_t i;
	int j, k, l;

	for (i = 0; i < n; i++)
		for (j = 0; j < m; j++)
			for (k = 0; k < m; k++)
				mt[j * m + k] += a[i * m + j] * b[i * m + k];
	info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'A', m, m, mt, m, w, u, m, vt, m);
	if (info != 0)
		return vv_error(VV_EINVAL, "Procrustes: SVD failed (LAPACK info %d)", (int)info);
	*scale = 0;
	for (j = 0; j < m; j++) {
		*scale += w[j];
		for (k = 0; k < m; k++) {
			double s = 0;

			for (l = 0; l < m; l++)
				s += u[j * m + l] * vt[l * m + k];
			r[j * m + k] = s;
		}
	}
	return 0;
}

/* out = x R^T s for the n x m matrix x. */
static void
apply_rotation(const double *x, int64_t n, int m, const double *r, double s, double *out)
{
	int64_t i;
	int j, k;

	for (i = 0; i < n; i++) {
		double row[ANALYSIS_PROCRUSTES_MAXDIM];

		for (j = 0; j < m; j++) {
			double v = 0;

			for (k = 0; k < m; k++)
				v += x[i * m + k] * r[j * m + k];
			row[j] = v * s;
		}
		memcpy(out + i * m, row, (size_t)m * sizeof(*row));
	}
}

static double
sq_diff(const double *a, const double *b, int64_t count)
{
	double s = 0;
	int64_t i;

	for (i = 0; i < count; i++)
		s += (a[i] - b[i]) * (a[i] - b[i]);
	return s;
}

int
analysis_procrustes(const double *a, const double *b, int64_t n, int m, double *a_out, double *b_out,
		    double *disparity)
{
	double r[ANALYSIS_PROCRUSTES_MAXDIM * ANALYSIS_PROCRUSTES_MAXDIM], s;
	double *bs;
	int err;

	if (n < 1 || m < 1 || m > ANALYSIS_PROCRUSTES_MAXDIM)
		return vv_error(VV_EINVAL, "Procrustes: bad shape %lld x %d", (long long)n, m);
	bs = malloc((size_t)(n * m) * sizeof(*bs));
	if (!bs)
		return vv_error(VV_ENOMEM, "Procrustes: out of memory");
	if ((err = standardise(a, n, m, a_out)) || (err = standardise(b, n, m, bs)) ||
	    (err = orthogonal_procrustes(a_out, bs, n, m, r, &s)))
		goto out_free;
	apply_rotation(bs, n, m, r, s, b_out);
	*disparity = sq_diff(a_out, b_out, n * m);
out_free:
	free(bs);
	return err;
}

/* Chain and anchor: the B output of procrustes(reference, P_t) per frame. */
static int
align_pairwise(const double *pca, size_t t, int64_t n, int mode, double *out, double *disparity)
{
	size_t f, sz = (size_t)n * 2;
	double *aout;
	int err = 0;

	aout = malloc(sz * sizeof(*aout));
	if (!aout)
		return vv_error(VV_ENOMEM, "Procrustes: out of memory");
	for (f = 0; f < t && !err; f++) {
		const double *ref;

		if (mode == ANALYSIS_ALIGN_ANCHOR)
			ref = pca + (t - 1) * sz;
		else
			ref = f ? out + (f - 1) * sz : pca;
		err = analysis_procrustes(ref, pca + f * sz, n, 2, aout, out + f * sz, &disparity[f]);
		if (err)
			vv_error_prefix("frame %zu", f);
	}
	free(aout);
	return err;
}

/* Rotate frame x (n x 2) onto target in place, no scaling. */
static int
rotate_onto(const double *target, double *x, int64_t n)
{
	double r[4], s;
	int err = orthogonal_procrustes(target, x, n, 2, r, &s);

	if (!err)
		apply_rotation(x, n, 2, r, 1.0, x);
	return err;
}

/*
 * Rotate every frame and the mean shape into the mean shape's principal
 * axes.  Each axis's direction is chosen so that the mean correlates
 * positively with `ref` (the last checkpoint's standardised PCA) on it: the
 * result depends only on the PCA frames, and the final frame looks like the
 * final checkpoint's own PCA plot.
 */
static void
to_mean_axes(double *frames, size_t t, int64_t n, double *mean, const double *ref)
{
	double sxx = 0, sxy = 0, syy = 0, th, r[4];
	int64_t i;
	size_t f;
	int c;

	for (i = 0; i < n; i++) {
		sxx += mean[2 * i] * mean[2 * i];
		sxy += mean[2 * i] * mean[2 * i + 1];
		syy += mean[2 * i + 1] * mean[2 * i + 1];
	}
	/* leading eigenvector of [[sxx, sxy], [sxy, syy]] at angle th; rows of r are the axes */
	th = 0.5 * atan2(2 * sxy, sxx - syy);
	r[0] = cos(th);
	r[1] = sin(th);
	r[2] = -sin(th);
	r[3] = cos(th);
	for (c = 0; c < 2; c++) {
		double corr = 0;

		for (i = 0; i < n; i++)
			corr += (mean[2 * i] * r[2 * c] + mean[2 * i + 1] * r[2 * c + 1]) * ref[2 * i + c];
		if (corr < 0) {
			r[2 * c] = -r[2 * c];
			r[2 * c + 1] = -r[2 * c + 1];
		}
	}
	/* new coordinate c = <p, axis c> = (p R^T)_c */
	for (f = 0; f < t; f++)
		apply_rotation(frames + f * (size_t)n * 2, n, 2, r, 1.0, frames + f * (size_t)n * 2);
	apply_rotation(mean, n, 2, r, 1.0, mean);
}

static int
align_gpa(const double *pca, size_t t, int64_t n, double *out, double *disparity)
{
	size_t f, sz = (size_t)n * 2, i;
	double *mean, *next, *ref;
	int it, err = 0;

	mean = malloc(sz * sizeof(*mean));
	next = malloc(sz * sizeof(*next));
	ref = malloc(sz * sizeof(*ref));
	if (!mean || !next || !ref) {
		err = vv_error(VV_ENOMEM, "Procrustes: out of memory");
		goto out_free;
	}
	for (f = 0; f < t; f++) {
		if ((err = standardise(pca + f * sz, n, 2, out + f * sz))) {
			vv_error_prefix("frame %zu", f);
			goto out_free;
		}
	}
	memcpy(ref, out + (t - 1) * sz, sz * sizeof(*ref));
	memcpy(mean, ref, sz * sizeof(*mean));
	for (it = 0; it < GPA_MAX_ITER; it++) {
		double ss = 0, norm;

		memset(next, 0, sz * sizeof(*next));
		for (f = 0; f < t; f++) {
			if ((err = rotate_onto(mean, out + f * sz, n)))
				goto out_free;
			for (i = 0; i < sz; i++)
				next[i] += out[f * sz + i];
		}
		for (i = 0; i < sz; i++)
			ss += next[i] * next[i];
		norm = sqrt(ss);
		if (!(norm > 0))
			break; /* cannot happen after alignment; keep the last mean */
		for (i = 0; i < sz; i++)
			next[i] /= norm;
		ss = sq_diff(mean, next, (int64_t)sz);
		memcpy(mean, next, sz * sizeof(*mean));
		if (sqrt(ss) < GPA_TOL)
			break;
	}
	for (f = 0; f < t; f++)
		if ((err = rotate_onto(mean, out + f * sz, n)))
			goto out_free;
	to_mean_axes(out, t, n, mean, ref);
	for (f = 0; f < t; f++)
		disparity[f] = sq_diff(mean, out + f * sz, (int64_t)sz);
out_free:
	free(ref);
	free(next);
	free(mean);
	return err;
}

/*
 * Rotate (rotation or reflection, no scaling): frame 0 is P_0 centred;
 * frame t is P_t centred and rotated onto frame t-1.  The disparity is
 * scipy's between frame t-1 and P_t (the same as chain's: the rotation
 * does not depend on the scales).
 */
static int
align_rotate(const double *pca, size_t t, int64_t n, double *out, double *disparity)
{
	size_t f, sz = (size_t)n * 2;
	double *a, *b;
	int err = 0;

	a = malloc(sz * sizeof(*a));
	b = malloc(sz * sizeof(*b));
	if (!a || !b) {
		err = vv_error(VV_ENOMEM, "Procrustes: out of memory");
		goto out_free;
	}
	for (f = 0; f < t && !err; f++) {
		const double *p = pca + f * sz, *prev = f ? out + (f - 1) * sz : p;
		double mean[2] = { 0, 0 };
		int64_t i;

		/* checks the frame has more than one distinct point, as scipy does */
		err = analysis_procrustes(prev, p, n, 2, a, b, &disparity[f]);
		if (err) {
			vv_error_prefix("frame %zu", f);
			break;
		}
		for (i = 0; i < n; i++) {
			mean[0] += p[2 * i];
			mean[1] += p[2 * i + 1];
		}
		mean[0] /= (double)n;
		mean[1] /= (double)n;
		for (i = 0; i < n; i++) {
			out[f * sz + 2 * i] = p[2 * i] - mean[0];
			out[f * sz + 2 * i + 1] = p[2 * i + 1] - mean[1];
		}
		if (f)
			err = rotate_onto(prev, out + f * sz, n);
		else
			disparity[f] = 0;
	}
out_free:
	free(b);
	free(a);
	return err;
}

int
analysis_align(const double *pca, size_t t, int64_t n, int mode, double *out, double *disparity)
{
	if (t == 0 || n < 1)
		return vv_error(VV_EINVAL, "align: no frames");
	switch (mode) {
	case ANALYSIS_ALIGN_CHAIN:
	case ANALYSIS_ALIGN_ANCHOR:
		return align_pairwise(pca, t, n, mode, out, disparity);
	case ANALYSIS_ALIGN_GPA:
		return align_gpa(pca, t, n, out, disparity);
	case ANALYSIS_ALIGN_ROTATE:
		return align_rotate(pca, t, n, out, disparity);
	}
	return vv_error(VV_EINVAL, "align: unknown mode %d", mode);
}

double
analysis_display_scale(const double *v, size_t count, double target)
{
	double mx = 0;
	size_t i;

	for (i = 0; i < count; i++)
		if (fabs(v[i]) > mx)
			mx = fabs(v[i]);
	return mx > 0 ? target / mx : 1.0;
}

static const char *const align_names[] = { "chain", "anchor", "gpa", "rotate" };
#define NALIGN ((int)(sizeof(align_names) / sizeof(*align_names)))

int
analysis_parse_align(const char *s, int *out)
{
	int i;

	for (i = 0; i < NALIGN; i++)
		if (s && !strcmp(s, align_names[i])) {
			*out = i;
			return 0;
		}
	return vv_error(VV_EINVAL, "unknown alignment \"%s\" (expected rotate, chain, anchor or gpa)", s ? s : "");
}

const char *
analysis_align_name(int mode)
{
	return mode >= 0 && mode < NALIGN ? align_names[mode] : "?";
}
