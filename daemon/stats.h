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

/* A Prometheus histogram: counts per bucket (last is +Inf), sum, count. */
struct stats_hist {
	uint64_t bucket[STATS_LAT_BUCKETS + 1];
	double sum;
	uint64_t count;
};

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
	uint64_t campaign_cut;          /* offers ended at a campaign's start */
	uint64_t superseded;            /* standing offers re-issued so */
	uint64_t vouchers_returned;
	uint64_t range_refused;         /* offers outside the range, refused */
	uint64_t budget_held;
	uint64_t budget_overrun;        /* minor units */
	uint64_t late_views;
	uint64_t offers_by_tool[8];     /* enum checkout_kind */
	uint64_t redeliveries;
	uint64_t batches;
	uint64_t redis_errors;
	uint64_t redis_conflicts;
	uint64_t kafka_errors;
	uint64_t produce_retries;
	struct stats_hist batch_lat;    /* a batch's take to its emit */
	struct stats_hist decision;     /* the engine's decision on one view */
	int64_t consumer_lag;           /* messages, -1 unknown */
	int64_t started_ms;
};

extern struct stats stats;

/* Count one batch's take-to-emit latency, in seconds. */
void stats_observe_latency(double seconds);

/* Count the time of the engine's decision on one page view, in seconds. */
void stats_observe_decision(double seconds);

/* The Prometheus exposition, malloc'd; NULL when out of memory. */
char *stats_prometheus(int redis_up, int assigned, int plans_active);

#endif
