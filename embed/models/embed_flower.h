/*
 * embed_flower.h - what a checkpoint of the flower tutorial's ViT training
 * script is (WZMIAOMIAO/deep-learning-for-image-processing,
 * pytorch_classification/vision_transformer): weights/model-<epoch>.pth,
 * state dicts of its vit_model.py (timm-style names; the in21k models'
 * representation layer pre_logits.fc + Tanh when built with has_logits),
 * the model from --arch by that file's function names
 * (vit_base_patch16_224_in21k, train.py's default, ...), predict.py's
 * preprocessing (Resize(256), CenterCrop(224), ToTensor, Normalize(0.5,
 * 0.5)) and class names from its class_indices.json.
 */
#ifndef EMBED_FLOWER_H
#define EMBED_FLOWER_H

#include "embed/formats/embed_ckpt.h"
#include "embed/formats/embed_tensors.h"
#include "embed/images/embed_preproc.h"
#include "embed/models/embed_config.h"
#include "embed/models/embed_registry.h"

/*
 * The model of checkpoint `ck` (tensors `t` loaded): ck->arch (a function
 * name of vit_model.py, or a registry name with or without "_in21k": how
 * the tests add small ones), else vit_base_patch16_224_in21k.  *e the
 * shape, *pc the config (LayerNorm eps 1e-6, exact GELU, qkv bias), *pp
 * predict.py's preprocessing.  An unknown --arch is VV_ENOTFOUND listing
 * the known names; a model whose input is not 224 pixels VV_EMISMATCH.
 */
int embed_flower_config(const embed_ckpt *ck, const embed_tensors *t, embed_registry_entry *e,
			embed_vit_config **pc, embed_preproc *pp);

/*
 * Class names from ck->labels (class_indices.json: {"0": "daisy", ...}):
 * *names (n malloc'd strings, free with vv_strv_free()) when it names
 * exactly classes 0..n-1 with n == `n`; NULL (and a warning) when the
 * file is absent, malformed or of another size.
 */
void embed_flower_labels(const embed_ckpt *ck, int n, char ***names);

#endif
