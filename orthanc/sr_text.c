/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sr_writer.h"

void mmdx_sr_uid_from_hex(const char *hex, char out[MMDX_SR_UID_MAX])
{
    unsigned char digits[48] = {0}; /* little-endian decimal; 2^128 has 39 digits */
    size_t n = 1;
    for (int i = 0; i < 32 && hex && hex[i]; i++) {
        char c = hex[i];
        unsigned carry = (c >= '0' && c <= '9')   ? (unsigned)(c - '0')
                         : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                         : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
                                                  : 0;
        for (size_t k = 0; k < n; k++) {
            unsigned d = digits[k] * 16u + carry;
            digits[k] = (unsigned char)(d % 10);
            carry = d / 10;
        }
        while (carry && n < sizeof digits) {
            digits[n++] = (unsigned char)(carry % 10);
            carry /= 10;
        }
    }
    size_t used = (size_t)snprintf(out, MMDX_SR_UID_MAX, "2.25.");
    for (size_t k = n; k-- > 0 && used + 1 < MMDX_SR_UID_MAX;)
        out[used++] = (char)('0' + digits[k]);
    out[used] = '\0';
}

void mmdx_sr_uid_from_name(const char *name, char out[MMDX_SR_UID_MAX])
{
    uint8_t h[MMDX_SHA256_LEN];
    char hex[MMDX_SHA256_HEX_LEN];
    mmdx_sha256(name, strlen(name), h);
    mmdx_hex(h, sizeof h, hex);
    mmdx_sr_uid_from_hex(hex, out);
}

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
