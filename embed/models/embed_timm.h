/*
 * embed_timm.h - what a timm checkpoint is: its architecture (from --arch,
 * the checkpoint's 'arch', or args.yaml's model, looked up in the
 * registry), the config and eval preprocessing that follow from it and
 * from args.yaml's overrides, and the checks that its tensors are a ViT of
 * that architecture.
 */
#ifndef EMBED_TIMM_H
#define EMBED_TIMM_H

#include "embed/formats/embed_ckpt.h"
#include "embed/models/embed_config.h"
#include "embed/images/embed_image.h"
#include "embed/formats/embed_pt.h"
#include "embed/models/embed_registry.h"
#include "embed/formats/embed_tensors.h"

/* Where a timm checkpoint's architecture name came from. */
typedef enum embed_arch_source {
	EMBED_ARCH_USER = 0,       /* --arch (embed_ckpt_opts.arch) */
	EMBED_ARCH_CHECKPOINT = 1, /* the checkpoint's 'arch' */
	EMBED_ARCH_ARGS_YAML = 2,  /* args.yaml's model: */
	EMBED_ARCH_CKPT_ARGS = 3,  /* the checkpoint's args.model */
} embed_arch_source;

/* "--arch", "the checkpoint's 'arch'", ... */
const char *embed_arch_source_name(int src);

/*
 * The registry entry of checkpoint `ck`, whose torch.save metadata is
 * `info` (may be NULL): --arch first, then the checkpoint's 'arch', then
 * args.yaml's model, then the checkpoint's args.model.  A disagreement
 * between the sources used and the others gives one warning.  *name is the
 * name as given (with any ".tag"), *src an embed_arch_source.  None known
 * is VV_ENOTFOUND asking for --arch (*src is then -1); an unknown name is
 * VV_ENOTFOUND listing the known ones (see embed_registry_find(); *src
 * says where the name came from).
 */
int embed_timm_arch(const embed_ckpt *ck, const embed_pt_info *info,
		    const embed_registry_entry **pe, const char **name, int *src);

/*
 * Config (*pc, free with embed_vit_config_free()) and preprocessing (*pp)
 * of a timm checkpoint of architecture `e`: the entry's shape and default
 * preprocessing with args.yaml's img_size / input_size, gp, crop_pct,
 * interpolation, mean and std over them (ck->args, may be NULL).  The
 * tensors `t` are checked first: parts vitviz does not compute
 * (pre_logits, norm_pre, reg_token, attn_pool, q_norm / k_norm, ...) are
 * VV_EUNSUPPORTED; a width, depth, patch size or distillation token that
 * disagrees with the architecture is VV_EMISMATCH naming the file, the
 * tensor and the architecture.
 */
int embed_timm_config(const embed_ckpt *ck, const embed_registry_entry *e,
		      const embed_tensors *t, embed_vit_config **pc, embed_preproc *pp);

#endif
