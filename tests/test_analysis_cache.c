/*
 * test_analysis_cache.c - analyze reuses each checkpoint's PCA and outlier
 * scores (<work>/analysis/): after adding a checkpoint only the new one is
 * computed, and analyze --shard I/N splits that work by checkpoint; in
 * both cases the outputs are byte-identical to one analysis from scratch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_util.h"

static const char *const outputs[] = {
	"coords.npy", "scores.npy", "outliers.csv", "frames.csv", "analysis.json", "dynamics.csv",
};

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_analysis_cache") || tu_demo_subset("run4", 4))
		return -1;
	/* the reference: four checkpoints embedded and analysed at once */
	if (tu_run("--quiet embed %s --data %s --limit 60 -o %s", tu_path("run4"), TU_DEMO_DATA,
		   tu_path("ref")))
		return -1;
	return tu_run("--quiet analyze %s", tu_path("ref"));
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static void
assert_same_outputs(const char *ref, const char *work)
{
	char a[600], b[600];
	size_t i;

	for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
		snprintf(a, sizeof(a), "%s/%s", ref, outputs[i]);
		snprintf(b, sizeof(b), "%s/%s", work, outputs[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from the analysis from scratch", b);
	}
}

/* Lines of `s` that contain `what`. */
static int
count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void
test_added_checkpoint_computes_only_it(void **state)
{
	char work[600];

	(void)state;
	/* three checkpoints first, analysed; then the fourth added to the
	 * same run folder (the last of run4 in step order) */
	snprintf(work, sizeof(work), "%s", tu_path("inc"));
	assert_int_equal(tu_sh("cd %s && mkdir grow && cp -r run4/* grow/ && "
			       "last=$(ls run4 | sort -t- -k2 -n | tail -1) && mv grow/$last later",
			       tu_path("")), 0);
	assert_int_equal(tu_run("--quiet embed %s --data %s --limit 60 -o %s", tu_path("grow"),
				TU_DEMO_DATA, work), 0);
	assert_int_equal(tu_run("--quiet analyze %s", work), 0);
	assert_int_equal(tu_sh("cd %s && mv later grow/$(ls run4 | sort -t- -k2 -n | tail -1)",
			       tu_path("")), 0);
	assert_int_equal(tu_run("embed %s --data %s --limit 60 -o %s", tu_path("grow"),
				TU_DEMO_DATA, work), 0);
	assert_non_null(strstr(tu_err(), "1 computed, 3 reused"));
	assert_int_equal(tu_run("--verbose analyze %s", work), 0);
	print_message("%s", tu_err());
	assert_int_equal(count(tu_err(), "PCA and outlier scores reused"), 3);
	/* the same work folder analysed from scratch */
	assert_int_equal(tu_sh("cd %s && cp -r inc fresh && rm -r fresh/analysis fresh/coords.npy",
			       tu_path("")), 0);
	assert_int_equal(tu_run("--quiet analyze %s", tu_path("fresh")), 0);
	assert_same_outputs(tu_path("fresh"), work);
	/* options that change the scores are not served from the cache */
	assert_int_equal(tu_run("--verbose analyze %s --k 5", work), 0);
	assert_int_equal(count(tu_err(), "PCA and outlier scores reused"), 0);
}

static void
test_sharded_analysis_assembles_identically(void **state)
{
	static const char *const orders[][3] = { { "0/3", "2/3", "1/3" }, { "1/2", "0/2", NULL } };
	size_t k, i;

	(void)state;
	for (k = 0; k < 2; k++) {
		const char *work = tu_path(k ? "sh2" : "sh3");

		/* the embeddings alone, then one analysis process per shard */
		assert_int_equal(tu_sh("mkdir -p %s && cp -r %s/embeddings %s/logits %s/manifest.json "
				       "%s/samples.csv %s/", work, tu_path("ref"), tu_path("ref"),
				       tu_path("ref"), tu_path("ref"), work), 0);
		for (i = 0; i < 3 && orders[k][i]; i++) {
			char p[600];

			assert_int_equal(tu_run("analyze %s --shard %s", work, orders[k][i]), 0);
			snprintf(p, sizeof(p), "%s/coords.npy", work);
			/* only the shard that completes the set assembles */
			assert_int_equal(tu_exists(p), i == 2 || (k == 1 && i == 1));
		}
		assert_same_outputs(tu_path("ref"), work);
	}
	/* a bad shard is a command-line error */
	assert_int_equal(tu_run("analyze %s --shard 3/3", tu_path("sh3")), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_added_checkpoint_computes_only_it),
		cmocka_unit_test(test_sharded_analysis_assembles_identically),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
