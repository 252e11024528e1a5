/* analysis_loss.c - trainer_state.json, timm summary.csv and step,loss CSV. */
#include "analysis/analysis_loss.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A loss log of a very long run stays far below this. */
#define LOSS_MAX_FILE VV_JSON_MAX_FILE
/* Largest step accepted (exactly representable in a double). */
#define LOSS_MAX_STEP 9.0e15

void
analysis_loss_free(analysis_loss_log **pl)
{
	analysis_loss_log *l = *pl;

	if (!l)
		return;
	free(l->pt);
	free(l->kind);
	free(l);
	*pl = NULL;
}

/* Points collected in file order, with their position for a stable sort. */
struct raw {
	analysis_loss_point p;
	size_t seq;
};

struct rawv {
	struct raw *v;
	size_t n, cap;
};

static int
rawv_push(struct rawv *r, const analysis_loss_point *p)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		struct raw *nv = realloc(r->v, nc * sizeof(*nv));

		if (!nv)
			return vv_error(VV_ENOMEM, "out of memory");
		r->v = nv;
		r->cap = nc;
	}
	r->v[r->n].p = *p;
	r->v[r->n].seq = r->n;
	r->n++;
	return 0;
}

static int
cmp_raw(const void *a, const void *b)
{
	const struct raw *x = a, *y = b;

	if (x->p.step != y->p.step)
		return x->p.step < y->p.step ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Copy the values `src` holds onto `dst` (a later entry wins). */
static void
merge_point(analysis_loss_point *dst, const analysis_loss_point *src)
{
	if (src->has & ANALYSIS_LOSS_HAS_EPOCH)
		dst->epoch = src->epoch;
	if (src->has & ANALYSIS_LOSS_HAS_LOSS)
		dst->loss = src->loss;
	if (src->has & ANALYSIS_LOSS_HAS_EVAL)
		dst->eval_loss = src->eval_loss;
	if (src->has & ANALYSIS_LOSS_HAS_LR)
		dst->lr = src->lr;
	dst->has |= src->has;
}

/* Sort by step, merge equal steps, and hand the table to a new log. */
static int
finish(const char *kind, struct rawv *r, analysis_loss_log **pl)
{
	analysis_loss_log *l = calloc(1, sizeof(*l));
	size_t i;

	if (!l || !(l->kind = strdup(kind)) || !(l->pt = calloc(r->n + 1, sizeof(*l->pt)))) {
		if (l)
			free(l->kind);
		free(l);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	if (r->n) /* r->v is NULL for an empty log; qsort(NULL, 0) is UB */
		qsort(r->v, r->n, sizeof(*r->v), cmp_raw);
	for (i = 0; i < r->n; i++) {
		const analysis_loss_point *p = &r->v[i].p;

		if (l->n && l->pt[l->n - 1].step == p->step) {
			merge_point(&l->pt[l->n - 1], p);
			continue;
		}
		l->pt[l->n] = (analysis_loss_point){ .step = p->step, .epoch = NAN, .loss = NAN,
						     .eval_loss = NAN, .lr = NAN };
		merge_point(&l->pt[l->n], p);
		l->n++;
	}
	*pl = l;
	return 0;
}

static int
valid_step(double v)
{
	return isfinite(v) && v >= 0 && v <= LOSS_MAX_STEP && v == floor(v);
}

/* A JSON member as a number into *out, setting `bit` in *has; absent is fine. */
static int
json_value(const char *name, size_t idx, const cJSON *e, const char *key, double *out, unsigned bit,
	   unsigned *has)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(e, key);

	if (!it || cJSON_IsNull(it))
		return 0;
	if (vv_json_number(it, out))
		return vv_error(VV_EFORMAT, "%s: log_history[%zu]: \"%s\" is not a number", name, idx, key);
	*has |= bit;
	return 0;
}

static int
parse_trainer_state(const char *name, const char *text, size_t len, analysis_loss_log **pl)
{
	cJSON *root = vv_json_parse(name, text, len);
	const cJSON *hist, *e;
	struct rawv r = { 0 };
	size_t idx = 0;
	int err = 0;

	if (!root)
		return VV_EFORMAT;
	hist = cJSON_GetObjectItemCaseSensitive(root, "log_history");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(hist)) {
		err = vv_error(VV_EFORMAT, "%s: no \"log_history\" array (not a trainer_state.json?)", name);
		goto out_free;
	}
	cJSON_ArrayForEach(e, hist) {
		analysis_loss_point p = { .epoch = NAN, .loss = NAN, .eval_loss = NAN, .lr = NAN };
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "step");
		unsigned has = 0;

		idx++;
		if (!cJSON_IsObject(e))
			continue;
		if ((err = json_value(name, idx - 1, e, "loss", &p.loss, ANALYSIS_LOSS_HAS_LOSS, &has)) ||
		    (err = json_value(name, idx - 1, e, "eval_loss", &p.eval_loss, ANALYSIS_LOSS_HAS_EVAL, &has)))
			goto out_free;
		if (!has)
			continue; /* runtime summaries, other metrics */
		if (!cJSON_IsNumber(st) || !valid_step(st->valuedouble)) {
			err = vv_error(VV_EFORMAT, "%s: log_history[%zu]: missing or bad \"step\"", name, idx - 1);
			goto out_free;
		}
		p.step = (int64_t)st->valuedouble;
		if ((err = json_value(name, idx - 1, e, "epoch", &p.epoch, ANALYSIS_LOSS_HAS_EPOCH, &has)) ||
		    (err = json_value(name, idx - 1, e, "learning_rate", &p.lr, ANALYSIS_LOSS_HAS_LR, &has)))
			goto out_free;
		p.has = has;
		if ((err = rawv_push(&r, &p)))
			goto out_free;
	}
	err = finish("trainer_state", &r, pl);
out_free:
	free(r.v);
	cJSON_Delete(root);
	return err;
}

/* A CSV field as a number; "" leaves the value absent. */
static int
csv_value(const char *name, size_t line, const char *col, const char *s, double *out, unsigned bit,
	  unsigned *has)
{
	char *end;

	if (!s || !*s)
		return 0;
	errno = 0;
	*out = strtod(s, &end);
	if (end == s || *end)
		return vv_error(VV_EFORMAT, "%s: line %zu: %s \"%s\" is not a number", name, line, col, s);
	*has |= bit;
	return 0;
}

static int
parse_csv_table(const char *name, const char *kind, const vv_csv *c, analysis_loss_log **pl)
{
	int timm = !strcmp(kind, "timm_summary");
	int cs = vv_csv_col(c, timm ? "epoch" : "step");
	int cl = vv_csv_col(c, timm ? "train_loss" : "loss");
	int ce = timm ? -1 : vv_csv_col(c, "epoch");
	int cv = vv_csv_col(c, "eval_loss");
	int cr = vv_csv_col(c, "learning_rate");
	struct rawv r = { 0 };
	size_t i;
	int err = 0;

	if (cr < 0)
		cr = vv_csv_col(c, "lr");
	if (cs < 0 || cl < 0)
		return vv_error(VV_EFORMAT, "%s: header must hold \"%s\" and \"%s\"", name,
				timm ? "epoch" : "step", timm ? "train_loss" : "loss");
	for (i = 0; i < c->nrows; i++) {
		analysis_loss_point p = { .epoch = NAN, .loss = NAN, .eval_loss = NAN, .lr = NAN };
		char **row = c->rows[i];
		size_t line = i + 2;
		unsigned has = 0;
		double step;

		if (!row[cs][0]) {
			err = vv_error(VV_EFORMAT, "%s: line %zu: empty %s", name, line, timm ? "epoch" : "step");
			goto out_free;
		}
		if ((err = csv_value(name, line, "step", row[cs], &step, 0, &has)))
			goto out_free;
		if (!valid_step(step)) {
			err = vv_error(VV_EFORMAT, "%s: line %zu: bad %s \"%s\"", name, line, timm ? "epoch" : "step",
				       row[cs]);
			goto out_free;
		}
		p.step = (int64_t)step;
		if (timm) {
			p.epoch = step;
			has |= ANALYSIS_LOSS_HAS_EPOCH;
		}
		if ((err = csv_value(name, line, "loss", row[cl], &p.loss, ANALYSIS_LOSS_HAS_LOSS, &has)) ||
		    (ce >= 0 && (err = csv_value(name, line, "epoch", row[ce], &p.epoch, ANALYSIS_LOSS_HAS_EPOCH, &has))) ||
		    (cv >= 0 && (err = csv_value(name, line, "eval_loss", row[cv], &p.eval_loss, ANALYSIS_LOSS_HAS_EVAL, &has))) ||
		    (cr >= 0 && (err = csv_value(name, line, "learning_rate", row[cr], &p.lr, ANALYSIS_LOSS_HAS_LR, &has))))
			goto out_free;
		p.has = has;
		if ((err = rawv_push(&r, &p)))
			goto out_free;
	}
	err = finish(kind, &r, pl);
out_free:
	free(r.v);
	return err;
}

/* First non-blank byte after an optional UTF-8 BOM. */
static char
first_char(const char *text, size_t len)
{
	size_t i = len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0;

	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	return i < len ? text[i] : '\0';
}

int
analysis_loss_parse(const char *name, const char *kind, const char *text, size_t len, analysis_loss_log **pl)
{
	vv_csv *c = NULL;
	int err;

	*pl = NULL;
	if (kind && strcmp(kind, "trainer_state") && strcmp(kind, "timm_summary") && strcmp(kind, "csv"))
		return vv_error(VV_EINVAL, "%s: unknown loss log kind \"%s\"", name, kind);
	if (kind ? !strcmp(kind, "trainer_state") : first_char(text, len) == '{')
		return parse_trainer_state(name, text, len, pl);
	if ((err = vv_csv_parse(name, text, len, &c)))
		return err;
	if (!kind) {
		if (vv_csv_col(c, "train_loss") >= 0 && vv_csv_col(c, "epoch") >= 0)
			kind = "timm_summary";
		else if (vv_csv_col(c, "step") >= 0 && vv_csv_col(c, "loss") >= 0)
			kind = "csv";
	}
	if (!kind)
		err = vv_error(VV_EFORMAT,
			       "%s: not a loss log (expected trainer_state.json, timm summary.csv or a CSV with step,loss)",
			       name);
	else
		err = parse_csv_table(name, kind, c, pl);
	vv_csv_free(&c);
	return err;
}

int
analysis_loss_load(const char *path, const char *kind, analysis_loss_log **pl)
{
	char *text;
	size_t len;
	int err;

	*pl = NULL;
	if ((err = vv_read_file(path, LOSS_MAX_FILE, &text, &len)))
		return err;
	err = analysis_loss_parse(path, kind, text, len, pl);
	free(text);
	return err;
}

const analysis_loss_point *
analysis_loss_at(const analysis_loss_log *l, int64_t step, unsigned what)
{
	size_t lo = 0, hi;

	if (!l || step < 0)
		return NULL;
	/* hi = number of points with step <= `step` */
	hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->pt[mid].step <= step)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0) {
		if (l->pt[--lo].has & what)
			return &l->pt[lo];
	}
	return NULL;
}

const analysis_loss_point *
analysis_loss_find(const analysis_loss_log *l, int64_t step)
{
	const analysis_loss_point *p = analysis_loss_at(l, step, ~0u);

	return p && p->step == step ? p : NULL;
}
