/*
 * test_rerun.c - what `vitviz embed` recomputes on a rerun
 * (embed/embed_stage.c): nothing when nothing changed; only the new
 * checkpoints when checkpoints were added; only the checkpoint whose weights
 * changed; every checkpoint when the data changed (an image added, or one
 * replaced in place under the same name), and with --force.  Which
 * checkpoints were reused is read from --verbose ("<name> is current,
 * reused") and from the outputs' inodes (outputs are renamed into place, so
 * a rewritten file has a new inode; no file times are compared).  What was
 * recomputed must equal a fresh run byte for byte.  Runs ./build/vitviz
 * ($VITVIZ) on copies of 3-5 demo checkpoints and 9 demo images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vv_csv.h"
#include "common/vv_json.h"
#include "common/vv_npy.h"
#include "tests/test_util.h"

/* one thread: byte-identical outputs from run to run */
#define OPTS "--threads 1"
#define NMAX 5

/* the demo checkpoints a test run may hold */
static const char *const all_ckpts[NMAX] = { "checkpoint-15", "checkpoint-90", "checkpoint-225",
					     "checkpoint-330", "checkpoint-450" };

/* Inodes of a work folder's embeddings and logits, per checkpoint of all_ckpts (-1: absent). */
typedef struct stamps {
	int64_t emb[NMAX], logits[NMAX], samples;
} stamps;

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_rerun"))
		return -1;
	/* 3 classes x 3 images of the demo */
	return tu_sh("cd %s && for c in 0 1 2; do mkdir -p \"%s/$c\" && cp $(ls -d $c/* | head -3) \"%s/$c/\"; done",
		     TU_DEMO_DATA, tu_path("data"), tu_path("data"));
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* <tmp>/<run> holding the checkpoints of all_ckpts whose bit is set in `mask`. */
static void
make_run(const char *run, unsigned mask)
{
	int i;

	assert_int_equal(tu_sh("mkdir -p '%s'", tu_path(run)), 0);
	for (i = 0; i < NMAX; i++)
		if (mask & (1u << i))
			assert_int_equal(tu_sh("cp -r %s/%s '%s/'", TU_DEMO_RUN, all_ckpts[i], tu_path(run)), 0);
}

/* `vitviz --verbose embed` of <tmp>/<run> with <tmp>/<data> into <tmp>/<work>; checks "C computed, R reused". */
static void
embed(const char *run, const char *data, const char *work, const char *extra, int computed, int reused)
{
	char want[64];
	int rc = tu_run("--verbose embed %s --data %s -o %s " OPTS " %s", tu_path(run), tu_path(data), tu_path(work),
			extra ? extra : "");

	if (rc != 0)
		fail_msg("embed %s: exit %d:\n%s", run, rc, tu_err());
	snprintf(want, sizeof(want), "embed: %d computed, %d reused", computed, reused);
	if (!strstr(tu_err(), want))
		fail_msg("embed %s: want \"%s\" in:\n%s", run, want, tu_err());
}

/* 1 when the last embed's --verbose output says that checkpoint `name` was reused. */
static int
said_reused(const char *name)
{
	char line[128];

	snprintf(line, sizeof(line), "embed: %s is current, reused", name);
	return strstr(tu_err(), line) != NULL;
}

static void
take_stamps(const char *work, stamps *s)
{
	char p[600];
	int i;

	for (i = 0; i < NMAX; i++) {
		snprintf(p, sizeof(p), "%s/embeddings/%s.npy", tu_path(work), all_ckpts[i]);
		s->emb[i] = tu_inode(p);
		snprintf(p, sizeof(p), "%s/logits/%s.npy", tu_path(work), all_ckpts[i]);
		s->logits[i] = tu_inode(p);
	}
	snprintf(p, sizeof(p), "%s/samples.csv", tu_path(work));
	s->samples = tu_inode(p);
}

/*
 * After a rerun: the checkpoints in `kept` (bits of all_ckpts) still have
 * their outputs (same inodes, said reused), the ones in `redone` have new
 * outputs (new inodes or new files, not said reused).
 */
static void
check_redone(const stamps *before, const stamps *after, unsigned kept, unsigned redone)
{
	int i;

	for (i = 0; i < NMAX; i++) {
		if (kept & (1u << i)) {
			if (!said_reused(all_ckpts[i]) || after->emb[i] != before->emb[i] ||
			    after->logits[i] != before->logits[i])
				fail_msg("%s: should have been reused:\n%s", all_ckpts[i], tu_err());
		} else if (redone & (1u << i)) {
			if (said_reused(all_ckpts[i]) || after->emb[i] < 0 || after->emb[i] == before->emb[i] ||
			    after->logits[i] < 0 || after->logits[i] == before->logits[i])
				fail_msg("%s: should have been recomputed:\n%s", all_ckpts[i], tu_err());
		}
	}
}

/* The embeddings and logits of `mask`'s checkpoints are the same bytes in both work folders. */
static void
check_same_outputs(const char *wa, const char *wb, unsigned mask)
{
	char a[600], b[600];
	int i;

	for (i = 0; i < NMAX; i++) {
		if (!(mask & (1u << i)))
			continue;
		snprintf(a, sizeof(a), "%s/embeddings/%s.npy", tu_path(wa), all_ckpts[i]);
		snprintf(b, sizeof(b), "%s/embeddings/%s.npy", tu_path(wb), all_ckpts[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from %s", a, b);
		snprintf(a, sizeof(a), "%s/logits/%s.npy", tu_path(wa), all_ckpts[i]);
		snprintf(b, sizeof(b), "%s/logits/%s.npy", tu_path(wb), all_ckpts[i]);
		if (!tu_files_equal(a, b))
			fail_msg("%s differs from %s", a, b);
	}
}

/* The checkpoint names of <work>/manifest.json, comma-separated, in its order. */
static const char *
manifest_names(const char *work)
{
	static char buf[512];
	char p[600];
	cJSON *m, *it;

	snprintf(p, sizeof(p), "%s/manifest.json", tu_path(work));
	m = vv_json_load(p);
	assert_non_null(m);
	buf[0] = '\0';
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "checkpoints")) {
		if (buf[0])
			strcat(buf, ",");
		strncat(buf, vv_json_get_string(it, "name", "?"), sizeof(buf) - strlen(buf) - 32);
	}
	cJSON_Delete(m);
	return buf;
}

/* Nothing changed: nothing recomputed, not even samples.csv. */
static void
test_rerun_unchanged(void **state)
{
	stamps a, b;

	(void)state;
	make_run("run1", 0x15); /* 15, 225, 450 */
	embed("run1", "data", "w1", NULL, 3, 0);
	take_stamps("w1", &a);
	embed("run1", "data", "w1", NULL, 0, 3);
	take_stamps("w1", &b);
	check_redone(&a, &b, 0x15, 0);
	assert_true(a.samples > 0 && a.samples == b.samples);
	/* --force recomputes everything */
	embed("run1", "data", "w1", "--force", 3, 0);
	take_stamps("w1", &a);
	check_redone(&b, &a, 0, 0x15);
}

/* Two checkpoints added (one between, one after): only those two computed; the result is a fresh run's. */
static void
test_rerun_added_checkpoints(void **state)
{
	stamps a, b;

	(void)state;
	make_run("run2", 0x15); /* 15, 225, 450 */
	embed("run2", "data", "w2", NULL, 3, 0);
	take_stamps("w2", &a);
	assert_int_equal(tu_sh("cp -r %s/checkpoint-90 %s/checkpoint-330 '%s/'", TU_DEMO_RUN, TU_DEMO_RUN,
			       tu_path("run2")), 0);
	embed("run2", "data", "w2", NULL, 2, 3);
	take_stamps("w2", &b);
	check_redone(&a, &b, 0x15, 0x0a);
	assert_true(a.samples == b.samples);
	assert_string_equal(manifest_names("w2"),
			    "checkpoint-15,checkpoint-90,checkpoint-225,checkpoint-330,checkpoint-450");
	/* the same bytes as embedding all five from scratch */
	embed("run2", "data", "w2ref", NULL, 5, 0);
	check_same_outputs("w2", "w2ref", 0x1f);
}

/* One checkpoint's weights replaced (by another checkpoint's): only it is recomputed. */
static void
test_rerun_changed_weights(void **state)
{
	stamps a, b;

	(void)state;
	make_run("run3", 0x15); /* 15, 225, 450 */
	embed("run3", "data", "w3", NULL, 3, 0);
	take_stamps("w3", &a);
	assert_int_equal(tu_sh("cp %s/checkpoint-450/model.safetensors '%s/checkpoint-225/model.safetensors'",
			       TU_DEMO_RUN, tu_path("run3")), 0);
	embed("run3", "data", "w3", NULL, 1, 2);
	take_stamps("w3", &b);
	check_redone(&a, &b, 0x11, 0x04);
	/* checkpoint-225 now holds checkpoint-450's weights: the same embeddings, byte for byte */
	assert_true(tu_files_equal(tu_path("w3/embeddings/checkpoint-225.npy"),
				   tu_path("w3/embeddings/checkpoint-450.npy")));
	assert_false(tu_files_equal(tu_path("w3/embeddings/checkpoint-15.npy"),
				    tu_path("w3/embeddings/checkpoint-450.npy")));
}

/* The embeddings of checkpoint `ck` in <tmp>/<work>. */
static vv_array *
emb_of(const char *work, const char *ck)
{
	return tu_load_npy("%s/embeddings/%s.npy", tu_path(work), ck);
}

/*
 * The data changed: an image replaced in place (same name, other pixels)
 * and an image added each make every checkpoint recomputed, with the new
 * image's embeddings in its row.
 */
static void
test_rerun_changed_data(void **state)
{
	stamps a, b;
	vv_csv *c = NULL;
	vv_array *e0, *e1;
	const char *first;
	int64_t d;

	(void)state;
	make_run("run4", 0x11); /* 15, 450 */
	assert_int_equal(tu_sh("cp -r '%s' '%s'", tu_path("data"), tu_path("data4")), 0);
	embed("run4", "data4", "w4", NULL, 2, 0);
	take_stamps("w4", &a);
	e0 = emb_of("w4", "checkpoint-450");
	/* samples.csv row 0 is class 0's first image; replace it with class 2's first (row 6) */
	assert_int_equal(vv_csv_read(tu_path("w4/samples.csv"), 1 << 20, &c), 0);
	assert_int_equal(c->nrows, 9);
	first = c->rows[0][vv_csv_col(c, "path")];
	assert_int_equal(tu_sh("cp '%s/%s' '%s/%s'", tu_path("data4"), c->rows[6][vv_csv_col(c, "path")],
			       tu_path("data4"), first), 0);
	vv_csv_free(&c);
	embed("run4", "data4", "w4", NULL, 2, 0);
	take_stamps("w4", &b);
	check_redone(&a, &b, 0, 0x11);
	e1 = emb_of("w4", "checkpoint-450");
	d = e1->shape[1];
	/* row 0 now embeds row 6's image; row 6 and the others are as before */
	print_message("replaced image: row 0 vs old row 6 max |diff| %.3g, row 6 vs old row 6 %.3g\n",
		      tu_max_diff_f32((float *)e1->data, (float *)e0->data + 6 * d, d),
		      tu_max_diff_f32((float *)e1->data + 6 * d, (float *)e0->data + 6 * d, d));
	assert_true(tu_max_diff_f32((float *)e1->data, (float *)e0->data + 6 * d, d) <= 1e-5);
	assert_true(tu_max_diff_f32((float *)e1->data + 6 * d, (float *)e0->data + 6 * d, 3 * d) <= 1e-5);
	assert_true(tu_max_diff_f32((float *)e1->data, (float *)e0->data, d) > 1e-3);
	vv_array_free(&e1);
	vv_array_free(&e0);
	/* an image added to class 1 */
	a = b;
	assert_int_equal(tu_sh("cp $(ls -d %s/1/* | sed -n 4p) '%s/1/zz_added.png'", TU_DEMO_DATA, tu_path("data4")),
			 0);
	embed("run4", "data4", "w4", NULL, 2, 0);
	take_stamps("w4", &b);
	check_redone(&a, &b, 0, 0x11);
	assert_true(b.samples != a.samples);
	assert_int_equal(vv_csv_read(tu_path("w4/samples.csv"), 1 << 20, &c), 0);
	assert_int_equal(c->nrows, 10);
	assert_non_null(strstr(c->rows[6][vv_csv_col(c, "path")], "zz_added.png"));
	vv_csv_free(&c);
	e1 = emb_of("w4", "checkpoint-450");
	assert_int_equal(e1->shape[0], 10);
	vv_array_free(&e1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rerun_unchanged),
		cmocka_unit_test(test_rerun_added_checkpoints),
		cmocka_unit_test(test_rerun_changed_weights),
		cmocka_unit_test(test_rerun_changed_data),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
