/*
 * test_determinism.c - the same inputs give the same outputs.
 *
 * On one kernel path (OpenBLAS's kernel set and vitviz's element-wise
 * kernel level) every output - .npy, CSV, JSON, dynamics and the MP4 - is
 * byte-identical run after run and for any --threads (1, 2, 3 here; the
 * pipeline, and the outlier search, PCA and forward pass through the
 * library).  vitviz cuts its work into tiles fixed by the data, never by
 * the thread count, and OpenBLAS never threads a call (common/vv_thread.h).
 *
 * Across kernel paths the float32 arithmetic rounds differently (another
 * summation order inside each GEMM, another exp/erf polynomial).  Measured
 * on the demo subset below, SkylakeX+AVX-512, Haswell+AVX2 and the generic
 * Prescott+C paths against each other: embeddings and logits within 41
 * float32 ulps of each array's largest magnitude (max abs 6.3e-6, 2.5e-6 of
 * max|x|), coordinates 35 ulps, scores 6; ranks and predictions equal.
 * Asserted: every float of an array, and every number of a CSV column,
 * within 2^-16 (256 ulps, 1.5e-5) of that array's or column's largest
 * magnitude; text cells (and so ranks, predicted classes) equal.  The
 * paths run as child processes with OPENBLAS_CORETYPE and VITVIZ_KERNELS
 * set; a path the CPU cannot run is left out (and said).
 * Runs ./build/vitviz ($VITVIZ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis_ood.h"
#include "analysis/analysis_pca.h"
#include "common/vv_csv.h"
#include "common/vv_npy.h"
#include "common/vv_thread.h"
#include "tests/test_util.h"

#define NCKPT 4
#define OPTS "--per-class 8 --size 160x120 --fps 5 --seconds-per-checkpoint 0.2 --hold 0.2"
/* across kernel paths: 2^-16 of the largest magnitude (256 float32 ulps) */
#define PATH_RTOL 0x1p-16

/* what tu_demo_subset(.., 4) copies */
static const char *const ckpts[NCKPT] = { "checkpoint-15", "checkpoint-150", "checkpoint-300",
					  "checkpoint-450" };
static const char *const arrays[] = { "coords.npy", "scores.npy" };
static const char *const csvs[] = { "samples.csv", "outliers.csv", "loss.csv", "frames.csv" };
/* compared byte for byte only */
static const char *const others[] = { "manifest.json", "analysis.json", "dynamics.csv",
				      "dynamics.npy", "dynamics.json" };

/* `vitviz run` into work folder `work` (and work.mp4), `env` before the command */
static int
run_into(const char *env, const char *work, int threads)
{
	char out[600];

	snprintf(out, sizeof(out), "%s.mp4", work);
	return tu_sh("%s %s --quiet run %s --data %s -o %s --work %s --threads %d " OPTS
		     " 2>%s/err >%s/out", env, tu_vitviz(), tu_path("run"), TU_DEMO_DATA, out, work,
		     threads, tu_tmp, tu_tmp);
}

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_determinism") || tu_demo_subset("run", NCKPT))
		return -1;
	if (run_into("", tu_path("t1"), 1) || run_into("", tu_path("t1b"), 1) ||
	    run_into("", tu_path("t2"), 2) || run_into("", tu_path("t3"), 3))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/*
 * Every output of work folder `a` and its twin in `b`, as paths: the
 * arrays and CSV files, and with `all` also the JSON files, the training
 * dynamics and the video.
 */
static size_t
list_outputs(const char *a, const char *b, int all, char pa[][600], char pb[][600])
{
	size_t n = 0, i;

	for (i = 0; i < NCKPT; i++) {
		snprintf(pa[n], 600, "%s/embeddings/%s.npy", a, ckpts[i]);
		snprintf(pb[n++], 600, "%s/embeddings/%s.npy", b, ckpts[i]);
		snprintf(pa[n], 600, "%s/logits/%s.npy", a, ckpts[i]);
		snprintf(pb[n++], 600, "%s/logits/%s.npy", b, ckpts[i]);
	}
	for (i = 0; i < sizeof(arrays) / sizeof(*arrays); i++) {
		snprintf(pa[n], 600, "%s/%s", a, arrays[i]);
		snprintf(pb[n++], 600, "%s/%s", b, arrays[i]);
	}
	for (i = 0; i < sizeof(csvs) / sizeof(*csvs); i++) {
		snprintf(pa[n], 600, "%s/%s", a, csvs[i]);
		snprintf(pb[n++], 600, "%s/%s", b, csvs[i]);
	}
	for (i = 0; all && i < sizeof(others) / sizeof(*others); i++) {
		snprintf(pa[n], 600, "%s/%s", a, others[i]);
		snprintf(pb[n++], 600, "%s/%s", b, others[i]);
	}
	if (all) {
		snprintf(pa[n], 600, "%s.mp4", a);
		snprintf(pb[n++], 600, "%s.mp4", b);
	}
	return n;
}

/* Every output of `a` and `b` byte for byte. */
static void
check_identical(const char *a, const char *b)
{
	char pa[32][600], pb[32][600];
	size_t n = list_outputs(a, b, 1, pa, pb), i;

	for (i = 0; i < n; i++) {
		assert_true(tu_exists(pa[i]));
		if (!tu_files_equal(pa[i], pb[i]))
			fail_msg("%s and %s differ", pa[i], pb[i]);
	}
}

/* Same thread count, two runs: byte-identical. */
static void
test_rerun_identical(void **state)
{
	(void)state;
	check_identical(tu_path("t1"), tu_path("t1b"));
}

/* --threads 1, 2 and 3: byte-identical. */
static void
test_threads_identical(void **state)
{
	(void)state;
	check_identical(tu_path("t1"), tu_path("t2"));
	check_identical(tu_path("t1"), tu_path("t3"));
	printf("threads 1, 2, 3: every output byte-identical (%s)\n", getenv("OPENBLAS_CORETYPE") ?
	       getenv("OPENBLAS_CORETYPE") : "OpenBLAS's own kernel choice");
}

/* Clustered rows (classes around random centres), deterministic. */
static float *
clustered(int64_t n, int64_t d)
{
	float *x = malloc((size_t)(n * d) * sizeof(*x)), *c = malloc((size_t)(10 * d) * sizeof(*c));
	unsigned s = 12345;
	int64_t i, j;

	assert_non_null(x);
	assert_non_null(c);
#define RND() ((s = s * 1103515245u + 12345u), ((float)((s >> 8) & 0xffff) / 65536.0f - 0.5f))
	for (i = 0; i < 10 * d; i++)
		c[i] = RND();
	for (i = 0; i < n; i++)
		for (j = 0; j < d; j++)
			x[i * d + j] = c[(i % 10) * d + j] + 0.05f * RND();
#undef RND
	free(c);
	return x;
}

/*
 * The outlier search through the library on 1, 2 and 3 workers: the
 * pruned cosine pass (n >= 512), the symmetric one (pruning off) and the
 * euclidean GEMM tiles give the same bytes.
 */
static void
test_ood_threads_identical(void **state)
{
	enum { N = 1500 };
	float *x = clustered(N, 64);
	double *ref = malloc(N * sizeof(*ref)), *got = malloc(N * sizeof(*got));
	int mode, th;

	(void)state;
	assert_non_null(ref);
	assert_non_null(got);
	for (mode = 0; mode < 3; mode++) {
		int metric = mode == 2 ? ANALYSIS_METRIC_EUCLIDEAN : ANALYSIS_METRIC_COSINE;

		analysis_ood_set_pruning(mode == 0);
		for (th = 1; th <= 3; th++) {
			vv_threads_set(th);
			assert_int_equal(analysis_ood_scores(x, N, 64, 0, metric, ANALYSIS_OOD_MEDIAN,
							     th == 1 ? ref : got, NULL), 0);
			if (mode == 0) /* the pruned pass ran */
				assert_true(analysis_ood_pruned_fraction() > 0);
			if (th > 1 && memcmp(ref, got, N * sizeof(*ref)))
				fail_msg("outlier scores (%s) differ between 1 and %d threads",
					 mode == 0 ? "pruned" : mode == 1 ? "symmetric" : "euclidean", th);
		}
	}
	analysis_ood_set_pruning(1);
	vv_threads_set(0);
	free(got);
	free(ref);
	free(x);
}

/*
 * PCA is the same whatever OpenBLAS's own thread count the caller left
 * (vitviz runs its BLAS single-threaded): scatter (n > d) and Gram (n <= d)
 * paths, large enough for OpenBLAS to thread a call.
 */
static void
test_pca_blas_threads(void **state)
{
	static const int64_t shapes[][2] = { { 2000, 300 }, { 300, 1000 } };
	int saved = openblas_get_num_threads(), s;

	(void)state;
	for (s = 0; s < 2; s++) {
		int64_t n = shapes[s][0], d = shapes[s][1];
		float *x = clustered(n, d);
		double *a = malloc((size_t)(2 * n) * sizeof(*a)), *b = malloc((size_t)(2 * n) * sizeof(*b));

		assert_non_null(a);
		assert_non_null(b);
		openblas_set_num_threads(1);
		assert_int_equal(analysis_pca2(x, n, d, a, NULL, NULL), 0);
		openblas_set_num_threads(3);
		assert_int_equal(analysis_pca2(x, n, d, b, NULL, NULL), 0);
		assert_int_equal(openblas_get_num_threads(), 3); /* restored */
		if (memcmp(a, b, (size_t)(2 * n) * sizeof(*a)))
			fail_msg("PCA of %lld x %lld differs between 1 and 3 OpenBLAS threads",
				 (long long)n, (long long)d);
		free(b);
		free(a);
		free(x);
	}
	openblas_set_num_threads(saved);
}

/* One job of test_workers: OpenBLAS's count as the job saw it. */
static void *
blas_count_job(void *arg)
{
	*(int *)arg = openblas_get_num_threads();
	return NULL;
}

/* One tile of test_workers: count it. */
static void
count_tile(void *ctx, int64_t tile, int worker)
{
	int *hits = ctx;

	assert_true(worker >= 0 && worker < 3);
	__atomic_add_fetch(&hits[tile], 1, __ATOMIC_RELAXED);
}

/*
 * vv_run_parallel: OpenBLAS single-threaded inside the jobs, the caller's
 * count back afterwards; vv_run_tiles: every tile exactly once.
 */
static void
test_workers(void **state)
{
	int seen[3] = { 0, 0, 0 }, hits[10] = { 0 }, saved = openblas_get_num_threads(), i;

	(void)state;
	openblas_set_num_threads(2);
	vv_run_parallel(blas_count_job, seen, sizeof(seen[0]), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(openblas_get_num_threads(), 2);
	vv_run_tiles(count_tile, hits, 10, 3);
	for (i = 0; i < 10; i++)
		assert_int_equal(hits[i], 1);
	assert_int_equal(openblas_get_num_threads(), 2);
	openblas_set_num_threads(saved);
}

/* ---- across kernel paths ---------------------------------------------- */

/* The largest |difference| of two float32 .npy files, relative to max|a|. */
static double
array_rel_diff(const char *pa, const char *pb)
{
	vv_array *x = tu_load_npy("%s", pa), *y = tu_load_npy("%s", pb);
	double d = tu_max_diff_array(x, y, pa), m = tu_max_abs_f32(x->data, vv_array_numel(x));

	vv_array_free(&x);
	vv_array_free(&y);
	if (!(d <= PATH_RTOL * m)) /* also NaN */
		fail_msg("%s: max |diff| %.3g > 2^-16 x max|x| (%.3g)", pb, d, PATH_RTOL * m);
	return m > 0 ? d / m : d;
}

static int
as_number(const char *s, double *v)
{
	char *end;

	if (!*s)
		return 0;
	*v = strtod(s, &end);
	return *end == '\0';
}

/*
 * Two CSV files cell by cell: text equal, numbers within 2^-16 of their
 * column's largest magnitude in `pa`.  Returns the largest difference seen
 * relative to that.
 */
static double
csv_rel_diff(const char *pa, const char *pb)
{
	vv_csv *x = NULL, *y = NULL;
	double worst = 0, v, w;
	size_t r, c;

	assert_int_equal(vv_csv_read(pa, 1 << 24, &x), 0);
	assert_int_equal(vv_csv_read(pb, 1 << 24, &y), 0);
	assert_int_equal(x->nrows, y->nrows);
	assert_int_equal(x->ncols, y->ncols);
	for (c = 0; c < x->ncols; c++) {
		double m = 0;

		assert_string_equal(x->header[c], y->header[c]);
		for (r = 0; r < x->nrows; r++)
			if (as_number(x->rows[r][c], &v))
				m = tu_fmax(m, fabs(v));
		for (r = 0; r < x->nrows; r++) {
			const char *s = x->rows[r][c], *t = y->rows[r][c];
			double d;

			if (!as_number(s, &v) || !as_number(t, &w)) {
				if (strcmp(s, t))
					fail_msg("%s row %zu col %s: \"%s\" vs \"%s\"", pb, r + 1,
						 x->header[c], s, t);
				continue;
			}
			d = fabs(v - w);
			if (!(d <= PATH_RTOL * m) && !(isnan(v) && isnan(w)))
				fail_msg("%s row %zu col %s: %s vs %s (more than 2^-16 x %.3g apart)", pb,
					 r + 1, x->header[c], s, t, m);
			if (m > 0 && d == d)
				worst = tu_fmax(worst, d / m);
		}
	}
	vv_csv_free(&x);
	vv_csv_free(&y);
	return worst;
}

/* A kernel path: OpenBLAS's kernel set and vitviz's element-wise level. */
struct kpath {
	const char *coretype; /* OPENBLAS_CORETYPE */
	const char *kernels;  /* VITVIZ_KERNELS */
	const char *needs[6]; /* CPU features it needs (__builtin_cpu_supports) */
};

static int
path_runs_here(const struct kpath *p)
{
#if defined(__x86_64__)
	int i;

	__builtin_cpu_init();
	for (i = 0; p->needs[i]; i++) {
		const char *f = p->needs[i];

		/* __builtin_cpu_supports wants a literal */
		if ((!strcmp(f, "avx512f") && !__builtin_cpu_supports("avx512f")) ||
		    (!strcmp(f, "avx512cd") && !__builtin_cpu_supports("avx512cd")) ||
		    (!strcmp(f, "avx512bw") && !__builtin_cpu_supports("avx512bw")) ||
		    (!strcmp(f, "avx512dq") && !__builtin_cpu_supports("avx512dq")) ||
		    (!strcmp(f, "avx512vl") && !__builtin_cpu_supports("avx512vl")) ||
		    (!strcmp(f, "avx2") && !__builtin_cpu_supports("avx2")) ||
		    (!strcmp(f, "fma") && !__builtin_cpu_supports("fma")))
			return 0;
	}
	return 1;
#else
	(void)p;
	return 0;
#endif
}

/*
 * The pipeline under each kernel path the CPU has, as child processes
 * (--threads 3): every path within the stated tolerance of the first.
 * (.ci/run runs this whole file again under the Haswell and the AVX-512
 * path, which checks the thread counts on each.)
 */
static void
test_kernel_paths_within_tolerance(void **state)
{
	static const struct kpath paths[] = {
		{ "SkylakeX", "avx512", { "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", NULL } },
		{ "Haswell", "avx2", { "avx2", "fma", NULL } },
		{ "Prescott", "generic", { NULL } },
	};
	char first[600] = "", work[600], env[160], pa[32][600], pb[32][600];
	double arr = 0, csv = 0;
	size_t p, n, i, ran = 0;

	(void)state;
	for (p = 0; p < sizeof(paths) / sizeof(*paths); p++) {
		if (!path_runs_here(&paths[p])) {
			printf("kernel path %s + %s: this CPU cannot run it, left out\n", paths[p].coretype,
			       paths[p].kernels);
			continue;
		}
		snprintf(env, sizeof(env), "OPENBLAS_CORETYPE=%s VITVIZ_KERNELS=%s", paths[p].coretype,
			 paths[p].kernels);
		/* the child really runs that path */
		assert_int_equal(tu_sh("%s %s --version >%s/out", env, tu_vitviz(), tu_tmp), 0);
		if (!strstr(tu_out(), paths[p].coretype))
			fail_msg("%s: vitviz --version says \"%s\"", env, tu_out());
		snprintf(work, sizeof(work), "%s", tu_path(paths[p].coretype));
		assert_int_equal(run_into(env, work, 3), 0);
		ran++;
		if (!first[0]) {
			snprintf(first, sizeof(first), "%s", work);
			continue;
		}
		n = list_outputs(first, work, 0, pa, pb);
		for (i = 0; i < n; i++)
			if (strstr(pa[i], ".npy"))
				arr = tu_fmax(arr, array_rel_diff(pa[i], pb[i]));
			else
				csv = tu_fmax(csv, csv_rel_diff(pa[i], pb[i]));
	}
	printf("kernel paths: %zu ran; largest difference relative to max|x|: arrays %.3g (%.1f ulps), "
	       "CSV numbers %.3g\n", ran, arr, arr / 0x1p-24, csv);
	if (ran < 2)
		skip();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rerun_identical),
		cmocka_unit_test(test_threads_identical),
		cmocka_unit_test(test_ood_threads_identical),
		cmocka_unit_test(test_pca_blas_threads),
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_kernel_paths_within_tolerance),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
