/* analysis_out.c - frames.csv, loss.csv and analysis.json. */
#include "analysis/analysis_out.h"
#include "analysis/analysis_input.h"
#include "common/vv_csv.h"

#include <math.h>
#include <stdlib.h>

void
analysis_put_number(FILE *fp, double v)
{
	char buf[40];

	if (isnan(v)) {
		fputs("nan", fp);
		return;
	}
	if (isinf(v)) {
		fputs(v < 0 ? "-inf" : "inf", fp);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, fp);
}

/* A known value as a JSON number; NaN, Inf and unknown become null. */
static cJSON *
json_num(double v, int known)
{
	return known && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

cJSON *
analysis_opts_json(const analysis_opts *o)
{
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "align", analysis_align_name(o->align));
	cJSON_AddNumberToObject(j, "k", o->k);
	cJSON_AddStringToObject(j, "metric", analysis_metric_name(o->metric));
	cJSON_AddStringToObject(j, "ood_scale", analysis_ood_scale_name(o->ood_scale));
	cJSON_AddNumberToObject(j, "top", o->top);
	if (o->loss_file)
		cJSON_AddStringToObject(j, "loss_file", o->loss_file);
	else
		cJSON_AddNullToObject(j, "loss_file");
	return j;
}

void
analysis_write_frames(FILE *fp, const analysis_summary *s)
{
	size_t i;

	fputs("checkpoint,step,epoch,loss,disparity" VV_CSV_EOL, fp);
	for (i = 0; i < s->nframes; i++) {
		const analysis_frame *f = &s->frames[i];

		vv_csv_field(fp, f->ckpt->name);
		fputc(',', fp);
		if (f->ckpt->step >= 0)
			fprintf(fp, "%lld", (long long)f->ckpt->step);
		fputc(',', fp);
		if (!isnan(f->epoch))
			analysis_put_number(fp, f->epoch);
		fputc(',', fp);
		if (f->loss)
			analysis_put_number(fp, f->loss->loss);
		fputc(',', fp);
		analysis_put_number(fp, f->disparity);
		vv_csv_eol(fp);
	}
}

void
analysis_write_loss(FILE *fp, const analysis_loss_log *l)
{
	static const unsigned bits[4] = { ANALYSIS_LOSS_HAS_EPOCH, ANALYSIS_LOSS_HAS_LOSS, ANALYSIS_LOSS_HAS_EVAL,
					  ANALYSIS_LOSS_HAS_LR };
	size_t i;
	int c;

	fputs("step,epoch,loss,eval_loss,learning_rate" VV_CSV_EOL, fp);
	for (i = 0; l && i < l->n; i++) {
		const analysis_loss_point *p = &l->pt[i];
		double v[4] = { p->epoch, p->loss, p->eval_loss, p->lr };

		fprintf(fp, "%lld", (long long)p->step);
		for (c = 0; c < 4; c++) {
			fputc(',', fp);
			if (p->has & bits[c])
				analysis_put_number(fp, v[c]);
		}
		vv_csv_eol(fp);
	}
}

static cJSON *
frame_json(const analysis_frame *f)
{
	cJSON *j = cJSON_CreateObject(), *top;
	size_t i;

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "checkpoint", f->ckpt->name);
	cJSON_AddItemToObject(j, "step", json_num((double)f->ckpt->step, f->ckpt->step >= 0));
	cJSON_AddItemToObject(j, "epoch", json_num(f->epoch, 1));
	cJSON_AddItemToObject(j, "loss", json_num(f->loss ? f->loss->loss : NAN, f->loss != NULL));
	cJSON_AddItemToObject(j, "eval_loss", json_num(f->eval ? f->eval->eval_loss : NAN, f->eval != NULL));
	cJSON_AddItemToObject(j, "disparity", json_num(f->disparity, 1));
	top = cJSON_AddArrayToObject(j, "top");
	for (i = 0; top && i < f->ntop; i++) {
		const analysis_top *t = &f->top[i];
		cJSON *e = cJSON_CreateObject();

		if (!e)
			break;
		cJSON_AddNumberToObject(e, "index", (double)t->index);
		cJSON_AddNumberToObject(e, "score", (double)t->score);
		cJSON_AddNumberToObject(e, "label", t->label);
		cJSON_AddNumberToObject(e, "predicted", t->predicted);
		cJSON_AddItemToArray(top, e);
	}
	return j;
}

cJSON *
analysis_summary_json(const analysis_summary *s)
{
	cJSON *root = cJSON_CreateObject(), *frames, *loss;
	size_t i;

	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "format", 1);
	cJSON_AddStringToObject(root, "align", s->align);
	cJSON_AddNumberToObject(root, "k", (double)s->k);
	cJSON_AddStringToObject(root, "metric", s->metric);
	cJSON_AddStringToObject(root, "ood_scale", s->ood_scale);
	cJSON_AddNumberToObject(root, "display_scale", s->display_scale);
	cJSON_AddBoolToObject(root, "has_logits", s->has_logits);
	if (s->loss_path) {
		loss = cJSON_AddObjectToObject(root, "loss");
		cJSON_AddStringToObject(loss, "kind", s->loss_kind);
		cJSON_AddStringToObject(loss, "path", s->loss_path);
	} else {
		cJSON_AddNullToObject(root, "loss");
	}
	cJSON_AddItemToObject(root, "options", analysis_opts_json(s->opts));
	frames = cJSON_AddArrayToObject(root, "frames");
	for (i = 0; frames && i < s->nframes; i++) {
		cJSON *f = frame_json(&s->frames[i]);

		if (!f)
			break;
		cJSON_AddItemToArray(frames, f);
	}
	if (!frames || i < s->nframes || !cJSON_GetObjectItemCaseSensitive(root, "options")) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

void
analysis_put_prediction(FILE *fp, const vv_manifest *m, size_t f, int32_t pred,
			int label, double quality)
{
	int match = m->ckpt[f].logits_match;

	fprintf(fp, ",%d,", pred);
	vv_csv_field(fp, analysis_class_name(m, f, pred));
	if (match)
		fprintf(fp, ",%d,", pred != label);
	else
		fputs(",,", fp);
	if (match && !isnan(quality))
		fprintf(fp, "%.9g", quality);
}
