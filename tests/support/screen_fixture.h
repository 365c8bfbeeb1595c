/*
 * tests/support/screen_fixture.h — a generated cohort and a signed model,
 * for tests that run the real `mmdx screen` (the reliability matrix's rows).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SCREEN_FIXTURE_H
#define MMDX_SCREEN_FIXTURE_H

#include <stddef.h>

/** Paths of one fixture; everything lives in `dir` (the caller's, removed by the caller). */
typedef struct mmdx_screen_fixture {
    char dir[1024];
    char cohort[1100];   /**< the generated cohort's folder (cohort.csv, truth.csv, mmdx.conf, inputs) */
    char manifest[1200]; /**< cohort/cohort.csv */
    char conf[1200];     /**< cohort/mmdx.conf */
    char key[1100];      /**< the site key (mode 0600) */
    char model[1100];    /**< genomics + records, late fusion, signed with the site key */
    int patients;        /**< rows of the manifest */
    int screenable;      /**< patients this model can screen (with genomics or records) */
} mmdx_screen_fixture;

/**
 * `mmdx synth` of `patients` patients (seed `seed`) and `mmdx train` of the
 * model into `dir`; ck_assert on failure. A few seconds for a few dozen patients.
 */
void mmdx_screen_fixture_make(mmdx_screen_fixture *f, const char *dir, int patients, unsigned seed);

/** The same, with the site key `key` (an existing file, mode 0600) instead of a key of its own. */
void mmdx_screen_fixture_make_keyed(mmdx_screen_fixture *f, const char *dir, int patients, unsigned seed,
                                    const char *key);

/**
 * The general form: each modality missing with probability `missing` (the
 * others use 0.2), the site key `key` or, when NULL, a key of its own.
 */
void mmdx_screen_fixture_make_with(mmdx_screen_fixture *f, const char *dir, int patients, unsigned seed,
                                   double missing, const char *key);

/**
 * The shell command of `mmdx screen` over `manifest` (NULL: the fixture's)
 * into database `dsn`, keyed, --json, no progress bar, then `extra`. malloc'd.
 */
char *mmdx_screen_fixture_command(const mmdx_screen_fixture *f, const char *manifest, const char *dsn,
                                  const char *extra);

/** A new database migrated by `mmdx db migrate`; its superuser DSN (malloc'd), its name in *name (malloc'd) when not NULL. */
char *mmdx_screen_fixture_db(const char *prefix, char **name);

/**
 * Make every INSERT statement into mmdx.predictions of database `dsn` take at
 * least `seconds` (a statement trigger that sleeps, inside the writer's
 * transaction), so that a test can act while a run is still writing,
 * whatever the machine's speed. Test databases only.
 */
void mmdx_screen_fixture_slow(const char *dsn, double seconds);

/** Remove what mmdx_screen_fixture_slow added. */
void mmdx_screen_fixture_fast(const char *dsn);

#endif
