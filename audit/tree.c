/* SPDX-License-Identifier: Apache-2.0 */
/* The Merkle tree over the stored events: tree heads and proofs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "merkle.h"
#include "store_internal.h"

/*
 * A tree head or proof leaves the database (signed checkpoints, printed
 * proofs): first make every commit it can see durable. Appends release the
 * chain lock before their fsync (event.c), so a visible event may for a few
 * milliseconds not be on disk yet; a checkpoint covering it would, after a
 * crash just then, claim more than the log holds. A synchronous commit that
 * writes WAL flushes every commit record before its own.
 */
static int make_visible_durable(mmdx_store *s)
{
    if (!s->flush_after_commit || PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        return 0;
    return mmdx_store__exec(s, "audit: make the log durable",
                            "SELECT pg_catalog.pg_logical_emit_message(true, 'mmdx.audit', '')", 0, NULL,
                            PGRES_TUPLES_OK, NULL);
}

int mmdx_audit__load_leaves(mmdx_store *s, uint64_t *n, uint8_t (**leaves)[32])
{
    *leaves = NULL;
    int rc = mmdx_store__check_schema(s);
    if (rc == 0)
        rc = make_visible_durable(s);
    if (rc < 0)
        return rc;
    char lim[24];
    snprintf(lim, sizeof lim, "%llu", (unsigned long long)*n);
    const char *params[] = {*n ? lim : NULL};
    /* Binary results: the 32-byte hashes arrive as they are. */
    PGresult *r = PQexecParams(s->conn,
                               "SELECT hash FROM mmdx.audit_events "
                               "WHERE $1::bigint IS NULL OR seq <= $1::bigint ORDER BY seq",
                               1, NULL, params, NULL, NULL, 1);
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = mmdx_store__fail_result(s, r, "audit: read the event hashes");
        PQclear(r);
        return rc;
    }
    uint64_t rows = (uint64_t)PQntuples(r);
    if (*n && rows < *n) {
        PQclear(r);
        return mmdx_fail(MMDX_EINTEGRITY, "audit: a tree of %llu events was asked for, but the log holds %llu",
                         (unsigned long long)*n, (unsigned long long)rows);
    }
    uint8_t(*lv)[32] = malloc((rows ? rows : 1) * sizeof *lv);
    if (!lv) {
        PQclear(r);
        return mmdx_fail(MMDX_ENOMEM, "audit: out of memory for %llu leaves", (unsigned long long)rows);
    }
    for (uint64_t i = 0; i < rows; i++) {
        if (PQgetlength(r, (int)i, 0) != 32) {
            PQclear(r);
            free(lv);
            return mmdx_fail(MMDX_EINTEGRITY, "audit: event %llu has a hash that is not 32 bytes",
                             (unsigned long long)(i + 1));
        }
        mmdx_merkle_leaf_hash(PQgetvalue(r, (int)i, 0), 32, lv[i]);
    }
    PQclear(r);
    *n = rows;
    *leaves = lv;
    return 0;
}

int mmdx_store_log_origin(mmdx_store *s, const char **origin)
{
    *origin = NULL;
    if (!s->origin[0]) {
        int rc = mmdx_store__check_schema(s);
        if (rc < 0)
            return rc;
        PGresult *r;
        rc = mmdx_store__exec(s, "audit: read the log identity",
                              "SELECT log_id::text FROM mmdx.log_identity", 0, NULL, PGRES_TUPLES_OK, &r);
        if (rc < 0)
            return rc;
        if (PQntuples(r) != 1) {
            PQclear(r);
            return mmdx_fail(MMDX_EINTEGRITY, "audit: mmdx.log_identity does not hold exactly one row [%s]",
                             s->describe);
        }
        snprintf(s->origin, sizeof s->origin, "mmdx-audit/%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    *origin = s->origin;
    return 0;
}

int mmdx_store_tree_head(mmdx_store *s, uint64_t *size, uint8_t root[32])
{
    uint8_t(*lv)[32];
    uint64_t n = 0;
    int rc = mmdx_audit__load_leaves(s, &n, &lv);
    if (rc < 0)
        return rc;
    mmdx_merkle_root((const mmdx_merkle_hash *)lv, n, root);
    free(lv);
    *size = n;
    return 0;
}

int mmdx_store_prove_inclusion(mmdx_store *s, int64_t seq, uint64_t *size, uint8_t leaf[32],
                               uint8_t root[32], uint8_t (**proof)[32], size_t *n_proof)
{
    *proof = NULL;
    *n_proof = 0;
    if (seq < 1)
        return mmdx_fail(MMDX_EINVAL, "prove: sequence numbers start at 1, not %lld", (long long)seq);
    if (*size && (uint64_t)seq > *size)
        return mmdx_fail(MMDX_EINVAL, "prove: event %lld is not in a tree of %llu events", (long long)seq,
                         (unsigned long long)*size);
    uint8_t(*lv)[32];
    uint64_t n = *size;
    int rc = mmdx_audit__load_leaves(s, &n, &lv);
    if (rc < 0)
        return rc;
    if ((uint64_t)seq > n) {
        free(lv);
        return mmdx_fail(MMDX_ENOTFOUND, "prove: the log has %llu events, none numbered %lld",
                         (unsigned long long)n, (long long)seq);
    }
    memcpy(leaf, lv[seq - 1], 32);
    mmdx_merkle_root((const mmdx_merkle_hash *)lv, n, root);
    mmdx_merkle_hash *p;
    rc = mmdx_merkle_inclusion_proof(&p, n_proof, (const mmdx_merkle_hash *)lv, n, (uint64_t)(seq - 1));
    free(lv);
    if (rc < 0)
        return rc;
    *proof = (uint8_t(*)[32])p;
    *size = n;
    return 0;
}

int mmdx_store_prove_consistency(mmdx_store *s, uint64_t m, uint64_t *n, uint8_t root_m[32],
                                 uint8_t root_n[32], uint8_t (**proof)[32], size_t *n_proof)
{
    *proof = NULL;
    *n_proof = 0;
    uint8_t(*lv)[32];
    uint64_t size = *n;
    int rc = mmdx_audit__load_leaves(s, &size, &lv);
    if (rc < 0)
        return rc;
    if (m > size) {
        free(lv);
        return mmdx_fail(MMDX_EINTEGRITY, "prove: the old tree size %llu is larger than the log (%llu events)",
                         (unsigned long long)m, (unsigned long long)size);
    }
    mmdx_merkle_root((const mmdx_merkle_hash *)lv, m, root_m);
    mmdx_merkle_root((const mmdx_merkle_hash *)lv, size, root_n);
    mmdx_merkle_hash *p;
    rc = mmdx_merkle_consistency_proof(&p, n_proof, (const mmdx_merkle_hash *)lv, m, size);
    free(lv);
    if (rc < 0)
        return rc;
    *proof = (uint8_t(*)[32])p;
    *n = size;
    return 0;
}
