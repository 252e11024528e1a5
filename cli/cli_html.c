/* cli_html.c - `vitviz html`: the interactive viewer of an analysed work folder. */
#include "cli/cli.h"
#include "common/vv_error.h"
#include "embed/images/embed_dataset.h"

#include <stdlib.h>
#include <string.h>

enum { H_OUT, H_THEME, H_TITLE, H_MAX_POINTS, H_MAX_MB, H_THUMB };

typedef struct html_cmd {
	const char *out;        /* -o */
	render_html_opts *o;    /* the stage's options */
} html_cmd;

static const cli_opt html_table[] = {
	{ "output", 'o', "FILE.html", "page to write (required)", H_OUT },
	{ "theme", 0, "light|dark", "initial colour theme (default light; the page can switch)", H_THEME },
	{ "title", 0, "TEXT", "page title", H_TITLE },
	{ "max-points", 0, "N", "show an even subsample of at most N samples (default: all that fit --max-mb)",
	  H_MAX_POINTS },
	{ "max-mb", 0, "MB", "size budget of the file (default 50)", H_MAX_MB },
	{ "thumb-size", 0, "PX", "largest thumbnail side, 8..64, 0 for none (default 32)", H_THUMB },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
html_apply(void *ctx, int id, const char *arg)
{
	html_cmd *h = ctx;
	long long v;
	double mb;
	int err = 0;

	switch (id) {
	case H_OUT: h->out = arg; break;
	case H_THEME:
		if (!strcmp(arg, "light"))
			h->o->theme = RENDER_THEME_LIGHT;
		else if (!strcmp(arg, "dark"))
			h->o->theme = RENDER_THEME_DARK;
		else
			err = vv_error(VV_EINVAL, "--theme must be light or dark, not \"%s\"", arg);
		break;
	case H_TITLE: h->o->title = arg; break;
	case H_MAX_POINTS: err = cli_int("max-points", arg, 1, 1LL << 40, &v); h->o->max_points = v; break;
	case H_MAX_MB:
		err = cli_double("max-mb", arg, 0.1, 4000, &mb);
		h->o->max_bytes = (int64_t)(mb * 1e6);
		break;
	case H_THUMB:
		err = cli_int("thumb-size", arg, 0, 64, &v);
		if (!err && v && v < 8)
			err = vv_error(VV_EINVAL, "--thumb-size must be 0 or 8..64, not %lld", v);
		h->o->thumb_side = (int)v;
		break;
	}
	return err;
}

void
cli_html_thumbs(render_html_opts *o)
{
	o->thumb_load = embed_dataset_load_path;
	o->thumb_free = embed_image_free;
}

int
cli_html(int argc, char **argv)
{
	render_html_opts o;
	html_cmd h = { NULL, &o };
	cli_group g[1];
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int npos, rc;

	if (!pos)
		return cli_fail(vv_error(VV_ENOMEM, "out of memory"));
	render_html_opts_default(&o);
	cli_html_thumbs(&o);
	g[0] = (cli_group){ "Page options", html_table, html_apply, &h };
	rc = cli_parsed(cli_parse(argc, argv, g, 1,
				  "usage: vitviz html WORK -o FILE.html [options]\n\n"
				  "Write the analysed work folder as one self-contained HTML page to explore\n"
				  "in a browser, offline: hover for images, scrub checkpoints, select and export.",
				  pos, &npos));
	if (rc < 0 && npos != 1)
		rc = cli_fail(vv_error(VV_EINVAL, "html: expected one WORK folder (see vitviz html --help)"));
	else if (rc < 0 && !h.out)
		rc = cli_fail(vv_error(VV_EINVAL, "html: -o is required (see vitviz html --help)"));
	if (rc < 0)
		rc = cli_fail(render_html_write(pos[0], h.out, &o));
	free(pos);
	return rc;
}
