/*
 * render_issues.h - the thumbnail column as the run's likely label issues
 * (`--top label-issue`) instead of each checkpoint's outliers: the same
 * samples at every frame, the highest label_issue of WORK/dynamics.npy
 * first, each captioned with its given label and the class the model
 * predicted most often instead (its usual prediction).
 */
#ifndef RENDER_ISSUES_H
#define RENDER_ISSUES_H

#include "render/render_inputs.h"

/*
 * Replace the top list of every frame of `in` (loaded from `workdir`) by
 * the run's top RENDER_MAX_TOP label issues.  No dynamics.npy:
 * VV_ENOTFOUND; no label metrics: VV_EUNSUPPORTED.
 */
int render_issues_apply(const char *workdir, render_inputs *in);

#endif
