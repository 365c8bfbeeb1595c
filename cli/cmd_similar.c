/* SPDX-License-Identifier: Apache-2.0 */
/* mmdx similar: the stored patients nearest to a query in a joint-fusion model's shared space. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <omp.h>

#include "cli.h"
#include "cohort_input.h"
#include "csv.h"
#include "error.h"
#include "model_session.h"
#include "similar.h"
#include "similar_record.h"
#include "site_settings.h"
#include "store.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx similar --model M.mmdx (--patient ID | --cohort C.csv) [options]\n"
            "\n"
            "The k stored patients nearest to a query patient in the shared space of a\n"
            "joint-fusion model: by the fused embedding, or by the tokens of named modalities\n"
            "(--using). The query is a patient already screened with this model (--patient,\n"
            "looked up as stored: pseudonymised when the site pseudonymises) or each patient of\n"
            "a manifest, encoded now (--cohort; it may lack modalities: a CT alone finds\n"
            "patients whose stored embedding resembles what that CT predicts). Only predictions\n"
            "stored by runs of the same model file (its SHA-256) are compared; each is checked\n"
            "against its audit hash first. Distance is 1 - cosine similarity (0 = same\n"
            "direction, 2 = opposite). Every search is recorded in the audit log\n"
            "(results.similar: who asked, about which patient, which patients were shown).\n"
            "Needs a reviewer login (the writer role cannot read embeddings).\n"
            "\n"
            "  --model M.mmdx     the joint-fusion model file\n"
            "  --patient ID       a stored patient as the query\n"
            "  --cohort C.csv     query with each patient of this manifest (encoded now)\n"
            "  --k N              neighbours per query, 1..%d (default 10)\n"
            "  --using A,B        compare the mean of these modalities' tokens instead of the\n"
            "                     fused embedding (the model's modality names)\n"
            "  --labels L.csv     a table with patient_id and label columns (a labelled\n"
            "                     manifest will do): the neighbours' labels, where known\n"
            "  --search MODE      auto (default: exact up to 20000 candidates, else the index),\n"
            "                     exact, or index (FAISS HNSW, saved in the index folder and\n"
            "                     updated from the audit log on each use)\n"
            "  --index-dir D      the index folder (else $MMDX_INDEX_DIR, else\n"
            "                     $XDG_CACHE_HOME/mmdx/similar or ~/.cache/mmdx/similar); it\n"
            "                     must not be writable by others\n"
            "  --db CONNINFO      libpq connection string or URI (else [audit] db, else $MMDX_DB)\n"
            "  --site-key F       site key (else $MMDX_SITE_KEY, else [audit] site_key_file)\n"
            "  --require-signed   refuse a model without a valid signature\n"
            "  --config F         site configuration\n"
            "  --keep-going       (--cohort) a failing input marks that modality missing; a\n"
            "                     query without the searched modalities is skipped, not fatal\n"
            "  --threads N        encoder threads (--cohort)\n"
            "  --json | --csv     machine-readable output\n"
            "  --no-progress      no progress display\n"
            "\n"
            "Exit codes: 0 done; 1 database or runtime failure; 2 usage (k out of range, a\n"
            "modality the model does not have); 3 bad input: a model without a shared\n"
            "representation, an unknown patient, a query without the searched modalities, a\n"
            "role that may not read embeddings, an unsafe index folder; 4 the model file is\n"
            "altered or its signature does not verify.\n",
            MMDX_SIMILAR_MAX_K);
}

typedef struct out_ctx {
    int json, csv;
    json_object *arr;
    const char *space, *search;
    size_t candidates;
    const mmdx_similar_info *info;
    const mmdx_similar_space *sp;
    const mmdx_similar_labels *labels;
} out_ctx;

static void modalities_text(const mmdx_similar_space *sp, const mmdx_similar_hit *h, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t m = 0; h->present_known && m < sp->n_modalities && used < size; m++)
        if (h->present_mask >> m & 1)
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "+" : "", sp->modalities[m]);
}

static void csv_field(const char *s, int last)
{
    mmdx_csv_write_field(stdout, s ? s : "", ',');
    putchar(last ? '\n' : ',');
}

static void print_hits(out_ctx *o, const char *query, const char *kind, const mmdx_similar_hits *h)
{
    if (o->json) {
        json_object *q = json_object_new_object(), *arr = json_object_new_array();
        json_object_object_add(q, "query", json_object_new_string(query));
        json_object_object_add(q, "query_kind", json_object_new_string(kind));
        json_object_object_add(q, "space", json_object_new_string(o->space));
        json_object_object_add(q, "search", json_object_new_string(o->search));
        json_object_object_add(q, "candidates", json_object_new_int64((int64_t)o->candidates));
        if (o->info->used_index) {
            json_object *x = json_object_new_object();
            json_object_object_add(x, "rebuilt", json_object_new_boolean(o->info->rebuilt));
            json_object_object_add(x, "added", json_object_new_int64((int64_t)o->info->added));
            json_object_object_add(q, "index", x);
        }
        for (size_t i = 0; i < h->n; i++)
            json_object_array_add(arr, mmdx_similar_hit_json(o->sp, &h->hit[i], i + 1,
                                                             mmdx_similar_label_of(o->labels, h->hit[i].patient)));
        json_object_object_add(q, "neighbours", arr);
        json_object_array_add(o->arr, q);
        return;
    }
    if (!o->csv)
        printf("%s (%s) — %zu nearest in the %s space, %s search over %zu stored patients\n", query, kind, h->n,
               o->space, o->search, o->candidates);
    if (!o->csv && h->n)
        printf("  rank  %-24s  distance  risk    decision  label  modalities\n", "patient");
    for (size_t i = 0; i < h->n; i++) {
        const mmdx_similar_hit *x = &h->hit[i];
        char mods[512], dist[32], prob[32], rank[24], dec[16], lab[16];
        int label = mmdx_similar_label_of(o->labels, x->patient);
        modalities_text(o->sp, x, mods, sizeof mods);
        if (o->csv) {
            snprintf(rank, sizeof rank, "%zu", i + 1);
            snprintf(dist, sizeof dist, "%.17g", x->distance);
            snprintf(prob, sizeof prob, "%.17g", x->probability);
            snprintf(dec, sizeof dec, "%d", x->decision);
            snprintf(lab, sizeof lab, "%d", label);
            csv_field(query, 0);
            csv_field(rank, 0);
            csv_field(x->patient, 0);
            csv_field(dist, 0);
            csv_field(prob, 0);
            csv_field(x->decision < 0 ? "" : dec, 0);
            csv_field(label < 0 ? "" : lab, 0);
            csv_field(x->present_known ? mods : "", 0);
            csv_field(x->run_id, 0);
            csv_field(x->stored_at, 1);
        } else {
            printf("  %4zu  %-24s  %8.4f  %.4f  %-8s  %-5s  %s\n", i + 1, x->patient, x->distance, x->probability,
                   x->decision < 0 ? "-" : (x->decision ? "positive" : "negative"),
                   label < 0 ? "-" : (label ? "1" : "0"), x->present_known ? mods : "(not recorded)");
        }
    }
}

/* The index folder: --index-dir, $MMDX_INDEX_DIR, the user's cache. malloc'd; NULL without a home. */
static char *index_dir(const char *given)
{
    const char *env = getenv("MMDX_INDEX_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char buf[4096];
    if (given && *given)
        return strdup(given);
    if (env && *env)
        return strdup(env);
    if (xdg && *xdg)
        snprintf(buf, sizeof buf, "%s/mmdx/similar", xdg);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/.cache/mmdx/similar", home);
    else
        return NULL;
    /* the parents of the default folder, created as a cache would be */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", buf);
    for (char *p = parent + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(parent, 0700);
            *p = '/';
        }
    return strdup(buf);
}

typedef struct query_set {
    size_t n;
    char **ids;      /* raw IDs, as given */
    float *vec;      /* n x dim */
    int *ok;         /* 0: skipped (no searched modality) */
    const char *kind; /* "stored" or "new" */
} query_set;

static void queries_free(query_set *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->ids[i]);
    free(q->ids);
    free(q->vec);
    free(q->ok);
}

/* New patients from a manifest: encoded with the model's encoders, embedded, each a query vector. */
static int cohort_queries(query_set *q, const mmdx_scored_cohort *sc, const mmdx_similar_space *sp, int keep_going)
{
    const mmdx_cohort_input *in = sc->in;
    double *fused = NULL, *tok = NULL;
    uint32_t dim = 0;
    int rc = mmdx_model_session_embed(&sc->session, &in->ds, &fused, &tok, &dim);
    q->n = in->n;
    q->kind = "new";
    q->ids = calloc(in->n ? in->n : 1, sizeof *q->ids);
    q->vec = malloc((in->n ? in->n : 1) * sp->dim * sizeof *q->vec);
    q->ok = calloc(in->n ? in->n : 1, sizeof *q->ok);
    if (rc == 0 && (!q->ids || !q->vec || !q->ok))
        rc = mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
    for (size_t i = 0; rc == 0 && i < in->n; i++) {
        if (!(q->ids[i] = strdup(in->ids[i]))) {
            rc = mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
            break;
        }
        int vrc = mmdx_similar_vector(sp, fused + i * dim, tok + i * sp->n_modalities * dim, q->vec + i * sp->dim);
        if (vrc == 0) {
            q->ok[i] = 1;
        } else if (vrc == MMDX_ENOTFOUND && keep_going) {
            fprintf(stderr, "mmdx similar: %s:%ld: skipped: %s\n", in->origin, in->lines[i], mmdx_last_error());
        } else {
            rc = mmdx_fail(vrc, "%s:%ld: %s", in->origin, in->lines[i], mmdx_last_error());
        }
    }
    free(fused);
    free(tok);
    return rc;
}

int mmdx_cmd_similar(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},     {"patient", required_argument, NULL, 'p'},
        {"cohort", required_argument, NULL, 'C'},    {"k", required_argument, NULL, 'k'},
        {"using", required_argument, NULL, 'u'},     {"labels", required_argument, NULL, 'L'},
        {"search", required_argument, NULL, 's'},    {"index-dir", required_argument, NULL, 'I'},
        {"db", required_argument, NULL, 'd'},        {"site-key", required_argument, NULL, 'K'},
        {"require-signed", no_argument, NULL, 'R'},  {"config", required_argument, NULL, 'c'},
        {"keep-going", no_argument, NULL, 'g'},      {"threads", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},            {"csv", no_argument, NULL, 'v'},
        {"no-progress", no_argument, NULL, 'P'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *patient = NULL, *cohort = NULL, *using = NULL, *labels_path = NULL,
               *db = NULL, *key = NULL, *config = NULL, *dir_opt = NULL;
    long k = 10;
    int require = 0, keep_going = 0, threads = 0, json = 0, csv = 0, progress = 1, c;
    mmdx_similar_mode mode = MMDX_SIMILAR_AUTO;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'p': patient = optarg; break;
        case 'C': cohort = optarg; break;
        case 'k':
            k = strtol(optarg, &end, 10);
            if (end == optarg || *end || k < 1 || k > MMDX_SIMILAR_MAX_K) {
                fprintf(stderr, "mmdx similar: --k \"%s\": expected 1..%d\n", optarg, MMDX_SIMILAR_MAX_K);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'u': using = optarg; break;
        case 'L': labels_path = optarg; break;
        case 's':
            if (!strcmp(optarg, "auto"))
                mode = MMDX_SIMILAR_AUTO;
            else if (!strcmp(optarg, "exact"))
                mode = MMDX_SIMILAR_EXACT;
            else if (!strcmp(optarg, "index"))
                mode = MMDX_SIMILAR_INDEX;
            else {
                fprintf(stderr, "mmdx similar: --search \"%s\": expected auto, exact or index\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'I': dir_opt = optarg; break;
        case 'd': db = optarg; break;
        case 'K': key = optarg; break;
        case 'R': require = 1; break;
        case 'c': config = optarg; break;
        case 'g': keep_going = 1; break;
        case 't':
            if (!(threads = mmdx_cli_parse_threads(optarg))) {
                fprintf(stderr, "mmdx similar: --threads \"%s\": expected 1..1024\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'j': json = 1; break;
        case 'v': csv = 1; break;
        case 'P': progress = 0; break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (optind < argc || !model_path || !!patient == !!cohort) {
        fprintf(stderr, "mmdx similar: give --model M and one of --patient ID or --cohort C.csv\n");
        return MMDX_EXIT_USAGE;
    }
    if (json && csv) {
        fprintf(stderr, "mmdx similar: --json and --csv exclude each other\n");
        return MMDX_EXIT_USAGE;
    }
    if (patient && !*patient) {
        fprintf(stderr, "mmdx similar: --patient must not be empty\n");
        return MMDX_EXIT_USAGE;
    }
    mmdx_cli_env env;
    int rc = mmdx_cli_env_open(&env, config, threads, json || csv);
    if (rc < 0)
        return mmdx_cli_report("similar", rc);
    omp_set_num_threads(env.threads > 0 ? env.threads : 1);

    /* the model first: no database work for a model that cannot be searched */
    mmdx_site_overrides cmdline = MMDX_SITE_OVERRIDES_NONE;
    cmdline.db = db;
    cmdline.site_key_file = key;
    cmdline.require_signed_models = require ? 1 : -1;
    mmdx_audit_settings site;
    mmdx_scored_cohort sc;
    memset(&sc, 0, sizeof sc);
    mmdx_model_session session = {0}, *ms = &session;
    rc = mmdx_cli_site_settings(&site, env.config, &cmdline);
    if (rc == 0 && cohort) {
        mmdx_cohort_input_options io = {cohort, NULL, NULL, 0, MMDX_LABELS_OPTIONAL, NULL, env.registry,
                                        env.config, env.threads, keep_going, stderr, NULL, progress, NULL};
        rc = mmdx_cli_score_cohort(&sc, &env, model_path, key, require, &io);
        ms = &sc.session;
    } else if (rc == 0) {
        rc = mmdx_model_session_open(ms, env.registry, model_path, site.site_key_file, site.require_signed_models);
    }
    mmdx_similar_space sp = {0};
    if (rc == 0 && (sp.dim = mmdx_model_session_embed_dim(ms)) == 0)
        rc = mmdx_fail(MMDX_EUNSUPPORTED, "%s: the model was trained with %s fusion, which has no shared "
                       "representation to search: train with --fusion joint", model_path, ms->plugin->info.name);
    int exit_code = MMDX_EXIT_OK;
    if (rc == 0) {
        sp.n_modalities = ms->file->n_modalities;
        sp.modalities = (const char *const *)ms->file->modalities;
        if (mmdx_similar_space_use(&sp, using) < 0) {
            fprintf(stderr, "mmdx similar: %s\n", mmdx_last_error());
            exit_code = MMDX_EXIT_USAGE;
        }
    }
    query_set q = {0};
    if (rc == 0 && exit_code == 0 && cohort)
        rc = cohort_queries(&q, &sc, &sp, keep_going);

    mmdx_store *s = NULL;
    mmdx_audit_settings set;
    memset(&set, 0, sizeof set);
    mmdx_similar *sim = NULL;
    mmdx_similar_info info = {0};
    mmdx_similar_labels *labels = NULL;
    char *dir = NULL, *stored_key = NULL; /* the stored query patient, as the database holds it */
    /* with a site key, the search is logged under the patients' pseudonyms whatever the site's
     * default: a similar-patient review must not put an ID in the log that the rows do not hold */
    if (site.site_key_file)
        cmdline.pseudonymise = 1;
    if (rc == 0 && exit_code == 0)
        rc = mmdx_cli_store_open(&s, &set, config, &cmdline);
    if (rc == 0 && exit_code == 0 && labels_path)
        rc = mmdx_similar_labels_load(&labels, s, labels_path);
    if (rc == 0 && exit_code == 0) {
        dir = index_dir(dir_opt);
        mmdx_similar_options so;
        mmdx_similar_options_init(&so);
        so.model_sha256 = ms->file->sha256;
        so.space = sp;
        so.mode = mode;
        so.index_dir = dir;
        so.log = stderr;
        if (!dir && mode == MMDX_SIMILAR_INDEX)
            rc = mmdx_fail(MMDX_EINVAL, "--search index needs --index-dir (no home folder for the default)");
        else
            rc = mmdx_similar_open(&sim, s, &so, &info);
    }
    if (rc == 0 && exit_code == 0 && patient) {
        q.n = 1;
        q.kind = "stored";
        q.ids = calloc(1, sizeof *q.ids);
        q.vec = malloc(sp.dim * sizeof *q.vec);
        q.ok = calloc(1, sizeof *q.ok);
        if (!q.ids || !q.vec || !q.ok || !(q.ids[0] = strdup(patient)))
            rc = mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
        if (rc == 0 && (rc = mmdx_similar_stored_query(sim, patient, q.vec, &stored_key)) == 0)
            q.ok[0] = 1;
    }
    char space_name[256];
    mmdx_similar_space_name(&sp, space_name, sizeof space_name);
    out_ctx o = {json, csv, json ? json_object_new_array() : NULL, space_name,
                 info.used_index ? "index" : "exact", info.candidates, &info, &sp, labels};
    if (rc == 0 && exit_code == 0) {
        if (info.mismatched)
            fprintf(stderr, "mmdx similar: warning: %zu stored prediction%s no longer match%s the hash recorded "
                    "in the audit log and %s left out: run mmdx audit verify\n", info.mismatched,
                    info.mismatched == 1 ? "" : "s", info.mismatched == 1 ? "es" : "",
                    info.mismatched == 1 ? "was" : "were");
        if (info.used_index && !json && !csv)
            fprintf(stderr, "mmdx similar: index %s (%zu prediction%s added)\n",
                    info.rebuilt ? "built from the database" : "brought up to date from the audit log", info.added,
                    info.added == 1 ? "" : "s");
        if (csv)
            printf("query,rank,patient,distance,probability,decision,label,modalities,run_id,stored_at\n");
    }
    for (size_t i = 0; rc == 0 && exit_code == 0 && i < q.n; i++) {
        if (!q.ok[i])
            continue;
        /* a stored query is left out of its own neighbours and named as stored (its pseudonym
         * when the site pseudonymises); a new patient may find their own earlier record */
        mmdx_similar_hits h = {0};
        rc = mmdx_similar_search(sim, q.vec + i * sp.dim, (size_t)k, stored_key, &h);
        mmdx_similar_record rec = {ms->file->sha256, q.ids[i], q.kind, NULL, o.space, o.search, (size_t)k, NULL, NULL};
        if (rc == 0)
            rc = mmdx_similar_audit(s, &rec, &h); /* before anything is shown */
        if (rc == 0)
            print_hits(&o, stored_key ? stored_key : q.ids[i], q.kind, &h);
        mmdx_similar_hits_free(&h);
    }
    if (rc == 0 && exit_code == 0 && json)
        mmdx_cli_print_json(o.arr);
    if (rc == 0 && exit_code == 0 && !json && !csv)
        fprintf(stderr, "(each search was recorded in the audit log)\n");
    if (rc < 0)
        exit_code = mmdx_cli_report("similar", rc);
    json_object_put(o.arr);
    mmdx_similar_free(sim);
    mmdx_similar_labels_free(labels);
    queries_free(&q);
    free(dir);
    free(stored_key);
    mmdx_store_free(s);
    mmdx_audit_settings_clear(&set);
    mmdx_audit_settings_clear(&site);
    if (cohort)
        mmdx_scored_cohort_free(&sc);
    else
        mmdx_model_session_close(&session);
    mmdx_cli_env_close(&env);
    return exit_code;
}
