/* Fuzz the feature-spec parser from memory. SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_records_spec *s = NULL;
    if (mmdx_records_spec_parse(&s, (const char *)data, size, "fuzz.json") == 0)
        mmdx_records_spec_free(s);
    return 0;
}
