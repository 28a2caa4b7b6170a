/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guarantee.c - the price guarantee of engine/checkout.c as a property over
 * many random cases: random plans, products, campaigns, seller promotions,
 * smartpromo offers made by checkout_offer_make(), platform promotions and
 * baskets.  For every case it checks that
 *   - with an offer giving something, the seller-funded discount per unit
 *     is at most floor(list * max_bps / 10000); without one, the price is
 *     exactly the price without offers (a withheld offer adds nothing);
 *   - every offer on its own stays in the plan's range at the case's
 *     quantity and basket, with no clamp needed;
 *   - no price is negative or above list, shipping stays in [0, fee];
 *   - seller + platform costs add up exactly to list * qty - paid, per unit
 *     and per line, and the steps add up to them.
 *
 * usage: bench_guarantee [CASES [SEED]]   (default 10000000 and 1)
 * Prints "cases N, violations V, negative prices P, above list A, cost
 * mismatches M, seconds S" and exits 1 if V, P, A or M is not 0.
 *
 * tests/unit/test_checkout.c includes this file with GUARANTEE_NO_MAIN
 * defined, to run the same property over 100,000 cases under ctest.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkout.h"
#include "rng.h"

#define GUARANTEE_T0 1795000000000LL    /* 2026-11-18 */
#define GUARANTEE_HOUR 3600000LL
#define GUARANTEE_DUMPS 3               /* failing cases printed */

struct guarantee_tally {
	uint64_t cases;
	uint64_t violations;            /* guarantee broken, or calc refused */
	uint64_t negative;              /* a price or charge below 0 */
	uint64_t above_list;            /* a price above list (or fee) */
	uint64_t mismatch;              /* costs that do not add up */
	uint64_t clamped, withheld, offer_used;     /* for information */
	int dumps;
};

struct guarantee_case {
	struct checkout_line line;
	struct checkout_tool seller[3];
	struct checkout_tool offers[3];
	struct checkout_platform platform[5];
};

/* Uniform in [0, n). */
static int64_t
guarantee_below(struct rng *r, int64_t n)
{
	return n <= 1 ? 0 : (int64_t)(rng_next(r) % (uint64_t)n);
}

/* A spend in [0, n), at most CHECKOUT_SPEND_MAX. */
static int64_t
guarantee_spend(struct rng *r, int64_t n)
{
	return guarantee_below(r, n < CHECKOUT_SPEND_MAX ? n :
	    CHECKOUT_SPEND_MAX + 1);
}

/* Nonzero with probability pct %. */
static int
guarantee_pct(struct rng *r, int pct)
{
	return guarantee_below(r, 100) < pct;
}

/* A window around now: mostly always, sometimes current, else not now. */
static struct checkout_window
guarantee_window(struct rng *r, int64_t now)
{
	struct checkout_window w = { 0, 0 };
	int64_t a = guarantee_below(r, 48 * GUARANTEE_HOUR) + 1;
	int64_t b = guarantee_below(r, 48 * GUARANTEE_HOUR) + 1;
	int64_t k = guarantee_below(r, 100);

	if (k < 55)
		return w;
	w.start = now - a;
	w.end = now + b;
	if (k >= 85) {                  /* over, or not yet */
		w.end = k < 93 ? now - guarantee_below(r, a) : now + b + a;
		w.start = k < 93 ? now - a : now + b;
	}
	return w;
}

/* A list price: mostly ordinary, some tiny, some huge. */
static int64_t
guarantee_money(struct rng *r)
{
	int64_t k = guarantee_below(r, 100);

	if (k < 10)
		return guarantee_below(r, 100);
	if (k < 92)
		return 100 + guarantee_below(r, 200000);
	return 1 + guarantee_below(r, CHECKOUT_MONEY_MAX);
}

/* A discount in bps, or -1 (absent) now and then. */
static int32_t
guarantee_bps(struct rng *r, int absent_pct)
{
	if (guarantee_pct(r, absent_pct))
		return -1;
	if (guarantee_pct(r, 5))
		return (int32_t)guarantee_below(r, 10001);
	return (int32_t)guarantee_below(r, 6001);
}

/* An amount off around the money of base, or -1. */
static int64_t
guarantee_amount(struct rng *r, int64_t base, int absent_pct)
{
	int64_t top = base < CHECKOUT_MONEY_MAX / 2 ? base + base / 2 + 1 :
	    CHECKOUT_MONEY_MAX;

	if (guarantee_pct(r, absent_pct))
		return -1;
	return guarantee_below(r, top + 1);
}

/* 1..4 ascending quantity tiers, deeper as they go (mostly). */
static int
guarantee_tiers(struct rng *r, struct checkout_tier *t, int64_t price,
    int amounts)
{
	int n = 1 + (int)guarantee_below(r, CHECKOUT_MAX_TIERS);
	int64_t q = 1 + guarantee_below(r, 3);

	for (int i = 0; i < n; i++) {
		t[i].min_qty = q;
		t[i].bps = (int32_t)guarantee_below(r, 4001);
		t[i].amount = -1;
		if (amounts && guarantee_pct(r, 30))
			t[i].amount = guarantee_amount(r, price / 3, 0);
		q += 1 + guarantee_below(r, 4);
	}
	return n;
}

/* A seller's own registration of a random kind. */
static void
guarantee_own(struct rng *r, const struct checkout_line *l,
    struct checkout_tool *t)
{
	memset(t, 0, sizeof(*t));
	t->kind = (enum checkout_kind)guarantee_below(r, CHECKOUT__KINDS);
	t->window = guarantee_window(r, l->now);
	t->discount_bps = guarantee_bps(r, 20);
	t->amount = guarantee_amount(r, l->list_price / 4,
	    t->discount_bps < 0 ? 0 : 80);
	if (t->kind == CHECKOUT_VOUCHER && guarantee_pct(r, 60))
		t->min_spend = guarantee_spend(r, 3 * l->list_price *
		    l->qty + 1);
	if (t->kind == CHECKOUT_FLASH_SALE && guarantee_pct(r, 50)) {
		t->cap.per_buyer = 1 + guarantee_below(r, 5);
		t->cap.total = guarantee_below(r, 50);
		t->cap.used_buyer = guarantee_below(r, 3);
		t->cap.used_total = guarantee_below(r, 50);
	}
	if (t->kind == CHECKOUT_BMSM)
		t->ntiers = guarantee_tiers(r, t->tiers, l->list_price, 1);
}

/* A shape of a random tool for checkout_offer_make(). */
static void
guarantee_shape(struct rng *r, struct checkout_tool *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = (enum checkout_kind)guarantee_below(r, CHECKOUT__KINDS);
	s->min_qty = guarantee_below(r, 4);
	if (s->kind == CHECKOUT_BMSM && guarantee_pct(r, 70))
		s->ntiers = guarantee_tiers(r, s->tiers, 0, 0);
	if (s->kind == CHECKOUT_FLASH_SALE) {
		s->cap.per_buyer = guarantee_below(r, 6);
		s->cap.total = guarantee_below(r, 100);
		s->window.end = guarantee_below(r, 6 * GUARANTEE_HOUR);
	}
}

/* An offer of a random tool and level; 0, or -1 when none fits. */
static int
guarantee_offer(struct rng *r, const struct checkout_line *l,
    struct checkout_tool *t)
{
	struct checkout_tool shape;
	struct checkout_offer o;
	int32_t span = l->max_bps - l->min_bps;
	int32_t level = l->min_bps + (int32_t)guarantee_below(r, span + 1);
	int64_t made = l->now - guarantee_below(r, 30 * GUARANTEE_HOUR);

	if (guarantee_pct(r, 10))       /* a level outside the range */
		level = (int32_t)guarantee_below(r, 10001);
	guarantee_shape(r, &shape);
	if (checkout_offer_make(&shape, l->list_price, level, l->min_bps,
	    l->max_bps, made, made + 1 + guarantee_below(r, 48 *
	    GUARANTEE_HOUR), &o) == -1)
		return -1;
	*t = o.tool;
	t->cap.used_buyer = guarantee_below(r, 3);
	t->cap.used_total = guarantee_below(r, 20);
	return 0;
}

/* A platform promotion of a random kind. */
static void
guarantee_platform(struct rng *r, const struct checkout_line *l,
    struct checkout_platform *t)
{
	memset(t, 0, sizeof(*t));
	t->kind = (enum platform_kind)guarantee_below(r, 4);
	t->window = guarantee_window(r, l->now);
	t->discount_bps = guarantee_bps(r, 40);
	t->amount = guarantee_amount(r, t->kind == PLATFORM_SHIPPING_VOUCHER ?
	    l->shipping : l->list_price / 3, t->discount_bps < 0 ? 0 : 60);
	if (guarantee_pct(r, 40))
		t->min_spend = guarantee_spend(r, 2 * l->list_price * l->qty +
		    1);
	if (t->kind == PLATFORM_BMSM)
		t->ntiers = guarantee_tiers(r, t->tiers, l->list_price, 1);
}

/* The plan, the product and the basket. */
static void
guarantee_basket(struct rng *r, struct checkout_line *l)
{
	int64_t k = guarantee_below(r, 100), room;

	memset(l, 0, sizeof(*l));
	l->now = GUARANTEE_T0 + guarantee_below(r, 30 * 24 * GUARANTEE_HOUR);
	l->list_price = guarantee_money(r);
	l->qty = k < 70 ? 1 + guarantee_below(r, 5) : k < 97 ? 1 +
	    guarantee_below(r, 50) : 1 + guarantee_below(r, CHECKOUT_QTY_MAX);
	room = l->list_price * l->qty * 3 + 1;
	k = guarantee_below(r, 100);
	l->other_spend = k < 50 ? 0 : k < 95 ? guarantee_spend(r, room) :
	    guarantee_spend(r, CHECKOUT_SPEND_MAX + 1);
	l->shipping = guarantee_below(r, 4000);
	l->new_customer = guarantee_pct(r, 50);
	l->max_bps = (int32_t)(guarantee_pct(r, 90) ? guarantee_below(r, 5001) :
	    guarantee_below(r, 10001));
	l->min_bps = guarantee_pct(r, 10) ? l->max_bps :
	    (int32_t)guarantee_below(r, l->max_bps + 1);
	l->campaign_price = -1;
	if (guarantee_pct(r, 25)) {
		l->campaign_price = guarantee_below(r, l->list_price +
		    l->list_price / 5 + 1);
		if (l->campaign_price > CHECKOUT_MONEY_MAX)
			l->campaign_price = CHECKOUT_MONEY_MAX;
		l->campaign_window = guarantee_window(r, l->now);
	}
}

/* A whole random case. */
static void
guarantee_gen(struct rng *r, struct guarantee_case *c)
{
	struct checkout_line *l = &c->line;
	int64_t n;

	guarantee_basket(r, l);
	n = guarantee_below(r, 4);
	for (int64_t i = 0; i < n; i++)
		guarantee_own(r, l, &c->seller[l->nseller++]);
	n = guarantee_below(r, 4);
	for (int64_t i = 0; i < n; i++)
		if (guarantee_offer(r, l, &c->offers[l->noffers]) == 0)
			l->noffers++;
	n = guarantee_below(r, 6);
	for (int64_t i = 0; i < n; i++)
		guarantee_platform(r, l, &c->platform[l->nplatform++]);
	l->seller = c->seller;
	l->offers = c->offers;
	l->platform = c->platform;
}

/* Costs that do not add up, per unit, per line and by step. */
static int
guarantee_mismatch(const struct checkout_line *l,
    const struct checkout_result *x)
{
	int64_t seller = 0, platform = 0;

	for (int i = 0; i < x->nsteps; i++) {
		const struct checkout_step *s = &x->steps[i];

		if (s->unit_off < 0 || s->line_off < 0)
			return 1;
		if (s->kind == CHECKOUT_STEP_SHIPPING_VOUCHER)
			continue;
		if (s->line_off != s->unit_off * l->qty)
			return 1;
		if (s->origin == CHECKOUT_PLATFORM)
			platform += s->unit_off;
		else
			seller += s->unit_off;
	}
	return seller != x->seller_unit || platform != x->platform_unit ||
	    x->seller_unit + x->platform_unit != l->list_price - x->unit_price ||
	    x->seller_line + x->platform_line != l->list_price * l->qty -
	    x->line_paid || x->line_paid != x->unit_price * l->qty ||
	    x->seller_line != x->seller_unit * l->qty ||
	    x->platform_line != x->platform_unit * l->qty ||
	    x->shipping_fee != l->shipping ||
	    x->shipping_fee - x->shipping_off != x->shipping_charged;
}

/*
 * The guarantee: an offer that gives something keeps the seller within
 * the cap; otherwise the price is the one without offers.
 */
static int
guarantee_broken(const struct checkout_line *l,
    const struct checkout_result *x, const struct checkout_result *base)
{
	int64_t cap = l->list_price * l->max_bps / 10000;
	int64_t bound = base->seller_unit > cap ? base->seller_unit : cap;

	if (x->cap_unit != cap || x->seller_unit > bound)
		return 1;
	if (x->offer_used)
		return x->seller_unit > cap ||
		    x->guard == CHECKOUT_GUARD_WITHHELD ||
		    (x->guard == CHECKOUT_GUARD_CLAMPED &&
		    x->seller_unit != cap);
	return x->unit_price != base->unit_price ||
	    x->seller_unit != base->seller_unit ||
	    x->platform_unit != base->platform_unit ||
	    x->shipping_charged != base->shipping_charged;
}

/* Count what is wrong with result x of line l (base: without offers). */
static void
guarantee_check(const struct checkout_line *l,
    const struct checkout_result *x, const struct checkout_result *base,
    struct guarantee_tally *t)
{
	int64_t seller_price = l->list_price - x->seller_unit;

	if (x->unit_price < 0 || seller_price < 0 || x->shipping_charged < 0)
		t->negative++;
	if (x->unit_price > l->list_price || seller_price > l->list_price ||
	    x->unit_price > seller_price ||
	    x->shipping_charged > x->shipping_fee)
		t->above_list++;
	if (guarantee_mismatch(l, x))
		t->mismatch++;
	if (guarantee_broken(l, x, base))
		t->violations++;
	t->clamped += x->guard == CHECKOUT_GUARD_CLAMPED;
	t->withheld += x->guard == CHECKOUT_GUARD_WITHHELD;
	t->offer_used += x->offer_used != 0;
}

/*
 * Each offer on its own, at this quantity and basket: within the range,
 * no clamp needed, and a unit price tool at least at the minimum.
 */
static int
guarantee_alone_broken(const struct checkout_line *l)
{
	struct checkout_line one = *l;
	struct checkout_result x;
	const struct checkout_tool *t;
	int64_t lo = (l->list_price * l->min_bps + 9999) / 10000;
	char err[128];

	one.nseller = one.nplatform = 0;
	one.campaign_price = -1;
	one.noffers = 1;
	for (size_t i = 0; i < l->noffers; i++) {
		t = one.offers = &l->offers[i];
		if (checkout_calc(&one, &x, err, sizeof(err)) == -1 ||
		    x.guard != CHECKOUT_GUARD_OK || x.seller_unit > x.cap_unit)
			return 1;
		if (x.offer_used && t->kind != CHECKOUT_VOUCHER &&
		    t->kind != CHECKOUT_BMSM && x.seller_unit < lo)
			return 1;
	}
	return 0;
}

/* Print a failing case (the first few) to stderr. */
static void
guarantee_dump(const struct guarantee_case *c, const struct checkout_result *x,
    struct guarantee_tally *t)
{
	const struct checkout_line *l = &c->line;

	if (t->dumps++ >= GUARANTEE_DUMPS)
		return;
	fprintf(stderr, "case %" PRIu64 ": list %" PRId64 " qty %" PRId64
	    " other %" PRId64 " range %d-%d campaign %" PRId64 " own %zu "
	    "offers %zu platform %zu -> unit %" PRId64 " seller %" PRId64
	    " platform %" PRId64 " cap %" PRId64 " guard %s offer_used %d\n",
	    t->cases, l->list_price, l->qty, l->other_spend, l->min_bps,
	    l->max_bps, l->campaign_price, l->nseller, l->noffers, l->nplatform,
	    x->unit_price, x->seller_unit, x->platform_unit, x->cap_unit,
	    checkout_guard_name(x->guard), x->offer_used);
}

/* Generate and check one case. */
static void
guarantee_one(struct rng *r, struct guarantee_tally *t)
{
	struct guarantee_case c;
	struct checkout_line nooffer;
	struct checkout_result x, base;
	struct guarantee_tally before = *t;
	char err[128];

	memset(&c, 0, sizeof(c));
	guarantee_gen(r, &c);
	nooffer = c.line;
	nooffer.noffers = 0;
	t->cases++;
	if (checkout_calc(&c.line, &x, err, sizeof(err)) == -1 ||
	    checkout_calc(&nooffer, &base, err, sizeof(err)) == -1) {
		t->violations++;
		fprintf(stderr, "case %" PRIu64 ": refused: %s\n", t->cases,
		    err);
		return;
	}
	guarantee_check(&c.line, &x, &base, t);
	if (guarantee_alone_broken(&c.line))
		t->violations++;
	if (t->violations + t->negative + t->above_list + t->mismatch !=
	    before.violations + before.negative + before.above_list +
	    before.mismatch)
		guarantee_dump(&c, &x, t);
}

/* Run n cases from seed into t. */
static void
guarantee_run(uint64_t seed, uint64_t n, struct guarantee_tally *t)
{
	struct rng r;

	rng_seed(&r, seed);
	for (uint64_t i = 0; i < n; i++)
		guarantee_one(&r, t);
}

#ifndef GUARANTEE_NO_MAIN
/* Seconds on the monotonic clock. */
static double
guarantee_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct guarantee_tally t;
	uint64_t n = 10000000, seed = 1;
	double t0;

	if (argc > 3 || (argc > 1 && (n = strtoull(argv[1], NULL, 10)) == 0)) {
		fprintf(stderr, "usage: bench_guarantee [CASES [SEED]]\n");
		return 2;
	}
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 10);
	memset(&t, 0, sizeof(t));
	t0 = guarantee_now();
	guarantee_run(seed, n, &t);
	printf("cases %" PRIu64 ", violations %" PRIu64 ", negative prices %"
	    PRIu64 ", above list %" PRIu64 ", cost mismatches %" PRIu64
	    ", seconds %.2f\n", t.cases, t.violations, t.negative,
	    t.above_list, t.mismatch, guarantee_now() - t0);
	fprintf(stderr, "seed %" PRIu64 ": offers used %" PRIu64 ", clamped %"
	    PRIu64 ", withheld %" PRIu64 "\n", seed, t.offer_used, t.clamped,
	    t.withheld);
	return t.violations || t.negative || t.above_list || t.mismatch;
}
#endif
