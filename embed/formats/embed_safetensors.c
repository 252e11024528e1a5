/* embed_safetensors.c - safetensors files and sharded sets. */
#include "embed/formats/embed_safetensors.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "embed_safetensors.c assumes a little-endian host"
#endif

/* Largest integer a JSON number (a double) holds exactly. */
#define ST_MAX_INT ((double)(1ull << 53))

typedef struct st_dtype {
	const char *name; /* as spelled in the header */
	int size;         /* bytes per element */
	embed_dtype dt;   /* EMBED_DT_OTHER: validated, not converted */
} st_dtype;

static const st_dtype st_dtypes[] = {
	{ "F32", 4, EMBED_DT_F32 },   { "F16", 2, EMBED_DT_F16 },
	{ "BF16", 2, EMBED_DT_BF16 }, { "F64", 8, EMBED_DT_F64 },
	{ "I64", 8, EMBED_DT_I64 },   { "I32", 4, EMBED_DT_I32 },
	{ "I16", 2, EMBED_DT_OTHER }, { "I8", 1, EMBED_DT_OTHER },
	{ "U64", 8, EMBED_DT_OTHER }, { "U32", 4, EMBED_DT_OTHER },
	{ "U16", 2, EMBED_DT_OTHER }, { "U8", 1, EMBED_DT_OTHER },
	{ "BOOL", 1, EMBED_DT_OTHER }, { "F8_E4M3", 1, EMBED_DT_OTHER },
	{ "F8_E5M2", 1, EMBED_DT_OTHER },
};

typedef struct st_entry {
	const char *name;       /* key in the header (points into the cJSON tree) */
	const st_dtype *dtype;  /* element type */
	int ndim;               /* number of dimensions */
	int64_t shape[EMBED_MAXDIM]; /* extents */
	uint64_t begin, end;    /* byte range relative to the data start */
} st_entry;

/* 1 when buf[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int
json_uint(const cJSON *item, uint64_t *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return -1;
	v = item->valuedouble;
	if (!(v >= 0) || v >= ST_MAX_INT || v != (double)(uint64_t)v)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const st_entry *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

static int
entry_name_cmp(const void *a, const void *b)
{
	return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

/* Validate the optional "__metadata__": an object of strings. */
static int
check_metadata(const char *name, const cJSON *meta)
{
	const cJSON *it;

	if (!cJSON_IsObject(meta))
		return vv_error(VV_EFORMAT, "%s: __metadata__ is not an object", name);
	cJSON_ArrayForEach(it, meta)
		if (!cJSON_IsString(it))
			return vv_error(VV_EFORMAT, "%s: __metadata__ value \"%s\" is not a string",
					name, it->string);
	return 0;
}

/* Type-check one header entry and fill `e` (offsets not yet cross-checked). */
static int
parse_entry(const char *name, const cJSON *it, st_entry *e)
{
	const cJSON *dt, *shape, *offs, *d;
	uint64_t v, numel = 1, nbytes;
	size_t k;
	int i;

	e->name = it->string;
	if (!cJSON_IsObject(it))
		return vv_error(VV_EFORMAT, "%s: tensor %s: entry is not an object", name, e->name);
	dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
	shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
	offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
	if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
		return vv_error(VV_EFORMAT, "%s: tensor %s: needs string dtype, array shape and "
				"array data_offsets", name, e->name);
	e->dtype = NULL;
	for (k = 0; k < sizeof(st_dtypes) / sizeof(st_dtypes[0]); k++)
		if (!strcmp(dt->valuestring, st_dtypes[k].name))
			e->dtype = &st_dtypes[k];
	if (!e->dtype)
		return vv_error(VV_EUNSUPPORTED, "%s: tensor %s: unknown dtype \"%.32s\"",
				name, e->name, dt->valuestring);
	e->ndim = cJSON_GetArraySize(shape);
	if (e->ndim > EMBED_MAXDIM)
		return vv_error(VV_EUNSUPPORTED, "%s: tensor %s: %d dimensions (at most %d)",
				name, e->name, e->ndim, EMBED_MAXDIM);
	i = 0;
	cJSON_ArrayForEach(d, shape) {
		if (json_uint(d, &v))
			return vv_error(VV_EFORMAT, "%s: tensor %s: shape entry %d is not a "
					"non-negative integer", name, e->name, i);
		e->shape[i++] = (int64_t)v;
		if (v && numel > UINT64_MAX / v)
			return vv_error(VV_EFORMAT, "%s: tensor %s: shape overflows", name, e->name);
		numel *= v;
	}
	if (numel > UINT64_MAX / (uint64_t)e->dtype->size)
		return vv_error(VV_EFORMAT, "%s: tensor %s: shape overflows", name, e->name);
	nbytes = numel * (uint64_t)e->dtype->size;
	if (cJSON_GetArraySize(offs) != 2 ||
	    json_uint(cJSON_GetArrayItem(offs, 0), &e->begin) ||
	    json_uint(cJSON_GetArrayItem(offs, 1), &e->end))
		return vv_error(VV_EFORMAT, "%s: tensor %s: data_offsets is not two non-negative "
				"integers", name, e->name);
	if (e->end < e->begin)
		return vv_error(VV_EFORMAT, "%s: tensor %s: data_offsets [%llu, %llu) end before "
				"begin", name, e->name, (unsigned long long)e->begin,
				(unsigned long long)e->end);
	if (e->end - e->begin != nbytes)
		return vv_error(VV_EFORMAT, "%s: tensor %s: %llu data bytes, but %s shape needs %llu",
				name, e->name, (unsigned long long)(e->end - e->begin),
				e->dtype->name, (unsigned long long)nbytes);
	return 0;
}

/* Convert one tensor's bytes to a malloc'd float32 array. */
static int
convert(const char *name, const st_entry *e, const unsigned char *src, float **out)
{
	size_t n = (size_t)((e->end - e->begin) / (uint64_t)e->dtype->size), i;
	float *f;

	*out = NULL;
	f = malloc(n ? n * sizeof(float) : 1);
	if (!f)
		return vv_error(VV_ENOMEM, "%s: tensor %s: out of memory", name, e->name);
	switch (e->dtype->dt) {
	case EMBED_DT_F32:
		memcpy(f, src, n * 4);
		break;
	case EMBED_DT_F16:
	case EMBED_DT_BF16:
		for (i = 0; i < n; i++) {
			uint16_t h;

			memcpy(&h, src + 2 * i, 2);
			f[i] = e->dtype->dt == EMBED_DT_F16 ? embed_f16_to_f32(h) : embed_bf16_to_f32(h);
		}
		break;
	case EMBED_DT_F64:
		for (i = 0; i < n; i++) {
			double d;

			memcpy(&d, src + 8 * i, 8);
			f[i] = (float)d;
		}
		break;
	default:
		free(f);
		return vv_error(VV_EUNSUPPORTED, "%s: tensor %s: dtype %s not convertible",
				name, e->name, e->dtype->name);
	}
	*out = f;
	return 0;
}

/*
 * Drop the whole pages inside [p, p + n) of a read-only private file
 * mapping from the resident set (a later read would fault them in from the
 * file again): the converted copy is all the caller keeps, so the peak
 * memory of a load is about one copy of the weights, not two.
 */
static void
drop_pages(const unsigned char *p, size_t n)
{
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p, b = a + n;

	if (ps <= 0)
		return;
	a = (a + (uintptr_t)ps - 1) & ~((uintptr_t)ps - 1);
	b &= ~((uintptr_t)ps - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

/*
 * The 8-byte length and the JSON header at the start of `buf`: its root
 * object in *proot and its length in *phlen.
 */
static int
st_header(const char *name, const unsigned char *buf, size_t len, cJSON **proot,
	  uint64_t *phlen)
{
	uint64_t hlen;
	const unsigned char *hdr;
	cJSON *root;

	*proot = NULL;
	if (len < 8)
		return vv_error(VV_EFORMAT, "%s: truncated: %zu bytes, no header length", name, len);
	memcpy(&hlen, buf, 8);
	if (hlen > EMBED_ST_MAX_HEADER)
		return vv_error(VV_EFORMAT, "%s: header length %llu exceeds the 100 MB limit",
				name, (unsigned long long)hlen);
	if (hlen > len - 8)
		return vv_error(VV_EFORMAT, "%s: header length %llu exceeds the file size %zu",
				name, (unsigned long long)hlen, len);
	hdr = buf + 8;
	if (hlen < 2 || hdr[0] != '{')
		return vv_error(VV_EFORMAT, "%s: header does not start with '{'", name);
	if (!utf8_valid(hdr, (size_t)hlen))
		return vv_error(VV_EFORMAT, "%s: header is not valid UTF-8", name);
	root = vv_json_parse(name, (const char *)hdr, (size_t)hlen);
	if (!root)
		return vv_error(VV_EFORMAT, "%s: header is not valid JSON", name);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return vv_error(VV_EFORMAT, "%s: header is not a JSON object", name);
	}
	*proot = root;
	*phlen = hlen;
	return 0;
}

/* The header's tensor entries (not __metadata__), checked one by one. */
static int
st_entries(const char *name, const cJSON *root, st_entry **pents, size_t *pn)
{
	const cJSON *it;
	st_entry *ents;
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(root);
	int err;

	*pents = NULL;
	*pn = 0;
	if (cap - (cJSON_GetObjectItemCaseSensitive(root, "__metadata__") ? 1 : 0) >
	    EMBED_ST_MAX_TENSORS)
		return vv_error(VV_EUNSUPPORTED, "%s: more than %u tensors in one file", name,
				EMBED_ST_MAX_TENSORS);
	ents = calloc(cap ? cap : 1, sizeof(*ents));
	if (!ents)
		return vv_error(VV_ENOMEM, "%s: out of memory", name);
	cJSON_ArrayForEach(it, root) {
		if (!strcmp(it->string, "__metadata__"))
			err = check_metadata(name, it);
		else
			err = parse_entry(name, it, &ents[n++]);
		if (err) {
			free(ents);
			return err;
		}
	}
	*pents = ents;
	*pn = n;
	return 0;
}

/*
 * The reference loader's layout rules: no name twice, data offsets
 * contiguous from 0 without overlap or hole, covering exactly the
 * data_len bytes after the header.  Sorts ents by offset.
 */
static int
st_check_layout(const char *name, st_entry *ents, size_t n, uint64_t data_len)
{
	uint64_t pos = 0;
	size_t i;

	qsort(ents, n, sizeof(*ents), entry_name_cmp);
	for (i = 1; i < n; i++)
		if (!strcmp(ents[i - 1].name, ents[i].name))
			return vv_error(VV_EFORMAT, "%s: tensor %s appears twice in the header",
					name, ents[i].name);
	qsort(ents, n, sizeof(*ents), entry_cmp);
	for (i = 0; i < n; i++) {
		if (ents[i].begin != pos)
			return vv_error(VV_EFORMAT, "%s: tensor %s: data_offsets begin at %llu, "
					"expected %llu (%s)", name, ents[i].name,
					(unsigned long long)ents[i].begin, (unsigned long long)pos,
					ents[i].begin < pos ? "overlaps the previous tensor"
							    : "hole before it");
		pos = ents[i].end;
	}
	if (pos != data_len)
		return vv_error(VV_EFORMAT, "%s: header declares %llu data bytes but the file holds "
				"%llu (%s)", name, (unsigned long long)pos,
				(unsigned long long)data_len,
				pos < data_len ? "file longer than declared" : "truncated");
	return 0;
}

/*
 * Convert the float tensors into t (integer and unknown dtypes go to skip
 * as shape-only entries when skip is not NULL).
 */
static int
st_convert_all(const char *name, const st_entry *ents, size_t n, const unsigned char *data,
	       embed_tensors *t, embed_tensors *skip, int mapped)
{
	size_t i;
	int err, skipped = 0;

	for (i = 0; i < n; i++) {
		embed_dtype dt = ents[i].dtype->dt;
		float *f;

		if (dt == EMBED_DT_OTHER || dt == EMBED_DT_I64 || dt == EMBED_DT_I32) {
			skipped++;
			if (skip && (err = embed_tensors_add(skip, ents[i].name, ents[i].ndim,
							     ents[i].shape, dt, NULL))) {
				vv_error_prefix("%s", name);
				return err;
			}
			continue;
		}
		err = convert(name, &ents[i], data + ents[i].begin, &f);
		if (!err)
			err = embed_tensors_add(t, ents[i].name, ents[i].ndim, ents[i].shape, dt, f);
		if (err) {
			vv_error_prefix("%s", name);
			return err;
		}
		if (mapped)
			drop_pages(data + ents[i].begin, (size_t)(ents[i].end - ents[i].begin));
	}
	if (skipped)
		vv_debug("%s: skipped %d non-float tensors", name, skipped);
	return 0;
}

/*
 * Parse a file held at `buf`; non-float tensors go to `skip` (data NULL) if
 * given.  `mapped`: buf is a read-only private mapping of the file, whose
 * pages may be dropped once converted (never for a caller's buffer).
 */
static int
st_parse(const char *name, const unsigned char *buf, size_t len, embed_tensors *t,
	 embed_tensors *skip, int mapped)
{
	cJSON *root;
	st_entry *ents = NULL;
	uint64_t hlen = 0;
	size_t n;
	int err;

	err = st_header(name, buf, len, &root, &hlen);
	if (err)
		return err;
	err = st_entries(name, root, &ents, &n);
	if (err)
		goto out_free_json;
	err = st_check_layout(name, ents, n, len - 8 - hlen);
	if (!err)
		err = st_convert_all(name, ents, n, buf + 8 + hlen, t, skip, mapped);
	free(ents);
out_free_json:
	cJSON_Delete(root);
	return err;
}

int
embed_safetensors_parse(const char *name, const unsigned char *buf, size_t len,
			embed_tensors *t)
{
	return st_parse(name, buf, len, t, NULL, 0);
}

static int
st_load(const char *path, embed_tensors *t, embed_tensors *skip)
{
	struct stat st;
	void *map;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		return vv_error(e == ENOENT ? VV_ENOTFOUND : VV_EREAD, "%s: cannot open: %s",
				path, strerror(e));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return vv_error(VV_EREAD, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size < 8) {
		close(fd);
		return vv_error(VV_EFORMAT, "%s: truncated: %lld bytes, no header length",
				path, (long long)st.st_size);
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return vv_error(VV_EUNSUPPORTED, "%s: file too large", path);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return vv_error(VV_EREAD, "%s: cannot map: %s", path, strerror(errno));
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	err = st_parse(path, map, (size_t)st.st_size, t, skip, 1);
	munmap(map, (size_t)st.st_size);
	return err;
}

int
embed_safetensors_load(const char *path, embed_tensors *t)
{
	return st_load(path, t, NULL);
}

/* Parse an index file; *root receives the tree, *wm its weight_map. */
static int
load_index(const char *index_path, cJSON **root, const cJSON **wm)
{
	const cJSON *it;

	if (!vv_is_file(index_path))
		return vv_error(VV_ENOTFOUND, "%s: no such file", index_path);
	*root = vv_json_load(index_path);
	if (!*root)
		return VV_EFORMAT;
	*wm = cJSON_GetObjectItemCaseSensitive(*root, "weight_map");
	if (!cJSON_IsObject(*root) || !cJSON_IsObject(*wm)) {
		cJSON_Delete(*root);
		*root = NULL;
		return vv_error(VV_EFORMAT, "%s: no \"weight_map\" object", index_path);
	}
	if (!(*wm)->child || cJSON_GetArraySize(*wm) > (int)EMBED_ST_MAX_TENSORS) {
		int n = cJSON_GetArraySize(*wm);

		cJSON_Delete(*root);
		*root = NULL;
		if (!n)
			return vv_error(VV_EFORMAT, "%s: empty weight_map", index_path);
		return vv_error(VV_EUNSUPPORTED, "%s: %d tensors in weight_map (at most %u)",
				index_path, n, EMBED_ST_MAX_TENSORS);
	}
	cJSON_ArrayForEach(it, *wm) {
		const char *f = it->valuestring;

		if (!cJSON_IsString(it) || !f[0] || strchr(f, '/') || strchr(f, '\\') ||
		    !strcmp(f, ".") || !strcmp(f, "..")) {
			int err = vv_error(VV_EFORMAT, "%s: weight_map entry \"%s\" is not a file "
					   "name in the checkpoint folder", index_path, it->string);

			cJSON_Delete(*root);
			*root = NULL;
			return err;
		}
	}
	return 0;
}

/* malloc'd folder part of a path ("." when there is none). */
static char *
dir_of(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return vv_strdup(".");
	if (s == path)
		return vv_strdup("/");
	return strndup(path, (size_t)(s - path));
}

int
embed_safetensors_index_files(const char *index_path, char ***files, size_t *n)
{
	cJSON *root;
	const cJSON *wm, *it;
	char **v = NULL, *dir;
	size_t cnt = 0, cap, i;
	int err;

	*files = NULL;
	*n = 0;
	err = load_index(index_path, &root, &wm);
	if (err)
		return err;
	dir = dir_of(index_path);
	cap = (size_t)cJSON_GetArraySize(wm);
	v = calloc(cap, sizeof(*v));
	if (!dir || !v) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	cJSON_ArrayForEach(it, wm) {
		char *p = vv_path_join(dir, it->valuestring);

		if (!p) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
		for (i = 0; i < cnt; i++)
			if (!strcmp(v[i], p))
				break;
		if (i < cnt)
			free(p);
		else
			v[cnt++] = p;
	}
	*files = v;
	*n = cnt;
	v = NULL;
out_free:
	vv_strv_free(&v, cnt);
	free(dir);
	cJSON_Delete(root);
	return err;
}

/* Move every tensor of `src` to `dst` (names copied, data moved). */
static int
move_tensors(embed_tensors *dst, embed_tensors *src)
{
	size_t i;
	int err;

	for (i = 0; i < src->n; i++) {
		embed_tensor *x = &src->v[i];
		float *d = x->data;

		x->data = NULL;
		err = embed_tensors_add(dst, x->name, x->ndim, x->shape, x->src_dtype, d);
		if (err)
			return err;
	}
	return 0;
}

int
embed_safetensors_load_sharded(const char *index_path, embed_tensors *t)
{
	cJSON *root;
	const cJSON *wm, *it;
	char **files = NULL;
	size_t nfiles = 0, i, j, nskip;
	embed_tensors *part = NULL, *skip = NULL;
	int err;

	err = embed_tensors_alloc(&skip);
	if (err)
		return err;
	err = embed_safetensors_index_files(index_path, &files, &nfiles);
	if (err)
		goto out_free_skip;
	err = load_index(index_path, &root, &wm);
	if (err)
		goto out_free_files;
	for (i = 0; i < nfiles; i++) {
		const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];

		if (!vv_is_file(files[i])) {
			err = vv_error(VV_ENOTFOUND, "%s: shard %s listed in the index is missing",
				       index_path, files[i]);
			goto out_free_part;
		}
		err = embed_tensors_alloc(&part);
		if (err)
			goto out_free_part;
		nskip = skip->n;
		err = st_load(files[i], part, skip);
		if (err)
			goto out_free_part;
		/* every tensor of the shard must be mapped to this shard */
		for (j = 0; j < part->n + (skip->n - nskip); j++) {
			const char *tn = j < part->n ? part->v[j].name : skip->v[nskip + j - part->n].name;
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(wm, tn);

			if (!m) {
				err = vv_error(VV_EFORMAT, "%s: tensor %s is not in the index %s",
					       files[i], tn, index_path);
				goto out_free_part;
			}
			if (strcmp(m->valuestring, base)) {
				err = vv_error(VV_EFORMAT, "%s: tensor %s is also in %s (the index "
					       "maps it to %s)", index_path, tn, files[i],
					       m->valuestring);
				goto out_free_part;
			}
		}
		err = move_tensors(t, part);
		if (err) {
			vv_error_prefix("%s", files[i]);
			goto out_free_part;
		}
		embed_tensors_free(&part);
	}
	/* every mapped tensor must have been found in its shard */
	cJSON_ArrayForEach(it, wm) {
		if (!embed_tensors_find(t, it->string) && !embed_tensors_find(skip, it->string)) {
			err = vv_error(VV_ENOTFOUND, "%s: tensor %s is mapped to %s, which does "
				       "not hold it", index_path, it->string, it->valuestring);
			goto out_free_part;
		}
	}
out_free_part:
	embed_tensors_free(&part);
	cJSON_Delete(root);
out_free_files:
	vv_strv_free(&files, nfiles);
out_free_skip:
	embed_tensors_free(&skip);
	return err;
}

int
embed_safetensors_save(const char *path, const embed_tensors *t, const char *metadata_json)
{
	cJSON *root, *meta = NULL;
	vv_outfile *f = NULL;
	uint64_t off = 0, hlen;
	char *hdr = NULL;
	size_t i, n;
	int err = 0, k;

	root = cJSON_CreateObject();
	if (!root)
		return vv_error(VV_ENOMEM, "out of memory");
	if (metadata_json) {
		meta = cJSON_Parse(metadata_json);
		if (!cJSON_IsObject(meta)) {
			cJSON_Delete(meta);
			err = vv_error(VV_EINVAL, "%s: metadata is not a JSON object", path);
			goto out_free;
		}
		cJSON_AddItemToObject(root, "__metadata__", meta);
	}
	for (i = 0; i < t->n; i++) {
		const embed_tensor *x = &t->v[i];
		cJSON *e = cJSON_AddObjectToObject(root, x->name), *sh, *of;
		uint64_t bytes = (uint64_t)embed_tensor_numel(x) * 4;

		if (!e || !cJSON_AddStringToObject(e, "dtype", "F32") ||
		    !(sh = cJSON_AddArrayToObject(e, "shape"))) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
		for (k = 0; k < x->ndim; k++)
			cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)x->shape[k]));
		of = cJSON_AddArrayToObject(e, "data_offsets");
		if (!of) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
		cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
		cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + bytes)));
		off += bytes;
	}
	hdr = cJSON_PrintUnformatted(root);
	if (!hdr) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	n = strlen(hdr);
	hlen = (n + 7) & ~(size_t)7;
	err = vv_outfile_open(&f, path);
	if (err)
		goto out_free;
	fwrite(&hlen, 8, 1, f->fp);
	fwrite(hdr, 1, n, f->fp);
	for (; n < hlen; n++)
		fputc(' ', f->fp);
	for (i = 0; i < t->n; i++)
		fwrite(t->v[i].data, 4, (size_t)embed_tensor_numel(&t->v[i]), f->fp);
	err = vv_outfile_commit(&f);
out_free:
	free(hdr);
	cJSON_Delete(root);
	return err;
}
