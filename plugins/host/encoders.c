/* SPDX-License-Identifier: Apache-2.0 */
#include "clock.h"
#include "encoders.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dupes.h"
#include "error.h"
#include "hash.h"
#include "progress.h"

typedef struct opened {
    const mmdx_plugin *plugin;
    void *state;
    size_t n_features;
    const char *const *names;
    char config_hash[MMDX_SHA256_HEX_LEN];
} opened;

struct mmdx_encoder_set {
    opened *enc;
    size_t n;
};

static int modality_rank(const char *m)
{
    static const char *const order[] = {"imaging", "genomics", "records"};
    for (int i = 0; i < 3; i++)
        if (strcmp(m, order[i]) == 0)
            return i;
    return 3;
}

static int cmp_opened(const void *a, const void *b)
{
    const opened *x = a, *y = b;
    int rx = modality_rank(x->plugin->info.modality), ry = modality_rank(y->plugin->info.modality);
    if (rx != ry)
        return rx - ry;
    return strcmp(x->plugin->info.modality, y->plugin->info.modality);
}

static int valid_feature_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
              *s == '-'))
            return 0;
    return 1;
}


static int check_schema(const opened *o)
{
    const char *name = o->plugin->info.name;
    for (size_t j = 0; j < o->n_features; j++) {
        if (!valid_feature_name(o->names[j]))
            return mmdx_fail(MMDX_ESCHEMA, "encoder %s: feature %zu has an invalid name \"%s\"", name,
                             j, o->names[j] ? o->names[j] : "(null)");
        if (strcmp(o->names[j], "present") == 0)
            return mmdx_fail(MMDX_ESCHEMA, "encoder %s: a feature may not be called \"present\"", name);
    }
    size_t a = 0, b = 0;
    int found = mmdx_find_duplicate(o->names, o->n_features, &a, &b);
    if (found < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (found)
        return mmdx_fail(MMDX_ESCHEMA, "encoder %s: feature name \"%s\" appears twice", name,
                         o->names[a]);
    return 0;
}

static int wanted(const mmdx_plugin *p, const char *const *only, size_t n_only, int *hits)
{
    if (!only)
        return 1;
    int w = 0;
    for (size_t i = 0; i < n_only; i++)
        if (strcmp(only[i], p->info.name) == 0 || strcmp(only[i], p->info.modality) == 0) {
            hits[i] = 1;
            w = 1;
        }
    return w;
}

int mmdx_encoder_set_open(mmdx_encoder_set **out, const mmdx_registry *r, const mmdx_config *c,
                          int n_threads, const char *const *only, size_t n_only)
{
    *out = NULL;
    mmdx_encoder_set *s = calloc(1, sizeof *s);
    int *hits = calloc(n_only ? n_only : 1, sizeof *hits);
    if (!s || !hits || !(s->enc = calloc(mmdx_registry_count(r) + 1, sizeof *s->enc))) {
        free(hits);
        mmdx_encoder_set_free(s);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < mmdx_registry_count(r) && rc == 0; i++) {
        const mmdx_plugin *p = mmdx_registry_get(r, i);
        if (p->info.kind != MMDX_PLUGIN_ENCODER || !wanted(p, only, n_only, hits))
            continue;
        opened *o = &s->enc[s->n];
        o->plugin = p;
        mmdx_plugin_config pc;
        mmdx_config_section(c, p->info.name, n_threads, &pc);
        if ((rc = mmdx_config_section_hash(&pc, o->config_hash)) < 0)
            break;
        mmdx_error err = {0};
        rc = p->encoder.open(&o->state, &pc, &err);
        if (rc < 0) {
            rc = mmdx_fail_from(&err, rc);
            break;
        }
        s->n++;
        memset(&err, 0, sizeof err);
        rc = p->encoder.features(o->state, &o->n_features, &o->names, &err);
        if (rc < 0)
            rc = mmdx_fail_from(&err, rc);
        else
            rc = check_schema(o);
    }
    for (size_t i = 0; rc == 0 && i < n_only; i++)
        if (!hits[i])
            rc = mmdx_fail(MMDX_ENOTFOUND, "no encoder plugin named \"%s\" is loaded (see mmdx plugins)",
                           only[i]);
    free(hits);
    if (rc < 0) {
        mmdx_encoder_set_free(s);
        return rc;
    }
    qsort(s->enc, s->n, sizeof *s->enc, cmp_opened);
    *out = s;
    return 0;
}

size_t mmdx_encoders_for_manifest(const mmdx_registry *r, const mmdx_manifest *m, const char **names,
                                  size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < mmdx_registry_count(r) && n < max; i++) {
        const mmdx_plugin *p = mmdx_registry_get(r, i);
        if (p->info.kind == MMDX_PLUGIN_ENCODER && mmdx_manifest_column(m, p->info.input_column) >= 0)
            names[n++] = p->info.name;
    }
    return n;
}

void mmdx_encoder_set_free(mmdx_encoder_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        s->enc[i].plugin->encoder.close(s->enc[i].state);
    free(s->enc);
    free(s);
}

size_t mmdx_encoder_set_count(const mmdx_encoder_set *s) { return s->n; }
const mmdx_plugin *mmdx_encoder_set_plugin(const mmdx_encoder_set *s, size_t i) { return s->enc[i].plugin; }
size_t mmdx_encoder_set_n_features(const mmdx_encoder_set *s, size_t i) { return s->enc[i].n_features; }
const char *const *mmdx_encoder_set_feature_names(const mmdx_encoder_set *s, size_t i) { return s->enc[i].names; }
const char *mmdx_encoder_set_config_hash(const mmdx_encoder_set *s, size_t i) { return s->enc[i].config_hash; }

void mmdx_encoder_input_init(mmdx_encoder_input *in, const char *patient_id, const char *path,
                             const char *sample, const char *origin)
{
    memset(in, 0, sizeof *in);
    in->abi_version = MMDX_ABI_VERSION;
    in->struct_size = sizeof *in;
    in->patient_id = patient_id;
    in->path = path;
    in->sample = sample;
    in->origin = origin;
}

int mmdx_encoder_set_encode_one(mmdx_encoder_set *s, size_t i, const mmdx_encoder_input *in,
                                double *values, int32_t *present)
{
    const opened *o = &s->enc[i];
    mmdx_error err = {0};
    int rc = 0;
    if (o->plugin->encoder.prepare) {
        rc = o->plugin->encoder.prepare(o->state, &in, 1, &err);
        if (rc < 0)
            return mmdx_fail_from(&err, rc);
    }
    for (size_t j = 0; j < o->n_features; j++)
        values[j] = NAN;
    *present = 0;
    memset(&err, 0, sizeof err);
    rc = o->plugin->encoder.encode(o->state, in, values, present, &err);
    return rc < 0 ? mmdx_fail_from(&err, rc) : 0;
}

/* ---- cohort ---- */

/* Per-row inputs: one mmdx_encoder_input per encoder, sharing the row's extras. */
typedef struct row_inputs {
    char origin[64];
    char **resolved;     /* per manifest column: resolved path, or NULL (not a path column) */
    const char **extra_keys, **extra_values;
    size_t n_extra;
    mmdx_encoder_input *in; /* per encoder; in[k].path == NULL: modality missing */
} row_inputs;

static void rows_free(row_inputs *rows, size_t n_rows, size_t n_cols)
{
    for (size_t r = 0; rows && r < n_rows; r++) {
        for (size_t c = 0; rows[r].resolved && c < n_cols; c++)
            free(rows[r].resolved[c]);
        free(rows[r].resolved);
        free(rows[r].extra_keys);
        free(rows[r].extra_values);
        free(rows[r].in);
    }
    free(rows);
}

static int is_input_column(const mmdx_encoder_set *s, const char *col)
{
    for (size_t k = 0; k < s->n; k++)
        if (strcmp(col, s->enc[k].plugin->info.input_column) == 0)
            return 1;
    return 0;
}

/* Row i of the run is manifest row sel[i] (sel NULL: row i). */
static size_t manifest_row(const size_t *sel, size_t i) { return sel ? sel[i] : i; }

static int build_rows(const mmdx_encoder_set *s, const mmdx_manifest *m, const size_t *sel,
                      size_t n_rows, row_inputs **out)
{
    size_t n_cols = mmdx_manifest_columns(m);
    row_inputs *rows = calloc(n_rows ? n_rows : 1, sizeof *rows);
    if (!rows)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    const char *base = strrchr(mmdx_manifest_path(m), '/');
    base = base ? base + 1 : mmdx_manifest_path(m);
    for (size_t i = 0; i < n_rows; i++) {
        row_inputs *ri = &rows[i];
        size_t r = manifest_row(sel, i);
        snprintf(ri->origin, sizeof ri->origin, "%.40s:%ld", base, mmdx_manifest_line(m, r));
        ri->resolved = calloc(n_cols, sizeof *ri->resolved);
        ri->extra_keys = calloc(n_cols, sizeof *ri->extra_keys);
        ri->extra_values = calloc(n_cols, sizeof *ri->extra_values);
        ri->in = calloc(s->n ? s->n : 1, sizeof *ri->in);
        if (!ri->resolved || !ri->extra_keys || !ri->extra_values || !ri->in)
            goto oom;
        for (size_t c = 0; c < n_cols; c++) {
            const char *col = mmdx_manifest_column_name(m, c);
            if (mmdx_manifest_is_path_column(col) || is_input_column(s, col)) {
                if (mmdx_manifest_resolve(m, r, col, &ri->resolved[c]) < 0)
                    goto oom;
            }
            if (strcmp(col, "patient_id") == 0)
                continue;
            ri->extra_keys[ri->n_extra] = col;
            ri->extra_values[ri->n_extra++] =
                ri->resolved[c] ? ri->resolved[c] : mmdx_manifest_cell(m, r, c);
        }
        for (size_t k = 0; k < s->n; k++) {
            const mmdx_plugin_info *pi = &s->enc[k].plugin->info;
            long col = mmdx_manifest_column(m, pi->input_column);
            char sample_col[80];
            snprintf(sample_col, sizeof sample_col, "%s_sample", pi->input_column);
            const char *sample = mmdx_manifest_get(m, r, sample_col);
            mmdx_encoder_input_init(&ri->in[k], mmdx_manifest_patient_id(m, r),
                                    col >= 0 ? ri->resolved[col] : NULL,
                                    sample && *sample ? sample : NULL, ri->origin);
            ri->in[k].n_extra = ri->n_extra;
            ri->in[k].extra_keys = ri->extra_keys;
            ri->in[k].extra_values = ri->extra_values;
        }
    }
    *out = rows;
    return 0;
oom:
    rows_free(rows, n_rows, n_cols);
    return mmdx_fail(MMDX_ENOMEM, "out of memory");
}

static int prepare_all(mmdx_encoder_set *s, row_inputs *rows, size_t n_rows, double *seconds)
{
    const mmdx_encoder_input **list = malloc((n_rows ? n_rows : 1) * sizeof *list);
    if (!list)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t k = 0; k < s->n && rc == 0; k++) {
        const mmdx_plugin *p = s->enc[k].plugin;
        if (!p->encoder.prepare)
            continue;
        size_t n = 0;
        for (size_t r = 0; r < n_rows; r++)
            if (rows[r].in[k].path)
                list[n++] = &rows[r].in[k];
        mmdx_error err = {0};
        double t0 = seconds ? mmdx_clock_seconds() : 0;
        rc = p->encoder.prepare(s->enc[k].state, list, n, &err);
        if (seconds)
            seconds[k] += mmdx_clock_seconds() - t0;
        if (rc < 0)
            rc = mmdx_fail_from(&err, rc);
    }
    free(list);
    return rc;
}

static int build_table(const mmdx_encoder_set *s, const mmdx_manifest *m, const size_t *sel,
                       size_t n_rows, mmdx_feature_table **out)
{
    *out = NULL;
    size_t total = 0;
    for (size_t k = 0; k < s->n; k++)
        total += s->enc[k].n_features;
    const char **mods = calloc(s->n ? s->n : 1, sizeof *mods);
    char **names = calloc(total ? total : 1, sizeof *names);
    uint32_t *fm = calloc(total ? total : 1, sizeof *fm);
    int rc = (!mods || !names || !fm) ? mmdx_fail(MMDX_ENOMEM, "out of memory") : 0;
    size_t j = 0;
    for (size_t k = 0; rc == 0 && k < s->n; k++) {
        mods[k] = s->enc[k].plugin->info.modality;
        for (size_t f = 0; f < s->enc[k].n_features; f++, j++) {
            size_t len = strlen(mods[k]) + strlen(s->enc[k].names[f]) + 2;
            if (!(names[j] = malloc(len))) {
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
                break;
            }
            snprintf(names[j], len, "%s.%s", mods[k], s->enc[k].names[f]);
            fm[j] = (uint32_t)k;
        }
    }
    if (rc == 0)
        rc = mmdx_feature_table_new(out, n_rows, s->n, mods, total,
                                    (const char *const *)names, fm, m && mmdx_manifest_has_labels(m));
    for (size_t i = 0; names && i < total; i++)
        free(names[i]);
    free(names);
    free(mods);
    free(fm);
    for (size_t i = 0; rc == 0 && i < n_rows; i++) {
        size_t r = manifest_row(sel, i);
        rc = mmdx_feature_table_set_id(*out, i, mmdx_manifest_patient_id(m, r));
        if ((*out)->labels)
            (*out)->labels[i] = mmdx_manifest_label(m, r);
    }
    if (rc < 0) {
        mmdx_feature_table_free(*out);
        *out = NULL;
    }
    return rc;
}

int mmdx_encoder_set_layout(const mmdx_encoder_set *s, mmdx_feature_table **out)
{
    return build_table(s, NULL, NULL, 0, out);
}

int mmdx_encoder_set_encode_cohort(mmdx_encoder_set *s, const mmdx_manifest *m,
                                   const mmdx_encode_options *opt, mmdx_feature_table **out,
                                   mmdx_encode_summary *summary)
{
    return mmdx_encoder_set_encode_rows(s, m, NULL, mmdx_manifest_count(m), opt, NULL, out, summary);
}


int mmdx_encoder_set_encode_rows(mmdx_encoder_set *s, const mmdx_manifest *m, const size_t *sel,
                                 size_t n_rows, const mmdx_encode_options *opt,
                                 const mmdx_encode_hooks *hooks, mmdx_feature_table **out,
                                 mmdx_encode_summary *summary)
{
    static const mmdx_encode_hooks no_hooks = {NULL, NULL, NULL};
    if (!hooks)
        hooks = &no_hooks;
    *out = NULL;
    memset(summary, 0, sizeof *summary);
    size_t n_cols = mmdx_manifest_columns(m);
    for (size_t i = 0; sel && i < n_rows; i++)
        if (sel[i] >= mmdx_manifest_count(m))
            return mmdx_fail(MMDX_EINVAL, "encode: row %zu is outside the manifest (%zu rows)", sel[i],
                             mmdx_manifest_count(m));
    row_inputs *rows = NULL;
    mmdx_feature_table *t = NULL;
    int rc = build_rows(s, m, sel, n_rows, &rows);
    if (rc == 0)
        rc = build_table(s, m, sel, n_rows, &t);
    if (rc == 0)
        rc = prepare_all(s, rows, n_rows, hooks->encoder_seconds);
    if (rc < 0) {
        rows_free(rows, n_rows, n_cols);
        mmdx_feature_table_free(t);
        return rc;
    }

    size_t *offset = calloc(s->n + 1, sizeof *offset);
    if (!offset) {
        rows_free(rows, n_rows, n_cols);
        mmdx_feature_table_free(t);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < s->n; k++)
        offset[k + 1] = offset[k] + s->enc[k].n_features;

    mmdx_progress *prog = mmdx_progress_new("encode", n_rows, opt->progress ? opt->messages : NULL);
    size_t failures = 0, complete = 0;
    int stop = 0, first_code = 0;

#pragma omp parallel for schedule(dynamic, 1) reduction(+ : failures, complete)
    for (size_t r = 0; r < n_rows; r++) {
        int row_failed = 0, all = 1, halt;
        if (opt->cancel && *opt->cancel) {
#pragma omp atomic write
            stop = 2;
        }
#pragma omp atomic read
        halt = stop;
        if (halt)
            continue;
        for (size_t k = 0; k < s->n; k++) {
            const opened *o = &s->enc[k];
            const mmdx_encoder_input *in = &rows[r].in[k];
            double *values = t->x + r * t->n_features + offset[k];
            int32_t present = 0;
            if (!in->path) {
                all = 0;
                continue;
            }
            mmdx_error err = {0};
            double t0 = hooks->encoder_seconds ? mmdx_clock_seconds() : 0;
            int erc = o->plugin->encoder.encode(o->state, in, values, &present, &err);
            if (hooks->encoder_seconds) {
                double dt = mmdx_clock_seconds() - t0;
#pragma omp atomic update
                hooks->encoder_seconds[k] += dt;
            }
            if (erc < 0) {
                failures++;
                row_failed = 1;
#pragma omp critical(mmdx_encode_first_code)
                if (!first_code)
                    first_code = erc;
                present = 0;
                if (!err.message[0])
                    snprintf(err.message, sizeof err.message, "%s", mmdx_error_name(erc));
                if (hooks->on_failure || opt->messages) {
#pragma omp critical(mmdx_encode_messages)
                    if (hooks->on_failure) {
                        hooks->on_failure(hooks->failure_ctx, r, k, erc, err.message);
                    } else {
                        fprintf(opt->messages, "%s%s: %s: %s\n", opt->progress ? mmdx_progress_clear_line(opt->messages) : "",
                                in->origin, o->plugin->info.modality, err.message);
                        fflush(opt->messages);
                    }
                }
                if (!opt->keep_going) {
#pragma omp atomic write
                    stop = 1;
                }
            }
            if (!present) {
                all = 0;
                for (size_t f = 0; f < o->n_features; f++)
                    values[f] = NAN;
            }
            t->present[r * t->n_modalities + k] = (uint8_t)(present != 0);
        }
        complete += (size_t)all;
        mmdx_progress_step(prog, row_failed);
    }
    summary->seconds = mmdx_progress_elapsed(prog);
    mmdx_progress_free(prog);
    free(offset);
    rows_free(rows, n_rows, n_cols);
    summary->n_patients = n_rows;
    summary->n_failures = failures;
    summary->n_complete = complete;
    if (stop == 2) {
        mmdx_feature_table_free(t);
        return mmdx_fail(MMDX_ECANCELED, "interrupted before all %zu patients were encoded; nothing was "
                         "written (run the same command again)", n_rows);
    }
    if (failures && !opt->keep_going) {
        mmdx_feature_table_free(t);
        /* the first failure's code, so that the exit code says what kind of failure it was */
        return mmdx_fail(first_code ? first_code : MMDX_ERROR,
                         "%zu input(s) failed to encode; nothing was written (use --keep-going to "
                         "mark them missing and continue)",
                         failures);
    }
    *out = t;
    return 0;
}
