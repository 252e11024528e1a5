/* vv_error.c - per-thread error messages. */
#include "common/vv_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define VV_ERRMSG_MAX 1024

static _Thread_local char errmsg[VV_ERRMSG_MAX];

int
vv_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return code;
}

void
vv_error_prefix(const char *fmt, ...)
{
	char prefix[VV_ERRMSG_MAX], both[2 * VV_ERRMSG_MAX + 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(both, sizeof(both), "%s: %s", prefix, errmsg);
	memcpy(errmsg, both, sizeof(errmsg) - 1);
	errmsg[sizeof(errmsg) - 1] = '\0';
}

const char *
vv_errmsg(void)
{
	return errmsg;
}

void
vv_error_clear(void)
{
	errmsg[0] = '\0';
}

int
vv_exit_code(int err)
{
	switch (err) {
	case VV_OK:
		return VV_EXIT_OK;
	case VV_EINVAL:
		return VV_EXIT_USAGE;
	case VV_EFORMAT:
	case VV_EUNSUPPORTED:
	case VV_ENOTFOUND:
	case VV_EMISMATCH:
	case VV_EREAD:
		return VV_EXIT_INPUT;
	case VV_EIO:
		return VV_EXIT_OUTPUT;
	default:
		return VV_EXIT_ERROR;
	}
}

const char *
vv_strerror(int err)
{
	switch (err) {
	case VV_OK: return "success";
	case VV_EINVAL: return "invalid argument";
	case VV_ENOMEM: return "out of memory";
	case VV_EIO: return "I/O error";
	case VV_EFORMAT: return "malformed input";
	case VV_EUNSUPPORTED: return "unsupported input";
	case VV_ENOTFOUND: return "not found";
	case VV_EMISMATCH: return "inputs disagree";
	case VV_EREAD: return "read error";
	default: return "unknown error";
	}
}
