/*
 * genomics/chrom.h — chromosome names compared as "chr1" == "1".
 * SPDX-License-Identifier: Apache-2.0
 *
 * Reference builds name chromosomes "chr1" (UCSC) or "1" (Ensembl/GRCh);
 * scoring files and VCFs mix both. The canonical form drops a leading "chr"
 * (any case) and spells the mitochondrion "MT" ("chrM", "M", "MT" agree).
 */
#ifndef MMDX_GENOMICS_CHROM_H
#define MMDX_GENOMICS_CHROM_H

#include <stddef.h>

/** Longest canonical name kept (longer names are truncated, which only merges exotic contigs). */
#define MMDX_CHROM_MAX 128

/**
 * Write the canonical form of `name` (`len` bytes, not necessarily
 * NUL-terminated) into `buf` (MMDX_CHROM_MAX bytes, NUL-terminated) and
 * return its length. Thread-safe.
 */
size_t mmdx_chrom_canonical(const char *name, size_t len, char *buf);

#endif
