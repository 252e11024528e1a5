/* embed_model.c - one checkpoint's model family, opened and run. */
#include "embed/models/embed_model.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "embed/models/embed_timm.h"
#include "embed/models/embed_vit_family.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* config.json files larger than this are not configs */
#define CONFIG_MAX_FILE ((size_t)16 << 20)

struct embed_model {
	const embed_family *fam; /* the family that opened it */
	void *state;             /* the family's model */
	embed_model_info info;   /* what it is */
};

/*
 * An HF folder: read config.json and its model_type, then let the family
 * open it.
 */
static int
open_hf(const embed_ckpt *ck, embed_model *m)
{
	embed_family_probe p = { .ck = ck };
	char *cfg_path, *text = NULL;
	cJSON *root = NULL;
	const cJSON *mt;
	size_t len;
	int err;

	cfg_path = vv_path_join(ck->path, "config.json");
	if (!cfg_path)
		return vv_error(VV_ENOMEM, "out of memory");
	/* a missing file is VV_ENOTFOUND, a folder or unreadable file VV_EREAD */
	err = vv_read_file(cfg_path, CONFIG_MAX_FILE, &text, &len);
	if (err)
		goto out_free_path;
	root = vv_json_parse(cfg_path, text, len);
	if (!root) {
		err = VV_EFORMAT;
		goto out_free_text;
	}
	mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
	p.config_path = cfg_path;
	p.config_text = text;
	p.config_len = len;
	p.model_type = cJSON_IsString(mt) ? mt->valuestring : NULL;
	m->fam = embed_family_find(&p);
	if (!m->fam) {
		err = VV_EUNSUPPORTED;
		goto out_free_json;
	}
	err = m->fam->open(&p, &m->state, &m->info);
out_free_json:
	cJSON_Delete(root);
out_free_text:
	free(text);
out_free_path:
	free(cfg_path);
	return err;
}

/*
 * A timm-style file: load it, resolve the architecture (an unknown name is
 * an error; no name at all lets the families look at the tensor names),
 * then let the family build it from the loaded tensors.
 */
static int
open_timm(const embed_ckpt *ck, embed_model *m)
{
	embed_family_probe p = { .ck = ck };
	embed_tensors *t = NULL;
	embed_pt_info info;
	int err;

	err = embed_ckpt_load(ck, &t, &info);
	if (err)
		return err;
	p.t = t;
	p.info = &info;
	p.arch_src = -1;
	/* jeonsworld / flower files name their model by their own code's names:
	 * the ViT family reads them (embed_jeonsworld.h, embed_flower.h) */
	if (ck->format == EMBED_CKPT_TIMM) {
		err = embed_timm_arch(ck, &info, &p.entry, &p.arch_name, &p.arch_src);
		if (err && p.arch_src >= 0)
			goto out_free; /* a name the registry does not know */
		p.arch_err = err;
	}
	m->fam = embed_family_find(&p);
	if (!m->fam) {
		err = VV_EUNSUPPORTED;
		goto out_free;
	}
	err = m->fam->open(&p, &m->state, &m->info);
out_free:
	embed_tensors_free(&t);
	embed_pt_info_reset(&info);
	return err;
}

int
embed_model_open(const embed_ckpt *ck, embed_model **pm)
{
	embed_model *m;
	int err;

	*pm = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return vv_error(VV_ENOMEM, "out of memory");
	/* single-file state dicts are loaded here; HF folders by their family */
	err = ck->format == EMBED_CKPT_TIMM || ck->format == EMBED_CKPT_JEONSWORLD ||
	      ck->format == EMBED_CKPT_FLOWER ? open_timm(ck, m) : open_hf(ck, m);
	if (err) {
		embed_model_free(&m);
		return err;
	}
	*pm = m;
	return 0;
}

const embed_model_info *
embed_model_get_info(const embed_model *m)
{
	return &m->info;
}

const embed_vit_config *
embed_model_vit_config(const embed_model *m)
{
	return m->fam == &embed_family_vit ? embed_vit_family_config(m->state) : NULL;
}

const embed_preproc *
embed_model_preproc(const embed_model *m)
{
	return &m->info.pp;
}

void
embed_model_describe(const embed_model *m, cJSON *j)
{
	cJSON_AddStringToObject(j, "family", m->info.family);
	cJSON_AddStringToObject(j, "name", m->info.name);
	if (m->info.arch[0])
		cJSON_AddStringToObject(j, "architecture", m->info.arch);
	cJSON_AddNumberToObject(j, "num_labels", m->info.num_labels);
	m->fam->describe(m->state, j);
}

int
embed_model_forward(embed_model *m, const float *pixels, int batch, int pool, float *emb,
		    float *logits)
{
	return m->fam->forward(m->state, pixels, batch, pool, emb, logits);
}

void
embed_model_free(embed_model **pm)
{
	embed_model *m = *pm;

	if (!m)
		return;
	if (m->fam)
		m->fam->free(&m->state);
	free(m);
	*pm = NULL;
}
