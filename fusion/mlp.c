/* SPDX-License-Identifier: Apache-2.0 */
#include "mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "hot.h"
#include "logreg.h"
#include "rng.h"

#define MLP_MAX_LAYERS 3 /* two hidden + output */

struct mmdx_mlp {
    size_t n_layers;               /* weight layers: hidden count + 1 */
    size_t dims[MLP_MAX_LAYERS + 1]; /* dims[0] = inputs, dims[n_layers] = 1 */
    size_t n_params;
    double *params;                /* W0 b0 W1 b1 ... */
    size_t w_off[MLP_MAX_LAYERS], b_off[MLP_MAX_LAYERS];
    size_t act_size;               /* sum of hidden widths */
};

static int layout(mmdx_mlp *m)
{
    size_t off = 0;
    m->act_size = 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        m->w_off[l] = off;
        off += m->dims[l] * m->dims[l + 1];
        m->b_off[l] = off;
        off += m->dims[l + 1];
        if (l + 1 < m->n_layers)
            m->act_size += m->dims[l + 1];
    }
    m->n_params = off;
    m->params = calloc(off, sizeof *m->params);
    return m->params ? 0 : -1;
}

size_t mmdx_mlp_inputs(const mmdx_mlp *m) { return m->dims[0]; }

void mmdx_mlp_free(mmdx_mlp *m)
{
    if (!m)
        return;
    free(m->params);
    free(m);
}

/* Samples go through the network in blocks: a weight row is then read once
 * per block instead of once per sample, which is what bounds the speed. */
#define MLP_BLOCK 8


/* Input of weight layer l for sample s of a block: x for l == 0, else the
 * (l-1)-th hidden layer's activations. */
static const double *layer_input(const mmdx_mlp *m, const double *const *xs, const double *act, size_t s,
                                 size_t l)
{
    if (l == 0)
        return xs[s];
    size_t off = 0;
    for (size_t k = 1; k < l; k++)
        off += m->dims[k];
    return act + s * m->act_size + off;
}

/* Forward pass of nb <= MLP_BLOCK samples; hidden activations go to act
 * (nb x act_size), output log-odds to z. */
MMDX_HOT static void forward_block(const mmdx_mlp *m, const double *par, const double *const *xs, size_t nb,
                          double *act, double *z)
{
    size_t A = m->act_size, off_out = 0;
    for (size_t l = 0; l + 1 < m->n_layers; l++) {
        size_t ni = m->dims[l], no = m->dims[l + 1];
        const double *w = par + m->w_off[l];
        const double *in[MLP_BLOCK];
        double *outs[MLP_BLOCK];
        for (size_t s = 0; s < nb; s++) {
            in[s] = layer_input(m, xs, act, s, l);
            outs[s] = act + s * A + off_out;
            memcpy(outs[s], par + m->b_off[l], no * sizeof *act);
        }
        for (size_t j = 0; j < ni; j++) {
            const double *wr = w + j * no;
            for (size_t s = 0; s < nb; s++) {
                double v = in[s][j];
                if (v == 0.0)
                    continue; /* ReLU zeros and imputed (standardised) values skip a row of W */
                double *restrict out = outs[s];
                for (size_t k = 0; k < no; k++)
                    out[k] += v * wr[k];
            }
        }
        for (size_t s = 0; s < nb; s++) {
            double *out = act + s * A + off_out;
            for (size_t k = 0; k < no; k++)
                out[k] = out[k] > 0 ? out[k] : 0.0;
        }
        off_out += no;
    }
    size_t l = m->n_layers - 1, ni = m->dims[l];
    const double *w = par + m->w_off[l];
    for (size_t s = 0; s < nb; s++) {
        const double *in = layer_input(m, xs, act, s, l);
        double zs = par[m->b_off[l]];
        for (size_t j = 0; j < ni; j++)
            zs += in[j] * w[j];
        z[s] = zs;
    }
}

/* Backward pass of a block: add sum_s d(coef[s] * loss_s)/d(params) into g.
 * delta and delta_prev hold nb x hmax values. */
MMDX_HOT static void backward_block(const mmdx_mlp *m, const double *par, const double *const *xs, size_t nb,
                           const double *act, const double *coef, double *g, double *delta,
                           double *delta_prev, size_t hmax)
{
    size_t L = m->n_layers, l = L - 1, ni = m->dims[l];
    const double *w = par + m->w_off[l];
    double *gw = g + m->w_off[l];
    for (size_t s = 0; s < nb; s++) {
        const double *in = layer_input(m, xs, act, s, l);
        for (size_t j = 0; j < ni; j++)
            gw[j] += coef[s] * in[j];
        g[m->b_off[l]] += coef[s];
    }
    if (L == 1)
        return;
    for (size_t s = 0; s < nb; s++) {
        const double *in = layer_input(m, xs, act, s, l);
        for (size_t j = 0; j < ni; j++)
            delta[s * hmax + j] = in[j] > 0 ? w[j] * coef[s] : 0.0;
    }
    for (l = L - 1; l-- > 0;) {
        size_t nin = m->dims[l], no = m->dims[l + 1];
        double *gwl = g + m->w_off[l], *gb = g + m->b_off[l];
        for (size_t s = 0; s < nb; s++)
            for (size_t k = 0; k < no; k++)
                gb[k] += delta[s * hmax + k];
        const double *in[MLP_BLOCK];
        for (size_t s = 0; s < nb; s++)
            in[s] = layer_input(m, xs, act, s, l);
        for (size_t j = 0; j < nin; j++) {
            double *restrict gr = gwl + j * no;
            for (size_t s = 0; s < nb; s++) {
                double v = in[s][j];
                if (v == 0.0)
                    continue;
                const double *restrict d = delta + s * hmax;
                for (size_t k = 0; k < no; k++)
                    gr[k] += v * d[k];
            }
        }
        if (l == 0)
            break;
        const double *wl = par + m->w_off[l];
        for (size_t s = 0; s < nb; s++) {
            const double *d = delta + s * hmax;
            for (size_t j = 0; j < nin; j++) {
                double acc = 0;
                if (in[s][j] > 0) {
                    const double *wr = wl + j * no;
                    for (size_t k = 0; k < no; k++)
                        acc += wr[k] * d[k];
                }
                delta_prev[s * hmax + j] = acc;
            }
        }
        memcpy(delta, delta_prev, nb * hmax * sizeof *delta);
    }
}

static double logloss(int32_t y, double z) { return mmdx_log1pexp_neg(y ? z : -z); }

static void chunk(size_t n, int t, int T, size_t *lo, size_t *hi)
{
    size_t c = (n + (size_t)T - 1) / (size_t)T;
    *lo = (size_t)t * c;
    if (*lo > n)
        *lo = n;
    *hi = *lo + c > n ? n : *lo + c;
}

int mmdx_mlp_fit(mmdx_mlp **out, const double *x, size_t n, size_t p, const int32_t *y,
                 const double *sw, const mmdx_fusion_options *o, mmdx_mlp_info *info,
                 mmdx_error *err)
{
    *out = NULL;
    mmdx_mlp_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    size_t count[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        count[y[i] ? 1 : 0]++;
    size_t nval[2];
    for (int c = 0; c < 2; c++) {
        nval[c] = (size_t)floor(o->validation_fraction * (double)count[c] + 0.5);
        if (nval[c] < 1)
            nval[c] = 1;
    }
    if (count[0] < nval[0] + 1 || count[1] < nval[1] + 1 || n < 10)
        return mmdx_error_set(err, MMDX_EINVAL,
                              "MLP: too few samples for a validation split (%zu negatives, %zu positives; "
                              "need at least 2 of each and 10 in all)", count[0], count[1]);
    mmdx_mlp *m = calloc(1, sizeof *m);
    if (!m)
        return mmdx_error_set(err, MMDX_ENOMEM, "MLP: out of memory");
    m->n_layers = o->n_hidden + 1;
    m->dims[0] = p;
    for (size_t l = 0; l < o->n_hidden; l++)
        m->dims[l + 1] = o->hidden[l];
    m->dims[m->n_layers] = 1;
    if (layout(m) != 0) {
        mmdx_mlp_free(m);
        return mmdx_error_set(err, MMDX_ENOMEM, "MLP: out of memory");
    }
    mmdx_rng rng;
    mmdx_rng_seed(&rng, o->seed);
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t fi = m->dims[l], fo = m->dims[l + 1];
        double factor = (l + 1 == m->n_layers) ? 2.0 : 6.0; /* Glorot, as scikit-learn */
        double bound = sqrt(factor / (double)(fi + fo));
        for (size_t k = 0; k < fi * fo; k++)
            m->params[m->w_off[l] + k] = (2.0 * mmdx_rng_uniform(&rng) - 1.0) * bound;
        for (size_t k = 0; k < fo; k++)
            m->params[m->b_off[l] + k] = (2.0 * mmdx_rng_uniform(&rng) - 1.0) * bound;
    }

    /* stratified validation split */
    size_t *train = malloc(n * sizeof *train), *val = malloc(n * sizeof *val);
    size_t *tmp = malloc(n * sizeof *tmp);
    int T = o->n_threads < 1 ? 1 : o->n_threads;
    size_t P = m->n_params, hmax = 0;
    for (size_t l = 1; l < m->n_layers; l++)
        hmax = m->dims[l] > hmax ? m->dims[l] : hmax;
    /* Each thread keeps its own copy of the parameters and Adam moments and applies
     * the same update in the same order, so the copies stay identical and a
     * minibatch needs one barrier, not two; the gradient buffers alternate between
     * two sets so that a thread may start the next minibatch while another still
     * reads the last one's. */
    double *grads = malloc(2 * (size_t)T * P * sizeof *grads);
    double *pp = malloc((size_t)T * P * sizeof *pp);
    double *mom = calloc((size_t)T * P, sizeof *mom), *vel = calloc((size_t)T * P, sizeof *vel);
    double *best = malloc(P * sizeof *best);
    uint8_t *decay = calloc(P, 1);
    size_t per_thread = MLP_BLOCK * (m->act_size + 2 * hmax) + 1;
    double *scratch = malloc((size_t)T * per_thread * sizeof *scratch);
    double *vloss = malloc((size_t)T * 2 * sizeof *vloss);
    if (!train || !val || !tmp || !grads || !pp || !mom || !vel || !best || !decay || !scratch || !vloss) {
        free(train), free(val), free(tmp), free(grads), free(pp), free(mom), free(vel), free(best), free(decay);
        free(scratch), free(vloss);
        mmdx_mlp_free(m);
        return mmdx_error_set(err, MMDX_ENOMEM, "MLP: out of memory (%zu parameters)", P);
    }
    size_t n_train = 0, n_val = 0;
    for (int c = 0; c < 2; c++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if ((y[i] ? 1 : 0) == c)
                tmp[k++] = i;
        mmdx_rng_shuffle(&rng, tmp, k);
        for (size_t j = 0; j < k; j++) {
            if (j < nval[c])
                val[n_val++] = tmp[j];
            else
                train[n_train++] = tmp[j];
        }
    }
    size_t B = o->batch_size < n_train ? o->batch_size : n_train;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double best_loss = INFINITY;
    int since_best = 0;
    long step = 0;
    memcpy(best, m->params, P * sizeof *best);
    for (int t = 0; t < T; t++)
        memcpy(pp + (size_t)t * P, m->params, P * sizeof *pp);
    for (size_t l = 0; l < m->n_layers; l++) /* weight decay applies to weights, not biases */
        memset(decay + m->w_off[l], 1, m->b_off[l] - m->w_off[l]);
    int used = T;

    for (int epoch = 1; epoch <= o->max_epochs; epoch++) {
        mmdx_rng_shuffle(&rng, train, n_train);
        size_t n_batches = (n_train + B - 1) / B;
        long step0 = step;
#pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            if (t == 0)
                used = nt;
            double *my = pp + (size_t)t * P, *mm = mom + (size_t)t * P, *mv = vel + (size_t)t * P;
            if (t > 0) { /* thread 0's copy is the reference (the team may differ between epochs) */
                memcpy(my, pp, P * sizeof *my);
                memcpy(mm, mom, P * sizeof *mm);
                memcpy(mv, vel, P * sizeof *mv);
            }
            double *act = scratch + (size_t)t * per_thread;
            double *delta = act + MLP_BLOCK * m->act_size, *delta_prev = delta + MLP_BLOCK * hmax;
            for (size_t bi = 0; bi < n_batches; bi++) {
                size_t start = bi * B, end = start + B > n_train ? n_train : start + B;
                size_t bs = end - start, lo, hi;
                const double *gset = grads + (bi & 1) * (size_t)nt * P;
                double *g = grads + ((bi & 1) * (size_t)nt + (size_t)t) * P;
                chunk(bs, t, nt, &lo, &hi);
                memset(g, 0, P * sizeof *g);
                for (size_t r0 = start + lo; r0 < start + hi; r0 += MLP_BLOCK) {
                    size_t nb = start + hi - r0 < MLP_BLOCK ? start + hi - r0 : MLP_BLOCK;
                    const double *xs[MLP_BLOCK];
                    double z[MLP_BLOCK], coef[MLP_BLOCK];
                    for (size_t s = 0; s < nb; s++)
                        xs[s] = x + train[r0 + s] * p;
                    forward_block(m, my, xs, nb, act, z);
                    for (size_t s = 0; s < nb; s++) {
                        size_t i = train[r0 + s];
                        double wgt = sw ? sw[i] : 1.0;
                        coef[s] = wgt * (mmdx_sigmoid(z[s]) - (y[i] ? 1.0 : 0.0)) / (double)bs;
                    }
                    backward_block(m, my, xs, nb, act, coef, g, delta, delta_prev, hmax);
                }
#pragma omp barrier
                /* every thread applies the whole update to its own copy; thread order fixes the sum */
                long s = step0 + (long)bi + 1;
                double lr = o->learning_rate * sqrt(1.0 - pow(b2, (double)s)) / (1.0 - pow(b1, (double)s));
                for (size_t k = 0; k < P; k++) {
                    double gk = 0;
                    for (int u = 0; u < nt; u++)
                        gk += gset[(size_t)u * P + k];
                    if (decay[k])
                        gk += o->alpha * my[k] / (double)bs;
                    mm[k] = b1 * mm[k] + (1 - b1) * gk;
                    mv[k] = b2 * mv[k] + (1 - b2) * gk * gk;
                    my[k] -= lr * mm[k] / (sqrt(mv[k]) + eps);
                }
            }
            /* validation log-loss, per-thread partial sums */
            size_t lo, hi;
            chunk(n_val, t, nt, &lo, &hi);
            double ls = 0, ws = 0;
            for (size_t r0 = lo; r0 < hi; r0 += MLP_BLOCK) {
                size_t nb = hi - r0 < MLP_BLOCK ? hi - r0 : MLP_BLOCK;
                const double *xs[MLP_BLOCK];
                double z[MLP_BLOCK];
                for (size_t s = 0; s < nb; s++)
                    xs[s] = x + val[r0 + s] * p;
                forward_block(m, my, xs, nb, act, z);
                for (size_t s = 0; s < nb; s++) {
                    size_t i = val[r0 + s];
                    double wgt = sw ? sw[i] : 1.0;
                    ls += wgt * logloss(y[i], z[s]);
                    ws += wgt;
                }
            }
            vloss[2 * t] = ls;
            vloss[2 * t + 1] = ws;
        }
        step += (long)n_batches;
        double ls = 0, ws = 0;
        for (int t = 0; t < used; t++)
            ls += vloss[2 * t], ws += vloss[2 * t + 1];
        double loss = ls / ws;
        info->epochs = epoch;
        if (!isfinite(loss)) {
            break; /* diverged: keep the best weights seen */
        }
        if (loss < best_loss - 1e-4) {
            best_loss = loss;
            memcpy(best, pp, P * sizeof *best);
            info->best_epoch = epoch;
            since_best = 0;
        } else {
            if (loss < best_loss) {
                best_loss = loss;
                memcpy(best, pp, P * sizeof *best);
                info->best_epoch = epoch;
            }
            if (++since_best >= o->patience)
                break;
        }
    }
    memcpy(m->params, best, P * sizeof *best);
    info->best_val_loss = best_loss;
    free(train), free(val), free(tmp), free(grads), free(pp), free(mom), free(vel), free(best), free(decay);
    free(scratch), free(vloss);
    if (!isfinite(best_loss)) {
        mmdx_mlp_free(m);
        return mmdx_error_set(err, MMDX_EINVAL, "MLP: training diverged (non-finite loss); lower learning_rate");
    }
    *out = m;
    return 0;
}

void mmdx_mlp_logit(const mmdx_mlp *m, const double *x, size_t n, double *out, int n_threads)
{
    int T = (n_threads < 1 || n < 256) ? 1 : n_threads;
#pragma omp parallel num_threads(T)
    {
        double *act = malloc((MLP_BLOCK * m->act_size + 1) * sizeof *act);
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t lo, hi;
        chunk(n, t, nt, &lo, &hi);
        for (size_t r0 = lo; r0 < hi; r0 += MLP_BLOCK) {
            size_t nb = hi - r0 < MLP_BLOCK ? hi - r0 : MLP_BLOCK;
            const double *xs[MLP_BLOCK];
            for (size_t s = 0; s < nb; s++)
                xs[s] = x + (r0 + s) * m->dims[0];
            if (act)
                forward_block(m, m->params, xs, nb, act, out + r0);
            else
                for (size_t s = 0; s < nb; s++)
                    out[r0 + s] = NAN;
        }
        free(act);
    }
}

void mmdx_mlp_save(const mmdx_mlp *m, mmdx_blob_writer *w)
{
    mmdx_blob_printf(w, "mlp_layers %zu", m->n_layers);
    for (size_t l = 0; l <= m->n_layers; l++)
        mmdx_blob_printf(w, " %zu", m->dims[l]);
    mmdx_blob_printf(w, "\n");
    for (size_t l = 0; l < m->n_layers; l++) {
        mmdx_blob_doubles(w, "mlp_weights", m->params + m->w_off[l], m->dims[l] * m->dims[l + 1]);
        mmdx_blob_doubles(w, "mlp_bias", m->params + m->b_off[l], m->dims[l + 1]);
    }
}

int mmdx_mlp_load(mmdx_mlp **out, mmdx_blob_reader *r, size_t p)
{
    *out = NULL;
    uint64_t L, d;
    int rc = mmdx_blob_key(r, "mlp_layers");
    if (!rc)
        rc = mmdx_blob_u64(r, &L, MLP_MAX_LAYERS);
    if (rc)
        return rc;
    if (L < 2)
        return mmdx_blob_fail(r, "an MLP needs 2 or 3 layers");
    mmdx_mlp *m = calloc(1, sizeof *m);
    if (!m)
        return mmdx_error_set(r->err, MMDX_ENOMEM, "MLP: out of memory");
    m->n_layers = (size_t)L;
    for (size_t l = 0; l <= m->n_layers; l++) {
        if ((rc = mmdx_blob_u64(r, &d, 1u << 20)) != 0) {
            mmdx_mlp_free(m);
            return rc;
        }
        m->dims[l] = (size_t)d;
    }
    if ((rc = mmdx_blob_eol(r)) != 0) {
        mmdx_mlp_free(m);
        return rc;
    }
    if (m->dims[0] != p || m->dims[m->n_layers] != 1) {
        mmdx_mlp_free(m);
        return mmdx_blob_fail(r, "MLP shape does not match %zu inputs and one output", p);
    }
    for (size_t l = 1; l < m->n_layers; l++)
        if (m->dims[l] == 0 || m->dims[l] > 4096) {
            mmdx_mlp_free(m);
            return mmdx_blob_fail(r, "MLP hidden layer width out of range");
        }
    if (layout(m) != 0) {
        mmdx_mlp_free(m);
        return mmdx_error_set(r->err, MMDX_ENOMEM, "MLP: out of memory");
    }
    for (size_t l = 0; l < m->n_layers; l++) {
        rc = mmdx_blob_doubles_read(r, "mlp_weights", m->params + m->w_off[l], m->dims[l] * m->dims[l + 1]);
        if (!rc)
            rc = mmdx_blob_doubles_read(r, "mlp_bias", m->params + m->b_off[l], m->dims[l + 1]);
        if (rc) {
            mmdx_mlp_free(m);
            return rc;
        }
    }
    *out = m;
    return 0;
}
