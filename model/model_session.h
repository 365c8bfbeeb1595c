/*
 * model/model_session.h — a model file opened for use: integrity and
 * signature checked, its fusion plugin found, its blob loaded.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_MODEL_SESSION_H
#define MMDX_MODEL_SESSION_H

#include "config.h"
#include "cohort_input.h"
#include "loader.h"
#include "model_file.h"

typedef struct mmdx_model_session {
    mmdx_model_file *file;
    const mmdx_plugin *plugin; /**< borrowed from the registry */
    void *model;               /**< the plugin's loaded model */
} mmdx_model_session;

/**
 * Open `path`, checking its signature with the site key file `key_path`
 * (NULL: none; the caller resolves it with mmdx_audit_settings_resolve());
 * require_signed refuses models whose signature is not verified. Errors:
 * those of mmdx_model_file_read and mmdx_model_key_load, MMDX_ENOTFOUND (the
 * fusion plugin is not loaded), the plugin's load() error.
 */
MMDX_RESULT_USED int mmdx_model_session_open(mmdx_model_session *s, const mmdx_registry *r,
                                             const char *path, const char *key_path,
                                             int require_signed);
void mmdx_model_session_close(mmdx_model_session *s);

/**
 * The one prediction call of every driver (`mmdx predict`/`evaluate`
 * through mmdx_scored_cohort_run, `mmdx screen` per batch, the Orthanc
 * worker per study), so that all refuse a plugin's invalid output alike.
 * Predict every patient of `ds` with the session's model: *prob gets
 * n_samples probabilities, *contrib n_samples x n_modalities log-odds
 * contributions, both malloc'd (free()). Errors: MMDX_ENOMEM, the plugin's
 * predict() error, MMDX_ERROR for a probability that is not a number in
 * [0, 1]. Thread-safe on one session.
 */
MMDX_RESULT_USED int mmdx_model_session_predict(const mmdx_model_session *s, const mmdx_dataset *ds,
                                                double **prob, double **contrib);

/**
 * The model's shared-representation size: 0 when its fusion plugin has no
 * embedding (ABI 1.0 plugins, early and late fusion).
 */
uint32_t mmdx_model_session_embed_dim(const mmdx_model_session *s);

/**
 * Embed every patient of `ds`: *fused gets n_samples x dim values and, when
 * per_modality is not NULL, *per_modality n_samples x n_modalities x dim
 * (NaN for an absent modality); malloc'd (free()). Errors: MMDX_EUNSUPPORTED
 * naming the model's fusion when it has no embedding, MMDX_ENOMEM, the
 * plugin's error; MMDX_ERROR when the plugin returns a non-finite component
 * for a present modality.
 */
MMDX_RESULT_USED int mmdx_model_session_embed(const mmdx_model_session *s, const mmdx_dataset *ds,
                                              double **fused, double **per_modality, uint32_t *dim);

/**
 * Fill in absent modalities (the plugin's impute): *x gets n_samples x
 * n_features values, malloc'd (free()). Errors: MMDX_EUNSUPPORTED when the
 * model cannot impute, MMDX_ENOMEM, the plugin's error.
 */
MMDX_RESULT_USED int mmdx_model_session_impute(const mmdx_model_session *s, const mmdx_dataset *ds, double **x);

/**
 * The model-signature key derived (core/site_key.h, purpose
 * MMDX_KEY_PURPOSE_MODEL) from the site key file `path` (one site key for
 * the whole site, resolved by mmdx_audit_settings_resolve()); *key NULL when
 * path is NULL or empty. Errors: those of mmdx_site_key_read (MMDX_EPERM for
 * a file others can access).
 */
MMDX_RESULT_USED int mmdx_model_key_load(uint8_t **key, size_t *key_len, const char *path);

/** Wipe and free a key. */
void mmdx_model_key_free(uint8_t *key, size_t key_len);


/** A cohort scored with a model: what `mmdx evaluate` and `mmdx predict` both need. */
typedef struct mmdx_scored_cohort {
    mmdx_model_session session;
    mmdx_cohort_input *in;   /**< the patients, aligned to the model's schema */
    double *prob;            /**< in->n probabilities */
    double *contrib;         /**< in->n x in->n_modalities log-odds contributions */
} mmdx_scored_cohort;

/**
 * Open the model at `model_path` (as mmdx_model_session_open, with
 * io->registry), load the cohort described by `io` aligned to
 * it (io->model is set here), and predict every patient. On failure nothing
 * is left allocated. Release with mmdx_scored_cohort_free().
 */
MMDX_RESULT_USED int mmdx_scored_cohort_run(mmdx_scored_cohort *out, const char *model_path,
                                            const char *key_path, int require_signed,
                                            mmdx_cohort_input_options *io);
void mmdx_scored_cohort_free(mmdx_scored_cohort *sc);

#endif
