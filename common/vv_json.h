/*
 * vv_json.h - JSON through cJSON, tolerant of what Python's json.dumps writes.
 *
 * Python writes the non-standard tokens NaN, Infinity and -Infinity for
 * non-finite floats (trainer_state.json does).  vv_json_parse() accepts them
 * outside strings; vv_json_number() turns them back into doubles.
 */
#ifndef VV_JSON_H
#define VV_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Largest JSON file vitviz reads (trainer_state.json of long runs included). */
#define VV_JSON_MAX_FILE ((size_t)256 << 20)

/* Parse a buffer; `name` is used in the error message. NULL on error. */
cJSON *vv_json_parse(const char *name, const char *text, size_t len);

/* Read and parse a file of at most VV_JSON_MAX_FILE bytes. NULL on error. */
cJSON *vv_json_load(const char *path);

/*
 * The numeric value of `item`: a JSON number, or one of the Python tokens
 * NaN / Infinity / -Infinity.  Returns 0, or VV_EFORMAT when it is neither.
 */
int vv_json_number(const cJSON *item, double *out);

/* Object member as double / int / string, with a default when absent. */
double vv_json_get_double(const cJSON *obj, const char *key, double def);
long long vv_json_get_int(const cJSON *obj, const char *key, long long def);
const char *vv_json_get_string(const cJSON *obj, const char *key, const char *def);

/* Serialise (indented) and write atomically. */
int vv_json_save(const char *path, const cJSON *root);

#endif
