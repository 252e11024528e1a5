/*
 * test_vit.c - the ViT forward pass against PyTorch (scripts/vitref.py, a
 * re-implementation of transformers' ViT) on the fixtures made by
 * scripts/make_fixtures_vit.py: CLS and mean-pooled embeddings and logits
 * within 1e-4 max abs for F32, F16, BF16 and sharded checkpoints, a
 * ViTModel-keys checkpoint without a head, and a variant config (tanh GELU,
 * no qkv bias, eps 1e-6).
 * Also: the batch split over worker threads changes no result, and
 * embed_vit_build_consume() builds the same model.
 * (Speed is measured by bench/vit.sh, not here.)
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
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "common/vv_thread.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/models/embed_kernels.h"
#include "embed/models/embed_model.h"
#include "embed/models/embed_vit.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/vit/"
/* PyTorch float32 against this float32 implementation. */
#define TOL 1e-4

static embed_model *
open_folder(const char *dir)
{
	embed_ckpt_list *l = NULL;
	embed_model *m = NULL;

	if (embed_ckpt_discover(dir, &l))
		fail_msg("%s", vv_errmsg());
	assert_int_equal(l->n, 1);
	if (embed_model_open(&l->v[0], &m))
		fail_msg("%s", vv_errmsg());
	embed_ckpt_list_free(&l);
	return m;
}

/* Compare one checkpoint folder with its reference outputs. */
static void
check_variant(const char *dir, const char *ref, int has_head)
{
	embed_model *m = open_folder(dir);
	const embed_vit_config *c = embed_model_vit_config(m);
	vv_array *px = tu_load_npy(FIX "pixels.npy"), *r;
	int b = (int)px->shape[0], d = c->hidden;
	float *emb = calloc((size_t)b * d, sizeof(float));
	float logits[3 * 5 + 1];
	char path[256];
	double e;

	assert_int_equal(px->ndim, 4);
	assert_int_equal(px->shape[1], 3);
	assert_int_equal(px->shape[2], c->image_h);
	assert_int_equal(px->shape[3], c->image_w);
	assert_int_equal(d, 32);
	assert_int_equal(b, 3);

	/* CLS (and logits) */
	for (size_t i = 0; i < sizeof(logits) / sizeof(logits[0]); i++)
		logits[i] = 12345.0f;
	assert_int_equal(embed_model_forward(m, px->data, b, EMBED_POOL_CLS, emb, logits), 0);
	snprintf(path, sizeof(path), FIX "ref/%s_cls.npy", ref);
	r = tu_load_npy("%s", path);
	e = tu_max_diff_f32(emb, r->data, (size_t)b * d);
	printf("  %-9s CLS    max abs err %.3g\n", ref, e);
	assert_true(e < TOL);
	vv_array_free(&r);
	if (has_head) {
		assert_int_equal(c->num_labels, 5);
		assert_string_equal(c->id2label[0], "airplane");
		assert_string_equal(c->id2label[4], "frog");
		snprintf(path, sizeof(path), FIX "ref/%s_logits.npy", ref);
		r = tu_load_npy("%s", path);
		assert_int_equal(r->shape[1], 5);
		e = tu_max_diff_f32(logits, r->data, (size_t)b * 5);
		printf("  %-9s logits max abs err %.3g\n", ref, e);
		assert_true(e < TOL);
		vv_array_free(&r);
	} else {
		/* no head: no labels, and logits untouched */
		assert_int_equal(c->num_labels, 0);
		assert_null(c->id2label);
		for (size_t i = 0; i < sizeof(logits) / sizeof(logits[0]); i++)
			assert_true(logits[i] == 12345.0f);
	}
	assert_true(logits[15] == 12345.0f);

	/* mean of the patch tokens */
	assert_int_equal(embed_model_forward(m, px->data, b, EMBED_POOL_MEAN, emb, NULL), 0);
	snprintf(path, sizeof(path), FIX "ref/%s_mean.npy", ref);
	r = tu_load_npy("%s", path);
	e = tu_max_diff_f32(emb, r->data, (size_t)b * d);
	printf("  %-9s mean   max abs err %.3g\n", ref, e);
	assert_true(e < TOL);
	vv_array_free(&r);

	free(emb);
	vv_array_free(&px);
	embed_model_free(&m);
	assert_null(m);
}

static void
test_f32(void **state)
{
	(void)state;
	check_variant(FIX "f32", "f32", 1);
}

/* The f32 model again at every kernel level this CPU has (the attention
 * takes a different path for p V below AVX-512), best level restored after. */
static void
test_f32_levels(void **state)
{
	int l, best = -1;

	(void)state;
	for (l = EMBED_KERNELS_GENERIC; l <= EMBED_KERNELS_AVX512; l++) {
		if (embed_kernels_force(l))
			continue;
		best = l;
		printf("  kernels: %s\n", embed_kernels_name(l));
		check_variant(FIX "f32", "f32", 1);
	}
	assert_true(best >= 0);
	assert_int_equal(embed_kernels_force(best), 0);
}

static void
test_f16(void **state)
{
	(void)state;
	check_variant(FIX "f16", "f16", 1);
}

static void
test_bf16(void **state)
{
	(void)state;
	check_variant(FIX "bf16", "bf16", 1);
}

static void
test_sharded(void **state)
{
	(void)state;
	/* the shards hold the F32 weights */
	check_variant(FIX "sharded", "f32", 1);
}

/* tanh GELU, no query/key/value biases, eps 1e-6 (F16 storage) */
static void
test_variant(void **state)
{
	embed_model *m;

	(void)state;
	check_variant(FIX "variant", "variant", 1);
	m = open_folder(FIX "variant");
	assert_int_equal(embed_model_vit_config(m)->act, EMBED_ACT_GELU_TANH);
	assert_int_equal(embed_model_vit_config(m)->qkv_bias, 0);
	assert_true(embed_model_vit_config(m)->ln_eps == 1e-6);
	embed_model_free(&m);
}

static void
test_vitmodel_keys(void **state)
{
	(void)state;
	check_variant(FIX "vitmodel", "vitmodel", 0);
}

/* One image at a time equals the batch; the scratch grows and shrinks use. */
static void
test_batch_independence(void **state)
{
	embed_model *m = open_folder(FIX "f32");
	vv_array *px = tu_load_npy(FIX "pixels.npy");
	const size_t img = 3 * 32 * 32;
	float all[3 * 32], one[32], lall[15], lone[5];
	int i;

	(void)state;
	assert_int_equal(embed_model_forward(m, (float *)px->data + img, 1, EMBED_POOL_CLS, one, lone), 0);
	assert_int_equal(embed_model_forward(m, px->data, 3, EMBED_POOL_CLS, all, lall), 0);
	assert_true(tu_max_diff_f32(one, all + 32, 32) < 1e-5);
	assert_true(tu_max_diff_f32(lone, lall + 5, 5) < 1e-5);
	for (i = 0; i < 3; i++) {
		assert_int_equal(embed_model_forward(m, (float *)px->data + i * img, 1,
						     EMBED_POOL_CLS, one, NULL), 0);
		assert_true(tu_max_diff_f32(one, all + i * 32, 32) < 1e-5);
	}
	/* bad arguments */
	assert_int_equal(embed_model_forward(m, px->data, 0, EMBED_POOL_CLS, one, NULL), VV_EINVAL);
	assert_int_equal(embed_model_forward(m, px->data, 1, 7, one, NULL), VV_EINVAL);
	vv_array_free(&px);
	embed_model_free(&m);
}

/* ------------------------------------------------------------------ */
/* Random weights                                                      */

static uint64_t rng = 88172645463325252ull;

static float
frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static int64_t
dimval(const embed_vit_config *c, int code)
{
	int t = (c->image_w / c->patch) * (c->image_h / c->patch) + 1;

	switch (code) {
	case EMBED_DIM_1: return 1;
	case EMBED_DIM_D: return c->hidden;
	case EMBED_DIM_3D: return 3 * c->hidden;
	case EMBED_DIM_M: return c->intermediate;
	case EMBED_DIM_T: return t;
	case EMBED_DIM_C: return c->channels;
	case EMBED_DIM_P: return c->patch;
	case EMBED_DIM_L: return 10;
	default: return -1;
	}
}

/* Random weights for every entry of the HF naming table ("vit." prefix). */
static embed_tensors *
random_hf_weights(const embed_vit_config *c)
{
	const embed_vit_naming *nm = &embed_vit_naming_hf;
	embed_tensors *t = NULL;
	size_t i;
	int l, k;

	assert_int_equal(embed_tensors_alloc(&t), 0);
	for (i = 0; i < nm->n; i++) {
		const embed_vit_name *e = &nm->names[i];
		int per_layer = e->slot >= EMBED_W_FIRST_LAYER_SLOT;

		for (l = 0; l < (per_layer ? c->layers : 1); l++) {
			char tail[256], name[300];
			int64_t shape[4], n = 1, j;
			float *d;

			snprintf(tail, sizeof(tail), e->fmt, l);
			snprintf(name, sizeof(name), "%s%s",
				 (e->flags & EMBED_NAME_ROOT) ? "" : "vit.", tail);
			for (k = 0; k < e->ndim; k++) {
				shape[k] = dimval(c, e->dims[k]);
				n *= shape[k];
			}
			d = malloc((size_t)n * sizeof(float));
			assert_non_null(d);
			for (j = 0; j < n; j++)
				d[j] = 0.05f * frand();
			assert_int_equal(embed_tensors_add(t, name, e->ndim, shape, EMBED_DT_F32, d), 0);
		}
	}
	return t;
}

/*
 * The batch split over worker threads: a batch of 9 (tiles of 4 + 4 + 1
 * images at T = 17) gives byte-identical embeddings and logits on 1, 2 and
 * 3 workers, and each image within 1e-5 of what a batch of one gives it
 * (another GEMM shape, so not the same bytes).
 */
static void
test_batch_split(void **state)
{
	embed_vit_config c;
	embed_tensors *t;
	embed_vit *m = NULL, *mc = NULL;
	enum { B = 9 };
	const int D = 64, L = 10;
	float *px, emb[B * 64], logits[B * 10], emb1[B * 64], logits1[B * 10], e1[64], l1[10];
	size_t img, i;
	int b, pool, th;

	(void)state;
	embed_vit_config_defaults(&c);
	c.hidden = D;
	c.heads = 4;
	c.intermediate = 128;
	c.layers = 2;
	c.image_w = c.image_h = 32;
	c.patch = 8;
	t = random_hf_weights(&c);
	assert_int_equal(embed_vit_build(&c, t, &embed_vit_naming_hf, "random", &m), 0);
	/* the consuming build frees every tensor's data and gives the same model */
	assert_int_equal(embed_vit_build_consume(&c, t, &embed_vit_naming_hf, "random", &mc), 0);
	for (i = 0; i < t->n; i++)
		assert_null(t->v[i].data);
	embed_tensors_free(&t);
	assert_int_equal(embed_vit_num_labels(m), L);
	img = (size_t)3 * 32 * 32;
	px = malloc(B * img * sizeof(float));
	assert_non_null(px);
	for (i = 0; i < B * img; i++)
		px[i] = frand();
	vv_threads_set(1);
	assert_int_equal(embed_vit_forward(m, px, 1, EMBED_POOL_CLS, emb, logits), 0);
	assert_int_equal(embed_vit_forward(mc, px, 1, EMBED_POOL_CLS, e1, l1), 0);
	assert_memory_equal(emb, e1, D * sizeof(float));
	assert_memory_equal(logits, l1, L * sizeof(float));
	embed_vit_free(&mc);
	for (pool = EMBED_POOL_CLS; pool <= EMBED_POOL_MEAN; pool++) {
		vv_threads_set(1);
		assert_int_equal(embed_vit_forward(m, px, B, pool, emb1, logits1), 0);
		for (th = 2; th <= 3; th++) {
			vv_threads_set(th);
			assert_int_equal(embed_vit_forward(m, px, B, pool, emb, logits), 0);
			assert_memory_equal(emb, emb1, sizeof(emb));
			assert_memory_equal(logits, logits1, sizeof(logits));
		}
		for (b = 0; b < B; b++) {
			assert_int_equal(embed_vit_forward(m, px + b * img, 1, pool, e1, l1), 0);
			for (i = 0; i < (size_t)D; i++)
				assert_float_equal(emb[b * D + i], e1[i], 1e-5);
			for (i = 0; i < (size_t)L; i++)
				assert_float_equal(logits[b * L + i], l1[i], 1e-5);
		}
	}
	vv_threads_set(0);
	free(px);
	embed_vit_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_f32),
		cmocka_unit_test(test_f32_levels),
		cmocka_unit_test(test_f16),
		cmocka_unit_test(test_bf16),
		cmocka_unit_test(test_sharded),
		cmocka_unit_test(test_variant),
		cmocka_unit_test(test_vitmodel_keys),
		cmocka_unit_test(test_batch_independence),
		cmocka_unit_test(test_batch_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
