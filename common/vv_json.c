/* vv_json.c - cJSON with Python's non-finite number tokens. */
#include "common/vv_json.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Sentinel strings the non-finite tokens are rewritten to before cJSON runs. */
/* (a leading U+0001 cannot come from a real trainer_state.json value) */
#define NAN_TOKEN "\"\\u0001NaN\""
#define PINF_TOKEN "\"\\u0001+Inf\""
#define NINF_TOKEN "\"\\u0001-Inf\""

static int
token_at(const char *p, const char *end, const char *tok)
{
	size_t n = strlen(tok);

	return (size_t)(end - p) >= n && !memcmp(p, tok, n);
}

cJSON *
vv_json_parse(const char *name, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *pend = NULL, *nul;
	char *buf, *o;
	int in_str = 0;
	cJSON *root;

	/* cJSON would stop at a NUL and ignore what follows it */
	nul = memchr(text, '\0', len);
	if (nul) {
		vv_error(VV_EFORMAT, "%s: invalid JSON: NUL byte at byte %ld", name, (long)(nul - text));
		return NULL;
	}
	/*
	 * The longest growth is "NaN" (3 bytes) -> NAN_TOKEN (11 bytes), so a run of
	 * NaNs needs more than 3 bytes per input byte; 4 per byte always suffices.
	 */
	if (len > (SIZE_MAX - 1) / 4) {
		vv_error(VV_ENOMEM, "%s: too large", name);
		return NULL;
	}
	buf = malloc(len * 4 + 1);
	if (!buf) {
		vv_error(VV_ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	o = buf;
	while (p < end) {
		if (in_str) {
			if (*p == '\\' && p + 1 < end) {
				*o++ = *p++;
			} else if (*p == '"') {
				in_str = 0;
			}
			*o++ = *p++;
			continue;
		}
		if (*p == '"') {
			in_str = 1;
			*o++ = *p++;
		} else if (token_at(p, end, "NaN")) {
			o = stpcpy(o, NAN_TOKEN);
			p += 3;
		} else if (token_at(p, end, "-Infinity")) {
			o = stpcpy(o, NINF_TOKEN);
			p += 9;
		} else if (token_at(p, end, "Infinity")) {
			o = stpcpy(o, PINF_TOKEN);
			p += 8;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	/*
	 * The length includes the terminator so that require_null_terminated
	 * rejects anything but whitespace after the top-level value.
	 */
	root = cJSON_ParseWithLengthOpts(buf, (size_t)(o - buf) + 1, &pend, 1);
	if (!root) {
		const char *ep = cJSON_GetErrorPtr();
		long off = ep && ep >= buf && ep <= o ? (long)(ep - buf) : -1;

		if (pend && pend >= buf && pend <= o)
			off = (long)(pend - buf);
		vv_error(VV_EFORMAT, "%s: invalid JSON near byte %ld", name, off);
	}
	free(buf);
	return root;
}

cJSON *
vv_json_load(const char *path)
{
	char *text;
	size_t len;
	cJSON *root;

	if (vv_read_file(path, VV_JSON_MAX_FILE, &text, &len))
		return NULL;
	root = vv_json_parse(path, text, len);
	free(text);
	return root;
}

int
vv_json_number(const cJSON *item, double *out)
{
	if (cJSON_IsNumber(item)) {
		*out = item->valuedouble;
		return 0;
	}
	if (cJSON_IsString(item) && item->valuestring[0] == '\001') {
		const char *s = item->valuestring + 1;

		if (!strcmp(s, "NaN")) {
			*out = NAN;
			return 0;
		}
		if (!strcmp(s, "+Inf") || !strcmp(s, "-Inf")) {
			*out = s[0] == '-' ? -INFINITY : INFINITY;
			return 0;
		}
	}
	return VV_EFORMAT;
}

double
vv_json_get_double(const cJSON *obj, const char *key, double def)
{
	double v;

	if (vv_json_number(cJSON_GetObjectItemCaseSensitive(obj, key), &v))
		return def;
	return v;
}

long long
vv_json_get_int(const cJSON *obj, const char *key, long long def)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
	    fabs(it->valuedouble) > 9.0e15)
		return def;
	return (long long)it->valuedouble;
}

const char *
vv_json_get_string(const cJSON *obj, const char *key, const char *def)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) && it->valuestring ? it->valuestring : def;
}

int
vv_json_save(const char *path, const cJSON *root)
{
	char *text = cJSON_Print(root);
	int err;

	if (!text)
		return vv_error(VV_ENOMEM, "%s: out of memory serialising JSON", path);
	err = vv_write_file_atomic(path, text, strlen(text));
	cJSON_free(text);
	return err;
}
