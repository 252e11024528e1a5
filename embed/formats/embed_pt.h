/*
 * embed_pt.h - the tensors of a PyTorch torch.save file, read safely.
 *
 * Reads the zip format of torch >= 1.6 (pytorch_model.bin, *.pth,
 * *.pth.tar) and the legacy format before it (magic-number pickle, ...,
 * counted raw storages): the pickles go through the data-only unpickler
 * (embed_pickle), nothing in them is ever looked up or executed.  Tensors are recognised by
 * an allowlist of torch's own rebuild functions (_rebuild_tensor_v2,
 * _rebuild_parameter, _rebuild_from_type_v2) over storages
 * ('storage', torch.<Type>Storage, key, location, numel) read from
 * data/<key>; offsets, sizes and strides are honoured and checked against
 * the storage, F16 / BF16 / F64 become float32.  Integer tensors of up to
 * 65536 elements are kept (as floats), larger ones and other dtypes are
 * skipped: no ViT weight has them.
 *
 * The state dict is the top object when it holds tensors, else the dict
 * under 'state_dict', 'model' or 'module' ('state_dict_ema' / 'model_ema'
 * with opts->ema).  A "module." prefix on every key (DataParallel) is
 * removed.
 */
#ifndef EMBED_PT_H
#define EMBED_PT_H

#include <stdint.h>

#include "embed/formats/embed_tensors.h"

/* What a (timm) checkpoint says about itself besides the weights. */
typedef struct embed_pt_info {
	int64_t epoch;    /* 'epoch', or -1 if absent */
	char *arch;       /* 'arch' (malloc'd), or NULL */
	char *args_model; /* 'args'.model of the argparse.Namespace (malloc'd), or NULL */
	int used_ema;     /* 1 when the tensors came from the EMA state dict */
} embed_pt_info;

typedef struct embed_pt_opts {
	int ema; /* take 'state_dict_ema' (or 'model_ema') when present */
} embed_pt_opts;

/*
 * Load the tensors of a torch.save zip file into a new set *out (NULL on
 * failure).  `opts` may be NULL (defaults).  `info` may be NULL; otherwise
 * it is overwritten (not freed first: reset it before reusing it) and must
 * be released with embed_pt_info_reset().  With opts->ema and no EMA state
 * dict the regular one is used, with a warning and info->used_ema = 0.
 * Errors name the file: VV_EUNSUPPORTED for a pickled nn.Module, big-endian
 * data or legacy storage views; VV_EFORMAT for anything malformed;
 * VV_ENOTFOUND when it is missing or holds no tensors; VV_EREAD when it
 * cannot be read.
 */
int embed_pt_load(const char *path, const embed_pt_opts *opts, embed_tensors **out,
		  embed_pt_info *info);

/* Free the strings of *info and set it to "nothing known" (epoch -1). */
void embed_pt_info_reset(embed_pt_info *info);

#endif
