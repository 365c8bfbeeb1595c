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

/* What a failed database call means for the run. */
typedef enum { DB_UNREACHABLE, DB_READ_ONLY, DB_BUSY, DB_REFUSED } db_fault;

static db_fault classify(const mmdx_store *st)
{
    if (!st || !mmdx_store_connected(st))
        return DB_UNREACHABLE; /* never connected, or the session was cut */
    const char *state = mmdx_store_last_sqlstate(st);
    /* connection exceptions; the server shutting down or starting up */
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
        strcmp(state, "57P03") == 0)
        return DB_UNREACHABLE;
    /* a standby, default_transaction_read_only, or a server protecting a full disk */
    if (strcmp(state, "25006") == 0)
        return DB_READ_ONLY;
    /* disk full, out of memory, too many connections; serialisation failures and deadlocks */
    if (strncmp(state, "53", 2) == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return DB_BUSY;
    return DB_REFUSED; /* permissions, constraints, schema...: waiting would not change it */
}

static const char *const fault_text[] = {"unreachable", "read-only, refusing writes", "out of resources or busy"};

/* The reconnections the store made by itself (a transaction replayed whole): said, and counted. */
static void note_reconnections(screen *sc, const char *what, unsigned before)
{
    unsigned now = sc->store ? mmdx_store_reconnections(sc->store) : before;
    if (now <= before)
        return;
    sc->sum->db_reconnections += now - before;
    if (sc->o->messages) {
        fprintf(sc->o->messages, "%smmdx screen: %s: the connection to the database was lost; reconnected and "
                "replayed the transaction (nothing was half-written)\n", sc->clear_line, what);
        fflush(sc->o->messages);
    }
}

/*
 * Run op against the database. When the database is unreachable, read-only
 * or out of resources (MMDX_EDB with such a cause), op is retried on a new
 * connection after 1, 2, 4... (at most 30) seconds, for at most sc->wait
 * seconds in all, saying so on the messages; op must be safe to repeat (the
 * store recognises a batch it already holds). Any other refusal of the
 * database ends the run at once.
 */
int mmdx_screen__with_db(screen *sc, const char *what, db_op op, void *arg)
{
    double deadline = mmdx_clock_seconds() + sc->wait, delay = 1.0;
    for (;;) {
        int rc = sc->store ? 0 : open_store(sc);
        unsigned before = sc->store ? mmdx_store_reconnections(sc->store) : 0;
        if (rc == 0)
            rc = op(sc, arg);
        note_reconnections(sc, what, before);
        if (rc != MMDX_EDB)
            return rc;
        char why[MMDX_ERROR_MESSAGE_MAX];
        snprintf(why, sizeof why, "%s", mmdx_last_error());
        db_fault fault = classify(sc->store);
        if (fault == DB_REFUSED)
            return mmdx_fail(MMDX_EDB, "%s: the database refused it: %s; nothing of the current batch was stored: "
                             "fix the cause and run the same command again to resume", what, why);
        mmdx_store_free(sc->store);
        sc->store = NULL;
        double left = deadline - mmdx_clock_seconds();
        if (left <= 0)
            return mmdx_fail(MMDX_EDB, "%s: the database stayed unavailable (%s) for %.0f s (%s); nothing of the "
                             "current batch was stored: run the same command again to resume", what,
                             fault_text[fault], sc->wait, why);
        double d = delay < left ? delay : left;
        if (sc->o->messages) {
            fprintf(sc->o->messages, "%smmdx screen: %s: database unavailable, %s (%s); paused, retrying in %.0f s "
                    "(for at most %.0f s more)\n", sc->clear_line, what, fault_text[fault], why, ceil(d), ceil(left));
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
