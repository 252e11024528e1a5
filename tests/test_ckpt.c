/*
 * test_ckpt.c - checkpoint discovery (integer step order, single folder,
 * formats, loss log, fingerprints), config.json and
 * preprocessor_config.json parsing, and the errors of a checkpoint whose
 * weights do not match its config.
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
#include <unistd.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/models/embed_config.h"
#include "embed/models/embed_model.h"
#include "embed/formats/embed_safetensors.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/vit/"

static int
setup(void **state)
{
	(void)state;
	vv_verbosity = 0; /* the skip warnings are expected */
	return tu_setup("test_ckpt");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* <tu_tmp>/<rel> as a malloc'd path. */
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

static void
test_order_by_integer_step(void **state)
{
	embed_ckpt_list *l = NULL;
	char *run = tpath("run");

	(void)state;
	mkd("run/checkpoint-100");
	mkd("run/checkpoint-9");
	mkd("run/checkpoint-10");
	mkd("run/checkpoint-final");  /* not an integer: skipped */
	mkd("run/checkpoint-5");      /* no weights: skipped */
	mkd("run/runs");              /* ignored */
	put("run/README.md", "x");
	put("run/checkpoint-7", "a file, not a folder");
	put("run/checkpoint-100/model.safetensors", "");
	put("run/checkpoint-9/model.safetensors.index.json", "{}");
	put("run/checkpoint-10/pytorch_model.bin", "");
	put("run/checkpoint-10/model.safetensors", ""); /* preferred over .bin */
	put("run/checkpoint-final/model.safetensors", "");
	put("run/checkpoint-5/optimizer.pt", "");
	put("run/checkpoint-9/trainer_state.json", "{}");
	put("run/checkpoint-100/trainer_state.json", "{}");

	assert_int_equal(embed_ckpt_discover(run, &l), 0);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->v[0].name, "checkpoint-9");
	assert_string_equal(l->v[1].name, "checkpoint-10");
	assert_string_equal(l->v[2].name, "checkpoint-100");
	assert_int_equal(l->v[0].step, 9);
	assert_int_equal(l->v[1].step, 10);
	assert_int_equal(l->v[2].step, 100);
	assert_int_equal(l->v[0].format, EMBED_CKPT_SHARDED);
	assert_int_equal(l->v[1].format, EMBED_CKPT_SAFETENSORS);
	assert_int_equal(l->v[2].format, EMBED_CKPT_SAFETENSORS);
	assert_string_equal(embed_ckpt_format_name(l->v[0].format), "sharded");
	assert_string_equal(embed_ckpt_format_name(EMBED_CKPT_PYTORCH), "pytorch");
	assert_non_null(strstr(l->v[1].weights, "checkpoint-10/model.safetensors"));
	assert_null(l->v[1].trainer_state);
	/* the loss log is the last checkpoint's trainer_state.json */
	assert_string_equal(l->loss_kind, "trainer_state");
	assert_non_null(strstr(l->loss_path, "checkpoint-100/trainer_state.json"));
	embed_ckpt_list_free(&l);
	assert_null(l);

	/* without trainer_state in the last one, the latest that has one */
	{
		char *ts = tpath("run/checkpoint-100/trainer_state.json");

		assert_int_equal(unlink(ts), 0);
		free(ts);
	}
	assert_int_equal(embed_ckpt_discover(run, &l), 0);
	assert_non_null(strstr(l->loss_path, "checkpoint-9/trainer_state.json"));
	embed_ckpt_list_free(&l);
	free(run);
}

static void
test_single_folder_and_errors(void **state)
{
	embed_ckpt_list *l = NULL;
	embed_tensors *t = NULL;
	char *p;

	(void)state;
	/* a checkpoint folder given directly */
	assert_int_equal(embed_ckpt_discover(FIX "f32", &l), 0);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0].name, "f32");
	assert_int_equal(l->v[0].step, -1);
	assert_string_equal(l->v[0].path, FIX "f32");
	assert_null(l->loss_path);
	assert_null(l->loss_kind);
	embed_ckpt_list_free(&l);
	mkd("single/checkpoint-42");
	put("single/checkpoint-42/model.safetensors.index.json", "{}");
	p = tpath("single/checkpoint-42/");
	assert_int_equal(embed_ckpt_discover(p, &l), 0);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0].name, "checkpoint-42");
	assert_int_equal(l->v[0].step, 42);
	assert_int_equal(l->v[0].format, EMBED_CKPT_SHARDED);
	embed_ckpt_list_free(&l);
	free(p);

	/* an empty folder, a folder of non-checkpoints, a missing path */
	mkd("empty");
	p = tpath("empty");
	assert_int_equal(embed_ckpt_discover(p, &l), VV_ENOTFOUND);
	assert_null(l);
	assert_non_null(strstr(vv_errmsg(), p));
	assert_non_null(strstr(vv_errmsg(), "no checkpoints"));
	free(p);
	mkd("junk/checkpoint-x");
	mkd("junk/other");
	put("junk/checkpoint-x/model.safetensors", "");
	p = tpath("junk");
	assert_int_equal(embed_ckpt_discover(p, &l), VV_ENOTFOUND);
	free(p);
	p = tpath("nowhere");
	assert_int_equal(embed_ckpt_discover(p, &l), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "nowhere"));
	free(p);

	/* a corrupt pytorch_model.bin: a format error naming the file */
	mkd("pt/checkpoint-3");
	put("pt/checkpoint-3/pytorch_model.bin", "PK");
	p = tpath("pt");
	assert_int_equal(embed_ckpt_discover(p, &l), 0);
	assert_int_equal(l->v[0].format, EMBED_CKPT_PYTORCH);
	assert_int_equal(embed_ckpt_load_tensors(&l->v[0], &t), VV_EFORMAT);
	assert_null(t);
	assert_non_null(strstr(vv_errmsg(), "checkpoint-3/pytorch_model.bin"));
	embed_ckpt_list_free(&l);
	free(p);
}

/* config.json of tests/fixtures/pt/hf_pytorch_model.bin (make_fixtures_pt.py:
 * make_model(): vitref.hf_config(hidden 16, 2 layers, 2 heads, MLP 32,
 * image 16, patch 8), 4 labels) */
static const char pt_config[] =
	"{\"architectures\": [\"ViTForImageClassification\"], \"hidden_act\": \"gelu\",\n"
	" \"hidden_size\": 16, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,\n"
	" \"intermediate_size\": 32, \"image_size\": 16, \"patch_size\": 8,\n"
	" \"num_channels\": 3, \"layer_norm_eps\": 1e-12, \"qkv_bias\": true,\n"
	" \"model_type\": \"vit\"}\n";

/* Embed 4 random 16x16 images with the checkpoint folder <tu_tmp>/<rel>. */
static void
embed_folder(const char *rel, int format, float *emb, float *logits)
{
	embed_ckpt_list *l = NULL;
	embed_model *m = NULL;
	float px[4 * 3 * 16 * 16];
	char *p = tpath(rel);
	unsigned s = 12345;
	size_t i;

	for (i = 0; i < sizeof(px) / sizeof(px[0]); i++) {
		s = s * 1103515245u + 12345u;
		px[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
	}
	assert_int_equal(embed_ckpt_discover(p, &l), 0);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->v[0].format, format);
	if (embed_model_open(&l->v[0], &m))
		fail_msg("%s", vv_errmsg());
	assert_int_equal(embed_model_get_info(m)->num_labels, 4);
	assert_int_equal(embed_model_forward(m, px, 4, EMBED_POOL_CLS, emb, logits), 0);
	embed_model_free(&m);
	embed_ckpt_list_free(&l);
	free(p);
}

static void
test_pytorch_model_bin(void **state)
{
	float e1[4 * 16], l1[4 * 4], e2[4 * 16], l2[4 * 4];
	double d;

	(void)state;
	/* the same weights as pytorch_model.bin and as model.safetensors */
	mkd("hfbin");
	put("hfbin/config.json", pt_config);
	copy_file("tests/fixtures/pt/hf_pytorch_model.bin", "hfbin/pytorch_model.bin");
	mkd("hfst");
	put("hfst/config.json", pt_config);
	copy_file("tests/fixtures/pt/weights.safetensors", "hfst/model.safetensors");
	embed_folder("hfbin", EMBED_CKPT_PYTORCH, e1, l1);
	embed_folder("hfst", EMBED_CKPT_SAFETENSORS, e2, l2);
	d = tu_fmax(tu_max_diff_f32(e1, e2, 4 * 16), tu_max_diff_f32(l1, l2, 4 * 4));
	printf("  pytorch_model.bin vs model.safetensors: max abs diff %.2e\n", d);
	assert_true(d <= 1e-5);
	/* the weights file given directly stands for its folder */
	{
		embed_ckpt_list *l = NULL;
		char *p = tpath("hfbin/pytorch_model.bin");

		assert_int_equal(embed_ckpt_discover(p, &l), 0);
		assert_int_equal(l->v[0].format, EMBED_CKPT_PYTORCH);
		assert_string_equal(l->v[0].name, "hfbin");
		embed_ckpt_list_free(&l);
		free(p);
	}
}

static void
test_fingerprint(void **state)
{
	embed_ckpt_list *l = NULL;
	char a[40], b[40], c[40];
	char **files = NULL;
	size_t n = 0;
	char *p;
	FILE *f;

	(void)state;
	assert_int_equal(embed_ckpt_discover(FIX "f32", &l), 0);
	assert_int_equal(embed_ckpt_fingerprint(&l->v[0], a), 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(embed_ckpt_fingerprint(&l->v[0], b), 0);
	assert_string_equal(a, b);
	embed_ckpt_list_free(&l);

	/* a sharded copy: every shard counts */
	mkd("fp");
	copy_file(FIX "sharded/model.safetensors.index.json", "fp/model.safetensors.index.json");
	copy_file(FIX "sharded/model-00001-of-00003.safetensors", "fp/model-00001-of-00003.safetensors");
	copy_file(FIX "sharded/model-00002-of-00003.safetensors", "fp/model-00002-of-00003.safetensors");
	copy_file(FIX "sharded/model-00003-of-00003.safetensors", "fp/model-00003-of-00003.safetensors");
	p = tpath("fp");
	assert_int_equal(embed_ckpt_discover(p, &l), 0);
	assert_int_equal(embed_ckpt_weight_files(&l->v[0], &files, &n), 0);
	assert_int_equal(n, 3);
	vv_strv_free(&files, n);
	assert_int_equal(embed_ckpt_fingerprint(&l->v[0], a), 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(embed_ckpt_fingerprint(&l->v[0], b), 0);
	assert_string_equal(a, b);
	free(p);
	p = tpath("fp/model-00003-of-00003.safetensors");
	f = fopen(p, "r+b");
	assert_non_null(f);
	fseek(f, -4, SEEK_END);
	fputc(0x55, f);
	fclose(f);
	assert_int_equal(embed_ckpt_fingerprint(&l->v[0], c), 0);
	assert_string_not_equal(a, c);
	/* a missing shard is an error */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(embed_ckpt_fingerprint(&l->v[0], c), VV_ENOTFOUND);
	free(p);
	embed_ckpt_list_free(&l);
}

/* ------------------------------------------------------------------ */
/* Weights that disagree with the config                                */

/* Make <tu_tmp>/<name>/ a copy of the F32 fixture whose tensors went
 * through `edit`, and try to open it; returns the error. */
static int
open_edited(const char *name, void (*edit)(embed_tensors *), const char *config)
{
	embed_tensors *t = NULL;
	embed_ckpt_list *l = NULL;
	embed_model *m = NULL;
	char rel[128], *dir, *w;
	int err;

	snprintf(rel, sizeof(rel), "%s", name);
	mkd(rel);
	dir = tpath(rel);
	snprintf(rel, sizeof(rel), "%s/config.json", name);
	if (config)
		put(rel, config);
	else
		copy_file(FIX "f32/config.json", rel);
	snprintf(rel, sizeof(rel), "%s/preprocessor_config.json", name);
	copy_file(FIX "f32/preprocessor_config.json", rel);
	assert_int_equal(embed_tensors_alloc(&t), 0);
	assert_int_equal(embed_safetensors_load(FIX "f32/model.safetensors", t), 0);
	if (edit)
		edit(t);
	w = vv_path_join(dir, "model.safetensors");
	assert_int_equal(embed_safetensors_save(w, t, NULL), 0);
	embed_tensors_free(&t);
	assert_int_equal(embed_ckpt_discover(dir, &l), 0);
	err = embed_model_open(&l->v[0], &m);
	if (!err)
		embed_model_free(&m);
	else
		assert_null(m);
	embed_ckpt_list_free(&l);
	free(w);
	free(dir);
	return err;
}

static void
drop_key_bias(embed_tensors *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, "vit.encoder.layer.1.attention.attention.key.bias"))
			t->v[i].name[4] = 'X'; /* renamed away: "vit.Xncoder..." */
}

static void
reshape_fc1(embed_tensors *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, "vit.encoder.layer.0.intermediate.dense.weight")) {
			t->v[i].shape[0] = 32; /* [64, 32] -> [32, 64], same count */
			t->v[i].shape[1] = 64;
		}
}

static void
test_weights_config_mismatch(void **state)
{
	char *cfg, *text;
	size_t len;
	int err;

	(void)state;
	/* the untouched copy opens */
	assert_int_equal(open_edited("ok", NULL, NULL), 0);

	err = open_edited("missing", drop_key_bias, NULL);
	assert_int_equal(err, VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "vit.encoder.layer.1.attention.attention.key.bias"));
	assert_non_null(strstr(vv_errmsg(), "missing/model.safetensors"));
	assert_non_null(strstr(vv_errmsg(), "[32]"));

	err = open_edited("misshapen", reshape_fc1, NULL);
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "vit.encoder.layer.0.intermediate.dense.weight"));
	assert_non_null(strstr(vv_errmsg(), "[32, 64]"));
	assert_non_null(strstr(vv_errmsg(), "[64, 32]"));
	assert_non_null(strstr(vv_errmsg(), "misshapen/model.safetensors"));

	/* config with 3 layers, weights with 2 */
	assert_int_equal(vv_read_file(FIX "f32/config.json", 1 << 20, &text, &len), 0);
	cfg = strdup(text);
	memcpy(strstr(cfg, "\"num_hidden_layers\": 2"), "\"num_hidden_layers\": 3", 22);
	err = open_edited("layers", NULL, cfg);
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "2 layers"));
	assert_non_null(strstr(vv_errmsg(), "num_hidden_layers 3"));
	free(cfg);

	/* config with hidden 64 (heads 4), weights with 32 */
	cfg = strdup(text);
	memcpy(strstr(cfg, "\"hidden_size\": 32"), "\"hidden_size\": 64", 17);
	err = open_edited("hidden", NULL, cfg);
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "[1, 1, 32]"));
	assert_non_null(strstr(vv_errmsg(), "[1, 1, 64]"));
	free(cfg);

	/* config with image 64: position embeddings disagree */
	cfg = strdup(text);
	memcpy(strstr(cfg, "\"image_size\": 32"), "\"image_size\": 64", 16);
	err = open_edited("image", NULL, cfg);
	assert_int_equal(err, VV_EMISMATCH); /* preprocessing gives 32x32 */
	free(cfg);

	/* id2label with 3 names, classifier with 5 outputs */
	cfg = strdup(text);
	{
		char *s = strstr(cfg, "\"3\": \"deer\""), *e = strstr(cfg, "\"4\": \"frog\"");

		assert_non_null(s);
		assert_non_null(e);
		/* blank out keys 3 and 4 (JSON allows the spaces) */
		memset(s - 6, ' ', (size_t)(e + strlen("\"4\": \"frog\"") - (s - 6)));
	}
	err = open_edited("labels", NULL, cfg);
	assert_int_equal(err, VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "3 labels"));
	free(cfg);
	free(text);
}

/* ------------------------------------------------------------------ */
/* config.json and preprocessor_config.json                             */

static int
parse_cfg(const char *json, embed_vit_config **c)
{
	return embed_vit_config_parse("config.json", json, strlen(json), c);
}

static void
test_config_parse(void **state)
{
	embed_vit_config *c = NULL;

	(void)state;
	/* absent keys: ViTConfig defaults */
	assert_int_equal(parse_cfg("{}", &c), 0);
	assert_int_equal(c->hidden, 768);
	assert_int_equal(c->layers, 12);
	assert_int_equal(c->heads, 12);
	assert_int_equal(c->intermediate, 3072);
	assert_int_equal(c->image_w, 224);
	assert_int_equal(c->image_h, 224);
	assert_int_equal(c->patch, 16);
	assert_int_equal(c->channels, 3);
	assert_true(c->ln_eps == 1e-12);
	assert_int_equal(c->act, EMBED_ACT_GELU);
	assert_int_equal(c->qkv_bias, 1);
	assert_int_equal(c->num_labels, 0);
	assert_null(c->id2label);
	embed_vit_config_free(&c);
	assert_null(c);

	assert_int_equal(parse_cfg("{\"hidden_size\": 64, \"num_attention_heads\": 2,"
				   "\"hidden_act\": \"gelu_new\", \"qkv_bias\": false,"
				   "\"layer_norm_eps\": 1e-6, \"image_size\": [48, 64],"
				   "\"id2label\": {\"1\": \"dog\", \"0\": \"cat\", \"2\": \"fox\"},"
				   "\"architectures\": [\"ViTForImageClassification\"]}", &c), 0);
	assert_int_equal(c->hidden, 64);
	assert_int_equal(c->act, EMBED_ACT_GELU_TANH);
	assert_int_equal(c->qkv_bias, 0);
	assert_true(c->ln_eps == 1e-6);
	assert_int_equal(c->image_h, 48);
	assert_int_equal(c->image_w, 64);
	assert_int_equal(c->num_labels, 3);
	assert_string_equal(c->id2label[0], "cat");
	assert_string_equal(c->id2label[1], "dog");
	assert_string_equal(c->id2label[2], "fox");
	assert_int_equal(c->n_arch, 1);
	assert_string_equal(c->architectures[0], "ViTForImageClassification");
	embed_vit_config_free(&c);
	assert_int_equal(parse_cfg("{\"hidden_act\": \"gelu_pytorch_tanh\"}", &c), 0);
	assert_int_equal(c->act, EMBED_ACT_GELU_TANH);
	embed_vit_config_free(&c);

	/* invalid */
	assert_int_equal(parse_cfg("{\"hidden_size\": 100}", &c), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "num_attention_heads"));
	assert_null(c);
	assert_int_equal(parse_cfg("{\"image_size\": 230}", &c), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "patch_size"));
	assert_int_equal(parse_cfg("{\"num_hidden_layers\": 0}", &c), VV_EINVAL);
	assert_int_equal(parse_cfg("{\"hidden_size\": -768}", &c), VV_EINVAL);
	assert_int_equal(parse_cfg("{\"hidden_size\": 1e12}", &c), VV_EFORMAT);
	assert_int_equal(parse_cfg("{\"hidden_size\": \"768\"}", &c), VV_EFORMAT);
	assert_int_equal(parse_cfg("{\"layer_norm_eps\": 0}", &c), VV_EINVAL);
	assert_int_equal(parse_cfg("{\"image_size\": 8192, \"patch_size\": 1}", &c), VV_EINVAL);
	assert_int_equal(parse_cfg("{\"hidden_act\": \"relu\"}", &c), VV_EUNSUPPORTED);
	assert_non_null(strstr(vv_errmsg(), "relu"));
	assert_int_equal(parse_cfg("{\"patch_size\": [16, 8]}", &c), VV_EUNSUPPORTED);
	assert_int_equal(parse_cfg("{\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", &c), VV_EFORMAT);
	assert_int_equal(parse_cfg("{\"id2label\": {\"0\": \"a\", \"01\": \"b\"}}", &c), VV_EFORMAT);
	assert_int_equal(parse_cfg("{\"id2label\": {\"0\": 5}}", &c), VV_EFORMAT);
	assert_int_equal(parse_cfg("{\"id2label\": [\"a\"]}", &c), VV_EFORMAT);
	assert_int_equal(parse_cfg("[]", &c), VV_EFORMAT);
	assert_int_equal(parse_cfg("{\"hidden_size\": ", &c), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "config.json"));
	assert_null(c);

	/* a missing file */
	assert_int_equal(embed_vit_config_load("/nonexistent/config.json", &c), VV_ENOTFOUND);
}

static int
parse_pp(const char *json, const embed_vit_config *c, embed_preproc *pp)
{
	return embed_preproc_parse("preprocessor_config.json", json, strlen(json), c, pp);
}

static void
assert_pp_equal(const embed_preproc *a, const embed_preproc *b)
{
	int i;

	assert_int_equal(a->do_resize, b->do_resize);
	assert_int_equal(a->resize_shortest, b->resize_shortest);
	assert_int_equal(a->size_w, b->size_w);
	assert_int_equal(a->size_h, b->size_h);
	assert_int_equal(a->resample, b->resample);
	assert_int_equal(a->do_crop, b->do_crop);
	assert_int_equal(a->do_rescale, b->do_rescale);
	assert_true(fabs(a->rescale - b->rescale) < 1e-15);
	assert_int_equal(a->do_normalize, b->do_normalize);
	for (i = 0; i < 3; i++) {
		assert_true(a->mean[i] == b->mean[i]);
		assert_true(a->std[i] == b->std[i]);
	}
}

static void
test_preproc_parse(void **state)
{
	embed_vit_config c;
	embed_preproc legacy, cur, def;
	char *p;
	int w, h;

	(void)state;
	embed_vit_config_defaults(&c);
	/* the two forms REFERENCE.md §2 quotes */
	assert_int_equal(parse_pp("{\"feature_extractor_type\":\"ViTFeatureExtractor\",\"size\":224,"
				  "\"resample\":2,\"image_mean\":[0.5,0.5,0.5],"
				  "\"image_std\":[0.5,0.5,0.5],\"do_resize\":true,"
				  "\"do_normalize\":true}", &c, &legacy), 0);
	assert_int_equal(parse_pp("{\"do_normalize\":true,\"do_rescale\":true,\"do_resize\":true,"
				  "\"image_mean\":[0.5,0.5,0.5],"
				  "\"image_processor_type\":\"ViTImageProcessor\","
				  "\"image_std\":[0.5,0.5,0.5],\"resample\":2,"
				  "\"rescale_factor\":0.00392156862745098,"
				  "\"size\":{\"height\":224,\"width\":224}}", &c, &cur), 0);
	assert_pp_equal(&legacy, &cur);
	assert_int_equal(cur.size_w, 224);
	assert_int_equal(cur.size_h, 224);
	assert_int_equal(cur.do_rescale, 1);
	assert_true(fabs(cur.rescale - 1.0 / 255) < 1e-15);
	assert_true(cur.mean[0] == 0.5f && cur.std[2] == 0.5f);
	assert_int_equal(cur.resample, EMBED_RESAMPLE_BILINEAR);
	assert_int_equal(embed_preproc_out_size(&cur, &w, &h), 0);
	assert_int_equal(w, 224);
	/* ... and both equal the defaults used without a file */
	embed_preproc_defaults(&def, &c);
	assert_pp_equal(&def, &cur);

	/* the fixture files (current and legacy forms) */
	{
		embed_vit_config *fc = NULL;

		assert_int_equal(embed_vit_config_load(FIX "f32/config.json", &fc), 0);
		assert_int_equal(embed_preproc_load(FIX "f32/preprocessor_config.json", fc, &cur), 0);
		assert_int_equal(embed_preproc_load(FIX "vitmodel/preprocessor_config.json", fc, &legacy), 0);
		assert_pp_equal(&legacy, &cur);
		assert_int_equal(cur.size_w, 32);
		/* a missing file: defaults at the config's image size */
		p = tpath("nothing/preprocessor_config.json");
		assert_int_equal(embed_preproc_load(p, fc, &def), 0);
		assert_pp_equal(&def, &cur);
		free(p);
		embed_vit_config_free(&fc);
	}

	/* other forms */
	assert_int_equal(parse_pp("{\"size\":{\"shortest_edge\":256},\"do_center_crop\":true,"
				  "\"crop_size\":{\"height\":224,\"width\":224},\"resample\":3,"
				  "\"image_mean\":[0.485,0.456,0.406],\"image_std\":[0.229,0.224,0.225],"
				  "\"do_rescale\":false}", &c, &cur), 0);
	assert_int_equal(cur.resize_shortest, 1);
	assert_int_equal(cur.shortest, 256);
	assert_int_equal(cur.do_crop, 1);
	assert_int_equal(cur.crop_w, 224);
	assert_int_equal(cur.resample, EMBED_RESAMPLE_BICUBIC);
	assert_int_equal(cur.do_rescale, 0);
	assert_true(cur.mean[1] == 0.456f && cur.std[0] == 0.229f);
	assert_int_equal(embed_preproc_out_size(&cur, &w, &h), 0);
	assert_int_equal(h, 224);
	assert_int_equal(parse_pp("{\"size\":{\"shortest_edge\":256}}", &c, &cur), 0);
	assert_int_equal(embed_preproc_out_size(&cur, &w, &h), VV_EUNSUPPORTED);

	/* bad values */
	assert_int_equal(parse_pp("{\"size\":0}", &c, &cur), VV_EFORMAT);
	assert_int_equal(parse_pp("{\"size\":{\"height\":224}}", &c, &cur), VV_EFORMAT);
	assert_int_equal(parse_pp("{\"size\":{\"longest_edge\":224}}", &c, &cur), VV_EUNSUPPORTED);
	assert_int_equal(parse_pp("{\"image_std\":[0.5,0,0.5]}", &c, &cur), VV_EFORMAT);
	assert_int_equal(parse_pp("{\"image_mean\":[0.5,0.5]}", &c, &cur), VV_EFORMAT);
	assert_int_equal(parse_pp("{\"resample\":9}", &c, &cur), VV_EFORMAT);
	assert_int_equal(parse_pp("{\"rescale_factor\":-1}", &c, &cur), VV_EFORMAT);
	assert_int_equal(parse_pp("{\"do_resize\":\"yes\"}", &c, &cur), VV_EFORMAT);
	assert_int_equal(parse_pp("{\"size\":", &c, &cur), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "preprocessor_config.json"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_by_integer_step),
		cmocka_unit_test(test_single_folder_and_errors),
		cmocka_unit_test(test_pytorch_model_bin),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_weights_config_mismatch),
		cmocka_unit_test(test_config_parse),
		cmocka_unit_test(test_preproc_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
