/* SPDX-License-Identifier: Apache-2.0 */
#include "catalogue.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "synth_rng.h"

/* GRCh38 lengths of chromosomes 1..22. */
static const int64_t chrom_len[22] = {
    248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
    138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
    83257441,  80373285,  58617616,  64444167,  46709983,  50818468};

/* The catalogue's own stream: fixed, independent of any cohort seed. */
#define CATALOGUE_SEED 0x6d6d64782d636174ull

static mmdx_synth_site sites[MMDX_SYNTH_N_SITES];
static pthread_once_t once = PTHREAD_ONCE_INIT;

int64_t mmdx_synth_chrom_length(int chrom)
{
    return chrom >= 1 && chrom <= 22 ? chrom_len[chrom - 1] : 0;
}

static int cmp_site(const void *a, const void *b)
{
    const mmdx_synth_site *x = a, *y = b;
    if (x->chrom != y->chrom)
        return x->chrom < y->chrom ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* A REF/ALT pair that is never strand-ambiguous (A/T, C/G), two thirds transitions. */
static void alleles(mmdx_synth_rng *r, char *ref, char *alt)
{
    static const char bases[] = "ACGT";
    static const char transition[] = "GTAC";   /* A<->G, C<->T */
    static const char transversion[] = "CATG"; /* A>C, C>A, G>T, T>G: never A/T or C/G */
    int b = (int)mmdx_synth_below(r, 4);
    *ref = bases[b];
    *alt = mmdx_synth_uniform(r) < 2.0 / 3.0 ? transition[b] : transversion[b];
}

static void build(void)
{
    mmdx_synth_rng r;
    mmdx_synth_rng_init(&r, CATALOGUE_SEED, 0);
    size_t n = 0;
    while (n < MMDX_SYNTH_N_SITES - 1) {
        mmdx_synth_site *s = &sites[n];
        s->chrom = 1 + (int)mmdx_synth_below(&r, 22);
        s->pos = 1000000 + (int64_t)(mmdx_synth_uniform(&r) * (double)(chrom_len[s->chrom - 1] - 2000000));
        alleles(&r, &s->ref, &s->alt);
        s->af = 0.1 + 0.4 * mmdx_synth_uniform(&r);
        s->weight = 0;
        if (n < MMDX_SYNTH_N_SCORE_SITES) {
            double w = 0.05 + 0.15 * mmdx_synth_uniform(&r);
            s->weight = mmdx_synth_uniform(&r) < 0.7 ? w : -w;
        }
        s->pathogenic = 0;
        int dup = 0;
        for (size_t k = 0; k < n && !dup; k++)
            dup = sites[k].chrom == s->chrom && llabs(sites[k].pos - s->pos) < 10;
        if (!dup)
            n++;
    }
    mmdx_synth_site *p = &sites[n];
    p->chrom = 17;
    p->pos = 43094464;
    p->ref = 'G';
    p->alt = 'A';
    p->af = 0.01;
    p->weight = 0;
    p->pathogenic = 1;
    qsort(sites, MMDX_SYNTH_N_SITES, sizeof sites[0], cmp_site);
    for (size_t i = 0; i < MMDX_SYNTH_N_SITES; i++)
        snprintf(sites[i].rsid, sizeof sites[i].rsid, "rs%d", 900000000 + (int)i);
}

const mmdx_synth_site *mmdx_synth_sites(void)
{
    pthread_once(&once, build);
    return sites;
}

void mmdx_synth_score_moments(double *mean, double *sd)
{
    const mmdx_synth_site *s = mmdx_synth_sites();
    double m = 0, v = 0;
    for (size_t i = 0; i < MMDX_SYNTH_N_SITES; i++) {
        m += s[i].weight * 2 * s[i].af;
        v += s[i].weight * s[i].weight * 2 * s[i].af * (1 - s[i].af);
    }
    *mean = m;
    *sd = sqrt(v);
}
