/* vv_log.c - stderr messages and progress lines. */
#include "common/vv_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int vv_verbosity = 1;

struct vv_progress {
	char label[64];   /* what is being counted, e.g. "checkpoint-500" */
	char unit[16];    /* "img", "frames" */
	int64_t total;    /* expected units, 0 if unknown */
	int64_t done;     /* units finished so far */
	double t0;        /* start time */
	double last_draw; /* time of the last redraw */
};

static void
vlog(int level, const char *prefix, const char *fmt, va_list ap)
{
	if (vv_verbosity < level)
		return;
	fprintf(stderr, "vitviz: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
vv_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(1, "warning: ", fmt, ap);
	va_end(ap);
}

void
vv_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(1, "", fmt, ap);
	va_end(ap);
}

void
vv_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, "", fmt, ap);
	va_end(ap);
}

double
vv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

vv_progress *
vv_progress_alloc(const char *label, int64_t total, const char *unit)
{
	vv_progress *p;

	if (vv_verbosity < 1 || !isatty(STDERR_FILENO))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->label, sizeof(p->label), "%s", label);
	snprintf(p->unit, sizeof(p->unit), "%s", unit);
	p->total = total;
	p->t0 = vv_now();
	return p;
}

static void
draw(vv_progress *p, double now)
{
	double el = now - p->t0, rate = el > 0 ? p->done / el : 0;
	char eta[32] = "";

	if (p->total > 0 && rate > 0 && p->done < p->total) {
		int s = (int)((p->total - p->done) / rate + 0.5);

		snprintf(eta, sizeof(eta), "  ETA %d:%02d", s / 60, s % 60);
	}
	if (p->total > 0)
		fprintf(stderr, "\r\033[K%s  %lld/%lld %s  %.1f %s/s%s", p->label,
			(long long)p->done, (long long)p->total, p->unit, rate, p->unit, eta);
	else
		fprintf(stderr, "\r\033[K%s  %lld %s  %.1f %s/s", p->label,
			(long long)p->done, p->unit, rate, p->unit);
	fflush(stderr);
	p->last_draw = now;
}

void
vv_progress_update(vv_progress *p, int64_t done)
{
	double now;

	if (!p)
		return;
	p->done = done;
	now = vv_now();
	if (now - p->last_draw >= 0.1)
		draw(p, now);
}

void
vv_progress_free(vv_progress **pp)
{
	if (!*pp)
		return;
	draw(*pp, vv_now());
	fputc('\n', stderr);
	free(*pp);
	*pp = NULL;
}
