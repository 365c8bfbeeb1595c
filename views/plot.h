/*
 * views/plot.h — charts drawn with cairo: curves with confidence bands,
 * markers, a histogram strip and grouped bars, written as vector SVG or PNG.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A chart is built (mmdx_plot_new, then add series), then rendered to
 * memory or written to a file. Series take the Okabe-Ito colour-blind-safe
 * palette in the order added (MMDX_PLOT_COLOURS) and, from the second on, a
 * dash pattern too, so that a grey print still tells them apart.
 *
 * Geometry: the SVG is MMDX_PLOT_WIDTH x MMDX_PLOT_HEIGHT points; the PNG
 * the same scene at MMDX_PLOT_PNG_SCALE pixels per point. Data coordinates
 * map linearly onto the main panel (mmdx_plot_panel); with a histogram the
 * strip sits below the main panel and shares its x axis.
 *
 * Errors: MMDX_EINVAL (field named), MMDX_ENOMEM, MMDX_EIO (file named, or
 * cairo's status); the message is in the thread's last error (core/error.h).
 * Ownership: strings and arrays given are copied. Not thread-safe per chart;
 * distinct charts may be drawn on distinct threads.
 */
#ifndef MMDX_VIEWS_PLOT_H
#define MMDX_VIEWS_PLOT_H

#include <stddef.h>

#include "mmdx/common.h"

#define MMDX_PLOT_WIDTH 640
#define MMDX_PLOT_HEIGHT 480
#define MMDX_PLOT_PNG_SCALE 2
#define MMDX_PLOT_COLOURS 7

typedef struct mmdx_plot mmdx_plot;

typedef enum mmdx_plot_format { MMDX_PLOT_SVG = 0, MMDX_PLOT_PNG = 1 } mmdx_plot_format;

/** How a line series joins its points. */
typedef enum mmdx_plot_join {
    MMDX_PLOT_LINEAR = 0, /**< straight segments between the points */
    MMDX_PLOT_STEP = 1    /**< each point's y from the previous point's x (a right-continuous step) */
} mmdx_plot_join;

/** The palette's colour k (mod MMDX_PLOT_COLOURS) as "#rrggbb" (static). */
const char *mmdx_plot_colour(size_t k);

/** A chart with a title and axis labels over x in [x0, x1], y in [y0, y1]. */
MMDX_RESULT_USED int mmdx_plot_new(mmdx_plot **out, const char *title, const char *x_label, const char *y_label,
                                   double x0, double x1, double y0, double y1);
void mmdx_plot_free(mmdx_plot *p);

/** A note under the title (e.g. "95% bootstrap bands, B = 1000, seed 1"). */
MMDX_RESULT_USED int mmdx_plot_subtitle(mmdx_plot *p, const char *text);

/**
 * A line through n >= 1 points in the next palette colour; `label` goes to
 * the legend (NULL: none). Non-finite points are refused (MMDX_EINVAL).
 * Drawn as ONE path, so its vertices can be read back from the SVG.
 */
MMDX_RESULT_USED int mmdx_plot_line(mmdx_plot *p, const char *label, const double *x, const double *y, size_t n,
                                    mmdx_plot_join join);

/** A shaded band between lo and hi at x (NaN entries leave gaps), in the colour of the LAST line added. */
MMDX_RESULT_USED int mmdx_plot_band(mmdx_plot *p, const double *x, const double *lo, const double *hi, size_t n);

/** A dashed grey reference line from (x0, y0) to (x1, y1), e.g. chance or perfect calibration. */
MMDX_RESULT_USED int mmdx_plot_reference(mmdx_plot *p, const char *label, double x0, double y0, double x1,
                                         double y1);

/** Markers at the points (NaN points skipped), in the next palette colour, joined by thin lines. */
MMDX_RESULT_USED int mmdx_plot_markers(mmdx_plot *p, const char *label, const double *x, const double *y, size_t n);

/** A histogram strip under the main panel: bars [lo[i], hi[i]) of height count[i] (its own y axis). */
MMDX_RESULT_USED int mmdx_plot_histogram(mmdx_plot *p, const char *y_label, const double *lo, const double *hi,
                                         const double *count, size_t n);

/**
 * Grouped bars: the x axis becomes n categories (names given, set by the
 * first call); each call adds one series of n values, side by side per category.
 */
MMDX_RESULT_USED int mmdx_plot_bars(mmdx_plot *p, const char *label, const char *const *categories,
                                    const double *value, size_t n);

/** Render to memory: *data malloc'd (free()), *len bytes. */
MMDX_RESULT_USED int mmdx_plot_render(const mmdx_plot *p, mmdx_plot_format fmt, unsigned char **data, size_t *len);

/** Render and write `path` atomically (temporary file, then rename). */
MMDX_RESULT_USED int mmdx_plot_write(const mmdx_plot *p, mmdx_plot_format fmt, const char *path);

/** The main panel in SVG points: data (x0, y0) is at (left, bottom), (x1, y1) at (right, top). */
void mmdx_plot_panel(const mmdx_plot *p, double *left, double *top, double *right, double *bottom);

/**
 * Free the process-wide font caches cairo and fontconfig keep after drawing
 * text (so that a leak checker sees nothing left; the next chart builds them
 * again). Call only when no chart is being drawn on any thread: the commands
 * call it after their last chart.
 */
void mmdx_plot_release_caches(void);

#endif
