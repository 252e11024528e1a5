/* render_timeline.c - checkpoints, easing and holds over time. */
#include "render/render_timeline.h"

#include <math.h>

double
render_ease(double u)
{
	u = u < 0 ? 0 : u > 1 ? 1 : u;
	return u * u * (3 - 2 * u);
}

double
render_timeline_seconds(size_t T, double spc, double hold)
{
	return (double)T * spc + hold;
}

int64_t
render_timeline_frames(size_t T, double spc, double hold, double fps)
{
	double n = floor(render_timeline_seconds(T, spc, hold) * fps + 0.5);

	return n < 1 ? 1 : (int64_t)n;
}

void
render_timeline_at(size_t T, double spc, double t, render_time *out)
{
	double seg = spc > 0 ? t / spc : (double)T;
	int i;

	if (T == 0 || !(seg > 0)) {
		out->from = out->to = 0;
		out->mix = 1;
		return;
	}
	if (seg >= (double)T) {
		out->from = out->to = (int)T - 1;
		out->mix = 1;
		return;
	}
	i = (int)floor(seg);
	out->to = i;
	out->from = i > 0 ? i - 1 : 0;
	out->mix = i > 0 ? render_ease((seg - i) / RENDER_MOTION_FRACTION) : 1;
}
