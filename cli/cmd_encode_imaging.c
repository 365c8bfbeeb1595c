/*
 * cli/cmd_encode_imaging.c — `mmdx encode imaging PATH`: one study's radiomics features.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Runs the loaded "imaging" plugin (the same code a cohort run uses) on one
 * input, with the mask, ROI and series given on the command line as the
 * manifest's columns would give them.
 */
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
            "Usage: mmdx encode imaging PATH [--mask M] [--roi NAME] [--series UID] [--config F] [--json]\n"
            "\n"
            "Print the IBSI radiomics features of one study. PATH is a DICOM file (single- or\n"
            "multi-frame), a folder holding one DICOM series (searched recursively), or a NIfTI\n"
            "image. Without --mask, the region is found automatically (Otsu threshold, largest\n"
            "connected component). Processing (interpolation, re-segmentation, discretisation,\n"
            "families) comes from the [imaging] section of the configuration; see docs/imaging.md.\n"
            "\n"
            "  --mask M       region of interest: NIfTI mask, DICOM SEG or RTSTRUCT on PATH's grid\n"
            "  --roi NAME     structure (RTSTRUCT) or segment label (SEG) when M holds several\n"
            "  --series UID   the SeriesInstanceUID to read when PATH's folder holds several\n"
            "  --config F     site configuration (default: $MMDX_CONFIG, /etc/mmdx/mmdx.conf)\n"
            "  --threads N    threads decoding slices and computing features\n"
            "  --json         print a JSON object instead of name<TAB>value lines\n"
            "\n"
            "Exit codes: 0 done; 1 failure; 2 usage; 3 bad input (unreadable or unsupported file,\n"
            "inconsistent series, mask on another grid, bad configuration).\n");
}

static void print_features(const char *mod, const char *path, const char *mask, const char *const *names,
                           const double *values, size_t n, int json)
{
    if (json) {
        json_object *o = json_object_new_object(), *fs = json_object_new_object();
        json_object_object_add(o, "modality", json_object_new_string(mod));
        json_object_object_add(o, "input", json_object_new_string(path));
        json_object_object_add(o, "mask", mask ? json_object_new_string(mask) : json_object_new_string("automatic"));
        json_object_object_add(o, "n_features", json_object_new_int64((int64_t)n));
        for (size_t j = 0; j < n; j++) {
            char full[256];
            snprintf(full, sizeof full, "%s.%s", mod, names[j]);
            json_object_object_add(fs, full, isfinite(values[j]) ? json_object_new_double(values[j]) : NULL);
        }
        json_object_object_add(o, "features", fs);
        mmdx_cli_print_json(o);
        json_object_put(o);
        return;
    }
    for (size_t j = 0; j < n; j++) {
        if (isfinite(values[j]))
            printf("%s.%s\t%.10g\n", mod, names[j], values[j]);
        else
            printf("%s.%s\t\n", mod, names[j]);
    }
}

int mmdx_cmd_encode_imaging(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mask", required_argument, NULL, 'm'},   {"roi", required_argument, NULL, 'r'},
        {"series", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *mask = NULL, *roi = NULL, *series = NULL, *config = NULL;
    int json = 0, threads = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': mask = optarg; break;
        case 'r': roi = optarg; break;
        case 's': series = optarg; break;
        case 'c': config = optarg; break;
        case 'j': json = 1; break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx encode imaging: --threads \"%s\": expected 1..1024\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "mmdx encode imaging: expected one PATH (DICOM file, series folder or NIfTI image)\n");
        help(stderr);
        return MMDX_EXIT_USAGE;
    }
    const char *path = argv[optind];

    mmdx_cli_env env;
    int rc = mmdx_cli_env_open(&env, config, threads, json);
    if (rc < 0)
        return mmdx_cli_report("encode imaging", rc);
    const char *which = "imaging";
    mmdx_encoder_set *set = NULL;
    double *values = NULL;
    rc = mmdx_encoder_set_open(&set, env.registry, env.config, env.threads, &which, 1);
    size_t nf = rc == 0 ? mmdx_encoder_set_n_features(set, 0) : 0;
    if (rc == 0 && !(values = calloc(nf + 1, sizeof *values)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    int32_t present = 0;
    if (rc == 0) {
        const char *keys[3], *vals[3];
        size_t n = 0;
        if (mask) {
            keys[n] = "mask";
            vals[n++] = mask;
        }
        if (roi) {
            keys[n] = "roi";
            vals[n++] = roi;
        }
        if (series) {
            keys[n] = "series_uid";
            vals[n++] = series;
        }
        mmdx_encoder_input in;
        mmdx_encoder_input_init(&in, "", path, NULL, path);
        in.n_extra = n;
        in.extra_keys = keys;
        in.extra_values = vals;
        rc = mmdx_encoder_set_encode_one(set, 0, &in, values, &present);
    }
    int exit_code = MMDX_EXIT_OK;
    if (rc < 0)
        exit_code = mmdx_cli_report("encode imaging", rc);
    else
        print_features(mmdx_encoder_set_plugin(set, 0)->info.modality, path, mask,
                       mmdx_encoder_set_feature_names(set, 0), values, nf, json);
    free(values);
    mmdx_encoder_set_free(set);
    mmdx_cli_env_close(&env);
    return exit_code;
}
