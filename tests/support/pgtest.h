/*
 * tests/support/pgtest.h — the PostgreSQL server of the `postgres` ctest
 * fixture (tests/support/pg_server.sh), for any test that needs one.
 * SPDX-License-Identifier: Apache-2.0
 *
 * In CMake: mmdx_add_pg_test(name SOURCES ... LIBS ...) (tests/CMakeLists.txt)
 * makes the test require the fixture and passes MMDX_PG_STATE. Run alone,
 * a test without a server skips (exit 77), or fails under CI=true.
 * Each test creates its own database(s), so tests run in parallel.
 */
#ifndef MMDX_PGTEST_H
#define MMDX_PGTEST_H

/** The fixture's state folder ($MMDX_PG_STATE); skips/fails when there is no server. */
const char *mmdx_pgtest_state_dir(void);

/** The superuser DSN of database `dbname` (NULL: postgres). malloc'd. */
char *mmdx_pgtest_admin_dsn(const char *dbname);

/** A new, empty database named <prefix>_<pid>_<n>; its name, malloc'd. */
char *mmdx_pgtest_create_db(const char *prefix);

/** DSN for a login role with a password on `dbname` (no passfile). malloc'd. */
char *mmdx_pgtest_role_dsn(const char *dbname, const char *user, const char *password);

/** Run SQL (several statements allowed); ck_assert on failure. */
void mmdx_pgtest_exec(const char *dsn, const char *sql);

/** Run SQL; 0 on success, else -1 with the server's message in *err (malloc'd) when err != NULL. */
int mmdx_pgtest_try(const char *dsn, const char *sql, char **err);

/** The first cell of a query's result (malloc'd), NULL when no row or SQL NULL; ck_assert on error. */
char *mmdx_pgtest_value(const char *dsn, const char *sql);

/** The first cell as a number. */
long long mmdx_pgtest_count(const char *dsn, const char *sql);

/**
 * The first cell, a float array (`{0.1,-2,...}`), scaled to unit length into
 * v[0..d); 1 when it held exactly d values (at least d: the first d), 0 when
 * no row, SQL NULL or fewer values.
 */
int mmdx_pgtest_unit_vector(const char *dsn, const char *sql, double *v, int d);

/**
 * Start a server of this test's own (pg_server.sh start into a new folder)
 * and point every function above at it, for tests that stop, restart or
 * reconfigure the server (the shared one serves tests running in parallel).
 * Stays until mmdx_pgtest_private_end(). ck_assert on failure.
 */
void mmdx_pgtest_private_begin(void);

/** Stop and delete the private server; the functions above use the shared one again. */
void mmdx_pgtest_private_end(void);

/** Stop the private server (fast shutdown: sessions are cut), keeping its data. */
void mmdx_pgtest_private_stop(void);

/** Start the stopped private server again, on the same port with the same data. */
void mmdx_pgtest_private_start(void);

#endif
