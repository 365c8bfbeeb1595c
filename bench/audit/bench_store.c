/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of the audited store against a PostgreSQL server:
 *   predictions stored per second (batches, one transaction each, with one
 *   audit event per prediction), 1 and 4 concurrent writers;
 *   audit events appended per second (one event per transaction), 1 and 4 writers;
 *   events verified per second (whole chain, rows, Merkle root).
 * Usage: bench_audit_store CONNINFO [scale]   (scale 1: 20,000 predictions per writer set)
 * Each figure is the median of 3 repetitions, each on a fresh database
 * state (the database given must be empty; it is migrated here).
 * Output: one line per figure, "name value unit".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "error.h"
#include "store.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static mmdx_store *open_or_die(const char *dsn)
{
    mmdx_store_options o = {0};
    o.conninfo = dsn;
    mmdx_store *s;
    if (mmdx_store_open(&s, &o) < 0) {
        fprintf(stderr, "bench: %s\n", mmdx_last_error());
        exit(1);
    }
    return s;
}

static void die_if(int rc)
{
    if (rc < 0) {
        fprintf(stderr, "bench: %s\n", mmdx_last_error());
        exit(1);
    }
}

typedef struct job {
    const char *dsn;
    const char *run;
    int writer, n, batch, events_only;
} job;

static void *work(void *arg)
{
    job *j = arg;
    mmdx_store *s = open_or_die(j->dsn);
    if (j->events_only) {
        for (int i = 0; i < j->n; i++) {
            mmdx_audit_event e = {0};
            e.action = "model.load";
            e.object_type = "model";
            e.detail_json = "{\"bench\": true}";
            die_if(mmdx_store_audit(s, &e, NULL));
        }
    } else {
        mmdx_store_prediction *p = calloc((size_t)j->batch, sizeof *p);
        char (*ids)[32] = calloc((size_t)j->batch, sizeof *ids);
        for (int start = 0; start < j->n; start += j->batch) {
            int m = j->n - start < j->batch ? j->n - start : j->batch;
            for (int i = 0; i < m; i++) {
                snprintf(ids[i], sizeof ids[i], "W%d-P%07d", j->writer, start + i);
                mmdx_store_prediction q = {ids[i], "1.2.826.0.1.3680043.8.498.1", (double)(i % 100) / 100.0,
                                           i % 2, "{\"imaging\": 0.31, \"genomics\": 0.12, \"records\": -0.05}",
                                           "{\"ct\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}"};
                p[i] = q;
            }
            die_if(mmdx_store_predictions(s, j->run, p, (size_t)m, NULL));
        }
        free(p);
        free(ids);
    }
    mmdx_store_free(s);
    return NULL;
}

static double timed(const char *dsn, const char *run, int writers, int per_writer, int batch, int events_only)
{
    static int round;
    round++;
    pthread_t th[16];
    job jobs[16];
    double t0 = now();
    for (int w = 0; w < writers; w++) {
        job j = {dsn, run, round * 100 + w, per_writer, batch, events_only};
        jobs[w] = j;
        pthread_create(&th[w], NULL, work, &jobs[w]);
    }
    for (int w = 0; w < writers; w++)
        pthread_join(th[w], NULL);
    return (double)(writers * per_writer) / (now() - t0);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double a, double b, double c)
{
    double v[3] = {a, b, c};
    qsort(v, 3, sizeof v[0], cmp);
    return v[1];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_audit_store CONNINFO [scale]\n");
        return 2;
    }
    const char *dsn = argv[1];
    double scale = argc > 2 ? atof(argv[2]) : 1.0;
    int preds = (int)(20000 * scale), events = (int)(2000 * scale);
    mmdx_store *s = open_or_die(dsn);
    die_if(mmdx_store_migrate(s, NULL, NULL));
    char run[MMDX_RUN_ID_LEN];
    mmdx_store_run r = {0};
    die_if(mmdx_store_run_begin(s, &r, run));

    double v[3];
    for (int i = 0; i < 3; i++)
        v[i] = timed(dsn, run, 1, preds, 500, 0);
    printf("predictions_per_s_1_writer %.0f predictions/s\n", median3(v[0], v[1], v[2]));
    for (int i = 0; i < 3; i++)
        v[i] = timed(dsn, run, 4, preds / 4, 500, 0);
    printf("predictions_per_s_4_writers %.0f predictions/s\n", median3(v[0], v[1], v[2]));
    for (int i = 0; i < 3; i++)
        v[i] = timed(dsn, run, 1, events, 0, 1);
    printf("events_per_s_1_writer %.0f events/s\n", median3(v[0], v[1], v[2]));
    for (int i = 0; i < 3; i++)
        v[i] = timed(dsn, run, 4, events / 4, 0, 1);
    printf("events_per_s_4_writers %.0f events/s\n", median3(v[0], v[1], v[2]));

    mmdx_verify_report *rep = calloc(1, sizeof *rep);
    for (int i = 0; i < 3; i++) {
        double t0 = now();
        die_if(mmdx_store_verify(s, NULL, rep));
        v[i] = (double)rep->n_events / (now() - t0);
    }
    printf("verify_events %lld events\n", (long long)rep->n_events);
    printf("verify_predictions %lld predictions\n", (long long)rep->n_predictions);
    printf("events_verified_per_s %.0f events/s\n", median3(v[0], v[1], v[2]));
    free(rep);
    mmdx_store_free(s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
    return 0;
}
