/* embed_tensors.c - a named set of float32 tensors. */
#include "embed/formats/embed_tensors.h"
#include "common/vv_error.h"

#include <stdlib.h>
#include <string.h>

int
embed_tensors_alloc(embed_tensors **pt)
{
	*pt = calloc(1, sizeof(**pt));
	return *pt ? 0 : vv_error(VV_ENOMEM, "out of memory");
}

void
embed_tensors_free(embed_tensors **pt)
{
	size_t i;

	if (!*pt)
		return;
	for (i = 0; i < (*pt)->n; i++) {
		free((*pt)->v[i].name);
		free((*pt)->v[i].data);
	}
	free((*pt)->v);
	free(*pt);
	*pt = NULL;
}

int
embed_tensors_add(embed_tensors *t, const char *name, int ndim,
		  const int64_t *shape, embed_dtype src_dtype, float *data)
{
	embed_tensor *x;
	int i;

	if (ndim < 0 || ndim > EMBED_MAXDIM) {
		free(data);
		return vv_error(VV_EFORMAT, "tensor %s: %d dimensions", name, ndim);
	}
	if (embed_tensors_find(t, name)) {
		free(data);
		return vv_error(VV_EFORMAT, "tensor %s appears twice", name);
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		embed_tensor *nv = realloc(t->v, nc * sizeof(*nv));

		if (!nv) {
			free(data);
			return vv_error(VV_ENOMEM, "out of memory");
		}
		t->v = nv;
		t->cap = nc;
	}
	x = &t->v[t->n];
	memset(x, 0, sizeof(*x));
	x->name = strdup(name);
	if (!x->name) {
		free(data);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	x->ndim = ndim;
	for (i = 0; i < ndim; i++)
		x->shape[i] = shape[i];
	x->src_dtype = src_dtype;
	x->data = data;
	t->n++;
	return 0;
}

const embed_tensor *
embed_tensors_find(const embed_tensors *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

int64_t
embed_tensor_numel(const embed_tensor *x)
{
	int64_t n = 1;
	int i;

	for (i = 0; i < x->ndim; i++)
		n *= x->shape[i];
	return n;
}

const char *
embed_dtype_name(embed_dtype d)
{
	static const char *const names[] = { "F32", "F16", "BF16", "F64", "I64", "I32", "other" };

	return (unsigned)d < sizeof(names) / sizeof(names[0]) ? names[d] : "other";
}

float
embed_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
	float f;

	if (exp == 0) {
		/* zero or subnormal: value = man * 2^-24 */
		f = (float)man * (1.0f / 16777216.0f);
		memcpy(&bits, &f, 4);
		bits |= sign;
	} else if (exp == 31) {
		bits = sign | 0x7f800000u | (man << 13);
	} else {
		bits = sign | ((exp + 112) << 23) | (man << 13);
	}
	memcpy(&f, &bits, 4);
	return f;
}

float
embed_bf16_to_f32(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;

	memcpy(&f, &bits, 4);
	return f;
}
