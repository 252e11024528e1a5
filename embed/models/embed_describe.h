/*
 * embed_describe.h - what vitviz finds in a run, in words (`vitviz info`).
 */
#ifndef EMBED_DESCRIBE_H
#define EMBED_DESCRIBE_H

#include <stdio.h>

#include "embed/formats/embed_ckpt.h"

/*
 * Print to `out` the checkpoints of `l` (name, step, epoch, format, size),
 * the loss-curve source, a timm run's args.yaml, and for the last
 * checkpoint: the architecture (registry name and where it came from, or
 * config.json), the preprocessing, dtype and parameter count of its
 * weights, the classifier, and whether the weights build the model.
 * Loads the last checkpoint's weights once.  Returns 0, or the error that
 * loading or checking the last checkpoint gave (its message is printed
 * too, as "check: ...").
 */
int embed_describe(const embed_ckpt_list *l, FILE *out);

#endif
