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

#include <stdio.h>

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

/* ---- Export from the store (audit/atna_export.c; these touch the database) ---- */

/**
 * Write the events matching `f` to `out` as DICOM audit messages, one
 * <AuditMessage> per line, with AuditSourceID "mmdx@<host>" and `site` as
 * AuditEnterpriseSiteID (may be NULL). *n (may be NULL) gets the number
 * written. Records nothing: the caller records the export with
 * mmdx_atna_record_export once it knows whether the output was kept.
 * Errors: those of mmdx_store_audit_query, MMDX_EIO (write error), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_atna_export(mmdx_store *s, const mmdx_audit_filter *f, const char *site, FILE *out,
                                      size_t *n);

/**
 * Record an export as an "audit.export" event: the filter (the patient as
 * the event's patient, so in stored form), the number of messages, and the
 * outcome (`ok`: success, else serious failure). Errors: mmdx_store_audit's.
 */
MMDX_RESULT_USED int mmdx_atna_record_export(mmdx_store *s, const mmdx_audit_filter *f, size_t n, int ok);

#ifdef __cplusplus
}
#endif

#endif
