/*
 * genomics/config_values.h — reading [genomics] configuration values, shared
 * by the encoder plugin and `mmdx genomics score --config`.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_GENOMICS_CONFIG_VALUES_H
#define MMDX_GENOMICS_CONFIG_VALUES_H

#include "mmdx/plugin.h"
#include "prs.h"

/** true/yes/1 or false/no/0; else MMDX_EINVAL naming file and line. */
MMDX_RESULT_USED int mmdx_genomics_cfg_bool(const mmdx_config_entry *e, int *out, mmdx_error *err);

/** A finite number in [lo, hi] read from `text` (part of e's value); else MMDX_EINVAL naming file and line. */
MMDX_RESULT_USED int mmdx_genomics_cfg_num(const mmdx_config_entry *e, const char *text, double lo,
                                           double hi, double *out, mmdx_error *err);

/**
 * Apply one entry to scoring options if it is one of them (keep_ambiguous,
 * mean_impute, exact_dosage, min_overlap, dosage): returns 1 when applied,
 * 0 when the key is not a scoring option, MMDX_EINVAL on a bad value.
 */
MMDX_RESULT_USED int mmdx_prs_options_set(mmdx_prs_options *o, const mmdx_config_entry *e,
                                          mmdx_error *err);

#endif
