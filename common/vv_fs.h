/*
 * vv_fs.h - files: crash-safe outputs, bounded reads, sorted listings.
 *
 * Outputs are never written in place: vv_outfile_open() creates a temporary
 * file beside the destination and vv_outfile_commit() flushes, fsyncs and
 * renames it, so a reader sees either the old file or the complete new one.
 */
#ifndef VV_FS_H
#define VV_FS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct vv_outfile {
	FILE *fp;   /* stream to write to (the temporary file) */
	char *path; /* final destination */
	char *tmp;  /* temporary name, "<path>.tmp.<pid>.XXXXXX" */
} vv_outfile;

/* Create a temporary output for `path`; *pf is NULL on failure. */
int vv_outfile_open(vv_outfile **pf, const char *path);

/*
 * Flush, fsync and rename the temporary file onto its destination, fsync
 * the destination's folder (so that a power loss cannot lose the new name),
 * then free *pf and set it to NULL.  On a write error nothing is renamed
 * and the temporary file is removed; a failed folder sync is VV_EIO with
 * the complete file in place.  NULL *pf is a no-op returning 0.
 */
int vv_outfile_commit(vv_outfile **pf);

/* Discard the temporary file and free *pf (NULL-safe). */
void vv_outfile_abort(vv_outfile **pf);

/*
 * Remove the temporary files that killed processes left in `dir`: regular
 * files named "<name>.tmp.<pid>.XXXXXX" (as vv_outfile_open() makes them)
 * whose <pid> is no longer running; with `prefix`, only names starting with
 * it.  Files of live processes, including this one, are kept.  Returns the
 * number removed; an unreadable folder is not an error (0).
 */
int vv_clean_stale_tmp(const char *dir, const char *prefix);

/* Write `len` bytes to `path` atomically. */
int vv_write_file_atomic(const char *path, const void *data, size_t len);

/*
 * Read a whole file of at most `max_len` bytes into a NUL-terminated buffer
 * (*len excludes the terminator).  Larger files are VV_EFORMAT.
 */
int vv_read_file(const char *path, size_t max_len, char **buf, size_t *len);

/* mkdir -p; existing directories are fine. */
int vv_mkdir_p(const char *path);

/* 1 when path is an existing directory / regular file, else 0. */
int vv_is_dir(const char *path);
int vv_is_file(const char *path);

/* Size of a regular file, or a negative VV_E* code. */
int64_t vv_file_size(const char *path);

/* malloc'd "a/b" (no doubled slash); NULL on allocation failure. */
char *vv_path_join(const char *a, const char *b);

/* malloc'd last component of a path, trailing slashes ignored. */
char *vv_path_basename(const char *path);

/*
 * The entries of a directory except "." and "..", sorted by strcmp (byte
 * order, as Python's sorted() on str does for ASCII names).  *names is a
 * malloc'd array of malloc'd strings; free with vv_strv_free().
 */
int vv_list_dir(const char *path, char ***names, size_t *n);

/* Free an array of `n` strings and set *v to NULL. */
void vv_strv_free(char ***v, size_t n);

/*
 * A cheap content fingerprint of a (large) file, 32 hex digits in `out`:
 * size, mtime and a 64-bit hash of 64 sampled 16 KiB blocks.  Changing the
 * weights of a checkpoint changes it; touching nothing keeps it stable.
 */
int vv_file_fingerprint(const char *path, char out[40]);

/* strdup that reports VV_ENOMEM through vv_error(); NULL on failure. */
char *vv_strdup(const char *s);

#endif
