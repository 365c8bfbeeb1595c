/*
 * imaging/dicom/shim_internal.h — private to the DICOM shim (C++ only): the
 * parsed file behind mmdx_dicom_file and the helpers the image, RTSTRUCT and
 * SEG parts of the shim share (errors through core/error.h, codec
 * registration, tag names in messages, string copies, the transfer-syntax
 * check).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Layout of the shim (DCMTK behind the C API of imaging/dicom.h):
 *   shim_internal.cpp  codec registration, tag_name, copy_str
 *   image.cpp          opening files and memory, the header and series
 *                      geometry, pixel data; the mmdx_dicom_* C API
 *   rtstruct.cpp       RT Structure Set contours (dcmrt); mmdx_rtstruct_*
 *   seg.cpp            DICOM Segmentation frames (dcmseg); mmdx_seg_*
 *   un.cpp / un.h      elements stored as VR UN, re-read with their real VR
 */
#ifndef MMDX_IMAGING_DICOM_SHIM_INTERNAL_H
#define MMDX_IMAGING_DICOM_SHIM_INTERNAL_H

#include "dicom.h"

#include <unistd.h>
#include <cstddef>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dctagkey.h"
#include "dcmtk/ofstd/ofstring.h"

extern "C" {
#include "error.h"
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mmdx's DICOM reader assumes a little-endian host"
#endif

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

namespace mmdx_dicom_shim {

/* Register DCMTK's JPEG, JPEG-LS and RLE decoders once per process (and
 * silence DCMTK's log). Defined in shim_internal.cpp. */
void ensure_codecs();

/* "(GGGG,EEEE) Name" of a tag, for messages. Defined in shim_internal.cpp. */
std::string tag_name(const DcmTagKey &key);

/* Copy `src` into `dst` of `size` bytes, truncated and NUL-terminated.
 * Defined in shim_internal.cpp. */
void copy_str(char *dst, size_t size, const OFString &src);

/* Set and return MMDX_EUNSUPPORTED: "unsupported transfer syntax <UID>
 * (<name>)". Defined in image.cpp. */
int unsupported_syntax(const mmdx_dicom_file *f);

/* Whether this build can decode the file's transfer syntax. Defined in image.cpp. */
bool syntax_decodable(const mmdx_dicom_file *f);

} // namespace mmdx_dicom_shim

/* The shim's files call these by their short names. */
using mmdx_dicom_shim::copy_str;
using mmdx_dicom_shim::ensure_codecs;
using mmdx_dicom_shim::syntax_decodable;
using mmdx_dicom_shim::tag_name;
using mmdx_dicom_shim::unsupported_syntax;

#endif
