/*
 * core/clock.h — the program's one monotonic clock (durations, rates,
 * deadlines; never wall time).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CORE_CLOCK_H
#define MMDX_CORE_CLOCK_H

/** Seconds on the monotonic clock (an arbitrary origin). Thread-safe. */
double mmdx_clock_seconds(void);

/** Sleep `s` seconds (resumed after signals that interrupt it). */
void mmdx_sleep_seconds(double s);

#endif
