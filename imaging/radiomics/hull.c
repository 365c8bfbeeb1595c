/*
 * imaging/radiomics/hull.c — 3-D convex hull (incremental), its volume and
 * area, and the largest distance between two points.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Mesh vertices of a voxel mask lie on a lattice: a hull vertex must be the
 * lowest or highest x among the points sharing its (y, z), so only those
 * candidates enter the hull, which keeps it fast (found with a hash table of
 * lines, not by sorting every point). Points within a small
 * tolerance of a face count as inside, which handles the many coplanar
 * lattice points.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "hull.h"
#include "mmdx/common.h"

typedef struct face {
    size_t a, b, c;
    double n[3], d; /* outward unit normal, offset: n.x = d on the plane */
} face;

static void sub(double *r, const double *a, const double *b)
{
    r[0] = a[0] - b[0];
    r[1] = a[1] - b[1];
    r[2] = a[2] - b[2];
}

static void cross(double *r, const double *a, const double *b)
{
    r[0] = a[1] * b[2] - a[2] * b[1];
    r[1] = a[2] * b[0] - a[0] * b[2];
    r[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static int face_make(face *f, const double *P, size_t a, size_t b, size_t c)
{
    double u[3], v[3], n[3];
    sub(u, P + 3 * b, P + 3 * a);
    sub(v, P + 3 * c, P + 3 * a);
    cross(n, u, v);
    double len = sqrt(dot(n, n));
    if (!(len > 0))
        return -1;
    f->a = a;
    f->b = b;
    f->c = c;
    for (int q = 0; q < 3; q++)
        f->n[q] = n[q] / len;
    f->d = dot(f->n, P + 3 * a);
    return 0;
}

/* Lexicographic order on (x, y, z): the order of the candidates. */
static int cmp_xyz(const void *pa, const void *pb)
{
    const double *a = pa, *b = pb;
    for (int q = 0; q < 3; q++) {
        if (a[q] != b[q])
            return a[q] < b[q] ? -1 : 1;
    }
    return 0;
}

/* One line of points (two coordinates fixed) and its extremes along the third. */
typedef struct line_slot {
    double k1, k2, lo, hi;
    uint8_t used;
} line_slot;

static uint64_t key_hash(double a, double b)
{
    uint64_t x, y;
    a += 0.0; /* -0 and +0 are one coordinate */
    b += 0.0;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    /* splitmix64's finaliser: the low mantissa bits of lattice coordinates are all zero */
    uint64_t h = x ^ (y * 0x9E3779B97F4A7C15ull + (y >> 32));
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBull;
    return h ^ (h >> 31);
}

static line_slot *line_find(line_slot *t, size_t mask, double k1, double k2)
{
    for (size_t q = (size_t)key_hash(k1, k2) & mask;; q = (q + 1) & mask)
        if (!t[q].used || (t[q].k1 == k1 && t[q].k2 == k2))
            return &t[q];
}

/* Keep the points that are the lowest or highest along `axis` among the
 * points sharing their two other coordinates (in place, order kept); returns
 * the new count. t: a zeroed table of mask+1 >= 2n slots. */
static size_t keep_line_extremes(double *s, size_t n, int axis, line_slot *t, size_t mask)
{
    const int o1 = (axis + 1) % 3, o2 = (axis + 2) % 3;
    for (size_t i = 0; i < n; i++) {
        const double *p = s + 3 * i;
        line_slot *l = line_find(t, mask, p[o1], p[o2]);
        if (!l->used) {
            *l = (line_slot){p[o1], p[o2], p[axis], p[axis], 1};
        } else {
            if (p[axis] < l->lo)
                l->lo = p[axis];
            if (p[axis] > l->hi)
                l->hi = p[axis];
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const double *p = s + 3 * i;
        const line_slot *l = line_find(t, mask, p[o1], p[o2]);
        if (p[axis] == l->lo || p[axis] == l->hi) {
            memmove(s + 3 * m, p, 3 * sizeof *s);
            m++;
        }
    }
    memset(t, 0, (mask + 1) * sizeof *t);
    return m;
}

/* The hull candidates of n points in s (in place), sorted by (x, y, z) and
 * without repeats; returns their count, or (size_t)-1 when out of memory.
 * A hull vertex has no point on both sides of it along any axis line:
 * filtering the lattice points line by line keeps every hull vertex. */
static size_t hull_candidates(double *s, size_t n)
{
    size_t slots = 16;
    while (slots < 2 * n)
        slots *= 2;
    line_slot *t = calloc(slots, sizeof *t);
    if (!t)
        return (size_t)-1;
    size_t m = n;
    for (int axis = 0; axis < 3; axis++)
        m = keep_line_extremes(s, m, axis, t, slots - 1);
    free(t);
    qsort(s, m, 3 * sizeof *s, cmp_xyz);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if (!u || cmp_xyz(s + 3 * i, s + 3 * (u - 1)) != 0) {
            memmove(s + 3 * u, s + 3 * i, 3 * sizeof *s);
            u++;
        }
    return u;
}

/* Largest distance between two of the points idx[0..k) (or all m when idx is NULL). */
static double diameter(const double *P, const size_t *idx, size_t k)
{
    double best = 0;
#pragma omp parallel for schedule(dynamic, 64) reduction(max : best)
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++) {
            double d[3];
            sub(d, P + 3 * (idx ? idx[i] : i), P + 3 * (idx ? idx[j] : j));
            double r = dot(d, d);
            if (r > best)
                best = r;
        }
    return sqrt(best);
}

typedef struct edge {
    size_t a, b;
} edge;

static int cmp_edge(const void *pa, const void *pb)
{
    const edge *x = pa, *y = pb;
    size_t x0 = x->a < x->b ? x->a : x->b, x1 = x->a < x->b ? x->b : x->a;
    size_t y0 = y->a < y->b ? y->a : y->b, y1 = y->a < y->b ? y->b : y->a;
    if (x0 != y0)
        return x0 < y0 ? -1 : 1;
    if (x1 != y1)
        return x1 < y1 ? -1 : 1;
    return 0;
}

static int edge_key_eq(const edge *x, const edge *y) { return cmp_edge(x, y) == 0; }

/* Shuffle the points (fixed seed: deterministic): inserting them in lattice
 * order makes the incremental hull visit far more faces. */
static void shuffle_points(double *P, size_t m)
{
    uint64_t r = 0x9E3779B97F4A7C15ull;
    for (size_t i = m; i > 1; i--) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((r >> 33) % i);
        for (int q = 0; q < 3; q++) {
            double t = P[3 * (i - 1) + q];
            P[3 * (i - 1) + q] = P[3 * j + q];
            P[3 * j + q] = t;
        }
    }
}

int rad_hull_compute(rad_hull *h, const double *pts, size_t n)
{
    h->volume = h->area = NAN;
    h->diameter = 0;
    if (!n)
        return 0;
    double *s = malloc(3 * n * sizeof *s);
    if (!s)
        return MMDX_ENOMEM;
    memcpy(s, pts, 3 * n * sizeof *s);
    size_t m = hull_candidates(s, n);
    if (m == (size_t)-1) {
        free(s);
        return MMDX_ENOMEM;
    }
    double *P = s;
    h->diameter = diameter(P, NULL, m); /* the two farthest points are hull vertices */
    shuffle_points(P, m);
    if (m < 4) {
        free(s);
        return 0;
    }
    /* scale for tolerances */
    double lo[3] = {P[0], P[1], P[2]}, hi[3] = {P[0], P[1], P[2]};
    for (size_t i = 0; i < m; i++)
        for (int q = 0; q < 3; q++) {
            if (P[3 * i + q] < lo[q])
                lo[q] = P[3 * i + q];
            if (P[3 * i + q] > hi[q])
                hi[q] = P[3 * i + q];
        }
    double extent = fmax(hi[0] - lo[0], fmax(hi[1] - lo[1], hi[2] - lo[2]));
    const double eps = 1e-9 * (extent > 0 ? extent : 1);
    /* initial tetrahedron */
    size_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
    for (size_t i = 1; i < m; i++)
        if (P[3 * i] < P[3 * i0])
            i0 = i;
    double bd = -1;
    for (size_t i = 0; i < m; i++) {
        double d[3];
        sub(d, P + 3 * i, P + 3 * i0);
        if (dot(d, d) > bd) {
            bd = dot(d, d);
            i1 = i;
        }
    }
    double u[3];
    sub(u, P + 3 * i1, P + 3 * i0);
    bd = -1;
    for (size_t i = 0; i < m; i++) {
        double d[3], c[3];
        sub(d, P + 3 * i, P + 3 * i0);
        cross(c, u, d);
        if (dot(c, c) > bd) {
            bd = dot(c, c);
            i2 = i;
        }
    }
    face f0;
    if (bd <= eps * eps || face_make(&f0, P, i0, i1, i2)) {
        free(s);
        return 0;
    }
    bd = 0;
    for (size_t i = 0; i < m; i++) {
        double dd = fabs(dot(f0.n, P + 3 * i) - f0.d);
        if (dd > bd) {
            bd = dd;
            i3 = i;
        }
    }
    if (bd <= eps) {
        free(s);
        return 0; /* flat */
    }
    size_t cap = 64, nf = 0;
    face *F = malloc(cap * sizeof *F);
    uint8_t *vis = NULL;
    edge *E = NULL;
    size_t vcap = 0, ecap = 0;
    int rc = 0;
    if (!F) {
        free(s);
        return MMDX_ENOMEM;
    }
    {
        /* orient the four faces outward */
        size_t t[4][3] = {{i0, i1, i2}, {i0, i3, i1}, {i1, i3, i2}, {i2, i3, i0}};
        double cen[3];
        for (int q = 0; q < 3; q++)
            cen[q] = (P[3 * i0 + q] + P[3 * i1 + q] + P[3 * i2 + q] + P[3 * i3 + q]) / 4;
        for (int q = 0; q < 4; q++) {
            face f;
            if (face_make(&f, P, t[q][0], t[q][1], t[q][2])) {
                free(F);
                free(s);
                return 0;
            }
            if (dot(f.n, cen) - f.d > 0 && face_make(&f, P, t[q][0], t[q][2], t[q][1])) {
                free(F);
                free(s);
                return 0;
            }
            F[nf++] = f;
        }
    }
    for (size_t p = 0; p < m && !rc; p++) {
        if (p == i0 || p == i1 || p == i2 || p == i3)
            continue;
        const double *x = P + 3 * p;
        size_t nvis = 0;
        if (mmdx_array_reserve(&vis, &vcap, nf, sizeof *vis, 64, 0) < 0) {
            rc = MMDX_ENOMEM;
            break;
        }
        for (size_t f = 0; f < nf; f++) {
            vis[f] = dot(F[f].n, x) - F[f].d > eps;
            nvis += vis[f];
        }
        if (!nvis)
            continue;
        /* horizon: edges of visible faces whose reverse is not on a visible face */
        size_t ne = 0;
        if (mmdx_array_reserve(&E, &ecap, 3 * nvis, sizeof *E, 64, 0) < 0) {
            rc = MMDX_ENOMEM;
            break;
        }
        for (size_t f = 0; f < nf; f++)
            if (vis[f]) {
                E[ne++] = (edge){F[f].a, F[f].b};
                E[ne++] = (edge){F[f].b, F[f].c};
                E[ne++] = (edge){F[f].c, F[f].a};
            }
        size_t keep = 0;
        for (size_t f = 0; f < nf; f++)
            if (!vis[f])
                F[keep++] = F[f];
        nf = keep;
        /* an edge shared by two visible faces appears once each way: sort by
         * the unordered pair so twins are neighbours */
        qsort(E, ne, sizeof *E, cmp_edge);
        for (size_t e = 0; e < ne && !rc; e++) {
            int twin = (e > 0 && edge_key_eq(&E[e - 1], &E[e])) || (e + 1 < ne && edge_key_eq(&E[e + 1], &E[e]));
            if (twin)
                continue;
            if (mmdx_array_reserve(&F, &cap, nf + 1, sizeof *F, 64, 0) < 0) {
                rc = MMDX_ENOMEM;
                break;
            }
            face f;
            if (!face_make(&f, P, E[e].a, E[e].b, p))
                F[nf++] = f;
        }
    }
    if (!rc) {
        double vol6 = 0, area2 = 0;
        for (size_t f = 0; f < nf; f++) {
            const double *a = P + 3 * F[f].a, *b = P + 3 * F[f].b, *c = P + 3 * F[f].c;
            double ab[3], ac[3], cr[3], bc[3];
            sub(ab, b, a);
            sub(ac, c, a);
            cross(cr, ab, ac);
            area2 += sqrt(dot(cr, cr));
            cross(bc, b, c);
            vol6 += dot(a, bc);
        }
        h->volume = fabs(vol6) / 6;
        h->area = area2 / 2;
    }
    free(F);
    free(vis);
    free(E);
    free(s);
    return rc;
}
