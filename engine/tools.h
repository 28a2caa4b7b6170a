/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tools.h - which promotion tool an offer uses (docs/pricing.md).
 *
 * Pure.  Per shopper context, each tool keeps decayed counts of offers made
 * (n) and offers that sold (s); among the tools eligible for this view the
 * one with the best Thompson draw of its conversion is offered, and the
 * pricing learner (bandit.h) then picks the depth.  Eligibility:
 * new_customer_discount only for shoppers who never bought from the shop;
 * flash_sale never while a platform fixed discount is active on the
 * product.  Every offer is checked through the checkout calculator
 * (checkout.h) against the product's active platform promotions and
 * campaign at one unit and at the tool's threshold quantity; an offer the
 * guarantee would clamp or withhold is not made.
 */
#ifndef SP_TOOLS_H
#define SP_TOOLS_H

#include <stdint.h>

#include "checkout.h"
#include "plan.h"
#include "rng.h"

#define TOOLS_N CHECKOUT__KINDS
#define TOOLS_PLATFORM_KINDS 4  /* enum platform_kind */

struct tools_arms {
	double n[PLAN_CONTEXTS][TOOLS_N];
	double s[PLAN_CONTEXTS][TOOLS_N];
};

/* The product's latest platform promotion of each kind. */
struct tools_platform {
	char id[EVENT_ID_MAX];          /* "" when none */
	struct checkout_platform p;
};

/* The tools named in a comma list ("voucher,bmsm") as a bit mask. */
unsigned tools_parse(const char *list);

/* The tools eligible for one view, as a bit mask of enabled. */
unsigned tools_eligible(unsigned enabled, int ctx,
    const struct tools_platform pp[TOOLS_PLATFORM_KINDS], int64_t ts);

/* Thompson choice among the eligible tools; -1 when none is. */
int tools_choose(const struct tools_arms *a, unsigned eligible, int ctx,
    struct rng *r);

/* The default shape of a tool (voucher from 2 units, bmsm from 2, a
 * 2-hour flash sale capped at 2 units a buyer). */
void tools_shape(enum checkout_kind k, struct checkout_tool *shape);

/*
 * Nonzero if the offer keeps the guarantee with everything active on the
 * product at ts: 1 and 2 units and the tool's threshold quantity, priced
 * by checkout_calc() with its platform promotions and campaign.
 */
int tools_guard_ok(const struct checkout_offer *o,
    const struct tools_platform pp[TOOLS_PLATFORM_KINDS],
    int64_t campaign_price, int64_t campaign_start, int64_t campaign_end,
    int new_customer, int32_t min_bps, int32_t max_bps, int64_t ts);

/* Multiply every count by factor (forgetting). */
void tools_decay(struct tools_arms *a, double factor);

/* An offer made with tool k, and an offer of it that sold. */
void tools_expose(struct tools_arms *a, int ctx, int k);
void tools_convert(struct tools_arms *a, int ctx, int k);

/* Set one "tool:<ctx>:<kind>" = "<n> <s>" field; 0, 1 if not a tool
 * field, -1 if malformed. */
int tools_field(struct tools_arms *a, const char *name, const char *value);

/* Record a platform_promotion of this product; 0 or -1 (bad tiers). */
int tools_platform_set(struct tools_platform pp[TOOLS_PLATFORM_KINDS],
    const char *id, enum platform_kind kind, int32_t bps, int64_t amount,
    int64_t min_spend, int64_t start, int64_t end);

/* The "id|bps|amount|min_spend|start|end" value of a platform slot. */
int tools_platform_format(const struct tools_platform *t, char *buf,
    size_t len);
int tools_platform_parse(struct tools_platform pp[TOOLS_PLATFORM_KINDS],
    enum platform_kind kind, const char *s);

/* The "pp:<kind>" field name of a platform kind. */
const char *tools_platform_field(enum platform_kind kind);

#endif
