/* SPDX-License-Identifier: Apache-2.0 */
#include "config_values.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int mmdx_genomics_cfg_bool(const mmdx_config_entry *e, int *out, mmdx_error *err)
{
    if (!strcmp(e->value, "true") || !strcmp(e->value, "yes") || !strcmp(e->value, "1"))
        *out = 1;
    else if (!strcmp(e->value, "false") || !strcmp(e->value, "no") || !strcmp(e->value, "0"))
        *out = 0;
    else
        return mmdx_error_set(err, MMDX_EINVAL, "%s:%d: %s = '%s': expected true or false", e->file,
                              (int)e->line, e->key, e->value);
    return 0;
}

int mmdx_genomics_cfg_num(const mmdx_config_entry *e, const char *text, double lo, double hi,
                          double *out, mmdx_error *err)
{
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == text || *end || errno || !isfinite(x) || x < lo || x > hi)
        return mmdx_error_set(err, MMDX_EINVAL, "%s:%d: %s = '%s': expected a number in [%g, %g]",
                              e->file, (int)e->line, e->key, e->value, lo, hi);
    *out = x;
    return 0;
}

int mmdx_prs_options_set(mmdx_prs_options *o, const mmdx_config_entry *e, mmdx_error *err)
{
    int rc;
    double x;
    if (!strcmp(e->key, "keep_ambiguous"))
        rc = mmdx_genomics_cfg_bool(e, &o->keep_ambiguous, err);
    else if (!strcmp(e->key, "mean_impute"))
        rc = mmdx_genomics_cfg_bool(e, &o->mean_impute, err);
    else if (!strcmp(e->key, "exact_dosage"))
        rc = mmdx_genomics_cfg_bool(e, &o->exact_dosage, err);
    else if (!strcmp(e->key, "no_multiallelic"))
        rc = mmdx_genomics_cfg_bool(e, &o->no_multiallelic, err);
    else if (!strcmp(e->key, "exclude_duplicates"))
        rc = mmdx_genomics_cfg_bool(e, &o->exclude_duplicates, err);
    else if (!strcmp(e->key, "require_positions"))
        rc = mmdx_genomics_cfg_bool(e, &o->require_positions, err);
    else if (!strcmp(e->key, "pgsc_defaults")) {
        int on = 0;
        if ((rc = mmdx_genomics_cfg_bool(e, &on, err)) == 0 && on)
            mmdx_prs_options_pgsc(o);
    } else if (!strcmp(e->key, "min_overlap")) {
        if ((rc = mmdx_genomics_cfg_num(e, e->value, 0, 1, &x, err)) == 0)
            o->min_overlap = x;
    } else if (!strcmp(e->key, "dosage")) {
        rc = 0;
        if (!strcasecmp(e->value, "gt"))
            o->dosage = MMDX_DOSAGE_GT;
        else if (!strcasecmp(e->value, "ds"))
            o->dosage = MMDX_DOSAGE_DS;
        else if (!strcasecmp(e->value, "gp"))
            o->dosage = MMDX_DOSAGE_GP;
        else
            rc = mmdx_error_set(err, MMDX_EINVAL, "%s:%d: dosage = '%s': expected gt, ds or gp",
                                e->file, (int)e->line, e->value);
    } else {
        return 0;
    }
    return rc < 0 ? rc : 1;
}
