/*
 * imaging/dicom/seg.cpp — the Segmentation part of the DICOM shim: the
 * segments and frames of a DICOM SEG (binary or fractional), read with dcmseg
 * from the dataset image.cpp parsed; mmdx_seg_read / mmdx_seg_free of
 * imaging/dicom.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "shim_internal.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmfg/fginterface.h"
#include "dcmtk/dcmfg/fgplanor.h"
#include "dcmtk/dcmfg/fgplanpo.h"
#include "dcmtk/dcmfg/fgpixmsr.h"
#include "dcmtk/dcmfg/fgseg.h"
#include "dcmtk/dcmiod/iodutil.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"

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

/*
 * DcmSegmentation::loadDataset() of DCMTK 3.6.7 (and of its master branch
 * as of this writing) leaks the whole segmentation whenever reading fails:
 * it deletes its still-NULL out-parameter instead of the object it made.
 * Every malformed SEG would leak tens of kilobytes (fuzz_masks found it),
 * in the Orthanc plugin for as long as Orthanc runs. This reader makes the
 * object itself, through the protected constructor and read(), and owns it
 * whatever happens.
 */
class seg_loader : public DcmSegmentation
{
public:
    OFCondition load(DcmDataset &ds)
    {
        /* what loadDataset() does first: only RLE (lossless) is decompressed */
        DcmXfer xfer(ds.getOriginalXfer());
        if (!ds.hasRepresentation(EXS_LittleEndianExplicit, nullptr) && xfer.isEncapsulated()) {
            if (xfer.getXfer() != EXS_RLELossless)
                return IOD_EC_CannotDecompress;
            OFCondition c = DcmIODUtil::decompress(ds);
            if (c.bad())
                return c;
        }
        return read(ds);
    }
};

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
    size_t declared_frames = probe->h.frames;
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
    std::unique_ptr<seg_loader> guard(new seg_loader());
    seg_loader *seg = guard.get();
    OFCondition c = seg->load(*probe->ff.getDataset());
    if (c.bad())
        return mmdx_fail(MMDX_EFORMAT, "%s: dcmseg cannot read the segmentation: %s", path, c.text());
    OFString uid;
    seg->getFrameOfReference().getFrameOfReferenceUID(uid);
    copy_str(s->frame_of_reference_uid, sizeof s->frame_of_reference_uid, uid);
    s->rows = rows;
    s->columns = cols;
    DcmSegTypes::E_SegmentationType type = seg->getSegmentationType();
    if (type != DcmSegTypes::ST_BINARY && type != DcmSegTypes::ST_FRACTIONAL)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s is neither BINARY nor FRACTIONAL", path,
                         tag_name(DCM_SegmentationType).c_str());
    bool fractional = type == DcmSegTypes::ST_FRACTIONAL;
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
    /* dcmseg holds the frames Number of Frames declares but counts those the
     * functional groups list, and its getFrame() reads past the end of its
     * frames when the two differ (a crash found by fuzz_masks). */
    size_t nfr = seg->getNumberOfFrames();
    if (nfr != declared_frames)
        return mmdx_fail(MMDX_EFORMAT, "%s: %s holds %zu frame(s), %s declares %zu", path,
                         tag_name(DCM_PerFrameFunctionalGroupsSequence).c_str(), nfr,
                         tag_name(DCM_NumberOfFrames).c_str(), declared_frames);
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
