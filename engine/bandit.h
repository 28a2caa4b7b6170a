/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bandit.h - the pricing learner: Thompson sampling over discrete discount
 * levels inside a product's range, per shopper context (new or returning
 * buyer of the shop), from a pooled demand curve.
 *
 * Pure: state, time and randomness are arguments.  Each (context, level)
 * arm keeps decayed counts of exposures n and conversions s; that is all
 * that is stored.  At decision time the counts become a demand curve: the
 * vector of log-odds of conversion at the levels, with a Gaussian prior
 * (a line in the discount plus a small departure per level).  The plan's
 * curve is fitted to the pooled counts of its other products; a product's
 * curve starts from its plan's and may depart from it by as much as
 * prior_strength pseudo-views allow; both posteriors are Laplace
 * approximations.  A decision draws the plan's curve, then the product's
 * given it (its own spread scaled by its own traffic, see bandit_sample in
 * bandit.c), makes the draw non-decreasing in the discount (a deeper
 * discount never sells less) and scores each level
 *     theta * price * ((1 + lambda) * (1 - d) - lambda * roi_target * d)
 * i.e. sampled expected GMV minus lambda times the ROI shortfall of the
 * promotion cost; lambda comes from the plan's pacing (pacing.h).  Counts
 * decay with a half-life so that drifting demand is followed, and a change
 * the plan detects forgets most of the older evidence (below).
 */
#ifndef SP_BANDIT_H
#define SP_BANDIT_H

#include <stdint.h>

#include "plan.h"
#include "rng.h"

/*
 * The prior of a plan's demand curve before it has data, in log-odds of
 * conversion: prior_conversion at the middle of the range, rising by
 * BANDIT_SLOPE0 per unit of discount (+35% odds for 10 points deeper),
 * with standard deviations BANDIT_PLAN_SD_BASE for the base,
 * BANDIT_PLAN_SD_SLOPE for the slope and BANDIT_SD_LEVEL for each level's
 * departure from the line.  A product departs from its plan's curve by
 * sa = 1 / sqrt(prior_strength p (1 - p)) in the base (p its plan's mean
 * conversion), BANDIT_SLOPE_RATIO times that in the slope and
 * BANDIT_SD_DEPART per level.  Draws are tempered by BANDIT_TEMPER (a
 * draw is the mode plus BANDIT_TEMPER times a posterior deviation), and a
 * product's own deviation further by n / (n + BANDIT_EXPLORE_VIEWS) of its
 * own decayed exposures n in the context.
 */
#define BANDIT_SLOPE0 3.0
#define BANDIT_PLAN_SD_BASE 1.5
#define BANDIT_PLAN_SD_SLOPE 4.0
#define BANDIT_SD_LEVEL 0.25
#define BANDIT_SLOPE_RATIO 2.0
#define BANDIT_SD_DEPART 0.1
#define BANDIT_TEMPER 0.5
#define BANDIT_EXPLORE_VIEWS 100.0

/*
 * Change detection.  The plan also keeps its pool with a half-life
 * BANDIT_DRIFT_RATIO times shorter (the fast pool).  Every
 * BANDIT_DRIFT_EVERY_MS of event time, per context, the recent evidence
 * (the fast pool) is tested against the plan's curve fitted to the older
 * evidence (the pool less the fast pool): a G test, at level 1e-5, of
 * how the recent conversions spread over the levels given the recent
 * exposures (the curve's scale left free, so only its shape is tested),
 * once both sides hold at least BANDIT_DRIFT_MIN conversions.  A
 * rejection is a change in how demand responds to the discount: the
 * plan's pool restarts from its fast counts, and every product's counts
 * of that context made before the change are divided by
 * BANDIT_DRIFT_RATIO at its next decay (as if they had been kept with
 * the fast half-life).  A context is not tested again for one fast
 * half-life after a change.  No detection without forgetting
 * (half_life_ms <= 0).
 */
#define BANDIT_DRIFT_RATIO 7.0
#define BANDIT_DRIFT_EVERY_MS 3600000LL
#define BANDIT_DRIFT_MIN 50.0

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
	double lambda;                  /* the pacing multiplier used */
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

/*
 * Decay arms and pool (and the fast pool) to event time ts: first the
 * forgetting of a change the plan detected since the arms' last decay,
 * then the half-life; then, at most every BANDIT_DRIFT_EVERY_MS, the
 * change test (on the levels of these arms' range).
 */
void bandit_decay(struct bandit_arms *a, struct plan_runtime *rt, int64_t ts,
    const struct bandit_params *bp);

/*
 * Choose a level for one decision.  allowed_max_bps masks levels above it
 * (the pacing guard).  Returns the level index, choice filled.
 */
int bandit_choose(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int64_t price, double roi_target, int32_t allowed_max_bps,
    const struct bandit_params *bp, struct rng *r, struct bandit_choice *ch);

/*
 * The same with a price on what each level uses: use_cost[l] (minor
 * units per conversion, e.g. mu of a struct pacing_resource per unit
 * sold) is taken off the level's value before scoring; NULL: none.
 */
int bandit_choose_priced(const struct bandit_arms *a,
    const struct plan_runtime *rt, int ctx, int64_t price, double roi_target,
    int32_t allowed_max_bps, const double *use_cost,
    const struct bandit_params *bp, struct rng *r, struct bandit_choice *ch);

/* Record an exposure (offer made) or a conversion, in arms and pool. */
void bandit_expose(struct bandit_arms *a, struct plan_runtime *rt, int ctx,
    int level);
void bandit_convert(struct bandit_arms *a, struct plan_runtime *rt, int ctx,
    int level);

/* Posterior conversion of one arm at the curve's mode, for explain. */
double bandit_mean(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int level, const struct bandit_params *bp);

#endif
