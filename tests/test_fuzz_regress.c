/*
 * test_fuzz_regress.c - replay every input under tests/fixtures/fuzz/<target>/
 * through the same entry point as the libFuzzer harness of that target
 * (tests/fuzz/fuzz_targets.c): crashers found by `make fuzz`, kept once fixed.
 * A file named "ok-*" must parse (0), "bad-*" must be rejected (< 0); any
 * other name only has to come back without crashing (ASan / UBSan under
 * `make asan`).
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
#include "tests/fuzz/fuzz_targets.h"

#define FUZZ_DIR "tests/fixtures/fuzz"

static void
test_replay(void **state)
{
	char **targets = NULL;
	size_t nt = 0, i, total = 0;

	(void)state;
	assert_int_equal(vv_list_dir(FUZZ_DIR, &targets, &nt), 0);
	assert_true(nt > 0);
	for (i = 0; i < nt; i++) {
		const fuzz_target *t = fuzz_target_find(targets[i]);
		char *dir = vv_path_join(FUZZ_DIR, targets[i]);
		char **files = NULL;
		size_t nf = 0, j;

		/* every folder is named for a target */
		if (!t)
			fail_msg("%s/%s: no fuzz target of that name", FUZZ_DIR, targets[i]);
		assert_int_equal(vv_list_dir(dir, &files, &nf), 0);
		for (j = 0; j < nf; j++) {
			char *p = vv_path_join(dir, files[j]), *buf = NULL;
			size_t len = 0;
			int rc;

			assert_int_equal(vv_read_file(p, 1 << 24, &buf, &len), 0);
			rc = t->run((const uint8_t *)buf, len);
			if (!strncmp(files[j], "ok-", 3) && rc != 0)
				fail_msg("%s: expected success, got %d (%s)", p, rc, vv_errmsg());
			if (!strncmp(files[j], "bad-", 4) && rc >= 0)
				fail_msg("%s: expected an error, got %d", p, rc);
			free(buf);
			free(p);
			total++;
		}
		vv_strv_free(&files, nf);
		free(dir);
	}
	printf("replayed %zu inputs of %zu targets\n", total, nt);
	vv_strv_free(&targets, nt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
