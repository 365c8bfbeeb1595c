/* SPDX-License-Identifier: Apache-2.0 */
#include "keymap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Open addressing with linear probing; the table stays at most half full. */
typedef struct slot {
    char *key;
    size_t value;
} slot;

struct mmdx_keymap {
    slot *slots;
    size_t cap, n;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int mmdx_keymap_new(mmdx_keymap **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out || !((*out)->slots = calloc(64, sizeof(slot)))) {
        free(*out);
        *out = NULL;
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    (*out)->cap = 64;
    return 0;
}

void mmdx_keymap_free(mmdx_keymap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static slot *find(slot *slots, size_t cap, const char *key)
{
    size_t i = (size_t)(hash(key) & (cap - 1));
    while (slots[i].key && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(mmdx_keymap *m)
{
    size_t cap = m->cap * 2;
    slot *s = calloc(cap, sizeof *s);
    if (!s)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            *find(s, cap, m->slots[i].key) = m->slots[i];
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return 0;
}

int mmdx_keymap_put(mmdx_keymap *m, const char *key, size_t value)
{
    if (2 * (m->n + 1) > m->cap && grow(m) < 0)
        return MMDX_ENOMEM;
    slot *s = find(m->slots, m->cap, key);
    if (!s->key) {
        if (!(s->key = strdup(key)))
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        m->n++;
    }
    s->value = value;
    return 0;
}

int mmdx_keymap_get(const mmdx_keymap *m, const char *key, size_t *value)
{
    const slot *s = find(m->slots, m->cap, key);
    if (!s->key)
        return 0;
    if (value)
        *value = s->value;
    return 1;
}

size_t mmdx_keymap_count(const mmdx_keymap *m) { return m->n; }
