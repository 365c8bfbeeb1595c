/*
 * tests/fusion/gen_cohort.c — a deterministic synthetic multimodal cohort
 * whose signal is split across three modalities, for the fusion tests and
 * benchmarks.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each patient has a label y ~ Bernoulli(prevalence). Every modality holds a
 * few informative features (class means differ by `shift` standard
 * deviations), correlated nuisance features and pure noise, on its own units
 * (offsets and scales differ, so standardisation matters). No modality alone
 * separates the classes well; together they do. Records features are
 * missing (NaN) for 10% of patients one by one; --drop removes a whole
 * modality for a fraction of patients.
 *
 *   mmdx_fusion_gen_cohort --n 1500 --seed 1 --out features.csv
 *       [--manifest cohort.csv] [--drop imaging:0.33]... [--prevalence 0.35] [--no-labels]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "feature_table.h"
#include "rng.h"

typedef struct modality_spec {
    const char *name;
    size_t n_features;
    size_t n_informative;
    double shift;      /* class separation of an informative feature, in SDs */
    double offset, scale;
    double nan_rate;   /* per-feature missingness among patients who have the modality */
} modality_spec;

static const modality_spec specs[] = {
    {"imaging", 12, 3, 0.55, 40.0, 12.0, 0.0},
    {"genomics", 20, 3, 0.50, 0.0, 0.3, 0.0},
    {"records", 8, 3, 0.55, 100.0, 25.0, 0.10},
};
#define N_MOD 3

static int usage(void)
{
    fprintf(stderr, "usage: mmdx_fusion_gen_cohort --n N --seed S --out F.csv [--manifest C.csv] "
                    "[--drop MODALITY:FRACTION]... [--prevalence P] [--no-labels]\n");
    return 2;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    unsigned long long seed = 1;
    const char *out = NULL, *manifest = NULL;
    double drop[N_MOD] = {0, 0, 0}, prevalence = 0.35;
    int labels = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--n") == 0 && v)
            n = strtoul(v, NULL, 10), i++;
        else if (strcmp(a, "--seed") == 0 && v)
            seed = strtoull(v, NULL, 10), i++;
        else if (strcmp(a, "--out") == 0 && v)
            out = v, i++;
        else if (strcmp(a, "--manifest") == 0 && v)
            manifest = v, i++;
        else if (strcmp(a, "--prevalence") == 0 && v)
            prevalence = strtod(v, NULL), i++;
        else if (strcmp(a, "--no-labels") == 0)
            labels = 0;
        else if (strcmp(a, "--drop") == 0 && v) {
            const char *colon = strchr(v, ':');
            int k;
            for (k = 0; k < N_MOD; k++)
                if (colon && strncmp(v, specs[k].name, (size_t)(colon - v)) == 0 &&
                    strlen(specs[k].name) == (size_t)(colon - v))
                    break;
            if (k == N_MOD)
                return usage();
            drop[k] = strtod(colon + 1, NULL);
            i++;
        } else
            return usage();
    }
    if (!n || !out)
        return usage();

    size_t nf = 0;
    for (int k = 0; k < N_MOD; k++)
        nf += specs[k].n_features;
    char **names = calloc(nf, sizeof *names);
    uint32_t *fm = calloc(nf, sizeof *fm);
    const char *mods[N_MOD];
    size_t j = 0;
    for (int k = 0; k < N_MOD; k++) {
        mods[k] = specs[k].name;
        for (size_t f = 0; f < specs[k].n_features; f++, j++) {
            names[j] = malloc(64);
            snprintf(names[j], 64, "%s.f%02zu", specs[k].name, f);
            fm[j] = (uint32_t)k;
        }
    }
    mmdx_feature_table *t = NULL;
    if (mmdx_feature_table_new(&t, n, N_MOD, mods, nf, (const char *const *)names, fm, labels) != 0) {
        fprintf(stderr, "gen_cohort: %s\n", mmdx_last_error());
        return 1;
    }
    mmdx_rng rng;
    mmdx_rng_seed(&rng, seed);
    FILE *mf = manifest ? fopen(manifest, "w") : NULL;
    if (manifest && !mf) {
        perror(manifest);
        return 1;
    }
    if (mf)
        fprintf(mf, "patient_id%s\n", labels ? ",label" : "");
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "SYN%06zu", i + 1);
        if (mmdx_feature_table_set_id(t, i, id) != 0)
            return 1;
        int y = mmdx_rng_uniform(&rng) < prevalence;
        if (labels)
            t->labels[i] = y;
        if (mf)
            fprintf(mf, labels ? "%s,%d\n" : "%s\n", id, y);
        j = 0;
        for (int k = 0; k < N_MOD; k++) {
            const modality_spec *s = &specs[k];
            int present = !(mmdx_rng_uniform(&rng) < drop[k]);
            t->present[i * N_MOD + (size_t)k] = (uint8_t)present;
            double shared = mmdx_rng_normal(&rng); /* nuisance factor within the modality */
            for (size_t f = 0; f < s->n_features; f++, j++) {
                double z = mmdx_rng_normal(&rng);
                if (f < s->n_informative)
                    z += (y ? 0.5 : -0.5) * s->shift;
                else if (f < 2 * s->n_informative)
                    z = 0.7 * z + 0.7 * shared;
                double miss = mmdx_rng_uniform(&rng);
                if (!present || miss < s->nan_rate)
                    continue; /* stays NaN */
                t->x[i * nf + j] = s->offset + s->scale * (1.0 + 0.1 * (double)f) * z;
            }
        }
    }
    if (mf && fclose(mf) != 0) {
        perror(manifest);
        return 1;
    }
    int rc = mmdx_feature_table_write(t, out);
    if (rc)
        fprintf(stderr, "gen_cohort: %s\n", mmdx_last_error());
    mmdx_feature_table_free(t);
    for (size_t f = 0; f < nf; f++)
        free(names[f]);
    free(names);
    free(fm);
    return rc ? 1 : 0;
}
