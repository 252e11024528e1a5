/* analysis_pred.c - argmax and self-confidence from logits. */
#include "analysis/analysis_pred.h"
#include "common/vv_error.h"

#include <math.h>

int
analysis_predict(const float *logits, int64_t n, int64_t c, const int *labels, int32_t *pred, double *quality)
{
	int64_t i, j;

	if (c < 1 || c > INT32_MAX)
		return vv_error(VV_EINVAL, "logits: bad class count %lld", (long long)c);
	for (i = 0; i < n; i++) {
		const float *l = logits + i * c;
		int64_t best = 0;
		double sum = 0;

		for (j = 0; j < c; j++) {
			if (!isfinite(l[j]))
				return vv_error(VV_EFORMAT, "row %lld has a non-finite logit", (long long)i);
			if (l[j] > l[best])
				best = j;
		}
		for (j = 0; j < c; j++)
			sum += exp((double)l[j] - (double)l[best]);
		pred[i] = (int32_t)best;
		quality[i] = labels[i] >= 0 && labels[i] < c ? exp((double)l[labels[i]] - (double)l[best]) / sum : NAN;
	}
	return 0;
}
