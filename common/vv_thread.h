/*
 * vv_thread.h - run n jobs on n threads, the caller's included.
 *
 * The forward pass and the outlier search both split their work into a few
 * equal parts, each run with single-threaded OpenBLAS; this is the one
 * place that starts and joins those threads.
 */
#ifndef VV_THREAD_H
#define VV_THREAD_H

#include <stddef.h>

/* Most threads vv_run_parallel() starts; further jobs run in the caller. */
#define VV_MAX_THREADS 64

/*
 * fn(args + i * size) for every i < n: job 0 in the calling thread, the
 * others on threads of their own; a job whose thread cannot be started
 * runs in the caller afterwards.  Returns once every job has finished.
 */
void vv_run_parallel(void *(*fn)(void *), void *args, size_t size, int n);

#endif
