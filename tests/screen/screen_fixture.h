/*
 * tests/screen/screen_fixture.h — what the `mmdx screen` test programs share
 * (test_screen_pg, test_screen_faults): a generated cohort with a signed
 * model trained on it, migrated databases, screening runs (in the foreground
 * or in the background), and the checks of what they stored. The helpers
 * ck_assert on failure. Not a library: each test program links it.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_TEST_SCREEN_FIXTURE_H
#define MMDX_TEST_SCREEN_FIXTURE_H

#include <json-c/json.h>
#include <stddef.h>
#include <sys/types.h>

extern char *tmp;                                      /* the fixture's folder */
extern char cohort[4096], conf[4096], key[4096], model[4096]; /* its cohort folder, config, site key, model */
extern int n_patients;                                 /* in the cohort */
extern size_t expected_screened;                       /* patients with genomics or records (the model's modalities) */

/** Generate n patients (each modality missing with probability `missing`) and train the signed model. */
void mmdx_screen_fixture_cohort(int n, double missing);
/** Remove the fixture's folder and forget the reference content. */
void mmdx_screen_fixture_teardown(void);

/** Run a shell command; ck_assert that it exits 0. */
void sh(const char *cmd);
/** A migrated database of the current server; its admin DSN (malloc'd). */
char *new_db(const char *prefix);
/** The `mmdx screen` command line over the fixture's cohort, with --json and `extra` options. */
void screen_cmd(char *buf, size_t cap, const char *dsn, const char *extra);
/** Run a screen; returns the exit code and the JSON summary (caller puts it); stderr in *err_text if not NULL. */
int screen(const char *dsn, const char *extra, json_object **summary, char **err_text);
/** An integer of a JSON summary (ck_assert that it is there). */
long long jint(json_object *o, const char *k);
/** The stored predictions (patient, probability, decision, contributions, input hashes), one line each. malloc'd. */
char *content(const char *dsn);
/** ck_assert that n patients are stored, each once with one prediction.store event, and that audit verify exits 0. */
void check_exactly_once(const char *dsn, size_t n);
/** The content of an uninterrupted run over the cohort (computed once per fixture). Borrowed. */
const char *reference_content(void);

/** Make every stored batch take at least `seconds` (a statement trigger that sleeps). Test databases only. */
void slow_batches(const char *dsn, double seconds);
void fast_batches(const char *dsn);
/** `sh -c cmd` in the background, its output to /dev/null; its PID. */
pid_t start_background(const char *cmd);
void sleep_ms(long ms);

#endif
