/* SPDX-License-Identifier: Apache-2.0 */
#include "binding.h"

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
