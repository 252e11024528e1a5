/*
 * embed_model.h - one checkpoint ready to embed images: its config, its
 * preprocessing and its ViT.
 */
#ifndef EMBED_MODEL_H
#define EMBED_MODEL_H

#include "embed/formats/embed_ckpt.h"
#include "embed/models/embed_config.h"
#include "embed/images/embed_image.h"
#include "embed/models/embed_vit.h"

typedef struct embed_model embed_model;

/*
 * Load config.json, preprocessor_config.json (defaults and a warning when
 * absent) and the weights of one checkpoint folder, and build the ViT.
 * A timm checkpoint (format EMBED_CKPT_TIMM) has no config files: its
 * architecture (ck->arch, else the checkpoint's 'arch', else args.yaml's
 * model) gives the shape and timm's eval preprocessing through the
 * registry, args.yaml's overrides applied, ck->ema picks the EMA weights,
 * and the classifier's outputs are named LABEL_<i>.
 * After this, the config's num_labels / id2label describe the classifier
 * head actually present (0 / NULL without one; "LABEL_<i>" names when the
 * config has no id2label).  The preprocessing must produce the config's
 * image size (VV_EMISMATCH otherwise).  Errors name the file.
 */
int embed_model_open(const embed_ckpt *ck, embed_model **pm);

/* The model's config: hidden, num_labels, id2label, image_w/h, ... */
const embed_vit_config *embed_model_config(const embed_model *m);

/* How images must be preprocessed for this model. */
const embed_preproc *embed_model_preproc(const embed_model *m);

/*
 * Embed `batch` preprocessed images (B x C x H x W): `emb` B x hidden,
 * `logits` B x num_labels (ignored when NULL or without a head).
 * pool: EMBED_POOL_CLS, EMBED_POOL_MEAN or EMBED_POOL_HEAD.  See
 * embed_vit_forward().
 */
int embed_model_forward(embed_model *m, const float *pixels, int batch, int pool,
			float *emb, float *logits);

/* Free *pm and set it to NULL (NULL-safe). */
void embed_model_free(embed_model **pm);

#endif
