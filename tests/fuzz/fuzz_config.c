/* Fuzz the site configuration parser from memory. SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_config *c = NULL;
    if (mmdx_config_parse(&c, (const char *)data, size, "fuzz.conf") == 0) {
        int rc = mmdx_config_check_host(c);
        mmdx_plugin_config pc;
        mmdx_config_section(c, "imaging", 1, &pc);
        const char *known[] = {"mmdx", "imaging"};
        rc |= mmdx_config_check_sections(c, known, 2);
        (void)rc;
        mmdx_config_free(c);
    }
    return 0;
}
