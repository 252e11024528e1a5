/* cli_stage_cmds.c - the single-stage commands: embed, analyze, render,
 * frame and report. */
#include "cli/cli.h"
#include "analysis/analysis_cartography.h"
#include "common/vv_error.h"
#include "embed/embed_merge.h"
#include "embed/embed_shard.h"

#include <stddef.h>
#include <stdlib.h>

/* Options owned by a command itself: where to write, which checkpoint. */
typedef struct cmd_opts {
	const char *out;    /* -o */
	int64_t step;       /* --checkpoint, -1 = last */
	long long top;      /* --top */
	int by;             /* report --by: ANALYSIS_REPORT_* */
	const char *cartography; /* report --cartography DIR */
} cmd_opts;

enum { C_OUT, C_CKPT, C_TOP, C_BY, C_CARTO };

static int
cmd_apply(void *ctx, int id, const char *arg)
{
	cmd_opts *c = ctx;

	switch (id) {
	case C_OUT: c->out = arg; return 0;
	case C_CKPT: return cli_step("checkpoint", arg, &c->step);
	case C_TOP: return cli_int("top", arg, 1, 1000000, &c->top);
	case C_BY: return analysis_report_parse_by(arg, &c->by);
	case C_CARTO: c->cartography = arg; return 0;
	}
	return 0;
}

static const cli_opt out_work[] = {
	{ "output", 'o', "WORK", "work folder to write (required)", C_OUT },
	{ NULL, 0, NULL, NULL, 0 },
};
static const cli_opt out_video[] = {
	{ "output", 'o', "OUT", "video to write: .mp4, .gif or .webm (required)", C_OUT },
	{ NULL, 0, NULL, NULL, 0 },
};
static const cli_opt frame_opts[] = {
	{ "output", 'o', "PNG", "image to write (required)", C_OUT },
	{ "checkpoint", 'c', "STEP|last", "checkpoint to draw (default last)", C_CKPT },
	{ NULL, 0, NULL, NULL, 0 },
};
static const cli_opt report_opts[] = {
	{ "output", 'o', "FILE", "write the CSV here instead of standard output", C_OUT },
	{ "checkpoint", 'c', "STEP|last", "checkpoint to report (default last)", C_CKPT },
	{ "top", 'n', "N", "number of outliers (default 8)", C_TOP },
	{ "by", 0, "outlier|label-issue|movement|persistent-outlier",
	  "rank by the checkpoint's outlier scores (default) or by the run's training dynamics", C_BY },
	{ "cartography", 0, "DIR", "instead: write DIR/dynamics_epoch_<i>.jsonl (Dataset Cartography's format)", C_CARTO },
	{ NULL, 0, NULL, NULL, 0 },
};

/* Parse, then require exactly `want` positionals and (if asked) -o. */
static int
parse(int argc, char **argv, cli_group *g, int ng, const char *usage,
      int want, const char *what, const cmd_opts *c, int need_out, char **pos)
{
	int npos, rc;

	rc = cli_parsed(cli_parse(argc, argv, g, ng, usage, pos, &npos));
	if (rc >= 0)
		return rc;
	if (npos != want)
		return cli_fail(vv_error(VV_EINVAL, "%s: expected %s (see vitviz %s --help)",
					 argv[0], what, argv[0]));
	if (need_out && !c->out)
		return cli_fail(vv_error(VV_EINVAL, "%s: -o is required (see vitviz %s --help)",
					 argv[0], argv[0]));
	return -1;
}

int
cli_embed(int argc, char **argv)
{
	embed_stage_opts o;
	cmd_opts c = { .step = -1 };
	cli_group g[2];
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int rc;

	embed_stage_opts_default(&o);
	g[0] = (cli_group){ "Output", out_work, cmd_apply, &c };
	g[1] = cli_embed_group(&o);
	rc = parse(argc, argv, g, 2, "usage: vitviz embed RUN --data DATA -o WORK [options]\n\n"
		   "Embed the images at every checkpoint of RUN (a training output folder or one checkpoint).",
		   1, "one RUN folder", &c, 1, pos);
	if (rc < 0 && !o.data)
		rc = cli_fail(vv_error(VV_EINVAL, "embed: --data is required"));
	if (rc < 0 && !(rc = cli_fail(cli_check_out_parent(c.out))) && !(rc = cli_fail(cli_shard_resolve(&o)))) {
		o.run = pos[0];
		o.workdir = c.out;
		rc = cli_fail(embed_stage_run(&o));
		if (!rc && o.shard.count)
			rc = cli_fail(cli_shard_merge(c.out, NULL));
	}
	free(pos);
	return rc;
}

/* analyze --shard I/N (its own: run's --shard is the embedding's). */
static const cli_opt analyze_shard_opts[] = {
	{ "shard", 0, "I/N", "analyse block I of N of the checkpoints into WORK/analysis/; the "
	  "shard that completes the set assembles the outputs", 0 },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
analyze_shard_apply(void *ctx, int id, const char *arg)
{
	analysis_opts *o = ctx;
	embed_shard sh;
	int err;

	(void)id;
	err = embed_shard_parse(arg, &sh);
	if (!err) {
		o->shard_index = sh.index;
		o->shard_count = sh.count;
	}
	return err;
}

int
cli_analyze(int argc, char **argv)
{
	analysis_opts o;
	cli_group g[2];
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int rc;

	analysis_opts_default(&o);
	g[0] = cli_analyze_group(&o);
	g[1] = (cli_group){ "Sharding", analyze_shard_opts, analyze_shard_apply, &o };
	rc = parse(argc, argv, g, 2, "usage: vitviz analyze WORK [--shard I/N] [options]\n\n"
		   "PCA, alignment, outlier scores and the loss curve for an embedded work folder.",
		   1, "one WORK folder", NULL, 0, pos);
	/* parts of sharded embed runs: merged first, or named when missing */
	if (rc < 0)
		rc = cli_fail(embed_merge(pos[0], &(embed_merge_opts){ 0 }, NULL));
	if (rc == 0)
		rc = cli_fail(analysis_run(pos[0], &o));
	free(pos);
	return rc;
}

/* render and frame share their options; a still draws one checkpoint. */
static int
render_cmd(int argc, char **argv, const cli_opt *out_opts, const char *usage, int still)
{
	render_opts o;
	cmd_opts c = { .step = -1 };
	cli_group g[2];
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int rc;

	cli_render_opts_default(&o);
	g[0] = (cli_group){ "Output", out_opts, cmd_apply, &c };
	/* a still lists only the options that apply to one picture */
	g[1] = still ? cli_frame_group(&o) : cli_render_group(&o);
	rc = parse(argc, argv, g, 2, usage, 1, "one WORK folder", &c, 1, pos);
	/* the output's name and folder before any work */
	if (rc < 0 && !(rc = cli_fail(still ? cli_check_png(c.out) : cli_check_video(c.out, o.frames_dir))))
		rc = cli_fail(still ? render_still(pos[0], c.step, c.out, &o)
				    : render_run(pos[0], c.out, &o));
	free(pos);
	return rc;
}

int
cli_render(int argc, char **argv)
{
	return render_cmd(argc, argv, out_video,
			  "usage: vitviz render WORK -o OUT.{mp4,gif,webm} [options]\n\n"
			  "Draw the analysed work folder as an animation.", 0);
}

int
cli_frame(int argc, char **argv)
{
	return render_cmd(argc, argv, frame_opts,
			  "usage: vitviz frame WORK [--checkpoint STEP|last] -o FRAME.png [options]\n\n"
			  "Draw one checkpoint as a still image (for slides and READMEs).", 1);
}

int
cli_report(int argc, char **argv)
{
	analysis_report_opts o;
	cmd_opts c = { .step = -1 };
	cli_group g[1];
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int rc;

	/* the defaults are analysis/'s; the options start from them */
	analysis_report_opts_default(&o);
	c.top = o.top;

	g[0] = (cli_group){ "Report options", report_opts, cmd_apply, &c };
	rc = parse(argc, argv, g, 1, "usage: vitviz report WORK [--top N] [--checkpoint STEP|last] [--by MODE] [-o FILE.csv]\n\n"
		   "The most atypical samples of one checkpoint as CSV, or (--by) the run's likely label issues,\n"
		   "the samples that moved most, or those most often among the outliers.",
		   1, "one WORK folder", &c, 0, pos);
	if (rc < 0) {
		o.top = (int)c.top;
		o.checkpoint_step = c.step;
		o.out_path = c.out;
		o.by = c.by;
		rc = cli_fail(c.out ? cli_check_out_parent(c.out) : 0);
		if (!rc)
			rc = cli_fail(c.cartography ? analysis_cartography_export(pos[0], c.cartography)
						    : analysis_report(pos[0], &o));
	}
	free(pos);
	return rc;
}
