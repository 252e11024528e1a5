/*
 * vv_csv.h - RFC 4180 CSV: quoting writer and a bounded reader.
 */
#ifndef VV_CSV_H
#define VV_CSV_H

#include <stddef.h>
#include <stdio.h>

/*
 * Every CSV vitviz writes ends its records with CRLF, as RFC 4180 and
 * Python's csv module do; the reader takes CRLF and LF alike.
 */
#define VV_CSV_EOL "\r\n"

/* Write one field, quoted when it holds a comma, quote, CR or LF. */
void vv_csv_field(FILE *fp, const char *s);

/* End a record (VV_CSV_EOL). */
void vv_csv_eol(FILE *fp);

typedef struct vv_csv {
	size_t nrows;  /* data rows, header excluded */
	size_t ncols;  /* columns of the header row */
	char **header; /* ncols column names */
	char ***rows;  /* nrows rows of ncols fields (short rows padded with "") */
} vv_csv;

/*
 * Read a CSV file with a header row (at most `max_len` bytes; quoted
 * fields, CRLF and a UTF-8 BOM accepted).  A row with more fields than the
 * header is VV_EFORMAT naming the file and line.
 */
int vv_csv_read(const char *path, size_t max_len, vv_csv **pc);

/* Parse CSV text already in memory. */
int vv_csv_parse(const char *name, const char *text, size_t len, vv_csv **pc);

/* Column index of `name`, or -1. */
int vv_csv_col(const vv_csv *c, const char *name);

/* Free *pc and set it to NULL. */
void vv_csv_free(vv_csv **pc);

#endif
