/*
 * vv_thread.h - vitviz's worker threads, and the one place that sets
 * OpenBLAS's own thread count.
 *
 * Same output for any thread count: OpenBLAS's sgemm/dgemm results depend
 * on how the library splits a call over its own threads (Haswell and
 * generic kernels: measured, see tests/test_determinism.c) and on the
 * shape of the call (the rows one call covers decide which micro-kernel
 * edge paths a row goes through, on every kernel set).  So vitviz never
 * lets OpenBLAS thread a call: its own workers run fixed tiles of work,
 * each tile the same BLAS calls whatever the thread count, on
 * single-threaded OpenBLAS; results are combined in a fixed order.
 */
#ifndef VV_THREAD_H
#define VV_THREAD_H

#include <stddef.h>
#include <stdint.h>

/* Most threads vv_run_parallel() starts; further jobs run in the caller. */
#define VV_MAX_THREADS 64

/*
 * vitviz's worker count: what vv_threads_set() set, or, before any call of
 * it, OpenBLAS's own count (OPENBLAS_NUM_THREADS, else the cores), so that
 * a program using the library without the CLI keeps that knob.
 */
int vv_threads(void);

/*
 * Set the worker count to n (n <= 0: OpenBLAS's count when this is first
 * called: OPENBLAS_NUM_THREADS, else the cores; at most VV_MAX_THREADS) and
 * make OpenBLAS single-threaded for the rest of the process, so that BLAS
 * and LAPACK calls outside the workers (PCA, logits) compute the same
 * whatever n is.  The CLI calls it before any work.
 */
void vv_threads_set(int n);

/*
 * Make OpenBLAS single-threaded until the matching vv_blas_serial_end(),
 * which restores the count this returns.  Pairs may nest.
 */
int vv_blas_serial_begin(void);
void vv_blas_serial_end(int saved);

/*
 * fn(args + i * size) for every i < n: job 0 in the calling thread, the
 * others on threads of their own; a job whose thread cannot be started
 * runs in the caller afterwards.  OpenBLAS is single-threaded meanwhile
 * (restored on return).  Returns once every job has finished.
 */
void vv_run_parallel(void *(*fn)(void *), void *args, size_t size, int n);

/*
 * fn(ctx, tile, worker) for every tile < ntiles, on min(nworkers, ntiles)
 * workers (worker 0..nworkers-1; a worker runs one tile at a time, taking
 * the next free tile when done), OpenBLAS single-threaded meanwhile.  Which
 * worker runs a tile depends on timing: a tile's result must depend on the
 * tile only (each worker's scratch alike), never on the worker.
 */
void vv_run_tiles(void (*fn)(void *ctx, int64_t tile, int worker), void *ctx, int64_t ntiles,
		  int nworkers);

#endif
