/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diagnose.c - robust outlier check of a day's GMV per view, conversion and
 * ROI against the median and MAD of the trailing days, with a reason
 * string.  Statistic and defaults in diagnose.h and docs/metrics.md.
 */
#include "diagnose.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIAGNOSE_MAD_SCALE 1.4826       /* MAD to sigma for normal data */
#define DIAGNOSE_Z_MAX 100.0

static const char *const diagnose_metric_names[DIAGNOSE_NMETRICS] = {
	"gmv_per_view", "conversion", "roi"
};

static const char *const diagnose_metric_labels[DIAGNOSE_NMETRICS] = {
	"GMV per view", "conversion", "ROI"
};

static const char *const diagnose_verdict_names[] = {
	"normal", "strong", "weak", "short_history", "no_data"
};

/* The rows of one diagnose_day() call, sorted out. */
struct diagnose_rows {
	const struct snapshot_day *today;       /* NULL: no row that day */
	const struct snapshot_day *base[DIAGNOSE_WINDOW_MAX];
	int nbase;
};

/* The defaults documented in diagnose.h and docs/metrics.md. */
void
diagnose_params_default(struct diagnose_params *dp)
{
	dp->window_days = 14;
	dp->min_days = 5;
	dp->z_threshold = 3.0;
	dp->mad_floor_rel = 0.05;
	dp->mad_floor_abs[DIAGNOSE_GMV_PER_VIEW] = 0.1;
	dp->mad_floor_abs[DIAGNOSE_CONVERSION] = 0.001;
	dp->mad_floor_abs[DIAGNOSE_ROI] = 0.1;
	dp->min_views = 30;
}

/* Check the parameters; 0 or -1 with err. */
int
diagnose_params_check(const struct diagnose_params *dp, char *err,
    size_t errlen)
{
	if (dp->window_days < 1 || dp->window_days > DIAGNOSE_WINDOW_MAX)
		return util_fail(err, errlen, "\"window_days\" must be "
		    "from 1 to %d", DIAGNOSE_WINDOW_MAX);
	if (dp->min_days < 1 || dp->min_days > dp->window_days)
		return util_fail(err, errlen, "\"min_days\" must be from 1 "
		    "to window_days (%d)", dp->window_days);
	if (!(dp->z_threshold > 0 && dp->z_threshold <= DIAGNOSE_Z_MAX))
		return util_fail(err, errlen, "\"z_threshold\" must be "
		    "above 0 and at most %g", DIAGNOSE_Z_MAX);
	if (!(dp->mad_floor_rel >= 0 && dp->mad_floor_rel <= 1))
		return util_fail(err, errlen, "\"mad_floor_rel\" must be "
		    "from 0 to 1");
	for (int m = 0; m < DIAGNOSE_NMETRICS; m++) {
		double f = dp->mad_floor_abs[m];

		if (!(f > 0 && isfinite(f)))
			return util_fail(err, errlen, "\"mad_floor_abs\" "
			    "of \"%s\" must be above 0",
			    diagnose_metric_names[m]);
	}
	if (dp->min_views < 1)
		return util_fail(err, errlen, "\"min_views\" must be at "
		    "least 1");
	return 0;
}

/* The wire name of a figure. */
const char *
diagnose_metric_name(enum diagnose_metric m)
{
	return (unsigned)m < DIAGNOSE_NMETRICS ? diagnose_metric_names[m] : "";
}

/* The wire name of a verdict. */
const char *
diagnose_verdict_name(enum diagnose_verdict v)
{
	return (unsigned)v <= DIAGNOSE_NO_DATA ? diagnose_verdict_names[v] : "";
}

/* Place row d as the judged day or in the baseline; 0 or -1 with err. */
static int
diagnose_place(struct diagnose_rows *r, const struct snapshot_day *d,
    int64_t today, int window, char *err, size_t errlen)
{
	int64_t day, back;

	if (util_date_parse(d->date, &day) == -1)
		return util_fail(err, errlen, "row date \"%s\" is not "
		    "YYYY-MM-DD", d->date);
	back = today - day;
	if (back < 0 || back > window)
		return 0;
	if (back == 0) {
		if (r->today != NULL)
			return util_fail(err, errlen, "date \"%s\" appears "
			    "twice", d->date);
		r->today = d;
		return 0;
	}
	for (int i = 0; i < r->nbase; i++)
		if (strcmp(r->base[i]->date, d->date) == 0)
			return util_fail(err, errlen, "date \"%s\" appears "
			    "twice", d->date);
	r->base[r->nbase++] = d;
	return 0;
}

/* The figure m of row d into *v; 0 when the row has no value. */
static int
diagnose_value(const struct diagnose_params *dp, const struct snapshot_day *d,
    int m, double *v)
{
	if (d == NULL || d->pv_t < dp->min_views)
		return 0;
	if (m == DIAGNOSE_GMV_PER_VIEW)
		*v = (double)d->gmv_t / (double)d->pv_t;
	else if (m == DIAGNOSE_CONVERSION)
		*v = (double)d->ord_t / (double)d->pv_t;
	else if (d->cost > 0)
		*v = (double)d->gmv_t / (double)d->cost;
	else
		return 0;
	return 1;
}

/* Order doubles for qsort. */
static int
diagnose_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n-1] (n >= 1); sorts v. */
static double
diagnose_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), diagnose_cmp);
	return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A figure as the seller reads it: money per view in major units. */
static void
diagnose_format(int m, double v, char *buf, size_t len)
{
	if (m == DIAGNOSE_CONVERSION)
		snprintf(buf, len, "%.2f%%", v * 100);
	else if (m == DIAGNOSE_ROI)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, fabs(v) >= 10 ? "%.2f" : "%.4f", v / 100);
}

/* The reason of a check that has a value and a baseline. */
static void
diagnose_reason(struct diagnose_check *c)
{
	char x[32], med[32];

	diagnose_format(c->metric, c->value, x, sizeof(x));
	diagnose_format(c->metric, c->median, med, sizeof(med));
	snprintf(c->reason, sizeof(c->reason), "%s %s vs median %s over %d "
	    "day%s (z = %.1f)", diagnose_metric_labels[c->metric], x, med,
	    c->ndays, c->ndays == 1 ? "" : "s", c->z);
}

/* The reason of a check without a value or a baseline. */
static void
diagnose_reason_none(struct diagnose_check *c,
    const struct diagnose_params *dp, const struct snapshot_day *today)
{
	const char *what = diagnose_metric_labels[c->metric];

	if (c->verdict == DIAGNOSE_SHORT)
		snprintf(c->reason, sizeof(c->reason), "%s: %d day%s of "
		    "history, %d needed", what, c->ndays,
		    c->ndays == 1 ? "" : "s", dp->min_days);
	else if (today == NULL)
		snprintf(c->reason, sizeof(c->reason), "%s: no figures for the "
		    "day", what);
	else if (today->pv_t < dp->min_views)
		snprintf(c->reason, sizeof(c->reason), "%s: %lld page views, "
		    "fewer than %lld", what, (long long)today->pv_t,
		    (long long)dp->min_views);
	else
		snprintf(c->reason, sizeof(c->reason), "%s: no promotion cost "
		    "on the day", what);
}

/* Robust z of x against the baseline values v[0..n-1] (n >= 1). */
static void
diagnose_score(const struct diagnose_params *dp, struct diagnose_check *c,
    double *v, int n)
{
	double floor;

	c->median = diagnose_median(v, n);
	for (int i = 0; i < n; i++)
		v[i] = fabs(v[i] - c->median);
	c->mad = diagnose_median(v, n);
	floor = fmax(dp->mad_floor_rel * fabs(c->median),
	    dp->mad_floor_abs[c->metric]);
	c->z = (c->value - c->median) / (DIAGNOSE_MAD_SCALE *
	    fmax(c->mad, floor));
	if (c->z >= dp->z_threshold)
		c->verdict = DIAGNOSE_STRONG;
	else if (c->z <= -dp->z_threshold)
		c->verdict = DIAGNOSE_WEAK;
	else
		c->verdict = DIAGNOSE_NORMAL;
}

/* One figure's check. */
static void
diagnose_check_one(const struct diagnose_params *dp,
    const struct diagnose_rows *r, int m, struct diagnose_check *c)
{
	double v[DIAGNOSE_WINDOW_MAX];
	int n = 0;

	memset(c, 0, sizeof(*c));
	c->metric = (enum diagnose_metric)m;
	for (int i = 0; i < r->nbase; i++)
		n += diagnose_value(dp, r->base[i], m, &v[n]);
	c->ndays = n;
	c->has_value = diagnose_value(dp, r->today, m, &c->value);
	if (!c->has_value)
		c->verdict = DIAGNOSE_NO_DATA;
	else if (n < dp->min_days)
		c->verdict = DIAGNOSE_SHORT;
	if (!c->has_value || n < dp->min_days) {
		diagnose_reason_none(c, dp, r->today);
		return;
	}
	diagnose_score(dp, c, v, n);
	diagnose_reason(c);
}

/* Copy the identity of row d (may be NULL) into out. */
static void
diagnose_identity(struct diagnose_result *out, const struct snapshot_day *d)
{
	if (d == NULL)
		return;
	memcpy(out->plan_id, d->plan_id, sizeof(out->plan_id));
	memcpy(out->product_id, d->product_id, sizeof(out->product_id));
	out->plan_id[sizeof(out->plan_id) - 1] = '\0';
	out->product_id[sizeof(out->product_id) - 1] = '\0';
}

/* Judge one day. */
int
diagnose_day(const struct diagnose_params *dp,
    const struct snapshot_day *days, size_t n, const char *date,
    struct diagnose_result *out, char *err, size_t errlen)
{
	struct diagnose_rows r = { NULL, { NULL }, 0 };
	int64_t today;

	memset(out, 0, sizeof(*out));
	if (diagnose_params_check(dp, err, errlen) == -1)
		return -1;
	if (date == NULL || util_date_parse(date, &today) == -1)
		return util_fail(err, errlen, "date \"%s\" is not "
		    "YYYY-MM-DD", date != NULL ? date : "");
	for (size_t i = 0; i < n; i++)
		if (diagnose_place(&r, &days[i], today, dp->window_days, err,
		    errlen) == -1)
			return -1;
	memcpy(out->date, date, SNAPSHOT_DATE_MAX);
	diagnose_identity(out, r.today != NULL ? r.today : n > 0 ? days : NULL);
	for (int m = 0; m < DIAGNOSE_NMETRICS; m++) {
		diagnose_check_one(dp, &r, m, &out->checks[m]);
		if (out->checks[m].verdict == DIAGNOSE_STRONG ||
		    out->checks[m].verdict == DIAGNOSE_WEAK)
			out->flagged = 1;
	}
	return 0;
}

/* A real rounded to `scale` (10^decimals), or null. */
static json_t *
diagnose_json_real(int has, double v, double scale)
{
	return has ? json_real(round(v * scale) / scale) : json_null();
}

/* One check as JSON. */
static json_t *
diagnose_check_json(const struct diagnose_check *c)
{
	int scored = c->verdict == DIAGNOSE_NORMAL ||
	    c->verdict == DIAGNOSE_STRONG || c->verdict == DIAGNOSE_WEAK;

	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:s}",
	    "metric", diagnose_metric_name(c->metric),
	    "verdict", diagnose_verdict_name(c->verdict),
	    "value", diagnose_json_real(c->has_value, c->value, 1e4),
	    "median", diagnose_json_real(scored, c->median, 1e4),
	    "mad", diagnose_json_real(scored, c->mad, 1e4),
	    "z", diagnose_json_real(scored, c->z, 1e2),
	    "days", c->ndays,
	    "reason", c->reason);
}

/* The result as JSON. */
json_t *
diagnose_to_json(const struct diagnose_result *r)
{
	json_t *o = json_pack("{s:s, s:s}", "date", r->date, "plan_id",
	    r->plan_id);
	json_t *checks = json_array();

	if (o == NULL || checks == NULL) {
		json_decref(o);
		json_decref(checks);
		return NULL;
	}
	if (r->product_id[0] != '\0')
		json_object_set_new(o, "product_id",
		    json_string(r->product_id));
	json_object_set_new(o, "flagged", json_boolean(r->flagged));
	for (int m = 0; m < DIAGNOSE_NMETRICS; m++)
		json_array_append_new(checks,
		    diagnose_check_json(&r->checks[m]));
	json_object_set_new(o, "checks", checks);
	return o;
}
