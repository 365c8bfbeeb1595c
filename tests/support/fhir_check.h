/*
 * tests/support/fhir_check.h — checks of the FHIR R4 RiskAssessment lines
 * mmdx writes (`predict --fhir`, `db results --fhir`) against R4's
 * definitions: only the elements R4 defines for RiskAssessment and its
 * prediction, the required status (from its value set) and subject, the
 * dateTime form, the basis resolving to the contained Device (type
 * model-name), the id's form.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_TEST_FHIR_CHECK_H
#define MMDX_TEST_FHIR_CHECK_H

/**
 * Check one NDJSON line; its subject identifier must be (system, value), its
 * probability within 1e-9 of `probability`, its risk code "high" for
 * decision 1 and "low" for 0 (none for -1). Fails the test otherwise.
 */
void mmdx_test_check_risk_assessment(const char *line, const char *system, const char *value, double probability,
                                     int decision);

#endif
