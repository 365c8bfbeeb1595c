/* SPDX-License-Identifier: Apache-2.0 */
/* mmdx report: the HTML report (and plots) of a stored screening run. */
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "cli.h"
#include "error.h"
#include "manifest.h"
#include "model_file.h"
#include "model_session.h"
#include "site_settings.h"
#include "store.h"
#include "strmap.h"
#include "view_output.h"

#define DEFAULT_TOP 20

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx report --run R --out report.html [options]\n"
            "\n"
            "The report of a stored screening run as one self-contained HTML file: the model\n"
            "(its card when --model is given), the run, the cohort by modalities present,\n"
            "metrics with 95%% bootstrap intervals when labels are known (--cohort), the plots\n"
            "inline, the patients that could not be screened counted by cause, and the\n"
            "highest predicted risks. Reading the results is audited (results.view).\n"
            "\n"
            "  --run R          the run ID (or at least its first 8 characters)\n"
            "  --out F.html     the report (written to a temporary file, then renamed)\n"
            "  --plots DIR      also the charts as DIR/<name>.svg and .png\n"
            "  --model M.mmdx   the run's model file: its model card (its SHA-256 must be the run's)\n"
            "  --cohort C.csv   a manifest with a label column: labels for the metrics (every\n"
            "                   stored patient must have one)\n"
            "  --top N          list the N highest risks (default %d; 0: none)\n"
            "  --bootstrap B    bootstrap replicates (default %d); --seed S its seed (default 1)\n"
            "  --db CONNINFO    libpq connection string (else $MMDX_DB, else [audit] db)\n"
            "  --site-key F     site key (pseudonyms of --cohort's IDs, the model's signature)\n"
            "  --config F       site configuration\n"
            "  --json           print a summary as JSON\n"
            "\n"
            "Exit codes: 0 written; 1 database or output failure (nothing half-written); 2 usage;\n"
            "3 no such run, bad --cohort or --model input; 4 --model is not the run's model or\n"
            "its signature does not verify.\n",
            DEFAULT_TOP, MMDX_VIEW_DEFAULT_BOOTSTRAP);
}

typedef struct stored {
    char *patient, *stored_at, *contributions;
    double prob;
    int decision;
} stored;

typedef struct report_ctx {
    /* the run */
    char *run_id, *started_at, *db_role, *host, *mmdx_version, *model_sha256, *cohort_sha256, *plugins, *outcome;
    /* its predictions */
    stored *rows;
    size_t n, cap;
    /* failures by cause */
    mmdx_strmap *causes;
    size_t *cause_counts;
    size_t n_causes, cap_causes;
} report_ctx;

static char *dup(const char *s) { return s ? strdup(s) : NULL; }

static int on_run(void *vctx, const mmdx_run_info *r)
{
    report_ctx *c = vctx;
    c->run_id = dup(r->run_id), c->started_at = dup(r->started_at), c->db_role = dup(r->db_role);
    c->host = dup(r->host), c->mmdx_version = dup(r->mmdx_version), c->model_sha256 = dup(r->model_sha256);
    c->cohort_sha256 = dup(r->cohort_sha256), c->plugins = dup(r->plugins);
    static const char *const names[] = {"success", "", "", "", "minor failure (some patients failed)", "", "", "",
                                        "serious failure", "", "", "", "major failure"};
    if (r->ended && r->outcome >= 0 && r->outcome <= 12)
        c->outcome = dup(names[r->outcome]);
    return c->run_id ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
}

static int on_result(void *vctx, const mmdx_result_row *r)
{
    report_ctx *c = vctx;
    if (mmdx_array_reserve(&c->rows, &c->cap, c->n + 1, sizeof *c->rows, 64, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    stored *s = &c->rows[c->n];
    s->patient = dup(r->patient), s->stored_at = dup(r->stored_at), s->contributions = dup(r->contributions);
    s->prob = r->probability;
    s->decision = r->decision;
    c->n++;
    return s->patient && s->stored_at && s->contributions ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
}

static int on_failure(void *vctx, const mmdx_audit_row *e)
{
    report_ctx *c = vctx;
    json_object *d = e->detail ? json_tokener_parse(e->detail) : NULL, *v;
    const char *reason = d && json_object_object_get_ex(d, "reason", &v) ? json_object_get_string(v) : "";
    size_t k = c->n_causes;
    int rc = mmdx_strmap_put(c->causes, reason ? reason : "", k, &k);
    if (rc == 1) { /* a new cause */
        if (mmdx_array_reserve(&c->cause_counts, &c->cap_causes, c->n_causes + 1, sizeof *c->cause_counts, 8, 0) < 0)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        else
            c->cause_counts[c->n_causes++] = 0;
    }
    if (rc >= 0)
        c->cause_counts[k]++;
    json_object_put(d);
    return rc < 0 ? rc : 0;
}

static void ctx_free(report_ctx *c)
{
    free(c->run_id), free(c->started_at), free(c->db_role), free(c->host), free(c->mmdx_version);
    free(c->model_sha256), free(c->cohort_sha256), free(c->plugins), free(c->outcome);
    for (size_t i = 0; i < c->n; i++)
        free(c->rows[i].patient), free(c->rows[i].stored_at), free(c->rows[i].contributions);
    free(c->rows);
    mmdx_strmap_free(c->causes);
    free(c->cause_counts);
}

/* The dataset the view needs: modalities (the model's, else those the contributions name), presence, labels. */
typedef struct run_data {
    char **modalities;
    size_t n_mod;
    uint8_t *present;
    double *contrib, *prob;
    int32_t *labels;
    char **patterns;
    mmdx_dataset ds;
} run_data;

static void run_data_free(run_data *d)
{
    for (size_t m = 0; m < d->n_mod; m++)
        free(d->modalities[m]);
    for (size_t i = 0; d->patterns && i < d->ds.n_samples; i++)
        free(d->patterns[i]);
    free(d->modalities), free(d->present), free(d->contrib), free(d->prob), free(d->labels), free(d->patterns);
}

static long modality_index(run_data *d, const char *name, int add, size_t *cap)
{
    for (size_t m = 0; m < d->n_mod; m++)
        if (!strcmp(d->modalities[m], name))
            return (long)m;
    if (!add)
        return -1;
    if (mmdx_array_reserve(&d->modalities, cap, d->n_mod + 1, sizeof *d->modalities, 4, 0) < 0 ||
        !(d->modalities[d->n_mod] = strdup(name)))
        return MMDX_ENOMEM;
    return (long)d->n_mod++;
}

static int build_data(run_data *d, const report_ctx *c, const mmdx_model_file *mf)
{
    size_t n = c->n, cap = 0;
    memset(d, 0, sizeof *d);
    for (size_t m = 0; mf && m < mf->n_modalities; m++)
        if (modality_index(d, mf->modalities[m], 1, &cap) < 0)
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
    json_object **parsed = calloc(n + 1, sizeof *parsed);
    int rc = parsed ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        parsed[i] = json_tokener_parse(c->rows[i].contributions);
        if (!parsed[i] || !json_object_is_type(parsed[i], json_type_object)) {
            rc = mmdx_fail(MMDX_EFORMAT, "run %s: patient %s: the stored contributions are not a JSON object",
                           c->run_id, c->rows[i].patient);
            break;
        }
        json_object_object_foreach(parsed[i], key, val) {
            (void)val;
            if (modality_index(d, key, !mf, &cap) == MMDX_ENOMEM)
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        }
    }
    size_t M = d->n_mod;
    if (!rc && (!(d->present = calloc(n * M + 1, 1)) || !(d->contrib = calloc(n * M + 1, sizeof *d->contrib)) ||
                !(d->prob = malloc((n + 1) * sizeof *d->prob))))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        d->prob[i] = c->rows[i].prob;
        json_object_object_foreach(parsed[i], key, val) {
            long m = modality_index(d, key, 0, &cap);
            if (m >= 0) {
                d->present[i * M + (size_t)m] = 1;
                d->contrib[i * M + (size_t)m] = json_object_get_double(val);
            }
        }
    }
    for (size_t i = 0; parsed && i < n; i++)
        json_object_put(parsed[i]);
    free(parsed);
    d->ds.abi_version = MMDX_ABI_VERSION;
    d->ds.struct_size = sizeof d->ds;
    d->ds.n_samples = n;
    d->ds.n_modalities = M;
    d->ds.modalities = (const char *const *)d->modalities;
    d->ds.present = d->present;
    return rc;
}

/* Labels from a manifest, matched on the stored form of its IDs (pseudonyms when the site uses them). */
static int load_labels(run_data *d, const report_ctx *c, mmdx_store *s, const char *cohort)
{
    mmdx_manifest *m = NULL;
    mmdx_strmap *by_key = mmdx_strmap_new();
    int rc = by_key ? mmdx_manifest_load(&m, cohort) : mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc && !mmdx_manifest_has_labels(m))
        rc = mmdx_fail(MMDX_EINVAL, "%s: no label column", cohort);
    for (size_t r = 0; !rc && r < mmdx_manifest_count(m); r++) {
        int label = mmdx_manifest_label(m, r);
        if (label < 0)
            continue;
        char *key = NULL;
        if ((rc = mmdx_store_patient_key(s, mmdx_manifest_patient_id(m, r), &key)) == 0)
            rc = mmdx_strmap_set(by_key, key, (size_t)label);
        free(key);
    }
    if (!rc && !(d->labels = malloc((c->n + 1) * sizeof *d->labels)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < c->n; i++) {
        size_t label;
        if (!mmdx_strmap_get(by_key, c->rows[i].patient, &label))
            rc = mmdx_fail(MMDX_EINVAL, "%s: patient %s of run %s is not in it or has no label (label column)",
                           cohort, c->rows[i].patient, c->run_id);
        else
            d->labels[i] = (int32_t)label;
    }
    if (!rc)
        d->ds.labels = d->labels;
    mmdx_strmap_free(by_key);
    mmdx_manifest_free(m);
    return rc;
}

static int load_model(mmdx_model_file **out, const char *path, const char *key_file, const report_ctx *c)
{
    uint8_t *key = NULL;
    size_t key_len = 0;
    int rc = mmdx_model_key_load(&key, &key_len, key_file);
    if (rc == 0)
        rc = mmdx_model_file_read(out, path, key, key_len, 0);
    mmdx_model_key_free(key, key_len);
    if (rc == 0 && (!c->model_sha256 || strcmp(c->model_sha256, (*out)->sha256) != 0)) {
        rc = mmdx_fail(MMDX_EINTEGRITY, "--model %s: its SHA-256 %.12s... is not the model of run %s (%.12s...)", path,
                       (*out)->sha256, c->run_id, c->model_sha256 ? c->model_sha256 : "none recorded");
        mmdx_model_file_free(*out);
        *out = NULL;
    }
    return rc;
}

static int by_risk_desc(const void *a, const void *b)
{
    double x = ((const mmdx_html_patient *)a)->probability, y = ((const mmdx_html_patient *)b)->probability;
    return (x < y) - (x > y);
}

typedef struct report_args {
    const char *run, *out, *model, *cohort, *key;
    size_t top;
    int json;
    mmdx_cli_view_args va;
} report_args;

static int write_outputs(const report_args *a, report_ctx *c, run_data *d, const mmdx_model_file *mf,
                         json_object **summary)
{
    mmdx_eval_view *v = NULL;
    mmdx_view_options o = mmdx_cli_view_options(&a->va);
    double threshold = mf ? mf->threshold : NAN;
    /* Without the model file, the stored decisions give the threshold: the lowest risk decided positive
     * reproduces every stored decision, since decisions are monotone in the risk. */
    if (!mf)
        for (size_t i = 0; i < c->n; i++)
            if (c->rows[i].decision == 1 && !(c->rows[i].prob >= threshold))
                threshold = c->rows[i].prob;
    if (isnan(threshold))
        threshold = 1;
    int rc = mmdx_eval_view_new(&v, &d->ds, d->prob, d->contrib, threshold, &o);
    if (!rc && a->va.plots_dir)
        rc = mmdx_eval_view_write_plots(v, a->va.plots_dir);
    mmdx_html_failure *fails = calloc(c->n_causes + 1, sizeof *fails);
    mmdx_html_patient *pts = calloc(c->n + 1, sizeof *pts);
    d->patterns = calloc(c->n + 1, sizeof *d->patterns);
    if (!rc && (!fails || !pts || !d->patterns))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < mmdx_strmap_slots(c->causes); i++) {
        const char *cause;
        size_t k;
        if (mmdx_strmap_slot(c->causes, i, &cause, &k))
            fails[k] = (mmdx_html_failure){cause, c->cause_counts[k]};
    }
    for (size_t i = 0; !rc && i < c->n; i++) {
        if (!(d->patterns[i] = mmdx_report_pattern(&d->ds, i)))
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        else
            pts[i] = (mmdx_html_patient){c->rows[i].patient, c->rows[i].prob, c->rows[i].decision,
                                         d->labels ? d->labels[i] : -1, d->patterns[i], c->rows[i].stored_at};
    }
    if (!rc) {
        qsort(pts, c->n, sizeof *pts, by_risk_desc);
        char title[128];
        snprintf(title, sizeof title, "mmdx run report: %.8s", c->run_id);
        mmdx_html_report r = {0};
        r.title = title;
        r.generator = mmdx_cli_generator();
        r.model = mf;
        r.model_path = a->model;
        r.model_sha256 = c->model_sha256;
        r.plugins_json = c->plugins;
        r.threshold = threshold;
        r.run_id = c->run_id, r.started_at = c->started_at, r.host = c->host, r.db_role = c->db_role;
        r.mmdx_version = c->mmdx_version, r.cohort_sha256 = c->cohort_sha256, r.run_outcome = c->outcome;
        r.cohort = a->cohort;
        r.n_listed_total = c->n;
        r.failures = fails;
        r.n_failures = c->n_causes;
        r.patients = pts;
        r.n_patients = a->top < c->n ? a->top : c->n;
        r.view = v;
        if (a->out)
            rc = mmdx_html_report_write(a->out, &r);
    }
    if (!rc && a->json) {
        json_object *s = json_object_new_object(), *fo = json_object_new_object();
        json_object_object_add(s, "run_id", json_object_new_string(c->run_id));
        json_object_object_add(s, "patients", json_object_new_int64((int64_t)c->n));
        json_object_object_add(s, "labelled", json_object_new_boolean(d->labels != NULL));
        for (size_t k = 0; k < c->n_causes; k++)
            json_object_object_add(fo, fails[k].cause, json_object_new_int64((int64_t)fails[k].count));
        json_object_object_add(s, "failures", fo);
        const mmdx_report *rep = mmdx_eval_view_report(v);
        json_object_object_add(s, "metrics", rep ? mmdx_report_json(rep) : NULL);
        json_object_object_add(s, "report", a->out ? json_object_new_string(a->out) : NULL);
        json_object_object_add(s, "plots", a->va.plots_dir ? json_object_new_string(a->va.plots_dir) : NULL);
        *summary = s;
    }
    free(fails), free(pts);
    mmdx_eval_view_free(v);
    mmdx_plot_release_caches();
    return rc;
}

static int parse_args(report_args *a, const char **db, const char **config, int argc, char **argv)
{
    static const struct option opts[] = {
        {"run", required_argument, NULL, 'r'},     {"out", required_argument, NULL, 'o'},
        {"plots", required_argument, NULL, 'p'},   {"model", required_argument, NULL, 'm'},
        {"cohort", required_argument, NULL, 'C'},  {"top", required_argument, NULL, 'T'},
        {"bootstrap", required_argument, NULL, 'B'}, {"seed", required_argument, NULL, 'S'},
        {"db", required_argument, NULL, 'd'},      {"site-key", required_argument, NULL, 'K'},
        {"config", required_argument, NULL, 'c'},  {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': a->run = optarg; break;
        case 'o': a->out = optarg; break;
        case 'p': a->va.plots_dir = optarg; break;
        case 'm': a->model = optarg; break;
        case 'C': a->cohort = optarg; break;
        case 'T':
            a->top = (size_t)strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end) {
                fprintf(stderr, "mmdx report: --top \"%s\": expected a number of patients\n", optarg);
                return MMDX_EXIT_USAGE;
            }
            break;
        case 'B':
        case 'S':
            if (mmdx_cli_view_parse(&a->va, c, optarg) < 0)
                return MMDX_EXIT_USAGE;
            break;
        case 'd': *db = optarg; break;
        case 'K': a->key = optarg; break;
        case 'c': *config = optarg; break;
        case 'j': a->json = 1; break;
        case 'h': help(stdout); return -1;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (optind < argc || !a->run || (!a->out && !a->va.plots_dir)) {
        fprintf(stderr, "mmdx report: give --run R and --out F.html (or --plots DIR)\n");
        return MMDX_EXIT_USAGE;
    }
    return 0;
}

int mmdx_cmd_report(int argc, char **argv)
{
    report_args a = {NULL, NULL, NULL, NULL, NULL, DEFAULT_TOP, 0, {NULL, NULL, 0, 1}};
    const char *db = NULL, *config = NULL;
    int code = parse_args(&a, &db, &config, argc, argv);
    if (code)
        return code < 0 ? MMDX_EXIT_OK : code;
    mmdx_site_overrides cmdline = MMDX_SITE_OVERRIDES_NONE;
    cmdline.db = db;
    cmdline.site_key_file = a.key;
    mmdx_audit_settings set;
    mmdx_store *s = NULL;
    report_ctx c;
    memset(&c, 0, sizeof c);
    run_data d;
    memset(&d, 0, sizeof d);
    mmdx_model_file *mf = NULL;
    json_object *summary = NULL;
    int rc = mmdx_cli_store_open(&s, &set, config, &cmdline);
    if (!rc && !(c.causes = mmdx_strmap_new()))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc)
        rc = mmdx_store_run_info(s, a.run, on_run, &c);
    if (!rc && a.model)
        rc = load_model(&mf, a.model, set.site_key_file, &c);
    if (!rc)
        rc = mmdx_store_results(s, c.run_id, NULL, on_result, &c, NULL);
    if (!rc) {
        mmdx_audit_filter f = {0};
        f.run_id = c.run_id;
        f.action = "prediction.fail";
        rc = mmdx_store_audit_query(s, &f, on_failure, &c);
    }
    if (!rc && c.n == 0)
        rc = mmdx_fail(MMDX_ENOTFOUND, "run %s has no stored predictions to report", c.run_id);
    if (!rc)
        rc = build_data(&d, &c, mf);
    if (!rc && a.cohort)
        rc = load_labels(&d, &c, s, a.cohort);
    if (!rc)
        rc = write_outputs(&a, &c, &d, mf, &summary);
    if (rc) {
        code = mmdx_cli_report("report", rc);
    } else {
        code = MMDX_EXIT_OK;
        if (summary)
            mmdx_cli_print_json(summary);
        else
            fprintf(stderr, "mmdx report: run %.8s, %zu patients%s -> %s (this review was recorded in the audit log)\n",
                    c.run_id, c.n, d.labels ? " with labels" : "", a.out ? a.out : a.va.plots_dir);
    }
    json_object_put(summary);
    run_data_free(&d);
    mmdx_model_file_free(mf);
    ctx_free(&c);
    mmdx_store_free(s);
    mmdx_audit_settings_clear(&set);
    return code;
}
