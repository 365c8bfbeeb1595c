/*
 * orthanc/sr_shim.cpp — the plugin's only C++: DCMTK dcmsr behind the C API
 * of sr_writer.h.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "sr_writer.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmsr/codes/dcm.h"
#include "dcmtk/dcmsr/codes/sct.h"
#include "dcmtk/dcmsr/cmr/tid1500.h"
#include "dcmtk/dcmsr/dsrdoc.h"

namespace {

const char *const kScheme = "99MMDX";

struct sr_failure {
    int code;
    std::string message;
};

void check(const OFCondition &c, const char *what)
{
    if (c.bad())
        throw sr_failure{MMDX_EINVAL, std::string(what) + ": " + c.text()};
}

std::string number(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

// A UID that identifies the model (sr_text.c: UUID-derived OID of its hash).
std::string model_uid(const char *hex)
{
    char uid[MMDX_SR_UID_MAX];
    mmdx_sr_uid_from_hex(hex, uid);
    return uid;
}

struct source {
    DcmFileFormat file;
    OFString study, series, sop_class, sop_instance;
};

void load_source(source &s, const char *path)
{
    // Headers only: elements longer than 4 KiB (pixel data) are not read.
    OFCondition c = s.file.loadFile(path, EXS_Unknown, EGL_noChange, 4096);
    if (c.bad())
        throw sr_failure{MMDX_EFORMAT, std::string(path) + ": cannot read as DICOM: " + c.text()};
    DcmDataset *ds = s.file.getDataset();
    struct {
        const DcmTagKey &tag;
        const char *name;
        OFString *out;
    } need[] = {{DCM_StudyInstanceUID, "StudyInstanceUID (0020,000D)", &s.study},
                {DCM_SeriesInstanceUID, "SeriesInstanceUID (0020,000E)", &s.series},
                {DCM_SOPClassUID, "SOPClassUID (0008,0016)", &s.sop_class},
                {DCM_SOPInstanceUID, "SOPInstanceUID (0008,0018)", &s.sop_instance}};
    for (auto &n : need)
        if (ds->findAndGetOFString(n.tag, *n.out).bad() || n.out->empty())
            throw sr_failure{MMDX_EFORMAT, std::string(path) + ": missing " + n.name};
}

// Patient and Study modules of the report are those of the screened study.
void copy_patient_study(DcmItem &to, DcmItem &from)
{
    static const DcmTagKey tags[] = {DCM_SpecificCharacterSet, DCM_PatientName, DCM_PatientID,
                                     DCM_IssuerOfPatientID, DCM_PatientBirthDate, DCM_PatientSex,
                                     DCM_StudyInstanceUID, DCM_StudyDate, DCM_StudyTime, DCM_StudyID,
                                     DCM_AccessionNumber, DCM_ReferringPhysicianName, DCM_StudyDescription};
    for (const DcmTagKey &t : tags) {
        DcmElement *e = NULL;
        if (from.findAndGetElement(t, e).good() && e) {
            DcmElement *copy = OFstatic_cast(DcmElement *, e->clone());
            if (to.insert(copy, OFTrue /*replace*/).bad())
                delete copy;
        }
    }
}

std::string now_datetime()
{
    char buf[32];
    std::time_t t = std::time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S+0000", &tmv);
    return buf;
}

// IHE AI Results: the algorithm is named in Contributing Equipment.
void add_contributing_equipment(DcmItem &ds, const mmdx_sr_result *r)
{
    DcmItem *item = NULL;
    check(ds.findOrCreateSequenceItem(DCM_ContributingEquipmentSequence, item, -2), "Contributing Equipment");
    check(item->putAndInsertString(DCM_Manufacturer, r->manufacturer ? r->manufacturer : "mmdx"), "Manufacturer");
    if (r->institution)
        check(item->putAndInsertString(DCM_InstitutionName, r->institution), "InstitutionName");
    check(item->putAndInsertString(DCM_ManufacturerModelName, r->algorithm_name), "ManufacturerModelName");
    std::string versions = std::string(r->algorithm_version) + "\\mmdx " + r->mmdx_version + "\\" + r->model_sha256;
    check(item->putAndInsertString(DCM_SoftwareVersions, versions.c_str()), "SoftwareVersions");
    check(item->putAndInsertString(DCM_DeviceUID, model_uid(r->model_sha256).c_str()), "DeviceUID");
    check(item->putAndInsertString(DCM_ContributionDateTime, now_datetime().c_str()), "ContributionDateTime");
    check(item->putAndInsertString(DCM_ContributionDescription,
                                   "AI screening result (mmdx), not verified by a clinician"),
          "ContributionDescription");
    check(DSRCodedEntryValue(CODE_DCM_ProcessingEquipment).writeSequence(*item, DCM_PurposeOfReferenceCodeSequence),
          "PurposeOfReferenceCodeSequence");
}

void set_common(DSRDocument &doc, const mmdx_sr_result *r, const source &first, int instance_number)
{
    check(doc.createNewSeriesInStudy(first.study), "new series in the study");
    check(doc.setSeriesDescription(r->series_description ? r->series_description : "mmdx"), "SeriesDescription");
    check(doc.setSeriesNumber(std::to_string(r->series_number > 0 ? r->series_number : 9901).c_str()),
          "SeriesNumber");
    check(doc.setInstanceNumber(std::to_string(instance_number).c_str()), "InstanceNumber");
    check(doc.setManufacturer(r->manufacturer ? r->manufacturer : "mmdx"), "Manufacturer");
    check(doc.setManufacturerModelName(r->algorithm_name), "ManufacturerModelName");
    check(doc.setSoftwareVersions(r->mmdx_version), "SoftwareVersions");
    check(doc.setPreliminaryFlag(DSRTypes::PF_Preliminary), "PreliminaryFlag");
    check(doc.completeDocument(), "CompletionFlag");
}

void add_evidence(DSRDocument &doc, std::vector<source> &src)
{
    for (source &s : src)
        check(doc.getCurrentRequestedProcedureEvidence().addItem(s.study, s.series, s.sop_class, s.sop_instance),
              "Current Requested Procedure Evidence");
}

void save(DSRDocument &doc, const mmdx_sr_result *r, source &first, const char *path, const char *series_uid,
          const char *sop_uid, char uid_out[MMDX_SR_UID_MAX])
{
    DcmFileFormat ff;
    DcmDataset *ds = ff.getDataset();
    check(doc.write(*ds), "writing the SR document");
    copy_patient_study(*ds, *first.file.getDataset());
    if (series_uid)
        check(ds->putAndInsertString(DCM_SeriesInstanceUID, series_uid), "SeriesInstanceUID");
    // the file meta header is still empty: saveFile fills it from the dataset
    if (sop_uid)
        check(ds->putAndInsertString(DCM_SOPInstanceUID, sop_uid), "SOPInstanceUID");
    add_contributing_equipment(*ds, r);
    OFCondition c = ff.saveFile(path, EXS_LittleEndianExplicit);
    if (c.bad())
        throw sr_failure{MMDX_EIO, std::string(path) + ": cannot write: " + c.text()};
    if (uid_out) {
        OFString uid;
        ds->findAndGetOFString(DCM_SOPInstanceUID, uid);
        std::snprintf(uid_out, MMDX_SR_UID_MAX, "%s", uid.c_str());
    }
}

DSRCodedEntryValue private_code(const char *value, const char *meaning)
{
    return DSRCodedEntryValue(value, kScheme, meaning);
}

void build_tid1500(TID1500_MeasurementReport &report, const mmdx_sr_result *r, std::vector<source> &src)
{
    check(report.setLanguage(CID5000_Languages::English), "language");
    check(report.getObservationContext().addDeviceObserver(model_uid(r->model_sha256), "mmdx",
                                                           r->manufacturer ? r->manufacturer : "mmdx",
                                                           r->algorithm_name),
          "device observer");
    check(report.addProcedureReported(DSRCodedEntryValue(CODE_SCT_ImagingProcedure)), "procedure reported");
    check(report.getImageLibrary().createNewImageLibrary(), "image library");
    check(report.getImageLibrary().addImageGroup(), "image library group");
    for (source &s : src)
        check(report.getImageLibrary().addImageEntry(*s.file.getDataset(), TID1600_ImageLibrary::withAllDescriptors),
              "image library entry");
    check(report.getImageLibrary().moveCommonImageDescriptorsToImageGroups(), "image library descriptors");

    CMR_TID1501_in_TID1500 &g = report.getIndividualMeasurements();
    char uid[100];
    check(g.setTrackingIdentifier("mmdx multimodal risk screening"), "tracking identifier");
    check(g.setTrackingUniqueIdentifier(r->tracking_uid ? r->tracking_uid
                                                        : dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT)),
          "tracking UID");
    check(g.setFinding(private_code("risk", "Multimodal screening risk")), "finding");
    const DSRCodedEntryValue no_units("1", "UCUM", "no units");
    struct measurement {
        DSRCodedEntryValue concept;
        double value;
    };
    std::vector<measurement> m;
    m.push_back({private_code("risk-probability", "Risk probability"), r->probability});
    m.push_back({private_code("decision-threshold", "Decision threshold"), r->threshold});
    for (size_t i = 0; i < r->n_modalities; i++) {
        if (!r->present[i])
            continue;
        std::string code = std::string("contribution-") + r->modalities[i];
        std::string meaning = std::string("Contribution of ") + r->modalities[i] + " to the log-odds";
        m.push_back({private_code(code.c_str(), meaning.c_str()), r->contributions[i]});
    }
    for (measurement &x : m) {
        const CMR_TID1501_in_TID1500::MeasurementValue v(number(x.value).c_str(), no_units);
        check(g.addMeasurement(x.concept, v, OFFalse /*always a new TID 300*/), "measurement");
    }
    /* TID 4019 algorithm identification of the group (TID 1501 is extensible;
       DCMTK 3.6.7's TID 300 has no slot for it). */
    if (g.gotoAnnotatedNode("TID 1501 - Row 3") == 0)
        throw sr_failure{MMDX_EINVAL, "TID 1501: tracking identifier not found"};
    const struct {
        DSRCodedEntryValue concept;
        std::string value;
    } algo[] = {{DSRCodedEntryValue(CODE_DCM_AlgorithmName), r->algorithm_name},
                {DSRCodedEntryValue(CODE_DCM_AlgorithmVersion), r->algorithm_version},
                {DSRCodedEntryValue(CODE_DCM_AlgorithmParameters), std::string("model-sha256=") + r->model_sha256}};
    for (const auto &a : algo) {
        check(g.addExtraContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Text), "algorithm identification");
        check(g.getCurrentContentItem().setConceptName(a.concept), "algorithm identification concept");
        check(g.getCurrentContentItem().setStringValue(a.value.c_str()), "algorithm identification value");
    }
    const DSRCodedEntryValue positive("10828004", "SCT", "Positive"), negative("260385009", "SCT", "Negative");
    check(g.addQualitativeEvaluation(private_code("screening-decision", "Screening decision"),
                                     r->decision ? positive : negative),
          "decision");
    for (size_t i = 0; i < r->n_modalities; i++)
        if (!r->present[i])
            check(g.addQualitativeEvaluation(private_code("modality-missing", "Modality not available"),
                                             OFString(r->modalities[i])),
                  "missing modality");
    check(g.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_Comment),
                                     OFString("Not verified by a clinician: AI result for screening support")),
          "not verified");
    if (!report.isValid())
        throw sr_failure{MMDX_EINVAL, "the TID 1500 report is not valid for dcmsr"};
}

void write_all(const mmdx_sr_result *r, const char *const *sources, size_t n_sources, const char *tid1500_path,
               const char *text_path, char tid1500_uid[MMDX_SR_UID_MAX], char text_uid[MMDX_SR_UID_MAX],
               char series_uid[MMDX_SR_UID_MAX])
{
    if (n_sources == 0)
        throw sr_failure{MMDX_EINVAL, "no source instances to reference"};
    std::vector<source> src(n_sources);
    for (size_t i = 0; i < n_sources; i++)
        load_source(src[i], sources[i]);

    TID1500_MeasurementReport report(CMR_CID7021::ImagingMeasurementReport);
    build_tid1500(report, r, src);
    DSRDocument doc;
    check(doc.setTreeFromRootTemplate(report, OFTrue /*expandTree*/), "TID 1500 document tree");
    set_common(doc, r, src[0], 1);
    add_evidence(doc, src);
    OFString series;
    if (r->series_uid)
        series = r->series_uid;
    else
        check(doc.getSeriesInstanceUID(series), "SeriesInstanceUID");
    save(doc, r, src[0], tid1500_path, series.c_str(), r->tid1500_uid, tid1500_uid);

    DSRDocument text(DSRTypes::DT_ComprehensiveSR);
    DSRDocumentTree &tree = text.getTree();
    if (!tree.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container))
        throw sr_failure{MMDX_EINVAL, "text report: cannot create the root container"};
    check(tree.getCurrentContentItem().setConceptName(DSRCodedEntryValue("18748-4", "LN", "Diagnostic imaging report")),
          "text report title");
    if (!tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text, DSRTypes::AM_belowCurrent))
        throw sr_failure{MMDX_EINVAL, "text report: cannot add the text item"};
    check(tree.getCurrentContentItem().setConceptName(DSRCodedEntryValue(CODE_DCM_Finding)), "text concept");
    check(tree.getCurrentContentItem().setStringValue(r->text ? r->text : "", OFFalse /*check*/), "text value");
    set_common(text, r, src[0], 2);
    add_evidence(text, src);
    save(text, r, src[0], text_path, series.c_str(), r->text_uid, text_uid);
    if (series_uid)
        std::snprintf(series_uid, MMDX_SR_UID_MAX, "%s", series.c_str());
}

} // namespace

extern "C" int mmdx_sr_write(const mmdx_sr_result *r, const char *const *sources, size_t n_sources,
                             const char *tid1500_path, const char *text_path, char tid1500_uid[MMDX_SR_UID_MAX],
                             char text_uid[MMDX_SR_UID_MAX], char series_uid[MMDX_SR_UID_MAX], mmdx_error *err)
{
    if (!r || !r->algorithm_name || !r->algorithm_version || !r->mmdx_version || !r->model_sha256 ||
        (r->n_modalities && (!r->modalities || !r->contributions || !r->present)))
        return mmdx_error_set(err, MMDX_EINVAL, "SR writer: incomplete result (algorithm identity or modalities)");
    try {
        write_all(r, sources, n_sources, tid1500_path, text_path, tid1500_uid, text_uid, series_uid);
        return 0;
    } catch (const sr_failure &f) {
        std::remove(tid1500_path);
        std::remove(text_path);
        return mmdx_error_set(err, f.code, "SR writer: %s", f.message.c_str());
    } catch (const std::bad_alloc &) {
        std::remove(tid1500_path);
        std::remove(text_path);
        return mmdx_error_set(err, MMDX_ENOMEM, "SR writer: out of memory");
    } catch (const std::exception &e) {
        std::remove(tid1500_path);
        std::remove(text_path);
        return mmdx_error_set(err, MMDX_ERROR, "SR writer: %s", e.what());
    }
}
