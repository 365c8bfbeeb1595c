/*
 * tests/screen/screen_runs.h — what the `mmdx screen` test programs share
 * (test_screen_pg, test_screen_faults): one cohort per program (the
 * tests/support screen fixture), screening runs over it in the foreground
 * or the background, and the checks of what they stored. The helpers
 * ck_assert on failure. Not a library: each test program links it.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_TEST_SCREEN_RUNS_H
#define MMDX_TEST_SCREEN_RUNS_H

#include <json-c/json.h>
#include <stddef.h>
#include <sys/types.h>

extern char *tmp;                                    /* the program's folder */
extern const char *cohort, *conf, *key, *model;      /* its cohort folder, config, site key, model */
extern int n_patients;                               /* in the cohort */
extern size_t expected_screened;                     /* patients with genomics or records (the model's modalities) */

/** Generate n patients (each modality missing with probability `missing`) and train the signed model. */
void mmdx_screen_runs_setup(int n, double missing);
/** Remove the program's folder and forget the reference content. */
void mmdx_screen_runs_teardown(void);

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

/** Short names for tests/support's mmdx_screen_fixture_slow/_fast, mmdx_test_spawn and mmdx_test_sleep_ms. */
void slow_batches(const char *dsn, double seconds);
void fast_batches(const char *dsn);
pid_t start_background(const char *cmd);
void sleep_ms(long ms);

#endif
