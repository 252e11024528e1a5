/*
 * vv_work.h - the work folder every stage reads and writes.
 *
 *   manifest.json           embed: model, preprocessing, dataset, checkpoints
 *   samples.csv             embed: index,path,label,label_name (path relative
 *                           to the data root; CIFAR: "<batch file>:<record>")
 *   embeddings/<ckpt>.npy   embed: float32 N x D
 *   logits/<ckpt>.npy       embed: float32 N x C, only with a classifier head
 *   analysis.json           analyze: options, display scale, per frame top-8
 *   coords.npy              analyze: float32 T x N x 2, aligned, display-scaled
 *   scores.npy              analyze: float32 T x N outlier scores
 *   frames.csv, outliers.csv, loss.csv   analyze: see README
 *   dynamics.csv, dynamics.npy, dynamics.json   analyze: training dynamics
 *                           per sample (analysis/analysis_dynamics_stage.h)
 *
 * <ckpt> is the checkpoint's name (folder or file stem, e.g. "checkpoint-500").
 */
#ifndef VV_WORK_H
#define VV_WORK_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define VV_WORK_FORMAT 1

typedef struct vv_ckpt_info {
	char *name;        /* output stem, e.g. "checkpoint-500" */
	int64_t step;      /* global step (Trainer) or epoch (timm); -1 unknown */
	double epoch;      /* training epoch at this checkpoint; NaN unknown */
	char *path;        /* checkpoint folder or file */
	char *format;      /* "safetensors", "pytorch", "timm" */
	char *fingerprint; /* vv_file_fingerprint() of the weights file(s) */
	int has_logits;    /* logits/<name>.npy was written */
	int logits_match;  /* logit column j is dataset class j (by name or by
			    * index); 0 when the head's classes are others */
} vv_ckpt_info;

typedef struct vv_manifest {
	char *run;          /* run folder or checkpoint given to embed */
	char *data;         /* dataset root given to embed */
	char *data_kind;    /* "cifar10", "cifar100" or "folder" */
	int64_t n;          /* number of samples embedded */
	int dim;            /* embedding width D */
	int num_labels;     /* classifier outputs C, 0 without a head */
	char *pool;         /* "cls" or "mean" */
	char *model_name;   /* model.name: the model's display name ("ViT-B/16",
			     * "Swin-T"), NULL in older work folders */
	char *loss_kind;    /* "trainer_state", "timm_summary", "csv", or NULL */
	char *loss_path;    /* file holding the training log, or NULL */
	int nclasses;       /* classes of the dataset */
	char **class_names; /* nclasses names, indexed by label */
	int *class_order;   /* nclasses labels in display order: the model's
			     * id2label order when embed matched the classes
			     * with a classifier ("class_order"), else 0..n-1 */
	size_t nckpt;       /* number of checkpoints */
	vv_ckpt_info *ckpt; /* checkpoints in step order */
	cJSON *json;        /* the whole document, for fields not mirrored here */
} vv_manifest;

/*
 * Load <workdir>/manifest.json.  A missing file is VV_ENOTFOUND ("not a
 * vitviz work folder"); missing or mistyped fields are VV_EFORMAT.
 */
int vv_manifest_load(const char *workdir, vv_manifest **pm);

/* Free *pm and set it to NULL (NULL-safe). */
void vv_manifest_free(vv_manifest **pm);

typedef struct vv_samples {
	size_t n;           /* number of samples */
	char **path;        /* n paths relative to the data root */
	int *label;         /* n class indices */
	char **label_name;  /* n class names */
} vv_samples;

/* Load <workdir>/samples.csv; rows must be numbered 0..n-1 in order. */
int vv_samples_load(const char *workdir, vv_samples **ps);

/* Free *ps and set it to NULL (NULL-safe). */
void vv_samples_free(vv_samples **ps);

/* malloc'd "<workdir>/<sub>/<name><ext>" (sub may be NULL). */
char *vv_work_path(const char *workdir, const char *sub, const char *name, const char *ext);

/*
 * Write <workdir>/checkpoints.csv from manifest.json: one row per
 * checkpoint in step order (order,checkpoint,step,epoch,embeddings,logits;
 * the paths relative to the work folder, logits empty without a head), so
 * that users need not sort the .npy names, whose steps are not
 * zero-padded.  Called wherever manifest.json is written.
 */
int vv_checkpoints_csv_write(const char *workdir);

#endif
