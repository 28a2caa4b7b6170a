/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pps.c - the Creator Promotion Performance Score: eligibility, the product
 * and content parts, the score, its 7-day change, the items pulling it
 * down, ranking within a category, benefits and product recommendations.
 * The formulas are in docs/pps.md; this file follows it line by line.
 */
#include "pps.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PPS_COUNT_MAX 1000000000LL      /* per fact: keeps sums exact */
#define PPS_DRAG_EPSILON 1e-9           /* below this, points are noise */

/* A category and a count, to find the category with the most. */
struct pps_tally {
	const char *category;
	int64_t n;
};

static const struct {
	const char *name;
	int min_x100;
} pps_benefits[PPS_BENEFIT__COUNT] = {
	[PPS_BENEFIT_WIDER_REACH] = { "wider_reach", 200 },
	[PPS_BENEFIT_PRIORITY_SAMPLES] = { "priority_samples", 350 },
	[PPS_BENEFIT_LIVE_GIVEAWAYS] = { "live_giveaways", 400 },
};

/* NULL and "" alike: the empty string. */
static const char *
pps_str(const char *s)
{
	return s != NULL ? s : "";
}

/* The documented defaults. */
void
pps_params_default(struct pps_params *p)
{
	p->window_days = 90;
	p->min_category_orders = 30;
	p->min_videos = 20;
	p->min_lives = 5;
	p->half_life_days = 30.0;
	p->prior_reviews = 2.0;
	p->sps_unknown = 3.5;
	p->content_half_orders = 5.0;
	p->product_share = 0.7;
	p->rec_min_reviews = 20;
	p->rec_z = 1.96;
	p->rec_min_lower = 0.8;
}

/* Fail unless lo <= v <= hi (NaN fails too). */
static int
pps_check_range(double v, double lo, double hi, const char *name,
    char *reason, size_t reasonlen)
{
	if (v >= lo && v <= hi)
		return 0;
	return util_fail(reason, reasonlen,
	    "parameter \"%s\" must be from %g to %g", name, lo, hi);
}

/* Every parameter within its bounds, or the first that is not. */
int
pps_params_check(const struct pps_params *p, char *reason, size_t reasonlen)
{
	const struct {
		const char *name;
		double v, lo, hi;
	} t[] = {
		{ "window_days", p->window_days, 1, 365 },
		{ "min_category_orders", (double)p->min_category_orders, 1, 1e9 },
		{ "min_videos", (double)p->min_videos, 1, 1e6 },
		{ "min_lives", (double)p->min_lives, 1, 1e6 },
		{ "half_life_days", p->half_life_days, 1, 3650 },
		{ "prior_reviews", p->prior_reviews, 0, 1000 },
		{ "sps_unknown", p->sps_unknown, 0, 5 },
		{ "content_half_orders", p->content_half_orders, 0.01, 1e6 },
		{ "product_share", p->product_share, 0, 1 },
		{ "rec_min_reviews", (double)p->rec_min_reviews, 1, 1e9 },
		{ "rec_z", p->rec_z, 0.1, 10 },
		{ "rec_min_lower", p->rec_min_lower, 0, 1 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (pps_check_range(t[i].v, t[i].lo, t[i].hi, t[i].name,
		    reason, reasonlen) == -1)
			return -1;
	return 0;
}

/* Whether a count is within 0..PPS_COUNT_MAX. */
static int
pps_count_ok(int64_t n)
{
	return n >= 0 && n <= PPS_COUNT_MAX;
}

/* Check one product and its days. */
static int
pps_check_product(const struct pps_product *pr, char *reason,
    size_t reasonlen)
{
	const struct pps_product_day *d;

	if (pr->product_id == NULL)
		return util_fail(reason, reasonlen, "product without an id");
	if (pr->days == NULL && pr->ndays > 0)
		return util_fail(reason, reasonlen,
		    "product \"%s\" has no days array", pr->product_id);
	for (size_t i = 0; i < pr->ndays; i++) {
		d = &pr->days[i];
		if (!pps_count_ok(d->orders) || !pps_count_ok(d->delivered) ||
		    !pps_count_ok(d->positive) || !pps_count_ok(d->negative) ||
		    !pps_count_ok(d->negative_shipping))
			return util_fail(reason, reasonlen, "product \"%s\" has "
			    "a count out of 0..1000000000", pr->product_id);
		if (!(d->sps <= 5.0))
			return util_fail(reason, reasonlen, "product \"%s\" has "
			    "an sps above 5", pr->product_id);
	}
	return 0;
}

/* Check one content item and its days. */
static int
pps_check_content(const struct pps_content *c, char *reason,
    size_t reasonlen)
{
	if (c->content_id == NULL)
		return util_fail(reason, reasonlen, "content without an id");
	if (c->kind != CONTENT_VIDEO && c->kind != CONTENT_LIVE)
		return util_fail(reason, reasonlen,
		    "content \"%s\" has an unknown kind", c->content_id);
	if (c->orders == NULL && c->norders > 0)
		return util_fail(reason, reasonlen,
		    "content \"%s\" has no orders array", c->content_id);
	for (size_t i = 0; i < c->norders; i++)
		if (!pps_count_ok(c->orders[i].orders))
			return util_fail(reason, reasonlen, "content \"%s\" has "
			    "a count out of 0..1000000000", c->content_id);
	return 0;
}

/* Check every fact of a creator. */
static int
pps_check_facts(const struct pps_facts *f, char *reason, size_t reasonlen)
{
	if ((f->products == NULL && f->nproducts > 0) ||
	    (f->contents == NULL && f->ncontents > 0))
		return util_fail(reason, reasonlen, "facts without an array");
	for (size_t i = 0; i < f->nproducts; i++)
		if (pps_check_product(&f->products[i], reason, reasonlen) == -1)
			return -1;
	for (size_t i = 0; i < f->ncontents; i++)
		if (pps_check_content(&f->contents[i], reason, reasonlen) == -1)
			return -1;
	return 0;
}

/* Whether day lies in the window of the window_days days up to today. */
static int
pps_in_window(int32_t day, int32_t today, const struct pps_params *p)
{
	int64_t age = (int64_t)today - day;

	return age >= 0 && age < p->window_days;
}

/* The recency weight of a day: 0.5^(age / half_life). */
static double
pps_weight(int32_t day, int32_t today, const struct pps_params *p)
{
	return exp2(-(double)((int64_t)today - day) / p->half_life_days);
}

/* The positive rate of one product day, shrunk toward the seller's SPS. */
static double
pps_day_rate(const struct pps_product_day *d, const struct pps_params *p)
{
	double s, den;

	s = (d->sps >= 0.0 ? d->sps : p->sps_unknown) / 5.0;
	den = (double)(d->positive + d->negative) + p->prior_reviews;
	if (den <= 0.0)
		return s;
	return ((double)d->positive + p->prior_reviews * s) / den;
}

/* A product's sum of weights and of weighted rates over the window. */
static void
pps_product_sums(const struct pps_product *pr, int32_t today,
    const struct pps_params *p, double *w, double *wr)
{
	const struct pps_product_day *d;
	double wd;

	*w = 0.0;
	*wr = 0.0;
	for (size_t i = 0; i < pr->ndays; i++) {
		d = &pr->days[i];
		if (!pps_in_window(d->day, today, p) || d->orders == 0)
			continue;
		wd = (double)d->orders * pps_weight(d->day, today, p);
		*w += wd;
		*wr += wd * pps_day_rate(d, p);
	}
}

/* A product's delivered orders in the window. */
static int64_t
pps_product_delivered(const struct pps_product *pr, int32_t today,
    const struct pps_params *p)
{
	int64_t n = 0;

	for (size_t i = 0; i < pr->ndays; i++)
		if (pps_in_window(pr->days[i].day, today, p))
			n += pr->days[i].delivered;
	return n;
}

/* The last day whose orders count: a removed video drives none after. */
static int32_t
pps_content_last_day(const struct pps_content *c, int32_t today)
{
	if (c->kind == CONTENT_VIDEO && c->removed && c->removed_day < today)
		return c->removed_day;
	return today;
}

/* A content item's reach: weighted orders O, O / (O + half_orders). */
static double
pps_content_reach(const struct pps_content *c, int32_t today,
    const struct pps_params *p)
{
	int32_t last = pps_content_last_day(c, today);
	double o = 0.0;

	for (size_t i = 0; i < c->norders; i++) {
		if (!pps_in_window(c->orders[i].day, today, p) ||
		    c->orders[i].day > last)
			continue;
		o += (double)c->orders[i].orders *
		    pps_weight(c->orders[i].day, today, p);
	}
	return o / (o + p->content_half_orders);
}

/* Order tallies by category name. */
static int
pps_tally_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pps_tally *)a)->category,
	    ((const struct pps_tally *)b)->category);
}

/* The category with the largest positive sum (ties: the first by name). */
static void
pps_tally_best(struct pps_tally *t, size_t n, const char **cat,
    int64_t *best)
{
	size_t i, j;
	int64_t sum;

	*cat = "";
	*best = 0;
	qsort(t, n, sizeof(*t), pps_tally_cmp);
	for (i = 0; i < n; i = j) {
		sum = 0;
		for (j = i; j < n && strcmp(t[j].category, t[i].category) == 0;
		    j++)
			sum += t[j].n;
		if (sum > *best) {
			*best = sum;
			*cat = t[i].category;
		}
	}
}

/* The category of most delivered orders in the window, and their number. */
static void
pps_best_delivered(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_tally *t, struct pps_score *out)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nproducts; i++) {
		if (pps_str(f->products[i].category)[0] == '\0')
			continue;
		t[n].category = f->products[i].category;
		t[n++].n = pps_product_delivered(&f->products[i], today, p);
	}
	pps_tally_best(t, n, &out->category, &out->category_delivered);
}

/* The category of most content items posted in the window. */
static void
pps_content_category(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_tally *t, const char **cat)
{
	const struct pps_content *c;
	size_t n = 0;
	int64_t best;

	for (size_t i = 0; i < f->ncontents; i++) {
		c = &f->contents[i];
		if (!pps_in_window(c->day, today, p))
			continue;
		if (pps_str(c->category)[0] != '\0') {
			t[n].category = c->category;
			t[n++].n = 1;
		}
	}
	pps_tally_best(t, n, cat, &best);
}

/* Videos and livestreams posted in the window. */
static void
pps_count_kinds(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_score *out)
{
	const struct pps_content *c;

	out->videos = 0;
	out->lives = 0;
	for (size_t i = 0; i < f->ncontents; i++) {
		c = &f->contents[i];
		if (!pps_in_window(c->day, today, p))
			continue;
		if (c->kind == CONTENT_LIVE)
			out->lives++;
		else
			out->videos++;
	}
}

/* Eligibility and the creator's category. */
static int
pps_eligibility(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_score *out, char *reason,
    size_t reasonlen)
{
	struct pps_tally *t;
	size_t n = f->nproducts > f->ncontents ? f->nproducts : f->ncontents;

	if ((t = calloc(n > 0 ? n : 1, sizeof(*t))) == NULL)
		return util_fail(reason, reasonlen, "out of memory");
	pps_best_delivered(f, today, p, t, out);
	pps_count_kinds(f, today, p, out);
	if (out->category_delivered == 0)
		pps_content_category(f, today, p, t, &out->category);
	free(t);
	out->criteria = 0;
	if (out->category_delivered >= p->min_category_orders)
		out->criteria |= PPS_BY_ORDERS;
	if (out->videos >= p->min_videos)
		out->criteria |= PPS_BY_VIDEOS;
	if (out->lives >= p->min_lives)
		out->criteria |= PPS_BY_LIVES;
	out->eligible = out->criteria != 0;
	return 0;
}

/* The product part: weighted mean of the day rates. */
static void
pps_product_part(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_score *out)
{
	double w = 0.0, wr = 0.0, pw, pwr;

	for (size_t i = 0; i < f->nproducts; i++) {
		pps_product_sums(&f->products[i], today, p, &pw, &pwr);
		w += pw;
		wr += pwr;
	}
	out->product_weight = w;
	out->has_product = w > 0.0;
	out->product = w > 0.0 ? wr / w : 0.0;
}

/* The content part: recency-weighted mean of the items' reach. */
static void
pps_content_part(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_score *out)
{
	const struct pps_content *c;
	double a = 0.0, ar = 0.0, ac;

	for (size_t i = 0; i < f->ncontents; i++) {
		c = &f->contents[i];
		if (!pps_in_window(c->day, today, p))
			continue;
		ac = pps_weight(c->day, today, p);
		a += ac;
		ar += ac * pps_content_reach(c, today, p);
	}
	out->content_weight = a;
	out->has_content = a > 0.0;
	out->content = a > 0.0 ? ar / a : 0.0;
}

/* The shares of the two parts: both, product only or content only. */
static void
pps_shares(const struct pps_score *s, const struct pps_params *p,
    double *ps, double *cs)
{
	*ps = 0.0;
	*cs = 0.0;
	if (s->has_product && s->has_content) {
		*ps = p->product_share;
		*cs = 1.0 - p->product_share;
	} else if (s->has_product)
		*ps = 1.0;
	else if (s->has_content)
		*cs = 1.0;
}

/* Combine the parts into the score, or -1 when there is none. */
static void
pps_combine(struct pps_score *s, const struct pps_params *p)
{
	double ps, cs;
	long x;

	s->score = -1.0;
	s->score_x100 = -1;
	if (!s->eligible || (!s->has_product && !s->has_content))
		return;
	pps_shares(s, p, &ps, &cs);
	s->score = 5.0 * (ps * s->product + cs * s->content);
	x = lround(s->score * 100.0);
	if (x < 0)
		x = 0;
	if (x > PPS_SCORE_MAX_X100)
		x = PPS_SCORE_MAX_X100;
	s->score_x100 = (int)x;
}

/* Eligibility, both parts and the score of day today. */
int
pps_compute(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_score *out, char *reason,
    size_t reasonlen)
{
	memset(out, 0, sizeof(*out));
	out->category = "";
	out->score = -1.0;
	out->score_x100 = -1;
	if (pps_params_check(p, reason, reasonlen) == -1 ||
	    pps_check_facts(f, reason, reasonlen) == -1 ||
	    pps_eligibility(f, today, p, out, reason, reasonlen) == -1)
		return -1;
	pps_product_part(f, today, p, out);
	pps_content_part(f, today, p, out);
	pps_combine(out, p);
	return 0;
}

/* The score now minus the score days ago, when both exist. */
int
pps_change(const struct pps_facts *f, int32_t today, int32_t days,
    const struct pps_params *p, int *delta_x100, int *has_change,
    char *reason, size_t reasonlen)
{
	struct pps_score now, then;

	*delta_x100 = 0;
	*has_change = 0;
	if (days < 0 || (int64_t)today - days < INT32_MIN)
		return util_fail(reason, reasonlen,
		    "change over %d days is out of range", (int)days);
	if (pps_compute(f, today, p, &now, reason, reasonlen) == -1 ||
	    pps_compute(f, today - days, p, &then, reason, reasonlen) == -1)
		return -1;
	if (now.score_x100 < 0 || then.score_x100 < 0)
		return 0;
	*delta_x100 = now.score_x100 - then.score_x100;
	*has_change = 1;
	return 0;
}

/* Whether drag a goes before drag b: more negative, products, then id. */
static int
pps_drag_before(const struct pps_drag *a, const struct pps_drag *b)
{
	if (a->points != b->points)
		return a->points < b->points;
	if (a->kind != b->kind)
		return a->kind == PPS_ITEM_PRODUCT;
	return strcmp(a->id, b->id) < 0;
}

/* Insert a negative item into the sorted top list out[0..*n) of max. */
static void
pps_drag_insert(struct pps_drag *out, size_t max, size_t *n,
    const struct pps_drag *d)
{
	size_t i;

	if (!(d->points < -PPS_DRAG_EPSILON) || max == 0)
		return;
	if (*n == max && !pps_drag_before(d, &out[max - 1]))
		return;
	i = *n < max ? (*n)++ : max - 1;
	while (i > 0 && pps_drag_before(d, &out[i - 1])) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = *d;
}

/* Every product's points: 5 x share x (its W x (its rate - mean)) / W. */
static void
pps_drag_products(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, const struct pps_score *s, double share,
    struct pps_drag *out, size_t max, size_t *n)
{
	struct pps_drag d;
	double w, wr;

	for (size_t i = 0; i < f->nproducts; i++) {
		pps_product_sums(&f->products[i], today, p, &w, &wr);
		if (w <= 0.0)
			continue;
		d.kind = PPS_ITEM_PRODUCT;
		d.id = f->products[i].product_id;
		d.points = 5.0 * share * (wr - w * s->product) /
		    s->product_weight;
		pps_drag_insert(out, max, n, &d);
	}
}

/* Every content item's points, as for products with its recency. */
static void
pps_drag_contents(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, const struct pps_score *s, double share,
    struct pps_drag *out, size_t max, size_t *n)
{
	const struct pps_content *c;
	struct pps_drag d;
	double a;

	for (size_t i = 0; i < f->ncontents; i++) {
		c = &f->contents[i];
		if (!pps_in_window(c->day, today, p))
			continue;
		a = pps_weight(c->day, today, p);
		d.kind = PPS_ITEM_CONTENT;
		d.id = c->content_id;
		d.points = 5.0 * share * a *
		    (pps_content_reach(c, today, p) - s->content) /
		    s->content_weight;
		pps_drag_insert(out, max, n, &d);
	}
}

/* The items that cost the score the most against the average. */
int
pps_drags(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_drag *out, size_t max, size_t *n,
    char *reason, size_t reasonlen)
{
	struct pps_score s;
	double ps, cs;

	*n = 0;
	if (pps_compute(f, today, p, &s, reason, reasonlen) == -1)
		return -1;
	pps_shares(&s, p, &ps, &cs);
	if (s.has_product)
		pps_drag_products(f, today, p, &s, ps, out, max, n);
	if (s.has_content)
		pps_drag_contents(f, today, p, &s, cs, out, max, n);
	return 0;
}

/* Rank order: category, score highest first, creator id. */
static int
pps_rank_cmp(const void *va, const void *vb)
{
	const struct pps_rank_entry *a = va, *b = vb;
	int c;

	if ((c = strcmp(pps_str(a->category), pps_str(b->category))) != 0)
		return c;
	if (a->score_x100 != b->score_x100)
		return a->score_x100 > b->score_x100 ? -1 : 1;
	return strcmp(a->creator_id, b->creator_id);
}

/* Competition ranks within each category. */
void
pps_rank(struct pps_rank_entry *e, size_t n)
{
	size_t g, end, i;

	if (n == 0)
		return;
	qsort(e, n, sizeof(*e), pps_rank_cmp);
	for (g = 0; g < n; g = end) {
		for (end = g; end < n && strcmp(pps_str(e[end].category),
		    pps_str(e[g].category)) == 0; end++)
			;
		for (i = g; i < end; i++) {
			e[i].of = end - g;
			if (i > g && e[i].score_x100 == e[i - 1].score_x100)
				e[i].rank = e[i - 1].rank;
			else
				e[i].rank = i - g + 1;
		}
	}
}

/* The benefit's wire name. */
const char *
pps_benefit_name(enum pps_benefit b)
{
	if ((unsigned)b >= PPS_BENEFIT__COUNT)
		return "unknown";
	return pps_benefits[b].name;
}

/* The score that unlocks a benefit. */
int
pps_benefit_min_x100(enum pps_benefit b)
{
	if ((unsigned)b >= PPS_BENEFIT__COUNT)
		return -1;
	return pps_benefits[b].min_x100;
}

/* Whether a score unlocks a benefit. */
int
pps_benefit_unlocked(enum pps_benefit b, int score_x100)
{
	int min = pps_benefit_min_x100(b);

	return min >= 0 && score_x100 >= min;
}

/* The Wilson score interval's lower bound. */
double
pps_wilson_lower(int64_t positive, int64_t n, double z)
{
	double nn, ph, z2, centre, margin, lo;

	if (n <= 0)
		return 0.0;
	nn = (double)n;
	ph = (double)positive / nn;
	z2 = z * z;
	centre = ph + z2 / (2.0 * nn);
	margin = z * sqrt(ph * (1.0 - ph) / nn + z2 / (4.0 * nn * nn));
	lo = (centre - margin) / (1.0 + z2 / nn);
	return lo < 0.0 ? 0.0 : lo;
}

/* Whether recommendation a goes before b: bound, reviews, product id. */
static int
pps_rec_before(const struct pps_product_stat *s,
    const struct pps_recommendation *a, const struct pps_recommendation *b)
{
	if (a->lower != b->lower)
		return a->lower > b->lower;
	if (s[a->index].reviews != s[b->index].reviews)
		return s[a->index].reviews > s[b->index].reviews;
	return strcmp(s[a->index].product_id, s[b->index].product_id) < 0;
}

/* Insert r into the sorted top list out[0..*n) of max. */
static void
pps_rec_insert(const struct pps_product_stat *s,
    struct pps_recommendation *out, size_t max, size_t *n,
    const struct pps_recommendation *r)
{
	size_t i;

	if (max == 0 || (*n == max && !pps_rec_before(s, r, &out[max - 1])))
		return;
	i = *n < max ? (*n)++ : max - 1;
	while (i > 0 && pps_rec_before(s, r, &out[i - 1])) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = *r;
}

/* Check the stats: ids, and 0 <= positive <= reviews. */
static int
pps_check_stats(const struct pps_product_stat *s, size_t n, char *reason,
    size_t reasonlen)
{
	if (s == NULL && n > 0)
		return util_fail(reason, reasonlen, "stats without an array");
	for (size_t i = 0; i < n; i++) {
		if (s[i].product_id == NULL)
			return util_fail(reason, reasonlen,
			    "product stat without an id");
		if (s[i].positive < 0 || s[i].positive > s[i].reviews)
			return util_fail(reason, reasonlen, "product \"%s\" "
			    "must have 0 <= positive <= reviews",
			    s[i].product_id);
	}
	return 0;
}

/* The products most surely well reviewed. */
int
pps_recommend(const struct pps_product_stat *s, size_t n,
    const char *category, const struct pps_params *p,
    struct pps_recommendation *out, size_t max, size_t *nout, char *reason,
    size_t reasonlen)
{
	struct pps_recommendation r;

	*nout = 0;
	if (pps_params_check(p, reason, reasonlen) == -1 ||
	    pps_check_stats(s, n, reason, reasonlen) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i].reviews < p->rec_min_reviews || (category != NULL &&
		    strcmp(pps_str(s[i].category), category) != 0))
			continue;
		r.index = i;
		r.rate = (double)s[i].positive / (double)s[i].reviews;
		r.lower = pps_wilson_lower(s[i].positive, s[i].reviews,
		    p->rec_z);
		if (r.lower >= p->rec_min_lower)
			pps_rec_insert(s, out, max, nout, &r);
	}
	return 0;
}

/* Day number of a YYYY-MM-DD date. */
int
pps_day_parse(const char *date, int32_t *day, char *reason,
    size_t reasonlen)
{
	int64_t z;

	if (date == NULL || util_date_parse(date, &z) == -1)
		return util_fail(reason, reasonlen, "date \"%.*s\" must be a "
		    "day written YYYY-MM-DD", date != NULL ? util_utf8_prefix(
		    date, strlen(date), 32) : 0, date != NULL ? date : "");
	*day = (int32_t)z;
	return 0;
}

/* YYYY-MM-DD of a day number. */
void
pps_day_format(int32_t day, char *buf, size_t len)
{
	int64_t y;
	int m, d;

	util_civil_from_days(day, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* Whether SPS reading a is a better pick than b for an order at ts. */
static int
pps_sps_better(const struct pps_sps *a, const struct pps_sps *b, int64_t ts)
{
	if (b == NULL)
		return 1;
	if (a->ts <= ts && b->ts <= ts)
		return a->ts >= b->ts;  /* in force at ts: the latest */
	if (a->ts > ts && b->ts > ts)
		return a->ts < b->ts;   /* none in force: the nearest after */
	return a->ts <= ts;
}

/* The reading in force at ts among best and v[0..n). */
const struct pps_sps *
pps_sps_pick(const struct pps_sps *best, const struct pps_sps *v, size_t n,
    int64_t ts)
{
	for (size_t k = 0; k < n; k++)
		if (pps_sps_better(&v[k], best, ts))
			best = &v[k];
	return best;
}
