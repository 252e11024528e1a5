/*
 * cli_opts.h - a small table-driven command-line parser shared by the
 * subcommands, so `vitviz run` accepts the union of the stage options.
 */
#ifndef CLI_OPTS_H
#define CLI_OPTS_H

#include <stdint.h>
#include <stdio.h>

typedef struct cli_opt {
	const char *name;  /* long name without the dashes; NULL ends a table */
	char short_name;   /* one-letter alias or 0 */
	const char *arg;   /* metavariable shown in help; NULL for a flag */
	const char *help;  /* one line of help */
	int id;            /* passed to the handler */
} cli_opt;

/* Apply option `id` (with its argument or NULL) to ctx; 0 or VV_EINVAL. */
typedef int (*cli_handler)(void *ctx, int id, const char *arg);

/* One group of options and the handler that applies them. */
typedef struct cli_group {
	const char *title;     /* "Embedding options" */
	const cli_opt *opts;   /* table ending with a NULL name */
	cli_handler apply;     /* handler for this table's ids */
	void *ctx;             /* handler context */
} cli_group;

/* Ids of the options every command has. */
enum { CLI_HELP = -1, CLI_QUIET = -2, CLI_VERBOSE = -3 };

/*
 * Parse argv[1..argc-1] (argv[0] is the command name): "--name value",
 * "--name=value", "-x value", flags, "--" ending options; everything else
 * is positional (collected into pos, which must hold argc entries; a NULL
 * pos, a failed allocation of the caller, is VV_ENOMEM).
 * --quiet/--verbose set vv_verbosity.  Returns 0, 1 when --help was given
 * (help already printed to stdout), or VV_EINVAL with the message set.
 */
int cli_parse(int argc, char **argv, const cli_group *groups, int ngroups,
	      const char *usage, char **pos, int *npos);

/* Print usage and every group's options. */
void cli_help(FILE *fp, const char *usage, const cli_group *groups, int ngroups);

/* Parse an integer in [min, max] for option `name`. */
int cli_int(const char *name, const char *arg, long long min, long long max, long long *out);

/* Parse a finite number in [min, max] for option `name`. */
int cli_double(const char *name, const char *arg, double min, double max, double *out);

/* Parse "last" (-1) or a non-negative step number. */
int cli_step(const char *name, const char *arg, int64_t *out);

#endif
