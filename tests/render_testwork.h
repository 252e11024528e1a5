/*
 * render_testwork.h - synthetic work folders for the render tests (included
 * by tests/test_render.c and tests/test_encode.c; static helpers only).
 *
 * make_work() writes what `embed` and `analyze` would (notes/workdir.md):
 * manifest.json (cJSON), samples.csv, coords.npy (T x n x 2, max |c| = 5),
 * analysis.json (top outliers per checkpoint) and loss.csv.  The thumbnail
 * hook test_thumb_load() returns solid 32x32 images whose colour
 * thumb_color(index) identifies the sample.
 */
#ifndef RENDER_TESTWORK_H
#define RENDER_TESTWORK_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_npy.h"
#include "common/vv_version.h"
#include "embed/images/embed_image.h"

typedef struct test_work {
	int n;                 /* samples */
	int T;                 /* checkpoints */
	int nclasses;          /* classes */
	const char **names;    /* class names (NULL: "c0", "c1", ...) */
	int with_loss;         /* write loss.csv */
	int with_eval;         /* eval_loss column filled every 4th row */
	int with_logits;       /* "predicted" in analysis.json */
} test_work;

/* The colour (0xRRGGBB) of sample i's synthetic thumbnail: distinct for i < 4096. */
static uint32_t
thumb_color(long long i)
{
	uint32_t r = (uint32_t)(40 + (i * 37) % 200), g = (uint32_t)(30 + (i * 91) % 210),
		 b = (uint32_t)(20 + (i / 7 * 53 + i) % 220);

	return r << 16 | g << 8 | b;
}

static int test_thumb_calls;

static int
test_thumb_load(const char *root, const char *relpath, embed_image **out)
{
	const char *u = strrchr(relpath, '_');
	long long idx = u ? atoll(u + 1) : 0;
	uint32_t c = thumb_color(idx);
	embed_image *img = calloc(1, sizeof(*img));

	(void)root;
	test_thumb_calls++;
	if (!img || !(img->rgb = malloc(32 * 32 * 3))) {
		free(img);
		return -2;
	}
	img->w = img->h = 32;
	for (int k = 0; k < 32 * 32; k++) {
		img->rgb[3 * k] = (uint8_t)(c >> 16);
		img->rgb[3 * k + 1] = (uint8_t)(c >> 8);
		img->rgb[3 * k + 2] = (uint8_t)c;
	}
	*out = img;
	return 0;
}

static void
test_thumb_free(embed_image **img)
{
	if (*img) {
		free((*img)->rgb);
		free(*img);
		*img = NULL;
	}
}

static int
write_text(const char *dir, const char *name, const char *text)
{
	char *p = vv_path_join(dir, name);
	int err = vv_write_file_atomic(p, text, strlen(text));

	free(p);
	return err;
}

/* Step of checkpoint t. */
static long long
test_step(int t)
{
	return 100LL * (t + 1);
}

/* The index of the outlier of rank j at checkpoint t. */
static int
test_top_index(const test_work *w, int t, int j)
{
	return (int)((t * 13 + j * 7 + 3) % w->n);
}

static int
make_work(const char *dir, const test_work *w)
{
	cJSON *man = cJSON_CreateObject(), *classes = cJSON_CreateArray(), *ck = cJSON_CreateArray();
	cJSON *an = cJSON_CreateObject(), *frames = cJSON_CreateArray();
	size_t cap = (size_t)w->n * 64 + 65536, len = 0;
	char *csv = malloc(cap), *p;
	float *xy = malloc(sizeof(float) * (size_t)w->T * w->n * 2);
	int64_t shape[3] = { w->T, w->n, 2 };
	int err = 0;
	char buf[256];

	vv_mkdir_p(dir);
	cJSON_AddNumberToObject(man, "format", 1);
	cJSON_AddStringToObject(man, "vitviz_version", VV_VERSION);
	cJSON_AddStringToObject(man, "run", "/nonexistent/run/test-run");
	cJSON_AddStringToObject(man, "data", "/nonexistent/data");
	cJSON_AddStringToObject(man, "data_kind", "folder");
	cJSON_AddNumberToObject(man, "n", w->n);
	cJSON_AddNumberToObject(man, "dim", 8);
	cJSON_AddNumberToObject(man, "num_labels", w->with_logits ? w->nclasses : 0);
	cJSON_AddStringToObject(man, "pool", "cls");
	for (int c = 0; c < w->nclasses; c++) {
		if (w->names)
			cJSON_AddItemToArray(classes, cJSON_CreateString(w->names[c]));
		else {
			snprintf(buf, sizeof(buf), "c%d", c);
			cJSON_AddItemToArray(classes, cJSON_CreateString(buf));
		}
	}
	cJSON_AddItemToObject(man, "classes", classes);
	for (int t = 0; t < w->T; t++) {
		cJSON *o = cJSON_CreateObject();

		snprintf(buf, sizeof(buf), "checkpoint-%lld", test_step(t));
		cJSON_AddStringToObject(o, "name", buf);
		cJSON_AddNumberToObject(o, "step", (double)test_step(t));
		cJSON_AddNumberToObject(o, "epoch", 0.5 * (t + 1));
		cJSON_AddStringToObject(o, "path", "/nonexistent/run");
		cJSON_AddStringToObject(o, "format", "safetensors");
		cJSON_AddStringToObject(o, "fingerprint", "00000000000000000000000000000000");
		cJSON_AddBoolToObject(o, "has_logits", w->with_logits);
		cJSON_AddItemToArray(ck, o);
	}
	cJSON_AddItemToObject(man, "checkpoints", ck);
	{
		char *mp = vv_path_join(dir, "manifest.json");

		err = vv_json_save(mp, man);
		free(mp);
		if (err)
			goto out;
	}

	/* samples.csv: class i % nclasses */
	p = csv;
	len = (size_t)snprintf(p, cap, "index,path,label,label_name\n");
	for (int i = 0; i < w->n; i++) {
		int c = i % w->nclasses;
		const char *nm = w->names ? w->names[c] : NULL;
		char cn[16];

		if (!nm) {
			snprintf(cn, sizeof(cn), "c%d", c);
			nm = cn;
		}
		len += (size_t)snprintf(csv + len, cap - len, "%d,%s/img_%05d.png,%d,%s\n", i, nm, i, c, nm);
	}
	if ((err = write_text(dir, "samples.csv", csv)))
		goto out;

	/* coords: class centres on a circle, points spread around them, moving per checkpoint */
	{
		float mx = 0;

		for (int t = 0; t < w->T; t++)
			for (int i = 0; i < w->n; i++) {
				int c = i % w->nclasses;
				double a = 2 * M_PI * c / w->nclasses + 0.3 * t;
				double r = 0.5 + 0.37 * ((i * 7919) % 101) / 100.0, b = (i * 104729 % 360) * M_PI / 180;
				float *q = xy + ((size_t)t * w->n + i) * 2;

				q[0] = (float)(3 * cos(a) + r * cos(b));
				q[1] = (float)(3 * sin(a) + r * sin(b));
				mx = fmaxf(mx, fmaxf(fabsf(q[0]), fabsf(q[1])));
			}
		for (size_t k = 0; k < (size_t)w->T * w->n * 2; k++)
			xy[k] *= 5.0f / mx;
	}
	{
		char *cp = vv_path_join(dir, "coords.npy");

		err = vv_npy_write(cp, VV_F32, xy, 3, shape);
		free(cp);
		if (err)
			goto out;
	}

	/* analysis.json */
	cJSON_AddNumberToObject(an, "format", 1);
	cJSON_AddBoolToObject(an, "has_logits", w->with_logits);
	for (int t = 0; t < w->T; t++) {
		cJSON *f = cJSON_CreateObject(), *top = cJSON_CreateArray();

		snprintf(buf, sizeof(buf), "checkpoint-%lld", test_step(t));
		cJSON_AddStringToObject(f, "checkpoint", buf);
		cJSON_AddNumberToObject(f, "step", (double)test_step(t));
		cJSON_AddNumberToObject(f, "epoch", 0.5 * (t + 1));
		cJSON_AddNumberToObject(f, "loss", 2.0 / (t + 1));
		for (int j = 0; j < 8; j++) {
			cJSON *e = cJSON_CreateObject();
			int idx = test_top_index(w, t, j);

			cJSON_AddNumberToObject(e, "index", idx);
			cJSON_AddNumberToObject(e, "score", 0.05 * (j + 1));
			cJSON_AddNumberToObject(e, "label", idx % w->nclasses);
			cJSON_AddNumberToObject(e, "predicted", w->with_logits ? (j % 2 ? (idx + 1) % w->nclasses
										     : idx % w->nclasses)
									 : -1);
			cJSON_AddItemToArray(top, e);
		}
		cJSON_AddItemToObject(f, "top", top);
		cJSON_AddItemToArray(frames, f);
	}
	cJSON_AddItemToObject(an, "frames", frames);
	{
		char *ap = vv_path_join(dir, "analysis.json");

		err = vv_json_save(ap, an);
		free(ap);
		if (err)
			goto out;
	}

	/* loss.csv: logged every 10 steps */
	if (w->with_loss) {
		len = (size_t)snprintf(csv, cap, "step,epoch,loss,eval_loss,learning_rate\n");
		for (int s = 10, k = 0; s <= test_step(w->T - 1); s += 10, k++) {
			len += (size_t)snprintf(csv + len, cap - len, "%d,%.3f,%.4f,", s, s / 200.0,
						0.2 + 2.0 * exp(-s / 150.0));
			if (w->with_eval && k % 4 == 3)
				len += (size_t)snprintf(csv + len, cap - len, "%.4f", 0.3 + 2.0 * exp(-s / 170.0));
			len += (size_t)snprintf(csv + len, cap - len, ",5e-05\n");
			if (len + 128 > cap)
				break;
		}
		err = write_text(dir, "loss.csv", csv);
	}
out:
	cJSON_Delete(man);
	cJSON_Delete(an);
	free(csv);
	free(xy);
	return err;
}

#endif
