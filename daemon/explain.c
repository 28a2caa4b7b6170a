/* SPDX-License-Identifier: Apache-2.0 */
/*
 * explain.c - GET /v1/explain: read a product's state and describe the
 * decision the engine would make for a shopper, with what constrained it.
 */
#include "explain.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "pacing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ex_req {
	struct store *st;
	struct plans *plans;
	const struct pipeline *pl;
	explain_cb *cb;
	void *arg;
	struct product_state ps;
	int returning;
	int stage;
};

/* Finish: hand the JSON (or an error) over, free. */
static void
ex_done(struct ex_req *r, json_t *out, int status, const char *err)
{
	r->cb(out, status, err, r->arg);
	json_decref(out);
	product_state_release(&r->ps);
	free(r);
}

/* The levels with their counts and posterior means, per context. */
static json_t *
ex_levels(const struct engine_params *ep, const struct product_state *ps,
    const struct plan *p, int ctx)
{
	int32_t bps[PLAN_MAX_LEVELS];
	int n = bandit_levels(ps->arms.min_bps, ps->arms.max_bps,
	    ep->bandit.levels, bps);
	json_t *a = json_array();

	if (ps->arms.nlevels == 0)
		return a;
	for (int l = 0; l < n && l < ps->arms.nlevels; l++)
		json_array_append_new(a, json_pack("{s:i, s:i, s:f, s:f, s:f}",
		    "level", l, "discount_bps", bps[l], "exposures",
		    ps->arms.n[ctx][l], "conversions", ps->arms.s[ctx][l],
		    "posterior_mean", bandit_mean(&ps->arms, p ? &p->rt : NULL,
		    ctx, l, &ep->bandit)));
	return a;
}

/* The tools: enabled, eligible now, and what they taught. */
static json_t *
ex_tools(const struct engine_params *ep, const struct product_state *ps,
    int ctx, int64_t now)
{
	unsigned el = tools_eligible(ep->tools, ctx, ps->pp, now);
	json_t *a = json_array();

	for (int k = 0; k < TOOLS_N; k++)
		json_array_append_new(a, json_pack("{s:s, s:b, s:b, s:f, s:f}",
		    "tool", checkout_kind_name((enum checkout_kind)k),
		    "enabled", (ep->tools >> k) & 1, "eligible", (el >> k) & 1,
		    "exposures", ps->tools.n[ctx][k], "conversions",
		    ps->tools.s[ctx][k]));
	return a;
}

/* The platform promotions recorded on the product. */
static json_t *
ex_platform(const struct product_state *ps, int64_t now)
{
	json_t *a = json_array();

	for (int k = 0; k < TOOLS_PLATFORM_KINDS; k++) {
		const struct tools_platform *t = &ps->pp[k];

		if (t->id[0] == '\0')
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}",
		    "promotion_id", t->id, "kind", tools_platform_field(
		    (enum platform_kind)k) + 3, "active",
		    t->p.window.start <= now && (t->p.window.end == 0 ||
		    now < t->p.window.end)));
	}
	return a;
}

/* The constraints on a decision now. */
static json_t *
ex_constraints(const struct engine_params *ep, const struct product_state *ps,
    const struct plan *p, int64_t now)
{
	double target = p->roi_target > 0 ? p->roi_target :
	    ep->default_roi_target;
	int32_t min_bps, max_bps;

	plan_range_for(p, ps->product_id, &min_bps, &max_bps);
	return json_pack("{s:f, s:f, s:f, s:i, s:I, s:I, s:o, s:o, s:b, s:o}",
	    "roi_target", target, "lambda", pacing_lambda(&p->rt, target),
	    "lambda_integral", p->rt.lambda, "allowed_max_bps",
	    pacing_allowed_bps(&p->rt, target, max_bps), "day_gmv",
	    (json_int_t)p->rt.day_gmv, "day_cost", (json_int_t)p->rt.day_cost,
	    "budget", p->budget >= 0 ? json_integer(p->budget) : json_null(),
	    "budget_share_today", p->budget >= 0 ?
	    json_integer(engine_budget_share(p, 0, now)) : json_null(),
	    "campaign_active", ps->campaign_price >= 0 &&
	    ps->campaign_start <= now && now < ps->campaign_end,
	    "platform_promotions", ex_platform(ps, now));
}

/* The shopper's current offer record, or null. */
static json_t *
ex_offer(const struct product_state *ps)
{
	const struct offer_rec *o = ps->noffers > 0 ? &ps->offers[0] : NULL;

	if (o == NULL || !o->loaded)
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:b, s:b}",
	    "offer_id", o->offer_id, "plan_id", o->plan_id, "tool",
	    checkout_kind_name((enum checkout_kind)o->tool), "list_price",
	    (json_int_t)o->list_price, "offer_price",
	    (json_int_t)o->offer_price, "discount_bps", o->bps, "expires_at",
	    (json_int_t)o->expires_at, "converted", o->converted == 1, "expired",
	    o->expires_at <= clock_now_ms());
}

/* A sentence saying what decides the shopper's price. */
static void
ex_why(const struct engine_params *ep, const struct product_state *ps,
    const struct plan *p, const char *cust, int64_t now, char *buf,
    size_t len)
{
	if (p == NULL)
		snprintf(buf, len, "the product is in no active plan: no offer");
	else if (engine_in_holdout(cust, ep->holdout_pct))
		snprintf(buf, len, "the shopper is in the %.4g%% control group: "
		    "no offer, ever", ep->holdout_pct);
	else if (ps->campaign_price >= 0 && ps->campaign_start <= now &&
	    now < ps->campaign_end)
		snprintf(buf, len, "a platform campaign price holds until its "
		    "window ends: no offer meanwhile");
	else if (!ps->known)
		snprintf(buf, len, "no catalog event yet: the list price is "
		    "unknown");
	else {
		int32_t min_bps, max_bps;

		plan_range_for(p, ps->product_id, &min_bps, &max_bps);
		snprintf(buf, len, "each view draws a conversion rate per level "
		    "from its posterior (made non-decreasing in the discount) "
		    "and takes the level with the best expected GMV less lambda "
		    "times the ROI shortfall of its cost, deepest allowed "
		    "discount %d bps today", pacing_allowed_bps(&p->rt,
		    p->roi_target, max_bps));
	}
}

/* Build the explanation from the loaded state. */
static json_t *
ex_build(struct ex_req *r, const char *cust)
{
	const struct engine_params *ep = pipeline_params(r->pl);
	struct plan *p = plans_for_product(r->plans, r->ps.product_id);
	int64_t now = clock_now_ms();
	int ctx = r->returning ? 1 : 0;
	char why[512];
	json_t *plan = json_null();

	if (p != NULL) {
		int32_t mn, mx;

		plan_range_for(p, r->ps.product_id, &mn, &mx);
		plan = json_pack("{s:s, s:[f, f]}", "plan_id", p->plan_id,
		    "range", mn / 100.0, mx / 100.0);
	}
	ex_why(ep, &r->ps, p, cust, now, why, sizeof(why));
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:I, s:o, s:o, s:o, s:o, "
	    "s:s}", "product_id", r->ps.product_id, "customer_id", cust,
	    "context", ctx ? "returning" : "new", "holdout",
	    engine_in_holdout(cust, ep->holdout_pct), "plan", plan,
	    "list_price", (json_int_t)r->ps.price, "levels",
	    ex_levels(ep, &r->ps, p, ctx), "tools", ex_tools(ep, &r->ps, ctx,
	    now), "constraints", p ? ex_constraints(ep, &r->ps, p, now) :
	    json_null(), "offer", ex_offer(&r->ps), "why", why);
}

/* The names and values of an HGETALL reply (pointers into it). */
static void
ex_load_hash(struct ex_req *r, const redisReply *h, int arms)
{
	size_t n = h->elements / 2;
	const char **nm = calloc(n + 1, sizeof(*nm)), **vl = calloc(n + 1,
	    sizeof(*vl));
	char err[256];

	if (nm == NULL || vl == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < n; i++) {
		nm[i] = h->element[2 * i]->str;
		vl[i] = h->element[2 * i + 1]->str;
	}
	if ((arms ? product_state_load_arms(&r->ps, nm, vl, n, err,
	    sizeof(err)) : product_state_load(&r->ps, nm, vl, n, err,
	    sizeof(err))) == -1)
		log_warnx("explain: %s", err);
	free(nm);
	free(vl);
}

/* The second reply: returning buyer or not; answer. */
static void
ex_buyer_cb(redisAsyncContext *ac, void *rp, void *priv)
{
	struct ex_req *r = priv;
	redisReply *reply = rp;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		ex_done(r, NULL, 503, "the store did not answer");
		return;
	}
	r->returning = reply->integer == 1;
	ex_done(r, ex_build(r, r->ps.offers[0].customer_id), 200, NULL);
}

/* The first reply: product, arms, offer; then ask about the shop. */
static void
ex_state_cb(redisAsyncContext *ac, void *rp, void *priv)
{
	struct ex_req *r = priv;
	redisReply *reply = rp;
	/* the one customer explain_run() asked for (store_load) */
	struct store_load_ask ask = { NULL, 1, NULL, 0, NULL, 0 };
	const redisReply *part[STORE_LOAD_PARTS];
	char key[400];
	const char *argv[3];

	(void)ac;
	if (store_load_parts(reply, &ask, part) == -1) {
		ex_done(r, NULL, 503, "the store did not answer");
		return;
	}
	ex_load_hash(r, part[STORE_LOAD_PRODUCT], 0);
	ex_load_hash(r, part[STORE_LOAD_ARMS], 1);
	if (part[STORE_LOAD_OFFERS]->elements == 1 &&
	    part[STORE_LOAD_OFFERS]->element[0]->type == REDIS_REPLY_STRING)
		offer_rec_parse(&r->ps.offers[0],
		    part[STORE_LOAD_OFFERS]->element[0]->str);
	if (part[STORE_LOAD_PRODUCT]->elements == 0) {
		ex_done(r, NULL, 404, "unknown product");
		return;
	}
	argv[0] = "SISMEMBER";
	argv[1] = store_key(r->st, key, sizeof(key), "buyers:%s",
	    r->ps.shop_id);
	argv[2] = r->ps.offers[0].customer_id;
	if (store_command(r->st, ex_buyer_cb, r, 3, argv, NULL) == -1)
		ex_done(r, NULL, 503, "the store is not available");
}

/* Start an explanation. */
int
explain_run(struct store *st, struct plans *plans, const struct pipeline *pl,
    const char *product_id, const char *customer_id, explain_cb *cb,
    void *arg)
{
	struct ex_req *r = calloc(1, sizeof(*r));
	struct store_load_ask ask = { &customer_id, 1, NULL, 0, NULL, 0 };

	if (r == NULL)
		fatalx("out of memory");
	r->st = st;
	r->plans = plans;
	r->pl = pl;
	r->cb = cb;
	r->arg = arg;
	product_state_init(&r->ps, product_id);
	if (product_state_offer(&r->ps, customer_id) == NULL)
		fatalx("out of memory");
	if (store_load(st, product_id, &ask, ex_state_cb, r) == -1) {
		product_state_release(&r->ps);
		free(r);
		return -1;
	}
	return 0;
}
