/*
 * retrieval/ann_faiss.cpp — the C API of ann.h over faiss::IndexHNSWFlat
 * (inner product). The only C++ of retrieval/: every FAISS or standard
 * library exception is caught here and becomes an mmdx error code with a
 * message.
 * SPDX-License-Identifier: Apache-2.0
 *
 * File format (little-endian), so that a truncated or damaged file is
 * refused before FAISS parses it (FAISS trusts the sizes it reads and would
 * allocate whatever a garbage length says):
 *   0  char[8]  "MMDXANN\0"
 *   8  uint32   format version (1)
 *  12  uint32   dim
 *  16  uint64   rows
 *  24  uint64   payload bytes
 *  32  uint32   CRC-32 (zlib) of the payload
 *  36  uint32   reserved, zero
 *  40  payload  faiss::write_index() of the IndexHNSWFlat
 * The CRC catches accidents (a partial copy, a bad disk), not tampering: an
 * index file is local state of a trusted installation.
 */
#include "ann.h"

#include <omp.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

extern "C" {
#include "atomic_file.h"
#include "error.h"
}

static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "FAISS labels are the int64_t ids of ann.h");

struct mmdx_ann {
    std::unique_ptr<faiss::IndexHNSWFlat> index;
    mmdx_ann_options opt;
    bool broken = false; /* a failed add may leave FAISS's graph half-updated */
};

namespace {

const char MAGIC[8] = {'M', 'M', 'D', 'X', 'A', 'N', 'N', '\0'};
const uint32_t FORMAT_VERSION = 1;
const size_t HEADER_BYTES = 40;
const uint32_t MAX_DIM = 4096;
/* FAISS's HNSW numbers its nodes with int32 */
const size_t MAX_ROWS = (size_t)INT32_MAX;

/* Sets this thread's OpenMP thread count for FAISS's parallel regions and
 * puts the previous value back on scope exit (exceptions included): the
 * setting is per thread, so other threads and later callers are unaffected. */
class ThreadScope {
  public:
    explicit ThreadScope(int n) : saved_(omp_get_max_threads())
    {
        if (n > 0)
            omp_set_num_threads(n);
    }
    ~ThreadScope() { omp_set_num_threads(saved_); }
    ThreadScope(const ThreadScope &) = delete;
    ThreadScope &operator=(const ThreadScope &) = delete;

  private:
    int saved_;
};

/* The one place exceptions become error codes. `what` names the operation
 * (and the file where there is one). */
template <typename F> int guarded(int faiss_code, const char *what, F &&f) noexcept
{
    try {
        return f();
    } catch (const faiss::FaissException &e) {
        return mmdx_fail(faiss_code, "%s: FAISS: %s", what, e.what());
    } catch (const std::bad_alloc &) {
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", what);
    } catch (const std::exception &e) {
        return mmdx_fail(MMDX_ERROR, "%s: %s", what, e.what());
    } catch (...) {
        return mmdx_fail(MMDX_ERROR, "%s: unknown C++ exception", what);
    }
}

int check_options(const mmdx_ann_options *o)
{
    if (o->m < 2 || o->m > 512)
        return mmdx_fail(MMDX_EINVAL, "ANN options: m = %d, expected 2..512", o->m);
    if (o->ef_construction < 1 || o->ef_construction > 1 << 20)
        return mmdx_fail(MMDX_EINVAL, "ANN options: ef_construction = %d, expected 1..1048576", o->ef_construction);
    if (o->ef_search < 1 || o->ef_search > 1 << 20)
        return mmdx_fail(MMDX_EINVAL, "ANN options: ef_search = %d, expected 1..1048576", o->ef_search);
    if (o->n_threads < 0)
        return mmdx_fail(MMDX_EINVAL, "ANN options: n_threads = %d, expected >= 0", o->n_threads);
    return 0;
}

int first_non_finite(const float *x, size_t n, uint32_t dim, size_t *row)
{
    for (size_t i = 0; i < n * dim; i++)
        if (!std::isfinite(x[i])) {
            *row = i / dim;
            return 1;
        }
    return 0;
}

void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* FAISS's output: the payload to a FILE*, counted and checksummed on the way. */
struct CrcWriter : faiss::IOWriter {
    FILE *f;
    uint64_t bytes = 0;
    uLong crc = crc32_z(0L, Z_NULL, 0);
    explicit CrcWriter(FILE *out) : f(out) { name = "mmdx ANN payload"; }
    size_t operator()(const void *ptr, size_t size, size_t nitems) override
    {
        size_t got = fwrite(ptr, size, nitems, f);
        crc = crc32_z(crc, static_cast<const Bytef *>(ptr), got * size);
        bytes += got * size;
        return got;
    }
};

/* FAISS's input: at most `left` bytes of the payload from a FILE*. */
struct LimitedReader : faiss::IOReader {
    FILE *f;
    uint64_t left;
    LimitedReader(FILE *in, uint64_t bytes) : f(in), left(bytes) { name = "mmdx ANN payload"; }
    size_t operator()(void *ptr, size_t size, size_t nitems) override
    {
        if (size == 0)
            return nitems;
        if (nitems > left / size)
            nitems = (size_t)(left / size);
        size_t got = fread(ptr, size, nitems, f);
        left -= got * size;
        return got;
    }
};

struct FileCloser {
    void operator()(FILE *f) const { fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

/* Header checks and the CRC pass; leaves the file positioned at the payload. */
int check_file(FILE *f, const char *path, uint32_t dim, uint64_t *rows, uint64_t *payload)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return mmdx_fail(MMDX_EIO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mmdx_fail(MMDX_EIO, "%s: not a regular file", path);
    unsigned char h[HEADER_BYTES];
    size_t got = fread(h, 1, sizeof h, f);
    if (got < sizeof h && ferror(f))
        return mmdx_fail(MMDX_EIO, "%s: read error: %s", path, strerror(errno));
    if (got < sizeof h || memcmp(h, MAGIC, sizeof MAGIC) != 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: not an mmdx ANN index file", path);
    uint32_t version = get32(h + 8), file_dim = get32(h + 12), crc = get32(h + 32), reserved = get32(h + 36);
    *rows = get64(h + 16);
    *payload = get64(h + 24);
    if (version != FORMAT_VERSION)
        return mmdx_fail(MMDX_EUNSUPPORTED, "%s: ANN index format version %u, this build reads %u", path, version,
                         FORMAT_VERSION);
    if (reserved != 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: reserved header field is not zero", path);
    if (file_dim != dim)
        return mmdx_fail(MMDX_EFORMAT, "%s: index of %u components, expected %u", path, file_dim, dim);
    if (*rows > MAX_ROWS)
        return mmdx_fail(MMDX_EFORMAT, "%s: %llu rows in the header, at most %zu", path,
                         (unsigned long long)*rows, MAX_ROWS);
    uint64_t in_file = (uint64_t)st.st_size - HEADER_BYTES; /* fread got the whole header */
    if (*payload != in_file)
        return mmdx_fail(MMDX_EFORMAT, "%s: %llu payload bytes in the header, %llu in the file (truncated?)", path,
                         (unsigned long long)*payload, (unsigned long long)in_file);
    std::unique_ptr<unsigned char[]> buf(new unsigned char[1 << 20]);
    uLong c = crc32_z(0L, Z_NULL, 0);
    uint64_t seen = 0;
    while ((got = fread(buf.get(), 1, 1 << 20, f)) > 0) {
        c = crc32_z(c, buf.get(), got);
        seen += got;
    }
    if (ferror(f))
        return mmdx_fail(MMDX_EIO, "%s: read error: %s", path, strerror(errno));
    if (seen != *payload)
        return mmdx_fail(MMDX_EFORMAT, "%s: payload changed size while read", path);
    if ((uint32_t)c != crc)
        return mmdx_fail(MMDX_EFORMAT, "%s: checksum mismatch: the index file is damaged", path);
    if (fseek(f, (long)HEADER_BYTES, SEEK_SET) != 0)
        return mmdx_fail(MMDX_EIO, "%s: cannot seek: %s", path, strerror(errno));
    return 0;
}

/* What FAISS read must be what mmdx_ann_save() writes. */
int check_index(const faiss::Index *idx, const char *path, uint32_t dim, uint64_t rows)
{
    auto hnsw = dynamic_cast<const faiss::IndexHNSWFlat *>(idx);
    if (!hnsw || !dynamic_cast<const faiss::IndexFlat *>(hnsw->storage))
        return mmdx_fail(MMDX_EFORMAT, "%s: not an HNSW index over flat vectors", path);
    if (hnsw->metric_type != faiss::METRIC_INNER_PRODUCT || hnsw->storage->metric_type != faiss::METRIC_INNER_PRODUCT)
        return mmdx_fail(MMDX_EFORMAT, "%s: index metric is not inner product", path);
    if (hnsw->d != (int)dim || hnsw->storage->d != (int)dim)
        return mmdx_fail(MMDX_EFORMAT, "%s: index of %d components, expected %u", path, hnsw->d, dim);
    if (hnsw->hnsw.cum_nneighbor_per_level.size() < 2)
        return mmdx_fail(MMDX_EFORMAT, "%s: HNSW graph without levels", path);
    if ((uint64_t)hnsw->ntotal != rows || hnsw->storage->ntotal != hnsw->ntotal ||
        hnsw->hnsw.levels.size() != (size_t)rows)
        return mmdx_fail(MMDX_EFORMAT, "%s: index holds %lld rows, the header says %llu", path,
                         (long long)hnsw->ntotal, (unsigned long long)rows);
    return 0;
}

} // namespace

extern "C" {

void mmdx_ann_options_init(mmdx_ann_options *o)
{
    o->m = 32;
    o->ef_construction = 80;
    o->ef_search = 128;
    o->n_threads = 0;
}

int mmdx_ann_new(mmdx_ann **out, uint32_t dim, const mmdx_ann_options *o)
{
    *out = nullptr;
    mmdx_ann_options def;
    mmdx_ann_options_init(&def);
    if (!o)
        o = &def;
    if (dim < 1 || dim > MAX_DIM)
        return mmdx_fail(MMDX_EINVAL, "ANN index: dimension %u, expected 1..%u", dim, MAX_DIM);
    int rc = check_options(o);
    if (rc < 0)
        return rc;
    return guarded(MMDX_ERROR, "ANN index", [&] {
        std::unique_ptr<mmdx_ann> a(new mmdx_ann);
        a->opt = *o;
        a->index.reset(new faiss::IndexHNSWFlat((int)dim, o->m, faiss::METRIC_INNER_PRODUCT));
        a->index->hnsw.efConstruction = o->ef_construction;
        a->index->hnsw.efSearch = o->ef_search;
        *out = a.release();
        return 0;
    });
}

int mmdx_ann_add(mmdx_ann *a, const float *x, size_t n)
{
    if (a->broken)
        return mmdx_fail(MMDX_ERROR, "ANN index: unusable after an earlier failed add");
    if (n == 0)
        return 0;
    if (!x)
        return mmdx_fail(MMDX_EINVAL, "ANN add: NULL rows");
    size_t have = (size_t)a->index->ntotal;
    if (n > MAX_ROWS - have)
        return mmdx_fail(MMDX_EINVAL, "ANN add: %zu + %zu rows exceed FAISS HNSW's limit of %zu", have, n,
                         MAX_ROWS);
    size_t bad;
    if (first_non_finite(x, n, (uint32_t)a->index->d, &bad))
        return mmdx_fail(MMDX_EINVAL, "ANN add: row %zu (id %zu) has a non-finite component", bad, have + bad);
    int rc = guarded(MMDX_ERROR, "ANN add", [&] {
        ThreadScope threads(a->opt.n_threads);
        a->index->add((faiss::Index::idx_t)n, x);
        return 0;
    });
    if (rc < 0)
        a->broken = true;
    return rc;
}

size_t mmdx_ann_count(const mmdx_ann *a) { return (size_t)a->index->ntotal; }

uint32_t mmdx_ann_dim(const mmdx_ann *a) { return (uint32_t)a->index->d; }

int mmdx_ann_search(const mmdx_ann *a, const float *q, size_t nq, size_t k, int64_t *ids, float *sims)
{
    if (k == 0)
        return mmdx_fail(MMDX_EINVAL, "ANN search: k must be at least 1");
    if (a->broken)
        return mmdx_fail(MMDX_ERROR, "ANN index: unusable after an earlier failed add");
    if (nq == 0)
        return 0;
    if (!q || !ids || !sims)
        return mmdx_fail(MMDX_EINVAL, "ANN search: NULL array");
    if (nq > SIZE_MAX / k / sizeof(float) || k > (size_t)INT_MAX)
        return mmdx_fail(MMDX_EINVAL, "ANN search: %zu queries x k = %zu is too large", nq, k);
    uint32_t dim = (uint32_t)a->index->d;
    size_t bad;
    if (first_non_finite(q, nq, dim, &bad))
        return mmdx_fail(MMDX_EINVAL, "ANN search: query %zu has a non-finite component", bad);
    size_t have = (size_t)a->index->ntotal;
    size_t kk = k < have ? k : have; /* FAISS is asked only for rows that exist */
    return guarded(MMDX_ERROR, "ANN search", [&] {
        if (kk > 0) {
            /* One thread per query at most: FAISS opens a parallel region (and a
             * visited table per thread) even for a single query. */
            int nt = a->opt.n_threads > 0 ? a->opt.n_threads : omp_get_max_threads();
            if ((size_t)nt > nq)
                nt = (int)nq;
            ThreadScope threads(nt);
            if (kk == k) {
                a->index->search((faiss::Index::idx_t)nq, q, (faiss::Index::idx_t)k, sims, ids);
            } else {
                std::unique_ptr<float[]> s(new float[nq * kk]);
                std::unique_ptr<faiss::Index::idx_t[]> l(new faiss::Index::idx_t[nq * kk]);
                a->index->search((faiss::Index::idx_t)nq, q, (faiss::Index::idx_t)kk, s.get(), l.get());
                for (size_t i = 0; i < nq; i++)
                    for (size_t j = 0; j < k; j++) {
                        ids[i * k + j] = j < kk ? l[i * kk + j] : -1;
                        sims[i * k + j] = j < kk ? s[i * kk + j] : -INFINITY;
                    }
            }
        }
        for (size_t i = 0; i < nq * k; i++)
            if (kk == 0 || ids[i] < 0) {
                ids[i] = -1;
                sims[i] = -INFINITY;
            }
        return 0;
    });
}

int mmdx_ann_save(const mmdx_ann *a, const char *path)
{
    if (!path || strcmp(path, "-") == 0) /* mmdx_atomic_file's standard output cannot seek back */
        return mmdx_fail(MMDX_EINVAL, "ANN save: a file name is needed");
    if (a->broken)
        return mmdx_fail(MMDX_ERROR, "%s: ANN index unusable after an earlier failed add", path);
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc < 0)
        return rc;
    rc = guarded(MMDX_EIO, path, [&] {
        unsigned char h[HEADER_BYTES] = {0};
        if (fwrite(h, 1, sizeof h, af.f) != sizeof h)
            return mmdx_fail(MMDX_EIO, "%s: write error: %s", path, strerror(errno));
        CrcWriter w(af.f);
        faiss::write_index(a->index.get(), &w);
        memcpy(h, MAGIC, sizeof MAGIC);
        put32(h + 8, FORMAT_VERSION);
        put32(h + 12, (uint32_t)a->index->d);
        put64(h + 16, (uint64_t)a->index->ntotal);
        put64(h + 24, w.bytes);
        put32(h + 32, (uint32_t)w.crc);
        if (fseek(af.f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, af.f) != sizeof h)
            return mmdx_fail(MMDX_EIO, "%s: write error: %s", path, strerror(errno));
        return 0;
    });
    if (rc < 0) {
        mmdx_atomic_file_abort(&af);
        return rc;
    }
    return mmdx_atomic_file_commit(&af);
}

int mmdx_ann_load(mmdx_ann **out, const char *path, uint32_t dim, const mmdx_ann_options *o)
{
    *out = nullptr;
    mmdx_ann_options opt;
    mmdx_ann_options_init(&opt);
    if (o) {
        opt.ef_search = o->ef_search;
        opt.n_threads = o->n_threads;
    }
    int rc = check_options(&opt);
    if (rc < 0)
        return rc;
    if (dim < 1 || dim > MAX_DIM)
        return mmdx_fail(MMDX_EINVAL, "ANN load: dimension %u, expected 1..%u", dim, MAX_DIM);
    File f(fopen(path, "rb"));
    if (!f)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    uint64_t rows = 0, payload = 0;
    if ((rc = check_file(f.get(), path, dim, &rows, &payload)) < 0)
        return rc;
    return guarded(MMDX_EFORMAT, path, [&] {
        LimitedReader r(f.get(), payload);
        std::unique_ptr<faiss::Index> idx(faiss::read_index(&r));
        int bad = check_index(idx.get(), path, dim, rows);
        if (bad < 0)
            return bad;
        if (r.left != 0)
            return mmdx_fail(MMDX_EFORMAT, "%s: %llu bytes after the index", path, (unsigned long long)r.left);
        std::unique_ptr<mmdx_ann> a(new mmdx_ann);
        a->index.reset(static_cast<faiss::IndexHNSWFlat *>(idx.release()));
        opt.ef_construction = a->index->hnsw.efConstruction;
        opt.m = a->index->hnsw.nb_neighbors(0) / 2; /* level 0 has 2 m links */
        a->opt = opt;
        a->index->hnsw.efSearch = opt.ef_search;
        *out = a.release();
        return 0;
    });
}

void mmdx_ann_free(mmdx_ann *a) { delete a; }

} // extern "C"
