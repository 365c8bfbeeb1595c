/*
 * audit/atna.h — audit events as DICOM audit messages (DICOM PS3.15
 * Annex A.5, the IHE ATNA format) for a hospital's audit record repository.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each event becomes one <AuditMessage>: EventIdentification (DCM event ID,
 * action code, time, the event's true outcome indicator 0/4/8/12),
 * ActiveParticipant (database role as UserID, OS user as AlternativeUserID,
 * host as network access point), AuditSourceIdentification, and a
 * ParticipantObjectIdentification for the patient, the study and the run when
 * the event names them. Pure formatting: thread-safe.
 */
#ifndef MMDX_AUDIT_ATNA_H
#define MMDX_AUDIT_ATNA_H

#include "mmdx/common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The DCM code an action maps to, e.g. "110110" for prediction.store. Static. */
const char *mmdx_atna_event_code(const char *action);

/**
 * One event as one line of XML (no declaration, no newline), malloc'd.
 * `source_id` is the AuditSourceID (e.g. "mmdx@host"), `site` the
 * AuditEnterpriseSiteID or NULL. Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_atna_format(char **xml, const mmdx_audit_row *row, const char *source_id,
                                      const char *site);

#ifdef __cplusplus
}
#endif

#endif
