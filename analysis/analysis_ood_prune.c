/* analysis_ood_prune.c - exact pruning of the cosine outlier search (see analysis_ood_prune.h). */
#include "analysis/analysis_ood_prune.h"
#include "analysis/analysis_ood.h"
#include "analysis/analysis_ood_tiles.h"
#include "common/vv_error.h"
#include "common/vv_thread.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

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

void
analysis_ood_prune_free(analysis_ood_prune *p)
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
 * Orthonormal basis q (returned count c rows of d) of the nc centroids cent
 * (Gram-Schmidt, twice), dependent ones dropped.
 */
static int64_t
orthonormal_basis(const float *cent, int64_t nc, int64_t d, double *q)
{
	int64_t c = 0, i, j, l;

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
	return c;
}

/*
 * Coordinates in the basis q (c rows): cq[j * nc + i] of every centroid j
 * (double), af (n x c) of every unit row (float32 GEMM against qf, q in
 * float); then each row's nearest centroid lab[] and its similarity best[].
 */
static void
nearest_centroids(const float *xn, int64_t n, int64_t d, const float *cent, int64_t nc, const double *q,
		  int64_t c, float *qf, double *cq, float *af, int32_t *lab, double *best)
{
	int64_t i, j, l;

	for (i = 0; i < c * d; i++)
		qf[i] = (float)q[i];
	for (j = 0; j < nc; j++)
		for (i = 0; i < c; i++) {
			double dot = 0;

			for (l = 0; l < d; l++)
				dot += (double)cent[j * d + l] * q[i * d + l];
			cq[j * nc + i] = dot;
		}
	if (c > 0)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)c, (blasint)d, 1.0f, xn,
			    (blasint)d, qf, (blasint)d, 0.0f, af, (blasint)c);
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
}

/*
 * Clusters in a chain of nearest centroids (rank[] of each), so that the
 * clusters one row block needs tend to be adjacent: longer runs of tiles
 * per GEMM.  lab[] becomes each row's rank, nc for rows far from every
 * centroid (best below half the median), which go last.
 */
static void
chain_clusters(const double *cq, int64_t nc, int64_t c, const double *best, int64_t n, int32_t *rank,
	       int32_t *lab)
{
	double med = analysis_median(best, n);
	int64_t cur = 0, r, i, j, l;

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

/*
 * Rows in label order (a counting sort, stable): perm, and start[j] the
 * first working row of label j (nc + 2 entries, start[nc + 1] = n); pos is
 * nc + 1 entries of scratch.
 */
static void
group_rows(const int32_t *lab, int64_t n, int64_t nc, int64_t *start, int64_t *pos, int32_t *perm)
{
	int64_t i, j;

	for (i = 0; i < n; i++)
		start[lab[i] + 1]++;
	for (j = 0; j <= nc; j++)
		start[j + 1] += start[j];
	for (j = 0; j <= nc; j++)
		pos[j] = start[j];
	for (i = 0; i < n; i++)
		perm[pos[lab[i]]++] = (int32_t)i;
}

/* Permuted row bound terms: [a, |a|] of every working row, and rn >= |r|. */
static void
row_bounds(analysis_ood_prune *p, const float *af, int64_t n, int64_t d, double eps)
{
	const int64_t c = p->c;
	int64_t i, l;

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
}

/*
 * Column tiles and row blocks, each within one label's segment
 * start[j]..start[j + 1]; then each tile's box terms: the bounding box of
 * its coefficients [centre, half width], the width grown by eps for the
 * exact coefficients; tr >= |r_y| over the tile; te covers a row's own
 * coefficient error: eps (|centre|_1 + |half width|_1).  VV_ENOMEM.
 */
static int
tile_bounds(analysis_ood_prune *p, const int64_t *start, int64_t nc, int64_t n, double eps)
{
	const int64_t c = p->c;
	int64_t i, j, l, t, b;

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
	if (!p->tm || !p->tr || !p->te)
		return vv_error(VV_ENOMEM, "outlier scores: out of memory");
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
	return 0;
}

/*
 * Cluster the unit rows xn (float32, the caller's order), order them by
 * cluster (rows far from every centroid last), and compute the bound terms
 * of every row and tile.  The coefficients come from a float32 GEMM; eps
 * bounds the error of each against the exact a = Q^T x/|x| (the GEMM error
 * (d u) plus the roundings of x/|x| and of Q to float, u = 2^-24), and every
 * bound term is widened by it.
 */
int
analysis_ood_prune_init(analysis_ood_prune *p, const float *xn, int64_t n, int64_t d, double eps)
{
	int64_t nc = n / 128, c;
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
	c = p->c = orthonormal_basis(cent, nc, d, q);
	nearest_centroids(xn, n, d, cent, nc, q, c, qf, cq, af, lab, best);
	chain_clusters(cq, nc, c, best, n, rank, lab);
	group_rows(lab, n, nc, start, pos, p->perm);
	p->a = malloc((size_t)(n * 2 * (c ? c : 1)) * sizeof(*p->a));
	p->rn = malloc((size_t)n * sizeof(*p->rn));
	/* at most one partial tile / block per segment */
	p->tile = malloc((size_t)(n / OOD_CTILE + nc + 3) * sizeof(*p->tile));
	p->blk = malloc((size_t)(n / OOD_BLOCK + nc + 3) * sizeof(*p->blk));
	if (!p->a || !p->rn || !p->tile || !p->blk) {
		err = vv_error(VV_ENOMEM, "outlier scores: out of memory");
		goto out_free;
	}
	row_bounds(p, af, n, d, eps);
	err = tile_bounds(p, start, nc, n, eps);
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
		analysis_ood_prune_free(p);
	return err;
}

/* Put the rows of xn in the working order perm (in place, by cycles). */
int
analysis_ood_permute_rows(float *xn, int64_t n, int64_t d, const int32_t *perm)
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
	analysis_ood_knn *s;   /* heaps: a block's rows are written by its worker only */
	const float *xn;       /* unit rows, working order */
	int64_t d;             /* width */
	const analysis_ood_prune *p; /* clusters and bound terms */
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
prune_worker_init(prune_worker *w, analysis_ood_knn *s, const float *xn, int64_t d, const analysis_ood_prune *p)
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
	analysis_ood_knn *s = w->s;
	const analysis_ood_prune *p = w->p;
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
		analysis_ood_knn_update_rows(s, sim, r0, bi, colidx, ncols);
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
int
analysis_ood_run_pruned(analysis_ood_knn *s, const float *xn, int64_t n, int64_t d, const analysis_ood_prune *p,
			int nth, double *work)
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
				analysis_ood_knn_close(s, i);
		err = analysis_ood_run_symmetric(s, xn, n, d, fin, nth, work);
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
