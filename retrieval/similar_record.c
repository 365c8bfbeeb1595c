/* SPDX-License-Identifier: Apache-2.0 */
/* What a similar-patient search shows and records: labels, a neighbour as JSON, the audit event. */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "csv.h"
#include "error.h"
#include "similar_record.h"

typedef struct label_entry {
    char *key; /* stored form (pseudonym when pseudonymising) */
    int label;
} label_entry;

struct mmdx_similar_labels {
    label_entry *e; /* sorted by key */
    size_t n, cap;
};

void mmdx_similar_labels_free(mmdx_similar_labels *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->e[i].key);
    free(m->e);
    free(m);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const label_entry *)a)->key, ((const label_entry *)b)->key);
}

static int header_columns(mmdx_csv_reader *r, const char *path, long *id_col, long *label_col)
{
    char **f;
    size_t nf;
    int rc = mmdx_csv_next(r, &f, &nf);
    if (rc <= 0)
        return rc < 0 ? rc : mmdx_fail(MMDX_EFORMAT, "%s: empty (expected a header with patient_id and label)", path);
    for (size_t c = 0; c < nf; c++) {
        if (!strcmp(f[c], "patient_id"))
            *id_col = (long)c;
        else if (!strcmp(f[c], "label"))
            *label_col = (long)c;
    }
    if (*id_col < 0 || *label_col < 0)
        return mmdx_fail(MMDX_EFORMAT, "%s:1: the header needs columns patient_id and label", path);
    return 0;
}

int mmdx_similar_labels_load(mmdx_similar_labels **out, mmdx_store *s, const char *path)
{
    *out = NULL;
    mmdx_similar_labels *m = calloc(1, sizeof *m);
    if (!m)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    mmdx_csv_reader *r;
    int rc = mmdx_csv_open(&r, path, ',');
    if (rc < 0) {
        free(m);
        return rc;
    }
    char **f;
    size_t nf;
    long id_col = -1, label_col = -1;
    rc = header_columns(r, path, &id_col, &label_col);
    while (rc == 0 && (rc = mmdx_csv_next(r, &f, &nf)) > 0) {
        rc = 0;
        if ((size_t)id_col >= nf || (size_t)label_col >= nf || !*f[label_col])
            continue; /* label unknown */
        const char *l = f[label_col];
        if (strcmp(l, "0") && strcmp(l, "1")) {
            rc = mmdx_fail(MMDX_EFORMAT, "%s:%ld: label: expected 0, 1 or empty", path, mmdx_csv_line(r));
            break;
        }
        /* keyed both ways: the rows may have been stored pseudonymised or not */
        char psn[MMDX_PSEUDONYM_LEN];
        int have_psn = mmdx_store_pseudonym(s, f[id_col], psn) == 0;
        mmdx_error_clear();
        if (mmdx_array_reserve(&m->e, &m->cap, m->n + 2, sizeof *m->e, 64, 1) < 0) {
            rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
            break;
        }
        if (!(m->e[m->n].key = strdup(f[id_col])) || (have_psn && !(m->e[m->n + 1].key = strdup(psn)))) {
            free(m->e[m->n].key);
            rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
            break;
        }
        m->e[m->n].label = m->e[m->n + 1].label = l[0] == '1';
        m->n += 1 + have_psn;
    }
    mmdx_csv_close(r);
    if (rc < 0) {
        mmdx_similar_labels_free(m);
        return rc;
    }
    if (m->n)
        qsort(m->e, m->n, sizeof *m->e, by_key);
    *out = m;
    return 0;
}

int mmdx_similar_label_of(const mmdx_similar_labels *m, const char *key)
{
    label_entry probe = {(char *)key, 0};
    const label_entry *e = m && m->n ? bsearch(&probe, m->e, m->n, sizeof *m->e, by_key) : NULL;
    return e ? e->label : -1;
}

static json_object *string_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *mmdx_similar_hit_json(const mmdx_similar_space *sp, const mmdx_similar_hit *x, size_t rank, int label)
{
    json_object *j = json_object_new_object(), *mods = NULL;
    if (x->present_known) {
        mods = json_object_new_array();
        for (size_t m = 0; m < sp->n_modalities && m < 64; m++)
            if (x->present_mask >> m & 1)
                json_object_array_add(mods, json_object_new_string(sp->modalities[m]));
    }
    json_object_object_add(j, "rank", json_object_new_int64((int64_t)rank));
    json_object_object_add(j, "patient", json_object_new_string(x->patient));
    json_object_object_add(j, "pseudonymised", json_object_new_boolean(x->pseudonymised));
    json_object_object_add(j, "distance", json_object_new_double(x->distance));
    json_object_object_add(j, "probability", json_object_new_double(x->probability));
    json_object_object_add(j, "decision", x->decision < 0 ? NULL : json_object_new_int(x->decision));
    json_object_object_add(j, "label", label < 0 ? NULL : json_object_new_int(label));
    json_object_object_add(j, "modalities", mods);
    json_object_object_add(j, "run_id", json_object_new_string(x->run_id));
    json_object_object_add(j, "stored_at", json_object_new_string(x->stored_at));
    json_object_object_add(j, "study_uid", string_or_null(x->study_uid));
    return j;
}

int mmdx_similar_audit(mmdx_store *s, const mmdx_similar_record *r, const mmdx_similar_hits *h)
{
    json_object *d = json_object_new_object(), *shown = json_object_new_array();
    json_object_object_add(d, "query", json_object_new_string(r->query_kind));
    json_object_object_add(d, "space", json_object_new_string(r->space));
    json_object_object_add(d, "search", json_object_new_string(r->search));
    json_object_object_add(d, "k", json_object_new_int64((int64_t)r->k));
    if (r->via)
        json_object_object_add(d, "via", json_object_new_string(r->via));
    if (r->requested_by)
        json_object_object_add(d, "requested_by", json_object_new_string(r->requested_by));
    for (size_t i = 0; i < h->n; i++)
        json_object_array_add(shown, json_object_new_string(h->hit[i].patient));
    json_object_object_add(d, "shown", shown);
    mmdx_audit_event e = {0};
    e.action = "results.similar";
    e.outcome = MMDX_OUTCOME_SUCCESS;
    e.object_type = "model";
    e.object_id = r->model_sha256;
    e.patient_id = r->query_patient; /* pseudonymised by the store when it pseudonymises */
    e.study_uid = r->query_study;
    e.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = mmdx_store_audit(s, &e, NULL);
    json_object_put(d);
    return rc;
}
