/*
 * test_dynamics.c - training dynamics (analysis_dynamics.h and the stage in
 * analysis_dynamics_stage.h) against scripts/dynamics_ref.py's NumPy values
 * (tests/fixtures/dynamics, made by scripts/make_fixtures_dynamics.py), the
 * ranking on the noisy-label run of scripts/make_noisy_run.py, and the
 * outputs, reuse and bad input of the stage inside `analyze`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/analysis_cartography.h"
#include "analysis/analysis_dynamics.h"
#include "analysis/analysis_dynamics_stage.h"
#include "analysis/analysis_input.h"
#include "analysis/analysis_report.h"
#include "analysis/analysis_run.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "embed/models/embed_kernels.h"
#include "render/render_inputs.h"
#include "render/render_issues.h"
#include "render/render_run.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/dynamics/"
/* Every metric against NumPy float64 (the logits are float32 on both sides). */
#define TOL 1e-6

static vv_array *
load(const char *name)
{
	vv_array *a = NULL;
	char path[256];

	snprintf(path, sizeof(path), FIX "%s.npy", name);
	if (vv_npy_read(path, &a))
		fail_msg("%s: %s", path, vv_errmsg());
	return a;
}

/* A run's fixtures: logits T x N x C, labels, steps. */
struct run {
	vv_array *logits, *labels, *steps; /* as loaded */
	int64_t t, n, c;                   /* shape */
};

static void
run_load(struct run *r, const char *prefix)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_logits", prefix);
	r->logits = load(name);
	snprintf(name, sizeof(name), "%s_labels", prefix);
	r->labels = load(name);
	snprintf(name, sizeof(name), "%s_steps", prefix);
	r->steps = load(name);
	assert_int_equal(r->logits->ndim, 3);
	r->t = r->logits->shape[0];
	r->n = r->logits->shape[1];
	r->c = r->logits->shape[2];
	assert_int_equal(r->labels->shape[0], r->n);
	assert_int_equal(r->steps->shape[0], r->t);
}

static void
run_free(struct run *r)
{
	vv_array_free(&r->logits);
	vv_array_free(&r->labels);
	vv_array_free(&r->steps);
}

/* Feed the first `t` checkpoints of a run into a new accumulator. */
static analysis_dyn *
feed(const struct run *r, int64_t t, int threads)
{
	analysis_dyn *d = NULL;
	int64_t f;

	assert_int_equal(analysis_dyn_alloc(&d, r->n, r->labels->data), 0);
	for (f = 0; f < t; f++)
		assert_int_equal(analysis_dyn_add_logits(d, (const float *)r->logits->data + f * r->n * r->c, r->c,
							 ((int32_t *)r->steps->data)[f], threads), 0);
	return d;
}

/* Compare every column present in expected CSV `name` (nan = unknown). */
static void
compare(const analysis_dyn *d, int64_t n, const char *name, unsigned skip_cols)
{
	char path[256];
	vv_csv *e = NULL;
	size_t i;
	int c;

	snprintf(path, sizeof(path), FIX "%s", name);
	assert_int_equal(vv_csv_read(path, 1 << 22, &e), 0);
	assert_int_equal((int64_t)e->nrows, n);
	for (c = 0; c < ANALYSIS_DYN_NCOLS; c++) {
		int k = vv_csv_col(e, analysis_dyn_col_name(c));
		const double *v = analysis_dyn_col(d, c);
		double worst = 0;

		if (skip_cols & (1u << c))
			continue;
		assert_true(k >= 0);
		for (i = 0; i < e->nrows; i++) {
			double want = strtod(e->rows[i][k], NULL);

			if (c == ANALYSIS_DYN_USUAL_PREDICTION && isnan(want))
				want = -1;
			if (isnan(want)) {
				if (!isnan(v[i]))
					fail_msg("%s row %zu: %s = %.17g, want nan", name, i, analysis_dyn_col_name(c), v[i]);
				continue;
			}
			if (!(fabs(v[i] - want) <= TOL))
				fail_msg("%s row %zu: %s = %.17g, want %.17g", name, i, analysis_dyn_col_name(c), v[i], want);
			if (fabs(v[i] - want) > worst)
				worst = fabs(v[i] - want);
		}
		print_message("  %-20s max abs diff %.3g\n", analysis_dyn_col_name(c), worst);
	}
	vv_csv_free(&e);
}

static void
test_synthetic(void **state)
{
	vv_array *co = load("syn_coords"), *sc = load("syn_scores");
	struct run r;
	analysis_dyn *d;
	int32_t *order;
	int64_t f;

	(void)state;
	run_load(&r, "syn");
	d = feed(&r, r.t, 1);
	order = malloc((size_t)r.n * sizeof(*order));
	assert_non_null(order);
	for (f = 0; f < r.t; f++) {
		analysis_dyn_add_coords(d, (const float *)co->data + f * r.n * 2);
		assert_int_equal(analysis_rank((const float *)sc->data + f * r.n, r.n, order), 0);
		analysis_dyn_add_outliers(d, order, 8);
	}
	assert_int_equal(analysis_dyn_finish(d), 0);
	assert_int_equal(analysis_dyn_count(d, ANALYSIS_DYN_LOGITS), (size_t)r.t);
	assert_int_equal(analysis_dyn_classes(d), r.c);
	compare(d, r.n, "syn_expected.csv", 0);
	/* the all-equal row (sample 5) predicts class 0; the always-right one (6) learned at the first step */
	assert_int_equal(analysis_dyn_col(d, ANALYSIS_DYN_LEARNED_AT)[6], ((int32_t *)r.steps->data)[0]);
	assert_true(analysis_dyn_col(d, ANALYSIS_DYN_USUAL_PREDICTION)[6] == -1);
	free(order);
	analysis_dyn_free(&d);
	assert_null(d);
	run_free(&r);
	vv_array_free(&co);
	vv_array_free(&sc);
}

/* The noisy run at every exp kernel level the CPU has (the softmax uses embed_kernels_exp). */
static void
test_noisy_metrics(void **state)
{
	int level, was = embed_kernels_level();
	struct run r;
	analysis_dyn *d;

	(void)state;
	run_load(&r, "noisy");
	for (level = EMBED_KERNELS_GENERIC; level <= EMBED_KERNELS_AVX512; level++) {
		if (embed_kernels_force(level))
			continue;
		print_message("  %s:\n", embed_kernels_name(level));
		d = feed(&r, r.t, 2);
		assert_int_equal(analysis_dyn_finish(d), 0);
		/* no coordinates or scores fed: those columns are unknown */
		assert_true(isnan(analysis_dyn_col(d, ANALYSIS_DYN_MOVEMENT)[0]));
		assert_true(isnan(analysis_dyn_col(d, ANALYSIS_DYN_PERSISTENT_OUTLIER)[0]));
		compare(d, r.n, "noisy_expected.csv",
			1u << ANALYSIS_DYN_MOVEMENT | 1u << ANALYSIS_DYN_PERSISTENT_OUTLIER);
		analysis_dyn_free(&d);
	}
	vv_error_clear();
	assert_int_equal(embed_kernels_force(was), 0);
	run_free(&r);
}

/* Mann-Whitney AUROC of `score` (higher = positive) for 0/1 labels, ties half. */
static double
auroc(const double *score, const int32_t *pos, int64_t n)
{
	double s = 0;
	int64_t i, j, np = 0, nn = 0;

	for (i = 0; i < n; i++) {
		if (!pos[i])
			continue;
		np++;
		for (j = 0; j < n; j++) {
			if (pos[j])
				continue;
			s += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
		}
	}
	for (j = 0; j < n; j++)
		nn += !pos[j];
	return s / ((double)np * (double)nn);
}

/* The scores rank the flipped images of the noisy run as the README says. */
static void
test_noisy_ranking(void **state)
{
	vv_array *fl = load("noisy_flipped");
	const int32_t *pos = fl->data;
	struct run r;
	analysis_dyn *d, *last;
	double *inv, a_issue, a_last, a_conf, a_aum;
	const double *rank;
	int64_t i, nflip = 0, hits = 0;

	(void)state;
	run_load(&r, "noisy");
	d = feed(&r, r.t, 1);
	assert_int_equal(analysis_dyn_finish(d), 0);
	/* last-checkpoint self-confidence: an accumulator fed only the last checkpoint */
	assert_int_equal(analysis_dyn_alloc(&last, r.n, r.labels->data), 0);
	assert_int_equal(analysis_dyn_add_logits(last, (const float *)r.logits->data + (r.t - 1) * r.n * r.c, r.c, 0, 1),
			 0);
	assert_int_equal(analysis_dyn_finish(last), 0);
	inv = malloc((size_t)r.n * sizeof(*inv));
	assert_non_null(inv);
	for (i = 0; i < r.n; i++)
		inv[i] = 1 - analysis_dyn_col(last, ANALYSIS_DYN_CONFIDENCE)[i];
	a_last = auroc(inv, pos, r.n);
	for (i = 0; i < r.n; i++)
		inv[i] = 1 - analysis_dyn_col(d, ANALYSIS_DYN_CONFIDENCE)[i];
	a_conf = auroc(inv, pos, r.n);
	for (i = 0; i < r.n; i++)
		inv[i] = -analysis_dyn_col(d, ANALYSIS_DYN_AUM)[i];
	a_aum = auroc(inv, pos, r.n);
	a_issue = auroc(analysis_dyn_col(d, ANALYSIS_DYN_LABEL_ISSUE), pos, r.n);
	print_message("  AUROC label_issue %.4f, 1-confidence %.4f, -aum %.4f, last-checkpoint 1-p %.4f\n", a_issue,
		      a_conf, a_aum, a_last);
	assert_true(a_issue >= 0.95);
	assert_true(a_issue >= a_last + 0.08);
	/* precision among the top ranks: as many ranks as flipped images */
	rank = analysis_dyn_col(d, ANALYSIS_DYN_LABEL_ISSUE_RANK);
	for (i = 0; i < r.n; i++)
		nflip += pos[i];
	for (i = 0; i < r.n; i++)
		hits += pos[i] && rank[i] <= (double)nflip;
	print_message("  %lld of the top %lld by label_issue_rank are flipped\n", (long long)hits, (long long)nflip);
	assert_true(hits * 100 >= nflip * 80);
	/* ranks are a permutation of 1..n */
	memset(inv, 0, (size_t)r.n * sizeof(*inv));
	for (i = 0; i < r.n; i++) {
		assert_true(rank[i] >= 1 && rank[i] <= (double)r.n);
		inv[(int64_t)rank[i] - 1] += 1;
	}
	for (i = 0; i < r.n; i++)
		assert_true(inv[i] == 1);
	free(inv);
	analysis_dyn_free(&last);
	analysis_dyn_free(&d);
	run_free(&r);
	vv_array_free(&fl);
}

static void
test_threads(void **state)
{
	struct run r;
	analysis_dyn *a, *b;
	int c;

	(void)state;
	run_load(&r, "noisy");
	a = feed(&r, r.t, 1);
	b = feed(&r, r.t, 7);
	assert_int_equal(analysis_dyn_finish(a), 0);
	assert_int_equal(analysis_dyn_finish(b), 0);
	for (c = 0; c < ANALYSIS_DYN_NCOLS; c++)
		assert_memory_equal(analysis_dyn_col(a, c), analysis_dyn_col(b, c), (size_t)r.n * sizeof(double));
	analysis_dyn_free(&a);
	analysis_dyn_free(&b);
	run_free(&r);
}

/* Fewer than 3 checkpoints: what needs two is unknown with one. */
static void
test_few_checkpoints(void **state)
{
	struct run r;
	analysis_dyn *d;

	(void)state;
	run_load(&r, "syn");
	d = feed(&r, 1, 1);
	analysis_dyn_add_coords(d, (const float[120]){ 0 });
	assert_int_equal(analysis_dyn_finish(d), 0);
	assert_true(isnan(analysis_dyn_col(d, ANALYSIS_DYN_VARIABILITY)[0]));
	assert_true(isnan(analysis_dyn_col(d, ANALYSIS_DYN_FORGETTING)[0]));
	assert_true(isnan(analysis_dyn_col(d, ANALYSIS_DYN_MOVEMENT)[0]));
	assert_false(isnan(analysis_dyn_col(d, ANALYSIS_DYN_CONFIDENCE)[0]));
	assert_false(isnan(analysis_dyn_col(d, ANALYSIS_DYN_LABEL_ISSUE)[0]));
	analysis_dyn_free(&d);
	d = feed(&r, 2, 1);
	assert_int_equal(analysis_dyn_finish(d), 0);
	assert_false(isnan(analysis_dyn_col(d, ANALYSIS_DYN_VARIABILITY)[0]));
	assert_false(isnan(analysis_dyn_col(d, ANALYSIS_DYN_FORGETTING)[0]));
	analysis_dyn_free(&d);
	run_free(&r);
}

/* Bad logits leave the accumulator as it was. */
static void
test_bad_logits(void **state)
{
	struct run r;
	analysis_dyn *d;
	float *bad;

	(void)state;
	vv_verbosity = 0;
	run_load(&r, "syn");
	d = feed(&r, 2, 1);
	/* another class count */
	assert_int_equal(analysis_dyn_add_logits(d, r.logits->data, r.c - 1, 5, 1), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "classes"));
	/* NaN in row 17 */
	bad = malloc((size_t)(r.n * r.c) * sizeof(*bad));
	assert_non_null(bad);
	memcpy(bad, r.logits->data, (size_t)(r.n * r.c) * sizeof(*bad));
	bad[17 * r.c + 2] = NAN;
	assert_int_equal(analysis_dyn_add_logits(d, bad, r.c, 5, 2), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "row 17"));
	bad[17 * r.c + 2] = INFINITY;
	assert_int_equal(analysis_dyn_add_logits(d, bad, r.c, 5, 2), VV_EFORMAT);
	assert_int_equal(analysis_dyn_count(d, ANALYSIS_DYN_LOGITS), 2);
	free(bad);
	analysis_dyn_free(&d);
	/* a label the head does not have */
	{
		int labels[2] = { 0, 3 };
		float lg[6] = { 1, 2, 3, 4, 5, 6 };

		assert_int_equal(analysis_dyn_alloc(&d, 2, labels), 0);
		assert_int_equal(analysis_dyn_add_logits(d, lg, 3, 0, 1), VV_EMISMATCH);
		assert_int_equal(analysis_dyn_add_logits(d, lg, 2, 0, 1), VV_EMISMATCH);
		analysis_dyn_free(&d);
	}
	assert_int_equal(analysis_dyn_alloc(&d, 0, NULL), VV_EINVAL);
	assert_null(d);
	run_free(&r);
}

/* ---- the stage inside `analyze`, on a work folder made from the synthetic run ---- */

enum {
	WF_NO_LOGITS = 1,   /* no checkpoint has logits */
	WF_NAN = 2,         /* checkpoint 3's logits hold a NaN */
	WF_CLASSES = 4,     /* checkpoint 4's logits have one class more */
	WF_PARTIAL = 8,     /* checkpoint 0 has no logits */
};

static void
make_workdir(const char *dir, unsigned flags)
{
	static const char *const classes[5] = { "zero", "one", "two, too", "three", "four" };
	struct run r;
	cJSON *root = cJSON_CreateObject(), *arr;
	char *p, name[32];
	float *emb, *lg;
	FILE *fp;
	int64_t t, i, j;

	run_load(&r, "syn");
	assert_int_equal(vv_mkdir_p(tu_path("")), 0);
	assert_int_equal(vv_mkdir_p(dir), 0);
	p = vv_path_join(dir, "embeddings");
	assert_int_equal(vv_mkdir_p(p), 0);
	free(p);
	p = vv_path_join(dir, "logits");
	assert_int_equal(vv_mkdir_p(p), 0);
	free(p);
	cJSON_AddNumberToObject(root, "format", 1);
	cJSON_AddStringToObject(root, "run", "/abs/run");
	cJSON_AddStringToObject(root, "data", "/abs/data");
	cJSON_AddStringToObject(root, "data_kind", "folder");
	cJSON_AddNumberToObject(root, "n", (double)r.n);
	cJSON_AddNumberToObject(root, "dim", 8);
	cJSON_AddNumberToObject(root, "num_labels", (double)r.c);
	cJSON_AddStringToObject(root, "pool", "cls");
	cJSON_AddItemToObject(root, "classes", cJSON_CreateStringArray(classes, 5));
	arr = cJSON_AddArrayToObject(root, "checkpoints");
	emb = malloc((size_t)r.n * 8 * sizeof(*emb));
	lg = malloc((size_t)r.n * (size_t)(r.c + 1) * sizeof(*lg));
	assert_true(emb && lg);
	for (t = 0; t < r.t; t++) {
		cJSON *ck = cJSON_CreateObject();
		int has = !(flags & WF_NO_LOGITS) && !((flags & WF_PARTIAL) && t == 0);
		int64_t c = (flags & WF_CLASSES) && t == 4 ? r.c + 1 : r.c;
		int64_t es[2] = { r.n, 8 }, ls[2] = { r.n, c };

		snprintf(name, sizeof(name), "checkpoint-%d", ((int32_t *)r.steps->data)[t]);
		cJSON_AddStringToObject(ck, "name", name);
		cJSON_AddNumberToObject(ck, "step", ((int32_t *)r.steps->data)[t]);
		cJSON_AddStringToObject(ck, "path", "/abs/run/ck");
		cJSON_AddStringToObject(ck, "format", "safetensors");
		cJSON_AddStringToObject(ck, "fingerprint", "0123");
		cJSON_AddBoolToObject(ck, "has_logits", has);
		cJSON_AddItemToObject(ck, "id2label", cJSON_CreateStringArray(classes, 5));
		cJSON_AddItemToArray(arr, ck);
		/* embeddings: a label cluster plus a drift over time */
		for (i = 0; i < r.n; i++)
			for (j = 0; j < 8; j++)
				emb[i * 8 + j] = (float)((j == ((int32_t *)r.labels->data)[i] ? 3.0 : 0.0) +
							 sin((double)(i * 8 + j) * 0.7 + (double)t * 0.3));
		p = vv_work_path(dir, "embeddings", name, ".npy");
		assert_int_equal(vv_npy_write(p, VV_F32, emb, 2, es), 0);
		free(p);
		if (!has)
			continue;
		for (i = 0; i < r.n; i++)
			for (j = 0; j < c; j++)
				lg[i * c + j] = j < r.c ? ((float *)r.logits->data)[(t * r.n + i) * r.c + j] : -9.0f;
		if ((flags & WF_NAN) && t == 3)
			lg[11 * c + 1] = NAN;
		p = vv_work_path(dir, "logits", name, ".npy");
		assert_int_equal(vv_npy_write(p, VV_F32, lg, 2, ls), 0);
		free(p);
	}
	p = vv_path_join(dir, "manifest.json");
	assert_int_equal(vv_json_save(p, root), 0);
	free(p);
	cJSON_Delete(root);
	p = vv_path_join(dir, "samples.csv");
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("index,path,label,label_name\n", fp);
	for (i = 0; i < r.n; i++) {
		int l = ((int32_t *)r.labels->data)[i];

		fprintf(fp, "%lld,c%d/%03lld.png,%d,", (long long)i, l, (long long)i, l);
		vv_csv_field(fp, classes[l]);
		fputc('\n', fp);
	}
	fclose(fp);
	free(p);
	free(emb);
	free(lg);
	run_free(&r);
}

static int64_t
mtime_of(const char *dir, const char *name)
{
	char *p = vv_path_join(dir, name);
	struct stat st;
	int64_t t = -1;

	if (p && stat(p, &st) == 0)
		t = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	free(p);
	return t;
}

static vv_csv *
read_csv(const char *dir, const char *name)
{
	char *p = vv_path_join(dir, name);
	vv_csv *c = NULL;

	assert_int_equal(vv_csv_read(p, 1 << 22, &c), 0);
	free(p);
	return c;
}

static void
test_stage(void **state)
{
	static const char header[] = "index,path,label,label_name,confidence,variability,correctness,aum,forgetting,"
				     "learned_at,label_issue,label_issue_rank,movement,persistent_outlier,"
				     "usual_prediction,usual_prediction_name";
	char *dir = vv_path_join(tu_tmp, "stage");
	vv_csv *got, *want;
	vv_array *co, *sc, *dn;
	analysis_opts o;
	analysis_dyn_table *tab;
	int32_t *order;
	char *p, line[512];
	int64_t t0, tc, n, f, i;
	FILE *fp;
	int c;

	(void)state;
	make_workdir(dir, 0);
	analysis_opts_default(&o);
	if (analysis_run(dir, &o))
		fail_msg("%s", vv_errmsg());
	p = vv_path_join(dir, "dynamics.csv");
	fp = fopen(p, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	free(p);
	line[strcspn(line, "\r\n")] = 0;
	assert_string_equal(line, header);
	got = read_csv(dir, "dynamics.csv");
	assert_int_equal(vv_csv_read(FIX "syn_expected.csv", 1 << 22, &want), 0);
	n = (int64_t)got->nrows;
	assert_int_equal(n, 60);
	/* the label columns as NumPy has them; CSV numbers round-trip */
	for (c = 0; c < ANALYSIS_DYN_MOVEMENT; c++) {
		int kg = vv_csv_col(got, analysis_dyn_col_name(c)), kw = vv_csv_col(want, analysis_dyn_col_name(c));

		for (i = 0; i < n; i++) {
			const char *g = got->rows[i][kg], *w = want->rows[i][kw];

			if (!strcmp(w, "nan"))
				assert_string_equal(g, "");
			else
				assert_true(fabs(strtod(g, NULL) - strtod(w, NULL)) <= TOL);
		}
	}
	/* usual prediction and its name; the name with a comma is quoted */
	for (i = 0; i < n; i++) {
		const char *u = got->rows[i][vv_csv_col(got, "usual_prediction")];
		const char *w = want->rows[i][vv_csv_col(want, "usual_prediction")];

		assert_int_equal(atoi(u[0] ? u : "-1"), atoi(strcmp(w, "nan") ? w : "-1"));
		if (!strcmp(u, "2"))
			assert_string_equal(got->rows[i][vv_csv_col(got, "usual_prediction_name")], "two, too");
	}
	/* movement and persistent outliers from what analyze wrote */
	p = vv_path_join(dir, "coords.npy");
	assert_int_equal(vv_npy_read(p, &co), 0);
	free(p);
	p = vv_path_join(dir, "scores.npy");
	assert_int_equal(vv_npy_read(p, &sc), 0);
	free(p);
	order = malloc((size_t)n * sizeof(*order));
	assert_non_null(order);
	{
		double *mv = calloc((size_t)n, sizeof(double)), *po = calloc((size_t)n, sizeof(double));
		const float *xy = co->data;
		int64_t t = co->shape[0];

		assert_true(mv && po);
		for (f = 0; f < t; f++) {
			for (i = 0; f > 0 && i < n; i++) {
				double dx = (double)xy[(f * n + i) * 2] - xy[((f - 1) * n + i) * 2];
				double dy = (double)xy[(f * n + i) * 2 + 1] - xy[((f - 1) * n + i) * 2 + 1];

				mv[i] += sqrt(dx * dx + dy * dy);
			}
			assert_int_equal(analysis_rank((const float *)sc->data + f * n, n, order), 0);
			for (i = 0; i < 8; i++)
				po[order[i]] += 1;
		}
		for (i = 0; i < n; i++) {
			assert_true(fabs(strtod(got->rows[i][vv_csv_col(got, "movement")], NULL) - mv[i]) <= TOL);
			assert_true(strtod(got->rows[i][vv_csv_col(got, "persistent_outlier")], NULL) == po[i]);
		}
		free(mv);
		free(po);
	}
	/* dynamics.npy holds the same numbers as float32 */
	p = vv_path_join(dir, "dynamics.npy");
	assert_int_equal(vv_npy_read(p, &dn), 0);
	free(p);
	assert_int_equal(dn->shape[0], n);
	assert_int_equal(dn->shape[1], ANALYSIS_DYN_NCOLS);
	for (i = 0; i < n; i++)
		assert_true(fabs(((float *)dn->data)[i * ANALYSIS_DYN_NCOLS + ANALYSIS_DYN_LABEL_ISSUE] -
				 strtod(got->rows[i][vv_csv_col(got, "label_issue")], NULL)) < 1e-7);
	assert_int_equal(analysis_dyn_table_load(dir, n, &tab), 0);
	assert_true(tab->label_metrics);
	assert_int_equal(analysis_dyn_table_order(tab, ANALYSIS_DYN_LABEL_ISSUE_RANK, 0, order), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(atoi(got->rows[order[i]][vv_csv_col(got, "label_issue_rank")]), i + 1);
	analysis_dyn_table_free(&tab);
	assert_int_equal(analysis_dyn_table_load(dir, n + 1, &tab), VV_EMISMATCH);
	/* report --by: the rows in ranking order */
	{
		static const int by[3] = { ANALYSIS_REPORT_LABEL_ISSUE, ANALYSIS_REPORT_MOVEMENT,
					   ANALYSIS_REPORT_PERSISTENT };
		static const char *const key[3] = { "label_issue", "movement", "persistent_outlier" };
		analysis_report_opts ro;
		vv_csv *rep;
		int b;

		for (b = 0; b < 3; b++) {
			analysis_report_opts_default(&ro);
			ro.by = by[b];
			ro.top = 10;
			ro.out_path = tu_path("report.csv");
			assert_int_equal(analysis_report(dir, &ro), 0);
			assert_int_equal(vv_csv_read(ro.out_path, 1 << 20, &rep), 0);
			assert_int_equal(rep->nrows, 10);
			for (i = 0; i < 10; i++) {
				int idx = atoi(rep->rows[i][vv_csv_col(rep, "index")]);
				int k = vv_csv_col(got, key[b]);

				assert_int_equal(atoi(rep->rows[i][0]), i + 1);
				if (b == 0)
					assert_int_equal(atoi(got->rows[idx][vv_csv_col(got, "label_issue_rank")]), i + 1);
				if (i > 0) {
					int prev = atoi(rep->rows[i - 1][vv_csv_col(rep, "index")]);
					double a = strtod(got->rows[prev][k], NULL), bb = strtod(got->rows[idx][k], NULL);

					assert_true(a > bb || (a == bb && prev < idx));
				}
			}
			vv_csv_free(&rep);
		}
		assert_int_equal(analysis_report_parse_by("label-issue", &b), 0);
		assert_int_equal(b, ANALYSIS_REPORT_LABEL_ISSUE);
		assert_int_equal(analysis_report_parse_by("labels", &b), VV_EINVAL);
	}
	/* the thumbnail column as the run's label issues (--top label-issue) */
	{
		render_inputs *in = NULL;
		render_opts ro;
		size_t f;

		assert_int_equal(render_inputs_load(dir, &in), 0);
		assert_int_equal(render_issues_apply(dir, in), 0);
		assert_true(in->top_label_issues);
		for (f = 0; f < in->T; f++) {
			assert_int_equal(in->frames[f].ntop, 8);
			for (i = 0; i < 8; i++) {
				const render_top *tp = &in->frames[f].top[i];
				const char *up = got->rows[tp->index][vv_csv_col(got, "usual_prediction")];

				assert_int_equal(atoi(got->rows[tp->index][vv_csv_col(got, "label_issue_rank")]), i + 1);
				assert_int_equal(tp->predicted, up[0] ? atoi(up) : -1);
				assert_true(fabs(tp->score - strtod(got->rows[tp->index][vv_csv_col(got, "label_issue")],
								    NULL)) < 1e-6);
			}
		}
		render_inputs_free(&in);
		render_opts_default(&ro);
		ro.width = 640;
		ro.height = 360;
		ro.top_kind = RENDER_TOP_LABEL_ISSUES;
		ro.thumb_load = NULL;
		/* thumbnails of files that do not exist are drawn as empty boxes: the still still renders */
		assert_int_equal(render_still(dir, -1, tu_path("issues.png"), &ro), 0);
		assert_true(tu_exists(tu_path("issues.png")));
	}
	/* the Cartography export: one jsonl per checkpoint, the logits as embed wrote them */
	{
		char *cd = vv_path_join(tu_tmp, "carto"), name[64];
		vv_array *lg;

		assert_int_equal(analysis_cartography_export(dir, cd), 0);
		for (f = 0; f < 7; f++) {
			char *jp, *text = NULL, *line, *save = NULL;
			size_t len;
			int64_t row = 0;

			snprintf(name, sizeof(name), "dynamics_epoch_%lld.jsonl", (long long)f);
			jp = vv_path_join(cd, name);
			assert_int_equal(vv_read_file(jp, 1 << 22, &text, &len), 0);
			p = vv_work_path(dir, "logits", (const char *[]){ "checkpoint-0", "checkpoint-10", "checkpoint-25",
									 "checkpoint-40", "checkpoint-60", "checkpoint-90",
									 "checkpoint-130" }[f], ".npy");
			assert_int_equal(vv_npy_read(p, &lg), 0);
			free(p);
			for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), row++) {
				cJSON *j = cJSON_Parse(line), *arr;
				char key[48];
				int k;

				assert_non_null(j);
				snprintf(key, sizeof(key), "logits_epoch_%lld", (long long)f);
				arr = cJSON_GetObjectItemCaseSensitive(j, key);
				assert_int_equal(vv_json_get_int(j, "guid", -1), row);
				assert_int_equal(vv_json_get_int(j, "gold", -1), atoi(got->rows[row][2]));
				assert_int_equal(cJSON_GetArraySize(arr), lg->shape[1]);
				for (k = 0; k < lg->shape[1]; k++)
					assert_true((float)cJSON_GetArrayItem(arr, k)->valuedouble ==
						    ((float *)lg->data)[row * lg->shape[1] + k]);
				cJSON_Delete(j);
			}
			assert_int_equal(row, n);
			vv_array_free(&lg);
			free(text);
			free(jp);
		}
		free(cd);
	}
	/* a second run reuses everything */
	t0 = mtime_of(dir, "dynamics.csv");
	tc = mtime_of(dir, "coords.npy");
	assert_int_equal(analysis_run(dir, &o), 0);
	assert_true(mtime_of(dir, "dynamics.csv") == t0);
	/* dynamics missing (an older work folder): only they are recomputed */
	p = vv_path_join(dir, "dynamics.json");
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(analysis_run(dir, &o), 0);
	assert_true(mtime_of(dir, "dynamics.csv") > t0);
	assert_true(mtime_of(dir, "coords.npy") == tc);
	assert_true(mtime_of(dir, "dynamics.json") > 0);
	/* another --top recounts the persistent outliers */
	t0 = mtime_of(dir, "dynamics.csv");
	o.top = 3;
	assert_int_equal(analysis_run(dir, &o), 0);
	assert_true(mtime_of(dir, "dynamics.csv") > t0);
	free(order);
	vv_array_free(&dn);
	vv_array_free(&co);
	vv_array_free(&sc);
	vv_csv_free(&got);
	vv_csv_free(&want);
	free(dir);
}

static void
test_stage_no_logits(void **state)
{
	char *dir = vv_path_join(tu_tmp, "nologits");
	analysis_opts o;
	vv_csv *got;
	cJSON *j;
	char *p;
	size_t i;

	(void)state;
	make_workdir(dir, WF_NO_LOGITS);
	analysis_opts_default(&o);
	assert_int_equal(analysis_run(dir, &o), 0);
	got = read_csv(dir, "dynamics.csv");
	for (i = 0; i < got->nrows; i++) {
		assert_string_equal(got->rows[i][vv_csv_col(got, "confidence")], "");
		assert_string_equal(got->rows[i][vv_csv_col(got, "label_issue_rank")], "");
		assert_string_not_equal(got->rows[i][vv_csv_col(got, "movement")], "");
	}
	vv_csv_free(&got);
	{
		analysis_report_opts ro;

		analysis_report_opts_default(&ro);
		ro.by = ANALYSIS_REPORT_LABEL_ISSUE;
		ro.out_path = tu_path("r.csv");
		assert_int_equal(analysis_report(dir, &ro), VV_EUNSUPPORTED);
		assert_false(tu_exists(ro.out_path));
		ro.by = ANALYSIS_REPORT_MOVEMENT;
		assert_int_equal(analysis_report(dir, &ro), 0);
		p = vv_path_join(dir, "dynamics.npy");
		assert_int_equal(unlink(p), 0);
		free(p);
		assert_int_equal(analysis_report(dir, &ro), VV_ENOTFOUND);
		assert_non_null(strstr(vv_errmsg(), "vitviz analyze"));
	}
	p = vv_path_join(dir, "dynamics.json");
	j = vv_json_load(p);
	free(p);
	assert_non_null(j);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "label_metrics")));
	p = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "notes"));
	assert_non_null(p);
	assert_non_null(strstr(p, "classifier head"));
	free(p);
	cJSON_Delete(j);
	free(dir);
}

/* Bad logits: one error, nothing written (or the old outputs left alone). */
static void
test_stage_bad(void **state)
{
	static const unsigned cases[] = { WF_NAN, WF_CLASSES };
	analysis_opts o;
	size_t k;

	(void)state;
	vv_verbosity = 0;
	analysis_opts_default(&o);
	for (k = 0; k < 2; k++) {
		char name[32], *dir, *p;

		snprintf(name, sizeof(name), "bad%zu", k);
		dir = vv_path_join(tu_tmp, name);
		make_workdir(dir, cases[k]);
		assert_int_equal(analysis_run(dir, &o), cases[k] == WF_NAN ? VV_EFORMAT : VV_EMISMATCH);
		assert_non_null(strstr(vv_errmsg(), cases[k] == WF_NAN ? "checkpoint-40" : "logits/checkpoint-60.npy"));
		print_message("  %s\n", vv_errmsg());
		assert_true(mtime_of(dir, "dynamics.csv") < 0);
		assert_true(mtime_of(dir, "dynamics.npy") < 0);
		assert_true(mtime_of(dir, "coords.npy") < 0);
		assert_int_equal(tu_count_tmp(dir), 0);
		p = dir;
		free(p);
	}
	/* some checkpoints without logits: the embedding columns, a warning, no error */
	{
		char *dir = vv_path_join(tu_tmp, "partial");
		vv_csv *got;

		make_workdir(dir, WF_PARTIAL);
		assert_int_equal(analysis_run(dir, &o), 0);
		/* no Cartography export without logits everywhere, and nothing written */
		assert_int_equal(analysis_cartography_export(dir, tu_path("carto-partial")), VV_EUNSUPPORTED);
		assert_non_null(strstr(vv_errmsg(), "checkpoint-0"));
		assert_false(tu_exists(tu_path("carto-partial")));
		got = read_csv(dir, "dynamics.csv");
		assert_string_equal(got->rows[0][vv_csv_col(got, "confidence")], "");
		assert_string_not_equal(got->rows[0][vv_csv_col(got, "persistent_outlier")], "");
		vv_csv_free(&got);
		free(dir);
	}
}

/* The commands: exit status and one line of error. */
static void
test_cli(void **state)
{
	char *dir = vv_path_join(tu_tmp, "cli"), *bad = vv_path_join(tu_tmp, "cli-bad");
	cairo_surface_t *img;

	(void)state;
	make_workdir(dir, 0);
	make_workdir(bad, WF_CLASSES);
	assert_int_equal(tu_run("--quiet analyze %s", dir), 0);
	assert_int_equal(tu_run("frame %s --data-map --size 640x360 -o %s", dir, tu_path("map.png")), 0);
	img = cairo_image_surface_create_from_png(tu_path("map.png"));
	assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
	assert_int_equal(cairo_image_surface_get_width(img), 640);
	assert_int_equal(cairo_image_surface_get_height(img), 360);
	cairo_surface_destroy(img);
	assert_int_equal(tu_run("report %s --by label-issue --top 5", dir), 0);
	assert_int_equal(tu_count_lines(tu_out()), 6);
	assert_int_equal(tu_run("report %s --by labels", dir), 2);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_int_equal(tu_run("render %s --top nothing -o %s", dir, tu_path("x.mp4")), 2);
	assert_int_equal(tu_run("analyze %s", bad), 3);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "classes, but the checkpoints before have"));
	assert_int_equal(tu_run("frame %s --data-map -o %s", bad, tu_path("none.png")), 3);
	assert_false(tu_exists(tu_path("none.png")));
	free(bad);
	free(dir);
}

static int
setup(void **state)
{
	(void)state;
	vv_verbosity = 0;
	return tu_setup("test_dynamics");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_noisy_metrics),
		cmocka_unit_test(test_noisy_ranking),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_few_checkpoints),
		cmocka_unit_test(test_bad_logits),
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_stage_no_logits),
		cmocka_unit_test(test_stage_bad),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
