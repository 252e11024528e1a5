/*
 * vv_log.h - messages and progress on stderr.
 *
 * Verbosity is process-wide: --quiet sets 0 (errors only), the default is 1,
 * --verbose sets 2.  Progress lines (rate, ETA) are drawn only when stderr
 * is a terminal and verbosity is at least 1.
 */
#ifndef VV_LOG_H
#define VV_LOG_H

#include <stdint.h>

extern int vv_verbosity;

/* "vitviz: warning: ..." unless quiet. */
void vv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "vitviz: ..." at normal verbosity. */
void vv_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "vitviz: ..." only with --verbose. */
void vv_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic seconds. */
double vv_now(void);

typedef struct vv_progress vv_progress;

/*
 * Start a progress line "label  done/total unit  rate unit/s  ETA".
 * Returns NULL (and every other call is a no-op) when not drawing.
 */
vv_progress *vv_progress_alloc(const char *label, int64_t total, const char *unit);

/* Report `done` units finished; redraws at most ten times a second. */
void vv_progress_update(vv_progress *p, int64_t done);

/* Finish the line (final rate) and free *pp, setting it to NULL. */
void vv_progress_free(vv_progress **pp);

#endif
