/*
 * vv_npy.h - NumPy .npy files (format version 1.0/2.0/3.0), little-endian
 * float32 and int32 arrays, C order.  What vitviz writes, np.load() reads;
 * what np.save() writes for those dtypes, vv_npy_read() reads.
 */
#ifndef VV_NPY_H
#define VV_NPY_H

#include <stddef.h>
#include <stdint.h>

#define VV_NPY_MAXDIM 4

typedef enum vv_dtype {
	VV_F32 = 0, /* '<f4' */
	VV_I32 = 1, /* '<i4' */
} vv_dtype;

typedef struct vv_array {
	vv_dtype dtype;                 /* element type */
	int ndim;                       /* number of dimensions, 0..VV_NPY_MAXDIM */
	int64_t shape[VV_NPY_MAXDIM];   /* extent of each dimension */
	void *data;                     /* C-order elements, malloc'd */
} vv_array;

/* Allocate an array of the given shape, zero-filled. */
int vv_array_alloc(vv_array **pa, vv_dtype dtype, int ndim, const int64_t *shape);

/* Free *pa and set it to NULL (NULL-safe). */
void vv_array_free(vv_array **pa);

/* Number of elements (product of the shape). */
int64_t vv_array_numel(const vv_array *a);

/* Write an array to `path` atomically (temporary file + rename). */
int vv_npy_write(const char *path, vv_dtype dtype, const void *data,
		 int ndim, const int64_t *shape);

/*
 * Read an .npy file of dtype '<f4' or '<i4' (also '<f8', converted to
 * float32) in C order.  Every header field is validated and the data length
 * must match the shape exactly; anything else is VV_EFORMAT naming the file.
 */
int vv_npy_read(const char *path, vv_array **pa);

/* Parse an in-memory .npy image (used by vv_npy_read and the fuzzer). */
int vv_npy_parse(const char *name, const unsigned char *buf, size_t len, vv_array **pa);

#endif
