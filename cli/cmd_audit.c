/* SPDX-License-Identifier: Apache-2.0 */
/* mmdx audit: verify, log, export, checkpoint, prove, keygen. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include "atna.h"
#include "checkpoint.h"
#include "atomic_file.h"
#include "cli.h"
#include "error.h"
#include "hash.h"
#include "merkle.h"
#include "progress.h"
#include "site_settings.h"
#include "verify_site.h"
#include "store.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx audit verify [--checkpoint F]... [--verify-key PEM] [--require-hmac]\n"
            "       mmdx audit log [--patient ID] [--run R] [--actor A] [--action A]\n"
            "                      [--since T] [--until T] [--json | --csv]\n"
            "       mmdx audit export --since T --until T [--out FILE] [--site-id S]\n"
            "       mmdx audit checkpoint [--signing-key PEM] [--out FILE | --dir D] [--syslog]\n"
            "       mmdx audit prove SEQ [--size N | --checkpoint F]\n"
            "       mmdx audit prove --consistency M [--size N]\n"
            "       mmdx audit keygen --out PEM [--pub PUB]\n"
            "       mmdx audit serve --listen A:P --tls-cert PEM --tls-key PEM  (see mmdx audit serve --help)\n"
            "\n"
            "verify      walk the whole hash chain (and HMACs with the site key), check every run\n"
            "            and prediction against its event, and check earlier signed checkpoints\n"
            "            (the log must only have grown: RFC 6962 consistency). Exit 0 when intact,\n"
            "            4 when not, naming the first broken sequence number and what differs.\n"
            "log         list events for review; T is an ISO 8601 time (UTC unless it has an\n"
            "            offset), --since inclusive, --until exclusive. --patient takes the raw ID;\n"
            "            with the site key it also finds its pseudonym.\n"
            "export      write events as DICOM audit messages (PS3.15 A.5, IHE ATNA), one\n"
            "            <AuditMessage> per line, for the hospital's audit repository.\n"
            "checkpoint  sign the current Merkle tree head (size, root, time) with an Ed25519 key\n"
            "            and write it outside the database: stdout, --out FILE, --dir D, --syslog.\n"
            "prove       print the inclusion proof of event SEQ, or a consistency proof.\n"
            "keygen      create an Ed25519 key pair for checkpoints (private key mode 0600).\n"
            "serve       review the log in a browser over HTTPS, logged in as your own reviewer role.\n"
            "\n"
            "Every verify, log, export, checkpoint and prove is itself recorded in the log.\n"
            "\n"
            "Options:\n"
            "  --db CONNINFO      libpq connection string or URI (else [audit] db, $MMDX_DB, PG*)\n"
            "  --config F         site configuration ([audit] section)\n"
            "  --site-key F       site key file (else $MMDX_SITE_KEY, else [audit] site_key_file)\n"
            "  --signing-key PEM  Ed25519 private key (else [audit] signing_key)\n"
            "  --verify-key PEM   Ed25519 public key (else [audit] verify_key)\n"
            "  --checkpoint F     an earlier checkpoint (repeatable; verify also reads every\n"
            "                     *.checkpoint in [audit] checkpoint_dir)\n"
            "  --json             machine-readable output\n"
            "\n"
            "Exit codes: 0 ok, 1 database or I/O failure, 2 bad usage, 3 bad input,\n"
            "4 integrity check failed.\n");
}

typedef struct args {
    const char *db, *config, *site_key, *signing_key, *verify_key, *out, *dir, *pub;
    const char *patient, *run, *actor, *action, *since, *until, *site_id, *size, *consistency;
    const char **checkpoints;
    size_t n_checkpoints;
    int json, csv, require_hmac, use_syslog;
} args;

/* Accept what PostgreSQL parses as an ISO 8601 timestamp, refuse anything else early. */
static int check_time(const char *opt, const char *t)
{
    int y, mo, d;
    char rest[64];
    rest[0] = '\0';
    int n = sscanf(t, "%4d-%2d-%2d%63s", &y, &mo, &d, rest);
    int ok = n >= 3 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && strlen(t) >= 10 && t[4] == '-' && t[7] == '-';
    for (const char *p = t + 10; ok && *p; p++)
        ok = strchr("0123456789:.+-TZ ", *p) != NULL;
    if (!ok) {
        fprintf(stderr, "mmdx audit: %s \"%s\" is not an ISO 8601 time (e.g. 2026-01-31 or 2026-01-31T08:00:00Z)\n",
                opt, t);
        return -1;
    }
    return 0;
}

static const char *outcome_name(int o)
{
    switch (o) {
    case 0: return "success";
    case 4: return "minor-failure";
    case 8: return "serious-failure";
    default: return "major-failure";
    }
}

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Record a review; a reviewer must not be able to look without leaving a trace. */
static int record(mmdx_store *s, const char *action, int outcome, json_object *detail)
{
    mmdx_audit_event e = {0};
    e.action = action;
    e.outcome = outcome;
    e.object_type = "audit-log";
    e.detail_json = detail ? json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN) : NULL;
    return mmdx_store_audit(s, &e, NULL);
}

/* ---- verify ---- */

typedef struct progress_ctx {
    mmdx_progress *p;
    int64_t shown;
} progress_ctx;

static void on_progress(void *ctx, int64_t done, int64_t total)
{
    progress_ctx *pc = ctx;
    if (!pc->p)
        pc->p = mmdx_progress_new("verify events", (size_t)(total > 0 ? total : 0), stderr);
    for (; pc->shown < done && pc->shown < total; pc->shown++)
        mmdx_progress_step(pc->p, 0);
}

static int cmd_verify(mmdx_store *s, const args *a, const mmdx_audit_settings *set)
{
    progress_ctx pc = {NULL, 0};
    mmdx_site_verify_options o = {0};
    o.site = set;
    o.checkpoints = a->checkpoints;
    o.n_checkpoints = a->n_checkpoints;
    o.require_hmac = a->require_hmac;
    o.progress = a->json ? NULL : on_progress;
    o.progress_ctx = &pc;
    mmdx_site_verify_result *res = calloc(1, sizeof *res);
    if (!res)
        return mmdx_cli_report("audit verify", mmdx_fail(MMDX_ENOMEM, "out of memory"));
    int verdict = mmdx_audit_verify_site(s, &o, res);
    mmdx_progress_free(pc.p);
    const mmdx_verify_report *r = &res->report;
    int rc;
    if (res->walked) {
        char root[65];
        mmdx_hex(r->root, 32, root);
        if (a->json) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "intact", json_object_new_boolean(verdict == 0));
            json_object_object_add(j, "events", json_object_new_int64(r->n_events));
            json_object_object_add(j, "runs", json_object_new_int64(r->n_runs));
            json_object_object_add(j, "predictions", json_object_new_int64(r->n_predictions));
            json_object_object_add(j, "hmacs_verified", json_object_new_boolean(res->hmacs_checked));
            json_object_object_add(j, "hmacs_checked", json_object_new_int64(r->n_hmac_checked));
            json_object_object_add(j, "events_without_hmac", json_object_new_int64(r->n_unkeyed));
            json_object_object_add(j, "hmac_required", json_object_new_boolean(a->require_hmac));
            json_object *nc = json_object_new_array();
            if (!res->hmacs_checked)
                json_object_array_add(nc, json_object_new_string("hmac"));
            if (!r->n_checkpoints)
                json_object_array_add(nc, json_object_new_string("tail-truncation"));
            json_object_object_add(j, "not_checked", nc);
            json_object_object_add(j, "checkpoints", json_object_new_int64(r->n_checkpoints));
            json_object_object_add(j, "tree_size", json_object_new_int64(r->n_events));
            json_object_object_add(j, "root", json_object_new_string(root));
            json_object_object_add(j, "first_broken_seq", verdict ? json_object_new_int64(r->first_bad_seq) : NULL);
            json_object *pl = json_object_new_array();
            for (size_t i = 0; i < r->n_problems && i < MMDX_VERIFY_MAX_PROBLEMS; i++) {
                json_object *p = json_object_new_object();
                json_object_object_add(p, "seq", json_object_new_int64(r->problems[i].seq));
                json_object_object_add(p, "message", json_object_new_string(r->problems[i].message));
                json_object_array_add(pl, p);
            }
            json_object_object_add(j, "problems", pl);
            mmdx_cli_print_json(j);
            json_object_put(j);
        } else if (verdict == 0) {
            printf("The audit log is intact: %lld events, %lld runs, %lld predictions", (long long)r->n_events,
                   (long long)r->n_runs, (long long)r->n_predictions);
            if (r->n_hmac_checked)
                printf(", %lld HMACs", (long long)r->n_hmac_checked);
            if (r->n_checkpoints)
                printf(", consistent with %lld checkpoint%s", (long long)r->n_checkpoints,
                       r->n_checkpoints == 1 ? "" : "s");
            printf(".\nTree head: size %lld, root %s\n", (long long)r->n_events, root);
            if (!res->hmacs_checked)
                printf("Not checked: the events' HMACs (no site key was given, so the chain shows the events "
                       "were not changed, but not that they were written by a holder of the site key; give "
                       "--site-key, and --require-hmac to also require one on every event).\n");
            else if (r->n_unkeyed)
                printf("Note: %lld events carry no HMAC (written without the site key)%s.\n",
                       (long long)r->n_unkeyed, a->require_hmac ? "" : "; --require-hmac refuses that");
            if (!r->n_checkpoints)
                printf("Not checked: that no events were cut off the end of the log (that needs a checkpoint "
                       "kept outside the database: mmdx audit checkpoint, then --checkpoint F).\n");
        } else {
            printf("The audit log is NOT intact: first broken link at sequence number %lld.\n",
                   (long long)r->first_bad_seq);
            for (size_t i = 0; i < r->n_problems && i < MMDX_VERIFY_MAX_PROBLEMS; i++)
                printf("  seq %lld: %s\n", (long long)r->problems[i].seq, r->problems[i].message);
            if (r->n_problems > MMDX_VERIFY_MAX_PROBLEMS)
                printf("  ... and %zu more problems\n", r->n_problems - MMDX_VERIFY_MAX_PROBLEMS);
        }
        rc = verdict == 0 ? MMDX_EXIT_OK : MMDX_EXIT_INTEGRITY;
    } else {
        rc = mmdx_cli_report("audit verify", verdict);
    }
    if ((res->walked || res->checkpoint_rejected) && !res->recorded)
        fprintf(stderr, "mmdx audit verify: warning: the verification could not be recorded: %s\n",
                res->record_error);
    free(res);
    return rc;
}

/* ---- log ---- */

typedef struct log_out {
    const args *a;
    size_t n;
    FILE *f;
} log_out;

static void csv_cell(FILE *f, const char *s, int last)
{
    if (s) {
        if (strpbrk(s, ",\"\r\n")) {
            fputc('"', f);
            for (const char *p = s; *p; p++) {
                if (*p == '"')
                    fputc('"', f);
                fputc(*p, f);
            }
            fputc('"', f);
        } else {
            fputs(s, f);
        }
    }
    fputc(last ? '\n' : ',', f);
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static int print_event(void *ctx, const mmdx_audit_row *e)
{
    log_out *o = ctx;
    FILE *f = o->f;
    if (o->a->json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "seq", json_object_new_int64(e->seq));
        json_object_object_add(j, "time", jstr(e->time));
        json_object_object_add(j, "db_role", jstr(e->db_role));
        json_object_object_add(j, "os_user", jstr(e->os_user));
        json_object_object_add(j, "host", jstr(e->host));
        json_object_object_add(j, "action", jstr(e->action));
        json_object_object_add(j, "outcome", json_object_new_string(outcome_name(e->outcome)));
        json_object_object_add(j, "outcome_code", json_object_new_int(e->outcome));
        json_object_object_add(j, "object_type", jstr(e->object_type));
        json_object_object_add(j, "object_id", jstr(e->object_id));
        json_object_object_add(j, "patient", jstr(e->patient));
        json_object_object_add(j, "study_uid", jstr(e->study_uid));
        json_object_object_add(j, "run_id", jstr(e->run_id));
        json_object_object_add(j, "detail", e->detail ? json_tokener_parse(e->detail) : NULL);
        fprintf(f, "%s\n  %s", o->n ? "," : "[",
                json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else if (o->a->csv) {
        char seq[24], oc[8];
        snprintf(seq, sizeof seq, "%lld", (long long)e->seq);
        snprintf(oc, sizeof oc, "%d", e->outcome);
        csv_cell(f, seq, 0);
        csv_cell(f, e->time, 0);
        csv_cell(f, e->db_role, 0);
        csv_cell(f, e->os_user, 0);
        csv_cell(f, e->host, 0);
        csv_cell(f, e->action, 0);
        csv_cell(f, outcome_name(e->outcome), 0);
        csv_cell(f, e->object_type, 0);
        csv_cell(f, e->object_id, 0);
        csv_cell(f, e->patient, 0);
        csv_cell(f, e->study_uid, 0);
        csv_cell(f, e->run_id, 0);
        csv_cell(f, e->detail, 1);
    } else {
        /* One line per event for people: who, what, how it ended, about whom; then the detail. */
        char who[300];
        snprintf(who, sizeof who, "%s (%s@%s)", e->db_role ? e->db_role : "?", e->os_user ? e->os_user : "?",
                 e->host ? e->host : "?");
        fprintf(f, "%6lld  %.19sZ  %-32s %-20s %-15s%s%s%s%.8s\n", (long long)e->seq, e->time, who,
                e->action ? e->action : "", outcome_name(e->outcome), e->patient ? "  patient " : "",
                e->patient ? e->patient : "", e->run_id ? "  run " : "", e->run_id ? e->run_id : "");
        if (e->detail && strcmp(e->detail, "{}") != 0)
            fprintf(f, "        %s\n", e->detail);
    }
    o->n++;
    return 0;
}

static json_object *filter_json(const args *a)
{
    json_object *d = json_object_new_object();
    /* The patient filter is recorded as given (an ID the reviewer typed), as it is the patient concerned. */
    if (a->run)
        json_object_object_add(d, "run", json_object_new_string(a->run));
    if (a->actor)
        json_object_object_add(d, "actor", json_object_new_string(a->actor));
    if (a->action)
        json_object_object_add(d, "action", json_object_new_string(a->action));
    if (a->since)
        json_object_object_add(d, "since", json_object_new_string(a->since));
    if (a->until)
        json_object_object_add(d, "until", json_object_new_string(a->until));
    return d;
}

static int record_patient_review(mmdx_store *s, const char *action, const args *a, int outcome)
{
    json_object *d = filter_json(a);
    mmdx_audit_event e = {0};
    e.action = action;
    e.outcome = outcome;
    e.object_type = "audit-log";
    e.patient_id = a->patient;
    e.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
    int rc = mmdx_store_audit(s, &e, NULL);
    json_object_put(d);
    return rc;
}

static int cmd_log(mmdx_store *s, const args *a)
{
    /* Recorded before anything is shown. */
    int rc = record_patient_review(s, "audit.log", a, MMDX_OUTCOME_SUCCESS);
    if (rc < 0)
        return mmdx_cli_report("audit log", rc);
    mmdx_audit_filter f = {a->patient, a->run, a->actor, a->since, a->until, a->action};
    log_out o = {a, 0, stdout};
    if (a->csv)
        printf("seq,time,db_role,os_user,host,action,outcome,object_type,object_id,patient,study_uid,run_id,detail\n");
    rc = mmdx_store_audit_query(s, &f, print_event, &o);
    if (a->json)
        printf("%s\n", o.n ? "\n]" : "[]");
    if (rc < 0)
        return mmdx_cli_report("audit log", rc);
    if (!a->json && !a->csv)
        fprintf(stderr, "%zu event%s\n", o.n, o.n == 1 ? "" : "s");
    return MMDX_EXIT_OK;
}

/* ---- export ---- */

static int cmd_export(mmdx_store *s, const args *a, const mmdx_audit_settings *set)
{
    mmdx_atomic_file af = {0};
    int rc = mmdx_atomic_file_open(&af, a->out);
    if (rc < 0)
        return mmdx_cli_report("audit export", rc);
    mmdx_audit_filter flt = {a->patient, a->run, a->actor, a->since, a->until, a->action};
    size_t n = 0;
    rc = mmdx_atna_export(s, &flt, set->site_id, af.f, &n);
    if (rc == 0)
        rc = mmdx_atomic_file_commit(&af);
    else
        mmdx_atomic_file_abort(&af);
    int rec = mmdx_atna_record_export(s, &flt, n, rc == 0);
    if (rc < 0)
        return mmdx_cli_report("audit export", rc);
    if (rec < 0)
        return mmdx_cli_report("audit export", rec);
    if (a->out)
        fprintf(stderr, "%zu audit message%s written to %s\n", n, n == 1 ? "" : "s", a->out);
    return MMDX_EXIT_OK;
}

/* ---- checkpoint ---- */

static int write_file_atomic(const char *path, const char *text)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc < 0)
        return rc;
    if (fputs(text, af.f) < 0) {
        mmdx_atomic_file_abort(&af);
        return mmdx_fail(MMDX_EIO, "%s: write error", path);
    }
    return mmdx_atomic_file_commit(&af);
}

static int cmd_checkpoint(mmdx_store *s, const args *a, const mmdx_audit_settings *set)
{
    const char *key = set->signing_key;
    if (!key)
        return mmdx_cli_report("audit checkpoint",
                               mmdx_fail(MMDX_EINVAL, "a checkpoint needs the Ed25519 signing key "
                                                      "(--signing-key or [audit] signing_key; "
                                                      "mmdx audit keygen makes one)"));
    const char *dir = a->dir ? a->dir : (a->out ? NULL : set->checkpoint_dir);
    mmdx_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    const char *origin;
    int rc = mmdx_store_log_origin(s, &origin);
    if (rc == 0) {
        snprintf(cp.origin, sizeof cp.origin, "%s", origin);
        rc = mmdx_store_tree_head(s, &cp.size, cp.root);
    }
    cp.time_us = now_us();
    if (rc == 0)
        rc = mmdx_checkpoint_sign(&cp, key);
    char *text = NULL;
    if (rc == 0)
        rc = mmdx_checkpoint_format(&cp, &text);
    char path[4096] = "";
    if (rc == 0 && (a->out || dir)) {
        if (a->out)
            snprintf(path, sizeof path, "%s", a->out);
        else
            snprintf(path, sizeof path, "%s/%020llu-%lld.checkpoint", dir, (unsigned long long)cp.size,
                     (long long)cp.time_us);
        rc = write_file_atomic(path, text);
    }
    if (rc < 0) {
        free(text);
        return mmdx_cli_report("audit checkpoint", rc);
    }
    char root[65];
    mmdx_hex(cp.root, 32, root);
    if (a->use_syslog) {
        char sig[129];
        mmdx_hex(cp.signature, 64, sig);
        openlog("mmdx-audit", LOG_PID, LOG_AUTHPRIV);
        syslog(LOG_NOTICE, "checkpoint origin=%s size=%llu root=%s time_us=%lld key=%s signature=%s", cp.origin,
               (unsigned long long)cp.size, root, (long long)cp.time_us, cp.key_id, sig);
        closelog();
    }
    if (a->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "origin", json_object_new_string(cp.origin));
        json_object_object_add(o, "size", json_object_new_int64((int64_t)cp.size));
        json_object_object_add(o, "root", json_object_new_string(root));
        json_object_object_add(o, "time_us", json_object_new_int64(cp.time_us));
        json_object_object_add(o, "key", json_object_new_string(cp.key_id));
        json_object_object_add(o, "file", path[0] ? json_object_new_string(path) : NULL);
        json_object_object_add(o, "checkpoint", json_object_new_string(text));
        mmdx_cli_print_json(o);
        json_object_put(o);
    } else if (!path[0]) {
        fputs(text, stdout);
    } else {
        fprintf(stderr, "checkpoint of %llu events written to %s\n", (unsigned long long)cp.size, path);
    }
    /* The checkpoint event follows the tree it signs, so it is covered by the next one. */
    json_object *d = json_object_new_object();
    json_object_object_add(d, "size", json_object_new_int64((int64_t)cp.size));
    json_object_object_add(d, "root", json_object_new_string(root));
    json_object_object_add(d, "key", json_object_new_string(cp.key_id));
    rc = record(s, "audit.checkpoint", MMDX_OUTCOME_SUCCESS, d);
    json_object_put(d);
    free(text);
    if (rc < 0)
        return mmdx_cli_report("audit checkpoint", rc);
    return MMDX_EXIT_OK;
}

/* ---- prove ---- */

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || *s == '-')
        return -1;
    *v = x;
    return 0;
}

static void print_hashes(json_object *arr, uint8_t (*h)[32], size_t n, int json)
{
    for (size_t i = 0; i < n; i++) {
        char hex[65];
        mmdx_hex(h[i], 32, hex);
        if (json)
            json_object_array_add(arr, json_object_new_string(hex));
        else
            printf("  %s\n", hex);
    }
}

static int cmd_prove(mmdx_store *s, const args *a, const char *seq_arg)
{
    uint64_t size = 0;
    if (a->size && parse_u64(a->size, &size) < 0) {
        fprintf(stderr, "mmdx audit prove: --size \"%s\" is not a number\n", a->size);
        return MMDX_EXIT_USAGE;
    }
    if (a->n_checkpoints) {
        mmdx_checkpoint cp;
        int rc = mmdx_checkpoint_load(&cp, a->checkpoints[0]);
        if (rc < 0)
            return mmdx_cli_report("audit prove", rc);
        size = cp.size;
    }
    uint8_t(*proof)[32] = NULL;
    size_t np = 0;
    int rc;
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    if (a->consistency) {
        uint64_t m;
        if (parse_u64(a->consistency, &m) < 0) {
            fprintf(stderr, "mmdx audit prove: --consistency \"%s\" is not a number\n", a->consistency);
            json_object_put(o);
            json_object_put(arr);
            return MMDX_EXIT_USAGE;
        }
        uint8_t rm[32], rn[32];
        rc = mmdx_store_prove_consistency(s, m, &size, rm, rn, &proof, &np);
        if (rc == 0) {
            char hm[65], hn[65];
            mmdx_hex(rm, 32, hm);
            mmdx_hex(rn, 32, hn);
            if (a->json) {
                json_object_object_add(o, "old_size", json_object_new_int64((int64_t)m));
                json_object_object_add(o, "old_root", json_object_new_string(hm));
                json_object_object_add(o, "new_size", json_object_new_int64((int64_t)size));
                json_object_object_add(o, "new_root", json_object_new_string(hn));
            } else {
                printf("consistency proof (RFC 6962)\nold size %llu\nold root %s\nnew size %llu\nnew root %s\nproof (%zu hashes)\n",
                       (unsigned long long)m, hm, (unsigned long long)size, hn, np);
            }
        }
    } else {
        uint64_t seq;
        if (!seq_arg || parse_u64(seq_arg, &seq) < 0 || seq == 0) {
            fprintf(stderr, "mmdx audit prove: give a sequence number (1, 2, ...) or --consistency M\n");
            json_object_put(o);
            json_object_put(arr);
            return MMDX_EXIT_USAGE;
        }
        uint8_t leaf[32], root[32];
        rc = mmdx_store_prove_inclusion(s, (int64_t)seq, &size, leaf, root, &proof, &np);
        if (rc == 0) {
            char hl[65], hr[65];
            mmdx_hex(leaf, 32, hl);
            mmdx_hex(root, 32, hr);
            if (a->json) {
                json_object_object_add(o, "seq", json_object_new_int64((int64_t)seq));
                json_object_object_add(o, "leaf_index", json_object_new_int64((int64_t)seq - 1));
                json_object_object_add(o, "leaf_hash", json_object_new_string(hl));
                json_object_object_add(o, "tree_size", json_object_new_int64((int64_t)size));
                json_object_object_add(o, "root", json_object_new_string(hr));
            } else {
                printf("inclusion proof (RFC 6962) of event %llu\nleaf index %llu\nleaf hash %s\ntree size %llu\nroot %s\npath (%zu hashes)\n",
                       (unsigned long long)seq, (unsigned long long)seq - 1, hl, (unsigned long long)size, hr, np);
            }
        }
    }
    if (rc == 0) {
        print_hashes(arr, proof, np, a->json);
        if (a->json) {
            json_object_object_add(o, "proof", json_object_get(arr));
            mmdx_cli_print_json(o);
        }
        json_object *d = json_object_new_object();
        json_object_object_add(d, "tree_size", json_object_new_int64((int64_t)size));
        if (a->consistency)
            json_object_object_add(d, "consistency_from", json_object_new_string(a->consistency));
        else
            json_object_object_add(d, "seq", json_object_new_string(seq_arg));
        rc = record(s, "audit.prove", MMDX_OUTCOME_SUCCESS, d);
        json_object_put(d);
    }
    free(proof);
    json_object_put(o);
    json_object_put(arr);
    if (rc < 0)
        return mmdx_cli_report("audit prove", rc);
    return MMDX_EXIT_OK;
}

int mmdx_cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},          {"config", required_argument, NULL, 'c'},
        {"site-key", required_argument, NULL, 'k'},    {"signing-key", required_argument, NULL, 'S'},
        {"verify-key", required_argument, NULL, 'V'},  {"checkpoint", required_argument, NULL, 'C'},
        {"out", required_argument, NULL, 'o'},         {"dir", required_argument, NULL, 'D'},
        {"pub", required_argument, NULL, 'P'},         {"patient", required_argument, NULL, 'p'},
        {"run", required_argument, NULL, 'r'},         {"actor", required_argument, NULL, 'a'},
        {"action", required_argument, NULL, 'A'},      {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},       {"site-id", required_argument, NULL, 'I'},
        {"size", required_argument, NULL, 'n'},        {"consistency", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},              {"csv", no_argument, NULL, 'v'},
        {"require-hmac", no_argument, NULL, 'H'},      {"syslog", no_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0}};
    if (argc > 1 && strcmp(argv[1], "serve") == 0)
        return mmdx_cmd_audit_serve(argc - 1, argv + 1);
    args a;
    memset(&a, 0, sizeof a);
    a.checkpoints = calloc((size_t)argc, sizeof *a.checkpoints);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a.db = optarg; break;
        case 'c': a.config = optarg; break;
        case 'k': a.site_key = optarg; break;
        case 'S': a.signing_key = optarg; break;
        case 'V': a.verify_key = optarg; break;
        case 'C': a.checkpoints[a.n_checkpoints++] = optarg; break;
        case 'o': a.out = optarg; break;
        case 'D': a.dir = optarg; break;
        case 'P': a.pub = optarg; break;
        case 'p': a.patient = optarg; break;
        case 'r': a.run = optarg; break;
        case 'a': a.actor = optarg; break;
        case 'A': a.action = optarg; break;
        case 's': a.since = optarg; break;
        case 'u': a.until = optarg; break;
        case 'I': a.site_id = optarg; break;
        case 'n': a.size = optarg; break;
        case 'm': a.consistency = optarg; break;
        case 'j': a.json = 1; break;
        case 'v': a.csv = 1; break;
        case 'H': a.require_hmac = 1; break;
        case 'L': a.use_syslog = 1; break;
        case 'h':
            help(stdout);
            free(a.checkpoints);
            return MMDX_EXIT_OK;
        default:
            help(stderr);
            free(a.checkpoints);
            return MMDX_EXIT_USAGE;
        }
    }
    int rc = MMDX_EXIT_USAGE;
    const char *sub = optind < argc ? argv[optind++] : NULL;
    const char *pos = optind < argc ? argv[optind++] : NULL;
    if (!sub) {
        help(stderr);
        goto out;
    }
    if (strcmp(sub, "verify") && strcmp(sub, "log") && strcmp(sub, "export") && strcmp(sub, "checkpoint") &&
        strcmp(sub, "prove") && strcmp(sub, "keygen")) {
        fprintf(stderr, "mmdx audit: unknown subcommand \"%s\" (verify, log, export, checkpoint, prove, keygen, serve)\n", sub);
        goto out;
    }
    if ((pos && strcmp(sub, "prove") != 0) || optind < argc) {
        fprintf(stderr, "mmdx audit %s: unexpected argument \"%s\"\n", sub, optind < argc ? argv[optind] : pos);
        goto out;
    }
    if (a.json && a.csv) {
        fprintf(stderr, "mmdx audit: --json and --csv exclude each other\n");
        goto out;
    }
    if ((a.since && check_time("--since", a.since) < 0) || (a.until && check_time("--until", a.until) < 0))
        goto out;
    if (strcmp(sub, "export") == 0 && (!a.since || !a.until)) {
        fprintf(stderr, "mmdx audit export: give --since T and --until T\n");
        goto out;
    }
    if (strcmp(sub, "keygen") == 0) {
        if (!a.out) {
            fprintf(stderr, "mmdx audit keygen: give --out PEM (and optionally --pub PUB)\n");
            goto out;
        }
        int k = mmdx_checkpoint_keygen(a.out, a.pub);
        rc = k < 0 ? mmdx_cli_report("audit keygen", k) : MMDX_EXIT_OK;
        if (k == 0)
            fprintf(stderr, "Ed25519 signing key written to %s (mode 0600)%s%s\n", a.out, a.pub ? ", public key to " : "",
                    a.pub ? a.pub : "");
        goto out;
    }
    mmdx_audit_settings set;
    mmdx_store *s = NULL;
    mmdx_site_overrides cmdline = MMDX_SITE_OVERRIDES_NONE;
    cmdline.db = a.db;
    cmdline.site_key_file = a.site_key;
    cmdline.signing_key = a.signing_key;
    cmdline.verify_key = a.verify_key;
    cmdline.site_id = a.site_id;
    int orc = mmdx_cli_store_open(&s, &set, a.config, &cmdline);
    if (orc < 0) {
        rc = mmdx_cli_report("audit", orc);
    } else if (strcmp(sub, "verify") == 0) {
        rc = cmd_verify(s, &a, &set);
    } else if (strcmp(sub, "log") == 0) {
        rc = cmd_log(s, &a);
    } else if (strcmp(sub, "export") == 0) {
        rc = cmd_export(s, &a, &set);
    } else if (strcmp(sub, "checkpoint") == 0) {
        rc = cmd_checkpoint(s, &a, &set);
    } else {
        rc = cmd_prove(s, &a, pos);
    }
    mmdx_store_free(s);
    mmdx_audit_settings_clear(&set);
out:
    free(a.checkpoints);
    return rc;
}
