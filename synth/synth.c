/* SPDX-License-Identifier: Apache-2.0 */
#include "clock.h"
#include "synth.h"

#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "atomic_file.h"
#include "error.h"
#include "progress.h"
#include "writers.h"

void mmdx_synth_options_init(mmdx_synth_options *o)
{
    memset(o, 0, sizeof *o);
    o->n_patients = 100;
    o->seed = 1;
    o->missing = 0.15;
    o->image_size = 40;
    o->slices = 12;
    o->n_threads = 1;
}


static int make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return mmdx_fail(MMDX_EIO, "%s: cannot create: %s", path, strerror(errno));
    return 0;
}

/* The output folder: created, or existing and empty (never mixed with an older cohort). */
static int prepare_out(const char *out)
{
    DIR *d = opendir(out);
    if (d) {
        struct dirent *e;
        int empty = 1;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = 0;
        closedir(d);
        if (!empty)
            return mmdx_fail(MMDX_EEXISTS, "%s: the folder is not empty (give a new or empty folder)", out);
    } else if (errno != ENOENT) {
        return mmdx_fail(MMDX_EIO, "%s: %s", out, strerror(errno));
    }
    int rc = make_dir(out);
    char sub[4096];
    static const char *const subs[] = {"dicom", "genomics", "records"};
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", out, subs[i]);
        rc = make_dir(sub);
    }
    return rc;
}

int mmdx_synth__write_scorefile(const char *path)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc < 0)
        return rc;
    fprintf(af.f, "###PGS CATALOG SCORING FILE - see https://www.pgscatalog.org/downloads/#dl_ftp_scoring for "
                  "additional information\n"
                  "#format_version=2.0\n"
                  "##POLYGENIC SCORE (PGS) INFORMATION\n"
                  "#pgs_id=%s\n"
                  "#pgs_name=mmdx synthetic score\n"
                  "#trait_reported=synthetic screening target\n"
                  "#genome_build=GRCh38\n"
                  "#variants_number=%d\n"
                  "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n",
            MMDX_SYNTH_SCORE_ID, MMDX_SYNTH_N_SCORE_SITES);
    const mmdx_synth_site *s = mmdx_synth_sites();
    for (size_t i = 0; i < MMDX_SYNTH_N_SITES; i++)
        if (s[i].weight != 0)
            fprintf(af.f, "%s\t%d\t%lld\t%c\t%c\t%.6f\n", s[i].rsid, s[i].chrom, (long long)s[i].pos, s[i].alt,
                    s[i].ref, s[i].weight);
    return mmdx_atomic_file_commit(&af);
}

static int write_config(const char *out, uint64_t seed, int n_subtypes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/mmdx.conf", out);
    double mean, sd;
    mmdx_synth_score_moments(&mean, &sd);
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc < 0)
        return rc;
    char subtypes[32] = "";
    if (n_subtypes)
        snprintf(subtypes, sizeof subtypes, " --subtypes %d", n_subtypes);
    fprintf(af.f,
            "# Site settings for the synthetic cohort written by `mmdx synth --seed %llu%s`.\n"
            "# Relative paths resolve against this file's folder.\n"
            "[genomics]\n"
            "score = genomics/synth_prs.txt\n"
            "# Standardise with the score's population moments (Hardy-Weinberg), not with\n"
            "# the batch being encoded, so that a patient's features never depend on which\n"
            "# other patients are screened with it (batches, shards).\n"
            "score_reference = %s %.10g %.10g\n"
            "panel_region = %s\n"
            "[records]\n"
            "index_date = %s\n",
            (unsigned long long)seed, subtypes, MMDX_SYNTH_SCORE_ID, mean, sd, MMDX_SYNTH_PANEL, MMDX_SYNTH_INDEX_DATE);
    return mmdx_atomic_file_commit(&af);
}

typedef struct row_info {
    int present[3];
    int label;
    int carrier;
    int subtype;
    double logit, z[3], z_shape;
} row_info;

static int write_tables(const mmdx_synth_options *o, const row_info *rows)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/truth.csv", o->out);
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc < 0)
        return rc;
    /* The subtype column only with subtypes: the cohort without them keeps its files. */
    fprintf(af.f, "patient_id,label,logit,z_imaging,z_genomics,z_records,carrier,imaging,genomics,records%s\n",
            o->n_subtypes ? ",subtype,z_imaging_shape" : "");
    for (size_t i = 0; i < o->n_patients; i++) {
        const row_info *r = &rows[i];
        fprintf(af.f, "SYN%06zu,%d,%.6f,%.6f,%.6f,%.6f,%d,%d,%d,%d", i + 1, r->label, r->logit, r->z[0], r->z[1],
                r->z[2], r->carrier, r->present[0], r->present[1], r->present[2]);
        if (o->n_subtypes)
            fprintf(af.f, ",%d,%.6f", r->subtype, r->z_shape);
        fputc('\n', af.f);
    }
    if ((rc = mmdx_atomic_file_commit(&af)) < 0)
        return rc;
    /* The manifest last: its presence marks a complete cohort. */
    snprintf(path, sizeof path, "%s/cohort.csv", o->out);
    if ((rc = mmdx_atomic_file_open(&af, path)) < 0)
        return rc;
    fprintf(af.f, "patient_id,dicom,vcf,vcf_sample,record,label\n");
    for (size_t i = 0; i < o->n_patients; i++) {
        const row_info *r = &rows[i];
        char id[32];
        snprintf(id, sizeof id, "SYN%06zu", i + 1);
        fprintf(af.f, "%s,", id);
        if (r->present[MMDX_SYNTH_IMAGING])
            fprintf(af.f, "dicom/%s", id);
        fputc(',', af.f);
        if (r->present[MMDX_SYNTH_GENOMICS])
            fprintf(af.f, "genomics/%s.vcf.gz,%s", id, id);
        else
            fputc(',', af.f);
        fputc(',', af.f);
        if (r->present[MMDX_SYNTH_RECORDS])
            fprintf(af.f, "records/%s.json", id);
        fprintf(af.f, ",%d\n", r->label);
    }
    return mmdx_atomic_file_commit(&af);
}

static int check_options(const mmdx_synth_options *o)
{
    if (!o->out || !*o->out)
        return mmdx_fail(MMDX_EINVAL, "synth: no output folder");
    if (o->n_patients < 1 || o->n_patients > 999999)
        return mmdx_fail(MMDX_EINVAL, "synth: patients = %zu: expected 1..999999", o->n_patients);
    if (!(o->missing >= 0 && o->missing <= 0.9))
        return mmdx_fail(MMDX_EINVAL, "synth: missing = %g: expected a probability in [0, 0.9]", o->missing);
    if (o->image_size < 16 || o->image_size > 512)
        return mmdx_fail(MMDX_EINVAL, "synth: image size = %d: expected 16..512", o->image_size);
    if (o->slices < 4 || o->slices > 512)
        return mmdx_fail(MMDX_EINVAL, "synth: slices = %d: expected 4..512", o->slices);
    if (o->n_subtypes != 0 && (o->n_subtypes < 2 || o->n_subtypes > MMDX_SYNTH_MAX_SUBTYPES))
        return mmdx_fail(MMDX_EINVAL, "synth: subtypes = %d: expected 0 (none) or 2..%d", o->n_subtypes,
                         MMDX_SYNTH_MAX_SUBTYPES);
    return 0;
}

/* One patient's files; the thread's last error names the failing file. */
static int one_patient(const mmdx_synth_options *o, size_t i, row_info *row, size_t *n_files)
{
    mmdx_synth_rng rng, sub_rng;
    mmdx_synth_rng_init(&rng, o->seed, i);
    /* The subtype's own stream ("sub"): every draw from rng stays the cohort's without subtypes. */
    mmdx_synth_rng_init(&sub_rng, o->seed ^ 0x737562ull, i);
    mmdx_synth_patient *p = malloc(sizeof *p);
    if (!p)
        return mmdx_fail(MMDX_ENOMEM, "synth: out of memory");
    const mmdx_synth_draw how = {o->missing, o->image_size, o->slices, o->n_subtypes};
    mmdx_synth_patient_draw(p, &rng, &sub_rng, i, &how);
    memcpy(row->present, p->present, sizeof row->present);
    row->label = p->label;
    row->carrier = p->carrier;
    row->subtype = p->subtype;
    row->logit = p->logit;
    row->z[0] = p->z_imaging;
    row->z[1] = p->z_genomics;
    row->z[2] = p->z_records;
    row->z_shape = p->z_imaging_shape;
    char path[4096];
    int rc = 0;
    *n_files = 0;
    /* Each writer gets its own stream so that a missing modality shifts nothing else. */
    mmdx_synth_rng img_rng, rec_rng;
    mmdx_synth_rng_init(&img_rng, o->seed ^ 0x696d67ull, i);
    mmdx_synth_rng_init(&rec_rng, o->seed ^ 0x726563ull, i);
    if (p->present[MMDX_SYNTH_IMAGING]) {
        snprintf(path, sizeof path, "%s/dicom/%s", o->out, p->id);
        size_t n = 0;
        rc = mmdx_synth__write_series(path, p, &img_rng, o->seed, o->image_size, o->slices, &n);
        *n_files += n;
    }
    if (rc == 0 && p->present[MMDX_SYNTH_GENOMICS]) {
        snprintf(path, sizeof path, "%s/genomics/%s.vcf.gz", o->out, p->id);
        rc = mmdx_synth__write_vcf(path, p);
        *n_files += 2;
    }
    if (rc == 0 && p->present[MMDX_SYNTH_RECORDS]) {
        snprintf(path, sizeof path, "%s/records/%s.json", o->out, p->id);
        rc = mmdx_synth__write_bundle(path, p, &rec_rng);
        *n_files += 1;
    }
    free(p);
    return rc;
}

int mmdx_synth_run(const mmdx_synth_options *o, mmdx_synth_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    int rc = check_options(o);
    if (rc < 0)
        return rc;
    double t0 = mmdx_clock_seconds();
    if ((rc = prepare_out(o->out)) < 0)
        return rc;
    char path[4096];
    snprintf(path, sizeof path, "%s/genomics/synth_prs.txt", o->out);
    if ((rc = mmdx_synth__write_scorefile(path)) < 0 || (rc = write_config(o->out, o->seed, o->n_subtypes)) < 0)
        return rc;
    row_info *rows = calloc(o->n_patients, sizeof *rows);
    if (!rows)
        return mmdx_fail(MMDX_ENOMEM, "synth: out of memory");
    mmdx_progress *pg = mmdx_progress_new("synth", o->n_patients, o->progress);
    int first_rc = 0;
    char first_msg[MMDX_ERROR_MESSAGE_MAX] = "";
    size_t n_files = 3;
    (void)mmdx_synth_sites(); /* build the catalogue before the threads start */
#pragma omp parallel for schedule(dynamic, 4) num_threads(o->n_threads > 0 ? o->n_threads : 1) reduction(+ : n_files)
    for (size_t i = 0; i < o->n_patients; i++) {
        int stop;
#pragma omp atomic read
        stop = first_rc;
        if (stop)
            continue;
        size_t nf = 0;
        int r = one_patient(o, i, &rows[i], &nf);
        n_files += nf;
        if (r < 0) {
#pragma omp critical(mmdx_synth_error)
            if (!first_rc) {
                snprintf(first_msg, sizeof first_msg, "%s", mmdx_last_error());
#pragma omp atomic write
                first_rc = r;
            }
        }
        mmdx_progress_step(pg, r < 0);
    }
    mmdx_progress_free(pg);
    if (first_rc) {
        free(rows);
        return mmdx_fail(first_rc, "%s", first_msg);
    }
    rc = write_tables(o, rows);
    if (rc == 0) {
        summary->n_patients = o->n_patients;
        for (size_t i = 0; i < o->n_patients; i++) {
            summary->n_positive += rows[i].label;
            int all = 1;
            for (int m = 0; m < 3; m++) {
                summary->n_with[m] += rows[i].present[m];
                all &= rows[i].present[m];
            }
            summary->n_complete += all;
        }
        summary->n_files = n_files + 2;
        summary->seconds = mmdx_clock_seconds() - t0;
    }
    free(rows);
    return rc;
}
