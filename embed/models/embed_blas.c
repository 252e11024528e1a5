/* embed_blas.c - OpenBLAS kernel selection and description. */
#include "embed/models/embed_blas.h"
#include "common/vv_thread.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* set in the re-exec'd process; removed from its environment at once */
#define MARK "VITVIZ_BLAS_REEXEC"

static int selected_by_us; /* 1 after our own re-exec */

static int
avx512_kernels(const char *core)
{
	static const char *const names[] = { "SkylakeX", "Cooperlake", "SapphireRapids", NULL };
	int i;

	for (i = 0; names[i]; i++)
		if (core && !strcmp(core, names[i]))
			return 1;
	return 0;
}

static int
cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
	/* libgcc checks XCR0 too: these are false when the OS does not save
	 * the AVX-512 state */
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
	       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vl");
#else
	return 0;
#endif
}

void
embed_blas_select_kernels(int argc, char **argv)
{
	(void)argc;
	if (getenv(MARK)) {
		selected_by_us = 1;
		unsetenv(MARK);
		return;
	}
	if (getenv("OPENBLAS_CORETYPE"))
		return;
	if (avx512_kernels(openblas_get_corename()) || !cpu_has_avx512())
		return;
	if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) || setenv(MARK, "1", 1))
		goto undo;
	fflush(NULL);
	execv("/proc/self/exe", argv);
undo:
	/* the re-exec failed: go on with the kernels we have */
	unsetenv("OPENBLAS_CORETYPE");
	unsetenv(MARK);
}

const char *
embed_blas_corename(void)
{
	const char *c = openblas_get_corename();

	return c ? c : "unknown";
}

int
embed_blas_threads(void)
{
	return vv_threads();
}

const char *
embed_blas_describe(void)
{
	static char buf[160];
	const char *cfg = openblas_get_config(), *origin = "";
	char ver[48] = "OpenBLAS";

	/* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": keep the first two words */
	if (cfg && sscanf(cfg, "%*s %38s", ver + 9) == 1)
		ver[8] = ' ';
	if (selected_by_us)
		origin = " (selected by vitviz)";
	else if (getenv("OPENBLAS_CORETYPE"))
		origin = " (OPENBLAS_CORETYPE)";
	snprintf(buf, sizeof(buf), "%s, %s kernels%s, %d thread%s", ver, embed_blas_corename(),
		 origin, embed_blas_threads(), embed_blas_threads() == 1 ? "" : "s");
	return buf;
}
