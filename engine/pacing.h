/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pacing.h - holds a plan's ROI floor day by day.
 *
 * Pure.  The plan's ROI (GMV / promotion cost) must hold within each day,
 * not only on average over the plan.  Two mechanisms act together:
 *   - the multiplier lambda, updated after every treatment order by a dual
 *     step: up when an order's cost outweighs its GMV at the target, down
 *     when GMV arrives without cost; it prices the ROI shortfall in the
 *     learner's score (bandit.h);
 *   - a guard: while today's GMV is below roi_target times today's cost, only
 *     levels whose own ROI meets the target, (1 - d) / d >= roi_target, may be
 *     chosen, so the day recovers instead of banking on later days.
 * The day's figures restart at each new day (event time).
 */
#ifndef SP_PACING_H
#define SP_PACING_H

#include <stdint.h>

#include "plan.h"

#define PACING_ETA 0.1          /* dual step per order, in list-price units */
#define PACING_LAMBDA_MAX 20.0

/* Start a new day's figures when day (e.g. 20261122) changed. */
void pacing_roll(struct plan_runtime *rt, int64_t day);

/* The deepest discount allowed now, at most max_bps. */
int32_t pacing_allowed_bps(const struct plan_runtime *rt, double roi_target,
    int32_t max_bps);

/* Record one treatment order line: its GMV, cost and list value. */
void pacing_record(struct plan_runtime *rt, double roi_target, int64_t gmv,
    int64_t cost, int64_t list_value);

/* The day number of a "YYYY-MM-DD" date, e.g. 20261122; 0 if malformed. */
int64_t pacing_day(const char *date);

#endif
