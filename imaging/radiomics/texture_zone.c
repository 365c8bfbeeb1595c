/*
 * imaging/radiomics/texture_zone.c — grey level size zone (IBSI 3.8) and
 * distance zone (IBSI 3.9) matrices.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Zones: connected voxels of one grey level in the intensity mask
 * (26-connected in 3-D, 8-connected within a slice in 2-D). Distance of a
 * voxel: the number of 6- (3-D) or 4-connected (2-D) steps to leave the
 * morphological mask, 1 on its edge; a zone takes its smallest distance.
 * "2d": features per slice averaged; "25d": one matrix merged over slices.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "rad_internal.h"

#define ZONE_N 16
static const char *const szm_names[ZONE_N] = {"sze",    "lze",   "lgze", "hgze",      "szlge", "szhge",
                                              "lzlge",  "lzhge", "glnu", "glnu_norm", "zsnu",  "zsnu_norm",
                                              "z_perc", "gl_var", "zs_var", "zs_entr"};
const rad_family rad_fam_szm = {"szm", szm_names, ZONE_N};
static const char *const dzm_names[ZONE_N] = {"sde",    "lde",   "lgze", "hgze",      "sdlge", "sdhge",
                                              "ldlge",  "ldhge", "glnu", "glnu_norm", "zdnu",  "zdnu_norm",
                                              "z_perc", "gl_var", "zd_var", "zd_entr"};
const rad_family rad_fam_dzm = {"dzm", dzm_names, ZONE_N};

typedef struct zone {
    int32_t gl;
    uint32_t size;
    uint32_t dist;
} zone;

typedef struct zone_list {
    zone *z;
    size_t n, cap;
} zone_list;

static int zone_push(zone_list *l, zone z)
{
    if (mmdx_array_reserve(&l->z, &l->cap, l->n + 1, sizeof *l->z, 256, 0) < 0)
        return MMDX_ENOMEM;
    l->z[l->n++] = z;
    return 0;
}

/* City-block distance to the outside of the morphological mask, on the
 * padded grid p (whose border is outside); in-slice only when `planar`.
 * Breadth-first from the edge voxels. morph: the mask on the padded grid. */
static int distance_map(uint32_t *dist, const uint8_t *morph, const rad_padded *p, int planar)
{
    const size_t n = p->px * p->py * p->pz;
    size_t *queue = malloc(n * sizeof *queue);
    if (!queue)
        return MMDX_ENOMEM;
    size_t head = 0, tail = 0;
    const ptrdiff_t nb[6] = {1, -1, (ptrdiff_t)p->px, -(ptrdiff_t)p->px, (ptrdiff_t)(p->px * p->py),
                             -(ptrdiff_t)(p->px * p->py)};
    const int nn = planar ? 4 : 6;
    memset(dist, 0, n * sizeof *dist);
    for (size_t v = 0; v < n; v++) {
        if (!morph[v])
            continue;
        int edge = 0;
        for (int q = 0; q < nn && !edge; q++)
            edge = !morph[(ptrdiff_t)v + nb[q]];
        if (edge) {
            dist[v] = 1;
            queue[tail++] = v;
        }
    }
    while (head < tail) {
        size_t v = queue[head++];
        for (int q = 0; q < nn; q++) {
            size_t w = (size_t)((ptrdiff_t)v + nb[q]);
            if (morph[w] && !dist[w]) {
                dist[w] = dist[v] + 1;
                queue[tail++] = w;
            }
        }
    }
    free(queue);
    return 0;
}

/* Label the zones of the voxels of slices k0..k1-1 (26-connected, or
 * 8-connected within the slice when planar: then k1 = k0 + 1). */
static int find_zones(zone_list *out, const rad_padded *p, const uint32_t *dist, size_t k0, size_t k1, int planar,
                      uint8_t *seen, size_t *stack)
{
    ptrdiff_t nb[26];
    int nn = 0;
    for (int c = planar ? 0 : -1; c <= (planar ? 0 : 1); c++)
        for (int b = -1; b <= 1; b++)
            for (int a = -1; a <= 1; a++)
                if (a || b || c)
                    nb[nn++] = rad_padded_offset(p, a, b, c);
    const int32_t *gl = p->gl;
    for (size_t q = p->slice[k0]; q < p->slice[k1]; q++) {
        const size_t v = p->vox[q];
        const int32_t g = gl[v];
        if (seen[v])
            continue;
        zone z = {g, 0, UINT32_MAX};
        size_t top = 0;
        stack[top++] = v;
        seen[v] = 1;
        while (top) {
            size_t w = stack[--top];
            z.size++;
            if (dist[w] < z.dist)
                z.dist = dist[w];
            for (int c = 0; c < nn; c++) {
                size_t u = (size_t)((ptrdiff_t)w + nb[c]);
                if (!seen[u] && gl[u] == g) {
                    seen[u] = 1;
                    stack[top++] = u;
                }
            }
        }
        if (zone_push(out, z))
            return MMDX_ENOMEM;
    }
    return 0;
}

static int cmp_zone(const void *pa, const void *pb)
{
    const zone *a = pa, *b = pb;
    if (a->gl != b->gl)
        return a->gl < b->gl ? -1 : 1;
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    return 0;
}

/* Features of a zone list: by size (szm, sparse: sizes can reach millions)
 * and by distance (dzm, dense: distances stay small). Sorts the list. */
static int zone_features(double *szm, double *dzm, zone_list *zl, size_t ng, double nv)
{
    size_t maxs = 0, maxd = 0;
    for (size_t q = 0; q < zl->n; q++) {
        if (zl->z[q].size > maxs)
            maxs = zl->z[q].size;
        if (zl->z[q].dist > maxd)
            maxd = zl->z[q].dist;
    }
    double f[RAD_SIZELIKE_N];
    int ok = 0;
    if (szm) {
        rad_fill_nan(szm, ZONE_N);
        if (maxs) {
            qsort(zl->z, zl->n, sizeof *zl->z, cmp_zone);
            rad_sizelike_entry *e = malloc(zl->n * sizeof *e);
            if (!e)
                return -1;
            size_t ne = 0;
            for (size_t q = 0; q < zl->n; q++) {
                if (ne && e[ne - 1].i == (uint32_t)zl->z[q].gl && e[ne - 1].j == zl->z[q].size) {
                    e[ne - 1].count += 1;
                } else {
                    e[ne].i = (uint32_t)zl->z[q].gl;
                    e[ne].j = zl->z[q].size;
                    e[ne].count = 1;
                    ne++;
                }
            }
            rad_sizelike_features_sparse(f, e, ne, ng, maxs, nv);
            memcpy(szm, f, ZONE_N * sizeof *szm);
            free(e);
            ok = 1;
        }
    }
    if (dzm) {
        rad_fill_nan(dzm, ZONE_N);
        if (maxd) {
            double *m = calloc(ng * maxd, sizeof *m);
            if (!m)
                return -1;
            for (size_t q = 0; q < zl->n; q++)
                m[(size_t)(zl->z[q].gl - 1) * maxd + zl->z[q].dist - 1] += 1;
            rad_sizelike_features(f, m, ng, maxd, nv);
            memcpy(dzm, f, ZONE_N * sizeof *dzm);
            free(m);
            ok = 1;
        }
    }
    return ok;
}

int rad_zones(double *const szm[RAD_DIM_N], double *const dzm[RAD_DIM_N], const rad_roi *roi)
{
    for (int d = 0; d < RAD_DIM_N; d++) {
        if (szm[d])
            rad_fill_nan(szm[d], ZONE_N);
        if (dzm[d])
            rad_fill_nan(dzm[d], ZONE_N);
    }
    if (!roi->n_int || roi->ng < 1 || roi->ng > RAD_MAX_TEXTURE_LEVELS)
        return 0;
    const rad_padded *p = roi->pad;
    const size_t ng = (size_t)roi->ng, nz = roi->nz, n = p->px * p->py * p->pz;
    uint32_t *dist = malloc(n * sizeof *dist);
    uint8_t *seen = calloc(n, 1), *morph = calloc(n, 1);
    size_t *stack = malloc((roi->n_int ? roi->n_int : 1) * sizeof *stack);
    zone_list zl = {0};
    int rc = 0;
    if (!dist || !seen || !morph || !stack) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    /* the morphological mask on the padded grid */
    for (size_t k = 0; k < nz; k++)
        for (size_t j = 0; j < roi->ny; j++)
            memcpy(morph + p->border + p->px * ((j + p->border) + p->py * (k + p->border)),
                   roi->morph + roi->nx * (j + roi->ny * k), roi->nx);
    if (szm[RAD_DIM_3D] || dzm[RAD_DIM_3D]) {
        if ((rc = distance_map(dist, morph, p, 0)) || (rc = find_zones(&zl, p, dist, 0, nz, 0, seen, stack)))
            goto done;
        if (zone_features(szm[RAD_DIM_3D], dzm[RAD_DIM_3D], &zl, ng, (double)roi->n_int) < 0) {
            rc = MMDX_ENOMEM;
            goto done;
        }
    }
    if (szm[RAD_DIM_2D] || dzm[RAD_DIM_2D] || szm[RAD_DIM_25D] || dzm[RAD_DIM_25D]) {
        memset(seen, 0, n);
        zl.n = 0;
        if ((rc = distance_map(dist, morph, p, 1)))
            goto done;
        double ssum[ZONE_N] = {0}, dsum[ZONE_N] = {0}, fs[ZONE_N], fd[ZONE_N];
        size_t cnt = 0;
        for (size_t k = 0; k < nz; k++) {
            size_t first = zl.n;
            if ((rc = find_zones(&zl, p, dist, k, k + 1, 1, seen, stack)))
                goto done;
            if (zl.n == first)
                continue;
            double nv = (double)(p->slice[k + 1] - p->slice[k]);
            zone_list one = {zl.z + first, zl.n - first, 0};
            int ok = zone_features(fs, fd, &one, ng, nv);
            if (ok < 0) {
                rc = MMDX_ENOMEM;
                goto done;
            }
            for (int q = 0; q < ZONE_N; q++) {
                ssum[q] += fs[q];
                dsum[q] += fd[q];
            }
            cnt++;
        }
        for (int q = 0; q < ZONE_N; q++) {
            if (szm[RAD_DIM_2D])
                szm[RAD_DIM_2D][q] = cnt ? ssum[q] / (double)cnt : NAN;
            if (dzm[RAD_DIM_2D])
                dzm[RAD_DIM_2D][q] = cnt ? dsum[q] / (double)cnt : NAN;
        }
        if (zone_features(szm[RAD_DIM_25D], dzm[RAD_DIM_25D], &zl, ng, (double)roi->n_int) < 0)
            rc = MMDX_ENOMEM;
    }
done:
    free(dist);
    free(seen);
    free(morph);
    free(stack);
    free(zl.z);
    return rc;
}
