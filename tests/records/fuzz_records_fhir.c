/* Fuzz the FHIR reader (Bundle/resource documents and NDJSON) from memory. SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>

#include "fhir_date.h"
#include "load.h"
#include "spec.h"
#include "facts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mmdx_records_spec *spec;
    if (!spec && mmdx_records_spec_default(&spec) < 0)
        abort();
    mmdx_fhir_date index;
    if (mmdx_fhir_date_parse(&index, "2020-06-15") < 0)
        abort();
    double *values = malloc(spec->n_features * sizeof *values);
    if (!values)
        return 0;
    for (int ndjson = 0; ndjson < 2; ndjson++) {
        mmdx_records_store st;
        if (mmdx_records_store_init(&st, spec) < 0)
            break;
        if (mmdx_records_load_mem(&st, (const char *)data, size, "fuzz.json", ndjson) == 0)
            for (size_t i = 0; i < st.n_patients; i++)
                mmdx_records_eval(spec, &st.patients[i], &index, values);
        mmdx_records_store_clear(&st);
    }
    free(values);
    return 0;
}
