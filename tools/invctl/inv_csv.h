/*
 * inv_csv: the CSV tables invctl imports. The first line is a header naming
 * the columns (in any order; every column the caller asks for is required,
 * others are ignored); each further line is one record. No quoting: values
 * cannot hold commas. Values are trimmed; blank lines and lines starting
 * with '#' are skipped.
 */
#ifndef INV_CSV_H
#define INV_CSV_H

#include <stddef.h>
#include <stdio.h>

#define INV_CSV_MAX_COLUMNS 16

/* Called per record with its values in the order of the caller's columns
 * (NUL-terminated, valid during the call) and its line number; on an
 * invalid value it writes "NAME:LINE: column: what is wrong" to errstr and
 * returns nonzero, which stops the read. */
typedef int (*inv_csv_row_cb)(void *opaque, const char *const *values, const char *name, int lineno, char *errstr,
                              size_t errstr_size);

/* Reads f to its end (name: for messages). Returns 0, -1 with errstr (a
 * header without one of the columns, a record without a value for one, a
 * file without a header), or row's nonzero value. At most
 * INV_CSV_MAX_COLUMNS columns and fields per line. */
int inv_csv_read(FILE *f, const char *name, const char *const *columns, int ncols, inv_csv_row_cb row, void *opaque,
                 char *errstr, size_t errstr_size);

#endif
