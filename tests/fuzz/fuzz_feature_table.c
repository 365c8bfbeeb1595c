/* Fuzz the feature table reader from memory. SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>

#include "feature_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_feature_table *t = NULL;
    if (mmdx_feature_table_parse(&t, (const char *)data, size, "fuzz.csv") == 0)
        mmdx_feature_table_free(t);
    return 0;
}
