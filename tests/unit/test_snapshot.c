/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_snapshot.c - unit tests of engine/snapshot.c: reading day counters,
 * plan sums, ROI and its null, GMV per view, incremental GMV and its
 * confidence interval on hand-computed cases (one product, a plan of two,
 * a control group without orders), the Redis fields round trip, the day
 * object's shape, the daily_metrics message and determinism.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot.h"

#define ERRLEN 160
#define DATE "2026-11-22"
#define PLAN "pl-0123456789ab"

/* A raw product row from counters. */
static void
row(struct snapshot_day *d, const char *product, int64_t pv_t, int64_t pv_c,
    int64_t ord_t, int64_t gmv_t, int64_t cost, int64_t ord_c, int64_t gmv_c)
{
	char err[ERRLEN] = "";

	if (snapshot_init(d, DATE, PLAN, product, err, sizeof(err)) == -1)
		fail_msg("snapshot_init: %s", err);
	d->pv_t = pv_t;
	d->pv_c = pv_c;
	d->offers = pv_t;
	d->ord_t = ord_t;
	d->units_t = ord_t + 1;
	d->gmv_t = gmv_t;
	d->cost = cost;
	d->ord_c = ord_c;
	d->units_c = ord_c;
	d->gmv_c = gmv_c;
	d->ord_o = ord_t / 2;
	d->gmv_o = gmv_t / 2;
	d->customers_t = ord_t > 0 ? ord_t - 1 : 0;
	d->customers_c = ord_c;
}

/* Derive with the default parameters. */
static void
derive(struct snapshot_day *d)
{
	struct snapshot_params sp;

	snapshot_params_default(&sp);
	snapshot_derive(d, &sp);
}

/* Counters are read from the day hash's fields; others are ignored. */
static void
test_set_counter(void **state)
{
	struct snapshot_day d;
	char err[ERRLEN] = "";

	(void)state;
	assert_int_equal(snapshot_init(&d, DATE, PLAN, "p1", err,
	    sizeof(err)), 0);
	for (int i = 0; i < SNAPSHOT_NCOUNTERS; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", 10 + i);
		assert_int_equal(snapshot_set_counter(&d,
		    snapshot_counter_names[i], v, err, sizeof(err)), 0);
	}
	assert_int_equal(snapshot_set_counter(&d, "pv", "999", err,
	    sizeof(err)), 0);
	assert_int_equal(snapshot_set_counter(&d, "units_c", NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(d.pv_t, 10);
	assert_int_equal(d.pv_c, 11);
	assert_int_equal(d.cost, 16);
	assert_int_equal(d.units_c, 0);
	assert_int_equal(d.gmv_o, 21);
	assert_int_equal(snapshot_set_counter(&d, "gmv_t", "12x", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "\"gmv_t\""));
	assert_int_equal(d.gmv_t, 15);
}

/* Identity checks. */
static void
test_init_errors(void **state)
{
	struct snapshot_day d;
	char err[ERRLEN] = "";

	(void)state;
	assert_int_equal(snapshot_init(&d, "2026-13-01", PLAN, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "\"2026-13-01\""));
	assert_int_equal(snapshot_init(&d, "2026-1-01", PLAN, NULL, err,
	    sizeof(err)), -1);
	assert_int_equal(snapshot_init(&d, DATE, "", NULL, err,
	    sizeof(err)), -1);
	assert_int_equal(snapshot_init(&d, DATE, PLAN, NULL, err,
	    sizeof(err)), 0);
	assert_string_equal(d.product_id, "");
}

/*
 * One product: pv_t 1000, pv_c 50, 20 lines for 1,000.00, cost 150.00;
 * control 1 line for 30.00.  r = 20, incremental = 100000 - 20 * 3000 =
 * 40000.  sq_t = 100000^2 / 20 = 5e8, sq_c = 3000^2 = 9e6; with cv 0.5,
 * V_t = 1.25 * 5e8 = 6.25e8, V_c = 1.125e7, V = 6.25e8 + 400 * 1.125e7 =
 * 5.125e9, sqrt = 71589.105, half = 1.959964 * 71589.105 = 140312.07.
 */
static void
test_incremental_one_product(void **state)
{
	struct snapshot_day d;

	(void)state;
	row(&d, "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	derive(&d);
	assert_true(d.has_roi);
	assert_true(d.roi == 6.6667);
	assert_true(d.has_gpv_t && d.gpv_t == 100.0);
	assert_true(d.has_gpv_c && d.gpv_c == 60.0);
	assert_true(d.sq_t == 5e8);
	assert_true(d.sq_c == 9e6);
	assert_true(d.has_incr);
	assert_int_equal(d.incr_gmv, 40000);
	assert_int_equal(d.incr_lo, -100312);
	assert_int_equal(d.incr_hi, 180312);
	assert_true(d.has_incr_roi && d.incr_roi == 2.6667);
}

/*
 * Incremental ROI's interval is the GMV interval over the cost (counted,
 * not estimated): p1 above, [-100312, 180312] / 15000 = [-6.6875,
 * 12.0208] at 4 decimals, around 2.6667; null when incremental ROI is.
 */
static void
test_incremental_roi_ci(void **state)
{
	struct snapshot_day d;
	json_t *o, *ci;

	(void)state;
	row(&d, "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	derive(&d);
	assert_true(d.has_incr_roi);
	assert_true(d.incr_roi_lo == -6.6875);
	assert_true(d.incr_roi_hi == 12.0208);
	assert_true(d.incr_roi_lo <= d.incr_roi && d.incr_roi <= d.incr_roi_hi);
	o = snapshot_to_json(&d);
	ci = json_object_get(o, "incremental_roi_ci");
	assert_int_equal(json_array_size(ci), 2);
	assert_true(json_real_value(json_array_get(ci, 0)) == -6.6875);
	assert_true(json_real_value(json_array_get(ci, 1)) == 12.0208);
	json_decref(o);
	row(&d, "p1", 100, 5, 2, 2000, 0, 1, 100);      /* no cost */
	derive(&d);
	assert_true(d.has_incr);
	assert_false(d.has_incr_roi);
	assert_true(d.incr_roi_lo == 0 && d.incr_roi_hi == 0);
	o = snapshot_to_json(&d);
	assert_true(json_is_null(json_object_get(o, "incremental_roi_ci")));
	json_decref(o);
	row(&d, "p1", 100, 0, 2, 2000, 500, 0, 0);      /* no control */
	derive(&d);
	assert_false(d.has_incr_roi);
	assert_true(d.incr_roi_lo == 0 && d.incr_roi_hi == 0);
}

/* A wider line spread (cv) widens the interval; cv 0 gives sqrt(sq). */
static void
test_interval_params(void **state)
{
	struct snapshot_params sp = { 1.0, 0.0 };
	struct snapshot_day d;
	char err[ERRLEN] = "";

	(void)state;
	row(&d, "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	snapshot_derive(&d, &sp);
	/* sqrt(5e8 + 400 * 9e6) = sqrt(4.1e9) = 64031.24 */
	assert_int_equal(d.incr_lo, 40000 - 64031);
	assert_int_equal(d.incr_hi, 40000 + 64031);
	sp.z = 0;
	assert_int_equal(snapshot_params_check(&sp, err, sizeof(err)), -1);
	sp.z = 1.96;
	sp.line_cv = -1;
	assert_int_equal(snapshot_params_check(&sp, err, sizeof(err)), -1);
}

/*
 * No control order: V_c is one line at the treatment's mean value,
 * 1.25 * 5000^2 = 3.125e7; V = 6.25e8 + 400 * 3.125e7 = 1.3125e10,
 * half = 1.959964 * 114564.39 = 224542.08; incremental = 100000.
 */
static void
test_control_without_orders(void **state)
{
	struct snapshot_day d;

	(void)state;
	row(&d, "p1", 1000, 50, 20, 100000, 15000, 0, 0);
	derive(&d);
	assert_true(d.has_incr);
	assert_int_equal(d.incr_gmv, 100000);
	assert_int_equal(d.incr_lo, -124542);
	assert_int_equal(d.incr_hi, 324542);
	assert_true(d.has_gpv_c && d.gpv_c == 0);
}

/* ROI is null without cost; incremental figures without control views. */
static void
test_nulls(void **state)
{
	struct snapshot_day d;

	(void)state;
	row(&d, "p1", 400, 0, 3, 4500, 0, 0, 0);
	derive(&d);
	assert_false(d.has_roi);
	assert_true(d.roi == 0);
	assert_true(d.has_gpv_t && d.gpv_t == 11.25);
	assert_false(d.has_gpv_c);
	assert_false(d.has_incr);
	assert_false(d.has_incr_roi);
	row(&d, "p1", 0, 0, 0, 0, 0, 0, 0);
	derive(&d);
	assert_false(d.has_gpv_t);
	assert_false(d.has_incr);
	/* cost but no control views: ROI yes, incremental no */
	row(&d, "p1", 100, 0, 2, 2000, 500, 0, 0);
	derive(&d);
	assert_true(d.has_roi && d.roi == 4.0);
	assert_false(d.has_incr_roi);
}

/*
 * A plan of two products: p1 above and p2 (pv_t 500, pv_c 25, 4 lines for
 * 200.00, cost 30.00, no control order).  Sums: pv_t 1500, pv_c 75,
 * gmv_t 120000, ord_t 24, cost 18000, gmv_c 3000; r = 20, incremental
 * 120000 - 60000 = 60000; sq_t = 5e8 + 20000^2 / 4 = 6e8, sq_c = 9e6;
 * V = 1.25 * 6e8 + 400 * 1.25 * 9e6 = 5.25e9, half = 1.959964 * 72456.88 =
 * 142012.88.
 */
static void
test_plan_sum(void **state)
{
	struct snapshot_day p[2], plan;
	char err[ERRLEN] = "";

	(void)state;
	row(&p[0], "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	row(&p[1], "p2", 500, 25, 4, 20000, 3000, 0, 0);
	assert_int_equal(snapshot_init(&plan, DATE, PLAN, "", err,
	    sizeof(err)), 0);
	plan.gmv_t = 777;       /* replaced by the sum */
	snapshot_sum(&plan, p, 2);
	assert_string_equal(plan.date, DATE);
	assert_string_equal(plan.product_id, "");
	assert_int_equal(plan.pv_t, 1500);
	assert_int_equal(plan.pv_c, 75);
	assert_int_equal(plan.offers, 1500);
	assert_int_equal(plan.ord_t, 24);
	assert_int_equal(plan.units_t, 26);
	assert_int_equal(plan.gmv_t, 120000);
	assert_int_equal(plan.cost, 18000);
	assert_int_equal(plan.ord_c, 1);
	assert_int_equal(plan.gmv_c, 3000);
	assert_int_equal(plan.ord_o, 12);
	assert_int_equal(plan.gmv_o, 60000);
	assert_int_equal(plan.customers_t, 22);
	assert_int_equal(plan.parts, 2);
	assert_true(plan.sq_t == 6e8);
	assert_true(plan.sq_c == 9e6);
	plan.customers_t = 21;  /* the union's PFCOUNT */
	derive(&plan);
	assert_true(plan.roi == 6.6667);
	assert_int_equal(plan.incr_gmv, 60000);
	assert_int_equal(plan.incr_lo, -82013);
	assert_int_equal(plan.incr_hi, 202013);
	assert_true(plan.incr_roi == 3.3333);
	assert_int_equal(plan.customers_t, 21);
}

/* A sum of sums keeps the product-days' spread (days of a plan). */
static void
test_sum_of_sums(void **state)
{
	struct snapshot_day p[2], days[2], tot;
	char err[ERRLEN] = "";

	(void)state;
	row(&p[0], "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	row(&p[1], "p2", 500, 25, 4, 20000, 3000, 0, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(snapshot_init(&days[i], DATE, PLAN, "", err,
		    sizeof(err)), 0);
		snapshot_sum(&days[i], p, 2);
		derive(&days[i]);
	}
	assert_int_equal(snapshot_init(&tot, DATE, PLAN, "", err,
	    sizeof(err)), 0);
	snapshot_sum(&tot, days, 2);
	assert_int_equal(tot.parts, 4);
	assert_true(tot.sq_t == 12e8);
	assert_int_equal(tot.gmv_t, 240000);
	derive(&tot);
	assert_true(tot.sq_t == 12e8);  /* not recomputed for a sum */
	assert_int_equal(tot.incr_gmv, 120000);
}

/* Compare every member of two rows. */
static void
assert_same(const struct snapshot_day *a, const struct snapshot_day *b)
{
	assert_string_equal(a->date, b->date);
	assert_string_equal(a->plan_id, b->plan_id);
	assert_string_equal(a->product_id, b->product_id);
	assert_int_equal(a->pv_t, b->pv_t);
	assert_int_equal(a->pv_c, b->pv_c);
	assert_int_equal(a->offers, b->offers);
	assert_int_equal(a->ord_t, b->ord_t);
	assert_int_equal(a->units_t, b->units_t);
	assert_int_equal(a->gmv_t, b->gmv_t);
	assert_int_equal(a->cost, b->cost);
	assert_int_equal(a->ord_c, b->ord_c);
	assert_int_equal(a->units_c, b->units_c);
	assert_int_equal(a->gmv_c, b->gmv_c);
	assert_int_equal(a->ord_o, b->ord_o);
	assert_int_equal(a->gmv_o, b->gmv_o);
	assert_int_equal(a->customers_t, b->customers_t);
	assert_int_equal(a->customers_c, b->customers_c);
	assert_int_equal(a->parts, b->parts);
	assert_memory_equal(&a->sq_t, &b->sq_t, sizeof(double));
	assert_memory_equal(&a->sq_c, &b->sq_c, sizeof(double));
	assert_int_equal(a->has_roi, b->has_roi);
	assert_int_equal(a->has_gpv_t, b->has_gpv_t);
	assert_int_equal(a->has_gpv_c, b->has_gpv_c);
	assert_int_equal(a->has_incr, b->has_incr);
	assert_int_equal(a->has_incr_roi, b->has_incr_roi);
	assert_memory_equal(&a->roi, &b->roi, sizeof(double));
	assert_memory_equal(&a->gpv_t, &b->gpv_t, sizeof(double));
	assert_memory_equal(&a->gpv_c, &b->gpv_c, sizeof(double));
	assert_int_equal(a->incr_gmv, b->incr_gmv);
	assert_int_equal(a->incr_lo, b->incr_lo);
	assert_int_equal(a->incr_hi, b->incr_hi);
	assert_memory_equal(&a->incr_roi, &b->incr_roi, sizeof(double));
	assert_memory_equal(&a->incr_roi_lo, &b->incr_roi_lo, sizeof(double));
	assert_memory_equal(&a->incr_roi_hi, &b->incr_roi_hi, sizeof(double));
}

/* to_fields then from_fields gives the row back exactly. */
static void
round_trip(const struct snapshot_day *d)
{
	struct snapshot_day back;
	char **nm = NULL, **val = NULL, err[ERRLEN] = "";
	int n = snapshot_to_fields(d, &nm, &val);

	assert_true(n > 20);
	if (snapshot_from_fields(&back, (const char *const *)nm,
	    (const char *const *)val, (size_t)n, err, sizeof(err)) == -1)
		fail_msg("snapshot_from_fields: %s", err);
	assert_same(d, &back);
	snapshot_fields_release(nm, val, n);
}

/* The value of a field, or NULL. */
static const char *
field(char **nm, char **val, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(nm[i], name) == 0)
			return val[i];
	return NULL;
}

/* The Redis fields: names, null as "", exact round trip. */
static void
test_fields_round_trip(void **state)
{
	struct snapshot_day d, p[2];
	char **nm = NULL, **val = NULL;
	int n;

	(void)state;
	row(&d, "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	derive(&d);
	round_trip(&d);
	row(&d, "p1", 400, 0, 3, 4500, 0, 0, 0);        /* nulls */
	derive(&d);
	round_trip(&d);
	row(&p[0], "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	row(&p[1], "p2", 333, 7, 3, 10001, 3001, 1, 997);
	snapshot_init(&d, DATE, PLAN, "", NULL, 0);
	snapshot_sum(&d, p, 2);
	derive(&d);
	round_trip(&d);
	n = snapshot_to_fields(&d, &nm, &val);
	assert_null(field(nm, val, n, "product_id"));
	assert_string_equal(field(nm, val, n, "gmv"), "110001");
	assert_string_equal(field(nm, val, n, "roi"), "6.1108");
	assert_string_equal(field(nm, val, n, "plan_id"), PLAN);
	assert_string_equal(field(nm, val, n, "control_gmv"), "3997");
	snapshot_fields_release(nm, val, n);
	row(&d, "p1", 400, 0, 3, 4500, 0, 0, 0);
	derive(&d);
	n = snapshot_to_fields(&d, &nm, &val);
	assert_string_equal(field(nm, val, n, "roi"), "");
	assert_string_equal(field(nm, val, n, "incremental_gmv_lo"), "");
	assert_string_equal(field(nm, val, n, "product_id"), "p1");
	snapshot_fields_release(nm, val, n);
}

/* from_fields refuses a missing or malformed field. */
static void
test_fields_errors(void **state)
{
	struct snapshot_day d, back;
	char **nm = NULL, **val = NULL, err[ERRLEN] = "";
	int n;

	(void)state;
	row(&d, "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	derive(&d);
	n = snapshot_to_fields(&d, &nm, &val);
	for (int i = 0; i < n; i++)
		if (strcmp(nm[i], "promotion_cost") == 0) {
			free(val[i]);
			val[i] = strdup("1.5");
		}
	assert_int_equal(snapshot_from_fields(&back, (const char *const *)nm,
	    (const char *const *)val, (size_t)n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"promotion_cost\""));
	for (int i = 0; i < n; i++)
		if (strcmp(nm[i], "promotion_cost") == 0) {
			free(val[i]);
			val[i] = strdup("15000");
		}
	assert_int_equal(snapshot_from_fields(&back, (const char *const *)nm,
	    (const char *const *)val, (size_t)n, err, sizeof(err)), 0);
	assert_same(&d, &back);
	assert_int_equal(snapshot_from_fields(&back, (const char *const *)nm,
	    (const char *const *)val, (size_t)n - 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"sq_c\" is missing"));
	snapshot_fields_release(nm, val, n);
}

/* A hash written before incremental_roi_lo/_hi existed still reads, with
 * the interval derived from the stored GMV interval and cost. */
static void
test_fields_without_roi_ci(void **state)
{
	struct snapshot_day d, back;
	char **nm = NULL, **val = NULL, err[ERRLEN] = "";
	int n, k = 0;

	(void)state;
	row(&d, "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	derive(&d);
	n = snapshot_to_fields(&d, &nm, &val);
	assert_string_equal(field(nm, val, n, "incremental_roi_lo"), "-6.6875");
	assert_string_equal(field(nm, val, n, "incremental_roi_hi"), "12.0208");
	for (int i = 0; i < n; i++)
		if (strncmp(nm[i], "incremental_roi_", 16) != 0) {
			char *tn = nm[k], *tv = val[k];

			nm[k] = nm[i];
			val[k] = val[i];
			nm[i] = tn;
			val[i] = tv;
			k++;
		}
	assert_int_equal(k, n - 2);
	if (snapshot_from_fields(&back, (const char *const *)nm,
	    (const char *const *)val, (size_t)k, err, sizeof(err)) == -1)
		fail_msg("snapshot_from_fields: %s", err);
	assert_same(&d, &back);
	snapshot_fields_release(nm, val, n);
}

/* The day object holds every figure, with nulls where none. */
static void
test_json_shape(void **state)
{
	struct snapshot_day d;
	json_t *o, *c, *ci;

	(void)state;
	row(&d, "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	derive(&d);
	o = snapshot_to_json(&d);
	assert_string_equal(json_string_value(json_object_get(o, "date")),
	    DATE);
	assert_string_equal(json_string_value(json_object_get(o,
	    "product_id")), "p1");
	assert_int_equal(json_integer_value(json_object_get(o, "page_views")),
	    1000);
	assert_int_equal(json_integer_value(json_object_get(o, "gmv")), 100000);
	assert_int_equal(json_integer_value(json_object_get(o,
	    "promotion_cost")), 15000);
	assert_true(json_real_value(json_object_get(o, "roi")) == 6.6667);
	assert_int_equal(json_integer_value(json_object_get(o, "customers")),
	    19);
	c = json_object_get(o, "control");
	assert_int_equal(json_integer_value(json_object_get(c, "gmv")), 3000);
	assert_int_equal(json_integer_value(json_object_get(c, "page_views")),
	    50);
	assert_int_equal(json_integer_value(json_object_get(c, "customers")),
	    1);
	ci = json_object_get(o, "incremental_gmv_ci");
	assert_int_equal(json_array_size(ci), 2);
	assert_int_equal(json_integer_value(json_array_get(ci, 0)), -100312);
	assert_int_equal(json_integer_value(json_array_get(ci, 1)), 180312);
	assert_int_equal(json_integer_value(json_object_get(o,
	    "incremental_gmv")), 40000);
	json_decref(o);
	row(&d, "p1", 400, 0, 3, 4500, 0, 0, 0);
	derive(&d);
	o = snapshot_to_json(&d);
	assert_true(json_is_null(json_object_get(o, "roi")));
	assert_true(json_is_null(json_object_get(o, "incremental_gmv")));
	assert_true(json_is_null(json_object_get(o, "incremental_gmv_ci")));
	assert_true(json_is_null(json_object_get(o, "incremental_roi")));
	json_decref(o);
}

/* The daily_metrics message; same input, same bytes. */
static void
test_kafka_payload(void **state)
{
	struct snapshot_day p[2], plan;
	char *a, *b;
	json_t *j;

	(void)state;
	row(&p[0], "p1", 1000, 50, 20, 100000, 15000, 1, 3000);
	row(&p[1], "p2", 500, 25, 4, 20000, 3000, 0, 0);
	snapshot_init(&plan, DATE, PLAN, NULL, NULL, 0);
	snapshot_sum(&plan, p, 2);
	derive(&plan);
	a = snapshot_kafka_payload(&plan);
	j = json_loads(a, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    "daily_metrics");
	assert_string_equal(json_string_value(json_object_get(j, "plan_id")),
	    PLAN);
	assert_string_equal(json_string_value(json_object_get(j, "date")),
	    DATE);
	assert_null(json_object_get(j, "product_id"));
	assert_int_equal(json_integer_value(json_object_get(j, "gmv")), 120000);
	assert_int_equal(json_integer_value(json_object_get(j, "orders")), 24);
	assert_non_null(json_object_get(j, "customers"));
	assert_non_null(json_object_get(j, "page_views"));
	assert_non_null(json_object_get(j, "promotion_cost"));
	assert_true(json_real_value(json_object_get(j, "roi")) == 6.6667);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "control"), "gmv")), 3000);
	assert_non_null(strstr(a, "\"roi\":6.6667"));
	json_decref(j);
	derive(&plan);
	b = snapshot_kafka_payload(&plan);
	assert_string_equal(a, b);
	free(a);
	free(b);
	a = snapshot_kafka_payload(&p[0]);
	j = json_loads(a, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j,
	    "product_id")), "p1");
	json_decref(j);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_counter),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_incremental_one_product),
		cmocka_unit_test(test_incremental_roi_ci),
		cmocka_unit_test(test_fields_without_roi_ci),
		cmocka_unit_test(test_interval_params),
		cmocka_unit_test(test_control_without_orders),
		cmocka_unit_test(test_nulls),
		cmocka_unit_test(test_plan_sum),
		cmocka_unit_test(test_sum_of_sums),
		cmocka_unit_test(test_fields_round_trip),
		cmocka_unit_test(test_fields_errors),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_kafka_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
