/*
 * retrieval/ann.h — an approximate nearest-neighbour index over unit
 * vectors (FAISS HNSW, inner product = cosine similarity), behind a C API:
 * the only C++ of retrieval/ is ann_faiss.cpp.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Vectors are float32, dim components, L2-normalised by the caller. Rows
 * get consecutive ids from 0 in the order added, so an index grows by
 * appending (new predictions) without being rebuilt. Not thread-safe for
 * add/save; search may run from several threads at once.
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

/** Build and search settings; mmdx_ann_options_init() gives the defaults. */
typedef struct mmdx_ann_options {
    int m;               /**< HNSW links per node; default 32 */
    int ef_construction; /**< default 80 */
    int ef_search;       /**< default 128; search quality against speed */
    int n_threads;       /**< for add and batched search; 0: OpenMP's default */
} mmdx_ann_options;

void mmdx_ann_options_init(mmdx_ann_options *o);

/** A new empty index of dim (1..4096) components. MMDX_EINVAL, MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_ann_new(mmdx_ann **out, uint32_t dim, const mmdx_ann_options *o);

/** Append n rows (n x dim floats); they get ids count()..count()+n-1. MMDX_ENOMEM, MMDX_ERROR (FAISS). */
MMDX_RESULT_USED int mmdx_ann_add(mmdx_ann *a, const float *x, size_t n);

size_t mmdx_ann_count(const mmdx_ann *a);
uint32_t mmdx_ann_dim(const mmdx_ann *a);

/**
 * The k most similar rows to each of nq queries (nq x dim floats): ids[q*k+j]
 * and sims[q*k+j] (inner products), best first; id -1 where fewer than k
 * rows exist. MMDX_EINVAL for k == 0, MMDX_ERROR (FAISS).
 */
MMDX_RESULT_USED int mmdx_ann_search(const mmdx_ann *a, const float *q, size_t nq, size_t k, int64_t *ids,
                                     float *sims);

/** Write to `path` atomically (a temporary beside it, then rename). MMDX_EIO naming the file. */
MMDX_RESULT_USED int mmdx_ann_save(const mmdx_ann *a, const char *path);

/**
 * Read an index saved by mmdx_ann_save(). MMDX_ENOTFOUND (no file),
 * MMDX_EFORMAT (not such an index, or not of dim components: named),
 * MMDX_EIO. The search settings of `o` apply (NULL: defaults). FAISS's
 * reader is not hardened: a file with a valid header but damaged inside
 * may leak what it had read. Load only files whose hash was checked (the
 * index record of retrieval/index_file.h does so).
 */
MMDX_RESULT_USED int mmdx_ann_load(mmdx_ann **out, const char *path, uint32_t dim, const mmdx_ann_options *o);

void mmdx_ann_free(mmdx_ann *a);

#ifdef __cplusplus
}
#endif

#endif
