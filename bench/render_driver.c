/*
 * render_driver.c - a tiny command around render_run()/render_still() for
 * the benchmark and for looking at frames until the CLI has `vitviz render`.
 * Thumbnails are read as PNG files <data root>/<path> through cairo.
 *
 *   render_driver WORKDIR OUT.{mp4,gif,webm,png} [--size WxH] [--fps N]
 *       [--spc SECONDS] [--hold SECONDS] [--theme light|dark] [--title T]
 *       [--step STEP] [--frames DIR] [--crf N] [--preset P] [--log]
 */
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "render/render_run.h"

static int
png_load(const char *root, const char *relpath, embed_image **out)
{
	char *path = vv_path_join(root, relpath);
	cairo_surface_t *s;
	embed_image *img;
	int w, h, stride;
	const unsigned char *d;

	*out = NULL;
	if (!path)
		return VV_ENOMEM;
	s = cairo_image_surface_create_from_png(path);
	if (cairo_surface_status(s)) {
		cairo_surface_destroy(s);
		int err = vv_error(VV_ENOTFOUND, "%s: cannot read PNG", path);
		free(path);
		return err;
	}
	free(path);
	w = cairo_image_surface_get_width(s);
	h = cairo_image_surface_get_height(s);
	stride = cairo_image_surface_get_stride(s);
	d = cairo_image_surface_get_data(s);
	img = calloc(1, sizeof(*img));
	if (img)
		img->rgb = malloc((size_t)w * h * 3);
	if (!img || !img->rgb) {
		free(img);
		cairo_surface_destroy(s);
		return VV_ENOMEM;
	}
	img->w = w;
	img->h = h;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned int p = ((const unsigned int *)(d + (size_t)y * stride))[x];
			unsigned char *o = img->rgb + ((size_t)y * w + x) * 3;

			o[0] = (p >> 16) & 255;
			o[1] = (p >> 8) & 255;
			o[2] = p & 255;
		}
	cairo_surface_destroy(s);
	*out = img;
	return 0;
}

static void
png_free(embed_image **img)
{
	if (*img) {
		free((*img)->rgb);
		free(*img);
		*img = NULL;
	}
}

int
main(int argc, char **argv)
{
	render_opts o;
	long long step = -2;
	const char *out;
	double t0;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: render_driver WORKDIR OUT [options]\n");
		return 2;
	}
	render_opts_default(&o);
	o.thumb_load = png_load;
	o.thumb_free = png_free;
	out = argv[2];
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--log")) {
			o.loss_log = 1;
			continue;
		}
		if (!strcmp(a, "-v")) {
			vv_verbosity = 2;
			continue;
		}
		if (!v) {
			fprintf(stderr, "render_driver: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--size")) {
			if (render_parse_size(v, &o.width, &o.height)) {
				fprintf(stderr, "render_driver: %s\n", vv_errmsg());
				return 2;
			}
		} else if (!strcmp(a, "--fps"))
			o.fps = atoi(v);
		else if (!strcmp(a, "--spc"))
			o.seconds_per_checkpoint = atof(v);
		else if (!strcmp(a, "--hold"))
			o.hold_seconds = atof(v);
		else if (!strcmp(a, "--theme"))
			o.theme = !strcmp(v, "dark") ? RENDER_THEME_DARK : RENDER_THEME_LIGHT;
		else if (!strcmp(a, "--title"))
			o.title = v;
		else if (!strcmp(a, "--step"))
			step = atoll(v);
		else if (!strcmp(a, "--frames"))
			o.frames_dir = v;
		else if (!strcmp(a, "--crf"))
			o.crf = atoi(v);
		else if (!strcmp(a, "--preset"))
			o.preset = v;
		else {
			fprintf(stderr, "render_driver: unknown option %s\n", a);
			return 2;
		}
	}
	t0 = vv_now();
	if (step != -2 || (strlen(out) > 4 && !strcmp(out + strlen(out) - 4, ".png")))
		err = render_still(argv[1], step == -2 ? -1 : step, out, &o);
	else
		err = render_run(argv[1], out, &o);
	if (err) {
		fprintf(stderr, "render_driver: %s\n", vv_errmsg());
		return vv_exit_code(err);
	}
	fprintf(stderr, "render_driver: %.3f s\n", vv_now() - t0);
	return 0;
}
