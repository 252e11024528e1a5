/* vv_thread.c - run n jobs on n threads (see vv_thread.h). */
#include "common/vv_thread.h"

#include <pthread.h>

void
vv_run_parallel(void *(*fn)(void *), void *args, size_t size, int n)
{
	pthread_t tid[VV_MAX_THREADS];
	int started[VV_MAX_THREADS] = { 0 }, i;

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
}
