/*
 * records/spec.h — the records feature specification (private to the module).
 * SPDX-License-Identifier: Apache-2.0
 *
 * A spec is a JSON document (format in docs/records.md) naming the features
 * the records encoder computes: demographics, per-LOINC lab aggregations over
 * a window before the index date, condition flags and medication flags, and
 * how the columns of a wide CSV table map onto those features. The feature
 * list (and so the schema) is fixed by the spec.
 *
 * Thread-safety: a loaded spec is immutable; concurrent readers are safe.
 */
#ifndef MMDX_RECORDS_SPEC_H
#define MMDX_RECORDS_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "strmap.h"
#include "mmdx/common.h"
#include "units.h"

/** Lab aggregations, in the order their features are listed. */
typedef enum mmdx_records_agg {
    MMDX_AGG_LATEST = 0,
    MMDX_AGG_MEAN,
    MMDX_AGG_MIN,
    MMDX_AGG_MAX,
    MMDX_AGG_COUNT,
    MMDX_AGG_SLOPE,
    MMDX_AGG_N
} mmdx_records_agg;

/** Name of an aggregation ("latest", ...). */
const char *mmdx_records_agg_name(int agg);

/** Code lists a condition or medication flag matches. */
typedef struct mmdx_records_codeset {
    char **icd10; /**< normalised (upper case, no dot): "E11" prefix or "C00-D49" range */
    size_t n_icd10;
    char **snomed; /**< exact concept ids */
    size_t n_snomed;
    char **rxnorm; /**< exact RxCUIs */
    size_t n_rxnorm;
    char **atc; /**< upper-case prefixes */
    size_t n_atc;
    char **text; /**< lower-case substrings of coding.display / CodeableConcept.text */
    size_t n_text;
} mmdx_records_codeset;

typedef struct mmdx_records_lab {
    char *name;
    char **loinc;
    size_t n_loinc;
    char *unit;            /**< unit the features are expressed in */
    mmdx_unit_rule rule;   /**< cross-dimension conversions allowed */
    int64_t window_days;   /**< 0: all history before the index date */
    unsigned aggs;         /**< bit (1 << mmdx_records_agg) per aggregation */
    double valid_min;      /**< values outside [valid_min, valid_max] (after conversion) are dropped */
    double valid_max;
    size_t feature[MMDX_AGG_N]; /**< feature index per enabled aggregation */
} mmdx_records_lab;

typedef struct mmdx_records_flag {
    char *name;
    mmdx_records_codeset codes;
    int64_t window_days; /**< 0: any time before the index date */
    int active_only;     /**< conditions: require clinicalStatus active/recurrence/relapse at index */
    size_t feature;
} mmdx_records_flag;

/** What a CSV column feeds. */
typedef enum mmdx_records_csv_target {
    MMDX_CSV_FEATURE = 0, /**< a feature, by index */
    MMDX_CSV_BIRTH_DATE,  /**< a FHIR date; age follows from the index date */
    MMDX_CSV_SEX          /**< text mapped to female/male/other/unknown */
} mmdx_records_csv_target;

typedef struct mmdx_records_csv_column {
    char *column;
    int target;          /**< mmdx_records_csv_target */
    size_t feature;      /**< MMDX_CSV_FEATURE: feature index */
    char *unit;          /**< unit of the column's numbers (labs), or NULL = the lab's unit */
    const mmdx_records_lab *lab; /**< lab the feature belongs to, for conversion, or NULL */
    size_t n_values;     /**< optional text -> value map ("yes" -> 1, "M" -> male) */
    char **value_keys;   /**< compared ignoring case */
    char **value_texts;  /**< MMDX_CSV_SEX: "female", "male", "other", "unknown" */
    double *value_numbers; /**< MMDX_CSV_FEATURE */
} mmdx_records_csv_column;

typedef struct mmdx_records_spec {
    char *name;
    int want_age, want_sex, want_deceased;
    size_t f_age, f_female, f_male, f_deceased;
    mmdx_records_lab *labs;
    size_t n_labs;
    mmdx_records_flag *conditions;
    size_t n_conditions;
    mmdx_records_flag *medications;
    size_t n_medications;
    char **features; /**< names without the "records." prefix */
    size_t n_features;
    /* LOINC code -> first entry of loinc_links; entries chain labs sharing a code. */
    mmdx_strmap *loinc_map;
    struct { size_t lab, next; } *loinc_links;
    /* Condition (kind 0) and medication (kind 1) codes: "<system letter>|<code>" -> first link */
    mmdx_strmap *code_map;
    struct { uint32_t kind, flag; size_t next; } *code_links;
    size_t n_code_links, cap_code_links;
    struct { uint32_t flag; size_t len; char lo[16], hi[16]; } *icd_ranges; /* conditions only */
    size_t n_icd_ranges, cap_icd_ranges;
    /* CSV mapping */
    char *csv_id_column;
    char csv_delimiter;
    mmdx_records_csv_column *csv_columns;
    size_t n_csv_columns;
} mmdx_records_spec;

/**
 * Parse a spec from memory. `name` (a path) is used in messages. Errors
 * (thread-local last error, naming the file and the JSON path of the field,
 * e.g. "spec.json: labs[2].aggregations[0]: unknown aggregation 'meen'"):
 * MMDX_EFORMAT for invalid JSON (with line and column), unknown keys, wrong
 * types, bad names or duplicate feature names; MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_records_spec_parse(mmdx_records_spec **out, const char *json, size_t len,
                                             const char *name);

/** Load a spec file. Errors as mmdx_records_spec_parse(), plus MMDX_ENOTFOUND/MMDX_EIO. */
MMDX_RESULT_USED int mmdx_records_spec_load(mmdx_records_spec **out, const char *path);

/** The default spec compiled into the module (same text as share/mmdx/records/default_spec.json). */
MMDX_RESULT_USED int mmdx_records_spec_default(mmdx_records_spec **out);

/** The default spec's JSON text (static, NUL-terminated). */
const char *mmdx_records_spec_default_text(void);

void mmdx_records_spec_free(mmdx_records_spec *spec);

/** Code systems the module recognises. */
typedef enum mmdx_records_system {
    MMDX_SYS_OTHER = 0,
    MMDX_SYS_LOINC,
    MMDX_SYS_SNOMED,
    MMDX_SYS_ICD10,
    MMDX_SYS_RXNORM,
    MMDX_SYS_ATC,
    MMDX_SYS_UCUM
} mmdx_records_system;

/** Classify a coding.system URI (and its urn:oid: form). */
int mmdx_records_system_of(const char *system_uri);

/**
 * Whether one coding (system class, code, display; any may be NULL) matches
 * the code set. Text entries are matched against `display` only; call again
 * with code NULL and display = CodeableConcept.text for the text.
 */
int mmdx_records_codeset_match(const mmdx_records_codeset *cs, int system, const char *code,
                               const char *display);

/**
 * Mark in hits[] (one byte per condition for kind 0, per medication for
 * kind 1) the flags one coding matches: the same answer as
 * mmdx_records_codeset_match() on every flag, through hashed lookups.
 * Text entries are matched against `display` (pass a CodeableConcept.text
 * with code NULL).
 */
void mmdx_records_match_coding(const mmdx_records_spec *spec, int kind, int system, const char *code,
                               const char *display, uint8_t *hits);

/** Read a whole file into a NUL-terminated buffer (free()). Errors: MMDX_ENOTFOUND, MMDX_EIO, MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_records_read_file(char **out, size_t *len, const char *path);

/** Line and column (1-based, bytes) of byte offset `off` in `text`. */
void mmdx_records_line_col(const char *text, size_t off, long *line, long *col);

#endif
