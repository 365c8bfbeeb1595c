/*
 * orthanc/selector.h — choosing the series to screen in a study, by rules on
 * DICOM attributes, in the manner of MONAI Deploy's series selector.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A rule (JSON, in the "SeriesSelection" array of the configuration):
 *
 *   { "Name": "CT chest",
 *     "Attributes": { "Modality": "^CT$", "ImageType": "ORIGINAL",
 *                     "BodyPartExamined": "CHEST|THORAX|LUNG" },
 *     "Exclude": { "SeriesDescription": "scout|localizer|topogram" },
 *     "IgnoreCase": true,
 *     "MinSlices": 20, "MaxSlices": 2000 }
 *
 * Every "Attributes" pattern (POSIX extended regular expression, searched
 * anywhere in the value unless anchored) must match the attribute's value; a
 * series lacking the attribute does not match. Any "Exclude" pattern that
 * matches rejects the series. Multi-valued attributes (ImageType) are matched
 * as their DICOM text, values separated by a backslash. The slice count is
 * the number of instances, or NumberOfFrames for a single multi-frame
 * instance. Rules are tried in order: the first rule that matches at least
 * one series picks, among its matches, the series with the most slices (then
 * the lowest SeriesNumber, then the SeriesInstanceUID). Without rules, the
 * default is { "Attributes": { "Modality": "^(CT|MR|PT)$" } }.
 */
#ifndef MMDX_ORTHANC_SELECTOR_H
#define MMDX_ORTHANC_SELECTOR_H

#include <stddef.h>

#include "mmdx/common.h"

typedef struct mmdx_series_rules mmdx_series_rules;

/** One candidate series: its attributes as keyword/value pairs (borrowed). */
typedef struct mmdx_series_candidate {
    const char *id;               /**< Orthanc ID, for the caller */
    size_t n_slices;
    size_t n_attributes;
    const char *const *keywords;  /**< DICOM keywords ("Modality", ...) */
    const char *const *values;    /**< their values as DICOM text */
} mmdx_series_candidate;

/**
 * Compile rules from JSON text: an array of rule objects (see above), or
 * NULL/"" for the default rule. `where` names the array in messages
 * ("Mmdx.SeriesSelection"). Errors: MMDX_EFORMAT (not JSON), MMDX_EINVAL (an
 * unknown key, a wrong type, MinSlices > MaxSlices, an invalid regular
 * expression: each named by its path, e.g. `Mmdx.SeriesSelection[0].
 * Attributes.Modality: invalid regular expression "(": ...`).
 */
MMDX_RESULT_USED int mmdx_series_rules_compile(mmdx_series_rules **out, const char *json,
                                               const char *where);

void mmdx_series_rules_free(mmdx_series_rules *r);

/** Number of rules (1 for the default). */
size_t mmdx_series_rules_count(const mmdx_series_rules *r);

/** Name of rule i ("rule <i+1>" when it has none). Borrowed. */
const char *mmdx_series_rules_name(const mmdx_series_rules *r, size_t i);

/** 1 when candidate `c` satisfies rule i. Thread-safe (compiled patterns are only read). */
int mmdx_series_rule_matches(const mmdx_series_rules *r, size_t i, const mmdx_series_candidate *c);

/**
 * Pick a series: the index into c[0..n) and, in *rule (may be NULL), the
 * rule that picked it. Returns -1 when no rule matches any candidate.
 */
long mmdx_series_select(const mmdx_series_rules *r, const mmdx_series_candidate *c, size_t n,
                        size_t *rule);

#endif
