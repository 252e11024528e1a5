/* cli_run.c - `vitviz run`: the whole pipeline in one command.
 *
 *   checkpoints + images --embed--> WORK --analyze--> WORK --render--> video
 *
 * Every stage reuses what WORK already holds when it is still current, so
 * adding checkpoints to a run recomputes only the new ones.
 */
#include "cli/cli.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "embed/embed_merge.h"

#include <stdlib.h>
#include <string.h>

enum { O_OUT, O_WORK, O_HTML };

typedef struct run_opts {
	const char *out;  /* video */
	const char *work; /* work folder, default "<out stem>-work" beside it */
	const char *html; /* interactive page to write too, or NULL */
} run_opts;

static int
run_apply(void *ctx, int id, const char *arg)
{
	run_opts *r = ctx;

	if (id == O_OUT)
		r->out = arg;
	else if (id == O_HTML)
		r->html = arg;
	else
		r->work = arg;
	return 0;
}

static const cli_opt run_table[] = {
	{ "output", 'o', "OUT", "video to write: .mp4, .gif or .webm (required)", O_OUT },
	{ "work", 'w', "DIR", "work folder (default: OUT without extension + \"-work\")", O_WORK },
	{ "html", 0, "FILE.html", "also write the interactive page (see vitviz html)", O_HTML },
	{ NULL, 0, NULL, NULL, 0 },
};

/* "dir/demo.mp4" -> "dir/demo-work" */
static char *
default_work(const char *out)
{
	const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
	size_t n = dot && (!slash || dot > slash) ? (size_t)(dot - out) : strlen(out);
	char *w = malloc(n + sizeof("-work"));

	if (w) {
		memcpy(w, out, n);
		memcpy(w + n, "-work", sizeof("-work"));
	}
	return w;
}

int
cli_run(int argc, char **argv)
{
	embed_stage_opts eo;
	analysis_opts ao;
	render_opts ro;
	run_opts r = { 0 };
	cli_group g[4];
	char **pos = calloc((size_t)argc + 1, sizeof(char *)), *work = NULL;
	int npos, rc, err;

	embed_stage_opts_default(&eo);
	analysis_opts_default(&ao);
	cli_render_opts_default(&ro);
	g[0] = (cli_group){ "Output", run_table, run_apply, &r };
	g[1] = cli_embed_group(&eo);
	g[2] = cli_analyze_group(&ao);
	g[3] = cli_render_group(&ro);
	rc = cli_parsed(cli_parse(argc, argv, g, 4,
				  "usage: vitviz run RUN --data DATA -o OUT.{mp4,gif,webm} [--work DIR] [options]\n\n"
				  "Embed, analyse and render a fine-tuning run in one go.", pos, &npos));
	if (rc >= 0)
		goto out;
	if (npos != 1 || !eo.data || !r.out) {
		rc = cli_fail(vv_error(VV_EINVAL, "run: expected RUN, --data DATA and -o OUT (see vitviz run --help)"));
		goto out;
	}
	work = r.work ? strdup(r.work) : default_work(r.out);
	if (!work) {
		rc = cli_fail(vv_error(VV_ENOMEM, "out of memory"));
		goto out;
	}
	eo.run = pos[0];
	eo.workdir = work;

	/* the outputs' names and folders before the expensive work, not after */
	if ((err = cli_check_video(r.out, ro.frames_dir)) || (!vv_is_dir(work) && (err = cli_check_out_parent(work)))) {
		rc = cli_fail(err);
		goto out;
	}
	if ((err = cli_shard_resolve(&eo))) {
		rc = cli_fail(err);
		goto out;
	}
	vv_info("[1/3] embed");
	err = embed_stage_run(&eo);
	if (!err && eo.shard.count) {
		int merged = 0;

		/* the shard that completes the set merges, analyzes and renders */
		err = cli_shard_merge(work, &merged);
		if (!err && !merged) {
			vv_info("shard %d/%d done; the last shard to finish merges, analyzes and renders",
				eo.shard.index, eo.shard.count);
			rc = 0;
			goto out;
		}
	} else if (!err) {
		err = embed_merge(work, &(embed_merge_opts){ 0 }, NULL);
	}
	if (!err) {
		vv_info("[2/3] analyze");
		err = analysis_run(work, &ao);
	}
	if (!err) {
		vv_info("[3/3] render");
		err = render_run(work, r.out, &ro);
	}
	if (!err && r.html) {
		render_html_opts ho;

		render_html_opts_default(&ho);
		cli_html_thumbs(&ho);
		ho.theme = ro.theme;
		ho.title = ro.title;
		vv_info("[+] html");
		err = render_html_write(work, r.html, &ho);
	}
	if (!err)
		vv_info("wrote %s (work folder %s)", r.out, work);
	rc = cli_fail(err);
out:
	free(work);
	free(pos);
	return rc;
}
