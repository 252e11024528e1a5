/*
 * test_embed_stage.c - the embedding stage's failure paths that a run
 * cannot provoke from outside: an allocation failing while a checkpoint's
 * outputs are written must fail the stage (VV_ENOMEM, exit status 1) and
 * record nothing of that checkpoint in manifest.json.
 *
 * This binary is linked with -Wl,--wrap=vv_work_path (see the Makefile), so
 * the stage's calls of vv_work_path() come here first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_work.h"
#include "cli/cli.h"
#include "embed/embed_stage.h"
#include "tests/test_util.h"

/* which work-folder path to refuse: "embeddings", "logits" or NULL */
static const char *fail_sub;

char *__real_vv_work_path(const char *workdir, const char *sub, const char *name,
			  const char *ext);

char *
__wrap_vv_work_path(const char *workdir, const char *sub, const char *name, const char *ext)
{
	if (fail_sub && sub && !strcmp(sub, fail_sub))
		return NULL; /* as vv_work_path does when malloc fails */
	return __real_vv_work_path(workdir, sub, name, ext);
}

static int
setup(void **state)
{
	(void)state;
	vv_verbosity = 0;
	return tu_setup("embed_stage");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* Embed the demo's first checkpoint (20 samples) into `work`. */
static int
embed_into(const char *work)
{
	embed_stage_opts o;
	char *run = vv_path_join(TU_DEMO_RUN, "checkpoint-15");
	int err;

	embed_stage_opts_default(&o);
	o.run = run;
	o.data = TU_DEMO_DATA;
	o.workdir = work;
	o.limit = 20;
	err = embed_stage_run(&o);
	free(run);
	return err;
}

/* 1 when work/manifest.json exists and names checkpoint-15. */
static int
manifest_lists(const char *work)
{
	char *p = vv_path_join(work, "manifest.json"), *text = NULL;
	size_t len;
	int found = 0;

	if (vv_is_file(p) && !vv_read_file(p, 1 << 24, &text, &len))
		found = strstr(text, "\"checkpoint-15\"") != NULL;
	free(text);
	free(p);
	return found;
}

static void
test_alloc_failure_records_nothing(void **state)
{
	static const char *const subs[] = { "embeddings", "logits" };
	const char *work;
	int i, err;

	(void)state;
	for (i = 0; i < 2; i++) {
		work = tu_path(subs[i]);
		fail_sub = subs[i];
		err = embed_into(work);
		fail_sub = NULL;
		print_message("failing %s path: %s\n", subs[i], vv_errmsg());
		assert_int_equal(err, VV_ENOMEM);
		assert_int_equal(vv_exit_code(err), 1);
		assert_non_null(strstr(vv_errmsg(), "out of memory"));
		assert_false(manifest_lists(work));
		/* a rerun without the fault completes and records it */
		assert_int_equal(embed_into(work), 0);
		assert_true(manifest_lists(work));
	}
}

/* The command's exit status for it is 1 (internal or resource error). */
static void
test_cli_exit_status_1(void **state)
{
	char *argv[10];
	int argc = 0;

	(void)state;
	argv[argc++] = "embed";
	argv[argc++] = TU_DEMO_RUN "/checkpoint-15";
	argv[argc++] = "--data";
	argv[argc++] = TU_DEMO_DATA;
	argv[argc++] = "--limit";
	argv[argc++] = "8";
	argv[argc++] = "-o";
	argv[argc++] = (char *)tu_path("cli1");
	argv[argc] = NULL;
	fail_sub = "embeddings";
	assert_int_equal(cli_embed(argc, argv), 1);
	fail_sub = NULL;
	assert_non_null(strstr(vv_errmsg(), "out of memory"));
	assert_false(manifest_lists(tu_path("cli1")));
	assert_int_equal(cli_embed(argc, argv), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_failure_records_nothing),
		cmocka_unit_test(test_cli_exit_status_1),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
