/*
 * retrieval/index_file.h — the saved FAISS index of one log, model and
 * space, and the record beside it of which stored predictions it holds.
 * SPDX-License-Identifier: Apache-2.0
 *
 * In the index folder: <name>.faiss (mmdx_ann_save), <name>.rows (a text
 * header, then one audit sequence number per index row, in row order) and
 * <name>.lock (flock: one updater at a time). <name> is derived from the
 * log's identity, the model's SHA-256 and the space, so a database, model
 * or space never sees another's index. The .rows header records the
 * .faiss file's SHA-256: a pair that does not belong together is rebuilt.
 */
#ifndef MMDX_RETRIEVAL_INDEX_FILE_H
#define MMDX_RETRIEVAL_INDEX_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "ann.h"
#include "mmdx/common.h"

typedef struct mmdx_index_rows {
    int64_t *seq;     /**< the prediction.store event of each index row */
    size_t n, cap;
    int64_t last_seq; /**< the latest event the index has seen */
} mmdx_index_rows;

typedef struct mmdx_index_file {
    char base[4096];  /**< folder/name, without extension */
    int lock_fd;
} mmdx_index_file;

/**
 * Check (create 0700 if absent) the folder, refusing one that others may
 * write (MMDX_EPERM), derive the name, and take the update lock (blocks
 * while another process updates the same index).
 */
MMDX_RESULT_USED int mmdx_index_file_open(mmdx_index_file *f, const char *dir, const char *log_origin,
                                          const char *model_sha256, const char *space);
void mmdx_index_file_close(mmdx_index_file *f);

/**
 * Load the index and its rows. MMDX_ENOTFOUND when there is none;
 * MMDX_EFORMAT (or the index's own error) when the pair is inconsistent or
 * damaged: the caller rebuilds it.
 */
MMDX_RESULT_USED int mmdx_index_file_load(const mmdx_index_file *f, uint32_t dim, mmdx_ann **ann,
                                          mmdx_index_rows *rows);

/** Save both, each atomically, the rows last (they name the index's hash). Files 0600. */
MMDX_RESULT_USED int mmdx_index_file_save(const mmdx_index_file *f, const mmdx_ann *ann,
                                          const mmdx_index_rows *rows);

MMDX_RESULT_USED int mmdx_index_rows_push(mmdx_index_rows *r, int64_t seq);
void mmdx_index_rows_free(mmdx_index_rows *r);

#endif
