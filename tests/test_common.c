/* test_common.c - .npy, CSV, JSON and atomic-output helpers. */
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

#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_npy.h"
#include "tests/test_util.h"

static int
setup(void **state)
{
	(void)state;
	return tu_setup("test_common");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static void
test_npy_roundtrip(void **state)
{
	float v[6] = { 1, -2, 3.5f, NAN, 1e30f, 0 };
	int64_t shape[2] = { 2, 3 };
	vv_array *a = NULL;
	char *p = vv_path_join(tu_tmp, "a.npy");
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(vv_npy_write(p, VV_F32, v, 2, shape), 0);
	assert_int_equal(vv_read_file(p, 1 << 20, &buf, &len), 0);
	/* header padded to a multiple of 64 as NumPy requires */
	assert_int_equal((len - 24) % 64, 0);
	assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
	assert_non_null(strstr(buf + 10, "'shape': (2, 3)"));
	free(buf);
	assert_int_equal(vv_npy_read(p, &a), 0);
	assert_int_equal(a->ndim, 2);
	assert_int_equal(a->shape[0], 2);
	assert_int_equal(a->shape[1], 3);
	assert_memory_equal(a->data, v, sizeof(v));
	vv_array_free(&a);
	assert_null(a);
	free(p);
}

static void
test_npy_rejects_bad(void **state)
{
	vv_array *a = NULL;
	/* shape says 4 floats, only 2 present */
	char hdr[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
	unsigned char buf[256];
	size_t hl = 0x76;

	(void)state;
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, hdr, sizeof(hdr) - 1);
	buf[10 + hl - 1] = '\n';
	assert_int_equal(vv_npy_parse("x.npy", buf, 10 + hl + 8, &a), VV_EFORMAT);
	assert_null(a);
	assert_non_null(strstr(vv_errmsg(), "x.npy"));
	assert_int_equal(vv_npy_parse("x.npy", buf, 10 + hl + 16, &a), 0);
	assert_int_equal(a->shape[0], 4);
	vv_array_free(&a);
	assert_int_equal(vv_npy_parse("y.npy", (const unsigned char *)"garbage!!!!", 11, &a), VV_EFORMAT);
}

static void
test_json_python_tokens(void **state)
{
	const char *t = "{\"a\": NaN, \"b\": -Infinity, \"c\": Infinity, \"s\": \"NaN in a string\", \"n\": 2.5}";
	cJSON *j = vv_json_parse("t.json", t, strlen(t));
	double v;

	(void)state;
	assert_non_null(j);
	assert_int_equal(vv_json_number(cJSON_GetObjectItem(j, "a"), &v), 0);
	assert_true(isnan(v));
	assert_int_equal(vv_json_number(cJSON_GetObjectItem(j, "b"), &v), 0);
	assert_true(isinf(v) && v < 0);
	assert_int_equal(vv_json_number(cJSON_GetObjectItem(j, "c"), &v), 0);
	assert_true(isinf(v) && v > 0);
	assert_string_equal(vv_json_get_string(j, "s", ""), "NaN in a string");
	assert_int_not_equal(vv_json_number(cJSON_GetObjectItem(j, "s"), &v), 0);
	assert_true(vv_json_get_double(j, "n", 0) == 2.5);
	cJSON_Delete(j);
	assert_null(vv_json_parse("bad.json", "{\"a\": ", 6));
	assert_non_null(strstr(vv_errmsg(), "bad.json"));
}

/* Input that grows when rewritten, trailing junk and NUL bytes. */
static void
test_json_strict(void **state)
{
	char big[3 * 4000 + 3];
	cJSON *j;
	size_t n = 0;
	int i;
	double v;

	(void)state;
	/* an array of NaNs (each rewritten to an 11-byte token) parses */
	big[n++] = '[';
	for (i = 0; i < 1000; i++) {
		memcpy(big + n, "NaN,", 4);
		n += 4;
	}
	memcpy(big + n, "NaN]", 4);
	n += 4;
	j = vv_json_parse("nan.json", big, n);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(j), 1001);
	assert_int_equal(vv_json_number(cJSON_GetArrayItem(j, 1000), &v), 0);
	assert_true(isnan(v));
	cJSON_Delete(j);
	/* whitespace after the value is fine, anything else is not */
	j = vv_json_parse("ws.json", "{\"a\": 1}  \n", 11);
	assert_non_null(j);
	cJSON_Delete(j);
	assert_null(vv_json_parse("junk.json", "{\"a\": 1} x", 10));
	assert_non_null(strstr(vv_errmsg(), "junk.json"));
	assert_null(vv_json_parse("two.json", "{} {}", 5));
	assert_null(vv_json_parse("nul.json", "{}\0 ", 4));
	assert_non_null(strstr(vv_errmsg(), "nul.json"));
	/* a run of NaNs grows 11/3 times: used to overflow the rewrite buffer */
	memset(big, 0, sizeof(big));
	for (n = 0; n + 3 <= sizeof(big) - 1; n += 3)
		memcpy(big + n, "NaN", 3);
	assert_null(vv_json_parse("nans.json", big, n));
	assert_non_null(strstr(vv_errmsg(), "nans.json"));
}

static void
test_csv_roundtrip(void **state)
{
	char *p = vv_path_join(tu_tmp, "t.csv");
	vv_outfile *f;
	vv_csv *c = NULL;

	(void)state;
	assert_int_equal(vv_outfile_open(&f, p), 0);
	fputs("a,b\n", f->fp);
	vv_csv_field(f->fp, "x,\"y\"\nz");
	fputc(',', f->fp);
	vv_csv_field(f->fp, "plain");
	fputc('\n', f->fp);
	assert_int_equal(vv_outfile_commit(&f), 0);
	assert_null(f);
	assert_int_equal(vv_csv_read(p, 1 << 20, &c), 0);
	assert_int_equal(c->nrows, 1);
	assert_int_equal(c->ncols, 2);
	assert_string_equal(c->rows[0][0], "x,\"y\"\nz");
	assert_string_equal(c->rows[0][1], "plain");
	assert_int_equal(vv_csv_col(c, "b"), 1);
	vv_csv_free(&c);
	assert_int_equal(vv_csv_parse("u.csv", "a\n\"open", 7, &c), VV_EFORMAT);
	assert_int_equal(vv_csv_parse("w.csv", "a\n1,2\n", 6, &c), VV_EFORMAT);
	free(p);
}

static void
test_outfile_abort_leaves_nothing(void **state)
{
	char *p = vv_path_join(tu_tmp, "never.txt");
	char **names;
	size_t n, i;
	vv_outfile *f;

	(void)state;
	assert_int_equal(vv_outfile_open(&f, p), 0);
	fputs("partial", f->fp);
	vv_outfile_abort(&f);
	assert_null(f);
	assert_false(vv_is_file(p));
	assert_int_equal(vv_list_dir(tu_tmp, &names, &n), 0);
	for (i = 0; i < n; i++)
		assert_null(strstr(names[i], "never"));
	vv_strv_free(&names, n);
	free(p);
	/* an unwritable destination is one clear error naming it */
	assert_int_equal(vv_outfile_open(&f, "/nonexistent-dir/x.npy"), VV_EIO);
	assert_non_null(strstr(vv_errmsg(), "/nonexistent-dir/x.npy"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_npy_roundtrip),
		cmocka_unit_test(test_npy_rejects_bad),
		cmocka_unit_test(test_json_python_tokens),
		cmocka_unit_test(test_json_strict),
		cmocka_unit_test(test_csv_roundtrip),
		cmocka_unit_test(test_outfile_abort_leaves_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
