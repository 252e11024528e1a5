/* render_run.c - the render stage: timeline, frames, encoding. */
#define _GNU_SOURCE /* asprintf */
#include "render/render_run.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "render/render_datamap.h"
#include "render/render_encode.h"
#include "render/render_frame.h"
#include "render/render_inputs.h"
#include "render/render_issues.h"
#include "render/render_timeline.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
render_opts_default(render_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->width = 1920;
	o->height = 1080;
	o->fps = 30;
	o->seconds_per_checkpoint = 1.0;
	o->hold_seconds = 2.0;
	o->crf = 20;
	o->preset = "medium";
	o->theme = RENDER_THEME_LIGHT;
	o->top = 8;
}

int
render_parse_size(const char *s, int *w, int *h)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (end == s || (*end != 'x' && *end != 'X' && *end != '*'))
		return vv_error(VV_EINVAL, "size \"%s\": expected WIDTHxHEIGHT, e.g. 1920x1080", s);
	b = strtol(end + 1, &end, 10);
	if (*end || errno)
		return vv_error(VV_EINVAL, "size \"%s\": expected WIDTHxHEIGHT, e.g. 1920x1080", s);
	if (a < 16 || b < 16 || a > 8192 || b > 8192)
		return vv_error(VV_EINVAL, "size \"%s\": width and height must be within 16..8192", s);
	if ((a & 1) || (b & 1))
		return vv_error(VV_EINVAL, "size \"%s\": width and height must be even (H.264 4:2:0 needs it)", s);
	*w = (int)a;
	*h = (int)b;
	return 0;
}

static int
check_opts(const render_opts *o)
{
	if (o->width < 16 || o->height < 16 || o->width > 8192 || o->height > 8192 || (o->width & 1) ||
	    (o->height & 1))
		return vv_error(VV_EINVAL, "size %dx%d: width and height must be even and within 16..8192", o->width,
				o->height);
	if (o->fps < 1 || o->fps > 240)
		return vv_error(VV_EINVAL, "fps %d outside 1..240", o->fps);
	if (!(o->seconds_per_checkpoint > 0 && o->seconds_per_checkpoint <= 3600))
		return vv_error(VV_EINVAL, "seconds per checkpoint %g outside (0, 3600]", o->seconds_per_checkpoint);
	if (!(o->hold_seconds >= 0 && o->hold_seconds <= 3600))
		return vv_error(VV_EINVAL, "hold %g s outside [0, 3600]", o->hold_seconds);
	if (o->top < 0 || o->top > RENDER_MAX_TOP)
		return vv_error(VV_EINVAL, "top %d outside 0..%d", o->top, RENDER_MAX_TOP);
	if (o->top_kind != RENDER_TOP_OUTLIERS && o->top_kind != RENDER_TOP_LABEL_ISSUES)
		return vv_error(VV_EINVAL, "unknown thumbnail kind %d", o->top_kind);
	return 0;
}

static cairo_surface_t *
new_frame(const render_opts *o)
{
	cairo_surface_t *f = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, o->width, o->height);

	if (cairo_surface_status(f)) {
		cairo_surface_destroy(f);
		vv_error(VV_ENOMEM, "out of memory (%dx%d frame)", o->width, o->height);
		return NULL;
	}
	return f;
}

/*
 * The title: the option, which is then kept in <workdir>/render.json for
 * later `frame` and `render` calls; else the one kept there; else NULL (the
 * default).  *out is *o with that title (its string lives in a static
 * buffer until the next call).
 */
static int
with_title(const char *workdir, const render_opts *o, render_opts *out)
{
	static char kept[1024];
	char *path = vv_path_join(workdir, "render.json");
	cJSON *j = NULL;
	int err = 0;

	*out = *o;
	if (!path)
		return vv_error(VV_ENOMEM, "out of memory");
	if (o->title) {
		j = cJSON_CreateObject();
		if (!j || !cJSON_AddStringToObject(j, "title", o->title))
			err = vv_error(VV_ENOMEM, "out of memory");
		else
			err = vv_json_save(path, j);
	} else if (vv_is_file(path)) {
		j = vv_json_load(path);
		if (!j) {
			vv_warn("%s; the default title is used", vv_errmsg());
			vv_error_clear();
		} else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "title"))) {
			snprintf(kept, sizeof(kept), "%s", vv_json_get_string(j, "title", ""));
			out->title = kept;
		}
	}
	cJSON_Delete(j);
	free(path);
	return err;
}

int
render_still(const char *workdir, int64_t checkpoint_step, const char *png_path, const render_opts *o)
{
	render_inputs *in = NULL;
	render_scene *sc = NULL;
	cairo_surface_t *frame = NULL;
	render_opts ot;
	render_time tm;
	int err, c;

	if ((err = check_opts(o)))
		return err;
	if (o->data_map)
		return render_datamap_png(workdir, png_path, o);
	if ((err = render_inputs_load(workdir, &in)))
		return err;
	if (o->top_kind == RENDER_TOP_LABEL_ISSUES && (err = render_issues_apply(workdir, in)))
		goto out_inputs;
	c = render_inputs_find_step(in, checkpoint_step);
	if (c < 0) {
		char list[256] = "";
		size_t len = 0;

		/* say which steps there are */
		for (size_t i = 0; i < in->T && len < sizeof(list) - 24; i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%lld", i ? ", " : "",
						(long long)in->frames[i].step);
		err = vv_error(VV_ENOTFOUND, "%s: no checkpoint at step %lld (steps: %s%s)", workdir,
			       (long long)checkpoint_step, list, len >= sizeof(list) - 24 ? ", ..." : "");
		goto out_inputs;
	}
	if ((err = with_title(workdir, o, &ot)))
		goto out_inputs;
	o = &ot;
	if ((err = render_scene_alloc(&sc, in, o)))
		goto out_inputs;
	frame = new_frame(o);
	if (!frame) {
		err = VV_ENOMEM;
		goto out_scene;
	}
	tm.from = tm.to = c;
	tm.mix = 1;
	if (!(err = render_scene_draw(sc, frame, &tm)))
		err = render_png_write(frame, png_path);
	cairo_surface_destroy(frame);
out_scene:
	render_scene_free(&sc);
out_inputs:
	render_inputs_free(&in);
	return err;
}

static int
write_png_frame(const char *dir, int64_t k, cairo_surface_t *frame)
{
	char name[48], *path;
	int err;

	snprintf(name, sizeof(name), "frame_%06lld.png", (long long)k + 1);
	path = vv_path_join(dir, name);
	if (!path)
		return vv_error(VV_ENOMEM, "out of memory");
	err = render_png_write(frame, path);
	free(path);
	return err;
}

/* Remove "<out>.tmp.<pid>.XXXXXX" files a killed render left beside `out`. */
static void
clean_stale_output(const char *out)
{
	const char *slash = strrchr(out, '/');
	char *dir = slash ? strndup(out, (size_t)(slash - out) + 1) : strdup(".");
	char *prefix = NULL;

	if (dir && asprintf(&prefix, "%s.tmp.", slash ? slash + 1 : out) >= 0)
		(void)vv_clean_stale_tmp(dir, prefix);
	free(prefix);
	free(dir);
}

int
render_run(const char *workdir, const char *out_path, const render_opts *o)
{
	render_inputs *in = NULL;
	render_scene *sc = NULL;
	render_encoder *enc = NULL;
	cairo_surface_t *frame = NULL;
	vv_progress *prog = NULL;
	render_format fmt = RENDER_FMT_MP4;
	render_time prev = { -1, -1, 0 };
	cairo_surface_t *card = NULL; /* the data map end card, or NULL */
	render_opts ot;
	int64_t nframes;
	double t0;
	int fps, err;

	if ((err = check_opts(o)))
		return err;
	if (!out_path && !o->frames_dir)
		return vv_error(VV_EINVAL, "render: no output file and no frames folder given");
	if (out_path && (err = render_format_from_path(out_path, &fmt)))
		return err;
	fps = out_path ? render_format_fps(fmt, o->fps) : o->fps;
	if (fps != o->fps)
		vv_info("%s: GIF frame rate %d fps (asked %d)", out_path, fps, o->fps);
	if (o->frames_dir && (err = vv_mkdir_p(o->frames_dir)))
		return err;
	if (out_path)
		clean_stale_output(out_path);
	t0 = vv_now();
	if ((err = render_inputs_load(workdir, &in)))
		return err;
	if (o->top_kind == RENDER_TOP_LABEL_ISSUES && (err = render_issues_apply(workdir, in)))
		goto out_inputs;
	vv_debug("render: inputs loaded in %.3f s", vv_now() - t0);
	if ((err = with_title(workdir, o, &ot)))
		goto out_inputs;
	o = &ot;
	if ((err = render_scene_alloc(&sc, in, o)))
		goto out_inputs;
	vv_debug("render: scene ready at %.3f s", vv_now() - t0);
	frame = new_frame(o);
	if (!frame) {
		err = VV_ENOMEM;
		goto out_scene;
	}
	/* the end card first: a run without dynamics fails before any encoding */
	if (o->data_map) {
		if (!(card = new_frame(o))) {
			err = VV_ENOMEM;
			goto out_frame;
		}
		if ((err = render_datamap_card(workdir, o, card)))
			goto out_frame;
	}
	if (out_path) {
		render_encode_opts eo;

		memset(&eo, 0, sizeof(eo));
		eo.width = o->width;
		eo.height = o->height;
		eo.fps = fps;
		eo.crf = o->crf;
		eo.preset = o->preset;
		eo.colors = render_scene_palette(sc, &eo.ncolors);
		if ((err = render_encoder_open(&enc, out_path, fmt, &eo)))
			goto out_frame;
	}
	nframes = render_timeline_frames(in->T, o->seconds_per_checkpoint, o->hold_seconds, fps);
	prog = vv_progress_alloc("render", nframes, "frames");
	vv_debug("render: encoder open at %.3f s", vv_now() - t0);
	for (int64_t k = 0; k < nframes; k++) {
		render_time tm;

		render_timeline_at(in->T, o->seconds_per_checkpoint, (double)k / fps, &tm);
		if (k > 0 && tm.from == prev.from && tm.to == prev.to && tm.mix == prev.mix) {
			/* a held frame: the picture (and its conversion) is the last one */
			if (enc && (err = render_encoder_repeat(enc)))
				goto out_encoder;
		} else {
			if ((err = render_scene_draw(sc, frame, &tm)))
				goto out_encoder;
			if (enc && (err = render_encoder_write(enc, frame)))
				goto out_encoder;
		}
		prev = tm;
		if (o->frames_dir && (err = write_png_frame(o->frames_dir, k, frame)))
			goto out_encoder;
		vv_progress_update(prog, k + 1);
	}
	if (card) {
		/* the end card: the data map, held max(hold, 3) s */
		int64_t k, ncard = (int64_t)ceil(fmax(o->hold_seconds, 3.0) * fps);

		for (k = 0; k < ncard; k++) {
			if (k == 0 && enc && (err = render_encoder_write(enc, card)))
				goto out_encoder;
			if (k > 0 && enc && (err = render_encoder_repeat(enc)))
				goto out_encoder;
			if (o->frames_dir && (err = write_png_frame(o->frames_dir, nframes + k, card)))
				goto out_encoder;
		}
	}
	vv_debug("render: %lld frames drawn at %.3f s", (long long)nframes, vv_now() - t0);
	if (enc && (err = render_encoder_finish(&enc)))
		goto out_encoder;
	vv_progress_free(&prog);
	vv_debug("render: done at %.3f s (%.1f frames/s)", vv_now() - t0, nframes / fmax(vv_now() - t0, 1e-9));

out_encoder:
	vv_progress_free(&prog);
	render_encoder_abort(&enc);
out_frame:
	if (card)
		cairo_surface_destroy(card);
	cairo_surface_destroy(frame);
out_scene:
	render_scene_free(&sc);
out_inputs:
	render_inputs_free(&in);
	return err;
}
