/* SPDX-License-Identifier: Apache-2.0 */
/* mmdx db: schema migrations, status, audited result listings, pseudonyms. */
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "fhir_risk.h"
#include "site_settings.h"
#include "store.h"

int mmdx_cli_store_open(mmdx_store **out, mmdx_audit_settings *set, const char *config_path,
                        const mmdx_site_overrides *cmdline)
{
    *out = NULL;
    memset(set, 0, sizeof *set);
    mmdx_config *cfg = NULL;
    int rc = mmdx_config_load(&cfg, config_path);
    if (rc == 0)
        rc = mmdx_cli_site_settings(set, cfg, cmdline);
    mmdx_config_free(cfg);
    if (rc < 0)
        return rc;
    mmdx_store_options o = {0};
    o.conninfo = set->db; /* NULL: $MMDX_DB, then libpq's PG* variables */
    o.site_key_file = set->site_key_file;
    o.pseudonymise = set->pseudonymise;
    rc = mmdx_store_open(out, &o);
    if (rc == 0 && (rc = mmdx_store_check_can_audit(*out)) < 0) {
        mmdx_store_free(*out);
        *out = NULL;
    }
    return rc;
}

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx db migrate [options]          create or upgrade the database schema\n"
            "       mmdx db status [options]           schema version and log identity\n"
            "       mmdx db results (--run R | --patient ID) [options]\n"
            "                                          list stored predictions (the review is audited)\n"
            "       mmdx db pseudonym ID --site-key F  print the keyed pseudonym of a patient ID\n"
            "\n"
            "Options:\n"
            "  --db CONNINFO    libpq connection string or URI (else [audit] db, else $MMDX_DB,\n"
            "                   else the PG* environment variables). Prefer a ~/.pgpass file or\n"
            "                   PGPASSFILE to a password in the string; it is never printed.\n"
            "  --config F       site configuration ([audit] section)\n"
            "  --site-key F     site key file (else $MMDX_SITE_KEY, else [audit] site_key_file)\n"
            "  --json           machine-readable output\n"
            "  --csv            (results) CSV output\n"
            "  --fhir           (results) FHIR R4 RiskAssessment resources, one per line (NDJSON);\n"
            "                   the subject is the stored identifier: the pseudonym (system\n"
            "                   urn:mmdx:pseudonym) when the site pseudonymises\n"
            "  --fhir-system U  (results) the subject identifier's system for unpseudonymised IDs\n"
            "\n"
            "`migrate` needs a role that may create schemas and roles; it is idempotent and safe\n"
            "to run from several hosts at once. It creates the group roles mmdx_writer (stores\n"
            "runs, predictions, events) and mmdx_reviewer (reads, its reviews audited); grant them\n"
            "to login roles: GRANT mmdx_writer TO screening_host;\n"
            "\n"
            "Exit codes: 0 ok, 1 database failure, 2 bad usage, 3 bad input or schema mismatch.\n");
}

static void csv_cell(const char *s, int last)
{
    if (s) {
        if (strpbrk(s, ",\"\r\n")) {
            putchar('"');
            for (const char *p = s; *p; p++) {
                if (*p == '"')
                    putchar('"');
                putchar(*p);
            }
            putchar('"');
        } else {
            fputs(s, stdout);
        }
    }
    putchar(last ? '\n' : ',');
}

typedef struct results_out {
    int json, csv, fhir;
    const char *fhir_system;
    json_object *arr;
} results_out;

/* A stored prediction as a RiskAssessment line (the model known only by its hash). */
static int print_fhir(const results_out *o, const mmdx_result_row *r)
{
    char contributions[2048] = "", *p = contributions;
    json_object *c = json_tokener_parse(r->contributions);
    size_t used = 0;
    if (c && json_object_is_type(c, json_type_object)) {
        json_object_object_foreach(c, name, val) {
            if (used < sizeof contributions)
                used += (size_t)snprintf(p + used, sizeof contributions - used, "%s%s %+.3f", used ? "; " : "",
                                         name, json_object_get_double(val));
        }
    }
    json_object_put(c);
    mmdx_fhir_risk_item it = {r->pseudonymised ? MMDX_FHIR_PSEUDONYM_SYSTEM
                                               : (o->fhir_system ? o->fhir_system : MMDX_FHIR_DEFAULT_ID_SYSTEM),
                              r->patient, r->stored_at, r->probability, r->decision, NAN, r->model_sha256, NULL, NULL,
                              NULL, NULL, used ? contributions : NULL};
    return mmdx_fhir_risk_print(stdout, &it);
}

static int print_result(void *ctx, const mmdx_result_row *r)
{
    results_out *o = ctx;
    if (o->fhir)
        return print_fhir(o, r);
    char prob[32], dec[8];
    snprintf(prob, sizeof prob, "%.17g", r->probability);
    snprintf(dec, sizeof dec, "%d", r->decision);
    if (o->json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "run_id", json_object_new_string(r->run_id));
        json_object_object_add(j, "patient", json_object_new_string(r->patient));
        json_object_object_add(j, "pseudonymised", json_object_new_boolean(r->pseudonymised));
        json_object_object_add(j, "study_uid", r->study_uid ? json_object_new_string(r->study_uid) : NULL);
        json_object_object_add(j, "probability", json_object_new_double(r->probability));
        json_object_object_add(j, "decision", r->decision < 0 ? NULL : json_object_new_int(r->decision));
        json_object_object_add(j, "contributions", json_tokener_parse(r->contributions));
        json_object_object_add(j, "input_hashes", json_tokener_parse(r->input_hashes));
        json_object_object_add(j, "stored_at", json_object_new_string(r->stored_at));
        json_object_array_add(o->arr, j);
    } else if (o->csv) {
        csv_cell(r->run_id, 0);
        csv_cell(r->patient, 0);
        csv_cell(r->study_uid, 0);
        csv_cell(prob, 0);
        csv_cell(r->decision < 0 ? "" : dec, 0);
        csv_cell(r->contributions, 0);
        csv_cell(r->stored_at, 1);
    } else {
        printf("%-36s  %-24s  p=%.4f  decision=%s  %s\n", r->run_id, r->patient, r->probability,
               r->decision < 0 ? "-" : (r->decision ? "positive" : "negative"), r->stored_at);
    }
    return 0;
}

int mmdx_cmd_db(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"site-key", required_argument, NULL, 'k'},
                                         {"run", required_argument, NULL, 'r'},
                                         {"patient", required_argument, NULL, 'p'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'v'},
                                         {"fhir", no_argument, NULL, 'F'},
                                         {"fhir-system", required_argument, NULL, 'S'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *config = NULL, *key = NULL, *run = NULL, *patient = NULL, *fhir_system = NULL;
    int json = 0, csv = 0, fhir = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'c': config = optarg; break;
        case 'k': key = optarg; break;
        case 'r': run = optarg; break;
        case 'p': patient = optarg; break;
        case 'j': json = 1; break;
        case 'v': csv = 1; break;
        case 'F': fhir = 1; break;
        case 'S': fhir_system = optarg; break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        help(stderr);
        return MMDX_EXIT_USAGE;
    }
    const char *sub = argv[optind++];
    if (json + csv + fhir > 1) {
        fprintf(stderr, "mmdx db: --json, --csv and --fhir exclude each other\n");
        return MMDX_EXIT_USAGE;
    }
    if ((fhir || fhir_system) && strcmp(sub, "results") != 0) {
        fprintf(stderr, "mmdx db %s: --fhir and --fhir-system are options of db results\n", sub);
        return MMDX_EXIT_USAGE;
    }
    if (fhir_system && !*fhir_system) {
        fprintf(stderr, "mmdx db results: --fhir-system must not be empty\n");
        return MMDX_EXIT_USAGE;
    }
    int is_psn = strcmp(sub, "pseudonym") == 0;
    if (!is_psn && optind < argc) {
        fprintf(stderr, "mmdx db %s: unexpected argument \"%s\"\n", sub, argv[optind]);
        return MMDX_EXIT_USAGE;
    }
    if (strcmp(sub, "migrate") && strcmp(sub, "status") && strcmp(sub, "results") && !is_psn) {
        fprintf(stderr, "mmdx db: unknown subcommand \"%s\" (migrate, status, results, pseudonym)\n", sub);
        return MMDX_EXIT_USAGE;
    }
    if (strcmp(sub, "results") == 0 && !run && !patient) {
        fprintf(stderr, "mmdx db results: give --run R or --patient ID\n");
        return MMDX_EXIT_USAGE;
    }
    if (is_psn && optind + 1 != argc) {
        fprintf(stderr, "mmdx db pseudonym: give exactly one patient ID\n");
        return MMDX_EXIT_USAGE;
    }

    mmdx_audit_settings set;
    memset(&set, 0, sizeof set);
    mmdx_store *s = NULL;
    mmdx_site_overrides cmdline = MMDX_SITE_OVERRIDES_NONE;
    cmdline.db = db;
    cmdline.site_key_file = key;
    int rc;
    if (is_psn) {
        /* No database needed: the key alone makes the pseudonym. */
        mmdx_config *cfg = NULL;
        rc = mmdx_config_load(&cfg, config);
        if (rc == 0)
            rc = mmdx_cli_site_settings(&set, cfg, &cmdline);
        mmdx_config_free(cfg);
        const char *kf = rc == 0 ? set.site_key_file : NULL;
        char psn[MMDX_PSEUDONYM_LEN];
        if (rc == 0 && !kf)
            rc = mmdx_fail(MMDX_EINVAL,
                           "pseudonyms need the site key (--site-key, $MMDX_SITE_KEY or [audit] site_key_file)");
        if (rc == 0)
            rc = mmdx_audit_pseudonym(kf, argv[optind], psn);
        if (rc == 0)
            printf("%s\n", psn);
        int code = rc == 0 ? MMDX_EXIT_OK : mmdx_cli_report("db pseudonym", rc);
        mmdx_audit_settings_clear(&set);
        return code;
    }
    rc = mmdx_cli_store_open(&s, &set, config, &cmdline);
    if (rc < 0) {
        mmdx_audit_settings_clear(&set);
        return mmdx_cli_report("db", rc);
    }
    int exit_code = MMDX_EXIT_OK;
    if (strcmp(sub, "migrate") == 0) {
        int applied = 0, version = 0;
        rc = mmdx_store_migrate(s, &applied, &version);
        if (rc == 0) {
            if (json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "applied", json_object_new_int(applied));
                json_object_object_add(o, "version", json_object_new_int(version));
                json_object_object_add(o, "database", json_object_new_string(mmdx_store_describe(s)));
                mmdx_cli_print_json(o);
                json_object_put(o);
            } else if (applied) {
                printf("Applied %d migration%s; the schema is at version %d (%s).\n", applied,
                       applied == 1 ? "" : "s", version, mmdx_store_describe(s));
            } else {
                printf("The schema is up to date at version %d (%s).\n", version, mmdx_store_describe(s));
            }
        }
    } else if (strcmp(sub, "status") == 0) {
        int version = 0;
        const char *origin = NULL;
        rc = mmdx_store_schema_version(s, &version);
        if (rc == 0 && version > 0)
            rc = mmdx_store_log_origin(s, &origin);
        if (rc == 0 || rc == MMDX_ESCHEMA) {
            if (json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "database", json_object_new_string(mmdx_store_describe(s)));
                json_object_object_add(o, "role", json_object_new_string(mmdx_store_role(s)));
                json_object_object_add(o, "schema_version", json_object_new_int(version));
                json_object_object_add(o, "program_version", json_object_new_int(mmdx_store_code_version()));
                json_object_object_add(o, "log", origin ? json_object_new_string(origin) : NULL);
                mmdx_cli_print_json(o);
                json_object_put(o);
            } else {
                printf("database        %s\nrole            %s\nschema version  %d (this mmdx: %d)\nlog             %s\n",
                       mmdx_store_describe(s), mmdx_store_role(s), version, mmdx_store_code_version(),
                       origin ? origin : "-");
            }
            if (rc == MMDX_ESCHEMA)
                fprintf(stderr, "mmdx db status: %s\n", mmdx_last_error());
            if (rc == 0 && version != mmdx_store_code_version())
                exit_code = MMDX_EXIT_INPUT;
        }
    } else if (strcmp(sub, "results") == 0) {
        results_out o = {json, csv, fhir, fhir_system, json ? json_object_new_array() : NULL};
        if (csv)
            printf("run_id,patient,study_uid,probability,decision,contributions,stored_at\n");
        size_t n = 0;
        rc = mmdx_store_results(s, run, patient, print_result, &o, &n);
        if (rc == 0 && json)
            mmdx_cli_print_json(o.arr);
        if (rc == 0 && !json && !csv && !fhir)
            fprintf(stderr, "%zu prediction%s (this review was recorded in the audit log)\n", n,
                    n == 1 ? "" : "s");
        json_object_put(o.arr);
    }
    if (rc < 0 && rc != MMDX_ESCHEMA)
        exit_code = mmdx_cli_report("db", rc);
    else if (rc == MMDX_ESCHEMA && strcmp(sub, "status") != 0)
        exit_code = mmdx_cli_report("db", rc);
    mmdx_store_free(s);
    mmdx_audit_settings_clear(&set);
    return exit_code;
}
