/* embed_describe.c - `vitviz info`: checkpoints, formats, model, loss source. */
#include "embed/models/embed_describe.h"
#include "embed/images/embed_preproc.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "embed/models/embed_timm.h"
#include "embed/models/embed_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *
resample_name(int r)
{
	switch (r) {
	case EMBED_RESAMPLE_NEAREST: return "nearest";
	case EMBED_RESAMPLE_LANCZOS: return "lanczos";
	case EMBED_RESAMPLE_BILINEAR: return "bilinear";
	case EMBED_RESAMPLE_BICUBIC: return "bicubic";
	case EMBED_RESAMPLE_BOX: return "box";
	case EMBED_RESAMPLE_HAMMING: return "hamming";
	default: return "?";
	}
}

static void
print_checkpoints(const embed_ckpt_list *l, FILE *out)
{
	size_t i;

	fprintf(out, "%zu checkpoint(s):\n", l->n);
	fprintf(out, "  %-28s %10s %8s  %-12s %10s\n", "name", "step", "epoch", "format", "size");
	for (i = 0; i < l->n; i++) {
		const embed_ckpt *ck = &l->v[i];
		int64_t sz = vv_file_size(ck->weights);
		double ep = embed_ckpt_epoch(ck);
		char epoch[32] = "-", step[32] = "-";

		if (!isnan(ep))
			snprintf(epoch, sizeof(epoch), "%.2f", ep);
		if (ck->step >= 0)
			snprintf(step, sizeof(step), "%lld", (long long)ck->step);
		fprintf(out, "  %-28s %10s %8s  %-12s %7.1f MB\n", ck->name, step, epoch,
			embed_ckpt_format_name(ck->format), sz > 0 ? sz / 1048576.0 : 0.0);
	}
	fprintf(out, "loss curve: %s%s%s\n", l->loss_kind ? l->loss_kind : "none found",
		l->loss_path ? " " : "", l->loss_path ? l->loss_path : "");
	if (l->args_path)
		fprintf(out, "args.yaml: %s (model: %s)\n", l->args_path,
			l->args && l->args->model ? l->args->model : "none");
}

/* Weights: tensors, parameters, the dtypes stored. */
static void
print_weights(const embed_tensors *t, const embed_pt_info *info, FILE *out)
{
	unsigned seen = 0;
	long long params = 0;
	size_t i;
	int d, first = 1;

	for (i = 0; i < t->n; i++) {
		params += embed_tensor_numel(&t->v[i]);
		seen |= 1u << t->v[i].src_dtype;
	}
	fprintf(out, "  weights: %zu tensors, %lld parameters (%.2fM), dtype ", t->n, params,
		params / 1e6);
	for (d = 0; d <= EMBED_DT_OTHER; d++)
		if (seen & (1u << d)) {
			fprintf(out, "%s%s", first ? "" : "+", embed_dtype_name((embed_dtype)d));
			first = 0;
		}
	if (first)
		fprintf(out, "-");
	if (info && info->used_ema)
		fprintf(out, ", EMA weights");
	if (info && info->epoch >= 0)
		fprintf(out, ", saved at epoch %lld", (long long)info->epoch);
	fprintf(out, "\n");
}

/* The family's shape keys as "key value, ..." */
static void
print_shape(const embed_model *m, FILE *out)
{
	cJSON *j = cJSON_CreateObject(), *it;
	int first = 1;

	if (!j)
		return;
	embed_model_describe(m, j);
	fprintf(out, "  shape:");
	cJSON_ArrayForEach(it, j) {
		const char *k = it->string;

		if (!strcmp(k, "family") || !strcmp(k, "name") || !strcmp(k, "architecture") ||
		    !strcmp(k, "num_labels"))
			continue;
		fprintf(out, "%s %s ", first ? "" : ",", k);
		first = 0;
		if (cJSON_IsNumber(it))
			fprintf(out, "%g", it->valuedouble);
		else if (cJSON_IsString(it))
			fprintf(out, "%s", it->valuestring);
		else if (cJSON_IsBool(it))
			fprintf(out, "%s", cJSON_IsTrue(it) ? "true" : "false");
		else if (cJSON_IsArray(it)) {
			const cJSON *e;
			int f2 = 1;

			fprintf(out, "(");
			cJSON_ArrayForEach(e, it) {
				fprintf(out, "%s%g", f2 ? "" : ", ", e->valuedouble);
				f2 = 0;
			}
			fprintf(out, ")");
		}
	}
	fprintf(out, "\n");
	cJSON_Delete(j);
}

static void
print_preproc(const embed_preproc *pp, FILE *out)
{
	fprintf(out, "  preprocessing: ");
	if (!pp->do_resize)
		fprintf(out, "no resize");
	else if (pp->resize_shortest)
		fprintf(out, "shorter side to %d", pp->shortest);
	else
		fprintf(out, "resize to %dx%d", pp->size_w, pp->size_h);
	if (pp->do_resize)
		fprintf(out, " (%s)", resample_name(pp->resample));
	if (pp->do_crop)
		fprintf(out, ", centre crop %dx%d", pp->crop_w, pp->crop_h);
	if (pp->do_normalize)
		fprintf(out, ", mean (%.4g, %.4g, %.4g), std (%.4g, %.4g, %.4g)", pp->mean[0],
			pp->mean[1], pp->mean[2], pp->std[0], pp->std[1], pp->std[2]);
	fprintf(out, "\n");
}

static void
print_labels(const embed_model_info *c, FILE *out)
{
	int k, nl = c->num_labels;

	if (!nl) {
		fprintf(out, "  classifier: none\n");
		return;
	}
	fprintf(out, "  classifier: %d outputs:", nl);
	for (k = 0; k < nl && k < 20; k++)
		fprintf(out, " %s", c->id2label[k]);
	fprintf(out, "%s\n", nl > 20 ? " ..." : "");
}

int
embed_describe(const embed_ckpt_list *l, FILE *out)
{
	const embed_ckpt *ck;
	const embed_registry_entry *e;
	const embed_model_info *mi;
	embed_tensors *t = NULL;
	embed_model *m = NULL;
	embed_pt_info info;
	const char *name;
	int err, src;

	print_checkpoints(l, out);
	if (!l->n)
		return 0;
	ck = &l->v[l->n - 1];
	fprintf(out, "last checkpoint %s (%s):\n", ck->name, ck->weights);
	err = embed_ckpt_load(ck, &t, &info);
	if (err)
		goto out_check;
	print_weights(t, &info, out);
	embed_tensors_free(&t);
	if (ck->format == EMBED_CKPT_TIMM) {
		err = embed_timm_arch(ck, &info, &e, &name, &src);
		if (!err)
			fprintf(out, "  architecture: %s (%s from %s)\n", e->name, name,
				embed_arch_source_name(src));
		else if (src >= 0)
			goto out_check;
		else
			fprintf(out, "  architecture: none named; from the tensor names\n");
	}
	err = embed_model_open(ck, &m);
	if (err)
		goto out_check;
	mi = embed_model_get_info(m);
	fprintf(out, "  model: %s (family %s%s%s)\n", mi->name, mi->family,
		mi->arch[0] ? ", " : "", mi->arch);
	print_shape(m, out);
	print_preproc(&mi->pp, out);
	print_labels(mi, out);
	fprintf(out, "  check: the weights build the model\n");
out_check:
	if (err)
		fprintf(out, "  check: %s\n", vv_errmsg());
	embed_model_free(&m);
	embed_tensors_free(&t);
	embed_pt_info_reset(&info);
	return err;
}
