/*
 * fusion/joint_internal.h — the joint network's layout and the pieces its
 * training (joint_net.c: objective and gradient) and its use (joint.c: fit
 * loop, inference, saving) share. Not part of any API.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_FUSION_JOINT_INTERNAL_H
#define MMDX_FUSION_JOINT_INTERNAL_H

#include "joint.h"

/* One modality: its features, its indicators, and where its parameters are in theta. */
typedef struct joint_mod {
    size_t nf;      /* features of this modality */
    uint32_t *feat; /* their dataset indexes */
    size_t ng;      /* missing indicators */
    uint32_t *ind;  /* positions within feat that have one */
    size_t p;       /* encoder input width: nf + ng */
    size_t w1, b1, w2, b2; /* encoder: W1 (He x p), b1, W2 (d x He), b2 */
    size_t u, a, v, vb;    /* decoder: U (Hd x d), a, V (nf x Hd), vb */
    size_t lw;             /* linear evidence of the inputs (p), added to the logit when shown */
    size_t ld;             /* pattern evidence: M x p, row k the correction D_mk added to lw while modality k is
                            * not shown (row m itself and rows of modalities without features unused), then
                            * C(M,2) x p, row joint_pair(a, b) the correction added while both a and b are not
                            * shown; none without pattern_evidence */
} joint_mod;

struct mmdx_joint {
    mmdx_joint_options o; /* architecture and objective; engine and threads are runtime settings */
    size_t nf, nm;        /* the dataset's features and modalities */
    double *mean, *scale; /* per dataset feature (standardisation of the training rows) */
    joint_mod mod[MMDX_JOINT_MAX_MODALITIES];
    size_t wq, wk, wv, wo, bo;      /* self-attention (d x d each), output bias */
    size_t cls, pq, pk, pv, po, pb; /* pooling token, its attention, output bias */
    size_t hw, hb, tw;              /* risk head: on z, bias, and on each token (summed evidence) */
    size_t lb;                      /* pattern evidence: M biases, k's added while modality k is not shown, then
                                     * C(M,2), joint_pair(a, b)'s added while both are not shown */
    size_t n_params;      /* of one network */
    double *theta;        /* o.ensemble + 1 networks of n_params, one after another: the risk members (logits
                           * averaged), then the representation checkpoint (embeddings, imputation) */
    uint8_t *decay; /* 1 for weight-matrix entries (L2), 0 for biases and the pooling token */
};

/* Index of the pair a < b of M modalities among the C(M,2) pairs. */
static inline size_t joint_pair(size_t a, size_t b, size_t M) { return a * M - a * (a + 1) / 2 + (b - a - 1); }

/* Pattern terms per modality: M single corrections, then C(M,2) pair corrections. */
static inline size_t joint_pattern_terms(size_t M) { return M + M * (M - 1) / 2; }
#define MMDX_JOINT_MAX_PATTERN_TERMS (MMDX_JOINT_MAX_MODALITIES * (MMDX_JOINT_MAX_MODALITIES + 1) / 2)

/*
 * The pattern terms in force when the modalities flagged in on[0..M) are
 * shown (none without pattern evidence): each modality with features not
 * shown, then each pair of them. Their indexes into a modality's corrections
 * and into the biases go to off (MMDX_JOINT_MAX_PATTERN_TERMS); returns how
 * many. A shown modality is never among them, so one list serves all.
 */
size_t mmdx_joint__pattern_terms(const mmdx_joint *j, const uint8_t *on, size_t *off);

/* Lay out the parameters for the modalities' feature lists already in j->mod; allocates theta and decay. */
MMDX_RESULT_USED int mmdx_joint__layout(mmdx_joint *j, mmdx_error *err);

/* Sums of one pass, so that chunks can be pooled. */
typedef struct joint_loss {
    double cls_sum; /* sum of (weighted) log losses */
    size_t n;       /* rows */
    double rec_sum; /* sum over (row, modality) of the mean squared error */
    size_t n_rec;
    double con;     /* mean InfoNCE over modality pairs (0 when none) */
    double fa_sum;  /* sum over rows of 1 - cos(fused, mean unit token) */
    size_t n_fa;    /* rows with a modality */
    size_t n_pairs;
    double l2;
} joint_loss;

typedef struct joint_ws joint_ws;

/* Workspace for batches of up to max_rows rows. */
joint_ws *mmdx_joint__ws_new(const mmdx_joint *j, size_t max_rows);
void mmdx_joint__ws_free(joint_ws *w);

/*
 * One pass over rows[0..n) of d with `visible` (n x M; NULL: every present
 * modality), sample weights sw (per dataset row, NULL: 1), optional
 * gradient (n_params, overwritten) of the weighted objective; theta may
 * differ from j->theta (the fit's working copy). with_contrastive 0 leaves
 * the contrastive term out (validation). Returns the weighted objective.
 */
double mmdx_joint__pass(const mmdx_joint *j, const double *theta, const mmdx_dataset *d, const size_t *rows,
                        size_t n, const uint8_t *visible, const double *sw, int with_contrastive, joint_ws *w,
                        double *grad, joint_loss *out);

/* Per-row forward used by inference: tokens of the visible modalities to fused z and the logit. */
double mmdx_joint__forward_row(const mmdx_joint *j, const double *theta, const double *const *tokens, size_t n_tok,
                               double *z, double *scratch);
/* Scratch doubles mmdx_joint__forward_row needs. */
size_t mmdx_joint__row_scratch(const mmdx_joint *j);

/* One modality's encoder inputs (p doubles: standardised features, missing 0, then indicators). */
void mmdx_joint__input_row(const mmdx_joint *j, size_t m, const double *x_row, double *input);

/* One modality's token from a row of d (standardised inputs built in `input`, p doubles; hidden He);
 * returns the modality's base linear evidence (its term of the logit with every modality shown) and, in
 * pattern (joint_pattern_terms(M) doubles), the change of that evidence while modality k is not shown
 * (pattern[k]) and the further change while both a and b are not shown (pattern[M + joint_pair(a, b)]);
 * 0 for terms involving m itself or a modality without features, and all 0 without pattern evidence. */
double mmdx_joint__encode_row(const mmdx_joint *j, const double *theta, size_t m, const double *x_row, double *input,
                              double *hidden, double *token, double *pattern);
/* Decoder m from a context vector (d): standardised features (nf) into out; hidden Hd. */
void mmdx_joint__decode(const mmdx_joint *j, const double *theta, size_t m, const double *ctx, double *hidden,
                        double *out);

#endif
