/*
 * embed_family.h - the model-family interface: what every network vitviz
 * runs (ViT, Swin, ...) provides, and how a checkpoint finds its family.
 *
 * Adding a family is one new file plus one line:
 *   1. embed/models/embed_<family>.c defines a `const embed_family
 *      embed_family_<family>` filling the five operations below
 *      (detect / open / forward / free / describe) and declares it in its
 *      header;
 *   2. its address goes into the table of embed_family.c (first match
 *      wins; the ViT family is last and takes what no other family claims).
 * A family that is a variant of another one (the hybrid ResNet+ViT of
 * the ViT family) does not need its own entry: its detect/open are the
 * ViT family's, which look at the architecture (registry entry, config)
 * and build the variant.
 *
 * embed_model.c is the only caller: it reads config.json's model_type (HF
 * folders) or loads the weights and resolves the timm architecture (timm
 * files), asks the families in order, opens the first that says yes and
 * then only forwards through the table.  Nothing above embed/models/ sees
 * a family's own types: the rest of vitviz reads embed_model_info.
 */
#ifndef EMBED_FAMILY_H
#define EMBED_FAMILY_H

#include <cjson/cJSON.h>

#include "embed/formats/embed_ckpt.h"
#include "embed/formats/embed_pt.h"
#include "embed/formats/embed_tensors.h"
#include "embed/images/embed_image.h"
#include "embed/models/embed_registry.h"

/* Longest display / architecture name, NUL included. */
#define EMBED_MODEL_NAME_MAX 96

/*
 * What the rest of vitviz knows of an open model, whatever its family.
 * Filled by the family's open(); the label names are the family's and
 * live as long as the model.
 */
typedef struct embed_model_info {
	const char *family;   /* the family's name: "vit", "swin" (static) */
	char name[EMBED_MODEL_NAME_MAX]; /* display name for titles: "ViT-B/16",
			       * "Swin-T", "DeiT-S/16"; the architecture when
			       * no short name is known */
	char arch[EMBED_MODEL_NAME_MAX]; /* architecture: the timm registry
			       * name, config.json's architectures[0], or "" */
	int dim;              /* embedding width D (what forward() writes) */
	int num_labels;       /* classifier outputs, 0 without a head */
	char *const *id2label;/* num_labels names (never NULL when num_labels
			       * > 0: "LABEL_<i>" when the checkpoint has none) */
	int image_w, image_h; /* input size the preprocessing produces */
	int avg_pool;         /* 1: the classifier reads the mean of the tokens
			       * (timm 'avg' ViT, Swin); 0: the class token */
	int pool_fixed;       /* 1: the embedding is always the family's pooled
			       * vector and --pool is ignored (Swin) */
	embed_preproc pp;     /* how images are preprocessed for it */
} embed_model_info;

/*
 * What a family looks at to decide whether a checkpoint is its own.
 * Exactly one of the HF part and the timm part is set.
 */
typedef struct embed_family_probe {
	const embed_ckpt *ck;        /* the checkpoint */
	/* HF checkpoint folders (ck->format != EMBED_CKPT_TIMM) */
	const char *config_path;     /* <folder>/config.json */
	const char *config_text;     /* its bytes (NUL-terminated) */
	size_t config_len;           /* its length */
	const char *model_type;      /* its model_type, NULL when absent */
	/* timm-style single files (EMBED_CKPT_TIMM): weights already loaded */
	embed_tensors *t;            /* the state dict (open() may consume
				      * the tensors' data; the caller frees t) */
	const embed_pt_info *info;   /* what torch.save said (arch, epoch) */
	const embed_registry_entry *entry; /* the architecture, NULL when the
				      * run names none (see arch_err) */
	const char *arch_name;       /* the name as given (with a ".tag") */
	int arch_src;                /* embed_arch_source of it */
	int arch_err;                /* 0, or why entry is NULL: VV_ENOTFOUND
				      * when nothing names an architecture */
} embed_family_probe;

typedef struct embed_family {
	const char *name;   /* "vit", "swin": embed_model_info.family */
	/*
	 * 1 when the checkpoint is this family's: HF by model_type, timm by
	 * the registry entry's family or, with no architecture named, by the
	 * tensor names.  Must not fail or keep anything.
	 */
	int (*detect)(const embed_family_probe *p);
	/*
	 * Build the network: *state the family's own model, *info filled.
	 * Errors name the file (vv_error) and leave *state NULL.
	 */
	int (*open)(const embed_family_probe *p, void **state, embed_model_info *info);
	/*
	 * `batch` preprocessed images (B x 3 x H x W) to `emb` B x dim and,
	 * when logits is not NULL and there is a head, `logits` B x num_labels.
	 * pool: EMBED_POOL_* (families with pool_fixed ignore it).  The
	 * output must not depend on the OpenBLAS thread count.
	 */
	int (*forward)(void *state, const float *pixels, int batch, int pool, float *emb,
		       float *logits);
	/* Free *state and set it to NULL (NULL-safe). */
	void (*free)(void **state);
	/*
	 * Add the family's shape to `model` (manifest.json's "model" object;
	 * `vitviz info` prints the same keys): numbers, strings, bools or
	 * number arrays.  NULL-safe on allocation failures (cJSON).
	 */
	void (*describe)(const void *state, cJSON *model);
} embed_family;

/*
 * The family that claims `p` (first in table order), or NULL with
 * VV_EUNSUPPORTED recorded naming the file (an HF model_type that no
 * family reads).
 */
const embed_family *embed_family_find(const embed_family_probe *p);

/* The family called `name` ("vit", "swin"), NULL when none is. */
const embed_family *embed_family_by_name(const char *name);

#endif
