/* SPDX-License-Identifier: Apache-2.0 — site configuration parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core_suites.h"
#include "error.h"
#include "testsupport.h"

static char *conf(const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/site.conf", core_tmp);
    mmdx_test_write_file(path, text);
    return path;
}

START_TEST(sections_and_lists)
{
    mmdx_config *c = NULL;
    ck_assert_int_eq(mmdx_config_load(&c, conf("# site\n[mmdx]\nthreads = 3\n\n[genomics]\n"
                                               "score = a.txt\nscore = b.txt ; not a comment\n"
                                               "label = \"  padded  \"\n[imaging]\nbin_width=25\n")),
                     0);
    ck_assert_str_eq(mmdx_config_host_value(c, "threads"), "3");
    ck_assert_int_eq(mmdx_config_check_host(c), 0);
    mmdx_plugin_config pc;
    mmdx_config_section(c, "genomics", 2, &pc);
    ck_assert_uint_eq(pc.n_entries, 3);
    ck_assert_str_eq(pc.entries[0].key, "score");
    ck_assert_str_eq(pc.entries[1].value, "b.txt ; not a comment");
    ck_assert_str_eq(pc.entries[2].value, "  padded  ");
    ck_assert_int_eq(pc.entries[1].line, 7);
    ck_assert_ptr_nonnull(strstr(pc.entries[1].file, "site.conf"));
    ck_assert_int_eq(pc.n_threads, 2);
    ck_assert_ptr_nonnull(pc.base_dir);
    mmdx_config_section(c, "records", 1, &pc);
    ck_assert_uint_eq(pc.n_entries, 0);
    const char *known[] = {"mmdx", "genomics", "imaging"};
    ck_assert_int_eq(mmdx_config_check_sections(c, known, 3), 0);
    ck_assert_int_eq(mmdx_config_check_sections(c, known, 2), MMDX_EINVAL);
    ck_assert_msg(strstr(mmdx_last_error(), "site.conf: line 9: unknown section [imaging]") != NULL,
                  "%s", mmdx_last_error());
    mmdx_config_free(c);
}
END_TEST

static void expect_error(const char *text, const char *what)
{
    mmdx_config *c = NULL;
    int rc = mmdx_config_load(&c, conf(text));
    if (rc == 0) {
        rc = mmdx_config_check_host(c);
        mmdx_config_free(c);
    }
    ck_assert_int_lt(rc, 0);
    ck_assert_msg(strstr(mmdx_last_error(), what) != NULL, "\"%s\" lacks \"%s\"", mmdx_last_error(),
                  what);
}

START_TEST(bad_configuration)
{
    expect_error("key = 1\n", "line 1: key \"key\" before any [section]");
    expect_error("[mmdx]\nthreads 4\n", "line 2: expected \"key = value\"");
    expect_error("[Bad Name]\n", "line 1: invalid section name");
    expect_error("[mmdx\n", "line 1: malformed section header");
    expect_error("[mmdx]\nthreads = zero\n", "line 2: [mmdx] threads = \"zero\"");
    expect_error("[mmdx]\n\nthredas = 2\n", "line 3: unknown key \"thredas\" in [mmdx]");
    expect_error("[x]\nv = \"open\n", "line 2: unterminated quoted value");
    mmdx_config *c = NULL;
    ck_assert_int_eq(mmdx_config_load(&c, "/nonexistent/site.conf"), MMDX_ENOTFOUND);
}
END_TEST

START_TEST(default_location)
{
    mmdx_config *c = NULL;
    setenv("MMDX_CONFIG", conf("[mmdx]\nthreads = 2\n"), 1);
    ck_assert_int_eq(mmdx_config_load(&c, NULL), 0);
    ck_assert_str_eq(mmdx_config_host_value(c, "threads"), "2");
    mmdx_config_free(c);
    unsetenv("MMDX_CONFIG");
}
END_TEST

TCase *config_tcase(void)
{
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, core_setup, core_teardown);
    tcase_add_test(tc, sections_and_lists);
    tcase_add_test(tc, bad_configuration);
    tcase_add_test(tc, default_location);
    return tc;
}
