/* SPDX-License-Identifier: Apache-2.0 */
/* `mmdx encode records FILE ...`: one health record (or every patient of one) to features. */
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

#include "atomic_file.h"
#include "cli.h"
#include "csv.h"
#include "error.h"
#include "progress.h"
#include "records.h"
#include "spec.h"
#include "units.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx encode records FILE [--patient ID] [--spec S] [--index-date D] [--json]\n"
            "       mmdx encode records FILE --all [--out F.csv] [--spec S] [--index-date D] [--json]\n"
            "       mmdx encode records --print-default-spec | --list-features [--spec S]\n"
            "\n"
            "Encode a health record into records.* features: age and sex, lab and vital\n"
            "aggregations over a window before the index date, condition and medication flags.\n"
            "FILE is a FHIR R4 Bundle or resource (.json), a bulk-data export (.ndjson, or a\n"
            "folder of them; .gz accepted) or a wide CSV/TSV table mapped by the spec.\n"
            "\n"
            "  --patient ID        the patient to encode (Patient.id, an identifier value or the\n"
            "                      CSV id); optional when FILE holds one patient\n"
            "  --all               encode every patient of FILE into a table\n"
            "  --out F.csv         table for --all, written atomically (default: standard output)\n"
            "  --spec S            feature spec JSON (default: [records] spec of the configuration,\n"
            "                      else the built-in default; see docs/records.md)\n"
            "  --index-date D      index date, a FHIR date (default: [records] index_date, else today)\n"
            "  --json              print features (or the --all summary) as JSON\n"
            "  --no-progress       no progress display (--all)\n"
            "  --threads N         threads parsing NDJSON lines (--all; default 1)\n"
            "  --config F          site configuration\n"
            "  --print-default-spec  print the built-in spec and exit\n"
            "  --list-features     print the feature names of the spec and exit\n"
            "\n"
            "Warnings (resources of unused types, unconvertible units, dangling references) are\n"
            "counted and summarised on standard error (in \"warnings\" with --json).\n"
            "Exit codes: 0 done; 1 failure; 2 usage; 3 bad input (malformed file, spec, date,\n"
            "or no such patient).\n");
}

static void add_warnings(json_object *o, const mmdx_records_stats *s)
{
    json_object *w = json_object_new_object();
    json_object_object_add(w, "resources", json_object_new_int64((int64_t)s->resources));
    json_object_object_add(w, "used", json_object_new_int64((int64_t)s->used));
    json_object_object_add(w, "skipped_type", json_object_new_int64((int64_t)s->skipped_type));
    json_object_object_add(w, "skipped_files", json_object_new_int64((int64_t)s->skipped_files));
    json_object_object_add(w, "ignored_status", json_object_new_int64((int64_t)s->ignored_status));
    json_object_object_add(w, "unit_unconvertible", json_object_new_int64((int64_t)s->unit_unconvertible));
    json_object_object_add(w, "out_of_range", json_object_new_int64((int64_t)s->out_of_range));
    json_object_object_add(w, "no_value", json_object_new_int64((int64_t)s->no_value));
    json_object_object_add(w, "undated", json_object_new_int64((int64_t)s->undated));
    json_object_object_add(w, "unresolved_reference", json_object_new_int64((int64_t)s->unresolved_reference));
    json_object_object_add(w, "no_subject", json_object_new_int64((int64_t)s->no_subject));
    json_object_object_add(w, "bad_date", json_object_new_int64((int64_t)s->bad_date));
    json_object_object_add(w, "first", s->first_warning[0] ? json_object_new_string(s->first_warning) : NULL);
    json_object_object_add(o, "warnings", w);
}

static void print_warnings(const mmdx_records_stats *s)
{
    size_t total = s->skipped_type + s->unit_unconvertible + s->out_of_range + s->no_value + s->undated +
                   s->unresolved_reference + s->no_subject + s->bad_date;
    fprintf(stderr,
            "mmdx encode records: %zu resources read (%zu files of unused types skipped), %zu used, %zu ignored by "
            "status; warnings: %zu "
            "(%zu unused type, %zu unconvertible unit, %zu out of range, %zu without value, %zu undated, "
            "%zu unresolved reference, %zu without patient subject, %zu bad date)\n",
            s->resources, s->skipped_files, s->used, s->ignored_status, total, s->skipped_type, s->unit_unconvertible,
            s->out_of_range, s->no_value, s->undated, s->unresolved_reference, s->no_subject, s->bad_date);
    if (s->first_warning[0])
        fprintf(stderr, "mmdx encode records: first warning: %s\n", s->first_warning);
}

static void print_value(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
}

/* The [records] settings of the site configuration (the --spec/--index-date defaults). */
static int config_defaults(const char *config_path, char **spec, char **index)
{
    *spec = *index = NULL;
    mmdx_config *cfg;
    int rc = mmdx_config_load(&cfg, config_path);
    if (rc < 0)
        return rc;
    mmdx_plugin_config sec;
    mmdx_config_section(cfg, "records", 1, &sec);
    for (size_t i = 0; i < sec.n_entries && rc == 0; i++) {
        const mmdx_config_entry *e = &sec.entries[i];
        if (strcmp(e->key, "spec") == 0) {
            free(*spec);
            if (e->value[0] == '/' || !sec.base_dir) {
                *spec = strdup(e->value);
            } else {
                size_t n = strlen(sec.base_dir) + strlen(e->value) + 2;
                if ((*spec = malloc(n)))
                    snprintf(*spec, n, "%s/%s", sec.base_dir, e->value);
            }
            if (!*spec)
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        } else if (strcmp(e->key, "index_date") == 0) {
            free(*index);
            if (!(*index = strdup(e->value)))
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        } else {
            rc = mmdx_fail(MMDX_EINVAL, "%s:%d: unknown key '%s' in [records] (known: spec, index_date)",
                           e->file ? e->file : "(configuration)", (int)e->line, e->key);
        }
    }
    mmdx_config_free(cfg);
    if (rc < 0) {
        free(*spec);
        free(*index);
        *spec = *index = NULL;
    }
    return rc;
}

static int encode_single(mmdx_records *enc, const char *file, const char *patient, const mmdx_fhir_date *index,
                         const char *index_text, int json)
{
    const char *const *names;
    size_t nf = mmdx_records_features(enc, &names);
    double *values = calloc(nf ? nf : 1, sizeof *values);
    if (!values)
        return mmdx_cli_report("encode records", mmdx_fail(MMDX_ENOMEM, "out of memory"));
    int32_t present = 0;
    mmdx_records_stats stats;
    memset(&stats, 0, sizeof stats);
    int rc = mmdx_records_encode(enc, file, patient, index, values, &present, &stats);
    if (rc == 0 && !present) {
        /* A document that yields no patient often says why in its first warning. */
        char why[sizeof stats.first_warning + 32] = "";
        if (stats.first_warning[0])
            snprintf(why, sizeof why, " (first warning: %s)", stats.first_warning);
        rc = mmdx_fail(MMDX_ENOTFOUND,
                       patient ? "%s: no patient '%s' in the input (give --patient with a Patient.id, an "
                                 "identifier value or a CSV id; --all encodes every patient)%s"
                               : "%s%s: the input holds several patients or none; choose one with --patient, "
                                 "or use --all%s",
                       file, patient ? patient : "", why);
    }
    if (rc < 0) {
        free(values);
        return mmdx_cli_report("encode records", rc);
    }
    if (json) {
        json_object *o = json_object_new_object(), *fs = json_object_new_object();
        json_object_object_add(o, "modality", json_object_new_string("records"));
        json_object_object_add(o, "input", json_object_new_string(file));
        json_object_object_add(o, "patient", patient ? json_object_new_string(patient) : NULL);
        json_object_object_add(o, "index_date", json_object_new_string(index_text));
        json_object_object_add(o, "spec", json_object_new_string(mmdx_records_spec_name(enc)));
        json_object_object_add(o, "present", json_object_new_boolean(1));
        for (size_t j = 0; j < nf; j++) {
            char full[256];
            snprintf(full, sizeof full, "records.%s", names[j]);
            json_object_object_add(fs, full, isfinite(values[j]) ? json_object_new_double(values[j]) : NULL);
        }
        json_object_object_add(o, "features", fs);
        add_warnings(o, &stats);
        mmdx_cli_print_json(o);
        json_object_put(o);
    } else {
        printf("records.present\t1\n");
        for (size_t j = 0; j < nf; j++) {
            printf("records.%s\t", names[j]);
            print_value(stdout, values[j]);
            putchar('\n');
        }
        print_warnings(&stats);
    }
    free(values);
    return MMDX_EXIT_OK;
}

/* Reading progress in MiB: the bulk of the work for a large export. */
typedef struct read_progress {
    mmdx_progress *p;
    atomic_size_t bytes;
} read_progress;

static void on_bytes(void *ud, size_t n)
{
    read_progress *rp = ud;
    size_t before = atomic_fetch_add(&rp->bytes, n);
    for (size_t k = before / MIB + 1; k <= (before + n) / MIB; k++)
        mmdx_progress_step(rp->p, 0);
}

static int encode_all(mmdx_records *enc, const char *file, const char *out_path, const mmdx_fhir_date *index,
                      int json, int progress)
{
    const char *const *names;
    size_t nf = mmdx_records_features(enc, &names);
    const char **ids;
    size_t n;
    read_progress rp = {NULL, 0};
    if (progress) {
        rp.p = mmdx_progress_new("read records (MiB)", (mmdx_records_input_size(file) + MIB - 1) / MIB, stderr);
        mmdx_records_set_progress(enc, on_bytes, &rp);
    }
    int rc = mmdx_records_list_patients(enc, file, &ids, &n);
    mmdx_records_set_progress(enc, NULL, NULL);
    mmdx_progress_free(rp.p);
    if (rc < 0)
        return mmdx_cli_report("encode records", rc);
    mmdx_atomic_file af;
    memset(&af, 0, sizeof af);
    if ((rc = mmdx_atomic_file_open(&af, out_path)) < 0) {
        free(ids);
        return mmdx_cli_report("encode records", rc);
    }
    FILE *f = af.f;
    double *values = calloc(nf ? nf : 1, sizeof *values);
    mmdx_progress *pg = progress ? mmdx_progress_new("encode records", n, stderr) : NULL;
    size_t n_present = 0, n_failed = 0;
    mmdx_records_stats stats;
    memset(&stats, 0, sizeof stats);
    rc = values ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == 0) {
        fputs("patient_id,records.present", f);
        for (size_t j = 0; j < nf; j++)
            fprintf(f, ",records.%s", names[j]);
        fputc('\n', f);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int32_t present = 0;
        int r = mmdx_records_encode(enc, file, ids[i], index, values, &present, &stats);
        mmdx_csv_write_field(f, ids[i], ',');
        if (r < 0) {
            /* One patient's malformed resource: the row says missing, the reason goes to stderr. */
            fprintf(stderr, "mmdx encode records: %s\n", mmdx_last_error());
            present = 0;
            n_failed++;
        }
        n_present += present != 0;
        fprintf(f, ",%d", present ? 1 : 0);
        for (size_t j = 0; j < nf; j++) {
            fputc(',', f);
            if (present)
                print_value(f, values[j]);
        }
        fputc('\n', f);
        mmdx_progress_step(pg, r < 0);
    }
    mmdx_progress_free(pg);
    if (rc == 0)
        rc = mmdx_atomic_file_commit(&af);
    else
        mmdx_atomic_file_abort(&af);
    free(values);
    free(ids);
    if (rc < 0)
        return mmdx_cli_report("encode records", rc);
    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "input", json_object_new_string(file));
        json_object_object_add(o, "patients", json_object_new_int64((int64_t)n));
        json_object_object_add(o, "encoded", json_object_new_int64((int64_t)n_present));
        json_object_object_add(o, "failed", json_object_new_int64((int64_t)n_failed));
        json_object_object_add(o, "features", json_object_new_int64((int64_t)nf));
        json_object_object_add(o, "out", json_object_new_string(out_path ? out_path : "-"));
        add_warnings(o, &stats);
        if (out_path && strcmp(out_path, "-") != 0)
            mmdx_cli_print_json(o);
        else
            fprintf(stderr, "%s\n", json_object_to_json_string(o));
        json_object_put(o);
    } else {
        fprintf(stderr, "mmdx encode records: %zu patients, %zu encoded, %zu failed\n", n, n_present, n_failed);
        print_warnings(&stats);
    }
    return n_failed ? MMDX_EXIT_INPUT : MMDX_EXIT_OK;
}

int mmdx_cmd_encode_records(int argc, char **argv)
{
    static const struct option opts[] = {{"patient", required_argument, NULL, 'p'},
                                         {"spec", required_argument, NULL, 's'},
                                         {"index-date", required_argument, NULL, 'i'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"no-progress", no_argument, NULL, 'P'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"print-default-spec", no_argument, NULL, 'D'},
                                         {"list-features", no_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *patient = NULL, *spec = NULL, *index_arg = NULL, *out = NULL, *config = NULL;
    int json = 0, all = 0, progress = 1, list = 0, threads = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': patient = optarg; break;
        case 's': spec = optarg; break;
        case 'i': index_arg = optarg; break;
        case 'j': json = 1; break;
        case 'a': all = 1; break;
        case 'o': out = optarg; break;
        case 'c': config = optarg; break;
        case 'P': progress = 0; break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx encode records: --threads \"%s\": expected 1..1024\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'D': fputs(mmdx_records_spec_default_text(), stdout); return MMDX_EXIT_OK;
        case 'L': list = 1; break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (!list && argc - optind != 1) {
        fprintf(stderr, "mmdx encode records: give exactly one FILE\n");
        help(stderr);
        return MMDX_EXIT_USAGE;
    }
    if (all && patient) {
        fprintf(stderr, "mmdx encode records: --all and --patient exclude each other\n");
        return MMDX_EXIT_USAGE;
    }
    if (out && !all) {
        fprintf(stderr, "mmdx encode records: --out goes with --all\n");
        return MMDX_EXIT_USAGE;
    }
    char *cfg_spec = NULL, *cfg_index = NULL;
    int rc = config_defaults(config, &cfg_spec, &cfg_index);
    if (rc < 0)
        return mmdx_cli_report("encode records", rc);
    if (!spec)
        spec = cfg_spec;
    if (!index_arg)
        index_arg = cfg_index;
    mmdx_fhir_date index = mmdx_fhir_today();
    char today[16];
    mmdx_fhir_format_day(today, sizeof today, index.start);
    const char *index_text = today;
    if (index_arg) {
        if (mmdx_fhir_date_parse(&index, index_arg) < 0) {
            fprintf(stderr, "mmdx encode records: --index-date \"%s\": not a FHIR date (e.g. 2024-01-31)\n",
                    index_arg);
            free(cfg_spec);
            free(cfg_index);
            return MMDX_EXIT_USAGE;
        }
        index_text = index_arg;
    }
    mmdx_records *enc;
    rc = mmdx_records_new(&enc, spec);
    int exit_code;
    if (rc < 0) {
        exit_code = mmdx_cli_report("encode records", rc);
    } else if (list) {
        const char *const *names;
        size_t nf = mmdx_records_features(enc, &names);
        for (size_t j = 0; j < nf; j++)
            printf("records.%s\n", names[j]);
        exit_code = MMDX_EXIT_OK;
    } else if (all) {
        if (threads)
            mmdx_records_set_threads(enc, threads);
        exit_code = encode_all(enc, argv[optind], out, &index, json, progress);
    } else {
        exit_code = encode_single(enc, argv[optind], patient, &index, index_text, json);
    }
    mmdx_records_free(enc);
    free(cfg_spec);
    free(cfg_index);
    return exit_code;
}
