/* SPDX-License-Identifier: Apache-2.0 */
/*
 * latency.c - bench_latency: per-offer page-view-to-offer latency of a
 * running smartpromod at a fixed input rate.
 *
 * Produces page_view events (docs/events.md, keyed by product_id as the
 * daemon expects) to smartpromo.events at a steady N/s, paced with
 * clock_nanosleep in small bursts every millisecond.  Every view has a
 * unique customer_id ("lb-PID-SEQ"), so each view of a plan product by a
 * customer outside the holdout may get an offer.  The wall-clock send time
 * of each (customer_id, product_id) goes into a hash table.  A second
 * rd_kafka_t, on its own thread, reads smartpromo.offers from the end of
 * every partition (positions taken before producing starts), matches each
 * offer to its view and records latency = receive time - send time.
 *
 * One warm-up view (outside the plan, not counted) is delivered before
 * the clock starts, so that the producer's start-up is not measured.
 * After S seconds of sending, the producer is flushed and offers are
 * drained until none arrived for --drain-ms; then it prints views sent,
 * offers matched, unmatched and p50/p90/p99/p999/max latency in ms, over
 * all views and over the views sent after the first --warmup-ms (default
 * 1000: the daemon's first batches after an idle spell are slower), and
 * the part of the latency up to the offer's Kafka CreateTime.
 * Exit status: 0, or 1 on a correctness failure (produce or delivery
 * errors, an offer for a product its customer never viewed, no offer at
 * all), never because of a latency figure; 2 on a usage error.
 *
 * usage: bench_latency -b BROKERS --rate N --seconds S --products P
 *        --plan-products K [--drain-ms MS] [--warmup-ms MS]
 *        [--events-topic T] [--offers-topic T] [--dump FILE]
 *
 * --dump FILE writes one line per matched offer, "SEND_MS LATENCY_MS
 * MADE_MS" (send time relative to the first view; the latency; the part
 * of it up to the offer's Kafka CreateTime, i.e. the daemon's produce
 * call, ms precision), to see latency over time and where it goes.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "util.h"

#define LB_TICK_NS	1000000L	/* one burst per millisecond */
#define LB_META_MS	10000
#define LB_NS_PER_MS	1000000.0

struct lb_opts {
	const char	*brokers;
	const char	*events_topic;
	const char	*offers_topic;
	long		 rate;
	long		 seconds;
	long		 products;
	long		 plan_products;
	long		 drain_ms;
	long		 warmup_ms;
	const char	*dump;
};

/* One sent view: key (seq + 1, 0 = empty slot), product, send time. */
struct lb_slot {
	uint64_t	 key;
	int64_t		 sent_ns;
	uint32_t	 product;
	uint32_t	 offers;
};

/* Open-addressing hash table of the views sent, keyed by customer seq. */
struct lb_table {
	struct lb_slot	*slots;
	size_t		 mask;
	pthread_mutex_t	 lock;
};

/* What the offers thread found. */
struct lb_recv {
	int64_t		*lat_ns;
	int64_t		*sent_ns;	/* send time of each latency */
	int64_t		*made_ns;	/* to the offer's CreateTime, each */
	size_t		 nlat;
	size_t		 cap;
	long		 unmatched;	/* offers of no view of ours */
	long		 wrong_product;	/* our customer, another product */
	long		 duplicates;	/* a second offer for one view */
	long		 errors;	/* consumer errors */
	_Atomic int64_t	 last_ns;	/* monotonic time of the last offer */
};

struct lb_ctx {
	struct lb_opts	 o;
	struct lb_table	 tab;
	struct lb_recv	 recv;
	rd_kafka_t	*prod;
	rd_kafka_t	*cons;
	char		 prefix[32];	/* "lb-PID-" */
	long		 sent;
	long		 sent_plan;	/* views of a plan product */
	long		 produce_errors;
	long		 queue_full;
	long		 dr_failed;
	int64_t		 max_behind_ns;	/* worst lag behind the schedule */
	int64_t		 t0_wall_ns;	/* wall time sending started */
	atomic_int	 stop;
};

/* Nanoseconds of a clock. */
static int64_t
lb_now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Print the usage text. */
static void
lb_usage(FILE *fp)
{
	fprintf(fp, "usage: bench_latency -b BROKERS --rate N --seconds S "
	    "--products P --plan-products K\n"
	    "       [--drain-ms MS] [--warmup-ms MS] [--events-topic T]\n"
	    "       [--offers-topic T] [--dump FILE]\n");
}

/* Handle one option with its value; 0, or -1 if unknown or invalid. */
static int
lb_opt(const char *a, const char *v, struct lb_opts *o)
{
	if (strcmp(a, "-b") == 0)
		return (o->brokers = v) != NULL ? 0 : -1;
	if (strcmp(a, "--events-topic") == 0)
		return (o->events_topic = v) != NULL ? 0 : -1;
	if (strcmp(a, "--offers-topic") == 0)
		return (o->offers_topic = v) != NULL ? 0 : -1;
	if (strcmp(a, "--dump") == 0)
		return (o->dump = v) != NULL ? 0 : -1;
	if (strcmp(a, "--rate") == 0)
		return util_parse_long(v, 1, 1000000, &o->rate);
	if (strcmp(a, "--seconds") == 0)
		return util_parse_long(v, 1, 3600, &o->seconds);
	if (strcmp(a, "--products") == 0)
		return util_parse_long(v, 1, 10000000, &o->products);
	if (strcmp(a, "--plan-products") == 0)
		return util_parse_long(v, 0, 10000000, &o->plan_products);
	if (strcmp(a, "--drain-ms") == 0)
		return util_parse_long(v, 100, 600000, &o->drain_ms);
	if (strcmp(a, "--warmup-ms") == 0)
		return util_parse_long(v, 0, 3600000, &o->warmup_ms);
	return -1;
}

/* Parse the command line; 0, or -1 on a usage error. */
static int
lb_parse(int argc, char **argv, struct lb_opts *o)
{
	int i;

	*o = (struct lb_opts){ .events_topic = "smartpromo.events",
	    .offers_topic = "smartpromo.offers", .drain_ms = 3000, .warmup_ms = 1000 };
	for (i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			lb_usage(stdout);
			exit(0);
		}
		if (lb_opt(argv[i], i + 1 < argc ? argv[i + 1] : NULL,
		    o) == -1) {
			fprintf(stderr, "bench_latency: bad option or value "
			    "\"%s\"\n", argv[i]);
			return -1;
		}
	}
	if (o->brokers == NULL || o->rate == 0 || o->seconds == 0 ||
	    o->products == 0 || o->plan_products > o->products) {
		fprintf(stderr, "bench_latency: -b, --rate, --seconds, "
		    "--products and --plan-products (<= products) needed\n");
		return -1;
	}
	return 0;
}

/* Make the table for n views (load factor at most 1/2). */
static int
lb_table_init(struct lb_table *t, size_t n)
{
	size_t cap = 1024;

	while (cap < 2 * n)
		cap <<= 1;
	if ((t->slots = calloc(cap, sizeof(*t->slots))) == NULL)
		return -1;
	t->mask = cap - 1;
	return pthread_mutex_init(&t->lock, NULL) == 0 ? 0 : -1;
}

/* A 64-bit mix (splitmix64 finaliser). */
static size_t
lb_hash(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)x;
}

/* The slot of seq: its own, or the empty one where it would go. */
static struct lb_slot *
lb_table_find(struct lb_table *t, uint64_t seq)
{
	size_t i = lb_hash(seq + 1) & t->mask;

	while (t->slots[i].key != 0 && t->slots[i].key != seq + 1)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

/* Record the send time of view seq of product. */
static void
lb_table_put(struct lb_table *t, uint64_t seq, uint32_t product,
    int64_t sent_ns)
{
	struct lb_slot *s;

	pthread_mutex_lock(&t->lock);
	s = lb_table_find(t, seq);
	s->key = seq + 1;
	s->product = product;
	s->sent_ns = sent_ns;
	pthread_mutex_unlock(&t->lock);
}

/* Grow *v to cap elements; 0, or -1 (and *v kept) when out of memory. */
static int
lb_grow(int64_t **v, size_t cap)
{
	int64_t *p = realloc(*v, cap * sizeof(*p));

	if (p == NULL)
		return -1;
	*v = p;
	return 0;
}

/*
 * Append one latency, of a view sent at sent_ns, to the record; made_ns
 * is the time from the send to the offer's Kafka CreateTime (the
 * daemon's produce call, millisecond precision).
 */
static void
lb_recv_add(struct lb_recv *r, int64_t ns, int64_t sent_ns, int64_t made_ns)
{
	size_t cap = r->cap ? 2 * r->cap : 65536;

	if (r->nlat == r->cap) {
		if (lb_grow(&r->lat_ns, cap) == -1 ||
		    lb_grow(&r->sent_ns, cap) == -1 ||
		    lb_grow(&r->made_ns, cap) == -1) {
			r->errors++;
			return;
		}
		r->cap = cap;
	}
	r->sent_ns[r->nlat] = sent_ns;
	r->made_ns[r->nlat] = made_ns;
	r->lat_ns[r->nlat++] = ns;
}

/* Parse "PREFIXSEQ" and "pN"; 0, or -1 if the offer is not ours. */
static int
lb_offer_ids(const struct lb_ctx *c, json_t *offer, uint64_t *seq,
    uint32_t *product)
{
	const char *cust, *prod;
	size_t plen = strlen(c->prefix);
	char *end;

	cust = json_string_value(json_object_get(offer, "customer_id"));
	prod = json_string_value(json_object_get(offer, "product_id"));
	if (cust == NULL || prod == NULL || strncmp(cust, c->prefix,
	    plen) != 0 || prod[0] != 'p')
		return -1;
	errno = 0;
	*seq = strtoull(cust + plen, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*product = (uint32_t)strtoul(prod + 1, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* Match one offer message received at wall time now_ns. */
static void
lb_match(struct lb_ctx *c, const rd_kafka_message_t *m, int64_t now_ns)
{
	struct lb_slot *s;
	uint64_t seq;
	uint32_t product;
	json_t *offer;
	int64_t made_ms = rd_kafka_message_timestamp(m, NULL);

	offer = json_loadb(m->payload, m->len, 0, NULL);
	if (offer == NULL || lb_offer_ids(c, offer, &seq, &product) == -1) {
		c->recv.unmatched++;
		json_decref(offer);
		return;
	}
	json_decref(offer);
	pthread_mutex_lock(&c->tab.lock);
	s = lb_table_find(&c->tab, seq);
	if (s->key == 0)
		c->recv.unmatched++;
	else if (s->product != product)
		c->recv.wrong_product++;
	else if (s->offers++ > 0)
		c->recv.duplicates++;
	else
		lb_recv_add(&c->recv, now_ns - s->sent_ns, s->sent_ns,
		    made_ms * 1000000 - s->sent_ns);
	pthread_mutex_unlock(&c->tab.lock);
}

/* The offers thread: poll, match, until told to stop. */
static void *
lb_consume(void *arg)
{
	struct lb_ctx *c = arg;
	rd_kafka_message_t *m;

	while (!c->stop) {
		if ((m = rd_kafka_consumer_poll(c->cons, 100)) == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			lb_match(c, m, lb_now(CLOCK_REALTIME));
			c->recv.last_ns = lb_now(CLOCK_MONOTONIC);
		} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			fprintf(stderr, "bench_latency: consume: %s\n",
			    rd_kafka_message_errstr(m));
			c->recv.errors++;
		}
		rd_kafka_message_destroy(m);
	}
	return NULL;
}

/* Delivery report: count failures. */
static void
lb_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct lb_ctx *c = opaque;

	(void)rk;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (c->dr_failed++ == 0)
			fprintf(stderr, "bench_latency: delivery failed: "
			    "%s\n", rd_kafka_err2str(m->err));
	}
}

/* Set pairs of properties on conf; -1 with errstr on a failure. */
static int
lb_conf_set(rd_kafka_conf_t *conf, const char **pairs, char *errstr,
    size_t errlen)
{
	for (; pairs[0] != NULL; pairs += 2)
		if (rd_kafka_conf_set(conf, pairs[0], pairs[1], errstr,
		    errlen) != RD_KAFKA_CONF_OK)
			return -1;
	return 0;
}

/* Make a producer or consumer on the brokers. */
static rd_kafka_t *
lb_client(struct lb_ctx *c, rd_kafka_type_t type, const char **pairs)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", c->o.brokers,
	    errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    lb_conf_set(conf, pairs, errstr, sizeof(errstr)) == -1) {
		fprintf(stderr, "bench_latency: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_opaque(conf, c);
	if (type == RD_KAFKA_PRODUCER)
		rd_kafka_conf_set_dr_msg_cb(conf, lb_dr_cb);
	if ((rk = rd_kafka_new(type, conf, errstr, sizeof(errstr))) == NULL)
		fprintf(stderr, "bench_latency: %s\n", errstr);
	return rk;
}

/* Number of partitions of topic; -1 on an error. */
static int
lb_partitions(rd_kafka_t *rk, const char *topic)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	int n = -1;

	if (t != NULL && rd_kafka_metadata(rk, 0, t, &md, LB_META_MS) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (md->topic_cnt == 1 && md->topics[0].err == 0)
			n = md->topics[0].partition_cnt;
		rd_kafka_metadata_destroy(md);
	}
	if (t != NULL)
		rd_kafka_topic_destroy(t);
	if (n <= 0)
		fprintf(stderr, "bench_latency: no partitions of \"%s\"\n",
		    topic);
	return n;
}

/* Assign every offers partition at its current high watermark. */
static int
lb_assign_end(struct lb_ctx *c)
{
	rd_kafka_topic_partition_list_t *parts;
	int64_t lo, hi;
	int n, i, rc = 0;

	if ((n = lb_partitions(c->cons, c->o.offers_topic)) <= 0)
		return -1;
	parts = rd_kafka_topic_partition_list_new(n);
	for (i = 0; i < n && rc == 0; i++) {
		if (rd_kafka_query_watermark_offsets(c->cons,
		    c->o.offers_topic, i, &lo, &hi, LB_META_MS) != 0)
			rc = -1;
		rd_kafka_topic_partition_list_add(parts, c->o.offers_topic,
		    i)->offset = hi;
	}
	if (rc == 0 && rd_kafka_assign(c->cons, parts) != 0)
		rc = -1;
	rd_kafka_topic_partition_list_destroy(parts);
	if (rc == -1)
		fprintf(stderr, "bench_latency: cannot assign \"%s\"\n",
		    c->o.offers_topic);
	return rc;
}

/* Make both clients and position the consumer; 0 or -1. */
static int
lb_clients(struct lb_ctx *c)
{
	static const char *pp[] = {
		"enable.idempotence", "true",
		"linger.ms", "0",
		"queue.buffering.max.messages", "1000000",
		"client.id", "bench-latency-producer",
		NULL
	};
	static const char *cp[] = {
		"group.id", "bench-latency",
		"enable.auto.commit", "false",
		/* the dev broker holds an empty fetch for the whole wait */
		"fetch.wait.max.ms", "1",
		"fetch.min.bytes", "1",
		"client.id", "bench-latency-consumer",
		NULL
	};

	if ((c->prod = lb_client(c, RD_KAFKA_PRODUCER, pp)) == NULL ||
	    (c->cons = lb_client(c, RD_KAFKA_CONSUMER, cp)) == NULL)
		return -1;
	rd_kafka_poll_set_consumer(c->cons);
	return lb_assign_end(c);
}

/* Produce view seq now; -1 on a hard produce error. */
static int
lb_send(struct lb_ctx *c, uint64_t seq)
{
	uint32_t product = (uint32_t)(seq * 2654435761u % c->o.products);
	char pid[24], buf[320];
	int64_t wall = lb_now(CLOCK_REALTIME);
	rd_kafka_resp_err_t err;
	int len, klen;

	klen = snprintf(pid, sizeof(pid), "p%" PRIu32, product);
	len = snprintf(buf, sizeof(buf), "{\"type\":\"page_view\","
	    "\"event_id\":\"%sv%" PRIu64 "\",\"ts\":%" PRId64 ","
	    "\"shop_id\":\"shop-%" PRIu32 "\",\"product_id\":\"%s\","
	    "\"customer_id\":\"%s%" PRIu64 "\"}", c->prefix, seq,
	    wall / 1000000, product % 10, pid, c->prefix, seq);
	lb_table_put(&c->tab, seq, product, wall);
	for (;;) {
		err = rd_kafka_producev(c->prod,
		    RD_KAFKA_V_TOPIC(c->o.events_topic),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_KEY(pid, (size_t)klen),
		    RD_KAFKA_V_VALUE(buf, (size_t)len), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		c->queue_full++;
		rd_kafka_poll(c->prod, 1);
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (c->produce_errors++ == 0)
			fprintf(stderr, "bench_latency: produce: %s\n",
			    rd_kafka_err2str(err));
		return -1;
	}
	c->sent++;
	if (product < (uint32_t)c->o.plan_products)
		c->sent_plan++;
	return 0;
}

/*
 * Warm the producer up: librdkafka holds the first messages until it has
 * the topic's metadata and (idempotence) a producer id, about a second on
 * the dev broker, which would count as offer latency.  So send one view
 * of the last product (outside the plan when the plan is smaller than the
 * catalog) by a customer outside our prefix and wait for its delivery.
 */
static int
lb_warmup(struct lb_ctx *c)
{
	char pid[24], buf[256];
	int len, klen;

	klen = snprintf(pid, sizeof(pid), "p%ld", c->o.products - 1);
	len = snprintf(buf, sizeof(buf), "{\"type\":\"page_view\","
	    "\"event_id\":\"w%swarmup\",\"ts\":%" PRId64 ",\"shop_id\":"
	    "\"shop-%ld\",\"product_id\":\"%s\",\"customer_id\":"
	    "\"w%swarmup\"}", c->prefix, lb_now(CLOCK_REALTIME) / 1000000,
	    (c->o.products - 1) % 10, pid, c->prefix);
	if (rd_kafka_producev(c->prod, RD_KAFKA_V_TOPIC(c->o.events_topic),
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_KEY(pid, (size_t)klen),
	    RD_KAFKA_V_VALUE(buf, (size_t)len), RD_KAFKA_V_END) != 0 ||
	    rd_kafka_flush(c->prod, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    c->dr_failed > 0) {
		fprintf(stderr, "bench_latency: warm-up view not delivered\n");
		return -1;
	}
	return 0;
}

/* Add ns nanoseconds to an absolute time. */
static void
lb_ts_add(struct timespec *ts, long ns)
{
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

/* Send rate views/s for seconds, a burst per tick to stay on schedule. */
static void
lb_produce_loop(struct lb_ctx *c)
{
	long total = c->o.rate * c->o.seconds;
	int64_t t0 = lb_now(CLOCK_MONOTONIC), el, behind;
	struct timespec next;
	long due;

	clock_gettime(CLOCK_MONOTONIC, &next);
	c->t0_wall_ns = lb_now(CLOCK_REALTIME);
	while (c->sent + c->produce_errors < total) {
		el = lb_now(CLOCK_MONOTONIC) - t0;
		due = (long)((double)el * (double)c->o.rate / 1e9);
		if (due > total)
			due = total;
		behind = (int64_t)(due - c->sent) * 1000000000 / c->o.rate;
		if (behind > c->max_behind_ns)
			c->max_behind_ns = behind;
		while (c->sent + c->produce_errors < due)
			(void)lb_send(c, (uint64_t)(c->sent +
			    c->produce_errors));
		rd_kafka_poll(c->prod, 0);
		lb_ts_add(&next, LB_TICK_NS);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}

/* Wait for the last deliveries, then for offers to stop arriving. */
static void
lb_drain(struct lb_ctx *c)
{
	int64_t idle = (int64_t)c->o.drain_ms * 1000000, start;

	if (rd_kafka_flush(c->prod, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		c->dr_failed += rd_kafka_outq_len(c->prod);
	start = lb_now(CLOCK_MONOTONIC);
	for (;;) {
		struct timespec ts = { 0, 50000000L };
		int64_t now = lb_now(CLOCK_MONOTONIC);
		int64_t last = c->recv.last_ns > start ? c->recv.last_ns :
		    start;

		if (now - last >= idle)
			break;
		nanosleep(&ts, NULL);
	}
}

/* Write "SEND_MS LATENCY_MS" per matched offer to the dump file. */
static void
lb_dump(const struct lb_ctx *c)
{
	const struct lb_recv *r = &c->recv;
	FILE *fp;
	size_t i;

	if (c->o.dump == NULL)
		return;
	if ((fp = fopen(c->o.dump, "w")) == NULL) {
		fprintf(stderr, "bench_latency: cannot write \"%s\": %s\n",
		    c->o.dump, strerror(errno));
		return;
	}
	for (i = 0; i < r->nlat; i++)
		fprintf(fp, "%.3f %.3f %.3f\n", (double)(r->sent_ns[i] -
		    c->t0_wall_ns) / LB_NS_PER_MS, (double)r->lat_ns[i] /
		    LB_NS_PER_MS, (double)r->made_ns[i] / LB_NS_PER_MS);
	fclose(fp);
}

/* Compare two int64_t for qsort. */
static int
lb_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of sorted v, in ms. */
static double
lb_quantile(const int64_t *v, size_t n, double q)
{
	size_t r;

	if (n == 0)
		return 0.0;
	r = (size_t)(q * (double)n + 0.999999);
	r = r == 0 ? 0 : r - 1;
	return (double)v[r < n ? r : n - 1] / LB_NS_PER_MS;
}

/* Print the quantiles of the n latencies v (sorted here) under label. */
static void
lb_print_q(const char *label, int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), lb_cmp);
	printf("%s (%zu offers) ms: p50 %.2f p90 %.2f p99 %.2f p999 %.2f "
	    "max %.2f\n", label, n, lb_quantile(v, n, 0.5),
	    lb_quantile(v, n, 0.9), lb_quantile(v, n, 0.99),
	    lb_quantile(v, n, 0.999), n ? (double)v[n - 1] / LB_NS_PER_MS :
	    0.0);
}

/*
 * Copy into out the latencies of the views sent from warmup_ms on (the
 * steady state); their number.
 */
static size_t
lb_steady(const struct lb_ctx *c, int64_t *out)
{
	const struct lb_recv *r = &c->recv;
	int64_t from = c->t0_wall_ns + (int64_t)c->o.warmup_ms * 1000000;
	size_t i, k = 0;

	for (i = 0; i < r->nlat; i++)
		if (r->sent_ns[i] >= from)
			out[k++] = r->lat_ns[i];
	return k;
}

/* Print the results; 0, or 1 on a correctness failure. */
static int
lb_report(struct lb_ctx *c)
{
	struct lb_recv *r = &c->recv;
	size_t n = r->nlat, k;
	int64_t *steady = malloc((n ? n : 1) * sizeof(*steady));
	char label[64];

	printf("rate %ld/s for %ld s: views sent %ld (of plan products "
	    "%ld), offers matched %zu (%.1f%% of plan views), unmatched "
	    "%ld, wrong product %ld, duplicates %ld\n", c->o.rate,
	    c->o.seconds, c->sent, c->sent_plan, n, c->sent_plan ?
	    100.0 * (double)n / (double)c->sent_plan : 0.0, r->unmatched,
	    r->wrong_product, r->duplicates);
	k = steady != NULL ? lb_steady(c, steady) : 0;
	lb_print_q("latency, all views", r->lat_ns, n);
	snprintf(label, sizeof(label), "latency, views after the first %ld "
	    "ms", c->o.warmup_ms);
	lb_print_q(label, steady, k);
	lb_print_q("  all views, sent to offer produced (offer CreateTime, "
	    "+-1 ms)", r->made_ns, n);
	free(steady);
	printf("generator: max behind schedule %.2f ms, queue-full retries "
	    "%ld, produce errors %ld, delivery failures %ld, consume errors "
	    "%ld\n", (double)c->max_behind_ns / LB_NS_PER_MS, c->queue_full,
	    c->produce_errors, c->dr_failed, r->errors);
	if (c->produce_errors || c->dr_failed || r->errors ||
	    r->wrong_product || (n == 0 && c->sent_plan > 0))
		return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct lb_ctx c;
	pthread_t th;
	int rc;

	if (lb_parse(argc, argv, &c.o) == -1) {
		lb_usage(stderr);
		return 2;
	}
	snprintf(c.prefix, sizeof(c.prefix), "lb-%ld-", (long)getpid());
	if (lb_table_init(&c.tab, (size_t)(c.o.rate * c.o.seconds)) == -1 ||
	    lb_clients(&c) == -1)
		return 1;
	if (lb_warmup(&c) == -1 ||
	    pthread_create(&th, NULL, lb_consume, &c) != 0)
		return 1;
	lb_produce_loop(&c);
	lb_drain(&c);
	c.stop = 1;
	pthread_join(th, NULL);
	lb_dump(&c);
	rc = lb_report(&c);
	rd_kafka_consumer_close(c.cons);
	rd_kafka_destroy(c.cons);
	rd_kafka_destroy(c.prod);
	return rc;
}
