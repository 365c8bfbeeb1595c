/*
 * audit/merkle.h — the Merkle tree of RFC 6962 / RFC 9162 (Certificate
 * Transparency) over the audit events.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Leaves are given as leaf hashes: SHA-256(0x00 || entry); interior nodes
 * are SHA-256(0x01 || left || right); a tree of n leaves splits at the
 * largest power of two below n; the empty tree's root is SHA-256(""). The
 * audit log uses each event's chain hash as its entry.
 *
 * Proofs are arrays of 32-byte hashes, allocated here and released with
 * free(). Everything is pure computation: thread-safe, no global state.
 */
#ifndef MMDX_AUDIT_MERKLE_H
#define MMDX_AUDIT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

#define MMDX_MERKLE_HASH_LEN 32

typedef uint8_t mmdx_merkle_hash[MMDX_MERKLE_HASH_LEN];

/** SHA-256(0x00 || data). */
void mmdx_merkle_leaf_hash(const void *data, size_t len, mmdx_merkle_hash out);

/** SHA-256(0x01 || left || right). */
void mmdx_merkle_node_hash(const mmdx_merkle_hash left, const mmdx_merkle_hash right,
                           mmdx_merkle_hash out);

/** Root (tree head hash) of the first `n` leaf hashes; n may be 0. */
void mmdx_merkle_root(const mmdx_merkle_hash *leaves, uint64_t n, mmdx_merkle_hash out);

/**
 * Audit path of leaf `index` in the tree of the first `n` leaves
 * (RFC 6962 2.1.1). *out (malloc'd, free()) gets *n_out hashes, none when
 * n == 1. Errors: MMDX_EINVAL (index >= n), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_merkle_inclusion_proof(mmdx_merkle_hash **out, size_t *n_out,
                                                 const mmdx_merkle_hash *leaves, uint64_t n,
                                                 uint64_t index);

/**
 * Consistency proof between the trees of the first `m` and `n` leaves
 * (RFC 6962 2.1.2), 0 <= m <= n; empty when m == 0 or m == n.
 * Errors: MMDX_EINVAL (m > n), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_merkle_consistency_proof(mmdx_merkle_hash **out, size_t *n_out,
                                                   const mmdx_merkle_hash *leaves, uint64_t m,
                                                   uint64_t n);

/**
 * Check an inclusion proof (RFC 9162 2.1.3.2): 0 when `leaf` is leaf
 * `index` of the tree of size `size` with root `root`, else MMDX_EINTEGRITY.
 */
MMDX_RESULT_USED int mmdx_merkle_verify_inclusion(uint64_t index, uint64_t size,
                                                  const mmdx_merkle_hash leaf,
                                                  const mmdx_merkle_hash *proof, size_t n_proof,
                                                  const mmdx_merkle_hash root);

/**
 * Check a consistency proof (RFC 9162 2.1.4.2): 0 when the tree of size `m`
 * with root `root_m` is a prefix of the tree of size `n` with root `root_n`,
 * else MMDX_EINTEGRITY. m == n needs an empty proof and equal roots; m == 0
 * needs an empty proof.
 */
MMDX_RESULT_USED int mmdx_merkle_verify_consistency(uint64_t m, uint64_t n,
                                                    const mmdx_merkle_hash root_m,
                                                    const mmdx_merkle_hash root_n,
                                                    const mmdx_merkle_hash *proof, size_t n_proof);

#endif
