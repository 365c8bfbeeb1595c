/* SPDX-License-Identifier: Apache-2.0 — PGS Catalog scoring-file parser, from memory. */
#include <stdint.h>
#include <stdlib.h>

#include "scorefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_scorefile *sf = NULL;
    mmdx_error e = {0};
    if (mmdx_scorefile_parse(&sf, (const char *)data, size, "fuzz.txt", &e) == 0) {
        /* every row is either usable or carries a reason */
        for (size_t i = 0; i < sf->n_rows; i++)
            if (!sf->rows[i].problem && (!sf->rows[i].effect || (!sf->rows[i].pos && !sf->rows[i].rsid)))
                abort();
        mmdx_scorefile_free(sf);
    } else if (sf || e.message[0] == '\0') {
        abort();
    }
    return 0;
}
