/* SPDX-License-Identifier: Apache-2.0 */
#include "clock.h"
#include "screen.h"

#include <json-c/json.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binding.h"
#include "encoders.h"
#include "error.h"
#include "hash.h"
#include "keymap.h"
#include "input_hash.h"
#include "journal.h"
#include "manifest.h"
#include "model_session.h"
#include "progress.h"

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

void mmdx_screen_run_id(char out[MMDX_RUN_ID_LEN], const char *model_sha256, const char *cohort_sha256,
                        const mmdx_shard *shard, int pseudonymise, const char *job)
{
    char text[512];
    unsigned k = shard && shard->count > 1 ? shard->index : 1, n = shard && shard->count > 1 ? shard->count : 1;
    int len = snprintf(text, sizeof text, "mmdx-screen-run-v1%c%s%c%s%c%u/%u%c%d%c%s", 0, model_sha256, 0,
                       cohort_sha256, 0, k, n, 0, pseudonymise ? 1 : 0, 0, job ? job : "");
    uint8_t h[MMDX_SHA256_LEN];
    mmdx_sha256(text, (size_t)(len < (int)sizeof text ? len : (int)sizeof text - 1), h);
    h[6] = (uint8_t)((h[6] & 0x0f) | 0x80); /* version 8: custom */
    h[8] = (uint8_t)((h[8] & 0x3f) | 0x80); /* RFC variant */
    char hex[33];
    mmdx_hex(h, 16, hex);
    snprintf(out, MMDX_RUN_ID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}



static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static void count_reason(mmdx_screen_summary *s, const char *text)
{
    for (size_t i = 0; i < s->n_reasons; i++)
        if (strcmp(s->reasons[i].text, text) == 0) {
            s->reasons[i].count++;
            return;
        }
    if (s->n_reasons == MMDX_SCREEN_MAX_REASONS) {
        s->reasons[MMDX_SCREEN_MAX_REASONS - 1].count++;
        snprintf(s->reasons[MMDX_SCREEN_MAX_REASONS - 1].text, sizeof s->reasons[0].text, "other");
        return;
    }
    snprintf(s->reasons[s->n_reasons].text, sizeof s->reasons[0].text, "%s", text);
    s->reasons[s->n_reasons++].count = 1;
}

/* ---- model and encoders ---- */

static int check_encoders(screen *sc)
{
    const mmdx_model_file *md = sc->model;
    if (md->n_modalities > MMDX_SCREEN_MAX_MODALITIES)
        return mmdx_fail(MMDX_EUNSUPPORTED, "%s has %zu modalities; screening handles at most %d",
                         sc->o->model_path, md->n_modalities, MMDX_SCREEN_MAX_MODALITIES);
    return mmdx_model_check_encoders(sc->set, md, sc->o->model_path, MMDX_PROVENANCE_REQUIRED, NULL);
}

/* Where each of the model's features and modalities is in the encoders' table (model/binding.h). */
static int map_schema(screen *sc)
{
    mmdx_feature_table *layout = NULL;
    int rc = mmdx_encoder_set_layout(sc->set, &layout);
    if (rc == 0)
        rc = mmdx_model_columns_map(&sc->cols, sc->model, layout, "the output of the loaded encoders");
    mmdx_feature_table_free(layout);
    if (rc == 0 && !(sc->enc_mod = calloc(sc->n_enc ? sc->n_enc : 1, sizeof *sc->enc_mod)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t k = 0; rc == 0 && k < sc->n_enc; k++) {
        sc->enc_mod[k] = -1;
        for (size_t m = 0; m < sc->model->n_modalities; m++)
            if (sc->cols.modality_col[m] == (long)k)
                sc->enc_mod[k] = (long)m;
    }
    return rc;
}

static int open_model_and_encoders(screen *sc)
{
    const mmdx_screen_options *o = sc->o;
    int rc = mmdx_model_session_open(&sc->ms, o->registry, o->model_path, o->key_path, 1);
    if (rc < 0)
        return rc;
    sc->ms_open = 1;
    sc->model = sc->ms.file;
    sc->sum->signature_verified = sc->model->signature_verified;
    if (!sc->model->signature_verified)
        return mmdx_fail(MMDX_EINTEGRITY, "%s: the signature was not verified: screening needs a signed model and "
                         "the site key (--site-key, $MMDX_SITE_KEY or [audit] site_key_file)", o->model_path);
    snprintf(sc->sum->model_sha256, sizeof sc->sum->model_sha256, "%s", sc->model->sha256);
    sc->sum->threshold = sc->model->threshold;
    sc->n_mod = sc->model->n_modalities;
    sc->n_feat = sc->model->n_features;
    sc->sum->n_modalities = sc->n_mod < MMDX_SCREEN_MAX_MODALITIES ? sc->n_mod : MMDX_SCREEN_MAX_MODALITIES;
    for (size_t k = 0; k < sc->sum->n_modalities; k++)
        snprintf(sc->sum->modalities[k], sizeof sc->sum->modalities[k], "%s", sc->model->modalities[k]);
    /* One thread inside each encode() call: the parallelism is over patients. */
    rc = mmdx_encoder_set_open(&sc->set, o->registry, o->config, 1, (const char *const *)sc->model->modalities,
                               sc->model->n_modalities);
    if (rc < 0)
        return rc;
    sc->n_enc = mmdx_encoder_set_count(sc->set);
    if ((rc = check_encoders(sc)) < 0)
        return rc;
    return map_schema(sc);
}

/* ---- database, with pauses while it is away ---- */

typedef int (*db_op)(screen *sc, void *arg);

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
static int with_db(screen *sc, const char *what, db_op op, void *arg)
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

typedef struct begin_arg {
    mmdx_store_run *run;
    int resumed;
} begin_arg;

static int op_begin(screen *sc, void *arg)
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

typedef struct stored_arg {
    mmdx_keymap *stored;
} stored_arg;

static int add_stored(void *ctx, const char *patient) { return mmdx_keymap_put(ctx, patient, 0); }

static int op_list_stored(screen *sc, void *arg)
{
    stored_arg *a = arg;
    mmdx_keymap_free(a->stored);
    a->stored = NULL;
    int rc = mmdx_keymap_new(&a->stored);
    if (rc == 0)
        rc = mmdx_store_run_patients(sc->store, sc->sum->run_id, add_stored, a->stored, NULL);
    return rc;
}

typedef struct key_arg {
    const char *id;
    char *key;
} key_arg;

static int op_patient_key(screen *sc, void *arg)
{
    key_arg *k = arg;
    free(k->key);
    k->key = NULL;
    return mmdx_store_patient_key(sc->store, k->id, &k->key);
}

typedef struct store_arg {
    const mmdx_store_prediction *p;
    size_t n;
    mmdx_store_batch_result res;
} store_arg;

static int op_store(screen *sc, void *arg)
{
    store_arg *a = arg;
    return mmdx_store_predictions(sc->store, sc->sum->run_id, a->p, a->n, &a->res);
}

typedef struct event_arg {
    const mmdx_audit_event *ev;
} event_arg;

static int op_event(screen *sc, void *arg) { return mmdx_store_audit(sc->store, ((event_arg *)arg)->ev, NULL); }

static char *run_parameters(const screen *sc)
{
    const mmdx_screen_options *o = sc->o;
    json_object *j = json_object_new_object();
    char shard[32];
    snprintf(shard, sizeof shard, "%u/%u", o->shard.count > 1 ? o->shard.index : 1,
             o->shard.count > 1 ? o->shard.count : 1);
    json_object_object_add(j, "command", json_object_new_string("screen"));
    json_object_object_add(j, "model", json_object_new_string(base_name(o->model_path)));
    json_object_object_add(j, "cohort", json_object_new_string(base_name(o->cohort_path)));
    json_object_object_add(j, "shard", json_object_new_string(shard));
    json_object_object_add(j, "job", json_object_new_string(o->job ? o->job : ""));
    json_object_object_add(j, "keep_going", json_object_new_boolean(o->keep_going));
    json_object_object_add(j, "threads", json_object_new_int(o->threads));
    json_object_object_add(j, "batch", json_object_new_int64((int64_t)sc->batch));
    json_object_object_add(j, "patients_in_shard", json_object_new_int64((int64_t)sc->sum->n_shard));
    char *text = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return text;
}

/* ---- one batch ---- */

typedef struct failure_ctx {
    screen *sc;
} failure_ctx;

static void on_failure(void *ctx, size_t row, size_t encoder, int code, const char *message)
{
    screen *sc = ((failure_ctx *)ctx)->sc;
    sc->fail_mask[row] |= 1u << encoder;
    sc->fail_code[row * sc->n_enc + encoder] = code;
    if (sc->o->messages) {
        size_t r = sc->rows[row];
        char origin[128];
        snprintf(origin, sizeof origin, "%s:%ld", base_name(sc->o->cohort_path), mmdx_manifest_line(sc->m, r));
        const char *mod = mmdx_encoder_set_plugin(sc->set, encoder)->info.modality;
        fprintf(sc->o->messages, "%s%s%s%s: %s%s\n", sc->clear_line,
                strstr(message, origin) ? "" : origin, strstr(message, origin) ? "" : ": ", mod, message,
                sc->o->keep_going ? " (screened without it)" : " (patient not screened)");
        fflush(sc->o->messages);
    }
}

/* "imaging: file not found; genomics: malformed input" for the failed encoders of a row. */
static void reasons_text(const screen *sc, size_t row, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t k = 0; k < sc->n_enc; k++) {
        if (!(sc->fail_mask[row] & (1u << k)))
            continue;
        int w = snprintf(out + n, cap - n, "%s%s: %s", n ? "; " : "",
                         mmdx_encoder_set_plugin(sc->set, k)->info.modality,
                         mmdx_error_name(sc->fail_code[row * sc->n_enc + k]));
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

typedef struct batch_out {
    size_t n;                   /* rows of the batch */
    int *state;                 /* 0 screened, 1 partial, 2 failed */
    char **reason;              /* per row */
    uint32_t *present;          /* per row: bitmask of model modalities present */
    char **hashes;              /* per row x encoder: hex, or NULL */
    double *prob, *contrib;     /* per screened row (compacted) */
    size_t *ok_rows;            /* batch rows screened, in order */
    size_t n_ok;
} batch_out;

static void batch_out_free(batch_out *b, size_t n_enc)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->reason ? b->reason[i] : NULL);
    for (size_t i = 0; b->hashes && i < b->n * n_enc; i++)
        free(b->hashes[i]);
    free(b->state);
    free(b->reason);
    free(b->present);
    free(b->hashes);
    free(b->prob);
    free(b->contrib);
    free(b->ok_rows);
    memset(b, 0, sizeof *b);
}

static char *fmt_json_object(const screen *sc, size_t row, const batch_out *b, size_t ok_index, int hashes)
{
    json_object *j = json_object_new_object();
    if (hashes) {
        for (size_t k = 0; k < sc->n_enc; k++) {
            const char *h = b->hashes[row * sc->n_enc + k];
            if (h)
                json_object_object_add(j, mmdx_encoder_set_plugin(sc->set, k)->info.modality,
                                       json_object_new_string(h));
        }
    } else {
        for (size_t m = 0; m < sc->n_mod; m++) {
            if (!(b->present[row] & (1u << m)))
                continue;
            char num[40];
            snprintf(num, sizeof num, "%.9g", b->contrib[ok_index * sc->n_mod + m]);
            json_object_object_add(j, sc->model->modalities[m], json_object_new_double_s(atof(num), num));
        }
    }
    char *text = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return text;
}

/* Encode, fingerprint and predict one batch. */
static int compute_batch(screen *sc, const size_t *rows, size_t n, batch_out *b)
{
    const mmdx_screen_options *o = sc->o;
    memset(b, 0, sizeof *b);
    b->n = n;
    sc->rows = rows;
    sc->fail_mask = calloc(n, sizeof *sc->fail_mask);
    sc->fail_code = calloc(n * sc->n_enc + 1, sizeof *sc->fail_code);
    b->state = calloc(n, sizeof *b->state);
    b->reason = calloc(n, sizeof *b->reason);
    b->present = calloc(n, sizeof *b->present);
    b->hashes = calloc(n * sc->n_enc + 1, sizeof *b->hashes);
    b->ok_rows = calloc(n, sizeof *b->ok_rows);
    double *enc_seconds = calloc(sc->n_enc + 1, sizeof *enc_seconds);
    int rc = (!sc->fail_mask || !sc->fail_code || !b->state || !b->reason || !b->present || !b->hashes ||
              !b->ok_rows || !enc_seconds)
                 ? mmdx_fail(MMDX_ENOMEM, "out of memory")
                 : 0;
    mmdx_feature_table *t = NULL;
    if (rc == 0) {
        mmdx_encode_options eo = {1, NULL, 0, NULL};
        failure_ctx fc = {sc};
        mmdx_encode_hooks hooks = {on_failure, &fc, enc_seconds};
        mmdx_encode_summary es;
        rc = mmdx_encoder_set_encode_rows(sc->set, sc->m, rows, n, &eo, &hooks, &t, &es);
        for (size_t k = 0; rc == 0 && k < sc->n_enc; k++)
            if (sc->enc_mod[k] >= 0)
                sc->sum->times.encode[sc->enc_mod[k]] += enc_seconds[k];
    }
    /* Which rows are screened, on which modalities. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char why[256];
        reasons_text(sc, i, why, sizeof why);
        for (size_t k = 0; k < sc->n_enc; k++)
            if (sc->enc_mod[k] >= 0 && t->present[i * t->n_modalities + k])
                b->present[i] |= 1u << sc->enc_mod[k];
        if (sc->fail_mask[i] && !o->keep_going)
            b->state[i] = 2;
        else if (!b->present[i]) {
            b->state[i] = 2;
            if (!why[0]) {
                snprintf(why, sizeof why, "no input for the model's modalities");
                if (o->messages)
                    fprintf(o->messages, "%s%s:%ld: the patient has no input for any of the model's modalities "
                            "(patient not screened)\n", sc->clear_line,
                            base_name(o->cohort_path), mmdx_manifest_line(sc->m, rows[i]));
            }
        } else if (sc->fail_mask[i])
            b->state[i] = 1;
        if (why[0] && !(b->reason[i] = strdup(why)))
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    /* Fingerprints of the inputs used (in parallel: it reads every file again). */
    if (rc == 0) {
        double t0 = mmdx_clock_seconds();
        int hash_rc = 0;
        char hash_msg[MMDX_ERROR_MESSAGE_MAX] = "";
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t i = 0; i < n; i++) {
            if (b->state[i] == 2)
                continue;
            for (size_t k = 0; k < sc->n_enc; k++) {
                if (sc->enc_mod[k] < 0 || !(b->present[i] & (1u << sc->enc_mod[k])))
                    continue;
                const char *col = mmdx_encoder_set_plugin(sc->set, k)->info.input_column;
                char *path = NULL, hex[MMDX_SHA256_HEX_LEN];
                int r = mmdx_manifest_resolve(sc->m, rows[i], col, &path);
                if (r == 0 && path)
                    r = mmdx_input_sha256(path, hex);
                free(path);
                if (r == 0 && !(b->hashes[i * sc->n_enc + k] = strdup(hex)))
                    r = mmdx_fail(MMDX_ENOMEM, "out of memory");
                if (r < 0) {
#pragma omp critical(mmdx_screen_hash)
                    if (!hash_rc) {
                        hash_rc = r;
                        snprintf(hash_msg, sizeof hash_msg, "%s", mmdx_last_error());
                    }
                }
            }
        }
        sc->sum->times.hash += mmdx_clock_seconds() - t0;
        if (hash_rc)
            rc = mmdx_fail(hash_rc, "%s (an input changed while it was being screened)", hash_msg);
    }
    /* Predict the screened rows. */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (b->state[i] != 2)
            b->ok_rows[b->n_ok++] = i;
    if (rc == 0 && b->n_ok) {
        double t0 = mmdx_clock_seconds();
        size_t N = b->n_ok, F = sc->n_feat, M = sc->n_mod;
        double *x = malloc(N * F * sizeof *x);
        uint8_t *present = calloc(N * M, 1);
        const char **ids = calloc(N, sizeof *ids);
        b->prob = malloc(N * sizeof *b->prob);
        b->contrib = calloc(N * M, sizeof *b->contrib);
        if (!x || !present || !ids || !b->prob || !b->contrib)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        for (size_t r = 0; rc == 0 && r < N; r++)
            ids[r] = t->patient_ids[b->ok_rows[r]];
        /* a modality whose input failed is missing: the encoders marked it so, and gather NaNs it */
        if (rc == 0)
            mmdx_model_columns_gather(&sc->cols, sc->model, t, b->ok_rows, N, x, present);
        if (rc == 0) {
            mmdx_dataset d = {MMDX_ABI_VERSION,
                              sizeof d,
                              N,
                              F,
                              (const char *const *)sc->model->feature_names,
                              sc->model->feature_modality,
                              M,
                              (const char *const *)sc->model->modalities,
                              x,
                              present,
                              NULL,
                              ids};
            mmdx_error err = {0};
            int prc = sc->ms.plugin->fusion.predict(sc->ms.model, &d, b->prob, b->contrib, &err);
            if (prc < 0)
                rc = mmdx_fail_from(&err, prc);
        }
        free(x);
        free(present);
        free(ids);
        sc->sum->times.predict += mmdx_clock_seconds() - t0;
    }
    mmdx_feature_table_free(t);
    free(enc_seconds);
    free(sc->fail_mask);
    free(sc->fail_code);
    sc->fail_mask = NULL;
    sc->fail_code = NULL;
    return rc;
}

/* The CSV row of batch row i (fields malloc'd into row[]). */
static int csv_row(const screen *sc, const batch_out *b, size_t i, size_t ok_index, char **row)
{
    const char *id = mmdx_manifest_patient_id(sc->m, sc->rows[i]);
    char buf[64];
    row[COL_PATIENT] = strdup(id);
    int screened = b->state[i] != 2;
    snprintf(buf, sizeof buf, "%.10g", screened ? b->prob[ok_index] : 0.0);
    row[COL_PROBABILITY] = strdup(screened ? buf : "");
    row[COL_DECISION] = strdup(screened ? (b->prob[ok_index] >= sc->model->threshold ? "1" : "0") : "");
    for (size_t m = 0; m < sc->n_mod; m++) {
        int has = screened && (b->present[i] & (1u << m));
        snprintf(buf, sizeof buf, "%.6g", has ? b->contrib[ok_index * sc->n_mod + m] : 0.0);
        row[COL_FIRST_CONTRIBUTION + m] = strdup(has ? buf : "");
    }
    char mods[256] = "";
    size_t used = 0;
    for (size_t m = 0; m < sc->n_mod; m++)
        if (b->present[i] & (1u << m)) {
            int w = snprintf(mods + used, sizeof mods - used, "%s%s", used ? "+" : "", sc->model->modalities[m]);
            if (w > 0 && (size_t)w < sizeof mods - used)
                used += (size_t)w;
        }
    static const char *const states[] = {"screened", "partial", "failed"};
    row[sc->col_modalities] = strdup(mods);
    row[sc->col_status] = strdup(states[b->state[i]]);
    row[sc->col_reason] = strdup(b->reason[i] ? b->reason[i] : "");
    for (size_t c = 0; c < sc->n_columns; c++)
        if (!row[c])
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
    return 0;
}

/* Store (database, then journal) what compute_batch produced. */
static int store_batch(screen *sc, batch_out *b)
{
    const mmdx_screen_options *o = sc->o;
    mmdx_screen_summary *s = sc->sum;
    double t0 = mmdx_clock_seconds();
    int rc = 0;
    size_t n = b->n, N = b->n_ok;
    mmdx_store_prediction *p = calloc(N + 1, sizeof *p);
    char **contrib = calloc(N + 1, sizeof *contrib), **hashes = calloc(N + 1, sizeof *hashes);
    if (!p || !contrib || !hashes)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t r = 0; rc == 0 && r < N; r++) {
        size_t i = b->ok_rows[r];
        contrib[r] = fmt_json_object(sc, i, b, r, 0);
        hashes[r] = fmt_json_object(sc, i, b, r, 1);
        if (!contrib[r] || !hashes[r]) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        p[r].patient_id = mmdx_manifest_patient_id(sc->m, sc->rows[i]);
        p[r].probability = b->prob[r];
        p[r].decision = b->prob[r] >= sc->model->threshold;
        p[r].contributions_json = contrib[r];
        p[r].input_hashes_json = hashes[r];
    }
    if (rc == 0 && !o->no_db && N) {
        store_arg a = {p, N, {0, 0, 0, 0}};
        rc = with_db(sc, "storing a batch", op_store, &a);
        if (rc == 0) {
            s->n_stored += a.res.stored;
            s->n_duplicates += a.res.duplicates;
            s->n_conflicts += a.res.conflicts;
            if (a.res.conflicts && o->messages)
                fprintf(o->messages, "%smmdx screen: %zu patient(s) of this batch were already stored in this run "
                        "with a different result; the stored result is kept and the conflict is in the audit log\n",
                        sc->clear_line, a.res.conflicts);
        }
    }
    /* The patients that could not be screened are audited too (reason category only, no paths). */
    for (size_t i = 0; rc == 0 && !o->no_db && i < n; i++) {
        if (b->state[i] != 2)
            continue;
        json_object *d = json_object_new_object();
        json_object_object_add(d, "reason", json_object_new_string(b->reason[i] ? b->reason[i] : ""));
        mmdx_audit_event ev = {0};
        ev.action = "prediction.fail";
        ev.outcome = MMDX_OUTCOME_MINOR_FAILURE;
        ev.object_type = "patient";
        ev.patient_id = mmdx_manifest_patient_id(sc->m, sc->rows[i]);
        ev.run_id = s->run_id;
        ev.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        event_arg ea = {&ev};
        rc = with_db(sc, "recording a failure", op_event, &ea);
        json_object_put(d);
    }
    /* Then the CSV journal: a crash between the two re-screens the batch, and the store sees duplicates. */
    if (rc == 0 && sc->journal) {
        char ***rows = calloc(n + 1, sizeof *rows);
        if (!rows)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        for (size_t i = 0, r = 0; rc == 0 && i < n; i++) {
            if (!(rows[i] = calloc(sc->n_columns, sizeof **rows))) {
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
                break;
            }
            rc = csv_row(sc, b, i, r, rows[i]);
            if (b->state[i] != 2)
                r++;
        }
        if (rc == 0)
            rc = mmdx_journal_append(sc->journal, (const char *const *const *)rows, n);
        for (size_t i = 0; rows && i < n; i++) {
            for (size_t c = 0; rows[i] && c < sc->n_columns; c++)
                free(rows[i][c]);
            free(rows[i]);
        }
        free(rows);
    }
    if (rc == 0) {
        for (size_t i = 0, r = 0; i < n; i++) {
            if (b->state[i] == 2) {
                s->n_failed++;
                count_reason(s, b->reason[i] ? b->reason[i] : "unknown");
                continue;
            }
            s->n_screened++;
            s->n_partial += b->state[i] == 1;
            s->n_positive += b->prob[r] >= sc->model->threshold;
            s->by_present[b->present[i] & ((1u << MMDX_SCREEN_MAX_MODALITIES) - 1)]++;
            if (b->state[i] == 1)
                count_reason(s, b->reason[i]);
            r++;
        }
    }
    for (size_t r = 0; r < N; r++) {
        free(contrib ? contrib[r] : NULL);
        free(hashes ? hashes[r] : NULL);
    }
    free(contrib);
    free(hashes);
    free(p);
    s->times.store += mmdx_clock_seconds() - t0;
    return rc;
}

/* ---- the run ---- */

static int open_journal(screen *sc)
{
    sc->col_modalities = COL_FIRST_CONTRIBUTION + sc->n_mod;
    sc->col_status = sc->col_modalities + 1;
    sc->col_reason = sc->col_status + 1;
    sc->n_columns = sc->col_reason + 1;
    if (!sc->o->out_csv)
        return 0;
    char **header = calloc(sc->n_columns, sizeof *header);
    if (!header)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    static const char *const fixed[] = {"patient_id", "probability", "decision"};
    int rc = 0;
    for (size_t c = 0; c < COL_FIRST_CONTRIBUTION; c++)
        header[c] = strdup(fixed[c]);
    for (size_t m = 0; m < sc->n_mod; m++) {
        size_t len = strlen(sc->model->modalities[m]) + 16;
        if ((header[COL_FIRST_CONTRIBUTION + m] = malloc(len)))
            snprintf(header[COL_FIRST_CONTRIBUTION + m], len, "contribution.%s", sc->model->modalities[m]);
    }
    header[sc->col_modalities] = strdup("modalities");
    header[sc->col_status] = strdup("status");
    header[sc->col_reason] = strdup("reason");
    for (size_t c = 0; c < sc->n_columns; c++)
        if (!header[c])
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mmdx_journal_open(&sc->journal, sc->o->out_csv, sc->sum->run_id, (const char *const *)header,
                               sc->n_columns);
    for (size_t c = 0; c < sc->n_columns; c++)
        free(header[c]);
    free(header);
    return rc;
}

/* Rows of this shard, and of them those still to screen. */
static int plan(screen *sc, size_t **shard_rows, size_t *n_shard, size_t **todo, size_t *n_todo,
                mmdx_keymap *stored, size_t *n_stored)
{
    *n_stored = 0;
    size_t n = mmdx_manifest_count(sc->m);
    *shard_rows = malloc((n ? n : 1) * sizeof **shard_rows);
    *todo = malloc((n ? n : 1) * sizeof **todo);
    if (!*shard_rows || !*todo)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    *n_shard = *n_todo = 0;
    int pseudo = sc->o->store.pseudonymise;
    for (size_t r = 0; r < n; r++) {
        const char *id = mmdx_manifest_patient_id(sc->m, r);
        if (!mmdx_shard_contains(&sc->o->shard, id))
            continue;
        (*shard_rows)[(*n_shard)++] = r;
        int done = 1;
        if (!sc->o->no_db && !stored) {
            done = 0; /* a new run */
        } else if (!sc->o->no_db) {
            const char *key = id;
            key_arg ka = {id, NULL};
            if (pseudo) {
                int rc = with_db(sc, "pseudonymising", op_patient_key, &ka);
                if (rc < 0)
                    return rc;
                key = ka.key;
            }
            done = mmdx_keymap_get(stored, key, NULL);
            *n_stored += done;
            free(ka.key);
        }
        if (done && sc->journal) {
            const char *const *row = mmdx_journal_row(sc->journal, id);
            done = row && strcmp(row[sc->col_status], "failed") != 0;
        }
        if (!done)
            (*todo)[(*n_todo)++] = r;
    }
    return 0;
}

static char *summary_json(const mmdx_screen_summary *s)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "patients_in_shard", json_object_new_int64((int64_t)s->n_shard));
    json_object_object_add(j, "already_done", json_object_new_int64((int64_t)s->n_already));
    json_object_object_add(j, "screened", json_object_new_int64((int64_t)s->n_screened));
    json_object_object_add(j, "partial", json_object_new_int64((int64_t)s->n_partial));
    json_object_object_add(j, "failed", json_object_new_int64((int64_t)s->n_failed));
    json_object_object_add(j, "stored", json_object_new_int64((int64_t)s->n_stored));
    json_object_object_add(j, "duplicates", json_object_new_int64((int64_t)s->n_duplicates));
    json_object_object_add(j, "conflicts", json_object_new_int64((int64_t)s->n_conflicts));
    json_object_object_add(j, "database_pauses", json_object_new_int64((int64_t)s->db_pauses));
    json_object_object_add(j, "interrupted", json_object_new_boolean(s->interrupted));
    char *text = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return text;
}

typedef struct end_arg {
    int outcome;
    const char *summary;
} end_arg;

static int op_end(screen *sc, void *arg)
{
    end_arg *e = arg;
    return mmdx_store_run_end(sc->store, sc->sum->run_id, e->outcome, e->summary);
}

static int screen_all(screen *sc)
{
    const mmdx_screen_options *o = sc->o;
    mmdx_screen_summary *s = sc->sum;
    uint8_t h[MMDX_SHA256_LEN];
    int rc = mmdx_manifest_load(&sc->m, o->cohort_path);
    if (rc == 0)
        rc = mmdx_sha256_file(o->cohort_path, h);
    if (rc < 0)
        return rc;
    mmdx_hex(h, sizeof h, s->cohort_sha256);
    s->n_cohort = mmdx_manifest_count(sc->m);
    if ((rc = open_model_and_encoders(sc)) < 0)
        return rc;
    mmdx_screen_run_id(s->run_id, s->model_sha256, s->cohort_sha256, &o->shard, o->store.pseudonymise, o->job);

    size_t n_rows = s->n_cohort;
    for (size_t r = 0; r < n_rows; r++)
        s->n_shard += mmdx_shard_contains(&o->shard, mmdx_manifest_patient_id(sc->m, r));

    /* The journal first: a --out that belongs to another run is refused before the run is recorded. */
    if ((rc = open_journal(sc)) < 0)
        return rc;
    if (sc->journal && mmdx_journal_resumed_rows(sc->journal))
        s->resumed = 1;
    stored_arg st = {NULL};
    if (!o->no_db && (rc = with_db(sc, "listing stored patients", op_list_stored, &st)) < 0)
        return rc;
    size_t *shard_rows = NULL, *todo = NULL, n_shard = 0, n_todo = 0, n_stored = 0;
    rc = plan(sc, &shard_rows, &n_shard, &todo, &n_todo, o->no_db ? NULL : st.stored, &n_stored);
    mmdx_keymap_free(st.stored);
    /* A finished run, run again: every patient is stored and its results file written. Nothing to do. */
    if (rc == 0 && !o->no_db && sc->journal && !mmdx_journal_resumed_rows(sc->journal) && n_shard &&
        n_stored == n_shard && access(o->out_csv, F_OK) == 0) {
        mmdx_journal_discard(sc->journal);
        sc->journal = NULL;
        s->n_already = n_shard;
        s->finished_before = 1;
        if (o->messages)
            fprintf(o->messages, "mmdx screen: run %s is already complete: all %zu patients of this shard are "
                    "stored and %s holds the results; nothing to do\n", s->run_id, n_shard, o->out_csv);
        free(shard_rows);
        free(todo);
        return 0;
    }
    if (rc == 0 && !o->no_db) {
        mmdx_store_plugin *plugins = calloc(sc->n_enc + 1, sizeof *plugins);
        char *params = run_parameters(sc);
        if (!plugins || !params)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        for (size_t k = 0; rc == 0 && k < sc->n_enc; k++) {
            const mmdx_plugin *p = mmdx_encoder_set_plugin(sc->set, k);
            plugins[k] = (mmdx_store_plugin){p->info.name, p->info.version, p->sha256};
        }
        if (rc == 0)
            plugins[sc->n_enc] = (mmdx_store_plugin){sc->ms.plugin->info.name, sc->ms.plugin->info.version,
                                                     sc->ms.plugin->sha256};
        mmdx_store_run run = {s->model_sha256, s->cohort_sha256, params, plugins, sc->n_enc + 1};
        begin_arg b = {&run, 0};
        if (rc == 0)
            rc = with_db(sc, "starting the run", op_begin, &b);
        free(plugins);
        free(params);
        s->resumed |= b.resumed;
    }
    s->n_already = n_shard - n_todo;
    if (rc == 0 && o->messages && s->resumed)
        fprintf(o->messages, "mmdx screen: resuming run %s: %zu of %zu patients of this shard already done\n",
                s->run_id, s->n_already, n_shard);

    mmdx_progress *pg = rc == 0 ? mmdx_progress_new("screen", n_todo, o->progress ? o->messages : NULL) : NULL;
    for (size_t start = 0; rc == 0 && start < n_todo; start += sc->batch) {
        if (o->cancel && *o->cancel) {
            /* between two batches: everything so far is stored and journaled */
            s->interrupted = 1;
            rc = mmdx_fail(MMDX_ECANCELED, "interrupted after %zu of %zu patients of this run; what was done "
                           "is kept: run the same command again to resume", start, n_todo);
            break;
        }
        size_t n = n_todo - start < sc->batch ? n_todo - start : sc->batch;
        batch_out b;
        rc = compute_batch(sc, todo + start, n, &b);
        if (rc == 0)
            rc = store_batch(sc, &b);
        for (size_t i = 0; rc == 0 && i < n; i++)
            mmdx_progress_step(pg, b.state[i] == 2);
        batch_out_free(&b, sc->n_enc);
    }
    mmdx_progress_free(pg);

    if (rc == 0 && sc->journal) {
        const char **order = malloc((n_shard ? n_shard : 1) * sizeof *order);
        if (!order)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        for (size_t i = 0; rc == 0 && i < n_shard; i++)
            order[i] = mmdx_manifest_patient_id(sc->m, shard_rows[i]);
        if (rc == 0)
            rc = mmdx_journal_finish(sc->journal, order, n_shard, s->n_failed > 0);
        free(order);
    }
    free(shard_rows);
    free(todo);

    if (!o->no_db && (rc == 0 || rc != MMDX_EDB)) {
        /* The run's end, also when it stops early (not when the database itself is gone). */
        char *sj = summary_json(s);
        end_arg e = {rc == MMDX_ECANCELED ? MMDX_OUTCOME_MINOR_FAILURE
                     : rc < 0             ? MMDX_OUTCOME_SERIOUS_FAILURE
                     : s->n_failed        ? MMDX_OUTCOME_MINOR_FAILURE
                                          : MMDX_OUTCOME_SUCCESS,
                     sj};
        int erc = sj ? with_db(sc, "ending the run", op_end, &e) : mmdx_fail(MMDX_ENOMEM, "out of memory");
        free(sj);
        if (rc == 0)
            rc = erc;
    }
    if (rc == 0 && s->n_failed)
        rc = mmdx_fail(MMDX_EFORMAT, "%zu patient(s) could not be screened (listed above)%s", s->n_failed,
                       o->keep_going ? "" : "; fix their inputs and run the same command again, or use "
                                            "--keep-going to screen them on the modalities left");
    return rc;
}

int mmdx_screen_run(const mmdx_screen_options *o, mmdx_screen_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    double t0 = mmdx_clock_seconds();
    screen sc;
    memset(&sc, 0, sizeof sc);
    sc.o = o;
    sc.sum = summary;
    sc.batch = o->batch ? o->batch : DEFAULT_BATCH;
    sc.wait = o->db_wait_seconds > 0 ? o->db_wait_seconds : DEFAULT_DB_WAIT;
    sc.clear_line = o->progress ? mmdx_progress_clear_line(o->messages) : "";
    int rc;
    if (!o->model_path || !o->cohort_path)
        rc = mmdx_fail(MMDX_EINVAL, "screen: a model and a cohort are required");
    else if (o->no_db && !o->out_csv)
        rc = mmdx_fail(MMDX_EINVAL, "screen: without a database the results need --out");
    else
        rc = screen_all(&sc);
    /* The error message outlives the cleanup below. */
    char msg[MMDX_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s", rc ? mmdx_last_error() : "");
    mmdx_journal_free(sc.journal);
    mmdx_store_free(sc.store);
    mmdx_encoder_set_free(sc.set);
    if (sc.ms_open)
        mmdx_model_session_close(&sc.ms);
    mmdx_manifest_free(sc.m);
    mmdx_model_columns_free(&sc.cols);
    free(sc.enc_mod);
    summary->times.total = mmdx_clock_seconds() - t0;
    return rc ? mmdx_fail(rc, "%s", msg) : 0;
}
