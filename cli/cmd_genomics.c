/* SPDX-License-Identifier: Apache-2.0 */
/* `mmdx genomics score`: polygenic scores of every sample of a VCF/BCF, PLINK 2-compatible. */
#include <getopt.h>
#include <htslib/hts_log.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"
#include "cli.h"
#include "config_values.h"
#include "error.h"
#include "path.h"
#include "prs.h"
#include "scorefile.h"
#include "vcf.h"

static void help_top(FILE *f)
{
    fprintf(f, "Usage: mmdx genomics <subcommand> [options]\n"
               "\n"
               "Subcommands:\n"
               "  score   polygenic scores of every sample of a VCF/BCF (PLINK 2-compatible)\n"
               "\n"
               "The genomics encoder itself runs through `mmdx encode` (see docs/genomics.md).\n");
}

static void help_score(FILE *f)
{
    fprintf(
        f,
        "Usage: mmdx genomics score --vcf V --score S [--score S2 ...] [--out O.tsv] [options]\n"
        "\n"
        "Scores every sample of V (VCF, bgzipped VCF or BCF) with PGS Catalog scoring files\n"
        "(gzip allowed). Rows match on chromosome (chr1 = 1), position and alleles, then on\n"
        "the flipped strand; rows without positions match by rsID. Sums and averages equal\n"
        "plink2 --score ... cols=+scoresums on the same variants.\n"
        "\n"
        "Matching rules default to mmdx's (every record and row used where it can be);\n"
        "--pgsc-defaults applies the PGS Catalog Calculator's (pgsc_calc) instead: the three\n"
        "options below it (its strand-ambiguity and 0.75 overlap rules are mmdx's defaults\n"
        "already; --keep-ambiguous and --min-overlap still apply).\n"
        "\n"
        "Output (TSV, --out or stdout): #IID, then per score <name>_ALLELE_CT, <name>_SUM,\n"
        "<name>_AVG. A matching summary per score goes to stderr (or stdout with --json).\n"
        "\n"
        "  --vcf V               input VCF/BCF (required)\n"
        "  --score S             scoring file; repeat for several scores (required)\n"
        "  --out O.tsv           output table (default: stdout); written atomically\n"
        "  --log L.tsv           per-row match log: the rule that matched or why not\n"
        "  --threads N           BGZF decompression threads (default 2)\n"
        "  --dosage gt|ds|gp     genotype source (default gt; ds/gp use FORMAT/DS or GP)\n"
        "  --exact-dosage        keep DS/GP dosages exact (default: 1/16384 steps, as plink2)\n"
        "  --keep-ambiguous      keep strand-ambiguous A/T and C/G rows (never flipped)\n"
        "  --no-mean-imputation  a missing genotype adds nothing (default: 2 x frequency)\n"
        "  --min-overlap F       refuse a score matching less than F of its rows (default 0.75)\n"
        "  --pgsc-defaults       pgsc_calc's matching rules: all three options below\n"
        "  --no-multiallelic     drop multi-allelic VCF records (default: score each allele)\n"
        "  --exclude-duplicates  drop every row of a score that matches a record another of\n"
        "                        its rows matched (default: both count, with a warning)\n"
        "  --require-positions   rows without a position stay unmatched (default: by rsID)\n"
        "  --regions auto|yes|no read only the scored regions through the .tbi/.csi index\n"
        "                        (auto: when indexed, every row has a position and the\n"
        "                        score touches fewer than 1 in 20 of the file's records)\n"
        "  --json                print the summary as JSON on stdout (needs --out)\n"
        "  --quiet               no summary, no progress\n"
        "  --config F            site configuration: [genomics] score lines are the scores when\n"
        "                        no --score is given; keep_ambiguous, mean_impute, exact_dosage,\n"
        "                        min_overlap, dosage, no_multiallelic, exclude_duplicates,\n"
        "                        require_positions and pgsc_defaults set the defaults;\n"
        "                        [mmdx] threads too.\n"
        "                        Options on the command line override them.\n"
        "\n"
        "Exit codes: 0 ok; 2 bad command line; 3 bad input (malformed file, sample or column\n"
        "missing, overlap below the minimum); 1 other failures.\n");
}

static void on_progress(void *ctx, const mmdx_vcf_site *site, uint64_t n)
{
    char where[96];
    snprintf(where, sizeof where, "%s:%lld", site->chrom, (long long)site->pos);
    mmdx_progress_set(ctx, (size_t)n, where);
}

static json_object *stats_json(const mmdx_scorefile *sf, const mmdx_prs_stats *st)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(sf->name));
    json_object_object_add(o, "file", json_object_new_string(sf->path));
    json_object_object_add(o, "rows", json_object_new_int64((int64_t)st->rows));
    json_object_object_add(o, "matched", json_object_new_int64((int64_t)st->matched));
    json_object_object_add(o, "flipped", json_object_new_int64((int64_t)st->flipped));
    json_object_object_add(o, "by_rsid", json_object_new_int64((int64_t)st->by_rsid));
    json_object_object_add(o, "multiallelic", json_object_new_int64((int64_t)st->multiallelic));
    json_object_object_add(o, "duplicates", json_object_new_int64((int64_t)st->duplicates));
    json_object_object_add(o, "ambiguous_dropped", json_object_new_int64((int64_t)st->ambiguous_dropped));
    json_object_object_add(o, "multiallelic_dropped",
                           json_object_new_int64((int64_t)st->multiallelic_dropped));
    json_object_object_add(o, "duplicates_dropped", json_object_new_int64((int64_t)st->duplicates_dropped));
    json_object_object_add(o, "no_position", json_object_new_int64((int64_t)st->no_position));
    json_object_object_add(o, "unmatched", json_object_new_int64((int64_t)st->unmatched));
    json_object_object_add(o, "unusable", json_object_new_int64((int64_t)st->unusable));
    json_object_object_add(o, "all_missing", json_object_new_int64((int64_t)st->all_missing));
    json_object_object_add(o, "overlap", json_object_new_double(st->overlap));
    json_object_object_add(o, "records_without_dosage_field", json_object_new_int64((int64_t)st->no_dosage_field));
    return o;
}

static int fail_with(const mmdx_error *e, int rc)
{
    mmdx_fail_from(e, rc);
    return mmdx_cli_report("genomics score", rc);
}

/* What the site configuration contributes to `genomics score`. */
typedef struct config_defaults {
    char **scores; /* [genomics] score lines, resolved against the configuration's folder */
    size_t n_scores;
} config_defaults;

static void config_defaults_free(config_defaults *cd)
{
    for (size_t i = 0; i < cd->n_scores; i++)
        free(cd->scores[i]);
    free(cd->scores);
    memset(cd, 0, sizeof *cd);
}

/*
 * Read --config (else $MMDX_CONFIG, else the default file) before the other
 * options, so that the command line overrides it: the same [genomics] keys the
 * encoder reads set the scoring defaults, [mmdx] threads the thread count.
 * Returns an exit code (MMDX_EXIT_OK to go on).
 */
static int load_config_defaults(config_defaults *cd, int argc, char **argv, mmdx_prs_options *opt,
                                int *threads)
{
    memset(cd, 0, sizeof *cd);
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
    }
    mmdx_cli_env env;
    int rc = mmdx_cli_env_open(&env, path, 0, 1);
    if (rc < 0)
        return mmdx_cli_report("genomics score", rc);
    const char *t = mmdx_config_host_value(env.config, "threads");
    if (t)
        *threads = mmdx_cli_parse_threads(t);
    mmdx_plugin_config pc;
    mmdx_config_section(env.config, "genomics", 1, &pc);
    if (pc.n_entries && !(cd->scores = calloc(pc.n_entries, sizeof *cd->scores)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < pc.n_entries; i++) {
        const mmdx_config_entry *e = &pc.entries[i];
        mmdx_error err = {0};
        int r = mmdx_prs_options_set(opt, e, &err);
        if (r < 0)
            rc = mmdx_fail_from(&err, r);
        else if (r == 0 && !strcmp(e->key, "score") &&
                 !(cd->scores[cd->n_scores++] = mmdx_path_resolve(pc.base_dir, e->value)))
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    mmdx_cli_env_close(&env);
    if (rc < 0) {
        config_defaults_free(cd);
        return mmdx_cli_report("genomics score", rc);
    }
    return MMDX_EXIT_OK;
}

static int cmd_score(int argc, char **argv)
{
    static const struct option opts[] = {
        {"vcf", required_argument, NULL, 'v'},     {"score", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},     {"log", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'}, {"dosage", required_argument, NULL, 'd'},
        {"exact-dosage", no_argument, NULL, 'x'},  {"keep-ambiguous", no_argument, NULL, 'a'},
        {"no-mean-imputation", no_argument, NULL, 'n'},
        {"min-overlap", required_argument, NULL, 'm'},
        {"regions", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"config", required_argument, NULL, 'c'},
        {"pgsc-defaults", no_argument, NULL, 'P'}, {"no-multiallelic", no_argument, NULL, 'M'},
        {"exclude-duplicates", no_argument, NULL, 'D'},
        {"require-positions", no_argument, NULL, 'R'},
        {NULL, 0, NULL, 0}};
    const char *vcf = NULL, *out = NULL, *log = NULL;
    const char **score_paths = calloc((size_t)argc + 1, sizeof *score_paths);
    size_t n_paths = 0;
    int threads = 2, json = 0, quiet = 0, c;
    mmdx_prs_options opt;
    mmdx_prs_options_init(&opt);
    if (!score_paths)
        return MMDX_EXIT_FAILURE;
    config_defaults cd;
    int crc = load_config_defaults(&cd, argc, argv, &opt, &threads);
    if (crc != MMDX_EXIT_OK) {
        free(score_paths);
        return crc;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "hv:s:o:l:t:d:xanm:r:jqc:", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'v': vcf = optarg; break;
        case 's': score_paths[n_paths++] = optarg; break;
        case 'o': out = optarg; break;
        case 'l': log = optarg; break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx genomics score: --threads '%s' is not a positive integer\n", optarg);
                config_defaults_free(&cd);
                free(score_paths);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'd':
            if (!strcmp(optarg, "gt"))
                opt.dosage = MMDX_DOSAGE_GT;
            else if (!strcmp(optarg, "ds"))
                opt.dosage = MMDX_DOSAGE_DS;
            else if (!strcmp(optarg, "gp"))
                opt.dosage = MMDX_DOSAGE_GP;
            else {
                fprintf(stderr, "mmdx genomics score: --dosage '%s': expected gt, ds or gp\n", optarg);
                config_defaults_free(&cd);
                free(score_paths);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'x': opt.exact_dosage = 1; break;
        case 'a': opt.keep_ambiguous = 1; break;
        case 'P': mmdx_prs_options_pgsc(&opt); break;
        case 'M': opt.no_multiallelic = 1; break;
        case 'D': opt.exclude_duplicates = 1; break;
        case 'R': opt.require_positions = 1; break;
        case 'n': opt.mean_impute = 0; break;
        case 'm':
            opt.min_overlap = strtod(optarg, &end);
            if (end == optarg || *end || !(opt.min_overlap >= 0 && opt.min_overlap <= 1)) {
                fprintf(stderr, "mmdx genomics score: --min-overlap '%s': expected a number in [0,1]\n",
                        optarg);
                config_defaults_free(&cd);
                free(score_paths);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'r':
            if (!strcmp(optarg, "auto"))
                opt.use_index = -1;
            else if (!strcmp(optarg, "yes"))
                opt.use_index = 1;
            else if (!strcmp(optarg, "no"))
                opt.use_index = 0;
            else {
                fprintf(stderr, "mmdx genomics score: --regions '%s': expected auto, yes or no\n", optarg);
                config_defaults_free(&cd);
                free(score_paths);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'c': break; /* read before the other options, by load_config_defaults */
        case 'h': help_score(stdout); config_defaults_free(&cd); free(score_paths); return MMDX_EXIT_OK;
        default: help_score(stderr); config_defaults_free(&cd); free(score_paths); return MMDX_EXIT_USAGE;
        }
    }
    if (n_paths == 0) /* the configuration's scores */
        for (size_t i = 0; i < cd.n_scores; i++)
            score_paths[n_paths++] = cd.scores[i];
    const char *problem = NULL;
    if (optind < argc)
        problem = "unexpected argument";
    else if (!vcf)
        problem = "--vcf is required";
    else if (n_paths == 0)
        problem = "at least one --score (or a [genomics] score line in --config) is required";
    else if (json && (!out || !strcmp(out, "-")))
        problem = "--json prints on stdout, so the table needs --out FILE";
    if (problem) {
        fprintf(stderr, "mmdx genomics score: %s%s%s (see --help)\n", problem,
                optind < argc ? " " : "", optind < argc ? argv[optind] : "");
        config_defaults_free(&cd);
        free(score_paths);
        return MMDX_EXIT_USAGE;
    }
    hts_set_log_level(HTS_LOG_OFF); /* our messages name file and line; htslib's would repeat them */

    mmdx_error e = {0};
    int rc = 0;
    mmdx_scorefile **scores = calloc(n_paths, sizeof *scores);
    mmdx_vcf *v = NULL;
    mmdx_prs *p = NULL;
    if (!scores) {
        config_defaults_free(&cd);
        free(score_paths);
        return MMDX_EXIT_FAILURE;
    }
    for (size_t i = 0; i < n_paths && rc == 0; i++) {
        rc = mmdx_scorefile_read(&scores[i], score_paths[i], &e);
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (!strcmp(scores[j]->name, scores[i]->name))
                rc = mmdx_error_set(&e, MMDX_EINVAL,
                                    "%s and %s are both named '%s': output columns would clash",
                                    scores[j]->path, scores[i]->path, scores[i]->name);
    }
    if (rc == 0)
        rc = mmdx_vcf_open(&v, vcf, threads, 1, &e);
    if (rc == 0)
        rc = mmdx_prs_new(&p, (const mmdx_scorefile *const *)scores, n_paths, mmdx_vcf_n_samples(v),
                          &opt, &e);
    double start = mmdx_clock_seconds();
    mmdx_progress *prog = mmdx_progress_new_open("score", "records matched", (quiet || json) ? NULL : stderr);
    if (rc == 0)
        rc = mmdx_prs_run(p, v, on_progress, prog, &e);
    mmdx_progress_free(prog);
    if (rc == 0 && !quiet) {
        json_object *arr = json ? json_object_new_array() : NULL;
        for (size_t i = 0; i < n_paths; i++) {
            mmdx_prs_stats st;
            mmdx_prs_get_stats(p, i, &st);
            if (json)
                json_object_array_add(arr, stats_json(scores[i], &st));
            else
                fprintf(stderr,
                        "%s: %zu of %zu variants matched (%.1f%%): %zu flipped, %zu by rsID, %zu "
                        "multi-allelic; excluded: %zu strand-ambiguous, %zu multi-allelic, %zu "
                        "duplicated, %zu without position; %zu unmatched, %zu unusable\n",
                        scores[i]->name, st.matched, st.rows, 100.0 * st.overlap, st.flipped,
                        st.by_rsid, st.multiallelic, st.ambiguous_dropped, st.multiallelic_dropped,
                        st.duplicates_dropped, st.no_position, st.unmatched, st.unusable);
            if (!json && st.duplicates)
                fprintf(stderr,
                        "mmdx genomics score: warning: %s: %zu rows score a record and allele that an "
                        "earlier row already scored; both count (see the match log)\n",
                        scores[i]->path, st.duplicates);
            if (!json && i == 0 && st.no_dosage_field)
                fprintf(stderr, "mmdx genomics score: warning: %zu scored records have no FORMAT/%s; their GT "
                                "calls were used\n",
                        st.no_dosage_field, opt.dosage == MMDX_DOSAGE_DS ? "DS" : "GP");
        }
        if (json) {
            json_object *root = json_object_new_object();
            json_object_object_add(root, "vcf", json_object_new_string(vcf));
            json_object_object_add(root, "samples",
                                   json_object_new_int64((int64_t)mmdx_vcf_n_samples(v)));
            json_object_object_add(root, "scores", arr);
            json_object_object_add(root, "out", json_object_new_string(out));
            json_object_object_add(root, "seconds", json_object_new_double(mmdx_clock_seconds() - start));
            mmdx_cli_print_json(root);
            json_object_put(root);
        }
    }
    /* rows that cannot be scored are warnings, not errors: name the first few */
    for (size_t i = 0; rc == 0 && !quiet && i < n_paths; i++) {
        size_t shown = 0;
        for (size_t r = 0; r < scores[i]->n_rows; r++) {
            const mmdx_pgs_row *row = &scores[i]->rows[r];
            if (!row->problem)
                continue;
            if (shown++ < 3)
                fprintf(stderr, "mmdx genomics score: warning: %s: line %ld: %s (row not scored)\n",
                        scores[i]->path, row->line, row->problem);
        }
        if (shown > 3)
            fprintf(stderr, "mmdx genomics score: warning: %s: %zu more rows not scored%s\n",
                    scores[i]->path, shown - 3, log ? "; see the match log" : "; --log lists them");
    }
    /* the log is written even when the overlap check fails: it is what explains the failure */
    if (rc == 0 && log)
        rc = mmdx_prs_write_log(p, log, &e);
    if (rc == 0)
        rc = mmdx_prs_check_overlap(p, &e);
    if (rc == 0)
        rc = mmdx_prs_write_table(p, v, out, &e);
    int exit_code = rc < 0 ? fail_with(&e, rc) : MMDX_EXIT_OK;
    mmdx_prs_free(p);
    mmdx_vcf_free(v);
    for (size_t i = 0; i < n_paths; i++)
        mmdx_scorefile_free(scores[i]);
    free(scores);
    config_defaults_free(&cd);
    free(score_paths);
    return exit_code;
}

int mmdx_cmd_genomics(int argc, char **argv)
{
    if (argc < 2) {
        help_top(stderr);
        return MMDX_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        help_top(stdout);
        return MMDX_EXIT_OK;
    }
    if (!strcmp(argv[1], "score"))
        return cmd_score(argc - 1, argv + 1);
    fprintf(stderr, "mmdx genomics: unknown subcommand \"%s\" (see mmdx genomics --help)\n", argv[1]);
    return MMDX_EXIT_USAGE;
}
