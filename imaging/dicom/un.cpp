/*
 * imaging/dicom/un.cpp — elements stored with VR UN, read again through
 * their dictionary VR (see un.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "un.h"

#include <cstring>
#include <vector>

#include "dcmtk/dcmdata/dcelem.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcstack.h"
#include "dcmtk/dcmdata/dctag.h"
#include "dcmtk/dcmdata/dcxfer.h"

namespace {

struct UnElement {
    DcmItem *parent;
    DcmElement *element;
};

/* The VR the dictionary gives a public tag, or EVR_UN when there is none. */
DcmEVR dictionary_vr(const DcmTagKey &key)
{
    if (key.isPrivate() || key.getGroup() == 0x7fe0 || key.getGroup() == 0xfffe)
        return EVR_UN;
    DcmTag looked_up(key);
    DcmEVR vr = looked_up.getEVR();
    return looked_up.isUnknownVR() || vr == EVR_UNKNOWN || vr == EVR_UNKNOWN2B ? EVR_UN : vr;
}

void put16(std::vector<Uint8> &b, Uint16 v, bool big)
{
    b.push_back(big ? (Uint8)(v >> 8) : (Uint8)(v & 0xff));
    b.push_back(big ? (Uint8)(v & 0xff) : (Uint8)(v >> 8));
}

/* The element `el` holds, parsed as the one element of an implicit-VR
 * stream (tag, 32-bit length, value), or nullptr when it does not parse. */
DcmElement *reparse(DcmElement *el, bool big_endian)
{
    const DcmTagKey key = el->getTag();
    bool sequence = dictionary_vr(key) == EVR_SQ;
    bool big = big_endian && !sequence; /* sequences inside UN are always little endian */
    Uint8 *raw = nullptr;
    Uint32 len = el->getLength();
    if (len > 0 && (el->getUint8Array(raw).bad() || !raw))
        return nullptr;
    std::vector<Uint8> buf;
    buf.reserve(8 + (size_t)len);
    put16(buf, key.getGroup(), big);
    put16(buf, key.getElement(), big);
    put16(buf, big ? (Uint16)(len >> 16) : (Uint16)(len & 0xffff), big);
    put16(buf, big ? (Uint16)(len & 0xffff) : (Uint16)(len >> 16), big);
    buf.insert(buf.end(), raw, raw + len);

    DcmInputBufferStream in;
    in.setBuffer(buf.data(), (offile_off_t)buf.size());
    in.setEos();
    DcmDataset parsed;
    const E_TransferSyntax xfer = big ? EXS_BigEndianImplicit : EXS_LittleEndianImplicit;
    parsed.transferInit();
    OFCondition c = parsed.read(in, xfer, EGL_noChange, DCM_MaxReadLength);
    parsed.transferEnd();
    if (c.bad() || parsed.card() != 1)
        return nullptr;
    DcmElement *out = parsed.getElement(0);
    if (!out || out->getTag() != key || out->ident() == EVR_UN)
        return nullptr;
    return parsed.remove(out);
}

} // namespace

void mmdx_dicom__reparse_un(DcmDataset *ds, bool big_endian)
{
    /* Collect first: replacing elements while walking would upset the walk. */
    std::vector<UnElement> found;
    DcmStack stack;
    while (ds->nextObject(stack, OFTrue).good()) {
        DcmObject *obj = stack.top();
        if (!obj || obj->ident() != EVR_UN || stack.card() < 2)
            continue;
        DcmObject *parent = stack.elem(1);
        DcmEVR pv = parent ? parent->ident() : EVR_UNKNOWN;
        if (pv != EVR_item && pv != EVR_dataset)
            continue;
        if (dictionary_vr(obj->getTag()) == EVR_UN)
            continue;
        found.push_back({OFstatic_cast(DcmItem *, parent), OFstatic_cast(DcmElement *, obj)});
    }
    for (const UnElement &u : found) {
        DcmElement *real = reparse(u.element, big_endian);
        if (!real)
            continue;
        /* insert() with replaceOld deletes the UN element. */
        if (u.parent->insert(real, OFTrue).bad())
            delete real;
    }
}
