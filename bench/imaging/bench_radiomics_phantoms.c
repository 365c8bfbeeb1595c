/*
 * bench/imaging/bench_radiomics_phantoms.c — the radiomics engine on the
 * imaging benchmark's phantoms (bench/imaging/phantom.h): every feature value
 * (the equality fixture tests/imaging/radiomics_phantoms.csv), or the
 * engine's time per call.
 * SPDX-License-Identifier: Apache-2.0
 *
 *   bench_radiomics_phantoms features PHANTOM         CSV "case,feature,value" (%.17g)
 *   bench_radiomics_phantoms time PHANTOM REPEATS [CASE]
 *       per case (or only case number CASE, from 1): "case wall_s cpu_s", the
 *       medians over REPEATS calls of mmdx_radiomics_compute's wall time and
 *       process CPU time (all threads; on a loaded machine the CPU time of a
 *       single-threaded run is the steadier figure)
 * PHANTOM: synth64 (4 screening-size patients), ct512 (the chest CT of
 * gen_ct_phantom), cylinder (bench_radiomics_synthetic's volume). Settings:
 * mmdx_phantom_settings (those of `mmdx encode imaging` and `mmdx screen`).
 * OpenMP threads: OMP_NUM_THREADS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "error.h"
#include "phantom.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int features = argc == 3 && !strcmp(argv[1], "features");
    int timing = (argc == 4 || argc == 5) && !strcmp(argv[1], "time");
    if (!features && !timing) {
        fprintf(stderr, "usage: bench_radiomics_phantoms features PHANTOM | time PHANTOM REPEATS [CASE]\n"
                        "  PHANTOM: synth64, ct512, cylinder\n");
        return 2;
    }
    int repeats = timing ? atoi(argv[3]) : 1;
    if (repeats < 1 || repeats > 10000) {
        fprintf(stderr, "bench_radiomics_phantoms: REPEATS: expected 1..10000\n");
        return 2;
    }
    int only = argc == 5 ? atoi(argv[4]) : 0;
    mmdx_phantom_case cases[MMDX_PHANTOM_MAX_CASES];
    size_t n = 0;
    if (mmdx_phantom_load(cases, &n, argv[2]) < 0) {
        fprintf(stderr, "bench_radiomics_phantoms: %s\n", mmdx_last_error());
        return 1;
    }
    mmdx_radiomics_settings s;
    mmdx_phantom_settings(&s);
    double *t = malloc(2 * (size_t)repeats * sizeof *t), *cpu = t ? t + repeats : NULL;
    int status = t ? 0 : 1;
    if (features && !status)
        printf("case,feature,value\n");
    for (size_t c = 0; c < n && !status; c++) {
        if (only && (size_t)only != c + 1)
            continue;
        for (int r = 0; r < repeats && !status; r++) {
            mmdx_radiomics_features *f = NULL;
            mmdx_error err = {0};
            double t0 = mmdx_clock_seconds(), c0 = cpu_seconds();
            if (mmdx_radiomics_compute(&f, &s, cases[c].image, cases[c].mask, &err) < 0) {
                fprintf(stderr, "bench_radiomics_phantoms: %s: %s\n", cases[c].name, err.message);
                status = 1;
                break;
            }
            t[r] = mmdx_clock_seconds() - t0;
            cpu[r] = cpu_seconds() - c0;
            if (features)
                for (size_t q = 0; q < f->count; q++)
                    printf("%s,%s,%.17g\n", cases[c].name, f->names[q], f->values[q]);
            mmdx_radiomics_features_free(f);
        }
        if (timing && !status) {
            qsort(t, (size_t)repeats, sizeof *t, cmp_double);
            qsort(cpu, (size_t)repeats, sizeof *cpu, cmp_double);
            printf("%s %.6f %.6f\n", cases[c].name, t[repeats / 2], cpu[repeats / 2]);
        }
    }
    mmdx_phantom_cases_free(cases, n);
    free(t);
    return status;
}
