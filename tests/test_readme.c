/*
 * test_readme.c - the README's troubleshooting table quotes what the
 * program really prints.  Every message of the table (the code span of
 * each row's first cell; "..." stands for any text) is provoked by a
 * scenario below and must appear, piece by piece in order, in vitviz's
 * stderr, with the exit status the README gives for its kind.  A message
 * without a scenario fails the test, so a new row needs one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_fs.h"
#include "tests/test_util.h"

#define CKPT TU_DEMO_RUN "/checkpoint-15"
#define MAX_ROWS 32

/* one way to make vitviz print a message */
typedef struct scenario {
	const char *key;   /* a piece of the README's message that picks it */
	const char *setup; /* shell commands in the test folder (may be NULL) */
	const char *args;  /* vitviz arguments; $T is the test folder */
	int status;        /* expected exit status */
} scenario;

static const scenario scenarios[] = {
	{ "no checkpoints (", "mkdir -p empty", "info $T/empty", 3 },
	{ "preprocessing gives 224x224",
	  "cp -r $OLDPWD/" CKPT " pp && sed -i 's/\"height\": 32/\"height\": 224/; s/\"width\": 32/\"width\": 224/' "
	  "pp/preprocessor_config.json && sed -i 's/\"image_size\": 32/\"image_size\": 384/' pp/config.json",
	  "embed $T/pp --data " TU_DEMO_DATA " --limit 2 -o $T/w_pp", 3 },
	{ "the weights have 4 layers",
	  "cp -r $OLDPWD/" CKPT " nl && sed -i 's/\"num_hidden_layers\": 4/\"num_hidden_layers\": 6/' nl/config.json",
	  "embed $T/nl --data " TU_DEMO_DATA " --limit 2 -o $T/w_nl", 3 },
	{ "the config expects",
	  "cp -r $OLDPWD/" CKPT " sh && sed -i 's/\"intermediate_size\": 96/\"intermediate_size\": 100/' sh/config.json",
	  "embed $T/sh --data " TU_DEMO_DATA " --limit 2 -o $T/w_sh", 3 },
	/* a legacy torch.save file whose storage carries view metadata: the
	 * fixture's None (pickle 'N') in the persistent id becomes 0 ('K\0') */
	{ "storage views of legacy files",
	  "mkdir -p lv && python3 -c 'import sys; b=open(sys.argv[1],\"rb\").read(); "
	  "i=b.index(b\"Ntq\"); open(sys.argv[2],\"wb\").write(b[:i]+b\"K\\x00\"+b[i+1:])' "
	  "$OLDPWD/tests/fixtures/pt/legacy.pt lv/checkpoint-1.pth.tar",
	  "embed $T/lv --arch vit_tiny_patch16_224 --data " TU_DEMO_DATA " --limit 2 -o $T/w_lv", 3 },
	{ "the saved object is a pickled",
	  "mkdir -p pk && cp $OLDPWD/tests/fixtures/pt/evil_eval.pt pk/checkpoint-1.pth.tar",
	  "embed $T/pk --arch vit_tiny_patch16_224 --data " TU_DEMO_DATA " --limit 2 -o $T/w_pk", 3 },
	/* jeonsworld's tiny hybrid fixture (units 1, 1, 1) read as R50-ViT-B_16 */
	{ "the ResNet backbone in the weights", NULL,
	  "embed tests/fixtures/hybrid/jw_out/hyb_checkpoint.bin --arch R50-ViT-B_16 --data "
	  TU_DEMO_DATA " --limit 2 -o $T/w_rn", 3 },
	{ "not a vitviz work folder", "mkdir -p emptywork", "analyze $T/emptywork", 3 },
	{ "warning: skipping an image that does not decode",
	  "mkdir -p bad/0 bad/1 && cp $OLDPWD/" TU_DEMO_DATA "/0/0036.png bad/0/ && "
	  "cp $OLDPWD/" TU_DEMO_DATA "/0/0036.png bad/1/a.png && echo garbage > bad/1/b.png",
	  "embed " CKPT " --data $T/bad -o $T/w_bad", 0 },
};

static int
setup(void **state)
{
	(void)state;
	return tu_setup("test_readme");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* The code spans of the troubleshooting table's first column. */
static int
table_messages(char **msgs, int max)
{
	char *text = NULL, *p, *end;
	size_t len;
	int n = 0;

	assert_int_equal(vv_read_file("README.md", 1 << 20, &text, &len), 0);
	p = strstr(text, "\n## Troubleshooting");
	assert_non_null(p);
	end = strstr(p + 1, "\n## ");
	if (end)
		*end = '\0';
	while ((p = strstr(p, "\n| `")) && n < max) {
		char *s = p + 3, *e;
		const char *close = "`";

		if (s[1] == '`') {
			close = "``";
			s++;
		}
		s++;
		e = strstr(s, close);
		assert_non_null(e);
		msgs[n++] = strndup(s, (size_t)(e - s));
		p = e;
	}
	free(text);
	return n;
}

/* Every "..."-separated piece of `pattern` occurs in `s`, in order. */
static int
matches(const char *pattern, const char *s)
{
	char *pat = strdup(pattern), *piece = pat, *dots;
	int ok = 1;

	for (;;) {
		dots = strstr(piece, "...");
		if (dots)
			*dots = '\0';
		if (*piece) {
			const char *at = strstr(s, piece);

			if (!at) {
				ok = 0;
				break;
			}
			s = at + strlen(piece);
		}
		if (!dots)
			break;
		piece = dots + 3;
	}
	free(pat);
	return ok;
}

static void
test_troubleshooting_messages(void **state)
{
	char *msgs[MAX_ROWS];
	int n, i;
	size_t k;

	(void)state;
	n = table_messages(msgs, MAX_ROWS);
	assert_true(n >= 8);
	for (i = 0; i < n; i++) {
		const scenario *sc = NULL;
		char cmd[2048];
		int st;

		for (k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++)
			if (strstr(msgs[i], scenarios[k].key))
				sc = &scenarios[k];
		if (!sc)
			fail_msg("README message without a scenario in tests/test_readme.c: %s", msgs[i]);
		if (sc->setup && strstr(sc->setup, "python3") && tu_sh("command -v python3 >/dev/null")) {
			print_message("skipped (no python3 to craft the file): %s\n", msgs[i]);
			free(msgs[i]);
			continue;
		}
		if (sc->setup)
			assert_int_equal(tu_sh("cd %s && %s", tu_path(""), sc->setup), 0);
		/* $T in the arguments is the test folder */
		snprintf(cmd, sizeof(cmd), "%s", sc->args);
		for (char *t; (t = strstr(cmd, "$T"));) {
			char rest[2048];

			snprintf(rest, sizeof(rest), "%s", t + 2);
			snprintf(t, sizeof(cmd) - (size_t)(t - cmd), "%s%s", tu_path(""), rest);
		}
		st = tu_run("%s", cmd);
		print_message("exit %d, README: %s\n  program: %s", st, msgs[i], tu_err());
		if (!matches(msgs[i], tu_err()))
			fail_msg("the program does not print the README's message\n  README:  %s\n"
				 "  program: %s", msgs[i], tu_err());
		assert_int_equal(st, sc->status);
		free(msgs[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_troubleshooting_messages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
