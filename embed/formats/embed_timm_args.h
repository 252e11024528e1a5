/*
 * embed_timm_args.h - the args.yaml timm's train.py writes into its output
 * folder (yaml.safe_dump of the argparse Namespace), read with libyaml's
 * event parser under fixed limits (size, nesting, events).  Only the keys
 * that decide the model and its eval preprocessing are kept; everything
 * else is skipped without being built, aliases are never expanded, tags
 * are ignored.
 */
#ifndef EMBED_TIMM_ARGS_H
#define EMBED_TIMM_ARGS_H

#include <stddef.h>

/* Limits on an args.yaml. */
#define EMBED_TIMM_ARGS_MAX_BYTES ((size_t)1 << 20)
#define EMBED_TIMM_ARGS_MAX_DEPTH 32
#define EMBED_TIMM_ARGS_MAX_EVENTS 200000

typedef struct embed_timm_args {
	char *model;        /* `model:` (malloc'd; may carry a ".tag"), NULL
			     * when absent or null */
	int img_size;       /* `img_size`, or the square H = W of `input_size`
			     * [C, H, W], or `model_kwargs: {img_size}`; 0 unset */
	double crop_pct;    /* `crop_pct`, 0 unset */
	int interpolation;  /* `interpolation` as EMBED_RESAMPLE_*, -1 unset ('') */
	int has_mean;       /* `mean` given (one value is used for all channels) */
	float mean[3];      /* its values */
	int has_std;        /* `std` given */
	float std[3];       /* its values */
	int global_pool;    /* `gp`: EMBED_POOL_CLS ('token') or EMBED_POOL_MEAN
			     * ('avg'), -1 unset */
	int num_classes;    /* `num_classes`, 0 unset (the head's shape decides) */
	char *class_map;    /* `class_map`: the class map file train.py was
			     * given (malloc'd), NULL when absent or '' */
} embed_timm_args;

/* Nothing known: NULL model, the "unset" values above. */
void embed_timm_args_init(embed_timm_args *a);

/* Free what *a owns and set it to nothing known. */
void embed_timm_args_reset(embed_timm_args *a);

/*
 * Parse an args.yaml held in memory (`name` starts error messages).  *a is
 * overwritten (call embed_timm_args_reset() on it afterwards).  Malformed
 * YAML, a top level that is not a mapping, nesting deeper than
 * EMBED_TIMM_ARGS_MAX_DEPTH, more than EMBED_TIMM_ARGS_MAX_EVENTS events, or
 * a known key with a value of the wrong type is VV_EFORMAT with the line;
 * values timm allows but vitviz cannot follow (a non-square input_size, gp
 * 'max', interpolation 'random') are VV_EUNSUPPORTED.
 */
int embed_timm_args_parse(const char *name, const char *text, size_t len, embed_timm_args *a);

/* Read (at most EMBED_TIMM_ARGS_MAX_BYTES, else VV_EFORMAT) and parse a file. */
int embed_timm_args_load(const char *path, embed_timm_args *a);

#endif
