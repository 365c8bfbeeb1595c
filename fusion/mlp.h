/*
 * fusion/mlp.h — a small multilayer perceptron for binary outcomes.
 * SPDX-License-Identifier: Apache-2.0
 *
 * One or two ReLU hidden layers and a logistic output, trained on the
 * (weighted) log-loss plus alpha/2 * |W|^2 weight decay (per minibatch
 * sample, as scikit-learn's MLPClassifier) with Adam. A stratified
 * validation split, drawn with the seed, is held out: training stops when
 * its log-loss has not improved by 1e-4 for `patience` epochs and the best
 * weights are kept. Initialisation (Glorot uniform), the split and the
 * epoch shuffles derive from the seed, so a fit is reproducible bit for bit
 * with one thread (and for any fixed thread count: per-thread gradients are
 * added in thread order).
 */
#ifndef MMDX_FUSION_MLP_H
#define MMDX_FUSION_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"
#include "options.h"
#include "textblob.h"

typedef struct mmdx_mlp mmdx_mlp;

/** What the fit did. */
typedef struct mmdx_mlp_info {
    int epochs;           /**< epochs run */
    int best_epoch;       /**< epoch whose weights were kept (1-based) */
    double best_val_loss; /**< validation log-loss at that epoch */
} mmdx_mlp_info;

/**
 * Fit on x (n x p, finite), y in {0,1}, sw weights or NULL. Uses
 * o->hidden, alpha, learning_rate, batch_size, max_epochs, patience,
 * validation_fraction, seed and n_threads. Errors: MMDX_EINVAL (too few
 * samples of a class for the validation split), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_mlp_fit(mmdx_mlp **out, const double *x, size_t n, size_t p,
                                  const int32_t *y, const double *sw,
                                  const mmdx_fusion_options *o, mmdx_mlp_info *info,
                                  mmdx_error *err);

/** Log-odds for n rows, parallel over rows. Thread-safe on a shared model. */
void mmdx_mlp_logit(const mmdx_mlp *m, const double *x, size_t n, double *out, int n_threads);

/** Input width. */
size_t mmdx_mlp_inputs(const mmdx_mlp *m);

void mmdx_mlp_save(const mmdx_mlp *m, mmdx_blob_writer *w);
MMDX_RESULT_USED int mmdx_mlp_load(mmdx_mlp **out, mmdx_blob_reader *r, size_t p);
void mmdx_mlp_free(mmdx_mlp *m);

#endif
