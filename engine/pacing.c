/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pacing.c - per-day ROI pacing: the multiplier's integral and
 * proportional parts, the backstop guard, and the price of a resource.
 */
#include "pacing.h"

#include <stdlib.h>

/* Start the new day's figures.  Only forward: an event from an earlier
 * day (a lagging partition, a late order) counts toward the current day
 * rather than wiping it. */
void
pacing_roll(struct plan_runtime *rt, int64_t day)
{
	if (day <= rt->pace_day)
		return;
	rt->pace_day = day;
	rt->day_gmv = 0;
	rt->day_cost = 0;
}

/* The paced target: the floor plus the margin. */
static double
pacing_target(double roi_target)
{
	return roi_target * (1.0 + PACING_MARGIN);
}

/* Clamp v into lo..hi. */
static double
pacing_clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The day's shortfall against the paced target, relative to it. */
static double
pacing_deficit(const struct plan_runtime *rt, double roi_target)
{
	double c = pacing_target(roi_target) * (double)rt->day_cost;

	if (c <= 0)
		return 0;
	return pacing_clamp((c - (double)rt->day_gmv) / c,
	    -PACING_DEFICIT_MAX, PACING_DEFICIT_MAX);
}

/* The multiplier of a decision: the integral plus the day's shortfall. */
double
pacing_lambda(const struct plan_runtime *rt, double roi_target)
{
	return pacing_clamp(rt->lambda + PACING_GAIN * pacing_deficit(rt,
	    roi_target), 0.0, PACING_LAMBDA_MAX);
}

/* Only levels that meet the floor on their own, on a day far below it. */
int32_t
pacing_allowed_bps(const struct plan_runtime *rt, double roi_target,
    int32_t max_bps)
{
	int32_t safe = (int32_t)(10000.0 / (1.0 + roi_target));

	if ((double)rt->day_gmv >= (1.0 - PACING_GUARD) * roi_target *
	    (double)rt->day_cost)
		return max_bps;
	return safe < max_bps ? safe : max_bps;
}

/* The two dual steps of one order line (see pacing.h). */
void
pacing_record(struct plan_runtime *rt, double roi_target, int64_t gmv,
    int64_t cost, int64_t list_value)
{
	double t = pacing_target(roi_target), c, g;

	rt->day_gmv += gmv;
	rt->day_cost += cost;
	if (list_value <= 0)
		return;
	rt->pace_list = rt->pace_list > 0 ? rt->pace_list + PACING_LIST_WEIGHT *
	    ((double)list_value - rt->pace_list) : (double)list_value;
	c = t * (double)rt->day_cost;
	g = (double)rt->day_gmv;
	rt->lambda += PACING_ETA * (t * (double)cost - (double)gmv) /
	    rt->pace_list;
	if (c + g > 0)
		rt->lambda += PACING_ETA_DAY * (c - g) / (c + g);
	rt->lambda = pacing_clamp(rt->lambda, 0.0, PACING_LAMBDA_MAX);
}

/* Subtract a reversed line from today's figures (not below zero). */
void
pacing_reverse(struct plan_runtime *rt, int64_t day, int64_t gmv,
    int64_t cost)
{
	if (day != rt->pace_day)
		return;
	rt->day_gmv = rt->day_gmv > gmv ? rt->day_gmv - gmv : 0;
	rt->day_cost = rt->day_cost > cost ? rt->day_cost - cost : 0;
}

/* Dual step on a resource: dearer when used beyond its rate. */
void
pacing_resource_step(struct pacing_resource *pr, double used, double rate)
{
	pr->mu += pr->eta * (used - rate);
	if (pr->mu < 0)
		pr->mu = 0;
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
