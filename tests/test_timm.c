/*
 * test_timm.c - timm checkpoints: run folders (epoch order, last / best
 * ignored, args.yaml, summary.csv), the architecture registry, where the
 * architecture comes from (checkpoint, args.yaml, --arch), shapes checked
 * against it, the forward pass against a PyTorch re-implementation of
 * timm's VisionTransformer (scripts/make_fixtures_timm.py: plain, EMA,
 * half, DataParallel prefixes, DeiT distilled, LayerScale, avg pooling with
 * fc_norm), timm's eval preprocessing against Pillow, and bad args.yaml.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/vv_error.h"
#include "embed/images/embed_decode.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/models/embed_describe.h"
#include "embed/images/embed_image.h"
#include "embed/models/embed_model.h"
#include "embed/models/embed_registry.h"
#include "embed/formats/embed_safetensors.h"
#include "embed/formats/embed_timm_args.h"
#include "embed/models/embed_vit.h"
#include "embed/models/embed_timm_tags.h"
#include "embed/images/embed_preproc.h"
#include "cli/cli.h"
#include "tests/test_util.h"

#include <cjson/cJSON.h>

#define FIX "tests/fixtures/timm/"
/* PyTorch float32 against this float32 implementation. */
#define TOL_REF 1e-4
/* the same weights read from two file formats */
#define TOL_TWIN 1e-5

/* The test architectures of scripts/make_fixtures_timm.py (TEST_ARCHS). */
static const embed_registry_entry test_archs[] = {
	{ .name = "vit_test_tiny_patch8_32", .depth = 2, .width = 24, .heads = 3,
	  .mlp_ratio = 2.0, .patch = 8, .img_size = 32, .prefix_tokens = 1,
	  .global_pool = EMBED_POOL_CLS, .default_tag = "test",
	  .interpolation = EMBED_RESAMPLE_BICUBIC, .crop_pct = 0.9,
	  .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f } },
	{ .name = "deit_test_tiny_distilled_patch8_32", .depth = 2, .width = 24, .heads = 3,
	  .mlp_ratio = 2.0, .patch = 8, .img_size = 32, .prefix_tokens = 2,
	  .global_pool = EMBED_POOL_CLS, .default_tag = "test",
	  .interpolation = EMBED_RESAMPLE_BICUBIC, .crop_pct = 0.9,
	  .mean = { 0.485f, 0.456f, 0.406f }, .std = { 0.229f, 0.224f, 0.225f } },
	{ .name = "vit_test_gap_patch8_32", .depth = 2, .width = 24, .heads = 3,
	  .mlp_ratio = 2.0, .patch = 8, .img_size = 32, .prefix_tokens = 1,
	  .global_pool = EMBED_POOL_MEAN, .default_tag = "test",
	  .interpolation = EMBED_RESAMPLE_BICUBIC, .crop_pct = 0.9,
	  .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f } },
};

static int
setup(void **state)
{
	size_t i;

	(void)state;
	vv_verbosity = 0; /* warnings are expected */
	for (i = 0; i < sizeof(test_archs) / sizeof(test_archs[0]); i++)
		if (embed_registry_add(&test_archs[i]))
			return -1;
	return tu_setup("test_timm");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static char *
tpath(const char *rel)
{
	char *p = vv_path_join(tu_tmp, rel);

	assert_non_null(p);
	return p;
}

static void
put(const char *rel, const char *text)
{
	char *p = tpath(rel);

	assert_int_equal(vv_write_file_atomic(p, text, strlen(text)), 0);
	free(p);
}

static void
mkd(const char *rel)
{
	char *p = tpath(rel);

	assert_int_equal(vv_mkdir_p(p), 0);
	free(p);
}

static void
copy_file(const char *src, const char *rel)
{
	char *buf, *p = tpath(rel);
	size_t len;

	assert_int_equal(vv_read_file(src, 1 << 24, &buf, &len), 0);
	assert_int_equal(vv_write_file_atomic(p, buf, len), 0);
	free(buf);
	free(p);
}

/* Discover `path` with options and expect `n` checkpoints. */
static embed_ckpt_list *
discover(const char *path, const char *arch, int ema, size_t n)
{
	embed_ckpt_opts o = { .arch = arch, .ema = ema };
	embed_ckpt_list *l = NULL;

	if (embed_ckpt_discover_opts(path, &o, &l))
		fail_msg("%s", vv_errmsg());
	assert_int_equal(l->n, n);
	return l;
}

/* Open the single checkpoint at `path`. */
static embed_model *
open1(const char *path, const char *arch, int ema)
{
	embed_ckpt_list *l = discover(path, arch, ema, 1);
	embed_model *m = NULL;

	if (embed_model_open(&l->v[0], &m))
		fail_msg("%s", vv_errmsg());
	embed_ckpt_list_free(&l);
	return m;
}

/* Opening the single checkpoint at `path` fails: the error code. */
static int
open_fails(const char *path, const char *arch)
{
	embed_ckpt_list *l = discover(path, arch, 0, 1);
	embed_model *m = NULL;
	int err = embed_model_open(&l->v[0], &m);

	assert_int_not_equal(err, 0);
	assert_null(m);
	embed_ckpt_list_free(&l);
	return err;
}

/* Outputs of a model on pixels.npy (3 images). */
typedef struct outs {
	float cls[3 * 24], head[3 * 24], mean[3 * 24], logits[3 * 5];
} outs;

static void
run_model(embed_model *m, outs *o)
{
	vv_array *px = tu_load_npy(FIX "pixels.npy");

	assert_int_equal(embed_model_get_info(m)->dim, 24);
	assert_int_equal(embed_model_get_info(m)->num_labels, 5);
	assert_int_equal(embed_model_forward(m, px->data, 3, EMBED_POOL_CLS, o->cls, o->logits), 0);
	assert_int_equal(embed_model_forward(m, px->data, 3, EMBED_POOL_HEAD, o->head, NULL), 0);
	assert_int_equal(embed_model_forward(m, px->data, 3, EMBED_POOL_MEAN, o->mean, NULL), 0);
	vv_array_free(&px);
}

/* Compare with ref/<ref>_*.npy; returns the largest difference. */
static double
check_ref(const outs *o, const char *ref, const char *what)
{
	static const char *const kind[] = { "cls", "head", "mean", "logits" };
	const float *mine[] = { o->cls, o->head, o->mean, o->logits };
	size_t n[] = { 72, 72, 72, 15 };
	double worst = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char path[256];
		vv_array *r;
		double e;

		snprintf(path, sizeof(path), FIX "ref/%s_%s.npy", ref, kind[k]);
		r = tu_load_npy("%s", path);
		assert_int_equal(vv_array_numel(r), (int64_t)n[k]);
		e = tu_max_diff_f32(mine[k], r->data, n[k]);
		vv_array_free(&r);
		if (e > worst)
			worst = e;
		if (!(e <= TOL_REF))
			fail_msg("%s %s: max abs err %g > %g", what, kind[k], e, TOL_REF);
	}
	printf("  %-26s vs PyTorch: max abs err %.2e\n", what, worst);
	return worst;
}

static double
diff_outs(const outs *a, const outs *b)
{
	double e = tu_max_diff_f32(a->cls, b->cls, 72), x;

	if ((x = tu_max_diff_f32(a->head, b->head, 72)) > e)
		e = x;
	if ((x = tu_max_diff_f32(a->mean, b->mean, 72)) > e)
		e = x;
	if ((x = tu_max_diff_f32(a->logits, b->logits, 15)) > e)
		e = x;
	return e;
}

/* ------------------------------------------------------------------ */
/* Registry                                                             */

/* A float triple of a JSON array. */
static void
triple(const cJSON *a, float out[3])
{
	for (int i = 0; i < 3; i++)
		out[i] = (float)cJSON_GetArrayItem(a, i)->valuedouble;
}

/*
 * Pretrained tags: each tag's eval preprocessing as timm's pretrained_cfg
 * states it, and the transform output against timm's own
 * create_transform() on one image (every 7th row and column; fixtures by
 * scripts/make_timm_tags.py).  An unknown tag is refused naming the known.
 */
static void
test_pretrained_tags(void **state)
{
	cJSON *root, *cs, *c;
	embed_image *img = NULL;
	char *text;
	size_t len;
	int ncase = 0;

	(void)state;
	assert_int_equal(vv_read_file(FIX "tags.json", 1 << 20, &text, &len), 0);
	root = cJSON_Parse(text);
	free(text);
	assert_non_null(root);
	assert_int_equal(embed_image_load("tests/fixtures/image/src_250x333.png", &img), 0);
	cs = cJSON_GetObjectItem(root, "cases");
	cJSON_ArrayForEach(c, cs) {
		const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
		const char *interp = cJSON_GetObjectItem(c, "interpolation")->valuestring;
		const embed_registry_entry *e = embed_registry_find(name, NULL);
		int size = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "input_size"), 1)->valueint;
		int stride = cJSON_GetObjectItem(c, "stride")->valueint;
		char npy[256];
		vv_array *want = NULL;
		embed_preproc pp;
		float mean[3], std[3], *out, m = 0;
		int ch, y, x;

		if (!e)
			fail_msg("%s: %s", name, vv_errmsg());
		triple(cJSON_GetObjectItem(c, "mean"), mean);
		triple(cJSON_GetObjectItem(c, "std"), std);
		assert_int_equal(e->img_size, size);
		assert_true(e->crop_pct == cJSON_GetObjectItem(c, "crop_pct")->valuedouble);
		assert_int_equal(e->interpolation, !strcmp(interp, "bicubic") ?
				 EMBED_RESAMPLE_BICUBIC : EMBED_RESAMPLE_BILINEAR);
		assert_memory_equal(e->mean, mean, sizeof(mean));
		assert_memory_equal(e->std, std, sizeof(std));
		embed_registry_preproc(e, &pp);
		out = malloc(sizeof(float) * 3 * size * size);
		assert_int_equal(embed_preprocess(&pp, img, out, size, size), 0);
		snprintf(npy, sizeof(npy), FIX "%s", cJSON_GetObjectItem(c, "transform")->valuestring);
		assert_int_equal(vv_npy_read(npy, &want), 0);
		assert_int_equal(want->shape[1], (size + stride - 1) / stride);
		for (ch = 0; ch < 3; ch++)
			for (y = 0; y < want->shape[1]; y++)
				for (x = 0; x < want->shape[2]; x++) {
					float a = out[((size_t)ch * size + y * stride) * size + x * stride];
					float b = ((const float *)want->data)[(ch * want->shape[1] + y) *
									      want->shape[2] + x];
					float d = fabsf(a - b);

					if (!(d <= m))
						m = isnan(d) ? INFINITY : d;
				}
		print_message("tag %-44s max |diff| vs timm's transform %.3g\n", name, m);
		assert_true(m <= 1e-6f);
		vv_array_free(&want);
		free(out);
		ncase++;
	}
	assert_true(ncase >= 5);
	cJSON_Delete(root);
	embed_image_free(&img);

	/* dino and augreg_in21k of one architecture differ in mean/std */
	assert_true(embed_registry_find("vit_small_patch16_224.dino", NULL)->mean[0] == 0.485f);
	assert_true(embed_registry_find("vit_small_patch16_224.augreg_in21k", NULL)->mean[0] == 0.5f);
	/* the generated table knows the default tag of every built-in
	 * architecture (those timm has tags for: not the tests' own) */
	for (size_t i = 0; i < embed_registry_count(); i++) {
		const embed_registry_entry *e = embed_registry_at(i);
		const embed_timm_tag *t = embed_timm_tag_find(e->name, strlen(e->name), e->default_tag);

		if (strstr(e->name, "_test_"))
			continue;
		if (!t)
			fail_msg("%s.%s is not in timm's tags", e->name, e->default_tag);
		assert_true(t->crop_pct == e->crop_pct && t->interpolation == e->interpolation);
		assert_memory_equal(t->mean, e->mean, sizeof(t->mean));
	}
	/* unknown tags: one message naming the name and the known tags */
	assert_null(embed_registry_find("vit_small_patch16_224.nonsense", "x.pth.tar"));
	assert_non_null(strstr(vv_errmsg(), "x.pth.tar"));
	assert_non_null(strstr(vv_errmsg(), "unknown pretrained tag \"nonsense\""));
	assert_non_null(strstr(vv_errmsg(), "dino"));
}

static void
test_registry(void **state)
{
	const embed_registry_entry *e;
	embed_vit_config *c = NULL;
	embed_preproc pp;
	size_t i, n;

	(void)state;
	e = embed_registry_find("vit_base_patch16_224", NULL);
	assert_non_null(e);
	assert_int_equal(embed_registry_config(e, &c), 0);
	assert_int_equal(c->hidden, 768);
	assert_int_equal(c->layers, 12);
	assert_int_equal(c->heads, 12);
	assert_int_equal(c->intermediate, 3072);
	assert_int_equal(c->patch, 16);
	assert_int_equal(c->image_w, 224);
	assert_int_equal(c->prefix_tokens, 1);
	assert_int_equal(c->global_pool, EMBED_POOL_CLS);
	assert_true(c->ln_eps == 1e-6);
	assert_string_equal(c->architectures[0], "vit_base_patch16_224");
	embed_vit_config_free(&c);
	embed_registry_preproc(e, &pp);
	assert_true(pp.resize_shortest);
	assert_int_equal(pp.shortest, 248); /* floor(224 / 0.9) */
	assert_int_equal(pp.crop_w, 224);
	assert_int_equal(pp.resample, EMBED_RESAMPLE_BICUBIC);
	assert_true(pp.mean[0] == 0.5f && pp.std[2] == 0.5f);

	/* a pretrained tag and a hub prefix find the architecture */
	assert_ptr_equal(embed_registry_find("vit_base_patch16_224.augreg_in21k_ft_in1k", NULL), e);
	assert_ptr_equal(embed_registry_find("timm/vit_base_patch16_224.augreg2_in21k_ft_in1k",
					     NULL), e);
	assert_null(embed_registry_find("vit_base_patch16", NULL));
	assert_null(embed_registry_find("vit_base_patch16_224x", NULL));

	e = embed_registry_find("vit_large_patch16_384", NULL);
	assert_non_null(e);
	assert_int_equal(e->depth, 24);
	assert_int_equal(e->width, 1024);
	assert_int_equal(e->heads, 16);
	embed_registry_preproc(e, &pp);
	assert_int_equal(pp.shortest, 384); /* crop_pct 1.0 */
	assert_int_equal(pp.crop_w, 384);
	e = embed_registry_find("vit_base_patch32_224", NULL);
	assert_int_equal(e->patch, 32);
	for (i = 0; i < 3; i++) {
		static const char *const d[] = { "deit_tiny_distilled_patch16_224",
						 "deit_small_distilled_patch16_224",
						 "deit_base_distilled_patch16_224" };

		e = embed_registry_find(d[i], NULL);
		assert_non_null(e);
		assert_int_equal(e->prefix_tokens, 2);
		assert_true(e->mean[0] == 0.485f && e->std[0] == 0.229f);
		assert_true(e->crop_pct == 0.9); /* deit.py's _cfg */
	}
	e = embed_registry_find("deit_small_patch16_224", NULL);
	assert_int_equal(e->width, 384);
	assert_int_equal(e->prefix_tokens, 1);
	/* every built-in entry makes a valid config */
	n = embed_registry_count();
	assert_true(n >= 22);
	for (i = 0; i < n; i++) {
		if (strcmp(embed_registry_family(embed_registry_at(i)), "vit")) {
			/* other families are not ViT configs */
			assert_int_equal(embed_registry_config(embed_registry_at(i), &c), VV_EINVAL);
			continue;
		}
		assert_int_equal(embed_registry_config(embed_registry_at(i), &c), 0);
		embed_vit_config_free(&c);
	}
	assert_null(embed_registry_at(n));

	/* unknown: the message names it, lists the known ones, says how to add */
	assert_null(embed_registry_find("resnet50.a1_in1k", "x.pth.tar"));
	assert_non_null(strstr(vv_errmsg(), "x.pth.tar"));
	assert_non_null(strstr(vv_errmsg(), "unknown architecture \"resnet50.a1_in1k\""));
	assert_non_null(strstr(vv_errmsg(), "vit_tiny_patch16_224"));
	assert_non_null(strstr(vv_errmsg(), "embed/models/embed_registry.c"));

	/* adding: a duplicate and a bad shape are refused */
	assert_int_equal(embed_registry_add(&test_archs[0]), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "already registered"));
	{
		embed_registry_entry bad = test_archs[0];

		bad.name = "vit_bad_heads";
		bad.heads = 5; /* 24 % 5 */
		assert_int_equal(embed_registry_add(&bad), VV_EINVAL);
		assert_non_null(strstr(vv_errmsg(), "vit_bad_heads"));
		bad.heads = 3;
		bad.crop_pct = 0;
		assert_int_equal(embed_registry_add(&bad), VV_EINVAL);
		bad.crop_pct = 0.9;
		bad.name = "with.dot";
		assert_int_equal(embed_registry_add(&bad), VV_EINVAL);
	}
	assert_int_equal(embed_registry_count(), n);
}

/* ------------------------------------------------------------------ */
/* Discovery                                                            */

static void
test_run_folder(void **state)
{
	embed_ckpt_list *l;
	char *p;

	(void)state;
	l = discover(FIX "run", NULL, 0, 3);
	assert_string_equal(l->v[0].name, "checkpoint-1");
	assert_string_equal(l->v[1].name, "checkpoint-2");
	assert_string_equal(l->v[2].name, "checkpoint-10"); /* by integer epoch */
	assert_int_equal(l->v[0].step, 1);
	assert_int_equal(l->v[2].step, 10);
	assert_int_equal(l->v[2].format, EMBED_CKPT_TIMM);
	assert_string_equal(embed_ckpt_format_name(l->v[2].format), "timm");
	assert_string_equal(l->v[2].weights, FIX "run/checkpoint-10.pth.tar");
	assert_string_equal(l->v[2].path, FIX "run/checkpoint-10.pth.tar");
	assert_true(embed_ckpt_epoch(&l->v[2]) == 10.0);
	assert_null(l->v[2].trainer_state);
	assert_null(l->v[2].arch);
	assert_int_equal(l->v[2].ema, 0);
	assert_string_equal(l->loss_kind, "timm_summary");
	assert_string_equal(l->loss_path, FIX "run/summary.csv");
	assert_string_equal(l->args_path, FIX "run/args.yaml");
	assert_non_null(l->args);
	assert_string_equal(l->args->model, "vit_test_tiny_patch8_32");
	assert_int_equal(l->args->img_size, 0);
	assert_int_equal(l->args->interpolation, -1);
	assert_int_equal(l->args->num_classes, 5);
	assert_ptr_equal(l->v[1].args, l->args);
	embed_ckpt_list_free(&l);
	assert_null(l);

	/* options travel with the checkpoints, and change their fingerprints */
	{
		char f0[40], f1[40], f2[40], f3[40];

		l = discover(FIX "run", NULL, 0, 3);
		assert_int_equal(embed_ckpt_fingerprint(&l->v[2], f0), 0);
		assert_int_equal(embed_ckpt_fingerprint(&l->v[2], f3), 0);
		assert_string_equal(f0, f3);
		embed_ckpt_list_free(&l);
		l = discover(FIX "run", "vit_test_tiny_patch8_32", 1, 3);
		assert_string_equal(l->v[0].arch, "vit_test_tiny_patch8_32");
		assert_int_equal(l->v[1].ema, 1);
		assert_int_equal(embed_ckpt_fingerprint(&l->v[2], f1), 0);
		embed_ckpt_list_free(&l);
		l = discover(FIX "run", NULL, 1, 3);
		assert_int_equal(embed_ckpt_fingerprint(&l->v[2], f2), 0);
		embed_ckpt_list_free(&l);
		assert_int_equal(strlen(f0), 32);
		assert_string_not_equal(f0, f1);
		assert_string_not_equal(f0, f2);
		assert_string_not_equal(f1, f2);
	}

	/* last / model_best only when given directly */
	l = discover(FIX "run/last.pth.tar", NULL, 0, 1);
	assert_string_equal(l->v[0].name, "last");
	assert_int_equal(l->v[0].step, -1);
	assert_int_equal(l->v[0].format, EMBED_CKPT_TIMM);
	assert_string_equal(l->loss_kind, "timm_summary"); /* the run's files are found */
	assert_non_null(l->args);
	embed_ckpt_list_free(&l);
	l = discover(FIX "run/checkpoint-2.pth.tar", NULL, 0, 1);
	assert_string_equal(l->v[0].name, "checkpoint-2");
	assert_int_equal(l->v[0].step, 2);
	embed_ckpt_list_free(&l);
	l = discover(FIX "bare.safetensors", NULL, 0, 1);
	assert_string_equal(l->v[0].name, "bare");
	assert_null(l->loss_kind);
	assert_null(l->args);
	embed_ckpt_list_free(&l);

	/* a folder with only last / model_best, and junk */
	mkd("onlylast");
	copy_file(FIX "run/last.pth.tar", "onlylast/last.pth.tar");
	put("onlylast/model_best.pth.tar", "x");
	put("onlylast/checkpoint-x.pth.tar", "x");  /* not an integer: skipped */
	mkd("onlylast/checkpoint-3.pth.tar");      /* a folder, no weights: skipped */
	p = tpath("onlylast");
	assert_int_equal(embed_ckpt_discover(p, &l), VV_ENOTFOUND);
	assert_null(l);
	assert_non_null(strstr(vv_errmsg(), "give one of those files directly"));
	free(p);
	p = tpath("onlylast/notes.txt");
	put("onlylast/notes.txt", "x");
	assert_int_equal(embed_ckpt_discover(p, &l), VV_EUNSUPPORTED);
	assert_non_null(strstr(vv_errmsg(), "notes.txt"));
	free(p);
	p = tpath("onlylast/missing.pth.tar");
	assert_int_equal(embed_ckpt_discover(p, &l), VV_ENOTFOUND);
	free(p);

	/* a mixed listing: numbered files in epoch order, .pth too */
	mkd("mixed");
	copy_file(FIX "bare.bin", "mixed/checkpoint-20.pth");
	copy_file(FIX "bare.bin", "mixed/checkpoint-3.pth.tar");
	copy_file(FIX "bare.bin", "mixed/last.pth.tar");
	p = tpath("mixed");
	assert_int_equal(embed_ckpt_discover(p, &l), 0);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->v[0].step, 3);
	assert_int_equal(l->v[1].step, 20);
	assert_null(l->loss_kind);
	embed_ckpt_list_free(&l);
	free(p);
}

/* ------------------------------------------------------------------ */
/* Forward pass against PyTorch                                        */

static void
test_run_embeddings(void **state)
{
	static const char *const ref[] = { "run1", "run2", "run10" };
	embed_ckpt_list *l;
	double worst = 0, e;
	outs o, o2;
	size_t i;

	(void)state;
	l = discover(FIX "run", NULL, 0, 3);
	for (i = 0; i < 3; i++) {
		embed_model *m = NULL;
		char what[64];

		if (embed_model_open(&l->v[i], &m))
			fail_msg("%s", vv_errmsg());
		assert_string_equal(embed_model_vit_config(m)->architectures[0], "vit_test_tiny_patch8_32");
		assert_string_equal(embed_model_vit_config(m)->id2label[4], "LABEL_4");
		run_model(m, &o);
		snprintf(what, sizeof(what), "run %s", l->v[i].name);
		e = check_ref(&o, ref[i], what);
		worst = e > worst ? e : worst;
		embed_model_free(&m);
	}
	embed_ckpt_list_free(&l);
	/* the EMA weights of checkpoint-10 (and the regular ones without them) */
	l = discover(FIX "run", NULL, 1, 3);
	{
		embed_model *m = NULL;

		assert_int_equal(embed_model_open(&l->v[2], &m), 0);
		run_model(m, &o);
		check_ref(&o, "ema", "checkpoint-10 --ema");
		embed_model_free(&m);
		assert_int_equal(embed_model_open(&l->v[1], &m), 0); /* no EMA: regular, warning */
		run_model(m, &o);
		check_ref(&o, "run2", "checkpoint-2 --ema (none)");
		embed_model_free(&m);
	}
	embed_ckpt_list_free(&l);
	/* the EMA weights against their safetensors twin */
	{
		embed_model *m = open1(FIX "ema.safetensors", "vit_test_tiny_patch8_32", 0);

		run_model(m, &o2);
		embed_model_free(&m);
		m = open1(FIX "run/checkpoint-10.pth.tar", NULL, 1);
		run_model(m, &o);
		embed_model_free(&m);
		e = diff_outs(&o, &o2);
		printf("  checkpoint-10 EMA vs ema.safetensors: max abs diff %.2e\n", e);
		assert_true(e <= TOL_TWIN);
	}
	printf("  run checkpoints: worst %.2e\n", worst);
}

static void
test_twins(void **state)
{
	embed_model *m;
	outs a, b;
	double e;

	(void)state;
	/* W_10: bare .bin and its safetensors twin (no 'arch' in them: --arch) */
	m = open1(FIX "bare.bin", "vit_test_tiny_patch8_32", 0);
	run_model(m, &a);
	embed_model_free(&m);
	check_ref(&a, "run10", "bare.bin");
	m = open1(FIX "bare.safetensors", "vit_test_tiny_patch8_32", 0);
	run_model(m, &b);
	embed_model_free(&m);
	e = diff_outs(&a, &b);
	printf("  bare.bin vs bare.safetensors: max abs diff %.2e\n", e);
	assert_true(e <= TOL_TWIN);
	/* DataParallel prefixes */
	m = open1(FIX "module.pth.tar", "vit_test_tiny_patch8_32", 0);
	run_model(m, &b);
	embed_model_free(&m);
	e = diff_outs(&a, &b);
	printf("  module.pth.tar vs bare.bin: max abs diff %.2e\n", e);
	assert_true(e <= TOL_TWIN);
	/* float16 */
	m = open1(FIX "half.pth", "vit_test_tiny_patch8_32", 0);
	run_model(m, &a);
	embed_model_free(&m);
	check_ref(&a, "half", "half.pth");
	m = open1(FIX "half.safetensors", "vit_test_tiny_patch8_32", 0);
	run_model(m, &b);
	embed_model_free(&m);
	e = diff_outs(&a, &b);
	printf("  half.pth vs half.safetensors: max abs diff %.2e\n", e);
	assert_true(e <= TOL_TWIN);
}

static void
test_deit_ls_gap(void **state)
{
	embed_model *m;
	outs a, b;
	double e;
	int k;

	(void)state;
	/* DeiT distilled: logits (head(cls) + head_dist(dist)) / 2 */
	m = open1(FIX "deit.pth.tar", NULL, 0);
	assert_int_equal(embed_model_vit_config(m)->prefix_tokens, 2);
	assert_true(embed_model_preproc(m)->mean[0] == 0.485f);
	run_model(m, &a);
	embed_model_free(&m);
	check_ref(&a, "deit", "deit distilled");
	/* head features are (cls + dist) / 2, not the CLS token */
	e = tu_max_diff_f32(a.cls, a.head, 72);
	assert_true(e > 1e-3);
	m = open1(FIX "deit.safetensors", "deit_test_tiny_distilled_patch8_32", 0);
	run_model(m, &b);
	embed_model_free(&m);
	e = diff_outs(&a, &b);
	printf("  deit.pth.tar vs deit.safetensors: max abs diff %.2e\n", e);
	assert_true(e <= TOL_TWIN);
	/* LayerScale */
	m = open1(FIX "ls.pth.tar", NULL, 0);
	run_model(m, &a);
	embed_model_free(&m);
	check_ref(&a, "ls", "LayerScale");
	/* avg pooling with fc_norm, no final norm */
	m = open1(FIX "gap.pth.tar", NULL, 0);
	assert_int_equal(embed_model_vit_config(m)->global_pool, EMBED_POOL_MEAN);
	run_model(m, &a);
	embed_model_free(&m);
	check_ref(&a, "gap", "avg pool + fc_norm");
	/* EMBED_POOL_HEAD equals EMBED_POOL_MEAN there */
	for (k = 0; k < 72; k++)
		assert_true(a.head[k] == a.mean[k]);
}

/* ------------------------------------------------------------------ */
/* Where the architecture comes from; shapes against it                 */

/*
 * A run trained with --class-map: args.yaml's class_map names the classes
 * (one per line, index order), found as given or beside args.yaml; a file
 * that does not fit the head leaves LABEL_<i>.
 */
static void
test_class_map(void **state)
{
	embed_model *m;
	char *p;

	(void)state;
	mkd("cmap");
	copy_file(FIX "bare.bin", "cmap/model.bin");
	p = tpath("cmap/model.bin");
	/* the path train.py was given is elsewhere: found beside args.yaml by name */
	put("cmap/args.yaml", "model: vit_test_tiny_patch8_32\nclass_map: /data/maps/classes.txt\n");
	put("cmap/classes.txt", "cat\n dog \nbird\r\nfish\nhorse\n");
	m = open1(p, NULL, 0);
	assert_int_equal(embed_model_get_info(m)->num_labels, 5);
	assert_string_equal(embed_model_get_info(m)->id2label[0], "cat");
	assert_string_equal(embed_model_get_info(m)->id2label[1], "dog");
	assert_string_equal(embed_model_get_info(m)->id2label[4], "horse");
	embed_model_free(&m);
	/* a map of another size: a warning, the placeholders stay */
	put("cmap/classes.txt", "cat\ndog\n");
	m = open1(p, NULL, 0);
	assert_string_equal(embed_model_get_info(m)->id2label[1], "LABEL_1");
	embed_model_free(&m);
	/* no class map file at all: likewise */
	put("cmap/args.yaml", "model: vit_test_tiny_patch8_32\nclass_map: nowhere.txt\n");
	m = open1(p, NULL, 0);
	assert_string_equal(embed_model_get_info(m)->id2label[0], "LABEL_0");
	embed_model_free(&m);
	free(p);
}

static void
test_arch_sources(void **state)
{
	embed_model *m;
	outs a;
	char *p;
	int err;

	(void)state;
	/* a bare state dict alone: nothing says what it is */
	mkd("alone");
	copy_file(FIX "bare.bin", "alone/model.bin");
	p = tpath("alone/model.bin");
	err = open_fails(p, NULL);
	assert_int_equal(err, VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "--arch"));
	assert_non_null(strstr(vv_errmsg(), "model.bin"));
	/* args.yaml next to it names it */
	put("alone/args.yaml", "model: vit_test_tiny_patch8_32\nlr: 0.001\n");
	m = open1(p, NULL, 0);
	run_model(m, &a);
	embed_model_free(&m);
	check_ref(&a, "run10", "arch from args.yaml");
	/* an unknown --arch */
	err = open_fails(p, "resnet50");
	assert_int_equal(err, VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "unknown architecture \"resnet50\""));
	assert_non_null(strstr(vv_errmsg(), "--arch"));
	assert_non_null(strstr(vv_errmsg(), "vit_base_patch16_224"));
	assert_non_null(strstr(vv_errmsg(), "embed_registry.c"));
	/* a known architecture of another width: both named */
	err = open_fails(p, "vit_tiny_patch16_224");
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "model.bin"));
	assert_non_null(strstr(vv_errmsg(), "width 24"));
	assert_non_null(strstr(vv_errmsg(), "vit_tiny_patch16_224 has width 192"));
	/* the distilled architecture of the same shape: no dist_token */
	err = open_fails(p, "deit_test_tiny_distilled_patch8_32");
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "dist_token"));
	/* and the other way round */
	err = open_fails(FIX "deit.pth.tar", "vit_test_tiny_patch8_32");
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "distillation token"));
	/* args.yaml with an image size the weights do not have */
	put("alone/args.yaml", "model: vit_test_tiny_patch8_32\nimg_size: 64\n");
	err = open_fails(p, NULL);
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "pos_embed"));
	assert_non_null(strstr(vv_errmsg(), "args.yaml"));
	/* args.yaml overrides of the preprocessing */
	put("alone/args.yaml", "model: vit_test_tiny_patch8_32\ncrop_pct: 0.8\n"
	    "interpolation: bilinear\nmean:\n- 0.25\nstd: [0.1, 0.2, 0.3]\ninput_size: [3, 32, 32]\n");
	m = open1(p, NULL, 0);
	{
		const embed_preproc *pp = embed_model_preproc(m);

		assert_int_equal(pp->shortest, 40); /* floor(32 / 0.8) */
		assert_int_equal(pp->crop_w, 32);
		assert_int_equal(pp->resample, EMBED_RESAMPLE_BILINEAR);
		assert_true(pp->mean[0] == 0.25f && pp->mean[2] == 0.25f);
		assert_true(pp->std[1] == 0.2f);
	}
	embed_model_free(&m);
	/* --arch wins over args.yaml (which names another architecture) */
	put("alone/args.yaml", "model: vit_tiny_patch16_224\n");
	m = open1(p, "vit_test_tiny_patch8_32", 0);
	embed_model_free(&m);
	free(p);

	/* the checkpoint's 'arch' alone (no args.yaml) */
	mkd("ckarch");
	copy_file(FIX "run/checkpoint-2.pth.tar", "ckarch/checkpoint-2.pth.tar");
	p = tpath("ckarch");
	m = open1(p, NULL, 0);
	run_model(m, &a);
	embed_model_free(&m);
	check_ref(&a, "run2", "arch from the checkpoint");
	/* ... over args.yaml's model (a warning) */
	put("ckarch/args.yaml", "model: vit_tiny_patch16_224\n");
	m = open1(p, NULL, 0);
	embed_model_free(&m);
	free(p);

	/* gp avg from args.yaml on a token model: fc_norm missing -> no norm */
	put("alone/args.yaml", "model: vit_test_gap_patch8_32\n");
	p = tpath("alone/model.bin");
	m = open1(p, NULL, 0); /* gap arch, weights with norm (no fc_norm): norm then mean */
	assert_int_equal(embed_model_vit_config(m)->global_pool, EMBED_POOL_MEAN);
	run_model(m, &a);
	/* the head then reads mean(norm(x)) = EMBED_POOL_MEAN of W_10 */
	{
		vv_array *r = tu_load_npy(FIX "ref/run10_mean.npy");

		assert_true(tu_max_diff_f32(a.head, r->data, 72) <= TOL_REF);
		vv_array_free(&r);
	}
	embed_model_free(&m);
	free(p);
}

/* Add a tensor of `shape` filled with small pseudo-random values. */
static void
add_rand(embed_tensors *t, const char *name, int ndim, int64_t a, int64_t b, int64_t c,
	 int64_t d)
{
	int64_t shape[4] = { a, b, c, d }, n = 1;
	static unsigned s = 1;
	float *v;
	int i;

	for (i = 0; i < ndim; i++)
		n *= shape[i];
	v = malloc((size_t)n * sizeof(float));
	assert_non_null(v);
	for (i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		v[i] = ((float)((s >> 8) & 0xffff) / 65536.0f - 0.5f) * 0.1f;
	}
	assert_int_equal(embed_tensors_add(t, name, ndim, shape, EMBED_DT_F32, v), 0);
}

/*
 * A state dict of timm's real shapes for a registry entry (written out
 * here from timm's VisionTransformer, not from the naming table): the
 * entry builds, runs, and reports the expected sizes.
 */
static void
real_shapes(const char *arch, int depth, int d, int mlp, int patch, int tokens, int dist)
{
	embed_tensors *t = NULL;
	embed_model *m;
	char name[64], *p;
	float *px, *emb, logits[3];
	int i, img;

	assert_int_equal(embed_tensors_alloc(&t), 0);
	add_rand(t, "cls_token", 3, 1, 1, d, 0);
	if (dist)
		add_rand(t, "dist_token", 3, 1, 1, d, 0);
	add_rand(t, "pos_embed", 3, 1, tokens, d, 0);
	add_rand(t, "patch_embed.proj.weight", 4, d, 3, patch, patch);
	add_rand(t, "patch_embed.proj.bias", 1, d, 0, 0, 0);
	for (i = 0; i < depth; i++) {
		static const struct { const char *n; int nd, a, b; } blk[] = {
			{ "norm1.weight", 1, 1, 0 }, { "norm1.bias", 1, 1, 0 },
			{ "attn.qkv.weight", 2, 3, 1 }, { "attn.qkv.bias", 1, 3, 0 },
			{ "attn.proj.weight", 2, 1, 1 }, { "attn.proj.bias", 1, 1, 0 },
			{ "norm2.weight", 1, 1, 0 }, { "norm2.bias", 1, 1, 0 },
			{ "mlp.fc1.weight", 2, -1, 1 }, { "mlp.fc1.bias", 1, -1, 0 },
			{ "mlp.fc2.weight", 2, 1, -1 }, { "mlp.fc2.bias", 1, 1, 0 },
		};
		size_t k;

		for (k = 0; k < sizeof(blk) / sizeof(blk[0]); k++) {
			int64_t x = blk[k].a < 0 ? mlp : (int64_t)blk[k].a * d;
			int64_t y = blk[k].b < 0 ? mlp : (int64_t)blk[k].b * d;

			snprintf(name, sizeof(name), "blocks.%d.%s", i, blk[k].n);
			add_rand(t, name, blk[k].nd, x, y, 0, 0);
		}
	}
	add_rand(t, "norm.weight", 1, d, 0, 0, 0);
	add_rand(t, "norm.bias", 1, d, 0, 0, 0);
	add_rand(t, "head.weight", 2, 3, d, 0, 0);
	add_rand(t, "head.bias", 1, 3, 0, 0, 0);
	if (dist) {
		add_rand(t, "head_dist.weight", 2, 3, d, 0, 0);
		add_rand(t, "head_dist.bias", 1, 3, 0, 0, 0);
	}
	snprintf(name, sizeof(name), "%s.safetensors", arch);
	p = tpath(name);
	assert_int_equal(embed_safetensors_save(p, t, NULL), 0);
	embed_tensors_free(&t);
	m = open1(p, arch, 0);
	img = embed_model_vit_config(m)->image_w;
	assert_int_equal(embed_model_get_info(m)->dim, d);
	assert_int_equal(embed_model_vit_config(m)->layers, depth);
	assert_int_equal(embed_model_vit_config(m)->intermediate, mlp);
	assert_int_equal(embed_model_get_info(m)->num_labels, 3);
	assert_int_equal((img / patch) * (img / patch) + 1 + dist, tokens);
	px = calloc((size_t)3 * img * img, sizeof(float));
	emb = malloc((size_t)d * sizeof(float));
	assert_int_equal(embed_model_forward(m, px, 1, EMBED_POOL_HEAD, emb, logits), 0);
	for (i = 0; i < 3; i++)
		assert_true(isfinite(logits[i]));
	free(px);
	free(emb);
	embed_model_free(&m);
	unlink(p);
	free(p);
}

static void
test_real_entry_shapes(void **state)
{
	(void)state;
	real_shapes("vit_tiny_patch16_224", 12, 192, 768, 16, 197, 0);
	real_shapes("deit_tiny_distilled_patch16_224", 12, 192, 768, 16, 198, 1);
	real_shapes("vit_tiny_patch16_384", 12, 192, 768, 16, 577, 0);
	real_shapes("vit_small_patch32_224", 12, 384, 1536, 32, 50, 0);
}

/* Save `t` with one tensor renamed / added, open it with --arch. */
static void
test_unsupported(void **state)
{
	embed_tensors *t = NULL;
	int64_t shape[2] = { 24, 24 };
	float *w;
	char *p;
	int err;

	(void)state;
	assert_int_equal(embed_tensors_alloc(&t), 0);
	assert_int_equal(embed_safetensors_load(FIX "bare.safetensors", t), 0);
	w = calloc(24 * 24, sizeof(float));
	assert_int_equal(embed_tensors_add(t, "pre_logits.fc.weight", 2, shape, EMBED_DT_F32, w), 0);
	p = tpath("prelogits.safetensors");
	assert_int_equal(embed_safetensors_save(p, t, NULL), 0);
	embed_tensors_free(&t);
	err = open_fails(p, "vit_test_tiny_patch8_32");
	assert_int_equal(err, VV_EUNSUPPORTED);
	assert_non_null(strstr(vv_errmsg(), "pre_logits"));
	assert_non_null(strstr(vv_errmsg(), "prelogits.safetensors"));
	free(p);

	/* no final norm and no fc_norm */
	assert_int_equal(embed_tensors_alloc(&t), 0);
	assert_int_equal(embed_safetensors_load(FIX "bare.safetensors", t), 0);
	for (size_t i = 0; i < t->n; i++)
		if (!strncmp(t->v[i].name, "norm.", 5))
			t->v[i].name[0] = 'X';
	p = tpath("nonorm.safetensors");
	assert_int_equal(embed_safetensors_save(p, t, NULL), 0);
	embed_tensors_free(&t);
	err = open_fails(p, "vit_test_tiny_patch8_32");
	assert_int_equal(err, VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "norm.weight"));
	assert_non_null(strstr(vv_errmsg(), "vit_test_tiny_patch8_32")); /* architecture named */
	free(p);

	/* a depth the architecture does not have */
	assert_int_equal(embed_tensors_alloc(&t), 0);
	assert_int_equal(embed_safetensors_load(FIX "bare.safetensors", t), 0);
	for (size_t i = 0; i < t->n; i++)
		if (!strncmp(t->v[i].name, "blocks.1.", 9))
			t->v[i].name[7] = '5';
	p = tpath("depth.safetensors");
	assert_int_equal(embed_safetensors_save(p, t, NULL), 0);
	embed_tensors_free(&t);
	err = open_fails(p, "vit_test_tiny_patch8_32");
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "6 blocks"));
	assert_non_null(strstr(vv_errmsg(), "depth 2"));
	free(p);

	/* Hugging Face names in a single file */
	err = open_fails("tests/fixtures/pt/hf_pytorch_model.bin", "vit_test_tiny_patch8_32");
	assert_int_equal(err, VV_EUNSUPPORTED);
	assert_non_null(strstr(vv_errmsg(), "Hugging Face"));
}

/*
 * `vitviz run` on a timm train.py folder, end to end in process (the test
 * architecture is registered here): images through the checkpoint's timm
 * eval transform and forward pass against PyTorch's values for that image
 * (ref/img_vit_test_*, scripts/make_fixtures_timm.py), then analysis and
 * video.  Five class folders hold the same 45x37 image, so every row of
 * checkpoint-10's embeddings and logits must be the reference.
 */
static void
test_run_end_to_end(void **state)
{
	static const char *const cls[] = { "c0", "c1", "c2", "c3", "c4" };
	char data[512], work[512], out[512], ck[600];
	char *argv[20];
	vv_array *emb, *lg, *rh, *rl;
	double e = 0;
	int argc = 0, i;

	(void)state;
	for (i = 0; i < 5; i++) {
		char rel[32];

		snprintf(rel, sizeof(rel), "data/%s", cls[i]);
		mkd("data");
		mkd(rel);
		snprintf(rel, sizeof(rel), "data/%s/img.png", cls[i]);
		copy_file(FIX "img_45x37.png", rel);
	}
	snprintf(data, sizeof(data), "%s/data", tu_tmp);
	snprintf(work, sizeof(work), "%s/e2e-work", tu_tmp);
	snprintf(out, sizeof(out), "%s/e2e.gif", tu_tmp);
	argv[argc++] = "run";
	argv[argc++] = FIX "run";
	argv[argc++] = "--data";
	argv[argc++] = data;
	argv[argc++] = "-o";
	argv[argc++] = out;
	argv[argc++] = "--work";
	argv[argc++] = work;
	argv[argc++] = "--pool";
	argv[argc++] = "head";
	argv[argc++] = "--size";
	argv[argc++] = "320x240";
	argv[argc++] = "--fps";
	argv[argc++] = "4";
	argv[argc] = NULL;
	assert_int_equal(cli_run(argc, argv), 0);
	assert_true(tu_exists(out));
	snprintf(ck, sizeof(ck), "%s/coords.npy", work);
	assert_true(tu_exists(ck));
	emb = tu_load_npy("%s/embeddings/checkpoint-10.npy", work);
	lg = tu_load_npy("%s/logits/checkpoint-10.npy", work);
	rh = tu_load_npy(FIX "ref/img_vit_test_head.npy");
	rl = tu_load_npy(FIX "ref/img_vit_test_logits.npy");
	assert_int_equal(emb->shape[0], 5);
	assert_int_equal(emb->shape[1], 24);
	assert_int_equal(lg->shape[1], 5);
	for (i = 0; i < 5; i++) {
		e = tu_fmax(e, tu_max_diff_f32((const float *)emb->data + i * 24, rh->data, 24));
		e = tu_fmax(e, tu_max_diff_f32((const float *)lg->data + i * 5, rl->data, 5));
	}
	printf("  vitviz run on a timm folder vs PyTorch (checkpoint-10): max abs err %.2e\n", e);
	assert_true(e <= TOL_REF);
	vv_array_free(&emb);
	vv_array_free(&lg);
	vv_array_free(&rh);
	vv_array_free(&rl);
}

/* ------------------------------------------------------------------ */
/* Preprocessing                                                        */

static void
test_preprocessing(void **state)
{
	embed_image *img = NULL, *ref = NULL;
	embed_model *m;
	vv_array *r;
	float *x, head[24], logits[5];
	double e;
	size_t i;

	(void)state;
	/* a non-square image through the model's timm eval transform */
	m = open1(FIX "run/checkpoint-10.pth.tar", NULL, 0);
	assert_int_equal(embed_image_load(FIX "img_45x37.png", &img), 0);
	x = malloc(3 * 32 * 32 * sizeof(float));
	assert_int_equal(embed_preprocess(embed_model_preproc(m), img, x, 32, 32), 0);
	r = tu_load_npy(FIX "img_45x37_vit_test.npy");
	e = tu_max_diff_f32(x, r->data, 3 * 32 * 32);
	vv_array_free(&r);
	printf("  45x37 image, timm eval transform vs Pillow/torchvision: max abs diff %.2e\n", e);
	assert_true(e <= 1e-6); /* the same uint8 pixels, the same float32 arithmetic */
	assert_int_equal(embed_model_forward(m, x, 1, EMBED_POOL_HEAD, head, logits), 0);
	r = tu_load_npy(FIX "ref/img_vit_test_head.npy");
	e = tu_max_diff_f32(head, r->data, 24);
	vv_array_free(&r);
	assert_true(e <= TOL_REF);
	r = tu_load_npy(FIX "ref/img_vit_test_logits.npy");
	e = tu_fmax(e, tu_max_diff_f32(logits, r->data, 5));
	vv_array_free(&r);
	printf("  45x37 image end to end vs PyTorch: max abs err %.2e\n", e);
	assert_true(e <= TOL_REF);
	embed_image_free(&img);
	embed_model_free(&m);
	free(x);

	/* vit_base_patch16_224: Resize(248, bicubic) + CenterCrop(224) of 333x250 */
	{
		const embed_registry_entry *be = embed_registry_find("vit_base_patch16_224", NULL);
		embed_preproc pp;
		int worst = 0;

		embed_registry_preproc(be, &pp);
		assert_int_equal(embed_image_load("tests/fixtures/image/src_333x250.png", &img), 0);
		assert_int_equal(embed_image_load(FIX "base_333x250.png", &ref), 0);
		assert_int_equal(ref->w, 224);
		x = malloc(3 * 224 * 224 * sizeof(float));
		assert_int_equal(embed_preprocess(&pp, img, x, 224, 224), 0);
		for (i = 0; i < 224 * 224 * 3; i++) {
			int c = (int)(i % 3);
			float want = ((float)ref->rgb[i] / 255.0f - 0.5f) / 0.5f;
			float got = x[(size_t)c * 224 * 224 + i / 3];
			int d = (int)lroundf(fabsf(got - want) * 0.5f * 255.0f);

			worst = d > worst ? d : worst;
		}
		printf("  333x250 -> vit_base_patch16_224 input vs Pillow: max diff %d/255\n", worst);
		assert_int_equal(worst, 0);
		free(x);
		embed_image_free(&img);
		embed_image_free(&ref);
	}
}

/* ------------------------------------------------------------------ */
/* args.yaml                                                            */

static int
parse_yaml(const char *text, embed_timm_args *a)
{
	return embed_timm_args_parse("args.yaml", text, strlen(text), a);
}

static void
test_args_yaml(void **state)
{
	embed_timm_args a;
	char *big;
	size_t i, n;

	(void)state;
	assert_int_equal(parse_yaml("model: vit_base_patch16_224\nimg_size: 384\ncrop_pct: 0.95\n"
				    "mean: [0.1, 0.2, 0.3]\nstd:\n- 0.5\ninterpolation: bicubic\n"
				    "gp: avg\nnum_classes: 10\nscale:\n- 0.08\n- 1.0\n"
				    "nested: {a: {b: [1, 2, {c: d}]}}\n? [complex, key]\n: 1\n"
				    "tagged: !!python/object:argparse.Namespace {x: 1}\n", &a), 0);
	assert_string_equal(a.model, "vit_base_patch16_224");
	assert_int_equal(a.img_size, 384);
	assert_true(a.crop_pct == 0.95);
	assert_true(a.has_mean && a.mean[1] == 0.2f);
	assert_true(a.has_std && a.std[2] == 0.5f);
	assert_int_equal(a.interpolation, EMBED_RESAMPLE_BICUBIC);
	assert_int_equal(a.global_pool, EMBED_POOL_MEAN);
	assert_int_equal(a.num_classes, 10);
	embed_timm_args_reset(&a);
	assert_null(a.model);
	/* nulls and '' leave things unset; input_size wins over img_size */
	assert_int_equal(parse_yaml("model: null\nimg_size: 500\ninput_size: [3, 96, 96]\n"
				    "crop_pct: ~\nmean: null\ninterpolation: ''\ngp:\n"
				    "model_kwargs: {img_size: 128}\n", &a), 0);
	assert_null(a.model);
	assert_int_equal(a.img_size, 128); /* model_kwargs came last */
	assert_true(a.crop_pct == 0);
	assert_int_equal(a.has_mean, 0);
	assert_int_equal(a.interpolation, -1);
	assert_int_equal(a.global_pool, -1);
	embed_timm_args_reset(&a);

	/* bad YAML: the line is named */
	assert_int_equal(parse_yaml("model: vit_base_patch16_224\nmean: [0.1, 0.2\nstd: 1\n", &a),
			 VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "args.yaml:"));
	assert_non_null(strstr(vv_errmsg(), "not valid YAML"));
	assert_null(a.model);
	assert_int_equal(parse_yaml("model: [unclosed\n", &a), VV_EFORMAT);
	assert_int_equal(parse_yaml("\tmodel: x\n", &a), VV_EFORMAT);
	assert_int_equal(parse_yaml("", &a), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "empty"));
	assert_int_equal(parse_yaml("- model\n- x\n", &a), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "not a mapping"));
	/* wrong types for the keys that matter */
	assert_int_equal(parse_yaml("crop_pct: abc\n", &a), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "args.yaml:1: crop_pct"));
	assert_int_equal(parse_yaml("a: 1\nimg_size: [1]\n", &a), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "args.yaml:2: img_size"));
	assert_int_equal(parse_yaml("img_size: '224'\n", &a), VV_EFORMAT);
	assert_int_equal(parse_yaml("mean: [1, 2]\n", &a), VV_EFORMAT);
	assert_int_equal(parse_yaml("std: [0.5, 0, 0.5]\n", &a), VV_EFORMAT);
	assert_int_equal(parse_yaml("model: {a: 1}\n", &a), VV_EFORMAT);
	assert_int_equal(parse_yaml("model: \"rm -rf /\"\n", &a), VV_EFORMAT);
	assert_int_equal(parse_yaml("x: &a [1]\nmodel: *a\n", &a), VV_EFORMAT);
	/* values timm allows that vitviz cannot follow */
	assert_int_equal(parse_yaml("input_size: [3, 224, 160]\n", &a), VV_EUNSUPPORTED);
	assert_non_null(strstr(vv_errmsg(), "not square"));
	assert_int_equal(parse_yaml("gp: max\n", &a), VV_EUNSUPPORTED);
	assert_int_equal(parse_yaml("interpolation: random\n", &a), VV_EUNSUPPORTED);

	/* deep nesting */
	big = malloc(EMBED_TIMM_ARGS_MAX_BYTES + 16);
	assert_non_null(big);
	n = 0;
	n += (size_t)sprintf(big, "model: x\nlol: ");
	for (i = 0; i < 40; i++)
		big[n++] = '[';
	for (i = 0; i < 40; i++)
		big[n++] = ']';
	big[n++] = '\n';
	big[n] = '\0';
	assert_int_equal(parse_yaml(big, &a), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "nested deeper"));
	/* too many events in a file of allowed size */
	n = (size_t)sprintf(big, "lol: [");
	while (n < 700000)
		n += (size_t)sprintf(big + n, "1,");
	n += (size_t)sprintf(big + n, "1]\n");
	assert_int_equal(parse_yaml(big, &a), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "YAML events"));
	/* huge */
	memset(big, ' ', EMBED_TIMM_ARGS_MAX_BYTES + 8);
	memcpy(big, "model: x\n#", 10);
	big[EMBED_TIMM_ARGS_MAX_BYTES + 8] = '\0';
	assert_int_equal(parse_yaml(big, &a), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "bytes"));
	/*
	 * anchors and aliases are never expanded ("billion laughs"): expanded,
	 * these 10 levels would be 9^10 events, far past the event cap above
	 * that fails the parse, so success shows they were not expanded (no
	 * timing: the per-binary timeout of run-tests.sh bounds the time)
	 */
	n = (size_t)sprintf(big, "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 10; i++)
		n += (size_t)sprintf(big + n, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n",
				     (int)('a' + i), (int)('a' + i), (int)('a' + i - 1),
				     (int)('a' + i - 1), (int)('a' + i - 1), (int)('a' + i - 1),
				     (int)('a' + i - 1), (int)('a' + i - 1), (int)('a' + i - 1),
				     (int)('a' + i - 1), (int)('a' + i - 1));
	sprintf(big + n, "model: vit_small_patch16_224\n");
	assert_int_equal(parse_yaml(big, &a), 0);
	assert_string_equal(a.model, "vit_small_patch16_224");
	embed_timm_args_reset(&a);
	free(big);

	/* a bad args.yaml stops discovery, naming it */
	mkd("badargs");
	copy_file(FIX "bare.bin", "badargs/checkpoint-1.pth.tar");
	put("badargs/args.yaml", "model: [x\n");
	{
		embed_ckpt_list *l = NULL;
		char *p = tpath("badargs");

		assert_int_equal(embed_ckpt_discover(p, &l), VV_EFORMAT);
		assert_null(l);
		assert_non_null(strstr(vv_errmsg(), "badargs/args.yaml:"));
		free(p);
	}
}

/* ------------------------------------------------------------------ */
/* vitviz info                                                          */

static void
test_describe(void **state)
{
	embed_ckpt_list *l;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	l = discover(FIX "run", NULL, 1, 3);
	f = open_memstream(&buf, &len);
	assert_int_equal(embed_describe(l, f), 0);
	fclose(f);
	printf("%s", buf);
	assert_non_null(strstr(buf, "3 checkpoint(s)"));
	assert_non_null(strstr(buf, "checkpoint-10"));
	assert_non_null(strstr(buf, "timm"));
	assert_non_null(strstr(buf, "10.00"));
	assert_non_null(strstr(buf, "timm_summary " FIX "run/summary.csv"));
	assert_non_null(strstr(buf, "vit_test_tiny_patch8_32 (vit_test_tiny_patch8_32 from the "
				    "checkpoint's 'arch')"));
	assert_non_null(strstr(buf, "EMA weights"));
	assert_non_null(strstr(buf, "dtype F32"));
	assert_non_null(strstr(buf, "shorter side to 35 (bicubic), centre crop 32x32"));
	assert_non_null(strstr(buf, "classifier: 5 outputs"));
	assert_non_null(strstr(buf, "check: the weights build the model"));
	free(buf);
	embed_ckpt_list_free(&l);

	/* a mismatch is reported and returned */
	l = discover(FIX "bare.bin", "vit_small_patch16_224", 0, 1);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(embed_describe(l, f), VV_EMISMATCH);
	fclose(f);
	assert_non_null(strstr(buf, "check: "));
	assert_non_null(strstr(buf, "width 384"));
	free(buf);
	embed_ckpt_list_free(&l);

	/* an HF checkpoint folder */
	l = discover("tests/fixtures/vit/f32", NULL, 0, 1);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(embed_describe(l, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "ViTForImageClassification"));
	assert_non_null(strstr(buf, "classifier: 5 outputs: airplane"));
	assert_non_null(strstr(buf, "resize to 32x32 (bilinear)"));
	free(buf);
	embed_ckpt_list_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_pretrained_tags),
		cmocka_unit_test(test_run_folder),
		cmocka_unit_test(test_run_embeddings),
		cmocka_unit_test(test_twins),
		cmocka_unit_test(test_deit_ls_gap),
		cmocka_unit_test(test_arch_sources),
		cmocka_unit_test(test_class_map),
		cmocka_unit_test(test_run_end_to_end),
		cmocka_unit_test(test_real_entry_shapes),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_preprocessing),
		cmocka_unit_test(test_args_yaml),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
