/*
 * records/units.h — the documented table of measurement units the records
 * encoder converts between (see docs/records.md, "Units").
 * SPDX-License-Identifier: Apache-2.0
 *
 * Units are UCUM codes (mg/dL, mmol/L, mm[Hg], [lb_av], Cel...) plus the
 * spellings found in real exports' `unit` text (mg/dl, mmHg, lbs, degrees C).
 * Lookup ignores case: none of the units in the table differ only by case.
 * Conversion is possible between units of one dimension (mass concentration,
 * substance concentration, mass, length, temperature, pressure, ...), between
 * mass and substance concentration when the analyte's molar mass is known,
 * and between HbA1c % (NGSP/DCCT) and mmol/mol (IFCC) with the NGSP/IFCC
 * master equation when the feature asks for it. A unit outside the table
 * converts only to exactly the same string.
 *
 * Thread-safety: the table is static and read-only; everything is reentrant.
 */
#ifndef MMDX_RECORDS_UNITS_H
#define MMDX_RECORDS_UNITS_H

#include "mmdx/common.h"

/** How a feature may convert across dimensions. */
typedef struct mmdx_unit_rule {
    double molar_mass; /**< g/mol of the analyte, or 0 when mass <-> substance is not allowed */
    int hba1c;         /**< 1: allow % (NGSP) <-> mmol/mol (IFCC) */
} mmdx_unit_rule;

/**
 * Convert `value` from unit `from` to unit `to` under `rule` (may be NULL).
 * Returns 0 and sets *out, or MMDX_EUNSUPPORTED when the units are not
 * convertible (unknown unit, different dimensions without a rule).
 */
MMDX_RESULT_USED int mmdx_unit_convert(double *out, double value, const char *from, const char *to,
                                       const mmdx_unit_rule *rule);

/** 1 when `unit` is in the table. */
int mmdx_unit_known(const char *unit);

/** Number of table rows and row i (for documentation and tests). */
size_t mmdx_unit_table_size(void);
void mmdx_unit_table_row(size_t i, const char **unit, const char **dimension, double *factor);

#endif
