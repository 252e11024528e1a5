/*
 * test_shard.c - `vitviz embed --shard I/N` and `vitviz merge`: the shard
 * from the option or the launcher's environment, the plan of (checkpoint,
 * row range) units, and end to end on a 4-checkpoint, 80-image subset of
 * the demo: a merged folder (and the analysis made from it) byte-identical
 * to one process's for N = 1, 2, 3, 8, shards run concurrently, in any
 * order, killed and rerun; the faults (other data or options, another
 * vitviz version, a missing, duplicated or stale part, two shards with the
 * same I) exit 3 naming the part without writing an assembled file, and a
 * rerun completes the work.  The real launchers (mpirun, a local Slurm)
 * are exercised by tests/shard_launchers.sh, run at the end.
 * Runs ./build/vitviz ($VITVIZ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/vv_error.h"
#include "embed/embed_shard.h"
#include "tests/test_util.h"

#define NCKPT 4
#define OPTS "--per-class 8"

static const char *const ckpts[NCKPT] = { "checkpoint-15", "checkpoint-150", "checkpoint-300",
					  "checkpoint-450" };
static const char *const launcher_vars[] = {
	"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
	"SLURM_ARRAY_TASK_STEP", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_ID", "OMPI_COMM_WORLD_RANK",
	"OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "RANK", "WORLD_SIZE",
};

static void
clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(launcher_vars) / sizeof(*launcher_vars); i++)
		unsetenv(launcher_vars[i]);
}

static int
setup(void **state)
{
	(void)state;
	clear_env();
	if (tu_setup("test_shard") || tu_demo_subset("run", NCKPT))
		return -1;
	/* the reference: one process */
	if (tu_run("--quiet embed %s --data %s -o %s " OPTS, tu_path("run"), TU_DEMO_DATA, tu_path("ref")) ||
	    tu_run("--quiet analyze %s", tu_path("ref")))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* ---- shard identity -------------------------------------------------- */

static void
test_parse(void **state)
{
	embed_shard sh;

	(void)state;
	assert_int_equal(embed_shard_parse("0/1", &sh), 0);
	assert_int_equal(sh.index, 0);
	assert_int_equal(sh.count, 1);
	assert_int_equal(embed_shard_parse("7/8", &sh), 0);
	assert_int_equal(sh.index, 7);
	assert_int_equal(sh.count, 8);
	assert_string_equal(sh.source, "--shard");
	assert_int_equal(embed_shard_parse("8/8", &sh), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "\"8/8\""));
	assert_int_equal(embed_shard_parse("-1/8", &sh), VV_EINVAL);
	assert_int_equal(embed_shard_parse("1/0", &sh), VV_EINVAL);
	assert_int_equal(embed_shard_parse("1", &sh), VV_EINVAL);
	assert_int_equal(embed_shard_parse("/2", &sh), VV_EINVAL);
	assert_int_equal(embed_shard_parse("1/2x", &sh), VV_EINVAL);
	assert_int_equal(embed_shard_parse("1/ 2", &sh), VV_EINVAL);
	assert_int_equal(embed_shard_parse("0/100001", &sh), VV_EINVAL);
}

static void
test_env(void **state)
{
	embed_shard sh;

	(void)state;
	clear_env();
	assert_int_equal(embed_shard_from_env(&sh), 0);
	assert_int_equal(sh.count, 0);

	/* torchrun */
	setenv("RANK", "3", 1);
	setenv("WORLD_SIZE", "4", 1);
	assert_int_equal(embed_shard_from_env(&sh), 1);
	assert_int_equal(sh.index, 3);
	assert_int_equal(sh.count, 4);
	assert_string_equal(sh.source, "RANK/WORLD_SIZE");
	/* PMI over torchrun, OpenMPI over PMI */
	setenv("PMI_RANK", "1", 1);
	setenv("PMI_SIZE", "2", 1);
	assert_int_equal(embed_shard_from_env(&sh), 1);
	assert_string_equal(sh.source, "PMI_RANK/PMI_SIZE");
	setenv("OMPI_COMM_WORLD_RANK", "2", 1);
	setenv("OMPI_COMM_WORLD_SIZE", "5", 1);
	assert_int_equal(embed_shard_from_env(&sh), 1);
	assert_int_equal(sh.index, 2);
	assert_int_equal(sh.count, 5);
	assert_string_equal(sh.source, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE");
	/* Slurm: SLURM_PROCID counts only inside an srun step */
	setenv("SLURM_PROCID", "6", 1);
	setenv("SLURM_NTASKS", "7", 1);
	assert_int_equal(embed_shard_from_env(&sh), 1);
	assert_string_equal(sh.source, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE");
	setenv("SLURM_STEP_ID", "0", 1);
	assert_int_equal(embed_shard_from_env(&sh), 1);
	assert_int_equal(sh.index, 6);
	assert_int_equal(sh.count, 7);
	/* an array task wins; count, or min/max/step */
	setenv("SLURM_ARRAY_TASK_ID", "5", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "9", 1);
	assert_int_equal(embed_shard_from_env(&sh), 1);
	assert_int_equal(sh.index, 5);
	assert_int_equal(sh.count, 9);
	unsetenv("SLURM_ARRAY_TASK_COUNT");
	setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
	setenv("SLURM_ARRAY_TASK_MAX", "9", 1);
	setenv("SLURM_ARRAY_TASK_STEP", "2", 1);
	assert_int_equal(embed_shard_from_env(&sh), 1);
	assert_int_equal(sh.index, 2); /* ids 1,3,5,7,9 */
	assert_int_equal(sh.count, 5);
	setenv("SLURM_ARRAY_TASK_ID", "4", 1); /* not on the step */
	assert_int_equal(embed_shard_from_env(&sh), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "SLURM_ARRAY_TASK_ID=4"));
	unsetenv("SLURM_ARRAY_TASK_MIN");
	unsetenv("SLURM_ARRAY_TASK_MAX");
	unsetenv("SLURM_ARRAY_TASK_STEP");
	assert_int_equal(embed_shard_from_env(&sh), VV_EINVAL); /* no count */
	clear_env();
	/* malformed ranks */
	setenv("RANK", "4", 1);
	setenv("WORLD_SIZE", "4", 1);
	assert_int_equal(embed_shard_from_env(&sh), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "RANK=4"));
	setenv("RANK", "x", 1);
	assert_int_equal(embed_shard_from_env(&sh), VV_EINVAL);
	/* one task is the plain stage; --shard wins over the environment */
	setenv("RANK", "0", 1);
	setenv("WORLD_SIZE", "1", 1);
	assert_int_equal(embed_shard_resolve(NULL, &sh), 0);
	assert_int_equal(sh.count, 0);
	assert_int_equal(embed_shard_resolve("1/3", &sh), 0);
	assert_int_equal(sh.index, 1);
	assert_int_equal(sh.count, 3);
	assert_string_equal(sh.source, "--shard");
	clear_env();
}

/* ---- the plan -------------------------------------------------------- */

static void
check_plan(const uint64_t *cost, size_t T, size_t n, size_t align, int N)
{
	embed_shard_plan *p = NULL, *q = NULL;
	uint64_t load[64] = { 0 }, total = 0, maxblock = 0;
	size_t u, c, next = 0, last = 0;
	int s;

	assert_true(N <= 64);
	assert_int_equal(embed_shard_plan_make(cost, T, n, align, N, &p), 0);
	assert_int_equal(embed_shard_plan_make(cost, T, n, align, N, &q), 0);
	/* deterministic */
	assert_int_equal(p->nunits, q->nunits);
	assert_memory_equal(p->unit, q->unit, p->nunits * sizeof(*p->unit));
	assert_true(p->nunits <= T + (size_t)N - 1);
	for (u = 0; u < p->nunits; u++) {
		const embed_shard_unit *un = &p->unit[u];

		if (u == 0 || un->ckpt != p->unit[u - 1].ckpt) {
			/* a new checkpoint starts at row 0 after the last one ended at n */
			assert_true(u == 0 || next == n);
			assert_int_equal(un->ckpt, u == 0 ? 0 : last + 1);
			assert_int_equal(un->part, 0);
			next = 0;
		}
		last = un->ckpt;
		assert_int_equal(un->r0, next);
		assert_true(un->r1 > un->r0);
		assert_true(un->r0 % align == 0);
		assert_true(un->r1 % align == 0 || un->r1 == n);
		assert_true(un->part < un->parts);
		assert_true(un->owner >= 0 && un->owner < N);
		/* owners never go back: each shard's share is contiguous */
		assert_true(u == 0 || un->owner >= p->unit[u - 1].owner);
		next = un->r1;
		load[un->owner] += cost[un->ckpt] * (un->r1 - un->r0);
	}
	assert_int_equal(next, n);
	assert_int_equal(last, T - 1);
	for (c = 0; c < T; c++) {
		total += cost[c] * n;
		if (cost[c] * align > maxblock)
			maxblock = cost[c] * align;
	}
	/* every shard within one block of an equal share */
	for (s = 0; s < N; s++)
		assert_true(load[s] * (uint64_t)N <= total + (uint64_t)N * maxblock &&
			    load[s] * (uint64_t)N + (uint64_t)N * maxblock >= total);
	embed_shard_plan_free(&p);
	embed_shard_plan_free(&q);
	assert_null(p);
}

static void
test_plan(void **state)
{
	uint64_t equal[50], mixed[5] = { 100, 100, 400, 25, 100 };
	embed_shard_plan *p = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 50; i++)
		equal[i] = 327;
	check_plan(equal, 50, 10000, 16, 1);
	check_plan(equal, 50, 10000, 16, 8);
	check_plan(equal, 50, 10000, 16, 64);
	check_plan(equal, 4, 80, 16, 3);
	check_plan(equal, 1, 10000, 16, 7);
	check_plan(mixed, 5, 1000, 16, 3);
	check_plan(mixed, 5, 37, 8, 4);
	/* bigger checkpoints get fewer rows per shard: the 400 one is split */
	assert_int_equal(embed_shard_plan_make(mixed, 5, 1000, 16, 3, &p), 0);
	for (i = 0; i < p->nunits; i++)
		if (p->unit[i].ckpt == 2)
			assert_true(p->unit[i].parts >= 2);
	embed_shard_plan_free(&p);
	/* more shards than blocks: some shards get nothing */
	check_plan(equal, 1, 20, 16, 5);
	assert_int_equal(embed_shard_plan_make(equal, 0, 20, 16, 0, &p), VV_EINVAL);
}

static void
test_part_name(void **state)
{
	char *s = embed_shard_part_name("checkpoint-5.part-x", 3, 12, ".npy"), *c = NULL;
	int k, n;

	(void)state;
	assert_string_equal(s, "checkpoint-5.part-x.part-0003-of-0012.npy");
	assert_int_equal(embed_shard_part_parse(s, ".npy", &c, &k, &n), 1);
	assert_string_equal(c, "checkpoint-5.part-x");
	assert_int_equal(k, 3);
	assert_int_equal(n, 12);
	free(c);
	assert_int_equal(embed_shard_part_parse(s, ".json", &c, &k, &n), 0);
	assert_int_equal(embed_shard_part_parse("a.part-0003-of-0002.json", ".json", &c, &k, &n), 0);
	assert_int_equal(embed_shard_part_parse("a.part-00x3-of-0004.json", ".json", &c, &k, &n), 0);
	assert_int_equal(embed_shard_part_parse(".part-0001-of-0004.json", ".json", &c, &k, &n), 0);
	assert_int_equal(embed_shard_part_parse("checkpoint-5.json", ".json", &c, &k, &n), 0);
	free(s);
}

/* ---- end to end ------------------------------------------------------ */

/* `vitviz embed --shard i/n` into work folder `w`. */
static int
shard(const char *w, int i, int n, const char *extra)
{
	return tu_run("--quiet embed %s --data %s -o %s " OPTS " --shard %d/%d %s", tu_path("run"), TU_DEMO_DATA,
		      tu_path(w), i, n, extra ? extra : "");
}

/* Every output of `w` equals the reference's, bytes for bytes. */
static void
assert_same_as_ref(const char *w, int analysed)
{
	static const char *const top[] = { "samples.csv", "manifest.json", "coords.npy", "scores.npy",
					   "frames.csv", "outliers.csv", "loss.csv", "analysis.json" };
	char a[700], b[700];
	size_t i;

	for (i = 0; i < NCKPT; i++) {
		snprintf(a, sizeof(a), "%s/embeddings/%s.npy", tu_path("ref"), ckpts[i]);
		snprintf(b, sizeof(b), "%s/embeddings/%s.npy", tu_path(w), ckpts[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from %s", b, a);
		snprintf(a, sizeof(a), "%s/logits/%s.npy", tu_path("ref"), ckpts[i]);
		snprintf(b, sizeof(b), "%s/logits/%s.npy", tu_path(w), ckpts[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from %s", b, a);
	}
	for (i = 0; i < (analysed ? 8u : 2u); i++) {
		snprintf(a, sizeof(a), "%s/%s", tu_path("ref"), top[i]);
		snprintf(b, sizeof(b), "%s/%s", tu_path(w), top[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from %s", b, a);
	}
	/* the parts are gone, no temporary file is left */
	assert_int_equal(tu_sh("ls %s/embeddings %s/logits | grep -q part-", tu_path(w), tu_path(w)), 1);
	assert_int_equal(tu_count_tmp(tu_path(w)), 0);
}

/* No assembled output and no manifest: a failed merge wrote nothing. */
static void
assert_nothing_assembled(const char *w)
{
	char p[700];
	size_t i;

	snprintf(p, sizeof(p), "%s/manifest.json", tu_path(w));
	assert_false(tu_exists(p));
	for (i = 0; i < NCKPT; i++) {
		snprintf(p, sizeof(p), "%s/embeddings/%s.npy", tu_path(w), ckpts[i]);
		assert_false(tu_exists(p));
	}
}

static void
test_identical_any_n(void **state)
{
	/* shards run in a different order for each N */
	static const int order8[8] = { 5, 2, 7, 0, 3, 6, 1, 4 };
	static const int ns[4] = { 1, 2, 3, 8 };
	char w[32];
	int t, i;

	(void)state;
	for (t = 0; t < 4; t++) {
		int n = ns[t];

		snprintf(w, sizeof(w), "n%d", n);
		for (i = 0; i < n; i++) {
			int s = n == 8 ? order8[i] : n - 1 - i;

			assert_int_equal(shard(w, s, n, NULL), 0);
			if (i < n - 1)
				assert_nothing_assembled(w);
		}
		assert_int_equal(tu_run("--quiet analyze %s", tu_path(w)), 0);
		assert_same_as_ref(w, 1);
		/* idempotent: merging again changes nothing */
		assert_int_equal(tu_run("merge %s", tu_path(w)), 0);
		assert_non_null(strstr(tu_err(), "holds no parts"));
		assert_same_as_ref(w, 1);
		/* a rerun of a shard finds everything current */
		assert_int_equal(shard(w, 0, n, NULL), 0);
		assert_same_as_ref(w, 1);
	}
}

static void
test_concurrent(void **state)
{
	(void)state;
	/* three shards at once, each merging at its end: the last one assembles */
	assert_int_equal(tu_sh("for i in 0 1 2; do %s --quiet embed %s --data %s -o %s " OPTS " --shard $i/3 "
			       "2>%s/err$i & done; wait", tu_vitviz(), tu_path("run"), TU_DEMO_DATA, tu_path("conc"),
			       tu_tmp),
			 0);
	/* whichever order they finished in, it is merged now (or a merge says so) */
	assert_int_equal(tu_run("merge %s", tu_path("conc")), 0);
	assert_int_equal(tu_run("--quiet analyze %s", tu_path("conc")), 0);
	assert_same_as_ref("conc", 1);

	/* eight at once with `vitviz run`: only the one that merges renders */
	assert_int_equal(tu_sh("for i in 0 1 2 3 4 5 6 7; do %s --quiet run %s --data %s -o %s/r.gif --work %s " OPTS
			       " --size 160x120 --fps 5 --seconds-per-checkpoint 0.2 --hold 0 --shard $i/8 "
			       "2>%s/err$i & done; wait", tu_vitviz(), tu_path("run"), TU_DEMO_DATA, tu_tmp,
			       tu_path("conc8"), tu_tmp),
			 0);
	assert_int_equal(tu_run("merge %s", tu_path("conc8")), 0);
	assert_true(tu_exists(tu_path("r.gif")));
	assert_same_as_ref("conc8", 1);
}

static void
test_killed_and_rerun(void **state)
{
	int i, st;

	(void)state;
	/* SIGKILL at a few points of a shard's life; then the rerun completes */
	for (i = 0; i < 3; i++) {
		pid_t pid = tu_spawn("", "--quiet embed %s --data %s -o %s " OPTS " --shard 0/2", tu_path("run"),
				     TU_DEMO_DATA, tu_path("kill"));

		assert_true(pid > 0);
		usleep((useconds_t)(60000 + 90000 * i));
		kill(pid, SIGKILL);
		st = tu_wait(pid);
		assert_true(st == 0 || st == -SIGKILL);
	}
	assert_int_equal(shard("kill", 1, 2, NULL), 0);
	assert_int_equal(shard("kill", 0, 2, NULL), 0);
	assert_int_equal(tu_run("--quiet analyze %s", tu_path("kill")), 0);
	assert_same_as_ref("kill", 1);

	/* killed mid-write, made exact: a part's .npy cut short and no manifest */
	assert_int_equal(shard("cut", 0, 2, NULL), 0);
	assert_int_equal(tu_sh("cd %s/embeddings && f=$(ls *.part-*.npy | head -1) && rm ${f%%.npy}.json && "
			       "truncate -s 100 $f && cp $f $f.tmp.999999.abcdef", tu_path("cut")),
			 0);
	assert_int_equal(shard("cut", 1, 2, NULL), 0); /* merges only when complete: not now */
	assert_nothing_assembled("cut");
	assert_int_equal(tu_run("analyze %s", tu_path("cut")), 3);
	assert_non_null(strstr(tu_err(), "missing"));
	assert_non_null(strstr(tu_err(), "(shard 0/2)"));
	assert_int_equal(shard("cut", 0, 2, NULL), 0);
	assert_int_equal(tu_run("--quiet analyze %s", tu_path("cut")), 0);
	assert_same_as_ref("cut", 1);
}

static void
test_faults(void **state)
{
	(void)state;
	/* a missing part: merge and analyze exit 3 naming it and its shard */
	assert_int_equal(shard("miss", 0, 3, NULL), 0);
	assert_int_equal(shard("miss", 2, 3, NULL), 0);
	assert_int_equal(tu_run("merge %s", tu_path("miss")), 3);
	assert_non_null(strstr(tu_err(), "embeddings/checkpoint-150.part-0001-of-0002 (shard 1/3)"));
	assert_int_equal(tu_run("analyze %s", tu_path("miss")), 3);
	assert_non_null(strstr(tu_err(), "(shard 1/3)"));
	assert_int_equal(tu_run("merge %s --if-complete", tu_path("miss")), 0);
	assert_nothing_assembled("miss");
	/* two shards given the same I: still incomplete, named; the right I completes it */
	assert_int_equal(shard("miss", 2, 3, NULL), 0);
	assert_int_equal(tu_run("merge %s", tu_path("miss")), 3);
	assert_nothing_assembled("miss");
	assert_int_equal(shard("miss", 1, 3, NULL), 0);
	assert_same_as_ref("miss", 0);

	/* other options (data subset) in one shard: exit 3 naming the part */
	assert_int_equal(shard("fp", 0, 2, NULL), 0);
	/* that shard's own merge at its end already says so */
	assert_int_equal(tu_run("--quiet embed %s --data %s -o %s --per-class 7 --shard 1/2", tu_path("run"),
				TU_DEMO_DATA, tu_path("fp")),
			 3);
	assert_non_null(strstr(tu_err(), "data (samples.csv)"));
	assert_int_equal(tu_run("merge %s", tu_path("fp")), 3);
	assert_non_null(strstr(tu_err(), "were made with different"));
	assert_non_null(strstr(tu_err(), ".part-"));
	assert_nothing_assembled("fp");
	/* the corrected rerun replaces that shard's stale parts and completes */
	assert_int_equal(shard("fp", 1, 2, NULL), 0);
	assert_same_as_ref("fp", 0);

	/* samples.csv rewritten under the parts (by a shard with other data) */
	assert_int_equal(shard("csv", 0, 2, NULL), 0);
	assert_int_equal(tu_sh("sed -i '2s/,0,/,1,/' %s/samples.csv", tu_path("csv")), 0);
	assert_int_equal(tu_run("merge %s", tu_path("csv")), 3);
	assert_non_null(strstr(tu_err(), "samples.csv is not the sample list the parts were made from"));
	assert_nothing_assembled("csv");
	assert_int_equal(shard("csv", 1, 2, NULL), 0); /* a shard rewrites it and completes */
	assert_same_as_ref("csv", 0);

	/* other options that keep the data: --pool mean */
	assert_int_equal(shard("opt", 0, 2, NULL), 0);
	assert_int_equal(shard("opt", 1, 2, "--pool mean"), 3);
	assert_int_equal(tu_run("merge %s", tu_path("opt")), 3);
	assert_non_null(strstr(tu_err(), "different options"));
	assert_nothing_assembled("opt");
	assert_int_equal(shard("opt", 1, 2, NULL), 0);
	assert_same_as_ref("opt", 0);

	/* a part from another vitviz version */
	assert_int_equal(shard("ver", 0, 2, NULL), 0);
	assert_int_equal(tu_sh("cd %s/embeddings && f=$(ls *.part-*.json | head -1) && "
			       "sed -i 's/\"vitviz_version\":[[:space:]]*\"[^\"]*\"/\"vitviz_version\": \"0.0.9\"/' $f && "
			       "grep -q 0.0.9 $f",
			       tu_path("ver")),
			 0);
	assert_int_equal(shard("ver", 1, 2, NULL), 3);
	assert_non_null(strstr(tu_err(), "written by vitviz 0.0.9"));
	assert_non_null(strstr(tu_err(), "shard 0/2"));
	assert_nothing_assembled("ver");
	assert_int_equal(shard("ver", 0, 2, NULL), 0);
	assert_same_as_ref("ver", 0);

	/* parts of another shard count beside a complete set: named as not in the plan */
	assert_int_equal(shard("dup", 0, 3, "--batch 16"), 0);
	assert_int_equal(shard("dup", 0, 2, NULL), 3);
	assert_int_equal(tu_run("merge %s", tu_path("dup")), 3);
	assert_non_null(strstr(tu_err(), "(shard 0/"));
	assert_nothing_assembled("dup");
	assert_int_equal(tu_sh("rm %s/embeddings/*.part-* %s/logits/*.part-*", tu_path("dup"), tu_path("dup")), 0);
	assert_int_equal(shard("dup", 0, 2, NULL), 0);
	assert_int_equal(shard("dup", 1, 2, NULL), 0);
	assert_same_as_ref("dup", 0);

	/* a part .npy whose shape disagrees with its manifest */
	assert_int_equal(shard("shape", 0, 2, NULL), 0);
	assert_int_equal(tu_sh("cd %s && f=$(cd logits && ls *.part-*.npy | tail -1) && cp logits/$f embeddings/$f",
			       tu_path("shape")),
			 0);
	assert_int_equal(shard("shape", 1, 2, NULL), 3);
	assert_non_null(strstr(tu_err(), "its manifest says"));
	assert_nothing_assembled("shape");
	assert_int_equal(tu_count_tmp(tu_path("shape")), 0);

	/* bad command lines */
	assert_int_equal(tu_run("embed %s --data %s -o %s --shard 2/2", tu_path("run"), TU_DEMO_DATA, tu_path("x")), 2);
	assert_non_null(strstr(tu_err(), "--shard must be I/N"));
	assert_int_equal(tu_run("merge"), 2);
	assert_int_equal(tu_run("merge %s", tu_path("nothing-here")), 3);
	assert_int_equal(tu_sh("RANK=5 WORLD_SIZE=2 %s embed %s --data %s -o %s 2>%s/err", tu_vitviz(),
			       tu_path("run"), TU_DEMO_DATA, tu_path("x"), tu_tmp),
			 2);
}

static void
test_env_end_to_end(void **state)
{
	(void)state;
	/* torchrun-style ranks; --verbose says where the shard came from */
	assert_int_equal(tu_sh("RANK=1 WORLD_SIZE=2 %s --verbose embed %s --data %s -o %s " OPTS " 2>%s/err",
			       tu_vitviz(), tu_path("run"), TU_DEMO_DATA, tu_path("env"), tu_tmp),
			 0);
	assert_non_null(strstr(tu_err(), "shard 1/2 (from RANK/WORLD_SIZE)"));
	assert_int_equal(tu_sh("RANK=1 WORLD_SIZE=2 %s info %s >%s/out", tu_vitviz(), tu_path("run"), tu_tmp), 0);
	assert_int_equal(tu_sh("grep -qx 'shard: 1/2 from RANK/WORLD_SIZE' %s/out", tu_tmp), 0);
	/* --shard wins over the environment */
	assert_int_equal(tu_sh("RANK=1 WORLD_SIZE=2 %s embed %s --data %s -o %s " OPTS " --shard 0/2 2>%s/err",
			       tu_vitviz(), tu_path("run"), TU_DEMO_DATA, tu_path("env"), tu_tmp),
			 0);
	assert_non_null(strstr(tu_err(), "shard 0/2 (from --shard)"));
	assert_same_as_ref("env", 0);
	/* one task in the environment is a plain run */
	assert_int_equal(tu_sh("SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=1 %s embed %s --data %s -o %s " OPTS
			       " 2>%s/err", tu_vitviz(), tu_path("run"), TU_DEMO_DATA, tu_path("env1"), tu_tmp),
			 0);
	assert_null(strstr(tu_err(), "(from "));
	assert_same_as_ref("env1", 0);
}

/* mpirun and a local Slurm, when this machine can run them (the script says why not) */
static void
test_launchers(void **state)
{
	int rc;

	(void)state;
	rc = tu_sh("VITVIZ=%s tests/shard_launchers.sh %s %s %s %s >%s/launch.log 2>&1", tu_vitviz(), tu_path("run"),
		   TU_DEMO_DATA, tu_path("ref"), tu_tmp, tu_tmp);
	tu_sh("cat %s/launch.log >&2", tu_tmp);
	assert_int_equal(rc, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_part_name),
		cmocka_unit_test(test_identical_any_n),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_killed_and_rerun),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_env_end_to_end),
		cmocka_unit_test(test_launchers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
