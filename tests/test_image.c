/*
 * test_image.c - decoding, convert("RGB"), resizing and preprocessing
 * against Pillow 9.4 / transformers / torchvision references made by
 * scripts/make_fixtures_image.py (tests/fixtures/image/cases.txt).
 *
 * Tolerances: decoding and every resize exact (max difference 0);
 * preprocessed tensors within 1e-6 of the reference (measured 0).
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

#include "common/vv_error.h"
#include "embed/images/embed_resize.h"
#include "embed/images/embed_decode.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "embed/images/embed_image.h"
#include "embed/images/embed_preproc.h"
#include "embed/models/embed_config.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/image/"

/* Tolerances stated in the header comment. */
#define RESIZE_TOL 0
#define DECODE_TOL 0
#define TENSOR_TOL 1e-6

static char *
fix(const char *name)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), FIX "%s", name);
	return buf[i];
}

/* Lines of cases.txt whose first word is `kind`, split into words. */
typedef struct cases {
	int n;            /* matching lines */
	char w[80][16][128]; /* words of each line */
	int nw[80];       /* word count of each line */
} cases;

static cases *
cases_load(const char *kind)
{
	cases *c = calloc(1, sizeof(*c));
	FILE *f = fopen(FIX "cases.txt", "r");
	char line[1024];

	assert_non_null(c);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok;
		int k = 0;

		if (line[0] == '#' || strncmp(line, kind, strlen(kind)) || line[strlen(kind)] != ' ')
			continue;
		assert_true(c->n < 80);
		for (tok = strtok_r(line, " \n", &save); tok && k < 16; tok = strtok_r(NULL, " \n", &save))
			snprintf(c->w[c->n][k++], 128, "%s", tok);
		c->nw[c->n++] = k;
	}
	fclose(f);
	assert_true(c->n > 0);
	return c;
}

static int
max_diff(const embed_image *a, const embed_image *b)
{
	size_t i, n = (size_t)a->w * a->h * 3;
	int m = 0;

	assert_int_equal(a->w, b->w);
	assert_int_equal(a->h, b->h);
	for (i = 0; i < n; i++) {
		int d = abs((int)a->rgb[i] - (int)b->rgb[i]);

		if (d > m)
			m = d;
	}
	return m;
}

static embed_image *
load(const char *name)
{
	embed_image *im = NULL;
	int err = embed_image_load(fix(name), &im);

	if (err)
		fail_msg("%s: %s", name, vv_errmsg());
	return im;
}

static void
test_decode_parity(void **state)
{
	cases *c = cases_load("decode");
	int i;

	(void)state;
	for (i = 0; i < c->n; i++) {
		embed_image *got = load(c->w[i][1]), *want = load(c->w[i][2]);
		int d = max_diff(got, want);

		print_message("decode %-22s %3dx%-3d max diff %d\n", c->w[i][1], got->w, got->h, d);
		assert_true(d <= DECODE_TOL);
		embed_image_free(&got);
		embed_image_free(&want);
	}
	free(c);
}

static uint64_t
fnv1a64(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void
test_decode_hash(void **state)
{
	cases *c = cases_load("hash");
	int i;

	(void)state;
	for (i = 0; i < c->n; i++) {
		embed_image *got = load(c->w[i][1]);
		char hex[32];

		assert_int_equal(got->w, atoi(c->w[i][2]));
		assert_int_equal(got->h, atoi(c->w[i][3]));
		snprintf(hex, sizeof(hex), "%016llx",
			 (unsigned long long)fnv1a64(got->rgb, (size_t)got->w * got->h * 3));
		print_message("decode %s: fnv1a64 %s (Pillow %s)\n", c->w[i][1], hex, c->w[i][4]);
		assert_string_equal(hex, c->w[i][4]);
		embed_image_free(&got);
	}
	free(c);
}

static void
test_resize_parity(void **state)
{
	cases *c = cases_load("resize");
	int i;

	(void)state;
	for (i = 0; i < c->n; i++) {
		embed_image *src = load(c->w[i][1]), *want = load(c->w[i][5]), *got = NULL;
		int w = atoi(c->w[i][2]), h = atoi(c->w[i][3]), rs = atoi(c->w[i][4]), d;

		assert_int_equal(embed_image_resize(src, w, h, rs, &got), 0);
		d = max_diff(got, want);
		print_message("resize %-16s -> %3dx%-3d filter %d: max diff %d\n",
			      c->w[i][1], w, h, rs, d);
		assert_true(d <= RESIZE_TOL);
		embed_image_free(&src);
		embed_image_free(&want);
		embed_image_free(&got);
	}
	free(c);
}

static void
check_tensor(const char *npy, const float *got, int w, int h)
{
	vv_array *a = NULL;
	const float *want;
	double m;

	assert_int_equal(vv_npy_read(fix(npy), &a), 0);
	assert_int_equal(a->ndim, 3);
	assert_int_equal(a->shape[0], 3);
	assert_int_equal(a->shape[1], h);
	assert_int_equal(a->shape[2], w);
	want = a->data;
	m = tu_max_diff_f32(got, want, 3 * w * h);
	print_message("preprocess %-34s max |diff| %.3g\n", npy, m);
	assert_true(m <= TENSOR_TOL);
	vv_array_free(&a);
}

static void
test_preprocess_vit(void **state)
{
	cases *c = cases_load("vit");
	int i, k;

	(void)state;
	for (i = 0; i < c->n; i++) {
		embed_preproc pp = { 0 };
		embed_image *src = load(c->w[i][1]);
		float *out;
		int ow, oh;

		pp.do_resize = 1;
		pp.size_w = atoi(c->w[i][2]);
		pp.size_h = atoi(c->w[i][3]);
		pp.resample = atoi(c->w[i][4]);
		pp.do_rescale = 1;
		pp.rescale = strtod(c->w[i][5], NULL);
		pp.do_normalize = 1;
		for (k = 0; k < 3; k++) {
			pp.mean[k] = strtof(c->w[i][6 + k], NULL);
			pp.std[k] = strtof(c->w[i][9 + k], NULL);
		}
		embed_preproc_output_size(&pp, src->w, src->h, &ow, &oh);
		assert_int_equal(ow, pp.size_w);
		assert_int_equal(oh, pp.size_h);
		out = malloc(sizeof(float) * 3 * ow * oh);
		assert_int_equal(embed_preprocess(&pp, src, out, ow, oh), 0);
		check_tensor(c->w[i][12], out, ow, oh);
		free(out);
		embed_image_free(&src);
	}
	free(c);
}

static void
test_preprocess_timm(void **state)
{
	cases *c = cases_load("timm");
	int i, k;

	(void)state;
	for (i = 0; i < c->n; i++) {
		embed_preproc pp = { 0 };
		embed_image *src = load(c->w[i][1]);
		float *out;
		int ow, oh;

		pp.do_resize = 1;
		pp.resize_shortest = 1;
		pp.shortest = atoi(c->w[i][2]);
		pp.do_crop = 1;
		pp.crop_w = atoi(c->w[i][3]);
		pp.crop_h = atoi(c->w[i][4]);
		pp.resample = atoi(c->w[i][5]);
		pp.do_rescale = 1;
		pp.rescale = 1.0 / 255;
		pp.do_normalize = 1;
		for (k = 0; k < 3; k++) {
			pp.mean[k] = strtof(c->w[i][6 + k], NULL);
			pp.std[k] = strtof(c->w[i][9 + k], NULL);
		}
		embed_preproc_output_size(&pp, src->w, src->h, &ow, &oh);
		out = malloc(sizeof(float) * 3 * ow * oh);
		assert_int_equal(embed_preprocess(&pp, src, out, ow, oh), 0);
		check_tensor(c->w[i][12], out, ow, oh);
		free(out);
		embed_image_free(&src);
	}
	free(c);
}

/*
 * A Hugging Face processor with size {"shortest_edge"} and do_center_crop,
 * read through the preprocessor_config.json parser: transformers' crop
 * offsets (floor, padding ceil before), not torchvision's.
 */
static void
test_preprocess_hf(void **state)
{
	cases *c = cases_load("hf");
	int i;

	(void)state;
	assert_true(c->n >= 4);
	for (i = 0; i < c->n; i++) {
		embed_preproc pp;
		embed_image *src = load(c->w[i][1]);
		char json[1024];
		float *out;
		int ow, oh;

		snprintf(json, sizeof(json),
			 "{\"image_processor_type\": \"ViTImageProcessor\", \"do_resize\": true, "
			 "\"size\": {\"shortest_edge\": %s}, \"do_center_crop\": true, "
			 "\"crop_size\": {\"height\": %s, \"width\": %s}, \"resample\": %s, "
			 "\"do_rescale\": true, \"rescale_factor\": 0.00392156862745098, "
			 "\"do_normalize\": true, \"image_mean\": [%s, %s, %s], "
			 "\"image_std\": [%s, %s, %s]}",
			 c->w[i][2], c->w[i][4], c->w[i][3], c->w[i][5], c->w[i][6], c->w[i][7],
			 c->w[i][8], c->w[i][9], c->w[i][10], c->w[i][11]);
		assert_int_equal(embed_preproc_parse("hf.json", json, strlen(json), NULL, &pp), 0);
		assert_true(pp.crop_floor);
		embed_preproc_output_size(&pp, src->w, src->h, &ow, &oh);
		assert_int_equal(ow, atoi(c->w[i][3]));
		assert_int_equal(oh, atoi(c->w[i][4]));
		out = malloc(sizeof(float) * 3 * ow * oh);
		assert_int_equal(embed_preprocess(&pp, src, out, ow, oh), 0);
		check_tensor(c->w[i][12], out, ow, oh);
		free(out);
		embed_image_free(&src);
	}
	free(c);
}

static int
code_of(const char *name)
{
	if (!strcmp(name, "EFORMAT"))
		return VV_EFORMAT;
	if (!strcmp(name, "EUNSUPPORTED"))
		return VV_EUNSUPPORTED;
	fail_msg("unknown code %s", name);
	return 0;
}

static void
test_bad_files(void **state)
{
	cases *c = cases_load("bad");
	int i;

	(void)state;
	for (i = 0; i < c->n; i++) {
		embed_image *im = NULL;
		int err = embed_image_load(fix(c->w[i][1]), &im);

		print_message("bad %-16s -> %d: %s\n", c->w[i][1], err, vv_errmsg());
		assert_int_equal(err, code_of(c->w[i][2]));
		assert_null(im);
		assert_non_null(strstr(vv_errmsg(), c->w[i][1]));
	}
	free(c);
}

/* Every prefix of a JPEG and a PNG is an error (or, for JPEG with only
 * the EOI missing, the full image), never a crash. */
static void
test_truncations(void **state)
{
	static const char *files[] = { "small_61x37.jpg", "prog.jpg", "m_interlaced.png", "m_palette4.png" };
	size_t f;

	(void)state;
	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char *buf;
		size_t len, cut, step;
		int fails = 0;

		assert_int_equal(vv_read_file(fix(files[f]), 1 << 20, &buf, &len), 0);
		step = len / 300 + 1;
		for (cut = 0; cut < len; cut += step) {
			embed_image *im = NULL;
			int err = embed_image_decode("cut", (unsigned char *)buf, cut, &im);

			if (err) {
				assert_true(err == VV_EFORMAT);
				assert_non_null(strstr(vv_errmsg(), "cut"));
				assert_null(im);
				fails++;
			} else {
				/* only the last few bytes (EOI / IEND) may be missing */
				assert_true(cut + 12 >= len);
				embed_image_free(&im);
			}
		}
		assert_true(fails > 0);
		free(buf);
	}
}

/* Random byte flips: must not crash (ASan run), errors must be VV_EFORMAT. */
static void
test_corruptions(void **state)
{
	static const char *files[] = { "q90_420.jpg", "m_rgb16.png" };
	size_t f;
	int it;

	(void)state;
	srand(7);
	for (f = 0; f < 2; f++) {
		char *buf;
		size_t len;

		assert_int_equal(vv_read_file(fix(files[f]), 1 << 20, &buf, &len), 0);
		for (it = 0; it < 200; it++) {
			unsigned char *cp = malloc(len);
			embed_image *im = NULL;
			int k, err;

			memcpy(cp, buf, len);
			for (k = 0; k < 4; k++)
				cp[rand() % len] = (unsigned char)rand();
			err = embed_image_decode("flip", cp, len, &im);
			assert_true(err == 0 || err == VV_EFORMAT || err == VV_EUNSUPPORTED);
			assert_true(err ? im == NULL : im != NULL);
			embed_image_free(&im);
			free(cp);
		}
		free(buf);
	}
}

static void
test_rescale_paths_agree(void **state)
{
	int v;

	(void)state;
	/* transformers: float64 multiply then float32; torchvision: float32 divide */
	for (v = 0; v < 256; v++)
		assert_true((float)((double)v * (1.0 / 255)) == (float)v / 255.0f);
}

static void
test_sizes_and_errors(void **state)
{
	embed_preproc pp = { 0 };
	embed_image *im = NULL, *out = NULL;
	float buf[3 * 4 * 4];
	int w, h;

	(void)state;
	/* torchvision Resize(int): int(size * long / short) */
	pp.do_resize = 1;
	pp.resize_shortest = 1;
	pp.shortest = 248;
	embed_preproc_resized_size(&pp, 500, 375, &w, &h);
	assert_int_equal(w, 330);  /* int(248 * 500 / 375) = int(330.67) */
	assert_int_equal(h, 248);
	embed_preproc_resized_size(&pp, 375, 500, &w, &h);
	assert_int_equal(w, 248);
	assert_int_equal(h, 330);

	assert_int_equal(embed_image_alloc(&im, 10, 8), 0);
	assert_int_equal(embed_image_resize(im, 4, 4, 99, &out), VV_EINVAL);
	assert_null(out);
	assert_int_equal(embed_image_resize(im, 0, 4, EMBED_RESAMPLE_BILINEAR, &out), VV_EINVAL);
	assert_int_equal(embed_image_crop(im, 8, 0, 3, 3, &out), VV_EINVAL);
	assert_int_equal(embed_image_crop(im, 7, 5, 3, 3, &out), 0);
	embed_image_free(&out);
	assert_null(out);
	/* final size must match what the caller expects */
	pp.shortest = 4;
	pp.resample = EMBED_RESAMPLE_BILINEAR;
	assert_int_equal(embed_preprocess(&pp, im, buf, 4, 4), VV_EMISMATCH);
	pp.do_crop = 1;
	pp.crop_w = pp.crop_h = 4;
	assert_int_equal(embed_preprocess(&pp, im, buf, 4, 4), 0);
	assert_int_equal(embed_image_alloc(&out, 40000, 10), VV_EUNSUPPORTED);
	embed_image_free(&im);
	embed_image_free(&im);  /* NULL-safe */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_parity),
		cmocka_unit_test(test_decode_hash),
		cmocka_unit_test(test_resize_parity),
		cmocka_unit_test(test_preprocess_vit),
		cmocka_unit_test(test_preprocess_timm),
		cmocka_unit_test(test_preprocess_hf),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_corruptions),
		cmocka_unit_test(test_rescale_paths_agree),
		cmocka_unit_test(test_sizes_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
