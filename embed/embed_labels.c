/* embed_labels.c - matching data set classes with a classifier's outputs. */
#include "embed/embed_labels.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a label map is a small text file */
#define MAP_MAX_BYTES ((size_t)4 << 20)
/* names listed in a mismatch message, per side */
#define LIST_MAX 12
/* compared form of one name */
#define NAME_MAX_BYTES 256

const char *
embed_labels_mode_name(int mode)
{
	switch (mode) {
	case EMBED_LABELS_BY_NAME: return "by-name";
	case EMBED_LABELS_BY_MAP: return "by-map";
	case EMBED_LABELS_BY_INDEX: return "by-index";
	default: return "none";
	}
}

void
embed_labels_normalize(const char *in, char *out, size_t n)
{
	size_t o = 0;
	int space = 0;

	if (!n)
		return;
	for (; *in && o + 1 < n; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < n)
			out[o++] = ' ';
		space = 0;
		out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[o] = '\0';
}

/* 1 when a and b are equal in compared form. */
static int
same_name(const char *a, const char *b)
{
	char x[NAME_MAX_BYTES], y[NAME_MAX_BYTES];

	embed_labels_normalize(a ? a : "", x, sizeof(x));
	embed_labels_normalize(b ? b : "", y, sizeof(y));
	return !strcmp(x, y);
}

/* The model output named `name`, or -1 (-2 when two outputs share it). */
static int
find_name(const char *const *names, int n, const char *name)
{
	int found = -1;

	for (int k = 0; k < n; k++)
		if (same_name(names[k], name)) {
			if (found >= 0)
				return -2;
			found = k;
		}
	return found;
}

/* 1 when every name is empty or transformers' placeholder "LABEL_<i>". */
static int
generic_names(const char *const *names, int n)
{
	for (int k = 0; k < n; k++) {
		char want[32];

		if (!names || !names[k] || !names[k][0])
			continue;
		snprintf(want, sizeof(want), "LABEL_%d", k);
		if (strcmp(names[k], want))
			return 0;
	}
	return 1;
}

/* Append "a, b, c, ... (N more)" of up to LIST_MAX names to buf. */
static void
list_names(char *buf, size_t size, const char *const *names, int n)
{
	size_t o = strlen(buf);

	for (int k = 0; k < n && k < LIST_MAX && o + 1 < size; k++) {
		o += (size_t)snprintf(buf + o, size - o, "%s\"%.40s\"", k ? ", " : "", names[k] ? names[k] : "");
		if (o >= size)
			o = size - 1;
	}
	if (n > LIST_MAX && o + 1 < size)
		snprintf(buf + o, size - o, ", ... (%d in all)", n);
}

static int
mismatch(const char *const *dn, int nd, const char *data_what, const char *const *mn, int nm,
	 const char *model_what)
{
	char a[512] = "", b[512] = "";

	list_names(a, sizeof(a), dn, nd);
	list_names(b, sizeof(b), mn, nm);
	return vv_error(VV_EMISMATCH,
			"%s: the data set's classes [%s] do not match the model's [%s] (%s); say how with "
			"--label-map FILE (CSV data_class,model_class) or --labels-by-index",
			data_what, a, b, model_what);
}

/* Columns from a label map file. */
static int
match_by_map(const char *const *dn, int nd, const char *const *mn, int nm, const char *path, int *col)
{
	vv_csv *csv = NULL;
	int cd, cm, err = 0;

	if ((err = vv_csv_read(path, MAP_MAX_BYTES, &csv)))
		return err;
	cd = vv_csv_col(csv, "data_class");
	cm = vv_csv_col(csv, "model_class");
	if (cd < 0 || cm < 0) {
		err = vv_error(VV_EFORMAT, "%s: a label map needs the header data_class,model_class", path);
		goto out;
	}
	for (int j = 0; j < nd; j++)
		col[j] = -1;
	for (size_t r = 0; r < csv->nrows; r++) {
		const char *d = csv->rows[r][cd], *m = csv->rows[r][cm];
		int j = find_name(dn, nd, d), k = find_name(mn, nm, m);

		if (j == -1) {
			err = vv_error(VV_EMISMATCH, "%s line %zu: \"%.60s\" is not a class of the data set", path,
				       r + 2, d);
			goto out;
		}
		if (k < 0) {
			err = vv_error(VV_EMISMATCH, "%s line %zu: \"%.60s\" is %s of the model", path, r + 2, m,
				       k == -1 ? "not a class" : "the name of two classes");
			goto out;
		}
		if (j < 0 || (col[j] >= 0 && col[j] != k)) {
			err = vv_error(VV_EMISMATCH, "%s line %zu: data class \"%.60s\" is mapped twice", path, r + 2,
				       d);
			goto out;
		}
		col[j] = k;
	}
	for (int j = 0; j < nd; j++) {
		if (col[j] < 0) {
			err = vv_error(VV_EMISMATCH, "%s: data class \"%.60s\" has no row", path, dn[j]);
			goto out;
		}
		for (int i = 0; i < j; i++)
			if (col[i] == col[j]) {
				err = vv_error(VV_EMISMATCH, "%s: data classes \"%.60s\" and \"%.60s\" both map to \"%.60s\"",
					       path, dn[i], dn[j], mn[col[j]]);
				goto out;
			}
	}
out:
	vv_csv_free(&csv);
	return err;
}

int
embed_labels_match(const char *const *dn, int nd, const char *data_what, const char *const *mn, int nm,
		   const char *model_what, const embed_label_opts *o, int *col, int *mode)
{
	int matched = 0, all = 1;

	*mode = EMBED_LABELS_NONE;
	if (nd < 1 || nm < 1)
		return 0;
	if (o && o->by_index) {
		if (nm != nd)
			return vv_error(VV_EMISMATCH, "--labels-by-index: the model has %d classes (%s), the data set %d (%s)",
					nm, model_what, nd, data_what);
		for (int j = 0; j < nd; j++)
			col[j] = j;
		*mode = EMBED_LABELS_BY_INDEX;
		return 0;
	}
	if (o && o->map_path) {
		int err = match_by_map(dn, nd, mn, nm, o->map_path, col);

		if (!err)
			*mode = EMBED_LABELS_BY_MAP;
		return err;
	}
	for (int j = 0; j < nd; j++) {
		col[j] = find_name(mn, nm, dn[j]);
		if (col[j] >= 0) {
			matched++;
			for (int i = 0; i < j; i++)
				if (col[i] == col[j])
					all = 0; /* two data classes, one model name */
		} else {
			all = 0;
		}
	}
	if (all) {
		*mode = EMBED_LABELS_BY_NAME;
		return 0;
	}
	if (generic_names(mn, nm)) {
		if (nm != nd)
			return 0;
		vv_warn("%s: the model's classes have no names; taking the data set's class order (%s) as the "
			"model's (--label-map FILE says otherwise)", model_what, data_what);
		for (int j = 0; j < nd; j++)
			col[j] = j;
		*mode = EMBED_LABELS_BY_INDEX;
		return 0;
	}
	if (nm != nd && matched == 0)
		return 0; /* another label space: predictions not compared */
	return mismatch(dn, nd, data_what, mn, nm, model_what);
}

int
embed_labels_opts_key(const embed_label_opts *o, char out[48])
{
	char *buf = NULL;
	size_t len = 0;
	uint64_t h = 1469598103934665603ULL;
	int err;

	out[0] = '\0';
	if (!o)
		return 0;
	if (o->by_index) {
		snprintf(out, 48, "by-index");
		return 0;
	}
	if (!o->map_path)
		return 0;
	if ((err = vv_read_file(o->map_path, MAP_MAX_BYTES, &buf, &len)))
		return err;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ULL;
	}
	free(buf);
	snprintf(out, 48, "map:%016llx", (unsigned long long)h);
	return 0;
}
