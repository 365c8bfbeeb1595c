/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "orthanc_model.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "feature_table.h"
#include "pgtest.h"
#include "testsupport.h"

char *orthanc_test_run_ok(const char *cmd)
{
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(rc == 0, "%s\nexit %d\n%s\n%s", cmd, rc, out ? out : "", err ? err : "");
    free(err);
    return out;
}

int orthanc_test_main(const char *suite, const TTest *test)
{
    mmdx_test_data_or_skip(); /* here, not inside the forked test: exit 77 must reach ctest */
    mmdx_pgtest_state_dir();
    Suite *su = suite_create(suite);
    TCase *tc = tcase_create(suite);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test);
    suite_add_tcase(su, tc);
    return mmdx_test_run_suite(su);
}

static void write_records(const char *path)
{
    /* A small site-wide export: the CT phantom's patient (PatientID "1") with
     * labs the records encoder's default spec reads, and another patient. */
    mmdx_test_write_file(
        path,
        "{\"resourceType\": \"Bundle\", \"type\": \"collection\", \"entry\": ["
        "{\"resource\": {\"resourceType\": \"Patient\", \"id\": \"1\", \"gender\": \"male\","
        "  \"birthDate\": \"1951-03-04\"}},"
        "{\"resource\": {\"resourceType\": \"Observation\", \"id\": \"o1\", \"status\": \"final\","
        "  \"subject\": {\"reference\": \"Patient/1\"}, \"effectiveDateTime\": \"2024-05-01\","
        "  \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": \"4548-4\"}]},"
        "  \"valueQuantity\": {\"value\": 6.9, \"unit\": \"%\", \"system\": \"http://unitsofmeasure.org\", \"code\": \"%\"}}},"
        "{\"resource\": {\"resourceType\": \"Observation\", \"id\": \"o2\", \"status\": \"final\","
        "  \"subject\": {\"reference\": \"Patient/1\"}, \"effectiveDateTime\": \"2024-05-01\","
        "  \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": \"8480-6\"}]},"
        "  \"valueQuantity\": {\"value\": 151, \"unit\": \"mm[Hg]\", \"system\": \"http://unitsofmeasure.org\", \"code\": \"mm[Hg]\"}}}"
        ","
        "{\"resource\": {\"resourceType\": \"Patient\", \"id\": \"2\", \"gender\": \"female\","
        "  \"birthDate\": \"1960-10-12\"}}"
        "]}");
}

/* A deterministic uniform number in [-1, 1). */
static double uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/*
 * A training table with the encoders' schema: 60 patients around the
 * reference patient's features, labelled by the first feature of each
 * modality, so the model depends on both modalities.
 */
static void write_training_table(const char *ref_path, const char *out_path)
{
    mmdx_feature_table *ref = NULL;
    ck_assert_int_eq(mmdx_feature_table_read(&ref, ref_path), 0);
    ck_assert_uint_eq(ref->n_rows, 1);
    FILE *f = fopen(out_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "patient_id");
    for (size_t m = 0; m < ref->n_modalities; m++) {
        fprintf(f, ",%s.present", ref->modalities[m]);
        for (size_t k = 0; k < ref->n_features; k++)
            if (ref->feature_modality[k] == m)
                fprintf(f, ",%s", ref->feature_names[k]);
    }
    fprintf(f, ",label\n");
    uint64_t seed = 42;
    double *u = malloc(ref->n_features * sizeof *u);
    for (int r = 0; r < 60; r++) {
        double score = 0;
        for (size_t k = 0; k < ref->n_features; k++)
            u[k] = uniform(&seed);
        fprintf(f, "T%03d", r);
        for (size_t m = 0; m < ref->n_modalities; m++) {
            fprintf(f, ",1");
            int first = 1;
            for (size_t k = 0; k < ref->n_features; k++) {
                if (ref->feature_modality[k] != m)
                    continue;
                double base = ref->x[k];
                double v = isnan(base) ? u[k] : base + (0.2 * fabs(base) + 0.01) * u[k];
                if (first)
                    score += u[k];
                first = 0;
                fprintf(f, ",%.17g", v);
            }
        }
        fprintf(f, ",%d\n", score > 0);
    }
    free(u);
    ck_assert_int_eq(fclose(f), 0);
    mmdx_feature_table_free(ref);
}

void orthanc_test_train_model(const char *tmp, expected *e)
{
    const char *mmdx = mmdx_test_mmdx_bin();
    char *ct = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/image");
    char path[4200], cmd[16384];
    snprintf(path, sizeof path, "%s/records.json", tmp);
    write_records(path);
    /* genotypes of two samples; the site's map says patient "1" is S_B */
    snprintf(path, sizeof path, "%s/cohort.vcf", tmp);
    mmdx_test_write_file(path, "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000000>\n"
                               "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS_A\tS_B\n"
                               "1\t1000\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\n"
                               "1\t2000\trs2\tC\tT\t.\tPASS\t.\tGT\t0/0\t0/1\n"
                               "1\t3000\trs3\tG\tA\t.\tPASS\t.\tGT\t./.\t1/1\n"
                               "1\t4000\trs4\tT\tC\t.\tPASS\t.\tGT\t1/1\t0/0\n");
    snprintf(path, sizeof path, "%s/samples.csv", tmp);
    mmdx_test_write_file(path, "patient_id,vcf_sample\n1,S_B\n2,S_A\n");
    /* the site key: signs the model here, and the audit events in the plugin */
    snprintf(path, sizeof path, "%s/site.key", tmp);
    mmdx_test_write_file(path, "6d6d64782d6f727468616e632d746573742d736974652d6b65792d3031323334\n");
    ck_assert_int_eq(chmod(path, 0600), 0);
    snprintf(path, sizeof path, "%s/reference.csv", tmp);
    char cohort[12600];
    snprintf(cohort, sizeof cohort, "patient_id,dicom,record,vcf,vcf_sample\n1,%s,%s/records.json,%s/cohort.vcf,S_B\n",
             ct, tmp, tmp);
    mmdx_test_write_file(path, cohort);
    /* The site configuration the model is trained with, and the plugin uses:
     * a coarse imaging grid keeps the radiomics of a whole-body CT mask fast
     * enough for the sanitizer build. */
    snprintf(path, sizeof path, "%s/mmdx.conf", tmp);
    mmdx_test_write_file(path,
#ifdef MMDX_TEST_HAVE_IMAGING
                         "[imaging]\ninterpolation = linear\nspacing = 4\ndiscretisation = fbn:16\n"
                         "families = morph,stat,ih,cm,rlm,szm\nmoran_max_voxels = 1000\n"
#else
                         "# no imaging encoder in this build\n"
#endif
    );
    snprintf(cmd, sizeof cmd,
             "'%s' encode --config '%s/mmdx.conf' --cohort '%s/reference.csv' --out '%s/reference_features.csv' "
             "--no-progress",
             mmdx, tmp, tmp, tmp);
    free(orthanc_test_run_ok(cmd));
    snprintf(path, sizeof path, "%s/reference_features.csv", tmp);
    char train[4200];
    snprintf(train, sizeof train, "%s/train.csv", tmp);
    write_training_table(path, train);
    snprintf(cmd, sizeof cmd,
             "'%s' train --config '%s/mmdx.conf' --site-key '%s/site.key' --features '%s' --fusion joint "
             "--out '%s/model.mmdx' --no-progress",
             mmdx, tmp, tmp, train, tmp);
    free(orthanc_test_run_ok(cmd));
    /* what `mmdx predict` says for the same patient (10 significant digits): the plugin must agree */
    snprintf(cmd, sizeof cmd, "'%s' predict --config '%s/mmdx.conf' --site-key '%s/site.key' --require-signed --model '%s/model.mmdx' "
             "--cohort '%s/reference.csv' --out - --no-progress",
             mmdx, tmp, tmp, tmp, tmp);
    char *out = orthanc_test_run_ok(cmd);
    char *nl = strchr(out, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    snprintf(e->header, sizeof e->header, "%s", out);
    snprintf(e->row, sizeof e->row, "%s", nl + 1);
    e->row[strcspn(e->row, "\n")] = '\0';
    ck_assert_int_eq(sscanf(e->row, "1,%lf,%d", &e->probability, &e->decision), 2);
    free(out);
    free(ct);
}

