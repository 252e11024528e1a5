/* analysis_pca.c - two-component PCA in double precision (LAPACKE). */
#include "analysis/analysis_pca.h"
#include "common/vv_error.h"
#include "common/vv_thread.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* rows converted to double per dsyrk call on the scatter-matrix path */
#define PCA_BLOCK 256

/* Column means of the n x d rows, accumulated in double. */
static void
column_means(const float *x, int64_t n, int64_t d, double *mean)
{
	int64_t i, j;

	memset(mean, 0, (size_t)d * sizeof(*mean));
	for (i = 0; i < n; i++)
		for (j = 0; j < d; j++)
			mean[j] += x[i * d + j];
	for (j = 0; j < d; j++)
		mean[j] /= (double)n;
}

/* Rows r0..r0+nr-1 of x, centred, into `out` (nr x d doubles). */
static void
centre_rows(const float *x, int64_t r0, int64_t nr, int64_t d, const double *mean, double *out)
{
	int64_t i, j;

	for (i = 0; i < nr; i++)
		for (j = 0; j < d; j++)
			out[i * d + j] = (double)x[(r0 + i) * d + j] - mean[j];
}

/*
 * Top two eigenpairs of the symmetric m x m matrix `a` (upper triangle, row
 * major; destroyed).  val[0] >= val[1]; vec holds the eigenvectors as two
 * rows of m.
 */
static int
top2_eigen(double *a, int64_t m, double *val, double *vec)
{
	double w[2], *z;
	lapack_int found = 0, *isuppz, info;
	int64_t j;

	z = malloc((size_t)m * 2 * sizeof(*z));
	isuppz = malloc(4 * sizeof(*isuppz));
	if (!z || !isuppz) {
		free(z);
		free(isuppz);
		return vv_error(VV_ENOMEM, "PCA: out of memory");
	}
	info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int)m, a, (lapack_int)m,
			      0.0, 0.0, (lapack_int)m - 1, (lapack_int)m, 0.0, &found, w, z, 2, isuppz);
	if (info != 0 || found != 2) {
		free(z);
		free(isuppz);
		return vv_error(VV_EINVAL, "PCA: eigen-decomposition failed (LAPACK info %d)", (int)info);
	}
	/* dsyevr returns ascending eigenvalues: column 1 is the leading axis */
	val[0] = w[1];
	val[1] = w[0];
	for (j = 0; j < m; j++) {
		vec[j] = z[j * 2 + 1];
		vec[m + j] = z[j * 2];
	}
	free(z);
	free(isuppz);
	return 0;
}

/* sklearn >= 1.5 sign rule: the largest-|loading| entry is positive. */
static int
component_sign(const double *v, int64_t d)
{
	int64_t j, best = 0;

	for (j = 1; j < d; j++)
		if (fabs(v[j]) > fabs(v[best]))
			best = j;
	return v[best] < 0 ? -1 : 1;
}

/* Principal axes from the d x d scatter matrix (n > d). */
static int
axes_from_scatter(const float *x, int64_t n, int64_t d, const double *mean, double *val, double *axes)
{
	double *c, *blk;
	int64_t r0;
	int err;

	c = calloc((size_t)(d * d), sizeof(*c));
	blk = malloc((size_t)(PCA_BLOCK * d) * sizeof(*blk));
	if (!c || !blk) {
		err = vv_error(VV_ENOMEM, "PCA: out of memory");
		goto out_free;
	}
	for (r0 = 0; r0 < n; r0 += PCA_BLOCK) {
		int64_t nr = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;

		centre_rows(x, r0, nr, d, mean, blk);
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (blasint)d, (blasint)nr, 1.0, blk,
			    (blasint)d, 1.0, c, (blasint)d);
	}
	err = top2_eigen(c, d, val, axes);
out_free:
	free(blk);
	free(c);
	return err;
}

/* Principal axes from the n x n Gram matrix (n <= d): v = Xc^T u / sqrt(l). */
static int
axes_from_gram(const float *x, int64_t n, int64_t d, const double *mean, double *val, double *axes)
{
	double *xc, *g, u[2 * 64], *uu = u;
	int64_t c, j;
	int err;

	xc = malloc((size_t)(n * d) * sizeof(*xc));
	g = calloc((size_t)(n * n), sizeof(*g));
	if (n > 64)
		uu = malloc((size_t)(2 * n) * sizeof(*uu));
	if (!xc || !g || !uu) {
		err = vv_error(VV_ENOMEM, "PCA: out of memory");
		goto out_free;
	}
	centre_rows(x, 0, n, d, mean, xc);
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (blasint)n, (blasint)d, 1.0, xc,
		    (blasint)d, 0.0, g, (blasint)n);
	err = top2_eigen(g, n, val, uu);
	if (err)
		goto out_free;
	for (c = 0; c < 2; c++) {
		double *v = axes + c * d;

		/* a direction without variance: leave the axis at zero */
		if (!(val[c] > 0) || val[c] <= val[0] * 1e-24) {
			memset(v, 0, (size_t)d * sizeof(*v));
			continue;
		}
		cblas_dgemv(CblasRowMajor, CblasTrans, (blasint)n, (blasint)d, 1.0 / sqrt(val[c]), xc,
			    (blasint)d, uu + c * n, 1, 0.0, v, 1);
		for (j = 0; j < d; j++)
			if (!isfinite(v[j]))
				v[j] = 0;
	}
out_free:
	if (uu != u)
		free(uu);
	free(g);
	free(xc);
	return err;
}

int
analysis_pca2(const float *x, int64_t n, int64_t d, double *coords, double *components,
	      double *variance)
{
	double *mean, *axes, val[2];
	int64_t i, j;
	int c, err, blas;

	if (n < 2 || d < 2)
		return vv_error(VV_EINVAL, "PCA: needs at least 2 samples and 2 dimensions (got %lld x %lld)",
				(long long)n, (long long)d);
	if (n > INT32_MAX || d > INT32_MAX || (n <= d && n > 65536) || (n > d && d > 65536))
		return vv_error(VV_EUNSUPPORTED, "PCA: %lld x %lld is too large", (long long)n, (long long)d);
	mean = malloc((size_t)d * sizeof(*mean));
	axes = malloc((size_t)(2 * d) * sizeof(*axes));
	if (!mean || !axes) {
		err = vv_error(VV_ENOMEM, "PCA: out of memory");
		goto out_free;
	}
	column_means(x, n, d, mean);
	/* OpenBLAS threads would make the last digits depend on their count */
	blas = vv_blas_serial_begin();
	err = n > d ? axes_from_scatter(x, n, d, mean, val, axes) : axes_from_gram(x, n, d, mean, val, axes);
	vv_blas_serial_end(blas);
	if (err)
		goto out_free;
	for (c = 0; c < 2; c++) {
		double *v = axes + c * d;

		if (component_sign(v, d) < 0)
			for (j = 0; j < d; j++)
				v[j] = -v[j];
	}
	for (i = 0; i < n; i++) {
		double p0 = 0, p1 = 0;

		for (j = 0; j < d; j++) {
			double xv = (double)x[i * d + j] - mean[j];

			p0 += xv * axes[j];
			p1 += xv * axes[d + j];
		}
		coords[2 * i] = p0;
		coords[2 * i + 1] = p1;
	}
	if (components)
		memcpy(components, axes, (size_t)(2 * d) * sizeof(*axes));
	if (variance) {
		variance[0] = val[0] > 0 ? val[0] / (double)(n - 1) : 0;
		variance[1] = val[1] > 0 ? val[1] / (double)(n - 1) : 0;
	}
out_free:
	free(axes);
	free(mean);
	return err;
}
