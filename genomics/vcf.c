/* SPDX-License-Identifier: Apache-2.0 */
#include "vcf_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "chrom.h"

#define MMDX_VCF__FATAL_ERRCODES \
    (BCF_ERR_NCOLS | BCF_ERR_LIMITS | BCF_ERR_CHAR | BCF_ERR_CTG_INVALID | BCF_ERR_TAG_INVALID)

void mmdx_vcf__where(const mmdx_vcf *v, char *buf, size_t size)
{
    if (v->site.line > 0 && !v->is_bcf)
        snprintf(buf, size, "%s: line %ld", v->path, v->site.line);
    else if (v->site.chrom)
        snprintf(buf, size, "%s: record %s:%lld", v->path, v->site.chrom, (long long)v->site.pos);
    else
        snprintf(buf, size, "%s", v->path);
}

/* Whether htslib's last read failed in the compression layer. With worker
   threads a BGZF block that does not inflate ends the stream as an end of
   file would, with only the error flags set: trusting -1 would take a
   corrupt file for a short one. */
static int stream_failed(const mmdx_vcf *v)
{
    return v->fp->is_bgzf && v->fp->fp.bgzf->errcode;
}

/* The error for a read that stopped early; `when` says where ("in the header"). */
static int stream_error(const mmdx_vcf *v, mmdx_error *err, const char *when)
{
    int e = v->fp->is_bgzf ? v->fp->fp.bgzf->errcode : 0;
    if (e & (BGZF_ERR_ZLIB | BGZF_ERR_CRC | BGZF_ERR_HEADER))
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: %s: corrupt BGZF block (%s)", v->path, when,
                              e & BGZF_ERR_HEADER ? "bad block header" : "the data do not decompress");
    if (e & BGZF_ERR_IO)
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: %s: BGZF block cut short (file truncated?)", v->path, when);
    return mmdx_error_set(err, MMDX_EIO, "%s: %s: read error%s%s", v->path, when, errno ? ": " : "",
                          errno ? strerror(errno) : "");
}

/* Whether a "##key=<...>" header line (n bytes) closes its '<' outside quotes; other lines pass. */
static int structured_line_complete(const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n);
    if (!eq || (size_t)(eq - p) + 1 >= n || eq[1] != '<')
        return 1;
    int quoted = 0, closed = 0;
    for (size_t i = (size_t)(eq - p) + 2; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t')
            closed = 0;
        if (quoted && p[i] == '\\' && i + 1 < n)
            i++;
        else if (p[i] == '"')
            quoted = !quoted;
        else if (!quoted && p[i] == '>')
            closed = 1;
    }
    return closed && !quoted;
}

static int read_text_header(mmdx_vcf *v, mmdx_error *err)
{
    /* Read the header ourselves (rather than bcf_hdr_read) to know how many
       physical lines it spans, so record errors can name their line. */
    kstring_t txt = {0, 0, NULL};
    int ret;
    v->lineno = 0;
    while ((ret = hts_getline(v->fp, 2 /* KS_SEP_LINE */, &v->line)) >= 0) {
        v->lineno++;
        if (v->line.l > 0 && v->line.s[v->line.l - 1] == '\r')
            v->line.s[--v->line.l] = '\0'; /* files written on Windows */
        if (v->line.l == 0 || v->line.s[0] != '#') {
            v->pending = 1;
            break;
        }
        if (kputsn(v->line.s, v->line.l, &txt) < 0 || kputc('\n', &txt) < 0) {
            free(txt.s);
            return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory reading the header", v->path);
        }
    }
    if (ret < -1 || (ret == -1 && stream_failed(v))) {
        free(txt.s);
        return stream_error(v, err, "in the header");
    }
    if (!txt.s || strncmp(txt.s, "##fileformat=VCF", 16) != 0) {
        free(txt.s);
        return mmdx_error_set(err, MMDX_EFORMAT,
                              "%s: line 1: not a VCF file (no ##fileformat=VCF header line)", v->path);
    }
    if (!strstr(txt.s, "\n#CHROM")) {
        free(txt.s);
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: the header has no #CHROM line", v->path);
    }
    v->hdr = bcf_hdr_init("r");
    if (!v->hdr) {
        free(txt.s);
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", v->path);
    }
    ret = bcf_hdr_parse(v->hdr, txt.s);
    if (ret < 0) {
        free(txt.s);
        return mmdx_error_set(err, MMDX_EFORMAT,
                              "%s: malformed VCF header (a ##meta line or the #CHROM line is invalid)",
                              v->path);
    }
    /* htslib reads an incomplete ##key=<...> line "anyway" (with a warning,
       silenced here), taking the rest of the header into an unclosed quote
       or losing an INFO or FORMAT definition. Refuse it, naming the line. */
    long line = 1;
    for (const char *p = txt.s; p[0] == '#' && p[1] == '#'; line++) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (!structured_line_complete(p, n)) {
            ret = mmdx_error_set(err, MMDX_EFORMAT,
                                 "%s: line %ld: malformed header line (no closing '>' or an unclosed quote): "
                                 "'%.*s%s'",
                                 v->path, line, n > 80 ? 80 : (int)n, p, n > 80 ? "..." : "");
            break;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    free(txt.s);
    return ret < 0 ? ret : 0;
}

int mmdx_vcf_open(mmdx_vcf **out, const char *path, int n_threads, int fast_text, mmdx_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return mmdx_error_set(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: %s", path,
                              strerror(errno));
    if (S_ISDIR(st.st_mode))
        return mmdx_error_set(err, MMDX_EINVAL, "%s: is a folder, not a VCF/BCF file", path);
    mmdx_vcf *v = calloc(1, sizeof *v);
    if (!v || !(v->path = strdup(path))) {
        free(v);
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", path);
    }
    v->fast_text = fast_text;
    int rc;
    v->fp = hts_open(path, "r");
    if (!v->fp) {
        rc = mmdx_error_set(err, MMDX_EIO, "%s: cannot open: %s", path,
                            errno ? strerror(errno) : "unknown error");
        goto fail;
    }
    const htsFormat *fmt = hts_get_format(v->fp);
    if (fmt->format == bcf) {
        v->is_bcf = 1;
    } else if (fmt->format != vcf) {
        rc = mmdx_error_set(err, MMDX_EFORMAT,
                            "%s: not a VCF or BCF file (no ##fileformat=VCF header, or another format)",
                            path);
        goto fail;
    }
    /* A copy cut short at a block boundary would read as a shorter, valid
       file: the end-of-file block that BGZF writers append tells. */
    if (fmt->compression == bgzf && bgzf_check_EOF(v->fp->fp.bgzf) == 0) {
        rc = mmdx_error_set(err, MMDX_EFORMAT,
                            "%s: truncated: the BGZF end-of-file block is missing (an incomplete copy?)", path);
        goto fail;
    }
    if (n_threads > 1 && fmt->compression == bgzf)
        hts_set_threads(v->fp, n_threads);
    if (v->is_bcf) {
        v->hdr = bcf_hdr_read(v->fp);
        if (!v->hdr) {
            rc = mmdx_error_set(err, MMDX_EFORMAT, "%s: malformed BCF header", path);
            goto fail;
        }
        v->idx = bcf_index_load3(path, NULL, HTS_IDX_SILENT_FAIL);
    } else {
        if ((rc = read_text_header(v, err)) < 0)
            goto fail;
        if (fmt->compression == bgzf)
            v->tbx = tbx_index_load3(path, NULL, HTS_IDX_SILENT_FAIL);
        /* the direct path reads its own lines; fast_text = 0 keeps htslib's whole way */
        if (fast_text && mmdx_vcf__lines_init(v) < 0) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
    }
    v->n_samples = (size_t)bcf_hdr_nsamples(v->hdr);
    v->rec = bcf_init();
    v->gt = malloc((v->n_samples ? v->n_samples : 1) * 2 * sizeof *v->gt);
    v->ivals = malloc((v->n_samples ? v->n_samples : 1) * sizeof *v->ivals);
    if (!v->rec || !v->gt || !v->ivals) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    *out = v;
    return 0;
fail:
    mmdx_vcf_free(v);
    return rc;
}

void mmdx_vcf_free(mmdx_vcf *v)
{
    if (!v)
        return;
    if (v->itr)
        hts_itr_destroy(v->itr);
    if (v->tbx)
        tbx_destroy(v->tbx);
    if (v->idx)
        hts_idx_destroy(v->idx);
    if (v->rec)
        bcf_destroy(v->rec);
    if (v->hdr)
        bcf_hdr_destroy(v->hdr);
    if (v->fp)
        hts_close(v->fp);
    free(v->line.s);
    free(v->chrom.s);
    free(v->id.s);
    free(v->allele_text.s);
    free(v->info_text.s);
    free(v->alleles);
    free(v->hgt);
    free(v->hf);
    free(v->hi);
    free(v->hs);
    free(v->gt);
    free(v->ivals);
    free(v->regions);
    free(v->buf);
    free(v->path);
    free(v);
}

const char *mmdx_vcf_path(const mmdx_vcf *v) { return v->path; }
size_t mmdx_vcf_n_samples(const mmdx_vcf *v) { return v->n_samples; }
const char *mmdx_vcf_sample_name(const mmdx_vcf *v, size_t i) { return v->hdr->samples[i]; }
int mmdx_vcf_has_index(const mmdx_vcf *v) { return v->tbx != NULL || v->idx != NULL; }

long mmdx_vcf_sample_index(const mmdx_vcf *v, const char *name)
{
    int i = bcf_hdr_id2int(v->hdr, BCF_DT_SAMPLE, name);
    return i < 0 ? -1 : (long)i;
}

int64_t mmdx_vcf_indexed_records(const mmdx_vcf *v)
{
    hts_idx_t *idx = v->tbx ? v->tbx->idx : v->idx;
    if (!idx)
        return -1;
    int n = 0;
    const char **names = v->tbx ? tbx_seqnames(v->tbx, &n) : bcf_hdr_seqnames(v->hdr, &n);
    free(names);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        uint64_t mapped = 0, unmapped = 0;
        if (hts_idx_get_stat(idx, i, &mapped, &unmapped) < 0)
            continue;
        total += (int64_t)mapped;
    }
    return total > 0 ? total : -1;
}

void mmdx_vcf_set_filter(mmdx_vcf *v, mmdx_vcf_filter_fn fn, void *ctx)
{
    v->filter = fn;
    v->filter_ctx = ctx;
}

/* The index's id for a chromosome, trying the name as given and its canonical form against each sequence. */
static int region_tid(mmdx_vcf *v, const char *chrom)
{
    int tid = v->tbx ? tbx_name2id(v->tbx, chrom) : bcf_hdr_name2id(v->hdr, chrom);
    if (tid >= 0)
        return tid;
    char want[MMDX_CHROM_MAX], have[MMDX_CHROM_MAX];
    mmdx_chrom_canonical(chrom, strlen(chrom), want);
    int n = 0;
    const char **names = v->tbx ? tbx_seqnames(v->tbx, &n) : bcf_hdr_seqnames(v->hdr, &n);
    if (!names)
        return -1;
    for (int i = 0; i < n; i++) {
        mmdx_chrom_canonical(names[i], strlen(names[i]), have);
        if (strcmp(want, have) == 0) {
            tid = v->tbx ? tbx_name2id(v->tbx, names[i]) : bcf_hdr_name2id(v->hdr, names[i]);
            break;
        }
    }
    free(names);
    return tid;
}

static int region_cmp(const void *a, const void *b)
{
    const mmdx_vcf__region *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->beg != y->beg)
        return x->beg < y->beg ? -1 : 1;
    return 0;
}

int mmdx_vcf_set_regions(mmdx_vcf *v, const mmdx_region *regions, size_t n, mmdx_error *err)
{
    if (!mmdx_vcf_has_index(v))
        return mmdx_error_set(err, MMDX_EUNSUPPORTED,
                              "%s: a region query needs an index (.tbi or .csi); create one with "
                              "`tabix -p vcf` or `bcftools index`, or bgzip the file first",
                              v->path);
    free(v->regions);
    v->regions = malloc((n ? n : 1) * sizeof *v->regions);
    if (!v->regions)
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", v->path);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int tid = region_tid(v, regions[i].chrom);
        if (tid < 0 || regions[i].end < regions[i].beg)
            continue; /* chromosome absent from the file: nothing to read there */
        v->regions[k].tid = tid;
        v->regions[k].beg = regions[i].beg < 1 ? 1 : regions[i].beg;
        v->regions[k].end = regions[i].end;
        k++;
    }
    qsort(v->regions, k, sizeof *v->regions, region_cmp);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && v->regions[m - 1].tid == v->regions[i].tid &&
            v->regions[i].beg <= v->regions[m - 1].end + 1) {
            if (v->regions[i].end > v->regions[m - 1].end)
                v->regions[m - 1].end = v->regions[i].end;
        } else {
            v->regions[m++] = v->regions[i];
        }
    }
    v->n_regions = m;
    v->region_next = 0;
    v->use_regions = 1;
    return 0;
}

static int ensure_alleles(mmdx_vcf *v, size_t n, mmdx_error *err)
{
    if (mmdx_array_reserve(&v->alleles, &v->allele_cap, n, sizeof *v->alleles, 4, 0) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", v->path);
    return 0;
}

/* Fill the site from the text columns of v->line. */
static int text_site(mmdx_vcf *v, mmdx_error *err)
{
    const char *s = v->line.s;
    v->chrom.l = v->id.l = v->allele_text.l = 0;
    if (kputsn(s + v->col[0], v->col_len[0], &v->chrom) < 0 ||
        kputsn(s + v->col[2], v->col_len[2], &v->id) < 0 ||
        kputsn(s + v->col[3], v->col_len[3], &v->allele_text) < 0 || kputc(',', &v->allele_text) < 0 ||
        kputsn(s + v->col[4], v->col_len[4], &v->allele_text) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", v->path);
    /* REF,ALT1,ALT2...; ALT "." (no alternate) gives a single allele */
    size_t n = 1;
    for (size_t i = 0; i < v->allele_text.l; i++)
        if (v->allele_text.s[i] == ',')
            n++;
    if (ensure_alleles(v, n, err) < 0)
        return MMDX_ENOMEM;
    char *p = v->allele_text.s;
    size_t k = 0;
    for (;;) {
        char *c = strchr(p, ',');
        if (c)
            *c = '\0';
        v->alleles[k++] = p;
        if (!c)
            break;
        p = c + 1;
    }
    if (k == 2 && strcmp(v->alleles[1], ".") == 0)
        k = 1;
    for (size_t i = 0; i < k; i++)
        if (v->alleles[i][0] == '\0') {
            char where[512];
            mmdx_vcf__where(v, where, sizeof where);
            return mmdx_error_set(err, MMDX_EFORMAT, "%s: empty allele in REF/ALT", where);
        }
    const char *f = s + v->col[6];
    size_t fl = v->col_len[6];
    v->site.chrom = v->chrom.s;
    v->site.id = v->id.s;
    v->site.n_alleles = k;
    v->site.alleles = (const char *const *)v->alleles;
    v->site.filter_pass = (fl == 1 && f[0] == '.') || (fl == 4 && memcmp(f, "PASS", 4) == 0);
    return 0;
}

static int bcf_site(mmdx_vcf *v, mmdx_error *err)
{
    bcf1_t *r = v->rec;
    if (bcf_unpack(r, BCF_UN_STR | BCF_UN_FLT) < 0) {
        char where[512];
        mmdx_vcf__where(v, where, sizeof where);
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: corrupt BCF record", where);
    }
    v->chrom.l = v->id.l = 0;
    if (kputs(bcf_hdr_id2name(v->hdr, r->rid), &v->chrom) < 0 || kputs(r->d.id, &v->id) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", v->path);
    size_t n = r->n_allele;
    if (n == 2 && strcmp(r->d.allele[1], ".") == 0)
        n = 1;
    if (ensure_alleles(v, n ? n : 1, err) < 0)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < n; i++)
        v->alleles[i] = r->d.allele[i];
    v->site.chrom = v->chrom.s;
    v->site.id = v->id.s;
    v->site.n_alleles = n;
    v->site.alleles = (const char *const *)v->alleles;
    v->site.filter_pass = r->d.n_flt == 0 || bcf_has_filter(v->hdr, r, "PASS") == 1;
    v->rec_parsed = 1;
    return 0;
}

/* An accepted record read into the line buffer: copy it into v->line, which
   the parsers own (htslib's vcf_parse writes into it). */
static int own_line(mmdx_vcf *v, mmdx_error *err)
{
    if (v->rec_s == v->line.s) {
        v->line.l = v->rec_l; /* a '\r' dropped */
        v->line.s[v->line.l] = '\0';
        return 0;
    }
    v->line.l = 0;
    if (kputsn(v->rec_s, v->rec_l, &v->line) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", v->path);
    v->rec_s = v->line.s;
    return 0;
}

/* Read the next raw record: text line into v->line, or BCF into v->rec. 1, 0 at end, <0 error. */
static int read_raw(mmdx_vcf *v, mmdx_error *err)
{
    for (;;) {
        int ret;
        if (v->use_regions) {
            if (!v->itr) {
                if (v->region_next >= v->n_regions)
                    return 0;
                mmdx_vcf__region *rg = &v->regions[v->region_next++];
                v->itr = v->tbx ? tbx_itr_queryi(v->tbx, rg->tid, rg->beg - 1, rg->end)
                                : bcf_itr_queryi(v->idx, rg->tid, rg->beg - 1, rg->end);
                if (!v->itr)
                    return mmdx_error_set(err, MMDX_EIO, "%s: index query failed", v->path);
            }
            ret = v->tbx ? tbx_itr_next(v->fp, v->tbx, v->itr, &v->line)
                         : bcf_itr_next(v->fp, v->itr, v->rec);
            if (ret == -1 && !stream_failed(v)) {
                hts_itr_destroy(v->itr);
                v->itr = NULL;
                continue;
            }
            if (ret < 0) {
                char when[160];
                snprintf(when, sizeof when, "in region %s:%lld-%lld",
                         bcf_hdr_id2name(v->hdr, v->regions[v->region_next - 1].tid),
                         (long long)v->regions[v->region_next - 1].beg,
                         (long long)v->regions[v->region_next - 1].end);
                if (v->is_bcf && !stream_failed(v))
                    return mmdx_error_set(err, MMDX_EFORMAT, "%s: %s: corrupt BCF record", v->path, when);
                return stream_error(v, err, when);
            }
            v->lineno = 0;
            v->rec_s = v->line.s;
            v->rec_l = v->line.l;
            return 1;
        }
        if (v->is_bcf) {
            ret = bcf_read(v->fp, v->hdr, v->rec);
            if (ret == -1 && !stream_failed(v))
                return 0;
            if (ret < 0 && stream_failed(v)) {
                char when[64];
                snprintf(when, sizeof when, "after record %ld", v->recno);
                return stream_error(v, err, when);
            }
            v->recno++;
            if (ret < -1 || (v->rec->errcode & MMDX_VCF__FATAL_ERRCODES))
                return mmdx_error_set(err, MMDX_EFORMAT, "%s: record %ld: corrupt BCF record",
                                      v->path, v->recno);
            return 1;
        }
        if (v->pending) {
            v->pending = 0;
            v->rec_s = v->line.s;
            v->rec_l = v->line.l;
        } else if (v->bgzf) {
            ret = mmdx_vcf__lines_next(v, &v->rec_s, &v->rec_l);
            if (ret != MMDX_ENOMEM && stream_failed(v)) { /* a failed block may look like an end of file */
                char when[64];
                snprintf(when, sizeof when, "after line %ld", v->lineno);
                return stream_error(v, err, when);
            }
            if (ret == 0)
                return 0;
            if (ret < 0)
                return mmdx_error_set(err, ret, "%s: %s after line %ld", v->path,
                                      ret == MMDX_ENOMEM ? "out of memory"
                                                         : "read error (corrupt compression?)",
                                      v->lineno);
            v->lineno++;
        } else {
            ret = hts_getline(v->fp, 2 /* KS_SEP_LINE */, &v->line);
            if (ret == -1 && !stream_failed(v))
                return 0;
            if (ret < 0 || stream_failed(v)) { /* the line before a failed block may be cut */
                char when[64];
                snprintf(when, sizeof when, "after line %ld", v->lineno);
                return stream_error(v, err, when);
            }
            v->lineno++;
            v->rec_s = v->line.s;
            v->rec_l = v->line.l;
        }
        if (v->rec_l > 0 && v->rec_s[v->rec_l - 1] == '\r')
            v->rec_l--;
        if (v->rec_l == 0)
            continue; /* a blank line (often the last) carries no record */
        return 1;
    }
}

int mmdx_vcf_next(mmdx_vcf *v, mmdx_vcf_site *site, mmdx_error *err)
{
    v->started = 1;
    for (;;) {
        int ret = read_raw(v, err);
        if (ret <= 0)
            return ret;
        v->rec_parsed = 0;
        v->site.chrom = NULL;
        if (v->is_bcf) {
            bcf1_t *r = v->rec;
            v->site.line = v->use_regions ? 0 : v->recno;
            int64_t pos = r->pos + 1;
            if (v->use_regions) {
                mmdx_vcf__region *rg = &v->regions[v->region_next - 1];
                if (pos < rg->beg || pos > rg->end)
                    continue;
            }
            if (v->filter) {
                if (bcf_unpack(r, BCF_UN_STR) < 0)
                    return mmdx_error_set(err, MMDX_EFORMAT, "%s: record %ld: corrupt BCF record",
                                          v->path, v->recno);
                const char *name = bcf_hdr_id2name(v->hdr, r->rid);
                if (!v->filter(v->filter_ctx, name, strlen(name), pos, r->d.id, strlen(r->d.id)))
                    continue;
            }
            v->site.pos = pos;
            if ((ret = bcf_site(v, err)) < 0)
                return ret;
        } else {
            v->site.line = v->lineno;
            if ((ret = mmdx_vcf__text_split(v, err)) < 0)
                return ret;
            if (v->use_regions) {
                mmdx_vcf__region *rg = &v->regions[v->region_next - 1];
                if (v->site.pos < rg->beg || v->site.pos > rg->end)
                    continue;
            }
            if (v->filter &&
                !v->filter(v->filter_ctx, v->rec_s + v->col[0], v->col_len[0], v->site.pos,
                           v->rec_s + v->col[2], v->col_len[2]))
                continue;
            if ((ret = own_line(v, err)) < 0 || (ret = text_site(v, err)) < 0)
                return ret;
        }
        *site = v->site;
        return 1;
    }
}

/* Make v->rec hold the current record, parsed by htslib. */
static int parse_rec(mmdx_vcf *v, mmdx_error *err)
{
    if (v->rec_parsed)
        return 0;
    char where[512];
    mmdx_vcf__where(v, where, sizeof where);
    /* undefined contigs and tags are warnings (htslib adds them); the rest are errors */
    if (vcf_parse(&v->line, v->hdr, v->rec) < 0 || (v->rec->errcode & MMDX_VCF__FATAL_ERRCODES)) {
        return mmdx_error_set(err, MMDX_EFORMAT,
                              "%s: malformed record (wrong number of columns or sample fields, or a "
                              "value that does not match its header type)",
                              where);
    }
    if (bcf_unpack(v->rec, BCF_UN_ALL) < 0)
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: malformed record", where);
    v->rec_parsed = 1;
    return 0;
}


/*
 * htslib's bcf_get_*_values() call exit() when a record stores a field with a
 * binary type other than the one asked for (possible in a hostile BCF, or a
 * VCF whose header declares GT as a number). Check the stored type first.
 */
static int stored_type_ok(int type, int want_float)
{
    if (want_float)
        return type == BCF_BT_FLOAT;
    return type == BCF_BT_INT8 || type == BCF_BT_INT16 || type == BCF_BT_INT32;
}

static int fmt_ok(mmdx_vcf *v, const char *key, int want_float, mmdx_error *err)
{
    bcf_fmt_t *fmt = bcf_get_fmt(v->hdr, v->rec, key);
    if (!fmt || stored_type_ok(fmt->type, want_float))
        return 0;
    char where[512];
    mmdx_vcf__where(v, where, sizeof where);
    return mmdx_error_set(err, MMDX_EFORMAT, "%s: FORMAT/%s is stored as %s, not as the %s expected",
                          where, key, fmt->type == BCF_BT_CHAR ? "text" : "another type",
                          want_float ? "float" : "integer");
}

static int missing_field(mmdx_vcf *v, const char *key, mmdx_error *err)
{
    if (v->n_samples == 0) /* a sites-only file: nothing to fill, as the fast text reader says */
        return 0;
    char where[512];
    mmdx_vcf__where(v, where, sizeof where);
    return mmdx_error_set(err, MMDX_ENOTFOUND, "%s: no FORMAT/%s field", where, key);
}

/* Calls from htslib's GT array into v->gt (two per sample, haploid doubled, -1 missing). */
static int htslib_genotypes(mmdx_vcf *v, mmdx_error *err)
{
    int ret = parse_rec(v, err);
    if (ret < 0)
        return ret;
    char where[512];
    size_t n = v->n_samples;
    if ((ret = fmt_ok(v, "GT", 0, err)) < 0)
        return ret;
    int ngt = bcf_get_genotypes(v->hdr, v->rec, &v->hgt, &v->hgt_cap);
    if (ngt == -3 || ngt == -1) {
        for (size_t i = 0; i < 2 * n; i++)
            v->gt[i] = -1;
        return missing_field(v, "GT", err);
    }
    if (ngt < 0 || (n && ngt % (int)n)) {
        mmdx_vcf__where(v, where, sizeof where);
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: unreadable GT", where);
    }
    int ploidy = n ? ngt / (int)n : 0;
    for (size_t s = 0; s < n; s++) {
        const int32_t *g = v->hgt + s * (size_t)ploidy;
        int k = 0;
        int32_t a[2] = {-1, -1};
        int missing = 0;
        for (int j = 0; j < ploidy; j++) {
            if (g[j] == bcf_int32_vector_end)
                break;
            if (k == 2) {
                mmdx_vcf__where(v, where, sizeof where);
                return mmdx_error_set(err, MMDX_EUNSUPPORTED,
                                      "%s: sample %s: ploidy above 2 is not supported", where,
                                      v->hdr->samples[s]);
            }
            if (bcf_gt_is_missing(g[j]))
                missing = 1;
            else
                a[k] = bcf_gt_allele(g[j]);
            k++;
        }
        if (missing || k == 0) {
            v->gt[2 * s] = v->gt[2 * s + 1] = -1;
            continue;
        }
        if (k == 1)
            a[1] = a[0];
        for (int j = 0; j < 2; j++)
            if (a[j] < 0 || (size_t)a[j] >= v->site.n_alleles) {
                mmdx_vcf__where(v, where, sizeof where);
                return mmdx_error_set(err, MMDX_EFORMAT,
                                      "%s: sample %s: GT allele %d out of range (%zu alleles)",
                                      where, v->hdr->samples[s], a[j], v->site.n_alleles);
            }
        v->gt[2 * s] = a[0];
        v->gt[2 * s + 1] = a[1];
    }
    return 0;
}

int mmdx_vcf_genotypes(mmdx_vcf *v, const int32_t **gt, mmdx_error *err)
{
    int ret;
    if (!v->is_bcf && v->fast_text && !v->rec_parsed)
        ret = mmdx_vcf__text_genotypes(v, err);
    else
        ret = htslib_genotypes(v, err);
    *gt = v->gt;
    return ret;
}

double mmdx_vcf__quantize(double d)
{
    /* PLINK 2 stores a dosage as an integer number of 1/16384 units. */
    return floor(d * 16384.0 + 0.5) / 16384.0;
}

int mmdx_vcf__gp_dosage(const double *p, size_t n_p, size_t n_alleles, size_t n_samples, size_t s,
                        int quantize, double *out)
{
    for (size_t a = 0; a < n_alleles; a++)
        out[a * n_samples + s] = 0.0;
    /* probabilities that do not add up to 1 (rounded, "0.333,0.333,0.333") are
       rescaled, as PLINK 2 does on import */
    double total = 0;
    for (size_t i = 0; i < n_p; i++) {
        if (!(p[i] >= 0.0 && p[i] <= 1.0 + 1e-6))
            return -1;
        total += p[i];
    }
    if (!(total > 0))
        return -1;
    double scale = 1.0 / total;
    if (n_p == n_alleles * (n_alleles + 1) / 2) {
        size_t idx = 0;
        for (size_t k = 0; k < n_alleles; k++)
            for (size_t j = 0; j <= k; j++, idx++) {
                out[j * n_samples + s] += p[idx] * scale;
                out[k * n_samples + s] += p[idx] * scale;
            }
    } else if (n_p == n_alleles) {
        for (size_t a = 0; a < n_alleles; a++)
            out[a * n_samples + s] = 2.0 * p[a] * scale; /* haploid counted as homozygous */
    } else {
        return -1;
    }
    if (quantize) {
        /* ALT dosages are what PLINK stores; REF is the remainder. */
        double alt = 0;
        for (size_t a = 1; a < n_alleles; a++) {
            out[a * n_samples + s] = mmdx_vcf__quantize(out[a * n_samples + s]);
            alt += out[a * n_samples + s];
        }
        out[s] = 2.0 - alt;
    }
    return 0;
}

int mmdx_vcf__sample_dosage(const mmdx_vcf *v, mmdx_dosage_source src, size_t s, const double *p, size_t k,
                            int quantize, double *out, mmdx_error *err)
{
    size_t n = v->n_samples, na = v->site.n_alleles;
    char where[512];
    if (src == MMDX_DOSAGE_DS) {
        if (k < na - 1) {
            mmdx_vcf__where(v, where, sizeof where);
            return mmdx_error_set(err, MMDX_EFORMAT,
                                  "%s: sample %s: FORMAT/DS has %zu values, expected %zu (one per ALT)", where,
                                  v->hdr->samples[s], k, na - 1);
        }
        double alt = 0;
        for (size_t a = 1; a < na; a++) {
            double d = p[a - 1];
            if (!(d >= 0.0 && d <= 2.0)) {
                mmdx_vcf__where(v, where, sizeof where);
                return mmdx_error_set(err, MMDX_EFORMAT, "%s: sample %s: FORMAT/DS value %g outside [0,2]",
                                      where, v->hdr->samples[s], d);
            }
            out[a * n + s] = quantize ? mmdx_vcf__quantize(d) : d;
            alt += out[a * n + s];
        }
        out[s] = 2.0 - alt;
        return 0;
    }
    if (mmdx_vcf__gp_dosage(p, k, na, n, s, quantize, out) < 0) {
        mmdx_vcf__where(v, where, sizeof where);
        return mmdx_error_set(err, MMDX_EFORMAT,
                              "%s: sample %s: FORMAT/GP (%zu values) is not a set of genotype probabilities for "
                              "%zu alleles",
                              where, v->hdr->samples[s], k, na);
    }
    return 0;
}

static int htslib_dosages(mmdx_vcf *v, mmdx_dosage_source src, int quantize, double *out,
                          mmdx_error *err)
{
    size_t n = v->n_samples, na = v->site.n_alleles;
    char where[512];
    if (src == MMDX_DOSAGE_GT) {
        int ret = htslib_genotypes(v, err);
        if (ret < 0 && ret != MMDX_ENOTFOUND)
            return ret;
        for (size_t s = 0; s < n; s++) {
            int32_t a0 = v->gt[2 * s], a1 = v->gt[2 * s + 1];
            for (size_t a = 0; a < na; a++)
                out[a * n + s] = a0 < 0 ? NAN : (double)((a0 == (int32_t)a) + (a1 == (int32_t)a));
        }
        return ret;
    }
    int ret = parse_rec(v, err);
    if (ret < 0)
        return ret;
    const char *key = src == MMDX_DOSAGE_DS ? "DS" : "GP";
    if ((ret = fmt_ok(v, key, 1, err)) < 0)
        return ret;
    int nf = bcf_get_format_float(v->hdr, v->rec, key, &v->hf, &v->hf_cap);
    if (nf == -3 || nf == -1) {
        for (size_t i = 0; i < na * n; i++)
            out[i] = NAN;
        return missing_field(v, key, err);
    }
    if (nf < 0 || (n && nf % (int)n)) {
        mmdx_vcf__where(v, where, sizeof where);
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: FORMAT/%s is not numeric", where, key);
    }
    size_t per = n ? (size_t)nf / n : 0;
    double p[64];
    for (size_t s = 0; s < n; s++) {
        const float *f = v->hf + s * per;
        size_t k = 0;
        int missing = 0;
        for (size_t j = 0; j < per && j < 64; j++) {
            if (bcf_float_is_vector_end(f[j]))
                break;
            if (bcf_float_is_missing(f[j]))
                missing = 1;
            p[k++] = f[j];
        }
        if (missing || k == 0) {
            for (size_t a = 0; a < na; a++)
                out[a * n + s] = NAN;
            continue;
        }
        if ((ret = mmdx_vcf__sample_dosage(v, src, s, p, k, quantize, out, err)) < 0)
            return ret;
    }
    return 0;
}

int mmdx_vcf_dosages(mmdx_vcf *v, mmdx_dosage_source src, int quantize, double *out, mmdx_error *err)
{
    if (!v->is_bcf && v->fast_text && !v->rec_parsed)
        return mmdx_vcf__text_dosages(v, src, quantize, out, err);
    return htslib_dosages(v, src, quantize, out, err);
}

int mmdx_vcf_format_int(mmdx_vcf *v, const char *key, const int32_t **vals, mmdx_error *err)
{
    *vals = NULL;
    int ret = parse_rec(v, err);
    if (ret < 0)
        return ret;
    size_t n = v->n_samples;
    bcf_fmt_t *fmt = bcf_get_fmt(v->hdr, v->rec, key);
    if (!fmt)
        return MMDX_ENOTFOUND;
    int is_float = stored_type_ok(fmt->type, 1);
    if (!is_float && (ret = fmt_ok(v, key, 0, err)) < 0)
        return ret;
    int ni = is_float ? -2 : bcf_get_format_int32(v->hdr, v->rec, key, &v->hi, &v->hi_cap);
    if (ni == -2 && is_float) {
        /* declared Float by some callers (e.g. GQ): accept and round down */
        int nf = bcf_get_format_float(v->hdr, v->rec, key, &v->hf, &v->hf_cap);
        if (nf > 0 && n && nf % (int)n == 0) {
            size_t per = (size_t)nf / n;
            for (size_t s = 0; s < n; s++) {
                float f = v->hf[s * per];
                v->ivals[s] = (bcf_float_is_missing(f) || bcf_float_is_vector_end(f) || isnan(f))
                                  ? INT32_MIN
                              : f >= 2147483647.0f ? INT32_MAX
                              : f <= -2147483647.0f ? -INT32_MAX
                                                    : (int32_t)f;
            }
            *vals = v->ivals;
            return 0;
        }
    }
    if (ni == -3 || ni == -1)
        return MMDX_ENOTFOUND;
    if (ni < 0 || (n && ni % (int)n)) {
        char where[512];
        mmdx_vcf__where(v, where, sizeof where);
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: FORMAT/%s is not an integer", where, key);
    }
    size_t per = n ? (size_t)ni / n : 0;
    for (size_t s = 0; s < n; s++) {
        int32_t x = v->hi[s * per];
        v->ivals[s] = (x == bcf_int32_missing || x == bcf_int32_vector_end) ? INT32_MIN : x;
    }
    *vals = v->ivals;
    return 0;
}

int mmdx_vcf_info_string(mmdx_vcf *v, const char *key, const char **val, mmdx_error *err)
{
    *val = NULL;
    int ret = parse_rec(v, err);
    if (ret < 0)
        return ret;
    bcf_info_t *info = bcf_get_info(v->hdr, v->rec, key);
    if (!info)
        return 0;
    v->info_text.l = 0;
    int type = bcf_hdr_id2type(v->hdr, BCF_HL_INFO, info->key);
    if (type != BCF_HT_FLAG && info->len > 0 &&
        !(type == BCF_HT_STR ? info->type == BCF_BT_CHAR
                             : stored_type_ok(info->type, type == BCF_HT_REAL))) {
        char where[512];
        mmdx_vcf__where(v, where, sizeof where);
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: INFO/%s is stored with another type than its header declares",
                              where, key);
    }
    if (type == BCF_HT_FLAG) {
        kputs("", &v->info_text);
    } else if (type == BCF_HT_STR) {
        int n = bcf_get_info_string(v->hdr, v->rec, key, &v->hs, &v->hs_cap);
        if (n < 0)
            return 0;
        kputsn(v->hs, (size_t)n, &v->info_text);
    } else if (type == BCF_HT_INT) {
        int n = bcf_get_info_int32(v->hdr, v->rec, key, &v->hi, &v->hi_cap);
        for (int i = 0; i < n; i++) {
            if (i)
                kputc(',', &v->info_text);
            if (v->hi[i] == bcf_int32_missing)
                kputc('.', &v->info_text);
            else
                kputw(v->hi[i], &v->info_text);
        }
    } else {
        int n = bcf_get_info_float(v->hdr, v->rec, key, &v->hf, &v->hf_cap);
        for (int i = 0; i < n; i++) {
            char num[32];
            snprintf(num, sizeof num, "%s%g", i ? "," : "", v->hf[i]);
            kputs(num, &v->info_text);
        }
    }
    if (!v->info_text.s && kputs("", &v->info_text) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", v->path);
    *val = v->info_text.s;
    return 0;
}
