/*
 * analysis_input.h - reading what `embed` left in the work folder, and the
 * ranking shared by `analyze` and `report`.
 */
#ifndef ANALYSIS_INPUT_H
#define ANALYSIS_INPUT_H

#include "common/vv_npy.h"
#include "common/vv_work.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Read <workdir>/<sub>/<checkpoint f's name>.npy (sub "embeddings" or
 * "logits") as a float32 n x width matrix (width <= 0: any width >= 1) and
 * check that every value is finite.  Missing file: VV_ENOTFOUND; another
 * shape: VV_EMISMATCH; NaN/Inf: VV_EFORMAT naming the checkpoint and row.
 */
int analysis_read_matrix(const char *workdir, const vv_manifest *m, size_t f, const char *sub, int64_t n,
			 int64_t width, vv_array **pa);

/*
 * Name of class k as checkpoint f's classifier calls it: its "id2label" in
 * manifest.json, else the dataset's class name, else "".
 */
const char *analysis_class_name(const vv_manifest *m, size_t f, int32_t k);

/*
 * order[0..n) = sample indices by ascending score, ties by index (rank 1 =
 * order[0] = the most atypical sample).
 */
int analysis_rank(const float *scores, int64_t n, int32_t *order);

#endif
