/* cli_merge.c - `vitviz merge WORK` and the shard plumbing of embed/run. */
#include "cli/cli.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "embed/embed_merge.h"

#include <stdlib.h>

int
cli_shard_resolve(embed_stage_opts *o)
{
	int err;

	if (o->shard.source[0]) /* --shard given */
		return 0;
	if ((err = embed_shard_resolve(NULL, &o->shard)))
		return err;
	if (o->shard.count)
		vv_debug("shard %d/%d from %s", o->shard.index, o->shard.count, o->shard.source);
	else
		vv_debug("not sharded (no --shard, no launcher rank in the environment)");
	return 0;
}

int
cli_shard_merge(const char *workdir, int *merged)
{
	embed_merge_opts mo = { .if_complete = 1 };
	int state = EMBED_MERGE_NONE, err;

	err = embed_merge(workdir, &mo, &state);
	if (merged)
		*merged = !err && state == EMBED_MERGE_DONE;
	return err;
}

enum { M_IF_COMPLETE, M_WAIT };

static int
merge_apply(void *ctx, int id, const char *arg)
{
	embed_merge_opts *o = ctx;
	long long v;
	int err = 0;

	if (id == M_IF_COMPLETE)
		o->if_complete = 1;
	else if (!(err = cli_int("wait", arg, 1, 86400, &v)))
		o->wait_s = (int)v;
	return err;
}

static const cli_opt merge_opts[] = {
	{ "if-complete", 0, NULL, "missing parts are not an error: merge only when all are there (exit 0)", M_IF_COMPLETE },
	{ "wait", 0, "S", "seconds to wait for another merging process (default 600)", M_WAIT },
	{ NULL, 0, NULL, NULL, 0 },
};

int
cli_merge(int argc, char **argv)
{
	embed_merge_opts o = { 0 };
	cli_group g[1] = { { "Merge options", merge_opts, merge_apply, &o } };
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int npos, rc, state = EMBED_MERGE_NONE;

	rc = cli_parsed(cli_parse(argc, argv, g, 1,
				  "usage: vitviz merge WORK [--if-complete] [--wait S]\n\n"
				  "Check that the shards' parts cover every row of every checkpoint exactly once,\n"
				  "assemble embeddings/ and logits/ and update manifest.json.  Idempotent; safe to\n"
				  "run from every shard at its end (the last to finish assembles).", pos, &npos));
	if (rc >= 0)
		goto out;
	if (npos != 1) {
		rc = cli_fail(vv_error(VV_EINVAL, "merge: expected one WORK folder (see vitviz merge --help)"));
		goto out;
	}
	rc = cli_fail(embed_merge(pos[0], &o, &state));
	if (!rc && state == EMBED_MERGE_NONE)
		rc = cli_fail(vv_error(VV_ENOTFOUND, "%s: no parts to merge and no manifest.json (run vitviz embed "
				       "--shard I/N first)", pos[0]));
	else if (!rc && state == EMBED_MERGE_ALREADY)
		vv_info("merge: %s holds no parts; its outputs are merged", pos[0]);
out:
	free(pos);
	return rc;
}
