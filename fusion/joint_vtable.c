/* SPDX-License-Identifier: Apache-2.0 */
/* The "joint" fusion plugin's function table (ABI 1.1: with embed and impute). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_check.h"
#include "fusion_plugins.h"
#include "joint.h"

static int joint_fit(void **model, const mmdx_fusion_params *params, const mmdx_dataset *d, mmdx_error *err)
{
    *model = NULL;
    mmdx_joint_options o;
    int rc = mmdx_joint_options_parse(&o, params, err);
    if (!rc)
        rc = mmdx_fusion_check_dataset(d, 1, err);
    mmdx_joint_info info;
    mmdx_joint *j = NULL;
    if (!rc)
        rc = mmdx_joint_fit(&j, d, &o, &info, err);
    if (!rc)
        *model = j;
    return rc;
}

static int check_shape(const mmdx_joint *j, const mmdx_dataset *d, mmdx_error *err)
{
    int rc = mmdx_fusion_check_dataset(d, 0, err);
    (void)j;
    return rc;
}

static int joint_predict(const void *model, const mmdx_dataset *d, double *prob, double *contrib, mmdx_error *err)
{
    const mmdx_joint *j = model;
    int rc = check_shape(j, d, err);
    if (!rc)
        rc = mmdx_joint_infer(j, d, prob, contrib, NULL, NULL, NULL, err);
    for (size_t i = 0; !rc && i < d->n_samples; i++)
        prob[i] = 1.0 / (1.0 + exp(-prob[i]));
    return rc;
}

static int joint_save(const void *model, void **buf, size_t *len, mmdx_error *err)
{
    mmdx_blob_writer w = {0};
    mmdx_joint_save(model, &w);
    if (w.failed) {
        free(w.data);
        return mmdx_error_set(err, MMDX_ENOMEM, "joint fusion: out of memory while saving");
    }
    *buf = w.data;
    *len = w.len;
    return 0;
}

static void joint_free_buffer(void *buf) { free(buf); }

static int joint_load(void **model, const void *buf, size_t len, mmdx_error *err)
{
    *model = NULL;
    mmdx_blob_reader r;
    mmdx_blob_reader_init(&r, buf, len, "joint fusion model", err);
    mmdx_joint *j = NULL;
    int rc = mmdx_joint_load(&j, &r);
    if (!rc && r.p != r.end)
        rc = mmdx_blob_fail(&r, "unexpected data after the model");
    if (rc) {
        mmdx_joint_free(j);
        return rc;
    }
    *model = j;
    return 0;
}

static void joint_free_model(void *model) { mmdx_joint_free(model); }

static int joint_embed_dim(const void *model, uint32_t *dim, mmdx_error *err)
{
    (void)err;
    *dim = (uint32_t)mmdx_joint_token_dim(model);
    return 0;
}

static int joint_embed(const void *model, const mmdx_dataset *d, double *fused, double *per_modality,
                       mmdx_error *err)
{
    int rc = check_shape(model, d, err);
    return rc ? rc : mmdx_joint_infer(model, d, NULL, NULL, fused, per_modality, NULL, err);
}

static int joint_impute(const void *model, const mmdx_dataset *d, double *x_out, mmdx_error *err)
{
    int rc = check_shape(model, d, err);
    return rc ? rc : mmdx_joint_infer(model, d, NULL, NULL, NULL, NULL, x_out, err);
}

const mmdx_fusion_vtable mmdx_fusion_joint_vtable = {
    sizeof(mmdx_fusion_vtable), 0, joint_fit, joint_predict, joint_save, joint_free_buffer, joint_load,
    joint_free_model, joint_embed_dim, joint_embed, joint_impute,
};
