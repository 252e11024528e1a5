/*
 * test_pickle.c - the restricted unpickler and hostile torch.save files:
 * exploits stay inert (their marker files never appear), malformed input of
 * every kind gives one clear error naming the file, nothing crashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "embed/formats/embed_pickle.h"
#include "embed/formats/embed_pt.h"
#include "embed/formats/embed_zip.h"
#include "tests/test_util.h"

#include <zip.h>

#define FIX "tests/fixtures/pt/"

static int
setup(void **state)
{
	(void)state;
	return tu_setup("test_pickle");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

/* Unpickle a literal; returns the error code (document freed). */
static int
unpickle(const char *bytes, size_t len)
{
	embed_pkl_doc *doc = NULL;
	int err = embed_pickle_load("t.pkl", bytes, len, &doc);

	if (!err)
		assert_non_null(doc->root);
	else
		assert_null(doc);
	embed_pickle_free(&doc);
	assert_null(doc);
	return err;
}

#define UNPICKLE(lit) unpickle(lit, sizeof(lit) - 1)

static void
assert_msg_has(const char *needle)
{
	if (!strstr(vv_errmsg(), needle))
		fail_msg("message \"%s\" lacks \"%s\"", vv_errmsg(), needle);
}

/* Every value type, from Python's pickle.dumps(..., protocol=3). */
static void
test_value_tree(void **state)
{
	static const char p[] =
		"\x80\x03\x7d\x71\x00\x28\x58\x01\x00\x00\x00\x61\x71\x01\x5d\x71\x02\x28\x4b\x01"
		"\x4a\xfe\xff\xff\xff\x47\x40\x0c\x00\x00\x00\x00\x00\x00\x88\x4e\x58\x01\x00\x00"
		"\x00\x78\x71\x03\x4d\x2c\x01\x4a\x90\xee\xfe\xff\x8a\x06\x00\x00\x00\x00\x00\x01"
		"\x8a\x06\x00\x00\x00\x00\x00\xff\x65\x58\x01\x00\x00\x00\x62\x71\x04\x43\x02\x00"
		"\x01\x71\x05\x85\x71\x06\x4b\x07\x63\x62\x75\x69\x6c\x74\x69\x6e\x73\x0a\x66\x72"
		"\x6f\x7a\x65\x6e\x73\x65\x74\x0a\x71\x07\x5d\x71\x08\x85\x71\x09\x52\x71\x0a\x75\x2e";
	static const int64_t ints[] = { 1, -2 };
	embed_pkl_doc *doc = NULL;
	const embed_pkl *a, *b, *r, *o;
	size_t i;

	(void)state;
	assert_int_equal(embed_pickle_load("t.pkl", p, sizeof(p) - 1, &doc), 0);
	r = doc->root;
	assert_int_equal(r->type, EMBED_PKL_DICT);
	assert_int_equal(r->n, 6);
	a = embed_pkl_dict_get(r, "a");
	assert_non_null(a);
	assert_int_equal(a->type, EMBED_PKL_LIST);
	assert_int_equal(a->n, 10);
	for (i = 0; i < 2; i++) {
		assert_int_equal(a->items[i]->type, EMBED_PKL_INT);
		assert_int_equal(a->items[i]->i, ints[i]);
	}
	assert_int_equal(a->items[2]->type, EMBED_PKL_FLOAT);
	assert_true(a->items[2]->f == 3.5);
	assert_int_equal(a->items[3]->type, EMBED_PKL_BOOL);
	assert_int_equal(a->items[3]->i, 1);
	assert_int_equal(a->items[4]->type, EMBED_PKL_NONE);
	assert_true(embed_pkl_is_str(a->items[5], "x"));
	assert_int_equal(a->items[6]->i, 300);
	assert_int_equal(a->items[7]->i, -70000);
	assert_int_equal(a->items[8]->i, (int64_t)1 << 40);
	assert_int_equal(a->items[9]->i, -((int64_t)1 << 40));
	b = embed_pkl_dict_get(r, "b");
	assert_int_equal(b->type, EMBED_PKL_TUPLE);
	assert_int_equal(b->items[0]->type, EMBED_PKL_BYTES);
	assert_int_equal(b->items[0]->len, 2);
	assert_memory_equal(b->items[0]->s, "\x00\x01", 2);
	/* int key 7 -> frozenset([]) is an inert REDUCE record */
	assert_int_equal(r->items[4]->type, EMBED_PKL_INT);
	o = r->items[5];
	assert_int_equal(o->type, EMBED_PKL_OBJECT);
	assert_true(embed_pkl_is_global(o->items[EMBED_PKL_OBJ_CALLABLE], "builtins", "frozenset"));
	embed_pickle_free(&doc);
}

/* An exploit as a bare pickle: a record, nothing called. */
static void
test_global_is_inert(void **state)
{
	static const char p[] = "\x80\x02" "cos\nsystem\nq\x00X\x21\x00\x00\x00"
				"touch /tmp/vitviz_pwned_unit_test\x85R}b.";
	embed_pkl_doc *doc = NULL;
	const embed_pkl *o;

	(void)state;
	unlink("/tmp/vitviz_pwned_unit_test");
	assert_int_equal(embed_pickle_load("t.pkl", p, sizeof(p) - 1, &doc), 0);
	o = doc->root;
	assert_int_equal(o->type, EMBED_PKL_OBJECT);
	assert_true(embed_pkl_is_global(o->items[EMBED_PKL_OBJ_CALLABLE], "os", "system"));
	assert_int_equal(o->items[EMBED_PKL_OBJ_ARGS]->type, EMBED_PKL_TUPLE);
	assert_true(embed_pkl_is_str(o->items[EMBED_PKL_OBJ_ARGS]->items[0],
				     "touch /tmp/vitviz_pwned_unit_test"));
	assert_int_equal(o->items[EMBED_PKL_OBJ_STATE]->type, EMBED_PKL_DICT);
	embed_pickle_free(&doc);
	assert_int_not_equal(access("/tmp/vitviz_pwned_unit_test", F_OK), 0);
}

/* Shared memo references and a list that contains itself free cleanly. */
static void
test_shared_and_cyclic(void **state)
{
	embed_pkl_doc *doc = NULL;

	(void)state;
	assert_int_equal(UNPICKLE("\x80\x02]q\x00h\x00h\x00\x86."), 0);
	assert_int_equal(embed_pickle_load("t.pkl", "\x80\x02]q\x00h\x00" "a.", 9, &doc), 0);
	assert_int_equal(doc->root->type, EMBED_PKL_LIST);
	assert_ptr_equal(doc->root->items[0], doc->root);
	embed_pickle_free(&doc);
	/* protocol 4 MEMOIZE numbers slots itself */
	assert_int_equal(UNPICKLE("\x80\x04\x8c\x01\x61\x94h\x00\x86."), 0);
}

static void
test_bad_opcodes(void **state)
{
	(void)state;
	assert_int_equal(UNPICKLE("\x80\x02}q\x00(ios\nsystem\n."), VV_EUNSUPPORTED);
	assert_msg_has("t.pkl: unsupported pickle opcode 0x69 at byte 6");
	assert_int_equal(UNPICKLE("\x80\x02\x82\x01."), VV_EUNSUPPORTED); /* EXT1 */
	assert_msg_has("opcode 0x82 at byte 2");
	assert_int_equal(UNPICKLE("\x80\x09N."), VV_EUNSUPPORTED);
	assert_msg_has("protocol 9");
	/* LONG1 of 9 bytes, LONG4 */
	assert_int_equal(UNPICKLE("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."),
			 VV_EUNSUPPORTED);
	assert_msg_has("too large");
	assert_int_equal(UNPICKLE("\x80\x02\x8b\x01\x00\x00\x00\x01."), VV_EUNSUPPORTED);
}

static void
test_bad_memo(void **state)
{
	(void)state;
	assert_int_equal(UNPICKLE("\x80\x02h\x05."), VV_EFORMAT);
	assert_msg_has("memo index 5 out of range at byte 2");
	assert_int_equal(UNPICKLE("\x80\x02Nq\x00j\x00\x00\x00\x01."), VV_EFORMAT);
	assert_msg_has("memo index 16777216 out of range");
	/* a huge BINPUT index must not allocate a huge memo */
	assert_int_equal(UNPICKLE("\x80\x02Nr\xff\xff\xff\x7f."), VV_EFORMAT);
	assert_msg_has("memo index 2147483647 out of range");
	/* BINPUT on an empty stack */
	assert_int_equal(UNPICKLE("\x80\x02q\x00N."), VV_EFORMAT);
}

static void
test_stack_underflow(void **state)
{
	(void)state;
	assert_int_equal(UNPICKLE("\x80\x02."), VV_EFORMAT);
	assert_msg_has("stack underflow at byte 2");
	assert_int_equal(UNPICKLE("\x80\x02R."), VV_EFORMAT);
	assert_int_equal(UNPICKLE("\x80\x02N(\x86."), VV_EFORMAT);      /* TUPLE2 across a MARK */
	assert_int_equal(UNPICKLE("\x80\x02N(Ns."), VV_EFORMAT);        /* SETITEM across a MARK */
	assert_int_equal(UNPICKLE("\x80\x02t."), VV_EFORMAT);           /* TUPLE with no MARK */
	assert_msg_has("no MARK");
	assert_int_equal(UNPICKLE("\x80\x02}(Nu."), VV_EFORMAT);        /* odd SETITEMS */
	assert_int_equal(UNPICKLE("\x80\x02NNa."), VV_EFORMAT);         /* APPEND on None */
	assert_msg_has("APPEND on a None");
	assert_int_equal(UNPICKLE("\x80\x02NNb."), VV_EFORMAT);         /* BUILD on None */
	assert_int_equal(UNPICKLE("\x80\x02NQ\x93."), VV_EFORMAT);      /* STACK_GLOBAL of junk */
}

static void
test_truncated_pickle(void **state)
{
	(void)state;
	assert_int_equal(UNPICKLE("\x80\x02X\xff\x00\x00\x00" "ab"), VV_EFORMAT);
	assert_msg_has("runs past the end");
	assert_int_equal(UNPICKLE("\x80\x02N"), VV_EFORMAT);
	assert_msg_has("ends without STOP");
	assert_int_equal(UNPICKLE("\x80\x02J\x01\x00"), VV_EFORMAT);
	assert_msg_has("truncated");
	assert_int_equal(UNPICKLE("\x80\x02" "cos\nsyst"), VV_EFORMAT);
	assert_int_equal(unpickle("", 0), VV_EFORMAT);
	assert_int_equal(UNPICKLE("\x80\x02T\xff\xff\xff\xff."), VV_EFORMAT);
}

/* 100k levels of nesting, built several ways: an error, no stack blow-up. */
static void
test_deep_nesting(void **state)
{
	size_t n = 100000, i;
	char *p = malloc(2 * n + 8);

	(void)state;
	assert_non_null(p);
	/* ((((...: nested MARKs */
	memcpy(p, "\x80\x02", 2);
	memset(p + 2, '(', n);
	p[2 + n] = '.';
	assert_int_equal(unpickle(p, n + 3), VV_EFORMAT);
	assert_msg_has("nested MARKs");
	/* ]]]]...aaaa: lists appended into lists */
	memset(p + 2, ']', n);
	memset(p + 2 + n, 'a', n - 1);
	p[1 + 2 * n] = '.';
	assert_int_equal(unpickle(p, 2 * n + 2), VV_EFORMAT);
	assert_msg_has("nested deeper than");
	/* ) TUPLE1 TUPLE1 ...: tuples of tuples */
	p[2] = ')';
	memset(p + 3, '\x85', n);
	p[3 + n] = '.';
	assert_int_equal(unpickle(p, n + 4), VV_EFORMAT);
	assert_msg_has("nested deeper than");
	/* ((((...tttt: MARK/TUPLE pairs */
	memset(p + 2, '(', n);
	memset(p + 2 + n, 't', n);
	p[2 + 2 * n] = '.';
	assert_int_equal(unpickle(p, 2 * n + 3), VV_EFORMAT);
	/* a list appended into itself 100k times through the memo */
	{
		size_t k = 0;
		char *q = malloc(3 * n + 16);

		assert_non_null(q);
		memcpy(q, "\x80\x02]q\x00", 5);
		k = 5;
		for (i = 0; i < n; i++) {
			memcpy(q + k, "h\x00" "a", 3);
			k += 3;
		}
		q[k++] = '.';
		assert_int_equal(unpickle(q, k), VV_EFORMAT);
		assert_msg_has("nested deeper than");
		free(q);
	}
	/* a wide but flat list is fine: 100k Nones */
	memcpy(p, "\x80\x02](", 4);
	memset(p + 4, 'N', n);
	memcpy(p + 4 + n, "e.", 2);
	assert_int_equal(unpickle(p, n + 6), 0);
	free(p);
}

/* Mutations of a real data.pkl: errors or values, never a crash (ASan). */
static void
test_mutations(void **state)
{
	char *zbuf = NULL;
	size_t zlen, i, j, start = 0, len = 0;
	unsigned char *p;
	uint32_t seed = 12345;
	int ok = 0, bad = 0;

	(void)state;
	/* data.pkl is the first entry of the zip, stored: find it by its PROTO byte */
	assert_int_equal(vv_read_file(FIX "hf_pytorch_model.bin", 1 << 20, &zbuf, &zlen), 0);
	for (i = 30; i + 2 < zlen; i++)
		if ((unsigned char)zbuf[i] == 0x80 && zbuf[i + 1] == 2 && zbuf[i + 2] == 'c') {
			start = i;
			break;
		}
	assert_true(start > 0);
	for (j = start; j < zlen && !len; j++)
		if (zbuf[j] == '.' && !memcmp(zbuf + j + 1, "PK", 2))
			len = j + 1 - start;
	assert_true(len > 1000);
	assert_int_equal(unpickle(zbuf + start, len), 0);
	p = malloc(len);
	assert_non_null(p);
	for (i = 0; i < 3000; i++) {
		memcpy(p, zbuf + start, len);
		for (j = 0; j < 1 + i % 4; j++) {
			seed = seed * 1103515245u + 12345u;
			p[(seed >> 8) % len] = (unsigned char)(seed >> 24);
		}
		seed = seed * 1103515245u + 12345u;
		if (unpickle((const char *)p, i % 7 ? len : (seed >> 8) % len) == 0)
			ok++;
		else
			bad++;
	}
	print_message("mutated pickles: %d loaded, %d rejected\n", ok, bad);
	assert_true(bad > 0);
	free(p);
	free(zbuf);
}

/* ------------------------------------------------------------ whole files */

static int
load_file(const char *path, embed_tensors **t)
{
	embed_pt_info info;
	int err;

	vv_error_clear();
	err = embed_pt_load(path, NULL, t, &info);
	if (err) {
		assert_null(*t);
		if (!strstr(vv_errmsg(), path))
			fail_msg("error for %s does not name the file: %s", path, vv_errmsg());
	} else {
		embed_pt_info_reset(&info);
	}
	return err;
}

static void
test_exploits_stay_inert(void **state)
{
	static const char *const evil[] = { "os_system", "posix_system", "eval", "popen",
					     "stack_global" };
	char path[256], marker[256];
	embed_tensors *t = NULL;
	const embed_tensor *w;
	size_t i;
	int err;

	(void)state;
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		snprintf(path, sizeof(path), FIX "evil_%s.pt", evil[i]);
		snprintf(marker, sizeof(marker), "/tmp/vitviz_pwned_%s", evil[i]);
		unlink(marker);
		err = load_file(path, &t);
		/* the top object is an inert record of os.system(...) etc. */
		assert_int_equal(err, VV_EUNSUPPORTED);
		assert_msg_has("is a pickled ");
		assert_msg_has("not a state dict");
		usleep(100000);
		if (access(marker, F_OK) == 0)
			fail_msg("%s created %s", path, marker);
	}
	/* an exploit as one value of a real state dict: tensors load, it does nothing */
	unlink("/tmp/vitviz_pwned_embedded");
	assert_int_equal(load_file(FIX "evil_embedded.pt", &t), 0);
	assert_int_equal(t->n, 1);
	w = embed_tensors_find(t, "w");
	assert_non_null(w);
	assert_true(w->data[9] == 4.5f);
	embed_tensors_free(&t);
	usleep(100000);
	assert_int_not_equal(access("/tmp/vitviz_pwned_embedded", F_OK), 0);
}

static void
test_bad_files(void **state)
{
	static const struct {
		const char *file;
		int err;
		const char *msg;
	} cases[] = {
		{ "bad_short_storage.pt", VV_EFORMAT, "holds 40 bytes, the pickle says 100 elements" },
		{ "bad_view.pt", VV_EFORMAT, "view reaches element 15 of storage 0, which holds 10" },
		{ "bad_offset.pt", VV_EFORMAT, "view reaches element 20" },
		{ "bad_huge.pt", VV_EFORMAT, "view reaches element 1099511627775" },
		{ "bad_expand.pt", VV_EFORMAT, "1099511627776 elements from a storage of 10" },
		{ "bad_overflow.pt", VV_EFORMAT, "shape too large" },
		{ "bad_negstride.pt", VV_EFORMAT, "negative size or stride" },
		{ "bad_missing_storage.pt", VV_EFORMAT, "archive/data/0 is missing" },
		{ "bad_key.pt", VV_EFORMAT, "bad storage key" },
		{ "bad_ndim.pt", VV_EFORMAT, "at most 8 dimensions" },
		{ "bad_no_pkl.pt", VV_EFORMAT, "no <folder>/data.pkl" },
		{ "bad_big_endian.pt", VV_EUNSUPPORTED, "only little-endian" },
		{ "bad_opcode.pt", VV_EUNSUPPORTED, "data.pkl: unsupported pickle opcode 0x69 at byte 6" },
		{ "bad_no_tensors.pt", VV_ENOTFOUND, "no float tensors" },
		{ "weights.safetensors", VV_EFORMAT, "not a PyTorch checkpoint" },
		{ "does_not_exist.pt", VV_ENOTFOUND, "cannot open" },
	};
	embed_tensors *t = NULL;
	char path[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), FIX "%s", cases[i].file);
		if (load_file(path, &t) != cases[i].err)
			fail_msg("%s: expected %d, got \"%s\"", cases[i].file, cases[i].err, vv_errmsg());
		assert_msg_has(cases[i].msg);
	}
	/* and the crafting is sound: the same construction, valid, loads */
	assert_int_equal(load_file(FIX "crafted_ok.pt", &t), 0);
	assert_int_equal(t->v[0].ndim, 2);
	assert_true(t->v[0].data[9] == 4.5f);
	embed_tensors_free(&t);
}

/* Truncated or corrupted copies of a good file. */
static void
test_truncated_and_corrupt_zip(void **state)
{
	char *buf = NULL, *path = vv_path_join(tu_tmp, "cut.bin");
	size_t len, cuts[8], i;
	embed_tensors *t = NULL;

	(void)state;
	assert_int_equal(vv_read_file(FIX "hf_pytorch_model.bin", 1 << 20, &buf, &len), 0);
	cuts[0] = 0;
	cuts[1] = 3;
	cuts[2] = 100;
	cuts[3] = len / 10;
	cuts[4] = len / 2;
	cuts[5] = len - 200;
	cuts[6] = len - 22;
	cuts[7] = len - 1;
	for (i = 0; i < 8; i++) {
		assert_int_equal(vv_write_file_atomic(path, buf, cuts[i]), 0);
		assert_true(load_file(path, &t) < 0);
	}
	/* a flipped byte inside a stored storage: the CRC check catches it */
	buf[len / 2] ^= 0x55;
	assert_int_equal(vv_write_file_atomic(path, buf, len), 0);
	assert_int_equal(load_file(path, &t), VV_EFORMAT);
	assert_msg_has("CRC");
	free(buf);
	/* the legacy format cut anywhere: inside a pickle, a count or the data */
	assert_int_equal(vv_read_file(FIX "legacy.pt", 1 << 20, &buf, &len), 0);
	for (i = 1; i < 40; i++) {
		size_t cut = i < 20 ? i * 37 : len - (size_t)(i - 19) * 997 % len;

		assert_int_equal(vv_write_file_atomic(path, buf, cut), 0);
		assert_true(load_file(path, &t) < 0);
	}
	/* a plain pickle that is not a torch.save file */
	assert_int_equal(vv_write_file_atomic(path, "\x80\x02N.", 4), 0);
	assert_int_equal(load_file(path, &t), VV_EFORMAT);
	assert_msg_has("without torch's magic number");
	free(buf);
	free(path);
}

/* Write entries (names[i], bufs[i], lens[i]) as a stored zip with libzip. */
static void
write_zip(const char *path, char **names, char **bufs, size_t *lens, size_t n)
{
	zip_t *za;
	zip_source_t *src;
	zip_int64_t idx;
	size_t i;
	int code;

	za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
	assert_non_null(za);
	for (i = 0; i < n; i++) {
		src = zip_source_buffer(za, bufs[i], lens[i], 0);
		assert_non_null(src);
		idx = zip_file_add(za, names[i], src, ZIP_FL_ENC_RAW);
		assert_true(idx >= 0);
		zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
	}
	assert_int_equal(zip_close(za), 0);
}

/*
 * Mutated data.pkl inside otherwise valid checkpoints: the state-dict and
 * tensor extraction meet arbitrary value trees; errors or tensors, never a
 * crash, and every error names the file.
 */
static void
test_mutated_checkpoints(void **state)
{
	char *names[64], *bufs[64], *path = vv_path_join(tu_tmp, "m.pt"), *orig;
	size_t lens[64], n, i, j, pkl = 64, olen;
	embed_zip *z = NULL;
	embed_tensors *t = NULL;
	uint32_t seed = 777;
	int ok = 0, bad = 0, err;

	(void)state;
	assert_int_equal(embed_zip_open(FIX "hf_pytorch_model.bin", &z), 0);
	n = (size_t)embed_zip_count(z);
	assert_true(n > 2 && n <= 64);
	for (i = 0; i < n; i++) {
		names[i] = strdup(embed_zip_name(z, (int64_t)i));
		assert_int_equal(embed_zip_read(z, (int64_t)i, 1 << 20, &bufs[i], &lens[i]), 0);
		if (strstr(names[i], "/data.pkl"))
			pkl = i;
	}
	embed_zip_close(&z);
	assert_true(pkl < n);
	olen = lens[pkl];
	orig = malloc(olen);
	assert_non_null(orig);
	memcpy(orig, bufs[pkl], olen);
	/* unmutated, rewritten by libzip: loads */
	write_zip(path, names, bufs, lens, n);
	assert_int_equal(load_file(path, &t), 0);
	assert_int_equal(t->n, 40);
	embed_tensors_free(&t);
	for (i = 0; i < 400; i++) {
		memcpy(bufs[pkl], orig, olen);
		for (j = 0; j < 1 + i % 3; j++) {
			seed = seed * 1103515245u + 12345u;
			bufs[pkl][(seed >> 8) % olen] = (char)(seed >> 24);
		}
		write_zip(path, names, bufs, lens, n);
		err = load_file(path, &t);
		if (err)
			bad++;
		else
			ok++;
		embed_tensors_free(&t);
	}
	print_message("mutated checkpoints: %d loaded, %d rejected\n", ok, bad);
	assert_true(bad > 0 && ok > 0);
	/* the legacy format has no CRC: every mutation reaches the parser */
	free(orig);
	assert_int_equal(vv_read_file(FIX "legacy.pt", 1 << 20, &orig, &olen), 0);
	ok = bad = 0;
	for (i = 0; i < 400; i++) {
		char *m = malloc(olen);

		assert_non_null(m);
		memcpy(m, orig, olen);
		for (j = 0; j < 1 + i % 3; j++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly the pickles (the first ~6 KB), sometimes the data */
			m[(seed >> 8) % (i % 4 ? 6000 : olen)] = (char)(seed >> 24);
		}
		assert_int_equal(vv_write_file_atomic(path, m, olen), 0);
		free(m);
		if (load_file(path, &t))
			bad++;
		else
			ok++;
		embed_tensors_free(&t);
	}
	print_message("mutated legacy files: %d loaded, %d rejected\n", ok, bad);
	assert_true(bad > 0 && ok > 0);
	for (i = 0; i < n; i++) {
		free(names[i]);
		free(bufs[i]);
	}
	free(orig);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_tree),
		cmocka_unit_test(test_global_is_inert),
		cmocka_unit_test(test_shared_and_cyclic),
		cmocka_unit_test(test_bad_opcodes),
		cmocka_unit_test(test_bad_memo),
		cmocka_unit_test(test_stack_underflow),
		cmocka_unit_test(test_truncated_pickle),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_exploits_stay_inert),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_truncated_and_corrupt_zip),
		cmocka_unit_test(test_mutated_checkpoints),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
