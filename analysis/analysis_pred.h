/*
 * analysis_pred.h - what a classifier head says about each sample.
 *
 * From the N x C logits of one checkpoint: the predicted class (argmax, the
 * first on ties) and cleanlab's self-confidence label quality, the softmax
 * probability of the given label (softmax in double, max-subtracted).
 */
#ifndef ANALYSIS_PRED_H
#define ANALYSIS_PRED_H

#include <stdint.h>

/*
 * For n rows of c float32 logits: pred[i] = argmax, quality[i] = softmax
 * probability of labels[i] (NaN when the label is not below c).  A
 * non-finite logit is VV_EFORMAT naming the row.
 */
int analysis_predict(const float *logits, int64_t n, int64_t c, const int *labels, int32_t *pred,
		     double *quality);

#endif
