/*
 * retrieval/ann.h — an approximate nearest-neighbour index over unit
 * vectors (FAISS HNSW, inner product = cosine similarity), behind a C API:
 * the only C++ of retrieval/ is ann_faiss.cpp.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Vectors are float32, dim components, L2-normalised by the caller
 * (vector.h). Rows get consecutive ids from 0 in the order added, so an
 * index grows by appending (new predictions) without being rebuilt. Not
 * thread-safe for add/save; search may run from several threads at once.
 */
#ifndef MMDX_RETRIEVAL_ANN_H
#define MMDX_RETRIEVAL_ANN_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mmdx_ann mmdx_ann;

/**
 * Build and search settings; mmdx_ann_options_init() gives the defaults.
 * n_threads is applied as the calling thread's OpenMP setting for the
 * duration of a call and restored afterwards; a search of nq queries uses at
 * most nq threads.
 */
typedef struct mmdx_ann_options {
    int m;               /**< HNSW links per node, 2..512; default 32 */
    int ef_construction; /**< 1..2^20; default 80 */
    int ef_search;       /**< 1..2^20; default 128; search quality against speed */
    int n_threads;       /**< for add and batched search, >= 0; 0: OpenMP's default */
} mmdx_ann_options;

void mmdx_ann_options_init(mmdx_ann_options *o);

/** A new empty index of dim (1..4096) components (o NULL: defaults). MMDX_EINVAL naming the setting, MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_ann_new(mmdx_ann **out, uint32_t dim, const mmdx_ann_options *o);

/**
 * Append n rows (n x dim floats); they get ids count()..count()+n-1.
 * MMDX_EINVAL (nothing added) for a non-finite component (the row named) or
 * more than 2^31-1 rows in all; MMDX_ENOMEM, MMDX_ERROR (FAISS). After an
 * MMDX_ENOMEM or MMDX_ERROR the index may be half-updated: every later call
 * but free fails.
 */
MMDX_RESULT_USED int mmdx_ann_add(mmdx_ann *a, const float *x, size_t n);

size_t mmdx_ann_count(const mmdx_ann *a);
uint32_t mmdx_ann_dim(const mmdx_ann *a);

/**
 * The k most similar rows to each of nq queries (nq x dim floats): ids[q*k+j]
 * and sims[q*k+j] (inner products), best first; id -1 and similarity
 * -INFINITY where fewer than k rows exist (as mmdx_exact_search()).
 * MMDX_EINVAL for k == 0 or a query with a non-finite component, MMDX_ERROR
 * (FAISS).
 */
MMDX_RESULT_USED int mmdx_ann_search(const mmdx_ann *a, const float *q, size_t nq, size_t k, int64_t *ids,
                                     float *sims);

/**
 * Write to `path` atomically (a temporary beside it, then rename; mode 0600).
 * The file is a 40-byte mmdx header (magic, format version, dim, rows,
 * payload size, CRC-32 of the payload) followed by FAISS's own
 * serialisation; see ann_faiss.cpp. MMDX_EIO naming the file.
 */
MMDX_RESULT_USED int mmdx_ann_save(const mmdx_ann *a, const char *path);

/**
 * Read an index saved by mmdx_ann_save(); the search settings of `o` apply
 * (NULL: defaults). The header and the payload's size and CRC-32 are checked
 * before FAISS reads a byte, so a truncated or damaged file is refused
 * without reaching FAISS's reader (which trusts the lengths it reads and is
 * not hardened: damage inside its payload can make it leak or allocate
 * wildly). The CRC catches accidents (a partial copy, a bad disk), not a
 * forgery: the index record of index_file.h names the file's SHA-256 too.
 * *out is NULL on any error.
 *
 * Errors: MMDX_ENOTFOUND (no file), MMDX_EFORMAT (not an mmdx index file,
 * truncated, checksum mismatch, not of dim components, or FAISS refusing the
 * payload: each named with the file), MMDX_EUNSUPPORTED (a newer format
 * version), MMDX_EIO, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_ann_load(mmdx_ann **out, const char *path, uint32_t dim, const mmdx_ann_options *o);

void mmdx_ann_free(mmdx_ann *a);

#ifdef __cplusplus
}
#endif

#endif
