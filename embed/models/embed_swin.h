/*
 * embed_swin.h - the Swin Transformer family (Liu et al. 2021): its shape,
 * the three checkpoint layouts it is read from, and the float32 forward
 * pass on OpenBLAS.
 *
 * Network: patch partition (conv patch x patch, stride patch) + LayerNorm
 * (+ an optional absolute position embedding), then stages of blocks;
 * block j of a stage attends within ws x ws windows, odd blocks on the
 * map cyclically shifted by ws/2 with the shifted-window mask (-100
 * between tokens of different regions), a relative position bias per head
 * from a (2ws-1)^2 table; maps that are not a multiple of ws are padded
 * with zeros on the right and bottom; a stage whose map is no larger than
 * the window uses the map as its window, unshifted.  Between stages,
 * PatchMerging: 2x2 neighbours concatenated (x00, x10, x01, x11), padded
 * to even sizes, LayerNorm, Linear 4C -> 2C without bias.  Then a final
 * LayerNorm and the mean over tokens: the embedding (transformers'
 * SwinModel pooler_output, timm's forward_head(pre_logits=True)); the
 * classifier is a Linear on it.  LayerNorm eps 1e-5, exact GELU.
 *
 * Layouts (tensor names):
 *   EMBED_SWIN_HF   transformers' SwinModel / SwinForImageClassification
 *                   ("swin." prefix or none; query/key/value split;
 *                   downsample at the end of stage i; classifier)
 *   EMBED_SWIN_TIMM timm >= 1.0 SwinTransformer (fused qkv; downsample at
 *                   the start of stage i + 1; head.fc)
 *   EMBED_SWIN_MS   the original Microsoft code (fused qkv; downsample
 *                   at the end of stage i; head)
 * The padding differs: transformers pads the map and then shifts it;
 * timm shifts the unpadded map and then pads.  Both are reproduced (the
 * Microsoft code cannot pad; it is read with transformers' arithmetic,
 * which equals it whenever no padding is needed).
 */
#ifndef EMBED_SWIN_H
#define EMBED_SWIN_H

#include <stddef.h>

#include "embed/formats/embed_tensors.h"
#include "embed/models/embed_config.h"
#include "embed/models/embed_family.h"

#define EMBED_SWIN_MAX_STAGES EMBED_REGISTRY_MAX_STAGES

/* Checkpoint layouts, see above. */
enum {
	EMBED_SWIN_HF = 0,
	EMBED_SWIN_TIMM = 1,
	EMBED_SWIN_MS = 2,
};

typedef struct embed_swin_config {
	int embed_dim;        /* channels C of stage 0 (stage i: C * 2^i) */
	int stages;           /* number of stages, 1..EMBED_SWIN_MAX_STAGES */
	int depths[EMBED_SWIN_MAX_STAGES]; /* blocks of each stage */
	int heads[EMBED_SWIN_MAX_STAGES];  /* attention heads of each stage */
	int window;           /* window size ws of the config (7, 12) */
	int patch;            /* patch size (4) */
	int image;            /* square input size in pixels */
	int mlp_hidden[EMBED_SWIN_MAX_STAGES]; /* MLP width of each stage
			       * (int(C_i * mlp_ratio)) */
	double mlp_ratio;     /* MLP width / channels */
	int ape;              /* absolute position embedding after the patch norm */
	int qkv_bias;         /* query/key/value have biases */
	double ln_eps;        /* LayerNorm eps (1e-5) */
	int layout;           /* EMBED_SWIN_* of the tensor names */
} embed_swin_config;

/*
 * Check a config: positive sizes within bounds, heads dividing each
 * stage's width, the image a multiple of the patch, and (transformers'
 * layout) every stage's map at least as large as the window, since
 * transformers' relative position index is built for the config's window
 * and cannot run otherwise.  VV_EINVAL naming `name`.
 */
int embed_swin_config_validate(const embed_swin_config *c, const char *name);

/*
 * Window size and shift of stage `s` (0 or ws / 2, for odd blocks), and
 * the stage's map side *res (image / patch halved, rounding up, per
 * stage: PatchMerging pads odd maps).  A map no larger than the window
 * is one unshifted window; transformers compares the map itself, timm and
 * the Microsoft code the stage's nominal resolution (grid // 2^s, which is
 * smaller after an odd map: the window shrinks to it and the map is padded).
 */
void embed_swin_stage_geometry(const embed_swin_config *c, int s, int *res, int *ws, int *shift);

/* Display name: "Swin-T", "Swin-S", "Swin-B", "Swin-L", else "Swin". */
void embed_swin_display_name(const embed_swin_config *c, char *buf, size_t size);

typedef struct embed_swin embed_swin;

/*
 * Build a Swin of shape `c` (c->layout says the names) from `t`, taking
 * the tensors' data (set to NULL: the weights are held once).  Every
 * expected tensor is checked by name and shape: a missing one is
 * VV_ENOTFOUND naming it and `source` (a missing stage says so), a
 * misshapen one VV_EMISMATCH with both shapes.  The classifier is
 * optional.  `t` must still be freed by the caller.
 */
int embed_swin_build_consume(const embed_swin_config *c, embed_tensors *t, const char *source,
			     embed_swin **pm);

/* Classifier outputs, 0 without a head. */
int embed_swin_num_labels(const embed_swin *m);

/* Embedding width (C * 2^(stages - 1)). */
int embed_swin_dim(const embed_swin *m);

/*
 * `batch` images (B x 3 x image x image) to `emb` B x dim (the pooled
 * vector) and, when logits is not NULL and there is a head, `logits`
 * B x num_labels.  Each image is a tile of its own, run on vv_threads()
 * workers with single-threaded OpenBLAS (vv_run_tiles), so an image's
 * output depends neither on the thread count nor on the rest of the batch.
 */
int embed_swin_forward(embed_swin *m, const float *pixels, int batch, float *emb, float *logits);

/* Bytes of forward-pass scratch allocated so far (all workers). */
size_t embed_swin_scratch_bytes(const embed_swin *m);

/* Free *pm and set it to NULL (NULL-safe). */
void embed_swin_free(embed_swin **pm);

/*
 * The config of a Swin checkpoint, from its tensors `t` (layout, embed_dim,
 * patch, stages, depths, heads, window, MLP ratio, ape) and, for what the
 * tensors do not say, `image` (> 0: the registry's / config's size; 0:
 * from a stored attn_mask buffer, else 224 for window 7 and 384 for
 * window 12).  `prefix` is the HF model prefix ("swin." or "").
 * VV_EFORMAT / VV_ENOTFOUND naming `source`.
 */
int embed_swin_infer(const embed_tensors *t, int layout, const char *prefix, int image,
		     const char *source, embed_swin_config *c);

/*
 * transformers' SwinConfig from a config.json held in memory (`name` in
 * messages; absent keys take SwinConfig's defaults: Swin-T at 224):
 * image_size, patch_size, embed_dim, depths, num_heads, window_size,
 * mlp_ratio, qkv_bias, hidden_act ("gelu" only), layer_norm_eps,
 * use_absolute_embeddings (refused: transformers cannot run it), id2label
 * into `labels` (with the image size, for preprocessing defaults).  Then
 * embed_swin_config_validate().  VV_EFORMAT / VV_EUNSUPPORTED naming the
 * file.
 */
int embed_swin_config_parse(const char *name, const char *text, size_t len, embed_swin_config *c,
			    embed_vit_config *labels);

/* The Swin family's operations. */
extern const embed_family embed_family_swin;

#endif
