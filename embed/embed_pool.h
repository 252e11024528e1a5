/*
 * embed_pool.h - which vector of a network's output is a sample's
 * embedding.  A leaf: checkpoint formats (timm's args.yaml `gp`), model
 * configs and every model family share these values.
 */
#ifndef EMBED_POOL_H
#define EMBED_POOL_H

/* Pooling of the final hidden states into one embedding per image. */
enum {
	EMBED_POOL_CLS = 0,  /* the CLS token after the final LayerNorm */
	EMBED_POOL_MEAN = 1, /* the mean of the patch tokens (prefix tokens
			      * excluded) after the final LayerNorm, then
			      * fc_norm when the model has one (timm) */
	EMBED_POOL_HEAD = 2, /* what the classifier reads, as timm's
			      * forward_head(pre_logits=True): the CLS token
			      * for HF and token-pooled timm models,
			      * fc_norm(mean of the patch tokens) for
			      * avg-pooled ones (config global_pool), and
			      * (CLS + distillation token) / 2 for DeiT
			      * distilled models */
};

#endif
