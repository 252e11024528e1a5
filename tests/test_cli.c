/*
 * test_cli.c - the vitviz command end to end on the bundled demo: embed,
 * analyze, render (MP4 and GIF), report, reuse on rerun, and the one-line
 * errors with their exit codes.  Runs the binary named by $VITVIZ
 * (default build/vitviz) from the repository root (tests/test_util.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/vv_csv.h"
#include "common/vv_fs.h"
#include "common/vv_npy.h"
#include "tests/test_util.h"

#define DEMO_RUN "data/demo/run"
#define DEMO_DATA "data/demo/images"
#define DEMO_FIX "tests/fixtures/demo"
/* 30 checkpoints x 0.1 s + 0.5 s hold at 10 fps */
#define SMALL "--size 320x240 --fps 10 --seconds-per-checkpoint 0.1 --hold 0.5"
#define SMALL_FRAMES 35

static int
setup(void **state)
{
	(void)state;
	if (tu_setup("test_cli"))
		return -1;
	/* one full run that the other tests inspect */
	return tu_run("--quiet run %s --data %s -o %s --work %s %s", DEMO_RUN, DEMO_DATA,
		      tu_path("demo.mp4"), tu_path("work"), SMALL) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return tu_teardown();
}

typedef struct probe {
	enum AVCodecID codec; /* video codec */
	int w, h;             /* frame size */
	int packets;          /* video packets = frames for these codecs */
	double duration;      /* container duration in seconds */
} probe;

static void
probe_file(const char *path, probe *p)
{
	AVFormatContext *fc = NULL;
	AVPacket *pkt = av_packet_alloc();
	int si;

	memset(p, 0, sizeof(*p));
	assert_int_equal(avformat_open_input(&fc, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(fc, NULL) >= 0);
	si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	assert_true(si >= 0);
	p->codec = fc->streams[si]->codecpar->codec_id;
	p->w = fc->streams[si]->codecpar->width;
	p->h = fc->streams[si]->codecpar->height;
	p->duration = fc->duration / (double)AV_TIME_BASE;
	while (av_read_frame(fc, pkt) >= 0) {
		p->packets += pkt->stream_index == si;
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&fc);
}

static void
test_mp4(void **state)
{
	probe p;

	(void)state;
	probe_file(tu_path("demo.mp4"), &p);
	assert_int_equal(p.codec, AV_CODEC_ID_H264);
	assert_int_equal(p.w, 320);
	assert_int_equal(p.h, 240);
	assert_int_equal(p.packets, SMALL_FRAMES);
	assert_true(fabs(p.duration - SMALL_FRAMES / 10.0) < 0.15);
}

/* The C forward pass against the PyTorch reference of scripts/make_demo.py. */
static void
test_embeddings_match_reference(void **state)
{
	static const char *const ck[] = { "checkpoint-15", "checkpoint-450" };
	char path[512];
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		vv_array *a = NULL, *b = NULL, *la = NULL, *lb = NULL;
		double md;

		snprintf(path, sizeof(path), "%s/work/embeddings/%s.npy", tu_tmp, ck[i]);
		assert_int_equal(vv_npy_read(path, &a), 0);
		snprintf(path, sizeof(path), "%s/%s.emb.npy", DEMO_FIX, ck[i]);
		assert_int_equal(vv_npy_read(path, &b), 0);
		snprintf(path, sizeof(path), "%s/work/logits/%s.npy", tu_tmp, ck[i]);
		assert_int_equal(vv_npy_read(path, &la), 0);
		snprintf(path, sizeof(path), "%s/%s.logits.npy", DEMO_FIX, ck[i]);
		assert_int_equal(vv_npy_read(path, &lb), 0);
		assert_int_equal(a->shape[0], 360);
		assert_int_equal(a->shape[0], b->shape[0]);
		assert_int_equal(a->shape[1], b->shape[1]);
		assert_int_equal(la->shape[1], 10);
		md = tu_fmax(tu_max_diff_array(a, b, "embeddings"), tu_max_diff_array(la, lb, "logits"));
		/* tolerance of the parity promise: 1e-4 max abs */
		assert_true(md <= 1e-4);
		vv_array_free(&a);
		vv_array_free(&b);
		vv_array_free(&la);
		vv_array_free(&lb);
	}
}

/* samples.csv lists the images in torchvision ImageFolder order. */
static void
test_samples_order(void **state)
{
	char *want, *tok, *save = NULL;
	size_t len, i = 0;
	vv_csv *c = NULL;

	(void)state;
	assert_int_equal(vv_read_file(DEMO_FIX "/samples.txt", 1 << 20, &want, &len), 0);
	assert_int_equal(vv_csv_read(tu_path("work/samples.csv"), 1 << 22, &c), 0);
	assert_int_equal(c->nrows, 360);
	for (tok = strtok_r(want, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save), i++)
		assert_string_equal(c->rows[i][vv_csv_col(c, "path")], tok);
	assert_int_equal(i, 360);
	vv_csv_free(&c);
	free(want);
}

static void
test_gif_and_report(void **state)
{
	vv_csv *c = NULL;
	double prev = -1;
	probe p;
	size_t i;

	(void)state;
	assert_int_equal(tu_run("--quiet render %s -o %s %s", tu_path("work"), tu_path("demo.gif"), SMALL), 0);
	probe_file(tu_path("demo.gif"), &p);
	assert_int_equal(p.codec, AV_CODEC_ID_GIF);
	assert_int_equal(p.w, 320);
	assert_int_equal(p.h, 240);
	assert_int_equal(p.packets, SMALL_FRAMES);

	assert_int_equal(tu_run("report %s --top 8 -o %s", tu_path("work"), tu_path("top.csv")), 0);
	assert_int_equal(vv_csv_read(tu_path("top.csv"), 1 << 20, &c), 0);
	assert_int_equal(c->nrows, 8);
	assert_true(vv_csv_col(c, "score") >= 0 && vv_csv_col(c, "path") >= 0);
	assert_true(vv_csv_col(c, "label_quality") >= 0);
	for (i = 0; i < c->nrows; i++) {
		double s = atof(c->rows[i][vv_csv_col(c, "score")]);

		assert_int_equal(atoi(c->rows[i][vv_csv_col(c, "rank")]), (int)i + 1);
		assert_true(s >= prev && s > 0 && s <= 1);
		prev = s;
	}
	vv_csv_free(&c);
}

/* A rerun recomputes nothing: the embeddings are not rewritten. */
static void
test_rerun_reuses(void **state)
{
	struct stat a, b;

	(void)state;
	assert_int_equal(stat(tu_path("work/embeddings/checkpoint-450.npy"), &a), 0);
	assert_int_equal(tu_run("embed %s --data %s -o %s", DEMO_RUN, DEMO_DATA, tu_path("work")), 0);
	assert_non_null(strstr(tu_err(), "0 computed, 30 reused"));
	assert_int_equal(stat(tu_path("work/embeddings/checkpoint-450.npy"), &b), 0);
	/* outputs are replaced by rename: the same inode means not rewritten */
	assert_int_equal(a.st_ino, b.st_ino);
}

static void
test_errors(void **state)
{
	(void)state;
	/* bad input: one line naming the file, exit 3 */
	assert_int_equal(tu_run("embed %s/nowhere --data %s -o %s", tu_tmp, DEMO_DATA, tu_path("w2")), 3);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "nowhere"));
	assert_int_equal(tu_run("analyze %s", tu_tmp), 3);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "not a vitviz work folder"));
	/* bad command line: exit 2 */
	assert_int_equal(tu_run("frobnicate"), 2);
	assert_int_equal(tu_run("render %s -o x.avi --size 321x240", tu_path("work")), 2);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_int_equal(tu_run("embed %s -o %s", DEMO_RUN, tu_path("w3")), 2);
	assert_non_null(strstr(tu_err(), "--data"));
	/* help and version succeed */
	assert_int_equal(tu_run("--help"), 0);
	assert_int_equal(tu_run("run --help"), 0);
	assert_int_equal(tu_run("--version"), 0);
}

/*
 * --version names the BLAS and its kernel set; a kernel set the user
 * chose with OPENBLAS_CORETYPE is kept (vitviz only picks one when the
 * variable is unset).
 */
static void
test_version_blas(void **state)
{
	(void)state;
	assert_int_equal(tu_run("--version"), 0);
	assert_non_null(strstr(tu_out(), "OpenBLAS"));
	assert_non_null(strstr(tu_out(), " kernels"));
	assert_non_null(strstr(tu_out(), " thread"));
	assert_int_equal(tu_sh("OPENBLAS_CORETYPE=Haswell %s --version >%s", tu_vitviz(),
			       tu_path("out")), 0);
	assert_non_null(strstr(tu_out(), "Haswell kernels (OPENBLAS_CORETYPE)"));
	/* --verbose says it too, on stderr */
	assert_int_equal(tu_run("--verbose info %s", tu_path("nonexistent")), 3);
	assert_non_null(strstr(tu_err(), "BLAS: OpenBLAS"));
	assert_non_null(strstr(tu_err(), "element-wise kernels: "));
}

/*
 * `report` to stdout: the exact header (CRLF line ends), --top rows ranked
 * 1..N by ascending score, each row naming its sample as samples.csv does.
 */
static void
test_report_header(void **state)
{
	vv_csv *c = NULL, *s = NULL;
	const char *out;
	size_t i;

	(void)state;
	assert_int_equal(tu_run("report %s --top 5", tu_path("work")), 0);
	out = tu_out();
	{
		static const char hdr[] = "rank,index,path,label,label_name,score,predicted,predicted_name,"
					  "misclassified,label_quality\r\n";

		assert_true(!strncmp(out, hdr, sizeof(hdr) - 1));
	}
	assert_int_equal(tu_count_lines(out), 6);
	assert_int_equal(vv_csv_parse("stdout", out, strlen(out), &c), 0);
	assert_int_equal(vv_csv_read(tu_path("work/samples.csv"), 1 << 22, &s), 0);
	assert_int_equal(c->nrows, 5);
	for (i = 0; i < c->nrows; i++) {
		int idx = atoi(c->rows[i][vv_csv_col(c, "index")]);

		assert_int_equal(atoi(c->rows[i][vv_csv_col(c, "rank")]), (int)i + 1);
		assert_true(idx >= 0 && (size_t)idx < s->nrows);
		assert_string_equal(c->rows[i][vv_csv_col(c, "path")], s->rows[idx][vv_csv_col(s, "path")]);
		assert_string_equal(c->rows[i][vv_csv_col(c, "label_name")], s->rows[idx][vv_csv_col(s, "label_name")]);
	}
	vv_csv_free(&s);
	vv_csv_free(&c);
}

/* `info` lists every checkpoint, the loss log and the model; a folder without checkpoints is exit 3, one line. */
static void
test_info(void **state)
{
	(void)state;
	assert_int_equal(tu_run("info %s", DEMO_RUN), 0);
	assert_non_null(strstr(tu_out(), "30 checkpoint(s):"));
	assert_non_null(strstr(tu_out(), "  checkpoint-15 "));
	assert_non_null(strstr(tu_out(), "  checkpoint-450 "));
	assert_non_null(strstr(tu_out(), "loss curve: trainer_state"));
	assert_non_null(strstr(tu_out(), "classifier: 10 outputs"));
	assert_non_null(strstr(tu_out(), "check: the weights build the model"));
	assert_int_equal(tu_sh("mkdir -p '%s'", tu_path("empty_run")), 0);
	assert_int_equal(tu_run("info %s", tu_path("empty_run")), 3);
	assert_int_equal(tu_count_lines(tu_err()), 1);
	assert_non_null(strstr(tu_err(), "empty_run"));
}

/*
 * Class folders with CJK names end to end (paths, labels, rendering; the
 * predictions of renamed folders are test_labels's): samples.csv, the
 * manifest and the report carry the UTF-8 names and paths unchanged, the
 * video and a still render, and a sample's thumbnail path resolves.
 */
static void
test_cjk_class_folders(void **state)
{
	/* 狗 猫 鳥 bird: in byte order, the order of the class indices */
	static const char *const names[3] = { "\xe7\x8b\x97", "\xe7\x8c\xab", "\xe9\xb3\xa5 bird" };
	char data[256];
	vv_csv *c = NULL;
	size_t i;
	int k;

	(void)state;
	snprintf(data, sizeof(data), "%s", tu_path("cjk_data")); /* tu_path's buffers rotate */
	assert_int_equal(tu_demo_subset("cjk_run", 2), 0);
	for (k = 0; k < 3; k++)
		assert_int_equal(tu_sh("mkdir -p \"%s/%s\" && cp $(ls -d %s/%d/* | head -4) \"%s/%s/\"", data, names[k],
				       DEMO_DATA, k, data, names[k]), 0);
	/* data class -> model class (the demo model's classes are "0".."9") */
	{
		FILE *f = fopen(tu_path("cjk_map.csv"), "w");

		assert_non_null(f);
		fprintf(f, "data_class,model_class\n%s,0\n%s,1\n\"%s\",2\n", names[0], names[1], names[2]);
		fclose(f);
	}
	assert_int_equal(tu_run("--quiet run %s --data %s --label-map %s -o %s --work %s %s", tu_path("cjk_run"), data,
				tu_path("cjk_map.csv"), tu_path("cjk.mp4"), tu_path("cjk_work"), SMALL), 0);
	assert_true(tu_exists(tu_path("cjk.mp4")));
	assert_int_equal(vv_csv_read(tu_path("cjk_work/samples.csv"), 1 << 20, &c), 0);
	assert_int_equal(c->nrows, 12);
	for (i = 0; i < c->nrows; i++) {
		const char *path = c->rows[i][vv_csv_col(c, "path")], *name = c->rows[i][vv_csv_col(c, "label_name")];

		k = atoi(c->rows[i][vv_csv_col(c, "label")]);
		assert_int_equal(k, (int)i / 4);
		assert_string_equal(name, names[k]);
		assert_true(!strncmp(path, names[k], strlen(names[k])) && path[strlen(names[k])] == '/');
		assert_int_equal(tu_sh("test -f \"%s/%s\"", data, path), 0);
	}
	vv_csv_free(&c);
	/* the manifest's classes */
	{
		char *buf = NULL;
		size_t len;

		assert_int_equal(vv_read_file(tu_path("cjk_work/manifest.json"), 1 << 20, &buf, &len), 0);
		for (k = 0; k < 3; k++)
			assert_non_null(strstr(buf, names[k]));
		free(buf);
	}
	/* the report names CJK paths and labels as they are */
	assert_int_equal(tu_run("report %s --top 3 -o %s", tu_path("cjk_work"), tu_path("cjk_top.csv")), 0);
	assert_int_equal(vv_csv_read(tu_path("cjk_top.csv"), 1 << 20, &c), 0);
	assert_int_equal(c->nrows, 3);
	for (i = 0; i < c->nrows; i++) {
		k = atoi(c->rows[i][vv_csv_col(c, "label")]);
		assert_string_equal(c->rows[i][vv_csv_col(c, "label_name")], names[k]);
		assert_int_equal(tu_sh("test -f \"%s/%s\"", data, c->rows[i][vv_csv_col(c, "path")]), 0);
	}
	vv_csv_free(&c);
	/* a still with the CJK legend and the outliers' thumbnails read from the CJK paths */
	assert_int_equal(tu_run("frame %s --checkpoint last -o %s --size 640x360", tu_path("cjk_work"),
				tu_path("cjk.png")), 0);
	assert_true(tu_exists(tu_path("cjk.png")));
	assert_null(strstr(tu_err(), "warning"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mp4),
		cmocka_unit_test(test_embeddings_match_reference),
		cmocka_unit_test(test_samples_order),
		cmocka_unit_test(test_gif_and_report),
		cmocka_unit_test(test_rerun_reuses),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_version_blas),
		cmocka_unit_test(test_report_header),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_cjk_class_folders),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
