/* Fuzz the checkpoint parser (and the DICOM audit message writer) from memory.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atna.h"
#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    mmdx_checkpoint cp;
    if (mmdx_checkpoint_parse(&cp, text, "fuzz.checkpoint") == 0) {
        /* What parses must format back to something that parses to the same checkpoint. */
        char *again = NULL;
        if (mmdx_checkpoint_format(&cp, &again) == 0) {
            mmdx_checkpoint cp2;
            if (mmdx_checkpoint_parse(&cp2, again, "again") != 0 || cp2.size != cp.size ||
                memcmp(cp2.root, cp.root, 32) != 0 || cp2.time_us != cp.time_us ||
                strcmp(cp2.origin, cp.origin) != 0 || memcmp(cp2.signature, cp.signature, 64) != 0)
                abort();
            free(again);
        }
    }
    /* Any bytes as patient ID and detail: memory-safe, and the attribute stays one attribute. */
    mmdx_audit_row row = {0};
    row.time = "2026-01-01T00:00:00.000000Z";
    row.action = "prediction.conflict";
    row.outcome = 8;
    row.patient = text;
    row.detail = text;
    char *xml = NULL;
    if (mmdx_atna_format(&xml, &row, "fuzz", NULL) == 0) {
        /* Element content escapes '<', so this tag cannot be faked by the detail. */
        static const char tag[] = "<ParticipantObjectIdentification ParticipantObjectID=\"";
        const char *p = strstr(xml, tag);
        if (!p)
            abort();
        p += sizeof tag - 1;
        const char *end = strchr(p, '"');
        const char *lt = strchr(p, '<');
        if (!end || (lt && lt < end)) /* no raw '<' inside the value */
            abort();
        free(xml);
    }
    free(text);
    return 0;
}
