/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tools.c - tool eligibility, choice, shapes and the guarantee check.
 */
#include "tools.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tools_ctx[PLAN_CONTEXTS] = { "new", "ret" };
static const char *const tools_pp_fields[TOOLS_PLATFORM_KINDS] = {
	"pp:shipping_voucher", "pp:product_voucher", "pp:fixed_discount",
	"pp:bmsm"
};

/* Bit mask of the named tools. */
unsigned
tools_parse(const char *list)
{
	char buf[512], *tok, *save = NULL;
	unsigned m = 0;

	util_strlcpy(buf, list, sizeof(buf));
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		enum checkout_kind k;

		if (checkout_kind_parse(tok, &k) == 0)
			m |= 1u << k;
	}
	return m;
}

/* Nonzero while a platform slot's window holds ts. */
static int
tools_platform_active(const struct tools_platform *t, int64_t ts)
{
	return t->id[0] != '\0' && t->p.window.start <= ts &&
	    (t->p.window.end == 0 || ts < t->p.window.end);
}

/* Eligible tools for this view. */
unsigned
tools_eligible(unsigned enabled, int ctx,
    const struct tools_platform pp[TOOLS_PLATFORM_KINDS], int64_t ts)
{
	unsigned m = enabled;

	if (ctx != 0)
		m &= ~(1u << CHECKOUT_NEW_CUSTOMER_DISCOUNT);
	if (tools_platform_active(&pp[PLATFORM_FIXED_DISCOUNT], ts))
		m &= ~(1u << CHECKOUT_FLASH_SALE);
	return m;
}

/* Thompson draw over the eligible tools. */
int
tools_choose(const struct tools_arms *a, unsigned eligible, int ctx,
    struct rng *r)
{
	double best = -1.0;
	int k = -1;

	for (int t = 0; t < TOOLS_N; t++) {
		double n = a->n[ctx][t], s = a->s[ctx][t], th;

		if (!(eligible & (1u << t)))
			continue;
		if (s > n)
			s = n;
		th = rng_beta(r, 1.0 + s, 1.0 + (n - s));
		if (th > best) {
			best = th;
			k = t;
		}
	}
	return k;
}

/* Default shapes. */
void
tools_shape(enum checkout_kind k, struct checkout_tool *shape)
{
	memset(shape, 0, sizeof(*shape));
	shape->kind = k;
	shape->discount_bps = -1;
	shape->amount = -1;
	if (k == CHECKOUT_VOUCHER)
		shape->min_qty = 2;
	else if (k == CHECKOUT_FLASH_SALE) {
		shape->cap.per_buyer = 2;
		shape->window.end = 2 * 3600 * 1000LL;  /* its length */
	}
}

/* The guarantee at one quantity. */
static int
tools_guard_at(const struct checkout_offer *o,
    const struct checkout_platform *plat, size_t nplat,
    int64_t campaign_price, int64_t cs, int64_t ce, int new_customer,
    int32_t min_bps, int32_t max_bps, int64_t ts, int64_t qty)
{
	struct checkout_line l = { .now = ts, .list_price = o->list_price,
	    .qty = qty, .new_customer = new_customer,
	    .campaign_price = campaign_price, .campaign_window = { cs, ce },
	    .offers = &o->tool, .noffers = 1, .platform = plat,
	    .nplatform = nplat, .min_bps = min_bps, .max_bps = max_bps };
	struct checkout_result r;
	char err[128];

	if (checkout_calc(&l, &r, err, sizeof(err)) == -1)
		return 0;
	return r.guard == CHECKOUT_GUARD_OK && r.unit_price >= 0 &&
	    r.unit_price <= o->list_price;
}

/* The guarantee at 1, 2 and the threshold quantity. */
int
tools_guard_ok(const struct checkout_offer *o,
    const struct tools_platform pp[TOOLS_PLATFORM_KINDS],
    int64_t campaign_price, int64_t campaign_start, int64_t campaign_end,
    int new_customer, int32_t min_bps, int32_t max_bps, int64_t ts)
{
	struct checkout_platform plat[TOOLS_PLATFORM_KINDS];
	size_t n = 0;
	int64_t qs[3] = { 1, 2, o->min_qty > 2 ? o->min_qty : 3 };

	for (int k = 0; k < TOOLS_PLATFORM_KINDS; k++)
		if (tools_platform_active(&pp[k], ts))
			plat[n++] = pp[k].p;
	if (campaign_price < 0)
		campaign_start = campaign_end = 0;
	for (int i = 0; i < 3; i++)
		if (!tools_guard_at(o, plat, n, campaign_price, campaign_start,
		    campaign_end, new_customer, min_bps, max_bps, ts, qs[i]))
			return 0;
	return 1;
}

/* Forget old evidence. */
void
tools_decay(struct tools_arms *a, double factor)
{
	for (int c = 0; c < PLAN_CONTEXTS; c++)
		for (int t = 0; t < TOOLS_N; t++) {
			a->n[c][t] *= factor;
			a->s[c][t] *= factor;
		}
}

void
tools_expose(struct tools_arms *a, int ctx, int k)
{
	a->n[ctx][k] += 1.0;
}

void
tools_convert(struct tools_arms *a, int ctx, int k)
{
	a->s[ctx][k] += 1.0;
	if (a->s[ctx][k] > a->n[ctx][k])
		a->n[ctx][k] = a->s[ctx][k];
}

/* "<ctx>:<kind>" as sscanf(s, "%7[^:]:%39s", ctx, kind) reads it when
 * both parts are plain (ctx 1..7 bytes, kind 1..39 bytes without
 * whitespace, nothing after); -1 otherwise (sscanf decides). */
static int
tools_split(const char *s, char ctx[8], char kind[40])
{
	const char *colon = strchr(s, ':');
	size_t lc, lk;

	if (colon == NULL || (lc = (size_t)(colon - s)) < 1 || lc > 7)
		return -1;
	for (lk = 0; colon[1 + lk] != '\0'; lk++)
		if (lk == 39 || strchr(" \t\n\v\f\r", colon[1 + lk]) != NULL)
			return -1;
	if (lk == 0)
		return -1;
	memcpy(ctx, s, lc);
	ctx[lc] = '\0';
	memcpy(kind, colon + 1, lk + 1);
	return 0;
}

/* One "tool:<ctx>:<kind>" field. */
int
tools_field(struct tools_arms *a, const char *name, const char *value)
{
	char ctx[8], kind[40];
	enum checkout_kind k;
	double n, s;
	int c = -1;

	if (strncmp(name, "tool:", 5) != 0)
		return 1;
	if (tools_split(name + 5, ctx, kind) == -1 &&
	    sscanf(name + 5, "%7[^:]:%39s", ctx, kind) != 2)
		return -1;
	if (checkout_kind_parse(kind, &k) == -1)
		return -1;
	for (int i = 0; i < PLAN_CONTEXTS; i++)
		if (strcmp(ctx, tools_ctx[i]) == 0)
			c = i;
	if (c < 0 || util_scan_pair(value, &n, &s) != 2 || !isfinite(n) ||
	    !isfinite(s) || n < 0 || s < 0)
		return -1;
	a->n[c][k] = n;
	a->s[c][k] = s;
	return 0;
}

/* Record a platform promotion. */
int
tools_platform_set(struct tools_platform pp[TOOLS_PLATFORM_KINDS],
    const char *id, enum platform_kind kind, int32_t bps, int64_t amount,
    int64_t min_spend, int64_t start, int64_t end)
{
	struct tools_platform *t;

	if ((int)kind < 0 || kind >= TOOLS_PLATFORM_KINDS)
		return -1;
	t = &pp[kind];
	memset(t, 0, sizeof(*t));
	util_strlcpy(t->id, id, sizeof(t->id));
	t->p.kind = kind;
	t->p.discount_bps = bps;
	t->p.amount = amount;
	t->p.min_spend = min_spend > 0 ? min_spend : 0;
	t->p.window.start = start;
	t->p.window.end = end;
	if (kind == PLATFORM_BMSM) {    /* one tier from 2 units */
		t->p.tiers[0] = (struct checkout_tier){ 2, bps, amount };
		t->p.ntiers = 1;
	}
	return 0;
}

/* "id|bps|amount|min_spend|start|end" */
int
tools_platform_format(const struct tools_platform *t, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s|%" PRId32 "|%" PRId64 "|%" PRId64 "|%"
	    PRId64 "|%" PRId64, t->id, t->p.discount_bps, t->p.amount,
	    t->p.min_spend, t->p.window.start, t->p.window.end);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Parse a platform slot value. */
int
tools_platform_parse(struct tools_platform pp[TOOLS_PLATFORM_KINDS],
    enum platform_kind kind, const char *s)
{
	char id[EVENT_ID_MAX];
	const char *bar = strchr(s, '|');
	int32_t bps;
	int64_t amount, min_spend, start, end;
	int n = 0;

	if (bar == NULL || (size_t)(bar - s) >= sizeof(id))
		return -1;
	memcpy(id, s, (size_t)(bar - s));
	id[bar - s] = '\0';
	if (sscanf(bar + 1, "%" SCNd32 "|%" SCNd64 "|%" SCNd64 "|%" SCNd64 "|%"
	    SCNd64 "%n", &bps, &amount, &min_spend, &start, &end, &n) != 5 ||
	    bar[1 + n] != '\0')
		return -1;
	return tools_platform_set(pp, id, kind, bps, amount, min_spend, start,
	    end);
}

/* Field name of a platform kind. */
const char *
tools_platform_field(enum platform_kind kind)
{
	return (int)kind >= 0 && kind < TOOLS_PLATFORM_KINDS ?
	    tools_pp_fields[kind] : "pp:unknown";
}
