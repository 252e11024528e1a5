/* test_analysis.c - the analyze and report stages on small work folders made here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/analysis_input.h"
#include "analysis/analysis_pca.h"
#include "analysis/analysis_report.h"
#include "analysis/analysis_run.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "common/vv_version.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/analysis/"
#define N 50
#define D 16
#define T 3
#define C 3

/* Tolerances: coordinates vs scipy chain x display factor (float32 outputs), scores vs cleanlab formula. */
#define COORD_TOL 1e-5
#define SCORE_TOL 1e-6

static const int64_t steps[T] = { 10, 20, 40 };
static const char *const names[T] = { "checkpoint-10", "checkpoint-20", "checkpoint-40" };
static const char *const classes[C] = { "plane", "car, red", "the \"bird\"" };

/* Work-folder variations for the bad-input tests. */
enum {
	WF_LOGITS_MID = 1,  /* only the middle checkpoint has logits */
	WF_FOREIGN_HEAD = 4, /* the head's classes are not the dataset's */
	WF_NO_LOSS = 2,     /* manifest without a loss log */
};

static vv_array *
load(const char *name)
{
	return tu_load_npy(FIX "%s.npy", name);
}

static char *
sub(const char *dir, const char *name)
{
	char *p = vv_path_join(dir, name);

	assert_non_null(p);
	return p;
}

static int
label_of(int i)
{
	return (i * 7) % C;
}

/* Logits that make sample i predict (i % 4 == 0 ? (label+1) % C : label). */
static void
logits_of(int i, int t, float *out)
{
	int c, pred = i % 4 == 0 ? (label_of(i) + 1) % C : label_of(i);

	for (c = 0; c < C; c++)
		out[c] = (float)(0.1 * c + 0.01 * t - 0.05 * (i % 5)) + (c == pred ? 2.0f + 0.1f * (float)(i % 3) : 0);
}

/* Build a work folder with the three fixture checkpoints of N x D embeddings. */
static void
make_workdir(const char *dir, unsigned flags)
{
	vv_array *emb = load("seq_emb");
	cJSON *root = cJSON_CreateObject(), *arr, *ck, *loss;
	char *p, cwd[PATH_MAX], lossp[PATH_MAX + 64];
	int64_t shape[2] = { N, D }, lshape[2] = { N, C };
	float lg[N * C];
	FILE *fp;
	int t, i;

	assert_int_equal(vv_mkdir_p(dir), 0);
	p = sub(dir, "embeddings");
	assert_int_equal(vv_mkdir_p(p), 0);
	free(p);
	p = sub(dir, "logits");
	assert_int_equal(vv_mkdir_p(p), 0);
	free(p);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(lossp, sizeof(lossp), "%s/" FIX "trainer_state.json", cwd);
	cJSON_AddNumberToObject(root, "format", 1);
	cJSON_AddStringToObject(root, "vitviz_version", VV_VERSION);
	cJSON_AddStringToObject(root, "run", "/abs/run");
	cJSON_AddStringToObject(root, "data", "/abs/data");
	cJSON_AddStringToObject(root, "data_kind", "folder");
	cJSON_AddNumberToObject(root, "n", N);
	cJSON_AddNumberToObject(root, "dim", D);
	cJSON_AddNumberToObject(root, "num_labels", C);
	cJSON_AddStringToObject(root, "pool", "cls");
	cJSON_AddItemToObject(root, "classes", cJSON_CreateStringArray(classes, C));
	if (!(flags & WF_NO_LOSS)) {
		loss = cJSON_AddObjectToObject(root, "loss");
		cJSON_AddStringToObject(loss, "kind", "trainer_state");
		cJSON_AddStringToObject(loss, "path", lossp);
	}
	arr = cJSON_AddArrayToObject(root, "checkpoints");
	for (t = 0; t < T; t++) {
		int has = !(flags & WF_LOGITS_MID) || t == 1;

		ck = cJSON_CreateObject();
		cJSON_AddStringToObject(ck, "name", names[t]);
		cJSON_AddNumberToObject(ck, "step", (double)steps[t]);
		cJSON_AddNumberToObject(ck, "epoch", (double)steps[t] / 20);
		cJSON_AddStringToObject(ck, "path", "/abs/run/ck");
		cJSON_AddStringToObject(ck, "format", "safetensors");
		cJSON_AddStringToObject(ck, "fingerprint", "0123");
		cJSON_AddBoolToObject(ck, "has_logits", has);
		cJSON_AddItemToObject(ck, "id2label", cJSON_CreateStringArray(classes, C));
		if (flags & WF_FOREIGN_HEAD)
			cJSON_AddStringToObject(ck, "logits_match", "none");
		cJSON_AddItemToArray(arr, ck);
		p = vv_work_path(dir, "embeddings", names[t], ".npy");
		assert_int_equal(vv_npy_write(p, VV_F32, (float *)emb->data + (size_t)t * N * D, 2, shape), 0);
		free(p);
		if (has) {
			for (i = 0; i < N; i++)
				logits_of(i, t, lg + i * C);
			p = vv_work_path(dir, "logits", names[t], ".npy");
			assert_int_equal(vv_npy_write(p, VV_F32, lg, 2, lshape), 0);
			free(p);
		}
	}
	p = sub(dir, "manifest.json");
	assert_int_equal(vv_json_save(p, root), 0);
	free(p);
	cJSON_Delete(root);
	p = sub(dir, "samples.csv");
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("index,path,label,label_name\n", fp);
	for (i = 0; i < N; i++) {
		char path[64];

		/* sample 0's path holds a comma and a quote */
		if (i == 0)
			snprintf(path, sizeof(path), "odd,\"name\".png");
		else
			snprintf(path, sizeof(path), "%s/%03d.png", classes[label_of(i)], i);
		fprintf(fp, "%d,", i);
		vv_csv_field(fp, path);
		fprintf(fp, ",%d,", label_of(i));
		vv_csv_field(fp, classes[label_of(i)]);
		fputc('\n', fp);
	}
	fclose(fp);
	free(p);
	vv_array_free(&emb);
}

static int
setup(void **state)
{
	(void)state;
	vv_verbosity = 0;
	return tu_setup("test_analysis");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static char *
workdir(const char *name, unsigned flags)
{
	char *d = vv_path_join(tu_tmp, name);

	make_workdir(d, flags);
	return d;
}

static vv_csv *
read_csv(const char *dir, const char *name)
{
	char *p = sub(dir, name);
	vv_csv *c = NULL;

	if (vv_csv_read(p, 1 << 24, &c))
		fail_msg("%s", vv_errmsg());
	free(p);
	return c;
}

/* The inode of <dir>/<name>: outputs are replaced by rename, so a rewrite changes it. */
static int64_t
inode_of(const char *dir, const char *name)
{
	char *p = sub(dir, name);
	int64_t ino = tu_inode(p);

	free(p);
	return ino;
}

static void
test_run_outputs(void **state)
{
	char *dir = workdir("ok", 0), *p;
	vv_array *coords, *scores, *chain = load("seq_chain"), *escores = load("seq_scores");
	analysis_opts o;
	vv_csv *c;
	cJSON *js, *fr, *top;
	double mx = 0, emx = 0, cerr = 0, serr = 0;
	int32_t order[N];
	int64_t i;
	int t;

	(void)state;
	analysis_opts_default(&o);
	assert_int_equal(o.align, ANALYSIS_ALIGN_ROTATE);
	o.align = ANALYSIS_ALIGN_CHAIN; /* scipy's, kept as an option: its parity */
	assert_int_equal(analysis_run(dir, &o), 0);
	p = sub(dir, "coords.npy");
	assert_int_equal(vv_npy_read(p, &coords), 0);
	free(p);
	p = sub(dir, "scores.npy");
	assert_int_equal(vv_npy_read(p, &scores), 0);
	free(p);
	assert_true(coords->ndim == 3 && coords->shape[0] == T && coords->shape[1] == N && coords->shape[2] == 2);
	assert_true(scores->ndim == 2 && scores->shape[0] == T && scores->shape[1] == N);
	/* chain alignment (scipy) times one display factor: max |coordinate| = 5 */
	mx = tu_max_abs_f32(coords->data, T * N * 2);
	emx = tu_max_abs_f32(chain->data, T * N * 2);
	for (i = 0; i < T * N * 2; i++)
		cerr = tu_fmax(cerr, fabs(((float *)coords->data)[i] - ((float *)chain->data)[i] * 5.0 / emx));
	serr = tu_max_diff_array(scores, escores, "scores.npy vs cleanlab formula");
	print_message("analyze: max |coords| %.7f, coords vs scipy chain %.2e, scores vs cleanlab formula %.2e\n", mx,
		      cerr, serr);
	assert_true(fabs(mx - 5.0) < 1e-6 && cerr <= COORD_TOL && serr <= SCORE_TOL);

	/* analysis.json: options, display scale, frames with loss and the top 8 */
	p = sub(dir, "analysis.json");
	js = vv_json_load(p);
	free(p);
	assert_non_null(js);
	assert_string_equal(vv_json_get_string(js, "align", ""), "chain");
	assert_string_equal(vv_json_get_string(js, "metric", ""), "cosine");
	assert_int_equal(vv_json_get_int(js, "k", 0), 10);
	assert_true(fabs(vv_json_get_double(js, "display_scale", 0) - 5.0 / emx) < 1e-4 * 5.0 / emx);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(js, "has_logits")));
	fr = cJSON_GetObjectItem(js, "frames");
	assert_int_equal(cJSON_GetArraySize(fr), T);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(fr, 0), "loss"))); /* NaN logged at step 10 */
	assert_true(vv_json_get_double(cJSON_GetArrayItem(fr, 1), "loss", 0) == 1.25);
	assert_true(vv_json_get_double(cJSON_GetArrayItem(fr, 2), "loss", 0) == 0.75);
	assert_true(vv_json_get_double(cJSON_GetArrayItem(fr, 2), "eval_loss", 0) == 0.9);
	assert_true(fabs(vv_json_get_double(cJSON_GetArrayItem(fr, 0), "disparity", 1)) < 1e-20);
	for (t = 0; t < T; t++) {
		top = cJSON_GetObjectItem(cJSON_GetArrayItem(fr, t), "top");
		assert_int_equal(cJSON_GetArraySize(top), 8);
		assert_int_equal(analysis_rank((float *)escores->data + t * N, N, order), 0);
		for (i = 0; i < 8; i++) {
			cJSON *e = cJSON_GetArrayItem(top, (int)i);
			int idx = (int)vv_json_get_int(e, "index", -1);

			assert_int_equal(idx, order[i]);
			assert_int_equal(vv_json_get_int(e, "label", -1), label_of(idx));
			assert_int_equal(vv_json_get_int(e, "predicted", -1), idx % 4 == 0 ? (label_of(idx) + 1) % C
										     : label_of(idx));
		}
	}
	cJSON_Delete(js);

	/* frames.csv */
	c = read_csv(dir, "frames.csv");
	assert_int_equal(c->nrows, T);
	assert_string_equal(c->rows[0][0], "checkpoint-10");
	assert_string_equal(c->rows[0][2], "0.5");
	assert_string_equal(c->rows[0][3], "nan");
	assert_true(fabs(strtod(c->rows[0][4], NULL)) < 1e-20);
	assert_string_equal(c->rows[1][3], "1.25");
	assert_string_equal(c->rows[2][1], "40");
	vv_csv_free(&c);
	c = read_csv(dir, "loss.csv");
	assert_int_equal(c->nrows, 6);
	vv_csv_free(&c);

	/* outliers.csv: every sample of every checkpoint, rank order, quoting intact */
	c = read_csv(dir, "outliers.csv");
	assert_int_equal(c->nrows, T * N);
	assert_int_equal(c->ncols, 12);
	assert_string_equal(c->header[11], "label_quality");
	for (i = 0; i < T * N; i++) {
		char **r = c->rows[i];
		int idx = atoi(r[2]), pred = atoi(r[8]);
		float lg[C];
		double s = 0, q;
		int k;

		assert_int_equal(atoi(r[7]), i % N + 1);
		if (idx == 0)
			assert_string_equal(r[3], "odd,\"name\".png");
		assert_string_equal(r[5], classes[label_of(idx)]);
		assert_string_equal(r[9], classes[pred]);
		assert_int_equal(atoi(r[10]), pred != label_of(idx));
		logits_of(idx, (int)(i / N), lg);
		for (k = 0; k < C; k++)
			s += exp((double)lg[k]);
		q = exp((double)lg[label_of(idx)]) / s;
		assert_true(fabs(strtod(r[11], NULL) - q) < 1e-7);
	}
	vv_csv_free(&c);
	vv_array_free(&escores);
	vv_array_free(&chain);
	vv_array_free(&scores);
	vv_array_free(&coords);
	free(dir);
}

static void
test_reuse(void **state)
{
	char *dir = workdir("reuse", WF_NO_LOSS), *p;
	analysis_opts o;
	int64_t m1, m2;
	vv_array *emb = load("seq_emb");
	int64_t shape[2] = { N, D };
	cJSON *js;

	(void)state;
	/*
	 * inputs 10 s old, so that the outputs are newer on a file system
	 * with whole-second times too; whether an output was rewritten is told
	 * by its inode, not by its time
	 */
	assert_int_equal(tu_backdate(dir, 10), 0);
	analysis_opts_default(&o);
	assert_int_equal(analysis_run(dir, &o), 0);
	m1 = inode_of(dir, "analysis.json");
	assert_int_equal(analysis_run(dir, &o), 0);
	assert_true(inode_of(dir, "analysis.json") == m1); /* nothing newer: reused */
	assert_true(inode_of(dir, "coords.npy") > 0);
	o.align = ANALYSIS_ALIGN_GPA;
	assert_int_equal(analysis_run(dir, &o), 0);
	m2 = inode_of(dir, "analysis.json");
	assert_true(m2 != m1);
	p = sub(dir, "analysis.json");
	js = vv_json_load(p);
	assert_string_equal(vv_json_get_string(js, "align", ""), "gpa");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(js, "loss")));
	cJSON_Delete(js);
	free(p);
	/* a newer input (written now: not older than the outputs) forces a recomputation */
	p = vv_work_path(dir, "embeddings", names[1], ".npy");
	assert_int_equal(vv_npy_write(p, VV_F32, (float *)emb->data, 2, shape), 0);
	free(p);
	assert_int_equal(analysis_run(dir, &o), 0);
	assert_true(inode_of(dir, "analysis.json") != m2);
	vv_array_free(&emb);
	free(dir);
}

/*
 * The default alignment keeps the size of the cloud meaningful: frame t of
 * coords.npy divided by the display scale has the spread (Frobenius norm)
 * of checkpoint t's own 2-D PCA of its embeddings; scipy's chain does not.
 */
static void
test_cloud_scale_follows_embeddings(void **state)
{
	char *dir = workdir("spread", 0), *p;
	vv_array *emb = load("seq_emb"), *coords;
	analysis_opts o;
	double pca[N * 2], worst = 0, scale, chain_ratio[T];
	cJSON *js;
	int t, i;

	(void)state;
	/* the last checkpoint's embeddings spread three times wider */
	{
		int64_t shape[2] = { N, D };
		float *e3 = (float *)emb->data + (size_t)2 * N * D;

		for (i = 0; i < N * D; i++)
			e3[i] *= 3;
		p = vv_work_path(dir, "embeddings", names[2], ".npy");
		assert_int_equal(vv_npy_write(p, VV_F32, e3, 2, shape), 0);
		free(p);
	}
	analysis_opts_default(&o);
	for (int pass = 0; pass < 2; pass++) {
		o.align = pass ? ANALYSIS_ALIGN_CHAIN : ANALYSIS_ALIGN_ROTATE;
		assert_int_equal(analysis_run(dir, &o), 0);
		p = sub(dir, "coords.npy");
		assert_int_equal(vv_npy_read(p, &coords), 0);
		free(p);
		p = sub(dir, "analysis.json");
		js = vv_json_load(p);
		free(p);
		assert_non_null(js);
		scale = vv_json_get_double(js, "display_scale", 0);
		assert_true(scale > 0);
		for (t = 0; t < T; t++) {
			double se = 0, sc = 0;

			assert_int_equal(analysis_pca2((float *)emb->data + (size_t)t * N * D, N, D, pca, NULL, NULL), 0);
			for (i = 0; i < N * 2; i++) {
				double v = ((float *)coords->data)[(size_t)t * N * 2 + i] / scale;

				se += pca[i] * pca[i];
				sc += v * v;
			}
			if (pass)
				chain_ratio[t] = sqrt(sc / se);
			else
				worst = fmax(worst, fabs(sqrt(sc / se) - 1));
		}
		cJSON_Delete(js);
		vv_array_free(&coords);
	}
	print_message("cloud spread / PCA spread: rotate within %.2e of 1; chain %.4g %.4g %.4g\n",
		      worst, chain_ratio[0], chain_ratio[1], chain_ratio[2]);
	assert_true(worst <= 1e-5); /* float32 coords */
	/* chain hides the growth (ratio a third for the last frame): the test tells the two apart */
	assert_true(fabs(chain_ratio[2] / chain_ratio[1] - 1) > 0.5);
	vv_array_free(&emb);
	free(dir);
}

static void
test_partial_logits_and_options(void **state)
{
	char *dir = workdir("partial", WF_LOGITS_MID);
	analysis_opts o;
	vv_csv *c;

	(void)state;
	analysis_opts_default(&o);
	o.align = ANALYSIS_ALIGN_ANCHOR;
	o.k = 3;
	o.metric = ANALYSIS_METRIC_EUCLIDEAN;
	o.ood_scale = ANALYSIS_OOD_NONE;
	o.top = 4;
	o.loss_file = FIX "user_loss.csv";
	/* user_loss.csv logs steps 100..300: it covers none of the checkpoints 10..40 */
	assert_int_equal(analysis_run(dir, &o), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "covers none"));
	o.loss_file = FIX "trainer_state.json";
	assert_int_equal(analysis_run(dir, &o), 0);
	c = read_csv(dir, "outliers.csv");
	assert_int_equal(c->ncols, 12);
	/* checkpoint-10 has no logits: empty prediction fields; checkpoint-20 has them */
	assert_string_equal(c->rows[0][8], "");
	assert_string_equal(c->rows[0][11], "");
	assert_string_not_equal(c->rows[N][8], "");
	vv_csv_free(&c);
	free(dir);
}

/* A head trained on other classes: predictions kept, no verdict against labels. */
static void
test_foreign_head(void **state)
{
	char *dir = workdir("foreign", WF_FOREIGN_HEAD);
	analysis_opts o;
	vv_csv *c;
	size_t i;

	(void)state;
	analysis_opts_default(&o);
	assert_int_equal(analysis_run(dir, &o), 0);
	c = read_csv(dir, "outliers.csv");
	for (i = 0; i < c->nrows; i++) {
		assert_string_not_equal(c->rows[i][vv_csv_col(c, "predicted")], "");
		assert_string_equal(c->rows[i][vv_csv_col(c, "misclassified")], "");
		assert_string_equal(c->rows[i][vv_csv_col(c, "label_quality")], "");
	}
	vv_csv_free(&c);
	free(dir);
}

static void
test_report(void **state)
{
	char *dir = workdir("report", 0), *out = sub(tu_tmp, "report.csv");
	analysis_report_opts ro;
	analysis_opts o;
	vv_csv *c = NULL;
	vv_array *escores = load("seq_scores");
	int32_t order[N];
	int i;

	(void)state;
	analysis_report_opts_default(&ro);
	ro.out_path = out;
	assert_int_equal(analysis_report(dir, &ro), VV_ENOTFOUND); /* not analyzed yet */
	assert_non_null(strstr(vv_errmsg(), "analyze"));
	analysis_opts_default(&o);
	assert_int_equal(analysis_run(dir, &o), 0);
	ro.checkpoint_step = 20;
	assert_int_equal(analysis_report(dir, &ro), 0);
	assert_int_equal(vv_csv_read(out, 1 << 20, &c), 0);
	assert_int_equal(c->nrows, 8);
	assert_int_equal(c->ncols, 10);
	assert_string_equal(c->header[0], "rank");
	assert_string_equal(c->header[9], "label_quality");
	assert_int_equal(analysis_rank((float *)escores->data + N, N, order), 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(atoi(c->rows[i][0]), i + 1);
		assert_int_equal(atoi(c->rows[i][1]), order[i]);
	}
	vv_csv_free(&c);
	/* every sample: the path with a comma and a quote survives the round trip */
	ro.top = 0;
	assert_int_equal(analysis_report(dir, &ro), 0);
	assert_int_equal(vv_csv_read(out, 1 << 20, &c), 0);
	assert_int_equal(c->nrows, N);
	for (i = 0; i < N; i++)
		if (!strcmp(c->rows[i][1], "0")) {
			assert_string_equal(c->rows[i][2], "odd,\"name\".png");
			assert_string_equal(c->rows[i][4], classes[0]);
		}
	vv_csv_free(&c);
	ro.checkpoint_step = 99;
	assert_int_equal(analysis_report(dir, &ro), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "10, 20, 40"));
	vv_array_free(&escores);
	free(out);
	free(dir);
}

/* Run on a broken work folder: the code, and a message holding each needle. */
static void
expect_fail(const char *dir, int code, const char *needle1, const char *needle2)
{
	analysis_opts o;

	analysis_opts_default(&o);
	assert_int_equal(analysis_run(dir, &o), code);
	if (needle1 && !strstr(vv_errmsg(), needle1))
		fail_msg("message \"%s\" lacks \"%s\"", vv_errmsg(), needle1);
	if (needle2 && !strstr(vv_errmsg(), needle2))
		fail_msg("message \"%s\" lacks \"%s\"", vv_errmsg(), needle2);
}

static void
write_emb(const char *dir, int t, const float *v, int64_t n, int64_t d)
{
	int64_t shape[2] = { n, d };
	char *p = vv_work_path(dir, "embeddings", names[t], ".npy");

	assert_int_equal(vv_npy_write(p, VV_F32, v, 2, shape), 0);
	free(p);
}

static void
test_bad_input(void **state)
{
	char *dir, *p;
	float *v = calloc(N * (D + 1), sizeof(float));
	vv_array *emb = load("seq_emb");
	cJSON *m;
	FILE *fp;

	(void)state;
	/* empty folder: not a work folder */
	dir = sub(tu_tmp, "empty");
	assert_int_equal(vv_mkdir_p(dir), 0);
	expect_fail(dir, VV_ENOTFOUND, "manifest.json", NULL);
	free(dir);

	/* a missing embeddings file */
	dir = workdir("missing", 0);
	p = vv_work_path(dir, "embeddings", names[1], ".npy");
	unlink(p);
	free(p);
	expect_fail(dir, VV_ENOTFOUND, "checkpoint-20", "embeddings");
	free(dir);

	/* different D, different N */
	dir = workdir("width", 0);
	write_emb(dir, 2, v, N, D + 1);
	expect_fail(dir, VV_EMISMATCH, "checkpoint-40", "50 x 17");
	write_emb(dir, 2, v, N - 1, D);
	expect_fail(dir, VV_EMISMATCH, "checkpoint-40", "49 x 16");
	free(dir);

	/* NaN and Inf: the checkpoint and the row are named */
	dir = workdir("nan", 0);
	memcpy(v, (float *)emb->data + N * D, N * D * sizeof(float));
	v[7 * D + 3] = NAN;
	write_emb(dir, 1, v, N, D);
	expect_fail(dir, VV_EFORMAT, "checkpoint-20", "row 7");
	v[7 * D + 3] = 0;
	v[49 * D] = -INFINITY;
	write_emb(dir, 1, v, N, D);
	expect_fail(dir, VV_EFORMAT, "checkpoint-20", "row 49");
	free(dir);

	/* a truncated .npy */
	dir = workdir("trunc", 0);
	p = vv_work_path(dir, "embeddings", names[0], ".npy");
	assert_int_equal(truncate(p, 300), 0);
	expect_fail(dir, VV_EFORMAT, "checkpoint-10.npy", NULL);
	free(p);
	free(dir);

	/* N <= 1 */
	dir = workdir("one", WF_NO_LOSS);
	p = sub(dir, "manifest.json");
	m = vv_json_load(p);
	cJSON_ReplaceItemInObject(m, "n", cJSON_CreateNumber(1));
	assert_int_equal(vv_json_save(p, m), 0);
	cJSON_Delete(m);
	free(p);
	p = sub(dir, "samples.csv");
	fp = fopen(p, "w");
	fputs("index,path,label,label_name\n0,a.png,0,plane\n", fp);
	fclose(fp);
	free(p);
	expect_fail(dir, VV_EUNSUPPORTED, "at least 2", NULL); /* an input problem: exit 3 */
	free(dir);

	/* samples.csv disagreeing with the manifest */
	dir = workdir("rows", 0);
	p = sub(dir, "samples.csv");
	fp = fopen(p, "w");
	fputs("index,path,label,label_name\n0,a.png,0,plane\n1,b.png,0,plane\n", fp);
	fclose(fp);
	free(p);
	expect_fail(dir, VV_EMISMATCH, "samples.csv", NULL);
	free(dir);

	/* a loss log given as an option that does not exist */
	dir = workdir("noloss", 0);
	{
		analysis_opts o;

		analysis_opts_default(&o);
		o.loss_file = "/nonexistent/trainer_state.json";
		assert_int_equal(analysis_run(dir, &o), VV_ENOTFOUND);
		assert_non_null(strstr(vv_errmsg(), "/nonexistent/trainer_state.json"));
		o.loss_file = NULL;
		o.k = N;
		assert_int_equal(analysis_run(dir, &o), VV_EINVAL);
		assert_non_null(strstr(vv_errmsg(), "checkpoint-10"));
	}
	free(dir);
	vv_array_free(&emb);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_outputs),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_cloud_scale_follows_embeddings),
		cmocka_unit_test(test_partial_logits_and_options),
		cmocka_unit_test(test_foreign_head),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
