/* SPDX-License-Identifier: Apache-2.0 — RFC 4180 reader and writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_suites.h"
#include "csv.h"
#include "error.h"

static mmdx_csv_reader *mem(const char *text)
{
    mmdx_csv_reader *r = NULL;
    ck_assert_int_eq(mmdx_csv_open_mem(&r, text, strlen(text), "t.csv", ','), 0);
    return r;
}

START_TEST(quoting_and_line_breaks)
{
    mmdx_csv_reader *r = mem("\xEF\xBB\xBF" "a,\"b,c\",\"say \"\"hi\"\"\"\r\n"
                             "\n"
                             "\"multi\nline\",,x\n"
                             "last,row,\"\"");
    char **f;
    size_t n;
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(f[0], "a");
    ck_assert_str_eq(f[1], "b,c");
    ck_assert_str_eq(f[2], "say \"hi\"");
    ck_assert_int_eq(mmdx_csv_line(r), 1);
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(f[0], "multi\nline");
    ck_assert_str_eq(f[1], "");
    ck_assert_int_eq(mmdx_csv_line(r), 3);
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), 1);
    ck_assert_int_eq(mmdx_csv_line(r), 5);
    ck_assert_str_eq(f[2], "");
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), 0);
    mmdx_csv_close(r);
}
END_TEST

START_TEST(malformed_records)
{
    char **f;
    size_t n;
    mmdx_csv_reader *r = mem("a,b\n\"open,c\n");
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), 1);
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "t.csv: line 2") != NULL, "%s", mmdx_last_error());
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "never closed"));
    mmdx_csv_close(r);

    r = mem("x\n\"a\"b,c\n");
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), 1);
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "line 2"));
    mmdx_csv_close(r);

    r = mem("a\"b\n");
    ck_assert_int_eq(mmdx_csv_next(r, &f, &n), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "quote inside an unquoted field"));
    mmdx_csv_close(r);
}
END_TEST

START_TEST(write_round_trip)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/w.csv", core_tmp);
    FILE *f = fopen(path, "w");
    const char *vals[] = {"plain", "with,comma", "with \"quote\"", "line\nbreak", ""};
    for (int i = 0; i < 5; i++) {
        if (i)
            fputc(',', f);
        ck_assert_int_eq(mmdx_csv_write_field(f, vals[i], ','), 0);
    }
    fputc('\n', f);
    fclose(f);
    mmdx_csv_reader *r = NULL;
    ck_assert_int_eq(mmdx_csv_open(&r, path, ','), 0);
    char **fl;
    size_t n;
    ck_assert_int_eq(mmdx_csv_next(r, &fl, &n), 1);
    ck_assert_uint_eq(n, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(fl[i], vals[i]);
    mmdx_csv_close(r);
    ck_assert_int_eq(mmdx_csv_open(&r, "/nonexistent/x.csv", ','), MMDX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "/nonexistent/x.csv"));
}
END_TEST

TCase *csv_tcase(void)
{
    TCase *tc = tcase_create("csv");
    tcase_add_checked_fixture(tc, core_setup, core_teardown);
    tcase_add_test(tc, quoting_and_line_breaks);
    tcase_add_test(tc, malformed_records);
    tcase_add_test(tc, write_round_trip);
    return tc;
}
