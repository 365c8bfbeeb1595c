/* SPDX-License-Identifier: Apache-2.0 — records test suites and shared helpers. */
#ifndef MMDX_TEST_RECORDS_SUITES_H
#define MMDX_TEST_RECORDS_SUITES_H

#include <check.h>

#include "records.h"

TCase *records_basics_tcase(void);
TCase *records_fhir_tcase(void);
TCase *records_csv_tcase(void);

/** tests/records/data in the source tree. */
const char *records_fixture_dir(void);

/** Value of feature `name` (without "records.") in `values` encoded by `r`; aborts when unknown. */
double records_feature(mmdx_records *r, const double *values, const char *name);

#endif
