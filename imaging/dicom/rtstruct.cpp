/*
 * imaging/dicom/rtstruct.cpp — the RT Structure Set part of the DICOM shim:
 * the ROIs of an RTSTRUCT and their contours, read with dcmrt from a file
 * opened by image.cpp; mmdx_rtstruct_read / mmdx_rtstruct_free of
 * imaging/dicom.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "shim_internal.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmrt/drtstrct.h"

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
