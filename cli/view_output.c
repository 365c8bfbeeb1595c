/* SPDX-License-Identifier: Apache-2.0 */
#include "view_output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int mmdx_cli_view_parse(mmdx_cli_view_args *va, int opt, const char *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    int ok = errno == 0 && *value >= '0' && *value <= '9' && !*end;
    if (opt == 'B') {
        if (!ok || v < 1 || v > 100000) {
            fprintf(stderr, "mmdx: --bootstrap \"%s\": expected a number of replicates, 1..100000\n", value);
            return MMDX_EINVAL;
        }
        va->bootstrap = (unsigned)v;
    } else {
        if (!ok) {
            fprintf(stderr, "mmdx: --seed \"%s\": expected a non-negative integer\n", value);
            return MMDX_EINVAL;
        }
        va->seed = (uint64_t)v;
    }
    return 0;
}

mmdx_view_options mmdx_cli_view_options(const mmdx_cli_view_args *va)
{
    mmdx_view_options o = {va->bootstrap, va->seed};
    return o;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

const char *mmdx_cli_generator(void) { return "mmdx " MMDX_VERSION; }

int mmdx_cli_evaluate_views(const mmdx_cli_view_args *va, const mmdx_scored_cohort *sc, const char *model_path,
                            const char *cohort_name)
{
    mmdx_eval_view *v;
    mmdx_view_options o = mmdx_cli_view_options(va);
    const mmdx_model_file *mf = sc->session.file;
    int rc = mmdx_eval_view_new(&v, &sc->in->ds, sc->prob, sc->contrib, mf->threshold, &o);
    if (rc < 0)
        return rc;
    if (va->plots_dir)
        rc = mmdx_eval_view_write_plots(v, va->plots_dir);
    if (!rc && va->report) {
        mmdx_html_report r = {0};
        char title[512];
        snprintf(title, sizeof title, "mmdx evaluation: %s on %s", base_name(model_path),
                 base_name(cohort_name));
        r.title = title;
        r.generator = mmdx_cli_generator();
        r.model = mf;
        r.model_path = model_path;
        r.threshold = mf->threshold;
        r.cohort = cohort_name;
        r.view = v;
        rc = mmdx_html_report_write(va->report, &r);
    }
    mmdx_eval_view_free(v);
    mmdx_plot_release_caches();
    return rc;
}
