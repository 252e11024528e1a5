/* render_encode.c - MP4/WebM/GIF through libavcodec + libavformat, PNG via cairo. */
#include "render/render_encode.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Frames converted by the caller wait in a small queue for the encoding
 * thread (which runs the codec and the muxer), so that drawing the next
 * frame overlaps encoding this one.
 */
#define QUEUE_LEN 3

struct render_encoder {
	char *path;              /* destination */
	render_format fmt;       /* container and codec */
	int w, h;                /* frame size */
	int64_t next_pts;        /* pts of the next frame, codec time base */
	int pts_step;            /* pts increment per frame */
	vv_outfile *out;         /* temporary file, renamed on success */
	AVFormatContext *oc;     /* muxer */
	AVStream *st;            /* the video stream */
	AVCodecContext *cc;      /* encoder (used by the encoding thread only once started) */
	AVFrame *last;           /* the last converted frame (for repeats) */
	AVPacket *pkt;           /* output packet (encoding thread) */
	struct SwsContext *sws;  /* RGB32 -> yuv420p, BT.709 */
	uint32_t pal[256];       /* GIF palette, 0xAARRGGBB */
	uint8_t *lut;            /* GIF: RGB565 -> palette index */

	pthread_t thread;        /* the encoding thread */
	int sync;                /* lock and cond initialised */
	int started;             /* thread running */
	pthread_mutex_t lock;    /* guards everything below */
	pthread_cond_t cond;     /* queue changed, or an error/stop */
	AVFrame *queue[QUEUE_LEN]; /* frames waiting, oldest at qhead */
	int qhead, qlen;         /* ring position and fill */
	int eof;                 /* no more frames: flush and stop */
	int stop;                /* abort: stop without flushing */
	int done;                /* thread finished */
	int err;                 /* first error of the thread (VV_E*), 0 */
	char errmsg[512];        /* its message */
};

int
render_format_from_path(const char *path, render_format *fmt)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

	if (dot && (!slash || dot > slash)) {
		if (!strcasecmp(dot, ".mp4")) {
			*fmt = RENDER_FMT_MP4;
			return 0;
		}
		if (!strcasecmp(dot, ".gif")) {
			*fmt = RENDER_FMT_GIF;
			return 0;
		}
		if (!strcasecmp(dot, ".webm")) {
			*fmt = RENDER_FMT_WEBM;
			return 0;
		}
	}
	return vv_error(VV_EINVAL, "%s: unknown output type (use .mp4, .gif or .webm)", path);
}

int
render_format_fps(render_format fmt, int fps)
{
	static const int gif_rates[] = { 25, 20, 10, 5, 4, 2, 1 };

	if (fmt != RENDER_FMT_GIF)
		return fps;
	for (size_t i = 0; i < sizeof(gif_rates) / sizeof(gif_rates[0]); i++)
		if (gif_rates[i] <= fps)
			return gif_rates[i];
	return 1;
}

static int
av_fail(int code, const char *path, const char *what, int averr)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(averr, buf, sizeof(buf));
	return vv_error(code, "%s: %s: %s", path, what, buf);
}

/* ---- GIF palette ---------------------------------------------------------- */

static uint32_t
mix_rgb(uint32_t a, uint32_t b, double t)
{
	uint32_t out = 0xff000000u;

	for (int sh = 0; sh <= 16; sh += 8) {
		double ca = (a >> sh) & 255, cb = (b >> sh) & 255;

		out |= (uint32_t)(ca + (cb - ca) * t + 0.5) << sh;
	}
	return out;
}

static int
pal_add(uint32_t *pal, int n, uint32_t c)
{
	c |= 0xff000000u;
	for (int i = 0; i < n; i++)
		if (pal[i] == c)
			return n;
	if (n < 256)
		pal[n++] = c;
	return n;
}

/*
 * The seeds and their blends with the background (what anti-aliased and
 * translucent drawing produces), greys, then a colour cube for the
 * thumbnails; the RGB565 table maps every colour to its nearest entry.
 */
static int
gif_palette(render_encoder *e, const uint32_t *colors, int ncolors)
{
	static const double blends[] = { 0.85, 0.7, 0.5, 0.3, 0.15 };
	uint32_t bg = ncolors > 0 ? colors[0] : 0xffffff;
	int n = 0, nb;

	n = pal_add(e->pal, n, bg);
	for (int i = 1; i < ncolors; i++)
		n = pal_add(e->pal, n, colors[i]);
	/* blends of the first seeds (theme colours, the first classes) up to ~130 entries */
	nb = ncolors > 1 ? (130 - n) / (ncolors - 1) : 0;
	nb = nb > 5 ? 5 : nb < 0 ? 0 : nb;
	for (int i = 1; i < ncolors && n < 140; i++)
		for (int k = 0; k < nb; k++)
			n = pal_add(e->pal, n, mix_rgb(bg, colors[i], blends[k]));
	for (int r = 0; r < 5 && n < 256; r++)
		for (int g = 0; g < 6 && n < 256; g++)
			for (int b = 0; b < 4 && n < 256; b++)
				n = pal_add(e->pal, n, (uint32_t)(r * 255 / 4) << 16 | (uint32_t)(g * 51) << 8 |
						       (uint32_t)(b * 85));
	for (int i = n; i < 256; i++)
		e->pal[i] = 0xff000000u;
	e->lut = malloc(65536);
	if (!e->lut)
		return vv_error(VV_ENOMEM, "out of memory");
	for (int v = 0; v < 65536; v++) {
		int r = ((v >> 11) & 31) * 255 / 31, g = ((v >> 5) & 63) * 255 / 63, b = (v & 31) * 255 / 31;
		int best = 0, bestd = 1 << 30;

		for (int i = 0; i < n; i++) {
			int dr = r - (int)((e->pal[i] >> 16) & 255), dg = g - (int)((e->pal[i] >> 8) & 255),
			    db = b - (int)(e->pal[i] & 255);
			int d = 3 * dr * dr + 4 * dg * dg + 2 * db * db;

			if (d < bestd) {
				bestd = d;
				best = i;
			}
		}
		e->lut[v] = (uint8_t)best;
	}
	return 0;
}

static void
gif_map(const render_encoder *e, const uint8_t *src, int stride, AVFrame *f)
{
	for (int y = 0; y < e->h; y++) {
		const uint32_t *s = (const uint32_t *)(src + (size_t)y * stride);
		uint8_t *d = f->data[0] + (size_t)y * f->linesize[0];

		for (int x = 0; x < e->w; x++) {
			uint32_t p = s[x];

			d[x] = e->lut[((p >> 8) & 0xf800) | ((p >> 5) & 0x07e0) | ((p >> 3) & 0x001f)];
		}
	}
	memcpy(f->data[1], e->pal, sizeof(e->pal));
}

static void *encode_thread(void *arg);

/* ---- opening ---------------------------------------------------------------- */

/* Fail when an options dictionary still holds keys nobody consumed. */
static int
check_consumed(const char *path, const char *who, AVDictionary *d)
{
	const AVDictionaryEntry *t = av_dict_get(d, "", NULL, AV_DICT_IGNORE_SUFFIX);

	if (t)
		return vv_error(VV_EUNSUPPORTED, "%s: %s does not understand option %s=%s", path, who, t->key,
				t->value);
	return 0;
}

static int
open_codec(render_encoder *e, const render_encode_opts *o)
{
	const char *name = e->fmt == RENDER_FMT_MP4 ? "libx264" : e->fmt == RENDER_FMT_WEBM ? "libvpx-vp9" : "gif";
	const AVCodec *codec = avcodec_find_encoder_by_name(name);
	AVDictionary *d = NULL;
	char num[32];
	int ret, err;

	if (!codec)
		return vv_error(VV_EUNSUPPORTED, "%s: this FFmpeg has no %s encoder", e->path, name);
	e->cc = avcodec_alloc_context3(codec);
	if (!e->cc)
		return vv_error(VV_ENOMEM, "out of memory");
	e->cc->width = e->w;
	e->cc->height = e->h;
	e->cc->framerate = (AVRational){ o->fps, 1 };
	if (e->fmt == RENDER_FMT_GIF) {
		e->cc->time_base = (AVRational){ 1, 100 };
		e->pts_step = 100 / o->fps;
		e->cc->pix_fmt = AV_PIX_FMT_PAL8;
	} else {
		e->cc->time_base = (AVRational){ 1, o->fps };
		e->pts_step = 1;
		e->cc->pix_fmt = AV_PIX_FMT_YUV420P;
		e->cc->color_primaries = AVCOL_PRI_BT709;
		e->cc->color_trc = AVCOL_TRC_BT709;
		e->cc->colorspace = AVCOL_SPC_BT709;
		e->cc->color_range = AVCOL_RANGE_MPEG;
		e->cc->gop_size = 10 * o->fps;
		snprintf(num, sizeof(num), "%d", o->crf);
		av_dict_set(&d, "crf", num, 0);
		if (e->fmt == RENDER_FMT_MP4) {
			av_dict_set(&d, "preset", o->preset ? o->preset : "medium", 0);
		} else {
			e->cc->bit_rate = 0; /* constant quality */
			av_dict_set(&d, "deadline", "good", 0);
			av_dict_set(&d, "cpu-used", "4", 0);
			av_dict_set(&d, "row-mt", "1", 0);
		}
	}
	if (e->oc->oformat->flags & AVFMT_GLOBALHEADER)
		e->cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	ret = avcodec_open2(e->cc, codec, &d);
	if (ret < 0) {
		err = av_fail(VV_EUNSUPPORTED, e->path, name, ret);
		if (o->preset && e->fmt == RENDER_FMT_MP4)
			vv_error_prefix("preset \"%s\", crf %d", o->preset, o->crf);
		av_dict_free(&d);
		return err;
	}
	err = check_consumed(e->path, name, d);
	av_dict_free(&d);
	if (err)
		return err;
	ret = avcodec_parameters_from_context(e->st->codecpar, e->cc);
	if (ret < 0)
		return av_fail(VV_ENOMEM, e->path, "codec parameters", ret);
	e->st->time_base = e->cc->time_base;
	e->st->avg_frame_rate = (AVRational){ o->fps, 1 };
	return 0;
}

static int
open_frame(render_encoder *e)
{
	e->pkt = av_packet_alloc();
	if (!e->pkt)
		return vv_error(VV_ENOMEM, "out of memory");
	if (e->fmt == RENDER_FMT_GIF)
		return 0;
	e->sws = sws_getContext(e->w, e->h, AV_PIX_FMT_RGB32, e->w, e->h, AV_PIX_FMT_YUV420P,
				SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
	if (!e->sws)
		return vv_error(VV_ENOMEM, "%s: cannot set up the colour conversion", e->path);
	/* RGB (full range) to BT.709 limited-range YUV, matching the stream's tags */
	sws_setColorspaceDetails(e->sws, sws_getCoefficients(SWS_CS_ITU709), 1,
				 sws_getCoefficients(SWS_CS_ITU709), 0, 0, 1 << 16, 1 << 16);
	return 0;
}

int
render_encoder_open(render_encoder **pe, const char *path, render_format fmt,
		    const render_encode_opts *o)
{
	static const char *const muxers[] = { "mp4", "gif", "webm" };
	AVDictionary *mo = NULL;
	render_encoder *e;
	int ret, err;

	*pe = NULL;
	if (o->width < 16 || o->height < 16 || o->width > 8192 || o->height > 8192 || (o->width & 1) ||
	    (o->height & 1))
		return vv_error(VV_EINVAL, "%s: frame size %dx%d must be even and within 16..8192", path, o->width,
				o->height);
	if (o->fps < 1 || o->fps > 240 || (fmt == RENDER_FMT_GIF && 100 % o->fps))
		return vv_error(VV_EINVAL, "%s: unsupported frame rate %d", path, o->fps);
	if (fmt != RENDER_FMT_GIF && (o->crf < 0 || o->crf > 51))
		return vv_error(VV_EINVAL, "%s: crf %d outside 0..51", path, o->crf);
	/* libav's own messages only with --verbose; failures come back as errors */
	av_log_set_level(vv_verbosity >= 2 ? AV_LOG_INFO : AV_LOG_ERROR);
	e = calloc(1, sizeof(*e));
	if (!e)
		return vv_error(VV_ENOMEM, "out of memory");
	e->fmt = fmt;
	e->w = o->width;
	e->h = o->height;
	e->path = vv_strdup(path);
	if (!e->path) {
		free(e);
		return VV_ENOMEM;
	}
	if ((err = vv_outfile_open(&e->out, path)))
		goto out_abort;
	ret = avformat_alloc_output_context2(&e->oc, NULL, muxers[fmt], e->out->tmp);
	if (ret < 0 || !e->oc) {
		err = av_fail(VV_EUNSUPPORTED, path, "no muxer", ret);
		goto out_abort;
	}
	e->st = avformat_new_stream(e->oc, NULL);
	if (!e->st) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_abort;
	}
	if ((err = open_codec(e, o)) || (err = open_frame(e)))
		goto out_abort;
	if (fmt == RENDER_FMT_GIF && (err = gif_palette(e, o->colors, o->ncolors)))
		goto out_abort;
	ret = avio_open(&e->oc->pb, e->out->tmp, AVIO_FLAG_WRITE);
	if (ret < 0) {
		err = av_fail(VV_EIO, path, "cannot write", ret);
		goto out_abort;
	}
	if (fmt == RENDER_FMT_MP4)
		av_dict_set(&mo, "movflags", "+faststart", 0);
	else if (fmt == RENDER_FMT_GIF)
		av_dict_set(&mo, "loop", "0", 0);
	ret = avformat_write_header(e->oc, &mo);
	if (ret < 0) {
		av_dict_free(&mo);
		err = av_fail(VV_EIO, path, "cannot write the header", ret);
		goto out_abort;
	}
	err = check_consumed(path, muxers[fmt], mo);
	av_dict_free(&mo);
	if (err)
		goto out_abort;
	if (pthread_mutex_init(&e->lock, NULL)) {
		err = vv_error(VV_ENOMEM, "%s: cannot create a lock", path);
		goto out_abort;
	}
	if (pthread_cond_init(&e->cond, NULL)) {
		pthread_mutex_destroy(&e->lock);
		err = vv_error(VV_ENOMEM, "%s: cannot create a condition variable", path);
		goto out_abort;
	}
	e->sync = 1;
	if (pthread_create(&e->thread, NULL, encode_thread, e)) {
		err = vv_error(VV_ENOMEM, "%s: cannot start the encoding thread", path);
		goto out_abort;
	}
	e->started = 1;
	*pe = e;
	return 0;

out_abort:
	render_encoder_abort(&e);
	return err;
}

/* ---- the encoding thread ---------------------------------------------------------- */

static int
drain(render_encoder *e)
{
	for (;;) {
		int ret = avcodec_receive_packet(e->cc, e->pkt);

		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return av_fail(VV_EIO, e->path, "encoding failed", ret);
		if (e->pkt->duration <= 0)
			e->pkt->duration = e->pts_step;
		av_packet_rescale_ts(e->pkt, e->cc->time_base, e->st->time_base);
		e->pkt->stream_index = e->st->index;
		ret = av_interleaved_write_frame(e->oc, e->pkt);
		av_packet_unref(e->pkt);
		if (ret < 0)
			return av_fail(VV_EIO, e->path, "cannot write", ret);
	}
}

/* Encode queued frames until eof (then flush the codec) or stop. */
static void *
encode_thread(void *arg)
{
	render_encoder *e = arg;
	int err = 0, ret;

	for (;;) {
		AVFrame *f;

		pthread_mutex_lock(&e->lock);
		while (!e->qlen && !e->eof && !e->stop)
			pthread_cond_wait(&e->cond, &e->lock);
		if (e->stop || (!e->qlen && e->eof)) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		f = e->queue[e->qhead];
		e->qhead = (e->qhead + 1) % QUEUE_LEN;
		e->qlen--;
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);

		ret = avcodec_send_frame(e->cc, f);
		av_frame_free(&f);
		if (ret < 0)
			err = av_fail(VV_EIO, e->path, "encoding failed", ret);
		else
			err = drain(e);
		if (err)
			break;
	}
	if (!err && !e->stop) {
		ret = avcodec_send_frame(e->cc, NULL);
		err = ret < 0 ? av_fail(VV_EIO, e->path, "encoding failed", ret) : drain(e);
	}
	pthread_mutex_lock(&e->lock);
	if (err) {
		e->err = err;
		snprintf(e->errmsg, sizeof(e->errmsg), "%s", vv_errmsg());
	}
	e->done = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* Hand a frame (owned from now on) to the encoding thread; waits while the queue is full. */
static int
enqueue(render_encoder *e, AVFrame *f)
{
	int err;

	pthread_mutex_lock(&e->lock);
	while (e->qlen == QUEUE_LEN && !e->done)
		pthread_cond_wait(&e->cond, &e->lock);
	if (e->done) {
		err = e->err ? e->err : VV_EIO;
		vv_error(err, "%s", e->err ? e->errmsg : "encoder stopped");
		pthread_mutex_unlock(&e->lock);
		av_frame_free(&f);
		return err;
	}
	e->queue[(e->qhead + e->qlen) % QUEUE_LEN] = f;
	e->qlen++;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

static AVFrame *
new_frame(render_encoder *e)
{
	AVFrame *f = av_frame_alloc();

	if (!f)
		return NULL;
	f->format = e->cc->pix_fmt;
	f->width = e->w;
	f->height = e->h;
	if (e->fmt != RENDER_FMT_GIF) {
		f->color_primaries = AVCOL_PRI_BT709;
		f->color_trc = AVCOL_TRC_BT709;
		f->colorspace = AVCOL_SPC_BT709;
		f->color_range = AVCOL_RANGE_MPEG;
	}
	if (av_frame_get_buffer(f, 0) < 0)
		av_frame_free(&f);
	return f;
}

/* Queue a new reference to the last frame with the next timestamp. */
static int
queue_last(render_encoder *e)
{
	AVFrame *f = av_frame_clone(e->last);

	if (!f)
		return vv_error(VV_ENOMEM, "out of memory");
	f->pts = e->next_pts;
	e->next_pts += e->pts_step;
	return enqueue(e, f);
}

int
render_encoder_write(render_encoder *e, cairo_surface_t *frame)
{
	const uint8_t *data;
	AVFrame *f;
	int stride;

	if (cairo_image_surface_get_width(frame) != e->w || cairo_image_surface_get_height(frame) != e->h ||
	    cairo_image_surface_get_format(frame) != CAIRO_FORMAT_ARGB32)
		return vv_error(VV_EINVAL, "%s: frame is not a %dx%d ARGB32 surface", e->path, e->w, e->h);
	cairo_surface_flush(frame);
	data = cairo_image_surface_get_data(frame);
	stride = cairo_image_surface_get_stride(frame);
	/* a fresh buffer each time: the encoding thread may still read the last ones */
	f = new_frame(e);
	if (!f)
		return vv_error(VV_ENOMEM, "%s: out of memory for a frame", e->path);
	if (e->fmt == RENDER_FMT_GIF)
		gif_map(e, data, stride, f);
	else
		sws_scale(e->sws, (const uint8_t *const[]){ data }, (const int[]){ stride }, 0, e->h, f->data,
			  f->linesize);
	av_frame_free(&e->last);
	e->last = f;
	return queue_last(e);
}

int
render_encoder_repeat(render_encoder *e)
{
	if (!e->last)
		return vv_error(VV_EINVAL, "%s: no frame to repeat", e->path);
	return queue_last(e);
}

int
render_encoder_finish(render_encoder **pe)
{
	render_encoder *e = *pe;
	int ret, err;

	pthread_mutex_lock(&e->lock);
	e->eof = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	e->started = 0;
	if (e->err) {
		err = vv_error(e->err, "%s", e->errmsg);
		goto out_abort;
	}
	ret = av_write_trailer(e->oc);
	if (ret < 0) {
		err = av_fail(VV_EIO, e->path, "cannot finish the file", ret);
		goto out_abort;
	}
	ret = avio_closep(&e->oc->pb);
	if (ret < 0) {
		err = av_fail(VV_EIO, e->path, "cannot write", ret);
		goto out_abort;
	}
	if ((err = vv_outfile_commit(&e->out)))
		goto out_abort;
	render_encoder_abort(pe); /* frees what is left; the file is in place */
	return 0;

out_abort:
	render_encoder_abort(pe);
	return err;
}

void
render_encoder_abort(render_encoder **pe)
{
	render_encoder *e = *pe;

	if (!e)
		return;
	if (e->started) {
		pthread_mutex_lock(&e->lock);
		e->stop = 1;
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->thread, NULL);
	}
	if (e->sync) {
		for (int i = 0; i < e->qlen; i++)
			av_frame_free(&e->queue[(e->qhead + i) % QUEUE_LEN]);
		pthread_cond_destroy(&e->cond);
		pthread_mutex_destroy(&e->lock);
	}
	av_frame_free(&e->last);
	sws_freeContext(e->sws);
	av_packet_free(&e->pkt);
	avcodec_free_context(&e->cc);
	if (e->oc) {
		if (e->oc->pb)
			avio_closep(&e->oc->pb);
		avformat_free_context(e->oc);
	}
	vv_outfile_abort(&e->out);
	free(e->lut);
	free(e->path);
	free(e);
	*pe = NULL;
}

/* ---- PNG -------------------------------------------------------------------------- */

static cairo_status_t
png_write_fp(void *closure, const unsigned char *data, unsigned int len)
{
	return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int
render_png_write(cairo_surface_t *s, const char *path)
{
	vv_outfile *f;
	cairo_status_t st;
	int err = vv_outfile_open(&f, path);

	if (err)
		return err;
	st = cairo_surface_write_to_png_stream(s, png_write_fp, f->fp);
	if (st != CAIRO_STATUS_SUCCESS) {
		vv_outfile_abort(&f);
		return vv_error(VV_EIO, "%s: cannot write PNG: %s", path, cairo_status_to_string(st));
	}
	return vv_outfile_commit(&f);
}
