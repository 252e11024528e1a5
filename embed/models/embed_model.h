/*
 * embed_model.h - one checkpoint ready to embed images, whatever its model
 * family (embed_family.h): what it is (embed_model_info), its
 * preprocessing and its forward pass.
 */
#ifndef EMBED_MODEL_H
#define EMBED_MODEL_H

#include <cjson/cJSON.h>

#include "embed/embed_pool.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/images/embed_image.h"
#include "embed/models/embed_config.h"
#include "embed/models/embed_family.h"

typedef struct embed_model embed_model;

/*
 * Open one checkpoint.  An HF checkpoint folder's family comes from its
 * config.json's model_type ("swin"; "vit" or anything else: a ViT); the
 * family reads config.json, preprocessor_config.json (defaults and a
 * warning when absent) and the weights.  A timm checkpoint (format
 * EMBED_CKPT_TIMM) is loaded once; its architecture (ck->arch, else the
 * checkpoint's 'arch', else args.yaml's model) picks the family through the
 * registry; with no architecture named, the tensor names do (an original
 * Microsoft Swin checkpoint).  ck->ema picks the EMA weights.  An unknown
 * architecture name is VV_ENOTFOUND listing the known ones.  After this,
 * the info's num_labels / id2label describe the classifier head actually
 * present (0 / NULL without one; "LABEL_<i>" names when the checkpoint has
 * no names).  Errors name the file.
 */
int embed_model_open(const embed_ckpt *ck, embed_model **pm);

/* What the model is: family, display name, width, labels, input size. */
const embed_model_info *embed_model_get_info(const embed_model *m);

/*
 * The ViT config of a model of the ViT family (tests and tools that look
 * at ViT specifics); NULL for any other family.
 */
const embed_vit_config *embed_model_vit_config(const embed_model *m);

/* How images must be preprocessed for this model. */
const embed_preproc *embed_model_preproc(const embed_model *m);

/*
 * Add "family", "name", "architecture", "num_labels" and the family's
 * shape keys (embed_family.describe) to `j`.
 */
void embed_model_describe(const embed_model *m, cJSON *j);

/*
 * Embed `batch` preprocessed images (B x C x H x W): `emb` B x dim,
 * `logits` B x num_labels (ignored when NULL or without a head).
 * pool: EMBED_POOL_CLS, EMBED_POOL_MEAN or EMBED_POOL_HEAD (ignored by a
 * family whose info has pool_fixed).  See embed_vit_forward() and
 * embed_swin_forward().
 */
int embed_model_forward(embed_model *m, const float *pixels, int batch, int pool,
			float *emb, float *logits);

/* Free *pm and set it to NULL (NULL-safe). */
void embed_model_free(embed_model **pm);

#endif
