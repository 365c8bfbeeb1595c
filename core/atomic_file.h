/*
 * core/atomic_file.h — write an output file so that nobody ever sees it
 * half-written: a temporary file beside it, flushed, synced and renamed into
 * place on commit, removed on abort.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CORE_ATOMIC_FILE_H
#define MMDX_CORE_ATOMIC_FILE_H

#include <stdio.h>

#include "mmdx/common.h"

typedef struct mmdx_atomic_file {
    FILE *f;    /**< write here */
    char *path; /**< final path; NULL when writing to standard output */
    char *tmp;  /**< temporary path */
    int direct; /**< the target is a device or FIFO, written in place (no rename) */
} mmdx_atomic_file;

/**
 * Start writing `path` ("-" or NULL: standard output). A target that exists
 * and is not a regular file (/dev/null, a FIFO) is written in place, since
 * renaming over it would replace it. Errors: MMDX_EIO naming the path.
 */
MMDX_RESULT_USED int mmdx_atomic_file_open(mmdx_atomic_file *af, const char *path);

/**
 * Flush, sync, close and rename into place. On any failure (including an
 * earlier write error on af->f) the temporary file is removed and MMDX_EIO
 * returned naming the path; the destination is left as it was.
 */
MMDX_RESULT_USED int mmdx_atomic_file_commit(mmdx_atomic_file *af);

/** Abandon: close and remove the temporary file. Safe on a zeroed or committed struct. */
void mmdx_atomic_file_abort(mmdx_atomic_file *af);

#endif
