/*
 * vv_error.h - error codes and the per-thread error message.
 *
 * Every fallible function in vitviz returns 0 on success or one of the
 * negative VV_E* codes below, after recording a one-line message that names
 * the file and the problem ("checkpoint-500/model.safetensors: header length
 * 9e18 exceeds the file size").  The CLI prints that line and exits with
 * vv_exit_code().
 */
#ifndef VV_ERROR_H
#define VV_ERROR_H

enum {
	VV_OK = 0,
	VV_EINVAL = -1,       /* bad argument or option value */
	VV_ENOMEM = -2,       /* allocation failed or a size would overflow */
	VV_EIO = -3,          /* the operating system refused a write (outputs) */
	VV_EFORMAT = -4,      /* an input file is malformed or truncated */
	VV_EUNSUPPORTED = -5, /* well-formed input that vitviz cannot handle */
	VV_ENOTFOUND = -6,    /* a file, tensor, key or checkpoint is missing */
	VV_EMISMATCH = -7,    /* inputs are individually fine but disagree */
	VV_EREAD = -8,        /* the operating system refused to read an input (EACCES, EIO, EISDIR) */
};

/* Process exit codes, documented in the README and `vitviz --help`. */
enum {
	VV_EXIT_OK = 0,
	VV_EXIT_ERROR = 1,  /* internal or resource error */
	VV_EXIT_USAGE = 2,  /* bad command line */
	VV_EXIT_INPUT = 3,  /* bad or missing input files */
	VV_EXIT_OUTPUT = 4, /* could not write the outputs */
};

/*
 * Record a printf-style message for the calling thread and return `code`,
 * so that callers can write `return vv_error(VV_EFORMAT, "%s: ...", path);`.
 */
int vv_error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the current message with "<prefix>: " (adds context on the way up). */
void vv_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last message recorded by this thread, or "" if none. */
const char *vv_errmsg(void);

/* Forget the recorded message. */
void vv_error_clear(void);

/* Map a VV_E* code to the process exit code the CLI uses. */
int vv_exit_code(int err);

/* Short name of a code ("format error"). */
const char *vv_strerror(int err);

#endif
