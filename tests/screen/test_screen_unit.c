/* SPDX-License-Identifier: Apache-2.0 */
/* Sharding, run IDs, the CSV journal, input fingerprints and the synthetic cohort generator. */
#include <check.h>
#include <htslib/vcf.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "error.h"
#include "hash.h"
#include "input_hash.h"
#include "journal.h"
#include "manifest.h"
#include "screen.h"
#include "shard.h"
#include "synth.h"
#include "testsupport.h"

/* ---- shards ---- */

START_TEST(shard_parse_valid_and_invalid)
{
    mmdx_shard s;
    ck_assert_int_eq(mmdx_shard_parse(&s, "3/8"), 0);
    ck_assert_uint_eq(s.index, 3);
    ck_assert_uint_eq(s.count, 8);
    ck_assert_int_eq(mmdx_shard_parse(&s, "1/1"), 0);
    static const char *const bad[] = {"0/3", "4/3", "a/b", "3", "1/0", "", "/", "2/", "-1/3", "1/100001", "1/3x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(mmdx_shard_parse(&s, bad[i]), MMDX_EINVAL);
        ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "K/N"));
    }
}
END_TEST

START_TEST(shard_of_is_sha256_based_and_partitions)
{
    /* Reference values: 1 + big-endian first 8 bytes of SHA-256(id) mod N (computed with Python's hashlib). */
    ck_assert_uint_eq(mmdx_shard_of("SYN000001", 7), 7);
    ck_assert_uint_eq(mmdx_shard_of("patient-42", 7), 1);
    ck_assert_uint_eq(mmdx_shard_of("SYN000001", 1000), 698);
    ck_assert_uint_eq(mmdx_shard_of("patient-42", 1000), 820);
    size_t count[8] = {0};
    char id[32];
    for (int i = 0; i < 7000; i++) {
        snprintf(id, sizeof id, "P%05d", i);
        int owners = 0;
        for (uint32_t k = 1; k <= 7; k++) {
            mmdx_shard s = {k, 7};
            owners += mmdx_shard_contains(&s, id);
        }
        ck_assert_int_eq(owners, 1);
        count[mmdx_shard_of(id, 7)]++;
    }
    for (int k = 1; k <= 7; k++)
        ck_assert(count[k] > 850 && count[k] < 1150);
    mmdx_shard whole = {1, 1};
    ck_assert(mmdx_shard_contains(&whole, "anything"));
}
END_TEST

START_TEST(run_id_is_deterministic_and_distinct)
{
    char a[MMDX_RUN_ID_LEN], b[MMDX_RUN_ID_LEN];
    const char *model = "aa11", *cohort = "bb22";
    mmdx_shard one = {1, 1}, s1 = {1, 2}, s2 = {2, 2};
    mmdx_screen_run_id(a, model, cohort, &one, 0, "");
    mmdx_screen_run_id(b, model, cohort, &one, 0, NULL);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert_int_eq(a[14], '8'); /* version 8 */
    ck_assert(strchr("89ab", a[19]) != NULL);
    const struct {
        const char *model, *cohort, *job;
        mmdx_shard *shard;
        int pseudo;
    } other[] = {{"aa12", cohort, "", &one, 0}, {model, "bb23", "", &one, 0}, {model, cohort, "x", &one, 0},
                 {model, cohort, "", &s1, 0},   {model, cohort, "", &s2, 0},  {model, cohort, "", &one, 1}};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        mmdx_screen_run_id(b, other[i].model, other[i].cohort, other[i].shard, other[i].pseudo, other[i].job);
        ck_assert_str_ne(a, b);
    }
}
END_TEST

/* ---- journal ---- */

static const char *const header[] = {"patient_id", "probability", "status"};

START_TEST(journal_resumes_cuts_torn_line_and_finishes_in_order)
{
    char *dir = mmdx_test_tmpdir();
    char out[4096], partial[4200];
    snprintf(out, sizeof out, "%s/results.csv", dir);
    snprintf(partial, sizeof partial, "%s.partial", out);
    const char *run = "11111111-2222-8333-8444-555555555555";
    mmdx_journal *j;
    ck_assert_int_eq(mmdx_journal_open(&j, out, run, header, 3), 0);
    ck_assert_uint_eq(mmdx_journal_resumed_rows(j), 0);
    const char *r1[] = {"A", "0.25", "screened"}, *r2[] = {"B,\"quoted\"", "", "failed"}, *r3[] = {"C", "0.75", "screened"};
    const char *const *batch[] = {r1, r2, r3};
    ck_assert_int_eq(mmdx_journal_append(j, batch, 3), 0);
    mmdx_journal_free(j); /* as if killed */
    /* A write cut short by kill -9. */
    FILE *f = fopen(partial, "a");
    ck_assert_ptr_nonnull(f);
    fputs("D,0.5,scre", f);
    fclose(f);
    ck_assert_int_eq(mmdx_journal_open(&j, out, run, header, 3), 0);
    ck_assert_uint_eq(mmdx_journal_resumed_rows(j), 3);
    ck_assert_ptr_null(mmdx_journal_row(j, "D"));
    ck_assert_str_eq(mmdx_journal_row(j, "B,\"quoted\"")[2], "failed");
    const char *r2b[] = {"B,\"quoted\"", "0.5", "screened"};
    const char *const *batch2[] = {r2b};
    ck_assert_int_eq(mmdx_journal_append(j, batch2, 1), 0);
    ck_assert_str_eq(mmdx_journal_row(j, "B,\"quoted\"")[2], "screened");
    const char *order[] = {"C", "missing", "B,\"quoted\"", "A"};
    ck_assert_int_eq(mmdx_journal_finish(j, order, 4, 0), 0);
    mmdx_journal_free(j);
    char *text = mmdx_test_read_file(out, NULL);
    ck_assert_str_eq(text, "patient_id,probability,status\nC,0.75,screened\n\"B,\"\"quoted\"\"\",0.5,screened\n"
                           "A,0.25,screened\n");
    free(text);
    struct stat st;
    ck_assert_int_ne(stat(partial, &st), 0);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(journal_refuses_another_runs_partial_file)
{
    char *dir = mmdx_test_tmpdir();
    char out[4096];
    snprintf(out, sizeof out, "%s/r.csv", dir);
    mmdx_journal *j;
    ck_assert_int_eq(mmdx_journal_open(&j, out, "11111111-2222-8333-8444-555555555555", header, 3), 0);
    mmdx_journal_free(j);
    ck_assert_int_eq(mmdx_journal_open(&j, out, "99999999-2222-8333-8444-555555555555", header, 3), MMDX_EEXISTS);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "r.csv.partial"));
    static const char *const other_header[] = {"patient_id", "probability", "decision"};
    ck_assert_int_eq(mmdx_journal_open(&j, out, "11111111-2222-8333-8444-555555555555", other_header, 3),
                     MMDX_EEXISTS);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "decision"));
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- input fingerprints ---- */

START_TEST(input_hash_of_files_and_folders)
{
    char *a = mmdx_test_tmpdir(), *b = mmdx_test_tmpdir();
    char p[4096], ha[MMDX_SHA256_HEX_LEN], hb[MMDX_SHA256_HEX_LEN];
    /* Same content, created in different orders. */
    snprintf(p, sizeof p, "%s/sub", a);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/x.dcm", a);
    mmdx_test_write_file(p, "slice x");
    snprintf(p, sizeof p, "%s/y.dcm", a);
    mmdx_test_write_file(p, "slice y");
    snprintf(p, sizeof p, "%s/y.dcm", b);
    mmdx_test_write_file(p, "slice y");
    snprintf(p, sizeof p, "%s/sub", b);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/x.dcm", b);
    mmdx_test_write_file(p, "slice x");
    ck_assert_int_eq(mmdx_input_sha256(a, ha), 0);
    ck_assert_int_eq(mmdx_input_sha256(b, hb), 0);
    ck_assert_str_eq(ha, hb);
    mmdx_test_write_file(p, "slice X");
    ck_assert_int_eq(mmdx_input_sha256(b, hb), 0);
    ck_assert_str_ne(ha, hb);
    /* A file: the SHA-256 of its bytes ("slice y"). */
    snprintf(p, sizeof p, "%s/y.dcm", a);
    ck_assert_int_eq(mmdx_input_sha256(p, ha), 0);
    uint8_t h[MMDX_SHA256_LEN];
    mmdx_sha256("slice y", 7, h);
    mmdx_hex(h, sizeof h, hb);
    ck_assert_str_eq(ha, hb);
    snprintf(p, sizeof p, "%s/absent", a);
    ck_assert_int_eq(mmdx_input_sha256(p, ha), MMDX_ENOTFOUND);
    mmdx_test_rmtree(a);
    mmdx_test_rmtree(b);
    free(a);
    free(b);
}
END_TEST

/* ---- synthetic cohort ---- */

static char *synth_subtypes(size_t n, uint64_t seed, int threads, double missing, int subtypes)
{
    char *dir = mmdx_test_tmpdir();
    char out[4096];
    snprintf(out, sizeof out, "%s/cohort", dir);
    mmdx_synth_options o;
    mmdx_synth_options_init(&o);
    o.n_patients = n;
    o.out = out;
    o.seed = seed;
    o.n_threads = threads;
    o.missing = missing;
    o.image_size = 16;
    o.slices = 6;
    o.n_subtypes = subtypes;
    mmdx_synth_summary s;
    ck_assert_msg(mmdx_synth_run(&o, &s) == 0, "%s", mmdx_last_error());
    ck_assert_uint_eq(s.n_patients, n);
    return dir;
}

static char *synth(size_t n, uint64_t seed, int threads, double missing)
{
    return synth_subtypes(n, seed, threads, missing, 0);
}

START_TEST(synth_is_deterministic_whatever_the_threads)
{
    char *a = synth(10, 5, 1, 0.2), *b = synth(10, 5, 2, 0.2), *c = synth(10, 6, 2, 0.2);
    char pa[4096], pb[4096], pc[4096], ha[MMDX_SHA256_HEX_LEN], hb[MMDX_SHA256_HEX_LEN], hc[MMDX_SHA256_HEX_LEN];
    snprintf(pa, sizeof pa, "%s/cohort", a);
    snprintf(pb, sizeof pb, "%s/cohort", b);
    snprintf(pc, sizeof pc, "%s/cohort", c);
    ck_assert_int_eq(mmdx_input_sha256(pa, ha), 0);
    ck_assert_int_eq(mmdx_input_sha256(pb, hb), 0);
    ck_assert_int_eq(mmdx_input_sha256(pc, hc), 0);
    ck_assert_str_eq(ha, hb);
    ck_assert_str_ne(ha, hc);
    /* A second run into a non-empty folder is refused. */
    mmdx_synth_options o;
    mmdx_synth_options_init(&o);
    o.n_patients = 2;
    o.out = pa;
    mmdx_synth_summary s;
    ck_assert_int_eq(mmdx_synth_run(&o, &s), MMDX_EEXISTS);
    o.out = pc;
    o.missing = 0.95;
    ck_assert_int_eq(mmdx_synth_run(&o, &s), MMDX_EINVAL);
    mmdx_test_rmtree(a);
    mmdx_test_rmtree(b);
    mmdx_test_rmtree(c);
    free(a);
    free(b);
    free(c);
}
END_TEST

/* The truth table, by patient row. */
typedef struct truth {
    int label, present[3], carrier;
    int subtype;    /* -1 without the column */
    double z[3];
    double z_shape; /* imaging's second component (with subtypes), else 0 */
} truth;

static truth *read_truth(const char *cohort, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/truth.csv", cohort);
    mmdx_csv_reader *r;
    ck_assert_int_eq(mmdx_csv_open(&r, path, ','), 0);
    truth *t = calloc(n, sizeof *t);
    char **f;
    size_t nf, row = 0;
    ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
    ck_assert_str_eq(f[0], "patient_id");
    const size_t width = nf;
    ck_assert(width == 10 || (width == 12 && strcmp(f[10], "subtype") == 0 && strcmp(f[11], "z_imaging_shape") == 0));
    while (mmdx_csv_next(r, &f, &nf) == 1) {
        ck_assert_uint_eq(nf, width);
        t[row].subtype = width == 12 ? atoi(f[10]) : -1;
        t[row].z_shape = width == 12 ? atof(f[11]) : 0;
        ck_assert_uint_lt(row, n);
        t[row].label = atoi(f[1]);
        for (int k = 0; k < 3; k++) {
            t[row].z[k] = atof(f[3 + k]);
            t[row].present[k] = atoi(f[7 + k]);
        }
        t[row].carrier = atoi(f[6]);
        row++;
    }
    ck_assert_uint_eq(row, n);
    mmdx_csv_close(r);
    return t;
}

START_TEST(synth_files_hold_what_the_truth_says)
{
    const size_t n = 24;
    char *dir = synth(n, 11, 2, 0.25);
    char cohort[4096], path[8192];
    snprintf(cohort, sizeof cohort, "%s/cohort", dir);
    truth *t = read_truth(cohort, n);
    snprintf(path, sizeof path, "%s/cohort.csv", cohort);
    mmdx_manifest *m;
    ck_assert_msg(mmdx_manifest_load(&m, path) == 0, "%s", mmdx_last_error());
    ck_assert_uint_eq(mmdx_manifest_count(m), n);
    /* Score weights and population moments from the scoring file and mmdx.conf. */
    snprintf(path, sizeof path, "%s/genomics/synth_prs.txt", cohort);
    mmdx_csv_reader *r;
    ck_assert_int_eq(mmdx_csv_open(&r, path, '\t'), 0);
    char **f;
    size_t nf, n_w = 0;
    struct {
        char key[32];
        char effect;
        double w;
    } w[64];
    while (mmdx_csv_next(r, &f, &nf) == 1) {
        if (f[0][0] == '#' || strcmp(f[0], "rsID") == 0)
            continue;
        ck_assert_uint_eq(nf, 6);
        ck_assert_uint_lt(n_w, 64);
        snprintf(w[n_w].key, sizeof w[n_w].key, "%s:%s", f[1], f[2]);
        w[n_w].effect = f[3][0];
        w[n_w++].w = atof(f[5]);
    }
    mmdx_csv_close(r);
    ck_assert_uint_eq(n_w, 60);
    snprintf(path, sizeof path, "%s/mmdx.conf", cohort);
    char *conf = mmdx_test_read_file(path, NULL);
    const char *ref = strstr(conf, "score_reference = SYNTH001 ");
    ck_assert_ptr_nonnull(ref);
    double mean = 0, sd = 0;
    ck_assert_int_eq(sscanf(ref, "score_reference = SYNTH001 %lf %lf", &mean, &sd), 2);
    ck_assert_ptr_nonnull(strstr(conf, "index_date = 2024-01-01"));
    free(conf);

    for (size_t i = 0; i < n; i++) {
        const char *id = mmdx_manifest_patient_id(m, i);
        const char *dicom = mmdx_manifest_get(m, i, "dicom"), *vcf = mmdx_manifest_get(m, i, "vcf"),
                   *rec = mmdx_manifest_get(m, i, "record");
        ck_assert_int_eq(mmdx_manifest_label(m, i), t[i].label);
        ck_assert_int_eq(*dicom != 0, t[i].present[0]);
        ck_assert_int_eq(*vcf != 0, t[i].present[1]);
        ck_assert_int_eq(*rec != 0, t[i].present[2]);
        if (*dicom) {
            for (int s = 0; s < 6; s++) {
                snprintf(path, sizeof path, "%s/%s/CT%03d.dcm", cohort, dicom, s);
                char *bytes = mmdx_test_read_file(path, NULL);
                ck_assert_ptr_nonnull(bytes);
                ck_assert_int_eq(memcmp(bytes + 128, "DICM", 4), 0);
                free(bytes);
            }
        }
        if (*vcf) {
            /* Read the genotypes back with htslib and recompute the standardised score. */
            snprintf(path, sizeof path, "%s/%s", cohort, vcf);
            htsFile *fp = hts_open(path, "r");
            ck_assert_ptr_nonnull(fp);
            ck_assert_int_eq(hts_get_format(fp)->compression, bgzf);
            bcf_hdr_t *h = bcf_hdr_read(fp);
            ck_assert_int_eq(bcf_hdr_nsamples(h), 1);
            ck_assert_str_eq(h->samples[0], id);
            bcf1_t *rec1 = bcf_init();
            int32_t *gt = NULL, ngt = 0;
            double sum = 0;
            size_t matched = 0;
            while (bcf_read(fp, h, rec1) == 0) {
                bcf_unpack(rec1, BCF_UN_STR);
                char key[64];
                snprintf(key, sizeof key, "%s:%lld", bcf_seqname(h, rec1), (long long)rec1->pos + 1);
                ck_assert_int_eq(bcf_get_genotypes(h, rec1, &gt, &ngt), 2);
                int dosage = bcf_gt_allele(gt[0]) + bcf_gt_allele(gt[1]);
                for (size_t k = 0; k < n_w; k++)
                    if (strcmp(w[k].key, key) == 0) {
                        ck_assert_int_eq(w[k].effect, rec1->d.allele[1][0]);
                        sum += w[k].w * dosage;
                        matched++;
                    }
            }
            ck_assert_uint_eq(matched, 60);
            ck_assert_double_eq_tol((sum - mean) / sd, t[i].z[1], 1e-4);
            free(gt);
            bcf_destroy(rec1);
            bcf_hdr_destroy(h);
            hts_close(fp);
            snprintf(path, sizeof path, "%s/%s.tbi", cohort, vcf);
            struct stat st;
            ck_assert_int_eq(stat(path, &st), 0);
        }
        if (*rec) {
            snprintf(path, sizeof path, "%s/%s", cohort, rec);
            json_object *b = json_object_from_file(path);
            ck_assert_ptr_nonnull(b);
            json_object *v;
            ck_assert(json_object_object_get_ex(b, "resourceType", &v));
            ck_assert_str_eq(json_object_get_string(v), "Bundle");
            ck_assert(json_object_object_get_ex(b, "entry", &v));
            json_object *first = json_object_array_get_idx(v, 0), *res, *pid;
            ck_assert(json_object_object_get_ex(first, "resource", &res));
            ck_assert(json_object_object_get_ex(res, "id", &pid));
            ck_assert_str_eq(json_object_get_string(pid), id);
            json_object_put(b);
        }
    }
    mmdx_manifest_free(m);
    free(t);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(synth_label_signal_is_split_across_modalities)
{
    const size_t n = 400;
    char *dir = synth(n, 3, 2, 0.15);
    char cohort[4096];
    snprintf(cohort, sizeof cohort, "%s/cohort", dir);
    truth *t = read_truth(cohort, n);
    double mean[2][3] = {{0}}, cnt[2] = {0};
    size_t pos = 0, absent[3] = {0}, none = 0;
    for (size_t i = 0; i < n; i++) {
        pos += (size_t)t[i].label;
        cnt[t[i].label]++;
        for (int k = 0; k < 3; k++) {
            mean[t[i].label][k] += t[i].z[k];
            absent[k] += !t[i].present[k];
        }
        none += !t[i].present[0] && !t[i].present[1] && !t[i].present[2];
    }
    ck_assert(pos > n / 6 && pos < n / 2);
    ck_assert_uint_eq(none, 0);
    for (int k = 0; k < 3; k++) {
        /* Each component separates the classes by a similar margin (about 0.8 sd with these weights). */
        double d = mean[1][k] / cnt[1] - mean[0][k] / cnt[0];
        ck_assert_msg(d > 0.45 && d < 1.3, "modality %d: mean difference %.3f", k, d);
        ck_assert(absent[k] > n / 20 && absent[k] < n / 4);
    }
    free(t);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

static void folder_sha256(const char *dir, char hex[MMDX_SHA256_HEX_LEN])
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cohort", dir);
    ck_assert_int_eq(mmdx_input_sha256(path, hex), 0);
}

START_TEST(synth_without_subtypes_is_unchanged)
{
    /* truth.csv of this cohort as written before subtypes existed (the labels, components and
       presence of every patient): the default draws must not move. */
    char *a = synth(30, 7, 2, 0.2), *b = synth_subtypes(30, 7, 1, 0.2, 0);
    char path[4096], ha[MMDX_SHA256_HEX_LEN], hb[MMDX_SHA256_HEX_LEN];
    snprintf(path, sizeof path, "%s/cohort/truth.csv", a);
    size_t len = 0;
    char *bytes = mmdx_test_read_file(path, &len);
    ck_assert_ptr_nonnull(bytes);
    uint8_t h[MMDX_SHA256_LEN];
    mmdx_sha256(bytes, len, h);
    mmdx_hex(h, sizeof h, ha);
    ck_assert_str_eq(ha, "e1dc77c0030f6fc41859c82a6f474302b073931e2d8c38edb3f9e5f8d53d37f8");
    free(bytes);
    folder_sha256(a, ha);
    folder_sha256(b, hb);
    ck_assert_str_eq(ha, hb);
    mmdx_test_rmtree(a);
    mmdx_test_rmtree(b);
    free(a);
    free(b);
}
END_TEST

START_TEST(synth_subtype_centroids_are_standardised)
{
    double mu[3];
    /* K = 4: the regular tetrahedron of synth.h. */
    static const double tetra[4][3] = {{M_SQRT2, 0, 1}, {0, M_SQRT2, -1}, {-M_SQRT2, 0, 1}, {0, -M_SQRT2, -1}};
    for (int s = 0; s < 4; s++) {
        mmdx_synth_subtype_centroid(4, s, mu);
        for (int m = 0; m < 3; m++)
            ck_assert_double_eq_tol(mu[m], tetra[s][m], 1e-12);
    }
    for (int k = 2; k <= MMDX_SYNTH_MAX_SUBTYPES; k++) {
        double sum[3] = {0}, sum2[3] = {0}, cross = 0, closest = 1e9, c[MMDX_SYNTH_MAX_SUBTYPES][3];
        for (int s = 0; s < k; s++) {
            mmdx_synth_subtype_centroid(k, s, c[s]);
            for (int m = 0; m < 3; m++) {
                sum[m] += c[s][m];
                sum2[m] += c[s][m] * c[s][m];
            }
            cross += c[s][0] * c[s][1] + c[s][0] * c[s][2] + c[s][1] * c[s][2];
            for (int t = 0; t < s; t++) {
                double d = 0;
                for (int m = 0; m < 3; m++)
                    d += (c[s][m] - c[t][m]) * (c[s][m] - c[t][m]);
                closest = fmin(closest, sqrt(d));
            }
        }
        for (int m = 0; m < 3; m++) {
            ck_assert_double_eq_tol(sum[m] / k, 0, 1e-12);
            ck_assert_double_eq_tol(sum2[m] / k, 1, 1e-12);
        }
        if (k >= 4)
            ck_assert_double_eq_tol(cross / k, 0, 1e-12);
        ck_assert_msg(closest > 0.25, "K = %d: centroids %.3f apart", k, closest);
    }
}
END_TEST

START_TEST(synth_subtypes_share_the_components)
{
    const size_t n = 400;
    const double a = MMDX_SYNTH_SUBTYPE_STRENGTH, keep = sqrt(1 - a * a);
    char *with = synth_subtypes(n, 3, 2, 0.15, 4), *without = synth(n, 3, 2, 0.15);
    char cw[4096], co[4096];
    snprintf(cw, sizeof cw, "%s/cohort", with);
    snprintf(co, sizeof co, "%s/cohort", without);
    truth *t = read_truth(cw, n), *t0 = read_truth(co, n);
    size_t count[4] = {0};
    double mean[4][4] = {{0}}, sq[4][4] = {{0}};
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(t0[i].subtype, -1);
        ck_assert(t[i].subtype >= 0 && t[i].subtype < 4);
        int s = t[i].subtype;
        count[s]++;
        double mu[3];
        mmdx_synth_subtype_centroid(4, s, mu);
        /* z_m = a mu_{s,m} + sqrt(1 - a^2) e_m, e_m the same seed's component without subtypes
           (truth.csv has 6 decimals; the genotypes reach their target within half a site's weight). */
        ck_assert_double_eq_tol(t[i].z[0], a * mu[0] + keep * t0[i].z[0], 3e-6);
        ck_assert_double_eq_tol(t[i].z[1], a * mu[1] + keep * t0[i].z[1], 0.15);
        ck_assert_double_eq_tol(t[i].z[2], a * mu[2] + keep * t0[i].z[2], 3e-6);
        ck_assert(t0[i].z_shape == 0);
        for (int m = 0; m < 4; m++) { /* the fourth: imaging's shape component */
            double z = m < 3 ? t[i].z[m] : t[i].z_shape;
            mean[s][m] += z;
            sq[s][m] += z * z;
            if (m < 3)
                ck_assert_int_eq(t[i].present[m], t0[i].present[m]);
        }
    }
    for (int m = 0; m < 4; m++) {
        double lo = 1e9, hi = -1e9;
        for (int s = 0; s < 4; s++) {
            ck_assert_uint_gt(count[s], n / 8);
            double mu = mean[s][m] / count[s], sd = sqrt(sq[s][m] / count[s] - mu * mu);
            lo = fmin(lo, mu);
            hi = fmax(hi, mu);
            /* within a subtype only the sqrt(1 - a^2) = 0.6 of the noise is left */
            ck_assert_msg(sd > 0.45 && sd < 0.75, "subtype %d, modality %d: sd %.3f", s, m, sd);
        }
        /* the centroids' spread a (max - min) is 2.26 (imaging, genomics, imaging's shape) and 1.6 (records);
           a subtype that shifted nothing would leave about 0.3 */
        ck_assert_msg(hi - lo > 1.2, "modality %d: subtype means %.3f..%.3f", m, lo, hi);
    }
    free(t);
    free(t0);
    /* Deterministic whatever the threads, and a different cohort from the one without subtypes. */
    char *one = synth_subtypes(12, 3, 1, 0.15, 4), *two = synth_subtypes(12, 3, 2, 0.15, 4);
    char h1[MMDX_SHA256_HEX_LEN], h2[MMDX_SHA256_HEX_LEN];
    folder_sha256(one, h1);
    folder_sha256(two, h2);
    ck_assert_str_eq(h1, h2);
    mmdx_synth_options o;
    mmdx_synth_options_init(&o);
    o.out = cw;
    mmdx_synth_summary sum;
    static const int bad[] = {1, -1, MMDX_SYNTH_MAX_SUBTYPES + 1};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        o.n_subtypes = bad[k];
        ck_assert_int_eq(mmdx_synth_run(&o, &sum), MMDX_EINVAL);
        ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "subtypes"));
    }
    char *dirs[] = {with, without, one, two};
    for (size_t k = 0; k < 4; k++) {
        mmdx_test_rmtree(dirs[k]);
        free(dirs[k]);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("screen");
    TCase *tc = tcase_create("units");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, shard_parse_valid_and_invalid);
    tcase_add_test(tc, shard_of_is_sha256_based_and_partitions);
    tcase_add_test(tc, run_id_is_deterministic_and_distinct);
    tcase_add_test(tc, journal_resumes_cuts_torn_line_and_finishes_in_order);
    tcase_add_test(tc, journal_refuses_another_runs_partial_file);
    tcase_add_test(tc, input_hash_of_files_and_folders);
    tcase_add_test(tc, synth_is_deterministic_whatever_the_threads);
    tcase_add_test(tc, synth_files_hold_what_the_truth_says);
    tcase_add_test(tc, synth_label_signal_is_split_across_modalities);
    tcase_add_test(tc, synth_without_subtypes_is_unchanged);
    tcase_add_test(tc, synth_subtype_centroids_are_standardised);
    tcase_add_test(tc, synth_subtypes_share_the_components);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
