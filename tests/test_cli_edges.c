/*
 * test_cli_edges.c - the command line's edges (issue 17 item 6): outputs
 * checked before any work, no silent folder creation for -o, frame writes
 * PNG or refuses, `info` on a missing folder, `frame --help` lists only
 * what applies to a still, a wrong --checkpoint lists the steps, --title
 * kept in the work folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("cliedges") || tu_demo_subset("run", 2))
		return -1;
	if (tu_run("--quiet embed %s --data %s -o %s --per-class 3", tu_path("run"), TU_DEMO_DATA, tu_path("work")) ||
	    tu_run("--quiet analyze %s", tu_path("work")))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* A wrong output is refused before the embedding starts: nothing is made. */
static void
test_outputs_checked_first(void **state)
{
	(void)state;
	assert_int_equal(tu_run("--quiet run %s --data %s -o %s", tu_path("run"), TU_DEMO_DATA, tu_path("x.avi")), 2);
	assert_non_null(strstr(tu_err(), "x.avi"));
	assert_false(tu_exists(tu_path("x-work")));
	/* a missing folder is not created: exit 4, nothing written anywhere */
	assert_int_equal(tu_run("--quiet run %s --data %s -o %s", tu_path("run"), TU_DEMO_DATA, tu_path("nodir/x.mp4")),
			 4);
	assert_non_null(strstr(tu_err(), "no such folder"));
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_false(tu_exists(tu_path("nodir")));
	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s", tu_path("run"), TU_DEMO_DATA, tu_path("nodir/w")), 4);
	assert_false(tu_exists(tu_path("nodir")));
	assert_int_equal(tu_run("--quiet render %s -o %s", tu_path("work"), tu_path("nodir/v.mp4")), 4);
	assert_int_equal(tu_run("--quiet report %s -o %s", tu_path("work"), tu_path("nodir/r.csv")), 4);
	assert_false(tu_exists(tu_path("nodir")));
	/* an explicit work folder may be made, its parents not */
	assert_int_equal(tu_run("--quiet run %s --data %s -o %s --work %s", tu_path("run"), TU_DEMO_DATA,
				tu_path("v.mp4"), tu_path("nodir/w")),
			 4);
	assert_false(tu_exists(tu_path("nodir")));
}

static void
test_frame_png_only(void **state)
{
	(void)state;
	assert_int_equal(tu_run("--quiet frame %s -o %s", tu_path("work"), tu_path("f.jpg")), 2);
	assert_non_null(strstr(tu_err(), "PNG"));
	assert_false(tu_exists(tu_path("f.jpg")));
	assert_int_equal(tu_run("--quiet frame %s -o %s", tu_path("work"), tu_path("nodir/f.png")), 4);
	assert_int_equal(tu_run("--quiet frame %s -o %s", tu_path("work"), tu_path("f.PNG")), 0);
	assert_true(tu_exists(tu_path("f.PNG")));
}

static void
test_info_missing_folder(void **state)
{
	(void)state;
	assert_int_equal(tu_run("info %s", tu_path("nonexistent")), 3);
	assert_non_null(strstr(tu_err(), "no such folder"));
	assert_int_equal(tu_count_lines(tu_err()), 1);
}

/* frame --help lists what changes a still, none of the video's options. */
static void
test_frame_help(void **state)
{
	static const char *const video_only[] = { "--fps", "--seconds-per-checkpoint", "--hold", "--crf",
						  "--x264-preset", "--frames", NULL };
	static const char *const still[] = { "--size", "--theme", "--title", "--preset", "--checkpoint", NULL };

	(void)state;
	assert_int_equal(tu_run("frame --help"), 0);
	for (int i = 0; video_only[i]; i++)
		if (strstr(tu_out(), video_only[i]))
			fail_msg("frame --help lists %s", video_only[i]);
	for (int i = 0; still[i]; i++)
		assert_non_null(strstr(tu_out(), still[i]));
	assert_int_equal(tu_run("render --help"), 0);
	assert_non_null(strstr(tu_out(), "--fps"));
	assert_non_null(strstr(tu_out(), "--x264-preset"));
}

static void
test_wrong_checkpoint_lists_steps(void **state)
{
	(void)state;
	assert_int_equal(tu_run("--quiet frame %s --checkpoint 7 -o %s", tu_path("work"), tu_path("c.png")), 3);
	assert_non_null(strstr(tu_err(), "steps: 15, 450"));
	assert_false(tu_exists(tu_path("c.png")));
	assert_int_equal(tu_run("--quiet report %s --checkpoint 7", tu_path("work")), 3);
	assert_non_null(strstr(tu_err(), "steps: 15, 450"));
}

/* --title once, and later stills and videos of the work folder keep it. */
static void
test_title_kept(void **state)
{
	(void)state;
	assert_int_equal(tu_run("--quiet frame %s -o %s --title 'Klasse 7b: Ziffern'", tu_path("work"), tu_path("t1.png")),
			 0);
	assert_int_equal(tu_sh("grep -q 'Klasse 7b: Ziffern' %s", tu_path("work/render.json")), 0);
	assert_int_equal(tu_run("--quiet frame %s -o %s", tu_path("work"), tu_path("t2.png")), 0);
	assert_true(tu_files_equal(tu_path("t1.png"), tu_path("t2.png")));
	/* a new title replaces it */
	assert_int_equal(tu_run("--quiet frame %s -o %s --title other", tu_path("work"), tu_path("t3.png")), 0);
	assert_false(tu_files_equal(tu_path("t1.png"), tu_path("t3.png")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outputs_checked_first),
		cmocka_unit_test(test_frame_png_only),
		cmocka_unit_test(test_info_missing_folder),
		cmocka_unit_test(test_frame_help),
		cmocka_unit_test(test_wrong_checkpoint_lists_steps),
		cmocka_unit_test(test_title_kept),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
