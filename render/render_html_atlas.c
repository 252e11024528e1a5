/* render_html_atlas.c - thumbnails of the HTML viewer as JPEG atlases. */
#include "render/render_html_atlas.h"
#include "common/vv_error.h"
#include "common/vv_log.h"
#include "embed/images/embed_image.h"
#include "embed/images/embed_resize.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define ATLAS_PX 1024     /* atlas side at the requested cell side */
#define ATLAS_QUALITY 80  /* JPEG quality of the atlases */
#define MIN_SIDE 12       /* smallest cell the budget may shrink to */
#define CELL_GREY 128     /* background of cells (letterbox, failed loads) */

struct jpeg_err {
	struct jpeg_error_mgr pub; /* libjpeg's handler table */
	jmp_buf jb;                /* where error_exit returns to */
};

static void
on_jpeg_error(j_common_ptr c)
{
	longjmp(((struct jpeg_err *)c->err)->jb, 1);
}

/* Encode w x h RGB8 as a baseline JPEG with optimized Huffman tables. */
static int
encode_jpeg(const uint8_t *rgb, int w, int h, unsigned char **out, size_t *len)
{
	struct jpeg_compress_struct ci;
	struct jpeg_err je;
	unsigned char *buf = NULL;
	unsigned long sz = 0;

	*out = NULL;
	ci.err = jpeg_std_error(&je.pub);
	je.pub.error_exit = on_jpeg_error;
	if (setjmp(je.jb)) {
		jpeg_destroy_compress(&ci);
		free(buf);
		return vv_error(VV_ENOMEM, "thumbnails: JPEG encoding failed");
	}
	jpeg_create_compress(&ci);
	jpeg_mem_dest(&ci, &buf, &sz);
	ci.image_width = (JDIMENSION)w;
	ci.image_height = (JDIMENSION)h;
	ci.input_components = 3;
	ci.in_color_space = JCS_RGB;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, ATLAS_QUALITY, TRUE);
	ci.optimize_coding = TRUE;
	jpeg_start_compress(&ci, TRUE);
	while (ci.next_scanline < ci.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)ci.next_scanline * w * 3);

		jpeg_write_scanlines(&ci, &row, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	*out = buf;
	*len = sz;
	return 0;
}

/* img reduced (never enlarged) to fit side x side, aspect kept; a new image. */
static int
fit(const embed_image *img, int side, embed_image **out)
{
	double k = (double)side / (img->w > img->h ? img->w : img->h);
	int w, h;

	if (k >= 1)
		k = 1;
	w = (int)(img->w * k + 0.5);
	h = (int)(img->h * k + 0.5);
	w = w < 1 ? 1 : w > side ? side : w;
	h = h < 1 ? 1 : h > side ? side : h;
	if (w == img->w && h == img->h) {
		int err = embed_image_alloc(out, w, h);

		if (!err)
			memcpy((*out)->rgb, img->rgb, (size_t)w * h * 3);
		return err;
	}
	return embed_image_resize(img, w, h, EMBED_RESAMPLE_BILINEAR, out);
}

/* Copy a cell image (at most side x side) centred into cell `c` of the atlas. */
static void
put_cell(uint8_t *atlas, int cols, int side, int c, const embed_image *img)
{
	int apx = cols * side, x0 = (c % cols) * side, y0 = (c / cols) * side;

	for (int y = 0; y < side; y++)
		memset(atlas + ((size_t)(y0 + y) * apx + x0) * 3, CELL_GREY, (size_t)side * 3);
	if (!img)
		return;
	x0 += (side - img->w) / 2;
	y0 += (side - img->h) / 2;
	for (int y = 0; y < img->h; y++)
		memcpy(atlas + ((size_t)(y0 + y) * apx + x0) * 3, img->rgb + (size_t)y * img->w * 3,
		       (size_t)img->w * 3);
}

void
render_html_atlas_free(render_html_atlas **pa)
{
	render_html_atlas *a = *pa;

	if (!a)
		return;
	for (size_t i = 0; i < a->natlas; i++)
		free(a->jpeg[i]);
	free(a->jpeg);
	free(a->len);
	free(a->ok);
	free(a);
	*pa = NULL;
}

/* Decode list entry k and fit it into `side`; NULL image on a load failure (warned once). */
static int
load_cell(const char *root, const vv_samples *s, int64_t i, int side, render_thumb_load_fn load,
	  render_thumb_free_fn free_fn, int *warned, embed_image **out)
{
	embed_image *img = NULL;
	int err;

	*out = NULL;
	err = load(root, s->path[i], &img);
	if (err || !img || img->w < 1 || img->h < 1 || !img->rgb) {
		if (!(*warned)++)
			vv_warn("thumbnail of sample %lld (%s): %s (shown grey)", (long long)i, s->path[i],
				err ? vv_errmsg() : "no image");
		if (img)
			free_fn(&img);
		return 0;
	}
	err = fit(img, side, out);
	free_fn(&img);
	return err;
}

/* Append one encoded atlas. */
static int
push_atlas(render_html_atlas *a, unsigned char *jpeg, size_t len)
{
	unsigned char **j = realloc(a->jpeg, (a->natlas + 1) * sizeof(*j));
	size_t *l;

	if (!j)
		return vv_error(VV_ENOMEM, "out of memory");
	a->jpeg = j;
	l = realloc(a->len, (a->natlas + 1) * sizeof(*l));
	if (!l)
		return vv_error(VV_ENOMEM, "out of memory");
	a->len = l;
	a->jpeg[a->natlas] = jpeg;
	a->len[a->natlas++] = len;
	a->bytes += len;
	return 0;
}

int
render_html_atlas_build(render_html_atlas **pa, const char *root, const vv_samples *s, const int64_t *idx,
			size_t n, int side, int64_t budget, render_thumb_load_fn load,
			render_thumb_free_fn free_fn)
{
	render_html_atlas *a;
	embed_image **first = NULL;
	uint8_t *atlas = NULL;
	vv_progress *prog = NULL;
	size_t per, nfirst, done;
	int warned = 0, err = 0;

	*pa = NULL;
	if (side < 8 || side > 64 || !load || !free_fn)
		return vv_error(VV_EINVAL, "thumbnails: bad side %d or no loader", side);
	a = calloc(1, sizeof(*a));
	if (!a)
		return vv_error(VV_ENOMEM, "out of memory");
	a->cols = ATLAS_PX / side;
	a->side = side;
	per = (size_t)a->cols * a->cols;
	nfirst = n < per ? n : per;
	a->ok = calloc(n ? n : 1, 1);
	first = calloc(nfirst ? nfirst : 1, sizeof(*first));
	atlas = malloc((size_t)ATLAS_PX * ATLAS_PX * 3);
	if (!a->ok || !first || !atlas) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	prog = vv_progress_alloc("thumbnails", (int64_t)n, "images");

	/* the first atlas decides the cell side: shrink until the projection fits */
	for (size_t k = 0; k < nfirst; k++) {
		if ((err = load_cell(root, s, idx[k], side, load, free_fn, &warned, &first[k])))
			goto out_free;
		a->ok[k] = first[k] != NULL;
		vv_progress_update(prog, (int64_t)k + 1);
	}
	for (;;) {
		unsigned char *jpeg = NULL;
		size_t len = 0;

		for (size_t k = 0; k < nfirst; k++) {
			embed_image *c = NULL;

			if (first[k] && (first[k]->w > a->side || first[k]->h > a->side) &&
			    (err = fit(first[k], a->side, &c)))
				goto out_free;
			put_cell(atlas, a->cols, a->side, (int)k, c ? c : first[k]);
			embed_image_free(&c);
		}
		{
			/* the used rows only */
			int rows = (int)((nfirst + a->cols - 1) / a->cols);

			if (nfirst && (err = encode_jpeg(atlas, a->cols * a->side, rows * a->side, &jpeg, &len)))
				goto out_free;
		}
		if (nfirst && (double)len / nfirst * n > (double)budget && a->side > MIN_SIDE) {
			free(jpeg);
			a->side = a->side * 3 / 4 < MIN_SIDE ? MIN_SIDE : a->side * 3 / 4;
			continue;
		}
		if (nfirst && (int64_t)len > budget) {
			free(jpeg);
			memset(a->ok, 0, n);
			break;
		}
		if (nfirst && (err = push_atlas(a, jpeg, len))) {
			free(jpeg);
			goto out_free;
		}
		a->ncells = nfirst;
		break;
	}
	if (a->side != side)
		vv_info("thumbnails: %d px instead of %d to fit the size budget", a->side, side);

	/* the other atlases at that side, while the budget lasts */
	for (done = a->ncells; done < n && a->natlas; done += per) {
		size_t m = n - done < per ? n - done : per;
		int rows = (int)((m + a->cols - 1) / a->cols);
		unsigned char *jpeg = NULL;
		size_t len = 0;

		for (size_t k = 0; k < m; k++) {
			embed_image *c = NULL;

			if ((err = load_cell(root, s, idx[done + k], a->side, load, free_fn, &warned, &c)))
				goto out_free;
			a->ok[done + k] = c != NULL;
			put_cell(atlas, a->cols, a->side, (int)k, c);
			embed_image_free(&c);
			vv_progress_update(prog, (int64_t)(done + k + 1));
		}
		if ((err = encode_jpeg(atlas, a->cols * a->side, rows * a->side, &jpeg, &len)))
			goto out_free;
		if ((int64_t)(a->bytes + len) > budget) {
			free(jpeg);
			memset(a->ok + done, 0, n - done);
			break;
		}
		if ((err = push_atlas(a, jpeg, len))) {
			free(jpeg);
			goto out_free;
		}
		a->ncells = done + m;
	}
	if (a->ncells < n)
		vv_warn("thumbnails for the first %zu of %zu samples only (the file's size budget; raise --max-mb)",
			a->ncells, n);
out_free:
	vv_progress_free(&prog);
	for (size_t k = 0; first && k < nfirst; k++)
		embed_image_free(&first[k]);
	free(first);
	free(atlas);
	if (err)
		render_html_atlas_free(&a);
	*pa = a;
	return err;
}
