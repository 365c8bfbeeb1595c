/*
 * bench/imaging/phantom.h — the imaging benchmark's synthetic volumes, made in
 * memory, so that the generator (gen_ct_phantom), the benchmark drivers and
 * the radiomics equality test (tests/imaging/test_radiomics_phantoms.c) all
 * see the very same voxels.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Both generators are deterministic (fixed seeds, no global state).
 */
#ifndef MMDX_BENCH_IMAGING_PHANTOM_H
#define MMDX_BENCH_IMAGING_PHANTOM_H

#include <stddef.h>
#include <stdint.h>

#include "radiomics/radiomics.h"
#include "volume.h"

/* Geometry of the chest CT phantom (mm; LPS). */
#define MMDX_PHANTOM_CT_SX 0.75
#define MMDX_PHANTOM_CT_SY 0.75
#define MMDX_PHANTOM_CT_SZ 2.0

/** Slice-by-slice state of the chest CT phantom (its noise is one stream over the slices, in order). */
typedef struct mmdx_phantom_ct {
    int nx, ny, nz;
    double origin[3]; /* centre of voxel (0,0,0), mm */
    uint64_t rng;
} mmdx_phantom_ct;

/** Start a chest CT phantom of nx x ny x nz voxels (nx, ny >= 16, nz >= 2 is the generator's rule). */
void mmdx_phantom_ct_init(mmdx_phantom_ct *p, int nx, int ny, int nz);

/**
 * Slice k (call for k = 0, 1, ... in order): stored 12-bit values (HU + 1024)
 * into px[nx*ny] and the tumour mask (0/1) into mask[nx*ny]. Anatomy (HU): air
 * -1000 outside an elliptic body of soft tissue (40), two lungs (-850), a
 * vertebra (700) and a 20 mm-radius tumour (30..70) in the right lung, with
 * deterministic noise (sd about 15 HU).
 */
void mmdx_phantom_ct_slice(mmdx_phantom_ct *p, int k, uint16_t *px, uint8_t *mask);

/**
 * The whole chest CT phantom as a volume in HU (stored - 1024, as the DICOM
 * reader rescales it) and its tumour mask, on one grid (identity direction).
 * Errors: MMDX_ENOMEM (both outputs NULL then).
 */
MMDX_RESULT_USED int mmdx_phantom_ct_volume(mmdx_volume **image, mmdx_mask **mask, int nx, int ny, int nz);

/**
 * The radiomics engine benchmark's volume: 512x512x100 voxels of 0.7 x 0.7 x
 * 3 mm, white noise (-60..139 HU) in an elliptic cylinder whose cross-section
 * covers `frac` of the ellipse inscribed in a slice, -1000 HU elsewhere; the
 * mask is the cylinder. *roi_voxels receives its size. Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_phantom_cylinder_volume(mmdx_volume **image, mmdx_mask **mask, size_t *roi_voxels,
                                                  double frac);

/** One image + mask of a phantom, named for the fixture ("synth64_SYN000001", "ct512", ...). */
typedef struct mmdx_phantom_case {
    char name[32];
    mmdx_volume *image;
    mmdx_mask *mask;
} mmdx_phantom_case;

/** Most cases one phantom has. */
#define MMDX_PHANTOM_MAX_CASES 4

/**
 * The cases of a named phantom into c[MMDX_PHANTOM_MAX_CASES], *n of them:
 *   synth64   4 patients of `mmdx synth --seed 15 --missing 0 --image-size 64
 *             --slices 16` (the screening size), written to a temporary folder
 *             under $TMPDIR (removed again), read from their DICOM series and
 *             masked as the imaging plugin does without a mask (mmdx_roi_auto)
 *   ct512     the chest CT at 512x512x100 with its tumour mask
 *   cylinder  mmdx_phantom_cylinder_volume(frac 0.1)
 * Free with mmdx_phantom_cases_free. Errors: MMDX_EINVAL (unknown name),
 * MMDX_ENOMEM, MMDX_EIO, and those of the synth generator and DICOM reader.
 */
MMDX_RESULT_USED int mmdx_phantom_load(mmdx_phantom_case *c, size_t *n, const char *phantom);
void mmdx_phantom_cases_free(mmdx_phantom_case *c, size_t n);

/** The settings the phantoms run with: the engine's defaults plus the imaging plugin's moran_max_voxels (100 000). */
void mmdx_phantom_settings(mmdx_radiomics_settings *s);

#endif
