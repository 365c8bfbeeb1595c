/*
 * core/csv.h — RFC 4180 CSV reading and writing.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Quoted fields may hold commas, doubled quotes and line breaks. CRLF and LF
 * line ends are accepted; a UTF-8 byte-order mark at the start is skipped.
 */
#ifndef MMDX_CORE_CSV_H
#define MMDX_CORE_CSV_H

#include <stdio.h>

#include "mmdx/common.h"

typedef struct mmdx_csv_reader mmdx_csv_reader;

/**
 * Open `path` for reading ("-" is stdin). `delim` is ',' or '\t'.
 * Errors: MMDX_ENOTFOUND, MMDX_EIO. Free with mmdx_csv_close().
 */
MMDX_RESULT_USED int mmdx_csv_open(mmdx_csv_reader **out, const char *path, char delim);

/** Read CSV from a memory buffer (not copied: it must outlive the reader). `name` is used in messages. */
MMDX_RESULT_USED int mmdx_csv_open_mem(mmdx_csv_reader **out, const char *data, size_t len,
                                       const char *name, char delim);

/**
 * Read the next record. On success returns 1 and sets *fields to an array of
 * *n_fields NUL-terminated strings owned by the reader (valid until the next
 * call); returns 0 at end of input; a negative code on a malformed record
 * (unterminated quote, text after a closing quote) with the file and line in
 * the last error. Blank lines are skipped.
 */
MMDX_RESULT_USED int mmdx_csv_next(mmdx_csv_reader *r, char ***fields, size_t *n_fields);

/** Physical line (1-based) where the record last returned by mmdx_csv_next() started. */
long mmdx_csv_line(const mmdx_csv_reader *r);

/** The name given at open (the path). Borrowed. */
const char *mmdx_csv_name(const mmdx_csv_reader *r);

void mmdx_csv_close(mmdx_csv_reader *r);

/** Write one field, quoted when it holds the delimiter, a quote or a line break. */
int mmdx_csv_write_field(FILE *f, const char *value, char delim);

#endif
