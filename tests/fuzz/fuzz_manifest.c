/* Fuzz the cohort manifest parser (CSV + validation) from memory. SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_manifest *m = NULL;
    if (mmdx_manifest_parse(&m, (const char *)data, size, "fuzz/cohort.csv") == 0) {
        for (size_t r = 0; r < mmdx_manifest_count(m); r++) {
            char *p = NULL;
            if (mmdx_manifest_resolve(m, r, "dicom", &p) == 0)
                free(p);
            (void)mmdx_manifest_label(m, r);
        }
        mmdx_manifest_free(m);
    }
    return 0;
}
