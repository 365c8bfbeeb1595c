/*
 * imaging/dicom_shim.cpp — the one C++ file of mmdx: DCMTK behind the C API
 * of dicom.h. It only extracts; geometry, rescale and masks are built in C.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dicom.h"
#include "dicom_un.h"

#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmdata/dccodec.h"
#include "dcmtk/dcmdata/dcobject.h"
#include "dcmtk/dcmfg/fginterface.h"
#include "dcmtk/dcmfg/fgplanor.h"
#include "dcmtk/dcmfg/fgplanpo.h"
#include "dcmtk/dcmfg/fgpixmsr.h"
#include "dcmtk/dcmfg/fgseg.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/dcmrt/drtstrct.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"
#include "dcmtk/oflog/oflog.h"

extern "C" {
#include "error.h"
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mmdx's DICOM reader assumes a little-endian host"
#endif

namespace {

/* DCMTK keeps its codecs in a global list; register them once per process
 * and unregister at unload so that leak checkers see a clean exit. A plugin
 * never prints: DCMTK's own log goes nowhere, its reasons reach the caller
 * through the OFCondition text in our messages. */
struct CodecRegistration {
    CodecRegistration()
    {
        OFLog::getLogger("dcmtk").setLogLevel(OFLogger::OFF_LOG_LEVEL);
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
    }
    ~CodecRegistration()
    {
        DcmRLEDecoderRegistration::cleanup();
        DJLSDecoderRegistration::cleanup();
        DJDecoderRegistration::cleanup();
    }
};

void ensure_codecs()
{
    static CodecRegistration registration;
    (void)registration;
}

std::string tag_name(const DcmTagKey &key)
{
    DcmTag tag(key);
    char buf[96];
    snprintf(buf, sizeof buf, "(%04X,%04X) %s", key.getGroup(), key.getElement(), tag.getTagName());
    return buf;
}

void copy_str(char *dst, size_t size, const OFString &src)
{
    snprintf(dst, size, "%s", src.c_str());
}

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

} // namespace

struct mmdx_dicom_file {
    std::string path;
    std::string source; /* what DCMTK reads when it is not `path` (memory input) */
    int memfd = -1;
    ~mmdx_dicom_file()
    {
        if (memfd >= 0)
            close(memfd);
    }
    DcmFileFormat ff;
    mmdx_dicom_header h;
    std::vector<uint16_t> lut;
    std::vector<double> frame_position, frame_orientation, frame_slope, frame_intercept, frame_offset;
    std::vector<uint8_t> decoded;
    bool decoded_ok = false;
};

namespace {

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

namespace {

int unsupported_syntax(const mmdx_dicom_file *f)
{
    return mmdx_fail(MMDX_EUNSUPPORTED, "%s: unsupported transfer syntax %s (%s)", f->path.c_str(),
                     f->h.transfer_syntax, f->h.transfer_syntax_name);
}

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

bool syntax_decodable(const mmdx_dicom_file *f)
{
    if (f->h.transfer_syntax[0] && DcmXfer(f->h.transfer_syntax).getXfer() == EXS_Unknown)
        return false;
    return !f->h.compressed ||
           DcmCodecList::canChangeCoding(const_cast<DcmFileFormat &>(f->ff).getDataset()->getOriginalXfer(),
                                         EXS_LittleEndianExplicit);
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
    DcmTagKey key = h->pixel_kind == MMDX_DICOM_PIXELS_INTEGER ? DCM_PixelData
                    : h->pixel_kind == MMDX_DICOM_PIXELS_FLOAT ? DCM_FloatPixelData
                                                               : DCM_DoubleFloatPixelData;
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

/* ------------------------------------------------------------------------ */
/* RT Structure Set                                                          */
/* ------------------------------------------------------------------------ */

extern "C" void mmdx_rtstruct_free(mmdx_rtstruct *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n_rois; i++) {
        for (size_t j = 0; j < rs->rois[i].n_contours; j++)
            free(rs->rois[i].contours[j].points);
        free(rs->rois[i].contours);
    }
    free(rs->rois);
    free(rs);
}

namespace {

int rtstruct_read(mmdx_rtstruct *rs, mmdx_dicom_file *f)
{
    const char *path = f->path.c_str();
    if (strcmp(f->h.modality, "RTSTRUCT") != 0 &&
        strcmp(f->h.sop_class_uid, UID_RTStructureSetStorage) != 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: not an RT Structure Set (%s is '%s')", path,
                         tag_name(DCM_Modality).c_str(), f->h.modality);
    DRTStructureSetIOD iod;
    OFCondition c = iod.read(*f->ff.getDataset());
    if (c.bad())
        return mmdx_fail(MMDX_EFORMAT, "%s: dcmrt cannot read the structure set: %s", path, c.text());

    DRTReferencedFrameOfReferenceSequence &refs = iod.getReferencedFrameOfReferenceSequence();
    if (refs.gotoFirstItem().good()) {
        OFString uid;
        refs.getCurrentItem().getFrameOfReferenceUID(uid);
        copy_str(rs->frame_of_reference_uid, sizeof rs->frame_of_reference_uid, uid);
    }

    DRTStructureSetROISequence &rois = iod.getStructureSetROISequence();
    size_t n = rois.getNumberOfItems();
    if (n == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s is empty: no ROI", path,
                         tag_name(DCM_StructureSetROISequence).c_str());
    rs->rois = static_cast<mmdx_rt_roi *>(calloc(n, sizeof *rs->rois));
    if (!rs->rois)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    rs->n_rois = n;
    size_t i = 0;
    for (; i < n; i++) {
        DRTStructureSetROISequence::Item *ip = nullptr;
        if (rois.getItem(i, ip).bad() || !ip)
            return mmdx_fail(MMDX_EFORMAT, "%s: %s item %zu unreadable", path,
                             tag_name(DCM_StructureSetROISequence).c_str(), i + 1);
        DRTStructureSetROISequence::Item &item = *ip;
        Sint32 number = 0;
        OFString name, uid;
        if (item.getROINumber(number).bad())
            return mmdx_fail(MMDX_EFORMAT, "%s: ROI %zu: %s is missing", path, i + 1,
                             tag_name(DCM_ROINumber).c_str());
        item.getROIName(name);
        item.getReferencedFrameOfReferenceUID(uid);
        rs->rois[i].number = number;
        copy_str(rs->rois[i].name, sizeof rs->rois[i].name, name);
        copy_str(rs->rois[i].frame_of_reference_uid, sizeof rs->rois[i].frame_of_reference_uid, uid);
    }

    DRTROIContourSequence &rcs = iod.getROIContourSequence();
    size_t n_rc = rcs.getNumberOfItems();
    for (size_t r = 0; r < n_rc; r++) {
        DRTROIContourSequence::Item *rp = nullptr;
        if (rcs.getItem(r, rp).bad() || !rp)
            return mmdx_fail(MMDX_EFORMAT, "%s: %s item %zu unreadable", path,
                             tag_name(DCM_ROIContourSequence).c_str(), r + 1);
        DRTROIContourSequence::Item &item = *rp;
        Sint32 ref = 0;
        if (item.getReferencedROINumber(ref).bad())
            return mmdx_fail(MMDX_EFORMAT, "%s: %s item without %s", path,
                             tag_name(DCM_ROIContourSequence).c_str(),
                             tag_name(DCM_ReferencedROINumber).c_str());
        mmdx_rt_roi *roi = nullptr;
        for (size_t k = 0; k < rs->n_rois; k++)
            if (rs->rois[k].number == ref)
                roi = &rs->rois[k];
        if (!roi)
            return mmdx_fail(MMDX_EFORMAT, "%s: %s %d names no ROI of %s", path,
                             tag_name(DCM_ReferencedROINumber).c_str(), (int)ref,
                             tag_name(DCM_StructureSetROISequence).c_str());
        DRTContourSequence &cs = item.getContourSequence();
        size_t nc = cs.getNumberOfItems();
        if (nc == 0)
            continue;
        void *grown = realloc(roi->contours, (roi->n_contours + nc) * sizeof *roi->contours);
        if (!grown)
            return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
        roi->contours = static_cast<mmdx_rt_contour *>(grown);
        for (size_t k = 0; k < nc; k++) {
            DRTContourSequence::Item *cp = nullptr;
            if (cs.getItem(k, cp).bad() || !cp)
                return mmdx_fail(MMDX_EFORMAT, "%s: ROI '%s': %s item %zu unreadable", path, roi->name,
                                 tag_name(DCM_ContourSequence).c_str(), k + 1);
            DRTContourSequence::Item &citem = *cp;
            mmdx_rt_contour *ct = &roi->contours[roi->n_contours];
            memset(ct, 0, sizeof *ct);
            roi->n_contours++;
            OFString type;
            citem.getContourGeometricType(type);
            copy_str(ct->geometric_type, sizeof ct->geometric_type, type);
            Sint32 npts = 0;
            OFVector<Float64> data;
            if (citem.getNumberOfContourPoints(npts).bad() || npts < 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: ROI '%s': a contour lacks %s", path, roi->name,
                                 tag_name(DCM_NumberOfContourPoints).c_str());
            if (citem.getContourData(data).bad() || data.size() != (size_t)npts * 3)
                return mmdx_fail(MMDX_EFORMAT,
                                 "%s: ROI '%s': %s holds %zu values, %s says %d points", path,
                                 roi->name, tag_name(DCM_ContourData).c_str(), (size_t)data.size(),
                                 tag_name(DCM_NumberOfContourPoints).c_str(), (int)npts);
            ct->n_points = (size_t)npts;
            if (npts > 0) {
                ct->points = static_cast<double *>(malloc(data.size() * sizeof(double)));
                if (!ct->points)
                    return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
                for (size_t q = 0; q < data.size(); q++) {
                    if (!std::isfinite(data[q]))
                        return mmdx_fail(MMDX_EFORMAT, "%s: ROI '%s': %s holds a non-finite value",
                                         path, roi->name, tag_name(DCM_ContourData).c_str());
                    ct->points[q] = data[q];
                }
            }
        }
    }
    return 0;
}

} // namespace

extern "C" int mmdx_rtstruct_read(mmdx_rtstruct **out, const char *path)
{
    *out = nullptr;
    mmdx_dicom_file *f = nullptr;
    int rc = mmdx_dicom_open(&f, path);
    if (rc < 0)
        return rc;
    mmdx_rtstruct *rs = static_cast<mmdx_rtstruct *>(calloc(1, sizeof *rs));
    if (!rs) {
        mmdx_dicom_close(f);
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    }
    try {
        rc = rtstruct_read(rs, f);
    } catch (const std::bad_alloc &) {
        rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    }
    mmdx_dicom_close(f);
    if (rc < 0) {
        mmdx_rtstruct_free(rs);
        return rc;
    }
    *out = rs;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Segmentation                                                              */
/* ------------------------------------------------------------------------ */

extern "C" void mmdx_seg_free(mmdx_seg *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_frames; i++)
        free(s->frames[i].pixels);
    free(s->frames);
    free(s->segments);
    free(s);
}

namespace {

int seg_read(mmdx_seg *s, const char *path)
{
    mmdx_dicom_file *probe = nullptr;
    int rc = mmdx_dicom_open(&probe, path);
    if (rc < 0)
        return rc;
    bool is_seg = strcmp(probe->h.modality, "SEG") == 0 ||
                  strcmp(probe->h.sop_class_uid, UID_SegmentationStorage) == 0;
    char modality[24];
    snprintf(modality, sizeof modality, "%s", probe->h.modality);
    Uint16 max_fraction = 0;
    probe->ff.getDataset()->findAndGetUint16(DCM_MaximumFractionalValue, max_fraction);
    Uint16 rows = (Uint16)probe->h.rows, cols = (Uint16)probe->h.columns;
    if (is_seg && !syntax_decodable(probe))
        rc = unsupported_syntax(probe);
    else if (is_seg && probe->h.compressed && probe->h.bits_allocated % 8 != 0)
        rc = mmdx_fail(MMDX_EUNSUPPORTED,
                       "%s: unsupported: %s pixel data with %s %u: DCMTK's decoders only handle multiples of 8 "
                       "bits (store the segmentation uncompressed or deflated)",
                       path, probe->h.transfer_syntax_name, tag_name(DCM_BitsAllocated).c_str(),
                       probe->h.bits_allocated);
    std::unique_ptr<mmdx_dicom_file, void (*)(mmdx_dicom_file *)> file(probe, mmdx_dicom_close);
    if (rc < 0)
        return rc;
    if (!is_seg)
        return mmdx_fail(MMDX_EFORMAT, "%s: not a DICOM Segmentation (%s is '%s')", path,
                         tag_name(DCM_Modality).c_str(), modality);

    /* dcmseg reads the dataset we already parsed (its own loadFile refuses
     * some deflated files our reader accepts). */
    DcmSegmentation *seg = nullptr;
    OFCondition c = DcmSegmentation::loadDataset(*probe->ff.getDataset(), seg);
    if (c.bad() || !seg) {
        delete seg;
        return mmdx_fail(MMDX_EFORMAT, "%s: dcmseg cannot read the segmentation: %s", path, c.text());
    }
    std::unique_ptr<DcmSegmentation> guard(seg);
    OFString uid;
    seg->getFrameOfReference().getFrameOfReferenceUID(uid);
    copy_str(s->frame_of_reference_uid, sizeof s->frame_of_reference_uid, uid);
    s->rows = rows;
    s->columns = cols;
    bool fractional = seg->getSegmentationType() == DcmSegTypes::ST_FRACTIONAL;
    if (fractional && max_fraction == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: fractional segmentation without %s", path,
                         tag_name(DCM_MaximumFractionalValue).c_str());

    size_t nseg = seg->getNumberOfSegments();
    s->segments = static_cast<mmdx_seg_segment *>(calloc(nseg ? nseg : 1, sizeof *s->segments));
    if (!s->segments)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    for (size_t i = 1; i <= nseg; i++) {
        DcmSegment *sg = seg->getSegment(i);
        if (!sg)
            continue;
        mmdx_seg_segment *dst = &s->segments[s->n_segments++];
        dst->number = (uint16_t)i;
        OFString label;
        sg->getSegmentLabel(label);
        copy_str(dst->label, sizeof dst->label, label);
    }

    FGInterface &fg = seg->getFunctionalGroups();
    size_t nfr = seg->getNumberOfFrames();
    s->frames = static_cast<mmdx_seg_frame *>(calloc(nfr ? nfr : 1, sizeof *s->frames));
    if (!s->frames)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    size_t npix = (size_t)rows * cols;
    for (size_t i = 0; i < nfr; i++) {
        const DcmIODTypes::Frame *fr = seg->getFrame(i);
        if (!fr || !fr->pixData)
            return mmdx_fail(MMDX_EFORMAT, "%s: frame %zu: no pixel data", path, i + 1);
        mmdx_seg_frame *dst = &s->frames[s->n_frames++];
        dst->pixels = static_cast<uint8_t *>(malloc(npix ? npix : 1));
        if (!dst->pixels)
            return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
        if (fractional) {
            if (fr->length < npix)
                return mmdx_fail(MMDX_EFORMAT, "%s: frame %zu holds %zu bytes for %zu pixels", path,
                                 i + 1, fr->length, npix);
            for (size_t k = 0; k < npix; k++)
                dst->pixels[k] = fr->pixData[k] * 2 > max_fraction ? 1 : 0;
        } else if (fr->length >= npix) {
            /* dcmseg hands binary frames out unpacked, one byte per pixel. */
            for (size_t k = 0; k < npix; k++)
                dst->pixels[k] = fr->pixData[k] ? 1 : 0;
        } else if (fr->length * 8 >= npix) {
            for (size_t k = 0; k < npix; k++)
                dst->pixels[k] = (fr->pixData[k >> 3] >> (k & 7)) & 1;
        } else {
            return mmdx_fail(MMDX_EFORMAT, "%s: frame %zu holds %zu bytes for %zu pixels", path, i + 1,
                             fr->length, npix);
        }
        FGSegmentation *sf = OFstatic_cast(FGSegmentation *, fg.get((Uint32)i, DcmFGTypes::EFG_SEGMENTATION));
        Uint16 segno = 0;
        if (!sf || sf->getReferencedSegmentNumber(segno).bad())
            return mmdx_fail(MMDX_EFORMAT, "%s: frame %zu: %s is missing", path, i + 1,
                             tag_name(DCM_ReferencedSegmentNumber).c_str());
        dst->segment = segno;
        FGPlanePosPatient *pp =
            OFstatic_cast(FGPlanePosPatient *, fg.get((Uint32)i, DcmFGTypes::EFG_PLANEPOSPATIENT));
        Float64 x, y, z;
        if (pp && pp->getImagePositionPatient(x, y, z).good()) {
            dst->has_position = 1;
            dst->position[0] = x;
            dst->position[1] = y;
            dst->position[2] = z;
        }
        if (i == 0) {
            FGPlaneOrientationPatient *po = OFstatic_cast(
                FGPlaneOrientationPatient *, fg.get(0, DcmFGTypes::EFG_PLANEORIENTPATIENT));
            Float64 o[6];
            if (po && po->getImageOrientationPatient(o[0], o[1], o[2], o[3], o[4], o[5]).good()) {
                s->has_orientation = 1;
                memcpy(s->orientation, o, sizeof o);
            }
            FGPixelMeasures *pm = OFstatic_cast(FGPixelMeasures *, fg.get(0, DcmFGTypes::EFG_PIXELMEASURES));
            Float64 a, b, t;
            if (pm && pm->getPixelSpacing(a, 0).good() && pm->getPixelSpacing(b, 1).good()) {
                s->has_spacing = 1;
                s->spacing[0] = a;
                s->spacing[1] = b;
            }
            if (pm && pm->getSliceThickness(t).good())
                s->slice_thickness = t;
        }
    }
    return 0;
}

} // namespace

extern "C" int mmdx_seg_read(mmdx_seg **out, const char *path)
{
    *out = nullptr;
    ensure_codecs();
    mmdx_seg *s = static_cast<mmdx_seg *>(calloc(1, sizeof *s));
    if (!s)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    int rc;
    try {
        rc = seg_read(s, path);
    } catch (const std::bad_alloc &) {
        rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    }
    if (rc < 0) {
        mmdx_seg_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
