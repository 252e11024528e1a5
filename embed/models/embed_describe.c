/* embed_describe.c - `vitviz info`: checkpoints, formats, model, loss source. */
#include "embed/models/embed_describe.h"
#include "embed/images/embed_preproc.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "embed/models/embed_timm.h"
#include "embed/models/embed_vit.h"

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

static void
print_model(const embed_vit_config *c, const embed_preproc *pp, FILE *out)
{
	fprintf(out, "  shape: %d layers, width %d, %d heads, MLP %d, patch %d, image %dx%d, "
		"%d prefix token(s), pool %s, LayerNorm eps %g\n", c->layers, c->hidden, c->heads,
		c->intermediate, c->patch, c->image_w, c->image_h, c->prefix_tokens,
		c->global_pool == EMBED_POOL_MEAN ? "avg" : "token", c->ln_eps);
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
print_labels(const embed_vit_config *c, int nl, FILE *out)
{
	int k;

	if (!nl) {
		fprintf(out, "  classifier: none\n");
		return;
	}
	fprintf(out, "  classifier: %d outputs", nl);
	if (c->id2label && c->num_labels == nl) {
		fprintf(out, ":");
		for (k = 0; k < nl && k < 20; k++)
			fprintf(out, " %s", c->id2label[k]);
		fprintf(out, "%s", nl > 20 ? " ..." : "");
	} else {
		fprintf(out, " (no label names)");
	}
	fprintf(out, "\n");
}

/* The model part of an HF checkpoint folder. */
static int
hf_model(const embed_ckpt *ck, embed_vit_config **pc, embed_preproc *pp, FILE *out)
{
	char *cfg = vv_path_join(ck->path, "config.json");
	char *ppc = vv_path_join(ck->path, "preprocessor_config.json");
	int err;

	if (!cfg || !ppc) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out;
	}
	err = embed_vit_config_load(cfg, pc);
	if (!err)
		err = embed_preproc_load(ppc, *pc, pp);
	if (!err)
		fprintf(out, "  model: %s (%s)\n", (*pc)->n_arch ? (*pc)->architectures[0] : "ViT",
			cfg);
out:
	free(cfg);
	free(ppc);
	return err;
}

int
embed_describe(const embed_ckpt_list *l, FILE *out)
{
	const embed_ckpt *ck;
	const embed_registry_entry *e;
	embed_vit_config *c = NULL;
	embed_tensors *t = NULL;
	embed_vit *vit = NULL;
	embed_preproc pp;
	embed_pt_info info;
	const char *name;
	int err, src, timm;

	print_checkpoints(l, out);
	if (!l->n)
		return 0;
	ck = &l->v[l->n - 1];
	timm = ck->format == EMBED_CKPT_TIMM;
	fprintf(out, "last checkpoint %s (%s):\n", ck->name, ck->weights);
	err = embed_ckpt_load(ck, &t, &info);
	if (err)
		goto out_check;
	print_weights(t, &info, out);
	if (timm) {
		err = embed_timm_arch(ck, &info, &e, &name, &src);
		if (err)
			goto out_check;
		fprintf(out, "  architecture: %s (%s from %s)\n", e->name, name,
			embed_arch_source_name(src));
		err = embed_timm_config(ck, e, t, &c, &pp);
	} else {
		err = hf_model(ck, &c, &pp, out);
	}
	if (err)
		goto out_check;
	print_model(c, &pp, out);
	err = embed_vit_build(c, t, timm ? &embed_vit_naming_timm : &embed_vit_naming_hf,
			      ck->weights, &vit);
	if (err)
		goto out_check;
	print_labels(c, embed_vit_num_labels(vit), out);
	fprintf(out, "  check: the weights build the model\n");
out_check:
	if (err)
		fprintf(out, "  check: %s\n", vv_errmsg());
	embed_vit_free(&vit);
	embed_vit_config_free(&c);
	embed_tensors_free(&t);
	embed_pt_info_reset(&info);
	return err;
}
