/*
 * fusion/options.h — the settings of the fusion plugins, read from their
 * configuration section ([early] or [late]) and the training parameters.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Keys (all optional):
 *   C = 1.0                    inverse L2 strength of logistic regression (scikit-learn's C)
 *   class_weight = none        none | balanced (weights n / (2 n_class), as scikit-learn)
 *   max_iter = 1000            logistic regression iteration limit
 *   tol = 1e-6                 L-BFGS tolerance on max |gradient| (objective per unit weight)
 *   solver = auto              auto | newton | lbfgs
 *   hidden = 64                MLP hidden layer sizes: "64" or "64,32" (one or two layers)
 *   alpha = 1e-4               MLP L2 weight decay
 *   learning_rate = 1e-3       Adam step size
 *   batch_size = 200           minibatch size
 *   max_epochs = 200
 *   patience = 10              epochs without validation improvement before stopping
 *   validation_fraction = 0.1  stratified share of the training data held out for early stopping
 *   inner_folds = 5            late fusion: folds for out-of-fold predictions (calibration, stacking);
 *                              fewer when a modality has fewer patients of a class
 *   combiner_C = 1             late fusion: inverse L2 strength of the stacking combiner
 *                              (shrinks the weights of small cohorts only)
 *   blas = yes                 yes | no: the passes over the data through OpenBLAS's CBLAS
 *                              (when built with it) or plain loops
 */
#ifndef MMDX_FUSION_OPTIONS_H
#define MMDX_FUSION_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/plugin.h"

typedef enum mmdx_classifier_kind {
    MMDX_CLASSIFIER_LOGREG = 1,
    MMDX_CLASSIFIER_MLP = 2
} mmdx_classifier_kind;

typedef struct mmdx_fusion_options {
    mmdx_classifier_kind classifier;
    double C;
    int class_weight_balanced;
    int max_iter;
    double tol;
    int solver; /* mmdx_logreg_solver */
    size_t n_hidden;
    size_t hidden[2];
    double alpha;
    double learning_rate;
    size_t batch_size;
    int max_epochs;
    int patience;
    double validation_fraction;
    unsigned inner_folds;
    double combiner_C;
    uint64_t seed;
    int n_threads;
    int use_blas;
} mmdx_fusion_options;

/** The defaults above, logistic regression, seed 0, one thread. */
void mmdx_fusion_options_init(mmdx_fusion_options *o);

/**
 * Fill options from fit() parameters: the classifier name ("logreg" when
 * NULL), the seed, the thread count and the configuration entries. Unknown
 * keys and bad values fail with MMDX_EINVAL naming the file, line and key.
 */
MMDX_RESULT_USED int mmdx_fusion_options_parse(mmdx_fusion_options *o,
                                               const mmdx_fusion_params *params, mmdx_error *err);

/** The parameters' and configuration's ABI (MMDX_EABI otherwise). */
MMDX_RESULT_USED int mmdx_fusion_params_check(const mmdx_fusion_params *params, mmdx_error *err);

/* Value parsers for the plugins' configuration keys: MMDX_EINVAL naming file, line, key and range. */
MMDX_RESULT_USED int mmdx_fusion_opt_double(const mmdx_config_entry *e, double lo, double hi, double *out,
                                            mmdx_error *err);
MMDX_RESULT_USED int mmdx_fusion_opt_int(const mmdx_config_entry *e, long lo, long hi, long *out,
                                         mmdx_error *err);
int mmdx_fusion_opt_bad(mmdx_error *err, const mmdx_config_entry *e, const char *what);

#endif
