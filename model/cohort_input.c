/* SPDX-License-Identifier: Apache-2.0 */
#include "cohort_input.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encoders.h"
#include "binding.h"
#include "error.h"
#include "hash.h"
#include "manifest.h"

void mmdx_cohort_input_free(mmdx_cohort_input *in)
{
    if (!in)
        return;
    mmdx_feature_table_free(in->table);
    free(in->ids);
    free(in->lines);
    free(in->origin_copy);
    free(in->feature_names);
    free(in->feature_modality);
    free(in->modalities);
    free(in->x);
    free(in->present);
    free(in->labels);
    for (size_t i = 0; in->encoders && i < in->n_encoders; i++) {
        free(in->encoders[i].name);
        free(in->encoders[i].version);
        free(in->encoder_modalities[i]);
    }
    free(in->encoders);
    free(in->encoder_modalities);
    free(in);
}

typedef struct id_index {
    const char *id;
    size_t row;
} id_index;

static int cmp_id(const void *a, const void *b)
{
    return strcmp(((const id_index *)a)->id, ((const id_index *)b)->id);
}

static long find_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (long)i;
    return -1;
}

/*
 * Training without any site configuration: say which encoders run on their
 * built-in defaults, since the model records that and screening with the
 * site's configuration would then be refused (genomics, for one, computes no
 * polygenic score without its [genomics] scores). A configuration file that
 * leaves a section out does so on purpose: nothing is said then.
 */
static void note_default_sections(const mmdx_encoder_set *set, const mmdx_config *config, FILE *messages)
{
    if (config && mmdx_config_path(config))
        return;
    for (size_t k = 0; k < mmdx_encoder_set_count(set); k++) {
        if (!mmdx_config_hash_is_empty(mmdx_encoder_set_config_hash(set, k)))
            continue;
        const char *name = mmdx_encoder_set_plugin(set, k)->info.name;
        fprintf(messages, "mmdx: warning: no site configuration was given (--config): the %s encoder runs "
                "with its built-in defaults%s, and the model records that; pass --config with the site "
                "configuration that screening will use\n", name,
                strcmp(name, "genomics") == 0 ? " (no polygenic score)" : "");
    }
}

static int run_encoders(mmdx_cohort_input *in, const mmdx_manifest *m, const mmdx_cohort_input_options *o)
{
    const char *const *only = o->modalities;
    size_t n_only = o->n_modalities;
    if (o->model) {
        only = (const char *const *)o->model->modalities;
        n_only = o->model->n_modalities;
    }
    const char *cohort_encoders[64];
    if (!n_only) { /* the encoders whose input column this cohort has */
        n_only = mmdx_encoders_for_manifest(o->registry, m, cohort_encoders, 64);
        only = cohort_encoders;
        if (n_only == 0)
            return mmdx_fail(MMDX_ENOTFOUND, "%s: no column of the manifest is read by a loaded encoder",
                             mmdx_manifest_path(m));
    }
    mmdx_encoder_set *set = NULL;
    int rc = mmdx_encoder_set_open(&set, o->registry, o->config, 1, only, n_only);
    if (rc)
        return rc;
    if (mmdx_encoder_set_count(set) == 0)
        rc = mmdx_fail(MMDX_ENOTFOUND, "no encoder plugins are loaded (see mmdx plugins)");
    if (!rc && o->model)
        rc = mmdx_model_check_encoders(set, o->model, o->model_path ? o->model_path : "the model",
                                       MMDX_PROVENANCE_OPTIONAL, o->messages);
    if (!rc && !o->model && o->messages)
        note_default_sections(set, o->config, o->messages);
    if (!rc) {
        mmdx_encode_options eo = {o->keep_going, o->messages, o->progress && o->messages, NULL};
        mmdx_encode_summary sum;
        rc = mmdx_encoder_set_encode_cohort(set, m, &eo, &in->table, &sum);
    }
    size_t ne = rc ? 0 : mmdx_encoder_set_count(set);
    if (ne && (!(in->encoders = calloc(ne, sizeof *in->encoders)) ||
               !(in->encoder_modalities = calloc(ne, sizeof *in->encoder_modalities))))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t k = 0; !rc && k < ne; k++) {
        const mmdx_plugin *p = mmdx_encoder_set_plugin(set, k);
        in->encoders[k].name = strdup(p->info.name);
        in->encoders[k].version = strdup(p->info.version);
        in->encoder_modalities[k] = strdup(p->info.modality ? p->info.modality : "");
        snprintf(in->encoders[k].config_sha256, sizeof in->encoders[k].config_sha256, "%s",
                 mmdx_encoder_set_config_hash(set, k));
        in->n_encoders = k + 1;
        if (!in->encoders[k].name || !in->encoders[k].version || !in->encoder_modalities[k])
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    in->from_encoders = 1;
    mmdx_encoder_set_free(set);
    return rc;
}

/* Which patients, in which order, with which labels. */
static int select_rows(mmdx_cohort_input *in, const mmdx_manifest *m, const mmdx_cohort_input_options *o,
                       size_t **sel_out)
{
    const mmdx_feature_table *t = in->table;
    size_t n = m ? mmdx_manifest_count(m) : t->n_rows;
    size_t *sel = malloc((n ? n : 1) * sizeof *sel);
    in->ids = malloc((n ? n : 1) * sizeof *in->ids);
    in->lines = malloc((n ? n : 1) * sizeof *in->lines);
    if (!sel || !in->ids || !in->lines) {
        free(sel);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    in->n = n;
    int rc = 0;
    if (m && o->features) {
        id_index *idx = malloc((t->n_rows ? t->n_rows : 1) * sizeof *idx);
        if (!idx) {
            free(sel);
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        }
        for (size_t r = 0; r < t->n_rows; r++)
            idx[r].id = t->patient_ids[r], idx[r].row = r;
        qsort(idx, t->n_rows, sizeof *idx, cmp_id);
        for (size_t r = 0; r < n && !rc; r++) {
            id_index key = {mmdx_manifest_patient_id(m, r), 0};
            id_index *hit = bsearch(&key, idx, t->n_rows, sizeof *idx, cmp_id);
            if (!hit)
                rc = mmdx_fail(MMDX_EINVAL, "%s: line %ld: this patient is not in the feature table %s",
                               mmdx_manifest_path(m), mmdx_manifest_line(m, r), o->features);
            else
                sel[r] = hit->row;
        }
        free(idx);
    } else {
        for (size_t r = 0; r < n; r++)
            sel[r] = r;
    }
    in->origin = m ? in->origin_copy : o->features;
    for (size_t r = 0; r < n && !rc; r++) {
        in->ids[r] = t->patient_ids[sel[r]];
        in->lines[r] = m ? mmdx_manifest_line(m, r) : (long)r + 2;
    }
    int have_labels = (m && mmdx_manifest_has_labels(m)) || t->labels;
    if (!rc && have_labels) {
        in->labels = malloc((n ? n : 1) * sizeof *in->labels);
        if (!in->labels)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        for (size_t r = 0; r < n && !rc; r++) {
            if (m && mmdx_manifest_has_labels(m))
                in->labels[r] = mmdx_manifest_label(m, r);
            else
                in->labels[r] = t->labels[sel[r]];
        }
    }
    if (!rc && o->labels == MMDX_LABELS_REQUIRED) {
        if (!in->labels)
            rc = mmdx_fail(MMDX_EINVAL, "%s: no 'label' column: %s needs a 0/1 label for every patient",
                           in->origin, m ? "the cohort manifest (or its feature table)" : "the feature table");
        for (size_t r = 0; r < n && !rc; r++)
            if (in->labels[r] != 0 && in->labels[r] != 1)
                rc = mmdx_fail(MMDX_EINVAL, "%s: line %ld: the label is empty; every patient needs 0 or 1 here",
                               in->origin, in->lines[r]);
    }
    if (rc) {
        free(sel);
        return rc;
    }
    *sel_out = sel;
    return 0;
}

/* Map the columns to use: the model's schema, or the table's (optionally a subset of modalities). */
static int map_schema(mmdx_cohort_input *in, const mmdx_cohort_input_options *o, const size_t *sel, long *colmap,
                      long *modmap)
{
    const mmdx_feature_table *t = in->table;
    const char *src = o->features ? o->features : "the encoded cohort";
    const char *const *tnames = (const char *const *)t->feature_names;
    const char *const *tmods = (const char *const *)t->modalities;
    if (o->model) {
        const mmdx_model_file *md = o->model;
        mmdx_model_columns mc;
        int rc = mmdx_model_columns_map(&mc, md, t, src);
        if (rc)
            return rc;
        in->n_modalities = md->n_modalities;
        in->n_features = md->n_features;
        for (size_t k = 0; k < md->n_modalities; k++) {
            modmap[k] = mc.modality_col[k];
            in->modalities[k] = md->modalities[k];
        }
        for (size_t j = 0; j < md->n_features; j++) {
            colmap[j] = mc.feature_col[j];
            in->feature_names[j] = md->feature_names[j];
            in->feature_modality[j] = md->feature_modality[j];
        }
        mmdx_model_columns_free(&mc);
        return 0;
    }
    for (size_t i = 0; i < o->n_modalities; i++)
        if (find_name(tmods, t->n_modalities, o->modalities[i]) < 0)
            return mmdx_fail(MMDX_ENOTFOUND, "%s has no modality '%s'", src, o->modalities[i]);
    size_t nm = 0, nf = 0;
    for (size_t k = 0; k < t->n_modalities; k++) {
        modmap[k] = -1;
        if (o->n_modalities && find_name(o->modalities, o->n_modalities, tmods[k]) < 0)
            continue;
        /* a modality no selected patient has carries nothing to learn from, and would tie the
         * model to an encoder it never used */
        size_t have = 0;
        for (size_t r = 0; r < in->n; r++)
            have += t->present[sel[r] * t->n_modalities + k];
        if (have == 0) {
            if (o->messages)
                fprintf(o->messages, "mmdx: note: no patient has the modality '%s'; it is left out\n", tmods[k]);
            continue;
        }
        modmap[nm] = (long)k;
        in->modalities[nm++] = tmods[k];
    }
    if (nm == 0)
        return mmdx_fail(MMDX_EINVAL, "%s: no patient has any modality", src);
    /* grouped by modality (the model file lists each modality's features together) */
    for (size_t k = 0; k < nm; k++) {
        for (size_t c = 0; c < t->n_features; c++) {
            if (t->feature_modality[c] != (uint32_t)modmap[k])
                continue;
            colmap[nf] = (long)c;
            in->feature_names[nf] = tnames[c];
            in->feature_modality[nf++] = (uint32_t)k;
        }
    }
    if (nf == 0)
        return mmdx_fail(MMDX_EINVAL, "%s has no feature columns", src);
    in->n_modalities = nm;
    in->n_features = nf;
    return 0;
}

int mmdx_cohort_input_load(mmdx_cohort_input **out, const mmdx_cohort_input_options *o)
{
    *out = NULL;
    if (!o->cohort && !o->manifest && !o->features)
        return mmdx_fail(MMDX_EINVAL, "give a cohort manifest (--cohort) or a feature table (--features)");
    mmdx_cohort_input *in = calloc(1, sizeof *in);
    if (!in)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_manifest *m = NULL;
    size_t *sel = NULL;
    long *colmap = NULL, *modmap = NULL;
    int rc = 0;
    mmdx_manifest *loaded = NULL;
    if (o->manifest)
        m = (mmdx_manifest *)o->manifest; /* borrowed: in->origin points into it */
    else if (o->cohort)
        rc = mmdx_manifest_load(&loaded, o->cohort);
    if (loaded)
        m = loaded;
    if (!rc && m && !(in->origin_copy = strdup(mmdx_manifest_path(m))))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc)
        rc = o->features ? mmdx_feature_table_read(&in->table, o->features) : run_encoders(in, m, o);
    if (!rc)
        rc = select_rows(in, m, o, &sel);
    if (!rc) {
        const mmdx_feature_table *t = in->table;
        size_t F = o->model ? o->model->n_features : t->n_features;
        size_t M = o->model ? o->model->n_modalities : t->n_modalities;
        colmap = malloc((F + 1) * sizeof *colmap);
        modmap = malloc((M + 1) * sizeof *modmap);
        in->feature_names = calloc(F + 1, sizeof *in->feature_names);
        in->feature_modality = calloc(F + 1, sizeof *in->feature_modality);
        in->modalities = calloc(M + 1, sizeof *in->modalities);
        if (!colmap || !modmap || !in->feature_names || !in->feature_modality || !in->modalities)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        if (!rc)
            rc = map_schema(in, o, sel, colmap, modmap);
    }
    /* keep the encoders of the modalities kept */
    for (size_t e = 0, kept = 0; !rc && e < in->n_encoders; e++) {
        if (find_name(in->modalities, in->n_modalities, in->encoder_modalities[e]) >= 0) {
            mmdx_model_encoder me = in->encoders[e];
            char *mod = in->encoder_modalities[e];
            in->encoders[e] = in->encoders[kept];
            in->encoder_modalities[e] = in->encoder_modalities[kept];
            in->encoders[kept] = me;
            in->encoder_modalities[kept] = mod;
            kept++;
        }
        if (e + 1 == in->n_encoders) {
            for (size_t d = kept; d < in->n_encoders; d++) {
                free(in->encoders[d].name);
                free(in->encoders[d].version);
                free(in->encoder_modalities[d]);
            }
            in->n_encoders = kept;
            break;
        }
    }
    if (!rc) {
        const mmdx_feature_table *t = in->table;
        size_t n = in->n, F = in->n_features, M = in->n_modalities;
        in->x = malloc((n * F + 1) * sizeof *in->x);
        in->present = malloc(n * M + 1);
        if (!in->x || !in->present)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory (%zu patients x %zu features)", n, F);
        for (size_t r = 0; r < n && !rc; r++) {
            const double *src = t->x + sel[r] * t->n_features;
            for (size_t j = 0; j < F; j++)
                in->x[r * F + j] = src[colmap[j]];
            for (size_t k = 0; k < M; k++)
                in->present[r * M + k] = t->present[sel[r] * t->n_modalities + (size_t)modmap[k]];
        }
    }
    free(sel);
    free(colmap);
    free(modmap);
    mmdx_manifest_free(loaded);
    if (rc) {
        mmdx_cohort_input_free(in);
        return rc;
    }
    mmdx_dataset *d = &in->ds;
    d->abi_version = MMDX_ABI_VERSION;
    d->struct_size = sizeof *d;
    d->n_samples = in->n;
    d->n_features = in->n_features;
    d->feature_names = in->feature_names;
    d->feature_modality = in->feature_modality;
    d->n_modalities = in->n_modalities;
    d->modalities = in->modalities;
    d->x = in->x;
    d->present = in->present;
    d->labels = in->labels;
    d->sample_ids = in->ids;
    *out = in;
    return 0;
}

void mmdx_cohort_input_hash(const mmdx_cohort_input *in, char hex[MMDX_SHA256_HEX_LEN])
{
    size_t n = in->n, F = in->n_features, M = in->n_modalities;
    uint8_t *digests = malloc((n + 1) * MMDX_SHA256_LEN);
    size_t rowlen = 4 + M + 8 * F;
    uint8_t *row = malloc(rowlen + 1);
    size_t names_len = 1;
    for (size_t j = 0; j < F; j++)
        names_len += strlen(in->feature_names[j]) + 1;
    char *names = malloc(names_len);
    if (!digests || !row || !names) {
        free(digests), free(row), free(names);
        snprintf(hex, MMDX_SHA256_HEX_LEN, "%s", "");
        return;
    }
    /* schema first, then one digest per patient (id, label, presence, raw doubles) */
    size_t off = 0;
    for (size_t j = 0; j < F; j++) {
        size_t l = strlen(in->feature_names[j]);
        memcpy(names + off, in->feature_names[j], l);
        names[off + l] = '\n';
        off += l + 1;
    }
    mmdx_sha256(names, off, digests);
    for (size_t r = 0; r < n; r++) {
        int32_t label = in->labels ? in->labels[r] : -1;
        memcpy(row, &label, 4);
        memcpy(row + 4, in->present + r * M, M);
        memcpy(row + 4 + M, in->x + r * F, 8 * F);
        size_t idl = strlen(in->ids[r]);
        uint8_t pair[2 * MMDX_SHA256_LEN];
        mmdx_sha256(in->ids[r], idl, pair);
        mmdx_sha256(row, rowlen, pair + MMDX_SHA256_LEN);
        mmdx_sha256(pair, sizeof pair, digests + (r + 1) * MMDX_SHA256_LEN);
    }
    uint8_t final[MMDX_SHA256_LEN];
    mmdx_sha256(digests, (n + 1) * MMDX_SHA256_LEN, final);
    mmdx_hex(final, MMDX_SHA256_LEN, hex);
    free(digests), free(row), free(names);
}

int mmdx_dataset_subset(mmdx_dataset *out, const mmdx_dataset *d, const size_t *rows, size_t k)
{
    *out = *d;
    size_t F = d->n_features, M = d->n_modalities;
    double *x = malloc((k * F + 1) * sizeof *x);
    uint8_t *present = malloc(k * M + 1);
    int32_t *labels = d->labels ? malloc((k + 1) * sizeof *labels) : NULL;
    const char **ids = d->sample_ids ? malloc((k + 1) * sizeof *ids) : NULL;
    if (!x || !present || (d->labels && !labels) || (d->sample_ids && !ids)) {
        free(x), free(present), free(labels), free(ids);
        memset(out, 0, sizeof *out);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < k; r++) {
        memcpy(x + r * F, d->x + rows[r] * F, F * sizeof *x);
        memcpy(present + r * M, d->present + rows[r] * M, M);
        if (labels)
            labels[r] = d->labels[rows[r]];
        if (ids)
            ids[r] = d->sample_ids[rows[r]];
    }
    out->n_samples = k;
    out->x = x;
    out->present = present;
    out->labels = labels;
    out->sample_ids = ids;
    return 0;
}

void mmdx_dataset_subset_free(mmdx_dataset *d)
{
    free((void *)d->x);
    free((void *)d->present);
    free((void *)d->labels);
    free((void *)d->sample_ids);
    memset(d, 0, sizeof *d);
}
