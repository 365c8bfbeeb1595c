/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "cli.h"
#include "site_settings.h"
#include "error.h"
#include "cohort_input.h"
#include "model_session.h"
#include "report.h"
#include "view_output.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx evaluate --model M.mmdx --cohort C.csv [--features F.csv] [--json]\n"
            "                     [--plots DIR] [--report F.html] [--bootstrap B] [--seed S]\n"
            "\n"
            "Score a labelled cohort with a model and report AUROC, AUPRC, Brier score,\n"
            "calibration slope and intercept, and the confusion matrix at the model's threshold,\n"
            "over all patients and for each combination of modalities present.\n"
            "\n"
            "  --model M.mmdx     model file (integrity always checked)\n"
            "  --cohort C.csv     cohort manifest with a 0/1 label column\n"
            "  --features F.csv   feature table instead of running the encoders\n"
            "  --site-key FILE    site key to verify the model's signature (else $MMDX_SITE_KEY,\n"
            "                     else [audit] site_key_file)\n"
            "  --require-signed   refuse a model without a valid signature (also\n"
            "                     $MMDX_REQUIRE_SIGNED_MODELS=1)\n"
            "  --keep-going       encoders: a failing input marks that modality missing\n"
            "  --threads N        worker threads\n"
            "  --config F         site configuration\n"
            "  --json             print the report as JSON\n"
            "  --plots DIR        write the charts as DIR/<name>.svg and .png: roc, pr, calibration\n"
            "                     (and one per modality combination), contributions, risk (DIR is\n"
            "                     created when its parent exists)\n"
            "  --report F.html    write a self-contained HTML report: model card, cohort, metrics\n"
            "                     with confidence intervals, the plots inline (docs/views.md)\n"
            "  --bootstrap B      bootstrap replicates of the 95%% intervals and bands (default %d)\n"
            "  --seed S           the bootstrap's seed (default 1)\n"
            "  --no-progress      no progress display\n"
            "\n"
            "Exit codes: 0 done; 1 runtime failure; 2 usage; 3 bad input or a feature schema /\n"
            "encoder version that differs from training; 4 the model file is altered, truncated\n"
            "or its signature does not verify. An output that cannot be written: 1, and nothing\n"
            "is left half-written.\n", MMDX_VIEW_DEFAULT_BOOTSTRAP);
}

int mmdx_cmd_evaluate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},   {"cohort", required_argument, NULL, 'C'},
        {"features", required_argument, NULL, 'F'}, {"site-key", required_argument, NULL, 'K'},
        {"require-signed", no_argument, NULL, 'R'}, {"keep-going", no_argument, NULL, 'g'},
        {"threads", required_argument, NULL, 't'}, {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},          {"no-progress", no_argument, NULL, 'P'},
        {"plots", required_argument, NULL, 'p'},   {"report", required_argument, NULL, 'r'},
        {"bootstrap", required_argument, NULL, 'B'}, {"seed", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    mmdx_cli_view_args va = {NULL, NULL, 0, 1};
    const char *model_path = NULL, *cohort = NULL, *features = NULL, *key = NULL, *config = NULL;
    int require = 0, keep_going = 0, threads = 0, json = 0, progress = 1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'C': cohort = optarg; break;
        case 'F': features = optarg; break;
        case 'K': key = optarg; break;
        case 'R': require = 1; break;
        case 'g': keep_going = 1; break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx evaluate: --threads \"%s\": expected 1..1024\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'c': config = optarg; break;
        case 'j': json = 1; break;
        case 'P': progress = 0; break;
        case 'p': va.plots_dir = optarg; break;
        case 'r': va.report = optarg; break;
        case 'B':
        case 'S':
            if (mmdx_cli_view_parse(&va, c, optarg) < 0)
                return MMDX_EXIT_USAGE;
            break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (optind < argc || !model_path || (!cohort && !features)) {
        fprintf(stderr, "mmdx evaluate: give --model M and --cohort C (and/or --features F)\n");
        return MMDX_EXIT_USAGE;
    }
    mmdx_cli_env env;
    int rc = mmdx_cli_env_open(&env, config, threads, json);
    if (rc < 0)
        return mmdx_cli_report("evaluate", rc);
    omp_set_num_threads(env.threads > 0 ? env.threads : 1);
    mmdx_scored_cohort sc;
    mmdx_report *rep = NULL;
    mmdx_cohort_input_options io = {cohort, features, NULL, 0, MMDX_LABELS_REQUIRED, NULL,
                                    env.registry, env.config, env.threads, keep_going,
                                    stderr, NULL, progress, NULL};
    rc = mmdx_cli_score_cohort(&sc, &env, model_path, key, require, &io);
    const mmdx_model_file *mf = sc.session.file;
    if (!rc)
        rc = mmdx_report_new(&rep, &sc.in->ds, sc.prob, mf->threshold);
    int exit_code = MMDX_EXIT_OK;
    if (!rc && (va.plots_dir || va.report))
        rc = mmdx_cli_evaluate_views(&va, &sc, model_path, cohort ? cohort : features);
    if (rc) {
        exit_code = mmdx_cli_report("evaluate", rc);
    } else if (json) {
        json_object *o = mmdx_report_json(rep);
        json_object_object_add(o, "model", json_object_new_string(model_path));
        json_object_object_add(o, "model_sha256", json_object_new_string(mf->sha256));
        json_object_object_add(o, "fusion", json_object_new_string(mf->fusion));
        json_object_object_add(o, "classifier", json_object_new_string(mf->classifier));
        json_object_object_add(o, "signature_verified", json_object_new_boolean(mf->signature_verified));
        mmdx_cli_print_json(o);
        json_object_put(o);
    } else {
        printf("model %s: %s fusion / %s, trained %s on %zu patients; signature %s\n", model_path,
               mf->fusion, mf->classifier, mf->created, mf->n_train,
               mf->signature_verified ? "verified" : mf->is_signed ? "present, not verified (no key)"
                                                                           : "none");
        mmdx_report_print(rep, stdout);
    }
    mmdx_report_free(rep);
    mmdx_scored_cohort_free(&sc);
    mmdx_cli_env_close(&env);
    return exit_code;
}
