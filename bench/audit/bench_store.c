/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of the audited store against a PostgreSQL server:
 *   predictions stored per second (batches, one transaction each, with one
 *   audit event per prediction), 1 and 4 concurrent writers;
 *   audit events appended per second (one event per transaction), 1 and 4 writers;
 *   events verified per second (whole chain, rows, Merkle root).
 * Usage: bench_audit_store CONNINFO MODE [N]
 *   setup     migrate the (empty) database, begin a run, print its ID
 *   preds1/4  store N predictions (batches of 500) into run $BENCH_RUN with 1 or 4 writers
 *   events1/4 append N audit events, one per transaction, with 1 or 4 writers
 *   verify    verify the whole log
 * Prints the rate per second (verify: rate, events, predictions); peak RSS on stderr.
 * bench/audit/run.sh interleaves these with pgbench and takes medians.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "store.h"

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
    pthread_barrier_t *start; /* every writer connected: the clock starts (pgbench's tps excludes connecting too) */
} job;

static void *work(void *arg)
{
    job *j = arg;
    mmdx_store *s = open_or_die(j->dsn);
    pthread_barrier_wait(j->start);
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
                static const mmdx_store_contribution contrib[] = {
                    {"imaging", 0.31}, {"genomics", 0.12}, {"records", -0.05}};
                static const mmdx_store_input_hash ct = {
                    "ct", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"};
                mmdx_store_prediction q = {ids[i], "1.2.826.0.1.3680043.8.498.1", (double)(i % 100) / 100.0,
                                           i % 2, contrib, 3, &ct, 1, NULL, 0, NULL, 0};
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
    /* Patient IDs unique across invocations: time and PID. */
    int round = (int)(getpid() % 100000);
    pthread_t th[16];
    job jobs[16];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)writers + 1);
    for (int w = 0; w < writers; w++) {
        job j = {dsn, run, round * 100 + w, per_writer, batch, events_only, &start};
        jobs[w] = j;
        pthread_create(&th[w], NULL, work, &jobs[w]);
    }
    pthread_barrier_wait(&start);
    double t0 = mmdx_clock_seconds();
    for (int w = 0; w < writers; w++)
        pthread_join(th[w], NULL);
    double t = mmdx_clock_seconds() - t0;
    pthread_barrier_destroy(&start);
    return (double)(writers * per_writer) / t;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_audit_store CONNINFO setup|preds1|preds4|events1|events4|verify [N]\n");
        return 2;
    }
    const char *dsn = argv[1], *mode = argv[2];
    int n = argc > 3 ? atoi(argv[3]) : 1000;
    mmdx_store *s = open_or_die(dsn);
    if (strcmp(mode, "setup") == 0) {
        /* Migrate and begin the run the prediction modes store into; print its ID. */
        die_if(mmdx_store_migrate(s, NULL, NULL));
        char run[MMDX_RUN_ID_LEN];
        mmdx_store_run r = {0};
        die_if(mmdx_store_run_begin(s, &r, run));
        printf("%s\n", run);
    } else if (strcmp(mode, "verify") == 0) {
        mmdx_verify_report *rep = calloc(1, sizeof *rep);
        double t0 = mmdx_clock_seconds();
        die_if(mmdx_store_verify(s, NULL, rep));
        printf("%.0f %lld %lld\n", (double)rep->n_events / (mmdx_clock_seconds() - t0), (long long)rep->n_events,
               (long long)rep->n_predictions);
        free(rep);
    } else {
        const char *run = getenv("BENCH_RUN");
        int writers = mode[strlen(mode) - 1] == '4' ? 4 : 1;
        int events_only = strncmp(mode, "events", 6) == 0;
        if (!events_only && !run) {
            fprintf(stderr, "bench: set BENCH_RUN to the run ID printed by setup\n");
            return 2;
        }
        printf("%.0f\n", timed(dsn, run, writers, n / writers, 500, events_only));
    }
    mmdx_store_free(s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "peak_rss_kib %ld\n", ru.ru_maxrss);
    return 0;
}
