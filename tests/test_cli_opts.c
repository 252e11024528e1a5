/*
 * test_cli_opts.c - each option of embed / analyze / render has the effect
 * its help line promises, seen in the outputs: --limit and --per-class in
 * samples.csv, --pool in the manifest and the embeddings, --threads
 * changes nothing, --batch nothing beyond float32 rounding; --k, --metric, --ood-scale, --align and --loss
 * in analysis.json and the scores; --size, --fps, --seconds-per-checkpoint,
 * --hold and --frames in the frames written, --theme in the pixels, --crf
 * in the file size.  (--force: test_rerun; --strict: test_badinput;
 * --label-map / --labels-by-index: test_labels; --arch / --ema: test_timm;
 * --title and frame's options: test_cli_edges.)  Runs ./build/vitviz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/vv_csv.h"
#include "common/vv_json.h"
#include "common/vv_npy.h"
#include "tests/test_util.h"

#define OPTS "--per-class 4 --threads 1"

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_cli_opts") || tu_demo_subset("run", 3))
		return -1;
	/* the reference work folder: defaults but for a small sample */
	return tu_run("--quiet embed %s --data %s -o %s " OPTS, tu_path("run"), TU_DEMO_DATA, tu_path("w")) ||
	       tu_run("--quiet analyze %s", tu_path("w"));
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static vv_csv *
samples_of(const char *work)
{
	vv_csv *c = NULL;
	char p[600];

	snprintf(p, sizeof(p), "%s/samples.csv", tu_path(work));
	if (vv_csv_read(p, 1 << 22, &c))
		fail_msg("%s unreadable", p);
	return c;
}

static cJSON *
json_of(const char *work, const char *name)
{
	char p[600];
	cJSON *j;

	snprintf(p, sizeof(p), "%s/%s", tu_path(work), name);
	j = vv_json_load(p);
	if (!j)
		fail_msg("%s unreadable", p);
	return j;
}

static void
test_embed_options(void **state)
{
	vv_csv *c;
	cJSON *m;
	int counts[10] = { 0 };
	size_t i;

	(void)state;
	/* --limit: the first N samples */
	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s --limit 7 --threads 1", tu_path("run"), TU_DEMO_DATA,
				tu_path("wl")), 0);
	c = samples_of("wl");
	assert_int_equal(c->nrows, 7);
	vv_csv_free(&c);
	/* --per-class: N of each of the 10 classes */
	c = samples_of("w");
	assert_int_equal(c->nrows, 40);
	for (i = 0; i < c->nrows; i++)
		counts[atoi(c->rows[i][vv_csv_col(c, "label")])]++;
	for (i = 0; i < 10; i++)
		assert_int_equal(counts[i], 4);
	vv_csv_free(&c);
	/* --pool mean: recorded, and other embeddings than the CLS token's */
	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s --pool mean " OPTS, tu_path("run"), TU_DEMO_DATA,
				tu_path("wm")), 0);
	m = json_of("wm", "manifest.json");
	assert_string_equal(vv_json_get_string(m, "pool", ""), "mean");
	cJSON_Delete(m);
	m = json_of("w", "manifest.json");
	assert_string_equal(vv_json_get_string(m, "pool", ""), "cls");
	cJSON_Delete(m);
	assert_false(tu_files_equal(tu_path("w/embeddings/checkpoint-450.npy"), tu_path("wm/embeddings/checkpoint-450.npy")));
	/* --threads changes nothing in the outputs (the help's promise) */
	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s --per-class 4 --threads 2", tu_path("run"),
				TU_DEMO_DATA, tu_path("wt")), 0);
	for (i = 0; i < 3; i++) {
		static const char *const ck[3] = { "checkpoint-15", "checkpoint-225", "checkpoint-450" };
		char a[64], b[64];

		snprintf(a, sizeof(a), "w/embeddings/%s.npy", ck[i]);
		snprintf(b, sizeof(b), "wt/embeddings/%s.npy", ck[i]);
		assert_true(tu_files_equal(tu_path(a), tu_path(b)));
		snprintf(a, sizeof(a), "w/logits/%s.npy", ck[i]);
		snprintf(b, sizeof(b), "wt/logits/%s.npy", ck[i]);
		assert_true(tu_files_equal(tu_path(a), tu_path(b)));
	}
	/*
	 * --batch: the same embeddings and logits within float32 rounding (the
	 * GEMMs' shapes follow the batch: SkylakeX kernels gave identical
	 * embeddings and logits 6e-8 apart, Haswell kernels differ in the
	 * embeddings too); the help promises sameness for --threads only
	 */
	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s --per-class 4 --batch 3 --threads 1", tu_path("run"),
				TU_DEMO_DATA, tu_path("wb")), 0);
	{
		static const char *const what[2] = { "embeddings", "logits" };

		for (i = 0; i < 2; i++) {
			vv_array *a = tu_load_npy("%s/%s/checkpoint-450.npy", tu_path("w"), what[i]);
			vv_array *b = tu_load_npy("%s/%s/checkpoint-450.npy", tu_path("wb"), what[i]);
			double d = tu_max_diff_array(a, b, what[i]);

			print_message("%s batch 16 vs 3: max |diff| %.3g\n", what[i], d);
			assert_true(d <= 1e-5);
			vv_array_free(&b);
			vv_array_free(&a);
		}
	}
}

static void
test_analyze_options(void **state)
{
	cJSON *a;
	FILE *f;

	(void)state;
	a = json_of("w", "analysis.json");
	assert_int_equal(vv_json_get_int(a, "k", -1), 10);
	assert_string_equal(vv_json_get_string(a, "metric", ""), "cosine");
	assert_string_equal(vv_json_get_string(a, "ood_scale", ""), "median");
	assert_string_equal(vv_json_get_string(a, "align", ""), "rotate");
	cJSON_Delete(a);
	assert_int_equal(tu_sh("cp -r '%s' '%s'", tu_path("w"), tu_path("wa")), 0);
	f = fopen(tu_path("loss.csv"), "w");
	assert_non_null(f);
	fputs("step,loss\n15,2.5\n225,1.25\n450,0.5\n", f);
	fclose(f);
	assert_int_equal(tu_run("--quiet analyze %s --k 3 --metric euclidean --ood-scale none --align chain --loss %s",
				tu_path("wa"), tu_path("loss.csv")), 0);
	a = json_of("wa", "analysis.json");
	assert_int_equal(vv_json_get_int(a, "k", -1), 3);
	assert_string_equal(vv_json_get_string(a, "metric", ""), "euclidean");
	assert_string_equal(vv_json_get_string(a, "ood_scale", ""), "none");
	assert_string_equal(vv_json_get_string(a, "align", ""), "chain");
	assert_string_equal(vv_json_get_string(cJSON_GetObjectItem(a, "loss"), "kind", ""), "csv");
	cJSON_Delete(a);
	assert_false(tu_files_equal(tu_path("w/scores.npy"), tu_path("wa/scores.npy")));
	assert_false(tu_files_equal(tu_path("w/coords.npy"), tu_path("wa/coords.npy")));
	/* the loss curve is the file's */
	{
		vv_csv *c = NULL;

		assert_int_equal(vv_csv_read(tu_path("wa/loss.csv"), 1 << 20, &c), 0);
		assert_true(c->nrows >= 3);
		assert_non_null(strstr(c->rows[0][vv_csv_col(c, "loss")], "2.5"));
		vv_csv_free(&c);
	}
}

/* PNG files in a folder. */
static int
count_png(const char *dir)
{
	char cmd[700], buf[32];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '\\.png$'", dir);
	p = popen(cmd, "r");
	if (p && fgets(buf, sizeof(buf), p))
		n = atoi(buf);
	if (p)
		pclose(p);
	return n;
}

static long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void
test_render_options(void **state)
{
	cairo_surface_t *s;
	uint32_t px;

	(void)state;
	/* 3 checkpoints x 0.4 s + 0.6 s hold at 5 fps = 9 frames of 160x120 */
	assert_int_equal(tu_run("--quiet render %s -o %s --size 160x120 --fps 5 --seconds-per-checkpoint 0.4 "
				"--hold 0.6 --frames %s --theme dark",
				tu_path("w"), tu_path("a.mp4"), tu_path("frames")), 0);
	assert_int_equal(count_png(tu_path("frames")), 9);
	assert_int_equal(tu_sh("ls '%s' | head -1 | grep -q png", tu_path("frames")), 0);
	assert_int_equal(tu_sh("f=$(ls -d '%s'/*.png | tail -1) && cp \"$f\" '%s'", tu_path("frames"),
			       tu_path("last.png")), 0);
	s = cairo_image_surface_create_from_png(tu_path("last.png"));
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	assert_int_equal(cairo_image_surface_get_width(s), 160);
	assert_int_equal(cairo_image_surface_get_height(s), 120);
	cairo_surface_flush(s);
	px = ((const uint32_t *)cairo_image_surface_get_data(s))[0] & 0xffffff;
	cairo_surface_destroy(s);
	/* dark theme: a dark background (light: white) */
	print_message("dark theme corner pixel %06x\n", px);
	assert_true(((px >> 16) & 255) < 64 && ((px >> 8) & 255) < 64 && (px & 255) < 64);
	/* --fps 10 doubles the frames */
	assert_int_equal(tu_run("--quiet render %s -o %s --size 160x120 --fps 10 --seconds-per-checkpoint 0.4 "
				"--hold 0.6 --frames %s",
				tu_path("w"), tu_path("b.mp4"), tu_path("frames10")), 0);
	assert_int_equal(count_png(tu_path("frames10")), 18);
	/* --crf: a higher value, a smaller file */
	assert_int_equal(tu_run("--quiet render %s -o %s --size 320x240 --fps 5 --seconds-per-checkpoint 0.4 --hold 0.6 "
				"--crf 40",
				tu_path("w"), tu_path("c40.mp4")), 0);
	assert_int_equal(tu_run("--quiet render %s -o %s --size 320x240 --fps 5 --seconds-per-checkpoint 0.4 --hold 0.6 "
				"--crf 10",
				tu_path("w"), tu_path("c10.mp4")), 0);
	print_message("crf 10: %ld bytes, crf 40: %ld bytes\n", file_size(tu_path("c10.mp4")),
		      file_size(tu_path("c40.mp4")));
	assert_true(file_size(tu_path("c40.mp4")) > 0 && file_size(tu_path("c40.mp4")) < file_size(tu_path("c10.mp4")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embed_options),
		cmocka_unit_test(test_analyze_options),
		cmocka_unit_test(test_render_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
