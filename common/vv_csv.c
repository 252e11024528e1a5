/* vv_csv.c - RFC 4180 CSV writer and reader. */
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"

#include <stdlib.h>
#include <string.h>

void
vv_csv_eol(FILE *fp)
{
	fputs(VV_CSV_EOL, fp);
}

void
vv_csv_field(FILE *fp, const char *s)
{
	if (!s)
		s = "";
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* A growable array of strings: one record while parsing. */
struct strv {
	char **v;
	size_t n, cap;
};

static int
strv_push(struct strv *r, char *s)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 8;
		char **nv = realloc(r->v, nc * sizeof(*nv));

		if (!nv)
			return -1;
		r->v = nv;
		r->cap = nc;
	}
	r->v[r->n++] = s;
	return 0;
}

int
vv_csv_col(const vv_csv *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ncols; i++)
		if (!strcmp(c->header[i], name))
			return (int)i;
	return -1;
}

void
vv_csv_free(vv_csv **pc)
{
	vv_csv *c = *pc;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nrows; i++)
		vv_strv_free(&c->rows[i], c->ncols);
	free(c->rows);
	vv_strv_free(&c->header, c->ncols);
	free(c);
	*pc = NULL;
}

/* Bytes of input the field at p spans (its parsed text is never longer). */
static size_t
field_span(const char *p, const char *end)
{
	const char *q = p;

	if (q < end && *q == '"') {
		for (q++;; q++) {
			if (q >= end)
				return (size_t)(end - p);
			if (*q == '"') {
				if (q + 1 < end && q[1] == '"') {
					q++;
					continue;
				}
				q++;
				break;
			}
		}
	}
	while (q < end && *q != ',' && *q != '\n' && *q != '\r')
		q++;
	return (size_t)(q - p);
}

/* Parse one record starting at *pp; fields appended to rec. */
static int
parse_record(const char **pp, const char *end, struct strv *rec)
{
	const char *p = *pp;

	for (;;) {
		char *field = malloc(field_span(p, end) + 1), *o = field;

		if (!field)
			return VV_ENOMEM;
		if (p < end && *p == '"') {
			p++;
			for (;;) {
				if (p >= end) {
					free(field);
					return VV_EFORMAT; /* unterminated quote */
				}
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"') {
						*o++ = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				*o++ = *p++;
			}
			/* tolerate junk after the closing quote up to the separator */
			while (p < end && *p != ',' && *p != '\n' && *p != '\r')
				*o++ = *p++;
		} else {
			while (p < end && *p != ',' && *p != '\n' && *p != '\r')
				*o++ = *p++;
		}
		*o = '\0';
		if (strv_push(rec, field)) {
			free(field);
			return VV_ENOMEM;
		}
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
		*pp = p;
		return 0;
	}
}

int
vv_csv_parse(const char *name, const char *text, size_t len, vv_csv **pc)
{
	const char *p = text, *end = text + len;
	struct strv rec = { 0 };
	vv_csv *c;
	size_t line = 1, cap = 0;
	int err;

	*pc = NULL;
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	c = calloc(1, sizeof(*c));
	if (!c)
		return vv_error(VV_ENOMEM, "out of memory");
	if (p >= end) {
		free(c);
		return vv_error(VV_EFORMAT, "%s: empty CSV file (no header row)", name);
	}
	err = parse_record(&p, end, &rec);
	if (err)
		goto out_err;
	c->header = rec.v;
	c->ncols = rec.n;
	while (p < end) {
		char **row;
		size_t i;

		line++;
		memset(&rec, 0, sizeof(rec));
		if (*p == '\n' || *p == '\r') { /* blank line */
			p += (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
			continue;
		}
		err = parse_record(&p, end, &rec);
		if (err)
			goto out_err;
		if (rec.n > c->ncols) {
			size_t ncols = c->ncols, nf = rec.n;

			vv_strv_free(&rec.v, rec.n);
			vv_csv_free(&c);
			return vv_error(VV_EFORMAT, "%s: line %zu has %zu fields, the header has %zu",
					name, line, nf, ncols);
		}
		row = realloc(rec.v, c->ncols * sizeof(*row) + 1);
		if (!row) {
			err = VV_ENOMEM;
			goto out_err;
		}
		for (i = rec.n; i < c->ncols; i++) {
			row[i] = strdup("");
			if (!row[i]) {
				vv_strv_free(&row, i);
				rec.v = NULL;
				err = VV_ENOMEM;
				goto out_err;
			}
		}
		if (c->nrows == cap) {
			size_t nc = cap ? cap * 2 : 256;
			char ***nr = realloc(c->rows, nc * sizeof(*nr));

			if (!nr) {
				vv_strv_free(&row, c->ncols);
				rec.v = NULL;
				err = VV_ENOMEM;
				goto out_err;
			}
			c->rows = nr;
			cap = nc;
		}
		c->rows[c->nrows++] = row;
	}
	*pc = c;
	return 0;

out_err:
	vv_strv_free(&rec.v, rec.n);
	vv_csv_free(&c);
	if (err == VV_ENOMEM)
		return vv_error(VV_ENOMEM, "%s: out of memory", name);
	return vv_error(VV_EFORMAT, "%s: line %zu: unterminated quoted field", name, line);
}

int
vv_csv_read(const char *path, size_t max_len, vv_csv **pc)
{
	char *text;
	size_t len;
	int err;

	*pc = NULL;
	err = vv_read_file(path, max_len, &text, &len);
	if (err)
		return err;
	err = vv_csv_parse(path, text, len, pc);
	free(text);
	return err;
}
