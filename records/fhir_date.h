/*
 * records/fhir_date.h — FHIR R4 date, dateTime and instant values.
 * SPDX-License-Identifier: Apache-2.0
 *
 * FHIR dates carry their precision: "2019" means the whole year 2019. A
 * parsed value is therefore an interval [start, end) of UTC seconds since
 * 1970-01-01. Values without a time of day (year, year-month, date) have no
 * timezone in FHIR; mmdx reads them as UTC so that results do not depend on
 * the machine's locale. Values with a time carry an offset (required by FHIR)
 * that is applied.
 *
 * Thread-safety: all functions are pure and reentrant.
 */
#ifndef MMDX_RECORDS_FHIR_DATE_H
#define MMDX_RECORDS_FHIR_DATE_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

/** Precision of a parsed FHIR date. */
typedef enum mmdx_fhir_precision {
    MMDX_FHIR_YEAR = 1,
    MMDX_FHIR_MONTH = 2,
    MMDX_FHIR_DAY = 3,
    MMDX_FHIR_SECOND = 4
} mmdx_fhir_precision;

/** A FHIR date as the UTC interval it denotes. */
typedef struct mmdx_fhir_date {
    int64_t start; /**< first second of the interval (UTC, Unix epoch) */
    int64_t end;   /**< one past the last second */
    int precision; /**< mmdx_fhir_precision */
} mmdx_fhir_date;

/** Seconds in a mean Gregorian year (365.2425 days), used for ages and slopes. */
#define MMDX_FHIR_SECONDS_PER_YEAR 31556952.0
#define MMDX_FHIR_SECONDS_PER_DAY 86400

/**
 * Parse a FHIR `date` or `dateTime` ("2019", "2019-03", "2019-03-14",
 * "2019-03-14T08:30:00+01:00", fractional seconds allowed, "Z" or an offset
 * from -14:00 to +14:00 required with a time). Month and day ranges are
 * checked (including leap years); a leap second 60 is accepted as 59.
 * Returns 0, or MMDX_EFORMAT when `s` is not a FHIR date; *out is then
 * untouched. The caller names the field in its message.
 */
MMDX_RESULT_USED int mmdx_fhir_date_parse(mmdx_fhir_date *out, const char *s);

/** Days since 1970-01-01 of a proleptic Gregorian civil date (month 1-12). */
int64_t mmdx_fhir_days_from_civil(int64_t y, unsigned m, unsigned d);

/** Write the UTC calendar day holding time `t` as "YYYY-MM-DD". */
void mmdx_fhir_format_day(char *buf, size_t cap, int64_t t);

/** Today's date (UTC) as a day-precision interval. */
mmdx_fhir_date mmdx_fhir_today(void);

#endif
