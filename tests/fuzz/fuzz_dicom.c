/*
 * Fuzz the DICOM reading path from memory: DCMTK parsing, our attribute
 * checks, decoding (every registered codec), pixel conversion and the
 * automatic mask. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include "dicom_series.h"
#include "roi.h"

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
    return 0;
}
