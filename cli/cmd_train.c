/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>

#include "atomic_file.h"
#include "cli.h"
#include "site_settings.h"
#include "crossval.h"
#include "csv.h"
#include "error.h"
#include "cohort_input.h"
#include "model_session.h"
#include "path.h"
#include "report.h"

#ifndef MMDX_VERSION
#define MMDX_VERSION "unknown"
#endif

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx train --cohort C.csv --fusion early|late|joint [--classifier logreg|mlp] --out M.mmdx\n"
            "                  [--features F.csv] [--folds K] [--seed S] [options]\n"
            "\n"
            "Fit a fusion model and write it as a self-describing, integrity-checked model file.\n"
            "Features come from the encoder plugins run over the cohort manifest, or from a\n"
            "feature table written by `mmdx encode` (--features; then --cohort selects the\n"
            "patients and gives the labels, and may be left out when the table has a label column).\n"
            "\n"
            "  --cohort C.csv        cohort manifest with a 0/1 label column\n"
            "  --features F.csv      feature table instead of running the encoders\n"
            "  --fusion NAME         early (default), late, or joint (a shared representation:\n"
            "                        modality tokens, attention, reconstruction; docs/fusion.md)\n"
            "  --classifier NAME     early/late: logreg (default) or mlp; joint: attention (its only one)\n"
            "  --out M.mmdx          model file, written atomically\n"
            "  --folds K             also report K-fold stratified cross-validation (2..50)\n"
            "  --cv-predictions P    with --folds: write patient_id,fold,label,probability\n"
            "  --seed S              seed of folds, splits and initialisation (default 1)\n"
            "  --threshold T         decision threshold: a probability in (0,1) (default 0.5), or\n"
            "                        'youden' (maximises sensitivity+specificity on the\n"
            "                        cross-validated predictions; needs --folds)\n"
            "  --modalities LIST     train on these modalities only (comma-separated)\n"
            "  --site-key FILE       sign the model (HMAC-SHA-256 with the site key's model key;\n"
            "                        else $MMDX_SITE_KEY, else [audit] site_key_file)\n"
            "  --keep-going          encoders: a failing input marks that modality missing\n"
            "  --threads N           threads for fitting\n"
            "  --config F            site configuration ([early]/[late]/[joint] sections hold the\n"
            "                        fusion settings)\n"
            "  --json                print the summary (and cross-validation report) as JSON\n"
            "  --no-progress         no progress display\n"
            "\n"
            "Exit codes: 0 done; 1 fitting or writing failed; 2 usage; 3 bad input (labels,\n"
            "features, configuration).\n");
}

static size_t split_list(char *s, const char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        if (*t)
            out[n++] = t;
    return n;
}

static void utc_now(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

typedef struct train_args {
    const char *cohort, *features, *fusion, *classifier, *out, *key, *config, *cv_out, *threshold;
    const char *modalities[64];
    size_t n_modalities;
    unsigned folds;
    uint64_t seed;
    int threads, json, progress, keep_going;
} train_args;

static int write_cv_predictions(const char *path, const mmdx_cohort_input *in, const mmdx_cv_result *cv)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc)
        return rc;
    fprintf(af.f, "patient_id,fold,label,probability\n");
    for (size_t i = 0; i < in->n; i++) {
        mmdx_csv_write_field(af.f, in->ids[i], ',');
        fprintf(af.f, ",%u,%d,%.17g\n", (unsigned)cv->fold[i], (int)in->labels[i], cv->prob[i]);
    }
    return mmdx_atomic_file_commit(&af);
}

/* Fail before a long fit, not after it, when an output cannot be written. */
static int check_writable(const char *path)
{
    char *dir = mmdx_path_dirname(path);
    int ok = dir && access(dir, W_OK | X_OK) == 0;
    int e = errno;
    free(dir);
    if (!ok)
        return mmdx_fail(MMDX_EIO, "%s: cannot write there: %s", path, strerror(e));
    return 0;
}

/* The model-signing key: --site-key, else $MMDX_SITE_KEY, else [audit] site_key_file. */
static int load_site_key(uint8_t **key, size_t *key_len, const char *option, const mmdx_config *config)
{
    mmdx_site_overrides cmdline = MMDX_SITE_OVERRIDES_NONE;
    cmdline.site_key_file = option;
    mmdx_audit_settings site;
    int rc = mmdx_cli_site_settings(&site, config, &cmdline);
    if (rc == 0)
        rc = mmdx_model_key_load(key, key_len, site.site_key_file);
    mmdx_audit_settings_clear(&site);
    return rc;
}

static int run(const train_args *a)
{
    mmdx_cli_env env;
    int rc = mmdx_cli_env_open(&env, a->config, a->threads, a->json);
    if (rc < 0)
        return mmdx_cli_report("train", rc);
    FILE *msg = stderr;               /* warnings and failed inputs always */
    FILE *progress_out = a->progress ? stderr : NULL;
    mmdx_cohort_input *in = NULL;
    mmdx_model_file *mf = NULL;
    mmdx_report *rep = NULL;
    mmdx_cv_result cv;
    memset(&cv, 0, sizeof cv);
    void *model = NULL;
    void *blob = NULL;
    size_t blob_len = 0;
    uint8_t *key = NULL;
    size_t key_len = 0;
    double threshold = 0.5;
    int youden = a->threshold && strcmp(a->threshold, "youden") == 0;
    const mmdx_plugin *plugin = mmdx_registry_find(env.registry, a->fusion);
    if (!plugin || plugin->info.kind != MMDX_PLUGIN_FUSION)
        rc = mmdx_fail(MMDX_ENOTFOUND, "no fusion plugin named '%s' is loaded (see mmdx plugins)", a->fusion);
    if (!rc && a->threshold && !youden) {
        char *end;
        threshold = strtod(a->threshold, &end);
        if (*end || end == a->threshold || !(threshold > 0 && threshold < 1))
            rc = mmdx_fail(MMDX_EINVAL, "--threshold '%s': expected a probability in (0, 1) or 'youden'",
                           a->threshold);
    }
    if (!rc)
        rc = check_writable(a->out);
    if (!rc && a->cv_out)
        rc = check_writable(a->cv_out);
    if (!rc && youden && !a->folds)
        rc = mmdx_fail(MMDX_EINVAL, "--threshold youden needs --folds K (it is chosen on cross-validated predictions)");
    if (!rc)
        rc = load_site_key(&key, &key_len, a->key, env.config);
    if (!rc) {
        mmdx_cohort_input_options io = {a->cohort, a->features, a->modalities, a->n_modalities,
                                        MMDX_LABELS_REQUIRED, NULL, env.registry, env.config,
                                        env.threads, a->keep_going, msg, NULL, a->progress, NULL};
        rc = mmdx_cohort_input_load(&in, &io);
    }
    mmdx_plugin_config pc;
    if (!rc)
        mmdx_config_section(env.config, a->fusion, env.threads, &pc);
    mmdx_fusion_params params = {MMDX_ABI_VERSION, sizeof params, a->classifier, a->seed, &pc,
                                 env.threads, 0};
    omp_set_num_threads(env.threads > 0 ? env.threads : 1);
    if (!rc && a->folds) {
        rc = mmdx_crossval(&cv, plugin, &params, &in->ds, a->folds, a->seed, progress_out);
        if (!rc && youden)
            threshold = mmdx_youden_threshold(cv.prob, in->labels, in->n);
        if (!rc)
            rc = mmdx_report_new(&rep, &in->ds, cv.prob, threshold);
        if (!rc && a->cv_out)
            rc = write_cv_predictions(a->cv_out, in, &cv);
    }
    mmdx_error err;
    memset(&err, 0, sizeof err);
    if (!rc && progress_out)
        fprintf(progress_out, "mmdx train: fitting %s fusion / %s on %zu patients x %zu features...\n", a->fusion,
                a->classifier, in->n, in->n_features);
    if (!rc && (rc = plugin->fusion.fit(&model, &params, &in->ds, &err)) != 0)
        rc = mmdx_fail_from(&err, rc);
    if (!rc && (rc = plugin->fusion.save(model, &blob, &blob_len, &err)) != 0)
        rc = mmdx_fail_from(&err, rc);
    if (!rc)
        rc = mmdx_model_file_new(&mf);
    if (!rc) {
        char created[32];
        utc_now(created, sizeof created);
        mf->mmdx_version = strdup(MMDX_VERSION);
        mf->created = strdup(created);
        mf->fusion = strdup(plugin->info.name);
        mf->fusion_version = strdup(plugin->info.version);
        rc = mmdx_config_section_hash(&pc, mf->fusion_config_sha256);
        mf->classifier = strdup(a->classifier);
        mf->seed = a->seed;
        mf->threshold = threshold;
        mf->from_encoders = in->from_encoders;
        mmdx_cohort_input_hash(in, mf->training_sha256);
        mf->n_train = in->n;
        for (size_t i = 0; i < in->n; i++)
            mf->n_train_pos += (size_t)in->labels[i];
        /* borrowed arrays: detached again before mmdx_model_file_free */
        mf->n_encoders = in->n_encoders;
        mf->encoders = in->encoders;
        mf->n_modalities = in->n_modalities;
        mf->modalities = (char **)in->modalities;
        mf->modality_features = calloc(in->n_modalities + 1, sizeof *mf->modality_features);
        for (size_t j = 0; mf->modality_features && j < in->n_features; j++)
            mf->modality_features[in->feature_modality[j]]++;
        mf->n_features = in->n_features;
        mf->feature_names = (char **)in->feature_names;
        mf->blob = blob;
        mf->blob_len = blob_len;
        if (!mf->mmdx_version || !mf->created || !mf->fusion || !mf->fusion_version || !mf->classifier ||
            !mf->modality_features)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        if (!rc)
            rc = mmdx_model_file_write(mf, a->out, key, key_len);
        mf->n_encoders = 0, mf->encoders = NULL;
        mf->n_modalities = 0, mf->modalities = NULL;
        mf->n_features = 0, mf->feature_names = NULL;
        mf->blob = NULL;
    }
    int exit_code = MMDX_EXIT_OK;
    if (rc) {
        exit_code = mmdx_cli_report("train", rc);
    } else if (a->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "model", json_object_new_string(a->out));
        json_object_object_add(o, "fusion", json_object_new_string(a->fusion));
        json_object_object_add(o, "classifier", json_object_new_string(a->classifier));
        json_object_object_add(o, "patients", json_object_new_int64((int64_t)in->n));
        json_object_object_add(o, "positives", json_object_new_int64((int64_t)mf->n_train_pos));
        json_object_object_add(o, "features", json_object_new_int64((int64_t)in->n_features));
        json_object_object_add(o, "threshold", json_object_new_double(threshold));
        json_object_object_add(o, "signed", json_object_new_boolean(key != NULL));
        json_object_object_add(o, "training_data_sha256", json_object_new_string(mf->training_sha256));
        if (rep) {
            json_object *c = mmdx_report_json(rep), *fa = json_object_new_array();
            double mean = 0, sd = 0;
            for (unsigned f = 0; f < cv.k; f++) {
                json_object_array_add(fa, isfinite(cv.fold_auroc[f]) ? json_object_new_double(cv.fold_auroc[f]) : NULL);
                mean += cv.fold_auroc[f] / cv.k;
            }
            for (unsigned f = 0; f < cv.k; f++)
                sd += (cv.fold_auroc[f] - mean) * (cv.fold_auroc[f] - mean) / (cv.k > 1 ? cv.k - 1 : 1);
            json_object_object_add(c, "folds", json_object_new_int((int)cv.k));
            json_object_object_add(c, "fold_auroc", fa);
            json_object_object_add(c, "fold_auroc_mean", json_object_new_double(mean));
            json_object_object_add(c, "fold_auroc_sd", json_object_new_double(sqrt(sd)));
            json_object_object_add(o, "cross_validation", c);
        }
        mmdx_cli_print_json(o);
        json_object_put(o);
    } else {
        if (rep) {
            double mean = 0;
            for (unsigned f = 0; f < cv.k; f++)
                mean += cv.fold_auroc[f] / cv.k;
            printf("%u-fold cross-validation (seed %llu), out-of-fold predictions:\n", cv.k,
                   (unsigned long long)a->seed);
            mmdx_report_print(rep, stdout);
            printf("mean AUROC over folds %.4f\n\n", mean);
        }
        printf("trained %s fusion / %s on %zu patients (%zu with label 1), %zu features of %zu "
               "modalities; threshold %.4g; %s -> %s\n",
               a->fusion, a->classifier, in->n, mf->n_train_pos, in->n_features, in->n_modalities,
               threshold, key ? "signed" : "unsigned", a->out);
    }
    if (model)
        plugin->fusion.free_model(model);
    if (blob)
        plugin->fusion.free_buffer(blob);
    mmdx_model_file_free(mf);
    mmdx_report_free(rep);
    mmdx_cv_result_free(&cv);
    mmdx_cohort_input_free(in);
    mmdx_model_key_free(key, key_len);
    mmdx_cli_env_close(&env);
    return exit_code;
}

int mmdx_cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cohort", required_argument, NULL, 'C'},     {"features", required_argument, NULL, 'F'},
        {"fusion", required_argument, NULL, 'f'},     {"classifier", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},        {"folds", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},       {"threshold", required_argument, NULL, 'T'},
        {"modalities", required_argument, NULL, 'M'}, {"site-key", required_argument, NULL, 'K'},
        {"cv-predictions", required_argument, NULL, 'p'}, {"keep-going", no_argument, NULL, 'g'},
        {"threads", required_argument, NULL, 't'},    {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},             {"no-progress", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    train_args a;
    memset(&a, 0, sizeof a);
    a.fusion = "early";
    a.classifier = NULL; /* the fusion's own default, below */
    a.seed = 1;
    a.progress = 1;
    char *mods = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'C': a.cohort = optarg; break;
        case 'F': a.features = optarg; break;
        case 'f': a.fusion = optarg; break;
        case 'm': a.classifier = optarg; break;
        case 'o': a.out = optarg; break;
        case 'k': {
            long k = strtol(optarg, &end, 10);
            if (*end || end == optarg || k < 2 || k > 50) {
                fprintf(stderr, "mmdx train: --folds \"%s\": expected 2..50\n", optarg);
                free(mods);
                return MMDX_EXIT_USAGE;
            }
            a.folds = (unsigned)k;
            break;
        }
        case 's':
            errno = 0;
            a.seed = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-') {
                fprintf(stderr, "mmdx train: --seed \"%s\": expected a non-negative integer\n", optarg);
                free(mods);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'T': a.threshold = optarg; break;
        case 'M':
            free(mods);
            mods = strdup(optarg);
            a.n_modalities = mods ? split_list(mods, a.modalities, 64) : 0;
            break;
        case 'K': a.key = optarg; break;
        case 'p': a.cv_out = optarg; break;
        case 'g': a.keep_going = 1; break;
        case 't':
            if (!(a.threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx train: --threads \"%s\": expected 1..1024\n", optarg);
                free(mods);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'c': a.config = optarg; break;
        case 'j': a.json = 1; break;
        case 'P': a.progress = 0; break;
        case 'h': help(stdout); free(mods); return MMDX_EXIT_OK;
        default: help(stderr); free(mods); return MMDX_EXIT_USAGE;
        }
    }
    const char *usage_error = NULL;
    if (optind < argc)
        usage_error = "unexpected argument";
    else if (!a.out)
        usage_error = "--out is required";
    else if (!a.cohort && !a.features)
        usage_error = "give --cohort C.csv (and/or --features F.csv)";
    else if (!strcmp(a.fusion, "joint") && a.classifier && strcmp(a.classifier, "attention") != 0)
        usage_error = "--fusion joint has one classifier, attention (leave --classifier out)";
    else if (strcmp(a.fusion, "joint") != 0 && a.classifier && strcmp(a.classifier, "logreg") != 0 &&
             strcmp(a.classifier, "mlp") != 0)
        usage_error = "--classifier must be logreg or mlp";
    else if (a.cv_out && !a.folds)
        usage_error = "--cv-predictions needs --folds";
    if (!a.classifier)
        a.classifier = strcmp(a.fusion, "joint") == 0 ? "attention" : "logreg";
    if (usage_error) {
        fprintf(stderr, "mmdx train: %s (see mmdx train --help)\n", usage_error);
        free(mods);
        return MMDX_EXIT_USAGE;
    }
    int r = run(&a);
    free(mods);
    return r;
}
