/* embed_pt.c - tensors of a torch.save file, zip or legacy (see embed_pt.h). */
#include "embed/formats/embed_pt.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "embed/formats/embed_pickle.h"
#include "embed/formats/embed_zip.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "embed_pt.c assumes a little-endian host"
#endif

/* Integer tensors up to this many elements are kept (as floats). */
#define PT_MAX_INT_NUMEL 65536
/* A tensor may have more elements than its storage (stride 0) up to this. */
#define PT_MAX_EXPANDED_NUMEL ((int64_t)1 << 24)
/* Longest storage key accepted. */
#define PT_MAX_KEY 64
/* Deepest _rebuild_parameter / _rebuild_from_type_v2 wrapping followed. */
#define PT_MAX_WRAP 4

/* One storage, data/<key>, shared by the tensors that view it. */
typedef struct pt_storage {
	char *key;       /* storage key (the entry name after data/) */
	embed_dtype dt;  /* element type */
	int esz;         /* bytes per element */
	int64_t numel;   /* elements, as the pickle says */
	void *data;      /* numel * esz bytes once read, else NULL */
	int refs;        /* tensors still to be built from it */
} pt_storage;

/* A storage of a legacy file: an element count and the data after it. */
typedef struct pt_legacy {
	const char *key; /* storage key (points into the keys pickle) */
	int esz;         /* bytes per element, from the object pickle */
	int64_t numel;   /* elements, from the 8-byte count in the file */
	size_t off;      /* offset of the data in the file */
} pt_legacy;

/* A tensor found in the state dict, not yet materialised. */
typedef struct pt_spec {
	const char *name;               /* key in the state dict */
	size_t storage;                 /* index into the storage table */
	int64_t offset;                 /* storage offset, in elements */
	int ndim;                       /* number of dimensions */
	int64_t size[EMBED_MAXDIM];     /* extent of each dimension */
	int64_t stride[EMBED_MAXDIM];   /* stride of each dimension, in elements */
	int64_t numel;                  /* product of the sizes */
} pt_spec;

typedef struct pt_loader {
	const char *path;   /* file, for messages */
	embed_zip *z;       /* the archive */
	char *top;          /* "<folder>/", prefix of every entry */
	pt_storage *st;     /* storages referenced by the state dict */
	size_t nst;         /* number of storages */
	size_t stcap;       /* allocated slots in st */
	pt_spec *spec;      /* tensors to build */
	size_t nspec;       /* number of tensors */
	int warned;         /* an unsupported tensor kind was reported */
	/* legacy (< 1.6) files only: */
	char *file;         /* the whole file */
	size_t file_len;    /* its length */
	pt_legacy *lst;     /* its storages, in file order */
	size_t nlst;        /* number of storages */
} pt_loader;

/* A copy of untrusted text fit for a message: non-ASCII and control bytes become '?'. */
static const char *
shown(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* 1 when a state-dict key is text fit for a tensor name. */
static int
valid_name(const embed_pkl *k)
{
	size_t i;

	if (!k || k->type != EMBED_PKL_STR || !k->len || k->len > 1024)
		return 0;
	for (i = 0; i < k->len; i++)
		if ((unsigned char)k->s[i] < 0x20 || k->s[i] == 0x7f)
			return 0;
	return 1;
}

void
embed_pt_info_reset(embed_pt_info *info)
{
	if (!info)
		return;
	free(info->arch);
	free(info->args_model);
	info->arch = NULL;
	info->args_model = NULL;
	info->epoch = -1;
	info->used_ema = 0;
}

/* The first pickle of a legacy file: PROTO 2, LONG1 0x1950a86a20f9469cfc6c, STOP. */
static const unsigned char legacy_magic[] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
					      0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e };

/* Classify the file from its first bytes: 0 zip, 1 legacy, or an error. */
static int
check_magic(const char *path)
{
	unsigned char head[16];
	size_t n;
	FILE *fp;

	fp = fopen(path, "rb");
	if (!fp)
		return vv_error(errno == ENOENT ? VV_ENOTFOUND : VV_EREAD, "%s: cannot open: %s",
				path, strerror(errno));
	n = fread(head, 1, sizeof(head), fp);
	fclose(fp);
	if (n >= 4 && !memcmp(head, "PK\x03\x04", 4))
		return 0;
	if (n >= sizeof(legacy_magic) && !memcmp(head, legacy_magic, sizeof(legacy_magic)))
		return 1;
	if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
		return vv_error(VV_EFORMAT, "%s: a pickle without torch's magic number: "
				"not a torch.save file", path);
	return vv_error(VV_EFORMAT, "%s: not a PyTorch checkpoint (no zip signature)", path);
}

/* Find "<folder>/data.pkl" and set l->top to "<folder>/". */
static int
find_top(pt_loader *l, int64_t *pkl_idx)
{
	int64_t i, n = embed_zip_count(l->z), found = -1;
	const char *name, *slash;
	size_t k;

	for (i = 0; i < n; i++) {
		name = embed_zip_name(l->z, i);
		if (!name)
			continue;
		slash = strchr(name, '/');
		if (!slash || strcmp(slash + 1, "data.pkl"))
			continue;
		if (found >= 0)
			return vv_error(VV_EFORMAT, "%s: more than one data.pkl in the zip", l->path);
		found = i;
	}
	if (found < 0)
		return vv_error(VV_EFORMAT, "%s: no <folder>/data.pkl in the zip: not a torch.save file",
				l->path);
	name = embed_zip_name(l->z, found);
	k = (size_t)(strchr(name, '/') - name) + 1;
	l->top = malloc(k + 1);
	if (!l->top)
		return vv_error(VV_ENOMEM, "out of memory");
	memcpy(l->top, name, k);
	l->top[k] = '\0';
	*pkl_idx = found;
	return 0;
}

/* malloc'd l->top + a + b, or NULL. */
static char *
entry_name(const pt_loader *l, const char *a, const char *b)
{
	size_t n = strlen(l->top) + strlen(a) + strlen(b) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s", l->top, a, b);
	return s;
}

/* A "byteorder" entry, when there is one, must say "little". */
static int
check_byteorder(pt_loader *l)
{
	char *name = entry_name(l, "byteorder", ""), *buf = NULL;
	size_t len;
	int64_t idx;
	int err = 0;

	if (!name)
		return vv_error(VV_ENOMEM, "out of memory");
	idx = embed_zip_find(l->z, name);
	if (idx >= 0) {
		err = embed_zip_read(l->z, idx, 64, &buf, &len);
		if (!err && strcmp(buf, "little"))
			err = vv_error(VV_EUNSUPPORTED, "%s: byteorder is \"%.16s\"; only little-endian "
				       "checkpoints are supported", l->path, buf);
		free(buf);
	}
	free(name);
	return err;
}

static int
is_int(const embed_pkl *v)
{
	return v && (v->type == EMBED_PKL_INT || v->type == EMBED_PKL_BOOL);
}

/* The dtype and element size of a storage class torch.<Name>. */
static int
storage_dtype(const embed_pkl *g, embed_dtype *dt, int *esz)
{
	static const struct {
		const char *name;
		embed_dtype dt;
		int esz;
	} types[] = {
		{ "FloatStorage", EMBED_DT_F32, 4 },  { "HalfStorage", EMBED_DT_F16, 2 },
		{ "BFloat16Storage", EMBED_DT_BF16, 2 }, { "DoubleStorage", EMBED_DT_F64, 8 },
		{ "LongStorage", EMBED_DT_I64, 8 },   { "IntStorage", EMBED_DT_I32, 4 },
		{ "ShortStorage", EMBED_DT_OTHER, 2 }, { "CharStorage", EMBED_DT_OTHER, 1 },
		{ "ByteStorage", EMBED_DT_OTHER, 1 },  { "BoolStorage", EMBED_DT_OTHER, 1 },
		{ "UntypedStorage", EMBED_DT_OTHER, 1 },
		{ "ComplexFloatStorage", EMBED_DT_OTHER, 8 },
		{ "ComplexDoubleStorage", EMBED_DT_OTHER, 16 },
	};
	size_t i;

	if (!g || g->type != EMBED_PKL_GLOBAL ||
	    (strcmp(g->s, "torch") && strcmp(g->s, "torch.cuda") && strcmp(g->s, "torch.storage")))
		return -1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(g->name, types[i].name)) {
			*dt = types[i].dt;
			*esz = types[i].esz;
			return 0;
		}
	return -1;
}

/* Storage keys are short names ("0", "139…"): no '/', no "..". */
static int
valid_key(const embed_pkl *k)
{
	size_t i;

	if (!k || k->type != EMBED_PKL_STR || !k->len || k->len > PT_MAX_KEY)
		return 0;
	for (i = 0; i < k->len; i++) {
		char c = k->s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * Register the storage of persistent id `pid` for one more tensor; *idx is
 * its slot.  Returns 1 (nothing registered) for dtypes that are skipped.
 */
static int
add_storage(pt_loader *l, const char *tname, const embed_pkl *pid, size_t *idx)
{
	const embed_pkl *t = pid->n == 1 ? pid->items[0] : NULL;
	embed_dtype dt;
	int64_t numel;
	pt_storage *s;
	size_t i;
	int esz;

	if (!t || t->type != EMBED_PKL_TUPLE || t->n < 5 || t->n > 6 ||
	    !embed_pkl_is_str(t->items[0], "storage"))
		return vv_error(VV_EFORMAT, "%s: tensor %s: persistent id is not a "
				"('storage', type, key, location, numel) tuple", l->path, tname);
	/* legacy files add view metadata, None unless storages were views */
	if (t->n == 6 && (!t->items[5] || t->items[5]->type != EMBED_PKL_NONE))
		return vv_error(VV_EUNSUPPORTED, "%s: tensor %s: storage views of legacy files "
				"are not supported", l->path, tname);
	if (storage_dtype(t->items[1], &dt, &esz))
		return vv_error(VV_EFORMAT, "%s: tensor %s: unknown storage type", l->path, tname);
	if (!valid_key(t->items[2]))
		return vv_error(VV_EFORMAT, "%s: tensor %s: bad storage key", l->path, tname);
	if (!is_int(t->items[4]) || t->items[4]->i < 0 || t->items[4]->i > INT64_MAX / esz)
		return vv_error(VV_EFORMAT, "%s: tensor %s: bad storage size", l->path, tname);
	numel = t->items[4]->i;
	if (dt == EMBED_DT_OTHER) {
		vv_debug("%s: skipping tensor %s (storage %s)", l->path, tname, t->items[1]->name);
		return 1;
	}
	for (i = 0; i < l->nst; i++) {
		s = &l->st[i];
		if (strcmp(s->key, t->items[2]->s))
			continue;
		if (s->dt != dt || s->numel != numel)
			return vv_error(VV_EFORMAT, "%s: storage %s is described two different ways",
					l->path, s->key);
		s->refs++;
		*idx = i;
		return 0;
	}
	if (l->nst == l->stcap) {
		size_t nc = l->stcap ? l->stcap * 2 : 64;
		pt_storage *ns = realloc(l->st, nc * sizeof(*ns));

		if (!ns)
			return vv_error(VV_ENOMEM, "out of memory");
		l->st = ns;
		l->stcap = nc;
	}
	s = &l->st[l->nst];
	memset(s, 0, sizeof(*s));
	s->key = strdup(t->items[2]->s);
	if (!s->key)
		return vv_error(VV_ENOMEM, "out of memory");
	s->dt = dt;
	s->esz = esz;
	s->numel = numel;
	s->refs = 1;
	*idx = l->nst++;
	return 0;
}

/* Read a tuple of n ints (n <= EMBED_MAXDIM) into v. */
static int
int_tuple(const embed_pkl *t, int64_t *v, int *n)
{
	size_t i;

	if (!t || t->type != EMBED_PKL_TUPLE || t->n > EMBED_MAXDIM)
		return -1;
	for (i = 0; i < t->n; i++) {
		if (!is_int(t->items[i]))
			return -1;
		v[i] = t->items[i]->i;
	}
	*n = (int)t->n;
	return 0;
}

/* Check the view (offset, size, stride) against its storage. */
static int
check_view(pt_loader *l, pt_spec *sp)
{
	const pt_storage *s = &l->st[sp->storage];
	int64_t numel = 1, last = sp->offset, step;
	int i;

	if (sp->offset < 0)
		return vv_error(VV_EFORMAT, "%s: tensor %s: negative storage offset", l->path, sp->name);
	for (i = 0; i < sp->ndim; i++) {
		if (sp->size[i] < 0 || sp->stride[i] < 0)
			return vv_error(VV_EFORMAT, "%s: tensor %s: negative size or stride",
					l->path, sp->name);
		if (sp->size[i] == 1)
			sp->stride[i] = 0; /* never stepped over: keeps the walk in range */
		if (__builtin_mul_overflow(numel, sp->size[i], &numel))
			return vv_error(VV_EFORMAT, "%s: tensor %s: shape too large", l->path, sp->name);
	}
	sp->numel = numel;
	if (!numel)
		return 0;
	for (i = 0; i < sp->ndim; i++)
		if (__builtin_mul_overflow(sp->size[i] - 1, sp->stride[i], &step) ||
		    __builtin_add_overflow(last, step, &last))
			return vv_error(VV_EFORMAT, "%s: tensor %s: view too large", l->path, sp->name);
	if (last >= s->numel)
		return vv_error(VV_EFORMAT, "%s: tensor %s: view reaches element %lld of storage %s, "
				"which holds %lld", l->path, sp->name, (long long)last, s->key,
				(long long)s->numel);
	if (numel > s->numel && numel > PT_MAX_EXPANDED_NUMEL)
		return vv_error(VV_EFORMAT, "%s: tensor %s: %lld elements from a storage of %lld",
				l->path, sp->name, (long long)numel, (long long)s->numel);
	if (s->dt == EMBED_DT_I64 || s->dt == EMBED_DT_I32) {
		if (numel > PT_MAX_INT_NUMEL)
			return 1;
	}
	return 0;
}

/*
 * If `v` is a tensor (an allowlisted rebuild call), describe it in *sp and
 * return 0; 1 when it is not a tensor or is skipped; < 0 on malformed input.
 */
static int
parse_tensor(pt_loader *l, const char *name, const embed_pkl *v, int wrap, pt_spec *sp)
{
	const embed_pkl *fn, *args;
	int err, n;

	if (!v || v->type != EMBED_PKL_OBJECT)
		return 1;
	fn = v->items[EMBED_PKL_OBJ_CALLABLE];
	args = v->items[EMBED_PKL_OBJ_ARGS];
	if (!args || args->type != EMBED_PKL_TUPLE)
		return 1;
	if (embed_pkl_is_global(fn, "torch._utils", "_rebuild_parameter") ||
	    embed_pkl_is_global(fn, "torch._utils", "_rebuild_parameter_with_state")) {
		if (wrap >= PT_MAX_WRAP || args->n < 1)
			return vv_error(VV_EFORMAT, "%s: tensor %s: bad parameter", l->path, name);
		return parse_tensor(l, name, args->items[0], wrap + 1, sp);
	}
	if (embed_pkl_is_global(fn, "torch._tensor", "_rebuild_from_type_v2")) {
		/* (func, type, args, state): func(*args) is the tensor */
		if (wrap >= PT_MAX_WRAP || args->n < 3 ||
		    !embed_pkl_is_global(args->items[0], "torch._utils", "_rebuild_tensor_v2") ||
		    !args->items[2] || args->items[2]->type != EMBED_PKL_TUPLE)
			return 1;
		fn = args->items[0];
		args = args->items[2];
	}
	if (!embed_pkl_is_global(fn, "torch._utils", "_rebuild_tensor_v2") &&
	    !embed_pkl_is_global(fn, "torch._utils", "_rebuild_tensor")) {
		if (fn && fn->type == EMBED_PKL_GLOBAL && !strncmp(fn->s, "torch", 5) &&
		    !strncmp(fn->name, "_rebuild_", 9)) {
			char m[128], f[128];

			if (!l->warned)
				vv_warn("%s: skipping tensor %s (%s.%s is not supported)", l->path, name,
					shown(fn->s, m, sizeof(m)), shown(fn->name, f, sizeof(f)));
			else
				vv_debug("%s: skipping tensor %s", l->path, name);
			l->warned = 1;
		}
		return 1;
	}
	/* (storage, storage_offset, size, stride[, requires_grad, hooks[, metadata]]) */
	if (args->n < 4 || !args->items[0] || args->items[0]->type != EMBED_PKL_PERSID ||
	    !is_int(args->items[1]))
		return vv_error(VV_EFORMAT, "%s: tensor %s: malformed _rebuild_tensor arguments",
				l->path, name);
	memset(sp, 0, sizeof(*sp));
	sp->name = name;
	sp->offset = args->items[1]->i;
	if (int_tuple(args->items[2], sp->size, &sp->ndim) ||
	    int_tuple(args->items[3], sp->stride, &n) || n != sp->ndim)
		return vv_error(VV_EFORMAT, "%s: tensor %s: bad size or stride (at most %d dimensions)",
				l->path, name, EMBED_MAXDIM);
	err = add_storage(l, name, args->items[0], &sp->storage);
	if (err)
		return err;
	err = check_view(l, sp);
	if (err)
		l->st[sp->storage].refs--;
	return err;
}

/* Copy storage s out of a legacy file (once). */
static int
load_legacy_storage(pt_loader *l, pt_storage *s)
{
	size_t i, nbytes;

	for (i = 0; i < l->nlst; i++)
		if (!strcmp(l->lst[i].key, s->key))
			break;
	if (i == l->nlst)
		return vv_error(VV_EFORMAT, "%s: storage %s is missing from the file", l->path, s->key);
	if (l->lst[i].esz != s->esz || l->lst[i].numel != s->numel)
		return vv_error(VV_EFORMAT, "%s: storage %s holds %lld elements, the pickle says %lld",
				l->path, s->key, (long long)l->lst[i].numel, (long long)s->numel);
	nbytes = (size_t)s->numel * (size_t)s->esz; /* checked against the file length */
	s->data = malloc(nbytes ? nbytes : 1);
	if (!s->data)
		return vv_error(VV_ENOMEM, "%s: out of memory for storage %s", l->path, s->key);
	memcpy(s->data, l->file + l->lst[i].off, nbytes);
	return 0;
}

/* Read storage s from data/<key> (once). */
static int
load_storage(pt_loader *l, pt_storage *s)
{
	char *name;
	int64_t idx;
	uint64_t size;
	size_t nbytes = (size_t)s->numel * (size_t)s->esz;
	int err;

	if (s->data)
		return 0;
	if (l->file)
		return load_legacy_storage(l, s);
	name = entry_name(l, "data/", s->key);
	if (!name)
		return vv_error(VV_ENOMEM, "out of memory");
	idx = embed_zip_find(l->z, name);
	if (idx < 0) {
		err = vv_error(VV_EFORMAT, "%s: storage %s is missing from the zip", l->path, name);
		goto out_free_name;
	}
	err = embed_zip_size(l->z, idx, &size);
	if (err)
		goto out_free_name;
	if ((uint64_t)s->numel > UINT64_MAX / (uint64_t)s->esz ||
	    size != (uint64_t)s->numel * (uint64_t)s->esz || size > SIZE_MAX) {
		err = vv_error(VV_EFORMAT, "%s: storage %s holds %llu bytes, the pickle says "
			       "%lld elements of %d bytes", l->path, name, (unsigned long long)size,
			       (long long)s->numel, s->esz);
		goto out_free_name;
	}
	s->data = malloc(nbytes ? nbytes : 1);
	if (!s->data) {
		err = vv_error(VV_ENOMEM, "%s: out of memory for storage %s (%zu bytes)",
			       l->path, name, nbytes);
		goto out_free_name;
	}
	err = embed_zip_read_into(l->z, idx, s->data, nbytes);
	if (err) {
		free(s->data);
		s->data = NULL;
	}
out_free_name:
	free(name);
	return err;
}

/* out[k] = element src + k * step of s, converted to float, for k < n. */
static void
convert_run(const pt_storage *s, int64_t src, int64_t step, float *out, int64_t n)
{
	const unsigned char *p = (const unsigned char *)s->data;
	int64_t k;
	uint16_t h;
	int64_t q;
	int32_t w;
	double d;

	switch (s->dt) {
	case EMBED_DT_F32:
		if (step == 1) {
			memcpy(out, p + (size_t)src * 4, (size_t)n * 4);
			return;
		}
		for (k = 0; k < n; k++, src += step)
			memcpy(&out[k], p + (size_t)src * 4, 4);
		return;
	case EMBED_DT_F16:
		for (k = 0; k < n; k++, src += step) {
			memcpy(&h, p + (size_t)src * 2, 2);
			out[k] = embed_f16_to_f32(h);
		}
		return;
	case EMBED_DT_BF16:
		for (k = 0; k < n; k++, src += step) {
			memcpy(&h, p + (size_t)src * 2, 2);
			out[k] = embed_bf16_to_f32(h);
		}
		return;
	case EMBED_DT_F64:
		for (k = 0; k < n; k++, src += step) {
			memcpy(&d, p + (size_t)src * 8, 8);
			out[k] = (float)d;
		}
		return;
	case EMBED_DT_I64:
		for (k = 0; k < n; k++, src += step) {
			memcpy(&q, p + (size_t)src * 8, 8);
			out[k] = (float)q;
		}
		return;
	case EMBED_DT_I32:
		for (k = 0; k < n; k++, src += step) {
			memcpy(&w, p + (size_t)src * 4, 4);
			out[k] = (float)w;
		}
		return;
	default:
		memset(out, 0, (size_t)n * sizeof(*out));
	}
}

/* 1 when the view is the whole storage in row-major order. */
static int
whole_contiguous(const pt_spec *sp, const pt_storage *s)
{
	int64_t expect = 1;
	int i;

	if (sp->offset || sp->numel != s->numel)
		return 0;
	for (i = sp->ndim - 1; i >= 0; i--) {
		if (sp->size[i] != 1 && sp->stride[i] != expect)
			return 0;
		expect *= sp->size[i];
	}
	return 1;
}

/* Build one tensor from its storage and add it to `t` as `name`. */
static int
materialise(pt_loader *l, const pt_spec *sp, const char *name, embed_tensors *t)
{
	pt_storage *s = &l->st[sp->storage];
	int64_t idx[EMBED_MAXDIM] = { 0 }, src = sp->offset, e, row, step;
	float *out;
	int err, d;

	err = load_storage(l, s);
	if (err)
		return err;
	s->refs--;
	if (s->dt == EMBED_DT_F32 && !s->refs && whole_contiguous(sp, s)) {
		out = s->data; /* hand the storage over: no copy */
		s->data = NULL;
		return embed_tensors_add(t, name, sp->ndim, sp->size, s->dt, out);
	}
	out = malloc(sp->numel ? (size_t)sp->numel * sizeof(float) : 1);
	if (!out)
		return vv_error(VV_ENOMEM, "%s: out of memory for tensor %s", l->path, name);
	/* one run per row of the last dimension; the other indices advance like an odometer */
	row = sp->ndim ? sp->size[sp->ndim - 1] : 1;
	step = sp->ndim ? sp->stride[sp->ndim - 1] : 0;
	for (e = 0; row && e < sp->numel; e += row) {
		convert_run(s, src, step, out + e, row);
		for (d = sp->ndim - 2; d >= 0; d--) {
			src += sp->stride[d];
			if (++idx[d] < sp->size[d])
				break;
			src -= sp->stride[d] * sp->size[d];
			idx[d] = 0;
		}
	}
	if (!s->refs) {
		free(s->data);
		s->data = NULL;
	}
	return embed_tensors_add(t, name, sp->ndim, sp->size, s->dt, out);
}

/* Copy `v` (a STR without NUL) into *out. */
static int
dup_str(const embed_pkl *v, char **out)
{
	if (!v || v->type != EMBED_PKL_STR || strlen(v->s) != v->len)
		return 0;
	*out = strdup(v->s);
	return *out ? 0 : vv_error(VV_ENOMEM, "out of memory");
}

/* epoch, arch and args.model of a timm checkpoint. */
static int
read_info(const embed_pkl *root, embed_pt_info *info)
{
	const embed_pkl *v, *args, *state = NULL;
	int err;

	v = embed_pkl_dict_get(root, "epoch");
	if (v && v->type == EMBED_PKL_INT)
		info->epoch = v->i;
	err = dup_str(embed_pkl_dict_get(root, "arch"), &info->arch);
	if (err)
		return err;
	args = embed_pkl_dict_get(root, "args");
	if (args && args->type == EMBED_PKL_DICT)
		state = args;
	else if (args && args->type == EMBED_PKL_OBJECT)
		state = args->items[EMBED_PKL_OBJ_STATE];
	return dup_str(embed_pkl_dict_get(state, "model"), &info->args_model);
}

/* 1 when some value of dict d is a tensor rebuild call. */
static int
holds_tensors(const embed_pkl *d)
{
	const embed_pkl *v, *fn;
	size_t i;

	for (i = 1; d && d->type == EMBED_PKL_DICT && i < d->n; i += 2) {
		v = d->items[i];
		if (!v || v->type != EMBED_PKL_OBJECT)
			continue;
		fn = v->items[EMBED_PKL_OBJ_CALLABLE];
		if (fn && fn->type == EMBED_PKL_GLOBAL && !strncmp(fn->s, "torch", 5))
			return 1;
	}
	return 0;
}

/* Error for a value that is a pickled object rather than a state dict. */
static int
not_a_state_dict(const char *path, const char *where, const embed_pkl *v)
{
	const embed_pkl *fn = v && v->type == EMBED_PKL_OBJECT ? v->items[EMBED_PKL_OBJ_CALLABLE] : NULL;
	char m[200], f[200];

	if (fn && fn->type == EMBED_PKL_GLOBAL)
		return vv_error(VV_EUNSUPPORTED, "%s: %s is a pickled %s.%s object, not a "
				"state dict; save model.state_dict() instead", path, where,
				shown(fn->s, m, sizeof(m)), shown(fn->name, f, sizeof(f)));
	return vv_error(VV_ENOTFOUND, "%s: %s is a %s, not a state dict of tensors", path, where,
			v ? embed_pkl_type_name(v->type) : "nothing");
}

/* Pick the dict of tensors out of the unpickled object. */
static int
choose_state_dict(const char *path, const embed_pkl *root, const embed_pt_opts *opts,
		  const embed_pkl **sd, int *used_ema)
{
	static const char *const ema_keys[] = { "state_dict_ema", "model_ema" };
	static const char *const keys[] = { "state_dict", "model", "module" };
	const embed_pkl *v;
	size_t i;

	*used_ema = 0;
	if (!root || root->type != EMBED_PKL_DICT)
		return not_a_state_dict(path, "the saved object", root);
	if (opts && opts->ema) {
		for (i = 0; i < sizeof(ema_keys) / sizeof(ema_keys[0]); i++) {
			v = embed_pkl_dict_get(root, ema_keys[i]);
			if (v && v->type == EMBED_PKL_DICT) {
				*sd = v;
				*used_ema = 1;
				return 0;
			}
		}
		vv_warn("%s: no EMA weights (state_dict_ema); using the regular ones", path);
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = embed_pkl_dict_get(root, keys[i]);
		if (!v)
			continue;
		if (v->type == EMBED_PKL_DICT) {
			*sd = v;
			return 0;
		}
		if (v->type == EMBED_PKL_OBJECT && !holds_tensors(root))
			return not_a_state_dict(path, keys[i], v);
	}
	*sd = root;
	return 0;
}

/* Find the tensors of dict sd and record them in l->spec. */
static int
collect_specs(pt_loader *l, const embed_pkl *sd)
{
	const embed_pkl *k;
	size_t i, n = sd->n / 2;
	int err;

	l->spec = calloc(n ? n : 1, sizeof(*l->spec));
	if (!l->spec)
		return vv_error(VV_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		k = sd->items[2 * i];
		if (!valid_name(k) || strlen(k->s) != k->len)
			continue;
		err = parse_tensor(l, k->s, sd->items[2 * i + 1], 0, &l->spec[l->nspec]);
		if (err < 0)
			return err;
		if (!err)
			l->nspec++;
	}
	if (!l->nspec)
		return vv_error(VV_ENOTFOUND, "%s: no float tensors in the state dict", l->path);
	return 0;
}

static int
build_tensors(pt_loader *l, embed_tensors *t)
{
	static const char prefix[] = "module.";
	size_t i, skip = strlen(prefix);
	int err;

	for (i = 0; i < l->nspec; i++)
		if (strncmp(l->spec[i].name, prefix, skip))
			skip = 0;
	for (i = 0; i < l->nspec; i++) {
		err = materialise(l, &l->spec[i], l->spec[i].name + skip, t);
		if (err)
			return err;
	}
	return 0;
}

/* Element size of storage `key` from any persistent id in the object pickle. */
static int
legacy_esz(const embed_pkl_doc *doc, const char *key)
{
	const embed_pkl *v, *t;
	embed_dtype dt;
	int esz;

	for (v = doc->nodes; v; v = v->next) {
		if (v->type != EMBED_PKL_PERSID || v->n != 1)
			continue;
		t = v->items[0];
		if (t && t->type == EMBED_PKL_TUPLE && t->n >= 5 && embed_pkl_is_str(t->items[2], key) &&
		    !storage_dtype(t->items[1], &dt, &esz))
			return esz;
	}
	return 0;
}

/*
 * The legacy format: pickles of the magic number, the protocol version
 * (1001), sys_info, the object and the sorted storage keys, then each
 * storage as an 8-byte element count and its data.  *obj is the object.
 */
static int
load_legacy(pt_loader *l, embed_pkl_doc **obj, embed_pkl_doc **keys)
{
	embed_pkl_doc *doc = NULL;
	const embed_pkl *v, *kl;
	size_t pos = sizeof(legacy_magic), used, i;
	char name[64];
	uint64_t count;
	int err, step;

	err = vv_read_file(l->path, (size_t)1 << 40, &l->file, &l->file_len);
	if (err)
		return err;
	for (step = 0; step < 4; step++) {
		static const char *const what[] = { "protocol version", "sys_info", "object",
						    "storage keys" };

		snprintf(name, sizeof(name), "%s pickle", what[step]);
		err = embed_pickle_load_prefix(name, l->file + pos, l->file_len - pos, &doc, &used);
		if (err) {
			vv_error_prefix("%s", l->path);
			return err;
		}
		pos += used;
		v = doc->root;
		if (step == 0 && (v->type != EMBED_PKL_INT || v->i != 1001))
			err = vv_error(VV_EUNSUPPORTED, "%s: legacy protocol version is not 1001", l->path);
		v = embed_pkl_dict_get(v, "little_endian");
		if (step == 1 && (!v || v->type != EMBED_PKL_BOOL || !v->i))
			err = vv_error(VV_EUNSUPPORTED, "%s: only little-endian checkpoints are supported",
				       l->path);
		if (err || step < 2) {
			embed_pickle_free(&doc);
			if (err)
				return err;
			continue;
		}
		if (step == 2)
			*obj = doc;
		else
			*keys = doc;
		doc = NULL;
	}
	kl = (*keys)->root;
	if (kl->type != EMBED_PKL_LIST)
		return vv_error(VV_EFORMAT, "%s: legacy storage keys are not a list", l->path);
	l->lst = calloc(kl->n ? kl->n : 1, sizeof(*l->lst));
	if (!l->lst)
		return vv_error(VV_ENOMEM, "out of memory");
	for (i = 0; i < kl->n; i++) {
		pt_legacy *e = &l->lst[i];

		if (!valid_key(kl->items[i]))
			return vv_error(VV_EFORMAT, "%s: bad legacy storage key", l->path);
		e->key = kl->items[i]->s;
		e->esz = legacy_esz(*obj, e->key);
		if (!e->esz)
			return vv_error(VV_EFORMAT, "%s: storage %s has no type in the pickle",
					l->path, e->key);
		if (l->file_len - pos < 8)
			return vv_error(VV_EFORMAT, "%s: truncated at storage %s", l->path, e->key);
		memcpy(&count, l->file + pos, 8);
		pos += 8;
		if (count > (l->file_len - pos) / (uint64_t)e->esz)
			return vv_error(VV_EFORMAT, "%s: storage %s of %llu elements runs past the end "
					"of the file", l->path, e->key, (unsigned long long)count);
		e->numel = (int64_t)count;
		e->off = pos;
		pos += (size_t)count * (size_t)e->esz;
		l->nlst++;
	}
	return 0;
}

int
embed_pt_load(const char *path, const embed_pt_opts *opts, embed_tensors **out,
	      embed_pt_info *info)
{
	pt_loader l;
	embed_pt_info tmp = { -1, NULL, NULL, 0 };
	embed_pkl_doc *doc = NULL, *keys = NULL;
	const embed_pkl *sd = NULL;
	char *pkl = NULL, *pname;
	size_t pkl_len, i;
	int64_t pkl_idx = -1;
	int err, legacy;

	*out = NULL;
	if (info)
		*info = tmp;
	memset(&l, 0, sizeof(l));
	l.path = path;
	legacy = check_magic(path);
	if (legacy < 0)
		return legacy;
	if (legacy) {
		err = load_legacy(&l, &doc, &keys);
		if (err)
			goto out_free_doc;
	} else {
		err = embed_zip_open(path, &l.z);
		if (err)
			return err;
		err = find_top(&l, &pkl_idx);
		if (!err)
			err = check_byteorder(&l);
		if (!err)
			err = embed_zip_read(l.z, pkl_idx, EMBED_PKL_MAX_LEN, &pkl, &pkl_len);
		if (err)
			goto out_free_doc;
		pname = malloc(strlen(path) + 16);
		if (!pname) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free_doc;
		}
		sprintf(pname, "%s: data.pkl", path);
		err = embed_pickle_load(pname, pkl, pkl_len, &doc);
		free(pname);
		if (err)
			goto out_free_doc;
	}
	err = choose_state_dict(path, doc->root, opts, &sd, &tmp.used_ema);
	if (!err)
		err = read_info(doc->root, &tmp);
	if (!err)
		err = collect_specs(&l, sd);
	if (!err)
		err = embed_tensors_alloc(out);
	if (!err)
		err = build_tensors(&l, *out);
	if (err) {
		embed_tensors_free(out);
		embed_pt_info_reset(&tmp);
		goto out_free_doc;
	}
	if (info)
		*info = tmp;
	else
		embed_pt_info_reset(&tmp);
out_free_doc:
	for (i = 0; i < l.nst; i++) {
		free(l.st[i].key);
		free(l.st[i].data);
	}
	free(l.st);
	free(l.spec);
	free(l.lst);
	free(l.file);
	embed_pickle_free(&doc);
	embed_pickle_free(&keys);
	free(pkl);
	free(l.top);
	embed_zip_close(&l.z);
	return err;
}
