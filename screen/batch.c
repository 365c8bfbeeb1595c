/* SPDX-License-Identifier: Apache-2.0 */
/* One batch of a screening run: encode, fingerprint, predict, then store and journal. */
#include "screen_internal.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include <omp.h>

#include "input_hash.h"
#include "progress.h"

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
        snprintf(origin, sizeof origin, "%s:%ld", mmdx_screen__base_name(sc->o->cohort_path), mmdx_manifest_line(sc->m, r));
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


void mmdx_screen__batch_out_free(batch_out *b, size_t n_enc)
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
    free(b->fused);
    free(b->tokens);
    free(b->ok_rows);
    memset(b, 0, sizeof *b);
}

/* Row i's contributions (present modalities) and input hashes, typed for the store. */
static void prediction_fields(const screen *sc, size_t i, const batch_out *b, size_t ok_index,
                              mmdx_store_contribution *cv, mmdx_store_input_hash *hv, mmdx_store_prediction *p)
{
    p->contributions = cv;
    p->input_hashes = hv;
    for (size_t m = 0; m < sc->n_mod; m++)
        if (b->present[i] & (1u << m))
            cv[p->n_contributions++] = (mmdx_store_contribution){sc->model->modalities[m],
                                                                  b->contrib[ok_index * sc->n_mod + m]};
    for (size_t k = 0; k < sc->n_enc; k++) {
        const char *h = b->hashes[i * sc->n_enc + k];
        if (h)
            hv[p->n_input_hashes++] =
                (mmdx_store_input_hash){mmdx_encoder_set_plugin(sc->set, k)->info.modality, h};
    }
}

/* Encode, fingerprint and predict one batch. */
int mmdx_screen__compute_batch(screen *sc, const size_t *rows, size_t n, batch_out *b)
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
                            mmdx_screen__base_name(o->cohort_path), mmdx_manifest_line(sc->m, rows[i]));
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
        if (!x || !present || !ids)
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
            /* the one prediction call of every driver (model/model_session.h) */
            rc = mmdx_model_session_predict(&sc->ms, &d, &b->prob, &b->contrib);
            /* a model with a shared representation stores each patient's fused vector too */
            if (rc == 0 && mmdx_model_session_embed_dim(&sc->ms) > 0)
                rc = mmdx_model_session_embed(&sc->ms, &d, &b->fused, &b->tokens, &b->emb_dim);
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

/* Store (database, then journal) what mmdx_screen__compute_batch produced. */
int mmdx_screen__store_batch(screen *sc, batch_out *b)
{
    const mmdx_screen_options *o = sc->o;
    mmdx_screen_summary *s = sc->sum;
    double t0 = mmdx_clock_seconds();
    int rc = 0;
    size_t n = b->n, N = b->n_ok;
    mmdx_store_prediction *p = calloc(N + 1, sizeof *p);
    mmdx_store_contribution *cv = calloc(N * sc->n_mod + 1, sizeof *cv);
    mmdx_store_input_hash *hv = calloc(N * sc->n_enc + 1, sizeof *hv);
    if (!p || !cv || !hv)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t r = 0; rc == 0 && r < N; r++) {
        size_t i = b->ok_rows[r];
        p[r].patient_id = mmdx_manifest_patient_id(sc->m, sc->rows[i]);
        p[r].probability = b->prob[r];
        p[r].decision = b->prob[r] >= sc->model->threshold;
        prediction_fields(sc, i, b, r, cv + r * sc->n_mod, hv + r * sc->n_enc, &p[r]);
        if (b->fused) {
            p[r].embedding = b->fused + r * b->emb_dim;
            p[r].embedding_dim = b->emb_dim;
            p[r].tokens = b->tokens + r * sc->n_mod * b->emb_dim;
            p[r].n_tokens = sc->n_mod;
        }
    }
    if (rc == 0 && !o->no_db && N) {
        store_arg a = {p, N, {0, 0, 0, 0}};
        rc = mmdx_screen__with_db(sc, "storing a batch", mmdx_screen__op_store, &a);
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
        rc = mmdx_screen__with_db(sc, "recording a failure", mmdx_screen__op_event, &ea);
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
                mmdx_screen__count_reason(s, b->reason[i] ? b->reason[i] : "unknown");
                continue;
            }
            s->n_screened++;
            s->n_partial += b->state[i] == 1;
            s->n_positive += b->prob[r] >= sc->model->threshold;
            s->by_present[b->present[i] & ((1u << MMDX_SCREEN_MAX_MODALITIES) - 1)]++;
            if (b->state[i] == 1)
                mmdx_screen__count_reason(s, b->reason[i]);
            r++;
        }
    }
    free(cv);
    free(hv);
    free(p);
    s->times.store += mmdx_clock_seconds() - t0;
    return rc;
}
