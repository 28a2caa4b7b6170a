/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bandit.h - the pricing learner: Thompson sampling over discrete discount
 * levels inside a product's range, per shopper context (new or returning
 * buyer of the shop).
 *
 * Pure: state, time and randomness are arguments.  Each (context, level) arm
 * keeps decayed counts of exposures n and conversions s.  Its posterior is
 * Beta(prior + s, prior + n - s), where the prior is the plan's pooled rate
 * for that arm (what the plan's other products taught) worth
 * prior_strength pseudo-exposures, so a product with few views starts from
 * its peers and moves to its own data as it accrues.  The sampled
 * conversion rates are made non-decreasing in the discount (pool adjacent
 * violators), since a deeper discount never sells less: every view informs
 * the neighbouring levels too.  Each level scores
 *     theta * price * ((1 + lambda) * (1 - d) - lambda * roi_target * d)
 * i.e. sampled expected GMV minus lambda times the ROI shortfall of the
 * promotion cost; lambda is the plan's pacing multiplier (pacing.h).
 * Counts decay with a half-life so that drifting demand is followed.
 */
#ifndef SP_BANDIT_H
#define SP_BANDIT_H

#include <stdint.h>

#include "plan.h"
#include "rng.h"

struct bandit_arms {
	int64_t tref;           /* event time counts were last decayed to */
	int32_t min_bps, max_bps;       /* the range the levels span */
	int nlevels;
	double n[PLAN_CONTEXTS][PLAN_MAX_LEVELS];
	double s[PLAN_CONTEXTS][PLAN_MAX_LEVELS];
};

struct bandit_params {
	int levels;                     /* wanted number of levels, 1..8 */
	double prior_conversion;        /* before any pooled data */
	double prior_strength;          /* pseudo-exposures of the prior */
	double half_life_ms;            /* <= 0: no forgetting */
};

/* What one decision saw, for explain and tests. */
struct bandit_choice {
	int level;
	int32_t bps;
	double theta[PLAN_MAX_LEVELS];
	double score[PLAN_MAX_LEVELS];
};

/*
 * The levels of a range: n levels evenly spaced from min to max, rounded to
 * 25 bps and de-duplicated; returns their count (1..PLAN_MAX_LEVELS).
 */
int bandit_levels(int32_t min_bps, int32_t max_bps, int wanted,
    int32_t *bps);

/* Make arms match the range (resets counts when the range changed). */
void bandit_arms_fit(struct bandit_arms *a, int32_t min_bps,
    int32_t max_bps, const struct bandit_params *bp);

/* Decay arms and pool to event time ts. */
void bandit_decay(struct bandit_arms *a, struct plan_runtime *rt, int64_t ts,
    const struct bandit_params *bp);

/*
 * Choose a level for one decision.  allowed_max_bps masks levels above it
 * (the pacing guard).  Returns the level index, choice filled.
 */
int bandit_choose(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int64_t price, double roi_target, int32_t allowed_max_bps,
    const struct bandit_params *bp, struct rng *r, struct bandit_choice *ch);

/* Record an exposure (offer made) or a conversion, in arms and pool. */
void bandit_expose(struct bandit_arms *a, struct plan_runtime *rt, int ctx,
    int level);
void bandit_convert(struct bandit_arms *a, struct plan_runtime *rt, int ctx,
    int level);

/* Posterior mean of one arm (with its pooled prior), for explain. */
double bandit_mean(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int level, const struct bandit_params *bp);

#endif
