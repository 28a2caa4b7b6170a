/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_metrics.c - the T+1 snapshot figures recounted (issue 5) and the
 * admin API against malformed HTTP (issue 6), with the real smartpromod,
 * redis-server and smartpromo-devbroker (tests/integration/harness.h).
 *
 * Group "metrics": six simulated days (event time today-6 .. today-1,
 * UTC) of catalog rows, page views of treatment and holdout shoppers,
 * orders (with the offer_id of an offer read back from the offers topic
 * and paid at its price, without one, with an unknown one, a converted
 * offer used again, an offer used after [engine] attribution_hours, a
 * line re-sent, an order of two lines), cancellations and refunds (some
 * on a later day), and one day with 2,400 distinct ordering customers.
 * The test keeps its own count of what it sent (and of the offers it
 * read), derives every figure as docs/metrics.md defines it with its own
 * arithmetic, then POSTs /v1/snapshots for each day and compares the
 * answer, GET /v1/plans/{id}/metrics (plan and product rows), the Redis
 * hashes sp:daily:<plan>:<date> (and :products) and the daily_metrics
 * messages with that recount: unique customers within three standard
 * errors of Redis's HyperLogLog (0.81%), everything else exactly.  Then
 * a re-run must leave every stored byte as it was, and a late order and
 * page view of a snapshotted day must leave its stored figures alone
 * until the day is re-run, which then moves by exactly the late events.
 *
 * Group "admin_http": raw bytes over TCP to the admin port (garbage
 * request lines, binary, oversized headers and bodies, truncated
 * requests, unknown methods, wrong bearer tokens); after each one the
 * daemon must still be running and GET /healthz must answer 200.
 * docs/testing.md says what each test proves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "harness.h"
#include "httpc.h"
#include "itest.h"

/* Shared helpers of the harness, under this file's short names. */
#define setup_test harness_setup_test
#define teardown_test harness_teardown_test
#define jtext(o) harness_jtext(o)
#define sfield(o, name) harness_sfield((o), (name))
#define fnv1a64(s) harness_fnv1a64(s)
#define in_holdout(c) harness_in_holdout((c), HOLDOUT_PCT)

#define HOLDOUT_PCT 10.0        /* [engine] holdout_pct the harness sets */
#define ATTRIB_MS (72 * 3600000LL)      /* [engine] attribution_hours */
#define Z95 1.959964            /* docs/metrics.md: the interval's z */
#define LINE_CV 0.5             /* docs/metrics.md: kappa */
#define HLL_SE 0.0081           /* Redis HyperLogLog standard error */
#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define NDAYS 6                 /* scenario days: today-6 .. today-1 */
#define NPLAN 3                 /* products in the plan */
#define PX NPLAN                /* a product of the shop in no plan */
#define NALL (NPLAN + 1)
#define NT 36                   /* treatment shoppers per day */
#define NC 10                   /* holdout shoppers per day */
#define HLL_DAY 2               /* the day with many customers */
#define NHLL 2400               /* its extra distinct ordering customers */
#define LATE_DAY 4              /* today-2: re-run by the nightly job */
#define SHOP "m5-shop"

static const char *const prod_ids[NALL] = { "m5-p0", "m5-p1", "m5-p2",
    "m5-px" };
static const int64_t prices[NALL] = { 2500, 4990, 12000, 3000 };

/* ---- the recount: what the test sent, counted its own way ---- */

/* The day counters of one product (docs/metrics.md "Counted figures"). */
struct m_counts {
	int64_t pv_t, pv_c, offers, ord_t, units_t, gmv_t, cost;
	int64_t ord_c, units_c, gmv_c, ord_o, gmv_o;
};

/* The customers of order lines (a list with repeats). */
struct m_ids {
	char **v;
	size_t n, cap;
};

/* An order as sent: its lines summed; status 0 paid, 1 cancelled,
 * 2 refunded, 3 delivered. */
struct m_order {
	char id[48];
	int prod, day, group, status;   /* group 0 none, 1 treatment, 2 c */
	int64_t ts, lines, qty, gmv, lines_o, gmv_o, cost;
};

/* An offer read from the offers topic. */
struct m_offer {
	char id[64], customer[48];
	int prod;
	int64_t ts, list, price, expires;
	int64_t max_qty;                /* a flash sale's cap, 0: none */
};

/* The scenario and its recount. */
struct scen {
	struct harness *h;
	int32_t d0;                     /* day number of scenario day 0 */
	char plan_id[64];
	int seq;                        /* event ids and event times */
	int cseq;                       /* customer ids */
	int barrier;
	struct m_counts c[NDAYS][NALL];
	struct m_ids cust[NDAYS][NALL][2];      /* [0] treatment, [1] c */
	struct m_order *ord;
	size_t nord, cap_ord;
	struct m_offer *off;
	size_t noff, cap_off;
	int dup_offer_msgs, stray_offers;
	char tc[NDAYS][NT][32], cc[NDAYS][NC][32];
	int edges[4];                   /* scenario edges that happened */
};

/* What the snapshot of a row should show (recount + derivation). */
struct exp_row {
	struct m_counts k;
	int64_t cust_t, cust_c, parts;
	double sq_t, sq_c;
	int has_roi, has_gpv_t, has_gpv_c, has_incr, has_iroi;
	double roi, gpv_t, gpv_c, iroi, iroi_lo, iroi_hi;
	int64_t incr, lo, hi;
};

enum { EDGE_REUSE, EDGE_NEXT_DAY, EDGE_TOO_LATE, EDGE_MULTI_CANCEL };

static struct scen scen;
static int mismatches;

/* ---- small helpers ---- */

/* The next customer id "<prefix>-<n>" in (holdout 1) or out of it. */
static void
next_customer(struct scen *s, const char *prefix, int holdout, char *buf,
    size_t len)
{
	do
		snprintf(buf, len, "%s-%d", prefix, s->cseq++);
	while (in_holdout(buf) != holdout);
}

/* "YYYY-MM-DD" of a scenario day into buf (16 bytes). */
static void
sc_date(const struct scen *s, int day, char *buf)
{
	harness_date((int64_t)(s->d0 + day) * DAY_MS, buf, 16);
}

/* Event time of the next event on a scenario day: 01:00 + seq/2 s. */
static int64_t
sc_ts(struct scen *s, int day)
{
	return (int64_t)(s->d0 + day) * DAY_MS + HOUR_MS + s->seq * 500LL;
}

/* Add a customer id to a list. */
static void
ids_add(struct m_ids *l, const char *id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n] = strdup(id);
	assert_non_null(l->v[l->n]);
	l->n++;
}

/* qsort comparison of two C strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The number of distinct ids over n lists. */
static int64_t
ids_distinct(struct m_ids *const *lists, size_t n)
{
	size_t total = 0, k = 0;
	int64_t d = 0;
	char **all;

	for (size_t i = 0; i < n; i++)
		total += lists[i]->n;
	if (total == 0)
		return 0;
	all = calloc(total, sizeof(*all));
	assert_non_null(all);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < lists[i]->n; j++)
			all[k++] = lists[i]->v[j];
	qsort(all, total, sizeof(*all), cmp_str);
	for (size_t i = 0; i < total; i++)
		d += i == 0 || strcmp(all[i], all[i - 1]) != 0;
	free(all);
	return d;
}

/* The product index of an id, -1 if not ours. */
static int
prod_index(const char *id)
{
	for (int p = 0; p < NALL; p++)
		if (strcmp(prod_ids[p], id) == 0)
			return p;
	return -1;
}

/* ---- events ---- */

/* The common fields of an event (new reference). */
static json_t *
ev_new(struct scen *s, const char *type, int p, int64_t ts)
{
	char id[64];

	snprintf(id, sizeof(id), "m5-ev-%d", ++s->seq);
	return json_pack("{s:s, s:s, s:I, s:s, s:s}", "type", type,
	    "event_id", id, "ts", (json_int_t)ts, "shop_id", SHOP,
	    "product_id", prod_ids[p]);
}

/* Queue an event keyed by its product (times copies of the same bytes). */
static void
ev_send(struct scen *s, int p, json_t *ev, int times)
{
	char *text = json_dumps(ev, JSON_COMPACT);

	assert_non_null(text);
	for (int i = 0; i < times; i++)
		H_OK(s->h, harness_send(s->h, HARNESS_TOPIC_EVENTS,
		    prod_ids[p], text, strlen(text), NULL));
	free(text);
	json_decref(ev);
}

/* A catalog row of product p with stock (the barrier value). */
static void
send_product(struct scen *s, int p, int64_t stock)
{
	json_t *ev = ev_new(s, "product", p, (int64_t)s->d0 * DAY_MS);

	json_object_set_new(ev, "price", json_integer(prices[p]));
	json_object_set_new(ev, "stock", json_integer(stock));
	json_object_set_new(ev, "listed_at", json_integer((int64_t)(s->d0 -
	    30) * DAY_MS));
	ev_send(s, p, ev, 1);
}

/* A page view on day (times > 1 re-sends the same bytes); counted. */
static void
send_view(struct scen *s, int day, int p, const char *cust, int times)
{
	json_t *ev = ev_new(s, "page_view", p, sc_ts(s, day));

	json_object_set_new(ev, "customer_id", json_string(cust));
	ev_send(s, p, ev, times);
	if (p >= NPLAN)
		return;
	if (in_holdout(cust))
		s->c[day][p].pv_c++;
	else
		s->c[day][p].pv_t++;
}

/* The customer's latest offer for product p, or NULL. */
static const struct m_offer *
latest_offer(const struct scen *s, const char *cust, int p)
{
	const struct m_offer *best = NULL;

	for (size_t i = 0; i < s->noff; i++)
		if (s->off[i].prod == p && strcmp(s->off[i].customer,
		    cust) == 0 && (best == NULL || s->off[i].ts >= best->ts))
			best = &s->off[i];
	return best;
}

/* The order record of (id, p), a new one when absent. */
static struct m_order *
order_rec(struct scen *s, const char *id, int p, int day, int group,
    int64_t ts)
{
	struct m_order *o;

	for (size_t i = 0; i < s->nord; i++)
		if (s->ord[i].prod == p && strcmp(s->ord[i].id, id) == 0)
			return &s->ord[i];
	if (s->nord == s->cap_ord) {
		s->cap_ord = s->cap_ord ? s->cap_ord * 2 : 256;
		s->ord = realloc(s->ord, s->cap_ord * sizeof(*s->ord));
		assert_non_null(s->ord);
	}
	o = &s->ord[s->nord++];
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", id);
	o->prod = p;
	o->day = day;
	o->group = group;
	o->ts = ts;
	return o;
}

/* What one order line sends. */
struct line {
	int day, p;
	const char *cust;
	int64_t qty, unit, paid;
	const char *offer_id;           /* NULL: none */
	const char *order_id;           /* NULL: a new one */
	const char *variant;            /* NULL: none */
	int times;                      /* > 1: the same bytes re-sent */
};

/* Count a line of a plan product as docs/metrics.md defines it. */
static void
count_line(struct scen *s, const struct line *l, struct m_order *o,
    int64_t ts)
{
	struct m_counts *k = &s->c[l->day][l->p];
	const struct m_offer *of = latest_offer(s, l->cust, l->p);
	int64_t gmv = l->paid * l->qty, per, given;

	if (o->group == 2) {
		k->ord_c++, k->units_c += l->qty, k->gmv_c += gmv;
		ids_add(&s->cust[l->day][l->p][1], l->cust);
		return;
	}
	k->ord_t++, k->units_t += l->qty, k->gmv_t += gmv;
	ids_add(&s->cust[l->day][l->p][0], l->cust);
	if (l->offer_id == NULL || of == NULL || strcmp(of->id,
	    l->offer_id) != 0 || ts > of->ts + ATTRIB_MS)
		return;
	per = of->list - of->price;
	given = l->unit - l->paid;
	per = given < per ? given : per;
	per = per > 0 ? per * (of->max_qty > 0 && l->qty > of->max_qty ?
	    of->max_qty : l->qty) : 0;
	k->ord_o++, k->gmv_o += gmv, k->cost += per;
	o->lines_o++, o->gmv_o += gmv, o->cost += per;
}

/* Send one order line and count it; returns its order record index. */
static size_t
send_line(struct scen *s, const struct line *l)
{
	int64_t ts = sc_ts(s, l->day);
	json_t *ev = ev_new(s, "order", l->p, ts);
	char oid[48];
	struct m_order *o;
	int group = l->p >= NPLAN ? 0 : in_holdout(l->cust) ? 2 : 1;

	if (l->order_id != NULL)
		snprintf(oid, sizeof(oid), "%s", l->order_id);
	else
		snprintf(oid, sizeof(oid), "m5-o-%d", s->seq);
	json_object_set_new(ev, "order_id", json_string(oid));
	json_object_set_new(ev, "customer_id", json_string(l->cust));
	json_object_set_new(ev, "qty", json_integer(l->qty));
	json_object_set_new(ev, "unit_price", json_integer(l->unit));
	json_object_set_new(ev, "paid_unit_price", json_integer(l->paid));
	if (l->offer_id != NULL)
		json_object_set_new(ev, "offer_id", json_string(l->offer_id));
	if (l->variant != NULL)
		json_object_set_new(ev, "variant_id", json_string(l->variant));
	ev_send(s, l->p, ev, l->times > 1 ? l->times : 1);
	o = order_rec(s, oid, l->p, l->day, group, ts);
	o->lines++, o->qty += l->qty, o->gmv += l->paid * l->qty;
	if (group != 0)
		count_line(s, l, o, ts);
	return (size_t)(o - s->ord);
}

/* Take an order back from its own day (a cancellation or a refund). */
static void
reverse_order(struct scen *s, const struct m_order *o)
{
	struct m_counts *k = &s->c[o->day][o->prod];

	if (o->group == 0)
		return;
	if (o->group == 2) {
		k->ord_c -= o->lines, k->units_c -= o->qty, k->gmv_c -= o->gmv;
		return;
	}
	k->ord_t -= o->lines, k->units_t -= o->qty, k->gmv_t -= o->gmv;
	k->ord_o -= o->lines_o, k->gmv_o -= o->gmv_o, k->cost -= o->cost;
}

/* Send an order_update on day at hour and count what it changes. */
static void
send_update(struct scen *s, size_t oi, const char *status, int day)
{
	struct m_order *o = &s->ord[oi];
	json_t *ev = ev_new(s, "order_update", o->prod, sc_ts(s, day));
	int now = strcmp(status, "cancelled") == 0 ? 1 :
	    strcmp(status, "refunded") == 0 ? 2 : 3;

	json_object_set_new(ev, "order_id", json_string(o->id));
	json_object_set_new(ev, "status", json_string(status));
	ev_send(s, o->prod, ev, 1);
	if (now == 3) {
		if (o->status == 0)
			o->status = 3;
		return;
	}
	if (o->status == 0 || o->status == 3) {
		o->status = now;
		reverse_order(s, o);
	}
}

/* ---- barriers and offers ---- */

/*
 * Barrier: a catalog row per product (stock 1000 + round), wait until
 * each is stored, then until each product's outbox is empty: events of a
 * product share a partition and are applied in order, and the outbox
 * (written in the same step) empties once its offers were delivered.
 */
static void
barrier(struct scen *s)
{
	char key[128];
	long long got;
	int64_t stock = 1000 + ++s->barrier, deadline;

	for (int p = 0; p < NALL; p++)
		send_product(s, p, stock);
	H_OK(s->h, harness_flush(s->h));
	for (int p = 0; p < NALL; p++) {
		snprintf(key, sizeof(key), "sp:{%s}:product", prod_ids[p]);
		H_OK(s->h, harness_wait_hash_ge(s->h, key, "stock", stock,
		    WAIT_MS, &got));
		snprintf(key, sizeof(key), "sp:{%s}:outbox", prod_ids[p]);
		deadline = harness_now_ms() + WAIT_MS;
		while (harness_exists(s->h, key) != 0) {
			if (harness_now_ms() > deadline)
				fail_msg("%s not drained within %d ms", key,
				    WAIT_MS);
			harness_sleep_ms(50);
		}
	}
}

/* Keep the offers of this test's products. */
static int
match_offer(json_t *v, void *arg)
{
	(void)arg;
	return strcmp(sfield(v, "type"), "offer") == 0 &&
	    strncmp(sfield(v, "product_id"), "m5-", 3) == 0;
}

/* Nonzero if the offer id is already recorded. */
static int
offer_known(const struct scen *s, const char *id)
{
	for (size_t i = 0; i < s->noff; i++)
		if (strcmp(s->off[i].id, id) == 0)
			return 1;
	return 0;
}

/* Record one offer message (a re-sent offer id counts once). */
static void
offer_add(struct scen *s, json_t *v)
{
	struct m_offer *o;
	int p = prod_index(sfield(v, "product_id"));
	int64_t ts = json_integer_value(json_object_get(v, "ts"));
	int64_t day = ts / DAY_MS - s->d0;
	int stray = p < 0 || p >= NPLAN || strcmp(sfield(v, "plan_id"),
	    s->plan_id) != 0 || day < 0 || day >= NDAYS;

	if (offer_known(s, sfield(v, "offer_id")))
		return;
	if (s->noff == s->cap_off) {
		s->cap_off = s->cap_off ? s->cap_off * 2 : 256;
		s->off = realloc(s->off, s->cap_off * sizeof(*s->off));
		assert_non_null(s->off);
	}
	o = &s->off[s->noff++];
	snprintf(o->id, sizeof(o->id), "%s", sfield(v, "offer_id"));
	snprintf(o->customer, sizeof(o->customer), "%s",
	    sfield(v, "customer_id"));
	o->prod = stray ? -1 : p;
	o->ts = ts;
	o->list = json_integer_value(json_object_get(v, "list_price"));
	o->price = json_integer_value(json_object_get(v, "offer_price"));
	o->expires = json_integer_value(json_object_get(v, "expires_at"));
	o->max_qty = json_integer_value(json_object_get(v, "max_qty"));
	if (stray) {
		print_error("offer outside the plan's products or days: %s\n",
		    jtext(v));
		s->stray_offers++;
	} else
		s->c[day][p].offers++;
}

/* Read the offers topic to its end; count the new offers by day. */
static void
read_offers(struct scen *s)
{
	json_t *msgs;
	size_t i;

	H_OK(s->h, harness_consume(s->h, HARNESS_TOPIC_OFFERS, match_offer,
	    NULL, 0, 10000, &msgs));
	for (i = 0; i < json_array_size(msgs); i++)
		offer_add(s, json_object_get(json_array_get(msgs, i),
		    "value"));
	s->dup_offer_msgs = (int)(json_array_size(msgs) - s->noff);
	json_decref(msgs);
}

/* ---- the scenario ---- */

/* Nonzero if treatment shopper i views product p (each day). */
static int
t_viewed(int i, int p)
{
	return (i + p) % 3 != 0;
}

/* Nonzero if holdout shopper j views product p (each day). */
static int
c_viewed(int j, int p)
{
	return (j + p) % 2 == 0;
}

/*
 * The day's shoppers and their views: shopper i views product p when
 * t_viewed(); every fifth views it twice (two events), every seventh's
 * view is delivered twice (the same bytes, counted once).
 */
static void
day_views(struct scen *s, int d)
{
	char prefix[16];

	snprintf(prefix, sizeof(prefix), "m5-d%dt", d);
	for (int i = 0; i < NT; i++)
		next_customer(s, prefix, 0, s->tc[d][i], sizeof(s->tc[d][i]));
	snprintf(prefix, sizeof(prefix), "m5-d%dc", d);
	for (int j = 0; j < NC; j++)
		next_customer(s, prefix, 1, s->cc[d][j], sizeof(s->cc[d][j]));
	for (int p = 0; p < NALL; p++) {
		for (int i = 0; i < NT; i++) {
			if (!t_viewed(i, p))
				continue;
			send_view(s, d, p, s->tc[d][i], i % 7 == 3 ? 2 : 1);
			if (i % 5 == 0)
				send_view(s, d, p, s->tc[d][i], 1);
		}
		for (int j = 0; j < NC; j++)
			if (c_viewed(j, p))
				send_view(s, d, p, s->cc[d][j], 1);
	}
}

/*
 * What becomes of the k-th order: cancelled (every ninth; every second of
 * those cancelled twice), delivered then refunded the next day, or only
 * delivered.  Both subtract from the order's own day.
 */
static void
apply_fate(struct scen *s, size_t oi, int d, int k)
{
	if (k % 9 == 4) {
		send_update(s, oi, "cancelled", d);
		if (k % 2 == 0)
			send_update(s, oi, "cancelled", d);
	} else if (k % 13 == 6) {
		send_update(s, oi, "delivered", d);
		send_update(s, oi, "refunded", d + 1 < NDAYS ? d + 1 : d);
	} else if (k % 7 == 5)
		send_update(s, oi, "delivered", d);
}

/* Send an order line (every 17th delivered twice) and its fate. */
static void
order_with_fate(struct scen *s, struct line *l, int *k)
{
	size_t oi;

	l->times = *k % 17 == 2 ? 2 : 1;
	oi = send_line(s, l);
	apply_fate(s, oi, l->day, (*k)++);
}

/*
 * Treatment orders of product p on day d: with the shopper's offer (paid
 * its price), at list price without one, or naming an unknown offer at a
 * seller's 10% off.
 */
static void
orders_treatment(struct scen *s, int d, int p, int *k)
{
	char bogus[48];

	for (int i = 0; i < NT; i++) {
		const struct m_offer *o = p < NPLAN ? latest_offer(s,
		    s->tc[d][i], p) : NULL;
		struct line l = { d, p, s->tc[d][i], 1, prices[p], prices[p],
		    NULL, NULL, NULL, 1 };

		if (!t_viewed(i, p))
			continue;
		if (o != NULL && i % 2 == 0) {
			l.qty = 1 + i % 3;
			l.unit = o->list;
			l.paid = o->price;
			l.offer_id = o->id;
		} else if (i % 11 == 4) {
			snprintf(bogus, sizeof(bogus), "of-m5-bogus-%d-%d", d,
			    i);
			l.qty = 2;
			l.paid = prices[p] * 9 / 10;
			l.offer_id = bogus;
		} else if (i % 5 != 1)
			continue;
		order_with_fate(s, &l, k);
	}
}

/*
 * Holdout orders of product p on day d (list price; one shopper who did
 * not view it pays 5% less), and one treatment order of two lines
 * (variants v1 and v2).
 */
static void
orders_control_multi(struct scen *s, int d, int p, int *k)
{
	char oid[48];
	struct line l;

	for (int j = 0; j < NC; j++) {
		l = (struct line){ d, p, s->cc[d][j], 1 + j % 2, prices[p],
		    prices[p], NULL, NULL, NULL, 1 };
		if (!c_viewed(j, p) && j == 1)
			l.paid = prices[p] * 95 / 100;
		else if (!c_viewed(j, p) || j % 2 != 0)
			continue;
		order_with_fate(s, &l, k);
	}
	snprintf(oid, sizeof(oid), "m5-ml-%d-%d", d, p);
	l = (struct line){ d, p, s->tc[d][NT - 1], 1, prices[p], prices[p],
	    NULL, oid, "v1", 1 };
	send_line(s, &l);
	l.qty = 2;
	l.variant = "v2";
	send_line(s, &l);
}

/* The first shopper of day d who viewed p, has an offer for it and whose
 * index has parity par; -1 if none. */
static int
shopper_with_offer(const struct scen *s, int d, int p, int par)
{
	for (int i = 0; i < NT; i++)
		if (t_viewed(i, p) && i % 2 == par && latest_offer(s,
		    s->tc[d][i], p) != NULL)
			return i;
	return -1;
}

/* A line of shopper (day od, index i) on day d with their offer of p. */
static void
offer_line(struct scen *s, int d, int od, int i, int p)
{
	const struct m_offer *o = latest_offer(s, s->tc[od][i], p);
	struct line l = { d, p, s->tc[od][i], 1, o->list, o->price, o->id,
	    NULL, NULL, 1 };

	send_line(s, &l);
}

/*
 * The edges across days: a converted offer used again (day 0), an offer
 * of day 0 used on day 1 (within attribution_hours: credited on day 1)
 * and on day 4 (after it: not credited), the two-line order of day 1
 * cancelled on day 3.
 */
static void
orders_edges(struct scen *s, int d)
{
	int i;

	if (d == 0 && (i = shopper_with_offer(s, 0, 2, 0)) >= 0) {
		offer_line(s, 0, 0, i, 2);
		s->edges[EDGE_REUSE] = 1;
	}
	if (d == 1 && (i = shopper_with_offer(s, 0, 0, 1)) >= 0) {
		offer_line(s, 1, 0, i, 0);
		s->edges[EDGE_NEXT_DAY] = 1;
	}
	if (d == 4 && (i = shopper_with_offer(s, 0, 1, 1)) >= 0) {
		offer_line(s, 4, 0, i, 1);
		s->edges[EDGE_TOO_LATE] = s->ord[s->nord - 1].ts >
		    latest_offer(s, s->tc[0][i], 1)->ts + ATTRIB_MS;
	}
	if (d == 3) {
		for (size_t k = 0; k < s->nord; k++)
			if (strcmp(s->ord[k].id, "m5-ml-1-0") == 0)
				send_update(s, k, "cancelled", 3);
		s->edges[EDGE_MULTI_CANCEL] = 1;
	}
}

/* Day HLL_DAY: NHLL more customers order (every eighth two products,
 * one in fifty cancels: a cancelled order's customer still ordered). */
static void
orders_many(struct scen *s, int d)
{
	char cust[32];
	size_t oi;

	for (int n = 0; n < NHLL; n++) {
		struct line l = { d, n % NPLAN, cust, 1 + (n % 4 == 0),
		    prices[n % NPLAN], prices[n % NPLAN], NULL, NULL, NULL, 1 };

		snprintf(cust, sizeof(cust), "m5-h-%d", n);
		oi = send_line(s, &l);
		if (n % 50 == 7)
			send_update(s, oi, "cancelled", d);
		if (n % 8 == 0) {
			l.p = (n + 1) % NPLAN;
			l.unit = l.paid = prices[l.p];
			send_line(s, &l);
		}
	}
}

/* Every order of day d. */
static void
day_orders(struct scen *s, int d, int *k)
{
	for (int p = 0; p < NALL; p++) {
		orders_treatment(s, d, p, k);
		orders_control_multi(s, d, p, k);
	}
	orders_edges(s, d);
	if (d == HLL_DAY)
		orders_many(s, d);
	H_OK(s->h, harness_flush(s->h));
}

/* ---- expectations: docs/metrics.md with the test's own arithmetic ---- */

/* x rounded to 4 decimals. */
static double
r4(double x)
{
	return round(x * 1e4) / 1e4;
}

/* G^2 / N of one raw row of a group, 0 without sales. */
static double
row_sq(int64_t g, int64_t n)
{
	return g > 0 && n > 0 ? (double)g * (double)g / (double)n : 0;
}

/* V of a group: (1 + kappa^2) sq, or one line at the other's mean. */
static double
group_var(double sq, int64_t n, int64_t g, int64_t on, int64_t og)
{
	double k = 1 + LINE_CV * LINE_CV, m;

	if (n > 0 && g > 0)
		return k * sq;
	if (on <= 0 || og <= 0)
		return 0;
	m = (double)og / (double)on;
	return k * m * m;
}

/* The derived figures of a row from its counters. */
static void
exp_derive(struct exp_row *e)
{
	const struct m_counts *k = &e->k;
	double r, incr, half;

	e->has_roi = k->cost > 0;
	e->roi = e->has_roi ? r4((double)k->gmv_t / (double)k->cost) : 0;
	e->has_gpv_t = k->pv_t > 0;
	e->gpv_t = e->has_gpv_t ? r4((double)k->gmv_t / (double)k->pv_t) : 0;
	e->has_gpv_c = k->pv_c > 0;
	e->gpv_c = e->has_gpv_c ? r4((double)k->gmv_c / (double)k->pv_c) : 0;
	e->has_incr = k->pv_t > 0 && k->pv_c > 0;
	if (!e->has_incr)
		return;
	r = (double)k->pv_t / (double)k->pv_c;
	incr = (double)k->gmv_t - (double)k->gmv_c * r;
	half = Z95 * sqrt(group_var(e->sq_t, k->ord_t, k->gmv_t, k->ord_c,
	    k->gmv_c) + r * r * group_var(e->sq_c, k->ord_c, k->gmv_c,
	    k->ord_t, k->gmv_t));
	e->incr = llround(incr);
	e->lo = llround(incr - half);
	e->hi = llround(incr + half);
	e->has_iroi = k->cost > 0;
	e->iroi = e->has_iroi ? r4((double)e->incr / (double)k->cost) : 0;
	e->iroi_lo = e->has_iroi ? r4((double)e->lo / (double)k->cost) : 0;
	e->iroi_hi = e->has_iroi ? r4((double)e->hi / (double)k->cost) : 0;
}

/* a += b, counter by counter. */
static void
counts_add(struct m_counts *a, const struct m_counts *b)
{
	a->pv_t += b->pv_t, a->pv_c += b->pv_c, a->offers += b->offers;
	a->ord_t += b->ord_t, a->units_t += b->units_t, a->gmv_t += b->gmv_t;
	a->cost += b->cost, a->ord_c += b->ord_c, a->units_c += b->units_c;
	a->gmv_c += b->gmv_c, a->ord_o += b->ord_o, a->gmv_o += b->gmv_o;
}

/* The expected row of product p on day d. */
static void
exp_product(struct scen *s, int d, int p, struct exp_row *e)
{
	struct m_ids *t = &s->cust[d][p][0], *c = &s->cust[d][p][1];

	memset(e, 0, sizeof(*e));
	e->k = s->c[d][p];
	e->cust_t = ids_distinct(&t, 1);
	e->cust_c = ids_distinct(&c, 1);
	e->sq_t = row_sq(e->k.gmv_t, e->k.ord_t);
	e->sq_c = row_sq(e->k.gmv_c, e->k.ord_c);
	exp_derive(e);
}

/* The expected plan row of day d: sums, the union of customers, the
 * spreads summed per product in the plan's order. */
static void
exp_plan(struct scen *s, int d, struct exp_row *e)
{
	struct m_ids *t[NPLAN], *c[NPLAN];

	memset(e, 0, sizeof(*e));
	for (int p = 0; p < NPLAN; p++) {
		counts_add(&e->k, &s->c[d][p]);
		e->sq_t += row_sq(s->c[d][p].gmv_t, s->c[d][p].ord_t);
		e->sq_c += row_sq(s->c[d][p].gmv_c, s->c[d][p].ord_c);
		t[p] = &s->cust[d][p][0];
		c[p] = &s->cust[d][p][1];
	}
	e->parts = NPLAN;
	e->cust_t = ids_distinct(t, NPLAN);
	e->cust_c = ids_distinct(c, NPLAN);
	exp_derive(e);
}

/* Print an expectation on one line. */
static void
exp_print(const char *what, const struct exp_row *e)
{
	const struct m_counts *k = &e->k;

	print_message("%s expected: pv %lld offers %lld orders %lld units %lld "
	    "gmv %lld cost %lld roi %.4f%s cust %lld offer_orders %lld "
	    "offer_gmv %lld gpv %.4f | control pv %lld orders %lld units %lld "
	    "gmv %lld cust %lld gpv %.4f | incr %lld [%lld, %lld] iroi %.4f\n",
	    what, (long long)k->pv_t, (long long)k->offers,
	    (long long)k->ord_t, (long long)k->units_t, (long long)k->gmv_t,
	    (long long)k->cost, e->roi, e->has_roi ? "" : "(null)",
	    (long long)e->cust_t, (long long)k->ord_o, (long long)k->gmv_o,
	    e->gpv_t, (long long)k->pv_c, (long long)k->ord_c,
	    (long long)k->units_c, (long long)k->gmv_c, (long long)e->cust_c,
	    e->gpv_c, (long long)e->incr, (long long)e->lo, (long long)e->hi,
	    e->iroi);
}

/* ---- comparing what the daemon shows with the expectation ---- */

/* Report one difference. */
static void
mismatch(const char *where, const char *field, const char *seen,
    const char *want)
{
	print_error("MISMATCH %s %s: observed %s, expected %s\n", where, field,
	    seen, want);
	mismatches++;
}

/* The allowed HyperLogLog error of a true count n: 3 standard errors. */
static int64_t
hll_tol(int64_t n)
{
	return (int64_t)ceil(3 * HLL_SE * (double)n);
}

/* A JSON value's text for a message, "(absent)" for NULL. */
static const char *
vtext(json_t *v)
{
	return v != NULL ? jtext(v) : "(absent)";
}

/* Compare an integer member with want. */
static void
check_int(json_t *o, const char *field, int64_t want, const char *where)
{
	json_t *v = json_object_get(o, field);
	char b[32];

	if (json_is_integer(v) && json_integer_value(v) == want)
		return;
	snprintf(b, sizeof(b), "%lld", (long long)want);
	mismatch(where, field, vtext(v), b);
}

/* Compare a unique-customer count with the true count, HLL tolerance. */
static void
check_customers(json_t *o, const char *field, int64_t want,
    const char *where)
{
	json_t *v = json_object_get(o, field);
	char b[64];

	if (json_is_integer(v) && llabs((long long)(json_integer_value(v) -
	    want)) <= hll_tol(want))
		return;
	snprintf(b, sizeof(b), "%lld +- %lld", (long long)want,
	    (long long)hll_tol(want));
	mismatch(where, field, vtext(v), b);
}

/* Compare a 4-decimal figure (null when !has) with want. */
static void
check_r4(json_t *o, const char *field, int has, double want,
    const char *where)
{
	json_t *v = json_object_get(o, field);
	char a[48], b[48];

	if (!has && json_is_null(v))
		return;
	snprintf(b, sizeof(b), has ? "%.4f" : "null", want);
	if (has && json_is_number(v)) {
		snprintf(a, sizeof(a), "%.4f", json_number_value(v));
		if (strcmp(a, b) == 0)
			return;
	}
	mismatch(where, field, vtext(v), b);
}

/* Compare incremental_roi_ci [lo, hi] (4 decimals) with the expectation. */
static void
check_roi_ci(json_t *o, const struct exp_row *e, const char *where)
{
	json_t *ci = json_object_get(o, "incremental_roi_ci");
	char a[96] = "", b[96];

	if (!e->has_iroi) {
		if (!json_is_null(ci))
			mismatch(where, "incremental_roi_ci", vtext(ci),
			    "null");
		return;
	}
	snprintf(b, sizeof(b), "[%.4f,%.4f]", e->iroi_lo, e->iroi_hi);
	if (json_array_size(ci) == 2)
		snprintf(a, sizeof(a), "[%.4f,%.4f]", json_number_value(
		    json_array_get(ci, 0)), json_number_value(
		    json_array_get(ci, 1)));
	if (strcmp(a, b) != 0)
		mismatch(where, "incremental_roi_ci", vtext(ci), b);
}

/* Compare the incremental figures with the expectation. */
static void
check_incremental(json_t *o, const struct exp_row *e, const char *where)
{
	json_t *ci = json_object_get(o, "incremental_gmv_ci");
	char b[64];

	if (!e->has_incr) {
		if (!json_is_null(json_object_get(o, "incremental_gmv")))
			mismatch(where, "incremental_gmv", vtext(
			    json_object_get(o, "incremental_gmv")), "null");
		if (!json_is_null(ci))
			mismatch(where, "incremental_gmv_ci", vtext(ci),
			    "null");
	} else {
		check_int(o, "incremental_gmv", e->incr, where);
		snprintf(b, sizeof(b), "[%lld,%lld]", (long long)e->lo,
		    (long long)e->hi);
		if (json_array_size(ci) != 2 || json_integer_value(
		    json_array_get(ci, 0)) != e->lo || json_integer_value(
		    json_array_get(ci, 1)) != e->hi)
			mismatch(where, "incremental_gmv_ci", vtext(ci), b);
	}
	check_r4(o, "incremental_roi", e->has_iroi, e->iroi, where);
	check_roi_ci(o, e, where);
}

/*
 * Compare a day object (admin API, stored product row or daily_metrics)
 * with the expectation; product NULL for the plan's row.
 */
static void
check_day_obj(json_t *o, const struct exp_row *e, const char *date,
    const char *product, const char *where)
{
	json_t *ctl = json_object_get(o, "control");
	const struct m_counts *k = &e->k;
	char w[160];

	if (strcmp(sfield(o, "date"), date) != 0)
		mismatch(where, "date", sfield(o, "date"), date);
	if ((product == NULL) != (json_object_get(o, "product_id") == NULL) ||
	    (product != NULL && strcmp(sfield(o, "product_id"), product) != 0))
		mismatch(where, "product_id", vtext(json_object_get(o,
		    "product_id")), product ? product : "(absent)");
	check_int(o, "page_views", k->pv_t, where);
	check_int(o, "offers", k->offers, where);
	check_int(o, "orders", k->ord_t, where);
	check_int(o, "units", k->units_t, where);
	check_int(o, "gmv", k->gmv_t, where);
	check_int(o, "promotion_cost", k->cost, where);
	check_r4(o, "roi", e->has_roi, e->roi, where);
	check_customers(o, "customers", e->cust_t, where);
	check_int(o, "offer_orders", k->ord_o, where);
	check_int(o, "offer_gmv", k->gmv_o, where);
	check_r4(o, "gmv_per_view", e->has_gpv_t, e->gpv_t, where);
	snprintf(w, sizeof(w), "%s control", where);
	check_int(ctl, "page_views", k->pv_c, w);
	check_int(ctl, "orders", k->ord_c, w);
	check_int(ctl, "units", k->units_c, w);
	check_int(ctl, "gmv", k->gmv_c, w);
	check_customers(ctl, "customers", e->cust_c, w);
	check_r4(ctl, "gmv_per_view", e->has_gpv_c, e->gpv_c, w);
	check_incremental(o, e, where);
}

/* Compare a string field of a stored hash with want. */
static void
check_hstr(json_t *hash, const char *field, const char *want,
    const char *where)
{
	json_t *v = json_object_get(hash, field);

	if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
		mismatch(where, field, vtext(v), want);
}

/* The hash form of an integer. */
static const char *
hint(int64_t v)
{
	static char buf[8][32];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%lld", (long long)v);
	return b;
}

/* The hash form of a 4-decimal figure, "" for null. */
static const char *
hr4(int has, double v)
{
	static char buf[8][48];
	static int next;
	char *b = buf[next++ % 8];

	if (has)
		snprintf(b, sizeof(buf[0]), "%.4f", v);
	else
		b[0] = '\0';
	return b;
}

/* Compare a customers field of the hash with the HLL tolerance. */
static void
check_hcust(json_t *hash, const char *field, int64_t want, const char *where)
{
	const char *v = json_string_value(json_object_get(hash, field));
	char *end, b[64];
	long long x = v != NULL ? strtoll(v, &end, 10) : 0;

	if (v != NULL && *v != '\0' && *end == '\0' &&
	    llabs(x - (long long)want) <= hll_tol(want))
		return;
	snprintf(b, sizeof(b), "%lld +- %lld", (long long)want,
	    (long long)hll_tol(want));
	mismatch(where, field, v != NULL ? v : "(absent)", b);
}

/* Compare a spread (%.17g) of the hash, to a relative 1e-12. */
static void
check_hsq(json_t *hash, const char *field, double want, const char *where)
{
	const char *v = json_string_value(json_object_get(hash, field));
	char b[48];

	if (v != NULL && fabs(strtod(v, NULL) - want) <= 1e-12 *
	    fmax(1, fabs(want)))
		return;
	snprintf(b, sizeof(b), "%.17g", want);
	mismatch(where, field, v != NULL ? v : "(absent)", b);
}

/* Compare the plan's stored hash sp:daily:<plan>:<date>. */
static void
check_hash(const struct scen *s, json_t *hash, const struct exp_row *e,
    const char *date, const char *where)
{
	const struct m_counts *k = &e->k;

	check_hstr(hash, "date", date, where);
	check_hstr(hash, "plan_id", s->plan_id, where);
	if (sfield(hash, "product_id")[0] != '\0')
		mismatch(where, "product_id", sfield(hash, "product_id"), "");
	check_hstr(hash, "page_views", hint(k->pv_t), where);
	check_hstr(hash, "offers", hint(k->offers), where);
	check_hstr(hash, "orders", hint(k->ord_t), where);
	check_hstr(hash, "units", hint(k->units_t), where);
	check_hstr(hash, "gmv", hint(k->gmv_t), where);
	check_hstr(hash, "promotion_cost", hint(k->cost), where);
	check_hstr(hash, "roi", hr4(e->has_roi, e->roi), where);
	check_hcust(hash, "customers", e->cust_t, where);
	check_hstr(hash, "offer_orders", hint(k->ord_o), where);
	check_hstr(hash, "offer_gmv", hint(k->gmv_o), where);
	check_hstr(hash, "gmv_per_view", hr4(e->has_gpv_t, e->gpv_t), where);
	check_hstr(hash, "control_page_views", hint(k->pv_c), where);
	check_hstr(hash, "control_orders", hint(k->ord_c), where);
	check_hstr(hash, "control_units", hint(k->units_c), where);
	check_hstr(hash, "control_gmv", hint(k->gmv_c), where);
	check_hcust(hash, "control_customers", e->cust_c, where);
	check_hstr(hash, "control_gmv_per_view", hr4(e->has_gpv_c, e->gpv_c),
	    where);
	check_hstr(hash, "incremental_gmv", e->has_incr ? hint(e->incr) : "",
	    where);
	check_hstr(hash, "incremental_gmv_lo", e->has_incr ? hint(e->lo) : "",
	    where);
	check_hstr(hash, "incremental_gmv_hi", e->has_incr ? hint(e->hi) : "",
	    where);
	check_hstr(hash, "incremental_roi", hr4(e->has_iroi, e->iroi), where);
	check_hstr(hash, "incremental_roi_lo", hr4(e->has_iroi, e->iroi_lo),
	    where);
	check_hstr(hash, "incremental_roi_hi", hr4(e->has_iroi, e->iroi_hi),
	    where);
	check_hstr(hash, "parts", hint(e->parts), where);
	check_hsq(hash, "sq_t", e->sq_t, where);
	check_hsq(hash, "sq_c", e->sq_c, where);
}

/* ---- what the daemon shows ---- */

/* "sp:daily:<plan>:<date>" (suffix "" or ":products") into buf. */
static void
daily_key(const struct scen *s, int d, const char *suffix, char *buf,
    size_t len)
{
	char date[16];

	sc_date(s, d, date);
	snprintf(buf, len, "sp:daily:%s:%s%s", s->plan_id, date, suffix);
}

/* POST /v1/snapshots for day d and this plan; the plan's day object. */
static json_t *
post_snapshot(struct scen *s, int d)
{
	char path[160], date[16];
	json_t *out = NULL, *row;
	int status = 0;

	sc_date(s, d, date);
	snprintf(path, sizeof(path), "/v1/snapshots?date=%s&plan=%s", date,
	    s->plan_id);
	H_OK(s->h, harness_http(s->h, "POST", path, NULL, &status, &out));
	if (status != 200 || json_array_size(json_object_get(out,
	    "plans")) != 1)
		fail_msg("POST %s answered %d: %s", path, status, vtext(out));
	row = json_incref(json_array_get(json_object_get(out, "plans"), 0));
	json_decref(out);
	if (strcmp(sfield(row, "plan_id"), s->plan_id) != 0)
		fail_msg("POST %s: wrong plan in %s", path, jtext(row));
	json_object_del(row, "plan_id");
	return row;
}

/* GET /v1/plans/{id}/metrics?products=1 (new reference). */
static json_t *
get_metrics(struct scen *s)
{
	char path[160];
	json_t *out = NULL;
	int status = 0;

	snprintf(path, sizeof(path), "/v1/plans/%s/metrics?products=1",
	    s->plan_id);
	H_OK(s->h, harness_http(s->h, "GET", path, NULL, &status, &out));
	if (status != 200 || out == NULL)
		fail_msg("GET %s answered %d: %s", path, status, vtext(out));
	return out;
}

/* The element of an array of day objects with this date, or NULL. */
static json_t *
day_of(json_t *arr, const char *date)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (strcmp(sfield(v, "date"), date) == 0)
			return v;
	return NULL;
}

/*
 * Check GET /metrics: every scenario day present with final == want_final
 * and its plan row as pe[d]; today live (final false); each plan
 * product's live rows as the recount.
 */
static void
check_metrics(struct scen *s, json_t *m, int want_final,
    const struct exp_row *pe)
{
	json_t *days = json_object_get(m, "days"), *prods =
	    json_object_get(m, "products"), *v;
	struct exp_row e;
	char date[16], where[96];

	for (int d = 0; d <= NDAYS; d++) {
		sc_date(s, d, date);
		snprintf(where, sizeof(where), "GET metrics %s plan", date);
		if ((v = day_of(days, date)) == NULL) {
			mismatch(where, "day", "(absent)", date);
			continue;
		}
		if (json_is_true(json_object_get(v, "final")) !=
		    (d < NDAYS && want_final))
			mismatch(where, "final", vtext(json_object_get(v,
			    "final")), d < NDAYS && want_final ? "true" :
			    "false");
		if (d == NDAYS)
			continue;
		check_day_obj(v, &pe[d], date, NULL, where);
		for (int p = 0; p < NPLAN; p++) {
			snprintf(where, sizeof(where), "GET metrics %s %s",
			    date, prod_ids[p]);
			exp_product(s, d, p, &e);
			if ((v = day_of(json_object_get(prods, prod_ids[p]),
			    date)) == NULL)
				mismatch(where, "day", "(absent)", date);
			else
				check_day_obj(v, &e, date, prod_ids[p], where);
		}
	}
}

/* Check the stored plan row and product rows of day d. */
static void
check_stored(struct scen *s, int d, const struct exp_row *pe)
{
	char key[200], date[16], where[256];
	json_t *hash, *prows, *row;
	struct exp_row e;

	sc_date(s, d, date);
	daily_key(s, d, "", key, sizeof(key));
	H_OK(s->h, harness_hgetall(s->h, key, &hash));
	snprintf(where, sizeof(where), "redis %s", key);
	check_hash(s, hash, pe, date, where);
	json_decref(hash);
	daily_key(s, d, ":products", key, sizeof(key));
	H_OK(s->h, harness_hgetall(s->h, key, &prows));
	for (int p = 0; p < NPLAN; p++) {
		snprintf(where, sizeof(where), "redis %s %s", key,
		    prod_ids[p]);
		row = json_loads(sfield(prows, prod_ids[p]), 0, NULL);
		exp_product(s, d, p, &e);
		if (row == NULL)
			mismatch(where, "row", vtext(json_object_get(prows,
			    prod_ids[p])), "a day object");
		else
			check_day_obj(row, &e, date, prod_ids[p], where);
		json_decref(row);
	}
	json_decref(prows);
}

/* Keep the daily_metrics messages of the plan named by arg. */
static int
match_metrics(json_t *v, void *arg)
{
	return strcmp(sfield(v, "type"), "daily_metrics") == 0 &&
	    strcmp(sfield(v, "plan_id"), arg) == 0;
}

/* Exactly want daily_metrics messages of the plan (new reference). */
static json_t *
read_metrics(struct scen *s, int want)
{
	json_t *msgs;
	int n;

	H_OK(s->h, n = harness_consume(s->h, HARNESS_TOPIC_METRICS,
	    match_metrics, s->plan_id, want, 10000, &msgs));
	json_decref(msgs);
	if (n < want)
		fail_msg("%d daily_metrics messages of %s within 10 s, want "
		    "%d", n, s->plan_id, want);
	H_OK(s->h, n = harness_consume(s->h, HARNESS_TOPIC_METRICS,
	    match_metrics, s->plan_id, 0, 10000, &msgs));
	if (n != want)
		fail_msg("%d daily_metrics messages of %s, want %d", n,
		    s->plan_id, want);
	return msgs;
}

/* The values of the messages for (date, product; NULL: the plan). */
static json_t *
msgs_for(json_t *msgs, const char *date, const char *product)
{
	json_t *out = json_array(), *m, *v, *pid;
	size_t i;

	json_array_foreach(msgs, i, m) {
		v = json_object_get(m, "value");
		pid = json_object_get(v, "product_id");
		if (strcmp(sfield(v, "date"), date) == 0 && (product == NULL ?
		    pid == NULL : strcmp(sfield(v, "product_id"), product) ==
		    0))
			json_array_append(out, v);
	}
	return out;
}

/*
 * Check the daily_metrics messages of one row: count[d] of them, the
 * last as the expectation; with same set, all byte-for-byte equal.
 */
static void
check_kafka_row(json_t *msgs, const char *date, const char *product,
    int want, const struct exp_row *e, int same)
{
	json_t *l = msgs_for(msgs, date, product), *last;
	char where[96], w[16];

	snprintf(where, sizeof(where), "kafka %s %s", date, product ?
	    product : "plan");
	snprintf(w, sizeof(w), "%d", want);
	if ((int)json_array_size(l) != want)
		mismatch(where, "messages", hint((int64_t)json_array_size(l)),
		    w);
	if ((last = json_array_get(l, json_array_size(l) - 1)) != NULL) {
		check_day_obj(last, e, date, product, where);
		for (size_t i = 0; same && i + 1 < json_array_size(l); i++)
			if (!json_equal(json_array_get(l, i), last))
				mismatch(where, "re-run message", jtext(
				    json_array_get(l, i)), jtext(last));
	}
	json_decref(l);
}

/* Check every day's messages (count[d] per row) against pe / products. */
static void
check_kafka(struct scen *s, json_t *msgs, const int *count,
    const struct exp_row *pe, int same)
{
	struct exp_row e;
	char date[16];

	for (int d = 0; d < NDAYS; d++) {
		sc_date(s, d, date);
		check_kafka_row(msgs, date, NULL, count[d], &pe[d], same);
		for (int p = 0; p < NPLAN; p++) {
			exp_product(s, d, p, &e);
			check_kafka_row(msgs, date, prod_ids[p], count[d], &e,
			    same);
		}
	}
}

/* ---- tests of the "metrics" group ---- */

/* Catalog rows of every product, stored. */
static void
feed_catalog(struct scen *s)
{
	char key[128];

	for (int p = 0; p < NALL; p++)
		send_product(s, p, 1000);
	H_OK(s->h, harness_flush(s->h));
	for (int p = 0; p < NALL; p++) {
		snprintf(key, sizeof(key), "sp:{%s}:product", prod_ids[p]);
		H_OK(s->h, harness_wait_exists(s->h, key, WAIT_MS));
	}
}

/* The plan over the three plan products, started at day 0's midnight. */
static void
create_plan(struct scen *s)
{
	json_t *body = json_pack("{s:s, s:s, s:[s, s, s], s:i, s:i, s:i, "
	    "s:I}", "name", "m5 recount", "shop_id", SHOP, "products",
	    prod_ids[0], prod_ids[1], prod_ids[2], "discount_min_pct", 5,
	    "discount_max_pct", 30, "days", 7, "start",
	    (json_int_t)((int64_t)s->d0 * DAY_MS)), *plan = NULL;
	char *text = json_dumps(body, JSON_COMPACT);
	int status = 0;

	json_decref(body);
	H_OK(s->h, harness_http(s->h, "POST", "/v1/plans", text, &status,
	    &plan));
	if (status != 201 || sfield(plan, "plan_id")[0] == '\0')
		fail_msg("POST /v1/plans %s: %d %s", text, status,
		    vtext(plan));
	snprintf(s->plan_id, sizeof(s->plan_id), "%s", sfield(plan,
	    "plan_id"));
	print_message("plan %s from %s\n", s->plan_id, jtext(json_object_get(
	    plan, "start")));
	free(text);
	json_decref(plan);
}

/* Print the recount of each day's plan row. */
static void
print_scenario(struct scen *s)
{
	struct exp_row e;
	char date[16], what[32];

	print_message("sent %d events; %zu offers read (%d messages were "
	    "re-sent offers), %zu order records\n", s->seq, s->noff,
	    s->dup_offer_msgs, s->nord);
	for (int d = 0; d < NDAYS; d++) {
		sc_date(s, d, date);
		exp_plan(s, d, &e);
		snprintf(what, sizeof(what), "%s plan", date);
		exp_print(what, &e);
	}
}

/*
 * Six days of events, day by day: views, a barrier, the day's offers
 * read back, then the orders that use them.
 */
static void
test_feed(void **state)
{
	struct scen *s = &scen;
	int k = 0;

	s->h = *state;
	s->d0 = (int32_t)(harness_now_ms() / DAY_MS) - NDAYS;
	feed_catalog(s);
	create_plan(s);
	for (int d = 0; d < NDAYS; d++) {
		day_views(s, d);
		barrier(s);
		read_offers(s);
		day_orders(s, d, &k);
	}
	barrier(s);
	read_offers(s);
	print_scenario(s);
	assert_int_equal(s->stray_offers, 0);
	for (int d = 0; d < NDAYS; d++)
		for (int p = 0; p < NPLAN; p++)
			if (s->c[d][p].offers == 0 || s->c[d][p].ord_o == 0)
				fail_msg("scenario: day %d %s has no offer or "
				    "offer order", d, prod_ids[p]);
	for (int i = 0; i < 4; i++)
		if (!s->edges[i])
			fail_msg("scenario: edge %d did not happen", i);
	harness_pass(s->h);
}

/* Before any snapshot every day is live (final false) and already
 * shows the recount. */
static void
test_live_not_final(void **state)
{
	struct scen *s = &scen;
	struct exp_row pe[NDAYS];
	json_t *m;

	(void)state;
	mismatches = 0;
	for (int d = 0; d < NDAYS; d++)
		exp_plan(s, d, &pe[d]);
	m = get_metrics(s);
	check_metrics(s, m, 0, pe);
	json_decref(m);
	if (mismatches > 0)
		fail_msg("%d figures differ from the recount", mismatches);
	harness_pass(s->h);
}

static json_t *snap1[NDAYS], *hash1[NDAYS], *prodhash1[NDAYS], *metrics1;

/* Read and keep the stored hashes of day d. */
static void
keep_stored(struct scen *s, int d, json_t **hash, json_t **prows)
{
	char key[200];

	daily_key(s, d, "", key, sizeof(key));
	H_OK(s->h, harness_hgetall(s->h, key, hash));
	daily_key(s, d, ":products", key, sizeof(key));
	H_OK(s->h, harness_hgetall(s->h, key, prows));
}

/* The HyperLogLog day: the plan counts a customer of two products once. */
static void
check_hll_day(struct scen *s, const struct exp_row *pe)
{
	json_t *row = snap1[HLL_DAY];
	int64_t seen = json_integer_value(json_object_get(row, "customers"));
	int64_t sum = 0;
	struct exp_row e;

	for (int p = 0; p < NPLAN; p++) {
		exp_product(s, HLL_DAY, p, &e);
		sum += e.cust_t;
	}
	print_message("HLL day: customers observed %lld, true %lld (error "
	    "%+.3f%%, allowed +-%lld); the products' true counts sum to "
	    "%lld\n", (long long)seen, (long long)pe->cust_t, 100.0 *
	    (double)(seen - pe->cust_t) / (double)pe->cust_t,
	    (long long)hll_tol(pe->cust_t), (long long)sum);
	assert_true(pe->cust_t >= 2000);
	assert_true(seen < sum - hll_tol(sum) - hll_tol(pe->cust_t));
}

/*
 * Snapshot each day; the answer, GET /metrics (final now), the stored
 * hashes and the daily_metrics messages all show the recount.
 */
static void
test_snapshots(void **state)
{
	struct scen *s = &scen;
	struct exp_row pe[NDAYS];
	int count[NDAYS];
	char date[16], where[64];
	json_t *msgs;

	(void)state;
	mismatches = 0;
	for (int d = 0; d < NDAYS; d++) {
		sc_date(s, d, date);
		exp_plan(s, d, &pe[d]);
		snap1[d] = post_snapshot(s, d);
		snprintf(where, sizeof(where), "%s plan", date);
		exp_print(where, &pe[d]);
		print_message("%s observed: %s\n", where, jtext(snap1[d]));
		snprintf(where, sizeof(where), "POST snapshot %s", date);
		check_day_obj(snap1[d], &pe[d], date, NULL, where);
		check_stored(s, d, &pe[d]);
		keep_stored(s, d, &hash1[d], &prodhash1[d]);
		count[d] = 1;
	}
	metrics1 = get_metrics(s);
	check_metrics(s, metrics1, 1, pe);
	msgs = read_metrics(s, NDAYS * (1 + NPLAN));
	check_kafka(s, msgs, count, pe, 1);
	json_decref(msgs);
	check_hll_day(s, &pe[HLL_DAY]);
	if (mismatches > 0)
		fail_msg("%d figures differ from the recount", mismatches);
	print_message("every figure of %d days x (plan + %d products) matches "
	    "in the answer, GET /metrics, redis and kafka\n", NDAYS, NPLAN);
	harness_pass(s->h);
}

/* Fail unless two JSON values are equal, showing both. */
static void
same_json(json_t *seen, json_t *want, const char *where)
{
	if (!json_equal(seen, want))
		mismatch(where, "value", jtext(seen), jtext(want));
}

/*
 * Re-running every day changes no stored byte, answers the same, and
 * emits the same messages again.
 */
static void
test_rerun_idempotent(void **state)
{
	struct scen *s = &scen;
	struct exp_row pe[NDAYS];
	int count[NDAYS];
	json_t *row, *hash, *prows, *m, *msgs;
	char date[16], where[64];

	(void)state;
	mismatches = 0;
	for (int d = 0; d < NDAYS; d++) {
		sc_date(s, d, date);
		exp_plan(s, d, &pe[d]);
		row = post_snapshot(s, d);
		snprintf(where, sizeof(where), "re-run %s answer", date);
		same_json(row, snap1[d], where);
		keep_stored(s, d, &hash, &prows);
		snprintf(where, sizeof(where), "re-run %s hash", date);
		same_json(hash, hash1[d], where);
		snprintf(where, sizeof(where), "re-run %s products", date);
		same_json(prows, prodhash1[d], where);
		print_message("re-run %s: %zu hash fields and %zu product rows "
		    "byte-identical\n", date, json_object_size(hash),
		    json_object_size(prows));
		json_decref(row);
		json_decref(hash);
		json_decref(prows);
		count[d] = 2;
	}
	m = get_metrics(s);
	same_json(m, metrics1, "re-run GET metrics");
	json_decref(m);
	msgs = read_metrics(s, 2 * NDAYS * (1 + NPLAN));
	check_kafka(s, msgs, count, pe, 1);
	json_decref(msgs);
	if (mismatches > 0)
		fail_msg("%d differences after the re-run", mismatches);
	harness_pass(s->h);
}

/* Print and check how one figure of the plan row moved on the re-run. */
static void
check_delta(json_t *before, json_t *after, const char *obj,
    const char *field, int64_t want)
{
	json_t *b = obj ? json_object_get(before, obj) : before;
	json_t *a = obj ? json_object_get(after, obj) : after;
	int64_t got = json_integer_value(json_object_get(a, field)) -
	    json_integer_value(json_object_get(b, field));
	char name[48];

	snprintf(name, sizeof(name), "%s%s%s", obj ? obj : "", obj ? "." : "",
	    field);
	print_message("late re-run: %-20s %lld -> %lld (%+lld, recount "
	    "%+lld)\n", name, (long long)json_integer_value(json_object_get(b,
	    field)), (long long)json_integer_value(json_object_get(a, field)),
	    (long long)got, (long long)want);
	if (got != want)
		mismatch("late re-run delta", name, hint(got), hint(want));
}

/* The re-run's row moved from the first snapshot by the late events. */
static void
late_deltas(json_t *row, int64_t offers,
    const struct exp_row *old, const struct exp_row *nw)
{
	json_t *first = snap1[LATE_DAY];

	check_delta(first, row, NULL, "page_views", 1);
	check_delta(first, row, NULL, "offers", offers);
	check_delta(first, row, NULL, "orders", 1);
	check_delta(first, row, NULL, "units", 2);
	check_delta(first, row, NULL, "gmv", 2 * prices[1]);
	check_delta(first, row, NULL, "promotion_cost", 0);
	check_delta(first, row, "control", "page_views", 0);
	check_delta(first, row, "control", "gmv", 0);
	print_message("late re-run: customers %lld -> %lld (true %lld -> "
	    "%lld)\n", (long long)json_integer_value(json_object_get(first,
	    "customers")), (long long)json_integer_value(json_object_get(row,
	    "customers")), (long long)old->cust_t, (long long)nw->cust_t);
}

/* Send the late view and order of LATE_DAY; wait until applied. */
static void
send_late(struct scen *s)
{
	char cv[32], co[32];
	struct line l = { LATE_DAY, 1, co, 2, prices[1], prices[1], NULL, NULL,
	    NULL, 1 };

	next_customer(s, "m5-late-v", 0, cv, sizeof(cv));
	next_customer(s, "m5-late-o", 0, co, sizeof(co));
	send_view(s, LATE_DAY, 0, cv, 1);
	send_line(s, &l);
	barrier(s);
	read_offers(s);
}

/*
 * A page view and an order of LATE_DAY (today-2, within the nightly
 * grace days) arrive after its snapshot: the stored day keeps its figures
 * (final) while the live product rows count them; the re-run takes
 * exactly them in, and the other days stay as they were.
 */
static void
test_late_events(void **state)
{
	struct scen *s = &scen;
	struct exp_row pe[NDAYS], old, nw;
	int64_t offers0 = s->c[LATE_DAY][0].offers;
	int count[NDAYS];
	json_t *m, *row, *hash, *prows, *msgs;
	char date[16], where[64];

	(void)state;
	mismatches = 0;
	exp_plan(s, LATE_DAY, &old);
	send_late(s);
	print_message("the late view got %lld offer(s)%s\n",
	    (long long)(s->c[LATE_DAY][0].offers - offers0),
	    s->c[LATE_DAY][0].offers > offers0 && s->off[s->noff - 1].expires <
	    harness_now_ms() ? ", already expired when made" : "");
	for (int d = 0; d < NDAYS; d++) {
		exp_plan(s, d, &pe[d]);
		count[d] = d == LATE_DAY ? 3 : 2;
	}
	nw = pe[LATE_DAY];
	pe[LATE_DAY] = old;
	m = get_metrics(s);
	check_metrics(s, m, 1, pe);
	json_decref(m);
	keep_stored(s, LATE_DAY, &hash, &prows);
	same_json(hash, hash1[LATE_DAY], "late, before the re-run: hash");
	json_decref(hash);
	json_decref(prows);
	sc_date(s, LATE_DAY, date);
	row = post_snapshot(s, LATE_DAY);
	exp_print("late re-run", &nw);
	snprintf(where, sizeof(where), "late re-run %s", date);
	check_day_obj(row, &nw, date, NULL, where);
	late_deltas(row, s->c[LATE_DAY][0].offers - offers0, &old, &nw);
	json_decref(row);
	pe[LATE_DAY] = nw;
	check_stored(s, LATE_DAY, &nw);
	m = get_metrics(s);
	check_metrics(s, m, 1, pe);
	json_decref(m);
	for (int d = 0; d < NDAYS; d++) {
		if (d == LATE_DAY)
			continue;
		keep_stored(s, d, &hash, &prows);
		same_json(hash, hash1[d], "late: another day's hash");
		json_decref(hash);
		json_decref(prows);
	}
	msgs = read_metrics(s, (2 * NDAYS + 1) * (1 + NPLAN));
	check_kafka(s, msgs, count, pe, 0);
	json_decref(msgs);
	if (mismatches > 0)
		fail_msg("%d differences after the late events", mismatches);
	harness_pass(s->h);
}

/* ---- the "admin_http" group: malformed HTTP ---- */

#define TOKEN "m6-S3cret-Token-42"
#define MAX_BODY 4096           /* [admin] max_body_bytes of the group */
#define RAW_MAX 65536

/* What one raw exchange got back. */
struct raw_reply {
	int status;                     /* 0: closed without an answer */
	int www_auth;                   /* a WWW-Authenticate: Bearer header */
	size_t n;
	char text[RAW_MAX];
};

/* A TCP connection to the admin port. */
static int
raw_connect(struct harness *h)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		fail_msg("socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)h->admin_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail_msg("connect to the admin port %d: %s", h->admin_port,
		    strerror(errno));
	return fd;
}

/* Send everything the peer takes; a closed peer is not an error here. */
static void
raw_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		len -= (size_t)w;
	}
}

/* Nonzero once r holds a whole response (headers and its body). */
static int
raw_complete(const struct raw_reply *r)
{
	const char *end = strstr(r->text, "\r\n\r\n"), *cl;
	long len;

	if (end == NULL)
		return 0;
	if ((cl = strstr(r->text, "\r\nContent-Length:")) == NULL ||
	    cl > end)
		return 0;
	len = strtol(cl + 17, NULL, 10);
	return r->n >= (size_t)(end + 4 - r->text) + (size_t)len;
}

/* Read a response until it is whole, the peer closes or 5 s pass. */
static void
raw_read(int fd, struct raw_reply *r)
{
	int64_t deadline = harness_now_ms() + 5000;
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t got;

	while (!raw_complete(r) && r->n + 1 < sizeof(r->text) &&
	    harness_now_ms() < deadline) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		got = recv(fd, r->text + r->n, sizeof(r->text) - 1 - r->n, 0);
		if (got <= 0)
			break;
		r->n += (size_t)got;
		r->text[r->n] = '\0';
	}
	if (sscanf(r->text, "HTTP/1.%*d %d", &r->status) != 1)
		r->status = 0;
	r->www_auth = strstr(r->text, "\r\nWWW-Authenticate: Bearer") !=
	    NULL;
}

/*
 * Send req (and, when no answer came within 1 s, more), read the answer;
 * r->status 0 when the daemon closed without one.
 */
static void
raw_exchange(struct harness *h, const char *what, const void *req,
    size_t len, const void *more, size_t morelen, struct raw_reply *r)
{
	int fd = raw_connect(h);
	struct pollfd pfd = { fd, POLLIN, 0 };
	char *eol;

	memset(r, 0, sizeof(*r));
	raw_send(fd, req, len);
	if (more != NULL && poll(&pfd, 1, 1000) == 0)
		raw_send(fd, more, morelen);
	raw_read(fd, r);
	close(fd);
	eol = strstr(r->text, "\r\n");
	print_message("%-44s -> %d %.*s\n", what, r->status, eol ?
	    (int)(eol - r->text) : 0, r->text);
}

/* The daemon runs and GET /healthz answers 200 {"status": "ok"}. */
static void
check_alive(struct harness *h, const char *after)
{
	json_t *out = NULL;
	int status = 0;

	if (!harness_proc_alive(&h->daemon))
		fail_msg("smartpromod died after %s (wait status 0x%x)", after,
		    (unsigned)h->daemon.status);
	H_OK(h, harness_http(h, "GET", "/healthz", NULL, &status, &out));
	if (status != 200 || strcmp(sfield(out, "status"), "ok") != 0)
		fail_msg("GET /healthz after %s: %d %s", after, status,
		    vtext(out));
	json_decref(out);
}

/* Exchange a text request and expect an exact status. */
static void
expect_status(struct harness *h, const char *what, const char *req,
    int want)
{
	struct raw_reply r;

	raw_exchange(h, what, req, strlen(req), NULL, 0, &r);
	if (r.status != want)
		fail_msg("%s: status %d, want %d; answer: %.300s", what,
		    r.status, want, r.text);
	if (want == 401 && !r.www_auth)
		fail_msg("%s: 401 without \"WWW-Authenticate: Bearer\": %.300s",
		    what, r.text);
	check_alive(h, what);
}

/* Exchange bytes (len 0: a C string) and expect a refusal: an error
 * status or a close. */
static void
expect_refused(struct harness *h, const char *what, const void *req,
    size_t len)
{
	struct raw_reply r;

	if (len == 0)
		len = strlen(req);
	raw_exchange(h, what, req, len, NULL, 0, &r);
	if (r.status != 0 && (r.status < 400 || r.status > 599))
		fail_msg("%s: status %d, want an error or a close; answer: "
		    "%.300s", what, r.status, r.text);
	check_alive(h, what);
}

/* Send a part of a request and hang up. */
static void
send_and_close(struct harness *h, const char *what, const char *req)
{
	int fd = raw_connect(h);

	raw_send(fd, req, strlen(req));
	harness_sleep_ms(100);
	close(fd);
	print_message("%-44s -> (hung up)\n", what);
	check_alive(h, what);
}

/*
 * Turn on the bearer token by SIGHUP (the harness's readiness probe
 * sends none, so the daemon starts without one): write the token file,
 * add token_file to the config, reload, wait for 401.
 */
static void
enable_token(struct harness *h)
{
	char path[HARNESS_PATH_MAX];
	size_t len = strlen(h->extra_config);
	int64_t deadline = harness_now_ms() + WAIT_MS;
	int status = 0;

	H_OK(h, harness_write_file(h, "admin.token", TOKEN "\n", path,
	    sizeof(path)));
	snprintf(h->extra_config + len, sizeof(h->extra_config) - len,
	    "token_file = %s\n", path);
	H_OK(h, harness_write_config(h));
	if (kill(h->daemon.pid, SIGHUP) != 0)
		fail_msg("SIGHUP: %s", strerror(errno));
	do {
		harness_sleep_ms(100);
		H_OK(h, harness_http(h, "GET", "/v1/status", NULL, &status,
		    NULL));
	} while (status != 401 && harness_now_ms() < deadline);
	assert_int_equal(status, 401);
}

/* A bearer token: only the exact one opens the API; /healthz needs none. */
static void
test_bad_authorization(void **state)
{
	struct harness *h = *state;
	char big[12000];
	char req[13000];

	enable_token(h);
	expect_status(h, "no Authorization", "GET /v1/status HTTP/1.1\r\n"
	    "Host: a\r\nConnection: close\r\n\r\n", 401);
	expect_status(h, "wrong bearer token", "GET /v1/status HTTP/1.1\r\n"
	    "Host: a\r\nAuthorization: Bearer wrong\r\n\r\n", 401);
	expect_status(h, "Basic credentials", "GET /v1/status HTTP/1.1\r\n"
	    "Host: a\r\nAuthorization: Basic bTY6eA==\r\n\r\n", 401);
	expect_status(h, "token plus one byte", "GET /v1/status HTTP/1.1\r\n"
	    "Host: a\r\nAuthorization: Bearer " TOKEN "x\r\n\r\n", 401);
	expect_status(h, "token less its last byte", "GET /v1/status "
	    "HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer m6-S3cret-Token-4"
	    "\r\n\r\n", 401);
	expect_status(h, "empty bearer", "GET /v1/status HTTP/1.1\r\nHost: a"
	    "\r\nAuthorization: Bearer \r\n\r\n", 401);
	expect_status(h, "POST snapshots, wrong token", "POST /v1/snapshots?"
	    "date=2020-01-01 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "
	    "nope\r\nContent-Length: 0\r\n\r\n", 401);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(req, sizeof(req), "GET /v1/status HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer %s\r\n\r\n", big);
	expect_status(h, "12 KB bearer token", req, 401);
	expect_status(h, "/healthz without a token", "GET /healthz HTTP/1.1\r\n"
	    "Host: a\r\nConnection: close\r\n\r\n", 200);
	expect_status(h, "the right token", "GET /v1/status HTTP/1.1\r\n"
	    "Host: a\r\nAuthorization: Bearer " TOKEN "\r\nConnection: close"
	    "\r\n\r\n", 200);
	harness_pass(h);
}

/* Bodies above [admin] max_body_bytes get 413; at the limit they pass. */
static void
test_oversized_body(void **state)
{
	struct harness *h = *state;
	static char body[2 * MAX_BODY + 16];
	char head[512];
	struct raw_reply r;

	memset(body, 'x', sizeof(body));
	snprintf(head, sizeof(head), "POST /v1/plans HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer " TOKEN "\r\nContent-Type: application/"
	    "json\r\nContent-Length: %d\r\n\r\n", 2 * MAX_BODY);
	raw_exchange(h, "body of 2 x max_body_bytes", head, strlen(head), body,
	    2 * MAX_BODY, &r);
	assert_int_equal(r.status, 413);
	check_alive(h, "an oversized body");
	snprintf(head, sizeof(head), "POST /v1/plans HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer " TOKEN "\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n%x\r\n", 2 * MAX_BODY);
	raw_exchange(h, "chunked body of 2 x max_body_bytes", head,
	    strlen(head), body, 2 * MAX_BODY, &r);
	assert_int_equal(r.status, 413);
	check_alive(h, "an oversized chunked body");
	snprintf(head, sizeof(head), "POST /v1/plans HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer " TOKEN "\r\nConnection: close\r\n"
	    "Content-Length: %d\r\n\r\n", MAX_BODY);
	raw_exchange(h, "body of exactly max_body_bytes", head, strlen(head),
	    body, MAX_BODY, &r);
	if (r.status != 422)
		fail_msg("a body of max_body_bytes (not JSON): status %d, want "
		    "422", r.status);
	check_alive(h, "a body at the limit");
	harness_pass(h);
}

/* A header block above 16 KiB, as one header and as many. */
static void
test_huge_headers(void **state)
{
	struct harness *h = *state;
	static char req[40000];
	size_t n;

	n = (size_t)snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\n"
	    "Host: a\r\nX-Big: ");
	memset(req + n, 'a', 20000);
	n += 20000;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n\r\n");
	expect_refused(h, "one 20 KB header", req, n);
	n = (size_t)snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\n"
	    "Host: a\r\n");
	for (int i = 0; i < 1400; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n,
		    "X-H%04d: vvvvvvvv\r\n", i);
	n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n");
	expect_refused(h, "1400 headers (27 KB)", req, n);
	n = (size_t)snprintf(req, sizeof(req), "GET /");
	memset(req + n, 'u', 20000);
	n += 20000;
	n += (size_t)snprintf(req + n, sizeof(req) - n, " HTTP/1.1\r\nHost: "
	    "a\r\n\r\n");
	expect_refused(h, "a 20 KB request line", req, n);
	harness_pass(h);
}

/* Garbage, binary bytes, bad framing and unknown methods. */
static void
test_garbage_requests(void **state)
{
	struct harness *h = *state;
	unsigned char bin[4096];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(bin); i++) {
		x = x * 1103515245u + 12345u;
		bin[i] = (unsigned char)(x >> 16);
	}
	expect_refused(h, "binary bytes (4 KB, NULs)", bin, sizeof(bin));
	expect_refused(h, "garbage request line", "\x01\x02 HELLO THERE\r\n"
	    "\r\n", 0);
	expect_refused(h, "request line \"GET\"", "GET\r\n\r\n", 0);
	expect_refused(h, "bad protocol HTTZ/1.1", "GET /healthz HTTZ/1.1\r\n"
	    "\r\n", 0);
	expect_refused(h, "header without a colon", "GET /healthz HTTP/1.1\r\n"
	    "Host: a\r\nNoColonHere\r\n\r\n", 0);
	expect_refused(h, "Content-Length: -5", "POST /v1/plans HTTP/1.1\r\n"
	    "Host: a\r\nContent-Length: -5\r\n\r\n", 0);
	expect_refused(h, "Content-Length: 10^23", "POST /v1/plans HTTP/1.1\r\n"
	    "Host: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0);
	expect_refused(h, "unknown method BREW", "BREW /v1/status HTTP/1.1\r\n"
	    "Host: a\r\n\r\n", 0);
	expect_status(h, "method DELETE (405)", "DELETE /v1/plans HTTP/1.1\r\n"
	    "Host: a\r\nAuthorization: Bearer " TOKEN "\r\n\r\n", 405);
	expect_status(h, "method PUT on /metrics (405)", "PUT /metrics "
	    "HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " TOKEN
	    "\r\nContent-Length: 0\r\n\r\n", 405);
	expect_refused(h, "query with %00 and bad escapes", "GET /v1/explain?"
	    "product=%00%zz&customer=%ff%fe HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer " TOKEN "\r\n\r\n", 0);
	expect_refused(h, "JSON body with NUL bytes", "POST /v1/plans HTTP/1.1"
	    "\r\nHost: a\r\nAuthorization: Bearer " TOKEN "\r\nContent-Length:"
	    " 12\r\n\r\n{\"name\":\0\0\0}", strlen("POST /v1/plans HTTP/1.1"
	    "\r\nHost: a\r\nAuthorization: Bearer " TOKEN "\r\nContent-Length:"
	    " 12\r\n\r\n") + 12);
	harness_pass(h);
}

/* Requests cut short, and one left hanging while others are served. */
static void
test_truncated_requests(void **state)
{
	struct harness *h = *state;
	int fd;

	send_and_close(h, "request line cut short", "GET /v1/sta");
	send_and_close(h, "headers cut short", "GET /healthz HTTP/1.1\r\n"
	    "Host: a\r\nX-A: ");
	send_and_close(h, "body of 100 cut at 4", "POST /v1/plans HTTP/1.1\r\n"
	    "Host: a\r\nAuthorization: Bearer " TOKEN "\r\nContent-Length: "
	    "100\r\n\r\n{\"na");
	fd = raw_connect(h);
	raw_send(fd, "POST /v1/plans HTTP/1.1\r\nHost: a\r\nContent-Length: 50"
	    "\r\n\r\n{", 56);
	check_alive(h, "a request left hanging (still open)");
	print_message("%-44s -> /healthz still answers\n", "a request left "
	    "hanging");
	close(fd);
	check_alive(h, "the hanging request closed");
	harness_pass(h);
}

/* ---- Recommended Strategies: apply ---- */

/* A call that must answer want; the body (new reference, may be NULL). */
static json_t *
call_want(struct harness *h, const char *method, const char *path,
    const char *body, int want)
{
	json_t *out = NULL;
	int status = 0;

	H_OK(h, harness_http(h, method, path, body, &status, &out));
	if (status != want)
		fail_msg("%s %s %s: status %d, want %d; body %s", method, path,
		    body != NULL ? body : "", status, want, vtext(out));
	return out;
}

/* The product object of a recommendation with this id, or NULL. */
static json_t *
reco_product(json_t *rec, const char *pid)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(rec, "products"), i, p)
		if (strcmp(sfield(p, "product_id"), pid) == 0)
			return p;
	return NULL;
}

/* How many plans GET /v1/plans lists. */
static size_t
plan_count(struct harness *h)
{
	json_t *out = call_want(h, "GET", "/v1/plans", NULL, 200);
	size_t n = json_array_size(json_object_get(out, "plans"));

	json_decref(out);
	return n;
}

/* A plan (or a preview's plan) carries the edits and the recommendation. */
static void
check_applied(json_t *plan, json_t *rec, json_t *item, const char *where)
{
	json_t *prods = json_object_get(plan, "products");
	json_t *range = json_object_get(json_object_get(plan,
	    "product_ranges"), prod_ids[PX]);

	check_int(plan, "days", 10, where);
	if (strcmp(sfield(plan, "name"), "m5 from reco") != 0)
		mismatch(where, "name", sfield(plan, "name"), "m5 from reco");
	if (strcmp(sfield(plan, "shop_id"), SHOP) != 0)
		mismatch(where, "shop_id", sfield(plan, "shop_id"), SHOP);
	if (json_array_size(prods) != 1 || strcmp(json_string_value(
	    json_array_get(prods, 0)), prod_ids[PX]) != 0)
		mismatch(where, "products", vtext(prods), "[\"m5-px\"]");
	if (json_number_value(json_object_get(plan, "roi_target")) !=
	    json_number_value(json_object_get(rec, "roi_target")))
		mismatch(where, "roi_target", vtext(json_object_get(plan,
		    "roi_target")), vtext(json_object_get(rec, "roi_target")));
	if (json_number_value(json_array_get(range, 0)) != json_number_value(
	    json_object_get(item, "discount_min_pct")) ||
	    json_number_value(json_array_get(range, 1)) != json_number_value(
	    json_object_get(item, "discount_max_pct")))
		mismatch(where, "product_ranges.m5-px", vtext(range),
		    "the recommended range");
}

/*
 * GET the shop's recommendations (m5-px is in no plan and has six days
 * of views and orders), preview an apply with edits (nothing written),
 * apply it (201, the edits in the plan), apply again (409: the product is
 * in that plan now), and an unknown id (404).
 */
static void
test_reco_apply(void **state)
{
	struct harness *h = *state;
	const char *edits = "{\"days\": 10, \"name\": \"m5 from reco\", "
	    "\"products\": [\"m5-px\"]}";
	json_t *rec, *item, *pv, *plan, *again;
	char path[256];
	const char *id;
	size_t nplans = plan_count(h);

	mismatches = 0;
	rec = call_want(h, "GET", "/v1/recommendations?shop=" SHOP, NULL, 200);
	id = sfield(rec, "recommendation_id");
	if ((item = reco_product(rec, prod_ids[PX])) == NULL ||
	    !json_is_number(json_object_get(item, "discount_min_pct")))
		fail_msg("no recommended range for %s in %s", prod_ids[PX],
		    jtext(rec));
	print_message("recommendation %s: %s\n", id, jtext(item));
	snprintf(path, sizeof(path), "/v1/recommendations/%s/apply?dry_run=1",
	    id);
	pv = call_want(h, "POST", path, edits, 200);
	if (!json_is_true(json_object_get(pv, "dry_run")) ||
	    strcmp(sfield(json_object_get(pv, "plan"), "status"),
	    "preview") != 0)
		fail_msg("the preview is not one: %s", jtext(pv));
	check_applied(json_object_get(pv, "plan"), rec, item, "preview");
	if (plan_count(h) != nplans)
		fail_msg("the preview created a plan");
	snprintf(path, sizeof(path), "/v1/recommendations/%s/apply", id);
	plan = call_want(h, "POST", path, edits, 201);
	check_applied(plan, rec, item, "applied plan");
	assert_string_equal(sfield(plan, "status"), "active");
	assert_int_equal(plan_count(h), nplans + 1);
	again = call_want(h, "POST", path, edits, 409);
	print_message("applied twice: %s\n", vtext(again));
	json_decref(call_want(h, "POST", "/v1/recommendations/rc-unknown/"
	    "apply", NULL, 404));
	json_decref(rec);
	json_decref(pv);
	json_decref(plan);
	json_decref(again);
	assert_int_equal(mismatches, 0);
	harness_pass(h);
}

/* ---- GET /metrics: the operations families exist and move ---- */

static char *scrape0;           /* /metrics before the scenario */

/* GET /metrics as text (malloc'd); fails the test unless 200. */
static char *
scrape(struct harness *h)
{
	struct httpc_response resp;
	char err[256];
	char *text;

	if (httpc_request(h->url, "GET", "/metrics", NULL, NULL, 5000, &resp,
	    err, sizeof(err)) == -1)
		fail_msg("GET /metrics: %s", err);
	if (resp.status != 200 || resp.body == NULL)
		fail_msg("GET /metrics: status %d", resp.status);
	text = strdup(resp.body);
	httpc_response_release(&resp);
	assert_non_null(text);
	return text;
}

/* The value of the sample "name{labels}" (as written) in text; fails the
 * test when it is absent. */
static double
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	fail_msg("GET /metrics has no sample %s", series);
	return 0;
}

/* The family is declared with its type. */
static void
family(const char *text, const char *name, const char *type)
{
	char line[160];

	snprintf(line, sizeof(line), "\n# TYPE %s %s\n", name, type);
	if (strstr(text, line) == NULL)
		fail_msg("GET /metrics does not declare %s as a %s", name,
		    type);
}

/* Sum of the samples "name{label=...}" over the values given. */
static double
sample_sum(const char *text, const char *name, const char *label,
    const char *const *values, size_t n)
{
	char series[160];
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		snprintf(series, sizeof(series), "%s{%s=\"%s\"}", name, label,
		    values[i]);
		sum += sample(text, series);
	}
	return sum;
}

/* A histogram is whole: +Inf bucket = count; count moved by >= want. */
static void
check_histogram(const char *before, const char *after, const char *name,
    double want)
{
	char series[160], cnt[160], sum[160];
	double d;

	family(after, name, "histogram");
	snprintf(series, sizeof(series), "%s_bucket{le=\"+Inf\"}", name);
	snprintf(cnt, sizeof(cnt), "%s_count", name);
	snprintf(sum, sizeof(sum), "%s_sum", name);
	assert_true(sample(after, series) == sample(after, cnt));
	d = sample(after, cnt) - sample(before, cnt);
	print_message("%-36s +%.0f observations (want >= %.0f), sum %.6f s\n",
	    name, d, want, sample(after, sum) - sample(before, sum));
	if (d < want)
		fail_msg("%s_count moved by %.0f, want >= %.0f", name, d, want);
}

/* The scrape before any event: kept for test_ops_metrics. */
static void
test_ops_baseline(void **state)
{
	struct harness *h = *state;

	scrape0 = scrape(h);
	family(scrape0, "smartpromo_events_total", "counter");
	harness_pass(h);
}

/* The scenario's page views (both groups, every product, every day). */
static int64_t
scen_views(const struct scen *s)
{
	int64_t n = 0;

	for (int d = 0; d < NDAYS; d++)
		for (int p = 0; p < NALL; p++)
			n += s->c[d][p].pv_t + s->c[d][p].pv_c;
	return n;
}

/*
 * After the scenario (and one poison message): every family the issue
 * names exists, and the ones the scenario drives moved by at least what
 * it sent: events by type, offers by tool, the batch latency and the
 * per-view decision histograms (one decision per applied view), dead
 * letters; Redis and Kafka errors
 * never go back; consumer lag is known (>= 0) and drains to 0.
 */
static void
test_ops_metrics(void **state)
{
	static const char *const tools[] = { "product_discount", "flash_sale",
	    "voucher", "new_customer_discount", "bmsm" };
	static const char *const errs[] = { "smartpromo_redis_errors_total",
	    "smartpromo_kafka_errors_total" };
	struct harness *h = *state;
	int64_t views = scen_views(&scen), deadline;
	double dead0 = sample(scrape0, "smartpromo_dead_letters_total"), lag;
	double dv, doff;
	char *now = NULL;

	assert_non_null(scrape0);
	H_OK(h, harness_produce(h, HARNESS_TOPIC_EVENTS, "m5-poison",
	    "{not json", 9, NULL));
	deadline = harness_now_ms() + WAIT_MS;
	do {
		free(now);
		harness_sleep_ms(200);
		now = scrape(h);
		lag = sample(now, "smartpromo_consumer_lag_messages");
	} while ((sample(now, "smartpromo_dead_letters_total") <= dead0 ||
	    lag != 0) && harness_now_ms() < deadline);
	family(now, "smartpromo_dead_letters_total", "counter");
	assert_true(sample(now, "smartpromo_dead_letters_total") > dead0);
	family(now, "smartpromo_consumer_lag_messages", "gauge");
	print_message("consumer lag %.0f\n", lag);
	assert_true(lag == 0);
	family(now, "smartpromo_events_total", "counter");
	dv = sample(now, "smartpromo_events_total{type=\"page_view\"}") -
	    sample(scrape0, "smartpromo_events_total{type=\"page_view\"}");
	print_message("page views +%.0f (sent >= %lld)\n", dv,
	    (long long)views);
	assert_true(dv >= (double)views && views > 0);
	assert_true(sample(now, "smartpromo_events_total{type=\"order\"}") >
	    sample(scrape0, "smartpromo_events_total{type=\"order\"}"));
	assert_true(sample(now, "smartpromo_events_total{type=\"product\"}") >
	    sample(scrape0, "smartpromo_events_total{type=\"product\"}"));
	family(now, "smartpromo_offers_total", "counter");
	doff = sample_sum(now, "smartpromo_offers_total", "tool", tools, 5) -
	    sample_sum(scrape0, "smartpromo_offers_total", "tool", tools, 5);
	print_message("offers +%.0f (read %zu)\n", doff, scen.noff);
	assert_true(doff >= (double)scen.noff - scen.dup_offer_msgs &&
	    doff > 0);
	check_histogram(scrape0, now, "smartpromo_batch_latency_seconds", 1);
	check_histogram(scrape0, now, "smartpromo_decision_seconds",
	    (double)views);
	/* one decision per applied page view, no more */
	assert_true(sample(now, "smartpromo_decision_seconds_count") -
	    sample(scrape0, "smartpromo_decision_seconds_count") == dv);
	for (size_t i = 0; i < 2; i++) {
		family(now, errs[i], "counter");
		print_message("%s %.0f\n", errs[i], sample(now, errs[i]));
		assert_true(sample(now, errs[i]) >= sample(scrape0, errs[i]));
	}
	free(now);
	harness_pass(h);
}

/* ---- fixtures ---- */

static struct harness harness_m, harness_a;

/* The metrics group: day boundaries in UTC; the nightly snapshot set
 * twelve hours away, so that only the test takes snapshots. */
static int
setup_metrics(void **state)
{
	int64_t at = (harness_now_ms() + 12 * HOUR_MS) % DAY_MS / 60000;
	char extra[192];

	/* the scenario replays past days: their views must get offers, and
	 * its plan starts at day 0's midnight */
	*state = &harness_m;
	snprintf(extra, sizeof(extra), "[schedule]\ntimezone = UTC\n"
	    "snapshot_time = %02d:%02d\n[engine]\nlate_view_offers = yes\n"
	    "[plans]\nallow_past_start = yes\n", (int)(at / 60),
	    (int)(at % 60));
	return harness_start_group(&harness_m, extra);
}

/* The admin group: a small body limit (token_file comes by SIGHUP). */
static int
setup_admin(void **state)
{
	char extra[128];

	*state = &harness_a;
	snprintf(extra, sizeof(extra), "[admin]\nmax_body_bytes = %d\n",
	    MAX_BODY);
	return harness_start_group(&harness_a, extra);
}

/* Tear a group down; free what the metrics group kept. */
static int
teardown_group(void **state)
{
	harness_release(*state);
	for (int d = 0; d < NDAYS; d++) {
		json_decref(snap1[d]);
		json_decref(hash1[d]);
		json_decref(prodhash1[d]);
		snap1[d] = hash1[d] = prodhash1[d] = NULL;
	}
	json_decref(metrics1);
	metrics1 = NULL;
	free(scrape0);
	scrape0 = NULL;
	return 0;
}

/* Free the recount's lists. */
static void
scen_release(struct scen *s)
{
	for (int d = 0; d < NDAYS; d++)
		for (int p = 0; p < NALL; p++)
			for (int g = 0; g < 2; g++) {
				for (size_t i = 0; i < s->cust[d][p][g].n; i++)
					free(s->cust[d][p][g].v[i]);
				free(s->cust[d][p][g].v);
			}
	free(s->ord);
	free(s->off);
	memset(s, 0, sizeof(*s));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_test, teardown_test)

int
main(void)
{
	const struct CMUnitTest metrics[] = {
		T(test_ops_baseline),
		T(test_feed),
		T(test_live_not_final),
		T(test_snapshots),
		T(test_rerun_idempotent),
		T(test_late_events),
		T(test_reco_apply),
		T(test_ops_metrics),
	};
	const struct CMUnitTest admin[] = {
		T(test_bad_authorization),
		T(test_oversized_body),
		T(test_huge_headers),
		T(test_garbage_requests),
		T(test_truncated_requests),
	};
	int failed;

	failed = cmocka_run_group_tests_name("metrics", metrics,
	    setup_metrics, teardown_group);
	scen_release(&scen);
	failed += cmocka_run_group_tests_name("admin_http", admin,
	    setup_admin, teardown_group);
	return failed != 0;
}
