/*
 * test_badinput.c - the bad-input matrix: `vitviz run` on a small copy of
 * the demo broken in one way per case (truncated, bit-flipped, wrong-dtype,
 * wrong-shape, missing-tensor and NaN weights, empty folders, unreadable
 * files, a data folder of non-images, a full disk, a read-only output
 * folder, a checkpoint deleted during the run).  As root, where permission
 * bits do not bind, the permission cases run the child as nobody through
 * setpriv (skipped with a printed reason when that is not possible).  Each case checks the exit
 * status, that stderr is one line naming the file, and that no partial
 * output is left (no video, no "*.tmp.*" file).  Runs ./build/vitviz
 * ($VITVIZ) as a child process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/test_util.h"

/* small and fast: 2 images per class, a tiny video */
#define OPTS "--per-class 2 --size 160x120 --fps 5 --seconds-per-checkpoint 0.2 --hold 0.2"
#define CK_LAST "checkpoint-450"

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_badinput"))
		return -1;
	/* the pristine run every case copies: the first and last checkpoints */
	return tu_demo_subset("base", 2);
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* A fresh copy of the base run in <tmp>/<c>/run; returns "<tmp>/<c>". */
static const char *
fresh(const char *c)
{
	static char dir[512];

	snprintf(dir, sizeof(dir), "%s", tu_path(c));
	assert_int_equal(tu_sh("rm -rf '%s' && mkdir -p '%s' && cp -r '%s' '%s/run'", dir, dir,
			       tu_path("base"), dir), 0);
	return dir;
}

/* Run `vitviz --quiet run` on <dir>/run with data `data` into <dir>/out.mp4. */
static int
run_case(const char *dir, const char *data, const char *extra)
{
	return tu_run("--quiet run %s/run --data %s -o %s/out.mp4 --work %s/work " OPTS " %s", dir,
		      data, dir, dir, extra ? extra : "");
}

/*
 * Where permission bits do not bind us (root), run the child as nobody
 * through setpriv: the prefix to use, after handing `dir` to nobody and
 * opening tu_tmp to it.  NULL when that is not possible either.
 */
static const char *
unprivileged(const char *dir)
{
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
		return NULL;
	if (chmod(tu_tmp, 0755) != 0 || tu_sh("chown -R 65534:65534 '%s'", dir) != 0)
		return NULL;
	return "setpriv --reuid=65534 --regid=65534 --clear-groups ";
}

/* run_case() behind a command prefix such as unprivileged()'s. */
static int
run_case_as(const char *prefix, const char *dir, const char *out)
{
	return tu_sh("%s%s --quiet run %s/run --data %s -o %s --work %s/work " OPTS " 2>%s/err >%s/out",
		     prefix, tu_vitviz(), dir, TU_DEMO_DATA, out, dir, tu_tmp, tu_tmp);
}

/*
 * The common checks: exit status `want`, stderr one line holding `name`,
 * no video and no temporary file left in `dir`.
 */
static void
check_failed(const char *dir, int rc, int want, const char *name)
{
	char p[600];
	const char *e = tu_err();

	if (rc != want || tu_count_lines(e) != 1 || !strstr(e, name))
		fail_msg("%s: exit %d (want %d), stderr (want one line naming %s):\n%s", dir, rc, want,
			 name, e);
	printf("%s: exit %d: %s", strrchr(dir, '/') + 1, rc, e);
	snprintf(p, sizeof(p), "%s/out.mp4", dir);
	assert_false(tu_exists(p));
	assert_int_equal(tu_count_tmp(dir), 0);
}

/* Overwrite `len` bytes at `off` of a file. */
static void
poke(const char *path, long off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

/* Replace the first occurrence of `from` by `to` (same length) in a file. */
static void
replace_in_file(const char *path, const char *from, const char *to)
{
	char *buf;
	size_t len, n = strlen(from);
	FILE *f = fopen(path, "rb");
	long size;
	char *hit = NULL;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	len = (size_t)size;
	buf[len] = '\0';
	for (size_t i = 0; i + n <= len && !hit; i++)
		if (!memcmp(buf + i, from, n))
			hit = buf + i;
	assert_non_null(hit);
	memcpy(hit, to, strlen(to));
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

static const char *
weights(const char *dir)
{
	static char p[600];

	snprintf(p, sizeof(p), "%s/run/" CK_LAST "/model.safetensors", dir);
	return p;
}

static void
test_truncated_weights(void **state)
{
	const char *d = fresh("trunc");

	(void)state;
	assert_int_equal(truncate(weights(d), 100000), 0);
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
	/* truncated inside the 8-byte length */
	assert_int_equal(truncate(weights(d), 5), 0);
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
}

static void
test_bitflipped_weights(void **state)
{
	const char *d = fresh("flip");
	unsigned char b = 0x40;

	(void)state;
	/* a flip in the header length */
	poke(weights(d), 5, &b, 1);
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
	/* a flip inside the JSON header: a tensor name no longer matches */
	d = fresh("flip2");
	replace_in_file(weights(d), "position_embeddings", "position_embeddingr");
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
	/* a flip that breaks the JSON */
	d = fresh("flip3");
	replace_in_file(weights(d), "\"dtype\"", "\"dtype\x7f");
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
}

static void
test_wrong_dtype(void **state)
{
	const char *d = fresh("dtype");

	(void)state;
	/* F16 instead of F32: the byte counts no longer match */
	replace_in_file(weights(d), "\"F32\"", "\"F16\"");
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
	/* an integer dtype of the same size */
	d = fresh("dtype2");
	replace_in_file(weights(d), "\"F32\"", "\"I32\"");
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
}

static void
test_wrong_shape(void **state)
{
	const char *d = fresh("shape");
	char cfg[600];

	(void)state;
	snprintf(cfg, sizeof(cfg), "%s/run/" CK_LAST "/config.json", d);
	replace_in_file(cfg, "\"intermediate_size\": 96", "\"intermediate_size\": 97");
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST);
	assert_non_null(strstr(tu_err(), "shape"));
}

static void
test_missing_tensor(void **state)
{
	const char *d = fresh("missing");

	(void)state;
	replace_in_file(weights(d), "query.weight", "quer_.weight");
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
	assert_non_null(strstr(tu_err(), "missing"));
}

static void
test_nan_weights(void **state)
{
	const char *d = fresh("nan");
	const float nan = __builtin_nanf("");
	unsigned char len8[8];
	uint64_t hlen = 0;
	FILE *f = fopen(weights(d), "rb");
	int i;

	(void)state;
	assert_non_null(f);
	assert_int_equal(fread(len8, 1, 8, f), 8);
	fclose(f);
	for (i = 7; i >= 0; i--)
		hlen = hlen << 8 | len8[i];
	/* NaN in the first tensor of the data section (the CLS token) */
	for (i = 0; i < 8; i++)
		poke(weights(d), (long)(8 + hlen + 4 * (uint64_t)i), &nan, 4);
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
	assert_non_null(strstr(tu_err(), "not finite"));
}

static void
test_empty_folders(void **state)
{
	const char *d = fresh("empty");
	char data[600];

	(void)state;
	/* a run folder without checkpoints */
	assert_int_equal(tu_sh("rm -rf '%s/run' && mkdir '%s/run'", d, d), 0);
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, "run");
	/* an empty data folder, and one whose class folders are empty */
	d = fresh("empty2");
	snprintf(data, sizeof(data), "%s/data", d);
	assert_int_equal(tu_sh("mkdir '%s'", data), 0);
	check_failed(d, run_case(d, data, NULL), 3, "data");
	assert_int_equal(tu_sh("mkdir '%s/a' '%s/b'", data, data), 0);
	check_failed(d, run_case(d, data, NULL), 3, "data");
}

/* A folder where a file should be: a read error whoever we are. */
static void
test_folder_for_file(void **state)
{
	const char *d = fresh("unread0");
	char cfg[600];

	(void)state;
	snprintf(cfg, sizeof(cfg), "%s/run/" CK_LAST "/config.json", d);
	assert_int_equal(unlink(cfg), 0);
	assert_int_equal(mkdir(cfg, 0755), 0);
	check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/config.json");
	assert_non_null(strstr(tu_err(), "not a regular file"));
}

/*
 * A file without read permission; reported as skipped (not passed) where
 * chmod 000 does not block our reads and the child cannot run as nobody.
 */
static void
test_unreadable(void **state)
{
	const char *d = fresh("unread");
	char out[600];
	int fd;

	(void)state;
	assert_int_equal(chmod(weights(d), 0), 0);
	fd = open(weights(d), O_RDONLY);
	if (fd >= 0) {
		const char *pre;

		close(fd);
		pre = unprivileged(d);
		if (!pre) {
			printf("test_unreadable: skipped: chmod 000 does not block reads here "
			       "(root or CAP_DAC_OVERRIDE) and setpriv cannot drop to nobody\n");
			skip();
			return;
		}
		printf("test_unreadable: running as root: the child runs as nobody (setpriv)\n");
		snprintf(out, sizeof(out), "%s/out.mp4", d);
		check_failed(d, run_case_as(pre, d, out), 3, CK_LAST "/model.safetensors");
	} else {
		check_failed(d, run_case(d, TU_DEMO_DATA, NULL), 3, CK_LAST "/model.safetensors");
	}
	assert_non_null(strstr(tu_err(), "ermission"));
}

static void
test_non_images(void **state)
{
	const char *d = fresh("nonimg");
	char data[600];

	(void)state;
	snprintf(data, sizeof(data), "%s/data", d);
	/* two classes of files that only look like images */
	assert_int_equal(tu_sh("mkdir -p '%s/a' '%s/b' && echo hello > '%s/a/x.png' && "
			       "head -c 3000 /dev/urandom > '%s/b/y.jpg' && "
			       "printf 'GIF89a' > '%s/b/z.png'", data, data, data, data, data), 0);
	check_failed(d, run_case(d, data, NULL), 3, "data");
	/* --strict names the first bad image even among good ones */
	d = fresh("nonimg2");
	snprintf(data, sizeof(data), "%s/data", d);
	assert_int_equal(tu_sh("mkdir -p '%s' && cp -r %s/0 %s/1 '%s/' && echo junk > '%s/1/0000.png'",
			       data, TU_DEMO_DATA, TU_DEMO_DATA, data, data), 0);
	check_failed(d, run_case(d, data, "--strict"), 3, "1/0000.png");
}

static void
test_full_disk(void **state)
{
	const char *d = fresh("full");

	(void)state;
	/* a 6 KiB file size limit: the work files fit (5 KiB at most), the
	 * video (8 KiB) does not */
	assert_int_equal(tu_sh("ulimit -f 12; exec %s --quiet run %s/run --data %s -o %s/out.mp4 "
			       "--work %s/work " OPTS " 2>%s/err", tu_vitviz(), d, TU_DEMO_DATA, d, d,
			       tu_tmp), 4);
	check_failed(d, 4, 4, "out.mp4");
	/* a 1 KiB limit: the first embeddings cannot be written */
	d = fresh("full2");
	assert_int_equal(tu_sh("ulimit -f 2; exec %s --quiet run %s/run --data %s -o %s/out.mp4 "
			       "--work %s/work " OPTS " 2>%s/err", tu_vitviz(), d, TU_DEMO_DATA, d, d,
			       tu_tmp), 4);
	check_failed(d, 4, 4, "work/");
}

/* The output folder is a file: it cannot be created whoever we are. */
static void
test_output_not_a_folder(void **state)
{
	const char *d = fresh("rofile");

	(void)state;
	assert_int_equal(tu_sh("touch '%s/notadir'", d), 0);
	assert_int_equal(tu_run("--quiet run %s/run --data %s -o %s/notadir/out.mp4 --work %s/work " OPTS,
				d, TU_DEMO_DATA, d, d), 4);
	printf("rofile: exit 4: %s", tu_err());
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "notadir/out.mp4"));
	assert_int_equal(tu_count_tmp(d), 0);
}

/*
 * A read-only output folder; reported as skipped (not passed) where chmod
 * 555 does not block our writes and the child cannot run as nobody.
 */
static void
test_readonly_output(void **state)
{
	const char *d = fresh("ro"), *pre;
	char p[600];
	int fd;

	(void)state;
	assert_int_equal(tu_sh("mkdir '%s/ro' && chmod 555 '%s/ro'", d, d), 0);
	snprintf(p, sizeof(p), "%s/ro/probe", d);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0) {
		char out[600];

		close(fd);
		unlink(p);
		if (!(pre = unprivileged(d))) {
			printf("test_readonly_output: skipped: chmod 555 does not block writes here "
			       "(root or CAP_DAC_OVERRIDE) and setpriv cannot drop to nobody\n");
			skip();
			return;
		}
		printf("test_readonly_output: running as root: the child runs as nobody (setpriv)\n");
		snprintf(out, sizeof(out), "%s/ro/out.mp4", d);
		assert_int_equal(run_case_as(pre, d, out), 4);
	} else {
		assert_int_equal(tu_run("--quiet run %s/run --data %s -o %s/ro/out.mp4 --work %s/work " OPTS,
					d, TU_DEMO_DATA, d, d), 4);
	}
	printf("ro: exit 4: %s", tu_err());
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "ro/out.mp4"));
	assert_int_equal(tu_count_tmp(d), 0);
	assert_false(tu_exists(p));
}

/* The last checkpoint disappears while the first one is being embedded. */
static void
test_checkpoint_deleted(void **state)
{
	const char *d = fresh("deleted");
	char first[600], last[600];
	pid_t pid;
	int i, rc;

	(void)state;
	/* more checkpoints and images so that the run lasts long enough */
	assert_int_equal(tu_sh("rm -rf '%s/run'", d), 0);
	for (i = 15; i < 450; i += 90)
		assert_int_equal(tu_sh("mkdir -p '%s/run' && cp -r %s/checkpoint-%d '%s/run/'", d,
				       TU_DEMO_RUN, i, d), 0);
	assert_int_equal(tu_sh("cp -r %s/" CK_LAST " '%s/run/'", TU_DEMO_RUN, d), 0);
	snprintf(first, sizeof(first), "%s/work/embeddings/checkpoint-15.npy", d);
	snprintf(last, sizeof(last), "%s/run/" CK_LAST, d);
	pid = tu_spawn("", "--quiet run %s/run --data %s -o %s/out.mp4 --work %s/work --per-class 20 "
		       "--size 160x120 --fps 5 --seconds-per-checkpoint 0.2 --hold 0.2 --threads 1",
		       d, TU_DEMO_DATA, d, d);
	assert_true(pid > 0);
	for (i = 0; i < 20000 && !tu_exists(first); i++)
		usleep(500);
	assert_int_equal(tu_sh("rm -rf '%s'", last), 0);
	rc = tu_wait(pid);
	check_failed(d, rc, 3, CK_LAST);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated_weights),
		cmocka_unit_test(test_bitflipped_weights),
		cmocka_unit_test(test_wrong_dtype),
		cmocka_unit_test(test_wrong_shape),
		cmocka_unit_test(test_missing_tensor),
		cmocka_unit_test(test_nan_weights),
		cmocka_unit_test(test_empty_folders),
		cmocka_unit_test(test_folder_for_file),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_non_images),
		cmocka_unit_test(test_full_disk),
		cmocka_unit_test(test_output_not_a_folder),
		cmocka_unit_test(test_readonly_output),
		cmocka_unit_test(test_checkpoint_deleted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
