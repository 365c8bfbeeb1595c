/* SPDX-License-Identifier: Apache-2.0 */
/* `mmdx db` and `mmdx audit` end to end against a real server (TLS: test_audit_privileges.c). */
#define _GNU_SOURCE /* vasprintf */
#include <check.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "hash.h"
#include "merkle.h"
#include "pgtest.h"
#include "store.h"
#include "fhir_check.h"
#include "testsupport.h"

static char *fmt(const char *f, ...) MMDX_FORMAT(1, 2);

static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Run `mmdx ARGS`; returns the exit code, output in *out / *err (malloc'd). */
static int mmdx(char **out, char **err, const char *f, ...) MMDX_FORMAT(3, 4);

static int mmdx(char **out, char **err, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *args = NULL;
    if (vasprintf(&args, f, ap) < 0)
        args = NULL;
    va_end(ap);
    ck_assert_ptr_nonnull(args);
    char *cmd = fmt("'%s' %s", mmdx_test_mmdx_bin(), args);
    char *o = NULL, *e = NULL;
    int rc = mmdx_test_run(cmd, &o, &e);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    free(cmd);
    free(args);
    return rc;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

START_TEST(cli_end_to_end)
{
    char *name = mmdx_pgtest_create_db("cli");
    char *dsn = mmdx_pgtest_admin_dsn(name);
    char *dir = mmdx_test_tmpdir();
    char *out, *err;

    ck_assert_int_eq(mmdx(&out, &err, "db migrate --db '%s' --json", dsn), 0);
    json_object *j = json_tokener_parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_object_get_int(json_object_object_get(j, "applied")), mmdx_store_code_version());
    ck_assert_ptr_null(strstr(out, "passfile")); /* the description shows only harmless keys */
    json_object_put(j);
    free(out);
    free(err);
    ck_assert_int_eq(mmdx(&out, NULL, "db migrate --db '%s'", dsn), 0);
    ck_assert_ptr_nonnull(strstr(out, "up to date"));
    free(out);

    /* A run of 20 predictions, replayed once: the duplicates are audited as minor failures. */
    mmdx_store_options o = {0};
    o.conninfo = dsn;
    mmdx_store *s;
    ck_assert_int_eq(mmdx_store_open(&s, &o), 0);
    char run[MMDX_RUN_ID_LEN];
    mmdx_store_run r = {0};
    ck_assert_int_eq(mmdx_store_run_begin(s, &r, run), 0);
    mmdx_store_prediction p[20];
    char ids[20][16];
    for (int i = 0; i < 20; i++) {
        snprintf(ids[i], sizeof ids[i], "P%05d", i);
        static const mmdx_store_contribution imaging = {"imaging", 0.5};
        mmdx_store_prediction q = {ids[i], "1.2.3.4", 0.05 * i, i >= 10, &imaging, 1, NULL, 0, NULL, 0, NULL, 0};
        p[i] = q;
    }
    ck_assert_int_eq(mmdx_store_predictions(s, run, p, 20, NULL), 0);
    ck_assert_int_eq(mmdx_store_predictions(s, run, p, 2, NULL), 0);
    ck_assert_int_eq(mmdx_store_run_end(s, run, MMDX_OUTCOME_SUCCESS, NULL), 0);
    mmdx_store_free(s);

    ck_assert_int_eq(mmdx(&out, &err, "audit verify --db '%s'", dsn), 0);
    ck_assert_msg(strstr(out, "intact") != NULL, "%s", out);
    free(out);
    free(err);

    /* Results, audited. */
    ck_assert_int_eq(mmdx(&out, NULL, "db results --db '%s' --run %s --csv", dsn, run), 0);
    ck_assert_int_eq(count_lines(out), 21);
    free(out);
    /* the 8-character run ID the text views print names the run too */
    ck_assert_int_eq(mmdx(&out, NULL, "db results --db '%s' --run %.8s --csv", dsn, run), 0);
    ck_assert_int_eq(count_lines(out), 21);
    free(out);
    /* as FHIR R4 RiskAssessment resources, one line per stored prediction */
    ck_assert_int_eq(mmdx(&out, NULL, "db results --db '%s' --run %s --fhir --fhir-system urn:oid:2.16.840.1.113883",
                          dsn, run), 0);
    ck_assert_int_eq(count_lines(out), 20);
    {
        char *save = NULL;
        int i = 0;
        for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
            char id[16];
            snprintf(id, sizeof id, "P%05d", i);
            mmdx_test_check_risk_assessment(l, "urn:oid:2.16.840.1.113883", id, 0.05 * i, i >= 10);
            ck_assert_ptr_nonnull(strstr(l, "contributions to the log-odds: imaging +0.500"));
        }
    }
    free(out);
    ck_assert_int_eq(mmdx(NULL, NULL, "db results --db '%s' --run %s --fhir --csv", dsn, run), 2);
    ck_assert_int_eq(mmdx(NULL, NULL, "db status --db '%s' --fhir", dsn), 2);
    ck_assert_int_eq(mmdx(NULL, &err, "db results --db '%s' --run 0000000z", dsn), 3);
    ck_assert_msg(strstr(err, "first 8") != NULL, "%s", err);
    free(err);
    ck_assert_int_eq(mmdx(NULL, &err, "db results --db '%s' --run %s", dsn, run[0] == 'f' ? "eeeeeeee" : "ffffffff"), 3);
    ck_assert_msg(strstr(err, "no stored run starts with") != NULL, "%s", err);
    free(err);

    /* log: filters and formats. */
    ck_assert_int_eq(mmdx(&out, NULL, "audit log --db '%s' --patient P00003 --json", dsn), 0);
    j = json_tokener_parse(out);
    ck_assert_msg(j && json_object_is_type(j, json_type_array), "%s", out);
    int store_events = 0;
    for (size_t i = 0; i < json_object_array_length(j); i++) {
        json_object *e = json_object_array_get_idx(j, i);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "patient")), "P00003");
        if (!strcmp(json_object_get_string(json_object_object_get(e, "action")), "prediction.store"))
            store_events++;
    }
    ck_assert_int_eq(store_events, 1);
    json_object_put(j);
    free(out);
    char prefix[9];
    snprintf(prefix, sizeof prefix, "%.8s", run);
    ck_assert_int_eq(mmdx(&out, NULL, "audit log --db '%s' --run %s --action prediction.duplicate --csv", dsn, prefix), 0);
    ck_assert_int_eq(count_lines(out), 3); /* header + 2 */
    ck_assert_ptr_nonnull(strstr(out, "minor-failure"));
    free(out);
    ck_assert_int_eq(mmdx(&out, NULL, "audit log --db '%s' --since 2000-01-01 --until 2000-01-02", dsn), 0);
    ck_assert_str_eq(out, "");
    free(out);
    ck_assert_int_eq(mmdx(NULL, &err, "audit log --db '%s' --since yesterday", dsn), 2);
    ck_assert_ptr_nonnull(strstr(err, "--since"));
    free(err);

    /* export: DICOM audit messages with the true outcome of each event. */
    char *xml = fmt("%s/audit.xml", dir);
    ck_assert_int_eq(mmdx(NULL, &err, "audit export --db '%s' --since 2000-01-01 --until 2100-01-01 --out '%s' --site-id 'Test & Site'", dsn, xml), 0);
    free(err);
    size_t len;
    char *text = mmdx_test_read_file(xml, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_ge(count_lines(text), 26);
    ck_assert_ptr_nonnull(strstr(text, "EventOutcomeIndicator=\"4\""));
    ck_assert_ptr_nonnull(strstr(text, "csd-code=\"110110\""));
    ck_assert_ptr_nonnull(strstr(text, "csd-code=\"110101\""));
    ck_assert_ptr_nonnull(strstr(text, "AuditEnterpriseSiteID=\"Test &amp; Site\""));
    free(text);
    /* Every line is a well-formed XML document (when python3 is there to say so). */
    if (access("/usr/bin/python3", X_OK) == 0) {
        char *py = fmt("/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E\n"
                       "n = 0\n"
                       "for line in open(sys.argv[1]):\n"
                       "    root = E.fromstring(line)\n"
                       "    assert root.tag == 'AuditMessage'\n"
                       "    assert root.find('EventIdentification/EventID').get('codeSystemName') == 'DCM'\n"
                       "    n += 1\n"
                       "print(n)\" '%s'", xml);
        char *pyout = NULL, *pyerr = NULL;
        ck_assert_msg(mmdx_test_run(py, &pyout, &pyerr) == 0, "%s", pyerr);
        ck_assert_int_ge(atoi(pyout), 26);
        free(pyout);
        free(pyerr);
        free(py);
    }
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'audit.export'"), 1);

    /* checkpoint, prove, verify against the checkpoint */
    char *key = fmt("%s/sign.pem", dir), *pub = fmt("%s/sign.pub", dir), *cpdir = fmt("%s/cp", dir);
    ck_assert_int_eq(mmdx(NULL, NULL, "audit keygen --out '%s' --pub '%s'", key, pub), 0);
    ck_assert_int_eq(mmdx(NULL, NULL, "audit keygen --out '%s'", key), 2); /* never overwritten: choose another --out */
    char *cpfile = fmt("%s/first.checkpoint", dir);
    ck_assert_int_eq(mmdx(&out, &err, "audit checkpoint --db '%s' --signing-key '%s' --out '%s' --json", dsn, key, cpfile), 0);
    j = json_tokener_parse(out);
    ck_assert_ptr_nonnull(j);
    long long size = json_object_get_int64(json_object_object_get(j, "size"));
    ck_assert_int_gt(size, 25);
    json_object_put(j);
    free(out);
    free(err);

    ck_assert_int_eq(mmdx(&out, NULL, "audit prove 5 --db '%s' --checkpoint '%s' --json", dsn, cpfile), 0);
    j = json_tokener_parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_object_get_int64(json_object_object_get(j, "tree_size")), size);
    uint8_t leaf[32], root[32];
    ck_assert_int_eq(mmdx_unhex(json_object_get_string(json_object_object_get(j, "leaf_hash")), leaf, 32), 0);
    ck_assert_int_eq(mmdx_unhex(json_object_get_string(json_object_object_get(j, "root")), root, 32), 0);
    json_object *pa = json_object_object_get(j, "proof");
    size_t np = json_object_array_length(pa);
    mmdx_merkle_hash *proof = calloc(np + 1, sizeof *proof);
    for (size_t i = 0; i < np; i++)
        ck_assert_int_eq(mmdx_unhex(json_object_get_string(json_object_array_get_idx(pa, i)), proof[i], 32), 0);
    ck_assert_int_eq(mmdx_merkle_verify_inclusion(4, (uint64_t)size, leaf, proof, np, root), 0);
    free(proof);
    json_object_put(j);
    free(out);
    ck_assert_int_eq(mmdx(&out, NULL, "audit prove --consistency 3 --db '%s'", dsn), 0);
    ck_assert_ptr_nonnull(strstr(out, "consistency proof"));
    free(out);

    ck_assert_int_eq(mmdx(&out, NULL, "audit verify --db '%s' --checkpoint '%s' --verify-key '%s'", dsn, cpfile, pub), 0);
    ck_assert_ptr_nonnull(strstr(out, "consistent with 1 checkpoint"));
    free(out);

    /* The checkpoint directory from the configuration is read by verify. */
    char *conf = fmt("%s/mmdx.conf", dir);
    char *conftext = fmt("[audit]\nsigning_key = sign.pem\nverify_key = sign.pub\ncheckpoint_dir = cp\n");
    mmdx_test_write_file(conf, conftext);
    ck_assert_int_eq(mkdir(cpdir, 0700), 0);
    ck_assert_int_eq(mmdx(NULL, NULL, "audit checkpoint --db '%s' --config '%s'", dsn, conf), 0);

    /* Cut the tail below the checkpoints: verify fails (exit 4) and names the first missing event. */
    char *sql = fmt("SET session_replication_role = replica; DELETE FROM mmdx.audit_events WHERE seq >= %lld", size - 1);
    mmdx_pgtest_exec(dsn, sql);
    free(sql);
    /* Each verification appends its own event after the cut, so the first event the
     * checkpoint misses is the one after the current end of the log. */
    long long end = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events");
    ck_assert_int_eq(end, size - 2);
    ck_assert_int_eq(mmdx(&out, NULL, "audit verify --db '%s' --checkpoint '%s' --verify-key '%s'", dsn, cpfile, pub), 4);
    char *want = fmt("first broken link at sequence number %lld", end + 1);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "tail truncation"));
    free(want);
    free(out);
    end = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events");
    ck_assert_int_eq(mmdx(&out, NULL, "audit verify --db '%s' --config '%s' --json", dsn, conf), 4);
    j = json_tokener_parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_object_get_int64(json_object_object_get(j, "first_broken_seq")), end + 1);
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(j, "intact")), 0);
    ck_assert_int_eq(json_object_get_int64(json_object_object_get(j, "checkpoints")), 1);
    json_object_put(j);
    free(out);
    /* The failed verification is itself recorded, with its true outcome. */
    ck_assert_int_ge(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'audit.verify' AND outcome = 8"), 1);
    /* A forged checkpoint is refused. */
    char *cptext = mmdx_test_read_file(cpfile, &len);
    char *sz = strstr(cptext, "\nsize ");
    sz[6] = sz[6] == '9' ? '8' : '9';
    char *forged = fmt("%s/forged.checkpoint", dir);
    mmdx_test_write_file(forged, cptext);
    ck_assert_int_eq(mmdx(NULL, &err, "audit verify --db '%s' --checkpoint '%s' --verify-key '%s'", dsn, forged, pub), 4);
    ck_assert_msg(strstr(err, "signature does not verify") != NULL, "%s", err);
    free(err);
    free(cptext);
    free(forged);

    free(conf);
    free(conftext);
    free(cpfile);
    free(key);
    free(pub);
    free(cpdir);
    free(xml);
    mmdx_test_rmtree(dir);
    free(dir);
    free(dsn);
    free(name);
}
END_TEST

START_TEST(cli_errors)
{
    char *out, *err;
    /* Server down: a clear error, exit 1, no password. */
    ck_assert_int_eq(mmdx(&out, &err, "audit verify --db 'host=127.0.0.1 port=1 dbname=x user=u password=hunter2xyz connect_timeout=3'"), 1);
    ck_assert_ptr_nonnull(strstr(err, "cannot connect to the database"));
    ck_assert_ptr_null(strstr(err, "hunter2xyz"));
    ck_assert_ptr_null(strstr(out, "hunter2xyz"));
    free(out);
    free(err);
    /* MMDX_DB is honoured. */
    ck_assert_int_eq(mmdx(NULL, &err, "db status"), 1);
    free(err);
    /* An unmigrated database: exit 3 with advice. */
    char *name = mmdx_pgtest_create_db("clie");
    char *dsn = mmdx_pgtest_admin_dsn(name);
    ck_assert_int_eq(mmdx(NULL, &err, "audit log --db '%s'", dsn), 3);
    ck_assert_ptr_nonnull(strstr(err, "mmdx db migrate"));
    free(err);
    ck_assert_int_eq(mmdx(NULL, NULL, "audit frobnicate --db '%s'", dsn), 2);
    ck_assert_int_eq(mmdx(NULL, NULL, "audit export --db '%s'", dsn), 2);
    ck_assert_int_eq(mmdx(NULL, NULL, "db results --db '%s'", dsn), 2);
    /* Pseudonyms need only the key, and equal the library's. */
    char *dir = mmdx_test_tmpdir();
    char *keyf = fmt("%s/site.key", dir);
    mmdx_test_write_file(keyf, "8f3e2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7\n");
    ck_assert_int_eq(chmod(keyf, 0600), 0);
    ck_assert_int_eq(mmdx(&out, NULL, "db pseudonym 'MRN 0042' --site-key '%s'", keyf), 0);
    char want[MMDX_PSEUDONYM_LEN + 1];
    ck_assert_int_eq(mmdx_audit_pseudonym(keyf, "MRN 0042", want), 0);
    strcat(want, "\n");
    ck_assert_str_eq(out, want);
    free(out);
    ck_assert_int_eq(chmod(keyf, 0644), 0);
    ck_assert_int_eq(mmdx(NULL, &err, "db pseudonym X --site-key '%s'", keyf), 3); /* a key to fix: 3 */
    ck_assert_ptr_nonnull(strstr(err, "chmod"));
    ck_assert_ptr_null(strstr(err, "8f3e2a1b")); /* never the key */
    free(err);
    mmdx_test_rmtree(dir);
    free(dir);
    free(keyf);
    ck_assert_int_eq(mmdx(&out, NULL, "audit --help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "verify"));
    free(out);
    free(dsn);
    free(name);
}
END_TEST

/* Defect: review commands ignored $MMDX_SITE_KEY and wrote unkeyed events that a later
 * `verify --require-hmac` reported as "HMAC removed". One resolver now gives every command
 * the key, an unkeyed review of a keyed log is refused, and plain verify says what it did
 * not check. */
START_TEST(site_key_from_environment)
{
    char *name = mmdx_pgtest_create_db("envkey");
    char *dsn = mmdx_pgtest_admin_dsn(name);
    char *dir = mmdx_test_tmpdir();
    char *keyf = fmt("%s/site.key", dir);
    mmdx_test_write_file(keyf, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\n");
    ck_assert_int_eq(chmod(keyf, 0600), 0);
    char *out, *err;

    /* Before any keyed event: a key-less verify works and says HMACs were not checked. */
    ck_assert_int_eq(mmdx(NULL, NULL, "db migrate --db '%s'", dsn), 0);
    ck_assert_int_eq(mmdx(&out, &err, "audit verify --db '%s'", dsn), 0);
    ck_assert_msg(strstr(out, "Not checked: the events' HMACs") != NULL, "%s", out);
    free(out);
    free(err);

    setenv("MMDX_SITE_KEY", keyf, 1);
    ck_assert_int_eq(mmdx(&out, &err, "audit log --db '%s'", dsn), 0);
    free(out);
    free(err);
    ck_assert_int_eq(mmdx(&out, &err, "db status --db '%s'", dsn), 0);
    free(out);
    free(err);
    long long keyed = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE hmac IS NOT NULL");
    ck_assert_int_ge(keyed, 1);
    ck_assert_int_eq(mmdx(&out, &err, "audit verify --require-hmac --db '%s' --json", dsn), 0);
    json_object *j = json_tokener_parse(out);
    ck_assert_msg(j != NULL, "%s", out);
    ck_assert(json_object_get_boolean(json_object_object_get(j, "intact")));
    ck_assert(json_object_get_boolean(json_object_object_get(j, "hmacs_verified")));
    ck_assert_int_eq(json_object_get_int64(json_object_object_get(j, "hmacs_checked")), keyed);
    json_object_put(j);
    free(out);
    free(err);
    /* The reviewers' own events carry HMACs. */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE hmac IS NULL "
                                            "AND action NOT IN ('schema.migrate', 'audit.verify')"), 0);
    ck_assert_int_gt(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE hmac IS NOT NULL "
                                            "AND action = 'audit.log'"), 0);
    unsetenv("MMDX_SITE_KEY");

    /* Without the key, a review of the keyed log is refused before anything is shown or written. */
    long long events = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events");
    ck_assert_int_eq(mmdx(&out, &err, "audit log --db '%s'", dsn), 3);
    ck_assert_msg(strstr(err, "carry HMACs") && strstr(err, "$MMDX_SITE_KEY"), "%s", err);
    ck_assert_str_eq(out, "");
    free(out);
    free(err);
    ck_assert_int_eq(mmdx(&out, &err, "audit verify --db '%s'", dsn), 3);
    free(out);
    free(err);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events"), events);
    /* The key through the configuration works as well as through the environment. */
    char *conf = fmt("%s/site.conf", dir);
    char *text = fmt("[audit]\nsite_key_file = site.key\n");
    mmdx_test_write_file(conf, text);
    ck_assert_int_eq(mmdx(&out, &err, "audit verify --require-hmac --db '%s' --config '%s'", dsn, conf), 0);
    ck_assert_msg(strstr(out, "intact") != NULL && strstr(out, "HMACs") != NULL, "%s", out);
    free(out);
    free(err);
    free(text);
    free(conf);
    mmdx_test_rmtree(dir);
    free(dir);
    free(keyf);
    free(dsn);
    free(name);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("audit_cli");
    TCase *t = tcase_create("cli");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, cli_end_to_end);
    tcase_add_test(t, cli_errors);
    tcase_add_test(t, site_key_from_environment);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    mmdx_pgtest_state_dir();
    /* `db status` without --db must use MMDX_DB: point it at nothing. */
    setenv("MMDX_DB", "host=127.0.0.1 port=1 connect_timeout=3", 1);
    return mmdx_test_run_suite(suite());
}
