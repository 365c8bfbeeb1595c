/*
 * core/feature_table.h — the wide feature table `mmdx encode` writes and `mmdx
 * train`/`evaluate`/`predict` read.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Layout: `patient_id`, then per modality `<modality>.present` (0/1) and its
 * `<modality>.<feature>` columns (empty where missing), then `label` when
 * known. Numbers are written with 17 significant digits so that a table read
 * back gives the same doubles.
 */
#ifndef MMDX_CORE_FEATURE_TABLE_H
#define MMDX_CORE_FEATURE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

/** A feature table in memory. Fields are public for reading; build it with the functions below. */
typedef struct mmdx_feature_table {
    size_t n_rows;
    size_t n_features;
    size_t n_modalities;
    char **patient_ids;       /**< n_rows */
    char **feature_names;     /**< n_features full names "<modality>.<feature>" */
    uint32_t *feature_modality; /**< n_features indexes into modalities */
    char **modalities;        /**< n_modalities, in column order */
    double *x;                /**< n_rows x n_features, NaN = missing */
    uint8_t *present;         /**< n_rows x n_modalities */
    int32_t *labels;          /**< n_rows, -1 = unknown; NULL when the table has no label column */
} mmdx_feature_table;

/**
 * Read a feature table. Errors naming file, line and column: a header
 * without patient_id, a feature column whose modality has no
 * `<modality>.present` column before it, a non-numeric cell (NaN/inf text is
 * refused: MMDX_EFORMAT), a label other than 0/1/empty, a present flag other
 * than 0/1, a duplicate patient.
 */
MMDX_RESULT_USED int mmdx_feature_table_read(mmdx_feature_table **out, const char *path);

/** Parse a table held in memory (not copied); `name` stands for the path in messages. */
MMDX_RESULT_USED int mmdx_feature_table_parse(mmdx_feature_table **out, const char *data,
                                              size_t len, const char *name);

/** Write a table to `path` atomically (a temporary file renamed into place). */
MMDX_RESULT_USED int mmdx_feature_table_write(const mmdx_feature_table *t, const char *path);

/**
 * Allocate an empty table with the given schema and n_rows rows (x = NaN,
 * present = 0, labels = -1 when with_labels, else NULL). Names are copied.
 */
MMDX_RESULT_USED int mmdx_feature_table_new(mmdx_feature_table **out, size_t n_rows,
                                            size_t n_modalities, const char *const *modalities,
                                            size_t n_features, const char *const *feature_names,
                                            const uint32_t *feature_modality, int with_labels);

/** Set a row's patient id (copied). */
MMDX_RESULT_USED int mmdx_feature_table_set_id(mmdx_feature_table *t, size_t row, const char *id);

void mmdx_feature_table_free(mmdx_feature_table *t);

#endif
