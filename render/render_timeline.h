/*
 * render_timeline.h - where the animation is at a given time.
 *
 * Each checkpoint owns `spc` seconds.  The first checkpoint's time is a
 * still; in checkpoint i's time (i >= 1) the dots, the loss curve and the
 * outlier column move from checkpoint i-1 to i during the first
 * RENDER_MOTION_FRACTION of it (smoothstep ease), then rest.  After the last
 * checkpoint the final frame is held for `hold` seconds.
 */
#ifndef RENDER_TIMELINE_H
#define RENDER_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#define RENDER_MOTION_FRACTION 0.7

typedef struct render_time {
	int from;   /* checkpoint moved away from */
	int to;     /* checkpoint moved to (the one the title names) */
	double mix; /* eased progress from `from` to `to`, 0..1 */
} render_time;

/* Total seconds: T * spc + hold. */
double render_timeline_seconds(size_t T, double spc, double hold);

/* Frames at `fps`: round(seconds * fps), at least 1. */
int64_t render_timeline_frames(size_t T, double spc, double hold, double fps);

/* The state at `t` seconds from the start (clamped to the timeline). */
void render_timeline_at(size_t T, double spc, double t, render_time *out);

/* Smoothstep 3u^2 - 2u^3 of u clamped to [0, 1]. */
double render_ease(double u);

#endif
