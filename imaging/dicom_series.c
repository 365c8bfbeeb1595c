/* SPDX-License-Identifier: Apache-2.0 */
#include "dicom_series.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "dicom.h"
#include "error.h"

#define MAX_DEPTH 8

/* ------------------------------------------------------------------------ */
/* Collecting the files of a folder                                          */
/* ------------------------------------------------------------------------ */

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static void path_list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int path_list_add(path_list *l, char *p)
{
    if (mmdx_array_reserve(&l->v, &l->cap, l->n + 1, sizeof *l->v, 64, 0) < 0) {
        free(p);
        return mmdx_fail(MMDX_ENOMEM, "out of memory listing files");
    }
    l->v[l->n++] = p;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(path_list *l, const char *dir, int depth)
{
    if (depth > MAX_DEPTH)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return mmdx_fail(MMDX_EIO, "%s: cannot read folder: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        snprintf(p, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) {
            free(p);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = list_dir(l, p, depth + 1);
            free(p);
        } else if (S_ISREG(st.st_mode)) {
            rc = path_list_add(l, p);
        } else {
            free(p);
        }
    }
    closedir(d);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Geometry                                                                  */
/* ------------------------------------------------------------------------ */

static void cross(const double *a, const double *b, double *out)
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

/* Orientation cosines must be two orthonormal vectors; normalise mild drift. */
static int check_orientation(const char *path, double *o, double *normal)
{
    double nr = sqrt(dot(o, o)), nc = sqrt(dot(o + 3, o + 3));
    if (nr < 0.9 || nr > 1.1 || nc < 0.9 || nc > 1.1 || fabs(dot(o, o + 3)) > 1e-2)
        return mmdx_fail(MMDX_EFORMAT,
                         "%s: (0020,0037) Image Orientation (Patient) is not two orthogonal unit vectors",
                         path);
    for (int i = 0; i < 3; i++) {
        o[i] /= nr;
        o[3 + i] /= nc;
    }
    cross(o, o + 3, normal);
    double nn = sqrt(dot(normal, normal));
    for (int i = 0; i < 3; i++)
        normal[i] /= nn;
    return 0;
}

/* One 2-D plane of the volume: a frame of some file. */
typedef struct plane {
    size_t file;     /* index into the opened files */
    uint32_t frame;  /* frame within that file */
    double pos[3];   /* Image Position (Patient) */
    double along;    /* position along the normal */
} plane;

static int cmp_plane(const void *a, const void *b)
{
    const plane *x = a, *y = b;
    return (x->along > y->along) - (x->along < y->along);
}

/* ------------------------------------------------------------------------ */
/* Pixel conversion                                                          */
/* ------------------------------------------------------------------------ */

static int photometric_is(const mmdx_dicom_header *h, const char *name)
{
    return strcmp(h->photometric, name) == 0;
}

/* Bytes of one frame in the decoded buffer; 0 when not byte aligned (1-bit). */
static size_t frame_bits(const mmdx_dicom_header *h)
{
    size_t px = (size_t)h->rows * h->columns;
    if (h->samples_per_pixel == 3 && photometric_is(h, "YBR_FULL_422") && !h->compressed)
        return px * 2 * h->bits_allocated;
    return px * h->samples_per_pixel * h->bits_allocated;
}

/* Fewer pixel bytes than the frames the header declares (`len`: what the file holds). */
static int check_pixel_length(const char *path, const mmdx_dicom_header *h, uint64_t len)
{
    uint64_t need_bits = (uint64_t)frame_bits(h) * h->frames;
    if (len * 8 >= need_bits)
        return 0;
    return mmdx_fail(MMDX_EFORMAT,
                     "%s: (7FE0,0010) Pixel Data holds %llu bytes, %u frame(s) of %ux%u need %llu "
                     "(file truncated?)",
                     path, (unsigned long long)len, h->frames, h->columns, h->rows,
                     (unsigned long long)((need_bits + 7) / 8));
}

static int check_pixel_format(const char *path, const mmdx_dicom_header *h)
{
    if (h->rows == 0 || h->columns == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: (0028,0010) Rows or (0028,0011) Columns is 0", path);
    if (h->pixel_kind == MMDX_DICOM_PIXELS_INTEGER) {
        uint32_t ba = h->bits_allocated;
        if (ba != 1 && ba != 8 && ba != 16 && ba != 32)
            return mmdx_fail(MMDX_EUNSUPPORTED, "%s: (0028,0100) Bits Allocated %u is not supported", path, ba);
        if (h->bits_stored == 0 || h->bits_stored > ba || h->high_bit >= ba || h->high_bit + 1 < h->bits_stored)
            return mmdx_fail(MMDX_EFORMAT,
                             "%s: (0028,0101) Bits Stored %u / (0028,0102) High Bit %u do not fit "
                             "(0028,0100) Bits Allocated %u",
                             path, h->bits_stored, h->high_bit, ba);
        if (h->pixel_representation > 1)
            return mmdx_fail(MMDX_EFORMAT, "%s: (0028,0103) Pixel Representation %u is not 0 or 1", path,
                             h->pixel_representation);
    }
    if (h->samples_per_pixel == 1) {
        if (h->photometric[0] && !photometric_is(h, "MONOCHROME1") && !photometric_is(h, "MONOCHROME2"))
            return mmdx_fail(MMDX_EUNSUPPORTED,
                             "%s: (0028,0004) Photometric Interpretation %s is not supported "
                             "(grey levels are needed: MONOCHROME1, MONOCHROME2, RGB, YBR_FULL, YBR_FULL_422)",
                             path, h->photometric);
    } else if (h->samples_per_pixel == 3) {
        if (!photometric_is(h, "RGB") && !photometric_is(h, "YBR_FULL") && !photometric_is(h, "YBR_FULL_422"))
            return mmdx_fail(MMDX_EUNSUPPORTED,
                             "%s: (0028,0004) Photometric Interpretation %s is not supported "
                             "(colour images: RGB, YBR_FULL, YBR_FULL_422)",
                             path, h->photometric[0] ? h->photometric : "(missing)");
        if (h->pixel_kind != MMDX_DICOM_PIXELS_INTEGER || h->bits_allocated < 8)
            return mmdx_fail(MMDX_EFORMAT, "%s: colour pixel data must be integer of 8 bits or more", path);
        /* Native 4:2:2 only: a compressed stream says YBR_FULL_422 but decodes to full resolution. */
        if (photometric_is(h, "YBR_FULL_422") && !h->compressed && (h->columns % 2 || h->bits_allocated != 8))
            return mmdx_fail(MMDX_EFORMAT, "%s: YBR_FULL_422 needs an even (0028,0011) Columns and 8 bits", path);
    } else {
        return mmdx_fail(MMDX_EUNSUPPORTED, "%s: (0028,0002) Samples per Pixel %u is not supported", path,
                         h->samples_per_pixel);
    }
    return 0;
}

/* Raw stored value of sample index `s` (0-based over the whole buffer). */
static inline double stored_value(const mmdx_dicom_header *h, const uint8_t *buf, size_t s)
{
    uint32_t raw;
    switch (h->bits_allocated) {
    case 1: return (buf[s >> 3] >> (s & 7)) & 1;
    case 8: raw = buf[s]; break;
    case 16: {
        uint16_t v;
        memcpy(&v, buf + 2 * s, 2);
        raw = v;
        break;
    }
    default: {
        memcpy(&raw, buf + 4 * s, 4);
        break;
    }
    }
    uint32_t shift = h->high_bit + 1 - h->bits_stored;
    uint64_t mask = (h->bits_stored >= 32) ? 0xffffffffu : ((1u << h->bits_stored) - 1u);
    uint32_t v = (uint32_t)((raw >> shift) & mask);
    if (h->pixel_representation && h->bits_stored < 64 && (v >> (h->bits_stored - 1)) & 1u)
        return (double)v - ldexp(1.0, (int)h->bits_stored);
    return (double)v;
}

typedef struct value_map {
    double smin, smax;  /* stored range, for MONOCHROME1 */
    int invert;
    int use_lut;
} value_map;

static double map_value(const mmdx_dicom_header *h, const value_map *vm, double v, uint32_t frame)
{
    if (vm->invert)
        v = vm->smin + vm->smax - v;
    if (vm->use_lut) {
        double idx = v - h->lut_first;
        if (idx < 0)
            idx = 0;
        if (idx > h->lut_entries - 1)
            idx = h->lut_entries - 1;
        return h->lut_data[(size_t)idx];
    }
    if (h->frame_slope)
        return v * h->frame_slope[frame] + h->frame_intercept[frame];
    if (h->has_rescale)
        return v * h->rescale_slope + h->rescale_intercept;
    return v;
}

/* Convert one frame of a decoded buffer into `out` (rows x columns floats). */
static void convert_frame(const mmdx_dicom_header *h, const value_map *vm, const uint8_t *buf,
                          uint32_t frame, float *out)
{
    size_t px = (size_t)h->rows * h->columns;
    if (h->pixel_kind == MMDX_DICOM_PIXELS_FLOAT || h->pixel_kind == MMDX_DICOM_PIXELS_DOUBLE) {
        for (size_t p = 0; p < px; p++) {
            double v;
            if (h->pixel_kind == MMDX_DICOM_PIXELS_FLOAT) {
                float fv;
                memcpy(&fv, buf + 4 * (frame * px + p), 4);
                v = fv;
            } else {
                memcpy(&v, buf + 8 * (frame * px + p), 8);
            }
            out[p] = (float)map_value(h, vm, v, frame);
        }
        return;
    }
    if (h->samples_per_pixel == 1) {
        size_t base = (size_t)frame * px;
        for (size_t p = 0; p < px; p++)
            out[p] = (float)map_value(h, vm, stored_value(h, buf, base + p), frame);
        return;
    }
    if (photometric_is(h, "YBR_FULL_422") && !h->compressed) {
        /* Native 4:2:2: Y1 Y2 Cb Cr for each pair of pixels of a row. */
        const uint8_t *f = buf + (size_t)frame * px * 2;
        for (size_t p = 0; p < px; p++)
            out[p] = f[(p / 2) * 4 + (p % 2)];
        return;
    }
    size_t base = (size_t)frame * px * 3;
    int ybr = photometric_is(h, "YBR_FULL");
    for (size_t p = 0; p < px; p++) {
        double c[3];
        for (int k = 0; k < 3; k++) {
            size_t s = h->planar_configuration ? base + k * px + p : base + 3 * p + k;
            c[k] = stored_value(h, buf, s);
        }
        out[p] = (float)(ybr ? c[0] : 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]);
    }
}

static void init_value_map(const mmdx_dicom_header *h, value_map *vm)
{
    memset(vm, 0, sizeof *vm);
    if (h->pixel_kind == MMDX_DICOM_PIXELS_INTEGER) {
        if (h->pixel_representation) {
            vm->smin = -ldexp(1.0, (int)h->bits_stored - 1);
            vm->smax = ldexp(1.0, (int)h->bits_stored - 1) - 1;
        } else {
            vm->smin = 0;
            vm->smax = ldexp(1.0, (int)h->bits_stored) - 1;
        }
    }
    vm->invert = h->samples_per_pixel == 1 && photometric_is(h, "MONOCHROME1") &&
                 h->pixel_kind == MMDX_DICOM_PIXELS_INTEGER;
    vm->use_lut = h->samples_per_pixel == 1 && !h->has_rescale && h->lut_entries > 0 &&
                  h->pixel_kind == MMDX_DICOM_PIXELS_INTEGER;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct reader {
    const char *path;
    const mmdx_dicom_read_options *opt;
    mmdx_dicom_file **files;
    size_t n_files;
    plane *planes;
    size_t n_planes;
} reader;

/* A volume above the limit is refused before its planes or voxels are allocated. */
static int check_voxel_limit(const reader *r, const mmdx_dicom_header *h0, size_t planes)
{
    size_t max = r->opt && r->opt->max_voxels ? r->opt->max_voxels : MMDX_IMAGING_DEFAULT_MAX_VOXELS;
    double n = (double)h0->rows * (double)h0->columns * (double)planes;
    if (n <= (double)max)
        return 0;
    const char *p0 = mmdx_dicom_path(r->files[0]);
    char depth[96];
    if (r->n_files == 1)
        snprintf(depth, sizeof depth, "(0028,0008) Number of Frames %zu", planes);
    else
        snprintf(depth, sizeof depth, "%zu slices", planes);
    return mmdx_fail(MMDX_EUNSUPPORTED,
                     "%s: (0028,0011) Columns %u x (0028,0010) Rows %u x %s = %.0f voxels, more than the limit "
                     "of %zu ([imaging] max_voxels): refused before allocating it",
                     p0, h0->columns, h0->rows, depth, n, max);
}

static void reader_free(reader *r)
{
    for (size_t i = 0; i < r->n_files; i++)
        mmdx_dicom_close(r->files[i]);
    free(r->files);
    free(r->planes);
}

static int is_dicomdir(const char *p, const mmdx_dicom_header *h)
{
    const char *base = strrchr(p, '/');
    base = base ? base + 1 : p;
    return strcmp(base, "DICOMDIR") == 0 || strcmp(h->sop_class_uid, "1.2.840.10008.1.3.10") == 0;
}

/* A folder: open every DICOM image, keep one series. */
static int open_folder(reader *r, mmdx_dicom_volume_info *info)
{
    path_list l = {0};
    int rc = list_dir(&l, r->path, 0);
    if (rc < 0) {
        path_list_free(&l);
        return rc;
    }
    qsort(l.v, l.n, sizeof *l.v, cmp_str);
    r->files = calloc(l.n ? l.n : 1, sizeof *r->files);
    if (!r->files) {
        path_list_free(&l);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    size_t skipped = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (!mmdx_dicom_sniff(l.v[i])) {
            skipped++;
            continue;
        }
        mmdx_dicom_file *f = NULL;
        if ((rc = mmdx_dicom_open(&f, l.v[i])) < 0) {
            path_list_free(&l);
            return rc;
        }
        const mmdx_dicom_header *h = mmdx_dicom_get_header(f);
        if (h->pixel_kind == MMDX_DICOM_PIXELS_NONE || strcmp(h->modality, "SEG") == 0 ||
            is_dicomdir(l.v[i], h)) {
            mmdx_dicom_close(f);
            skipped++;
            continue;
        }
        r->files[r->n_files++] = f;
    }
    path_list_free(&l);
    info->n_skipped = skipped;
    if (r->n_files == 0)
        return mmdx_fail(MMDX_ENOTFOUND, "%s: no DICOM image in this folder (%zu other files)", r->path,
                         skipped);

    /* Series present, in first-seen order. */
    const char *want = r->opt && r->opt->series_uid && r->opt->series_uid[0] ? r->opt->series_uid : NULL;
    size_t n_series = 0, kept = 0;
    char listing[700] = "";
    for (size_t i = 0; i < r->n_files; i++) {
        const char *uid = mmdx_dicom_get_header(r->files[i])->series_uid;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(uid, mmdx_dicom_get_header(r->files[j])->series_uid) == 0;
        if (!seen) {
            size_t count = 0;
            for (size_t j = i; j < r->n_files; j++)
                count += strcmp(uid, mmdx_dicom_get_header(r->files[j])->series_uid) == 0;
            size_t used = strlen(listing);
            snprintf(listing + used, sizeof listing - used, "%s%s (%s, %zu files)", n_series ? "; " : "",
                     uid[0] ? uid : "(no SeriesInstanceUID)", mmdx_dicom_get_header(r->files[i])->modality,
                     count);
            n_series++;
        }
    }
    if (!want && n_series > 1)
        return mmdx_fail(MMDX_EFORMAT,
                         "%s: the folder holds %zu series (0020,000E); choose one with series_uid "
                         "(--series): %s",
                         r->path, n_series, listing);
    for (size_t i = 0; i < r->n_files; i++) {
        if (want && strcmp(mmdx_dicom_get_header(r->files[i])->series_uid, want) != 0) {
            mmdx_dicom_close(r->files[i]);
            info->n_skipped++;
        } else {
            r->files[kept++] = r->files[i];
        }
    }
    r->n_files = kept;
    if (kept == 0)
        return mmdx_fail(MMDX_ENOTFOUND, "%s: no image of series %s (0020,000E) in this folder; it holds: %s",
                         r->path, want, listing);
    return 0;
}

/* Build the list of planes and the grid from the opened files. */
static int build_planes(reader *r, mmdx_grid *g, mmdx_dicom_volume_info *info)
{
    mmdx_dicom_file *f0 = r->files[0];
    const mmdx_dicom_header *h0 = mmdx_dicom_get_header(f0);
    const char *p0 = mmdx_dicom_path(f0);
    int rc;
    if (h0->pixel_kind == MMDX_DICOM_PIXELS_NONE)
        return mmdx_fail(MMDX_EFORMAT, "%s: no pixel data: (7FE0,0010) Pixel Data is missing (%s object%s)", p0,
                         h0->modality[0] ? h0->modality : "non-image",
                         strcmp(h0->modality, "RTSTRUCT") == 0 ? ": give it as the mask" : "");
    if (strcmp(h0->modality, "SEG") == 0)
        return mmdx_fail(MMDX_EFORMAT,
                         "%s: this is a Segmentation (0008,0060 SEG), not an image: give it as the mask", p0);
    for (size_t i = 0; i < r->n_files; i++)
        if ((rc = mmdx_dicom_check_syntax(r->files[i])) < 0)
            return rc;
    if ((rc = check_pixel_format(p0, h0)) < 0)
        return rc;
    if (h0->has_spacing && !(h0->spacing[0] > 0 && h0->spacing[1] > 0))
        return mmdx_fail(MMDX_EFORMAT, "%s: (0028,0030) Pixel Spacing %g\\%g is not positive", p0,
                         h0->spacing[0], h0->spacing[1]);

    double o[6] = {1, 0, 0, 0, 1, 0}, normal[3] = {0, 0, 1};
    if (h0->has_orientation) {
        memcpy(o, h0->orientation, sizeof o);
        if ((rc = check_orientation(p0, o, normal)) < 0)
            return rc;
    }
    size_t total = 0;
    for (size_t i = 0; i < r->n_files; i++)
        total += mmdx_dicom_get_header(r->files[i])->frames;
    if (r->n_files > 1 && total != r->n_files)
        return mmdx_fail(MMDX_EFORMAT, "%s: a series of several files must hold single-frame images", r->path);
    if ((rc = check_voxel_limit(r, h0, total)) < 0)
        return rc;
    for (size_t i = 0; i < r->n_files; i++) {
        const mmdx_dicom_header *h = mmdx_dicom_get_header(r->files[i]);
        if (!h->compressed && (rc = check_pixel_length(mmdx_dicom_path(r->files[i]), h, h->stored_pixel_bytes)) < 0)
            return rc;
    }
    r->planes = calloc(total, sizeof *r->planes);
    if (!r->planes)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    r->n_planes = total;

    /* Every file must match the first one. */
    for (size_t i = 1; i < r->n_files; i++) {
        const mmdx_dicom_header *h = mmdx_dicom_get_header(r->files[i]);
        const char *p = mmdx_dicom_path(r->files[i]);
        if (h->rows != h0->rows || h->columns != h0->columns)
            return mmdx_fail(MMDX_EFORMAT, "%s: (0028,0010)/(0028,0011) size %ux%u differs from %ux%u in %s", p,
                             h->columns, h->rows, h0->columns, h0->rows, p0);
        if (h->samples_per_pixel != h0->samples_per_pixel || h->bits_allocated != h0->bits_allocated ||
            h->pixel_kind != h0->pixel_kind)
            return mmdx_fail(MMDX_EFORMAT, "%s: pixel format (0028,0002)/(0028,0100) differs from %s", p, p0);
        if (h->has_spacing != h0->has_spacing ||
            (h->has_spacing && (fabs(h->spacing[0] - h0->spacing[0]) > 1e-4 * h0->spacing[0] + 1e-6 ||
                                fabs(h->spacing[1] - h0->spacing[1]) > 1e-4 * h0->spacing[1] + 1e-6)))
            return mmdx_fail(MMDX_EFORMAT, "%s: (0028,0030) Pixel Spacing %g\\%g differs from %g\\%g in %s", p,
                             h->spacing[0], h->spacing[1], h0->spacing[0], h0->spacing[1], p0);
        if (!h->has_orientation != !h0->has_orientation)
            return mmdx_fail(MMDX_EFORMAT, "%s: (0020,0037) Image Orientation (Patient) present in only some files",
                             p);
        for (int k = 0; h->has_orientation && k < 6; k++)
            if (fabs(h->orientation[k] - h0->orientation[k]) > 1e-4)
                return mmdx_fail(MMDX_EFORMAT, "%s: (0020,0037) Image Orientation (Patient) differs from %s", p,
                                 p0);
        if (!h->has_position)
            return mmdx_fail(MMDX_EFORMAT,
                             "%s: (0020,0032) Image Position (Patient) is missing: cannot order the slices", p);
    }
    if (r->n_files > 1 && !h0->has_position)
        return mmdx_fail(MMDX_EFORMAT, "%s: (0020,0032) Image Position (Patient) is missing: cannot order the slices",
                         p0);

    /* Plane positions. */
    double step_default = h0->spacing_between_slices > 0 ? h0->spacing_between_slices
                          : h0->slice_thickness > 0      ? h0->slice_thickness
                                                         : 1.0;
    for (size_t i = 0, k = 0; i < r->n_files; i++) {
        const mmdx_dicom_header *h = mmdx_dicom_get_header(r->files[i]);
        for (uint32_t fr = 0; fr < h->frames; fr++, k++) {
            plane *pl = &r->planes[k];
            pl->file = i;
            pl->frame = fr;
            if (h->frame_position) {
                memcpy(pl->pos, h->frame_position + 3 * fr, sizeof pl->pos);
                for (int c = 0; h->frame_orientation && c < 6; c++)
                    if (fabs(h->frame_orientation[6 * fr + c] - h0->orientation[c]) > 1e-4)
                        return mmdx_fail(MMDX_EFORMAT,
                                         "%s: frame %u: (0020,0037) Image Orientation (Patient) differs from "
                                         "frame 1",
                                         mmdx_dicom_path(r->files[i]), fr + 1);
            } else if (h->frame_offset) {
                for (int c = 0; c < 3; c++)
                    pl->pos[c] = h->position[c] + h->frame_offset[fr] * normal[c];
            } else if (h->frames > 1) {
                /* Frames without positions: stacked at the nominal spacing. */
                for (int c = 0; c < 3; c++)
                    pl->pos[c] = h->position[c] + fr * step_default * normal[c];
            } else {
                memcpy(pl->pos, h->position, sizeof pl->pos);
            }
            pl->along = dot(pl->pos, normal);
        }
    }
    qsort(r->planes, r->n_planes, sizeof *r->planes, cmp_plane);

    double step = step_default;
    if (r->n_planes > 1) {
        double first = r->planes[1].along - r->planes[0].along;
        double sum = 0;
        for (size_t k = 1; k < r->n_planes; k++) {
            const plane *a = &r->planes[k - 1], *b = &r->planes[k];
            const char *pa = mmdx_dicom_path(r->files[a->file]), *pb = mmdx_dicom_path(r->files[b->file]);
            double d = b->along - a->along;
            if (d < 1e-3)
                return mmdx_fail(MMDX_EFORMAT,
                                 "%s: two slices at the same position %.3f mm along the normal: %s frame %u "
                                 "and %s frame %u (duplicate or mixed acquisitions)",
                                 r->path, b->along, pa, a->frame + 1, pb, b->frame + 1);
            if (fabs(d - first) > 0.01 * first + 0.01)
                return mmdx_fail(MMDX_EFORMAT,
                                 "%s: uneven slice spacing: %.4f mm between %s and %s, %.4f mm between the "
                                 "first two slices (missing slice?) (0020,0032)",
                                 r->path, d, pa, pb, first);
            /* The step between slices must follow the normal (no gantry tilt). */
            double off[3];
            for (int c = 0; c < 3; c++)
                off[c] = b->pos[c] - a->pos[c] - d * normal[c];
            if (sqrt(dot(off, off)) > 0.01 * d + 0.01)
                return mmdx_fail(MMDX_EFORMAT,
                                 "%s: slice %s is offset %.3f mm across the slice normal from the previous one "
                                 "(tilted or sheared acquisition) (0020,0032)",
                                 r->path, pb, sqrt(dot(off, off)));
            sum += d;
        }
        step = sum / (double)(r->n_planes - 1);
    }

    memset(g, 0, sizeof *g);
    g->nx = h0->columns;
    g->ny = h0->rows;
    g->nz = r->n_planes;
    if (h0->has_spacing) {
        g->spacing[0] = h0->spacing[1];
        g->spacing[1] = h0->spacing[0];
    } else {
        g->spacing[0] = g->spacing[1] = 1.0;
        info->spacing_assumed = 1;
    }
    g->spacing[2] = step;
    memcpy(g->origin, r->planes[0].pos, sizeof g->origin);
    for (int c = 0; c < 3; c++) {
        g->direction[c * 3 + 0] = o[c];
        g->direction[c * 3 + 1] = o[3 + c];
        g->direction[c * 3 + 2] = normal[c];
    }
    return 0;
}

typedef struct decode_error {
    int code;
    char message[MMDX_ERROR_MESSAGE_MAX];
} decode_error;

/* Decode file i into the planes the sort gave its frames. */
static int decode_file(reader *r, size_t i, mmdx_volume *v, const size_t *slot, const size_t *base)
{
    mmdx_dicom_file *f = r->files[i];
    const void *buf = NULL;
    size_t len = 0;
    int rc = mmdx_dicom_decode(f, &buf, &len);
    if (rc < 0)
        return rc;
    const mmdx_dicom_header *h = mmdx_dicom_get_header(f);
    const char *p = mmdx_dicom_path(f);
    if ((rc = check_pixel_format(p, h)) < 0)
        return rc;
    if ((rc = check_pixel_length(p, h, len)) < 0)
        return rc;
    value_map vm;
    init_value_map(h, &vm);
    size_t px = (size_t)h->rows * h->columns;
    for (uint32_t fr = 0; fr < h->frames; fr++)
        convert_frame(h, &vm, buf, fr, v->data + slot[base[i] + fr] * px);
    return 0;
}

static void fill_info(const reader *r, mmdx_dicom_volume_info *info)
{
    const mmdx_dicom_header *h0 = mmdx_dicom_get_header(r->files[0]);
    snprintf(info->series_uid, sizeof info->series_uid, "%s", h0->series_uid);
    snprintf(info->frame_of_reference_uid, sizeof info->frame_of_reference_uid, "%s",
             h0->frame_of_reference_uid);
    snprintf(info->modality, sizeof info->modality, "%s", h0->modality);
    snprintf(info->photometric, sizeof info->photometric, "%s", h0->photometric);
    snprintf(info->transfer_syntax, sizeof info->transfer_syntax, "%s", h0->transfer_syntax);
    info->n_objects = r->n_files;
    value_map vm;
    init_value_map(h0, &vm);
    info->rescaled = vm.use_lut || h0->has_rescale;
    info->inverted = vm.invert;
    info->colour = h0->samples_per_pixel == 3;
}

static int read_opened(mmdx_volume **out, mmdx_dicom_volume_info *info_out, reader r, mmdx_dicom_volume_info info,
                       int rc);

int mmdx_dicom_read_volume(mmdx_volume **out, mmdx_dicom_volume_info *info_out, const char *path,
                           const mmdx_dicom_read_options *opt)
{
    *out = NULL;
    mmdx_dicom_volume_info info;
    memset(&info, 0, sizeof info);
    reader r = {.path = path, .opt = opt};
    struct stat st;
    int rc;
    if (stat(path, &st) != 0)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        rc = open_folder(&r, &info);
    } else {
        r.files = calloc(1, sizeof *r.files);
        if (!r.files)
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        rc = mmdx_dicom_open(&r.files[0], path);
        if (rc == 0)
            r.n_files = 1;
    }
    return read_opened(out, info_out, r, info, rc);
}

int mmdx_dicom_read_memory(mmdx_volume **out, mmdx_dicom_volume_info *info_out, const void *data, size_t len,
                           const char *name)
{
    *out = NULL;
    mmdx_dicom_volume_info info;
    memset(&info, 0, sizeof info);
    reader r = {.path = name, .opt = NULL};
    r.files = calloc(1, sizeof *r.files);
    if (!r.files)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    int rc = mmdx_dicom_open_memory(&r.files[0], data, len, name);
    if (rc == 0)
        r.n_files = 1;
    return read_opened(out, info_out, r, info, rc);
}

/* Build the volume from the files `r` holds (rc: the opening's result). */
static int read_opened(mmdx_volume **out, mmdx_dicom_volume_info *info_out, reader r, mmdx_dicom_volume_info info,
                       int rc)
{
    const char *path = r.path;
    const mmdx_dicom_read_options *opt = r.opt;
    mmdx_grid g;
    if (rc == 0)
        rc = build_planes(&r, &g, &info);
    mmdx_volume *v = NULL;
    if (rc == 0 && (rc = mmdx_volume_new(&v, &g)) < 0)
        rc = mmdx_fail(rc, "%s: cannot allocate a %zux%zux%zu volume", path, g.nx, g.ny, g.nz);
    size_t *slot = NULL, *base = NULL;
    if (rc == 0) {
        fill_info(&r, &info);
        slot = malloc(r.n_planes * sizeof *slot);
        base = malloc(r.n_files * sizeof *base);
        if (!slot || !base)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    if (rc < 0) {
        free(slot);
        free(base);
        mmdx_volume_free(v);
        reader_free(&r);
        return rc;
    }
    for (size_t i = 0, k = 0; i < r.n_files; i++) {
        base[i] = k;
        k += mmdx_dicom_get_header(r.files[i])->frames;
    }
    for (size_t k = 0; k < r.n_planes; k++)
        slot[base[r.planes[k].file] + r.planes[k].frame] = k;

    decode_error first = {0};
    int threads = opt && opt->n_threads > 1 ? opt->n_threads : 1;
    long n_files = (long)r.n_files;
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && n_files > 1)
    for (long i = 0; i < n_files; i++) {
        int failed;
#pragma omp critical(mmdx_dicom_decode_error)
        failed = first.code;
        if (!failed && decode_file(&r, (size_t)i, v, slot, base) < 0) {
#pragma omp critical(mmdx_dicom_decode_error)
            {
                if (!first.code) {
                    snprintf(first.message, sizeof first.message, "%s", mmdx_last_error());
                    first.code = mmdx_last_error_code() < 0 ? mmdx_last_error_code() : MMDX_ERROR;
                }
            }
        }
        /* Each file is decoded once: release its pixels now, not at the end. */
        mmdx_dicom_close(r.files[i]);
        r.files[i] = NULL;
    }
    free(slot);
    free(base);
    reader_free(&r);
    if (first.code) {
        mmdx_volume_free(v);
        return mmdx_fail(first.code, "%s", first.message);
    }
    *out = v;
    if (info_out)
        *info_out = info;
    return 0;
}
