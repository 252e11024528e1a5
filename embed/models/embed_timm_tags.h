/*
 * embed_timm_tags.h - timm's pretrained tags ("vit_small_patch16_224.dino")
 * and the eval preprocessing each one was trained with, as timm's
 * pretrained_cfg states it.  The table (embed_timm_tags.c) is generated
 * from timm's source by scripts/make_timm_tags.py.
 */
#ifndef EMBED_TIMM_TAGS_H
#define EMBED_TIMM_TAGS_H

#include <stddef.h>

#include "embed/images/embed_image.h"

/* timm's crop_mode of the eval transform. */
enum {
	EMBED_CROP_CENTER = 0, /* shorter side to floor(size / crop_pct), centre crop */
	EMBED_CROP_SQUASH = 1, /* both sides to floor(size / crop_pct), centre crop */
	EMBED_CROP_BORDER = 2, /* longer side fitted, padded (not supported) */
};

typedef struct embed_timm_tag {
	const char *arch;   /* architecture, "vit_small_patch16_224" */
	const char *tag;    /* pretrained tag, "dino" */
	int img_size;       /* input height = width in pixels */
	int interpolation;  /* EMBED_RESAMPLE_* */
	double crop_pct;    /* eval crop fraction */
	int crop_mode;      /* EMBED_CROP_* */
	float mean[3];      /* per-channel normalisation mean */
	float std[3];       /* per-channel normalisation std */
	int num_classes;    /* classifier outputs of the pretrained head, 0 none */
} embed_timm_tag;

/* The tag `tag` of the architecture named by the arch_len bytes of `arch`, or NULL. */
const embed_timm_tag *embed_timm_tag_find(const char *arch, size_t arch_len, const char *tag);

/* Number of tags, and the i-th (NULL past the end). */
size_t embed_timm_tag_count(void);
const embed_timm_tag *embed_timm_tag_at(size_t i);

#endif
