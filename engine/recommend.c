/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recommend.c - Recommended Strategies: pooled conversion curves per
 * category (isotonic in the discount, shrunk toward a prior elasticity),
 * each product's baseline and scale, the ROI-safe near-best discount range,
 * its expected effect, the stable recommendation id, and the plan body that
 * applies it.  Model in recommend.h and docs/metrics.md.
 */
#include "recommend.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECOMMEND_POINTS (RECOMMEND_NBUCKETS + 1)
#define RECOMMEND_BPS_MAX 10000
#define RECOMMEND_ROI_MIN 1.0
#define RECOMMEND_ROI_MAX 100.0
#define RECOMMEND_FNV_OFFSET 0xcbf29ce484222325ULL
#define RECOMMEND_FNV_PRIME 0x100000001b3ULL
#define RECOMMEND_NAME_MAX 128

/* A fitted conversion curve: points (d, f) with weights w, d ascending. */
struct recommend_curve {
	enum recommend_source source;
	const char *category;   /* the pool's, for the assumptions */
	double offers;          /* pooled offers behind the curve */
	int np;
	double d[RECOMMEND_POINTS], f[RECOMMEND_POINTS], w[RECOMMEND_POINTS];
};

/* What is known of one product while its item is made. */
struct recommend_calc {
	const struct recommend_params *rp;
	const struct recommend_curve *cv;
	double b;               /* no-promotion conversion per view */
	double kappa;
	double u;               /* units per order line */
	double price;
};

/* The defaults documented in recommend.h and docs/metrics.md. */
void
recommend_params_default(struct recommend_params *rp)
{
	rp->min_bps = 500;
	rp->max_bps = 3000;
	rp->step_bps = 250;
	rp->min_width_bps = 500;
	rp->roi_target = 5.0;
	rp->near_share = 0.25;
	rp->prior_conversion = 0.05;
	rp->prior_elasticity = 2.0;
	rp->prior_strength = 20;
	rp->days = 14;
}

/* Check the discount grid; 0 or -1 with err. */
static int
recommend_check_grid(const struct recommend_params *rp, char *err,
    size_t errlen)
{
	if (rp->min_bps < RECOMMEND_BUCKET_BPS || rp->max_bps < rp->min_bps ||
	    rp->max_bps > RECOMMEND_BPS_MAX || rp->min_bps % 25 != 0 ||
	    rp->max_bps % 25 != 0)
		return util_fail(err, errlen, "\"min_bps\" and "
		    "\"max_bps\" must be multiples of 25 with 25 <= min <= "
		    "max <= %d",
		    RECOMMEND_BPS_MAX);
	if (rp->step_bps < RECOMMEND_BUCKET_BPS || rp->step_bps % 25 != 0)
		return util_fail(err, errlen, "\"step_bps\" must be a "
		    "positive multiple of 25");
	if (rp->min_width_bps < 0 || rp->min_width_bps > RECOMMEND_BPS_MAX)
		return util_fail(err, errlen, "\"min_width_bps\" must be "
		    "from 0 to %d", RECOMMEND_BPS_MAX);
	return 0;
}

/* Check the parameters; 0 or -1 with err. */
int
recommend_params_check(const struct recommend_params *rp, char *err,
    size_t errlen)
{
	if (recommend_check_grid(rp, err, errlen) == -1)
		return -1;
	if (!(rp->roi_target >= RECOMMEND_ROI_MIN &&
	    rp->roi_target <= RECOMMEND_ROI_MAX))
		return util_fail(err, errlen, "\"roi_target\" must be "
		    "from %g to %g", RECOMMEND_ROI_MIN, RECOMMEND_ROI_MAX);
	if (!(rp->near_share >= 0 && rp->near_share <= 1))
		return util_fail(err, errlen, "\"near_share\" must be "
		    "from 0 to 1");
	if (!(rp->prior_conversion > 0 && rp->prior_conversion < 1))
		return util_fail(err, errlen, "\"prior_conversion\" must "
		    "be above 0 and below 1");
	if (!(rp->prior_elasticity >= 0 && rp->prior_elasticity <= 10))
		return util_fail(err, errlen, "\"prior_elasticity\" must "
		    "be from 0 to 10");
	if (!(rp->prior_strength > 0 && rp->prior_strength <= 1e6))
		return util_fail(err, errlen, "\"prior_strength\" must be "
		    "above 0 and at most 1e6");
	if (rp->days < 7 || rp->days > 365)
		return util_fail(err, errlen, "\"days\" must be from 7 to "
		    "365");
	return 0;
}

/* A product's arms as levels, contexts summed. */
int
recommend_levels_from_arms(const struct bandit_arms *a, int wanted_levels,
    struct recommend_level *out)
{
	int32_t bps[PLAN_MAX_LEVELS];
	double total = 0;
	int n;

	if (a->nlevels < 1 || a->nlevels > PLAN_MAX_LEVELS ||
	    a->min_bps < 1 || a->max_bps < a->min_bps || wanted_levels < 1)
		return 0;
	n = bandit_levels(a->min_bps, a->max_bps, wanted_levels, bps);
	if (n != a->nlevels)
		return 0;
	for (int l = 0; l < n; l++) {
		out[l].bps = bps[l];
		out[l].n = out[l].s = 0;
		for (int c = 0; c < PLAN_CONTEXTS; c++) {
			out[l].n += a->n[c][l];
			out[l].s += a->s[c][l];
		}
		total += out[l].n;
	}
	return total > 0 ? n : 0;
}

/* Zero a pool and name its category. */
void
recommend_pool_init(struct recommend_pool *p, const char *category)
{
	memset(p, 0, sizeof(*p));
	if (category != NULL)
		snprintf(p->category, sizeof(p->category), "%s", category);
}

/* The bucket of a discount (1..RECOMMEND_NBUCKETS - 1). */
static int
recommend_bucket(int32_t bps)
{
	int b = (bps + RECOMMEND_BUCKET_BPS / 2) / RECOMMEND_BUCKET_BPS;

	if (b < 1)
		return 1;
	return b >= RECOMMEND_NBUCKETS ? RECOMMEND_NBUCKETS - 1 : b;
}

/* Add levels into the pool's buckets. */
void
recommend_pool_add(struct recommend_pool *p, const struct recommend_level *lv,
    int n)
{
	for (int i = 0; i < n; i++) {
		int b = recommend_bucket(lv[i].bps);

		if (!(lv[i].n > 0) || !(lv[i].s >= 0) || !isfinite(lv[i].n) ||
		    !isfinite(lv[i].s))
			continue;
		p->n[b] += lv[i].n;
		p->s[b] += fmin(lv[i].s, lv[i].n);
	}
}

/* The prior's shape of conversion in the discount d: (1 - d)^-e. */
static double
recommend_shape(const struct recommend_params *rp, double d)
{
	return pow(1 - fmin(d, 0.99), -rp->prior_elasticity);
}

/* Weighted pool adjacent violators: make f[0..n-1] non-decreasing. */
static void
recommend_pava(double *f, const double *w, int n)
{
	double bv[RECOMMEND_POINTS], bw[RECOMMEND_POINTS];
	int bn[RECOMMEND_POINTS], nb = 0, k = 0;

	for (int i = 0; i < n; i++) {
		bv[nb] = f[i];
		bw[nb] = w[i];
		bn[nb++] = 1;
		while (nb > 1 && bv[nb - 2] > bv[nb - 1]) {
			double ww = bw[nb - 2] + bw[nb - 1];

			bv[nb - 2] = (bv[nb - 2] * bw[nb - 2] +
			    bv[nb - 1] * bw[nb - 1]) / ww;
			bw[nb - 2] = ww;
			bn[nb - 2] += bn[nb - 1];
			nb--;
		}
	}
	for (int b = 0; b < nb; b++)
		for (int j = 0; j < bn[b]; j++)
			f[k++] = bv[b];
}

/* Fit the curve of a pool (NULL: the prior alone). */
static void
recommend_curve_fit(const struct recommend_params *rp,
    const struct recommend_pool *p, enum recommend_source src,
    struct recommend_curve *cv)
{
	double m = rp->prior_strength, base;
	int64_t bv = p != NULL && p->base_views > 0 ? p->base_views : 0;
	int64_t bo = p != NULL && p->base_orders > 0 ? p->base_orders : 0;

	memset(cv, 0, sizeof(*cv));
	cv->source = src;
	cv->category = p != NULL ? p->category : "";
	base = ((double)bo + m * rp->prior_conversion) / ((double)bv + m);
	cv->d[0] = 0;
	cv->f[0] = fmin(base, 1);
	cv->w[0] = (double)bv + m;
	cv->np = 1;
	for (int b = 1; p != NULL && b < RECOMMEND_NBUCKETS; b++) {
		double d = (double)(b * RECOMMEND_BUCKET_BPS) / 1e4;
		double prior = fmin(cv->f[0] * recommend_shape(rp, d), 1);

		if (!(p->n[b] > 0))
			continue;
		cv->d[cv->np] = d;
		cv->f[cv->np] = (p->s[b] + m * prior) / (p->n[b] + m);
		cv->w[cv->np++] = p->n[b] + m;
		cv->offers += p->n[b];
	}
	recommend_pava(cv->f, cv->w, cv->np);
}

/* The curve's conversion at discount d. */
static double
recommend_curve_at(const struct recommend_params *rp,
    const struct recommend_curve *cv, double d)
{
	int i = 0;

	while (i + 1 < cv->np && cv->d[i + 1] <= d)
		i++;
	if (i + 1 == cv->np)
		return cv->f[i] * recommend_shape(rp, d) /
		    recommend_shape(rp, cv->d[i]);
	return cv->f[i] + (cv->f[i + 1] - cv->f[i]) * (d - cv->d[i]) /
	    (cv->d[i + 1] - cv->d[i]);
}

/* The lift L(d) = c(d) / c(0) of a curve. */
static double
recommend_lift(const struct recommend_params *rp,
    const struct recommend_curve *cv, double d)
{
	return recommend_curve_at(rp, cv, d) / cv->f[0];
}

/* Nonzero if a pool has taught anything. */
static int
recommend_pool_used(const struct recommend_pool *p)
{
	if (p->base_views > 0)
		return 1;
	for (int b = 0; b < RECOMMEND_NBUCKETS; b++)
		if (p->n[b] > 0)
			return 1;
	return 0;
}

/* The curve for a category: its pool's, else the shop's, else the prior. */
static const struct recommend_curve *
recommend_curve_for(const char *category, const struct recommend_pool *pools,
    const struct recommend_curve *curves, size_t npools)
{
	const struct recommend_curve *shop = NULL;

	for (size_t i = 0; i < npools; i++) {
		if (curves[i].source == RECOMMEND_PRIOR)
			continue;
		if (pools[i].category[0] == '\0')
			shop = &curves[i];
		else if (category[0] != '\0' &&
		    strcmp(pools[i].category, category) == 0)
			return &curves[i];
	}
	return shop != NULL ? shop : &curves[npools];
}

/* Fit every pool's curve and the prior's (last); NULL if out of memory. */
static struct recommend_curve *
recommend_curves(const struct recommend_params *rp,
    const struct recommend_pool *pools, size_t npools)
{
	struct recommend_curve *c = calloc(npools + 1, sizeof(*c));

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < npools; i++)
		recommend_curve_fit(rp, &pools[i], !recommend_pool_used(
		    &pools[i]) ? RECOMMEND_PRIOR : pools[i].category[0] ?
		    RECOMMEND_CATEGORY : RECOMMEND_SHOP, &c[i]);
	recommend_curve_fit(rp, NULL, RECOMMEND_PRIOR, &c[npools]);
	return c;
}

/* The product's scale kappa from its own arms (1 without). */
static double
recommend_kappa(const struct recommend_calc *k,
    const struct recommend_product *p, double *offers)
{
	double n = 0, s = 0, e = 0, m = k->rp->prior_strength;

	for (int l = 0; l < p->nlevels && l < PLAN_MAX_LEVELS; l++) {
		if (!(p->levels[l].n > 0) || !isfinite(p->levels[l].n) ||
		    !(p->levels[l].s >= 0) || !isfinite(p->levels[l].s))
			continue;
		n += p->levels[l].n;
		s += fmin(p->levels[l].s, p->levels[l].n);
		e += p->levels[l].n * k->b * recommend_lift(k->rp, k->cv,
		    p->levels[l].bps / 1e4);
	}
	*offers = n;
	if (!(n > 0) || !(e > 0))
		return 1;
	return (n * s / e + m) / (n + m);
}

/* Conversion per view at discount bps. */
static double
recommend_conv(const struct recommend_calc *k, int32_t bps)
{
	double c = k->b * recommend_lift(k->rp, k->cv, bps / 1e4) * k->kappa;

	return fmin(fmax(c, k->b), 1);
}

/* Extra GMV per view over no promotion at discount bps. */
static double
recommend_extra(const struct recommend_calc *k, int32_t bps)
{
	double c = recommend_conv(k, bps);

	return (c * (1 - bps / 1e4) - k->b) * k->price * k->u;
}

/* Nonzero if a discount's own ROI, (1 - d) / d, meets the target. */
static int
recommend_safe(const struct recommend_params *rp, int32_t bps)
{
	return (double)(RECOMMEND_BPS_MAX - bps) >= rp->roi_target *
	    (double)bps;
}

/* The best candidate (most extra GMV); 0 when none meets the target. */
static int
recommend_best(const struct recommend_calc *k, int32_t *best)
{
	const struct recommend_params *rp = k->rp;
	double top = 0;
	int found = 0;

	for (int32_t d = rp->min_bps; d <= rp->max_bps; d += rp->step_bps) {
		double x;

		if (!recommend_safe(rp, d))
			break;
		x = recommend_extra(k, d);
		if (!found || x > top) {
			top = x;
			*best = d;
			found = 1;
		}
	}
	if (found && !(top > 0))
		*best = rp->min_bps;
	return found;
}

/* The near-best range around best, widened to min_width_bps. */
static void
recommend_range(const struct recommend_calc *k, int32_t best,
    struct recommend_item *it)
{
	const struct recommend_params *rp = k->rp;
	double top = recommend_extra(k, best);

	it->min_bps = it->max_bps = best;
	for (int32_t d = rp->min_bps; top > 0 && d <= rp->max_bps &&
	    recommend_safe(rp, d); d += rp->step_bps)
		if (recommend_extra(k, d) >= top * (1 - rp->near_share)) {
			it->min_bps = d < it->min_bps ? d : it->min_bps;
			it->max_bps = d > it->max_bps ? d : it->max_bps;
		}
	while (it->max_bps - it->min_bps < rp->min_width_bps &&
	    it->min_bps - rp->step_bps >= rp->min_bps)
		it->min_bps -= rp->step_bps;
	while (it->max_bps - it->min_bps < rp->min_width_bps &&
	    it->max_bps + rp->step_bps <= rp->max_bps &&
	    recommend_safe(rp, it->max_bps + rp->step_bps))
		it->max_bps += rp->step_bps;
}

/* The expected effect at the best discount. */
static void
recommend_effect(const struct recommend_calc *k, struct recommend_item *it)
{
	double d = it->best_bps / 1e4, c = recommend_conv(k, it->best_bps);
	double extra = recommend_extra(k, it->best_bps);
	double cost = c * k->price * k->u * d;

	it->conversion = c;
	it->extra_orders_1k = 1000 * (c - k->b);
	it->extra_gmv_1k = llround(1000 * extra);
	it->roi = (1 - d) / d;
	it->has_incr_roi = cost > 0;
	it->incr_roi = cost > 0 ? extra / cost : 0;
}

/* Where the lift came from, in words. */
static void
recommend_source_text(const struct recommend_calc *k, char *buf, size_t len)
{
	if (k->cv->source == RECOMMEND_CATEGORY)
		snprintf(buf, len, "the category \"%.*s\" (%.0f offers)",
		    util_utf8_prefix(k->cv->category,
		    strlen(k->cv->category), 60), k->cv->category,
		    k->cv->offers);
	else if (k->cv->source == RECOMMEND_SHOP)
		snprintf(buf, len, "the shop's plans (%.0f offers)",
		    k->cv->offers);
	else
		snprintf(buf, len, "the prior elasticity %.2f (no plan data)",
		    k->rp->prior_elasticity);
}

/* The assumptions behind an item, in words. */
static void
recommend_assumptions(const struct recommend_calc *k,
    const struct recommend_product *p, struct recommend_item *it)
{
	char src[96], own[64] = "";

	recommend_source_text(k, src, sizeof(src));
	if (it->own_offers > 0)
		snprintf(own, sizeof(own), "; its own %.0f offers scale the "
		    "lift by %.2f", it->own_offers, it->kappa);
	if (!it->has_range) {
		snprintf(it->assumptions, sizeof(it->assumptions), "no "
		    "discount from %.2f%% has ROI (1 - d) / d >= %.2f: a "
		    "promotion cannot meet the target", k->rp->min_bps / 100.0,
		    k->rp->roi_target);
		return;
	}
	snprintf(it->assumptions, sizeof(it->assumptions), "one offer "
	    "per view; %.2f units per order line; no-promotion conversion "
	    "%.2f%% (%lld order lines in %lld views, shrunk toward %.2f%%); "
	    "lift from %s%s; ROI = GMV / promotion cost of promoted orders = "
	    "(1 - d) / d; effect at %.2f%%", k->u, k->b * 100,
	    (long long)p->orders, (long long)p->views, k->cv->f[0] * 100, src,
	    own, it->best_bps / 100.0);
}

/* Make the item of one product with its curve. */
static void
recommend_item_make(const struct recommend_params *rp,
    const struct recommend_product *p, const struct recommend_curve *cv,
    struct recommend_item *it)
{
	struct recommend_calc k = { rp, cv, 0, 1, 1, (double)p->price };
	int64_t views = p->views > 0 ? p->views : 0;
	int64_t orders = p->orders > 0 ? p->orders : 0;

	memset(it, 0, sizeof(*it));
	memcpy(it->product_id, p->product_id, sizeof(it->product_id));
	memcpy(it->category, p->category, sizeof(it->category));
	it->product_id[sizeof(it->product_id) - 1] = '\0';
	it->category[sizeof(it->category) - 1] = '\0';
	it->price = p->price;
	it->views = p->views;
	it->source = cv->source;
	k.b = fmin(((double)orders + rp->prior_strength * cv->f[0]) /
	    ((double)views + rp->prior_strength), 1);
	k.u = orders > 0 && p->units > 0 ? (double)p->units / orders : 1;
	k.kappa = it->kappa = recommend_kappa(&k, p, &it->own_offers);
	it->base_conversion = k.b;
	snprintf(it->tools[0].tool, sizeof(it->tools[0].tool), "%s",
	    "product_discount");
	it->tools[0].share_pct = 100;
	it->ntools = 1;
	it->has_range = recommend_best(&k, &it->best_bps);
	if (it->has_range) {
		recommend_range(&k, it->best_bps, it);
		recommend_effect(&k, it);
	}
	recommend_assumptions(&k, p, it);
}

/* Order items by product id for qsort. */
static int
recommend_item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct recommend_item *)a)->product_id,
	    ((const struct recommend_item *)b)->product_id);
}

/* FNV-1a 64 of len bytes, continuing from h. */
static uint64_t
recommend_fnv(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= RECOMMEND_FNV_PRIME;
	}
	return h;
}

/* The set's id from shop, date and its sorted product ids. */
static void
recommend_set_id(struct recommend_set *s)
{
	uint64_t h = RECOMMEND_FNV_OFFSET;

	h = recommend_fnv(h, s->shop_id, strlen(s->shop_id) + 1);
	h = recommend_fnv(h, s->date, strlen(s->date) + 1);
	for (size_t i = 0; i < s->nitems; i++)
		h = recommend_fnv(h, s->items[i].product_id,
		    strlen(s->items[i].product_id) + 1);
	snprintf(s->id, sizeof(s->id), "rc-%016" PRIx64, h);
}

/* Make, sort and check the items; 0 or -1 with err. */
static int
recommend_items(const struct recommend_params *rp,
    const struct recommend_product *p, size_t n,
    const struct recommend_pool *pools, const struct recommend_curve *cv,
    size_t npools, struct recommend_set *out, char *err, size_t errlen)
{
	out->items = calloc(n > 0 ? n : 1, sizeof(*out->items));
	if (out->items == NULL)
		return util_fail(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (p[i].in_plan || p[i].price <= 0)
			continue;
		recommend_item_make(rp, &p[i], recommend_curve_for(
		    p[i].category, pools, cv, npools),
		    &out->items[out->nitems++]);
	}
	qsort(out->items, out->nitems, sizeof(*out->items),
	    recommend_item_cmp);
	for (size_t i = 1; i < out->nitems; i++)
		if (strcmp(out->items[i].product_id,
		    out->items[i - 1].product_id) == 0)
			return util_fail(err, errlen, "product \"%s\" "
			    "appears twice", out->items[i].product_id);
	return 0;
}

/* Recommend for a shop's products. */
int
recommend_compute(const struct recommend_params *rp, const char *shop_id,
    const char *date, const struct recommend_product *p, size_t n,
    const struct recommend_pool *pools, size_t npools,
    struct recommend_set *out, char *err, size_t errlen)
{
	struct recommend_curve *cv;
	int rc;

	memset(out, 0, sizeof(*out));
	if (recommend_params_check(rp, err, errlen) == -1)
		return -1;
	if (date == NULL || !snapshot_date_ok(date))
		return util_fail(err, errlen, "date \"%s\" is not "
		    "YYYY-MM-DD", date != NULL ? date : "");
	if (shop_id == NULL || shop_id[0] == '\0' ||
	    strlen(shop_id) >= sizeof(out->shop_id))
		return util_fail(err, errlen, "shop id must be 1 to %zu "
		    "bytes", sizeof(out->shop_id) - 1);
	if ((cv = recommend_curves(rp, pools, npools)) == NULL)
		return util_fail(err, errlen, "out of memory");
	memcpy(out->shop_id, shop_id, strlen(shop_id) + 1);
	memcpy(out->date, date, SNAPSHOT_DATE_MAX);
	out->roi_target = rp->roi_target;
	out->days = rp->days;
	rc = recommend_items(rp, p, n, pools, cv, npools, out, err, errlen);
	free(cv);
	if (rc == -1) {
		recommend_set_release(out);
		return -1;
	}
	recommend_set_id(out);
	return 0;
}

/* Free a set's items and zero it. */
void
recommend_set_release(struct recommend_set *s)
{
	free(s->items);
	memset(s, 0, sizeof(*s));
}

/* x rounded to `decimals` places, as JSON. */
static json_t *
recommend_real(double x, int decimals)
{
	double k = pow(10, decimals);

	return json_real(round(x * k) / k);
}

/* A discount in percent, or null. */
static json_t *
recommend_pct(int has, int32_t bps)
{
	return has ? json_real(bps / 100.0) : json_null();
}

/* The expected effect of an item as JSON. */
static json_t *
recommend_expected_json(const struct recommend_item *it)
{
	if (!it->has_range)
		return json_pack("{s:o}", "base_conversion",
		    recommend_real(it->base_conversion, 6));
	return json_pack("{s:o, s:o, s:o, s:I, s:o, s:o}",
	    "base_conversion", recommend_real(it->base_conversion, 6),
	    "conversion", recommend_real(it->conversion, 6),
	    "extra_orders_per_1000_views",
	    recommend_real(it->extra_orders_1k, 2),
	    "extra_gmv_per_1000_views", (json_int_t)it->extra_gmv_1k,
	    "roi", recommend_real(it->roi, 4),
	    "incremental_roi", it->has_incr_roi ?
	    recommend_real(it->incr_roi, 4) : json_null());
}

/* The tool mix of an item as JSON. */
static json_t *
recommend_tools_json(const struct recommend_item *it)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < it->ntools; i++)
		json_array_append_new(a, json_pack("{s:s, s:i}", "tool",
		    it->tools[i].tool, "share_pct", it->tools[i].share_pct));
	return a;
}

/* One item as JSON. */
static json_t *
recommend_item_json(const struct recommend_item *it)
{
	static const char *const src[] = { "category", "shop", "prior" };

	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:s, "
	    "s:o, s:s}",
	    "product_id", it->product_id,
	    "category", it->category,
	    "price", (json_int_t)it->price,
	    "window_views", (json_int_t)it->views,
	    "discount_min_pct", recommend_pct(it->has_range, it->min_bps),
	    "discount_max_pct", recommend_pct(it->has_range, it->max_bps),
	    "best_pct", recommend_pct(it->has_range, it->best_bps),
	    "tools", recommend_tools_json(it),
	    "expected", recommend_expected_json(it),
	    "lift_from", src[it->source],
	    "own_offers", recommend_real(it->own_offers, 2),
	    "assumptions", it->assumptions);
}

/* The set as JSON. */
json_t *
recommend_to_json(const struct recommend_set *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < s->nitems; i++)
		json_array_append_new(a, recommend_item_json(&s->items[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:i, s:o}",
	    "recommendation_id", s->id,
	    "shop_id", s->shop_id,
	    "date", s->date,
	    "roi_target", recommend_real(s->roi_target, 4),
	    "days", s->days,
	    "products", a);
}

/* Order C strings for qsort and bsearch. */
static int
recommend_str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The body being built by recommend_plan_body(). */
struct recommend_body {
	json_t *products, *ranges;
	double lo, hi;          /* the span of the ranges, percent */
	const char **only;      /* sorted copy, or NULL */
	size_t nonly, nfound;
};

/* Add one recommended product to the body; 0 or -1 with err. */
static int
recommend_body_add(struct recommend_body *b, const json_t *item, char *err,
    size_t errlen)
{
	const char *id = json_string_value(json_object_get(item, "product_id"));
	const json_t *lo = json_object_get(item, "discount_min_pct");
	const json_t *hi = json_object_get(item, "discount_max_pct");
	int named;

	if (id == NULL)
		return util_fail(err, errlen, "recommendation product "
		    "without a \"product_id\"");
	named = b->only != NULL && bsearch(&id, b->only, b->nonly,
	    sizeof(*b->only), recommend_str_cmp) != NULL;
	if (b->only != NULL && !named)
		return 0;
	b->nfound += named;
	if (json_is_null(lo) && json_is_null(hi)) {
		if (named)
			return util_fail(err, errlen, "product \"%s\" has "
			    "no discount that meets the ROI target", id);
		return 0;
	}
	if (!json_is_number(lo) || !json_is_number(hi) ||
	    json_number_value(lo) > json_number_value(hi))
		return util_fail(err, errlen, "product \"%s\" has a bad "
		    "discount range", id);
	b->lo = fmin(b->lo, json_number_value(lo));
	b->hi = fmax(b->hi, json_number_value(hi));
	json_array_append_new(b->products, json_string(id));
	json_object_set_new(b->ranges, id, json_pack("[O, O]", lo, hi));
	return 0;
}

/* Add every product of rec to the body; 0 or -1 with err. */
static int
recommend_body_fill(struct recommend_body *b, const json_t *rec, char *err,
    size_t errlen)
{
	const json_t *items = json_object_get(rec, "products");
	size_t i;
	json_t *item;

	if (!json_is_array(items))
		return util_fail(err, errlen, "recommendation without "
		    "\"products\"");
	json_array_foreach(items, i, item)
		if (recommend_body_add(b, item, err, errlen) == -1)
			return -1;
	if (b->only != NULL && b->nfound != b->nonly)
		return util_fail(err, errlen, "a chosen product is not in "
		    "the recommendation (or named twice)");
	if (json_array_size(b->products) == 0)
		return util_fail(err, errlen, "no recommended product has "
		    "a discount range");
	if (json_array_size(b->products) > PLAN_MAX_PRODUCTS)
		return util_fail(err, errlen, "more than %d products: "
		    "choose some", PLAN_MAX_PRODUCTS);
	return 0;
}

/* The plan's name and its other top-level fields into body. */
static json_t *
recommend_body_make(const json_t *rec, struct recommend_body *b, char *err,
    size_t errlen)
{
	const char *id = json_string_value(json_object_get(rec,
	    "recommendation_id"));
	const char *shop = json_string_value(json_object_get(rec, "shop_id"));
	const char *date = json_string_value(json_object_get(rec, "date"));
	const json_t *roi = json_object_get(rec, "roi_target");
	const json_t *days = json_object_get(rec, "days");
	char name[RECOMMEND_NAME_MAX];

	if (id == NULL || shop == NULL || date == NULL ||
	    !json_is_number(roi) || !json_is_integer(days)) {
		util_fail(err, errlen, "recommendation without its id, "
		    "shop_id, date, roi_target or days");
		return NULL;
	}
	snprintf(name, sizeof(name), "Recommended %.10s %.20s", date, id);
	return json_pack("{s:s, s:s, s:O, s:O, s:f, s:f, s:O, s:O}",
	    "name", name, "shop_id", shop, "products", b->products,
	    "days", days, "discount_min_pct", b->lo, "discount_max_pct", b->hi,
	    "product_ranges", b->ranges, "roi_target", roi);
}

/* A POST /v1/plans body from a recommendation. */
json_t *
recommend_plan_body(const json_t *rec, const char *const *only,
    size_t nonly, char *err, size_t errlen)
{
	struct recommend_body b = { json_array(), json_object(), 1e9, 0,
	    NULL, nonly, 0 };
	json_t *body = NULL;

	if (b.products == NULL || b.ranges == NULL)
		util_fail(err, errlen, "out of memory");
	else if (!json_is_object(rec))
		util_fail(err, errlen, "recommendation must be an object");
	else if (nonly > 0 && (b.only = calloc(nonly, sizeof(*b.only))) ==
	    NULL)
		util_fail(err, errlen, "out of memory");
	else {
		if (nonly > 0) {
			memcpy(b.only, only, nonly * sizeof(*b.only));
			qsort(b.only, nonly, sizeof(*b.only),
			    recommend_str_cmp);
		}
		if (recommend_body_fill(&b, rec, err, errlen) == 0)
			body = recommend_body_make(rec, &b, err, errlen);
	}
	free(b.only);
	json_decref(b.products);
	json_decref(b.ranges);
	return body;
}
