/*
 * test_datamap.c - the data map (render/render_datamap.h): picture size,
 * the top label issues ringed at the pixels of their (variability,
 * confidence), nothing ringed elsewhere, the PNG from a work folder, and
 * the errors without dynamics or without label metrics.
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

#include <cjson/cJSON.h>

#include "analysis/analysis_dynamics.h"
#include "analysis/analysis_dynamics_stage.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "render/render_datamap.h"
#include "render/render_palette.h"
#include "tests/test_util.h"

#define N 40
#define NC 4

/*
 * Sample i sits on a grid cell of its own (well apart from the others);
 * samples 3, 10, 17, ... get label_issue_rank 1, 2, ... in a shuffled order.
 */
static void
fill_table(float *v)
{
	static const int ringed[8] = { 17, 3, 31, 10, 24, 38, 6, 29 };
	int i, r, rank = 9;

	for (i = 0; i < N; i++) {
		float *row = v + (size_t)i * ANALYSIS_DYN_NCOLS;

		memset(row, 0, ANALYSIS_DYN_NCOLS * sizeof(*row));
		row[ANALYSIS_DYN_VARIABILITY] = 0.03f + 0.055f * (float)(i % 8);
		row[ANALYSIS_DYN_CONFIDENCE] = 0.08f + 0.18f * (float)(i / 8);
		row[ANALYSIS_DYN_CORRECTNESS] = (float)(i % 5) / 4;
		row[ANALYSIS_DYN_LABEL_ISSUE] = 0.1f;
		row[ANALYSIS_DYN_USUAL_PREDICTION] = (float)((i + 1) % NC);
		row[ANALYSIS_DYN_LABEL_ISSUE_RANK] = 0;
	}
	for (r = 0; r < 8; r++) {
		v[(size_t)ringed[r] * ANALYSIS_DYN_NCOLS + ANALYSIS_DYN_LABEL_ISSUE_RANK] = (float)(r + 1);
		v[(size_t)ringed[r] * ANALYSIS_DYN_NCOLS + ANALYSIS_DYN_LABEL_ISSUE] = 0.9f - 0.01f * (float)r;
	}
	for (i = 0; i < N; i++)
		if (v[(size_t)i * ANALYSIS_DYN_NCOLS + ANALYSIS_DYN_LABEL_ISSUE_RANK] == 0)
			v[(size_t)i * ANALYSIS_DYN_NCOLS + ANALYSIS_DYN_LABEL_ISSUE_RANK] = (float)rank++;
}

/* The RGB of pixel (x, y) of an opaque ARGB32 surface. */
static void
pixel(cairo_surface_t *s, double x, double y, int rgb[3])
{
	const unsigned char *d = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	uint32_t p;

	memcpy(&p, d + (size_t)floor(y) * (size_t)stride + (size_t)floor(x) * 4, 4);
	rgb[0] = (int)(p >> 16 & 255);
	rgb[1] = (int)(p >> 8 & 255);
	rgb[2] = (int)(p & 255);
}

static int
near_color(const int rgb[3], render_rgb c, int tol)
{
	return abs(rgb[0] - (int)lround(c.r * 255)) <= tol && abs(rgb[1] - (int)lround(c.g * 255)) <= tol &&
	       abs(rgb[2] - (int)lround(c.b * 255)) <= tol;
}

/* The rings are where the ranked samples are, and only there. */
static void
check_rings(cairo_surface_t *surf, const float *v, int nring)
{
	int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
	render_theme_colors tc;
	render_datamap_geom g;
	int i, rgb[3], rings = 0;

	render_theme_colors_get(RENDER_THEME_LIGHT, &tc);
	render_datamap_geometry(w, h, &g);
	for (i = 0; i < N; i++) {
		const float *row = v + (size_t)i * ANALYSIS_DYN_NCOLS;
		int ringed = row[ANALYSIS_DYN_LABEL_ISSUE_RANK] <= nring;
		double px, py, dx, dy;
		int k, hits = 0;

		render_datamap_pos(&g, row[ANALYSIS_DYN_VARIABILITY], row[ANALYSIS_DYN_CONFIDENCE], &px, &py);
		/* four points on the ring: left, right, top, bottom of the centre */
		for (k = 0; k < 4; k++) {
			dx = k == 0 ? -g.ring_r : k == 1 ? g.ring_r : 0;
			dy = k == 2 ? -g.ring_r : k == 3 ? g.ring_r : 0;
			pixel(surf, px + dx, py + dy, rgb);
			hits += near_color(rgb, tc.fg, 40);
		}
		if (ringed && hits < 3)
			fail_msg("sample %d (rank %g) at (%.1f, %.1f): only %d of 4 ring pixels", i,
				 (double)row[ANALYSIS_DYN_LABEL_ISSUE_RANK], px, py, hits);
		if (!ringed && hits > 0)
			fail_msg("sample %d (rank %g) at (%.1f, %.1f): ringed but should not be", i,
				 (double)row[ANALYSIS_DYN_LABEL_ISSUE_RANK], px, py);
		/* the dot itself is not drawn in the ring colour */
		pixel(surf, px, py, rgb);
		assert_false(near_color(rgb, tc.fg, 40));
		rings += ringed;
	}
	assert_int_equal(rings, nring);
}

static void
test_draw(void **state)
{
	static const char *const names[NC] = { "cat", "dog", "bird", "\xe7\x8c\xab" };
	float v[N * ANALYSIS_DYN_NCOLS];
	analysis_dyn_table t = { .n = N, .label_metrics = 1, .v = v };
	vv_samples s;
	char *paths[N], *lnames[N];
	int labels[N], i, sizes[2][2] = { { 1920, 1080 }, { 1280, 720 } }, k;

	(void)state;
	fill_table(v);
	for (i = 0; i < N; i++) {
		paths[i] = "x/some_file.png";
		labels[i] = i % NC;
		lnames[i] = (char *)names[i % NC];
	}
	s = (vv_samples){ .n = N, .path = paths, .label = labels, .label_name = lnames };
	for (k = 0; k < 2; k++) {
		cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, sizes[k][0], sizes[k][1]);
		cairo_t *cr = cairo_create(surf);
		render_datamap_data d = { .dyn = &t, .samples = &s, .class_names = names, .nclasses = NC,
					  .ncheckpoints = 20, .title = "Data map" };

		render_datamap_draw(cr, sizes[k][0], sizes[k][1], &d, RENDER_THEME_LIGHT, 8);
		assert_int_equal(cairo_status(cr), CAIRO_STATUS_SUCCESS);
		cairo_destroy(cr);
		cairo_surface_flush(surf);
		check_rings(surf, v, 8);
		cairo_surface_destroy(surf);
	}
	/* fewer rings asked: only the first ranks */
	{
		cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1920, 1080);
		cairo_t *cr = cairo_create(surf);
		render_datamap_data d = { .dyn = &t, .samples = &s, .class_names = names, .nclasses = NC,
					  .ncheckpoints = 20, .title = NULL };

		render_datamap_draw(cr, 1920, 1080, &d, RENDER_THEME_LIGHT, 3);
		cairo_destroy(cr);
		cairo_surface_flush(surf);
		check_rings(surf, v, 3);
		cairo_surface_destroy(surf);
	}
}

/* A work folder holding only what the data map reads. */
static void
make_work(const char *dir, int label_metrics)
{
	static const char *const classes[NC] = { "cat", "dog", "bird", "fish" };
	float v[N * ANALYSIS_DYN_NCOLS];
	int64_t shape[2] = { N, ANALYSIS_DYN_NCOLS };
	cJSON *root = cJSON_CreateObject(), *arr = NULL, *dj = cJSON_CreateObject();
	char *p;
	FILE *fp;
	int i;

	assert_int_equal(vv_mkdir_p(dir), 0);
	cJSON_AddNumberToObject(root, "format", 1);
	cJSON_AddStringToObject(root, "run", "/abs/noisy-run");
	cJSON_AddStringToObject(root, "data", "/abs/data");
	cJSON_AddStringToObject(root, "data_kind", "folder");
	cJSON_AddNumberToObject(root, "n", N);
	cJSON_AddNumberToObject(root, "dim", 8);
	cJSON_AddNumberToObject(root, "num_labels", NC);
	cJSON_AddStringToObject(root, "pool", "cls");
	cJSON_AddItemToObject(root, "classes", cJSON_CreateStringArray(classes, NC));
	arr = cJSON_AddArrayToObject(root, "checkpoints");
	for (i = 0; i < 3; i++) {
		cJSON *ck = cJSON_CreateObject();
		char name[32];

		snprintf(name, sizeof(name), "checkpoint-%d", 10 * (i + 1));
		cJSON_AddStringToObject(ck, "name", name);
		cJSON_AddNumberToObject(ck, "step", 10 * (i + 1));
		cJSON_AddStringToObject(ck, "path", "/abs/run/ck");
		cJSON_AddStringToObject(ck, "format", "safetensors");
		cJSON_AddStringToObject(ck, "fingerprint", "0123");
		cJSON_AddBoolToObject(ck, "has_logits", 1);
		cJSON_AddItemToArray(arr, ck);
	}
	p = vv_path_join(dir, "manifest.json");
	assert_int_equal(vv_json_save(p, root), 0);
	free(p);
	cJSON_Delete(root);
	p = vv_path_join(dir, "samples.csv");
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("index,path,label,label_name\n", fp);
	for (i = 0; i < N; i++)
		fprintf(fp, "%d,%s/%02d.png,%d,%s\n", i, classes[i % NC], i, i % NC, classes[i % NC]);
	fclose(fp);
	free(p);
	fill_table(v);
	p = vv_path_join(dir, "dynamics.npy");
	assert_int_equal(vv_npy_write(p, VV_F32, v, 2, shape), 0);
	free(p);
	cJSON_AddNumberToObject(dj, "format", 2);
	cJSON_AddBoolToObject(dj, "label_metrics", label_metrics);
	p = vv_path_join(dir, "dynamics.json");
	assert_int_equal(vv_json_save(p, dj), 0);
	free(p);
	cJSON_Delete(dj);
}

static void
test_png(void **state)
{
	char *dir = vv_path_join(tu_tmp, "work"), *png = vv_path_join(tu_tmp, "map.png");
	float v[N * ANALYSIS_DYN_NCOLS];
	cairo_surface_t *img;
	render_opts o;

	(void)state;
	make_work(dir, 1);
	fill_table(v);
	render_opts_default(&o);
	o.width = 1600;
	o.height = 900;
	assert_int_equal(render_datamap_png(dir, png, &o), 0);
	img = cairo_image_surface_create_from_png(png);
	assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
	assert_int_equal(cairo_image_surface_get_width(img), 1600);
	assert_int_equal(cairo_image_surface_get_height(img), 900);
	check_rings(img, v, 8);
	cairo_surface_destroy(img);
	/* the still path: render_still with data_map */
	o.data_map = 1;
	o.top = 5;
	assert_int_equal(render_still(dir, -1, png, &o), 0);
	img = cairo_image_surface_create_from_png(png);
	check_rings(img, v, 5);
	cairo_surface_destroy(img);
	assert_int_equal(tu_count_tmp(tu_tmp), 0);
	free(png);
	free(dir);
}

static void
test_errors(void **state)
{
	char *dir = vv_path_join(tu_tmp, "nolabels"), *png = vv_path_join(tu_tmp, "none.png"), *p;
	render_opts o;

	(void)state;
	vv_verbosity = 0;
	render_opts_default(&o);
	make_work(dir, 0);
	assert_int_equal(render_datamap_png(dir, png, &o), VV_EUNSUPPORTED);
	assert_non_null(strstr(vv_errmsg(), "classifier head"));
	assert_false(tu_exists(png));
	p = vv_path_join(dir, "dynamics.npy");
	assert_int_equal(remove(p), 0);
	free(p);
	assert_int_equal(render_datamap_png(dir, png, &o), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "vitviz analyze"));
	assert_false(tu_exists(png));
	free(png);
	free(dir);
}

static int
setup(void **state)
{
	(void)state;
	vv_verbosity = 0;
	return tu_setup("test_datamap");
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
		cmocka_unit_test(test_draw),
		cmocka_unit_test(test_png),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
