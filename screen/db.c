/* SPDX-License-Identifier: Apache-2.0 */
/* The database of a screening run, with pauses while it is away. */
#include "screen_internal.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"

/* ---- database, with pauses while it is away ---- */


static int open_store(screen *sc)
{
    int rc = mmdx_store_open(&sc->store, &sc->o->store);
    if (rc < 0)
        sc->store = NULL;
    return rc;
}

/*
 * Run op against the database. A lost or refused connection (MMDX_EDB) is
 * retried on a new connection after 1, 2, 4... (at most 30) seconds, for
 * at most sc->wait seconds in all; op must be safe to repeat.
 */
int mmdx_screen__with_db(screen *sc, const char *what, db_op op, void *arg)
{
    double deadline = mmdx_clock_seconds() + sc->wait, delay = 1.0;
    for (;;) {
        int rc = sc->store ? 0 : open_store(sc);
        if (rc == 0)
            rc = op(sc, arg);
        if (rc != MMDX_EDB)
            return rc;
        char why[MMDX_ERROR_MESSAGE_MAX];
        snprintf(why, sizeof why, "%s", mmdx_last_error());
        mmdx_store_free(sc->store);
        sc->store = NULL;
        double left = deadline - mmdx_clock_seconds();
        if (left <= 0)
            return mmdx_fail(MMDX_EDB, "%s: the database stayed unavailable for %.0f s (%s); nothing of the "
                             "current batch was stored: run the same command again to resume", what, sc->wait,
                             why);
        double d = delay < left ? delay : left;
        if (sc->o->messages) {
            fprintf(sc->o->messages, "%smmdx screen: %s: database unavailable (%s); paused, retrying in %.0f s\n",
                    sc->clear_line, what, why, ceil(d));
            fflush(sc->o->messages);
        }
        sc->sum->db_pauses++;
        mmdx_sleep_seconds(d);
        delay = delay * 2 > MAX_DB_DELAY ? MAX_DB_DELAY : delay * 2;
    }
}


int mmdx_screen__op_begin(screen *sc, void *arg)
{
    begin_arg *b = arg;
    int version = 0;
    int rc = mmdx_store_schema_version(sc->store, &version);
    if (rc == 0 && version == 0)
        return mmdx_fail(MMDX_ESCHEMA, "%s has no mmdx schema: run `mmdx db migrate` first",
                         mmdx_store_describe(sc->store));
    if (rc == 0)
        rc = mmdx_store_run_begin_id(sc->store, b->run, sc->sum->run_id, &b->resumed);
    return rc;
}


static int add_stored(void *ctx, const char *patient) { return mmdx_strmap_set(ctx, patient, 0); }

int mmdx_screen__op_list_stored(screen *sc, void *arg)
{
    stored_arg *a = arg;
    mmdx_strmap_free(a->stored);
    a->stored = NULL;
    int rc = (a->stored = mmdx_strmap_new()) ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mmdx_store_run_patients(sc->store, sc->sum->run_id, add_stored, a->stored, NULL);
    return rc;
}


int mmdx_screen__op_patient_key(screen *sc, void *arg)
{
    key_arg *k = arg;
    free(k->key);
    k->key = NULL;
    return mmdx_store_patient_key(sc->store, k->id, &k->key);
}


int mmdx_screen__op_store(screen *sc, void *arg)
{
    store_arg *a = arg;
    return mmdx_store_predictions(sc->store, sc->sum->run_id, a->p, a->n, &a->res);
}


int mmdx_screen__op_event(screen *sc, void *arg) { return mmdx_store_audit(sc->store, ((event_arg *)arg)->ev, NULL); }
