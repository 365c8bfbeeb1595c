/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "sr_writer.h"

char *mmdx_sr_render_text(const mmdx_sr_result *r, const char *source)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "AI SCREENING RESULT - NOT VERIFIED BY A CLINICIAN\n\n");
    fprintf(f, "Risk probability: %.4f (%.1f %%)\n", r->probability, 100.0 * r->probability);
    fprintf(f, "Decision threshold: %.4f\n", r->threshold);
    fprintf(f, "Decision: %s\n", r->decision ? "POSITIVE (at or above the threshold)" : "negative (below the threshold)");
    fprintf(f, "\nContribution of each modality to the log-odds:\n");
    for (size_t i = 0; i < r->n_modalities; i++) {
        if (r->present[i])
            fprintf(f, "  %-10s %+.4f\n", r->modalities[i], r->contributions[i]);
        else
            fprintf(f, "  %-10s not available for this patient\n", r->modalities[i]);
    }
    if (source && *source)
        fprintf(f, "\nImages used: %s\n", source);
    fprintf(f, "\nAlgorithm: %s %s (mmdx %s)\nModel SHA-256: %s\n", r->algorithm_name, r->algorithm_version,
            r->mmdx_version, r->model_sha256);
    fprintf(f, "\nThis result supports screening; it is not a diagnosis. A clinician must review it.\n");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
