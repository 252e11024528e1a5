/* analysis_report.c - `vitviz report`: the outliers of one checkpoint. */
#include "analysis/analysis_report.h"
#include "analysis/analysis_dynamics_stage.h"
#include "analysis/analysis_input.h"
#include "analysis/analysis_out.h"
#include "analysis/analysis_pred.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_npy.h"
#include "common/vv_work.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
analysis_report_opts_default(analysis_report_opts *o)
{
	o->top = 8;
	o->checkpoint_step = -1;
	o->out_path = NULL;
	o->by = ANALYSIS_REPORT_OUTLIER;
}

int
analysis_report_parse_by(const char *s, int *by)
{
	static const char *const names[] = { "outlier", "label-issue", "movement", "persistent-outlier" };
	int i;

	for (i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*by = i;
			return 0;
		}
	}
	return vv_error(VV_EINVAL, "--by must be outlier, label-issue, movement or persistent-outlier, not \"%s\"", s);
}

/* One value of a dynamics row: empty when unknown, integers without a fraction. */
static void
put_dyn(FILE *fp, float v, int integer)
{
	fputc(',', fp);
	if (isnan(v))
		return;
	if (integer)
		fprintf(fp, "%lld", (long long)v);
	else
		fprintf(fp, "%.7g", (double)v);
}

static void
write_dyn_rows(FILE *fp, const vv_manifest *m, const vv_samples *s, const analysis_dyn_table *t,
	       const int32_t *order, int64_t rows)
{
	static const int cols[] = { ANALYSIS_DYN_CONFIDENCE, ANALYSIS_DYN_VARIABILITY, ANALYSIS_DYN_CORRECTNESS,
				    ANALYSIS_DYN_AUM, ANALYSIS_DYN_FORGETTING, ANALYSIS_DYN_LEARNED_AT,
				    ANALYSIS_DYN_LABEL_ISSUE, ANALYSIS_DYN_MOVEMENT, ANALYSIS_DYN_PERSISTENT_OUTLIER };
	int64_t j;
	size_t c;

	fputs("rank,index,path,label,label_name", fp);
	for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		fprintf(fp, ",%s", analysis_dyn_col_name(cols[c]));
	fputs(",usual_prediction,usual_prediction_name" VV_CSV_EOL, fp);
	for (j = 0; j < rows; j++) {
		int32_t i = order[j];
		float up = analysis_dyn_at(t, i, ANALYSIS_DYN_USUAL_PREDICTION);

		fprintf(fp, "%lld,%d,", (long long)j + 1, i);
		vv_csv_field(fp, s->path[i]);
		fprintf(fp, ",%d,", s->label[i]);
		vv_csv_field(fp, s->label_name[i]);
		for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
			put_dyn(fp, analysis_dyn_at(t, i, cols[c]),
				cols[c] == ANALYSIS_DYN_FORGETTING || cols[c] == ANALYSIS_DYN_LEARNED_AT ||
					cols[c] == ANALYSIS_DYN_PERSISTENT_OUTLIER);
		if (up >= 0) {
			fprintf(fp, ",%d,", (int)up);
			vv_csv_field(fp, analysis_class_name(m, m->nckpt - 1, (int32_t)up));
		} else {
			fputs(",,", fp);
		}
		vv_csv_eol(fp);
	}
}

/* The report of a dynamics ranking. */
static int
report_dynamics(const char *workdir, const analysis_report_opts *o, const vv_manifest *m, const vv_samples *s)
{
	int64_t n = (int64_t)s->n, rows;
	analysis_dyn_table *t = NULL;
	int32_t *order = NULL;
	vv_outfile *of = NULL;
	int err;

	if ((err = analysis_dyn_table_load(workdir, n, &t)))
		return err;
	if (o->by == ANALYSIS_REPORT_LABEL_ISSUE && !t->label_metrics) {
		err = vv_error(VV_EUNSUPPORTED, "%s: no label metrics (they need logits of the dataset's classes at "
						"every checkpoint; see dynamics.json \"notes\")", workdir);
		goto out_free;
	}
	if (!(order = malloc((size_t)(n ? n : 1) * sizeof(*order)))) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	if (o->by == ANALYSIS_REPORT_LABEL_ISSUE)
		err = analysis_dyn_table_order(t, ANALYSIS_DYN_LABEL_ISSUE_RANK, 0, order);
	else
		err = analysis_dyn_table_order(t, o->by == ANALYSIS_REPORT_MOVEMENT ? ANALYSIS_DYN_MOVEMENT
										 : ANALYSIS_DYN_PERSISTENT_OUTLIER, 1, order);
	if (err)
		goto out_free;
	rows = o->top > 0 && o->top < n ? o->top : n;
	if (o->out_path) {
		if ((err = vv_outfile_open(&of, o->out_path)))
			goto out_free;
		write_dyn_rows(of->fp, m, s, t, order, rows);
		err = vv_outfile_commit(&of);
	} else {
		write_dyn_rows(stdout, m, s, t, order, rows);
		if (fflush(stdout) != 0 || ferror(stdout))
			err = vv_error(VV_EIO, "standard output: write failed");
	}
out_free:
	vv_outfile_abort(&of);
	free(order);
	analysis_dyn_table_free(&t);
	return err;
}

/* Index of the checkpoint at `step` (-1: the last). */
static int
find_checkpoint(const char *workdir, const vv_manifest *m, int64_t step, size_t *out)
{
	char list[256] = "";
	size_t i, len = 0;

	if (step < 0) {
		*out = m->nckpt - 1;
		return 0;
	}
	for (i = 0; i < m->nckpt; i++) {
		if (m->ckpt[i].step == step) {
			*out = i;
			return 0;
		}
		if (len < sizeof(list) - 24)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%lld", i ? ", " : "",
						(long long)m->ckpt[i].step);
	}
	return vv_error(VV_ENOTFOUND, "%s: no checkpoint at step %lld (steps: %s%s)", workdir, (long long)step, list,
			len >= sizeof(list) - 24 ? ", ..." : "");
}

static void
write_rows(FILE *fp, const vv_manifest *m, const vv_samples *s, size_t f, const float *sc, const int32_t *order,
	   int64_t rows, const int32_t *pred, const double *quality)
{
	int64_t j;

	fputs("rank,index,path,label,label_name,score", fp);
	fputs(pred ? ",predicted,predicted_name,misclassified,label_quality" VV_CSV_EOL : VV_CSV_EOL, fp);
	for (j = 0; j < rows; j++) {
		int32_t i = order[j];

		fprintf(fp, "%lld,%d,", (long long)j + 1, i);
		vv_csv_field(fp, s->path[i]);
		fprintf(fp, ",%d,", s->label[i]);
		vv_csv_field(fp, s->label_name[i]);
		fprintf(fp, ",%.9g", (double)sc[i]);
		if (pred)
			analysis_put_prediction(fp, m, f, pred[i], s->label[i], quality[i]);
		vv_csv_eol(fp);
	}
}

int
analysis_report(const char *workdir, const analysis_report_opts *o)
{
	vv_manifest *m = NULL;
	vv_samples *s = NULL;
	vv_array *sc = NULL, *lg = NULL;
	int32_t *order = NULL, *pred = NULL;
	double *quality = NULL;
	vv_outfile *of = NULL;
	char *path = NULL;
	int64_t n, rows;
	size_t f = 0;
	int err;

	if (o->top < 0)
		return vv_error(VV_EINVAL, "report: top must not be negative (got %d)", o->top);
	if ((err = vv_manifest_load(workdir, &m)))
		return err;
	if (m->nckpt == 0) {
		err = vv_error(VV_ENOTFOUND, "%s/manifest.json: lists no checkpoints", workdir);
		goto out_free;
	}
	if (o->by != ANALYSIS_REPORT_OUTLIER) {
		if (!(err = vv_samples_load(workdir, &s)))
			err = report_dynamics(workdir, o, m, s);
		goto out_free;
	}
	if ((err = find_checkpoint(workdir, m, o->checkpoint_step, &f)) || (err = vv_samples_load(workdir, &s)))
		goto out_free;
	n = (int64_t)s->n;
	if (!(path = vv_path_join(workdir, "scores.npy"))) {
		err = VV_ENOMEM;
		goto out_free;
	}
	if (!vv_is_file(path)) {
		err = vv_error(VV_ENOTFOUND, "%s: no outlier scores yet (run `vitviz analyze` first)", path);
		goto out_free;
	}
	if ((err = vv_npy_read(path, &sc)))
		goto out_free;
	if (sc->dtype != VV_F32 || sc->ndim != 2 || sc->shape[0] != (int64_t)m->nckpt || sc->shape[1] != n) {
		err = vv_error(VV_EMISMATCH, "%s: does not match manifest.json and samples.csv (%zu checkpoints x %lld "
					     "samples); run `vitviz analyze` again",
			       path, m->nckpt, (long long)n);
		goto out_free;
	}
	order = malloc((size_t)(n ? n : 1) * sizeof(*order));
	if (!order) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((err = analysis_rank((const float *)sc->data + f * (size_t)n, n, order)))
		goto out_free;
	if (m->ckpt[f].has_logits) {
		pred = malloc((size_t)(n ? n : 1) * sizeof(*pred));
		quality = malloc((size_t)(n ? n : 1) * sizeof(*quality));
		if (!pred || !quality) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
		if ((err = analysis_read_matrix(workdir, m, f, "logits", n, -1, &lg)) ||
		    (err = analysis_predict(lg->data, n, lg->shape[1], s->label, pred, quality)))
			goto out_free;
	}
	rows = o->top > 0 && o->top < n ? o->top : n;
	if (o->out_path) {
		if ((err = vv_outfile_open(&of, o->out_path)))
			goto out_free;
		write_rows(of->fp, m, s, f, (const float *)sc->data + f * (size_t)n, order, rows, pred, quality);
		err = vv_outfile_commit(&of);
	} else {
		write_rows(stdout, m, s, f, (const float *)sc->data + f * (size_t)n, order, rows, pred, quality);
		if (fflush(stdout) != 0 || ferror(stdout))
			err = vv_error(VV_EIO, "standard output: write failed");
	}
out_free:
	vv_outfile_abort(&of);
	free(quality);
	free(pred);
	free(order);
	vv_array_free(&lg);
	vv_array_free(&sc);
	free(path);
	vv_samples_free(&s);
	vv_manifest_free(&m);
	return err;
}
