/*
 * model/cohort_input.h — the patients `mmdx train`, `evaluate` and `predict`
 * work on: a cohort manifest and/or a feature table, or a cohort run through
 * the encoder plugins, turned into the dataset the fusion plugins take.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_COHORT_INPUT_H
#define MMDX_COHORT_INPUT_H

#include <stdio.h>

#include "config.h"
#include "feature_table.h"
#include "loader.h"
#include "manifest.h"
#include "mmdx/plugin.h"
#include "model_file.h"

typedef enum mmdx_label_need {
    MMDX_LABELS_OPTIONAL = 0, /**< predict: labels ignored */
    MMDX_LABELS_REQUIRED = 1  /**< train, evaluate: every patient needs 0 or 1 */
} mmdx_label_need;

typedef struct mmdx_cohort_input_options {
    const char *cohort;              /**< manifest path, or NULL (then manifest or features is required) */
    const char *features;            /**< feature table path, or NULL (then run the encoders) */
    const char *const *modalities;   /**< train: keep only these modalities (NULL = all) */
    size_t n_modalities;
    mmdx_label_need labels;
    const mmdx_model_file *model;    /**< evaluate/predict: align to its schema, check its encoders */
    const mmdx_registry *registry;   /**< for the encoders */
    const mmdx_config *config;
    int threads;
    int keep_going;                  /**< encoders: a failing input marks the modality missing */
    FILE *messages;                  /**< warnings and failed inputs (stderr), or NULL */
    const char *model_path;          /**< the model's file, for messages (may be NULL) */
    int progress;                    /**< a progress display on messages */
    const mmdx_manifest *manifest;   /**< a manifest in memory instead of `cohort` (borrowed), or NULL */
} mmdx_cohort_input_options;

typedef struct mmdx_cohort_input {
    mmdx_feature_table *table;   /**< as read or encoded (owned) */
    size_t n;                    /**< patients selected */
    const char **ids;            /**< n, borrowed from table */
    long *lines;                 /**< n: manifest line (or table row + 1) for messages */
    const char *origin;          /**< the file lines refer to */
    char *origin_copy;           /**< (owned) the manifest's name, when origin is one */
    size_t n_features, n_modalities;
    const char **feature_names;  /**< borrowed */
    uint32_t *feature_modality;
    const char **modalities;     /**< borrowed */
    double *x;                   /**< n x n_features */
    uint8_t *present;            /**< n x n_modalities */
    int32_t *labels;             /**< n (-1 unknown), or NULL when there are none */
    int from_encoders;
    size_t n_encoders;
    mmdx_model_encoder *encoders; /**< owned copies: name, version, config hash (of the modalities kept) */
    char **encoder_modalities;   /**< n_encoders: each encoder's modality */
    mmdx_dataset ds;             /**< points into the arrays above */
} mmdx_cohort_input;

/**
 * Load. Errors name the file and line: a patient of the cohort missing from
 * the table, a label missing or not 0/1 when required (MMDX_EINVAL), no
 * label column, a modality in `modalities` the data lacks (MMDX_ENOTFOUND),
 * a table or encoder whose features differ from the model's
 * (MMDX_ESCHEMA), an encoder version or configuration that differs from the
 * model's (MMDX_ESCHEMA), and the errors of the manifest/table readers.
 */
MMDX_RESULT_USED int mmdx_cohort_input_load(mmdx_cohort_input **out,
                                            const mmdx_cohort_input_options *o);

void mmdx_cohort_input_free(mmdx_cohort_input *in);

/** SHA-256 (hex) of the dataset in canonical form (schema, ids, labels, presence, values). */
void mmdx_cohort_input_hash(const mmdx_cohort_input *in, char hex[MMDX_SHA256_HEX_LEN]);

/**
 * A copy of the rows `rows` (k of them) of a dataset, for cross-validation.
 * Free with mmdx_dataset_subset_free(). Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_dataset_subset(mmdx_dataset *out, const mmdx_dataset *d,
                                         const size_t *rows, size_t k);
void mmdx_dataset_subset_free(mmdx_dataset *d);

#endif
