/*
 * test_pt.c - torch.save files (made by scripts/make_fixtures_pt.py with
 * torch 1.13) give exactly the tensors of their safetensors twins, written
 * from the same torch tensors by scripts/vitref.py.
 *
 * Tolerance: 1e-5 absolute.  The loader converts every dtype to float32 the
 * same way the twin is converted here, so the expected difference is 0.
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
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "embed/formats/embed_pt.h"

#define FIX "tests/fixtures/pt/"
#define TOL 1e-5

/* Number of tensors of the ViT in the fixtures (HF names, classifier). */
#define VIT_TENSORS 40

/*
 * IEEE half and bfloat16 to float by their definition (sign, exponent,
 * mantissa through ldexp), independent of embed_f16_to_f32 /
 * embed_bf16_to_f32, which the loaders under test use.
 */
static float
ref_f16(uint16_t h)
{
	int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
	double v;

	if (e == 31)
		v = m ? NAN : INFINITY;
	else if (e == 0)
		v = ldexp(m, -24); /* subnormal: m / 1024 * 2^-14 */
	else
		v = ldexp(1024 + m, e - 25); /* (1 + m / 1024) * 2^(e - 15) */
	return (float)(s ? -v : v);
}

static float
ref_bf16(uint16_t h)
{
	int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
	double v;

	if (e == 255)
		v = m ? NAN : INFINITY;
	else if (e == 0)
		v = ldexp(m, -133); /* m / 128 * 2^-126 */
	else
		v = ldexp(128 + m, e - 134); /* (1 + m / 128) * 2^(e - 127) */
	return (float)(s ? -v : v);
}

/* A minimal safetensors reader for the twins (test only). */
static embed_tensors *
load_twin(const char *path)
{
	embed_tensors *t = NULL;
	char *buf = NULL;
	size_t len;
	uint64_t hlen;
	cJSON *root, *e;

	assert_int_equal(vv_read_file(path, 16 << 20, &buf, &len), 0);
	assert_true(len >= 8);
	memcpy(&hlen, buf, 8);
	assert_true(hlen <= len - 8);
	root = vv_json_parse(path, buf + 8, (size_t)hlen);
	assert_non_null(root);
	assert_int_equal(embed_tensors_alloc(&t), 0);
	cJSON_ArrayForEach(e, root) {
		const char *dt = cJSON_GetObjectItem(e, "dtype") ? cJSON_GetObjectItem(e, "dtype")->valuestring : NULL;
		cJSON *shape = cJSON_GetObjectItem(e, "shape"), *offs = cJSON_GetObjectItem(e, "data_offsets");
		int64_t sh[EMBED_MAXDIM], n = 1, i;
		const unsigned char *p;
		embed_dtype d;
		int nd = 0;
		float *f;

		if (!strcmp(e->string, "__metadata__"))
			continue;
		assert_non_null(dt);
		for (cJSON *s = shape->child; s; s = s->next) {
			sh[nd++] = (int64_t)s->valuedouble;
			n *= sh[nd - 1];
		}
		p = (const unsigned char *)buf + 8 + hlen + (size_t)cJSON_GetArrayItem(offs, 0)->valuedouble;
		f = malloc((size_t)(n ? n : 1) * sizeof(float));
		assert_non_null(f);
		d = !strcmp(dt, "F32") ? EMBED_DT_F32 : !strcmp(dt, "F16") ? EMBED_DT_F16 :
		    !strcmp(dt, "BF16") ? EMBED_DT_BF16 : !strcmp(dt, "F64") ? EMBED_DT_F64 :
		    !strcmp(dt, "I64") ? EMBED_DT_I64 : EMBED_DT_OTHER;
		assert_int_not_equal(d, EMBED_DT_OTHER);
		for (i = 0; i < n; i++) {
			uint16_t h;
			double x;
			int64_t q;

			switch (d) {
			case EMBED_DT_F32: memcpy(&f[i], p + 4 * i, 4); break;
			case EMBED_DT_F16: memcpy(&h, p + 2 * i, 2); f[i] = ref_f16(h); break;
			case EMBED_DT_BF16: memcpy(&h, p + 2 * i, 2); f[i] = ref_bf16(h); break;
			case EMBED_DT_F64: memcpy(&x, p + 8 * i, 8); f[i] = (float)x; break;
			default: memcpy(&q, p + 8 * i, 8); f[i] = (float)q; break;
			}
		}
		assert_int_equal(embed_tensors_add(t, e->string, nd, sh, d, f), 0);
	}
	cJSON_Delete(root);
	free(buf);
	return t;
}

/* Same names, shapes, source dtypes and values (within TOL); the max |diff|. */
static double
compare(const embed_tensors *got, const embed_tensors *want, const char *what)
{
	double maxd = 0;
	size_t i;
	int64_t k, n;
	int d;

	assert_int_equal(got->n, want->n);
	for (i = 0; i < want->n; i++) {
		const embed_tensor *w = &want->v[i], *g = embed_tensors_find(got, w->name);

		if (!g)
			fail_msg("%s: tensor %s missing", what, w->name);
		assert_int_equal(g->ndim, w->ndim);
		for (d = 0; d < w->ndim; d++)
			assert_int_equal(g->shape[d], w->shape[d]);
		if (g->src_dtype != w->src_dtype)
			fail_msg("%s: %s is %s, twin %s", what, w->name, embed_dtype_name(g->src_dtype),
				 embed_dtype_name(w->src_dtype));
		n = embed_tensor_numel(w);
		for (k = 0; k < n; k++) {
			double diff = fabs((double)g->data[k] - (double)w->data[k]);

			if (!(diff <= TOL))
				fail_msg("%s: %s[%lld] = %g, twin %g", what, w->name, (long long)k,
					 g->data[k], w->data[k]);
			if (diff > maxd)
				maxd = diff;
		}
	}
	print_message("%-22s %zu tensors, max |diff| %.3g\n", what, got->n, maxd);
	return maxd;
}

/* Load `file` and compare it with `twin`; returns the info (caller resets). */
static void
check_file(const char *file, const char *twin, int ema, embed_pt_info *info)
{
	embed_pt_opts opts = { ema };
	embed_tensors *got = NULL, *want = load_twin(twin);

	if (embed_pt_load(file, &opts, &got, info))
		fail_msg("%s", vv_errmsg());
	compare(got, want, strrchr(file, '/') + 1);
	embed_tensors_free(&got);
	embed_tensors_free(&want);
}

static void
test_hf_state_dict(void **state)
{
	embed_pt_info info;

	(void)state;
	check_file(FIX "hf_pytorch_model.bin", FIX "weights.safetensors", 0, &info);
	assert_int_equal(info.epoch, -1);
	assert_null(info.arch);
	assert_null(info.args_model);
	assert_int_equal(info.used_ema, 0);
	embed_pt_info_reset(&info);
	/* NULL info and options are fine */
	{
		embed_tensors *t = NULL;

		assert_int_equal(embed_pt_load(FIX "hf_pytorch_model.bin", NULL, &t, NULL), 0);
		assert_int_equal(t->n, VIT_TENSORS);
		assert_non_null(embed_tensors_find(t, "vit.encoder.layer.1.output.dense.weight"));
		assert_non_null(embed_tensors_find(t, "classifier.bias"));
		embed_tensors_free(&t);
	}
}

static void
test_timm_checkpoint(void **state)
{
	embed_pt_info info;

	(void)state;
	/* the optimizer's exp_avg / exp_avg_sq / step tensors are not taken */
	check_file(FIX "checkpoint-3.pth.tar", FIX "weights.safetensors", 0, &info);
	assert_int_equal(info.epoch, 3);
	assert_string_equal(info.arch, "vit_tiny_patch16_224");
	assert_string_equal(info.args_model, "vit_tiny_patch16_224");
	assert_int_equal(info.used_ema, 0);
	embed_pt_info_reset(&info);
	assert_null(info.arch);
	assert_int_equal(info.epoch, -1);
}

static void
test_half(void **state)
{
	embed_pt_info info;

	(void)state;
	check_file(FIX "half.bin", FIX "half.safetensors", 0, &info);
	embed_pt_info_reset(&info);
}

static void
test_bf16_f64(void **state)
{
	embed_pt_info info;

	(void)state;
	check_file(FIX "mixed.bin", FIX "mixed.safetensors", 0, &info);
	embed_pt_info_reset(&info);
}

static void
test_module_prefix(void **state)
{
	embed_pt_info info;
	embed_tensors *t = NULL;

	(void)state;
	check_file(FIX "module_prefix.pth", FIX "weights.safetensors", 0, &info);
	assert_int_equal(info.epoch, 7);
	embed_pt_info_reset(&info);
	assert_int_equal(embed_pt_load(FIX "module_prefix.pth", NULL, &t, NULL), 0);
	assert_null(embed_tensors_find(t, "module.classifier.weight"));
	assert_non_null(embed_tensors_find(t, "classifier.weight"));
	embed_tensors_free(&t);
}

static void
test_ema(void **state)
{
	embed_pt_info info;

	(void)state;
	check_file(FIX "ema.pth.tar", FIX "weights.safetensors", 0, &info);
	assert_int_equal(info.used_ema, 0);
	assert_int_equal(info.epoch, 5);
	embed_pt_info_reset(&info);
	check_file(FIX "ema.pth.tar", FIX "ema.safetensors", 1, &info);
	assert_int_equal(info.used_ema, 1);
	embed_pt_info_reset(&info);
	/* EMA asked for, none there: the regular weights, used_ema 0 */
	check_file(FIX "checkpoint-3.pth.tar", FIX "weights.safetensors", 1, &info);
	assert_int_equal(info.used_ema, 0);
	embed_pt_info_reset(&info);
}

/* Slices with storage offsets, transposed / permuted / strided / expanded views. */
static void
test_views(void **state)
{
	embed_pt_info info;
	embed_tensors *t = NULL;
	const embed_tensor *x;

	(void)state;
	check_file(FIX "views.bin", FIX "views.safetensors", 0, &info);
	embed_pt_info_reset(&info);
	/* spot checks against values written by hand in the script */
	assert_int_equal(embed_pt_load(FIX "views.bin", NULL, &t, NULL), 0);
	x = embed_tensors_find(t, "extra.strided"); /* (arange(40)*0.25-3).reshape(4,10)[1:, 1::3] */
	assert_non_null(x);
	assert_int_equal(x->shape[0], 3);
	assert_int_equal(x->shape[1], 3);
	assert_true(x->data[0] == 11 * 0.25f - 3);
	assert_true(x->data[8] == 37 * 0.25f - 3);
	x = embed_tensors_find(t, "extra.expanded");
	assert_true(x->data[9] == 1.5f && x->data[11] == 0.25f);
	x = embed_tensors_find(t, "extra.scalar");
	assert_int_equal(x->ndim, 0);
	assert_true(x->data[0] == 3.5f);
	x = embed_tensors_find(t, "extra.long");
	assert_int_equal(x->src_dtype, EMBED_DT_I64);
	assert_true(x->data[0] == -2.0f && x->data[5] == 3.0f);
	embed_tensors_free(&t);
}

static void
test_zip64(void **state)
{
	embed_pt_info info;

	(void)state;
	check_file(FIX "zip64.bin", FIX "weights.safetensors", 0, &info);
	embed_pt_info_reset(&info);
}

/* The legacy (< 1.6) format: five pickles, then counted raw storages. */
static void
test_legacy(void **state)
{
	embed_pt_info info;

	(void)state;
	check_file(FIX "legacy.pt", FIX "weights.safetensors", 0, &info);
	embed_pt_info_reset(&info);
}

/* torch.save(..., pickle_protocol=4): FRAME, MEMOIZE, STACK_GLOBAL. */
static void
test_protocol4(void **state)
{
	embed_pt_info info;

	(void)state;
	check_file(FIX "proto4.bin", FIX "weights.safetensors", 0, &info);
	embed_pt_info_reset(&info);
}

/* The library's half / bfloat16 conversions against the definitions above, all 65536 values each. */
static void
test_half_conversions(void **state)
{
	uint32_t h;

	(void)state;
	for (h = 0; h < 65536; h++) {
		float a = embed_f16_to_f32((uint16_t)h), b = ref_f16((uint16_t)h);
		float c = embed_bf16_to_f32((uint16_t)h), d = ref_bf16((uint16_t)h);

		if (!(a == b || (isnan(a) && isnan(b))) || signbit(a) != signbit(b))
			fail_msg("f16 0x%04x: %.9g, by definition %.9g", h, a, b);
		if (!(c == d || (isnan(c) && isnan(d))) || signbit(c) != signbit(d))
			fail_msg("bf16 0x%04x: %.9g, by definition %.9g", h, c, d);
	}
	assert_true(ref_f16(0x3c00) == 1.0f && ref_f16(0xc000) == -2.0f && ref_f16(0x7bff) == 65504.0f &&
		    ref_f16(0x0001) == 0x1p-24f && ref_bf16(0x3f80) == 1.0f && ref_bf16(0xbf00) == -0.5f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_half_conversions),
		cmocka_unit_test(test_hf_state_dict),
		cmocka_unit_test(test_timm_checkpoint),
		cmocka_unit_test(test_half),
		cmocka_unit_test(test_bf16_f64),
		cmocka_unit_test(test_module_prefix),
		cmocka_unit_test(test_ema),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_zip64),
		cmocka_unit_test(test_protocol4),
		cmocka_unit_test(test_legacy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
