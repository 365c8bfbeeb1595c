/*
 * Fuzz the mask readers: the same bytes as a DICOM SEG (dcmseg, frames placed
 * on the image slices), as an RT Structure Set (dcmrt, contours rasterised)
 * and as a NIfTI mask (nifticlib, grid compared with the image's), each onto
 * the 4x4 grid the seeds are drawn on (tests/fuzz/make_mask_seeds.sh).
 * SPDX-License-Identifier: Apache-2.0
 *
 *   build-fuzz/fuzz/fuzz_masks -max_len=8192 -rss_limit_mb=1024 -malloc_limit_mb=4200 CORPUS_COPY
 *
 * Unlike fuzz_dicom (which reaches SEG and RTSTRUCT through the Modality
 * dispatch of mmdx_roi_load), each reader gets every input, whatever its
 * Modality says. A failure must say why: an error without a message aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "roi.h"

static const char frame_of_reference[] = "2.25.80";

/* The bytes in a temporary file ending in `suffix` (the readers take paths;
 * nifticlib chooses its reader by the name). */
static int write_temp(char *path, size_t size, const char *suffix, const uint8_t *data, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, size, "%s/mmdx_fuzz_mask_XXXXXX%s", tmp && *tmp ? tmp : "/tmp", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    if (fd < 0)
        return -1;
    int ok = len == 0 || write(fd, data, len) == (ssize_t)len;
    close(fd);
    if (!ok)
        unlink(path);
    return ok ? 0 : -1;
}

/* The mask a reader returned is freed; its error must say why. */
static void check(int rc, mmdx_mask *m)
{
    if (rc == 0)
        mmdx_mask_free(m);
    else if (!mmdx_last_error()[0])
        abort(); /* an error must say why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    mmdx_grid g = {4, 4, 1, {0.5, 0.5, 1}, {-10, -10, 5}, {1, 0, 0, 0, 1, 0, 0, 0, 1}};
    mmdx_volume *image = NULL;
    if (mmdx_volume_new(&image, &g) != 0)
        return 0;
    char path[4096];
    mmdx_mask *m = NULL;
    if (write_temp(path, sizeof path, ".dcm", data, size) == 0) {
        mmdx_error_clear();
        int rc = mmdx_roi_from_seg(&m, path, NULL, &g, frame_of_reference);
        check(rc, m);
        m = NULL;
        mmdx_error_clear();
        rc = mmdx_roi_from_rtstruct(&m, path, NULL, &g, frame_of_reference);
        check(rc, m);
        unlink(path);
    }
    if (write_temp(path, sizeof path, ".nii", data, size) == 0) {
        m = NULL;
        mmdx_error_clear();
        int rc = mmdx_roi_load(&m, path, NULL, image, NULL);
        check(rc, m);
        unlink(path);
    }
    mmdx_volume_free(image);
    return 0;
}
