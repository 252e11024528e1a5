/* render_inputs.c - loading and validating the work folder for rendering. */
#include "render/render_inputs.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_npy.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOSS_MAX_FILE ((size_t)512 << 20)

void
render_inputs_free(render_inputs **pi)
{
	render_inputs *in = *pi;
	vv_array *a;

	if (!in)
		return;
	vv_manifest_free(&in->man);
	vv_samples_free(&in->samples);
	a = in->coords_arr;
	vv_array_free(&a);
	free(in->frames);
	free(in->loss.step);
	free(in->loss.loss);
	free(in->loss.eval_loss);
	free(in);
	*pi = NULL;
}

static int
load_coords(const char *workdir, render_inputs *in)
{
	char *file = vv_path_join(workdir, "coords.npy");
	vv_array *a = NULL;
	int err;

	if (!file)
		return vv_error(VV_ENOMEM, "out of memory");
	if (!vv_is_file(file)) {
		err = vv_error(VV_ENOTFOUND, "%s: missing (run `vitviz analyze` first)", file);
		goto out_file;
	}
	err = vv_npy_read(file, &a);
	if (err)
		goto out_file;
	if (a->dtype != VV_F32 || a->ndim != 3 || a->shape[0] != (int64_t)in->T ||
	    a->shape[1] != (int64_t)in->n || a->shape[2] != 2) {
		err = vv_error(VV_EMISMATCH, "%s: expected float32 %zu x %zu x 2 (checkpoints x samples x 2)",
			       file, in->T, in->n);
		vv_array_free(&a);
		goto out_file;
	}
	in->coords_arr = a;
	in->coords = a->data;
out_file:
	free(file);
	return err;
}

/* An optional finite number member; NaN when absent or null. */
static int
opt_number(const char *file, const cJSON *obj, const char *key, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NAN;
	if (!it || cJSON_IsNull(it))
		return 0;
	if (vv_json_number(it, out))
		return vv_error(VV_EFORMAT, "%s: \"%s\" is not a number", file, key);
	return 0;
}

static int
load_top(const char *file, size_t f, const cJSON *arr, render_inputs *in, render_frame_info *fr)
{
	const cJSON *it;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return vv_error(VV_EFORMAT, "%s: frame %zu: \"top\" is not an array", file, f);
	cJSON_ArrayForEach(it, arr) {
		render_top *t;
		double idx, lab, pred, score;

		if (fr->ntop == RENDER_MAX_TOP)
			break;
		t = &fr->top[fr->ntop];
		if (!cJSON_IsObject(it) || vv_json_number(cJSON_GetObjectItemCaseSensitive(it, "index"), &idx) ||
		    opt_number(file, it, "score", &score) || opt_number(file, it, "label", &lab) ||
		    opt_number(file, it, "predicted", &pred))
			return vv_error(VV_EFORMAT, "%s: frame %zu: bad outlier entry %d", file, f, fr->ntop);
		if (!(idx >= 0 && idx < (double)in->n) || idx != floor(idx))
			return vv_error(VV_EFORMAT, "%s: frame %zu: outlier index %g outside 0..%zu", file, f, idx,
					in->n ? in->n - 1 : 0);
		t->index = (int64_t)idx;
		t->score = score;
		t->label = in->samples->label[t->index];
		if (!isnan(lab) && lab != t->label)
			return vv_error(VV_EMISMATCH, "%s: frame %zu: outlier %lld has label %g, samples.csv says %d",
					file, f, (long long)t->index, lab, t->label);
		t->predicted = -1;
		if (!isnan(pred) && pred >= 0) {
			if (pred != floor(pred) || pred > 1e6)
				return vv_error(VV_EFORMAT, "%s: frame %zu: bad predicted class %g", file, f, pred);
			t->predicted = (int)pred;
		}
		fr->ntop++;
	}
	return 0;
}

static int
load_analysis(const char *workdir, render_inputs *in)
{
	char *file = vv_path_join(workdir, "analysis.json");
	const cJSON *frames, *it;
	cJSON *root = NULL;
	size_t f = 0;
	int err = 0;

	if (!file)
		return vv_error(VV_ENOMEM, "out of memory");
	if (!vv_is_file(file)) {
		err = vv_error(VV_ENOTFOUND, "%s: missing (run `vitviz analyze` first)", file);
		goto out_file;
	}
	root = vv_json_load(file);
	if (!root) {
		err = VV_EFORMAT;
		goto out_file;
	}
	frames = cJSON_GetObjectItemCaseSensitive(root, "frames");
	if (!cJSON_IsArray(frames) || (size_t)cJSON_GetArraySize(frames) != in->T) {
		err = vv_error(VV_EMISMATCH, "%s: expected an array \"frames\" of %zu entries (one per checkpoint)",
			       file, in->T);
		goto out_json;
	}
	in->has_logits = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "has_logits"));
	in->frames = calloc(in->T ? in->T : 1, sizeof(*in->frames));
	if (!in->frames) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_json;
	}
	cJSON_ArrayForEach(it, frames) {
		render_frame_info *fr = &in->frames[f];
		const vv_ckpt_info *ck = &in->man->ckpt[f];
		const char *name = vv_json_get_string(it, "checkpoint", NULL);

		if (!cJSON_IsObject(it)) {
			err = vv_error(VV_EFORMAT, "%s: frame %zu is not an object", file, f);
			goto out_json;
		}
		if (name && strcmp(name, ck->name)) {
			err = vv_error(VV_EMISMATCH, "%s: frame %zu is \"%s\", manifest.json has \"%s\"", file, f,
				       name, ck->name);
			goto out_json;
		}
		fr->step = ck->step;
		fr->epoch = ck->epoch;
		if ((err = opt_number(file, it, "loss", &fr->loss)) ||
		    (err = load_top(file, f, cJSON_GetObjectItemCaseSensitive(it, "top"), in, fr)))
			goto out_json;
		f++;
	}
out_json:
	cJSON_Delete(root);
out_file:
	free(file);
	return err;
}

/* A CSV field as a number: empty is NaN; anything else must parse fully. */
static int
field_number(const char *s, double *out)
{
	char *end;

	*out = NAN;
	if (!*s)
		return 0;
	errno = 0;
	*out = strtod(s, &end);
	return *end || errno == ERANGE ? -1 : 0;
}

static int
load_loss(const char *workdir, render_inputs *in)
{
	char *file = vv_path_join(workdir, "loss.csv");
	int cs, cl, ce, err = 0;
	vv_csv *c = NULL;
	render_loss *L = &in->loss;

	if (!file)
		return vv_error(VV_ENOMEM, "out of memory");
	if (!vv_is_file(file))
		goto out_file; /* no training log: no curve */
	err = vv_csv_read(file, LOSS_MAX_FILE, &c);
	if (err)
		goto out_file;
	cs = vv_csv_col(c, "step");
	cl = vv_csv_col(c, "loss");
	ce = vv_csv_col(c, "eval_loss");
	if (cs < 0 || (cl < 0 && ce < 0)) {
		err = vv_error(VV_EFORMAT, "%s: needs columns step and loss or eval_loss", file);
		goto out_csv;
	}
	L->step = malloc((c->nrows + 1) * sizeof(double));
	L->loss = malloc((c->nrows + 1) * sizeof(double));
	L->eval_loss = malloc((c->nrows + 1) * sizeof(double));
	if (!L->step || !L->loss || !L->eval_loss) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_csv;
	}
	for (size_t i = 0; i < c->nrows; i++) {
		double st, lo = NAN, ev = NAN;

		if (field_number(c->rows[i][cs], &st) || !isfinite(st) ||
		    (cl >= 0 && field_number(c->rows[i][cl], &lo)) ||
		    (ce >= 0 && field_number(c->rows[i][ce], &ev))) {
			err = vv_error(VV_EFORMAT, "%s: line %zu: bad number", file, i + 2);
			goto out_csv;
		}
		if (L->n && st < L->step[L->n - 1]) {
			err = vv_error(VV_EFORMAT, "%s: line %zu: steps go backwards", file, i + 2);
			goto out_csv;
		}
		L->step[L->n] = st;
		L->loss[L->n] = isfinite(lo) ? lo : NAN;
		L->eval_loss[L->n] = isfinite(ev) ? ev : NAN;
		L->n++;
	}
out_csv:
	vv_csv_free(&c);
out_file:
	free(file);
	return err;
}

int
render_inputs_load(const char *workdir, render_inputs **pi)
{
	render_inputs *in;
	int err;

	*pi = NULL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return vv_error(VV_ENOMEM, "out of memory");
	if ((err = vv_manifest_load(workdir, &in->man)) || (err = vv_samples_load(workdir, &in->samples)))
		goto out_free;
	in->T = in->man->nckpt;
	in->n = in->samples->n;
	if (in->T == 0) {
		err = vv_error(VV_EFORMAT, "%s/manifest.json: no checkpoints", workdir);
		goto out_free;
	}
	if ((int64_t)in->n != in->man->n) {
		err = vv_error(VV_EMISMATCH, "%s/samples.csv: %zu rows, manifest.json says n = %lld", workdir,
			       in->n, (long long)in->man->n);
		goto out_free;
	}
	if (in->man->nclasses < 1) {
		err = vv_error(VV_EFORMAT, "%s/manifest.json: no classes", workdir);
		goto out_free;
	}
	for (size_t i = 0; i < in->n; i++)
		if (in->samples->label[i] >= in->man->nclasses) {
			err = vv_error(VV_EMISMATCH, "%s/samples.csv: row %zu has label %d, but there are %d classes",
				       workdir, i + 1, in->samples->label[i], in->man->nclasses);
			goto out_free;
		}
	if ((err = load_coords(workdir, in)) || (err = load_analysis(workdir, in)) ||
	    (err = load_loss(workdir, in)))
		goto out_free;
	*pi = in;
	return 0;

out_free:
	render_inputs_free(&in);
	return err;
}

int
render_inputs_find_step(const render_inputs *in, int64_t step)
{
	if (step < 0)
		return (int)in->T - 1;
	for (size_t i = 0; i < in->T; i++)
		if (in->frames[i].step == step)
			return (int)i;
	return -1;
}

char *
render_default_title(const vv_manifest *m)
{
	char *base = vv_path_basename(m->run && m->run[0] ? m->run : "run");
	size_t n;
	char *t;

	if (!base)
		return NULL;
	n = strlen(base) + 80;
	t = malloc(n);
	if (t)
		snprintf(t, n, "%.60s fine-tuning \xc2\xb7 %s", m->model_name ? m->model_name : "ViT",
			 base);
	free(base);
	return t;
}
