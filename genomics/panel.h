/*
 * genomics/panel.h — gene panels and ClinVar-style pathogenicity.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A panel is a named set of regions: a BED file (chrom, 0-based start, end,
 * optional gene name; `track`, `browser` and `#` lines skipped) or regions
 * added one by one as "chr:beg-end" (1-based, inclusive). A variant belongs
 * to the panel when its POS lies in one of the regions.
 *
 * Pathogenicity comes from an INFO field (CLNSIG by default). A value is
 * split into terms at '|', '/' and ',' (ClinVar writes
 * "Pathogenic/Likely_pathogenic" and "Pathogenic|risk_factor"); terms are
 * compared without case against the accepted list, by default Pathogenic,
 * Likely_pathogenic and the legacy numeric codes 5 and 4. When a record has
 * several ALTs and the value has one ','-group per ALT, each ALT gets its own
 * group.
 */
#ifndef MMDX_GENOMICS_PANEL_H
#define MMDX_GENOMICS_PANEL_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"
#include "vcf.h"

typedef struct mmdx_panel mmdx_panel;

/** An empty panel called `name` ([a-z0-9_-]+ after lower-casing; MMDX_EINVAL otherwise). */
MMDX_RESULT_USED int mmdx_panel_new(mmdx_panel **out, const char *name, mmdx_error *err);

void mmdx_panel_free(mmdx_panel *p);

/**
 * Add the regions of a BED file. Errors name file and line: MMDX_ENOTFOUND,
 * MMDX_EIO, MMDX_EFORMAT (fewer than 3 columns, non-numeric or reversed
 * coordinates).
 */
MMDX_RESULT_USED int mmdx_panel_add_bed(mmdx_panel *p, const char *path, mmdx_error *err);

/** Add one region "chr:beg-end" (1-based inclusive) for `gene` (may be NULL). MMDX_EINVAL when malformed. */
MMDX_RESULT_USED int mmdx_panel_add_region(mmdx_panel *p, const char *gene, const char *spec,
                                           mmdx_error *err);

/** The panel's (lower-case) name. Borrowed. */
const char *mmdx_panel_name(const mmdx_panel *p);

size_t mmdx_panel_n_regions(const mmdx_panel *p);

/** Whether POS on `chrom` (any naming) lies in the panel. Call mmdx_panel_finalize() first. */
int mmdx_panel_contains(const mmdx_panel *p, const char *chrom, int64_t pos);

/** Sort and merge the regions; needed once after adding them. */
MMDX_RESULT_USED int mmdx_panel_finalize(mmdx_panel *p, mmdx_error *err);

/**
 * The panel's regions as index-query regions (borrowed strings; free() the
 * array only).
 */
MMDX_RESULT_USED int mmdx_panel_regions(const mmdx_panel *p, mmdx_region **out, size_t *n);

/**
 * Whether ALT allele `alt` (1-based allele index) of a record with `n_alt`
 * ALTs is pathogenic according to INFO `value` and the accepted `terms`
 * (n_terms strings). Thread-safe.
 */
int mmdx_clnsig_is_pathogenic(const char *value, size_t n_alt, size_t alt, const char *const *terms,
                              size_t n_terms);

#endif
