/*
 * genomics/atomic_file.h — write an output file so that readers never see it
 * half-written: a temporary file beside it, renamed into place on commit.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_GENOMICS_ATOMIC_FILE_H
#define MMDX_GENOMICS_ATOMIC_FILE_H

#include <stdio.h>

#include "mmdx/common.h"

typedef struct mmdx_atomic_file {
    FILE *f;        /**< write here */
    char *path;     /**< final path, NULL for stdout */
    char *tmp;      /**< temporary path */
} mmdx_atomic_file;

/** Open `path` ("-" or NULL: stdout). Errors: MMDX_EIO naming the path. */
MMDX_RESULT_USED int mmdx_atomic_file_open(mmdx_atomic_file *af, const char *path, mmdx_error *err);

/** Flush, close and rename into place; on any failure the temporary file is removed (MMDX_EIO). */
MMDX_RESULT_USED int mmdx_atomic_file_commit(mmdx_atomic_file *af, mmdx_error *err);

/** Abandon: close and remove the temporary file. */
void mmdx_atomic_file_abort(mmdx_atomic_file *af);

#endif
