/*
 * Fuzz the plugin's reading of Orthanc's JSON configuration (the "Mmdx"
 * section and its series-selection rules) from memory, then run the compiled
 * rules on a fixed candidate series.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>

#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_orthanc_settings s;
    if (mmdx_orthanc_settings_parse(&s, (const char *)data, size) == 0 && s.rules) {
        const char *keys[] = {"Modality", "ImageType", "SeriesDescription", "SeriesNumber"};
        const char *values[] = {"CT", "ORIGINAL\\PRIMARY\\AXIAL", "Lung 1mm", "3"};
        mmdx_series_candidate c[2] = {{"a", 120, 4, keys, values}, {"b", 3, 2, keys, values}};
        size_t rule;
        (void)mmdx_series_select(s.rules, c, 2, &rule);
    }
    mmdx_orthanc_settings_clear(&s);
    return 0;
}
