/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_segment.c - unit tests of engine/segment.c: parameter bounds, the
 * calendar of the window and its edges, each segment rule and its edges
 * (ties, small shops, minimum counts, exactly 25 units, day 30 against day
 * 31, listed 30 against 31 days ago), independence of the input order, the
 * entered/left diff, and a replay of real data (data/online-retail-daily.csv)
 * checked against an independent computation written over the CSV.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE         /* timegm() */
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "segment.h"

#define DAY PLAN_DAY_MS
#define NOW 1322697600000LL     /* 2011-12-01T00:00:00Z */
#define OLD (NOW - 400 * DAY)   /* listed long ago */
#define ERRLEN 160

/* A known product with window sums, stock and listing time. */
static void
prod(struct segment_product *q, const char *id, int64_t views,
    int64_t orders, int64_t stock, int64_t listed_at)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->product_id, sizeof(q->product_id), "%s", id);
	q->views = views;
	q->orders = orders;
	q->units = orders;
	q->gmv = orders * 1000;
	q->stock = stock;
	q->listed_at = listed_at;
	q->known = 1;
}

/* Compute with sp (defaults if NULL) at NOW; fails the test on error. */
static void
compute(const struct segment_params *sp, const struct segment_product *p,
    size_t n, unsigned *mask)
{
	struct segment_params def;
	char err[ERRLEN] = "";

	segment_params_default(&def);
	if (segment_compute(sp != NULL ? sp : &def, p, n, NOW, mask, err,
	    sizeof(err)) == -1)
		fail_msg("segment_compute: %s", err);
}

/* How many of the n masks hold bit. */
static size_t
count_bit(const unsigned *mask, size_t n, unsigned bit)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += (mask[i] & bit) != 0;
	return c;
}

/* One bad parameter and the message it must give. */
static void
expect_bad(const struct segment_params *sp, const char *msg)
{
	struct segment_product q;
	unsigned mask = 7;
	char err[ERRLEN] = "";

	assert_int_equal(segment_params_check(sp, err, sizeof(err)), -1);
	assert_string_equal(err, msg);
	prod(&q, "p", 1000, 100, 0, OLD);
	err[0] = '\0';
	assert_int_equal(segment_compute(sp, &q, 1, NOW, &mask, err,
	    sizeof(err)), -1);
	assert_string_equal(err, msg);
}

/* The defaults are the documented ones; each bound is enforced. */
static void
test_params(void **state)
{
	struct segment_params d, sp;
	char err[ERRLEN];

	(void)state;
	segment_params_default(&d);
	assert_int_equal(d.window_days, 30);
	assert_int_equal(d.clearance_min_stock, 25);
	assert_int_equal(d.trending_top_pct, 10);
	assert_int_equal(d.trending_min_views, 100);
	assert_int_equal(d.bestselling_top_pct, 10);
	assert_int_equal(d.bestselling_min_orders, 10);
	assert_int_equal(d.noncompetitive_top_n, 200);
	assert_int_equal(d.noncompetitive_combine, SEGMENT_COMBINE_RANK_SUM);
	assert_int_equal(segment_params_check(&d, err, sizeof(err)), 0);
	sp = d; sp.window_days = 0;
	expect_bad(&sp, "\"window_days\" must be an integer from 1 to 365");
	sp = d; sp.window_days = 366;
	expect_bad(&sp, "\"window_days\" must be an integer from 1 to 365");
	sp = d; sp.clearance_min_stock = 0;
	expect_bad(&sp, "\"clearance_min_stock\" must be at least 1");
	sp = d; sp.trending_top_pct = 0;
	expect_bad(&sp, "\"trending_top_pct\" must be an integer from 1 to "
	    "100");
	sp = d; sp.trending_min_views = 0;
	expect_bad(&sp, "\"trending_min_views\" must be at least 1");
	sp = d; sp.bestselling_top_pct = 101;
	expect_bad(&sp, "\"bestselling_top_pct\" must be an integer from 1 "
	    "to 100");
	sp = d; sp.bestselling_min_orders = -3;
	expect_bad(&sp, "\"bestselling_min_orders\" must be at least 1");
	sp = d; sp.noncompetitive_top_n = 0;
	expect_bad(&sp, "\"noncompetitive_top_n\" must be an integer from 1 "
	    "to 1000000");
	sp = d; sp.noncompetitive_combine = (enum segment_combine)7;
	expect_bad(&sp, "\"noncompetitive_combine\" must be \"rank_sum\" or "
	    "\"both\"");
}

/* The first and last dates of a window, checked. */
static void
expect_window(const char *today, int days, const char *first,
    const char *last)
{
	char (*d)[SEGMENT_DATE_MAX] = calloc((size_t)days, sizeof(*d));
	char err[ERRLEN] = "";

	assert_non_null(d);
	if (segment_window_dates(today, days, d, err, sizeof(err)) == -1)
		fail_msg("window of %s: %s", today, err);
	assert_string_equal(d[0], first);
	assert_string_equal(d[days - 1], last);
	for (int i = 1; i < days; i++)
		assert_true(strcmp(d[i - 1], d[i]) < 0);
	free(d);
}

/* A window request that must fail with msg. */
static void
expect_window_error(const char *today, int days, const char *msg)
{
	char d[2][SEGMENT_DATE_MAX];
	char err[ERRLEN] = "";

	assert_int_equal(segment_window_dates(today, days > 2 ? 2 : days, d,
	    err, sizeof(err)), -1);
	assert_string_equal(err, msg);
}

/* Window dates across month, year and leap-day boundaries. */
static void
test_window_dates(void **state)
{
	(void)state;
	expect_window("2011-12-01", 30, "2011-11-01", "2011-11-30");
	expect_window("2011-12-10", 30, "2011-11-10", "2011-12-09");
	expect_window("2012-03-01", 2, "2012-02-28", "2012-02-29");
	expect_window("2011-03-01", 1, "2011-02-28", "2011-02-28");
	expect_window("2000-03-01", 1, "2000-02-29", "2000-02-29");
	expect_window("2100-03-01", 1, "2100-02-28", "2100-02-28");
	expect_window("2012-01-01", 1, "2011-12-31", "2011-12-31");
	expect_window("2013-01-01", 365, "2012-01-02", "2012-12-31");
	expect_window("1970-01-31", 31, "1969-12-31", "1970-01-30");
	expect_window("0001-02-01", 31, "0001-01-01", "0001-01-31");
	expect_window_error("2011-02-29", 1, "malformed date \"2011-02-29\"");
	expect_window_error("2011-13-01", 1, "malformed date \"2011-13-01\"");
	expect_window_error("2011-04-31", 1, "malformed date \"2011-04-31\"");
	expect_window_error("2011-00-10", 1, "malformed date \"2011-00-10\"");
	expect_window_error("2011-1-01", 1, "malformed date \"2011-1-01\"");
	expect_window_error("2011-01-011", 1,
	    "malformed date \"2011-01-011\"");
	expect_window_error("2011/01/01", 1, "malformed date \"2011/01/01\"");
	expect_window_error("", 1, "malformed date \"\"");
	expect_window_error("0000-12-31", 1, "malformed date \"0000-12-31\"");
	expect_window_error("0001-01-01", 1,
	    "window of \"0001-01-01\" starts before year 1");
	expect_window_error("2011-12-01", 0,
	    "\"window_days\" must be an integer from 1 to 365");
}

/* One day's counters. */
static struct segment_day
day(const char *date, int64_t pv, int64_t ord)
{
	struct segment_day d;

	memset(&d, 0, sizeof(d));
	snprintf(d.date, sizeof(d.date), "%s", date);
	d.pv = pv;
	d.ord = ord;
	d.units = ord * 3;
	d.gmv = ord * 1000;
	return d;
}

/* Today and day 31 are out, day 1 (yesterday) and day 30 are in. */
static void
test_window_sum(void **state)
{
	struct segment_day d[6];
	struct segment_product q;
	char err[ERRLEN] = "";

	(void)state;
	d[0] = day("2011-12-01", 1000, 1000);   /* today */
	d[1] = day("2011-11-30", 1, 1);         /* day 1 */
	d[2] = day("2011-11-01", 10, 10);       /* day 30 */
	d[3] = day("2011-10-31", 100, 100);     /* day 31 */
	d[4] = day("2011-12-05", 10000, 10000); /* later */
	d[5] = day("2011-11-15", 0, -2);        /* net of a cancellation */
	prod(&q, "p", 0, 0, 5, OLD);
	assert_int_equal(segment_window_sum(&q, d, 6, "2011-12-01", 30, err,
	    sizeof(err)), 0);
	assert_int_equal(q.views, 11);
	assert_int_equal(q.orders, 9);
	assert_int_equal(q.units, 27);
	assert_int_equal(q.gmv, 9000);
	assert_int_equal(q.stock, 5);
	assert_int_equal(segment_window_sum(&q, d, 6, "2011-11-02", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(q.views, 10);
	d[4] = day("2011-12-5", 1, 1);
	assert_int_equal(segment_window_sum(&q, d, 6, "2011-12-01", 30, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "malformed date \"2011-12-5\"");
	assert_int_equal(q.views, 10);
	assert_int_equal(segment_window_sum(&q, d, 0, "2011-12-01", 30, err,
	    sizeof(err)), 0);
	assert_int_equal(q.views + q.orders + q.units + q.gmv, 0);
}

/* Top decile with a minimum; k = ceil(m / 10). */
static void
test_trending(void **state)
{
	struct segment_product p[21];
	unsigned mask[21];
	char id[16];

	(void)state;
	for (int i = 0; i < 21; i++) {
		snprintf(id, sizeof(id), "p%02d", i);
		prod(&p[i], id, 1000 - 10 * i, 0, 0, OLD);
	}
	compute(NULL, p, 21, mask);             /* k = ceil(2.1) = 3 */
	assert_int_equal(count_bit(mask, 21, SEG_TRENDING), 3);
	assert_true(mask[0] & mask[1] & mask[2] & SEG_TRENDING);
	assert_false(mask[3] & SEG_TRENDING);
	compute(NULL, p, 20, mask);             /* k = 2 */
	assert_int_equal(count_bit(mask, 20, SEG_TRENDING), 2);
	p[1].views = 100;                       /* exactly the minimum */
	p[0].views = 99;                        /* first by rank, too few */
	for (int i = 2; i < 20; i++)
		p[i].views = 50;
	compute(NULL, p, 20, mask);
	assert_int_equal(mask[0] & SEG_TRENDING, 0);
	assert_int_equal(mask[1] & SEG_TRENDING, SEG_TRENDING);
	assert_int_equal(count_bit(mask, 20, SEG_TRENDING), 1);
}

/* Products tied at the boundary share a rank: in or out together. */
static void
test_ties(void **state)
{
	struct segment_product p[20];
	unsigned mask[20];
	char id[16];

	(void)state;
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "p%02d", i);
		prod(&p[i], id, 200, 0, 0, OLD);
	}
	p[5].views = 500;
	p[9].views = 400;
	p[14].views = 400;
	compute(NULL, p, 20, mask);             /* k = 2: ranks 1, 2, 2 */
	assert_int_equal(count_bit(mask, 20, SEG_TRENDING), 3);
	assert_true(mask[5] & mask[9] & mask[14] & SEG_TRENDING);
	p[5].views = 400;                       /* 3 at rank 1 */
	compute(NULL, p, 20, mask);
	assert_int_equal(count_bit(mask, 20, SEG_TRENDING), 3);
	p[5].views = 300;                       /* rank 3: out */
	p[9].views = 600;
	p[14].views = 500;
	compute(NULL, p, 20, mask);
	assert_int_equal(count_bit(mask, 20, SEG_TRENDING), 2);
	assert_int_equal(mask[5] & SEG_TRENDING, 0);
	for (int i = 0; i < 20; i++)
		p[i].views = 200;                      /* all tied at rank 1 */
	compute(NULL, p, 20, mask);
	assert_int_equal(count_bit(mask, 20, SEG_TRENDING), 20);
}

/* A shop with fewer than 10 products still has its top product. */
static void
test_small_shop(void **state)
{
	struct segment_product p[5];
	unsigned mask[5];

	(void)state;
	prod(&p[0], "a", 150, 12, 0, OLD);
	compute(NULL, p, 1, mask);
	assert_int_equal(mask[0], SEG_TRENDING | SEG_BEST_SELLING);
	prod(&p[1], "b", 300, 11, 0, OLD);
	prod(&p[2], "c", 120, 40, 0, OLD);
	prod(&p[3], "d", 0, 0, 0, OLD);
	prod(&p[4], "e", 5, 1, 0, OLD);
	compute(NULL, p, 5, mask);              /* k = ceil(0.5) = 1 */
	assert_int_equal(count_bit(mask, 5, SEG_TRENDING), 1);
	assert_true(mask[1] & SEG_TRENDING);
	assert_int_equal(count_bit(mask, 5, SEG_BEST_SELLING), 1);
	assert_true(mask[2] & SEG_BEST_SELLING);
	compute(NULL, p, 0, mask);
}

/* Best-selling: by order lines, with its own share and minimum. */
static void
test_best_selling(void **state)
{
	struct segment_params sp;
	struct segment_product p[10];
	unsigned mask[10];
	char id[16];

	(void)state;
	segment_params_default(&sp);
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		prod(&p[i], id, 0, 9 - i, 0, OLD);
	}
	p[3].orders = 10;                       /* exactly the minimum */
	compute(&sp, p, 10, mask);
	assert_int_equal(count_bit(mask, 10, SEG_BEST_SELLING), 1);
	assert_int_equal(mask[3], SEG_BEST_SELLING);
	p[3].orders = 9;                        /* ties p0, too few */
	compute(&sp, p, 10, mask);
	assert_int_equal(count_bit(mask, 10, SEG_BEST_SELLING), 0);
	sp.bestselling_min_orders = 8;
	sp.bestselling_top_pct = 30;            /* k = 3: 9, 9, 8 */
	compute(&sp, p, 10, mask);
	assert_int_equal(count_bit(mask, 10, SEG_BEST_SELLING), 3);
	assert_true(mask[0] & mask[1] & mask[3] & SEG_BEST_SELLING);
	assert_int_equal(count_bit(mask, 10, SEG_TRENDING), 0);
}

/* Clearance of one product with these window days and stock. */
static unsigned
clearance_of(const struct segment_day *d, size_t nd, int64_t stock,
    int64_t listed_at)
{
	struct segment_product q;
	unsigned mask;
	char err[ERRLEN] = "";

	prod(&q, "c", 0, 0, stock, listed_at);
	if (segment_window_sum(&q, d, nd, "2011-12-01", 30, err,
	    sizeof(err)) == -1)
		fail_msg("window sum: %s", err);
	compute(NULL, &q, 1, &mask);
	return mask;
}

/* No sale in the window, at least 25 in stock, listed before it. */
static void
test_clearance(void **state)
{
	struct segment_day d[2];
	struct segment_product q;
	unsigned mask;

	(void)state;
	assert_int_equal(clearance_of(NULL, 0, 25, OLD), SEG_CLEARANCE);
	assert_int_equal(clearance_of(NULL, 0, 24, OLD), 0);
	d[0] = day("2011-11-01", 0, 1);         /* sold on day 30 */
	assert_int_equal(clearance_of(d, 1, 100, OLD), 0);
	d[0] = day("2011-10-31", 0, 1);         /* sold on day 31 */
	assert_int_equal(clearance_of(d, 1, 100, OLD), SEG_CLEARANCE);
	d[1] = day("2011-12-01", 0, 5);         /* and today */
	assert_int_equal(clearance_of(d, 2, 100, OLD), SEG_CLEARANCE);
	d[0] = day("2011-11-20", 0, 1);         /* sold, then cancelled */
	d[1] = day("2011-11-20", 0, -1);
	assert_int_equal(clearance_of(d, 2, 100, OLD), SEG_CLEARANCE);
	assert_int_equal(clearance_of(NULL, 0, 100, NOW - 10 * DAY),
	    SEG_NEWLY_LISTED);
	prod(&q, "u", 0, 0, 100, OLD);
	q.known = 0;
	compute(NULL, &q, 1, &mask);
	assert_int_equal(mask, 0);
}

/* Listed at most window_days before now: 30 days in, a ms more out. */
static void
test_newly_listed(void **state)
{
	struct segment_product p[5];
	unsigned mask[5];

	(void)state;
	prod(&p[0], "a", 0, 1, 100, NOW - 30 * DAY);
	prod(&p[1], "b", 0, 1, 100, NOW - 30 * DAY - 1);
	prod(&p[2], "c", 0, 0, 100, NOW - 31 * DAY);
	prod(&p[3], "d", 0, 0, 100, NOW + DAY);         /* ahead of now */
	prod(&p[4], "e", 0, 0, 100, NOW);
	compute(NULL, p, 5, mask);
	assert_int_equal(mask[0], SEG_NEWLY_LISTED);
	assert_int_equal(mask[1], 0);
	assert_int_equal(mask[2], SEG_CLEARANCE);
	assert_int_equal(mask[3], SEG_NEWLY_LISTED);
	assert_int_equal(mask[4], SEG_NEWLY_LISTED);
}

/* The four rules are independent: a product may match several. */
static void
test_overlaps(void **state)
{
	struct segment_product p[10];
	unsigned mask[10];
	char id[16];

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		prod(&p[i], id, 10, 1, 0, OLD);
	}
	p[0].views = 500;                       /* viewed, never bought */
	p[0].orders = p[0].units = p[0].gmv = 0;
	p[0].stock = 30;
	p[1].orders = 50;                       /* bought, new */
	p[1].listed_at = NOW - DAY;
	compute(NULL, p, 10, mask);
	assert_int_equal(mask[0], SEG_TRENDING | SEG_CLEARANCE);
	assert_int_equal(mask[1], SEG_BEST_SELLING | SEG_NEWLY_LISTED);
	p[1].views = 500;
	compute(NULL, p, 10, mask);
	assert_int_equal(mask[1], SEG_TRENDING | SEG_BEST_SELLING |
	    SEG_NEWLY_LISTED);
}

/*
 * Six products; GMV ranks A1 B2 C3 D4 E5 F6, views ranks B1 C2 D3 A4 E5
 * F6; F has no GMV.  Rank sums: B 3, A 5, C 5, D 7, E 10.
 */
static void
nc_shop(struct segment_product *p)
{
	static const char *ids[6] = { "A", "B", "C", "D", "E", "F" };
	static const int64_t gmv[6] = { 600, 500, 400, 300, 200, 0 };
	static const int64_t views[6] = { 300, 600, 500, 400, 200, 100 };

	for (int i = 0; i < 6; i++) {
		prod(&p[i], ids[i], views[i], 0, 0, OLD);
		p[i].gmv = gmv[i];
	}
}

/* Non-competitive: the top N by rank sum or in both top N lists. */
static void
test_noncompetitive(void **state)
{
	struct segment_params sp;
	struct segment_product p[6];
	unsigned mask[6];

	(void)state;
	segment_params_default(&sp);
	sp.trending_min_views = 1000000;
	sp.noncompetitive_top_n = 2;
	nc_shop(p);
	compute(&sp, p, 6, mask);               /* B rank 1, A and C tie 2 */
	assert_int_equal(count_bit(mask, 6, SEG_NON_COMPETITIVE), 3);
	assert_true(mask[0] & mask[1] & mask[2] & SEG_NON_COMPETITIVE);
	sp.noncompetitive_combine = SEGMENT_COMBINE_BOTH;
	compute(&sp, p, 6, mask);               /* {A, B} and {B, C} */
	assert_int_equal(count_bit(mask, 6, SEG_NON_COMPETITIVE), 1);
	assert_int_equal(mask[1], SEG_NON_COMPETITIVE);
	sp.noncompetitive_combine = SEGMENT_COMBINE_RANK_SUM;
	sp.trending_min_views = 600;            /* B is Trending */
	compute(&sp, p, 6, mask);
	assert_int_equal(mask[1], SEG_TRENDING);
	assert_int_equal(mask[0], SEG_NON_COMPETITIVE);
	assert_int_equal(mask[2], SEG_NON_COMPETITIVE);
	assert_int_equal(count_bit(mask, 6, SEG_NON_COMPETITIVE), 2);
	sp.noncompetitive_top_n = 200;          /* all but F (no GMV) */
	compute(&sp, p, 6, mask);
	assert_int_equal(count_bit(mask, 6, SEG_NON_COMPETITIVE), 4);
	assert_int_equal(mask[5], 0);
}

/* Unknown products are neither members nor counted nor ranked. */
static void
test_unknown_ignored(void **state)
{
	struct segment_product p[15];
	unsigned mask[15];
	char id[16];

	(void)state;
	for (int i = 0; i < 15; i++) {
		snprintf(id, sizeof(id), "p%02d", i);
		prod(&p[i], id, 1000 - i, 20, 100, NOW - DAY);
		p[i].known = i >= 5;            /* 10 known: k = 1 */
	}
	compute(NULL, p, 15, mask);
	for (int i = 0; i < 5; i++)
		assert_int_equal(mask[i], 0);
	assert_int_equal(count_bit(mask, 15, SEG_TRENDING), 1);
	assert_true(mask[5] & SEG_TRENDING);
	assert_int_equal(count_bit(mask, 15, SEG_NEWLY_LISTED), 10);
}

/* A small deterministic generator for the shuffle test. */
static uint64_t
lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* The masks do not depend on the order of the products. */
static void
test_order_independent(void **state)
{
	enum { N = 500 };
	struct segment_product *p = calloc(N, sizeof(*p)), tmp;
	unsigned *m1 = calloc(N, sizeof(*m1)), *m2 = calloc(N, sizeof(*m2));
	uint64_t s = 42;
	char id[16];

	(void)state;
	assert_true(p != NULL && m1 != NULL && m2 != NULL);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "p%03d", i);
		prod(&p[i], id, (int64_t)(lcg(&s) % 40) * 10,
		    (int64_t)(lcg(&s) % 30), (int64_t)(lcg(&s) % 50),
		    NOW - (int64_t)(lcg(&s) % 60) * DAY);
		p[i].gmv = (int64_t)(lcg(&s) % 20) * 100;
	}
	compute(NULL, p, N, m1);
	for (int i = N - 1; i > 0; i--) {
		int j = (int)(lcg(&s) % (uint64_t)(i + 1));

		tmp = p[i];
		p[i] = p[j];
		p[j] = tmp;
	}
	compute(NULL, p, N, m2);
	for (int i = 0; i < N; i++)
		assert_int_equal(m2[i], m1[atoi(p[i].product_id + 1)]);
	for (unsigned bit = 1; bit <= SEG_NEWLY_LISTED; bit <<= 1)
		assert_true(count_bit(m1, N, bit) > 0);
	free(p);
	free(m1);
	free(m2);
}

/* Entered and left one segment against the stored set. */
static void
test_diff(void **state)
{
	static const char *const prev[] = { "a", "b", "c" };
	struct segment_product p[4];
	unsigned mask[4] = {
		SEG_TRENDING, SEG_CLEARANCE, SEG_TRENDING | SEG_CLEARANCE, 0
	};
	struct segment_diff d;
	char err[ERRLEN] = "";

	(void)state;
	prod(&p[0], "a", 0, 0, 0, OLD);
	prod(&p[1], "b", 0, 0, 0, OLD);
	prod(&p[2], "d", 0, 0, 0, OLD);
	prod(&p[3], "e", 0, 0, 0, OLD);
	assert_int_equal(segment_diff(&d, SEG_TRENDING, p, mask, 4, prev, 3,
	    err, sizeof(err)), 0);
	assert_int_equal(d.nentered, 1);
	assert_string_equal(d.entered[0], "d");
	assert_int_equal(d.nleft, 2);                   /* b out, c gone */
	assert_string_equal(d.left[0], "b");
	assert_string_equal(d.left[1], "c");
	segment_diff_release(&d);
	assert_int_equal(segment_diff(&d, SEG_CLEARANCE, p, mask, 4, NULL, 0,
	    err, sizeof(err)), 0);
	assert_int_equal(d.nentered, 2);
	assert_string_equal(d.entered[0], "b");
	assert_string_equal(d.entered[1], "d");
	assert_int_equal(d.nleft, 0);
	segment_diff_release(&d);
	assert_int_equal(segment_diff(&d, SEG_TRENDING | SEG_CLEARANCE, p,
	    mask, 4, prev, 3, err, sizeof(err)), -1);
	assert_string_equal(err, "not a segment bit \"0x3\"");
	assert_null(d.entered);
	assert_int_equal(segment_diff(&d, 0, p, mask, 4, prev, 3, err,
	    sizeof(err)), -1);
}

/* ---- Replay of real data: data/online-retail-daily.csv ---- */

/* One row of the daily file. */
struct row {
	char id[EVENT_ID_MAX];
	char date[SEGMENT_DATE_MAX];
	int64_t units, lines, revenue;
};

/* The rows, and the products as runs of consecutive rows. */
struct sample {
	struct row *rows;
	size_t nrows, cap;
	size_t *start;          /* first row of product k */
	size_t nprod;
};

/* FNV-1a, 32 bits, of a string. */
static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Simulated page views per order line: 5 to 50 (docs/plans.md). */
static int64_t
views_per_line(const char *id)
{
	return 5 + fnv1a(id) % 46;
}

/* Simulated units in stock: 0 to 99 (docs/plans.md). */
static int64_t
sim_stock(const char *id)
{
	return (fnv1a(id) >> 8) % 100;
}

/* The path of the daily file, from this source file's path. */
static void
sample_path(char *buf, size_t len)
{
	const char *f = __FILE__, *tail = "tests/unit/test_segment.c";
	size_t fl = strlen(f), tl = strlen(tail);

	if (getenv("SP_SEGMENT_SAMPLE") != NULL)
		snprintf(buf, len, "%s", getenv("SP_SEGMENT_SAMPLE"));
	else if (fl >= tl && strcmp(f + fl - tl, tail) == 0)
		snprintf(buf, len, "%.*sdata/online-retail-daily.csv",
		    (int)(fl - tl), f);
	else
		snprintf(buf, len, "data/online-retail-daily.csv");
}

/* Append one parsed line to the sample; fails the test if malformed. */
static void
sample_add(struct sample *s, const char *line)
{
	struct row r;
	char tail;

	memset(&r, 0, sizeof(r));
	if (sscanf(line, "%39[^,],%10[^,],%" SCNd64 ",%" SCNd64 ",%" SCNd64
	    "%c", r.id, r.date, &r.units, &r.lines, &r.revenue, &tail) != 6 ||
	    tail != '\n' || r.lines < 1)
		fail_msg("malformed sample line \"%s\"", line);
	if (s->nrows == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->rows = realloc(s->rows, s->cap * sizeof(*s->rows));
		assert_non_null(s->rows);
	}
	s->rows[s->nrows++] = r;
}

/* Split the rows into products; each product's rows must be together. */
static void
sample_group(struct sample *s)
{
	s->start = calloc(s->nrows + 1, sizeof(*s->start));
	assert_non_null(s->start);
	for (size_t i = 0; i < s->nrows; i++) {
		if (i > 0 && strcmp(s->rows[i].id, s->rows[i - 1].id) == 0) {
			assert_true(strcmp(s->rows[i - 1].date,
			    s->rows[i].date) < 0);
			continue;
		}
		if (i > 0)
			assert_true(strcmp(s->rows[i - 1].id,
			    s->rows[i].id) < 0);
		s->start[s->nprod++] = i;
	}
	s->start[s->nprod] = s->nrows;
}

/* Read the whole daily file. */
static void
sample_load(struct sample *s)
{
	char path[4096], line[256];
	FILE *f;

	memset(s, 0, sizeof(*s));
	sample_path(path, sizeof(path));
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open \"%s\"", path);
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, "product_id,date,units,order_lines,revenue\n") != 0)
		fail_msg("\"%s\" lacks the expected header", path);
	while (fgets(line, sizeof(line), f) != NULL)
		sample_add(s, line);
	fclose(f);
	sample_group(s);
}

/* Epoch ms of midnight UTC of a "YYYY-MM-DD" date, by the C library. */
static int64_t
utc_ms(const char *date)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	assert_int_equal(sscanf(date, "%d-%d-%d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday), 3);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000;
}

/*
 * Through the module: product k's days with simulated views, summed by
 * segment_window_sum(); listed at its first sale, stock simulated; a
 * product first sold today or later is not in the shop yet (known 0).
 */
static void
module_product(const struct sample *s, size_t k, const char *today,
    struct segment_product *q)
{
	size_t a = s->start[k], b = s->start[k + 1];
	struct segment_day *d = calloc(b - a, sizeof(*d));
	char err[ERRLEN] = "";

	assert_non_null(d);
	for (size_t i = a; i < b; i++) {
		memcpy(d[i - a].date, s->rows[i].date, SEGMENT_DATE_MAX);
		d[i - a].pv = s->rows[i].lines * views_per_line(s->rows[i].id);
		d[i - a].ord = s->rows[i].lines;
		d[i - a].units = s->rows[i].units;
		d[i - a].gmv = s->rows[i].revenue;
	}
	memset(q, 0, sizeof(*q));
	snprintf(q->product_id, sizeof(q->product_id), "%s", s->rows[a].id);
	if (segment_window_sum(q, d, b - a, today, 30, err, sizeof(err)) == -1)
		fail_msg("window sum of %s: %s", q->product_id, err);
	q->stock = sim_stock(q->product_id);
	q->listed_at = utc_ms(s->rows[a].date);
	q->known = strcmp(s->rows[a].date, today) < 0;
	free(d);
}

/* Independent figures of one product over the window [lo, hi]. */
struct indep {
	int64_t views, orders, gmv;
	int listed;             /* first sold before today */
	int newly;
	unsigned mask;
};

/* Sum product k's rows whose date string lies in [lo, hi]. */
static void
indep_product(const struct sample *s, size_t k, const char *lo,
    const char *hi, struct indep *x)
{
	memset(x, 0, sizeof(*x));
	x->listed = strcmp(s->rows[s->start[k]].date, hi) <= 0;
	for (size_t i = s->start[k]; i < s->start[k + 1]; i++) {
		const struct row *r = &s->rows[i];

		if (strcmp(r->date, lo) < 0 || strcmp(r->date, hi) > 0)
			continue;
		x->views += r->lines * views_per_line(r->id);
		x->orders += r->lines;
		x->gmv += r->revenue;
	}
	/* now is midnight of the day after hi: listed on lo or later */
	x->newly = strcmp(s->rows[s->start[k]].date, lo) >= 0;
}

/* 1 + how many listed products have strictly more of the field. */
static size_t
indep_rank(const struct indep *x, size_t n, size_t k, size_t off)
{
	int64_t v, w;
	size_t r = 1;

	memcpy(&v, (const char *)&x[k] + off, sizeof(v));
	for (size_t i = 0; i < n; i++) {
		memcpy(&w, (const char *)&x[i] + off, sizeof(w));
		r += x[i].listed && w > v;
	}
	return r;
}

/* The four basic segments with the default parameters, written out. */
static void
indep_basic(const struct sample *s, struct indep *x, size_t n)
{
	size_t m = 0, k10;

	for (size_t k = 0; k < n; k++)
		m += x[k].listed;
	k10 = (m * 10 + 99) / 100;
	for (size_t k = 0; k < n; k++) {
		const char *id = s->rows[s->start[k]].id;

		if (!x[k].listed)
			continue;
		if (x[k].views >= 100 &&
		    indep_rank(x, n, k, offsetof(struct indep, views)) <= k10)
			x[k].mask |= SEG_TRENDING;
		if (x[k].orders >= 10 &&
		    indep_rank(x, n, k, offsetof(struct indep, orders)) <= k10)
			x[k].mask |= SEG_BEST_SELLING;
		if (x[k].newly)
			x[k].mask |= SEG_NEWLY_LISTED;
		else if (x[k].orders == 0 && sim_stock(id) >= 25)
			x[k].mask |= SEG_CLEARANCE;
	}
}

/* Non-competitive: top 200 by the sum of GMV and views ranks, alone. */
static void
indep_noncompetitive(struct indep *x, size_t n)
{
	size_t *sum = calloc(n, sizeof(*sum)), r;

	assert_non_null(sum);
	for (size_t k = 0; k < n; k++)
		sum[k] = indep_rank(x, n, k, offsetof(struct indep, gmv)) +
		    indep_rank(x, n, k, offsetof(struct indep, views));
	for (size_t k = 0; k < n; k++) {
		if (!x[k].listed || x[k].gmv <= 0 || x[k].views <= 0 ||
		    x[k].mask != 0)
			continue;
		r = 1;
		for (size_t i = 0; i < n; i++)
			r += x[i].listed && x[i].gmv > 0 && x[i].views > 0 &&
			    sum[i] < sum[k];
		if (r <= 200)
			x[k].mask |= SEG_NON_COMPETITIVE;
	}
	free(sum);
}

/* How many products were listed before the evaluation day. */
static size_t
count_listed(const struct indep *x, size_t n)
{
	size_t c = 0;

	for (size_t k = 0; k < n; k++)
		c += x[k].listed != 0;
	return c;
}

/* Segments at today (window [lo, hi]) both ways; sizes into size[]. */
static void
replay_day(const struct sample *s, const char *today, const char *lo,
    const char *hi, size_t size[5])
{
	struct segment_product *p = calloc(s->nprod, sizeof(*p));
	struct indep *x = calloc(s->nprod, sizeof(*x));
	unsigned *mask = calloc(s->nprod, sizeof(*mask));
	struct segment_params sp;
	char err[ERRLEN] = "";

	assert_true(p != NULL && x != NULL && mask != NULL);
	for (size_t k = 0; k < s->nprod; k++) {
		module_product(s, k, today, &p[k]);
		indep_product(s, k, lo, hi, &x[k]);
	}
	segment_params_default(&sp);
	if (segment_compute(&sp, p, s->nprod, utc_ms(today), mask, err,
	    sizeof(err)) == -1)
		fail_msg("segment_compute: %s", err);
	indep_basic(s, x, s->nprod);
	indep_noncompetitive(x, s->nprod);
	for (size_t k = 0; k < s->nprod; k++)
		if (mask[k] != x[k].mask)
			fail_msg("%s at %s: module %#x, independent %#x",
			    p[k].product_id, today, mask[k], x[k].mask);
	for (int b = 0; b < 5; b++)
		size[b] = count_bit(mask, s->nprod, 1u << b);
	printf("segments at %s over %zu products (%zu listed): trending %zu, "
	    "clearance %zu, best_selling %zu, non_competitive %zu, "
	    "newly_listed %zu\n", today, s->nprod, count_listed(x, s->nprod),
	    size[0], size[1], size[2], size[3], size[4]);
	free(p);
	free(x);
	free(mask);
}

/* Real data: the module agrees with the CSV, sizes as in docs/plans.md. */
static void
test_real_data(void **state)
{
	static const size_t at_dec01[5] = { 64, 41, 67, 111, 7 };
	struct sample s;
	size_t size[5];

	(void)state;
	sample_load(&s);
	assert_int_equal(s.nprod, 638);
	replay_day(&s, "2011-12-01", "2011-11-01", "2011-11-30", size);
	for (int b = 0; b < 5; b++)
		assert_int_equal(size[b], at_dec01[b]);
	replay_day(&s, "2011-12-10", "2011-11-10", "2011-12-09", size);
	for (int b = 0; b < 5; b++)
		assert_true(size[b] > 0);
	replay_day(&s, "2011-10-01", "2011-09-01", "2011-09-30", size);
	for (int b = 0; b < 5; b++)
		assert_true(size[b] > 0);
	free(s.rows);
	free(s.start);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_window_dates),
		cmocka_unit_test(test_window_sum),
		cmocka_unit_test(test_trending),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_small_shop),
		cmocka_unit_test(test_best_selling),
		cmocka_unit_test(test_clearance),
		cmocka_unit_test(test_newly_listed),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_noncompetitive),
		cmocka_unit_test(test_unknown_ignored),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_real_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
