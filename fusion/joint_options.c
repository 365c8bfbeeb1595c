/* SPDX-License-Identifier: Apache-2.0 */
/* The [joint] configuration section. */
#include <stdio.h>
#include <string.h>

#include "joint.h"
#include "options.h"

void mmdx_joint_options_init(mmdx_joint_options *o)
{
    memset(o, 0, sizeof *o);
    o->token_dim = 32;
    o->heads = 4;
    o->encoder_hidden = 64;
    o->decoder_hidden = 64;
    o->w_classification = 1.0;
    o->w_reconstruction = 1.0;
    o->w_contrastive = 0.1;
    o->w_fused_alignment = 0.1;
    o->temperature = 0.1;
    o->modality_dropout = 0.25;
    o->alpha = 1.0;
    o->learning_rate = 3e-3;
    o->batch_size = 128;
    o->max_epochs = 200;
    o->patience = 20;
    o->validation_fraction = 0.1;
    o->engine = mmdx_dense_have_blas() ? MMDX_DENSE_BLAS : MMDX_DENSE_LOOPS;
    o->n_threads = 1;
    o->ensemble = 5;
    o->pattern_evidence = 1;
}

static int size_key(const mmdx_config_entry *e, long lo, long hi, size_t *out, mmdx_error *err)
{
    long v;
    int rc = mmdx_fusion_opt_int(e, lo, hi, &v, err);
    if (rc == 0)
        *out = (size_t)v;
    return rc;
}

/* A key with two values: *out 0 for `off`, 1 for `on`; anything else is named. */
static int two_way_key(const mmdx_config_entry *e, const char *off, const char *on, int *out, mmdx_error *err)
{
    if (strcmp(e->value, off) != 0 && strcmp(e->value, on) != 0) {
        char what[96];
        snprintf(what, sizeof what, "expected %s or %s", off, on);
        return mmdx_fusion_opt_bad(err, e, what);
    }
    *out = !strcmp(e->value, on);
    return 0;
}

int mmdx_joint_options_parse(mmdx_joint_options *o, const mmdx_fusion_params *params, mmdx_error *err)
{
    mmdx_joint_options_init(o);
    int rc = mmdx_fusion_params_check(params, err);
    if (rc)
        return rc;
    if (params->classifier && strcmp(params->classifier, "attention") != 0)
        return mmdx_error_set(err, MMDX_EINVAL,
                              "joint fusion: unknown classifier '%s' (its classifier is 'attention')",
                              params->classifier);
    o->seed = params->seed;
    o->n_threads = params->n_threads > 0 ? params->n_threads : 1;
    const mmdx_plugin_config *c = params->config;
    const mmdx_config_entry *heads_entry = NULL;
    for (size_t i = 0; c && i < c->n_entries && rc == 0; i++) {
        const mmdx_config_entry *e = &c->entries[i];
        long l;
        if (!strcmp(e->key, "token_dim"))
            rc = size_key(e, 2, 512, &o->token_dim, err);
        else if (!strcmp(e->key, "heads")) {
            rc = size_key(e, 1, 64, &o->heads, err);
            heads_entry = e;
        } else if (!strcmp(e->key, "encoder_hidden"))
            rc = size_key(e, 1, 4096, &o->encoder_hidden, err);
        else if (!strcmp(e->key, "decoder_hidden"))
            rc = size_key(e, 1, 4096, &o->decoder_hidden, err);
        else if (!strcmp(e->key, "weight_classification"))
            rc = mmdx_fusion_opt_double(e, 0.0, 1e6, &o->w_classification, err);
        else if (!strcmp(e->key, "weight_reconstruction"))
            rc = mmdx_fusion_opt_double(e, 0.0, 1e6, &o->w_reconstruction, err);
        else if (!strcmp(e->key, "weight_contrastive"))
            rc = mmdx_fusion_opt_double(e, 0.0, 1e6, &o->w_contrastive, err);
        else if (!strcmp(e->key, "weight_fused_alignment"))
            rc = mmdx_fusion_opt_double(e, 0.0, 1e6, &o->w_fused_alignment, err);
        else if (!strcmp(e->key, "temperature"))
            rc = mmdx_fusion_opt_double(e, 0.004, 100.0, &o->temperature, err); /* InfoNCE's exps stay finite */
        else if (!strcmp(e->key, "modality_dropout"))
            rc = mmdx_fusion_opt_double(e, 0.0, 0.9, &o->modality_dropout, err);
        else if (!strcmp(e->key, "class_weight"))
            rc = two_way_key(e, "none", "balanced", &o->class_weight_balanced, err);
        else if (!strcmp(e->key, "alpha"))
            rc = mmdx_fusion_opt_double(e, 0.0, 1e6, &o->alpha, err);
        else if (!strcmp(e->key, "learning_rate"))
            rc = mmdx_fusion_opt_double(e, 1e-8, 10.0, &o->learning_rate, err);
        else if (!strcmp(e->key, "batch_size"))
            rc = size_key(e, 2, 1000000, &o->batch_size, err);
        else if (!strcmp(e->key, "max_epochs")) {
            if ((rc = mmdx_fusion_opt_int(e, 1, 100000, &l, err)) == 0)
                o->max_epochs = (int)l;
        } else if (!strcmp(e->key, "patience")) {
            if ((rc = mmdx_fusion_opt_int(e, 1, 100000, &l, err)) == 0)
                o->patience = (int)l;
        } else if (!strcmp(e->key, "ensemble"))
            rc = size_key(e, 1, MMDX_JOINT_MAX_ENSEMBLE, &o->ensemble, err);
        else if (!strcmp(e->key, "pattern_evidence"))
            rc = two_way_key(e, "no", "yes", &o->pattern_evidence, err);
        else if (!strcmp(e->key, "validation_fraction"))
            rc = mmdx_fusion_opt_double(e, 0.01, 0.5, &o->validation_fraction, err);
        else if (!strcmp(e->key, "blas")) {
            if (!strcmp(e->value, "yes") && !mmdx_dense_have_blas())
                rc = mmdx_fusion_opt_bad(err, e, "this build has no CBLAS (OpenBLAS)");
            else if (!strcmp(e->value, "yes") || !strcmp(e->value, "auto"))
                o->engine = mmdx_dense_have_blas() ? MMDX_DENSE_BLAS : MMDX_DENSE_LOOPS;
            else if (!strcmp(e->value, "no"))
                o->engine = MMDX_DENSE_LOOPS;
            else
                rc = mmdx_fusion_opt_bad(err, e, "expected auto, yes or no");
        } else
            rc = mmdx_error_set(err, MMDX_EINVAL,
                                "%s:%d: unknown key '%s' in [%s] (known: token_dim, heads, encoder_hidden, "
                                "decoder_hidden, weight_classification, weight_reconstruction, "
                                "weight_contrastive, weight_fused_alignment, temperature, modality_dropout, class_weight, alpha, "
                                "learning_rate, batch_size, max_epochs, patience, validation_fraction, ensemble, pattern_evidence, blas)",
                                e->file ? e->file : "(config)", (int)e->line, e->key,
                                c->section ? c->section : "joint");
    }
    if (rc == 0 && o->token_dim % o->heads != 0) {
        if (heads_entry)
            return mmdx_fusion_opt_bad(err, heads_entry, "token_dim must be a multiple of heads");
        return mmdx_error_set(err, MMDX_EINVAL, "joint fusion: token_dim %zu is not a multiple of heads %zu",
                              o->token_dim, o->heads);
    }
    if (rc == 0 && o->w_classification == 0 && o->w_reconstruction == 0 && o->w_contrastive == 0)
        return mmdx_error_set(err, MMDX_EINVAL, "joint fusion: every objective weight is 0: nothing to learn");
    return rc;
}
