/* embed_cifar.c - CIFAR-10/100 binary batches as a labelled image set. */
#include "embed/images/embed_cifar.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIXELS (EMBED_CIFAR_SIDE * EMBED_CIFAR_SIDE)
#define REC_C10 (1 + 3 * PIXELS)
#define REC_C100 (2 + 3 * PIXELS)
#define MAX_RECORDS ((size_t)1 << 31)
#define MAX_NAMES_BYTES ((size_t)1 << 20)

static const char *const tar_dirs[] = { "cifar-10-batches-bin", "cifar-100-binary" };

/* Batch files of an open dataset (d->priv). */
struct cifar_state {
	size_t n;              /* batch files */
	char **rel;            /* name as in sample paths, e.g. "test_batch.bin" */
	char **path;           /* path opened */
	int *fd;               /* open descriptors, -1 when closed */
};

static int
rec_size(embed_data_kind k)
{
	return k == EMBED_DATA_CIFAR100 ? REC_C100 : REC_C10;
}

static int
nclasses_of(embed_data_kind k)
{
	return k == EMBED_DATA_CIFAR100 ? 100 : 10;
}

/* Read exactly len bytes at off. */
static int
read_at(int fd, const char *path, void *buf, size_t len, int64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + (int64_t)got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vv_error(VV_EREAD, "%s: read failed: %s", path, strerror(errno));
		if (r == 0)
			return vv_error(VV_EFORMAT, "%s: file shrank while reading", path);
		got += (size_t)r;
	}
	return 0;
}

static int
is_data_batch(const char *base, long *num)
{
	char *end;

	if (strncmp(base, "data_batch_", 11) || base[11] < '0' || base[11] > '9')
		return 0;
	*num = strtol(base + 11, &end, 10);
	return !strcmp(end, ".bin");
}

int
embed_cifar_kind(const char *path, int64_t size, embed_data_kind *kind)
{
	const char *base = strrchr(path, '/');
	int by10, by100;
	long num;

	base = base ? base + 1 : path;
	by10 = size > 0 && size % REC_C10 == 0;
	by100 = size > 0 && size % REC_C100 == 0;
	if (!strcmp(base, "test_batch.bin") || is_data_batch(base, &num)) {
		*kind = EMBED_DATA_CIFAR10;
		if (!by10)
			return vv_error(VV_EFORMAT,
					"%s: %lld bytes is not a whole number of %d-byte CIFAR-10 records",
					path, (long long)size, REC_C10);
		return 0;
	}
	if (!strcmp(base, "test.bin") || !strcmp(base, "train.bin")) {
		*kind = EMBED_DATA_CIFAR100;
		if (!by100)
			return vv_error(VV_EFORMAT,
					"%s: %lld bytes is not a whole number of %d-byte CIFAR-100 records",
					path, (long long)size, REC_C100);
		return 0;
	}
	if (by10 != by100) {
		*kind = by10 ? EMBED_DATA_CIFAR10 : EMBED_DATA_CIFAR100;
		return 0;
	}
	return vv_error(VV_EFORMAT,
			"%s: cannot tell CIFAR-10 from CIFAR-100 (%lld bytes; name it test_batch.bin or test.bin)",
			path, (long long)size);
}

/* The folder holding the batches: root or its tarball subfolder (malloc'd). */
static char *
batch_dir(const char *root, const char **prefix)
{
	static const char *const probes[] = { "test_batch.bin", "test.bin", "data_batch_1.bin", "train.bin" };
	size_t t, p;

	*prefix = "";
	for (t = 0; t <= sizeof(tar_dirs) / sizeof(tar_dirs[0]); t++) {
		char *dir = t ? vv_path_join(root, tar_dirs[t - 1]) : vv_strdup(root);

		if (!dir)
			return NULL;
		for (p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
			char *f = vv_path_join(dir, probes[p]);
			int ok = f && vv_is_file(f);

			free(f);
			if (ok) {
				*prefix = t ? tar_dirs[t - 1] : "";
				return dir;
			}
		}
		free(dir);
	}
	return NULL;
}

int
embed_cifar_is_dir(const char *root)
{
	const char *prefix;
	char *dir;

	if (!vv_is_dir(root))
		return 0;
	dir = batch_dir(root, &prefix);
	free(dir);
	return dir != NULL;
}

static int
state_add(struct cifar_state *st, const char *rel, const char *path)
{
	size_t n = st->n + 1;
	char **r = realloc(st->rel, n * sizeof(*r)), **p;
	int *fd;

	if (r)
		st->rel = r;
	p = realloc(st->path, n * sizeof(*p));
	if (p)
		st->path = p;
	fd = realloc(st->fd, n * sizeof(*fd));
	if (fd)
		st->fd = fd;
	if (!r || !p || !fd)
		return vv_error(VV_ENOMEM, "out of memory");
	st->rel[st->n] = vv_strdup(rel);
	st->path[st->n] = vv_strdup(path);
	st->fd[st->n] = -1;
	st->n++;
	if (!st->rel[st->n - 1] || !st->path[st->n - 1])
		return vv_error(VV_ENOMEM, "out of memory");
	return 0;
}

/* The batch files of a split in `dir`; `prefix` is dir relative to root. */
static int
find_batches(struct cifar_state *st, const char *dir, const char *prefix, const char *split)
{
	int train = split && !strcmp(split, "train");
	char **names = NULL;
	size_t n = 0, i;
	long want, best;
	int err = 0, found = 0;

	if (split && strcmp(split, "test") && strcmp(split, "train"))
		return vv_error(VV_EINVAL, "%s: unknown CIFAR split \"%s\" (test or train)", dir, split);
	err = vv_list_dir(dir, &names, &n);
	if (err)
		return err;
	if (!train) {
		static const char *const tests[] = { "test_batch.bin", "test.bin" };

		for (i = 0; i < 2 && !found; i++) {
			char *p = vv_path_join(dir, tests[i]), *rel = vv_path_join(prefix, tests[i]);

			if (!p || !rel)
				err = vv_error(VV_ENOMEM, "out of memory");
			else if (vv_is_file(p)) {
				err = state_add(st, *prefix ? rel : tests[i], p);
				found = 1;
			}
			free(p);
			free(rel);
			if (err)
				break;
		}
	} else {
		/* data_batch_N.bin in numeric order, else CIFAR-100's train.bin */
		for (want = 0;; want = best + 1) {
			const char *pick = NULL;
			long num;

			best = -1;
			for (i = 0; i < n; i++)
				if (is_data_batch(names[i], &num) && num >= want && (best < 0 || num < best)) {
					best = num;
					pick = names[i];
				}
			if (!pick)
				break;
			{
				char *p = vv_path_join(dir, pick), *rel = vv_path_join(prefix, pick);

				err = p && rel ? state_add(st, *prefix ? rel : pick, p)
					       : vv_error(VV_ENOMEM, "out of memory");
				free(p);
				free(rel);
			}
			if (err)
				break;
			found = 1;
		}
		if (!err && !found) {
			char *p = vv_path_join(dir, "train.bin"), *rel = vv_path_join(prefix, "train.bin");

			if (!p || !rel) {
				err = vv_error(VV_ENOMEM, "out of memory");
			} else if (vv_is_file(p)) {
				err = state_add(st, *prefix ? rel : "train.bin", p);
				found = 1;
			}
			free(p);
			free(rel);
		}
	}
	vv_strv_free(&names, n);
	if (!err && !found)
		err = vv_error(VV_ENOTFOUND, "%s: no CIFAR %s batch (%s)", dir, train ? "train" : "test",
			       train ? "data_batch_N.bin or train.bin" : "test_batch.bin or test.bin");
	return err;
}

/* One line per class, blank lines ignored; NULL names when the file is absent. */
static int
read_names(const char *dir, embed_data_kind kind, char ***pnames)
{
	const char *fname = kind == EMBED_DATA_CIFAR100 ? "fine_label_names.txt" : "batches.meta.txt";
	int want = nclasses_of(kind), got = 0, err;
	char *path = vv_path_join(dir, fname), *buf = NULL, *line, *save = NULL;
	char **names = NULL;
	size_t len;

	*pnames = NULL;
	if (!path)
		return vv_error(VV_ENOMEM, "out of memory");
	if (!vv_is_file(path)) {
		free(path);
		return 0;
	}
	err = vv_read_file(path, MAX_NAMES_BYTES, &buf, &len);
	if (err)
		goto out_free;
	names = calloc((size_t)want, sizeof(*names));
	if (!names) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);

		while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
			line[--l] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line)
			continue;
		if (got == want) {
			got++;
			break;
		}
		names[got] = vv_strdup(line);
		if (!names[got++]) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
	}
	if (got != want) {
		err = vv_error(VV_EFORMAT, "%s: %s%d class names, CIFAR-%d has %d",
			       path, got > want ? "more than " : "", got > want ? want : got, want, want);
		goto out_free;
	}
	*pnames = names;
	names = NULL;
out_free:
	if (names)
		vv_strv_free(&names, (size_t)want);
	free(buf);
	free(path);
	return err;
}

static void
state_free(struct cifar_state *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n; i++) {
		if (st->fd[i] >= 0)
			close(st->fd[i]);
		free(st->rel[i]);
		free(st->path[i]);
	}
	free(st->rel);
	free(st->path);
	free(st->fd);
	free(st);
}

/* Append the records of batch b to d->samples, checking every label. */
static int
scan_batch(embed_dataset *d, struct cifar_state *st, size_t b, size_t *cap)
{
	const char *path = st->path[b];
	int rs = rec_size(d->kind), nc = nclasses_of(d->kind), err = 0;
	size_t nrec, r, chunk = 512, i;
	unsigned char *buf;
	struct stat sb;
	embed_data_kind k;

	st->fd[b] = open(path, O_RDONLY | O_CLOEXEC);
	if (st->fd[b] < 0)
		return vv_error(errno == ENOENT ? VV_ENOTFOUND : VV_EREAD, "%s: cannot open: %s",
				path, strerror(errno));
	if (fstat(st->fd[b], &sb) || !S_ISREG(sb.st_mode))
		return vv_error(VV_EREAD, "%s: not a regular file", path);
	err = embed_cifar_kind(path, (int64_t)sb.st_size, &k);
	if (err)
		return err;
	if (k != d->kind)
		return vv_error(VV_EMISMATCH, "%s: CIFAR-%d batch among CIFAR-%d batches", path,
				nclasses_of(k), nc);
	nrec = (size_t)sb.st_size / (size_t)rs;
	if (nrec == 0)
		return vv_error(VV_EFORMAT, "%s: empty CIFAR batch", path);
	if (nrec > MAX_RECORDS - d->n)
		return vv_error(VV_EUNSUPPORTED, "%s: too many records", path);
	if (d->n + nrec > *cap) {
		size_t nc2 = d->n + nrec;
		embed_sample *s = realloc(d->samples, nc2 * sizeof(*s));

		if (!s)
			return vv_error(VV_ENOMEM, "out of memory");
		d->samples = s;
		*cap = nc2;
	}
	buf = malloc(chunk * (size_t)rs);
	if (!buf)
		return vv_error(VV_ENOMEM, "out of memory");
	for (r = 0; r < nrec && !err; r += chunk) {
		size_t m = nrec - r < chunk ? nrec - r : chunk;

		err = read_at(st->fd[b], path, buf, m * (size_t)rs, (int64_t)r * rs);
		for (i = 0; i < m && !err; i++) {
			int label = buf[i * (size_t)rs + (rs == REC_C100 ? 1 : 0)];
			char name[32];
			embed_sample *s = &d->samples[d->n];

			if (label >= nc) {
				err = vv_error(VV_EFORMAT, "%s: record %zu has label %d, CIFAR-%d has %d classes",
					       path, r + i, label, nc, nc);
				break;
			}
			snprintf(name, sizeof(name), ":%zu", r + i);
			s->path = malloc(strlen(st->rel[b]) + strlen(name) + 1);
			if (!s->path) {
				err = vv_error(VV_ENOMEM, "out of memory");
				break;
			}
			strcpy(s->path, st->rel[b]);
			strcat(s->path, name);
			s->label = label;
			d->n++;
		}
	}
	free(buf);
	return err;
}

int
embed_cifar_open(embed_dataset *d, const char *split)
{
	struct cifar_state *st = calloc(1, sizeof(*st));
	char *dir = NULL;
	const char *prefix = "";
	size_t cap = 0, b;
	int err, c;

	if (!st)
		return vv_error(VV_ENOMEM, "out of memory");
	d->priv = st;
	if (vv_is_file(d->root)) {
		char *base = vv_path_basename(d->root);
		const char *slash = strrchr(d->root, '/');

		err = base ? state_add(st, base, d->root) : vv_error(VV_ENOMEM, "out of memory");
		free(base);
		if (err)
			return err;
		dir = slash ? strndup(d->root, (size_t)(slash - d->root) + 1) : vv_strdup(".");
	} else {
		dir = batch_dir(d->root, &prefix);
		if (!dir)
			return vv_error(VV_ENOTFOUND, "%s: no CIFAR batch files", d->root);
		err = find_batches(st, dir, prefix, split);
		if (err)
			goto out_free_dir;
	}
	if (!dir)
		return vv_error(VV_ENOMEM, "out of memory");
	{
		struct stat sb;

		if (stat(st->path[0], &sb))
			return vv_error(VV_ENOTFOUND, "%s: %s", st->path[0], strerror(errno));
		err = embed_cifar_kind(st->path[0], (int64_t)sb.st_size, &d->kind);
		if (err)
			goto out_free_dir;
	}
	for (b = 0; b < st->n; b++) {
		err = scan_batch(d, st, b, &cap);
		if (err)
			goto out_free_dir;
	}
	d->nclasses = nclasses_of(d->kind);
	err = read_names(dir, d->kind, &d->class_names);
	if (err)
		goto out_free_dir;
	if (!d->class_names) {
		d->class_names = calloc((size_t)d->nclasses, sizeof(char *));
		if (!d->class_names) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free_dir;
		}
		for (c = 0; c < d->nclasses; c++) {
			char num[16];

			snprintf(num, sizeof(num), "%d", c);
			d->class_names[c] = vv_strdup(num);
			if (!d->class_names[c]) {
				err = vv_error(VV_ENOMEM, "out of memory");
				goto out_free_dir;
			}
		}
	}
out_free_dir:
	free(dir);
	return err;
}

/* 32x32 RGB from one record's planes. */
static int
record_to_image(const unsigned char *rec, int label_bytes, embed_image **out)
{
	const unsigned char *px = rec + label_bytes;
	int err = embed_image_alloc(out, EMBED_CIFAR_SIDE, EMBED_CIFAR_SIDE), p;

	if (err)
		return err;
	for (p = 0; p < PIXELS; p++) {
		(*out)->rgb[3 * p] = px[p];
		(*out)->rgb[3 * p + 1] = px[PIXELS + p];
		(*out)->rgb[3 * p + 2] = px[2 * PIXELS + p];
	}
	return 0;
}

/* "name:123" -> batch part (in `name`, up to nmax bytes) and record. */
static int
split_sample_path(const char *s, char *name, size_t nmax, size_t *rec)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long long v;

	if (!colon || colon == s || (size_t)(colon - s) >= nmax || colon[1] < '0' || colon[1] > '9')
		return vv_error(VV_EINVAL, "%s: not a CIFAR sample path (batch.bin:record)", s);
	errno = 0;
	v = strtoull(colon + 1, &end, 10);
	if (*end || errno || v >= MAX_RECORDS)
		return vv_error(VV_EINVAL, "%s: bad record number", s);
	memcpy(name, s, (size_t)(colon - s));
	name[colon - s] = '\0';
	*rec = (size_t)v;
	return 0;
}

static int
load_record(int fd, const char *path, embed_data_kind kind, size_t rec, int64_t size,
	    embed_image **out)
{
	unsigned char buf[REC_C100];
	int rs = rec_size(kind), err;

	if ((int64_t)rec >= size / rs)
		return vv_error(VV_ENOTFOUND, "%s: record %zu past the last (%lld)", path, rec,
				(long long)(size / rs) - 1);
	err = read_at(fd, path, buf, (size_t)rs, (int64_t)rec * rs);
	if (err)
		return err;
	return record_to_image(buf, rs - 3 * PIXELS, out);
}

int
embed_cifar_load(const embed_dataset *d, size_t i, embed_image **out)
{
	const struct cifar_state *st = d->priv;
	char name[4096];
	size_t rec, b;
	struct stat sb;
	int err;

	*out = NULL;
	if (i >= d->n)
		return vv_error(VV_EINVAL, "%s: sample %zu of %zu", d->root, i, d->n);
	err = split_sample_path(d->samples[i].path, name, sizeof(name), &rec);
	if (err)
		return err;
	for (b = 0; b < st->n; b++)
		if (!strcmp(st->rel[b], name))
			break;
	if (b == st->n)
		return vv_error(VV_ENOTFOUND, "%s: no batch %s", d->root, name);
	if (fstat(st->fd[b], &sb))
		return vv_error(VV_EREAD, "%s: %s", st->path[b], strerror(errno));
	return load_record(st->fd[b], st->path[b], d->kind, rec, (int64_t)sb.st_size, out);
}

int
embed_cifar_is_sample_path(const char *relpath)
{
	const char *colon = strrchr(relpath, ':'), *p;

	if (!colon || colon - relpath < 5 || strncmp(colon - 4, ".bin", 4) || !colon[1])
		return 0;
	for (p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

int
embed_cifar_load_path(const char *root, const char *relpath, embed_image **out)
{
	char batch[4096], *path, *base;
	embed_data_kind kind;
	size_t rec;
	struct stat sb;
	int fd, err;

	*out = NULL;
	err = split_sample_path(relpath, batch, sizeof(batch), &rec);
	if (err)
		return err;
	if (vv_is_file(root)) {
		base = vv_path_basename(root);
		if (!base)
			return vv_error(VV_ENOMEM, "out of memory");
		err = strcmp(base, batch);
		free(base);
		if (err)
			return vv_error(VV_ENOTFOUND, "%s: sample %s is from another batch", root, relpath);
		path = vv_strdup(root);
	} else {
		path = vv_path_join(root, batch);
	}
	if (!path)
		return vv_error(VV_ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = vv_error(errno == ENOENT ? VV_ENOTFOUND : VV_EREAD, "%s: cannot open: %s", path,
			       strerror(errno));
		goto out_free_path;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		err = vv_error(VV_EREAD, "%s: not a regular file", path);
		goto out_close;
	}
	err = embed_cifar_kind(path, (int64_t)sb.st_size, &kind);
	if (!err)
		err = load_record(fd, path, kind, rec, (int64_t)sb.st_size, out);
out_close:
	close(fd);
out_free_path:
	free(path);
	return err;
}

void
embed_cifar_close(embed_dataset *d)
{
	state_free(d->priv);
	d->priv = NULL;
}
