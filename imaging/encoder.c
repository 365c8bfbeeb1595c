/* SPDX-License-Identifier: Apache-2.0 */
#include "encoder.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_series.h"
#include "error.h"
#include "nifti_io.h"
#include "radiomics/radiomics.h"
#include "roi.h"

#define DEFAULT_MORAN_MAX_VOXELS 100000

struct mmdx_imaging_encoder {
    mmdx_radiomics_settings settings;
    mmdx_radiomics_features *names; /* names, values unused */
    char *roi;                      /* default ROI name or NULL */
    char *series_uid;               /* default series or NULL */
    int auto_mask;
    int n_threads;
    size_t max_voxels;              /* largest image read ([imaging] max_voxels) */
};

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

void mmdx_imaging_encoder_free(mmdx_imaging_encoder *e)
{
    if (!e)
        return;
    mmdx_radiomics_features_free(e->names);
    free(e->roi);
    free(e->series_uid);
    free(e);
}

int mmdx_imaging_encoder_new(mmdx_imaging_encoder **out, const mmdx_plugin_config *config, mmdx_error *err)
{
    *out = NULL;
    mmdx_imaging_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return mmdx_error_set(err, MMDX_ENOMEM, "imaging: out of memory");
    mmdx_radiomics_settings_init(&e->settings);
    e->settings.moran_max_voxels = DEFAULT_MORAN_MAX_VOXELS;
    e->auto_mask = 1;
    e->max_voxels = MMDX_IMAGING_DEFAULT_MAX_VOXELS;
    e->n_threads = config && config->n_threads > 0 ? config->n_threads : 1;
    int rc = 0;
    for (size_t i = 0; config && i < config->n_entries && rc == 0; i++) {
        const mmdx_config_entry *c = &config->entries[i];
        const char *file = c->file ? c->file : "configuration";
        char **slot = !strcmp(c->key, "roi") ? &e->roi : !strcmp(c->key, "series_uid") ? &e->series_uid : NULL;
        if (slot) {
            free(*slot);
            *slot = c->value[0] ? strdup(c->value) : NULL;
            if (c->value[0] && !*slot)
                rc = mmdx_error_set(err, MMDX_ENOMEM, "imaging: out of memory");
        } else if (!strcmp(c->key, "max_voxels")) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = c->value[0] >= '0' && c->value[0] <= '9' ? strtoull(c->value, &end, 10) : 0;
            if (!end || *end || errno || v == 0 || v > SIZE_MAX / sizeof(float))
                rc = mmdx_error_set(err, MMDX_EINVAL,
                                    "%s:%d: [imaging] max_voxels = \"%s\": expected a positive whole number of voxels",
                                    file, (int)c->line, c->value);
            else
                e->max_voxels = (size_t)v;
        } else if (!strcmp(c->key, "auto_mask")) {
            if (parse_bool(c->value, &e->auto_mask) < 0)
                rc = mmdx_error_set(err, MMDX_EINVAL, "%s:%d: [imaging] auto_mask = \"%s\": expected true or false",
                                    file, (int)c->line, c->value);
        } else {
            mmdx_error sub;
            memset(&sub, 0, sizeof sub);
            rc = mmdx_radiomics_settings_set(&e->settings, c->key, c->value, &sub);
            if (rc < 0)
                rc = mmdx_error_set(err, rc, "%s:%d: [imaging] %s", file, (int)c->line, sub.message);
        }
    }
    if (rc == 0) {
        mmdx_error sub;
        memset(&sub, 0, sizeof sub);
        if ((rc = mmdx_radiomics_settings_check(&e->settings, &sub)) < 0)
            rc = mmdx_error_set(err, rc, "[imaging] %s", sub.message);
        else if ((rc = mmdx_radiomics_names(&e->names, &e->settings, &sub)) < 0)
            rc = mmdx_error_set(err, rc, "[imaging] %s", sub.message);
    }
    if (rc < 0) {
        mmdx_imaging_encoder_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void mmdx_imaging_encoder_names(const mmdx_imaging_encoder *e, size_t *n, const char *const **names)
{
    *n = e->names->count;
    *names = (const char *const *)e->names->names;
}

int mmdx_imaging_read_image(mmdx_volume **out, char *for_uid, size_t for_size, const char *path,
                            const char *series_uid, int n_threads, size_t max_voxels)
{
    if (for_uid && for_size)
        for_uid[0] = '\0';
    if (mmdx_roi_is_nifti(path)) {
        mmdx_error err;
        memset(&err, 0, sizeof err);
        int rc = mmdx_nifti_read_volume_max(out, path, max_voxels, &err);
        return rc < 0 ? mmdx_fail_from(&err, rc) : 0;
    }
    mmdx_dicom_read_options opt = {series_uid, n_threads, max_voxels};
    mmdx_dicom_volume_info info;
    int rc = mmdx_dicom_read_volume(out, &info, path, &opt);
    if (rc == 0 && for_uid && for_size)
        snprintf(for_uid, for_size, "%s", info.frame_of_reference_uid);
    return rc;
}

static const char *extra(const mmdx_encoder_input *in, const char *key)
{
    for (size_t i = 0; i < in->n_extra; i++)
        if (in->extra_keys[i] && !strcmp(in->extra_keys[i], key))
            return in->extra_values[i] && in->extra_values[i][0] ? in->extra_values[i] : NULL;
    return NULL;
}

/* Copy the thread's last error into the plugin's error record. The readers'
 * messages name the file (and tag); the host adds the manifest line. */
static int report(mmdx_error *err, int rc)
{
    int code = mmdx_last_error_code() < 0 ? mmdx_last_error_code() : (rc < 0 ? rc : MMDX_ERROR);
    return mmdx_error_set(err, code, "%s", mmdx_last_error());
}

int mmdx_imaging_encoder_encode(const mmdx_imaging_encoder *e, const mmdx_encoder_input *in, double *values,
                                int32_t *present, mmdx_error *err)
{
    *present = 0;
    mmdx_error_clear();
    const char *mask_path = extra(in, "mask");
    const char *roi = extra(in, "roi");
    const char *series = extra(in, "series_uid");
    if (!roi)
        roi = e->roi;
    if (!series)
        series = e->series_uid;
    if (!mask_path && !e->auto_mask)
        return mmdx_error_set(err, MMDX_EINVAL,
                              "%s: no mask given (manifest column 'mask' or --mask) and [imaging] auto_mask is false",
                              in->path);

    mmdx_volume *image = NULL;
    mmdx_mask *mask = NULL;
    mmdx_radiomics_features *f = NULL;
    char for_uid[72];
    int rc = mmdx_imaging_read_image(&image, for_uid, sizeof for_uid, in->path, series, e->n_threads,
                                     e->max_voxels);
    if (rc < 0)
        return report(err, rc);
    if (mask_path)
        rc = mmdx_roi_load(&mask, mask_path, roi, image, for_uid);
    else
        rc = mmdx_roi_auto(&mask, image);
    if (rc < 0) {
        if (!mask_path) {
            char why[MMDX_ERROR_MESSAGE_MAX];
            snprintf(why, sizeof why, "%s", mmdx_last_error());
            mmdx_fail(mmdx_last_error_code(), "%s: automatic mask: %s", in->path, why);
        }
        mmdx_volume_free(image);
        return report(err, rc);
    }
    mmdx_error sub;
    memset(&sub, 0, sizeof sub);
    rc = mmdx_radiomics_compute(&f, &e->settings, image, mask, &sub);
    mmdx_mask_free(mask);
    mmdx_volume_free(image);
    if (rc < 0)
        return mmdx_error_set(err, rc, "%s: radiomics: %s", in->path, sub.message);
    if (f->count != e->names->count) {
        mmdx_radiomics_features_free(f);
        return mmdx_error_set(err, MMDX_ESCHEMA, "%s: radiomics returned %zu features, the schema has %zu",
                              in->path, f->count, e->names->count);
    }
    memcpy(values, f->values, f->count * sizeof *values);
    mmdx_radiomics_features_free(f);
    *present = 1;
    return 0;
}
