/* SPDX-License-Identifier: Apache-2.0 */
/*
 * segment.c - a shop's product segments over a rolling window: calendar
 * arithmetic on "YYYY-MM-DD" days, window sums of the day counters,
 * competition ranks, the five computed segments, and the change of a
 * segment's members since the stored set.  Definitions in docs/plans.md.
 */
#include "segment.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#define SEGMENT_OTHERS (SEG_TRENDING | SEG_CLEARANCE | SEG_BEST_SELLING | \
	SEG_NEWLY_LISTED)

/* A value to rank and the position it belongs to. */
struct segment_key {
	int64_t v;
	size_t i;
};

/* Scratch space of one segment_compute() call. */
struct segment_work {
	size_t m;               /* known products */
	size_t *kidx;           /* their indices in p[] */
	struct segment_key *keys;
	size_t *rviews, *rorders, *rgmv, *rcomb;        /* ranks, 0: none */
};

/* The address stored as the value of a present key in a strmap. */
static int segment_mark;

/* The defaults documented in segment.h and docs/plans.md. */
void
segment_params_default(struct segment_params *sp)
{
	sp->window_days = 30;
	sp->clearance_min_stock = 25;
	sp->trending_top_pct = 10;
	sp->trending_min_views = 100;
	sp->bestselling_top_pct = 10;
	sp->bestselling_min_orders = 10;
	sp->noncompetitive_top_n = 200;
	sp->noncompetitive_combine = SEGMENT_COMBINE_RANK_SUM;
}

/* Check a share in percent; 0 or -1 with err. */
static int
segment_check_pct(const char *name, int pct, char *err, size_t errlen)
{
	if (pct < 1 || pct > 100)
		return util_fail(err, errlen, "\"%s\" must be an integer "
		    "from 1 to 100", name);
	return 0;
}

/* Check a minimum count; 0 or -1 with err. */
static int
segment_check_min(const char *name, int64_t v, char *err, size_t errlen)
{
	if (v < 1)
		return util_fail(err, errlen, "\"%s\" must be at least 1",
		    name);
	return 0;
}

/* Check the window length; 0 or -1 with err. */
static int
segment_check_window(int window_days, char *err, size_t errlen)
{
	if (window_days < 1 || window_days > SEGMENT_WINDOW_MAX)
		return util_fail(err, errlen, "\"window_days\" must be an "
		    "integer from 1 to %d", SEGMENT_WINDOW_MAX);
	return 0;
}

/* 0 if every parameter is within its bounds, else -1 with err. */
int
segment_params_check(const struct segment_params *sp, char *err,
    size_t errlen)
{
	if (segment_check_window(sp->window_days, err, errlen) == -1 ||
	    segment_check_min("clearance_min_stock", sp->clearance_min_stock,
	    err, errlen) == -1 ||
	    segment_check_pct("trending_top_pct", sp->trending_top_pct, err,
	    errlen) == -1 ||
	    segment_check_min("trending_min_views", sp->trending_min_views,
	    err, errlen) == -1 ||
	    segment_check_pct("bestselling_top_pct", sp->bestselling_top_pct,
	    err, errlen) == -1 ||
	    segment_check_min("bestselling_min_orders",
	    sp->bestselling_min_orders, err, errlen) == -1)
		return -1;
	if (sp->noncompetitive_top_n < 1 ||
	    sp->noncompetitive_top_n > SEGMENT_TOP_N_MAX)
		return util_fail(err, errlen, "\"noncompetitive_top_n\" "
		    "must be an integer from 1 to %d", SEGMENT_TOP_N_MAX);
	if (sp->noncompetitive_combine != SEGMENT_COMBINE_RANK_SUM &&
	    sp->noncompetitive_combine != SEGMENT_COMBINE_BOTH)
		return util_fail(err, errlen, "\"noncompetitive_combine\" "
		    "must be \"rank_sum\" or \"both\"");
	return 0;
}

/* The first and last day numbers of today's window; 0 or -1 with err. */
static int
segment_window(const char *today, int window_days, int64_t *first,
    int64_t *last, char *err, size_t errlen)
{
	int64_t t;

	if (segment_check_window(window_days, err, errlen) == -1)
		return -1;
	if (util_date_parse(today, &t) == -1)
		return util_fail(err, errlen, "malformed date \"%s\"",
		    today);
	*first = t - window_days;
	*last = t - 1;
	if (*first < util_days_from_civil(1, 1, 1))
		return util_fail(err, errlen, "window of \"%s\" starts "
		    "before year 1", today);
	return 0;
}

/* The window's dates, oldest first; 0 or -1 with err. */
int
segment_window_dates(const char *today, int window_days,
    char (*dates)[SEGMENT_DATE_MAX], char *err, size_t errlen)
{
	int64_t first, last;

	if (segment_window(today, window_days, &first, &last, err,
	    errlen) == -1)
		return -1;
	for (int64_t z = first; z <= last; z++)
		util_date_format(z, dates[z - first]);
	return 0;
}

/* Sum the days of the window into p's counters; 0 or -1 with err. */
int
segment_window_sum(struct segment_product *p,
    const struct segment_day *days, size_t n, const char *today,
    int window_days, char *err, size_t errlen)
{
	int64_t first, last, z, views = 0, orders = 0, units = 0, gmv = 0;

	if (segment_window(today, window_days, &first, &last, err,
	    errlen) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (util_date_parse(days[i].date, &z) == -1)
			return util_fail(err, errlen, "malformed date "
			    "\"%s\"", days[i].date);
		if (z < first || z > last)
			continue;
		views += days[i].pv;
		orders += days[i].ord;
		units += days[i].units;
		gmv += days[i].gmv;
	}
	p->views = views;
	p->orders = orders;
	p->units = units;
	p->gmv = gmv;
	return 0;
}

/* Free the scratch space. */
static void
segment_work_release(struct segment_work *w)
{
	free(w->kidx);
	free(w->keys);
	free(w->rviews);
	free(w->rorders);
	free(w->rgmv);
	free(w->rcomb);
	memset(w, 0, sizeof(*w));
}

/* Scratch space for the known products of p[]; 0 or -1. */
static int
segment_work_init(struct segment_work *w, const struct segment_product *p,
    size_t n)
{
	size_t m = 0;

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < n; i++)
		m += p[i].known != 0;
	if (m == 0)
		return 0;
	w->kidx = calloc(m, sizeof(*w->kidx));
	w->keys = calloc(m, sizeof(*w->keys));
	w->rviews = calloc(m, sizeof(*w->rviews));
	w->rorders = calloc(m, sizeof(*w->rorders));
	w->rgmv = calloc(m, sizeof(*w->rgmv));
	w->rcomb = calloc(m, sizeof(*w->rcomb));
	if (w->kidx == NULL || w->keys == NULL || w->rviews == NULL ||
	    w->rorders == NULL || w->rgmv == NULL || w->rcomb == NULL) {
		segment_work_release(w);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (p[i].known)
			w->kidx[w->m++] = i;
	return 0;
}

/* qsort order: larger values first, then by position. */
static int
segment_key_cmp(const void *a, const void *b)
{
	const struct segment_key *ka = a, *kb = b;

	if (ka->v != kb->v)
		return ka->v > kb->v ? -1 : 1;
	return (ka->i > kb->i) - (ka->i < kb->i);
}

/* Competition ranks (1: largest v) of keys[0..nk-1] into rank[key.i]. */
static void
segment_rank(struct segment_key *keys, size_t nk, size_t *rank)
{
	qsort(keys, nk, sizeof(*keys), segment_key_cmp);
	for (size_t j = 0; j < nk; j++) {
		if (j > 0 && keys[j].v == keys[j - 1].v)
			rank[keys[j].i] = rank[keys[j - 1].i];
		else
			rank[keys[j].i] = j + 1;
	}
}

/* Rank the known products by the int64_t counter at offset off. */
static void
segment_rank_by(struct segment_work *w, const struct segment_product *p,
    size_t off, size_t *rank)
{
	for (size_t j = 0; j < w->m; j++) {
		memcpy(&w->keys[j].v, (const char *)&p[w->kidx[j]] + off,
		    sizeof(int64_t));
		w->keys[j].i = j;
	}
	segment_rank(w->keys, w->m, rank);
}

/* How many of m products a top share of pct percent holds (rounded up). */
static size_t
segment_top(size_t m, int pct)
{
	return (m * (size_t)pct + 99) / 100;
}

/* Trending, Best-selling, Clearance and Newly listed of known product j. */
static unsigned
segment_basic(const struct segment_params *sp, const struct segment_work *w,
    const struct segment_product *q, size_t j, int64_t now)
{
	int64_t since = now - (int64_t)sp->window_days * PLAN_DAY_MS;
	unsigned bits = 0;

	if (q->views >= sp->trending_min_views &&
	    w->rviews[j] <= segment_top(w->m, sp->trending_top_pct))
		bits |= SEG_TRENDING;
	if (q->orders >= sp->bestselling_min_orders &&
	    w->rorders[j] <= segment_top(w->m, sp->bestselling_top_pct))
		bits |= SEG_BEST_SELLING;
	if (q->listed_at >= since)
		bits |= SEG_NEWLY_LISTED;
	else if (q->orders <= 0 && q->units <= 0 &&
	    q->stock >= sp->clearance_min_stock)
		bits |= SEG_CLEARANCE;
	return bits;
}

/* Nonzero if known product j is eligible for Non-competitive. */
static int
segment_nc_eligible(const struct segment_product *q)
{
	return q->gmv > 0 && q->views > 0;
}

/* Ranks of the eligible products by the sum of their two ranks. */
static void
segment_rank_sum(struct segment_work *w, const struct segment_product *p)
{
	size_t nk = 0;

	for (size_t j = 0; j < w->m; j++) {
		if (!segment_nc_eligible(&p[w->kidx[j]]))
			continue;
		w->keys[nk].v = -(int64_t)(w->rgmv[j] + w->rviews[j]);
		w->keys[nk].i = j;
		nk++;
	}
	segment_rank(w->keys, nk, w->rcomb);
}

/* Add Non-competitive to the masks of the known products. */
static void
segment_noncompetitive(const struct segment_params *sp,
    struct segment_work *w, const struct segment_product *p, unsigned *mask)
{
	size_t top = (size_t)sp->noncompetitive_top_n, i;
	int in;

	if (sp->noncompetitive_combine == SEGMENT_COMBINE_RANK_SUM)
		segment_rank_sum(w, p);
	for (size_t j = 0; j < w->m; j++) {
		i = w->kidx[j];
		if (!segment_nc_eligible(&p[i]) || (mask[i] & SEGMENT_OTHERS))
			continue;
		if (sp->noncompetitive_combine == SEGMENT_COMBINE_RANK_SUM)
			in = w->rcomb[j] <= top;
		else
			in = w->rgmv[j] <= top && w->rviews[j] <= top;
		if (in)
			mask[i] |= SEG_NON_COMPETITIVE;
	}
}

/* The segments of each product at event time now; 0 or -1 with err. */
int
segment_compute(const struct segment_params *sp,
    const struct segment_product *p, size_t n, int64_t now, unsigned *mask,
    char *err, size_t errlen)
{
	struct segment_work w;

	if (segment_params_check(sp, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		mask[i] = 0;
	if (segment_work_init(&w, p, n) == -1)
		return util_fail(err, errlen, "out of memory");
	if (w.m == 0)
		return 0;
	segment_rank_by(&w, p, offsetof(struct segment_product, views),
	    w.rviews);
	segment_rank_by(&w, p, offsetof(struct segment_product, orders),
	    w.rorders);
	segment_rank_by(&w, p, offsetof(struct segment_product, gmv), w.rgmv);
	for (size_t j = 0; j < w.m; j++)
		mask[w.kidx[j]] = segment_basic(sp, &w, &p[w.kidx[j]], j, now);
	segment_noncompetitive(sp, &w, p, mask);
	segment_work_release(&w);
	return 0;
}

/* Free the diff's arrays and empty it. */
void
segment_diff_release(struct segment_diff *d)
{
	free(d->entered);
	free(d->left);
	memset(d, 0, sizeof(*d));
}

/* Maps of the previous and the new members' ids; 0 or -1. */
static int
segment_diff_maps(struct strmap *was, struct strmap *now, unsigned bit,
    const struct segment_product *p, const unsigned *mask, size_t n,
    const char *const *prev, size_t nprev)
{
	for (size_t i = 0; i < nprev; i++)
		if (strmap_put(was, prev[i], &segment_mark) == -1)
			return -1;
	for (size_t i = 0; i < n; i++)
		if ((mask[i] & bit) &&
		    strmap_put(now, p[i].product_id, &segment_mark) == -1)
			return -1;
	return 0;
}

/* Fill the entered and left arrays from the two maps. */
static void
segment_diff_fill(struct segment_diff *d, const struct strmap *was,
    const struct strmap *now, unsigned bit, const struct segment_product *p,
    const unsigned *mask, size_t n, const char *const *prev, size_t nprev)
{
	for (size_t i = 0; i < n; i++)
		if ((mask[i] & bit) && strmap_get(was, p[i].product_id) == NULL)
			d->entered[d->nentered++] = p[i].product_id;
	for (size_t i = 0; i < nprev; i++)
		if (strmap_get(now, prev[i]) == NULL)
			d->left[d->nleft++] = prev[i];
}

/* Which products entered and left segment bit; 0 or -1 with err. */
int
segment_diff(struct segment_diff *d, unsigned bit,
    const struct segment_product *p, const unsigned *mask, size_t n,
    const char *const *prev, size_t nprev, char *err, size_t errlen)
{
	struct strmap was, now;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	if (plan_segment_name(bit) == NULL)
		return util_fail(err, errlen, "not a segment bit \"%#x\"",
		    bit);
	strmap_init(&was);
	strmap_init(&now);
	d->entered = calloc(n > 0 ? n : 1, sizeof(*d->entered));
	d->left = calloc(nprev > 0 ? nprev : 1, sizeof(*d->left));
	if (d->entered == NULL || d->left == NULL ||
	    segment_diff_maps(&was, &now, bit, p, mask, n, prev, nprev) == -1)
		rc = -1;
	else
		segment_diff_fill(d, &was, &now, bit, p, mask, n, prev, nprev);
	strmap_release(&was);
	strmap_release(&now);
	if (rc == -1) {
		segment_diff_release(d);
		return util_fail(err, errlen, "out of memory");
	}
	return 0;
}
