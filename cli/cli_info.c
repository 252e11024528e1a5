/* cli_info.c - `vitviz info RUN`: what vitviz finds in a run folder. */
#include "cli/cli.h"
#include "common/vv_error.h"
#include "embed/embed_shard.h"
#include "embed/formats/embed_ckpt.h"
#include "embed/models/embed_describe.h"

#include <stdio.h>
#include <stdlib.h>

enum { I_ARCH, I_EMA, I_IMAGE_SIZE };

static const cli_opt info_opts[] = {
	{ "arch", 0, "NAME", "timm architecture (default: from the checkpoint or args.yaml)", I_ARCH },
	{ "ema", 0, NULL, "timm: describe the EMA weights", I_EMA },
	{ "image-size", 0, "N", "jeonsworld/ViT-pytorch: its train.py's --img_size (default 224)", I_IMAGE_SIZE },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
info_apply(void *ctx, int id, const char *arg)
{
	embed_ckpt_opts *o = ctx;
	long long v;
	int err = 0;

	if (id == I_ARCH)
		o->arch = arg;
	else if (id == I_IMAGE_SIZE) {
		err = cli_int("image-size", arg, 16, 8192, &v);
		o->image_size = (int)v;
	} else
		o->ema = 1;
	return err;
}

/* Which shard `vitviz embed` would be here, from the launcher's environment. */
static int
print_shard(void)
{
	embed_shard sh;
	int r = embed_shard_from_env(&sh);

	if (r < 0)
		return r;
	if (r == 0)
		printf("shard: none (no launcher rank in the environment; --shard I/N sets one)\n");
	else if (sh.count == 1)
		printf("shard: one task (%s = 0/1): an unsharded run\n", sh.source);
	else
		printf("shard: %d/%d from %s\n", sh.index, sh.count, sh.source);
	return 0;
}

int
cli_info(int argc, char **argv)
{
	embed_ckpt_opts co = { 0 };
	cli_group g[1] = { { "Options", info_opts, info_apply, &co } };
	embed_ckpt_list *l = NULL;
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int npos, rc;

	rc = cli_parsed(cli_parse(argc, argv, g, 1,
				  "usage: vitviz info RUN [--arch NAME] [--ema] [--image-size N]\n\nList the checkpoints, "
				  "formats, model and loss-curve source vitviz finds in RUN.", pos, &npos));
	if (rc >= 0)
		goto out;
	if (npos != 1) {
		rc = cli_fail(vv_error(VV_EINVAL, "info: expected one RUN folder"));
		goto out;
	}
	rc = cli_fail(embed_ckpt_discover_opts(pos[0], &co, &l));
	if (rc)
		goto out;
	printf("run: %s\n", pos[0]);
	rc = cli_fail(embed_describe(l, stdout));
	if (!rc)
		rc = cli_fail(print_shard());
out:
	embed_ckpt_list_free(&l);
	free(pos);
	return rc;
}
