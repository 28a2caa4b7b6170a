/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.c - counters and the Prometheus text exposition.
 */
#include "stats.h"
#include "checkout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct stats stats = { .consumer_lag = -1 };

static const double stats_bounds[STATS_LAT_BUCKETS] = {
	0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5
};

/* One decision is in-memory work: microseconds, not milliseconds. */
static const double stats_decision_bounds[STATS_LAT_BUCKETS] = {
	0.000001, 0.000002, 0.000005, 0.00001, 0.00002, 0.00005, 0.0001,
	0.0002, 0.0005, 0.001, 0.002, 0.01
};

/* Count one observation into a histogram with these bucket bounds. */
static void
stats_hist_observe(struct stats_hist *h, const double *bounds,
    double seconds)
{
	int i = 0;

	while (i < STATS_LAT_BUCKETS && seconds > bounds[i])
		i++;
	h->bucket[i]++;
	h->sum += seconds;
	h->count++;
}

/* One batch latency observation. */
void
stats_observe_latency(double seconds)
{
	stats_hist_observe(&stats.batch_lat, stats_bounds, seconds);
}

/* One decision time observation. */
void
stats_observe_decision(double seconds)
{
	stats_hist_observe(&stats.decision, stats_decision_bounds, seconds);
}

struct stats_buf {
	char *p;
	size_t len, cap;
	int oom;
};

/* Append formatted text. */
static void __attribute__((format(printf, 2, 3)))
stats_printf(struct stats_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0 || b->oom)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + (size_t)n);
		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

/* One counter with HELP and TYPE lines. */
static void
stats_counter(struct stats_buf *b, const char *name, const char *help,
    uint64_t v)
{
	stats_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name,
	    help, name, name, (unsigned long long)v);
}

/* One gauge. */
static void
stats_gauge(struct stats_buf *b, const char *name, const char *help,
    double v)
{
	stats_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name,
	    help, name, name, v);
}

/* One histogram with HELP and TYPE lines. */
static void
stats_histogram(struct stats_buf *b, const char *name, const char *help,
    const struct stats_hist *h, const double *bounds)
{
	uint64_t cum = 0;

	stats_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help,
	    name);
	for (int i = 0; i <= STATS_LAT_BUCKETS; i++) {
		cum += h->bucket[i];
		if (i < STATS_LAT_BUCKETS)
			stats_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
			    bounds[i], (unsigned long long)cum);
		else
			stats_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			    (unsigned long long)cum);
	}
	stats_printf(b, "%s_sum %.9f\n%s_count %llu\n", name, h->sum, name,
	    (unsigned long long)h->count);
}

/* The whole exposition. */
char *
stats_prometheus(int redis_up, int assigned, int plans_active)
{
	struct stats_buf b = { .p = malloc(4096), .cap = 4096 };

	if (b.p == NULL)
		return NULL;
	stats_printf(&b, "# HELP smartpromo_events_total events applied, by "
	    "type\n# TYPE smartpromo_events_total counter\n");
	for (int t = 0; t < EV__COUNT; t++)
		stats_printf(&b, "smartpromo_events_total{type=\"%s\"} %llu\n",
		    event_type_name((enum event_type)t),
		    (unsigned long long)stats.events[t]);
	stats_counter(&b, "smartpromo_dead_letters_total",
	    "events rejected to the dead-letter topic", stats.dead_letters);
	stats_printf(&b, "# HELP smartpromo_offers_total offers emitted, by "
	    "tool\n# TYPE smartpromo_offers_total counter\n");
	for (int t = 0; t < CHECKOUT__KINDS; t++)
		stats_printf(&b, "smartpromo_offers_total{tool=\"%s\"} %llu\n",
		    checkout_kind_name((enum checkout_kind)t),
		    (unsigned long long)stats.offers_by_tool[t]);
	stats_counter(&b, "smartpromo_offers_withheld_total",
	    "offers the price guarantee kept back", stats.withheld);
	stats_printf(&b, "# HELP smartpromo_checkout_guard_total offers the "
	    "price guarantee acted on when they were made, by what it did\n"
	    "# TYPE smartpromo_checkout_guard_total counter\n"
	    "smartpromo_checkout_guard_total{guard=\"withheld\"} %llu\n"
	    "smartpromo_checkout_guard_total{guard=\"campaign_cut\"} %llu\n"
	    "smartpromo_checkout_guard_total{guard=\"superseded\"} %llu\n",
	    (unsigned long long)stats.withheld,
	    (unsigned long long)stats.campaign_cut,
	    (unsigned long long)stats.superseded);
	stats_counter(&b, "smartpromo_vouchers_returned_total",
	    "claimed vouchers given back by a cancellation or full refund "
	    "before their expiry", stats.vouchers_returned);
	stats_counter(&b, "smartpromo_range_refused_total",
	    "offers refused because their price fell outside the product's "
	    "range (a bug: should stay 0)", stats.range_refused);
	stats_counter(&b, "smartpromo_budget_held_total",
	    "views with no offer because the plan's budget is paced out for "
	    "the day", stats.budget_held);
	stats_counter(&b, "smartpromo_budget_overrun_total",
	    "promotion cost (minor units) credited beyond its offer's budget "
	    "reservation", stats.budget_overrun);
	stats_counter(&b, "smartpromo_late_views_total",
	    "views with no offer because they were older than the offer TTL "
	    "when applied", stats.late_views);
	stats_counter(&b, "smartpromo_holdout_views_total",
	    "page views of control-group customers", stats.holdout_views);
	stats_counter(&b, "smartpromo_no_offer_total",
	    "views in a plan where no price fitted the range", stats.no_offer);
	stats_counter(&b, "smartpromo_conversions_total",
	    "orders that used an offer", stats.conversions);
	stats_counter(&b, "smartpromo_campaign_holds_total",
	    "views with no offer because a campaign price held",
	    stats.campaign_holds);
	stats_printf(&b, "# HELP smartpromo_seller_promotions_total seller "
	    "promotions deactivated (replaced) or refused by a plan\n"
	    "# TYPE smartpromo_seller_promotions_total counter\n"
	    "smartpromo_seller_promotions_total{outcome=\"replaced\"} %llu\n"
	    "smartpromo_seller_promotions_total{outcome=\"refused\"} %llu\n",
	    (unsigned long long)stats.promotions_deactivated,
	    (unsigned long long)stats.promotions_refused);
	stats_counter(&b, "smartpromo_redeliveries_total",
	    "events skipped because already applied", stats.redeliveries);
	stats_counter(&b, "smartpromo_batches_total", "batches committed",
	    stats.batches);
	stats_counter(&b, "smartpromo_redis_errors_total",
	    "failed Redis commands and disconnects", stats.redis_errors);
	stats_counter(&b, "smartpromo_redis_conflicts_total",
	    "writes refused because another writer moved a product",
	    stats.redis_conflicts);
	stats_counter(&b, "smartpromo_kafka_errors_total",
	    "Kafka client errors", stats.kafka_errors);
	stats_counter(&b, "smartpromo_produce_retries_total",
	    "messages produced again after a failed delivery",
	    stats.produce_retries);
	stats_histogram(&b, "smartpromo_batch_latency_seconds", "time from "
	    "taking a batch of events to emitting its offers (every view of "
	    "the batch waits this long for its offer, Redis and Kafka "
	    "included)", &stats.batch_lat, stats_bounds);
	stats_histogram(&b, "smartpromo_decision_seconds", "time of the "
	    "engine's decision on one page view (learner, pricing, "
	    "constraints; in memory, no I/O)", &stats.decision,
	    stats_decision_bounds);
	stats_gauge(&b, "smartpromo_consumer_lag_messages",
	    "messages behind the high watermark, -1 unknown",
	    (double)stats.consumer_lag);
	stats_gauge(&b, "smartpromo_redis_up", "1 when Redis is connected",
	    redis_up);
	stats_gauge(&b, "smartpromo_assigned_partitions",
	    "input partitions assigned to this instance", assigned);
	stats_gauge(&b, "smartpromo_plans_active", "active plans",
	    plans_active);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
