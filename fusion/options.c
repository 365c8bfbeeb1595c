/* SPDX-License-Identifier: Apache-2.0 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "logreg.h"

void mmdx_fusion_options_init(mmdx_fusion_options *o)
{
    memset(o, 0, sizeof *o);
    o->classifier = MMDX_CLASSIFIER_LOGREG;
    o->C = 1.0;
    o->max_iter = 1000;
    o->tol = 1e-6;
    o->solver = MMDX_LOGREG_AUTO;
    o->n_hidden = 1;
    o->hidden[0] = 64;
    o->alpha = 1e-4;
    o->learning_rate = 1e-3;
    o->batch_size = 200;
    o->max_epochs = 200;
    o->patience = 10;
    o->validation_fraction = 0.1;
    o->inner_folds = 5;
    o->combiner_C = 1.0;
    o->n_threads = 1;
    o->use_blas = 1;
}

int mmdx_fusion_opt_bad(mmdx_error *err, const mmdx_config_entry *e, const char *what)
{
    return mmdx_error_set(err, MMDX_EINVAL, "%s:%d: %s = '%s': %s", e->file ? e->file : "(config)",
                          (int)e->line, e->key, e->value, what);
}

int mmdx_fusion_opt_double(const mmdx_config_entry *e, double lo, double hi, double *out, mmdx_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(e->value, &end);
    if (errno || end == e->value || *end || !isfinite(v) || v < lo || v > hi) {
        char what[96];
        snprintf(what, sizeof what, "expected a number in [%g, %g]", lo, hi);
        return mmdx_fusion_opt_bad(err, e, what);
    }
    *out = v;
    return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int mmdx_fusion_opt_int(const mmdx_config_entry *e, long lo, long hi, long *out, mmdx_error *err)
{
    if (parse_long(e->value, lo, hi, out) != 0) {
        char what[96];
        snprintf(what, sizeof what, "expected an integer in [%ld, %ld]", lo, hi);
        return mmdx_fusion_opt_bad(err, e, what);
    }
    return 0;
}

static int parse_hidden(const mmdx_config_entry *e, mmdx_fusion_options *o, mmdx_error *err)
{
    char buf[64];
    if (strlen(e->value) >= sizeof buf)
        return mmdx_fusion_opt_bad(err, e, "expected one or two layer sizes, e.g. 64 or 64,32");
    strcpy(buf, e->value);
    char *comma = strchr(buf, ',');
    long a, b = 0;
    if (comma)
        *comma = '\0';
    if (parse_long(buf, 1, 4096, &a) != 0 || (comma && parse_long(comma + 1, 1, 4096, &b) != 0))
        return mmdx_fusion_opt_bad(err, e, "expected one or two layer sizes in [1, 4096], e.g. 64 or 64,32");
    o->hidden[0] = (size_t)a;
    o->hidden[1] = (size_t)b;
    o->n_hidden = comma ? 2 : 1;
    return 0;
}

int mmdx_fusion_params_check(const mmdx_fusion_params *params, mmdx_error *err)
{
    if (!params || params->struct_size < sizeof(mmdx_fusion_params) ||
        MMDX_ABI_MAJOR(params->abi_version) != MMDX_ABI_VERSION_MAJOR || params->reserved != 0)
        return mmdx_error_set(err, MMDX_EABI, "fusion: training parameters of an unsupported ABI version");
    if (params->config && (params->config->struct_size < sizeof(mmdx_plugin_config) ||
                           MMDX_ABI_MAJOR(params->config->abi_version) != MMDX_ABI_VERSION_MAJOR))
        return mmdx_error_set(err, MMDX_EABI, "fusion: configuration of an unsupported ABI version");
    return 0;
}

/* A key with two values: *out = 0 for `off`, 1 for `on`. */
static int opt_either(const mmdx_config_entry *e, const char *off, const char *on, int *out, mmdx_error *err)
{
    if (strcmp(e->value, off) == 0 || strcmp(e->value, on) == 0) {
        *out = strcmp(e->value, on) == 0;
        return 0;
    }
    char why[96];
    snprintf(why, sizeof why, "expected %s or %s", off, on);
    return mmdx_fusion_opt_bad(err, e, why);
}

int mmdx_fusion_options_parse(mmdx_fusion_options *o, const mmdx_fusion_params *params,
                              mmdx_error *err)
{
    mmdx_fusion_options_init(o);
    int prc = mmdx_fusion_params_check(params, err);
    if (prc)
        return prc;
    const char *clf = params->classifier ? params->classifier : "logreg";
    if (strcmp(clf, "logreg") == 0)
        o->classifier = MMDX_CLASSIFIER_LOGREG;
    else if (strcmp(clf, "mlp") == 0)
        o->classifier = MMDX_CLASSIFIER_MLP;
    else
        return mmdx_error_set(err, MMDX_EINVAL, "unknown classifier '%s' (expected logreg or mlp)", clf);
    o->seed = params->seed;
    o->n_threads = params->n_threads > 0 ? params->n_threads : 1;
    const mmdx_plugin_config *c = params->config;
    for (size_t i = 0; c && i < c->n_entries; i++) {
        const mmdx_config_entry *e = &c->entries[i];
        long l;
        int rc = 0;
        if (strcmp(e->key, "C") == 0) {
            rc = mmdx_fusion_opt_double(e, 1e-12, 1e12, &o->C, err);
        } else if (strcmp(e->key, "class_weight") == 0) {
            rc = opt_either(e, "none", "balanced", &o->class_weight_balanced, err);
        } else if (strcmp(e->key, "max_iter") == 0) {
            if ((rc = mmdx_fusion_opt_int(e, 1, 1000000, &l, err)) == 0)
                o->max_iter = (int)l;
        } else if (strcmp(e->key, "tol") == 0) {
            rc = mmdx_fusion_opt_double(e, 1e-15, 1.0, &o->tol, err);
        } else if (strcmp(e->key, "solver") == 0) {
            if (strcmp(e->value, "auto") == 0)
                o->solver = MMDX_LOGREG_AUTO;
            else if (strcmp(e->value, "newton") == 0)
                o->solver = MMDX_LOGREG_NEWTON;
            else if (strcmp(e->value, "lbfgs") == 0)
                o->solver = MMDX_LOGREG_LBFGS;
            else
                rc = mmdx_fusion_opt_bad(err, e, "expected auto, newton or lbfgs");
        } else if (strcmp(e->key, "hidden") == 0) {
            rc = parse_hidden(e, o, err);
        } else if (strcmp(e->key, "alpha") == 0) {
            rc = mmdx_fusion_opt_double(e, 0.0, 1e6, &o->alpha, err);
        } else if (strcmp(e->key, "learning_rate") == 0) {
            rc = mmdx_fusion_opt_double(e, 1e-8, 10.0, &o->learning_rate, err);
        } else if (strcmp(e->key, "batch_size") == 0) {
            if ((rc = mmdx_fusion_opt_int(e, 1, 1000000, &l, err)) == 0)
                o->batch_size = (size_t)l;
        } else if (strcmp(e->key, "max_epochs") == 0) {
            if ((rc = mmdx_fusion_opt_int(e, 1, 100000, &l, err)) == 0)
                o->max_epochs = (int)l;
        } else if (strcmp(e->key, "patience") == 0) {
            if ((rc = mmdx_fusion_opt_int(e, 1, 100000, &l, err)) == 0)
                o->patience = (int)l;
        } else if (strcmp(e->key, "validation_fraction") == 0) {
            rc = mmdx_fusion_opt_double(e, 0.01, 0.5, &o->validation_fraction, err);
        } else if (strcmp(e->key, "inner_folds") == 0) {
            if ((rc = mmdx_fusion_opt_int(e, 2, 20, &l, err)) == 0)
                o->inner_folds = (unsigned)l;
        } else if (strcmp(e->key, "combiner_C") == 0) {
            rc = mmdx_fusion_opt_double(e, 1e-6, 1e12, &o->combiner_C, err);
        } else if (strcmp(e->key, "blas") == 0) {
            rc = opt_either(e, "no", "yes", &o->use_blas, err);
        } else {
            rc = mmdx_error_set(err, MMDX_EINVAL,
                                "%s:%d: unknown key '%s' in [%s] (known: C, class_weight, max_iter, tol, "
                                "solver, hidden, alpha, learning_rate, batch_size, max_epochs, patience, "
                                "validation_fraction, inner_folds, combiner_C, blas)",
                                e->file ? e->file : "(config)", (int)e->line, e->key,
                                c->section ? c->section : "?");
        }
        if (rc)
            return rc;
    }
    return 0;
}
