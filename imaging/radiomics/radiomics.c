/*
 * imaging/radiomics/radiomics.c — the feature list: names and computation.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rad_internal.h"

const char *const rad_agg_names[RAD_AGG_N] = {"2d_avg", "2d_smrg", "25d_dmrg", "25d_mrg", "3d_avg", "3d_mrg"};
const char *const rad_dim_names[RAD_DIM_N] = {"2d", "25d", "3d"};

/* One block of the output: a family under one aggregation. */
typedef struct block {
    const rad_family *fam;
    const char *suffix; /* NULL for the non-texture families */
    int which;          /* aggregation or dimension index */
} block;

#define MAX_BLOCKS 64

static size_t plan_blocks(block *b, const mmdx_radiomics_settings *s)
{
    size_t n = 0;
    const uint32_t f = s->families;
    if (f & MMDX_RAD_FAM_MORPH)
        b[n++] = (block){&rad_fam_morph, NULL, 0};
    if (f & MMDX_RAD_FAM_LOC)
        b[n++] = (block){&rad_fam_loc, NULL, 0};
    if (f & MMDX_RAD_FAM_STAT)
        b[n++] = (block){&rad_fam_stat, NULL, 0};
    if (f & MMDX_RAD_FAM_IH)
        b[n++] = (block){&rad_fam_ih, NULL, 0};
    if (f & MMDX_RAD_FAM_IVH)
        b[n++] = (block){&rad_fam_ivh, NULL, 0};
    const rad_family *agg_fams[2] = {&rad_fam_cm, &rad_fam_rlm};
    const uint32_t agg_bits[2] = {MMDX_RAD_FAM_CM, MMDX_RAD_FAM_RLM};
    for (int q = 0; q < 2; q++)
        if (f & agg_bits[q])
            for (int a = 0; a < RAD_AGG_N; a++)
                if (s->aggregation & (1u << a))
                    b[n++] = (block){agg_fams[q], rad_agg_names[a], a};
    const uint32_t dims[RAD_DIM_N] = {MMDX_RAD_AGG_2D_AVG | MMDX_RAD_AGG_2D_SMRG,
                                      MMDX_RAD_AGG_25D_DMRG | MMDX_RAD_AGG_25D_MRG, MMDX_RAD_AGG_3D};
    const rad_family *dim_fams[4] = {&rad_fam_szm, &rad_fam_dzm, &rad_fam_ngt, &rad_fam_ngl};
    const uint32_t dim_bits[4] = {MMDX_RAD_FAM_SZM, MMDX_RAD_FAM_DZM, MMDX_RAD_FAM_NGT, MMDX_RAD_FAM_NGL};
    for (int q = 0; q < 4; q++)
        if (f & dim_bits[q])
            for (int d = 0; d < RAD_DIM_N; d++)
                if (s->aggregation & dims[d])
                    b[n++] = (block){dim_fams[q], rad_dim_names[d], d};
    return n;
}

void mmdx_radiomics_features_free(mmdx_radiomics_features *f)
{
    if (!f)
        return;
    if (f->names)
        for (size_t i = 0; i < f->count; i++)
            free(f->names[i]);
    free(f->names);
    free(f->values);
    free(f);
}

static int alloc_list(mmdx_radiomics_features **out, const block *b, size_t nb, mmdx_error *err)
{
    size_t count = 0;
    for (size_t q = 0; q < nb; q++)
        count += b[q].fam->count;
    mmdx_radiomics_features *f = calloc(1, sizeof *f);
    if (!f)
        return mmdx_error_set(err, MMDX_ENOMEM, "radiomics: out of memory");
    f->names = calloc(count ? count : 1, sizeof *f->names);
    f->values = malloc((count ? count : 1) * sizeof *f->values);
    if (!f->names || !f->values) {
        mmdx_radiomics_features_free(f);
        return mmdx_error_set(err, MMDX_ENOMEM, "radiomics: out of memory");
    }
    size_t i = 0;
    for (size_t q = 0; q < nb; q++)
        for (size_t k = 0; k < b[q].fam->count; k++, i++) {
            char name[96];
            if (b[q].suffix)
                snprintf(name, sizeof name, "%s_%s.%s", b[q].fam->prefix, b[q].suffix, b[q].fam->names[k]);
            else
                snprintf(name, sizeof name, "%s.%s", b[q].fam->prefix, b[q].fam->names[k]);
            f->names[i] = malloc(strlen(name) + 1);
            if (!f->names[i]) {
                f->count = i;
                mmdx_radiomics_features_free(f);
                return mmdx_error_set(err, MMDX_ENOMEM, "radiomics: out of memory");
            }
            strcpy(f->names[i], name);
            f->values[i] = NAN;
        }
    f->count = count;
    *out = f;
    return 0;
}

int mmdx_radiomics_names(mmdx_radiomics_features **out, const mmdx_radiomics_settings *s, mmdx_error *err)
{
    *out = NULL;
    int rc = mmdx_radiomics_settings_check(s, err);
    if (rc)
        return rc;
    block b[MAX_BLOCKS];
    size_t nb = plan_blocks(b, s);
    return alloc_list(out, b, nb, err);
}

double mmdx_radiomics_get(const mmdx_radiomics_features *f, const char *name)
{
    if (!f || !name)
        return NAN;
    for (size_t i = 0; i < f->count; i++)
        if (!strcmp(f->names[i], name))
            return f->values[i];
    return NAN;
}

int mmdx_radiomics_compute(mmdx_radiomics_features **out, const mmdx_radiomics_settings *s,
                           const mmdx_volume *image, const mmdx_mask *mask, mmdx_error *err)
{
    *out = NULL;
    int rc = mmdx_radiomics_settings_check(s, err);
    if (rc)
        return rc;
    if (!image || !mask || !image->data || !mask->data)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics: image or mask missing");
    if (!mmdx_grid_same(&image->grid, &mask->grid, 1e-3))
        return mmdx_error_set(err, MMDX_EINVAL,
                              "radiomics: the mask grid (%zux%zux%zu) differs from the image grid (%zux%zux%zu) "
                              "in size, spacing, origin or orientation",
                              mask->grid.nx, mask->grid.ny, mask->grid.nz, image->grid.nx, image->grid.ny,
                              image->grid.nz);
    for (int a = 0; a < 3; a++)
        if (!(image->grid.spacing[a] > 0) || !isfinite(image->grid.spacing[a]))
            return mmdx_error_set(err, MMDX_EINVAL, "radiomics: image spacing along axis %d is not positive", a);
    block b[MAX_BLOCKS];
    size_t nb = plan_blocks(b, s);
    mmdx_radiomics_features *f;
    if ((rc = alloc_list(&f, b, nb, err)))
        return rc;
    rad_roi roi;
    if ((rc = rad_roi_build(&roi, s, image, mask, err))) {
        mmdx_radiomics_features_free(f);
        return rc;
    }
    /* where each block's values go */
    double *agg_cm[RAD_AGG_N] = {0}, *agg_rlm[RAD_AGG_N] = {0};
    double *dim_szm[RAD_DIM_N] = {0}, *dim_dzm[RAD_DIM_N] = {0}, *dim_ngt[RAD_DIM_N] = {0}, *dim_ngl[RAD_DIM_N] = {0};
    size_t off = 0;
    for (size_t q = 0; q < nb && !rc; q++) {
        double *dst = f->values + off;
        const rad_family *fam = b[q].fam;
        if (fam == &rad_fam_morph)
            rc = rad_morph(dst, &roi, s, err);
        else if (fam == &rad_fam_loc)
            rad_loc(dst, &roi);
        else if (fam == &rad_fam_stat)
            rad_stat(dst, &roi);
        else if (fam == &rad_fam_ih)
            rad_ih(dst, &roi);
        else if (fam == &rad_fam_ivh)
            rc = rad_ivh(dst, &roi, s, err);
        else if (fam == &rad_fam_cm)
            agg_cm[b[q].which] = dst;
        else if (fam == &rad_fam_rlm)
            agg_rlm[b[q].which] = dst;
        else if (fam == &rad_fam_szm)
            dim_szm[b[q].which] = dst;
        else if (fam == &rad_fam_dzm)
            dim_dzm[b[q].which] = dst;
        else if (fam == &rad_fam_ngt)
            dim_ngt[b[q].which] = dst;
        else if (fam == &rad_fam_ngl)
            dim_ngl[b[q].which] = dst;
        off += fam->count;
    }
    const uint32_t texture = MMDX_RAD_FAM_CM | MMDX_RAD_FAM_RLM | MMDX_RAD_FAM_SZM | MMDX_RAD_FAM_DZM |
                             MMDX_RAD_FAM_NGT | MMDX_RAD_FAM_NGL;
    rad_padded pad = {0};
    if (!rc && (s->families & texture) && roi.n_int) {
        /* one zero border wide enough for every neighbourhood the kernels look at */
        int border = 1;
        const int dist[3] = {s->cm_distance, s->ngt_distance, s->ngl_distance};
        for (int q = 0; q < 3; q++)
            if (dist[q] > border)
                border = dist[q];
        if (!(rc = rad_padded_build(&pad, &roi, (size_t)border)))
            roi.pad = &pad;
    }
    if (!rc && (s->families & MMDX_RAD_FAM_CM))
        rc = rad_cm(agg_cm, &roi, s->cm_distance);
    if (!rc && (s->families & MMDX_RAD_FAM_RLM))
        rc = rad_rlm(agg_rlm, &roi);
    if (!rc && (s->families & (MMDX_RAD_FAM_SZM | MMDX_RAD_FAM_DZM)))
        rc = rad_zones(dim_szm, dim_dzm, &roi);
    if (!rc && (s->families & (MMDX_RAD_FAM_NGT | MMDX_RAD_FAM_NGL)))
        rc = rad_neighbours(dim_ngt, dim_ngl, &roi, s->ngt_distance, s->ngl_distance, s->ngl_coarseness);
    rad_padded_release(&pad);
    rad_roi_release(&roi);
    if (rc) {
        if (rc == MMDX_ENOMEM)
            mmdx_error_set(err, rc, "radiomics: out of memory computing texture features");
        mmdx_radiomics_features_free(f);
        return rc;
    }
    *out = f;
    return 0;
}
