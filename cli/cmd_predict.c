/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp.h>

#include "atomic_file.h"
#include "cli.h"
#include "site_settings.h"
#include "csv.h"
#include "error.h"
#include "fhir_risk.h"
#include "cohort_input.h"
#include "model_session.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx predict --model M.mmdx --cohort C.csv --out P.csv [--features F.csv]\n"
            "                    [--embeddings E.csv] [--impute I.csv] [--fhir R.ndjson]\n"
            "\n"
            "Write each patient's risk: patient_id, probability, decision (1 when probability >=\n"
            "the model's threshold), then per modality its contribution to the log-odds\n"
            "(contribution.<modality>; empty when the patient does not have that modality).\n"
            "Labels are not needed.\n"
            "\n"
            "  --model M.mmdx     model file (integrity always checked)\n"
            "  --cohort C.csv     cohort manifest\n"
            "  --features F.csv   feature table instead of running the encoders\n"
            "  --out P.csv        predictions, written atomically ('-' for standard output)\n"
            "  --embeddings E.csv joint fusion: each patient's fused vector (fused.0..) and each\n"
            "                     present modality's token (<modality>.0..; empty when absent)\n"
            "  --impute I.csv     joint fusion: the feature table with every absent modality's\n"
            "                     features estimated from the present ones (encoder units);\n"
            "                     <modality>.imputed is 1 where that was done\n"
            "  --fhir R.ndjson    the predictions as FHIR R4 RiskAssessment resources, one per line\n"
            "                     (subject by patient identifier, the model as a contained Device)\n"
            "  --fhir-system URI  the subject identifier's system (default urn:mmdx:patient-id)\n"
            "  --site-key FILE    site key to verify the model's signature (else $MMDX_SITE_KEY,\n"
            "                     else [audit] site_key_file)\n"
            "  --require-signed   refuse a model without a valid signature (also\n"
            "                     $MMDX_REQUIRE_SIGNED_MODELS=1)\n"
            "  --keep-going       encoders: a failing input marks that modality missing\n"
            "  --threads N        worker threads\n"
            "  --config F         site configuration\n"
            "  --json             print a summary as JSON\n"
            "  --no-progress      no progress display\n"
            "\n"
            "Exit codes: 0 done; 1 runtime failure; 2 usage; 3 bad input or a feature schema /\n"
            "encoder version that differs from training, or --embeddings/--impute with a model\n"
            "that has no shared representation; 4 the model file is altered, truncated or its\n"
            "signature does not verify.\n");
}

static void write_rows(FILE *f, const mmdx_cohort_input *in, const double *prob, const double *contrib,
                       double threshold)
{
    size_t M = in->n_modalities;
    fprintf(f, "patient_id,probability,decision");
    for (size_t m = 0; m < M; m++)
        fprintf(f, ",contribution.%s", in->modalities[m]);
    fputc('\n', f);
    for (size_t i = 0; i < in->n; i++) {
        mmdx_csv_write_field(f, in->ids[i], ',');
        fprintf(f, ",%.10g,%d", prob[i], prob[i] >= threshold);
        for (size_t m = 0; m < M; m++) {
            if (in->present[i * M + m])
                fprintf(f, ",%.6g", contrib[i * M + m]);
            else
                fputc(',', f);
        }
        fputc('\n', f);
    }
}

static int write_predictions(const char *path, const mmdx_cohort_input *in, const double *prob,
                             const double *contrib, double threshold)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc)
        return rc;
    write_rows(af.f, in, prob, contrib, threshold);
    return mmdx_atomic_file_commit(&af);
}

/* patient_id, fused.0.., then <modality>.0.. per modality (empty when absent). */
static int write_embeddings(const char *path, const mmdx_cohort_input *in, const double *fused, const double *tok,
                            uint32_t D)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc)
        return rc;
    FILE *f = af.f;
    size_t M = in->n_modalities;
    fputs("patient_id", f);
    for (uint32_t c = 0; c < D; c++)
        fprintf(f, ",fused.%u", c);
    for (size_t m = 0; m < M; m++)
        for (uint32_t c = 0; c < D; c++)
            fprintf(f, ",%s.%u", in->modalities[m], c);
    fputc('\n', f);
    for (size_t i = 0; i < in->n; i++) {
        mmdx_csv_write_field(f, in->ids[i], ',');
        for (uint32_t c = 0; c < D; c++)
            fprintf(f, ",%.17g", fused[i * D + c]);
        for (size_t m = 0; m < M; m++)
            for (uint32_t c = 0; c < D; c++) {
                if (in->present[i * M + m])
                    fprintf(f, ",%.17g", tok[(i * M + m) * D + c]);
                else
                    fputc(',', f);
            }
        fputc('\n', f);
    }
    return mmdx_atomic_file_commit(&af);
}

/* patient_id, <modality>.imputed per modality, then the model's features (present: as given; absent: imputed). */
static int write_imputed(const char *path, const mmdx_cohort_input *in, const double *x)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc)
        return rc;
    FILE *f = af.f;
    size_t M = in->n_modalities, F = in->n_features;
    fputs("patient_id", f);
    for (size_t m = 0; m < M; m++)
        fprintf(f, ",%s.imputed", in->modalities[m]);
    for (size_t k = 0; k < F; k++) {
        fputc(',', f);
        mmdx_csv_write_field(f, in->feature_names[k], ',');
    }
    fputc('\n', f);
    for (size_t i = 0; i < in->n; i++) {
        mmdx_csv_write_field(f, in->ids[i], ',');
        for (size_t m = 0; m < M; m++)
            fprintf(f, ",%d", !in->present[i * M + m]);
        for (size_t k = 0; k < F; k++) {
            double v = x[i * F + k];
            if (isnan(v))
                fputc(',', f);
            else
                fprintf(f, ",%.17g", v);
        }
        fputc('\n', f);
    }
    return mmdx_atomic_file_commit(&af);
}

int mmdx_cmd_predict(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},   {"cohort", required_argument, NULL, 'C'},
        {"features", required_argument, NULL, 'F'}, {"out", required_argument, NULL, 'o'},
        {"site-key", required_argument, NULL, 'K'},     {"require-signed", no_argument, NULL, 'R'},
        {"keep-going", no_argument, NULL, 'g'},    {"threads", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},  {"json", no_argument, NULL, 'j'},
        {"no-progress", no_argument, NULL, 'P'},   {"help", no_argument, NULL, 'h'},
        {"embeddings", required_argument, NULL, 'E'}, {"impute", required_argument, NULL, 'I'},
        {"fhir", required_argument, NULL, 'H'},       {"fhir-system", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *cohort = NULL, *features = NULL, *key = NULL, *config = NULL,
               *out = NULL, *emb_out = NULL, *imp_out = NULL, *fhir_out = NULL, *fhir_system = NULL;
    int require = 0, keep_going = 0, threads = 0, json = 0, progress = 1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'C': cohort = optarg; break;
        case 'F': features = optarg; break;
        case 'o': out = optarg; break;
        case 'E': emb_out = optarg; break;
        case 'I': imp_out = optarg; break;
        case 'H': fhir_out = optarg; break;
        case 'S': fhir_system = optarg; break;
        case 'K': key = optarg; break;
        case 'R': require = 1; break;
        case 'g': keep_going = 1; break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx predict: --threads \"%s\": expected 1..1024\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'c': config = optarg; break;
        case 'j': json = 1; break;
        case 'P': progress = 0; break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (optind < argc || !model_path || !out || (!cohort && !features)) {
        fprintf(stderr, "mmdx predict: give --model M, --out P.csv and --cohort C (and/or --features F)\n");
        return MMDX_EXIT_USAGE;
    }
    const char *outs[4] = {out, emb_out, imp_out, fhir_out};
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            if (outs[a] && outs[b] && !strcmp(outs[a], outs[b])) {
                fprintf(stderr, "mmdx predict: --out, --embeddings, --impute and --fhir must name different files\n");
                return MMDX_EXIT_USAGE;
            }
    if (fhir_system && !*fhir_system) {
        fprintf(stderr, "mmdx predict: --fhir-system must not be empty\n");
        return MMDX_EXIT_USAGE;
    }
    if (json && strcmp(out, "-") == 0) {
        fprintf(stderr, "mmdx predict: --json and --out - both write to standard output\n");
        return MMDX_EXIT_USAGE;
    }
    mmdx_cli_env env;
    int rc = mmdx_cli_env_open(&env, config, threads, json);
    if (rc < 0)
        return mmdx_cli_report("predict", rc);
    omp_set_num_threads(env.threads > 0 ? env.threads : 1);
    mmdx_scored_cohort sc;
    mmdx_cohort_input_options io = {cohort, features, NULL, 0, MMDX_LABELS_OPTIONAL, NULL,
                                    env.registry, env.config, env.threads, keep_going,
                                    stderr, NULL, progress, NULL};
    rc = mmdx_cli_score_cohort(&sc, &env, model_path, key, require, &io);
    const mmdx_model_file *mf = sc.session.file;
    const mmdx_cohort_input *in = sc.in;
    const double *prob = sc.prob;
    double *fused = NULL, *tokens = NULL, *imputed = NULL;
    uint32_t dim = 0;
    /* everything is computed before anything is written: a refusal leaves no file behind */
    if (!rc && emb_out)
        rc = mmdx_model_session_embed(&sc.session, &in->ds, &fused, &tokens, &dim);
    if (!rc && imp_out)
        rc = mmdx_model_session_impute(&sc.session, &in->ds, &imputed);
    if (!rc)
        rc = write_predictions(out, in, prob, sc.contrib, mf->threshold);
    if (!rc && emb_out)
        rc = write_embeddings(emb_out, in, fused, tokens, dim);
    if (!rc && imp_out)
        rc = write_imputed(imp_out, in, imputed);
    if (!rc && fhir_out)
        rc = mmdx_fhir_risk_write(fhir_out, mf, in, prob, sc.contrib, fhir_system);
    free(fused);
    free(tokens);
    free(imputed);
    int exit_code = MMDX_EXIT_OK;
    if (rc) {
        exit_code = mmdx_cli_report("predict", rc);
    } else {
        size_t positive = 0;
        for (size_t i = 0; i < in->n; i++)
            positive += prob[i] >= mf->threshold;
        if (json) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "model", json_object_new_string(model_path));
            json_object_object_add(o, "model_sha256", json_object_new_string(mf->sha256));
            json_object_object_add(o, "patients", json_object_new_int64((int64_t)in->n));
            json_object_object_add(o, "positive_decisions", json_object_new_int64((int64_t)positive));
            json_object_object_add(o, "threshold", json_object_new_double(mf->threshold));
            json_object_object_add(o, "signature_verified", json_object_new_boolean(mf->signature_verified));
            json_object_object_add(o, "out", json_object_new_string(out));
            if (emb_out) {
                json_object_object_add(o, "embeddings", json_object_new_string(emb_out));
                json_object_object_add(o, "embedding_dim", json_object_new_int((int)dim));
            }
            if (imp_out)
                json_object_object_add(o, "imputed", json_object_new_string(imp_out));
            if (fhir_out)
                json_object_object_add(o, "fhir", json_object_new_string(fhir_out));
            mmdx_cli_print_json(o);
            json_object_put(o);
        } else {
            fprintf(stderr, "mmdx predict: %zu patients, %zu at or above the threshold %.4g -> %s\n", in->n,
                    positive, mf->threshold, out);
        }
    }
    mmdx_scored_cohort_free(&sc);
    mmdx_cli_env_close(&env);
    return exit_code;
}
