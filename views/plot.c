/* SPDX-License-Identifier: Apache-2.0 */
#include "plot.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "atomic_file.h"
#include "error.h"

typedef enum series_kind { S_LINE, S_BAND, S_REFERENCE, S_MARKERS, S_BARS } series_kind;

typedef struct series {
    series_kind kind;
    size_t colour;        /* palette index; also picks the dash pattern */
    mmdx_plot_join join;
    char *label;
    size_t n;
    double *x, *y, *y2;   /* band: y = lo, y2 = hi; bars: y = values */
} series;

struct mmdx_plot {
    char *title, *subtitle, *x_label, *y_label, *hist_label;
    double x0, x1, y0, y1;
    series *s;
    size_t n, cap;
    size_t next_colour;
    size_t n_bar_series;
    char **categories;
    size_t n_categories;
    double *h_lo, *h_hi, *h_count; /* histogram strip */
    size_t n_hist;
};

/* Okabe & Ito (2008), without the yellow that vanishes on white. */
static const char *const palette[MMDX_PLOT_COLOURS] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                       "#E69F00", "#56B4E9", "#000000"};

const char *mmdx_plot_colour(size_t k) { return palette[k % MMDX_PLOT_COLOURS]; }

static void set_colour(cairo_t *cr, size_t k, double alpha)
{
    unsigned v = (unsigned)strtoul(mmdx_plot_colour(k) + 1, NULL, 16);
    cairo_set_source_rgba(cr, ((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0, alpha);
}

static void set_dash(cairo_t *cr, size_t k)
{
    static const double d1[] = {7, 3}, d2[] = {2, 2.5}, d3[] = {8, 3, 2, 3}, d4[] = {4, 4};
    static const double *const dashes[] = {NULL, d1, d2, d3, d4};
    static const int lens[] = {0, 2, 2, 4, 2};
    size_t i = k % 5;
    cairo_set_dash(cr, dashes[i], lens[i], 0);
}

static char *dup_or_null(const char *s, int *rc)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    return d;
}

static double *dup_doubles(const double *v, size_t n, int *rc)
{
    if (!v || *rc)
        return NULL;
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (!d)
        *rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    else
        memcpy(d, v, n * sizeof *d);
    return d;
}

int mmdx_plot_new(mmdx_plot **out, const char *title, const char *x_label, const char *y_label, double x0,
                  double x1, double y0, double y1)
{
    *out = NULL;
    if (!(isfinite(x0) && isfinite(x1) && isfinite(y0) && isfinite(y1) && x1 > x0 && y1 > y0))
        return mmdx_fail(MMDX_EINVAL, "plot \"%s\": the axis ranges must be finite and increasing",
                         title ? title : "");
    mmdx_plot *p = calloc(1, sizeof *p);
    int rc = p ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc) {
        p->title = dup_or_null(title ? title : "", &rc);
        p->x_label = dup_or_null(x_label ? x_label : "", &rc);
        p->y_label = dup_or_null(y_label ? y_label : "", &rc);
        p->x0 = x0, p->x1 = x1, p->y0 = y0, p->y1 = y1;
    }
    if (rc) {
        mmdx_plot_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mmdx_plot_free(mmdx_plot *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->s[i].label);
        free(p->s[i].x), free(p->s[i].y), free(p->s[i].y2);
    }
    for (size_t i = 0; i < p->n_categories; i++)
        free(p->categories[i]);
    free(p->categories);
    free(p->s);
    free(p->title), free(p->subtitle), free(p->x_label), free(p->y_label), free(p->hist_label);
    free(p->h_lo), free(p->h_hi), free(p->h_count);
    free(p);
}

int mmdx_plot_subtitle(mmdx_plot *p, const char *text)
{
    int rc = 0;
    char *s = dup_or_null(text, &rc);
    if (!rc) {
        free(p->subtitle);
        p->subtitle = s;
    }
    return rc;
}

/* Append a series (arrays copied); its colour is the palette's next unless `colour` >= 0. */
static int add(mmdx_plot *p, series_kind kind, const char *label, const double *x, const double *y,
               const double *y2, size_t n, long colour)
{
    if (mmdx_array_reserve(&p->s, &p->cap, p->n + 1, sizeof *p->s, 8, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    series s = {kind, 0, MMDX_PLOT_LINEAR, NULL, n, NULL, NULL, NULL};
    s.colour = colour >= 0 ? (size_t)colour : p->next_colour++;
    int rc = 0;
    s.label = dup_or_null(label, &rc);
    s.x = dup_doubles(x, n, &rc);
    s.y = dup_doubles(y, n, &rc);
    s.y2 = dup_doubles(y2, n, &rc);
    if (rc) {
        free(s.label), free(s.x), free(s.y), free(s.y2);
        return rc;
    }
    p->s[p->n++] = s;
    return 0;
}

static int check_finite(const mmdx_plot *p, const char *what, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return mmdx_fail(MMDX_EINVAL, "plot \"%s\": %s[%zu] is not a finite number", p->title, what, i);
    return 0;
}

int mmdx_plot_line(mmdx_plot *p, const char *label, const double *x, const double *y, size_t n,
                   mmdx_plot_join join)
{
    int rc;
    if (n == 0)
        return mmdx_fail(MMDX_EINVAL, "plot \"%s\": a line needs at least one point", p->title);
    if ((rc = check_finite(p, "x", x, n)) < 0 || (rc = check_finite(p, "y", y, n)) < 0)
        return rc;
    if ((rc = add(p, S_LINE, label, x, y, NULL, n, -1)) == 0)
        p->s[p->n - 1].join = join;
    return rc;
}

int mmdx_plot_band(mmdx_plot *p, const double *x, const double *lo, const double *hi, size_t n)
{
    long colour = 0;
    for (size_t i = p->n; i-- > 0;)
        if (p->s[i].kind == S_LINE) {
            colour = (long)p->s[i].colour;
            break;
        }
    return add(p, S_BAND, NULL, x, lo, hi, n, colour);
}

int mmdx_plot_reference(mmdx_plot *p, const char *label, double x0, double y0, double x1, double y1)
{
    double x[2] = {x0, x1}, y[2] = {y0, y1};
    return add(p, S_REFERENCE, label, x, y, NULL, 2, MMDX_PLOT_COLOURS - 1);
}

int mmdx_plot_markers(mmdx_plot *p, const char *label, const double *x, const double *y, size_t n)
{
    return add(p, S_MARKERS, label, x, y, NULL, n, -1);
}

int mmdx_plot_histogram(mmdx_plot *p, const char *y_label, const double *lo, const double *hi,
                        const double *count, size_t n)
{
    int rc = 0;
    free(p->h_lo), free(p->h_hi), free(p->h_count), free(p->hist_label);
    p->h_lo = dup_doubles(lo, n, &rc);
    p->h_hi = dup_doubles(hi, n, &rc);
    p->h_count = dup_doubles(count, n, &rc);
    p->hist_label = dup_or_null(y_label ? y_label : "", &rc);
    p->n_hist = rc ? 0 : n;
    return rc;
}

int mmdx_plot_bars(mmdx_plot *p, const char *label, const char *const *categories, const double *value, size_t n)
{
    int rc = check_finite(p, "bar value", value, n);
    if (rc < 0)
        return rc;
    if (!p->categories) {
        if (!(p->categories = calloc(n ? n : 1, sizeof *p->categories)))
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        p->n_categories = n;
        for (size_t i = 0; i < n && !rc; i++)
            p->categories[i] = dup_or_null(categories[i], &rc);
        if (rc)
            return rc;
    } else if (n != p->n_categories) {
        return mmdx_fail(MMDX_EINVAL, "plot \"%s\": bar series \"%s\" has %zu values for %zu categories", p->title,
                         label ? label : "", n, p->n_categories);
    }
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        x[i] = (double)i;
    rc = add(p, S_BARS, label, x, value, NULL, n, -1);
    free(x);
    if (!rc)
        p->n_bar_series++;
    return rc;
}

/* ---- layout ---- */

typedef struct layout {
    double left, right, top, bottom;   /* main panel */
    double h_top, h_bottom;            /* histogram strip (when any) */
} layout;

static layout layout_of(const mmdx_plot *p)
{
    layout L;
    L.left = 72;
    L.right = MMDX_PLOT_WIDTH - 24;
    L.top = p->subtitle ? 66 : 48;
    double bottom = MMDX_PLOT_HEIGHT - 56;
    if (p->n_hist) {
        L.bottom = L.top + (bottom - L.top) * 0.72;
        L.h_top = L.bottom + 10;
        L.h_bottom = bottom;
    } else {
        L.bottom = bottom;
        L.h_top = L.h_bottom = bottom;
    }
    return L;
}

void mmdx_plot_panel(const mmdx_plot *p, double *left, double *top, double *right, double *bottom)
{
    layout L = layout_of(p);
    *left = L.left, *top = L.top, *right = L.right, *bottom = L.bottom;
}

static double px(const mmdx_plot *p, const layout *L, double x)
{
    return L->left + (x - p->x0) / (p->x1 - p->x0) * (L->right - L->left);
}

static double py(const mmdx_plot *p, const layout *L, double y)
{
    return L->bottom - (y - p->y0) / (p->y1 - p->y0) * (L->bottom - L->top);
}

/* A round tick step giving about `want` intervals over [a, b]. */
static double nice_step(double a, double b, int want)
{
    double raw = (b - a) / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static void text_at(cairo_t *cr, const char *s, double x, double y, double ax, double ay)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.x_bearing - ax * e.width, y - e.y_bearing - ay * e.height);
    cairo_show_text(cr, s);
}

static void font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static void format_tick(char *buf, size_t cap, double v, double step)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, cap, "%.*f", decimals, fabs(v) < step * 1e-9 ? 0.0 : v);
}

/* A grid line from (ax, ay) to (bx, by) and its tick label at (tx, ty), anchored as text_at. */
static void grid_tick(cairo_t *cr, double ax, double ay, double bx, double by, const char *label, double tx,
                      double ty, double anchor_x, double anchor_y)
{
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_set_line_width(cr, 0.6);
    cairo_move_to(cr, ax, ay);
    cairo_line_to(cr, bx, by);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    text_at(cr, label, tx, ty, anchor_x, anchor_y);
}

static void y_axis(cairo_t *cr, double left, double right, double top, double bottom, double y0, double y1,
                   const char *label, int want)
{
    double step = nice_step(y0, y1, want);
    char buf[32];
    font(cr, 11, 0);
    for (double v = ceil(y0 / step - 1e-9) * step; v <= y1 + step * 1e-9; v += step) {
        double y = bottom - (v - y0) / (y1 - y0) * (bottom - top);
        format_tick(buf, sizeof buf, v, step);
        grid_tick(cr, left, y, right, y, buf, left - 6, y, 1, 0.5);
    }
    font(cr, 13, 0);
    cairo_save(cr);
    cairo_translate(cr, 18, (top + bottom) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, label, 0, 0, 0.5, 0.5);
    cairo_restore(cr);
}

static void x_axis(const mmdx_plot *p, cairo_t *cr, const layout *L, double top, double bottom)
{
    char buf[32];
    font(cr, 11, 0);
    if (p->categories) {
        double w = (L->right - L->left) / (double)(p->n_categories ? p->n_categories : 1);
        for (size_t i = 0; i < p->n_categories; i++) {
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
            text_at(cr, p->categories[i], L->left + w * ((double)i + 0.5), bottom + 6, 0.5, 0);
        }
    } else {
        double step = nice_step(p->x0, p->x1, 5);
        for (double v = ceil(p->x0 / step - 1e-9) * step; v <= p->x1 + step * 1e-9; v += step) {
            double x = px(p, L, v);
            format_tick(buf, sizeof buf, v, step);
            grid_tick(cr, x, top, x, bottom, buf, x, bottom + 6, 0.5, 0);
        }
    }
    font(cr, 13, 0);
    text_at(cr, p->x_label, (L->left + L->right) / 2, MMDX_PLOT_HEIGHT - 22, 0.5, 0);
}

static void frame(cairo_t *cr, double left, double top, double right, double bottom)
{
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, left, top, right - left, bottom - top);
    cairo_stroke(cr);
}

static void draw_band(const mmdx_plot *p, cairo_t *cr, const layout *L, const series *s)
{
    set_colour(cr, s->colour, 0.18);
    for (size_t i = 0; i < s->n;) {
        while (i < s->n && (isnan(s->y[i]) || isnan(s->y2[i])))
            i++;
        size_t j = i;
        while (j < s->n && !isnan(s->y[j]) && !isnan(s->y2[j]))
            j++;
        if (j - i >= 2) {
            cairo_move_to(cr, px(p, L, s->x[i]), py(p, L, s->y2[i]));
            for (size_t k = i + 1; k < j; k++)
                cairo_line_to(cr, px(p, L, s->x[k]), py(p, L, s->y2[k]));
            for (size_t k = j; k-- > i;)
                cairo_line_to(cr, px(p, L, s->x[k]), py(p, L, s->y[k]));
            cairo_close_path(cr);
            cairo_fill(cr);
        }
        i = j;
    }
}

static void draw_line(const mmdx_plot *p, cairo_t *cr, const layout *L, const series *s)
{
    set_colour(cr, s->colour, 1);
    set_dash(cr, s->colour);
    cairo_set_line_width(cr, 2);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    double x = s->join == MMDX_PLOT_STEP ? p->x0 : s->x[0];
    cairo_move_to(cr, px(p, L, x), py(p, L, s->y[0]));
    for (size_t i = s->join == MMDX_PLOT_STEP ? 0 : 1; i < s->n; i++) {
        if (s->join == MMDX_PLOT_STEP && i > 0)
            cairo_line_to(cr, px(p, L, s->x[i - 1]), py(p, L, s->y[i]));
        cairo_line_to(cr, px(p, L, s->x[i]), py(p, L, s->y[i]));
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
}

static void draw_markers(const mmdx_plot *p, cairo_t *cr, const layout *L, const series *s)
{
    set_colour(cr, s->colour, 1);
    cairo_set_line_width(cr, 1);
    int started = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (isnan(s->x[i]) || isnan(s->y[i]))
            continue;
        if (started)
            cairo_line_to(cr, px(p, L, s->x[i]), py(p, L, s->y[i]));
        else
            cairo_move_to(cr, px(p, L, s->x[i]), py(p, L, s->y[i]));
        started = 1;
    }
    cairo_stroke(cr);
    for (size_t i = 0; i < s->n; i++) {
        if (isnan(s->x[i]) || isnan(s->y[i]))
            continue;
        cairo_arc(cr, px(p, L, s->x[i]), py(p, L, s->y[i]), 4, 0, 2 * M_PI);
        cairo_fill(cr);
    }
}

static void draw_bars(const mmdx_plot *p, cairo_t *cr, const layout *L, const series *s, size_t k)
{
    double w = (L->right - L->left) / (double)(p->n_categories ? p->n_categories : 1);
    double bw = w * 0.7 / (double)p->n_bar_series;
    for (size_t i = 0; i < s->n; i++) {
        double x = L->left + w * (double)i + w * 0.15 + bw * (double)k;
        double y = py(p, L, s->y[i]), base = py(p, L, p->y0 <= 0 && p->y1 >= 0 ? 0 : p->y0);
        cairo_rectangle(cr, x, fmin(y, base), bw, fabs(base - y));
        set_colour(cr, s->colour, 0.85);
        cairo_fill(cr);
    }
}

static void draw_histogram(const mmdx_plot *p, cairo_t *cr, const layout *L)
{
    double top = 0;
    for (size_t i = 0; i < p->n_hist; i++)
        top = fmax(top, p->h_count[i]);
    top = top > 0 ? top * 1.1 : 1;
    y_axis(cr, L->left, L->right, L->h_top, L->h_bottom, 0, top, "", 2);
    font(cr, 11, 0);
    cairo_save(cr);
    cairo_translate(cr, 36, (L->h_top + L->h_bottom) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, p->hist_label, 0, 0, 0.5, 0.5);
    cairo_restore(cr);
    for (size_t i = 0; i < p->n_hist; i++) {
        double a = px(p, L, p->h_lo[i]), b = px(p, L, p->h_hi[i]);
        double h = p->h_count[i] / top * (L->h_bottom - L->h_top);
        cairo_rectangle(cr, a + 0.5, L->h_bottom - h, b - a - 1, h);
        set_colour(cr, 5, 0.8);
        cairo_fill(cr);
    }
    frame(cr, L->left, L->h_top, L->right, L->h_bottom);
}

static void draw_legend(const mmdx_plot *p, cairo_t *cr, const layout *L)
{
    size_t rows = 0;
    double wmax = 0;
    font(cr, 11, 0);
    for (size_t i = 0; i < p->n; i++)
        if (p->s[i].label && p->s[i].kind != S_BAND) {
            cairo_text_extents_t e;
            cairo_text_extents(cr, p->s[i].label, &e);
            wmax = fmax(wmax, e.x_advance);
            rows++;
        }
    if (!rows)
        return;
    double h = 16 * (double)rows + 8, w = wmax + 40;
    /* the corner the data leave free: lower right under rising curves, lower left under falling ones */
    int upper = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->s[i].kind == S_LINE && p->s[i].n > 1)
            upper = p->s[i].y[p->s[i].n - 1] < p->s[i].y[0];
    double x = upper && !p->categories ? L->left + 8 : L->right - w - 8;
    double y = p->categories ? L->top + 8 : L->bottom - h - 8;
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    double row = y + 12;
    for (size_t i = 0; i < p->n; i++) {
        const series *s = &p->s[i];
        if (!s->label || s->kind == S_BAND)
            continue;
        set_colour(cr, s->colour, 1);
        if (s->kind == S_BARS) {
            cairo_rectangle(cr, x + 8, row - 5, 20, 9);
            cairo_fill(cr);
        } else {
            if (s->kind == S_REFERENCE) {
                static const double d[] = {4, 3};
                cairo_set_dash(cr, d, 2, 0);
                cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
            } else if (s->kind == S_LINE) {
                set_dash(cr, s->colour);
            }
            cairo_set_line_width(cr, 2);
            cairo_move_to(cr, x + 8, row);
            cairo_line_to(cr, x + 28, row);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
        }
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, s->label, x + 34, row, 0, 0.5);
        row += 16;
    }
}

static void draw(const mmdx_plot *p, cairo_t *cr)
{
    layout L = layout_of(p);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
    font(cr, 15, 1);
    text_at(cr, p->title, MMDX_PLOT_WIDTH / 2.0, 14, 0.5, 0);
    if (p->subtitle) {
        font(cr, 11, 0);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        text_at(cr, p->subtitle, MMDX_PLOT_WIDTH / 2.0, 36, 0.5, 0);
    }
    y_axis(cr, L.left, L.right, L.top, L.bottom, p->y0, p->y1, p->y_label, 5);
    x_axis(p, cr, &L, L.top, p->n_hist ? L.h_bottom : L.bottom);
    if (p->n_hist)
        draw_histogram(p, cr, &L);
    cairo_save(cr);
    cairo_rectangle(cr, L.left - 4, L.top - 4, L.right - L.left + 8, L.bottom - L.top + 8);
    cairo_clip(cr);
    size_t bar_k = 0;
    for (int pass = 0; pass < 2; pass++) /* bands and references under the lines */
        for (size_t i = 0; i < p->n; i++) {
            const series *s = &p->s[i];
            int under = s->kind == S_BAND || s->kind == S_REFERENCE || s->kind == S_BARS;
            if (under != (pass == 0))
                continue;
            switch (s->kind) {
            case S_BAND: draw_band(p, cr, &L, s); break;
            case S_BARS: draw_bars(p, cr, &L, s, bar_k++); break;
            case S_REFERENCE: {
                static const double d[] = {4, 3};
                cairo_set_dash(cr, d, 2, 0);
                cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
                cairo_set_line_width(cr, 1.2);
                cairo_move_to(cr, px(p, &L, s->x[0]), py(p, &L, s->y[0]));
                cairo_line_to(cr, px(p, &L, s->x[1]), py(p, &L, s->y[1]));
                cairo_stroke(cr);
                cairo_set_dash(cr, NULL, 0, 0);
                break;
            }
            case S_LINE: draw_line(p, cr, &L, s); break;
            case S_MARKERS: draw_markers(p, cr, &L, s); break;
            }
        }
    cairo_restore(cr);
    frame(cr, L.left, L.top, L.right, L.bottom);
    draw_legend(p, cr, &L);
}

/* ---- output ---- */

typedef struct membuf {
    unsigned char *data;
    size_t len, cap;
    int failed;
} membuf;

static cairo_status_t to_memory(void *closure, const unsigned char *data, unsigned int length)
{
    membuf *m = closure;
    if (mmdx_array_reserve(&m->data, &m->cap, m->len + length + 1, 1, 4096, 0) < 0) {
        m->failed = 1;
        return CAIRO_STATUS_NO_MEMORY;
    }
    memcpy(m->data + m->len, data, length);
    m->len += length;
    return CAIRO_STATUS_SUCCESS;
}

int mmdx_plot_render(const mmdx_plot *p, mmdx_plot_format fmt, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    membuf m = {NULL, 0, 0, 0};
    cairo_surface_t *surf;
    if (fmt == MMDX_PLOT_SVG) {
        surf = cairo_svg_surface_create_for_stream(to_memory, &m, MMDX_PLOT_WIDTH, MMDX_PLOT_HEIGHT);
    } else {
        surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, MMDX_PLOT_WIDTH * MMDX_PLOT_PNG_SCALE,
                                          MMDX_PLOT_HEIGHT * MMDX_PLOT_PNG_SCALE);
    }
    cairo_t *cr = cairo_create(surf);
    if (fmt == MMDX_PLOT_PNG)
        cairo_scale(cr, MMDX_PLOT_PNG_SCALE, MMDX_PLOT_PNG_SCALE);
    draw(p, cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && fmt == MMDX_PLOT_PNG)
        st = cairo_surface_write_to_png_stream(surf, to_memory, &m);
    cairo_surface_finish(surf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (st != CAIRO_STATUS_SUCCESS || m.failed) {
        free(m.data);
        return m.failed ? mmdx_fail(MMDX_ENOMEM, "out of memory")
                        : mmdx_fail(MMDX_EIO, "plot \"%s\": cairo: %s", p->title, cairo_status_to_string(st));
    }
    *data = m.data;
    *len = m.len;
    return 0;
}

int mmdx_plot_write(const mmdx_plot *p, mmdx_plot_format fmt, const char *path)
{
    unsigned char *data;
    size_t len;
    int rc = mmdx_plot_render(p, fmt, &data, &len);
    if (rc < 0)
        return rc;
    mmdx_atomic_file af;
    if ((rc = mmdx_atomic_file_open(&af, path)) == 0) {
        fwrite(data, 1, len, af.f);
        rc = mmdx_atomic_file_commit(&af);
    }
    free(data);
    return rc;
}

void mmdx_plot_release_caches(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
