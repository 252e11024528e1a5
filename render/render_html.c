/* render_html.c - `vitviz html`: the run as one self-contained HTML file. */
#include "render/render_html.h"
#include "analysis/analysis_input.h"
#include "analysis/analysis_pred.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "render/render_html_atlas.h"
#include "render/render_inputs.h"
#include "render_html_assets.h" /* generated from render/html/ by the Makefile */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTML_DEFAULT_MB 50
#define DYN_MAX_FILE ((size_t)512 << 20)
#define DYN_MAX_COLS 32

void
render_html_opts_default(render_html_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->theme = RENDER_THEME_LIGHT;
	o->max_bytes = (int64_t)HTML_DEFAULT_MB * 1000 * 1000;
	o->thumb_side = 32;
}

/* Everything the page shows, for the samples kept. */
typedef struct html_data {
	render_inputs *in;   /* manifest, samples, coords, frames, loss */
	vv_array *scores;    /* T x n float32 outlier scores */
	uint32_t *rank;      /* T x n ranks among all samples (1 = most atypical) */
	int32_t *pred;       /* T x n predicted class (-1: none); NULL without logits */
	double *quality;     /* T x n label quality (NaN: none); NULL without logits */
	vv_csv *dyn;         /* dynamics.csv, or NULL */
	int *dyn_row;        /* n: row of sample i in dyn, -1 none */
	int64_t *keep;       /* shown samples, ascending */
	size_t nkeep;        /* entries in keep */
	char note[512];      /* what the page says about a subsample ("" none) */
	render_html_atlas *atlas; /* thumbnails, or NULL */
} html_data;

static void
html_data_free(html_data *d)
{
	render_inputs_free(&d->in);
	vv_array_free(&d->scores);
	free(d->rank);
	free(d->pred);
	free(d->quality);
	vv_csv_free(&d->dyn);
	free(d->dyn_row);
	free(d->keep);
	render_html_atlas_free(&d->atlas);
}

/* scores.npy, and every sample's rank at every checkpoint. */
static int
load_scores(const char *workdir, html_data *d)
{
	const render_inputs *in = d->in;
	char *path = vv_path_join(workdir, "scores.npy");
	int32_t *order = NULL;
	int err = 0;

	if (!path)
		return vv_error(VV_ENOMEM, "out of memory");
	if (!vv_is_file(path)) {
		err = vv_error(VV_ENOTFOUND, "%s: missing (run `vitviz analyze` first)", path);
		goto out_path;
	}
	if ((err = vv_npy_read(path, &d->scores)))
		goto out_path;
	if (d->scores->dtype != VV_F32 || d->scores->ndim != 2 || d->scores->shape[0] != (int64_t)in->T ||
	    d->scores->shape[1] != (int64_t)in->n) {
		err = vv_error(VV_EMISMATCH, "%s: expected float32 %zu x %zu (checkpoints x samples); run `vitviz "
					     "analyze` again", path, in->T, in->n);
		goto out_path;
	}
	d->rank = malloc(in->T * (in->n ? in->n : 1) * sizeof(*d->rank));
	order = malloc((in->n ? in->n : 1) * sizeof(*order));
	if (!d->rank || !order) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_order;
	}
	for (size_t f = 0; f < in->T; f++) {
		if ((err = analysis_rank((const float *)d->scores->data + f * in->n, (int64_t)in->n, order)))
			goto out_order;
		for (size_t j = 0; j < in->n; j++)
			d->rank[f * in->n + (size_t)order[j]] = (uint32_t)j + 1;
	}
out_order:
	free(order);
out_path:
	free(path);
	return err;
}

/* Predictions and label quality of every checkpoint with logits. */
static int
load_predictions(const char *workdir, html_data *d)
{
	const render_inputs *in = d->in;
	const vv_manifest *m = in->man;
	size_t n = in->n, any = 0;
	int err = 0;

	for (size_t f = 0; f < in->T; f++)
		any |= (size_t)(m->ckpt[f].has_logits != 0);
	if (!any)
		return 0;
	d->pred = malloc(in->T * (n ? n : 1) * sizeof(*d->pred));
	d->quality = malloc(in->T * (n ? n : 1) * sizeof(*d->quality));
	if (!d->pred || !d->quality)
		return vv_error(VV_ENOMEM, "out of memory");
	for (size_t f = 0; f < in->T; f++) {
		int32_t *p = d->pred + f * n;
		double *q = d->quality + f * n;
		vv_array *lg = NULL;

		if (!m->ckpt[f].has_logits) {
			for (size_t i = 0; i < n; i++) {
				p[i] = -1;
				q[i] = NAN;
			}
			continue;
		}
		err = analysis_read_matrix(workdir, m, f, "logits", (int64_t)n, -1, &lg);
		if (!err)
			err = analysis_predict(lg->data, (int64_t)n, lg->shape[1], in->samples->label, p, q);
		vv_array_free(&lg);
		if (err)
			return err;
		if (!m->ckpt[f].logits_match)
			for (size_t i = 0; i < n; i++)
				q[i] = NAN;
	}
	return 0;
}

/* WORK/dynamics.csv when present: its columns by header name, rows by "index". */
static int
load_dynamics(const char *workdir, html_data *d)
{
	char *path = vv_path_join(workdir, "dynamics.csv");
	size_t n = d->in->n;
	int ci, err = 0;

	if (!path)
		return vv_error(VV_ENOMEM, "out of memory");
	if (!vv_is_file(path))
		goto out_path;
	if ((err = vv_csv_read(path, DYN_MAX_FILE, &d->dyn)))
		goto out_path;
	ci = vv_csv_col(d->dyn, "index");
	if (ci < 0) {
		err = vv_error(VV_EFORMAT, "%s: no \"index\" column", path);
		goto out_path;
	}
	d->dyn_row = malloc((n ? n : 1) * sizeof(*d->dyn_row));
	if (!d->dyn_row) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_path;
	}
	for (size_t i = 0; i < n; i++)
		d->dyn_row[i] = -1;
	for (size_t r = 0; r < d->dyn->nrows && r < (size_t)INT32_MAX; r++) {
		char *end;
		long long v = strtoll(d->dyn->rows[r][ci], &end, 10);

		if (*end || end == d->dyn->rows[r][ci] || v < 0 || (unsigned long long)v >= n) {
			err = vv_error(VV_EFORMAT, "%s: line %zu: index \"%s\" is not a sample of samples.csv", path,
				       r + 2, d->dyn->rows[r][ci]);
			goto out_path;
		}
		d->dyn_row[v] = (int)r;
	}
out_path:
	free(path);
	return err;
}

/* Bytes of base64 for `raw` bytes. */
static double
b64_size(double raw)
{
	return raw * 4 / 3 + 4;
}

/* The samples to show: all, or an even subsample plus every top outlier. */
static int
choose_samples(html_data *d, const render_html_opts *o, const char *workdir)
{
	const render_inputs *in = d->in;
	size_t n = in->n, T = in->T, k = n;
	double per = 0, paths = 0, budget;
	uint8_t *mark = NULL;

	/* base64 bytes per sample: coordinates, score, rank, prediction, quality, label, index, path */
	per = (double)T * (4 + 4 + (n <= 65535 ? 2 : 4) + (d->pred ? 2 + 8 : 0)) + 2 + 4 + 4 +
	      (d->dyn ? 12.0 * d->dyn->ncols : 0);
	for (size_t i = 0; i < n; i++)
		paths += strlen(in->samples->path[i]) + 3;
	per = b64_size(per) + paths / (n ? n : 1);
	budget = (double)o->max_bytes * 3 / 4;
	if (per * n > budget) {
		k = (size_t)(budget / per);
		if (k < 1)
			k = 1;
	}
	if (o->max_points > 0 && (size_t)o->max_points < k)
		k = (size_t)o->max_points;
	d->keep = malloc((n ? n : 1) * sizeof(*d->keep));
	if (!d->keep)
		return vv_error(VV_ENOMEM, "out of memory");
	if (k >= n) {
		for (size_t i = 0; i < n; i++)
			d->keep[i] = (int64_t)i;
		d->nkeep = n;
		return 0;
	}
	mark = calloc(n, 1);
	if (!mark)
		return vv_error(VV_ENOMEM, "out of memory");
	for (size_t j = 0; j < k; j++)
		mark[(size_t)((double)j * n / k)] = 1;
	for (size_t f = 0; f < T; f++)
		for (int j = 0; j < in->frames[f].ntop; j++)
			mark[in->frames[f].top[j].index] = 1;
	for (size_t i = 0; i < n; i++)
		if (mark[i])
			d->keep[d->nkeep++] = (int64_t)i;
	free(mark);
	snprintf(d->note, sizeof(d->note),
		 "Showing an even subsample of %zu of %zu samples (with every checkpoint's top outliers): %s.",
		 d->nkeep, n, o->max_points > 0 && (size_t)o->max_points == k ? "--max-points" : "the file's size budget");
	vv_warn("%s: %zu samples x %zu checkpoints: %s (use --max-points / --max-mb, or embed fewer with "
		"--per-class / --limit)", workdir, n, T, d->note);
	return 0;
}

/* --- writing ---------------------------------------------------------- */

/* A JSON string literal that is also safe inside <script>. */
static void
put_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

/* A JSON number, or null when not finite. */
static void
put_num(FILE *fp, double v)
{
	if (isfinite(v))
		fprintf(fp, "%.9g", v);
	else
		fputs("null", fp);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of len bytes, as a JSON string. */
static void
put_b64(FILE *fp, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i = 0;

	fputc('"', fp);
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		char q[4] = { b64[v >> 18], b64[(v >> 12) & 63], b64[(v >> 6) & 63], b64[v & 63] };

		fwrite(q, 1, 4, fp);
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		fprintf(fp, "%c%c==", b64[v >> 18], b64[(v >> 12) & 63]);
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		fprintf(fp, "%c%c%c=", b64[v >> 18], b64[(v >> 12) & 63], b64[(v >> 6) & 63]);
	}
	fputc('"', fp);
}

/* Little-endian stores into a byte buffer. */
static void
le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

static void
le64(uint8_t *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

/* The low `bytes` bytes of v, little-endian (two's complement for negatives). */
static void
put_le(uint8_t *p, int bytes, uint32_t v)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* "#rrggbb" */
static void
put_color(FILE *fp, render_rgb c)
{
	fprintf(fp, "\"#%06x\"", render_rgb_pack(c) & 0xffffff);
}

/* The per-sample and per-checkpoint arrays as base64 members. */
static int
put_arrays(FILE *fp, const html_data *d)
{
	const render_inputs *in = d->in;
	size_t T = in->T, n = in->n, m = d->nkeep;
	float lo[2] = { INFINITY, INFINITY }, hi[2] = { -INFINITY, -INFINITY };
	int rb, pb;
	uint8_t *buf = malloc(T * (m ? m : 1) * 8 + 16);

	if (!buf)
		return vv_error(VV_ENOMEM, "out of memory");
	for (size_t f = 0; f < T; f++)
		for (size_t k = 0; k < m; k++)
			for (int a = 0; a < 2; a++) {
				float v = in->coords[(f * n + (size_t)d->keep[k]) * 2 + a];

				if (isfinite(v)) {
					lo[a] = fminf(lo[a], v);
					hi[a] = fmaxf(hi[a], v);
				}
			}
	for (int a = 0; a < 2; a++)
		if (!(lo[a] <= hi[a])) {
			lo[a] = -1;
			hi[a] = 1;
		} else if (hi[a] == lo[a]) {
			hi[a] = lo[a] + 1;
		}
	fprintf(fp, ",\"lo\":[%.9g,%.9g],\"hi\":[%.9g,%.9g]", lo[0], lo[1], hi[0], hi[1]);

	for (size_t k = 0; k < m; k++)
		le32(buf + 4 * k, (uint32_t)d->keep[k]);
	fputs(",\"index\":", fp);
	put_b64(fp, buf, 4 * m);
	for (size_t k = 0; k < m; k++)
		le16(buf + 2 * k, (uint32_t)in->samples->label[d->keep[k]]);
	fputs(",\"label\":", fp);
	put_b64(fp, buf, 2 * m);

	/* coordinates: 16 bits per axis over [lo, hi] */
	for (size_t f = 0; f < T; f++)
		for (size_t k = 0; k < m; k++)
			for (int a = 0; a < 2; a++) {
				float v = in->coords[(f * n + (size_t)d->keep[k]) * 2 + a];
				double q = isfinite(v) ? floor(((double)v - lo[a]) / ((double)hi[a] - lo[a]) * 65535 + 0.5) : 0;

				le16(buf + ((f * m + k) * 2 + (size_t)a) * 2, (uint32_t)(q < 0 ? 0 : q > 65535 ? 65535 : q));
			}
	fputs(",\"xy\":", fp);
	put_b64(fp, buf, T * m * 4);

	for (size_t f = 0; f < T; f++)
		for (size_t k = 0; k < m; k++) {
			uint32_t u;

			memcpy(&u, (const float *)d->scores->data + f * n + (size_t)d->keep[k], 4);
			le32(buf + (f * m + k) * 4, u);
		}
	fputs(",\"score\":", fp);
	put_b64(fp, buf, T * m * 4);

	/* ranks in 16 bits when every rank fits */
	rb = n <= 65535 ? 2 : 4;
	for (size_t f = 0; f < T; f++)
		for (size_t k = 0; k < m; k++)
			put_le(buf + (f * m + k) * rb, rb, d->rank[f * n + (size_t)d->keep[k]]);
	fprintf(fp, ",\"rankBytes\":%d,\"rank\":", rb);
	put_b64(fp, buf, T * m * rb);

	if (d->pred) {
		/* predicted classes (-1: none) in 8 or 16 bits when they fit */
		int32_t maxp = 0;

		for (size_t i = 0; i < T * n; i++)
			maxp = d->pred[i] > maxp ? d->pred[i] : maxp;
		pb = maxp < 128 ? 1 : maxp < 32768 ? 2 : 4;
		for (size_t f = 0; f < T; f++)
			for (size_t k = 0; k < m; k++)
				put_le(buf + (f * m + k) * pb, pb, (uint32_t)d->pred[f * n + (size_t)d->keep[k]]);
		fprintf(fp, ",\"predBytes\":%d,\"pred\":", pb);
		put_b64(fp, buf, T * m * pb);
		for (size_t f = 0; f < T; f++)
			for (size_t k = 0; k < m; k++) {
				uint64_t u;

				memcpy(&u, d->quality + f * n + (size_t)d->keep[k], 8);
				le64(buf + (f * m + k) * 8, u);
			}
		fputs(",\"quality\":", fp);
		put_b64(fp, buf, T * m * 8);
	}
	free(buf);
	return 0;
}

/* Checkpoints: step, epoch, loss, logits flags, predicted class names. */
static void
put_checkpoints(FILE *fp, const html_data *d)
{
	const render_inputs *in = d->in;
	const vv_manifest *m = in->man;
	int32_t maxpred = m->nclasses - 1;

	if (d->pred)
		for (size_t i = 0; i < in->T * in->n; i++)
			if (d->pred[i] > maxpred)
				maxpred = d->pred[i];
	fputs(",\"ckpt\":[", fp);
	for (size_t f = 0; f < in->T; f++) {
		const render_frame_info *fr = &in->frames[f];

		fprintf(fp, "%s{\"name\":", f ? "," : "");
		put_str(fp, m->ckpt[f].name);
		fprintf(fp, ",\"step\":%lld,\"epoch\":", (long long)fr->step);
		put_num(fp, fr->epoch);
		fputs(",\"loss\":", fp);
		put_num(fp, fr->loss);
		fprintf(fp, ",\"logits\":%d,\"match\":%d,\"pnames\":[", m->ckpt[f].has_logits != 0,
			m->ckpt[f].logits_match != 0);
		for (int32_t k = 0; d->pred && m->ckpt[f].has_logits && k <= maxpred; k++) {
			if (k)
				fputc(',', fp);
			put_str(fp, analysis_class_name(m, f, k));
		}
		fputs("],\"top\":[", fp);
		for (int j = 0, w = 0; j < fr->ntop; j++) {
			/* top outliers as positions in the kept list (all kept: see choose_samples) */
			size_t lo = 0, hi = d->nkeep;

			while (lo < hi) {
				size_t mid = (lo + hi) / 2;

				if (d->keep[mid] < fr->top[j].index)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < d->nkeep && d->keep[lo] == fr->top[j].index)
				fprintf(fp, "%s%zu", w++ ? "," : "", lo);
		}
		fputs("]}", fp);
	}
	fputc(']', fp);
}

static void
put_number_list(FILE *fp, const double *v, size_t n)
{
	fputc('[', fp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', fp);
		put_num(fp, v[i]);
	}
	fputc(']', fp);
}

/* dynamics.csv's columns (other than samples.csv's) for the kept samples. */
static void
put_dynamics(FILE *fp, const html_data *d)
{
	const vv_csv *c = d->dyn;
	int ncol = 0;

	if (!c) {
		fputs(",\"dyn\":null", fp);
		return;
	}
	fputs(",\"dyn\":{\"cols\":[", fp);
	for (size_t j = 0; j < c->ncols && ncol < DYN_MAX_COLS; j++) {
		const char *h = c->header[j];

		if (!strcmp(h, "index") || !strcmp(h, "path") || !strcmp(h, "label") || !strcmp(h, "label_name"))
			continue;
		fprintf(fp, "%s{\"name\":", ncol++ ? "," : "");
		put_str(fp, h);
		fputs(",\"v\":[", fp);
		for (size_t k = 0; k < d->nkeep; k++) {
			int r = d->dyn_row[d->keep[k]];
			const char *s = r >= 0 ? c->rows[r][j] : "";
			char *end;
			double v = strtod(s, &end);

			if (k)
				fputc(',', fp);
			if (!*s)
				fputs("null", fp);
			else if (!*end && isfinite(v))
				fprintf(fp, "%.6g", v);
			else
				put_str(fp, s);
		}
		fputs("]}", fp);
	}
	fputs("]}", fp);
}

/* The two themes' colours (render_palette.c), as CSS custom properties. */
static void
put_themes(FILE *fp)
{
	static const char *const names[2] = { "light", "dark" };

	fputs(",\"themes\":{", fp);
	for (int t = 0; t < 2; t++) {
		render_theme_colors c;

		render_theme_colors_get(t ? RENDER_THEME_DARK : RENDER_THEME_LIGHT, &c);
		fprintf(fp, "%s\"%s\":{\"bg\":", t ? "," : "", names[t]);
		put_color(fp, c.bg);
		fputs(",\"panel\":", fp);
		put_color(fp, c.panel);
		fputs(",\"fg\":", fp);
		put_color(fp, c.fg);
		fputs(",\"muted\":", fp);
		put_color(fp, c.muted);
		fputs(",\"grid\":", fp);
		put_color(fp, c.grid);
		fputs(",\"axis\":", fp);
		put_color(fp, c.axis);
		fputs(",\"train\":", fp);
		put_color(fp, c.train);
		fputs(",\"eval\":", fp);
		put_color(fp, c.eval);
		fputs(",\"alert\":", fp);
		put_color(fp, c.alert);
		fputc('}', fp);
	}
	fputc('}', fp);
}

/* samples.csv's label names, only where one differs from the class list's. */
static void
put_label_names(FILE *fp, const html_data *d)
{
	const vv_samples *s = d->in->samples;
	const vv_manifest *m = d->in->man;
	size_t k;

	for (k = 0; k < d->nkeep; k++)
		if (strcmp(s->label_name[d->keep[k]], m->class_names[s->label[d->keep[k]]]))
			break;
	if (k == d->nkeep)
		return;
	fputs(",\"lname\":[", fp);
	for (k = 0; k < d->nkeep; k++) {
		if (k)
			fputc(',', fp);
		put_str(fp, s->label_name[d->keep[k]]);
	}
	fputc(']', fp);
}

/* The data document, one JSON object. */
static int
put_data(FILE *fp, const html_data *d, const render_html_opts *o, const char *title)
{
	const render_inputs *in = d->in;
	const vv_manifest *m = in->man;
	int err;

	fprintf(fp, "{\"format\":1,\"title\":");
	put_str(fp, title);
	fprintf(fp, ",\"theme\":\"%s\",\"T\":%zu,\"n\":%zu,\"N\":%zu,\"note\":",
		o->theme == RENDER_THEME_DARK ? "dark" : "light", in->T, d->nkeep, in->n);
	put_str(fp, d->note);
	fputs(",\"classes\":[", fp);
	for (int c = 0; c < m->nclasses; c++) {
		if (c)
			fputc(',', fp);
		put_str(fp, m->class_names[c]);
	}
	/* legend order and colours as in the video: the model's class order */
	fputs("],\"order\":[", fp);
	for (int k = 0; k < m->nclasses; k++)
		fprintf(fp, "%s%d", k ? "," : "", m->class_order[k]);
	for (int t = 0; t < 2; t++) {
		fprintf(fp, t ? "],\"dark\":[" : "],\"colors\":{\"light\":[");
		for (int c = 0; c < m->nclasses; c++) {
			int k = 0;

			while (k < m->nclasses - 1 && m->class_order[k] != c)
				k++;
			if (c)
				fputc(',', fp);
			put_color(fp, render_class_color(k, t ? RENDER_THEME_DARK : RENDER_THEME_LIGHT));
		}
	}
	fputs("]}", fp);
	put_themes(fp);
	put_label_names(fp, d);
	put_checkpoints(fp, d);
	fputs(",\"loss\":{\"step\":", fp);
	put_number_list(fp, in->loss.step, in->loss.n);
	fputs(",\"loss\":", fp);
	put_number_list(fp, in->loss.loss, in->loss.n);
	fputs(",\"eval\":", fp);
	put_number_list(fp, in->loss.eval_loss, in->loss.n);
	fputs("},\"path\":[", fp);
	for (size_t k = 0; k < d->nkeep; k++) {
		if (k)
			fputc(',', fp);
		put_str(fp, in->samples->path[d->keep[k]]);
	}
	fputc(']', fp);
	if ((err = put_arrays(fp, d)))
		return err;
	put_dynamics(fp, d);
	if (d->atlas && d->atlas->natlas) {
		const render_html_atlas *a = d->atlas;

		fprintf(fp, ",\"thumbs\":{\"side\":%d,\"cols\":%d,\"count\":%zu,\"ok\":", a->side, a->cols, a->ncells);
		put_b64(fp, a->ok, d->nkeep);
		fputs(",\"jpeg\":[", fp);
		for (size_t i = 0; i < a->natlas; i++) {
			if (i)
				fputc(',', fp);
			put_b64(fp, a->jpeg[i], a->len[i]);
		}
		fputs("]}", fp);
	} else {
		fputs(",\"thumbs\":null", fp);
	}
	fputc('}', fp);
	return 0;
}

/* Text with &, <, >, " escaped for HTML. */
static void
put_html_text(FILE *fp, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", fp); break;
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '"': fputs("&quot;", fp); break;
		default: fputc(*s, fp);
		}
}

/* Does template position i start marker m? */
static int
at_marker(size_t i, const char *m)
{
	size_t len = strlen(m);

	return render_html_template_len - i >= len && !memcmp(render_html_template + i, m, len);
}

/* The template with @@TITLE@@, @@CSS@@, @@JS@@ and @@DATA@@ filled in. */
static int
put_page(FILE *fp, const html_data *d, const render_html_opts *o, const char *title)
{
	size_t i = 0, start = 0;
	int err;

	while (i < render_html_template_len) {
		if (render_html_template[i] != '@') {
			i++;
			continue;
		}
		fwrite(render_html_template + start, 1, i - start, fp);
		if (at_marker(i, "@@TITLE@@")) {
			put_html_text(fp, title);
			i += 9;
		} else if (at_marker(i, "@@CSS@@")) {
			fwrite(render_html_css, 1, render_html_css_len, fp);
			i += 7;
		} else if (at_marker(i, "@@JS@@")) {
			fwrite(render_html_js, 1, render_html_js_len, fp);
			i += 6;
		} else if (at_marker(i, "@@DATA@@")) {
			if ((err = put_data(fp, d, o, title)))
				return err;
			i += 8;
		} else {
			fputc('@', fp);
			i++;
		}
		start = i;
	}
	fwrite(render_html_template + start, 1, i - start, fp);
	return 0;
}

int
render_html_write(const char *workdir, const char *out_path, const render_html_opts *o)
{
	html_data d = { 0 };
	vv_outfile *of = NULL;
	char *title = NULL;
	int err;

	if (o->thumb_side && (o->thumb_side < 8 || o->thumb_side > 64))
		return vv_error(VV_EINVAL, "html: thumbnail side must be 8..64 pixels (got %d)", o->thumb_side);
	if (o->max_bytes < 100000)
		return vv_error(VV_EINVAL, "html: size budget below 0.1 MB");
	if ((err = render_inputs_load(workdir, &d.in)) || (err = load_scores(workdir, &d)) ||
	    (err = load_predictions(workdir, &d)) || (err = load_dynamics(workdir, &d)) ||
	    (err = choose_samples(&d, o, workdir)))
		goto out_free;
	title = o->title ? vv_strdup(o->title) : render_default_title(d.in->man);
	if (!title) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	/* open the output before the slow part: an unwritable path fails at once */
	if ((err = vv_outfile_open(&of, out_path)))
		goto out_free;
	if (o->thumb_side && o->thumb_load) {
		/* thumbnails get what the data leaves of the budget, base64 included */
		double data = 0;

		data = (double)d.nkeep * d.in->T * (4 + 4 + (d.in->n <= 65535 ? 2 : 4) + (d.pred ? 10 : 0)) * 4 / 3 +
		       400000;
		for (size_t k = 0; k < d.nkeep; k++)
			data += strlen(d.in->samples->path[d.keep[k]]) + 3;
		if ((double)o->max_bytes - data > 0 &&
		    (err = render_html_atlas_build(&d.atlas, d.in->man->data, d.in->samples, d.keep, d.nkeep,
						   o->thumb_side, (int64_t)(((double)o->max_bytes - data) * 3 / 4),
						   o->thumb_load, o->thumb_free)))
			goto out_abort;
	}
	if ((err = put_page(of->fp, &d, o, title)))
		goto out_abort;
	err = vv_outfile_commit(&of);
	if (!err)
		vv_info("wrote %s (%zu samples x %zu checkpoints, %.1f MB)", out_path, d.nkeep, d.in->T,
			(double)vv_file_size(out_path) / 1e6);
	goto out_free;

out_abort:
	vv_outfile_abort(&of);
out_free:
	free(title);
	html_data_free(&d);
	return err;
}
