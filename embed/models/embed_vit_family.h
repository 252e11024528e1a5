/*
 * embed_vit_family.h - the ViT as a model family (embed_family.h): Hugging
 * Face ViT checkpoint folders (config.json, model_type "vit" or none) and
 * timm files whose architecture is a ViT / DeiT in the registry.  The
 * network itself is embed_vit.c; this file only finds its config,
 * preprocessing and naming and builds it.  Variants of the ViT (the hybrid
 * ResNet+ViT) plug in here: detect() and open() look at the registry
 * entry / config and build the variant.
 */
#ifndef EMBED_VIT_FAMILY_H
#define EMBED_VIT_FAMILY_H

#include "embed/models/embed_config.h"
#include "embed/models/embed_family.h"

/* The ViT family's operations. */
extern const embed_family embed_family_vit;

/* The config of an open ViT-family model (its `state`). */
const embed_vit_config *embed_vit_family_config(const void *state);

/*
 * The display name of a ViT of config `c` whose architecture is `arch`
 * (may be NULL or ""): "ViT-B/16", "DeiT-S/16", else "ViT" with the width
 * ("ViT (width 24, 2 layers, patch 8)").  Written to buf (size bytes).
 */
void embed_vit_display_name(const embed_vit_config *c, const char *arch, char *buf, size_t size);

#endif
