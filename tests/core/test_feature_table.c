/* SPDX-License-Identifier: Apache-2.0 — the wide feature table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core_suites.h"
#include "error.h"
#include "feature_table.h"
#include "testsupport.h"

START_TEST(write_read_round_trip)
{
    const char *mods[] = {"imaging", "records"};
    const char *names[] = {"imaging.a", "imaging.b", "records.age"};
    uint32_t fm[] = {0, 0, 1};
    mmdx_feature_table *t = NULL;
    ck_assert_int_eq(mmdx_feature_table_new(&t, 2, 2, mods, 3, names, fm, 1), 0);
    ck_assert_int_eq(mmdx_feature_table_set_id(t, 0, "P\"1"), 0);
    ck_assert_int_eq(mmdx_feature_table_set_id(t, 1, "P2"), 0);
    t->present[0] = 1;
    t->x[0] = 0.1;
    t->x[1] = 1.0 / 3.0;
    t->present[1] = 0;
    t->present[2] = 1;
    t->present[3] = 1;
    t->x[5] = -1e-300;
    t->labels[0] = 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/f.csv", core_tmp);
    ck_assert_int_eq(mmdx_feature_table_write(t, path), 0);
    char *text = mmdx_test_read_file(path, NULL);
    ck_assert_msg(strncmp(text, "patient_id,imaging.present,imaging.a,imaging.b,records.present,"
                                "records.age,label\n\"P\"\"1\",1,0.1,0.333333333333333",
                          strlen("patient_id,imaging.present,imaging.a,imaging.b,records.present,"
                                 "records.age,label\n\"P\"\"1\",1,0.1,0.333333333333333")) == 0,
                  "%s", text);
    free(text);

    mmdx_feature_table *r = NULL;
    ck_assert_int_eq(mmdx_feature_table_read(&r, path), 0);
    ck_assert_uint_eq(r->n_rows, 2);
    ck_assert_uint_eq(r->n_features, 3);
    ck_assert_uint_eq(r->n_modalities, 2);
    ck_assert_str_eq(r->patient_ids[0], "P\"1");
    ck_assert(r->x[0] == 0.1 && r->x[1] == 1.0 / 3.0); /* exact round trip */
    ck_assert(isnan(r->x[2]));                         /* records missing for P"1 */
    ck_assert(r->x[5] == -1e-300);
    ck_assert_int_eq(r->labels[0], 1);
    ck_assert_int_eq(r->labels[1], -1);
    ck_assert_uint_eq(r->feature_modality[2], 1);
    mmdx_feature_table_free(r);
    mmdx_feature_table_free(t);
}
END_TEST

static void expect_error(const char *text, const char *what)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bad.csv", core_tmp);
    mmdx_test_write_file(path, text);
    mmdx_feature_table *t = NULL;
    ck_assert_int_eq(mmdx_feature_table_read(&t, path), MMDX_EFORMAT);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(mmdx_last_error(), what) != NULL, "\"%s\" lacks \"%s\"", mmdx_last_error(),
                  what);
}

START_TEST(bad_tables)
{
    expect_error("a.present,a.x\n1,2\n", "no patient_id column");
    expect_error("patient_id,a.present,a.x,label,label\nP,1,0,0,1\n", "line 1: label appears twice");
    expect_error("patient_id,a.x\nP,2\n", "column \"a.x\": no a.present column before it");
    expect_error("patient_id,a.present,a.x\nP,1,nan\n", "line 2: column a.x: \"nan\" is not a finite number");
    expect_error("patient_id,a.present,a.x\nP,1,inf\n", "not a finite number");
    expect_error("patient_id,a.present,a.x\nP,1,1e999\n", "not a finite number");
    expect_error("patient_id,a.present,a.x\nP,1,12abc\n", "not a finite number");
    expect_error("patient_id,a.present,a.x,label\nP,1,1,2\n", "label \"2\" is not 0, 1 or empty");
    expect_error("patient_id,a.present,a.x\nP,yes,1\n", "a.present: \"yes\" is not 0 or 1");
    expect_error("patient_id,a.present,a.x\nP,1,1\nQ,1,2\nP,0,\n", "line 4: duplicate patient_id (first on line 2)");
    expect_error("patient_id,a.present,a.x\nP,1\n", "line 2: 2 fields, but the header has 3");
    expect_error("patient_id,weird\nP,1\n", "\"weird\" is not <modality>.<feature>");
}
END_TEST

START_TEST(write_to_fifo_in_place)
{
    /* A target that is not a regular file (a FIFO here; /dev/null in real use) is
     * written in place, never replaced by renaming a temporary file over it. */
    char fifo[4096], got[4096];
    snprintf(fifo, sizeof fifo, "%s/pipe", core_tmp);
    snprintf(got, sizeof got, "%s/got.csv", core_tmp);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char cmd[9000];
        snprintf(cmd, sizeof cmd, "cat '%s' > '%s'", fifo, got);
        _exit(system(cmd) == 0 ? 0 : 1);
    }
    const char *mods[] = {"m"};
    const char *names[] = {"m.x"};
    uint32_t fm[] = {0};
    mmdx_feature_table *t = NULL;
    ck_assert_int_eq(mmdx_feature_table_new(&t, 1, 1, mods, 1, names, fm, 0), 0);
    ck_assert_int_eq(mmdx_feature_table_set_id(t, 0, "P"), 0);
    ck_assert_int_eq(mmdx_feature_table_write(t, fifo), 0);
    mmdx_feature_table_free(t);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    struct stat st;
    ck_assert_int_eq(stat(fifo, &st), 0);
    ck_assert_msg(S_ISFIFO(st.st_mode), "the FIFO was replaced by a regular file");
    char *text = mmdx_test_read_file(got, NULL);
    ck_assert_str_eq(text, "patient_id,m.present,m.x\nP,0,\n");
    free(text);
}
END_TEST

TCase *feature_table_tcase(void)
{
    TCase *tc = tcase_create("feature_table");
    tcase_add_checked_fixture(tc, core_setup, core_teardown);
    tcase_add_test(tc, write_read_round_trip);
    tcase_add_test(tc, bad_tables);
    tcase_add_test(tc, write_to_fifo_in_place);
    return tc;
}
