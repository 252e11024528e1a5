/*
 * embed_stage.h - the `embed` stage: every checkpoint of a run over a
 * labelled image set, written to a work folder (see common/vv_work.h).
 *
 * Reruns are incremental: a checkpoint whose weights fingerprint, pooling
 * and sample list match what manifest.json records, and whose outputs are
 * present, is skipped; changed checkpoints are recomputed and new ones
 * added.  The manifest is rewritten (atomically) after every checkpoint, so
 * an interrupted run keeps what it finished.
 */
#ifndef EMBED_STAGE_H
#define EMBED_STAGE_H

#include <stddef.h>

#include "embed/embed_shard.h"

typedef struct embed_stage_opts {
	const char *run;     /* run folder or one checkpoint */
	const char *data;    /* dataset root: CIFAR batch(es) or image folder */
	const char *workdir; /* work folder to write */
	size_t limit;        /* first N samples (0: all) */
	size_t per_class;    /* first N samples of each class (0: all) */
	const char *split;   /* CIFAR folder split: "test" (default) or "train" */
	int batch;           /* images per forward pass (0: 16) */
	int threads;         /* worker threads (vv_threads_set(); 0: as set before) */
	int pool;            /* EMBED_POOL_CLS, EMBED_POOL_MEAN or EMBED_POOL_HEAD */
	int strict;          /* an undecodable image is an error */
	int force;           /* recompute every checkpoint */
	const char *arch;    /* timm architecture name overriding the files' (or NULL) */
	int ema;             /* timm: embed the EMA weights (state_dict_ema) */
	int image_size;      /* jeonsworld: its train.py's --img_size (0: 224) */
	const char *label_map; /* CSV data_class,model_class matching the data
				* set's classes with the model's (or NULL) */
	int labels_by_index; /* data set class j is model output j */
	embed_shard shard;   /* this process's shard; count 0: not sharded (the
			      * whole outputs are written directly) */
} embed_stage_opts;

/* Defaults: batch 16, CLS pooling, test split, everything else 0. */
void embed_stage_opts_default(embed_stage_opts *o);

/*
 * Run the stage.  Returns 0, or a VV_E* code with the message naming the
 * file and the problem; outputs already finished stay valid.  The data
 * set's classes are matched with each classifier's outputs by name
 * (embed/embed_labels.h) before its forward pass: names that do not match
 * without label_map or labels_by_index are VV_EMISMATCH.  logits/<ckpt>.npy
 * then has one column per data set class, in the data set's class order;
 * manifest.json's "class_order" lists the data set's classes in the
 * model's id2label order (the legend's order).
 * Sharded (o->shard.count > 0): compute this shard's units of the plan
 * (embed_shard.h) as part files beside the outputs,
 * "embeddings/<ckpt>.part-KKKK-of-PPPP.{npy,json}" (+ logits/), each .json
 * written last and holding rows, dtype, fingerprints of weights, data and
 * options, the vitviz version and the plan; a part that is current, or a
 * checkpoint the merged manifest already holds, is skipped.  Assembling the
 * parts is embed_merge()'s job (the CLI calls it after each shard).
 */
int embed_stage_run(const embed_stage_opts *o);

/* "cls" / "mean" / "head" to EMBED_POOL_*; VV_EINVAL otherwise. */
int embed_parse_pool(const char *s, int *pool);

#endif
