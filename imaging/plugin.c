/*
 * imaging/plugin.c — the "imaging" encoder plugin: the ABI face of encoder.c.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "encoder.h"
#include "mmdx/plugin.h"

static int imaging_open(void **state, const mmdx_plugin_config *config, mmdx_error *err)
{
    mmdx_imaging_encoder *e = NULL;
    int rc = mmdx_imaging_encoder_new(&e, config, err);
    *state = e;
    return rc;
}

static int imaging_features(void *state, size_t *n, const char *const **names, mmdx_error *err)
{
    (void)err;
    mmdx_imaging_encoder_names(state, n, names);
    return 0;
}

static int imaging_encode(void *state, const mmdx_encoder_input *input, double *values, int32_t *present,
                          mmdx_error *err)
{
    return mmdx_imaging_encoder_encode(state, input, values, present, err);
}

static void imaging_close(void *state) { mmdx_imaging_encoder_free(state); }

static const mmdx_encoder_vtable vtable = {
    sizeof(mmdx_encoder_vtable), 0, imaging_open, imaging_features, NULL, imaging_encode, imaging_close,
};

static const mmdx_plugin_info info = {
    MMDX_ABI_VERSION,
    sizeof(mmdx_plugin_info),
    MMDX_PLUGIN_ENCODER,
    0,
    "imaging",
    "0.1.0",
    "imaging",
    "dicom",
    "DICOM (DCMTK) or NIfTI study + ROI (SEG, RTSTRUCT, NIfTI, or automatic) -> IBSI radiomics features",
    &vtable,
    NULL,
};

MMDX_PLUGIN_DECLARE(info)
