/*
 * model/binding.h — binding a model to the encoders that feed it: the one
 * check, shared by `mmdx predict`/`evaluate`, `mmdx screen` and the Orthanc
 * worker, that the loaded encoders are those the model was trained with
 * (name, version, configuration section).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_MODEL_BINDING_H
#define MMDX_MODEL_BINDING_H

#include <stdio.h>

#include "encoders.h"
#include "feature_table.h"
#include "model_file.h"

typedef enum mmdx_provenance_need {
    /** A model trained from a feature table may be used (its encoders are unknown): a note is printed. */
    MMDX_PROVENANCE_OPTIONAL = 0,
    /** The model must record its encoders (screening encodes raw inputs). */
    MMDX_PROVENANCE_REQUIRED = 1
} mmdx_provenance_need;

/**
 * Check that `set` holds every encoder `model` (read from `model_path`,
 * named in messages) was trained with, at the same version and with the same
 * configuration section. Errors (all MMDX_ESCHEMA, so every driver exits
 * alike): an encoder not loaded, another version, a configuration section
 * that differs — saying whether the model was trained without the section
 * or the configuration lacks it — and, with MMDX_PROVENANCE_REQUIRED, a
 * model trained from a feature table. `messages` (may be NULL) gets notes.
 */
MMDX_RESULT_USED int mmdx_model_check_encoders(const mmdx_encoder_set *set, const mmdx_model_file *model,
                                               const char *model_path, mmdx_provenance_need need,
                                               FILE *messages);

/**
 * Where each of a model's features and modalities is in a feature table laid
 * out by the encoders (or read from a file): the one mapping of model schema
 * to encoder output, used by predict/evaluate (cohort input), screen and the
 * Orthanc worker.
 */
typedef struct mmdx_model_columns {
    size_t n_features, n_modalities;  /**< the model's */
    long *feature_col;                /**< model feature -> table column */
    long *modality_col;               /**< model modality -> table modality */
} mmdx_model_columns;

/**
 * Map `model` onto table `t` (`source` names the table in messages).
 * Errors (MMDX_ESCHEMA): a modality or feature of the model the table lacks,
 * a feature of one of the model's modalities the model was not trained with
 * (the encoder's feature schema differs from training); MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_model_columns_map(mmdx_model_columns *out, const mmdx_model_file *model,
                                            const mmdx_feature_table *t, const char *source);
void mmdx_model_columns_free(mmdx_model_columns *c);

/**
 * Rows rows[0..n) of `t` in the model's layout: x (n x n_features) and
 * present (n x n_modalities). A modality absent from a row has all its
 * features NaN, whatever the table holds there.
 */
void mmdx_model_columns_gather(const mmdx_model_columns *c, const mmdx_model_file *model,
                               const mmdx_feature_table *t, const size_t *rows, size_t n, double *x,
                               uint8_t *present);

/** Whether `hex` is the hash of an empty configuration section (no entries). */
int mmdx_config_hash_is_empty(const char *hex);

#endif
