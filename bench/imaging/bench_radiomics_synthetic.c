/*
 * bench/imaging/bench_radiomics_synthetic.c — the radiomics engine alone on a
 * synthetic 512x512x100 CT-like volume (0.7 x 0.7 x 3 mm, white noise in an
 * elliptic cylinder ROI), default settings. Prints wall and CPU time, peak
 * memory and the ROI size; docs/imaging-ibsi.md quotes it.
 *   bench_radiomics_synthetic [ROI area fraction, default 0.1]
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "clock.h"
#include "phantom.h"
#include "radiomics/radiomics.h"

static double cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
           (double)u.ru_stime.tv_usec * 1e-6;
}

int main(int argc, char **argv)
{
    const double frac = argc > 1 ? atof(argv[1]) : 0.1;
    mmdx_volume *v = NULL;
    mmdx_mask *m = NULL;
    size_t roi = 0;
    if (mmdx_phantom_cylinder_volume(&v, &m, &roi, frac) < 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    mmdx_error err = {0};
    mmdx_radiomics_features *f = NULL;
    double w0 = mmdx_clock_seconds(), c0 = cpu();
    int rc = mmdx_radiomics_compute(&f, &s, v, m, &err);
    double w1 = mmdx_clock_seconds(), c1 = cpu();
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    if (rc) {
        fprintf(stderr, "radiomics: %s\n", err.message);
        return 1;
    }
    printf("{\"roi_voxels\":%zu,\"features\":%zu,\"wall_s\":%.2f,\"cpu_s\":%.2f,\"peak_rss_mb\":%.0f,"
           "\"moran_i\":%.6g}\n",
           roi, f->count, w1 - w0, c1 - c0, (double)u.ru_maxrss / 1024.0, mmdx_radiomics_get(f, "morph.moran_i"));
    mmdx_radiomics_features_free(f);
    mmdx_volume_free(v);
    mmdx_mask_free(m);
    return 0;
}
