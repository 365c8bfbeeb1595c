/* SPDX-License-Identifier: Apache-2.0 */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "strmap.h"
#include "load.h"
#include "spec.h"

typedef struct indexed_input {
    char *path;
    mmdx_records_store store;
} indexed_input;

struct mmdx_records {
    mmdx_records_spec *spec;
    indexed_input *inputs;
    size_t n_inputs, cap_inputs;
    mmdx_strmap *by_path; /* path -> index in inputs */
    int threads; /* for reading indexed inputs; 0 = OpenMP default, 1 by default */
    void (*progress)(void *ud, size_t bytes);
    void *progress_ud;
};

int mmdx_records_new(mmdx_records **out, const char *spec_path)
{
    *out = NULL;
    mmdx_records *r = calloc(1, sizeof *r);
    if (!r)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    /* One thread by default: on a loaded machine the parallel parse costs more than it saves
       (docs/BENCHMARKS.md); mmdx_records_set_threads() opts in. */
    r->threads = 1;
    if (!(r->by_path = mmdx_strmap_new())) {
        free(r);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    int rc = spec_path ? mmdx_records_spec_load(&r->spec, spec_path) : mmdx_records_spec_default(&r->spec);
    if (rc < 0) {
        mmdx_strmap_free(r->by_path);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void mmdx_records_free(mmdx_records *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_inputs; i++) {
        free(r->inputs[i].path);
        mmdx_records_store_clear(&r->inputs[i].store);
    }
    free(r->inputs);
    mmdx_strmap_free(r->by_path);
    mmdx_records_spec_free(r->spec);
    free(r);
}

size_t mmdx_records_features(const mmdx_records *r, const char *const **names)
{
    *names = (const char *const *)r->spec->features;
    return r->spec->n_features;
}

const char *mmdx_records_spec_name(const mmdx_records *r) { return r->spec->name; }

void mmdx_records_set_progress(mmdx_records *r, void (*cb)(void *ud, size_t bytes), void *ud)
{
    r->progress = cb;
    r->progress_ud = ud;
}

void mmdx_records_set_threads(mmdx_records *r, int threads) { r->threads = threads > 0 ? threads : 0; }

static const indexed_input *find_input(const mmdx_records *r, const char *path)
{
    size_t i;
    return mmdx_strmap_get(r->by_path, path, &i) ? &r->inputs[i] : NULL;
}

int mmdx_records_is_indexed(const mmdx_records *r, const char *path) { return find_input(r, path) != NULL; }

int mmdx_records_index(mmdx_records *r, const char *path)
{
    if (find_input(r, path))
        return 0;
    if (mmdx_array_reserve(&r->inputs, &r->cap_inputs, r->n_inputs + 1, sizeof *r->inputs, 4, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    indexed_input *in = &r->inputs[r->n_inputs];
    if (mmdx_records_store_init(&in->store, r->spec) < 0 || !(in->path = strdup(path))) {
        mmdx_records_store_clear(&in->store);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    in->store.progress = r->progress;
    in->store.progress_ud = r->progress_ud;
    int rc = mmdx_records_load(&in->store, path, r->threads);
    if (rc == 0 && mmdx_strmap_put(r->by_path, path, r->n_inputs, NULL) < 0)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc < 0) {
        free(in->path);
        mmdx_records_store_clear(&in->store);
        return rc;
    }
    r->n_inputs++;
    return 0;
}

static int encode_from(const mmdx_records *r, const mmdx_records_store *st, const char *patient_id,
                       const mmdx_fhir_date *index, double *values, int32_t *present)
{
    const mmdx_records_patient *p = mmdx_records_store_find(st, patient_id);
    if (!p) {
        *present = 0;
        return 0;
    }
    if (p->error)
        return mmdx_fail(MMDX_EFORMAT, "%s", p->error);
    mmdx_records_eval(r->spec, p, index, values);
    *present = 1;
    return 0;
}

int mmdx_records_encode(const mmdx_records *r, const char *path, const char *patient_id,
                        const mmdx_fhir_date *index, double *values, int32_t *present, mmdx_records_stats *stats)
{
    *present = 0;
    const indexed_input *in = find_input(r, path);
    if (in) {
        if (stats)
            *stats = in->store.stats;
        return encode_from(r, &in->store, patient_id, index, values, present);
    }
    mmdx_records_store st;
    if (mmdx_records_store_init(&st, r->spec) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    /* per-patient inputs: the caller parallelises over patients */
    int rc = mmdx_records_load(&st, path, 1);
    if (rc == 0)
        rc = encode_from(r, &st, patient_id, index, values, present);
    if (stats)
        *stats = st.stats;
    mmdx_records_store_clear(&st);
    return rc;
}

int mmdx_records_list_patients(mmdx_records *r, const char *path, const char ***ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    int rc = mmdx_records_index(r, path);
    if (rc < 0)
        return rc;
    const indexed_input *in = find_input(r, path);
    const char **list = calloc(in->store.n_patients ? in->store.n_patients : 1, sizeof *list);
    if (!list)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < in->store.n_patients; i++)
        if (!in->store.patients[i].orphan)
            list[k++] = in->store.patients[i].id;
    *ids = list;
    *n = k;
    return 0;
}
