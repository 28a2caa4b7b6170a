/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkout.h - the promotion tools smartpromo can offer, and the checkout
 * price of one product line in a basket under the platform's stacking rules,
 * with the price guarantee (docs/pricing.md).
 *
 * Pure: no I/O, no clock, no allocation, no global state.  The time is an
 * argument, every array is the caller's, and results are filled into
 * caller-owned structs.
 *
 * Three parts:
 *   - the five tools (struct checkout_tool) and checkout_offer_make(), which
 *     turns a tool's shape and a learner level into the parameters an offer
 *     carries, so that the tool on its own keeps the seller-funded discount
 *     per unit within the plan's range at any quantity and basket;
 *   - checkout_calc(), the price of one line: shipping vouchers first (on
 *     shipping only), then one seller price (campaign > flash sale > seller
 *     discount), a seller buy-more-save-more tier and a seller voucher, then
 *     the platform's fixed discount (never with a flash sale), its
 *     buy-more-save-more tier and its product voucher.  Each discount is
 *     taken from the running price, rounded down, never below 0;
 *   - the guarantee: when smartpromo offers take part, the seller-funded
 *     discount per unit never exceeds floor(list * max_bps / 10000).  A
 *     combination that would go further is clamped (the offers give less) or
 *     the offers are withheld (the line is priced as without them); the
 *     result says which (enum checkout_guard).
 *
 * Money is int64 minor units, discounts basis points.  An optional money or
 * bps field holds -1 when absent, as in struct event.
 */
#ifndef SP_CHECKOUT_H
#define SP_CHECKOUT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define CHECKOUT_MONEY_MAX 1000000000000LL      /* a unit price or a fee */
#define CHECKOUT_SPEND_MAX 100000000000000000LL /* a spend or an amount */
#define CHECKOUT_QTY_MAX 100000
#define CHECKOUT_MAX_TIERS 4
#define CHECKOUT_MAX_STEPS 8

/* The tools smartpromo offers; the names are the offer's "tool" field. */
enum checkout_kind {
	CHECKOUT_PRODUCT_DISCOUNT,      /* a price off list, any shopper */
	CHECKOUT_FLASH_SALE,            /* a time-boxed price, capped units */
	CHECKOUT_VOUCHER,               /* money off a spend of min_spend */
	CHECKOUT_NEW_CUSTOMER_DISCOUNT, /* a price off list, new shoppers */
	CHECKOUT_BMSM,                  /* buy more save more: qty tiers */
	CHECKOUT__KINDS
};

/* [start, end) in epoch ms; end 0: open-ended; {0, 0}: always. */
struct checkout_window {
	int64_t start, end;
};

/* One quantity tier: from min_qty units, this much off each unit. */
struct checkout_tier {
	int64_t min_qty;                /* >= 1, tiers strictly ascending */
	int32_t bps;                    /* of the running unit price, or -1 */
	int64_t amount;                 /* per unit; -1 none */
};

/* Flash-sale unit caps (0: none) and what was bought under them so far. */
struct checkout_cap {
	int64_t per_buyer, total;
	int64_t used_buyer, used_total; /* filled by the caller at checkout */
};

/*
 * A promotion on the seller's side: a seller's own registration
 * (seller_promotion) or a smartpromo offer.  Money off follows one rule
 * (checkout_off): bps only, a percentage of the base; amount only, that
 * amount; both, the percentage capped at the amount; never more than the
 * base.
 *   product_discount, new_customer_discount, flash_sale: discount_bps /
 *     amount off the list price, per unit;
 *   voucher: discount_bps / amount off the basket's spend once it reaches
 *     min_spend; this line gets its pro-rata share;
 *   bmsm: tiers[0..ntiers), off the running unit price;
 *   flash_sale also: cap;
 *   all: window.
 * min_qty is only read by checkout_offer_make() (see there).
 */
struct checkout_tool {
	enum checkout_kind kind;
	int32_t discount_bps;           /* 0..10000, -1 none */
	int64_t amount;                 /* -1 none */
	int64_t min_spend;              /* voucher; 0 none */
	int64_t min_qty;                /* voucher shape: min spend in units */
	struct checkout_tier tiers[CHECKOUT_MAX_TIERS];
	int ntiers;
	struct checkout_cap cap;
	struct checkout_window window;
};

/* A platform promotion (platform_promotion), platform-funded. */
struct checkout_platform {
	enum platform_kind kind;
	int32_t discount_bps;           /* -1 none */
	int64_t amount;                 /* -1 none */
	int64_t min_spend;              /* 0 none */
	struct checkout_tier tiers[CHECKOUT_MAX_TIERS]; /* bmsm */
	int ntiers;
	struct checkout_window window;
};

/* What an offer message carries (CONTRACT.md section 4), and its tool. */
struct checkout_offer {
	struct checkout_tool tool;      /* what checkout_calc() applies */
	int64_t list_price;
	int64_t offer_price;            /* per unit, at the offer's threshold */
	int32_t discount_bps;           /* list - offer_price, rounded down */
	int64_t min_spend;              /* voucher, else 0 */
	int64_t min_qty;                /* bmsm: the deepest tier's, else 0 */
	int64_t expires_at;
};

/* One product line of a basket and everything that may price it. */
struct checkout_line {
	int64_t now;                    /* epoch ms */
	int64_t list_price;             /* per unit */
	int64_t qty;
	int64_t other_spend;            /* the shop's other basket lines, after
					   their seller promotions */
	int64_t shipping;               /* shipping fee of the line */
	int new_customer;               /* never ordered from the shop */
	int64_t campaign_price;         /* -1 none; seller-funded */
	struct checkout_window campaign_window;
	const struct checkout_tool *seller;     /* own registrations */
	size_t nseller;
	const struct checkout_tool *offers;     /* smartpromo offers held */
	size_t noffers;
	const struct checkout_platform *platform;
	size_t nplatform;
	int32_t min_bps, max_bps;       /* the offers' plan range */
};

/* What the guarantee did to the smartpromo offers. */
enum checkout_guard {
	CHECKOUT_GUARD_OK,              /* within the plan's max, or no offer */
	CHECKOUT_GUARD_CLAMPED,         /* offers give less, seller at max */
	CHECKOUT_GUARD_WITHHELD         /* offers left out entirely */
};

/* Why something did not apply, for the daemon's counters. */
enum checkout_note {
	CHECKOUT_NOTE_FLASH_CAP = 1 << 0,       /* line over a flash cap */
	CHECKOUT_NOTE_FIXED_BLOCKED = 1 << 1,   /* fixed discount vs flash */
	CHECKOUT_NOTE_MIN_SPEND = 1 << 2,       /* a voucher's spend not met */
	CHECKOUT_NOTE_NOT_NEW = 1 << 3,         /* returning buyer */
	CHECKOUT_NOTE_SELLER_OVER_MAX = 1 << 4  /* own promotions alone exceed
						   the plan's max */
};

enum checkout_step_kind {
	CHECKOUT_STEP_SHIPPING_VOUCHER,
	CHECKOUT_STEP_CAMPAIGN,
	CHECKOUT_STEP_FLASH_SALE,
	CHECKOUT_STEP_SELLER_DISCOUNT,  /* product or new-customer discount */
	CHECKOUT_STEP_SELLER_BMSM,
	CHECKOUT_STEP_SELLER_VOUCHER,
	CHECKOUT_STEP_PLATFORM_FIXED,
	CHECKOUT_STEP_PLATFORM_BMSM,
	CHECKOUT_STEP_PLATFORM_VOUCHER
};

/* Who registered a promotion, and so which array index points into. */
enum checkout_origin {
	CHECKOUT_OWN,                   /* seller[] (-1: the campaign) */
	CHECKOUT_OFFER,                 /* offers[] */
	CHECKOUT_PLATFORM               /* platform[] */
};

/* One promotion that applied, in the order applied. */
struct checkout_step {
	enum checkout_step_kind kind;
	enum checkout_origin origin;
	int index;
	int64_t unit_off;               /* per unit (shipping: 0) */
	int64_t line_off;               /* unit_off * qty (shipping: its off) */
};

struct checkout_result {
	int64_t unit_price;             /* the buyer pays per unit */
	int64_t line_paid;              /* unit_price * qty */
	int64_t seller_unit, seller_line;       /* seller-funded discount */
	int64_t platform_unit, platform_line;   /* platform-funded discount */
	int64_t shipping_fee, shipping_off, shipping_charged;
	int64_t cap_unit;               /* floor(list * max_bps / 10000) */
	enum checkout_guard guard;
	int64_t clamped_unit;           /* taken back from the offers */
	int offer_used;                 /* a smartpromo offer gave something */
	unsigned notes;                 /* enum checkout_note bits */
	struct checkout_step steps[CHECKOUT_MAX_STEPS];
	int nsteps;
};

/*
 * Price one line.  Returns 0 with r filled, or -1 with the reason in err
 * (an input out of range; r is then unspecified).
 */
int checkout_calc(const struct checkout_line *l, struct checkout_result *r,
    char *err, size_t errlen);

/*
 * The offer of tool shape at discount level_bps for a product of list_price
 * under the range [min_bps, max_bps], made at now and valid until
 * expires_at.  The shape gives the kind and:
 *   voucher: min_qty, the min spend in units at list (0: 1);
 *   bmsm: tiers, their min_qty and a depth profile in bps (the deepest tier
 *     becomes the level, the others in proportion, none below min_bps;
 *     none: one tier from 2 units);
 *   flash_sale: cap, and window's length as the sale's length (0: until
 *     expires_at).
 * Returns 0, or -1 when no whole amount of money fits the range (a very
 * cheap product) or the shape is malformed.  The caller chooses expires_at:
 * a voucher, once claimed, may outlive the plan (checkout_claim_usable).
 */
int checkout_offer_make(const struct checkout_tool *shape, int64_t list_price,
    int32_t level_bps, int32_t min_bps, int32_t max_bps, int64_t now,
    int64_t expires_at, struct checkout_offer *o);

/* The money off base under bps and amount (-1: absent), in [0, base]. */
int64_t checkout_off(int64_t base, int32_t bps, int64_t amount);

/* The units of a qty line a flash sale may price (the rest: a new line). */
int64_t checkout_flash_units(const struct checkout_cap *cap, int64_t qty);

/* A voucher a buyer claimed from an offer. */
struct checkout_claim {
	int64_t claimed_at, expires_at;
	int used;                       /* redeemed by an order standing */
};

/* Nonzero if the voucher may be used at now (whether or not its plan is
 * still running). */
int checkout_claim_usable(const struct checkout_claim *c, int64_t now);

/*
 * An order that used the voucher was cancelled, refunded in full
 * (full_refund) or partly, or delivered, at now.  Returns 1 when the
 * voucher goes back to the buyer (cancelled or fully refunded while
 * unexpired), else 0.
 */
int checkout_claim_return(struct checkout_claim *c, enum order_status st,
    int full_refund, int64_t now);

/* The wire name of a kind ("flash_sale"), or "unknown". */
const char *checkout_kind_name(enum checkout_kind k);

/* The kind of a wire name; 0, or -1 if unknown. */
int checkout_kind_parse(const char *name, enum checkout_kind *k);

/* The step's name for reports ("platform_voucher"). */
const char *checkout_step_name(enum checkout_step_kind k);

/* The guard's name for metrics ("clamped"). */
const char *checkout_guard_name(enum checkout_guard g);

#endif
