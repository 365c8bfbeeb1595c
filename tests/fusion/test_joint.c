/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Joint fusion (fusion/joint.h): gradients against finite differences on a
 * tiny network, both matrix engines, bit-identical refits and reloads,
 * imputation better than the training mean on modalities correlated by
 * construction, prediction with any subset of modalities, ablation
 * contributions, bad configuration.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_plugins.h"
#include "joint.h"
#include "joint_internal.h"
#include "metrics.h"
#include "rng.h"
#include "testsupport.h"

/* A cohort whose three modalities are noisy linear views of one latent vector. */
typedef struct cohort {
    size_t n, F, M;
    double *x;
    uint8_t *present;
    int32_t *y;
    uint32_t *fmod;
    char **names;
    const char *mods[3];
} cohort;

static const size_t per_mod[3] = {10, 8, 6};

static cohort make_cohort(size_t n, uint64_t seed, double p_absent, double p_nan)
{
    cohort c = {n, 24, 3, NULL, NULL, NULL, NULL, NULL, {"imaging", "genomics", "records"}};
    c.x = malloc(n * c.F * sizeof *c.x);
    c.present = malloc(n * c.M);
    c.y = malloc(n * sizeof *c.y);
    c.fmod = malloc(c.F * sizeof *c.fmod);
    c.names = malloc(c.F * sizeof *c.names);
    mmdx_rng r;
    mmdx_rng_seed(&r, seed);
    double W[24][3];
    for (size_t f = 0, m = 0, k = 0; f < c.F; f++) {
        c.fmod[f] = (uint32_t)m;
        c.names[f] = malloc(32);
        snprintf(c.names[f], 32, "%s.f%zu", c.mods[m], k);
        for (int l = 0; l < 3; l++)
            W[f][l] = mmdx_rng_normal(&r);
        if (++k == per_mod[m]) {
            k = 0;
            m++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        double u[3] = {mmdx_rng_normal(&r), mmdx_rng_normal(&r), mmdx_rng_normal(&r)};
        double lg = 1.5 * u[0] - 1.0 * u[1] + 0.5 * u[2];
        c.y[i] = mmdx_rng_uniform(&r) < 1.0 / (1.0 + exp(-lg));
        size_t kept = 0;
        for (size_t m = 0; m < 3; m++) {
            c.present[i * 3 + m] = mmdx_rng_uniform(&r) >= p_absent;
            kept += c.present[i * 3 + m];
        }
        if (!kept)
            c.present[i * 3] = 1;
        for (size_t f = 0; f < c.F; f++) {
            double v = 10.0 * (double)f + (2.0 + (double)(f % 3)) *
                                              (W[f][0] * u[0] + W[f][1] * u[1] + W[f][2] * u[2] +
                                               0.3 * mmdx_rng_normal(&r));
            c.x[i * c.F + f] = c.present[i * 3 + c.fmod[f]] && mmdx_rng_uniform(&r) >= p_nan ? v : NAN;
        }
    }
    return c;
}

static void cohort_free(cohort *c)
{
    for (size_t f = 0; f < c->F; f++)
        free(c->names[f]);
    free(c->names), free(c->x), free(c->present), free(c->y), free(c->fmod);
}

static mmdx_dataset view(const cohort *c, size_t first, size_t n)
{
    mmdx_dataset d = {MMDX_ABI_VERSION, sizeof d, n, c->F, (const char *const *)c->names, c->fmod, c->M,
                      c->mods, c->x + first * c->F, c->present + first * c->M, c->y + first, NULL};
    return d;
}

static mmdx_joint_options tiny_options(void)
{
    mmdx_joint_options o;
    mmdx_joint_options_init(&o);
    o.token_dim = 4;
    o.heads = 2;
    o.encoder_hidden = 3;
    o.decoder_hidden = 3;
    o.w_contrastive = 0.5;
    o.alpha = 1e-2;
    o.max_epochs = 1;
    o.batch_size = 8;
    o.validation_fraction = 0.25;
    o.engine = MMDX_DENSE_LOOPS;
    o.seed = 5;
    return o;
}

/* the default temperature and the smallest the configuration allows */
static const double temperatures[2] = {0.1, 0.004};

START_TEST(gradient_matches_finite_differences)
{
    cohort c = make_cohort(16, 3, 0.25, 0.1);
    mmdx_dataset d = view(&c, 0, c.n);
    mmdx_joint_options o = tiny_options();
    o.temperature = temperatures[_i];
    mmdx_joint *j = NULL;
    mmdx_joint_info info;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_joint_fit(&j, &d, &o, &info, &err) == 0, "%s", err.message);
    size_t P = mmdx_joint_n_params(j);
    double *th = mmdx_joint_params(j);
    mmdx_rng r;
    mmdx_rng_seed(&r, 77);
    for (size_t k = 0; k < P; k++) /* a generic point, away from the initialisation's symmetries */
        th[k] = 0.8 * (2.0 * mmdx_rng_uniform(&r) - 1.0);
    size_t rows[16];
    uint8_t vis[16 * 3];
    for (size_t i = 0; i < 16; i++) {
        rows[i] = i;
        for (size_t m = 0; m < 3; m++) /* hide one present modality in every third row */
            vis[i * 3 + m] = c.present[i * 3 + m] && !(i % 3 == 0 && m == i % 2);
    }
    double *g = malloc(P * sizeof *g), *g_blas = malloc(P * sizeof *g_blas);
    double f0 = mmdx_joint_objective(j, &d, rows, 16, vis, g, &err);
    ck_assert(isfinite(f0));
    double worst = 0;
    size_t worst_k = 0;
    for (size_t k = 0; k < P; k++) {
        /* five-point central difference: error O(h^4), so that the sharp small-tau objective is resolved */
        double keep = th[k], h = 1e-4, f[4];
        const double at[4] = {2, 1, -1, -2};
        for (int q = 0; q < 4; q++) {
            th[k] = keep + at[q] * h;
            f[q] = mmdx_joint_objective(j, &d, rows, 16, vis, NULL, &err);
        }
        th[k] = keep;
        double num = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
        double e = fabs(num - g[k]) / fmax(1e-4, fabs(num) + fabs(g[k]));
        if (e > worst) {
            worst = e;
            worst_k = k;
        }
    }
    ck_assert_msg(worst < 1e-5, "parameter %zu of %zu: relative gradient error %g", worst_k, P, worst);
    if (mmdx_dense_have_blas()) { /* the CBLAS engine computes the same gradient */
        mmdx_joint_options ob = o;
        ob.engine = MMDX_DENSE_BLAS;
        mmdx_joint *jb = NULL;
        ck_assert_int_eq(mmdx_joint_fit(&jb, &d, &ob, &info, &err), 0);
        memcpy(mmdx_joint_params(jb), th, P * sizeof *th);
        double fb = mmdx_joint_objective(jb, &d, rows, 16, vis, g_blas, &err);
        ck_assert_msg(fabs(fb - f0) <= 1e-12 * fabs(f0), "objective %.17g (BLAS) vs %.17g", fb, f0);
        for (size_t k = 0; k < P; k++)
            ck_assert_msg(fabs(g_blas[k] - g[k]) <= 1e-10 * fmax(1.0, fabs(g[k])), "gradient %zu", k);
        mmdx_joint_free(jb);
    }
    free(g), free(g_blas);
    mmdx_joint_free(j);
    cohort_free(&c);
}
END_TEST

static mmdx_fusion_params params(mmdx_plugin_config *pc, const mmdx_config_entry *e, size_t n, int threads,
                                 uint64_t seed)
{
    memset(pc, 0, sizeof *pc);
    pc->abi_version = MMDX_ABI_VERSION;
    pc->struct_size = sizeof *pc;
    pc->section = "joint";
    pc->n_entries = n;
    pc->entries = e;
    pc->n_threads = threads;
    mmdx_fusion_params p = {MMDX_ABI_VERSION, sizeof p, NULL, seed, pc, threads, 0};
    return p;
}

/* A model fitted on d with the loop engine, token_dim `dim` and max_epochs `epochs`. */
static void *fit_small(const mmdx_dataset *d, const char *epochs, const char *dim, int threads, uint64_t seed)
{
    mmdx_config_entry e[] = {{"max_epochs", epochs, "t.conf", 1, 0}, {"blas", "no", "t.conf", 2, 0},
                             {"token_dim", dim, "t.conf", 3, 0}};
    mmdx_plugin_config pc;
    mmdx_error err = {0};
    void *m = NULL;
    mmdx_fusion_params p = params(&pc, e, 3, threads, seed);
    ck_assert_msg(mmdx_fusion_joint_vtable.fit(&m, &p, d, &err) == 0, "%s", err.message);
    return m;
}

static char *save(const void *model, size_t *len)
{
    void *buf = NULL;
    mmdx_error err = {0};
    ck_assert_int_eq(mmdx_fusion_joint_vtable.save(model, &buf, len, &err), 0);
    char *copy = malloc(*len + 1); /* NUL-terminated, for strstr */
    memcpy(copy, buf, *len);
    copy[*len] = '\0';
    mmdx_fusion_joint_vtable.free_buffer(buf);
    return copy;
}

/*
 * Models saved before the fused-alignment term had 6 objective weights:
 * they still load (the term's weight 0, as they were trained) and predict as
 * the same parameters do; a list of another length is refused by line.
 */
START_TEST(models_without_the_fused_alignment_weight_load)
{
    cohort c = make_cohort(200, 9, 0.2, 0.05);
    mmdx_dataset d = view(&c, 0, c.n);
    mmdx_error err = {0};
    void *m1 = fit_small(&d, "3", "8", 1, 7), *m2 = NULL, *m3 = NULL;
    size_t len;
    char *b = save(m1, &len);
    /* "objective 7 a b c d e f g\n" -> "objective 6 a b c d e f\n" */
    char *line = strstr(b, "\nobjective 7 ");
    ck_assert_ptr_nonnull(line);
    char *eol = strchr(line + 1, '\n'), *last = eol;
    while (last[-1] != ' ')
        last--;
    size_t old_len = len;
    char *v1 = malloc(len);
    size_t head = (size_t)(line - b) + strlen("\nobjective "), cut = (size_t)(last - 1 - b);
    memcpy(v1, b, head);
    v1[head] = '6';
    memcpy(v1 + head + 1, b + head + 1, cut - head - 1);
    memcpy(v1 + cut, eol, (size_t)(b + old_len - eol));
    size_t v1_len = cut + (size_t)(b + old_len - eol);
    ck_assert_msg(mmdx_fusion_joint_vtable.load(&m2, v1, v1_len, &err) == 0, "%s", err.message);
    double *pa = malloc(c.n * sizeof *pa), *pb = malloc(c.n * sizeof *pb);
    double *ca = malloc(c.n * 3 * sizeof *ca), *cb = malloc(c.n * 3 * sizeof *cb);
    ck_assert_int_eq(mmdx_fusion_joint_vtable.predict(m1, &d, pa, ca, &err), 0);
    ck_assert_int_eq(mmdx_fusion_joint_vtable.predict(m2, &d, pb, cb, &err), 0);
    ck_assert(memcmp(pa, pb, c.n * sizeof *pa) == 0);
    free(ca), free(cb);
    /* saved again, it records the weight it was loaded with: 0 */
    size_t l2;
    char *b2 = save(m2, &l2), *o2 = strstr(b2, "\nobjective 7 ");
    ck_assert_ptr_nonnull(o2);
    char *e2 = strchr(o2 + 1, '\n'), *w2 = e2;
    while (w2[-1] != ' ')
        w2--;
    ck_assert_msg(e2 - w2 == 6 && strncmp(w2, "0x0p+0", 6) == 0, "%.*s", (int)(e2 - w2), w2);
    /* five values: refused, naming the line's key */
    v1[head] = '5';
    ck_assert_int_ne(mmdx_fusion_joint_vtable.load(&m3, v1, v1_len, &err), 0);
    ck_assert_msg(strstr(err.message, "objective") != NULL, "%s", err.message);
    ck_assert_ptr_null(m3);
    mmdx_fusion_joint_vtable.free_model(m1);
    mmdx_fusion_joint_vtable.free_model(m2);
    free(b), free(v1), free(b2), free(pa), free(pb);
    cohort_free(&c);
}
END_TEST

START_TEST(refit_and_reload_are_bit_identical)
{
    cohort c = make_cohort(300, 9, 0.2, 0.05);
    mmdx_dataset d = view(&c, 0, c.n);
    mmdx_error err = {0};
    void *m1 = fit_small(&d, "15", "16", 1, 42), *m3 = NULL;
    void *m2 = fit_small(&d, "15", "16", 2, 42); /* another thread count: the same model */
    size_t l1, l2, l3;
    char *b1 = save(m1, &l1), *b2 = save(m2, &l2);
    ck_assert_uint_eq(l1, l2);
    ck_assert_msg(memcmp(b1, b2, l1) == 0, "a second fit with the same seed differs");
    ck_assert_int_eq(mmdx_fusion_joint_vtable.load(&m3, b1, l1, &err), 0);
    char *b3 = save(m3, &l3);
    ck_assert_uint_eq(l1, l3);
    ck_assert(memcmp(b1, b3, l1) == 0);
    /* the reloaded model predicts, embeds and imputes bit for bit as the fitted one */
    size_t n = c.n, D = 16;
    double *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
    double *ca = malloc(n * 3 * sizeof *ca), *cb = malloc(n * 3 * sizeof *cb);
    double *ea = malloc(n * D * sizeof *ea), *eb = malloc(n * D * sizeof *eb);
    double *ta = malloc(n * 3 * D * sizeof *ta), *tb = malloc(n * 3 * D * sizeof *tb);
    double *xa = malloc(n * c.F * sizeof *xa), *xb = malloc(n * c.F * sizeof *xb);
    const mmdx_fusion_vtable *v = &mmdx_fusion_joint_vtable;
    ck_assert_int_eq(v->predict(m1, &d, pa, ca, &err), 0);
    ck_assert_int_eq(v->predict(m3, &d, pb, cb, &err), 0);
    ck_assert_int_eq(v->embed(m1, &d, ea, ta, &err), 0);
    ck_assert_int_eq(v->embed(m3, &d, eb, tb, &err), 0);
    ck_assert_int_eq(v->impute(m1, &d, xa, &err), 0);
    ck_assert_int_eq(v->impute(m3, &d, xb, &err), 0);
    ck_assert(memcmp(pa, pb, n * sizeof *pa) == 0);
    ck_assert(memcmp(ca, cb, n * 3 * sizeof *ca) == 0);
    ck_assert(memcmp(ea, eb, n * D * sizeof *ea) == 0);
    ck_assert(memcmp(ta, tb, n * 3 * D * sizeof *ta) == 0); /* NaN payloads equal too */
    ck_assert(memcmp(xa, xb, n * c.F * sizeof *xa) == 0);
    uint32_t dim = 0;
    ck_assert_int_eq(v->embed_dim(m3, &dim, &err), 0);
    ck_assert_uint_eq(dim, 16);
    for (size_t i = 0; i < n; i++) {
        ck_assert(pa[i] > 0 && pa[i] < 1);
        for (size_t m = 0; m < 3; m++) {
            if (!c.present[i * 3 + m]) {
                ck_assert(ca[i * 3 + m] == 0.0); /* an absent modality contributes nothing */
                ck_assert(isnan(ta[(i * 3 + m) * D]));
            }
        }
        for (size_t f = 0; f < c.F; f++) /* present features are copied, absent ones filled */
            if (c.present[i * 3 + c.fmod[f]])
                ck_assert(memcmp(&xa[i * c.F + f], &c.x[i * c.F + f], sizeof(double)) == 0);
            else
                ck_assert(isfinite(xa[i * c.F + f]));
    }
    /* an ablation contribution is the log-odds change when the modality is removed */
    size_t i0 = 0;
    while (!(c.present[i0 * 3] && c.present[i0 * 3 + 1]))
        i0++;
    uint8_t pres[3];
    memcpy(pres, c.present + i0 * 3, 3);
    pres[1] = 0;
    mmdx_dataset one = view(&c, i0, 1);
    one.present = pres;
    double p_without, c_without[3];
    ck_assert_int_eq(v->predict(m1, &one, &p_without, c_without, &err), 0);
    double lg = log(pa[i0] / (1 - pa[i0])), lw = log(p_without / (1 - p_without));
    ck_assert_msg(fabs(ca[i0 * 3 + 1] - (lg - lw)) < 1e-9, "contribution %g, ablation %g", ca[i0 * 3 + 1], lg - lw);
    free(pa), free(pb), free(ca), free(cb), free(ea), free(eb), free(ta), free(tb), free(xa), free(xb);
    free(b1), free(b2), free(b3);
    v->free_model(m1), v->free_model(m2), v->free_model(m3);
    cohort_free(&c);
}
END_TEST

START_TEST(imputation_beats_the_training_mean)
{
    /* train on 800, then hide genomics of 400 test patients who have it */
    cohort c = make_cohort(1200, 21, 0.15, 0.0);
    mmdx_dataset tr = view(&c, 0, 800);
    mmdx_config_entry e[] = {{"max_epochs", "30", "t.conf", 1, 0}};
    mmdx_plugin_config pc;
    mmdx_error err = {0};
    void *m = NULL;
    mmdx_fusion_params p = params(&pc, e, 1, 2, 3);
    ck_assert_msg(mmdx_fusion_joint_vtable.fit(&m, &p, &tr, &err) == 0, "%s", err.message);
    size_t n = 400, F = c.F;
    uint8_t *pres = malloc(n * 3);
    memcpy(pres, c.present + 800 * 3, n * 3);
    for (size_t i = 0; i < n; i++)
        pres[i * 3 + 1] = 0;
    mmdx_dataset te = view(&c, 800, n);
    te.present = pres;
    double *xi = malloc(n * F * sizeof *xi);
    ck_assert_int_eq(mmdx_fusion_joint_vtable.impute(m, &te, xi, &err), 0);
    size_t g0 = per_mod[0], g1 = g0 + per_mod[1];
    double r2_sum = 0;
    for (size_t f = g0; f < g1; f++) {
        double mean = 0, sse = 0, sst = 0;
        size_t k = 0;
        for (size_t i = 0; i < 800; i++) /* the training mean: the baseline */
            if (c.present[i * 3 + 1]) {
                mean += c.x[i * F + f];
                k++;
            }
        mean /= (double)k;
        for (size_t i = 0; i < n; i++) {
            if (!c.present[(800 + i) * 3 + 1] || !(c.present[(800 + i) * 3] || c.present[(800 + i) * 3 + 2]))
                continue;
            double t = c.x[(800 + i) * F + f], e1 = xi[i * F + f] - t, e0 = mean - t;
            sse += e1 * e1;
            sst += e0 * e0;
        }
        double r2 = 1 - sse / sst;
        r2_sum += r2;
        ck_assert_msg(r2 > 0.3, "genomics feature %zu: imputation R2 %.3f against the mean's 0", f - g0, r2);
    }
    fprintf(stderr, "imputation: mean R2 %.3f over %zu genomics features (training mean: <= 0)\n",
            r2_sum / (double)per_mod[1], per_mod[1]);
    free(pres), free(xi);
    mmdx_fusion_joint_vtable.free_model(m);
    cohort_free(&c);
}
END_TEST

/* A model fitted with the loop engine, max_epochs `epochs`, token_dim 8 and an ensemble of `k` ("1".."32"). */
static void *fit_ensemble(const mmdx_dataset *d, const char *epochs, const char *k, uint64_t seed)
{
    mmdx_config_entry e[] = {{"max_epochs", epochs, "t.conf", 1, 0}, {"blas", "no", "t.conf", 2, 0},
                             {"token_dim", "8", "t.conf", 3, 0}, {"ensemble", k, "t.conf", 4, 0}};
    mmdx_plugin_config pc;
    mmdx_error err = {0};
    void *m = NULL;
    mmdx_fusion_params p = params(&pc, e, 4, 2, seed);
    ck_assert_msg(mmdx_fusion_joint_vtable.fit(&m, &p, d, &err) == 0, "%s", err.message);
    return m;
}

static size_t count_lines(const char *b, size_t len, const char *prefix)
{
    size_t k = 0, n = strlen(prefix);
    for (const char *p = b; p && p < b + len; p = memchr(p, '\n', (size_t)(b + len - p)), p = p ? p + 1 : NULL)
        k += (size_t)(b + len - p) >= n && memcmp(p, prefix, n) == 0;
    return k;
}

/*
 * An ensemble: its members differ, the model's logit is the mean of theirs,
 * member 0 is the network a fit of one would give; the file holds every
 * member and the representation, reloads bit for bit, and is refused with a
 * member short or an ensemble size that does not match.
 */
START_TEST(ensemble_averages_its_members)
{
    cohort c = make_cohort(300, 11, 0.2, 0.05);
    mmdx_dataset d = view(&c, 0, c.n);
    mmdx_error err = {0};
    size_t n = c.n;
    mmdx_joint *e3 = fit_ensemble(&d, "8", "3", 9), *e1 = fit_ensemble(&d, "8", "1", 9), *re = NULL, *bad = NULL;
    ck_assert_uint_eq(mmdx_joint_n_members(e3), 3);
    ck_assert_uint_eq(mmdx_joint_n_members(e1), 1);
    double *lk[3], *mean = malloc(n * sizeof *mean), *l1 = malloc(n * sizeof *l1);
    for (size_t k = 0; k < 3; k++) {
        lk[k] = malloc(n * sizeof *lk[k]);
        ck_assert_int_eq(mmdx_joint_member_logits(e3, k, &d, lk[k], &err), 0);
    }
    ck_assert_int_eq(mmdx_joint_member_logits(e3, 3, &d, l1, &err), MMDX_EINVAL);
    ck_assert(memcmp(lk[0], lk[1], n * sizeof *l1) != 0);
    ck_assert(memcmp(lk[1], lk[2], n * sizeof *l1) != 0);
    ck_assert(memcmp(lk[0], lk[2], n * sizeof *l1) != 0);
    ck_assert_int_eq(mmdx_joint_infer(e3, &d, mean, NULL, NULL, NULL, NULL, &err), 0);
    double spread = 0;
    for (size_t i = 0; i < n; i++) {
        double m = (lk[0][i] + lk[1][i] + lk[2][i]) / 3.0;
        ck_assert_msg(fabs(mean[i] - m) <= 1e-12 * fmax(1.0, fabs(m)), "row %zu: %.17g, members' mean %.17g", i,
                      mean[i], m);
        spread = fmax(spread, fabs(lk[0][i] - lk[1][i]));
    }
    ck_assert_msg(spread > 1e-3, "the members hardly differ (%g)", spread);
    ck_assert_int_eq(mmdx_joint_infer(e1, &d, l1, NULL, NULL, NULL, NULL, &err), 0);
    ck_assert(memcmp(l1, lk[0], n * sizeof *l1) == 0); /* member 0 draws from the seed itself */
    /* the file: 3 members and the representation; reloaded, the same bytes and predictions */
    size_t len, len2;
    char *b = save(e3, &len);
    ck_assert_ptr_nonnull(strstr(b, "\nensemble 3\n"));
    ck_assert_uint_eq(count_lines(b, len, "parameters "), 4);
    ck_assert_int_eq(mmdx_fusion_joint_vtable.load((void **)&re, b, len, &err), 0);
    char *b2 = save(re, &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(b, b2, len) == 0);
    double *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
    double *ca = malloc(n * 3 * sizeof *ca), *cb = malloc(n * 3 * sizeof *cb);
    ck_assert_int_eq(mmdx_fusion_joint_vtable.predict(e3, &d, pa, ca, &err), 0);
    ck_assert_int_eq(mmdx_fusion_joint_vtable.predict(re, &d, pb, cb, &err), 0);
    ck_assert(memcmp(pa, pb, n * sizeof *pa) == 0);
    ck_assert(memcmp(ca, cb, n * 3 * sizeof *ca) == 0);
    /* the size says 2: the fourth parameter line is left over */
    char *en = strstr(b, "\nensemble 3\n");
    en[strlen("\nensemble ")] = '2';
    ck_assert_int_eq(mmdx_fusion_joint_vtable.load((void **)&bad, b, len, &err), MMDX_EFORMAT);
    ck_assert_ptr_null(bad);
    /* the size says 3, the representation's line is missing */
    en[strlen("\nensemble ")] = '3';
    char *last = b + len - 1;
    while (last > b && last[-1] != '\n')
        last--;
    ck_assert_int_eq(mmdx_fusion_joint_vtable.load((void **)&bad, b, (size_t)(last - b), &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "parameters"));
    ck_assert_ptr_null(bad);
    for (size_t k = 0; k < 3; k++)
        free(lk[k]);
    free(mean), free(l1), free(pa), free(pb), free(ca), free(cb), free(b), free(b2);
    mmdx_joint_free(e3), mmdx_joint_free(e1), mmdx_joint_free(re);
    cohort_free(&c);
}
END_TEST

/*
 * A model saved before ensembles (no "ensemble" line, one parameter line)
 * loads, that network serving both the risk and the representation.
 */
START_TEST(models_without_an_ensemble_line_load)
{
    cohort c = make_cohort(200, 13, 0.2, 0.05);
    mmdx_dataset d = view(&c, 0, c.n);
    mmdx_error err = {0};
    size_t n = c.n, len;
    mmdx_joint *m1 = fit_ensemble(&d, "3", "1", 4), *old = NULL;
    char *b = save(m1, &len);
    char *en = strstr(b, "\nensemble 1\n"), *last = b + len - 1;
    ck_assert_ptr_nonnull(en);
    while (last > b && last[-1] != '\n') /* drop the representation's line, then the ensemble line */
        last--;
    size_t cut = (size_t)(last - b), skip = strlen("ensemble 1\n"), at = (size_t)(en + 1 - b);
    memmove(b + at, b + at + skip, cut - at - skip);
    cut -= skip;
    ck_assert_int_eq(mmdx_fusion_joint_vtable.load((void **)&old, b, cut, &err), 0);
    ck_assert_uint_eq(mmdx_joint_n_members(old), 1);
    double *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
    ck_assert_int_eq(mmdx_joint_infer(m1, &d, pa, NULL, NULL, NULL, NULL, &err), 0);
    ck_assert_int_eq(mmdx_joint_infer(old, &d, pb, NULL, NULL, NULL, NULL, &err), 0);
    ck_assert(memcmp(pa, pb, n * sizeof *pa) == 0);
    /* saved again, the network is written as both the risk member and the representation */
    size_t l2;
    char *b2 = save(old, &l2);
    ck_assert_uint_eq(count_lines(b2, l2, "parameters "), 2);
    char *p1 = strstr(b2, "\nparameters "), *p2 = strstr(p1 + 1, "\nparameters ");
    ck_assert_ptr_nonnull(p2);
    ck_assert(memcmp(p1, p2, (size_t)(p2 - p1)) == 0 && (size_t)(b2 + l2 - p2) == (size_t)(p2 - p1) + 1);
    free(b2);
    free(pa), free(pb), free(b);
    mmdx_joint_free(m1), mmdx_joint_free(old);
    cohort_free(&c);
}
END_TEST

/*
 * The patients of c from `first` (n of them) who have modality `keep`, with
 * only it present (the others absent, their values NaN); labels their own.
 */
static cohort only_modality(const cohort *c, size_t first, size_t n, size_t keep)
{
    cohort o = *c;
    o.x = malloc(n * c->F * sizeof *o.x);
    o.present = malloc(n * c->M);
    o.y = malloc(n * sizeof *o.y);
    o.n = 0;
    for (size_t i = first; i < first + n; i++) {
        if (!c->present[i * c->M + keep])
            continue;
        for (size_t m = 0; m < c->M; m++)
            o.present[o.n * c->M + m] = m == keep;
        for (size_t f = 0; f < c->F; f++)
            o.x[o.n * c->F + f] = c->fmod[f] == keep ? c->x[i * c->F + f] : NAN;
        o.y[o.n++] = c->y[i];
    }
    return o;
}

/*
 * Pattern evidence (the default): a modality's linear evidence depends on
 * which others are missing. With its corrections zeroed a patient with every
 * modality predicts the same and one with a modality missing does not (the
 * corrections act exactly where a modality is missing); the model file says
 * so in a line that cannot be dropped; without it the parameters are fewer
 * by the corrections; and on modalities that are noisy views of one latent
 * vector, a patient with one modality is ranked better with the corrections
 * than without (they start as that pattern's own regression).
 */
START_TEST(pattern_evidence_serves_each_subset)
{
    cohort c = make_cohort(1200, 21, 0.1, 0.05);
    mmdx_dataset train = view(&c, 0, 800), all = view(&c, 800, 400);
    mmdx_error err = {0};
    mmdx_config_entry on[] = {{"max_epochs", "20", "t.conf", 1, 0}, {"blas", "no", "t.conf", 2, 0},
                              {"token_dim", "8", "t.conf", 3, 0}, {"ensemble", "1", "t.conf", 4, 0}},
                      off[] = {{"max_epochs", "20", "t.conf", 1, 0}, {"blas", "no", "t.conf", 2, 0},
                               {"token_dim", "8", "t.conf", 3, 0}, {"ensemble", "1", "t.conf", 4, 0},
                               {"pattern_evidence", "no", "t.conf", 5, 0}};
    mmdx_plugin_config pc;
    mmdx_fusion_params p = params(&pc, on, 4, 2, 3);
    mmdx_joint *a = NULL, *b = NULL;
    ck_assert_msg(mmdx_fusion_joint_vtable.fit((void **)&a, &p, &train, &err) == 0, "%s", err.message);
    p = params(&pc, off, 5, 2, 3);
    ck_assert_msg(mmdx_fusion_joint_vtable.fit((void **)&b, &p, &train, &err) == 0, "%s", err.message);
    size_t P = mmdx_joint_n_params(a), extra = 0, T = 3 + 3;
    for (size_t m = 0; m < 3; m++)
        extra += T * (per_mod[m] + per_mod[m]); /* p: features + indicators (every feature has missing values) */
    ck_assert_uint_eq(P, mmdx_joint_n_params(b) + extra + T); /* the corrections and their biases */

    size_t len, len_b;
    char *blob = save(a, &len), *blob_b = save(b, &len_b);
    ck_assert_ptr_nonnull(strstr(blob, "\npattern_evidence 1\n"));
    ck_assert_ptr_null(strstr(blob_b, "pattern_evidence"));
    char *line = strstr(blob, "\npattern_evidence 1\n");
    size_t at = (size_t)(line + 1 - blob), skip = strlen("pattern_evidence 1\n");
    memmove(blob + at, blob + at + skip, len - at - skip);
    void *cut = NULL;
    ck_assert_int_eq(mmdx_fusion_joint_vtable.load(&cut, blob, len - skip, &err), MMDX_EFORMAT);
    free(blob), free(blob_b);

    /* only modality m: ranked better with the corrections, for every m */
    double *pa = malloc(400 * sizeof *pa), *pb = malloc(400 * sizeof *pb);
    for (size_t m = 0; m < 3; m++) {
        cohort o = only_modality(&c, 800, 400, m);
        mmdx_dataset d = view(&o, 0, o.n);
        double auc_a, auc_b;
        ck_assert_int_eq(mmdx_joint_infer(a, &d, pa, NULL, NULL, NULL, NULL, &err), 0);
        ck_assert_int_eq(mmdx_joint_infer(b, &d, pb, NULL, NULL, NULL, NULL, &err), 0);
        ck_assert_int_eq(mmdx_auroc(&auc_a, pa, o.y, o.n), 0);
        ck_assert_int_eq(mmdx_auroc(&auc_b, pb, o.y, o.n), 0);
        fprintf(stderr, "only modality %zu (%zu patients): AUROC %.4f with pattern evidence, %.4f without\n", m, o.n,
                auc_a, auc_b);
        ck_assert_msg(auc_a > auc_b, "modality %zu: %.4f with pattern evidence, %.4f without", m, auc_a, auc_b);
        free(o.x), free(o.present), free(o.y);
    }

    /* the corrections zeroed: the same logit with every modality, another with one missing */
    double *la = malloc(400 * sizeof *la), *lz = malloc(400 * sizeof *lz);
    ck_assert_int_eq(mmdx_joint_infer(a, &all, la, NULL, NULL, NULL, NULL, &err), 0);
    double *th = mmdx_joint_params(a); /* the only member's */
    for (size_t m = 0; m < 3; m++)
        memset(th + a->mod[m].ld, 0, T * a->mod[m].p * sizeof *th);
    memset(th + a->lb, 0, T * sizeof *th);
    ck_assert_int_eq(mmdx_joint_infer(a, &all, lz, NULL, NULL, NULL, NULL, &err), 0);
    size_t full = 0, partial = 0;
    for (size_t i = 0; i < 400; i++) {
        int every = c.present[(800 + i) * 3] && c.present[(800 + i) * 3 + 1] && c.present[(800 + i) * 3 + 2];
        if (every) {
            ck_assert_msg(la[i] == lz[i], "patient %zu with every modality: %.17g vs %.17g", i, la[i], lz[i]);
            full++;
        } else {
            ck_assert_msg(la[i] != lz[i], "patient %zu with a modality missing: the corrections did nothing", i);
            partial++;
        }
    }
    ck_assert(full > 100 && partial > 50);
    free(la), free(lz), free(pa), free(pb);
    mmdx_joint_free(a), mmdx_joint_free(b);
    cohort_free(&c);
}
END_TEST

START_TEST(bad_configuration_is_named)
{
    mmdx_joint_options o;
    mmdx_error err = {0};
    mmdx_plugin_config pc;
    mmdx_config_entry heads[] = {{"token_dim", "30", "s.conf", 4, 0}, {"heads", "4", "s.conf", 5, 0}};
    mmdx_fusion_params p = params(&pc, heads, 2, 1, 1);
    ck_assert_int_eq(mmdx_joint_options_parse(&o, &p, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "s.conf:5"));
    ck_assert_ptr_nonnull(strstr(err.message, "multiple of heads"));
    mmdx_config_entry unknown[] = {{"dropout", "0.1", "s.conf", 7, 0}};
    p = params(&pc, unknown, 1, 1, 1);
    ck_assert_int_eq(mmdx_joint_options_parse(&o, &p, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "s.conf:7: unknown key 'dropout'"));
    mmdx_config_entry members[] = {{"ensemble", "0", "s.conf", 8, 0}};
    p = params(&pc, members, 1, 1, 1);
    ck_assert_int_eq(mmdx_joint_options_parse(&o, &p, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "s.conf:8"));
    mmdx_config_entry zero[] = {{"weight_classification", "0", "s.conf", 1, 0},
                                {"weight_reconstruction", "0", "s.conf", 2, 0},
                                {"weight_contrastive", "0", "s.conf", 3, 0}};
    p = params(&pc, zero, 3, 1, 1);
    ck_assert_int_eq(mmdx_joint_options_parse(&o, &p, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "nothing to learn"));
    p = params(&pc, NULL, 0, 1, 1);
    p.classifier = "mlp";
    ck_assert_int_eq(mmdx_joint_options_parse(&o, &p, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "attention"));
    /* a model blob whose parameter count does not fit its architecture is refused */
    cohort c = make_cohort(40, 2, 0.1, 0.0);
    mmdx_dataset d = view(&c, 0, c.n);
    mmdx_config_entry e[] = {{"max_epochs", "1", "t.conf", 1, 0}};
    p = params(&pc, e, 1, 1, 1);
    void *m = NULL, *m2 = NULL;
    ck_assert_int_eq(mmdx_fusion_joint_vtable.fit(&m, &p, &d, &err), 0);
    size_t len;
    char *blob = save(m, &len);
    char *arch = strstr(blob, "architecture 32 ");
    ck_assert_ptr_nonnull(arch);
    arch[strlen("architecture ")] = '1'; /* token_dim 12 */
    ck_assert_int_eq(mmdx_fusion_joint_vtable.load(&m2, blob, len, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "joint fusion model"));
    free(blob);
    mmdx_fusion_joint_vtable.free_model(m);
    cohort_free(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("joint");
    TCase *tc = tcase_create("joint");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, gradient_matches_finite_differences, 0, 2);
    tcase_add_test(tc, refit_and_reload_are_bit_identical);
    tcase_add_test(tc, models_without_the_fused_alignment_weight_load);
    tcase_add_test(tc, imputation_beats_the_training_mean);
    tcase_add_test(tc, ensemble_averages_its_members);
    tcase_add_test(tc, models_without_an_ensemble_line_load);
    tcase_add_test(tc, pattern_evidence_serves_each_subset);
    tcase_add_test(tc, bad_configuration_is_named);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
