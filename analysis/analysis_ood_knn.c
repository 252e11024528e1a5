/* analysis_ood_knn.c - per-row neighbour heaps and exact distances (see analysis_ood_knn.h). */
#define _GNU_SOURCE /* qsort_r */
#include "analysis/analysis_ood_knn.h"
#include "analysis/analysis_ood.h"
#include "common/vv_error.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows compared by value, element by element (the order np.unique uses). */
struct row_ctx {
	const float *x;      /* the caller's rows */
	int64_t d;           /* width */
	const int32_t *perm; /* working index -> caller's row (NULL: identity) */
};

static inline const float *
ctx_row(const struct row_ctx *c, int32_t i)
{
	return c->x + (int64_t)(c->perm ? c->perm[i] : i) * c->d;
}

static int
cmp_rows(const void *a, const void *b, void *arg)
{
	const struct row_ctx *c = arg;
	const float *p = ctx_row(c, *(const int32_t *)a), *q = ctx_row(c, *(const int32_t *)b);
	int64_t j;

	for (j = 0; j < c->d; j++)
		if (p[j] != q[j])
			return p[j] < q[j] ? -1 : 1;
	return 0;
}

/* Group exactly equal rows: grp[i] and gsize[i] for every working row. */
static int
find_duplicates(const float *x, int64_t n, int64_t d, analysis_ood_knn *s)
{
	struct row_ctx ctx = { x, d, s->perm };
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
set_worst(analysis_ood_knn *s, int64_t row, double w)
{
	s->worst[row] = w;
	s->sthr[row] = isinf(w) ? (w > 0 ? -INFINITY : INFINITY) : (float)(1.0 - w - 1e-5);
}

static inline void
heap_push(analysis_ood_knn *s, int64_t row, double dist, int32_t who)
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
offer(analysis_ood_knn *s, int64_t r, int64_t c, double dist)
{
	if (s->has_dups && s->grp[r] == s->grp[c])
		return; /* exact duplicates are counted as zeros at the end */
	if (dist < s->worst[r])
		heap_push(s, r, dist, (int32_t)c);
	if (dist < s->worst[c])
		heap_push(s, c, dist, (int32_t)r);
}

/* offer() for row r only (the pruned, one-sided tiles). */
static inline void
offer_one(analysis_ood_knn *s, int64_t r, int64_t c, double dist)
{
	if (s->has_dups && s->grp[r] == s->grp[c])
		return;
	if (dist < s->worst[r])
		heap_push(s, r, dist, (int32_t)c);
}

void
analysis_ood_knn_close(analysis_ood_knn *s, int64_t row)
{
	set_worst(s, row, -INFINITY);
}

/* Similarities checked together by the vectorisable prefilter. */
#define OOD_CHUNK 16

/*
 * Feed the pairs (i0+a, j0+b), i < j only, of a similarity tile.  Nearly all
 * pairs fail both rows' bars once the heaps are full; a chunk of them is
 * rejected with one vectorisable pass of float comparisons.
 */
void
analysis_ood_knn_update_cosine(analysis_ood_knn *s, const float *sim, int64_t i0, int64_t bi, int64_t j0,
			       int64_t bj)
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

/*
 * One-sided update: rows r0.. (bi of them) against the ncols gathered rows
 * col[] whose similarities are the bi x ncols tile sim.
 */
void
analysis_ood_knn_update_rows(analysis_ood_knn *s, const float *sim, int64_t r0, int64_t bi, const int32_t *col,
			     int64_t ncols)
{
	int64_t a, b, e;

	for (a = 0; a < bi; a++) {
		const float *row = sim + a * ncols;
		int64_t r = r0 + a;

		for (b = 0; b < ncols; b = e) {
			float tr = s->sthr[r];
			int hit = 0;

			e = b + OOD_CHUNK < ncols ? b + OOD_CHUNK : ncols;
			if (e - b == OOD_CHUNK) {
				int k;

				for (k = 0; k < OOD_CHUNK; k++)
					hit |= row[b + k] > tr;
			} else {
				hit = 1;
			}
			if (!hit)
				continue;
			for (int64_t c = b; c < e; c++) {
				double dist;

				if (!(row[c] > s->sthr[r]) || col[c] == r)
					continue;
				dist = 1.0 - (double)row[c];
				dist = dist < 0 ? 0 : dist > 2 ? 2 : dist;
				offer_one(s, r, col[c], dist);
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
void
analysis_ood_knn_update_euclidean(analysis_ood_knn *s, const float *x, const double *xd, const double *sq,
				  double *gram,
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

void
analysis_ood_knn_free(analysis_ood_knn *s)
{
	free(s->heap);
	free(s->hidx);
	free(s->cnt);
	free(s->cap);
	free(s->need);
	free(s->worst);
	free(s->sthr);
	free(s->grp);
	free(s->gsize);
	memset(s, 0, sizeof(*s));
}

/*
 * Empty heaps for n rows in the working order perm (NULL: identity), each
 * keeping extra candidates more than its k - duplicates neighbours.
 */
int
analysis_ood_knn_init(analysis_ood_knn *s, const float *x, int64_t n, int64_t d, int64_t k, int64_t extra,
	       const int32_t *perm)
{
	int64_t i;
	int err;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->k = k + extra;
	s->perm = perm;
	s->heap = malloc((size_t)(n * s->k) * sizeof(*s->heap));
	s->hidx = malloc((size_t)(n * s->k) * sizeof(*s->hidx));
	s->cnt = calloc((size_t)n, sizeof(*s->cnt));
	s->cap = malloc((size_t)n * sizeof(*s->cap));
	s->need = malloc((size_t)n * sizeof(*s->need));
	s->worst = malloc((size_t)n * sizeof(*s->worst));
	s->sthr = malloc((size_t)n * sizeof(*s->sthr));
	s->grp = malloc((size_t)n * sizeof(*s->grp));
	s->gsize = malloc((size_t)n * sizeof(*s->gsize));
	if (!s->heap || !s->hidx || !s->cnt || !s->cap || !s->need || !s->worst || !s->sthr || !s->grp ||
	    !s->gsize) {
		analysis_ood_knn_free(s);
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	}
	if ((err = find_duplicates(x, n, d, s))) {
		analysis_ood_knn_free(s);
		return err;
	}
	for (i = 0; i < n; i++) {
		int64_t same = s->gsize[i] - 1, others = n - s->gsize[i], cap;

		/* cleanlab puts min(duplicates, k) zeros first, then the nearest others */
		s->need[i] = (int32_t)(k - (same < k ? same : k));
		cap = s->need[i] + extra;
		s->cap[i] = (int32_t)(cap < others ? cap : others);
		set_worst(s, i, s->cap[i] > 0 ? INFINITY : -INFINITY);
	}
	return 0;
}

/* AVX2 clone of the hot double loops where the compiler can make one. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define OOD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define OOD_CLONES
#endif

typedef double ood_d4 __attribute__((vector_size(32)));
typedef float ood_f4 __attribute__((vector_size(16)));

/* x.y of two float rows in double: eight partial sums in two 4-lane vectors. */
OOD_CLONES static double
dot_double(const float *p, const float *q, int64_t d)
{
	ood_d4 s0 = { 0, 0, 0, 0 }, s1 = { 0, 0, 0, 0 };
	double r = 0;
	int64_t j;

	for (j = 0; j + 8 <= d; j += 8) {
		ood_f4 a0, a1, b0, b1;

		memcpy(&a0, p + j, sizeof(a0));
		memcpy(&a1, p + j + 4, sizeof(a1));
		memcpy(&b0, q + j, sizeof(b0));
		memcpy(&b1, q + j + 4, sizeof(b1));
		s0 += __builtin_convertvector(a0, ood_d4) * __builtin_convertvector(b0, ood_d4);
		s1 += __builtin_convertvector(a1, ood_d4) * __builtin_convertvector(b1, ood_d4);
	}
	for (; j < d; j++)
		r += (double)p[j] * (double)q[j];
	s0 += s1;
	return ((s0[0] + s0[2]) + (s0[1] + s0[3])) + r;
}

/* The distance of rows a and b in double (what sklearn computes in float64). */
double
analysis_ood_exact_distance(const float *x, int64_t d, int64_t a, int64_t b, int metric,
			    const double *inv_norm)
{
	const float *p = x + a * d, *q = x + b * d;
	double dist;

	if (metric != ANALYSIS_METRIC_COSINE)
		return sqrt(direct_sq(p, q, d));
	dist = 1.0 - dot_double(p, q, d) * inv_norm[a] * inv_norm[b];
	return dist < 0 ? 0 : dist > 2 ? 2 : dist;
}

/* Insert v into the ascending array e of *m values, keeping at most cap. */
static inline void
keep_smallest(double *e, int32_t *m, int32_t cap, double v)
{
	int32_t i;

	if (*m == cap && !(v < e[cap - 1]))
		return;
	i = *m < cap ? (*m)++ : cap - 1;
	while (i > 0 && e[i - 1] > v) {
		e[i] = e[i - 1];
		i--;
	}
	e[i] = v;
}

/* inv[i] = 1 / |x_i| in double (1 for a zero row). */
void
analysis_ood_inverse_norms(const float *x, int64_t n, int64_t d, double *inv)
{
	int64_t i;

	for (i = 0; i < n; i++) {
		double ss = dot_double(x + i * d, x + i * d, d);

		inv[i] = ss > 0 ? 1.0 / sqrt(ss) : 1.0;
	}
}

/*
 * Unit rows (double norm, float storage) in the working order perm (NULL:
 * identity) for the GEMM tiles; zero rows stay zero.
 */
float *
analysis_ood_normalised_rows(const float *x, int64_t n, int64_t d, const int32_t *perm, const double *inv)
{
	float *xn = malloc((size_t)(n * d) * sizeof(*xn));
	int64_t i, j;

	if (!xn)
		return NULL;
	for (i = 0; i < n; i++) {
		int64_t o = perm ? perm[i] : i;

		for (j = 0; j < d; j++)
			xn[i * d + j] = (float)(x[o * d + j] * inv[o]);
	}
	return xn;
}

/*
 * Mean neighbour distance of every row (caller's order) from the cosine
 * heaps.  A float distance f is within delta of the exact one (delta bounds
 * the float32 GEMM error), and a pair not among a row's candidates has f of
 * at least the heap's top h.  So when the needed-th and the next candidate
 * (or h) are more than 2 delta apart in f, the nearest candidates by f are
 * the exact nearest and only they are measured in double.  Otherwise all
 * candidates are measured in double; when the needed-th exact distance is
 * not below h - delta either, the row is searched again by brute force in
 * double.  The distances are summed in ascending order.  Rows p0..p1-1 of
 * the working order.  Returns the number of brute-force rows, -1 when out of
 * memory.
 */
int64_t
analysis_ood_knn_finish_cosine(const analysis_ood_knn *s, const float *x, int64_t d, const double *inv,
			       int64_t k, double delta,
	      double *avg, int64_t p0, int64_t p1)
{
	double *e = malloc((size_t)s->k * sizeof(*e)), *f = malloc((size_t)s->k * sizeof(*f));
	int32_t *fi = malloc((size_t)s->k * sizeof(*fi));
	int64_t p, redo = 0;

	if (!e || !f || !fi) {
		free(fi);
		free(f);
		free(e);
		return -1;
	}
	for (p = p0; p < p1; p++) {
		int64_t o = s->perm ? s->perm[p] : p, q;
		int32_t need = s->need[p], cnt = s->cnt[p], m = 0, j, l;
		/* some pair was left out: its float distance is at least the heap top */
		int partial = cnt == s->cap[p] && s->cap[p] < s->n - s->gsize[p];
		double sum = 0, h = cnt ? s->heap[p * s->k] : INFINITY;

		/* candidates in ascending float distance */
		for (j = 0; j < cnt; j++) {
			double v = s->heap[p * s->k + j];

			for (l = j; l > 0 && f[l - 1] > v; l--) {
				f[l] = f[l - 1];
				fi[l] = fi[l - 1];
			}
			f[l] = v;
			fi[l] = s->hidx[p * s->k + j];
		}
		if (need > 0 && cnt >= need) {
			double next = need < cnt ? f[need] : partial ? h : INFINITY;
			int32_t take = next - f[need - 1] > 2 * delta ? need : cnt;

			for (j = 0; j < take; j++)
				keep_smallest(e, &m, take,
					      analysis_ood_exact_distance(x, d, o, s->perm ? s->perm[fi[j]] : fi[j],
							     ANALYSIS_METRIC_COSINE, inv));
			if (take > need && partial && !(e[need - 1] < h - delta))
				m = 0; /* not provably the nearest */
		}
		if (need > 0 && m < need) {
			redo++;
			m = 0;
			for (q = 0; q < s->n; q++)
				if (q != p && s->grp[q] != s->grp[p])
					keep_smallest(e, &m, need,
						      analysis_ood_exact_distance(x, d, o, s->perm ? s->perm[q] : q,
								     ANALYSIS_METRIC_COSINE, inv));
		}
		for (j = 0; j < need && j < m; j++)
			sum += e[j];
		avg[o] = sum / (double)k;
	}
	free(fi);
	free(f);
	free(e);
	return redo;
}
