/* analysis_cache.c - per-checkpoint PCA and outlier scores, reused. */
#include "analysis/analysis_cache.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_VERSION 1

int
analysis_cache_key(const char *workdir, const vv_manifest *m, size_t f, int64_t n, int64_t d,
		   int k, int metric, int scale, char key[ANALYSIS_CACHE_KEY_MAX])
{
	char *path = vv_work_path(workdir, "embeddings", m->ckpt[f].name, ".npy");
	char fp[40];
	int err;

	if (!path)
		return vv_error(VV_ENOMEM, "out of memory");
	err = vv_file_fingerprint(path, fp);
	free(path);
	if (err)
		return err;
	snprintf(key, ANALYSIS_CACHE_KEY_MAX, "v%d emb=%s n=%lld d=%lld k=%d metric=%d scale=%d\n",
		 KEY_VERSION, fp, (long long)n, (long long)d, k, metric, scale);
	return 0;
}

/* The entry's .key file holds exactly `key`. */
static int
key_matches(const char *kp, const char *key)
{
	char *text = NULL;
	size_t len;
	int ok;

	ok = vv_is_file(kp) && !vv_read_file(kp, ANALYSIS_CACHE_KEY_MAX, &text, &len) &&
	     len == strlen(key) && !memcmp(text, key, len);
	free(text);
	vv_error_clear();
	return ok;
}

int
analysis_cache_has(const char *workdir, const char *name, const char *key)
{
	char *kp = vv_work_path(workdir, "analysis", name, ".key");
	int ok = kp && key_matches(kp, key);

	free(kp);
	return ok;
}

int
analysis_cache_load(const char *workdir, const char *name, const char *key, int64_t n,
		    double *pca, float *scores)
{
	char *kp = vv_work_path(workdir, "analysis", name, ".key");
	char *pp = vv_work_path(workdir, "analysis", name, ".pca.f64");
	char *sp = vv_work_path(workdir, "analysis", name, ".scores.npy");
	char *raw = NULL;
	vv_array *a = NULL;
	size_t len;
	int hit = 0;

	if (!kp || !pp || !sp || !key_matches(kp, key))
		goto out;
	if (vv_read_file(pp, (size_t)n * 16 + 1, &raw, &len) || len != (size_t)n * 16)
		goto out;
	if (vv_npy_read(sp, &a) || a->dtype != VV_F32 || a->ndim != 1 || a->shape[0] != n)
		goto out;
	memcpy(pca, raw, len);
	memcpy(scores, a->data, (size_t)n * sizeof(float));
	hit = 1;
out:
	vv_error_clear();
	vv_array_free(&a);
	free(raw);
	free(sp);
	free(pp);
	free(kp);
	return hit;
}

int
analysis_cache_store(const char *workdir, const char *name, const char *key, int64_t n,
		     const double *pca, const float *scores)
{
	char *dir = vv_path_join(workdir, "analysis");
	char *kp = vv_work_path(workdir, "analysis", name, ".key");
	char *pp = vv_work_path(workdir, "analysis", name, ".pca.f64");
	char *sp = vv_work_path(workdir, "analysis", name, ".scores.npy");
	int64_t shape[1] = { n };
	int err;

	if (!dir || !kp || !pp || !sp) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = vv_mkdir_p(dir)) ||
	    (err = vv_write_file_atomic(pp, pca, (size_t)n * 2 * sizeof(double))) ||
	    (err = vv_npy_write(sp, VV_F32, scores, 1, shape)))
		goto out;
	err = vv_write_file_atomic(kp, key, strlen(key));
out:
	free(sp);
	free(pp);
	free(kp);
	free(dir);
	return err;
}
