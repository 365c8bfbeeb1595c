/*
 * The Orthanc plugin's similar-patient search (orthanc/neighbours.c) against
 * a real PostgreSQL, without Orthanc, so that it runs in the sanitizer build
 * too: the plugin's joint model, predictions stored for six studies with
 * embeddings chosen here, a reviewer and a writer login; then searches by a
 * study checked against cosine distances computed here, the query left
 * out, labels, modalities and study UIDs, a new screening seen by the next
 * search, the audit events, and every refusal with its HTTP status.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <check.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model_file.h"
#include "neighbours.h"
#include "orthanc_model.h"
#include "pgtest.h"
#include "store.h"
#include "testsupport.h"

#define N_STUDIES 6

static char *tmp, *db, *dsn, *reviewer, *writer;
static char model_sha[65], run_id[MMDX_RUN_ID_LEN];
static size_t dim, n_mod;
static double *fused; /* N_STUDIES + 1 rows of dim */

static void vec_of(size_t i, double *v)
{
    /* a deterministic direction per study: study 6 (added later) lies next to study 0 */
    for (size_t c = 0; c < dim; c++)
        v[c] = i == N_STUDIES ? sin(1.0 * (double)c + 0.3) + 0.01 * (double)c : sin((double)(i + 1) * (double)c + 0.3);
}

static void store_studies(size_t from, size_t to)
{
    char key[4200];
    snprintf(key, sizeof key, "%s/site.key", tmp);
    mmdx_store_options o = {.conninfo = dsn, .site_key_file = key, .pseudonymise = 1, .os_user = "test"};
    mmdx_store *s = NULL;
    ck_assert_msg(mmdx_store_open(&s, &o) == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(mmdx_store_migrate(s, NULL, NULL), 0);
    mmdx_store_run run = {model_sha, NULL, NULL, NULL, 0};
    ck_assert_int_eq(mmdx_store_run_begin(s, &run, run_id), 0);
    for (size_t i = from; i < to; i++) {
        char pid[32], uid[64];
        snprintf(pid, sizeof pid, "P%zu", i);
        snprintf(uid, sizeof uid, "2.25.%zu", 1000 + i);
        double *tok = malloc(n_mod * dim * sizeof *tok);
        vec_of(i, fused + i * dim);
        for (size_t m = 0; m < n_mod; m++)
            for (size_t c = 0; c < dim; c++) /* odd studies lack their last modality */
                tok[m * dim + c] = (i % 2 && m == n_mod - 1) ? NAN : fused[i * dim + c];
        mmdx_store_prediction p = {pid, uid, 0.1 * (double)i, i % 2 ? 1 : 0, NULL, 0, NULL, 0,
                                   fused + i * dim, dim, tok, n_mod};
        ck_assert_msg(mmdx_store_predictions(s, run_id, &p, 1, NULL) == 0, "%s", mmdx_last_error());
        free(tok);
    }
    ck_assert_int_eq(mmdx_store_run_end(s, run_id, MMDX_OUTCOME_SUCCESS, NULL), 0);
    mmdx_store_free(s);
}

static double distance(size_t a, size_t b)
{
    double d = 0, na = 0, nb = 0;
    for (size_t c = 0; c < dim; c++) {
        d += fused[a * dim + c] * fused[b * dim + c];
        na += fused[a * dim + c] * fused[a * dim + c];
        nb += fused[b * dim + c] * fused[b * dim + c];
    }
    return 1 - d / sqrt(na * nb);
}

static void settings(mmdx_orthanc_settings *s, const char *review_db, int labels)
{
    char json[16384], lab[4300] = "";
    if (labels)
        snprintf(lab, sizeof lab, ", \"SimilarLabels\": \"%s/labels.csv\"", tmp);
    snprintf(json, sizeof json,
             "{\"Mmdx\": {\"Model\": \"%s/model.mmdx\", \"Database\": \"%s\", \"PluginFolder\": \"%s/lib/mmdx/plugins\","
             " \"SiteKey\": \"%s/site.key\", \"Pseudonymise\": true, \"RequireSignedModel\": true%s%s%s%s}}",
             tmp, dsn, mmdx_test_build_dir(), tmp, review_db ? ", \"ReviewerDatabase\": \"" : "",
             review_db ? review_db : "", review_db ? "\"" : "", lab);
    ck_assert_msg(mmdx_orthanc_settings_parse(s, json, strlen(json)) == 0, "%s", mmdx_last_error());
}

static char *job_json(size_t study, const char *sha)
{
    char *j = malloc(1024);
    snprintf(j, 1024, "{\"orthanc_id\": \"O%zu\", \"state\": \"done\", \"result\": {\"study_instance_uid\": "
             "\"2.25.%zu\", \"run_id\": \"%s\", \"model\": {\"sha256\": \"%s\"}}}", study, 1000 + study, run_id, sha);
    return j;
}

static int find(mmdx_orthanc_neighbours *n, const char *job, size_t k, json_object **out)
{
    mmdx_orthanc_neighbours_query q = {"O0", job, k, "dr_test"};
    char *json = NULL;
    int rc = mmdx_orthanc_neighbours_find(n, &q, &json);
    *out = json ? json_tokener_parse(json) : NULL;
    ck_assert(rc != 0 || *out);
    free(json);
    return rc;
}

static json_object *get(json_object *o, const char *k)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, k, &v), "no \"%s\" in %s", k, json_object_to_json_string(o));
    return v;
}

static char *pseudonym(size_t i)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' db pseudonym P%zu --site-key '%s/site.key'", mmdx_test_mmdx_bin(), i, tmp);
    char *out = orthanc_test_run_ok(cmd);
    out[strcspn(out, "\n")] = 0;
    return out;
}

/* The index of a neighbour's patient among the studies, by its pseudonym. */
static size_t study_of(const char *key)
{
    for (size_t i = 0; i <= N_STUDIES; i++) {
        char *p = pseudonym(i);
        int same = strcmp(p, key) == 0;
        free(p);
        if (same)
            return i;
    }
    ck_abort_msg("neighbour %s is none of the stored patients", key);
    return 0;
}

static void check_neighbours(json_object *r, size_t query, size_t k, const char *expect_first)
{
    json_object *nb = get(r, "neighbours");
    ck_assert_uint_eq(json_object_array_length(nb), k);
    char *qk = pseudonym(query);
    ck_assert_str_eq(json_object_get_string(get(get(r, "query"), "patient")), qk);
    ck_assert_str_eq(json_object_get_string(get(get(r, "query"), "model_sha256")), model_sha);
    ck_assert_str_eq(json_object_get_string(get(get(r, "query"), "space")), "fused");
    double last = -1;
    for (size_t i = 0; i < k; i++) {
        json_object *h = json_object_array_get_idx(nb, i);
        const char *p = json_object_get_string(get(h, "patient"));
        ck_assert_str_ne(p, qk); /* the query's own patient is left out */
        size_t s = study_of(p);
        double d = json_object_get_double(get(h, "distance"));
        ck_assert_msg(fabs(d - distance(query, s)) < 1e-5, "rank %zu: %.9g, computed %.9g", i + 1, d,
                      distance(query, s));
        ck_assert(d >= last - 1e-12);
        last = d;
        ck_assert_int_eq(json_object_get_int(get(h, "rank")), (int)i + 1);
        ck_assert(fabs(json_object_get_double(get(h, "probability")) - 0.1 * (double)s) < 1e-12);
        char uid[64];
        snprintf(uid, sizeof uid, "2.25.%zu", 1000 + s);
        ck_assert_str_eq(json_object_get_string(get(h, "study_uid")), uid);
        ck_assert_uint_eq(json_object_array_length(get(h, "modalities")), s % 2 ? n_mod - 1 : n_mod);
        /* labels.csv: P1 is 1, P2 is 0, the others unknown */
        json_object *l = get(h, "label");
        if (s == 1 || s == 2)
            ck_assert_int_eq(json_object_get_int(l), s == 1);
        else
            ck_assert_ptr_null(l);
        if (i == 0 && expect_first)
            ck_assert_str_eq(p, expect_first);
    }
    free(qk);
}

START_TEST(neighbours_of_a_study)
{
    mmdx_test_data_or_skip();
    tmp = mmdx_test_tmpdir();
    db = mmdx_pgtest_create_db("orthanc_nb");
    dsn = mmdx_pgtest_admin_dsn(db);
    expected e;
    orthanc_test_train_model(tmp, &e);
    char path[4200];
    snprintf(path, sizeof path, "%s/model.mmdx", tmp);
    mmdx_model_file *mf = NULL;
    ck_assert_int_eq(mmdx_model_file_read(&mf, path, NULL, 0, 0), 0);
    snprintf(model_sha, sizeof model_sha, "%s", mf->sha256);
    n_mod = mf->n_modalities;
    mmdx_model_file_free(mf);
    dim = 32; /* the joint model's shared space (the integration test checks the stored vector's size) */
    fused = calloc((N_STUDIES + 1) * dim, sizeof *fused);
    store_studies(0, N_STUDIES);
    snprintf(path, sizeof path, "%s/labels.csv", tmp);
    mmdx_test_write_file(path, "patient_id,label\nP1,1\nP2,0\nP3,\n");
    mmdx_pgtest_exec(dsn, "DO $$ BEGIN CREATE ROLE nb_r LOGIN PASSWORD 'rpw' IN ROLE mmdx_reviewer; "
                          "CREATE ROLE nb_w LOGIN PASSWORD 'wpw' IN ROLE mmdx_writer; "
                          "EXCEPTION WHEN duplicate_object THEN NULL; END $$;");
    reviewer = mmdx_pgtest_role_dsn(db, "nb_r", "rpw");
    writer = mmdx_pgtest_role_dsn(db, "nb_w", "wpw");

    /* not configured: refused, naming the setting */
    mmdx_orthanc_settings s;
    settings(&s, NULL, 0);
    mmdx_orthanc_neighbours *n = NULL;
    ck_assert_int_eq(mmdx_orthanc_neighbours_new(&n, &s, NULL), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "Mmdx.ReviewerDatabase"));
    ck_assert_ptr_null(n);
    mmdx_orthanc_settings_clear(&s);

    /* k: 1..1000, 10 when absent */
    size_t k;
    ck_assert_int_eq(mmdx_orthanc_neighbours_parse_k(NULL, &k), 0);
    ck_assert_uint_eq(k, 10);
    ck_assert_int_eq(mmdx_orthanc_neighbours_parse_k("1000", &k), 0);
    ck_assert_uint_eq(k, 1000);
    const char *bad_k[] = {"0", "100000", "-3", "abc", "3x", ""};
    for (size_t i = 0; i < sizeof bad_k / sizeof *bad_k; i++) {
        ck_assert_int_eq(mmdx_orthanc_neighbours_parse_k(bad_k[i], &k), MMDX_EINVAL);
        ck_assert_int_eq(mmdx_orthanc_neighbours_http_status(MMDX_EINVAL), 400);
        ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "1 to 1000"));
    }

    /* the search by study 0: its three nearest others, recorded */
    settings(&s, reviewer, 1);
    ck_assert_int_eq(mmdx_orthanc_neighbours_new(&n, &s, NULL), 0);
    char *job = job_json(0, model_sha);
    json_object *r = NULL;
    int rc = find(n, job, 3, &r);
    ck_assert_msg(rc == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(json_object_get_int(get(r, "candidates")), N_STUDIES);
    check_neighbours(r, 0, 3, NULL);
    json_object_put(r);
    ck_assert_int_eq(find(n, job, 5, &r), 0); /* everyone else, each once */
    check_neighbours(r, 0, 5, NULL);
    json_object_put(r);
    char *q0 = pseudonym(0), sql[2048];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.similar' AND patient = "
             "'%s' AND study_uid = '2.25.1000' AND db_role = 'nb_r' AND detail LIKE '%%\"via\":\"orthanc\"%%' AND "
             "detail LIKE '%%\"requested_by\":\"dr_test\"%%' AND detail LIKE '%%\"shown\":[\"psn:%%'", q0);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, sql), 2);

    /* a study screened after the first search is a candidate for the next, and the nearest here */
    store_studies(N_STUDIES, N_STUDIES + 1);
    char *p6 = pseudonym(N_STUDIES);
    ck_assert_int_eq(find(n, job, 1, &r), 0);
    ck_assert_int_eq(json_object_get_int(get(r, "candidates")), N_STUDIES + 1);
    check_neighbours(r, 0, 1, p6);
    json_object_put(r);
    free(job);

    /* refusals: no result yet, an unknown study UID, another model */
    static const struct {
        const char *job;
        int code, status;
        const char *text;
    } refused[] = {
        {"{\"orthanc_id\": \"O9\", \"state\": \"pending\", \"result\": null}", MMDX_ENOTFOUND, 404, "state pending"},
        {"{\"state\": \"done\", \"result\": {\"study_instance_uid\": \"2.25.9\", \"run_id\": \"R\", \"model\": "
         "{\"sha256\": \"SHA\"}}}", MMDX_ENOTFOUND, 404, "no stored embedding"},
        {"{\"state\": \"done\", \"result\": {\"study_instance_uid\": \"2.25.1000\", \"run_id\": \"R\", \"model\": "
         "{\"sha256\": \"OTHER\"}}}", MMDX_ESCHEMA, 409, "screen it again"},
        {"not json", MMDX_ENOTFOUND, 404, "no stored result"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        /* SHA: the plugin's model; OTHER: a model differing in its last digit */
        char j[1024], other[65];
        snprintf(other, sizeof other, "%.63s%c", model_sha, model_sha[63] == '0' ? '1' : '0');
        const char *at = strstr(refused[i].job, "SHA"), *ot = strstr(refused[i].job, "OTHER");
        if (at)
            snprintf(j, sizeof j, "%.*s%s%s", (int)(at - refused[i].job), refused[i].job, model_sha, at + 3);
        else if (ot)
            snprintf(j, sizeof j, "%.*s%s%s", (int)(ot - refused[i].job), refused[i].job, other, ot + 5);
        else
            snprintf(j, sizeof j, "%s", refused[i].job);
        ck_assert_int_eq(find(n, j, 3, &r), refused[i].code);
        ck_assert_msg(strstr(mmdx_last_error(), refused[i].text), "%zu: %s", i, mmdx_last_error());
        ck_assert_int_eq(mmdx_orthanc_neighbours_http_status(refused[i].code), refused[i].status);
    }
    mmdx_orthanc_neighbours_free(n);
    mmdx_orthanc_settings_clear(&s);

    /* the writer login cannot read embeddings: 403, and nothing recorded */
    long long before = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.similar'");
    settings(&s, writer, 0);
    ck_assert_int_eq(mmdx_orthanc_neighbours_new(&n, &s, NULL), 0);
    job = job_json(0, model_sha);
    rc = find(n, job, 3, &r);
    ck_assert_int_eq(rc, MMDX_EPERM);
    ck_assert_int_eq(mmdx_orthanc_neighbours_http_status(rc), 403);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "may not read stored embeddings"));
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.similar'"),
                     before);
    free(job);
    mmdx_orthanc_neighbours_free(n);
    mmdx_orthanc_settings_clear(&s);

    char cmd[8600];
    snprintf(cmd, sizeof cmd, "'%s' audit verify --require-hmac --site-key '%s/site.key' --db \"%s\"",
             mmdx_test_mmdx_bin(), tmp, dsn);
    free(orthanc_test_run_ok(cmd));
    free(q0);
    free(p6);
    free(fused);
    free(reviewer);
    free(writer);
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(dsn);
    free(db);
}
END_TEST

int main(void)
{
    return orthanc_test_main("orthanc_neighbours", neighbours_of_a_study);
}
