/*
 * embed_jeonsworld.h - what a checkpoint of jeonsworld/ViT-pytorch's
 * train.py is: its model from --arch by that code's config names
 * (models/configs.py: ViT-B_16, ViT-B_32, ViT-L_16, ViT-L_32, ViT-H_14,
 * R50-ViT-B_16), its image size from --image-size (train.py's --img_size,
 * default 224), its test-time preprocessing (utils/data_utils.py:
 * Resize((S, S)), ToTensor, Normalize(0.5, 0.5)).  The file holds only
 * the state dict (transformer.*, head.*): no config, no labels.
 */
#ifndef EMBED_JEONSWORLD_H
#define EMBED_JEONSWORLD_H

#include "embed/formats/embed_ckpt.h"
#include "embed/formats/embed_tensors.h"
#include "embed/images/embed_preproc.h"
#include "embed/models/embed_config.h"
#include "embed/models/embed_registry.h"

/* Backbone tensors' prefix in its state dicts. */
#define EMBED_JEONSWORLD_BACKBONE "transformer.embeddings.hybrid_model."

/*
 * The model of checkpoint `ck` (tensors `t` already loaded): ck->arch (a
 * config name above, or a registry name: how the tests add small ones),
 * else ViT-B_16 (train.py's default) or R50-ViT-B_16 when the weights hold
 * a ResNet.  *e describes the shape (hybrid with a jeonsworld-flavoured
 * backbone for R50), *pc the ViT config (LayerNorm eps 1e-6, exact GELU,
 * qkv bias), *pp the preprocessing; *arch_name (static) the name used.
 * An unknown --arch is VV_ENOTFOUND listing the known names; a plain
 * config for weights with a ResNet (or the reverse), or an image size the
 * config cannot take (R50: image / 16 / 14 patches of at least 1), is
 * VV_EMISMATCH; all naming ck->weights.
 */
int embed_jeonsworld_config(const embed_ckpt *ck, const embed_tensors *t,
			    embed_registry_entry *e, embed_vit_config **pc, embed_preproc *pp,
			    const char **arch_name);

#endif
