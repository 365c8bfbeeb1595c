/*
 * tests/imaging/test_radiomics_ibsi.c — the radiomics engine against the
 * IBSI-1 reference values.
 * SPDX-License-Identifier: Apache-2.0
 *
 * For the digital phantom and the CT phantom PAT1 under IBSI configurations
 * A to E (from its NIfTI copy, and again from the DICOM series with the
 * RTSTRUCT contour rasterised), every feature the reference table lists is
 * computed and compared with the reference value within its tolerance. The
 * reference CSV is read at test time from the shared data folder. A row
 * without tolerance ("—" in the manual, 0 in the CSV) must match to the
 * precision the manual prints (half a unit of its last digit).
 *
 * Setting MMDX_IBSI_REPORT=1 prints every comparison (for docs/imaging-ibsi.md);
 * MMDX_IBSI_ONLY=<data set> restricts the run to one data set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "dicom_series.h"
#include "error.h"
#include "nifti_io.h"
#include "roi.h"
#include "radiomics/radiomics.h"
#include "testsupport.h"

/* Non-texture features: IBSI family + table caption -> our name. */
typedef struct name_map {
    const char *family, *caption, *name;
} name_map;

static const name_map plain_map[] = {
    {"Morphological features", "volume (mesh)", "morph.volume"},
    {"Morphological features", "volume (voxel counting)", "morph.vol_approx"},
    {"Morphological features", "surface area (mesh)", "morph.area_mesh"},
    {"Morphological features", "surface to volume ratio", "morph.av"},
    {"Morphological features", "compactness 1", "morph.comp_1"},
    {"Morphological features", "compactness 2", "morph.comp_2"},
    {"Morphological features", "spherical disproportion", "morph.sph_dispr"},
    {"Morphological features", "sphericity", "morph.sphericity"},
    {"Morphological features", "asphericity", "morph.asphericity"},
    {"Morphological features", "centre of mass shift", "morph.com"},
    {"Morphological features", "maximum 3D diameter", "morph.diam"},
    {"Morphological features", "major axis length", "morph.pca_major"},
    {"Morphological features", "minor axis length", "morph.pca_minor"},
    {"Morphological features", "least axis length", "morph.pca_least"},
    {"Morphological features", "elongation", "morph.pca_elongation"},
    {"Morphological features", "flatness", "morph.pca_flatness"},
    {"Morphological features", "volume density (AABB)", "morph.v_dens_aabb"},
    {"Morphological features", "area density (AABB)", "morph.a_dens_aabb"},
    {"Morphological features", "volume density (AEE)", "morph.v_dens_aee"},
    {"Morphological features", "area density (AEE)", "morph.a_dens_aee"},
    {"Morphological features", "volume density (convex hull)", "morph.v_dens_conv_hull"},
    {"Morphological features", "area density (convex hull)", "morph.a_dens_conv_hull"},
    {"Morphological features", "integrated intensity", "morph.integ_int"},
    {"Morphological features", "Moran\xe2\x80\x99s I index", "morph.moran_i"},
    {"Morphological features", "Geary\xe2\x80\x99s C measure", "morph.geary_c"},
    {"Local intensity features", "local intensity peak", "loc.peak_loc"},
    {"Local intensity features", "global intensity peak", "loc.peak_glob"},
#define STATLIKE(FAM, P)                                                                                            \
    {FAM, "mean", P ".mean"}, {FAM, "variance", P ".var"}, {FAM, "skewness", P ".skew"},                            \
        {FAM, "(excess) kurtosis", P ".kurt"}, {FAM, "median", P ".median"}, {FAM, "minimum", P ".min"},            \
        {FAM, "10th percentile", P ".p10"}, {FAM, "90th percentile", P ".p90"}, {FAM, "maximum", P ".max"},         \
        {FAM, "interquartile range", P ".iqr"}, {FAM, "range", P ".range"},                                         \
        {FAM, "mean absolute deviation", P ".mad"}, {FAM, "robust mean absolute deviation", P ".rmad"},              \
        {FAM, "median absolute deviation", P ".medad"}, {FAM, "coefficient of variation", P ".cov"},                \
        {FAM, "quartile coefficient of dispersion", P ".qcod"}
    STATLIKE("Intensity-based statistical features", "stat"),
    {"Intensity-based statistical features", "energy", "stat.energy"},
    {"Intensity-based statistical features", "root mean square", "stat.rms"},
    STATLIKE("Intensity histogram features", "ih"),
    {"Intensity histogram features", "mode", "ih.mode"},
    {"Intensity histogram features", "entropy", "ih.entropy"},
    {"Intensity histogram features", "uniformity", "ih.uniformity"},
    {"Intensity histogram features", "maximum histogram gradient", "ih.max_grad"},
    {"Intensity histogram features", "maximum histogram gradient intensity", "ih.max_grad_g"},
    {"Intensity histogram features", "minimum histogram gradient", "ih.min_grad"},
    {"Intensity histogram features", "minimum histogram gradient intensity", "ih.min_grad_g"},
    {"Intensity-volume histogram features", "volume fraction at 10% intensity", "ivh.v10"},
    {"Intensity-volume histogram features", "volume fraction at 90% intensity", "ivh.v90"},
    {"Intensity-volume histogram features", "intensity at 10% volume", "ivh.i10"},
    {"Intensity-volume histogram features", "intensity at 90% volume", "ivh.i90"},
    {"Intensity-volume histogram features", "volume fraction difference between 10% and 90% intensity",
     "ivh.diff_v10_v90"},
    {"Intensity-volume histogram features", "intensity difference between 10% and 90% volume", "ivh.diff_i10_i90"},
};

/* Texture features: IBSI family -> our prefix; feature name -> our feature. */
typedef struct tex_map {
    const char *family, *prefix;
    const char *const *ibsi, *const *ours;
    size_t n;
} tex_map;

static const char *const cm_ibsi[] = {
    "Joint maximum", "Joint average", "Joint variance", "Joint entropy", "Difference average",
    "Difference variance", "Difference entropy", "Sum average", "Sum variance", "Sum entropy",
    "Angular second moment", "Contrast", "Dissimilarity", "Inverse difference", "Normalised inverse difference",
    "Inverse difference moment", "Normalised inverse difference moment", "Inverse variance", "Correlation",
    "Autocorrelation", "Cluster tendency", "Cluster shade", "Cluster prominence", "Information correlation 1",
    "Information correlation 2"};
static const char *const cm_ours[] = {
    "joint_max", "joint_avg", "joint_var", "joint_entr", "diff_avg", "diff_var", "diff_entr", "sum_avg",
    "sum_var", "sum_entr", "energy", "contrast", "dissimilarity", "inv_diff", "inv_diff_norm", "inv_diff_mom",
    "inv_diff_mom_norm", "inv_var", "corr", "auto_corr", "clust_tend", "clust_shade", "clust_prom",
    "info_corr1", "info_corr2"};
static const char *const rlm_ibsi[] = {
    "Short runs emphasis", "Long runs emphasis", "Low grey level run emphasis", "High grey level run emphasis",
    "Short run low grey level emphasis", "Short run high grey level emphasis", "Long run low grey level emphasis",
    "Long run high grey level emphasis", "Grey level non-uniformity", "Normalised grey level non-uniformity",
    "Run length non-uniformity", "Normalised run length non-uniformity", "Run percentage", "Grey level variance",
    "Run length variance", "Run entropy"};
static const char *const rlm_ours[] = {"sre",   "lre",   "lgre", "hgre",      "srlge", "srhge",  "lrlge",  "lrhge",
                                       "glnu",  "glnu_norm", "rlnu", "rlnu_norm", "r_perc", "gl_var", "rl_var",
                                       "rl_entr"};
static const char *const szm_ibsi[] = {
    "Small zone emphasis", "Large zone emphasis", "Low grey level zone emphasis", "High grey level zone emphasis",
    "Small zone low grey level emphasis", "Small zone high grey level emphasis", "Large zone low grey level emphasis",
    "Large zone high grey level emphasis", "Grey level non-uniformity", "Normalised grey level non-uniformity",
    "Zone size non-uniformity", "Normalised zone size non-uniformity", "Zone percentage", "Grey level variance",
    "Zone size variance", "Zone size entropy"};
static const char *const szm_ours[] = {"sze",  "lze",       "lgze", "hgze",      "szlge",  "szhge",  "lzlge",  "lzhge",
                                       "glnu", "glnu_norm", "zsnu", "zsnu_norm", "z_perc", "gl_var", "zs_var", "zs_entr"};
static const char *const dzm_ibsi[] = {
    "Small distance emphasis", "Large distance emphasis", "Low grey level zone emphasis",
    "High grey level zone emphasis", "Small distance low grey level emphasis",
    "Small distance high grey level emphasis", "Large distance low grey level emphasis",
    "Large distance high grey level emphasis", "Grey level non-uniformity", "Normalised grey level non-uniformity",
    "Zone distance non-uniformity", "Normalised zone distance non-uniformity", "Zone percentage",
    "Grey level variance", "Zone distance variance", "Zone distance entropy"};
static const char *const dzm_ours[] = {"sde",  "lde",       "lgze", "hgze",      "sdlge",  "sdhge",  "ldlge",  "ldhge",
                                       "glnu", "glnu_norm", "zdnu", "zdnu_norm", "z_perc", "gl_var", "zd_var", "zd_entr"};
static const char *const ngt_ibsi[] = {"Coarseness", "Contrast", "Busyness", "Complexity", "Strength"};
static const char *const ngt_ours[] = {"coarseness", "contrast", "busyness", "complexity", "strength"};
static const char *const ngl_ibsi[] = {
    "Low dependence emphasis", "High dependence emphasis", "Low grey level count emphasis",
    "High grey level count emphasis", "Low dependence low grey level emphasis",
    "Low dependence high grey level emphasis", "High dependence low grey level emphasis",
    "High dependence high grey level emphasis", "Grey level non-uniformity", "Normalised grey level non-uniformity",
    "Dependence count non-uniformity", "Normalised dependence count non-uniformity", "Dependence count percentage",
    "Grey level variance", "Dependence count variance", "Dependence count entropy", "Dependence count energy"};
static const char *const ngl_ours[] = {"lde",  "hde",       "lgce", "hgce",      "ldlge",   "ldhge",  "hdlge",
                                       "hdhge", "glnu",     "glnu_norm", "dcnu", "dcnu_norm", "dc_perc", "gl_var",
                                       "dc_var", "dc_entr", "dc_energy"};

#define TEX(F, P, A) {F, P, A##_ibsi, A##_ours, sizeof A##_ours / sizeof *A##_ours}
static const tex_map tex_maps[] = {
    TEX("Grey level co-occurrence based features", "cm", cm),
    TEX("Grey level run length based features", "rlm", rlm),
    TEX("Grey level size zone based features", "szm", szm),
    TEX("Grey level distance zone based features", "dzm", dzm),
    TEX("Neighbourhood grey tone difference based features", "ngt", ngt),
    TEX("Neighbouring grey level dependence based features", "ngl", ngl),
};

static const struct {
    const char *ibsi, *ours;
} agg_map[] = {
    {"2D, averaged", "2d_avg"},   {"2D, slice-merged", "2d_smrg"}, {"2.5D, direction-merged", "25d_dmrg"},
    {"2.5D, merged", "25d_mrg"},  {"3D, averaged", "3d_avg"},      {"3D, merged", "3d_mrg"},
    {"2D", "2d"},                 {"2.5D", "25d"},                 {"3D", "3d"},
};

/* Our feature name for a reference row, or 0 when unmapped. */
static int map_row(char *out, size_t len, const char *family, const char *feature, const char *caption,
                   const char *agg)
{
    for (size_t i = 0; i < sizeof plain_map / sizeof *plain_map; i++)
        if (!strcmp(plain_map[i].family, family) && !strcmp(plain_map[i].caption, caption)) {
            snprintf(out, len, "%s", plain_map[i].name);
            return 1;
        }
    for (size_t t = 0; t < sizeof tex_maps / sizeof *tex_maps; t++) {
        if (strcmp(tex_maps[t].family, family))
            continue;
        const char *suffix = NULL;
        for (size_t a = 0; a < sizeof agg_map / sizeof *agg_map; a++)
            if (!strcmp(agg_map[a].ibsi, agg))
                suffix = agg_map[a].ours;
        if (!suffix)
            return 0;
        for (size_t f = 0; f < tex_maps[t].n; f++)
            if (!strcmp(tex_maps[t].ibsi[f], feature)) {
                snprintf(out, len, "%s_%s.%s", tex_maps[t].prefix, suffix, tex_maps[t].ours[f]);
                return 1;
            }
    }
    return 0;
}

/*
 * Tolerance for a row: the CSV tolerance when given, else half a unit of the
 * last digit the manual prints ("2.15" -> 0.005, "1" -> 0.5,
 * ":math:`1.2 \times 10^{3}`" -> 50).
 */
static double row_tolerance(double tol, const char *raw)
{
    if (tol > 0)
        return tol;
    const char *p = raw;
    while (*p && !(*p >= '0' && *p <= '9'))
        p++;
    int decimals = 0, seen_dot = 0;
    for (; *p && ((*p >= '0' && *p <= '9') || *p == '.'); p++) {
        if (*p == '.')
            seen_dot = 1;
        else if (seen_dot)
            decimals++;
    }
    int exponent = 0;
    const char *e = strstr(raw, "10^{");
    if (e)
        exponent = atoi(e + 4);
    return 0.5 * pow(10.0, exponent - decimals) * (1 + 1e-9);
}

typedef struct config {
    const char *data_set;
    const char *image, *mask; /* relative to the data folder */
    const char *settings[12][2];
} config;

/* The CT phantom as DICOM: 60 slices and the RTSTRUCT holding GTV-1. */
#define PAT1_DICOM_IMAGE "dicom/ibsi1_ct_phantom_PAT1/image"
#define PAT1_DICOM_RTSTRUCT "dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm"

#define PHANTOM "ibsi/digital_phantom/nifti/image/phantom.nii.gz", "ibsi/digital_phantom/nifti/mask/mask.nii.gz"
#define PAT1 "ibsi/ct_phantom_PAT1_nifti/image_phantom.nii.gz", "ibsi/ct_phantom_PAT1_nifti/mask_GTV-1.nii.gz"

static const config configs[] = {
    {"digital_phantom", PHANTOM,
     {{"discretisation", "none"}, {"ivh_discretisation", "none"}, {"aggregation", "all"}, {NULL, NULL}}},
    {"config_A", PAT1,
     {{"round_intensities", "true"}, {"resegment_range", "-500,400"}, {"discretisation", "fbs:25"},
      {"ivh_discretisation", "none"}, {"aggregation", "2d"}, {NULL, NULL}}},
    {"config_B", PAT1,
     {{"interpolation", "linear"}, {"interpolation_2d", "true"}, {"spacing", "2,2,2"},
      {"round_intensities", "true"}, {"mask_interpolation", "linear"}, {"mask_partial_volume", "0.5"},
      {"resegment_range", "-500,400"}, {"discretisation", "fbn:32"}, {"ivh_discretisation", "none"},
      {"aggregation", "2d"}, {NULL, NULL}}},
    {"config_C", PAT1,
     {{"interpolation", "linear"}, {"spacing", "2"}, {"round_intensities", "true"}, {"mask_interpolation", "linear"},
      {"resegment_range", "-1000,400"}, {"discretisation", "fbs:25"}, {"ivh_discretisation", "fbs:2.5"},
      {"aggregation", "3d"}, {NULL, NULL}}},
    {"config_D", PAT1,
     {{"interpolation", "linear"}, {"spacing", "2"}, {"round_intensities", "true"}, {"mask_interpolation", "linear"},
      {"resegment_outliers", "true"}, {"discretisation", "fbn:32"}, {"ivh_discretisation", "none"},
      {"aggregation", "3d"}, {NULL, NULL}}},
    {"config_E", PAT1,
     {{"interpolation", "cubic"}, {"spacing", "2"}, {"round_intensities", "true"}, {"mask_interpolation", "linear"},
      {"resegment_range", "-1000,400"}, {"resegment_outliers", "true"}, {"discretisation", "fbn:32"},
      {"ivh_discretisation", "fbn:1000"}, {"aggregation", "3d"}, {NULL, NULL}}},
};

/* Load image and mask: NIfTI, or (dicom) the DICOM series and RTSTRUCT. */
static void load_inputs(mmdx_volume **img, mmdx_mask **mask, const config *c, int dicom)
{
    mmdx_error err = {0};
    if (!dicom) {
        char *img_path = mmdx_test_data_path(c->image), *mask_path = mmdx_test_data_path(c->mask);
        ck_assert_msg(mmdx_nifti_read_volume(img, img_path, &err) == 0, "%s", err.message);
        ck_assert_msg(mmdx_nifti_read_mask(mask, mask_path, &err) == 0, "%s", err.message);
        free(img_path);
        free(mask_path);
        return;
    }
    char *dir = mmdx_test_data_path(PAT1_DICOM_IMAGE), *rs = mmdx_test_data_path(PAT1_DICOM_RTSTRUCT);
    mmdx_dicom_volume_info info;
    ck_assert_msg(mmdx_dicom_read_volume(img, &info, dir, NULL) == 0, "%s", mmdx_last_error());
    ck_assert_msg(mmdx_roi_load(mask, rs, "GTV-1", *img, info.frame_of_reference_uid) == 0, "%s",
                  mmdx_last_error());
    free(dir);
    free(rs);
}

static void run_config(const config *c, int dicom)
{
    const char *only = getenv("MMDX_IBSI_ONLY"); /* debugging: one data set */
    if (only && strcmp(only, c->data_set))
        return;
    mmdx_test_data_or_skip();
    char *ref_path = mmdx_test_data_path("ibsi/reference/ibsi1_reference_values.csv");
    mmdx_error err = {0};
    mmdx_volume *img = NULL;
    mmdx_mask *mask = NULL;
    load_inputs(&img, &mask, c, dicom);
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    for (int i = 0; c->settings[i][0]; i++)
        ck_assert_msg(mmdx_radiomics_settings_set(&s, c->settings[i][0], c->settings[i][1], &err) == 0, "%s",
                      err.message);
    mmdx_radiomics_features *f = NULL;
    ck_assert_msg(mmdx_radiomics_compute(&f, &s, img, mask, &err) == 0, "%s: %s", c->data_set, err.message);

    /* the names are fixed by the settings */
    mmdx_radiomics_features *names = NULL;
    ck_assert_int_eq(mmdx_radiomics_names(&names, &s, &err), 0);
    ck_assert_uint_eq(names->count, f->count);
    for (size_t i = 0; i < f->count; i++)
        ck_assert_str_eq(names->names[i], f->names[i]);
    mmdx_radiomics_features_free(names);

    int report = getenv("MMDX_IBSI_REPORT") != NULL;
    mmdx_csv_reader *r = NULL;
    ck_assert_int_eq(mmdx_csv_open(&r, ref_path, ','), 0);
    char **fld;
    size_t nf;
    int header = 1, rc;
    size_t rows = 0, failed = 0;
    char failures[8192] = "";
    while ((rc = mmdx_csv_next(r, &fld, &nf)) == 1) {
        if (header) {
            header = 0;
            continue;
        }
        ck_assert_uint_ge(nf, 11);
        if (strcmp(fld[4], c->data_set))
            continue;
        if (!fld[6][0]) {
            /* the manual gives no value (compactness 1, configuration C) */
            if (report)
                printf("%s\t-\t%s\t-\t-\t-\tno reference value\n", c->data_set, fld[2]);
            continue;
        }
        char name[128];
        ck_assert_msg(map_row(name, sizeof name, fld[0], fld[1], fld[3], fld[5]),
                      "reference row not mapped to a feature: %s / %s / %s / %s", fld[0], fld[1], fld[3], fld[5]);
        double ref = strtod(fld[6], NULL), tol = row_tolerance(strtod(fld[7], NULL), fld[9]);
        double got = mmdx_radiomics_get(f, name);
        int ok = isfinite(got) && fabs(got - ref) <= tol;
        rows++;
        if (report)
            printf("%s%s\t%s\t%s\t%.6g\t%.6g\t%.6g\t%s\n", c->data_set, dicom ? "(dicom)" : "", name, fld[2], got, ref, tol, ok ? "ok" : "FAIL");
        if (!ok) {
            failed++;
            size_t len = strlen(failures);
            if (len < sizeof failures - 200)
                snprintf(failures + len, sizeof failures - len, " %s=%.6g(ref %.6g±%.3g)", name, got, ref, tol);
        }
    }
    ck_assert_int_eq(rc, 0);
    mmdx_csv_close(r);
    ck_assert_msg(rows > 0, "no reference rows for %s", c->data_set);
    ck_assert_msg(failed == 0, "%s%s: %zu of %zu features outside tolerance:%s", c->data_set,
                  dicom ? " (DICOM + RTSTRUCT)" : "", failed, rows, failures);
    mmdx_radiomics_features_free(f);
    mmdx_volume_free(img);
    mmdx_mask_free(mask);
    free(ref_path);
}

START_TEST(ibsi_config)
{
    run_config(&configs[_i], 0);
}
END_TEST

/* Configurations A-E again from the DICOM series and the RTSTRUCT contour. */
START_TEST(ibsi_config_dicom)
{
    run_config(&configs[_i], 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("radiomics_ibsi");
    TCase *tc = tcase_create("ibsi");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, ibsi_config, 0, (int)(sizeof configs / sizeof *configs));
    tcase_add_loop_test(tc, ibsi_config_dicom, 1, (int)(sizeof configs / sizeof *configs));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mmdx_test_run_suite(suite());
}
