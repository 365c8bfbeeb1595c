/*
 * fusion/hot.h — marking the few loops that bound fit and predict time.
 * SPDX-License-Identifier: Apache-2.0
 *
 * MMDX_HOT gives a function an AVX2 clone that the loader picks where the
 * CPU has it (GCC/clang target_clones). ISO C mode forbids contracting
 * a * b + c into FMA, and the marked functions vectorise only element-wise
 * loops (their sums are written with a fixed order), so both clones compute
 * the same bits: results do not depend on the machine's vector width.
 */
#ifndef MMDX_FUSION_HOT_H
#define MMDX_FUSION_HOT_H

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
#define MMDX_HOT __attribute__((target_clones("avx2", "default")))
#else
#define MMDX_HOT
#endif

#endif
