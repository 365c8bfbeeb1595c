/* SPDX-License-Identifier: Apache-2.0 */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct slot {
    char *key; /* NULL: empty */
    size_t value;
    uint64_t hash;
} slot;

struct mmdx_strmap {
    slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

mmdx_strmap *mmdx_strmap_new(void)
{
    mmdx_strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 64;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void mmdx_strmap_free(mmdx_strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static slot *find(const slot *slots, size_t cap, const char *key, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    for (;;) {
        const slot *s = &slots[i];
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
            return (slot *)s;
        i = (i + 1) & (cap - 1);
    }
}

static int grow(mmdx_strmap *m)
{
    size_t cap = m->cap * 2;
    slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            *find(slots, cap, m->slots[i].key, m->slots[i].hash) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int mmdx_strmap_put(mmdx_strmap *m, const char *key, size_t value, size_t *existing)
{
    if ((m->count + 1) * 10 > m->cap * 7 && grow(m) < 0)
        return MMDX_ENOMEM;
    uint64_t h = hash_key(key);
    slot *s = find(m->slots, m->cap, key, h);
    if (s->key) {
        if (existing)
            *existing = s->value;
        return 0;
    }
    s->key = strdup(key);
    if (!s->key)
        return MMDX_ENOMEM;
    s->value = value;
    s->hash = h;
    m->count++;
    return 1;
}

int mmdx_strmap_get(const mmdx_strmap *m, const char *key, size_t *value)
{
    const slot *s = find(m->slots, m->cap, key, hash_key(key));
    if (!s->key)
        return 0;
    if (value)
        *value = s->value;
    return 1;
}

int mmdx_strmap_set(mmdx_strmap *m, const char *key, size_t value)
{
    int rc = mmdx_strmap_put(m, key, value, NULL);
    if (rc < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == 0) /* present: replace its value */
        find(m->slots, m->cap, key, hash_key(key))->value = value;
    return 0;
}

size_t mmdx_strmap_count(const mmdx_strmap *m) { return m->count; }

size_t mmdx_strmap_slots(const mmdx_strmap *m) { return m->cap; }

int mmdx_strmap_slot(const mmdx_strmap *m, size_t i, const char **key, size_t *value)
{
    if (i >= m->cap || !m->slots[i].key)
        return 0;
    *key = m->slots[i].key;
    *value = m->slots[i].value;
    return 1;
}
