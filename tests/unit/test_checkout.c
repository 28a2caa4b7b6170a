/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_checkout.c - unit tests of engine/checkout.c: the five tools as
 * offers within a plan's range, each stacking rule of the checkout price
 * with its worked numbers, rounding, the free-order failure, shipping
 * vouchers, claimed vouchers, the guarantee (clamp and withhold), input
 * checks, and the guarantee as a property over 100,000 random cases (the
 * property of tests/bench/guarantee.c, included here).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define GUARANTEE_NO_MAIN
#include "../bench/guarantee.c"

#define T0 1795000000000LL
#define HOUR 3600000LL

/* A line of qty units at list, now T0, range 0..100 %, nothing else. */
static void
line_init(struct checkout_line *l, int64_t list, int64_t qty)
{
	memset(l, 0, sizeof(*l));
	l->now = T0;
	l->list_price = list;
	l->qty = qty;
	l->campaign_price = -1;
	l->min_bps = 0;
	l->max_bps = 10000;
}

/* A seller-side tool of kind with bps and amount (-1: absent). */
static struct checkout_tool
tool(enum checkout_kind kind, int32_t bps, int64_t amount)
{
	struct checkout_tool t;

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.discount_bps = bps;
	t.amount = amount;
	return t;
}

/* A platform promotion of kind with bps, amount and min spend. */
static struct checkout_platform
plat(enum platform_kind kind, int32_t bps, int64_t amount, int64_t min_spend)
{
	struct checkout_platform t;

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.discount_bps = bps;
	t.amount = amount;
	t.min_spend = min_spend;
	return t;
}

/* Price l, which must be accepted, and check the costs add up. */
static void
calc(const struct checkout_line *l, struct checkout_result *r)
{
	char err[160] = "";

	if (checkout_calc(l, r, err, sizeof(err)) == -1)
		fail_msg("refused: %s", err);
	assert_int_equal(r->seller_unit + r->platform_unit,
	    l->list_price - r->unit_price);
	assert_int_equal(r->seller_line + r->platform_line,
	    l->list_price * l->qty - r->line_paid);
	assert_int_equal(r->line_paid, r->unit_price * l->qty);
}

/* The number of steps of kind k from origin o in r. */
static int
steps_of(const struct checkout_result *r, enum checkout_step_kind k,
    enum checkout_origin o)
{
	int n = 0;

	for (int i = 0; i < r->nsteps; i++)
		n += r->steps[i].kind == k && r->steps[i].origin == o;
	return n;
}

/* The per-unit off of the first step of kind k in r, -1 if none. */
static int64_t
step_off(const struct checkout_result *r, enum checkout_step_kind k)
{
	for (int i = 0; i < r->nsteps; i++)
		if (r->steps[i].kind == k)
			return r->steps[i].unit_off;
	return -1;
}

/* A shape of kind. */
static struct checkout_tool
shape(enum checkout_kind kind)
{
	return tool(kind, -1, -1);
}

/* ---- the tools as offers ------------------------------------------------ */

/* list 10000, level 11.25 % in 5-30 % -> 1125 off, offer_price 8875. */
static void
test_offer_product_discount(void **state)
{
	struct checkout_tool s = shape(CHECKOUT_PRODUCT_DISCOUNT);
	struct checkout_offer o;

	(void)state;
	assert_int_equal(checkout_offer_make(&s, 10000, 1125, 500, 3000, T0,
	    T0 + 24 * HOUR, &o), 0);
	assert_int_equal(o.tool.kind, CHECKOUT_PRODUCT_DISCOUNT);
	assert_int_equal(o.tool.amount, 1125);
	assert_int_equal(o.offer_price, 8875);
	assert_int_equal(o.discount_bps, 1125);
	assert_int_equal(o.min_spend, 0);
	assert_int_equal(o.min_qty, 0);
	assert_int_equal(o.expires_at, T0 + 24 * HOUR);
	/* level 50 % above the max 30 % -> 3000 off; below the min -> 500 */
	assert_int_equal(checkout_offer_make(&s, 10000, 5000, 500, 3000, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.offer_price, 7000);
	assert_int_equal(checkout_offer_make(&s, 10000, 100, 500, 3000, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.offer_price, 9500);
}

/*
 * Rounding of an offer: list 999 at 12.5 % -> 124.875 rounds down to 124,
 * offer_price 875, discount_bps 1241 (what 124 really is, rounded down).
 * list 3 in 5-10 %: no whole amount fits -> no offer.
 */
static void
test_offer_rounding(void **state)
{
	struct checkout_tool s = shape(CHECKOUT_PRODUCT_DISCOUNT);
	struct checkout_offer o;

	(void)state;
	assert_int_equal(checkout_offer_make(&s, 999, 1250, 0, 3000, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.tool.amount, 124);
	assert_int_equal(o.offer_price, 875);
	assert_int_equal(o.discount_bps, 1241);
	assert_int_equal(checkout_offer_make(&s, 3, 700, 500, 1000, T0,
	    T0 + HOUR, &o), -1);
	/* 5 % of 30 is 1.5: 1 would be below the min, so 2 (inward) */
	assert_int_equal(checkout_offer_make(&s, 30, 500, 500, 1000, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.tool.amount, 2);
	assert_int_equal(checkout_offer_make(&s, 0, 500, 500, 1000, T0,
	    T0 + HOUR, &o), -1);
}

/*
 * Flash sale: list 10000 at 20 %, 2 units per buyer, 100 in total, a 2 h
 * box inside a 24 h offer -> 8000 each, expires at T0 + 2 h; 3 units is
 * over the cap and the line is priced without it; after the box, list.
 */
static void
test_offer_flash_sale(void **state)
{
	struct checkout_tool s = shape(CHECKOUT_FLASH_SALE);
	struct checkout_offer o;
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	s.cap.per_buyer = 2;
	s.cap.total = 100;
	s.window.end = 2 * HOUR;
	assert_int_equal(checkout_offer_make(&s, 10000, 2000, 500, 3000, T0,
	    T0 + 24 * HOUR, &o), 0);
	assert_int_equal(o.offer_price, 8000);
	assert_int_equal(o.expires_at, T0 + 2 * HOUR);
	assert_int_equal(o.tool.cap.per_buyer, 2);
	line_init(&l, 10000, 2);
	l.offers = &o.tool;
	l.noffers = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8000);
	assert_int_equal(steps_of(&r, CHECKOUT_STEP_FLASH_SALE,
	    CHECKOUT_OFFER), 1);
	l.qty = 3;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 10000);
	assert_true(r.notes & CHECKOUT_NOTE_FLASH_CAP);
	assert_int_equal(checkout_flash_units(&o.tool.cap, 3), 2);
	o.tool.cap.used_total = 99;     /* one unit left in total */
	assert_int_equal(checkout_flash_units(&o.tool.cap, 3), 1);
	o.tool.cap.used_total = 0;
	l.qty = 2;
	l.now = T0 + 2 * HOUR;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 10000);
}

/*
 * Voucher: list 10000, 2 units of min spend, level 15 % in 5-20 % ->
 * min_spend 20000, 3000 off (15 % of the spend, <= 20 %), offer_price
 * 8500.  1 unit alone: spend not met; 2 units: 1500 off each; 1 unit with
 * 10000 of other lines: its share 1500; 5 units: 600 each.
 */
static void
test_offer_voucher(void **state)
{
	struct checkout_tool s = shape(CHECKOUT_VOUCHER);
	struct checkout_offer o;
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	s.min_qty = 2;
	assert_int_equal(checkout_offer_make(&s, 10000, 1500, 500, 2000, T0,
	    T0 + 24 * HOUR, &o), 0);
	assert_int_equal(o.min_spend, 20000);
	assert_int_equal(o.tool.min_spend, 20000);
	assert_int_equal(o.tool.amount, 3000);
	assert_int_equal(o.offer_price, 8500);
	assert_int_equal(o.discount_bps, 1500);
	line_init(&l, 10000, 1);
	l.min_bps = 500;
	l.max_bps = 2000;
	l.offers = &o.tool;
	l.noffers = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 10000);
	assert_true(r.notes & CHECKOUT_NOTE_MIN_SPEND);
	l.qty = 2;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8500);
	l.qty = 1;
	l.other_spend = 10000;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8500);
	l.qty = 5;
	l.other_spend = 0;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 9400);
	assert_int_equal(r.guard, CHECKOUT_GUARD_OK);
}

/* The voucher above at every quantity 1..30 and basket: <= 20 % a unit. */
static void
test_offer_voucher_any_basket(void **state)
{
	struct checkout_tool s = shape(CHECKOUT_VOUCHER);
	struct checkout_offer o;
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	s.min_qty = 2;
	assert_int_equal(checkout_offer_make(&s, 9999, 2000, 500, 2000, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.tool.amount, 3999);  /* 20 % of 19998, down */
	line_init(&l, 9999, 1);
	l.max_bps = 2000;
	l.offers = &o.tool;
	l.noffers = 1;
	for (l.qty = 1; l.qty <= 30; l.qty++)
		for (l.other_spend = 0; l.other_spend <= 40000;
		    l.other_spend += 777) {
			calc(&l, &r);
			assert_true(r.seller_unit <= 1999);
			assert_int_equal(r.guard, CHECKOUT_GUARD_OK);
		}
}

/*
 * bmsm: tiers shaped 2+ units at half depth, 3+ at full, level 10 % ->
 * 2+ units 5 %, 3+ units 10 %; min_qty 3, offer_price 9000.  1 unit:
 * 10000; 2: 9500; 3 and 10: 9000.  A level of 40 % with max 15 % gives a
 * deepest tier of 15 %; a shallow tier never goes below the min (3 %).
 */
static void
test_offer_bmsm(void **state)
{
	struct checkout_tool s = shape(CHECKOUT_BMSM);
	struct checkout_offer o;
	struct checkout_line l;
	struct checkout_result r;
	const int64_t qty[] = { 1, 2, 3, 10 }, price[] = { 10000, 9500, 9000,
	    9000 };

	(void)state;
	s.ntiers = 2;
	s.tiers[0] = (struct checkout_tier){ 2, 5000, -1 };
	s.tiers[1] = (struct checkout_tier){ 3, 10000, -1 };
	assert_int_equal(checkout_offer_make(&s, 10000, 1000, 0, 1500, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.tool.tiers[0].bps, 500);
	assert_int_equal(o.tool.tiers[1].bps, 1000);
	assert_int_equal(o.min_qty, 3);
	assert_int_equal(o.offer_price, 9000);
	assert_int_equal(o.discount_bps, 1000);
	line_init(&l, 10000, 1);
	l.max_bps = 1500;
	l.offers = &o.tool;
	l.noffers = 1;
	for (int i = 0; i < 4; i++) {
		l.qty = qty[i];
		calc(&l, &r);
		assert_int_equal(r.unit_price, price[i]);
	}
	assert_int_equal(checkout_offer_make(&s, 10000, 4000, 300, 1500, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.tool.tiers[1].bps, 1500);
	s.tiers[0].bps = 1000;          /* a tenth of the depth: 150 < 300 */
	assert_int_equal(checkout_offer_make(&s, 10000, 1500, 300, 1500, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.tool.tiers[0].bps, 300);
	s.ntiers = 0;                   /* default: one tier from 2 units */
	assert_int_equal(checkout_offer_make(&s, 10000, 800, 0, 1500, T0,
	    T0 + HOUR, &o), 0);
	assert_int_equal(o.tool.ntiers, 1);
	assert_int_equal(o.min_qty, 2);
	assert_int_equal(o.offer_price, 9200);
}

/* New-customer discount, 15 %: a returning buyer pays 10000, a new 8500. */
static void
test_new_customer_discount(void **state)
{
	struct checkout_tool s = shape(CHECKOUT_NEW_CUSTOMER_DISCOUNT);
	struct checkout_offer o;
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	assert_int_equal(checkout_offer_make(&s, 10000, 1500, 0, 2000, T0,
	    T0 + HOUR, &o), 0);
	line_init(&l, 10000, 1);
	l.offers = &o.tool;
	l.noffers = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 10000);
	assert_true(r.notes & CHECKOUT_NOTE_NOT_NEW);
	assert_false(r.offer_used);
	l.new_customer = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8500);
	assert_true(r.offer_used);
}

/*
 * A tie goes to the seller's own promotion: own 15 % and an offer of 1500
 * off -> 8500 from the own, the offer credited with nothing.
 */
static void
test_tie_goes_to_own(void **state)
{
	struct checkout_tool s = tool(CHECKOUT_PRODUCT_DISCOUNT, 1500, -1);
	struct checkout_tool o = tool(CHECKOUT_PRODUCT_DISCOUNT, -1, 1500);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.seller = &s;
	l.nseller = 1;
	l.offers = &o;
	l.noffers = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8500);
	assert_false(r.offer_used);
	assert_int_equal(steps_of(&r, CHECKOUT_STEP_SELLER_DISCOUNT,
	    CHECKOUT_OWN), 1);
	o.amount = 1501;
	calc(&l, &r);
	assert_true(r.offer_used);
	assert_int_equal(r.steps[0].origin, CHECKOUT_OFFER);
}

/* ---- the stacking rules ------------------------------------------------- */

/*
 * Shipping first, never below 0: fee 1500, platform shipping voucher 3000
 * -> 1500 off, 0 charged, the merchandise untouched (10000); 50 % capped
 * at 800 of a 2000 fee -> 800 off, 1200 charged.
 */
static void
test_shipping_voucher(void **state)
{
	struct checkout_platform p = plat(PLATFORM_SHIPPING_VOUCHER, -1, 3000,
	    0);
	struct checkout_tool s;
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.shipping = 1500;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.shipping_fee, 1500);
	assert_int_equal(r.shipping_off, 1500);
	assert_int_equal(r.shipping_charged, 0);
	assert_int_equal(r.unit_price, 10000);
	assert_int_equal(r.platform_unit, 0);
	assert_int_equal(r.steps[0].kind, CHECKOUT_STEP_SHIPPING_VOUCHER);
	assert_int_equal(r.steps[0].line_off, 1500);
	p = plat(PLATFORM_SHIPPING_VOUCHER, 5000, 800, 0);
	l.shipping = 2000;
	calc(&l, &r);
	assert_int_equal(r.shipping_off, 800);
	assert_int_equal(r.shipping_charged, 1200);
	p.min_spend = 9500;             /* spend after seller promotions: */
	s = tool(CHECKOUT_PRODUCT_DISCOUNT, 1000, -1);  /* 9000, not met */
	l.seller = &s;
	l.nseller = 1;
	calc(&l, &r);
	assert_int_equal(r.shipping_charged, 2000);
	assert_true(r.notes & CHECKOUT_NOTE_MIN_SPEND);
	p.min_spend = 9000;
	calc(&l, &r);
	assert_int_equal(r.shipping_charged, 1200);
}

/*
 * Seller before platform, each on the running price: list 10000, seller
 * discount 20 % -> 8000, platform fixed 10 % of 8000 = 800 -> 7200 (not
 * 10 % of list); seller funds 2000, platform 800.
 */
static void
test_seller_before_platform(void **state)
{
	struct checkout_tool s = tool(CHECKOUT_PRODUCT_DISCOUNT, 2000, -1);
	struct checkout_platform p = plat(PLATFORM_FIXED_DISCOUNT, 1000, -1, 0);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 3);
	l.seller = &s;
	l.nseller = 1;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 7200);
	assert_int_equal(r.seller_unit, 2000);
	assert_int_equal(r.platform_unit, 800);
	assert_int_equal(r.seller_line, 6000);
	assert_int_equal(r.platform_line, 2400);
	assert_int_equal(r.line_paid, 21600);
	assert_int_equal(r.nsteps, 2);
	assert_int_equal(r.steps[0].kind, CHECKOUT_STEP_SELLER_DISCOUNT);
	assert_int_equal(r.steps[1].kind, CHECKOUT_STEP_PLATFORM_FIXED);
	assert_int_equal(r.steps[1].line_off, 2400);
}

/*
 * Seller price priority, never stacked: list 10000, campaign 7500, flash
 * sale 30 % (7000), seller discount 40 % (6000) -> campaign 7500; no
 * campaign -> flash 7000 though the discount is deeper; neither -> 6000.
 */
static void
test_seller_price_priority(void **state)
{
	struct checkout_tool s[2] = { tool(CHECKOUT_PRODUCT_DISCOUNT, 4000, -1),
	    tool(CHECKOUT_FLASH_SALE, 3000, -1) };
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.seller = s;
	l.nseller = 2;
	l.campaign_price = 7500;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 7500);
	assert_int_equal(r.nsteps, 1);
	assert_int_equal(r.steps[0].kind, CHECKOUT_STEP_CAMPAIGN);
	assert_int_equal(r.steps[0].index, -1);
	l.campaign_window = (struct checkout_window){ T0 - 2 * HOUR,
	    T0 - HOUR };                /* the campaign is over */
	calc(&l, &r);
	assert_int_equal(r.unit_price, 7000);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_FLASH_SALE), 3000);
	l.campaign_price = -1;
	l.nseller = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 6000);
	/* two seller discounts: the deeper one, never both (30 % vs 40 %) */
	s[1] = tool(CHECKOUT_PRODUCT_DISCOUNT, 3000, -1);
	l.nseller = 2;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 6000);
	assert_int_equal(r.nsteps, 1);
	/* a campaign price above list is held at list */
	l.campaign_price = 12000;
	l.campaign_window = (struct checkout_window){ 0, 0 };
	calc(&l, &r);
	assert_int_equal(r.unit_price, 10000);
}

/*
 * list 10000, flash 7000, platform fixed 500 -> only flash shows: 7000.
 * A campaign 7000 with the same fixed 500 -> 6500 (they combine).
 */
static void
test_no_fixed_discount_with_flash(void **state)
{
	struct checkout_tool s = tool(CHECKOUT_FLASH_SALE, -1, 3000);
	struct checkout_platform p = plat(PLATFORM_FIXED_DISCOUNT, -1, 500, 0);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.seller = &s;
	l.nseller = 1;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 7000);
	assert_int_equal(r.platform_unit, 0);
	assert_true(r.notes & CHECKOUT_NOTE_FIXED_BLOCKED);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_PLATFORM_FIXED), -1);
	l.nseller = 0;
	l.campaign_price = 7000;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 6500);
	assert_int_equal(r.platform_unit, 500);
	assert_false(r.notes & CHECKOUT_NOTE_FIXED_BLOCKED);
}

/*
 * Platform voucher min spend is checked after seller promotions: list
 * 10000, seller 20 % -> 8000; voucher 1000 off from 9000 -> not met
 * (although list is 10000): 8000; from 8000 -> met: 7000.
 */
static void
test_platform_voucher_min_spend(void **state)
{
	struct checkout_tool s = tool(CHECKOUT_PRODUCT_DISCOUNT, 2000, -1);
	struct checkout_platform p = plat(PLATFORM_PRODUCT_VOUCHER, -1, 1000,
	    9000);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.seller = &s;
	l.nseller = 1;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8000);
	assert_true(r.notes & CHECKOUT_NOTE_MIN_SPEND);
	p.min_spend = 8000;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 7000);
	assert_int_equal(r.platform_unit, 1000);
	/* other lines of the shop count toward the spend: 8000 + 1000 */
	p.min_spend = 9000;
	l.other_spend = 1000;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8000 - 1000 * 8000 / 9000);
}

/*
 * Platform bmsm stacks with every seller promotion, on the running price:
 * list 10000 x 2, campaign 9000, seller bmsm 2+ 10 % (900) -> 8100,
 * seller voucher 5 % (405) -> 7695, platform bmsm 2+ 10 % (769) -> 6926,
 * platform voucher 100 off the line (50 a unit) -> 6876.
 */
static void
test_full_stack(void **state)
{
	struct checkout_tool s[2] = { tool(CHECKOUT_BMSM, -1, -1),
	    tool(CHECKOUT_VOUCHER, 500, -1) };
	struct checkout_platform p[2] = { plat(PLATFORM_BMSM, -1, -1, 0),
	    plat(PLATFORM_PRODUCT_VOUCHER, -1, 100, 0) };
	struct checkout_line l;
	struct checkout_result r;
	const enum checkout_step_kind want[] = { CHECKOUT_STEP_CAMPAIGN,
	    CHECKOUT_STEP_SELLER_BMSM, CHECKOUT_STEP_SELLER_VOUCHER,
	    CHECKOUT_STEP_PLATFORM_BMSM, CHECKOUT_STEP_PLATFORM_VOUCHER };
	const int64_t off[] = { 1000, 900, 405, 769, 50 };

	(void)state;
	s[0].ntiers = 1;
	s[0].tiers[0] = (struct checkout_tier){ 2, 1000, -1 };
	p[0].ntiers = 1;
	p[0].tiers[0] = (struct checkout_tier){ 2, 1000, -1 };
	line_init(&l, 10000, 2);
	l.campaign_price = 9000;
	l.seller = s;
	l.nseller = 2;
	l.platform = p;
	l.nplatform = 2;
	calc(&l, &r);
	assert_int_equal(r.nsteps, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r.steps[i].kind, want[i]);
		assert_int_equal(r.steps[i].unit_off, off[i]);
	}
	assert_int_equal(r.unit_price, 6876);
	assert_int_equal(r.seller_unit, 2305);
	assert_int_equal(r.platform_unit, 819);
	l.qty = 1;                      /* below the tiers: only vouchers */
	calc(&l, &r);
	assert_int_equal(r.unit_price, 9000 - 450 - 100);
}

/*
 * The free-order failure: list 10000 x 2, seller 50 % and platform voucher
 * 50 %.  Each on the original total would be 10000 + 10000 off = free;
 * on the running price: 20000 -> 10000 -> 5000 paid.
 */
static void
test_free_order_failure(void **state)
{
	struct checkout_tool s = tool(CHECKOUT_PRODUCT_DISCOUNT, 5000, -1);
	struct checkout_platform p = plat(PLATFORM_PRODUCT_VOUCHER, 5000, -1,
	    0);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 2);
	l.seller = &s;
	l.nseller = 1;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.line_paid, 5000);
	assert_int_equal(r.seller_line, 10000);
	assert_int_equal(r.platform_line, 5000);
	/* an amount larger than what is left stops at 0, never below */
	s.discount_bps = 9000;
	p = plat(PLATFORM_FIXED_DISCOUNT, -1, 5000, 0);
	calc(&l, &r);
	assert_int_equal(r.unit_price, 0);
	assert_int_equal(r.platform_unit, 1000);
	assert_int_equal(r.seller_unit, 9000);
}

/*
 * Rounding down: list 999 x 3, seller 12.5 % -> 124 off (124.875), 875;
 * a seller voucher of 1000 on the 2625 line -> 333 a unit (1000 / 3),
 * 542; the buyer gets 999 of the 1000.  A 10 % platform voucher on a
 * basket of 1000 + 3000 other -> 400, this line's share 100.
 */
static void
test_rounding(void **state)
{
	struct checkout_tool s[2] = { tool(CHECKOUT_PRODUCT_DISCOUNT, 1250, -1),
	    tool(CHECKOUT_VOUCHER, -1, 1000) };
	struct checkout_platform p = plat(PLATFORM_PRODUCT_VOUCHER, 1000, -1,
	    0);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 999, 3);
	l.seller = s;
	l.nseller = 2;
	calc(&l, &r);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_DISCOUNT), 124);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_VOUCHER), 333);
	assert_int_equal(r.unit_price, 542);
	assert_int_equal(r.seller_line, 1371);
	line_init(&l, 1000, 1);
	l.other_spend = 3000;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 900);
	/* 7 % of 1 is 0.07: nothing, never a negative or a rounding up */
	line_init(&l, 1, 1);
	p.discount_bps = 700;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 1);
	assert_int_equal(checkout_off(1000, 1500, 120), 120);
	assert_int_equal(checkout_off(1000, 1500, -1), 150);
	assert_int_equal(checkout_off(1000, -1, 5000), 1000);
	assert_int_equal(checkout_off(1000, -1, -1), 0);
}

/* One seller voucher and one platform voucher, the best of each. */
static void
test_one_voucher_each(void **state)
{
	struct checkout_tool s[2] = { tool(CHECKOUT_VOUCHER, -1, 300),
	    tool(CHECKOUT_VOUCHER, -1, 700) };
	struct checkout_platform p[2] = {
	    plat(PLATFORM_PRODUCT_VOUCHER, 1000, -1, 0),
	    plat(PLATFORM_PRODUCT_VOUCHER, -1, 500, 0) };
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.seller = s;
	l.nseller = 2;
	l.platform = p;
	l.nplatform = 2;
	calc(&l, &r);
	/* 10000 - 700 = 9300; 10 % of 9300 = 930 beats 500 -> 8370 */
	assert_int_equal(r.unit_price, 8370);
	assert_int_equal(r.nsteps, 2);
	assert_int_equal(r.steps[0].index, 1);
	assert_int_equal(r.steps[1].index, 0);
}

/*
 * Windows: a promotion outside its window does not apply.  A claimed
 * voucher stays usable until its expiry whether or not its plan runs; a
 * cancelled or fully refunded order gives it back while unexpired.
 */
static void
test_windows_and_claims(void **state)
{
	struct checkout_tool s = tool(CHECKOUT_PRODUCT_DISCOUNT, 1000, -1);
	struct checkout_claim c = { T0, T0 + 48 * HOUR, 0 };
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.seller = &s;
	l.nseller = 1;
	s.window = (struct checkout_window){ T0 + HOUR, T0 + 2 * HOUR };
	calc(&l, &r);
	assert_int_equal(r.unit_price, 10000);
	l.now = T0 + HOUR;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 9000);
	l.now = T0 + 2 * HOUR;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 10000);
	assert_true(checkout_claim_usable(&c, T0 + 40 * HOUR));
	assert_false(checkout_claim_usable(&c, T0 + 48 * HOUR));
	c.used = 1;
	assert_false(checkout_claim_usable(&c, T0 + HOUR));
	assert_int_equal(checkout_claim_return(&c, ORDER_DELIVERED, 0, T0), 0);
	assert_int_equal(checkout_claim_return(&c, ORDER_REFUNDED, 0, T0), 0);
	assert_int_equal(checkout_claim_return(&c, ORDER_CANCELLED, 0,
	    T0 + 48 * HOUR), 0);
	assert_true(c.used);
	assert_int_equal(checkout_claim_return(&c, ORDER_REFUNDED, 1, T0), 1);
	assert_true(checkout_claim_usable(&c, T0 + HOUR));
	c.used = 1;
	assert_int_equal(checkout_claim_return(&c, ORDER_CANCELLED, 0, T0), 1);
	assert_false(c.used);
	assert_int_equal(checkout_claim_return(&c, ORDER_CANCELLED, 0, T0), 0);
}

/* ---- the guarantee ------------------------------------------------------ */

/*
 * Within the max: list 10000, max 20 %, offer 15 % and a 50 % platform
 * fixed discount -> seller 1500, platform 4250 (platform money is not
 * the seller's): guard ok.
 */
static void
test_guarantee_platform_not_seller(void **state)
{
	struct checkout_tool o = tool(CHECKOUT_PRODUCT_DISCOUNT, -1, 1500);
	struct checkout_platform p = plat(PLATFORM_FIXED_DISCOUNT, 5000, -1, 0);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.max_bps = 2000;
	l.offers = &o;
	l.noffers = 1;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.guard, CHECKOUT_GUARD_OK);
	assert_int_equal(r.seller_unit, 1500);
	assert_int_equal(r.platform_unit, 4250);
	assert_int_equal(r.cap_unit, 2000);
	assert_true(r.offer_used);
}

/*
 * Clamp: list 10000, max 20 % (2000); the seller's own voucher 10 % and
 * an offer of 1500 off.  Together 1500 + 850 = 2350 > 2000; the own
 * voucher alone is 1000 < 2000, so the offer gives 350 less: 1150 + 850,
 * price 8000, guard clamped, 350 taken back.
 */
static void
test_guarantee_clamp(void **state)
{
	struct checkout_tool s = tool(CHECKOUT_VOUCHER, 1000, -1);
	struct checkout_tool o = tool(CHECKOUT_PRODUCT_DISCOUNT, -1, 1500);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.max_bps = 2000;
	l.seller = &s;
	l.nseller = 1;
	l.offers = &o;
	l.noffers = 1;
	calc(&l, &r);
	assert_int_equal(r.guard, CHECKOUT_GUARD_CLAMPED);
	assert_int_equal(r.clamped_unit, 350);
	assert_int_equal(r.seller_unit, 2000);
	assert_int_equal(r.unit_price, 8000);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_DISCOUNT), 1150);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_VOUCHER), 850);
	assert_true(r.offer_used);
	assert_string_equal(checkout_guard_name(r.guard), "clamped");
}

/*
 * Withhold: a campaign is seller-funded.  list 10000 x 2, max 20 %,
 * campaign 7000 (30 % alone) and a bmsm offer 2+ 10 % -> the offer adds
 * nothing: 7000, withheld, own promotions over the max.  Campaign 8000
 * (exactly the max): withheld too.  Campaign 9000: 9000 - 900 = 8100,
 * seller 1900, ok.  Campaign 8500 with a 20 % bmsm: 1700 -> clamped to
 * 500, 8000.
 */
static void
test_guarantee_campaign(void **state)
{
	struct checkout_tool shp = shape(CHECKOUT_BMSM);
	struct checkout_offer o;
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	assert_int_equal(checkout_offer_make(&shp, 10000, 1000, 0, 2000, T0,
	    T0 + HOUR, &o), 0);
	line_init(&l, 10000, 2);
	l.max_bps = 2000;
	l.offers = &o.tool;
	l.noffers = 1;
	l.campaign_price = 7000;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 7000);
	assert_int_equal(r.guard, CHECKOUT_GUARD_WITHHELD);
	assert_true(r.notes & CHECKOUT_NOTE_SELLER_OVER_MAX);
	assert_false(r.offer_used);
	assert_int_equal(r.seller_unit, 3000);
	assert_int_equal(steps_of(&r, CHECKOUT_STEP_SELLER_BMSM,
	    CHECKOUT_OFFER), 0);
	l.campaign_price = 8000;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8000);
	assert_int_equal(r.guard, CHECKOUT_GUARD_WITHHELD);
	assert_false(r.notes & CHECKOUT_NOTE_SELLER_OVER_MAX);
	l.campaign_price = 9000;
	calc(&l, &r);
	assert_int_equal(r.unit_price, 8100);
	assert_int_equal(r.guard, CHECKOUT_GUARD_OK);
	assert_int_equal(checkout_offer_make(&shp, 10000, 2000, 0, 2000, T0,
	    T0 + HOUR, &o), 0);
	l.campaign_price = 8500;
	calc(&l, &r);
	assert_int_equal(r.guard, CHECKOUT_GUARD_CLAMPED);
	assert_int_equal(r.unit_price, 8000);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_BMSM), 500);
}

/*
 * Concurrent offers, clamped last first: list 10000, max 20 %; offers of
 * 1500 off, bmsm 2+ 10 % and a voucher of 500 -> 1500 + 850 + 500 = 2850;
 * 850 comes back: from the voucher (500), then the bmsm (350 of 850).
 */
static void
test_guarantee_concurrent(void **state)
{
	struct checkout_tool o[3] = { tool(CHECKOUT_PRODUCT_DISCOUNT, -1, 1500),
	    tool(CHECKOUT_BMSM, -1, -1), tool(CHECKOUT_VOUCHER, -1, 1000) };
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	o[1].ntiers = 1;
	o[1].tiers[0] = (struct checkout_tier){ 2, 1000, -1 };
	line_init(&l, 10000, 2);
	l.max_bps = 2000;
	l.offers = o;
	l.noffers = 3;
	calc(&l, &r);
	assert_int_equal(r.guard, CHECKOUT_GUARD_CLAMPED);
	assert_int_equal(r.clamped_unit, 850);
	assert_int_equal(r.seller_unit, 2000);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_DISCOUNT), 1500);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_BMSM), 500);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_VOUCHER), 0);
	assert_int_equal(r.seller_line, 4000);
}

/*
 * An offer replacing the seller's own discount: own 15 % and own voucher
 * 10 %, offer 3000 off (it beats the 1500): 3000 + 700 = 3700.  Max 25 %:
 * own alone 1500 + 850 = 2350 < 2500, so clamp 1200 from the offer ->
 * 1800 + 700, seller 2500.  Max 20 %: own alone is over it -> withheld,
 * the own promotions keep their 2350.
 */
static void
test_guarantee_withhold_own_over(void **state)
{
	struct checkout_tool s[2] = { tool(CHECKOUT_PRODUCT_DISCOUNT, 1500, -1),
	    tool(CHECKOUT_VOUCHER, 1000, -1) };
	struct checkout_tool o = tool(CHECKOUT_PRODUCT_DISCOUNT, -1, 3000);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 10000, 1);
	l.max_bps = 2500;
	l.seller = s;
	l.nseller = 2;
	l.offers = &o;
	l.noffers = 1;
	calc(&l, &r);
	assert_int_equal(r.guard, CHECKOUT_GUARD_CLAMPED);
	assert_int_equal(r.clamped_unit, 1200);
	assert_int_equal(r.seller_unit, 2500);
	assert_int_equal(steps_of(&r, CHECKOUT_STEP_SELLER_DISCOUNT,
	    CHECKOUT_OFFER), 1);
	assert_int_equal(step_off(&r, CHECKOUT_STEP_SELLER_DISCOUNT), 1800);
	l.max_bps = 2000;
	calc(&l, &r);
	assert_int_equal(r.guard, CHECKOUT_GUARD_WITHHELD);
	assert_int_equal(r.seller_unit, 2350);
	assert_int_equal(steps_of(&r, CHECKOUT_STEP_SELLER_DISCOUNT,
	    CHECKOUT_OWN), 1);
	assert_true(r.notes & CHECKOUT_NOTE_SELLER_OVER_MAX);
	/* without offers nothing is guarded, whatever the range says */
	l.noffers = 0;
	calc(&l, &r);
	assert_int_equal(r.guard, CHECKOUT_GUARD_OK);
	assert_int_equal(r.seller_unit, 2350);
}

/* ---- inputs and big numbers --------------------------------------------- */

/* Out-of-range inputs are refused with the field named. */
static void
test_invalid_input(void **state)
{
	struct checkout_tool s = tool(CHECKOUT_BMSM, -1, -1);
	struct checkout_platform p = plat(PLATFORM_FIXED_DISCOUNT, 10001, -1,
	    0);
	struct checkout_line l;
	struct checkout_result r;
	char err[160];

	(void)state;
	line_init(&l, 10000, 0);
	assert_int_equal(checkout_calc(&l, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "\"qty\" must be 1 to 100000");
	l.qty = 1;
	l.seller = &s;
	l.nseller = 1;
	assert_int_equal(checkout_calc(&l, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "seller 0: \"tiers\" must have 1 to 4 "
	    "elements");
	l.nseller = 0;
	l.platform = &p;
	l.nplatform = 1;
	assert_int_equal(checkout_calc(&l, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "platform 0: \"discount_bps\" must be -1 to "
	    "10000");
	l.nplatform = 0;
	l.max_bps = 100;
	l.min_bps = 200;
	assert_int_equal(checkout_calc(&l, &r, err, sizeof(err)), -1);
	l.min_bps = 0;
	l.list_price = -1;
	assert_int_equal(checkout_calc(&l, &r, err, sizeof(err)), -1);
	l.list_price = 10;
	l.noffers = 1;                  /* a count without an array */
	assert_int_equal(checkout_calc(&l, &r, err, sizeof(err)), -1);
}

/*
 * Exact at the largest sizes (products beyond 64 bits): list
 * 999999999999 x 99999 with 12345678901234567 of other lines and a
 * 12.34 % platform voucher -> 123399999999 off a unit (checked with
 * arbitrary precision).
 */
static void
test_big_values(void **state)
{
	struct checkout_platform p = plat(PLATFORM_PRODUCT_VOUCHER, 1234, -1,
	    0);
	struct checkout_line l;
	struct checkout_result r;

	(void)state;
	line_init(&l, 999999999999LL, 99999);
	l.other_spend = 12345678901234567LL;
	l.platform = &p;
	l.nplatform = 1;
	calc(&l, &r);
	assert_int_equal(r.platform_unit, 123399999999LL);
	assert_int_equal(r.unit_price, 876600000000LL);
	l.other_spend = CHECKOUT_SPEND_MAX;
	l.list_price = CHECKOUT_MONEY_MAX;
	l.qty = CHECKOUT_QTY_MAX;
	calc(&l, &r);
	assert_int_equal(r.platform_unit, 123400000000LL);
	assert_int_equal(checkout_off(99999999999999999LL, 1234, -1),
	    12339999999999999LL);
}

/*
 * Rounding inward at the largest sizes: a voucher of 1001 units of
 * 999999999999 (spend 1000999999998999) in 99.98-99.99 %: the min rounds
 * up to 1000799799999000, the max down; in 99.99-99.99 % nothing fits.
 */
static void
test_big_offer(void **state)
{
	struct checkout_tool s = shape(CHECKOUT_VOUCHER);
	struct checkout_offer o;

	(void)state;
	s.min_qty = 1001;
	assert_int_equal(checkout_offer_make(&s, 999999999999LL, 9998, 9998,
	    9999, T0, T0 + HOUR, &o), 0);
	assert_int_equal(o.min_spend, 1000999999998999LL);
	assert_int_equal(o.tool.amount, 1000799799999000LL);
	assert_int_equal(checkout_offer_make(&s, 999999999999LL, 9999, 9999,
	    9999, T0, T0 + HOUR, &o), -1);
}

/* Wire names of kinds, steps and guards. */
static void
test_names(void **state)
{
	enum checkout_kind k;

	(void)state;
	for (int i = 0; i < CHECKOUT__KINDS; i++) {
		assert_int_equal(checkout_kind_parse(checkout_kind_name(
		    (enum checkout_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_string_equal(checkout_kind_name(CHECKOUT_BMSM), "bmsm");
	assert_int_equal(checkout_kind_parse("coupon", &k), -1);
	assert_string_equal(checkout_step_name(CHECKOUT_STEP_PLATFORM_VOUCHER),
	    "platform_voucher");
	assert_string_equal(checkout_guard_name(CHECKOUT_GUARD_WITHHELD),
	    "withheld");
}

/* ---- the property ------------------------------------------------------- */

/*
 * 100,000 random plans, products, promotions and baskets (seed 20261122):
 * the guarantee, no price negative or above list, costs add up exactly.
 */
static void
test_property(void **state)
{
	struct guarantee_tally t;

	(void)state;
	memset(&t, 0, sizeof(t));
	guarantee_run(20261122, 100000, &t);
	assert_int_equal(t.cases, 100000);
	assert_int_equal(t.violations, 0);
	assert_int_equal(t.negative, 0);
	assert_int_equal(t.above_list, 0);
	assert_int_equal(t.mismatch, 0);
	/* the cases reach every outcome of the guard */
	assert_true(t.offer_used > 10000);
	assert_true(t.clamped > 1000);
	assert_true(t.withheld > 1000);
}

/* The property's checks catch a wrong result (they can fail). */
static void
test_property_can_fail(void **state)
{
	struct checkout_tool o = tool(CHECKOUT_PRODUCT_DISCOUNT, -1, 1500);
	struct checkout_line l;
	struct checkout_result r, base, bad;
	struct guarantee_tally t;

	(void)state;
	line_init(&l, 10000, 2);
	l.max_bps = 2000;
	l.offers = &o;
	l.noffers = 1;
	calc(&l, &r);
	l.noffers = 0;
	calc(&l, &base);
	l.noffers = 1;
	memset(&t, 0, sizeof(t));
	guarantee_check(&l, &r, &base, &t);
	assert_int_equal(t.violations + t.negative + t.above_list +
	    t.mismatch, 0);
	bad = r;                        /* the seller over the max */
	bad.seller_unit = 2100;
	bad.seller_line = 4200;
	bad.unit_price = 7900;
	bad.line_paid = 15800;
	guarantee_check(&l, &bad, &base, &t);
	assert_int_equal(t.violations, 1);
	assert_int_equal(t.mismatch, 1);        /* the steps say 1500 */
	memset(&t, 0, sizeof(t));
	bad = r;                        /* a price above list */
	bad.unit_price = 10001;
	guarantee_check(&l, &bad, &base, &t);
	assert_int_equal(t.above_list, 1);
	memset(&t, 0, sizeof(t));
	bad = r;                        /* a negative price */
	bad.unit_price = -1;
	guarantee_check(&l, &bad, &base, &t);
	assert_int_equal(t.negative, 1);
	memset(&t, 0, sizeof(t));
	bad = r;                        /* an unused offer changed the price */
	bad.offer_used = 0;
	guarantee_check(&l, &bad, &base, &t);
	assert_int_equal(t.violations, 1);
	memset(&t, 0, sizeof(t));
	bad = r;                        /* the costs do not add up */
	bad.platform_line = 1;
	guarantee_check(&l, &bad, &base, &t);
	assert_int_equal(t.mismatch, 1);
	assert_int_equal(t.violations + t.negative + t.above_list, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_product_discount),
		cmocka_unit_test(test_offer_rounding),
		cmocka_unit_test(test_offer_flash_sale),
		cmocka_unit_test(test_offer_voucher),
		cmocka_unit_test(test_offer_voucher_any_basket),
		cmocka_unit_test(test_offer_bmsm),
		cmocka_unit_test(test_new_customer_discount),
		cmocka_unit_test(test_tie_goes_to_own),
		cmocka_unit_test(test_shipping_voucher),
		cmocka_unit_test(test_seller_before_platform),
		cmocka_unit_test(test_seller_price_priority),
		cmocka_unit_test(test_no_fixed_discount_with_flash),
		cmocka_unit_test(test_platform_voucher_min_spend),
		cmocka_unit_test(test_full_stack),
		cmocka_unit_test(test_free_order_failure),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_one_voucher_each),
		cmocka_unit_test(test_windows_and_claims),
		cmocka_unit_test(test_guarantee_platform_not_seller),
		cmocka_unit_test(test_guarantee_clamp),
		cmocka_unit_test(test_guarantee_campaign),
		cmocka_unit_test(test_guarantee_concurrent),
		cmocka_unit_test(test_guarantee_withhold_own_over),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_big_values),
		cmocka_unit_test(test_big_offer),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_property_can_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
