/*
 * test_html.c - `vitviz html`: the page's embedded data against the work
 * folder (coordinates within the 16-bit step, scores, ranks, predictions
 * and label quality exact, thumbnails by colour), bad input and budgets
 * through the command, and the page itself in headless Chromium
 * (tests/browser/viewer_test.mjs; skipped only when Chromium cannot start).
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
#include <sys/wait.h>

#include "analysis/analysis_input.h"
#include "analysis/analysis_pred.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "embed/images/embed_decode.h"
#include "embed/images/embed_image.h"
#include "render/render_html.h"
#include "tests/render_testwork.h"
#include "tests/test_util.h"

#define NS 240 /* samples of the synthetic work folder */
#define NT 5   /* checkpoints */
#define NC 4   /* classes */

static const char *cjk_names[NC] = { "猫", "犬", "小鳥 small", "魚" };

/* Score of sample i at checkpoint t: spread in [0.2, 0.7), with exact ties every 50th sample. */
static float
test_score(int t, int i)
{
	double v = sin(i * 12.9898 + t * 78.233) * 43758.5453;

	if (i % 50 == 7)
		return 0.3f;
	return (float)(0.2 + 0.5 * (v - floor(v)));
}

/* Work folder: render_testwork.h's plus scores.npy, logits and dynamics.csv. */
static int
make_html_work(const char *dir, int n, int T, int dynamics)
{
	test_work w = { .n = n, .T = T, .nclasses = NC, .names = cjk_names, .with_loss = 1, .with_eval = 1,
			.with_logits = 1 };
	float *sc = malloc(sizeof(float) * (size_t)T * n), *lg = malloc(sizeof(float) * (size_t)n * NC);
	int64_t shape[2] = { T, n }, lshape[2] = { n, NC };
	char *p;
	int err;

	if ((err = make_work(dir, &w)))
		goto out;
	for (int t = 0; t < T; t++)
		for (int i = 0; i < n; i++)
			sc[(size_t)t * n + i] = test_score(t, i);
	p = vv_path_join(dir, "scores.npy");
	err = vv_npy_write(p, VV_F32, sc, 2, shape);
	free(p);
	if (err)
		goto out;
	p = vv_path_join(dir, "logits");
	vv_mkdir_p(p);
	free(p);
	for (int t = 0; t < T && !err; t++) {
		char name[64];

		for (int i = 0; i < n; i++)
			for (int c = 0; c < NC; c++)
				lg[(size_t)i * NC + c] = (float)(3 * cos(i * 0.7 + c * 1.3 + t) + (c == i % NC ? t : 0));
		snprintf(name, sizeof(name), "logits/checkpoint-%lld.npy", test_step(t));
		p = vv_path_join(dir, name);
		err = vv_npy_write(p, VV_F32, lg, 2, lshape);
		free(p);
	}
	if (!err && dynamics) {
		size_t cap = (size_t)n * 128 + 256, len;
		char *csv = malloc(cap);

		len = (size_t)snprintf(csv, cap, "index,path,label,aum,label_issue,learned_at\n");
		/* rows in reverse order: read by index, not by position */
		for (int i = n - 1; i >= 0; i--)
			len += (size_t)snprintf(csv + len, cap - len, "%d,x,%d,%.4f,%s,%d\n", i, i % NC, 0.5 - i / 1000.0,
						i % 9 == 0 ? "true" : "false", 100 * (i % 5));
		err = write_text(dir, "dynamics.csv", csv);
		free(csv);
	}
out:
	free(sc);
	free(lg);
	return err;
}

static int
setup(void **state)
{
	(void)state;
	vv_verbosity = 0;
	if (tu_setup("test_html"))
		return -1;
	return make_html_work(tu_path("work"), NS, NT, 1);
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* ---- reading the page back ---------------------------------------------------- */

static int
b64v(int c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(t, c) : NULL;

	return p ? (int)(p - t) : -1;
}

/* Decode a base64 JSON string member; malloc'd bytes, *len set. */
static uint8_t *
b64_member(const cJSON *o, const char *key, size_t *len)
{
	const char *s = vv_json_get_string(o, key, NULL);
	size_t n, k = 0;
	uint8_t *out;

	assert_non_null(s);
	n = strlen(s);
	assert_int_equal(n % 4, 0);
	out = malloc(n / 4 * 3 + 1);
	for (size_t i = 0; i < n; i += 4) {
		int a = b64v(s[i]), b = b64v(s[i + 1]), c = s[i + 2] == '=' ? 0 : b64v(s[i + 2]),
		    d = s[i + 3] == '=' ? 0 : b64v(s[i + 3]);
		uint32_t v;

		assert_true(a >= 0 && b >= 0 && c >= 0 && d >= 0);
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[k++] = (uint8_t)(v >> 16);
		if (s[i + 2] != '=')
			out[k++] = (uint8_t)(v >> 8);
		if (s[i + 3] != '=')
			out[k++] = (uint8_t)v;
	}
	*len = k;
	return out;
}

/* The data document of a page; the whole page in *page (both to free). */
static cJSON *
page_data(const char *path, char **page)
{
	const char *tag = "<script type=\"application/json\" id=\"vv-data\">";
	size_t len;
	char *a, *b;
	cJSON *j;

	assert_int_equal(vv_read_file(path, (size_t)1 << 30, page, &len), 0);
	a = strstr(*page, tag);
	assert_non_null(a);
	a += strlen(tag);
	b = strstr(a, "</script>");
	assert_non_null(b);
	*b = 0;
	j = cJSON_Parse(a);
	*b = '<';
	assert_non_null(j);
	return j;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Element k of a little-endian array of `bytes`-byte integers (signed when asked). */
static int64_t
rdn(const uint8_t *p, int bytes, size_t k, int is_signed)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[k * bytes + i] << (8 * i);
	if (is_signed && bytes < 8 && (v >> (8 * bytes - 1)) & 1)
		v |= ~(uint64_t)0 << (8 * bytes);
	return (int64_t)v;
}

static void
html_opts(render_html_opts *o)
{
	render_html_opts_default(o);
	o->thumb_load = test_thumb_load;
	o->thumb_free = test_thumb_free;
}

/* ---- the embedded data ------------------------------------------------------------ */

static void
test_page_data(void **state)
{
	render_html_opts o;
	vv_array *coords = NULL, *scores = NULL;
	cJSON *d, *ck;
	char *page = NULL;
	uint8_t *xy, *sc, *rk, *pr, *q, *ix, *ok;
	size_t len;
	double lo[2], hi[2], worst = 0;
	int32_t order[NS], pred[NS];
	double quality[NS];

	(void)state;
	html_opts(&o);
	assert_int_equal(render_html_write(tu_path("work"), tu_path("page.html"), &o), 0);
	assert_int_equal(tu_count_tmp(tu_tmp), 0);
	d = page_data(tu_path("page.html"), &page);
	/* self-contained: every template marker filled, nothing fetched from anywhere */
	assert_null(strstr(page, "@@"));
	assert_null(strstr(page, "http://"));
	assert_null(strstr(page, "https://"));
	assert_null(strstr(page, "<link"));
	assert_null(strstr(page, " src="));
	assert_int_equal(vv_json_get_int(d, "T", -1), NT);
	assert_int_equal(vv_json_get_int(d, "n", -1), NS);
	assert_int_equal(vv_json_get_int(d, "N", -1), NS);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "classes"), 0)->valuestring, "猫");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "classes"), 2)->valuestring, "小鳥 small");
	/* the palette of the video */
	{
		char hex[8];

		snprintf(hex, sizeof(hex), "#%06x", render_rgb_pack(render_class_color(1, RENDER_THEME_DARK)) & 0xffffff);
		assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "colors"), "dark"), 1)
					    ->valuestring, hex);
	}
	ck = cJSON_GetObjectItem(d, "ckpt");
	assert_int_equal(cJSON_GetArraySize(ck), NT);
	assert_int_equal(vv_json_get_int(cJSON_GetArrayItem(ck, 3), "step", -1), test_step(3));

	assert_int_equal(vv_npy_read(tu_path("work/coords.npy"), &coords), 0);
	assert_int_equal(vv_npy_read(tu_path("work/scores.npy"), &scores), 0);
	for (int a = 0; a < 2; a++) {
		lo[a] = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "lo"), a)->valuedouble;
		hi[a] = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "hi"), a)->valuedouble;
	}
	ix = b64_member(d, "index", &len);
	assert_int_equal(len, NS * 4);
	for (int i = 0; i < NS; i++)
		assert_int_equal(rd32(ix + 4 * i), i);
	xy = b64_member(d, "xy", &len);
	assert_int_equal(len, (size_t)NT * NS * 4);
	/* 16 bits per axis: within half a step of coords.npy (plus float32 rounding) */
	for (size_t k = 0; k < (size_t)NT * NS * 2; k++) {
		int a = (int)(k % 2);
		double v = lo[a] + (xy[2 * k] | xy[2 * k + 1] << 8) * (hi[a] - lo[a]) / 65535;
		/* half a step, plus float32 rounding of values up to 5 */
		double e = fabs(v - ((const float *)coords->data)[k]) / ((hi[a] - lo[a]) / 65535 / 2 + 1e-6);

		worst = tu_fmax(worst, e);
	}
	if (worst > 1.0)
		fail_msg("coordinates off by %g half-steps", worst);
	sc = b64_member(d, "score", &len);
	assert_int_equal(len, (size_t)NT * NS * 4);
	assert_memory_equal(sc, scores->data, len); /* float32 as in scores.npy (little-endian host) */
	rk = b64_member(d, "rank", &len);
	assert_int_equal(vv_json_get_int(d, "rankBytes", 0), 2); /* N < 65536 */
	assert_int_equal(len, (size_t)NT * NS * 2);
	pr = b64_member(d, "pred", &len);
	assert_int_equal(vv_json_get_int(d, "predBytes", 0), 1); /* 4 classes */
	assert_int_equal(len, (size_t)NT * NS);
	q = b64_member(d, "quality", &len);
	assert_int_equal(len, (size_t)NT * NS * 8);
	for (int t = 0; t < NT; t++) {
		vv_array *lg = NULL;
		char name[64];

		assert_int_equal(analysis_rank((const float *)scores->data + (size_t)t * NS, NS, order), 0);
		for (int j = 0; j < NS; j++)
			assert_int_equal(rdn(rk, 2, (size_t)t * NS + order[j], 0), j + 1);
		snprintf(name, sizeof(name), "work/logits/checkpoint-%lld.npy", test_step(t));
		assert_int_equal(vv_npy_read(tu_path(name), &lg), 0);
		{
			int labels[NS];

			for (int i = 0; i < NS; i++)
				labels[i] = i % NC;
			assert_int_equal(analysis_predict(lg->data, NS, NC, labels, pred, quality), 0);
		}
		for (int i = 0; i < NS; i++) {
			double qv;

			assert_int_equal(rdn(pr, 1, (size_t)t * NS + i, 1), pred[i]);
			memcpy(&qv, q + 8 * ((size_t)t * NS + i), 8);
			assert_true(qv == quality[i]); /* bit-exact: the CSV prints it with %.9g */
		}
		vv_array_free(&lg);
	}
	/* dynamics.csv by header name and index column */
	{
		const cJSON *cols = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "dyn"), "cols");
		const cJSON *aum = cJSON_GetArrayItem(cols, 0), *iss = cJSON_GetArrayItem(cols, 1);

		assert_int_equal(cJSON_GetArraySize(cols), 3);
		assert_string_equal(vv_json_get_string(aum, "name", ""), "aum");
		assert_true(fabs(cJSON_GetArrayItem(cJSON_GetObjectItem(aum, "v"), 17)->valuedouble - 0.483) < 1e-9);
		assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(iss, "v"), 18)->valuestring, "true");
	}
	/* thumbnails: one atlas, every cell the sample's colour */
	{
		const cJSON *th = cJSON_GetObjectItem(d, "thumbs");
		int side = vv_json_get_int(th, "side", 0), cols = vv_json_get_int(th, "cols", 0);
		uint8_t *jpeg;
		embed_image *img = NULL;

		assert_int_equal(side, 32);
		assert_int_equal(vv_json_get_int(th, "count", 0), NS);
		ok = b64_member(th, "ok", &len);
		assert_int_equal(len, NS);
		for (int i = 0; i < NS; i++)
			assert_int_equal(ok[i], 1);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(th, "jpeg")), 1);
		{
			cJSON *wrap = cJSON_CreateObject();

			cJSON_AddStringToObject(wrap, "j", cJSON_GetArrayItem(cJSON_GetObjectItem(th, "jpeg"), 0)->valuestring);
			jpeg = b64_member(wrap, "j", &len);
			cJSON_Delete(wrap);
		}
		assert_int_equal(embed_image_decode("atlas", jpeg, len, &img), 0);
		for (int i = 0; i < NS; i += 7) {
			uint32_t want = thumb_color(i);
			const uint8_t *px = img->rgb + (((size_t)(i / cols) * side + side / 2) * img->w + (size_t)(i % cols) * side + side / 2) * 3;

			for (int c = 0; c < 3; c++)
				assert_true(abs(px[c] - (int)((want >> (16 - 8 * c)) & 255)) <= 6);
		}
		embed_image_free(&img);
		free(jpeg);
		free(ok);
	}
	free(ix);
	free(xy);
	free(sc);
	free(rk);
	free(pr);
	free(q);
	vv_array_free(&coords);
	vv_array_free(&scores);
	cJSON_Delete(d);
	free(page);
}

/* ---- the command: bad input, budgets -------------------------------------------- */

static void
test_cli_errors(void **state)
{
	(void)state;
	/* a work folder that was embedded but not analysed: one line, exit 3, no file */
	assert_int_equal(tu_sh("mkdir -p %s && cp %s %s %s", tu_path("embedded"), tu_path("work/manifest.json"),
			       tu_path("work/samples.csv"), tu_path("embedded")), 0);
	assert_int_equal(tu_run("html %s -o %s", tu_path("embedded"), tu_path("e.html")), 3);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "coords.npy: missing (run `vitviz analyze` first)"));
	assert_false(tu_exists(tu_path("e.html")));
	assert_int_equal(tu_count_tmp(tu_tmp), 0);
	/* not a work folder at all */
	assert_int_equal(tu_run("html %s -o %s", tu_tmp, tu_path("e.html")), 3);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	/* a dynamics.csv whose index is not a sample: one line naming the file and line */
	assert_int_equal(tu_sh("cp -r %s %s && printf 'index,aum\\n0,1\\n999999,2\\n' > %s", tu_path("work"),
			       tu_path("baddyn"), tu_path("baddyn/dynamics.csv")), 0);
	assert_int_equal(tu_run("html %s -o %s", tu_path("baddyn"), tu_path("e.html")), 3);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "dynamics.csv: line 3: index \"999999\" is not a sample"));
	assert_false(tu_exists(tu_path("e.html")));
	/* command line */
	assert_int_equal(tu_run("html %s", tu_path("work")), 2);
	assert_int_equal(tu_run("html %s -o %s --thumb-size 4", tu_path("work"), tu_path("e.html")), 2);
	assert_int_equal(tu_run("html %s -o %s --theme pink", tu_path("work"), tu_path("e.html")), 2);
	/* unwritable output */
	assert_int_equal(tu_run("html %s -o %s/nowhere/x.html", tu_path("work"), tu_tmp), 4);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	/* the command itself (the manifest's data root does not exist: grey thumbnails, a warning) */
	assert_int_equal(tu_run("--quiet html %s -o %s --theme dark --title 'A run'", tu_path("work"), tu_path("c.html")), 0);
	assert_true(tu_exists(tu_path("c.html")));
}

static void
test_budget(void **state)
{
	char *page = NULL;
	cJSON *d;
	int64_t size;
	int n;

	(void)state;
	assert_int_equal(make_html_work(tu_path("big"), 4000, 12, 0), 0);
	/* data of 4000 x 12 is about 1.4 MB: a 0.5 MB budget shows a stated subsample */
	assert_int_equal(tu_run("html %s -o %s --max-mb 0.5", tu_path("big"), tu_path("big.html")), 0);
	assert_non_null(strstr(tu_err(), "even subsample"));
	assert_non_null(strstr(tu_err(), "--max-points"));
	size = vv_file_size(tu_path("big.html"));
	assert_true(size > 0 && size <= 500000);
	d = page_data(tu_path("big.html"), &page);
	n = vv_json_get_int(d, "n", -1);
	assert_true(n > 100 && n < 4000);
	assert_int_equal(vv_json_get_int(d, "N", -1), 4000);
	assert_non_null(strstr(vv_json_get_string(d, "note", ""), "subsample"));
	cJSON_Delete(d);
	free(page);
	/* --max-points: at most that many, plus every checkpoint's top outliers */
	assert_int_equal(tu_run("--quiet html %s -o %s --max-points 50 --thumb-size 0", tu_path("big"), tu_path("p.html")), 0);
	d = page_data(tu_path("p.html"), &page);
	n = vv_json_get_int(d, "n", -1);
	assert_true(n >= 50 && n <= 50 + 12 * 8);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "thumbs")));
	cJSON_Delete(d);
	free(page);
}

/* `vitviz run ... --html`: the demo's real images as thumbnails */
static void
test_run_html(void **state)
{
	char *page = NULL;
	cJSON *d, *th;
	uint8_t *ok;
	size_t len;

	(void)state;
	assert_int_equal(tu_demo_subset("run", 2), 0);
	assert_int_equal(tu_run("--quiet run %s --data %s -o %s --work %s --html %s --size 160x120 --fps 5 "
				"--seconds-per-checkpoint 0.2 --hold 0",
				tu_path("run"), TU_DEMO_DATA, tu_path("demo.mp4"), tu_path("demo-work"), tu_path("demo.html")),
			 0);
	d = page_data(tu_path("demo.html"), &page);
	assert_int_equal(vv_json_get_int(d, "T", 0), 2);
	assert_int_equal(vv_json_get_int(d, "n", 0), 360);
	th = cJSON_GetObjectItem(d, "thumbs");
	assert_int_equal(vv_json_get_int(th, "count", 0), 360);
	ok = b64_member(th, "ok", &len);
	assert_int_equal(len, 360);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(ok[i], 1);
	/* analyze wrote dynamics.csv: its columns come along */
	if (tu_exists(tu_path("demo-work/dynamics.csv")))
		assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "dyn"), "cols")) > 0);
	free(ok);
	cJSON_Delete(d);
	free(page);
}

/* ---- the viewer's helpers in node, against C ------------------------------------- */

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One csv case: vv_csv_field's output and the field, both as JSON strings. */
static void
csv_case(FILE *fp, const char *field)
{
	char *buf = NULL, *a, *b;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cJSON *x, *y;

	vv_csv_field(m, field);
	fclose(m);
	x = cJSON_CreateString(buf);
	y = cJSON_CreateString(field);
	a = cJSON_PrintUnformatted(x);
	b = cJSON_PrintUnformatted(y);
	fprintf(fp, "csv %s\t%s\n", a, b);
	free(a);
	free(b);
	cJSON_Delete(x);
	cJSON_Delete(y);
	free(buf);
}

static void
test_js_units(void **state)
{
	static const char *fields[] = { "a", "a,b", "say \"hi\"", "line\nbreak", "cr\rx", "猫/img_1.png", "", " lead" };
	FILE *fp = fopen(tu_path("cases.txt"), "w");
	uint64_t s = 88172645463325252ULL;
	int ties = 0;

	(void)state;
	if (tu_sh("command -v node >/dev/null") != 0)
		fail_msg("node not found: scripts/install-deps.sh installs Debian's nodejs");
	assert_non_null(fp);
	/* what the CSV download prints with %.9g: float32 scores, float64 label quality,
	 * short binary fractions (exact decimal ties, which glibc rounds to even),
	 * every magnitude (exponent form below 1e-4 and from 1e9) */
	for (int i = 0; i < 20000; i++) {
		double u = (double)(xorshift(&s) >> 11) / 9007199254740992.0, v;
		uint64_t bits;
		char a[64], b[64];

		switch (i % 5) {
		case 0: v = (double)(float)u; break;
		case 1: v = u; break;
		case 2: v = ldexp((double)(xorshift(&s) % 4096), -(int)(xorshift(&s) % 24)); break;
		case 3: v = (u - 0.5) * pow(10, (int)(xorshift(&s) % 40) - 20); break;
		default: v = (double)(int64_t)(xorshift(&s) % 20000000000ULL); break;
		}
		memcpy(&bits, &v, 8);
		fprintf(fp, "fmt %016llx %.9g\n", (unsigned long long)bits, v);
		/* count the cases where rounding half up would differ */
		snprintf(a, sizeof(a), "%.10g", v);
		snprintf(b, sizeof(b), "%.9g", v);
		ties += strlen(a) > 9 && strchr(a, '5') == a + strlen(a) - 1 && !strchr(a, 'e');
	}
	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
		csv_case(fp, fields[k]);
	assert_int_equal(fclose(fp), 0);
	assert_true(ties > 50); /* the tie cases are really there */
	assert_int_equal(tu_sh("node tests/browser/viewer_unit.mjs %s", tu_path("cases.txt")), 0);
}

/* ---- the page in Chromium -------------------------------------------------------- */

static void
test_browser(void **state)
{
	render_html_opts o;
	FILE *fp;
	int rc;

	(void)state;
	if (tu_sh("command -v node >/dev/null") != 0)
		fail_msg("node not found: scripts/install-deps.sh installs Debian's nodejs");
	html_opts(&o);
	assert_int_equal(render_html_write(tu_path("work"), tu_path("view.html"), &o), 0);
	fp = fopen(tu_path("expect.json"), "w");
	assert_non_null(fp);
	fprintf(fp, "{\"classes\":[");
	for (int c = 0; c < NC; c++) {
		cJSON *s = cJSON_CreateString(cjk_names[c]);
		char *t = cJSON_PrintUnformatted(s);

		fprintf(fp, "%s%s", c ? "," : "", t);
		free(t);
		cJSON_Delete(s);
	}
	fprintf(fp, "],\"top\":8,\"steps\":[");
	for (int t = 0; t < NT; t++)
		fprintf(fp, "%s%lld", t ? "," : "", test_step(t));
	fprintf(fp, "],\"reports\":{");
	for (int t = 0; t < NT; t++) {
		char name[64];

		snprintf(name, sizeof(name), "report-%lld.csv", test_step(t));
		assert_int_equal(tu_run("report %s --top %d --checkpoint %lld -o %s", tu_path("work"), NS, test_step(t),
					tu_path(name)), 0);
		fprintf(fp, "%s\"%lld\":\"%s\"", t ? "," : "", test_step(t), tu_path(name));
	}
	fprintf(fp, "},\"dynamics\":{\"col\":\"learned_at\",\"values\":[");
	for (int i = 0; i < NS; i++)
		fprintf(fp, "%s\"%d\"", i ? "," : "", 100 * (i % 5));
	fprintf(fp, "]},\"thumbColor\":[");
	for (int i = 0; i < NS; i++)
		fprintf(fp, "%s%u", i ? "," : "", thumb_color(i));
	fprintf(fp, "]}\n");
	assert_int_equal(fclose(fp), 0);
	rc = tu_sh("node tests/browser/viewer_test.mjs --html %s --work %s --expect %s --ref tests/browser/plot-ref.png%s",
		   tu_path("view.html"), tu_path("work"), tu_path("expect.json"),
		   getenv("VV_UPDATE_SCREENSHOT") ? " --update" : "");
	if (rc == 77)
		skip();
	assert_int_equal(rc, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_data),
		cmocka_unit_test(test_cli_errors),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_run_html),
		cmocka_unit_test(test_js_units),
		cmocka_unit_test(test_browser),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
