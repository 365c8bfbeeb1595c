/*
 * imaging/nifti_io.c — NIfTI-1 images and masks (nifticlib).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <nifti1_io.h>
#include <znzlib.h>

#include "nifti_io.h"

/*
 * Read the voxel data ourselves: nifticlib's loader fills a short file with
 * zeros (and only warns), which would silently corrupt an image.
 */
static int read_data(nifti_image *nim, const char *path, mmdx_error *err)
{
    if (nim->nbyper <= 0 || nim->nvox > SIZE_MAX / (size_t)nim->nbyper)
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: NIfTI field datatype/dim: impossible data size", path);
    const size_t bytes = nim->nvox * (size_t)nim->nbyper;
    znzFile fp = znzopen(nim->iname, "rb", nifti_is_gzfile(nim->iname));
    if (znz_isnull(fp))
        return mmdx_error_set(err, MMDX_EIO, "%s: cannot open the NIfTI data file %s", path, nim->iname);
    /* Grow the buffer as data actually arrives: a header may claim terabytes
     * that a short (or compressed) file does not hold. */
    size_t got = 0, cap = 0;
    char *buf = NULL;
    if (znzseek(fp, (znz_off_t)nim->iname_offset, SEEK_SET) >= 0) {
        while (got < bytes) {
            if (got == cap) {
                size_t next = cap ? (cap > bytes / 2 ? bytes : cap * 2) : (bytes < (1u << 20) ? bytes : (1u << 20));
                char *nb = realloc(buf, next ? next : 1);
                if (!nb) {
                    free(buf);
                    znzclose(fp);
                    return mmdx_error_set(err, MMDX_ENOMEM, "%s: cannot allocate %zu bytes of NIfTI data", path,
                                          next);
                }
                buf = nb;
                cap = next;
            }
            size_t r = znzread(buf + got, 1, cap - got, fp);
            if (r == 0)
                break;
            got += r;
        }
    }
    znzclose(fp);
    nim->data = buf;
    if (got != bytes)
        return mmdx_error_set(err, MMDX_EFORMAT,
                              "%s: NIfTI data truncated (vox_offset %d: %zu of %zu bytes present)", path,
                              nim->iname_offset, got, bytes);
    if (nim->swapsize > 1 && nim->byteorder != nifti_short_order())
        nifti_swap_Nbytes(nim->nvox, nim->swapsize, nim->data);
    return 0;
}

/* Read the header and data; fill the grid (LPS) and return the image. */
static int nifti_open(nifti_image **out, mmdx_grid *grid, const char *path, size_t max_voxels, mmdx_error *err)
{
    *out = NULL;
    struct stat st;
    if (!path)
        return mmdx_error_set(err, MMDX_EINVAL, "NIfTI: no path given");
    if (stat(path, &st) != 0)
        return mmdx_error_set(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mmdx_error_set(err, MMDX_EIO, "%s: not a regular file", path);
    int kind = is_nifti_file(path);
    if (kind <= 0)
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: not a NIfTI-1 file (header field sizeof_hdr/magic)", path);
    nifti_image *nim = nifti_image_read(path, 0);
    if (!nim)
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: unreadable NIfTI header", path);
    if (nim->nx < 1 || nim->ny < 1 || nim->nz < 1) {
        nifti_image_free(nim);
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: NIfTI field dim: non-positive size", path);
    }
    if (nim->nvox != (size_t)nim->nx * (size_t)nim->ny * (size_t)nim->nz) {
        int ndim = nim->ndim;
        nifti_image_free(nim);
        return mmdx_error_set(err, MMDX_EUNSUPPORTED, "%s: NIfTI field dim: %d-D data with more than one volume",
                              path, ndim);
    }
    if (!max_voxels)
        max_voxels = MMDX_IMAGING_DEFAULT_MAX_VOXELS;
    if (nim->nvox > max_voxels) {
        int nx = nim->nx, ny = nim->ny, nz = nim->nz;
        nifti_image_free(nim);
        return mmdx_error_set(err, MMDX_EUNSUPPORTED,
                              "%s: NIfTI field dim: %d x %d x %d voxels, more than the limit of %zu "
                              "([imaging] max_voxels): refused before allocating it",
                              path, nx, ny, nz, max_voxels);
    }
    int rc = read_data(nim, path, err);
    if (rc) {
        nifti_image_free(nim);
        return rc;
    }
    const mat44 *m = nim->sform_code > 0 ? &nim->sto_xyz : &nim->qto_xyz;
    memset(grid, 0, sizeof *grid);
    grid->nx = (size_t)nim->nx;
    grid->ny = (size_t)nim->ny;
    grid->nz = (size_t)nim->nz;
    for (int c = 0; c < 3; c++) {
        /* RAS+ -> LPS: negate world x and y */
        double col[3] = {-(double)m->m[0][c], -(double)m->m[1][c], (double)m->m[2][c]};
        double len = sqrt(col[0] * col[0] + col[1] * col[1] + col[2] * col[2]);
        if (!(len > 0) || !isfinite(len)) {
            const char *field = nim->sform_code > 0 ? "srow_x/y/z" : "qform/pixdim";
            nifti_image_free(nim);
            return mmdx_error_set(err, MMDX_EFORMAT, "%s: NIfTI %s: degenerate voxel axis %d", path, field, c);
        }
        grid->spacing[c] = len;
        for (int r = 0; r < 3; r++)
            grid->direction[r * 3 + c] = col[r] / len;
    }
    grid->origin[0] = -(double)m->m[0][3];
    grid->origin[1] = -(double)m->m[1][3];
    grid->origin[2] = (double)m->m[2][3];
    *out = nim;
    return 0;
}

/* Voxel v of the image as a double (unscaled); datatype already checked. */
static double voxel(const nifti_image *nim, size_t v)
{
    switch (nim->datatype) {
    case DT_UINT8: return ((const uint8_t *)nim->data)[v];
    case DT_INT8: return ((const int8_t *)nim->data)[v];
    case DT_INT16: return ((const int16_t *)nim->data)[v];
    case DT_UINT16: return ((const uint16_t *)nim->data)[v];
    case DT_INT32: return ((const int32_t *)nim->data)[v];
    case DT_UINT32: return ((const uint32_t *)nim->data)[v];
    case DT_INT64: return (double)((const int64_t *)nim->data)[v];
    case DT_UINT64: return (double)((const uint64_t *)nim->data)[v];
    case DT_FLOAT32: return ((const float *)nim->data)[v];
    case DT_FLOAT64: return ((const double *)nim->data)[v];
    default: return NAN;
    }
}

static int check_datatype(const nifti_image *nim, const char *path, mmdx_error *err)
{
    switch (nim->datatype) {
    case DT_UINT8: case DT_INT8: case DT_INT16: case DT_UINT16: case DT_INT32:
    case DT_UINT32: case DT_INT64: case DT_UINT64: case DT_FLOAT32: case DT_FLOAT64:
        return 0;
    default:
        return mmdx_error_set(err, MMDX_EUNSUPPORTED, "%s: NIfTI field datatype: %s (%d) is not supported", path,
                              nifti_datatype_string(nim->datatype), nim->datatype);
    }
}

static void scaling(const nifti_image *nim, double *slope, double *inter)
{
    *slope = 1;
    *inter = 0;
    if (nim->scl_slope != 0 && isfinite(nim->scl_slope) && isfinite(nim->scl_inter)) {
        *slope = nim->scl_slope;
        *inter = nim->scl_inter;
    }
}

/* Open a NIfTI file whose voxels are real scalars of a supported type. */
static int open_scalar(nifti_image **nim, mmdx_grid *grid, const char *path, size_t max_voxels, mmdx_error *err)
{
    int rc = nifti_open(nim, grid, path, max_voxels, err);
    if (rc)
        return rc;
    if ((rc = check_datatype(*nim, path, err))) {
        nifti_image_free(*nim);
        *nim = NULL;
    }
    return rc;
}

int mmdx_nifti_read_volume(mmdx_volume **out, const char *path, mmdx_error *err)
{
    return mmdx_nifti_read_volume_max(out, path, 0, err);
}

int mmdx_nifti_read_volume_max(mmdx_volume **out, const char *path, size_t max_voxels, mmdx_error *err)
{
    *out = NULL;
    nifti_image *nim;
    mmdx_grid grid;
    int rc = open_scalar(&nim, &grid, path, max_voxels, err);
    if (rc)
        return rc;
    mmdx_volume *v;
    if ((rc = mmdx_volume_new(&v, &grid))) {
        nifti_image_free(nim);
        return mmdx_error_set(err, rc, "%s: cannot allocate a %zux%zux%zu volume", path, grid.nx, grid.ny, grid.nz);
    }
    double slope, inter;
    scaling(nim, &slope, &inter);
    for (size_t i = 0; i < nim->nvox; i++)
        v->data[i] = (float)(voxel(nim, i) * slope + inter);
    nifti_image_free(nim);
    *out = v;
    return 0;
}

int mmdx_nifti_read_mask(mmdx_mask **out, const char *path, mmdx_error *err)
{
    *out = NULL;
    nifti_image *nim;
    mmdx_grid grid;
    int rc = open_scalar(&nim, &grid, path, 0, err);
    if (rc)
        return rc;
    mmdx_mask *m;
    if ((rc = mmdx_mask_new(&m, &grid))) {
        nifti_image_free(nim);
        return mmdx_error_set(err, rc, "%s: cannot allocate a %zux%zux%zu mask", path, grid.nx, grid.ny, grid.nz);
    }
    double slope, inter;
    scaling(nim, &slope, &inter);
    for (size_t i = 0; i < nim->nvox; i++)
        m->data[i] = voxel(nim, i) * slope + inter >= 0.5;
    nifti_image_free(nim);
    *out = m;
    return 0;
}
