/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Row 1 of the reliability matrix (docs/reliability.md): tampering as a
 * PostgreSQL superuser. A real `mmdx screen` run fills a database, which is
 * verified and checkpointed (the signed checkpoint kept outside, in a file);
 * then each attack is made alone on its own copy of that database
 * (CREATE DATABASE ... TEMPLATE), with the append-only triggers switched off
 * as only a superuser can, and `mmdx audit verify` must exit 4 naming the
 * first broken sequence number, which the test computes from what it changed.
 */
#define _POSIX_C_SOURCE 200809L /* getppid */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"
#include "screen_fixture.h"
#include "testsupport.h"

static mmdx_screen_fixture fx;
static char *tmp, *base_db, *checkpoint, *verify_key;
static long long checkpoint_size;

static char *run_expect(int want, const char *cmd)
{
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(rc == want, "exit %d (expected %d): %s\n%s%s", rc, want, cmd, out, err);
    free(err);
    return out;
}

static long long json_int(const char *text, const char *key)
{
    json_object *j = json_tokener_parse(text), *v;
    ck_assert_msg(j && json_object_object_get_ex(j, key, &v), "no \"%s\" in %s", key, text);
    long long n = json_object_get_int64(v);
    json_object_put(j);
    return n;
}

static void setup(void)
{
    tmp = mmdx_test_tmpdir();
    mmdx_screen_fixture_make(&fx, tmp, 14, 17);
    char *dsn = mmdx_screen_fixture_db("tamper_base", &base_db);
    char *cmd = mmdx_screen_fixture_command(&fx, NULL, dsn, "--threads 2");
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    /* 3: patients with neither genomics nor records are listed, not screened */
    ck_assert_msg(rc == 0 || rc == 3, "screen exit %d: %s", rc, err);
    ck_assert_int_eq(json_int(out, "stored"), fx.screenable);
    free(out), free(err), free(cmd);

    /* The site's routine: verify (intact), then sign a checkpoint kept outside the database. */
    cmd = mmdx_test_strf("'%s' audit verify --db '%s' --site-key '%s' --require-hmac", mmdx_test_mmdx_bin(), dsn,
                         fx.key);
    free(run_expect(0, cmd));
    free(cmd);
    char *signing = mmdx_test_strf("%s/checkpoint.pem", tmp);
    verify_key = mmdx_test_strf("%s/checkpoint.pub", tmp);
    checkpoint = mmdx_test_strf("%s/base.checkpoint", tmp);
    cmd = mmdx_test_strf("'%s' audit keygen --out '%s' --pub '%s'", mmdx_test_mmdx_bin(), signing, verify_key);
    free(run_expect(0, cmd));
    free(cmd);
    cmd = mmdx_test_strf("'%s' audit checkpoint --db '%s' --site-key '%s' --signing-key '%s' --out '%s' --json",
                         mmdx_test_mmdx_bin(), dsn, fx.key, signing, checkpoint);
    out = run_expect(0, cmd);
    checkpoint_size = json_int(out, "size");
    free(out), free(cmd), free(signing), free(dsn);
}

static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(base_db);
    free(checkpoint);
    free(verify_key);
}

/* A fresh copy of the screened database; its DSN (malloc'd). */
static char *copy_of_base(const char *name)
{
    char *admin = mmdx_pgtest_admin_dsn(NULL);
    char *sql = mmdx_test_strf("DROP DATABASE IF EXISTS %s", name);
    mmdx_pgtest_exec(admin, sql);
    free(sql);
    sql = mmdx_test_strf("CREATE DATABASE %s TEMPLATE %s", name, base_db);
    mmdx_pgtest_exec(admin, sql);
    free(sql);
    free(admin);
    return mmdx_pgtest_admin_dsn(name);
}

/*
 * Verify as a site does (site key, an HMAC on every keyed event, the checkpoint
 * and its public key); the case passes when verify exits 4 naming `want`.
 */
static void expect_broken(const char *name, const char *dsn, long long want)
{
    char *cmd = mmdx_test_strf("'%s' audit verify --db '%s' --site-key '%s' --require-hmac --checkpoint '%s' "
                               "--verify-key '%s' --json", mmdx_test_mmdx_bin(), dsn, fx.key, checkpoint, verify_key);
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    long long got = -1;
    json_object *j = json_tokener_parse(out), *v;
    if (j && json_object_object_get_ex(j, "first_broken_seq", &v) && v)
        got = json_object_get_int64(v);
    json_object_put(j);
    int pass = rc == 4 && got == want;
    mmdx_test_reliability(1, name, pass, "verify exit %d, first broken seq %lld (altered: %lld)", rc, got, want);
    ck_assert_msg(pass, "%s: verify exit %d, first broken seq %lld, expected exit 4 and seq %lld\n%s%s", name, rc,
                  got, want, out, err);
    free(out), free(err), free(cmd);
}

/* The sequence number an attack targets, as its SQL reads it (the test sets it first). */
#define K "current_setting('mmdx_test.k')::bigint"
/* A prediction.store event in the middle of the screening run. */
#define MIDDLE_EVENT                                                                                                 \
    "SELECT seq FROM mmdx.audit_events WHERE action = 'prediction.store' ORDER BY seq OFFSET (SELECT count(*) / 2 " \
    "FROM mmdx.audit_events WHERE action = 'prediction.store') LIMIT 1"
/* The prediction that event K records. */
#define ITS_PREDICTION "e.seq = " K " AND e.run_id = p.run_id AND e.patient = p.patient"

/*
 * One attack: `pick` finds the sequence number k it targets (the first broken one, as
 * verify must name it; NULL: the third last event of the checkpoint), `sql` makes it (k as K), `check` (optional) counts 1 when the
 * attack left what it meant to.
 */
typedef struct attack {
    const char *name, *pick, *sql, *check;
} attack;

static const attack attacks[] = {
    {"UPDATE of an event's field", MIDDLE_EVENT,
     /* someone else did it: the event's actor rewritten */
     "UPDATE mmdx.audit_events SET db_role = 'someone_else' WHERE seq = " K, NULL},
    {"DELETE of a middle event", MIDDLE_EVENT, "DELETE FROM mmdx.audit_events WHERE seq = " K, NULL},
    {"two events reordered", MIDDLE_EVENT,
     /* seq is the primary key: through a free number */
     "UPDATE mmdx.audit_events SET seq = 999999999 WHERE seq = " K "; "
     "UPDATE mmdx.audit_events SET seq = " K " WHERE seq = " K " + 1; "
     "UPDATE mmdx.audit_events SET seq = " K " + 1 WHERE seq = 999999999",
     "SELECT (count(*) = " K " + 1)::int FROM mmdx.audit_events WHERE seq <= " K " + 1"},
    {"last 3 events deleted (tail truncation)",
     /* the last 3 events the checkpoint (kept in a file) covers, and those after them */
     NULL, "DELETE FROM mmdx.audit_events WHERE seq >= " K,
     "SELECT (max(seq) + 1 = " K ")::int FROM mmdx.audit_events"},
    {"TRUNCATE of the events", "SELECT 1", "TRUNCATE mmdx.audit_events", NULL},
    {"forged HMAC", MIDDLE_EVENT,
     /* 32 plausible bytes, made without the site key */
     "UPDATE mmdx.audit_events SET hmac = sha256(hash || 'not the site key'::bytea) WHERE seq = " K, NULL},
    {"a prediction's probability altered",
     "SELECT min(seq) FROM mmdx.audit_events e JOIN mmdx.predictions p USING (run_id, patient) "
     "WHERE e.action = 'prediction.store'",
     "UPDATE mmdx.predictions p SET probability = 1 - probability FROM mmdx.audit_events e WHERE " ITS_PREDICTION,
     NULL},
    {"a prediction deleted",
     "SELECT max(seq) FROM mmdx.audit_events e JOIN mmdx.predictions p USING (run_id, patient) "
     "WHERE e.action = 'prediction.store'",
     "DELETE FROM mmdx.predictions p USING mmdx.audit_events e WHERE " ITS_PREDICTION, NULL},
    {"a fake event with a plausible hash", "SELECT max(seq) + 1 FROM mmdx.audit_events",
     /* A reviewer who never looked "viewed" a patient's result: the event extends the chain
      * exactly (seq, prev_hash and hash as the server computes them); only its HMAC is
      * missing, because making one needs the site key. */
     "INSERT INTO mmdx.audit_events (seq, ts, db_role, os_user, host, action, outcome, object_type, patient, "
     "run_id, detail, prev_hash, hash) SELECT e.seq + 1, e.ts + interval '1 second', 'dr_mallory', 'mallory', "
     "e.host, 'results.view', 0, 'prediction', p.patient, p.run_id, '{}', e.hash, '\\x00' "
     "FROM mmdx.audit_events e, (SELECT run_id, patient FROM mmdx.predictions LIMIT 1) p WHERE e.seq = " K " - 1; "
     "UPDATE mmdx.audit_events e SET hash = sha256(e.prev_hash || mmdx.audit_event_bytes(e)) WHERE seq = " K,
     "SELECT count(*) FROM mmdx.audit_events e JOIN mmdx.audit_events d ON d.seq = e.seq - 1 WHERE e.seq = " K
     " AND e.prev_hash = d.hash AND e.hash = sha256(e.prev_hash || mmdx.audit_event_bytes(e))"},
};

START_TEST(each_attack_alone_is_named)
{
    const attack *a = &attacks[_i];
    char *name = mmdx_test_strf("tamper_%d_%ld", _i, (long)getppid());
    char *dsn = copy_of_base(name);
    long long k = a->pick ? mmdx_pgtest_count(dsn, a->pick) : checkpoint_size - 2;
    /* As the superuser, with the append-only triggers off, as only a superuser can. */
    char *sql = mmdx_test_strf("SET session_replication_role = replica; SET mmdx_test.k = '%lld'; %s", k, a->sql);
    mmdx_pgtest_exec(dsn, sql);
    free(sql);
    if (a->check) {
        sql = mmdx_test_strf("SET mmdx_test.k = '%lld'; %s", k, a->check);
        ck_assert_msg(mmdx_pgtest_count(dsn, sql) == 1, "%s: not done as meant: %s", a->name, a->check);
        free(sql);
    }
    expect_broken(a->name, dsn, k);
    free(dsn);
    free(name);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("audit_tamper");
    TCase *t = tcase_create("superuser");
    tcase_add_unchecked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, each_attack_alone_is_named, 0, (int)(sizeof attacks / sizeof attacks[0]));
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    mmdx_pgtest_state_dir();
    return mmdx_test_run_suite(suite());
}
