/*
 * Fuzz the DICOM reading path from memory: DCMTK parsing, our attribute
 * checks, decoding (every registered codec), pixel conversion and the
 * automatic mask; then the same bytes as a mask (RTSTRUCT, SEG).
 * SPDX-License-Identifier: Apache-2.0
 *
 *   build-fuzz/fuzz/fuzz_dicom -max_len=4096 -rss_limit_mb=1024 -malloc_limit_mb=4200 CORPUS_COPY
 *
 * DCMTK allocates (without touching) the length an element claims, up to
 * 4 GiB, before finding the data short; -malloc_limit_mb above that keeps
 * such inputs from being reported while the RSS limit still catches real
 * growth. regress_* seeds are inputs that once did so.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dicom_series.h"
#include "fuzz_memfile.h"
#include "roi.h"

/* The same bytes as a mask (RTSTRUCT through dcmrt + rasterisation, SEG
 * through dcmseg) on the 4x4 grid of the CT seeds. Mask readers take a path:
 * an anonymous memory file serves it. */
static void load_mask(const char *path, void *ctx)
{
    (void)ctx;
    mmdx_grid g = {4, 4, 1, {0.5, 0.5, 1}, {-10, -10, 5}, {1, 0, 0, 0, 1, 0, 0, 0, 1}};
    mmdx_volume *v = NULL;
    if (mmdx_volume_new(&v, &g) == 0) {
        mmdx_mask *m = NULL;
        if (mmdx_roi_load(&m, path, NULL, v, "2.25.80") == 0)
            mmdx_mask_free(m);
        mmdx_volume_free(v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_volume *v = NULL;
    mmdx_dicom_volume_info info;
    /* Keep single inputs small: a header can claim a gigantic image. */
    if (size > (1u << 20))
        return 0;
    if (mmdx_dicom_read_memory(&v, &info, data, size, "fuzz.dcm") == 0) {
        mmdx_mask *m = NULL;
        if (mmdx_grid_count(&v->grid) <= (1u << 22) && mmdx_roi_auto(&m, v) == 0)
            mmdx_mask_free(m);
        mmdx_volume_free(v);
    }
    mmdx_fuzz_as_file(data, size, load_mask, NULL);
    return 0;
}
