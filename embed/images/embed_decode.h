/*
 * embed_decode.h - JPEG (libjpeg-turbo) and PNG (libpng) decoding to RGB,
 * pixel for pixel what Pillow 9.4's Image.open(...).convert("RGB") gives.
 * embed_image_decode() picks the format; these are its back ends.
 */
#ifndef EMBED_DECODE_H
#define EMBED_DECODE_H

#include <stddef.h>

#include "embed/images/embed_image.h"

/*
 * Decode a JPEG held in memory with libjpeg's default settings (islow DCT,
 * fancy upsampling), as Pillow does.  Gray is replicated; CMYK and YCCK
 * are read with Adobe's inverted polarity and converted as Pillow's
 * cmyk2rgb does.  A truncated file or any libjpeg error is VV_EFORMAT
 * naming `name`; sizes above the EMBED_IMAGE_MAX_* limits are
 * VV_EUNSUPPORTED, found before anything large is allocated.
 */
int embed_decode_jpeg(const char *name, const unsigned char *buf, size_t len,
		      embed_image **out);

/*
 * Decode a PNG held in memory.  Palette indices map through PLTE (indices
 * past its end give gray (i, i, i) as Pillow's default palette does),
 * gray 1/2/4-bit is scaled to 0..255, 16-bit colour keeps the high byte,
 * 16-bit gray (Pillow mode "I") is clipped to 255, alpha and tRNS are
 * dropped, interlaced files are supported.  Errors as for JPEG.
 */
int embed_decode_png(const char *name, const unsigned char *buf, size_t len,
		     embed_image **out);

/*
 * Decode a JPEG or PNG held in memory (format from the magic bytes) and
 * convert it to RGB as Pillow's convert("RGB") does: gray replicated,
 * alpha dropped, palette expanded, 16-bit reduced to 8.  `name` is used in
 * error messages.  Dimensions above 32768 or images over 2^28 pixels are
 * VV_EUNSUPPORTED; anything undecodable is VV_EFORMAT.
 */
int embed_image_decode(const char *name, const unsigned char *buf, size_t len,
		       embed_image **out);

/* Read and decode a file (bounded to 256 MiB). */
int embed_image_load(const char *path, embed_image **out);

#endif
