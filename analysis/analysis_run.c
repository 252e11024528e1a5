/* analysis_run.c - the `analyze` stage: PCA, alignment, outlier scores, loss. */
#include "analysis/analysis_run.h"
#include "analysis/analysis_dynamics_stage.h"
#include "analysis/analysis_cache.h"
#include "analysis/analysis_input.h"
#include "analysis/analysis_loss.h"
#include "analysis/analysis_out.h"
#include "analysis/analysis_pca.h"
#include "analysis/analysis_pred.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "common/vv_work.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const output_names[] = {
	"coords.npy", "scores.npy", "frames.csv", "loss.csv", "outliers.csv", "analysis.json",
};
#define NOUTPUTS (sizeof(output_names) / sizeof(output_names[0]))

/* The state of one run of the stage. */
struct run {
	const char *workdir;     /* work folder */
	const analysis_opts *o;  /* options */
	vv_manifest *m;          /* manifest.json */
	vv_samples *s;           /* samples.csv */
	char *loss_path;         /* loss log to read, or NULL */
	const char *loss_kind;   /* its kind, or NULL to detect */
	int loss_required;       /* a missing loss log is an error (given as an option) */
	analysis_loss_log *loss; /* the loss log read, or NULL */
	int64_t n, d;            /* samples, embedding width */
	size_t t;                /* checkpoints */
	int any_logits;          /* some checkpoint has logits */
	int64_t nclasses;        /* logit columns of the first checkpoint read, 0 before */
	double *pca;             /* t x n x 2 PCA coordinates */
	float *scores;           /* t x n outlier scores */
	analysis_frame *frames;  /* t frame summaries */
	size_t ntop;             /* outliers kept per frame: min(top, n) */
	analysis_top *tops;      /* t x ntop lowest scores */
	vv_outfile *outliers;    /* outliers.csv being written */
};

void
analysis_opts_default(analysis_opts *o)
{
	/* rotation only: the size of the cloud means something (issue 17) */
	o->align = ANALYSIS_ALIGN_ROTATE;
	o->k = 0;
	o->metric = ANALYSIS_METRIC_AUTO;
	o->ood_scale = ANALYSIS_OOD_MEDIAN;
	o->loss_file = NULL;
	o->top = 8;
	o->shard_index = 0;
	o->shard_count = 0;
}

static int
check_opts(const analysis_opts *o)
{
	if (o->align < ANALYSIS_ALIGN_CHAIN || o->align > ANALYSIS_ALIGN_ROTATE)
		return vv_error(VV_EINVAL, "analyze: unknown alignment mode %d", o->align);
	if (o->k < 0)
		return vv_error(VV_EINVAL, "analyze: k must be positive (got %d)", o->k);
	if (o->metric < ANALYSIS_METRIC_AUTO || o->metric > ANALYSIS_METRIC_EUCLIDEAN)
		return vv_error(VV_EINVAL, "analyze: unknown metric %d", o->metric);
	if (o->ood_scale != ANALYSIS_OOD_MEDIAN && o->ood_scale != ANALYSIS_OOD_NONE)
		return vv_error(VV_EINVAL, "analyze: unknown outlier scale %d", o->ood_scale);
	if (o->top < 0)
		return vv_error(VV_EINVAL, "analyze: top must not be negative (got %d)", o->top);
	return 0;
}

/* Modification time of a file in nanoseconds, or -1 when it cannot be read. */
static int64_t
mtime_ns(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* Newest modification time of the inputs, or -1 when one is missing. */
static int64_t
newest_input(const struct run *r)
{
	static const char *const fixed[] = { "manifest.json", "samples.csv" };
	int64_t newest = -1, t;
	size_t i;
	char *p;

	for (i = 0; i < 2 + 2 * r->t + 1; i++) {
		if (i < 2) {
			p = vv_path_join(r->workdir, fixed[i]);
		} else if (i < 2 + 2 * r->t) {
			const vv_ckpt_info *c = &r->m->ckpt[(i - 2) / 2];
			int logits = (i - 2) % 2;

			if (logits && !c->has_logits)
				continue;
			p = vv_work_path(r->workdir, logits ? "logits" : "embeddings", c->name, ".npy");
		} else {
			if (!r->loss_path)
				continue;
			p = vv_strdup(r->loss_path);
		}
		if (!p)
			return -1;
		t = mtime_ns(p);
		free(p);
		if (t < 0)
			return -1;
		if (t > newest)
			newest = t;
	}
	return newest;
}

/* 1 when the outputs exist, are newer than every input and used these options. */
static int
outputs_fresh(const struct run *r)
{
	int64_t oldest = INT64_MAX, newest, t;
	cJSON *old = NULL, *want = NULL;
	int fresh = 0;
	size_t i;
	char *p;

	for (i = 0; i < NOUTPUTS; i++) {
		if (!(p = vv_path_join(r->workdir, output_names[i])))
			goto out;
		t = mtime_ns(p);
		free(p);
		if (t < 0)
			goto out;
		if (t < oldest)
			oldest = t;
	}
	newest = newest_input(r);
	if (newest < 0 || newest >= oldest)
		goto out;
	if (!(p = vv_path_join(r->workdir, "analysis.json")))
		goto out;
	old = vv_json_load(p);
	free(p);
	want = analysis_opts_json(r->o);
	fresh = old && want &&
		cJSON_Compare(cJSON_GetObjectItemCaseSensitive(old, "options"), want, 1) &&
		vv_json_get_int(old, "format", -1) == 1;
out:
	cJSON_Delete(old);
	cJSON_Delete(want);
	vv_error_clear();
	return fresh;
}

/* Pick the loss log: the option, else the manifest's. */
static int
resolve_loss(struct run *r)
{
	if (r->o->loss_file) {
		r->loss_path = vv_strdup(r->o->loss_file);
		r->loss_required = 1;
	} else if (r->m->loss_path) {
		r->loss_path = vv_strdup(r->m->loss_path);
		r->loss_kind = r->m->loss_kind;
		/* a kind this version does not know: let the content decide */
		if (r->loss_kind && strcmp(r->loss_kind, "trainer_state") && strcmp(r->loss_kind, "timm_summary") &&
		    strcmp(r->loss_kind, "csv"))
			r->loss_kind = NULL;
	} else {
		return 0;
	}
	return r->loss_path ? 0 : VV_ENOMEM;
}

/* Read the loss log and check that it says something about the checkpoints. */
static int
load_loss(struct run *r)
{
	int64_t lo = INT64_MAX, hi = -1;
	size_t i;
	int err;

	if (!r->loss_path)
		return 0;
	err = analysis_loss_load(r->loss_path, r->loss_kind, &r->loss);
	if (err == VV_ENOTFOUND && !r->loss_required) {
		vv_warn("%s; the loss curve is left empty", vv_errmsg());
		vv_error_clear();
		free(r->loss_path);
		r->loss_path = NULL;
		return 0;
	}
	if (err)
		return err;
	if (r->loss->n == 0)
		return vv_error(VV_EFORMAT, "%s: no loss values logged", r->loss_path);
	for (i = 0; i < r->t; i++) {
		int64_t step = r->m->ckpt[i].step;

		if (step < 0)
			continue;
		if (analysis_loss_at(r->loss, step, ANALYSIS_LOSS_HAS_LOSS | ANALYSIS_LOSS_HAS_EVAL))
			return 0;
		lo = step < lo ? step : lo;
		hi = step > hi ? step : hi;
	}
	if (hi < 0)
		return vv_error(VV_EMISMATCH, "%s: the checkpoints have no known step to match the loss log against",
				r->loss_path);
	return vv_error(VV_EMISMATCH,
			"%s: the loss log (steps %lld..%lld) covers none of the checkpoints (steps %lld..%lld)",
			r->loss_path, (long long)r->loss->pt[0].step, (long long)r->loss->pt[r->loss->n - 1].step,
			(long long)lo, (long long)hi);
}

/* Rows of outliers.csv for frame f, in rank order. */
static void
write_outlier_rows(struct run *r, size_t f, const int32_t *order, const int32_t *pred, const double *quality)
{
	const vv_ckpt_info *c = &r->m->ckpt[f];
	FILE *fp = r->outliers->fp;
	int64_t j;

	for (j = 0; j < r->n; j++) {
		int64_t i = order[j];

		vv_csv_field(fp, c->name);
		fputc(',', fp);
		if (c->step >= 0)
			fprintf(fp, "%lld", (long long)c->step);
		fprintf(fp, ",%lld,", (long long)i);
		vv_csv_field(fp, r->s->path[i]);
		fprintf(fp, ",%d,", r->s->label[i]);
		vv_csv_field(fp, r->s->label_name[i]);
		fprintf(fp, ",%.9g,%lld", (double)r->scores[f * (size_t)r->n + i], (long long)j + 1);
		if (r->any_logits) {
			if (pred) {
				analysis_put_prediction(fp, r->m, f, pred[i], r->s->label[i], quality[i]);
			} else {
				fputs(",,,,", fp);
			}
		}
		vv_csv_eol(fp);
	}
}

/*
 * Checkpoint f's PCA (into r->pca) and outlier scores (into r->scores):
 * from <work>/analysis/ when it holds them for these embeddings and
 * options, else computed and stored there.  sc: n doubles of scratch.
 */
static int
frame_pca_scores(struct run *r, size_t f, double *sc)
{
	const vv_ckpt_info *c = &r->m->ckpt[f];
	double *pca = r->pca + f * (size_t)r->n * 2;
	float *scores = r->scores + f * (size_t)r->n;
	char key[ANALYSIS_CACHE_KEY_MAX];
	vv_array *emb = NULL;
	int64_t i;
	int err;

	err = analysis_cache_key(r->workdir, r->m, f, r->n, r->d, r->o->k, r->o->metric,
				 r->o->ood_scale, key);
	if (err)
		return err;
	if (analysis_cache_load(r->workdir, c->name, key, r->n, pca, scores)) {
		vv_debug("analyze: %s: PCA and outlier scores reused", c->name);
		return 0;
	}
	if ((err = analysis_read_matrix(r->workdir, r->m, f, "embeddings", r->n, r->d, &emb)))
		return err;
	if ((err = analysis_pca2(emb->data, r->n, r->d, pca, NULL, NULL)) ||
	    (err = analysis_ood_scores(emb->data, r->n, r->d, r->o->k, r->o->metric, r->o->ood_scale, sc, NULL))) {
		vv_error_prefix("checkpoint %s", c->name);
		goto out_free;
	}
	for (i = 0; i < r->n; i++)
		scores[i] = (float)sc[i];
	err = analysis_cache_store(r->workdir, c->name, key, r->n, pca, scores);
out_free:
	vv_array_free(&emb);
	return err;
}

static int
process_frame(struct run *r, size_t f, double *sc, int32_t *order, int32_t *pred, double *quality)
{
	const vv_ckpt_info *c = &r->m->ckpt[f];
	analysis_frame *fr = &r->frames[f];
	vv_array *lg = NULL;
	int have_pred = 0;
	size_t j;
	int err;

	if ((err = frame_pca_scores(r, f, sc)))
		return err;
	if (c->has_logits) {
		if ((err = analysis_read_matrix(r->workdir, r->m, f, "logits", r->n, -1, &lg)))
			goto out_free;
		if (r->nclasses && lg->shape[1] != r->nclasses) {
			err = vv_error(VV_EMISMATCH, "%s/logits/%s.npy: %lld classes, but the checkpoints before have %lld",
				       r->workdir, c->name, (long long)lg->shape[1], (long long)r->nclasses);
			goto out_free;
		}
		r->nclasses = lg->shape[1];
		if ((err = analysis_predict(lg->data, r->n, lg->shape[1], r->s->label, pred, quality))) {
			vv_error_prefix("checkpoint %s logits", c->name);
			goto out_free;
		}
		have_pred = 1;
	}
	if ((err = analysis_rank(r->scores + f * (size_t)r->n, r->n, order)))
		goto out_free;
	write_outlier_rows(r, f, order, have_pred ? pred : NULL, quality);
	fr->ckpt = c;
	fr->top = r->tops + f * r->ntop;
	fr->ntop = r->ntop;
	for (j = 0; j < fr->ntop; j++) {
		int32_t k = order[j];

		fr->top[j] = (analysis_top){ .index = k, .score = r->scores[f * (size_t)r->n + k], .label = r->s->label[k],
					     .predicted = have_pred && c->logits_match ? pred[k] : -1 };
	}
out_free:
	vv_array_free(&lg);
	return err;
}

/* Loss and epoch of each frame from the loss log. */
static void
map_loss(struct run *r)
{
	size_t f;

	for (f = 0; f < r->t; f++) {
		analysis_frame *fr = &r->frames[f];
		const vv_ckpt_info *c = &r->m->ckpt[f];
		const analysis_loss_point *at = analysis_loss_find(r->loss, c->step);

		fr->epoch = c->epoch;
		if (isnan(fr->epoch) && at && (at->has & ANALYSIS_LOSS_HAS_EPOCH))
			fr->epoch = at->epoch;
		fr->loss = analysis_loss_at(r->loss, c->step, ANALYSIS_LOSS_HAS_LOSS);
		fr->eval = analysis_loss_at(r->loss, c->step, ANALYSIS_LOSS_HAS_EVAL);
	}
}

/* Write a text output through fn into <workdir>/name, atomically. */
static int
write_text(const struct run *r, const char *name, void (*fn)(FILE *, const void *), const void *arg)
{
	char *p = vv_path_join(r->workdir, name);
	vv_outfile *of = NULL;
	int err;

	if (!p)
		return VV_ENOMEM;
	if (!(err = vv_outfile_open(&of, p))) {
		fn(of->fp, arg);
		err = vv_outfile_commit(&of);
	}
	free(p);
	return err;
}

static void
frames_fn(FILE *fp, const void *arg)
{
	analysis_write_frames(fp, arg);
}

static void
loss_fn(FILE *fp, const void *arg)
{
	analysis_write_loss(fp, arg);
}

static int
write_npy(const struct run *r, const char *name, const float *v, int ndim, const int64_t *shape)
{
	char *p = vv_path_join(r->workdir, name);
	int err;

	if (!p)
		return VV_ENOMEM;
	err = vv_npy_write(p, VV_F32, v, ndim, shape);
	free(p);
	return err;
}

/* Align, scale, and write every output; analysis.json last. */
static int
finish(struct run *r)
{
	size_t i, count = r->t * (size_t)r->n * 2;
	int64_t cshape[3] = { (int64_t)r->t, r->n, 2 }, sshape[2] = { (int64_t)r->t, r->n };
	double *aligned, *disp, scale;
	analysis_summary sum;
	float *coords;
	cJSON *json = NULL;
	char *p = NULL;
	int err;

	aligned = malloc(count * sizeof(*aligned));
	disp = malloc(r->t * sizeof(*disp));
	coords = malloc(count * sizeof(*coords));
	if (!aligned || !disp || !coords) {
		err = vv_error(VV_ENOMEM, "analyze: out of memory");
		goto out_free;
	}
	if ((err = analysis_align(r->pca, r->t, r->n, r->o->align, aligned, disp)))
		goto out_free;
	scale = analysis_display_scale(aligned, count, ANALYSIS_DISPLAY_MAX);
	for (i = 0; i < count; i++) {
		double v = aligned[i] * scale;

		/* keep the rounded extreme inside the axes */
		if (v > ANALYSIS_DISPLAY_MAX)
			v = ANALYSIS_DISPLAY_MAX;
		else if (v < -ANALYSIS_DISPLAY_MAX)
			v = -ANALYSIS_DISPLAY_MAX;
		coords[i] = (float)v;
	}
	for (i = 0; i < r->t; i++)
		r->frames[i].disparity = disp[i];
	map_loss(r);
	sum = (analysis_summary){
		.align = analysis_align_name(r->o->align),
		.k = analysis_ood_k(r->n, r->o->k),
		.metric = analysis_metric_name(analysis_ood_metric(r->o->metric, r->d)),
		.ood_scale = analysis_ood_scale_name(r->o->ood_scale),
		.display_scale = scale,
		.has_logits = r->any_logits,
		.loss_kind = r->loss ? r->loss->kind : NULL,
		.loss_path = r->loss ? r->loss_path : NULL,
		.nframes = r->t,
		.frames = r->frames,
		.opts = r->o,
	};
	if (!(json = analysis_summary_json(&sum)) || !(p = vv_path_join(r->workdir, "analysis.json"))) {
		err = vv_error(VV_ENOMEM, "analyze: out of memory");
		goto out_free;
	}
	if ((err = write_npy(r, "coords.npy", coords, 3, cshape)) ||
	    (err = write_npy(r, "scores.npy", r->scores, 2, sshape)) ||
	    (err = write_text(r, "frames.csv", frames_fn, &sum)) ||
	    (err = write_text(r, "loss.csv", loss_fn, r->loss)) ||
	    (err = vv_outfile_commit(&r->outliers)) ||
	    (err = vv_json_save(p, json)))
		goto out_free;
	vv_info("analyzed %zu checkpoints of %lld samples (align %s, k %lld, %s)", r->t, (long long)r->n, sum.align,
		(long long)sum.k, sum.metric);
out_free:
	free(p);
	cJSON_Delete(json);
	free(coords);
	free(disp);
	free(aligned);
	return err;
}

static int
compute(struct run *r)
{
	double *sc = NULL, *quality = NULL;
	int32_t *order = NULL;
	int32_t *pred = NULL;
	vv_progress *prog;
	char *p = NULL;
	size_t f;
	int err;

	r->pca = malloc(r->t * (size_t)r->n * 2 * sizeof(*r->pca));
	r->scores = malloc(r->t * (size_t)r->n * sizeof(*r->scores));
	r->frames = calloc(r->t, sizeof(*r->frames));
	r->ntop = (size_t)r->o->top < (size_t)r->n ? (size_t)r->o->top : (size_t)r->n;
	r->tops = calloc(r->t * r->ntop + 1, sizeof(*r->tops));
	sc = malloc((size_t)r->n * sizeof(*sc));
	quality = malloc((size_t)r->n * sizeof(*quality));
	pred = malloc((size_t)r->n * sizeof(*pred));
	order = malloc((size_t)r->n * sizeof(*order));
	p = vv_path_join(r->workdir, "outliers.csv");
	if (!r->pca || !r->scores || !r->frames || !r->tops || !sc || !quality || !pred || !order || !p) {
		err = vv_error(VV_ENOMEM, "analyze: out of memory");
		goto out_free;
	}
	if ((err = vv_outfile_open(&r->outliers, p)))
		goto out_free;
	fputs("checkpoint,step,index,path,label,label_name,score,rank", r->outliers->fp);
	fputs(r->any_logits ? ",predicted,predicted_name,misclassified,label_quality" VV_CSV_EOL : VV_CSV_EOL,
	      r->outliers->fp);
	prog = vv_progress_alloc("analyze", (int64_t)r->t, "checkpoints");
	for (f = 0; f < r->t; f++) {
		if ((err = process_frame(r, f, sc, order, pred, quality)))
			break;
		vv_progress_update(prog, (int64_t)f + 1);
	}
	vv_progress_free(&prog);
	if (!err)
		err = finish(r);
out_free:
	vv_outfile_abort(&r->outliers);
	free(p);
	free(order);
	free(pred);
	free(quality);
	free(sc);
	return err;
}

/*
 * analyze --shard I/N: the PCA and outlier scores of checkpoints
 * [I*t/N, (I+1)*t/N) into <work>/analysis/ (reused when current).
 * Returns 1 when every checkpoint's entry is then there (this process
 * assembles the outputs), 0 when other shards' are still missing, or an
 * error.  Whole checkpoints are the units, so each PCA sees all its rows
 * and stays exact.
 */
static int
run_shard(struct run *r)
{
	size_t f, lo = r->t * (size_t)r->o->shard_index / (size_t)r->o->shard_count;
	size_t hi = r->t * ((size_t)r->o->shard_index + 1) / (size_t)r->o->shard_count, missing = 0;
	double *sc = malloc((size_t)r->n * sizeof(*sc));
	int err = 0;

	r->pca = malloc(r->t * (size_t)r->n * 2 * sizeof(*r->pca));
	r->scores = malloc(r->t * (size_t)r->n * sizeof(*r->scores));
	if (!sc || !r->pca || !r->scores) {
		err = vv_error(VV_ENOMEM, "analyze: out of memory");
		goto out_free;
	}
	for (f = lo; f < hi && !err; f++)
		err = frame_pca_scores(r, f, sc);
	for (f = 0; f < r->t && !err; f++) {
		char key[ANALYSIS_CACHE_KEY_MAX];

		err = analysis_cache_key(r->workdir, r->m, f, r->n, r->d, r->o->k, r->o->metric,
					 r->o->ood_scale, key);
		/* the arrays are read once, by compute() of the shard that assembles */
		if (!err && !analysis_cache_has(r->workdir, r->m->ckpt[f].name, key))
			missing++;
	}
	if (!err && missing)
		vv_info("analyze: shard %d/%d analysed checkpoints %zu..%zu; %zu of %zu still to come "
			"from the other shards (the last one assembles)", r->o->shard_index,
			r->o->shard_count, lo, hi ? hi - 1 : 0, missing, r->t);
out_free:
	free(sc);
	free(r->pca);
	free(r->scores);
	r->pca = NULL;
	r->scores = NULL;
	return err ? err : !missing;
}

int
analysis_run(const char *workdir, const analysis_opts *o)
{
	struct run r = { .workdir = workdir, .o = o };
	size_t f;
	int err;

	if ((err = check_opts(o)) || (err = vv_manifest_load(workdir, &r.m)))
		return err;
	/* temporary files a killed run left behind */
	(void)vv_clean_stale_tmp(workdir, NULL);
	r.t = r.m->nckpt;
	r.n = r.m->n;
	r.d = r.m->dim;
	if (r.t == 0) {
		err = vv_error(VV_ENOTFOUND, "%s/manifest.json: lists no checkpoints", workdir);
		goto out_free;
	}
	if (r.n <= 1) {
		err = vv_error(VV_EUNSUPPORTED, "%s/manifest.json: %lld samples; the analysis needs at least 2", workdir,
			       (long long)r.n);
		goto out_free;
	}
	if (r.n > INT32_MAX) {
		err = vv_error(VV_EUNSUPPORTED, "%s/manifest.json: %lld samples is too many", workdir, (long long)r.n);
		goto out_free;
	}
	if ((err = vv_samples_load(workdir, &r.s)))
		goto out_free;
	if ((int64_t)r.s->n != r.n) {
		err = vv_error(VV_EMISMATCH, "%s/samples.csv: %zu rows but manifest.json says %lld samples", workdir,
			       r.s->n, (long long)r.n);
		goto out_free;
	}
	for (f = 0; f < r.t; f++)
		r.any_logits |= r.m->ckpt[f].has_logits;
	if ((err = resolve_loss(&r)))
		goto out_free;
	if (outputs_fresh(&r)) {
		vv_info("%s: analysis is up to date", workdir);
	} else if (o->shard_count > 0 && (err = run_shard(&r)) <= 0) {
		goto out_free; /* an error, or blocks of other shards still missing */
	} else if ((err = load_loss(&r)) || (err = compute(&r))) {
		goto out_free;
	}
	/* the training dynamics (reused on their own when current) */
	err = analysis_dynamics_run(workdir, r.m, r.s, o->top);
out_free:
	free(r.tops);
	free(r.frames);
	free(r.scores);
	free(r.pca);
	analysis_loss_free(&r.loss);
	free(r.loss_path);
	vv_samples_free(&r.s);
	vv_manifest_free(&r.m);
	return err;
}
