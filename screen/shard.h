/*
 * screen/shard.h — deterministic partition of a cohort into N shards by a
 * hash of the patient ID, so that N processes on N machines screen disjoint
 * sets whose union is the cohort, whatever the manifest's row order.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SCREEN_SHARD_H
#define MMDX_SCREEN_SHARD_H

#include <stdint.h>

#include "mmdx/common.h"

/** Largest shard count accepted. */
#define MMDX_SHARD_MAX 100000

/** Shard K of N (1 <= index <= count). */
typedef struct mmdx_shard {
    uint32_t index;
    uint32_t count;
} mmdx_shard;

/**
 * Parse "K/N" (1 <= K <= N <= MMDX_SHARD_MAX). Errors: MMDX_EINVAL with the
 * text and what is expected.
 */
MMDX_RESULT_USED int mmdx_shard_parse(mmdx_shard *out, const char *text);

/**
 * The shard (1..count) of a patient: 1 + (the first 8 bytes of
 * SHA-256(patient_id), big-endian) mod count. Stable across machines,
 * versions and manifest order.
 */
uint32_t mmdx_shard_of(const char *patient_id, uint32_t count);

/** 1 when the patient belongs to shard `s`. */
int mmdx_shard_contains(const mmdx_shard *s, const char *patient_id);

#endif
