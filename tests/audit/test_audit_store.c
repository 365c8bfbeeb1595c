/* SPDX-License-Identifier: Apache-2.0 */
/* The audited store against a real PostgreSQL server: migrations, storage,
 * idempotence, pseudonyms, concurrency, roles, faults, and tampering. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint.h"
#include "error.h"
#include "merkle.h"
#include "pgtest.h"
#include "store.h"
#include "store_internal.h"
#include "testsupport.h"

/* ---- helpers ---- */

typedef struct db {
    char *name;
    char *admin; /* superuser DSN */
} db;

static db new_db(const char *prefix, int migrate)
{
    db d;
    d.name = mmdx_pgtest_create_db(prefix);
    d.admin = mmdx_pgtest_admin_dsn(d.name);
    if (migrate) {
        mmdx_store_options o = {0};
        o.conninfo = d.admin;
        mmdx_store *s;
        ck_assert_msg(mmdx_store_open(&s, &o) == 0, "%s", mmdx_last_error());
        int n = -1, v = -1;
        ck_assert_msg(mmdx_store_migrate(s, &n, &v) == 0, "%s", mmdx_last_error());
        ck_assert_int_eq(n, mmdx_store_code_version());
        mmdx_store_free(s);
    }
    return d;
}

static void free_db(db *d)
{
    char *admin = mmdx_pgtest_admin_dsn(NULL);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", d->name);
    mmdx_pgtest_exec(admin, sql);
    free(admin);
    free(d->name);
    free(d->admin);
}

static mmdx_store *open_store(const char *dsn, const char *key_file, int pseudonymise)
{
    mmdx_store_options o = {0};
    o.conninfo = dsn;
    o.site_key_file = key_file;
    o.pseudonymise = pseudonymise;
    mmdx_store *s = NULL;
    ck_assert_msg(mmdx_store_open(&s, &o) == 0, "%s", mmdx_last_error());
    return s;
}

static void begin_run(mmdx_store *s, char run[MMDX_RUN_ID_LEN])
{
    mmdx_store_plugin plugins[] = {{"imaging", "0.1.0", "aa11"}, {"records", "0.1.0", NULL}};
    mmdx_store_run r = {0};
    r.model_sha256 = "5f0c4c0d1b2a";
    r.cohort_sha256 = "0b1c";
    r.parameters_json = "{\"threshold\": 0.5}";
    r.plugins = plugins;
    r.n_plugins = 2;
    ck_assert_msg(mmdx_store_run_begin(s, &r, run) == 0, "%s", mmdx_last_error());
}

static const mmdx_store_contribution contrib[] = {{"imaging", 0.25}, {"records", -0.1}};
static const mmdx_store_input_hash ct_hash = {"ct", "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"};

static void store_n(mmdx_store *s, const char *run, int first, int n, mmdx_store_batch_result *res)
{
    mmdx_store_prediction *p = calloc((size_t)n, sizeof *p);
    char (*ids)[32] = calloc((size_t)n, sizeof *ids);
    double *emb = calloc((size_t)n * 4, sizeof *emb), *tok = calloc((size_t)n * 8, sizeof *tok);
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "P%05d", first + i);
        p[i].patient_id = ids[i];
        p[i].probability = (double)((first + i) % 97) / 97.0;
        p[i].decision = p[i].probability >= 0.5;
        p[i].contributions = contrib;
        p[i].n_contributions = 2;
        p[i].input_hashes = &ct_hash;
        p[i].n_input_hashes = 1;
        if ((first + i) % 2) { /* odd patients carry a fused embedding (joint fusion) */
            double *e = emb + (size_t)i * 4;
            e[0] = 0.1 * (first + i);
            e[1] = -1.0 / 3.0;
            e[2] = 1e-300;
            e[3] = 12345.678;
            p[i].embedding = e;
            p[i].embedding_dim = 4;
            double *t = tok + (size_t)i * 8; /* two modalities' tokens; the second modality absent */
            for (int k = 0; k < 4; k++) {
                t[k] = 0.25 * k - 0.5 / (first + i);
                t[4 + k] = NAN;
            }
            if ((first + i) % 4 == 3) { /* and half of those each modality's token (hash v3) */
                p[i].tokens = t;
                p[i].n_tokens = 2;
            }
        }
    }
    ck_assert_msg(mmdx_store_predictions(s, run, p, (size_t)n, res) == 0, "%s", mmdx_last_error());
    free(p);
    free(ids);
    free(emb);
    free(tok);
}

static int verify(mmdx_store *s, mmdx_verify_report *r, const mmdx_checkpoint *const *cps, size_t n_cps,
                  int hmac)
{
    mmdx_verify_options o = {0};
    o.checkpoints = cps;
    o.n_checkpoints = n_cps;
    o.check_hmac = hmac;
    return mmdx_store_verify(s, &o, r);
}

static void assert_intact(mmdx_store *s)
{
    mmdx_verify_report r;
    int rc = verify(s, &r, NULL, 0, 0);
    ck_assert_msg(rc == 0, "verify failed: rc %d, first bad %lld: %s %s", rc, (long long)r.first_bad_seq,
                  r.n_problems ? r.problems[0].message : "", mmdx_last_error());
}

/* A small populated log: a run of 20 predictions and a few reviews. */
static void populate(const db *d, char run[MMDX_RUN_ID_LEN])
{
    mmdx_store *s = open_store(d->admin, NULL, 0);
    begin_run(s, run);
    store_n(s, run, 0, 20, NULL);
    ck_assert_int_eq(mmdx_store_run_end(s, run, MMDX_OUTCOME_SUCCESS, "{\"stored\": 20}"), 0);
    for (int i = 0; i < 3; i++) {
        mmdx_audit_event e = {0};
        e.action = "audit.log";
        e.detail_json = "{\"filter\": \"none\"}";
        ck_assert_int_eq(mmdx_store_audit(s, &e, NULL), 0);
    }
    assert_intact(s);
    mmdx_store_free(s);
}

/* Superuser tampering bypasses the append-only triggers the way an intruder with superuser would. */
static void tamper(const db *d, const char *sql)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "SET session_replication_role = replica; %s", sql);
    mmdx_pgtest_exec(d->admin, buf);
}

static long long seq_of(const db *d, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT seq FROM mmdx.audit_events WHERE %s ORDER BY seq LIMIT 1", where);
    return mmdx_pgtest_count(d->admin, sql);
}

static int64_t verify_first_bad(const db *d, const mmdx_checkpoint *const *cps, size_t n)
{
    mmdx_store *s = open_store(d->admin, NULL, 0);
    mmdx_verify_report r;
    int rc = verify(s, &r, cps, n, 0);
    ck_assert_msg(rc == MMDX_EINTEGRITY, "tampering not detected (rc %d: %s)", rc, mmdx_last_error());
    ck_assert_int_ge((long long)r.n_problems, 1);
    ck_assert_int_eq(r.problems[0].seq, r.first_bad_seq);
    mmdx_store_free(s);
    return r.first_bad_seq;
}

static char *write_key(const char *dir, const char *name, const char *text, mode_t mode)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    mmdx_test_write_file(p, text);
    chmod(p, mode);
    return p;
}

/* ---- migrations ---- */

START_TEST(migrate_is_idempotent_and_versioned)
{
    db d = new_db("mig", 1);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    int n = -1, v = -1;
    ck_assert_int_eq(mmdx_store_migrate(s, &n, &v), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(v, mmdx_store_code_version());
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.schema_migrations"),
                     mmdx_store_code_version());
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'schema.migrate'"),
                     mmdx_store_code_version());
    /* A migration changed after it was applied is refused. */
    tamper(&d, "UPDATE mmdx.schema_migrations SET script_sha256 = repeat('0', 64)");
    mmdx_store *s2 = open_store(d.admin, NULL, 0);
    ck_assert_int_eq(mmdx_store_migrate(s2, NULL, NULL), MMDX_ESCHEMA);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "different script"));
    mmdx_store_free(s2);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

START_TEST(unmigrated_database_is_reported)
{
    db d = new_db("nomig", 0);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    char run[MMDX_RUN_ID_LEN];
    mmdx_store_run r = {0};
    ck_assert_int_eq(mmdx_store_run_begin(s, &r, run), MMDX_ESCHEMA);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "mmdx db migrate"));
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

typedef struct mig_thread {
    const char *dsn;
    int rc, applied;
} mig_thread;

static void *migrate_thread(void *arg)
{
    mig_thread *t = arg;
    mmdx_store_options o = {0};
    o.conninfo = t->dsn;
    mmdx_store *s;
    t->rc = mmdx_store_open(&s, &o);
    if (t->rc == 0) {
        t->rc = mmdx_store_migrate(s, &t->applied, NULL);
        mmdx_store_free(s);
    }
    return NULL;
}

START_TEST(concurrent_migrations_apply_once)
{
    db d = new_db("migc", 0);
    mig_thread t[3] = {{d.admin, -1, 0}, {d.admin, -1, 0}, {d.admin, -1, 0}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, migrate_thread, &t[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    int total = 0;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(t[i].rc, 0);
        total += t[i].applied;
    }
    ck_assert_int_eq(total, mmdx_store_code_version());
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.schema_migrations"),
                     mmdx_store_code_version());
    mmdx_store *s = open_store(d.admin, NULL, 0);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST


/* The server itself refuses appends that would not extend the chain. */
static void assert_insert_refused(const db *d, const char *seq, const char *prev, const char *role,
                                  const char *hash, const char *why)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO mmdx.audit_events (seq, ts, db_role, os_user, host, action, outcome, prev_hash, hash) "
             "SELECT %s, now(), %s, 'x', 'h', 'audit.log', 0, %s, %s "
             "FROM (SELECT max(seq) AS m FROM mmdx.audit_events) t, "
             "(SELECT hash AS last FROM mmdx.audit_events ORDER BY seq DESC LIMIT 1) l",
             seq, role, prev, hash);
    char *err = NULL;
    ck_assert_int_ne(mmdx_pgtest_try(d->admin, sql, &err), 0);
    ck_assert_msg(err && strstr(err, why), "expected \"%s\", got: %s", why, err ? err : "");
    free(err);
}

START_TEST(server_refuses_broken_appends)
{
    db d = new_db("refuse", 1);
    /* A correct hash for the row the statement builds, so only the named fault remains. */
    const char *good = "sha256(l.last || mmdx.audit_event_bytes(ROW(t.m + 1, now(), session_user, 'x', 'h', "
                       "'audit.log', 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, l.last, NULL, NULL)::mmdx.audit_events))";
    assert_insert_refused(&d, "t.m + 1", "l.last", "session_user", "'\\x00'::bytea", "does not match its fields");
    assert_insert_refused(&d, "t.m + 2", "l.last", "session_user", good, "out of sequence");
    assert_insert_refused(&d, "t.m + 1", "sha256(l.last)", "session_user", good, "does not link");
    assert_insert_refused(&d, "t.m + 1", "l.last", "'someone_else'", good, "names a role");
    /* And the same statement with nothing wrong is accepted (the SQL and C encodings agree). */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO mmdx.audit_events (seq, ts, db_role, os_user, host, action, outcome, prev_hash, hash) "
             "SELECT t.m + 1, now(), session_user, 'x', 'h', 'audit.log', 0, l.last, %s "
             "FROM (SELECT max(seq) AS m FROM mmdx.audit_events) t, "
             "(SELECT hash AS last FROM mmdx.audit_events ORDER BY seq DESC LIMIT 1) l", good);
    mmdx_pgtest_exec(d.admin, sql);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

/* ---- storage ---- */

START_TEST(store_predictions_idempotently)
{
    db d = new_db("store", 1);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    char run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    mmdx_store_batch_result res;
    store_n(s, run, 0, 1500, &res); /* more than one INSERT statement */
    ck_assert_int_eq(res.stored, 1500);
    ck_assert_int_eq(res.duplicates, 0);
    /* The same batch again plus 10 new: nothing duplicated, the audit says so. */
    store_n(s, run, 1490, 20, &res);
    ck_assert_int_eq(res.stored, 10);
    ck_assert_int_eq(res.duplicates, 10);
    ck_assert_int_eq(res.conflicts, 0);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), 1510);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.duplicate' AND outcome = 4"), 10);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.store'"), 1510);
    /* A different result for a stored patient is kept out and flagged. */
    mmdx_store_prediction p = {"P00003", NULL, 0.99, 1, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
    ck_assert_int_eq(mmdx_store_predictions(s, run, &p, 1, &res), 0);
    ck_assert_int_eq(res.conflicts, 1);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.conflict' AND outcome = 8"), 1);
    char *prob = mmdx_pgtest_value(d.admin, "SELECT probability FROM mmdx.predictions WHERE patient = 'P00003'");
    ck_assert_double_eq_tol(strtod(prob, NULL), 3.0 / 97.0, 1e-15);
    free(prob);
    /* The run ID must exist. */
    ck_assert_int_eq(mmdx_store_predictions(s, "00000000-0000-4000-8000-000000000000", &p, 1, &res), MMDX_ENOTFOUND);
    /* Bad input names the field. */
    p.probability = 1.5;
    ck_assert_int_eq(mmdx_store_predictions(s, run, &p, 1, &res), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "probability"));
    p.probability = 0.5;
    const mmdx_store_contribution twice[] = {{"imaging", 0.1}, {"imaging", 0.2}};
    const mmdx_store_contribution inf[] = {{"imaging", INFINITY}};
    const mmdx_store_input_hash short_hash = {"ct", "ab12"};
    p.contributions = twice;
    p.n_contributions = 2;
    ck_assert_int_eq(mmdx_store_predictions(s, run, &p, 1, &res), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "'imaging' given twice"));
    p.contributions = inf;
    p.n_contributions = 1;
    ck_assert_int_eq(mmdx_store_predictions(s, run, &p, 1, &res), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "not finite"));
    p.n_contributions = 0;
    p.input_hashes = &short_hash;
    p.n_input_hashes = 1;
    ck_assert_int_eq(mmdx_store_predictions(s, run, &p, 1, &res), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "input_hashes[0] (ct)"));
    /* nothing of the refused batches was written */
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), 1510);
    /* the store writes the JSON itself: the typed values, in the order given */
    char *stored = mmdx_pgtest_value(d.admin, "SELECT contributions::text || ' ' || input_hashes::text "
                                              "FROM mmdx.predictions WHERE patient = 'P00004'");
    ck_assert_str_eq(stored, "{\"imaging\":0.25,\"records\":-0.1} "
                             "{\"ct\":\"ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12\"}");
    free(stored);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

static int collect_patients(void *ctx, const mmdx_result_row *row)
{
    char *buf = ctx;
    strcat(buf, row->patient);
    strcat(buf, "\n");
    return 0;
}

START_TEST(hostile_patient_ids_are_stored_verbatim)
{
    db d = new_db("hostile", 1);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    char run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    const char *ids[] = {"O'Brien\"; DROP TABLE mmdx.predictions; --", "back\\slash\\\\x", "$1 $2 %s %n",
                         "tab\there", "ünïcødé-患者"};
    mmdx_store_prediction p[5];
    for (int i = 0; i < 5; i++) {
        mmdx_store_prediction q = {ids[i], "1.2.840.99", 0.25, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
        p[i] = q;
    }
    ck_assert_msg(mmdx_store_predictions(s, run, p, 5, NULL) == 0, "%s", mmdx_last_error());
    char got[4096] = "";
    size_t n = 0;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(mmdx_store_results(s, NULL, ids[i], collect_patients, got, &n), 0);
    char want[4096] = "";
    for (int i = 0; i < 5; i++) {
        strcat(want, ids[i]);
        strcat(want, "\n");
    }
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), 5);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.view'"), 5);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

/* ---- the three encodings of an event: C (audit/event.c), the server's inline check (schema 5), SQL ---- */

static uint64_t next_random(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* NULL a fifth of the time, else a string of 0-300 pieces: ASCII (quotes, backslashes, %, tabs) and UTF-8. */
static const char *random_text(uint64_t *x, char *buf, size_t cap)
{
    static const char *const pieces[] = {"a", "Z", "0", " ", "'", "\"", "\\", "%s", "\t", "\n", "$1", "--",
                                         ";", "{", "é", "患者", "\xf0\x9f\xa9\xba", "\xc2\xa0", "NULL", ""};
    if (next_random(x) % 5 == 0)
        return NULL;
    size_t n = next_random(x) % 300, len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *piece = pieces[next_random(x) % (sizeof pieces / sizeof *pieces)];
        size_t l = strlen(piece);
        if (len + l + 1 > cap)
            break;
        memcpy(buf + len, piece, l + 1);
        len += l;
    }
    return buf;
}

/*
 * Schema 5 checks an event's hash with an inline expression (one per
 * statement, for speed) instead of calling mmdx.audit_event_bytes(), which
 * the verifier's SQL and the tamper tests use: the two must never drift
 * apart, nor from the C encoding the writer hashes. Random events (every
 * optional field NULL or text with quotes, escapes, control characters and
 * multi-byte UTF-8; outcomes; object hashes; JSON details) appended one at
 * a time and as a prediction batch: the inline check accepts each, and
 * each stored hash equals sha256(prev_hash || mmdx.audit_event_bytes(e)).
 */
START_TEST(event_encodings_agree_on_random_events)
{
    db d = new_db("encodings", 1);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    uint64_t x = 0x5eed0017;
    static const int outcomes[] = {MMDX_OUTCOME_SUCCESS, MMDX_OUTCOME_MINOR_FAILURE, MMDX_OUTCOME_SERIOUS_FAILURE};
    static const char *const actions[] = {"audit.log", "results.view", "model.load", "audit.verify"};
    enum { EVENTS = 150, PATIENTS = 60 };
    for (int i = 0; i < EVENTS; i++) {
        char t[5][2048], json[4200];
        uint8_t sha[32];
        mmdx_audit_event e = {0};
        e.action = actions[next_random(&x) % 4];
        e.outcome = outcomes[next_random(&x) % 3];
        e.object_type = random_text(&x, t[0], sizeof t[0]);
        e.object_id = random_text(&x, t[1], sizeof t[1]);
        e.patient_id = random_text(&x, t[2], sizeof t[2]);
        e.study_uid = random_text(&x, t[3], sizeof t[3]);
        if (next_random(&x) % 2) {
            for (int k = 0; k < 32; k++)
                sha[k] = (uint8_t)next_random(&x);
            e.object_sha256 = sha;
        }
        if (next_random(&x) % 2) { /* a JSON string of printable ASCII, escaped as JSON wants */
            const char *v = random_text(&x, t[4], 1000);
            size_t o = 0;
            o += (size_t)snprintf(json + o, sizeof json - o, "{\"n\": %d, \"v\": \"", i);
            for (const char *c = v ? v : ""; *c && o + 8 < sizeof json; c++)
                o += (size_t)(*c == '"' || *c == '\\' ? snprintf(json + o, sizeof json - o, "\\%c", *c)
                              : (unsigned char)*c < 0x20 ? snprintf(json + o, sizeof json - o, "\\u%04x", *c)
                                                         : snprintf(json + o, sizeof json - o, "%c", *c));
            snprintf(json + o, sizeof json - o, "\"}");
            e.detail_json = json;
        }
        ck_assert_msg(mmdx_store_audit(s, &e, NULL) == 0, "event %d refused: %s", i, mmdx_last_error());
    }
    char run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    static char ids[PATIENTS][2048], uids[PATIENTS][2048];
    mmdx_store_prediction p[PATIENTS];
    memset(p, 0, sizeof p);
    for (int i = 0; i < PATIENTS; i++) {
        const char *id = random_text(&x, ids[i], sizeof ids[i]);
        snprintf(ids[i] + (id ? strlen(ids[i]) : 0), 16, "#%d", i); /* never NULL, never twice */
        p[i].patient_id = ids[i];
        p[i].study_uid = random_text(&x, uids[i], sizeof uids[i]);
        p[i].probability = (double)(next_random(&x) >> 11) * 0x1.0p-53;
        p[i].decision = p[i].probability >= 0.5;
        p[i].contributions = contrib;
        p[i].n_contributions = 2;
    }
    ck_assert_msg(mmdx_store_predictions(s, run, p, PATIENTS, NULL) == 0, "%s", mmdx_last_error());
    long long events = mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events");
    ck_assert_int_ge(events, EVENTS + PATIENTS);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events e WHERE e.hash = "
                                                "sha256(e.prev_hash || mmdx.audit_event_bytes(e))"), events);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

START_TEST(pseudonyms_and_hmac)
{
    db d = new_db("psn", 1);
    char *dir = mmdx_test_tmpdir();
    char *key = write_key(dir, "site.key", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
    char *loose = write_key(dir, "loose.key", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0644);
    char *shortk = write_key(dir, "short.key", "0011\n", 0600);
    mmdx_store_options o = {0};
    o.conninfo = d.admin;
    mmdx_store *bad;
    o.site_key_file = loose;
    ck_assert_int_eq(mmdx_store_open(&bad, &o), MMDX_EPERM);
    o.site_key_file = shortk;
    ck_assert_int_eq(mmdx_store_open(&bad, &o), MMDX_EFORMAT);
    o.site_key_file = NULL;
    o.pseudonymise = 1;
    ck_assert_int_eq(mmdx_store_open(&bad, &o), MMDX_EINVAL);

    mmdx_store *s = open_store(d.admin, key, 1);
    char run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    mmdx_store_prediction p = {"MRN-4711", NULL, 0.8, 1, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
    ck_assert_int_eq(mmdx_store_predictions(s, run, &p, 1, NULL), 0);
    char psn[MMDX_PSEUDONYM_LEN];
    ck_assert_int_eq(mmdx_store_pseudonym(s, "MRN-4711", psn), 0);
    ck_assert_int_eq(strncmp(psn, "psn:", 4), 0);
    ck_assert_int_eq(strlen(psn), 68);
    /* The raw ID appears nowhere in the database. */
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions WHERE patient LIKE '%MRN-4711%'"), 0);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE patient LIKE '%MRN-4711%' OR detail LIKE '%MRN-4711%'"), 0);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mmdx.predictions WHERE patient = '%s' AND pseudonymised", psn);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, sql), 1);
    /* With the key, the raw ID finds the row; without, it does not. */
    char got[1024] = "";
    size_t n = 0;
    ck_assert_int_eq(mmdx_store_results(s, NULL, "MRN-4711", collect_patients, got, &n), 0);
    ck_assert_int_eq(n, 1);
    mmdx_store *nokey = open_store(d.admin, NULL, 0);
    /* Without the key nothing is shown: the review could not be recorded with an HMAC, and an
     * unkeyed event would weaken a keyed log. */
    long long events_before = mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events");
    ck_assert_int_eq(mmdx_store_check_can_audit(nokey), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "site key"));
    n = 0;
    ck_assert_int_eq(mmdx_store_results(nokey, NULL, "MRN-4711", collect_patients, got, &n), MMDX_EINVAL);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events"), events_before);
    ck_assert_int_eq(mmdx_store_pseudonym(nokey, "MRN-4711", psn), MMDX_EPERM);
    /* Every event written with the key carries an HMAC, and they verify. */
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE hmac IS NULL AND action <> 'schema.migrate' AND db_role = current_user AND seq > 1 AND action NOT LIKE 'results.%'"), 0);
    mmdx_verify_report r;
    ck_assert_int_eq(verify(s, &r, NULL, 0, 1), 0);
    ck_assert_int_ge(r.n_hmac_checked, 3);
    /* Strict mode: an HMAC removed by a superuser after keyed events is flagged. */
    long long unkeyed = seq_of(&d, "hmac IS NOT NULL AND action = 'results.view'");
    snprintf(sql, sizeof sql, "UPDATE mmdx.audit_events SET hmac = NULL WHERE seq = %lld", unkeyed);
    tamper(&d, sql);
    ck_assert_int_eq(verify(s, &r, NULL, 0, 1), 0); /* a missing HMAC is only noted ... */
    ck_assert_int_eq(verify(s, &r, NULL, 0, 2), MMDX_EINTEGRITY); /* ... unless one is required */
    ck_assert_int_eq(r.first_bad_seq, unkeyed);
    /* A rewrite that recomputes the hash chain cannot forge the HMAC. */
    long long seq = seq_of(&d, "action = 'prediction.store'");
    snprintf(sql, sizeof sql,
             "UPDATE mmdx.audit_events SET detail = '{\"probability\": 0.1}' WHERE seq = %lld;"
             "UPDATE mmdx.audit_events SET hash = sha256(prev_hash || mmdx.audit_event_bytes(audit_events.*)) WHERE seq = %lld;",
             seq, seq);
    tamper(&d, sql);
    ck_assert_int_eq(verify(s, &r, NULL, 0, 1), MMDX_EINTEGRITY);
    ck_assert_int_eq(r.first_bad_seq, seq);
    ck_assert_ptr_nonnull(strstr(r.problems[0].message, "HMAC"));
    mmdx_store_free(nokey);
    mmdx_store_free(s);
    mmdx_test_rmtree(dir);
    free(dir);
    free(key);
    free(loose);
    free(shortk);
    free_db(&d);
}
END_TEST

typedef struct writer_thread {
    const char *dsn;
    const char *run;
    int first;
    int rc;
} writer_thread;

static void *writer_main(void *arg)
{
    writer_thread *t = arg;
    mmdx_store_options o = {0};
    o.conninfo = t->dsn;
    mmdx_store *s;
    t->rc = mmdx_store_open(&s, &o);
    if (t->rc)
        return NULL;
    for (int b = 0; b < 5 && t->rc == 0; b++) {
        mmdx_store_prediction p[40];
        char ids[40][32];
        for (int i = 0; i < 40; i++) {
            snprintf(ids[i], sizeof ids[i], "W%d-%d", t->first, b * 40 + i);
            mmdx_store_prediction q = {ids[i], NULL, 0.5, -1, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
            p[i] = q;
        }
        t->rc = mmdx_store_predictions(s, t->run, p, 40, NULL);
        mmdx_audit_event e = {0};
        e.action = "model.load";
        e.object_type = "model";
        if (t->rc == 0)
            t->rc = mmdx_store_audit(s, &e, NULL);
    }
    mmdx_store_free(s);
    return NULL;
}

START_TEST(concurrent_writers_form_one_chain)
{
    db d = new_db("conc", 1);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    char run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    long long before = mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events");
    writer_thread t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        writer_thread w = {d.admin, run, i, -1};
        t[i] = w;
        pthread_create(&th[i], NULL, writer_main, &t[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(t[i].rc, 0);
    long long events = mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events");
    ck_assert_int_eq(events, before + 4 * 5 * 41);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT max(seq) FROM mmdx.audit_events"), events);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), 800);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

/* Writers whose batches share patients, in different orders, beside a worker
 * storing one prediction at a time into its own run (as the Orthanc plugin). */
typedef struct sharing_writer {
    const char *dsn, *run;
    int offset; /* where in the 200 shared patients this writer starts */
    int single; /* 1: one prediction per call, into its own run */
    int rc;
    size_t stored, duplicates, conflicts;
} sharing_writer;

static void *sharing_main(void *arg)
{
    sharing_writer *t = arg;
    mmdx_store_options o = {0};
    o.conninfo = t->dsn;
    mmdx_store *s;
    if ((t->rc = mmdx_store_open(&s, &o)) != 0)
        return NULL;
    enum { N = 200, BATCH = 50 };
    char ids[BATCH][32];
    mmdx_store_prediction p[BATCH];
    for (int b = 0; b < N / BATCH && t->rc == 0; b++) {
        int m = t->single ? 1 : BATCH;
        for (int calls = 0; calls < (t->single ? 10 : 1) && t->rc == 0; calls++) {
            for (int i = 0; i < m; i++) {
                int k = t->single ? b * 10 + calls : (t->offset + 7 * (b * BATCH + i)) % N; /* 7 is prime to N */
                snprintf(ids[i], sizeof ids[i], t->single ? "ORTHANC-%d" : "S%03d", k);
                /* the same content for a patient whoever stores it: replays, not conflicts */
                mmdx_store_prediction q = {ids[i], "1.2.3", (double)k / N, k % 2, contrib, 2, &ct_hash, 1,
                                           NULL, 0, NULL, 0};
                p[i] = q;
            }
            mmdx_store_batch_result res;
            t->rc = mmdx_store_predictions(s, t->run, p, (size_t)m, &res);
            t->stored += res.stored;
            t->duplicates += res.duplicates;
            t->conflicts += res.conflicts;
        }
    }
    mmdx_store_free(s);
    return NULL;
}

START_TEST(concurrent_writers_sharing_patients_store_each_once)
{
    db d = new_db("share", 1);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    char run[MMDX_RUN_ID_LEN], worker_run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    begin_run(s, worker_run);
    sharing_writer t[5];
    pthread_t th[5];
    for (int i = 0; i < 5; i++) {
        sharing_writer w = {d.admin, i < 4 ? run : worker_run, i * 50 + i, i == 4, -1, 0, 0, 0};
        t[i] = w;
        pthread_create(&th[i], NULL, sharing_main, &t[i]);
    }
    for (int i = 0; i < 5; i++)
        pthread_join(th[i], NULL);
    size_t stored = 0, duplicates = 0;
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(t[i].rc == 0, "writer %d: %s", i, mmdx_last_error());
        ck_assert_int_eq(t[i].conflicts, 0);
        stored += t[i].stored;
        duplicates += t[i].duplicates;
    }
    ck_assert_int_eq(t[4].rc, 0);
    ck_assert_int_eq(t[4].stored, 40);
    /* each of the 200 shared patients stored exactly once, every other attempt audited as a replay */
    ck_assert_int_eq(stored, 200);
    ck_assert_int_eq(duplicates, 600);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), 240);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.store'"), 240);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.duplicate'"), 600);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT max(seq) - count(*) FROM mmdx.audit_events"), 0);
    /* Chain order is commit order: each transaction's events are one run of sequence numbers, and the
     * times taken under the chain lock never go back. */
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM (SELECT xmin::text, count(*) AS n, "
                                                "max(seq) - min(seq) + 1 AS span FROM mmdx.audit_events "
                                                "GROUP BY 1) g WHERE n <> span"), 0);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM (SELECT ts < lag(ts) OVER (ORDER BY seq) AS back "
                                                "FROM mmdx.audit_events) e WHERE back"), 0);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

/* A database as mmdx with schema 4 left it (the per-row foreign key and the schema-1 event check), upgraded. */
START_TEST(upgrade_from_schema_4_keeps_the_log)
{
    db d = new_db("upgrade", 0);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    int n = -1, v = -1;
    ck_assert_msg(mmdx_store__migrate_to(s, 4, &n, &v) == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(v, 4);
    const char *fk = "SELECT count(*) FROM pg_constraint WHERE conname = 'predictions_run_id_fkey'";
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, fk), 1);
    /* this program's statements pass the old trigger too: both build the same bytes */
    s->schema_checked = 1;
    char run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    store_n(s, run, 0, 120, NULL);
    mmdx_audit_event e = {0};
    e.action = "audit.log";
    e.detail_json = "{\"before\": \"upgrade\"}";
    ck_assert_int_eq(mmdx_store_audit(s, &e, NULL), 0);
    s->schema_checked = 0;
    mmdx_store_prediction one = {"P00000", NULL, 0.5, 1, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
    ck_assert_int_eq(mmdx_store_predictions(s, run, &one, 1, NULL), MMDX_ESCHEMA); /* "run mmdx db migrate" */
    ck_assert_msg(mmdx_store_migrate(s, &n, &v) == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(n, mmdx_store_code_version() - 4);
    ck_assert_int_eq(v, mmdx_store_code_version());
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, fk), 0);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM pg_trigger WHERE tgname = 'predictions_run_exists'"), 1);
    assert_intact(s);
    /* the chain goes on: replays recognised, new rows linked after the old ones */
    mmdx_store_batch_result res;
    store_n(s, run, 100, 50, &res);
    ck_assert_int_eq(res.stored, 30);
    ck_assert_int_eq(res.duplicates, 20);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), 150);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.store'"), 150);
    /* a prediction still needs its run, whoever inserts it */
    char *err = NULL;
    ck_assert_int_eq(mmdx_pgtest_try(d.admin, "INSERT INTO mmdx.predictions (run_id, patient, pseudonymised, probability, "
                                              "contributions, input_hashes, content_sha256) VALUES "
                                              "('00000000-0000-4000-8000-000000000000', 'x', false, 0.5, '{}', '{}', "
                                              "'\\x00')", &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no such run"));
    free(err);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

/* ---- faults ---- */

typedef struct kill_ctx {
    const char *admin;
    mmdx_store *s;
    int kills_left;
    const char *at;
} kill_ctx;

static void kill_backend(void *vctx, const char *point)
{
    kill_ctx *k = vctx;
    if (k->kills_left <= 0 || strcmp(point, k->at) != 0)
        return;
    k->kills_left--;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", mmdx_store__backend_pid(k->s));
    mmdx_pgtest_exec(k->admin, sql);
}

START_TEST(lost_connection_mid_batch_is_retried_or_rolled_back)
{
    db d = new_db("fault", 1);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    char run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    long long events = mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events");

    /* No retries: the batch fails and nothing of it is stored. */
    mmdx_store_options o = {0};
    o.conninfo = d.admin;
    o.max_retries = -1;
    mmdx_store *once;
    ck_assert_int_eq(mmdx_store_open(&once, &o), 0);
    kill_ctx k = {d.admin, once, 1, "between-statements"};
    mmdx_store__set_fault_hook(once, kill_backend, &k);
    mmdx_store_prediction *p = calloc(1200, sizeof *p);
    char (*ids)[16] = calloc(1200, sizeof *ids);
    for (int i = 0; i < 1200; i++) {
        snprintf(ids[i], sizeof ids[i], "F%d", i);
        mmdx_store_prediction q = {ids[i], NULL, 0.125, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
        p[i] = q;
    }
    ck_assert_int_eq(mmdx_store_predictions(once, run, p, 1200, NULL), MMDX_EDB);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), 0);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events"), events);

    /* With retries: reconnected, the whole batch stored exactly once. */
    kill_ctx k2 = {d.admin, s, 1, "before-commit"};
    mmdx_store__set_fault_hook(s, kill_backend, &k2);
    mmdx_store_batch_result res;
    ck_assert_msg(mmdx_store_predictions(s, run, p, 1200, &res) == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(res.retries, 1);
    ck_assert_int_eq(res.stored, 1200);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), 1200);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events"), events + 1200);
    assert_intact(s);
    free(p);
    free(ids);
    mmdx_store_free(once);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

/* A writer process killed (SIGKILL) at each step of a batch: before the chain lock, holding it,
 * with its INSERT and COMMIT sent but not answered, and after the commit. */
static const char *const kill_points[] = {"between-statements", "before-commit", "commit-sent", "after-commit"};

static void kill_self(void *ctx, const char *point)
{
    if (strcmp(point, ctx) == 0)
        raise(SIGKILL);
}

static void batch_of(mmdx_store_prediction *p, char (*ids)[16], int n)
{
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "K%04d", i);
        mmdx_store_prediction q = {ids[i], NULL, (double)i / n, i % 2, contrib, 2, &ct_hash, 1, NULL, 0, NULL, 0};
        p[i] = q;
    }
}

START_TEST(killed_writer_leaves_a_consistent_log)
{
    const char *point = kill_points[_i];
    db d = new_db("kill", 1);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    char run[MMDX_RUN_ID_LEN];
    begin_run(s, run);
    enum { N = 300 };
    mmdx_store_prediction p[N];
    char ids[N][16];
    batch_of(p, ids, N);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        mmdx_store_options o = {0};
        o.conninfo = d.admin;
        mmdx_store *w;
        if (mmdx_store_open(&w, &o) != 0)
            _exit(2);
        mmdx_store__set_fault_hook(w, kill_self, (void *)point);
        mmdx_store_batch_result res;
        int rc = mmdx_store_predictions(w, run, p, N, &res);
        _exit(rc == 0 ? 3 : 4); /* not reached: the hook kills the process */
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s: the writer was not killed (status %d)",
                  point, status);
    /* The server ends the dead client's session; wait for that (no timing: its backend is gone). */
    char *gone = NULL;
    for (;;) {
        char *n = mmdx_pgtest_value(d.admin, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                             "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                                             "AND application_name = 'mmdx' AND state <> 'idle'");
        int busy = n && strcmp(n, "0") != 0;
        free(n);
        if (!busy)
            break;
        free(gone);
        gone = mmdx_pgtest_value(d.admin, "SELECT pg_sleep(0.05)");
    }
    free(gone);
    /* All of the batch or none of it, every stored row with its event, and the log intact. */
    long long stored = mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions");
    long long events = mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.store'");
    ck_assert_msg(stored == 0 || stored == N, "%s: %lld of %d predictions stored", point, stored, N);
    ck_assert_int_eq(events, stored);
    if (strcmp(point, "after-commit") == 0)
        ck_assert_int_eq(stored, N);
    else if (strcmp(point, "commit-sent") != 0)
        ck_assert_int_eq(stored, 0);
    assert_intact(s);
    /* Running the batch again (as `mmdx screen` resumes) completes it exactly once. */
    mmdx_store_batch_result res;
    ck_assert_msg(mmdx_store_predictions(s, run, p, N, &res) == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(res.stored + res.duplicates, N);
    ck_assert_int_eq(res.stored, N - stored);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions"), N);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.store'"), N);
    assert_intact(s);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

START_TEST(server_down_and_wrong_password_name_no_password)
{
    mmdx_store_options o = {0};
    /* A port nothing listens on (the fixture's port + 1 is not guaranteed; port 1 needs root to bind). */
    o.conninfo = "host=127.0.0.1 port=1 dbname=mmdx user=alice password=s3cr3t-PW connect_timeout=3";
    mmdx_store *s;
    ck_assert_int_eq(mmdx_store_open(&s, &o), MMDX_EDB);
    const char *msg = mmdx_last_error();
    ck_assert_ptr_nonnull(strstr(msg, "cannot connect"));
    ck_assert_ptr_nonnull(strstr(msg, "port=1"));
    ck_assert_ptr_null(strstr(msg, "s3cr3t-PW"));
    /* URI form too. */
    o.conninfo = "postgresql://alice:s3cr3t-PW@127.0.0.1:1/mmdx?connect_timeout=3";
    ck_assert_int_eq(mmdx_store_open(&s, &o), MMDX_EDB);
    ck_assert_ptr_null(strstr(mmdx_last_error(), "s3cr3t-PW"));
    /* A running server, a wrong password. */
    db d = new_db("pw", 0);
    mmdx_pgtest_exec(d.admin, "DO $$ BEGIN CREATE ROLE pw_alice LOGIN PASSWORD 'right-one'; "
                              "EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    char *dsn = mmdx_pgtest_role_dsn(d.name, "pw_alice", "s3cr3t-PW");
    o.conninfo = dsn;
    ck_assert_int_eq(mmdx_store_open(&s, &o), MMDX_EDB);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "password authentication failed"));
    ck_assert_ptr_null(strstr(mmdx_last_error(), "s3cr3t-PW"));
    free(dsn);
    free_db(&d);
}
END_TEST

/* ---- roles ---- */

static void make_roles(const db *d, char **writer, char **reviewer)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "DO $$ BEGIN CREATE ROLE %s_w LOGIN PASSWORD 'wpw' IN ROLE mmdx_writer; "
             "CREATE ROLE %s_r LOGIN PASSWORD 'rpw' IN ROLE mmdx_reviewer; END $$;"
             "GRANT CONNECT ON DATABASE %s TO %s_w, %s_r",
             d->name, d->name, d->name, d->name, d->name);
    mmdx_pgtest_exec(d->admin, sql);
    char u[160];
    snprintf(u, sizeof u, "%s_w", d->name);
    *writer = mmdx_pgtest_role_dsn(d->name, u, "wpw");
    snprintf(u, sizeof u, "%s_r", d->name);
    *reviewer = mmdx_pgtest_role_dsn(d->name, u, "rpw");
}

static void drop_roles(const db *d)
{
    char sql[512];
    char *admin = mmdx_pgtest_admin_dsn(NULL);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", d->name);
    mmdx_pgtest_exec(admin, sql);
    snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS %s_w, %s_r", d->name, d->name);
    mmdx_pgtest_exec(admin, sql);
    free(admin);
}

static void assert_refused(const char *dsn, const char *sql)
{
    char *err = NULL;
    int rc = mmdx_pgtest_try(dsn, sql, &err);
    ck_assert_msg(rc != 0, "this should have been refused: %s", sql);
    ck_assert_msg(strstr(err, "permission denied") || strstr(err, "not allowed") || strstr(err, "must be owner"),
                  "%s: %s", sql, err);
    free(err);
}

START_TEST(writer_and_reviewer_roles)
{
    db d = new_db("roles", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    char *writer, *reviewer;
    make_roles(&d, &writer, &reviewer);

    /* The writer stores through the library... */
    mmdx_store *w = open_store(writer, NULL, 0);
    char run2[MMDX_RUN_ID_LEN];
    begin_run(w, run2);
    store_n(w, run2, 0, 10, NULL);
    store_n(w, run2, 5, 10, NULL); /* replay: needs only its narrow SELECT */
    /* ...and can do nothing else. */
    assert_refused(writer, "UPDATE mmdx.predictions SET probability = 0");
    assert_refused(writer, "DELETE FROM mmdx.predictions");
    assert_refused(writer, "DELETE FROM mmdx.audit_events");
    assert_refused(writer, "UPDATE mmdx.audit_events SET detail = NULL");
    assert_refused(writer, "TRUNCATE mmdx.audit_events");
    assert_refused(writer, "TRUNCATE mmdx.predictions");
    assert_refused(writer, "SELECT probability FROM mmdx.predictions");
    assert_refused(writer, "SELECT embedding FROM mmdx.predictions");
    assert_refused(writer, "SELECT * FROM mmdx.audit_events");
    assert_refused(writer, "DROP TABLE mmdx.audit_events");

    /* The reviewer reads, and each review is itself audited... */
    mmdx_store *r = open_store(reviewer, NULL, 0);
    long long views = mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.view'");
    size_t n = 0;
    ck_assert_msg(mmdx_store_results(r, run, NULL, NULL, NULL, &n) == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(n, 20);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.view'"), views + 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT db_role FROM mmdx.audit_events ORDER BY seq DESC LIMIT 1");
    char *who = mmdx_pgtest_value(d.admin, sql);
    char want[160];
    snprintf(want, sizeof want, "%s_r", d.name);
    ck_assert_str_eq(who, want);
    free(who);
    mmdx_verify_report rep;
    ck_assert_int_eq(verify(r, &rep, NULL, 0, 0), 0);
    /* ...but writes nothing else. */
    char run3[MMDX_RUN_ID_LEN];
    mmdx_store_run rr = {0};
    ck_assert_int_eq(mmdx_store_run_begin(r, &rr, run3), MMDX_EDB);
    mmdx_store_prediction p = {"X", NULL, 0.5, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
    ck_assert_int_eq(mmdx_store_predictions(r, run, &p, 1, NULL), MMDX_EDB);
    mmdx_audit_event e = {0};
    e.action = "prediction.store";
    ck_assert_int_eq(mmdx_store_audit(r, &e, NULL), MMDX_EDB);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "may only record reviews"));
    assert_refused(reviewer, "UPDATE mmdx.predictions SET probability = 0");
    assert_refused(reviewer, "DELETE FROM mmdx.audit_events");
    assert_refused(reviewer, "TRUNCATE mmdx.audit_events");
    /* Not even the owner may change the tables while the triggers stand. */
    assert_refused(d.admin, "UPDATE mmdx.predictions SET probability = 0");
    assert_refused(d.admin, "DELETE FROM mmdx.audit_events WHERE seq = 1");
    assert_refused(d.admin, "TRUNCATE mmdx.audit_events");
    mmdx_store_free(w);
    mmdx_store_free(r);
    free(writer);
    free(reviewer);
    drop_roles(&d);
    free(d.name);
    free(d.admin);
}
END_TEST

/* ---- tampering ---- */

START_TEST(tamper_update_prediction)
{
    db d = new_db("tp", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    long long seq = seq_of(&d, "action = 'prediction.store' AND patient = 'P00007'");
    tamper(&d, "UPDATE mmdx.predictions SET probability = 0.01 WHERE patient = 'P00007'");
    ck_assert_int_eq(verify_first_bad(&d, NULL, 0), seq);
    free_db(&d);
}
END_TEST

START_TEST(embedding_stored_exactly_and_tamper_evident)
{
    db d = new_db("emb", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    /* read back bit for bit (PostgreSQL prints float8 in its shortest exact form) */
    char *text = mmdx_pgtest_value(d.admin, "SELECT embedding::text FROM mmdx.predictions WHERE patient = 'P00003'");
    ck_assert_str_eq(text, "{0.30000000000000004,-0.3333333333333333,1e-300,12345.678}");
    free(text);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions WHERE embedding IS NULL"), 10);
    ck_assert_int_eq(mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.predictions WHERE modality_embeddings IS NOT NULL"), 5);
    text = mmdx_pgtest_value(d.admin, "SELECT modality_embeddings::text FROM mmdx.predictions WHERE patient = 'P00003'");
    ck_assert_str_eq(text, "{-0.16666666666666666,0.08333333333333334,0.33333333333333337,0.5833333333333334,"
                           "NaN,NaN,NaN,NaN}");
    free(text);
    /* one changed component, far below what a display would show, breaks the row's hash */
    long long seq = seq_of(&d, "action = 'prediction.store' AND patient = 'P00005'");
    tamper(&d, "UPDATE mmdx.predictions SET embedding[2] = -0.33333333333333331 WHERE patient = 'P00005'");
    mmdx_store *s = open_store(d.admin, NULL, 0); /* the same double written another way: still intact */
    assert_intact(s);
    mmdx_store_free(s);
    tamper(&d, "UPDATE mmdx.predictions SET embedding[2] = -0.3333333333333332 WHERE patient = 'P00005'");
    ck_assert_int_eq(verify_first_bad(&d, NULL, 0), seq);
    free_db(&d);
}
END_TEST

/* Joint fusion's columns, each changed alone after a real store: the row's event is named. */
static const struct {
    const char *patient, *sql;
} joint_tampers[] = {
    /* an absent modality made to look present (a v3 row) */
    {"P00011", "UPDATE mmdx.predictions SET modality_embeddings[5] = 0 WHERE patient = 'P00011'"},
    /* the tokens dropped, the fused vector kept: the row now claims a v2 hash it never had */
    {"P00007", "UPDATE mmdx.predictions SET modality_embeddings = NULL WHERE patient = 'P00007'"},
    /* the fused vector dropped from a v2 row */
    {"P00009", "UPDATE mmdx.predictions SET embedding = NULL WHERE patient = 'P00009'"},
};

START_TEST(tamper_joint_fusion_columns)
{
    char name[8];
    snprintf(name, sizeof name, "jt%d", _i);
    db d = new_db(name, 1);
    char run[MMDX_RUN_ID_LEN], where[96];
    populate(&d, run);
    snprintf(where, sizeof where, "action = 'prediction.store' AND patient = '%s'", joint_tampers[_i].patient);
    long long seq = seq_of(&d, where);
    tamper(&d, joint_tampers[_i].sql);
    ck_assert_int_eq(verify_first_bad(&d, NULL, 0), seq);
    free_db(&d);
}
END_TEST

START_TEST(tamper_update_event)
{
    db d = new_db("te", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    tamper(&d, "UPDATE mmdx.audit_events SET os_user = 'someone-else' WHERE seq = 9");
    ck_assert_int_eq(verify_first_bad(&d, NULL, 0), 9);
    free_db(&d);
}
END_TEST

START_TEST(tamper_delete_event)
{
    db d = new_db("td", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    tamper(&d, "DELETE FROM mmdx.audit_events WHERE seq = 12");
    ck_assert_int_eq(verify_first_bad(&d, NULL, 0), 12);
    free_db(&d);
}
END_TEST

START_TEST(tamper_swap_events)
{
    db d = new_db("ts", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    tamper(&d, "UPDATE mmdx.audit_events SET seq = seq + 1000000 WHERE seq IN (14, 15);"
               "UPDATE mmdx.audit_events SET seq = CASE seq WHEN 1000014 THEN 15 ELSE 14 END WHERE seq > 1000000");
    ck_assert_int_eq(verify_first_bad(&d, NULL, 0), 14);
    free_db(&d);
}
END_TEST

START_TEST(tamper_truncate_table)
{
    db d = new_db("tt", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    tamper(&d, "TRUNCATE mmdx.audit_events");
    ck_assert_int_eq(verify_first_bad(&d, NULL, 0), 1);
    free_db(&d);
}
END_TEST

static void sign_checkpoint(mmdx_store *s, const char *keyfile, mmdx_checkpoint *cp)
{
    memset(cp, 0, sizeof *cp);
    const char *origin;
    ck_assert_int_eq(mmdx_store_log_origin(s, &origin), 0);
    snprintf(cp->origin, sizeof cp->origin, "%s", origin);
    ck_assert_int_eq(mmdx_store_tree_head(s, &cp->size, cp->root), 0);
    cp->time_us = 1700000000000000;
    ck_assert_msg(mmdx_checkpoint_sign(cp, keyfile) == 0, "%s", mmdx_last_error());
}

START_TEST(tamper_tail_truncation_caught_by_checkpoint)
{
    db d = new_db("tail", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    char *dir = mmdx_test_tmpdir();
    char priv[4096], pub[4096];
    snprintf(priv, sizeof priv, "%s/sign.pem", dir);
    snprintf(pub, sizeof pub, "%s/sign.pub", dir);
    ck_assert_int_eq(mmdx_checkpoint_keygen(priv, pub), 0);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    mmdx_checkpoint cp;
    sign_checkpoint(s, priv, &cp);
    ck_assert_int_eq(mmdx_checkpoint_verify(&cp, pub), 0);
    const mmdx_checkpoint *cps[] = {&cp};
    /* The log grows: still consistent with the checkpoint. */
    for (int i = 0; i < 3; i++) {
        mmdx_audit_event e = {0};
        e.action = "audit.verify";
        ck_assert_int_eq(mmdx_store_audit(s, &e, NULL), 0);
    }
    mmdx_verify_report r;
    ck_assert_int_eq(verify(s, &r, cps, 1, 0), 0);
    ck_assert_int_eq(r.n_checkpoints, 1);
    /* Cut the newest events, reaching below the checkpoint. */
    long long size = (long long)cp.size;
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM mmdx.audit_events WHERE seq > %lld", size - 2);
    tamper(&d, sql);
    /* A plain hash chain cannot see it... */
    ck_assert_int_eq(verify(s, &r, NULL, 0, 0), 0);
    /* ...the checkpoint can, and names the first missing event. */
    ck_assert_int_eq(verify_first_bad(&d, cps, 1), size - 1);
    mmdx_store_free(s);
    mmdx_test_rmtree(dir);
    free(dir);
    free_db(&d);
}
END_TEST

START_TEST(tamper_consistent_rewrite_caught_by_checkpoint)
{
    db d = new_db("rew", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    char *dir = mmdx_test_tmpdir();
    char priv[4096];
    snprintf(priv, sizeof priv, "%s/sign.pem", dir);
    ck_assert_int_eq(mmdx_checkpoint_keygen(priv, NULL), 0);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    mmdx_checkpoint cp;
    sign_checkpoint(s, priv, &cp);
    const mmdx_checkpoint *cps[] = {&cp};
    /* An intruder who knows the scheme rewrites event 10 and rehashes everything after it. */
    tamper(&d,
           "UPDATE mmdx.audit_events SET outcome = 12 WHERE seq = 10;"
           "DO $$ DECLARE i bigint; p bytea; BEGIN "
           "FOR i IN SELECT seq FROM mmdx.audit_events WHERE seq >= 10 ORDER BY seq LOOP "
           "SELECT hash INTO p FROM mmdx.audit_events WHERE seq = i - 1; "
           "UPDATE mmdx.audit_events SET prev_hash = p WHERE seq = i; "
           "UPDATE mmdx.audit_events e SET hash = sha256(e.prev_hash || mmdx.audit_event_bytes(e.*)) WHERE seq = i; "
           "END LOOP; END $$");
    mmdx_verify_report r;
    ck_assert_int_eq(verify(s, &r, NULL, 0, 0), 0); /* the chain alone is fooled */
    ck_assert_int_eq(verify(s, &r, cps, 1, 0), MMDX_EINTEGRITY);
    ck_assert_ptr_nonnull(strstr(r.problems[0].message, "rewritten"));
    mmdx_store_free(s);
    mmdx_test_rmtree(dir);
    free(dir);
    free_db(&d);
}
END_TEST

START_TEST(proofs_against_the_stored_tree)
{
    db d = new_db("proof", 1);
    char run[MMDX_RUN_ID_LEN];
    populate(&d, run);
    mmdx_store *s = open_store(d.admin, NULL, 0);
    uint64_t n;
    uint8_t root[32];
    ck_assert_int_eq(mmdx_store_tree_head(s, &n, root), 0);
    ck_assert_int_eq(n, (uint64_t)mmdx_pgtest_count(d.admin, "SELECT count(*) FROM mmdx.audit_events"));
    for (int64_t seq = 1; seq <= (int64_t)n; seq++) {
        uint64_t size = 0;
        uint8_t leaf[32], r2[32];
        uint8_t(*proof)[32];
        size_t np;
        ck_assert_int_eq(mmdx_store_prove_inclusion(s, seq, &size, leaf, r2, &proof, &np), 0);
        ck_assert_int_eq(size, n);
        ck_assert_mem_eq(r2, root, 32);
        ck_assert_int_eq(mmdx_merkle_verify_inclusion((uint64_t)seq - 1, size, leaf,
                                                      (const mmdx_merkle_hash *)proof, np, root), 0);
        free(proof);
    }
    for (uint64_t m = 0; m <= n; m++) {
        uint64_t size = 0;
        uint8_t rm[32], rn[32];
        uint8_t(*proof)[32];
        size_t np;
        ck_assert_int_eq(mmdx_store_prove_consistency(s, m, &size, rm, rn, &proof, &np), 0);
        ck_assert_int_eq(mmdx_merkle_verify_consistency(m, size, rm, rn, (const mmdx_merkle_hash *)proof, np), 0);
        free(proof);
    }
    uint64_t size = 0;
    uint8_t leaf[32];
    uint8_t(*proof)[32];
    size_t np;
    ck_assert_int_eq(mmdx_store_prove_inclusion(s, (int64_t)n + 5, &size, leaf, root, &proof, &np), MMDX_ENOTFOUND);
    mmdx_store_free(s);
    free_db(&d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("audit_store");
    TCase *t = tcase_create("store");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, migrate_is_idempotent_and_versioned);
    tcase_add_test(t, unmigrated_database_is_reported);
    tcase_add_test(t, concurrent_migrations_apply_once);
    tcase_add_test(t, server_refuses_broken_appends);
    tcase_add_test(t, store_predictions_idempotently);
    tcase_add_test(t, hostile_patient_ids_are_stored_verbatim);
    tcase_add_test(t, event_encodings_agree_on_random_events);
    tcase_add_test(t, pseudonyms_and_hmac);
    tcase_add_test(t, concurrent_writers_form_one_chain);
    tcase_add_test(t, concurrent_writers_sharing_patients_store_each_once);
    tcase_add_test(t, upgrade_from_schema_4_keeps_the_log);
    tcase_add_loop_test(t, killed_writer_leaves_a_consistent_log, 0, (int)(sizeof kill_points / sizeof *kill_points));
    tcase_add_test(t, lost_connection_mid_batch_is_retried_or_rolled_back);
    tcase_add_test(t, server_down_and_wrong_password_name_no_password);
    tcase_add_test(t, writer_and_reviewer_roles);
    tcase_add_test(t, tamper_update_prediction);
    tcase_add_test(t, embedding_stored_exactly_and_tamper_evident);
    tcase_add_loop_test(t, tamper_joint_fusion_columns, 0, (int)(sizeof joint_tampers / sizeof *joint_tampers));
    tcase_add_test(t, tamper_update_event);
    tcase_add_test(t, tamper_delete_event);
    tcase_add_test(t, tamper_swap_events);
    tcase_add_test(t, tamper_truncate_table);
    tcase_add_test(t, tamper_tail_truncation_caught_by_checkpoint);
    tcase_add_test(t, tamper_consistent_rewrite_caught_by_checkpoint);
    tcase_add_test(t, proofs_against_the_stored_tree);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    mmdx_pgtest_state_dir(); /* skip early without a server */
    return mmdx_test_run_suite(suite());
}
