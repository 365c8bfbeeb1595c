/*
 * imaging/dicom/image.cpp — the image part of the DICOM shim: opening a file
 * or an in-memory object with DCMTK (VR UN re-read, see un.h), the attributes
 * an image reader needs (header, modality LUT, series geometry, per-frame
 * functional groups), the decoded native pixel data, and the mmdx_dicom_* C
 * API of imaging/dicom.h. It only extracts; geometry, rescale and masks are
 * built in C.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "shim_internal.h"
#include "un.h"

#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmdata/dccodec.h"
#include "dcmtk/dcmdata/dcobject.h"

namespace {

/* Decimal/integer strings are parsed here, not by DCMTK, so that a value
 * such as "1A" is refused with its tag instead of silently read as 1. */
int parse_numbers(const char *path, const DcmTagKey &key, const OFString &text, double *vals,
                  size_t want, size_t *got)
{
    size_t n = 0;
    const char *p = text.c_str();
    while (*p) {
        const char *end = strchr(p, '\\');
        std::string field = end ? std::string(p, (size_t)(end - p)) : std::string(p);
        size_t a = field.find_first_not_of(' ');
        size_t b = field.find_last_not_of(' ');
        field = (a == std::string::npos) ? std::string() : field.substr(a, b - a + 1);
        char *stop = nullptr;
        errno = 0;
        double v = strtod(field.c_str(), &stop);
        if (field.empty() || *stop != '\0' || errno == ERANGE || !std::isfinite(v))
            return mmdx_fail(MMDX_EFORMAT, "%s: %s: '%s' is not a number", path,
                             tag_name(key).c_str(), field.c_str());
        if (n < want)
            vals[n] = v;
        n++;
        if (!end)
            break;
        p = end + 1;
    }
    *got = n;
    return 0;
}

/* The text of an element (UN elements were re-read with their real VR at load). */
bool get_text(DcmItem *item, const DcmTagKey &key, OFString &text)
{
    DcmElement *el = nullptr;
    if (!item || item->findAndGetElement(key, el).bad() || !el)
        return false;
    return el->getOFStringArray(text).good();
}

/* 1 and the values when present with at least `want` values, 0 when absent
 * or empty, negative when malformed or too short. */
int get_numbers(const char *path, DcmItem *item, const DcmTagKey &key, double *vals, size_t want)
{
    OFString text;
    if (!get_text(item, key, text) || text.empty())
        return 0;
    size_t got = 0;
    int rc = parse_numbers(path, key, text, vals, want, &got);
    if (rc < 0)
        return rc;
    if (got < want)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s holds %zu values, expected %zu", path,
                         tag_name(key).c_str(), got, want);
    return 1;
}

int get_string(DcmItem *item, const DcmTagKey &key, char *dst, size_t size)
{
    OFString text;
    dst[0] = '\0';
    if (!get_text(item, key, text))
        return 0;
    size_t cut = text.find('\\');
    if (cut != OFString_npos)
        text.erase(cut);
    copy_str(dst, size, text);
    return text.empty() ? 0 : 1;
}

int get_u16(const char *path, DcmItem *item, const DcmTagKey &key, uint32_t *out, int required)
{
    Uint16 v = 0;
    if (item->findAndGetUint16(key, v).good()) {
        *out = v;
        return 1;
    }
    if (required)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s is missing", path, tag_name(key).c_str());
    return 0;
}

DcmItem *seq_item(DcmItem *item, const DcmTagKey &key, unsigned long i)
{
    DcmItem *out = nullptr;
    if (!item || item->findAndGetSequenceItem(key, out, (signed long)i).bad())
        return nullptr;
    return out;
}

/* The item holding a functional-group macro: per-frame first, then shared. */
DcmItem *fg_item(DcmItem *frame_groups, DcmItem *shared, const DcmTagKey &macro)
{
    DcmItem *it = seq_item(frame_groups, macro, 0);
    return it ? it : seq_item(shared, macro, 0);
}

bool file_has_preamble(const char *path, unsigned char head[132], size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *n = 0;
        return false;
    }
    *n = fread(head, 1, 132, fp);
    fclose(fp);
    return *n == 132 && memcmp(head + 128, "DICM", 4) == 0;
}

/* Without a preamble, DCMTK will try to read anything as a raw dataset;
 * only accept what starts like one (group 0002 or 0008, either endianness). */
bool looks_like_raw_dataset(const unsigned char *head, size_t n)
{
    if (n < 8)
        return false;
    unsigned le = head[0] | (head[1] << 8), be = (head[0] << 8) | head[1];
    return le == 0x0002 || le == 0x0008 || be == 0x0002 || be == 0x0008;
}

/* Names of transfer syntaxes newer than this DCMTK, for messages. */
const char *syntax_name_beyond_dcmtk(const char *uid)
{
    static const struct {
        const char *uid, *name;
    } known[] = {
        {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Lossless"},
        {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Lossless"},
        {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"},
        {"1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression"},
        {"1.2.840.10008.1.2.4.110", "JPEG XL Lossless"},
        {"1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"},
        {"1.2.840.10008.1.2.4.112", "JPEG XL"},
    };
    for (const auto &k : known)
        if (strcmp(uid, k.uid) == 0)
            return k.name;
    return "unknown to DCMTK " PACKAGE_VERSION;
}

/* Name the element where reading stopped: the last one DCMTK kept. */
int parse_failure(mmdx_dicom_file *f, const OFCondition &c)
{
    const char *path = f->path.c_str();
    DcmItem *parts[2] = {f->ff.getDataset(), f->ff.getMetaInfo()};
    for (DcmItem *part : parts) {
        unsigned long n_el = part ? part->card() : 0;
        if (n_el > 0) {
            DcmElement *last = part->getElement(n_el - 1);
            if (last)
                return mmdx_fail(MMDX_EFORMAT,
                                 "%s: cannot parse DICOM (%s) at or after element %s: the file is "
                                 "truncated or malformed",
                                 path, c.text(), tag_name(last->getTag()).c_str());
        }
    }
    return mmdx_fail(MMDX_EFORMAT, "%s: cannot parse DICOM (%s): the file is truncated or malformed", path,
                     c.text());
}

int load(mmdx_dicom_file *f)
{
    ensure_codecs();
    /* Messages name f->path; the bytes come from f->source (a memfd for memory input). */
    const char *path = f->path.c_str();
    const char *source = f->source.empty() ? path : f->source.c_str();
    unsigned char head[132];
    size_t n = 0;
    errno = 0;
    FILE *probe = fopen(source, "rb");
    if (!probe)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    fclose(probe);
    bool preamble = file_has_preamble(source, head, &n);
    if (!preamble && !looks_like_raw_dataset(head, n))
        return mmdx_fail(MMDX_EFORMAT,
                         "%s: not a DICOM file (no 'DICM' marker at byte 128 and no dataset at the start)",
                         path);
    OFCondition c = f->ff.loadFile(OFFilename(source), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                   ERM_autoDetect);
    if (c.bad())
        return parse_failure(f, c);
    /* Large values are read lazily from the file, which a deflated stream
     * cannot serve: load those at once. */
    if (DcmXfer(f->ff.getDataset()->getOriginalXfer()).getStreamCompression() != ESC_none) {
        c = f->ff.loadAllDataIntoMemory();
        if (c.bad())
            return mmdx_fail(MMDX_EFORMAT, "%s: cannot inflate the deflated dataset (%s)", path, c.text());
    }
    DcmDataset *ds = f->ff.getDataset();
    mmdx_dicom__reparse_un(ds, DcmXfer(ds->getOriginalXfer()).isBigEndian());
    return 0;
}

/* The element holding the pixels of this kind. */
DcmTagKey pixel_key(const mmdx_dicom_header *h)
{
    return h->pixel_kind == MMDX_DICOM_PIXELS_INTEGER ? DCM_PixelData
           : h->pixel_kind == MMDX_DICOM_PIXELS_FLOAT ? DCM_FloatPixelData
                                                      : DCM_DoubleFloatPixelData;
}

int read_header(mmdx_dicom_file *f)
{
    const char *path = f->path.c_str();
    DcmDataset *ds = f->ff.getDataset();
    mmdx_dicom_header *h = &f->h;
    memset(h, 0, sizeof *h);
    int rc;

    DcmXfer xfer(ds->getOriginalXfer());
    OFString ts;
    if (f->ff.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts).good() && !ts.empty()) {
        copy_str(h->transfer_syntax, sizeof h->transfer_syntax, ts);
        DcmXfer named(ts.c_str());
        snprintf(h->transfer_syntax_name, sizeof h->transfer_syntax_name, "%s",
                 named.getXfer() == EXS_Unknown ? syntax_name_beyond_dcmtk(ts.c_str()) : named.getXferName());
    } else {
        snprintf(h->transfer_syntax, sizeof h->transfer_syntax, "%s", xfer.getXferID());
        snprintf(h->transfer_syntax_name, sizeof h->transfer_syntax_name, "%s", xfer.getXferName());
    }
    get_string(ds, DCM_SOPClassUID, h->sop_class_uid, sizeof h->sop_class_uid);
    get_string(ds, DCM_SOPInstanceUID, h->sop_instance_uid, sizeof h->sop_instance_uid);
    get_string(ds, DCM_StudyInstanceUID, h->study_uid, sizeof h->study_uid);
    get_string(ds, DCM_SeriesInstanceUID, h->series_uid, sizeof h->series_uid);
    get_string(ds, DCM_FrameOfReferenceUID, h->frame_of_reference_uid, sizeof h->frame_of_reference_uid);
    get_string(ds, DCM_Modality, h->modality, sizeof h->modality);
    get_string(ds, DCM_PhotometricInterpretation, h->photometric, sizeof h->photometric);
    double num[6];
    if ((rc = get_numbers(path, ds, DCM_InstanceNumber, num, 1)) < 0)
        return rc;
    h->instance_number = rc ? (int32_t)num[0] : 0;

    if (ds->tagExists(DCM_PixelData))
        h->pixel_kind = MMDX_DICOM_PIXELS_INTEGER;
    else if (ds->tagExists(DCM_FloatPixelData))
        h->pixel_kind = MMDX_DICOM_PIXELS_FLOAT;
    else if (ds->tagExists(DCM_DoubleFloatPixelData))
        h->pixel_kind = MMDX_DICOM_PIXELS_DOUBLE;
    h->compressed = xfer.isEncapsulated() ? 1 : 0;
    h->frames = 1;
    h->samples_per_pixel = 1;
    h->rescale_slope = 1.0;

    if (h->pixel_kind != MMDX_DICOM_PIXELS_NONE) {
        if ((rc = get_u16(path, ds, DCM_Rows, &h->rows, 1)) < 0 ||
            (rc = get_u16(path, ds, DCM_Columns, &h->columns, 1)) < 0)
            return rc;
        get_u16(path, ds, DCM_SamplesPerPixel, &h->samples_per_pixel, 0);
        if (h->pixel_kind == MMDX_DICOM_PIXELS_INTEGER) {
            if ((rc = get_u16(path, ds, DCM_BitsAllocated, &h->bits_allocated, 1)) < 0)
                return rc;
            h->bits_stored = h->bits_allocated;
            get_u16(path, ds, DCM_BitsStored, &h->bits_stored, 0);
            h->high_bit = h->bits_stored ? h->bits_stored - 1 : 0;
            get_u16(path, ds, DCM_HighBit, &h->high_bit, 0);
            get_u16(path, ds, DCM_PixelRepresentation, &h->pixel_representation, 0);
        } else {
            h->bits_allocated = h->bits_stored = h->pixel_kind == MMDX_DICOM_PIXELS_FLOAT ? 32 : 64;
            h->high_bit = h->bits_stored - 1;
        }
        get_u16(path, ds, DCM_PlanarConfiguration, &h->planar_configuration, 0);
        if ((rc = get_numbers(path, ds, DCM_NumberOfFrames, num, 1)) < 0)
            return rc;
        if (rc) {
            if (num[0] < 1 || num[0] > 1e7 || num[0] != std::floor(num[0]))
                return mmdx_fail(MMDX_EFORMAT, "%s: %s: %g is not a valid frame count", path,
                                 tag_name(DCM_NumberOfFrames).c_str(), num[0]);
            h->frames = (uint32_t)num[0];
        }
        /* The stored length, known before the value is loaded: lets the
         * reader refuse pixel data shorter than declared before it allocates
         * the volume the header promises. */
        DcmElement *px = nullptr;
        DcmTagKey key = pixel_key(h);
        if (!h->compressed && ds->findAndGetElement(key, px).good() && px)
            h->stored_pixel_bytes = px->getLength();
    }

    /* Geometry: top level, or the shared functional groups of an enhanced object. */
    DcmItem *shared = seq_item(ds, DCM_SharedFunctionalGroupsSequence, 0);
    DcmItem *measures = seq_item(shared, DCM_PixelMeasuresSequence, 0);
    DcmItem *position = seq_item(shared, DCM_PlanePositionSequence, 0);
    DcmItem *orientation = seq_item(shared, DCM_PlaneOrientationSequence, 0);
    DcmItem *transform = seq_item(shared, DCM_PixelValueTransformationSequence, 0);

    if ((rc = get_numbers(path, position ? position : ds, DCM_ImagePositionPatient, h->position, 3)) < 0)
        return rc;
    h->has_position = rc;
    if ((rc = get_numbers(path, orientation ? orientation : ds, DCM_ImageOrientationPatient,
                          h->orientation, 6)) < 0)
        return rc;
    h->has_orientation = rc;
    DcmItem *m = measures ? measures : ds;
    if ((rc = get_numbers(path, m, DCM_PixelSpacing, h->spacing, 2)) < 0)
        return rc;
    if (!rc) {
        if ((rc = get_numbers(path, ds, DCM_ImagerPixelSpacing, h->spacing, 2)) < 0)
            return rc;
        h->spacing_is_imager = rc;
    }
    h->has_spacing = rc;
    if ((rc = get_numbers(path, m, DCM_SliceThickness, num, 1)) < 0)
        return rc;
    h->slice_thickness = rc ? num[0] : 0;
    if ((rc = get_numbers(path, m, DCM_SpacingBetweenSlices, num, 1)) < 0)
        return rc;
    h->spacing_between_slices = rc ? num[0] : 0;

    DcmItem *t = transform ? transform : ds;
    double slope = 1, intercept = 0;
    int has_slope, has_intercept;
    if ((has_slope = get_numbers(path, t, DCM_RescaleSlope, &slope, 1)) < 0)
        return has_slope;
    if ((has_intercept = get_numbers(path, t, DCM_RescaleIntercept, &intercept, 1)) < 0)
        return has_intercept;
    h->has_rescale = has_slope || has_intercept;
    h->rescale_slope = slope;
    h->rescale_intercept = intercept;
    if (h->has_rescale && slope == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s is 0", path, tag_name(DCM_RescaleSlope).c_str());

    DcmItem *lut = seq_item(ds, DCM_ModalityLUTSequence, 0);
    if (lut && !h->has_rescale) {
        double d[3];
        const Uint16 *data = nullptr;
        unsigned long count = 0;
        if ((rc = get_numbers(path, lut, DCM_LUTDescriptor, d, 3)) <= 0)
            return rc < 0 ? rc
                          : mmdx_fail(MMDX_EFORMAT, "%s: %s in %s is missing", path,
                                      tag_name(DCM_LUTDescriptor).c_str(),
                                      tag_name(DCM_ModalityLUTSequence).c_str());
        /* The descriptor may be SS: the first mapped value then reads negative. */
        Uint16 d0 = (Uint16)(Sint32)d[0], d1 = (Uint16)(Sint32)d[1], d2 = (Uint16)(Sint32)d[2];
        if (lut->findAndGetUint16Array(DCM_LUTData, data, &count).bad() || !data)
            return mmdx_fail(MMDX_EFORMAT, "%s: %s in %s is missing", path,
                             tag_name(DCM_LUTData).c_str(), tag_name(DCM_ModalityLUTSequence).c_str());
        unsigned long entries = d0 ? d0 : 65536;
        if (count < entries)
            return mmdx_fail(MMDX_EFORMAT, "%s: %s holds %lu entries, %s says %lu", path,
                             tag_name(DCM_LUTData).c_str(), count, tag_name(DCM_LUTDescriptor).c_str(), entries);
        f->lut.assign(data, data + entries);
        h->lut_entries = (uint32_t)entries;
        /* The first mapped value is signed when the pixels are. */
        h->lut_first = h->pixel_representation ? (int16_t)d1 : (int32_t)d1;
        h->lut_bits = d2;
        h->lut_data = f->lut.data();
    }

    /* Per-frame values of enhanced multi-frame objects. */
    unsigned long n_pf = 0;
    DcmSequenceOfItems *pf = nullptr;
    if (ds->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, pf).good() && pf)
        n_pf = pf->card();
    if (n_pf > 0 && h->frames > 1 && n_pf != h->frames)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s has %lu items for %u frames", path,
                         tag_name(DCM_PerFrameFunctionalGroupsSequence).c_str(), n_pf, h->frames);
    if (n_pf > 0) {
        bool any_ori = false, any_rescale = false;
        unsigned long n_pos = 0;
        f->frame_position.assign(n_pf * 3, 0);
        f->frame_orientation.assign(n_pf * 6, 0);
        f->frame_slope.assign(n_pf, h->rescale_slope);
        f->frame_intercept.assign(n_pf, h->rescale_intercept);
        for (unsigned long i = 0; i < n_pf; i++) {
            DcmItem *fr = pf->getItem(i);
            DcmItem *pos = seq_item(fr, DCM_PlanePositionSequence, 0);
            if ((rc = get_numbers(path, pos, DCM_ImagePositionPatient, &f->frame_position[i * 3], 3)) < 0)
                return rc;
            n_pos += rc ? 1 : 0;
            if (n_pos != 0 && n_pos != i + 1)
                return mmdx_fail(MMDX_EFORMAT, "%s: %s: some frames have %s and others not", path,
                                 tag_name(DCM_PerFrameFunctionalGroupsSequence).c_str(),
                                 tag_name(DCM_ImagePositionPatient).c_str());
            DcmItem *ori = fg_item(fr, shared, DCM_PlaneOrientationSequence);
            if ((rc = get_numbers(path, ori, DCM_ImageOrientationPatient, &f->frame_orientation[i * 6], 6)) < 0)
                return rc;
            if (rc)
                any_ori = true;
            DcmItem *tr = seq_item(fr, DCM_PixelValueTransformationSequence, 0);
            if (tr) {
                if ((rc = get_numbers(path, tr, DCM_RescaleSlope, &f->frame_slope[i], 1)) < 0)
                    return rc;
                if (rc && f->frame_slope[i] == 0)
                    return mmdx_fail(MMDX_EFORMAT, "%s: frame %lu: %s is 0", path, i + 1,
                                     tag_name(DCM_RescaleSlope).c_str());
                int rc2 = get_numbers(path, tr, DCM_RescaleIntercept, &f->frame_intercept[i], 1);
                if (rc2 < 0)
                    return rc2;
                if (rc || rc2)
                    any_rescale = true;
            }
            if (!h->has_spacing && i == 0) {
                DcmItem *pm = seq_item(fr, DCM_PixelMeasuresSequence, 0);
                if ((rc = get_numbers(path, pm, DCM_PixelSpacing, h->spacing, 2)) < 0)
                    return rc;
                h->has_spacing = rc;
                if (rc && get_numbers(path, pm, DCM_SliceThickness, num, 1) == 1)
                    h->slice_thickness = num[0];
                if (rc && get_numbers(path, pm, DCM_SpacingBetweenSlices, num, 1) == 1)
                    h->spacing_between_slices = num[0];
            }
        }
        if (n_pos == n_pf)
            h->frame_position = f->frame_position.data();
        if (any_ori)
            h->frame_orientation = f->frame_orientation.data();
        if (any_rescale) {
            h->frame_slope = f->frame_slope.data();
            h->frame_intercept = f->frame_intercept.data();
            h->has_rescale = 1;
        }
        if (any_ori && !h->has_orientation) {
            memcpy(h->orientation, &f->frame_orientation[0], sizeof h->orientation);
            h->has_orientation = 1;
        }
    }

    OFString offsets;
    if (h->frames > 1 && get_text(ds, DCM_GridFrameOffsetVector, offsets) && !offsets.empty()) {
        std::vector<double> v(h->frames);
        size_t got = 0;
        if ((rc = parse_numbers(path, DCM_GridFrameOffsetVector, offsets, v.data(), v.size(), &got)) < 0)
            return rc;
        if (got != h->frames)
            return mmdx_fail(MMDX_EFORMAT, "%s: %s holds %zu values for %u frames", path,
                             tag_name(DCM_GridFrameOffsetVector).c_str(), got, h->frames);
        f->frame_offset = v;
        h->frame_offset = f->frame_offset.data();
    }
    return 0;
}

} // namespace

extern "C" int mmdx_dicom_open(mmdx_dicom_file **out, const char *path)
{
    *out = nullptr;
    mmdx_dicom_file *f = new (std::nothrow) mmdx_dicom_file;
    if (!f)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    int rc;
    try {
        f->path = path;
        rc = load(f);
        if (rc == 0)
            rc = read_header(f);
    } catch (const std::bad_alloc &) {
        rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    }
    if (rc < 0) {
        delete f;
        return rc;
    }
    *out = f;
    return 0;
}

extern "C" int mmdx_dicom_open_memory(mmdx_dicom_file **out, const void *data, size_t len, const char *name)
{
    *out = nullptr;
    mmdx_dicom_file *f = new (std::nothrow) mmdx_dicom_file;
    if (!f)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", name);
    int rc = 0;
    try {
        f->path = name;
        /* The bytes go through DCMTK's file reader, as a file's would: it reads
         * large values lazily and checks lengths against what is there, where
         * its buffer reader allocates whatever an element claims. */
        f->memfd = memfd_create("mmdx-dicom", MFD_CLOEXEC);
        const char *p = static_cast<const char *>(data);
        size_t done = 0;
        while (f->memfd >= 0 && done < len) {
            ssize_t w = write(f->memfd, p + done, len - done);
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        if (f->memfd < 0 || done != len) {
            rc = mmdx_fail(MMDX_EIO, "%s: cannot stage the data in memory: %s", name, strerror(errno));
        } else {
            f->source = "/proc/self/fd/" + std::to_string(f->memfd);
            rc = load(f);
            if (rc == 0)
                rc = read_header(f);
        }
    } catch (const std::bad_alloc &) {
        rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", name);
    }
    if (rc < 0) {
        delete f;
        return rc;
    }
    *out = f;
    return 0;
}

extern "C" int mmdx_dicom_sniff(const char *path)
{
    unsigned char head[132];
    size_t n = 0;
    return file_has_preamble(path, head, &n) || looks_like_raw_dataset(head, n);
}

extern "C" const mmdx_dicom_header *mmdx_dicom_get_header(const mmdx_dicom_file *f) { return &f->h; }

extern "C" const char *mmdx_dicom_path(const mmdx_dicom_file *f) { return f->path.c_str(); }

namespace mmdx_dicom_shim {

int unsupported_syntax(const mmdx_dicom_file *f)
{
    return mmdx_fail(MMDX_EUNSUPPORTED, "%s: unsupported transfer syntax %s (%s)", f->path.c_str(),
                     f->h.transfer_syntax, f->h.transfer_syntax_name);
}

bool syntax_decodable(const mmdx_dicom_file *f)
{
    if (f->h.transfer_syntax[0] && DcmXfer(f->h.transfer_syntax).getXfer() == EXS_Unknown)
        return false;
    return !f->h.compressed ||
           DcmCodecList::canChangeCoding(const_cast<DcmFileFormat &>(f->ff).getDataset()->getOriginalXfer(),
                                         EXS_LittleEndianExplicit);
}

} // namespace mmdx_dicom_shim

namespace {

/* DCMTK's JPEG decoder (IJG) loops forever on some broken frame headers
 * (dcmdjpeg too). Before decoding, walk each frame's header markers up to its
 * SOF and refuse what is not a JPEG header. */
int check_jpeg_headers(mmdx_dicom_file *f)
{
    const char *path = f->path.c_str();
    DcmElement *el = nullptr;
    if (f->ff.getDataset()->findAndGetElement(DCM_PixelData, el).bad() || !el)
        return 0;
    DcmPixelData *pd = OFstatic_cast(DcmPixelData *, el);
    E_TransferSyntax rep = EXS_Unknown;
    const DcmRepresentationParameter *param = nullptr;
    pd->getOriginalRepresentationKey(rep, param);
    DcmPixelSequence *seq = nullptr;
    if (pd->getEncapsulatedRepresentation(rep, param, seq).bad() || !seq)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s: encapsulated pixel data expected for %s", path,
                         tag_name(DCM_PixelData).c_str(), f->h.transfer_syntax_name);
    unsigned long frame = 0;
    for (unsigned long k = 1; k < seq->card(); k++) {
        DcmPixelItem *item = nullptr;
        Uint8 *d = nullptr;
        if (seq->getItem(item, k).bad() || !item || item->getUint8Array(d).bad() || !d)
            continue;
        size_t len = item->getLength();
        if (len < 2 || d[0] != 0xff || d[1] != 0xd8)
            continue; /* a continuation fragment */
        frame++;
        size_t pos = 2;
        for (;;) {
            while (pos + 1 < len && d[pos] == 0xff && d[pos + 1] == 0xff)
                pos++;
            if (pos + 1 >= len)
                break; /* header continues in the next fragment: let the decoder judge */
            unsigned m = d[pos + 1];
            bool sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
            if (d[pos] == 0xff && sof)
                break;
            bool segment = m == 0xc4 || m == 0xcc || m == 0xdb || m == 0xdd || (m >= 0xe0 && m <= 0xef) ||
                           m == 0xfe || m == 0xdc || m == 0xde || m == 0xdf || m == 0xf7 || m == 0xf8;
            size_t seg = pos + 3 < len ? ((size_t)d[pos + 2] << 8 | d[pos + 3]) : 0;
            if (d[pos] != 0xff || !segment || seg < 2 || pos + 2 + seg > len)
                return mmdx_fail(MMDX_EFORMAT,
                                 "%s: %s: frame %lu: corrupt JPEG header (byte %zu: %02X %02X where a marker "
                                 "segment or the frame header belongs): cannot decode",
                                 path, tag_name(DCM_PixelData).c_str(), frame, pos, d[pos], m);
            pos += 2 + seg;
        }
    }
    return 0;
}

int decode(mmdx_dicom_file *f, const void **pixels, size_t *len)
{
    const char *path = f->path.c_str();
    DcmDataset *ds = f->ff.getDataset();
    mmdx_dicom_header *h = &f->h;
    if (h->pixel_kind == MMDX_DICOM_PIXELS_NONE)
        return mmdx_fail(MMDX_EFORMAT, "%s: no pixel data: %s is missing (%s object)", path,
                         tag_name(DCM_PixelData).c_str(), h->modality[0] ? h->modality : "non-image");
    E_TransferSyntax orig = ds->getOriginalXfer();
    if (h->transfer_syntax[0] && DcmXfer(h->transfer_syntax).getXfer() == EXS_Unknown)
        return unsupported_syntax(f);
    if (h->compressed) {
        if (!DcmCodecList::canChangeCoding(orig, EXS_LittleEndianExplicit))
            return unsupported_syntax(f);
        if (orig >= EXS_JPEGProcess1 && orig <= EXS_JPEGProcess14SV1) {
            int rc = check_jpeg_headers(f);
            if (rc < 0)
                return rc;
        }
        OFCondition c = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (c.bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit))
            return mmdx_fail(MMDX_EFORMAT, "%s: %s: cannot decode %s data: %s", path,
                             tag_name(DCM_PixelData).c_str(), h->transfer_syntax_name, c.text());
        /* A JPEG decoder may have converted the colour model and layout. */
        get_string(ds, DCM_PhotometricInterpretation, h->photometric, sizeof h->photometric);
        get_u16(path, ds, DCM_PlanarConfiguration, &h->planar_configuration, 0);
        get_u16(path, ds, DCM_BitsStored, &h->bits_stored, 0);
        get_u16(path, ds, DCM_HighBit, &h->high_bit, 0);
    }
    DcmTagKey key = pixel_key(h);
    DcmElement *el = nullptr;
    if (ds->findAndGetElement(key, el).bad() || !el)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s is missing", path, tag_name(key).c_str());
    Uint8 *bytes = nullptr;
    OFCondition c = el->getUint8Array(bytes);
    if (c.bad() && h->pixel_kind != MMDX_DICOM_PIXELS_INTEGER) {
        /* OF / OD elements hand out their values as floats. */
        if (h->pixel_kind == MMDX_DICOM_PIXELS_FLOAT) {
            Float32 *fv = nullptr;
            c = el->getFloat32Array(fv);
            bytes = reinterpret_cast<Uint8 *>(fv);
        } else {
            Float64 *dv = nullptr;
            c = el->getFloat64Array(dv);
            bytes = reinterpret_cast<Uint8 *>(dv);
        }
    }
    if (c.bad())
        return mmdx_fail(MMDX_EFORMAT, "%s: %s: cannot read the value (%s): the file is truncated or malformed",
                         path, tag_name(key).c_str(), c.text());
    size_t have = el->getLength();
    if (have > 0 && !bytes)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s: value missing (file truncated?)", path, tag_name(key).c_str());
    f->decoded.assign(bytes, bytes + have);
    /* Big-endian 32-bit pixels arrive as swapped 16-bit words (the VR is OW). */
    if (h->pixel_kind == MMDX_DICOM_PIXELS_INTEGER && h->bits_allocated == 32 &&
        DcmXfer(orig).isBigEndian() && el->getVR() != EVR_OL) {
        for (size_t i = 0; i + 3 < f->decoded.size(); i += 4) {
            std::swap(f->decoded[i], f->decoded[i + 2]);
            std::swap(f->decoded[i + 1], f->decoded[i + 3]);
        }
    }
    f->decoded_ok = true;
    *pixels = f->decoded.data();
    *len = f->decoded.size();
    return 0;
}

} // namespace

extern "C" int mmdx_dicom_decode(mmdx_dicom_file *f, const void **pixels, size_t *len)
{
    *pixels = nullptr;
    *len = 0;
    if (f->decoded_ok) {
        *pixels = f->decoded.data();
        *len = f->decoded.size();
        return 0;
    }
    try {
        return decode(f, pixels, len);
    } catch (const std::bad_alloc &) {
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory decoding the pixel data", f->path.c_str());
    }
}

extern "C" int mmdx_dicom_check_syntax(const mmdx_dicom_file *f)
{
    return syntax_decodable(f) ? 0 : unsupported_syntax(f);
}

extern "C" void mmdx_dicom_close(mmdx_dicom_file *f) { delete f; }
