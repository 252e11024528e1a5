/* vv_thread.c - worker threads and OpenBLAS's thread count (see vv_thread.h). */
#include "common/vv_thread.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>

static int nthreads;      /* vitviz's workers; 0 until vv_threads_set() */
static int blas_default;  /* OpenBLAS's count before vv_threads_set() changed it */

int
vv_threads(void)
{
	int n = nthreads ? nthreads : openblas_get_num_threads();

	return n < 1 ? 1 : n > VV_MAX_THREADS ? VV_MAX_THREADS : n;
}

void
vv_threads_set(int n)
{
	if (!blas_default)
		blas_default = openblas_get_num_threads();
	if (n <= 0)
		n = blas_default;
	nthreads = n < 1 ? 1 : n > VV_MAX_THREADS ? VV_MAX_THREADS : n;
	openblas_set_num_threads(1);
}

int
vv_blas_serial_begin(void)
{
	int saved = openblas_get_num_threads();

	if (saved != 1)
		openblas_set_num_threads(1);
	return saved;
}

void
vv_blas_serial_end(int saved)
{
	if (saved != 1)
		openblas_set_num_threads(saved);
}

void
vv_run_parallel(void *(*fn)(void *), void *args, size_t size, int n)
{
	pthread_t tid[VV_MAX_THREADS];
	int started[VV_MAX_THREADS] = { 0 }, i, saved = vv_blas_serial_begin();

	for (i = 1; i < n && i < VV_MAX_THREADS; i++)
		started[i] = !pthread_create(&tid[i], NULL, fn, (char *)args + (size_t)i * size);
	if (n > 0)
		fn(args);
	for (i = 1; i < n; i++) {
		if (i < VV_MAX_THREADS && started[i])
			pthread_join(tid[i], NULL);
		else
			fn((char *)args + (size_t)i * size); /* no thread: run it here */
	}
	vv_blas_serial_end(saved);
}

/* One worker of vv_run_tiles(). */
typedef struct tile_worker {
	void (*fn)(void *ctx, int64_t tile, int worker); /* the tile function */
	void *ctx;              /* its context */
	int64_t ntiles;         /* tiles in all */
	atomic_llong *next;     /* next tile to take */
	int worker;             /* this worker's index */
} tile_worker;

static void *
tile_thread(void *arg)
{
	tile_worker *w = arg;
	int64_t t;

	while ((t = atomic_fetch_add(w->next, 1)) < w->ntiles)
		w->fn(w->ctx, t, w->worker);
	return NULL;
}

void
vv_run_tiles(void (*fn)(void *ctx, int64_t tile, int worker), void *ctx, int64_t ntiles,
	     int nworkers)
{
	tile_worker w[VV_MAX_THREADS];
	atomic_llong next;
	int i, n = nworkers < 1 ? 1 : nworkers > VV_MAX_THREADS ? VV_MAX_THREADS : nworkers;

	if (ntiles <= 0)
		return;
	if (n > ntiles)
		n = (int)ntiles;
	atomic_init(&next, 0);
	for (i = 0; i < n; i++)
		w[i] = (tile_worker){ .fn = fn, .ctx = ctx, .ntiles = ntiles, .next = &next, .worker = i };
	vv_run_parallel(tile_thread, w, sizeof(*w), n);
}
