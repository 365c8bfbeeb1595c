/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "screen.h"
#include "site_settings.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx screen --model M.mmdx --cohort C.csv [--db CONNINFO] [--threads N]\n"
            "                   [--shard K/N] [--out results.csv] [--keep-going] [options]\n"
            "\n"
            "Screen every patient of a cohort manifest: run the encoders the model was trained\n"
            "with, predict with the model, and store each result in the audited database in\n"
            "batches (one transaction and one audit event per prediction), and in a CSV when\n"
            "asked. The model's signature, encoder versions and settings are checked first.\n"
            "\n"
            "Resumable: after a crash (even kill -9) run the same command again; it finds its\n"
            "run and screens only the patients not yet stored. Every patient is stored once.\n"
            "Shardable: --shard K/N screens the patients whose ID hashes to shard K of N, so N\n"
            "processes on N machines share one database (scripts/slurm-screen.sh).\n"
            "\n"
            "  --model M.mmdx      signed model file (mmdx train --site-key)\n"
            "  --cohort C.csv      cohort manifest (patient_id,dicom,vcf,vcf_sample,record[,label])\n"
            "  --db CONNINFO       libpq connection string or URI (else [audit] db, $MMDX_DB, PG*)\n"
            "  --out F.csv         also write patient_id, probability, decision, contribution per\n"
            "                      modality, modalities, status, reason (atomically at the end;\n"
            "                      F.csv.partial holds the rows while the run goes on)\n"
            "  --shard K/N         screen shard K of N (1 <= K <= N)\n"
            "  --keep-going        a patient whose input fails is screened on the other modalities\n"
            "                      (else it is listed and not screened)\n"
            "  --threads N         patients encoded in parallel (default [mmdx] threads, else all cores)\n"
            "  --batch N           patients per stored batch (default 64)\n"
            "  --job LABEL         name a deliberate new screening of the same cohort with the same\n"
            "                      model (otherwise the command resumes the earlier run)\n"
            "  --site-key FILE     the site key: verifies the model's signature, keys the audit\n"
            "                      log's HMACs and pseudonyms (else $MMDX_SITE_KEY, else\n"
            "                      [audit] site_key_file)\n"
            "  --pseudonymise      store keyed pseudonyms instead of patient IDs (needs --site-key)\n"
            "  --db-wait SECONDS   how long to keep retrying while the database is unreachable,\n"
            "                      read-only or out of resources (default 300)\n"
            "  --no-db             no database: results only to --out (nothing is audited)\n"
            "  --config F          site configuration\n"
            "  --json              print the summary as JSON on standard output\n"
            "  --no-progress       no progress display\n"
            "\n"
            "Exit codes: 0 every patient of the shard screened; 1 runtime failure (database\n"
            "unavailable longer than --db-wait, or refusing the run: rerun to resume); 2 usage\n"
            "(or --out names another run's unfinished CSV); 3 some patients could not be\n"
            "screened (bad or missing inputs, listed), or the encoders differ from training;\n"
            "4 the model is unsigned, altered or its signature does not verify; 130\n"
            "interrupted (Ctrl-C, SIGTERM): what was done is stored and journaled, run the\n"
            "same command again to resume.\n");
}

static const char *mod_combo(const mmdx_screen_summary *s, unsigned mask, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t m = 0; m < s->n_modalities; m++)
        if (mask & (1u << m)) {
            int w = snprintf(buf + used, cap - used, "%s%s", used ? "+" : "", s->modalities[m]);
            if (w > 0 && (size_t)w < cap - used)
                used += (size_t)w;
        }
    return used ? buf : "none";
}

static double stage_sum(const mmdx_screen_summary *s)
{
    double t = s->times.hash + s->times.predict + s->times.store;
    for (size_t m = 0; m < s->n_modalities; m++)
        t += s->times.encode[m];
    return t > 0 ? t : 1;
}

static void print_text(FILE *f, const mmdx_screen_summary *s, const char *model, const char *cohort,
                       const mmdx_shard *shard, const char *out, int no_db)
{
    char buf[256];
    fprintf(f, "mmdx screen: run %s%s\n", s->run_id[0] ? s->run_id : "(none)", s->resumed ? " (resumed)" : "");
    if (s->model_sha256[0])
        fprintf(f, "  model        %s (sha256 %.16s..., signature %s)\n", model, s->model_sha256,
                s->signature_verified ? "verified" : "NOT verified");
    fprintf(f, "  cohort       %s: %zu patients", cohort, s->n_cohort);
    if (shard->count > 1)
        fprintf(f, "; shard %u/%u holds %zu", shard->index, shard->count, s->n_shard);
    fputc('\n', f);
    fprintf(f, "  screened     %zu now (%zu on fewer modalities after a failed input), %zu done before, %zu "
               "failed\n", s->n_screened, s->n_partial, s->n_already, s->n_failed);
    if (s->n_screened)
        fprintf(f, "  decisions    %zu of %zu at or above the threshold %.4g\n", s->n_positive, s->n_screened,
                s->threshold);
    int any = 0;
    for (unsigned mask = 0; mask < (1u << s->n_modalities); mask++)
        if (s->by_present[mask]) {
            if (!any++)
                fprintf(f, "  by modalities present:\n");
            fprintf(f, "    %-36s %zu\n", mod_combo(s, mask, buf, sizeof buf), s->by_present[mask]);
        }
    for (size_t i = 0; i < s->n_reasons; i++) {
        if (i == 0)
            fprintf(f, "  failed inputs by reason:\n");
        fprintf(f, "    %-36s %zu\n", s->reasons[i].text, s->reasons[i].count);
    }
    if (!no_db)
        fprintf(f, "  stored       %zu new, %zu already stored, %zu conflicts; %zu database pause(s), %zu "
                "reconnection(s)\n", s->n_stored, s->n_duplicates, s->n_conflicts, s->db_pauses, s->db_reconnections);
    double total = stage_sum(s);
    fprintf(f, "  time         %.1f s, %.1f patients/s; stage shares: read+hash %.0f%%", s->times.total,
            s->times.total > 0 ? (double)(s->n_screened + s->n_failed) / s->times.total : 0.0,
            100 * s->times.hash / total);
    for (size_t m = 0; m < s->n_modalities; m++)
        fprintf(f, ", encode %s %.0f%%", s->modalities[m], 100 * s->times.encode[m] / total);
    fprintf(f, ", predict %.0f%%, store %.0f%%\n", 100 * s->times.predict / total, 100 * s->times.store / total);
    if (out)
        fprintf(f, "  results      %s\n", out);
}

static json_object *summary_json(const mmdx_screen_summary *s, const mmdx_shard *shard, const char *out,
                                 int rc)
{
    json_object *j = json_object_new_object();
    char buf[256];
    json_object_object_add(j, "ok", json_object_new_boolean(rc == 0));
    if (rc)
        json_object_object_add(j, "error", json_object_new_string(mmdx_last_error()));
    json_object_object_add(j, "run_id", json_object_new_string(s->run_id));
    json_object_object_add(j, "resumed", json_object_new_boolean(s->resumed));
    json_object_object_add(j, "already_complete", json_object_new_boolean(s->finished_before));
    json_object_object_add(j, "interrupted", json_object_new_boolean(s->interrupted));
    json_object_object_add(j, "model_sha256", json_object_new_string(s->model_sha256));
    json_object_object_add(j, "cohort_sha256", json_object_new_string(s->cohort_sha256));
    json_object_object_add(j, "signature_verified", json_object_new_boolean(s->signature_verified));
    snprintf(buf, sizeof buf, "%u/%u", shard->count > 1 ? shard->index : 1, shard->count > 1 ? shard->count : 1);
    json_object_object_add(j, "shard", json_object_new_string(buf));
    json_object_object_add(j, "patients_in_cohort", json_object_new_int64((int64_t)s->n_cohort));
    json_object_object_add(j, "patients_in_shard", json_object_new_int64((int64_t)s->n_shard));
    json_object_object_add(j, "already_done", json_object_new_int64((int64_t)s->n_already));
    json_object_object_add(j, "screened", json_object_new_int64((int64_t)s->n_screened));
    json_object_object_add(j, "partial", json_object_new_int64((int64_t)s->n_partial));
    json_object_object_add(j, "failed", json_object_new_int64((int64_t)s->n_failed));
    json_object_object_add(j, "positive", json_object_new_int64((int64_t)s->n_positive));
    json_object_object_add(j, "threshold", json_object_new_double(s->threshold));
    json_object_object_add(j, "stored", json_object_new_int64((int64_t)s->n_stored));
    json_object_object_add(j, "duplicates", json_object_new_int64((int64_t)s->n_duplicates));
    json_object_object_add(j, "conflicts", json_object_new_int64((int64_t)s->n_conflicts));
    json_object_object_add(j, "database_pauses", json_object_new_int64((int64_t)s->db_pauses));
    json_object_object_add(j, "database_reconnections", json_object_new_int64((int64_t)s->db_reconnections));
    json_object *by = json_object_new_object();
    for (unsigned mask = 0; mask < (1u << s->n_modalities); mask++)
        if (s->by_present[mask])
            json_object_object_add(by, mod_combo(s, mask, buf, sizeof buf),
                                   json_object_new_int64((int64_t)s->by_present[mask]));
    json_object_object_add(j, "by_modalities", by);
    json_object *reasons = json_object_new_object();
    for (size_t i = 0; i < s->n_reasons; i++)
        json_object_object_add(reasons, s->reasons[i].text, json_object_new_int64((int64_t)s->reasons[i].count));
    json_object_object_add(j, "failures_by_reason", reasons);
    json_object *t = json_object_new_object();
    json_object_object_add(t, "total", json_object_new_double(s->times.total));
    json_object_object_add(t, "read_hash", json_object_new_double(s->times.hash));
    for (size_t m = 0; m < s->n_modalities; m++) {
        snprintf(buf, sizeof buf, "encode_%s", s->modalities[m]);
        json_object_object_add(t, buf, json_object_new_double(s->times.encode[m]));
    }
    json_object_object_add(t, "predict", json_object_new_double(s->times.predict));
    json_object_object_add(t, "store", json_object_new_double(s->times.store));
    json_object_object_add(j, "seconds", t);
    json_object_object_add(j, "patients_per_second",
                           json_object_new_double(s->times.total > 0
                                                      ? (double)(s->n_screened + s->n_failed) / s->times.total
                                                      : 0.0));
    if (out)
        json_object_object_add(j, "out", json_object_new_string(out));
    return j;
}

int mmdx_cmd_screen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},   {"cohort", required_argument, NULL, 'C'},
        {"db", required_argument, NULL, 'd'},      {"threads", required_argument, NULL, 't'},
        {"shard", required_argument, NULL, 's'},   {"out", required_argument, NULL, 'o'},
        {"keep-going", no_argument, NULL, 'g'},    {"batch", required_argument, NULL, 'b'},
        {"job", required_argument, NULL, 'J'},     {"site-key", required_argument, NULL, 'S'},
        {"pseudonymise", no_argument, NULL, 'p'},
        {"db-wait", required_argument, NULL, 'w'}, {"no-db", no_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},  {"json", no_argument, NULL, 'j'},
        {"no-progress", no_argument, NULL, 'P'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    mmdx_screen_options o;
    memset(&o, 0, sizeof o);
    const char *db = NULL, *site_key = NULL, *config = NULL;
    int threads = 0, json = 0, progress = 1, pseudonymise = -1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'm': o.model_path = optarg; break;
        case 'C': o.cohort_path = optarg; break;
        case 'd': db = optarg; break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx screen: --threads \"%s\": expected 1..1024\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 's':
            if (mmdx_shard_parse(&o.shard, optarg) < 0) {
                fprintf(stderr, "mmdx screen: %s\n", mmdx_last_error());
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'o': o.out_csv = optarg; break;
        case 'g': o.keep_going = 1; break;
        case 'b': {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 100000) {
                fprintf(stderr, "mmdx screen: --batch \"%s\": expected 1..100000\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            o.batch = (size_t)v;
            break;
        }
        case 'J': o.job = optarg; break;
        case 'S': site_key = optarg; break;
        case 'p': pseudonymise = 1; break;
        case 'w':
            o.db_wait_seconds = strtod(optarg, &end);
            if (!*optarg || *end || !(o.db_wait_seconds >= 1 && o.db_wait_seconds <= 86400)) {
                fprintf(stderr, "mmdx screen: --db-wait \"%s\": expected 1..86400 seconds\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'n': o.no_db = 1; break;
        case 'c': config = optarg; break;
        case 'j': json = 1; break;
        case 'P': progress = 0; break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (optind < argc || !o.model_path || !o.cohort_path) {
        fprintf(stderr, "mmdx screen: give --model M and --cohort C (see mmdx screen --help)\n");
        return MMDX_EXIT_USAGE;
    }
    if (o.no_db && !o.out_csv) {
        fprintf(stderr, "mmdx screen: --no-db needs --out (the results must go somewhere)\n");
        return MMDX_EXIT_USAGE;
    }
    if (o.no_db && (db || pseudonymise == 1)) {
        fprintf(stderr, "mmdx screen: --no-db cannot be combined with --db or --pseudonymise\n");
        return MMDX_EXIT_USAGE;
    }
    if (o.out_csv && strcmp(o.out_csv, "-") == 0) {
        fprintf(stderr, "mmdx screen: --out needs a file (the results are written when the run completes)\n");
        return MMDX_EXIT_USAGE;
    }
    mmdx_cli_env env;
    int rc = mmdx_cli_env_open(&env, config, threads, json);
    if (rc < 0)
        return mmdx_cli_report("screen", rc);
    mmdx_site_overrides cmdline = MMDX_SITE_OVERRIDES_NONE;
    cmdline.db = db;
    cmdline.site_key_file = site_key;
    cmdline.pseudonymise = pseudonymise;
    mmdx_audit_settings set;
    rc = mmdx_cli_site_settings(&set, env.config, &cmdline);
    if (rc < 0) {
        mmdx_cli_env_close(&env);
        return mmdx_cli_report("screen", rc);
    }
    o.store.conninfo = set.db;
    o.store.site_key_file = set.site_key_file;
    o.key_path = set.site_key_file;
    o.store.pseudonymise = set.pseudonymise;
    o.threads = env.threads;
    o.registry = env.registry;
    o.config = env.config;
    o.messages = stderr;
    o.progress = progress;
    o.cancel = mmdx_cli_catch_interrupts(); /* Ctrl-C: stop after the batch, record run.end, say how to resume */
    mmdx_screen_summary s;
    rc = mmdx_screen_run(&o, &s);
    int exit_code = mmdx_cli_exit_code(rc); /* --out of another run's journal (EEXISTS): 2 */
    if (json) {
        json_object *j = summary_json(&s, &o.shard, o.out_csv, rc);
        mmdx_cli_print_json(j);
        json_object_put(j);
        if (rc)
            fprintf(stderr, "mmdx screen: %s\n", mmdx_last_error());
    } else {
        if (s.run_id[0])
            print_text(stdout, &s, o.model_path, o.cohort_path, &o.shard, rc == 0 || rc == MMDX_EFORMAT ? o.out_csv : NULL,
                       o.no_db);
        fflush(stdout);
        if (rc)
            fprintf(stderr, "mmdx screen: %s\n", mmdx_last_error());
    }
    mmdx_audit_settings_clear(&set);
    mmdx_cli_env_close(&env);
    return exit_code;
}
