/*
 * render_run.h - the `render` stage: a work folder (manifest.json,
 * samples.csv, coords.npy, analysis.json, loss.csv) becomes an animation of
 * the fine-tuning (MP4, GIF or WebM by the output's extension, optionally
 * PNG frames too) or one still PNG.
 */
#ifndef RENDER_RUN_H
#define RENDER_RUN_H

#include <stdint.h>

#include "render/render_palette.h"
#include "render/render_thumbs.h"

/* What the thumbnail column shows. */
enum {
	RENDER_TOP_OUTLIERS = 0,     /* the current checkpoint's top outliers (default) */
	RENDER_TOP_LABEL_ISSUES = 1, /* the run's top label issues (dynamics.npy), given label -> usual prediction */
};

/* Text size factor of the classroom preset. */
#define RENDER_CLASSROOM_TEXT 1.3

typedef struct render_opts {
	int width, height;             /* frame size in pixels, even, 16..8192 (1920x1080) */
	int fps;                       /* frames per second (30; GIF uses at most 25) */
	double seconds_per_checkpoint; /* time each checkpoint gets, motion included (1.0) */
	double hold_seconds;           /* hold on the final frame (2.0) */
	int crf;                       /* H.264/VP9 quality, lower is better (20) */
	const char *preset;            /* libx264 preset ("medium"; --x264-preset) */
	int theme;                     /* RENDER_THEME_LIGHT or RENDER_THEME_DARK */
	const char *title;             /* title text, kept in <work>/render.json for later
					* renders; NULL: the kept one, else "ViT fine-tuning
					* · <run name>" */
	const char *frames_dir;        /* also write frame_000001.png ... here; NULL: no */
	int top;                       /* outliers shown, 0..8 (8) */
	int top_kind;                  /* RENDER_TOP_OUTLIERS (each checkpoint's) or RENDER_TOP_LABEL_ISSUES (the run's) */
	int data_map;                  /* 1: a still is the data map; a video ends on it (render_datamap.h) */
	int loss_log;                  /* 1: logarithmic loss axis (0) */
	int classroom;                 /* 1: the classroom preset: text RENDER_CLASSROOM_TEXT
					* times larger, thicker points (the command line
					* also makes it 2 s per checkpoint) */
	int spc_given;                 /* 1: seconds_per_checkpoint came from the user
					* (a preset does not change it) */
	render_thumb_load_fn thumb_load; /* thumbnail decoder (cli/ passes
					  * embed_dataset_load_path); NULL: placeholders */
	render_thumb_free_fn thumb_free; /* frees what thumb_load returned; NULL: embed_image_free */
} render_opts;

/* Fill *o with the defaults above. */
void render_opts_default(render_opts *o);

/* Parse "WxH" (also "W*H"): even, 16..8192 each; else VV_EINVAL naming it. */
int render_parse_size(const char *s, int *w, int *h);

/*
 * Render the whole animation of `workdir` to `out_path` (.mp4, .gif, .webm;
 * may be NULL when o->frames_dir is set).  Progress (frames, fps, ETA) goes
 * to stderr.  The output appears only when complete.
 */
int render_run(const char *workdir, const char *out_path, const render_opts *o);

/*
 * Render the frame of the checkpoint with global step `checkpoint_step`
 * (-1: the last) as a PNG: the same picture the animation holds on at that
 * checkpoint.  An unknown step is VV_ENOTFOUND.  With o->data_map the PNG
 * is the run's data map instead (render_datamap.h).
 */
int render_still(const char *workdir, int64_t checkpoint_step, const char *png_path,
		 const render_opts *o);

#endif
