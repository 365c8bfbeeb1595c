/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `mmdx report --run` against a real PostgreSQL after a real `mmdx screen`,
 * and `mmdx evaluate --plots/--report`: the report's numbers checked against
 * the database and a brute-force AUROC, the pages against tidy, a hostile
 * patient ID escaped, and bad input refused with its exit code and nothing
 * half-written.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "pgtest.h"
#include "testsupport.h"

static char *tmp, *dsn;
static char cohort[4096], conf[4096], key[4096], model[4096], run_id[64];
static const char *const hostile_id = "<script>alert(1)</script>&x";

static int run(const char *cmd, char **out, char **err) { return mmdx_test_run(cmd, out, err); }

static void sh(const char *cmd)
{
    char *out = NULL, *err = NULL;
    int rc = run(cmd, &out, &err);
    ck_assert_msg(rc == 0, "command failed (%d): %s\n%s%s", rc, cmd, out ? out : "", err ? err : "");
    free(out), free(err);
}

static void tidy_ok(const char *path)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "tidy -errors -q '%s'", path);
    sh(cmd);
}

/* The page passes tidy, runs no script and contains `want`. */
static void page_has(const char *path, const char *want)
{
    tidy_ok(path);
    char *page = mmdx_test_read_file(path, NULL);
    ck_assert_msg(strstr(page, want), "%s lacks \"%s\"", path, want);
    ck_assert_ptr_null(strstr(page, "<script"));
    free(page);
}

/* Once per suite: a cohort with a hostile patient ID, a signed model, a migrated database, one screening run. */
static void setup(void)
{
    tmp = mmdx_test_tmpdir();
    char cmd[16384], path[8192];
    snprintf(cohort, sizeof cohort, "%s/cohort", tmp);
    snprintf(conf, sizeof conf, "%s/mmdx.conf", cohort);
    snprintf(key, sizeof key, "%s/site.key", tmp);
    snprintf(model, sizeof model, "%s/model.mmdx", tmp);
    snprintf(cmd, sizeof cmd, "'%s' synth --patients 48 --out '%s' --seed 5 --missing 0.25 --image-size 16 --slices 4 "
             "--threads 2 --no-progress", mmdx_test_mmdx_bin(), cohort);
    sh(cmd);
    /* one more patient, named to break a page that does not escape, with patient 2's inputs */
    snprintf(path, sizeof path, "%s/cohort.csv", cohort);
    char *csv = mmdx_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(csv);
    char *line2 = strchr(strchr(csv, '\n') + 1, '\n') + 1, *end = strchr(line2, '\n'), *comma = strchr(line2, ',');
    size_t len = strlen(csv) + 4096;
    char *grown = malloc(len);
    snprintf(grown, len, "%s%s%.*s\n", csv, hostile_id, (int)(end - comma), comma);
    mmdx_test_write_file(path, grown);
    free(csv), free(grown);
    mmdx_test_write_file(key, "0123456789abcdef0123456789abcdef-views-test-key\n");
    chmod(key, 0600);
    snprintf(cmd, sizeof cmd, "'%s' train --cohort '%s/cohort.csv' --config '%s' --modalities genomics,records "
             "--fusion late --site-key '%s' --out '%s' --no-progress", mmdx_test_mmdx_bin(), cohort, conf, key, model);
    sh(cmd);
    char *name = mmdx_pgtest_create_db("views");
    dsn = mmdx_pgtest_admin_dsn(name);
    free(name);
    snprintf(cmd, sizeof cmd, "'%s' db migrate --db '%s'", mmdx_test_mmdx_bin(), dsn);
    sh(cmd);
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s/cohort.csv' --config '%s' --site-key '%s' "
             "--db '%s' --no-progress --json", mmdx_test_mmdx_bin(), model, cohort, conf, key, dsn);
    char *out = NULL;
    int rc = run(cmd, &out, NULL);
    ck_assert_msg(rc == 0 || rc == 3, "screen: exit %d", rc); /* 3: some patients lack every input */
    json_object *o = json_tokener_parse(out), *v;
    ck_assert_msg(o && json_object_object_get_ex(o, "run_id", &v), "screen printed no run: %s", out);
    snprintf(run_id, sizeof run_id, "%s", json_object_get_string(v));
    json_object_put(o);
    free(out);
}

static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(dsn);
}

static char *report_cmd(const char *extra)
{
    char *cmd = malloc(16384);
    snprintf(cmd, 16384, "'%s' report --db '%s' --site-key '%s' %s", mmdx_test_mmdx_bin(), dsn, key, extra);
    return cmd;
}

/* The AUROC of the stored probabilities against the manifest's labels, by counting pairs. */
static double brute_auroc(void)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/cohort.csv", cohort);
    mmdx_csv_reader *r;
    ck_assert_int_eq(mmdx_csv_open(&r, path, ','), 0);
    char **f;
    size_t nf, n = 0;
    char ids[64][64];
    int lab[64];
    ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
    while (mmdx_csv_next(r, &f, &nf) == 1 && n < 64) {
        snprintf(ids[n], sizeof ids[n], "%s", f[0]);
        lab[n++] = atoi(f[nf - 1]);
    }
    mmdx_csv_close(r);
    double prob[64];
    int have[64] = {0};
    for (size_t i = 0; i < n; i++) {
        char sql[512];
        char *esc = NULL;
        /* IDs are stored verbatim (no pseudonymisation configured) */
        snprintf(sql, sizeof sql, "SELECT probability FROM mmdx.predictions WHERE patient = '%s'", ids[i]);
        esc = mmdx_pgtest_value(dsn, sql);
        if (esc)
            prob[i] = strtod(esc, NULL), have[i] = 1;
        free(esc);
    }
    double pairs = 0, wins = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (have[i] && have[j] && lab[i] == 1 && lab[j] == 0) {
                pairs++;
                wins += prob[i] > prob[j] ? 1 : prob[i] == prob[j] ? 0.5 : 0;
            }
    return wins / pairs;
}

START_TEST(report_of_a_screening_run)
{
    char extra[16384], html[8192], plots[8192];
    snprintf(html, sizeof html, "%s/run.html", tmp);
    snprintf(plots, sizeof plots, "%s/run-plots", tmp);
    long long views = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.view'");
    snprintf(extra, sizeof extra, "--run %.8s --out '%s' --plots '%s' --model '%s' --cohort '%s/cohort.csv' --top 1000 "
             "--bootstrap 200 --json", run_id, html, plots, model, cohort);
    char *cmd = report_cmd(extra), *out = NULL, *err = NULL;
    int rc = run(cmd, &out, &err);
    ck_assert_msg(rc == 0, "report failed (%d): %s\n%s", rc, cmd, err);
    json_object *o = json_tokener_parse(out), *v, *w;
    ck_assert_ptr_nonnull(o);
    /* what the database holds */
    long long stored = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
    long long failed = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.fail'");
    ck_assert_int_gt(failed, 0);
    ck_assert(json_object_object_get_ex(o, "patients", &v));
    ck_assert_int_eq(json_object_get_int64(v), stored);
    ck_assert(json_object_object_get_ex(o, "failures", &v));
    long long sum = 0;
    json_object_object_foreach(v, cause, count) {
        ck_assert_str_eq(cause, "no input for the model's modalities");
        sum += json_object_get_int64(count);
    }
    ck_assert_int_eq(sum, failed);
    ck_assert(json_object_object_get_ex(o, "metrics", &v) && json_object_object_get_ex(v, "overall", &w));
    ck_assert(json_object_object_get_ex(w, "auroc", &v));
    ck_assert_double_eq_tol(json_object_get_double(v), brute_auroc(), 1e-12);
    json_object_put(o);
    /* the review was audited */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.view'"),
                     views + 1);
    /* the page */
    page_has(html, "signature verified");
    page_has(html, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;x");
    char *page = mmdx_test_read_file(html, NULL);
    ck_assert_ptr_nonnull(strstr(page, run_id));
    ck_assert_ptr_null(strstr(page, "src=\"http"));
    char fails[64];
    snprintf(fails, sizeof fails, "<td class=\"n\">%lld</td>", failed);
    ck_assert_ptr_nonnull(strstr(page, fails));
    free(page);
    char png[8192];
    snprintf(png, sizeof png, "%s/roc.png", plots);
    ck_assert_int_eq(access(png, R_OK), 0);
    free(cmd), free(out), free(err);
}
END_TEST

START_TEST(report_without_labels_or_model)
{
    char extra[16384], html[8192];
    snprintf(html, sizeof html, "%s/plain.html", tmp);
    snprintf(extra, sizeof extra, "--run %s --out '%s'", run_id, html);
    char *cmd = report_cmd(extra);
    sh(cmd);
    page_has(html, "No labels");
    page_has(html, "Plugins used by the run");
    free(cmd);
}
END_TEST

/* A command that must fail with `code`, name `needle` on stderr and leave `absent` absent. */
static void refused(const char *extra, int code, const char *needle, const char *absent)
{
    char *cmd = report_cmd(extra), *err = NULL;
    int rc = run(cmd, NULL, &err);
    ck_assert_msg(rc == code, "%s: exit %d, expected %d\n%s", cmd, rc, code, err);
    ck_assert_msg(strstr(err, needle), "%s: stderr lacks \"%s\":\n%s", cmd, needle, err);
    if (absent)
        ck_assert_msg(access(absent, F_OK) != 0, "%s was left behind", absent);
    free(cmd), free(err);
}

START_TEST(report_bad_input)
{
    char extra[16384], html[8192], other[8192], nolabel[8192];
    snprintf(html, sizeof html, "%s/bad.html", tmp);
    snprintf(extra, sizeof extra, "--run 00000000 --out '%s'", html);
    refused(extra, 3, "no stored run starts with \"00000000\"", html);
    snprintf(extra, sizeof extra, "--run NOT-A-RUN --out '%s'", html);
    refused(extra, 3, "run ID", html);
    snprintf(html, sizeof html, "%s/no-such-folder/r.html", tmp);
    snprintf(extra, sizeof extra, "--run %s --out '%s'", run_id, html);
    refused(extra, 1, "no-such-folder", html);
    snprintf(extra, sizeof extra, "--run %s --plots '%s/cohort/cohort.csv'", run_id, tmp);
    refused(extra, 1, "not a folder", NULL);
    refused("--out x.html", 2, "give --run", NULL);
    snprintf(extra, sizeof extra, "--run %s --out x.html --bootstrap 0", run_id);
    refused(extra, 2, "--bootstrap", "x.html");
    /* a model that is not the run's */
    snprintf(other, sizeof other, "%s/other.mmdx", tmp);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' train --cohort '%s/cohort.csv' --config '%s' --modalities records --fusion late "
             "--site-key '%s' --out '%s' --no-progress", mmdx_test_mmdx_bin(), cohort, conf, key, other);
    sh(cmd);
    snprintf(html, sizeof html, "%s/bad.html", tmp);
    snprintf(extra, sizeof extra, "--run %s --out '%s' --model '%s'", run_id, html, other);
    refused(extra, 4, "is not the model of run", html);
    /* a cohort without labels */
    snprintf(nolabel, sizeof nolabel, "%s/nolabel.csv", tmp);
    mmdx_test_write_file(nolabel, "patient_id,record\nSYN000001,records/SYN000001.json\n");
    snprintf(extra, sizeof extra, "--run %s --out '%s' --cohort '%s'", run_id, html, nolabel);
    refused(extra, 3, "no label column", html);
}
END_TEST

START_TEST(evaluate_plots_and_report)
{
    char cmd[16384], html[8192], plots[8192], svg[8192];
    snprintf(html, sizeof html, "%s/eval.html", tmp);
    snprintf(plots, sizeof plots, "%s/eval-plots", tmp);
    snprintf(cmd, sizeof cmd, "'%s' evaluate --model '%s' --cohort '%s/cohort.csv' --config '%s' --site-key '%s' "
             "--plots '%s' --report '%s' --bootstrap 100 --seed 4 --no-progress --keep-going", mmdx_test_mmdx_bin(),
             model, cohort, conf, key, plots, html);
    sh(cmd);
    page_has(html, "B = 100 replicates, seed 4");
    static const char *const names[] = {"roc", "pr", "calibration", "contributions", "risk"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(svg, sizeof svg, "%s/%s.svg", plots, names[i]);
        ck_assert_msg(access(svg, R_OK) == 0, "%s missing", svg);
    }
    /* a --plots folder whose parent is missing: refused, exit 1, no report either */
    snprintf(html, sizeof html, "%s/eval2.html", tmp);
    snprintf(cmd, sizeof cmd, "'%s' evaluate --model '%s' --cohort '%s/cohort.csv' --config '%s' --site-key '%s' "
             "--plots '%s/a/b' --report '%s' --no-progress --keep-going", mmdx_test_mmdx_bin(), model, cohort, conf,
             key, tmp, html);
    char *err = NULL;
    int rc = run(cmd, NULL, &err);
    ck_assert_msg(rc == 1 && strstr(err, "cannot create the folder"), "exit %d: %s", rc, err);
    ck_assert_int_ne(access(html, F_OK), 0);
    free(err);
}
END_TEST

int main(void)
{
    mmdx_pgtest_state_dir();
    Suite *s = suite_create("views_cli");
    TCase *tc = tcase_create("views_cli");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, report_of_a_screening_run);
    tcase_add_test(tc, report_without_labels_or_model);
    tcase_add_test(tc, report_bad_input);
    tcase_add_test(tc, evaluate_plots_and_report);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
