/*
 * core/rng.h — the program's one seeded generator (xoshiro256**, seeded by
 * splitmix64): folds, shuffles and weight initialisation of the fusion
 * plugins, and the synthetic cohorts' per-patient streams, are the same on
 * every platform for a given seed. Pure: no allocation, no global state
 * (linked into plugins too).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CORE_RNG_H
#define MMDX_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct mmdx_rng {
    uint64_t s[4];
} mmdx_rng;

/** Seed the generator; every seed (0 included) gives a valid state. */
void mmdx_rng_seed(mmdx_rng *r, uint64_t seed);

/**
 * Seed stream `stream` of `seed`: independent streams (one per patient, say)
 * whose draws do not depend on the order they are used in.
 */
void mmdx_rng_seed_stream(mmdx_rng *r, uint64_t seed, uint64_t stream);

/** Next 64 random bits. */
uint64_t mmdx_rng_next(mmdx_rng *r);

/** Uniform double in [0, 1) with 53 random bits. */
double mmdx_rng_uniform(mmdx_rng *r);

/** Uniform integer in [0, n) without modulo bias; n > 0. */
size_t mmdx_rng_below(mmdx_rng *r, size_t n);

/** Standard normal deviate (Box-Muller; deterministic, no cached state). */
double mmdx_rng_normal(mmdx_rng *r);

/** Fisher-Yates shuffle of an index array. */
void mmdx_rng_shuffle(mmdx_rng *r, size_t *idx, size_t n);

#endif
