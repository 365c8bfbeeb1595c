/*
 * imaging/roi.c — choosing the mask reader and checking the mask's grid.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "dicom.h"
#include "error.h"
#include "nifti_io.h"
#include "roi.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int mmdx_roi_is_nifti(const char *path)
{
    return ends_with(path, ".nii") || ends_with(path, ".nii.gz") || ends_with(path, ".hdr") ||
           ends_with(path, ".NII") || ends_with(path, ".NII.GZ");
}

/* Grids read from float NIfTI headers match DICOM's to about 1e-5 mm; a
 * hundredth of a millimetre (or of a voxel) is far below any real misfit. */
static double grid_tolerance(const mmdx_grid *g)
{
    double s = fmin(g->spacing[0], g->spacing[1]);
    return fmax(1e-2, 1e-2 * s);
}

static int load_nifti(mmdx_mask **out, const char *path, const mmdx_volume *image)
{
    mmdx_error err;
    memset(&err, 0, sizeof err);
    mmdx_mask *m = NULL;
    int rc = mmdx_nifti_read_mask(&m, path, &err);
    if (rc < 0)
        return mmdx_fail_from(&err, rc);
    const mmdx_grid *a = &m->grid, *b = &image->grid;
    if (!mmdx_grid_same(a, b, grid_tolerance(b))) {
        rc = mmdx_fail(MMDX_EFORMAT,
                       "%s: mask on another grid: %zux%zux%zu voxels of %.4gx%.4gx%.4g mm at (%.2f, %.2f, %.2f), "
                       "the image has %zux%zux%zu of %.4gx%.4gx%.4g mm at (%.2f, %.2f, %.2f) (LPS)",
                       path, a->nx, a->ny, a->nz, a->spacing[0], a->spacing[1], a->spacing[2], a->origin[0],
                       a->origin[1], a->origin[2], b->nx, b->ny, b->nz, b->spacing[0], b->spacing[1],
                       b->spacing[2], b->origin[0], b->origin[1], b->origin[2]);
        mmdx_mask_free(m);
        return rc;
    }
    /* Same grid within tolerance: adopt the image's exact numbers. */
    m->grid = image->grid;
    size_t n = mmdx_grid_count(&m->grid), n_in = 0;
    for (size_t i = 0; i < n; i++)
        n_in += m->data[i] != 0;
    if (n_in == 0) {
        mmdx_mask_free(m);
        return mmdx_fail(MMDX_EFORMAT, "%s: the mask is empty", path);
    }
    *out = m;
    return 0;
}

int mmdx_roi_load(mmdx_mask **out, const char *path, const char *roi_name, const mmdx_volume *image,
                  const char *frame_of_reference_uid)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: mask: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return mmdx_fail(MMDX_EINVAL, "%s: the mask must be a file (NIfTI, DICOM SEG or RTSTRUCT), not a folder",
                         path);
    if (mmdx_roi_is_nifti(path))
        return load_nifti(out, path, image);

    mmdx_dicom_file *f = NULL;
    int rc = mmdx_dicom_open(&f, path);
    if (rc < 0)
        return rc;
    const mmdx_dicom_header *h = mmdx_dicom_get_header(f);
    int is_seg = strcmp(h->modality, "SEG") == 0 || strcmp(h->sop_class_uid, "1.2.840.10008.5.1.4.1.1.66.4") == 0;
    int is_rt = strcmp(h->modality, "RTSTRUCT") == 0 ||
                strcmp(h->sop_class_uid, "1.2.840.10008.5.1.4.1.1.481.3") == 0;
    char modality[24];
    snprintf(modality, sizeof modality, "%s", h->modality);
    mmdx_dicom_close(f);
    if (is_seg)
        return mmdx_roi_from_seg(out, path, roi_name, &image->grid, frame_of_reference_uid);
    if (is_rt)
        return mmdx_roi_from_rtstruct(out, path, roi_name, &image->grid, frame_of_reference_uid);
    return mmdx_fail(MMDX_EFORMAT,
                     "%s: not a mask: (0008,0060) Modality is '%s'; expected SEG or RTSTRUCT (or a NIfTI file)",
                     path, modality);
}
