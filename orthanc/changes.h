/*
 * orthanc/changes.h — the studies to screen, read from Orthanc's change log
 * (GET /changes), so that none is lost when Orthanc stops or is killed
 * between receiving a study and the worker queueing it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Orthanc writes a change (NewStudy, NewSeries, StableStudy, Deleted, ...)
 * in the same database transaction as the instance that caused it, but it
 * keeps the "not yet stable" studies only in memory: a study received
 * before a restart and not yet stable is never declared stable afterwards.
 * The reader keeps, for each study with a NewStudy or NewSeries change and
 * no StableStudy yet, the sequence number of that change. A StableStudy
 * change hands the study over to be queued. The cursor it offers for saving
 * is the last change before the oldest study still waiting (or the last
 * change read): every change up to it has been handed over, so that reading
 * again from a saved cursor after a restart misses nothing.
 *
 * After a restart, the studies read from before the restart are "orphans"
 * (Orthanc will not declare them stable): each is handed over once it has
 * stayed stable in Orthanc's eyes (IsStable, no instance arrived since the
 * restart) for `stable_age` seconds after the reader started; one that
 * receives instances again waits for its StableStudy change instead.
 *
 * Used by the worker thread only; talks to Orthanc through mmdx_pacs.
 */
#ifndef MMDX_ORTHANC_CHANGES_H
#define MMDX_ORTHANC_CHANGES_H

#include "mmdx/common.h"
#include "pacs.h"

typedef struct mmdx_orthanc_changes mmdx_orthanc_changes;

/** At most this many studies wait at once (more: the oldest are handed over early, with a warning). */
#define MMDX_ORTHANC_CHANGES_MAX_WAITING 10000

/**
 * A reader starting after change `cursor` (a saved cursor), or, when cursor
 * < 0 (none saved: first start), after Orthanc's latest change (the
 * archive is not screened retroactively). The changes already in the log
 * are read at once: the studies waiting among them are orphans. `now` is
 * the caller's clock (seconds), `stable_age` Orthanc's StableAge.
 * Errors: MMDX_EIO (Orthanc's REST API), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_orthanc_changes_new(mmdx_orthanc_changes **out, const mmdx_pacs *pacs, long long cursor,
                                              int stable_age, double now);

void mmdx_orthanc_changes_free(mmdx_orthanc_changes *c);

/**
 * Read the changes after the last one read and hand over, through
 * found(ctx, orthanc_id), each study to queue (a non-zero return stops and
 * is returned). Errors: MMDX_EIO, MMDX_ENOMEM, found's.
 */
MMDX_RESULT_USED int mmdx_orthanc_changes_poll(mmdx_orthanc_changes *c, double now,
                                               int (*found)(void *ctx, const char *orthanc_id), void *ctx);

/** The cursor to save once every study handed over is queued. */
long long mmdx_orthanc_changes_cursor(const mmdx_orthanc_changes *c);

/** How many studies wait (for their StableStudy change, or orphans for their delay). */
size_t mmdx_orthanc_changes_waiting(const mmdx_orthanc_changes *c);

#endif
