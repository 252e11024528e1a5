/*
 * embed_safetensors.h - the safetensors weights format, single files and
 * sharded sets (model.safetensors.index.json).
 *
 * Every rule of the reference loader is enforced (REFERENCE.md §4): header
 * length bounded by 100 MB and by the file, UTF-8 JSON object, well-typed
 * entries, offsets contiguous from 0 with no overlap or hole, byte length
 * equal to numel × element size, file size exactly 8 + N + last end.
 * Floating tensors (F32, F16, BF16, F64) become float32 tensors of an
 * embed_tensors set; integer and boolean tensors are validated and skipped
 * (no ViT weight is an integer tensor); an unknown dtype is an error.
 */
#ifndef EMBED_SAFETENSORS_H
#define EMBED_SAFETENSORS_H

#include <stddef.h>

#include "embed/formats/embed_tensors.h"

/* Largest header the reference loader accepts. */
#define EMBED_ST_MAX_HEADER 100000000u

/* Most tensors one file or one shard index may hold (a ViT has a few
 * hundred); bounds the work a hostile header can cause. */
#define EMBED_ST_MAX_TENSORS 16384u

/*
 * Load every floating tensor of the .safetensors file at `path` into `t`
 * (appended; a name already in `t` is VV_EFORMAT).  The file is mapped, not
 * read.  Errors: VV_EREAD (cannot open/map), VV_EFORMAT (any rule broken),
 * VV_EUNSUPPORTED (unknown dtype), VV_ENOMEM; the message names the file.
 * On error `t` may hold the tensors added before the bad one.
 */
int embed_safetensors_load(const char *path, embed_tensors *t);

/*
 * Parse a safetensors image held in memory (`name` is used in messages);
 * same rules and results as embed_safetensors_load().
 */
int embed_safetensors_parse(const char *name, const unsigned char *buf, size_t len,
			    embed_tensors *t);

/*
 * Read a model.safetensors.index.json and list the shard files it names:
 * *files receives the distinct file paths (joined to the index's folder,
 * in order of first appearance), *n their count; free with vv_strv_free().
 * A missing or mistyped weight_map, a file name with a '/' or "..", or an
 * empty map is VV_EFORMAT naming the index.
 */
int embed_safetensors_index_files(const char *index_path, char ***files, size_t *n);

/*
 * Load a sharded checkpoint: every shard listed by the index is loaded and
 * validated, and the index and the shards must agree exactly: a tensor the
 * index maps to a file that lacks it (VV_ENOTFOUND), a tensor found in a
 * shard the index does not map it to, or in two shards (VV_EFORMAT), is an
 * error naming the tensor and the files.
 */
int embed_safetensors_load_sharded(const char *index_path, embed_tensors *t);

/*
 * Write the tensors of `t` as float32 to `path` (atomically, header padded
 * with spaces to a multiple of 8, data in set order), as the safetensors
 * package writes.  `metadata` (may be NULL) is a JSON object of strings.
 */
int embed_safetensors_save(const char *path, const embed_tensors *t, const char *metadata_json);

#endif
