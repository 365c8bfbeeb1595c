/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `mmdx similar` end to end against a real PostgreSQL: a generated cohort,
 * a joint-fusion model, a pseudonymised screening run; then searches by a
 * stored patient and by new patients, exact and through the saved FAISS
 * index (grown when a second run stores more), each checked against
 * distances recomputed here from the stored rows, the audit log, the
 * reviewer/writer split, a changed row, and every bad input's exit code.
 */
#include <check.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pgtest.h"
#include "testsupport.h"

static char *tmp, *dsn, *dbname;
static char cohort[4096], conf[4096], key[4096], joint[4096], late[4096], idx[4096];

static char *sh_out(const char *cmd, int want)
{
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(rc == want, "exit %d (wanted %d): %s\n%s\n%s", rc, want, cmd, out ? out : "", err ? err : "");
    free(err);
    return out;
}

static void sh(const char *cmd)
{
    free(sh_out(cmd, 0));
}

static void setup(void)
{
    tmp = mmdx_test_tmpdir();
    char cmd[16384];
    snprintf(cohort, sizeof cohort, "%s/cohort", tmp);
    snprintf(conf, sizeof conf, "%s/mmdx.conf", cohort);
    snprintf(key, sizeof key, "%s/site.key", tmp);
    snprintf(joint, sizeof joint, "%s/joint.mmdx", tmp);
    snprintf(late, sizeof late, "%s/late.mmdx", tmp);
    snprintf(idx, sizeof idx, "%s/index", tmp);
    snprintf(cmd, sizeof cmd, "'%s' synth --patients 80 --out '%s' --seed 5 --missing 0.2 --image-size 16 --slices 6 "
             "--threads 2 --no-progress", mmdx_test_mmdx_bin(), cohort);
    sh(cmd);
    mmdx_test_write_file(key, "0123456789abcdef0123456789abcdef-similar-test-key\n");
    chmod(key, 0600);
    const char *fus[2][2] = {{"joint", joint}, {"late", late}};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "'%s' train --cohort '%s/cohort.csv' --config '%s' --modalities genomics,records "
                 "--fusion %s --site-key '%s' --out '%s' --no-progress", mmdx_test_mmdx_bin(), cohort, conf, fus[i][0],
                 key, fus[i][1]);
        sh(cmd);
    }
    dbname = mmdx_pgtest_create_db("similar");
    dsn = mmdx_pgtest_admin_dsn(dbname);
    snprintf(cmd, sizeof cmd, "'%s' db migrate --db '%s'", mmdx_test_mmdx_bin(), dsn);
    sh(cmd);
    /* the first 60 patients now; the rest in a second run later */
    snprintf(cmd, sizeof cmd, "head -n 61 '%s/cohort.csv' > '%s/first.csv' && (head -n 1 '%s/cohort.csv'; "
             "tail -n 20 '%s/cohort.csv') > '%s/second.csv'", cohort, cohort, cohort, cohort, cohort);
    sh(cmd);
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s/first.csv' --config '%s' --site-key '%s' "
             "--db '%s' --pseudonymise --keep-going --no-progress --json > /dev/null; test $? -le 3",
             mmdx_test_mmdx_bin(), joint, cohort, conf, key, dsn);
    sh(cmd);
}

static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(dsn);
    free(dbname);
}

static json_object *similar_json(const char *args, const char *db)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' similar --model '%s' --config '%s' --site-key '%s' --db '%s' --index-dir '%s' "
             "--json %s", mmdx_test_mmdx_bin(), joint, conf, key, db, idx, args);
    char *out = sh_out(cmd, 0);
    json_object *j = json_tokener_parse(out);
    ck_assert_msg(j && json_object_is_type(j, json_type_array), "not a JSON array: %s", out);
    free(out);
    return j;
}

static json_object *get(json_object *o, const char *k)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, k, &v), "no \"%s\" in %s", k, json_object_to_json_string(o));
    return v;
}

/* The stored fused vector of a patient (stored form), unit length. */
static int stored_vec(const char *patient, double *v, int d)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT embedding::text FROM mmdx.predictions WHERE patient = '%s' ORDER BY stored_at "
             "DESC LIMIT 1", patient);
    return mmdx_pgtest_unit_vector(dsn, sql, v, d);
}

static char *pseudonym(const char *id)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' db pseudonym '%s' --site-key '%s'", mmdx_test_mmdx_bin(), id, key);
    char *out = sh_out(cmd, 0);
    out[strcspn(out, "\n")] = 0;
    return out;
}

/* the neighbours of one query: nearest first, the query itself absent, distances as recomputed here */
static void check_neighbours(json_object *q, const char *query_key, size_t k)
{
    json_object *nb = get(q, "neighbours");
    size_t n = json_object_array_length(nb);
    ck_assert_uint_eq(n, k);
    double qv[32], hv[32], last = -1;
    ck_assert(stored_vec(query_key, qv, 32));
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(nb, i);
        const char *p = json_object_get_string(get(h, "patient"));
        ck_assert_str_ne(p, query_key);
        ck_assert(strncmp(p, "psn:", 4) == 0);
        ck_assert(stored_vec(p, hv, 32));
        double dot = 0;
        for (int c = 0; c < 32; c++)
            dot += qv[c] * hv[c];
        double dist = json_object_get_double(get(h, "distance"));
        ck_assert_msg(fabs(dist - (1 - dot)) < 1e-5, "rank %zu: distance %.9g, recomputed %.9g", i + 1, dist,
                      1 - dot);
        ck_assert(dist >= last - 1e-12);
        last = dist;
    }
}

START_TEST(similar_end_to_end)
{
    char cmd[16384], sql[2048];
    char *query = pseudonym("SYN000003");
    /* exact search by a stored patient (looked up by raw ID: the rows are pseudonymised) */
    snprintf(cmd, sizeof cmd, "--patient SYN000003 --k 5 --search exact --labels '%s/cohort.csv'", cohort);
    json_object *r = similar_json(cmd, dsn);
    ck_assert_uint_eq(json_object_array_length(r), 1);
    json_object *q = json_object_array_get_idx(r, 0);
    ck_assert_str_eq(json_object_get_string(get(q, "query")), query);
    ck_assert_str_eq(json_object_get_string(get(q, "search")), "exact");
    ck_assert_str_eq(json_object_get_string(get(q, "space")), "fused");
    check_neighbours(q, query, 5);
    /* labels from the manifest reach the neighbours; modalities come from the stored tokens */
    json_object *h0 = json_object_array_get_idx(get(q, "neighbours"), 0);
    ck_assert(json_object_get_type(get(h0, "label")) == json_type_int);
    ck_assert_uint_ge(json_object_array_length(get(h0, "modalities")), 1);
    char exact_first[128];
    snprintf(exact_first, sizeof exact_first, "%s", json_object_get_string(get(h0, "patient")));
    json_object_put(r);

    /* the search was recorded: who asked, about which (pseudonymised) patient, whom it showed */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.similar' AND "
             "patient = '%s' AND detail LIKE '%%\"shown\":[\"%s\"%%'", query, exact_first);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, sql), 1);
    snprintf(cmd, sizeof cmd, "'%s' audit log --action results.similar --db '%s' --site-key '%s'", mmdx_test_mmdx_bin(),
             dsn, key);
    char *log = sh_out(cmd, 0);
    ck_assert_ptr_nonnull(strstr(log, exact_first));
    free(log);

    /* the index: built on first use, the same neighbours as exact search here */
    snprintf(cmd, sizeof cmd, "--patient SYN000003 --k 5 --search index");
    r = similar_json(cmd, dsn);
    q = json_object_array_get_idx(r, 0);
    ck_assert_str_eq(json_object_get_string(get(q, "search")), "index");
    ck_assert(json_object_get_boolean(get(get(q, "index"), "rebuilt")));
    long long stored = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
    ck_assert_int_eq(json_object_get_int64(get(get(q, "index"), "added")), stored);
    check_neighbours(q, query, 5);
    ck_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(get(q, "neighbours"), 0), "patient")),
                     exact_first);
    json_object_put(r);
    struct stat st;
    ck_assert_int_eq(stat(idx, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    /* a second run stores 20 more patients: the index grows from the audit log, not rebuilt */
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s/second.csv' --config '%s' --site-key '%s' "
             "--db '%s' --pseudonymise --keep-going --no-progress --json > /dev/null; test $? -le 3",
             mmdx_test_mmdx_bin(), joint, cohort, conf, key, dsn);
    sh(cmd);
    long long stored2 = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
    ck_assert_int_gt(stored2, stored);
    r = similar_json("--patient SYN000003 --k 5 --search index", dsn);
    q = json_object_array_get_idx(r, 0);
    ck_assert(!json_object_get_boolean(get(get(q, "index"), "rebuilt")));
    ck_assert_int_eq(json_object_get_int64(get(get(q, "index"), "added")), stored2 - stored);
    ck_assert_int_eq(json_object_get_int64(get(q, "candidates")), stored2);
    check_neighbours(q, query, 5);
    json_object_put(r);
    /* a damaged index file is rebuilt, with the same answers */
    snprintf(cmd, sizeof cmd, "for f in '%s'/*.faiss; do head -c 100 \"$f\" > \"$f.x\" && mv \"$f.x\" \"$f\"; done",
             idx);
    sh(cmd);
    r = similar_json("--patient SYN000003 --k 5 --search index", dsn);
    q = json_object_array_get_idx(r, 0);
    ck_assert(json_object_get_boolean(get(get(q, "index"), "rebuilt")));
    check_neighbours(q, query, 5);
    json_object_put(r);

    /* new patients from a manifest: the same patient's full record gives the stored vector's neighbours */
    snprintf(cmd, sizeof cmd, "(head -n 1 '%s/cohort.csv'; grep '^SYN000003,' '%s/cohort.csv') > '%s/q.csv'", cohort,
             cohort, cohort);
    sh(cmd);
    snprintf(cmd, sizeof cmd, "--cohort '%s/q.csv' --k 6 --search exact", cohort);
    r = similar_json(cmd, dsn);
    q = json_object_array_get_idx(r, 0);
    ck_assert_str_eq(json_object_get_string(get(q, "query_kind")), "new");
    json_object *nb = get(q, "neighbours");
    /* not left out: a new query finds the patient's own earlier record first, at distance 0 */
    ck_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(nb, 0), "patient")), query);
    ck_assert(fabs(json_object_get_double(get(json_object_array_get_idx(nb, 0), "distance"))) < 1e-6);
    ck_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(nb, 1), "patient")), exact_first);
    json_object_put(r);

    /* a row changed after it was stored is never shown, and said so */
    snprintf(sql, sizeof sql, "SET session_replication_role = replica; UPDATE mmdx.predictions SET embedding[1] = "
             "embedding[1] + 1e-9 WHERE patient = '%s'", exact_first);
    mmdx_pgtest_exec(dsn, sql);
    snprintf(cmd, sizeof cmd, "'%s' similar --model '%s' --config '%s' --site-key '%s' --db '%s' --patient SYN000003 "
             "--k 5 --search exact --csv 2>&1", mmdx_test_mmdx_bin(), joint, conf, key, dsn);
    char *out = sh_out(cmd, 0);
    ck_assert_ptr_null(strstr(out, exact_first));
    ck_assert_ptr_nonnull(strstr(out, "no longer match"));
    free(out);
    free(query);
}
END_TEST

static void expect_exit(const char *args, int code, const char *text, const char *db)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' similar --config '%s' --site-key '%s' --db '%s' --index-dir '%s' %s 2>&1",
             mmdx_test_mmdx_bin(), conf, key, db, idx, args);
    char *out = sh_out(cmd, code);
    ck_assert_msg(strstr(out, text), "%s: expected \"%s\" in: %s", args, text, out);
    free(out);
}

START_TEST(bad_input_and_roles)
{
    static const struct {
        int late_model;
        const char *args, *text;
        int code;
    } cases[] = {
        {1, "--patient SYN000003", "no shared representation", 3},
        {0, "--patient NOBODY", "no stored prediction of this model", 3},
        {0, "--patient SYN000003 --k 0", "expected 1..1000", 2},
        {0, "--patient SYN000003 --k 1001", "expected 1..1000", 2},
        {0, "--patient SYN000003 --using genomics,imagingg", "no modality \"imagingg\"", 2},
        {0, "--patient SYN000003 --cohort x.csv", "one of --patient", 2},
        /* by one modality's tokens: works, and says so */
        {0, "--patient SYN000003 --using records --k 3 --search exact", "records space", 0},
    };
    char a[8192];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(a, sizeof a, "--model '%s' %s", cases[i].late_model ? late : joint, cases[i].args);
        expect_exit(a, cases[i].code, cases[i].text, dsn);
    }
    /* the writer role cannot read embeddings; a reviewer login can */
    mmdx_pgtest_exec(dsn, "DO $$ BEGIN CREATE ROLE sim_w LOGIN PASSWORD 'wpw' IN ROLE mmdx_writer; "
                          "CREATE ROLE sim_r LOGIN PASSWORD 'rpw' IN ROLE mmdx_reviewer; "
                          "EXCEPTION WHEN duplicate_object THEN NULL; END $$;");
    char *w = mmdx_pgtest_role_dsn(dbname, "sim_w", "wpw"), *rv = mmdx_pgtest_role_dsn(dbname, "sim_r", "rpw");
    snprintf(a, sizeof a, "--model '%s' --patient SYN000003 --search exact", joint);
    expect_exit(a, 3, "may not read stored embeddings", w);
    expect_exit(a, 0, "exact search", rv);
    ck_assert_int_ge(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.similar' "
                                            "AND db_role = 'sim_r'"), 1);
    /* an index folder others may write is refused */
    ck_assert_int_eq(chmod(idx, 0777), 0);
    snprintf(a, sizeof a, "--model '%s' --patient SYN000003 --search index", joint);
    expect_exit(a, 3, "writable by others", dsn);
    chmod(idx, 0700);
    free(w);
    free(rv);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("similar");
    TCase *t = tcase_create("cli");
    tcase_set_timeout(t, 600);
    tcase_add_unchecked_fixture(t, setup, teardown);
    tcase_add_test(t, similar_end_to_end);
    tcase_add_test(t, bad_input_and_roles);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return mmdx_test_run_suite(suite());
}
