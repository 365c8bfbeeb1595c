/*
 * imaging/roi_auto.c — the automatic foreground mask: Otsu threshold, then
 * the largest connected component.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "roi.h"

#define OTSU_BINS 256

double mmdx_roi_otsu_threshold(const mmdx_volume *image)
{
    size_t n = mmdx_grid_count(&image->grid);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = image->data[i];
        if (isfinite(v)) {
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
    }
    if (!(hi > lo))
        return NAN;
    double hist[OTSU_BINS] = {0};
    double scale = OTSU_BINS / (hi - lo);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        double v = image->data[i];
        if (!isfinite(v))
            continue;
        int b = (int)((v - lo) * scale);
        hist[b >= OTSU_BINS ? OTSU_BINS - 1 : b]++;
        total++;
    }
    double sum_all = 0;
    for (int b = 0; b < OTSU_BINS; b++)
        sum_all += b * hist[b];
    /* Maximise the between-class variance w0 w1 (mu0 - mu1)^2 over the cut after bin t. */
    double w0 = 0, sum0 = 0, best = -1;
    int best_t = 0;
    for (int t = 0; t < OTSU_BINS - 1; t++) {
        w0 += hist[t];
        sum0 += t * hist[t];
        double w1 = (double)total - w0;
        if (w0 == 0 || w1 == 0)
            continue;
        double mu0 = sum0 / w0, mu1 = (sum_all - sum0) / w1;
        double between = w0 * w1 * (mu0 - mu1) * (mu0 - mu1);
        if (between > best) {
            best = between;
            best_t = t;
        }
    }
    /* Voxels in bins 0..best_t are background: the threshold is that bin's upper edge. */
    return lo + (best_t + 1) / scale;
}

long mmdx_roi_largest_component(mmdx_mask *mask)
{
    const mmdx_grid *g = &mask->grid;
    size_t n = mmdx_grid_count(g);
    int32_t *label = calloc(n, sizeof *label);
    size_t *stack = malloc(n * sizeof *stack);
    if (!label || !stack) {
        free(label);
        free(stack);
        return mmdx_fail(MMDX_ENOMEM, "out of memory labelling the automatic mask");
    }
    int32_t next = 0, best = 0;
    size_t best_size = 0;
    long dz0 = g->nz > 1 ? -1 : 0, dz1 = g->nz > 1 ? 1 : 0;
    for (size_t seed = 0; seed < n; seed++) {
        if (!mask->data[seed] || label[seed])
            continue;
        if (next == INT32_MAX)
            break;
        int32_t id = ++next;
        size_t size = 0, top = 0;
        stack[top++] = seed;
        label[seed] = id;
        while (top) {
            size_t v = stack[--top];
            size++;
            long i = (long)(v % g->nx), j = (long)((v / g->nx) % g->ny), k = (long)(v / (g->nx * g->ny));
            for (long dz = dz0; dz <= dz1; dz++)
                for (long dy = -1; dy <= 1; dy++)
                    for (long dx = -1; dx <= 1; dx++) {
                        long x = i + dx, y = j + dy, z = k + dz;
                        if (x < 0 || y < 0 || z < 0 || x >= (long)g->nx || y >= (long)g->ny || z >= (long)g->nz)
                            continue;
                        size_t w = (size_t)x + g->nx * ((size_t)y + g->ny * (size_t)z);
                        if (mask->data[w] && !label[w]) {
                            label[w] = id;
                            stack[top++] = w;
                        }
                    }
        }
        if (size > best_size) {
            best_size = size;
            best = id;
        }
    }
    for (size_t v = 0; v < n; v++)
        mask->data[v] = best && label[v] == best;
    free(label);
    free(stack);
    return (long)best_size;
}

int mmdx_roi_auto(mmdx_mask **out, const mmdx_volume *image)
{
    *out = NULL;
    double t = mmdx_roi_otsu_threshold(image);
    mmdx_mask *m = NULL;
    if (mmdx_mask_new(&m, &image->grid) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory for the automatic mask");
    size_t n = mmdx_grid_count(&image->grid), n_finite = 0;
    for (size_t i = 0; i < n; i++) {
        /* A constant image has nothing to separate: the whole image is the region. */
        m->data[i] = isfinite(image->data[i]) && (isnan(t) || image->data[i] >= t);
        n_finite += isfinite(image->data[i]);
    }
    if (n_finite == 0) {
        mmdx_mask_free(m);
        return mmdx_fail(MMDX_EFORMAT, "no finite voxel value: no automatic mask can be derived");
    }
    long size = mmdx_roi_largest_component(m);
    if (size < 0) {
        mmdx_mask_free(m);
        return (int)size;
    }
    *out = m;
    return 0;
}
