/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen.c - spfault gen: the fault tests' input.  A catalog event for every
 * product, then page views, re-sent page views, order lines (some naming
 * the offer an earlier view made, some a second variant of the order, some
 * sent twice), order updates (cancelled, refunded, delivered), catalog
 * updates, campaigns and seller promotions, plus one poison message every
 * K messages.  Products of shop-0 with an even number form plan A's list,
 * those of shop-1 plan B's; the others are in no plan.
 *
 * An order can only credit an offer if it names the offer's id, and that id
 * comes from the Kafka position of the view (engine_offer_id()).  So the
 * generator predicts positions the way the producer makes them: librdkafka's
 * default partitioner (consistent_random: CRC-32 of the key modulo the
 * partition count) and offsets counted from 0 in a fresh topic.  The
 * prediction only decides how many orders convert; the check takes the
 * real positions from the topic.  The poison messages draw no random
 * numbers, so a run with and without poison has the same good events.
 */
#include "fault.h"
#include "rng.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_RING 4096           /* recent views and orders remembered */
#define GEN_LINE 1024

struct gen_opts {
	int64_t events, products, customers, partitions, poison_every;
	int64_t seed, t0, span_ms, ttl_ms;
	double holdout;
	const char *topic, *out, *plans;
};

/* The offer the engine should hold for a (customer, product). */
struct gen_offer {
	char id[64];
	int64_t ts;
	int converted;
};

/* A recent view: who, what, and the id an offer made there would have. */
struct gen_view {
	int64_t prod, cust;
	char id[64];
};

struct gen_order {
	char order_id[32];
	int64_t prod;
};

struct gen {
	struct gen_opts o;
	FILE *fp;
	struct rng r;
	uint64_t offer_seed;
	uint32_t crc[256];
	int64_t *next_off;      /* per partition */
	int64_t *price;         /* per product */
	struct strmap standing; /* "cust/prod" -> struct gen_offer * */
	struct gen_view views[GEN_RING];
	long nviews;
	struct gen_order orders[GEN_RING];
	long norders;
	char last_view[GEN_LINE];
	int64_t last_view_prod;
	int64_t good, poison, k;
	long n_view, n_resent, n_line, n_offer_line, n_update, n_catalog;
	long n_other;
};

/* The standard CRC-32 table (reflected 0xedb88320), as librdkafka's. */
static void
gen_crc_init(struct gen *g)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int j = 0; j < 8; j++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		g->crc[i] = c;
	}
}

/* CRC-32 of a string. */
static uint32_t
gen_crc32(const struct gen *g, const char *s)
{
	uint32_t c = 0xffffffffu;

	for (; *s != '\0'; s++)
		c = g->crc[(c ^ (unsigned char)*s) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* The plan of a product: 'a', 'b' or 0. */
static int
gen_plan_of(int64_t p)
{
	if (p % 5 == 0 && p % 2 == 0)
		return 'a';
	return p % 5 == 1 ? 'b' : 0;
}

/* Write one message keyed by product p; *part and the offset it gets. */
static int64_t
gen_emit(struct gen *g, int64_t p, const char *line, int32_t *part)
{
	char key[32];

	snprintf(key, sizeof(key), "p%" PRId64, p);
	*part = (int32_t)(gen_crc32(g, key) % (uint32_t)g->o.partitions);
	fputs(line, g->fp);
	fputc('\n', g->fp);
	return g->next_off[*part]++;
}

static void gen_poison(struct gen *g, int64_t j);

/*
 * Write a good message: counts it and moves event time on.  A poison
 * message goes first when the count reaches K/2, 3K/2, 5K/2, ...
 */
static int64_t
gen_good(struct gen *g, int64_t p, const char *line, int32_t *part)
{
	int64_t k = g->o.poison_every;

	if (k > 0 && g->good >= k / 2 + g->poison * k)
		gen_poison(g, g->poison);
	g->good++;
	return gen_emit(g, p, line, part);
}

/* Event time of the current message. */
static int64_t
gen_ts(const struct gen *g)
{
	return g->o.t0 + g->good * g->o.span_ms / g->o.events;
}

/* A random index below n. */
static int64_t
gen_pick(struct gen *g, int64_t n)
{
	int64_t v = (int64_t)(rng_uniform(&g->r) * (double)n);

	return v < n ? v : n - 1;
}

/* A product, skewed towards low numbers like gen-events.awk. */
static int64_t
gen_product(struct gen *g)
{
	double u = rng_uniform(&g->r) * rng_uniform(&g->r);
	int64_t p = (int64_t)(u * (double)g->o.products);

	return p < g->o.products ? p : g->o.products - 1;
}

/* The catalog event of product p. */
static void
gen_catalog(struct gen *g, int64_t p, int64_t price, int64_t stock,
    const char *id)
{
	char line[GEN_LINE];
	int32_t part;
	int64_t ts = gen_ts(g);

	g->price[p] = price;
	snprintf(line, sizeof(line), "{\"type\":\"product\",\"event_id\":\"%s\","
	    "\"ts\":%" PRId64 ",\"shop_id\":\"shop-%" PRId64 "\",\"product_id\":"
	    "\"p%" PRId64 "\",\"price\":%" PRId64 ",\"stock\":%" PRId64 ","
	    "\"listed_at\":%" PRId64 ",\"category\":\"cat-%" PRId64 "\"}", id,
	    ts, p % 5, p, price, stock, g->o.t0 - 86400000, p % 7);
	gen_good(g, p, line, &part);
	g->n_catalog++;
}

/* The standing offer record of a (customer, product), created if asked. */
static struct gen_offer *
gen_standing(struct gen *g, int64_t cust, int64_t prod, int create)
{
	char key[64];
	struct gen_offer *s;

	snprintf(key, sizeof(key), "%" PRId64 "/%" PRId64, cust, prod);
	if ((s = strmap_get(&g->standing, key)) != NULL || !create)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    strmap_put(&g->standing, key, s) == -1)
		fault_oom();
	return s;
}

/* Predict what the engine does with a treatment view: a new offer? */
static void
gen_expect_offer(struct gen *g, int64_t cust, int64_t prod, int64_t ts,
    const char *id)
{
	char c[32];
	struct gen_offer *s;

	snprintf(c, sizeof(c), "c%" PRId64, cust);
	if (gen_plan_of(prod) == 0 || engine_in_holdout(c, g->o.holdout))
		return;
	s = gen_standing(g, cust, prod, 1);
	if (s->id[0] != '\0' && !s->converted && ts < s->ts + g->o.ttl_ms)
		return;         /* the earlier offer still stands */
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->ts = ts;
	s->converted = 0;
}

/* A page view of product p by customer c. */
static void
gen_view_of(struct gen *g, int64_t p, int64_t c)
{
	int64_t ts = gen_ts(g), off;
	struct gen_view *v = &g->views[g->nviews++ % GEN_RING];
	int32_t part;

	snprintf(g->last_view, sizeof(g->last_view), "{\"type\":\"page_view\","
	    "\"event_id\":\"v%" PRId64 "\",\"ts\":%" PRId64 ",\"shop_id\":"
	    "\"shop-%" PRId64 "\",\"product_id\":\"p%" PRId64 "\","
	    "\"customer_id\":\"c%" PRId64 "\",\"session_id\":\"s%" PRId64 "\"}",
	    g->k, ts, p % 5, p, c, c % 977);
	g->last_view_prod = p;
	off = gen_good(g, p, g->last_view, &part);
	v->prod = p;
	v->cust = c;
	engine_offer_id(g->offer_seed, part, off, v->id, sizeof(v->id));
	gen_expect_offer(g, c, p, ts, v->id);
	g->n_view++;
}

/* A page view. */
static void
gen_view(struct gen *g)
{
	int64_t p = gen_product(g);

	gen_view_of(g, p, gen_pick(g, g->o.customers));
}

/* The last page view sent again with its event_id (counted once). */
static void
gen_resend_view(struct gen *g)
{
	int32_t part;

	if (g->last_view[0] == '\0') {
		gen_view(g);
		return;
	}
	gen_good(g, g->last_view_prod, g->last_view, &part);
	g->n_resent++;
}

/* One order line message. */
static void
gen_line(struct gen *g, const char *eid, const char *oid, int64_t p,
    int64_t c, const char *variant, int64_t qty, int64_t paid,
    const char *offer)
{
	char line[GEN_LINE], of[96] = "";
	int32_t part;

	if (offer[0] != '\0')
		snprintf(of, sizeof(of), ",\"offer_id\":\"%s\"", offer);
	snprintf(line, sizeof(line), "{\"type\":\"order\",\"event_id\":\"%s\","
	    "\"ts\":%" PRId64 ",\"shop_id\":\"shop-%" PRId64 "\",\"product_id\":"
	    "\"p%" PRId64 "\",\"order_id\":\"%s\",\"variant_id\":\"%s\","
	    "\"customer_id\":\"c%" PRId64 "\",\"qty\":%" PRId64 ","
	    "\"unit_price\":%" PRId64 ",\"paid_unit_price\":%" PRId64 "%s}", eid,
	    gen_ts(g), p % 5, p, oid, variant, c, qty, g->price[p], paid, of);
	gen_good(g, p, line, &part);
	g->n_line++;
	g->n_offer_line += offer[0] != '\0';
}

/*
 * The offer an order names: the standing one mostly, a stale one now and
 * then, or none; *paid is what the buyer paid per unit.  Returns nonzero
 * when the order converts the standing offer.
 */
static int
gen_order_offer(struct gen *g, const struct gen_view *v, char *offer,
    size_t len, int64_t *paid)
{
	int64_t price = g->price[v->prod];
	struct gen_offer *s = gen_standing(g, v->cust, v->prod, 0);
	double u = rng_uniform(&g->r);

	offer[0] = '\0';
	*paid = price;
	if (s != NULL && s->id[0] != '\0' && !s->converted &&
	    gen_ts(g) < s->ts + g->o.ttl_ms && u < 0.85) {
		snprintf(offer, len, "%s", s->id);
		s->converted = 1;
		*paid = price - price / 10;
		return 1;
	}
	if (v->id[0] != '\0' && u > 0.7)
		snprintf(offer, len, "%s", v->id);
	return 0;
}

/*
 * An order: one or two lines, sometimes one sent twice.  Half the buyers
 * who used their offer look at the product again at once, which replaces
 * their offer record with a new offer.
 */
static void
gen_order(struct gen *g)
{
	struct gen_view v = { 0 };
	char oid[32], eid[48], offer[64];
	int64_t qty, paid, room;
	int converted;

	if (g->nviews > 0 && rng_uniform(&g->r) < 0.75)
		v = g->views[gen_pick(g, g->nviews < GEN_RING ? g->nviews :
		    GEN_RING)];
	else {
		v.prod = gen_product(g);
		v.cust = gen_pick(g, g->o.customers);
	}
	converted = gen_order_offer(g, &v, offer, sizeof(offer), &paid);
	qty = 1 + gen_pick(g, 3);
	snprintf(oid, sizeof(oid), "o%" PRId64, g->k);
	snprintf(eid, sizeof(eid), "%s-1", oid);
	gen_line(g, eid, oid, v.prod, v.cust, "v1", qty, paid, offer);
	room = g->o.events - g->good;
	if (room > 0 && rng_uniform(&g->r) < 0.25) {
		snprintf(eid, sizeof(eid), "%s-2", oid);
		gen_line(g, eid, oid, v.prod, v.cust, "v2", 1, paid, offer);
	}
	if (g->o.events - g->good > 0 && rng_uniform(&g->r) < 0.08) {
		snprintf(eid, sizeof(eid), "%s-r", oid);
		gen_line(g, eid, oid, v.prod, v.cust, "v1", qty, paid, offer);
	}
	snprintf(g->orders[g->norders % GEN_RING].order_id,
	    sizeof(g->orders[0].order_id), "%s", oid);
	g->orders[g->norders++ % GEN_RING].prod = v.prod;
	if (converted && g->o.events - g->good > 0 &&
	    rng_uniform(&g->r) < 0.5)
		gen_view_of(g, v.prod, v.cust);
}

/* A status change of a recent order. */
static void
gen_update(struct gen *g)
{
	static const char *const st[] = { "cancelled", "refunded", "delivered" };
	const struct gen_order *o;
	double u;
	char line[GEN_LINE];
	int32_t part;

	if (g->norders == 0) {
		gen_view(g);
		return;
	}
	o = &g->orders[gen_pick(g, g->norders < GEN_RING ? g->norders :
	    GEN_RING)];
	u = rng_uniform(&g->r);
	snprintf(line, sizeof(line), "{\"type\":\"order_update\",\"event_id\":"
	    "\"u%" PRId64 "\",\"ts\":%" PRId64 ",\"shop_id\":\"shop-%" PRId64
	    "\",\"product_id\":\"p%" PRId64 "\",\"order_id\":\"%s\","
	    "\"status\":\"%s\"}", g->k, gen_ts(g), o->prod % 5, o->prod,
	    o->order_id, st[u < 0.5 ? 0 : u < 0.7 ? 1 : 2]);
	gen_good(g, o->prod, line, &part);
	g->n_update++;
}

/* A catalog update: a new price and stock. */
static void
gen_reprice(struct gen *g)
{
	int64_t p = gen_product(g), base = 500 + (p * 7919) % 20000;
	double f = 0.8 + 0.4 * rng_uniform(&g->r);
	char id[32];

	snprintf(id, sizeof(id), "r%" PRId64, g->k);
	gen_catalog(g, p, (int64_t)((double)base * f), gen_pick(g, 500), id);
}

/* A campaign or a seller promotion (they only move the position). */
static void
gen_other(struct gen *g, int campaign)
{
	int64_t p = gen_product(g), ts = gen_ts(g);
	char line[GEN_LINE];
	int32_t part;

	if (campaign)
		snprintf(line, sizeof(line), "{\"type\":\"campaign\",\"event_id\":"
		    "\"m%" PRId64 "\",\"ts\":%" PRId64 ",\"shop_id\":\"shop-%"
		    PRId64 "\",\"product_id\":\"p%" PRId64 "\",\"campaign_id\":"
		    "\"cmp-%" PRId64 "\",\"campaign_price\":%" PRId64 ",\"start\":%"
		    PRId64 ",\"end\":%" PRId64 "}", g->k, ts, p % 5, p, g->k,
		    g->price[p] * 9 / 10, ts, ts + 86400000);
	else
		snprintf(line, sizeof(line), "{\"type\":\"seller_promotion\","
		    "\"event_id\":\"s%" PRId64 "\",\"ts\":%" PRId64 ",\"shop_id\":"
		    "\"shop-%" PRId64 "\",\"product_id\":\"p%" PRId64 "\","
		    "\"promotion_id\":\"sp-%" PRId64 "\",\"tool\":\"flash_sale\","
		    "\"discount_bps\":1500,\"start\":%" PRId64 ",\"end\":%" PRId64
		    "}", g->k, ts, p % 5, p, g->k, ts, ts + 3600000);
	gen_good(g, p, line, &part);
	g->n_other++;
}

/* Poison message j: a different way to be invalid each time. */
static void
gen_poison(struct gen *g, int64_t j)
{
	static const char *const fmt[] = {
		"{\"product_id\":\"p%" PRId64 "\",\"type\":\"page_view\","
		    "\"event_id\":\"bad-%" PRId64 "\",\"ts\":%" PRId64,
		"{\"product_id\":\"p%" PRId64 "\",\"type\":\"order\",\"event_id\":"
		    "\"bad-%" PRId64 "\",\"ts\":%" PRId64 ",\"shop_id\":\"shop-0\","
		    "\"order_id\":\"bad\",\"customer_id\":\"c1\",\"qty\":-1,"
		    "\"unit_price\":100,\"paid_unit_price\":100}",
		"{\"product_id\":\"p%" PRId64 "\",\"type\":\"page_view\","
		    "\"event_id\":\"bad-%" PRId64 "\",\"ts\":%" PRId64 ","
		    "\"shop_id\":\"shop-0\"}",
		"{\"product_id\":\"p%" PRId64 "\",\"type\":\"page_vue\","
		    "\"event_id\":\"bad-%" PRId64 "\",\"ts\":%" PRId64 ","
		    "\"shop_id\":\"shop-0\",\"customer_id\":\"c1\"}",
		"{\"product_id\":\"p%" PRId64 "\",\"type\":\"product\","
		    "\"event_id\":\"bad-%" PRId64 "\",\"ts\":%" PRId64 ","
		    "\"shop_id\":\"shop-0\",\"price\":12.5,\"stock\":1,"
		    "\"listed_at\":1}",
		"{\"product_id\":\"p%" PRId64 "\",\"type\":\"order\",\"event_id\":"
		    "\"bad-%" PRId64 "\",\"ts\":%" PRId64 ",\"shop_id\":\"shop-0\","
		    "\"order_id\":\"bad\",\"customer_id\":\"c1\",\"qty\":1,"
		    "\"unit_price\":100,\"paid_unit_price\":200}",
		"{\"product_id\":\"p%" PRId64 "\",\"type\":\"page_view\","
		    "\"event_id\":\"bad-%" PRId64 "\",\"ts\":\"t%" PRId64 "\","
		    "\"shop_id\":\"shop-0\",\"customer_id\":\"c1\"}",
	};
	int64_t p = (j * 7919) % g->o.products;
	char line[GEN_LINE];
	int32_t part;

	snprintf(line, sizeof(line), fmt[j % 7], p, j, gen_ts(g));
	gen_emit(g, p, line, &part);
	g->poison++;
}

/* One mixed event (maybe more than one message for an order). */
static void
gen_mixed(struct gen *g)
{
	double u = rng_uniform(&g->r);

	if (u < 0.78)
		gen_view(g);
	else if (u < 0.79)
		gen_resend_view(g);
	else if (u < 0.91)
		gen_order(g);
	else if (u < 0.95)
		gen_update(g);
	else if (u < 0.98)
		gen_reprice(g);
	else
		gen_other(g, u < 0.99);
}

/* Write the product lists of plans A and B. */
static int
gen_plans(const struct gen *g)
{
	char path[1024];

	for (int plan = 'a'; plan <= 'b'; plan++) {
		FILE *fp;

		snprintf(path, sizeof(path), "%s-%c.txt", g->o.plans, plan);
		if ((fp = fopen(path, "w")) == NULL) {
			fault_warnx("cannot write \"%s\"", path);
			return -1;
		}
		for (int64_t p = 0; p < g->o.products; p++)
			if (gen_plan_of(p) == plan)
				fprintf(fp, "p%" PRId64 "\n", p);
		fclose(fp);
	}
	return 0;
}

/* The whole stream. */
static void
gen_stream(struct gen *g)
{
	for (int64_t p = 0; p < g->o.products && g->good < g->o.events; p++) {
		char id[32];

		snprintf(id, sizeof(id), "b-p%" PRId64, p);
		gen_catalog(g, p, 500 + (p * 7919) % 20000, 500, id);
	}
	for (g->k = 0; g->good < g->o.events; g->k++)
		gen_mixed(g);
}

/* The usage text. */
static void
gen_usage(FILE *fp)
{
	fprintf(fp, "usage: spfault gen -o FILE --plans PREFIX [-n EVENTS] "
	    "[-p PRODUCTS] [-c CUSTOMERS]\n"
	    "           [--partitions N] [--topic NAME] [--poison-every K] "
	    "[--seed S]\n"
	    "           [--t0 MS] [--span-ms MS] [--ttl-ms MS] "
	    "[--holdout PCT]\n"
	    "writes EVENTS good messages (and EVENTS/K poison ones) to FILE, "
	    "the product\nlists of plans A and B to PREFIX-a.txt and "
	    "PREFIX-b.txt; prints the\nnumber of messages on stdout\n");
}

/* Parse one numeric option. */
static int
gen_num(const char *v, int64_t min, int64_t max, int64_t *out,
    const char *opt)
{
	if (fault_parse_i64(v, min, max, out) == 0)
		return 0;
	fault_warnx("invalid value \"%s\" for \"%s\"", v ? v : "", opt);
	return -1;
}

/* Parse the options. */
static int
gen_args(int argc, char **argv, struct gen_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (strcmp(a, "-h") == 0) {
			gen_usage(stdout);
			exit(0);
		}
		if (v == NULL) {
			fault_warnx("option \"%s\" needs a value", a);
			return -1;
		}
		i++;
		if (strcmp(a, "-o") == 0)
			o->out = v;
		else if (strcmp(a, "--plans") == 0)
			o->plans = v;
		else if (strcmp(a, "--topic") == 0)
			o->topic = v;
		else if (strcmp(a, "-n") == 0)
			rc = gen_num(v, 1, 100000000, &o->events, a);
		else if (strcmp(a, "-p") == 0)
			rc = gen_num(v, 1, 1000000, &o->products, a);
		else if (strcmp(a, "-c") == 0)
			rc = gen_num(v, 1, 100000000, &o->customers, a);
		else if (strcmp(a, "--partitions") == 0)
			rc = gen_num(v, 1, 1024, &o->partitions, a);
		else if (strcmp(a, "--poison-every") == 0)
			rc = gen_num(v, 0, 100000000, &o->poison_every, a);
		else if (strcmp(a, "--seed") == 0)
			rc = gen_num(v, 0, INT64_MAX, &o->seed, a);
		else if (strcmp(a, "--t0") == 0)
			rc = gen_num(v, 1, INT64_MAX / 2, &o->t0, a);
		else if (strcmp(a, "--span-ms") == 0)
			rc = gen_num(v, 1, INT64_MAX / 4, &o->span_ms, a);
		else if (strcmp(a, "--ttl-ms") == 0)
			rc = gen_num(v, 1, INT64_MAX / 4, &o->ttl_ms, a);
		else if (strcmp(a, "--holdout") == 0)
			rc = fault_parse_dbl(v, 0, 50, &o->holdout);
		else {
			fault_warnx("unknown option \"%s\"", a);
			return -1;
		}
		if (rc == -1)
			return -1;
	}
	return o->out != NULL && o->plans != NULL ? 0 : -1;
}

/* Set up the generator's tables. */
static int
gen_setup(struct gen *g)
{
	gen_crc_init(g);
	rng_seed(&g->r, (uint64_t)g->o.seed);
	g->offer_seed = rng_hash(g->o.topic, strlen(g->o.topic), 0);
	strmap_init(&g->standing);
	g->next_off = calloc((size_t)g->o.partitions, sizeof(*g->next_off));
	g->price = calloc((size_t)g->o.products, sizeof(*g->price));
	if (g->next_off == NULL || g->price == NULL)
		fault_oom();
	if ((g->fp = fopen(g->o.out, "w")) == NULL) {
		fault_warnx("cannot write \"%s\"", g->o.out);
		return -1;
	}
	return 0;
}

/* spfault gen: write the input and the plans' product lists. */
int
gen_main(int argc, char **argv)
{
	struct gen *g = calloc(1, sizeof(*g));
	int rc;

	if (g == NULL)
		fault_oom();
	g->o = (struct gen_opts){ .events = 20000, .products = 500,
	    .customers = 5000, .partitions = 16, .poison_every = 0, .seed = 1,
	    .t0 = fault_now_ms(), .span_ms = 30 * 3600000LL,
	    .ttl_ms = 1440 * 60000LL, .holdout = 5,
	    .topic = "smartpromo.events" };
	if (gen_args(argc, argv, &g->o) == -1) {
		gen_usage(stderr);
		free(g);
		return 2;
	}
	if ((rc = gen_setup(g)) == 0 && (rc = gen_plans(g)) == 0) {
		gen_stream(g);
		printf("%" PRId64 "\n", g->good + g->poison);
		fprintf(stderr, "gen: %" PRId64 " messages: %ld catalog, %ld "
		    "views, %ld re-sent views, %ld order lines (%ld naming an "
		    "offer), %ld order updates, %ld campaigns and promotions, %"
		    PRId64 " poison\n", g->good + g->poison, g->n_catalog,
		    g->n_view, g->n_resent, g->n_line, g->n_offer_line,
		    g->n_update, g->n_other, g->poison);
	}
	if (g->fp != NULL && fclose(g->fp) != 0)
		rc = -1;
	fault_free_values(&g->standing);
	free(g->next_off);
	free(g->price);
	free(g);
	return rc == 0 ? 0 : 1;
}
