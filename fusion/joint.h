/*
 * fusion/joint.h — joint-representation fusion: every modality becomes a
 * token in one shared d-dimensional space, the tokens of the modalities a
 * patient has attend to each other, and a learned [CLS] token pools them
 * into the patient's fused vector, from which the risk is predicted.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The network (all sizes from the [joint] configuration section):
 *   encoder m:  u = standardised features of m (missing -> 0) and, for the
 *               features missing for some training patients, 0/1 missing
 *               indicators;  t_m = W2 relu(W1 u + b1) + b2   (d values)
 *   attention:  masked multi-head self-attention over the present tokens,
 *               with a residual:  s_i = t_i + Wo MHA(t)_i + bo
 *   pooling:    a learned token c queries the s_i (multi-head):
 *               z = c + Po MHA(c; s) + po          (the fused vector)
 *   risk:       logit = w . z + b + sum_i (w_t . s_i + l_m . u_m)  (the pooled
 *               vector, plus each present modality's own evidence summed,
 *               its token's and a linear term of its inputs ("wide and
 *               deep"), so that evidence adds up across modalities as in
 *               late fusion and a linear signal needs no hidden unit);
 *               with pattern evidence (the default), l_m is l_m plus,
 *               for every modality k not shown, a correction D_mk and, for
 *               every pair k < k' not shown, a correction D_mkk' (and the
 *               logit a bias per such modality and pair): the linear
 *               evidence of m depends on which modalities are missing, as
 *               in the pattern submodels of Fletcher Mercaldo and Blume
 *               (2020), with one shared base and corrections per absent
 *               modality and pair (so that a modality that stands in for
 *               an absent one weighs what it weighs without it, while with
 *               all present the base keeps early fusion's weights); each
 *               pattern with one or two modalities missing starts as its
 *               own regression (see the warm start below)
 *   decoder m:  from the mean of the OTHER present modalities' tokens,
 *               x_m ~ V relu(U mean(t_k, k != m) + a) + v (standardised)
 * With no modality present, z = c + po: the model's prior.
 *
 * Objective per minibatch (each term weighted; weight 0 switches it off):
 *   classification: (class-weighted) log loss of the risk;
 *   modality dropout: while training, each present modality of a patient
 *     with two or more is hidden from attention with probability p (at
 *     least one stays), so that the model learns to work with any subset;
 *   reconstruction: mean squared error of decoder m against the true
 *     standardised features of m (also of a hidden m: this is what teaches
 *     imputation), from the tokens of the other visible modalities;
 *   contrastive alignment: per pair of modalities, symmetric InfoNCE of the
 *     cosine similarities of the patients' two tokens against the other
 *     patients' of the minibatch, with temperature tau (as CLIP);
 *   L2 weight decay alpha on weight matrices.
 * The risk head starts where early fusion's logistic regression ends (the
 * linear terms fitted with L2, C = 1, on the training split; the attention
 * read-outs at 0), so that the network learns what the linear model misses;
 * the pattern corrections start at the same regression fitted without the
 * missing modality or pair, less the corrections already counted.
 * Adam, on a stratified validation split (no dropout): two checkpoints, the
 * start itself (epoch 0) a candidate of both: the risk at the best
 * classification loss (the mean of the loss with all modalities and with
 * masks drawn once as modality dropout draws them, so that the risk kept
 * serves any subset), the representation (embeddings, imputation) at the
 * best whole objective; training stops when neither has improved for
 * `patience` epochs.
 * Ensemble (`ensemble` K): K such networks, each with its own split,
 * initialisation, warm start, shuffles and dropout (member 0 from the seed,
 * member k from its stream k); the logit is the mean of the members' risk
 * logits; the representation is member 0's (members beyond it stop with
 * their risk checkpoint).
 * All randomness derives from the seed; the result does not depend on the
 * thread count with the loop engine (CBLAS: fixed for a fixed count).
 */
#ifndef MMDX_FUSION_JOINT_H
#define MMDX_FUSION_JOINT_H

#include <stddef.h>
#include <stdint.h>

#include "dense.h"
#include "mmdx/plugin.h"
#include "textblob.h"

#define MMDX_JOINT_MAX_MODALITIES 16
#define MMDX_JOINT_MAX_ENSEMBLE 32

typedef struct mmdx_joint_options {
    size_t token_dim;       /**< d, default 32 */
    size_t heads;           /**< default 4 (d must be a multiple) */
    size_t encoder_hidden;  /**< default 64 */
    size_t decoder_hidden;  /**< default 64 */
    double w_classification, w_reconstruction, w_contrastive; /**< 1, 1, 0.1 */
    double w_fused_alignment; /**< 1 - cos(fused, mean unit token of all present modalities); default 0.1 */
    double temperature;     /**< tau, default 0.1 */
    double modality_dropout; /**< p, default 0.25 */
    int class_weight_balanced;
    double alpha;           /**< L2, default 1 (per minibatch sample, as scikit-learn's MLP) */
    double learning_rate;   /**< default 3e-3 */
    size_t batch_size;      /**< default 128 */
    int max_epochs;         /**< default 200 */
    int patience;           /**< default 20 */
    double validation_fraction; /**< default 0.1 */
    mmdx_dense_engine engine;   /**< default CBLAS when built with it */
    uint64_t seed;
    int n_threads;
    size_t ensemble;        /**< K networks averaged (logits), default 5; see mmdx_joint_fit */
    int pattern_evidence;   /**< 1 (default): each modality's linear evidence depends on which others are shown */
} mmdx_joint_options;

void mmdx_joint_options_init(mmdx_joint_options *o);

/** From fit() parameters and the [joint] section: unknown keys and bad values name file and line. */
MMDX_RESULT_USED int mmdx_joint_options_parse(mmdx_joint_options *o, const mmdx_fusion_params *params,
                                              mmdx_error *err);

typedef struct mmdx_joint mmdx_joint;

/** What the fit did. */
typedef struct mmdx_joint_info {
    int epochs, best_epoch; /**< member 0's: epochs run, the representation checkpoint's epoch (0: the warm start) */
    double best_val_loss;   /**< its validation loss (the whole objective) */
    int risk_epoch;         /**< member 0's risk checkpoint's epoch (best validation classification loss) */
} mmdx_joint_info;

MMDX_RESULT_USED int mmdx_joint_fit(mmdx_joint **out, const mmdx_dataset *d, const mmdx_joint_options *o,
                                    mmdx_joint_info *info, mmdx_error *err);
void mmdx_joint_free(mmdx_joint *j);

/**
 * Inference on d (the features in fit's order), parallel over patients:
 * any of the outputs may be NULL. logit n; contrib n x M (log-odds change
 * when the modality is removed, 0 when absent); fused n x d; tokens
 * n x M x d (NaN for an absent modality); x_imputed n x F (see the ABI's
 * impute). Errors: MMDX_ENOMEM, MMDX_EINVAL (shape differs from training).
 */
MMDX_RESULT_USED int mmdx_joint_infer(const mmdx_joint *j, const mmdx_dataset *d, double *logit, double *contrib,
                                      double *fused, double *tokens, double *x_imputed, mmdx_error *err);

size_t mmdx_joint_token_dim(const mmdx_joint *j);

/** The ensemble's size K (the [joint] key `ensemble`; 1: a single network). */
size_t mmdx_joint_n_members(const mmdx_joint *j);

/**
 * Member `member`'s own logits on d (n): mmdx_joint_infer's logit is their
 * mean. Errors: MMDX_EINVAL (no such member, or the shape differs), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_joint_member_logits(const mmdx_joint *j, size_t member, const mmdx_dataset *d,
                                              double *logit, mmdx_error *err);

void mmdx_joint_save(const mmdx_joint *j, mmdx_blob_writer *w);
MMDX_RESULT_USED int mmdx_joint_load(mmdx_joint **out, mmdx_blob_reader *r);

/* ---- for the gradient test ---- */

/** Number of parameters of one member, and member 0's parameter vector (owned by the model). */
size_t mmdx_joint_n_params(const mmdx_joint *j);
double *mmdx_joint_params(mmdx_joint *j);

/**
 * The training objective on rows[0..n) of d with `visible` (n x M, 1 = shown
 * to attention; NULL: every present modality) and, when grad is not NULL,
 * its gradient (n_params). Deterministic.
 */
double mmdx_joint_objective(const mmdx_joint *j, const mmdx_dataset *d, const size_t *rows, size_t n,
                            const uint8_t *visible, double *grad, mmdx_error *err);

#endif
