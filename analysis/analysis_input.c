/* analysis_input.c - embeddings/logits of a checkpoint; ranking by score. */
#include "analysis/analysis_input.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"

#include <math.h>
#include <stdlib.h>

int
analysis_read_matrix(const char *workdir, const vv_manifest *m, size_t f, const char *sub, int64_t n,
		     int64_t width, vv_array **pa)
{
	const vv_ckpt_info *c = &m->ckpt[f];
	char *path = vv_work_path(workdir, sub, c->name, ".npy");
	const float *v;
	vv_array *a = NULL;
	int64_t i, j;
	int err;

	*pa = NULL;
	if (!path)
		return VV_ENOMEM;
	if (!vv_is_file(path)) {
		err = vv_error(VV_ENOTFOUND, "%s: %s of checkpoint %s missing (run `vitviz embed`)", path, sub, c->name);
		goto out_path;
	}
	if ((err = vv_npy_read(path, &a)))
		goto out_path;
	if (a->dtype != VV_F32 || a->ndim != 2) {
		err = vv_error(VV_EFORMAT, "%s: expected a 2-D float32 array", path);
		goto out_array;
	}
	if (a->shape[0] != n || (width > 0 && a->shape[1] != width) || a->shape[1] < 1) {
		err = vv_error(VV_EMISMATCH,
			       "%s: checkpoint %s has %lld x %lld %s, expected %lld x %lld as manifest.json says "
			       "(every checkpoint must embed the same samples at the same width)",
			       path, c->name, (long long)a->shape[0], (long long)a->shape[1], sub, (long long)n,
			       (long long)(width > 0 ? width : a->shape[1]));
		goto out_array;
	}
	v = a->data;
	for (i = 0; i < a->shape[0]; i++)
		for (j = 0; j < a->shape[1]; j++)
			if (!isfinite(v[i * a->shape[1] + j])) {
				err = vv_error(VV_EFORMAT, "%s: checkpoint %s, row %lld: non-finite value (NaN or Inf)",
					       path, c->name, (long long)i);
				goto out_array;
			}
	*pa = a;
	a = NULL;
out_array:
	vv_array_free(&a);
out_path:
	free(path);
	return err;
}

const char *
analysis_class_name(const vv_manifest *m, size_t f, int32_t k)
{
	const cJSON *ck = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m->json, "checkpoints"), (int)f);
	const cJSON *id2 = cJSON_GetObjectItemCaseSensitive(ck, "id2label");
	const cJSON *it = cJSON_IsArray(id2) && k >= 0 ? cJSON_GetArrayItem(id2, k) : NULL;

	if (cJSON_IsString(it))
		return it->valuestring;
	return k >= 0 && k < m->nclasses ? m->class_names[k] : "";
}

struct ranked {
	float score;
	int32_t index;
};

static int
cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

int
analysis_rank(const float *scores, int64_t n, int32_t *order)
{
	struct ranked *rk;
	int64_t i;

	if (n < 0 || n > INT32_MAX)
		return vv_error(VV_EINVAL, "rank: bad count %lld", (long long)n);
	rk = malloc((size_t)(n ? n : 1) * sizeof(*rk));
	if (!rk)
		return vv_error(VV_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		rk[i].score = scores[i];
		rk[i].index = (int32_t)i;
	}
	qsort(rk, (size_t)n, sizeof(*rk), cmp_ranked);
	for (i = 0; i < n; i++)
		order[i] = rk[i].index;
	free(rk);
	return 0;
}
