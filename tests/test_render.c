/* test_render.c - the render stage: inputs, layout, dots, text, stills. */
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
#include <unistd.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "render/render_frame.h"
#include "render/render_inputs.h"
#include "render/render_layout.h"
#include "render/render_palette.h"
#include "render/render_run.h"
#include "render/render_scatter.h"
#include "render/render_text.h"
#include "render/render_timeline.h"
#include "tests/render_testwork.h"
#include "tests/test_util.h"

static int
setup(void **state)
{
	(void)state;
	vv_verbosity = 0;
	return tu_setup("test_render");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static void
small_opts(render_opts *o, int w, int h)
{
	render_opts_default(o);
	o->width = w;
	o->height = h;
	o->thumb_load = test_thumb_load;
	o->thumb_free = test_thumb_free;
}

static uint32_t
pixel(cairo_surface_t *s, int x, int y)
{
	cairo_surface_flush(s);
	return ((const uint32_t *)(cairo_image_surface_get_data(s) +
				   (size_t)y * cairo_image_surface_get_stride(s)))[x];
}

/* ---- options ---------------------------------------------------------------------- */

static void
test_parse_size(void **state)
{
	int w = 0, h = 0;

	(void)state;
	assert_int_equal(render_parse_size("1920x1080", &w, &h), 0);
	assert_int_equal(w, 1920);
	assert_int_equal(h, 1080);
	assert_int_equal(render_parse_size("320X240", &w, &h), 0);
	assert_int_equal(w, 320);
	assert_int_equal(render_parse_size("1921x1080", &w, &h), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "even"));
	assert_non_null(strstr(vv_errmsg(), "1921x1080"));
	assert_int_equal(render_parse_size("1920x1081", &w, &h), VV_EINVAL);
	assert_int_equal(render_parse_size("8x8", &w, &h), VV_EINVAL);
	assert_int_equal(render_parse_size("9000x1000", &w, &h), VV_EINVAL);
	assert_int_equal(render_parse_size("big", &w, &h), VV_EINVAL);
	assert_int_equal(render_parse_size("1920x", &w, &h), VV_EINVAL);
	assert_int_equal(render_parse_size("1920x1080junk", &w, &h), VV_EINVAL);
	assert_int_equal(render_parse_size("-1920x1080", &w, &h), VV_EINVAL);
}

static void
test_timeline(void **state)
{
	render_time tm;
	double prev = -1;

	(void)state;
	/* 3 checkpoints x 0.5 s + 2 s hold at 10 fps */
	assert_int_equal(render_timeline_frames(3, 0.5, 2.0, 10), 35);
	assert_int_equal(render_timeline_frames(2, 1.0, 0, 30), 60);
	assert_int_equal(render_timeline_frames(3, 0.5, 2.0, 25), 88);
	/* the first checkpoint's time is a still */
	render_timeline_at(3, 0.5, 0.2, &tm);
	assert_int_equal(tm.from, 0);
	assert_int_equal(tm.to, 0);
	assert_true(tm.mix == 1);
	/* then 0 -> 1, eased, monotonic, arriving before the segment ends */
	for (double t = 0.5; t < 1.0; t += 0.01) {
		render_timeline_at(3, 0.5, t, &tm);
		assert_int_equal(tm.from, 0);
		assert_int_equal(tm.to, 1);
		assert_true(tm.mix >= prev - 1e-12 && tm.mix >= 0 && tm.mix <= 1);
		prev = tm.mix;
	}
	render_timeline_at(3, 0.5, 0.5 + 0.5 * RENDER_MOTION_FRACTION / 2, &tm);
	assert_true(fabs(tm.mix - 0.5) < 1e-9); /* smoothstep midpoint */
	render_timeline_at(3, 0.5, 0.99, &tm);
	assert_true(tm.mix == 1);
	render_timeline_at(3, 0.5, 1.2, &tm);
	assert_int_equal(tm.from, 1);
	assert_int_equal(tm.to, 2);
	/* hold */
	render_timeline_at(3, 0.5, 3.4, &tm);
	assert_int_equal(tm.from, 2);
	assert_int_equal(tm.to, 2);
	assert_true(tm.mix == 1);
	assert_true(render_ease(0) == 0 && render_ease(1) == 1 && fabs(render_ease(0.25) - 0.15625) < 1e-12);
}

/* ---- dots ------------------------------------------------------------------------------- */

static void
test_dots_blit(void **state)
{
	render_rgb col[2] = { { 1, 0, 0 }, { 0, 0, 1 } };
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 40, 30);
	render_dots *d = NULL;
	render_dot_target t;
	float xy[] = { 10.25f, 10.25f, -3, 5, 41, 29, NAN, 3, 20, 500000, 30.7f, 20.2f };
	int cls[] = { 0, 0, 1, 0, 1, 7 };
	uint32_t c;
	cairo_t *cr = cairo_create(s);

	(void)state;
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_destroy(cr);
	assert_int_equal(render_dots_alloc(&d, 2, col, 3.0, 0.5), 0);
	assert_int_equal(render_dots_alloc(&(render_dots *){ NULL }, 0, col, 3.0, 0.5), VV_EINVAL);
	cairo_surface_flush(s);
	t.data = cairo_image_surface_get_data(s);
	t.stride = cairo_image_surface_get_stride(s);
	t.x0 = 0;
	t.y0 = 0;
	t.x1 = 40;
	t.y1 = 30;
	/* off-surface, NaN, huge and bad-class dots are clipped or skipped, not crashes */
	render_dots_draw(d, &t, xy, cls, NULL, 6);
	cairo_surface_mark_dirty(s);
	/* centre: half-transparent red over white */
	c = pixel(s, 10, 10);
	assert_int_equal((c >> 16) & 255, 255);
	assert_true(abs((int)((c >> 8) & 255) - 128) <= 1);
	assert_true(abs((int)(c & 255) - 128) <= 1);
	/* far from any dot: untouched */
	assert_int_equal(pixel(s, 25, 5), 0xffffffffu);
	/* the class-7 dot at (30.7, 20.2) was skipped */
	assert_int_equal(pixel(s, 30, 20), 0xffffffffu);
	/* the clipped dot at (41, 29) reaches the corner */
	assert_true(pixel(s, 39, 28) != 0xffffffffu);
	render_dots_free(&d);
	assert_null(d);
	cairo_surface_destroy(s);
}

/* Sprite dots vs cairo_arc discs at the same positions: mean difference small. */
static double
dots_vs_cairo(int centred, double *maxdiff)
{
	const int W = 200, H = 150, N = 400;
	render_rgb col[3] = { { 0.12, 0.47, 0.71 }, { 1, 0.5, 0.05 }, { 0.17, 0.63, 0.17 } };
	cairo_surface_t *a = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
	cairo_surface_t *b = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
	float *xy = malloc(sizeof(float) * 2 * N);
	int *cls = malloc(sizeof(int) * N);
	render_dots *d = NULL;
	render_dot_target t;
	double sum = 0, mx = 0;
	cairo_t *cr;
	uint32_t seed = 1;

	for (int i = 0; i < N; i++) {
		seed = seed * 1664525u + 1013904223u;
		xy[2 * i] = 5 + (seed >> 8) % 19000 / 100.0f;
		seed = seed * 1664525u + 1013904223u;
		xy[2 * i + 1] = 5 + (seed >> 8) % 14000 / 100.0f;
		if (centred) {
			/* on the centres of the quarter-pixel bins: the sprites are then exact */
			xy[2 * i] = floorf(xy[2 * i] * 4) / 4 + 0.125f;
			xy[2 * i + 1] = floorf(xy[2 * i + 1] * 4) / 4 + 0.125f;
		}
		cls[i] = i % 3;
	}
	for (int k = 0; k < 2; k++) {
		cr = cairo_create(k ? b : a);
		cairo_set_source_rgb(cr, 1, 1, 1);
		cairo_paint(cr);
		if (k) {
			/* reference: cairo_arc per dot */
			for (int i = 0; i < N; i++) {
				cairo_set_source_rgba(cr, col[cls[i]].r, col[cls[i]].g, col[cls[i]].b, 0.7);
				cairo_arc(cr, xy[2 * i], xy[2 * i + 1], 3.5, 0, 2 * M_PI);
				cairo_fill(cr);
			}
		}
		cairo_destroy(cr);
	}
	assert_int_equal(render_dots_alloc(&d, 3, col, 3.5, 0.7), 0);
	cairo_surface_flush(a);
	t = (render_dot_target){ cairo_image_surface_get_data(a), cairo_image_surface_get_stride(a), 0, 0, W, H };
	render_dots_draw(d, &t, xy, cls, NULL, N);
	cairo_surface_mark_dirty(a);
	cairo_surface_flush(b);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint32_t p = pixel(a, x, y), q = pixel(b, x, y);

			for (int sh = 0; sh < 24; sh += 8) {
				double dd = fabs((double)((p >> sh) & 255) - ((q >> sh) & 255));

				sum += dd;
				mx = fmax(mx, dd);
			}
		}
	render_dots_free(&d);
	free(xy);
	free(cls);
	cairo_surface_destroy(a);
	cairo_surface_destroy(b);
	*maxdiff = mx;
	return sum / (W * H * 3);
}

static void
test_dots_match_cairo(void **state)
{
	double mc, mr, xc, xr;

	(void)state;
	mc = dots_vs_cairo(1, &xc);
	mr = dots_vs_cairo(0, &xr);
	print_message("sprite vs cairo_arc, 400 dots r=3.5: on bin centres mean |diff| %.3f max %.0f; "
		      "anywhere mean %.3f max %.0f (of 255)\n", mc, xc, mr, xr);
	/* same discs where the positions agree (8x8-sampled vs exact coverage) ... */
	assert_true(mc < 0.8);
	assert_true(xc <= 24);
	/* ... and within an eighth of a pixel of position anywhere */
	assert_true(mr < 2);
}

/* ---- text ---------------------------------------------------------------------------------- */

static long
ink(const char *text, uint8_t *mask, int w, int h)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
	cairo_t *cr = cairo_create(s);
	render_text_style st = { 40, 0, { 0, 0, 0 }, 1, RENDER_ALIGN_LEFT, 0 };
	long n = 0;

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	render_text_draw(cr, text, &st, 4, 4, NULL, NULL);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int on = (pixel(s, x, y) & 255) < 128;

			mask[y * w + x] = (uint8_t)on;
			n += on;
		}
	cairo_surface_destroy(s);
	return n;
}

static void
test_cjk_text(void **state)
{
	uint8_t a[80 * 60], b[80 * 60];
	long na, nb, diff = 0;

	(void)state;
	/* every character has a real glyph through fontconfig's fallback (WenQuanYi) */
	assert_int_equal(render_text_unknown_glyphs("\xe7\x8c\xab", 24), 0);                 /* 猫 */
	assert_int_equal(render_text_unknown_glyphs("\xe7\x8b\x97 dog \xc3\xa9t\xc3\xa9", 24), 0); /* 狗 dog été */
	/* the check can fail: an unassigned code point (U+0378) has no glyph */
	assert_true(render_text_unknown_glyphs("\xcd\xb8", 24) > 0);
	/* and the ink differs from the box drawn for a missing glyph */
	na = ink("\xe7\x8c\xab", a, 80, 60);
	nb = ink("\xcd\xb8", b, 80, 60);
	for (int k = 0; k < 80 * 60; k++)
		diff += a[k] != b[k];
	print_message("ink: cat glyph %ld px, missing-glyph box %ld px, differing %ld px\n", na, nb, diff);
	assert_true(na > 50);
	assert_true(diff > na / 4);
}

/* ---- inputs ----------------------------------------------------------------------------------- */

static void
test_inputs_load(void **state)
{
	test_work w = { 60, 3, 4, NULL, 1, 1, 1 };
	render_inputs *in = NULL;
	char *dir = tu_path("in_ok");

	(void)state;
	assert_int_equal(make_work(dir, &w), 0);
	assert_int_equal(render_inputs_load(dir, &in), 0);
	assert_int_equal(in->T, 3);
	assert_int_equal(in->n, 60);
	assert_int_equal(in->frames[2].step, 300);
	assert_int_equal(in->frames[1].ntop, 8);
	assert_int_equal(in->frames[1].top[3].index, test_top_index(&w, 1, 3));
	assert_int_equal(in->frames[1].top[1].predicted, (test_top_index(&w, 1, 1) + 1) % 4);
	assert_true(in->loss.n == 30);
	assert_true(isnan(in->loss.eval_loss[0]) && isfinite(in->loss.eval_loss[3]));
	assert_int_equal(render_inputs_find_step(in, 200), 1);
	assert_int_equal(render_inputs_find_step(in, -1), 2);
	assert_int_equal(render_inputs_find_step(in, 250), -1);
	render_inputs_free(&in);
	assert_null(in);
}

/* Corrupt one file of a good work folder and expect `code` with the file named. */
static void
expect_bad(const char *sub, const char *file, const char *content, size_t len, int code, const char *named)
{
	test_work w = { 30, 2, 3, NULL, 1, 0, 1 };
	render_inputs *in = NULL;
	char *dir = tu_path(sub), *p;

	assert_int_equal(make_work(dir, &w), 0);
	p = vv_path_join(dir, file);
	if (content)
		assert_int_equal(vv_write_file_atomic(p, content, len), 0);
	else
		unlink(p);
	free(p);
	assert_int_equal(render_inputs_load(dir, &in), code);
	assert_null(in);
	assert_non_null(strstr(vv_errmsg(), named));
}

/* An .npy file image: v1.0 header for float32 `shape`, then `ndata` bytes of 0x01. */
static size_t
npy_image(char *buf, const char *shape, size_t ndata)
{
	char dict[118];
	int n = snprintf(dict, sizeof(dict), "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);

	memset(dict + n, ' ', sizeof(dict) - 1 - n);
	dict[sizeof(dict) - 1] = '\n';
	memcpy(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
	memcpy(buf + 10, dict, 118);
	memset(buf + 128, 1, ndata);
	return 128 + ndata;
}

static void
test_inputs_bad(void **state)
{
	char npy_wrong[128 + 2 * 29 * 2 * 4], npy_trunc[128 + 2];
	size_t nw = npy_image(npy_wrong, "(2, 29, 2)", 2 * 29 * 2 * 4), nt = npy_image(npy_trunc, "(2, 30, 2)", 2);
	const char *bad_top = "{\"format\":1,\"frames\":[{\"checkpoint\":\"checkpoint-100\",\"top\":[{\"index\":30}]},"
			      "{\"checkpoint\":\"checkpoint-200\",\"top\":[]}]}";
	const char *bad_name = "{\"format\":1,\"frames\":[{\"checkpoint\":\"checkpoint-7\"},{}]}";
	const char *few = "{\"format\":1,\"frames\":[{}]}";
	const char *bad_label = "{\"format\":1,\"frames\":[{\"top\":[{\"index\":1,\"label\":2}]},{}]}";

	(void)state;
	expect_bad("b1", "coords.npy", npy_wrong, nw, VV_EMISMATCH, "coords.npy");
	expect_bad("b2", "coords.npy", npy_trunc, nt, VV_EFORMAT, "coords.npy");
	expect_bad("b3", "coords.npy", NULL, 0, VV_ENOTFOUND, "coords.npy");
	expect_bad("b4", "analysis.json", bad_top, strlen(bad_top), VV_EFORMAT, "analysis.json");
	assert_non_null(strstr(vv_errmsg(), "outside"));
	expect_bad("b5", "analysis.json", bad_name, strlen(bad_name), VV_EMISMATCH, "analysis.json");
	expect_bad("b6", "analysis.json", few, strlen(few), VV_EMISMATCH, "analysis.json");
	expect_bad("b7", "analysis.json", "{\"frames\": [", 12, VV_EFORMAT, "analysis.json");
	expect_bad("b8", "analysis.json", bad_label, strlen(bad_label), VV_EMISMATCH, "analysis.json");
	expect_bad("b9", "analysis.json", NULL, 0, VV_ENOTFOUND, "analysis.json");
	expect_bad("b10", "loss.csv", "step,loss\n10,0.5\nabc,0.4\n", 25, VV_EFORMAT, "loss.csv");
	expect_bad("b11", "loss.csv", "step,loss\n20,0.5\n10,0.4\n", 24, VV_EFORMAT, "loss.csv");
	expect_bad("b12", "loss.csv", "when,what\n1,2\n", 14, VV_EFORMAT, "loss.csv");
	expect_bad("b13", "samples.csv", "index,path,label,label_name\n0,a,0,c0\n", 37, VV_EMISMATCH, "samples.csv");
	expect_bad("b14", "samples.csv", "index,path,label,label_name\n0,a,9,c0\n", 37, VV_EMISMATCH, "samples.csv");
	expect_bad("b15", "manifest.json", NULL, 0, VV_ENOTFOUND, "manifest.json");
}

/* ---- stills --------------------------------------------------------------------------------------- */

/* The injected thumbnails appear, pixel-exact, in the boxes of the right samples. */
static void
test_still_thumbnails(void **state)
{
	test_work w = { 500, 3, 10, NULL, 1, 1, 1 };
	char *dir = tu_path("thumbs"), *png = tu_path("thumbs.png");
	render_layout L;
	render_opts o;
	cairo_surface_t *s;

	(void)state;
	assert_int_equal(make_work(dir, &w), 0);
	for (int size = 0; size < 2; size++) {
		int W = size ? 1920 : 640, H = size ? 1080 : 360;

		small_opts(&o, W, H);
		test_thumb_calls = 0;
		assert_int_equal(render_still(dir, 200, png, &o), 0);
		render_layout_compute(&L, W, H, 8, 1.0);
		/* only the outliers shown were decoded: 8, or 4 on a small frame */
		assert_int_equal(L.ntop, size ? 8 : 4);
		assert_int_equal(test_thumb_calls, L.ntop);
		s = cairo_image_surface_create_from_png(png);
		assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
		assert_int_equal(cairo_image_surface_get_width(s), W);
		for (int j = 0; j < L.ntop; j++) {
			render_rect fit;
			double k;
			int idx = test_top_index(&w, 1, j);

			render_layout_fit(&L.thumb[j], 32, 32, &fit, &k);
			/* whole-number nearest-neighbour scale: 3x at 1080p */
			if (size)
				assert_true(k == 3);
			/* every pixel inside the image, away from the badge corner, is the sample's colour */
			for (int y = (int)(fit.y + fit.h / 2); y < (int)(fit.y + fit.h) - 3; y += 3)
				for (int x = (int)(fit.x + fit.w / 2); x < (int)(fit.x + fit.w) - 3; x += 3)
					assert_int_equal(pixel(s, x, y) & 0xffffff, thumb_color(idx));
		}
		cairo_surface_destroy(s);
	}
	/* the last checkpoint's outliers for step -1 */
	small_opts(&o, 640, 360);
	assert_int_equal(render_still(dir, -1, png, &o), 0);
	s = cairo_image_surface_create_from_png(png);
	render_layout_compute(&L, 640, 360, 8, 1.0);
	assert_int_equal(pixel(s, (int)(L.thumb[0].x + L.thumb[0].w / 2), (int)(L.thumb[0].y + L.thumb[0].h / 2)) &
				 0xffffff,
			 thumb_color(test_top_index(&w, 2, 0)));
	cairo_surface_destroy(s);
	/* an unknown step is an error naming it */
	assert_int_equal(render_still(dir, 250, png, &o), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "250"));
}

static long
count_color(cairo_surface_t *s, render_rect r, uint32_t rgb, int tol)
{
	long n = 0;

	for (int y = (int)r.y; y < (int)(r.y + r.h); y++)
		for (int x = (int)r.x; x < (int)(r.x + r.w); x++) {
			uint32_t p = pixel(s, x, y);

			n += abs((int)((p >> 16) & 255) - (int)((rgb >> 16) & 255)) <= tol &&
			     abs((int)((p >> 8) & 255) - (int)((rgb >> 8) & 255)) <= tol &&
			     abs((int)(p & 255) - (int)(rgb & 255)) <= tol;
		}
	return n;
}

/* Layout content: dots of every class in the scatter, the theme, CJK class names, no log. */
static void
test_still_content(void **state)
{
	const char *names[3] = { "\xe7\x8c\xab", "\xe7\x8b\x97", "bird" }; /* 猫 狗 bird */
	test_work w = { 3000, 2, 3, names, 0, 0, 0 };
	char *dir = tu_path("content"), *png = tu_path("content.png");
	render_theme_colors tc;
	render_layout L;
	render_opts o;
	cairo_surface_t *s;

	(void)state;
	assert_int_equal(make_work(dir, &w), 0);
	for (int theme = 0; theme < 2; theme++) {
		small_opts(&o, 1280, 720);
		o.theme = theme;
		o.title = "\xe5\xbe\xae\xe8\xb0\x83 fine-tuning"; /* 微调 */
		assert_int_equal(render_still(dir, -1, png, &o), 0);
		s = cairo_image_surface_create_from_png(png);
		render_theme_colors_get(theme, &tc);
		render_layout_compute(&L, 1280, 720, 8, 1.0);
		assert_int_equal(pixel(s, 1, 1) & 0xffffff, render_rgb_pack(tc.bg) & 0xffffff);
		/* each class colour is present in the scatter (dots are translucent: the
		 * dense centres reach near the full colour) */
		for (int c = 0; c < 3; c++) {
			long n = count_color(s, L.scatter, render_rgb_pack(render_class_color(c, theme)), 40);

			assert_true(n > 100);
		}
		/* the legend's class names left ink (the CJK names included): compare
		 * each legend row with background */
		{
			render_rect row0 = { L.legend.x + 30 * L.s, L.legend.y + 36 * L.s, 150 * L.s, 30 * L.s };
			long bgpx = count_color(s, row0, render_rgb_pack(tc.bg), 10);

			assert_true(bgpx < (long)(row0.w * row0.h) - 20);
		}
		cairo_surface_destroy(s);
	}
}

/*
 * Without the dataset loader (not linked into this test) thumbnails are
 * placeholders: every thumbnail box shows the theme's axis grey, none a
 * sample's colour, on the theme's background.
 */
static void
test_still_no_loader(void **state)
{
	test_work w = { 40, 2, 3, NULL, 1, 0, 1 };
	char *dir = tu_path("noload"), *png = tu_path("noload.png");
	render_theme_colors tc;
	render_layout L;
	render_opts o;
	cairo_surface_t *s;

	(void)state;
	assert_int_equal(make_work(dir, &w), 0);
	render_opts_default(&o);
	o.width = 480;
	o.height = 270;
	assert_int_equal(render_still(dir, -1, png, &o), 0);
	s = cairo_image_surface_create_from_png(png);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	render_theme_colors_get(o.theme, &tc);
	render_layout_compute(&L, 480, 270, 8, 1.0);
	assert_int_equal(pixel(s, 1, 1) & 0xffffff, render_rgb_pack(tc.bg) & 0xffffff);
	for (int j = 0; j < L.ntop; j++) {
		render_rect fit;
		double k;
		uint32_t c;

		render_layout_fit(&L.thumb[j], 32, 32, &fit, &k);
		c = pixel(s, (int)(fit.x + fit.w / 2), (int)(fit.y + fit.h / 2)) & 0xffffff;
		assert_int_equal(c, render_rgb_pack(tc.axis) & 0xffffff);
		assert_int_not_equal(c, thumb_color(test_top_index(&w, 1, j)));
	}
	cairo_surface_destroy(s);
	/* top out of range is an option error */
	o.top = 9;
	assert_int_equal(render_still(dir, -1, png, &o), VV_EINVAL);
}

/*
 * Extreme frame shapes and tiny data still draw (nothing degenerate reaches
 * cairo): some of the frame (2% at least) is the theme's background and, where
 * the frame is large enough for a scatter, ink of the class colours.
 */
static void
test_still_extreme(void **state)
{
	static const int sizes[][2] = { { 16, 16 }, { 2000, 16 }, { 16, 2000 }, { 640, 2000 }, { 3840, 2160 } };
	test_work w = { 12, 1, 40, NULL, 0, 0, 0 };
	char *dir = tu_path("extreme"), *png = tu_path("extreme.png");
	render_opts o;

	(void)state;
	assert_int_equal(make_work(dir, &w), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		render_theme_colors tc;
		render_layout L;
		cairo_surface_t *s;
		long dots = 0;

		small_opts(&o, sizes[i][0], sizes[i][1]);
		o.theme = (int)i % 2;
		assert_int_equal(render_still(dir, -1, png, &o), 0);
		s = cairo_image_surface_create_from_png(png);
		assert_int_equal(cairo_image_surface_get_width(s), sizes[i][0]);
		assert_int_equal(cairo_image_surface_get_height(s), sizes[i][1]);
		render_theme_colors_get(o.theme, &tc);
		{
			render_rect all = { 0, 0, sizes[i][0], sizes[i][1] };
			long bg = count_color(s, all, render_rgb_pack(tc.bg), 0);

			print_message("%dx%d: background %.0f%% of the frame\n", sizes[i][0], sizes[i][1],
				      100.0 * bg / ((double)sizes[i][0] * sizes[i][1]));
			assert_true(bg > (long)sizes[i][0] * sizes[i][1] / 50);
		}
		if (sizes[i][0] >= 640 && sizes[i][1] >= 640) {
			render_layout_compute(&L, sizes[i][0], sizes[i][1], 8, 1.0);
			for (int c = 0; c < 12; c++) /* the 12 samples are of classes 0..11 at most */
				dots += count_color(s, L.scatter, render_rgb_pack(render_class_color(c, o.theme)), 40);
			print_message("%dx%d: %ld scatter pixels of a class colour\n", sizes[i][0], sizes[i][1], dots);
			assert_true(dots > 12);
		}
		cairo_surface_destroy(s);
	}
	/* no outliers shown at all */
	small_opts(&o, 320, 240);
	o.top = 0;
	test_thumb_calls = 0;
	assert_int_equal(render_still(dir, -1, png, &o), 0);
	assert_int_equal(test_thumb_calls, 0);
}

/* Outlier badges never overlap each other or the other rings, even when the outliers bunch up. */
static void
test_badges_apart(void **state)
{
	render_rect b = { 100, 100, 800, 500 };
	double px[8], py[8], bx[8], by[8], rr = 12, br = 13;

	(void)state;
	for (int layout = 0; layout < 3; layout++) {
		for (int j = 0; j < 8; j++) {
			/* all on one spot; a tight cluster; a cluster in a corner */
			px[j] = layout == 0 ? 400 : layout == 1 ? 400 + (j % 3) * 9 : 106 + (j % 3) * 7;
			py[j] = layout == 0 ? 300 : layout == 1 ? 300 + (j / 3) * 9 : 106 + (j / 3) * 7;
		}
		render_layout_place_badges(px, py, 8, rr, br, &b, bx, by);
		for (int j = 0; j < 8; j++) {
			assert_true(bx[j] - br >= b.x && bx[j] + br <= b.x + b.w);
			assert_true(by[j] - br >= b.y && by[j] + br <= b.y + b.h);
			for (int i = 0; i < j; i++)
				assert_true(hypot(bx[i] - bx[j], by[i] - by[j]) >= 2 * br);
			for (int i = 0; i < 8; i++)
				if (i != j && layout > 0) /* one spot: every ring is the badge's own */
					assert_true(hypot(bx[j] - px[i], by[j] - py[i]) >= rr + br);
		}
	}
}

/* One far point cannot squeeze the cloud: the axes follow the bulk of every frame. */
static void
test_robust_range(void **state)
{
	enum { T = 3, N = 1000 };
	static float c[T * N * 2];
	double rx, ry;

	(void)state;
	for (int t = 0; t < T; t++)
		for (int i = 0; i < N; i++) {
			/* frame t spans +-(t + 1) in x, +-0.5 in y */
			c[(t * N + i) * 2] = (float)((t + 1) * (2.0 * i / (N - 1) - 1));
			c[(t * N + i) * 2 + 1] = (float)(0.5 * (2.0 * ((i * 7) % N) / (N - 1) - 1));
		}
	c[0] = 100; /* frame 0's single outlier */
	c[1] = -100;
	render_layout_robust_range(c, T, N, &rx, &ry);
	print_message("robust range %.3f x %.3f\n", rx, ry);
	assert_true(rx > 3 && rx < 3 * 1.1); /* the widest frame's bulk, not the outlier */
	assert_true(ry > 0.5 && ry < 0.5 * 1.1);
}

static void
test_palette(void **state)
{
	(void)state;
	/* tab10 first, then distinct further colours */
	assert_int_equal(render_rgb_pack(render_class_color(0, RENDER_THEME_LIGHT)) & 0xffffff, 0x1f77b4);
	assert_int_equal(render_rgb_pack(render_class_color(9, RENDER_THEME_LIGHT)) & 0xffffff, 0x17becf);
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < i; j++)
			assert_true(render_rgb_pack(render_class_color(i, 0)) != render_rgb_pack(render_class_color(j, 0)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_palette),
		cmocka_unit_test(test_badges_apart),
		cmocka_unit_test(test_robust_range),
		cmocka_unit_test(test_dots_blit),
		cmocka_unit_test(test_dots_match_cairo),
		cmocka_unit_test(test_cjk_text),
		cmocka_unit_test(test_inputs_load),
		cmocka_unit_test(test_inputs_bad),
		cmocka_unit_test(test_still_thumbnails),
		cmocka_unit_test(test_still_content),
		cmocka_unit_test(test_still_no_loader),
		cmocka_unit_test(test_still_extreme),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
