/*
 * test_crashsafe.c - `vitviz run` killed with SIGKILL at several points
 * (after k checkpoints' embeddings appear, during analyze, during render),
 * then run again: the rerun must finish, reuse the checkpoints that were
 * finished, leave no temporary file behind, and give the same embeddings,
 * logits, samples, CSV and coordinates, byte for byte, as an uninterrupted
 * run.  Also: stale "*.tmp.<pid>.*" files of dead processes are removed,
 * those of live ones kept.  Runs ./build/vitviz ($VITVIZ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_util.h"

#define NCKPT 6
/* one thread: the run is deterministic and long enough (~1 s) to hit */
#define OPTS "--per-class 10 --threads 1 --size 160x120 --fps 5 --seconds-per-checkpoint 0.2 --hold 0.2"

/* the checkpoints tu_demo_subset(.., 6) copies */
static const char *const ckpts[NCKPT] = { "checkpoint-15", "checkpoint-90", "checkpoint-180",
					  "checkpoint-270", "checkpoint-360", "checkpoint-450" };
/* work-folder outputs compared with the uninterrupted run */
static const char *const outputs[] = { "samples.csv", "coords.npy", "scores.npy", "outliers.csv",
				       "loss.csv", "frames.csv" };

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_crashsafe") || tu_demo_subset("run", NCKPT))
		return -1;
	/* the reference: one uninterrupted run */
	return tu_run("--quiet run %s --data %s -o %s --work %s " OPTS, tu_path("run"), TU_DEMO_DATA,
		      tu_path("ref.mp4"), tu_path("ref")) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static void
check_same_as_reference(const char *work)
{
	char a[600], b[600];
	size_t i;

	for (i = 0; i < NCKPT; i++) {
		snprintf(a, sizeof(a), "%s/embeddings/%s.npy", work, ckpts[i]);
		snprintf(b, sizeof(b), "%s/embeddings/%s.npy", tu_path("ref"), ckpts[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from %s", a, b);
		snprintf(a, sizeof(a), "%s/logits/%s.npy", work, ckpts[i]);
		snprintf(b, sizeof(b), "%s/logits/%s.npy", tu_path("ref"), ckpts[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from %s", a, b);
	}
	for (i = 0; i < sizeof(outputs) / sizeof(*outputs); i++) {
		snprintf(a, sizeof(a), "%s/%s", work, outputs[i]);
		snprintf(b, sizeof(b), "%s/%s", tu_path("ref"), outputs[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from %s", a, b);
	}
}

static int
stderr_has(const char *s)
{
	return strstr(tu_err(), s) != NULL;
}

/* What a killed run had written when it was stopped. */
typedef struct written {
	int embedded; /* checkpoints whose embeddings .npy existed */
	int analyzed; /* analysis.json (analyze's last output) existed */
	int rendered; /* the video existed */
} written;

static written
what_was_written(const char *work, const char *out)
{
	char p[600];
	written w = { 0, 0, 0 };
	int i;

	for (i = 0; i < NCKPT; i++) {
		snprintf(p, sizeof(p), "%s/embeddings/%s.npy", work, ckpts[i]);
		w.embedded += tu_exists(p);
	}
	snprintf(p, sizeof(p), "%s/analysis.json", work);
	w.analyzed = tu_exists(p);
	w.rendered = tu_exists(out);
	return w;
}

/*
 * Start a run into <tmp>/<name>, wait until `ready` says so (polling every
 * 0.2 ms, at most 20 s), stop it (SIGSTOP: the state it is in cannot move
 * on while we look), record what it had written in *at_kill, SIGKILL it,
 * rerun it to completion and check the result.  Returns the number of
 * checkpoints the rerun reused.
 */
static int
kill_and_rerun(const char *name, int (*ready)(const char *work, int arg), int arg, written *at_kill)
{
	char work[512], out[520], line[128];
	const char *e, *p;
	int i, rc, st, computed = -1, reused = -1;
	pid_t pid;

	snprintf(work, sizeof(work), "%s", tu_path(name));
	snprintf(out, sizeof(out), "%s.mp4", work);
	pid = tu_spawn("", "run %s --data %s -o %s --work %s " OPTS, tu_path("run"), TU_DEMO_DATA, out,
		       work);
	assert_true(pid > 0);
	for (i = 0; i < 100000 && !ready(work, arg); i++)
		usleep(200);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	/* stopped (or already gone: then the kill came too late, which the callers' checks catch) */
	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	*at_kill = what_was_written(work, out);
	if (WIFSTOPPED(st)) {
		assert_int_equal(kill(pid, SIGKILL), 0);
		rc = tu_wait(pid);
	} else {
		rc = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
	}
	printf("%s: killed (status %d) after %.1f ms; had written %d embeddings, analysis.json %s, video %s\n",
	       name, rc, i * 0.2, at_kill->embedded, at_kill->analyzed ? "yes" : "no",
	       at_kill->rendered ? "yes" : "no");
	/* the kill, not an exit of its own, ended it */
	assert_int_equal(rc, -SIGKILL);
	rc = tu_run("run %s --data %s -o %s --work %s " OPTS, tu_path("run"), TU_DEMO_DATA, out, work);
	e = tu_err();
	if (rc != 0)
		fail_msg("%s: rerun failed with %d:\n%s", name, rc, e);
	p = strstr(e, "embed: ");
	while (p && sscanf(p, "embed: %d computed, %d reused", &computed, &reused) != 2)
		p = strstr(p + 1, "embed: ");
	snprintf(line, sizeof(line), "%d computed, %d reused", computed, reused);
	printf("%s: rerun: %s\n", name, line);
	assert_int_equal(computed + reused, NCKPT);
	assert_true(tu_exists(out));
	assert_int_equal(tu_count_tmp(tu_tmp), 0);
	check_same_as_reference(work);
	return reused;
}

/* k embeddings written */
static int
embeddings_done(const char *work, int k)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/embeddings/%s.npy", work, ckpts[k - 1]);
	return tu_exists(p);
}

/* the run printed `stage` */
static int
stage_started(const char *work, int stage)
{
	(void)work;
	return stderr_has(stage == 2 ? "[2/3] analyze" : "[3/3] render");
}

/*
 * Kill after k embeddings appeared: the kill came before the last
 * checkpoint's embeddings (it interrupted embed), and the rerun reuses the
 * ones written then, less at most one written but not yet recorded.
 */
static void
check_kill_during_embed(const char *name, int k)
{
	written w;
	int reused = kill_and_rerun(name, embeddings_done, k, &w);

	assert_true(w.embedded >= k);
	assert_true(w.embedded < NCKPT);
	assert_false(w.analyzed || w.rendered);
	assert_true(reused == w.embedded || reused == w.embedded - 1);
}

static void
test_kill_during_embed(void **state)
{
	(void)state;
	check_kill_during_embed("k1", 1);
	check_kill_during_embed("k3", 3);
	check_kill_during_embed("k5", 5);
}

static void
test_kill_during_analyze_and_render(void **state)
{
	written w;

	(void)state;
	/* every checkpoint was embedded before analyze starts; the kill came before analysis.json */
	assert_int_equal(kill_and_rerun("an", stage_started, 2, &w), NCKPT);
	assert_int_equal(w.embedded, NCKPT);
	assert_false(w.analyzed);
	assert_false(w.rendered);
	/* ... and before the video */
	assert_int_equal(kill_and_rerun("re", stage_started, 3, &w), NCKPT);
	assert_true(w.embedded == NCKPT && w.analyzed);
	assert_false(w.rendered);
}

/* A pid that is not running now (ESRCH), searched downwards from 4000000. */
static long
dead_pid(void)
{
	long pid;

	for (pid = 4000000; pid > 1000; pid -= 7)
		if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			return pid;
	return -1;
}

static void
test_stale_tmp_removed(void **state)
{
	char stale[600], stale2[600], live[600], odd[600];
	long pid = dead_pid();

	(void)state;
	assert_true(pid > 0);
	/* a finished work folder with leftovers of a killed run, and a temp
	 * file of a live process (this test) */
	assert_int_equal(tu_sh("cp -r '%s' '%s'", tu_path("ref"), tu_path("stale")), 0);
	snprintf(stale, sizeof(stale), "%s/embeddings/checkpoint-15.npy.tmp.%ld.a1B2c3",
		 tu_path("stale"), pid);
	snprintf(stale2, sizeof(stale2), "%s/coords.npy.tmp.%ld.Zz9yX8", tu_path("stale"), pid);
	snprintf(live, sizeof(live), "%s/logits/checkpoint-15.npy.tmp.%ld.q1w2e3", tu_path("stale"),
		 (long)getpid());
	/* not ours: a name that merely looks similar stays */
	snprintf(odd, sizeof(odd), "%s/notes.tmp.%ld.txt", tu_path("stale"), pid);
	assert_int_equal(tu_sh("echo x > '%s' && echo x > '%s' && echo x > '%s' && echo x > '%s'",
			       stale, stale2, live, odd), 0);
	assert_int_equal(tu_run("run %s --data %s -o %s --work %s " OPTS, tu_path("run"), TU_DEMO_DATA,
				tu_path("stale.mp4"), tu_path("stale")), 0);
	assert_non_null(strstr(tu_err(), "0 computed, 6 reused"));
	assert_false(tu_exists(stale));
	assert_false(tu_exists(stale2));
	assert_true(tu_exists(live));
	assert_true(tu_exists(odd));
	unlink(live);
	unlink(odd);
	check_same_as_reference(tu_path("stale"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_during_embed),
		cmocka_unit_test(test_kill_during_analyze_and_render),
		cmocka_unit_test(test_stale_tmp_removed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
