/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `records` encoder plugin: manifest column `record` names a FHIR R4
 * Bundle or resource (.json), a bulk-data NDJSON file or folder, or a wide
 * CSV table; features are "records.<name>" as the feature spec defines.
 *
 * Configuration ([records] section): spec = <path to a feature spec JSON>,
 * index_date = <FHIR date used when the manifest has no index_date cell>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "strmap.h"
#include "load.h"
#include "mmdx/plugin.h"
#include "records.h"

typedef struct failed_input {
    char *path;
    int code;
    char *message;
} failed_input;

typedef struct records_state {
    mmdx_records *enc;
    mmdx_fhir_date run_index; /* the index date for patients without their own */
    failed_input *failed;     /* shared inputs prepare() could not read */
    size_t n_failed, cap_failed;
} records_state;

static void records_close(void *state)
{
    records_state *s = state;
    if (!s)
        return;
    mmdx_records_free(s->enc);
    for (size_t i = 0; i < s->n_failed; i++) {
        free(s->failed[i].path);
        free(s->failed[i].message);
    }
    free(s->failed);
    free(s);
}

static char *resolve(const char *base, const char *rel)
{
    if (!base || !*base || rel[0] == '/')
        return strdup(rel);
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", base, rel);
    return p;
}

static int records_open(void **state, const mmdx_plugin_config *config, mmdx_error *err)
{
    *state = NULL;
    const char *spec = NULL, *index = NULL;
    const mmdx_config_entry *spec_entry = NULL, *index_entry = NULL;
    for (size_t i = 0; config && i < config->n_entries; i++) {
        const mmdx_config_entry *e = &config->entries[i];
        if (strcmp(e->key, "spec") == 0) {
            spec = e->value;
            spec_entry = e;
        } else if (strcmp(e->key, "index_date") == 0) {
            index = e->value;
            index_entry = e;
        } else {
            return mmdx_error_set(err, MMDX_EINVAL, "%s:%d: unknown key '%s' in [records] (known: spec, index_date)",
                                  e->file ? e->file : "(configuration)", (int)e->line, e->key);
        }
    }
    records_state *s = calloc(1, sizeof *s);
    if (!s)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    s->run_index = mmdx_fhir_today();
    if (index && mmdx_fhir_date_parse(&s->run_index, index) < 0) {
        free(s);
        return mmdx_error_set(err, MMDX_EINVAL, "%s:%d: index_date '%s' is not a FHIR date (e.g. 2024-01-31)",
                              index_entry->file ? index_entry->file : "(configuration)", (int)index_entry->line,
                              index);
    }
    char *spec_path = spec ? resolve(config->base_dir, spec) : NULL;
    if (spec && !spec_path) {
        free(s);
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    }
    int rc = mmdx_records_new(&s->enc, spec_path);
    free(spec_path);
    if (rc < 0) {
        free(s);
        if (spec_entry)
            return mmdx_error_set(err, rc, "%s:%d: spec: %s", spec_entry->file ? spec_entry->file : "(configuration)",
                                  (int)spec_entry->line, mmdx_last_error());
        return mmdx_error_set(err, rc, "%s", mmdx_last_error());
    }
    *state = s;
    return 0;
}

static int records_features(void *state, size_t *n, const char *const **names, mmdx_error *err)
{
    (void)err;
    *n = mmdx_records_features(((records_state *)state)->enc, names);
    return 0;
}

/* Index input i in prepare() when several patients share it, or it is NDJSON, a folder or CSV. */
static int prepare_one(records_state *s, const mmdx_encoder_input *const *inputs, size_t i, const mmdx_strmap *uses,
                       const size_t *count, mmdx_error *err)
{
    const char *path = inputs[i]->path;
    if (mmdx_records_is_indexed(s->enc, path))
        return 0;
    size_t first = i;
    (void)mmdx_strmap_get(uses, path, &first);
    int shared = count[first] > 1;
    int kind = mmdx_records_kind_of(path);
    int failed_before = 0;
    for (size_t k = 0; k < s->n_failed; k++)
        failed_before |= strcmp(s->failed[k].path, path) == 0;
    /* Per-patient bundles are read in encode(), in parallel; shared ones once, here. */
    if (failed_before || (!shared && kind == MMDX_RECORDS_JSON))
        return 0;
    int rc = mmdx_records_index(s->enc, path);
    if (rc == MMDX_ENOMEM)
        return mmdx_error_set(err, rc, "%s", mmdx_last_error());
    if (rc < 0) {
        /* Reported by encode() for each patient of this input; the others go on. */
        if (mmdx_array_reserve(&s->failed, &s->cap_failed, s->n_failed + 1, sizeof *s->failed, 4, 0) < 0)
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        failed_input *nf = s->failed;
        nf[s->n_failed].path = strdup(path);
        nf[s->n_failed].message = strdup(mmdx_last_error());
        nf[s->n_failed].code = rc;
        if (!nf[s->n_failed].path || !nf[s->n_failed].message) {
            free(nf[s->n_failed].path);
            free(nf[s->n_failed].message);
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        }
        s->n_failed++;
    }
    return 0;
}

static int records_prepare(void *state, const mmdx_encoder_input *const *inputs, size_t n_inputs, mmdx_error *err)
{
    records_state *s = state;
    /* How many patients name each input. */
    mmdx_strmap *uses = mmdx_strmap_new();
    size_t *count = calloc(n_inputs ? n_inputs : 1, sizeof *count);
    if (!uses || !count) {
        mmdx_strmap_free(uses);
        free(count);
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_inputs; i++) {
        size_t first = i;
        if (mmdx_strmap_put(uses, inputs[i]->path, i, &first) < 0) {
            mmdx_strmap_free(uses);
            free(count);
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        }
        count[first]++;
    }
    int rc = 0;
    for (size_t i = 0; i < n_inputs && rc == 0; i++)
        rc = prepare_one(s, inputs, i, uses, count, err);
    mmdx_strmap_free(uses);
    free(count);
    return rc;
}

static const char *extra(const mmdx_encoder_input *in, const char *key)
{
    for (size_t i = 0; i < in->n_extra; i++)
        if (in->extra_keys[i] && strcmp(in->extra_keys[i], key) == 0)
            return in->extra_values[i];
    return NULL;
}

static int records_encode(void *state, const mmdx_encoder_input *input, double *values, int32_t *present,
                          mmdx_error *err)
{
    records_state *s = state;
    *present = 0;
    for (size_t k = 0; k < s->n_failed; k++)
        if (strcmp(s->failed[k].path, input->path) == 0)
            return mmdx_error_set(err, s->failed[k].code, "%s", s->failed[k].message);
    mmdx_fhir_date index = s->run_index;
    const char *idx = extra(input, "index_date");
    if (idx && *idx && mmdx_fhir_date_parse(&index, idx) < 0)
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: index_date: not a FHIR date (e.g. 2024-01-31)",
                              input->origin ? input->origin : input->patient_id);
    const char *who = extra(input, "record_patient");
    if (!who || !*who)
        who = input->patient_id;
    int rc = mmdx_records_encode(s->enc, input->path, who, &index, values, present, NULL);
    if (rc < 0)
        return mmdx_error_set(err, rc, "%s", mmdx_last_error());
    return 0;
}

static const mmdx_encoder_vtable records_vtable = {
    sizeof(mmdx_encoder_vtable), 0, records_open, records_features, records_prepare, records_encode,
    records_close,
};

static const mmdx_plugin_info records_info = {
    MMDX_ABI_VERSION,
    sizeof(mmdx_plugin_info),
    MMDX_PLUGIN_ENCODER,
    0,
    "records",
    "1.0.0",
    "records",
    "record",
    "health records (FHIR R4 Bundle/NDJSON, CSV) to demographics, lab, condition and medication features",
    &records_vtable,
    NULL,
};

MMDX_PLUGIN_DECLARE(records_info)
