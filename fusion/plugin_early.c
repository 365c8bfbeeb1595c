/* SPDX-License-Identifier: Apache-2.0 */
/* The "early" fusion plugin: one classifier on the joined feature vectors. */
#include "fusion_plugins.h"

static const mmdx_plugin_info info = {
    MMDX_ABI_VERSION,
    sizeof(mmdx_plugin_info),
    MMDX_PLUGIN_FUSION,
    0,
    "early",
    MMDX_FUSION_EARLY_VERSION,
    NULL,
    NULL,
    "early fusion: standardised joined features + missingness indicators -> logreg | mlp",
    NULL,
    &mmdx_fusion_early_vtable,
};

MMDX_PLUGIN_DECLARE(info)
