/*
 * fusion/textblob.h — the line-oriented text the fusion plugins serialise
 * their models into.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each line is `key value...`, values separated by single spaces. Doubles are
 * written in C99 hexadecimal notation ("%a"), so that a model read back holds
 * exactly the doubles that were saved, on every platform. A text form keeps
 * the inside of a model file readable by an auditor with `less`.
 */
#ifndef MMDX_FUSION_TEXTBLOB_H
#define MMDX_FUSION_TEXTBLOB_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

/** A growing buffer; `failed` latches an allocation failure. */
typedef struct mmdx_blob_writer {
    char *data;
    size_t len, cap;
    int failed;
} mmdx_blob_writer;

void mmdx_blob_printf(mmdx_blob_writer *w, const char *fmt, ...) MMDX_FORMAT(2, 3);

/** `key n v0 v1 ...` on one line. */
void mmdx_blob_doubles(mmdx_blob_writer *w, const char *key, const double *v, size_t n);

/** A reader over a buffer (not copied). Errors name `name` and the line. */
typedef struct mmdx_blob_reader {
    const char *p, *end;
    const char *name;
    long line;
    mmdx_error *err;
} mmdx_blob_reader;

void mmdx_blob_reader_init(mmdx_blob_reader *r, const void *buf, size_t len, const char *name,
                           mmdx_error *err);

/** Start the next line, which must begin with `key`. MMDX_EFORMAT otherwise. */
MMDX_RESULT_USED int mmdx_blob_key(mmdx_blob_reader *r, const char *key);

/** The next value of the current line as a word (copied into buf), an integer, or a double. */
MMDX_RESULT_USED int mmdx_blob_word(mmdx_blob_reader *r, char *buf, size_t size);
MMDX_RESULT_USED int mmdx_blob_u64(mmdx_blob_reader *r, uint64_t *v, uint64_t max);
MMDX_RESULT_USED int mmdx_blob_double(mmdx_blob_reader *r, double *v);

/** End of the current line: nothing left on it. */
MMDX_RESULT_USED int mmdx_blob_eol(mmdx_blob_reader *r);

/**
 * A whole `key n v0 ...` line: reads n (which must equal `expected`), then
 * n finite doubles into v.
 */
MMDX_RESULT_USED int mmdx_blob_doubles_read(mmdx_blob_reader *r, const char *key, double *v,
                                            size_t expected);

/**
 * The same for a line of min..max values (v holds max); their number into *n.
 * For a list that a later format version extended.
 */
MMDX_RESULT_USED int mmdx_blob_doubles_read_range(mmdx_blob_reader *r, const char *key, double *v, size_t min,
                                                  size_t max, size_t *n);

/**
 * The header every fusion model blob starts with: "<magic> 1", "features N",
 * "modalities M". A version other than 1 is MMDX_EUNSUPPORTED.
 */
MMDX_RESULT_USED int mmdx_blob_read_header(mmdx_blob_reader *r, const char *magic, uint64_t *n_features,
                                           uint64_t *n_modalities);

/** Fail with MMDX_EFORMAT naming the current line. */
int mmdx_blob_fail(mmdx_blob_reader *r, const char *fmt, ...) MMDX_FORMAT(2, 3);

#endif
