/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pacing.h - holds a plan's ROI floor day by day, and prices a resource
 * (inventory, budget) that decisions consume.
 *
 * Pure.  The plan's ROI (GMV / promotion cost) must hold within each day,
 * not only on average over the plan.  The learner's score (bandit.h) prices
 * promotion cost with a multiplier lambda; pacing sets it as a controller
 * aiming at roi_target * (1 + PACING_MARGIN):
 *   - an integral part, the plan's rt->lambda, moved after every treatment
 *     order line by two dual steps: PACING_ETA times the line's own
 *     shortfall (T' cost - gmv) over the plan's running mean list value
 *     of a line (rt->pace_list, so lines weigh by money), which reacts
 *     fast, and
 *     PACING_ETA_DAY times the day's shortfall so far,
 *     (T' C - G) / (T' C + G) over the day's GMV G and cost C, which weighs
 *     orders by money as the floor does;
 *   - a proportional part, PACING_GAIN times the day's relative shortfall
 *     (T' C - G) / (T' C) (clamped to +-PACING_DEFICIT_MAX), added at
 *     decision time (pacing_lambda), so a day running short tightens at
 *     once and a day running long spends its slack the same day;
 *   - a backstop guard: a day more than PACING_GUARD below the floor may
 *     use only levels whose own ROI meets it, (1 - d) / d >= roi_target.
 * The day's figures restart at each new day (event time); lambda carries
 * over.
 */
#ifndef SP_PACING_H
#define SP_PACING_H

#include <stdint.h>

#include "plan.h"

#define PACING_ETA 0.005        /* per-line dual step, list-price units */
#define PACING_LIST_WEIGHT 0.01 /* of a line in the mean list value */
#define PACING_ETA_DAY 0.02     /* per-line step on the day's shortfall */
#define PACING_GAIN 5.0         /* multiplier per unit of day shortfall */
#define PACING_DEFICIT_MAX 0.3  /* largest day shortfall counted */
#define PACING_MARGIN 0.03      /* aim this much above the target */
#define PACING_GUARD 0.1        /* guard when the day is this far below */
#define PACING_LAMBDA_MAX 20.0

/*
 * A resource each decision may consume at most at a rate (units of stock
 * per period, money per view): mu is the price of one unit in the score,
 * moved after each decision by eta * (used - rate), never below 0.
 */
struct pacing_resource {
	double mu;
	double eta;
};

/* Start a new day's figures when day (e.g. 20261122) is later than the
 * current one; an earlier day leaves them as they are. */
void pacing_roll(struct plan_runtime *rt, int64_t day);

/* The multiplier a decision uses now, in 0..PACING_LAMBDA_MAX. */
double pacing_lambda(const struct plan_runtime *rt, double roi_target);

/* The deepest discount allowed now, at most max_bps. */
int32_t pacing_allowed_bps(const struct plan_runtime *rt, double roi_target,
    int32_t max_bps);

/* Record one treatment order line: its GMV, cost and list value. */
void pacing_record(struct plan_runtime *rt, double roi_target, int64_t gmv,
    int64_t cost, int64_t list_value);

/* Take back a cancelled or refunded treatment line of day: its GMV and
 * cost leave the day's figures if day is the current one (an older day's
 * are gone); lambda keeps the steps it took. */
void pacing_reverse(struct plan_runtime *rt, int64_t day, int64_t gmv,
    int64_t cost);

/* After a decision that consumed used units against an allowance rate. */
void pacing_resource_step(struct pacing_resource *pr, double used,
    double rate);

/* The day number of a "YYYY-MM-DD" date, e.g. 20261122; 0 if malformed. */
int64_t pacing_day(const char *date);

#endif
