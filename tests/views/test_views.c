/* SPDX-License-Identifier: Apache-2.0 */
/*
 * views/: the charts' content read back from the SVG (the ROC drawn is the
 * ROC of the predictions, checked against a brute-force threshold sweep),
 * the PNG decoded, the bootstrap's reproducibility, and the HTML report
 * validated with tidy, self-contained and escaping hostile strings.
 */
#include <cairo.h>
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "evaluation.h"
#include "html.h"
#include "report_html.h"
#include "rng.h"
#include "testsupport.h"

#define N 300
#define M 2

static double prob[N], contrib[N * M];
static int32_t labels[N];
static uint8_t present[N * M];
static const char *const modalities[M] = {"imaging", "records"};
static mmdx_dataset ds;
static char *tmp;

/* Seeded predictions with ties (rounded to 0.05) and two modality combinations. */
static void setup(void)
{
    tmp = mmdx_test_tmpdir();
    mmdx_rng r;
    mmdx_rng_seed(&r, 7);
    for (size_t i = 0; i < N; i++) {
        labels[i] = mmdx_rng_uniform(&r) < 0.35;
        double z = 1.2 * labels[i] + mmdx_rng_normal(&r);
        prob[i] = round(20.0 / (1 + exp(-(z - 0.6)))) / 20.0;
        present[i * M] = 1;
        present[i * M + 1] = i % 3 != 0;
        contrib[i * M] = 0.8 * z;
        contrib[i * M + 1] = present[i * M + 1] ? 0.2 * z : 0;
    }
    ds = (mmdx_dataset){MMDX_ABI_VERSION, sizeof ds, N, 0, NULL, NULL, M, modalities, NULL, present, labels, NULL};
}

static void teardown(void)
{
    mmdx_plot_release_caches();
    mmdx_test_rmtree(tmp);
    free(tmp);
}

/* The view of the fixture's predictions (B replicates; 0: the default). */
static mmdx_eval_view *new_view(unsigned B)
{
    mmdx_eval_view *v;
    mmdx_view_options o = {B, 3};
    ck_assert_int_eq(mmdx_eval_view_new(&v, &ds, prob, contrib, 0.5, &o), 0);
    return v;
}

static const mmdx_view_chart *chart(const mmdx_eval_view *v, const char *name)
{
    for (size_t i = 0; i < mmdx_eval_view_n_charts(v); i++)
        if (!strcmp(mmdx_eval_view_chart(v, i)->name, name))
            return mmdx_eval_view_chart(v, i);
    ck_abort_msg("no chart %s", name);
    return NULL;
}

/* The vertices of the first curve path (stroke-linejoin:round) in `colour`, in data coordinates. */
static size_t curve_points(const mmdx_plot *p, const char *colour, double *x, double *y, size_t cap)
{
    unsigned char *svg;
    size_t len;
    ck_assert_int_eq(mmdx_plot_render(p, MMDX_PLOT_SVG, &svg, &len), 0);
    char *text = malloc(len + 1);
    memcpy(text, svg, len);
    text[len] = '\0';
    free(svg);
    unsigned v = (unsigned)strtoul(colour + 1, NULL, 16);
    double want[3] = {((v >> 16) & 255) / 2.55, ((v >> 8) & 255) / 2.55, (v & 255) / 2.55};
    double left, top, right, bottom;
    mmdx_plot_panel(p, &left, &top, &right, &bottom);
    size_t n = 0;
    for (char *at = text; (at = strstr(at, "<path ")) != NULL; at++) {
        char *end = strstr(at, "/>"), *st = strstr(at, "stroke:rgb("), *d = strstr(at, " d=\"");
        if (!end || !st || st > end || !d || d > end || !strstr(at, "stroke-linejoin:round"))
            continue;
        if (strstr(at, "stroke-linejoin:round") > end)
            continue;
        double c[3];
        if (sscanf(st, "stroke:rgb(%lf%%,%lf%%,%lf%%)", &c[0], &c[1], &c[2]) != 3 || fabs(c[0] - want[0]) > 0.5 ||
            fabs(c[1] - want[1]) > 0.5 || fabs(c[2] - want[2]) > 0.5)
            continue;
        char *q = d + 4;
        while (*q && *q != '"' && n < cap) {
            char cmd;
            double px, py;
            int used;
            if (sscanf(q, " %c %lf %lf%n", &cmd, &px, &py, &used) != 3)
                break;
            ck_assert(cmd == 'M' || cmd == 'L');
            x[n] = (px - left) / (right - left);
            y[n] = (bottom - py) / (bottom - top);
            n++;
            q += used;
            while (*q == ' ')
                q++;
        }
        break;
    }
    free(text);
    return n;
}

/* The ROC by brute force: for each distinct score t (descending), (FPR, TPR) of "score >= t". */
static size_t brute_roc(double *fx, double *fy)
{
    double t[N];
    size_t k = 0;
    for (size_t i = 0; i < N; i++) {
        size_t j;
        for (j = 0; j < k && t[j] != prob[i]; j++)
            ;
        if (j == k)
            t[k++] = prob[i];
    }
    for (size_t a = 0; a < k; a++) /* descending */
        for (size_t b = a + 1; b < k; b++)
            if (t[b] > t[a]) {
                double s = t[a];
                t[a] = t[b], t[b] = s;
            }
    size_t P = 0;
    for (size_t i = 0; i < N; i++)
        P += (size_t)labels[i];
    fx[0] = fy[0] = 0;
    for (size_t a = 0; a < k; a++) {
        size_t tp = 0, fp = 0;
        for (size_t i = 0; i < N; i++)
            if (prob[i] >= t[a])
                tp += (size_t)labels[i], fp += (size_t)!labels[i];
        fx[a + 1] = (double)fp / (double)(N - P);
        fy[a + 1] = (double)tp / (double)P;
    }
    return k + 1;
}

START_TEST(svg_roc_is_the_predictions_roc)
{
    mmdx_eval_view *v = new_view(200);
    double x[2 * N], y[2 * N], bx[N + 1], by[N + 1];
    size_t n = curve_points(chart(v, "roc")->plot, mmdx_plot_colour(0), x, y, 2 * N);
    size_t nb = brute_roc(bx, by);
    ck_assert_uint_gt(nb, 10);
    /* Every drawn vertex is a ROC point, in order, and every ROC point is drawn: a vertex, or on the
     * straight run between two (cairo drops vertices in the middle of a straight run). */
    size_t j = 0;
    for (size_t i = 0; i < nb; i++) {
        if (j < n && fabs(x[j] - bx[i]) < 1e-3 && fabs(y[j] - by[i]) < 1e-3) {
            j++;
            continue;
        }
        ck_assert_msg(j > 0 && j < n, "ROC point %zu (%.5f, %.5f) is not drawn", i, bx[i], by[i]);
        double cross = (x[j] - x[j - 1]) * (by[i] - y[j - 1]) - (y[j] - y[j - 1]) * (bx[i] - x[j - 1]);
        ck_assert_msg(fabs(cross) < 1e-3 && bx[i] >= x[j - 1] - 1e-9 && bx[i] <= x[j] + 1e-9,
                      "ROC point %zu (%.5f, %.5f) is off the drawn curve", i, bx[i], by[i]);
    }
    ck_assert_msg(j == n, "the drawn curve has %zu vertices that are not ROC points", n - j);
    double auc = 0;
    for (size_t i = 1; i < n; i++)
        auc += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    /* the area under what was drawn is the AUROC the report states */
    const mmdx_report *r = mmdx_eval_view_report(v);
    ck_assert_double_eq_tol(auc, r->groups[0].m.auroc, 1e-3);
    mmdx_eval_view_free(v);
}
END_TEST

START_TEST(svg_pr_steps_are_the_average_precision)
{
    mmdx_eval_view *v = new_view(200);
    double x[4 * N], y[4 * N];
    size_t n = curve_points(chart(v, "pr")->plot, mmdx_plot_colour(0), x, y, 4 * N);
    ck_assert_uint_gt(n, 10);
    /* the step's area, from its horizontal runs, is the AUPRC */
    double area = 0;
    for (size_t i = 1; i < n; i++)
        if (fabs(y[i] - y[i - 1]) < 1e-9)
            area += (x[i] - x[i - 1]) * y[i];
    ck_assert_double_eq_tol(area, mmdx_eval_view_report(v)->groups[0].m.auprc, 2e-3);
    mmdx_eval_view_free(v);
}
END_TEST

START_TEST(png_decodes_with_its_size)
{
    mmdx_eval_view *v = new_view(0);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/plots", tmp);
    ck_assert_int_eq(mmdx_eval_view_write_plots(v, dir), 0);
    static const char *const names[] = {"roc", "pr", "calibration", "calibration-imaging+records",
                                        "calibration-imaging", "contributions", "risk"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s.png", dir, names[i]);
        cairo_surface_t *s = cairo_image_surface_create_from_png(path);
        ck_assert_msg(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "%s: %s", path,
                      cairo_status_to_string(cairo_surface_status(s)));
        ck_assert_int_eq(cairo_image_surface_get_width(s), MMDX_PLOT_WIDTH * MMDX_PLOT_PNG_SCALE);
        ck_assert_int_eq(cairo_image_surface_get_height(s), MMDX_PLOT_HEIGHT * MMDX_PLOT_PNG_SCALE);
        cairo_surface_destroy(s);
        snprintf(path, sizeof path, "%s/%s.svg", dir, names[i]);
        char *svg = mmdx_test_read_file(path, NULL);
        ck_assert_msg(svg && strstr(svg, "<svg") && strstr(svg, "</svg>"), "%s is not an SVG", path);
        free(svg);
    }
    mmdx_eval_view_free(v);
}
END_TEST

START_TEST(plots_folder_refused_clearly)
{
    mmdx_eval_view *v = new_view(0);
    char path[4096];
    snprintf(path, sizeof path, "%s/no/such/parent", tmp);
    ck_assert_int_eq(mmdx_eval_view_write_plots(v, path), MMDX_EIO);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), path));
    snprintf(path, sizeof path, "%s/a-file", tmp);
    mmdx_test_write_file(path, "x");
    ck_assert_int_eq(mmdx_eval_view_write_plots(v, path), MMDX_EIO);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "not a folder"));
    mmdx_eval_view_free(v);
}
END_TEST

START_TEST(bootstrap_is_seeded_and_thread_independent)
{
    mmdx_bootstrap a, b, c;
    omp_set_num_threads(1);
    ck_assert_int_eq(mmdx_bootstrap_run(&a, prob, labels, N, 300, 11), 0);
    omp_set_num_threads(2);
    ck_assert_int_eq(mmdx_bootstrap_run(&b, prob, labels, N, 300, 11), 0);
    ck_assert_int_eq(mmdx_bootstrap_run(&c, prob, labels, N, 300, 12), 0);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert(a.auroc_lo != c.auroc_lo || a.auroc_hi != c.auroc_hi);
    double auroc, auprc;
    ck_assert_int_eq(mmdx_metrics_areas(&auroc, &auprc, prob, labels, N), 0);
    ck_assert(a.auroc_lo < auroc && auroc < a.auroc_hi);
    ck_assert(a.auprc_lo < auprc && auprc < a.auprc_hi);
    ck_assert_uint_eq(a.used_roc, 300);
    for (size_t j = 0; j < MMDX_BOOTSTRAP_GRID; j++)
        ck_assert(a.roc_lo[j] <= a.roc_hi[j]);
}
END_TEST

START_TEST(html_escapes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/esc.txt", tmp);
    FILE *f = fopen(path, "w");
    mmdx_html_text(f, "<script>alert('x')</script> & \"q\"");
    fclose(f);
    char *t = mmdx_test_read_file(path, NULL);
    ck_assert_str_eq(t, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    free(t);
}
END_TEST

static const char *const hostile = "<script>alert(1)</script>\"'&";

/* Write the report with hostile strings everywhere data reaches it. */
static char *hostile_report(const char *name)
{
    mmdx_eval_view *v = new_view(0);
    mmdx_html_failure fails[] = {{hostile, 2}};
    mmdx_html_patient pts[] = {{hostile, 0.9, 1, 1, hostile, hostile}};
    mmdx_html_report r = {0};
    r.title = hostile;
    r.generator = "mmdx test";
    r.model_sha256 = hostile;
    r.plugins_json = "[{\"name\": \"<script>x</script>\", \"version\": \"<b>\", \"sha256\": null}]";
    r.threshold = 0.5;
    r.run_id = hostile, r.host = hostile, r.db_role = hostile, r.cohort = hostile;
    r.failures = fails, r.n_failures = 1, r.patients = pts, r.n_patients = 1, r.n_listed_total = N;
    r.view = v;
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/%s", tmp, name);
    ck_assert_int_eq(mmdx_html_report_write(path, &r), 0);
    mmdx_eval_view_free(v);
    return path;
}

static void check_page(const char *path)
{
    char *html = mmdx_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(html);
    ck_assert_msg(!strstr(html, "<script") && !strstr(html, "<b>"), "%s: markup from data was not escaped", path);
    ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;"));
    /* self-contained: nothing to fetch */
    static const char *const fetches[] = {"src=\"http", "href=", "<link", "url(", "@import", "<iframe"};
    for (size_t i = 0; i < sizeof fetches / sizeof *fetches; i++)
        ck_assert_msg(!strstr(html, fetches[i]), "%s: contains %s", path, fetches[i]);
    free(html);
    char cmd[8192], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "tidy -errors -q '%s'", path);
    int rc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(rc == 0, "tidy found errors in %s (%d):\n%s%s", path, rc, out ? out : "", err ? err : "");
    free(out), free(err);
}

START_TEST(report_is_valid_self_contained_and_escaped)
{
    char *path = hostile_report("report.html");
    check_page(path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_gt(st.st_size, 10000);
    free(path);
}
END_TEST

START_TEST(study_page_is_valid_and_escaped)
{
    mmdx_html_modality mods[] = {{hostile, 1, 0.7}, {"records", 0, NAN}};
    mmdx_html_study s = {"mmdx test", hostile, hostile, hostile, 0.73, 0.5, 1, hostile, hostile, hostile, hostile,
                         1, hostile, 42, hostile, mods, 2, hostile};
    char path[4096];
    snprintf(path, sizeof path, "%s/study.html", tmp);
    FILE *f = fopen(path, "w");
    ck_assert_int_eq(mmdx_html_study_print(f, &s), 0);
    fclose(f);
    check_page(path);
    char *html = mmdx_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(strstr(html, "73.0%"));
    free(html);
}
END_TEST

START_TEST(report_write_failure_leaves_nothing)
{
    mmdx_eval_view *v = new_view(0);
    mmdx_html_report r = {0};
    r.title = "t", r.generator = "g", r.view = v;
    char path[4096];
    snprintf(path, sizeof path, "%s/missing-folder/report.html", tmp);
    ck_assert_int_eq(mmdx_html_report_write(path, &r), MMDX_EIO);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "missing-folder"));
    ck_assert_int_ne(access(path, F_OK), 0);
    mmdx_eval_view_free(v);
}
END_TEST

START_TEST(bad_input_named)
{
    mmdx_eval_view *v;
    double bad[N];
    memcpy(bad, prob, sizeof bad);
    bad[5] = 1.5;
    ck_assert_int_eq(mmdx_eval_view_new(&v, &ds, bad, contrib, 0.5, NULL), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "patient 6"));
    mmdx_plot *p;
    ck_assert_int_eq(mmdx_plot_new(&p, "t", "x", "y", 0, 0, 0, 1), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_plot_new(&p, "t", "x", "y", 0, 1, 0, 1), 0);
    double x[2] = {0, NAN}, y[2] = {0, 1};
    ck_assert_int_eq(mmdx_plot_line(p, "l", x, y, 2, MMDX_PLOT_LINEAR), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "x[1]"));
    mmdx_plot_free(p);
}
END_TEST

START_TEST(unlabelled_has_distribution_charts_only)
{
    mmdx_dataset d = ds;
    d.labels = NULL;
    mmdx_eval_view *v;
    ck_assert_int_eq(mmdx_eval_view_new(&v, &d, prob, contrib, 0.5, NULL), 0);
    ck_assert_ptr_null(mmdx_eval_view_report(v));
    ck_assert_uint_eq(mmdx_eval_view_n_charts(v), 2);
    ck_assert_str_eq(mmdx_eval_view_chart(v, 0)->name, "contributions");
    ck_assert_str_eq(mmdx_eval_view_chart(v, 1)->name, "risk");
    mmdx_eval_view_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("views");
    TCase *tc = tcase_create("views");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, svg_roc_is_the_predictions_roc);
    tcase_add_test(tc, svg_pr_steps_are_the_average_precision);
    tcase_add_test(tc, png_decodes_with_its_size);
    tcase_add_test(tc, plots_folder_refused_clearly);
    tcase_add_test(tc, bootstrap_is_seeded_and_thread_independent);
    tcase_add_test(tc, html_escapes);
    tcase_add_test(tc, report_is_valid_self_contained_and_escaped);
    tcase_add_test(tc, study_page_is_valid_and_escaped);
    tcase_add_test(tc, report_write_failure_leaves_nothing);
    tcase_add_test(tc, bad_input_named);
    tcase_add_test(tc, unlabelled_has_distribution_charts_only);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
