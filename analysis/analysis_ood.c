/* analysis_ood.c - cleanlab-compatible kNN outlier scores from GEMM tiles. */
#define _GNU_SOURCE /* qsort_r */
#include "analysis/analysis_ood.h"
#include "common/vv_thread.h"
#include "common/vv_error.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* widths up to this compute euclidean distances directly, not by GEMM */
#define OOD_DIRECT_MAXD 32
/* square tile side of the symmetric pass and the euclidean tiles */
#define OOD_TILE 1024

/* float64 machine epsilon (eps) and negative epsilon (epsneg = 2^-53) */
#define EPS64 DBL_EPSILON
#define EPSNEG64 (DBL_EPSILON / 2)

/*
 * The per-row top-k state.  Rows are addressed in the working order (perm
 * maps a working index to the caller's row).  For cosine each heap keeps
 * OOD_EXTRA candidates more than it needs, chosen by float32 similarity;
 * they are measured again in double and re-ranked at the end (see
 * finish_cosine()), which makes the float ordering exact.
 */
typedef struct knn_state {
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
} knn_state;

/* Extra float-ranked candidates kept per row for the exact re-ranking. */
#define OOD_EXTRA 4

/* Pruning switch and the last cosine call's pruned fraction (tests, bench). */
static int ood_pruning = 1;
static double ood_pruned = 0;

void
analysis_ood_set_pruning(int on)
{
	ood_pruning = on != 0;
}

double
analysis_ood_pruned_fraction(void)
{
	return ood_pruned;
}

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
find_duplicates(const float *x, int64_t n, int64_t d, knn_state *s)
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

/* offer() for row r only (the pruned, one-sided tiles). */
static inline void
offer_one(knn_state *s, int64_t r, int64_t c, double dist)
{
	if (s->has_dups && s->grp[r] == s->grp[c])
		return;
	if (dist < s->worst[r])
		heap_push(s, r, dist, (int32_t)c);
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

/*
 * One-sided update: rows r0.. (bi of them) against the ncols gathered rows
 * col[] whose similarities are the bi x ncols tile sim.
 */
static void
update_rows(knn_state *s, const float *sim, int64_t r0, int64_t bi, const int32_t *col, int64_t ncols)
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
static int
knn_state_init(knn_state *s, const float *x, int64_t n, int64_t d, int64_t k, int64_t extra,
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
		knn_state_free(s);
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	}
	if ((err = find_duplicates(x, n, d, s))) {
		knn_state_free(s);
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

static double dot_double(const float *p, const float *q, int64_t d);

/* inv[i] = 1 / |x_i| in double (1 for a zero row). */
static void
inverse_norms(const float *x, int64_t n, int64_t d, double *inv)
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
static float *
normalised_rows(const float *x, int64_t n, int64_t d, const int32_t *perm, const double *inv)
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

/* Threads of the pruned and symmetric passes (at most). */
#define OOD_MAX_THREADS 16

/* One thread of the symmetric pass. */
typedef struct sym_worker {
	knn_state *s;          /* heaps, updated under lock */
	const float *xn;       /* unit rows, working order */
	int64_t n, d, t;       /* rows, width, tile side */
	const int64_t *pairs;  /* tile pairs (i0, j0) to compute */
	int64_t npairs;        /* number of pairs */
	atomic_llong *next;    /* next pair to take */
	pthread_mutex_t *lock; /* serialises the heap updates */
	float *sim;            /* t x t similarities */
	double work;           /* similarities computed (2 per off-diagonal pair) */
} sym_worker;

static void *
sym_thread(void *arg)
{
	sym_worker *w = arg;
	int64_t q;

	while ((q = atomic_fetch_add(w->next, 1)) < w->npairs) {
		int64_t i0 = w->pairs[2 * q], j0 = w->pairs[2 * q + 1], t = w->t, n = w->n, d = w->d;
		int64_t bi = n - i0 < t ? n - i0 : t, bj = n - j0 < t ? n - j0 : t;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bi, (blasint)bj, (blasint)d, 1.0f,
			    w->xn + i0 * d, (blasint)d, w->xn + j0 * d, (blasint)d, 0.0f, w->sim, (blasint)bj);
		pthread_mutex_lock(w->lock);
		update_cosine(w->s, w->sim, i0, bi, j0, bj);
		pthread_mutex_unlock(w->lock);
		w->work += (double)bi * bj * (i0 == j0 ? 1 : 2);
	}
	return NULL;
}

/*
 * All pairs i < j through symmetric float32 tiles, skipping tiles whose rows
 * are all finished (their bars are -inf, see run_pruned()).  The tiles are
 * shared by nth threads, each computing its GEMMs (OpenBLAS set to one
 * thread by the caller) and updating the heaps under a lock.  Adds the
 * similarities computed to *work (2 per off-diagonal pair).
 */
static int
run_symmetric(knn_state *s, const float *xn, int64_t n, int64_t d, const uint8_t *fin, int nth, double *work)
{
	int64_t t = n < OOD_TILE ? n : OOD_TILE, nb = (n + t - 1) / t, b, i0, j0, np = 0, nw = 0, i;
	int64_t *pairs = malloc((size_t)(nb * (nb + 1)) * sizeof(*pairs));
	uint8_t *allfin = calloc((size_t)nb, 1);
	sym_worker w[OOD_MAX_THREADS];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	atomic_llong next;
	int err = 0;

	if (!pairs || !allfin) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_free;
	}
	for (b = 0; b < nb; b++) {
		int64_t e = (b + 1) * t < n ? (b + 1) * t : n;

		allfin[b] = fin != NULL;
		for (i = b * t; fin && i < e; i++)
			if (!fin[i])
				allfin[b] = 0;
	}
	for (i0 = 0; i0 < n; i0 += t)
		for (j0 = i0; j0 < n; j0 += t)
			if (!allfin[i0 / t] || !allfin[j0 / t]) {
				pairs[2 * np] = i0;
				pairs[2 * np + 1] = j0;
				np++;
			}
	atomic_init(&next, 0);
	for (nw = 0; nw < nth && nw < (np ? np : 1); nw++) {
		w[nw] = (sym_worker){ .s = s, .xn = xn, .n = n, .d = d, .t = t, .pairs = pairs, .npairs = np,
				      .next = &next, .lock = &lock };
		if (!(w[nw].sim = malloc((size_t)(t * t) * sizeof(*w[nw].sim)))) {
			err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
			goto out_free;
		}
	}
	vv_run_parallel(sym_thread, w, sizeof(*w), (int)nw);
	for (i = 0; i < nw; i++)
		*work += w[i].work;
out_free:
	for (i = 0; i < nw; i++)
		free(w[i].sim);
	free(allfin);
	free(pairs);
	return err;
}

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
/* Row block height and column tile width of the pruned pass. */
#define OOD_BLOCK 256
#define OOD_CTILE 64
/* Columns gathered for one GEMM of the pruned pass. */
#define OOD_COLS 1024
/* Clusters (most), sample rows and iterations of the k-means. */
#define OOD_KMAX 32
#define OOD_KSAMPLE 1024
#define OOD_KITER 4
/* Slack added to every bound (double rounding is below 1e-12). */
#define OOD_BOUND_MARGIN 1e-7
/* Blocks measured before deciding that pruning does not pay (a constant, not
 * one per thread: the search takes the same path for any thread count). */
#define OOD_PROBE 2

typedef struct prune_ctx {
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
} prune_ctx;

static void
prune_ctx_free(prune_ctx *p)
{
	free(p->a);
	free(p->rn);
	free(p->tile);
	free(p->tm);
	free(p->tr);
	free(p->te);
	free(p->blk);
	free(p->perm);
	memset(p, 0, sizeof(*p));
}

/* Spherical k-means of every step-th unit row of xn: nc unit centroids into cent. */
static int
kmeans_sample(const float *xn, int64_t n, int64_t d, int64_t nc, float *cent)
{
	int64_t step = (n + OOD_KSAMPLE - 1) / OOD_KSAMPLE, ns = (n + step - 1) / step, i, j, e, it;
	float *sim = malloc((size_t)(ns * nc) * sizeof(*sim)), *acc = malloc((size_t)(nc * d) * sizeof(*acc));
	int64_t *cnt = malloc((size_t)nc * sizeof(*cnt));
	int err = 0;

	if (!sim || !acc || !cnt) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_free;
	}
	for (j = 0; j < nc; j++)
		memcpy(cent + j * d, xn + (j * ns / nc) * step * d, (size_t)d * sizeof(*cent));
	for (it = 0; it < OOD_KITER; it++) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)ns, (blasint)nc, (blasint)d, 1.0f, xn,
			    (blasint)(step * d), cent, (blasint)d, 0.0f, sim, (blasint)nc);
		memset(acc, 0, (size_t)(nc * d) * sizeof(*acc));
		memset(cnt, 0, (size_t)nc * sizeof(*cnt));
		for (i = 0; i < ns; i++) {
			const float *row = xn + i * step * d;
			int64_t best = 0;

			for (j = 1; j < nc; j++)
				if (sim[i * nc + j] > sim[i * nc + best])
					best = j;
			cnt[best]++;
			for (e = 0; e < d; e++)
				acc[best * d + e] += row[e];
		}
		for (j = 0; j < nc; j++) {
			double ss = 0;

			for (e = 0; e < d; e++)
				ss += (double)acc[j * d + e] * acc[j * d + e];
			if (!cnt[j] || !(ss > 0))
				continue; /* keep the old centroid */
			for (e = 0; e < d; e++)
				cent[j * d + e] = (float)(acc[j * d + e] / sqrt(ss));
		}
	}
out_free:
	free(cnt);
	free(acc);
	free(sim);
	return err;
}

/*
 * Cluster the unit rows xn (float32, the caller's order), order them by
 * cluster (rows far from every centroid last), and compute the bound terms
 * of every row and tile.  The coefficients come from a float32 GEMM; eps
 * bounds the error of each against the exact a = Q^T x/|x| (the GEMM error
 * (d u) plus the roundings of x/|x| and of Q to float, u = 2^-24), and every
 * bound term is widened by it.
 */
static int
prune_ctx_init(prune_ctx *p, const float *xn, int64_t n, int64_t d, double eps)
{
	int64_t nc = n / 128, c = 0, i, j, l, t, b;
	float *cent = NULL, *qf = NULL, *af = NULL;
	double *q = NULL, *cq = NULL, *best = NULL;
	int32_t *lab = NULL, *rank = NULL;
	int64_t *start = NULL, *pos = NULL;
	int err;

	memset(p, 0, sizeof(*p));
	nc = nc < 4 ? 4 : nc > OOD_KMAX ? OOD_KMAX : nc;
	cent = malloc((size_t)(nc * d) * sizeof(*cent));
	q = malloc((size_t)(nc * d) * sizeof(*q));
	qf = malloc((size_t)(nc * d) * sizeof(*qf));
	cq = calloc((size_t)(nc * nc), sizeof(*cq));
	af = malloc((size_t)(n * nc) * sizeof(*af));
	best = malloc((size_t)n * sizeof(*best));
	lab = malloc((size_t)n * sizeof(*lab));
	start = calloc((size_t)(nc + 2), sizeof(*start));
	pos = malloc((size_t)(nc + 1) * sizeof(*pos));
	rank = malloc((size_t)nc * sizeof(*rank));
	p->perm = malloc((size_t)n * sizeof(*p->perm));
	if (!cent || !q || !qf || !cq || !af || !best || !lab || !rank || !start || !pos || !p->perm) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_free;
	}
	if ((err = kmeans_sample(xn, n, d, nc, cent)))
		goto out_free;
	/* orthonormal basis of the centroids (Gram-Schmidt, twice), dependent ones dropped */
	for (j = 0; j < nc; j++) {
		double *v = q + c * d, ss = 0;

		for (l = 0; l < d; l++)
			v[l] = cent[j * d + l];
		for (int pass = 0; pass < 2; pass++)
			for (i = 0; i < c; i++) {
				double dot = 0;

				for (l = 0; l < d; l++)
					dot += v[l] * q[i * d + l];
				for (l = 0; l < d; l++)
					v[l] -= dot * q[i * d + l];
			}
		for (l = 0; l < d; l++)
			ss += v[l] * v[l];
		if (ss < 1e-6)
			continue;
		for (l = 0; l < d; l++)
			v[l] /= sqrt(ss);
		c++;
	}
	p->c = c;
	for (i = 0; i < c * d; i++)
		qf[i] = (float)q[i];
	/* centroid coordinates in the basis */
	for (j = 0; j < nc; j++)
		for (i = 0; i < c; i++) {
			double dot = 0;

			for (l = 0; l < d; l++)
				dot += (double)cent[j * d + l] * q[i * d + l];
			cq[j * nc + i] = dot;
		}
	/* coefficients of every unit row */
	if (c > 0)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)c, (blasint)d, 1.0f, xn,
			    (blasint)d, qf, (blasint)d, 0.0f, af, (blasint)c);
	/* nearest centroid of each row; rows far from all of them go last */
	for (i = 0; i < n; i++) {
		lab[i] = 0;
		best[i] = -INFINITY;
		for (j = 0; j < nc; j++) {
			double dot = 0;

			for (l = 0; l < c; l++)
				dot += (double)af[i * c + l] * cq[j * nc + l];
			if (dot > best[i]) {
				best[i] = dot;
				lab[i] = (int32_t)j;
			}
		}
	}
	/*
	 * Clusters in a chain of nearest centroids, so that the clusters one
	 * row block needs tend to be adjacent: longer runs of tiles per GEMM.
	 */
	{
		double med = analysis_median(best, n);
		int64_t cur = 0, r;

		for (j = 0; j < nc; j++)
			rank[j] = -1;
		for (r = 0; r < nc; r++) {
			double bs = -INFINITY;
			int64_t nx = -1;

			rank[cur] = (int32_t)r;
			for (j = 0; j < nc; j++) {
				double dot = 0;

				if (rank[j] >= 0)
					continue;
				for (l = 0; l < c; l++)
					dot += cq[cur * nc + l] * cq[j * nc + l];
				if (nx < 0 || dot > bs) {
					bs = dot;
					nx = j;
				}
			}
			if (nx < 0)
				break;
			cur = nx;
		}
		for (i = 0; i < n; i++)
			lab[i] = best[i] >= 0.5 * med ? rank[lab[i]] : (int32_t)nc;
	}
	for (i = 0; i < n; i++)
		start[lab[i] + 1]++;
	for (j = 0; j <= nc; j++)
		start[j + 1] += start[j];
	for (j = 0; j <= nc; j++)
		pos[j] = start[j];
	for (i = 0; i < n; i++)
		p->perm[pos[lab[i]]++] = (int32_t)i;
	/* permuted bound terms: [a, |a|] per row */
	p->a = malloc((size_t)(n * 2 * (c ? c : 1)) * sizeof(*p->a));
	p->rn = malloc((size_t)n * sizeof(*p->rn));
	/* at most one partial tile / block per segment */
	p->tile = malloc((size_t)(n / OOD_CTILE + nc + 3) * sizeof(*p->tile));
	p->blk = malloc((size_t)(n / OOD_BLOCK + nc + 3) * sizeof(*p->blk));
	if (!p->a || !p->rn || !p->tile || !p->blk) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		double aa = 0, lo;

		for (l = 0; l < c; l++) {
			double v = af[(int64_t)p->perm[i] * c + l];

			p->a[i * 2 * c + l] = v;
			p->a[i * 2 * c + c + l] = fabs(v);
			aa += v * v;
		}
		/*
		 * |r|^2 = |x/|x||^2 - |a_exact|^2 with |x/|x||^2 <= 1 + (d + 8) 2^-52
		 * (double rounding of the norm) and |a_exact| >= |a| - sqrt(c) eps
		 */
		lo = sqrt(aa) - sqrt((double)c) * eps;
		lo = lo > 0 ? lo : 0;
		p->rn[i] = sqrt(fmax(0.0, 1.0 + (double)(d + 8) * 0x1p-52 - lo * lo) + 1e-12);
	}
	p->ntile = p->nblk = 0;
	for (j = 0; j <= nc; j++) {
		for (t = start[j]; t < start[j + 1]; t += OOD_CTILE)
			p->tile[p->ntile++] = t;
		for (b = start[j]; b < start[j + 1]; b += OOD_BLOCK)
			p->blk[p->nblk++] = b;
	}
	p->tile[p->ntile] = n;
	p->blk[p->nblk] = n;
	p->tm = malloc((size_t)(p->ntile * 2 * (c ? c : 1)) * sizeof(*p->tm));
	p->tr = malloc((size_t)p->ntile * sizeof(*p->tr));
	p->te = malloc((size_t)p->ntile * sizeof(*p->te));
	if (!p->tm || !p->tr || !p->te) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_free;
	}
	/*
	 * Bounding box of each tile's coefficients: [centre, half width], the
	 * width grown by eps for the exact coefficients; te covers a row's own
	 * coefficient error: eps (|centre|_1 + |half width|_1).
	 */
	for (t = 0; t < p->ntile; t++) {
		double *m = p->tm + t * 2 * c, rr = 0, l1 = 0;

		for (l = 0; l < c; l++) {
			double lo = INFINITY, hi = -INFINITY;

			for (i = p->tile[t]; i < p->tile[t + 1]; i++) {
				double v = p->a[i * 2 * c + l];

				lo = v < lo ? v : lo;
				hi = v > hi ? v : hi;
			}
			m[l] = 0.5 * (lo + hi);
			m[c + l] = (0.5 * (hi - lo) + eps) * (1 + 1e-12) + 1e-15;
			l1 += fabs(m[l]) + m[c + l];
		}
		for (i = p->tile[t]; i < p->tile[t + 1]; i++)
			rr = p->rn[i] > rr ? p->rn[i] : rr;
		p->tr[t] = rr;
		p->te[t] = eps * l1 * (1 + 1e-9);
	}
	err = 0;
out_free:
	free(rank);
	free(pos);
	free(start);
	free(lab);
	free(best);
	free(af);
	free(cq);
	free(qf);
	free(q);
	free(cent);
	if (err)
		prune_ctx_free(p);
	return err;
}

/* Put the rows of xn in the working order perm (in place, by cycles). */
static int
permute_rows(float *xn, int64_t n, int64_t d, const int32_t *perm)
{
	float *tmp = malloc((size_t)d * sizeof(*tmp));
	uint8_t *seen = calloc((size_t)n, 1);
	int64_t i;

	if (!tmp || !seen) {
		free(seen);
		free(tmp);
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	}
	for (i = 0; i < n; i++) {
		int64_t w = i;

		if (seen[i])
			continue;
		/* new[w] = old[perm[w]] along the cycle through i */
		memcpy(tmp, xn + i * d, (size_t)d * sizeof(*tmp));
		while (!seen[w]) {
			int64_t src = perm[w];

			seen[w] = 1;
			if (src == i)
				memcpy(xn + w * d, tmp, (size_t)d * sizeof(*tmp));
			else
				memcpy(xn + w * d, xn + src * d, (size_t)d * sizeof(*tmp));
			w = src;
		}
	}
	free(seen);
	free(tmp);
	return 0;
}

/* A candidate tile of a row block and its largest bound. */
struct tile_ub {
	int64_t t;  /* tile */
	double ub;  /* largest similarity bound over the block's rows */
};

static int
cmp_ub_desc(const void *a, const void *b)
{
	const struct tile_ub *x = a, *y = b;

	return (x->ub < y->ub) - (x->ub > y->ub);
}

static int
cmp_tile(const void *a, const void *b)
{
	const struct tile_ub *x = a, *y = b;

	return (x->t > y->t) - (x->t < y->t);
}

/* One thread of the pruned pass: its own buffers, blocks from a shared counter. */
typedef struct prune_worker {
	knn_state *s;          /* heaps: a block's rows are written by its worker only */
	const float *xn;       /* unit rows, working order */
	int64_t d;             /* width */
	const prune_ctx *p;    /* clusters and bound terms */
	const int64_t *order;  /* blocks in processing order */
	int64_t end;           /* the workers take order[*next .. end) */
	atomic_llong *next;    /* next position in order to take */
	float *sim;            /* OOD_BLOCK x OOD_COLS similarities */
	float *cols;           /* gathered narrow runs of rows */
	int32_t *colidx;       /* working index of each column of sim */
	double *g;             /* OOD_BLOCK x ntile bound GEMM */
	uint8_t *tdone;        /* tiles done for the current block */
	struct tile_ub *cand;  /* tiles still needed */
	double work;           /* similarities computed */
} prune_worker;

static void
prune_worker_free(prune_worker *w)
{
	free(w->cand);
	free(w->tdone);
	free(w->g);
	free(w->colidx);
	free(w->cols);
	free(w->sim);
}

static int
prune_worker_init(prune_worker *w, knn_state *s, const float *xn, int64_t d, const prune_ctx *p)
{
	int64_t nt = p->ntile;

	memset(w, 0, sizeof(*w));
	w->s = s;
	w->xn = xn;
	w->d = d;
	w->p = p;
	w->sim = malloc((size_t)(OOD_BLOCK * OOD_COLS) * sizeof(*w->sim));
	w->cols = malloc((size_t)(OOD_COLS * d) * sizeof(*w->cols));
	w->colidx = malloc((size_t)OOD_COLS * sizeof(*w->colidx));
	w->g = malloc((size_t)(OOD_BLOCK * nt) * sizeof(*w->g));
	w->tdone = malloc((size_t)nt);
	w->cand = malloc((size_t)nt * sizeof(*w->cand));
	if (!w->sim || !w->cols || !w->colidx || !w->g || !w->tdone || !w->cand) {
		prune_worker_free(w);
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	}
	return 0;
}

/*
 * Row block b against the tiles its bounds cannot rule out, the most
 * promising first, one-sided (only the block's rows are updated).
 */
static void
prune_block(prune_worker *w, int64_t b)
{
	knn_state *s = w->s;
	const prune_ctx *p = w->p;
	const float *xn = w->xn;
	float *sim = w->sim, *cols = w->cols;
	int32_t *colidx = w->colidx;
	double *g = w->g;
	uint8_t *tdone = w->tdone;
	struct tile_ub *cand = w->cand;
	int64_t c = p->c, nt = p->ntile, d = w->d, r0 = p->blk[b], bi = p->blk[b + 1] - r0, i, t, round;

	if (c > 0)
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bi, (blasint)nt, (blasint)(2 * c), 1.0,
			    p->a + r0 * 2 * c, (blasint)(2 * c), p->tm, (blasint)(2 * c), 0.0, g, (blasint)nt);
	else
		memset(g, 0, (size_t)(bi * nt) * sizeof(*g));
	memset(tdone, 0, (size_t)nt);
	for (round = 0;; round++) {
		int64_t nc = 0, ncols = 0, k, l, m;

		for (t = 0; t < nt; t++) {
			double ub = -INFINITY;
			int needed = 0;

			if (tdone[t])
				continue;
			for (i = 0; i < bi; i++) {
				double bd = g[i * nt + t] + p->rn[r0 + i] * p->tr[t] + p->te[t] +
					    OOD_BOUND_MARGIN;

				ub = bd > ub ? bd : ub;
				if (!(bd < 1.0 - s->worst[r0 + i]))
					needed = 1;
			}
			if (needed) {
				cand[nc].t = t;
				cand[nc++].ub = ub;
			}
		}
		if (!nc)
			break;
		qsort(cand, (size_t)nc, sizeof(*cand), cmp_ub_desc);
		for (m = 0; m < nc; m++) {
			int64_t w = p->tile[cand[m].t + 1] - p->tile[cand[m].t];

			/* a small first round: the heaps only need to fill */
			if (m && ncols + w > (round ? OOD_COLS : OOD_COLS / 4))
				break;
			ncols += w;
		}
		qsort(cand, (size_t)m, sizeof(*cand), cmp_tile);
		/*
		 * Runs of adjacent tiles: wide ones straight from xn into
		 * their columns of sim, narrow ones gathered into one GEMM
		 * (each GEMM call packs the block's rows again).
		 */
		{
			int64_t off = 0, g0, ng = 0;

			for (k = 0; k < m; k = l) {
				int64_t t0 = p->tile[cand[k].t], t1;

				for (l = k + 1; l < m && cand[l].t == cand[l - 1].t + 1; l++)
					;
				t1 = p->tile[cand[l - 1].t + 1];
				if (t1 - t0 >= OOD_BLOCK) {
					for (i = t0; i < t1; i++)
						colidx[off++] = (int32_t)i;
				} else {
					ng += t1 - t0;
				}
			}
			g0 = off;
			for (k = 0; k < m; k = l) {
				int64_t t0 = p->tile[cand[k].t], t1;

				for (l = k + 1; l < m && cand[l].t == cand[l - 1].t + 1; l++)
					;
				t1 = p->tile[cand[l - 1].t + 1];
				for (i = k; i < l; i++)
					tdone[cand[i].t] = 1;
				if (t1 - t0 < OOD_BLOCK) {
					memcpy(cols + (off - g0) * d, xn + t0 * d, (size_t)((t1 - t0) * d) * sizeof(*cols));
					for (i = t0; i < t1; i++)
						colidx[off++] = (int32_t)i;
				}
			}
			ncols = off;
			for (k = 0; k < g0; k += l) {
				for (l = 1; k + l < g0 && colidx[k + l] == colidx[k] + l; l++)
					;
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bi, (blasint)l,
					    (blasint)d, 1.0f, xn + r0 * d, (blasint)d, xn + (int64_t)colidx[k] * d,
					    (blasint)d, 0.0f, sim + k, (blasint)ncols);
			}
			if (ng)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bi, (blasint)ng,
					    (blasint)d, 1.0f, xn + r0 * d, (blasint)d, cols, (blasint)d, 0.0f,
					    sim + g0, (blasint)ncols);
		}
		update_rows(s, sim, r0, bi, colidx, ncols);
		w->work += (double)bi * ncols;
	}
}

static void *
prune_thread(void *arg)
{
	prune_worker *w = arg;
	int64_t i;

	while ((i = atomic_fetch_add(w->next, 1)) < w->end)
		prune_block(w, w->order[i]);
	return NULL;
}

/*
 * Pruned pass over all row blocks on nth threads, each calling GEMMs with
 * OpenBLAS set to one thread by the caller (no lock-step between the
 * threads of one small GEMM, which a busy machine punishes).  A few probe
 * blocks spread over the rows go first; when they show that pruning skips
 * too little, the probed rows are finished and the rest goes through the
 * symmetric pass.  *work receives the similarities computed.
 */
static int
run_pruned(knn_state *s, const float *xn, int64_t n, int64_t d, const prune_ctx *p, int nth, double *work)
{
	int64_t nb = p->nblk, np = OOD_PROBE, rows = 0, i, m = 0, nw;
	int64_t *order = malloc((size_t)nb * sizeof(*order));
	uint8_t *fin = calloc((size_t)n, 1);
	prune_worker w[OOD_MAX_THREADS];
	atomic_llong next;
	int err = 0;

	np = np < nb ? np : nb;
	for (nw = 0; nw < nth && nw < nb; nw++)
		if ((err = prune_worker_init(&w[nw], s, xn, d, p)))
			goto out_free;
	if (!order || !fin) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_free;
	}
	/* probe blocks spread over the rows first, then the rest in order */
	for (i = 0; i < np; i++)
		order[m++] = (2 * i + 1) * nb / (2 * np);
	for (i = 0; i < nb; i++) {
		int64_t k, seen = 0;

		for (k = 0; k < np; k++)
			seen |= order[k] == i;
		if (!seen)
			order[m++] = i;
	}
	for (i = 0; i < nw; i++) {
		w[i].order = order;
		w[i].next = &next;
		w[i].end = np;
	}
	atomic_init(&next, 0);
	vv_run_parallel(prune_thread, w, sizeof(*w), (int)(nw < np ? nw : np));
	for (m = 0; m < np; m++) {
		for (i = p->blk[order[m]]; i < p->blk[order[m] + 1]; i++)
			fin[i] = 1;
		rows += p->blk[order[m] + 1] - p->blk[order[m]];
	}
	for (i = 0; i < nw; i++)
		*work += w[i].work;
	if (nb >= 4 * np && *work > 0.5 * (double)rows * (double)n) {
		/* pruning does not pay here: finish the probed rows, then all pairs */
		for (i = 0; i < n; i++)
			if (fin[i])
				set_worst(s, i, -INFINITY);
		err = run_symmetric(s, xn, n, d, fin, nth, work);
		goto out_free;
	}
	*work = 0;
	for (i = 0; i < nw; i++)
		w[i].end = nb;
	atomic_init(&next, np);
	vv_run_parallel(prune_thread, w, sizeof(*w), (int)nw);
	for (i = 0; i < nw; i++)
		*work += w[i].work;
out_free:
	for (i = 0; i < nw; i++)
		prune_worker_free(&w[i]);
	free(fin);
	free(order);
	return err;
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
static double
exact_distance(const float *x, int64_t d, int64_t a, int64_t b, int metric, const double *inv_norm)
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
static int64_t
finish_cosine(const knn_state *s, const float *x, int64_t d, const double *inv, int64_t k, double delta,
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
					      exact_distance(x, d, o, s->perm ? s->perm[fi[j]] : fi[j],
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
						      exact_distance(x, d, o, s->perm ? s->perm[q] : q,
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

/* One thread of finish_cosine(). */
struct finish_job {
	const knn_state *s; /* heaps */
	const float *x;     /* the caller's rows */
	int64_t d, k;       /* width, neighbours */
	const double *inv;  /* inverse norms */
	double delta;       /* float32 error bound */
	double *avg;        /* output, caller's order */
	int64_t p0, p1;     /* working rows p0..p1-1 */
	int64_t redo;       /* brute-force rows, -1: out of memory */
};

static void *
finish_thread(void *arg)
{
	struct finish_job *j = arg;

	j->redo = finish_cosine(j->s, j->x, j->d, j->inv, j->k, j->delta, j->avg, j->p0, j->p1);
	return NULL;
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

/* Cosine mean neighbour distances (caller's order) into avg. */
static int
cosine_avg(const float *x, int64_t n, int64_t d, int64_t k, double *avg)
{
	/* float32 GEMM error bound of a unit-row dot product (see finish_cosine()) */
	const double delta = 1.01 * (double)(d + 3) * 0x1p-24 + 1e-12;
	double *inv = malloc((size_t)n * sizeof(*inv)), work = 0;
	prune_ctx pc;
	knn_state s;
	float *xn = NULL;
	int prune = ood_pruning && n >= OOD_PRUNE_MIN, err, i, nth = vv_threads(), blas;
	struct finish_job job[OOD_MAX_THREADS];

	memset(&pc, 0, sizeof(pc));
	if (!inv)
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	/* our threads share the work, each calling single-threaded GEMMs */
	nth = nth > OOD_MAX_THREADS ? OOD_MAX_THREADS : nth;
	blas = vv_blas_serial_begin();
	inverse_norms(x, n, d, inv);
	if (!(xn = normalised_rows(x, n, d, NULL, inv))) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_inv;
	}
	if (prune && ((err = prune_ctx_init(&pc, xn, n, d, delta)) || (err = permute_rows(xn, n, d, pc.perm))))
		goto out_prune;
	if ((err = knn_state_init(&s, x, n, d, k, OOD_EXTRA, pc.perm)))
		goto out_prune;
	err = prune ? run_pruned(&s, xn, n, d, &pc, nth, &work) : run_symmetric(&s, xn, n, d, NULL, nth, &work);
	free(xn);
	xn = NULL;
	if (err)
		goto out_state;
	ood_pruned = prune ? 1.0 - work / ((double)n * (double)n) : 0;
	for (i = 0; i < nth; i++)
		job[i] = (struct finish_job){ .s = &s, .x = x, .d = d, .k = k, .inv = inv, .delta = delta,
					      .avg = avg, .p0 = n * i / nth, .p1 = n * (i + 1) / nth };
	vv_run_parallel(finish_thread, job, sizeof(*job), nth);
	for (i = 0; i < nth; i++)
		if (job[i].redo < 0)
			err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
out_state:
	knn_state_free(&s);
out_prune:
	prune_ctx_free(&pc);
	free(xn);
out_inv:
	vv_blas_serial_end(blas);
	free(inv);
	return err;
}

int
analysis_ood_scores(const float *x, int64_t n, int64_t d, int k, int metric, int scale, double *scores,
		    double *avg_dist)
{
	int64_t kk = analysis_ood_k(n, k), i;
	double *avg = avg_dist, tol, denom = 1.0;
	int err;

	metric = analysis_ood_metric(metric, d);
	if (n < 2)
		return vv_error(VV_EINVAL, "outlier scores: need at least 2 samples (got %lld)", (long long)n);
	if (d < 1 || k < 0 || kk >= n)
		return vv_error(VV_EINVAL, "outlier scores: k=%lld must be below the number of samples %lld",
				(long long)kk, (long long)n);
	if (n > INT32_MAX || kk > INT32_MAX - OOD_EXTRA || d > INT32_MAX)
		return vv_error(VV_EUNSUPPORTED, "outlier scores: %lld x %lld is too large", (long long)n,
				(long long)d);
	if (metric != ANALYSIS_METRIC_COSINE && metric != ANALYSIS_METRIC_EUCLIDEAN)
		return vv_error(VV_EINVAL, "outlier scores: unknown metric %d", metric);
	if (!avg && !(avg = malloc((size_t)n * sizeof(*avg))))
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
	if (metric == ANALYSIS_METRIC_COSINE) {
		if ((err = cosine_avg(x, n, d, kk, avg)))
			goto out_avg;
	} else {
		knn_state s;
		int blas;

		if ((err = knn_state_init(&s, x, n, d, kk, 0, NULL)))
			goto out_avg;
		blas = vv_blas_serial_begin(); /* same GEMM tiles, same neighbours */
		err = run_euclidean(&s, x, n, d);
		vv_blas_serial_end(blas);
		/* duplicates contribute zeros; the heap holds the nearest others in double */
		for (i = 0; !err && i < n; i++) {
			const int32_t *hi = s.hidx + i * s.k;
			double sum = 0;
			int32_t j;

			for (j = 0; j < s.cnt[i]; j++)
				sum += exact_distance(x, d, i, hi[j], metric, NULL);
			avg[i] = sum / (double)kk;
		}
		knn_state_free(&s);
		if (err)
			goto out_avg;
	}
	if (scale == ANALYSIS_OOD_MEDIAN) {
		double med = analysis_median(avg, n);

		denom = med > 100 * EPS64 ? med : 100 * EPS64;
	}
	tol = metric == ANALYSIS_METRIC_COSINE ? 100 * EPSNEG64 : sqrt(100 * EPS64);
	for (i = 0; i < n; i++)
		scores[i] = avg[i] < tol ? 1.0 : exp(-avg[i] / denom);
out_avg:
	if (avg != avg_dist)
		free(avg);
	return err;
}
