/* test_loss.c - loss logs: trainer_state.json (NaN/Infinity), timm summary.csv, user CSV. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis_loss.h"
#include "analysis/analysis_out.h"
#include "common/vv_error.h"

#define FIX "tests/fixtures/analysis/"

static void
test_trainer_state(void **state)
{
	analysis_loss_log *l = NULL;
	const analysis_loss_point *p;

	(void)state;
	assert_int_equal(analysis_loss_load(FIX "trainer_state.json", NULL, &l), 0);
	assert_string_equal(l->kind, "trainer_state");
	/* steps 5, 10 (loss + eval merged), 15, 20, 30, 40 (eval only); the train_loss summary is no point */
	assert_int_equal(l->n, 6);
	assert_int_equal(l->pt[1].step, 10);
	assert_true(isnan(l->pt[1].loss) && (l->pt[1].has & ANALYSIS_LOSS_HAS_LOSS));
	assert_true(l->pt[1].eval_loss == 2.1 && l->pt[1].lr == 4.0e-05 && l->pt[1].epoch == 0.5);
	assert_true(isinf(l->pt[2].loss) && l->pt[2].loss > 0);
	assert_true(!(l->pt[5].has & ANALYSIS_LOSS_HAS_LOSS) && l->pt[5].eval_loss == 0.9);
	/* last training loss at or before a step */
	assert_null(analysis_loss_at(l, 4, ANALYSIS_LOSS_HAS_LOSS));
	assert_int_equal(analysis_loss_at(l, 5, ANALYSIS_LOSS_HAS_LOSS)->step, 5);
	assert_true(isnan(analysis_loss_at(l, 12, ANALYSIS_LOSS_HAS_LOSS)->loss));
	assert_true(analysis_loss_at(l, 25, ANALYSIS_LOSS_HAS_LOSS)->loss == 1.25);
	assert_true(analysis_loss_at(l, 40, ANALYSIS_LOSS_HAS_LOSS)->loss == 0.75);
	assert_true(analysis_loss_at(l, 1000, ANALYSIS_LOSS_HAS_LOSS)->loss == 0.75);
	assert_true(analysis_loss_at(l, 39, ANALYSIS_LOSS_HAS_EVAL)->eval_loss == 2.1);
	assert_true(analysis_loss_at(l, 40, ANALYSIS_LOSS_HAS_EVAL)->eval_loss == 0.9);
	assert_null(analysis_loss_at(l, -1, ANALYSIS_LOSS_HAS_LOSS));
	p = analysis_loss_find(l, 20);
	assert_true(p && p->loss == 1.25);
	assert_null(analysis_loss_find(l, 21));
	analysis_loss_free(&l);
	assert_null(l);
}

static void
test_timm_summary(void **state)
{
	analysis_loss_log *l = NULL;

	(void)state;
	assert_int_equal(analysis_loss_load(FIX "summary.csv", NULL, &l), 0);
	assert_string_equal(l->kind, "timm_summary");
	assert_int_equal(l->n, 3);
	assert_int_equal(l->pt[2].step, 2);
	assert_true(l->pt[2].epoch == 2 && l->pt[2].loss == 1.0 && l->pt[2].eval_loss == 1.5 && l->pt[2].lr == 0.00025);
	assert_true(analysis_loss_at(l, 1, ANALYSIS_LOSS_HAS_LOSS)->loss == 1.5);
	analysis_loss_free(&l);
}

static void
test_user_csv(void **state)
{
	analysis_loss_log *l = NULL;
	const char *txt = "\xEF\xBB\xBFstep,loss,eval_loss\r\n10,1.5,\r\n10,,1.25\r\n5,nan,\r\n";

	(void)state;
	assert_int_equal(analysis_loss_load(FIX "user_loss.csv", NULL, &l), 0);
	assert_string_equal(l->kind, "csv");
	/* rows 100, 300, 200 come back sorted */
	assert_int_equal(l->n, 3);
	assert_true(l->pt[0].step == 100 && l->pt[1].step == 200 && l->pt[2].step == 300);
	assert_true(l->pt[1].loss == 2.5 && !(l->pt[1].has & ANALYSIS_LOSS_HAS_EVAL));
	analysis_loss_free(&l);
	/* BOM, CRLF, rows at the same step merged, empty fields absent */
	assert_int_equal(analysis_loss_parse("mem.csv", "csv", txt, strlen(txt), &l), 0);
	assert_int_equal(l->n, 2);
	assert_true(isnan(l->pt[0].loss) && l->pt[0].step == 5);
	assert_true(l->pt[1].loss == 1.5 && l->pt[1].eval_loss == 1.25);
	analysis_loss_free(&l);
}

static void
test_write_loss_csv(void **state)
{
	analysis_loss_log *l = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	assert_int_equal(analysis_loss_load(FIX "trainer_state.json", "trainer_state", &l), 0);
	fp = open_memstream(&buf, &len);
	analysis_write_loss(fp, l);
	fclose(fp);
	assert_string_equal(buf, "step,epoch,loss,eval_loss,learning_rate\r\n"
				 "5,0.25,2.3,,4.5e-05\r\n"
				 "10,0.5,nan,2.1,4e-05\r\n"
				 "15,0.75,inf,,3.5e-05\r\n"
				 "20,1,1.25,,3e-05\r\n"
				 "30,1.5,0.75,,2e-05\r\n"
				 "40,2,,0.9,\r\n");
	free(buf);
	analysis_loss_free(&l);
}

static void
expect_error(const char *kind, const char *text, int code, const char *needle)
{
	analysis_loss_log *l = NULL;

	assert_int_equal(analysis_loss_parse("bad.log", kind, text, strlen(text), &l), code);
	assert_null(l);
	assert_non_null(strstr(vv_errmsg(), "bad.log"));
	if (needle && !strstr(vv_errmsg(), needle))
		fail_msg("message \"%s\" lacks \"%s\"", vv_errmsg(), needle);
}

static void
test_bad_input(void **state)
{
	analysis_loss_log *l = NULL;

	(void)state;
	expect_error(NULL, "{\"global_step\": 3}", VV_EFORMAT, "log_history");
	expect_error(NULL, "{\"log_history\": [{\"loss\": 1.0, \"step\": 1}, {\"loss\": \"x\", \"step\": 2}]}", VV_EFORMAT,
		     "log_history[1]");
	expect_error(NULL, "{\"log_history\": [{\"loss\": 1.0, \"step\": -4}]}", VV_EFORMAT, "step");
	expect_error(NULL, "{\"log_history\": [{\"loss\": 1.0, \"step\": 2.5}]}", VV_EFORMAT, "step");
	expect_error(NULL, "{\"log_history\": [{\"loss\": 1.0, \"st", VV_EFORMAT, NULL);
	expect_error(NULL, "step,loss\n1,0.5\n2,abc\n", VV_EFORMAT, "line 3");
	expect_error(NULL, "step,loss\n,0.5\n", VV_EFORMAT, "line 2");
	expect_error(NULL, "a,b\n1,2\n", VV_EFORMAT, "not a loss log");
	expect_error("timm_summary", "step,loss\n1,2\n", VV_EFORMAT, "train_loss");
	expect_error("yaml", "x", VV_EINVAL, NULL);
	assert_int_equal(analysis_loss_load(FIX "no-such-file.json", NULL, &l), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "no-such-file.json"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trainer_state),
		cmocka_unit_test(test_timm_summary),
		cmocka_unit_test(test_user_csv),
		cmocka_unit_test(test_write_loss_csv),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
