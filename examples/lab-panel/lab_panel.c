/*
 * lab_panel.c — an example mmdx encoder plugin, built out of tree against the
 * installed SDK (see Makefile and README.md).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Input: a small CSV file per patient, one "analyte,value" line each (e.g.
 * "ldl_cholesterol,3.4"). Configuration ([labpanel] section of the site
 * configuration): one `analyte = <name>` line per feature, in order. Each
 * configured analyte becomes the feature labpanel.<name>; an analyte the file
 * lacks is NaN; an empty file means the modality is absent.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmdx/plugin.h>

#define MAX_ANALYTES 64

typedef struct panel {
    size_t n;
    char *names[MAX_ANALYTES];
} panel;

static void panel_close(void *state)
{
    panel *p = state;
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->names[i]);
    free(p);
}

static int panel_open(void **out, const mmdx_plugin_config *cfg, mmdx_error *err)
{
    panel *p = calloc(1, sizeof *p);
    if (!p)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->n_entries; i++) {
        const mmdx_config_entry *e = &cfg->entries[i];
        if (strcmp(e->key, "analyte") != 0) {
            panel_close(p);
            return mmdx_error_set(err, MMDX_EINVAL, "%s: line %d: unknown key \"%s\" in [%s] (known: analyte)",
                                  e->file, e->line, e->key, cfg->section);
        }
        if (p->n == MAX_ANALYTES || !(p->names[p->n] = strdup(e->value))) {
            panel_close(p);
            return mmdx_error_set(err, MMDX_EINVAL, "%s: line %d: too many analytes", e->file, e->line);
        }
        p->n++;
    }
    if (p->n == 0) { /* a sensible default panel */
        static const char *const defaults[] = {"ldl_cholesterol", "hdl_cholesterol", "triglycerides"};
        for (size_t i = 0; i < 3; i++)
            p->names[p->n++] = strdup(defaults[i]);
    }
    *out = p;
    return 0;
}

static int panel_features(void *state, size_t *n, const char *const **names, mmdx_error *err)
{
    (void)err;
    panel *p = state;
    *n = p->n;
    *names = (const char *const *)p->names;
    return 0;
}

static int panel_encode(void *state, const mmdx_encoder_input *in, double *values, int32_t *present,
                        mmdx_error *err)
{
    const panel *p = state;
    FILE *f = fopen(in->path, "r");
    if (!f)
        return mmdx_error_set(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s",
                              in->path, strerror(errno));
    char line[512];
    int lineno = 0, any = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        char *comma = strchr(line, ',');
        char *end = NULL;
        double v = comma ? strtod(comma + 1, &end) : 0;
        if (!comma || end == comma + 1 || *end || !isfinite(v)) {
            fclose(f);
            return mmdx_error_set(err, MMDX_EFORMAT, "%s: line %d: expected \"analyte,number\"", in->path,
                                  lineno);
        }
        *comma = '\0';
        any = 1;
        for (size_t i = 0; i < p->n; i++)
            if (strcmp(line, p->names[i]) == 0)
                values[i] = v;
    }
    fclose(f);
    *present = any;
    return 0;
}

static const mmdx_encoder_vtable vtable = {
    sizeof(mmdx_encoder_vtable), 0, panel_open, panel_features, NULL, panel_encode, panel_close,
};

static const mmdx_plugin_info info = {
    MMDX_ABI_VERSION,
    sizeof(mmdx_plugin_info),
    MMDX_PLUGIN_ENCODER,
    0,
    "labpanel",
    "1.0.0",
    "labpanel",
    "lab_panel",
    "example: named lab values from a per-patient analyte,value CSV",
    &vtable,
    NULL,
};

MMDX_PLUGIN_DECLARE(info)
