/*
 * bench/fusion/bench_fit.c — time one fit of the early fusion plugin
 * (standardisation + logistic regression or MLP), or of the joint fusion
 * plugin with the matrix's columns split into three modalities, on a raw
 * float64 matrix, and score a held-out matrix. Driven by bench_fusion.py,
 * which runs scikit-learn on the same data in the same run.
 * SPDX-License-Identifier: Apache-2.0
 *
 *   mmdx_bench_fusion_fit PREFIX N_TRAIN N_TEST P logreg|mlp|joint THREADS [key=value...]
 *
 * PREFIX.train.f64 / PREFIX.test.f64: row-major float64; PREFIX.train.lab /
 * PREFIX.test.lab: one byte (0/1) per row. key=value pairs go to the
 * plugin's configuration ([early] or [joint] section). Prints one JSON line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

#include "fusion_plugins.h"
#include "metrics.h"

static void *slurp(const char *prefix, const char *suffix, size_t expect)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s", prefix, suffix);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    void *buf = malloc(expect);
    if (!buf || fread(buf, 1, expect, f) != expect) {
        fprintf(stderr, "%s: expected %zu bytes\n", path, expect);
        exit(1);
    }
    fclose(f);
    return buf;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void make_dataset(mmdx_dataset *d, size_t n, size_t p, double *x, const uint8_t *lab, int32_t **labels,
                         uint32_t *fm, uint8_t *present, const char *const *mods, size_t n_mod)
{
    *labels = malloc(n * sizeof **labels);
    for (size_t i = 0; i < n; i++)
        (*labels)[i] = lab[i];
    memset(d, 0, sizeof *d);
    d->abi_version = MMDX_ABI_VERSION;
    d->struct_size = sizeof *d;
    d->n_samples = n;
    d->n_features = p;
    d->feature_modality = fm;
    d->n_modalities = n_mod;
    d->modalities = mods;
    d->x = x;
    d->present = present;
    d->labels = *labels;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s PREFIX N_TRAIN N_TEST P logreg|mlp THREADS [key=value...]\n", argv[0]);
        return 2;
    }
    const char *prefix = argv[1], *classifier = argv[5];
    size_t ntr = strtoul(argv[2], NULL, 10), nte = strtoul(argv[3], NULL, 10), p = strtoul(argv[4], NULL, 10);
    int threads = atoi(argv[6]);
    double *xtr = slurp(prefix, ".train.f64", ntr * p * sizeof(double));
    double *xte = slurp(prefix, ".test.f64", nte * p * sizeof(double));
    uint8_t *ltr = slurp(prefix, ".train.lab", ntr), *lte = slurp(prefix, ".test.lab", nte);
    int joint = strcmp(classifier, "joint") == 0;
    size_t n_mod = joint ? 3 : 1;
    const mmdx_fusion_vtable *vt = joint ? &mmdx_fusion_joint_vtable : &mmdx_fusion_early_vtable;
    uint32_t *fm = calloc(p, sizeof *fm);
    for (size_t f = 0; joint && f < p; f++) /* three modalities of consecutive columns */
        fm[f] = (uint32_t)(f * 3 / p);
    size_t nmax = ntr > nte ? ntr : nte;
    uint8_t *present = malloc(nmax * n_mod);
    memset(present, 1, nmax * n_mod);
    const char *mods[3] = {"imaging", "genomics", "records"};
    mmdx_dataset dtr, dte;
    int32_t *ytr, *yte;
    make_dataset(&dtr, ntr, p, xtr, ltr, &ytr, fm, present, mods, n_mod);
    make_dataset(&dte, nte, p, xte, lte, &yte, fm, present, mods, n_mod);

    size_t ne = (size_t)(argc - 7);
    mmdx_config_entry *e = calloc(ne + 1, sizeof *e);
    for (size_t i = 0; i < ne; i++) {
        char *eq = strchr(argv[7 + i], '=');
        if (!eq) {
            fprintf(stderr, "expected key=value: %s\n", argv[7 + i]);
            return 2;
        }
        *eq = '\0';
        e[i].key = argv[7 + i];
        e[i].value = eq + 1;
        e[i].file = "command line";
        e[i].line = (int32_t)(i + 1);
    }
    mmdx_plugin_config pc = {MMDX_ABI_VERSION, sizeof pc, joint ? "joint" : "early", ne, e, NULL, NULL, threads, 0};
    mmdx_fusion_params params = {MMDX_ABI_VERSION, sizeof params, joint ? NULL : classifier, 1, &pc, threads, 0};
    omp_set_num_threads(threads);
    mmdx_error err = {0};
    void *model = NULL;
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    if (vt->fit(&model, &params, &dtr, &err) != 0) {
        fprintf(stderr, "fit: %s\n", err.message);
        return 1;
    }
    double fit = now(CLOCK_MONOTONIC) - t0, fit_cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    double *prob = malloc(nte * sizeof *prob), *contrib = malloc(nte * n_mod * sizeof *contrib);
    t0 = now(CLOCK_MONOTONIC);
    if (vt->predict(model, &dte, prob, contrib, &err) != 0) {
        fprintf(stderr, "predict: %s\n", err.message);
        return 1;
    }
    double pred = now(CLOCK_MONOTONIC) - t0;
    double auc;
    if (mmdx_auroc(&auc, prob, yte, nte) != 0)
        return 1;
    printf("{\"engine\": \"mmdx %s\", \"threads\": %d, \"fit_seconds\": %.4f, \"predict_seconds\": %.4f, "
           "\"fit_cpu_seconds\": %.4f, \"test_auroc\": %.6f}\n", classifier, threads, fit, pred, fit_cpu, auc);
    vt->free_model(model);
    free(prob), free(contrib), free(xtr), free(xte), free(ltr), free(lte), free(fm), free(present), free(ytr), free(yte), free(e);
    return 0;
}
