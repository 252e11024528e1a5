/*
 * test_util.h - helpers shared by the tests that run the vitviz binary
 * (test_cli, test_badinput, test_crashsafe, test_determinism): a private
 * temporary folder, running ./build/vitviz (path from $VITVIZ) with its
 * stderr captured, comparing and listing files, and a small copy of the
 * bundled demo.  Linked into every test binary (build/libvvtest.a).
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stddef.h>
#include <sys/types.h>

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

/* The demo's image folder and run folder. */
#define TU_DEMO_RUN "data/demo/run"
#define TU_DEMO_DATA "data/demo/images"

#endif
