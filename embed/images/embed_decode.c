/*
 * embed_decode.c - JPEG and PNG to RGB, matching Pillow's decoders and its
 * convert("RGB").
 *
 * libjpeg and libpng report fatal errors by longjmp.  All state that must
 * survive the jump lives in a job struct owned by the caller of the
 * function that calls setjmp(), so nothing depends on the values of
 * automatic variables after the jump.
 */
#include "embed/images/embed_decode.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* Largest image file read. */
#define MAX_FILE_BYTES ((size_t)256 << 20)

static int
check_size(const char *name, uint64_t w, uint64_t h)
{
	if (w == 0 || h == 0)
		return vv_error(VV_EFORMAT, "%s: image has zero width or height", name);
	if (w > EMBED_IMAGE_MAX_SIDE || h > EMBED_IMAGE_MAX_SIDE || w * h > EMBED_IMAGE_MAX_PIXELS)
		return vv_error(VV_EUNSUPPORTED,
				"%s: image of %llu x %llu pixels exceeds the limit (%d per side, %llu pixels)",
				name, (unsigned long long)w, (unsigned long long)h,
				EMBED_IMAGE_MAX_SIDE, (unsigned long long)EMBED_IMAGE_MAX_PIXELS);
	return 0;
}

/* ---- JPEG ---- */

struct jpeg_job {
	struct jpeg_error_mgr pub;     /* libjpeg's error manager, first */
	jmp_buf jb;                    /* where fatal errors land */
	char msg[JMSG_LENGTH_MAX];     /* libjpeg's message for the failure */
	struct jpeg_decompress_struct cinfo; /* decoder state */
	const char *name;              /* file name for messages */
	const unsigned char *buf;      /* encoded data */
	size_t len;                    /* its length */
	embed_image *im;               /* output being filled */
	unsigned char *row;            /* one decoded scanline (gray/CMYK) */
	int err;                       /* VV_E* code set before a jump */
};

static void
jpeg_fail(j_common_ptr c)
{
	struct jpeg_job *j = (struct jpeg_job *)c->err;

	c->err->format_message(c, j->msg);
	longjmp(j->jb, 1);
}

/*
 * Warnings (level -1) are ignored as Pillow ignores them, except running
 * out of data: Pillow reports a truncated file, so do we.
 */
static void
jpeg_note(j_common_ptr c, int level)
{
	struct jpeg_job *j = (struct jpeg_job *)c->err;

	if (level == -1 && c->err->msg_code == JWRN_JPEG_EOF) {
		snprintf(j->msg, sizeof(j->msg), "file is truncated");
		longjmp(j->jb, 1);
	}
}

/* Pillow's cmyk2rgb on Adobe-inverted samples ("CMYK;I"). */
static void
cmyk_row_to_rgb(const unsigned char *in, unsigned char *out, int w)
{
	int x;

	for (x = 0; x < w; x++, in += 4, out += 3) {
		int k = in[3], c;

		/* inverted polarity: stored values are 255 - ink, so
		 * 255 - k_ink = stored k */
		for (c = 0; c < 3; c++) {
			int ink = 255 - in[c], t = ink * k + 128, v;

			v = k - (((t >> 8) + t) >> 8);
			out[c] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
}

static int
jpeg_body(struct jpeg_job *j)
{
	struct jpeg_decompress_struct *ci = &j->cinfo;
	int w, h, ncomp, x;

	jpeg_create_decompress(ci);
	jpeg_mem_src(ci, j->buf, (unsigned long)j->len);
	jpeg_read_header(ci, TRUE);
	j->err = check_size(j->name, ci->image_width, ci->image_height);
	if (j->err)
		return j->err;
	ncomp = ci->num_components;
	switch (ncomp) {
	case 1:
		ci->out_color_space = JCS_GRAYSCALE;
		break;
	case 3:
		ci->out_color_space = JCS_RGB;
		break;
	case 4:
		ci->out_color_space = JCS_CMYK;
		break;
	default:
		return j->err = vv_error(VV_EUNSUPPORTED, "%s: JPEG with %d components", j->name, ncomp);
	}
	jpeg_start_decompress(ci);
	w = (int)ci->output_width;
	h = (int)ci->output_height;
	if (ci->output_components != ncomp)
		return j->err = vv_error(VV_EFORMAT, "%s: JPEG: unexpected %d output components",
					 j->name, ci->output_components);
	j->err = embed_image_alloc(&j->im, w, h);
	if (j->err)
		return j->err;
	if (ncomp != 3) {
		j->row = malloc((size_t)w * (size_t)ncomp);
		if (!j->row)
			return j->err = vv_error(VV_ENOMEM, "%s: out of memory", j->name);
	}
	while ((int)ci->output_scanline < h) {
		int y = (int)ci->output_scanline;
		unsigned char *dst = j->im->rgb + (size_t)y * w * 3;
		JSAMPROW rp = ncomp == 3 ? dst : j->row;

		if (jpeg_read_scanlines(ci, &rp, 1) != 1)
			return j->err = vv_error(VV_EFORMAT, "%s: JPEG: file is truncated", j->name);
		if (ncomp == 1) {
			for (x = 0; x < w; x++)
				dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = j->row[x];
		} else if (ncomp == 4) {
			cmyk_row_to_rgb(j->row, dst, w);
		}
	}
	/*
	 * No jpeg_finish_decompress(): once every row is out, a missing EOI
	 * or trailing bytes do not matter (Pillow ignores them too).
	 */
	return 0;
}

/* Locals of jpeg_body() are not in this frame, so the jump cannot clobber them. */
static int
jpeg_run(struct jpeg_job *j)
{
	if (setjmp(j->jb)) {
		if (!j->err)
			j->err = vv_error(VV_EFORMAT, "%s: JPEG: %s", j->name, j->msg);
		return j->err;
	}
	return jpeg_body(j);
}

int
embed_decode_jpeg(const char *name, const unsigned char *buf, size_t len,
		  embed_image **out)
{
	struct jpeg_job *j;
	int err;

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return vv_error(VV_ENOMEM, "%s: out of memory", name);
	j->name = name;
	j->buf = buf;
	j->len = len;
	j->cinfo.err = jpeg_std_error(&j->pub);
	j->pub.error_exit = jpeg_fail;
	j->pub.emit_message = jpeg_note;
	err = jpeg_run(j);
	jpeg_destroy_decompress(&j->cinfo);
	free(j->row);
	if (err)
		embed_image_free(&j->im);
	*out = j->im;
	free(j);
	return err;
}

/* ---- PNG ---- */

struct png_job {
	png_structp png;          /* libpng read state */
	png_infop info;           /* header information */
	char msg[256];            /* libpng's message for the failure */
	const char *name;         /* file name for messages */
	const unsigned char *buf; /* encoded data */
	size_t len;               /* its length */
	size_t pos;               /* bytes consumed */
	embed_image *im;          /* output being filled */
	unsigned char *rows;      /* decoded rows (one, or all when interlaced) */
	int err;                  /* VV_E* code set before a jump */
};

static void
png_fail(png_structp png, png_const_charp msg)
{
	struct png_job *j = png_get_error_ptr(png);

	snprintf(j->msg, sizeof(j->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void
png_note(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void
png_read_mem(png_structp png, png_bytep data, size_t n)
{
	struct png_job *j = png_get_io_ptr(png);

	if (n > j->len - j->pos)
		png_error(png, "file is truncated");
	memcpy(data, j->buf + j->pos, n);
	j->pos += n;
}

/* One decoded row (after the transforms set in png_run) to RGB. */
static void
png_row_to_rgb(const unsigned char *in, unsigned char *out, int w, int ctype,
	       int depth16, const unsigned char *pal)
{
	int x;

	switch (ctype) {
	case PNG_COLOR_TYPE_PALETTE:
		for (x = 0; x < w; x++)
			memcpy(out + 3 * x, pal + 3 * in[x], 3);
		break;
	case PNG_COLOR_TYPE_GRAY:
		for (x = 0; x < w; x++) {
			int v = depth16 ? (in[2 * x] << 8 | in[2 * x + 1]) : in[x];

			/* Pillow mode "I" to RGB clips; it does not scale */
			v = v > 255 ? 255 : v;
			out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = (unsigned char)v;
		}
		break;
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		for (x = 0; x < w; x++)
			out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[2 * x];
		break;
	case PNG_COLOR_TYPE_RGB:
		memcpy(out, in, (size_t)w * 3);
		break;
	case PNG_COLOR_TYPE_RGB_ALPHA:
		for (x = 0; x < w; x++)
			memcpy(out + 3 * x, in + 4 * x, 3);
		break;
	}
}

static int
png_body(struct png_job *j)
{
	png_uint_32 w, h;
	int depth, ctype, ilace, passes, depth16 = 0, chans, p, y, i;
	unsigned char pal[256 * 3];
	size_t rowbytes;

	png_set_read_fn(j->png, j, png_read_mem);
	/* our own limits below give the documented error code */
	png_set_user_limits(j->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
	png_read_info(j->png, j->info);
	png_get_IHDR(j->png, j->info, &w, &h, &depth, &ctype, &ilace, NULL, NULL);
	j->err = check_size(j->name, w, h);
	if (j->err)
		return j->err;

	/* palette: Pillow's default palette is a gray ramp, PLTE overrides */
	for (i = 0; i < 256; i++)
		pal[3 * i] = pal[3 * i + 1] = pal[3 * i + 2] = (unsigned char)i;
	if (ctype == PNG_COLOR_TYPE_PALETTE) {
		png_colorp plte;
		int n = 0;

		if (png_get_PLTE(j->png, j->info, &plte, &n) != PNG_INFO_PLTE)
			return j->err = vv_error(VV_EFORMAT, "%s: PNG: palette image without PLTE", j->name);
		for (i = 0; i < n && i < 256; i++) {
			pal[3 * i] = plte[i].red;
			pal[3 * i + 1] = plte[i].green;
			pal[3 * i + 2] = plte[i].blue;
		}
		if (depth < 8)
			png_set_packing(j->png);
	} else if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) {
		png_set_expand_gray_1_2_4_to_8(j->png);
	}
	if (depth == 16) {
		if (ctype == PNG_COLOR_TYPE_GRAY)
			depth16 = 1;
		else
			png_set_strip_16(j->png);  /* high byte, as Pillow's ;16B unpackers */
	}
	passes = png_set_interlace_handling(j->png);
	png_read_update_info(j->png, j->info);
	ctype = png_get_color_type(j->png, j->info);
	chans = png_get_channels(j->png, j->info);
	rowbytes = png_get_rowbytes(j->png, j->info);
	if (rowbytes != (size_t)w * (size_t)chans * (depth16 ? 2 : 1) ||
	    (ctype == PNG_COLOR_TYPE_PALETTE && chans != 1))
		return j->err = vv_error(VV_EFORMAT, "%s: PNG: unexpected row layout", j->name);

	j->err = embed_image_alloc(&j->im, (int)w, (int)h);
	if (j->err)
		return j->err;
	j->rows = malloc(rowbytes * (passes > 1 ? h : 1));
	if (!j->rows)
		return j->err = vv_error(VV_ENOMEM, "%s: out of memory", j->name);
	if (passes > 1) {
		/* interlaced: every pass refines the whole image in place */
		for (p = 0; p < passes; p++)
			for (y = 0; y < (int)h; y++)
				png_read_row(j->png, j->rows + (size_t)y * rowbytes, NULL);
		for (y = 0; y < (int)h; y++)
			png_row_to_rgb(j->rows + (size_t)y * rowbytes,
				       j->im->rgb + (size_t)y * w * 3, (int)w, ctype, depth16, pal);
	} else {
		for (y = 0; y < (int)h; y++) {
			png_read_row(j->png, j->rows, NULL);
			png_row_to_rgb(j->rows, j->im->rgb + (size_t)y * w * 3, (int)w,
				       ctype, depth16, pal);
		}
	}
	return 0;
}

/* Locals of png_body() are not in this frame, so the jump cannot clobber them. */
static int
png_run(struct png_job *j)
{
	if (setjmp(png_jmpbuf(j->png))) {
		if (!j->err)
			j->err = vv_error(VV_EFORMAT, "%s: PNG: %s", j->name, j->msg);
		return j->err;
	}
	return png_body(j);
}

int
embed_decode_png(const char *name, const unsigned char *buf, size_t len,
		 embed_image **out)
{
	struct png_job *j;
	int err;

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return vv_error(VV_ENOMEM, "%s: out of memory", name);
	j->name = name;
	j->buf = buf;
	j->len = len;
	j->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, j, png_fail, png_note);
	if (j->png)
		j->info = png_create_info_struct(j->png);
	if (!j->png || !j->info) {
		err = vv_error(VV_ENOMEM, "%s: out of memory", name);
		goto out_destroy;
	}
	err = png_run(j);
out_destroy:
	png_destroy_read_struct(&j->png, &j->info, NULL);
	free(j->rows);
	if (err)
		embed_image_free(&j->im);
	*out = j->im;
	free(j);
	return err;
}

int
embed_image_decode(const char *name, const unsigned char *buf, size_t len,
		   embed_image **out)
{
	static const unsigned char png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

	*out = NULL;
	if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		return embed_decode_jpeg(name, buf, len, out);
	if (len >= 8 && !memcmp(buf, png_magic, 8))
		return embed_decode_png(name, buf, len, out);
	return vv_error(VV_EFORMAT, "%s: not a JPEG or PNG file", name);
}

int
embed_image_load(const char *path, embed_image **out)
{
	char *buf;
	size_t len;
	int err;

	*out = NULL;
	err = vv_read_file(path, MAX_FILE_BYTES, &buf, &len);
	if (err)
		return err;
	err = embed_image_decode(path, (const unsigned char *)buf, len, out);
	free(buf);
	return err;
}
