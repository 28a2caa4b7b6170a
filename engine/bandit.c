/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bandit.c - Thompson sampling over discount levels with a pooled prior,
 * a monotone demand projection and exponential forgetting (see bandit.h).
 */
#include "bandit.h"

#include <math.h>
#include <string.h>

/* The levels of a range, evenly spaced and rounded to 25 bps. */
int
bandit_levels(int32_t min_bps, int32_t max_bps, int wanted, int32_t *bps)
{
	int n = 0;

	if (wanted < 1)
		wanted = 1;
	if (wanted > PLAN_MAX_LEVELS)
		wanted = PLAN_MAX_LEVELS;
	if (max_bps <= min_bps || wanted == 1) {
		bps[0] = max_bps <= min_bps ? min_bps : min_bps;
		return 1;
	}
	for (int i = 0; i < wanted; i++) {
		double x = min_bps + (double)(max_bps - min_bps) * i /
		    (wanted - 1);
		int32_t v = (int32_t)(lround(x / 25.0) * 25);

		if (v < min_bps)
			v = min_bps;
		if (v > max_bps)
			v = max_bps;
		if (i == 0)
			v = min_bps;
		if (i == wanted - 1)
			v = max_bps;
		if (n == 0 || v > bps[n - 1])
			bps[n++] = v;
	}
	return n;
}

/* Reset arms to the range when it changed. */
void
bandit_arms_fit(struct bandit_arms *a, int32_t min_bps, int32_t max_bps,
    const struct bandit_params *bp)
{
	int32_t lv[PLAN_MAX_LEVELS];
	int n = bandit_levels(min_bps, max_bps, bp->levels, lv);

	if (a->min_bps == min_bps && a->max_bps == max_bps &&
	    a->nlevels == n)
		return;
	memset(a->n, 0, sizeof(a->n));
	memset(a->s, 0, sizeof(a->s));
	a->min_bps = min_bps;
	a->max_bps = max_bps;
	a->nlevels = n;
}

/* Multiply counts by the decay factor from tref to ts. */
static void
bandit_decay_counts(double n[PLAN_CONTEXTS][PLAN_MAX_LEVELS],
    double s[PLAN_CONTEXTS][PLAN_MAX_LEVELS], int64_t *tref, int64_t ts,
    double half_life_ms)
{
	double f;

	if (*tref == 0 || ts <= *tref) {
		if (*tref == 0)
			*tref = ts;
		return;
	}
	if (half_life_ms > 0) {
		f = exp2(-(double)(ts - *tref) / half_life_ms);
		for (int c = 0; c < PLAN_CONTEXTS; c++)
			for (int l = 0; l < PLAN_MAX_LEVELS; l++) {
				n[c][l] *= f;
				s[c][l] *= f;
			}
	}
	*tref = ts;
}

/* Decay arms and the plan pool to event time ts. */
void
bandit_decay(struct bandit_arms *a, struct plan_runtime *rt, int64_t ts,
    const struct bandit_params *bp)
{
	bandit_decay_counts(a->n, a->s, &a->tref, ts, bp->half_life_ms);
	if (rt != NULL)
		bandit_decay_counts(rt->pool_n, rt->pool_s, &rt->pool_tref, ts,
		    bp->half_life_ms);
}

/* Prior mean of an arm: the pooled rate, shrunk to prior_conversion. */
static double
bandit_prior_mean(const struct plan_runtime *rt, int ctx, int level,
    const struct bandit_params *bp)
{
	double m0 = bp->prior_strength > 0 ? bp->prior_strength : 1.0;

	if (rt == NULL)
		return bp->prior_conversion;
	return (rt->pool_s[ctx][level] + m0 * bp->prior_conversion) /
	    (rt->pool_n[ctx][level] + m0);
}

/* Beta parameters of an arm's posterior. */
static void
bandit_posterior(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int level, const struct bandit_params *bp, double *alpha,
    double *beta)
{
	double p = bandit_prior_mean(rt, ctx, level, bp);
	double m = bp->prior_strength > 0 ? bp->prior_strength : 1.0;
	double n = a->n[ctx][level], s = a->s[ctx][level];

	if (s > n)
		s = n;
	*alpha = m * p + s;
	*beta = m * (1.0 - p) + (n - s);
	if (*alpha < 1e-6)
		*alpha = 1e-6;
	if (*beta < 1e-6)
		*beta = 1e-6;
}

/* Posterior mean, for explain. */
double
bandit_mean(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int level, const struct bandit_params *bp)
{
	double al, be;

	bandit_posterior(a, rt, ctx, level, bp, &al, &be);
	return al / (al + be);
}

/* Pool adjacent violators: make v non-decreasing, weighted by w. */
static void
bandit_isotonic(double *v, const double *w, int n)
{
	double val[PLAN_MAX_LEVELS], wt[PLAN_MAX_LEVELS];
	int cnt[PLAN_MAX_LEVELS], b = 0;

	for (int i = 0; i < n; i++) {
		val[b] = v[i];
		wt[b] = w[i];
		cnt[b] = 1;
		while (b > 0 && val[b - 1] > val[b]) {
			double tw = wt[b - 1] + wt[b];

			val[b - 1] = (val[b - 1] * wt[b - 1] + val[b] * wt[b]) /
			    tw;
			wt[b - 1] = tw;
			cnt[b - 1] += cnt[b];
			b--;
		}
		b++;
	}
	for (int i = 0, k = 0; k < b; k++)
		for (int j = 0; j < cnt[k]; j++)
			v[i++] = val[k];
}

/* Sampled, monotone conversion rates of every level. */
static void
bandit_sample(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, const struct bandit_params *bp, struct rng *r, double *theta)
{
	double w[PLAN_MAX_LEVELS];

	for (int l = 0; l < a->nlevels; l++) {
		double al, be;

		bandit_posterior(a, rt, ctx, l, bp, &al, &be);
		theta[l] = rng_beta(r, al, be);
		w[l] = al + be;
	}
	bandit_isotonic(theta, w, a->nlevels);
}

/* Choose the level with the best sampled score. */
int
bandit_choose(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int64_t price, double roi_target, int32_t allowed_max_bps,
    const struct bandit_params *bp, struct rng *r, struct bandit_choice *ch)
{
	int32_t lv[PLAN_MAX_LEVELS];
	double lambda = rt != NULL ? rt->lambda : 0.0;
	int best = 0;

	bandit_levels(a->min_bps, a->max_bps, bp->levels, lv);
	memset(ch, 0, sizeof(*ch));
	bandit_sample(a, rt, ctx, bp, r, ch->theta);
	for (int l = 0; l < a->nlevels; l++) {
		double d = lv[l] / 10000.0;

		ch->score[l] = ch->theta[l] * (double)price *
		    ((1.0 + lambda) * (1.0 - d) - lambda * roi_target * d);
		if (l > 0 && lv[l] > allowed_max_bps)
			continue;
		if (ch->score[l] > ch->score[best])
			best = l;
	}
	ch->level = best;
	ch->bps = lv[best];
	return best;
}

/* One exposure of an arm. */
void
bandit_expose(struct bandit_arms *a, struct plan_runtime *rt, int ctx,
    int level)
{
	a->n[ctx][level] += 1.0;
	if (rt != NULL)
		rt->pool_n[ctx][level] += 1.0;
}

/* One conversion of an arm. */
void
bandit_convert(struct bandit_arms *a, struct plan_runtime *rt, int ctx,
    int level)
{
	a->s[ctx][level] += 1.0;
	if (a->s[ctx][level] > a->n[ctx][level])
		a->n[ctx][level] = a->s[ctx][level];
	if (rt != NULL) {
		rt->pool_s[ctx][level] += 1.0;
		if (rt->pool_s[ctx][level] > rt->pool_n[ctx][level])
			rt->pool_n[ctx][level] = rt->pool_s[ctx][level];
	}
}
