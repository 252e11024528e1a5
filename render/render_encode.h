/*
 * render_encode.h - frames (cairo ARGB32 surfaces) to a video file through
 * libavcodec/libavformat: MP4 (H.264, libx264), WebM (VP9, libvpx-vp9) and
 * animated GIF (PAL8 with a palette built from the theme and class colours);
 * and single PNG files.  Everything is written to a temporary file beside
 * the destination and renamed when complete.
 */
#ifndef RENDER_ENCODE_H
#define RENDER_ENCODE_H

#include <cairo.h>
#include <stdint.h>

typedef enum render_format {
	RENDER_FMT_MP4 = 0,  /* .mp4: H.264 yuv420p, BT.709 */
	RENDER_FMT_GIF = 1,  /* .gif: PAL8, loops forever */
	RENDER_FMT_WEBM = 2, /* .webm: VP9 yuv420p, BT.709 */
} render_format;

/* Highest frame rate used for GIF (delays are whole centiseconds). */
#define RENDER_GIF_MAX_FPS 25

/* The format named by the path's extension (any case); else VV_EINVAL. */
int render_format_from_path(const char *path, render_format *fmt);

/*
 * The frame rate actually encoded for `fps`: unchanged for video; for GIF
 * the largest of 25, 20, 10, 5, 4, 2, 1 not above fps (100/rate must be a
 * whole number of centiseconds for the duration to come out right).
 */
int render_format_fps(render_format fmt, int fps);

typedef struct render_encode_opts {
	int width, height;      /* frame size, even, 16..8192 */
	int fps;                /* frames per second (as render_format_fps gives) */
	int crf;                /* H.264 / VP9 constant-rate factor */
	const char *preset;     /* libx264 preset ("medium") */
	const uint32_t *colors; /* GIF palette seeds 0xRRGGBB; colors[0] is the background */
	int ncolors;            /* entries in colors */
} render_encode_opts;

typedef struct render_encoder render_encoder;

/*
 * Open an encoder writing `path` in format `fmt`.  A missing encoder, an
 * option the encoder rejects or does not know, or an output that cannot be
 * created are errors naming the file; nothing is left behind.
 */
int render_encoder_open(render_encoder **pe, const char *path, render_format fmt,
			const render_encode_opts *o);

/*
 * Encode one frame (an ARGB32 surface of the opened size).  The pixels are
 * converted before the call returns; encoding and muxing run on the
 * encoder's own thread, overlapping the caller's drawing of the next frame.
 * An error of that thread is returned by a later call.
 */
int render_encoder_write(render_encoder *e, cairo_surface_t *frame);

/* Encode the last written frame once more (a held frame: no conversion). */
int render_encoder_repeat(render_encoder *e);

/*
 * Flush the encoder, write the trailer and rename the file into place.
 * Frees *pe (also on failure, then removing the temporary file).
 */
int render_encoder_finish(render_encoder **pe);

/* Drop everything, remove the temporary file, free *pe (NULL-safe). */
void render_encoder_abort(render_encoder **pe);

/* Write a surface as PNG to `path` (temporary file + rename). */
int render_png_write(cairo_surface_t *s, const char *path);

#endif
