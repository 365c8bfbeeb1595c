/* SPDX-License-Identifier: Apache-2.0 */
#include "dataset_check.h"

#include <math.h>
#include <stdio.h>

const char *mmdx_fusion_sample_name(const mmdx_dataset *d, size_t i, char *buf, size_t size)
{
    if (d->sample_ids && d->sample_ids[i])
        snprintf(buf, size, "patient '%s'", d->sample_ids[i]);
    else
        snprintf(buf, size, "row %zu", i + 1);
    return buf;
}

int mmdx_fusion_check_dataset(const mmdx_dataset *d, int need_labels, mmdx_error *err)
{
    char who[160];
    if (!d || d->struct_size < sizeof(mmdx_dataset) || MMDX_ABI_MAJOR(d->abi_version) != MMDX_ABI_VERSION_MAJOR)
        return mmdx_error_set(err, MMDX_EABI, "fusion: dataset of an unsupported ABI version or size");
    if (d->n_samples == 0)
        return mmdx_error_set(err, MMDX_EINVAL, "fusion: the dataset has no patients");
    if (d->n_features == 0 || d->n_modalities == 0 || !d->x || !d->present || !d->feature_modality)
        return mmdx_error_set(err, MMDX_EINVAL, "fusion: the dataset has no features");
    for (size_t j = 0; j < d->n_features; j++)
        if (d->feature_modality[j] >= d->n_modalities)
            return mmdx_error_set(err, MMDX_EINVAL, "fusion: feature %zu refers to modality %u of %zu", j,
                                  (unsigned)d->feature_modality[j], d->n_modalities);
    for (size_t i = 0; i < d->n_samples; i++) {
        for (size_t m = 0; m < d->n_modalities; m++)
            if (d->present[i * d->n_modalities + m] > 1)
                return mmdx_error_set(err, MMDX_EINVAL, "fusion: %s: present flag of modality %zu is not 0/1",
                                      mmdx_fusion_sample_name(d, i, who, sizeof who), m);
        for (size_t j = 0; j < d->n_features; j++) {
            double v = d->x[i * d->n_features + j];
            if (isinf(v))
                return mmdx_error_set(err, MMDX_EFORMAT, "fusion: %s: feature '%s' is infinite",
                                      mmdx_fusion_sample_name(d, i, who, sizeof who),
                                      d->feature_names ? d->feature_names[j] : "?");
        }
    }
    if (!need_labels)
        return 0;
    if (!d->labels)
        return mmdx_error_set(err, MMDX_EINVAL, "fusion: training needs labels");
    size_t pos = 0;
    for (size_t i = 0; i < d->n_samples; i++) {
        if (d->labels[i] != 0 && d->labels[i] != 1)
            return mmdx_error_set(err, MMDX_EINVAL, "fusion: %s: label %d is not 0 or 1",
                                  mmdx_fusion_sample_name(d, i, who, sizeof who), (int)d->labels[i]);
        pos += (size_t)d->labels[i];
    }
    if (pos == 0 || pos == d->n_samples)
        return mmdx_error_set(err, MMDX_EINVAL,
                              "fusion: all %zu training labels are %d: a classifier needs both classes",
                              d->n_samples, pos ? 1 : 0);
    return 0;
}
