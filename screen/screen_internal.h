/*
 * screen/screen_internal.h — what the files of the screening driver share:
 * the run's state (screen.c), the database with pauses while it is away
 * (db.c) and one batch: encode, fingerprint, predict, store (batch.c).
 * Not public.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SCREEN_INTERNAL_H
#define MMDX_SCREEN_INTERNAL_H

#include "binding.h"
#include "encoders.h"
#include "journal.h"
#include "strmap.h"
#include "manifest.h"
#include "model_session.h"
#include "screen.h"

#define DEFAULT_BATCH 64
#define DEFAULT_DB_WAIT 300.0
#define MAX_DB_DELAY 30.0

/* CSV columns after the per-modality contributions. */
enum { COL_PATIENT, COL_PROBABILITY, COL_DECISION, COL_FIRST_CONTRIBUTION };

typedef struct screen {
    const mmdx_screen_options *o;
    mmdx_screen_summary *sum;
    mmdx_manifest *m;
    mmdx_model_session ms;
    int ms_open;
    const mmdx_model_file *model;
    mmdx_encoder_set *set;
    size_t n_enc, n_mod, n_feat;
    mmdx_model_columns cols; /* the model's features and modalities in the encoded table */
    long *enc_mod;       /* encoder of the set -> model modality, or -1 */
    mmdx_store *store;
    mmdx_journal *journal;
    size_t n_columns;    /* of the CSV */
    size_t col_modalities, col_status, col_reason;
    size_t batch;
    double wait;
    const char *clear_line; /* erases the progress line before a message on a terminal, else "" */
    /* the current batch */
    const size_t *rows;  /* manifest rows */
    uint32_t *fail_mask; /* per batch row: encoders that failed */
    int *fail_code;      /* per batch row x encoder */
} screen;

/* ---- screen.c ---- */
const char *mmdx_screen__base_name(const char *path);
void mmdx_screen__count_reason(mmdx_screen_summary *s, const char *text);

/* ---- db.c: each op is retried on a new connection while the database is away ---- */
typedef int (*db_op)(screen *sc, void *arg);
MMDX_RESULT_USED int mmdx_screen__with_db(screen *sc, const char *what, db_op op, void *arg);

typedef struct begin_arg {
    mmdx_store_run *run;
    int resumed;
} begin_arg;

typedef struct stored_arg {
    mmdx_strmap *stored;
} stored_arg;

typedef struct key_arg {
    const char *id;
    char *key;
} key_arg;

typedef struct store_arg {
    const mmdx_store_prediction *p;
    size_t n;
    mmdx_store_batch_result res;
} store_arg;

typedef struct event_arg {
    const mmdx_audit_event *ev;
} event_arg;

int mmdx_screen__op_begin(screen *sc, void *arg);        /* begin_arg */
int mmdx_screen__op_list_stored(screen *sc, void *arg);  /* stored_arg */
int mmdx_screen__op_patient_key(screen *sc, void *arg);  /* key_arg */
int mmdx_screen__op_store(screen *sc, void *arg);        /* store_arg */
int mmdx_screen__op_event(screen *sc, void *arg);        /* event_arg */

/* ---- batch.c ---- */
typedef struct batch_out {
    size_t n;                   /* rows of the batch */
    int *state;                 /* 0 screened, 1 partial, 2 failed */
    char **reason;              /* per row */
    uint32_t *present;          /* per row: bitmask of model modalities present */
    char **hashes;              /* per row x encoder: hex, or NULL */
    double *prob, *contrib;     /* per screened row (compacted) */
    double *fused;              /* per screened row: the model's fused embedding (emb_dim each), or NULL */
    double *tokens;             /* per screened row: each modality's token (n_mod x emb_dim, NaN: absent) */
    uint32_t emb_dim;
    size_t *ok_rows;            /* batch rows screened, in order */
    size_t n_ok;
} batch_out;

/** Encode, fingerprint and predict the manifest rows rows[0..n). */
MMDX_RESULT_USED int mmdx_screen__compute_batch(screen *sc, const size_t *rows, size_t n, batch_out *b);
/** Store (database, then journal) what compute_batch produced, and count it in the summary. */
MMDX_RESULT_USED int mmdx_screen__store_batch(screen *sc, batch_out *b);
void mmdx_screen__batch_out_free(batch_out *b, size_t n_enc);

#endif
