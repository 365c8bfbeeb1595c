/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The similar-patient route's search: the model's space, the reviewer connection, the audited search. */
#include "neighbours.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model_open.h"
#include "similar.h"
#include "similar_record.h"
#include "site_settings.h"
#include "store.h"

struct mmdx_orthanc_neighbours {
    const mmdx_orthanc_settings *s;
    char *plugin_dir;
    mmdx_registry *registry;
    mmdx_model_session model; /* open when registry is set */
    mmdx_similar_space space;
    mmdx_store *store;        /* the reviewer login, or NULL */
    mmdx_similar *sim;        /* the candidates, or NULL */
    mmdx_similar_labels *labels;
    size_t mismatched;        /* rows left out as changed since they were stored */
};

int mmdx_orthanc_neighbours_new(mmdx_orthanc_neighbours **out, const mmdx_orthanc_settings *s,
                                const char *plugin_dir_default)
{
    *out = NULL;
    if (!s->reviewer_database)
        return mmdx_fail(MMDX_EINVAL, "similar-patient search is not configured: set Mmdx.ReviewerDatabase to a "
                                      "reviewer login (a member of mmdx_reviewer; the writer role cannot read "
                                      "embeddings)");
    mmdx_orthanc_neighbours *n = calloc(1, sizeof *n);
    if (!n || (plugin_dir_default && !(n->plugin_dir = strdup(plugin_dir_default)))) {
        free(n);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    n->s = s;
    *out = n;
    return 0;
}

static void drop_search(mmdx_orthanc_neighbours *n)
{
    mmdx_similar_free(n->sim);
    n->sim = NULL;
    mmdx_similar_labels_free(n->labels);
    n->labels = NULL;
    mmdx_store_free(n->store);
    n->store = NULL;
}

void mmdx_orthanc_neighbours_free(mmdx_orthanc_neighbours *n)
{
    if (!n)
        return;
    drop_search(n);
    if (n->registry) {
        mmdx_model_session_close(&n->model);
        mmdx_registry_free(n->registry);
    }
    free(n->plugin_dir);
    free(n);
}

int mmdx_orthanc_neighbours_parse_k(const char *text, size_t *k)
{
    *k = 10;
    if (!text)
        return 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 1 || v > MMDX_SIMILAR_MAX_K)
        return mmdx_fail(MMDX_EINVAL, "k: expected a whole number from 1 to %d", MMDX_SIMILAR_MAX_K);
    *k = (size_t)v;
    return 0;
}

int mmdx_orthanc_neighbours_http_status(int code)
{
    switch (code) {
    case MMDX_EINVAL: return 400;
    case MMDX_EPERM: return 403;
    case MMDX_ENOTFOUND: return 404;
    case MMDX_ESCHEMA: return 409;
    case MMDX_EUNSUPPORTED: return 422;
    case MMDX_EDB: return 503;
    default: return 500;
    }
}

static void refused_plugin(void *ctx, const char *message)
{
    (void)ctx;
    (void)message; /* the worker's own load reports refused plugins in Orthanc's log */
}

/* The model and its space: once. */
static int open_model(mmdx_orthanc_neighbours *n)
{
    if (n->registry)
        return 0;
    int rc = mmdx_orthanc_model_open(&n->registry, &n->model, n->s, n->plugin_dir, refused_plugin, NULL);
    if (rc)
        return rc;
    memset(&n->space, 0, sizeof n->space);
    n->space.dim = mmdx_model_session_embed_dim(&n->model);
    n->space.n_modalities = n->model.file->n_modalities;
    n->space.modalities = (const char *const *)n->model.file->modalities;
    return 0;
}

/* The last error again under another code, after a prefix (copied first: it is the buffer written). */
static int refail(int code, const char *prefix)
{
    char was[1024];
    snprintf(was, sizeof was, "%s", mmdx_last_error());
    return mmdx_fail(code, "%s%s", prefix, was);
}

/* The reviewer connection and the candidates: opened once, then brought up to date. */
static int open_search(mmdx_orthanc_neighbours *n)
{
    if (n->sim) {
        size_t added = 0, changed = 0;
        int rc = mmdx_similar_refresh(n->sim, &added, &changed);
        n->mismatched += changed;
        if (rc)
            drop_search(n); /* a partial refresh would be read again: start afresh next time */
        return rc;
    }
    mmdx_audit_settings site;
    int rc = mmdx_orthanc_site_settings(n->s, &site);
    mmdx_store_options o;
    memset(&o, 0, sizeof o);
    o.conninfo = n->s->reviewer_database;
    o.site_key_file = site.site_key_file;
    o.pseudonymise = 0; /* patients are named as stored: the query is a stored row's key */
    o.os_user = "orthanc";
    if (!rc)
        rc = mmdx_store_open(&n->store, &o);
    mmdx_audit_settings_clear(&site);
    /* nothing is shown that cannot be recorded (a keyed log and no SiteKey: refused for safety) */
    if (!rc && (rc = mmdx_store_check_can_audit(n->store)) == MMDX_EINVAL)
        rc = refail(MMDX_EPERM, "");
    if (!rc && n->s->similar_labels)
        rc = mmdx_similar_labels_load(&n->labels, n->store, n->s->similar_labels);
    mmdx_similar_options so;
    mmdx_similar_options_init(&so);
    so.model_sha256 = n->model.file->sha256;
    so.space = n->space;
    so.mode = MMDX_SIMILAR_EXACT; /* kept in memory and refreshed: no index file to maintain */
    mmdx_similar_info info = {0};
    if (!rc)
        rc = mmdx_similar_open(&n->sim, n->store, &so, &info);
    n->mismatched = info.mismatched;
    return rc;
}

/* The study's stored result in its queue row: run, study UID and model. */
static int stored_result(const mmdx_orthanc_neighbours_query *q, json_object **row, const char **study_uid,
                         const char **run_id, const char **model_sha)
{
    *row = json_tokener_parse(q->job_json);
    json_object *res = NULL, *state = NULL, *model = NULL, *v;
    if (*row)
        json_object_object_get_ex(*row, "state", &state);
    if (!*row || !json_object_object_get_ex(*row, "result", &res) || !json_object_is_type(res, json_type_object))
        return mmdx_fail(MMDX_ENOTFOUND, "study %s has no stored result yet (state %s): screen it first", q->orthanc_id,
                         state ? json_object_get_string(state) : "unknown");
    *study_uid = json_object_object_get_ex(res, "study_instance_uid", &v) ? json_object_get_string(v) : NULL;
    *run_id = json_object_object_get_ex(res, "run_id", &v) ? json_object_get_string(v) : NULL;
    *model_sha = json_object_object_get_ex(res, "model", &model) && json_object_object_get_ex(model, "sha256", &v)
                     ? json_object_get_string(v) : NULL;
    if (!*study_uid || !*run_id || !*model_sha)
        return mmdx_fail(MMDX_ENOTFOUND, "study %s: its stored result names no study, run or model", q->orthanc_id);
    return 0;
}

static json_object *query_json(const char *key, int pseudonymised, const char *study_uid, const char *run_id,
                               const char *model_sha, const char *space)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "patient", json_object_new_string(key));
    json_object_object_add(o, "pseudonymised", json_object_new_boolean(pseudonymised));
    json_object_object_add(o, "study_uid", json_object_new_string(study_uid));
    json_object_object_add(o, "run_id", json_object_new_string(run_id));
    json_object_object_add(o, "model_sha256", json_object_new_string(model_sha));
    json_object_object_add(o, "space", json_object_new_string(space));
    return o;
}

static char *answer_json(mmdx_orthanc_neighbours *n, const mmdx_orthanc_neighbours_query *q, json_object *query,
                         const char *space, const mmdx_similar_hits *h)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    json_object_object_add(o, "orthanc_id", json_object_new_string(q->orthanc_id));
    json_object_object_add(o, "query", query);
    json_object_object_add(o, "k", json_object_new_int64((int64_t)q->k));
    json_object_object_add(o, "space", json_object_new_string(space));
    json_object_object_add(o, "search", json_object_new_string(mmdx_similar_uses_index(n->sim) ? "index" : "exact"));
    json_object_object_add(o, "candidates", json_object_new_int64((int64_t)mmdx_similar_candidates(n->sim)));
    json_object_object_add(o, "left_out_changed", json_object_new_int64((int64_t)n->mismatched));
    for (size_t i = 0; i < h->n; i++)
        json_object_array_add(arr, mmdx_similar_hit_json(&n->space, &h->hit[i], i + 1,
                                                         mmdx_similar_label_of(n->labels, h->hit[i].patient)));
    json_object_object_add(o, "neighbours", arr);
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

/* The search itself, once the model and the candidates are ready. */
static int search(mmdx_orthanc_neighbours *n, const mmdx_orthanc_neighbours_query *q, const char *study_uid,
                  const char *run_id, char **json)
{
    float *v = malloc(n->space.dim * sizeof *v);
    char *key = NULL, audit_key[MMDX_PSEUDONYM_LEN], space[256];
    int pseudonymised = 0;
    mmdx_similar_hits h = {0};
    int rc = v ? mmdx_similar_study_query(n->sim, study_uid, run_id, v, &key, &pseudonymised)
               : mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == MMDX_ENOTFOUND)
        rc = refail(MMDX_ENOTFOUND, "no stored embedding of the study's prediction by this model: ");
    if (!rc)
        rc = mmdx_similar_search(n->sim, v, q->k, key, &h);
    /* logged under the pseudonym whenever there is a key, as `mmdx similar` does */
    const char *who = key;
    if (!rc && !pseudonymised && mmdx_store_has_key(n->store) &&
        (rc = mmdx_store_pseudonym(n->store, key, audit_key)) == 0)
        who = audit_key;
    mmdx_similar_space_name(&n->space, space, sizeof space);
    mmdx_similar_record rec = {n->model.file->sha256, who, "stored", study_uid, space,
                               mmdx_similar_uses_index(n->sim) ? "index" : "exact", q->k, "orthanc", q->requested_by};
    if (!rc)
        rc = mmdx_similar_audit(n->store, &rec, &h);
    if (!rc && !(*json = answer_json(n, q, query_json(key, pseudonymised, study_uid, run_id, n->model.file->sha256,
                                                      space), space, &h)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_similar_hits_free(&h);
    free(key);
    free(v);
    return rc;
}

int mmdx_orthanc_neighbours_find(mmdx_orthanc_neighbours *n, const mmdx_orthanc_neighbours_query *q, char **json)
{
    *json = NULL;
    if (q->k < 1 || q->k > MMDX_SIMILAR_MAX_K)
        return mmdx_fail(MMDX_EINVAL, "k: expected a whole number from 1 to %d", MMDX_SIMILAR_MAX_K);
    json_object *row = NULL;
    const char *study_uid = NULL, *run_id = NULL, *model_sha = NULL;
    int rc = stored_result(q, &row, &study_uid, &run_id, &model_sha);
    if (!rc)
        rc = open_model(n);
    if (!rc && n->space.dim == 0)
        rc = mmdx_fail(MMDX_EUNSUPPORTED, "%s: the model was trained with %s fusion, which has no shared "
                       "representation to search: train it with --fusion joint", n->s->model, n->model.plugin->info.name);
    if (!rc && strcmp(model_sha, n->model.file->sha256) != 0)
        rc = mmdx_fail(MMDX_ESCHEMA, "study %s was screened with model %.12s, the plugin now uses %.12s: screen it "
                       "again (POST /mmdx/studies/%s/screen) to search in the current model's space", q->orthanc_id,
                       model_sha, n->model.file->sha256, q->orthanc_id);
    if (!rc)
        rc = open_search(n);
    if (!rc)
        rc = search(n, q, study_uid, run_id, json);
    if (rc == MMDX_EDB || (rc && !n->sim))
        drop_search(n); /* reconnect and reload on the next request */
    json_object_put(row);
    return rc;
}
