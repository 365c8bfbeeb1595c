/*
 * tests/orthanc/orthanc_model.h — a model and patient data for the Orthanc
 * plugin's tests: a small records export, a training table with the
 * encoders' schema around the IBSI CT phantom patient, a model trained with
 * `mmdx train`, and what `mmdx predict` says for that patient.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef MMDX_TESTS_ORTHANC_MODEL_H
#define MMDX_TESTS_ORTHANC_MODEL_H

#include <check.h>

typedef struct expected {
    double probability;
    int decision;
    char header[4096];
    char row[4096];
} expected;

/**
 * In `dir`: mmdx.conf (the site configuration to use), records.json,
 * cohort.vcf with samples.csv (patient "1" is sample S_B), site.key (the
 * model is signed with it),
 * reference.csv (patient "1" = the CT phantom), model.mmdx; fills *e.
 */
void orthanc_test_train_model(const char *dir, expected *e);

/**
 * The main() of a test with one Check test that needs the test data and
 * PostgreSQL: skips (exit 77) without the data, else runs it with a
 * 600-second timeout. Returns the exit status.
 */
int orthanc_test_main(const char *suite, const TTest *test);

/** Run a command that must succeed; its standard output (malloc'd). */
char *orthanc_test_run_ok(const char *cmd);

#endif
