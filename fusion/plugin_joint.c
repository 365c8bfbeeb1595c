/* SPDX-License-Identifier: Apache-2.0 */
/* The "joint" fusion plugin: modality tokens in one shared space, attention, reconstruction, alignment. */
#include "fusion_plugins.h"

static const mmdx_plugin_info info = {
    MMDX_ABI_VERSION,
    sizeof(mmdx_plugin_info),
    MMDX_PLUGIN_FUSION,
    0,
    "joint",
    MMDX_FUSION_JOINT_VERSION,
    NULL,
    NULL,
    "joint fusion: per-modality tokens, masked attention + [CLS] pooling, modality dropout, "
    "cross-modal reconstruction, contrastive alignment",
    NULL,
    &mmdx_fusion_joint_vtable,
};

MMDX_PLUGIN_DECLARE(info)
