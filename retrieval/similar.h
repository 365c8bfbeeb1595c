/*
 * retrieval/similar.h — the k stored patients nearest to a query in one
 * model's shared space (joint fusion): `mmdx similar`, the Orthanc plugin's
 * /similar route.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A patient is a vector of the model's space: its fused embedding, or (a
 * "using" set of modalities) the mean of those modalities' tokens it has,
 * each token L2-normalised first. Similarity is the cosine; distance is
 * 1 - cosine, in [0, 2]. Only predictions stored by runs of the same model
 * file (its SHA-256) are candidates, and every candidate row is checked
 * against the hash its audit event recorded before it is used.
 *
 * Search is exact below a size threshold; above it a FAISS HNSW index is
 * built from the database, saved in the index folder (one per log, model
 * and space) and brought up to date incrementally from the audit sequence
 * it has seen. The index only proposes candidates: every hit is re-read
 * from the database and its distance recomputed there, so a stale or
 * altered index file can lower recall, never show a wrong patient or a
 * wrong number.
 *
 * Thread safety: one mmdx_similar per thread (it uses its store's
 * connection).
 */
#ifndef MMDX_RETRIEVAL_SIMILAR_H
#define MMDX_RETRIEVAL_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"
#include "store.h"

#define MMDX_SIMILAR_MAX_K 1000
#define MMDX_SIMILAR_MAX_MODALITIES 64

typedef enum mmdx_similar_mode {
    MMDX_SIMILAR_AUTO = 0, /**< exact up to index_threshold candidates, else the index */
    MMDX_SIMILAR_EXACT,
    MMDX_SIMILAR_INDEX
} mmdx_similar_mode;

/** The space searched; mmdx_similar_space_init() for the model, then mmdx_similar_space_use(). */
typedef struct mmdx_similar_space {
    uint32_t dim;                 /**< the model's embedding size */
    size_t n_modalities;          /**< the model's, in token order */
    const char *const *modalities;
    uint64_t using_mask;          /**< bit m: modality m; 0: the fused embedding */
} mmdx_similar_space;

/**
 * Restrict a space to named modalities, "imaging,records" (NULL or "": the
 * fused embedding). MMDX_EINVAL naming an unknown modality and the model's.
 */
MMDX_RESULT_USED int mmdx_similar_space_use(mmdx_similar_space *sp, const char *names);

/** "fused", or the used modalities joined by '+': into out (size >= 64). */
void mmdx_similar_space_name(const mmdx_similar_space *sp, char *out, size_t size);

/**
 * A patient's vector in the space (dim floats, unit length) from its fused
 * embedding and tokens (n_modalities x dim, NaN where absent; may be NULL
 * for the fused space). MMDX_ENOTFOUND when it has none of the used
 * modalities (or no tokens), naming them.
 */
MMDX_RESULT_USED int mmdx_similar_vector(const mmdx_similar_space *sp, const double *fused,
                                         const double *tokens, float *out);

typedef struct mmdx_similar_options {
    const char *model_sha256;    /**< required */
    mmdx_similar_space space;
    mmdx_similar_mode mode;
    size_t index_threshold;      /**< AUTO: more candidates than this use the index; default 20000 */
    const char *index_dir;       /**< index files (created 0700; refused when others may write);
                                      NULL: exact search only, MMDX_SIMILAR_INDEX refused */
    FILE *log;                   /**< notes on index building, or NULL */
} mmdx_similar_options;

void mmdx_similar_options_init(mmdx_similar_options *o);

typedef struct mmdx_similar mmdx_similar;

/** What the open found. */
typedef struct mmdx_similar_info {
    size_t candidates;     /**< stored predictions in the space */
    size_t mismatched;     /**< rows skipped: changed after they were stored (run mmdx audit verify) */
    size_t added;          /**< rows added to the index by this open (index mode) */
    int used_index;        /**< 1: the FAISS index, 0: exact search */
    int rebuilt;           /**< the index was (re)built from the database */
} mmdx_similar_info;

/**
 * Load the candidates from the store (a reviewer login: see
 * mmdx_store_embeddings()). Errors: those of mmdx_store_embeddings,
 * MMDX_EINVAL, MMDX_EPERM (an unsafe index folder), MMDX_EIO.
 */
MMDX_RESULT_USED int mmdx_similar_open(mmdx_similar **out, mmdx_store *s, const mmdx_similar_options *o,
                                       mmdx_similar_info *info);
void mmdx_similar_free(mmdx_similar *sim);

/** One neighbour. Strings owned by the mmdx_similar_hits. */
typedef struct mmdx_similar_hit {
    char *patient;          /**< as stored: the pseudonym when the site pseudonymises */
    char *run_id, *stored_at;
    int pseudonymised;
    double distance;        /**< 1 - cosine, recomputed from the stored row */
    double probability;
    int decision;           /**< -1 none */
    int64_t seq;            /**< the prediction.store event */
    uint64_t present_mask;  /**< modalities the patient had (bit m) */
    int present_known;      /**< 0: the row predates stored tokens */
    char *study_uid;        /**< the study it was made for (PACS screening), or NULL */
} mmdx_similar_hit;

typedef struct mmdx_similar_hits {
    mmdx_similar_hit *hit;
    size_t n;
} mmdx_similar_hits;

void mmdx_similar_hits_free(mmdx_similar_hits *h);

/**
 * The k (1..MMDX_SIMILAR_MAX_K) nearest stored patients to vector q, each
 * patient once (its nearest stored prediction), `exclude` (a stored
 * patient key, or NULL) left out, nearest first; ties by event order.
 */
MMDX_RESULT_USED int mmdx_similar_search(mmdx_similar *sim, const float *q, size_t k, const char *exclude,
                                         mmdx_similar_hits *out);

/**
 * A stored patient's query vector: its latest prediction by this model.
 * *key gets the patient as stored (malloc'd). MMDX_ENOTFOUND when the
 * patient has no stored prediction of the model, or none with the space's
 * modalities.
 */
MMDX_RESULT_USED int mmdx_similar_stored_query(mmdx_similar *sim, const char *patient_id, float *q, char **key);

/**
 * A stored study's query vector: the latest prediction by this model stored
 * for StudyInstanceUID `study_uid` (the Orthanc worker stores it), of run
 * `run_id` only when not NULL. *key gets the patient as stored (malloc'd),
 * *pseudonymised (may be NULL) whether that key is a pseudonym.
 * MMDX_ENOTFOUND when there is none (or none with the space's modalities),
 * MMDX_EINVAL without a study UID, and the errors of mmdx_store_embeddings.
 */
MMDX_RESULT_USED int mmdx_similar_study_query(mmdx_similar *sim, const char *study_uid, const char *run_id,
                                              float *q, char **key, int *pseudonymised);

/**
 * Add the predictions stored since the open (or the last refresh) to the
 * candidates, so that a long-lived search (the Orthanc plugin's) sees new
 * screenings without reloading everything. *added and *mismatched (either
 * may be NULL) get the rows added and the changed rows skipped. On failure
 * the candidates may hold part of the new rows: free the handle.
 * Errors: those of mmdx_store_embeddings, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_similar_refresh(mmdx_similar *sim, size_t *added, size_t *mismatched);

/** The candidates held now. */
size_t mmdx_similar_candidates(const mmdx_similar *sim);

/** 1 when searches go through the FAISS index, 0 when exact. */
int mmdx_similar_uses_index(const mmdx_similar *sim);

#endif
