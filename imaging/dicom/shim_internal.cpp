/*
 * imaging/dicom/shim_internal.cpp — the helpers every part of the DICOM shim
 * uses (see shim_internal.h): DCMTK's decoders registered once, tag names for
 * messages, bounded string copies.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "shim_internal.h"

#include <cstdio>

#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dctag.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

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

} // namespace

namespace mmdx_dicom_shim {

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

} // namespace mmdx_dicom_shim
