/*
 * fusion/dataset_check.h — validation of the datasets a host hands to the
 * fusion plugins (a plugin must not trust its input).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_FUSION_DATASET_CHECK_H
#define MMDX_FUSION_DATASET_CHECK_H

#include "mmdx/plugin.h"

/**
 * Check shape and content: struct size, non-empty, modality indexes in
 * range, present flags 0/1, feature values finite or NaN (an infinity is
 * MMDX_EFORMAT naming the patient and feature), and with need_labels
 * labels present and 0/1 with both classes (MMDX_EINVAL).
 */
MMDX_RESULT_USED int mmdx_fusion_check_dataset(const mmdx_dataset *d, int need_labels,
                                               mmdx_error *err);

/** The patient's name for messages: its id, or "row N". */
const char *mmdx_fusion_sample_name(const mmdx_dataset *d, size_t i, char *buf, size_t size);

#endif
