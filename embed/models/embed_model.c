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
	char **class_names;      /* timm's class map names (info.id2label points
				  * here when they were read), or NULL */
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

/* The class map file of args.yaml: as given, else beside args.yaml (by
 * its relative path, then by its name); NULL when none exists. */
static char *
find_class_map(const embed_ckpt *ck)
{
	const char *cm = ck->args->class_map, *slash = strrchr(ck->args_path, '/');
	char *dir = slash ? strndup(ck->args_path, (size_t)(slash - ck->args_path)) : vv_strdup(".");
	char *p = NULL, *base;

	if (cm[0] == '/' && vv_is_file(cm))
		return vv_strdup(cm);
	if (!dir)
		return NULL;
	p = vv_path_join(dir, cm);
	if (p && !vv_is_file(p)) {
		free(p);
		base = vv_path_basename(cm);
		p = base ? vv_path_join(dir, base) : NULL;
		free(base);
		if (p && !vv_is_file(p)) {
			free(p);
			p = NULL;
		}
	}
	free(dir);
	return p;
}

/*
 * A timm run trained with --class-map names its classes in that file, one
 * per line in index order (timm's load_class_map for .txt): those names
 * replace the LABEL_<i> placeholders, so that data set classes match the
 * model's by name.  A file that cannot be found or does not fit the head
 * is a warning, not an error: the outputs stay LABEL_<i>.
 */
static int
apply_class_map(const embed_ckpt *ck, embed_model *m)
{
	char *path, *text = NULL, *line, *save = NULL;
	size_t len;
	int n = 0, err;

	if (!ck->args || !ck->args->class_map || !m->info.num_labels)
		return 0;
	path = find_class_map(ck);
	if (!path) {
		vv_warn("%s: class_map %.200s not found (nor beside it); the classifier's outputs "
			"stay LABEL_<i>", ck->args_path, ck->args->class_map);
		return 0;
	}
	err = vv_read_file(path, (size_t)1 << 24, &text, &len);
	if (err)
		goto out_free;
	m->class_names = calloc((size_t)m->info.num_labels, sizeof(char *));
	if (!m->class_names) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *e = line + strlen(line);

		while (*line == ' ' || *line == '\t')
			line++;
		while (e > line && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (n == m->info.num_labels) {
			n++;
			break;
		}
		if (!(m->class_names[n++] = vv_strdup(line))) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
	}
	if (n != m->info.num_labels) {
		vv_warn("%s: %s names %s%d classes but the classifier has %d outputs; they stay "
			"LABEL_<i>", ck->args_path, path, n > m->info.num_labels ? "more than " : "",
			n > m->info.num_labels ? m->info.num_labels : n, m->info.num_labels);
		vv_strv_free(&m->class_names, (size_t)m->info.num_labels);
		goto out_free;
	}
	m->info.id2label = m->class_names;
	vv_debug("%s: class names from %s", ck->args_path, path);
out_free:
	free(text);
	free(path);
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
	if (!err && ck->format == EMBED_CKPT_TIMM)
		err = apply_class_map(ck, m);
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
	if (m->class_names)
		vv_strv_free(&m->class_names, (size_t)m->info.num_labels);
	free(m);
	*pm = NULL;
}
