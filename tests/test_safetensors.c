/*
 * test_safetensors.c - the safetensors reader: the fixture files load with
 * the right shapes and values; crafted bad files (written here to a temp
 * folder) give a specific error code and a message naming the file; random
 * corruption never crashes (run under `make asan` too).
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
#include <unistd.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "embed/formats/embed_safetensors.h"
#include "embed/formats/embed_tensors.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/vit/"

static int
setup(void **state)
{
	(void)state;
	return tu_setup("test_st");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* Write <tu_tmp>/<name>: 8-byte length `hlen` (or strlen(header) when
 * hlen == UINT64_MAX), the header, then `ndata` bytes 0..255 repeating. */
static char *
craft(const char *name, uint64_t hlen, const char *header, size_t ndata)
{
	char *p = vv_path_join(tu_tmp, name);
	FILE *f = fopen(p, "wb");
	size_t i;

	assert_non_null(f);
	if (hlen == UINT64_MAX)
		hlen = strlen(header);
	fwrite(&hlen, 8, 1, f);
	fwrite(header, 1, strlen(header), f);
	for (i = 0; i < ndata; i++)
		fputc((int)(i & 0xff), f);
	fclose(f);
	return p;
}

/* Load `path`, expect error `code` and a message naming the file and
 * containing `what`. */
static void
expect_error(const char *path, int code, const char *what)
{
	embed_tensors *t = NULL;
	const char *base = strrchr(path, '/') + 1;
	int err;

	assert_int_equal(embed_tensors_alloc(&t), 0);
	vv_error_clear();
	err = embed_safetensors_load(path, t);
	if (err != code || !strstr(vv_errmsg(), base) || (what && !strstr(vv_errmsg(), what)))
		fail_msg("%s: got %d \"%s\", expected %d with \"%s\"", base, err, vv_errmsg(),
			 code, what ? what : "");
	embed_tensors_free(&t);
}

static void
test_fixture_loads(void **state)
{
	embed_tensors *t = NULL, *h = NULL, *b = NULL;
	const embed_tensor *x, *y, *z;
	size_t i, n;

	(void)state;
	assert_int_equal(embed_tensors_alloc(&t), 0);
	assert_int_equal(embed_safetensors_load(FIX "f32/model.safetensors", t), 0);
	/* 2 layers x 16 + cls, pos, patch w/b, layernorm w/b, classifier w/b */
	assert_int_equal(t->n, 2 * 16 + 8);
	x = embed_tensors_find(t, "vit.embeddings.patch_embeddings.projection.weight");
	assert_non_null(x);
	assert_int_equal(x->ndim, 4);
	assert_int_equal(x->shape[0], 32);
	assert_int_equal(x->shape[1], 3);
	assert_int_equal(x->shape[2], 8);
	assert_int_equal(x->shape[3], 8);
	assert_int_equal(x->src_dtype, EMBED_DT_F32);
	x = embed_tensors_find(t, "classifier.weight");
	assert_non_null(x);
	assert_int_equal(x->shape[0], 5);

	/* F16 and BF16 files hold the same tensors, rounded */
	assert_int_equal(embed_tensors_alloc(&h), 0);
	assert_int_equal(embed_tensors_alloc(&b), 0);
	assert_int_equal(embed_safetensors_load(FIX "f16/model.safetensors", h), 0);
	assert_int_equal(embed_safetensors_load(FIX "bf16/model.safetensors", b), 0);
	assert_int_equal(h->n, t->n);
	assert_int_equal(b->n, t->n);
	for (i = 0; i < t->n; i++) {
		x = &t->v[i];
		y = embed_tensors_find(h, x->name);
		z = embed_tensors_find(b, x->name);
		assert_non_null(y);
		assert_non_null(z);
		assert_int_equal(y->src_dtype, EMBED_DT_F16);
		assert_int_equal(z->src_dtype, EMBED_DT_BF16);
		for (n = 0; n < (size_t)embed_tensor_numel(x); n++) {
			float v = x->data[n];

			/* half: 11-bit significand; bfloat16: 8-bit */
			assert_true(fabsf(y->data[n] - v) <= fabsf(v) * (1.0f / 2048) + 1e-7f);
			assert_true(fabsf(z->data[n] - v) <= fabsf(v) * (1.0f / 256) + 1e-30f);
		}
	}
	embed_tensors_free(&t);
	embed_tensors_free(&h);
	embed_tensors_free(&b);
}

/* Exact conversions of known bit patterns, metadata, skipped integers. */
static void
test_dtypes(void **state)
{
	/* F16: 1.0, -2.0, 65504, smallest subnormal; BF16: 1.0, -0.5;
	 * F64: 0.1; I64: 7 (skipped); an empty F32 tensor */
	const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
		"\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
		"\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
		"\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[12,20]},"
		"\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[20,28]},"
		"\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[28,28]}}";
	uint16_t hv[4] = { 0x3c00, 0xc000, 0x7bff, 0x0001 }, bv[2] = { 0x3f80, 0xbf00 };
	double dv = 0.1;
	int64_t iv = 7;
	unsigned char buf[1024];
	size_t hl = strlen(hdr), off = 0;
	uint64_t h64 = hl;
	embed_tensors *t = NULL;
	const embed_tensor *x;

	(void)state;
	memcpy(buf, &h64, 8);
	memcpy(buf + 8, hdr, hl);
	off = 8 + hl;
	memcpy(buf + off, hv, 8);
	memcpy(buf + off + 8, bv, 4);
	memcpy(buf + off + 12, &dv, 8);
	memcpy(buf + off + 20, &iv, 8);
	assert_int_equal(embed_tensors_alloc(&t), 0);
	assert_int_equal(embed_safetensors_parse("mem.safetensors", buf, off + 28, t), 0);
	assert_int_equal(t->n, 4); /* the I64 tensor is skipped */
	assert_null(embed_tensors_find(t, "i"));
	x = embed_tensors_find(t, "h");
	assert_int_equal(x->ndim, 2);
	assert_true(x->data[0] == 1.0f);
	assert_true(x->data[1] == -2.0f);
	assert_true(x->data[2] == 65504.0f);
	assert_true(x->data[3] == ldexpf(1.0f, -24));
	x = embed_tensors_find(t, "b");
	assert_true(x->data[0] == 1.0f);
	assert_true(x->data[1] == -0.5f);
	x = embed_tensors_find(t, "d");
	assert_int_equal(x->ndim, 0);
	assert_true(x->data[0] == 0.1f);
	x = embed_tensors_find(t, "e");
	assert_int_equal(embed_tensor_numel(x), 0);
	embed_tensors_free(&t);
}

static void
test_bad_files(void **state)
{
	char *p;
	const char *ok2 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

	(void)state;
	/* fewer than 8 bytes */
	p = vv_path_join(tu_tmp, "short.safetensors");
	assert_int_equal(vv_write_file_atomic(p, "abc", 3), 0);
	expect_error(p, VV_EFORMAT, "truncated");
	free(p);
	/* header length beyond the file */
	p = craft("hlen_big.safetensors", 4096, ok2, 8);
	expect_error(p, VV_EFORMAT, "exceeds the file size");
	free(p);
	/* header length over 100 MB */
	p = craft("hlen_huge.safetensors", 9000000000000000000ull, ok2, 8);
	expect_error(p, VV_EFORMAT, "100 MB");
	free(p);
	/* header not JSON */
	p = craft("notjson.safetensors", UINT64_MAX, "{\"a\": [1, 2", 0);
	expect_error(p, VV_EFORMAT, "JSON");
	free(p);
	/* JSON but not an object */
	p = craft("array.safetensors", UINT64_MAX, "[1, 2]", 0);
	expect_error(p, VV_EFORMAT, "'{'");
	free(p);
	/* invalid UTF-8 in a name */
	p = craft("utf8.safetensors", UINT64_MAX,
		  "{\"\xff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EFORMAT, "UTF-8");
	free(p);
	/* overlapping offsets */
	p = craft("overlap.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
	expect_error(p, VV_EFORMAT, "overlaps");
	free(p);
	/* hole between tensors */
	p = craft("hole.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20);
	expect_error(p, VV_EFORMAT, "hole");
	free(p);
	/* data not starting at 0 */
	p = craft("start.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
	expect_error(p, VV_EFORMAT, "hole");
	free(p);
	/* end - begin != numel * size */
	p = craft("nbytes.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EFORMAT, "shape needs 12");
	free(p);
	/* end before begin */
	p = craft("reversed.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8);
	expect_error(p, VV_EFORMAT, "end before begin");
	free(p);
	/* file longer than declared */
	p = craft("long.safetensors", UINT64_MAX, ok2, 9);
	expect_error(p, VV_EFORMAT, "longer than declared");
	free(p);
	/* file shorter than declared */
	p = craft("cut.safetensors", UINT64_MAX, ok2, 7);
	expect_error(p, VV_EFORMAT, "truncated");
	free(p);
	/* unknown dtype */
	p = craft("dtype.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EUNSUPPORTED, "unknown dtype");
	free(p);
	/* shape whose element count overflows 64 bits */
	p = craft("overflow.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
		  "\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EFORMAT, "overflows");
	free(p);
	/* byte count overflowing after the element size */
	p = craft("overflow2.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,1073741824],"
		  "\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EFORMAT, "overflows");
	free(p);
	/* negative / fractional / huge shape entries, bad offsets */
	p = craft("negshape.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EFORMAT, "shape entry 0");
	free(p);
	p = craft("fracshape.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EFORMAT, "shape entry 0");
	free(p);
	p = craft("offsets.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 8);
	expect_error(p, VV_EFORMAT, "data_offsets");
	free(p);
	p = craft("offstr.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0-8\"}}", 8);
	expect_error(p, VV_EFORMAT, "data_offsets");
	free(p);
	/* entry not an object; missing dtype */
	p = craft("entry.safetensors", UINT64_MAX, "{\"a\":3}", 0);
	expect_error(p, VV_EFORMAT, "not an object");
	free(p);
	p = craft("nodtype.safetensors", UINT64_MAX,
		  "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EFORMAT, "dtype");
	free(p);
	/* too many dimensions */
	p = craft("ndim.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EUNSUPPORTED, "dimensions");
	free(p);
	/* duplicate tensor name */
	p = craft("dup.safetensors", UINT64_MAX,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
	expect_error(p, VV_EFORMAT, "twice");
	free(p);
	/* __metadata__ with a non-string value */
	p = craft("meta.safetensors", UINT64_MAX,
		  "{\"__metadata__\":{\"format\":1},"
		  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
	expect_error(p, VV_EFORMAT, "__metadata__");
	free(p);
	/* missing file */
	p = vv_path_join(tu_tmp, "absent.safetensors");
	expect_error(p, VV_ENOTFOUND, "cannot open");
	free(p);
}

/* Many zero-size tensors: bounded work, a cap on the count. */
static void
test_many_tensors(void **state)
{
	size_t cap = 64 * (EMBED_ST_MAX_TENSORS + 2), o, i;
	char *hdr = malloc(cap), *p;
	embed_tensors *t = NULL;

	(void)state;
	for (int extra = 0; extra < 2; extra++) {
		o = (size_t)sprintf(hdr, "{");
		for (i = 0; i < EMBED_ST_MAX_TENSORS + (size_t)extra; i++)
			o += (size_t)sprintf(hdr + o, "%s\"t%zu\":{\"dtype\":\"F32\",\"shape\":[0],"
					     "\"data_offsets\":[0,0]}", i ? "," : "", i);
		sprintf(hdr + o, "}");
		p = craft(extra ? "many2.safetensors" : "many.safetensors", UINT64_MAX, hdr, 0);
		assert_int_equal(embed_tensors_alloc(&t), 0);
		if (!extra) {
			assert_int_equal(embed_safetensors_load(p, t), 0);
			assert_int_equal(t->n, EMBED_ST_MAX_TENSORS);
		} else {
			assert_int_equal(embed_safetensors_load(p, t), VV_EUNSUPPORTED);
			assert_non_null(strstr(vv_errmsg(), "many2.safetensors"));
		}
		embed_tensors_free(&t);
		free(p);
	}
	free(hdr);
}

/* Random byte corruption of a real file: never a crash, 0 or a VV_E* code. */
static void
test_corruption_never_crashes(void **state)
{
	char *buf, *copy;
	size_t len, i;
	uint64_t r = 0x243f6a8885a308d3ull;
	int k, fails = 0;

	(void)state;
	assert_int_equal(vv_read_file(FIX "f16/model.safetensors", 1 << 22, &buf, &len), 0);
	copy = malloc(len);
	for (k = 0; k < 400; k++) {
		embed_tensors *t = NULL;
		size_t cut = len;
		int err, nflip = 1 + k % 4;

		memcpy(copy, buf, len);
		for (i = 0; i < (size_t)nflip; i++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			/* mostly the header, where the structure is */
			copy[(k & 1) ? r % len : r % 2600] ^= (char)(1 + (r >> 40) % 255);
		}
		if (k % 10 == 9)
			cut = (size_t)(r >> 20) % len;
		assert_int_equal(embed_tensors_alloc(&t), 0);
		err = embed_safetensors_parse("fuzz.safetensors", (unsigned char *)copy, cut, t);
		assert_true(err == 0 || (err < 0 && err >= VV_EMISMATCH));
		if (err) {
			assert_non_null(strstr(vv_errmsg(), "fuzz.safetensors"));
			fails++;
		}
		embed_tensors_free(&t);
	}
	assert_true(fails > 50); /* the corruption was detected often */
	free(copy);
	free(buf);
}

/* Sharded sets: the fixture equals the single file; bad indexes fail. */
static void
test_sharded(void **state)
{
	embed_tensors *a = NULL, *b = NULL, *t = NULL;
	char **files = NULL;
	size_t n = 0, i;
	char *p, *idx;
	int err;

	(void)state;
	assert_int_equal(embed_safetensors_index_files(FIX "sharded/model.safetensors.index.json",
						       &files, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(files[0], FIX "sharded/model-00001-of-00003.safetensors");
	vv_strv_free(&files, n);
	assert_int_equal(embed_tensors_alloc(&a), 0);
	assert_int_equal(embed_tensors_alloc(&b), 0);
	assert_int_equal(embed_safetensors_load_sharded(FIX "sharded/model.safetensors.index.json", a), 0);
	assert_int_equal(embed_safetensors_load(FIX "f32/model.safetensors", b), 0);
	assert_int_equal(a->n, b->n);
	for (i = 0; i < b->n; i++) {
		const embed_tensor *x = embed_tensors_find(a, b->v[i].name);

		assert_non_null(x);
		assert_memory_equal(x->data, b->v[i].data,
				    (size_t)embed_tensor_numel(x) * sizeof(float));
	}
	embed_tensors_free(&a);

	/* two shards written here: s1 {x, y}, s2 {z} */
	{
		embed_tensors *s1 = NULL, *s2 = NULL;
		int64_t sh[1] = { 2 };
		float *d;

		assert_int_equal(embed_tensors_alloc(&s1), 0);
		assert_int_equal(embed_tensors_alloc(&s2), 0);
		d = calloc(2, sizeof(float));
		assert_int_equal(embed_tensors_add(s1, "x", 1, sh, EMBED_DT_F32, d), 0);
		d = calloc(2, sizeof(float));
		assert_int_equal(embed_tensors_add(s1, "y", 1, sh, EMBED_DT_F32, d), 0);
		d = calloc(2, sizeof(float));
		assert_int_equal(embed_tensors_add(s2, "z", 1, sh, EMBED_DT_F32, d), 0);
		d = calloc(2, sizeof(float));
		assert_int_equal(embed_tensors_add(s2, "y", 1, sh, EMBED_DT_F32, d), 0);
		p = vv_path_join(tu_tmp, "s1.safetensors");
		assert_int_equal(embed_safetensors_save(p, s1, "{\"format\":\"pt\"}"), 0);
		free(p);
		p = vv_path_join(tu_tmp, "s2.safetensors");
		assert_int_equal(embed_safetensors_save(p, s2, NULL), 0);
		free(p);
		embed_tensors_free(&s1);
		embed_tensors_free(&s2);
	}
	idx = vv_path_join(tu_tmp, "model.safetensors.index.json");
#define INDEX(json) assert_int_equal(vv_write_file_atomic(idx, json, strlen(json)), 0)
#define LOAD() (embed_tensors_alloc(&t), err = embed_safetensors_load_sharded(idx, t), \
		embed_tensors_free(&t), err)
	/* y is in both shards */
	INDEX("{\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s1.safetensors\",\"z\":\"s2.safetensors\"}}");
	assert_int_equal(LOAD(), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "tensor y is also in"));
	/* a shard the index names is missing */
	INDEX("{\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s1.safetensors\",\"q\":\"gone.safetensors\"}}");
	assert_int_equal(LOAD(), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "gone.safetensors"));
	/* a tensor mapped to a file that lacks it */
	INDEX("{\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s1.safetensors\",\"w\":\"s1.safetensors\"}}");
	assert_int_equal(LOAD(), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "tensor w"));
	/* a file name escaping the folder, no weight_map */
	INDEX("{\"weight_map\":{\"x\":\"../s1.safetensors\"}}");
	assert_int_equal(LOAD(), VV_EFORMAT);
	INDEX("{\"metadata\":{}}");
	assert_int_equal(LOAD(), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "weight_map"));
	INDEX("{\"weight_map\": ");
	assert_int_equal(LOAD(), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "model.safetensors.index.json"));
#undef INDEX
#undef LOAD
	free(idx);
	embed_tensors_free(&b);
}

/* embed_safetensors_save round-trips through the reader. */
static void
test_save_roundtrip(void **state)
{
	embed_tensors *a = NULL, *b = NULL;
	char *p = vv_path_join(tu_tmp, "rt.safetensors");
	size_t i;

	(void)state;
	assert_int_equal(embed_tensors_alloc(&a), 0);
	assert_int_equal(embed_tensors_alloc(&b), 0);
	assert_int_equal(embed_safetensors_load(FIX "bf16/model.safetensors", a), 0);
	assert_int_equal(embed_safetensors_save(p, a, NULL), 0);
	assert_int_equal(embed_safetensors_load(p, b), 0);
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_string_equal(a->v[i].name, b->v[i].name);
		assert_int_equal(b->v[i].src_dtype, EMBED_DT_F32);
		assert_memory_equal(a->v[i].data, b->v[i].data,
				    (size_t)embed_tensor_numel(&a->v[i]) * sizeof(float));
	}
	embed_tensors_free(&a);
	embed_tensors_free(&b);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_loads),
		cmocka_unit_test(test_dtypes),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_many_tensors),
		cmocka_unit_test(test_corruption_never_crashes),
		cmocka_unit_test(test_sharded),
		cmocka_unit_test(test_save_roundtrip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
