/*
 * synth/synth_rng.h — the generator's random streams: xoshiro256** seeded
 * through splitmix64 from (seed, stream), so that every patient draws from
 * its own stream and the output does not depend on the thread schedule.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SYNTH_RNG_H
#define MMDX_SYNTH_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct mmdx_synth_rng {
    uint64_t s[4];
} mmdx_synth_rng;

static inline uint64_t mmdx_synth__splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void mmdx_synth_rng_init(mmdx_synth_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull + 0x2545f4914f6cdd1dull);
    for (int i = 0; i < 4; i++)
        r->s[i] = mmdx_synth__splitmix(&x);
}

static inline uint64_t mmdx_synth__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t mmdx_synth_rng_next(mmdx_synth_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = mmdx_synth__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = mmdx_synth__rotl(s[3], 45);
    return result;
}

/** Uniform in [0, 1). */
static inline double mmdx_synth_uniform(mmdx_synth_rng *r)
{
    return (double)(mmdx_synth_rng_next(r) >> 11) * 0x1.0p-53;
}

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
