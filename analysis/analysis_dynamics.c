/* analysis_dynamics.c - per-sample training dynamics, one checkpoint at a time. */
#include "analysis/analysis_dynamics.h"
#include "common/vv_error.h"
#include "common/vv_thread.h"
#include "embed/models/embed_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct analysis_dyn {
	int64_t n;              /* samples */
	const int *labels;      /* n given labels (borrowed) */
	int64_t c;              /* logit columns, 0 before the first checkpoint */
	size_t nlogits;         /* checkpoints with logits added */
	size_t ncoords;         /* checkpoints with coordinates added */
	size_t nout;            /* checkpoints with outliers added */
	double *p_mean;         /* n running means of p_t (Welford) */
	double *p_m2;           /* n running sums of squared deviations of p_t */
	double *margin_sum;     /* n sums of logit margins */
	int32_t *ncorrect;      /* n counts of correct predictions */
	int32_t *forget;        /* n forgetting events */
	int32_t *streak;        /* n: first checkpoint of the current all-correct streak, -1 if now wrong */
	int32_t *pred;          /* nlogits x n predictions (grown per checkpoint) */
	size_t pred_cap;        /* checkpoints pred has room for */
	int64_t *steps;         /* nlogits steps (grown with pred) */
	double *prev_xy;        /* n x 2 previous coordinates */
	double *movement;       /* n path lengths */
	int32_t *persist;       /* n top-k counts */
	double *col[ANALYSIS_DYN_NCOLS]; /* results, n each, after finish */
};

static const char *const col_names[ANALYSIS_DYN_NCOLS] = {
	"confidence", "variability", "correctness", "aum", "forgetting", "learned_at",
	"label_issue", "label_issue_rank", "movement", "persistent_outlier", "usual_prediction",
};

const char *
analysis_dyn_col_name(int col)
{
	return col >= 0 && col < ANALYSIS_DYN_NCOLS ? col_names[col] : "";
}

int
analysis_dyn_alloc(analysis_dyn **pd, int64_t n, const int *labels)
{
	analysis_dyn *d;
	size_t un = (size_t)n;
	int i;

	*pd = NULL;
	if (n < 1 || n > INT32_MAX)
		return vv_error(VV_EINVAL, "dynamics: bad sample count %lld", (long long)n);
	if (!(d = calloc(1, sizeof(*d))))
		return vv_error(VV_ENOMEM, "out of memory");
	d->n = n;
	d->labels = labels;
	d->p_mean = calloc(un, sizeof(double));
	d->p_m2 = calloc(un, sizeof(double));
	d->margin_sum = calloc(un, sizeof(double));
	d->ncorrect = calloc(un, sizeof(int32_t));
	d->forget = calloc(un, sizeof(int32_t));
	d->streak = calloc(un, sizeof(int32_t));
	d->prev_xy = calloc(un * 2, sizeof(double));
	d->movement = calloc(un, sizeof(double));
	d->persist = calloc(un, sizeof(int32_t));
	for (i = 0; i < ANALYSIS_DYN_NCOLS; i++)
		d->col[i] = calloc(un, sizeof(double));
	for (i = 0; i < ANALYSIS_DYN_NCOLS; i++)
		if (!d->col[i])
			break;
	if (i < ANALYSIS_DYN_NCOLS || !d->p_mean || !d->p_m2 || !d->margin_sum || !d->ncorrect ||
	    !d->forget || !d->streak || !d->prev_xy || !d->movement || !d->persist) {
		analysis_dyn_free(&d);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	*pd = d;
	return 0;
}

void
analysis_dyn_free(analysis_dyn **pd)
{
	analysis_dyn *d = *pd;
	int i;

	if (!d)
		return;
	for (i = 0; i < ANALYSIS_DYN_NCOLS; i++)
		free(d->col[i]);
	free(d->persist);
	free(d->movement);
	free(d->prev_xy);
	free(d->steps);
	free(d->pred);
	free(d->streak);
	free(d->forget);
	free(d->ncorrect);
	free(d->margin_sum);
	free(d->p_m2);
	free(d->p_mean);
	free(d);
	*pd = NULL;
}

/* One slice of rows of one checkpoint, for a worker. */
struct slice {
	analysis_dyn *d;     /* accumulator */
	const float *logits; /* the checkpoint's n x c logits */
	int64_t lo, hi;      /* rows [lo, hi) */
	int32_t *pred;       /* where this checkpoint's predictions go (n) */
	float *scratch;      /* c floats */
};

/* Argmax, label probability and logit margin of one row of finite logits. */
static void
row_stats(const float *l, int64_t c, int label, float *scratch, int32_t *argmax, double *p, double *margin)
{
	int64_t j, best = 0, other = -1;
	double sum = 0, mx;

	for (j = 0; j < c; j++) {
		if (l[j] > l[best])
			best = j;
		if (j != label && (other < 0 || l[j] > l[other]))
			other = j;
	}
	mx = l[best];
	for (j = 0; j < c; j++)
		scratch[j] = l[j] - (float)mx;
	embed_kernels_exp(scratch, scratch, (size_t)c);
	for (j = 0; j < c; j++)
		sum += scratch[j];
	*argmax = (int32_t)best;
	*p = exp((double)l[label] - mx) / sum;
	/* one class: the label has no rival */
	*margin = other < 0 ? 0 : (double)l[label] - (double)l[other];
}

/* Update the state of the rows of one slice (check_logits() ran before). */
static void *
slice_run(void *arg)
{
	struct slice *s = arg;
	analysis_dyn *d = s->d;
	double t1 = (double)d->nlogits + 1;
	int64_t i;

	for (i = s->lo; i < s->hi; i++) {
		const float *l = s->logits + (size_t)i * (size_t)d->c;
		double p, m, delta;
		int32_t am;
		int correct;

		row_stats(l, d->c, d->labels[i], s->scratch, &am, &p, &m);
		s->pred[i] = am;
		correct = am == d->labels[i];
		delta = p - d->p_mean[i];
		d->p_mean[i] += delta / t1;
		d->p_m2[i] += delta * (p - d->p_mean[i]);
		d->margin_sum[i] += m;
		d->ncorrect[i] += correct;
		if (d->nlogits > 0) {
			int was = d->pred[(d->nlogits - 1) * (size_t)d->n + (size_t)i] == d->labels[i];

			d->forget[i] += was && !correct;
			if (correct && !was)
				d->streak[i] = (int32_t)d->nlogits;
		} else {
			d->streak[i] = 0;
		}
		if (!correct)
			d->streak[i] = -1;
	}
	return NULL;
}

/* Rows with a non-finite logit or a label out of range, before anything changes. */
static int
check_logits(const analysis_dyn *d, const float *logits, int64_t c)
{
	size_t i, total = (size_t)d->n * (size_t)c;

	for (i = 0; i < (size_t)d->n; i++)
		if (d->labels[i] < 0 || d->labels[i] >= c)
			return vv_error(VV_EMISMATCH, "sample %zu has label %d but the classifier has %lld classes", i,
					d->labels[i], (long long)c);
	for (i = 0; i < total; i++)
		if (!isfinite(logits[i]))
			return vv_error(VV_EFORMAT, "row %zu has a non-finite logit", i / (size_t)c);
	return 0;
}

int
analysis_dyn_add_logits(analysis_dyn *d, const float *logits, int64_t c, int64_t step, int threads)
{
	struct slice sl[VV_MAX_THREADS];
	float *scratch;
	int k, err;

	if (c < 1 || c > INT32_MAX)
		return vv_error(VV_EINVAL, "logits: bad class count %lld", (long long)c);
	if (d->c && c != d->c)
		return vv_error(VV_EMISMATCH, "%lld classes, but the checkpoints before have %lld", (long long)c,
				(long long)d->c);
	if ((err = check_logits(d, logits, c)))
		return err;
	if (d->nlogits == d->pred_cap) {
		size_t cap = d->pred_cap ? d->pred_cap * 2 : 16;
		int32_t *np = realloc(d->pred, cap * (size_t)d->n * sizeof(*np));
		int64_t *ns;

		if (!np)
			return vv_error(VV_ENOMEM, "out of memory");
		d->pred = np;
		if (!(ns = realloc(d->steps, cap * sizeof(*ns))))
			return vv_error(VV_ENOMEM, "out of memory");
		d->steps = ns;
		d->pred_cap = cap;
	}
	if (threads < 1)
		threads = 1;
	if (threads > VV_MAX_THREADS)
		threads = VV_MAX_THREADS;
	if (threads > d->n)
		threads = (int)d->n;
	if (!(scratch = malloc((size_t)threads * (size_t)c * sizeof(*scratch))))
		return vv_error(VV_ENOMEM, "out of memory");
	d->c = c;
	for (k = 0; k < threads; k++)
		sl[k] = (struct slice){ .d = d, .logits = logits, .lo = d->n * k / threads,
					.hi = d->n * (k + 1) / threads,
					.pred = d->pred + d->nlogits * (size_t)d->n,
					.scratch = scratch + (size_t)k * (size_t)c };
	vv_run_parallel(slice_run, sl, sizeof(sl[0]), threads);
	free(scratch);
	d->steps[d->nlogits] = step;
	d->nlogits++;
	return 0;
}

void
analysis_dyn_add_coords(analysis_dyn *d, const float *xy)
{
	int64_t i;

	for (i = 0; i < d->n; i++) {
		double x = xy[2 * i], y = xy[2 * i + 1];

		if (d->ncoords > 0) {
			double dx = x - d->prev_xy[2 * i], dy = y - d->prev_xy[2 * i + 1];

			d->movement[i] += sqrt(dx * dx + dy * dy);
		}
		d->prev_xy[2 * i] = x;
		d->prev_xy[2 * i + 1] = y;
	}
	d->ncoords++;
}

void
analysis_dyn_add_outliers(analysis_dyn *d, const int32_t *order, int64_t k)
{
	int64_t j;

	if (k > d->n)
		k = d->n;
	for (j = 0; j < k; j++)
		if (order[j] >= 0 && order[j] < d->n)
			d->persist[order[j]]++;
	d->nout++;
}

size_t
analysis_dyn_count(const analysis_dyn *d, int what)
{
	switch (what) {
	case ANALYSIS_DYN_LOGITS: return d->nlogits;
	case ANALYSIS_DYN_COORDS: return d->ncoords;
	case ANALYSIS_DYN_OUTLIERS: return d->nout;
	}
	return 0;
}

size_t
analysis_dyn_memory(const analysis_dyn *d)
{
	size_t n = (size_t)d->n;

	/* p_mean, p_m2, margin_sum, prev_xy (2), movement: doubles; ncorrect, forget, streak, persist: int32 */
	return sizeof(*d) + n * (6 * sizeof(double) + 4 * sizeof(int32_t)) +
	       n * ANALYSIS_DYN_NCOLS * sizeof(double) + d->pred_cap * (n * sizeof(int32_t) + sizeof(int64_t));
}

int64_t
analysis_dyn_classes(const analysis_dyn *d)
{
	return d->c;
}

const double *
analysis_dyn_col(const analysis_dyn *d, int col)
{
	return col >= 0 && col < ANALYSIS_DYN_NCOLS ? d->col[col] : NULL;
}

/* The class other than `label` seen most often in pred[t * n + i], t < nt. */
static int32_t
usual_prediction(const analysis_dyn *d, int64_t i, int32_t *tmp)
{
	size_t t, nt = 0, run;
	int32_t best = -1;
	size_t best_run = 0;

	for (t = 0; t < d->nlogits; t++) {
		int32_t p = d->pred[t * (size_t)d->n + (size_t)i];

		if (p != d->labels[i]) {
			/* insertion sort: a few dozen checkpoints at most in practice */
			size_t j = nt++;

			while (j > 0 && tmp[j - 1] > p) {
				tmp[j] = tmp[j - 1];
				j--;
			}
			tmp[j] = p;
		}
	}
	for (t = 0; t < nt; t += run) {
		for (run = 1; t + run < nt && tmp[t + run] == tmp[t]; run++)
			;
		if (run > best_run) {
			best_run = run;
			best = tmp[t];
		}
	}
	return best;
}

/* Sort key of label_issue_rank: highest score first, ties by index. */
struct ranked {
	double v;      /* label_issue */
	int32_t index; /* sample */
};

static int
cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

int
analysis_dyn_finish(analysis_dyn *d)
{
	size_t un = (size_t)d->n;
	double nt = (double)d->nlogits;
	struct ranked *rk = NULL;
	int32_t *tmp = NULL;
	double *class_conf = NULL; /* mean confidence of the samples given each label */
	int64_t *class_n = NULL;   /* samples given each label */
	int64_t i;

	if (d->nlogits) {
		rk = malloc(un * sizeof(*rk));
		tmp = malloc(d->nlogits * sizeof(*tmp));
		class_conf = calloc((size_t)d->c, sizeof(*class_conf));
		class_n = calloc((size_t)d->c, sizeof(*class_n));
		if (!rk || !tmp || !class_conf || !class_n) {
			free(rk);
			free(tmp);
			free(class_conf);
			free(class_n);
			return vv_error(VV_ENOMEM, "out of memory");
		}
		for (i = 0; i < d->n; i++) {
			class_conf[d->labels[i]] += d->p_mean[i];
			class_n[d->labels[i]]++;
		}
		for (i = 0; i < d->c; i++)
			if (class_n[i])
				class_conf[i] /= (double)class_n[i];
	}
	for (i = 0; i < d->n; i++) {
		double **c = d->col;

		if (d->nlogits) {
			c[ANALYSIS_DYN_CONFIDENCE][i] = d->p_mean[i];
			c[ANALYSIS_DYN_VARIABILITY][i] = d->nlogits > 1 ? sqrt(d->p_m2[i] / nt) : NAN;
			c[ANALYSIS_DYN_CORRECTNESS][i] = d->ncorrect[i] / nt;
			c[ANALYSIS_DYN_AUM][i] = d->margin_sum[i] / nt;
			c[ANALYSIS_DYN_FORGETTING][i] = d->nlogits > 1 ? d->forget[i] : NAN;
			c[ANALYSIS_DYN_LEARNED_AT][i] = d->streak[i] >= 0 ? (double)d->steps[d->streak[i]] : NAN;
			c[ANALYSIS_DYN_LABEL_ISSUE][i] = (1.0 + class_conf[d->labels[i]] - d->p_mean[i]) / 2.0;
			c[ANALYSIS_DYN_USUAL_PREDICTION][i] = usual_prediction(d, i, tmp);
			rk[i] = (struct ranked){ .v = c[ANALYSIS_DYN_LABEL_ISSUE][i], .index = (int32_t)i };
		} else {
			c[ANALYSIS_DYN_CONFIDENCE][i] = c[ANALYSIS_DYN_VARIABILITY][i] = NAN;
			c[ANALYSIS_DYN_CORRECTNESS][i] = c[ANALYSIS_DYN_AUM][i] = NAN;
			c[ANALYSIS_DYN_FORGETTING][i] = c[ANALYSIS_DYN_LEARNED_AT][i] = NAN;
			c[ANALYSIS_DYN_LABEL_ISSUE][i] = c[ANALYSIS_DYN_LABEL_ISSUE_RANK][i] = NAN;
			c[ANALYSIS_DYN_USUAL_PREDICTION][i] = -1;
		}
		c[ANALYSIS_DYN_MOVEMENT][i] = d->ncoords > 1 ? d->movement[i] : NAN;
		c[ANALYSIS_DYN_PERSISTENT_OUTLIER][i] = d->nout ? d->persist[i] : NAN;
	}
	if (d->nlogits) {
		qsort(rk, un, sizeof(*rk), cmp_ranked);
		for (i = 0; i < d->n; i++)
			d->col[ANALYSIS_DYN_LABEL_ISSUE_RANK][rk[i].index] = (double)(i + 1);
	}
	free(class_n);
	free(class_conf);
	free(tmp);
	free(rk);
	return 0;
}
