/*
 * test_hybrid.c - the hybrid ResNet + ViT (embed/models/embed_resnetv2.c and
 * the ViT's backbone hook) against timm's own modules, and the training
 * folders of jeonsworld/ViT-pytorch and of the flower tutorial, against
 * faithful re-implementations of their code; fixtures by
 * scripts/make_fixtures_hybrid.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/formats/embed_safetensors.h"
#include "embed/models/embed_describe.h"
#include "embed/models/embed_model.h"
#include "embed/models/embed_registry.h"
#include "embed/models/embed_resnetv2.h"
#include "embed/models/embed_vit.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/hybrid/"
/* PyTorch float32 against this float32 implementation (F16 weights: the
 * reference ran on the same rounded values) */
#define TOL_REF 1e-4
/* where images are resized on both sides: Pillow's resize and vitviz's
 * Pillow-exact one give the same pixels, so the float tolerance holds
 * (the issue allows 2e-3) */
#define TOL_RESIZE 1e-4

/* a timm hybrid test architecture: 2 blocks, width 24, 3 heads, MLP 2 */
#define TEST_HYB(nm, p, img, stem, ns, ...)                                            \
	{ .name = nm, .depth = 2, .width = 24, .heads = 3, .mlp_ratio = 2.0, .patch = p,   \
	  .img_size = img, .prefix_tokens = 1, .global_pool = EMBED_POOL_CLS,              \
	  .default_tag = "test", .interpolation = EMBED_RESAMPLE_BICUBIC, .crop_pct = 0.9, \
	  .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f }, .hybrid = 1,          \
	  .backbone = { .flavor = EMBED_RESNETV2_TIMM, .stem_chs = stem, .nstages = ns,    \
			.depth = __VA_ARGS__, .chans = { 128, 256, 0, 0 } } }

/* The test architectures of scripts/make_fixtures_hybrid.py. */
static const embed_registry_entry test_archs[] = {
	/* timm: TIMM_ARCHS */
	TEST_HYB("vit_test_r_stem_p4_48", 4, 48, 64, 0, { 0 }),
	TEST_HYB("vit_test_r2_s1_60", 1, 60, 32, 2, { 1, 1 }),
	/* the same with a deeper backbone than the weights hold */
	TEST_HYB("vit_test_r2deep_s1_60", 1, 60, 32, 2, { 1, 2 }),
	/* jeonsworld: JW_CONFIGS (mlp_dim 48 = 2 x 24; the backbone's flavour
	 * is the format's) */
	{ .name = "jw_test_r_tiny", .depth = 2, .width = 24, .heads = 3, .mlp_ratio = 2.0,
	  .patch = 1, .img_size = 64, .prefix_tokens = 1, .global_pool = EMBED_POOL_CLS,
	  .default_tag = "test", .interpolation = EMBED_RESAMPLE_BILINEAR, .crop_pct = 1.0,
	  .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f }, .hybrid = 1,
	  .backbone = { .stem_chs = 32, .nstages = 3, .depth = { 1, 1, 1 },
			.chans = { 128, 256, 512 } } },
	{ .name = "jw_test_r_deep", .depth = 2, .width = 24, .heads = 3, .mlp_ratio = 2.0,
	  .patch = 1, .img_size = 64, .prefix_tokens = 1, .global_pool = EMBED_POOL_CLS,
	  .default_tag = "test", .interpolation = EMBED_RESAMPLE_BILINEAR, .crop_pct = 1.0,
	  .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f }, .hybrid = 1,
	  .backbone = { .stem_chs = 32, .nstages = 3, .depth = { 1, 2, 1 },
			.chans = { 128, 256, 512 } } },
	{ .name = "jw_test_vit_tiny", .depth = 2, .width = 24, .heads = 3, .mlp_ratio = 2.0,
	  .patch = 8, .img_size = 32, .prefix_tokens = 1, .global_pool = EMBED_POOL_CLS,
	  .default_tag = "test", .interpolation = EMBED_RESAMPLE_BILINEAR, .crop_pct = 1.0,
	  .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f } },
	/* flower: FlViT(224, 32, 12, 1, 2, 12, 3) */
	{ .name = "vit_test_flower_patch32_224", .depth = 1, .width = 12, .heads = 2,
	  .mlp_ratio = 4.0, .patch = 32, .img_size = 224, .prefix_tokens = 1,
	  .global_pool = EMBED_POOL_CLS, .default_tag = "test",
	  .interpolation = EMBED_RESAMPLE_BILINEAR, .crop_pct = 0.875,
	  .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f } },
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
	return tu_setup("test_hybrid");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* Discover `path` with --arch `arch` and expect `n` checkpoints. */
static embed_ckpt_list *
discover(const char *path, const char *arch, int image_size, size_t n)
{
	embed_ckpt_opts o = { .arch = arch, .image_size = image_size };
	embed_ckpt_list *l = NULL;

	if (embed_ckpt_discover_opts(path, &o, &l))
		fail_msg("%s", vv_errmsg());
	assert_int_equal(l->n, n);
	return l;
}

/* Open checkpoint i of `l`. */
static embed_model *
open_ck(const embed_ckpt_list *l, size_t i)
{
	embed_model *m = NULL;

	if (embed_model_open(&l->v[i], &m))
		fail_msg("%s", vv_errmsg());
	return m;
}

/*
 * Run `m` on `pixels` (a .npy of B images) and compare pooling `pool`'s
 * embedding with ref/<ref>_<kind>.npy and the logits with ref/<ref>_logits;
 * the largest difference.
 */
static double
check(embed_model *m, const char *pixels, int pool, const char *kind, const char *ref,
      double tol)
{
	vv_array *px = tu_load_npy("%s", pixels), *r;
	const embed_model_info *mi = embed_model_get_info(m);
	int b = (int)px->shape[0], d = mi->dim, nl = mi->num_labels;
	float *emb = calloc((size_t)b * d, sizeof(float));
	float *lg = calloc((size_t)b * (nl ? nl : 1), sizeof(float));
	char p[256];
	double e, worst;

	assert_non_null(emb);
	assert_non_null(lg);
	assert_int_equal(embed_model_forward(m, px->data, b, pool, emb, lg), 0);
	snprintf(p, sizeof(p), FIX "ref/%s_%s.npy", ref, kind);
	r = tu_load_npy("%s", p);
	assert_int_equal(vv_array_numel(r), (int64_t)b * d);
	worst = tu_max_diff_f32(emb, r->data, (int64_t)b * d);
	vv_array_free(&r);
	snprintf(p, sizeof(p), FIX "ref/%s_logits.npy", ref);
	r = tu_load_npy("%s", p);
	assert_int_equal(vv_array_numel(r), (int64_t)b * nl);
	e = tu_max_diff_f32(lg, r->data, (int64_t)b * nl);
	vv_array_free(&r);
	if (e > worst)
		worst = e;
	printf("  %-22s %-4s + logits vs PyTorch: max abs err %.2e\n", ref, kind, worst);
	if (!(worst <= tol))
		fail_msg("%s: max abs err %g > %g", ref, worst, tol);
	free(emb);
	free(lg);
	vv_array_free(&px);
	return worst;
}

/* ------------------------------------------------------------------ */
/* timm hybrids                                                        */

static void
test_timm_parity(void **state)
{
	embed_ckpt_list *l;
	embed_model *m;

	(void)state;
	/* stem-only backbone, 4x4 projection over its 64 channels */
	l = discover(FIX "timm_stem.safetensors", "vit_test_r_stem_p4_48", 0, 1);
	m = open_ck(l, 0);
	check(m, FIX "pixels_48.npy", EMBED_POOL_CLS, "cls", "timm_stem", TOL_REF);
	check(m, FIX "pixels_48.npy", EMBED_POOL_HEAD, "head", "timm_stem", TOL_REF);
	embed_model_free(&m);
	embed_ckpt_list_free(&l);

	/* two stages, strided units, asymmetric SAME padding; F32 and F16 */
	l = discover(FIX "timm_r2.safetensors", "vit_test_r2_s1_60", 0, 1);
	m = open_ck(l, 0);
	check(m, FIX "pixels_60.npy", EMBED_POOL_CLS, "cls", "timm_r2", TOL_REF);
	check(m, FIX "pixels_60.npy", EMBED_POOL_HEAD, "head", "timm_r2", TOL_REF);
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
	l = discover(FIX "timm_r2_f16.safetensors", "vit_test_r2_s1_60", 0, 1);
	m = open_ck(l, 0);
	check(m, FIX "pixels_60.npy", EMBED_POOL_CLS, "cls", "timm_r2_f16", TOL_REF);
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
}

/*
 * The backbone's output does not depend on OpenBLAS's thread count (bytes),
 * nor on how a batch is split over the forward pass's workers (the whole
 * model; the ViT's own byte-identity is the ViT's business).
 */
static void
test_threads(void **state)
{
	const embed_resnetv2_spec spec = test_archs[1].backbone;
	vv_array *px = tu_load_npy(FIX "pixels_60.npy");
	embed_tensors *t = NULL;
	embed_resnetv2 *r = NULL;
	embed_ckpt_list *l;
	embed_model *m;
	float a[2 * 24], b[2 * 24], la[2 * 5], lb[2 * 5], *ws, *o1, *o2;
	int nt = openblas_get_num_threads(), c, h, w, k;
	size_t n;

	(void)state;
	assert_int_equal(embed_tensors_alloc(&t), 0);
	assert_int_equal(embed_safetensors_load(FIX "timm_r2.safetensors", t), 0);
	assert_int_equal(embed_resnetv2_build(&spec, t, "patch_embed.backbone.", 0, NULL, 60, 60,
					      "timm_r2", &r), 0);
	embed_resnetv2_out_shape(r, &c, &h, &w);
	assert_int_equal(c, 256);
	assert_int_equal(h, 8);
	assert_int_equal(w, 8);
	n = (size_t)c * h * w;
	ws = malloc(embed_resnetv2_scratch_floats(r) * sizeof(float));
	o1 = malloc(n * sizeof(float));
	o2 = malloc(n * sizeof(float));
	assert_true(ws && o1 && o2);
	for (k = 0; k < 2; k++) {
		openblas_set_num_threads(1);
		embed_resnetv2_forward(r, (const float *)px->data + (size_t)k * 3 * 60 * 60, ws, o1);
		openblas_set_num_threads(2);
		embed_resnetv2_forward(r, (const float *)px->data + (size_t)k * 3 * 60 * 60, ws, o2);
		assert_memory_equal(o1, o2, n * sizeof(float));
	}
	openblas_set_num_threads(nt);
	free(ws);
	free(o1);
	free(o2);
	embed_resnetv2_free(&r);
	assert_null(r);
	embed_tensors_free(&t);

	l = discover(FIX "timm_r2.safetensors", "vit_test_r2_s1_60", 0, 1);
	m = open_ck(l, 0);
	openblas_set_num_threads(1);
	assert_int_equal(embed_model_forward(m, px->data, 2, EMBED_POOL_CLS, a, la), 0);
	openblas_set_num_threads(2);
	assert_int_equal(embed_model_forward(m, px->data, 2, EMBED_POOL_CLS, b, lb), 0);
	openblas_set_num_threads(nt);
	assert_true(tu_max_diff_f32(a, b, 2 * 24) <= 1e-5);
	assert_true(tu_max_diff_f32(la, lb, 2 * 5) <= 1e-5);
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
	vv_array_free(&px);
}

/* Real architectures: the shapes the registry gives the named models. */
static void
test_timm_registry(void **state)
{
	static const struct {
		const char *name;
		int stages, d0, d1, d2, d3, patch, img, width;
	} want[] = {
		{ "vit_tiny_r_s16_p8_224", 0, 0, 0, 0, 0, 8, 224, 192 },
		{ "vit_tiny_r_s16_p8_384", 0, 0, 0, 0, 0, 8, 384, 192 },
		{ "vit_small_r26_s32_224", 4, 2, 2, 2, 2, 1, 224, 384 },
		{ "vit_small_r26_s32_384", 4, 2, 2, 2, 2, 1, 384, 384 },
		{ "vit_base_r50_s16_224", 3, 3, 4, 9, 0, 1, 224, 768 },
		{ "vit_base_r50_s16_384", 3, 3, 4, 9, 0, 1, 384, 768 },
		{ "vit_large_r50_s32_224", 4, 3, 4, 6, 3, 1, 224, 1024 },
		{ "vit_large_r50_s32_384", 4, 3, 4, 6, 3, 1, 384, 1024 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const embed_registry_entry *e = embed_registry_find(want[i].name, NULL);

		assert_non_null(e);
		assert_int_equal(e->hybrid, 1);
		assert_int_equal(e->backbone.nstages, want[i].stages);
		assert_int_equal(e->backbone.depth[0], want[i].d0);
		assert_int_equal(e->backbone.depth[1], want[i].d1);
		assert_int_equal(e->backbone.depth[2], want[i].d2);
		assert_int_equal(e->backbone.depth[3], want[i].d3);
		assert_int_equal(e->backbone.stem_chs, 64);
		assert_int_equal(e->patch, want[i].patch);
		assert_int_equal(e->img_size, want[i].img);
		assert_int_equal(e->width, want[i].width);
		assert_true(e->crop_pct == (want[i].img == 224 ? 0.9 : 1.0));
		assert_true(e->mean[0] == 0.5f && e->std[2] == 0.5f);
	}
	assert_int_equal(embed_registry_find("vit_base_patch16_224", NULL)->hybrid, 0);
}

/* A backbone deeper than the weights', a plain arch for hybrid weights. */
static void
test_timm_bad(void **state)
{
	embed_ckpt_list *l;
	embed_model *m = NULL;

	(void)state;
	l = discover(FIX "timm_r2.safetensors", "vit_test_r2deep_s1_60", 0, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	assert_null(m);
	assert_non_null(strstr(vv_errmsg(), "timm_r2.safetensors"));
	assert_non_null(strstr(vv_errmsg(), "units per stage (1, 1)"));
	assert_non_null(strstr(vv_errmsg(), "has (1, 2)"));
	embed_ckpt_list_free(&l);
	l = discover(FIX "timm_r2.safetensors", "vit_base_patch16_224", 0, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "plain ViT"));
	embed_ckpt_list_free(&l);
	l = discover(FIX "timm_stem.safetensors", "vit_test_r2_s1_60", 0, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	embed_ckpt_list_free(&l);
}

/*
 * `vitviz run ARGS...` in this process (the command's own code, so that
 * the test architectures registered above are known): its exit status.
 */
static int
vitviz_run(const char *run, const char *data, const char *tag, const char *extra1,
	   const char *extra2)
{
	char out[128], work[128];
	char *argv[16];
	int argc = 0;

	snprintf(out, sizeof(out), "%s/%s.gif", tu_tmp, tag);
	snprintf(work, sizeof(work), "%s/%s-work", tu_tmp, tag);
	argv[argc++] = "run";
	argv[argc++] = (char *)run;
	argv[argc++] = "--data";
	argv[argc++] = (char *)data;
	argv[argc++] = "-o";
	argv[argc++] = out;
	argv[argc++] = "--work";
	argv[argc++] = work;
	argv[argc++] = "--size";
	argv[argc++] = "320x240";
	argv[argc++] = "--fps";
	argv[argc++] = "4";
	if (extra1)
		argv[argc++] = (char *)extra1;
	if (extra2)
		argv[argc++] = (char *)extra2;
	argv[argc] = NULL;
	return cli_run(argc, argv);
}

/* The work folder of a vitviz_run() has its outputs; the embeddings of
 * checkpoint `ck` as an array. */
static vv_array *
work_embeddings(const char *tag, const char *ck, const char *kind)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s.gif", tu_tmp, tag);
	assert_true(tu_exists(p));
	snprintf(p, sizeof(p), "%s/%s-work/coords.npy", tu_tmp, tag);
	assert_true(tu_exists(p));
	snprintf(p, sizeof(p), "%s/%s-work/outliers.csv", tu_tmp, tag);
	assert_true(tu_exists(p));
	snprintf(p, sizeof(p), "%s/%s-work/%s/%s.npy", tu_tmp, tag, kind, ck);
	return tu_load_npy("%s", p);
}

/* A timm train.py folder of a hybrid, end to end; `vitviz info`. */
static void
test_timm_run(void **state)
{
	embed_ckpt_list *l;
	vv_array *e;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(vitviz_run(FIX "timm_run", FIX "images", "timm", NULL, NULL), 0);
	e = work_embeddings("timm", "checkpoint-2", "embeddings");
	assert_int_equal(e->shape[0], 6);
	assert_int_equal(e->shape[1], 24);
	vv_array_free(&e);

	l = discover(FIX "timm_run", NULL, 0, 2);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(embed_describe(l, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "architecture: vit_test_r_stem_p4_48"));
	assert_non_null(strstr(text, "model: R+ViT (width 24, 2 layers, patch 16) (family vit, "
				     "vit_test_r_stem_p4_48)"));
	assert_non_null(strstr(text, "backbone resnetv2, backbone_flavor timm, "
				     "backbone_stem_channels 64, backbone_units_per_stage (), "
				     "backbone_features (64, 12, 12)"));
	assert_non_null(strstr(text, "shorter side to 53 (bicubic), centre crop 48x48"));
	free(text);
	embed_ckpt_list_free(&l);
}

/* ------------------------------------------------------------------ */
/* jeonsworld/ViT-pytorch                                              */

static void
test_jw_parity(void **state)
{
	embed_ckpt_list *l;
	embed_model *m;
	const embed_model_info *mi;

	(void)state;
	/* the hybrid, F16 as apex O2 saves it; explicit padding, gn_proj */
	l = discover(FIX "jw_out/hyb_checkpoint.bin", "jw_test_r_tiny", 64, 1);
	assert_int_equal(l->v[0].format, EMBED_CKPT_JEONSWORLD);
	assert_string_equal(l->v[0].name, "hyb_checkpoint");
	assert_int_equal(l->v[0].step, -1);
	m = open_ck(l, 0);
	mi = embed_model_get_info(m);
	assert_string_equal(mi->family, "vit");
	assert_int_equal(mi->image_w, 64);
	assert_int_equal(mi->num_labels, 5);
	assert_int_equal(mi->pp.size_w, 64);
	assert_int_equal(mi->pp.resample, EMBED_RESAMPLE_BILINEAR);
	assert_int_equal(mi->pp.do_crop, 0);
	assert_true(mi->pp.mean[1] == 0.5f && mi->pp.std[2] == 0.5f);
	check(m, FIX "pixels_64.npy", EMBED_POOL_CLS, "cls", "jw_hyb", TOL_REF);
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
	/* a plain ViT of the same code */
	l = discover(FIX "jw_out/vit_checkpoint.bin", "jw_test_vit_tiny", 32, 1);
	m = open_ck(l, 0);
	check(m, FIX "pixels_32.npy", EMBED_POOL_CLS, "cls", "jw_vit", TOL_REF);
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
}

/* Its config names, image sizes and the bad inputs. */
static void
test_jw_configs(void **state)
{
	embed_ckpt_list *l;
	embed_model *m = NULL;

	(void)state;
	/* real names: the shapes are checked against the weights */
	l = discover(FIX "jw_out/hyb_checkpoint.bin", "R50-ViT-B_16", 0, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "hyb_checkpoint.bin"));
	embed_ckpt_list_free(&l);
	/* no --arch: R50-ViT-B_16 for weights with a ResNet, ViT-B_16 otherwise */
	l = discover(FIX "jw_out/vit_checkpoint.bin", NULL, 0, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "ViT-B_16"));
	embed_ckpt_list_free(&l);
	l = discover(FIX "jw_out/vit_checkpoint.bin", "R50-ViT-B_16", 0, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "no transformer.embeddings.hybrid_model.* tensors"));
	embed_ckpt_list_free(&l);
	l = discover(FIX "jw_out/hyb_checkpoint.bin", "ViT-B_16", 0, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "is a plain ViT"));
	embed_ckpt_list_free(&l);
	l = discover(FIX "jw_out/hyb_checkpoint.bin", "R50-ViT-B_16", 128, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "at least 224 pixels"));
	embed_ckpt_list_free(&l);
	/* a backbone deeper than the weights' */
	l = discover(FIX "jw_out/hyb_checkpoint.bin", "jw_test_r_deep", 64, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "hyb_checkpoint.bin: the ResNet backbone in the weights "
					    "has units per stage (1, 1, 1) but the architecture "
					    "has (1, 2, 1)"));
	embed_ckpt_list_free(&l);
	/* unknown names */
	l = discover(FIX "jw_out/hyb_checkpoint.bin", "R101-ViT-B_16", 64, 1);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "unknown --arch \"R101-ViT-B_16\""));
	assert_non_null(strstr(vv_errmsg(), "R50-ViT-B_16"));
	assert_null(m);
	embed_ckpt_list_free(&l);
	/* through the command: exit 3, one line, nothing written */
	assert_int_equal(vitviz_run(FIX "jw_out/hyb_checkpoint.bin", FIX "images", "jwbad",
				    "--arch=jw_test_r_deep", "--image-size=64"), 3);
	assert_false(tu_exists(tu_path("jwbad.gif")));
	assert_int_equal(tu_count_tmp(tu_tmp), 0);
	assert_int_equal(vitviz_run(FIX "jw_out/hyb_checkpoint.bin", FIX "images", "jwbad",
				    "--arch=R101-ViT-B_16", NULL), 3);
	assert_false(tu_exists(tu_path("jwbad.gif")));
	assert_false(tu_exists(tu_path("jwbad-work/embeddings/hyb_checkpoint.npy")));
	/* the output_dir: every <name>_checkpoint.bin, in name order */
	l = discover(FIX "jw_out", "jw_test_vit_tiny", 32, 2);
	assert_string_equal(l->v[0].name, "hyb_checkpoint");
	assert_string_equal(l->v[1].name, "vit_checkpoint");
	assert_int_equal(l->v[1].image_size, 32);
	assert_string_equal(l->v[1].arch, "jw_test_vit_tiny");
	assert_null(l->loss_kind);
	embed_ckpt_list_free(&l);
}

/* Its test transform on real images, through vitviz run. */
static void
test_jw_run(void **state)
{
	vv_array *e, *r;
	double d;

	(void)state;
	assert_int_equal(vitviz_run(FIX "jw_out/hyb_checkpoint.bin", FIX "images", "jw",
				    "--arch=jw_test_r_tiny", "--image-size=64"), 0);
	e = work_embeddings("jw", "hyb_checkpoint", "embeddings");
	r = tu_load_npy(FIX "ref/jw_hyb_img_cls.npy");
	assert_int_equal(vv_array_numel(e), vv_array_numel(r));
	d = tu_max_diff_f32(e->data, r->data, (int64_t)vv_array_numel(r));
	printf("  jeonsworld images: embeddings vs PyTorch + torchvision: max abs err %.2e\n", d);
	assert_true(d <= TOL_RESIZE);
	vv_array_free(&e);
	vv_array_free(&r);
	e = work_embeddings("jw", "hyb_checkpoint", "logits");
	r = tu_load_npy(FIX "ref/jw_hyb_img_logits.npy");
	d = tu_max_diff_f32(e->data, r->data, (int64_t)vv_array_numel(r));
	printf("  jeonsworld images: logits     vs PyTorch + torchvision: max abs err %.2e\n", d);
	assert_true(d <= TOL_RESIZE);
	vv_array_free(&e);
	vv_array_free(&r);
}

/* ------------------------------------------------------------------ */
/* The flower tutorial                                                 */

static void
test_flower_run(void **state)
{
	static const char *const kinds[] = { "embeddings", "logits" };
	static const char *const refs[] = { "cls", "logits" };
	embed_ckpt_list *l;
	embed_model *m;
	const embed_model_info *mi;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int e, k;

	(void)state;
	/* the folder holding weights/, weights/ itself, one file */
	l = discover(FIX "flower", "vit_test_flower_patch32_224_in21k", 0, 2);
	assert_int_equal(l->v[0].format, EMBED_CKPT_FLOWER);
	assert_string_equal(l->v[1].name, "model-1");
	assert_int_equal(l->v[1].step, 1);
	assert_true(embed_ckpt_epoch(&l->v[1]) == 1.0);
	assert_string_equal(l->v[0].labels, FIX "flower/class_indices.json");
	m = open_ck(l, 1);
	mi = embed_model_get_info(m);
	assert_int_equal(mi->num_labels, 3);
	assert_string_equal(mi->id2label[0], "daisy");
	assert_string_equal(mi->id2label[2], "tulips");
	assert_int_equal(mi->pp.shortest, 256);
	assert_int_equal(mi->pp.crop_w, 224);
	assert_int_equal(mi->pp.resample, EMBED_RESAMPLE_BILINEAR);
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
	l = discover(FIX "flower/weights", "vit_test_flower_patch32_224_in21k", 0, 2);
	assert_string_equal(l->v[1].labels, FIX "flower/class_indices.json");
	embed_ckpt_list_free(&l);
	l = discover(FIX "flower/weights/model-0.pth", "vit_test_flower_patch32_224", 0, 1);
	assert_int_equal(l->v[0].step, 0);
	assert_non_null(l->v[0].labels);
	embed_ckpt_list_free(&l);
	l = discover(FIX "flower", "vit_base_patch16_224_in21k", 0, 2);
	m = NULL;
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_EMISMATCH);
	embed_ckpt_list_free(&l);
	l = discover(FIX "flower", "vit_giant_patch14_224_in21k", 0, 2);
	assert_int_equal(embed_model_open(&l->v[0], &m), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "model-0.pth: unknown --arch"));
	embed_ckpt_list_free(&l);

	/* end to end: predict.py's transform, the representation layer */
	assert_int_equal(vitviz_run(FIX "flower", FIX "images", "flower",
				    "--arch=vit_test_flower_patch32_224_in21k", NULL), 0);
	for (e = 0; e < 2; e++)
		for (k = 0; k < 2; k++) {
			char ck[32], ref[128];
			vv_array *a, *r;
			double d;

			snprintf(ck, sizeof(ck), "model-%d", e);
			snprintf(ref, sizeof(ref), FIX "ref/flower_e%d_%s.npy", e, refs[k]);
			a = work_embeddings("flower", ck, kinds[k]);
			r = tu_load_npy("%s", ref);
			assert_int_equal(vv_array_numel(a), vv_array_numel(r));
			d = tu_max_diff_f32(a->data, r->data, (int64_t)vv_array_numel(r));
			printf("  flower %s %-10s vs PyTorch + torchvision: max abs err %.2e\n", ck,
			       kinds[k], d);
			assert_true(d <= TOL_RESIZE);
			vv_array_free(&a);
			vv_array_free(&r);
		}
	/* the representation layer: --pool head is tanh(pre_logits.fc(CLS)) */
	assert_int_equal(vitviz_run(FIX "flower", FIX "images", "flowerhead",
				    "--arch=vit_test_flower_patch32_224_in21k", "--pool=head"), 0);
	{
		vv_array *a = work_embeddings("flowerhead", "model-1", "embeddings");
		vv_array *r = tu_load_npy(FIX "ref/flower_e1_head.npy");
		double d = tu_max_diff_f32(a->data, r->data, (int64_t)vv_array_numel(r));

		printf("  flower model-1 pre_logits vs PyTorch + torchvision: max abs err %.2e\n", d);
		assert_true(d <= TOL_RESIZE);
		vv_array_free(&a);
		vv_array_free(&r);
	}
	/* vitviz info */
	l = discover(FIX "flower", "vit_test_flower_patch32_224_in21k", 0, 2);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(embed_describe(l, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "flower"));
	assert_non_null(strstr(text, "shorter side to 256 (bilinear), centre crop 224x224"));
	assert_non_null(strstr(text, "daisy roses tulips"));
	free(text);
	embed_ckpt_list_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timm_parity),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_timm_registry),
		cmocka_unit_test(test_timm_bad),
		cmocka_unit_test(test_timm_run),
		cmocka_unit_test(test_jw_parity),
		cmocka_unit_test(test_jw_configs),
		cmocka_unit_test(test_jw_run),
		cmocka_unit_test(test_flower_run),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
