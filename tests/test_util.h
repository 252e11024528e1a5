/*
 * test_util.h - helpers shared by the tests: a private temporary folder,
 * running ./build/vitviz (path from $VITVIZ) with its stderr captured,
 * comparing and listing files, a small copy of the bundled demo, and
 * reading .npy fixtures and comparing arrays so that a NaN fails.  Linked
 * into every test binary (build/libvvtest.a); a test includes cmocka.h
 * before this header.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/vv_npy.h"

/* The test's temporary folder ("/tmp/vv_<name>.XXXXXX"), set by tu_setup(). */
extern char tu_tmp[64];

/* The vitviz binary: $VITVIZ, default build/vitviz. */
const char *tu_vitviz(void);

/* Create tu_tmp for test `name`; 0 on success. */
int tu_setup(const char *name);

/* Remove tu_tmp and everything in it (kept when $TU_KEEP is set); 0 on success. */
int tu_teardown(void);

/* "<tu_tmp>/<name>" in one of 8 rotating static buffers. */
char *tu_path(const char *name);

/* Run a shell command (printf-style); its exit status, -1 if killed by a signal. */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Run `vitviz <args>` (printf-style) with stdout in <tu_tmp>/out and stderr
 * in <tu_tmp>/err; its exit status, or -1 when a signal killed it.
 */
int tu_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Start `<prefix> exec vitviz <args>` in the background through /bin/sh
 * (so that the pid is vitviz itself) with stderr in <tu_tmp>/err;
 * `prefix` may hold shell commands such as "ulimit -f 100;" or be "".
 * Returns the pid, or -1.
 */
pid_t tu_spawn(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Wait for `pid`: its exit status, or -(signal) when a signal killed it. */
int tu_wait(pid_t pid);

/* The stderr captured by the last tu_run / tu_spawn (static buffer). */
const char *tu_err(void);

/* The stdout captured by the last tu_run (static buffer). */
const char *tu_out(void);

/* Number of '\n' in s. */
int tu_count_lines(const char *s);

/* 1 when the two files exist and hold the same bytes, else 0. */
int tu_files_equal(const char *a, const char *b);

/* 1 when the file exists (any type). */
int tu_exists(const char *path);

/*
 * Number of files under `dir` (recursively) whose name contains ".tmp."
 * (vv_outfile temporaries); the first one's path goes to stderr.
 */
int tu_count_tmp(const char *dir);

/*
 * Copy `n` checkpoints of the demo run (data/demo/run, evenly spread from
 * the first to the last) into <tu_tmp>/<dst>; 0 on success.
 */
int tu_demo_subset(const char *dst, int n);

/* The inode number of `path` (outputs are replaced by rename, so a rewritten file gets a new one); -1 when absent. */
int64_t tu_inode(const char *path);

/*
 * Set the modification time of `path` and of everything under it to
 * `seconds` ago, so that files written afterwards are newer even where
 * file times have whole-second resolution; 0 on success.
 */
int tu_backdate(const char *path, int seconds);

/* The demo's image folder and run folder. */
#define TU_DEMO_RUN "data/demo/run"
#define TU_DEMO_DATA "data/demo/images"

/*
 * Arrays.  A NaN anywhere (in either array, or from inf - inf) makes the
 * difference INFINITY, never a value that fmax() or a `d <= tol` test could
 * let through; the plain fmax() drops NaN (fmax(0, NaN) == 0), which is why
 * the tests use these instead of their own loops.
 */

/* max(m, v) for accumulating differences: INFINITY when either is NaN. */
double tu_fmax(double m, double v);

/* max |a[i] - b[i]| over n elements (INFINITY on NaN, see above). */
double tu_max_diff_f32(const float *a, const float *b, int64_t n);
double tu_max_diff_f64(const double *a, const double *b, int64_t n);
double tu_max_diff_f64_f32(const double *a, const float *b, int64_t n);

/* max |a[i]| over n elements (INFINITY on NaN). */
double tu_max_abs_f32(const float *a, int64_t n);

/*
 * max |a - b| of two float32 arrays; the test fails (naming `what`) when
 * their dtype is not float32 or their shapes differ.
 */
double tu_max_diff_array(const vv_array *a, const vv_array *b, const char *what);

/*
 * Fail the test when any |got[i] - want[i]| > tol or is NaN, naming `what`,
 * the first such index and both values; prints the largest difference
 * otherwise (print_message).  Use through the macro, which reports the
 * caller's file and line.
 */
void tu_assert_close_f32_at(const char *file, int line, const char *what, const float *got, const float *want,
			    int64_t n, double tol);
#define tu_assert_close_f32(what, got, want, n, tol) \
	tu_assert_close_f32_at(__FILE__, __LINE__, what, got, want, n, tol)

/* Read an .npy file (printf-style path); the test fails, naming the file, when it cannot. */
vv_array *tu_load_npy(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same as doubles: a malloc'd copy, *count elements (count may be NULL). */
double *tu_load_npy_f64(const char *path, int64_t *count);

#endif
