/*
 * model/model_file.h — the .mmdx model file: self-describing, versioned,
 * integrity-checked and optionally signed.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Layout (format version 1): a UTF-8 text header of `key: value` lines, the
 * fusion plugin's own serialised model (`blob: <plugin> <length>` followed by
 * exactly that many bytes and a newline), then a trailer:
 *
 *     MMDX-MODEL 1
 *     mmdx-version: 0.1.0
 *     created: 2026-11-27T01:50:00Z
 *     fusion: early 1.0.0
 *     fusion-config-sha256: <hex>
 *     classifier: logreg
 *     seed: 1
 *     threshold: 0.5
 *     source: encoders | table
 *     training-data-sha256: <hex>
 *     training-patients: 569 212            (patients, of whom label 1)
 *     encoder: imaging 1.0.0 <config sha256 hex>   (one per encoder, source encoders)
 *     modality: imaging 12                  (name, number of features, in column order)
 *     feature: imaging.glcm.contrast        (one per feature, in column order)
 *     blob: early 18234
 *     <blob bytes>
 *     sha256: <hex of every byte before this line>
 *     signature: none | hmac-sha256 <hex of HMAC-SHA-256(site key, the same bytes)>
 *
 * Loading recomputes the SHA-256 (a truncated or altered file is refused with
 * MMDX_EINTEGRITY) and, when a key is given, verifies the signature; a host
 * can require a valid signature. Files are written to a temporary name and
 * renamed, so a reader never sees half a model.
 */
#ifndef MMDX_FUSION_MODEL_FILE_H
#define MMDX_FUSION_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "mmdx/common.h"

#define MMDX_MODEL_FORMAT_VERSION 1

typedef struct mmdx_model_encoder {
    char *name;
    char *version;
    char config_sha256[MMDX_SHA256_HEX_LEN];
} mmdx_model_encoder;

typedef struct mmdx_model_file {
    int format_version;
    char *mmdx_version;
    char *created;
    char *fusion;          /**< plugin name ("early", "late") */
    char *fusion_version;
    char fusion_config_sha256[MMDX_SHA256_HEX_LEN];
    char *classifier;
    uint64_t seed;
    double threshold;
    int from_encoders;     /**< 1: features came from encoder plugins; 0: from a feature table */
    char training_sha256[MMDX_SHA256_HEX_LEN];
    size_t n_train, n_train_pos;
    size_t n_encoders;
    mmdx_model_encoder *encoders;
    size_t n_modalities;
    char **modalities;
    size_t *modality_features; /**< features per modality */
    size_t n_features;
    char **feature_names;
    uint32_t *feature_modality;
    void *blob;            /**< the plugin's serialised model */
    size_t blob_len;
    /* set by mmdx_model_file_read */
    char sha256[MMDX_SHA256_HEX_LEN];
    int is_signed;         /**< the file carries a signature */
    int signature_verified;/**< it was verified with the key given */
} mmdx_model_file;

/** An empty model description (to fill before writing). Errors: MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_model_file_new(mmdx_model_file **out);

void mmdx_model_file_free(mmdx_model_file *m);

/**
 * Write atomically to `path` (mode 0644). With key (key_len > 0) the file is
 * signed with HMAC-SHA-256; the key is the site key's model-signature key
 * (mmdx_model_key_from_env). Errors: MMDX_EIO naming the path, MMDX_EINVAL (a name with
 * a space or newline), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_model_file_write(const mmdx_model_file *m, const char *path,
                                           const uint8_t *key, size_t key_len);

/**
 * Parse a model file held in memory (`name` is used in messages). With a key,
 * a signed file's signature must verify (MMDX_EINTEGRITY otherwise);
 * require_signature refuses an unsigned file, or any file when no key is
 * given (MMDX_EINTEGRITY).
 * Errors: MMDX_EFORMAT (not a model file, a malformed header line, named by
 * line), MMDX_EINTEGRITY (truncated, SHA-256 or signature mismatch),
 * MMDX_EUNSUPPORTED (a newer format version), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_model_file_parse(mmdx_model_file **out, const void *data, size_t len,
                                           const char *name, const uint8_t *key, size_t key_len,
                                           int require_signature);

/** Read and parse a file (MMDX_ENOTFOUND, MMDX_EIO, then as mmdx_model_file_parse). */
MMDX_RESULT_USED int mmdx_model_file_read(mmdx_model_file **out, const char *path,
                                          const uint8_t *key, size_t key_len,
                                          int require_signature);

#endif
