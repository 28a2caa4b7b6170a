/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.c - the error formatter and day-number dates of util.h.
 */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Write a message into err and return -1. */
int
util_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "%.6f" of v, fast for ordinary values (see util.h). */
char *
util_fmt_fixed6(char *p, double v)
{
	char digits[24];
	int64_t u;
	int n = 0;

	if (!(v > -9e9 && v < 9e9)) {  /* beyond, v * 1e6 passes 2^53 */
		int k = snprintf(p, 32, "%.6f", v);     /* cut at 31 */

		return p + (k < 0 ? 0 : k > 31 ? 31 : k);
	}
	u = llround(v * 1e6);
	if (u < 0 || (u == 0 && signbit(v)))
		*p++ = '-';
	u = u < 0 ? -u : u;
	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0 || n < 7);
	while (n > 6)
		*p++ = digits[--n];
	*p++ = '.';
	while (n > 0)
		*p++ = digits[--n];
	*p = '\0';
	return p;
}

/* "%" PRId64 of v (see util.h). */
char *
util_fmt_i64(char *p, int64_t v)
{
	char digits[20];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	int n = 0;

	if (v < 0)
		*p++ = '-';
	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	while (n > 0)
		*p++ = digits[--n];
	*p = '\0';
	return p;
}

/* A plain decimal "-?D+(.D+)?" of at most 15 digits (9 after the point)
 * at *sp: 0 with *out and *sp past it, else -1. */
static int
util_fast_decimal(const char **sp, double *out)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	    1e8, 1e9 };
	const char *s = *sp;
	uint64_t m = 0;
	int neg = 0, nd = 0, k = 0;
	double d;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++, nd++)
		m = m * 10 + (uint64_t)(*s - '0');
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++, nd++, k++)
			m = m * 10 + (uint64_t)(*s - '0');
	}
	if (nd > 15 || k > 9)
		return -1;      /* m might pass 2^53: not exact */
	d = (double)m / p10[k];  /* m and 10^k exact: correctly rounded */
	*out = neg ? -d : d;
	*sp = s;
	return 0;
}

/* sscanf(s, "%lf %lf", a, b) (see util.h). */
int
util_scan_pair(const char *s, double *a, double *b)
{
	const char *p = s;
	double x, y;

	if (util_fast_decimal(&p, &x) == 0 && *p++ == ' ' &&
	    util_fast_decimal(&p, &y) == 0 && *p == '\0') {
		*a = x;
		*b = y;
		return 2;
	}
	return sscanf(s, "%lf %lf", a, b);
}

/* snprintf(dst, size, "%s", s) without the format machinery. */
size_t
util_strlcpy(char *dst, const char *s, size_t size)
{
	size_t n = strlen(s), k = n < size ? n : size - 1;

	if (size == 0)
		return n;
	memcpy(dst, s, k);
	dst[k] = '\0';
	return n;
}

/* Days since 1970-01-01 of a civil date. */
int64_t
util_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The civil date of a day number. */
void
util_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* The value of n decimal digits at s, or -1 if one is not a digit. */
static int
util_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days in a month of a year. */
static int
util_month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* The day number of "YYYY-MM-DD". */
int
util_date_parse(const char *s, int64_t *day)
{
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	y = util_digits(s, 4);
	m = util_digits(s + 5, 2);
	d = util_digits(s + 8, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > util_month_days(y, m))
		return -1;
	*day = util_days_from_civil(y, m, d);
	return 0;
}

/* Write n decimal digits of v at s. */
static void
util_put_digits(char *s, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		s[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "YYYY-MM-DD" of a day number. */
void
util_date_format(int64_t day, char *buf)
{
	int64_t y;
	int m, d;

	util_civil_from_days(day, &y, &m, &d);
	util_put_digits(buf, y, 4);
	buf[4] = '-';
	util_put_digits(buf + 5, m, 2);
	buf[7] = '-';
	util_put_digits(buf + 8, d, 2);
	buf[10] = '\0';
}

/* A date moved by whole calendar days. */
int
util_date_add(const char *date, int64_t days, char *out)
{
	int64_t day;

	if (util_date_parse(date, &day) == -1 ||
	    days < util_days_from_civil(1, 1, 1) - day ||
	    days > util_days_from_civil(9999, 12, 31) - day)
		return -1;
	util_date_format(day + days, out);
	return 0;
}

int
util_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t n = len;

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return (int)n;
}
