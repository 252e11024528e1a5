/*
 * embed_ckpt.h - finding the checkpoints of a training run and loading
 * their weights.
 *
 * A Hugging Face Trainer run folder holds checkpoint-<step>/ subfolders
 * (ordered by the integer step, not by name); a checkpoint folder may also
 * be given directly.  A timm train.py output folder holds
 * checkpoint-<epoch>.pth.tar files (ordered by the integer epoch; its
 * last.pth.tar and model_best.pth.tar are ignored unless given directly),
 * args.yaml and summary.csv; one .pth.tar / .pth / .pt / .bin /
 * .safetensors file with timm names may be given directly too.
 */
#ifndef EMBED_CKPT_H
#define EMBED_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "embed/formats/embed_pt.h"
#include "embed/formats/embed_tensors.h"
#include "embed/formats/embed_timm_args.h"

/* embed_ckpt.format */
enum {
	EMBED_CKPT_SAFETENSORS = 0, /* model.safetensors */
	EMBED_CKPT_SHARDED = 1,     /* model.safetensors.index.json + shards */
	EMBED_CKPT_PYTORCH = 2,     /* pytorch_model.bin */
	EMBED_CKPT_TIMM = 3,        /* one file with timm names: torch.save
				     * (.pth.tar, .pth, .pt, .bin) or .safetensors */
	EMBED_CKPT_JEONSWORLD = 4,  /* jeonsworld/ViT-pytorch's train.py:
				     * <output_dir>/<name>_checkpoint.bin, a
				     * bare state dict (no config) */
	EMBED_CKPT_FLOWER = 5,      /* the flower tutorial's train.py
				     * (WZMIAOMIAO/deep-learning-for-image-
				     * processing, vision_transformer):
				     * weights/model-<epoch>.pth state dicts */
};

/* Options of discovery that the checkpoints carry to embed_model_open(). */
typedef struct embed_ckpt_opts {
	const char *arch; /* timm architecture (registry name, --arch NAME),
			   * over the checkpoint's 'arch' and args.yaml's
			   * model; NULL: from the run */
	int ema;          /* timm: the EMA weights ('state_dict_ema', --ema) */
	int image_size;   /* jeonsworld/ViT-pytorch: its train.py's --img_size
			   * (--image-size N); 0: its default 224 */
} embed_ckpt_opts;

typedef struct embed_ckpt {
	char *name;          /* output stem: the folder's base name ("checkpoint-500") */
	int64_t step;        /* global step from "checkpoint-<step>", -1 when the
			      * name does not have that form */
	char *path;          /* the checkpoint folder */
	char *weights;       /* model.safetensors, the index .json, or pytorch_model.bin */
	int format;          /* EMBED_CKPT_* */
	char *trainer_state; /* <path>/trainer_state.json, NULL when absent */
	/* timm checkpoints (format EMBED_CKPT_TIMM): for HF ones, NULL / 0 */
	char *arch;          /* embed_ckpt_opts.arch (malloc'd), NULL when not given */
	int ema;             /* embed_ckpt_opts.ema */
	int image_size;      /* embed_ckpt_opts.image_size (jeonsworld) */
	char *labels;        /* flower: the run's class_indices.json, NULL
			      * when absent */
	const char *args_path;             /* the run's args.yaml, NULL when
					    * none (owned by the list) */
	const embed_timm_args *args;       /* it, parsed (owned by the list) */
} embed_ckpt;

typedef struct embed_ckpt_list {
	size_t n;          /* number of checkpoints */
	embed_ckpt *v;     /* n checkpoints in step order (ties by name) */
	char *loss_kind;   /* "trainer_state", "timm_summary" or NULL */
	char *loss_path;   /* trainer_state.json of the last checkpoint that has
			    * one, or a timm run's summary.csv, or NULL */
	char *args_path;   /* a timm run's args.yaml, NULL when none */
	embed_timm_args *args; /* it, parsed; NULL when none */
} embed_ckpt_list;

/*
 * Find the checkpoints at `path`.  A folder holding weights itself is one
 * checkpoint (name = base name, step parsed from "checkpoint-<n>" or -1).
 * Otherwise its checkpoint-<integer> subfolders and
 * checkpoint-<integer>.pth.tar (or .pth) files are the checkpoints (timm:
 * step = epoch; name = the file name without its extension);
 * checkpoint-<non-integer> entries, and checkpoint folders holding no
 * weights file, are skipped with a warning; other entries are ignored.
 * Two more layouts of single-file state dicts, with --arch and
 * --image-size carried to the checkpoints (format EMBED_CKPT_JEONSWORLD /
 * EMBED_CKPT_FLOWER): a folder of jeonsworld/ViT-pytorch's
 * <name>_checkpoint.bin files (step -1, name order), and the flower
 * tutorial's weights/model-<epoch>.pth (given: the folder holding weights/,
 * or weights/ itself; step = epoch; its class_indices.json next to
 * weights/).  Either file may be given directly too.
 * A file path is one checkpoint: the weights file of an HF checkpoint
 * folder (model.safetensors, pytorch_model.bin, ... next to config.json)
 * stands for its folder, any other .pth.tar / .pth / .pt / .bin /
 * .safetensors file is a timm checkpoint (step from
 * "checkpoint-<n>.<ext>", else -1).  A timm run's args.yaml (parsed here:
 * its errors are returned) and summary.csv (loss_kind "timm_summary") are
 * looked for next to the checkpoint files.  No checkpoint at all is
 * VV_ENOTFOUND naming the folder.  `opts` may be NULL (no --arch, no EMA).
 */
int embed_ckpt_discover_opts(const char *path, const embed_ckpt_opts *opts,
			     embed_ckpt_list **pl);

/* embed_ckpt_discover_opts() without options. */
int embed_ckpt_discover(const char *path, embed_ckpt_list **pl);

/* Free *pl and set it to NULL (NULL-safe). */
void embed_ckpt_list_free(embed_ckpt_list **pl);

/*
 * The weights files of a checkpoint: the one file, or every shard of a
 * sharded checkpoint (free with vv_strv_free()).
 */
int embed_ckpt_weight_files(const embed_ckpt *ck, char ***files, size_t *n);

/*
 * Fingerprint of the weights (32 hex digits + NUL in `out`):
 * vv_file_fingerprint() of the file, or for a sharded checkpoint a hash of
 * the index's and every shard's fingerprint; for a timm checkpoint a hash
 * of the file's fingerprint, ck->ema, ck->arch and the args.yaml's
 * fingerprint (they change its outputs).
 */
int embed_ckpt_fingerprint(const embed_ckpt *ck, char out[40]);

/*
 * Load the weights of a checkpoint into a new tensor set: safetensors
 * (single or sharded), or torch.save files through the safe reader
 * (embed_pt_load(); timm checkpoints with ck->ema take the EMA state dict).
 */
int embed_ckpt_load_tensors(const embed_ckpt *ck, embed_tensors **pt);

/*
 * embed_ckpt_load_tensors() that also returns what a torch.save
 * checkpoint says about itself (epoch, arch, args.model, EMA used) in
 * `info` (may be NULL; otherwise overwritten: release it with
 * embed_pt_info_reset(); "nothing known" for safetensors files).
 */
int embed_ckpt_load(const embed_ckpt *ck, embed_tensors **pt, embed_pt_info *info);

/*
 * The epoch of a checkpoint known without loading it: the step of a timm
 * checkpoint (its epoch), the "epoch" of an HF checkpoint's
 * trainer_state.json; NAN when unknown (no message).
 */
double embed_ckpt_epoch(const embed_ckpt *ck);

/* "safetensors", "sharded", "pytorch", "timm" (or "unknown"). */
const char *embed_ckpt_format_name(int format);

#endif
