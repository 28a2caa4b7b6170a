/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h - wall-clock time and calendar dates in the configured zone.
 *
 * clock_set_zone() sets TZ for the process (libc's zone database); the
 * date of an event time is cached per day, so most calls do no conversion.
 */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <stdint.h>

/* Use the zone ("UTC", "Europe/London"); 0 or -1. */
int clock_set_zone(const char *zone);

/* Milliseconds since the epoch, wall clock. */
int64_t clock_now_ms(void);

/* Monotonic milliseconds. */
int64_t clock_mono_ms(void);

/* Monotonic nanoseconds (for timing short work). */
int64_t clock_mono_ns(void);

/* "YYYY-MM-DD" of epoch ms ts in the zone; buf holds at least 11 bytes. */
void clock_date(int64_t ts_ms, char *buf);

/* Epoch ms of local midnight starting the date; -1 if malformed. */
int64_t clock_day_start(const char *date);

/*
 * Epoch ms of the local wall time minute (minutes after 00:00) on the
 * date, by the zone's rules of that day (a time the spring gap skips is
 * taken an hour later, as mktime does); -1 if the date is malformed.
 */
int64_t clock_local_ms(const char *date, int minute);

#endif
