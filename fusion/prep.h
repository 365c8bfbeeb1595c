/*
 * fusion/prep.h — imputation, missingness indicators and standardisation,
 * fitted on training rows only.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Output columns, in order:
 *   - each selected feature, standardised with the mean and population
 *     standard deviation of its observed training values (modality present,
 *     value finite); a missing value (NaN, or its modality absent) becomes
 *     0, i.e. the training mean;
 *   - with indicators: for each selected feature that was missing for some
 *     but not all training patients who had its modality, a 0/1 "missing"
 *     column; and for each modality absent for some but not all training
 *     patients, a 0/1 "absent" column; indicators are standardised too.
 * A feature with no spread in training is centred and left unscaled (scale
 * 1), as scikit-learn's StandardScaler does.
 */
#ifndef MMDX_FUSION_PREP_H
#define MMDX_FUSION_PREP_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/plugin.h"
#include "textblob.h"

enum { MMDX_PREP_VALUE = 0, MMDX_PREP_MISSING = 1, MMDX_PREP_ABSENT = 2 };

typedef struct mmdx_prep {
    size_t n_cols;
    uint8_t *kind;   /**< MMDX_PREP_* per column */
    uint32_t *ref;   /**< feature index (VALUE, MISSING) or modality index (ABSENT) */
    double *mean;
    double *scale;
} mmdx_prep;

/**
 * Fit on the rows `rows` (n_rows of them; NULL = all rows) of d, using the
 * features whose use[j] is non-zero (NULL = all), with n_threads (the result
 * does not depend on it). Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_prep_fit(mmdx_prep *out, const mmdx_dataset *d, const size_t *rows,
                                   size_t n_rows, const uint8_t *use, int with_indicators,
                                   int n_threads, mmdx_error *err);

/**
 * Transform rows into out (n_rows x n_cols). When mask_modality is a valid
 * modality index, that modality is treated as absent for every row (used to
 * measure a modality's contribution by occlusion); pass UINT32_MAX for none.
 * Parallel over rows with n_threads (OpenMP); the result does not depend on it.
 */
void mmdx_prep_transform(const mmdx_prep *pr, const mmdx_dataset *d, const size_t *rows,
                         size_t n_rows, uint32_t mask_modality, double *out, int n_threads);

/** Whether any output column depends on modality m. */
int mmdx_prep_uses_modality(const mmdx_prep *pr, const mmdx_dataset *d, uint32_t m);

void mmdx_prep_save(const mmdx_prep *pr, mmdx_blob_writer *w);

/** Load, checking references against n_features / n_modalities. */
MMDX_RESULT_USED int mmdx_prep_load(mmdx_prep *pr, mmdx_blob_reader *r, size_t n_features,
                                    size_t n_modalities);

void mmdx_prep_free(mmdx_prep *pr);

#endif
