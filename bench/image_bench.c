/*
 * image_bench.c - vitviz's image decode + ViT preprocessing (the code path
 * `vitviz embed` runs per image: embed_image_decode, then embed_preprocess
 * with a bilinear resize to 224x224, rescale 1/255 and normalisation by
 * 0.5/0.5), moved here from tests/test_image.c (benchmarks do not belong in
 * the tests).
 *
 *   build/bench/image_bench IMAGE REPEATS
 *
 * Decodes and preprocesses the image REPEATS times (after one warm-up) and
 * prints one line of key=value pairs: decode_ms and preprocess_ms (mean
 * per image), width, height.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "embed/images/embed_decode.h"
#include "embed/images/embed_image.h"
#include "embed/images/embed_preproc.h"

int
main(int argc, char **argv)
{
	embed_preproc pp = { 0 };
	char *buf = NULL;
	size_t len;
	float *out = malloc(sizeof(float) * 3 * 224 * 224);
	double t1 = 0, t2 = 0;
	int i, n, w = 0, h = 0;

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: image_bench IMAGE REPEATS\n");
		return 2;
	}
	if (!out || vv_read_file(argv[1], 1 << 26, &buf, &len)) {
		fprintf(stderr, "image_bench: %s\n", out ? vv_errmsg() : "out of memory");
		return 1;
	}
	pp.do_resize = 1;
	pp.size_w = pp.size_h = 224;
	pp.resample = EMBED_RESAMPLE_BILINEAR;
	pp.do_rescale = 1;
	pp.rescale = 1.0 / 255;
	pp.do_normalize = 1;
	pp.mean[0] = pp.mean[1] = pp.mean[2] = 0.5f;
	pp.std[0] = pp.std[1] = pp.std[2] = 0.5f;
	for (i = -1; i < n; i++) { /* i = -1: warm-up, not timed */
		embed_image *im = NULL;
		double a = vv_now(), b, c;

		if (embed_image_decode(argv[1], (unsigned char *)buf, len, &im)) {
			fprintf(stderr, "image_bench: %s\n", vv_errmsg());
			return 1;
		}
		b = vv_now();
		if (embed_preprocess(&pp, im, out, 224, 224)) {
			fprintf(stderr, "image_bench: %s\n", vv_errmsg());
			return 1;
		}
		c = vv_now();
		if (i >= 0) {
			t1 += b - a;
			t2 += c - b;
		}
		w = im->w;
		h = im->h;
		embed_image_free(&im);
	}
	printf("decode_ms=%.3f preprocess_ms=%.3f width=%d height=%d\n", 1e3 * t1 / n, 1e3 * t2 / n, w, h);
	free(out);
	free(buf);
	return 0;
}
