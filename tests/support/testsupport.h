/*
 * tests/support/testsupport.h — helpers shared by the Check suites.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_TESTSUPPORT_H
#define MMDX_TESTSUPPORT_H

#include <check.h>
#include <stddef.h>

/** Exit code ctest reads as "skipped". */
#define MMDX_TEST_SKIP 77

/**
 * The shared test data folder ($MMDX_TEST_DATA, else ../shared/data beside
 * the checkout), or NULL when absent. When absent and CI=true, prints why and
 * exits 1; when absent otherwise, tests call mmdx_test_data_or_skip().
 */
const char *mmdx_test_data_dir(void);

/** The data folder, or exit(77) with a message when it is missing (exit 1 under CI=true). */
const char *mmdx_test_data_or_skip(void);

/** `rel` inside the data folder. Static buffer per call site is not used: returns malloc'd text. */
char *mmdx_test_data_path(const char *rel);

/** The build tree and source tree. */
const char *mmdx_test_build_dir(void);
const char *mmdx_test_source_dir(void);

/** A fresh temporary folder (mkdtemp under $TMPDIR), removed by mmdx_test_rmtree. malloc'd. */
char *mmdx_test_tmpdir(void);
void mmdx_test_rmtree(const char *dir);

/** Write `text` to `path` (ck_abort on failure). */
void mmdx_test_write_file(const char *path, const char *text);

/** Read a whole file (malloc'd, NUL-terminated), NULL if unreadable. */
char *mmdx_test_read_file(const char *path, size_t *len);

/**
 * Run a shell command line; returns its exit status (or -1). When `out` is
 * not NULL, stdout is captured into a malloc'd string; stderr is captured
 * into *err when `err` is not NULL.
 */
int mmdx_test_run(const char *cmdline, char **out, char **err);

/**
 * Start a shell command line in the background, its stdout and stderr to
 * /dev/null (redirect inside the command to keep them); returns its pid, for
 * waitpid. ck_assert when fork fails.
 */
int mmdx_test_spawn(const char *cmdline);

/** printf into a new string (malloc'd; ck_abort when out of memory). */
char *mmdx_test_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Sleep `ms` milliseconds (resumed after a signal). */
void mmdx_test_sleep_ms(long ms);

/** Path of the built `mmdx` executable. */
const char *mmdx_test_mmdx_bin(void);

/**
 * Print one case of the reliability matrix (issue #17, docs/reliability.md)
 * on stdout, flushed at once:
 *   MMDX-RELIABILITY<TAB>row<TAB>case<TAB>pass|fail<TAB>figure
 * `row` is the matrix row (1-7), `case_name` a short name, `fmt` the figure
 * ("verify exit 4, first broken seq 37"). Tabs and line breaks in the name or
 * figure become spaces, so each case is one line scripts/reliability-table.py
 * can read back from ctest's log. Prints only: a failed case must still fail
 * its test (ck_assert after the call).
 */
void mmdx_test_reliability(int row, const char *case_name, int pass, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Run a suite with CK_NORMAL output; returns the process exit code. */
int mmdx_test_run_suite(Suite *s);

#endif
