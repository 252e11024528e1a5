/* test_util.c - helpers shared by the tests (see test_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/vv_error.h"

char tu_tmp[64];

/*
 * stdout line-buffered in every test binary, so that print_message / printf
 * lines and cmocka's stderr keep their order when scripts/run-tests.sh
 * pipes them into its log.
 */
__attribute__((constructor)) static void
tu_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

const char *
tu_vitviz(void)
{
	const char *v = getenv("VITVIZ");

	return v && *v ? v : "build/vitviz";
}

int
tu_setup(const char *name)
{
	snprintf(tu_tmp, sizeof(tu_tmp), "/tmp/vv_%.30s.XXXXXX", name);
	return mkdtemp(tu_tmp) ? 0 : -1;
}

int
tu_teardown(void)
{
	if (!tu_tmp[0])
		return 0;
	if (getenv("TU_KEEP")) {
		fprintf(stderr, "TU_KEEP: kept %s\n", tu_tmp);
		return 0;
	}
	/* undo chmod 000 / 555 of the bad-input tests before removing */
	return tu_sh("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", tu_tmp, tu_tmp);
}

char *
tu_path(const char *name)
{
	static char buf[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tu_tmp, name);
	return buf[k];
}

static int
status_of(int st)
{
	if (st == -1)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return -1;
}

int
tu_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return status_of(system(cmd));
}

int
tu_run(const char *fmt, ...)
{
	char cmd[4096], line[3072];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s 2>%s/err >%s/out", tu_vitviz(), line, tu_tmp, tu_tmp);
	return status_of(system(cmd));
}

pid_t
tu_spawn(const char *prefix, const char *fmt, ...)
{
	char cmd[4096], line[3072];
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* empty now, so that a poller never sees the previous command's */
	{
		FILE *f = fopen(tu_path("err"), "w");

		if (f)
			fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "%s exec %s %s 2>%s/err >%s/out", prefix, tu_vitviz(), line,
		 tu_tmp, tu_tmp);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int
tu_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1000;
	if (WIFSIGNALED(st))
		return -WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* The start of a text file in buf (empty when unreadable). */
static const char *
read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

const char *
tu_err(void)
{
	static char buf[16384];

	return read_text(tu_path("err"), buf, sizeof(buf));
}

const char *
tu_out(void)
{
	static char buf[16384];

	return read_text(tu_path("out"), buf, sizeof(buf));
}

int
tu_count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int
tu_files_equal(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int eq = fa && fb;

	while (eq) {
		int ca = getc(fa), cb = getc(fb);

		if (ca != cb)
			eq = 0;
		if (ca == EOF || cb == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return eq;
}

int
tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
tu_count_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[1024];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			n += tu_count_tmp(p);
		} else if (strstr(e->d_name, ".tmp.")) {
			if (!n)
				fprintf(stderr, "temporary file left: %s\n", p);
			n++;
		}
	}
	closedir(d);
	return n;
}

int
tu_demo_subset(const char *dst, int n)
{
	static const int steps[] = { 15, 30, 45, 60, 75, 90, 105, 120, 135, 150, 165, 180, 195, 210, 225,
				     240, 255, 270, 285, 300, 315, 330, 345, 360, 375, 390, 405, 420, 435, 450 };
	const int total = (int)(sizeof(steps) / sizeof(*steps));
	int i;

	if (n < 1 || n > total || tu_sh("mkdir -p '%s'", tu_path(dst)))
		return -1;
	for (i = 0; i < n; i++) {
		int s = steps[n == 1 ? 0 : i * (total - 1) / (n - 1)];

		if (tu_sh("cp -r %s/checkpoint-%d '%s/'", TU_DEMO_RUN, s, tu_path(dst)))
			return -1;
	}
	return 0;
}

int64_t
tu_inode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int64_t)st.st_ino : -1;
}

int
tu_backdate(const char *path, int seconds)
{
	return tu_sh("find '%s' -exec touch -h -m -d @%lld {} +", path, (long long)time(NULL) - seconds);
}

double
tu_fmax(double m, double v)
{
	if (isnan(m) || isnan(v))
		return INFINITY;
	return v > m ? v : m;
}

double
tu_max_diff_f32(const float *a, const float *b, int64_t n)
{
	double m = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		m = tu_fmax(m, fabs((double)a[i] - (double)b[i]));
	return m;
}

double
tu_max_diff_f64(const double *a, const double *b, int64_t n)
{
	double m = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		m = tu_fmax(m, fabs(a[i] - b[i]));
	return m;
}

double
tu_max_diff_f64_f32(const double *a, const float *b, int64_t n)
{
	double m = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		m = tu_fmax(m, fabs(a[i] - (double)b[i]));
	return m;
}

double
tu_max_abs_f32(const float *a, int64_t n)
{
	double m = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		m = tu_fmax(m, fabs((double)a[i]));
	return m;
}

double
tu_max_diff_array(const vv_array *a, const vv_array *b, const char *what)
{
	int i;

	if (a->dtype != VV_F32 || b->dtype != VV_F32)
		fail_msg("%s: not float32 arrays", what);
	if (a->ndim != b->ndim)
		fail_msg("%s: %d vs %d dimensions", what, a->ndim, b->ndim);
	for (i = 0; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			fail_msg("%s: dimension %d is %lld vs %lld", what, i, (long long)a->shape[i],
				 (long long)b->shape[i]);
	return tu_max_diff_f32(a->data, b->data, vv_array_numel(a));
}

void
tu_assert_close_f32_at(const char *file, int line, const char *what, const float *got, const float *want,
		       int64_t n, double tol)
{
	double m = 0;
	int64_t i;

	for (i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);

		if (!(d <= tol)) { /* also NaN */
			print_error("%s: element %lld is %.9g, expected %.9g (|diff| %.3g > %.3g)\n", what,
				    (long long)i, got[i], want[i], d, tol);
			_fail(file, line);
		}
		m = tu_fmax(m, d);
	}
	print_message("%s: max |diff| %.3g over %lld values (tolerance %.3g)\n", what, m, (long long)n, tol);
}

vv_array *
tu_load_npy(const char *fmt, ...)
{
	char path[1024];
	vv_array *a = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (vv_npy_read(path, &a))
		fail_msg("%s: %s", path, vv_errmsg());
	return a;
}

double *
tu_load_npy_f64(const char *path, int64_t *count)
{
	vv_array *a = tu_load_npy("%s", path);
	int64_t i, n = vv_array_numel(a);
	double *d = malloc((size_t)(n ? n : 1) * sizeof(*d));

	assert_non_null(d);
	if (a->dtype != VV_F32)
		fail_msg("%s: not a float array", path);
	for (i = 0; i < n; i++)
		d[i] = ((float *)a->data)[i];
	if (count)
		*count = n;
	vv_array_free(&a);
	return d;
}
