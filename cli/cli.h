/*
 * cli.h - the vitviz subcommands.  Each takes its own argv (argv[0] is the
 * subcommand name) and returns the process exit code.
 */
#ifndef CLI_H
#define CLI_H

#include "cli/cli_opts.h"
#include "analysis/analysis_report.h"
#include "analysis/analysis_run.h"
#include "embed/embed_stage.h"
#include "render/render_html.h"
#include "render/render_run.h"

int cli_run(int argc, char **argv);
int cli_embed(int argc, char **argv);
int cli_analyze(int argc, char **argv);
int cli_render(int argc, char **argv);
int cli_frame(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_html(int argc, char **argv);
int cli_merge(int argc, char **argv);

/* Set the thumbnail loader of the HTML viewer (embed/'s dataset reader). */
void cli_html_thumbs(render_html_opts *o);

/* The option groups of each stage, shared by its command and `run`. */
cli_group cli_embed_group(embed_stage_opts *o);
cli_group cli_analyze_group(analysis_opts *o);
cli_group cli_render_group(render_opts *o);
/* The rendering options that apply to one still (`frame`). */
cli_group cli_frame_group(render_opts *o);

/*
 * Checks of an output path made before any work: its folder must exist
 * and be writable (vitviz creates no missing folders for -o; VV_EIO, exit
 * 4); a still must be named .png (VV_EINVAL); a video .mp4, .gif or .webm
 * (VV_EINVAL), with `frames_dir` (or NULL) under an existing folder too.
 */
int cli_check_out_parent(const char *path);
int cli_check_png(const char *path);
int cli_check_video(const char *path, const char *frames_dir);

/*
 * render_opts_default() plus what only cli/ may wire in: thumbnails are
 * loaded from the data set by embed/'s loader.
 */
void cli_render_opts_default(render_opts *o);

/*
 * The shard of an embed command: --shard when given, else the launcher's
 * environment (embed_shard_resolve()); says which at --verbose.  0 or
 * VV_EINVAL.
 */
int cli_shard_resolve(embed_stage_opts *o);

/*
 * After a sharded embed: merge when every part is there (embed_merge()'s
 * if-complete mode).  *merged (may be NULL) is 1 when the outputs are
 * assembled (now, by this process) so that later stages may run here.
 */
int cli_shard_merge(const char *workdir, int *merged);

/*
 * Print "vitviz: <message>" for a failed call and return the exit code
 * (VV_EXIT_*).  Returns 0 for err == 0.
 */
int cli_fail(int err);

/* Exit code for cli_parse()'s result (help: 0, error: usage), or -1 to go on. */
int cli_parsed(int rc);

#endif
