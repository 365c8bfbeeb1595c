/* SPDX-License-Identifier: Apache-2.0 */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "hash.h"

void mmdx_merkle_leaf_hash(const void *data, size_t len, mmdx_merkle_hash out)
{
    uint8_t small[1 + 64];
    uint8_t *buf = len <= 64 ? small : malloc(len + 1);
    if (!buf) {
        /* Never silently hash something else: an all-zero hash would verify nothing. */
        abort();
    }
    buf[0] = 0x00;
    if (len)
        memcpy(buf + 1, data, len);
    mmdx_sha256(buf, len + 1, out);
    if (buf != small)
        free(buf);
}

void mmdx_merkle_node_hash(const mmdx_merkle_hash left, const mmdx_merkle_hash right,
                           mmdx_merkle_hash out)
{
    uint8_t buf[1 + 2 * MMDX_MERKLE_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left, MMDX_MERKLE_HASH_LEN);
    memcpy(buf + 1 + MMDX_MERKLE_HASH_LEN, right, MMDX_MERKLE_HASH_LEN);
    mmdx_sha256(buf, sizeof buf, out);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

void mmdx_merkle_root(const mmdx_merkle_hash *leaves, uint64_t n, mmdx_merkle_hash out)
{
    if (n == 0) {
        mmdx_sha256("", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], MMDX_MERKLE_HASH_LEN);
        return;
    }
    uint64_t k = split_point(n);
    mmdx_merkle_hash l, r;
    mmdx_merkle_root(leaves, k, l);
    mmdx_merkle_root(leaves + k, n - k, r);
    mmdx_merkle_node_hash(l, r, out);
}

typedef struct proof_buf {
    mmdx_merkle_hash *h;
    size_t n, cap;
} proof_buf;

static int proof_push(proof_buf *p, const mmdx_merkle_hash h)
{
    if (mmdx_array_reserve(&p->h, &p->cap, p->n + 1, sizeof *p->h, 16, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "merkle: out of memory");
    memcpy(p->h[p->n++], h, MMDX_MERKLE_HASH_LEN);
    return 0;
}

/* RFC 6962 PATH(m, D[n]), siblings appended bottom-up. */
static int path(proof_buf *p, const mmdx_merkle_hash *d, uint64_t n, uint64_t m)
{
    if (n <= 1)
        return 0;
    uint64_t k = split_point(n);
    mmdx_merkle_hash sib;
    int rc;
    if (m < k) {
        if ((rc = path(p, d, k, m)) < 0)
            return rc;
        mmdx_merkle_root(d + k, n - k, sib);
    } else {
        if ((rc = path(p, d + k, n - k, m - k)) < 0)
            return rc;
        mmdx_merkle_root(d, k, sib);
    }
    return proof_push(p, sib);
}

/* RFC 6962 SUBPROOF(m, D[n], b). */
static int subproof(proof_buf *p, const mmdx_merkle_hash *d, uint64_t n, uint64_t m, int b)
{
    mmdx_merkle_hash h;
    int rc;
    if (m == n) {
        if (b)
            return 0;
        mmdx_merkle_root(d, n, h);
        return proof_push(p, h);
    }
    uint64_t k = split_point(n);
    if (m <= k) {
        if ((rc = subproof(p, d, k, m, b)) < 0)
            return rc;
        mmdx_merkle_root(d + k, n - k, h);
    } else {
        if ((rc = subproof(p, d + k, n - k, m - k, 0)) < 0)
            return rc;
        mmdx_merkle_root(d, k, h);
    }
    return proof_push(p, h);
}

int mmdx_merkle_inclusion_proof(mmdx_merkle_hash **out, size_t *n_out,
                                const mmdx_merkle_hash *leaves, uint64_t n, uint64_t index)
{
    *out = NULL;
    *n_out = 0;
    if (index >= n)
        return mmdx_fail(MMDX_EINVAL, "merkle: leaf index %llu is outside a tree of %llu leaves",
                         (unsigned long long)index, (unsigned long long)n);
    proof_buf p = {0};
    int rc = path(&p, leaves, n, index);
    if (rc < 0) {
        free(p.h);
        return rc;
    }
    *out = p.h;
    *n_out = p.n;
    return 0;
}

int mmdx_merkle_consistency_proof(mmdx_merkle_hash **out, size_t *n_out,
                                  const mmdx_merkle_hash *leaves, uint64_t m, uint64_t n)
{
    *out = NULL;
    *n_out = 0;
    if (m > n)
        return mmdx_fail(MMDX_EINVAL, "merkle: old tree size %llu is larger than new size %llu",
                         (unsigned long long)m, (unsigned long long)n);
    if (m == 0 || m == n)
        return 0;
    proof_buf p = {0};
    int rc = subproof(&p, leaves, n, m, 1);
    if (rc < 0) {
        free(p.h);
        return rc;
    }
    *out = p.h;
    *n_out = p.n;
    return 0;
}

static int hash_eq(const mmdx_merkle_hash a, const mmdx_merkle_hash b)
{
    return mmdx_digest_equal(a, b, MMDX_MERKLE_HASH_LEN);
}

int mmdx_merkle_verify_inclusion(uint64_t index, uint64_t size, const mmdx_merkle_hash leaf,
                                 const mmdx_merkle_hash *proof, size_t n_proof,
                                 const mmdx_merkle_hash root)
{
    if (index >= size)
        return MMDX_EINTEGRITY;
    uint64_t fn = index, sn = size - 1;
    mmdx_merkle_hash r;
    memcpy(r, leaf, MMDX_MERKLE_HASH_LEN);
    for (size_t i = 0; i < n_proof; i++) {
        if (sn == 0)
            return MMDX_EINTEGRITY;
        if ((fn & 1) || fn == sn) {
            mmdx_merkle_node_hash(proof[i], r, r);
            if (!(fn & 1)) {
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            mmdx_merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return (sn == 0 && hash_eq(r, root)) ? 0 : MMDX_EINTEGRITY;
}

int mmdx_merkle_verify_consistency(uint64_t m, uint64_t n, const mmdx_merkle_hash root_m,
                                   const mmdx_merkle_hash root_n, const mmdx_merkle_hash *proof,
                                   size_t n_proof)
{
    if (m > n)
        return MMDX_EINTEGRITY;
    if (m == n)
        return (n_proof == 0 && hash_eq(root_m, root_n)) ? 0 : MMDX_EINTEGRITY;
    if (m == 0)
        return n_proof == 0 ? 0 : MMDX_EINTEGRITY;
    if (n_proof == 0)
        return MMDX_EINTEGRITY;

    /* When m is a power of two the old root is itself the first node of the path. */
    size_t start = 0;
    const mmdx_merkle_hash *first;
    if ((m & (m - 1)) == 0) {
        first = (const mmdx_merkle_hash *)root_m;
    } else {
        first = &proof[0];
        start = 1;
    }
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    mmdx_merkle_hash fr, sr;
    memcpy(fr, *first, MMDX_MERKLE_HASH_LEN);
    memcpy(sr, *first, MMDX_MERKLE_HASH_LEN);
    for (size_t i = start; i < n_proof; i++) {
        if (sn == 0)
            return MMDX_EINTEGRITY;
        if ((fn & 1) || fn == sn) {
            mmdx_merkle_node_hash(proof[i], fr, fr);
            mmdx_merkle_node_hash(proof[i], sr, sr);
            if (!(fn & 1)) {
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            mmdx_merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return (hash_eq(fr, root_m) && hash_eq(sr, root_n) && sn == 0) ? 0 : MMDX_EINTEGRITY;
}
