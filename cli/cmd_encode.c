/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "encoders.h"
#include "error.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx encode --cohort C.csv --out features.csv [options]\n"
            "       mmdx encode <modality> PATH [--sample S] [--extra KEY=VALUE]... [--json]\n"
            "\n"
            "Run every encoder plugin over every patient of a cohort manifest and write a\n"
            "wide feature table: patient_id, then per modality <modality>.present (0/1) and\n"
            "its <modality>.<feature> columns (empty where missing), then label.\n"
            "The second form encodes one input with one encoder and prints its features.\n"
            "\n"
            "  --cohort C.csv    cohort manifest (patient_id,dicom,vcf,vcf_sample,record,label)\n"
            "  --out F.csv       output table, written atomically ('-' for standard output)\n"
            "  --only LIST       comma-separated encoders (name or modality) to run\n"
            "  --threads N       patients encoded in parallel\n"
            "  --keep-going      a failing input marks that modality missing and the run goes on\n"
            "  --no-progress     no progress display\n"
            "  --json            print the run summary (or one input's features) as JSON\n"
            "  --config F        site configuration\n"
            "  --sample S        sample inside a multi-sample input (one-input form)\n"
            "  --extra K=V       an extra manifest field for the encoder, e.g. mask=roi.nii.gz\n"
            "\n"
            "Exit codes: 0 done (with --keep-going, failures are counted in the summary);\n"
            "1 runtime failure (I/O, a plugin's internal error); 2 usage; 3 bad input: a\n"
            "missing or malformed input without --keep-going, a bad manifest or configuration.\n");
}

static int split_list(char *s, const char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        if (*t)
            out[n++] = t;
    return (int)n;
}

static int encode_cohort(const char *cohort, const char *out_path, const char *config, int threads,
                         int keep_going, int progress, int json, const char **only, size_t n_only)
{
    mmdx_cli_env env;
    mmdx_manifest *m = NULL;
    mmdx_encoder_set *set = NULL;
    mmdx_feature_table *t = NULL;
    mmdx_encode_summary sum;
    int rc = mmdx_cli_env_open(&env, config, threads, 0);
    if (rc < 0)
        return mmdx_cli_report("encode", rc);
    const char *cohort_encoders[64];
    rc = mmdx_manifest_load(&m, cohort);
    if (rc == 0 && !n_only) {
        n_only = mmdx_encoders_for_manifest(env.registry, m, cohort_encoders, 64);
        only = cohort_encoders;
        if (n_only == 0)
            rc = mmdx_fail(MMDX_ENOTFOUND,
                           "%s: no column of the manifest is read by a loaded encoder (see mmdx "
                           "plugins: each encoder names its input column)",
                           cohort);
    }
    if (rc == 0)
        rc = mmdx_encoder_set_open(&set, env.registry, env.config, 1, only, n_only);
    if (rc == 0) {
        mmdx_encode_options opt = {keep_going, stderr, progress && isatty(fileno(stderr)), mmdx_cli_catch_interrupts()};
        if (progress && !opt.progress)
            opt.progress = 1; /* plain periodic lines when not a terminal */
        rc = mmdx_encoder_set_encode_cohort(set, m, &opt, &t, &sum);
    }
    if (rc == 0)
        rc = mmdx_feature_table_write(t, out_path);
    int exit_code = MMDX_EXIT_OK;
    if (rc < 0) {
        exit_code = mmdx_cli_report("encode", rc);
    } else if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "patients", json_object_new_int64((int64_t)sum.n_patients));
        json_object_object_add(o, "complete", json_object_new_int64((int64_t)sum.n_complete));
        json_object_object_add(o, "failures", json_object_new_int64((int64_t)sum.n_failures));
        json_object_object_add(o, "features", json_object_new_int64((int64_t)t->n_features));
        json_object_object_add(o, "seconds", json_object_new_double(sum.seconds));
        json_object_object_add(o, "out", json_object_new_string(out_path));
        mmdx_cli_print_json(o);
        json_object_put(o);
    } else {
        fprintf(stderr,
                "mmdx encode: %zu patients, %zu with every modality, %zu failed input(s), %zu "
                "features, %.1f s -> %s\n",
                sum.n_patients, sum.n_complete, sum.n_failures, t->n_features, sum.seconds, out_path);
    }
    mmdx_feature_table_free(t);
    mmdx_encoder_set_free(set);
    mmdx_manifest_free(m);
    mmdx_cli_env_close(&env);
    return exit_code;
}

static int encode_one(const char *which, const char *path, const char *sample, const char *config,
                      int json, const char **extra, size_t n_extra)
{
    mmdx_cli_env env;
    mmdx_encoder_set *set = NULL;
    int rc = mmdx_cli_env_open(&env, config, 0, json);
    if (rc < 0)
        return mmdx_cli_report("encode", rc);
    rc = mmdx_encoder_set_open(&set, env.registry, env.config, env.threads, &which, 1);
    const char **keys = calloc(n_extra + 1, sizeof *keys), **vals = calloc(n_extra + 1, sizeof *vals);
    char **copies = calloc(n_extra + 1, sizeof *copies);
    if (rc == 0 && (!keys || !vals || !copies))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n_extra; i++) {
        copies[i] = strdup(extra[i]);
        char *eq = copies[i] ? strchr(copies[i], '=') : NULL;
        if (!eq || eq == copies[i]) {
            rc = mmdx_fail(MMDX_EINVAL, "--extra \"%s\": expected KEY=VALUE", extra[i]);
            break;
        }
        *eq = '\0';
        keys[i] = copies[i];
        vals[i] = eq + 1;
    }
    size_t nf = rc == 0 ? mmdx_encoder_set_n_features(set, 0) : 0;
    double *values = calloc(nf + 1, sizeof *values);
    int32_t present = 0;
    if (rc == 0 && !values)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == 0) {
        mmdx_encoder_input in;
        mmdx_encoder_input_init(&in, "", path, sample, path);
        in.n_extra = n_extra;
        in.extra_keys = keys;
        in.extra_values = vals;
        rc = mmdx_encoder_set_encode_one(set, 0, &in, values, &present);
    }
    int exit_code = MMDX_EXIT_OK;
    if (rc < 0) {
        exit_code = mmdx_cli_report("encode", rc);
    } else {
        const char *mod = mmdx_encoder_set_plugin(set, 0)->info.modality;
        const char *const *names = mmdx_encoder_set_feature_names(set, 0);
        if (json) {
            json_object *o = json_object_new_object(), *fs = json_object_new_object();
            json_object_object_add(o, "modality", json_object_new_string(mod));
            json_object_object_add(o, "input", json_object_new_string(path));
            json_object_object_add(o, "present", json_object_new_boolean(present != 0));
            for (size_t j = 0; j < nf; j++) {
                char full[256];
                snprintf(full, sizeof full, "%s.%s", mod, names[j]);
                json_object_object_add(fs, full, present && isfinite(values[j])
                                                     ? json_object_new_double(values[j])
                                                     : NULL);
            }
            json_object_object_add(o, "features", fs);
            mmdx_cli_print_json(o);
            json_object_put(o);
        } else {
            printf("%s.present\t%d\n", mod, present ? 1 : 0);
            for (size_t j = 0; j < nf; j++) {
                if (present && isfinite(values[j]))
                    printf("%s.%s\t%.10g\n", mod, names[j], values[j]);
                else
                    printf("%s.%s\t\n", mod, names[j]);
            }
        }
    }
    for (size_t i = 0; copies && i < n_extra; i++)
        free(copies[i]);
    free(copies);
    free(keys);
    free(vals);
    free(values);
    mmdx_encoder_set_free(set);
    mmdx_cli_env_close(&env);
    return exit_code;
}

/* Modalities whose standalone form has options of its own (mmdx encode <modality> ...). */
static const struct {
    const char *modality;
    int (*run)(int argc, char **argv);
} specialised[] = {
    {"imaging", mmdx_cmd_encode_imaging},
    {"records", mmdx_cmd_encode_records},
    {NULL, NULL},
};

int mmdx_cmd_encode(int argc, char **argv)
{
    if (argc > 1 && argv[1][0] != '-')
        for (size_t i = 0; specialised[i].modality; i++)
            if (strcmp(argv[1], specialised[i].modality) == 0)
                return specialised[i].run(argc - 1, argv + 1);

    static const struct option opts[] = {
        {"cohort", required_argument, NULL, 'C'}, {"out", required_argument, NULL, 'o'},
        {"only", required_argument, NULL, 'O'},   {"threads", required_argument, NULL, 't'},
        {"keep-going", no_argument, NULL, 'k'},   {"no-progress", no_argument, NULL, 'P'},
        {"json", no_argument, NULL, 'j'},         {"config", required_argument, NULL, 'c'},
        {"sample", required_argument, NULL, 's'}, {"extra", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *cohort = NULL, *out = NULL, *config = NULL, *sample = NULL;
    char *only_arg = NULL;
    const char *extra[64];
    size_t n_extra = 0;
    int threads = 0, keep_going = 0, progress = 1, json = 0, c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'C': cohort = optarg; break;
        case 'o': out = optarg; break;
        case 'O': only_arg = optarg; break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx encode: --threads \"%s\": expected 1..1024\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'k': keep_going = 1; break;
        case 'P': progress = 0; break;
        case 'j': json = 1; break;
        case 'c': config = optarg; break;
        case 's': sample = optarg; break;
        case 'e':
            if (n_extra == sizeof extra / sizeof *extra) {
                fprintf(stderr, "mmdx encode: too many --extra options\n");
                return MMDX_EXIT_USAGE;
            }
            extra[n_extra++] = optarg;
            break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (cohort) {
        if (optind < argc) {
            fprintf(stderr, "mmdx encode: unexpected argument \"%s\"\n", argv[optind]);
            return MMDX_EXIT_USAGE;
        }
        if (!out) {
            fprintf(stderr, "mmdx encode: --out is required with --cohort\n");
            return MMDX_EXIT_USAGE;
        }
        const char *only[32];
        size_t n_only = 0;
        char *only_copy = only_arg ? strdup(only_arg) : NULL;
        if (only_copy)
            n_only = (size_t)split_list(only_copy, only, 32);
        int r = encode_cohort(cohort, out, config, threads, keep_going, progress, json, only, n_only);
        free(only_copy);
        return r;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "mmdx encode: give --cohort C.csv --out F.csv, or <modality> PATH\n");
        help(stderr);
        return MMDX_EXIT_USAGE;
    }
    return encode_one(argv[optind], argv[optind + 1], sample, config, json, extra, n_extra);
}
