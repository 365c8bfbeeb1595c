/* SPDX-License-Identifier: Apache-2.0 */
#include "fhir_check.h"

#include <check.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int in_set(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(v, *set))
            return 1;
    return 0;
}

/* The elements FHIR R4 defines for RiskAssessment and RiskAssessment.prediction. */
static const char *const risk_elements[] = {
    "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension",
    "modifierExtension", "identifier", "basedOn", "parent", "status", "method", "code", "subject", "encounter",
    "occurrenceDateTime", "occurrencePeriod", "condition", "performer", "reasonCode", "reasonReference", "basis",
    "prediction", "mitigation", "note", NULL};
static const char *const prediction_elements[] = {
    "id", "extension", "modifierExtension", "outcome", "probabilityDecimal", "probabilityRange", "qualitativeRisk",
    "relativeRisk", "whenPeriod", "whenRange", "rationale", NULL};
/* ObservationStatus, the value set of RiskAssessment.status */
static const char *const risk_status[] = {"registered", "preliminary", "final", "amended", "corrected",
                                          "cancelled", "entered-in-error", "unknown", NULL};

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no '%s' in %s", key, json_object_to_json_string(o));
    return v;
}

void mmdx_test_check_risk_assessment(const char *line, const char *system, const char *value, double probability,
                                     int decision)
{
    json_object *r = json_tokener_parse(line);
    ck_assert_msg(r != NULL, "not JSON: %.200s", line);
    json_object_object_foreach(r, key, val) {
        (void)val;
        ck_assert_msg(in_set(key, risk_elements), "RiskAssessment has no element '%s'", key);
    }
    ck_assert_str_eq(json_object_get_string(get(r, "resourceType")), "RiskAssessment");
    const char *rid = json_object_get_string(get(r, "id"));
    ck_assert(strlen(rid) >= 1 && strlen(rid) <= 64 && strspn(rid, "0123456789abcdef") == strlen(rid));
    ck_assert(in_set(json_object_get_string(get(r, "status")), risk_status)); /* 1..1 */
    json_object *ident = get(get(r, "subject"), "identifier");                 /* subject 1..1 */
    ck_assert_str_eq(json_object_get_string(get(ident, "system")), system);
    ck_assert_str_eq(json_object_get_string(get(ident, "value")), value);
    const char *when = json_object_get_string(get(r, "occurrenceDateTime"));
    int Y, M, D, h, mi, se;
    ck_assert_msg(sscanf(when, "%4d-%2d-%2dT%2d:%2d:%2d", &Y, &M, &D, &h, &mi, &se) == 6 &&
                      when[strlen(when) - 1] == 'Z',
                  "occurrenceDateTime '%s' is not a UTC dateTime", when);
    json_object *basis = json_object_array_get_idx(get(r, "basis"), 0);
    ck_assert_str_eq(json_object_get_string(get(basis, "reference")), "#model");
    json_object *dev = json_object_array_get_idx(get(r, "contained"), 0);
    ck_assert_str_eq(json_object_get_string(get(dev, "resourceType")), "Device");
    ck_assert_str_eq(json_object_get_string(get(dev, "id")), "model");
    json_object *dn = json_object_array_get_idx(get(dev, "deviceName"), 0);
    ck_assert_str_eq(json_object_get_string(get(dn, "type")), "model-name"); /* DeviceNameType, 1..1 */
    ck_assert(strlen(json_object_get_string(get(dn, "name"))) > 0);
    json_object *pr = json_object_array_get_idx(get(r, "prediction"), 0);
    json_object_object_foreach(pr, pkey, pval) {
        (void)pval;
        ck_assert_msg(in_set(pkey, prediction_elements), "prediction has no element '%s'", pkey);
    }
    double fp = json_object_get_double(get(pr, "probabilityDecimal"));
    ck_assert_msg(fabs(fp - probability) < 1e-9, "%s: FHIR %.12g, expected %.12g", value, fp, probability);
    json_object *qr = NULL;
    if (decision < 0) {
        ck_assert(!json_object_object_get_ex(pr, "qualitativeRisk", &qr));
    } else {
        json_object *code = json_object_array_get_idx(get(get(pr, "qualitativeRisk"), "coding"), 0);
        ck_assert_str_eq(json_object_get_string(get(code, "system")),
                         "http://terminology.hl7.org/CodeSystem/risk-probability");
        ck_assert_str_eq(json_object_get_string(get(code, "code")), decision ? "high" : "low");
    }
    json_object_put(r);
}
