/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pps.c - unit tests of engine/pps.c, the Creator Promotion
 * Performance Score: eligibility edges, recency, shipping-related reviews,
 * the seller's SPS fallback, removed content, the score's parts and their
 * combination, the 7-day change, ranking ties, benefits, the items pulling
 * the score down and Wilson-bounded recommendations.  Every expected score
 * is computed by hand in the comment above its check, with the defaults:
 * window 90 days, half-life 30 days (w(0) = 1, w(30) = 0.5, w(60) = 0.25),
 * prior_reviews k = 2, sps_unknown 3.5, content_half_orders h = 5,
 * product share 0.7.  docs/pps.md's worked example is test_worked_example.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "pps.h"

#define T 20634                 /* 2026-06-30 */
#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-6)

/* The default parameters. */
static struct pps_params
params(void)
{
	struct pps_params p;

	pps_params_default(&p);
	return p;
}

/* One product day. */
static struct pps_product_day
pday(int32_t day, int64_t orders, int64_t delivered, int64_t positive,
    int64_t negative, int64_t negative_shipping, double sps)
{
	struct pps_product_day d = { day, orders, delivered, positive,
	    negative, negative_shipping, sps };

	return d;
}

/* A product of one category with its days. */
static struct pps_product
product(const char *id, const char *category,
    const struct pps_product_day *days, size_t ndays)
{
	struct pps_product pr = { id, category, days, ndays };

	return pr;
}

/* A content item without orders. */
static struct pps_content
content(const char *id, enum content_kind kind, const char *category,
    int32_t day)
{
	struct pps_content c;

	memset(&c, 0, sizeof(c));
	c.content_id = id;
	c.kind = kind;
	c.category = category;
	c.day = day;
	return c;
}

/* Facts over products and content items. */
static struct pps_facts
facts(const struct pps_product *pr, size_t npr, const struct pps_content *c,
    size_t nc)
{
	struct pps_facts f = { "cr-1", pr, npr, c, nc };

	return f;
}

/* The score of day today with params p, which must compute. */
static struct pps_score
score_p(const struct pps_facts *f, int32_t today, const struct pps_params *p)
{
	struct pps_score s;
	char reason[128] = "";

	assert_int_equal(pps_compute(f, today, p, &s, reason, sizeof(reason)),
	    0);
	assert_string_equal(reason, "");
	return s;
}

/* The score of day today with the defaults. */
static struct pps_score
score(const struct pps_facts *f, int32_t today)
{
	struct pps_params p = params();

	return score_p(f, today, &p);
}

/* The score of one product with one day, in hundredths (-1: none). */
static int
one_day_x100(struct pps_product_day d, const struct pps_params *p)
{
	struct pps_product pr = product("p1", "beauty", &d, 1);
	struct pps_facts f = facts(&pr, 1, NULL, 0);

	return score_p(&f, T, p).score_x100;
}

/* Defaults pass; each bound broken fails, naming the parameter. */
static void
test_params(void **state)
{
	struct pps_params p = params();
	char reason[128];

	(void)state;
	assert_int_equal(pps_params_check(&p, reason, sizeof(reason)), 0);
	p.half_life_days = 0.0;
	assert_int_equal(pps_params_check(&p, reason, sizeof(reason)), -1);
	assert_string_equal(reason,
	    "parameter \"half_life_days\" must be from 1 to 3650");
	p = params();
	p.product_share = 1.5;
	assert_int_equal(pps_params_check(&p, reason, sizeof(reason)), -1);
	assert_string_equal(reason,
	    "parameter \"product_share\" must be from 0 to 1");
	p = params();
	p.prior_reviews = NAN;
	assert_int_equal(pps_params_check(&p, reason, sizeof(reason)), -1);
	p = params();
	p.min_videos = 0;
	assert_int_equal(pps_params_check(&p, reason, sizeof(reason)), -1);
	p = params();
	p.window_days = 366;
	assert_int_equal(pps_params_check(&p, reason, sizeof(reason)), -1);
}

/* Invalid facts fail with a reason and no score. */
static void
test_facts_invalid(void **state)
{
	struct pps_params p = params();
	struct pps_product_day d = pday(T, 30, 30, 0, 0, 0, 4.0);
	struct pps_product pr = product("p1", "beauty", &d, 1);
	struct pps_content c = content("v1", CONTENT_VIDEO, NULL, T);
	struct pps_facts f = facts(&pr, 1, &c, 1);
	struct pps_score s;
	char reason[128];

	(void)state;
	d.negative = -1;
	assert_int_equal(pps_compute(&f, T, &p, &s, reason, sizeof(reason)),
	    -1);
	assert_string_equal(reason,
	    "product \"p1\" has a count out of 0..1000000000");
	assert_int_equal(s.score_x100, -1);
	d.negative = 0;
	d.sps = 5.5;
	assert_int_equal(pps_compute(&f, T, &p, &s, reason, sizeof(reason)),
	    -1);
	assert_string_equal(reason, "product \"p1\" has an sps above 5");
	d.sps = 4.0;
	c.kind = (enum content_kind)7;
	assert_int_equal(pps_compute(&f, T, &p, &s, reason, sizeof(reason)),
	    -1);
	assert_string_equal(reason, "content \"v1\" has an unknown kind");
	c.kind = CONTENT_VIDEO;
	pr.product_id = NULL;
	assert_int_equal(pps_compute(&f, T, &p, &s, reason, sizeof(reason)),
	    -1);
	assert_string_equal(reason, "product without an id");
	pr.product_id = "p1";
	assert_int_equal(pps_compute(&f, T, &p, &s, reason, sizeof(reason)),
	    0);
}

/* 29 delivered orders in one category: no score; 30: a score. */
static void
test_eligible_category_orders(void **state)
{
	struct pps_product_day d = pday(T, 29, 29, 0, 0, 0, 4.0);
	struct pps_product pr = product("p1", "beauty", &d, 1);
	struct pps_facts f = facts(&pr, 1, NULL, 0);
	struct pps_score s;

	(void)state;
	s = score(&f, T);
	assert_false(s.eligible);
	assert_int_equal(s.criteria, 0);
	assert_string_equal(s.category, "beauty");
	assert_int_equal(s.category_delivered, 29);
	assert_int_equal(s.score_x100, -1);
	assert_true(s.has_product);     /* the parts are still computed */
	d.orders = d.delivered = 30;
	s = score(&f, T);
	assert_true(s.eligible);
	assert_int_equal(s.criteria, PPS_BY_ORDERS);
	assert_int_equal(s.category_delivered, 30);
	/* no reviews: rate = SPS / 5 = 4.0 / 5 = 0.8; score 5 x 0.8 = 4.00 */
	NEAR(s.product, 0.8);
	assert_int_equal(s.score_x100, 400);
}

/* Delivered orders add up within a category, across products and days. */
static void
test_eligible_across_products(void **state)
{
	struct pps_product_day d1[] = { pday(T, 5, 5, 0, 0, 0, 4.0),
	    pday(T - 40, 5, 5, 0, 0, 0, 4.0) };
	struct pps_product_day d2 = pday(T - 10, 20, 20, 0, 0, 0, 4.0);
	struct pps_product pr[] = { product("p1", "beauty", d1, 2),
	    product("p2", "beauty", &d2, 1) };
	struct pps_facts f = facts(pr, 2, NULL, 0);
	struct pps_score s;

	(void)state;
	s = score(&f, T);
	assert_true(s.eligible);
	assert_int_equal(s.category_delivered, 30);
	/* delivered lags orders: only delivered lines count for eligibility */
	d2.delivered = 19;
	s = score(&f, T);
	assert_false(s.eligible);
	assert_int_equal(s.category_delivered, 29);
}

/* 30 orders spread over two categories, or partly uncategorised: none. */
static void
test_eligible_spread(void **state)
{
	struct pps_product_day d1 = pday(T, 15, 15, 0, 0, 0, 4.0);
	struct pps_product_day d2 = pday(T, 15, 15, 0, 0, 0, 4.0);
	struct pps_product pr[] = { product("p1", "phones", &d1, 1),
	    product("p2", "beauty", &d2, 1) };
	struct pps_facts f = facts(pr, 2, NULL, 0);
	struct pps_score s;

	(void)state;
	s = score(&f, T);
	assert_false(s.eligible);
	assert_int_equal(s.category_delivered, 15);
	assert_string_equal(s.category, "beauty");      /* tie: first name */
	d1.orders = d1.delivered = 16;
	s = score(&f, T);
	assert_string_equal(s.category, "phones");
	/* uncategorised orders count for no category */
	d1.orders = d1.delivered = 1;
	d2.orders = d2.delivered = 29;
	pr[0].category = "";
	s = score(&f, T);
	assert_false(s.eligible);
	pr[0].category = NULL;
	s = score(&f, T);
	assert_false(s.eligible);
	assert_string_equal(s.category, "beauty");
}

/* Only days T-89..T count: T-90 is outside, and a later day too. */
static void
test_eligible_window(void **state)
{
	struct pps_product_day d = pday(T - 90, 30, 30, 0, 0, 0, 4.0);
	struct pps_product pr = product("p1", "beauty", &d, 1);
	struct pps_facts f = facts(&pr, 1, NULL, 0);
	struct pps_score s;

	(void)state;
	s = score(&f, T);
	assert_false(s.eligible);
	assert_int_equal(s.category_delivered, 0);
	assert_false(s.has_product);
	assert_string_equal(s.category, "");
	d.day = T - 89;
	assert_true(score(&f, T).eligible);
	d.day = T + 1;
	assert_false(score(&f, T).eligible);
	assert_true(score(&f, T + 1).eligible);
}

/* 19 videos: none; 20: a score; a video at T-90 does not count. */
static void
test_eligible_videos(void **state)
{
	struct pps_content c[20];
	struct pps_facts f;
	struct pps_score s;

	(void)state;
	for (int i = 0; i < 20; i++)
		c[i] = content("v", CONTENT_VIDEO, i < 12 ? "toys" : "books",
		    T - i);
	f = facts(NULL, 0, c, 19);
	s = score(&f, T);
	assert_false(s.eligible);
	assert_int_equal(s.videos, 19);
	f.ncontents = 20;
	s = score(&f, T);
	assert_true(s.eligible);
	assert_int_equal(s.criteria, PPS_BY_VIDEOS);
	/* no delivered orders: the category of most content items */
	assert_string_equal(s.category, "toys");
	/* content only: every reach is 0 / (0 + 5) = 0, so the score is 0 */
	assert_false(s.has_product);
	assert_true(s.has_content);
	assert_int_equal(s.score_x100, 0);
	/* a removed video still was posted: it counts */
	c[3].removed = 1;
	c[3].removed_day = T - 1;
	assert_true(score(&f, T).eligible);
	c[19].day = T - 90;
	s = score(&f, T);
	assert_false(s.eligible);
	assert_int_equal(s.videos, 19);
}

/* 4 livestreams: none; 5: a score; 19 videos and 4 lives do not mix. */
static void
test_eligible_lives(void **state)
{
	struct pps_content c[24];
	struct pps_facts f;
	struct pps_score s;

	(void)state;
	for (int i = 0; i < 5; i++)
		c[i] = content("l", CONTENT_LIVE, NULL, T - 80 + i);
	f = facts(NULL, 0, c, 4);
	s = score(&f, T);
	assert_false(s.eligible);
	assert_int_equal(s.lives, 4);
	f.ncontents = 5;
	s = score(&f, T);
	assert_true(s.eligible);
	assert_int_equal(s.criteria, PPS_BY_LIVES);
	assert_string_equal(s.category, "");
	for (int i = 4; i < 24; i++)
		c[i] = content("v", CONTENT_VIDEO, NULL, T);
	f.ncontents = 23;       /* 4 lives, 19 videos */
	s = score(&f, T);
	assert_false(s.eligible);
	assert_int_equal(s.lives, 4);
	assert_int_equal(s.videos, 19);
	f.ncontents = 24;       /* 4 lives, 20 videos */
	assert_int_equal(score(&f, T).criteria, PPS_BY_VIDEOS);
}

/* Recent days weigh more; shifting every fact by a day changes nothing. */
static void
test_recency(void **state)
{
	/* A: 10 positive, SPS 5: (10 + 2 x 1) / (10 + 2) = 1.
	 * B: 10 negative, SPS 0: (0 + 2 x 0) / (10 + 2) = 0. */
	struct pps_product_day a = pday(T, 10, 30, 10, 0, 0, 5.0);
	struct pps_product_day b = pday(T - 30, 10, 0, 0, 10, 0, 0.0);
	struct pps_product pr[] = { product("pa", "beauty", &a, 1),
	    product("pb", "beauty", &b, 1) };
	struct pps_facts f = facts(pr, 2, NULL, 0);
	struct pps_score s;

	(void)state;
	/* weights 10 x 1 = 10 and 10 x 0.5 = 5: PP = 10 / 15 = 0.6667;
	 * score 5 x 0.6667 = 3.333 -> 333 */
	s = score(&f, T);
	NEAR(s.product_weight, 15.0);
	NEAR(s.product, 10.0 / 15.0);
	assert_int_equal(s.score_x100, 333);
	/* swapped ages: PP = 5 / 15 = 0.3333; 5 x 0.3333 = 1.667 -> 167 */
	a.day = T - 30;
	b.day = T;
	assert_int_equal(score(&f, T).score_x100, 167);
	/* the same facts 20 days older: both weights halve alike, PP holds */
	a.day = T - 50;
	b.day = T - 20;
	s = score(&f, T);
	NEAR(s.product_weight, 15.0 * pow(0.5, 20.0 / 30.0));
	assert_int_equal(s.score_x100, 167);
	/* a shorter half-life tilts further: w(30) = 0.5^(30/10) = 0.125;
	 * PP = 1.25 / 11.25 = 0.1111; 5 x 0.1111 = 0.556 -> 56 */
	a.day = T - 30;
	b.day = T;
	{
		struct pps_params p = params();

		p.half_life_days = 10.0;
		assert_int_equal(score_p(&f, T, &p).score_x100, 56);
	}
}

/* Negative reviews about shipping count neither for nor against. */
static void
test_shipping_excluded(void **state)
{
	struct pps_params p = params();

	(void)state;
	/* (8 + 2 x 4.5/5) / (8 + 1 + 2) = 9.8 / 11 = 0.8909; 5 x = 4.4545 */
	assert_int_equal(one_day_x100(pday(T, 30, 30, 8, 1, 1, 4.5), &p),
	    445);
	/* five more shipping complaints: the same */
	assert_int_equal(one_day_x100(pday(T, 30, 30, 8, 1, 6, 4.5), &p),
	    445);
	/* the complaint not about shipping: 9.8 / 12 = 0.8167; 4.0833 */
	assert_int_equal(one_day_x100(pday(T, 30, 30, 8, 2, 1, 4.5), &p),
	    408);
}

/* No reviews: the seller's SPS at promotion time; unknown: sps_unknown. */
static void
test_no_reviews_sps(void **state)
{
	struct pps_params p = params();
	struct pps_product_day a = pday(T, 10, 30, 10, 0, 0, 5.0);
	struct pps_product_day b = pday(T, 30, 0, 0, 0, 3, 3.0);
	struct pps_product pr[] = { product("pa", "beauty", &a, 1),
	    product("pb", "beauty", &b, 1) };
	struct pps_facts f = facts(pr, 2, NULL, 0);

	(void)state;
	/* 4.2 / 5 = 0.84 -> 4.20 */
	assert_int_equal(one_day_x100(pday(T, 30, 30, 0, 0, 0, 4.2), &p), 420);
	/* only shipping complaints: no review counted, still 0.84 */
	assert_int_equal(one_day_x100(pday(T, 30, 30, 0, 0, 4, 4.2), &p), 420);
	/* SPS unknown: 3.5 / 5 = 0.7 -> 3.50 */
	assert_int_equal(one_day_x100(pday(T, 30, 30, 0, 0, 0, -1.0), &p),
	    350);
	/* no prior: reviews alone, 3 / (3 + 1) = 0.75 -> 3.75 */
	p.prior_reviews = 0.0;
	assert_int_equal(one_day_x100(pday(T, 30, 30, 3, 1, 0, 4.2), &p), 375);
	/* no prior and no review: the SPS still, 0.84 */
	assert_int_equal(one_day_x100(pday(T, 30, 30, 0, 0, 0, 4.2), &p), 420);
	/* A rate 1 on 10 orders, B no reviews at SPS 3 = 0.6 on 30 orders:
	 * (10 x 1 + 30 x 0.6) / 40 = 28 / 40 = 0.7 -> 3.50 */
	assert_int_equal(score(&f, T).score_x100, 350);
}

/* Orders after a video's removal do not count; a live cannot be removed. */
static void
test_removed_content(void **state)
{
	/* product part: (9 + 2 x 0.9) / (9 + 1 + 2) = 10.8 / 12 = 0.9 */
	struct pps_product_day d = pday(T, 30, 30, 9, 1, 0, 4.5);
	struct pps_product pr = product("p1", "beauty", &d, 1);
	struct pps_order_day od[] = { { T - 60, 10 }, { T - 30, 10 },
	    { T, 10 } };
	struct pps_content c = content("v1", CONTENT_VIDEO, NULL, T - 60);
	struct pps_facts f = facts(&pr, 1, &c, 1);
	struct pps_score s;

	(void)state;
	c.orders = od;
	c.norders = 3;
	c.removed = 1;
	c.removed_day = T - 30;
	/* orders up to the removal day: 10 x 0.25 + 10 x 0.5 = 7.5;
	 * reach 7.5 / (7.5 + 5) = 0.6; CP = 0.6 (one item);
	 * score 5 x (0.7 x 0.9 + 0.3 x 0.6) = 5 x 0.81 = 4.05 */
	s = score(&f, T);
	NEAR(s.product, 0.9);
	NEAR(s.content, 0.6);
	NEAR(s.content_weight, 0.25);   /* posted at T-60 */
	assert_int_equal(s.score_x100, 405);
	/* the same as a livestream: the flag is ignored, all orders count:
	 * 2.5 + 5 + 10 = 17.5; reach 17.5 / 22.5 = 0.7778;
	 * 5 x (0.63 + 0.3 x 0.7778) = 5 x 0.8633 = 4.3167 -> 432 */
	c.kind = CONTENT_LIVE;
	s = score(&f, T);
	NEAR(s.content, 17.5 / 22.5);
	assert_int_equal(s.score_x100, 432);
	/* a video never removed: the same as the livestream */
	c.kind = CONTENT_VIDEO;
	c.removed = 0;
	assert_int_equal(score(&f, T).score_x100, 432);
	/* removed later than the day scored: not removed yet on T-1;
	 * at T-1 the T order is in the future and the video reaches
	 * 10 x 0.5^(59/30) + 10 x 0.5^(29/30) = 2.5580 + 5.1173 = 7.6753;
	 * 7.6753 / 12.6753 = 0.6055 */
	c.removed = 1;
	c.removed_day = T;
	s = score(&f, T - 1);
	assert_true(fabs(s.content - 0.6055) < 1e-4);
	NEAR(s.content, (10 * pow(0.5, 59.0 / 30.0) + 10 * pow(0.5,
	    29.0 / 30.0)) / (10 * pow(0.5, 59.0 / 30.0) + 10 * pow(0.5,
	    29.0 / 30.0) + 5.0));
}

/* A creator's score with no content is the product part alone, and with
 * content the 70/30 mix. */
static void
test_combine(void **state)
{
	struct pps_product_day d = pday(T, 30, 30, 0, 0, 0, 4.0);
	struct pps_product pr = product("p1", "beauty", &d, 1);
	struct pps_order_day od = { T, 5 };
	struct pps_content c = content("v1", CONTENT_VIDEO, NULL, T);
	struct pps_facts f = facts(&pr, 1, &c, 0);
	struct pps_params p = params();

	(void)state;
	assert_int_equal(score(&f, T).score_x100, 400);        /* 5 x 0.8 */
	c.orders = &od;
	c.norders = 1;
	f.ncontents = 1;
	/* reach 5 / 10 = 0.5: 5 x (0.7 x 0.8 + 0.3 x 0.5) = 5 x 0.71 */
	assert_int_equal(score(&f, T).score_x100, 355);
	/* share 1: product only, whatever the content */
	p.product_share = 1.0;
	assert_int_equal(score_p(&f, T, &p).score_x100, 400);
	p.product_share = 0.0;
	assert_int_equal(score_p(&f, T, &p).score_x100, 250);
}

/* score(T) - score(T-7), and no change if there was no score at T-7. */
static void
test_change(void **state)
{
	/* X at T-7: rate 1 (10 positive at SPS 5), 30 delivered;
	 * Y at T: rate 0 (10 negative at SPS 0), 30 orders. */
	struct pps_product_day x = pday(T - 7, 30, 30, 10, 0, 0, 5.0);
	struct pps_product_day y = pday(T, 30, 0, 0, 10, 0, 0.0);
	struct pps_product pr[] = { product("px", "beauty", &x, 1),
	    product("py", "beauty", &y, 1) };
	struct pps_facts f = facts(pr, 2, NULL, 0);
	struct pps_params p = params();
	char reason[128];
	int delta, has;

	(void)state;
	/* at T-7 only X exists: 5.00.  At T: w(7) = 0.5^(7/30) = 0.85067;
	 * PP = 30 x 0.85067 / (30 x 0.85067 + 30) = 0.45965; 2.2983 -> 230;
	 * change 230 - 500 = -270 */
	assert_int_equal(score(&f, T - 7).score_x100, 500);
	assert_int_equal(score(&f, T).score_x100, 230);
	assert_int_equal(pps_change(&f, T, PPS_CHANGE_DAYS, &p, &delta, &has,
	    reason, sizeof(reason)), 0);
	assert_true(has);
	assert_int_equal(delta, -270);
	/* the 30 delivered orders on T instead: no score at T-7 */
	x.delivered = 0;
	y.delivered = 30;
	assert_int_equal(pps_change(&f, T, PPS_CHANGE_DAYS, &p, &delta, &has,
	    reason, sizeof(reason)), 0);
	assert_false(has);
	assert_int_equal(delta, 0);
	assert_int_equal(pps_change(&f, T, -1, &p, &delta, &has, reason,
	    sizeof(reason)), -1);
}

/* Competition ranking within a category; ties share a rank. */
static void
test_rank(void **state)
{
	struct pps_rank_entry e[] = {
		{ "a", "beauty", 400, 0, 0 },
		{ "b", "beauty", 450, 0, 0 },
		{ "c", "beauty", 400, 0, 0 },
		{ "d", "phones", 300, 0, 0 },
		{ "e", "beauty", 380, 0, 0 },
		{ "f", NULL, 100, 0, 0 },
		{ "g", "", 200, 0, 0 },
	};
	const struct {
		const char *id;
		size_t rank, of;
	} want[] = {
		{ "g", 1, 2 }, { "f", 2, 2 },   /* NULL and "" together */
		{ "b", 1, 4 }, { "a", 2, 4 }, { "c", 2, 4 }, { "e", 4, 4 },
		{ "d", 1, 1 },
	};

	(void)state;
	pps_rank(e, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_string_equal(e[i].creator_id, want[i].id);
		assert_int_equal(e[i].rank, want[i].rank);
		assert_int_equal(e[i].of, want[i].of);
	}
	pps_rank(e, 0);
}

/* Benefits unlock at 2.00, 3.50 and 4.00. */
static void
test_benefits(void **state)
{
	const struct {
		int x100;
		int reach, samples, giveaways;
	} t[] = {
		{ -1, 0, 0, 0 }, { 0, 0, 0, 0 }, { 199, 0, 0, 0 },
		{ 200, 1, 0, 0 }, { 349, 1, 0, 0 }, { 350, 1, 1, 0 },
		{ 399, 1, 1, 0 }, { 400, 1, 1, 1 }, { 500, 1, 1, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(pps_benefit_unlocked(PPS_BENEFIT_WIDER_REACH,
		    t[i].x100), t[i].reach);
		assert_int_equal(pps_benefit_unlocked(
		    PPS_BENEFIT_PRIORITY_SAMPLES, t[i].x100), t[i].samples);
		assert_int_equal(pps_benefit_unlocked(
		    PPS_BENEFIT_LIVE_GIVEAWAYS, t[i].x100), t[i].giveaways);
	}
	assert_string_equal(pps_benefit_name(PPS_BENEFIT_WIDER_REACH),
	    "wider_reach");
	assert_string_equal(pps_benefit_name(PPS_BENEFIT_PRIORITY_SAMPLES),
	    "priority_samples");
	assert_string_equal(pps_benefit_name(PPS_BENEFIT_LIVE_GIVEAWAYS),
	    "live_giveaways");
	assert_string_equal(pps_benefit_name(PPS_BENEFIT__COUNT), "unknown");
	assert_int_equal(pps_benefit_min_x100(PPS_BENEFIT__COUNT), -1);
	assert_false(pps_benefit_unlocked(PPS_BENEFIT__COUNT, 500));
}

/* Products and content below the creator's average, most harmful first. */
static void
test_drags(void **state)
{
	/* A: rate 1 (10 positive at SPS 5), 20 orders;
	 * B: no reviews at SPS 3 = 0.6, 10 orders;
	 * C: rate 0 (10 negative at SPS 0), 10 orders.
	 * W = 40, PP = (20 + 6 + 0) / 40 = 0.65 -> 3.25 */
	struct pps_product_day da = pday(T, 20, 30, 10, 0, 0, 5.0);
	struct pps_product_day db = pday(T, 10, 0, 0, 0, 0, 3.0);
	struct pps_product_day dc = pday(T, 10, 0, 0, 10, 0, 0.0);
	struct pps_product pr[] = { product("pa", "beauty", &da, 1),
	    product("pb", "beauty", &db, 1), product("pc", "beauty", &dc, 1) };
	struct pps_order_day od = { T, 5 };
	struct pps_content c[] = { content("v1", CONTENT_VIDEO, NULL, T),
	    content("v2", CONTENT_VIDEO, NULL, T) };
	struct pps_facts f = facts(pr, 3, c, 0);
	struct pps_params p = params();
	struct pps_drag out[PPS_DRAGS_MAX];
	char reason[128];
	size_t n;

	(void)state;
	assert_int_equal(score(&f, T).score_x100, 325);
	/* product only, points = 5 x W_i x (r_i - PP) / W:
	 * C: 5 x 10 x (0 - 0.65) / 40 = -0.8125;
	 * B: 5 x 10 x (0.6 - 0.65) / 40 = -0.0625; A is above (+0.875) */
	assert_int_equal(pps_drags(&f, T, &p, out, PPS_DRAGS_MAX, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].id, "pc");
	assert_int_equal(out[0].kind, PPS_ITEM_PRODUCT);
	NEAR(out[0].points, -0.8125);
	assert_string_equal(out[1].id, "pb");
	NEAR(out[1].points, -0.0625);
	/* with content: v1 reach 5 / 10 = 0.5, v2 none = 0; CP = 0.25;
	 * score 5 x (0.7 x 0.65 + 0.3 x 0.25) = 5 x 0.53 = 2.65.
	 * Products x 0.7: C -0.56875, B -0.04375;
	 * v2: 5 x 0.3 x 1 x (0 - 0.25) / 2 = -0.1875 (v1 +0.1875) */
	c[0].orders = &od;
	c[0].norders = 1;
	f.ncontents = 2;
	assert_int_equal(score(&f, T).score_x100, 265);
	assert_int_equal(pps_drags(&f, T, &p, out, PPS_DRAGS_MAX, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].id, "pc");
	NEAR(out[0].points, -0.56875);
	assert_string_equal(out[1].id, "v2");
	assert_int_equal(out[1].kind, PPS_ITEM_CONTENT);
	NEAR(out[1].points, -0.1875);
	assert_string_equal(out[2].id, "pb");
	NEAR(out[2].points, -0.04375);
	/* room for one: the worst */
	assert_int_equal(pps_drags(&f, T, &p, out, 1, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].id, "pc");
	assert_int_equal(pps_drags(&f, T, &p, out, 0, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 0);
}

/* Every item at the average: nothing pulls the score down. */
static void
test_drags_none(void **state)
{
	struct pps_product_day d = pday(T, 30, 30, 0, 0, 0, 4.0);
	struct pps_product pr[] = { product("pa", "beauty", &d, 1),
	    product("pb", "beauty", &d, 1) };
	struct pps_facts f = facts(pr, 2, NULL, 0);
	struct pps_params p = params();
	struct pps_drag out[PPS_DRAGS_MAX];
	char reason[128];
	size_t n = 99;

	(void)state;
	assert_int_equal(pps_drags(&f, T, &p, out, PPS_DRAGS_MAX, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 0);
}

/* Recommendations rank by the Wilson lower bound, not the raw rate. */
static void
test_recommend(void **state)
{
	/* lower bounds at z = 1.96 (z^2 = 3.8416):
	 * 95/100: p = .95; centre .95 + 3.8416/200 = .969208;
	 *   margin 1.96 x sqrt(.95 x .05/100 + 3.8416/40000)
	 *   = 1.96 x sqrt(.00057104) = .046837;
	 *   (.969208 - .046837) / (1 + 3.8416/100) = .922371/1.038416 = .8882
	 * 190/200: (.959604 - .031696) / 1.019208 = .9104
	 * 20/20 (p = 1): n / (n + z^2) = 20 / 23.8416 = .8389
	 * 100/100: 100 / 103.8416 = .9630
	 * 18/20: .6990, below 0.8; 9/10: under 20 reviews */
	const struct pps_product_stat s[] = {
		{ "p1", "beauty", 9, 10 },
		{ "p2", "beauty", 95, 100 },
		{ "p3", "beauty", 18, 20 },
		{ "p4", "beauty", 190, 200 },
		{ "p5", "beauty", 20, 20 },
		{ "p6", "phones", 100, 100 },
		{ "p0", "beauty", 95, 100 },
	};
	struct pps_params p = params();
	struct pps_recommendation out[8];
	struct pps_product_stat bad = { "px", NULL, 5, 4 };
	char reason[128];
	size_t n;

	(void)state;
	NEAR(pps_wilson_lower(95, 100, 1.96), 0.888248);
	NEAR(pps_wilson_lower(20, 20, 1.96), 20.0 / 23.8416);
	assert_true(pps_wilson_lower(0, 0, 1.96) == 0.0);
	assert_int_equal(pps_recommend(s, 7, NULL, &p, out, 8, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 5);
	assert_int_equal(out[0].index, 5);      /* p6 .9630 */
	assert_int_equal(out[1].index, 3);      /* p4 .9104 */
	assert_int_equal(out[2].index, 6);      /* p0 .8882, tie: by id */
	assert_int_equal(out[3].index, 1);      /* p2 .8882 */
	assert_int_equal(out[4].index, 4);      /* p5 .8389 despite rate 1 */
	NEAR(out[4].rate, 1.0);
	NEAR(out[1].lower, 0.910421);
	assert_int_equal(pps_recommend(s, 7, "beauty", &p, out, 2, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].index, 3);
	assert_int_equal(out[1].index, 6);
	/* fewer reviews needed: 9/10 has .5958, still below 0.8 */
	p.rec_min_reviews = 5;
	p.rec_min_lower = 0.5;
	assert_int_equal(pps_recommend(s, 7, "beauty", &p, out, 8, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 6);
	assert_int_equal(out[5].index, 0);
	assert_int_equal(pps_recommend(&bad, 1, NULL, &p, out, 8, &n, reason,
	    sizeof(reason)), -1);
	assert_string_equal(reason,
	    "product \"px\" must have 0 <= positive <= reviews");
}

/* docs/pps.md's worked example, number for number. */
static void
test_worked_example(void **state)
{
	struct pps_product_day lip = pday(T, 20, 20, 12, 2, 3, 4.5);
	struct pps_product_day ser = pday(T - 30, 16, 16, 0, 0, 0, 4.0);
	struct pps_product_day mas = pday(T - 60, 8, 8, 1, 5, 0, 3.0);
	struct pps_product pr[] = { product("p-lipstick", "beauty", &lip, 1),
	    product("p-serum", "beauty", &ser, 1),
	    product("p-mascara", "beauty", &mas, 1) };
	struct pps_order_day o1 = { T - 30, 15 };
	struct pps_order_day o2[] = { { T - 60, 20 }, { T, 40 } };
	struct pps_order_day o3 = { T, 5 };
	struct pps_content c[] = { content("v-1", CONTENT_VIDEO, "beauty",
	    T - 30), content("v-2", CONTENT_VIDEO, "beauty", T - 60),
	    content("l-1", CONTENT_LIVE, "beauty", T) };
	struct pps_facts f = facts(pr, 3, c, 3);
	struct pps_params p = params();
	struct pps_drag out[PPS_DRAGS_MAX];
	struct pps_score s;
	char reason[128];
	size_t n;
	int delta, has;

	(void)state;
	c[0].orders = &o1;
	c[0].norders = 1;
	c[1].orders = o2;
	c[1].norders = 2;
	c[1].removed = 1;
	c[1].removed_day = T - 30;
	c[2].orders = &o3;
	c[2].norders = 1;
	c[2].removed = 1;               /* a livestream: ignored */
	s = score(&f, T);
	assert_true(s.eligible);
	assert_int_equal(s.criteria, PPS_BY_ORDERS);
	assert_int_equal(s.category_delivered, 44);
	assert_string_equal(s.category, "beauty");
	NEAR(s.product_weight, 30.0);
	NEAR(s.product, 24.2 / 30.0);
	NEAR(s.content_weight, 1.75);
	NEAR(s.content, 0.925 / 1.75);
	NEAR(s.score, 3.616190);
	assert_int_equal(s.score_x100, 362);
	assert_true(pps_benefit_unlocked(PPS_BENEFIT_PRIORITY_SAMPLES,
	    s.score_x100));
	assert_false(pps_benefit_unlocked(PPS_BENEFIT_LIVE_GIVEAWAYS,
	    s.score_x100));
	assert_int_equal(pps_drags(&f, T, &p, out, PPS_DRAGS_MAX, &n, reason,
	    sizeof(reason)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].id, "p-mascara");
	NEAR(out[0].points, -0.124056);
	assert_string_equal(out[1].id, "l-1");
	NEAR(out[1].points, -0.024490);
	assert_string_equal(out[2].id, "p-serum");
	NEAR(out[2].points, -0.006222);
	/* seven days earlier: 24 delivered orders, no score, no change */
	assert_int_equal(pps_change(&f, T, PPS_CHANGE_DAYS, &p, &delta, &has,
	    reason, sizeof(reason)), 0);
	assert_false(has);
	assert_int_equal(score(&f, T - 7).category_delivered, 24);
}

/*
 * The SPS at an order's time: the latest reading at or before it, else
 * the earliest after it, across several sources in any order; a tie in
 * force keeps the later source (the batch's own event over the stored).
 */
static void
test_sps_pick(void **state)
{
	const struct pps_sps stored = { 100, 4.0 };
	const struct pps_sps evs[] = { { 300, 2.0 }, { 50, 1.0 }, { 200, 3.0 } };
	const struct pps_sps late[] = { { 900, 4.5 }, { 700, 4.2 } };
	const struct pps_sps tie[] = { { 100, 4.9 } };
	const struct pps_sps *b;

	(void)state;
	assert_null(pps_sps_pick(NULL, NULL, 0, 10));
	b = pps_sps_pick(&stored, evs, 3, 250);
	assert_float_equal(b->sps, 3.0, 0);     /* 200 <= 250 < 300 */
	b = pps_sps_pick(&stored, evs, 3, 1000);
	assert_float_equal(b->sps, 2.0, 0);     /* the latest, 300 */
	b = pps_sps_pick(&stored, evs, 3, 120);
	assert_float_equal(b->sps, 4.0, 0);     /* the stored, 100 */
	b = pps_sps_pick(NULL, evs, 3, 10);
	assert_float_equal(b->sps, 1.0, 0);     /* none in force: 50 */
	b = pps_sps_pick(NULL, late, 2, 10);
	assert_float_equal(b->sps, 4.2, 0);     /* the nearest after */
	b = pps_sps_pick(pps_sps_pick(NULL, late, 2, 800), evs, 3, 800);
	assert_float_equal(b->sps, 4.2, 0);     /* 700 beats every earlier */
	b = pps_sps_pick(&stored, tie, 1, 150);
	assert_float_equal(b->sps, 4.9, 0);
}

/* Dates to day numbers and back. */
static void
test_days(void **state)
{
	char buf[16], reason[128];
	int32_t d;

	(void)state;
	assert_int_equal(pps_day_parse("1970-01-01", &d, reason,
	    sizeof(reason)), 0);
	assert_int_equal(d, 0);
	assert_int_equal(pps_day_parse("2026-06-30", &d, reason,
	    sizeof(reason)), 0);
	assert_int_equal(d, T);
	assert_int_equal(pps_day_parse("2024-02-29", &d, reason,
	    sizeof(reason)), 0);
	pps_day_format(d, buf, sizeof(buf));
	assert_string_equal(buf, "2024-02-29");
	pps_day_format(d + 1, buf, sizeof(buf));
	assert_string_equal(buf, "2024-03-01");
	pps_day_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31");
	assert_int_equal(pps_day_parse("2023-02-29", &d, reason,
	    sizeof(reason)), -1);
	assert_string_equal(reason,
	    "date \"2023-02-29\" must be a day written YYYY-MM-DD");
	assert_int_equal(pps_day_parse("2026-6-30", &d, reason,
	    sizeof(reason)), -1);
	assert_int_equal(pps_day_parse("2026-13-01", &d, reason,
	    sizeof(reason)), -1);
	assert_int_equal(pps_day_parse("0000-01-01", &d, reason,
	    sizeof(reason)), -1);
	assert_int_equal(pps_day_parse("2026-06-30x", &d, reason,
	    sizeof(reason)), -1);
	assert_int_equal(pps_day_parse(NULL, &d, reason, sizeof(reason)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_facts_invalid),
		cmocka_unit_test(test_eligible_category_orders),
		cmocka_unit_test(test_eligible_across_products),
		cmocka_unit_test(test_eligible_spread),
		cmocka_unit_test(test_eligible_window),
		cmocka_unit_test(test_eligible_videos),
		cmocka_unit_test(test_eligible_lives),
		cmocka_unit_test(test_recency),
		cmocka_unit_test(test_shipping_excluded),
		cmocka_unit_test(test_no_reviews_sps),
		cmocka_unit_test(test_removed_content),
		cmocka_unit_test(test_combine),
		cmocka_unit_test(test_change),
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_benefits),
		cmocka_unit_test(test_drags),
		cmocka_unit_test(test_drags_none),
		cmocka_unit_test(test_recommend),
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_sps_pick),
		cmocka_unit_test(test_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
