/*
 * analysis_cache.h - each checkpoint's PCA coordinates and outlier scores,
 * kept in <work>/analysis/ so that a rerun after adding checkpoints, or a
 * sharded analysis (analyze --shard I/N), computes only what is new, and
 * the assembled outputs stay byte-identical to a run that computed all.
 *
 * Per checkpoint <name>: <name>.pca.f64 (n x 2 little-endian doubles, the
 * PCA before alignment), <name>.scores.npy (n float32 outlier scores) and,
 * written last, <name>.key: what they were computed from (the embeddings'
 * fingerprint, n, d and the scoring options).  An entry whose key differs
 * or whose files are incomplete is a miss, never an error.
 */
#ifndef ANALYSIS_CACHE_H
#define ANALYSIS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/vv_work.h"

/* Longest key text. */
#define ANALYSIS_CACHE_KEY_MAX 160

/*
 * The key of checkpoint f: fingerprint of embeddings/<name>.npy, n, d,
 * k, metric and scale of the outlier score.
 */
int analysis_cache_key(const char *workdir, const vv_manifest *m, size_t f, int64_t n, int64_t d,
		       int k, int metric, int scale, char key[ANALYSIS_CACHE_KEY_MAX]);

/* 1 and pca (n x 2) / scores (n) filled when the entry of `name` holds
 * `key`; 0 when it does not (or cannot be read). */
int analysis_cache_load(const char *workdir, const char *name, const char *key, int64_t n,
			double *pca, float *scores);

/* 1 when the entry of `name` holds `key` (its arrays are not read). */
int analysis_cache_has(const char *workdir, const char *name, const char *key);

/* Store an entry (arrays first, the key last, each atomically). */
int analysis_cache_store(const char *workdir, const char *name, const char *key, int64_t n,
			 const double *pca, const float *scores);

#endif
