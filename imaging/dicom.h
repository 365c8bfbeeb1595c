/*
 * imaging/dicom.h — the C face of the DICOM shim, the C++ that talks to DCMTK.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The shim (imaging/dicom/: image.cpp, rtstruct.cpp, seg.cpp and their
 * shared shim_internal.h) is the imaging module's only C++. It parses DICOM
 * files with DCMTK (dcmdata, with the JPEG, JPEG-LS and RLE decoders
 * registered; deflate is native), and hands back plain C structs: the
 * attributes an image reader needs, the decoded native pixel bytes, the
 * contours of an RT Structure Set (dcmrt) and the frames of a Segmentation
 * (dcmseg). Everything that builds volumes and masks from them is C
 * (dicom_series.c, roi_*.c).
 *
 * Errors: every fallible function returns 0 or a negative mmdx_error_code
 * and leaves a message naming the file, and the tag where one is at fault,
 * in the thread's last error (core/error.h).
 *
 * Thread-safety: distinct objects may be used from different threads at
 * once (the decoders are registered once, on first use, under a once-flag).
 * One object must not be used by two threads at a time.
 *
 * Pixel bytes are returned in the host's byte order; mmdx builds only on
 * little-endian hosts (checked at compile time in dicom/shim_internal.h).
 */
#ifndef MMDX_IMAGING_DICOM_H
#define MMDX_IMAGING_DICOM_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How the pixel values of an object are stored. */
typedef enum mmdx_dicom_pixel_kind {
    MMDX_DICOM_PIXELS_NONE = 0,    /**< no (7FE0,0010/0008/0009) element */
    MMDX_DICOM_PIXELS_INTEGER = 1, /**< Pixel Data (7FE0,0010), 1..32 bits allocated */
    MMDX_DICOM_PIXELS_FLOAT = 2,   /**< Float Pixel Data (7FE0,0008) */
    MMDX_DICOM_PIXELS_DOUBLE = 3   /**< Double Float Pixel Data (7FE0,0009) */
} mmdx_dicom_pixel_kind;

/**
 * What one DICOM object says about its image. Strings are NUL-terminated
 * and empty when the attribute is absent; `has_*` flags say whether a
 * numeric attribute was present. Geometry comes from the top-level
 * attributes, or for enhanced multi-frame objects from the Shared
 * Functional Groups; per-frame values (Per-Frame Functional Groups, or the
 * RT Dose Grid Frame Offset Vector) are in the frame_* arrays.
 */
typedef struct mmdx_dicom_header {
    char transfer_syntax[72];      /**< (0002,0010) UID, or the one DCMTK detected without meta header */
    char transfer_syntax_name[72]; /**< DCMTK's name for it */
    char sop_class_uid[72];        /**< (0008,0016) */
    char sop_instance_uid[72];     /**< (0008,0018) */
    char study_uid[72];            /**< (0020,000D) */
    char series_uid[72];           /**< (0020,000E) */
    char frame_of_reference_uid[72]; /**< (0020,0052) */
    char modality[24];             /**< (0008,0060) */
    char photometric[24];          /**< (0028,0004); after decode, what the decoder produced */
    int32_t pixel_kind;            /**< mmdx_dicom_pixel_kind */
    int32_t compressed;            /**< 1 when the pixel data are encapsulated */
    uint64_t stored_pixel_bytes;   /**< length of native (not encapsulated) pixel data as stored; 0 otherwise */
    uint32_t rows, columns, frames; /**< (0028,0010), (0028,0011), (0028,0008) (1 when absent) */
    uint32_t samples_per_pixel;    /**< (0028,0002), 1 when absent */
    uint32_t bits_allocated, bits_stored, high_bit; /**< (0028,0100/0101/0102) */
    uint32_t pixel_representation; /**< (0028,0103): 0 unsigned, 1 two's complement */
    uint32_t planar_configuration; /**< (0028,0006): 0 colour-by-pixel, 1 colour-by-plane */
    int32_t has_position, has_orientation, has_spacing;
    double position[3];            /**< Image Position (Patient) (0020,0032), mm */
    double orientation[6];         /**< Image Orientation (Patient) (0020,0037): row then column cosines */
    double spacing[2];             /**< Pixel Spacing (0028,0030): between rows, between columns (mm) */
    int32_t spacing_is_imager;     /**< spacing came from Imager Pixel Spacing (0018,1164) */
    double slice_thickness;        /**< (0018,0050), 0 when absent */
    double spacing_between_slices; /**< (0018,0088), 0 when absent */
    int32_t has_rescale;
    double rescale_slope, rescale_intercept; /**< (0028,1053), (0028,1052); 1 and 0 when absent */
    /* Modality LUT Sequence (0028,3000), used when there is no rescale. */
    uint32_t lut_entries;          /**< 0 when there is no modality LUT */
    int32_t lut_first;             /**< first stored value mapped */
    uint32_t lut_bits;             /**< bits per LUT entry */
    const uint16_t *lut_data;      /**< lut_entries values, owned by the file */
    /* Per-frame values, each NULL when not given per frame; owned by the file. */
    const double *frame_position;  /**< frames x 3 */
    const double *frame_orientation; /**< frames x 6 */
    const double *frame_slope, *frame_intercept; /**< frames */
    const double *frame_offset;    /**< RT Dose Grid Frame Offset Vector (3004,000C), frames */
    int32_t instance_number;       /**< (0020,0013), 0 when absent */
} mmdx_dicom_header;

/** A parsed DICOM file (opaque). */
typedef struct mmdx_dicom_file mmdx_dicom_file;

/**
 * Parse a DICOM file (with or without the Part 10 preamble and meta header).
 * Large elements such as the pixel data are read only when decoded.
 * Errors: MMDX_ENOTFOUND (no such file), MMDX_EIO, MMDX_EFORMAT ("not a
 * DICOM file", truncated or malformed header, a malformed attribute named by
 * its tag). On success *out is owned by the caller (mmdx_dicom_close).
 */
MMDX_RESULT_USED int mmdx_dicom_open(mmdx_dicom_file **out, const char *path);

/**
 * Parse a DICOM object held in memory (`name` is used in messages). The
 * bytes are copied into an anonymous memory file (Linux memfd) that DCMTK
 * reads exactly as it reads a file; the buffer is not kept. Errors as
 * mmdx_dicom_open, and MMDX_EIO when the memory file cannot be made.
 */
MMDX_RESULT_USED int mmdx_dicom_open_memory(mmdx_dicom_file **out, const void *data, size_t len,
                                            const char *name);

/**
 * Whether a file looks like DICOM: the 'DICM' marker at byte 128, or a raw
 * dataset starting with group 0002 or 0008. Used to skip other files found in
 * a folder. 0 for unreadable files.
 */
int mmdx_dicom_sniff(const char *path);

/** The attributes read at open. Borrowed; valid until close. */
const mmdx_dicom_header *mmdx_dicom_get_header(const mmdx_dicom_file *f);

/** The path given at open. Borrowed. */
const char *mmdx_dicom_path(const mmdx_dicom_file *f);

/**
 * Decode the pixel data of every frame into native form: *pixels points at
 * frames x rows x columns x samples values, each bits_allocated wide (bit-
 * packed for 1-bit data, 4 or 8 bytes for float/double pixel data), in host
 * byte order, with the colour layout given by the header (which decoding may
 * update: a JPEG decoder converts YBR_FULL(_422) to RGB). The buffer is
 * owned by the file; *len is its size in bytes.
 * Errors: MMDX_EFORMAT (no pixel data, a pixel-module attribute missing or
 * inconsistent, fewer bytes than the header promises, a corrupt compressed
 * stream), MMDX_EUNSUPPORTED ("unsupported transfer syntax <UID> (<name>)"
 * when no decoder of this build handles it).
 */
MMDX_RESULT_USED int mmdx_dicom_decode(mmdx_dicom_file *f, const void **pixels, size_t *len);

/**
 * 0 when this build can decode the file's transfer syntax, else
 * MMDX_EUNSUPPORTED with "unsupported transfer syntax <UID> (<name>)".
 */
MMDX_RESULT_USED int mmdx_dicom_check_syntax(const mmdx_dicom_file *f);

/** Release a file. NULL is a no-op. */
void mmdx_dicom_close(mmdx_dicom_file *f);

/* ------------------------------------------------------------------------ */
/* RT Structure Set (dcmrt)                                                  */
/* ------------------------------------------------------------------------ */

/** One contour of a ROI: n_points points (x, y, z in mm, patient LPS). */
typedef struct mmdx_rt_contour {
    char geometric_type[24];       /**< (3006,0042): CLOSED_PLANAR, POINT, OPEN_PLANAR, ... */
    size_t n_points;
    double *points;                /**< n_points x 3 */
} mmdx_rt_contour;

/** One ROI of a structure set. */
typedef struct mmdx_rt_roi {
    int32_t number;                /**< ROI Number (3006,0022) */
    char name[80];                 /**< ROI Name (3006,0026) */
    char frame_of_reference_uid[72]; /**< Referenced Frame of Reference UID (3006,0024) */
    size_t n_contours;
    mmdx_rt_contour *contours;
} mmdx_rt_roi;

/** The ROIs of an RT Structure Set; free with mmdx_rtstruct_free(). */
typedef struct mmdx_rtstruct {
    char frame_of_reference_uid[72]; /**< first Referenced Frame of Reference (3006,0010) */
    size_t n_rois;
    mmdx_rt_roi *rois;
} mmdx_rtstruct;

/**
 * Read an RT Structure Set. Errors: those of mmdx_dicom_open, MMDX_EFORMAT
 * when the file is not an RTSTRUCT or a contour's Contour Data (3006,0050)
 * does not hold 3 x Number of Contour Points (3006,0046) values.
 */
MMDX_RESULT_USED int mmdx_rtstruct_read(mmdx_rtstruct **out, const char *path);
void mmdx_rtstruct_free(mmdx_rtstruct *rs);

/* ------------------------------------------------------------------------ */
/* Segmentation (dcmseg)                                                     */
/* ------------------------------------------------------------------------ */

/** One frame of a segmentation: one byte per pixel, 0 or 1 (fractional: value > 0.5 of max). */
typedef struct mmdx_seg_frame {
    uint16_t segment;              /**< Referenced Segment Number */
    int32_t has_position;
    double position[3];            /**< Image Position (Patient) of the frame */
    uint8_t *pixels;               /**< rows x columns */
} mmdx_seg_frame;

typedef struct mmdx_seg_segment {
    uint16_t number;               /**< Segment Number (0062,0004) */
    char label[72];                /**< Segment Label (0062,0005) */
} mmdx_seg_segment;

/** A Segmentation object; free with mmdx_seg_free(). */
typedef struct mmdx_seg {
    char frame_of_reference_uid[72];
    uint32_t rows, columns;
    int32_t has_orientation, has_spacing;
    double orientation[6];
    double spacing[2];             /**< between rows, between columns (mm) */
    double slice_thickness;        /**< 0 when absent */
    size_t n_segments;
    mmdx_seg_segment *segments;
    size_t n_frames;
    mmdx_seg_frame *frames;
} mmdx_seg;

/**
 * Read a DICOM Segmentation (binary or fractional). Errors: those of
 * mmdx_dicom_open and mmdx_dicom_decode, MMDX_EFORMAT when it is not a SEG
 * or dcmseg refuses it (its reason in the message).
 */
MMDX_RESULT_USED int mmdx_seg_read(mmdx_seg **out, const char *path);
void mmdx_seg_free(mmdx_seg *s);


#ifdef __cplusplus
}
#endif

#endif
