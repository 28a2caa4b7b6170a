/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h - the T+1 figures of a plan's day: sums of the per-product day
 * counters, ROI, GMV per view, the control group, incremental GMV with its
 * 95% confidence interval and incremental ROI, and their three forms (the
 * admin API's day object, the Redis hash sp:daily:<plan>:<date>, the
 * daily_metrics Kafka message).
 *
 * Pure: no I/O, no clock, no randomness (jansson for JSON).  The same
 * inputs always give the same bytes, so re-running a day is harmless.
 *
 * Use (the nightly job, for one plan and one date):
 *   1. per product: snapshot_init(&d, date, plan_id, product_id), then
 *      snapshot_set_counter() for each field of sp:{P}:day:<date> (HMGET of
 *      snapshot_counter_names), and customers_t / customers_c from PFCOUNT
 *      of sp:{P}:uniq:<date>:t and :c; snapshot_derive().
 *   2. the plan: snapshot_init(&plan, date, plan_id, ""), snapshot_sum()
 *      over the product rows, then customers_t / customers_c from ONE
 *      PFCOUNT over every product's uniq key (the union: a customer who
 *      ordered two products counts once; the sum is only an upper bound),
 *      then snapshot_derive().
 *   3. snapshot_to_fields() into sp:daily:<plan>:<date>;
 *      snapshot_kafka_payload() per row to [kafka] metrics_topic.
 * Totals over several days are snapshot_sum() of the day rows as well.
 *
 * Definitions and the confidence interval are in docs/metrics.md.  In short
 * (treatment t, control c = the holdout, r = pv_t / pv_c):
 *   roi              gmv_t / cost, null when cost <= 0
 *   gmv_per_view     gmv_t / pv_t (control: gmv_c / pv_c), null without views
 *   incremental_gmv  gmv_t - gmv_c * r, null when pv_t or pv_c is 0
 *   ci               incremental_gmv -+ z * sqrt(V_t + r^2 V_c), where V_g =
 *                    (1 + cv^2) * sq_g and sq_g = sum over product-days of
 *                    gmv_g^2 / ord_g (compound Poisson); a group with no
 *                    order line at all gets V = (1 + cv^2) * m^2, m the other
 *                    group's mean line value
 *   incremental_roi  incremental_gmv / cost, null when cost <= 0 or
 *                    incremental_gmv is null
 *   its interval     [ci lo / cost, ci hi / cost]: cost is counted, not
 *                    estimated, so the GMV interval maps onto ROI; null
 *                    when incremental_roi is
 * Ratios are rounded to 4 decimals and money to whole minor units when
 * derived, so that the three forms show the same numbers and
 * snapshot_from_fields(snapshot_to_fields(d)) == d exactly.
 */
#ifndef SP_SNAPSHOT_H
#define SP_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "event.h"
#include "plan.h"

#define SNAPSHOT_DATE_MAX 11            /* "YYYY-MM-DD" */
#define SNAPSHOT_NCOUNTERS 12           /* fields of sp:{P}:day:<date> */

/* How the confidence interval is made; snapshot_params_default() sets: */
struct snapshot_params {
	double z;               /* 1.959964: two-sided 95% normal quantile */
	double line_cv;         /* 0.5: coefficient of variation of the value
				   of one product's order lines */
};

/* One row: a product's day, a plan's day, or a sum over days. */
struct snapshot_day {
	char date[SNAPSHOT_DATE_MAX];
	char plan_id[PLAN_ID_MAX];
	char product_id[EVENT_ID_MAX];  /* "": the whole plan */

	/* the day counters (sp:{P}:day:<date>), in snapshot_counter_names
	   order; money in minor units */
	int64_t pv_t, pv_c, offers, ord_t, units_t, gmv_t, cost;
	int64_t ord_c, units_c, gmv_c, ord_o, gmv_o;
	int64_t customers_t, customers_c;       /* PFCOUNT of the uniq keys */

	/* what a sum is made of: 0 for a raw row (one product, one day),
	   else the number of raw rows summed in */
	int64_t parts;
	double sq_t, sq_c;      /* sum over raw rows of gmv^2 / ord, per group
				   (filled by snapshot_derive for raw rows) */

	/* derived by snapshot_derive(); has_x 0 means null */
	int has_roi, has_gpv_t, has_gpv_c, has_incr, has_incr_roi;
	double roi;             /* gmv_t / cost */
	double gpv_t, gpv_c;    /* GMV per view, minor units */
	int64_t incr_gmv;       /* incremental GMV, minor units */
	int64_t incr_lo, incr_hi;       /* its confidence interval */
	double incr_roi;        /* incr_gmv / cost */
	double incr_roi_lo, incr_roi_hi;        /* incr_lo / cost, incr_hi /
						   cost (has_incr_roi) */
};

/* The field names of sp:{P}:day:<date> the counters come from. */
extern const char *const snapshot_counter_names[SNAPSHOT_NCOUNTERS];

/* The defaults listed in struct snapshot_params. */
void snapshot_params_default(struct snapshot_params *sp);

/* Nonzero if date is a well-formed "YYYY-MM-DD" (month 1-12, day 1-31). */
int snapshot_date_ok(const char *date);

/* 0 if the parameters are usable (z > 0, 0 <= line_cv <= 10), else -1. */
int snapshot_params_check(const struct snapshot_params *sp, char *err,
    size_t errlen);

/*
 * Zero d and set its identity; product_id "" (or NULL) for a plan row.
 * 0, or -1 with err (malformed date, id too long).
 */
int snapshot_init(struct snapshot_day *d, const char *date,
    const char *plan_id, const char *product_id, char *err, size_t errlen);

/*
 * Set the counter named name (a field of sp:{P}:day:<date>) from its
 * decimal value; value NULL (field absent) is 0.  Other fields of the day
 * hash ("pv", "plan", ...) are ignored and return 0.
 * 0, or -1 with err (not a decimal integer).
 */
int snapshot_set_counter(struct snapshot_day *d, const char *name,
    const char *value, char *err, size_t errlen);

/*
 * Add the counters and spreads of in[0..n-1] into out (which keeps its
 * identity; its numbers are replaced).  Customers are summed: see above.
 * Call snapshot_derive(out) afterwards.
 */
void snapshot_sum(struct snapshot_day *out, const struct snapshot_day *in,
    size_t n);

/* Fill the derived figures of d from its counters (see above). */
void snapshot_derive(struct snapshot_day *d, const struct snapshot_params *sp);

/*
 * The admin API's day object (new reference): date, product_id (product
 * rows only), page_views, offers, orders, units, gmv, promotion_cost, roi,
 * customers, offer_orders, offer_gmv, gmv_per_view, control {page_views,
 * orders, units, gmv, customers, gmv_per_view}, incremental_gmv,
 * incremental_gmv_ci [lo, hi], incremental_roi, incremental_roi_ci
 * [lo, hi].  Nulls as JSON null.
 */
json_t *snapshot_to_json(const struct snapshot_day *d);

/*
 * The daily_metrics message (CONTRACT section 4): the day object plus
 * "type": "daily_metrics" and plan_id; product_id absent for a plan row.
 * Returns compact JSON text the caller frees with free(), or NULL (out of
 * memory).  Suggested message key: the plan id.
 */
char *snapshot_kafka_payload(const struct snapshot_day *d);

/*
 * d as flat string fields of the Redis hash sp:daily:<plan>:<date>: fills
 * names[] and values[] (malloc'd; free with snapshot_fields_release()) and
 * returns their count, or -1 (out of memory).  A null is "".
 */
int snapshot_to_fields(const struct snapshot_day *d, char ***names,
    char ***values);
void snapshot_fields_release(char **names, char **values, int n);

/*
 * Rebuild d from hash fields (pairs names[i], values[i]); every field
 * snapshot_to_fields() writes is required except product_id and
 * incremental_roi_lo / _hi (absent from hashes written before they were
 * added: derived from the stored interval and cost instead), unknown
 * fields are ignored.  0, or -1 with err naming the field.
 */
int snapshot_from_fields(struct snapshot_day *d, const char *const *names,
    const char *const *values, size_t n, char *err, size_t errlen);

#endif
