/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diagnose.h - flag a plan's or a product's day whose performance is
 * unusually strong or weak against its own trailing baseline, with the
 * reason in words.
 *
 * Pure: no I/O, no clock (jansson for JSON).  The caller gives the T+1
 * rows (struct snapshot_day, treatment figures) of one plan or one product
 * for the judged date and the days before it, in any order, each date at
 * most once; rows outside the window are ignored, missing days are simply
 * not part of the baseline.
 *
 * The statistic, per figure (GMV per view, conversion = order lines per
 * view, ROI = GMV / promotion cost):
 *   baseline  the values of the window_days days before the judged date
 *             that have a value (pv_t >= min_views; ROI also cost > 0)
 *   median m, MAD = median |x_i - m| of the baseline
 *   z = (x - m) / (1.4826 * max(MAD, max(mad_floor_rel * |m|,
 *                                        mad_floor_abs[figure])))
 *   |z| >= z_threshold: "strong" (z > 0) or "weak" (z < 0)
 * With fewer than min_days baseline values the verdict is "short_history";
 * without a value on the judged day, "no_data".  1.4826 * MAD estimates
 * the standard deviation of normal data and, unlike it, is not dragged by
 * the outliers being looked for; the floor keeps a flat baseline (MAD 0)
 * from flagging every small wobble.  Rationale and defaults:
 * docs/metrics.md.
 */
#ifndef SP_DIAGNOSE_H
#define SP_DIAGNOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "snapshot.h"

#define DIAGNOSE_WINDOW_MAX 90
#define DIAGNOSE_REASON_MAX 160

/* The figures judged. */
enum diagnose_metric {
	DIAGNOSE_GMV_PER_VIEW,  /* gmv_t / pv_t, minor units */
	DIAGNOSE_CONVERSION,    /* ord_t / pv_t */
	DIAGNOSE_ROI,           /* gmv_t / cost */
	DIAGNOSE_NMETRICS
};

enum diagnose_verdict {
	DIAGNOSE_NORMAL,
	DIAGNOSE_STRONG,        /* z >= z_threshold */
	DIAGNOSE_WEAK,          /* z <= -z_threshold */
	DIAGNOSE_SHORT,         /* fewer than min_days of baseline */
	DIAGNOSE_NO_DATA        /* no value on the judged day */
};

/* The thresholds; diagnose_params_default() sets: */
struct diagnose_params {
	int window_days;        /* 14: trailing days of the baseline */
	int min_days;           /* 5: baseline values needed to judge */
	double z_threshold;     /* 3.0 */
	double mad_floor_rel;   /* 0.05: MAD floor as a share of |median| */
	double mad_floor_abs[DIAGNOSE_NMETRICS];
				/* 0.1 minor units per view, 0.001
				   (0.1 point of conversion), 0.1 ROI */
	int64_t min_views;      /* 30: a day with fewer treatment views has
				   no value */
};

/* One figure's check. */
struct diagnose_check {
	enum diagnose_metric metric;
	enum diagnose_verdict verdict;
	int has_value;          /* the judged day has a value */
	double value;           /* the judged day's figure */
	int ndays;              /* baseline values used */
	double median, mad, z;  /* set when ndays >= min_days and has_value */
	char reason[DIAGNOSE_REASON_MAX];
};

struct diagnose_result {
	char date[SNAPSHOT_DATE_MAX];
	char plan_id[PLAN_ID_MAX];
	char product_id[EVENT_ID_MAX];  /* "": the whole plan */
	int flagged;            /* some check is strong or weak */
	struct diagnose_check checks[DIAGNOSE_NMETRICS];
};

/* The defaults listed in struct diagnose_params. */
void diagnose_params_default(struct diagnose_params *dp);

/* 0 if every parameter is within its bounds, else -1 with err. */
int diagnose_params_check(const struct diagnose_params *dp, char *err,
    size_t errlen);

/*
 * Judge the day `date` of one plan or product from its rows days[0..n-1].
 * The result's identity is the judged row's (else days[0]'s).
 * 0, or -1 with err (bad parameters, malformed date, a date twice).
 */
int diagnose_day(const struct diagnose_params *dp,
    const struct snapshot_day *days, size_t n, const char *date,
    struct diagnose_result *out, char *err, size_t errlen);

/* The wire names: "gmv_per_view", "conversion", "roi"; "normal",
   "strong", "weak", "short_history", "no_data". */
const char *diagnose_metric_name(enum diagnose_metric m);
const char *diagnose_verdict_name(enum diagnose_verdict v);

/*
 * The result as JSON (new reference): {date, plan_id, product_id (product
 * rows only), flagged, checks: [{metric, verdict, value, median, mad, z,
 * days, reason}]}, figures null when not set.
 */
json_t *diagnose_to_json(const struct diagnose_result *r);

#endif
