/*
 * bench/imaging/bench_imaging.c — time mmdx's imaging path on one series.
 * SPDX-License-Identifier: Apache-2.0
 *
 *   bench_imaging read   DIR THREADS         read + decode the series into a volume
 *   bench_imaging encode DIR MASK THREADS    read + decode + mask + every feature (the
 *                                            plugin's own code and default settings)
 *   bench_imaging same   DIR1 DIR2           exit 0 when both series read to identical voxels
 *
 * Prints "<mode> <seconds> <slices> <features>" on one line. Peak memory is
 * measured around it by run.sh (GNU time).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dicom_series.h"
#include "encoder.h"
#include "error.h"

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "read")) {
        mmdx_dicom_read_options opt = {NULL, atoi(argv[3]), 0};
        mmdx_volume *v = NULL;
        double t0 = mmdx_clock_seconds();
        if (mmdx_dicom_read_volume(&v, NULL, argv[2], &opt) < 0) {
            fprintf(stderr, "bench_imaging: %s\n", mmdx_last_error());
            return 1;
        }
        printf("read %.4f %zu 0\n", mmdx_clock_seconds() - t0, v->grid.nz);
        mmdx_volume_free(v);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "encode")) {
        mmdx_plugin_config cfg = {MMDX_ABI_VERSION, sizeof cfg, "imaging", 0, NULL, NULL, NULL, atoi(argv[4]), 0};
        mmdx_imaging_encoder *e = NULL;
        mmdx_error err = {0};
        if (mmdx_imaging_encoder_new(&e, &cfg, &err) < 0) {
            fprintf(stderr, "bench_imaging: %s\n", err.message);
            return 1;
        }
        size_t nf;
        const char *const *names;
        mmdx_imaging_encoder_names(e, &nf, &names);
        double *values = malloc(nf * sizeof *values);
        const char *keys[1] = {"mask"}, *vals[1] = {argv[3]};
        mmdx_encoder_input in = {MMDX_ABI_VERSION, sizeof in, "B", argv[2], NULL, NULL, 1, keys, vals};
        int32_t present = 0;
        double t0 = mmdx_clock_seconds();
        if (mmdx_imaging_encoder_encode(e, &in, values, &present, &err) < 0) {
            fprintf(stderr, "bench_imaging: %s\n", err.message);
            return 1;
        }
        double t = mmdx_clock_seconds() - t0;
        size_t finite = 0;
        for (size_t i = 0; i < nf; i++)
            finite += isfinite(values[i]) != 0;
        printf("encode %.4f 0 %zu\n", t, finite);
        free(values);
        mmdx_imaging_encoder_free(e);
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "same")) {
        mmdx_volume *a = NULL, *b = NULL;
        if (mmdx_dicom_read_volume(&a, NULL, argv[2], NULL) < 0 || mmdx_dicom_read_volume(&b, NULL, argv[3], NULL) < 0) {
            fprintf(stderr, "bench_imaging: %s\n", mmdx_last_error());
            return 1;
        }
        size_t n = mmdx_grid_count(&a->grid), differ = 0;
        if (n != mmdx_grid_count(&b->grid))
            differ = n;
        for (size_t i = 0; !differ && i < n; i++)
            differ += a->data[i] != b->data[i];
        printf("same %zu voxels, %zu differ\n", n, differ);
        mmdx_volume_free(a);
        mmdx_volume_free(b);
        return differ ? 1 : 0;
    }
    fprintf(stderr, "usage: bench_imaging read DIR THREADS | encode DIR MASK THREADS | same DIR1 DIR2\n");
    return 2;
}
