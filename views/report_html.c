/* SPDX-License-Identifier: Apache-2.0 */
#include "report_html.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "error.h"
#include "html.h"

static void section(FILE *f, const char *id, const char *title)
{
    fprintf(f, "<h2 id=\"%s\">", id);
    mmdx_html_text(f, title);
    fputs("</h2>\n", f);
}

static void kv_num(FILE *f, const char *key, const char *fmt_kind, double v)
{
    char buf[64];
    if (isnan(v))
        snprintf(buf, sizeof buf, "-");
    else if (!strcmp(fmt_kind, "int"))
        snprintf(buf, sizeof buf, "%.0f", v);
    else
        snprintf(buf, sizeof buf, "%.4g", v);
    mmdx_html_kv(f, key, buf);
}

static void hash_row(FILE *f, const char *key, const char *hex)
{
    fputs("<tr><th>", f);
    mmdx_html_text(f, key);
    fputs("</th><td class=\"hash\">", f);
    mmdx_html_text(f, hex && *hex ? hex : "-");
    fputs("</td></tr>\n", f);
}

static const char *signature_status(const mmdx_model_file *m)
{
    return m->signature_verified ? "signed, signature verified with the site key"
           : m->is_signed        ? "signed, NOT verified (no site key given)"
                                 : "unsigned";
}

static void model_card(FILE *f, const mmdx_html_report *r)
{
    section(f, "model", "Model card");
    const mmdx_model_file *m = r->model;
    if (!m) {
        fputs("<p class=\"muted\">From what the run recorded (give the model file for its full card).</p>\n<table>\n",
              f);
        hash_row(f, "model file SHA-256", r->model_sha256);
        kv_num(f, "decision threshold", "g", r->threshold);
        fputs("</table>\n", f);
        json_object *a = r->plugins_json ? json_tokener_parse(r->plugins_json) : NULL;
        if (a && json_object_is_type(a, json_type_array) && json_object_array_length(a) > 0) {
            fputs("<h3>Plugins used by the run</h3>\n<table><thead><tr><th>plugin</th><th>version</th>"
                  "<th>file SHA-256</th></tr></thead><tbody>\n", f);
            for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i), *v;
                const char *cols[3] = {"name", "version", "sha256"};
                fputs("<tr>", f);
                for (int c = 0; c < 3; c++) {
                    fputs(c == 2 ? "<td class=\"hash\">" : "<td>", f);
                    mmdx_html_text(f, json_object_object_get_ex(e, cols[c], &v) && json_object_is_type(v, json_type_string)
                                          ? json_object_get_string(v)
                                          : "-");
                    fputs("</td>", f);
                }
                fputs("</tr>\n", f);
            }
            fputs("</tbody></table>\n", f);
        }
        json_object_put(a);
        return;
    }
    fputs("<p class=\"muted\">What the model file records about itself; its SHA-256 was recomputed when it was "
          "read.</p>\n<table>\n", f);
    mmdx_html_kv(f, "model file", r->model_path);
    hash_row(f, "SHA-256", m->sha256);
    fputs("<tr><th>signature</th><td class=\"", f);
    fputs(m->signature_verified ? "ok" : "warn", f);
    fputs("\">", f);
    mmdx_html_text(f, signature_status(m));
    fputs("</td></tr>\n", f);
    char buf[160];
    snprintf(buf, sizeof buf, "%d", m->format_version);
    mmdx_html_kv(f, "format version", buf);
    mmdx_html_kv(f, "written by mmdx", m->mmdx_version);
    mmdx_html_kv(f, "created", m->created);
    snprintf(buf, sizeof buf, "%s %s", m->fusion ? m->fusion : "-", m->fusion_version ? m->fusion_version : "");
    mmdx_html_kv(f, "fusion plugin", buf);
    hash_row(f, "fusion configuration SHA-256", m->fusion_config_sha256);
    mmdx_html_kv(f, "classifier", m->classifier);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)m->seed);
    mmdx_html_kv(f, "training seed", buf);
    kv_num(f, "decision threshold", "g", m->threshold);
    mmdx_html_kv(f, "features from", m->from_encoders ? "the encoder plugins" : "a feature table");
    hash_row(f, "training data SHA-256", m->training_sha256);
    snprintf(buf, sizeof buf, "%zu patients, %zu with label 1", m->n_train, m->n_train_pos);
    mmdx_html_kv(f, "trained on", buf);
    fputs("</table>\n", f);
    if (m->n_encoders) {
        fputs("<h3>Encoders</h3>\n<table><thead><tr><th>encoder</th><th>version</th><th>configuration SHA-256</th>"
              "</tr></thead><tbody>\n", f);
        for (size_t i = 0; i < m->n_encoders; i++) {
            fputs("<tr><td>", f);
            mmdx_html_text(f, m->encoders[i].name);
            fputs("</td><td>", f);
            mmdx_html_text(f, m->encoders[i].version);
            fputs("</td><td class=\"hash\">", f);
            mmdx_html_text(f, m->encoders[i].config_sha256);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
    fputs("<h3>Inputs</h3>\n<table><thead><tr><th>modality</th><th>features</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < m->n_modalities; i++) {
        fputs("<tr><td>", f);
        mmdx_html_text(f, m->modalities[i]);
        fprintf(f, "</td><td class=\"n\">%zu</td></tr>\n", m->modality_features[i]);
    }
    fputs("</tbody></table>\n", f);
}

static void run_section(FILE *f, const mmdx_html_report *r)
{
    if (!r->run_id)
        return;
    section(f, "run", "Run");
    fputs("<table>\n", f);
    hash_row(f, "run ID", r->run_id);
    mmdx_html_kv(f, "started", r->started_at);
    mmdx_html_kv(f, "host", r->host);
    mmdx_html_kv(f, "database role", r->db_role);
    mmdx_html_kv(f, "mmdx version", r->mmdx_version);
    hash_row(f, "cohort manifest SHA-256", r->cohort_sha256);
    mmdx_html_kv(f, "outcome", r->run_outcome ? r->run_outcome : "not ended (running, or stopped before its end)");
    fputs("</table>\n", f);
}

static void cohort_section(FILE *f, const mmdx_html_report *r)
{
    const mmdx_eval_view *v = r->view;
    const mmdx_report *rep = mmdx_eval_view_report(v);
    section(f, "cohort", "Cohort");
    size_t total = 0, pos = 0;
    for (size_t i = 0; i < mmdx_eval_view_n_patterns(v); i++) {
        const char *p;
        size_t n, np;
        mmdx_eval_view_pattern(v, i, &p, &n, &np);
        total += n, pos += np;
    }
    fputs("<table>\n", f);
    mmdx_html_kv(f, "cohort", r->cohort);
    char buf[128];
    snprintf(buf, sizeof buf, "%zu", total);
    mmdx_html_kv(f, r->run_id ? "patients with a stored result" : "patients", buf);
    if (rep) {
        snprintf(buf, sizeof buf, "%zu (prevalence %.3f)", pos, (double)pos / (double)total);
        mmdx_html_kv(f, "with label 1", buf);
    } else {
        mmdx_html_kv(f, "labels", "none (give the labelled cohort to compute metrics)");
    }
    size_t failed = 0;
    for (size_t i = 0; i < r->n_failures; i++)
        failed += r->failures[i].count;
    if (r->run_id) {
        snprintf(buf, sizeof buf, "%zu", failed);
        mmdx_html_kv(f, "patients that could not be screened", buf);
    }
    fputs("</table>\n<h3>Modalities present</h3>\n<table><thead><tr><th>modalities</th><th>patients</th>", f);
    fputs(rep ? "<th>label 1</th></tr></thead><tbody>\n" : "</tr></thead><tbody>\n", f);
    for (size_t i = 0; i < mmdx_eval_view_n_patterns(v); i++) {
        const char *p;
        size_t n, np;
        mmdx_eval_view_pattern(v, i, &p, &n, &np);
        fputs("<tr><td>", f);
        mmdx_html_text(f, p);
        fprintf(f, "</td><td class=\"n\">%zu</td>", n);
        if (rep)
            fprintf(f, "<td class=\"n\">%zu</td>", np);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

static void interval_cell(FILE *f, double v, double lo, double hi)
{
    if (isnan(v))
        fputs("<td class=\"n\">-</td>", f);
    else if (isnan(lo))
        fprintf(f, "<td class=\"n\">%.3f</td>", v);
    else
        fprintf(f, "<td class=\"n\">%.3f [%.3f, %.3f]</td>", v, lo, hi);
}

static void metrics_section(FILE *f, const mmdx_html_report *r)
{
    const mmdx_report *rep = mmdx_eval_view_report(r->view);
    section(f, "metrics", "Metrics");
    if (!rep) {
        fputs("<p>No labels: discrimination and calibration need the patients' true labels (a cohort manifest with "
              "a label column).</p>\n", f);
        return;
    }
    unsigned B;
    uint64_t seed;
    mmdx_eval_view_bootstrap_setting(r->view, &B, &seed);
    fprintf(f, "<p class=\"muted\">Brackets: 95%% percentile bootstrap interval (B = %u replicates, seed %llu). "
               "Confusion counts and rates at the decision threshold %.4g. Calibration slope and intercept: 1 and 0 "
               "are perfect.</p>\n", B, (unsigned long long)seed, rep->groups[0].m.threshold);
    fputs("<table><thead><tr><th>modalities</th><th>n</th><th>label 1</th><th>AUROC</th><th>AUPRC</th><th>Brier</th>"
          "<th>cal. slope</th><th>cal. intercept</th><th>sensitivity</th><th>specificity</th><th>PPV</th><th>NPV</th>"
          "<th>TP</th><th>FP</th><th>TN</th><th>FN</th></tr></thead><tbody>\n", f);
    for (size_t g = 0; g < rep->n_groups; g++) {
        const mmdx_metrics *m = &rep->groups[g].m;
        const mmdx_bootstrap *b = mmdx_eval_view_bootstrap(r->view, g);
        fputs("<tr><td>", f);
        mmdx_html_text(f, g ? rep->groups[g].pattern : "all patients");
        fprintf(f, "</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>", m->n, m->n_pos);
        interval_cell(f, m->auroc, b ? b->auroc_lo : NAN, b ? b->auroc_hi : NAN);
        interval_cell(f, m->auprc, b ? b->auprc_lo : NAN, b ? b->auprc_hi : NAN);
        const double cells[] = {m->brier, m->cal_slope, m->cal_intercept, m->sensitivity, m->specificity, m->ppv,
                                m->npv};
        for (size_t k = 0; k < sizeof cells / sizeof *cells; k++)
            mmdx_html_num(f, cells[k], k ? 3 : 4);
        fprintf(f, "<td class=\"n\">%zu</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
                   "</tr>\n", m->tp, m->fp, m->tn, m->fn);
    }
    fputs("</tbody></table>\n", f);
}

/* A chart as an inline SVG image; the PNG is for files, the vector prints better. */
static int figure(FILE *f, const mmdx_view_chart *c)
{
    unsigned char *svg;
    size_t len;
    int rc = mmdx_plot_render(c->plot, MMDX_PLOT_SVG, &svg, &len);
    if (rc < 0)
        return rc;
    fputs("<figure>", f);
    mmdx_html_image(f, "image/svg+xml", svg, len, c->name);
    fputs("<figcaption>", f);
    mmdx_html_text(f, c->caption);
    fputs("</figcaption></figure>\n", f);
    free(svg);
    return 0;
}

static int plots_section(FILE *f, const mmdx_html_report *r)
{
    section(f, "plots", "Plots");
    fputs("<div class=\"figs\">\n", f);
    int rc = 0;
    for (size_t i = 0; !rc && i < mmdx_eval_view_n_charts(r->view); i++)
        rc = figure(f, mmdx_eval_view_chart(r->view, i));
    fputs("</div>\n", f);
    return rc;
}

static void failures_section(FILE *f, const mmdx_html_report *r)
{
    section(f, "failures", "Failures by cause");
    if (!r->n_failures) {
        fputs(r->run_id ? "<p>None recorded: every patient of the run was screened.</p>\n"
                        : "<p>None: the evaluation stops at a failing input unless --keep-going, which marks that "
                          "modality missing (counted under the modalities present).</p>\n",
              f);
        return;
    }
    fputs("<table><thead><tr><th>cause</th><th>patients</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < r->n_failures; i++) {
        fputs("<tr><td>", f);
        mmdx_html_text(f, r->failures[i].cause && *r->failures[i].cause ? r->failures[i].cause : "(no reason given)");
        fprintf(f, "</td><td class=\"n\">%zu</td></tr>\n", r->failures[i].count);
    }
    fputs("</tbody></table>\n", f);
}

static void patients_section(FILE *f, const mmdx_html_report *r)
{
    if (!r->n_patients)
        return;
    section(f, "patients", "Highest predicted risks");
    fprintf(f, "<p class=\"muted\">The %zu highest of %zu stored results, as stored (pseudonyms when the site "
               "pseudonymises).</p>\n", r->n_patients, r->n_listed_total);
    fputs("<table><thead><tr><th>patient</th><th>risk</th><th>decision</th><th>label</th><th>modalities</th>"
          "<th>stored</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < r->n_patients; i++) {
        const mmdx_html_patient *p = &r->patients[i];
        fputs("<tr><td class=\"hash\">", f);
        mmdx_html_text(f, p->patient);
        fputs("</td>", f);
        mmdx_html_num(f, p->probability, 4);
        fprintf(f, "<td>%s</td>", p->decision < 0 ? "-" : p->decision ? "positive" : "negative");
        if (p->label < 0)
            fputs("<td>-</td>", f);
        else
            fprintf(f, "<td>%d</td>", p->label);
        fputs("<td>", f);
        mmdx_html_text(f, p->modalities);
        fputs("</td><td>", f);
        mmdx_html_text(f, p->stored_at);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

int mmdx_html_report_print(FILE *f, const mmdx_html_report *r)
{
    mmdx_html_begin(f, r->title);
    fputs("<h1>", f);
    mmdx_html_text(f, r->title);
    fputs("</h1>\n<p class=\"muted\">", f);
    mmdx_html_text(f, r->run_id ? "Report of a stored screening run." : "Evaluation of a model on a labelled cohort.");
    fputs("</p>\n", f);
    model_card(f, r);
    run_section(f, r);
    cohort_section(f, r);
    metrics_section(f, r);
    int rc = plots_section(f, r);
    failures_section(f, r);
    patients_section(f, r);
    mmdx_html_end(f, r->generator);
    return rc;
}

int mmdx_html_report_write(const char *path, const mmdx_html_report *r)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc < 0)
        return rc;
    if ((rc = mmdx_html_report_print(af.f, r)) < 0) {
        mmdx_atomic_file_abort(&af);
        return rc;
    }
    return mmdx_atomic_file_commit(&af);
}

/* ---- one study ---- */

int mmdx_html_study_print(FILE *f, const mmdx_html_study *s)
{
    char title[256];
    snprintf(title, sizeof title, "mmdx result: study %s", s->study ? s->study : "");
    mmdx_html_begin(f, title);
    fputs("<h1>Screening result</h1>\n<p class=\"muted\">Study ", f);
    mmdx_html_text(f, s->study_uid && *s->study_uid ? s->study_uid : s->study);
    fputs("</p>\n", f);
    fprintf(f, "<p><span class=\"risk\">%.1f%%</span> predicted risk &mdash; <span class=\"%s\">%s</span> at the "
               "threshold %.1f%%</p>\n", 100 * s->probability, s->decision ? "warn" : "ok",
            s->decision ? "positive" : "negative", 100 * s->threshold);
    /* Bars in HTML, not a cairo chart: this page is drawn inside a PACS's threads (see docs/views.md). */
    double top = 0;
    for (size_t i = 0; i < s->n_modalities; i++)
        if (s->modalities[i].present && isfinite(s->modalities[i].contribution))
            top = fmax(top, fabs(s->modalities[i].contribution));
    fputs("<h2>Why: contributions by modality</h2>\n<p class=\"muted\">Each present modality's contribution to the "
          "model's log-odds: to the right (orange) towards a positive result, to the left (blue) away from it."
          "</p>\n<table><thead><tr><th>modality</th><th>present</th><th>contribution</th><th>towards</th></tr></thead>"
          "<tbody>\n", f);
    for (size_t i = 0; i < s->n_modalities; i++) {
        const mmdx_html_modality *m = &s->modalities[i];
        int has = m->present && isfinite(m->contribution);
        fputs("<tr><td>", f);
        mmdx_html_text(f, m->name);
        fprintf(f, "</td><td>%s</td>", m->present ? "yes" : "no");
        mmdx_html_num(f, has ? m->contribution : NAN, 3);
        double w = has && top > 0 ? 50 * fabs(m->contribution) / top : 0;
        if (has && m->contribution < 0)
            fprintf(f, "<td class=\"bars\"><div class=\"neg\" style=\"width:%.1f%%;margin-left:%.1f%%\"></div></td>",
                    w, 50 - w);
        else
            fprintf(f, "<td class=\"bars\"><div class=\"pos\" style=\"width:%.1f%%;margin-left:50%%\"></div></td>", w);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    fputs("<h2>Model and provenance</h2>\n<table>\n", f);
    char buf[160];
    snprintf(buf, sizeof buf, "%s %s / %s", s->fusion ? s->fusion : "-", s->fusion_version ? s->fusion_version : "",
             s->classifier ? s->classifier : "-");
    mmdx_html_kv(f, "model", buf);
    hash_row(f, "model SHA-256", s->model_sha256);
    mmdx_html_kv(f, "signature", s->signature_verified ? "verified with the site key" : "not verified");
    mmdx_html_kv(f, "patient (as stored)", s->patient);
    hash_row(f, "run ID", s->run_id);
    if (s->audit_seq > 0) {
        snprintf(buf, sizeof buf, "%lld", s->audit_seq);
        mmdx_html_kv(f, "audit event (prediction.store) seq", buf);
    } else {
        mmdx_html_kv(f, "audit event (prediction.store) seq", "not found");
    }
    mmdx_html_kv(f, "screened", s->finished_at);
    fputs("</table>\n", f);
    if (s->text && *s->text) {
        fputs("<h2>Report text (as in the DICOM SR)</h2>\n<pre>", f);
        mmdx_html_text(f, s->text);
        fputs("</pre>\n", f);
    }
    mmdx_html_end(f, s->generator);
    return ferror(f) ? mmdx_fail(MMDX_EIO, "writing the page failed") : 0;
}
