/*
 * tests/fusion/test_fusion.c — unit tests of the fusion module: folds,
 * metrics, logistic regression (and its equality with scikit-learn on WDBC),
 * the MLP's reproducibility, the plugins' save/load, dataset checks and the
 * model file's integrity and signature.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "feature_table.h"
#include "folds.h"
#include "fusion_plugins.h"
#include "logreg.h"
#include "metrics.h"
#include "mlp.h"
#include "model_file.h"
#include "rng.h"
#include "testsupport.h"

/* ---- a small synthetic problem ------------------------------------------ */

typedef struct synth {
    size_t n, p;
    double *x;
    int32_t *y;
} synth;

static synth make_synth(size_t n, size_t p, uint64_t seed)
{
    synth s = {n, p, malloc(n * p * sizeof(double)), malloc(n * sizeof(int32_t))};
    mmdx_rng r;
    mmdx_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        double z = 0;
        for (size_t j = 0; j < p; j++) {
            double v = mmdx_rng_normal(&r);
            s.x[i * p + j] = v;
            z += (j % 3 == 0 ? 0.8 : -0.3) * v;
        }
        s.y[i] = mmdx_rng_uniform(&r) < mmdx_sigmoid(z + 0.3);
    }
    return s;
}

static void free_synth(synth *s)
{
    free(s->x);
    free(s->y);
}

/* A dataset view with one modality over a synth problem. */
typedef struct view {
    mmdx_dataset d;
    uint32_t *fm;
    uint8_t *present;
    const char *mods[1];
} view;

static view make_view(const synth *s)
{
    view v;
    memset(&v, 0, sizeof v);
    v.fm = calloc(s->p, sizeof *v.fm);
    v.present = malloc(s->n);
    memset(v.present, 1, s->n);
    v.mods[0] = "records";
    v.d.abi_version = MMDX_ABI_VERSION;
    v.d.struct_size = sizeof v.d;
    v.d.n_samples = s->n;
    v.d.n_features = s->p;
    v.d.feature_modality = v.fm;
    v.d.n_modalities = 1;
    v.d.modalities = v.mods;
    v.d.x = s->x;
    v.d.present = v.present;
    v.d.labels = s->y;
    return v;
}

static void free_view(view *v)
{
    free(v->fm);
    free(v->present);
}

static mmdx_fusion_params params_with(const char *classifier, uint64_t seed, mmdx_plugin_config *pc,
                                      mmdx_config_entry *entries, size_t n_entries, int threads)
{
    memset(pc, 0, sizeof *pc);
    pc->abi_version = MMDX_ABI_VERSION;
    pc->struct_size = sizeof *pc;
    pc->section = "early";
    pc->n_entries = n_entries;
    pc->entries = entries;
    pc->n_threads = threads;
    mmdx_fusion_params p = {MMDX_ABI_VERSION, sizeof p, classifier, seed, pc, threads, 0};
    return p;
}

/* ---- folds ----------------------------------------------------------------- */

START_TEST(folds_are_stratified_and_seeded)
{
    synth s = make_synth(203, 2, 5);
    uint32_t *a = malloc(s.n * sizeof *a), *b = malloc(s.n * sizeof *b);
    mmdx_error err = {0};
    ck_assert_int_eq(mmdx_folds_stratified(a, s.y, s.n, 5, 42, &err), 0);
    ck_assert_int_eq(mmdx_folds_stratified(b, s.y, s.n, 5, 42, &err), 0);
    ck_assert_mem_eq(a, b, s.n * sizeof *a);
    size_t pos[5] = {0}, all[5] = {0}, total_pos = 0;
    for (size_t i = 0; i < s.n; i++) {
        ck_assert_uint_lt(a[i], 5);
        all[a[i]]++;
        pos[a[i]] += (size_t)s.y[i];
        total_pos += (size_t)s.y[i];
    }
    for (int f = 0; f < 5; f++) {
        ck_assert(all[f] == s.n / 5 || all[f] == s.n / 5 + 1);
        ck_assert(pos[f] == total_pos / 5 || pos[f] == total_pos / 5 + 1);
    }
    ck_assert_int_eq(mmdx_folds_stratified(b, s.y, s.n, 5, 43, &err), 0);
    ck_assert(memcmp(a, b, s.n * sizeof *a) != 0);
    int32_t few[4] = {0, 0, 0, 1};
    ck_assert_int_eq(mmdx_folds_stratified(b, few, 4, 2, 1, &err), MMDX_EINVAL);
    free(a), free(b);
    free_synth(&s);
}
END_TEST

/* ---- metrics --------------------------------------------------------------- */

START_TEST(metrics_match_known_values)
{
    /* scikit-learn documentation examples: roc_auc_score 0.75, average_precision 0.8333... */
    double p[4] = {0.1, 0.4, 0.35, 0.8};
    int32_t y[4] = {0, 0, 1, 1};
    mmdx_metrics m;
    ck_assert_int_eq(mmdx_metrics_compute(&m, p, y, 4, 0.5), 0);
    ck_assert_double_eq_tol(m.auroc, 0.75, 1e-15);
    ck_assert_double_eq_tol(m.auprc, 0.8333333333333333, 1e-15);
    ck_assert_double_eq_tol(m.brier, (0.01 + 0.16 + 0.4225 + 0.04) / 4, 1e-15);
    ck_assert_uint_eq(m.tp, 1);
    ck_assert_uint_eq(m.fn, 1);
    ck_assert_uint_eq(m.tn, 2);
    ck_assert_uint_eq(m.fp, 0);
    /* ties count one half */
    double t[4] = {0.5, 0.5, 0.5, 0.9};
    int32_t ty[4] = {0, 1, 0, 1};
    ck_assert_int_eq(mmdx_metrics_compute(&m, t, ty, 4, 0.5), 0);
    ck_assert_double_eq_tol(m.auroc, (1.0 + 1.0 + 0.5 + 0.5) / 4.0, 1e-15);
    /* one class: AUROC undefined */
    int32_t ones[4] = {1, 1, 1, 1};
    ck_assert_int_eq(mmdx_metrics_compute(&m, p, ones, 4, 0.5), 0);
    ck_assert(isnan(m.auroc));
    ck_assert(isnan(m.cal_slope));
}
END_TEST

START_TEST(calibration_slope_and_intercept)
{
    /* outcomes drawn from sigmoid(z): predictions sigmoid(2z) are over-confident (slope 1/2),
     * predictions sigmoid(z + 1) are shifted (intercept -1, slope 1) */
    size_t n = 200000;
    mmdx_rng r;
    mmdx_rng_seed(&r, 9);
    double *p2 = malloc(n * sizeof *p2), *p3 = malloc(n * sizeof *p3);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        double z = 1.5 * mmdx_rng_normal(&r);
        y[i] = mmdx_rng_uniform(&r) < mmdx_sigmoid(z);
        p2[i] = mmdx_sigmoid(2 * z);
        p3[i] = mmdx_sigmoid(z + 1);
    }
    mmdx_metrics m;
    ck_assert_int_eq(mmdx_metrics_compute(&m, p2, y, n, 0.5), 0);
    ck_assert_double_eq_tol(m.cal_slope, 0.5, 0.02);
    ck_assert_int_eq(mmdx_metrics_compute(&m, p3, y, n, 0.5), 0);
    ck_assert_double_eq_tol(m.cal_slope, 1.0, 0.03);
    ck_assert_double_eq_tol(m.cal_intercept, -1.0, 0.03);
    free(p2), free(p3), free(y);
}
END_TEST

/* ---- logistic regression ----------------------------------------------------- */

START_TEST(newton_and_lbfgs_reach_the_same_optimum)
{
    synth s = make_synth(3000, 12, 1);
    double cn[12], cl[12], bn, bl;
    mmdx_logreg_options o;
    mmdx_logreg_options_init(&o);
    o.C = 0.5;
    o.tol = 1e-10;
    mmdx_logreg_info info;
    mmdx_error err = {0};
    o.solver = MMDX_LOGREG_NEWTON;
    ck_assert_int_eq(mmdx_logreg_fit(cn, &bn, s.x, s.n, s.p, s.y, NULL, &o, &info, &err), 0);
    ck_assert(info.grad_max < 1e-12);
    o.solver = MMDX_LOGREG_LBFGS;
    o.n_threads = 2;
    ck_assert_int_eq(mmdx_logreg_fit(cl, &bl, s.x, s.n, s.p, s.y, NULL, &o, &info, &err), 0);
    ck_assert(info.converged);
    for (int j = 0; j < 12; j++)
        ck_assert_double_eq_tol(cn[j], cl[j], 1e-7);
    ck_assert_double_eq_tol(bn, bl, 1e-7);
    /* the signal's signs are recovered */
    ck_assert(cn[0] > 0.3 && cn[1] < -0.1);
    free_synth(&s);
}
END_TEST

/* The L-BFGS passes through CBLAS dgemv and through the fused loop reach the
 * same optimum; a BLAS fit repeats bit for bit for a given thread count. */
START_TEST(logreg_blas_and_loops_agree)
{
    synth s = make_synth(3000, 12, 1); /* several 128-row blocks per thread, a partial last one */
    double cb[12], cl[12], cr[12], bb, bl, br;
    mmdx_logreg_options o;
    mmdx_logreg_options_init(&o);
    o.C = 0.5;
    o.solver = MMDX_LOGREG_LBFGS;
    o.tol = 1e-10;
    mmdx_logreg_info info;
    mmdx_error err = {0};
    for (int threads = 1; threads <= 2; threads++) {
        o.n_threads = threads;
        o.use_blas = 0;
        ck_assert_int_eq(mmdx_logreg_fit(cl, &bl, s.x, s.n, s.p, s.y, NULL, &o, &info, &err), 0);
        ck_assert_msg(info.converged, "loops: %d iterations, max |gradient| %g", info.iterations, info.grad_max);
        o.use_blas = 1;
        ck_assert_int_eq(mmdx_logreg_fit(cb, &bb, s.x, s.n, s.p, s.y, NULL, &o, &info, &err), 0);
        ck_assert_msg(info.converged, "BLAS: %d iterations, max |gradient| %g", info.iterations, info.grad_max);
        for (int j = 0; j < 12; j++)
            ck_assert_double_eq_tol(cb[j], cl[j], 1e-7);
        ck_assert_double_eq_tol(bb, bl, 1e-7);
        ck_assert_int_eq(mmdx_logreg_fit(cr, &br, s.x, s.n, s.p, s.y, NULL, &o, &info, &err), 0);
        ck_assert_mem_eq(cr, cb, sizeof cb);
        ck_assert(br == bb);
    }
    free_synth(&s);
}
END_TEST

START_TEST(logreg_refuses_a_single_class)
{
    double x[4] = {1, 2, 3, 4}, c, b;
    int32_t y[4] = {1, 1, 1, 1};
    mmdx_logreg_options o;
    mmdx_logreg_options_init(&o);
    mmdx_error err = {0};
    ck_assert_int_eq(mmdx_logreg_fit(&c, &b, x, 4, 1, y, NULL, &o, NULL, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "single class"));
}
END_TEST

/* Coefficients equal scikit-learn's LogisticRegression on the same standardised WDBC data. */
START_TEST(logreg_equals_scikit_learn_on_wdbc)
{
    const char *data = mmdx_test_data_or_skip();
    (void)data;
    char *wdbc = mmdx_test_data_path("tabular/sklearn_breast_cancer_wdbc.csv");
    char *tmp = mmdx_test_tmpdir(), table[4096], cmd[16384], *out = NULL, *errs = NULL;
    snprintf(table, sizeof table, "%s/wdbc.csv", tmp);
    const char *py = "/usr/bin/python3";
    snprintf(cmd, sizeof cmd, "%s -c 'import sklearn' 2>/dev/null", py);
    if (mmdx_test_run(cmd, NULL, NULL) != 0) {
        if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
            ck_abort_msg("scikit-learn (python3-sklearn) is required under CI");
        fprintf(stderr, "skipping: /usr/bin/python3 with scikit-learn not available\n");
        exit(MMDX_TEST_SKIP);
    }
    snprintf(cmd, sizeof cmd, "%s %s/tests/fusion/sklearn_reference.py table '%s' '%s'", py,
             mmdx_test_source_dir(), wdbc, table);
    ck_assert_int_eq(mmdx_test_run(cmd, NULL, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s %s/tests/fusion/sklearn_reference.py coef '%s'", py, mmdx_test_source_dir(),
             table);
    ck_assert_msg(mmdx_test_run(cmd, &out, &errs) == 0, "reference failed: %s", errs);

    mmdx_feature_table *t = NULL;
    ck_assert_int_eq(mmdx_feature_table_read(&t, table), 0);
    ck_assert_uint_eq(t->n_rows, 569);
    ck_assert_uint_eq(t->n_features, 30);
    mmdx_dataset d = {MMDX_ABI_VERSION, sizeof d, t->n_rows, t->n_features,
                      (const char *const *)t->feature_names, t->feature_modality, t->n_modalities,
                      (const char *const *)t->modalities, t->x, t->present, t->labels, NULL};
    int cases = 0;
    char *line = out, *save = NULL;
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char c_text[32], cw[32];
        int off;
        ck_assert_int_eq(sscanf(line, "%31s %31s%n", c_text, cw, &off), 2);
        double ref[31];
        char *p = line + off;
        for (int j = 0; j < 31; j++)
            ref[j] = strtod(p, &p);
        /* tol = 1e-10: both solvers reach the optimum scikit-learn's newton-cholesky finds;
         * the default tol = 1e-6: Newton still does, L-BFGS stops short by the figures
         * docs/fusion.md states (6.6e-6 at C = 0.1, 1.4e-4 at C = 1, 2.2e-4 balanced, 1.1e-3 at C = 10) */
        for (int k = 0; k < 4; k++) {
            int solver = k & 1, tight = k < 2;
            mmdx_config_entry e[4] = {{"C", c_text, "test", 1, 0},
                                      {"class_weight", cw, "test", 2, 0},
                                      {"solver", solver ? "lbfgs" : "newton", "test", 3, 0},
                                      {"tol", tight ? "1e-10" : "1e-6", "test", 4, 0}};
            mmdx_plugin_config pc;
            mmdx_fusion_params prm = params_with("logreg", 1, &pc, e, 4, 2);
            void *model = NULL;
            mmdx_error err = {0};
            ck_assert_msg(mmdx_fusion_early_vtable.fit(&model, &prm, &d, &err) == 0, "%s", err.message);
            size_t nc;
            double b;
            const double *coef = mmdx_fusion_early_coef(model, &nc, &b);
            ck_assert_uint_eq(nc, 30);
            double worst = fabs(b - ref[0]);
            for (int j = 0; j < 30; j++)
                worst = fmax(worst, fabs(coef[j] - ref[j + 1]));
            double bound = (tight || !solver) ? 1e-6 : 1.5e-3;
            fprintf(stderr, "C=%s class_weight=%s %s tol=%s: max |mmdx - sklearn| = %.3g\n", c_text, cw,
                    solver ? "lbfgs" : "newton", tight ? "1e-10" : "1e-6", worst);
            ck_assert_msg(worst <= bound, "C=%s class_weight=%s solver %s tol %s: max |mmdx - sklearn| = %g",
                          c_text, cw, solver ? "lbfgs" : "newton", tight ? "1e-10" : "1e-6", worst);
            mmdx_fusion_early_vtable.free_model(model);
        }
        cases++;
    }
    ck_assert_int_eq(cases, 4);
    mmdx_feature_table_free(t);
    free(out), free(errs), free(wdbc);
    mmdx_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* ---- MLP ------------------------------------------------------------------------- */

static char *fit_mlp_blob(const synth *s, uint64_t seed, int threads, const char *hidden, size_t *len,
                          double *train_auroc)
{
    view v = make_view(s);
    mmdx_config_entry e[2] = {{"hidden", hidden, "test", 1, 0}, {"max_epochs", "60", "test", 2, 0}};
    mmdx_plugin_config pc;
    mmdx_fusion_params prm = params_with("mlp", seed, &pc, e, 2, threads);
    void *model = NULL, *buf = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_fusion_early_vtable.fit(&model, &prm, &v.d, &err) == 0, "%s", err.message);
    ck_assert_int_eq(mmdx_fusion_early_vtable.save(model, &buf, len, &err), 0);
    double *prob = malloc(s->n * sizeof *prob);
    ck_assert_int_eq(mmdx_fusion_early_vtable.predict(model, &v.d, prob, NULL, &err), 0);
    ck_assert_int_eq(mmdx_auroc(train_auroc, prob, s->y, s->n), 0);
    free(prob);
    char *copy = malloc(*len);
    memcpy(copy, buf, *len);
    mmdx_fusion_early_vtable.free_buffer(buf);
    mmdx_fusion_early_vtable.free_model(model);
    free_view(&v);
    return copy;
}

START_TEST(mlp_is_reproducible_bit_for_bit)
{
    synth s = make_synth(1200, 10, 3);
    size_t la, lb, lc, ld;
    double auc;
    char *a = fit_mlp_blob(&s, 7, 1, "16,8", &la, &auc);
    ck_assert_msg(auc > 0.8, "MLP training AUROC %g", auc);
    char *b = fit_mlp_blob(&s, 7, 1, "16,8", &lb, &auc);
    ck_assert_uint_eq(la, lb);
    ck_assert_mem_eq(a, b, la);
    char *c = fit_mlp_blob(&s, 8, 1, "16,8", &lc, &auc);
    ck_assert(lc != la || memcmp(a, c, la) != 0);
    /* two threads: reproducible for that thread count too */
    char *d1 = fit_mlp_blob(&s, 7, 2, "16", &ld, &auc);
    size_t le;
    char *d2 = fit_mlp_blob(&s, 7, 2, "16", &le, &auc);
    ck_assert_uint_eq(ld, le);
    ck_assert_mem_eq(d1, d2, ld);
    free(a), free(b), free(c), free(d1), free(d2);
    free_synth(&s);
}
END_TEST

/* ---- plugins: save/load, checks ----------------------------------------------------- */

static void roundtrip(const mmdx_fusion_vtable *vt, const char *classifier)
{
    synth s = make_synth(600, 6, 11);
    view v = make_view(&s);
    /* two modalities, the second missing for some patients, some NaN values */
    const char *mods[2] = {"imaging", "records"};
    uint8_t *present = malloc(2 * s.n);
    for (size_t i = 0; i < s.n; i++) {
        present[2 * i] = 1;
        present[2 * i + 1] = i % 3 != 0;
        if (i % 7 == 0)
            s.x[i * s.p + 1] = NAN;
    }
    for (size_t j = 3; j < 6; j++)
        v.fm[j] = 1;
    v.d.n_modalities = 2;
    v.d.modalities = mods;
    v.d.present = present;
    mmdx_config_entry e[1] = {{"max_epochs", "20", "test", 1, 0}};
    mmdx_plugin_config pc;
    mmdx_fusion_params prm = params_with(classifier, 5, &pc, e, 1, 1);
    void *model = NULL, *model2 = NULL, *buf = NULL;
    size_t len;
    mmdx_error err = {0};
    ck_assert_msg(vt->fit(&model, &prm, &v.d, &err) == 0, "%s", err.message);
    ck_assert_int_eq(vt->save(model, &buf, &len, &err), 0);
    ck_assert_msg(vt->load(&model2, buf, len, &err) == 0, "%s", err.message);
    double *p1 = malloc(s.n * sizeof *p1), *p2 = malloc(s.n * sizeof *p2);
    double *c1 = malloc(2 * s.n * sizeof *c1), *c2 = malloc(2 * s.n * sizeof *c2);
    ck_assert_int_eq(vt->predict(model, &v.d, p1, c1, &err), 0);
    ck_assert_int_eq(vt->predict(model2, &v.d, p2, c2, &err), 0);
    ck_assert_mem_eq(p1, p2, s.n * sizeof *p1);
    ck_assert_mem_eq(c1, c2, 2 * s.n * sizeof *c1);
    for (size_t i = 0; i < s.n; i++) {
        ck_assert(p1[i] > 0 && p1[i] < 1);
        if (!present[2 * i + 1])
            ck_assert(c1[2 * i + 1] == 0.0);
    }
    /* truncated and damaged blobs are refused with a message, never crash */
    void *bad = NULL;
    ck_assert_int_eq(vt->load(&bad, buf, len / 2, &err), MMDX_EFORMAT);
    ck_assert_ptr_null(bad);
    char *dam = malloc(len);
    memcpy(dam, buf, len);
    char *num = strstr(dam, "0x");
    ck_assert_ptr_nonnull(num);
    num[0] = 'z';
    ck_assert_int_eq(vt->load(&bad, dam, len, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "line"));
    /* predicting on a different schema is refused */
    v.d.n_features = 5;
    ck_assert_int_eq(vt->predict(model2, &v.d, p2, c2, &err), MMDX_ESCHEMA);
    free(dam), free(p1), free(p2), free(c1), free(c2), free(present);
    vt->free_buffer(buf);
    vt->free_model(model);
    vt->free_model(model2);
    free_view(&v);
    free_synth(&s);
}

START_TEST(early_logreg_roundtrip) { roundtrip(&mmdx_fusion_early_vtable, "logreg"); }
END_TEST
START_TEST(early_mlp_roundtrip) { roundtrip(&mmdx_fusion_early_vtable, "mlp"); }
END_TEST
START_TEST(late_logreg_roundtrip) { roundtrip(&mmdx_fusion_late_vtable, "logreg"); }
END_TEST

START_TEST(fit_refuses_bad_data)
{
    synth s = make_synth(100, 3, 2);
    view v = make_view(&s);
    mmdx_plugin_config pc;
    mmdx_fusion_params prm = params_with("logreg", 1, &pc, NULL, 0, 1);
    void *model = NULL;
    mmdx_error err = {0};
    s.x[5] = INFINITY;
    ck_assert_int_eq(mmdx_fusion_early_vtable.fit(&model, &prm, &v.d, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "infinite"));
    s.x[5] = 0;
    s.y[3] = 2;
    ck_assert_int_eq(mmdx_fusion_late_vtable.fit(&model, &prm, &v.d, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "not 0 or 1"));
    for (size_t i = 0; i < s.n; i++)
        s.y[i] = 0;
    ck_assert_int_eq(mmdx_fusion_early_vtable.fit(&model, &prm, &v.d, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "both classes"));
    mmdx_config_entry e[1] = {{"C", "-1", "site.conf", 12, 0}};
    prm = params_with("logreg", 1, &pc, e, 1, 1);
    s.y[0] = 1, s.y[1] = 1;
    ck_assert_int_eq(mmdx_fusion_early_vtable.fit(&model, &prm, &v.d, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "site.conf:12"));
    e[0].key = "hiden";
    ck_assert_int_eq(mmdx_fusion_early_vtable.fit(&model, &prm, &v.d, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "unknown key 'hiden'"));
    prm.classifier = "forest";
    e[0].key = "C", e[0].value = "1";
    ck_assert_int_eq(mmdx_fusion_early_vtable.fit(&model, &prm, &v.d, &err), MMDX_EINVAL);
    ck_assert_ptr_null(model);
    free_view(&v);
    free_synth(&s);
}
END_TEST

/* ---- model file ---------------------------------------------------------------------- */

/* memmem() is a GNU extension; the file holds NUL bytes, so strstr() will not do */
static char *find_bytes(char *hay, size_t len, const char *needle, size_t nl)
{
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

static mmdx_model_file *sample_model(void)
{
    mmdx_model_file *m = NULL;
    ck_assert_int_eq(mmdx_model_file_new(&m), 0);
    m->mmdx_version = strdup("0.1.0");
    m->created = strdup("2026-01-01T00:00:00Z");
    m->fusion = strdup("early");
    m->fusion_version = strdup("1.0.0");
    memset(m->fusion_config_sha256, 'a', 64);
    m->classifier = strdup("logreg");
    m->seed = 3;
    m->threshold = 0.25;
    m->from_encoders = 1;
    memset(m->training_sha256, 'b', 64);
    m->n_train = 10;
    m->n_train_pos = 4;
    m->n_encoders = 1;
    m->encoders = calloc(1, sizeof *m->encoders);
    m->encoders[0].name = strdup("records");
    m->encoders[0].version = strdup("2.1.0");
    memset(m->encoders[0].config_sha256, 'c', 64);
    m->n_modalities = 1;
    m->modalities = calloc(1, sizeof(char *));
    m->modalities[0] = strdup("records");
    m->modality_features = calloc(1, sizeof(size_t));
    m->modality_features[0] = 2;
    m->n_features = 2;
    m->feature_names = calloc(2, sizeof(char *));
    m->feature_names[0] = strdup("records.age");
    m->feature_names[1] = strdup("records.hba1c");
    m->blob_len = 25;
    m->blob = malloc(25);
    memcpy(m->blob, "mmdx-early 1\nbinary\0part\n", 25);
    return m;
}

START_TEST(model_file_integrity_and_signature)
{
    char *dir = mmdx_test_tmpdir(), path[4096];
    snprintf(path, sizeof path, "%s/m.mmdx", dir);
    const uint8_t key[] = "0123456789abcdef0123456789abcdef";
    mmdx_model_file *m = sample_model(), *r = NULL;
    ck_assert_int_eq(mmdx_model_file_write(m, path, key, 32), 0);
    ck_assert_int_eq(mmdx_model_file_read(&r, path, key, 32, 1), 0);
    ck_assert(r->is_signed && r->signature_verified);
    ck_assert_str_eq(r->encoders[0].version, "2.1.0");
    ck_assert_str_eq(r->feature_names[1], "records.hba1c");
    ck_assert_uint_eq(r->feature_modality[1], 0);
    ck_assert_double_eq(r->threshold, 0.25);
    ck_assert_uint_eq(r->blob_len, 25);
    ck_assert_mem_eq(r->blob, m->blob, 25);
    mmdx_model_file_free(r);

    size_t len;
    char *data = mmdx_test_read_file(path, &len);
    /* altered: one byte of the header changed */
    char *alt = malloc(len + 1);
    memcpy(alt, data, len + 1);
    char *thr = find_bytes(alt, len, "threshold: 0.25", 15);
    thr[13] = '7';
    ck_assert_int_eq(mmdx_model_file_parse(&r, alt, len, "alt", NULL, 0, 0), MMDX_EINTEGRITY);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "altered"));
    /* altered and re-hashed, but not re-signed: the signature catches it */
    memcpy(alt, data, len);
    thr = find_bytes(alt, len, "threshold: 0.25", 15);
    thr[13] = '7';
    const char *sha = (const char *)find_bytes(alt, len, "\nsha256: ", 9) + 9;
    uint8_t d[MMDX_SHA256_LEN];
    char hex[MMDX_SHA256_HEX_LEN];
    mmdx_sha256(alt, (size_t)(sha - 8 - alt), d);
    mmdx_hex(d, MMDX_SHA256_LEN, hex);
    memcpy((char *)sha, hex, 64);
    ck_assert_int_eq(mmdx_model_file_parse(&r, alt, len, "resigned", NULL, 0, 0), 0);
    mmdx_model_file_free(r);
    ck_assert_int_eq(mmdx_model_file_parse(&r, alt, len, "resigned", key, 32, 0), MMDX_EINTEGRITY);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "signature"));
    /* wrong key */
    ck_assert_int_eq(mmdx_model_file_parse(&r, data, len, "m", (const uint8_t *)"another key of 32 bytes.........", 32, 0),
                     MMDX_EINTEGRITY);
    /* truncated anywhere */
    for (size_t cut = 0; cut < len; cut += len / 37 + 1) {
        ck_assert_int_lt(mmdx_model_file_parse(&r, data, cut, "cut", NULL, 0, 0), 0);
        ck_assert_ptr_null(r);
    }
    /* unsigned model on a host that requires signatures */
    ck_assert_int_eq(mmdx_model_file_write(m, path, NULL, 0), 0);
    ck_assert_int_eq(mmdx_model_file_read(&r, path, key, 32, 1), MMDX_EINTEGRITY);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "unsigned"));
    ck_assert_int_eq(mmdx_model_file_read(&r, path, NULL, 0, 0), 0);
    ck_assert(!r->is_signed);
    mmdx_model_file_free(r);
    free(alt), free(data);
    mmdx_model_file_free(m);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fusion");
    TCase *tc = tcase_create("units");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, folds_are_stratified_and_seeded);
    tcase_add_test(tc, metrics_match_known_values);
    tcase_add_test(tc, calibration_slope_and_intercept);
    tcase_add_test(tc, newton_and_lbfgs_reach_the_same_optimum);
    tcase_add_test(tc, logreg_blas_and_loops_agree);
    tcase_add_test(tc, logreg_refuses_a_single_class);
    tcase_add_test(tc, mlp_is_reproducible_bit_for_bit);
    tcase_add_test(tc, early_logreg_roundtrip);
    tcase_add_test(tc, early_mlp_roundtrip);
    tcase_add_test(tc, late_logreg_roundtrip);
    tcase_add_test(tc, fit_refuses_bad_data);
    tcase_add_test(tc, model_file_integrity_and_signature);
    suite_add_tcase(s, tc);
    TCase *ref = tcase_create("scikit-learn");
    tcase_set_timeout(ref, 300);
    tcase_add_test(ref, logreg_equals_scikit_learn_on_wdbc);
    suite_add_tcase(s, ref);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
