/* analysis_ood.c - cleanlab-compatible kNN outlier scores from GEMM tiles. */
#define _GNU_SOURCE /* qsort_r */
#include "analysis/analysis_ood.h"
#include "common/vv_error.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* rows per GEMM tile side: a tile is OOD_TILE x OOD_TILE similarities */
#define OOD_TILE 1024
/* widths up to this compute euclidean distances directly, not by GEMM */
#define OOD_DIRECT_MAXD 32

/* float64 machine epsilon (eps) and negative epsilon (epsneg = 2^-53) */
#define EPS64 DBL_EPSILON
#define EPSNEG64 (DBL_EPSILON / 2)

/* The per-row top-k state: a max-heap of the smallest distances seen. */
typedef struct knn_state {
	int64_t n;      /* rows */
	int64_t k;      /* heap capacity per row (stride of heap) */
	double *heap;   /* n x k distances, max-heap per row */
	int32_t *hidx;  /* n x k neighbour of each heap entry */
	int32_t *cnt;   /* entries in each row's heap */
	int32_t *cap;   /* capacity of each row's heap (k minus its duplicates) */
	double *worst;  /* a candidate must be below this to enter (heap top) */
	float *sthr;    /* cosine prefilter: similarities not above this cannot enter */
	int32_t *grp;   /* duplicate-group id of each row */
	int64_t *gsize; /* size of each row's duplicate group */
	int has_dups;   /* some group has more than one row */
} knn_state;

int64_t
analysis_ood_k(int64_t n, int k)
{
	if (k > 0)
		return k;
	return n - 1 < 10 ? n - 1 : 10;
}

int
analysis_ood_metric(int metric, int64_t d)
{
	if (metric == ANALYSIS_METRIC_AUTO)
		return d > 3 ? ANALYSIS_METRIC_COSINE : ANALYSIS_METRIC_EUCLIDEAN;
	return metric;
}

const char *
analysis_metric_name(int metric)
{
	switch (metric) {
	case ANALYSIS_METRIC_AUTO:
		return "auto";
	case ANALYSIS_METRIC_COSINE:
		return "cosine";
	case ANALYSIS_METRIC_EUCLIDEAN:
		return "euclidean";
	}
	return "?";
}

const char *
analysis_ood_scale_name(int scale)
{
	return scale == ANALYSIS_OOD_NONE ? "none" : "median";
}

int
analysis_parse_metric(const char *s, int *out)
{
	int m;

	for (m = ANALYSIS_METRIC_AUTO; m <= ANALYSIS_METRIC_EUCLIDEAN; m++)
		if (s && !strcmp(s, analysis_metric_name(m))) {
			*out = m;
			return 0;
		}
	return vv_error(VV_EINVAL, "unknown metric \"%s\" (expected auto, cosine or euclidean)", s ? s : "");
}

int
analysis_parse_ood_scale(const char *s, int *out)
{
	if (s && !strcmp(s, "median"))
		*out = ANALYSIS_OOD_MEDIAN;
	else if (s && !strcmp(s, "none"))
		*out = ANALYSIS_OOD_NONE;
	else
		return vv_error(VV_EINVAL, "unknown outlier scale \"%s\" (expected median or none)", s ? s : "");
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
analysis_median(const double *v, int64_t n)
{
	double *s, m;

	if (n <= 0)
		return NAN;
	s = malloc((size_t)n * sizeof(*s));
	if (!s)
		return NAN;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
	free(s);
	return m;
}

/* Rows compared by value, element by element (the order np.unique uses). */
struct row_ctx {
	const float *x;
	int64_t d;
};

static int
cmp_rows(const void *a, const void *b, void *arg)
{
	const struct row_ctx *c = arg;
	const float *p = c->x + *(const int32_t *)a * c->d, *q = c->x + *(const int32_t *)b * c->d;
	int64_t j;

	for (j = 0; j < c->d; j++)
		if (p[j] != q[j])
			return p[j] < q[j] ? -1 : 1;
	return 0;
}

/* Group exactly equal rows: grp[i] and gsize[i] for every row. */
static int
find_duplicates(const float *x, int64_t n, int64_t d, knn_state *s)
{
	struct row_ctx ctx = { x, d };
	int32_t *ord = malloc((size_t)n * sizeof(*ord));
	int64_t i, start = 0;

	if (!ord)
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	for (i = 0; i < n; i++)
		ord[i] = (int32_t)i;
	qsort_r(ord, (size_t)n, sizeof(*ord), cmp_rows, &ctx);
	s->has_dups = 0;
	for (i = 1; i <= n; i++) {
		if (i < n && !cmp_rows(&ord[i - 1], &ord[i], &ctx))
			continue;
		/* rows ord[start..i) are equal */
		for (int64_t j = start; j < i; j++) {
			s->grp[ord[j]] = (int32_t)start;
			s->gsize[ord[j]] = i - start;
		}
		if (i - start > 1)
			s->has_dups = 1;
		start = i;
	}
	free(ord);
	return 0;
}

/*
 * New entry bar of a row.  The similarity prefilter is looser than the bar by
 * far more than float rounding (1e-5), so it never drops a candidate that
 * the exact comparison in offer() would take.
 */
static inline void
set_worst(knn_state *s, int64_t row, double w)
{
	s->worst[row] = w;
	s->sthr[row] = isinf(w) ? (w > 0 ? -INFINITY : INFINITY) : (float)(1.0 - w - 1e-5);
}

static inline void
heap_push(knn_state *s, int64_t row, double dist, int32_t who)
{
	double *h = s->heap + row * s->k;
	int32_t *hi = s->hidx + row * s->k;
	int32_t n = s->cnt[row], cap = s->cap[row];
	int32_t i;

	if (n < cap) {
		/* sift up */
		i = n++;
		while (i > 0 && h[(i - 1) / 2] < dist) {
			h[i] = h[(i - 1) / 2];
			hi[i] = hi[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		h[i] = dist;
		hi[i] = who;
		s->cnt[row] = n;
		if (n == cap)
			set_worst(s, row, h[0]);
		return;
	}
	/* replace the top and sift down */
	i = 0;
	for (;;) {
		int32_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && h[c + 1] > h[c])
			c++;
		if (h[c] <= dist)
			break;
		h[i] = h[c];
		hi[i] = hi[c];
		i = c;
	}
	h[i] = dist;
	hi[i] = who;
	set_worst(s, row, h[0]);
}

static inline void
offer(knn_state *s, int64_t r, int64_t c, double dist)
{
	if (s->has_dups && s->grp[r] == s->grp[c])
		return; /* exact duplicates are counted as zeros at the end */
	if (dist < s->worst[r])
		heap_push(s, r, dist, (int32_t)c);
	if (dist < s->worst[c])
		heap_push(s, c, dist, (int32_t)r);
}

/* Similarities checked together by the vectorisable prefilter. */
#define OOD_CHUNK 16

/*
 * Feed the pairs (i0+a, j0+b), i < j only, of a similarity tile.  Nearly all
 * pairs fail both rows' bars once the heaps are full; a chunk of them is
 * rejected with one vectorisable pass of float comparisons.
 */
static void
update_cosine(knn_state *s, const float *sim, int64_t i0, int64_t bi, int64_t j0, int64_t bj)
{
	const float *cthr = s->sthr + j0;
	int64_t a, b, e;

	for (a = 0; a < bi; a++) {
		const float *row = sim + a * bj;
		int64_t r = i0 + a, b0 = j0 == i0 ? a + 1 : 0;

		for (b = b0; b < bj; b = e) {
			float tr = s->sthr[r];
			int hit = 0;

			e = b + OOD_CHUNK < bj ? b + OOD_CHUNK : bj;
			if (e - b == OOD_CHUNK) {
				int k;

				for (k = 0; k < OOD_CHUNK; k++)
					hit |= (row[b + k] > tr) | (row[b + k] > cthr[b + k]);
			} else {
				hit = 1;
			}
			if (!hit)
				continue;
			for (int64_t c = b; c < e; c++) {
				double dist;

				if (!(row[c] > s->sthr[r]) && !(row[c] > cthr[c]))
					continue;
				dist = 1.0 - (double)row[c];
				dist = dist < 0 ? 0 : dist > 2 ? 2 : dist;
				offer(s, r, j0 + c, dist);
			}
		}
	}
}

static double
direct_sq(const float *p, const float *q, int64_t d)
{
	double ss = 0;
	int64_t j;

	for (j = 0; j < d; j++) {
		double t = (double)p[j] - (double)q[j];

		ss += t * t;
	}
	return ss;
}

/*
 * Euclidean tile: direct differences for narrow rows; otherwise the GEMM
 * expansion |x|^2 + |y|^2 - 2 x.y in double, recomputed directly where it
 * cancels badly.
 */
static void
update_euclidean(knn_state *s, const float *x, const double *xd, const double *sq, double *gram,
		 int64_t d, int64_t i0, int64_t bi, int64_t j0, int64_t bj)
{
	int64_t a, b;

	if (d > OOD_DIRECT_MAXD)
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bi, (blasint)bj, (blasint)d, 1.0,
			    xd + i0 * d, (blasint)d, xd + j0 * d, (blasint)d, 0.0, gram, (blasint)bj);
	for (a = 0; a < bi; a++) {
		int64_t r = i0 + a, b0 = j0 == i0 ? a + 1 : 0;

		for (b = b0; b < bj; b++) {
			int64_t c = j0 + b;
			double d2;

			if (d <= OOD_DIRECT_MAXD) {
				d2 = direct_sq(x + r * d, x + c * d, d);
			} else {
				d2 = sq[r] + sq[c] - 2 * gram[a * bj + b];
				if (d2 < 1e-4 * (sq[r] + sq[c]))
					d2 = direct_sq(x + r * d, x + c * d, d);
			}
			offer(s, r, c, sqrt(d2 > 0 ? d2 : 0));
		}
	}
}

static void
knn_state_free(knn_state *s)
{
	free(s->heap);
	free(s->hidx);
	free(s->cnt);
	free(s->cap);
	free(s->worst);
	free(s->sthr);
	free(s->grp);
	free(s->gsize);
	memset(s, 0, sizeof(*s));
}

static int
knn_state_init(knn_state *s, const float *x, int64_t n, int64_t d, int64_t k)
{
	int64_t i;
	int err;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->k = k;
	s->heap = malloc((size_t)(n * k) * sizeof(*s->heap));
	s->hidx = malloc((size_t)(n * k) * sizeof(*s->hidx));
	s->cnt = calloc((size_t)n, sizeof(*s->cnt));
	s->cap = malloc((size_t)n * sizeof(*s->cap));
	s->worst = malloc((size_t)n * sizeof(*s->worst));
	s->sthr = malloc((size_t)n * sizeof(*s->sthr));
	s->grp = malloc((size_t)n * sizeof(*s->grp));
	s->gsize = malloc((size_t)n * sizeof(*s->gsize));
	if (!s->heap || !s->hidx || !s->cnt || !s->cap || !s->worst || !s->sthr || !s->grp || !s->gsize) {
		knn_state_free(s);
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	}
	if ((err = find_duplicates(x, n, d, s))) {
		knn_state_free(s);
		return err;
	}
	for (i = 0; i < n; i++) {
		int64_t same = s->gsize[i] - 1;

		/* cleanlab puts min(duplicates, k) zeros first, then the nearest others */
		s->cap[i] = (int32_t)(k - (same < k ? same : k));
		set_worst(s, i, s->cap[i] > 0 ? INFINITY : -INFINITY);
	}
	return 0;
}

/*
 * Unit rows (double norm, float storage) for the GEMM tiles; zero rows stay
 * zero.  inv[i] receives 1 / |x_i| (1 for a zero row).
 */
static float *
normalised_rows(const float *x, int64_t n, int64_t d, double *inv_norm)
{
	float *xn = malloc((size_t)(n * d) * sizeof(*xn));
	int64_t i, j;

	if (!xn)
		return NULL;
	for (i = 0; i < n; i++) {
		double ss = 0, inv;

		for (j = 0; j < d; j++)
			ss += (double)x[i * d + j] * x[i * d + j];
		inv = ss > 0 ? 1.0 / sqrt(ss) : 1.0;
		inv_norm[i] = inv;
		for (j = 0; j < d; j++)
			xn[i * d + j] = (float)(x[i * d + j] * inv);
	}
	return xn;
}

static int
run_cosine(knn_state *s, const float *x, int64_t n, int64_t d, double *inv_norm)
{
	float *xn = normalised_rows(x, n, d, inv_norm), *sim = NULL;
	int64_t i0, j0, t = n < OOD_TILE ? n : OOD_TILE;

	if (xn)
		sim = malloc((size_t)(t * t) * sizeof(*sim));
	if (!xn || !sim) {
		free(xn);
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	}
	for (i0 = 0; i0 < n; i0 += t) {
		int64_t bi = n - i0 < t ? n - i0 : t;

		for (j0 = i0; j0 < n; j0 += t) {
			int64_t bj = n - j0 < t ? n - j0 : t;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bi, (blasint)bj, (blasint)d,
				    1.0f, xn + i0 * d, (blasint)d, xn + j0 * d, (blasint)d, 0.0f, sim, (blasint)bj);
			update_cosine(s, sim, i0, bi, j0, bj);
		}
	}
	free(sim);
	free(xn);
	return 0;
}

static int
run_euclidean(knn_state *s, const float *x, int64_t n, int64_t d)
{
	int64_t i0, j0, i, t = n < OOD_TILE ? n : OOD_TILE;
	double *xd = NULL, *sq = NULL, *gram = NULL;
	int err = 0;

	if (d > OOD_DIRECT_MAXD) {
		xd = malloc((size_t)(n * d) * sizeof(*xd));
		sq = malloc((size_t)n * sizeof(*sq));
		gram = malloc((size_t)(t * t) * sizeof(*gram));
		if (!xd || !sq || !gram) {
			err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
			goto out_free;
		}
		for (i = 0; i < n * d; i++)
			xd[i] = x[i];
		for (i = 0; i < n; i++)
			sq[i] = cblas_ddot((blasint)d, xd + i * d, 1, xd + i * d, 1);
	}
	for (i0 = 0; i0 < n; i0 += t) {
		int64_t bi = n - i0 < t ? n - i0 : t;

		for (j0 = i0; j0 < n; j0 += t) {
			int64_t bj = n - j0 < t ? n - j0 : t;

			update_euclidean(s, x, xd, sq, gram, d, i0, bi, j0, bj);
		}
	}
out_free:
	free(gram);
	free(sq);
	free(xd);
	return err;
}

/* The distance of rows a and b in double (what sklearn computes in float64). */
static double
exact_distance(const float *x, int64_t d, int64_t a, int64_t b, int metric, const double *inv_norm)
{
	const float *p = x + a * d, *q = x + b * d;
	double dist;
	int64_t j;

	if (metric != ANALYSIS_METRIC_COSINE)
		return sqrt(direct_sq(p, q, d));
	dist = 0;
	for (j = 0; j < d; j++)
		dist += (double)p[j] * q[j];
	dist = 1.0 - dist * inv_norm[a] * inv_norm[b];
	return dist < 0 ? 0 : dist > 2 ? 2 : dist;
}

int
analysis_ood_scores(const float *x, int64_t n, int64_t d, int k, int metric, int scale, double *scores,
		    double *avg_dist)
{
	int64_t kk = analysis_ood_k(n, k), i;
	double *avg = avg_dist, *inv_norm = NULL, tol, denom = 1.0;
	knn_state s;
	int err;

	metric = analysis_ood_metric(metric, d);
	if (n < 2)
		return vv_error(VV_EINVAL, "outlier scores: need at least 2 samples (got %lld)", (long long)n);
	if (d < 1 || k < 0 || kk >= n)
		return vv_error(VV_EINVAL, "outlier scores: k=%lld must be below the number of samples %lld",
				(long long)kk, (long long)n);
	if (n > INT32_MAX || kk > INT32_MAX || d > INT32_MAX)
		return vv_error(VV_EUNSUPPORTED, "outlier scores: %lld x %lld is too large", (long long)n,
				(long long)d);
	if (metric != ANALYSIS_METRIC_COSINE && metric != ANALYSIS_METRIC_EUCLIDEAN)
		return vv_error(VV_EINVAL, "outlier scores: unknown metric %d", metric);
	if (!avg && !(avg = malloc((size_t)n * sizeof(*avg))))
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	if ((err = knn_state_init(&s, x, n, d, kk)))
		goto out_avg;
	if (metric == ANALYSIS_METRIC_COSINE && !(inv_norm = malloc((size_t)n * sizeof(*inv_norm)))) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_state;
	}
	err = metric == ANALYSIS_METRIC_COSINE ? run_cosine(&s, x, n, d, inv_norm) : run_euclidean(&s, x, n, d);
	if (err)
		goto out_state;
	for (i = 0; i < n; i++) {
		const int32_t *hi = s.hidx + i * kk;
		double sum = 0;
		int32_t j;

		/*
		 * Duplicates contribute zeros; the heap holds the nearest others,
		 * chosen from the tile distances and measured again in double.
		 */
		for (j = 0; j < s.cnt[i]; j++)
			sum += exact_distance(x, d, i, hi[j], metric, inv_norm);
		avg[i] = sum / (double)kk;
	}
	if (scale == ANALYSIS_OOD_MEDIAN) {
		double med = analysis_median(avg, n);

		denom = med > 100 * EPS64 ? med : 100 * EPS64;
	}
	tol = metric == ANALYSIS_METRIC_COSINE ? 100 * EPSNEG64 : sqrt(100 * EPS64);
	for (i = 0; i < n; i++)
		scores[i] = avg[i] < tol ? 1.0 : exp(-avg[i] / denom);
out_state:
	free(inv_norm);
	knn_state_free(&s);
out_avg:
	if (avg != avg_dist)
		free(avg);
	return err;
}
