/*
 * model/binding.h — binding a model to the encoders that feed it: the one
 * check, shared by `mmdx predict`/`evaluate`, `mmdx screen` and the Orthanc
 * worker, that the loaded encoders are those the model was trained with
 * (name, version, configuration section).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_MODEL_BINDING_H
#define MMDX_MODEL_BINDING_H

#include <stdio.h>

#include "encoders.h"
#include "model_file.h"

typedef enum mmdx_provenance_need {
    /** A model trained from a feature table may be used (its encoders are unknown): a note is printed. */
    MMDX_PROVENANCE_OPTIONAL = 0,
    /** The model must record its encoders (screening encodes raw inputs). */
    MMDX_PROVENANCE_REQUIRED = 1
} mmdx_provenance_need;

/**
 * Check that `set` holds every encoder `model` (read from `model_path`,
 * named in messages) was trained with, at the same version and with the same
 * configuration section. Errors (all MMDX_ESCHEMA, so every driver exits
 * alike): an encoder not loaded, another version, a configuration section
 * that differs — saying whether the model was trained without the section
 * or the configuration lacks it — and, with MMDX_PROVENANCE_REQUIRED, a
 * model trained from a feature table. `messages` (may be NULL) gets notes.
 */
MMDX_RESULT_USED int mmdx_model_check_encoders(const mmdx_encoder_set *set, const mmdx_model_file *model,
                                               const char *model_path, mmdx_provenance_need need,
                                               FILE *messages);

/** Whether `hex` is the hash of an empty configuration section (no entries). */
int mmdx_config_hash_is_empty(const char *hex);

#endif
