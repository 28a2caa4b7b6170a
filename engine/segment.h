/* SPDX-License-Identifier: Apache-2.0 */
/*
 * segment.h - a shop's product segments (Trending, Best-selling, Clearance,
 * Newly listed, Non-competitive) over a rolling window of event time.
 *
 * Pure: no I/O, no clock, no global state.  The caller (the daemon) reads
 * each product's day counters sp:{P}:day:<date> for the dates that
 * segment_window_dates() names, sums them with segment_window_sum() into a
 * struct segment_product, adds the catalog row (stock, listed_at, known),
 * and calls segment_compute() once per shop with the time `now` (event
 * time, ms).  The result is one bitmask of enum plan_segment bits per
 * product; segment_diff() then says which products entered and left a
 * segment since the stored set sp:segment:<shop>:<segment>, so that new
 * members can be enrolled in the shop's segment plans.  The Custom segment
 * is a list the seller gives and is not computed here.
 *
 * The definitions, the defaults and their reasons are in docs/plans.md.
 * In short, with m the number of the shop's known products:
 *   Trending         rank by views <= ceil(m * trending_top_pct / 100) and
 *                    views >= trending_min_views
 *   Best-selling     the same over order lines with bestselling_top_pct and
 *                    bestselling_min_orders
 *   Clearance        no order line in the window, stock >=
 *                    clearance_min_stock, listed more than window_days ago
 *   Newly listed     listed at most window_days before now
 *   Non-competitive  GMV and views above zero, among the top
 *                    noncompetitive_top_n by the combined GMV and views
 *                    rankings, and in none of the four above
 * Ranks are competition ranks (1 + the number of products strictly
 * better), so products that tie share a rank and are in or out together.
 * Products with known == 0 (no catalog row) are in no segment and are not
 * counted or ranked.
 *
 * The window: for the evaluation day `today` (the date of now in the
 * schedule's zone), the window_days complete days before it, today
 * excluded: [today - window_days, today - 1].
 *
 * Memory: struct segment_diff owns its two arrays (not the strings they
 * point to); release it with segment_diff_release().
 */
#ifndef SP_SEGMENT_H
#define SP_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

#define SEGMENT_DATE_MAX 11             /* "YYYY-MM-DD" */
#define SEGMENT_WINDOW_MAX 365          /* bound of window_days */
#define SEGMENT_TOP_N_MAX 1000000       /* bound of noncompetitive_top_n */

/* How Non-competitive combines the GMV and the views rankings. */
enum segment_combine {
	SEGMENT_COMBINE_RANK_SUM,       /* top N by rank(GMV) + rank(views) */
	SEGMENT_COMBINE_BOTH            /* in the top N of both rankings */
};

/* The tunable parts of the definitions; segment_params_default() sets: */
struct segment_params {
	int window_days;                /* 30: days of the rolling window */
	int64_t clearance_min_stock;    /* 25: units in stock, at least */
	int trending_top_pct;           /* 10: share of the shop, percent */
	int64_t trending_min_views;     /* 100: views in the window, at least */
	int bestselling_top_pct;        /* 10: share of the shop, percent */
	int64_t bestselling_min_orders; /* 10: order lines, at least */
	int noncompetitive_top_n;       /* 200 */
	enum segment_combine noncompetitive_combine;   /* RANK_SUM */
};

/* One day's counters of a product (the fields of sp:{P}:day:<date>). */
struct segment_day {
	char date[SEGMENT_DATE_MAX];
	int64_t pv, ord, units, gmv;
};

/* One product of the shop: window sums and catalog row. */
struct segment_product {
	char product_id[EVENT_ID_MAX];
	int64_t views, orders, units, gmv;      /* sums over the window */
	int64_t stock;
	int64_t listed_at;              /* event time, ms */
	int known;                      /* a product event was applied */
};

/* The products that entered and left one segment. */
struct segment_diff {
	const char **entered;           /* now in, not in the previous set */
	size_t nentered;
	const char **left;              /* in the previous set, not now */
	size_t nleft;
};

/* The defaults listed in struct segment_params. */
void segment_params_default(struct segment_params *sp);

/* 0 if every parameter is within its bounds, else -1 with err. */
int segment_params_check(const struct segment_params *sp, char *err,
    size_t errlen);

/*
 * The window's dates for the evaluation day today ("YYYY-MM-DD"), oldest
 * first: today - window_days .. today - 1 into dates[0..window_days-1].
 * 0, or -1 with err (malformed date, window_days out of bounds).
 */
int segment_window_dates(const char *today, int window_days,
    char (*dates)[SEGMENT_DATE_MAX], char *err, size_t errlen);

/*
 * Set p's views, orders, units and gmv to the sums of the days[] that fall
 * in the window of today; other days are ignored, each date should appear
 * once.  0, or -1 with err (malformed date, window_days out of bounds) and
 * p unchanged.
 */
int segment_window_sum(struct segment_product *p,
    const struct segment_day *days, size_t n, const char *today,
    int window_days, char *err, size_t errlen);

/*
 * The segments of each of the shop's n products at event time now into
 * mask[i] (enum plan_segment bits).  The result does not depend on the
 * order of p[].  0, or -1 with err (bad parameters, out of memory).
 */
int segment_compute(const struct segment_params *sp,
    const struct segment_product *p, size_t n, int64_t now, unsigned *mask,
    char *err, size_t errlen);

/*
 * Which products entered and left the segment bit, given the new masks of
 * the shop's products and the previous members' ids prev[] (the stored
 * set); the ids in p[] are unique.  A previous member missing from p[]
 * has left.  entered keeps the order of p[], left that of prev[]; both
 * point into p[] and prev[].
 * 0, or -1 with err (not a single segment bit, out of memory) and d empty.
 */
int segment_diff(struct segment_diff *d, unsigned bit,
    const struct segment_product *p, const unsigned *mask, size_t n,
    const char *const *prev, size_t nprev, char *err, size_t errlen);

void segment_diff_release(struct segment_diff *d);

#endif
