/* embed_model.c - config + preprocessing + ViT of one checkpoint. */
#include "embed/models/embed_model.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "embed/models/embed_timm.h"

#include <stdio.h>
#include <stdlib.h>

struct embed_model {
	embed_vit_config *cfg; /* config.json, labels set to the head present */
	embed_preproc pp;      /* preprocessor_config.json or defaults */
	embed_vit *vit;        /* the network */
};

/* Make the config's labels describe the head the weights hold. */
static int
match_labels(embed_model *m, const char *cfg_path)
{
	int nl = embed_vit_num_labels(m->vit);

	if (!nl)
		return embed_vit_config_set_labels(m->cfg, 0, NULL);
	if (!m->cfg->num_labels) {
		vv_debug("%s: no id2label; naming the %d classifier outputs LABEL_<i>", cfg_path, nl);
		return embed_vit_config_set_labels(m->cfg, nl, NULL);
	}
	if (m->cfg->num_labels != nl)
		return vv_error(VV_EMISMATCH, "%s: id2label has %d labels but the classifier has "
				"%d outputs", cfg_path, m->cfg->num_labels, nl);
	return 0;
}

/*
 * A timm checkpoint: architecture from --arch / the checkpoint / args.yaml,
 * config and preprocessing from the registry (+ args.yaml), timm names.
 */
static int
open_timm(const embed_ckpt *ck, embed_model *m)
{
	const embed_registry_entry *e;
	embed_tensors *t = NULL;
	embed_pt_info info;
	const char *name;
	char msg[1024];
	int err, src;

	err = embed_ckpt_load(ck, &t, &info);
	if (err)
		return err;
	err = embed_timm_arch(ck, &info, &e, &name, &src);
	if (err)
		goto out_free;
	if (info.used_ema)
		vv_debug("%s: EMA weights", ck->weights);
	err = embed_timm_config(ck, e, t, &m->cfg, &m->pp);
	if (err)
		goto out_free;
	err = embed_vit_build_consume(m->cfg, t, &embed_vit_naming_timm, ck->weights, &m->vit);
	if (err) {
		/* name the architecture the shapes were expected from */
		snprintf(msg, sizeof(msg), "%s", vv_errmsg());
		vv_error(err, "%s (architecture %s from %s)", msg, e->name,
			 embed_arch_source_name(src));
		goto out_free;
	}
	err = match_labels(m, ck->weights);
out_free:
	embed_tensors_free(&t);
	embed_pt_info_reset(&info);
	return err;
}

int
embed_model_open(const embed_ckpt *ck, embed_model **pm)
{
	embed_model *m;
	embed_tensors *t = NULL;
	char *cfg_path, *pp_path;
	int err, w, h;

	*pm = NULL;
	if (ck->format == EMBED_CKPT_TIMM) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return vv_error(VV_ENOMEM, "out of memory");
		err = open_timm(ck, m);
		if (err) {
			embed_model_free(&m);
			return err;
		}
		*pm = m;
		return 0;
	}
	m = calloc(1, sizeof(*m));
	cfg_path = vv_path_join(ck->path, "config.json");
	pp_path = vv_path_join(ck->path, "preprocessor_config.json");
	if (!m || !cfg_path || !pp_path) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	err = embed_vit_config_load(cfg_path, &m->cfg);
	if (err)
		goto out_free;
	err = embed_preproc_load(pp_path, m->cfg, &m->pp);
	if (err)
		goto out_free;
	if (m->cfg->channels != 3) {
		err = vv_error(VV_EUNSUPPORTED, "%s: num_channels %d (images are RGB, 3 channels)",
			       cfg_path, m->cfg->channels);
		goto out_free;
	}
	if (embed_preproc_out_size(&m->pp, &w, &h)) {
		err = vv_error(VV_EUNSUPPORTED, "%s: the preprocessing gives no fixed image size "
			       "(resize to a shortest edge without a crop)", pp_path);
		goto out_free;
	}
	if (w != m->cfg->image_w || h != m->cfg->image_h) {
		err = vv_error(VV_EMISMATCH, "%s: preprocessing gives %dx%d images but config.json "
			       "has image_size %dx%d", pp_path, w, h, m->cfg->image_w,
			       m->cfg->image_h);
		goto out_free;
	}
	err = embed_ckpt_load_tensors(ck, &t);
	if (err)
		goto out_free;
	err = embed_vit_build_consume(m->cfg, t, &embed_vit_naming_hf, ck->weights, &m->vit);
	embed_tensors_free(&t);
	if (err)
		goto out_free;
	err = match_labels(m, cfg_path);
	if (err)
		goto out_free;
	free(cfg_path);
	free(pp_path);
	*pm = m;
	return 0;
out_free:
	free(cfg_path);
	free(pp_path);
	embed_model_free(&m);
	return err;
}

const embed_vit_config *
embed_model_config(const embed_model *m)
{
	return m->cfg;
}

const embed_preproc *
embed_model_preproc(const embed_model *m)
{
	return &m->pp;
}

int
embed_model_forward(embed_model *m, const float *pixels, int batch, int pool, float *emb,
		    float *logits)
{
	return embed_vit_forward(m->vit, pixels, batch, pool, emb, logits);
}

void
embed_model_free(embed_model **pm)
{
	embed_model *m = *pm;

	if (!m)
		return;
	embed_vit_free(&m->vit);
	embed_vit_config_free(&m->cfg);
	free(m);
	*pm = NULL;
}
