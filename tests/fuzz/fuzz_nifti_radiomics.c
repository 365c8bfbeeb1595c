/*
 * Fuzz the NIfTI reader and the radiomics engine. SPDX-License-Identifier: Apache-2.0
 *
 * Input: an optional first line of settings "key=value;key=value;...\n"
 * (when the input starts with '#'), then the bytes of a .nii file. The
 * file is read as an image and as a mask; on success, small images are run
 * through every feature family. nifticlib reads files only, so the bytes go
 * through a temporary file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nifti_io.h"
#include "radiomics/radiomics.h"

static void apply_settings(mmdx_radiomics_settings *s, const char *line, size_t len)
{
    char buf[512];
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *save = NULL;
    for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(item, '=');
        if (!eq)
            continue;
        *eq = '\0';
        mmdx_error err = {0};
        if (mmdx_radiomics_settings_set(s, item, eq + 1, &err) != 0 && !err.message[0])
            abort(); /* an error must say why */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    s.aggregation = MMDX_RAD_AGG_ALL;
    if (size && data[0] == '#') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t len = nl ? (size_t)(nl - data) : size;
        apply_settings(&s, (const char *)data + 1, len ? len - 1 : 0);
        size_t skip = nl ? len + 1 : size;
        data += skip;
        size -= skip;
    }
    char path[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/mmdx_fuzz_XXXXXX.nii", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 4);
    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    mmdx_volume *v = NULL;
    mmdx_mask *m = NULL;
    mmdx_error err = {0};
    int rv = mmdx_nifti_read_volume(&v, path, &err);
    if (rv != 0 && !err.message[0])
        abort();
    memset(&err, 0, sizeof err);
    int rm = mmdx_nifti_read_mask(&m, path, &err);
    if (rm != 0 && !err.message[0])
        abort();
    unlink(path);
    if (rv == 0 && rm == 0 && mmdx_grid_count(&v->grid) <= 4096) {
        mmdx_radiomics_features *f = NULL;
        memset(&err, 0, sizeof err);
        /* the spacing of a fuzzed header can make the resampled grid huge */
        if (s.interp != MMDX_RAD_INTERP_NONE)
            for (int a = 0; a < 3; a++)
                if (v->grid.spacing[a] / s.spacing[a] > 16)
                    s.interp = MMDX_RAD_INTERP_NONE;
        if (mmdx_radiomics_compute(&f, &s, v, m, &err) == 0)
            mmdx_radiomics_features_free(f);
        else if (!err.message[0])
            abort();
    }
    mmdx_volume_free(v);
    mmdx_mask_free(m);
    return 0;
}
