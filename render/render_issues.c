/* render_issues.c - the run's top label issues as the thumbnail column. */
#include "render/render_issues.h"
#include "analysis/analysis_dynamics_stage.h"
#include "common/vv_error.h"

#include <stdlib.h>

int
render_issues_apply(const char *workdir, render_inputs *in)
{
	analysis_dyn_table *t = NULL;
	int32_t *order = NULL;
	size_t f;
	int j, ntop, err;

	if ((err = analysis_dyn_table_load(workdir, (int64_t)in->n, &t)))
		return err;
	if (!t->label_metrics) {
		err = vv_error(VV_EUNSUPPORTED, "%s: --top label-issue needs the label metrics of dynamics.npy, which "
						"need a classifier head at every checkpoint", workdir);
		goto out_free;
	}
	if (!(order = malloc(in->n * sizeof(*order)))) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((err = analysis_dyn_table_order(t, ANALYSIS_DYN_LABEL_ISSUE_RANK, 0, order)))
		goto out_free;
	ntop = in->n < RENDER_MAX_TOP ? (int)in->n : RENDER_MAX_TOP;
	for (f = 0; f < in->T; f++) {
		render_frame_info *fr = &in->frames[f];

		fr->ntop = ntop;
		for (j = 0; j < ntop; j++) {
			int32_t i = order[j];
			float up = analysis_dyn_at(t, i, ANALYSIS_DYN_USUAL_PREDICTION);

			fr->top[j] = (render_top){ .index = i,
						   .score = analysis_dyn_at(t, i, ANALYSIS_DYN_LABEL_ISSUE),
						   .label = in->samples->label[i],
						   .predicted = up >= 0 && up < in->man->nclasses ? (int)up : -1 };
		}
	}
	in->top_label_issues = 1;
out_free:
	free(order);
	analysis_dyn_table_free(&t);
	return err;
}
