/*
 * records/facts.h — per-patient clinical facts extracted from records, and
 * their evaluation into feature values at an index date (private).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Only what the spec asks for is kept: a lab value the spec names (already in
 * the feature's unit), a condition or medication that matches a flag. So a
 * store's size follows the number of relevant facts, not the size of the
 * input: a multi-gigabyte bulk export is reduced to a few numbers per patient.
 *
 * Thread-safety: building needs exclusive access; a built store is read-only
 * and mmdx_records_eval() may run concurrently on it.
 */
#ifndef MMDX_RECORDS_FACTS_H
#define MMDX_RECORDS_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "fhir_date.h"
#include "strmap.h"
#include "spec.h"

/** Size of "where it was read" texts ("file:line 12"). */
#define MMDX_ORIGIN_MAX 160

/** Time value meaning "no date known". */
#define MMDX_TIME_NONE INT64_MIN
#define MMDX_TIME_OPEN INT64_MAX

typedef struct mmdx_lab_fact {
    uint32_t lab;
    int64_t t;
    double value;
} mmdx_lab_fact;

/** A condition or medication matching flag `flag` over [start, end]. */
typedef struct mmdx_flag_fact {
    uint32_t flag;
    uint8_t status_active; /**< conditions: clinicalStatus active/recurrence/relapse (or absent) */
    int64_t start;         /**< onset / authoredOn / effective start; MMDX_TIME_NONE when undated */
    int64_t end;           /**< abatement / effective end; MMDX_TIME_OPEN when open */
} mmdx_flag_fact;

enum { MMDX_SEX_UNKNOWN = 0, MMDX_SEX_FEMALE, MMDX_SEX_MALE, MMDX_SEX_OTHER };

typedef struct mmdx_records_patient {
    char *id;               /**< FHIR Patient.id (or the CSV id cell) */
    char **identifiers;     /**< Patient.identifier[].value */
    size_t n_identifiers, cap_identifiers;
    int has_resource;       /**< a Patient resource (or CSV row) was read */
    int orphan;             /**< only referenced, in an input that holds other Patients: not encoded */
    int has_birth;
    mmdx_fhir_date birth;
    int sex;
    int deceased;           /**< 0 no/unknown, 1 yes */
    int64_t death;          /**< MMDX_TIME_NONE when deceased without a date */
    mmdx_lab_fact *labs;
    size_t n_labs, cap_labs;
    mmdx_flag_fact *conds;
    size_t n_conds, cap_conds;
    mmdx_flag_fact *meds;
    size_t n_meds, cap_meds;
    double *direct;         /**< CSV: values given directly per feature (NaN = not given), or NULL */
    char *error;            /**< a malformed resource of this patient: encode() fails with this */
    size_t n_resources;     /**< resources attributed to the patient */
    char first_origin[MMDX_ORIGIN_MAX]; /**< where the first resource naming this patient was read ("file:line 3") */
} mmdx_records_patient;

/** Counters over one input (warnings are counted, the first is kept as text). */
typedef struct mmdx_records_stats {
    size_t resources;           /**< resources read */
    size_t used;                /**< Patient/Observation/Condition/Medication* resources used */
    size_t skipped_type;        /**< resources of another type, skipped */
    size_t ignored_status;      /**< entered-in-error, cancelled, refuted... */
    size_t unit_unconvertible;  /**< values whose unit does not convert to the feature's */
    size_t out_of_range;        /**< values outside a lab's valid_range */
    size_t no_value;            /**< matched observations without a numeric valueQuantity */
    size_t unresolved_reference; /**< subject/medication references naming nothing in the input */
    size_t no_subject;          /**< resources without a patient subject */
    size_t bad_date;            /**< resources with a malformed date (patient flagged in error) */
    size_t skipped_files;       /**< bulk-export files named for a resource type that is not used, not read */
    size_t undated;             /**< matched observations without any effective date or issued time */
    char first_warning[512];    /**< text of the first warning, "" when none */
} mmdx_records_stats;

typedef struct mmdx_records_store {
    const mmdx_records_spec *spec; /**< borrowed */
    mmdx_records_patient *patients;
    size_t n_patients, cap_patients;
    mmdx_strmap *by_id;          /**< patient id -> index */
    mmdx_strmap *by_identifier;  /**< identifier value -> index (first patient holding it); built after loading */
    mmdx_records_stats stats;
    /** Called with the number of bytes of input read since the last call, from any thread; may be NULL. */
    void (*progress)(void *ud, size_t bytes);
    void *progress_ud;
} mmdx_records_store;

MMDX_RESULT_USED int mmdx_records_store_init(mmdx_records_store *st, const mmdx_records_spec *spec);
void mmdx_records_store_clear(mmdx_records_store *st);

/** The patient with key `id`, created when absent. NULL on ENOMEM. */
mmdx_records_patient *mmdx_records_store_patient(mmdx_records_store *st, const char *id);

/** Append facts (MMDX_ENOMEM on failure). */
MMDX_RESULT_USED int mmdx_records_add_lab(mmdx_records_patient *p, uint32_t lab, int64_t t, double v);
MMDX_RESULT_USED int mmdx_records_add_cond(mmdx_records_patient *p, const mmdx_flag_fact *f);
MMDX_RESULT_USED int mmdx_records_add_med(mmdx_records_patient *p, const mmdx_flag_fact *f);

/** Record a warning: bump *counter and keep the first message. */
void mmdx_records_warn(mmdx_records_stats *st, size_t *counter, const char *fmt, ...) MMDX_FORMAT(3, 4);

/** Flag a patient as holding a malformed resource (first message kept). */
void mmdx_records_patient_error(mmdx_records_patient *p, const char *fmt, ...) MMDX_FORMAT(2, 3);

/**
 * Append everything of `src` to `dst` as if src's input had been read after
 * dst's: patients are matched by id, facts appended, demographics of a later
 * Patient resource win, counters add up, the first warning and the first
 * patient error are kept. *remap (allocated, free()) gives, per src patient,
 * its index in dst. Returns 0 or MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_records_store_merge(mmdx_records_store *dst, const mmdx_records_store *src,
                                              size_t **remap);

/** Build by_identifier once every patient is read. Returns 0 or MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_records_store_index_identifiers(mmdx_records_store *st);

/**
 * Find the patient to encode for `id`: Patient.id, else an identifier value,
 * else, when the store holds exactly one patient, that one. Orphans (see
 * mmdx_records_patient.orphan) are never returned. NULL when none.
 */
const mmdx_records_patient *mmdx_records_store_find(const mmdx_records_store *st, const char *id);

/**
 * Compute the spec's features for one patient at `index` (the index date; its
 * end bounds the look-back windows). values has spec->n_features slots.
 */
void mmdx_records_eval(const mmdx_records_spec *spec, const mmdx_records_patient *p,
                       const mmdx_fhir_date *index, double *values);

#endif
