/*
 * synth/synth_rng.h — the generator's random streams (core/rng.h, one
 * stream per patient from (seed, stream), so that the output does not depend
 * on the thread schedule) and the generator's own normal and integer draws,
 * kept as they were so that a seed gives the same cohort as before.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SYNTH_RNG_H
#define MMDX_SYNTH_RNG_H

#include <math.h>
#include <stdint.h>

#include "rng.h"

typedef mmdx_rng mmdx_synth_rng;

static inline void mmdx_synth_rng_init(mmdx_synth_rng *r, uint64_t seed, uint64_t stream)
{
    mmdx_rng_seed_stream(r, seed, stream);
}

static inline uint64_t mmdx_synth_rng_next(mmdx_synth_rng *r) { return mmdx_rng_next(r); }

/** Uniform in [0, 1). */
static inline double mmdx_synth_uniform(mmdx_synth_rng *r) { return mmdx_rng_uniform(r); }

/** Standard normal (Box-Muller; one value per call keeps the stream simple). */
static inline double mmdx_synth_normal(mmdx_synth_rng *r)
{
    double u1 = mmdx_synth_uniform(r), u2 = mmdx_synth_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/** Integer in [0, n). */
static inline uint32_t mmdx_synth_below(mmdx_synth_rng *r, uint32_t n)
{
    return (uint32_t)(mmdx_synth_uniform(r) * n);
}

#endif
