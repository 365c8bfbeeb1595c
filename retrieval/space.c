/* SPDX-License-Identifier: Apache-2.0 */
/* A patient as a unit vector of one model's space: the fused embedding or a mean of named tokens. */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "similar.h"
#include "vector.h"

int mmdx_similar_space_use(mmdx_similar_space *sp, const char *names)
{
    sp->using_mask = 0;
    if (!names || !*names)
        return 0;
    const char *p = names;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t m = 0;
        while (m < sp->n_modalities && !(strlen(sp->modalities[m]) == len && !strncmp(sp->modalities[m], p, len)))
            m++;
        if (m == sp->n_modalities || m >= MMDX_SIMILAR_MAX_MODALITIES) {
            char known[512] = "";
            size_t used = 0;
            for (size_t j = 0; j < sp->n_modalities && used < sizeof known; j++)
                used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", j ? ", " : "", sp->modalities[j]);
            return mmdx_fail(MMDX_EINVAL, "--using: the model has no modality \"%.*s\" (it has: %s)", (int)len, p,
                             known);
        }
        sp->using_mask |= UINT64_C(1) << m;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

void mmdx_similar_space_name(const mmdx_similar_space *sp, char *out, size_t size)
{
    if (!sp->using_mask) {
        snprintf(out, size, "fused");
        return;
    }
    size_t used = 0;
    out[0] = 0;
    for (size_t m = 0; m < sp->n_modalities && used < size; m++)
        if (sp->using_mask >> m & 1)
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "+" : "", sp->modalities[m]);
}

int mmdx_similar_vector(const mmdx_similar_space *sp, const double *fused, const double *tokens, float *out)
{
    uint32_t d = sp->dim;
    double acc[4096];
    if (d == 0 || d > 4096)
        return mmdx_fail(MMDX_EINVAL, "similar: embedding size %u", d);
    memset(acc, 0, d * sizeof *acc);
    int used = 0;
    if (!sp->using_mask) {
        used = fused && mmdx_vec_add_unit(acc, fused, d);
    } else if (tokens) {
        for (size_t m = 0; m < sp->n_modalities; m++)
            if (sp->using_mask >> m & 1)
                used += mmdx_vec_add_unit(acc, tokens + m * d, d);
    }
    char name[256];
    mmdx_similar_space_name(sp, name, sizeof name);
    if (!used)
        return mmdx_fail(MMDX_ENOTFOUND, "the patient has none of the modalities searched (%s)", name);
    for (uint32_t c = 0; c < d; c++)
        out[c] = (float)acc[c];
    if (!mmdx_vec_normalise(out, d)) /* opposite tokens cancelled: no direction to compare */
        return mmdx_fail(MMDX_ENOTFOUND, "the patient's %s vector has no direction", name);
    return 0;
}
