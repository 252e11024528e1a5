/* main.c - the vitviz command: global options and subcommand dispatch. */
#include "cli/cli.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "common/vv_thread.h"
#include "common/vv_version.h"
#include "embed/models/embed_blas.h"
#include "embed/models/embed_kernels.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct command {
	const char *name;              /* subcommand */
	int (*fn)(int argc, char **argv);
	const char *help;              /* one line for `vitviz --help` */
} commands[] = {
	{ "run", cli_run, "embed + analyze + render in one go: RUN --data DATA -o OUT.mp4" },
	{ "embed", cli_embed, "embed the images at every checkpoint: RUN --data DATA -o WORK" },
	{ "merge", cli_merge, "assemble the parts of sharded embed runs: WORK" },
	{ "analyze", cli_analyze, "PCA, alignment, outlier scores, loss curve: WORK" },
	{ "render", cli_render, "draw the animation: WORK -o OUT.{mp4,gif,webm}" },
	{ "frame", cli_frame, "draw one checkpoint as a PNG: WORK -o FRAME.png" },
	{ "html", cli_html, "interactive offline HTML page of the run: WORK -o FILE.html" },
	{ "report", cli_report, "outlier report as CSV: WORK [--top N] [-o FILE.csv]" },
	{ "info", cli_info, "what vitviz finds in a run folder: RUN" },
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: vitviz [--quiet|--verbose] COMMAND [options]\n\n"
		"Show how a Vision Transformer changes while it is fine-tuned.\n\nCommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(fp, "\n`vitviz COMMAND --help` lists a command's options.\n\n"
		"Exit status: 0 success, 1 internal or resource error, 2 bad command line,\n"
		"3 bad, missing or unreadable input files, 4 outputs could not be written.\n");
}

int
main(int argc, char **argv)
{
	size_t i;
	int a = 1;

	/* first: may re-exec with the AVX-512 kernels (see embed_blas.h) */
	embed_blas_select_kernels(argc, argv);
	/* vitviz's own workers, OpenBLAS single-threaded (see vv_thread.h):
	 * every command's output is the same for any thread count */
	vv_threads_set(0);
	/* a file size limit (ulimit -f) fails the write with EFBIG, reported and
	 * cleaned up like a full disk, instead of killing the process */
	signal(SIGXFSZ, SIG_IGN);
	/* global flags before the command */
	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--version")) {
			printf("vitviz %s (%s)\n", VV_VERSION, embed_blas_describe());
			return VV_EXIT_OK;
		} else if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
			usage(stdout);
			return VV_EXIT_OK;
		} else if (!strcmp(argv[a], "--quiet") || !strcmp(argv[a], "-q")) {
			vv_verbosity = 0;
		} else if (!strcmp(argv[a], "--verbose") || !strcmp(argv[a], "-v")) {
			vv_verbosity = 2;
		} else {
			fprintf(stderr, "vitviz: unknown option %s (try vitviz --help)\n", argv[a]);
			return VV_EXIT_USAGE;
		}
	}
	if (a >= argc) {
		usage(stderr);
		return VV_EXIT_USAGE;
	}
	vv_debug("BLAS: %s; element-wise kernels: %s", embed_blas_describe(),
		 embed_kernels_name(embed_kernels_level()));
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[a], commands[i].name))
			return commands[i].fn(argc - a, argv + a);
	fprintf(stderr, "vitviz: unknown command \"%s\" (try vitviz --help)\n", argv[a]);
	return VV_EXIT_USAGE;
}
