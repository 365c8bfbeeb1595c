/*
 * Fuzz the model file reader and the fusion plugins' model loaders from
 * memory. The first byte picks the target: 0 the whole model file (without
 * and with a site key; a file that parses has its blob loaded by its
 * plugin), 1 an early-fusion blob, 2 a late-fusion blob (and so on modulo 3), except
 * that 3 is a joint-fusion blob.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_plugins.h"
#include "model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_blob(const mmdx_fusion_vtable *vt, const void *buf, size_t len)
{
    void *model = NULL;
    mmdx_error err;
    memset(&err, 0, sizeof err);
    if (vt->load(&model, buf, len, &err) == 0) {
        void *again = NULL;
        size_t again_len = 0;
        if (vt->save(model, &again, &again_len, &err) == 0)
            vt->free_buffer(again);
        vt->free_model(model);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    static const uint8_t key[] = "fuzzing-site-key-0123456789abcdef";
    if (data[0] == 3) {
        load_blob(&mmdx_fusion_joint_vtable, body, len);
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        for (int with_key = 0; with_key < 2; with_key++) {
            mmdx_model_file *m = NULL;
            if (mmdx_model_file_parse(&m, body, len, "fuzz.mmdx", with_key ? key : NULL,
                                      with_key ? sizeof key - 1 : 0, 0) == 0) {
                if (strcmp(m->fusion, "early") == 0)
                    load_blob(&mmdx_fusion_early_vtable, m->blob, m->blob_len);
                else if (strcmp(m->fusion, "late") == 0)
                    load_blob(&mmdx_fusion_late_vtable, m->blob, m->blob_len);
                else if (strcmp(m->fusion, "joint") == 0)
                    load_blob(&mmdx_fusion_joint_vtable, m->blob, m->blob_len);
                mmdx_model_file_free(m);
            }
        }
        break;
    case 1: load_blob(&mmdx_fusion_early_vtable, body, len); break;
    default: load_blob(&mmdx_fusion_late_vtable, body, len); break;
    }
    return 0;
}
