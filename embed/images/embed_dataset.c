/*
 * embed_dataset.c - open a labelled image set (CIFAR batches or an image
 * folder), subset it, validate it, load its samples.
 */
#include "embed/images/embed_dataset.h"
#include "embed/images/embed_decode.h"
#include "embed/images/embed_cifar.h"
#include "embed/images/embed_folder.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"

#include <stdlib.h>
#include <string.h>

/*
 * Keep, in order, the first per_class samples of each class and then the
 * first `limit` overall; with `validate`, a sample that would be kept is
 * decoded first and dropped (warning) or fatal (strict) when it does not
 * decode, so a bad file does not cost its class a slot.  Only samples
 * that could still be kept are decoded.
 */
static int
subset(embed_dataset *d, const embed_dataset_opts *o)
{
	size_t *count = calloc((size_t)d->nclasses ? (size_t)d->nclasses : 1, sizeof(size_t));
	size_t i, kept = 0, dropped = 0;
	int err = 0;

	if (!count)
		return vv_error(VV_ENOMEM, "out of memory");
	for (i = 0; i < d->n; i++) {
		embed_sample s = d->samples[i];
		int keep = 1;

		if (err || (o->limit && kept >= o->limit) ||
		    (o->per_class && count[s.label] >= o->per_class)) {
			keep = 0;
		} else if (o->validate && d->kind == EMBED_DATA_FOLDER) {
			embed_image *im = NULL;
			int e = embed_dataset_load(d, i, &im);

			embed_image_free(&im);
			if (e && o->strict) {
				err = e;
				keep = 0;
			} else if (e) {
				vv_warn("skipping an image that does not decode: %s", vv_errmsg());
				keep = 0;
				dropped++;
			}
		}
		if (keep) {
			d->samples[kept++] = s;
			count[s.label]++;
		} else {
			free(s.path);
		}
	}
	free(count);
	d->n = kept;
	if (!err && kept == 0)
		err = vv_error(VV_ENOTFOUND, "%s: no usable images%s", d->root,
			       dropped ? " (none decodes)" : "");
	return err;
}

int
embed_dataset_open(const char *root, const embed_dataset_opts *opts,
		   embed_dataset **pd)
{
	static const embed_dataset_opts defaults = { 0 };
	const embed_dataset_opts *o = opts ? opts : &defaults;
	embed_dataset *d;
	int err;

	*pd = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return vv_error(VV_ENOMEM, "out of memory");
	d->root = vv_strdup(root);
	if (!d->root) {
		free(d);
		return VV_ENOMEM;
	}
	if (vv_is_file(root)) {
		size_t l = strlen(root);

		if (l < 4 || strcmp(root + l - 4, ".bin")) {
			err = vv_error(VV_EUNSUPPORTED,
				       "%s: a dataset is a CIFAR .bin batch or a folder of class folders",
				       root);
			goto out_free;
		}
		err = embed_cifar_open(d, o->split);
	} else if (vv_is_dir(root)) {
		err = embed_cifar_is_dir(root) ? embed_cifar_open(d, o->split) : embed_folder_open(d);
	} else {
		err = vv_error(VV_ENOTFOUND, "%s: no such file or folder", root);
	}
	if (!err)
		err = subset(d, o);
	if (!err) {
		*pd = d;
		return 0;
	}
out_free:
	embed_dataset_free(&d);
	return err;
}

int
embed_dataset_load(const embed_dataset *d, size_t i, embed_image **out)
{
	char *path;
	int err;

	*out = NULL;
	if (i >= d->n)
		return vv_error(VV_EINVAL, "%s: sample %zu of %zu", d->root, i, d->n);
	if (d->kind != EMBED_DATA_FOLDER)
		return embed_cifar_load(d, i, out);
	path = vv_path_join(d->root, d->samples[i].path);
	if (!path)
		return VV_ENOMEM;
	err = embed_image_load(path, out);
	free(path);
	return err;
}

/* No absolute path, no ".." component, nothing empty. */
static int
check_relpath(const char *root, const char *rel)
{
	const char *p = rel;

	if (!*rel || rel[0] == '/')
		return vv_error(VV_EINVAL, "%s: sample path \"%s\" must be relative", root, rel);
	while (*p) {
		size_t l = strcspn(p, "/");

		if (l == 2 && p[0] == '.' && p[1] == '.')
			return vv_error(VV_EINVAL, "%s: sample path \"%s\" leaves the dataset folder",
					root, rel);
		p += l;
		while (*p == '/')
			p++;
	}
	return 0;
}

int
embed_dataset_load_path(const char *root, const char *relpath, embed_image **out)
{
	char *path;
	int err;

	*out = NULL;
	err = check_relpath(root, relpath);
	if (err)
		return err;
	if (embed_cifar_is_sample_path(relpath))
		return embed_cifar_load_path(root, relpath, out);
	if (!vv_is_dir(root))
		return vv_error(VV_ENOTFOUND, "%s: not a folder of images (sample %s)", root, relpath);
	path = vv_path_join(root, relpath);
	if (!path)
		return VV_ENOMEM;
	err = embed_image_load(path, out);
	free(path);
	return err;
}

void
embed_dataset_free(embed_dataset **pd)
{
	embed_dataset *d = *pd;
	size_t i;

	if (!d)
		return;
	if (d->kind != EMBED_DATA_FOLDER)
		embed_cifar_close(d);
	for (i = 0; i < d->n; i++)
		free(d->samples[i].path);
	free(d->samples);
	if (d->class_names)
		vv_strv_free(&d->class_names, (size_t)d->nclasses);
	free(d->root);
	free(d);
	*pd = NULL;
}
