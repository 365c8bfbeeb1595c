/*
 * imaging/radiomics/fft.h — in-place 3-D complex FFT for sizes 2^a 3^b 5^c
 * (used for the spatial autocorrelation features).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_RADIOMICS_FFT_H
#define MMDX_RADIOMICS_FFT_H

#include <complex.h>
#include <stddef.h>

/* Smallest n' >= n whose only prime factors are 2, 3 and 5. */
size_t rad_fft_good_size(size_t n);

/*
 * Transform data (dims[0] fastest) in place; inverse = 1 for the inverse
 * transform, which is scaled by 1/(dims[0]*dims[1]*dims[2]). Every dimension
 * must be a good size. Returns 0 or MMDX_ENOMEM / MMDX_EINVAL.
 */
int rad_fft3(double complex *data, const size_t dims[3], int inverse);

/*
 * The same, knowing more: forward, the data are zero outside the box
 * [0, box[0]) x [0, box[1]) x [0, box[2]); inverse, only the result inside
 * that box is wanted (elsewhere it is left unscaled and partly transformed).
 * box NULL: the whole array.
 */
int rad_fft3_box(double complex *data, const size_t dims[3], int inverse, const size_t box[3]);

/*
 * The transform of a real array that is even along every axis (x[i] = x[(L-i)
 * mod L] for each axis; dims = L), which is real and even as well: a cosine
 * transform per axis on the octant alone. oct holds the octant [0, h0] x [0,
 * h1] x [0, h2] (h = L/2 rounded down; h0+1 fastest) and receives the
 * transform's octant. The work is sum over axes of (h+1)^2 times the other
 * two (h+1), a fraction of a full complex FFT's for the small boxes of
 * screening ROIs; rad_fft3_real_even_cost() gives it (multiply-adds) so that
 * callers can compare. Returns 0 or MMDX_ENOMEM.
 */
int rad_fft3_real_even(double *oct, const size_t dims[3]);
double rad_fft3_real_even_cost(const size_t dims[3]);

#endif
