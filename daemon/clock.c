/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c - dates in the configured time zone, cached per day.
 */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
	int64_t start, end;     /* [start, end) in ms of the cached day */
	char date[11];
} clock_cache;

/* Set TZ and forget the cached day. */
int
clock_set_zone(const char *zone)
{
	if (setenv("TZ", zone, 1) == -1)
		return -1;
	tzset();
	memset(&clock_cache, 0, sizeof(clock_cache));
	return 0;
}

/* Wall clock in ms. */
int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic clock in ms. */
int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic clock in ns. */
int64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Local midnight of a broken-down day, in ms. */
static int64_t
clock_midnight(int year, int mon, int mday)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon - 1,
	    .tm_mday = mday, .tm_isdst = -1 };

	return (int64_t)mktime(&tm) * 1000;
}

/* Date of ts, cached for the whole local day. */
void
clock_date(int64_t ts_ms, char *buf)
{
	struct tm tm;
	time_t t;

	if (ts_ms >= clock_cache.start && ts_ms < clock_cache.end) {
		memcpy(buf, clock_cache.date, sizeof(clock_cache.date));
		return;
	}
	t = (time_t)(ts_ms / 1000);
	localtime_r(&t, &tm);
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	memcpy(clock_cache.date, tmp, sizeof(clock_cache.date) - 1);
	clock_cache.date[sizeof(clock_cache.date) - 1] = '\0';
	clock_cache.start = clock_midnight(tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
	clock_cache.end = clock_midnight(tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday + 1);
	memcpy(buf, clock_cache.date, sizeof(clock_cache.date));
}

/* Midnight of "YYYY-MM-DD". */
int64_t
clock_day_start(const char *date)
{
	return clock_local_ms(date, 0);
}

/* A local wall time on "YYYY-MM-DD". */
int64_t
clock_local_ms(const char *date, int minute)
{
	int y, m, d, n = 0;
	struct tm tm = { .tm_isdst = -1 };

	if (sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    date[n] != '\0' || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = minute / 60;
	tm.tm_min = minute % 60;
	return (int64_t)mktime(&tm) * 1000;
}
