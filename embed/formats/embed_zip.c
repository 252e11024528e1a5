/* embed_zip.c - read-only zip entries through libzip. */
#include "embed/formats/embed_zip.h"
#include "common/vv_error.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>

struct embed_zip {
	zip_t *za;  /* the libzip archive */
	char *path; /* file name for messages */
};

int
embed_zip_open(const char *path, embed_zip **pz)
{
	zip_error_t ze;
	embed_zip *z;
	int code = 0;
	int err;

	*pz = NULL;
	z = calloc(1, sizeof(*z));
	if (!z)
		return vv_error(VV_ENOMEM, "out of memory");
	z->path = strdup(path);
	if (!z->path) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free_z;
	}
	z->za = zip_open(path, ZIP_RDONLY, &code);
	if (!z->za) {
		zip_error_init_with_code(&ze, code);
		err = vv_error(code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_NOENT ?
			       VV_EREAD : VV_EFORMAT,
			       "%s: not a readable zip archive (%s)", path, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		goto out_free_path;
	}
	*pz = z;
	return 0;

out_free_path:
	free(z->path);
out_free_z:
	free(z);
	return err;
}

void
embed_zip_close(embed_zip **pz)
{
	if (!*pz)
		return;
	zip_discard((*pz)->za);
	free((*pz)->path);
	free(*pz);
	*pz = NULL;
}

int64_t
embed_zip_count(const embed_zip *z)
{
	return zip_get_num_entries(z->za, 0);
}

const char *
embed_zip_name(const embed_zip *z, int64_t idx)
{
	return zip_get_name(z->za, (zip_uint64_t)idx, ZIP_FL_ENC_RAW);
}

int64_t
embed_zip_find(const embed_zip *z, const char *name)
{
	return zip_name_locate(z->za, name, ZIP_FL_ENC_RAW);
}

int
embed_zip_size(const embed_zip *z, int64_t idx, uint64_t *size)
{
	zip_stat_t st;

	zip_stat_init(&st);
	if (zip_stat_index(z->za, (zip_uint64_t)idx, 0, &st) < 0 || !(st.valid & ZIP_STAT_SIZE))
		return vv_error(VV_EFORMAT, "%s: zip entry %lld: %s", z->path, (long long)idx,
				zip_strerror(z->za));
	*size = st.size;
	return 0;
}

int
embed_zip_read_into(embed_zip *z, int64_t idx, void *buf, size_t len)
{
	const char *name = embed_zip_name(z, idx);
	zip_file_t *zf;
	size_t got = 0;
	zip_int64_t r;
	char extra;
	int err = 0;

	zf = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
	if (!zf)
		return vv_error(VV_EFORMAT, "%s: %s: %s", z->path, name ? name : "?",
				zip_strerror(z->za));
	while (got < len) {
		r = zip_fread(zf, (char *)buf + got, len - got);
		if (r < 0) {
			err = vv_error(VV_EFORMAT, "%s: %s: %s", z->path, name,
				       zip_file_strerror(zf));
			goto out_close;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	/* one more read: reaches the end, where libzip checks the CRC */
	r = zip_fread(zf, &extra, 1);
	if (r < 0) {
		err = vv_error(VV_EFORMAT, "%s: %s: %s", z->path, name, zip_file_strerror(zf));
		goto out_close;
	}
	if (got != len || r != 0)
		err = vv_error(VV_EFORMAT, "%s: %s: entry is not %zu bytes long", z->path, name, len);
out_close:
	if (zip_fclose(zf) != 0 && !err)
		err = vv_error(VV_EFORMAT, "%s: %s: read error", z->path, name);
	return err;
}

int
embed_zip_read(embed_zip *z, int64_t idx, size_t max_len, char **buf, size_t *len)
{
	uint64_t size;
	int err;

	*buf = NULL;
	*len = 0;
	err = embed_zip_size(z, idx, &size);
	if (err)
		return err;
	if (size > max_len)
		return vv_error(VV_EFORMAT, "%s: %s: %llu bytes, more than the %zu expected",
				z->path, embed_zip_name(z, idx), (unsigned long long)size, max_len);
	*buf = malloc((size_t)size + 1);
	if (!*buf)
		return vv_error(VV_ENOMEM, "%s: out of memory", z->path);
	err = embed_zip_read_into(z, idx, *buf, (size_t)size);
	if (err) {
		free(*buf);
		*buf = NULL;
		return err;
	}
	(*buf)[size] = '\0';
	*len = (size_t)size;
	return 0;
}
