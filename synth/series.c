/* SPDX-License-Identifier: Apache-2.0 */
/* The CT series: soft tissue with one lesion, HU = stored - 1024. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dicom_writer.h"
#include "error.h"
#include "hash.h"
#include "writers.h"

#define PIXEL_MM 1.0
#define SLICE_MM 2.0
#define TISSUE_HU 35.0
#define TISSUE_SD_HU 10.0
#define RESCALE_INTERCEPT (-1024.0)

void mmdx_synth__uid(char out[64], uint64_t seed, const char *patient_id, const char *kind, int n)
{
    char text[160];
    int len = snprintf(text, sizeof text, "mmdx-synth|%llu|%s|%s|%d", (unsigned long long)seed, patient_id, kind, n);
    uint8_t h[MMDX_SHA256_LEN];
    mmdx_sha256(text, (size_t)len, h);
    /* 128 bits (first 16 bytes) to decimal by repeated division. */
    uint8_t num[16];
    memcpy(num, h, sizeof num);
    char digits[48];
    int nd = 0;
    for (;;) {
        int zero = 1;
        unsigned rem = 0;
        for (int i = 0; i < 16; i++) {
            unsigned cur = (rem << 8) | num[i];
            num[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            zero &= num[i] == 0;
        }
        digits[nd++] = (char)('0' + rem);
        if (zero)
            break;
    }
    int k = snprintf(out, 64, "2.25.");
    while (nd > 0 && k < 63)
        out[k++] = digits[--nd];
    out[k] = '\0';
}

int mmdx_synth__write_series(const char *dir, const mmdx_synth_patient *p, mmdx_synth_rng *rng, uint64_t seed,
                             int image_size, int slices, size_t *n_files)
{
    *n_files = 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return mmdx_fail(MMDX_EIO, "%s: cannot create: %s", dir, strerror(errno));
    size_t plane = (size_t)image_size * (size_t)image_size;
    uint16_t *pixels = malloc(plane * sizeof *pixels);
    if (!pixels)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", dir);
    char study[64], series[64], frame[64], sop[64], name[64], birth[16], path[4096];
    mmdx_synth__uid(study, seed, p->id, "study", 0);
    mmdx_synth__uid(series, seed, p->id, "series", 0);
    mmdx_synth__uid(frame, seed, p->id, "frame", 0);
    snprintf(name, sizeof name, "SYNTH^%s", p->id);
    snprintf(birth, sizeof birth, "%04d%02d%02d", p->birth_year, p->birth_month, p->birth_day);
    int rc = 0;
    double r2 = p->lesion_radius_mm * p->lesion_radius_mm, e = p->lesion_elongation > 0 ? p->lesion_elongation : 1;
    double tissue_sd = p->tissue_sd_hu > 0 ? p->tissue_sd_hu : TISSUE_SD_HU, lesion_sd = p->lesion_sd_hu;
    if (p->tissue_sd_hu > 0) /* the scan's noise adds to the lesion's own heterogeneity (lesion_sd_hu at the default noise) */
        lesion_sd = sqrt(fmax(lesion_sd * lesion_sd + tissue_sd * tissue_sd - TISSUE_SD_HU * TISSUE_SD_HU, 1.0));
    for (int z = 0; z < slices && rc == 0; z++) {
        for (int y = 0; y < image_size; y++) {
            for (int x = 0; x < image_size; x++) {
                double dx = (x - p->lesion_centre[0]) * PIXEL_MM, dy = (y - p->lesion_centre[1]) * PIXEL_MM,
                       dz = (z - p->lesion_centre[2]) * SLICE_MM;
                /* A gentle gradient so that the tissue is not flat. */
                double hu = TISSUE_HU + 5.0 * (double)y / image_size + tissue_sd * mmdx_synth_normal(rng);
                if (dx * dx / e + dy * dy * e + dz * dz <= r2)
                    hu = p->lesion_hu + lesion_sd * mmdx_synth_normal(rng);
                double stored = floor(hu - RESCALE_INTERCEPT + 0.5);
                pixels[(size_t)y * image_size + x] = (uint16_t)(stored < 0 ? 0 : stored > 4095 ? 4095 : stored);
            }
        }
        mmdx_synth__uid(sop, seed, p->id, "sop", z);
        mmdx_synth_ct_slice s = {
            .patient_id = p->id,
            .patient_name = name,
            .birth_date = birth,
            .sex = p->female ? "F" : "M",
            .study_uid = study,
            .series_uid = series,
            .sop_uid = sop,
            .frame_of_reference_uid = frame,
            .study_date = "20231215",
            .accession = "",
            .instance_number = z + 1,
            .rows = (uint16_t)image_size,
            .columns = (uint16_t)image_size,
            .position = {-image_size * PIXEL_MM / 2, -image_size * PIXEL_MM / 2, z * SLICE_MM},
            .spacing = {PIXEL_MM, PIXEL_MM},
            .thickness = SLICE_MM,
            .rescale_intercept = RESCALE_INTERCEPT,
            .pixels = pixels,
        };
        snprintf(path, sizeof path, "%s/CT%03d.dcm", dir, z);
        rc = mmdx_synth_write_ct_slice(path, &s);
        if (rc == 0)
            ++*n_files;
    }
    free(pixels);
    return rc;
}
