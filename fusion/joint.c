/* SPDX-License-Identifier: Apache-2.0 */
/* Joint fusion: the fit loop (Adam, modality dropout, early stopping), inference, saving. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "joint_internal.h"
#include "logreg.h"
#include "rng.h"

#define JOINT_MAGIC "mmdx-joint"

void mmdx_joint_free(mmdx_joint *j)
{
    if (!j)
        return;
    for (size_t m = 0; m < MMDX_JOINT_MAX_MODALITIES; m++) {
        free(j->mod[m].feat);
        free(j->mod[m].ind);
    }
    free(j->mean);
    free(j->scale);
    free(j->theta);
    free(j->decay);
    free(j);
}

size_t mmdx_joint_token_dim(const mmdx_joint *j) { return j->o.token_dim; }
size_t mmdx_joint_n_params(const mmdx_joint *j) { return j->n_params; }
double *mmdx_joint_params(mmdx_joint *j) { return j->theta; }

/* Modalities' feature lists, standardisation and indicators from the training rows. */
static int prepare(mmdx_joint *j, const mmdx_dataset *d, mmdx_error *err)
{
    size_t F = d->n_features, M = d->n_modalities, n = d->n_samples;
    j->nf = F;
    j->nm = M;
    j->mean = calloc(F ? F : 1, sizeof *j->mean);
    j->scale = calloc(F ? F : 1, sizeof *j->scale);
    size_t *nmiss = calloc(F ? F : 1, sizeof *nmiss), *npres = calloc(F ? F : 1, sizeof *npres);
    int rc = (!j->mean || !j->scale || !nmiss || !npres) ? MMDX_ENOMEM : 0;
    for (size_t f = 0; rc == 0 && f < F; f++) {
        size_t m = d->feature_modality[f], k = 0;
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++) {
            if (!d->present[i * M + m])
                continue;
            npres[f]++;
            double v = d->x[i * F + f];
            if (isnan(v)) {
                nmiss[f]++;
                continue;
            }
            k++;
            double dlt = v - s;
            s += dlt / (double)k; /* Welford: running mean in s, sum of squares in ss */
            ss += dlt * (v - s);
        }
        j->mean[f] = k ? s : 0.0;
        double sd = k ? sqrt(ss / (double)k) : 0.0;
        j->scale[f] = sd > 1e-12 * (fabs(s) + 1.0) ? sd : 1.0;
    }
    for (size_t m = 0; rc == 0 && m < M; m++) {
        joint_mod *md = &j->mod[m];
        size_t nfm = 0;
        for (size_t f = 0; f < F; f++)
            nfm += d->feature_modality[f] == m;
        md->feat = malloc((nfm ? nfm : 1) * sizeof *md->feat);
        md->ind = malloc((nfm ? nfm : 1) * sizeof *md->ind);
        if (!md->feat || !md->ind) {
            rc = MMDX_ENOMEM;
            break;
        }
        for (size_t f = 0; f < F; f++)
            if (d->feature_modality[f] == m) {
                if (nmiss[f] > 0 && nmiss[f] < npres[f])
                    md->ind[md->ng++] = (uint32_t)md->nf;
                md->feat[md->nf++] = (uint32_t)f;
            }
    }
    free(nmiss);
    free(npres);
    if (rc)
        return mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory");
    return mmdx_joint__layout(j, err);
}

static void init_params(const mmdx_joint *j, double *theta, mmdx_rng *rng)
{
    size_t d = j->o.token_dim, he = j->o.encoder_hidden, hd = j->o.decoder_hidden;
#define GLOROT(off, rows, cols)                                                                                 \
    do {                                                                                                        \
        double bound_ = sqrt(6.0 / (double)((rows) + (cols)));                                                  \
        for (size_t k_ = 0; k_ < (size_t)(rows) * (cols); k_++)                                                  \
            theta[(off) + k_] = (2.0 * mmdx_rng_uniform(rng) - 1.0) * bound_;                                   \
    } while (0)
    for (size_t m = 0; m < j->nm; m++) {
        const joint_mod *md = &j->mod[m];
        GLOROT(md->w1, he, md->p);
        GLOROT(md->w2, d, he);
        GLOROT(md->u, hd, d);
        GLOROT(md->v, md->nf, hd);
    }
    GLOROT(j->wq, d, d);
    GLOROT(j->wk, d, d);
    GLOROT(j->wv, d, d);
    GLOROT(j->wo, d, d);
    GLOROT(j->pq, d, d);
    GLOROT(j->pk, d, d);
    GLOROT(j->pv, d, d);
    GLOROT(j->po, d, d);
    GLOROT(j->hw, 1, d);
    GLOROT(j->tw, 1, d);
    GLOROT(j->cls, 1, d);
#undef GLOROT
}

double mmdx_joint_objective(const mmdx_joint *j, const mmdx_dataset *d, const size_t *rows, size_t n,
                            const uint8_t *visible, double *grad, mmdx_error *err)
{
    joint_ws *w = mmdx_joint__ws_new(j, n);
    if (!w) {
        mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory");
        return NAN;
    }
    joint_loss l;
    double v = mmdx_joint__pass(j, j->theta, d, rows, n, visible, NULL, 1, w, grad, &l);
    mmdx_joint__ws_free(w);
    return v;
}

/* The blocks of the modalities flagged in `drop` zeroed in x (n x P) into xk. */
static void without_modalities(const mmdx_joint *j, const double *x, size_t n, size_t P, const uint8_t *drop,
                               double *xk)
{
    memcpy(xk, x, n * P * sizeof *x);
    for (size_t m = 0, off = 0; m < j->nm; off += j->mod[m].p, m++)
        for (size_t r = 0; drop[m] && r < n; r++)
            memset(xk + r * P + off, 0, j->mod[m].p * sizeof *xk);
}

/*
 * Pattern evidence's start: the regression of warm_start (coef, b on x)
 * fitted again without modality k's inputs gives k's corrections (their
 * difference), and without both a's and b's the pair's (what remains after
 * a's and b's): every pattern with one or two modalities missing begins as
 * its own submodel, fitted on all training rows.
 */
static int warm_start_patterns(const mmdx_joint *j, double *theta, const double *x, size_t n, size_t P,
                               const int32_t *y, const double *w, const double *coef, double b, mmdx_error *err)
{
    size_t M = j->nm;
    double *xk = malloc(n * P * sizeof *xk), *c1 = malloc(M * P * sizeof *c1), *c2 = malloc(P * sizeof *c2);
    double b1[MMDX_JOINT_MAX_MODALITIES] = {0};
    int rc = 0;
    if (!xk || !c1 || !c2)
        rc = mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory (%zu x %zu warm start)", n, P);
    mmdx_logreg_options lo;
    mmdx_logreg_options_init(&lo);
    lo.n_threads = j->o.n_threads;
    for (size_t k = 0; rc == 0 && k < M; k++) {
        if (j->mod[k].nf == 0)
            continue;
        uint8_t drop[MMDX_JOINT_MAX_MODALITIES] = {0};
        drop[k] = 1;
        without_modalities(j, x, n, P, drop, xk);
        if ((rc = mmdx_logreg_fit(c1 + k * P, &b1[k], xk, n, P, y, w, &lo, NULL, err)) != 0)
            break;
        theta[j->lb + k] = b1[k] - b;
        for (size_t m = 0, off = 0; m < M; off += j->mod[m].p, m++)
            for (size_t q = 0; m != k && q < j->mod[m].p; q++)
                theta[j->mod[m].ld + k * j->mod[m].p + q] = c1[k * P + off + q] - coef[off + q];
    }
    for (size_t a = 0; rc == 0 && M > 2 && a < M; a++)
        for (size_t bb = a + 1; rc == 0 && bb < M; bb++) {
            if (j->mod[a].nf == 0 || j->mod[bb].nf == 0)
                continue;
            uint8_t drop[MMDX_JOINT_MAX_MODALITIES] = {0};
            drop[a] = drop[bb] = 1;
            without_modalities(j, x, n, P, drop, xk);
            double b2 = 0;
            if ((rc = mmdx_logreg_fit(c2, &b2, xk, n, P, y, w, &lo, NULL, err)) != 0)
                break;
            size_t t = M + joint_pair(a, bb, M);
            theta[j->lb + t] = b2 - b1[a] - b1[bb] + b;
            for (size_t m = 0, off = 0; m < M; off += j->mod[m].p, m++)
                for (size_t q = 0; m != a && m != bb && q < j->mod[m].p; q++)
                    theta[j->mod[m].ld + t * j->mod[m].p + q] =
                        c2[off + q] - c1[a * P + off + q] - c1[bb * P + off + q] + coef[off + q];
        }
    free(xk), free(c1), free(c2);
    return rc;
}

/*
 * Start the risk head where early fusion's logistic regression ends: the
 * linear evidence of every modality's inputs (absent: 0) fitted with L2
 * (C = 1) on the member's training rows, the attention paths' read-outs at
 * 0. The network then only has to learn what the linear model misses, and
 * early stopping compares against this start (epoch 0). The validation rows
 * stay out of it, or the start would be favoured by the very loss that
 * judges it. With pattern evidence, its corrections start as
 * warm_start_patterns says.
 */
static int warm_start(const mmdx_joint *j, double *theta, const mmdx_dataset *d, const size_t *train,
                      size_t n_train, const double *sw, mmdx_error *err)
{
    size_t P = 0, M = j->nm;
    for (size_t m = 0; m < M; m++)
        P += j->mod[m].p;
    if (P == 0)
        return 0;
    double *x = calloc(n_train * P, sizeof *x), *coef = malloc(P * sizeof *coef), *w = NULL, b = 0;
    int32_t *y = malloc(n_train * sizeof *y);
    if (sw && (w = malloc(n_train * sizeof *w)))
        for (size_t r = 0; r < n_train; r++)
            w[r] = sw[train[r]];
    if (!x || !coef || !y || (sw && !w)) {
        free(x), free(coef), free(y), free(w);
        return mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory (%zu x %zu warm start)", n_train, P);
    }
    for (size_t r = 0; r < n_train; r++) {
        size_t i = train[r], off = 0;
        y[r] = d->labels[i] ? 1 : 0;
        for (size_t m = 0; m < M; m++) {
            if (d->present[i * M + m] && j->mod[m].nf > 0)
                mmdx_joint__input_row(j, m, d->x + i * d->n_features, x + r * P + off);
            off += j->mod[m].p;
        }
    }
    mmdx_logreg_options lo;
    mmdx_logreg_options_init(&lo);
    lo.n_threads = j->o.n_threads;
    int rc = mmdx_logreg_fit(coef, &b, x, n_train, P, y, w, &lo, NULL, err);
    if (rc == 0) {
        size_t off = 0;
        for (size_t m = 0; m < M; m++) {
            memcpy(theta + j->mod[m].lw, coef + off, j->mod[m].p * sizeof *coef);
            off += j->mod[m].p;
        }
        theta[j->hb] = b;
        memset(theta + j->hw, 0, j->o.token_dim * sizeof *theta);
        memset(theta + j->tw, 0, j->o.token_dim * sizeof *theta);
    }
    if (rc == 0 && j->o.pattern_evidence && M > 1)
        rc = warm_start_patterns(j, theta, x, n_train, P, y, w, coef, b, err);
    free(x), free(coef), free(y), free(w);
    return rc;
}

/*
 * Validation losses, without modality dropout and weight decay: the whole
 * objective (classification + reconstruction + fused alignment +
 * contrastive alignment, InfoNCE of each validation minibatch, the batches
 * fixed, so epochs compare) is returned, the classification term alone into
 * *cls. The risk checkpoint is judged by the latter, the representation's by
 * the former: on the risk alone training stops within a few epochs of the
 * warm start, before the shared space has formed, and on the whole objective
 * the risk is kept from an epoch at which it has already overfitted. With
 * `dropped` (n_val x M visibility drawn once, as modality dropout draws it)
 * the classification term is the mean of the patients' loss with all their
 * modalities and with those masks: the risk is kept where it serves any
 * subset of modalities, not only the complete patient.
 */
static double validation_loss(const mmdx_joint *j, const double *theta, const mmdx_dataset *d, const size_t *val,
                              size_t n_val, size_t B, const double *sw, const uint8_t *dropped, joint_ws *w,
                              double *cls_out)
{
    double cls = 0, rec = 0, con = 0, fa = 0, cls_dropped = 0;
    size_t n_rec = 0, n_con = 0;
    for (size_t s = 0; s < n_val; s += B) {
        size_t k = n_val - s < B ? n_val - s : B;
        joint_loss l;
        if (dropped) {
            mmdx_joint__pass(j, theta, d, val + s, k, dropped + s * j->nm, sw, 0, w, NULL, &l);
            cls_dropped += l.cls_sum;
        }
        mmdx_joint__pass(j, theta, d, val + s, k, NULL, sw, 1, w, NULL, &l);
        cls += l.cls_sum;
        rec += l.rec_sum;
        fa += l.fa_sum;
        n_rec += l.n_rec;
        if (l.n_pairs) {
            con += l.con * (double)k;
            n_con += k;
        }
    }
    double v = j->o.w_classification * cls / (double)n_val;
    *cls_out = (dropped ? 0.5 * (cls + cls_dropped) : cls) / (double)n_val;
    if (n_rec)
        v += j->o.w_reconstruction * rec / (double)n_rec;
    if (n_con)
        v += j->o.w_contrastive * con / (double)n_con;
    v += j->o.w_fused_alignment * fa / (double)n_val;
    return v;
}

/* Modality dropout for rows[0..k): hide present modalities, keeping at least one. */
static void draw_visible(const mmdx_joint *j, const mmdx_dataset *d, const size_t *rows, size_t k, mmdx_rng *rng,
                         uint8_t *vis)
{
    size_t M = j->nm;
    double p = j->o.modality_dropout;
    for (size_t r = 0; r < k; r++) {
        const uint8_t *pr = d->present + rows[r] * M;
        uint8_t *vr = vis + r * M;
        size_t have = 0, kept = 0;
        for (size_t m = 0; m < M; m++) {
            vr[m] = pr[m] && j->mod[m].nf > 0;
            have += vr[m];
        }
        if (have < 2 || p <= 0)
            continue;
        for (size_t m = 0; m < M; m++)
            if (vr[m] && mmdx_rng_uniform(rng) < p)
                vr[m] = 0;
        for (size_t m = 0; m < M; m++)
            kept += vr[m];
        if (kept == 0) { /* show one of the present modalities again, chosen at random */
            size_t pick = mmdx_rng_below(rng, have), seen = 0;
            for (size_t m = 0; m < M; m++)
                if (pr[m] && j->mod[m].nf > 0 && seen++ == pick)
                    vr[m] = 1;
        }
    }
}

/* What one member's fit needs besides the model: the class counts and sizes of the split, the sample weights. */
typedef struct fit_plan {
    size_t nc[2], nval[2];
    const double *sw;
} fit_plan;

/* A checkpoint: the best validation loss so far, its epoch, epochs since, and its weights. */
typedef struct checkpoint {
    double loss;
    int epoch, since;
    double *theta; /* NULL: not kept */
} checkpoint;

/* Keep theta as the checkpoint if it improves it by 1e-4; returns 1 while it has patience left. */
static int checkpoint_offer(checkpoint *c, double loss, int epoch, const double *theta, size_t P, int patience)
{
    if (!c->theta)
        return 0;
    if (loss < c->loss - 1e-4) {
        c->loss = loss;
        c->epoch = epoch;
        c->since = 0;
        memcpy(c->theta, theta, P * sizeof *theta);
        return 1;
    }
    return ++c->since < patience;
}

/*
 * One ensemble member: its own stratified split, initialisation, warm start
 * (on its training rows), shuffles and dropout from `rng`; Adam. The weights
 * of the epoch (the warm start being epoch 0) with the best validation
 * classification loss go to `risk`; with `repr` not NULL, those with the best
 * whole objective go there, and training goes on until neither has improved
 * for `patience` epochs (the risk alone: until it has not).
 */
static int fit_member(const mmdx_joint *j, double *risk, double *repr, const mmdx_dataset *d, const fit_plan *plan,
                      mmdx_rng *rng, mmdx_joint_info *info, mmdx_error *err)
{
    const mmdx_joint_options *o = &j->o;
    size_t n = d->n_samples, M = j->nm, P = j->n_params;
    double *theta = calloc(P, sizeof *theta); /* biases start at 0 */
    size_t *train = malloc(n * sizeof *train), *val = malloc(n * sizeof *val), *tmp = malloc(n * sizeof *tmp);
    double *grad = malloc(P * sizeof *grad), *mom = calloc(P, sizeof *mom), *vel = calloc(P, sizeof *vel);
    size_t B = o->batch_size;
    uint8_t *vis = malloc((B ? B : 1) * M + 1), *val_vis = NULL;
    joint_ws *w = NULL;
    int rc = 0;
    if (!theta || !train || !val || !tmp || !grad || !mom || !vel || !vis) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory (%zu parameters)", P);
        goto done;
    }
    init_params(j, theta, rng);
    size_t n_train = 0, n_val = 0;
    for (int c = 0; c < 2; c++) { /* stratified split, drawn with the seed */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if ((d->labels[i] ? 1 : 0) == c)
                tmp[k++] = i;
        mmdx_rng_shuffle(rng, tmp, k);
        for (size_t q = 0; q < k; q++) {
            if (q < plan->nval[c])
                val[n_val++] = tmp[q];
            else
                train[n_train++] = tmp[q];
        }
    }
    if (B > n_train)
        B = n_train;
    if (!(w = mmdx_joint__ws_new(j, B))) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory (batch workspace)");
        goto done;
    }
    /* the validation patients' dropout masks, drawn once so that epochs compare */
    if (o->modality_dropout > 0 && M > 1) {
        if (!(val_vis = malloc(n_val * M))) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory");
            goto done;
        }
        draw_visible(j, d, val, n_val, rng, val_vis);
    }
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    long step = 0;
    if (o->w_classification > 0 && (rc = warm_start(j, theta, d, train, n_train, plan->sw, err)) != 0)
        goto done;
    /* without a classification term the risk has nothing of its own to be judged by */
    int risk_by_cls = o->w_classification > 0;
    checkpoint ck_risk = {INFINITY, 0, 0, risk}, ck_repr = {INFINITY, 0, 0, repr};
    for (int epoch = 0; epoch <= o->max_epochs; epoch++) {
        if (epoch > 0) {
            mmdx_rng_shuffle(rng, train, n_train);
            for (size_t s = 0; s < n_train; s += B) {
                size_t k = n_train - s < B ? n_train - s : B;
                if (k < 2)
                    break; /* a last batch of one patient: no contrast, a noisy step */
                draw_visible(j, d, train + s, k, rng, vis);
                joint_loss l;
                mmdx_joint__pass(j, theta, d, train + s, k, vis, plan->sw, 1, w, grad, &l);
                step++;
                double c1 = 1.0 - pow(b1, (double)step), c2 = 1.0 - pow(b2, (double)step);
                double lr = o->learning_rate * sqrt(c2) / c1;
                for (size_t q = 0; q < P; q++) {
                    mom[q] = b1 * mom[q] + (1 - b1) * grad[q];
                    vel[q] = b2 * vel[q] + (1 - b2) * grad[q] * grad[q];
                    theta[q] -= lr * mom[q] / (sqrt(vel[q]) + eps);
                }
            }
        }
        double cls, vl = validation_loss(j, theta, d, val, n_val, B, plan->sw, val_vis, w, &cls);
        info->epochs = epoch;
        if (!isfinite(vl)) {
            rc = mmdx_error_set(err, MMDX_ERROR,
                                "joint fusion: the training diverged at epoch %d (validation loss %g); lower "
                                "learning_rate",
                                epoch, vl);
            break;
        }
        int go = checkpoint_offer(&ck_risk, risk_by_cls ? cls : vl, epoch, theta, P, o->patience);
        go |= checkpoint_offer(&ck_repr, vl, epoch, theta, P, o->patience);
        if (!go)
            break;
    }
    info->best_epoch = repr ? ck_repr.epoch : ck_risk.epoch;
    info->best_val_loss = repr ? ck_repr.loss : ck_risk.loss;
    info->risk_epoch = ck_risk.epoch;
done:
    mmdx_joint__ws_free(w);
    free(theta), free(train), free(val), free(tmp), free(grad), free(mom), free(vel), free(vis), free(val_vis);
    return rc;
}

int mmdx_joint_fit(mmdx_joint **out, const mmdx_dataset *d, const mmdx_joint_options *o, mmdx_joint_info *info,
                   mmdx_error *err)
{
    *out = NULL;
    memset(info, 0, sizeof *info);
    size_t n = d->n_samples, M = d->n_modalities;
    if (M > MMDX_JOINT_MAX_MODALITIES)
        return mmdx_error_set(err, MMDX_EINVAL, "joint fusion: %zu modalities (at most %d)", M,
                              MMDX_JOINT_MAX_MODALITIES);
    if (o->ensemble < 1 || o->ensemble > MMDX_JOINT_MAX_ENSEMBLE)
        return mmdx_error_set(err, MMDX_EINVAL, "joint fusion: ensemble %zu (1 to %d)", o->ensemble,
                              MMDX_JOINT_MAX_ENSEMBLE);
    fit_plan plan = {{0, 0}, {0, 0}, NULL};
    for (size_t i = 0; i < n; i++)
        plan.nc[d->labels[i] ? 1 : 0]++;
    for (int c = 0; c < 2; c++) {
        plan.nval[c] = (size_t)floor(o->validation_fraction * (double)plan.nc[c] + 0.5);
        if (plan.nval[c] < 1)
            plan.nval[c] = 1;
        if (plan.nc[c] < 2 || plan.nval[c] >= plan.nc[c])
            return mmdx_error_set(err, MMDX_EINVAL,
                                  "joint fusion: %zu patients with label %d is too few for a validation split "
                                  "(validation_fraction %g)",
                                  plan.nc[c], c, o->validation_fraction);
    }
    mmdx_joint *j = calloc(1, sizeof *j);
    if (!j)
        return mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory");
    j->o = *o;
    if (o->engine == MMDX_DENSE_BLAS)
        mmdx_dense_blas_single_threaded();
    int rc = prepare(j, d, err);
    double *sw = NULL;
    if (!rc && o->class_weight_balanced) {
        if ((sw = malloc(n * sizeof *sw)) != NULL)
            for (size_t i = 0; i < n; i++)
                sw[i] = (double)n / (2.0 * (double)plan.nc[d->labels[i] ? 1 : 0]);
        else
            rc = mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory");
    }
    plan.sw = sw;
    /* member 0 draws from the seed itself, member k from its stream k: adding members keeps the first ones */
    for (size_t k = 0; !rc && k < o->ensemble; k++) {
        mmdx_rng rng;
        if (k == 0)
            mmdx_rng_seed(&rng, o->seed);
        else
            mmdx_rng_seed_stream(&rng, o->seed, k);
        mmdx_joint_info mi = {0, 0, 0.0, 0};
        double *repr = k == 0 ? j->theta + o->ensemble * j->n_params : NULL; /* member 0's representation */
        rc = fit_member(j, j->theta + k * j->n_params, repr, d, &plan, &rng, &mi, err);
        if (k == 0)
            *info = mi;
    }
    free(sw);
    if (rc) {
        mmdx_joint_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* ---- inference ---- */

/*
 * Risk members [k0, k1): the mean of their logits and of their ablation
 * contributions (the contributions of the mean logit, averaging being
 * linear). The fused vector, the tokens and the imputation come from the
 * representation checkpoint (one space: members' spaces do not average).
 */
/*
 * The wide part of the logit for the modalities mods[0..L) but mods[skip]
 * (skip = L: all of them) shown: each one's base evidence lin[i], its
 * pattern corrections (pat[i * T + t], T = joint_pattern_terms(M): see
 * mmdx_joint__encode_row) for every modality and pair of modalities not
 * shown, and their pattern biases.
 */
static double wide_evidence(const mmdx_joint *j, const double *th, const double *lin, const double *pat,
                            const size_t *mods, size_t L, size_t skip)
{
    size_t T = joint_pattern_terms(j->nm), off[MMDX_JOINT_MAX_PATTERN_TERMS];
    uint8_t on[MMDX_JOINT_MAX_MODALITIES] = {0};
    for (size_t i = 0; i < L; i++)
        on[mods[i]] = i != skip;
    size_t n_off = mmdx_joint__pattern_terms(j, on, off);
    double s = 0;
    for (size_t i = 0; i < L; i++) {
        if (i == skip)
            continue;
        s += lin[i];
        for (size_t q = 0; q < n_off; q++)
            s += pat[i * T + off[q]];
    }
    for (size_t q = 0; q < n_off; q++)
        s += th[j->lb + off[q]];
    return s;
}

static int infer_members(const mmdx_joint *j, size_t k0, size_t k1, const mmdx_dataset *d, double *logit,
                         double *contrib, double *fused, double *tokens, double *x_imputed, mmdx_error *err)
{
    size_t M = j->nm, D = j->o.token_dim, F = j->nf, n = d->n_samples, P = j->n_params;
    if (d->n_features != F || d->n_modalities != M)
        return mmdx_error_set(err, MMDX_EINVAL,
                              "joint fusion: the data has %zu features of %zu modalities, the model %zu of %zu",
                              d->n_features, d->n_modalities, F, M);
    size_t pmax = 1, fmax = 1, he = j->o.encoder_hidden, hd = j->o.decoder_hidden;
    for (size_t m = 0; m < M; m++) {
        pmax = j->mod[m].p > pmax ? j->mod[m].p : pmax;
        fmax = j->mod[m].nf > fmax ? j->mod[m].nf : fmax;
    }
    size_t per = pmax + he + hd + fmax + (M + 1) * D + D + D + mmdx_joint__row_scratch(j) + joint_pattern_terms(M);
    int nt = j->o.n_threads > 0 ? j->o.n_threads : 1;
    if (n < 64)
        nt = 1;
    double *scratch = malloc((size_t)nt * per * sizeof *scratch);
    if (!scratch)
        return mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory");
    long long nn = (long long)n;
    double members = (double)(k1 - k0);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long long ii = 0; ii < nn; ii++) {
        int t = omp_get_thread_num();
        double *s = scratch + (size_t)t * per, *in = s, *hid = in + pmax, *dhid = hid + he, *rec = dhid + hd;
        double *tok = rec + fmax, *ctx = tok + M * D, *z = ctx + D, *att = z + D;
        double *unused_pattern = att + mmdx_joint__row_scratch(j); /* the representation needs no logit */
        size_t i = (size_t)ii;
        const double *x = d->x + i * F;
        const double *list[MMDX_JOINT_MAX_MODALITIES];
        size_t mods[MMDX_JOINT_MAX_MODALITIES], L = 0;
        double lg_sum = 0, con_sum[MMDX_JOINT_MAX_MODALITIES] = {0};
        for (size_t k = k0; (logit || contrib) && k < k1; k++) {
            const double *th = j->theta + k * P;
            double lin[MMDX_JOINT_MAX_MODALITIES];
            double pat[MMDX_JOINT_MAX_MODALITIES * MMDX_JOINT_MAX_PATTERN_TERMS];
            L = 0;
            for (size_t m = 0; m < M; m++)
                if (d->present[i * M + m] && j->mod[m].nf > 0) {
                    lin[L] = mmdx_joint__encode_row(j, th, m, x, in, hid, tok + m * D, pat + L * joint_pattern_terms(M));
                    list[L] = tok + m * D;
                    mods[L++] = m;
                }
            double lg = mmdx_joint__forward_row(j, th, list, L, z, att) + wide_evidence(j, th, lin, pat, mods, L, L);
            lg_sum += lg;
            for (size_t q = 0; contrib && q < L; q++) { /* ablation: the log-odds without this modality */
                const double *rest[MMDX_JOINT_MAX_MODALITIES];
                size_t nr = 0;
                for (size_t r = 0; r < L; r++)
                    if (r != q)
                        rest[nr++] = list[r];
                con_sum[mods[q]] += lg - (mmdx_joint__forward_row(j, th, rest, nr, NULL, att) +
                                          wide_evidence(j, th, lin, pat, mods, L, q));
            }
        }
        const double *th = j->theta + j->o.ensemble * P; /* the representation */
        if (fused || tokens || x_imputed) {
            L = 0;
            for (size_t m = 0; m < M; m++)
                if (d->present[i * M + m] && j->mod[m].nf > 0) {
                    (void)mmdx_joint__encode_row(j, th, m, x, in, hid, tok + m * D, unused_pattern);
                    list[L++] = tok + m * D;
                }
            (void)mmdx_joint__forward_row(j, th, list, L, z, att);
        }
        if (logit)
            logit[i] = lg_sum / members;
        if (fused)
            memcpy(fused + i * D, z, D * sizeof *z);
        if (contrib)
            for (size_t m = 0; m < M; m++)
                contrib[i * M + m] = con_sum[m] / members;
        if (tokens)
            for (size_t m = 0; m < M; m++) {
                int has = d->present[i * M + m] && j->mod[m].nf > 0;
                for (size_t c = 0; c < D; c++)
                    tokens[(i * M + m) * D + c] = has ? tok[m * D + c] : NAN;
            }
        if (x_imputed) {
            memcpy(x_imputed + i * F, x, F * sizeof *x);
            for (size_t c = 0; c < D; c++) {
                double sum = 0;
                for (size_t q = 0; q < L; q++)
                    sum += list[q][c];
                ctx[c] = L ? sum / (double)L : 0.0;
            }
            for (size_t m = 0; m < M; m++) {
                const joint_mod *md = &j->mod[m];
                if (d->present[i * M + m] || md->nf == 0)
                    continue;
                if (L)
                    mmdx_joint__decode(j, th, m, ctx, dhid, rec);
                for (size_t q = 0; q < md->nf; q++) {
                    uint32_t f = md->feat[q];
                    x_imputed[i * F + f] = j->mean[f] + j->scale[f] * (L ? rec[q] : 0.0);
                }
            }
        }
    }
    free(scratch);
    return 0;
}

int mmdx_joint_infer(const mmdx_joint *j, const mmdx_dataset *d, double *logit, double *contrib, double *fused,
                     double *tokens, double *x_imputed, mmdx_error *err)
{
    return infer_members(j, 0, j->o.ensemble, d, logit, contrib, fused, tokens, x_imputed, err);
}

size_t mmdx_joint_n_members(const mmdx_joint *j) { return j->o.ensemble; }

int mmdx_joint_member_logits(const mmdx_joint *j, size_t member, const mmdx_dataset *d, double *logit,
                             mmdx_error *err)
{
    if (member >= j->o.ensemble)
        return mmdx_error_set(err, MMDX_EINVAL, "joint fusion: member %zu of an ensemble of %zu", member,
                              j->o.ensemble);
    return infer_members(j, member, member + 1, d, logit, NULL, NULL, NULL, NULL, err);
}

/* ---- saving ---- */

static void write_indexes(mmdx_blob_writer *w, const char *key, const uint32_t *v, size_t n)
{
    mmdx_blob_printf(w, "%s %zu", key, n);
    for (size_t i = 0; i < n; i++)
        mmdx_blob_printf(w, " %u", v[i]);
    mmdx_blob_printf(w, "\n");
}

void mmdx_joint_save(const mmdx_joint *j, mmdx_blob_writer *w)
{
    const mmdx_joint_options *o = &j->o;
    mmdx_blob_printf(w, "%s 1\nfeatures %zu\nmodalities %zu\n", JOINT_MAGIC, j->nf, j->nm);
    mmdx_blob_printf(w, "architecture %zu %zu %zu %zu\n", o->token_dim, o->heads, o->encoder_hidden,
                     o->decoder_hidden);
    double obj[7] = {o->w_classification, o->w_reconstruction, o->w_contrastive, o->temperature,
                     o->modality_dropout, o->alpha, o->w_fused_alignment};
    mmdx_blob_doubles(w, "objective", obj, 7);
    mmdx_blob_printf(w, "ensemble %zu\n", o->ensemble);
    if (o->pattern_evidence)
        mmdx_blob_printf(w, "pattern_evidence 1\n");
    for (size_t m = 0; m < j->nm; m++) {
        mmdx_blob_printf(w, "modality %zu\n", m);
        write_indexes(w, "features", j->mod[m].feat, j->mod[m].nf);
        write_indexes(w, "indicators", j->mod[m].ind, j->mod[m].ng);
    }
    mmdx_blob_doubles(w, "mean", j->mean, j->nf);
    mmdx_blob_doubles(w, "scale", j->scale, j->nf);
    for (size_t k = 0; k <= o->ensemble; k++) /* the risk members, then the representation */
        mmdx_blob_doubles(w, "parameters", j->theta + k * j->n_params, j->n_params);
}

static int read_size_line(mmdx_blob_reader *r, const char *key, size_t *v, size_t n, uint64_t max)
{
    int rc = mmdx_blob_key(r, key);
    for (size_t i = 0; !rc && i < n; i++) {
        uint64_t x;
        if (!(rc = mmdx_blob_u64(r, &x, max)))
            v[i] = (size_t)x;
    }
    return rc ? rc : mmdx_blob_eol(r);
}

/*
 * The "ensemble K" line; *legacy 1 without it: a model saved before
 * ensembles, one network for both the risk and the representation.
 */
static int read_ensemble(mmdx_blob_reader *r, size_t *k, int *legacy)
{
    static const char key[] = "ensemble ";
    *k = 1;
    *legacy = (size_t)(r->end - r->p) < sizeof key - 1 || memcmp(r->p, key, sizeof key - 1) != 0;
    if (*legacy)
        return 0;
    int rc = read_size_line(r, "ensemble", k, 1, MMDX_JOINT_MAX_ENSEMBLE);
    if (!rc && *k < 1)
        rc = mmdx_blob_fail(r, "an ensemble of 0 networks");
    return rc;
}

/* The "pattern_evidence 1" line; without it (models before it, or trained without) 0. */
static int read_pattern_evidence(mmdx_blob_reader *r, int *on)
{
    static const char key[] = "pattern_evidence ";
    *on = 0;
    if ((size_t)(r->end - r->p) < sizeof key - 1 || memcmp(r->p, key, sizeof key - 1) != 0)
        return 0;
    size_t v;
    int rc = read_size_line(r, "pattern_evidence", &v, 1, 1);
    if (!rc && v != 1)
        rc = mmdx_blob_fail(r, "pattern_evidence %zu (the line is written only for 1)", v);
    if (!rc)
        *on = 1;
    return rc;
}

static int read_indexes(mmdx_blob_reader *r, const char *key, uint32_t **v, size_t *n, uint64_t bound)
{
    uint64_t k;
    int rc = mmdx_blob_key(r, key);
    if (!rc)
        rc = mmdx_blob_u64(r, &k, bound);
    if (rc)
        return rc;
    *v = malloc((k ? k : 1) * sizeof **v);
    if (!*v)
        return mmdx_error_set(r->err, MMDX_ENOMEM, "out of memory");
    *n = (size_t)k;
    for (size_t i = 0; !rc && i < k; i++) {
        uint64_t x;
        if (!(rc = mmdx_blob_u64(r, &x, bound ? bound - 1 : 0)))
            (*v)[i] = (uint32_t)x;
    }
    return rc ? rc : mmdx_blob_eol(r);
}

/*
 * The objective's weights: 7 values, or the 6 of models made before the
 * fused alignment term existed (its weight then 0, which is how they were
 * trained).
 */
static int read_objective(mmdx_blob_reader *r, double obj[7])
{
    size_t n;
    obj[6] = 0.0;
    return mmdx_blob_doubles_read_range(r, "objective", obj, 6, 7, &n);
}

int mmdx_joint_load(mmdx_joint **out, mmdx_blob_reader *r)
{
    *out = NULL;
    uint64_t F, M;
    int rc = mmdx_blob_read_header(r, JOINT_MAGIC, &F, &M);
    if (rc)
        return rc;
    if (M > MMDX_JOINT_MAX_MODALITIES)
        return mmdx_blob_fail(r, "%llu modalities (at most %d)", (unsigned long long)M, MMDX_JOINT_MAX_MODALITIES);
    mmdx_joint *j = calloc(1, sizeof *j);
    if (!j)
        return mmdx_error_set(r->err, MMDX_ENOMEM, "out of memory");
    mmdx_joint_options_init(&j->o);
    j->o.n_threads = omp_get_max_threads();
    j->nf = (size_t)F;
    j->nm = (size_t)M;
    size_t arch[4];
    double obj[7] = {0};
    rc = read_size_line(r, "architecture", arch, 4, 4096);
    if (!rc) {
        j->o.token_dim = arch[0];
        j->o.heads = arch[1];
        j->o.encoder_hidden = arch[2];
        j->o.decoder_hidden = arch[3];
        if (!arch[0] || !arch[1] || !arch[2] || !arch[3] || arch[0] % arch[1])
            rc = mmdx_blob_fail(r, "architecture %zu %zu %zu %zu is not valid", arch[0], arch[1], arch[2], arch[3]);
    }
    if (!rc && !(rc = read_objective(r, obj))) {
        j->o.w_classification = obj[0];
        j->o.w_reconstruction = obj[1];
        j->o.w_contrastive = obj[2];
        j->o.temperature = obj[3];
        j->o.modality_dropout = obj[4];
        j->o.alpha = obj[5];
        j->o.w_fused_alignment = obj[6];
    }
    int legacy = 0;
    if (!rc)
        rc = read_ensemble(r, &j->o.ensemble, &legacy);
    if (!rc)
        rc = read_pattern_evidence(r, &j->o.pattern_evidence);
    size_t seen = 0;
    for (size_t m = 0; !rc && m < j->nm; m++) {
        size_t idx;
        if (!(rc = read_size_line(r, "modality", &idx, 1, M)) && idx != m)
            rc = mmdx_blob_fail(r, "modality %zu where %zu was expected", idx, m);
        if (!rc)
            rc = read_indexes(r, "features", &j->mod[m].feat, &j->mod[m].nf, F);
        if (!rc)
            rc = read_indexes(r, "indicators", &j->mod[m].ind, &j->mod[m].ng, j->mod[m].nf);
        seen += j->mod[m].nf;
    }
    if (!rc && seen != j->nf)
        rc = mmdx_blob_fail(r, "the modalities list %zu features, the header %zu", seen, j->nf);
    if (!rc && (!(j->mean = malloc((F ? F : 1) * sizeof *j->mean)) || !(j->scale = malloc((F ? F : 1) * sizeof *j->scale))))
        rc = mmdx_error_set(r->err, MMDX_ENOMEM, "out of memory");
    if (!rc)
        rc = mmdx_blob_doubles_read(r, "mean", j->mean, j->nf);
    if (!rc)
        rc = mmdx_blob_doubles_read(r, "scale", j->scale, j->nf);
    for (size_t f = 0; !rc && f < j->nf; f++)
        if (!(j->scale[f] > 0))
            rc = mmdx_blob_fail(r, "scale of feature %zu is not positive", f);
    if (!rc)
        rc = mmdx_joint__layout(j, r->err); /* the architecture fixes the parameter count */
    for (size_t k = 0; !rc && k <= (legacy ? 0 : j->o.ensemble); k++)
        rc = mmdx_blob_doubles_read(r, "parameters", j->theta + k * j->n_params, j->n_params);
    if (!rc && legacy)
        memcpy(j->theta + j->n_params, j->theta, j->n_params * sizeof *j->theta);
    if (rc) {
        mmdx_joint_free(j);
        return rc;
    }
    *out = j;
    return 0;
}
