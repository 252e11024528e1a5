/*
 * test_fs.c - durability order of vv_outfile_commit(): the data is synced
 * before the rename and the folder after it.  The binary is linked with
 * -Wl,--wrap=fsync,--wrap=rename (see the Makefile): the wrappers log each
 * call (a file or a folder being synced) and pass it on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "tests/test_util.h"

static char calls[64]; /* 'F' fsync of a file, 'D' of a folder, 'R' rename */
static size_t ncalls;
static int fail_dir_sync; /* errno for a folder fsync, 0 none */

int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);

int
__wrap_fsync(int fd)
{
	struct stat st;
	int dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);

	if (ncalls < sizeof(calls) - 1)
		calls[ncalls++] = dir ? 'D' : 'F';
	if (dir && fail_dir_sync) {
		errno = fail_dir_sync;
		return -1;
	}
	return __real_fsync(fd);
}

int
__wrap_rename(const char *from, const char *to)
{
	if (ncalls < sizeof(calls) - 1)
		calls[ncalls++] = 'R';
	return __real_rename(from, to);
}

static int
setup(void **state)
{
	(void)state;
	return tu_setup("test_fs");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static void
test_commit_syncs_file_then_folder(void **state)
{
	const char *p = tu_path("a.txt");
	char *back = NULL;
	size_t len;

	(void)state;
	memset(calls, 0, sizeof(calls));
	ncalls = 0;
	assert_int_equal(vv_write_file_atomic(p, "hello", 5), 0);
	print_message("calls: %s\n", calls);
	assert_string_equal(calls, "FRD");
	assert_int_equal(vv_read_file(p, 100, &back, &len), 0);
	assert_int_equal(len, 5);
	free(back);

	/* a folder that cannot be synced: the error names the file (EIO) */
	memset(calls, 0, sizeof(calls));
	ncalls = 0;
	fail_dir_sync = EIO;
	assert_int_equal(vv_write_file_atomic(p, "world", 5), VV_EIO);
	fail_dir_sync = 0;
	assert_non_null(strstr(vv_errmsg(), "a.txt"));
	assert_non_null(strstr(vv_errmsg(), "sync"));
	/* file systems that cannot sync folders at all (EINVAL) are accepted */
	fail_dir_sync = EINVAL;
	assert_int_equal(vv_write_file_atomic(p, "again", 5), 0);
	fail_dir_sync = 0;
	assert_int_equal(tu_count_tmp(tu_path("")), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_syncs_file_then_folder),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
