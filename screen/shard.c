/* SPDX-License-Identifier: Apache-2.0 */
#include "shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"

static int parse_u32(const char *s, const char *end, uint32_t *out)
{
    if (s == end || end - s > 9)
        return -1;
    uint32_t v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    *out = v;
    return 0;
}

int mmdx_shard_parse(mmdx_shard *out, const char *text)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    uint32_t k, n;
    if (!slash || parse_u32(text, slash, &k) < 0 || parse_u32(slash + 1, slash + strlen(slash), &n) < 0 ||
        k < 1 || n < 1 || k > n || n > MMDX_SHARD_MAX)
        return mmdx_fail(MMDX_EINVAL, "--shard \"%s\": expected K/N with 1 <= K <= N <= %d (e.g. 3/8)",
                         text ? text : "", MMDX_SHARD_MAX);
    out->index = k;
    out->count = n;
    return 0;
}

uint32_t mmdx_shard_of(const char *patient_id, uint32_t count)
{
    uint8_t h[MMDX_SHA256_LEN];
    mmdx_sha256(patient_id, strlen(patient_id), h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | h[i];
    return count ? (uint32_t)(v % count) + 1 : 1;
}

int mmdx_shard_contains(const mmdx_shard *s, const char *patient_id)
{
    return s->count <= 1 || mmdx_shard_of(patient_id, s->count) == s->index;
}
