/* test_encode.c - the animation files: decode them back and check them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "render/render_encode.h"
#include "render/render_layout.h"
#include "render/render_palette.h"
#include "render/render_run.h"
#include "tests/render_testwork.h"
#include "tests/test_util.h"

static char work[128]; /* 3 checkpoints, 200 samples, loss with eval */
static const test_work work_def = { 200, 3, 10, NULL, 1, 1, 1 };

static int
setup(void **state)
{
	test_work w = work_def;

	(void)state;
	vv_verbosity = 0;
	if (tu_setup("test_encode"))
		return -1;
	snprintf(work, sizeof(work), "%s/work", tu_tmp);
	return make_work(work, &w);
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static void
small_opts(render_opts *o)
{
	render_opts_default(o);
	o->width = 320;
	o->height = 240;
	o->fps = 10;
	o->seconds_per_checkpoint = 0.5;
	o->hold_seconds = 2.0;
	o->thumb_load = test_thumb_load;
	o->thumb_free = test_thumb_free;
}

typedef struct decoded {
	enum AVCodecID codec;      /* stream codec */
	int w, h;                  /* coded size */
	int frames;                /* frames decoded */
	double duration;           /* container duration, seconds */
	double last_pts;           /* presentation time of the last frame, seconds */
	enum AVColorSpace space;   /* colour space tag */
	enum AVColorPrimaries pri; /* primaries tag */
	enum AVColorTransferCharacteristic trc; /* transfer tag */
	int pix_fmt;               /* decoded pixel format */
	uint8_t *last_rgb;         /* last frame as ARGB32 (w*h*4), BT.709 converted */
} decoded;

/* Decode every frame of a file; keep the last one as RGB. */
static int
decode_file(const char *path, decoded *d)
{
	AVFormatContext *fc = NULL;
	AVCodecContext *cc = NULL;
	const AVCodec *codec;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	int si, ret;

	memset(d, 0, sizeof(*d));
	if (avformat_open_input(&fc, path, NULL, NULL) < 0 || avformat_find_stream_info(fc, NULL) < 0)
		return -1;
	si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
	if (si < 0)
		return -1;
	cc = avcodec_alloc_context3(codec);
	avcodec_parameters_to_context(cc, fc->streams[si]->codecpar);
	if (avcodec_open2(cc, codec, NULL) < 0)
		return -1;
	d->codec = codec->id;
	d->w = cc->width;
	d->h = cc->height;
	d->duration = fc->duration != AV_NOPTS_VALUE ? fc->duration / (double)AV_TIME_BASE : -1;
	d->space = cc->colorspace;
	d->pri = cc->color_primaries;
	d->trc = cc->color_trc;
	for (int flushing = 0;;) {
		if (!flushing) {
			ret = av_read_frame(fc, pkt);
			if (ret < 0) {
				flushing = 1;
				avcodec_send_packet(cc, NULL);
			} else {
				if (pkt->stream_index == si)
					avcodec_send_packet(cc, pkt);
				av_packet_unref(pkt);
			}
		}
		while ((ret = avcodec_receive_frame(cc, f)) == 0) {
			struct SwsContext *sws;

			d->frames++;
			d->pix_fmt = f->format;
			d->last_pts = f->best_effort_timestamp * av_q2d(fc->streams[si]->time_base);
			free(d->last_rgb);
			d->last_rgb = malloc((size_t)d->w * d->h * 4);
			sws = sws_getContext(d->w, d->h, f->format, d->w, d->h, AV_PIX_FMT_RGB32,
					     SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
			if (f->format == AV_PIX_FMT_YUV420P)
				sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_ITU709), 0,
							 sws_getCoefficients(SWS_CS_ITU709), 1, 0, 1 << 16, 1 << 16);
			sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, d->h,
				  (uint8_t *const[]){ d->last_rgb }, (const int[]){ d->w * 4 });
			sws_freeContext(sws);
			av_frame_unref(f);
		}
		if (flushing && ret == AVERROR_EOF)
			break;
	}
	av_frame_free(&f);
	av_packet_free(&pkt);
	avcodec_free_context(&cc);
	avformat_close_input(&fc);
	return 0;
}

/* PSNR (dB) of RGB between a decoded frame and a PNG. */
static double
psnr_vs_png(const uint8_t *rgb, int w, int h, const char *png)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	const uint8_t *p;
	int stride;
	double se = 0;

	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	assert_int_equal(cairo_image_surface_get_width(s), w);
	assert_int_equal(cairo_image_surface_get_height(s), h);
	cairo_surface_flush(s);
	p = cairo_image_surface_get_data(s);
	stride = cairo_image_surface_get_stride(s);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint32_t a = ((const uint32_t *)(p + (size_t)y * stride))[x];
			uint32_t b = ((const uint32_t *)(rgb + (size_t)y * w * 4))[x];

			for (int sh = 0; sh < 24; sh += 8) {
				double dd = (double)((a >> sh) & 255) - ((b >> sh) & 255);

				se += dd * dd;
			}
		}
	cairo_surface_destroy(s);
	se /= (double)w * h * 3;
	return se > 0 ? 10 * log10(255.0 * 255.0 / se) : 99;
}

/* Nothing but `keep` in a folder: no temporary files left behind. */
static int
files_in(const char *dir)
{
	char **names = NULL;
	size_t n = 0;

	if (vv_list_dir(dir, &names, &n))
		return -1;
	vv_strv_free(&names, n);
	return (int)n;
}

/* ---- MP4 -------------------------------------------------------------------------- */

static void
test_mp4(void **state)
{
	char *dir = tu_path("mp4"), *out = tu_path("mp4/anim.mp4"), *png = tu_path("last.png");
	render_opts o;
	decoded d;
	double psnr;

	(void)state;
	vv_mkdir_p(dir);
	small_opts(&o);
	assert_int_equal(render_run(work, out, &o), 0);
	assert_int_equal(files_in(dir), 1);
	assert_int_equal(decode_file(out, &d), 0);
	assert_int_equal(d.codec, AV_CODEC_ID_H264);
	assert_int_equal(d.w, 320);
	assert_int_equal(d.h, 240);
	assert_int_equal(d.pix_fmt, AV_PIX_FMT_YUV420P);
	/* 3 checkpoints x 0.5 s + 2 s hold at 10 fps */
	assert_int_equal(d.frames, 35);
	print_message("mp4: %d frames, duration %.3f s, last pts %.3f s\n", d.frames, d.duration, d.last_pts);
	assert_true(fabs(d.duration - 3.5) < 1e-3);
	assert_true(fabs(d.last_pts - 3.4) < 1e-3);
	assert_int_equal(d.space, AVCOL_SPC_BT709);
	assert_int_equal(d.pri, AVCOL_PRI_BT709);
	assert_int_equal(d.trc, AVCOL_TRC_BT709);
	/* the held last frame is the still of the last checkpoint */
	assert_int_equal(render_still(work, -1, png, &o), 0);
	psnr = psnr_vs_png(d.last_rgb, d.w, d.h, png);
	print_message("mp4 last frame vs PNG still: PSNR %.2f dB (crf %d, preset %s)\n", psnr, o.crf, o.preset);
	assert_true(psnr >= 30);
	/* and it is not some other checkpoint's frame */
	assert_int_equal(render_still(work, 100, png, &o), 0);
	print_message("mp4 last frame vs first checkpoint's still: PSNR %.2f dB\n",
		      psnr_vs_png(d.last_rgb, d.w, d.h, png));
	assert_true(psnr_vs_png(d.last_rgb, d.w, d.h, png) < psnr - 3);
	free(d.last_rgb);
}

/* The pixel (x, y) of a decoded ARGB32 frame, as 0xRRGGBB. */
static uint32_t
rgb_at(const decoded *d, int x, int y)
{
	return ((const uint32_t *)(d->last_rgb + (size_t)y * d->w * 4))[x] & 0xffffff;
}

/* 1 when each channel of a and b (0xRRGGBB) differs by at most tr, tg, tb. */
static int
rgb_near(uint32_t a, uint32_t b, int tr, int tg, int tb)
{
	return abs((int)((a >> 16) & 255) - (int)((b >> 16) & 255)) <= tr &&
	       abs((int)((a >> 8) & 255) - (int)((b >> 8) & 255)) <= tg && abs((int)(a & 255) - (int)(b & 255)) <= tb;
}

/*
 * The decoded last frame shows the last checkpoint: the theme's background
 * exactly (a palette seed) in the corner, and in each thumbnail box (8, or
 * 4 in a frame this small) the colour of the sample the analysis put there (the synthetic
 * thumbnails are flat colours; the GIF maps each to its nearest palette
 * entry - seeds, their blends with the background and a 5x6x4 colour cube
 * - so each channel is off by less than a cube step).
 */
static void
check_last_frame_pixels(const decoded *d, const render_opts *o, int tr, int tg, int tb)
{
	render_theme_colors tc;
	render_layout L;

	render_theme_colors_get(o->theme, &tc);
	assert_int_equal(rgb_at(d, 1, 1), render_rgb_pack(tc.bg) & 0xffffff);
	render_layout_compute(&L, d->w, d->h, 8, 1.0);
	assert_true(L.ntop >= 4);
	for (int j = 0; j < L.ntop; j++) {
		render_rect fit;
		double k;
		int x, y;
		uint32_t want = thumb_color(test_top_index(&work_def, work_def.T - 1, j)), got;

		render_layout_fit(&L.thumb[j], 32, 32, &fit, &k);
		x = (int)(fit.x + fit.w / 2);
		y = (int)(fit.y + fit.h / 2);
		got = rgb_at(d, x, y);
		if (!rgb_near(got, want, tr, tg, tb))
			fail_msg("thumbnail %d at (%d, %d): %06x, want %06x", j, x, y, got, want);
	}
}

static void
test_gif(void **state)
{
	char *out = tu_path("anim.gif"), *png = tu_path("gif_last.png");
	render_opts o;
	decoded d;
	double psnr;

	(void)state;
	small_opts(&o);
	assert_int_equal(render_run(work, out, &o), 0);
	assert_int_equal(decode_file(out, &d), 0);
	assert_int_equal(d.codec, AV_CODEC_ID_GIF);
	assert_int_equal(d.w, 320);
	assert_int_equal(d.h, 240);
	assert_int_equal(d.frames, 35);
	print_message("gif 10 fps: %d frames, duration %.2f s\n", d.frames, d.duration);
	assert_true(fabs(d.duration - 3.5) < 0.011);
	/* pixels: the held last frame is the last checkpoint's still, through the palette */
	check_last_frame_pixels(&d, &o, 48, 40, 64);
	assert_int_equal(render_still(work, -1, png, &o), 0);
	psnr = psnr_vs_png(d.last_rgb, d.w, d.h, png);
	print_message("gif last frame vs PNG still: PSNR %.2f dB\n", psnr);
	assert_true(psnr >= 25);
	free(d.last_rgb);
	/* a dark theme: its own background, exactly */
	o.theme = RENDER_THEME_DARK;
	assert_int_equal(render_run(work, out, &o), 0);
	assert_int_equal(decode_file(out, &d), 0);
	check_last_frame_pixels(&d, &o, 48, 40, 64);
	free(d.last_rgb);
	o.theme = RENDER_THEME_LIGHT;

	/* 30 fps asked: GIF runs at 25 (4 cs a frame) and keeps the duration */
	o.fps = 30;
	assert_int_equal(render_run(work, out, &o), 0);
	assert_int_equal(decode_file(out, &d), 0);
	assert_int_equal(d.frames, 88);
	print_message("gif 30 fps asked: %d frames, duration %.2f s\n", d.frames, d.duration);
	assert_true(fabs(d.duration - 3.5) <= 0.04 + 1e-9);
	free(d.last_rgb);
	assert_int_equal(render_format_fps(RENDER_FMT_GIF, 30), 25);
	assert_int_equal(render_format_fps(RENDER_FMT_GIF, 12), 10);
	assert_int_equal(render_format_fps(RENDER_FMT_MP4, 12), 12);
}

static void
test_webm(void **state)
{
	char *out = tu_path("anim.webm");
	render_opts o;
	decoded d;

	(void)state;
	small_opts(&o);
	o.hold_seconds = 0.5;
	if (!avcodec_find_encoder_by_name("libvpx-vp9")) {
		assert_int_equal(render_run(work, out, &o), VV_EUNSUPPORTED);
		assert_non_null(strstr(vv_errmsg(), "libvpx-vp9"));
		skip();
	}
	assert_int_equal(render_run(work, out, &o), 0);
	assert_int_equal(decode_file(out, &d), 0);
	assert_int_equal(d.codec, AV_CODEC_ID_VP9);
	assert_int_equal(d.w, 320);
	assert_int_equal(d.frames, 20);
	print_message("webm: %d frames, duration %.3f s\n", d.frames, d.duration);
	assert_true(fabs(d.duration - 2.0) < 0.011);
	/* pixels: the last frame is the last checkpoint's still, through VP9 */
	assert_int_equal(render_still(work, -1, tu_path("webm_last.png"), &o), 0);
	print_message("webm last frame vs PNG still: PSNR %.2f dB\n",
		      psnr_vs_png(d.last_rgb, d.w, d.h, tu_path("webm_last.png")));
	assert_true(psnr_vs_png(d.last_rgb, d.w, d.h, tu_path("webm_last.png")) >= 30);
	free(d.last_rgb);
}

static void
test_png_frames(void **state)
{
	char *dir = tu_path("frames"), name[64];
	render_opts o;

	(void)state;
	small_opts(&o);
	o.hold_seconds = 0.3;
	o.frames_dir = dir;
	assert_int_equal(render_run(work, NULL, &o), 0);
	/* 3 x 0.5 s + 0.3 s at 10 fps = 18 frames, and nothing else */
	assert_int_equal(files_in(dir), 18);
	for (int k = 1; k <= 18; k++) {
		cairo_surface_t *s;

		snprintf(name, sizeof(name), "%s/frame_%06d.png", dir, k);
		s = cairo_image_surface_create_from_png(name);
		assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
		assert_int_equal(cairo_image_surface_get_width(s), 320);
		cairo_surface_destroy(s);
	}
}

/* ---- errors ------------------------------------------------------------------------------ */

static void
test_bad_requests(void **state)
{
	char *dir = tu_path("bad");
	render_opts o;
	char out[256];

	(void)state;
	vv_mkdir_p(dir);
	small_opts(&o);
	snprintf(out, sizeof(out), "%s/anim.avi", dir);
	assert_int_equal(render_run(work, out, &o), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "anim.avi"));
	assert_non_null(strstr(vv_errmsg(), ".mp4"));
	snprintf(out, sizeof(out), "%s/noext", dir);
	assert_int_equal(render_run(work, out, &o), VV_EINVAL);
	/* odd size */
	snprintf(out, sizeof(out), "%s/anim.mp4", dir);
	o.width = 321;
	assert_int_equal(render_run(work, out, &o), VV_EINVAL);
	assert_non_null(strstr(vv_errmsg(), "even"));
	assert_int_equal(render_still(work, -1, out, &o), VV_EINVAL);
	o.width = 320;
	/* a preset libx264 does not know: error naming it, no file left */
	o.preset = "warpspeed";
	assert_int_equal(render_run(work, out, &o), VV_EUNSUPPORTED);
	assert_non_null(strstr(vv_errmsg(), "warpspeed"));
	o.preset = "medium";
	o.crf = 60;
	assert_int_equal(render_run(work, out, &o), VV_EINVAL);
	o.crf = 20;
	o.fps = 0;
	assert_int_equal(render_run(work, out, &o), VV_EINVAL);
	o.fps = 10;
	o.seconds_per_checkpoint = 0;
	assert_int_equal(render_run(work, out, &o), VV_EINVAL);
	o.seconds_per_checkpoint = 0.5;
	/* not a work folder */
	assert_int_equal(render_run(dir, out, &o), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "manifest.json"));
	assert_int_equal(files_in(dir), 0);
	/* the encoder itself refuses odd sizes too */
	{
		render_encoder *e = NULL;
		render_encode_opts eo = { 321, 240, 10, 20, "medium", NULL, 0 };

		assert_int_equal(render_encoder_open(&e, out, RENDER_FMT_MP4, &eo), VV_EINVAL);
		assert_null(e);
	}
}

/* A folder nobody may write into: a clear error, no file (temporary or final). */
static void
test_readonly_output(void **state)
{
	char *dir = tu_path("ro"), probe[256], out[256];
	render_opts o;
	int fd;

	(void)state;
	vv_mkdir_p(dir);
	chmod(dir, 0555);
	snprintf(probe, sizeof(probe), "%s/probe", dir);
	fd = open(probe, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0) {
		/* running as root: permissions do not apply; use a folder the kernel refuses */
		close(fd);
		unlink(probe);
		fd = open("/sys/vv_probe", O_CREAT | O_WRONLY, 0644);
		if (fd >= 0) {
			close(fd);
			unlink("/sys/vv_probe");
			skip();
		}
		dir = "/sys";
	}
	snprintf(out, sizeof(out), "%s/vv_test_anim.mp4", dir);
	small_opts(&o);
	assert_int_equal(render_run(work, out, &o), VV_EIO);
	print_message("read-only folder: %s\n", vv_errmsg());
	assert_non_null(strstr(vv_errmsg(), "vv_test_anim.mp4"));
	assert_true(access(out, F_OK) != 0);
	snprintf(out, sizeof(out), "%s/vv_test_still.png", dir);
	assert_int_equal(render_still(work, -1, out, &o), VV_EIO);
	assert_true(access(out, F_OK) != 0);
	if (strcmp(dir, "/sys"))
		assert_int_equal(files_in(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mp4),
		cmocka_unit_test(test_gif),
		cmocka_unit_test(test_webm),
		cmocka_unit_test(test_png_frames),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_readonly_output),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
