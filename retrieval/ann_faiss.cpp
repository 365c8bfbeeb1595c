// SPDX-License-Identifier: Apache-2.0
// The only C++ of retrieval/: FAISS's HNSW index (inner product) behind retrieval/ann.h.
// Every FAISS call is wrapped: no exception crosses into C.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include <faiss/IndexHNSW.h>
#include <faiss/index_io.h>
#include <faiss/impl/FaissException.h>
#include <unistd.h>

extern "C" {
#include "ann.h"
#include "error.h"
}

struct mmdx_ann {
    faiss::IndexHNSWFlat *index;
};

extern "C" void mmdx_ann_options_init(mmdx_ann_options *o)
{
    o->m = 32;
    o->ef_construction = 80;
    o->ef_search = 128;
    o->n_threads = 0;
}

template <typename F> static int guarded(const char *what, F f)
{
    try {
        return f();
    } catch (const std::bad_alloc &) {
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", what);
    } catch (const std::exception &e) {
        return mmdx_fail(MMDX_ERROR, "%s: %s", what, e.what());
    }
}

extern "C" int mmdx_ann_new(mmdx_ann **out, uint32_t dim, const mmdx_ann_options *o)
{
    *out = nullptr;
    mmdx_ann_options def;
    mmdx_ann_options_init(&def);
    if (!o)
        o = &def;
    if (dim == 0 || dim > 4096 || o->m < 4 || o->m > 256 || o->ef_construction < 8 || o->ef_search < 1)
        return mmdx_fail(MMDX_EINVAL, "index: %u components, M %d, efConstruction %d, efSearch %d", dim, o->m,
                         o->ef_construction, o->ef_search);
    return guarded("index: create", [&] {
        mmdx_ann *a = new mmdx_ann;
        a->index = new faiss::IndexHNSWFlat((int)dim, o->m, faiss::METRIC_INNER_PRODUCT);
        a->index->hnsw.efConstruction = o->ef_construction;
        a->index->hnsw.efSearch = o->ef_search;
        *out = a;
        return 0;
    });
}

extern "C" int mmdx_ann_add(mmdx_ann *a, const float *x, size_t n)
{
    return guarded("index: add", [&] {
        if (n)
            a->index->add((faiss::Index::idx_t)n, x);
        return 0;
    });
}

extern "C" size_t mmdx_ann_count(const mmdx_ann *a)
{
    return (size_t)a->index->ntotal;
}

extern "C" uint32_t mmdx_ann_dim(const mmdx_ann *a)
{
    return (uint32_t)a->index->d;
}

extern "C" int mmdx_ann_search(const mmdx_ann *a, const float *q, size_t nq, size_t k, int64_t *ids, float *sims)
{
    if (k == 0)
        return mmdx_fail(MMDX_EINVAL, "index: k must be at least 1");
    return guarded("index: search", [&] {
        static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "FAISS ids are 64-bit");
        // FAISS searches with max(efSearch, k) candidates; efSearch is set once, so concurrent searches are safe
        a->index->search((faiss::Index::idx_t)nq, q, (faiss::Index::idx_t)k, sims, reinterpret_cast<faiss::Index::idx_t *>(ids));
        return 0;
    });
}

extern "C" int mmdx_ann_save(const mmdx_ann *a, const char *path)
{
    std::string tmp = std::string(path) + ".tmp." + std::to_string((long)getpid());
    int rc = guarded(path, [&] {
        faiss::write_index(a->index, tmp.c_str());
        return 0;
    });
    if (rc == 0 && rename(tmp.c_str(), path) != 0)
        rc = mmdx_fail(MMDX_EIO, "%s: %s", path, strerror(errno));
    if (rc < 0) {
        unlink(tmp.c_str());
        return rc == MMDX_ENOMEM ? rc : mmdx_fail(MMDX_EIO, "%s: cannot write the index (%s)", path, mmdx_last_error());
    }
    return 0;
}

extern "C" int mmdx_ann_load(mmdx_ann **out, const char *path, uint32_t dim, const mmdx_ann_options *o)
{
    *out = nullptr;
    if (access(path, F_OK) != 0)
        return mmdx_fail(MMDX_ENOTFOUND, "%s: no such index", path);
    faiss::Index *idx = nullptr;
    int rc = guarded(path, [&] {
        idx = faiss::read_index(path);
        return 0;
    });
    if (rc == MMDX_ENOMEM)
        return rc;
    if (rc < 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: not a readable FAISS index", path);
    auto *h = dynamic_cast<faiss::IndexHNSWFlat *>(idx);
    if (!h || h->metric_type != faiss::METRIC_INNER_PRODUCT || h->d != (int)dim) {
        delete idx;
        return mmdx_fail(MMDX_EFORMAT, "%s: not an inner-product HNSW index of %u components", path, dim);
    }
    mmdx_ann_options def;
    mmdx_ann_options_init(&def);
    h->hnsw.efSearch = (o ? o : &def)->ef_search;
    return guarded(path, [&] {
        *out = new mmdx_ann{h};
        return 0;
    });
}

extern "C" void mmdx_ann_free(mmdx_ann *a)
{
    if (!a)
        return;
    delete a->index;
    delete a;
}
