/*
 * embed_dataset.h - labelled image sets: CIFAR-10/100 binary batches and
 * image folders root/<class>/<file>.
 */
#ifndef EMBED_DATASET_H
#define EMBED_DATASET_H

#include <stddef.h>

#include "embed/images/embed_image.h"

typedef enum embed_data_kind {
	EMBED_DATA_CIFAR10 = 0,
	EMBED_DATA_CIFAR100 = 1,
	EMBED_DATA_FOLDER = 2,
} embed_data_kind;

typedef struct embed_sample {
	char *path;  /* relative to the root: "<class>/<file>" or, for CIFAR,
		      * "<batch file>:<record index>" */
	int label;   /* class index */
} embed_sample;

typedef struct embed_dataset_opts {
	size_t limit;     /* keep the first `limit` samples (0: all) */
	size_t per_class; /* keep the first `per_class` samples of each class,
			   * in order (0: all); applied before `limit` */
	int strict;       /* an undecodable image is an error, not a warning */
	int validate;     /* decode every image once at open and drop (or,
			   * strict, fail on) the ones that do not decode */
	const char *split;/* CIFAR folder: "test" (default) or "train" */
} embed_dataset_opts;

typedef struct embed_dataset {
	char *root;            /* the path given: a folder or one CIFAR .bin */
	embed_data_kind kind;  /* what was found there */
	size_t n;              /* number of samples after subsetting */
	embed_sample *samples; /* n samples, in dataset order */
	int nclasses;          /* number of classes */
	char **class_names;    /* nclasses names, indexed by label */
	void *priv;            /* loader state (open CIFAR batches) */
} embed_dataset;

/*
 * Open a dataset.  `root` may be: a CIFAR-10/100 binary batch file; a
 * folder of CIFAR batches (test_batch.bin / test.bin, or the training
 * batches with split "train"; class names from batches.meta.txt or
 * fine_label_names.txt when present, else "0".."N-1"); or an image folder
 * whose subfolders are classes, ordered by name as torchvision's
 * ImageFolder does, files by name within a class (.jpg .jpeg .png, any
 * case).  Errors name the file and the problem (a CIFAR file whose size is
 * not a multiple of the record size, an empty folder, ...).
 */
int embed_dataset_open(const char *root, const embed_dataset_opts *opts,
		       embed_dataset **pd);

/* Decode sample i as RGB. */
int embed_dataset_load(const embed_dataset *d, size_t i, embed_image **out);

/*
 * Decode one sample by its path as written in samples.csv, without opening
 * the whole dataset (the renderer uses this for thumbnails).
 */
int embed_dataset_load_path(const char *root, const char *relpath, embed_image **out);

/* Free *pd and set it to NULL (NULL-safe). */
void embed_dataset_free(embed_dataset **pd);

#endif
