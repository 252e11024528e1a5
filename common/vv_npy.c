/* vv_npy.c - NumPy .npy reading and writing. */
#include "common/vv_npy.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_FILE ((size_t)1 << 40)

static size_t
dtype_size(vv_dtype t)
{
	(void)t;
	return 4;
}

int64_t
vv_array_numel(const vv_array *a)
{
	int64_t n = 1;
	int i;

	for (i = 0; i < a->ndim; i++)
		n *= a->shape[i];
	return n;
}

int
vv_array_alloc(vv_array **pa, vv_dtype dtype, int ndim, const int64_t *shape)
{
	vv_array *a;
	uint64_t n = 1;
	int i;

	*pa = NULL;
	if (ndim < 0 || ndim > VV_NPY_MAXDIM)
		return vv_error(VV_EINVAL, "array of %d dimensions not supported", ndim);
	for (i = 0; i < ndim; i++) {
		if (shape[i] < 0 || (shape[i] && n > (UINT64_MAX / 8) / (uint64_t)shape[i]))
			return vv_error(VV_ENOMEM, "array shape too large");
		n *= (uint64_t)shape[i];
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return vv_error(VV_ENOMEM, "out of memory");
	a->data = calloc(n ? n : 1, dtype_size(dtype));
	if (!a->data) {
		free(a);
		return vv_error(VV_ENOMEM, "out of memory for a %llu-element array",
				(unsigned long long)n);
	}
	a->dtype = dtype;
	a->ndim = ndim;
	for (i = 0; i < ndim; i++)
		a->shape[i] = shape[i];
	*pa = a;
	return 0;
}

void
vv_array_free(vv_array **pa)
{
	if (!*pa)
		return;
	free((*pa)->data);
	free(*pa);
	*pa = NULL;
}

int
vv_npy_write(const char *path, vv_dtype dtype, const void *data,
	     int ndim, const int64_t *shape)
{
	char hdr[256], shp[160];
	size_t hl, pos = 0, total;
	uint64_t n = 1;
	vv_outfile *f;
	int i, err;

	if (ndim < 0 || ndim > VV_NPY_MAXDIM)
		return vv_error(VV_EINVAL, "%s: bad dimension count %d", path, ndim);
	shp[0] = '\0';
	for (i = 0; i < ndim; i++) {
		pos += (size_t)snprintf(shp + pos, sizeof(shp) - pos, "%lld%s",
					(long long)shape[i],
					ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
		n *= (uint64_t)shape[i];
	}
	hl = (size_t)snprintf(hdr, sizeof(hdr),
			      "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
			      dtype == VV_F32 ? "<f4" : "<i4", shp);
	/* magic(6) + version(2) + len(2) + header, padded with spaces and '\n' to 64 */
	total = (10 + hl + 1 + 63) / 64 * 64;
	memset(hdr + hl, ' ', total - 10 - hl - 1);
	hdr[total - 10 - 1] = '\n';
	hl = total - 10;

	err = vv_outfile_open(&f, path);
	if (err)
		return err;
	fwrite("\x93NUMPY\x01\x00", 1, 8, f->fp);
	fputc((int)(hl & 0xff), f->fp);
	fputc((int)(hl >> 8), f->fp);
	fwrite(hdr, 1, hl, f->fp);
	if (n && fwrite(data, dtype_size(dtype), n, f->fp) != n) {
		int e = errno;

		vv_outfile_abort(&f);
		return vv_error(VV_EIO, "%s: cannot write: %s", path, strerror(e));
	}
	return vv_outfile_commit(&f);
}

/* Find `'key':` in the header dict and return a pointer past the colon. */
static const char *
hdr_value(const char *h, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "'%s'", key);
	p = strstr(h, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

int
vv_npy_parse(const char *name, const unsigned char *buf, size_t len, vv_array **pa)
{
	char h[4096];
	const char *v;
	size_t hl, off, esz;
	int major, ndim = 0, f8 = 0, err;
	int64_t shape[VV_NPY_MAXDIM];
	uint64_t n = 1;
	vv_dtype dt;
	vv_array *a;

	*pa = NULL;
	if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
		return vv_error(VV_EFORMAT, "%s: not a .npy file (bad magic)", name);
	major = buf[6];
	if (major == 1) {
		hl = buf[8] | (size_t)buf[9] << 8;
		off = 10;
	} else if (major == 2 || major == 3) {
		if (len < 12)
			return vv_error(VV_EFORMAT, "%s: truncated .npy header", name);
		hl = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
		off = 12;
	} else {
		return vv_error(VV_EFORMAT, "%s: unsupported .npy version %d", name, major);
	}
	if (hl >= sizeof(h) || off + hl > len)
		return vv_error(VV_EFORMAT, "%s: .npy header length %zu out of range", name, hl);
	memcpy(h, buf + off, hl);
	h[hl] = '\0';
	off += hl;

	v = hdr_value(h, "descr");
	if (!v)
		return vv_error(VV_EFORMAT, "%s: .npy header has no 'descr'", name);
	if (!strncmp(v, "'<f4'", 5)) {
		dt = VV_F32;
	} else if (!strncmp(v, "'<i4'", 5)) {
		dt = VV_I32;
	} else if (!strncmp(v, "'<f8'", 5)) {
		dt = VV_F32;
		f8 = 1;
	} else {
		return vv_error(VV_EUNSUPPORTED, "%s: .npy dtype %.8s not supported (need <f4, <i4 or <f8)",
				name, v);
	}
	v = hdr_value(h, "fortran_order");
	if (!v || strncmp(v, "False", 5) != 0)
		return vv_error(VV_EUNSUPPORTED, "%s: .npy array is not in C order", name);
	v = hdr_value(h, "shape");
	if (!v || *v != '(')
		return vv_error(VV_EFORMAT, "%s: .npy header has no valid 'shape'", name);
	v++;
	for (;;) {
		char *end;
		long long d;

		while (*v == ' ')
			v++;
		if (*v == ')')
			break;
		if (ndim == VV_NPY_MAXDIM)
			return vv_error(VV_EUNSUPPORTED, "%s: more than %d dimensions", name, VV_NPY_MAXDIM);
		errno = 0;
		d = strtoll(v, &end, 10);
		if (end == v || errno || d < 0)
			return vv_error(VV_EFORMAT, "%s: bad .npy shape", name);
		shape[ndim++] = d;
		if (d && n > (NPY_MAX_FILE / 8) / (uint64_t)d)
			return vv_error(VV_EFORMAT, "%s: .npy shape too large", name);
		n *= (uint64_t)d;
		v = end;
		while (*v == ' ')
			v++;
		if (*v == ',')
			v++;
		else if (*v != ')')
			return vv_error(VV_EFORMAT, "%s: bad .npy shape", name);
	}
	esz = f8 ? 8 : 4;
	if (len - off != n * esz)
		return vv_error(VV_EFORMAT, "%s: .npy data is %zu bytes, shape needs %llu",
				name, len - off, (unsigned long long)(n * esz));
	err = vv_array_alloc(&a, dt, ndim, shape);
	if (err)
		return err;
	if (f8) {
		float *o = a->data;
		uint64_t i;

		for (i = 0; i < n; i++) {
			double d;

			memcpy(&d, buf + off + i * 8, 8);
			o[i] = (float)d;
		}
	} else if (n) {
		memcpy(a->data, buf + off, n * 4);
	}
	*pa = a;
	return 0;
}

int
vv_npy_read(const char *path, vv_array **pa)
{
	char *buf;
	size_t len;
	int err;

	*pa = NULL;
	err = vv_read_file(path, NPY_MAX_FILE, &buf, &len);
	if (err)
		return err;
	err = vv_npy_parse(path, (unsigned char *)buf, len, pa);
	free(buf);
	return err;
}
