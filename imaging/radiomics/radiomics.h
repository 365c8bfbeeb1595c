/*
 * imaging/radiomics/radiomics.h — IBSI chapter 1 radiomics features of one
 * image + region of interest.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The engine follows the IBSI-1 reference manual (Image Biomarker
 * Standardisation Initiative): image and mask interpolation, re-segmentation,
 * discretisation, then the feature families. docs/imaging-ibsi.md lists every
 * feature, its IBSI code and which reference configurations it matches.
 *
 * Feature names are "<family>.<feature>", lower case, ASCII, stable across
 * releases (the imaging plugin prefixes them with "imaging."). Families:
 *   morph            morphology (mesh from marching cubes on the morphological mask)
 *   loc              local intensity
 *   stat             intensity-based statistics
 *   ih               intensity histogram (discretised intensities)
 *   ivh              intensity-volume histogram
 *   cm_<agg>         grey level co-occurrence matrix  (agg: 2d_avg, 2d_smrg, 25d_dmrg, 25d_mrg, 3d_avg, 3d_mrg)
 *   rlm_<agg>        grey level run length matrix     (same aggregations)
 *   szm_<dim>        grey level size zone matrix      (dim: 2d, 25d, 3d)
 *   dzm_<dim>        grey level distance zone matrix  (same)
 *   ngt_<dim>        neighbourhood grey tone difference matrix (same)
 *   ngl_<dim>        neighbouring grey level dependence matrix (same)
 * The feature part follows IBSI's own feature tags (e.g. "cm_2d_avg.joint_max",
 * "morph.volume", "stat.p10", "ivh.v10").
 *
 * The list of names depends only on the settings (never on the data), so a
 * cohort's feature schema is fixed: a feature that is undefined for an image
 * (empty ROI after re-segmentation, a zero denominator) is NaN. So are
 * texture features when discretisation yields more than 1024 grey levels
 * (dense matrices), and Moran's I / Geary's C for ROIs too large to compute
 * exactly (see moran_max_voxels). Voxels with a NaN or infinite intensity
 * are left out of the intensity mask.
 *
 * Thread-safety: every function is reentrant (no global state); one call may
 * itself use OpenMP threads inside one volume.
 */
#ifndef MMDX_IMAGING_RADIOMICS_H
#define MMDX_IMAGING_RADIOMICS_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"
#include "volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Interpolation of the image (and of the mask, see mask_interp). */
typedef enum mmdx_rad_interp {
    MMDX_RAD_INTERP_NONE = 0,    /**< keep the original grid */
    MMDX_RAD_INTERP_NEAREST = 1, /**< nearest neighbour */
    MMDX_RAD_INTERP_LINEAR = 2,  /**< (bi/tri)linear */
    MMDX_RAD_INTERP_CUBIC = 3    /**< cubic B-spline (IBSI "tricubic spline") */
} mmdx_rad_interp;

/** Discretisation of intensities into grey levels 1..Ng. */
typedef enum mmdx_rad_discr {
    MMDX_RAD_DISCR_NONE = 0, /**< use the (integer) intensities as grey levels: for
                                  already discrete images such as the IBSI digital
                                  phantom; for IVH: the "discrete calibrated" case */
    MMDX_RAD_DISCR_FBN = 1,  /**< fixed bin number */
    MMDX_RAD_DISCR_FBS = 2   /**< fixed bin size */
} mmdx_rad_discr;

/** Texture aggregation methods (bit flags, several may be requested). */
enum {
    MMDX_RAD_AGG_2D_AVG = 1u << 0,   /**< per slice and direction, averaged */
    MMDX_RAD_AGG_2D_SMRG = 1u << 1,  /**< per slice, directions merged, averaged over slices */
    MMDX_RAD_AGG_25D_DMRG = 1u << 2, /**< per direction merged over slices, averaged */
    MMDX_RAD_AGG_25D_MRG = 1u << 3,  /**< everything in-plane merged into one matrix */
    MMDX_RAD_AGG_3D_AVG = 1u << 4,   /**< per 3-D direction, averaged */
    MMDX_RAD_AGG_3D_MRG = 1u << 5,   /**< all 3-D directions merged */
    MMDX_RAD_AGG_2D = MMDX_RAD_AGG_2D_AVG | MMDX_RAD_AGG_2D_SMRG | MMDX_RAD_AGG_25D_DMRG | MMDX_RAD_AGG_25D_MRG,
    MMDX_RAD_AGG_3D = MMDX_RAD_AGG_3D_AVG | MMDX_RAD_AGG_3D_MRG,
    MMDX_RAD_AGG_ALL = MMDX_RAD_AGG_2D | MMDX_RAD_AGG_3D
};
/* For the zone/neighbourhood families (szm, dzm, ngt, ngl): any 2D_* flag
 * requests "2d", any 25D_* flag "25d", any 3D_* flag "3d". */

/** Feature families (bit flags). */
enum {
    MMDX_RAD_FAM_MORPH = 1u << 0,
    MMDX_RAD_FAM_LOC = 1u << 1,
    MMDX_RAD_FAM_STAT = 1u << 2,
    MMDX_RAD_FAM_IH = 1u << 3,
    MMDX_RAD_FAM_IVH = 1u << 4,
    MMDX_RAD_FAM_CM = 1u << 5,
    MMDX_RAD_FAM_RLM = 1u << 6,
    MMDX_RAD_FAM_SZM = 1u << 7,
    MMDX_RAD_FAM_DZM = 1u << 8,
    MMDX_RAD_FAM_NGT = 1u << 9,
    MMDX_RAD_FAM_NGL = 1u << 10,
    MMDX_RAD_FAM_ALL = (1u << 11) - 1
};

/**
 * Processing settings. Initialise with mmdx_radiomics_settings_init() (IBSI
 * defaults), then change fields or call mmdx_radiomics_settings_set().
 * Unbounded values are NaN.
 */
typedef struct mmdx_radiomics_settings {
    /* --- interpolation (IBSI 2.4): grid centred on the original one, size rounded up --- */
    int32_t interp;             /**< mmdx_rad_interp for the image; NONE = no resampling */
    int32_t interp_2d;          /**< 1: resample in-plane only (slice spacing kept) */
    double spacing[3];          /**< target spacing in mm (x, y, z); z ignored when interp_2d */
    int32_t round_intensities;  /**< 1: round interpolated intensities to the nearest integer (CT) */
    int32_t mask_interp;        /**< mmdx_rad_interp for the mask (default LINEAR) */
    double mask_partial_volume; /**< interpolated mask >= this is inside (default 0.5) */
    /* --- re-segmentation (IBSI 2.5), applied to the intensity mask --- */
    double reseg_min;           /**< keep intensities >= reseg_min (NaN: no lower bound) */
    double reseg_max;           /**< keep intensities <= reseg_max (NaN: no upper bound) */
    int32_t reseg_outlier_sigma;/**< 1: also drop intensities beyond mean +- 3 SD (after the range) */
    /* --- discretisation (IBSI 2.7) for ih and texture --- */
    int32_t discr;              /**< mmdx_rad_discr */
    int32_t bin_number;         /**< FBN: number of bins */
    double bin_width;           /**< FBS: bin width (intensity units) */
    double bin_min;             /**< FBS: lower bound of bin 1; NaN: reseg_min, else the ROI minimum */
    /* --- separate discretisation for the intensity-volume histogram --- */
    int32_t ivh_discr;          /**< mmdx_rad_discr; NONE: intensities used as they are */
    int32_t ivh_bin_number;
    double ivh_bin_width;
    double ivh_bin_min;         /**< as bin_min */
    /* --- texture --- */
    uint32_t families;          /**< MMDX_RAD_FAM_* flags to compute (default ALL) */
    uint32_t aggregation;       /**< MMDX_RAD_AGG_* flags (default 3D) */
    int32_t cm_distance;        /**< GLCM Chebyshev distance (default 1) */
    int32_t ngt_distance;       /**< NGTDM Chebyshev distance (default 1) */
    int32_t ngl_distance;       /**< NGLDM Chebyshev distance (default 1) */
    int32_t ngl_coarseness;     /**< NGLDM coarseness alpha (default 0) */
    /* --- cost control --- */
    int32_t moran_max_voxels;   /**< Moran's I / Geary's C: above this many ROI voxels they
                                     are NaN (0, the default: no limit of ours; they are
                                     computed exactly, via FFT correlations of the ROI box when
                                     its work arrays fit in 1 GiB, else by the direct pair sum
                                     up to 50 000 voxels, else NaN) */
} mmdx_radiomics_settings;

/** IBSI defaults: no interpolation, no re-segmentation, FBN 32 bins, IVH as is, all families, 3-D aggregation, distances 1. */
void mmdx_radiomics_settings_init(mmdx_radiomics_settings *s);

/**
 * Set one setting from text, as read from a config file. Keys and values:
 *   interpolation = none | nearest | linear | cubic      (image)
 *   interpolation_2d = true | false
 *   spacing = <mm> | <x>,<y>,<z>                          (target spacing)
 *   round_intensities = true | false
 *   mask_interpolation = nearest | linear
 *   mask_partial_volume = <0..1>
 *   resegment_range = <min>,<max>   (either may be empty or "inf": unbounded)
 *   resegment_outliers = true | false                     (3-sigma filter)
 *   discretisation = none | fbn:<bins> | fbs:<width>[@<min>]
 *   ivh_discretisation = none | fbn:<bins> | fbs:<width>[@<min>]
 *   families = all | <list of morph,loc,stat,ih,ivh,cm,rlm,szm,dzm,ngt,ngl separated by commas>
 *   aggregation = 2d | 3d | all | <list of 2d_avg,2d_smrg,25d_dmrg,25d_mrg,3d_avg,3d_mrg>
 *   cm_distance, ngt_distance, ngl_distance, ngl_coarseness, moran_max_voxels = <integer>
 * Errors: MMDX_EINVAL (unknown key or bad value; the message names both).
 */
MMDX_RESULT_USED int mmdx_radiomics_settings_set(mmdx_radiomics_settings *s, const char *key,
                                                 const char *value, mmdx_error *err);

/** Check a settings struct for consistency. Errors: MMDX_EINVAL (message names the field). */
MMDX_RESULT_USED int mmdx_radiomics_settings_check(const mmdx_radiomics_settings *s, mmdx_error *err);

/** A list of named feature values. Owned by the caller: free with mmdx_radiomics_features_free(). */
typedef struct mmdx_radiomics_features {
    size_t count;
    char **names;   /**< count names "<family>.<feature>" */
    double *values; /**< count values (NaN: undefined for this image, or not computed) */
} mmdx_radiomics_features;

/**
 * The feature names the settings produce, in output order (values all NaN).
 * Errors: MMDX_EINVAL (settings), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_radiomics_names(mmdx_radiomics_features **out, const mmdx_radiomics_settings *s,
                                          mmdx_error *err);

/**
 * Compute every feature of `image` inside `mask` (same grid: checked with
 * mmdx_grid_same, 1e-3 mm). Names and order are those of
 * mmdx_radiomics_names() for the same settings.
 * The mask is binary (non-zero = inside). The inputs are not modified.
 * Errors: MMDX_EINVAL (settings; mask on another grid; empty mask; a mask
 * that interpolation empties; a resampled grid above 1e9 voxels;
 * discretisation "none" on intensities that are not integers >= 1),
 * MMDX_ENOMEM. An ROI that re-segmentation empties is not an error: the
 * intensity-based features are then NaN. On error *out is NULL and `err`
 * (may be NULL) holds the message.
 */
MMDX_RESULT_USED int mmdx_radiomics_compute(mmdx_radiomics_features **out, const mmdx_radiomics_settings *s,
                                            const mmdx_volume *image, const mmdx_mask *mask, mmdx_error *err);

/** Value of a named feature in a list, or NaN when absent. */
double mmdx_radiomics_get(const mmdx_radiomics_features *f, const char *name);

void mmdx_radiomics_features_free(mmdx_radiomics_features *f);

#ifdef __cplusplus
}
#endif

#endif
