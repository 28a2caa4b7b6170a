/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_diagnose.c - unit tests of engine/diagnose.c: a clear outlier in
 * either direction with a hand-computed median, MAD and z, the reason
 * string, a baseline outlier that does not hide it, the MAD floor on a flat
 * baseline, too little history, days outside the window or with too few
 * views, no row for the day, the window across a month end, bad input and
 * the JSON form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diagnose.h"

#define ERRLEN 160
#define PLAN "pl-1"
#define MAXROWS 40

/*
 * The baseline GMV per view (minor units) of 2026-11-06 .. 2026-11-19;
 * sorted: 16 17 17 17.5 18 18 18 18 18 18 18.5 19 19 20, median 18;
 * |x - 18| sorted: 0 0 0 0 0 0 .5 .5 1 1 1 1 2 2, MAD 0.5.
 */
static const double base_gpv[14] = {
	18, 17, 19, 18, 18.5, 17.5, 18, 16, 20, 18, 17, 19, 18, 18
};

/* A day row of 1000 views with GMV per view gpv and ROI roi. */
static void
day(struct snapshot_day *d, const char *date, double gpv, double roi)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->date, sizeof(d->date), "%s", date);
	snprintf(d->plan_id, sizeof(d->plan_id), "%s", PLAN);
	d->pv_t = 1000;
	d->gmv_t = (int64_t)llround(gpv * 1000);
	d->ord_t = 20;
	d->cost = (int64_t)llround((double)d->gmv_t / roi);
}

/* The 14 baseline rows, then today's (2026-11-20) at rows[14]. */
static size_t
series(struct snapshot_day *rows, double today_gpv, double today_roi)
{
	char date[16];

	for (int i = 0; i < 14; i++) {
		snprintf(date, sizeof(date), "2026-11-%02d", 6 + i);
		day(&rows[i], date, base_gpv[i], 5.0);
	}
	day(&rows[14], "2026-11-20", today_gpv, today_roi);
	return 15;
}

/* Judge 2026-11-20 with the defaults; fails the test on error. */
static void
judge(const struct snapshot_day *rows, size_t n, struct diagnose_result *r)
{
	struct diagnose_params dp;
	char err[ERRLEN] = "";

	diagnose_params_default(&dp);
	if (diagnose_day(&dp, rows, n, "2026-11-20", r, err, sizeof(err)) == -1)
		fail_msg("diagnose_day: %s", err);
}

/*
 * Today 41 per view: floor = max(0.05 * 18, 0.1) = 0.9 > MAD 0.5, so
 * z = (41 - 18) / (1.4826 * 0.9) = 23 / 1.33434 = 17.24.
 */
static void
test_clear_outlier_strong(void **state)
{
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	const struct diagnose_check *c = &r.checks[DIAGNOSE_GMV_PER_VIEW];

	(void)state;
	judge(rows, series(rows, 41, 5.0), &r);
	assert_true(r.flagged);
	assert_string_equal(r.plan_id, PLAN);
	assert_int_equal(c->verdict, DIAGNOSE_STRONG);
	assert_int_equal(c->ndays, 14);
	assert_true(c->median == 18);
	assert_true(c->mad == 0.5);
	assert_true(fabs(c->z - 23 / (1.4826 * 0.9)) < 1e-9);
	assert_string_equal(c->reason,
	    "GMV per view 0.41 vs median 0.18 over 14 days (z = 17.2)");
	assert_int_equal(r.checks[DIAGNOSE_CONVERSION].verdict,
	    DIAGNOSE_NORMAL);
	assert_int_equal(r.checks[DIAGNOSE_ROI].verdict, DIAGNOSE_NORMAL);
}

/* Today 5 per view: z = -13 / 1.33434 = -9.74, weak. */
static void
test_clear_outlier_weak(void **state)
{
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	const struct diagnose_check *c = &r.checks[DIAGNOSE_GMV_PER_VIEW];

	(void)state;
	judge(rows, series(rows, 5, 5.0), &r);
	assert_true(r.flagged);
	assert_int_equal(c->verdict, DIAGNOSE_WEAK);
	assert_string_equal(c->reason,
	    "GMV per view 0.0500 vs median 0.18 over 14 days (z = -9.7)");
	/* 20.5 per view: z = 2.5 / 1.33434 = 1.87, normal */
	judge(rows, series(rows, 20.5, 5.0), &r);
	assert_false(r.flagged);
	assert_int_equal(c->verdict, DIAGNOSE_NORMAL);
}

/*
 * A wild baseline day (200 per view) barely moves the median (18 -> 18)
 * and MAD (0.5 -> 0.75 -> floor 0.9 anyway), so today's 30 still stands
 * out: z = 12 / 1.33434 = 8.99; a mean and standard deviation would give
 * about 0.25.
 */
static void
test_baseline_outlier(void **state)
{
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	size_t n = series(rows, 30, 5.0);

	(void)state;
	day(&rows[3], "2026-11-09", 200, 5.0);
	judge(rows, n, &r);
	assert_true(r.checks[DIAGNOSE_GMV_PER_VIEW].median == 18);
	assert_int_equal(r.checks[DIAGNOSE_GMV_PER_VIEW].verdict,
	    DIAGNOSE_STRONG);
	assert_true(r.checks[DIAGNOSE_GMV_PER_VIEW].z > 8.9);
}

/*
 * ROI is exactly 5 on every baseline day: MAD 0, floored at
 * max(0.05 * 5, 0.1) = 0.25, scale 1.4826 * 0.25 = 0.37065.  ROI 5.5:
 * z = 1.35, normal; ROI 6.2: z = 3.24, strong.
 */
static void
test_mad_floor(void **state)
{
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	const struct diagnose_check *c = &r.checks[DIAGNOSE_ROI];

	(void)state;
	judge(rows, series(rows, 18, 5.5), &r);
	assert_true(c->mad == 0);
	assert_int_equal(c->verdict, DIAGNOSE_NORMAL);
	assert_true(fabs(c->z - 0.5 / 0.37065) < 1e-2);    /* cost rounds */
	judge(rows, series(rows, 18, 6.2), &r);
	assert_int_equal(c->verdict, DIAGNOSE_STRONG);
	assert_true(fabs(c->z - 1.2 / 0.37065) < 1e-2);
	assert_string_equal(c->reason,
	    "ROI 6.20 vs median 5.00 over 14 days (z = 3.2)");
	/* conversion: 2% every day and today: MAD 0, z 0 */
	assert_int_equal(r.checks[DIAGNOSE_CONVERSION].verdict,
	    DIAGNOSE_NORMAL);
	assert_true(r.checks[DIAGNOSE_CONVERSION].z == 0);
}

/* Four days of history: short; days too old or too thin do not count. */
static void
test_short_history(void **state)
{
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	size_t n = 0;
	char date[16];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(date, sizeof(date), "2026-11-%02d", 16 + i);
		day(&rows[n++], date, 18, 5.0);
	}
	day(&rows[n++], "2026-11-05", 18, 5.0);        /* 15 days back */
	day(&rows[n++], "2026-11-01", 18, 5.0);
	day(&rows[n], "2026-11-10", 18, 5.0);
	rows[n++].pv_t = 29;                            /* below min_views */
	day(&rows[n++], "2026-11-21", 18, 5.0);        /* after the day */
	day(&rows[n++], "2026-11-20", 90, 5.0);
	judge(rows, n, &r);
	assert_false(r.flagged);
	for (int m = 0; m < DIAGNOSE_NMETRICS; m++) {
		assert_int_equal(r.checks[m].verdict, DIAGNOSE_SHORT);
		assert_int_equal(r.checks[m].ndays, 4);
	}
	assert_string_equal(r.checks[DIAGNOSE_GMV_PER_VIEW].reason,
	    "GMV per view: 4 days of history, 5 needed");
	/* a fifth day inside the window makes it judged */
	day(&rows[n++], "2026-11-07", 18, 5.0);
	judge(rows, n, &r);
	assert_true(r.flagged);
	assert_int_equal(r.checks[DIAGNOSE_GMV_PER_VIEW].ndays, 5);
}

/* No row for the day, or too few views, or no cost: no_data. */
static void
test_no_data(void **state)
{
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	size_t n = series(rows, 41, 5.0);

	(void)state;
	judge(rows, n - 1, &r);
	assert_false(r.flagged);
	assert_int_equal(r.checks[DIAGNOSE_GMV_PER_VIEW].verdict,
	    DIAGNOSE_NO_DATA);
	assert_string_equal(r.checks[DIAGNOSE_GMV_PER_VIEW].reason,
	    "GMV per view: no figures for the day");
	assert_string_equal(r.plan_id, PLAN);   /* from days[0] */
	rows[14].pv_t = 12;
	judge(rows, n, &r);
	assert_int_equal(r.checks[DIAGNOSE_CONVERSION].verdict,
	    DIAGNOSE_NO_DATA);
	assert_string_equal(r.checks[DIAGNOSE_CONVERSION].reason,
	    "conversion: 12 page views, fewer than 30");
	rows[14].pv_t = 1000;
	rows[14].cost = 0;
	judge(rows, n, &r);
	assert_int_equal(r.checks[DIAGNOSE_ROI].verdict, DIAGNOSE_NO_DATA);
	assert_int_equal(r.checks[DIAGNOSE_GMV_PER_VIEW].verdict,
	    DIAGNOSE_STRONG);
}

/* The window crosses a month end: 2026-03-01 looks back to 02-15. */
static void
test_month_end(void **state)
{
	struct diagnose_params dp;
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	char date[16], err[ERRLEN] = "";
	size_t n = 0;

	(void)state;
	diagnose_params_default(&dp);
	for (int d = 14; d <= 28; d++) {
		snprintf(date, sizeof(date), "2026-02-%02d", d);
		day(&rows[n++], date, 18, 5.0);
	}
	day(&rows[n++], "2026-03-01", 18, 5.0);
	assert_int_equal(diagnose_day(&dp, rows, n, "2026-03-01", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.checks[DIAGNOSE_GMV_PER_VIEW].ndays, 14);
	dp.window_days = 15;
	assert_int_equal(diagnose_day(&dp, rows, n, "2026-03-01", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.checks[DIAGNOSE_GMV_PER_VIEW].ndays, 15);
}

/* Bad parameters, dates and duplicates. */
static void
test_errors(void **state)
{
	struct diagnose_params dp;
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	char err[ERRLEN] = "";
	size_t n = series(rows, 41, 5.0);

	(void)state;
	diagnose_params_default(&dp);
	assert_int_equal(diagnose_day(&dp, rows, n, "2026-11-2", &r, err,
	    sizeof(err)), -1);
	snprintf(rows[3].date, sizeof(rows[3].date), "%s", "2026-11-10");
	assert_int_equal(diagnose_day(&dp, rows, n, "2026-11-20", &r, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "date \"2026-11-10\" appears twice");
	snprintf(rows[3].date, sizeof(rows[3].date), "%s", "2026-11-09");
	dp.min_days = 15;
	assert_int_equal(diagnose_day(&dp, rows, n, "2026-11-20", &r, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "\"min_days\""));
	diagnose_params_default(&dp);
	dp.mad_floor_abs[DIAGNOSE_ROI] = 0;
	assert_int_equal(diagnose_params_check(&dp, err, sizeof(err)), -1);
}

/* The JSON form of a result. */
static void
test_json(void **state)
{
	struct snapshot_day rows[MAXROWS];
	struct diagnose_result r;
	json_t *j, *c;

	(void)state;
	series(rows, 41, 5.0);
	snprintf(rows[14].product_id, sizeof(rows[14].product_id), "%s", "p7");
	judge(rows, 15, &r);
	j = diagnose_to_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "date")),
	    "2026-11-20");
	assert_string_equal(json_string_value(json_object_get(j,
	    "product_id")), "p7");
	assert_true(json_is_true(json_object_get(j, "flagged")));
	assert_int_equal(json_array_size(json_object_get(j, "checks")), 3);
	c = json_array_get(json_object_get(j, "checks"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "metric")),
	    "gmv_per_view");
	assert_string_equal(json_string_value(json_object_get(c, "verdict")),
	    "strong");
	assert_true(json_real_value(json_object_get(c, "value")) == 41);
	assert_true(json_real_value(json_object_get(c, "median")) == 18);
	assert_true(json_real_value(json_object_get(c, "z")) == 17.24);
	assert_int_equal(json_integer_value(json_object_get(c, "days")), 14);
	json_decref(j);
	judge(rows, 14, &r);
	j = diagnose_to_json(&r);
	c = json_array_get(json_object_get(j, "checks"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "verdict")),
	    "no_data");
	assert_true(json_is_null(json_object_get(c, "value")));
	assert_true(json_is_null(json_object_get(c, "z")));
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clear_outlier_strong),
		cmocka_unit_test(test_clear_outlier_weak),
		cmocka_unit_test(test_baseline_outlier),
		cmocka_unit_test(test_mad_floor),
		cmocka_unit_test(test_short_history),
		cmocka_unit_test(test_no_data),
		cmocka_unit_test(test_month_end),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
