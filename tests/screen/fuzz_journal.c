/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the resume path of the screening CSV journal: the input is the body of
 * a "<out>.partial" file (after its run line), read back, cut at a torn line,
 * parsed, then finished into the final CSV.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void) { rmdir(dir); }

static const char *const header[] = {"patient_id", "probability", "status"};
#define RUN "11111111-2222-8333-8444-555555555555"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/mmdx-fuzz-journal-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    char out[128], partial[160];
    snprintf(out, sizeof out, "%s/r.csv", dir);
    snprintf(partial, sizeof partial, "%s.partial", out);
    FILE *f = fopen(partial, "wb");
    if (!f)
        abort();
    fputs("# mmdx screen journal v1 run " RUN "\n", f);
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    mmdx_journal *j = NULL;
    if (mmdx_journal_open(&j, out, RUN, header, 3) == 0) {
        const char *row[] = {"P1", "0.5", "screened"};
        const char *const *rows[] = {row};
        (void)mmdx_journal_row(j, "P1");
        if (mmdx_journal_append(j, rows, 1) == 0) {
            const char *order[] = {"P1", "P2"};
            if (mmdx_journal_finish(j, order, 2, 0) != 0)
                unlink(out);
        }
        mmdx_journal_free(j);
    }
    unlink(partial);
    unlink(out);
    return 0;
}
