/*
 * imaging/dicom/un.h — private to the DICOM shim (C++): elements stored with
 * VR UN, read again through the VR the data dictionary gives their tag.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_IMAGING_DICOM_UN_H
#define MMDX_IMAGING_DICOM_UN_H

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdatset.h"

/**
 * Replace, anywhere in `ds` (nested sequences too), each element a writer
 * stored as UN whose public tag the data dictionary knows (a DS, IS, US, SQ
 * ...) by the element of its real VR, read from the UN value bytes as an
 * implicit-VR reader would (PS3.5 6.2.2: those bytes are the value as
 * encoded with the real VR; sequences always implicit VR little endian).
 * `big_endian` is the byte order of the file's transfer syntax, used for
 * binary values. Private tags, tags the dictionary lacks and Pixel Data
 * stay UN; so does an element whose bytes do not parse as its real VR (the
 * readers then judge it, naming the tag).
 *
 * Per dataset on purpose: DCMTK's process-wide dcmEnableUnknownVRConversion
 * would also change how the host (Orthanc links the same DCMTK) reads files.
 * Not thread-safe for one dataset; distinct datasets may be converted at
 * once. May throw std::bad_alloc.
 */
void mmdx_dicom__reparse_un(DcmDataset *ds, bool big_endian);

#endif
