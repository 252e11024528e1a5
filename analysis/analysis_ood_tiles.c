/* analysis_ood_tiles.c - the outlier search's passes over all pairs (see analysis_ood_tiles.h). */
#include "analysis/analysis_ood_tiles.h"
#include "common/vv_error.h"
#include "common/vv_thread.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* One thread of the symmetric pass. */
typedef struct sym_worker {
	analysis_ood_knn *s;   /* heaps, updated under lock */
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
		analysis_ood_knn_update_cosine(w->s, w->sim, i0, bi, j0, bj);
		pthread_mutex_unlock(w->lock);
		w->work += (double)bi * bj * (i0 == j0 ? 1 : 2);
	}
	return NULL;
}

/*
 * All pairs i < j through symmetric float32 tiles, skipping tiles whose rows
 * are all finished (their bars are -inf, see analysis_ood_run_pruned()).  The tiles are
 * shared by nth threads, each computing its GEMMs (OpenBLAS set to one
 * thread by the caller) and updating the heaps under a lock.  Adds the
 * similarities computed to *work (2 per off-diagonal pair).
 */
int
analysis_ood_run_symmetric(analysis_ood_knn *s, const float *xn, int64_t n, int64_t d, const uint8_t *fin,
			   int nth, double *work)
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

int
analysis_ood_run_euclidean(analysis_ood_knn *s, const float *x, int64_t n, int64_t d)
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

			analysis_ood_knn_update_euclidean(s, x, xd, sq, gram, d, i0, bi, j0, bj);
		}
	}
out_free:
	free(gram);
	free(sq);
	free(xd);
	return err;
}
