/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Row 7 of the reliability matrix (docs/reliability.md): privileges and
 * secrets, against the `postgres` fixture's server (TLS on, its own CA):
 * what the writer and reviewer roles are refused; SQL in the strings a
 * manifest or a command carries, stored and shown verbatim; TLS with
 * sslmode=verify-full (the test's CA, a rogue CA, a wrong host name); no
 * patient ID, password or key in any log line the test produced nor in the
 * server's log; the mode of every file mmdx writes that holds a secret or
 * patient data.
 */
#define _GNU_SOURCE /* strdup, getline */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "pgtest.h"
#include "screen_fixture.h"
#include "store.h"
#include "testsupport.h"

#define ROW 7
/* SQL an attacker would like to see run; each is stored and shown verbatim instead. */
#define INJECT_PATIENT "x'); DROP TABLE audit_event; --"
#define INJECT_NAME "c'); DROP TABLE mmdx.runs; --"
#define INJECT_JOB "j\"); DELETE FROM mmdx.predictions; --"

static char *logs; /* the standard error of every command this test ran */
static size_t commands;

/* `s` as one single-quoted shell word (malloc'd). */
static char *shq(const char *s)
{
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *q = malloc(n), *o = q;
    ck_assert_ptr_nonnull(q);
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

/* `s` as an SQL string literal (malloc'd). */
static char *sql_lit(const char *s)
{
    char *q = malloc(2 * strlen(s) + 3), *o = q;
    ck_assert_ptr_nonnull(q);
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            *o++ = '\'';
        *o++ = *p;
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

/* Run `cmd` (freed) with the umask most accounts have, so that a file made with the default
 * mode would be 0644; its stderr joins `logs`. Returns the exit code, stdout in *out. */
static int run(char *cmd, char **out)
{
    char *full = mmdx_test_strf("umask 022; %s", cmd);
    char *o = NULL, *e = NULL;
    int rc = mmdx_test_run(full, &o, &e);
    char *all = mmdx_test_strf("%s%s", logs ? logs : "", e ? e : "");
    free(logs);
    logs = all;
    commands++;
    if (out)
        *out = o;
    else
        free(o);
    free(e);
    free(full);
    free(cmd);
    return rc;
}

/* A login role of the test server in group `group`, with a fresh password (*password, malloc'd). */
static char *login_role(const char *admin, const char *kind, const char *group, char **password)
{
    char *role = mmdx_test_strf("rel_%s_%ld", kind, (long)getpid());
    *password = mmdx_test_strf("pw-%s-%ld-%lx", kind, (long)getpid(), (unsigned long)time(NULL) * 2654435761u);
    char *sql = mmdx_test_strf("DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT %s TO %s", role,
                               role, *password, group, role);
    mmdx_pgtest_exec(admin, sql);
    free(sql);
    return role;
}

/* ------------------------------------------------------------------ roles */

/* Every statement must be refused, by a privilege or by the log's own trigger. */
static int refused(const char *dsn, const char *sql, const char *why, char **msg)
{
    char *err = NULL;
    int rc = mmdx_pgtest_try(dsn, sql, &err);
    int ok = rc != 0 && err && strstr(err, why) != NULL;
    if (!ok && !*msg)
        *msg = mmdx_test_strf("not refused as expected (%s): %s: %s", why, sql, err ? err : "it ran");
    free(err);
    return ok;
}

typedef struct statement {
    const char *sql, *why;
} statement;

static const char *const denied = "permission denied";

/* What neither role may do to what is written: change it, remove it, empty a table. */
#define CHANGES                                                                                                      \
    {"UPDATE mmdx.audit_events SET outcome = 0", NULL}, {"DELETE FROM mmdx.audit_events", NULL},                     \
        {"TRUNCATE mmdx.audit_events", NULL}, {"UPDATE mmdx.predictions SET probability = 0", NULL},                 \
        {"DELETE FROM mmdx.predictions", NULL}, {"TRUNCATE mmdx.predictions", NULL},                                 \
        {"UPDATE mmdx.runs SET host = 'elsewhere'", NULL}, {"DELETE FROM mmdx.runs", NULL}

static const statement writer_refused[] = {
    CHANGES,
    /* a writer never reads a result nor the log */
    {"SELECT probability FROM mmdx.predictions", NULL},
    {"SELECT * FROM mmdx.audit_events", NULL},
    /* nor appends an event that does not extend the chain */
    {"INSERT INTO mmdx.audit_events (seq, ts, db_role, os_user, host, action, outcome, prev_hash, hash) VALUES "
     "(1000000, now(), session_user, 'u', 'h', 'prediction.store', 0, '\\x00', '\\x00')", "is out of sequence"},
};

/* An event that extends the chain exactly, as `action`, made in SQL by the session's role. */
#define CHAINED_EVENT(action)                                                                                        \
    "INSERT INTO mmdx.audit_events (seq, ts, db_role, os_user, host, action, outcome, prev_hash, hash) "            \
    "SELECT (r).seq, (r).ts, (r).db_role, (r).os_user, (r).host, (r).action, (r).outcome, (r).prev_hash, "          \
    "sha256((r).prev_hash || mmdx.audit_event_bytes(r)) FROM (SELECT ROW(h.last_seq + 1, "                         \
    "to_timestamp(h.now_us / 1000000.0), h.db_role, 'u', 'h', '" action "', 0, NULL, NULL, NULL, NULL, NULL, "      \
    "NULL, NULL, h.last_hash, '\\x00'::bytea, NULL)::mmdx.audit_events AS r FROM mmdx.audit_head() h) x"

static const statement reviewer_refused[] = {
    {"INSERT INTO mmdx.runs (run_id, started_at, db_role, os_user, host, mmdx_version, plugins, parameters) VALUES "
     "(gen_random_uuid(), now(), session_user, 'u', 'h', '0', '[]', '{}')", NULL},
    {"INSERT INTO mmdx.predictions (run_id, patient, pseudonymised, probability, contributions, input_hashes, "
     "content_sha256) SELECT run_id, 'P', false, 0.5, '{}', '{}', '\\x00' FROM mmdx.runs LIMIT 1", NULL},
    /* a reviewer records reviews only, even an event that extends the chain exactly */
    {CHAINED_EVENT("prediction.store"), "may only record reviews"},
    CHANGES,
    {"UPDATE mmdx.audit_checkpoints SET note = ''", NULL},
    {"DELETE FROM mmdx.audit_checkpoints", NULL},
};

static void try_all(const char *role_name, const char *dsn, const statement *st, size_t n)
{
    size_t ok = 0;
    char *msg = NULL;
    for (size_t i = 0; i < n; i++)
        ok += refused(dsn, st[i].sql, st[i].why ? st[i].why : denied, &msg);
    char *name = mmdx_test_strf("%s role: changes refused", role_name);
    mmdx_test_reliability(ROW, name, ok == n, "%zu/%zu statements refused", ok, n);
    ck_assert_msg(ok == n, "%s: %s", role_name, msg);
    free(name);
    free(msg);
}

START_TEST(writer_and_reviewer_are_refused_what_is_not_theirs)
{
    char *db = NULL;
    char *admin = mmdx_screen_fixture_db("privileges", &db);
    char *wpw, *rpw;
    char *w = login_role(admin, "writer", "mmdx_writer", &wpw), *r = login_role(admin, "reviewer", "mmdx_reviewer",
                                                                                &rpw);
    char *wdsn = mmdx_pgtest_role_dsn(db, w, wpw), *rdsn = mmdx_pgtest_role_dsn(db, r, rpw);
    /* the reviewer may record a review: the chained statement itself is sound */
    mmdx_pgtest_exec(rdsn, CHAINED_EVENT("audit.log"));
    try_all("writer", wdsn, writer_refused, sizeof writer_refused / sizeof writer_refused[0]);
    try_all("reviewer", rdsn, reviewer_refused, sizeof reviewer_refused / sizeof reviewer_refused[0]);
    free(wdsn), free(rdsn), free(w), free(r), free(wpw), free(rpw), free(admin), free(db);
}
END_TEST

/* ------------------------------------------- injection, logs, file modes */

/* The mode bits of `path`, or -1 when it does not exist. */
static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* How many of `needles` occur in `text`; the first found goes into *which. */
static int count_found(const char *text, char *const *needles, size_t n, const char **which)
{
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (strstr(text, needles[i])) {
            if (!*which)
                *which = needles[i];
            found++;
        }
    return found;
}

static size_t lines_of(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The text the server's log gained from `from` on (malloc'd). */
static char *server_log_since(long from)
{
    char *p = mmdx_test_strf("%s/datadir", mmdx_pgtest_state_dir());
    char *dir = mmdx_test_read_file(p, NULL);
    free(p);
    ck_assert_ptr_nonnull(dir);
    dir[strcspn(dir, "\n")] = '\0';
    p = mmdx_test_strf("%s/server.log", dir);
    size_t len = 0;
    char *all = mmdx_test_read_file(p, &len);
    free(p);
    free(dir);
    ck_assert_ptr_nonnull(all);
    char *tail = strdup(from >= 0 && (size_t)from <= len ? all + from : all);
    free(all);
    return tail;
}

static long server_log_size(void)
{
    char *t = server_log_since(0);
    long n = (long)strlen(t);
    free(t);
    return n;
}

START_TEST(strings_are_stored_verbatim_logs_hold_no_secret_files_are_private)
{
    long log_from = server_log_size();
    char *tmp = mmdx_test_tmpdir();
    mmdx_screen_fixture fx;
    mmdx_screen_fixture_make(&fx, tmp, 12, 7);
    char *db = NULL;
    char *admin = mmdx_screen_fixture_db("injection", &db);
    char *wpw, *rpw;
    char *w = login_role(admin, "inj_writer", "mmdx_writer", &wpw), *r = login_role(admin, "inj_reviewer",
                                                                                    "mmdx_reviewer", &rpw);
    char *wdsn = mmdx_pgtest_role_dsn(db, w, wpw), *rdsn = mmdx_pgtest_role_dsn(db, r, rpw);
    long long tables = mmdx_pgtest_count(admin, "SELECT count(*) FROM pg_tables WHERE schemaname = 'mmdx'");

    /* The manifest, named with SQL, in the cohort's folder; one more patient whose ID is SQL,
     * its VCF in a folder named with SQL; one whose inputs are missing (a line on stderr). */
    char *quiet = mmdx_test_strf("QUIET%ld", (long)getpid());
    char *injdir = mmdx_test_strf("%s/" INJECT_NAME, fx.cohort);
    char *manifest = mmdx_test_strf("%s/" INJECT_NAME ".csv", fx.cohort);
    ck_assert_int_eq(mkdir(injdir, 0755), 0);
    size_t len = 0;
    char *rows = mmdx_test_read_file(fx.manifest, &len);
    ck_assert_ptr_nonnull(rows);
    /* the first patient with a VCF: its row again, as the new patient */
    char *with_vcf = strstr(rows, ".vcf.gz,");
    ck_assert_ptr_nonnull(with_vcf);
    char *line = with_vcf;
    while (line > rows && line[-1] != '\n')
        line--;
    char id[64], vcf[256];
    ck_assert_int_eq(sscanf(line, "%63[^,],%*[^,],%255[^,]", id, vcf), 2);
    char *q_injdir = shq(injdir);
    char *copy = mmdx_test_strf("cp '%s/%s' '%s/%s.tbi' %s/", fx.cohort, vcf, fx.cohort, vcf, q_injdir);
    ck_assert_int_eq(mmdx_test_run(copy, NULL, NULL), 0);
    free(copy), free(q_injdir);
    const char *base = strrchr(vcf, '/') ? strrchr(vcf, '/') + 1 : vcf;
    char *text = mmdx_test_strf("%s" INJECT_PATIENT ",," INJECT_NAME "/%s,%s,,1\n%s,,,,,0\n", rows, base, id, quiet);
    mmdx_test_write_file(manifest, text);
    free(text);

    /* Screen as the writer, with a password (which must appear nowhere). */
    char *out_csv = mmdx_test_strf("%s/results.csv", tmp);
    char *q_manifest = shq(manifest), *q_wdsn = shq(wdsn), *q_job = shq(INJECT_JOB);
    char *cmd = mmdx_test_strf("'%s' screen --model '%s' --cohort %s --config '%s' --site-key '%s' --db %s "
                               "--no-progress --json --job %s --out '%s'", mmdx_test_mmdx_bin(), fx.model, q_manifest,
                               fx.conf, fx.key, q_wdsn, q_job, out_csv);
    int rc = run(cmd, NULL);
    ck_assert_msg(rc == 3, "screen exit %d (3: the patient without inputs is listed): %s", rc, logs);

    char *lit = sql_lit(INJECT_PATIENT);
    char *sql = mmdx_test_strf("SELECT count(*) FROM mmdx.predictions WHERE patient = %s", lit);
    long long stored = mmdx_pgtest_count(admin, sql);
    free(sql);
    sql = mmdx_test_strf("SELECT count(*) FROM mmdx.audit_events WHERE patient = %s AND action = "
                         "'prediction.store'", lit);
    long long events = mmdx_pgtest_count(admin, sql);
    free(sql);
    char *params = mmdx_pgtest_value(admin, "SELECT parameters FROM mmdx.runs");
    json_object *pj = json_tokener_parse(params), *v;
    int params_ok = pj && json_object_object_get_ex(pj, "cohort", &v) &&
                    strcmp(json_object_get_string(v), INJECT_NAME ".csv") == 0 &&
                    json_object_object_get_ex(pj, "job", &v) && strcmp(json_object_get_string(v), INJECT_JOB) == 0;
    json_object_put(pj);
    long long tables_after = mmdx_pgtest_count(admin, "SELECT count(*) FROM pg_tables WHERE schemaname = 'mmdx'");

    /* What a reviewer sees: the ID as it was given, in the results and in the log. */
    char *q_rdsn = shq(rdsn), *q_pat = shq(INJECT_PATIENT);
    char *results = NULL, *log_json = NULL;
    int rrc = run(mmdx_test_strf("'%s' db results --db %s --site-key '%s' --patient %s --csv", mmdx_test_mmdx_bin(),
                                 q_rdsn, fx.key, q_pat), &results);
    int lrc = run(mmdx_test_strf("'%s' audit log --db %s --site-key '%s' --patient %s --json", mmdx_test_mmdx_bin(),
                                 q_rdsn, fx.key, q_pat), &log_json);
    int results_ok = rrc == 0 && strstr(results, INJECT_PATIENT ",") != NULL;
    json_object *lj = json_tokener_parse(log_json);
    size_t log_events = 0, log_same = 0;
    for (size_t i = 0; lj && i < json_object_array_length(lj); i++) {
        json_object *e = json_object_array_get_idx(lj, i), *p;
        log_events++;
        log_same += json_object_object_get_ex(e, "patient", &p) && strcmp(json_object_get_string(p), INJECT_PATIENT) == 0;
    }
    json_object_put(lj);
    /* the review itself, recorded with the patient as asked for */
    sql = mmdx_test_strf("SELECT count(*) FROM mmdx.audit_events WHERE patient = %s AND action = 'audit.log'", lit);
    long long reviewed = mmdx_pgtest_count(admin, sql);
    free(sql);
    /* filters a reviewer types: recorded in the review's event as typed */
    char *q_name = shq(INJECT_NAME);
    int frc = run(mmdx_test_strf("'%s' audit log --db %s --site-key '%s' --actor %s --action %s --json",
                                 mmdx_test_mmdx_bin(), q_rdsn, fx.key, q_job, q_name), NULL);
    char *detail = mmdx_pgtest_value(admin, "SELECT detail FROM mmdx.audit_events WHERE action = 'audit.log' "
                                            "ORDER BY seq DESC LIMIT 1");
    json_object *dj = json_tokener_parse(detail);
    int filters_ok = frc == 0 && dj && json_object_object_get_ex(dj, "actor", &v) &&
                     strcmp(json_object_get_string(v), INJECT_JOB) == 0 && json_object_object_get_ex(dj, "action", &v) &&
                     strcmp(json_object_get_string(v), INJECT_NAME) == 0;
    json_object_put(dj);
    /* the same screening again: resumed, every patient already done, nothing doubled */
    rc = run(mmdx_test_strf("'%s' screen --model '%s' --cohort %s --config '%s' --site-key '%s' --db %s --no-progress "
                            "--json --job %s --out '%s'", mmdx_test_mmdx_bin(), fx.model, q_manifest, fx.conf, fx.key,
                            q_wdsn, q_job, out_csv), NULL);
    sql = mmdx_test_strf("SELECT count(*) FROM mmdx.predictions WHERE patient = %s", lit);
    int resumed_ok = rc == 3 && mmdx_pgtest_count(admin, sql) == 1;
    free(sql);
    int vrc = run(mmdx_test_strf("'%s' audit verify --db %s --site-key '%s' --require-hmac", mmdx_test_mmdx_bin(),
                                 q_rdsn, fx.key), NULL);
    int verbatim = stored == 1 && events == 1 && params_ok && tables_after == tables && results_ok && lrc == 0 &&
                   log_events >= 2 && log_same == log_events && reviewed == 1 && filters_ok && resumed_ok && vrc == 0;
    mmdx_test_reliability(ROW, "SQL in patient ID, file names, job, log filters: stored verbatim", verbatim,
                          "stored %lld (after a rerun %s), its events %lld, run parameters %s, tables %lld of %lld, "
                          "results %s, log %zu/%zu events name it, filters %s, verify exit %d", stored,
                          resumed_ok ? "still 1" : "CHANGED", events, params_ok ? "verbatim" : "CHANGED", tables_after,
                          tables, results_ok ? "verbatim" : "CHANGED", log_same, log_events,
                          filters_ok ? "verbatim" : "CHANGED", vrc);
    ck_assert_msg(verbatim, "results: %s\nlog: %s\nparameters: %s\nfilters: %s\nstderr: %s", results, log_json,
                  params, detail, logs);
    free(detail), free(q_name);

    /* SQL in a label is not a label: refused, naming the file and line, nothing stored. */
    char *bad = mmdx_test_strf("%s/label.csv", fx.cohort);
    text = mmdx_test_strf("%s%s,,%s,%s,,1'); DELETE FROM mmdx.predictions; --\n", rows, quiet, vcf, id);
    mmdx_test_write_file(bad, text);
    free(text);
    long long runs = mmdx_pgtest_count(admin, "SELECT count(*) FROM mmdx.runs");
    char *mark = logs ? strdup(logs) : strdup("");
    rc = run(mmdx_test_strf("'%s' screen --model '%s' --cohort '%s' --config '%s' --site-key '%s' --db %s "
                            "--no-progress --json", mmdx_test_mmdx_bin(), fx.model, bad, fx.conf, fx.key, q_wdsn),
             NULL);
    const char *said = logs + strlen(mark);
    char *where = mmdx_test_strf("label.csv: line %zu: label", lines_of(rows) + 1);
    int label_ok = rc == 3 && strstr(said, where) && mmdx_pgtest_count(admin, "SELECT count(*) FROM mmdx.runs") == runs;
    mmdx_test_reliability(ROW, "SQL in a label: refused as bad input", label_ok, "exit %d, \"%s\" named, nothing stored",
                          rc, where);
    ck_assert_msg(label_ok, "exit %d: %s", rc, said);
    free(mark), free(where), free(bad);

    /* Files holding patients' results or a key: the owner's only. */
    char *partial = mmdx_test_strf("%s.partial", out_csv);
    char *pred = mmdx_test_strf("%s/predict.csv", tmp), *exported = mmdx_test_strf("%s/audit.xml", tmp);
    char *signing = mmdx_test_strf("%s/checkpoint.pem", tmp);
    ck_assert_int_eq(run(mmdx_test_strf("'%s' predict --model '%s' --cohort '%s' --config '%s' --site-key '%s' "
                                        "--out '%s' --no-progress", mmdx_test_mmdx_bin(), fx.model, fx.manifest,
                                        fx.conf, fx.key, pred), NULL) <= 3, 1);
    ck_assert_int_eq(run(mmdx_test_strf("'%s' audit export --db %s --site-key '%s' --since 2000-01-01 --until "
                                        "2100-01-01 --out '%s'", mmdx_test_mmdx_bin(), q_rdsn, fx.key, exported),
                         NULL), 0);
    ck_assert_int_eq(run(mmdx_test_strf("'%s' audit keygen --out '%s' --pub '%s/checkpoint.pub'", mmdx_test_mmdx_bin(),
                                        signing, tmp), NULL), 0);
    const char *const files[] = {out_csv, partial, pred, exported, signing};
    const char *const what[] = {"screen --out", "its journal (.partial)", "predict --out", "audit export --out",
                                "audit keygen private key"};
    size_t n_files = sizeof files / sizeof files[0], private_files = 0;
    char modes[512] = "";
    for (size_t i = 0; i < n_files; i++) {
        int m = mode_of(files[i]);
        private_files += m == 0600;
        if (m != 0600)
            snprintf(modes + strlen(modes), sizeof modes - strlen(modes), "%s%s: %o", *modes ? ", " : "", what[i],
                     (unsigned)m);
    }
    mmdx_test_reliability(ROW, "files with results or keys: mode 0600", private_files == n_files,
                          "%zu/%zu files 0600 under umask 022%s%s", private_files, n_files, *modes ? "; " : "", modes);
    ck_assert_msg(private_files == n_files, "%s", modes);

    /* No patient ID, password or key in a log line: the commands' stderr and the server's log. */
    char *ids[64];
    size_t n_ids = 0;
    for (char *p = strchr(rows, '\n'); p && p[1] && n_ids < 60; p = strchr(p + 1, '\n')) {
        size_t l = strcspn(p + 1, ",");
        ids[n_ids++] = strndup(p + 1, l);
    }
    ids[n_ids++] = strdup(INJECT_PATIENT);
    ids[n_ids++] = strdup(quiet);
    char *key_text = mmdx_test_read_file(fx.key, NULL);
    key_text[strcspn(key_text, "\n")] = '\0';
    char *pgpass_path = mmdx_test_strf("%s/pgpass", mmdx_pgtest_state_dir());
    char *pgpass = mmdx_test_read_file(pgpass_path, NULL);
    pgpass[strcspn(pgpass, "\n")] = '\0';
    char *secrets[] = {wpw, rpw, key_text, strrchr(pgpass, ':') + 1};
    const char *which = NULL;
    int in_logs = count_found(logs, ids, n_ids, &which) + count_found(logs, secrets, 4, &which);
    char *server = server_log_since(log_from);
    /* other tests share the server, and their patients are called SYN... too: this test's own
     * unique IDs and secrets only */
    int in_server = count_found(server, ids + n_ids - 2, 2, &which) + count_found(server, secrets, 4, &which);
    mmdx_test_reliability(ROW, "no patient ID, password or key in a log line", in_logs + in_server == 0,
                          "%zu IDs and 4 secrets sought in %zu stderr lines of %zu commands and %zu server log "
                          "lines: %d found", n_ids, lines_of(logs), commands, lines_of(server), in_logs + in_server);
    ck_assert_msg(in_logs + in_server == 0, "\"%s\" is in a log:\n%s\n---- server ----\n%s", which, logs, server);

    for (size_t i = 0; i < n_ids; i++)
        free(ids[i]);
    free(server), free(pgpass), free(pgpass_path), free(key_text);
    free(partial), free(pred), free(exported), free(signing);
    free(results), free(log_json), free(params), free(lit), free(q_rdsn), free(q_pat);
    free(q_manifest), free(q_wdsn), free(q_job), free(out_csv), free(rows), free(manifest), free(injdir), free(quiet);
    free(wdsn), free(rdsn), free(w), free(r), free(wpw), free(rpw), free(admin), free(db);
    mmdx_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* ------------------------------------------------------------------- TLS */

/* A connection that must fail with `why` in its message. */
static void tls_refused(const char *name, const char *conninfo, const char *why)
{
    mmdx_store_options o = {0};
    o.conninfo = conninfo;
    mmdx_store *s = NULL;
    int rc = mmdx_store_open(&s, &o);
    int ok = rc == MMDX_EDB && strstr(mmdx_last_error(), why) != NULL;
    mmdx_test_reliability(ROW, name, ok, "%s", rc == 0 ? "connected" : why);
    if (rc == 0)
        mmdx_store_free(s);
    ck_assert_msg(ok, "%s", mmdx_last_error());
}

/* The fixture's server has a certificate for "localhost" signed by its own CA. */
START_TEST(tls_verify_full)
{
    const char *state = mmdx_pgtest_state_dir();
    char *port_path = mmdx_test_strf("%s/port", state);
    char *port = mmdx_test_read_file(port_path, NULL);
    ck_assert_ptr_nonnull(port);
    port[strcspn(port, "\n")] = '\0';
    char *good = mmdx_test_strf("host=localhost hostaddr=127.0.0.1 port=%s dbname=postgres user=mmdx_admin "
                                "passfile=%s/pgpass sslmode=verify-full sslrootcert=%s/ca.crt connect_timeout=10",
                                port, state, state);
    mmdx_store_options o = {0};
    o.conninfo = good;
    mmdx_store *s;
    int rc = mmdx_store_open(&s, &o);
    int ok = rc == 0 && strstr(mmdx_store_describe(s), "ssl=on") != NULL;
    mmdx_test_reliability(ROW, "TLS verify-full, the site's CA: connects", ok, "%s",
                          ok ? "connected, ssl=on" : rc == 0 ? "connected without TLS" : "refused");
    ck_assert_msg(ok, "%s", mmdx_last_error());
    mmdx_store_free(s);

    /* The name in the certificate must match the host asked for. */
    char *wrong_name = mmdx_test_strf("host=127.0.0.1 port=%s dbname=postgres user=mmdx_admin passfile=%s/pgpass "
                                      "sslmode=verify-full sslrootcert=%s/ca.crt connect_timeout=10",
                                      port, state, state);
    tls_refused("TLS verify-full, wrong host name: refused", wrong_name, "does not match host name");

    /* Another CA: refused. */
    char *dir = mmdx_test_tmpdir();
    char *mk = mmdx_test_strf("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                              "-subj '/CN=rogue CA' -keyout '%s/rogue.key' -out '%s/rogue.crt' 2>/dev/null",
                              dir, dir);
    ck_assert_int_eq(mmdx_test_run(mk, NULL, NULL), 0);
    char *rogue = mmdx_test_strf("host=localhost hostaddr=127.0.0.1 port=%s dbname=postgres user=mmdx_admin "
                                 "passfile=%s/pgpass sslmode=verify-full sslrootcert=%s/rogue.crt connect_timeout=10",
                                 port, state, dir);
    tls_refused("TLS verify-full, a rogue CA: refused", rogue, "certificate verify failed");

    /* And through the CLI. */
    char *cmd = mmdx_test_strf("'%s' db status --db '%s' --json", mmdx_test_mmdx_bin(), good);
    char *out = NULL;
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 3); /* reachable, not migrated */
    ck_assert_ptr_nonnull(strstr(out, "ssl=on"));
    free(out);
    free(cmd);

    mmdx_test_rmtree(dir);
    free(dir), free(mk), free(rogue), free(wrong_name), free(good), free(port), free(port_path);
}
END_TEST

int main(void)
{
    mmdx_pgtest_state_dir();
    Suite *s = suite_create("audit_privileges");
    TCase *t = tcase_create("privileges");
    tcase_set_timeout(t, 180);
    tcase_add_test(t, writer_and_reviewer_are_refused_what_is_not_theirs);
    tcase_add_test(t, strings_are_stored_verbatim_logs_hold_no_secret_files_are_private);
    tcase_add_test(t, tls_verify_full);
    suite_add_tcase(s, t);
    return mmdx_test_run_suite(s);
}
