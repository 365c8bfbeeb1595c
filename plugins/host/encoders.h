/*
 * plugins/host/encoders.h — running encoder plugins over patients.
 * SPDX-License-Identifier: Apache-2.0
 *
 * An encoder set holds the opened state of every encoder plugin (or a chosen
 * few), each configured from its section of the site configuration, with its
 * feature schema checked (valid, unique names). The set encodes a whole
 * cohort manifest into a feature table in parallel (OpenMP over patients),
 * or one input for standalone use.
 */
#ifndef MMDX_PLUGINS_ENCODERS_H
#define MMDX_PLUGINS_ENCODERS_H

#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "feature_table.h"
#include "loader.h"
#include "manifest.h"

typedef struct mmdx_encoder_set mmdx_encoder_set;

/**
 * Open encoders: all encoder plugins of `r` when `only` is NULL, else those
 * whose name or modality is in only[0..n_only). Column order of the output
 * is imaging, genomics, records, then other modalities by name. Errors: a
 * plugin's open/features failure (its message), an invalid or duplicate
 * feature name (MMDX_ESCHEMA), a name in `only` that matches no encoder
 * (MMDX_ENOTFOUND).
 */
MMDX_RESULT_USED int mmdx_encoder_set_open(mmdx_encoder_set **out, const mmdx_registry *r,
                                           const mmdx_config *c, int n_threads,
                                           const char *const *only, size_t n_only);

/**
 * The names of the loaded encoders whose input column the manifest has, in
 * registry order: what a cohort run uses when not told otherwise, so that
 * a modality the cohort does not have adds no columns. Fills names[0..max)
 * (borrowed from the registry) and returns how many.
 */
size_t mmdx_encoders_for_manifest(const mmdx_registry *r, const mmdx_manifest *m, const char **names,
                                  size_t max);

void mmdx_encoder_set_free(mmdx_encoder_set *s);

size_t mmdx_encoder_set_count(const mmdx_encoder_set *s);
const mmdx_plugin *mmdx_encoder_set_plugin(const mmdx_encoder_set *s, size_t i);

/** Feature names of encoder i as the plugin gives them (without the modality prefix). Borrowed. */
size_t mmdx_encoder_set_n_features(const mmdx_encoder_set *s, size_t i);
const char *const *mmdx_encoder_set_feature_names(const mmdx_encoder_set *s, size_t i);

/** SHA-256 (hex) of encoder i's configuration section, in canonical form (key=value lines in order). */
const char *mmdx_encoder_set_config_hash(const mmdx_encoder_set *s, size_t i);

/**
 * Called once per failed input (patient x encoder), one call at a time:
 * `row` is the index into the rows being encoded (the table's row), `encoder`
 * the encoder's index in the set, `code` the plugin's error code and
 * `message` its text naming the input (borrowed for the call).
 */
typedef void (*mmdx_encode_failure_fn)(void *ctx, size_t row, size_t encoder, int code,
                                       const char *message);

/** Options of a cohort run. */
typedef struct mmdx_encode_options {
    int keep_going;   /**< a failing input marks the modality missing instead of stopping */
    FILE *messages;   /**< where per-patient failures and progress go (stderr), or NULL */
    int progress;     /**< show a progress display on `messages` */
    /** Set by the caller's signal handler to stop: MMDX_ECANCELED, nothing returned. NULL: never. */
    const volatile sig_atomic_t *cancel;
} mmdx_encode_options;

/** Optional observers of a run (mmdx_encoder_set_encode_rows). Zero-initialise. */
typedef struct mmdx_encode_hooks {
    /** Each failed input, instead of the line on `messages`; NULL: print it. */
    mmdx_encode_failure_fn on_failure;
    void *failure_ctx;
    /** NULL, or one slot per encoder of the set: seconds spent in that encoder's
     *  prepare() and encode() (summed over threads) are ADDED to it. */
    double *encoder_seconds;
} mmdx_encode_hooks;

/** What a cohort run did. */
typedef struct mmdx_encode_summary {
    size_t n_patients;
    size_t n_failures;       /**< inputs that failed (patient x modality) */
    size_t n_complete;       /**< patients with every modality present */
    double seconds;
} mmdx_encode_summary;

/**
 * The table the set's encoders fill, with no rows: its modalities (one per
 * encoder, in the set's order) and "<modality>.<feature>" columns — what a
 * model's schema is mapped onto before anything is encoded. Free with
 * mmdx_feature_table_free(). Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_encoder_set_layout(const mmdx_encoder_set *s, mmdx_feature_table **out);

/**
 * Encode every patient of `m` with every encoder of the set. Inputs come
 * from each plugin's input column (relative paths resolved against the
 * manifest's folder; an empty cell = modality missing), the sample from
 * `<input_column>_sample`, the other columns as extras. A failure is printed
 * on `messages` naming the manifest line and the plugin's message (never the
 * patient's identifier); without keep_going the run stops with MMDX_ERROR
 * after the first failure and *out is not set. Every manifest row yields a
 * row of the table, in manifest order.
 */
MMDX_RESULT_USED int mmdx_encoder_set_encode_cohort(mmdx_encoder_set *s, const mmdx_manifest *m,
                                                    const mmdx_encode_options *opt,
                                                    mmdx_feature_table **out,
                                                    mmdx_encode_summary *summary);

/**
 * Encode only the manifest rows rows[0..n_rows) (indices into `m`, any
 * order, no duplicates): the table has n_rows rows in that order, and the
 * encoders' prepare() sees only those patients. Otherwise as
 * mmdx_encoder_set_encode_cohort (which is this over every row, without
 * hooks). `hooks` may be NULL. Used to
 * encode a large cohort batch by batch (`mmdx screen`).
 */
MMDX_RESULT_USED int mmdx_encoder_set_encode_rows(mmdx_encoder_set *s, const mmdx_manifest *m,
                                                  const size_t *rows, size_t n_rows,
                                                  const mmdx_encode_options *opt,
                                                  const mmdx_encode_hooks *hooks,
                                                  mmdx_feature_table **out,
                                                  mmdx_encode_summary *summary);

/**
 * Encode one input with encoder i (standalone use). values must hold
 * mmdx_encoder_set_n_features(s, i) doubles. Runs prepare() on that input
 * first when the plugin has it.
 */
MMDX_RESULT_USED int mmdx_encoder_set_encode_one(mmdx_encoder_set *s, size_t i,
                                                 const mmdx_encoder_input *in, double *values,
                                                 int32_t *present);

/** Fill an input struct with ABI version/size and the given fields (extras empty). */
void mmdx_encoder_input_init(mmdx_encoder_input *in, const char *patient_id, const char *path,
                             const char *sample, const char *origin);

#endif
