/*
 * test_frame_truth.c - what a frame of the animation says is true at that
 * instant (issue 17): on a real (small) demo work folder, every frame of the
 * timeline is described and checked against frames.csv, loss.csv and
 * outliers.csv; a frame at rest is pixel-identical to the still of the
 * checkpoint it names, including the frame where a move is about to start
 * (the header used to run one checkpoint ahead there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "embed/images/embed_dataset.h"
#include "render/render_frame.h"
#include "render/render_inputs.h"
#include "render/render_layout.h"
#include "render/render_palette.h"
#include "render/render_run.h"
#include "render/render_timeline.h"
#include "test_util.h"

#define NCKPT 5

static char *work;

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("frametruth") || tu_demo_subset("run", NCKPT))
		return -1;
	work = tu_path("work");
	work = strdup(work);
	if (tu_run("--quiet embed %s --data %s -o %s --per-class 5", tu_path("run"), TU_DEMO_DATA, work) ||
	    tu_run("--quiet analyze %s", work))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(work);
	return tu_teardown();
}

static vv_csv *
csv(const char *name)
{
	char path[512];
	vv_csv *c = NULL;

	snprintf(path, sizeof(path), "%s/%s", work, name);
	if (vv_csv_read(path, 1 << 26, &c))
		fail_msg("%s", vv_errmsg());
	return c;
}

/* "1,234" -> 1234 */
static long long
parse_grouped(const char *s, const char **end)
{
	long long v = 0;

	for (; (*s >= '0' && *s <= '9') || *s == ','; s++)
		if (*s != ',')
			v = v * 10 + (*s - '0');
	*end = s;
	return v;
}

/* The training loss last logged at or before `step` in loss.csv, formatted as printed. */
static int
logged_text(const vv_csv *loss, long long step, char *buf, size_t n)
{
	int cs = vv_csv_col(loss, "step"), cl = vv_csv_col(loss, "loss");
	const char *v = NULL;

	for (size_t r = 0; r < loss->nrows; r++)
		if (atoll(loss->rows[r][cs]) <= step && loss->rows[r][cl][0])
			v = loss->rows[r][cl];
	if (!v)
		return 0;
	snprintf(buf, n, "%.3f", strtod(v, NULL));
	return 1;
}

/* Is `text` ("%.3f") a logged training loss? */
static int
is_logged(const vv_csv *loss, const char *text)
{
	int cl = vv_csv_col(loss, "loss");
	char buf[32];

	for (size_t r = 0; r < loss->nrows; r++) {
		if (!loss->rows[r][cl][0])
			continue;
		snprintf(buf, sizeof(buf), "%.3f", strtod(loss->rows[r][cl], NULL));
		if (!strcmp(buf, text))
			return 1;
	}
	return 0;
}

static void
opts(render_opts *o)
{
	render_opts_default(o);
	o->width = 640;
	o->height = 360;
	o->thumb_load = embed_dataset_load_path;
	o->thumb_free = embed_image_free;
}

static void
test_every_frame_agrees_with_the_csvs(void **state)
{
	vv_csv *frames = csv("frames.csv"), *loss = csv("loss.csv"), *outl = csv("outliers.csv");
	render_inputs *in = NULL;
	render_scene *sc = NULL;
	render_opts o;
	const double spc = 1.0, fps = 10;
	int64_t nf;
	int rest = 0, moving = 0;

	(void)state;
	opts(&o);
	assert_int_equal(frames->nrows, NCKPT);
	assert_int_equal(render_inputs_load(work, &in), 0);
	assert_int_equal(render_scene_alloc(&sc, in, &o), 0);
	nf = render_timeline_frames(in->T, spc, 1.0, fps);
	for (int64_t k = 0; k < nf; k++) {
		render_time tm;
		render_frame_text d;
		const char *p;
		long long a, b;

		render_timeline_at(in->T, spc, (double)k / fps, &tm);
		assert_int_equal(render_scene_describe(sc, &tm, &d), 0);
		a = parse_grouped(d.step, &p);
		if (!d.moving) {
			char want[32], line[64];
			int c = d.to, ck = vv_csv_col(outl, "checkpoint"), rk = vv_csv_col(outl, "rank"),
			    ix = vv_csv_col(outl, "index");

			rest++;
			assert_int_equal(d.from, d.to);
			/* header: the step of frames.csv's row, "checkpoint c+1 of T" */
			assert_string_equal(p, "");
			assert_int_equal(a, atoll(frames->rows[c][1]));
			snprintf(line, sizeof(line), "checkpoint %d of %d", c + 1, NCKPT);
			assert_non_null(strstr(d.line, line));
			assert_non_null(strstr(d.line, frames->rows[c][0]));
			/* loss label: the value frames.csv and loss.csv give that step */
			assert_true(logged_text(loss, a, want, sizeof(want)));
			assert_true(!strncmp(d.loss, want, strlen(want)));
			snprintf(want, sizeof(want), "%.3f", strtod(frames->rows[c][3], NULL));
			assert_true(!strncmp(d.loss, want, strlen(want)));
			/* column: outliers.csv's ranks 1..8 of that checkpoint */
			for (int j = 0; j < in->frames[c].ntop; j++) {
				int found = 0;

				for (size_t r = 0; r < outl->nrows; r++)
					if (!strcmp(outl->rows[r][ck], frames->rows[c][0]) && atoi(outl->rows[r][rk]) == j + 1) {
						assert_int_equal(atoll(outl->rows[r][ix]), in->frames[c].top[j].index);
						found = 1;
						break;
					}
				assert_true(found);
			}
		} else {
			char v0[32], v1[32], *arrow;

			moving++;
			assert_int_equal(d.to, d.from + 1);
			/* "240 → 255" */
			assert_true(!strncmp(p, " \xe2\x86\x92 ", 5));
			b = parse_grouped(p + 5, &p);
			assert_int_equal(a, atoll(frames->rows[d.from][1]));
			assert_int_equal(b, atoll(frames->rows[d.to][1]));
			/* "0.512 → 0.456": both logged, both the checkpoints' */
			arrow = strstr(d.loss, " \xe2\x86\x92 ");
			assert_non_null(arrow);
			assert_true(logged_text(loss, a, v0, sizeof(v0)));
			assert_true(logged_text(loss, b, v1, sizeof(v1)));
			assert_true(!strncmp(d.loss, v0, strlen(v0)));
			assert_string_equal(arrow + 5, v1);
		}
		/* only logged values: every number in the label is a loss.csv value */
		{
			char tmp[96], *tok, *save = NULL;

			snprintf(tmp, sizeof(tmp), "%s", d.loss);
			for (tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
				if (tok[0] >= '0' && tok[0] <= '9' && strchr(tok, '.'))
					assert_true(is_logged(loss, tok));
		}
	}
	print_message("%d frames at rest, %d moving, all agree with frames.csv, loss.csv, outliers.csv\n", rest,
		      moving);
	assert_true(rest > 0 && moving > 0);
	render_scene_free(&sc);
	render_inputs_free(&in);
	vv_csv_free(&frames);
	vv_csv_free(&loss);
	vv_csv_free(&outl);
}

/*
 * The frame at the instant a move starts (t = c * spc) and the frame after
 * it ends are pixel for pixel the stills of the checkpoints they name.
 */
static void
test_rest_frames_are_the_stills(void **state)
{
	render_inputs *in = NULL;
	render_scene *sc = NULL;
	render_opts o;
	cairo_surface_t *f, *g;
	const double spc = 1.0;

	(void)state;
	opts(&o);
	assert_int_equal(render_inputs_load(work, &in), 0);
	assert_int_equal(render_scene_alloc(&sc, in, &o), 0);
	f = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, o.width, o.height);
	g = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, o.width, o.height);
	for (int c = 1; c < NCKPT; c++) {
		double ts[2] = { c * spc, (c + 0.9) * spc };

		for (int k = 0; k < 2; k++) {
			render_time tm, still;
			size_t bytes = (size_t)cairo_image_surface_get_stride(f) * (size_t)o.height;

			render_timeline_at(in->T, spc, ts[k], &tm);
			still.from = still.to = k ? c : c - 1;
			still.mix = 1;
			assert_int_equal(render_scene_draw(sc, f, &tm), 0);
			assert_int_equal(render_scene_draw(sc, g, &still), 0);
			if (memcmp(cairo_image_surface_get_data(f), cairo_image_surface_get_data(g), bytes))
				fail_msg("t = %.1f s: the frame differs from the still of checkpoint %d", ts[k], still.to);
		}
	}
	cairo_surface_destroy(f);
	cairo_surface_destroy(g);
	render_scene_free(&sc);
	render_inputs_free(&in);
}

/* 1 when pixel (x, y) differs from `bg` (0xRRGGBB) by more than 60 in a channel: ink. */
static int
ink(cairo_surface_t *s, int x, int y, uint32_t bg)
{
	const unsigned char *d = cairo_image_surface_get_data(s);
	uint32_t p = *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s) + (size_t)x * 4);

	for (int sh = 0; sh < 24; sh += 8)
		if (abs((int)((p >> sh) & 255) - (int)((bg >> sh) & 255)) > 60)
			return 1;
	return 0;
}

/*
 * Heights in pixels of the runs of rows holding ink inside r (lines of
 * text); their number in *nruns.
 */
static void
ink_runs(cairo_surface_t *s, render_rect r, uint32_t bg, int *runs, int *nruns, int max)
{
	int run = 0;

	*nruns = 0;
	for (int y = (int)ceil(r.y); y <= (int)floor(r.y + r.h); y++) {
		int any = 0;

		for (int x = (int)ceil(r.x); x <= (int)floor(r.x + r.w) && !any; x++)
			any = ink(s, x, y, bg);
		if (any) {
			run++;
		} else if (run) {
			if (*nruns < max)
				runs[(*nruns)++] = run;
			run = 0;
		}
	}
	if (run && *nruns < max)
		runs[(*nruns)++] = run;
}

/*
 * Text stays readable on a small frame: at 640x360 the scatter's tick
 * labels and an outlier's caption lines are measured in pixels (ink
 * height of the glyphs): at least 6 px (digits of the 11 px minimum font
 * are 8), where the layout scaled to 1/3 of
 * 1080p used to draw them 4 px high (a 5.7 px font).
 */
static void
test_text_height_640x360(void **state)
{
	render_theme_colors tc;
	render_layout L;
	render_opts o;
	cairo_surface_t *s;
	char *png = tu_path("small.png");
	int runs[16], nr;

	(void)state;
	opts(&o);
	assert_int_equal(render_still(work, -1, png, &o), 0);
	s = cairo_image_surface_create_from_png(png);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	render_theme_colors_get(o.theme, &tc);
	render_layout_compute(&L, 640, 360, 8, 1.0);
	assert_true(RENDER_SMALL_TEXT * L.t >= RENDER_MIN_TEXT_PX);

	/* the x tick labels: between the scatter and the loss title */
	{
		render_rect r = { L.scatter.x, L.scatter.y + L.scatter.h + 2, L.scatter.w,
				  L.loss.y - 40 * L.t - (L.scatter.y + L.scatter.h + 2) - 1 };

		ink_runs(s, r, render_rgb_pack(tc.bg) & 0xffffff, runs, &nr, 16);
		print_message("640x360: scatter tick labels %d px high (%d run(s))\n", nr ? runs[0] : 0, nr);
		assert_int_equal(nr, 1);
		assert_true(runs[0] >= 6);
	}
	/* the first outlier's caption: class name, then how unusual */
	{
		render_rect r = { L.slot[0].x, L.thumb[0].y + L.thumb[0].h + 3, L.slot[0].w,
				  L.slot[0].y + L.slot[0].h - (L.thumb[0].y + L.thumb[0].h + 3) - 1 };

		ink_runs(s, r, render_rgb_pack(tc.bg) & 0xffffff, runs, &nr, 16);
		print_message("640x360: caption lines %d and %d px high\n", nr > 0 ? runs[0] : 0, nr > 1 ? runs[1] : 0);
		assert_true(nr >= 2);
		for (int i = 0; i < nr; i++)
			assert_true(runs[i] >= 6);
	}
	cairo_surface_destroy(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_frame_agrees_with_the_csvs),
		cmocka_unit_test(test_rest_frames_are_the_stills),
		cmocka_unit_test(test_text_height_640x360),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
