/*
 * embed_tensors.h - a named set of float32 tensors, whatever file they came
 * from.  Every weights loader (safetensors, PyTorch zip, sharded) produces
 * one; the ViT builder consumes it.
 */
#ifndef EMBED_TENSORS_H
#define EMBED_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#define EMBED_MAXDIM 8

/* The storage dtype a tensor had in its file (data is always float32). */
typedef enum embed_dtype {
	EMBED_DT_F32 = 0,
	EMBED_DT_F16,
	EMBED_DT_BF16,
	EMBED_DT_F64,
	EMBED_DT_I64,
	EMBED_DT_I32,
	EMBED_DT_OTHER,
} embed_dtype;

typedef struct embed_tensor {
	char *name;                    /* key as stored in the file, prefixes intact */
	int ndim;                      /* number of dimensions, 0..EMBED_MAXDIM */
	int64_t shape[EMBED_MAXDIM];   /* extent of each dimension */
	embed_dtype src_dtype;         /* dtype in the file, before conversion */
	float *data;                   /* row-major float32 values, owned */
} embed_tensor;

typedef struct embed_tensors {
	embed_tensor *v;  /* the tensors, in file order */
	size_t n;         /* number of tensors */
	size_t cap;       /* allocated slots in v */
} embed_tensors;

/* Allocate an empty set; *pt is NULL on failure. */
int embed_tensors_alloc(embed_tensors **pt);

/* Free the set and every tensor in it; *pt becomes NULL (NULL-safe). */
void embed_tensors_free(embed_tensors **pt);

/*
 * Add a tensor.  Takes ownership of `data` (malloc'd, numel floats) even on
 * failure.  A duplicate name is VV_EFORMAT.
 */
int embed_tensors_add(embed_tensors *t, const char *name, int ndim,
		      const int64_t *shape, embed_dtype src_dtype, float *data);

/* The tensor called `name`, or NULL. */
const embed_tensor *embed_tensors_find(const embed_tensors *t, const char *name);

/* Number of elements of a tensor. */
int64_t embed_tensor_numel(const embed_tensor *x);

/* "F32", "F16", ... */
const char *embed_dtype_name(embed_dtype d);

/* IEEE half and bfloat16 to float. */
float embed_f16_to_f32(uint16_t h);
float embed_bf16_to_f32(uint16_t h);

#endif
