/*
 * core/progress.h — progress display for long work.
 * SPDX-License-Identifier: Apache-2.0
 *
 * On a terminal: one line redrawn in place ("encode 120/1000  12.0/s  ETA
 * 1m13s  2 failed"). Otherwise: a plain line every few seconds, so logs of
 * batch jobs stay readable. Thread-safe: workers call mmdx_progress_step().
 * Work of unknown size (total 0: records of a VCF read so far) reports its
 * position with mmdx_progress_set() instead ("score 120000 records, at
 * chr1:123456, 40000.0/s, 3s").
 */
#ifndef MMDX_CORE_PROGRESS_H
#define MMDX_CORE_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

typedef struct mmdx_progress mmdx_progress;

/**
 * Start a display of `total` items labelled `what` on `out` (NULL: no
 * display); `unit` names the items in open-ended displays (total 0; NULL:
 * "items").
 */
mmdx_progress *mmdx_progress_new(const char *what, size_t total, FILE *out);
mmdx_progress *mmdx_progress_new_open(const char *what, const char *unit, FILE *out);

/** Open-ended work: `done` items so far, now at `where` (may be NULL). Thread-safe. */
void mmdx_progress_set(mmdx_progress *p, size_t done, const char *where);

/** One item finished (failed != 0 when it failed). Thread-safe. */
void mmdx_progress_step(mmdx_progress *p, int failed);

/** Finish the display (a final line) and free. NULL is a no-op. */
void mmdx_progress_free(mmdx_progress *p);

/**
 * What to print before a message on `out` while a progress line may be
 * showing: "\r\033[K" (erase the line) when `out` is a terminal, else ""
 * (a log file or a Slurm output gets no terminal escapes). Static string.
 */
const char *mmdx_progress_clear_line(FILE *out);

/** Seconds since mmdx_progress_new(). */
double mmdx_progress_elapsed(const mmdx_progress *p);

#endif
