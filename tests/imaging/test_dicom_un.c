/*
 * tests/imaging/test_dicom_un.c — elements stored with VR UN are read
 * through their real VR.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The files are made here, with DCMTK's own tools, from files of the shared
 * data: a tool run with a data dictionary that lacks some tags reads them
 * from an implicit-VR file as UN and writes them so into an explicit-VR
 * file, as a writer that does not know a tag does. dcmdump (full
 * dictionary) confirms each chosen element is UN in the file made; mmdx
 * must then read everything as from the original.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom.h"
#include "dicom_series.h"
#include "error.h"
#include "testsupport.h"

/* The dictionary DCMTK's tools load: $DCMDICTPATH, else DCMTK's built-in default (first file). */
static void dictionary_path(char *out, size_t size)
{
    const char *env = getenv("DCMDICTPATH");
    const char *list = env && *env ? env : MMDX_DCMTK_DICT_DEFAULT_PATH;
    size_t n = strcspn(list, ":");
    ck_assert_msg(n > 0 && n < size, "no DICOM data dictionary path in '%s'", list);
    memcpy(out, list, n);
    out[n] = '\0';
}

/* Copy the dictionary without the entries of `tags` ("gggg,eeee", NULL-terminated). */
static void write_dictionary_without(const char *path, const char *const *tags)
{
    char dict[4096];
    dictionary_path(dict, sizeof dict);
    FILE *in = fopen(dict, "r"), *out = fopen(path, "w");
    ck_assert_msg(in && out, "cannot copy the data dictionary %s to %s", dict, path);
    char line[1024];
    size_t dropped = 0;
    while (fgets(line, sizeof line, in)) {
        int drop = 0;
        for (size_t i = 0; tags[i]; i++)
            if (line[0] == '(' && !strncasecmp(line + 1, tags[i], 9) && line[10] == ')')
                drop = 1;
        dropped += drop;
        if (!drop)
            fputs(line, out);
    }
    fclose(in);
    fclose(out);
    size_t want = 0;
    while (tags[want])
        want++;
    ck_assert_msg(dropped == want, "%zu of %zu tags found in %s", dropped, want, dict);
}

/*
 * `tool` (a DCMTK command taking input and output paths) run on `src` with a
 * dictionary lacking `tags`, into dir/name; every tag must then be stored as
 * UN there (somewhere in the file: nested in sequences too, or as a UN
 * sequence). Returns the malloc'd path.
 */
static char *make_un_file(const char *dir, const char *src, const char *tool, const char *name,
                          const char *const *tags)
{
    char dict[1024], cmd[8192];
    snprintf(dict, sizeof dict, "%s/%s.dic", dir, name);
    write_dictionary_without(dict, tags);
    char *out = malloc(1024);
    snprintf(out, 1024, "%s/%s", dir, name);
    snprintf(cmd, sizeof cmd, "DCMDICTPATH='%s' %s '%s' '%s'", dict, tool, src, out);
    char *err = NULL;
    ck_assert_msg(mmdx_test_run(cmd, NULL, &err) == 0, "%s failed: %s", cmd, err ? err : "");
    free(err);
    snprintf(cmd, sizeof cmd, "dcmdump '%s'", out);
    char *dump = NULL;
    ck_assert_int_eq(mmdx_test_run(cmd, &dump, NULL), 0);
    for (size_t i = 0; tags[i]; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "(%s) UN ", tags[i]);
        for (char *c = needle; *c != ')'; c++) /* dcmdump prints hex digits in lower case */
            *c = (char)tolower((unsigned char)*c);
        ck_assert_msg(strstr(dump, needle) != NULL, "%s: (%s) is not stored as UN", name, tags[i]);
    }
    free(dump);
    return out;
}

/* As make_un_file, from an implicit-VR copy of `orig` with explicit item
 * lengths (a sequence of undefined length cannot become a UN value). */
static char *make_un_file_via_implicit(const char *dir, const char *orig, const char *name, const char *const *tags)
{
    char src[1024], cmd[4096];
    snprintf(src, sizeof src, "%s/%s.implicit", dir, name);
    snprintf(cmd, sizeof cmd, "dcmconv +ti +e '%s' '%s'", orig, src);
    ck_assert_msg(mmdx_test_run(cmd, NULL, NULL) == 0, "%s failed", cmd);
    return make_un_file(dir, src, "dcmconv +te", name, tags);
}

static char *data(const char *rel)
{
    mmdx_test_data_or_skip();
    return mmdx_test_data_path(rel);
}

static const mmdx_dicom_header *open_ok(mmdx_dicom_file **f, const char *path)
{
    ck_assert_msg(mmdx_dicom_open(f, path) == 0, "%s: %s", path, mmdx_last_error());
    return mmdx_dicom_get_header(*f);
}

static void assert_doubles_equal(const double *a, const double *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(a[i] == b[i], "%s[%zu]: %.17g, original %.17g", what, i, b[i], a[i]);
}

/* Everything the reader takes from a header, UN copy against original. */
static void assert_same_header(const mmdx_dicom_header *a, const mmdx_dicom_header *b)
{
    ck_assert_str_eq(b->sop_class_uid, a->sop_class_uid);
    ck_assert_str_eq(b->series_uid, a->series_uid);
    ck_assert_str_eq(b->frame_of_reference_uid, a->frame_of_reference_uid);
    ck_assert_str_eq(b->modality, a->modality);
    ck_assert_str_eq(b->photometric, a->photometric);
    ck_assert_uint_eq(b->rows, a->rows);
    ck_assert_uint_eq(b->columns, a->columns);
    ck_assert_uint_eq(b->frames, a->frames);
    ck_assert_uint_eq(b->samples_per_pixel, a->samples_per_pixel);
    ck_assert_uint_eq(b->bits_allocated, a->bits_allocated);
    ck_assert_uint_eq(b->bits_stored, a->bits_stored);
    ck_assert_uint_eq(b->high_bit, a->high_bit);
    ck_assert_uint_eq(b->pixel_representation, a->pixel_representation);
    ck_assert_int_eq(b->has_position, a->has_position);
    ck_assert_int_eq(b->has_orientation, a->has_orientation);
    ck_assert_int_eq(b->has_spacing, a->has_spacing);
    assert_doubles_equal(a->position, b->position, 3, "position");
    assert_doubles_equal(a->orientation, b->orientation, 6, "orientation");
    assert_doubles_equal(a->spacing, b->spacing, 2, "spacing");
    ck_assert_msg((a->frame_offset == NULL) == (b->frame_offset == NULL), "Grid Frame Offset Vector read in one only");
    if (a->frame_offset)
        assert_doubles_equal(a->frame_offset, b->frame_offset, a->frames, "Grid Frame Offset Vector");
}

static void assert_same_volume(const char *original, const char *copy)
{
    mmdx_volume *a = NULL, *b = NULL;
    ck_assert_msg(mmdx_dicom_read_volume(&a, NULL, original, NULL) == 0, "%s: %s", original, mmdx_last_error());
    ck_assert_msg(mmdx_dicom_read_volume(&b, NULL, copy, NULL) == 0, "%s: %s", copy, mmdx_last_error());
    ck_assert_uint_eq(b->grid.nx, a->grid.nx);
    ck_assert_uint_eq(b->grid.ny, a->grid.ny);
    ck_assert_uint_eq(b->grid.nz, a->grid.nz);
    assert_doubles_equal(a->grid.spacing, b->grid.spacing, 3, "grid spacing");
    assert_doubles_equal(a->grid.origin, b->grid.origin, 3, "grid origin");
    size_t n = mmdx_grid_count(&a->grid);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(a->data[i] == b->data[i], "%s: voxel %zu is %g, original %g", copy, i, (double)b->data[i],
                      (double)a->data[i]);
    mmdx_volume_free(a);
    mmdx_volume_free(b);
}

/* rtdose.dcm (15 frames 5 mm apart), made by `tool` with `tags` as UN:
 * read as the original, in transfer syntax `ts`. */
static void rt_dose_copy_reads_as_original(const char *tool, const char *name, const char *const *tags,
                                           const char *ts)
{
    char *src = data("dicom/pydicom_debian/rtdose.dcm");
    char *dir = mmdx_test_tmpdir();
    char *un = make_un_file(dir, src, tool, name, tags);
    mmdx_dicom_file *fa = NULL, *fb = NULL;
    const mmdx_dicom_header *a = open_ok(&fa, src), *b = open_ok(&fb, un);
    ck_assert_str_eq(b->transfer_syntax, ts);
    ck_assert_str_eq(b->modality, "RTDOSE");
    ck_assert_uint_eq(b->rows, 10);
    ck_assert_uint_eq(b->bits_allocated, 32);
    ck_assert_uint_eq(b->frames, 15);
    ck_assert_ptr_nonnull(b->frame_offset);
    ck_assert_double_eq(b->frame_offset[1], 5.0);
    ck_assert_double_eq(b->frame_offset[14], 70.0);
    assert_same_header(a, b);
    mmdx_dicom_close(fa);
    mmdx_dicom_close(fb);
    assert_same_volume(src, un);
    mmdx_test_rmtree(dir);
    free(dir);
    free(un);
    free(src);
}

/* The case of the issue: an RLE RT Dose whose Grid Frame Offset Vector (and
 * geometry, identity, a sequence) arrive as UN. */
START_TEST(rle_rt_dose_with_un_text_elements)
{
    static const char *const tags[] = {"3004,000C", "0020,0032", "0020,0037", "0028,0030", "0008,0060",
                                       "0008,0016", "0020,000E", "0020,0052", "300C,0002", NULL};
    rt_dose_copy_reads_as_original("dcmcrle", "rtdose_rle_un.dcm", tags, "1.2.840.10008.1.2.5");
}
END_TEST

/* Binary values (US) and the frame count (IS) as UN, uncompressed. */
START_TEST(rt_dose_with_un_binary_elements)
{
    static const char *const tags[] = {"0028,0002", "0028,0004", "0028,0008", "0028,0010", "0028,0011", "0028,0100",
                                       "0028,0101", "0028,0102", "0028,0103", "3004,000C", NULL};
    rt_dose_copy_reads_as_original("dcmconv +te", "rtdose_explicit_un.dcm", tags, "1.2.840.10008.1.2.1");
}
END_TEST

/* An RT Structure Set: a whole sequence stored as UN (its items inside the
 * UN value), contour points and references as UN inside known sequences. */
START_TEST(rtstruct_with_un_sequence_and_contours)
{
    char *orig = data("dicom/pydicom_debian/rtstruct.dcm");
    char *dir = mmdx_test_tmpdir();
    static const char *const tags[] = {"3006,0020", "3006,0050", "3006,0046", "3006,0084", "0008,0060", NULL};
    char *un = make_un_file_via_implicit(dir, orig, "rtstruct_un.dcm", tags);
    mmdx_rtstruct *a = NULL, *b = NULL;
    ck_assert_msg(mmdx_rtstruct_read(&a, orig) == 0, "%s", mmdx_last_error());
    ck_assert_msg(mmdx_rtstruct_read(&b, un) == 0, "%s", mmdx_last_error());
    ck_assert_str_eq(b->frame_of_reference_uid, a->frame_of_reference_uid);
    ck_assert_uint_eq(b->n_rois, a->n_rois);
    size_t points = 0;
    for (size_t i = 0; i < a->n_rois; i++) {
        ck_assert_int_eq(b->rois[i].number, a->rois[i].number);
        ck_assert_str_eq(b->rois[i].name, a->rois[i].name);
        ck_assert_uint_eq(b->rois[i].n_contours, a->rois[i].n_contours);
        for (size_t k = 0; k < a->rois[i].n_contours; k++) {
            const mmdx_rt_contour *ca = &a->rois[i].contours[k], *cb = &b->rois[i].contours[k];
            ck_assert_uint_eq(cb->n_points, ca->n_points);
            ck_assert_str_eq(cb->geometric_type, ca->geometric_type);
            assert_doubles_equal(ca->points, cb->points, 3 * ca->n_points, "contour points");
            points += ca->n_points;
        }
    }
    ck_assert_uint_gt(points, 0);
    mmdx_rtstruct_free(a);
    mmdx_rtstruct_free(b);
    mmdx_test_rmtree(dir);
    free(dir);
    free(un);
    free(orig);
}
END_TEST

/* A segmentation: the shared functional groups as a UN sequence, per-frame
 * positions and segment numbers, the segmentation type and label as UN. */
START_TEST(seg_with_un_functional_groups)
{
    char *orig = data("dicom/pydicom_data/liver.dcm");
    char *dir = mmdx_test_tmpdir();
    static const char *const tags[] = {"0062,0001", "0062,0005", "0062,000B", "0020,0032", "5200,9229",
                                       "0008,0060", NULL};
    char *un = make_un_file_via_implicit(dir, orig, "liver_un.dcm", tags);
    mmdx_seg *a = NULL, *b = NULL;
    ck_assert_msg(mmdx_seg_read(&a, orig) == 0, "%s", mmdx_last_error());
    ck_assert_msg(mmdx_seg_read(&b, un) == 0, "%s", mmdx_last_error());
    ck_assert_uint_eq(b->n_segments, a->n_segments);
    for (size_t i = 0; i < a->n_segments; i++)
        ck_assert_str_eq(b->segments[i].label, a->segments[i].label);
    ck_assert_int_eq(b->has_spacing, a->has_spacing);
    assert_doubles_equal(a->spacing, b->spacing, 2, "SEG spacing");
    ck_assert_uint_eq(b->n_frames, a->n_frames);
    size_t npix = (size_t)a->rows * a->columns, set = 0;
    for (size_t i = 0; i < a->n_frames; i++) {
        ck_assert_uint_eq(b->frames[i].segment, a->frames[i].segment);
        ck_assert_int_eq(b->frames[i].has_position, 1);
        assert_doubles_equal(a->frames[i].position, b->frames[i].position, 3, "frame position");
        ck_assert_msg(!memcmp(a->frames[i].pixels, b->frames[i].pixels, npix), "frame %zu differs", i + 1);
        for (size_t k = 0; k < npix; k++)
            set += a->frames[i].pixels[k];
    }
    ck_assert_uint_gt(set, 0);
    mmdx_seg_free(a);
    mmdx_seg_free(b);
    mmdx_test_rmtree(dir);
    free(dir);
    free(un);
    free(orig);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("imaging_dicom_un");
    TCase *t = tcase_create("un");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, rle_rt_dose_with_un_text_elements);
    tcase_add_test(t, rt_dose_with_un_binary_elements);
    tcase_add_test(t, rtstruct_with_un_sequence_and_contours);
    tcase_add_test(t, seg_with_un_functional_groups);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
