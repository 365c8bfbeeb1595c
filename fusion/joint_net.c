/* SPDX-License-Identifier: Apache-2.0 */
/* The joint network: parameter layout, the training objective and its gradient. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "joint_internal.h"

#define CHUNK 16 /* rows whose attention gradients share one buffer: fixed, so sums do not depend on threads */

int mmdx_joint__layout(mmdx_joint *j, mmdx_error *err)
{
    size_t d = j->o.token_dim, he = j->o.encoder_hidden, hd = j->o.decoder_hidden, k = 0;
    size_t ranges[5 * MMDX_JOINT_MAX_MODALITIES + 16][2], nr = 0; /* weight-matrix ranges (decayed) */
#define TAKE(field, count, decayed)                                                                             \
    do {                                                                                                        \
        (field) = k;                                                                                            \
        if (decayed) {                                                                                          \
            ranges[nr][0] = k;                                                                                  \
            ranges[nr++][1] = k + (count);                                                                      \
        }                                                                                                       \
        k += (count);                                                                                           \
    } while (0)
    for (size_t m = 0; m < j->nm; m++) {
        joint_mod *md = &j->mod[m];
        md->p = md->nf + md->ng;
        TAKE(md->w1, he * md->p, 1);
        TAKE(md->b1, he, 0);
        TAKE(md->w2, d * he, 1);
        TAKE(md->b2, d, 0);
        TAKE(md->u, hd * d, 1);
        TAKE(md->a, hd, 0);
        TAKE(md->v, md->nf * hd, 1);
        TAKE(md->vb, md->nf, 0);
        TAKE(md->lw, md->p, 1);
        TAKE(md->ld, j->o.pattern_evidence ? joint_pattern_terms(j->nm) * md->p : 0, 1);
    }
    TAKE(j->wq, d * d, 1);
    TAKE(j->wk, d * d, 1);
    TAKE(j->wv, d * d, 1);
    TAKE(j->wo, d * d, 1);
    TAKE(j->bo, d, 0);
    TAKE(j->cls, d, 0);
    TAKE(j->pq, d * d, 1);
    TAKE(j->pk, d * d, 1);
    TAKE(j->pv, d * d, 1);
    TAKE(j->po, d * d, 1);
    TAKE(j->pb, d, 0);
    TAKE(j->hw, d, 1);
    TAKE(j->hb, 1, 0);
    TAKE(j->tw, d, 1);
    TAKE(j->lb, j->o.pattern_evidence ? joint_pattern_terms(j->nm) : 0, 0);
#undef TAKE
    j->n_params = k;
    free(j->theta);
    free(j->decay);
    /* the risk members' parameter vectors, one after another, then the representation's */
    size_t members = (j->o.ensemble ? j->o.ensemble : 1) + 1;
    j->theta = calloc(k * members, sizeof *j->theta);
    j->decay = calloc(k, 1);
    if (!j->theta || !j->decay)
        return mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory (%zu x %zu parameters)", members, k);
    for (size_t r = 0; r < nr; r++)
        memset(j->decay + ranges[r][0], 1, ranges[r][1] - ranges[r][0]);
    return 0;
}

/* y (n) = W (n x m) x + (b or 0) */
static void matvec(const double *w, const double *x, size_t n, size_t m, const double *b, double *y)
{
    for (size_t i = 0; i < n; i++) {
        const double *wi = w + i * m;
        double s = b ? b[i] : 0.0;
        for (size_t c = 0; c < m; c++)
            s += wi[c] * x[c];
        y[i] = s;
    }
}

/* x_grad (m) += W^T (n x m) g (n) */
static void matvec_t_add(const double *w, const double *g, size_t n, size_t m, double *xg)
{
    for (size_t i = 0; i < n; i++) {
        const double *wi = w + i * m;
        double gi = g[i];
        if (gi == 0.0)
            continue;
        for (size_t c = 0; c < m; c++)
            xg[c] += wi[c] * gi;
    }
}

/* G (n x m) += g (n) outer x (m) */
static void outer_add(double *G, const double *g, const double *x, size_t n, size_t m)
{
    for (size_t i = 0; i < n; i++) {
        double gi = g[i];
        if (gi == 0.0)
            continue;
        double *Gi = G + i * m;
        for (size_t c = 0; c < m; c++)
            Gi[c] += gi * x[c];
    }
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void mmdx_joint__input_row(const mmdx_joint *j, size_t m, const double *x_row, double *input)
{
    const joint_mod *md = &j->mod[m];
    for (size_t q = 0; q < md->nf; q++) {
        uint32_t f = md->feat[q];
        double v = x_row[f];
        input[q] = isnan(v) ? 0.0 : (v - j->mean[f]) / j->scale[f];
    }
    for (size_t g = 0; g < md->ng; g++)
        input[md->nf + g] = isnan(x_row[md->feat[md->ind[g]]]) ? 1.0 : 0.0;
}

double mmdx_joint__encode_row(const mmdx_joint *j, const double *theta, size_t m, const double *x_row, double *input,
                              double *hidden, double *token, double *pattern)
{
    const joint_mod *md = &j->mod[m];
    mmdx_joint__input_row(j, m, x_row, input);
    size_t M = j->nm;
    for (size_t a = 0; a < M; a++) {
        int ua = j->o.pattern_evidence && a != m && j->mod[a].nf > 0;
        pattern[a] = ua ? dot(theta + md->ld + a * md->p, input, md->p) : 0.0;
        for (size_t b = a + 1; b < M; b++) {
            size_t t = M + joint_pair(a, b, M);
            pattern[t] = ua && b != m && j->mod[b].nf > 0 ? dot(theta + md->ld + t * md->p, input, md->p) : 0.0;
        }
    }
    size_t he = j->o.encoder_hidden;
    matvec(theta + md->w1, input, he, md->p, theta + md->b1, hidden);
    for (size_t h = 0; h < he; h++)
        hidden[h] = hidden[h] > 0 ? hidden[h] : 0.0;
    matvec(theta + md->w2, hidden, j->o.token_dim, he, theta + md->b2, token);
    return dot(theta + md->lw, input, md->p);
}

void mmdx_joint__decode(const mmdx_joint *j, const double *theta, size_t m, const double *ctx, double *hidden,
                        double *out)
{
    const joint_mod *md = &j->mod[m];
    size_t hd = j->o.decoder_hidden;
    matvec(theta + md->u, ctx, hd, j->o.token_dim, theta + md->a, hidden);
    for (size_t h = 0; h < hd; h++)
        hidden[h] = hidden[h] > 0 ? hidden[h] : 0.0;
    matvec(theta + md->v, hidden, md->nf, hd, theta + md->vb, out);
}

/* ---- attention over one patient's tokens ---- */

typedef struct att {
    size_t L, d, nh, dh;
    double *S, *Q, *K, *V, *A, *O, *U, *Kp, *Vp, *B, *qc, *oc, *z;
    /* gradients */
    double *dS, *dQ, *dK, *dV, *dO, *dU, *dKp, *dVp, *dqc, *doc, *dz;
    double *tb, *dzx, *gtb; /* fused alignment: the target direction, the gradients on z and on it */
} att;

static size_t att_doubles(size_t M, size_t d, size_t nh)
{
    return 9 * M * d + nh * M * M + nh * M + 4 * d + 9 * M * d + 6 * d + 8;
}

static void att_bind(att *a, double *buf, size_t M, size_t d, size_t nh)
{
    double *p = buf;
#define ARR(f, count)                                                                                           \
    do {                                                                                                        \
        a->f = p;                                                                                               \
        p += (count);                                                                                           \
    } while (0)
    ARR(S, M * d);
    ARR(Q, M * d);
    ARR(K, M * d);
    ARR(V, M * d);
    ARR(O, M * d);
    ARR(U, M * d);
    ARR(Kp, M * d);
    ARR(Vp, M * d);
    ARR(A, nh * M * M);
    ARR(B, nh * M);
    ARR(qc, d);
    ARR(oc, d);
    ARR(z, d);
    ARR(dS, M * d);
    ARR(dQ, M * d);
    ARR(dK, M * d);
    ARR(dV, M * d);
    ARR(dO, M * d);
    ARR(dU, M * d);
    ARR(dKp, M * d);
    ARR(dVp, M * d);
    ARR(dqc, d);
    ARR(doc, d);
    ARR(dz, d);
    ARR(tb, d);
    ARR(dzx, d);
    ARR(gtb, d);
#undef ARR
    a->d = d;
    a->nh = nh;
    a->dh = d / nh;
}

/* softmax over n values in place */
static void softmax(double *s, size_t n)
{
    double mx = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++)
        mx = s[i] > mx ? s[i] : mx;
    for (size_t i = 0; i < n; i++)
        sum += (s[i] = exp(s[i] - mx));
    for (size_t i = 0; i < n; i++)
        s[i] /= sum;
}

/* Forward: a->S holds L tokens. Fills z and returns the logit. */
static double att_forward(const mmdx_joint *j, const double *th, att *a)
{
    size_t L = a->L, d = a->d, nh = a->nh, dh = a->dh;
    double inv = 1.0 / sqrt((double)dh);
    const double *cls = th + j->cls;
    if (L == 0) {
        for (size_t c = 0; c < d; c++) {
            a->oc[c] = 0.0;
            a->z[c] = cls[c] + th[j->pb + c];
        }
    } else {
        for (size_t i = 0; i < L; i++) {
            matvec(th + j->wq, a->S + i * d, d, d, NULL, a->Q + i * d);
            matvec(th + j->wk, a->S + i * d, d, d, NULL, a->K + i * d);
            matvec(th + j->wv, a->S + i * d, d, d, NULL, a->V + i * d);
        }
        for (size_t h = 0; h < nh; h++)
            for (size_t i = 0; i < L; i++) {
                double *Ai = a->A + (h * L + i) * L;
                for (size_t k = 0; k < L; k++) {
                    double s = 0;
                    for (size_t c = h * dh; c < (h + 1) * dh; c++)
                        s += a->Q[i * d + c] * a->K[k * d + c];
                    Ai[k] = s * inv;
                }
                softmax(Ai, L);
                for (size_t c = h * dh; c < (h + 1) * dh; c++) {
                    double o = 0;
                    for (size_t k = 0; k < L; k++)
                        o += Ai[k] * a->V[k * d + c];
                    a->O[i * d + c] = o;
                }
            }
        for (size_t i = 0; i < L; i++) {
            matvec(th + j->wo, a->O + i * d, d, d, th + j->bo, a->U + i * d);
            for (size_t c = 0; c < d; c++)
                a->U[i * d + c] += a->S[i * d + c];
            matvec(th + j->pk, a->U + i * d, d, d, NULL, a->Kp + i * d);
            matvec(th + j->pv, a->U + i * d, d, d, NULL, a->Vp + i * d);
        }
        matvec(th + j->pq, cls, d, d, NULL, a->qc);
        for (size_t h = 0; h < nh; h++) {
            double *Bh = a->B + h * L;
            for (size_t k = 0; k < L; k++) {
                double s = 0;
                for (size_t c = h * dh; c < (h + 1) * dh; c++)
                    s += a->qc[c] * a->Kp[k * d + c];
                Bh[k] = s * inv;
            }
            softmax(Bh, L);
            for (size_t c = h * dh; c < (h + 1) * dh; c++) {
                double o = 0;
                for (size_t k = 0; k < L; k++)
                    o += Bh[k] * a->Vp[k * d + c];
                a->oc[c] = o;
            }
        }
        matvec(th + j->po, a->oc, d, d, th + j->pb, a->z);
        for (size_t c = 0; c < d; c++)
            a->z[c] += cls[c];
    }
    double logit = th[j->hb];
    for (size_t c = 0; c < d; c++)
        logit += th[j->hw + c] * a->z[c];
    for (size_t i = 0; i < L; i++) /* each present modality's own evidence, summed (as late fusion) */
        for (size_t c = 0; c < d; c++)
            logit += th[j->tw + c] * a->U[i * d + c];
    return logit;
}

/*
 * Backward from dlogit and, when dzx is not NULL, a further gradient dzx on
 * the fused vector z: gradients of the attention, pooling and head
 * parameters into g, which holds the parameters from offset `base` (j->wq)
 * on; token gradients into a->dS.
 */
static void att_backward(const mmdx_joint *j, const double *th, att *a, double dlogit, const double *dzx, double *g,
                         size_t base)
{
    size_t L = a->L, d = a->d, nh = a->nh, dh = a->dh;
    double inv = 1.0 / sqrt((double)dh);
    const double *cls = th + j->cls;
    for (size_t c = 0; c < d; c++) {
        a->dz[c] = dlogit * th[j->hw + c] + (dzx ? dzx[c] : 0.0);
        g[j->hw - base + c] += dlogit * a->z[c];
        g[j->cls - base + c] += a->dz[c];
        g[j->pb - base + c] += a->dz[c];
    }
    g[j->hb - base] += dlogit;
    if (L == 0)
        return;
    outer_add(g + (j->po - base), a->dz, a->oc, d, d);
    for (size_t i = 0; i < L; i++)
        for (size_t c = 0; c < d; c++)
            g[j->tw - base + c] += dlogit * a->U[i * d + c];
    memset(a->doc, 0, d * sizeof *a->doc);
    matvec_t_add(th + j->po, a->dz, d, d, a->doc);
    memset(a->dqc, 0, d * sizeof *a->dqc);
    memset(a->dKp, 0, L * d * sizeof *a->dKp);
    for (size_t h = 0; h < nh; h++) {
        const double *Bh = a->B + h * L;
        double dB[MMDX_JOINT_MAX_MODALITIES], sum = 0;
        for (size_t k = 0; k < L; k++) {
            double s = 0;
            for (size_t c = h * dh; c < (h + 1) * dh; c++) {
                s += a->doc[c] * a->Vp[k * d + c];
                a->dVp[k * d + c] = Bh[k] * a->doc[c];
            }
            dB[k] = s;
            sum += Bh[k] * s;
        }
        for (size_t k = 0; k < L; k++) {
            double ds = Bh[k] * (dB[k] - sum) * inv;
            for (size_t c = h * dh; c < (h + 1) * dh; c++) {
                a->dqc[c] += ds * a->Kp[k * d + c];
                a->dKp[k * d + c] += ds * a->qc[c];
            }
        }
    }
    for (size_t k = 0; k < L; k++)
        for (size_t c = 0; c < d; c++)
            a->dU[k * d + c] = dlogit * th[j->tw + c];
    for (size_t k = 0; k < L; k++) {
        outer_add(g + (j->pv - base), a->dVp + k * d, a->U + k * d, d, d);
        outer_add(g + (j->pk - base), a->dKp + k * d, a->U + k * d, d, d);
        matvec_t_add(th + j->pv, a->dVp + k * d, d, d, a->dU + k * d);
        matvec_t_add(th + j->pk, a->dKp + k * d, d, d, a->dU + k * d);
    }
    outer_add(g + (j->pq - base), a->dqc, cls, d, d);
    matvec_t_add(th + j->pq, a->dqc, d, d, g + (j->cls - base));
    /* self-attention */
    memcpy(a->dS, a->dU, L * d * sizeof *a->dS);
    memset(a->dO, 0, L * d * sizeof *a->dO);
    for (size_t i = 0; i < L; i++) {
        outer_add(g + (j->wo - base), a->dU + i * d, a->O + i * d, d, d);
        for (size_t c = 0; c < d; c++)
            g[j->bo - base + c] += a->dU[i * d + c];
        matvec_t_add(th + j->wo, a->dU + i * d, d, d, a->dO + i * d);
    }
    memset(a->dQ, 0, L * d * sizeof *a->dQ);
    memset(a->dK, 0, L * d * sizeof *a->dK);
    memset(a->dV, 0, L * d * sizeof *a->dV);
    for (size_t h = 0; h < nh; h++)
        for (size_t i = 0; i < L; i++) {
            const double *Ai = a->A + (h * L + i) * L;
            double dA[MMDX_JOINT_MAX_MODALITIES], sum = 0;
            for (size_t k = 0; k < L; k++) {
                double s = 0;
                for (size_t c = h * dh; c < (h + 1) * dh; c++) {
                    s += a->dO[i * d + c] * a->V[k * d + c];
                    a->dV[k * d + c] += Ai[k] * a->dO[i * d + c];
                }
                dA[k] = s;
                sum += Ai[k] * s;
            }
            for (size_t k = 0; k < L; k++) {
                double ds = Ai[k] * (dA[k] - sum) * inv;
                for (size_t c = h * dh; c < (h + 1) * dh; c++) {
                    a->dQ[i * d + c] += ds * a->K[k * d + c];
                    a->dK[k * d + c] += ds * a->Q[i * d + c];
                }
            }
        }
    for (size_t i = 0; i < L; i++) {
        const double *Si = a->S + i * d;
        outer_add(g + (j->wq - base), a->dQ + i * d, Si, d, d);
        outer_add(g + (j->wk - base), a->dK + i * d, Si, d, d);
        outer_add(g + (j->wv - base), a->dV + i * d, Si, d, d);
        matvec_t_add(th + j->wq, a->dQ + i * d, d, d, a->dS + i * d);
        matvec_t_add(th + j->wk, a->dK + i * d, d, d, a->dS + i * d);
        matvec_t_add(th + j->wv, a->dV + i * d, d, d, a->dS + i * d);
    }
}

size_t mmdx_joint__row_scratch(const mmdx_joint *j)
{
    return att_doubles(j->nm ? j->nm : 1, j->o.token_dim, j->o.heads);
}

double mmdx_joint__forward_row(const mmdx_joint *j, const double *theta, const double *const *tokens, size_t n_tok,
                               double *z, double *scratch)
{
    att a;
    att_bind(&a, scratch, j->nm ? j->nm : 1, j->o.token_dim, j->o.heads);
    a.L = n_tok;
    for (size_t i = 0; i < n_tok; i++)
        memcpy(a.S + i * a.d, tokens[i], a.d * sizeof *a.S);
    double logit = att_forward(j, theta, &a);
    if (z)
        memcpy(z, a.z, a.d * sizeof *z);
    return logit;
}

/* ---- the batch workspace ---- */

struct joint_ws {
    size_t max_rows;
    /* per modality: rows of the batch with it present, and their encoder activations */
    size_t nrow[MMDX_JOINT_MAX_MODALITIES];
    size_t *rows[MMDX_JOINT_MAX_MODALITIES]; /* batch row indexes */
    double *X[MMDX_JOINT_MAX_MODALITIES], *H[MMDX_JOINT_MAX_MODALITIES], *T[MMDX_JOINT_MAX_MODALITIES];
    double *dT[MMDX_JOINT_MAX_MODALITIES], *dH[MMDX_JOINT_MAX_MODALITIES];
    long *pos; /* max_rows x M: index into T[m], or -1 */
    /* decoders: per modality, the rows reconstructed */
    size_t nrec[MMDX_JOINT_MAX_MODALITIES];
    size_t *rec_rows[MMDX_JOINT_MAX_MODALITIES];
    double *C[MMDX_JOINT_MAX_MODALITIES], *G[MMDX_JOINT_MAX_MODALITIES], *Y[MMDX_JOINT_MAX_MODALITIES];
    double *dY, *dG, *dC;
    /* attention: per chunk of rows, scratch and gradient buffers */
    size_t n_chunks, att_size;
    double *att_buf, *chunk_grad, *chunk_loss, *chunk_fa;
    size_t *chunk_fa_rows;
    double *dlogit;
    /* contrastive scratch */
    double *zn_a, *zn_b, *sim, *dsim, *dza, *dzb, *rsum, *csum;
    size_t *pair_rows_a, *pair_rows_b;
};

void mmdx_joint__ws_free(joint_ws *w)
{
    if (!w)
        return;
    for (size_t m = 0; m < MMDX_JOINT_MAX_MODALITIES; m++) {
        free(w->rows[m]), free(w->X[m]), free(w->H[m]), free(w->T[m]), free(w->dT[m]), free(w->dH[m]);
        free(w->rec_rows[m]), free(w->C[m]), free(w->G[m]), free(w->Y[m]);
    }
    free(w->pos), free(w->dY), free(w->dG), free(w->dC), free(w->att_buf), free(w->chunk_grad);
    free(w->chunk_loss), free(w->chunk_fa), free(w->chunk_fa_rows), free(w->dlogit), free(w->zn_a), free(w->zn_b), free(w->sim), free(w->dsim), free(w->dza);
    free(w->rsum), free(w->csum);
    free(w->dzb), free(w->pair_rows_a), free(w->pair_rows_b);
    free(w);
}

joint_ws *mmdx_joint__ws_new(const mmdx_joint *j, size_t max_rows)
{
    joint_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t R = max_rows ? max_rows : 1, d = j->o.token_dim, he = j->o.encoder_hidden, hd = j->o.decoder_hidden;
    size_t M = j->nm, maxf = 1;
    w->max_rows = R;
    int ok = 1;
    for (size_t m = 0; m < M; m++) {
        const joint_mod *md = &j->mod[m];
        maxf = md->nf > maxf ? md->nf : maxf;
        ok &= !!(w->rows[m] = malloc(R * sizeof *w->rows[m]));
        ok &= !!(w->X[m] = malloc(R * (md->p + 1) * sizeof(double)));
        ok &= !!(w->H[m] = malloc(R * he * sizeof(double)));
        ok &= !!(w->T[m] = malloc(R * d * sizeof(double)));
        ok &= !!(w->dT[m] = malloc(R * d * sizeof(double)));
        ok &= !!(w->dH[m] = malloc(R * he * sizeof(double)));
        ok &= !!(w->rec_rows[m] = malloc(R * sizeof *w->rec_rows[m]));
        ok &= !!(w->C[m] = malloc(R * d * sizeof(double)));
        ok &= !!(w->G[m] = malloc(R * hd * sizeof(double)));
        ok &= !!(w->Y[m] = malloc(R * (md->nf + 1) * sizeof(double)));
    }
    w->n_chunks = (R + CHUNK - 1) / CHUNK;
    w->att_size = mmdx_joint__row_scratch(j);
    ok &= !!(w->pos = malloc(R * (M ? M : 1) * sizeof *w->pos));
    ok &= !!(w->dY = malloc(R * maxf * sizeof(double)));
    ok &= !!(w->dG = malloc(R * hd * sizeof(double)));
    ok &= !!(w->dC = malloc(R * d * sizeof(double)));
    ok &= !!(w->att_buf = malloc(w->n_chunks * w->att_size * sizeof(double)));
    ok &= !!(w->chunk_grad = malloc(w->n_chunks * (j->n_params - j->wq + 1) * sizeof(double)));
    ok &= !!(w->chunk_loss = malloc(w->n_chunks * sizeof(double)));
    ok &= !!(w->chunk_fa = malloc(w->n_chunks * sizeof(double)));
    ok &= !!(w->chunk_fa_rows = malloc(w->n_chunks * sizeof(size_t)));
    ok &= !!(w->dlogit = malloc(R * sizeof(double)));
    ok &= !!(w->zn_a = malloc(R * d * sizeof(double)));
    ok &= !!(w->zn_b = malloc(R * d * sizeof(double)));
    ok &= !!(w->sim = malloc(R * R * sizeof(double)));
    ok &= !!(w->dsim = malloc(R * R * sizeof(double)));
    ok &= !!(w->rsum = malloc(R * sizeof(double)));
    ok &= !!(w->csum = malloc(R * sizeof(double)));
    ok &= !!(w->dza = malloc(R * d * sizeof(double)));
    ok &= !!(w->dzb = malloc(R * d * sizeof(double)));
    ok &= !!(w->pair_rows_a = malloc(R * sizeof(size_t)));
    ok &= !!(w->pair_rows_b = malloc(R * sizeof(size_t)));
    if (!ok) {
        mmdx_joint__ws_free(w);
        return NULL;
    }
    return w;
}

/* ---- the objective ---- */

static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

/* Symmetric InfoNCE between the tokens of modalities a and b of the rows having both. */
static double contrastive_pair(const mmdx_joint *j, joint_ws *w, size_t ma, size_t mb, size_t n, double scale,
                               int want_grad)
{
    size_t d = j->o.token_dim, R = 0;
    for (size_t r = 0; r < n; r++) {
        long pa = w->pos[r * j->nm + ma], pb = w->pos[r * j->nm + mb];
        if (pa >= 0 && pb >= 0) {
            w->pair_rows_a[R] = (size_t)pa;
            w->pair_rows_b[R++] = (size_t)pb;
        }
    }
    if (R < 2)
        return NAN;
    double tau = j->o.temperature;
    for (size_t i = 0; i < R; i++) {
        const double *ta = w->T[ma] + w->pair_rows_a[i] * d, *tb = w->T[mb] + w->pair_rows_b[i] * d;
        double sa = 0, sb = 0;
        for (size_t c = 0; c < d; c++) {
            sa += ta[c] * ta[c];
            sb += tb[c] * tb[c];
        }
        sa = sqrt(sa) + 1e-12;
        sb = sqrt(sb) + 1e-12;
        for (size_t c = 0; c < d; c++) {
            w->zn_a[i * d + c] = ta[c] / sa;
            w->zn_b[i * d + c] = tb[c] / sb;
        }
    }
    /* sim[i][k] = cos(a_i, b_k) / tau */
    const mmdx_joint_options *o = &j->o;
    int nt = o->n_threads > 0 ? o->n_threads : 1;
    mmdx_dense_gemm(o->engine, nt, 0, 1, R, R, d, 1.0 / tau, w->zn_a, d, w->zn_b, d, 0.0, w->sim, R);
    double loss = 0;
    /* dS = (softmax over each row - I + softmax over each column - I) / (2R) */
    double *dS = w->dsim;
    /* |cos| <= 1 and tau >= 1/300 (the configuration's bound): one shift, 1/tau, keeps every exp
     * in (e^-600, 1], so the row and the column softmax share one exp per pair */
    double shift = 1.0 / tau;
    for (size_t i = 0; i < R; i++)
        w->rsum[i] = w->csum[i] = 0.0;
    for (size_t i = 0; i < R; i++)
        for (size_t k = 0; k < R; k++) {
            double e = exp(w->sim[i * R + k] - shift);
            dS[i * R + k] = e;
            w->rsum[i] += e;
            w->csum[k] += e;
        }
    for (size_t i = 0; i < R; i++)
        loss += -(w->sim[i * R + i] - shift - log(w->rsum[i])) - (w->sim[i * R + i] - shift - log(w->csum[i]));
    for (size_t i = 0; want_grad && i < R; i++)
        for (size_t k = 0; k < R; k++) {
            double e = dS[i * R + k];
            dS[i * R + k] = (e / w->rsum[i] + e / w->csum[k] - 2.0 * (i == k)) / (2.0 * (double)R);
        }
    loss /= 2.0 * (double)R;
    if (!want_grad)
        return loss;
    /* through the cosine: dzn_a[i] = sum_k dS[i][k] zn_b[k] / tau, likewise b; then the normalisation */
    mmdx_dense_gemm(o->engine, nt, 0, 0, R, d, R, 1.0 / tau, dS, R, w->zn_b, d, 0.0, w->dza, d);
    mmdx_dense_gemm(o->engine, nt, 1, 0, R, d, R, 1.0 / tau, dS, R, w->zn_a, d, 0.0, w->dzb, d);
    for (size_t i = 0; i < R; i++)
        for (int side = 0; side < 2; side++) {
            size_t m = side ? mb : ma, row = side ? w->pair_rows_b[i] : w->pair_rows_a[i];
            const double *t = w->T[m] + row * d, *zn = (side ? w->zn_b : w->zn_a) + i * d;
            const double *gz = (side ? w->dzb : w->dza) + i * d;
            double nrm = 0, dot = 0;
            for (size_t c = 0; c < d; c++) {
                nrm += t[c] * t[c];
                dot += zn[c] * gz[c];
            }
            nrm = sqrt(nrm) + 1e-12;
            double *dt = w->dT[m] + row * d;
            for (size_t c = 0; c < d; c++)
                dt[c] += scale * (gz[c] - zn[c] * dot) / nrm;
        }
    return loss;
}

/*
 * Fused alignment of row r: 1 - cos(z, t), t the mean of the unit tokens of
 * every modality the patient has (also those hidden by modality dropout), so
 * that the fused vector of any subset points where the whole patient's
 * aligned tokens do. Returns the row's term (0 and *n_all 0 without a
 * modality). With scale > 0: scale * the gradient on z into a->dzx, and on
 * the tokens into w->dT.
 */
static double fused_alignment(joint_ws *w, size_t r, size_t M, size_t D, att *a, double scale, size_t *n_all)
{
    size_t L = 0;
    memset(a->tb, 0, D * sizeof *a->tb);
    for (size_t m = 0; m < M; m++) {
        long p = w->pos[r * M + m];
        if (p < 0)
            continue;
        const double *t = w->T[m] + (size_t)p * D;
        double nt = sqrt(dot(t, t, D)) + 1e-12;
        for (size_t c = 0; c < D; c++)
            a->tb[c] += t[c] / nt;
        L++;
    }
    *n_all = L;
    if (L == 0)
        return 0.0;
    for (size_t c = 0; c < D; c++)
        a->tb[c] /= (double)L;
    double nz = sqrt(dot(a->z, a->z, D)) + 1e-12, nb = sqrt(dot(a->tb, a->tb, D)) + 1e-12;
    double cs = dot(a->z, a->tb, D) / (nz * nb);
    if (scale <= 0)
        return 1.0 - cs;
    /* d(1 - cos)/dz = -(tb/|tb| - cos z/|z|)/|z|; d/dtb likewise; tb = mean of t_m/|t_m| */
    double *gtb = a->gtb;
    for (size_t c = 0; c < D; c++) {
        a->dzx[c] = -scale * (a->tb[c] / nb - cs * a->z[c] / nz) / nz;
        gtb[c] = -scale * (a->z[c] / nz - cs * a->tb[c] / nb) / nb / (double)L;
    }
    for (size_t m = 0; m < M; m++) {
        long p = w->pos[r * M + m];
        if (p < 0)
            continue;
        const double *t = w->T[m] + (size_t)p * D;
        double nt = sqrt(dot(t, t, D)) + 1e-12, ug = 0;
        for (size_t c = 0; c < D; c++)
            ug += t[c] / nt * gtb[c];
        double *dt = w->dT[m] + (size_t)p * D;
        for (size_t c = 0; c < D; c++)
            dt[c] += (gtb[c] - t[c] / nt * ug) / nt;
    }
    return 1.0 - cs;
}

/* Whether row r of the pass shows modality m to the network (present and not hidden). */
static int shown(const joint_ws *w, const uint8_t *visible, size_t r, size_t M, size_t m)
{
    return w->pos[r * M + m] >= 0 && (!visible || visible[r * M + m]);
}

size_t mmdx_joint__pattern_terms(const mmdx_joint *j, const uint8_t *on, size_t *off)
{
    size_t M = j->nm, n_off = 0, hid[MMDX_JOINT_MAX_MODALITIES], nh = 0;
    if (!j->o.pattern_evidence)
        return 0;
    for (size_t k = 0; k < M; k++)
        if (j->mod[k].nf > 0 && !on[k])
            hid[nh++] = k;
    for (size_t a = 0; a < nh; a++)
        off[n_off++] = hid[a];
    for (size_t a = 0; a < nh; a++)
        for (size_t b = a + 1; b < nh; b++)
            off[n_off++] = M + joint_pair(hid[a], hid[b], M);
    return n_off;
}

/* The pattern terms in force for row r of a pass (see mmdx_joint__pattern_terms). */
static size_t pattern_terms_off(const mmdx_joint *j, const joint_ws *w, const uint8_t *visible, size_t r,
                                size_t *off)
{
    uint8_t on[MMDX_JOINT_MAX_MODALITIES];
    for (size_t k = 0; k < j->nm; k++)
        on[k] = (uint8_t)shown(w, visible, r, j->nm, k);
    return mmdx_joint__pattern_terms(j, on, off);
}

double mmdx_joint__pass(const mmdx_joint *j, const double *th, const mmdx_dataset *d, const size_t *rows, size_t n,
                        const uint8_t *visible, const double *sw, int with_contrastive, joint_ws *w, double *grad,
                        joint_loss *out)
{
    const mmdx_joint_options *o = &j->o;
    size_t M = j->nm, D = o->token_dim, he = o->encoder_hidden, hd = o->decoder_hidden;
    int nt = o->n_threads > 0 ? o->n_threads : 1;
    memset(out, 0, sizeof *out);
    out->n = n;
    if (grad)
        memset(grad, 0, j->n_params * sizeof *grad);

    /* 1. encoders, batched per modality over the rows that have it */
    for (size_t m = 0; m < M; m++) {
        const joint_mod *md = &j->mod[m];
        size_t k = 0;
        for (size_t r = 0; r < n; r++) {
            long p = -1;
            if (d->present[rows[r] * M + m] && md->nf > 0) {
                w->rows[m][k] = r;
                p = (long)k++;
            }
            w->pos[r * M + m] = p;
        }
        w->nrow[m] = k;
        for (size_t i = 0; i < k; i++) {
            mmdx_joint__input_row(j, m, d->x + rows[w->rows[m][i]] * d->n_features, w->X[m] + i * md->p);
            memcpy(w->H[m] + i * he, th + md->b1, he * sizeof(double));
            memcpy(w->T[m] + i * D, th + md->b2, D * sizeof(double));
        }
        mmdx_dense_gemm(o->engine, nt, 0, 1, k, he, md->p, 1.0, w->X[m], md->p, th + md->w1, md->p, 1.0, w->H[m],
                        he);
        for (size_t i = 0; i < k * he; i++)
            w->H[m][i] = w->H[m][i] > 0 ? w->H[m][i] : 0.0;
        mmdx_dense_gemm(o->engine, nt, 0, 1, k, D, he, 1.0, w->H[m], he, th + md->w2, he, 1.0, w->T[m], D);
        if (grad)
            memset(w->dT[m], 0, k * D * sizeof(double));
    }

    /* 2. contrastive alignment of each pair of modalities */
    double total = 0;
    if (with_contrastive && o->w_contrastive > 0 && M > 1) {
        size_t pairs = 0;
        double sum = 0;
        for (size_t a = 0; a < M; a++) /* count first: the gradient scale needs it */
            for (size_t b = a + 1; b < M; b++) {
                size_t both = 0;
                for (size_t r = 0; r < n; r++)
                    both += w->pos[r * M + a] >= 0 && w->pos[r * M + b] >= 0;
                pairs += both >= 2;
            }
        for (size_t a = 0; a < M && pairs; a++)
            for (size_t b = a + 1; b < M; b++) {
                double l = contrastive_pair(j, w, a, b, n, o->w_contrastive / (double)pairs, grad != NULL);
                if (!isnan(l))
                    sum += l;
            }
        out->n_pairs = pairs;
        out->con = pairs ? sum / (double)pairs : 0.0;
        total += o->w_contrastive * out->con;
    }

    /* 3. attention, pooling and the risk, per row in fixed chunks */
    size_t n_chunks = (n + CHUNK - 1) / CHUNK;
    long long nc = (long long)n_chunks;
    double cls_w = o->w_classification, fa_w = o->w_fused_alignment;
    int labelled = d->labels != NULL;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long long ci = 0; ci < nc; ci++) {
        att a;
        att_bind(&a, w->att_buf + (size_t)ci * w->att_size, M ? M : 1, D, o->heads);
        size_t G0 = j->wq, NG = j->n_params - G0; /* the parameters shared by every row */
        double *g = grad ? w->chunk_grad + (size_t)ci * NG : NULL;
        if (g)
            memset(g, 0, NG * sizeof *g);
        double loss = 0, fa = 0;
        size_t fa_rows = 0;
        for (size_t r = (size_t)ci * CHUNK; r < n && r < (size_t)(ci + 1) * CHUNK; r++) {
            size_t mods[MMDX_JOINT_MAX_MODALITIES];
            a.L = 0;
            for (size_t m = 0; m < M; m++) {
                long p = w->pos[r * M + m];
                if (p >= 0 && (!visible || visible[r * M + m])) {
                    memcpy(a.S + a.L * D, w->T[m] + (size_t)p * D, D * sizeof(double));
                    mods[a.L++] = m;
                }
            }
            double logit = att_forward(j, th, &a);
            w->dlogit[r] = 0.0;
            size_t off[MMDX_JOINT_MAX_PATTERN_TERMS];
            size_t n_off = pattern_terms_off(j, w, visible, r, off);
            for (size_t i = 0; i < a.L; i++) { /* wide part: each shown modality's linear evidence */
                const joint_mod *md = &j->mod[mods[i]];
                const double *xr = w->X[mods[i]] + (size_t)w->pos[r * M + mods[i]] * md->p;
                logit += dot(th + md->lw, xr, md->p);
                for (size_t q = 0; q < n_off; q++) /* its change for each modality or pair not shown */
                    logit += dot(th + md->ld + off[q] * md->p, xr, md->p);
            }
            for (size_t q = 0; q < n_off; q++) /* and the pattern's own biases */
                logit += th[j->lb + off[q]];
            double dl = 0.0;
            int back = 0;
            if (labelled && cls_w != 0) {
                double y = d->labels[rows[r]] ? 1.0 : 0.0, s = sw ? sw[rows[r]] : 1.0;
                loss += s * (softplus(logit) - y * logit);
                if (g) {
                    double p = 1.0 / (1.0 + exp(-logit));
                    dl = cls_w * s * (p - y) / (double)n;
                    w->dlogit[r] = dl; /* the linear terms' gradients are summed per modality below */
                    back = 1;
                    for (size_t q = 0; q < n_off; q++)
                        g[j->lb - G0 + off[q]] += dl;
                }
            }
            const double *dzx = NULL;
            if (fa_w > 0) {
                size_t n_all = 0;
                fa += fused_alignment(w, r, M, D, &a, g ? fa_w / (double)n : 0.0, &n_all);
                fa_rows += n_all > 0;
                if (g && n_all) {
                    dzx = a.dzx;
                    back = 1;
                }
            }
            if (!back)
                continue;
            att_backward(j, th, &a, dl, dzx, g, G0);
            for (size_t i = 0; i < a.L; i++) {
                double *dt = w->dT[mods[i]] + (size_t)w->pos[r * M + mods[i]] * D;
                for (size_t c = 0; c < D; c++)
                    dt[c] += a.dS[i * D + c];
            }
        }
        w->chunk_loss[ci] = loss;
        w->chunk_fa[ci] = fa;
        w->chunk_fa_rows[ci] = fa_rows;
    }
    /* attention rows of different chunks touch different token rows: no race above */
    size_t G0 = j->wq, NG = j->n_params - G0;
    for (size_t ci = 0; ci < n_chunks; ci++) {
        out->cls_sum += w->chunk_loss[ci];
        out->fa_sum += w->chunk_fa[ci];
        out->n_fa += w->chunk_fa_rows[ci];
        if (grad)
            for (size_t k = 0; k < NG; k++)
                grad[G0 + k] += w->chunk_grad[ci * NG + k];
    }
    for (size_t m = 0; grad && labelled && cls_w != 0 && m < M; m++) { /* the linear evidence of shown rows */
        const joint_mod *md = &j->mod[m];
        for (size_t k = 0; k < w->nrow[m]; k++) {
            size_t r = w->rows[m][k];
            double dl = (!visible || visible[r * M + m]) ? w->dlogit[r] : 0.0;
            if (dl == 0.0)
                continue;
            const double *xr = w->X[m] + k * md->p;
            size_t off[MMDX_JOINT_MAX_PATTERN_TERMS];
            size_t n_off = pattern_terms_off(j, w, visible, r, off);
            for (size_t q = 0; q < md->p; q++)
                grad[md->lw + q] += dl * xr[q];
            for (size_t t = 0; t < n_off; t++) {
                double *gd = grad + md->ld + off[t] * md->p;
                for (size_t q = 0; q < md->p; q++)
                    gd[q] += dl * xr[q];
            }
        }
    }
    if (labelled)
        total += cls_w * out->cls_sum / (double)n;
    if (fa_w > 0)
        total += fa_w * out->fa_sum / (double)n;

    /* 4. reconstruction: decoder m from the mean of the other visible tokens */
    if (o->w_reconstruction > 0) {
        size_t n_rec = 0;
        for (size_t m = 0; m < M; m++) {
            size_t k = 0;
            for (size_t r = 0; r < n; r++) {
                if (w->pos[r * M + m] < 0)
                    continue;
                size_t others = 0;
                for (size_t q = 0; q < M; q++)
                    others += q != m && w->pos[r * M + q] >= 0 && (!visible || visible[r * M + q]);
                if (others)
                    w->rec_rows[m][k++] = r;
            }
            w->nrec[m] = k;
            n_rec += k;
        }
        out->n_rec = n_rec;
        double scale = n_rec ? o->w_reconstruction / (double)n_rec : 0.0;
        for (size_t m = 0; m < M && n_rec; m++) {
            const joint_mod *md = &j->mod[m];
            size_t k = w->nrec[m];
            if (k == 0)
                continue;
            for (size_t i = 0; i < k; i++) { /* contexts */
                size_t r = w->rec_rows[m][i], cnt = 0;
                double *c = w->C[m] + i * D;
                memset(c, 0, D * sizeof *c);
                for (size_t q = 0; q < M; q++) {
                    long p = w->pos[r * M + q];
                    if (q == m || p < 0 || (visible && !visible[r * M + q]))
                        continue;
                    for (size_t e = 0; e < D; e++)
                        c[e] += w->T[q][(size_t)p * D + e];
                    cnt++;
                }
                for (size_t e = 0; e < D; e++)
                    c[e] /= (double)cnt;
                memcpy(w->G[m] + i * hd, th + md->a, hd * sizeof(double));
                memcpy(w->Y[m] + i * md->nf, th + md->vb, md->nf * sizeof(double));
            }
            mmdx_dense_gemm(o->engine, nt, 0, 1, k, hd, D, 1.0, w->C[m], D, th + md->u, D, 1.0, w->G[m], hd);
            for (size_t i = 0; i < k * hd; i++)
                w->G[m][i] = w->G[m][i] > 0 ? w->G[m][i] : 0.0;
            mmdx_dense_gemm(o->engine, nt, 0, 1, k, md->nf, hd, 1.0, w->G[m], hd, th + md->v, hd, 1.0, w->Y[m],
                            md->nf);
            for (size_t i = 0; i < k; i++) { /* errors against the observed standardised features */
                const double *x = d->x + rows[w->rec_rows[m][i]] * d->n_features;
                size_t obs = 0;
                double se = 0;
                for (size_t q = 0; q < md->nf; q++)
                    obs += !isnan(x[md->feat[q]]);
                for (size_t q = 0; q < md->nf; q++) {
                    uint32_t f = md->feat[q];
                    double dy = 0;
                    if (!isnan(x[f])) {
                        double e = w->Y[m][i * md->nf + q] - (x[f] - j->mean[f]) / j->scale[f];
                        se += e * e;
                        dy = 2.0 * e / (double)obs;
                    }
                    w->dY[i * md->nf + q] = dy * scale;
                }
                if (obs)
                    out->rec_sum += se / (double)obs;
            }
            if (!grad)
                continue;
            /* back through the decoder */
            mmdx_dense_gemm(o->engine, nt, 1, 0, md->nf, hd, k, 1.0, w->dY, md->nf, w->G[m], hd, 1.0,
                            grad + md->v, hd);
            for (size_t i = 0; i < k; i++)
                for (size_t q = 0; q < md->nf; q++)
                    grad[md->vb + q] += w->dY[i * md->nf + q];
            mmdx_dense_gemm(o->engine, nt, 0, 0, k, hd, md->nf, 1.0, w->dY, md->nf, th + md->v, hd, 0.0, w->dG, hd);
            for (size_t i = 0; i < k * hd; i++)
                w->dG[i] = w->G[m][i] > 0 ? w->dG[i] : 0.0;
            mmdx_dense_gemm(o->engine, nt, 1, 0, hd, D, k, 1.0, w->dG, hd, w->C[m], D, 1.0, grad + md->u, D);
            for (size_t i = 0; i < k; i++)
                for (size_t h = 0; h < hd; h++)
                    grad[md->a + h] += w->dG[i * hd + h];
            mmdx_dense_gemm(o->engine, nt, 0, 0, k, D, hd, 1.0, w->dG, hd, th + md->u, D, 0.0, w->dC, D);
            for (size_t i = 0; i < k; i++) { /* the mean spreads the context gradient over its tokens */
                size_t r = w->rec_rows[m][i], cnt = 0;
                for (size_t q = 0; q < M; q++)
                    cnt += q != m && w->pos[r * M + q] >= 0 && (!visible || visible[r * M + q]);
                for (size_t q = 0; q < M; q++) {
                    long p = w->pos[r * M + q];
                    if (q == m || p < 0 || (visible && !visible[r * M + q]))
                        continue;
                    double *dt = w->dT[q] + (size_t)p * D;
                    for (size_t e = 0; e < D; e++)
                        dt[e] += w->dC[i * D + e] / (double)cnt;
                }
            }
        }
        if (n_rec)
            total += o->w_reconstruction * out->rec_sum / (double)n_rec;
    }

    /* 5. back through the encoders */
    for (size_t m = 0; grad && m < M; m++) {
        const joint_mod *md = &j->mod[m];
        size_t k = w->nrow[m];
        if (k == 0)
            continue;
        mmdx_dense_gemm(o->engine, nt, 1, 0, D, he, k, 1.0, w->dT[m], D, w->H[m], he, 1.0, grad + md->w2, he);
        for (size_t i = 0; i < k; i++)
            for (size_t c = 0; c < D; c++)
                grad[md->b2 + c] += w->dT[m][i * D + c];
        mmdx_dense_gemm(o->engine, nt, 0, 0, k, he, D, 1.0, w->dT[m], D, th + md->w2, he, 0.0, w->dH[m], he);
        for (size_t i = 0; i < k * he; i++)
            w->dH[m][i] = w->H[m][i] > 0 ? w->dH[m][i] : 0.0;
        mmdx_dense_gemm(o->engine, nt, 1, 0, he, md->p, k, 1.0, w->dH[m], he, w->X[m], md->p, 1.0, grad + md->w1,
                        md->p);
        for (size_t i = 0; i < k; i++)
            for (size_t h = 0; h < he; h++)
                grad[md->b1 + h] += w->dH[m][i * he + h];
    }

    /* 6. L2 on the weight matrices, per minibatch sample as scikit-learn's MLP */
    if (o->alpha > 0 && n > 0) {
        double s = 0, c = o->alpha / (double)n;
        for (size_t k = 0; k < j->n_params; k++)
            if (j->decay[k]) {
                s += th[k] * th[k];
                if (grad)
                    grad[k] += c * th[k];
            }
        out->l2 = 0.5 * c * s;
        total += out->l2;
    }
    return total;
}
