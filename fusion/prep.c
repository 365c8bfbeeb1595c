/* SPDX-License-Identifier: Apache-2.0 */
#include "prep.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

static int alloc_cols(mmdx_prep *pr, size_t n)
{
    pr->n_cols = n;
    pr->kind = calloc(n ? n : 1, sizeof *pr->kind);
    pr->ref = calloc(n ? n : 1, sizeof *pr->ref);
    pr->mean = calloc(n ? n : 1, sizeof *pr->mean);
    pr->scale = calloc(n ? n : 1, sizeof *pr->scale);
    return (pr->kind && pr->ref && pr->mean && pr->scale) ? 0 : -1;
}

void mmdx_prep_free(mmdx_prep *pr)
{
    if (!pr)
        return;
    free(pr->kind);
    free(pr->ref);
    free(pr->mean);
    free(pr->scale);
    memset(pr, 0, sizeof *pr);
}

static size_t row_at(const size_t *rows, size_t r) { return rows ? rows[r] : r; }

/* The raw (unstandardised) value of column c for sample i. */
static inline double raw(const mmdx_prep *pr, size_t c, const mmdx_dataset *d, size_t i, uint32_t mask)
{
    uint32_t ref = pr->ref[c];
    if (pr->kind[c] == MMDX_PREP_ABSENT)
        return (ref == mask || !d->present[i * d->n_modalities + ref]) ? 1.0 : 0.0;
    uint32_t m = d->feature_modality[ref];
    int present = m != mask && d->present[i * d->n_modalities + m];
    double v = d->x[i * d->n_features + ref];
    if (pr->kind[c] == MMDX_PREP_MISSING)
        return (present && !isfinite(v)) ? 1.0 : 0.0;
    return (present && isfinite(v)) ? v : NAN;
}

/* Mean and population standard deviation (two-pass) of every column over the
 * rows. Rows are walked in storage order (a column-at-a-time walk of a
 * row-major matrix touches a new cache line per value), in a fixed number of
 * chunks whose partial sums are added in chunk order: the result is the same
 * whatever the thread count. */
static void stats_chunk(const mmdx_prep *pr, const mmdx_dataset *d, const size_t *rows, size_t lo, size_t hi,
                        const double *mean, double *acc, size_t *k)
{
    size_t C = pr->n_cols;
    for (size_t r = lo; r < hi; r++) {
        size_t i = row_at(rows, r);
        for (size_t c = 0; c < C; c++) {
            double v = raw(pr, c, d, i, UINT32_MAX);
            if (isnan(v))
                continue;
            if (mean) {
                acc[c] += (v - mean[c]) * (v - mean[c]);
            } else {
                acc[c] += v;
                k[c]++;
            }
        }
    }
}

static int column_stats(mmdx_prep *pr, const mmdx_dataset *d, const size_t *rows, size_t n_rows, int n_threads)
{
    size_t C = pr->n_cols ? pr->n_cols : 1;
    size_t chunks = (1u << 22) / C;
    chunks = chunks > 64 ? 64 : chunks < 1 ? 1 : chunks;
    if (chunks > n_rows)
        chunks = n_rows ? n_rows : 1;
    double *acc = calloc(chunks * C, sizeof *acc);
    size_t *k = calloc(chunks * C, sizeof *k);
    if (!acc || !k) {
        free(acc), free(k);
        return -1;
    }
    size_t per = (n_rows + chunks - 1) / chunks;
    int T = (n_threads < 1 || n_rows < 4096) ? 1 : n_threads;
    for (int pass = 0; pass < 2; pass++) {
        memset(acc, 0, chunks * C * sizeof *acc);
        const double *mean = pass ? pr->mean : NULL;
        long long nch = (long long)chunks;
#pragma omp parallel for num_threads(T) schedule(static)
        for (long long ch = 0; ch < nch; ch++) {
            size_t lo = (size_t)ch * per > n_rows ? n_rows : (size_t)ch * per;
            size_t hi = lo + per > n_rows ? n_rows : lo + per;
            stats_chunk(pr, d, rows, lo, hi, mean, acc + (size_t)ch * C, k + (size_t)ch * C);
        }
        for (size_t c = 0; c < pr->n_cols; c++) {
            double sum = 0;
            size_t cnt = 0;
            for (size_t ch = 0; ch < chunks; ch++) {
                sum += acc[ch * C + c];
                cnt += k[ch * C + c];
            }
            if (!pass) {
                pr->mean[c] = cnt ? sum / (double)cnt : 0.0;
                k[c] = cnt; /* chunk 0's slot keeps the total for the second pass */
            } else {
                double m = pr->mean[c], sd = k[c] ? sqrt(sum / (double)k[c]) : 0.0;
                if (!(sd > 0) || !(sd > 10.0 * DBL_EPSILON * fabs(m)))
                    sd = 1.0;
                pr->scale[c] = sd;
            }
        }
    }
    free(acc), free(k);
    return 0;
}

int mmdx_prep_fit(mmdx_prep *out, const mmdx_dataset *d, const size_t *rows, size_t n_rows,
                  const uint8_t *use, int with_indicators, int n_threads, mmdx_error *err)
{
    memset(out, 0, sizeof *out);
    size_t F = d->n_features, M = d->n_modalities;
    size_t *missing = calloc(F ? F : 1, sizeof *missing), *havemod = calloc(M ? M : 1, sizeof *havemod);
    if (!missing || !havemod) {
        free(missing), free(havemod);
        return mmdx_error_set(err, MMDX_ENOMEM, "preprocessing: out of memory");
    }
    for (size_t r = 0; r < n_rows; r++) {
        size_t i = row_at(rows, r);
        for (size_t m = 0; m < M; m++)
            havemod[m] += d->present[i * M + m] ? 1 : 0;
        for (size_t j = 0; j < F; j++)
            if (d->present[i * M + d->feature_modality[j]] && !isfinite(d->x[i * F + j]))
                missing[j]++;
    }
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t c = 0;
        for (size_t j = 0; j < F; j++) {
            if (use && !use[j])
                continue;
            if (pass)
                out->kind[c] = MMDX_PREP_VALUE, out->ref[c] = (uint32_t)j;
            c++;
        }
        if (with_indicators) {
            for (size_t j = 0; j < F; j++) {
                if ((use && !use[j]) || missing[j] == 0 || missing[j] >= havemod[d->feature_modality[j]])
                    continue;
                if (pass)
                    out->kind[c] = MMDX_PREP_MISSING, out->ref[c] = (uint32_t)j;
                c++;
            }
            for (size_t m = 0; m < M; m++) {
                int used = 0;
                for (size_t j = 0; j < F; j++)
                    if ((!use || use[j]) && d->feature_modality[j] == m)
                        used = 1;
                if (!used || havemod[m] == 0 || havemod[m] == n_rows)
                    continue;
                if (pass)
                    out->kind[c] = MMDX_PREP_ABSENT, out->ref[c] = (uint32_t)m;
                c++;
            }
        }
        if (!pass) {
            n = c;
            if (alloc_cols(out, n) != 0) {
                free(missing), free(havemod);
                mmdx_prep_free(out);
                return mmdx_error_set(err, MMDX_ENOMEM, "preprocessing: out of memory");
            }
        }
    }
    free(missing), free(havemod);
    if (column_stats(out, d, rows, n_rows, n_threads) != 0) {
        mmdx_prep_free(out);
        return mmdx_error_set(err, MMDX_ENOMEM, "preprocessing: out of memory");
    }
    return 0;
}

static void transform_rows(const mmdx_prep *pr, const mmdx_dataset *d, const size_t *rows, size_t lo,
                           size_t hi, uint32_t mask, double *out)
{
    size_t C = pr->n_cols, F = d->n_features, M = d->n_modalities;
    for (size_t r = lo; r < hi; r++) {
        size_t i = row_at(rows, r);
        const double *xr = d->x + i * F;
        const uint8_t *pres = d->present + i * M;
        double *o = out + r * C;
        for (size_t c = 0; c < C; c++) {
            uint32_t ref = pr->ref[c];
            double v;
            if (pr->kind[c] == MMDX_PREP_VALUE) {
                uint32_t m = d->feature_modality[ref];
                v = xr[ref];
                o[c] = (m != mask && pres[m] && isfinite(v)) ? (v - pr->mean[c]) / pr->scale[c] : 0.0;
                continue;
            }
            v = raw(pr, c, d, i, mask);
            o[c] = (v - pr->mean[c]) / pr->scale[c];
        }
    }
}

void mmdx_prep_transform(const mmdx_prep *pr, const mmdx_dataset *d, const size_t *rows,
                         size_t n_rows, uint32_t mask_modality, double *out, int n_threads)
{
    int T = (n_threads < 1 || n_rows < 4096) ? 1 : n_threads;
    if (T == 1) {
        transform_rows(pr, d, rows, 0, n_rows, mask_modality, out);
        return;
    }
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t chunk = (n_rows + (size_t)nt - 1) / (size_t)nt;
        size_t lo = (size_t)t * chunk > n_rows ? n_rows : (size_t)t * chunk;
        size_t hi = lo + chunk > n_rows ? n_rows : lo + chunk;
        transform_rows(pr, d, rows, lo, hi, mask_modality, out);
    }
}

int mmdx_prep_uses_modality(const mmdx_prep *pr, const mmdx_dataset *d, uint32_t m)
{
    for (size_t c = 0; c < pr->n_cols; c++) {
        uint32_t mod = pr->kind[c] == MMDX_PREP_ABSENT ? pr->ref[c] : d->feature_modality[pr->ref[c]];
        if (mod == m)
            return 1;
    }
    return 0;
}

void mmdx_prep_save(const mmdx_prep *pr, mmdx_blob_writer *w)
{
    static const char *names[] = {"value", "missing", "absent"};
    mmdx_blob_printf(w, "prep_columns %zu\n", pr->n_cols);
    for (size_t c = 0; c < pr->n_cols; c++)
        mmdx_blob_printf(w, "column %s %u %a %a\n", names[pr->kind[c]], (unsigned)pr->ref[c],
                         pr->mean[c], pr->scale[c]);
}

int mmdx_prep_load(mmdx_prep *pr, mmdx_blob_reader *r, size_t n_features, size_t n_modalities)
{
    memset(pr, 0, sizeof *pr);
    uint64_t n, ref;
    int rc = mmdx_blob_key(r, "prep_columns");
    if (!rc)
        rc = mmdx_blob_u64(r, &n, 3 * (uint64_t)n_features + n_modalities);
    if (!rc)
        rc = mmdx_blob_eol(r);
    if (rc)
        return rc;
    if (alloc_cols(pr, (size_t)n) != 0)
        return mmdx_error_set(r->err, MMDX_ENOMEM, "preprocessing: out of memory");
    for (size_t c = 0; c < pr->n_cols && !rc; c++) {
        char kind[16];
        rc = mmdx_blob_key(r, "column");
        if (!rc)
            rc = mmdx_blob_word(r, kind, sizeof kind);
        if (!rc)
            rc = mmdx_blob_u64(r, &ref, UINT32_MAX);
        if (!rc)
            rc = mmdx_blob_double(r, &pr->mean[c]);
        if (!rc)
            rc = mmdx_blob_double(r, &pr->scale[c]);
        if (!rc)
            rc = mmdx_blob_eol(r);
        if (rc)
            break;
        if (strcmp(kind, "value") == 0)
            pr->kind[c] = MMDX_PREP_VALUE;
        else if (strcmp(kind, "missing") == 0)
            pr->kind[c] = MMDX_PREP_MISSING;
        else if (strcmp(kind, "absent") == 0)
            pr->kind[c] = MMDX_PREP_ABSENT;
        else
            rc = mmdx_blob_fail(r, "unknown column kind '%s'", kind);
        size_t limit = pr->kind[c] == MMDX_PREP_ABSENT ? n_modalities : n_features;
        if (!rc && ref >= limit)
            rc = mmdx_blob_fail(r, "column refers to index %llu of %zu", (unsigned long long)ref, limit);
        if (!rc && !(pr->scale[c] > 0))
            rc = mmdx_blob_fail(r, "column scale must be positive");
        pr->ref[c] = (uint32_t)ref;
    }
    if (rc)
        mmdx_prep_free(pr);
    return rc;
}
