/*
 * imaging/radiomics/mesh.c — marching cubes on a binary mask.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Instead of a 256-case lookup table, each cube's surface is derived from its
 * faces: on every face the iso-contour segments cut off the runs of inside
 * corners, directed so that the surface normal points out of the ROI; the
 * segments of the six faces then chain into closed loops (each crossing edge
 * starts one segment and ends another), which are triangulated. The result
 * is the marching cubes surface with a fixed rule for ambiguous faces (the
 * rule barely matters for ROI masks: on the IBSI CT phantom, joining instead
 * of separating the inside corners changes the volume by 0.003%).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "mesh.h"
#include "mmdx/common.h"

/* Cube corner c = dx + 2*dy + 4*dz. Faces: corners counter-clockwise seen
 * from outside the cube (right-hand normal pointing out). */
static const int face_corners[6][4] = {
    {0, 4, 6, 2}, {1, 3, 7, 5}, {0, 1, 5, 4}, {2, 6, 7, 3}, {0, 2, 3, 1}, {4, 5, 7, 6},
};

/* Edge between two corners that differ in one bit: (axis, lower corner). */
static int edge_id(int c1, int c2)
{
    int lo = c1 < c2 ? c1 : c2;
    int axis = (c1 ^ c2) == 1 ? 0 : (c1 ^ c2) == 2 ? 1 : 2;
    /* 12 edges: axis*4 + index of the lower corner among the 4 with that bit clear */
    int others;
    if (axis == 0)
        others = lo >> 1; /* bits dy,dz */
    else if (axis == 1)
        others = (lo & 1) | ((lo >> 2) << 1);
    else
        others = lo & 3;
    return axis * 4 + others;
}

typedef struct vec {
    void *p;
    size_t n, cap, elem;
} vec;

static int vec_push(vec *v, const void *x)
{
    if (mmdx_array_reserve(&v->p, &v->cap, v->n + 1, v->elem, 1024, 0) < 0)
        return MMDX_ENOMEM;
    memcpy((char *)v->p + v->n * v->elem, x, v->elem);
    v->n++;
    return 0;
}

static void tri_measure(const double *a, const double *b, const double *c, double *area2, double *vol6)
{
    double ab[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    double ac[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    double cr[3] = {ab[1] * ac[2] - ab[2] * ac[1], ab[2] * ac[0] - ab[0] * ac[2], ab[0] * ac[1] - ab[1] * ac[0]};
    *area2 += sqrt(cr[0] * cr[0] + cr[1] * cr[1] + cr[2] * cr[2]);
    *vol6 += a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) +
             a[2] * (b[0] * c[1] - b[1] * c[0]);
}

/*
 * The surface of one cube depends only on which of its 8 corners are inside
 * (its case, 0..255): the crossing edges, their loops and the triangulation
 * of each loop. Of all triangulations of a loop (3..12 vertices) we take the
 * one with the largest area in lattice units (dynamic programming over
 * sub-polygons). This reproduces the triangulations of the classic marching
 * cubes case tables, which are fixed in index space: with it, mesh volume
 * and area match the IBSI reference values for isotropic and anisotropic
 * voxels alike, where a fan from an arbitrary vertex is off by up to 0.7% on
 * 0.98x0.98x3 mm voxels. The choice is made once per case, on the unit cube
 * (exact lattice coordinates), and reused by every cube of that case.
 */
typedef struct cube_case {
    uint8_t ready;
    uint8_t ntri;
    uint16_t edges;   /* bit e: edge e carries a vertex */
    int8_t tri[10][3]; /* edge ids, in the order the triangles are emitted */
} cube_case;

/* Lattice position (unit cube at the origin) of the vertex on edge e. */
static void edge_point(double p[3], int e)
{
    int axis = e / 4, o = e % 4;
    p[0] = p[1] = p[2] = 0;
    if (axis == 0) {
        p[1] = o & 1;
        p[2] = o >> 1;
    } else if (axis == 1) {
        p[0] = o & 1;
        p[2] = o >> 1;
    } else {
        p[0] = o & 1;
        p[1] = o >> 1;
    }
    p[axis] += 0.5;
}

static double unit_area2(int ea, int eb, int ec)
{
    double A[3], B[3], C[3], s2 = 0, v = 0;
    edge_point(A, ea);
    edge_point(B, eb);
    edge_point(C, ec);
    tri_measure(A, B, C, &s2, &v);
    return s2;
}

static void case_make(cube_case *cc, int config)
{
    int in[8];
    for (int c = 0; c < 8; c++)
        in[c] = (config >> c) & 1;
    int next[12];
    for (int e = 0; e < 12; e++)
        next[e] = -1;
    for (int f = 0; f < 6; f++) {
        const int *q = face_corners[f];
        for (int a = 0; a < 4; a++) {
            /* a run of inside corners starts at q[a] when the previous one is outside */
            if (!in[q[a]] || in[q[(a + 3) & 3]])
                continue;
            int b = a;
            while (in[q[(b + 1) & 3]])
                b = (b + 1) & 3;
            next[edge_id(q[(a + 3) & 3], q[a])] = edge_id(q[b], q[(b + 1) & 3]);
        }
    }
    cc->edges = 0;
    cc->ntri = 0;
    for (int e = 0; e < 12; e++)
        if (next[e] >= 0)
            cc->edges |= (uint16_t)(1u << e);
    /* chain loops and triangulate each */
    int used[12] = {0};
    for (int e0 = 0; e0 < 12; e0++) {
        if (next[e0] < 0 || used[e0])
            continue;
        int loop[12], len = 0, e = e0;
        while (!used[e] && len < 12) {
            used[e] = 1;
            loop[len++] = e;
            e = next[e];
            if (e < 0)
                break;
        }
        double best[12][12];
        int split[12][12];
        for (int gap = 2; gap < len; gap++)
            for (int i = 0; i + gap < len; i++) {
                int j = i + gap;
                best[i][j] = -1;
                split[i][j] = i + 1;
                for (int k = i + 1; k < j; k++) {
                    double a = (k - i >= 2 ? best[i][k] : 0) + (j - k >= 2 ? best[k][j] : 0) +
                               unit_area2(loop[i], loop[k], loop[j]);
                    if (a > best[i][j] + 1e-12) {
                        best[i][j] = a;
                        split[i][j] = k;
                    }
                }
            }
        int stack[24][2], top = 0;
        stack[top][0] = 0;
        stack[top][1] = len - 1;
        top++;
        while (top) {
            top--;
            int i = stack[top][0], j = stack[top][1];
            if (j - i < 2)
                continue;
            int k = split[i][j];
            cc->tri[cc->ntri][0] = (int8_t)loop[i];
            cc->tri[cc->ntri][1] = (int8_t)loop[k];
            cc->tri[cc->ntri][2] = (int8_t)loop[j];
            cc->ntri++;
            stack[top][0] = i;
            stack[top][1] = k;
            top++;
            stack[top][0] = k;
            stack[top][1] = j;
            top++;
        }
    }
    cc->ready = 1;
}

void rad_mesh_release(rad_mesh *m)
{
    free(m->v);
    free(m->tri);
    memset(m, 0, sizeof *m);
}

int rad_mesh_build(rad_mesh *m, const uint8_t *mask, size_t nx, size_t ny, size_t nz, const double sp[3])
{
    memset(m, 0, sizeof *m);
    /* Padded lattice of corners: (i,j,k) in [0, nx+1] etc., mask voxel (i-1,j-1,k-1). */
    const size_t px = nx + 2, py = ny + 2, pz = nz + 2;
    /* Vertex id per lattice edge (lower corner, axis). Cubes of layer k only
     * touch corner layers k and k+1, so two layers of slots suffice. */
    const size_t layer = px * py * 3;
    int64_t *vid = malloc(2 * layer * sizeof *vid);
    /* the mask on the padded lattice (zero border): no bounds tests per corner */
    uint8_t *pad = calloc(px * py * pz, 1);
    cube_case *cases = calloc(256, sizeof *cases);
    if (!vid || !pad || !cases) {
        free(vid);
        free(pad);
        free(cases);
        return MMDX_ENOMEM;
    }
    for (size_t k = 0; k < nz; k++)
        for (size_t j = 0; j < ny; j++)
            for (size_t i = 0; i < nx; i++)
                pad[(i + 1) + px * ((j + 1) + py * (k + 1))] = mask[i + nx * (j + ny * k)] != 0;
    for (size_t q = 0; q < 2 * layer; q++)
        vid[q] = -1;
    vec verts = {NULL, 0, 0, 3 * sizeof(double)};
    vec tris = {NULL, 0, 0, 3 * sizeof(uint32_t)};
    int rc = 0;
    double vol6 = 0, area2 = 0;
    const size_t sy = px, sz = px * py;
    for (size_t k = 0; k + 1 < pz && !rc; k++) {
        /* corner layer k+1 reuses the slots of layer k-1 */
        if (k > 0)
            for (size_t q = 0; q < layer; q++)
                vid[((k + 1) % 2) * layer + q] = -1;
        for (size_t j = 0; j + 1 < py && !rc; j++) {
            const uint8_t *r00 = pad + j * sy + k * sz, *r10 = r00 + sy, *r01 = r00 + sz, *r11 = r01 + sy;
            for (size_t i = 0; i + 1 < px && !rc; i++) {
                /* corner c = dx + 2*dy + 4*dz */
                int config = r00[i] | r00[i + 1] << 1 | r10[i] << 2 | r10[i + 1] << 3 | r01[i] << 4 |
                             r01[i + 1] << 5 | r11[i] << 6 | r11[i + 1] << 7;
                if (config == 0 || config == 255)
                    continue;
                cube_case *cc = &cases[config];
                if (!cc->ready)
                    case_make(cc, config);
                /* resolve vertex ids of crossing edges */
                int64_t ids[12];
                for (int e = 0; e < 12; e++) {
                    if (!(cc->edges >> e & 1))
                        continue;
                    int axis = e / 4, o = e % 4;
                    size_t ci = i, cj = j, ck = k;
                    if (axis == 0) {
                        cj += (size_t)(o & 1);
                        ck += (size_t)(o >> 1);
                    } else if (axis == 1) {
                        ci += (size_t)(o & 1);
                        ck += (size_t)(o >> 1);
                    } else {
                        ci += (size_t)(o & 1);
                        cj += (size_t)(o >> 1);
                    }
                    size_t slot = (ck % 2) * layer + (ci + px * cj) * 3 + (size_t)axis;
                    if (vid[slot] < 0) {
                        double p[3] = {(double)ci * sp[0], (double)cj * sp[1], (double)ck * sp[2]};
                        p[axis] += 0.5 * sp[axis];
                        vid[slot] = (int64_t)verts.n;
                        if ((rc = vec_push(&verts, p)))
                            break;
                    }
                    ids[e] = vid[slot];
                }
                if (rc)
                    break;
                const double *V = verts.p;
                for (int t = 0; t < cc->ntri && !rc; t++) {
                    uint32_t tri[3] = {(uint32_t)ids[cc->tri[t][0]], (uint32_t)ids[cc->tri[t][1]],
                                       (uint32_t)ids[cc->tri[t][2]]};
                    if ((rc = vec_push(&tris, tri)))
                        break;
                    tri_measure(V + 3 * tri[0], V + 3 * tri[1], V + 3 * tri[2], &area2, &vol6);
                }
            }
        }
    }
    free(vid);
    free(pad);
    free(cases);
    if (rc) {
        free(verts.p);
        free(tris.p);
        return rc;
    }
    m->v = verts.p;
    m->nv = verts.n;
    m->tri = tris.p;
    m->nt = tris.n;
    m->area = area2 / 2;
    m->volume = vol6 / 6;
    if (m->volume < 0)
        m->volume = -m->volume;
    return 0;
}
