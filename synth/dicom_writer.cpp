/*
 * synth/dicom_writer.cpp — DCMTK behind dicom_writer.h (write only).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dicom_writer.h"

#include <cstdio>
#include <new>
#include <string>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/oflog/oflog.h"

extern "C" {
#include "error.h"
}

namespace {

struct QuietLog {
    QuietLog() { OFLog::getLogger("dcmtk").setLogLevel(OFLogger::OFF_LOG_LEVEL); }
};

void quiet()
{
    static QuietLog q;
    (void)q;
}

std::string tag_name(const DcmTagKey &key)
{
    DcmTag tag(key);
    char buf[96];
    snprintf(buf, sizeof buf, "(%04X,%04X) %s", key.getGroup(), key.getElement(), tag.getTagName());
    return buf;
}

/* Decimal string (DS) of at most 16 characters, as the VR demands. */
std::string ds(double v)
{
    char buf[32];
    for (int prec = 10; prec > 0; prec--) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (std::string(buf).size() <= 16)
            break;
    }
    return buf;
}

class Writer {
  public:
    Writer(DcmDataset *d, const char *path) : d_(d), path_(path) {}
    bool put(const DcmTagKey &key, const std::string &value)
    {
        if (rc_)
            return false;
        OFCondition c = d_->putAndInsertString(key, value.c_str());
        if (c.bad())
            rc_ = mmdx_fail(MMDX_EINVAL, "%s: %s: DCMTK refuses \"%s\": %s", path_, tag_name(key).c_str(),
                            value.c_str(), c.text());
        return rc_ == 0;
    }
    bool put16(const DcmTagKey &key, Uint16 value)
    {
        if (rc_)
            return false;
        OFCondition c = d_->putAndInsertUint16(key, value);
        if (c.bad())
            rc_ = mmdx_fail(MMDX_EINVAL, "%s: %s: %s", path_, tag_name(key).c_str(), c.text());
        return rc_ == 0;
    }
    int code() const { return rc_; }
    bool ok() const { return rc_ == 0; }

  private:
    DcmDataset *d_;
    const char *path_;
    int rc_ = 0;
};

int write_slice(const char *path, const mmdx_synth_ct_slice *s)
{
    quiet();
    DcmFileFormat file;
    DcmDataset *d = file.getDataset();
    Writer w(d, path);
    const std::string ct = UID_CTImageStorage;
    w.put(DCM_SpecificCharacterSet, "ISO_IR 100");
    w.put(DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL");
    w.put(DCM_SOPClassUID, ct);
    w.put(DCM_SOPInstanceUID, s->sop_uid);
    w.put(DCM_StudyDate, s->study_date);
    w.put(DCM_SeriesDate, s->study_date);
    w.put(DCM_ContentDate, s->study_date);
    w.put(DCM_StudyTime, "090000");
    w.put(DCM_ContentTime, "090000");
    w.put(DCM_AccessionNumber, s->accession ? s->accession : "");
    w.put(DCM_Modality, "CT");
    w.put(DCM_Manufacturer, "mmdx synth");
    w.put(DCM_ReferringPhysicianName, "");
    w.put(DCM_StudyDescription, "Synthetic chest CT");
    w.put(DCM_SeriesDescription, "Synthetic axial series");
    w.put(DCM_PatientName, s->patient_name);
    w.put(DCM_PatientID, s->patient_id);
    w.put(DCM_PatientBirthDate, s->birth_date ? s->birth_date : "");
    w.put(DCM_PatientSex, s->sex ? s->sex : "");
    w.put(DCM_SliceThickness, ds(s->thickness));
    w.put(DCM_KVP, "120");
    w.put(DCM_PatientPosition, "HFS");
    w.put(DCM_StudyInstanceUID, s->study_uid);
    w.put(DCM_SeriesInstanceUID, s->series_uid);
    w.put(DCM_StudyID, "1");
    w.put(DCM_SeriesNumber, "1");
    w.put(DCM_InstanceNumber, std::to_string(s->instance_number));
    w.put(DCM_ImagePositionPatient, ds(s->position[0]) + "\\" + ds(s->position[1]) + "\\" + ds(s->position[2]));
    w.put(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
    w.put(DCM_FrameOfReferenceUID, s->frame_of_reference_uid);
    w.put(DCM_PositionReferenceIndicator, "");
    w.put(DCM_SliceLocation, ds(s->position[2]));
    w.put16(DCM_SamplesPerPixel, 1);
    w.put(DCM_PhotometricInterpretation, "MONOCHROME2");
    w.put16(DCM_Rows, s->rows);
    w.put16(DCM_Columns, s->columns);
    w.put(DCM_PixelSpacing, ds(s->spacing[0]) + "\\" + ds(s->spacing[1]));
    w.put16(DCM_BitsAllocated, 16);
    w.put16(DCM_BitsStored, 16);
    w.put16(DCM_HighBit, 15);
    w.put16(DCM_PixelRepresentation, 0);
    w.put(DCM_WindowCenter, "40");
    w.put(DCM_WindowWidth, "400");
    w.put(DCM_RescaleIntercept, ds(s->rescale_intercept));
    w.put(DCM_RescaleSlope, "1");
    w.put(DCM_RescaleType, "HU");
    if (!w.ok())
        return w.code();
    OFCondition c = d->putAndInsertUint16Array(DCM_PixelData, s->pixels,
                                               (unsigned long)s->rows * (unsigned long)s->columns);
    if (c.bad())
        return mmdx_fail(MMDX_EINVAL, "%s: (7FE0,0010) PixelData: %s", path, c.text());
    /* The meta header's instance UID is taken from the dataset; no clock, no random UID. */
    c = file.saveFile(path, EXS_LittleEndianExplicit, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0,
                      EWM_createNewMeta);
    if (c.bad())
        return mmdx_fail(MMDX_EIO, "%s: cannot write: %s", path, c.text());
    return 0;
}

} // namespace

extern "C" int mmdx_synth_write_ct_slice(const char *path, const mmdx_synth_ct_slice *s)
{
    try {
        return write_slice(path, s);
    } catch (const std::bad_alloc &) {
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    } catch (...) {
        return mmdx_fail(MMDX_ERROR, "%s: DCMTK failed while writing", path);
    }
}
