/* SPDX-License-Identifier: Apache-2.0 */
/* The "late" fusion plugin: a classifier per modality, calibrated and stacked. */
#include "fusion_plugins.h"

static const mmdx_plugin_info info = {
    MMDX_ABI_VERSION,
    sizeof(mmdx_plugin_info),
    MMDX_PLUGIN_FUSION,
    0,
    "late",
    MMDX_FUSION_LATE_VERSION,
    NULL,
    NULL,
    "late fusion: per-modality logreg | mlp, Platt-calibrated, stacked on the modalities present",
    NULL,
    &mmdx_fusion_late_vtable,
};

MMDX_PLUGIN_DECLARE(info)
