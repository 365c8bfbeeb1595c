/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The studies to screen, from Orthanc's change log (changes.h). */
#include "changes.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "queue.h"

#define PAGE 1000

typedef struct waiting {
    char id[MMDX_ORTHANC_ID_MAX];
    long long seq; /* its first change not yet handed over */
    int orphan;    /* read from before the reader started: Orthanc will not declare it stable */
} waiting;

struct mmdx_orthanc_changes {
    const mmdx_pacs *pacs;
    long long read; /* the last change read */
    int stable_age;
    double started;
    waiting *w;
    size_t n, cap;
};

static int get_json(const mmdx_pacs *p, const char *uri, json_object **out)
{
    *out = NULL;
    char *body = NULL;
    size_t len = 0;
    int rc = p->get(p->ctx, uri, &body, &len);
    if (rc == MMDX_ENOTFOUND) {
        free(body);
        return MMDX_ENOTFOUND;
    }
    if (rc == 0 && !(*out = json_tokener_parse(body)))
        rc = MMDX_EIO;
    free(body);
    return rc ? mmdx_fail(MMDX_EIO, "Orthanc: GET %s failed (or its answer is not JSON)", uri) : 0;
}

static long find(const mmdx_orthanc_changes *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->w[i].id, id) == 0)
            return (long)i;
    return -1;
}

static void drop(mmdx_orthanc_changes *c, size_t i)
{
    memmove(&c->w[i], &c->w[i + 1], (c->n - i - 1) * sizeof *c->w);
    c->n--;
}

static int hand_over(mmdx_orthanc_changes *c, size_t i, int (*found)(void *, const char *), void *ctx)
{
    char id[MMDX_ORTHANC_ID_MAX];
    snprintf(id, sizeof id, "%s", c->w[i].id);
    drop(c, i);
    return found ? found(ctx, id) : 0;
}

static int wait_for(mmdx_orthanc_changes *c, const char *id, long long seq, int (*found)(void *, const char *),
                    void *ctx)
{
    if (strlen(id) >= MMDX_ORTHANC_ID_MAX || find(c, id) >= 0)
        return 0;
    if (c->n == MMDX_ORTHANC_CHANGES_MAX_WAITING) {
        if (c->pacs->log)
            c->pacs->log(c->pacs->ctx, MMDX_LOG_WARNING,
                         "mmdx: too many studies waiting to become stable; the oldest is queued now");
        int rc = hand_over(c, 0, found, ctx);
        if (rc)
            return rc;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        waiting *w = realloc(c->w, cap * sizeof *w);
        if (!w)
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        c->w = w, c->cap = cap;
    }
    waiting *e = &c->w[c->n++];
    snprintf(e->id, sizeof e->id, "%s", id);
    e->seq = seq;
    e->orphan = 0;
    return 0;
}

/* A new series: its study waits again (instances added to a screened study). */
static int series_study(const mmdx_pacs *p, const char *series, char study[MMDX_ORTHANC_ID_MAX])
{
    char uri[256];
    snprintf(uri, sizeof uri, "/series/%s", series);
    json_object *o = NULL, *v = NULL;
    int rc = get_json(p, uri, &o);
    study[0] = '\0';
    if (rc == 0 && json_object_object_get_ex(o, "ParentStudy", &v) && json_object_is_type(v, json_type_string))
        snprintf(study, MMDX_ORTHANC_ID_MAX, "%s", json_object_get_string(v));
    json_object_put(o);
    if (rc == MMDX_ENOTFOUND) { /* deleted since */
        mmdx_error_clear();
        rc = 0;
    }
    return rc;
}

static int one_change(mmdx_orthanc_changes *c, json_object *ch, int (*found)(void *, const char *), void *ctx)
{
    json_object *t = NULL, *r = NULL, *id = NULL, *seq = NULL;
    if (!json_object_object_get_ex(ch, "ChangeType", &t) || !json_object_object_get_ex(ch, "ResourceType", &r) ||
        !json_object_object_get_ex(ch, "ID", &id) || !json_object_object_get_ex(ch, "Seq", &seq))
        return 0;
    const char *type = json_object_get_string(t), *res = json_object_get_string(r), *rid = json_object_get_string(id);
    long long s = json_object_get_int64(seq);
    if (strcmp(res, "Series") == 0 && strcmp(type, "NewSeries") == 0) {
        char study[MMDX_ORTHANC_ID_MAX];
        int rc = series_study(c->pacs, rid, study);
        return rc || !study[0] ? rc : wait_for(c, study, s, found, ctx);
    }
    if (strcmp(res, "Study") != 0)
        return 0;
    long i = find(c, rid);
    if (strcmp(type, "NewStudy") == 0)
        return wait_for(c, rid, s, found, ctx);
    if (strcmp(type, "StableStudy") == 0) {
        if (i >= 0)
            drop(c, (size_t)i);
        return found ? found(ctx, rid) : 0;
    }
    if (strcmp(type, "Deleted") == 0 && i >= 0)
        drop(c, (size_t)i);
    return 0;
}

/* Read every change after c->read. */
static int read_log(mmdx_orthanc_changes *c, int (*found)(void *, const char *), void *ctx)
{
    for (;;) {
        char uri[128];
        snprintf(uri, sizeof uri, "/changes?since=%lld&limit=%d", c->read, PAGE);
        json_object *o = NULL, *list = NULL, *done = NULL, *last = NULL;
        int rc = get_json(c->pacs, uri, &o);
        if (rc == MMDX_ENOTFOUND)
            rc = mmdx_fail(MMDX_EIO, "Orthanc: GET %s: not found", uri);
        if (rc)
            return rc;
        if (json_object_object_get_ex(o, "Changes", &list) && json_object_is_type(list, json_type_array))
            for (size_t k = 0; !rc && k < json_object_array_length(list); k++)
                rc = one_change(c, json_object_array_get_idx(list, k), found, ctx);
        int finished = !json_object_object_get_ex(o, "Done", &done) || json_object_get_boolean(done);
        long long next = json_object_object_get_ex(o, "Last", &last) ? json_object_get_int64(last) : c->read;
        json_object_put(o);
        if (rc)
            return rc;
        if (next > c->read)
            c->read = next;
        else
            finished = 1; /* no progress: never loop */
        if (finished)
            return 0;
    }
}

int mmdx_orthanc_changes_new(mmdx_orthanc_changes **out, const mmdx_pacs *pacs, long long cursor, int stable_age,
                             double now)
{
    *out = NULL;
    mmdx_orthanc_changes *c = calloc(1, sizeof *c);
    if (!c)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    c->pacs = pacs;
    c->stable_age = stable_age;
    c->started = now;
    c->read = cursor;
    int rc = 0;
    if (cursor < 0) {
        json_object *o = NULL, *last = NULL;
        rc = get_json(pacs, "/changes?last", &o);
        c->read = rc == 0 && json_object_object_get_ex(o, "Last", &last) ? json_object_get_int64(last) : 0;
        json_object_put(o);
    } else {
        rc = read_log(c, NULL, NULL); /* the StableStudy changes read here are handed over by the first poll */
        for (size_t i = 0; i < c->n; i++)
            c->w[i].orphan = 1;
        c->read = cursor; /* read again by the first poll, which hands them over */
    }
    if (rc) {
        mmdx_orthanc_changes_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void mmdx_orthanc_changes_free(mmdx_orthanc_changes *c)
{
    if (!c)
        return;
    free(c->w);
    free(c);
}

/* An orphan: queued once it has been stable for stable_age since the restart; dropped when gone. */
static int check_orphan(mmdx_orthanc_changes *c, size_t i, double now, int (*found)(void *, const char *), void *ctx,
                        int *removed)
{
    *removed = 0;
    char uri[128];
    snprintf(uri, sizeof uri, "/studies/%s", c->w[i].id);
    json_object *o = NULL, *st = NULL;
    int rc = get_json(c->pacs, uri, &o);
    if (rc == MMDX_ENOTFOUND) {
        *removed = 1;
        drop(c, i);
        return 0;
    }
    if (rc)
        return rc;
    int stable = !json_object_object_get_ex(o, "IsStable", &st) || json_object_get_boolean(st);
    json_object_put(o);
    if (!stable) {
        c->w[i].orphan = 0; /* receiving again: Orthanc will declare it stable */
        return 0;
    }
    if (now - c->started < c->stable_age)
        return 0;
    if (c->pacs->log) {
        char line[256];
        snprintf(line, sizeof line, "mmdx: study %s was received before Orthanc restarted and never became stable: "
                 "queued now", c->w[i].id);
        c->pacs->log(c->pacs->ctx, MMDX_LOG_WARNING, line);
    }
    *removed = 1;
    return hand_over(c, i, found, ctx);
}

int mmdx_orthanc_changes_poll(mmdx_orthanc_changes *c, double now, int (*found)(void *ctx, const char *orthanc_id),
                              void *ctx)
{
    /* Orphans keep their place while the log is read again: their NewStudy is not re-added. */
    int rc = read_log(c, found, ctx);
    for (size_t i = 0; !rc && i < c->n;) {
        int removed = 0;
        if (c->w[i].orphan)
            rc = check_orphan(c, i, now, found, ctx, &removed);
        if (!removed)
            i++;
    }
    return rc;
}

long long mmdx_orthanc_changes_cursor(const mmdx_orthanc_changes *c)
{
    long long cur = c->read;
    for (size_t i = 0; i < c->n; i++)
        if (c->w[i].seq - 1 < cur)
            cur = c->w[i].seq - 1;
    return cur;
}

size_t mmdx_orthanc_changes_waiting(const mmdx_orthanc_changes *c)
{
    return c->n;
}
