/* SPDX-License-Identifier: Apache-2.0 */
#include "model_session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "error.h"
#include "site_key.h"

void mmdx_model_key_free(uint8_t *key, size_t key_len)
{
    if (key)
        OPENSSL_cleanse(key, key_len);
    free(key);
}

int mmdx_model_key_load(uint8_t **key, size_t *key_len, const char *path)
{
    *key = NULL;
    *key_len = 0;
    if (!path || !*path)
        return 0;
    mmdx_site_key *sk = NULL;
    int rc = mmdx_site_key_read(&sk, path);
    if (rc)
        return rc;
    uint8_t *k = malloc(MMDX_SHA256_LEN);
    if (!k)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc)
        rc = mmdx_site_key_derive(sk, MMDX_KEY_PURPOSE_MODEL, k);
    mmdx_site_key_free(sk);
    if (rc) {
        mmdx_model_key_free(k, MMDX_SHA256_LEN);
        return rc;
    }
    *key = k;
    *key_len = MMDX_SHA256_LEN;
    return 0;
}

int mmdx_model_session_open(mmdx_model_session *s, const mmdx_registry *r, const char *path, const char *key_path,
                            int require_signed)
{
    memset(s, 0, sizeof *s);
    uint8_t *key;
    size_t key_len;
    int rc = mmdx_model_key_load(&key, &key_len, key_path);
    if (rc)
        return rc;
    rc = mmdx_model_file_read(&s->file, path, key, key_len, require_signed);
    mmdx_model_key_free(key, key_len);
    if (rc)
        return rc;
    s->plugin = mmdx_registry_find(r, s->file->fusion);
    if (!s->plugin || s->plugin->info.kind != MMDX_PLUGIN_FUSION) {
        rc = mmdx_fail(MMDX_ENOTFOUND, "%s: the model needs the fusion plugin '%s' (version %s), which is not loaded",
                       path, s->file->fusion, s->file->fusion_version);
    } else {
        mmdx_error err;
        memset(&err, 0, sizeof err);
        rc = s->plugin->fusion.load(&s->model, s->file->blob, s->file->blob_len, &err);
        if (rc) {
            char msg[MMDX_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err.message);
            rc = mmdx_fail(rc, "%s: %s", path, msg[0] ? msg : "the fusion plugin cannot load the model");
        }
    }
    if (rc)
        mmdx_model_session_close(s);
    return rc;
}

void mmdx_model_session_close(mmdx_model_session *s)
{
    if (s->model && s->plugin)
        s->plugin->fusion.free_model(s->model);
    mmdx_model_file_free(s->file);
    memset(s, 0, sizeof *s);
}

int mmdx_model_session_predict(const mmdx_model_session *s, const mmdx_dataset *ds, double **prob,
                               double **contrib)
{
    *prob = malloc((ds->n_samples + 1) * sizeof **prob);
    *contrib = malloc((ds->n_samples * ds->n_modalities + 1) * sizeof **contrib);
    int rc = 0;
    if (!*prob || !*contrib) {
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    } else {
        mmdx_error err;
        memset(&err, 0, sizeof err);
        if ((rc = s->plugin->fusion.predict(s->model, ds, *prob, *contrib, &err)) != 0)
            rc = mmdx_fail_from(&err, rc);
        /* A plugin is code we did not write: never pass on a probability outside [0, 1]. */
        for (size_t i = 0; rc == 0 && i < ds->n_samples; i++)
            if (!isfinite((*prob)[i]) || (*prob)[i] < 0 || (*prob)[i] > 1)
                rc = mmdx_fail(MMDX_ERROR, "fusion plugin %s returned an invalid probability",
                               s->plugin->info.name);
    }
    if (rc) {
        free(*prob);
        free(*contrib);
        *prob = *contrib = NULL;
    }
    return rc;
}

uint32_t mmdx_model_session_embed_dim(const mmdx_model_session *s)
{
    uint32_t dim = 0;
    mmdx_error err;
    memset(&err, 0, sizeof err);
    if (!s->plugin->fusion.embed_dim || !s->plugin->fusion.embed ||
        s->plugin->fusion.embed_dim(s->model, &dim, &err) != 0)
        return 0;
    return dim;
}

static int no_representation(const mmdx_model_session *s, const char *what)
{
    return mmdx_fail(MMDX_EUNSUPPORTED,
                     "the model was trained with %s fusion, which has no shared representation to %s: "
                     "train with --fusion joint",
                     s->plugin->info.name, what);
}

int mmdx_model_session_embed(const mmdx_model_session *s, const mmdx_dataset *ds, double **fused,
                             double **per_modality, uint32_t *dim)
{
    *fused = NULL;
    if (per_modality)
        *per_modality = NULL;
    *dim = mmdx_model_session_embed_dim(s);
    if (*dim == 0)
        return no_representation(s, "embed patients in");
    size_t n = ds->n_samples, M = ds->n_modalities, D = *dim;
    *fused = malloc((n * D + 1) * sizeof **fused);
    if (per_modality)
        *per_modality = malloc((n * M * D + 1) * sizeof **per_modality);
    int rc = 0;
    if (!*fused || (per_modality && !*per_modality)) {
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory (%zu x %zu embedding)", n, D);
    } else {
        mmdx_error err;
        memset(&err, 0, sizeof err);
        if ((rc = s->plugin->fusion.embed(s->model, ds, *fused, per_modality ? *per_modality : NULL, &err)) != 0)
            rc = mmdx_fail_from(&err, rc);
        for (size_t k = 0; rc == 0 && k < n * D; k++)
            if (!isfinite((*fused)[k]))
                rc = mmdx_fail(MMDX_ERROR, "fusion plugin %s returned a non-finite embedding", s->plugin->info.name);
        for (size_t i = 0; rc == 0 && per_modality && i < n; i++)
            for (size_t m = 0; m < M; m++)
                if (ds->present[i * M + m] && !isfinite((*per_modality)[(i * M + m) * D]))
                    rc = mmdx_fail(MMDX_ERROR, "fusion plugin %s returned a non-finite token",
                                   s->plugin->info.name);
    }
    if (rc) {
        free(*fused);
        *fused = NULL;
        if (per_modality) {
            free(*per_modality);
            *per_modality = NULL;
        }
    }
    return rc;
}

int mmdx_model_session_impute(const mmdx_model_session *s, const mmdx_dataset *ds, double **x)
{
    *x = NULL;
    if (!s->plugin->fusion.impute)
        return no_representation(s, "impute a missing modality from");
    *x = malloc((ds->n_samples * ds->n_features + 1) * sizeof **x);
    if (!*x)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_error err;
    memset(&err, 0, sizeof err);
    int rc = s->plugin->fusion.impute(s->model, ds, *x, &err);
    if (rc) {
        rc = mmdx_fail_from(&err, rc);
        free(*x);
        *x = NULL;
    }
    return rc;
}

int mmdx_scored_cohort_run(mmdx_scored_cohort *out, const char *model_path, const char *key_path,
                           int require_signed, mmdx_cohort_input_options *io)
{
    memset(out, 0, sizeof *out);
    int rc = mmdx_model_session_open(&out->session, io->registry, model_path, key_path, require_signed);
    if (rc)
        return rc;
    io->model = out->session.file;
    io->model_path = model_path;
    rc = mmdx_cohort_input_load(&out->in, io);
    if (!rc)
        rc = mmdx_model_session_predict(&out->session, &out->in->ds, &out->prob, &out->contrib);
    if (rc)
        mmdx_scored_cohort_free(out);
    return rc;
}

void mmdx_scored_cohort_free(mmdx_scored_cohort *sc)
{
    free(sc->prob);
    free(sc->contrib);
    mmdx_cohort_input_free(sc->in);
    mmdx_model_session_close(&sc->session);
    memset(sc, 0, sizeof *sc);
}
