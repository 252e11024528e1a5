/* cli_opts.c - table-driven option parsing. */
#include "cli/cli_opts.h"
#include "common/vv_error.h"
#include "common/vv_log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt common_opts[] = {
	{ "help", 'h', NULL, "show this help and exit", CLI_HELP },
	{ "quiet", 'q', NULL, "print errors only", CLI_QUIET },
	{ "verbose", 'v', NULL, "print more detail", CLI_VERBOSE },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
common_apply(void *ctx, int id, const char *arg)
{
	(void)ctx;
	(void)arg;
	if (id == CLI_QUIET)
		vv_verbosity = 0;
	else if (id == CLI_VERBOSE)
		vv_verbosity = 2;
	return 0;
}

/* Find an option by long name (len chars) or short letter. */
static const cli_opt *
find(const cli_group *groups, int ngroups, const char *name, size_t len, char sh,
     const cli_group **grp)
{
	static const cli_group common = { "", common_opts, common_apply, NULL };
	int g;

	for (g = -1; g < ngroups; g++) {
		const cli_group *gr = g < 0 ? &common : &groups[g];
		const cli_opt *o;

		for (o = gr->opts; o->name; o++) {
			if ((name && strlen(o->name) == len && !strncmp(o->name, name, len)) ||
			    (!name && sh && o->short_name == sh)) {
				*grp = gr;
				return o;
			}
		}
	}
	return NULL;
}

int
cli_parse(int argc, char **argv, const cli_group *groups, int ngroups,
	  const char *usage, char **pos, int *npos)
{
	int i, only_pos = 0, err;

	*npos = 0;
	/* the callers allocate pos just before: one check for all of them */
	if (!pos)
		return vv_error(VV_ENOMEM, "out of memory");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const cli_group *gr = NULL;
		const cli_opt *o;

		if (only_pos || a[0] != '-' || !a[1]) {
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			o = find(groups, ngroups, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2), 0, &gr);
			if (eq)
				val = eq + 1;
		} else {
			if (a[2])
				return vv_error(VV_EINVAL, "unknown option %s (try --help)", a);
			o = find(groups, ngroups, NULL, 0, a[1], &gr);
		}
		if (!o)
			return vv_error(VV_EINVAL, "unknown option %s (try --help)", a);
		if (o->id == CLI_HELP) {
			cli_help(stdout, usage, groups, ngroups);
			return 1;
		}
		if (o->arg && !val) {
			if (i + 1 >= argc)
				return vv_error(VV_EINVAL, "option --%s needs a value (%s)", o->name, o->arg);
			val = argv[++i];
		} else if (!o->arg && val) {
			return vv_error(VV_EINVAL, "option --%s takes no value", o->name);
		}
		err = gr->apply(gr->ctx, o->id, val);
		if (err)
			return err;
	}
	return 0;
}

static void
print_table(FILE *fp, const cli_opt *o)
{
	for (; o->name; o++) {
		char left[64];

		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(fp, "  %-34s %s\n", left, o->help);
	}
}

void
cli_help(FILE *fp, const char *usage, const cli_group *groups, int ngroups)
{
	int g;

	fprintf(fp, "%s\n", usage);
	for (g = 0; g < ngroups; g++) {
		fprintf(fp, "\n%s:\n", groups[g].title);
		print_table(fp, groups[g].opts);
	}
	fprintf(fp, "\nCommon options:\n");
	print_table(fp, common_opts);
}

int
cli_int(const char *name, const char *arg, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (end == arg || *end || errno || v < min || v > max)
		return vv_error(VV_EINVAL, "--%s must be an integer from %lld to %lld, not \"%s\"",
				name, min, max, arg);
	*out = v;
	return 0;
}

int
cli_double(const char *name, const char *arg, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || *end || errno || !isfinite(v) || v < min || v > max)
		return vv_error(VV_EINVAL, "--%s must be a number from %g to %g, not \"%s\"",
				name, min, max, arg);
	*out = v;
	return 0;
}

int
cli_step(const char *name, const char *arg, int64_t *out)
{
	long long v;
	int err;

	if (!strcmp(arg, "last")) {
		*out = -1;
		return 0;
	}
	err = cli_int(name, arg, 0, INT64_MAX, &v);
	if (!err)
		*out = v;
	return err;
}
