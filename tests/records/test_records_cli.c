/* SPDX-License-Identifier: Apache-2.0 — `mmdx encode records`, and the records plugin inside `mmdx encode --cohort`. */
#include <check.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "records_suites.h"
#include "testsupport.h"

static char *tmp;
static char env[8192];
static const char *fixtures;

static void setup(void)
{
    tmp = mmdx_test_tmpdir();
    fixtures = records_fixture_dir();
    snprintf(env, sizeof env, "cd '%s' && MMDX_CONFIG= MMDX_PLUGIN_PATH= '%s'", tmp, mmdx_test_mmdx_bin());
}

static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
}

static int run(const char *args, char **out, char **err)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s %s", env, args);
    return mmdx_test_run(cmd, out, err);
}

static void put(const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    mmdx_test_write_file(path, text);
}

START_TEST(plugin_listed)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(run("plugins", &out, &err), 0);
    ck_assert_msg(strstr(out, "records") && strstr(out, "encoder"), "%s", out);
    free(out);
    free(err);
}
END_TEST

START_TEST(encode_one_json)
{
    char args[8192], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "encode records '%s/generated_bundle.json' --patient p1 --index-date 2020-06-15 --spec '%s/test_spec.json' "
             "--json",
             fixtures, fixtures);
    int rc = run(args, &out, &err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    json_object *o = json_tokener_parse(out);
    ck_assert_ptr_nonnull(o);
    json_object *fs, *v, *w;
    ck_assert(json_object_object_get_ex(o, "features", &fs));
    ck_assert(json_object_object_get_ex(fs, "records.lab.glucose.count", &v));
    ck_assert_double_eq(json_object_get_double(v), 4);
    ck_assert(json_object_object_get_ex(fs, "records.lab.hba1c.latest", &v));
    ck_assert_double_eq_tol(json_object_get_double(v), 7.00044, 1e-12);
    ck_assert(json_object_object_get_ex(fs, "records.lab.height.latest", &v));
    ck_assert_ptr_null(v); /* missing -> null */
    ck_assert(json_object_object_get_ex(o, "warnings", &w));
    ck_assert(json_object_object_get_ex(w, "unit_unconvertible", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert(json_object_object_get_ex(w, "unresolved_reference", &v));
    ck_assert_int_eq(json_object_get_int(v), 2);
    json_object_put(o);
    free(out);
    free(err);

    /* the `mmdx encode records` text form, and the same through the generic one-input form */
    snprintf(args, sizeof args, "encode records '%s/generated.ndjson' --patient p2 --index-date 2021-06-01 --spec '%s/test_spec.json'",
             fixtures, fixtures);
    ck_assert_int_eq(run(args, &out, &err), 0);
    ck_assert_msg(strstr(out, "records.deceased\t1\n") && strstr(out, "records.lab.glucose.latest\t7\n"), "%s", out);
    ck_assert_msg(strstr(err, "warnings:"), "%s", err);
    free(out);
    free(err);
}
END_TEST

START_TEST(encode_errors_and_usage)
{
    char args[8192], *out = NULL, *err = NULL;
    put("broken.json", "{\"resourceType\": \"Patient\",\n \"id\": }\n");
    ck_assert_int_eq(run("encode records broken.json", &out, &err), 3);
    ck_assert_msg(strstr(err, "broken.json: line 2, column 8"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run("encode records", &out, &err), 2);
    free(out);
    free(err);
    ck_assert_int_eq(run("encode records --help", &out, &err), 0);
    ck_assert(strstr(out, "--index-date"));
    free(out);
    free(err);
    ck_assert_int_eq(run("encode records x.json --index-date 2020-02-30", &out, &err), 2);
    ck_assert(strstr(err, "not a FHIR date"));
    free(out);
    free(err);
    /* a bundle of several patients needs --patient */
    snprintf(args, sizeof args, "encode records '%s/generated_bundle.json'", fixtures);
    ck_assert_int_eq(run(args, &out, &err), 3);
    ck_assert_msg(strstr(err, "--patient"), "%s", err);
    free(out);
    free(err);
    snprintf(args, sizeof args, "encode records '%s/generated_bundle.json' --patient nobody", fixtures);
    ck_assert_int_eq(run(args, &out, &err), 3);
    free(out);
    free(err);
    put("bad_spec.json", "{\"mmdx_records_spec\": 1, \"labs\": [{\"name\": \"g\"}]}");
    snprintf(args, sizeof args, "encode records '%s/generated_bundle.json' --spec bad_spec.json", fixtures);
    ck_assert_int_eq(run(args, &out, &err), 3);
    ck_assert_msg(strstr(err, "bad_spec.json: labs[0]: missing 'loinc'"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run("encode records --list-features", &out, &err), 0);
    ck_assert(strstr(out, "records.lab.glucose.slope\n"));
    free(out);
    free(err);
}
END_TEST

START_TEST(encode_all_table)
{
    char args[8192], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "encode records '%s/generated.ndjson' --all --out table.csv --index-date 2020-06-15 --spec '%s/test_spec.json' "
             "--json --no-progress",
             fixtures, fixtures);
    ck_assert_int_eq(run(args, &out, &err), 0);
    ck_assert_msg(strstr(out, "\"patients\": 2"), "%s", out); /* p1, p2; "ghost" is only referenced */
    free(out);
    free(err);
    char path[4096];
    snprintf(path, sizeof path, "%s/table.csv", tmp);
    mmdx_csv_reader *r;
    ck_assert_int_eq(mmdx_csv_open(&r, path, ','), 0);
    char **f;
    size_t nf;
    ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
    long col = -1;
    for (size_t i = 0; i < nf; i++)
        if (strcmp(f[i], "records.lab.glucose.count") == 0)
            col = (long)i;
    ck_assert_int_ge(col, 0);
    ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
    ck_assert_str_eq(f[0], "p1");
    ck_assert_str_eq(f[1], "1");
    ck_assert_str_eq(f[col], "4");
    mmdx_csv_close(r);
}
END_TEST

START_TEST(cohort_fills_records_columns)
{
    char text[16384], *out = NULL, *err = NULL;
    snprintf(text, sizeof text, "[records]\nspec = %s/test_spec.json\nindex_date = 2020-06-15\n", fixtures);
    put("mmdx.conf", text);
    snprintf(text, sizeof text,
             "patient_id,record,index_date,label\n"
             "p1,%s/generated.ndjson,,1\n"
             "p2,%s/generated.ndjson,2021-06-01,0\n"
             "MRN-0001,%s/generated_bundle.json,,1\n"
             "nobody,%s/generated.ndjson,,0\n"
             "none,,,0\n",
             fixtures, fixtures, fixtures, fixtures);
    put("cohort.csv", text);
    int rc = run("encode --cohort cohort.csv --out features.csv --only records --config mmdx.conf --no-progress", &out, &err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    free(out);
    free(err);
    char path[4096];
    snprintf(path, sizeof path, "%s/features.csv", tmp);
    mmdx_csv_reader *r;
    ck_assert_int_eq(mmdx_csv_open(&r, path, ','), 0);
    char **f;
    size_t nf;
    ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
    long c_present = -1, c_count = -1, c_dead = -1, c_dm = -1;
    for (size_t i = 0; i < nf; i++) {
        if (strcmp(f[i], "records.present") == 0)
            c_present = (long)i;
        if (strcmp(f[i], "records.lab.glucose.count") == 0)
            c_count = (long)i;
        if (strcmp(f[i], "records.deceased") == 0)
            c_dead = (long)i;
        if (strcmp(f[i], "records.cond.diabetes_t2") == 0)
            c_dm = (long)i;
    }
    ck_assert(c_present >= 0 && c_count >= 0 && c_dead >= 0 && c_dm >= 0);
    static const struct {
        const char *id, *present, *count, *dead, *dm;
    } want[] = {
        {"p1", "1", "4", "0", "1"},       /* index date from the configuration */
        {"p2", "1", "1", "1", "0"},       /* its own index date: after its death */
        {"MRN-0001", "1", "4", "0", "1"}, /* found by identifier in the bundle */
        {"nobody", "0", "", "", ""},      /* not in the shared export */
        {"none", "0", "", "", ""},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
        ck_assert_str_eq(f[0], want[k].id);
        ck_assert_msg(strcmp(f[c_present], want[k].present) == 0, "%s present %s", f[0], f[c_present]);
        ck_assert_msg(strcmp(f[c_count], want[k].count) == 0, "%s count '%s'", f[0], f[c_count]);
        ck_assert_msg(strcmp(f[c_dead], want[k].dead) == 0, "%s deceased '%s'", f[0], f[c_dead]);
        ck_assert_msg(strcmp(f[c_dm], want[k].dm) == 0, "%s dm '%s'", f[0], f[c_dm]);
    }
    mmdx_csv_close(r);

    /* a bad index_date cell fails that patient, named by the manifest line */
    snprintf(text, sizeof text, "patient_id,record,index_date\np1,%s/generated.ndjson,2020-13-01\n", fixtures);
    put("bad.csv", text);
    rc = run("encode --cohort bad.csv --out f2.csv --only records --config mmdx.conf --no-progress", &out, &err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "bad.csv:2: index_date: not a FHIR date"), "%s", err);
    ck_assert_msg(!strstr(err, "2020-13-01"), "the date itself is patient data: %s", err);
    free(out);
    free(err);
    /* a shared export that cannot be read fails its own rows only (with --keep-going the run goes on) */
    put("broken.ndjson", "{\"resourceType\": \"Patient\", \"id\": \"q1\"}\n{\"resourceType\": \"Patient\", \"id\": \"q2\",}\n");
    snprintf(text, sizeof text,
             "patient_id,record\nq1,broken.ndjson\np1,%s/generated.ndjson\nq2,broken.ndjson\n", fixtures);
    put("shared.csv", text);
    rc = run("encode --cohort shared.csv --out f4.csv --only records --config mmdx.conf --no-progress --keep-going",
             &out, &err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_msg(strstr(err, "broken.ndjson: line 2, column"), "%s", err);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/f4.csv", tmp);
    ck_assert_int_eq(mmdx_csv_open(&r, path, ','), 0);
    ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
    static const char *const present_want[] = {"0", "1", "0"};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
        ck_assert_msg(strcmp(f[c_present], present_want[k]) == 0, "%s present %s", f[0], f[c_present]);
    }
    mmdx_csv_close(r);

    /* unknown configuration keys are refused with file and line */
    put("typo.conf", "[records]\nspecc = x.json\n");
    rc = run("encode --cohort cohort.csv --out f3.csv --only records --config typo.conf --no-progress", &out, &err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "typo.conf:2: unknown key 'specc' in [records]"), "%s", err);
    free(out);
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("records_cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plugin_listed);
    tcase_add_test(tc, encode_one_json);
    tcase_add_test(tc, encode_errors_and_usage);
    tcase_add_test(tc, encode_all_table);
    tcase_add_test(tc, cohort_fills_records_columns);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
