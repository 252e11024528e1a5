/*
 * test_csv.c - every CSV a run writes is RFC 4180 as Python's csv module
 * writes it: CRLF after every record (no bare LF outside quotes), the same
 * number of fields in every record, quotes only around fields that need
 * them, and it reads back with vitviz's reader.  Where python3 is present
 * its csv module (and pandas, if installed) must read the same rows back;
 * otherwise that part is reported as skipped.
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
#include "common/vv_fs.h"
#include "tests/test_util.h"

/* every *.csv the run and the reports wrote into the work folder */
#define MAX_CSVS 32
static char *csvs[MAX_CSVS];
static size_t ncsvs;

/* The names of the CSV files in `dir`, sorted. */
static int
list_csvs(const char *dir)
{
	char **names = NULL;
	size_t n = 0, i;

	if (vv_list_dir(dir, &names, &n))
		return -1;
	for (i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (len > 4 && !strcmp(names[i] + len - 4, ".csv") && ncsvs < MAX_CSVS)
			csvs[ncsvs++] = strdup(names[i]);
	}
	vv_strv_free(&names, n);
	return ncsvs >= 6 ? 0 : -1;
}

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_csv") || tu_demo_subset("run", 2))
		return -1;
	if (tu_run("--quiet run %s --data %s -o %s --work %s --limit 40", tu_path("run"),
		   TU_DEMO_DATA, tu_path("out.mp4"), tu_path("work")))
		return -1;
	if (tu_run("--quiet report %s --top 8 -o %s/report.csv", tu_path("work"), tu_path("work")) ||
	    tu_run("--quiet report %s --by label-issue -o %s/report-label-issue.csv", tu_path("work"),
		   tu_path("work")))
		return -1;
	return list_csvs(tu_path("work"));
}

static int
teardown(void **state)
{
	(void)state;
	while (ncsvs)
		free(csvs[--ncsvs]);
	return tu_teardown();
}

/*
 * Walk `text` as RFC 4180: records end with CRLF, LF alone only inside
 * quotes; return the number of records, every one with `*ncols` fields.
 */
static int
check_rfc4180(const char *name, const char *text, size_t len, int *ncols)
{
	size_t i = 0;
	int records = 0, cols = 1, inq = 0;

	*ncols = -1;
	while (i < len) {
		char ch = text[i];

		if (inq) {
			if (ch == '"' && i + 1 < len && text[i + 1] == '"')
				i++;
			else if (ch == '"')
				inq = 0;
		} else if (ch == '"') {
			if (i > 0 && text[i - 1] != ',' && text[i - 1] != '\n')
				fail_msg("%s: quote inside an unquoted field at byte %zu", name, i);
			inq = 1;
		} else if (ch == ',') {
			cols++;
		} else if (ch == '\r') {
			if (i + 1 >= len || text[i + 1] != '\n')
				fail_msg("%s: CR without LF at byte %zu", name, i);
		} else if (ch == '\n') {
			if (i == 0 || text[i - 1] != '\r')
				fail_msg("%s: bare LF at byte %zu (record %d)", name, i, records + 1);
			if (*ncols < 0)
				*ncols = cols;
			else if (cols != *ncols)
				fail_msg("%s: record %d has %d fields, the header %d", name, records + 1,
					 cols, *ncols);
			records++;
			cols = 1;
		}
		i++;
	}
	if (inq)
		fail_msg("%s: unterminated quote", name);
	if (len && text[len - 1] != '\n')
		fail_msg("%s: last record not ended by CRLF", name);
	return records;
}

static void
test_outputs_are_rfc4180(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ncsvs; i++) {
		char *p = vv_path_join(tu_path("work"), csvs[i]), *text = NULL;
		vv_csv *c = NULL;
		size_t len;
		int records, ncols;

		assert_int_equal(vv_read_file(p, 1 << 26, &text, &len), 0);
		records = check_rfc4180(csvs[i], text, len, &ncols);
		assert_true(records >= 2);
		assert_int_equal(vv_csv_read(p, 1 << 26, &c), 0);
		assert_int_equal((int)c->nrows, records - 1);
		assert_int_equal((int)c->ncols, ncols);
		print_message("%-13s %5d records x %2d fields, CRLF\n", csvs[i], records, ncols);
		vv_csv_free(&c);
		free(text);
		free(p);
	}
}

/* Python's csv module (and pandas when installed) reads the same shape. */
static void
test_python_reads_back(void **state)
{
	size_t i;

	(void)state;
	if (tu_sh("command -v python3 >/dev/null 2>&1"))
		skip(); /* no python3 on this machine: nothing to compare with */
	for (i = 0; i < ncsvs; i++) {
		char *p = vv_path_join(tu_path("work"), csvs[i]);
		vv_csv *c = NULL;

		assert_int_equal(vv_csv_read(p, 1 << 26, &c), 0);
		/* csv.reader with newline='' as Python's documentation asks:
		 * the row count and a width check; a stray CR would show up
		 * as an extra field or a value ending in '\r' */
		assert_int_equal(tu_sh("python3 -c 'import csv,sys\n"
				       "rows=list(csv.reader(open(sys.argv[1],newline=\"\",encoding=\"utf-8\")))\n"
				       "assert len(rows)==%zu+1,len(rows)\n"
				       "assert all(len(r)==%zu for r in rows)\n"
				       "assert not any(v.endswith(\"\\r\") for r in rows for v in r)\n"
				       "try:\n import pandas\nexcept ImportError:\n sys.exit(0)\n"
				       "d=pandas.read_csv(sys.argv[1],dtype=str,keep_default_na=False)\n"
				       "assert d.shape==(%zu,%zu),d.shape\n' %s",
				       c->nrows, c->ncols, c->nrows, c->ncols, p), 0);
		vv_csv_free(&c);
		free(p);
	}
}

/* checkpoints.csv lists the .npy files in step order, and they exist. */
static void
test_checkpoints_csv(void **state)
{
	char *p = vv_path_join(tu_path("work"), "checkpoints.csv");
	vv_csv *c = NULL;
	long long prev = -1;
	size_t i;

	(void)state;
	assert_int_equal(vv_csv_read(p, 1 << 20, &c), 0);
	assert_int_equal((int)c->nrows, 2);
	for (i = 0; i < c->nrows; i++) {
		long long step = atoll(c->rows[i][vv_csv_col(c, "step")]);
		char *emb = vv_path_join(tu_path("work"), c->rows[i][vv_csv_col(c, "embeddings")]);
		char *lg = vv_path_join(tu_path("work"), c->rows[i][vv_csv_col(c, "logits")]);

		assert_int_equal(atoll(c->rows[i][vv_csv_col(c, "order")]), (long long)i);
		assert_true(step > prev);
		prev = step;
		assert_true(tu_exists(emb));
		assert_true(tu_exists(lg));
		free(emb);
		free(lg);
	}
	vv_csv_free(&c);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outputs_are_rfc4180),
		cmocka_unit_test(test_python_reads_back),
		cmocka_unit_test(test_checkpoints_csv),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
