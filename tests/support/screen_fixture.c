/* SPDX-License-Identifier: Apache-2.0 */
#include "screen_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "pgtest.h"
#include "testsupport.h"

static void run_ok(char *cmd)
{
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s\n%s%s", rc, cmd, out ? out : "", err ? err : "");
    free(out);
    free(err);
    free(cmd);
}

void mmdx_screen_fixture_make(mmdx_screen_fixture *f, const char *dir, int patients, unsigned seed)
{
    mmdx_screen_fixture_make_keyed(f, dir, patients, seed, NULL);
}

void mmdx_screen_fixture_make_keyed(mmdx_screen_fixture *f, const char *dir, int patients, unsigned seed,
                                    const char *key)
{
    mmdx_screen_fixture_make_with(f, dir, patients, seed, 0.2, key);
}

void mmdx_screen_fixture_make_with(mmdx_screen_fixture *f, const char *dir, int patients, unsigned seed,
                                   double missing, const char *key)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    snprintf(f->cohort, sizeof f->cohort, "%s/cohort", dir);
    snprintf(f->manifest, sizeof f->manifest, "%s/cohort.csv", f->cohort);
    snprintf(f->conf, sizeof f->conf, "%s/mmdx.conf", f->cohort);
    if (key)
        snprintf(f->key, sizeof f->key, "%s", key);
    else
        snprintf(f->key, sizeof f->key, "%s/site.key", dir);
    snprintf(f->model, sizeof f->model, "%s/model.mmdx", dir);
    f->patients = patients;
    run_ok(mmdx_test_strf("'%s' synth --patients %d --out '%s' --seed %u --missing %g --image-size 16 "
                          "--slices 6 --threads 2 --no-progress", mmdx_test_mmdx_bin(), patients, f->cohort, seed,
                          missing));
    if (!key) {
        mmdx_test_write_file(f->key, "5c1e0f9a7d3b2e4c6a8f0d1b3e5c7a9f-reliability-test-key\n");
        ck_assert_int_eq(chmod(f->key, 0600), 0);
    }
    run_ok(mmdx_test_strf("'%s' train --cohort '%s' --config '%s' --modalities genomics,records --fusion late "
                          "--site-key '%s' --out '%s' --no-progress", mmdx_test_mmdx_bin(), f->manifest, f->conf,
                          f->key, f->model));
    /* truth.csv: columns 9 and 10 say whether the patient has genomics and records. */
    char *truth = mmdx_test_strf("%s/truth.csv", f->cohort);
    mmdx_csv_reader *r;
    ck_assert_int_eq(mmdx_csv_open(&r, truth, ','), 0);
    char **cells;
    size_t n;
    ck_assert_int_eq(mmdx_csv_next(r, &cells, &n), 1);
    while (mmdx_csv_next(r, &cells, &n) == 1) {
        ck_assert_uint_ge(n, 10);
        f->screenable += strcmp(cells[8], "1") == 0 || strcmp(cells[9], "1") == 0;
    }
    mmdx_csv_close(r);
    free(truth);
    ck_assert_int_gt(f->screenable, 0);
}

char *mmdx_screen_fixture_command(const mmdx_screen_fixture *f, const char *manifest, const char *dsn,
                                  const char *extra)
{
    return mmdx_test_strf("'%s' screen --model '%s' --cohort '%s' --config '%s' --site-key '%s' --db '%s' "
                          "--no-progress --json %s", mmdx_test_mmdx_bin(), f->model, manifest ? manifest : f->manifest,
                          f->conf, f->key, dsn, extra ? extra : "");
}

char *mmdx_screen_fixture_db(const char *prefix, char **name)
{
    char *db = mmdx_pgtest_create_db(prefix);
    char *dsn = mmdx_pgtest_admin_dsn(db);
    run_ok(mmdx_test_strf("'%s' db migrate --db '%s'", mmdx_test_mmdx_bin(), dsn));
    if (name)
        *name = db;
    else
        free(db);
    return dsn;
}

void mmdx_screen_fixture_slow(const char *dsn, double seconds)
{
    char *sql = mmdx_test_strf("CREATE OR REPLACE FUNCTION public.mmdx_test_slow() RETURNS trigger LANGUAGE plpgsql AS "
                               "$$ BEGIN PERFORM pg_sleep(%g); RETURN NULL; END $$; "
                               "CREATE TRIGGER mmdx_test_slow AFTER INSERT ON mmdx.predictions FOR EACH STATEMENT "
                               "EXECUTE FUNCTION public.mmdx_test_slow()", seconds);
    mmdx_pgtest_exec(dsn, sql);
    free(sql);
}

void mmdx_screen_fixture_fast(const char *dsn)
{
    mmdx_pgtest_exec(dsn, "DROP TRIGGER mmdx_test_slow ON mmdx.predictions");
}
