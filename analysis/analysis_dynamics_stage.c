/* analysis_dynamics_stage.c - dynamics.csv / .npy / .json of a work folder. */
#include "analysis/analysis_dynamics_stage.h"
#include "analysis/analysis_input.h"
#include "analysis/analysis_out.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "embed/models/embed_blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DYN_FORMAT 2

/* The state of one run of the dynamics stage. */
struct dstage {
	const char *workdir;     /* work folder */
	const vv_manifest *m;    /* manifest.json */
	const vv_samples *s;     /* samples.csv */
	int top;                 /* outliers counted per checkpoint */
	int label_metrics;       /* every checkpoint has logits of the dataset's classes */
	char notes[4][256];      /* what could not be computed and why */
	int nnotes;              /* notes used */
	analysis_dyn *d;         /* the accumulator */
};

static int64_t
mtime_ns(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* mtime of <workdir>/<sub>/<name><ext> (sub may be NULL), -1 if missing. */
static int64_t
work_mtime(const char *workdir, const char *sub, const char *name, const char *ext)
{
	char *p = vv_work_path(workdir, sub, name, ext);
	int64_t t = p ? mtime_ns(p) : -1;

	free(p);
	return t;
}

/* 1 when dynamics.* exist, are newer than every input and match the checkpoints and top. */
static int
fresh(const struct dstage *st)
{
	static const char *const in[] = { "manifest.json", "samples.csv", "coords.npy", "scores.npy" };
	static const char *const out[] = { "dynamics.csv", "dynamics.npy", "dynamics.json" };
	int64_t newest = -1, oldest = INT64_MAX, t;
	const cJSON *names, *it;
	cJSON *j = NULL;
	size_t i, k = 0;
	char *p;
	int ok = 0;

	for (i = 0; i < 4; i++) {
		if ((t = work_mtime(st->workdir, NULL, in[i], "")) < 0)
			return 0;
		newest = t > newest ? t : newest;
	}
	for (i = 0; i < st->m->nckpt; i++) {
		if (!st->m->ckpt[i].has_logits)
			continue;
		if ((t = work_mtime(st->workdir, "logits", st->m->ckpt[i].name, ".npy")) < 0)
			return 0;
		newest = t > newest ? t : newest;
	}
	for (i = 0; i < 3; i++) {
		if ((t = work_mtime(st->workdir, NULL, out[i], "")) < 0)
			return 0;
		oldest = t < oldest ? t : oldest;
	}
	if (oldest <= newest || !(p = vv_path_join(st->workdir, "dynamics.json")))
		return 0;
	j = vv_json_load(p);
	free(p);
	vv_error_clear();
	if (!j || vv_json_get_int(j, "format", -1) != DYN_FORMAT || vv_json_get_int(j, "top", -1) != st->top)
		goto out;
	names = cJSON_GetObjectItemCaseSensitive(j, "checkpoints");
	if (!cJSON_IsArray(names) || (size_t)cJSON_GetArraySize(names) != st->m->nckpt)
		goto out;
	cJSON_ArrayForEach(it, names) {
		if (!cJSON_IsString(it) || strcmp(it->valuestring, st->m->ckpt[k++].name))
			goto out;
	}
	ok = 1;
out:
	cJSON_Delete(j);
	return ok;
}

static void
note(struct dstage *st, const char *text)
{
	if (st->nnotes < 4) {
		snprintf(st->notes[st->nnotes++], sizeof(st->notes[0]), "%s", text);
		vv_info("dynamics: %s", text);
	}
}

/* Feed every checkpoint's logits, one file at a time. */
static int
feed_logits(struct dstage *st)
{
	int threads = embed_blas_threads();
	vv_array *lg = NULL;
	size_t f;
	int err = 0;

	for (f = 0; f < st->m->nckpt && !err; f++) {
		const vv_ckpt_info *c = &st->m->ckpt[f];

		if ((err = analysis_read_matrix(st->workdir, st->m, f, "logits", (int64_t)st->s->n, -1, &lg)))
			break;
		if ((err = analysis_dyn_add_logits(st->d, lg->data, lg->shape[1], c->step, threads))) {
			char *p = vv_work_path(st->workdir, "logits", c->name, ".npy");

			vv_error_prefix("%s", p ? p : c->name);
			free(p);
		}
		vv_array_free(&lg);
	}
	return err;
}

/* Feed coords.npy and the top outliers of scores.npy. */
static int
feed_embedding(struct dstage *st)
{
	int64_t n = (int64_t)st->s->n, t = (int64_t)st->m->nckpt, f;
	vv_array *co = NULL, *sc = NULL;
	int32_t *order = NULL;
	char *pc = vv_path_join(st->workdir, "coords.npy"), *ps = vv_path_join(st->workdir, "scores.npy");
	int err;

	if (!pc || !ps) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((err = vv_npy_read(pc, &co)) || (err = vv_npy_read(ps, &sc)))
		goto out_free;
	if (co->dtype != VV_F32 || co->ndim != 3 || co->shape[0] != t || co->shape[1] != n || co->shape[2] != 2) {
		err = vv_error(VV_EMISMATCH, "%s: does not match manifest.json; run `vitviz analyze` again", pc);
		goto out_free;
	}
	if (sc->dtype != VV_F32 || sc->ndim != 2 || sc->shape[0] != t || sc->shape[1] != n) {
		err = vv_error(VV_EMISMATCH, "%s: does not match manifest.json; run `vitviz analyze` again", ps);
		goto out_free;
	}
	if (!(order = malloc((size_t)n * sizeof(*order)))) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	for (f = 0; f < t; f++) {
		analysis_dyn_add_coords(st->d, (const float *)co->data + (size_t)f * (size_t)n * 2);
		if ((err = analysis_rank((const float *)sc->data + (size_t)f * (size_t)n, n, order)))
			goto out_free;
		analysis_dyn_add_outliers(st->d, order, st->top);
	}
out_free:
	free(order);
	vv_array_free(&sc);
	vv_array_free(&co);
	free(ps);
	free(pc);
	return err;
}

/* One numeric CSV field: empty when unknown. */
static void
put_field(FILE *fp, double v, int integer)
{
	fputc(',', fp);
	if (isnan(v))
		return;
	if (integer)
		fprintf(fp, "%lld", (long long)v);
	else
		analysis_put_number(fp, v);
}

static void
write_csv(FILE *fp, const struct dstage *st)
{
	static const int integer[ANALYSIS_DYN_NCOLS] = {
		[ANALYSIS_DYN_FORGETTING] = 1, [ANALYSIS_DYN_LEARNED_AT] = 1, [ANALYSIS_DYN_LABEL_ISSUE_RANK] = 1,
		[ANALYSIS_DYN_PERSISTENT_OUTLIER] = 1, [ANALYSIS_DYN_USUAL_PREDICTION] = 1,
	};
	size_t i, last = st->m->nckpt - 1;
	int c;

	fputs("index,path,label,label_name", fp);
	for (c = 0; c < ANALYSIS_DYN_NCOLS; c++)
		fprintf(fp, ",%s", analysis_dyn_col_name(c));
	fputs(",usual_prediction_name" VV_CSV_EOL, fp);
	for (i = 0; i < st->s->n; i++) {
		double up = analysis_dyn_col(st->d, ANALYSIS_DYN_USUAL_PREDICTION)[i];

		fprintf(fp, "%zu,", i);
		vv_csv_field(fp, st->s->path[i]);
		fprintf(fp, ",%d,", st->s->label[i]);
		vv_csv_field(fp, st->s->label_name[i]);
		for (c = 0; c < ANALYSIS_DYN_NCOLS; c++) {
			double v = analysis_dyn_col(st->d, c)[i];

			put_field(fp, c == ANALYSIS_DYN_USUAL_PREDICTION && v < 0 ? NAN : v, integer[c]);
		}
		fputc(',', fp);
		if (up >= 0)
			vv_csv_field(fp, analysis_class_name(st->m, last, (int32_t)up));
		vv_csv_eol(fp);
	}
}

static int
write_outputs(const struct dstage *st)
{
	int64_t n = (int64_t)st->s->n, shape[2] = { n, ANALYSIS_DYN_NCOLS };
	char *pcsv = vv_path_join(st->workdir, "dynamics.csv"), *pnpy = vv_path_join(st->workdir, "dynamics.npy");
	char *pjs = vv_path_join(st->workdir, "dynamics.json");
	cJSON *j = cJSON_CreateObject(), *cols = cJSON_AddArrayToObject(j, "columns");
	cJSON *names = cJSON_AddArrayToObject(j, "checkpoints"), *notes = cJSON_AddArrayToObject(j, "notes");
	vv_outfile *of = NULL;
	float *v = malloc((size_t)n * ANALYSIS_DYN_NCOLS * sizeof(*v));
	int64_t i;
	size_t f;
	int c, err;

	if (!pcsv || !pnpy || !pjs || !j || !cols || !names || !notes || !v) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	cJSON_AddNumberToObject(j, "format", DYN_FORMAT);
	cJSON_AddNumberToObject(j, "top", st->top);
	cJSON_AddBoolToObject(j, "label_metrics", st->label_metrics);
	cJSON_AddStringToObject(j, "label_issue", "(1 + mean confidence of the samples given the same label - confidence) / 2");
	for (c = 0; c < ANALYSIS_DYN_NCOLS; c++)
		cJSON_AddItemToArray(cols, cJSON_CreateString(analysis_dyn_col_name(c)));
	for (f = 0; f < st->m->nckpt; f++)
		cJSON_AddItemToArray(names, cJSON_CreateString(st->m->ckpt[f].name));
	for (c = 0; c < st->nnotes; c++)
		cJSON_AddItemToArray(notes, cJSON_CreateString(st->notes[c]));
	for (i = 0; i < n; i++)
		for (c = 0; c < ANALYSIS_DYN_NCOLS; c++)
			v[(size_t)i * ANALYSIS_DYN_NCOLS + (size_t)c] = (float)analysis_dyn_col(st->d, c)[i];
	if ((err = vv_outfile_open(&of, pcsv)))
		goto out_free;
	write_csv(of->fp, st);
	if ((err = vv_outfile_commit(&of)) || (err = vv_npy_write(pnpy, VV_F32, v, 2, shape)))
		goto out_free;
	err = vv_json_save(pjs, j);
out_free:
	vv_outfile_abort(&of);
	free(v);
	cJSON_Delete(j);
	free(pjs);
	free(pnpy);
	free(pcsv);
	return err;
}

int
analysis_dynamics_run(const char *workdir, const vv_manifest *m, const vv_samples *s, int top)
{
	struct dstage st = { .workdir = workdir, .m = m, .s = s, .top = top };
	char buf[256];
	size_t f;
	int err;

	if (fresh(&st)) {
		vv_info("%s: training dynamics are up to date", workdir);
		return 0;
	}
	st.label_metrics = m->nckpt > 0 && m->ckpt[0].has_logits;
	for (f = 0; f < m->nckpt; f++) {
		if (m->ckpt[f].has_logits != m->ckpt[0].has_logits) {
			snprintf(buf, sizeof(buf), "checkpoint %s has %s but %s has %s; the label metrics need logits at "
				 "every checkpoint and are left empty", m->ckpt[0].name,
				 m->ckpt[0].has_logits ? "logits" : "no logits", m->ckpt[f].name,
				 m->ckpt[f].has_logits ? "some" : "none");
			vv_warn("%s", buf);
			note(&st, buf);
			st.label_metrics = 0;
			break;
		}
	}
	for (f = 0; f < m->nckpt && st.label_metrics; f++) {
		if (!m->ckpt[f].logits_match) {
			snprintf(buf, sizeof(buf), "checkpoint %s: its classifier's classes are not the dataset's; the "
				 "label metrics are left empty", m->ckpt[f].name);
			note(&st, buf);
			st.label_metrics = 0;
		}
	}
	if (m->nckpt > 0 && !m->ckpt[0].has_logits && !st.nnotes)
		note(&st, "no logits (no classifier head): confidence, variability, correctness, aum, forgetting, "
			  "learned_at and label_issue need a classifier head and are left empty");
	if (m->nckpt < 2)
		note(&st, "one checkpoint: variability, forgetting and movement need at least 2 and are left empty");
	else if (m->nckpt < 3)
		note(&st, "only 2 checkpoints: the dynamics are computed but say little (use 3 or more)");
	if ((err = analysis_dyn_alloc(&st.d, (int64_t)s->n, s->label)))
		return err;
	if ((st.label_metrics && (err = feed_logits(&st))) || (err = feed_embedding(&st)) ||
	    (err = analysis_dyn_finish(st.d)) || (err = write_outputs(&st)))
		goto out_free;
	vv_info("training dynamics of %zu samples over %zu checkpoints%s", s->n, m->nckpt,
		st.label_metrics ? "" : " (embedding columns only)");
out_free:
	analysis_dyn_free(&st.d);
	return err;
}

int
analysis_dyn_table_load(const char *workdir, int64_t n, analysis_dyn_table **pt)
{
	char *pn = vv_path_join(workdir, "dynamics.npy"), *pj = vv_path_join(workdir, "dynamics.json");
	analysis_dyn_table *t = NULL;
	vv_array *a = NULL;
	cJSON *j = NULL;
	int err = 0;

	*pt = NULL;
	if (!pn || !pj) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	if (!vv_is_file(pn) || !vv_is_file(pj)) {
		err = vv_error(VV_ENOTFOUND, "%s: no training dynamics yet (run `vitviz analyze` first)", pn);
		goto out_free;
	}
	if ((err = vv_npy_read(pn, &a)))
		goto out_free;
	if (a->dtype != VV_F32 || a->ndim != 2 || a->shape[0] != n || a->shape[1] != ANALYSIS_DYN_NCOLS) {
		err = vv_error(VV_EMISMATCH, "%s: does not match samples.csv (%lld samples x %d columns); run "
					     "`vitviz analyze` again", pn, (long long)n, ANALYSIS_DYN_NCOLS);
		goto out_free;
	}
	if (!(j = vv_json_load(pj))) {
		err = VV_EFORMAT;
		goto out_free;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	t->n = n;
	t->label_metrics = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "label_metrics"));
	t->v = a->data;
	a->data = NULL;
	*pt = t;
out_free:
	cJSON_Delete(j);
	vv_array_free(&a);
	free(pj);
	free(pn);
	return err;
}

void
analysis_dyn_table_free(analysis_dyn_table **pt)
{
	if (!*pt)
		return;
	free((*pt)->v);
	free(*pt);
	*pt = NULL;
}

/* qsort context: the column and direction (qsort has no user pointer). */
struct keyed {
	float v;       /* the value, NaN last */
	int32_t index; /* sample */
};

static int
cmp_desc(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int xn = isnan(x->v), yn = isnan(y->v);

	if (xn != yn)
		return xn - yn;
	if (!xn && x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

int
analysis_dyn_table_order(const analysis_dyn_table *t, int col, int descending, int32_t *order)
{
	struct keyed *k = malloc((size_t)(t->n ? t->n : 1) * sizeof(*k));
	int64_t i;

	if (!k)
		return vv_error(VV_ENOMEM, "out of memory");
	for (i = 0; i < t->n; i++) {
		float v = analysis_dyn_at(t, i, col);

		k[i] = (struct keyed){ .v = descending || isnan(v) ? v : -v, .index = (int32_t)i };
	}
	qsort(k, (size_t)t->n, sizeof(*k), cmp_desc);
	for (i = 0; i < t->n; i++)
		order[i] = k[i].index;
	free(k);
	return 0;
}
