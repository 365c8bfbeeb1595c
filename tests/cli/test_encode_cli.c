/* SPDX-License-Identifier: Apache-2.0 — `mmdx encode` and `mmdx plugins` end to end, with fixture plugins. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmdx/plugin.h"
#include "testsupport.h"

static char *tmp;
static char env[8192];

static void put(const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    mmdx_test_write_file(path, text);
}

static void setup(void)
{
    tmp = mmdx_test_tmpdir();
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/plugins' '%s/data' && cp '%s/good.so' '%s/plugins/mmdx_testenc.so' && "
             "cp '%s/second.so' '%s/plugins/mmdx_testenc2.so'",
             tmp, tmp, MMDX_FIXTURE_DIR, tmp, MMDX_FIXTURE_DIR, tmp);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(env, sizeof env, "cd '%s' && MMDX_CONFIG= MMDX_PLUGIN_PATH='%s/plugins' '%s'", tmp, tmp,
             mmdx_test_mmdx_bin());
    put("data/p1.txt", "1\n3\n");
    put("data/p2.txt", "10\n");
    put("data/o1.txt", "5\n");
    put("data/bad.txt", "1\nnot-a-number\n");
    put("data/empty.txt", "# nothing measured\n");
}

static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
}

/* Built-in plugins (imaging, records...) live next to the binary; cohort runs name the fixtures. */
#define FIXTURES "--only testmod,other "

static int run(const char *args, char **out, char **err)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s %s", env, args);
    return mmdx_test_run(cmd, out, err);
}

START_TEST(encode_cohort)
{
    put("cohort.csv", "patient_id,testinput,other_input,label\n"
                      "P1,data/p1.txt,data/o1.txt,1\n"
                      "P2,data/p2.txt,,0\n"
                      "P3,,,\n"
                      "P4,data/empty.txt,data/o1.txt,1\n");
    char *out = NULL, *err = NULL;
    int rc = run("encode " FIXTURES "--cohort cohort.csv --out features.csv --threads 2", &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(err, "4 patients, 1 with every modality, 0 failed") != NULL, "%s", err);
    free(out);
    free(err);
    char path[4096];
    snprintf(path, sizeof path, "%s/features.csv", tmp);
    char *csv = mmdx_test_read_file(path, NULL);
    ck_assert_str_eq(csv,
                     /* modalities other than imaging/genomics/records come by name */
                     "patient_id,other.present,other.count,other.mean,other.min,other.max,"
                     "testmod.present,testmod.count,testmod.mean,testmod.min,testmod.max,label\n"
                     "P1,1,1,5,5,5,1,2,2,1,3,1\n"
                     "P2,0,,,,,1,1,10,10,10,0\n"
                     "P3,0,,,,,0,,,,,\n"
                     "P4,1,1,5,5,5,0,,,,,1\n");
    free(csv);

    /* --only and --json summary */
    rc = run("encode " FIXTURES "--cohort cohort.csv --out only.csv --only other --json", &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(out, "\"patients\": 4") != NULL, "%s", out);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/only.csv", tmp);
    csv = mmdx_test_read_file(path, NULL);
    ck_assert_msg(strncmp(csv, "patient_id,other.present,other.count", 36) == 0, "%s", csv);
    free(csv);
}
END_TEST

START_TEST(failing_input)
{
    put("cohort.csv", "patient_id,testinput\nSECRET-ID-1,data/p1.txt\nSECRET-ID-2,data/bad.txt\n");
    char *out = NULL, *err = NULL;
    /* Without --keep-going: non-zero, the plugin's message with file and line, nothing written. */
    int rc = run("encode " FIXTURES "--cohort cohort.csv --out f.csv", &out, &err);
    ck_assert_int_eq(rc, 3); /* bad input, as from every command (cli/env.c) */
    ck_assert_msg(strstr(err, "cohort.csv:3: testmod:") != NULL, "%s", err);
    /* stderr is a file here (as in a Slurm log): no terminal escapes before the message */
    ck_assert_msg(strchr(err, '\033') == NULL && strchr(err, '\r') == NULL, "%s", err);
    ck_assert_msg(strstr(err, "bad.txt: line 2: not a number") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "SECRET-ID") == NULL, "patient identifiers must not be printed: %s", err);
    char path[4096];
    snprintf(path, sizeof path, "%s/f.csv", tmp);
    ck_assert_int_eq(access(path, F_OK), -1);
    free(out);
    free(err);

    /* With --keep-going: the modality is marked missing and the failure counted. */
    rc = run("encode " FIXTURES "--cohort cohort.csv --out f.csv --keep-going", &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(err, "1 failed input(s)") != NULL, "%s", err);
    char *csv = mmdx_test_read_file(path, NULL);
    ck_assert_msg(strstr(csv, "\nSECRET-ID-2,0,,,,,0,,,,\n") != NULL, "%s", csv);
    ck_assert_msg(strstr(csv, "\nSECRET-ID-1,0,,,,,1,2,2,1,3\n") != NULL, "%s", csv);
    free(csv);
    free(out);
    free(err);

    /* Without --only, a cohort run uses the encoders whose input column the manifest has. */
    rc = run("encode --cohort cohort.csv --out h.csv --keep-going", &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    snprintf(path, sizeof path, "%s/h.csv", tmp);
    csv = mmdx_test_read_file(path, NULL);
    const char *want = "patient_id,testmod.present,testmod.count,testmod.mean,testmod.min,testmod.max\n";
    ck_assert_msg(strncmp(csv, want, strlen(want)) == 0, "%s", csv);
    free(csv);
    free(out);
    free(err);
    put("nothing.csv", "patient_id,unknown_column\nP1,x\n");
    rc = run("encode --cohort nothing.csv --out n.csv", &out, &err);
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(err, "no column of the manifest is read by a loaded encoder") != NULL, "%s", err);
    free(out);
    free(err);

    /* A missing input file is a failure too, never a silent drop. */
    put("cohort.csv", "patient_id,testinput\nP1,data/none.txt\n");
    rc = run("encode " FIXTURES "--cohort cohort.csv --out g.csv", &out, &err);
    ck_assert_int_eq(rc, 3); /* a missing input file: 3, as from screen and encode records */
    ck_assert_msg(strstr(err, "none.txt: cannot open") != NULL, "%s", err);
    free(out);
    free(err);
}
END_TEST

START_TEST(bad_manifest_and_config)
{
    char *out = NULL, *err = NULL;
    put("cohort.csv", "patient_id,testinput\nP1,data/p1.txt\nP1,data/p2.txt\n");
    int rc = run("encode " FIXTURES "--cohort cohort.csv --out f.csv", &out, &err);
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(err, "cohort.csv: line 3: duplicate patient_id (first on line 2)") != NULL, "%s", err);
    free(out);
    free(err);

    put("cohort.csv", "patient_id,testinput\nP1,data/p1.txt\n");
    put("site.conf", "[testenc]\nscale = 2\n[imagin]\nbin_width = 25\n");
    rc = run("encode " FIXTURES "--cohort cohort.csv --out f.csv --config site.conf", &out, &err);
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(err, "site.conf: line 3: unknown section [imagin]") != NULL, "%s", err);
    free(out);
    free(err);

    put("site.conf", "[testenc]\nscale = 2\n");
    rc = run("encode " FIXTURES "--cohort cohort.csv --out f.csv --config site.conf", &out, &err);
    ck_assert_msg(rc == 0, "%s", err);
    char path[4096];
    snprintf(path, sizeof path, "%s/f.csv", tmp);
    char *csv = mmdx_test_read_file(path, NULL);
    ck_assert_msg(strstr(csv, "\nP1,0,,,,,1,2,4,2,6\n") != NULL, "config reaches the plugin: %s", csv);
    free(csv);
    free(out);
    free(err);

    /* mmdx config check validates before a run: each plugin reports unknown keys with file:line. */
    put("site.conf", "[testenc]\nscale = 2\n\nscael = 3\n");
    rc = run("config check --config site.conf", &out, &err);
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(err, "site.conf: line 4: unknown key \"scael\" in [testenc]") != NULL, "%s", err);
    free(out);
    free(err);
    put("site.conf", "[testenc]\nscale = 2\n");
    rc = run("config check --config site.conf --json", &out, &err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strstr(out, "\"ok\": true") != NULL && strstr(out, "\"name\": \"testenc\"") != NULL, "%s", out);
    free(out);
    free(err);

    rc = run("encode " FIXTURES "--cohort cohort.csv", &out, &err);
    ck_assert_int_eq(rc, 2);
    free(out);
    free(err);
    rc = run("encode " FIXTURES "--cohort cohort.csv --out f.csv --threads 0", &out, &err);
    ck_assert_int_eq(rc, 2);
    free(out);
    free(err);
}
END_TEST

START_TEST(encode_one_and_plugins)
{
    char *out = NULL, *err = NULL;
    int rc = run("encode testmod data/p1.txt --json", &out, &err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strstr(out, "\"testmod.mean\": 2") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"present\": true") != NULL, "%s", out);
    free(out);
    free(err);
    rc = run("encode testmod data/bad.txt", &out, &err);
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(err, "bad.txt: line 2: not a number") != NULL, "%s", err);
    free(out);
    free(err);
    rc = run("encode nosuch data/p1.txt", &out, &err);
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(err, "no encoder plugin named \"nosuch\"") != NULL, "%s", err);
    free(out);
    free(err);

    rc = run("plugins --json", &out, &err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strstr(out, "\"name\": \"testenc\"") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"sha256\": \"") != NULL, "%s", out);
    char abi[64];
    snprintf(abi, sizeof abi, "\"abi\": \"%d.%d\"", MMDX_ABI_VERSION_MAJOR, MMDX_ABI_VERSION_MINOR);
    ck_assert_msg(strstr(out, abi) != NULL, "%s", out);
    free(out);
    free(err);

    const char *cmds[] = {"--help", "plugins --help", "encode --help", "config --help"};
    for (size_t i = 0; i < 4; i++) {
        rc = run(cmds[i], &out, &err);
        ck_assert_msg(rc == 0 && strstr(out, "Usage: mmdx") != NULL, "%s: %s", cmds[i], out);
        free(out);
        free(err);
    }
    rc = run("frobnicate", &out, &err);
    ck_assert_int_eq(rc, 2);
    free(out);
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("encode");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, encode_cohort);
    tcase_add_test(tc, failing_input);
    tcase_add_test(tc, bad_manifest_and_config);
    tcase_add_test(tc, encode_one_and_plugins);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
