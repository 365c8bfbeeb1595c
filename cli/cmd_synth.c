/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "cli.h"
#include "error.h"
#include "synth.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx synth --patients N --out DIR [--seed S] [--missing P] [--image-size PX]\n"
            "                  [--slices K] [--subtypes K] [--threads T] [--config F] [--json]\n"
            "\n"
            "Generate a synthetic multimodal cohort in DIR (new or empty): per patient a CT\n"
            "series (DICOM), a bgzipped and indexed VCF and a FHIR R4 bundle; cohort.csv\n"
            "(the manifest, with labels), truth.csv (the latent components behind each\n"
            "label) and mmdx.conf (the encoder settings this cohort needs: use it with\n"
            "--config). The label's signal is split across imaging, genomics and records;\n"
            "each modality is missing with probability P. The same options give identical\n"
            "files whatever the number of threads.\n"
            "\n"
            "With --subtypes K each patient belongs to one of K latent subtypes (uniform)\n"
            "that the three latent components share: z_m = 0.8 mu[s][m] + 0.6 e_m, where\n"
            "e_m ~ N(0,1) is the component drawn without subtypes and the centroids mu[s]\n"
            "are fixed, with mean 0 and variance 1 per modality over the subtypes (K = 4:\n"
            "a regular tetrahedron; synth/synth.h lists them). The label model is\n"
            "unchanged. Imaging shows the subtype a second time, in the lesion's shape, and\n"
            "the scan's noise varies between patients; truth.csv gets the columns subtype\n"
            "and z_imaging_shape.\n"
            "\n"
            "  --patients N     number of patients (1..999999)\n"
            "  --out DIR        output folder (created; must be empty)\n"
            "  --seed S         random seed (default 1)\n"
            "  --missing P      probability that a modality is absent (default 0.15)\n"
            "  --image-size PX  rows and columns of each CT slice (default 40)\n"
            "  --slices K       slices per CT series (default 12)\n"
            "  --subtypes K     latent subtypes shared by the modalities, 2..32 (default 0: none)\n"
            "  --threads T      worker threads (default: [mmdx] threads, else all cores)\n"
            "  --config F       site configuration (checked; its [mmdx] threads is the default)\n"
            "  --json           print a summary as JSON on standard output\n"
            "  --no-progress    no progress display\n"
            "\n"
            "Exit codes: 0 done; 1 write failure; 2 usage (or DIR not empty).\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int *out)
{
    uint64_t v;
    if (parse_u64(s, &v) < 0 || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

int mmdx_cmd_synth(int argc, char **argv)
{
    static const struct option opts[] = {
        {"patients", required_argument, NULL, 'n'}, {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},     {"missing", required_argument, NULL, 'm'},
        {"image-size", required_argument, NULL, 'i'}, {"slices", required_argument, NULL, 'k'},
        {"threads", required_argument, NULL, 't'},  {"json", no_argument, NULL, 'j'},
        {"no-progress", no_argument, NULL, 'P'},    {"help", no_argument, NULL, 'h'},
        {"config", required_argument, NULL, 'c'},   {"subtypes", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0}};
    mmdx_synth_options o;
    mmdx_synth_options_init(&o);
    int json = 0, progress = 1, threads = 0, have_n = 0, c;
    const char *config = NULL;
    uint64_t u;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        const char *bad = NULL;
        switch (c) {
        case 'n':
            if (parse_u64(optarg, &u) < 0 || u < 1 || u > 999999)
                bad = "--patients: expected 1..999999";
            o.n_patients = (size_t)u;
            have_n = 1;
            break;
        case 'o': o.out = optarg; break;
        case 's':
            if (parse_u64(optarg, &o.seed) < 0)
                bad = "--seed: expected a non-negative integer";
            break;
        case 'm': {
            char *end;
            o.missing = strtod(optarg, &end);
            if (!*optarg || *end || !(o.missing >= 0 && o.missing <= 0.9))
                bad = "--missing: expected a probability in [0, 0.9]";
            break;
        }
        case 'i':
            if (parse_int(optarg, &o.image_size) < 0 || o.image_size < 16 || o.image_size > 512)
                bad = "--image-size: expected 16..512";
            break;
        case 'k':
            if (parse_int(optarg, &o.slices) < 0 || o.slices < 4 || o.slices > 512)
                bad = "--slices: expected 4..512";
            break;
        case 'S':
            if (parse_int(optarg, &o.n_subtypes) < 0 ||
                (o.n_subtypes != 0 && (o.n_subtypes < 2 || o.n_subtypes > MMDX_SYNTH_MAX_SUBTYPES)))
                bad = "--subtypes: expected 0 (none) or 2..32";
            break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg)))
                bad = "--threads: expected 1..1024";
            break;
        case 'j': json = 1; break;
        case 'c': config = optarg; break;
        case 'P': progress = 0; break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "mmdx synth: %s (got \"%s\")\n", bad, optarg);
            return MMDX_EXIT_USAGE;
        }
    }
    if (optind < argc || !have_n || !o.out) {
        fprintf(stderr, "mmdx synth: give --patients N and --out DIR (see mmdx synth --help)\n");
        return MMDX_EXIT_USAGE;
    }
    /* The site configuration, as every command takes it: checked, and its [mmdx] threads used. */
    mmdx_config *cfg = NULL;
    int crc = mmdx_config_load(&cfg, config);
    if (crc == 0)
        crc = mmdx_config_check_host(cfg);
    if (crc == 0 && threads <= 0) {
        const char *t = mmdx_config_host_value(cfg, "threads");
        threads = t ? mmdx_cli_parse_threads(t) : 0;
    }
    mmdx_config_free(cfg);
    if (crc < 0)
        return mmdx_cli_report("synth", crc);
    o.n_threads = threads > 0 ? threads : omp_get_max_threads();
    o.progress = progress ? stderr : NULL;
    mmdx_synth_summary s;
    int rc = mmdx_synth_run(&o, &s);
    if (rc == MMDX_EEXISTS) {
        fprintf(stderr, "mmdx synth: %s\n", mmdx_last_error());
        return MMDX_EXIT_USAGE;
    }
    if (rc < 0)
        return mmdx_cli_report("synth", rc);
    if (json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "out", json_object_new_string(o.out));
        json_object_object_add(j, "seed", json_object_new_uint64(o.seed));
        json_object_object_add(j, "patients", json_object_new_int64((int64_t)s.n_patients));
        json_object_object_add(j, "positive", json_object_new_int64((int64_t)s.n_positive));
        json_object_object_add(j, "with_imaging", json_object_new_int64((int64_t)s.n_with[0]));
        json_object_object_add(j, "with_genomics", json_object_new_int64((int64_t)s.n_with[1]));
        json_object_object_add(j, "with_records", json_object_new_int64((int64_t)s.n_with[2]));
        json_object_object_add(j, "complete", json_object_new_int64((int64_t)s.n_complete));
        json_object_object_add(j, "files", json_object_new_int64((int64_t)s.n_files));
        if (o.n_subtypes)
            json_object_object_add(j, "subtypes", json_object_new_int(o.n_subtypes));
        json_object_object_add(j, "seconds", json_object_new_double(s.seconds));
        mmdx_cli_print_json(j);
        json_object_put(j);
    } else {
        fprintf(stderr,
                "mmdx synth: %zu patients (%zu positive) in %s: %zu with imaging, %zu with genomics, %zu with "
                "records, %zu complete; %zu files in %.1f s\n",
                s.n_patients, s.n_positive, o.out, s.n_with[0], s.n_with[1], s.n_with[2], s.n_complete, s.n_files,
                s.seconds);
    }
    return MMDX_EXIT_OK;
}
