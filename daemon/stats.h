/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.h - the daemon's operational counters, shown at GET /metrics in
 * Prometheus text format and in GET /v1/status.  One process-wide instance;
 * only the event loop thread touches it.
 */
#ifndef SP_STATS_H
#define SP_STATS_H

#include <stdint.h>

#include "event.h"

#define STATS_LAT_BUCKETS 12

struct stats {
	uint64_t events[EV__COUNT];     /* decoded and applied, by type */
	uint64_t dead_letters;
	uint64_t offers;
	uint64_t holdout_views;
	uint64_t no_offer;
	uint64_t conversions;
	uint64_t campaign_holds;
	uint64_t promotions_deactivated;
	uint64_t promotions_refused;
	uint64_t withheld;
	uint64_t range_refused;         /* offers outside the range, refused */
	uint64_t budget_held;
	uint64_t late_views;
	uint64_t offers_by_tool[8];     /* enum checkout_kind */
	uint64_t redeliveries;
	uint64_t batches;
	uint64_t redis_errors;
	uint64_t redis_conflicts;
	uint64_t kafka_errors;
	uint64_t produce_retries;
	uint64_t lat_bucket[STATS_LAT_BUCKETS + 1];  /* last is +Inf */
	double lat_sum;
	uint64_t lat_count;
	int64_t consumer_lag;           /* messages, -1 unknown */
	int64_t started_ms;
};

extern struct stats stats;

/* Count one batch's take-to-emit latency, in seconds. */
void stats_observe_latency(double seconds);

/* The Prometheus exposition, malloc'd; NULL when out of memory. */
char *stats_prometheus(int redis_up, int assigned, int plans_active);

#endif
