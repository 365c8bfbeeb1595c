/*
 * screen/journal.h — the results CSV of `mmdx screen --out`, written so
 * that a run killed at any point (kill -9, power loss) can resume without
 * losing or repeating a row.
 * SPDX-License-Identifier: Apache-2.0
 *
 * While a run is going, rows are appended to "<out>.partial", a batch at a
 * time, each batch flushed and fsync'ed before the run moves on. The file
 * starts with a line naming the run ("# mmdx screen journal v1 run <id>")
 * and the CSV header. Opening a journal whose partial file exists resumes
 * it: the rows are read back (a torn last line, from a kill in the middle of
 * a write, is cut off), and a later row for the same patient replaces an
 * earlier one. finish() writes "<out>" atomically with the header and the
 * rows in the caller's order, then removes the partial file.
 *
 * Rows are arrays of fields; field 0 is the patient ID. Not thread-safe.
 */
#ifndef MMDX_SCREEN_JOURNAL_H
#define MMDX_SCREEN_JOURNAL_H

#include <stddef.h>

#include "mmdx/common.h"

typedef struct mmdx_journal mmdx_journal;

/**
 * Open or resume the journal of `path` for run `run_id` with the header
 * fields header[0..n_columns). Errors: MMDX_EEXISTS (the partial file
 * belongs to another run or has another header: named, with what to do),
 * MMDX_EFORMAT (a damaged partial file, line named), MMDX_EIO, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_journal_open(mmdx_journal **out, const char *path, const char *run_id,
                                       const char *const *header, size_t n_columns);

/** Close; the partial file stays for a later resume. NULL is fine. */
void mmdx_journal_free(mmdx_journal *j);

/** Close; if the journal holds no row (neither resumed nor appended), remove its partial file. */
void mmdx_journal_discard(mmdx_journal *j);

/** Rows read back when the journal was resumed (0 for a new one). */
size_t mmdx_journal_resumed_rows(const mmdx_journal *j);

/** The latest row of a patient (n_columns fields, borrowed), or NULL. */
const char *const *mmdx_journal_row(const mmdx_journal *j, const char *patient_id);

/**
 * Append rows[0..n) (each n_columns fields) and make them durable (flush +
 * fsync) before returning. Errors: MMDX_EIO, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_journal_append(mmdx_journal *j, const char *const *const *rows, size_t n);

/**
 * Write the final file: the header, then the latest row of each patient in
 * order[0..n) (patients without a row are skipped), atomically; then remove
 * the partial file, unless keep_partial (some patients remain to be screened
 * by a later run, which resumes from it). Errors: MMDX_EIO, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_journal_finish(mmdx_journal *j, const char *const *order, size_t n,
                                         int keep_partial);

#endif
