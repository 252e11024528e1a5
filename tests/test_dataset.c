/*
 * test_dataset.c - CIFAR-10/100 batches and image folders built in a
 * temporary folder: order, labels, class names, subsetting, validation,
 * bad files and path checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vv_error.h"
#include "embed/images/embed_decode.h"
#include "common/vv_fs.h"
#include "embed/images/embed_dataset.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/image/"

static void
mkdirs(const char *rel)
{
	assert_int_equal(vv_mkdir_p(tu_path(rel)), 0);
}

static void
put(const char *rel, const void *data, size_t len)
{
	assert_int_equal(vv_write_file_atomic(tu_path(rel), data, len), 0);
}

static void
copy_fixture(const char *fixture, const char *rel)
{
	char *buf, src[256];
	size_t len;

	snprintf(src, sizeof(src), FIX "%s", fixture);
	assert_int_equal(vv_read_file(src, 1 << 20, &buf, &len), 0);
	put(rel, buf, len);
	free(buf);
}

/* Pixel p of channel c of record r: a pattern unique enough to check. */
static unsigned char
pix(int r, int c, int p)
{
	return (unsigned char)(r * 31 + c * 97 + p * 7);
}

/* A CIFAR batch of n records; label_of(i) as the (fine) label. */
static void
write_cifar(const char *rel, int n, int c100, int (*label_of)(int))
{
	int rs = c100 ? 3074 : 3073, i, c, p;
	unsigned char *b = malloc((size_t)n * rs), *r;

	for (i = 0; i < n; i++) {
		r = b + (size_t)i * rs;
		if (c100) {
			r[0] = (unsigned char)(label_of(i) / 5);  /* coarse */
			r[1] = (unsigned char)label_of(i);
		} else {
			r[0] = (unsigned char)label_of(i);
		}
		for (c = 0; c < 3; c++)
			for (p = 0; p < 1024; p++)
				r[rs - 3072 + c * 1024 + p] = pix(i, c, p);
	}
	put(rel, b, (size_t)n * rs);
	free(b);
}

static int label10(int i) { return (i * 7) % 10; }
static int label100(int i) { return (i * 37) % 100; }
static int label_bad(int i) { return i == 4 ? 10 : 0; }

static int
setup(void **state)
{
	(void)state;
	return tu_setup("test_dataset");
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

static void
check_record(const embed_dataset *d, size_t i, int rec)
{
	embed_image *im = NULL;
	int c, p;

	assert_int_equal(embed_dataset_load(d, i, &im), 0);
	assert_int_equal(im->w, 32);
	assert_int_equal(im->h, 32);
	for (p = 0; p < 1024; p++)
		for (c = 0; c < 3; c++)
			assert_int_equal(im->rgb[3 * p + c], pix(rec, c, p));
	embed_image_free(&im);
}

static void
test_cifar10_file(void **state)
{
	embed_dataset *d = NULL;
	embed_dataset_opts o = { 0 };
	embed_image *im = NULL;
	size_t i;

	(void)state;
	mkdirs("c10");
	write_cifar("c10/test_batch.bin", 25, 0, label10);
	assert_int_equal(embed_dataset_open(tu_path("c10/test_batch.bin"), &o, &d), 0);
	assert_int_equal(d->kind, EMBED_DATA_CIFAR10);
	assert_int_equal(d->n, 25);
	assert_int_equal(d->nclasses, 10);
	assert_string_equal(d->class_names[0], "0");
	assert_string_equal(d->class_names[9], "9");
	for (i = 0; i < d->n; i++) {
		char want[64];

		snprintf(want, sizeof(want), "test_batch.bin:%zu", i);
		assert_string_equal(d->samples[i].path, want);
		assert_int_equal(d->samples[i].label, label10((int)i));
	}
	check_record(d, 0, 0);
	check_record(d, 24, 24);
	embed_dataset_free(&d);
	assert_null(d);

	/* names beside the file, trailing blank lines as in the tarball */
	{
		const char *meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n\n";

		put("c10/batches.meta.txt", meta, strlen(meta));
	}
	o.per_class = 2;
	o.limit = 15;
	assert_int_equal(embed_dataset_open(tu_path("c10"), &o, &d), 0);
	assert_string_equal(d->class_names[0], "airplane");
	assert_string_equal(d->class_names[9], "truck");
	/* labels 0,7,4,1,8,5,2,9,6,3 repeat: two of each class is the first
	 * 20 records, then limit 15 */
	assert_int_equal(d->n, 15);
	for (i = 0; i < d->n; i++) {
		char want[64];

		snprintf(want, sizeof(want), "test_batch.bin:%zu", i);
		assert_string_equal(d->samples[i].path, want);
	}
	embed_dataset_free(&d);
	o.per_class = 1;
	o.limit = 0;
	assert_int_equal(embed_dataset_open(tu_path("c10"), &o, &d), 0);
	assert_int_equal(d->n, 10);
	assert_string_equal(d->samples[9].path, "test_batch.bin:9");
	embed_dataset_free(&d);

	/* thumbnails by path: from the folder and from the file itself */
	assert_int_equal(embed_dataset_load_path(tu_path("c10"), "test_batch.bin:13", &im), 0);
	assert_int_equal(im->rgb[3 * 5 + 1], pix(13, 1, 5));
	embed_image_free(&im);
	assert_int_equal(embed_dataset_load_path(tu_path("c10/test_batch.bin"), "test_batch.bin:3", &im), 0);
	assert_int_equal(im->rgb[0], pix(3, 0, 0));
	embed_image_free(&im);
	assert_int_equal(embed_dataset_load_path(tu_path("c10"), "test_batch.bin:25", &im), VV_ENOTFOUND);
	assert_null(im);
	put("c10/batches.meta.txt", "a\nb\n", 4);
	assert_int_equal(embed_dataset_open(tu_path("c10"), NULL, &d), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "batches.meta.txt"));
}

static void
test_cifar_train_split(void **state)
{
	embed_dataset *d = NULL;
	embed_dataset_opts o = { 0 };

	(void)state;
	mkdirs("tar/cifar-10-batches-bin");
	write_cifar("tar/cifar-10-batches-bin/test_batch.bin", 3, 0, label10);
	write_cifar("tar/cifar-10-batches-bin/data_batch_10.bin", 1, 0, label10);
	write_cifar("tar/cifar-10-batches-bin/data_batch_2.bin", 2, 0, label10);
	write_cifar("tar/cifar-10-batches-bin/data_batch_1.bin", 2, 0, label10);
	/* the tarball's folder is found below root; test split by default */
	assert_int_equal(embed_dataset_open(tu_path("tar"), &o, &d), 0);
	assert_int_equal(d->n, 3);
	assert_string_equal(d->samples[2].path, "cifar-10-batches-bin/test_batch.bin:2");
	embed_dataset_free(&d);
	o.split = "train";
	assert_int_equal(embed_dataset_open(tu_path("tar"), &o, &d), 0);
	assert_int_equal(d->n, 5);
	/* numeric batch order: 1, 2, 10 */
	assert_string_equal(d->samples[0].path, "cifar-10-batches-bin/data_batch_1.bin:0");
	assert_string_equal(d->samples[2].path, "cifar-10-batches-bin/data_batch_2.bin:0");
	assert_string_equal(d->samples[4].path, "cifar-10-batches-bin/data_batch_10.bin:0");
	check_record(d, 3, 1);
	embed_dataset_free(&d);
	o.split = "valid";
	assert_int_equal(embed_dataset_open(tu_path("tar"), &o, &d), VV_EINVAL);
}

static void
test_cifar100(void **state)
{
	embed_dataset *d = NULL;
	char names[100 * 8];
	size_t len = 0;
	int i;

	(void)state;
	mkdirs("c100");
	write_cifar("c100/test.bin", 120, 1, label100);
	for (i = 0; i < 100; i++)
		len += (size_t)sprintf(names + len, "n%d\n", i);
	put("c100/fine_label_names.txt", names, len);
	assert_int_equal(embed_dataset_open(tu_path("c100"), NULL, &d), 0);
	assert_int_equal(d->kind, EMBED_DATA_CIFAR100);
	assert_int_equal(d->nclasses, 100);
	assert_int_equal(d->n, 120);
	for (i = 0; i < 120; i++)
		assert_int_equal(d->samples[i].label, label100(i));  /* fine, not coarse */
	assert_string_equal(d->class_names[37], "n37");
	check_record(d, 119, 119);
	embed_dataset_free(&d);
}

static void
test_cifar_bad(void **state)
{
	embed_dataset *d = NULL;
	unsigned char junk[3073 * 3 + 5];

	(void)state;
	mkdirs("bad");
	memset(junk, 0, sizeof(junk));
	put("bad/test_batch.bin", junk, sizeof(junk));
	assert_int_equal(embed_dataset_open(tu_path("bad/test_batch.bin"), NULL, &d), VV_EFORMAT);
	assert_null(d);
	assert_non_null(strstr(vv_errmsg(), "test_batch.bin"));
	assert_non_null(strstr(vv_errmsg(), "not a whole number"));
	/* the same bytes as a CIFAR-100 name: not a multiple of 3074 either */
	put("bad/test.bin", junk, 3074 * 2 + 1);
	assert_int_equal(embed_dataset_open(tu_path("bad/test.bin"), NULL, &d), VV_EFORMAT);
	/* label 10 in CIFAR-10 */
	write_cifar("bad/data_batch_1.bin", 6, 0, label_bad);
	assert_int_equal(embed_dataset_open(tu_path("bad/data_batch_1.bin"), NULL, &d), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "record 4 has label 10"));
	/* unknown name: kind from the size when only one record size fits */
	write_cifar("bad/other.bin", 2, 0, label10);
	assert_int_equal(embed_dataset_open(tu_path("bad/other.bin"), NULL, &d), 0);
	assert_int_equal(d->kind, EMBED_DATA_CIFAR10);
	embed_dataset_free(&d);
	/* not a dataset */
	assert_int_equal(embed_dataset_open(tu_path("bad/nothing"), NULL, &d), VV_ENOTFOUND);
	put("bad/x.txt", "x", 1);
	assert_int_equal(embed_dataset_open(tu_path("bad/x.txt"), NULL, &d), VV_EUNSUPPORTED);
}

/* Redirect stderr to a file while `fn` runs; return what was written. */
static char *
capture_stderr(int (*fn)(void *), void *arg, int *ret)
{
	char *path = tu_path("stderr.txt"), *buf;
	size_t len;
	int fd, saved;

	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	close(fd);
	*ret = fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(vv_read_file(path, 1 << 20, &buf, &len), 0);
	return buf;
}

struct open_args {
	const char *root;
	embed_dataset_opts o;
	embed_dataset *d;
};

static int
do_open(void *arg)
{
	struct open_args *a = arg;

	return embed_dataset_open(a->root, &a->o, &a->d);
}

static void
make_folder(void)
{
	mkdirs("imgs/a_cls/s/t");
	mkdirs("imgs/a_cls/s-x");
	mkdirs("imgs/b_cls");
	mkdirs("imgs/C_upper");
	mkdirs("imgs/.hidden_cls");
	mkdirs("imgs/empty_cls");
	copy_fixture("m_gray.png", "imgs/a_cls/2.png");
	copy_fixture("m_rgba.png", "imgs/a_cls/10.png");
	copy_fixture("small_61x37.jpg", "imgs/a_cls/x.JPG");
	copy_fixture("m_palette.png", "imgs/a_cls/.hidden.png");
	put("imgs/a_cls/notes.txt", "hello", 5);
	put("imgs/a_cls/pic.bmp", "BM", 2);
	copy_fixture("m_1bit.png", "imgs/a_cls/s/5.png");
	copy_fixture("m_gray2.png", "imgs/a_cls/s/t/1.png");
	copy_fixture("gray.jpg", "imgs/a_cls/s-x/0.jpeg");
	put("imgs/b_cls/broken.png", "\x89PNG\r\n\x1a\nnot really", 18);
	copy_fixture("q90_420.jpg", "imgs/b_cls/ok.jpg");
	copy_fixture("m_rgb16.png", "imgs/C_upper/z.png");
	copy_fixture("m_palette4.png", "imgs/.hidden_cls/h.png");
}

static void
test_folder(void **state)
{
	static const char *const order[] = {
		"C_upper/z.png",
		"a_cls/10.png", "a_cls/2.png", "a_cls/x.JPG",
		"a_cls/s/5.png", "a_cls/s-x/0.jpeg", "a_cls/s/t/1.png",
		"b_cls/broken.png", "b_cls/ok.jpg",
	};
	static const int labels[] = { 0, 1, 1, 1, 1, 1, 1, 2, 2 };
	struct open_args a = { 0 };
	embed_image *im = NULL, *direct = NULL;
	char *err_text;
	size_t i;
	int ret;

	(void)state;
	make_folder();
	a.root = tu_path("imgs");
	err_text = capture_stderr(do_open, &a, &ret);
	assert_int_equal(ret, 0);
	/* byte order: "C_upper" < "a_cls" < "b_cls" < "empty_cls"; hidden out */
	assert_int_equal(a.d->kind, EMBED_DATA_FOLDER);
	assert_int_equal(a.d->nclasses, 4);
	assert_string_equal(a.d->class_names[0], "C_upper");
	assert_string_equal(a.d->class_names[1], "a_cls");
	assert_string_equal(a.d->class_names[2], "b_cls");
	assert_string_equal(a.d->class_names[3], "empty_cls");
	assert_non_null(strstr(err_text, "empty_cls"));
	assert_non_null(strstr(err_text, "skipped 1 file(s) in image formats"));  /* pic.bmp */
	free(err_text);
	/* sorted(os.walk()) order: "a_cls/s" < "a_cls/s-x" < "a_cls/s/t" */
	assert_int_equal(a.d->n, 9);
	for (i = 0; i < a.d->n; i++) {
		assert_string_equal(a.d->samples[i].path, order[i]);
		assert_int_equal(a.d->samples[i].label, labels[i]);
	}
	assert_int_equal(embed_dataset_load(a.d, 1, &im), 0);
	assert_int_equal(embed_image_load(FIX "m_rgba.png", &direct), 0);
	assert_int_equal(im->w, direct->w);
	assert_memory_equal(im->rgb, direct->rgb, (size_t)im->w * im->h * 3);
	embed_image_free(&im);
	embed_image_free(&direct);
	assert_int_equal(embed_dataset_load(a.d, 7, &im), VV_EFORMAT);
	assert_non_null(strstr(vv_errmsg(), "broken.png"));
	embed_dataset_free(&a.d);

	/* per_class then limit */
	a.o.per_class = 2;
	assert_int_equal(embed_dataset_open(a.root, &a.o, &a.d), 0);
	assert_int_equal(a.d->n, 5);
	assert_string_equal(a.d->samples[2].path, "a_cls/2.png");
	assert_string_equal(a.d->samples[3].path, "b_cls/broken.png");
	embed_dataset_free(&a.d);
	a.o.limit = 4;
	assert_int_equal(embed_dataset_open(a.root, &a.o, &a.d), 0);
	assert_int_equal(a.d->n, 4);
	embed_dataset_free(&a.d);

	/* validate: the broken file is dropped with one warning naming it,
	 * and b_cls still gets its slot filled by ok.jpg */
	a.o.limit = 0;
	a.o.validate = 1;
	err_text = capture_stderr(do_open, &a, &ret);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(err_text, "b_cls/broken.png"));
	assert_non_null(strstr(err_text, "warning"));
	assert_int_equal(a.d->n, 4);
	assert_string_equal(a.d->samples[3].path, "b_cls/ok.jpg");
	free(err_text);
	embed_dataset_free(&a.d);
	/* strict: an error instead */
	a.o.strict = 1;
	assert_int_equal(embed_dataset_open(a.root, &a.o, &a.d), VV_EFORMAT);
	assert_null(a.d);
	assert_non_null(strstr(vv_errmsg(), "b_cls/broken.png"));
}

static void
test_load_path(void **state)
{
	static const char *const evil[] = {
		"../imgs/a_cls/2.png", "a_cls/../../etc/passwd", "/etc/passwd", "..", "a_cls/..",
		"", "../c10/test_batch.bin:1",
	};
	embed_image *im = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		assert_int_equal(embed_dataset_load_path(tu_path("imgs"), evil[i], &im), VV_EINVAL);
		assert_null(im);
	}
	assert_int_equal(embed_dataset_load_path(tu_path("imgs"), "a_cls/s/t/1.png", &im), 0);
	assert_int_equal(im->w, 37);
	embed_image_free(&im);
	/* a ".." inside a name is not a component */
	copy_fixture("m_gray.png", "imgs/a_cls/x..y.png");
	assert_int_equal(embed_dataset_load_path(tu_path("imgs"), "a_cls/x..y.png", &im), 0);
	embed_image_free(&im);
	assert_int_equal(embed_dataset_load_path(tu_path("imgs"), "a_cls/missing.png", &im), VV_ENOTFOUND);
	assert_int_equal(embed_dataset_load_path(tu_path("imgs"), "b_cls/broken.png", &im), VV_EFORMAT);
}

static void
test_empty(void **state)
{
	embed_dataset *d = NULL;

	(void)state;
	mkdirs("empty");
	assert_int_equal(embed_dataset_open(tu_path("empty"), NULL, &d), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "no class folders"));
	/* images without class folders */
	copy_fixture("m_gray.png", "empty/a.png");
	assert_int_equal(embed_dataset_open(tu_path("empty"), NULL, &d), VV_ENOTFOUND);
	/* class folders without images */
	mkdirs("empty/cls");
	assert_int_equal(embed_dataset_open(tu_path("empty"), NULL, &d), VV_ENOTFOUND);
	assert_non_null(strstr(vv_errmsg(), "no .jpg/.jpeg/.png images"));
	assert_null(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cifar10_file),
		cmocka_unit_test(test_cifar_train_split),
		cmocka_unit_test(test_cifar100),
		cmocka_unit_test(test_cifar_bad),
		cmocka_unit_test(test_folder),
		cmocka_unit_test(test_load_path),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
