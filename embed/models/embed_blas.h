/*
 * embed_blas.h - which OpenBLAS kernels vitviz runs on, and how it gets the
 * right ones.
 *
 * Debian's OpenBLAS is built with DYNAMIC_ARCH: it picks a kernel set
 * (Haswell, SkylakeX, ...) once, when the library loads, from the CPU model
 * it knows, or from the OPENBLAS_CORETYPE environment variable.  OpenBLAS
 * 0.3.21 does not know every AVX-512 CPU (newer AMD and some virtual CPU
 * models) and then falls back to AVX2 (Haswell/Zen) kernels at about half
 * the sgemm rate.  embed_blas_select_kernels() fixes that for the program
 * that calls it first thing in main().
 */
#ifndef EMBED_BLAS_H
#define EMBED_BLAS_H

/*
 * When the loaded kernel set is not an AVX-512 one, the CPU and the OS
 * support AVX-512 (F, CD, BW, DQ, VL: what OpenBLAS's SkylakeX kernels use)
 * and the user has not set OPENBLAS_CORETYPE, set OPENBLAS_CORETYPE=SkylakeX
 * and re-exec the program (/proc/self/exe with the same argv) so that the
 * library loads again with those kernels.  Returns (doing nothing) in every
 * other case, including when the re-exec fails; never exits.  Call it at
 * the top of main(), before any thread is started or output written.
 */
void embed_blas_select_kernels(int argc, char **argv);

/* The active kernel set, as openblas_get_corename() says ("SkylakeX"). */
const char *embed_blas_corename(void);

/* Worker threads vitviz runs BLAS on (vv_threads(); OpenBLAS itself runs
 * single-threaded inside each, see common/vv_thread.h). */
int embed_blas_threads(void);

/*
 * One line saying which BLAS runs and how, for --version and --verbose:
 * "OpenBLAS 0.3.21, SkylakeX kernels (selected by vitviz), 2 threads".
 * The origin in parentheses is "selected by vitviz" after a re-exec by
 * embed_blas_select_kernels(), "OPENBLAS_CORETYPE" when the user set the
 * variable, nothing when the library chose.  Static storage.
 */
const char *embed_blas_describe(void);

#endif
