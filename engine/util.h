/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h - small helpers the engine modules share: an error formatter and
 * calendar dates as day numbers (days since 1970-01-01, proleptic
 * Gregorian, years 1 to 9999).
 *
 * Pure: no I/O, no clock, no allocation.
 */
#ifndef SP_UTIL_H
#define SP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Format a message into err (if it has room) and return -1. */
int util_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Days since 1970-01-01 of a valid civil date (H. Hinnant's method). */
int64_t util_days_from_civil(int64_t y, int m, int d);

/* The civil date of a day number (inverse of the above). */
void util_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

/*
 * The day number of a strict "YYYY-MM-DD" (exactly ten characters, a real
 * calendar day, year 1 to 9999); 0, or -1 if malformed.
 */
int util_date_parse(const char *s, int64_t *day);

/* "YYYY-MM-DD" of a day number of the years 1 to 9999 (buf: 11 bytes). */
void util_date_format(int64_t day, char *buf);

/*
 * The date days calendar days after "YYYY-MM-DD" date (before it when
 * negative) into out (11 bytes; may be date): no clock, no time zone, so a
 * 23- or 25-hour day is one day like any other.  0, or -1 (out untouched)
 * if date is malformed or the result leaves the years 1 to 9999.
 */
int util_date_add(const char *date, int64_t days, char *out);

/* Parse a whole decimal integer s within [min, max] into *out; 0, or -1
 * (out untouched) when s is not one. */
int util_parse_long(const char *s, long min, long max, long *out);

/* The length of the longest prefix of the UTF-8 text s (len bytes) that
 * is at most max bytes and ends on a whole character, for quoting user
 * text in a message with "%.*s". */
int util_utf8_prefix(const char *s, size_t len, size_t max);

/*
 * Write v as printf's "%.6f" would for the counts the learner keeps (finite,
 * |v| < 9e9, where v * 1e6 is exact to the unit; others go through
 * snprintf) at p, which needs 32 bytes;
 * returns the end (the terminating NUL).  glibc formats a double exactly
 * in multiple precision, which is slow for the thousands of arms written
 * per batch.  The last digit may differ from printf's only when v * 1e6
 * sits within a rounding error of a half.
 */
char *util_fmt_fixed6(char *p, double v);

/*
 * sscanf(s, "%lf %lf", a, b), its return value included, fast for the
 * "%.6f %.6f" that util_fmt_fixed6() writes: two plain decimals of at most
 * 15 digits are converted exactly as strtod does (both correctly rounded),
 * anything else goes through sscanf.
 */
int util_scan_pair(const char *s, double *a, double *b);

/* Write v in decimal ("%" PRId64) and a NUL at p (at least 21 bytes);
 * returns the end (the NUL). */
char *util_fmt_i64(char *p, int64_t v);

/* Copy s into dst (size bytes), cut to size - 1 bytes as
 * snprintf(dst, size, "%s", s) does; returns strlen(s). */
size_t util_strlcpy(char *dst, const char *s, size_t size);

#endif
