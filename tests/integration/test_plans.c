/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_plans.c - integration tests of plans, segments, plan rules and
 * conflicts with other promotions (issue 3) against the real smartpromod,
 * redis-server and smartpromo-devbroker (tests/integration/harness.h).
 *
 * One set of processes serves the "plans" group, with the extra
 * configuration PLANS_CONFIG below (a 7-day segment window, a 50 % cap, a
 * 60-day plan maximum).  Each test uses its own shop and product ids.
 * test_segments_real_data replays one week of data/online-retail-daily.csv
 * as events and checks the daemon's segments against a computation written
 * here, independently, over the same CSV rows.  docs/testing.md says what
 * each test proves.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE         /* timegm() */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#define ITEST_EVENT_PREFIX "pl-ev-"
#include "itest.h"

/* Shared helpers of the harness, under this file's short names. */
#define setup_test harness_setup_test
#define teardown_test harness_teardown_test
#define jtext(o) harness_jtext(o)
#define sfield(o, name) harness_sfield((o), (name))
#define fnv1a64(s) harness_fnv1a64(s)
#define in_holdout(c) harness_in_holdout((c), HOLDOUT_PCT)

#define HOLDOUT_PCT 10.0        /* [engine] holdout_pct of the harness */
#define LOAD_MS 240000          /* how long the real-data replay may take */
#define DAY_MS 86400000LL

/* The configuration of the group, and the figures the tests derive from. */
#define CAP_PCT 50              /* [engine] max_discount_pct */
#define MAX_DAYS 60             /* [plans] max_days */
#define WINDOW_DAYS 7           /* [segments] window_days */
#define TREND_MIN_VIEWS 50      /* [segments] trending_min_views */
#define BEST_MIN_ORDERS 10      /* [segments] bestselling_min_orders */
#define CLEAR_MIN_STOCK 25      /* [segments] clearance_min_stock */
#define TOP_PCT 10              /* trending/bestselling_top_pct (default) */
#define NONCOMP_TOP_N 200       /* noncompetitive_top_n (default) */

#define STR_(x) #x
#define STR(x) STR_(x)
#define PLANS_CONFIG \
	"[engine]\nmax_discount_pct = " STR(CAP_PCT) "\n" \
	"[plans]\nmax_days = " STR(MAX_DAYS) "\n" \
	"require_shop_data = yes\n" \
	"[segments]\nwindow_days = " STR(WINDOW_DAYS) "\n" \
	"trending_min_views = " STR(TREND_MIN_VIEWS) "\n" \
	"bestselling_min_orders = " STR(BEST_MIN_ORDERS) "\n" \
	"clearance_min_stock = " STR(CLEAR_MIN_STOCK) "\n" \
	"recompute_minutes = 10080\n"

/* The five computed segments, in a fixed order of bits (this file's). */
#define NSEG 5
enum { S_TRENDING = 1, S_CLEARANCE = 2, S_BEST = 4, S_NONCOMP = 8,
    S_NEWLY = 16 };
static const char *const seg_names[NSEG] = { "trending", "clearance",
    "best_selling", "non_competitive", "newly_listed" };

/* ---- small helpers ---- */

/* An integer field of an object, fails the test when absent. */
static int64_t
ifield(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v))
		fail_msg("field \"%s\" is not an integer in %s", name,
		    jtext(o));
	return json_integer_value(v);
}

/* FNV-1a 32 of a string: the hash data/README.md simulates from. */
static uint32_t
fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* The next customer id "<prefix>-<n>" outside the holdout. */
static void
next_customer(const char *prefix, int *seq, char *buf, size_t len)
{
	do
		snprintf(buf, len, "%s-%d", prefix, (*seq)++);
	while (in_holdout(buf));
}

/* Epoch ms of midnight UTC of a "YYYY-MM-DD" date, by the C library. */
static int64_t
utc_ms(const char *date)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	assert_int_equal(sscanf(date, "%d-%d-%d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday), 3);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000;
}

/* ---- events ---- */

/* A product (catalog) event. */
static json_t *
product_event(const char *shop, const char *product, int64_t price,
    int64_t stock, int64_t listed_at, int64_t ts)
{
	json_t *ev = event_new("product", shop, product, ts);

	json_object_set_new(ev, "price", json_integer(price));
	json_object_set_new(ev, "stock", json_integer(stock));
	json_object_set_new(ev, "listed_at", json_integer(listed_at));
	return ev;
}

/* An order line paid at the list price. */
static json_t *
order_event(const char *shop, const char *product, const char *order_id,
    const char *customer, int64_t qty, int64_t price, int64_t ts)
{
	json_t *ev = event_new("order", shop, product, ts);

	json_object_set_new(ev, "order_id", json_string(order_id));
	json_object_set_new(ev, "customer_id", json_string(customer));
	json_object_set_new(ev, "qty", json_integer(qty));
	json_object_set_new(ev, "unit_price", json_integer(price));
	json_object_set_new(ev, "paid_unit_price", json_integer(price));
	return ev;
}

/* A shop event; orders_90d < 0 leaves the field out. */
static json_t *
shop_event(const char *shop, double sps, int64_t orders_90d, int64_t ts)
{
	json_t *ev = event_new("shop", shop, NULL, ts);

	json_object_set_new(ev, "sps", json_real(sps));
	if (orders_90d >= 0)
		json_object_set_new(ev, "orders_90d",
		    json_integer(orders_90d));
	return ev;
}

/* A seller_promotion (a flash sale) or campaign event over [start, end). */
static json_t *
window_event(const char *type, const char *shop, const char *product,
    const char *id, int64_t value, int64_t start, int64_t end, int64_t ts)
{
	json_t *ev = event_new(type, shop, product, ts);
	int seller = strcmp(type, "seller_promotion") == 0;

	json_object_set_new(ev, seller ? "promotion_id" : "campaign_id",
	    json_string(id));
	if (seller) {
		json_object_set_new(ev, "tool", json_string("flash_sale"));
		json_object_set_new(ev, "discount_bps", json_integer(value));
	} else
		json_object_set_new(ev, "campaign_price", json_integer(value));
	json_object_set_new(ev, "start", json_integer(start));
	json_object_set_new(ev, "end", json_integer(end));
	return ev;
}

/* Queue an event under key and drop the reference. */
static void
send_event(struct harness *h, const char *key, json_t *ev)
{
	assert_non_null(ev);
	H_OK(h, harness_send_event(h, key, ev));
	json_decref(ev);
}

/* ---- Redis and admin API ---- */

/* Poll HGET key field until it equals want (NULL: absent or ""). */
static void
wait_hash_str(struct harness *h, const char *key, const char *field,
    const char *want)
{
	int64_t deadline = harness_now_ms() + WAIT_MS;
	char *v = NULL;
	int ok;

	for (;;) {
		H_OK(h, harness_hget(h, key, field, &v));
		ok = want == NULL ? v == NULL || v[0] == '\0' :
		    v != NULL && strcmp(v, want) == 0;
		if (ok || harness_now_ms() > deadline)
			break;
		free(v);
		harness_sleep_ms(50);
	}
	if (!ok)
		fail_msg("%s %s is \"%s\" after %d ms, want \"%s\"", key, field,
		    v != NULL ? v : "(absent)", WAIT_MS, want ? want : "");
	free(v);
}

/* The members of a Redis set as a JSON array (new reference). */
static json_t *
smembers(struct harness *h, const char *key)
{
	redisReply *r = redisCommand(h->rc, "SMEMBERS %s", key);
	json_t *a = json_array();

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		fail_msg("SMEMBERS %s failed", key);
	for (size_t i = 0; i < r->elements; i++)
		json_array_append_new(a, json_string(r->element[i]->str));
	freeReplyObject(r);
	return a;
}

/* Nonzero if the JSON array of strings holds id. */
static int
has_id(json_t *arr, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
			return 1;
	return 0;
}

/* Fail unless arr holds exactly the n ids (in any order). */
static void
expect_ids(json_t *arr, const char *const *ids, size_t n, const char *what)
{
	int ok = json_is_array(arr) && json_array_size(arr) == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = has_id(arr, ids[i]);
	if (!ok)
		fail_msg("%s: got %s, want %zu ids starting \"%s\"", what,
		    jtext(arr), n, n > 0 ? ids[0] : "");
}

/* An admin call that must answer want; the body (new reference). */
static json_t *
http_expect(struct harness *h, const char *method, const char *path,
    const char *body, int want)
{
	json_t *out = NULL;
	int status;

	H_OK(h, harness_http(h, method, path, body, &status, &out));
	if (status != want)
		fail_msg("%s %s %s: status %d, want %d, body %s", method, path,
		    body != NULL ? body : "", status, want, jtext(out));
	return out;
}

/* POST /v1/plans with body (stolen); want the status; the response. */
static json_t *
post_plan(struct harness *h, json_t *body, int want)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *out;

	json_decref(body);
	assert_non_null(text);
	out = http_expect(h, "POST", "/v1/plans", text, want);
	if (want == 201)
		print_message("plan %s: %s\n", sfield(out, "plan_id"), text);
	free(text);
	return out;
}

/* POST /v1/plans that must fail with status and an error holding msg. */
static void
plan_refused(struct harness *h, json_t *body, int status, const char *msg,
    int exact)
{
	json_t *out = post_plan(h, body, status);
	const char *err = sfield(out, "error");

	print_message("  %d {\"error\": \"%s\"}\n", status, err);
	if (exact ? strcmp(err, msg) != 0 : strstr(err, msg) == NULL)
		fail_msg("error \"%s\", want %s \"%s\"", err, exact ?
		    "exactly" : "a message holding", msg);
	json_decref(out);
}

/* A custom plan body (new reference). */
static json_t *
custom_body(const char *shop, const char *const *products, size_t n,
    double min_pct, double max_pct)
{
	json_t *list = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(products[i]));
	return json_pack("{s:s, s:s, s:o, s:f, s:f}", "name", shop,
	    "shop_id", shop, "products", list, "discount_min_pct", min_pct,
	    "discount_max_pct", max_pct);
}

/* A segment plan body for one segment (new reference). */
static json_t *
segment_body(const char *shop, const char *segment, double min_pct,
    double max_pct)
{
	return json_pack("{s:s, s:s, s:[s], s:f, s:f}", "name", shop,
	    "shop_id", shop, "segments", segment, "discount_min_pct",
	    min_pct, "discount_max_pct", max_pct);
}

/* GET /v1/plans/{id} (new reference). */
static json_t *
get_plan(struct harness *h, const char *id)
{
	char path[128];

	snprintf(path, sizeof(path), "/v1/plans/%s", id);
	return http_expect(h, "GET", path, NULL, 200);
}

/* POST /v1/segments/recompute?shop=S; the shop's figures (new ref). */
static json_t *
recompute(struct harness *h, const char *shop)
{
	char path[256];
	json_t *out, *fig;

	snprintf(path, sizeof(path), "/v1/segments/recompute?shop=%s", shop);
	out = http_expect(h, "POST", path, NULL, 200);
	fig = json_incref(json_object_get(json_object_get(out, "shops"),
	    shop));
	if (!json_is_object(fig))
		fail_msg("recompute of \"%s\": %s", shop, jtext(out));
	print_message("recompute %s: %s\n", shop, jtext(fig));
	json_decref(out);
	return fig;
}

/* One segment's figure ("size", "entered", "enrolled") of a recompute. */
static int64_t
seg_figure(json_t *fig, const char *segment, const char *name)
{
	return ifield(json_object_get(fig, segment), name);
}

/* GET /v1/segments/{shop}: the "segments" object (new reference). */
static json_t *
get_segments(struct harness *h, const char *shop)
{
	char path[256];
	json_t *out, *segs;

	snprintf(path, sizeof(path), "/v1/segments/%s", shop);
	out = http_expect(h, "GET", path, NULL, 200);
	assert_string_equal(sfield(out, "shop_id"), shop);
	segs = json_incref(json_object_get(out, "segments"));
	json_decref(out);
	assert_true(json_is_object(segs));
	return segs;
}

/* Send a shop event and wait until the daemon stored its figures. */
static void
shop_figures(struct harness *h, const char *shop, double sps,
    int64_t orders_90d, int64_t ts)
{
	char key[256];
	long long got;

	send_event(h, shop, shop_event(shop, sps, orders_90d, ts));
	H_OK(h, harness_flush(h));
	snprintf(key, sizeof(key), "sp:shop:%s", shop);
	H_OK(h, harness_wait_hash_ge(h, key, "ts", ts, WAIT_MS, &got));
}

/* Send catalog rows (stock, listed_at) and wait until each is stored. */
static void
catalog(struct harness *h, const char *shop, const char *const *products,
    size_t n, int64_t price, int64_t stock, int64_t listed_at, int64_t ts)
{
	char key[256];

	for (size_t i = 0; i < n; i++)
		send_event(h, products[i], product_event(shop, products[i],
		    price + 100 * (int64_t)i, stock, listed_at, ts));
	H_OK(h, harness_flush(h));
	for (size_t i = 0; i < n; i++) {
		pkey(key, sizeof(key), products[i], "product");
		wait_hash_str(h, key, "known", "1");
	}
}

/* ---- Kafka output ---- */

/* Keep the offers-topic messages of one product (arg), any type. */
static int
match_product(json_t *v, void *arg)
{
	return strcmp(sfield(v, "product_id"), arg) == 0;
}

/* Read a product's messages on the offers topic (want: see harness). */
static json_t *
product_msgs(struct harness *h, const char *product, int want, int idle_ms)
{
	json_t *out;

	H_OK(h, harness_consume(h, HARNESS_TOPIC_OFFERS, match_product,
	    (void *)product, want, idle_ms, &out));
	return out;
}

/* The value of message i of a consumed list. */
static json_t *
msg_value(json_t *msgs, size_t i)
{
	return json_object_get(json_array_get(msgs, i), "value");
}

/* How many messages of a type a list holds (customer: NULL for any). */
static int
count_type(json_t *msgs, const char *type, const char *customer)
{
	int n = 0;

	for (size_t i = 0; i < json_array_size(msgs); i++) {
		json_t *v = msg_value(msgs, i);

		n += strcmp(sfield(v, "type"), type) == 0 &&
		    (customer == NULL ||
		    strcmp(sfield(v, "customer_id"), customer) == 0);
	}
	return n;
}

/* Wait until a product has n messages on the offers topic; the list. */
static json_t *
wait_msgs(struct harness *h, const char *product, int n)
{
	json_t *msgs = product_msgs(h, product, n, WAIT_MS);

	if ((int)json_array_size(msgs) < n)
		fail_msg("%zu messages for \"%s\" within %d ms, want %d: %s",
		    json_array_size(msgs), product, WAIT_MS, n, jtext(msgs));
	return msgs;
}

/* Check an offer: plan, product, list price, discount inside the range. */
static void
check_offer(json_t *o, const char *plan_id, const char *product,
    int64_t list, int32_t min_bps, int32_t max_bps)
{
	int64_t offer = ifield(o, "offer_price");
	int64_t bps = ifield(o, "discount_bps");
	int64_t paid = 10000 * (list - offer);

	if (strcmp(sfield(o, "type"), "offer") != 0 ||
	    strcmp(sfield(o, "plan_id"), plan_id) != 0 ||
	    strcmp(sfield(o, "product_id"), product) != 0 ||
	    ifield(o, "list_price") != list || offer < 0 || offer > list ||
	    bps < min_bps || bps > max_bps ||
	    paid < (int64_t)min_bps * list || paid > (int64_t)max_bps * list)
		fail_msg("want an offer of plan %s for %s at list %lld within "
		    "%d-%d bps: %s", plan_id, product, (long long)list,
		    min_bps, max_bps, jtext(o));
}

/* Send one view per customer (non-holdout) of a product at ts + i. */
static void
send_views(struct harness *h, const char *shop, const char *product,
    const char *prefix, int n, int64_t ts)
{
	char cust[64];
	int seq = 0;

	for (int i = 0; i < n; i++) {
		next_customer(prefix, &seq, cust, sizeof(cust));
		send_event(h, product, view_event(shop, product, cust, ts + i));
	}
	H_OK(h, harness_flush(h));
}

/* ---- test 1: segments replayed from real data ---- */

#define RD_SHOP "uk-gifts"
#define RD_TODAY "2011-12-01"   /* the evaluation day D */
#define RD_NOON (12 * 3600000LL)        /* the shop event: D 12:00 UTC */

/* One row of data/online-retail-daily.csv. */
struct row {
	char id[40];
	char date[11];
	int64_t units, lines, revenue;
};

/* The rows, and the products as runs of consecutive rows. */
struct sample {
	struct row *rows;
	size_t nrows, cap;
	size_t *start;          /* first row of product k; [nprod] = nrows */
	size_t nprod;
};

/* Append one parsed line to the sample; fails the test if malformed. */
static void
sample_add(struct sample *s, const char *line)
{
	struct row r;
	char tail;

	memset(&r, 0, sizeof(r));
	if (sscanf(line, "%39[^,],%10[^,],%" SCNd64 ",%" SCNd64 ",%" SCNd64
	    "%c", r.id, r.date, &r.units, &r.lines, &r.revenue, &tail) != 6 ||
	    tail != '\n' || r.lines < 1 || r.units < r.lines)
		fail_msg("malformed sample line \"%s\"", line);
	if (s->nrows == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->rows = realloc(s->rows, s->cap * sizeof(*s->rows));
		assert_non_null(s->rows);
	}
	s->rows[s->nrows++] = r;
}

/* Read the daily file (sorted by product, then date) into s. */
static void
sample_load(struct sample *s)
{
	char line[256];
	FILE *f = fopen(SP_DAILY_CSV, "r");

	memset(s, 0, sizeof(*s));
	if (f == NULL)
		fail_msg("cannot open \"%s\"", SP_DAILY_CSV);
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, "product_id,date,units,order_lines,revenue\n") != 0)
		fail_msg("\"%s\" lacks the expected header", SP_DAILY_CSV);
	while (fgets(line, sizeof(line), f) != NULL)
		sample_add(s, line);
	fclose(f);
	s->start = calloc(s->nrows + 1, sizeof(*s->start));
	assert_non_null(s->start);
	for (size_t i = 0; i < s->nrows; i++)
		if (i == 0 || strcmp(s->rows[i].id, s->rows[i - 1].id) != 0)
			s->start[s->nprod++] = i;
	s->start[s->nprod] = s->nrows;
}

/* The simulated figures (data/README.md): stock and views of a row. */
static int64_t
rd_stock(const char *id)
{
	return (fnv1a32(id) >> 8) % 100;
}

/*
 * Views sent for a row: its order lines plus (h mod 3), h the FNV-1a hash
 * of the product id.  Smaller than data/README.md's lines x (5 + h mod 46)
 * to keep the replay short; still every product with a sale is seen.
 */
static int64_t
rd_views(const struct row *r)
{
	return r->lines + fnv1a32(r->id) % 3;
}

/* Unit price of a row: revenue / units, rounded half up, at least 1. */
static int64_t
rd_price(const struct row *r)
{
	int64_t p = (2 * r->revenue + r->units) / (2 * r->units);

	return p > 0 ? p : 1;
}

/* Units of order line i of a row: the units spread over its lines. */
static int64_t
rd_qty(const struct row *r, int64_t i)
{
	return r->units / r->lines + (i < r->units % r->lines);
}

/* The dates sent, the window, and "now", all derived from RD_TODAY. */
struct rd_days {
	char first[11];         /* D - window - 1: one day before the window */
	char lo[11], hi[11];    /* the window, D - window .. D - 1 */
	int64_t now;            /* D 12:00 UTC */
};

/* Fill the dates of the replay. */
static void
rd_days_init(struct rd_days *d)
{
	int64_t day0 = utc_ms(RD_TODAY);

	harness_date(day0 - (WINDOW_DAYS + 1) * DAY_MS, d->first,
	    sizeof(d->first));
	harness_date(day0 - WINDOW_DAYS * DAY_MS, d->lo, sizeof(d->lo));
	harness_date(day0 - DAY_MS, d->hi, sizeof(d->hi));
	d->now = day0 + RD_NOON;
}

/* Nonzero if a row's date is sent: D - window - 1 .. D. */
static int
rd_sent(const struct rd_days *d, const struct row *r)
{
	return strcmp(r->date, d->first) >= 0 && strcmp(r->date, RD_TODAY) <= 0;
}

/* The views and order lines of one row, as events. */
static int
rd_send_row(struct harness *h, const struct row *r)
{
	int64_t day = utc_ms(r->date), n = rd_views(r);
	char cust[32], order[96];

	for (int64_t j = 0; j < n; j++) {
		snprintf(cust, sizeof(cust), "rd-v%" PRId64, j);
		send_event(h, r->id, view_event(RD_SHOP, r->id, cust,
		    day + 9 * 3600000LL + j * 1000));
	}
	for (int64_t i = 0; i < r->lines; i++) {
		snprintf(cust, sizeof(cust), "rd-c%" PRId64, i % 50);
		snprintf(order, sizeof(order), "rd-%s-%s-%" PRId64, r->id,
		    r->date, i);
		send_event(h, r->id, order_event(RD_SHOP, r->id, order, cust,
		    rd_qty(r, i), rd_price(r), day + 10 * 3600000LL +
		    i * 1000));
	}
	return (int)(n + r->lines);
}

/*
 * The shop as events: each product listed by D (its catalog row: listed
 * at midnight UTC of its first row, price of that row, simulated stock),
 * the views and order lines of the rows of D - window - 1 .. D, and a shop
 * event at D 12:00, the latest event of the shop.  The event count.
 */
static int
rd_send(struct harness *h, const struct sample *s, const struct rd_days *d)
{
	int n = 0;

	for (size_t k = 0; k < s->nprod; k++) {
		const struct row *first = &s->rows[s->start[k]];
		int64_t listed = utc_ms(first->date);

		if (strcmp(first->date, RD_TODAY) > 0)
			continue;
		send_event(h, first->id, product_event(RD_SHOP, first->id,
		    rd_price(first), rd_stock(first->id), listed, listed));
		n++;
		for (size_t i = s->start[k]; i < s->start[k + 1]; i++)
			if (rd_sent(d, &s->rows[i]))
				n += rd_send_row(h, &s->rows[i]);
	}
	send_event(h, RD_SHOP, shop_event(RD_SHOP, 4.6, 5000, d->now));
	H_OK(h, harness_flush(h));
	return n + 1;
}

/* Poll one day hash until pv, ord, units, gmv equal want[]. */
static void
rd_wait_day(struct harness *h, const struct row *r, int64_t deadline)
{
	static const char *const f[4] = { "pv", "ord", "units", "gmv" };
	const long long want[4] = { rd_views(r), r->lines, r->units,
	    r->units * rd_price(r) };
	long long got[4];
	char key[128];
	int i;

	snprintf(key, sizeof(key), "sp:{%s}:day:%s", r->id, r->date);
	for (;;) {
		for (i = 0; i < 4; i++)
			H_OK(h, harness_hget_ll(h, key, f[i], &got[i]));
		for (i = 0; i < 4 && got[i] == want[i]; i++)
			;
		if (i == 4)
			return;
		if (got[i] > want[i] || harness_now_ms() > deadline)
			fail_msg("%s %s is %lld, want %lld", key, f[i], got[i],
			    want[i]);
		harness_sleep_ms(100);
	}
}

/* Wait until every sent row is counted exactly, and the shop's figures. */
static void
rd_wait(struct harness *h, const struct sample *s, const struct rd_days *d)
{
	int64_t deadline = harness_now_ms() + LOAD_MS;
	long long got;

	for (size_t i = 0; i < s->nrows; i++)
		if (rd_sent(d, &s->rows[i]))
			rd_wait_day(h, &s->rows[i], deadline);
	H_OK(h, harness_wait_hash_ge(h, "sp:shop:" RD_SHOP, "ts", d->now,
	    WAIT_MS, &got));
}

/* Independent figures of one product. */
struct rd_prod {
	const char *id;
	int64_t listed_at, stock;
	int64_t views, orders, gmv;     /* over the window */
	unsigned mask;
};

/* 1 + how many products have strictly more of the field at off. */
static size_t
rd_rank(const struct rd_prod *x, size_t n, size_t k, size_t off)
{
	int64_t v, w;
	size_t r = 1;

	memcpy(&v, (const char *)&x[k] + off, sizeof(v));
	for (size_t i = 0; i < n; i++) {
		memcpy(&w, (const char *)&x[i] + off, sizeof(w));
		r += w > v;
	}
	return r;
}

/* Window sums of the products listed by D, straight from the rows. */
static size_t
rd_products(const struct sample *s, const struct rd_days *d,
    struct rd_prod *x)
{
	size_t n = 0;

	for (size_t k = 0; k < s->nprod; k++) {
		const struct row *first = &s->rows[s->start[k]];

		if (strcmp(first->date, RD_TODAY) > 0)
			continue;
		memset(&x[n], 0, sizeof(x[n]));
		x[n].id = first->id;
		x[n].listed_at = utc_ms(first->date);
		x[n].stock = rd_stock(first->id);
		for (size_t i = s->start[k]; i < s->start[k + 1]; i++) {
			const struct row *r = &s->rows[i];

			if (strcmp(r->date, d->lo) < 0 ||
			    strcmp(r->date, d->hi) > 0)
				continue;
			x[n].views += rd_views(r);
			x[n].orders += r->lines;
			x[n].gmv += r->units * rd_price(r);
		}
		n++;
	}
	return n;
}

/* The four basic segments, written out from docs/plans.md. */
static void
rd_basic(struct rd_prod *x, size_t n, int64_t now)
{
	size_t top = (n * TOP_PCT + 99) / 100;
	int64_t cut = now - WINDOW_DAYS * DAY_MS;

	for (size_t k = 0; k < n; k++) {
		if (x[k].views >= TREND_MIN_VIEWS && rd_rank(x, n, k,
		    offsetof(struct rd_prod, views)) <= top)
			x[k].mask |= S_TRENDING;
		if (x[k].orders >= BEST_MIN_ORDERS && rd_rank(x, n, k,
		    offsetof(struct rd_prod, orders)) <= top)
			x[k].mask |= S_BEST;
		if (x[k].listed_at >= cut)
			x[k].mask |= S_NEWLY;
		if (x[k].listed_at < cut && x[k].orders == 0 &&
		    x[k].stock >= CLEAR_MIN_STOCK)
			x[k].mask |= S_CLEARANCE;
	}
}

/* Non-competitive: top N by rank(GMV) + rank(views), in no other. */
static void
rd_noncompetitive(struct rd_prod *x, size_t n)
{
	size_t *sum = calloc(n + 1, sizeof(*sum)), r;

	assert_non_null(sum);
	for (size_t k = 0; k < n; k++)
		sum[k] = rd_rank(x, n, k, offsetof(struct rd_prod, gmv)) +
		    rd_rank(x, n, k, offsetof(struct rd_prod, views));
	for (size_t k = 0; k < n; k++) {
		if (x[k].gmv <= 0 || x[k].views <= 0 || x[k].mask != 0)
			continue;
		r = 1;
		for (size_t i = 0; i < n; i++)
			r += x[i].gmv > 0 && x[i].views > 0 && sum[i] < sum[k];
		if (r <= NONCOMP_TOP_N)
			x[k].mask |= S_NONCOMP;
	}
	free(sum);
}

/* Compare one segment: the API list, the Redis set, the expectation. */
static size_t
rd_compare(struct harness *h, json_t *segs, int s, const struct rd_prod *x,
    size_t n)
{
	json_t *api = json_object_get(segs, seg_names[s]);
	json_t *set;
	char key[128];
	size_t want = 0;

	snprintf(key, sizeof(key), "sp:segment:" RD_SHOP ":%s", seg_names[s]);
	set = smembers(h, key);
	for (size_t k = 0; k < n; k++) {
		int in = (x[k].mask & (1u << s)) != 0;

		want += in;
		if (has_id(api, x[k].id) != in || has_id(set, x[k].id) != in)
			fail_msg("%s: product %s (views %lld, orders %lld, "
			    "gmv %lld, stock %lld, listed %lld): expected %s, "
			    "API %s, Redis %s", seg_names[s], x[k].id,
			    (long long)x[k].views, (long long)x[k].orders,
			    (long long)x[k].gmv, (long long)x[k].stock,
			    (long long)x[k].listed_at, in ? "in" : "out",
			    has_id(api, x[k].id) ? "in" : "out",
			    has_id(set, x[k].id) ? "in" : "out");
	}
	assert_int_equal(json_array_size(api), want);
	assert_int_equal(json_array_size(set), want);
	json_decref(set);
	return want;
}

/* Print how the minimum counts and ties shaped the two ranked segments. */
static void
rd_report_ranks(const struct rd_prod *x, size_t n)
{
	size_t top = (n * TOP_PCT + 99) / 100, vtop = 0, otop = 0;

	for (size_t k = 0; k < n; k++) {
		vtop += rd_rank(x, n, k, offsetof(struct rd_prod, views)) <=
		    top;
		otop += rd_rank(x, n, k, offsetof(struct rd_prod, orders)) <=
		    top;
	}
	print_message("%zu known products: top %d%% = %zu ranks; %zu "
	    "products rank in it by views (min %d views applies), %zu by "
	    "order lines (min %d)\n", n, TOP_PCT, top, vtop, TREND_MIN_VIEWS,
	    otop, BEST_MIN_ORDERS);
}

/* The expectation, the daemon's answer, their comparison; x is kept. */
static struct rd_prod *
rd_check(struct harness *h, const struct sample *s, const struct rd_days *d,
    size_t *np)
{
	struct rd_prod *x = calloc(s->nprod + 1, sizeof(*x));
	size_t n, size[NSEG];
	json_t *fig, *segs;

	assert_non_null(x);
	*np = n = rd_products(s, d, x);
	rd_basic(x, n, d->now);
	rd_noncompetitive(x, n);
	fig = recompute(h, RD_SHOP);
	assert_int_equal(ifield(fig, "products"), n);
	segs = get_segments(h, RD_SHOP);
	rd_report_ranks(x, n);
	for (int i = 0; i < NSEG; i++) {
		size[i] = rd_compare(h, segs, i, x, n);
		assert_int_equal(seg_figure(fig, seg_names[i], "size"),
		    size[i]);
		assert_true(size[i] > 0);
	}
	print_message("segments of %s at %s 12:00 UTC, window %s..%s: "
	    "trending %zu, clearance %zu, best_selling %zu, non_competitive "
	    "%zu, newly_listed %zu (API, Redis and independent agree)\n",
	    RD_SHOP, RD_TODAY, d->lo, d->hi, size[0], size[1], size[2],
	    size[3], size[4]);
	json_decref(segs);
	json_decref(fig);
	return x;
}

/* A segment plan of the real shop takes its Clearance and Newly listed. */
static void
rd_plan(struct harness *h, const struct rd_prod *x, size_t n)
{
	json_t *b = segment_body(RD_SHOP, "clearance", 10, 40), *plan, *got;
	size_t want = 0;

	/* eligible; at midnight of D, so the shop's latest time stays put */
	shop_figures(h, RD_SHOP, 4.6, 1200, utc_ms(RD_TODAY));
	json_array_append_new(json_object_get(b, "segments"),
	    json_string("newly_listed"));
	plan = post_plan(h, b, 201);
	got = json_object_get(plan, "products");
	for (size_t k = 0; k < n; k++) {
		int in = (x[k].mask & (S_CLEARANCE | S_NEWLY)) != 0;

		want += in;
		if (has_id(got, x[k].id) != in)
			fail_msg("plan products: %s is %s, want %s", x[k].id,
			    in ? "missing" : "there", in ? "in" : "out");
	}
	print_message("segment plan %s over clearance + newly_listed: %zu "
	    "products, as computed\n", sfield(plan, "plan_id"),
	    json_array_size(got));
	assert_int_equal(json_array_size(got), want);
	json_decref(plan);
}

/* One week of real data as events: segments as computed independently. */
static void
test_segments_real_data(void **state)
{
	struct harness *h = *state;
	struct sample s;
	struct rd_days d;
	struct rd_prod *x;
	int64_t t0 = harness_now_ms(), t1;
	json_t *again;
	size_t nx;
	int n;

	sample_load(&s);
	rd_days_init(&d);
	n = rd_send(h, &s, &d);
	t1 = harness_now_ms();
	print_message("sent %d events for %s in %lld ms (%zu CSV rows; the "
	    "rows of %s..%s)\n", n, RD_SHOP, (long long)(t1 - t0), s.nrows,
	    d.first, RD_TODAY);
	assert_true(n < 30000);
	rd_wait(h, &s, &d);
	print_message("every day counter (pv, ord, units, gmv) matches the "
	    "CSV %lld ms later\n", (long long)(harness_now_ms() - t1));
	x = rd_check(h, &s, &d, &nx);
	again = recompute(h, RD_SHOP);
	for (int i = 0; i < NSEG; i++) {
		assert_int_equal(seg_figure(again, seg_names[i], "entered"), 0);
		assert_int_equal(seg_figure(again, seg_names[i], "left"), 0);
	}
	json_decref(again);
	rd_plan(h, x, nx);
	free(x);
	free(s.rows);
	free(s.start);
	harness_pass(h);
}

/* ---- test 2: validation (422) ---- */

/* A valid custom plan body with one member changed (v stolen). */
static json_t *
body_with(const char *field, json_t *v)
{
	static const char *const p[] = { "v-p0" };
	json_t *b = custom_body("v-shop", p, 1, 10, 30);

	if (v == NULL)
		json_object_del(b, field);
	else
		json_object_set_new(b, field, v);
	return b;
}

/* A valid custom plan body with both percentages changed. */
static json_t *
body_pct(double min_pct, double max_pct)
{
	json_t *b = body_with("discount_min_pct", json_real(min_pct));

	json_object_set_new(b, "discount_max_pct", json_real(max_pct));
	return b;
}

/* Every validation rule of POST /v1/plans answers 422 with its message. */
static void
test_plan_validation(void **state)
{
	struct harness *h = *state;
	static const char *const ok0[] = { "v-ok-p0" }, *const ok1[] = {
	    "v-ok-p1" }, *const ok2[] = { "v-ok-p2" };
	json_t *b, *plan;

	print_message("validation of POST /v1/plans:\n");
	shop_figures(h, "v-ok", 4.0, 100, harness_now_ms());
	plan_refused(h, body_with("days", json_integer(6)), 422,
	    "field \"days\" must be an integer from 7 to 365", 1);
	plan_refused(h, body_with("days", json_integer(MAX_DAYS + 1)), 422,
	    "field \"days\" must be at most " STR(MAX_DAYS) " (the configured "
	    "maximum)", 1);
	plan_refused(h, body_with("days", json_integer(366)), 422,
	    "field \"days\" must be an integer from 7 to 365", 1);
	plan_refused(h, body_pct(0, 30), 422,
	    "field \"discount_min_pct\" must be greater than 0", 1);
	plan_refused(h, body_pct(-5, 30), 422,
	    "field \"discount_min_pct\" must be greater than 0", 1);
	plan_refused(h, body_pct(20, 10), 422,
	    "\"discount_min_pct\" must not exceed \"discount_max_pct\"", 1);
	plan_refused(h, body_pct(10, CAP_PCT + 1), 422,
	    "\"discount_max_pct\" must be at most " STR(CAP_PCT) " (the "
	    "configured cap)", 1);
	plan_refused(h, body_with("product_ranges", json_pack("{s:[i,i]}",
	    "v-p0", 0, 10)), 422, "product range for \"v-p0\" must be greater "
	    "than 0", 1);
	plan_refused(h, body_with("product_ranges", json_pack("{s:[i,i]}",
	    "v-p0", 20, 10)), 422, "product range for \"v-p0\" has min above "
	    "max", 1);
	plan_refused(h, body_with("product_ranges", json_pack("{s:[i,i]}",
	    "v-p0", 10, CAP_PCT + 10)), 422, "product range for \"v-p0\" must "
	    "be at most " STR(CAP_PCT) " (the configured cap)", 1);
	b = body_with("products", NULL);
	json_object_set_new(b, "segments", json_pack("[s]", "hot"));
	plan_refused(h, b, 422, "unknown segment \"hot\"", 1);
	b = body_with("products", NULL);
	json_object_set_new(b, "segments", json_array());
	plan_refused(h, b, 422, "\"segments\" must hold 1 to 5 segment names",
	    1);
	plan_refused(h, body_with("segments", json_pack("[s]", "trending")),
	    422, "give either \"products\" or \"segments\"", 1);
	/* Plans start on publish: a start 10 minutes ago is refused, one a
	 * minute ago (inside the 5-minute tolerance) is taken. */
	plan_refused(h, body_with("start", json_integer(harness_now_ms() -
	    600000)), 422, "field \"start\" must not be in the past (plans "
	    "start on publish; at most 5 minutes before now)", 1);
	b = custom_body("v-ok", ok2, 1, 10, 20);
	json_object_set_new(b, "start", json_integer(harness_now_ms() - 60000));
	json_decref(post_plan(h, b, 201));
	/* The edges are allowed: min = max = cap, days = max_days and 7. */
	b = custom_body("v-ok", ok0, 1, CAP_PCT, CAP_PCT);
	json_object_set_new(b, "days", json_integer(MAX_DAYS));
	plan = post_plan(h, b, 201);
	assert_int_equal(ifield(plan, "days"), MAX_DAYS);
	assert_int_equal(ifield(plan, "end") - ifield(plan, "start"),
	    MAX_DAYS * DAY_MS);
	json_decref(plan);
	b = custom_body("v-ok", ok1, 1, 0.01, 0.01);
	json_object_set_new(b, "days", json_integer(7));
	json_decref(post_plan(h, b, 201));
	harness_pass(h);
}

/* ---- test 2b: plan preview (dry run) ---- */

#define PV_SHOP "pv-shop"
#define PV_VIEWS 40

/* A preview that must answer 409 with exactly msg. */
static void
pv_refused(struct harness *h, json_t *body, const char *msg)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *out;

	json_decref(body);
	assert_non_null(text);
	out = http_expect(h, "POST", "/v1/plans?dry_run=1", text, 409);
	print_message("  preview: 409 %s\n", jtext(out));
	assert_string_equal(sfield(out, "error"), msg);
	json_decref(out);
	free(text);
}

/* A preview answers the 409s of a create, with the same messages. */
static void
pv_conflicts(struct harness *h, const char *pid)
{
	static const char *const taken[] = { "pv-p9", "pv-p1" };
	char msg[256];
	json_t *seg;

	snprintf(msg, sizeof(msg), "product \"pv-p1\" is already in active "
	    "plan \"%s\"", pid);
	pv_refused(h, custom_body(PV_SHOP, taken, 2, 5, 30), msg);
	seg = post_plan(h, segment_body(PV_SHOP, "clearance", 5, 10), 201);
	snprintf(msg, sizeof(msg), "shop \"" PV_SHOP "\" already has active "
	    "plan \"%s\" for segment \"clearance\"", sfield(seg, "plan_id"));
	pv_refused(h, segment_body(PV_SHOP, "clearance", 5, 10), msg);
	json_decref(seg);
}

/*
 * POST /v1/plans?dry_run=1 answers with the plan as it would be, each
 * product's range and suggestion, and the potential GMV increase computed
 * as its assumptions say; it creates nothing, still enforces the rules,
 * and a plan for the same products can then be created.
 */
static void
test_plan_preview(void **state)
{
	struct harness *h = *state;
	static const char *const p[] = { "pv-p0", "pv-p1" };
	int64_t now = harness_now_ms(), yday = now - DAY_MS;
	json_t *b, *out, *prods, *p0, *p1, *sg, *ex, *pr, *list;
	double gain, best;
	char *text;

	shop_figures(h, PV_SHOP, 4.2, 80, now);
	catalog(h, PV_SHOP, p, 1, 2000, 100, now - 90 * DAY_MS, now);
	send_views(h, PV_SHOP, "pv-p0", "pv-c", PV_VIEWS, yday);
	wait_day_counter(h, "pv-p0", yday, "pv", PV_VIEWS);
	b = custom_body(PV_SHOP, p, 2, 5, 30);
	json_object_set_new(b, "days", json_integer(21));
	text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	out = http_expect(h, "POST", "/v1/plans?dry_run=1", text, 200);
	print_message("preview: %s\n", jtext(out));
	assert_true(json_is_true(json_object_get(out, "dry_run")));
	assert_string_equal(sfield(json_object_get(out, "plan"), "shop_id"),
	    PV_SHOP);
	assert_int_equal(ifield(json_object_get(out, "plan"), "days"), 21);
	prods = json_object_get(out, "products");
	assert_int_equal(json_array_size(prods), 2);
	p0 = json_array_get(prods, 0);
	p1 = json_array_get(prods, 1);
	assert_string_equal(sfield(p0, "product_id"), "pv-p0");
	assert_string_equal(sfield(p1, "product_id"), "pv-p1");
	pr = json_object_get(p0, "plan_range");
	assert_true(json_number_value(json_array_get(pr, 0)) == 5.0 &&
	    json_number_value(json_array_get(pr, 1)) == 30.0);
	/* pv-p0 has a price and views: a suggestion inside the cap. */
	sg = json_object_get(p0, "suggested");
	assert_true(json_is_object(sg));
	best = json_number_value(json_object_get(sg, "best_pct"));
	assert_true(json_number_value(json_object_get(sg, "discount_min_pct"))
	    > 0);
	assert_true(json_number_value(json_object_get(sg, "discount_min_pct"))
	    <= best);
	assert_true(best <= json_number_value(json_object_get(sg,
	    "discount_max_pct")));
	assert_true(json_number_value(json_object_get(sg, "discount_max_pct"))
	    <= CAP_PCT);
	assert_int_equal(ifield(p0, "window_views"), PV_VIEWS);
	assert_true(sfield(p0, "lift_from")[0] != '\0');
	/* pv-p1 has no catalog row: no suggestion, and why. */
	assert_true(json_is_null(json_object_get(p1, "suggested")));
	assert_non_null(strstr(sfield(p1, "why"), "no catalog row"));
	/* The estimate is what the assumptions say: views per day times
	 * the plan's days times the extra GMV per view. */
	ex = json_object_get(p0, "expected");
	gain = json_number_value(json_object_get(ex,
	    "extra_gmv_per_1000_views")) / 1000.0 * PV_VIEWS / 30.0 * 21;
	assert_true(llabs(ifield(out, "potential_gmv_increase") -
	    (int64_t)llround(gain)) <= 1);
	assert_non_null(strstr(sfield(out, "assumptions"), "30 days"));
	json_decref(out);
	/* Nothing was created. */
	out = http_expect(h, "GET", "/v1/plans", NULL, 200);
	list = json_object_get(out, "plans");
	for (size_t i = 0; i < json_array_size(list); i++)
		assert_string_not_equal(sfield(json_array_get(list, i),
		    "shop_id"), PV_SHOP);
	json_decref(out);
	/* The rules hold in a preview too. */
	b = custom_body(PV_SHOP, p, 2, 5, 30);
	json_object_set_new(b, "days", json_integer(6));
	free(text);
	text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	out = http_expect(h, "POST", "/v1/plans?dry_run=1", text, 422);
	assert_string_equal(sfield(out, "error"),
	    "field \"days\" must be an integer from 7 to 365");
	json_decref(out);
	free(text);
	/* And the previewed plan can be created for real. */
	out = post_plan(h, custom_body(PV_SHOP, p, 2, 5, 30), 201);
	assert_string_equal(sfield(out, "status"), "active");
	pv_conflicts(h, sfield(out, "plan_id"));
	json_decref(out);
	harness_pass(h);
}

/* ---- test 3: shop eligibility ---- */

/* Plans need a shop's last SPS and orders_90d at the minimums; a shop
 * without them is refused ([plans] require_shop_data = yes, the default). */
static void
test_plan_eligibility(void **state)
{
	struct harness *h = *state;
	static const char *const p[] = { "e-p0" };
	int64_t now = harness_now_ms();
	json_t *plan;

	shop_figures(h, "e-low-sps", 3.2, 500, now);
	shop_figures(h, "e-low-orders", 4.8, 10, now);
	shop_figures(h, "e-both", 2.9, 29, now);
	shop_figures(h, "e-no-orders", 4.5, -1, now);
	shop_figures(h, "e-edge", 3.5, 30, now);
	print_message("eligibility ([plans] defaults: min_sps 3.5, "
	    "min_orders_90d 30, require_shop_data yes):\n");
	plan_refused(h, custom_body("e-low-sps", p, 1, 10, 20), 422,
	    "shop \"e-low-sps\" is not eligible: its Shop Performance Score "
	    "3.2 is below the required minimum", 1);
	plan_refused(h, custom_body("e-low-orders", p, 1, 10, 20), 422,
	    "shop \"e-low-orders\" is not eligible: it has fewer orders in "
	    "the last 90 days than required", 1);
	plan_refused(h, custom_body("e-both", p, 1, 10, 20), 422,
	    "shop \"e-both\" is not eligible: its Shop Performance Score 2.9 "
	    "is below the required minimum; it has fewer orders in the last "
	    "90 days than required", 1);
	plan_refused(h, custom_body("e-no-orders", p, 1, 10, 20), 422,
	    "shop \"e-no-orders\" is not eligible: no \"shop\" event gave "
	    "its orders in the last 90 days (orders_90d)", 1);
	plan_refused(h, custom_body("e-no-shop-event", p, 1, 10, 20), 422,
	    "shop \"e-no-shop-event\" has no Shop Performance Score yet "
	    "(send a \"shop\" event first)", 1);
	plan = post_plan(h, custom_body("e-edge", p, 1, 10, 20), 201);
	assert_string_equal(sfield(plan, "status"), "active");
	json_decref(plan);
	/* The last shop event counts: a better score makes it eligible. */
	shop_figures(h, "e-low-sps", 4.1, 500, now + 1000);
	json_decref(post_plan(h, custom_body("e-low-sps",
	    (const char *const[]){ "e-p2" }, 1, 10, 20), 201));
	harness_pass(h);
}

/* ---- test 4: segment plan rules, exclusions, ranges, 409, end ---- */

#define R_SHOP "r-shop"

static const char *const r_new[] = { "r-p0", "r-p1", "r-p2" };
static const char *const r_old[] = { "r-p3" };

/*
 * n views of a plan product by treatment customers: once the day hash
 * counts them (pv_t), read as many offers as it counts and check each
 * against the range.  The number of offers.
 */
static int
offers_in_range(struct harness *h, const char *product, int n, int64_t ts,
    const char *pid, int64_t list, int32_t min_bps, int32_t max_bps)
{
	long long k;
	json_t *msgs;

	wait_day_counter(h, product, ts, "pv_t", n);
	k = day_counter(h, product, ts, "offers");
	msgs = k > 0 ? wait_msgs(h, product, (int)k) : json_array();
	assert_int_equal(json_array_size(msgs), k);
	for (size_t i = 0; i < json_array_size(msgs); i++)
		check_offer(msg_value(msgs, i), pid, product, list, min_bps,
		    max_bps);
	json_decref(msgs);
	return (int)k;
}

/* Views of the three new products, and their offers checked. */
static void
r_views_and_offers(struct harness *h, const char *pid)
{
	int64_t ts = harness_now_ms();
	int n0, n1;
	long long pv;
	json_t *m2;

	send_views(h, R_SHOP, "r-p2", "r-c2", 10, ts);
	send_views(h, R_SHOP, "r-p0", "r-c0", 10, ts);
	send_views(h, R_SHOP, "r-p1", "r-c1", 10, ts);
	n0 = offers_in_range(h, "r-p0", 10, ts, pid, 10000, 1000, 3000);
	n1 = offers_in_range(h, "r-p1", 10, ts, pid, 10100, 200, 400);
	pv = wait_day_counter(h, "r-p2", ts, "pv", 10);
	m2 = product_msgs(h, "r-p2", 0, 3000);
	print_message("10 views each: r-p0 %d offers (plan range 10-30%%), "
	    "r-p1 %d offers (its own 2-4%%), excluded r-p2: pv %lld, pv_t "
	    "%lld, %zu offers\n", n0, n1, pv,
	    day_counter(h, "r-p2", ts, "pv_t"),
	    json_array_size(m2));
	assert_true(n0 >= 1 && n1 >= 1);
	assert_int_equal(json_array_size(m2), 0);
	assert_int_equal(day_counter(h, "r-p2", ts, "pv_t"), 0);
	json_decref(m2);
}

/* The segment plan: newly_listed minus r-p2, r-p1 at 2-4 %. */
static json_t *
r_segment_plan(struct harness *h)
{
	json_t *b = segment_body(R_SHOP, "newly_listed", 10, 30), *plan;
	char key[128];

	json_object_set_new(b, "exclude", json_pack("[s]", "r-p2"));
	json_object_set_new(b, "product_ranges", json_pack("{s:[i,i]}",
	    "r-p1", 2, 4));
	plan = post_plan(h, b, 201);
	assert_string_equal(sfield(plan, "kind"), "segment");
	expect_ids(json_object_get(plan, "products"), r_new, 2,
	    "products of the segment plan");
	expect_ids(json_object_get(plan, "exclude"), r_new + 2, 1, "exclude");
	for (int i = 0; i < 3; i++) {
		pkey(key, sizeof(key), r_new[i], "product");
		wait_hash_str(h, key, "plan_id", i < 2 ?
		    sfield(plan, "plan_id") : NULL);
	}
	return plan;
}

/* The 409s of rule 4 and of one plan per shop and segment. */
static void
r_conflicts(struct harness *h, const char *pid)
{
	static const char *const both[] = { "r-p9", "r-p1" };
	char msg[256];
	json_t *b;

	print_message("conflicts:\n");
	snprintf(msg, sizeof(msg), "product \"r-p1\" is already in active "
	    "plan \"%s\"", pid);
	plan_refused(h, custom_body(R_SHOP, both, 2, 10, 20), 409, msg, 1);
	snprintf(msg, sizeof(msg), "shop \"" R_SHOP "\" already has active "
	    "plan \"%s\" for segment \"newly_listed\"", pid);
	plan_refused(h, segment_body(R_SHOP, "newly_listed", 5, 10), 409, msg,
	    1);
	b = segment_body(R_SHOP, "trending", 5, 10);
	json_array_append_new(json_object_get(b, "segments"),
	    json_string("newly_listed"));
	plan_refused(h, b, 409, msg, 1);
}

#define NO_PLAN_MSG "no plan \"pl-000000000000\""

/* End a plan: 200, then 409; an unknown id: 404. */
static void
r_end(struct harness *h, const char *pid)
{
	char path[128], msg[128];
	json_t *out;

	snprintf(path, sizeof(path), "/v1/plans/%s/end", pid);
	out = http_expect(h, "POST", path, NULL, 200);
	print_message("end: 200 status %s end_reason \"%s\"\n",
	    sfield(out, "status"), sfield(out, "end_reason"));
	assert_string_equal(sfield(out, "status"), "ended");
	assert_string_equal(sfield(out, "end_reason"), "ended by request");
	assert_true(ifield(out, "ended_at") > 0);
	json_decref(out);
	out = http_expect(h, "POST", path, NULL, 409);
	snprintf(msg, sizeof(msg), "plan \"%s\" has already ended", pid);
	print_message("end again: 409 %s\n", jtext(out));
	assert_string_equal(sfield(out, "error"), msg);
	json_decref(out);
	out = http_expect(h, "POST", "/v1/plans/pl-000000000000/end", NULL,
	    404);
	print_message("end unknown: 404 %s\n", jtext(out));
	assert_string_equal(sfield(out, "error"), NO_PLAN_MSG);
	json_decref(out);
	out = http_expect(h, "GET", "/v1/plans/pl-000000000000", NULL, 404);
	assert_string_equal(sfield(out, "error"), NO_PLAN_MSG);
	json_decref(out);
}

/* The newly_listed plan of R_SHOP, previewed or created: it names r-p0,
 * held by custom plan pid, in "skipped"; the created plan (new ref). */
static json_t *
r_skipped(struct harness *h, const char *pid, int preview)
{
	json_t *b = segment_body(R_SHOP, "newly_listed", 5, 15), *out, *sk;
	char *text = json_dumps(b, JSON_COMPACT);

	json_decref(b);
	out = preview ? http_expect(h, "POST", "/v1/plans?dry_run=1", text,
	    200) : post_plan(h, json_loads(text, 0, NULL), 201);
	free(text);
	sk = json_object_get(out, "skipped");
	print_message("%s: skipped %s\n", preview ? "preview" : "create",
	    jtext(sk));
	if (json_array_size(sk) != 1 || strcmp(sfield(json_array_get(sk, 0),
	    "product_id"), "r-p0") != 0 || strcmp(sfield(json_array_get(sk,
	    0), "plan_id"), pid) != 0)
		fail_msg("skipped: %s, want r-p0 held by %s", jtext(sk), pid);
	if (preview)
		json_decref(out);
	return preview ? NULL : out;
}

/* After the end: the products are free again; a segment plan skips taken. */
static void
r_after_end(struct harness *h)
{
	static const char *const p0[] = { "r-p0" }, *const rest[] = { "r-p1",
	    "r-p2" };
	json_t *custom, *seg;
	char key[128];

	pkey(key, sizeof(key), "r-p0", "product");
	wait_hash_str(h, key, "plan_id", NULL);
	custom = post_plan(h, custom_body(R_SHOP, p0, 1, 10, 20), 201);
	r_skipped(h, sfield(custom, "plan_id"), 1);
	seg = r_skipped(h, sfield(custom, "plan_id"), 0);
	print_message("new segment plan after the end: products %s (r-p0 is "
	    "in custom plan %s)\n", jtext(json_object_get(seg, "products")),
	    sfield(custom, "plan_id"));
	expect_ids(json_object_get(seg, "products"), rest, 2,
	    "products of the second segment plan");
	json_decref(custom);
	json_decref(seg);
}

/* Segment plans: exclusions, own ranges, one plan per product, ending. */
static void
test_segment_plan_rules(void **state)
{
	struct harness *h = *state;
	int64_t now = harness_now_ms();
	json_t *segs, *plan, *old;

	shop_figures(h, R_SHOP, 4.8, 100, now);
	catalog(h, R_SHOP, r_new, 3, 10000, 10, now - DAY_MS, now);
	catalog(h, R_SHOP, r_old, 1, 10000, 10, now - 60 * DAY_MS, now);
	json_decref(recompute(h, R_SHOP));
	segs = get_segments(h, R_SHOP);
	expect_ids(json_object_get(segs, "newly_listed"), r_new, 3,
	    "newly_listed");
	json_decref(segs);
	plan = r_segment_plan(h);
	old = post_plan(h, custom_body(R_SHOP, r_old, 1, 10, 20), 201);
	r_conflicts(h, sfield(plan, "plan_id"));
	r_views_and_offers(h, sfield(plan, "plan_id"));
	r_end(h, sfield(plan, "plan_id"));
	r_after_end(h);
	json_decref(old);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 5: auto-enrollment of a product that starts trending ---- */

#define A_SHOP "a-shop"
#define A_N 10

static const char *const a_prod[A_N] = { "a-p0", "a-p1", "a-p2", "a-p3",
    "a-p4", "a-p5", "a-p6", "a-p7", "a-p8", "a-p9" };

/* n views of a product by distinct customers at ts + i s; waits for pv. */
static void
a_views(struct harness *h, const char *product, int n, int64_t ts)
{
	char cust[64];

	for (int i = 0; i < n; i++) {
		snprintf(cust, sizeof(cust), "%s-y%d", product, i);
		send_event(h, product, view_event(A_SHOP, product, cust,
		    ts + i * 1000));
	}
	H_OK(h, harness_flush(h));
	wait_day_counter(h, product, ts, "pv", n);
}

/* A product that starts trending joins the shop's trending plan. */
static void
test_auto_enrollment(void **state)
{
	struct harness *h = *state;
	int64_t now = harness_now_ms();
	json_t *fig, *plan, *segs, *msgs;
	char key[128], cust[64], pid[64];
	int seq = 0;

	shop_figures(h, A_SHOP, 4.9, 200, now);
	catalog(h, A_SHOP, a_prod, A_N, 3000, 5, now - 60 * DAY_MS, now);
	fig = recompute(h, A_SHOP);
	assert_int_equal(seg_figure(fig, "trending", "size"), 0);
	json_decref(fig);
	plan = post_plan(h, segment_body(A_SHOP, "trending", 5, 20), 201);
	snprintf(pid, sizeof(pid), "%s", sfield(plan, "plan_id"));
	assert_int_equal(json_array_size(json_object_get(plan, "products")),
	    0);
	/* Yesterday (relative to the shop's latest event): a-p3 takes off. */
	a_views(h, "a-p3", TREND_MIN_VIEWS + 10, now - DAY_MS);
	a_views(h, "a-p5", TREND_MIN_VIEWS - 30, now - DAY_MS);
	fig = recompute(h, A_SHOP);
	assert_int_equal(seg_figure(fig, "trending", "size"), 1);
	assert_int_equal(seg_figure(fig, "trending", "entered"), 1);
	assert_int_equal(seg_figure(fig, "trending", "enrolled"), 1);
	json_decref(fig);
	segs = get_segments(h, A_SHOP);
	expect_ids(json_object_get(segs, "trending"), a_prod + 3, 1,
	    "trending");
	json_decref(segs);
	json_decref(plan);
	plan = get_plan(h, pid);
	print_message("after the recompute: plan %s products %s\n", pid,
	    jtext(json_object_get(plan, "products")));
	expect_ids(json_object_get(plan, "products"), a_prod + 3, 1,
	    "products of the trending plan");
	pkey(key, sizeof(key), "a-p3", "product");
	wait_hash_str(h, key, "plan_id", pid);
	pkey(key, sizeof(key), "a-p5", "product");
	wait_hash_str(h, key, "plan_id", NULL);
	next_customer("a-c", &seq, cust, sizeof(cust));
	send_event(h, "a-p3", view_event(A_SHOP, "a-p3", cust,
	    harness_now_ms()));
	H_OK(h, harness_flush(h));
	msgs = wait_msgs(h, "a-p3", 1);
	print_message("next view of a-p3: %s\n", jtext(msg_value(msgs, 0)));
	check_offer(msg_value(msgs, 0), pid, "a-p3", 3300, 500, 2000);
	assert_string_equal(sfield(msg_value(msgs, 0), "customer_id"), cust);
	json_decref(msgs);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 5b: auto-enrollment skips the excluded and the taken ---- */

#define N_SHOP "n-shop"

static const char *const n_old[] = { "n-p0" };
static const char *const n_new[] = { "n-p1", "n-p2", "n-p3" };

/*
 * Three products enter Newly listed, whose plan excludes n-p1 and where
 * n-p2 is already in a custom plan: only n-p3 joins; n-p2 stays in its
 * custom plan and n-p1 in none.
 */
static void
test_auto_enrollment_skips(void **state)
{
	struct harness *h = *state;
	int64_t now = harness_now_ms();
	json_t *b, *seg, *custom, *fig, *plan;
	char key[128], pid[64];

	shop_figures(h, N_SHOP, 4.4, 90, now);
	catalog(h, N_SHOP, n_old, 1, 4000, 5, now - 60 * DAY_MS, now);
	fig = recompute(h, N_SHOP);
	assert_int_equal(seg_figure(fig, "newly_listed", "size"), 0);
	json_decref(fig);
	b = segment_body(N_SHOP, "newly_listed", 5, 20);
	json_object_set_new(b, "exclude", json_pack("[s]", "n-p1"));
	seg = post_plan(h, b, 201);
	snprintf(pid, sizeof(pid), "%s", sfield(seg, "plan_id"));
	custom = post_plan(h, custom_body(N_SHOP, n_new + 1, 1, 10, 20), 201);
	catalog(h, N_SHOP, n_new, 3, 4000, 5, now - DAY_MS, now);
	fig = recompute(h, N_SHOP);
	assert_int_equal(seg_figure(fig, "newly_listed", "size"), 3);
	assert_int_equal(seg_figure(fig, "newly_listed", "entered"), 3);
	assert_int_equal(seg_figure(fig, "newly_listed", "enrolled"), 1);
	json_decref(fig);
	plan = get_plan(h, pid);
	print_message("newly_listed plan %s after n-p1..3 entered: products "
	    "%s, exclude %s\n", pid, jtext(json_object_get(plan, "products")),
	    jtext(json_object_get(plan, "exclude")));
	expect_ids(json_object_get(plan, "products"), n_new + 2, 1,
	    "products of the newly_listed plan");
	pkey(key, sizeof(key), "n-p3", "product");
	wait_hash_str(h, key, "plan_id", pid);
	pkey(key, sizeof(key), "n-p2", "product");
	wait_hash_str(h, key, "plan_id", sfield(custom, "plan_id"));
	pkey(key, sizeof(key), "n-p1", "product");
	wait_hash_str(h, key, "plan_id", NULL);
	json_decref(plan);
	json_decref(custom);
	json_decref(seg);
	harness_pass(h);
}

/* ---- test 6: seller promotions replaced and refused ---- */

#define C_SHOP "c-shop"

static const char *const c_prod[] = { "c-p0", "c-p1" };

/* Fail unless v is the promotion_deactivated message described. */
static void
check_deactivated(json_t *v, const char *promo, const char *product,
    const char *reason, int64_t ts)
{
	if (strcmp(sfield(v, "type"), "promotion_deactivated") != 0 ||
	    strcmp(sfield(v, "promotion_id"), promo) != 0 ||
	    strcmp(sfield(v, "product_id"), product) != 0 ||
	    strcmp(sfield(v, "shop_id"), C_SHOP) != 0 ||
	    strcmp(sfield(v, "reason"), reason) != 0 || ifield(v, "ts") != ts)
		fail_msg("want promotion_deactivated of %s on %s, reason "
		    "\"%s\", ts %lld: %s", promo, product, reason,
		    (long long)ts, jtext(v));
}

/* Fail unless message a comes before b in the same partition. */
static void
check_order(json_t *msgs, size_t a, size_t b)
{
	json_t *ma = json_array_get(msgs, a), *mb = json_array_get(msgs, b);

	assert_int_equal(ifield(ma, "partition"), ifield(mb, "partition"));
	assert_true(ifield(ma, "offset") < ifield(mb, "offset"));
}

/* A promotion active when the plan takes over: replaced at the 1st view. */
static void
c_replaced(struct harness *h, const char *pid, int64_t ts, int *seq)
{
	char reason[128], cust[64], key[128];
	json_t *msgs;

	next_customer("c-c", seq, cust, sizeof(cust));
	send_event(h, "c-p0", view_event(C_SHOP, "c-p0", cust, ts));
	H_OK(h, harness_flush(h));
	msgs = wait_msgs(h, "c-p0", 2);
	print_message("first view in the plan: %s then %s\n",
	    jtext(msg_value(msgs, 0)), jtext(msg_value(msgs, 1)));
	snprintf(reason, sizeof(reason), "replaced by smart promotion plan "
	    "\"%s\"", pid);
	check_deactivated(msg_value(msgs, 0), "sp-c0", "c-p0", reason, ts);
	assert_string_equal(sfield(msg_value(msgs, 0), "plan_id"), pid);
	check_offer(msg_value(msgs, 1), pid, "c-p0", 5000, 1000, 3000);
	check_order(msgs, 0, 1);
	json_decref(msgs);
	pkey(key, sizeof(key), "c-p0", "product");
	wait_hash_str(h, key, "promo_id", NULL);
	/* A second view: an offer, no second deactivation. */
	next_customer("c-c", seq, cust, sizeof(cust));
	send_event(h, "c-p0", view_event(C_SHOP, "c-p0", cust, ts + 1000));
	H_OK(h, harness_flush(h));
	msgs = wait_msgs(h, "c-p0", 3);
	assert_int_equal(count_type(msgs, "promotion_deactivated", NULL), 1);
	assert_int_equal(count_type(msgs, "offer", cust), 1);
	json_decref(msgs);
}

/* A promotion arriving for an enrolled product: refused at once. */
static void
c_refused(struct harness *h, const char *pid, int64_t ts, int *seq)
{
	char reason[128], cust[64], key[128];
	json_t *msgs;

	send_event(h, "c-p1", window_event("seller_promotion", C_SHOP, "c-p1",
	    "sp-c1", 2000, ts, ts + DAY_MS, ts));
	H_OK(h, harness_flush(h));
	msgs = wait_msgs(h, "c-p1", 1);
	print_message("seller promotion for an enrolled product: %s\n",
	    jtext(msg_value(msgs, 0)));
	snprintf(reason, sizeof(reason), "refused: the product is in smart "
	    "promotion plan \"%s\"", pid);
	check_deactivated(msg_value(msgs, 0), "sp-c1", "c-p1", reason, ts);
	json_decref(msgs);
	pkey(key, sizeof(key), "c-p1", "product");
	wait_hash_str(h, key, "promo_id", NULL);
	next_customer("c-c", seq, cust, sizeof(cust));
	send_event(h, "c-p1", view_event(C_SHOP, "c-p1", cust, ts + 1000));
	H_OK(h, harness_flush(h));
	msgs = wait_msgs(h, "c-p1", 2);
	assert_int_equal(count_type(msgs, "promotion_deactivated", NULL), 1);
	check_offer(msg_value(msgs, 1), pid, "c-p1", 5100, 1000, 3000);
	json_decref(msgs);
}

/* A seller's promotion is replaced by a plan, or refused while in one. */
static void
test_seller_promotions(void **state)
{
	struct harness *h = *state;
	int64_t now = harness_now_ms();
	json_t *plan;
	char key[128];
	int seq = 0;

	shop_figures(h, C_SHOP, 4.0, 60, now);
	catalog(h, C_SHOP, c_prod, 2, 5000, 10, now - 60 * DAY_MS, now);
	send_event(h, "c-p0", window_event("seller_promotion", C_SHOP, "c-p0",
	    "sp-c0", 1500, now - 3600000, now + DAY_MS, now));
	H_OK(h, harness_flush(h));
	pkey(key, sizeof(key), "c-p0", "product");
	wait_hash_str(h, key, "promo_id", "sp-c0");
	plan = post_plan(h, custom_body(C_SHOP, c_prod, 2, 10, 30), 201);
	c_replaced(h, sfield(plan, "plan_id"), harness_now_ms(), &seq);
	c_refused(h, sfield(plan, "plan_id"), harness_now_ms(), &seq);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 7: no offer inside a platform campaign window ---- */

#define K_SHOP "k-shop"
#define K_INSIDE 5

/* The six views were treatment views (pv_t); one offer was counted. */
static void
k_counters(struct harness *h, int64_t now, int64_t end)
{
	char d0[16], d1[16];
	long long pvt, offers;

	harness_date(now, d0, sizeof(d0));
	harness_date(end, d1, sizeof(d1));
	pvt = day_counter(h, "k-p0", now, "pv_t");
	offers = day_counter(h, "k-p0", now, "offers");
	if (strcmp(d0, d1) != 0) {      /* the window crossed midnight UTC */
		pvt += day_counter(h, "k-p0", end, "pv_t");
		offers += day_counter(h, "k-p0", end, "offers");
	}
	print_message("day counters of k-p0: pv_t %lld, offers %lld\n", pvt,
	    offers);
	assert_int_equal(pvt, K_INSIDE + 1);
	assert_int_equal(offers, 1);
}

/* No offer while a platform campaign price holds, one right after. */
static void
test_campaign_window(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "k-p0" };
	int64_t now = harness_now_ms(), start, end;
	char key[128], cust[64], last[64];
	json_t *plan, *msgs;
	int seq = 0;

	shop_figures(h, K_SHOP, 4.0, 60, now);
	catalog(h, K_SHOP, prod, 1, 6000, 10, now - 60 * DAY_MS, now);
	plan = post_plan(h, custom_body(K_SHOP, prod, 1, 10, 30), 201);
	now = harness_now_ms();
	start = now - 60000;
	end = now + 120000;
	send_event(h, "k-p0", window_event("campaign", K_SHOP, "k-p0",
	    "cmp-k", 4500, start, end, now));
	H_OK(h, harness_flush(h));
	pkey(key, sizeof(key), "k-p0", "product");
	wait_hash_str(h, key, "campaign_id", "cmp-k");
	/* Views inside [start, end), the last at end - 1 ms: no offer. */
	for (int i = 0; i < K_INSIDE; i++) {
		next_customer("k-c", &seq, cust, sizeof(cust));
		send_event(h, "k-p0", view_event(K_SHOP, "k-p0", cust,
		    i + 1 < K_INSIDE ? now + i : end - 1));
	}
	/* The first view once the window ended gets one. */
	next_customer("k-c", &seq, last, sizeof(last));
	send_event(h, "k-p0", view_event(K_SHOP, "k-p0", last, end));
	H_OK(h, harness_flush(h));
	msgs = wait_msgs(h, "k-p0", 1);
	json_decref(msgs);
	msgs = product_msgs(h, "k-p0", 0, 3000);
	print_message("campaign %lld..%lld: %d views inside, %zu messages in "
	    "all, the one after the window: %s\n", (long long)start,
	    (long long)end, K_INSIDE, json_array_size(msgs),
	    jtext(msg_value(msgs, 0)));
	assert_int_equal(json_array_size(msgs), 1);
	check_offer(msg_value(msgs, 0), sfield(plan, "plan_id"), "k-p0", 6000,
	    1000, 3000);
	assert_string_equal(sfield(msg_value(msgs, 0), "customer_id"), last);
	assert_int_equal(ifield(msg_value(msgs, 0), "ts"), end);
	json_decref(msgs);
	k_counters(h, now, end);
	json_decref(plan);
	harness_pass(h);
}

/* ---- the clock group: time passing by itself ---- */

#define CLOCK_CONFIG \
	"[plans]\nallow_past_start = yes\n" \
	"[segments]\nrecompute_minutes = " STR(CLOCK_RECOMPUTE_MIN) "\n"
#define CLOCK_RECOMPUTE_MIN 0.05        /* 3 s */
#define SWEEP_WAIT_MS 75000     /* the once-a-minute sweep, and slack */

/* Poll GET /v1/plans/{id} until its status is want; the plan. */
static json_t *
wait_plan_status(struct harness *h, const char *id, const char *want,
    int ms)
{
	int64_t deadline = harness_now_ms() + ms;
	json_t *plan;

	for (;;) {
		plan = get_plan(h, id);
		if (strcmp(sfield(plan, "status"), want) == 0 ||
		    harness_now_ms() > deadline)
			break;
		json_decref(plan);
		harness_sleep_ms(500);
	}
	if (strcmp(sfield(plan, "status"), want) != 0)
		fail_msg("plan %s is %s after %d ms, want %s", id,
		    jtext(plan), ms, want);
	return plan;
}

/*
 * A plan ends by itself at its end time: a 7-day plan started 7 days less
 * 3 s ago ([plans] allow_past_start = yes) is ended by the wall-clock
 * sweep, with reason "completed", and its product is free again.
 */
static void
test_plan_ends_by_itself(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "x-p0" };
	int64_t t0 = harness_now_ms();
	json_t *b, *plan;
	char key[128], pid[64];

	b = custom_body("x-shop", prod, 1, 5, 20);
	json_object_set_new(b, "days", json_integer(7));
	json_object_set_new(b, "start", json_integer(t0 - 7 * DAY_MS + 3000));
	plan = post_plan(h, b, 201);
	snprintf(pid, sizeof(pid), "%s", sfield(plan, "plan_id"));
	assert_string_equal(sfield(plan, "status"), "active");
	json_decref(plan);
	pkey(key, sizeof(key), "x-p0", "product");
	wait_hash_str(h, key, "plan_id", pid);
	plan = wait_plan_status(h, pid, "ended", SWEEP_WAIT_MS);
	print_message("plan %s %.1f s after its creation: status %s, "
	    "end_reason \"%s\", ended_at - end = %lld ms\n", pid,
	    (harness_now_ms() - t0) / 1000.0, sfield(plan, "status"),
	    sfield(plan, "end_reason"), (long long)(ifield(plan, "ended_at") -
	    ifield(plan, "end")));
	assert_string_equal(sfield(plan, "end_reason"), "completed");
	assert_true(ifield(plan, "ended_at") >= ifield(plan, "end"));
	json_decref(plan);
	wait_hash_str(h, key, "plan_id", NULL);
	json_decref(post_plan(h, custom_body("x-shop", prod, 1, 5, 20), 201));
	harness_pass(h);
}

/*
 * The schedule ([segments] recompute_minutes, 3 s here) recomputes by
 * itself: a product listed after the plan's creation appears in
 * Newly listed and joins the shop's plan without an on-demand recompute.
 */
static void
test_scheduled_recompute(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t-p0" };
	int64_t now = harness_now_ms(), t0;
	json_t *plan, *members;
	char key[128], pid[64];

	plan = post_plan(h, segment_body("t-shop", "newly_listed", 5, 20),
	    201);
	snprintf(pid, sizeof(pid), "%s", sfield(plan, "plan_id"));
	assert_int_equal(json_array_size(json_object_get(plan, "products")),
	    0);
	json_decref(plan);
	catalog(h, "t-shop", prod, 1, 2500, 5, now - DAY_MS, now);
	t0 = harness_now_ms();
	pkey(key, sizeof(key), "t-p0", "product");
	wait_hash_str(h, key, "plan_id", pid);
	print_message("t-p0 joined plan %s %lld ms after its catalog row was "
	    "stored (schedule every %g min)\n", pid,
	    (long long)(harness_now_ms() - t0), CLOCK_RECOMPUTE_MIN);
	members = smembers(h, "sp:segment:t-shop:newly_listed");
	expect_ids(members, prod, 1, "sp:segment:t-shop:newly_listed");
	json_decref(members);
	plan = get_plan(h, pid);
	expect_ids(json_object_get(plan, "products"), prod, 1,
	    "products of the newly_listed plan");
	json_decref(plan);
	harness_pass(h);
}

/* ---- fixtures ---- */

static struct harness harness_plans, harness_clock;

/* Start redis, the broker and the daemon with the group's config. */
static int
setup_plans(void **state)
{
	*state = &harness_plans;
	return harness_start_group(&harness_plans, PLANS_CONFIG);
}

/* The clock group: past starts allowed, a 3-second segment schedule. */
static int
setup_clock(void **state)
{
	*state = &harness_clock;
	return harness_start_group(&harness_clock, CLOCK_CONFIG);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_test, teardown_test)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_plan_validation),
		T(test_plan_preview),
		T(test_plan_eligibility),
		T(test_segment_plan_rules),
		T(test_auto_enrollment),
		T(test_auto_enrollment_skips),
		T(test_seller_promotions),
		T(test_campaign_window),
		T(test_segments_real_data),
	};

	const struct CMUnitTest clock_tests[] = {
		T(test_scheduled_recompute),
		T(test_plan_ends_by_itself),
	};
	int failed = cmocka_run_group_tests_name("plans", tests, setup_plans,
	    harness_teardown_group);

	failed += cmocka_run_group_tests_name("plans-clock", clock_tests,
	    setup_clock, harness_teardown_group);
	return failed != 0;
}
