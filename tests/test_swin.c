/*
 * test_swin.c - the Swin Transformer family against timm's own
 * SwinTransformer and a re-implementation of transformers' arithmetic
 * (fixtures: scripts/make_fixtures_swin.py), in every checkpoint layout
 * (timm, transformers, Microsoft), F32 and F16, with and without padding;
 * thread-count invariance; bad input; `vitviz info` and `vitviz run`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "common/vv_thread.h"
#include "common/vv_work.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/models/embed_describe.h"
#include "embed/models/embed_model.h"
#include "embed/models/embed_registry.h"
#include "embed/models/embed_swin.h"
#include "embed/models/embed_timm_tags.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/swin/"
/* F32 weights, no resizing (the bound) */
#define TOL_F32 1e-4
/* F16 weights or resizing */
#define TOL_F16 2e-3

/* The test architectures of scripts/make_fixtures_swin.py (ARCHS). */
#define TEST_SWIN(nm, win, img)                                                              \
	{ .name = nm, .depth = 6, .width = 16, .heads = 2, .mlp_ratio = 2.0, .patch = 4,       \
	  .img_size = img, .prefix_tokens = 1, .global_pool = EMBED_POOL_MEAN,                 \
	  .default_tag = "test", .interpolation = EMBED_RESAMPLE_BICUBIC, .crop_pct = 0.9,     \
	  .mean = { 0.485f, 0.456f, 0.406f }, .std = { 0.229f, 0.224f, 0.225f },               \
	  .family = "swin", .window = win, .stage_depths = { 2, 2, 2 },                        \
	  .stage_heads = { 2, 2, 4 } }
static const embed_registry_entry test_archs[] = {
	TEST_SWIN("swin_test_a", 4, 64),
	TEST_SWIN("swin_test_pad", 3, 40),
};

static int
setup(void **state)
{
	size_t i;

	(void)state;
	vv_verbosity = 0;
	for (i = 0; i < sizeof(test_archs) / sizeof(test_archs[0]); i++)
		if (embed_registry_add(&test_archs[i]))
			return -1;
	return tu_setup("test_swin");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* Open the single checkpoint at `path` (arch: --arch or NULL); NULL and *err on failure. */
static embed_model *
try_open(const char *path, const char *arch, int *err)
{
	embed_ckpt_opts o = { .arch = arch };
	embed_ckpt_list *l = NULL;
	embed_model *m = NULL;

	*err = embed_ckpt_discover_opts(path, &o, &l);
	if (*err)
		return NULL;
	assert_int_equal(l->n, 1);
	*err = embed_model_open(&l->v[0], &m);
	embed_ckpt_list_free(&l);
	return m;
}

static embed_model *
open1(const char *path, const char *arch)
{
	int err;
	embed_model *m = try_open(path, arch, &err);

	if (!m)
		fail_msg("%s: %s", path, vv_errmsg());
	return m;
}

/* Embeddings and logits of `m` on pixels_<px>.npy against ref/<ref>_{emb,logits}. */
static void
check(embed_model *m, const char *px, const char *ref, double tol)
{
	const embed_model_info *mi = embed_model_get_info(m);
	vv_array *x = tu_load_npy(FIX "pixels_%s.npy", px);
	vv_array *re = tu_load_npy(FIX "ref/%s_emb.npy", ref);
	vv_array *rl = tu_load_npy(FIX "ref/%s_logits.npy", ref);
	int b = (int)x->shape[0], d = mi->dim, nl = mi->num_labels;
	float *emb = calloc((size_t)b * d, sizeof(float)), *lg = calloc((size_t)b * nl, sizeof(float));
	char what[128];

	assert_string_equal(mi->family, "swin");
	assert_int_equal(d, 64);
	assert_int_equal(nl, 5);
	assert_int_equal((int)re->shape[1], d);
	/* --pool is ignored: the pooled vector whatever is asked */
	assert_int_equal(embed_model_forward(m, x->data, b, EMBED_POOL_CLS, emb, lg), 0);
	snprintf(what, sizeof(what), "%s embedding", ref);
	tu_assert_close_f32(what, emb, re->data, (int64_t)b * d, tol);
	snprintf(what, sizeof(what), "%s logits", ref);
	tu_assert_close_f32(what, lg, rl->data, (int64_t)b * nl, tol);
	free(emb);
	free(lg);
	vv_array_free(&x);
	vv_array_free(&re);
	vv_array_free(&rl);
}

/* timm >= 1.0 names, architecture by --arch / the checkpoint's 'arch'. */
static void
test_timm_layout(void **state)
{
	embed_model *m;

	(void)state;
	m = open1(FIX "a_timm.safetensors", "swin_test_a");
	assert_string_equal(embed_model_get_info(m)->name, "Swin");
	check(m, "a", "a_timm", TOL_F32);
	embed_model_free(&m);
	/* padded windows, shifted after padding is not what timm does */
	m = open1(FIX "pad_timm.safetensors", "swin_test_pad");
	check(m, "pad", "pad_timm", TOL_F32);
	embed_model_free(&m);
	/* a train.py checkpoint naming its arch */
	m = open1(FIX "a_timm.pth.tar", NULL);
	check(m, "a", "a_timm", TOL_F32);
	assert_string_equal(embed_model_get_info(m)->arch, "swin_test_a");
	embed_model_free(&m);
	/* float16 weights */
	m = open1(FIX "a_timm_f16.safetensors", "swin_test_a");
	check(m, "a", "a_f16", TOL_F16);
	embed_model_free(&m);
}

/* transformers' names and arithmetic (padding before the shift). */
static void
test_hf_layout(void **state)
{
	embed_model *m;

	(void)state;
	m = open1(FIX "hf_a", NULL);
	check(m, "a", "a_hf", TOL_F32);
	/* without padding transformers and timm agree */
	check(m, "a", "a_timm", TOL_F32);
	assert_string_equal(embed_model_get_info(m)->id2label[2], "cat");
	assert_string_equal(embed_model_get_info(m)->arch, "SwinForImageClassification");
	assert_int_equal(embed_model_get_info(m)->pp.resample, EMBED_RESAMPLE_BICUBIC);
	embed_model_free(&m);
	m = open1(FIX "hf_pad", NULL);
	check(m, "pad", "pad_hf", TOL_F32);
	embed_model_free(&m);
	m = open1(FIX "hf_a_f16", NULL);
	check(m, "a", "a_f16", TOL_F16);
	embed_model_free(&m);
	/* SwinModel: no classifier, no "swin." prefix: pooler_output only */
	{
		vv_array *x = tu_load_npy(FIX "pixels_a.npy"), *re = tu_load_npy(FIX "ref/a_hf_emb.npy");
		float emb[3 * 64], lg[8] = { 0 };

		m = open1(FIX "hf_a_base", NULL);
		assert_int_equal(embed_model_get_info(m)->num_labels, 0);
		assert_string_equal(embed_model_get_info(m)->arch, "SwinModel");
		assert_int_equal(embed_model_forward(m, x->data, 3, EMBED_POOL_MEAN, emb, lg), 0);
		tu_assert_close_f32("SwinModel pooler_output", emb, re->data, 3 * 64, TOL_F32);
		assert_true(lg[0] == 0.0f); /* no head: logits untouched */
		embed_model_free(&m);
		vv_array_free(&x);
		vv_array_free(&re);
	}
}

/* The original code's {'model': ...} with its buffers: shape from the tensors. */
static void
test_ms_layout(void **state)
{
	const embed_model_info *mi;
	embed_model *m;

	(void)state;
	m = open1(FIX "a_ms.pth", NULL);
	mi = embed_model_get_info(m);
	assert_int_equal(mi->image_w, 64); /* from the attn_mask buffer */
	check(m, "a", "a_timm", TOL_F32);
	embed_model_free(&m);
	/* with the absolute position embedding of its APE option */
	m = open1(FIX "a_ms_ape.pth", NULL);
	check(m, "a", "a_ape", TOL_F32);
	embed_model_free(&m);
	/* a run folder of its main.py: ckpt_epoch_<epoch>.pth, epoch order */
	{
		embed_ckpt_list *l = NULL;
		char dir[512];

		snprintf(dir, sizeof(dir), "%s", tu_path("msrun"));
		assert_int_equal(vv_mkdir_p(dir), 0);
		assert_int_equal(tu_sh("cp %s %s/ckpt_epoch_10.pth && cp %s %s/ckpt_epoch_2.pth && "
				       "touch %s/log_rank0.txt", FIX "a_ms.pth", dir, FIX "a_ms.pth",
				       dir, dir), 0);
		assert_int_equal(embed_ckpt_discover(dir, &l), 0);
		assert_int_equal(l->n, 2);
		assert_string_equal(l->v[0].name, "ckpt_epoch_2");
		assert_int_equal(l->v[0].step, 2);
		assert_int_equal(l->v[1].step, 10);
		assert_int_equal(embed_model_open(&l->v[1], &m), 0);
		check(m, "a", "a_timm", TOL_F32);
		embed_model_free(&m);
		embed_ckpt_list_free(&l);
	}
	/* an --arch of the same shape works too */
	m = open1(FIX "a_ms.pth", "swin_test_a");
	check(m, "a", "a_timm", TOL_F32);
	embed_model_free(&m);
}

/* Same bytes for any thread count and any batch split. */
static void
test_threads(void **state)
{
	vv_array *x = tu_load_npy(FIX "pixels_pad.npy");
	embed_model *m = open1(FIX "hf_pad", NULL);
	const int d = 64, b = (int)x->shape[0];
	float e1[3 * 64], e2[3 * 64], e3[3 * 64];
	int nt = vv_threads(), i;
	const size_t img = (size_t)3 * 40 * 40;

	(void)state;
	assert_int_equal(b, 3);
	vv_threads_set(1);
	assert_int_equal(embed_model_forward(m, x->data, b, EMBED_POOL_MEAN, e1, NULL), 0);
	vv_threads_set(3);
	assert_int_equal(embed_model_forward(m, x->data, b, EMBED_POOL_MEAN, e2, NULL), 0);
	for (i = 0; i < b; i++)
		assert_int_equal(embed_model_forward(m, (const float *)x->data + i * img, 1, EMBED_POOL_MEAN,
						     e3 + i * d, NULL), 0);
	vv_threads_set(nt);
	assert_memory_equal(e1, e2, sizeof(e1));
	assert_memory_equal(e1, e3, sizeof(e1));
	embed_model_free(&m);
	vv_array_free(&x);
}

/* Write `text` to <tmp>/<rel>. */
static void
put(const char *rel, const char *text)
{
	assert_int_equal(vv_write_file_atomic(tu_path(rel), text, strlen(text)), 0);
}

static void
copy_file(const char *src, const char *rel)
{
	char *buf;
	size_t len;

	assert_int_equal(vv_read_file(src, 1 << 24, &buf, &len), 0);
	assert_int_equal(vv_write_file_atomic(tu_path(rel), buf, len), 0);
	free(buf);
}

/* A window that does not fit, a missing stage, an unknown --arch. */
static void
test_bad_input(void **state)
{
	char *cfg, dir[512], *p;
	size_t len;
	int err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("win"));
	assert_int_equal(vv_mkdir_p(dir), 0);
	copy_file(FIX "hf_a/model.safetensors", "win/model.safetensors");
	copy_file(FIX "hf_a/preprocessor_config.json", "win/preprocessor_config.json");
	assert_int_equal(vv_read_file(FIX "hf_a/config.json", 1 << 20, &cfg, &len), 0);
	p = strstr(cfg, "\"window_size\": 4");
	assert_non_null(p);
	memcpy(p, "\"window_size\": 9", 16); /* stage 2 is 4x4 */
	put("win/config.json", cfg);
	free(cfg);
	assert_null(try_open(dir, NULL, &err));
	assert_int_equal(err, VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "config.json: window_size 9 does not fit stage 1"));
	/* the CLI: one line naming the file, exit 3, no manifest */
	assert_int_equal(tu_run("--quiet embed %s --data %s --limit 2 -o %s", dir, TU_DEMO_DATA,
				tu_path("winwork")), 3);
	if (tu_count_lines(tu_err()) != 1 || !strstr(tu_err(), "config.json: window_size 9"))
		fail_msg("expected one line: %s", tu_err());
	assert_false(tu_exists(tu_path("winwork/manifest.json")));

	assert_null(try_open(FIX "bad_nostage.safetensors", "swin_test_a", &err));
	assert_int_equal(err, VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "bad_nostage.safetensors"));
	assert_non_null(strstr(vv_errmsg(), "stage 2 is missing"));

	assert_null(try_open(FIX "a_timm.safetensors", "swin_tiny_patch4_window9_224", &err));
	assert_int_equal(err, VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "unknown architecture \"swin_tiny_patch4_window9_224\""));

	/* the wrong size: Swin-T's shape on the tiny weights */
	assert_null(try_open(FIX "a_timm.safetensors", "swin_tiny_patch4_window7_224", &err));
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "a_timm.safetensors"));

	/* the CLI: one line, exit 3, no work folder */
	assert_int_equal(tu_run("--quiet embed %s --arch swin_test_nothing --data %s -o %s",
				FIX "a_timm.safetensors", TU_DEMO_DATA, tu_path("badwork")), 3);
	if (tu_count_lines(tu_err()) != 1)
		fail_msg("more than one line: %s", tu_err());
	assert_false(tu_exists(tu_path("badwork/manifest.json")));
}

/* Registry entries of the timm names: shapes and preprocessing. */
static void
test_registry(void **state)
{
	const embed_registry_entry *e;

	(void)state;
	e = embed_registry_find("swin_tiny_patch4_window7_224", NULL);
	assert_non_null(e);
	assert_string_equal(embed_registry_family(e), "swin");
	assert_int_equal(e->width, 96);
	assert_int_equal(e->window, 7);
	assert_int_equal(e->stage_depths[2], 6);
	assert_int_equal(e->stage_heads[3], 24);
	e = embed_registry_find("swin_base_patch4_window12_384", NULL);
	assert_non_null(e);
	assert_int_equal(e->img_size, 384);
	assert_int_equal(e->window, 12);
	assert_true(e->crop_pct == 1.0);
	e = embed_registry_find("swin_large_patch4_window7_224", NULL);
	assert_int_equal(e->stage_heads[0], 6);
	/* every built-in Swin's default tag and preprocessing are timm's
	 * (embed_timm_tags.c is generated from timm's source) */
	{
		size_t i, n = embed_registry_count(), seen = 0;

		for (i = 0; i < n; i++) {
			const embed_registry_entry *r = embed_registry_at(i);
			const embed_timm_tag *tg;

			if (strcmp(embed_registry_family(r), "swin") || !strcmp(r->default_tag, "test"))
				continue;
			tg = embed_timm_tag_find(r->name, strlen(r->name), r->default_tag);
			assert_non_null(tg);
			assert_int_equal(tg->img_size, r->img_size);
			assert_int_equal(tg->interpolation, r->interpolation);
			assert_true(tg->crop_pct == r->crop_pct);
			assert_true(tg->mean[1] == r->mean[1] && tg->std[2] == r->std[2]);
			seen++;
		}
		assert_int_equal(seen, 6);
	}
	{
		embed_swin_config c = { .embed_dim = 96, .stages = 4, .depths = { 2, 2, 6, 2 },
					.heads = { 3, 6, 12, 24 } };
		char name[96];

		embed_swin_display_name(&c, name, sizeof(name));
		assert_string_equal(name, "Swin-T");
		c.depths[2] = 18;
		embed_swin_display_name(&c, name, sizeof(name));
		assert_string_equal(name, "Swin-S");
		c.embed_dim = 192;
		c.heads[0] = 6;
		embed_swin_display_name(&c, name, sizeof(name));
		assert_string_equal(name, "Swin-L");
	}
}

/* `vitviz info` names the family, size and preprocessing. */
static void
test_info(void **state)
{
	(void)state;
	assert_int_equal(tu_run("info %s", FIX "hf_a"), 0);
	assert_non_null(strstr(tu_out(), "family swin"));
	assert_non_null(strstr(tu_out(), "window_size 4"));
	assert_non_null(strstr(tu_out(), "preprocessing: resize to 64x64 (bicubic)"));
	assert_non_null(strstr(tu_out(), "check: the weights build the model"));
	assert_int_equal(tu_run("info %s", FIX "a_ms.pth"), 0);
	assert_non_null(strstr(tu_out(), "layout Microsoft Swin"));
}

/* embed -> analyze -> render on a small HF Trainer run of Swin checkpoints. */
static void
test_run(void **state)
{
	static const char *const cls[] = { "airplane", "bird", "cat", "deer", "frog" };
	char work[512], mp4[512], data[512];
	vv_manifest *man = NULL;
	vv_array *e;
	int i;

	(void)state;
	snprintf(work, sizeof(work), "%s", tu_path("runwork"));
	snprintf(mp4, sizeof(mp4), "%s", tu_path("swin.mp4"));
	snprintf(data, sizeof(data), "%s", tu_path("data"));
	for (i = 0; i < 5; i++) {
		assert_int_equal(tu_sh("mkdir -p %s/%s && cp %s/%d/$(ls %s/%d | head -1) %s/%d/$(ls %s/%d | tail -1) %s/%s/",
				       data, cls[i], TU_DEMO_DATA, i, TU_DEMO_DATA, i, TU_DEMO_DATA, i,
				       TU_DEMO_DATA, i, data, cls[i]), 0);
	}
	assert_int_equal(tu_run("--quiet run %s --data %s -o %s --work %s --size 320x240 --fps 10 "
				"--seconds-per-checkpoint 0.2 --hold 0.2", FIX "run", data, mp4, work), 0);
	assert_true(tu_exists(mp4));
	e = tu_load_npy("%s/embeddings/checkpoint-2.npy", work);
	assert_int_equal((int)e->shape[0], 10);
	assert_int_equal((int)e->shape[1], 64);
	vv_array_free(&e);
	assert_int_equal(tu_sh("grep -Eq '\"name\":[[:space:]]*\"Swin\"' %s/manifest.json", work), 0);
	assert_int_equal(tu_sh("grep -Eq '\"family\":[[:space:]]*\"swin\"' %s/manifest.json", work), 0);
	/* render's default title reads the name from here */
	assert_int_equal(vv_manifest_load(work, &man), 0);
	assert_string_equal(man->model_name, "Swin");
	vv_manifest_free(&man);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timm_layout),
		cmocka_unit_test(test_hf_layout),
		cmocka_unit_test(test_ms_layout),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
