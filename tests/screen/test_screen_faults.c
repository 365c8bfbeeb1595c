/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rows 2 and 3 of the reliability matrix (docs/reliability.md) for `mmdx
 * screen`, each case against a real PostgreSQL and printing its figure:
 *
 *  - crashes: 300 patients, SIGKILL at 10 seeded moments spread over the
 *    run, resumed each time: every patient stored once, the CSV journal and
 *    the database agree after every kill and at the end, the audit chain
 *    verifies;
 *  - database faults, on a server of this test's own: PostgreSQL stopped for
 *    seconds mid-run and started again on the same port; the run's sessions
 *    cut by pg_terminate_backend; the server made read-only mid-run (ALTER
 *    SYSTEM default_transaction_read_only + reload), once for a few seconds
 *    (the run waits) and once for longer than --db-wait (the run stops with
 *    exit 1, a rerun completes). Nothing lost, nothing doubled.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "pgtest.h"
#include "screen_runs.h"
#include "testsupport.h"

#define CRASH_PATIENTS 300
#define CRASH_KILLS 10
#define CRASH_BATCH 10
#define FAULT_PATIENTS 36

/* ---------------------------------------------------------------- helpers */

/* One stored or journaled result. */
typedef struct result_row {
    char patient[64];
    double probability;
    int decision;
} result_row;

static int by_patient(const void *a, const void *b)
{
    return strcmp(((const result_row *)a)->patient, ((const result_row *)b)->patient);
}

static const result_row *find_row(const result_row *rows, size_t n, const char *patient)
{
    result_row k;
    snprintf(k.patient, sizeof k.patient, "%s", patient);
    return bsearch(&k, rows, n, sizeof *rows, by_patient);
}

/* The predictions of the database, sorted by patient (malloc'd). */
static size_t db_rows(const char *dsn, result_row **out)
{
    char *text = mmdx_pgtest_value(dsn, "SELECT coalesce(string_agg(patient || ',' || probability::text || ',' || "
                                        "coalesce(decision::text, '-1'), E'\\n' ORDER BY patient), '') "
                                        "FROM mmdx.predictions");
    ck_assert_ptr_nonnull(text);
    size_t n = 0, cap = 16;
    result_row *rows = malloc(cap * sizeof *rows);
    ck_assert_ptr_nonnull(rows);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (n == cap) {
            rows = realloc(rows, (cap *= 2) * sizeof *rows);
            ck_assert_ptr_nonnull(rows);
        }
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        ck_assert_msg(c1 && c2, "unexpected row %s", line);
        *c1 = '\0';
        snprintf(rows[n].patient, sizeof rows[n].patient, "%s", line);
        rows[n].probability = strtod(c1 + 1, NULL);
        rows[n].decision = atoi(c2 + 1);
        n++;
    }
    free(text);
    qsort(rows, n, sizeof *rows, by_patient);
    *out = rows;
    return n;
}

/*
 * The screened rows of a results CSV or of its journal (screen/journal.h:
 * a "# mmdx screen journal v1 run <id>" line, the header, rows appended a
 * batch at a time, a later row of a patient replacing an earlier one, a torn
 * last line from a kill cut off), sorted by patient (malloc'd); 0 rows and
 * *out NULL when the file does not exist.
 */
static size_t journal_rows(const char *path, result_row **out)
{
    *out = NULL;
    size_t len = 0;
    char *text = mmdx_test_read_file(path, &len);
    if (!text)
        return 0;
    char *end = strrchr(text, '\n');
    if (end)
        end[1] = '\0'; /* a torn last line is not a row */
    else
        text[0] = '\0';
    size_t n = 0, cap = 16, status_col = 0;
    result_row *rows = malloc(cap * sizeof *rows);
    ck_assert_ptr_nonnull(rows);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# mmdx screen journal", 21) == 0)
            continue;
        char *fields[64];
        size_t nf = 0;
        for (char *fs = NULL, *f = strtok_r(line, ",", &fs); f && nf < 64; f = strtok_r(NULL, ",", &fs))
            fields[nf++] = f;
        if (nf && strcmp(fields[0], "patient_id") == 0) {
            for (size_t c = 0; c < nf; c++)
                if (strcmp(fields[c], "status") == 0)
                    status_col = c;
            continue;
        }
        ck_assert_msg(status_col > 0 && nf > status_col, "%s: a row before the header, or short", path);
        if (strcmp(fields[status_col], "screened") != 0 && strcmp(fields[status_col], "partial") != 0)
            continue;
        size_t at = n;
        for (size_t i = 0; i < n; i++)
            if (strcmp(rows[i].patient, fields[0]) == 0)
                at = i;
        if (at == n) {
            if (n == cap) {
                rows = realloc(rows, (cap *= 2) * sizeof *rows);
                ck_assert_ptr_nonnull(rows);
            }
            n++;
        }
        snprintf(rows[at].patient, sizeof rows[at].patient, "%s", fields[0]);
        rows[at].probability = strtod(fields[1], NULL);
        rows[at].decision = atoi(fields[2]);
    }
    free(text);
    qsort(rows, n, sizeof *rows, by_patient);
    *out = rows;
    return n;
}

/* How the journal `path` stands against the database: rows it has that the database lacks or holds
 * with another result (must be 0), and rows of the database it does not have yet. */
typedef struct agreement {
    size_t journal, db, not_in_db, different, db_ahead;
} agreement;

static agreement compare_journal(const char *path, const char *dsn)
{
    result_row *j = NULL, *d = NULL;
    agreement a = {0, 0, 0, 0, 0};
    a.journal = journal_rows(path, &j);
    a.db = db_rows(dsn, &d);
    for (size_t i = 0; i < a.journal; i++) {
        const result_row *r = find_row(d, a.db, j[i].patient);
        if (!r)
            a.not_in_db++;
        /* the CSV has 10 significant digits */
        else if (fabs(r->probability - j[i].probability) > 1e-9 * fmax(1, fabs(r->probability)) ||
                 r->decision != j[i].decision)
            a.different++;
    }
    a.db_ahead = a.db - (a.journal - a.not_in_db);
    free(j);
    free(d);
    return a;
}

/* `mmdx audit verify` of the database: its exit code. */
static int verify_exit(const char *dsn)
{
    char *cmd = mmdx_test_strf("'%s' audit verify --require-hmac --site-key '%s' --db '%s'", mmdx_test_mmdx_bin(),
                               key, dsn);
    int rc = mmdx_test_run(cmd, NULL, NULL);
    free(cmd);
    return rc;
}

static long long stored_count(const char *dsn)
{
    return mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
}

/* Stored once each: the rows, the distinct patients, the prediction.store events, the conflicts. */
typedef struct once {
    long long rows, distinct, store_events, conflicts;
} once;

static once stored_once(const char *dsn)
{
    once o;
    o.rows = stored_count(dsn);
    o.distinct = mmdx_pgtest_count(dsn, "SELECT count(DISTINCT patient) FROM mmdx.predictions");
    o.store_events = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = "
                                            "'prediction.store'");
    o.conflicts = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = "
                                         "'prediction.conflict'");
    return o;
}

static int once_ok(const once *o, size_t n)
{
    return o->rows == (long long)n && o->distinct == o->rows && o->store_events == o->rows && o->conflicts == 0;
}

/* A screening run in the background, its stdout and stderr in files. */
typedef struct bg_run {
    pid_t pid;
    char out[4200], err[4200];
} bg_run;

static void bg_start(bg_run *b, const char *dsn, const char *extra, const char *tag)
{
    char cmd[16384], full[26000];
    snprintf(b->out, sizeof b->out, "%s/%s.json", tmp, tag);
    snprintf(b->err, sizeof b->err, "%s/%s.err", tmp, tag);
    screen_cmd(cmd, sizeof cmd, dsn, extra);
    snprintf(full, sizeof full, "exec %s > '%s' 2> '%s'", cmd, b->out, b->err);
    b->pid = start_background(full);
}

/* Wait for the run: its exit code (128 + signal when killed); its summary and stderr (malloc'd, may be NULL). */
static int bg_wait(bg_run *b, json_object **summary, char **err_text)
{
    int status;
    ck_assert_int_eq(waitpid(b->pid, &status, 0), b->pid);
    if (summary) {
        char *text = mmdx_test_read_file(b->out, NULL);
        *summary = text ? json_tokener_parse(text) : NULL;
        free(text);
    }
    if (err_text)
        *err_text = mmdx_test_read_file(b->err, NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Poll until the database holds at least n predictions (bounded: 60 s). */
static void wait_stored(const char *dsn, long long n)
{
    for (int i = 0; i < 6000 && stored_count(dsn) < n; i++)
        sleep_ms(10);
}

/* Poll until `path` contains `text` (bounded: 60 s); 1 when it does. */
static int wait_text(const char *path, const char *text)
{
    for (int i = 0; i < 600; i++) {
        char *t = mmdx_test_read_file(path, NULL);
        int found = t && strstr(t, text);
        free(t);
        if (found)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* A seeded generator (splitmix64) of numbers in [0, 1): the same kill moments on every machine. */
static double next_uniform(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ------------------------------------------------------------ row 2: crashes */

static void setup_crashes(void)
{
    mmdx_screen_runs_setup(CRASH_PATIENTS, 0.0);
    ck_assert_uint_eq(expected_screened, CRASH_PATIENTS);
}

START_TEST(sigkill_at_ten_seeded_moments_then_resume_stores_each_patient_once)
{
    const size_t n = expected_screened;
    char *ref_dsn = new_db("crash_ref"), *dsn = new_db("crash");
    char out[4200], partial[4300], ref_out[4200], extra[9000], ref_extra[9000];
    snprintf(out, sizeof out, "%s/crash.csv", tmp);
    snprintf(partial, sizeof partial, "%s.partial", out);
    snprintf(ref_out, sizeof ref_out, "%s/uninterrupted.csv", tmp);
    snprintf(extra, sizeof extra, "--batch %d --threads 1 --out '%s'", CRASH_BATCH, out);
    snprintf(ref_extra, sizeof ref_extra, "--batch %d --threads 1 --out '%s'", CRASH_BATCH, ref_out);

    /* Every stored batch takes 50 ms more (a trigger sleeping inside its transaction): a run lasts
     * seconds, and a kill lands as often inside a transaction as outside. */
    slow_batches(ref_dsn, 0.05);
    slow_batches(dsn, 0.05);
    /* One uninterrupted run scales the moments to this machine; a second one, with nothing left to
     * do, measures what every invocation spends before its first batch. */
    json_object *s;
    double t0 = mmdx_clock_seconds();
    ck_assert_int_eq(screen(ref_dsn, ref_extra, &s, NULL), 0);
    double full = mmdx_clock_seconds() - t0;
    ck_assert_int_eq(jint(s, "stored"), (long long)n);
    json_object_put(s);
    t0 = mmdx_clock_seconds();
    ck_assert_int_eq(screen(ref_dsn, ref_extra, &s, NULL), 0);
    double start = mmdx_clock_seconds() - t0;
    json_object_put(s);
    double work = full > start ? full - start : full;

    /* Ten moments of the run (fractions of its work), seeded and sorted. Invocation k is killed
     * once it has spent its start and the work from where the previous kills left the run to
     * moment k (at least a batch's worth, when a kill lost more than planned), or earlier (below). */
    uint64_t seed = 0x6d6d647831370000ULL;
    double at[CRASH_KILLS];
    for (int k = 0; k < CRASH_KILLS; k++)
        at[k] = 0.02 + 0.88 * next_uniform(&seed);
    qsort(at, CRASH_KILLS, sizeof at[0], cmp_double);
    int hits = 0, journal_ok = 1;
    size_t max_ahead = 0;
    for (int k = 0; k < CRASH_KILLS; k++) {
        double done = (double)stored_count(dsn) / (double)n, step = (double)CRASH_BATCH / (double)n;
        double delay = start + (at[k] - done > step ? at[k] - done : step) * work;
        bg_run b;
        char tag[32];
        snprintf(tag, sizeof tag, "kill%d", k);
        /* A machine slower or faster than during the measurement must not let a run finish before
         * its kill: whatever the clock says, it is killed while the batches the later kills need
         * are still to be stored. */
        long long cap = (long long)n - (long long)(CRASH_KILLS - k) * CRASH_BATCH;
        bg_start(&b, dsn, extra, tag);
        double began = mmdx_clock_seconds();
        int status, exited = 0;
        while (!(exited = waitpid(b.pid, &status, WNOHANG) == b.pid) && mmdx_clock_seconds() - began < delay &&
               stored_count(dsn) < cap)
            sleep_ms(5);
        delay = mmdx_clock_seconds() - began;
        if (!exited) {
            kill(b.pid, SIGKILL);
            hits += bg_wait(&b, NULL, NULL) == 128 + SIGKILL;
        }
        /* At any moment the journal (or, once written, the results file) holds only stored results,
         * and trails the database by at most the batch a kill cut between its commit and its
         * journal append. */
        agreement a = compare_journal(access(partial, F_OK) == 0 ? partial : out, dsn);
        journal_ok &= a.not_in_db == 0 && a.different == 0;
        max_ahead = a.db_ahead > max_ahead ? a.db_ahead : max_ahead;
        fprintf(stderr, "kill %d at %.2f s (moment %.2f of the run): %s, %zu stored, %zu journaled, database ahead "
                "by %zu\n", k + 1, delay, at[k], exited ? "the run had already finished" : "killed", a.db, a.journal,
                a.db_ahead);
    }
    fast_batches(dsn);

    /* The same command resumes and completes. */
    char *err = NULL;
    int rc = screen(dsn, extra, &s, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
    long long already = jint(s, "already_done"), dups = jint(s, "duplicates");
    json_object *v;
    int resumed = json_object_object_get_ex(s, "resumed", &v) && json_object_get_boolean(v);
    json_object_put(s);
    once o = stored_once(dsn);
    long long resumes = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'run.resume'");
    long long runs = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs");
    agreement fin = compare_journal(out, dsn);
    int partial_left = access(partial, F_OK) == 0;
    int verify = verify_exit(dsn);
    char *c = content(dsn), *ref = content(ref_dsn);
    char *csv = mmdx_test_read_file(out, NULL), *ref_csv = mmdx_test_read_file(ref_out, NULL);
    int same = c && ref && strcmp(c, ref) == 0 && csv && ref_csv && strcmp(csv, ref_csv) == 0;
    int journal_agrees = journal_ok && fin.journal == n && fin.db == n && fin.not_in_db == 0 && fin.different == 0 &&
                         !partial_left && max_ahead <= CRASH_BATCH;
    int pass = hits == CRASH_KILLS && resumed && resumes > 0 && runs == 1 && once_ok(&o, n) && journal_agrees && same &&
               verify == 0;
    mmdx_test_reliability(2, "screen: SIGKILL at 10 seeded moments, resumed each time", pass,
                          "%d/%d kills mid-run, %lld resumes (run.resume), %lld/%zu stored, %lld duplicates, journal %s database "
                          "(ahead by at most %zu, batch %d), same as an uninterrupted run: %s, verify exit %d",
                          hits, CRASH_KILLS, resumes, o.distinct, n, o.rows - o.distinct,
                          journal_agrees ? "=" : "!=", max_ahead, CRASH_BATCH, same ? "yes" : "no", verify);
    fprintf(stderr, "crash run: uninterrupted %.2f s (start %.2f s); final resume: %lld already done, %lld replayed "
            "batches' patients recognised as stored\n", full, start, already, dups);
    ck_assert_int_eq(hits, CRASH_KILLS);
    ck_assert(resumed);
    ck_assert_int_gt(resumes, 0);
    ck_assert_int_eq(runs, 1);
    ck_assert(once_ok(&o, n));
    ck_assert(journal_agrees);
    ck_assert(same);
    ck_assert_int_eq(verify, 0);
    free(c), free(ref), free(csv), free(ref_csv);
    free(dsn);
    free(ref_dsn);
}
END_TEST

/* ------------------------------------------------------ row 3: database faults */

static void setup_faults(void)
{
    mmdx_pgtest_private_begin();
    mmdx_screen_runs_setup(FAULT_PATIENTS, 0.2);
}

static void teardown_faults(void)
{
    mmdx_screen_runs_teardown();
    mmdx_pgtest_private_end();
}

/* The exit code of a complete run over this cohort: 3, its CT-only patients being listed. */
static int complete_exit(void) { return expected_screened < (size_t)n_patients ? 3 : 0; }

/* What every fault case ends with: stored once, the same content as an uninterrupted run, a rerun
 * that resumes and has nothing left to store, audit verify. */
typedef struct outcome {
    once o;
    int same, rerun_rc, verify;
    long long rerun_stored, rerun_already;
} outcome;

static outcome after_fault(const char *dsn, const char *extra)
{
    outcome r;
    const char *ref = reference_content();
    r.o = stored_once(dsn);
    char *c = content(dsn);
    r.same = c && strcmp(c, ref) == 0;
    free(c);
    json_object *s;
    r.rerun_rc = screen(dsn, extra, &s, NULL);
    r.rerun_stored = jint(s, "stored");
    r.rerun_already = jint(s, "already_done");
    json_object_put(s);
    r.verify = verify_exit(dsn);
    return r;
}

static int outcome_ok(const outcome *r)
{
    return once_ok(&r->o, expected_screened) && r->same && r->rerun_rc == complete_exit() && r->rerun_stored == 0 &&
           r->rerun_already == (long long)expected_screened && r->verify == 0;
}

static void assert_outcome(const outcome *r)
{
    ck_assert(once_ok(&r->o, expected_screened));
    ck_assert(r->same);
    ck_assert_int_eq(r->rerun_rc, complete_exit());
    ck_assert_int_eq(r->rerun_stored, 0);
    ck_assert_int_eq(r->rerun_already, (long long)expected_screened);
    ck_assert_int_eq(r->verify, 0);
}

#define FAULT_RUN "--batch 2 --threads 1 --db-wait 60"

/* A new database whose batches take 0.2 s more, and a run into it in the background, already past
 * its first batches (4 patients stored) when this returns; the database's DSN (malloc'd). */
static char *run_slowly(bg_run *b, const char *name, const char *extra)
{
    char *dsn = new_db(name);
    slow_batches(dsn, 0.2);
    bg_start(b, dsn, extra, name);
    wait_stored(dsn, 4);
    return dsn;
}

START_TEST(postgres_stopped_mid_run_then_started_the_run_waits_and_continues)
{
    bg_run b;
    char *dsn = run_slowly(&b, "fault_stop", FAULT_RUN);
    long long before = stored_count(dsn);
    double t0 = mmdx_clock_seconds();
    mmdx_pgtest_private_stop();
    sleep_ms(6000);
    mmdx_pgtest_private_start();
    double outage = mmdx_clock_seconds() - t0;
    json_object *s;
    char *err;
    int rc = bg_wait(&b, &s, &err);
    ck_assert_msg(s != NULL, "no summary: %s", err);
    long long pauses = jint(s, "database_pauses");
    json_object_put(s);
    int said = err && strstr(err, "database unavailable, unreachable") && strstr(err, "retrying in");
    fast_batches(dsn);
    outcome r = after_fault(dsn, FAULT_RUN);
    int pass = rc == complete_exit() && pauses > 0 && said && before < (long long)expected_screened && outcome_ok(&r);
    mmdx_test_reliability(3, "PostgreSQL stopped mid-run, started again", pass,
                          "down %.1f s after %lld of %zu stored: the run waited (%lld pauses, stderr %s) and "
                          "completed, exit %d; %lld/%zu stored once; rerun: %lld already done; verify exit %d",
                          outage, before, expected_screened, pauses, said ? "says so" : "silent", rc, r.o.distinct,
                          expected_screened, r.rerun_already, r.verify);
    ck_assert_msg(rc == complete_exit(), "exit %d: %s", rc, err);
    ck_assert_msg(said, "%s", err);
    ck_assert_int_gt(pauses, 0);
    ck_assert_int_lt(before, (long long)expected_screened);
    assert_outcome(&r);
    free(err);
    free(dsn);
}
END_TEST

START_TEST(sessions_cut_by_pg_terminate_backend_are_replayed)
{
    bg_run b;
    char *dsn = run_slowly(&b, "fault_term", FAULT_RUN);
    /* Three cuts, each once two more patients are stored: mid-transaction (the trigger sleeps
     * inside it) or between two, wherever the run is. */
    long long cut = 0, at = 0;
    for (int i = 0; i < 3; i++) {
        wait_stored(dsn, at + 2 < (long long)expected_screened ? at + 2 : (long long)expected_screened);
        at = stored_count(dsn);
        cut += mmdx_pgtest_count(dsn, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM "
                                      "pg_stat_activity WHERE datname = current_database() AND application_name = "
                                      "'mmdx' AND pid <> pg_backend_pid()");
    }
    json_object *s;
    char *err;
    int rc = bg_wait(&b, &s, &err);
    ck_assert_msg(s != NULL, "no summary: %s", err);
    long long again = jint(s, "database_reconnections") + jint(s, "database_pauses");
    json_object_put(s);
    int said = err && (strstr(err, "reconnected and replayed") || strstr(err, "database unavailable, unreachable"));
    fast_batches(dsn);
    outcome r = after_fault(dsn, FAULT_RUN);
    int pass = rc == complete_exit() && cut > 0 && again >= cut && said && outcome_ok(&r);
    mmdx_test_reliability(3, "screening session cut by pg_terminate_backend", pass,
                          "%lld sessions cut: %lld reconnections or pauses (stderr %s), exit %d; %lld/%zu stored "
                          "once; rerun: %lld already done; verify exit %d",
                          cut, again, said ? "says so" : "silent", rc, r.o.distinct, expected_screened,
                          r.rerun_already, r.verify);
    ck_assert_msg(rc == complete_exit(), "exit %d: %s", rc, err);
    ck_assert_int_gt(cut, 0);
    ck_assert_int_ge(again, cut);
    ck_assert_msg(said, "%s", err);
    assert_outcome(&r);
    free(err);
    free(dsn);
}
END_TEST

/* default_transaction_read_only for every session of the server, the running ones included. */
static void read_only(int on)
{
    /* the admin's own session must be writable to undo it */
    char *admin = mmdx_pgtest_admin_dsn(NULL), *dsn = mmdx_test_strf("%s options='-c default_transaction_read_only=off'",
                                                                      admin);
    mmdx_pgtest_exec(dsn, on ? "ALTER SYSTEM SET default_transaction_read_only = on"
                             : "ALTER SYSTEM RESET default_transaction_read_only");
    mmdx_pgtest_exec(dsn, "SELECT pg_reload_conf()");
    free(dsn);
    free(admin);
}

START_TEST(read_only_database_the_run_waits_or_stops_cleanly_and_resumes)
{
    /* For a few seconds: the run waits, saying why, and continues. */
    bg_run b;
    char *dsn = run_slowly(&b, "fault_ro", FAULT_RUN);
    read_only(1);
    int said = wait_text(b.err, "database unavailable, read-only");
    read_only(0);
    json_object *s;
    char *err;
    int rc = bg_wait(&b, &s, &err);
    ck_assert_msg(s != NULL, "no summary: %s", err);
    long long pauses = jint(s, "database_pauses");
    json_object_put(s);
    said = said && err && strstr(err, "SQLSTATE 25006") && strstr(err, "retrying in");
    fast_batches(dsn);
    outcome r = after_fault(dsn, FAULT_RUN);
    int pass = rc == complete_exit() && pauses > 0 && said && outcome_ok(&r);
    mmdx_test_reliability(3, "read-only for a few seconds mid-run (default_transaction_read_only)", pass,
                          "the run waited (%lld pauses, stderr %s) and completed, exit %d; %lld/%zu stored once; "
                          "rerun: %lld already done; verify exit %d",
                          pauses, said ? "names read-only" : "unclear", rc, r.o.distinct, expected_screened,
                          r.rerun_already, r.verify);
    ck_assert_msg(rc == complete_exit(), "exit %d: %s", rc, err);
    ck_assert_msg(said, "%s", err);
    ck_assert_int_gt(pauses, 0);
    assert_outcome(&r);
    free(err);
    free(dsn);

    /* For longer than --db-wait: the run stops, exit 1, saying to run it again; which then completes. */
    dsn = run_slowly(&b, "fault_ro_long", "--batch 2 --threads 1 --db-wait 3");
    read_only(1);
    rc = bg_wait(&b, &s, &err);
    json_object_put(s);
    long long kept = stored_count(dsn);
    read_only(0);
    int clear = err && strstr(err, "stayed unavailable (read-only, refusing writes)") &&
                strstr(err, "run the same command again to resume");
    fast_batches(dsn);
    once o = stored_once(dsn);
    json_object *again;
    int rerun = screen(dsn, FAULT_RUN, &again, NULL);
    long long resumed_stored = jint(again, "stored"), resumed_already = jint(again, "already_done");
    json_object_put(again);
    once fin = stored_once(dsn);
    int verify = verify_exit(dsn);
    char *c = content(dsn);
    int same = c && strcmp(c, reference_content()) == 0;
    free(c);
    pass = rc == 1 && clear && kept < (long long)expected_screened && once_ok(&o, (size_t)kept) &&
           rerun == complete_exit() && resumed_already == kept && once_ok(&fin, expected_screened) && same &&
           verify == 0;
    mmdx_test_reliability(3, "read-only for longer than --db-wait", pass,
                          "exit %d after --db-wait 3 (message %s), %lld kept stored once; rerun resumed: %lld already "
                          "done + %lld stored = %lld/%zu once, exit %d; verify exit %d",
                          rc, clear ? "clear" : "unclear", kept, resumed_already, resumed_stored, fin.distinct,
                          expected_screened, rerun, verify);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, err);
    ck_assert_msg(clear, "%s", err);
    ck_assert_int_lt(kept, (long long)expected_screened);
    ck_assert(once_ok(&o, (size_t)kept));
    ck_assert_int_eq(rerun, complete_exit());
    ck_assert_int_eq(resumed_already, kept);
    ck_assert(once_ok(&fin, expected_screened));
    ck_assert(same);
    ck_assert_int_eq(verify, 0);
    free(err);
    free(dsn);
}
END_TEST

int main(void)
{
    mmdx_pgtest_state_dir(); /* here, not inside the forked tests: exit 77 must reach ctest */
    Suite *s = suite_create("screen_faults");
    TCase *crash = tcase_create("crashes");
    tcase_add_unchecked_fixture(crash, setup_crashes, mmdx_screen_runs_teardown);
    tcase_set_timeout(crash, 300);
    tcase_add_test(crash, sigkill_at_ten_seeded_moments_then_resume_stores_each_patient_once);
    suite_add_tcase(s, crash);
    TCase *db = tcase_create("database_faults");
    tcase_add_unchecked_fixture(db, setup_faults, teardown_faults);
    tcase_set_timeout(db, 300);
    tcase_add_test(db, postgres_stopped_mid_run_then_started_the_run_waits_and_continues);
    tcase_add_test(db, sessions_cut_by_pg_terminate_backend_are_replayed);
    tcase_add_test(db, read_only_database_the_run_waits_or_stops_cleanly_and_resumes);
    suite_add_tcase(s, db);
    return mmdx_test_run_suite(s);
}
