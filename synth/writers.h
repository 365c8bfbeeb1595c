/*
 * synth/writers.h — the per-patient files of a synthetic cohort: a CT
 * series (DCMTK), a VCF (htslib) and a FHIR Bundle (json-c). Internal to
 * the generator.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each writer fails with a negative code and the thread's last error naming
 * the file; each may run concurrently for different patients.
 */
#ifndef MMDX_SYNTH_WRITERS_H
#define MMDX_SYNTH_WRITERS_H

#include <stddef.h>
#include <stdint.h>

#include "patient.h"

/** A deterministic DICOM UID "2.25.<decimal of 128 bits>" of (seed, patient, kind, n). */
void mmdx_synth__uid(char out[64], uint64_t seed, const char *patient_id, const char *kind, int n);

/** Write the series into folder `dir` (created): `slices` files CT000.dcm... ; *n_files gets the count. */
MMDX_RESULT_USED int mmdx_synth__write_series(const char *dir, const mmdx_synth_patient *p, mmdx_synth_rng *rng,
                                              uint64_t seed, int image_size, int slices, size_t *n_files);

/** Write `path` (a .vcf.gz) and its tabix index `path`.tbi. */
MMDX_RESULT_USED int mmdx_synth__write_vcf(const char *path, const mmdx_synth_patient *p);

/** Write the patient's FHIR R4 Bundle to `path`. */
MMDX_RESULT_USED int mmdx_synth__write_bundle(const char *path, const mmdx_synth_patient *p, mmdx_synth_rng *rng);

/** Write the PGS Catalog scoring file of the catalogue's score sites. */
MMDX_RESULT_USED int mmdx_synth__write_scorefile(const char *path);

#endif
