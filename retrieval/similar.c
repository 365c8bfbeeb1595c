/* SPDX-License-Identifier: Apache-2.0 */
/* Similar stored patients in one model's space: candidates by exact search or the index, checked in the database. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ann.h"
#include "array.h"
#include "error.h"
#include "exact.h"
#include "index_file.h"
#include "similar.h"

struct mmdx_similar {
    mmdx_store *store;
    char model[65];
    mmdx_similar_space space;
    float *vec;           /* exact search: n x dim */
    size_t vec_cap;
    mmdx_index_rows rows; /* the audit sequence of each candidate row */
    mmdx_ann *ann;        /* index search, or NULL */
};

void mmdx_similar_options_init(mmdx_similar_options *o)
{
    memset(o, 0, sizeof *o);
    o->index_threshold = 20000;
}

void mmdx_similar_free(mmdx_similar *sim)
{
    if (!sim)
        return;
    free(sim->vec);
    mmdx_index_rows_free(&sim->rows);
    mmdx_ann_free(sim->ann);
    free(sim);
}

void mmdx_similar_hits_free(mmdx_similar_hits *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->hit[i].patient);
        free(h->hit[i].run_id);
        free(h->hit[i].stored_at);
        free(h->hit[i].study_uid);
    }
    free(h->hit);
    h->hit = NULL;
    h->n = 0;
}

/* A stored row of this model's shape (the model hash matched; anything else is not comparable). */
static int row_fits(const mmdx_similar_space *sp, const mmdx_embedding_row *r)
{
    return r->dim == sp->dim && (!r->tokens || r->n_tokens == sp->n_modalities);
}

/* ---- loading ---- */

typedef struct load_ctx {
    mmdx_similar *sim;
    mmdx_ann *into; /* append to the index (incremental), else to sim->vec */
    float *buf;     /* index appends, batched */
    size_t n_buf;
    int rc;
} load_ctx;

#define ADD_BATCH 4096

static int flush_adds(load_ctx *c)
{
    if (c->n_buf && c->into && (c->rc = mmdx_ann_add(c->into, c->buf, c->n_buf)) < 0)
        return c->rc;
    c->n_buf = 0;
    return 0;
}

static int load_row(void *vctx, const mmdx_embedding_row *r)
{
    load_ctx *c = vctx;
    mmdx_similar *sim = c->sim;
    uint32_t d = sim->space.dim;
    if (!row_fits(&sim->space, r))
        return 0;
    float *dst;
    if (c->into) {
        dst = c->buf + c->n_buf * d;
    } else {
        if (mmdx_array_reserve(&sim->vec, &sim->vec_cap, (sim->rows.n + 1) * d, sizeof *sim->vec, 4096 * d, 0) < 0)
            return c->rc = mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
        dst = sim->vec + sim->rows.n * d;
    }
    int vrc = mmdx_similar_vector(&sim->space, r->fused, r->tokens, dst);
    if (vrc == MMDX_ENOTFOUND) {
        mmdx_error_clear();
        return 0; /* none of the searched modalities: not a candidate in this space */
    }
    if (vrc < 0 || (c->rc = mmdx_index_rows_push(&sim->rows, r->seq)) < 0)
        return c->rc = vrc < 0 ? vrc : c->rc;
    if (c->into && ++c->n_buf == ADD_BATCH)
        return flush_adds(c);
    return 0;
}

static int load(mmdx_similar *sim, mmdx_ann *into, int64_t after, mmdx_embedding_stats *st)
{
    load_ctx c = {sim, into, NULL, 0, 0};
    if (into && !(c.buf = malloc((size_t)ADD_BATCH * sim->space.dim * sizeof *c.buf)))
        return mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
    mmdx_embedding_filter f = {sim->model, after, NULL, NULL, 0, NULL};
    int rc = mmdx_store_embeddings(sim->store, &f, load_row, &c, st);
    if (rc == 0)
        rc = flush_adds(&c);
    free(c.buf);
    if (rc == 0 && sim->rows.last_seq < st->last_seq)
        sim->rows.last_seq = st->last_seq;
    return rc < 0 ? rc : (c.rc < 0 ? c.rc : 0);
}

/* The saved index, brought up to date; 1 when there was none worth using. */
static int open_index(mmdx_similar *sim, const mmdx_index_file *xf, const mmdx_similar_options *o,
                      mmdx_similar_info *info)
{
    int rc = mmdx_index_file_load(xf, sim->space.dim, &sim->ann, &sim->rows);
    if (rc == MMDX_ENOMEM)
        return rc;
    if (rc < 0) {
        if (rc != MMDX_ENOTFOUND && o->log)
            fprintf(o->log, "mmdx similar: the saved index is unusable and is rebuilt (%s)\n", mmdx_last_error());
        return 1;
    }
    size_t before = sim->rows.n;
    mmdx_embedding_stats st;
    if ((rc = load(sim, sim->ann, sim->rows.last_seq, &st)) < 0)
        return rc;
    info->mismatched = st.mismatched;
    info->added = sim->rows.n - before;
    if (info->added && (rc = mmdx_index_file_save(xf, sim->ann, &sim->rows)) < 0)
        return rc;
    return 0;
}

static int build_index(mmdx_similar *sim, const mmdx_index_file *xf, mmdx_similar_info *info)
{
    mmdx_ann_options ao;
    mmdx_ann_options_init(&ao);
    int rc = mmdx_ann_new(&sim->ann, sim->space.dim, &ao);
    if (rc == 0 && sim->rows.n)
        rc = mmdx_ann_add(sim->ann, sim->vec, sim->rows.n);
    if (rc == 0)
        rc = mmdx_index_file_save(xf, sim->ann, &sim->rows);
    if (rc < 0)
        return rc;
    free(sim->vec);
    sim->vec = NULL;
    sim->vec_cap = 0;
    info->rebuilt = 1;
    info->added = sim->rows.n;
    return 0;
}

int mmdx_similar_open(mmdx_similar **out, mmdx_store *s, const mmdx_similar_options *o, mmdx_similar_info *info)
{
    *out = NULL;
    mmdx_similar_info inf = {0};
    if (!o->model_sha256 || strlen(o->model_sha256) != 64 || o->space.dim == 0 || o->space.dim > 4096 ||
        o->space.n_modalities > MMDX_SIMILAR_MAX_MODALITIES)
        return mmdx_fail(MMDX_EINVAL, "similar: a joint-fusion model's hash and space are needed");
    if (o->mode == MMDX_SIMILAR_INDEX && !o->index_dir)
        return mmdx_fail(MMDX_EINVAL, "similar: index search needs an index folder");
    mmdx_similar *sim = calloc(1, sizeof *sim);
    if (!sim)
        return mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
    sim->store = s;
    memcpy(sim->model, o->model_sha256, 65);
    sim->space = o->space;
    mmdx_index_file xf = {"", -1};
    int rc = 0, use_file = o->index_dir && o->mode != MMDX_SIMILAR_EXACT;
    if (use_file) {
        const char *origin = NULL;
        char space[256];
        mmdx_similar_space_name(&o->space, space, sizeof space);
        rc = mmdx_store_log_origin(s, &origin);
        if (rc == 0)
            rc = mmdx_index_file_open(&xf, o->index_dir, origin, o->model_sha256, space);
        if (rc == 0 && (rc = open_index(sim, &xf, o, &inf)) == 0)
            inf.used_index = 1;
    }
    if (rc == 1 || (rc == 0 && !inf.used_index)) {
        mmdx_embedding_stats st;
        rc = load(sim, NULL, 0, &st);
        inf.mismatched = st.mismatched;
        int big = o->mode == MMDX_SIMILAR_INDEX || (o->mode == MMDX_SIMILAR_AUTO && sim->rows.n > o->index_threshold);
        if (rc == 0 && use_file && big && (rc = build_index(sim, &xf, &inf)) == 0)
            inf.used_index = 1;
    }
    mmdx_index_file_close(&xf);
    if (rc < 0) {
        mmdx_similar_free(sim);
        return rc;
    }
    inf.candidates = sim->rows.n;
    if (info)
        *info = inf;
    *out = sim;
    return 0;
}

/* ---- search ---- */

typedef struct detail_ctx {
    const mmdx_similar *sim;
    const float *q;
    mmdx_similar_hits *out;
    size_t cap;
} detail_ctx;

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A candidate re-read from the database: its distance recomputed, its facts copied. */
static int detail_row(void *vctx, const mmdx_embedding_row *r)
{
    detail_ctx *c = vctx;
    const mmdx_similar_space *sp = &c->sim->space;
    float v[4096];
    if (!row_fits(sp, r) || mmdx_similar_vector(sp, r->fused, r->tokens, v) < 0) {
        mmdx_error_clear();
        return 0;
    }
    double dot = 0;
    for (uint32_t k = 0; k < sp->dim; k++)
        dot += (double)v[k] * c->q[k];
    if (mmdx_array_reserve(&c->out->hit, &c->cap, c->out->n + 1, sizeof *c->out->hit, 32, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
    mmdx_similar_hit *h = &c->out->hit[c->out->n];
    memset(h, 0, sizeof *h);
    h->patient = dup(r->patient);
    h->run_id = dup(r->run_id);
    h->stored_at = dup(r->stored_at);
    h->study_uid = dup(r->study_uid);
    c->out->n++;
    if (!h->patient || !h->run_id || !h->stored_at || (r->study_uid && !h->study_uid))
        return mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
    h->pseudonymised = r->pseudonymised;
    h->distance = 1 - dot;
    h->probability = r->probability;
    h->decision = r->decision;
    h->seq = r->seq;
    h->present_known = r->tokens != NULL;
    for (size_t m = 0; r->tokens && m < r->n_tokens && m < 64; m++)
        if (!isnan(r->tokens[m * r->dim]))
            h->present_mask |= UINT64_C(1) << m;
    return 0;
}

static int by_distance(const void *a, const void *b)
{
    const mmdx_similar_hit *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void drop_hit(mmdx_similar_hit *h)
{
    free(h->patient);
    free(h->run_id);
    free(h->stored_at);
    free(h->study_uid);
}

/* Nearest first, each patient once (nearest prediction), `exclude` out, at most k. */
static void dedupe(mmdx_similar_hits *h, size_t k, const char *exclude)
{
    qsort(h->hit, h->n, sizeof *h->hit, by_distance);
    size_t w = 0;
    for (size_t i = 0; i < h->n; i++) {
        int keep = w < k && !(exclude && !strcmp(h->hit[i].patient, exclude));
        for (size_t j = 0; keep && j < w; j++)
            keep = strcmp(h->hit[j].patient, h->hit[i].patient) != 0;
        if (keep)
            h->hit[w++] = h->hit[i];
        else
            drop_hit(&h->hit[i]);
    }
    h->n = w;
}

int mmdx_similar_search(mmdx_similar *sim, const float *q, size_t k, const char *exclude, mmdx_similar_hits *out)
{
    memset(out, 0, sizeof *out);
    if (k == 0 || k > MMDX_SIMILAR_MAX_K)
        return mmdx_fail(MMDX_EINVAL, "similar: k must be 1 to %d", MMDX_SIMILAR_MAX_K);
    size_t n = sim->rows.n;
    /* ask for more than k: some candidates are the same patient, the query itself, or changed rows */
    size_t want = k * 2 + 8;
    int64_t *ids = NULL, *seqs = NULL;
    float *sims = NULL;
    int rc = 0;
    for (;;) {
        size_t kk = want < n ? want : n;
        mmdx_similar_hits_free(out);
        if (kk == 0)
            break;
        free(ids);
        free(seqs);
        free(sims);
        ids = malloc(kk * sizeof *ids);
        seqs = malloc(kk * sizeof *seqs);
        sims = malloc(kk * sizeof *sims);
        if (!ids || !seqs || !sims) {
            rc = mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
            break;
        }
        rc = sim->ann ? mmdx_ann_search(sim->ann, q, 1, kk, ids, sims)
                      : mmdx_exact_search(sim->vec, n, sim->space.dim, q, 1, kk, ids, sims);
        if (rc < 0)
            break;
        size_t m = 0;
        for (size_t i = 0; i < kk; i++)
            if (ids[i] >= 0 && (size_t)ids[i] < n)
                seqs[m++] = sim->rows.seq[ids[i]];
        mmdx_embedding_filter f = {sim->model, 0, NULL, seqs, m, NULL};
        detail_ctx c = {sim, q, out, 0};
        mmdx_embedding_stats st;
        if ((rc = mmdx_store_embeddings(sim->store, &f, detail_row, &c, &st)) < 0)
            break;
        dedupe(out, k, exclude);
        if (out->n >= k || kk == n)
            break;
        want *= 4;
    }
    free(ids);
    free(sims);
    free(seqs);
    if (rc < 0)
        mmdx_similar_hits_free(out);
    return rc;
}

typedef struct query_ctx {
    const mmdx_similar_space *sp;
    const char *run_id; /* only this run's prediction, or NULL */
    float *q;
    char **key;
    int found, pseudonymised;
} query_ctx;

/* Rows come in event order: the last one with the space's modalities wins. */
static int query_row(void *vctx, const mmdx_embedding_row *r)
{
    query_ctx *c = vctx;
    if ((c->run_id && strcmp(c->run_id, r->run_id)) || !row_fits(c->sp, r) ||
        mmdx_similar_vector(c->sp, r->fused, r->tokens, c->q) < 0) {
        mmdx_error_clear();
        return 0;
    }
    free(*c->key);
    if (!(*c->key = strdup(r->patient)))
        return mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
    c->found = 1;
    c->pseudonymised = r->pseudonymised;
    return 0;
}

/* The query vector of the latest stored prediction the filter selects; `who` names it in messages. */
static int stored_query(mmdx_similar *sim, const mmdx_embedding_filter *f, const char *run_id, const char *who,
                        float *q, char **key, int *pseudonymised)
{
    *key = NULL;
    query_ctx c = {&sim->space, run_id, q, key, 0, 0};
    mmdx_embedding_stats st;
    int rc = mmdx_store_embeddings(sim->store, f, query_row, &c, &st);
    if (rc == 0 && !c.found) {
        char name[256];
        mmdx_similar_space_name(&sim->space, name, sizeof name);
        rc = st.rows && !run_id
                 ? mmdx_fail(MMDX_ENOTFOUND, "the %s's stored predictions by this model have none of the "
                                             "modalities searched (%s)", who, name)
                 : mmdx_fail(MMDX_ENOTFOUND, "no stored prediction of this model for the %s (an unknown %s, or "
                                             "screened with another model)", who, who);
    }
    if (rc < 0) {
        free(*key);
        *key = NULL;
    }
    if (pseudonymised)
        *pseudonymised = c.pseudonymised;
    return rc;
}

int mmdx_similar_stored_query(mmdx_similar *sim, const char *patient_id, float *q, char **key)
{
    mmdx_embedding_filter f = {sim->model, 0, patient_id, NULL, 0, NULL};
    return stored_query(sim, &f, NULL, "patient", q, key, NULL);
}

int mmdx_similar_study_query(mmdx_similar *sim, const char *study_uid, const char *run_id, float *q, char **key,
                             int *pseudonymised)
{
    if (!study_uid || !*study_uid)
        return mmdx_fail(MMDX_EINVAL, "similar: a study's query needs its StudyInstanceUID");
    mmdx_embedding_filter f = {sim->model, 0, NULL, NULL, 0, study_uid};
    return stored_query(sim, &f, run_id, "study", q, key, pseudonymised);
}

int mmdx_similar_refresh(mmdx_similar *sim, size_t *added, size_t *mismatched)
{
    size_t before = sim->rows.n;
    mmdx_embedding_stats st;
    int rc = load(sim, sim->ann, sim->rows.last_seq, &st);
    if (added)
        *added = sim->rows.n - before;
    if (mismatched)
        *mismatched = st.mismatched;
    return rc;
}

size_t mmdx_similar_candidates(const mmdx_similar *sim)
{
    return sim->rows.n;
}

int mmdx_similar_uses_index(const mmdx_similar *sim)
{
    return sim->ann != NULL;
}
