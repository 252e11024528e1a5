/* vv_work.c - reading the work folder's manifest.json and samples.csv. */
#include "common/vv_work.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* samples.csv of 10 million rows with long paths stays far below this */
#define SAMPLES_MAX_FILE ((size_t)2 << 30)

char *
vv_work_path(const char *workdir, const char *sub, const char *name, const char *ext)
{
	size_t n = strlen(workdir) + (sub ? strlen(sub) + 1 : 0) + strlen(name) + strlen(ext) + 2;
	char *p = malloc(n);

	if (!p) {
		vv_error(VV_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(p, n, "%s/%s%s%s%s", workdir, sub ? sub : "", sub ? "/" : "", name, ext);
	return p;
}

/* Duplicate an optional string member; *out stays NULL when absent. */
static int
dup_opt(const cJSON *obj, const char *key, char **out)
{
	const char *s = vv_json_get_string(obj, key, NULL);

	*out = NULL;
	if (!s)
		return 0;
	*out = vv_strdup(s);
	return *out ? 0 : VV_ENOMEM;
}

static int
dup_req(const char *file, const cJSON *obj, const char *key, char **out)
{
	if (!vv_json_get_string(obj, key, NULL))
		return vv_error(VV_EFORMAT, "%s: missing string field \"%s\"", file, key);
	return dup_opt(obj, key, out);
}

void
vv_manifest_free(vv_manifest **pm)
{
	vv_manifest *m = *pm;
	size_t i;

	if (!m)
		return;
	free(m->run);
	free(m->data);
	free(m->data_kind);
	free(m->pool);
	free(m->loss_kind);
	free(m->model_name);
	free(m->loss_path);
	vv_strv_free(&m->class_names, (size_t)m->nclasses);
	free(m->class_order);
	for (i = 0; i < m->nckpt; i++) {
		free(m->ckpt[i].name);
		free(m->ckpt[i].path);
		free(m->ckpt[i].format);
		free(m->ckpt[i].fingerprint);
	}
	free(m->ckpt);
	cJSON_Delete(m->json);
	free(m);
	*pm = NULL;
}

static int
load_checkpoints(const char *file, vv_manifest *m)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(m->json, "checkpoints"), *it;
	size_t i = 0;
	int err;

	if (!cJSON_IsArray(arr))
		return vv_error(VV_EFORMAT, "%s: missing array \"checkpoints\"", file);
	m->nckpt = (size_t)cJSON_GetArraySize(arr);
	m->ckpt = calloc(m->nckpt ? m->nckpt : 1, sizeof(*m->ckpt));
	if (!m->ckpt)
		return vv_error(VV_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, arr) {
		vv_ckpt_info *c = &m->ckpt[i++];
		const char *name;

		if (!cJSON_IsObject(it))
			return vv_error(VV_EFORMAT, "%s: checkpoint entry %zu is not an object", file, i - 1);
		if ((err = dup_req(file, it, "name", &c->name)) ||
		    (err = dup_req(file, it, "path", &c->path)) ||
		    (err = dup_req(file, it, "format", &c->format)) ||
		    (err = dup_req(file, it, "fingerprint", &c->fingerprint)))
			return err;
		name = c->name;
		/* names become file names under embeddings/: no separators, no dot-dot */
		if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
			return vv_error(VV_EFORMAT, "%s: bad checkpoint name \"%s\"", file, name);
		c->step = vv_json_get_int(it, "step", -1);
		c->epoch = vv_json_get_double(it, "epoch", NAN);
		c->has_logits = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "has_logits"));
		c->logits_match = strcmp(vv_json_get_string(it, "logits_match", ""), "none") != 0;
	}
	return 0;
}

/* "class_order": a permutation of 0..nclasses-1 (absent: the identity). */
static int
load_class_order(const char *file, vv_manifest *m)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(m->json, "class_order"), *it;
	char *seen;
	int i = 0;

	m->class_order = malloc(((size_t)m->nclasses + 1) * sizeof(int));
	seen = calloc((size_t)m->nclasses + 1, 1);
	if (!m->class_order || !seen) {
		free(seen);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	for (i = 0; i < m->nclasses; i++)
		m->class_order[i] = i;
	if (!arr) {
		free(seen);
		return 0;
	}
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != m->nclasses) {
		free(seen);
		return vv_error(VV_EFORMAT, "%s: \"class_order\" is not a list of %d classes", file, m->nclasses);
	}
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		double v = cJSON_IsNumber(it) ? it->valuedouble : -1;

		if (!(v >= 0 && v < m->nclasses) || v != (int)v || seen[(int)v]) {
			free(seen);
			return vv_error(VV_EFORMAT, "%s: \"class_order\" entry %d is not a new class index", file, i);
		}
		seen[(int)v] = 1;
		m->class_order[i++] = (int)v;
	}
	free(seen);
	return 0;
}

static int
load_classes(const char *file, vv_manifest *m)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(m->json, "classes"), *it;
	int i = 0;

	if (!cJSON_IsArray(arr))
		return vv_error(VV_EFORMAT, "%s: missing array \"classes\"", file);
	m->nclasses = cJSON_GetArraySize(arr);
	m->class_names = calloc((size_t)m->nclasses + 1, sizeof(char *));
	if (!m->class_names)
		return vv_error(VV_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			return vv_error(VV_EFORMAT, "%s: class %d is not a string", file, i);
		m->class_names[i] = vv_strdup(it->valuestring);
		if (!m->class_names[i++])
			return VV_ENOMEM;
	}
	return load_class_order(file, m);
}

int
vv_manifest_load(const char *workdir, vv_manifest **pm)
{
	char *file = vv_path_join(workdir, "manifest.json");
	const cJSON *loss, *model;
	vv_manifest *m;
	int err;

	*pm = NULL;
	if (!file)
		return VV_ENOMEM;
	if (!vv_is_file(file)) {
		err = vv_error(VV_ENOTFOUND, "%s: not a vitviz work folder (no manifest.json; run `vitviz embed` first)",
			       workdir);
		free(file);
		return err;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		free(file);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	m->json = vv_json_load(file);
	if (!m->json) {
		err = VV_EFORMAT;
		goto out_free;
	}
	if (vv_json_get_int(m->json, "format", -1) != VV_WORK_FORMAT) {
		err = vv_error(VV_EFORMAT, "%s: unknown work-folder format (expected %d)", file, VV_WORK_FORMAT);
		goto out_free;
	}
	if ((err = dup_req(file, m->json, "run", &m->run)) ||
	    (err = dup_req(file, m->json, "data", &m->data)) ||
	    (err = dup_req(file, m->json, "data_kind", &m->data_kind)) ||
	    (err = dup_req(file, m->json, "pool", &m->pool)))
		goto out_free;
	m->n = vv_json_get_int(m->json, "n", -1);
	m->dim = (int)vv_json_get_int(m->json, "dim", -1);
	m->num_labels = (int)vv_json_get_int(m->json, "num_labels", 0);
	if (m->n < 0 || m->dim <= 0 || m->num_labels < 0) {
		err = vv_error(VV_EFORMAT, "%s: bad \"n\", \"dim\" or \"num_labels\"", file);
		goto out_free;
	}
	model = cJSON_GetObjectItemCaseSensitive(m->json, "model");
	if (cJSON_IsObject(model) && (err = dup_opt(model, "name", &m->model_name)))
		goto out_free;
	loss = cJSON_GetObjectItemCaseSensitive(m->json, "loss");
	if (cJSON_IsObject(loss) &&
	    ((err = dup_opt(loss, "kind", &m->loss_kind)) || (err = dup_opt(loss, "path", &m->loss_path))))
		goto out_free;
	if ((err = load_classes(file, m)) || (err = load_checkpoints(file, m)))
		goto out_free;
	free(file);
	*pm = m;
	return 0;

out_free:
	free(file);
	vv_manifest_free(&m);
	return err;
}

void
vv_samples_free(vv_samples **ps)
{
	vv_samples *s = *ps;

	if (!s)
		return;
	vv_strv_free(&s->path, s->n);
	vv_strv_free(&s->label_name, s->n);
	free(s->label);
	free(s);
	*ps = NULL;
}

int
vv_samples_load(const char *workdir, vv_samples **ps)
{
	char *file = vv_path_join(workdir, "samples.csv");
	int ci, cp, cl, cn, err;
	vv_csv *c = NULL;
	vv_samples *s;
	size_t i;

	*ps = NULL;
	if (!file)
		return VV_ENOMEM;
	err = vv_csv_read(file, SAMPLES_MAX_FILE, &c);
	if (err)
		goto out_file;
	ci = vv_csv_col(c, "index");
	cp = vv_csv_col(c, "path");
	cl = vv_csv_col(c, "label");
	cn = vv_csv_col(c, "label_name");
	if (ci < 0 || cp < 0 || cl < 0 || cn < 0) {
		err = vv_error(VV_EFORMAT, "%s: header must be index,path,label,label_name", file);
		goto out_csv;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = calloc(c->nrows + 1, sizeof(char *))) ||
	    !(s->label_name = calloc(c->nrows + 1, sizeof(char *))) ||
	    !(s->label = calloc(c->nrows + 1, sizeof(int)))) {
		if (s) {
			free(s->path);
			free(s->label_name);
			free(s);
		}
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_csv;
	}
	s->n = c->nrows;
	for (i = 0; i < c->nrows; i++) {
		char **row = c->rows[i], *end;
		long idx, lab;

		errno = 0;
		idx = strtol(row[ci], &end, 10);
		if (*end || errno || idx != (long)i) {
			err = vv_error(VV_EFORMAT, "%s: row %zu has index \"%s\", expected %zu", file, i + 1, row[ci], i);
			goto out_samples;
		}
		lab = strtol(row[cl], &end, 10);
		if (*end || errno || lab < 0 || lab > 1000000) {
			err = vv_error(VV_EFORMAT, "%s: row %zu has bad label \"%s\"", file, i + 1, row[cl]);
			goto out_samples;
		}
		s->label[i] = (int)lab;
		/* take the strings over from the CSV table */
		s->path[i] = row[cp];
		s->label_name[i] = row[cn];
		row[cp] = NULL;
		row[cn] = NULL;
	}
	vv_csv_free(&c);
	free(file);
	*ps = s;
	return 0;

out_samples:
	vv_samples_free(&s);
out_csv:
	vv_csv_free(&c);
out_file:
	free(file);
	return err;
}

int
vv_checkpoints_csv_write(const char *workdir)
{
	vv_manifest *m = NULL;
	vv_outfile *f = NULL;
	char *path = NULL;
	size_t i;
	int err;

	err = vv_manifest_load(workdir, &m);
	if (err)
		return err;
	path = vv_path_join(workdir, "checkpoints.csv");
	if (!path) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	err = vv_outfile_open(&f, path);
	if (err)
		goto out_free;
	fputs("order,checkpoint,step,epoch,embeddings,logits" VV_CSV_EOL, f->fp);
	for (i = 0; i < m->nckpt; i++) {
		const vv_ckpt_info *k = &m->ckpt[i];

		fprintf(f->fp, "%zu,", i);
		vv_csv_field(f->fp, k->name);
		if (k->step >= 0)
			fprintf(f->fp, ",%lld,", (long long)k->step);
		else
			fputs(",,", f->fp);
		if (!isnan(k->epoch))
			fprintf(f->fp, "%.9g", k->epoch);
		fputs(",embeddings/", f->fp);
		vv_csv_field(f->fp, k->name);
		fputs(".npy,", f->fp);
		if (k->has_logits) {
			fputs("logits/", f->fp);
			vv_csv_field(f->fp, k->name);
			fputs(".npy", f->fp);
		}
		vv_csv_eol(f->fp);
	}
	err = vv_outfile_commit(&f);
out_free:
	vv_outfile_abort(&f);
	free(path);
	vv_manifest_free(&m);
	return err;
}
