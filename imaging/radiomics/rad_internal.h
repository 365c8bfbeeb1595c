/*
 * imaging/radiomics/rad_internal.h — private types shared by the radiomics
 * sources (not installed, not used outside imaging/radiomics/).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_RADIOMICS_INTERNAL_H
#define MMDX_RADIOMICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "radiomics.h"

/*
 * The region of interest after interpolation, re-segmentation and
 * discretisation, cropped to the ROI plus a margin. Axes follow the input
 * grid (i fastest, k = slices); spacing in mm. Voxel (i,j,k) is at
 * i + nx*(j + ny*k).
 */
typedef struct rad_roi {
    size_t nx, ny, nz, n;   /* n = nx*ny*nz */
    double sp[3];           /* spacing, mm */
    float *img;             /* intensities of every voxel of the crop */
    uint8_t *morph;         /* morphological mask */
    uint8_t *imask;         /* intensity mask (morph after re-segmentation) */
    int32_t *gl;            /* discretised grey level 1..ng inside imask, 0 elsewhere */
    int32_t ng;             /* number of grey levels (matrix size) */
    size_t n_morph, n_int;  /* voxel counts of the two masks */
    double imin, imax;      /* range of intensities in imask */
    const struct rad_padded *pad; /* gl with a zero border for the texture kernels (set by
                                     mmdx_radiomics_compute when a texture family is asked for) */
} rad_roi;

/*
 * The grey levels of a rad_roi copied into a grid with a border of `border`
 * zero voxels on every side, so that the texture kernels look up neighbours
 * at offsets up to `border` without bounds tests (a neighbour outside the
 * crop reads 0, "not in the ROI", exactly as the bounds test said), and the
 * list of intensity-mask voxels (padded indices, raster order, so the
 * voxels of slice k are vox[slice[k] .. slice[k+1])).
 */
typedef struct rad_padded {
    size_t px, py, pz, border; /* padded dimensions */
    int32_t *gl;               /* px*py*pz grey levels, 0 outside the intensity mask */
    size_t *vox;               /* the intensity-mask voxels */
    size_t nvox;
    size_t *slice;             /* nz+1 starts into vox */
} rad_padded;

/* Errors: MMDX_ENOMEM. */
int rad_padded_build(rad_padded *p, const rad_roi *roi, size_t border);
void rad_padded_release(rad_padded *p);

/* Offset of a neighbour (dx, dy, dz) in a padded grid. */
static inline ptrdiff_t rad_padded_offset(const rad_padded *p, ptrdiff_t dx, ptrdiff_t dy, ptrdiff_t dz)
{
    return dx + (ptrdiff_t)p->px * (dy + (ptrdiff_t)p->py * dz);
}

/* Preprocess one image + mask. Errors as mmdx_radiomics_compute. */
int rad_roi_build(rad_roi *roi, const mmdx_radiomics_settings *s, const mmdx_volume *image,
                  const mmdx_mask *mask, mmdx_error *err);
void rad_roi_release(rad_roi *roi);

/*
 * Discretise the intensity-mask intensities of `roi` with (method, bins,
 * width, min) into out[] (0 outside imask). Returns the number of grey levels
 * (matrix size), or a negative error code (MMDX_EINVAL when method NONE meets
 * non-integer or < 1 intensities; the message says so).
 */
int32_t rad_discretise(const rad_roi *roi, int32_t method, int32_t bins, double width, double bin_min,
                       double reseg_min, int32_t *out, mmdx_error *err);

/* A feature family: its names (static) and how many there are. */
typedef struct rad_family {
    const char *prefix;          /* "morph", "cm", ... */
    const char *const *names;    /* feature part of each name */
    size_t count;
} rad_family;

extern const rad_family rad_fam_morph, rad_fam_loc, rad_fam_stat, rad_fam_ih, rad_fam_ivh;
extern const rad_family rad_fam_cm, rad_fam_rlm, rad_fam_szm, rad_fam_dzm, rad_fam_ngt, rad_fam_ngl;

/* Family computations: each fills out[family.count] (NaN where undefined). */
int rad_morph(double *out, const rad_roi *roi, const mmdx_radiomics_settings *s, mmdx_error *err);
void rad_loc(double *out, const rad_roi *roi);
void rad_stat(double *out, const rad_roi *roi);
void rad_ih(double *out, const rad_roi *roi);
int rad_ivh(double *out, const rad_roi *roi, const mmdx_radiomics_settings *s, mmdx_error *err);

/* Texture aggregation identifiers (index into the MMDX_RAD_AGG_* bits). */
enum { RAD_AGG_2D_AVG, RAD_AGG_2D_SMRG, RAD_AGG_25D_DMRG, RAD_AGG_25D_MRG, RAD_AGG_3D_AVG, RAD_AGG_3D_MRG, RAD_AGG_N };
/* Dimension identifiers for zone / neighbourhood families. */
enum { RAD_DIM_2D, RAD_DIM_25D, RAD_DIM_3D, RAD_DIM_N };

extern const char *const rad_agg_names[RAD_AGG_N];
extern const char *const rad_dim_names[RAD_DIM_N];

/* Largest grey-level count the texture matrices accept (dense matrices);
 * above it texture features are NaN. */
#define RAD_MAX_TEXTURE_LEVELS 1024

/* Texture computations. out[a] (a = RAD_AGG_* or RAD_DIM_*) receives the
 * features of aggregation a, NULL when not requested. Return 0 or MMDX_ENOMEM. */
int rad_cm(double *const out[RAD_AGG_N], const rad_roi *roi, int distance);
int rad_rlm(double *const out[RAD_AGG_N], const rad_roi *roi);
int rad_zones(double *const szm[RAD_DIM_N], double *const dzm[RAD_DIM_N], const rad_roi *roi);
/* NGTDM and NGLDM together: one neighbourhood pass serves both when their distances agree. */
int rad_neighbours(double *const ngt[RAD_DIM_N], double *const ngl[RAD_DIM_N], const rad_roi *roi, int ngt_distance,
                   int ngl_distance, int coarseness);

/*
 * Features of a "size-like" matrix m (ng rows = grey levels 1..ng, nj columns
 * = run length / zone size / distance / dependence 1..nj, row-major), with nv
 * the voxel count for the percentage feature. out[17]: short emphasis, long
 * emphasis, low grey, high grey, short-low, short-high, long-low, long-high,
 * grey level non-uniformity (+normalised), j non-uniformity (+normalised),
 * percentage, grey level variance, j variance, j entropy, energy.
 * An empty matrix gives NaN.
 */
#define RAD_SIZELIKE_N 17
void rad_sizelike_features(double *out, const double *m, size_t ng, size_t nj, double nv);

/* The same from the non-zero cells only (i, j 1-based, each pair once):
 * for zone sizes, whose dense matrix could hold millions of columns. */
typedef struct rad_sizelike_entry {
    uint32_t i, j;
    double count;
} rad_sizelike_entry;
void rad_sizelike_features_sparse(double *out, const rad_sizelike_entry *e, size_t n, size_t ng, size_t nj,
                                  double nv);

/* The 13 unique 3-D neighbour directions; the first 4 lie in a slice. */
extern const int rad_dirs[13][3];

/* Fill n doubles with NaN. */
void rad_fill_nan(double *out, size_t n);

/* Statistics helpers on a sorted array: IBSI percentile (linear interpolation as numpy). */
double rad_quantile_sorted(const double *v, size_t n, double q);

#endif
