/*
 * embed_cifar.h - CIFAR-10 / CIFAR-100 binary batches behind
 * embed_dataset.h.
 *
 * A CIFAR-10 record is 1 label byte then 3072 pixel bytes (32x32 red
 * plane, green plane, blue plane); CIFAR-100 has 2 label bytes (coarse,
 * fine) and vitviz uses the fine label.  Which one a file is comes from its
 * name (test_batch.bin, data_batch_N.bin: 10; test.bin, train.bin: 100),
 * else from which record size divides its length.
 */
#ifndef EMBED_CIFAR_H
#define EMBED_CIFAR_H

#include <stdint.h>

#include "embed/images/embed_dataset.h"

#define EMBED_CIFAR_SIDE 32

/*
 * 1 when `root` is a folder holding CIFAR batches (directly or in the
 * tarballs' cifar-10-batches-bin / cifar-100-binary subfolder), else 0.
 */
int embed_cifar_is_dir(const char *root);

/*
 * CIFAR-10 or CIFAR-100 for the batch file `path` of `size` bytes (see the
 * header comment); a size that is no multiple of the record size is
 * VV_EFORMAT naming the file.
 */
int embed_cifar_kind(const char *path, int64_t size, embed_data_kind *kind);

/*
 * Fill d->kind, samples, class names and priv (open batch files) from
 * `root`: one batch file, or a folder of them (split "test", the default,
 * or "train").  d->root is already set.
 */
int embed_cifar_open(embed_dataset *d, const char *split);

/* Decode sample i of a dataset opened by embed_cifar_open(). */
int embed_cifar_load(const embed_dataset *d, size_t i, embed_image **out);

/* 1 when relpath looks like a CIFAR sample path: "<...>.bin:<digits>". */
int embed_cifar_is_sample_path(const char *relpath);

/*
 * Decode "<batch file>:<record>" relative to root (a folder, or the batch
 * file itself when the name part is its base name).  The caller has
 * already rejected absolute paths and ".." components.
 */
int embed_cifar_load_path(const char *root, const char *relpath, embed_image **out);

/* Close the batch files held in d->priv and free it. */
void embed_cifar_close(embed_dataset *d);

#endif
