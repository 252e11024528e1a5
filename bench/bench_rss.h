/*
 * bench_rss.h - peak resident set of the benchmark drivers' own process
 * (VmHWM), shared by vit_bench, swin_bench and hybrid_bench.  Header-only:
 * every bench/<name>.c is a program of its own (bench.mk).
 */
#ifndef BENCH_RSS_H
#define BENCH_RSS_H

#include <stdio.h>

/* VmHWM (peak resident set) in MiB, -1 when unknown. */
static inline double
bench_peak_rss_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

/* Start a new peak from the current resident set (clear_refs 5). */
static inline void
bench_reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

#endif
