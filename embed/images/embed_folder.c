/* embed_folder.c - root/<class>/<image> folders in ImageFolder order. */
#include "embed/images/embed_folder.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 16

/* A growable array of owned strings. */
struct strv {
	char **v;   /* the strings */
	size_t n;   /* used */
	size_t cap; /* allocated */
};

static int
strv_push(struct strv *s, char *owned)
{
	if (!owned)
		return vv_error(VV_ENOMEM, "out of memory");
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 16;
		char **nv = realloc(s->v, nc * sizeof(*nv));

		if (!nv) {
			free(owned);
			return vv_error(VV_ENOMEM, "out of memory");
		}
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = owned;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls > lx && !strcasecmp(s + ls - lx, suffix);
}

int
embed_folder_is_image_name(const char *name)
{
	return ends_with(name, ".jpg") || ends_with(name, ".jpeg") || ends_with(name, ".png");
}

/* Other extensions ImageFolder would have taken. */
static int
is_other_image_name(const char *name)
{
	static const char *const ext[] = { ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp" };
	size_t i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (ends_with(name, ext[i]))
			return 1;
	return 0;
}

/* `rel` and every folder below it, relative to root. */
static int
collect_dirs(const char *root, const char *rel, int depth, struct strv *dirs, int *deep)
{
	char *full = vv_path_join(root, rel), **names = NULL;
	size_t n = 0, i;
	int err;

	if (!full)
		return VV_ENOMEM;
	err = strv_push(dirs, vv_strdup(rel));
	if (!err)
		err = vv_list_dir(full, &names, &n);
	for (i = 0; i < n && !err; i++) {
		char *sub, *subfull;

		if (names[i][0] == '.')
			continue;
		sub = vv_path_join(rel, names[i]);
		subfull = sub ? vv_path_join(root, sub) : NULL;
		if (!subfull)
			err = VV_ENOMEM;
		else if (vv_is_dir(subfull)) {
			if (depth >= MAX_DEPTH)
				*deep = 1;
			else
				err = collect_dirs(root, sub, depth + 1, dirs, deep);
		}
		free(sub);
		free(subfull);
	}
	vv_strv_free(&names, n);
	free(full);
	return err;
}

static int
add_sample(embed_dataset *d, size_t *cap, char *path, int label)
{
	if (!path)
		return vv_error(VV_ENOMEM, "out of memory");
	if (d->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		embed_sample *s = realloc(d->samples, nc * sizeof(*s));

		if (!s) {
			free(path);
			return vv_error(VV_ENOMEM, "out of memory");
		}
		d->samples = s;
		*cap = nc;
	}
	d->samples[d->n].path = path;
	d->samples[d->n].label = label;
	d->n++;
	return 0;
}

/* The images of class `label` (folder root/cls). */
static int
scan_class(embed_dataset *d, const char *cls, int label, size_t *cap, size_t *others)
{
	struct strv dirs = { 0 };
	size_t i, j, before = d->n;
	int err, deep = 0;

	err = collect_dirs(d->root, cls, 1, &dirs, &deep);
	if (deep)
		vv_warn("%s/%s: folders nested deeper than %d levels ignored", d->root, cls, MAX_DEPTH);
	if (!err && dirs.n > 1)
		qsort(dirs.v + 1, dirs.n - 1, sizeof(char *), cmp_str);
	for (i = 0; i < dirs.n && !err; i++) {
		char *full = vv_path_join(d->root, dirs.v[i]), **names = NULL;
		size_t n = 0;

		if (!full) {
			err = VV_ENOMEM;
			break;
		}
		err = vv_list_dir(full, &names, &n);
		for (j = 0; j < n && !err; j++) {
			char *rel, *path;
			int keep;

			if (names[j][0] == '.')
				continue;
			if (!embed_folder_is_image_name(names[j])) {
				*others += is_other_image_name(names[j]);
				continue;
			}
			rel = vv_path_join(dirs.v[i], names[j]);
			path = rel ? vv_path_join(d->root, rel) : NULL;
			keep = path && vv_is_file(path);
			free(path);
			if (!rel)
				err = VV_ENOMEM;
			else if (keep)
				err = add_sample(d, cap, rel, label);
			else
				free(rel);
		}
		vv_strv_free(&names, n);
		free(full);
	}
	vv_strv_free(&dirs.v, dirs.n);
	if (!err && d->n == before)
		vv_warn("%s/%s: class folder without .jpg/.jpeg/.png images", d->root, cls);
	return err;
}

int
embed_folder_open(embed_dataset *d)
{
	struct strv classes = { 0 };
	char **names = NULL;
	size_t n = 0, i, cap = 0, others = 0;
	int err;

	d->kind = EMBED_DATA_FOLDER;
	err = vv_list_dir(d->root, &names, &n);
	if (err)
		return err;
	for (i = 0; i < n && !err; i++) {
		char *full;

		if (names[i][0] == '.')
			continue;
		full = vv_path_join(d->root, names[i]);
		if (!full)
			err = VV_ENOMEM;
		else if (vv_is_dir(full))
			err = strv_push(&classes, vv_strdup(names[i]));
		free(full);
	}
	vv_strv_free(&names, n);
	if (!err && classes.n == 0)
		err = vv_error(VV_ENOTFOUND, "%s: no class folders (expected %s/<class>/<image>)",
			       d->root, d->root);
	if (!err && classes.n > 1000000)
		err = vv_error(VV_EUNSUPPORTED, "%s: %zu class folders", d->root, classes.n);
	for (i = 0; i < classes.n && !err; i++)
		err = scan_class(d, classes.v[i], (int)i, &cap, &others);
	if (err == VV_ENOMEM)
		vv_error(VV_ENOMEM, "%s: out of memory", d->root);
	if (!err && others)
		vv_warn("%s: skipped %zu file(s) in image formats vitviz does not read (.bmp .ppm .pgm .tif .webp)",
			d->root, others);
	if (!err && d->n == 0)
		err = vv_error(VV_ENOTFOUND, "%s: no .jpg/.jpeg/.png images in its class folders", d->root);
	if (!err) {
		d->nclasses = (int)classes.n;
		d->class_names = classes.v;
		return 0;
	}
	vv_strv_free(&classes.v, classes.n);
	return err;
}
