/*
 * tests/imaging/test_pat1_dicom.c — the IBSI CT phantom PAT1 through the full
 * DICOM path: the 60-slice series and the RTSTRUCT's GTV-1, read and
 * rasterised by the imaging encoder, under IBSI configurations A to E.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Two checks per configuration:
 *   1. every feature equals the one the same encoder computes from IBSI's
 *      NIfTI copies of image and mask (the path test_radiomics_ibsi holds to
 *      the reference values for every feature);
 *   2. a feature of each family matches the IBSI reference value of that
 *      configuration within its tolerance, read from the reference table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "encoder.h"
#include "error.h"
#include "testsupport.h"

#define MAX_ENTRIES 16

typedef struct config {
    const char *data_set;
    int three_d;
    const char *settings[MAX_ENTRIES][2];
} config;

/* IBSI-1 reference configurations (ibsi-doc 05, Reference data sets). Moran's I and
 * Geary's C are left out here (quadratic cost; test_radiomics_ibsi checks them). */
static const config configs[] = {
    {"config_A", 0,
     {{"round_intensities", "true"}, {"resegment_range", "-500,400"}, {"discretisation", "fbs:25"},
      {"ivh_discretisation", "none"}, {"aggregation", "2d"}, {"moran_max_voxels", "1"}, {NULL, NULL}}},
    {"config_B", 0,
     {{"interpolation", "linear"}, {"interpolation_2d", "true"}, {"spacing", "2,2,2"}, {"round_intensities", "true"},
      {"mask_interpolation", "linear"}, {"mask_partial_volume", "0.5"}, {"resegment_range", "-500,400"},
      {"discretisation", "fbn:32"}, {"ivh_discretisation", "none"}, {"aggregation", "2d"}, {"moran_max_voxels", "1"},
      {NULL, NULL}}},
    {"config_C", 1,
     {{"interpolation", "linear"}, {"spacing", "2"}, {"round_intensities", "true"}, {"mask_interpolation", "linear"},
      {"resegment_range", "-1000,400"}, {"discretisation", "fbs:25"}, {"ivh_discretisation", "fbs:2.5"},
      {"aggregation", "3d"}, {"moran_max_voxels", "1"}, {NULL, NULL}}},
    {"config_D", 1,
     {{"interpolation", "linear"}, {"spacing", "2"}, {"round_intensities", "true"}, {"mask_interpolation", "linear"},
      {"resegment_outliers", "true"}, {"discretisation", "fbn:32"}, {"ivh_discretisation", "none"},
      {"aggregation", "3d"}, {"moran_max_voxels", "1"}, {NULL, NULL}}},
    {"config_E", 1,
     {{"interpolation", "cubic"}, {"spacing", "2"}, {"round_intensities", "true"}, {"mask_interpolation", "linear"},
      {"resegment_range", "-1000,400"}, {"resegment_outliers", "true"}, {"discretisation", "fbn:32"},
      {"ivh_discretisation", "fbn:1000"}, {"aggregation", "3d"}, {"moran_max_voxels", "1"}, {NULL, NULL}}},
};

/* One feature per family, by IBSI code and aggregation ("" when the family has none). */
static const struct {
    const char *code, *aggregation_2d, *aggregation_3d, *name_2d, *name_3d;
} checked[] = {
    {"RNU0", "", "", "morph.volume", "morph.volume"},
    {"C0JK", "", "", "morph.area_mesh", "morph.area_mesh"},
    {"VJGA", "", "", "loc.peak_loc", "loc.peak_loc"},
    {"Q4LE", "", "", "stat.mean", "stat.mean"},
    {"QG58", "", "", "stat.p10", "stat.p10"},
    {"84IY", "", "", "stat.max", "stat.max"},
    {"X6K6", "", "", "ih.mean", "ih.mean"},
    {"BC2M", "", "", "ivh.v10", "ivh.v10"},
    {"GYBY", "2D, averaged", "3D, averaged", "cm_2d_avg.joint_max", "cm_3d_avg.joint_max"},
    {"22OV", "2D, averaged", "3D, averaged", "rlm_2d_avg.sre", "rlm_3d_avg.sre"},
    {"0GBI", "2D", "3D", "dzm_2d.sde", "dzm_3d.sde"},
    {"QCDE", "2D", "3D", "ngt_2d.coarseness", "ngt_3d.coarseness"},
    {"SODN", "2D", "3D", "ngl_2d.lde", "ngl_3d.lde"},
};

static mmdx_imaging_encoder *encoder_for(const config *c)
{
    mmdx_config_entry entries[MAX_ENTRIES];
    size_t n = 0;
    for (; c->settings[n][0]; n++)
        entries[n] = (mmdx_config_entry){c->settings[n][0], c->settings[n][1], "pat1.conf", (int32_t)n + 1, 0};
    mmdx_plugin_config cfg = {MMDX_ABI_VERSION, sizeof cfg, "imaging", n, entries, NULL, NULL, 1, 0};
    mmdx_imaging_encoder *e = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_imaging_encoder_new(&e, &cfg, &err) == 0, "%s", err.message);
    return e;
}

static void encode(const mmdx_imaging_encoder *e, const char *image, const char *mask, const char *roi, double *values)
{
    char *ip = mmdx_test_data_path(image), *mp = mmdx_test_data_path(mask);
    const char *keys[2] = {"mask", "roi"}, *vals[2] = {mp, roi};
    mmdx_encoder_input in = {MMDX_ABI_VERSION, sizeof in, "PAT1", ip, NULL, "pat1", roi ? 2 : 1, keys, vals};
    int32_t present = 0;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_imaging_encoder_encode(e, &in, values, &present, &err) == 0, "%s: %s", image, err.message);
    ck_assert_int_eq(present, 1);
    free(ip);
    free(mp);
}

static double reference(const char *data_set, const char *code, const char *aggregation, double *tol)
{
    char *path = mmdx_test_data_path("ibsi/reference/ibsi1_reference_values.csv");
    mmdx_csv_reader *r = NULL;
    ck_assert_int_eq(mmdx_csv_open(&r, path, ','), 0);
    char **f;
    size_t n;
    double value = NAN;
    int rc;
    while ((rc = mmdx_csv_next(r, &f, &n)) == 1)
        if (n >= 8 && !strcmp(f[2], code) && !strcmp(f[4], data_set) && !strcmp(f[5], aggregation)) {
            value = strtod(f[6], NULL);
            *tol = strtod(f[7], NULL);
            break;
        }
    ck_assert_int_ge(rc, 0);
    mmdx_csv_close(r);
    free(path);
    ck_assert_msg(!isnan(value), "no reference row %s %s %s", data_set, code, aggregation);
    return value;
}

START_TEST(pat1_dicom_path_gives_ibsi_values)
{
    mmdx_test_data_or_skip();
    const config *c = &configs[_i];
    mmdx_imaging_encoder *e = encoder_for(c);
    size_t nf;
    const char *const *names;
    mmdx_imaging_encoder_names(e, &nf, &names);
    double *dicom = malloc(nf * sizeof *dicom), *nifti = malloc(nf * sizeof *nifti);
    encode(e, "dicom/ibsi1_ct_phantom_PAT1/image", "dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm", "GTV-1",
           dicom);
    encode(e, "ibsi/ct_phantom_PAT1_nifti/image_phantom.nii.gz", "ibsi/ct_phantom_PAT1_nifti/mask_GTV-1.nii.gz", NULL,
           nifti);

    /* 1. The DICOM path computes what the NIfTI path computes. The grids agree to
     * the float precision of the NIfTI header (1e-5 mm), which interpolation may
     * carry into the last digits, hence a relative 1e-6. */
    size_t differ = 0;
    char report[4096] = "";
    for (size_t i = 0; i < nf; i++) {
        int same = (isnan(dicom[i]) && isnan(nifti[i])) ||
                   fabs(dicom[i] - nifti[i]) <= 1e-6 * fmax(1.0, fabs(nifti[i]));
        if (!same) {
            differ++;
            size_t len = strlen(report);
            if (len < sizeof report - 120)
                snprintf(report + len, sizeof report - len, " %s=%.9g/%.9g", names[i], dicom[i], nifti[i]);
        }
    }
    ck_assert_msg(differ == 0, "%s: %zu of %zu features differ between DICOM and NIfTI inputs:%s", c->data_set,
                  differ, nf, report);

    /* 2. Reference values of IBSI for this configuration. */
    for (size_t k = 0; k < sizeof checked / sizeof *checked; k++) {
        const char *name = c->three_d ? checked[k].name_3d : checked[k].name_2d;
        const char *agg = c->three_d ? checked[k].aggregation_3d : checked[k].aggregation_2d;
        double tol = 0, ref = reference(c->data_set, checked[k].code, agg, &tol);
        size_t i = 0;
        while (i < nf && strcmp(names[i], name))
            i++;
        ck_assert_msg(i < nf, "feature %s missing", name);
        ck_assert_msg(fabs(dicom[i] - ref) <= tol, "%s: %s (%s) = %.6g, IBSI reference %.6g +- %.3g", c->data_set,
                      name, checked[k].code, dicom[i], ref, tol);
    }
    free(dicom);
    free(nifti);
    mmdx_imaging_encoder_free(e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("imaging_pat1_dicom");
    TCase *t = tcase_create("pat1");
    tcase_set_timeout(t, 600);
    tcase_add_loop_test(t, pat1_dicom_path_gives_ibsi_values, 0, (int)(sizeof configs / sizeof *configs));
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
