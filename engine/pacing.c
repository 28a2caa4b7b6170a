/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pacing.c - per-day ROI pacing: the dual multiplier and the day guard.
 */
#include "pacing.h"

#include <stdlib.h>

/* Start the new day's figures. */
void
pacing_roll(struct plan_runtime *rt, int64_t day)
{
	if (rt->pace_day == day)
		return;
	rt->pace_day = day;
	rt->day_gmv = 0;
	rt->day_cost = 0;
}

/* Levels above 1 / (1 + target) break the floor on their own. */
int32_t
pacing_allowed_bps(const struct plan_runtime *rt, double roi_target,
    int32_t max_bps)
{
	int32_t safe = (int32_t)(10000.0 / (1.0 + roi_target));

	if ((double)rt->day_gmv >= roi_target * (double)rt->day_cost)
		return max_bps;
	return safe < max_bps ? safe : max_bps;
}

/* Dual step on one order line, normalised by its list value. */
void
pacing_record(struct plan_runtime *rt, double roi_target, int64_t gmv,
    int64_t cost, int64_t list_value)
{
	double step;

	rt->day_gmv += gmv;
	rt->day_cost += cost;
	if (list_value <= 0)
		return;
	step = PACING_ETA * (roi_target * (double)cost - (double)gmv) /
	    (double)list_value;
	rt->lambda += step;
	if (rt->lambda < 0.0)
		rt->lambda = 0.0;
	if (rt->lambda > PACING_LAMBDA_MAX)
		rt->lambda = PACING_LAMBDA_MAX;
}

/* 20261122 from "2026-11-22". */
int64_t
pacing_day(const char *date)
{
	char *end;
	long y, m, d;

	y = strtol(date, &end, 10);
	if (*end != '-')
		return 0;
	m = strtol(end + 1, &end, 10);
	if (*end != '-')
		return 0;
	d = strtol(end + 1, &end, 10);
	if (*end != '\0' || y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 ||
	    d > 31)
		return 0;
	return (int64_t)y * 10000 + m * 100 + d;
}
