/* SPDX-License-Identifier: Apache-2.0 */
#include "clock.h"
#include "progress.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PLAIN_INTERVAL_S 5.0
#define TTY_INTERVAL_S 0.1

struct mmdx_progress {
    char what[32], unit[16], where[96];
    size_t total, done, failed;
    FILE *out;
    int tty;
    double start, last_draw;
    pthread_mutex_t lock;
};


mmdx_progress *mmdx_progress_new(const char *what, size_t total, FILE *out)
{
    mmdx_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->what, sizeof p->what, "%s", what);
    p->total = total;
    p->out = out;
    p->tty = out && isatty(fileno(out));
    p->start = p->last_draw = mmdx_clock_seconds();
    snprintf(p->unit, sizeof p->unit, "items");
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

mmdx_progress *mmdx_progress_new_open(const char *what, const char *unit, FILE *out)
{
    mmdx_progress *p = mmdx_progress_new(what, 0, out);
    if (p && unit)
        snprintf(p->unit, sizeof p->unit, "%s", unit);
    return p;
}

static void format_eta(double s, char *buf, size_t n)
{
    if (s < 0 || s > 99 * 3600)
        snprintf(buf, n, "--");
    else if (s >= 3600)
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, n, "%ds", (int)s);
}

static void draw(mmdx_progress *p, double t, int final)
{
    double el = t - p->start;
    double rate = el > 0 ? (double)p->done / el : 0;
    char when[32], fail[32] = "";
    format_eta(final ? el : (rate > 0 ? (double)(p->total - p->done) / rate : -1), when, sizeof when);
    if (p->failed)
        snprintf(fail, sizeof fail, ", %zu failed", p->failed);
    if (p->total == 0) { /* open-ended: how far, where, how fast */
        format_eta(el, when, sizeof when);
        fprintf(p->out, "%s%s %zu %s%s%s, %.1f/s, %s%s", p->tty ? "\r\033[K" : "", p->what, p->done, p->unit,
                p->where[0] ? ", at " : "", p->where, rate, when, p->tty && !final ? "" : "\n");
        fflush(p->out);
        p->last_draw = t;
        return;
    }
    if (p->tty)
        fprintf(p->out, "\r\033[K%s %zu/%zu, %.1f/s, %s %s%s%s", p->what, p->done, p->total, rate,
                final ? "took" : "ETA", when, fail, final ? "\n" : "");
    else
        fprintf(p->out, "%s: %zu/%zu done, %.1f/s, %s %s%s\n", p->what, p->done, p->total, rate,
                final ? "took" : "ETA", when, fail);
    fflush(p->out);
    p->last_draw = t;
}

void mmdx_progress_step(mmdx_progress *p, int failed)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->done++;
    if (failed)
        p->failed++;
    if (p->out) {
        double t = mmdx_clock_seconds();
        if (t - p->last_draw >= (p->tty ? TTY_INTERVAL_S : PLAIN_INTERVAL_S))
            draw(p, t, 0);
    }
    pthread_mutex_unlock(&p->lock);
}

void mmdx_progress_set(mmdx_progress *p, size_t done, const char *where)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->done = done;
    snprintf(p->where, sizeof p->where, "%s", where ? where : "");
    if (p->out) {
        double t = mmdx_clock_seconds();
        if (t - p->last_draw >= (p->tty ? TTY_INTERVAL_S : PLAIN_INTERVAL_S))
            draw(p, t, 0);
    }
    pthread_mutex_unlock(&p->lock);
}

const char *mmdx_progress_clear_line(FILE *out)
{
    return out && isatty(fileno(out)) ? "\r\033[K" : "";
}

double mmdx_progress_elapsed(const mmdx_progress *p) { return p ? mmdx_clock_seconds() - p->start : 0; }

void mmdx_progress_free(mmdx_progress *p)
{
    if (!p)
        return;
    if (p->out && p->total == 0 && p->tty) {
        if (p->last_draw > p->start) /* open-ended: the caller's summary follows; clear the line */
            fputs("\r\033[K", p->out);
    } else if (p->out && (p->tty || mmdx_clock_seconds() - p->start >= PLAIN_INTERVAL_S)) {
        draw(p, mmdx_clock_seconds(), 1);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}
