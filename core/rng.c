/* SPDX-License-Identifier: Apache-2.0 */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mmdx_rng_seed(mmdx_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void mmdx_rng_seed_stream(mmdx_rng *r, uint64_t seed, uint64_t stream)
{
    mmdx_rng_seed(r, seed ^ (stream * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL));
}

uint64_t mmdx_rng_next(mmdx_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mmdx_rng_uniform(mmdx_rng *r) { return (double)(mmdx_rng_next(r) >> 11) * 0x1.0p-53; }

size_t mmdx_rng_below(mmdx_rng *r, size_t n)
{
    uint64_t bound = (uint64_t)n;
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t v;
    do
        v = mmdx_rng_next(r);
    while (v >= limit);
    return (size_t)(v % bound);
}

double mmdx_rng_normal(mmdx_rng *r)
{
    double u1 = 1.0 - mmdx_rng_uniform(r); /* (0, 1]: log() stays finite */
    double u2 = mmdx_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void mmdx_rng_shuffle(mmdx_rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = mmdx_rng_below(r, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
