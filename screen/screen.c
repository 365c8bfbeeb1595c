/* SPDX-License-Identifier: Apache-2.0 */
/* `mmdx screen`: the run — model and encoders, journal, plan, batches, summary. */
#include "screen_internal.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "hash.h"
#include "progress.h"

const char *mmdx_screen__base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

void mmdx_screen__count_reason(mmdx_screen_summary *s, const char *text)
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

void mmdx_screen_run_id(char out[MMDX_RUN_ID_LEN], const char *model_sha256, const char *cohort_sha256,
                        const mmdx_shard *shard, int pseudonymise, const char *job)
{
    char text[512];
    unsigned k = shard && shard->count > 1 ? shard->index : 1, n = shard && shard->count > 1 ? shard->count : 1;
    int len = snprintf(text, sizeof text, "mmdx-screen-run-v1%c%s%c%s%c%u/%u%c%d%c%s", 0, model_sha256, 0,
                       cohort_sha256, 0, k, n, 0, pseudonymise ? 1 : 0, 0, job ? job : "");
    mmdx_uuid_from_name(text, (size_t)(len < (int)sizeof text ? len : (int)sizeof text - 1), out);
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

static char *run_parameters(const screen *sc)
{
    const mmdx_screen_options *o = sc->o;
    json_object *j = json_object_new_object();
    char shard[32];
    snprintf(shard, sizeof shard, "%u/%u", o->shard.count > 1 ? o->shard.index : 1,
             o->shard.count > 1 ? o->shard.count : 1);
    json_object_object_add(j, "command", json_object_new_string("screen"));
    json_object_object_add(j, "model", json_object_new_string(mmdx_screen__base_name(o->model_path)));
    json_object_object_add(j, "cohort", json_object_new_string(mmdx_screen__base_name(o->cohort_path)));
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
                mmdx_strmap *stored, size_t *n_stored)
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
                int rc = mmdx_screen__with_db(sc, "pseudonymising", mmdx_screen__op_patient_key, &ka);
                if (rc < 0)
                    return rc;
                key = ka.key;
            }
            done = mmdx_strmap_get(stored, key, NULL);
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
    json_object_object_add(j, "database_reconnections", json_object_new_int64((int64_t)s->db_reconnections));
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
    if (!o->no_db && (rc = mmdx_screen__with_db(sc, "listing stored patients", mmdx_screen__op_list_stored, &st)) < 0)
        return rc;
    size_t *shard_rows = NULL, *todo = NULL, n_shard = 0, n_todo = 0, n_stored = 0;
    rc = plan(sc, &shard_rows, &n_shard, &todo, &n_todo, o->no_db ? NULL : st.stored, &n_stored);
    mmdx_strmap_free(st.stored);
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
            rc = mmdx_screen__with_db(sc, "starting the run", mmdx_screen__op_begin, &b);
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
        rc = mmdx_screen__compute_batch(sc, todo + start, n, &b);
        if (rc == 0)
            rc = mmdx_screen__store_batch(sc, &b);
        for (size_t i = 0; rc == 0 && i < n; i++)
            mmdx_progress_step(pg, b.state[i] == 2);
        mmdx_screen__batch_out_free(&b, sc->n_enc);
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
        int erc = sj ? mmdx_screen__with_db(sc, "ending the run", op_end, &e) : mmdx_fail(MMDX_ENOMEM, "out of memory");
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
