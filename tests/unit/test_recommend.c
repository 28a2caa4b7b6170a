/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_recommend.c - unit tests of engine/recommend.c: hand-computed
 * recommendations for a product without arms (its category's pooled
 * curve), with its own arms (scaled curve), on the prior alone; the
 * isotonic fit of a pool; the fallback from category to shop to prior; a
 * target no discount meets; skipped products; id stability; arms to
 * levels; the JSON form and the POST /v1/plans body (checked by the real
 * plan validator).
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

#include "recommend.h"

#define ERRLEN 200
#define DATE "2026-11-22"
#define SHOP "shop-1"

#define near(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

/* A product with window figures and no arms. */
static void
prod(struct recommend_product *p, const char *id, const char *cat,
    int64_t views, int64_t orders, int64_t units)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->product_id, sizeof(p->product_id), "%s", id);
	snprintf(p->category, sizeof(p->category), "%s", cat);
	p->price = 10000;
	p->views = views;
	p->orders = orders;
	p->units = units;
}

/* Give p one own level. */
static void
arm(struct recommend_product *p, int32_t bps, double n, double s)
{
	p->levels[p->nlevels++] = (struct recommend_level){ bps, n, s };
}

/*
 * The "shoes" pool: 980 control views with 20 order lines, offers at 10 %,
 * 15 % and 20 %: c(0) = (20 + 20 * 0.05) / (980 + 20) = 0.021; each
 * bucket (s + 20 * 0.021 * (1 - d)^-2) / (n + 20): 10 %: (24 + 0.51852) /
 * 500 = 0.049037, 15 %: (24 + 0.58131) / 500 = 0.049163, 20 %: (30 +
 * 0.65625) / 500 = 0.061313 (already non-decreasing).
 */
static void
shoes(struct recommend_pool *p)
{
	struct recommend_level lv[3] = {
		{ 1000, 480, 24 }, { 1500, 480, 24 }, { 2000, 480, 30 }
	};

	recommend_pool_init(p, "shoes");
	recommend_pool_add(p, lv, 3);
	p->base_views = 980;
	p->base_orders = 20;
}

/* Compute with the defaults; fails the test on error. */
static void
compute(const struct recommend_product *p, size_t n,
    const struct recommend_pool *pools, size_t npools,
    struct recommend_set *s)
{
	struct recommend_params rp;
	char err[ERRLEN] = "";

	recommend_params_default(&rp);
	if (recommend_compute(&rp, SHOP, DATE, p, n, pools, npools, s, err,
	    sizeof(err)) == -1)
		fail_msg("recommend_compute: %s", err);
}

/*
 * No arms: b = (20 + 20 * 0.021) / 1000 = 0.02042; conversion b L(d),
 * L = c(d) / 0.021.  Candidates meeting ROI 5 ((1 - d) / d >= 5): 5 to
 * 15 %.  Extra GMV per view (c (1 - d) - b) * 10000: 5 %: 119.29 (c(0.05)
 * linear between 0.021 and 0.049037), 7.5 %: 173.82, 10 %: 224.94,
 * 12.5 %: 213.56, 15 %: 202.14.  Best 10 %; within 25 % of 224.94
 * (>= 168.71): 7.5 to 15 %.
 */
static void
test_category_curve(void **state)
{
	struct recommend_product p;
	struct recommend_pool pool;
	struct recommend_set s;
	const struct recommend_item *it;

	(void)state;
	prod(&p, "p-shoe", "shoes", 980, 20, 20);
	shoes(&pool);
	compute(&p, 1, &pool, 1, &s);
	assert_int_equal(s.nitems, 1);
	it = &s.items[0];
	assert_int_equal(it->source, RECOMMEND_CATEGORY);
	assert_true(it->has_range);
	assert_int_equal(it->best_bps, 1000);
	assert_int_equal(it->min_bps, 750);
	assert_int_equal(it->max_bps, 1500);
	near(it->base_conversion, 0.02042, 1e-9);
	near(it->conversion, 0.047683, 1e-6);
	near(it->kappa, 1, 0);
	near(it->extra_orders_1k, 27.2627, 1e-4);
	assert_int_equal(it->extra_gmv_1k, 224944);
	near(it->roi, 9.0, 1e-12);
	assert_true(it->has_incr_roi);
	near(it->incr_roi, 4.717523, 1e-6);
	assert_int_equal(it->ntools, 1);
	assert_string_equal(it->tools[0].tool, "product_discount");
	assert_int_equal(it->tools[0].share_pct, 100);
	assert_non_null(strstr(it->assumptions, "the category \"shoes\" "
	    "(1440 offers)"));
	assert_non_null(strstr(it->assumptions, "2.04%"));
	recommend_set_release(&s);
}

/*
 * Own arms: 480 views, 4 lines, 6 units: b = (4 + 0.42) / 500 = 0.00884,
 * 1.5 units per line.  Offers 300 at 10 % with 30 conversions and 100 at
 * 15 % with 9; predicted E = 300 b L(0.10) + 100 b L(0.15) = 8.6022;
 * kappa = (400 * 39 / 8.6022 + 20) / 420 = 4.543141.  The scaled curve
 * still peaks at 10 %: extra GMV per 1,000 views 1,133,439.
 */
static void
test_own_arms(void **state)
{
	struct recommend_product p[2];
	struct recommend_pool pool;
	struct recommend_set s;
	const struct recommend_item *it;

	(void)state;
	prod(&p[0], "p-own", "shoes", 480, 4, 6);
	arm(&p[0], 1000, 300, 30);
	arm(&p[0], 1500, 100, 9);
	prod(&p[1], "p-none", "shoes", 480, 4, 6);
	shoes(&pool);
	compute(p, 2, &pool, 1, &s);
	assert_int_equal(s.nitems, 2);
	it = &s.items[1];               /* sorted: p-none, p-own */
	assert_string_equal(it->product_id, "p-own");
	near(it->own_offers, 400, 0);
	near(it->kappa, 4.543141, 1e-6);
	near(it->base_conversion, 0.00884, 1e-9);
	near(it->conversion, 0.093781, 1e-6);
	assert_int_equal(it->best_bps, 1000);
	assert_int_equal(it->min_bps, 750);
	assert_int_equal(it->max_bps, 1500);
	assert_int_equal(it->extra_gmv_1k, 1133439);
	assert_non_null(strstr(it->assumptions, "its own 400 offers scale"));
	/* the same product without arms expects far less */
	assert_string_equal(s.items[0].product_id, "p-none");
	near(s.items[0].kappa, 1, 0);
	assert_true(s.items[0].extra_gmv_1k < it->extra_gmv_1k / 3);
	recommend_set_release(&s);
}

/*
 * No pool at all: b = 0.05, c(d) = 0.05 (1 - d)^-2, extra per view
 * 10000 * 0.05 d / (1 - d), increasing: best 15 % (882.35 per view),
 * 12.5 % is within 25 % (714.29), 10 % not (555.56); widened down to a
 * 5-point range: 10 to 15 %.  incremental ROI = 1 - d = 0.85.
 */
static void
test_prior_only(void **state)
{
	struct recommend_product p;
	struct recommend_set s;
	const struct recommend_item *it;

	(void)state;
	prod(&p, "p-new", "", 0, 0, 0);
	compute(&p, 1, NULL, 0, &s);
	it = &s.items[0];
	assert_int_equal(it->source, RECOMMEND_PRIOR);
	assert_int_equal(it->best_bps, 1500);
	assert_int_equal(it->min_bps, 1000);
	assert_int_equal(it->max_bps, 1500);
	assert_int_equal(it->extra_gmv_1k, 88235);
	near(it->extra_orders_1k, 19.2042, 1e-4);
	near(it->incr_roi, 0.85, 1e-9);
	near(it->roi, 0.85 / 0.15, 1e-12);
	assert_non_null(strstr(it->assumptions, "prior elasticity 2.00"));
	recommend_set_release(&s);
}

/*
 * A pool whose deeper bucket converts less (10 %: 30/480 -> 0.061037;
 * 15 %: 20/480 -> 0.041163) is pooled to 0.051100 at both.  A product with
 * 100 own offers at 15 % and 5 conversions then has E = 100 * 0.02042 *
 * 0.0511 / 0.021 = 4.9689 and kappa = (100 * 5 / 4.9689 + 20) / 120 =
 * 1.005224 (without the pooling it would be 1.2077).
 */
static void
test_isotonic_pool(void **state)
{
	struct recommend_level lv[2] = { { 1000, 480, 30 }, { 1500, 480, 20 } };
	struct recommend_product p;
	struct recommend_pool pool;
	struct recommend_set s;

	(void)state;
	recommend_pool_init(&pool, "bags");
	recommend_pool_add(&pool, lv, 2);
	pool.base_views = 980;
	pool.base_orders = 20;
	prod(&p, "p-bag", "bags", 980, 20, 20);
	arm(&p, 1500, 100, 5);
	compute(&p, 1, &pool, 1, &s);
	near(s.items[0].kappa, 1.005224, 1e-6);
	near(s.items[0].conversion, 0.049948, 1e-6);
	assert_int_equal(s.items[0].extra_gmv_1k, 245333);
	recommend_set_release(&s);
}

/* Category pool, else the shop's, else the prior. */
static void
test_fallback(void **state)
{
	struct recommend_product p[4];
	struct recommend_pool pools[3];
	struct recommend_set s;

	(void)state;
	shoes(&pools[0]);
	recommend_pool_init(&pools[1], "hats");         /* empty */
	shoes(&pools[2]);
	snprintf(pools[2].category, sizeof(pools[2].category), "%s", "");
	prod(&p[0], "a", "shoes", 100, 1, 1);
	prod(&p[1], "b", "hats", 100, 1, 1);
	prod(&p[2], "c", "", 100, 1, 1);
	prod(&p[3], "d", "socks", 100, 1, 1);
	compute(p, 4, pools, 3, &s);
	assert_int_equal(s.items[0].source, RECOMMEND_CATEGORY);
	assert_int_equal(s.items[1].source, RECOMMEND_SHOP);
	assert_int_equal(s.items[2].source, RECOMMEND_SHOP);
	assert_int_equal(s.items[3].source, RECOMMEND_SHOP);
	recommend_set_release(&s);
	compute(p, 4, pools, 2, &s);
	assert_int_equal(s.items[0].source, RECOMMEND_CATEGORY);
	assert_int_equal(s.items[1].source, RECOMMEND_PRIOR);
	assert_int_equal(s.items[3].source, RECOMMEND_PRIOR);
	recommend_set_release(&s);
}

/* A target no candidate meets; products in a plan or priceless skipped. */
static void
test_no_range_and_skips(void **state)
{
	struct recommend_params rp;
	struct recommend_product p[3];
	struct recommend_set s;
	char err[ERRLEN] = "";
	json_t *j, *item;

	(void)state;
	recommend_params_default(&rp);
	rp.roi_target = 20;             /* needs d <= 4.76 %, grid from 5 % */
	prod(&p[0], "x", "", 100, 1, 1);
	prod(&p[1], "y", "", 100, 1, 1);
	p[1].in_plan = 1;
	prod(&p[2], "z", "", 100, 1, 1);
	p[2].price = 0;
	assert_int_equal(recommend_compute(&rp, SHOP, DATE, p, 3, NULL, 0, &s,
	    err, sizeof(err)), 0);
	assert_int_equal(s.nitems, 1);
	assert_false(s.items[0].has_range);
	assert_non_null(strstr(s.items[0].assumptions, "cannot meet"));
	j = recommend_to_json(&s);
	item = json_array_get(json_object_get(j, "products"), 0);
	assert_true(json_is_null(json_object_get(item, "discount_min_pct")));
	assert_true(json_is_null(json_object_get(item, "best_pct")));
	assert_null(recommend_plan_body(j, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "no recommended product"));
	json_decref(j);
	recommend_set_release(&s);
}

/* The id: stable for (shop, product set, date), whatever the order. */
static void
test_id_stability(void **state)
{
	struct recommend_params rp;
	struct recommend_product p[3], q[3];
	struct recommend_set a, b;
	char id[RECOMMEND_ID_MAX], err[ERRLEN] = "";

	(void)state;
	recommend_params_default(&rp);
	prod(&p[0], "p1", "", 100, 1, 1);
	prod(&p[1], "p2", "", 200, 3, 3);
	prod(&p[2], "p3", "", 300, 2, 2);
	q[0] = p[2];
	q[1] = p[0];
	q[2] = p[1];
	compute(p, 3, NULL, 0, &a);
	compute(q, 3, NULL, 0, &b);
	assert_int_equal(strncmp(a.id, "rc-", 3), 0);
	assert_int_equal(strlen(a.id), 19);
	assert_string_equal(a.id, b.id);
	memcpy(id, a.id, sizeof(id));
	recommend_set_release(&b);
	q[0].views = 999;               /* figures change, the set does not */
	compute(q, 3, NULL, 0, &b);
	assert_string_equal(b.id, id);
	recommend_set_release(&b);
	compute(p, 2, NULL, 0, &b);     /* another set */
	assert_string_not_equal(b.id, id);
	recommend_set_release(&b);
	p[2].in_plan = 1;               /* leaves the set too */
	compute(p, 3, NULL, 0, &b);
	assert_string_not_equal(b.id, id);
	recommend_set_release(&b);
	p[2].in_plan = 0;
	assert_int_equal(recommend_compute(&rp, SHOP, "2026-11-23", p, 3, NULL,
	    0, &b, err, sizeof(err)), 0);
	assert_string_not_equal(b.id, id);
	recommend_set_release(&b);
	assert_int_equal(recommend_compute(&rp, "shop-2", DATE, p, 3, NULL,
	    0, &b, err, sizeof(err)), 0);
	assert_string_not_equal(b.id, id);
	recommend_set_release(&b);
	q[1] = q[0];                    /* a product twice */
	assert_int_equal(recommend_compute(&rp, SHOP, DATE, q, 3, NULL, 0, &b,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "product \"p3\" appears twice");
	recommend_set_release(&a);
}

/* Arms to levels: contexts summed, stale arms refused; pool buckets. */
static void
test_levels_and_pool(void **state)
{
	struct bandit_params bp = { 5, 0.05, 20, 0 };
	struct bandit_arms a;
	struct recommend_level lv[PLAN_MAX_LEVELS];
	struct recommend_pool pool;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(recommend_levels_from_arms(&a, 5, lv), 0);
	bandit_arms_fit(&a, 500, 3000, &bp);
	a.n[0][1] = 10;
	a.n[1][1] = 5;
	a.s[0][1] = 1;
	a.s[1][1] = 2;
	a.n[0][4] = 7;
	assert_int_equal(recommend_levels_from_arms(&a, 5, lv), 5);
	assert_int_equal(lv[1].bps, 1125);
	near(lv[1].n, 15, 0);
	near(lv[1].s, 3, 0);
	assert_int_equal(lv[4].bps, 3000);
	near(lv[4].n, 7, 0);
	assert_int_equal(recommend_levels_from_arms(&a, 4, lv), 0);
	assert_int_equal(recommend_levels_from_arms(&a, 5, lv), 5);
	recommend_pool_init(&pool, "c");
	recommend_pool_add(&pool, lv, 5);
	recommend_pool_add(&pool, lv, 5);
	near(pool.n[45], 30, 0);        /* 1125 bps = bucket 45 */
	near(pool.s[45], 6, 0);
	near(pool.n[120], 14, 0);
	near(pool.n[20], 0, 0);         /* no offers at 500 bps */
}

/* The JSON form and the plan body, validated by plan_from_request(). */
static void
test_json_and_plan_body(void **state)
{
	struct recommend_product p[2];
	struct recommend_pool pool;
	struct recommend_set s;
	struct plan_limits lim = { 5.0, 50 };
	struct plan plan;
	const char *only[1] = { "p-shoe" };
	char err[ERRLEN] = "", *text;
	json_t *j, *item, *body, *ranges;

	(void)state;
	prod(&p[0], "p-shoe", "shoes", 980, 20, 20);
	prod(&p[1], "p-new", "", 0, 0, 0);
	shoes(&pool);
	compute(p, 2, &pool, 1, &s);
	j = recommend_to_json(&s);
	assert_string_equal(json_string_value(json_object_get(j,
	    "recommendation_id")), s.id);
	assert_string_equal(json_string_value(json_object_get(j, "shop_id")),
	    SHOP);
	item = json_array_get(json_object_get(j, "products"), 1);
	assert_string_equal(json_string_value(json_object_get(item,
	    "product_id")), "p-shoe");
	assert_true(json_real_value(json_object_get(item,
	    "discount_min_pct")) == 7.5);
	assert_true(json_real_value(json_object_get(item,
	    "discount_max_pct")) == 15);
	assert_true(json_real_value(json_object_get(item, "best_pct")) == 10);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    item, "expected"), "extra_gmv_per_1000_views")), 224944);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(item, "tools"), 0), "tool")), "product_discount");
	assert_string_equal(json_string_value(json_object_get(item,
	    "lift_from")), "category");

	body = recommend_plan_body(j, NULL, 0, err, sizeof(err));
	assert_non_null(body);
	assert_string_equal(json_string_value(json_object_get(body, "shop_id")),
	    SHOP);
	assert_int_equal(json_array_size(json_object_get(body, "products")), 2);
	assert_true(json_number_value(json_object_get(body,
	    "discount_min_pct")) == 7.5);
	assert_true(json_number_value(json_object_get(body,
	    "discount_max_pct")) == 15);
	ranges = json_object_get(body, "product_ranges");
	assert_true(json_number_value(json_array_get(json_object_get(ranges,
	    "p-new"), 0)) == 10);
	assert_int_equal(json_integer_value(json_object_get(body, "days")), 14);
	text = json_dumps(body, JSON_COMPACT);
	if (plan_from_request(&plan, text, strlen(text), &lim, 1, err,
	    sizeof(err)) == -1)
		fail_msg("plan_from_request: %s (%s)", err, text);
	assert_int_equal(plan.nproducts, 2);
	assert_int_equal(plan.min_bps, 750);
	assert_int_equal(plan.max_bps, 1500);
	plan_release(&plan);
	free(text);
	json_decref(body);

	body = recommend_plan_body(j, only, 1, err, sizeof(err));
	assert_int_equal(json_array_size(json_object_get(body, "products")), 1);
	assert_null(json_object_get(json_object_get(body, "product_ranges"),
	    "p-new"));
	json_decref(body);
	only[0] = "p-other";
	assert_null(recommend_plan_body(j, only, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "not in the recommendation"));
	json_object_del(j, "shop_id");
	assert_null(recommend_plan_body(j, NULL, 0, err, sizeof(err)));
	json_decref(j);
	recommend_set_release(&s);
}

/* Parameter bounds and bad input. */
static void
test_params(void **state)
{
	struct recommend_params rp;
	struct recommend_set s;
	char err[ERRLEN] = "";

	(void)state;
	recommend_params_default(&rp);
	assert_int_equal(recommend_params_check(&rp, err, sizeof(err)), 0);
	rp.step_bps = 30;
	assert_int_equal(recommend_params_check(&rp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"step_bps\""));
	recommend_params_default(&rp);
	rp.max_bps = 400;
	assert_int_equal(recommend_params_check(&rp, err, sizeof(err)), -1);
	recommend_params_default(&rp);
	assert_int_equal(recommend_compute(&rp, SHOP, "22-11-2026", NULL, 0,
	    NULL, 0, &s, err, sizeof(err)), -1);
	assert_int_equal(recommend_compute(&rp, "", DATE, NULL, 0, NULL, 0, &s,
	    err, sizeof(err)), -1);
	assert_int_equal(recommend_compute(&rp, SHOP, DATE, NULL, 0, NULL, 0,
	    &s, err, sizeof(err)), 0);
	assert_int_equal(s.nitems, 0);
	recommend_set_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_category_curve),
		cmocka_unit_test(test_own_arms),
		cmocka_unit_test(test_prior_only),
		cmocka_unit_test(test_isotonic_pool),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_no_range_and_skips),
		cmocka_unit_test(test_id_stability),
		cmocka_unit_test(test_levels_and_pool),
		cmocka_unit_test(test_json_and_plan_body),
		cmocka_unit_test(test_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
