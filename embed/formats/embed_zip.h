/*
 * embed_zip.h - read-only access to the entries of a zip file (libzip).
 *
 * Only what the PyTorch loader needs: look entries up by name, get their
 * size, read one whole entry with a bound on its size.  Reads are checked to
 * deliver exactly the stated size and libzip verifies each entry's CRC.
 */
#ifndef EMBED_ZIP_H
#define EMBED_ZIP_H

#include <stddef.h>
#include <stdint.h>

typedef struct embed_zip embed_zip;

/* Open `path` read-only; *pz is NULL on failure (VV_EFORMAT, VV_EREAD). */
int embed_zip_open(const char *path, embed_zip **pz);

/* Close and free *pz; it becomes NULL (NULL-safe). */
void embed_zip_close(embed_zip **pz);

/* Number of entries. */
int64_t embed_zip_count(const embed_zip *z);

/* Name of entry `idx` as stored (raw bytes), or NULL. */
const char *embed_zip_name(const embed_zip *z, int64_t idx);

/* Index of the entry called exactly `name`, or -1. */
int64_t embed_zip_find(const embed_zip *z, const char *name);

/* Uncompressed size of entry `idx`. */
int embed_zip_size(const embed_zip *z, int64_t idx, uint64_t *size);

/*
 * Read entry `idx` whole into a malloc'd buffer with a NUL byte after it
 * (*len excludes it).  An entry over `max_len` bytes is VV_EFORMAT.
 */
int embed_zip_read(embed_zip *z, int64_t idx, size_t max_len, char **buf, size_t *len);

/* Read entry `idx`, which must be exactly `len` bytes, into `buf`. */
int embed_zip_read_into(embed_zip *z, int64_t idx, void *buf, size_t len);

#endif
