/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recommend.h - Recommended Strategies: for a shop's products that are in
 * no plan, a suggested discount range, a tool mix and the expected effect,
 * from what the learner taught on the product itself and on similar
 * products (same category, else the whole shop); and the POST /v1/plans
 * body that applies a recommendation.
 *
 * Pure: no I/O, no clock, no randomness (jansson for JSON).  The same
 * inputs give the same output bytes, in product id order whatever the
 * input order.
 *
 * The model, per view of a product at discount d (docs/metrics.md):
 *   category pool   offers n and conversions s by discount (25 bps
 *                   buckets) summed over the arms of the category's plan
 *                   products, and the no-promotion conversion of the same
 *                   products (their control group's order lines / views).
 *   category curve  c(0) = no-promotion conversion, shrunk toward
 *                   prior_conversion; each bucket's rate (s + m p(d)) /
 *                   (n + m) with the prior p(d) = c(0) (1 - d)^-elasticity;
 *                   made non-decreasing in d (weighted pool adjacent
 *                   violators); linear between points, prior-shaped
 *                   beyond the last.  Lift L(d) = c(d) / c(0).
 *   product         b = (orders + m c(0)) / (views + m) over its window
 *                   (its no-promotion conversion); with own arms, kappa =
 *                   (N * S/E + m) / (N + m), where N, S are its offers and
 *                   conversions and E the conversions b L predicts for
 *                   them; conversion at d: max(b, b L(d) kappa).
 *   ROI             GMV / promotion cost of promoted orders = (1 - d) / d,
 *                   as the plan measures it; candidates need ROI >=
 *                   roi_target.
 *   choice          best = the eligible candidate of most extra GMV per
 *                   view over no promotion; range = the eligible
 *                   candidates within near_share of the best extra GMV,
 *                   widened downward to min_width_bps when it can be.
 * m is prior_strength.  Money in minor units, discounts in basis points.
 *
 * Memory: struct recommend_set owns its items; recommend_set_release().
 */
#ifndef SP_RECOMMEND_H
#define SP_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bandit.h"
#include "plan.h"
#include "snapshot.h"

#define RECOMMEND_ID_MAX 20             /* "rc-" + 16 hex digits */
#define RECOMMEND_BUCKET_BPS 25
#define RECOMMEND_NBUCKETS (10000 / RECOMMEND_BUCKET_BPS + 1)
#define RECOMMEND_TOOLS_MAX 4
#define RECOMMEND_TOOL_MAX 24
#define RECOMMEND_ASSUME_MAX 640

/* The knobs; recommend_params_default() sets: */
struct recommend_params {
	int32_t min_bps;        /* 500: shallowest candidate discount */
	int32_t max_bps;        /* 3000: deepest ([engine] max_discount_pct) */
	int32_t step_bps;       /* 250: candidate grid step, multiple of 25 */
	int32_t min_width_bps;  /* 500: widen a narrower range downward */
	double roi_target;      /* 5.0: [engine] roi_target */
	double near_share;      /* 0.25: range = within 25% of the best gain */
	double prior_conversion;        /* 0.05: [engine] prior_conversion */
	double prior_elasticity;        /* 2.0: conversion ~ (1 - d)^-2 */
	double prior_strength;  /* 20: [engine] prior_strength, pseudo-views */
	int days;               /* 14: duration of the proposed plan */
};

/* One learnt arm (both contexts summed): a discount and its counts. */
struct recommend_level {
	int32_t bps;
	double n, s;            /* decayed offers and conversions */
};

/* A product of the shop, with its trailing-window figures. */
struct recommend_product {
	char product_id[EVENT_ID_MAX];
	char category[EVENT_ID_MAX];    /* "": unknown */
	int64_t price;          /* list price; <= 0: unknown, skipped */
	int64_t views, orders, units;   /* window: page views, order lines */
	struct recommend_level levels[PLAN_MAX_LEVELS]; /* own arms */
	int nlevels;            /* 0: never learnt */
	int in_plan;            /* enrolled in a plan now: skipped */
};

/* What plans taught about one category ("": the whole shop). */
struct recommend_pool {
	char category[EVENT_ID_MAX];
	double n[RECOMMEND_NBUCKETS];   /* offers per 25 bps bucket */
	double s[RECOMMEND_NBUCKETS];   /* conversions */
	int64_t base_views, base_orders;        /* no promotion (control) */
};

/* Where a product's lift curve came from. */
enum recommend_source {
	RECOMMEND_CATEGORY,     /* its category's pool */
	RECOMMEND_SHOP,         /* the shop's pool ("") */
	RECOMMEND_PRIOR         /* no pool: the prior elasticity alone */
};

struct recommend_tool {
	char tool[RECOMMEND_TOOL_MAX];  /* CONTRACT section 4 tool names */
	int share_pct;
};

/* The recommendation for one product. */
struct recommend_item {
	char product_id[EVENT_ID_MAX];
	char category[EVENT_ID_MAX];
	int64_t price;
	int64_t views;          /* page views in the trailing window */
	enum recommend_source source;
	double own_offers;      /* N above, 0 without own arms */
	double kappa;           /* 1 without own arms */
	int has_range;          /* some candidate meets the ROI target */
	int32_t min_bps, max_bps, best_bps;
	struct recommend_tool tools[RECOMMEND_TOOLS_MAX];
	int ntools;
	double base_conversion; /* per view, no promotion */
	double conversion;      /* per view at best_bps */
	double extra_orders_1k; /* per 1,000 views, vs no promotion */
	int64_t extra_gmv_1k;   /* minor units per 1,000 views */
	double roi;             /* (1 - d) / d at best_bps */
	int has_incr_roi;
	double incr_roi;        /* extra GMV / promotion cost */
	char assumptions[RECOMMEND_ASSUME_MAX];
};

struct recommend_set {
	char id[RECOMMEND_ID_MAX];
	char shop_id[EVENT_ID_MAX];
	char date[SNAPSHOT_DATE_MAX];
	double roi_target;
	int days;
	struct recommend_item *items;   /* sorted by product_id */
	size_t nitems;
};

/* The defaults listed in struct recommend_params. */
void recommend_params_default(struct recommend_params *rp);

/* 0 if every parameter is within its bounds, else -1 with err. */
int recommend_params_check(const struct recommend_params *rp, char *err,
    size_t errlen);

/*
 * A product's learnt arms as levels (contexts summed), given the
 * [engine] levels the arms were made with.  Returns the count, or 0 when
 * the arms are empty or do not match (the range's levels changed).
 */
int recommend_levels_from_arms(const struct bandit_arms *a,
    int wanted_levels, struct recommend_level *out);

/* Zero a pool and name its category ("" or NULL: the whole shop). */
void recommend_pool_init(struct recommend_pool *p, const char *category);

/* Add a plan product's levels into the pool's buckets. */
void recommend_pool_add(struct recommend_pool *p,
    const struct recommend_level *lv, int n);

/*
 * Recommend for the shop's products p[0..n-1] (skipping those in a plan or
 * without a price) given the pools[0..npools-1] (categories unique).
 * The id is "rc-" and 16 hex digits of FNV-1a 64 over shop_id, date and the
 * sorted ids of the recommended products: stable for (shop, product set,
 * date).  0, or -1 with err (bad parameters or date, out of memory) and
 * out empty.
 */
int recommend_compute(const struct recommend_params *rp, const char *shop_id,
    const char *date, const struct recommend_product *p, size_t n,
    const struct recommend_pool *pools, size_t npools,
    struct recommend_set *out, char *err, size_t errlen);

void recommend_set_release(struct recommend_set *s);

/*
 * The set as JSON (new reference): {recommendation_id, shop_id, date,
 * roi_target, days, products: [{product_id, category, price,
 * discount_min_pct, discount_max_pct, best_pct (null without a range),
 * tools: [{tool, share_pct}], expected: {base_conversion, conversion,
 * extra_orders_per_1000_views, extra_gmv_per_1000_views, roi,
 * incremental_roi}, lift_from, own_offers, assumptions}]}.
 */
json_t *recommend_to_json(const struct recommend_set *s);

/*
 * A POST /v1/plans body (new reference) from a recommendation in its JSON
 * form: name, shop_id, products, days, discount_min_pct and
 * discount_max_pct spanning the products' ranges, product_ranges,
 * roi_target.  only[0..nonly-1], if nonly > 0, keeps just those products.
 * The caller may edit the body before posting it.  NULL with err when the
 * recommendation is malformed or leaves no product with a range.
 */
json_t *recommend_plan_body(const json_t *rec, const char *const *only,
    size_t nonly, char *err, size_t errlen);

#endif
