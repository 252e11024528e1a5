/*
 * test_labels.c - data set classes matched with a classifier's outputs by
 * name (embed/embed_labels.h), and end to end: the demo with its class
 * folders renamed to Chinese numerals gives the predictions of the
 * English-named run once a label map says which is which, and is refused
 * without one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "embed/embed_labels.h"
#include "test_util.h"

static const char *const cjk[10] = { "零", "一", "二", "三", "四", "五", "六", "七", "八", "九" };

static int
setup(void **state)
{
	(void)state;
	return tu_setup("labels");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static void
test_normalize(void **state)
{
	char out[64];

	(void)state;
	embed_labels_normalize("  Golden \t Retriever\n", out, sizeof(out));
	assert_string_equal(out, "golden retriever");
	embed_labels_normalize("零", out, sizeof(out));
	assert_string_equal(out, "零");
	embed_labels_normalize("", out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_by_name(void **state)
{
	const char *data[3] = { "Dog", " cat", "bird " }; /* folder order */
	const char *model[3] = { "cat", "dog", "Bird" };  /* id2label order */
	int col[3], mode;

	(void)state;
	assert_int_equal(embed_labels_match(data, 3, "data", model, 3, "model", NULL, col, &mode), 0);
	assert_int_equal(mode, EMBED_LABELS_BY_NAME);
	assert_int_equal(col[0], 1);
	assert_int_equal(col[1], 0);
	assert_int_equal(col[2], 2);

	/* a subset of a larger head: columns selected by name */
	{
		const char *big[5] = { "fish", "bird", "cat", "dog", "cow" };

		assert_int_equal(embed_labels_match(data, 3, "data", big, 5, "model", NULL, col, &mode), 0);
		assert_int_equal(mode, EMBED_LABELS_BY_NAME);
		assert_int_equal(col[0], 3);
		assert_int_equal(col[1], 2);
		assert_int_equal(col[2], 1);
	}
}

static void
test_mismatch_refused(void **state)
{
	const char *model[10] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" };
	int col[10], mode = -1;
	embed_label_opts idx = { NULL, 1 };

	(void)state;
	assert_int_equal(embed_labels_match((const char *const *)cjk, 10, "DATA", model, 10, "ckpt: id2label",
					    NULL, col, &mode),
			 VV_EMISMATCH);
	assert_int_equal(vv_exit_code(VV_EMISMATCH), VV_EXIT_INPUT);
	/* one line naming both sides and the two ways out */
	assert_non_null(strstr(vv_errmsg(), "\"零\""));
	assert_non_null(strstr(vv_errmsg(), "\"9\""));
	assert_non_null(strstr(vv_errmsg(), "--label-map"));
	assert_non_null(strstr(vv_errmsg(), "--labels-by-index"));
	assert_null(strchr(vv_errmsg(), '\n'));

	/* by index when asked */
	assert_int_equal(embed_labels_match((const char *const *)cjk, 10, "DATA", model, 10, "m", &idx, col, &mode), 0);
	assert_int_equal(mode, EMBED_LABELS_BY_INDEX);
	assert_int_equal(col[7], 7);
	/* ... but not with other counts */
	assert_int_equal(embed_labels_match((const char *const *)cjk, 9, "DATA", model, 10, "m", &idx, col, &mode),
			 VV_EMISMATCH);
	/* some names matching, others not: refused too (a typo, not another label space) */
	{
		const char *data[2] = { "cat", "dgo" }, *m3[3] = { "cat", "dog", "cow" };

		assert_int_equal(embed_labels_match(data, 2, "d", m3, 3, "m", NULL, col, &mode), VV_EMISMATCH);
	}
}

static void
test_generic_and_other_space(void **state)
{
	const char *generic[3] = { "LABEL_0", "LABEL_1", "LABEL_2" };
	const char *data[3] = { "a", "b", "c" };
	const char *imagenet[4] = { "tench", "goldfish", "shark", "hen" };
	int col[3], mode = -1;

	(void)state;
	/* no names in the model: by index (with a warning) */
	assert_int_equal(embed_labels_match(data, 3, "d", generic, 3, "m", NULL, col, &mode), 0);
	assert_int_equal(mode, EMBED_LABELS_BY_INDEX);
	assert_int_equal(col[2], 2);
	/* another label space of another size: not compared */
	assert_int_equal(embed_labels_match(data, 3, "d", imagenet, 4, "m", NULL, col, &mode), 0);
	assert_int_equal(mode, EMBED_LABELS_NONE);
}

static void
test_map_file(void **state)
{
	const char *model[3] = { "cat", "dog", "bird" };
	const char *data[3] = { "猫", "狗", "鸟" };
	embed_label_opts o = { tu_path("map.csv"), 0 };
	int col[3], mode;
	char key[48], key2[48];

	(void)state;
	assert_int_equal(tu_sh("printf 'data_class,model_class\\n狗,Dog\\n猫, cat\\n鸟,bird\\n' > %s", o.map_path), 0);
	assert_int_equal(embed_labels_match(data, 3, "d", model, 3, "m", &o, col, &mode), 0);
	assert_int_equal(mode, EMBED_LABELS_BY_MAP);
	assert_int_equal(col[0], 0);
	assert_int_equal(col[1], 1);
	assert_int_equal(col[2], 2);
	assert_int_equal(embed_labels_opts_key(&o, key), 0);
	assert_true(!strncmp(key, "map:", 4));

	/* a class without a row, a name the model lacks, two classes on one output */
	assert_int_equal(tu_sh("printf 'data_class,model_class\\n狗,dog\\n猫,cat\\n' > %s", o.map_path), 0);
	assert_int_equal(embed_labels_match(data, 3, "d", model, 3, "m", &o, col, &mode), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "鸟"));
	assert_int_equal(embed_labels_opts_key(&o, key2), 0);
	assert_string_not_equal(key, key2);
	assert_int_equal(tu_sh("printf 'data_class,model_class\\n狗,dog\\n猫,cat\\n鸟,fish\\n' > %s", o.map_path), 0);
	assert_int_equal(embed_labels_match(data, 3, "d", model, 3, "m", &o, col, &mode), VV_EMISMATCH);
	assert_non_null(strstr(vv_errmsg(), "fish"));
	assert_int_equal(tu_sh("printf 'data_class,model_class\\n狗,dog\\n猫,dog\\n鸟,bird\\n' > %s", o.map_path), 0);
	assert_int_equal(embed_labels_match(data, 3, "d", model, 3, "m", &o, col, &mode), VV_EMISMATCH);
	assert_int_equal(tu_sh("printf 'a,b\\n狗,dog\\n' > %s", o.map_path), 0);
	assert_int_equal(embed_labels_match(data, 3, "d", model, 3, "m", &o, col, &mode), VV_EFORMAT);
	o.map_path = tu_path("missing.csv");
	assert_int_not_equal(embed_labels_match(data, 3, "d", model, 3, "m", &o, col, &mode), 0);
}

/* Per image file name: "predicted_name-as-digit,misclassified,label_quality" of the last checkpoint. */
static char **
last_rows(const char *work, int cjk_names, size_t *n, double *misrate)
{
	char path[512];
	vv_csv *c = NULL;
	char **out;
	size_t k = 0, mis = 0;
	int ck, pa, pn, mi, lq;

	snprintf(path, sizeof(path), "%s/outliers.csv", work);
	assert_int_equal(vv_csv_read(path, 1 << 24, &c), 0);
	ck = vv_csv_col(c, "checkpoint");
	pa = vv_csv_col(c, "path");
	pn = vv_csv_col(c, "predicted_name");
	mi = vv_csv_col(c, "misclassified");
	lq = vv_csv_col(c, "label_quality");
	assert_true(ck >= 0 && pa >= 0 && pn >= 0 && mi >= 0 && lq >= 0);
	out = calloc(c->nrows, sizeof(char *));
	assert_non_null(out);
	for (size_t r = 0; r < c->nrows; r++) {
		const char *file = strchr(c->rows[r][pa], '/');
		char buf[256];

		mis += c->rows[r][mi][0] == '1';
		if (strcmp(c->rows[r][ck], "checkpoint-450"))
			continue;
		(void)cjk_names;
		snprintf(buf, sizeof(buf), "%s %s %s %s", file ? file + 1 : "?", c->rows[r][pn], c->rows[r][mi],
			 c->rows[r][lq]);
		out[k++] = strdup(buf);
	}
	*misrate = (double)mis / (double)c->nrows;
	*n = k;
	vv_csv_free(&c);
	return out;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_renamed_folders(void **state)
{
	size_t ne, nc;
	double me, mc;
	char **en, **cj;

	(void)state;
	assert_int_equal(tu_demo_subset("run", 2), 0);
	assert_int_equal(tu_sh("mkdir -p %s %s", tu_path("en"), tu_path("zh")), 0);
	assert_int_equal(tu_sh("printf 'data_class,model_class\\n' > %s", tu_path("map.csv")), 0);
	for (int i = 0; i < 10; i++) {
		/* the first 8 images of each class, under its digit and under its numeral */
		assert_int_equal(tu_sh("mkdir -p %s/%d '%s/%s' && for f in $(ls %s/%d | head -8); do "
				       "cp %s/%d/$f %s/%d/ && cp %s/%d/$f '%s/%s/'; done",
				       tu_path("en"), i, tu_path("zh"), cjk[i], TU_DEMO_DATA, i, TU_DEMO_DATA, i,
				       tu_path("en"), i, TU_DEMO_DATA, i, tu_path("zh"), cjk[i]),
				 0);
		/* names with other spacing and case still match */
		assert_int_equal(tu_sh("printf ' %s ,%d\\n' >> %s", cjk[i], i, tu_path("map.csv")), 0);
	}
	/* refused without a map: exit 3, one line with both sides, nothing embedded */
	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s", tu_path("run"), tu_path("zh"), tu_path("wz")), 3);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "\"零\""));
	assert_non_null(strstr(tu_err(), "\"0\""));
	assert_false(tu_exists(tu_path("wz/embeddings/checkpoint-15.npy")));

	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s", tu_path("run"), tu_path("en"), tu_path("we")), 0);
	assert_int_equal(tu_run("--quiet analyze %s", tu_path("we")), 0);
	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s --label-map %s", tu_path("run"), tu_path("zh"),
				tu_path("wz"), tu_path("map.csv")),
			 0);
	assert_int_equal(tu_run("--quiet analyze %s", tu_path("wz")), 0);

	en = last_rows(tu_path("we"), 0, &ne, &me);
	cj = last_rows(tu_path("wz"), 1, &nc, &mc);
	assert_int_equal(ne, 80);
	assert_int_equal(nc, 80);
	/* misclassified rate over every checkpoint identical; per image the
	 * model's predicted class name, misclassified flag and label quality */
	assert_true(me == mc);
	assert_true(me > 0 && me < 1);
	qsort(en, ne, sizeof(char *), cmp_str);
	qsort(cj, nc, sizeof(char *), cmp_str);
	for (size_t i = 0; i < ne; i++)
		assert_string_equal(en[i], cj[i]);
	for (size_t i = 0; i < ne; i++) {
		free(en[i]);
		free(cj[i]);
	}
	free(en);
	free(cj);

	/* the legend follows the model's order: 零 (model class 0) first */
	assert_int_equal(tu_sh("grep -q '\"class_order\":.\\[9,' %s/manifest.json", tu_path("wz")), 0);
	assert_int_equal(tu_run("--quiet frame %s -o %s", tu_path("wz"), tu_path("zh.png")), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_mismatch_refused),
		cmocka_unit_test(test_generic_and_other_space),
		cmocka_unit_test(test_map_file),
		cmocka_unit_test(test_renamed_folders),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
