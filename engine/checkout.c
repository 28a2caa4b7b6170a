/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkout.c - the promotion tools, the checkout price of one basket line
 * under the platform's stacking rules, and the price guarantee
 * (docs/pricing.md).
 */
#include "checkout.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BPS 10000

static const char *const checkout_kinds[CHECKOUT__KINDS] = {
	"product_discount", "flash_sale", "voucher", "new_customer_discount",
	"bmsm"
};

/* The seller's side of a line once seller promotions applied. */
struct checkout_seller {
	int64_t p;                      /* unit price the seller receives */
	int src;                        /* step kind of the seller price, -1 */
	unsigned notes;
	struct checkout_step steps[4];
	int nsteps;
};

/* ---- money -------------------------------------------------------------- */

/*
 * floor(a * b / c) (ceil when up), for a, b >= 0 and c > 0 whose result
 * fits; exact, without a wider integer type.
 */
static int64_t
checkout_muldiv(int64_t a, int64_t b, int64_t c, int up)
{
	uint64_t ua = (uint64_t)a, ub = (uint64_t)b, uc = (uint64_t)c;
	uint64_t qa, ra, q = 0, r = 0;

	if (b == 0 || a <= INT64_MAX / b)
		return (a * b) / c + (up && (a * b) % c != 0);
	qa = ua / uc;
	ra = ua % uc;
	for (int i = 63; i >= 0; i--) {         /* ra * b = q * c + r */
		q <<= 1;
		r <<= 1;
		if (r >= uc) {
			r -= uc;
			q++;
		}
		if ((ub >> i) & 1) {
			r += ra;
			if (r >= uc) {
				r -= uc;
				q++;
			}
		}
	}
	return (int64_t)(qa * ub + q) + (up && r != 0);
}

/* The money off base: a percentage, an amount, or the percentage capped. */
int64_t
checkout_off(int64_t base, int32_t bps, int64_t amount)
{
	int64_t off;

	if (base <= 0 || (bps < 0 && amount < 0))
		return 0;
	if (bps < 0)
		off = amount;
	else {
		off = checkout_muldiv(base, bps, BPS, 0);
		if (amount >= 0 && amount < off)
			off = amount;
	}
	return off < base ? off : base;
}

/* Nonzero if now falls in the window. */
static int
checkout_active(const struct checkout_window *w, int64_t now)
{
	return w->start <= now && (w->end == 0 || now < w->end);
}

/* The money off a tier's unit price at qty: the deepest tier reached. */
static int64_t
checkout_tier_off(const struct checkout_tier *t, int n, int64_t p,
    int64_t qty)
{
	int64_t best = 0, off;

	for (int i = 0; i < n; i++) {
		if (t[i].min_qty > qty)
			continue;
		off = checkout_off(p, t[i].bps, t[i].amount);
		if (off > best)
			best = off;
	}
	return best;
}

/*
 * A unit's share of a basket voucher: the voucher's money off the basket
 * (this line at p each plus other), pro rata to the line, per unit, each
 * division rounded down.
 */
static int64_t
checkout_voucher_unit(int64_t p, int64_t qty, int64_t other, int32_t bps,
    int64_t amount)
{
	int64_t line = p * qty, basket = line + other, off;

	if (line <= 0)
		return 0;
	off = checkout_off(basket, bps, amount);
	return checkout_muldiv(off, line, basket, 0) / qty;
}

/* Units a flash sale may still price for this buyer. */
int64_t
checkout_flash_units(const struct checkout_cap *cap, int64_t qty)
{
	int64_t n = qty, left;

	if (cap->per_buyer > 0) {
		left = cap->per_buyer - cap->used_buyer;
		n = left < n ? left : n;
	}
	if (cap->total > 0) {
		left = cap->total - cap->used_total;
		n = left < n ? left : n;
	}
	return n > 0 ? n : 0;
}

/* ---- checking the input ------------------------------------------------- */

/* Nonzero if v is absent (-1) or in [0, max]. */
static int
checkout_opt_ok(int64_t v, int64_t max)
{
	return v >= -1 && v <= max;
}

/* Check tiers: 1..CHECKOUT_MAX_TIERS, ascending, each with an off. */
static int
checkout_check_tiers(const struct checkout_tier *t, int n, const char *who,
    size_t i, char *err, size_t errlen)
{
	if (n < 1 || n > CHECKOUT_MAX_TIERS)
		return util_fail(err, errlen, "%s %zu: \"tiers\" must have "
		    "1 to %d elements", who, i, CHECKOUT_MAX_TIERS);
	for (int k = 0; k < n; k++) {
		if (t[k].min_qty < 1 || t[k].min_qty > CHECKOUT_QTY_MAX ||
		    (k > 0 && t[k].min_qty <= t[k - 1].min_qty))
			return util_fail(err, errlen, "%s %zu: \"min_qty\" "
			    "of tier %d must be 1 to %d and ascending", who, i,
			    k, CHECKOUT_QTY_MAX);
		if (!checkout_opt_ok(t[k].bps, BPS) ||
		    !checkout_opt_ok(t[k].amount, CHECKOUT_SPEND_MAX) ||
		    (t[k].bps < 0 && t[k].amount < 0))
			return util_fail(err, errlen, "%s %zu: tier %d "
			    "needs \"bps\" 0 to %d or \"amount\" 0 to %lld",
			    who, i, k, BPS, (long long)CHECKOUT_SPEND_MAX);
	}
	return 0;
}

/* Check the off fields common to tools and platform promotions. */
static int
checkout_check_off(int32_t bps, int64_t amount, int64_t min_spend,
    int needed, const char *who, size_t i, char *err, size_t errlen)
{
	if (!checkout_opt_ok(bps, BPS))
		return util_fail(err, errlen, "%s %zu: \"discount_bps\" "
		    "must be -1 to %d", who, i, BPS);
	if (!checkout_opt_ok(amount, CHECKOUT_SPEND_MAX))
		return util_fail(err, errlen, "%s %zu: \"amount\" must be "
		    "-1 to %lld", who, i, (long long)CHECKOUT_SPEND_MAX);
	if (min_spend < 0 || min_spend > CHECKOUT_SPEND_MAX)
		return util_fail(err, errlen, "%s %zu: \"min_spend\" must "
		    "be 0 to %lld", who, i, (long long)CHECKOUT_SPEND_MAX);
	if (needed && bps < 0 && amount < 0)
		return util_fail(err, errlen, "%s %zu: needs "
		    "\"discount_bps\" or \"amount\"", who, i);
	return 0;
}

/* Check one seller-side tool. */
static int
checkout_check_tool(const struct checkout_tool *t, const char *who, size_t i,
    char *err, size_t errlen)
{
	const struct checkout_cap *c = &t->cap;

	if ((int)t->kind < 0 || t->kind >= CHECKOUT__KINDS)
		return util_fail(err, errlen, "%s %zu: unknown \"kind\"",
		    who, i);
	if (t->kind == CHECKOUT_BMSM)
		return checkout_check_tiers(t->tiers, t->ntiers, who, i, err,
		    errlen);
	if (c->per_buyer < 0 || c->total < 0 || c->used_buyer < 0 ||
	    c->used_total < 0)
		return util_fail(err, errlen, "%s %zu: \"cap\" must not be "
		    "negative", who, i);
	return checkout_check_off(t->discount_bps, t->amount, t->min_spend,
	    1, who, i, err, errlen);
}

/* Check one platform promotion. */
static int
checkout_check_platform(const struct checkout_platform *t, size_t i,
    char *err, size_t errlen)
{
	if ((int)t->kind < PLATFORM_SHIPPING_VOUCHER || t->kind > PLATFORM_BMSM)
		return util_fail(err, errlen, "platform %zu: unknown "
		    "\"kind\"", i);
	if (t->kind == PLATFORM_BMSM &&
	    checkout_check_tiers(t->tiers, t->ntiers, "platform", i, err,
	    errlen) == -1)
		return -1;
	return checkout_check_off(t->discount_bps, t->amount, t->min_spend,
	    t->kind != PLATFORM_BMSM, "platform", i, err, errlen);
}

/* Check the line's own fields. */
static int
checkout_check_fields(const struct checkout_line *l, char *err, size_t errlen)
{
	if (l->list_price < 0 || l->list_price > CHECKOUT_MONEY_MAX)
		return util_fail(err, errlen, "\"list_price\" must be 0 to "
		    "%lld", (long long)CHECKOUT_MONEY_MAX);
	if (l->qty < 1 || l->qty > CHECKOUT_QTY_MAX)
		return util_fail(err, errlen, "\"qty\" must be 1 to %d",
		    CHECKOUT_QTY_MAX);
	if (l->other_spend < 0 || l->other_spend > CHECKOUT_SPEND_MAX)
		return util_fail(err, errlen, "\"other_spend\" must be 0 "
		    "to %lld", (long long)CHECKOUT_SPEND_MAX);
	if (l->shipping < 0 || l->shipping > CHECKOUT_MONEY_MAX)
		return util_fail(err, errlen, "\"shipping\" must be 0 to "
		    "%lld", (long long)CHECKOUT_MONEY_MAX);
	if (!checkout_opt_ok(l->campaign_price, CHECKOUT_MONEY_MAX))
		return util_fail(err, errlen, "\"campaign_price\" must be "
		    "-1 to %lld", (long long)CHECKOUT_MONEY_MAX);
	if (l->min_bps < 0 || l->max_bps > BPS || l->min_bps > l->max_bps)
		return util_fail(err, errlen, "\"min_bps\" and \"max_bps\" "
		    "must satisfy 0 <= min <= max <= %d", BPS);
	if ((l->nseller > 0 && l->seller == NULL) ||
	    (l->noffers > 0 && l->offers == NULL) ||
	    (l->nplatform > 0 && l->platform == NULL))
		return util_fail(err, errlen, "\"seller\", \"offers\" or "
		    "\"platform\" is NULL with a count");
	return 0;
}

/* Check the whole line; 0 or -1 with err. */
static int
checkout_check_line(const struct checkout_line *l, char *err, size_t errlen)
{
	if (checkout_check_fields(l, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < l->nseller; i++)
		if (checkout_check_tool(&l->seller[i], "seller", i, err,
		    errlen) == -1)
			return -1;
	for (size_t i = 0; i < l->noffers; i++)
		if (checkout_check_tool(&l->offers[i], "offer", i, err,
		    errlen) == -1)
			return -1;
	for (size_t i = 0; i < l->nplatform; i++)
		if (checkout_check_platform(&l->platform[i], i, err,
		    errlen) == -1)
			return -1;
	return 0;
}

/* ---- the seller's side -------------------------------------------------- */

/* The i-th seller-side tool: own registrations first, then offers. */
static const struct checkout_tool *
checkout_nth(const struct checkout_line *l, size_t i, enum checkout_origin *o,
    int *index)
{
	if (i < l->nseller) {
		*o = CHECKOUT_OWN;
		*index = (int)i;
		return &l->seller[i];
	}
	*o = CHECKOUT_OFFER;
	*index = (int)(i - l->nseller);
	return &l->offers[i - l->nseller];
}

/* Append a step of unit_off per unit. */
static void
checkout_push(struct checkout_step *steps, int *n, enum checkout_step_kind k,
    enum checkout_origin o, int index, int64_t unit_off)
{
	struct checkout_step *s = &steps[(*n)++];

	s->kind = k;
	s->origin = o;
	s->index = index;
	s->unit_off = unit_off;
	s->line_off = 0;                /* set once the line is priced */
}

/* Nonzero if tool t may set the seller price of kind k for this line. */
static int
checkout_price_eligible(const struct checkout_line *l,
    const struct checkout_tool *t, enum checkout_step_kind k, unsigned *notes)
{
	if (!checkout_active(&t->window, l->now))
		return 0;
	if (k == CHECKOUT_STEP_FLASH_SALE) {
		if (t->kind != CHECKOUT_FLASH_SALE)
			return 0;
		if (checkout_flash_units(&t->cap, l->qty) < l->qty) {
			*notes |= CHECKOUT_NOTE_FLASH_CAP;
			return 0;
		}
		return 1;
	}
	if (t->kind == CHECKOUT_NEW_CUSTOMER_DISCOUNT && !l->new_customer) {
		*notes |= CHECKOUT_NOTE_NOT_NEW;
		return 0;
	}
	return t->kind == CHECKOUT_PRODUCT_DISCOUNT ||
	    t->kind == CHECKOUT_NEW_CUSTOMER_DISCOUNT;
}

/*
 * The deepest eligible seller price of kind k (flash sale or seller
 * discount) among n tools; 1 if one applies, the seller's own on a tie.
 */
static int
checkout_best_price(const struct checkout_line *l, size_t n,
    enum checkout_step_kind k, struct checkout_seller *s)
{
	const struct checkout_tool *t;
	enum checkout_origin o, bo = CHECKOUT_OWN;
	int64_t off, best = -1;
	int index, bi = -1;

	for (size_t i = 0; i < n; i++) {
		t = checkout_nth(l, i, &o, &index);
		if (!checkout_price_eligible(l, t, k, &s->notes))
			continue;
		off = checkout_off(l->list_price, t->discount_bps, t->amount);
		if (off > best) {
			best = off;
			bo = o;
			bi = index;
		}
	}
	if (bi < 0)
		return 0;
	s->p = l->list_price - best;
	s->src = (int)k;
	checkout_push(s->steps, &s->nsteps, k, bo, bi, best);
	return 1;
}

/* The seller price: campaign, else flash sale, else seller discount. */
static void
checkout_seller_price(const struct checkout_line *l, size_t n,
    struct checkout_seller *s)
{
	int64_t price;

	if (l->campaign_price >= 0 &&
	    checkout_active(&l->campaign_window, l->now)) {
		price = l->campaign_price < l->list_price ? l->campaign_price :
		    l->list_price;
		s->p = price;
		s->src = CHECKOUT_STEP_CAMPAIGN;
		checkout_push(s->steps, &s->nsteps, CHECKOUT_STEP_CAMPAIGN,
		    CHECKOUT_OWN, -1, l->list_price - price);
		return;
	}
	if (checkout_best_price(l, n, CHECKOUT_STEP_FLASH_SALE, s))
		return;
	checkout_best_price(l, n, CHECKOUT_STEP_SELLER_DISCOUNT, s);
}

/* The deepest seller bmsm tier the line reaches, on the running price. */
static void
checkout_seller_bmsm(const struct checkout_line *l, size_t n,
    struct checkout_seller *s)
{
	const struct checkout_tool *t;
	enum checkout_origin o, bo = CHECKOUT_OWN;
	int64_t off, best = 0;
	int index, bi = -1;

	for (size_t i = 0; i < n; i++) {
		t = checkout_nth(l, i, &o, &index);
		if (t->kind != CHECKOUT_BMSM ||
		    !checkout_active(&t->window, l->now))
			continue;
		off = checkout_tier_off(t->tiers, t->ntiers, s->p, l->qty);
		if (off > best) {
			best = off;
			bo = o;
			bi = index;
		}
	}
	if (bi < 0)
		return;
	s->p -= best;
	checkout_push(s->steps, &s->nsteps, CHECKOUT_STEP_SELLER_BMSM, bo, bi,
	    best);
}

/* The seller voucher giving this line most, if its spend is met. */
static void
checkout_seller_voucher(const struct checkout_line *l, size_t n,
    struct checkout_seller *s)
{
	const struct checkout_tool *t;
	enum checkout_origin o, bo = CHECKOUT_OWN;
	int64_t off, best = 0, spend = s->p * l->qty + l->other_spend;
	int index, bi = -1;

	for (size_t i = 0; i < n; i++) {
		t = checkout_nth(l, i, &o, &index);
		if (t->kind != CHECKOUT_VOUCHER ||
		    !checkout_active(&t->window, l->now))
			continue;
		if (spend < t->min_spend) {
			s->notes |= CHECKOUT_NOTE_MIN_SPEND;
			continue;
		}
		off = checkout_voucher_unit(s->p, l->qty, l->other_spend,
		    t->discount_bps, t->amount);
		if (off > best) {
			best = off;
			bo = o;
			bi = index;
		}
	}
	if (bi < 0)
		return;
	s->p -= best;
	checkout_push(s->steps, &s->nsteps, CHECKOUT_STEP_SELLER_VOUCHER, bo,
	    bi, best);
}

/* The seller's side with the own registrations, and the offers if asked. */
static void
checkout_seller(const struct checkout_line *l, int with_offers,
    struct checkout_seller *s)
{
	size_t n = l->nseller + (with_offers ? l->noffers : 0);

	memset(s, 0, sizeof(*s));
	s->p = l->list_price;
	s->src = -1;
	checkout_seller_price(l, n, s);
	checkout_seller_bmsm(l, n, s);
	checkout_seller_voucher(l, n, s);
}

/*
 * Take excess per unit back from the offers' steps, last first.  Returns
 * 0, or -1 when the offers gave less than that or would give nothing left
 * (the caller then withholds them).
 */
static int
checkout_clamp(struct checkout_seller *s, int64_t excess)
{
	int64_t given = 0, take;

	for (int i = 0; i < s->nsteps; i++)
		if (s->steps[i].origin == CHECKOUT_OFFER)
			given += s->steps[i].unit_off;
	if (given <= excess)
		return -1;
	s->p += excess;
	for (int i = s->nsteps - 1; i >= 0 && excess > 0; i--) {
		if (s->steps[i].origin != CHECKOUT_OFFER)
			continue;
		take = s->steps[i].unit_off < excess ? s->steps[i].unit_off :
		    excess;
		s->steps[i].unit_off -= take;
		excess -= take;
	}
	return 0;
}

/*
 * The seller's side under the guarantee: with the offers when the seller
 * then funds at most cap per unit; else the offers clamped to cap; else
 * without them.
 */
static void
checkout_guarded(const struct checkout_line *l, int64_t cap,
    struct checkout_seller *s, struct checkout_result *r)
{
	struct checkout_seller base;
	int64_t excess;

	checkout_seller(l, 1, s);
	r->guard = CHECKOUT_GUARD_OK;
	if (l->noffers == 0 || l->list_price - s->p <= cap)
		return;
	excess = l->list_price - s->p - cap;
	checkout_seller(l, 0, &base);
	if (l->list_price - base.p < cap && checkout_clamp(s, excess) == 0) {
		r->guard = CHECKOUT_GUARD_CLAMPED;
		r->clamped_unit = excess;
		return;
	}
	*s = base;
	r->guard = CHECKOUT_GUARD_WITHHELD;
	if (l->list_price - base.p > cap)
		s->notes |= CHECKOUT_NOTE_SELLER_OVER_MAX;
}

/* ---- the platform's side ------------------------------------------------ */

/* Nonzero if platform promotion t of kind k applies at this spend. */
static int
checkout_platform_on(const struct checkout_line *l,
    const struct checkout_platform *t, enum platform_kind k, int64_t spend,
    unsigned *notes)
{
	if (t->kind != k || !checkout_active(&t->window, l->now))
		return 0;
	if (spend < t->min_spend) {
		*notes |= CHECKOUT_NOTE_MIN_SPEND;
		return 0;
	}
	return 1;
}

/* Money off of platform promotion t of kind k at running unit price p. */
static int64_t
checkout_platform_off(const struct checkout_line *l,
    const struct checkout_platform *t, int64_t p)
{
	switch (t->kind) {
	case PLATFORM_FIXED_DISCOUNT:
		return checkout_off(p, t->discount_bps, t->amount);
	case PLATFORM_BMSM:
		return checkout_tier_off(t->tiers, t->ntiers, p, l->qty);
	case PLATFORM_PRODUCT_VOUCHER:
		return checkout_voucher_unit(p, l->qty, l->other_spend,
		    t->discount_bps, t->amount);
	case PLATFORM_SHIPPING_VOUCHER:
		return checkout_off(l->shipping, t->discount_bps, t->amount);
	}
	return 0;
}

/*
 * The platform promotion of kind k giving most at running price p (spend:
 * after seller promotions, for minimum spends); its index or -1.
 */
static int
checkout_platform_best(const struct checkout_line *l, enum platform_kind k,
    int64_t p, int64_t spend, int64_t *best, unsigned *notes)
{
	int64_t off;
	int bi = -1;

	*best = 0;
	for (size_t i = 0; i < l->nplatform; i++) {
		if (!checkout_platform_on(l, &l->platform[i], k, spend, notes))
			continue;
		off = checkout_platform_off(l, &l->platform[i], p);
		if (off > *best) {
			*best = off;
			bi = (int)i;
		}
	}
	return bi;
}

/* Apply the platform's best promotion of kind k to the running price. */
static void
checkout_platform_step(const struct checkout_line *l, enum platform_kind k,
    enum checkout_step_kind sk, int64_t *p, int64_t spend,
    struct checkout_result *r)
{
	int64_t off;
	int i = checkout_platform_best(l, k, *p, spend, &off, &r->notes);

	if (i < 0)
		return;
	*p -= off;
	checkout_push(r->steps, &r->nsteps, sk, CHECKOUT_PLATFORM, i, off);
}

/* Shipping vouchers: the best one, on shipping only, never below 0. */
static void
checkout_shipping(const struct checkout_line *l, int64_t spend,
    struct checkout_result *r)
{
	int64_t off;
	int i = checkout_platform_best(l, PLATFORM_SHIPPING_VOUCHER, 0, spend,
	    &off, &r->notes);

	r->shipping_fee = l->shipping;
	r->shipping_off = i < 0 ? 0 : off;
	r->shipping_charged = l->shipping - r->shipping_off;
	if (i < 0)
		return;
	checkout_push(r->steps, &r->nsteps, CHECKOUT_STEP_SHIPPING_VOUCHER,
	    CHECKOUT_PLATFORM, i, 0);
	r->steps[r->nsteps - 1].line_off = off;
}

/* Platform promotions after the seller's: fixed, bmsm, product voucher. */
static int64_t
checkout_platform(const struct checkout_line *l,
    const struct checkout_seller *s, struct checkout_result *r)
{
	int64_t p = s->p, spend = s->p * l->qty + l->other_spend, off;

	if (s->src == CHECKOUT_STEP_FLASH_SALE) {
		if (checkout_platform_best(l, PLATFORM_FIXED_DISCOUNT, p, spend,
		    &off, &r->notes) >= 0)
			r->notes |= CHECKOUT_NOTE_FIXED_BLOCKED;
	} else
		checkout_platform_step(l, PLATFORM_FIXED_DISCOUNT,
		    CHECKOUT_STEP_PLATFORM_FIXED, &p, spend, r);
	checkout_platform_step(l, PLATFORM_BMSM, CHECKOUT_STEP_PLATFORM_BMSM,
	    &p, spend, r);
	checkout_platform_step(l, PLATFORM_PRODUCT_VOUCHER,
	    CHECKOUT_STEP_PLATFORM_VOUCHER, &p, spend, r);
	return p;
}

/* ---- the line ----------------------------------------------------------- */

/* Copy the seller's steps into r, after any shipping step. */
static void
checkout_take_seller(const struct checkout_seller *s,
    struct checkout_result *r)
{
	for (int i = 0; i < s->nsteps; i++) {
		r->steps[r->nsteps++] = s->steps[i];
		if (s->steps[i].origin == CHECKOUT_OFFER &&
		    s->steps[i].unit_off > 0)
			r->offer_used = 1;
	}
	r->notes |= s->notes;
}

/* Fill the per-unit and per-line figures once the price is known. */
static void
checkout_totals(const struct checkout_line *l, int64_t seller_p, int64_t p,
    struct checkout_result *r)
{
	r->unit_price = p;
	r->line_paid = p * l->qty;
	r->seller_unit = l->list_price - seller_p;
	r->seller_line = r->seller_unit * l->qty;
	r->platform_unit = seller_p - p;
	r->platform_line = r->platform_unit * l->qty;
	for (int i = 0; i < r->nsteps; i++)
		if (r->steps[i].kind != CHECKOUT_STEP_SHIPPING_VOUCHER)
			r->steps[i].line_off = r->steps[i].unit_off * l->qty;
}

/* Price one line. */
int
checkout_calc(const struct checkout_line *l, struct checkout_result *r,
    char *err, size_t errlen)
{
	struct checkout_seller s;
	int64_t p;

	if (checkout_check_line(l, err, errlen) == -1)
		return -1;
	memset(r, 0, sizeof(*r));
	r->cap_unit = checkout_muldiv(l->list_price, l->max_bps, BPS, 0);
	checkout_guarded(l, r->cap_unit, &s, r);
	checkout_shipping(l, s.p * l->qty + l->other_spend, r);
	checkout_take_seller(&s, r);
	p = checkout_platform(l, &s, r);
	checkout_totals(l, s.p, p, r);
	return 0;
}

/* ---- offers ------------------------------------------------------------- */

/*
 * Money off base for level_bps, rounded down, inside [min_bps, max_bps] of
 * base (the bounds rounded inward) and at least 1; -1 if none fits.
 */
static int64_t
checkout_fit(int64_t base, int32_t level_bps, int32_t min_bps,
    int32_t max_bps)
{
	int64_t want = checkout_muldiv(base, level_bps, BPS, 0);
	int64_t lo = checkout_muldiv(base, min_bps, BPS, 1);
	int64_t hi = checkout_muldiv(base, max_bps, BPS, 0);

	if (lo < 1)
		lo = 1;
	if (lo > hi)
		return -1;
	return want < lo ? lo : want > hi ? hi : want;
}

/* Fill the message fields of an offer paying price per unit. */
static void
checkout_offer_price(struct checkout_offer *o, int64_t price)
{
	o->offer_price = price;
	o->discount_bps = (int32_t)checkout_muldiv(o->list_price - price, BPS,
	    o->list_price, 0);
}

/* A product, new-customer or flash price: an amount off each unit. */
static int
checkout_offer_unit(struct checkout_offer *o, int32_t level, int32_t min_bps,
    int32_t max_bps)
{
	int64_t off = checkout_fit(o->list_price, level, min_bps, max_bps);

	if (off < 0)
		return -1;
	o->tool.amount = off;
	checkout_offer_price(o, o->list_price - off);
	return 0;
}

/* A flash sale: a unit price, the shape's caps, its time box. */
static int
checkout_offer_flash(struct checkout_offer *o,
    const struct checkout_tool *shape, int32_t level, int32_t min_bps,
    int32_t max_bps)
{
	int64_t len = shape->window.end - shape->window.start;
	struct checkout_window *w = &o->tool.window;

	if (shape->cap.per_buyer < 0 || shape->cap.total < 0 || len < 0)
		return -1;
	o->tool.cap.per_buyer = shape->cap.per_buyer;
	o->tool.cap.total = shape->cap.total;
	if (len > 0 && len < w->end - w->start)
		w->end = w->start + len;
	o->expires_at = w->end;
	return checkout_offer_unit(o, level, min_bps, max_bps);
}

/*
 * A voucher: min spend = min_qty units at list; the amount off it is the
 * level of that spend, within the range, so at any larger spend it is a
 * smaller share.
 */
static int
checkout_offer_voucher(struct checkout_offer *o,
    const struct checkout_tool *shape, int32_t level, int32_t min_bps,
    int32_t max_bps)
{
	int64_t units = shape->min_qty > 0 ? shape->min_qty : 1, spend, off;

	if (units > CHECKOUT_QTY_MAX)
		return -1;
	spend = units * o->list_price;
	off = checkout_fit(spend, level, min_bps, max_bps);
	if (off < 0)
		return -1;
	o->tool.amount = off;
	o->tool.min_spend = spend;
	o->min_spend = spend;
	checkout_offer_price(o, o->list_price - off / units);
	return 0;
}

/*
 * Buy more save more: the shape's tiers (or one from 2 units) with their
 * depths scaled so the deepest is the level, none below min_bps.
 */
static int
checkout_offer_bmsm(struct checkout_offer *o,
    const struct checkout_tool *shape, int32_t level, int32_t min_bps)
{
	static const struct checkout_tier one = { 2, BPS, -1 };
	const struct checkout_tier *t = shape->ntiers > 0 ? shape->tiers : &one;
	int n = shape->ntiers > 0 ? shape->ntiers : 1, deep = 0;
	int64_t off = checkout_muldiv(o->list_price, level, BPS, 0);

	if (n > CHECKOUT_MAX_TIERS || off < 1)
		return -1;
	for (int i = 0; i < n; i++) {
		if (t[i].min_qty < 1 || t[i].min_qty > CHECKOUT_QTY_MAX ||
		    t[i].bps < 0 || (i > 0 && t[i].min_qty <= t[i - 1].min_qty))
			return -1;
		if (t[i].bps > t[deep].bps)
			deep = i;
	}
	if (t[deep].bps == 0)
		return -1;
	for (int i = 0; i < n; i++) {
		o->tool.tiers[i].min_qty = t[i].min_qty;
		o->tool.tiers[i].bps = (int32_t)((int64_t)level * t[i].bps /
		    t[deep].bps);
		if (o->tool.tiers[i].bps < min_bps)
			o->tool.tiers[i].bps = min_bps;
		o->tool.tiers[i].amount = -1;
	}
	o->tool.ntiers = n;
	o->min_qty = t[deep].min_qty;
	checkout_offer_price(o, o->list_price - off);
	return 0;
}

/* Make the offer of a tool at a level. */
int
checkout_offer_make(const struct checkout_tool *shape, int64_t list_price,
    int32_t level_bps, int32_t min_bps, int32_t max_bps, int64_t now,
    int64_t expires_at, struct checkout_offer *o)
{
	int32_t level = level_bps;

	memset(o, 0, sizeof(*o));
	if (list_price <= 0 || list_price > CHECKOUT_MONEY_MAX || min_bps < 0 ||
	    min_bps > max_bps || max_bps > BPS || now < 0 || expires_at <= now)
		return -1;
	level = level < min_bps ? min_bps : level > max_bps ? max_bps : level;
	o->tool.kind = shape->kind;
	o->tool.discount_bps = -1;
	o->tool.amount = -1;
	o->tool.window.start = now;
	o->tool.window.end = expires_at;
	o->list_price = list_price;
	o->expires_at = expires_at;
	switch (shape->kind) {
	case CHECKOUT_PRODUCT_DISCOUNT:
	case CHECKOUT_NEW_CUSTOMER_DISCOUNT:
		return checkout_offer_unit(o, level, min_bps, max_bps);
	case CHECKOUT_FLASH_SALE:
		return checkout_offer_flash(o, shape, level, min_bps, max_bps);
	case CHECKOUT_VOUCHER:
		return checkout_offer_voucher(o, shape, level, min_bps,
		    max_bps);
	case CHECKOUT_BMSM:
		return checkout_offer_bmsm(o, shape, level, min_bps);
	default:
		return -1;
	}
}

/* ---- vouchers once claimed ---------------------------------------------- */

/* Usable: claimed, not used by a standing order, not expired. */
int
checkout_claim_usable(const struct checkout_claim *c, int64_t now)
{
	return !c->used && c->claimed_at <= now && now < c->expires_at;
}

/* A cancelled or fully refunded order gives an unexpired voucher back. */
int
checkout_claim_return(struct checkout_claim *c, enum order_status st,
    int full_refund, int64_t now)
{
	if (!c->used || now >= c->expires_at)
		return 0;
	if (st == ORDER_CANCELLED || (st == ORDER_REFUNDED && full_refund)) {
		c->used = 0;
		return 1;
	}
	return 0;
}

/* ---- names -------------------------------------------------------------- */

/* "flash_sale" */
const char *
checkout_kind_name(enum checkout_kind k)
{
	if ((int)k < 0 || k >= CHECKOUT__KINDS)
		return "unknown";
	return checkout_kinds[k];
}

/* flash_sale -> CHECKOUT_FLASH_SALE */
int
checkout_kind_parse(const char *name, enum checkout_kind *k)
{
	for (int i = 0; i < CHECKOUT__KINDS; i++)
		if (strcmp(name, checkout_kinds[i]) == 0) {
			*k = (enum checkout_kind)i;
			return 0;
		}
	return -1;
}

/* "platform_voucher" */
const char *
checkout_step_name(enum checkout_step_kind k)
{
	static const char *const names[] = {
		"shipping_voucher", "campaign", "flash_sale",
		"seller_discount", "seller_bmsm", "seller_voucher",
		"platform_fixed", "platform_bmsm", "platform_voucher"
	};

	if ((int)k < 0 || (size_t)k >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[k];
}

/* "clamped" */
const char *
checkout_guard_name(enum checkout_guard g)
{
	switch (g) {
	case CHECKOUT_GUARD_OK:
		return "ok";
	case CHECKOUT_GUARD_CLAMPED:
		return "clamped";
	case CHECKOUT_GUARD_WITHHELD:
		return "withheld";
	}
	return "unknown";
}
