/* SPDX-License-Identifier: Apache-2.0 */
#include "binding.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int mmdx_config_hash_is_empty(const char *hex)
{
    mmdx_plugin_config none;
    memset(&none, 0, sizeof none);
    char empty[MMDX_SHA256_HEX_LEN];
    if (mmdx_config_section_hash(&none, empty) < 0)
        return 0;
    return strcmp(hex, empty) == 0;
}

static int config_differs(const char *encoder, const char *model_path, const char *now, const char *then)
{
    if (mmdx_config_hash_is_empty(then))
        return mmdx_fail(MMDX_ESCHEMA,
                         "encoder '%s': %s was trained without a [%s] section in the configuration, and the "
                         "configuration now has one: pass the configuration used at training (or retrain with "
                         "this one)", encoder, model_path, encoder);
    if (mmdx_config_hash_is_empty(now))
        return mmdx_fail(MMDX_ESCHEMA,
                         "encoder '%s': %s was trained with a [%s] section in the configuration, and this "
                         "configuration has none (or none was given): pass the configuration used at training "
                         "with --config", encoder, model_path, encoder);
    return mmdx_fail(MMDX_ESCHEMA,
                     "encoder '%s': the configuration section [%s] differs from the one %s was trained with "
                     "(sha256 %.12s... now, %.12s... at training): pass the configuration used at training",
                     encoder, encoder, model_path, now, then);
}

int mmdx_model_check_encoders(const mmdx_encoder_set *set, const mmdx_model_file *model, const char *model_path,
                              mmdx_provenance_need need, FILE *messages)
{
    if (!model->from_encoders) {
        if (need == MMDX_PROVENANCE_REQUIRED)
            return mmdx_fail(MMDX_ESCHEMA, "%s was trained from a feature table: the versions and settings of the "
                             "encoders it needs are unknown, so it cannot screen inputs (train it with --cohort "
                             "through the encoders)", model_path);
        if (messages)
            fprintf(messages, "mmdx: note: the model was trained from a feature table; only the feature "
                              "names of the encoders can be checked, not their versions\n");
        return 0;
    }
    size_t n = mmdx_encoder_set_count(set);
    for (size_t e = 0; e < model->n_encoders; e++) {
        const mmdx_model_encoder *me = &model->encoders[e];
        size_t k;
        for (k = 0; k < n; k++)
            if (strcmp(mmdx_encoder_set_plugin(set, k)->info.name, me->name) == 0)
                break;
        if (k == n)
            return mmdx_fail(MMDX_ESCHEMA, "the encoder plugin '%s' that %s was trained with is not loaded (see "
                             "mmdx plugins)", me->name, model_path);
        const mmdx_plugin *p = mmdx_encoder_set_plugin(set, k);
        if (strcmp(p->info.version, me->version) != 0)
            return mmdx_fail(MMDX_ESCHEMA, "encoder '%s' is version %s, but %s was trained with version %s: "
                             "install that version or retrain", me->name, p->info.version, model_path,
                             me->version);
        const char *now = mmdx_encoder_set_config_hash(set, k);
        if (strcmp(now, me->config_sha256) != 0)
            return config_differs(me->name, model_path, now, me->config_sha256);
    }
    return 0;
}

static long find_name(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (long)i;
    return -1;
}

void mmdx_model_columns_free(mmdx_model_columns *c)
{
    free(c->feature_col);
    free(c->modality_col);
    memset(c, 0, sizeof *c);
}

int mmdx_model_columns_map(mmdx_model_columns *out, const mmdx_model_file *md, const mmdx_feature_table *t,
                           const char *source)
{
    memset(out, 0, sizeof *out);
    out->n_features = md->n_features;
    out->n_modalities = md->n_modalities;
    out->feature_col = calloc(md->n_features + 1, sizeof *out->feature_col);
    out->modality_col = calloc(md->n_modalities + 1, sizeof *out->modality_col);
    int rc = out->feature_col && out->modality_col ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t k = 0; rc == 0 && k < md->n_modalities; k++)
        if ((out->modality_col[k] = find_name(t->modalities, t->n_modalities, md->modalities[k])) < 0)
            rc = mmdx_fail(MMDX_ESCHEMA, "%s has no modality '%s', which the model was trained on", source,
                           md->modalities[k]);
    for (size_t j = 0; rc == 0 && j < md->n_features; j++)
        if ((out->feature_col[j] = find_name(t->feature_names, t->n_features, md->feature_names[j])) < 0)
            rc = mmdx_fail(MMDX_ESCHEMA,
                           "%s lacks the feature column '%s' the model was trained with (the encoder's feature "
                           "schema differs from training)", source, md->feature_names[j]);
    for (size_t c = 0; rc == 0 && c < t->n_features; c++) {
        long k = find_name(md->modalities, md->n_modalities, t->modalities[t->feature_modality[c]]);
        if (k >= 0 && find_name(md->feature_names, md->n_features, t->feature_names[c]) < 0)
            rc = mmdx_fail(MMDX_ESCHEMA,
                           "%s has the feature column '%s' the model was not trained with (the encoder's feature "
                           "schema differs from training)", source, t->feature_names[c]);
    }
    if (rc)
        mmdx_model_columns_free(out);
    return rc;
}

void mmdx_model_columns_gather(const mmdx_model_columns *c, const mmdx_model_file *md, const mmdx_feature_table *t,
                               const size_t *rows, size_t n, double *x, uint8_t *present)
{
    size_t F = c->n_features, M = c->n_modalities;
    for (size_t r = 0; r < n; r++) {
        size_t i = rows ? rows[r] : r;
        for (size_t m = 0; m < M; m++)
            present[r * M + m] = t->present[i * t->n_modalities + (size_t)c->modality_col[m]] != 0;
        for (size_t f = 0; f < F; f++)
            x[r * F + f] = present[r * M + md->feature_modality[f]] ? t->x[i * t->n_features + (size_t)c->feature_col[f]]
                                                                     : NAN;
    }
}
