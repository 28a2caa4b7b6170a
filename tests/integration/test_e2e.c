/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_e2e.c - end-to-end tests: the real smartpromod against a real
 * redis-server and smartpromo-devbroker (tests/integration/harness.h).
 * Events go in through Kafka, offers and dead letters are read back from
 * Kafka, state is read from Redis and plans are driven over the admin API.
 * One set of processes serves the whole "e2e" group; each test uses its own
 * shop and products so that the tests do not see each other's state.
 * The last tests run the built smartpromoctl against the same daemon.
 * docs/testing.md says what each test proves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "httpc.h"
#define ITEST_EVENT_PREFIX "ev-"
#include "itest.h"

/* Shared helpers of the harness, under this file's short names. */
#define teardown_test harness_teardown_test
#define jtext(o) harness_jtext(o)
#define sfield(o, name) harness_sfield((o), (name))
#define fnv1a64(s) harness_fnv1a64(s)
#define in_holdout(c) harness_in_holdout((c), HOLDOUT_PCT)

#define HOLDOUT_PCT 10.0        /* [engine] holdout_pct in the config */
#define SETTLE_MS 1500          /* after a barrier, before "nothing came" */

/* Which offers a consume keeps: every non-NULL field must match. */
struct offer_match {
	const char *prefix;             /* product_id prefix */
	const char *product;
	const char *customer;
};

/* Which dead letters a consume keeps: these input positions. */
struct dead_match {
	int32_t partition;
	const int64_t *offsets;
	int n;
};

/* The next customer id "<prefix>-<n>" in (holdout 1) or out of it. */
static void
next_customer(const char *prefix, int holdout, int *seq, char *buf,
    size_t len)
{
	do
		snprintf(buf, len, "%s-%d", prefix, (*seq)++);
	while (in_holdout(buf) != holdout);
}

/* A product (catalog) event. */
static json_t *
product_event(const char *shop, const char *product, int64_t price,
    int64_t ts)
{
	json_t *ev = event_new("product", shop, product, ts);

	json_object_set_new(ev, "price", json_integer(price));
	json_object_set_new(ev, "stock", json_integer(100));
	json_object_set_new(ev, "listed_at", json_integer(ts - 86400000));
	return ev;
}

/* Queue an event keyed by its product and drop the reference. */
static void
send_event(struct harness *h, const char *product, json_t *ev)
{
	assert_non_null(ev);
	H_OK(h, harness_send_event(h, product, ev));
	json_decref(ev);
}

/* Send the catalog rows and wait until the daemon stored each one. */
static void
catalog(struct harness *h, const char *shop, const char *const *products,
    const int64_t *prices, int n)
{
	char key[256];
	int i;

	for (i = 0; i < n; i++)
		send_event(h, products[i], product_event(shop, products[i],
		    prices[i], harness_now_ms()));
	H_OK(h, harness_flush(h));
	for (i = 0; i < n; i++) {
		pkey(key, sizeof(key), products[i], "product");
		H_OK(h, harness_wait_exists(h, key, WAIT_MS));
	}
}

/* A plan request body; ranges (may be NULL) is stolen. */
static char *
plan_body(const char *name, const char *shop, const char *const *products,
    int n, double min_pct, double max_pct, json_t *ranges)
{
	json_t *list = json_array(), *body;
	char *text;
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(list, json_string(products[i]));
	body = json_pack("{s:s, s:s, s:o, s:f, s:f}", "name", name,
	    "shop_id", shop, "products", list, "discount_min_pct", min_pct,
	    "discount_max_pct", max_pct);
	if (ranges != NULL)
		json_object_set_new(body, "product_ranges", ranges);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}

/* POST /v1/plans with body (freed), expect 201; the plan (new reference). */
static json_t *
post_plan(struct harness *h, const char *shop, char *body)
{
	json_t *plan = NULL;
	int status;

	H_OK(h, harness_http(h, "POST", "/v1/plans", body, &status, &plan));
	if (status != 201 || !json_is_string(json_object_get(plan,
	    "plan_id")))
		fail_msg("POST /v1/plans %s: status %d, body %s", body, status,
		    plan != NULL ? jtext(plan) : "(not json)");
	free(body);
	print_message("plan %s for %s\n", json_string_value(
	    json_object_get(plan, "plan_id")), shop);
	return plan;
}

/* POST /v1/plans, expect 201; returns the plan (new reference). */
static json_t *
create_plan(struct harness *h, const char *shop, const char *const *products,
    int n, double min_pct, double max_pct, json_t *ranges)
{
	return post_plan(h, shop, plan_body(shop, shop, products, n, min_pct,
	    max_pct, ranges));
}

/* The plan_id of a plan object. */
static const char *
plan_id(json_t *plan)
{
	return json_string_value(json_object_get(plan, "plan_id"));
}

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

/* Keep offers that match a struct offer_match. */
static int
match_offer(json_t *v, void *arg)
{
	const struct offer_match *m = arg;
	const char *product = sfield(v, "product_id");

	if (strcmp(sfield(v, "type"), "offer") != 0)
		return 0;
	if (m->prefix != NULL && strncmp(product, m->prefix,
	    strlen(m->prefix)) != 0)
		return 0;
	if (m->product != NULL && strcmp(product, m->product) != 0)
		return 0;
	return m->customer == NULL ||
	    strcmp(sfield(v, "customer_id"), m->customer) == 0;
}

/* Read offers of a product prefix / product / customer (want: see harness). */
static json_t *
read_offers(struct harness *h, const char *prefix, const char *product,
    const char *customer, int want, int idle_ms)
{
	struct offer_match m = { prefix, product, customer };
	json_t *out;

	H_OK(h, harness_consume(h, HARNESS_TOPIC_OFFERS, match_offer, &m,
	    want, idle_ms, &out));
	return out;
}

/* Wait for the offer of one customer and product (new reference). */
static json_t *
wait_offer(struct harness *h, const char *product, const char *customer)
{
	json_t *msgs = read_offers(h, NULL, product, customer, 1, WAIT_MS);
	json_t *offer;

	if (json_array_size(msgs) == 0)
		fail_msg("no offer for customer \"%s\" on \"%s\" within %d ms",
		    customer, product, WAIT_MS);
	offer = json_incref(json_object_get(json_array_get(msgs, 0),
	    "value"));
	json_decref(msgs);
	return offer;
}

/* ---- test 7: configuration check ---- */

/* Run smartpromod -c conf -n; returns its output, *code the exit code. */
static char *
check_config(struct harness *h, const char *conf, int *code)
{
	char *argv[] = { SP_BIN_DIR "/smartpromod", "-c", (char *)conf, "-n",
	    NULL };
	char out[HARNESS_PATH_MAX];
	int status;

	snprintf(out, sizeof(out), "%s/check.out", h->dir);
	H_OK(h, harness_run(h, argv, out, 20000, &status));
	if (!WIFEXITED(status))
		fail_msg("smartpromod -n killed by signal %d", WTERMSIG(status));
	*code = WEXITSTATUS(status);
	return harness_read_file(out);
}

/* Fail unless text has a line starting with "<file>:<line>: ". */
static void
expect_error_line(const char *text, const char *file, int line)
{
	char want[HARNESS_PATH_MAX + 32];
	const char *p;

	snprintf(want, sizeof(want), "%s:%d: ", file, line);
	for (p = text; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, want, strlen(want)) == 0)
			return;
	}
	fail_msg("no line \"%s...\" in the output:\n%s", want, text);
}

static void
test_config_check(void **state)
{
	struct harness *h = *state;
	char path[HARNESS_PATH_MAX];
	char *out;
	int code;

	H_OK(h, harness_write_file(h, "bad.conf", "[kafka]\n"
	    "brokers = 127.0.0.1:9092\nno_such_key = 1\n[redis]\n"
	    "host = 127.0.0.1\nport = 99999\n", path, sizeof(path)));
	out = check_config(h, path, &code);
	assert_non_null(out);
	print_message("bad config: exit %d, output:\n%s", code, out);
	assert_int_equal(code, 1);
	expect_error_line(out, path, 3);
	expect_error_line(out, path, 6);
	free(out);
	snprintf(h->bootstrap, sizeof(h->bootstrap), "127.0.0.1:9092");
	h->redis_port = 6379;
	H_OK(h, harness_write_config(h));
	out = check_config(h, h->conf, &code);
	assert_non_null(out);
	print_message("good config: exit %d, output: %s", code, out);
	assert_int_equal(code, 0);
	assert_non_null(strstr(out, "configuration OK"));
	free(out);
	harness_pass(h);
}

/* ---- test 1: offers only for plan products, only inside the range ---- */

#define T1_N 6
#define T1_PLAN 4
#define T1_VIEWS 200

static const char *const t1_products[T1_N] = { "t1-p0", "t1-p1", "t1-p2",
    "t1-p3", "t1-p4", "t1-p5" };
static const int64_t t1_prices[T1_N] = { 1999, 4550, 12000, 99, 250000,
    777 };

/* Per product: the expected range and what the offers showed. */
struct t1_stat {
	int32_t min_bps, max_bps;
	int offers, views;
	int32_t lo, hi;                 /* discount_bps seen */
};

/* Index of a t1 product, fails if not one. */
static int
t1_index(const char *product)
{
	int i;

	for (i = 0; i < T1_N; i++)
		if (strcmp(product, t1_products[i]) == 0)
			return i;
	fail_msg("offer for unknown product \"%s\"", product);
	return -1;
}

/* Check one offer against its product's list price and range. */
static void
check_offer_range(json_t *o, int64_t list, int32_t min_bps, int32_t max_bps)
{
	int64_t offer = ifield(o, "offer_price");
	int64_t bps = ifield(o, "discount_bps");
	int64_t paid = 10000 * (list - offer);

	if (ifield(o, "list_price") != list || offer < 0 || offer > list ||
	    bps < min_bps || bps > max_bps ||
	    paid < (int64_t)min_bps * list || paid > (int64_t)max_bps * list ||
	    llabs(paid - bps * list) >= 10000)
		fail_msg("offer outside list %lld range %d-%d bps: %s",
		    (long long)list, min_bps, max_bps,
		    jtext(o));
}

/* Check one offer of test 1 and count it. */
static void
t1_check_offer(json_t *o, const char *pid, struct t1_stat *st)
{
	int i = t1_index(sfield(o, "product_id"));
	int32_t bps = (int32_t)ifield(o, "discount_bps");

	if (i >= T1_PLAN)
		fail_msg("offer for \"%s\", which is in no plan: %s",
		    t1_products[i], jtext(o));
	assert_string_equal(sfield(o, "plan_id"), pid);
	assert_string_equal(sfield(o, "shop_id"), "shop-t1");
	assert_true(sfield(o, "offer_id")[0] != '\0');
	assert_false(in_holdout(sfield(o, "customer_id")));
	check_offer_range(o, t1_prices[i], st[i].min_bps, st[i].max_bps);
	assert_true(ifield(o, "expires_at") > ifield(o, "ts"));
	if (st[i].offers == 0 || bps < st[i].lo)
		st[i].lo = bps;
	if (st[i].offers == 0 || bps > st[i].hi)
		st[i].hi = bps;
	st[i].offers++;
}

/* Send the 200 views of test 1, counting them per product. */
static void
t1_send_views(struct harness *h, struct t1_stat *st, int64_t *ts)
{
	char cust[64];
	int i, seq = 0;

	*ts = harness_now_ms();
	for (i = 0; i < T1_VIEWS; i++) {
		next_customer("t1-c", 0, &seq, cust, sizeof(cust));
		send_event(h, t1_products[i % T1_N], view_event("shop-t1",
		    t1_products[i % T1_N], cust, *ts + i));
		st[i % T1_N].views++;
	}
	H_OK(h, harness_flush(h));
}

/* Print and check the figures of test 1 per product. */
static void
t1_report(struct harness *h, const struct t1_stat *st, int64_t ts)
{
	long long pv;
	int i;

	for (i = 0; i < T1_N; i++) {
		pv = wait_day_counter(h, t1_products[i], ts, "pv",
		    st[i].views);
		print_message("%s list %lld range %d-%d: views %d pv %lld "
		    "offers %d bps seen %d-%d\n", t1_products[i],
		    (long long)t1_prices[i], st[i].min_bps, st[i].max_bps,
		    st[i].views, pv, st[i].offers, st[i].lo, st[i].hi);
		assert_int_equal(pv, st[i].views);
		if (i < T1_PLAN)
			assert_true(st[i].offers >= 1);
		else
			assert_int_equal(st[i].offers, 0);
	}
}

static void
test_offers_in_plan_and_range(void **state)
{
	struct harness *h = *state;
	struct t1_stat st[T1_N];
	json_t *plan, *msgs, *late;
	int64_t ts;
	size_t i;
	int want = 0;

	memset(st, 0, sizeof(st));
	catalog(h, "shop-t1", t1_products, t1_prices, T1_N);
	plan = create_plan(h, "shop-t1", t1_products, T1_PLAN, 10, 30,
	    json_pack("{s:[i,i]}", "t1-p1", 5, 15));
	for (i = 0; i < T1_PLAN; i++) {
		st[i].min_bps = i == 1 ? 500 : 1000;
		st[i].max_bps = i == 1 ? 1500 : 3000;
	}
	t1_send_views(h, st, &ts);
	for (i = 0; i < T1_PLAN; i++)
		want += st[i].views;
	msgs = read_offers(h, "t1-", NULL, NULL, want, 5000);
	for (i = 0; i < json_array_size(msgs); i++)
		t1_check_offer(json_object_get(json_array_get(msgs, i),
		    "value"), plan_id(plan), st);
	print_message("%zu offers for %d views of plan products\n",
	    json_array_size(msgs), want);
	t1_report(h, st, ts);
	late = read_offers(h, "t1-p4", NULL, NULL, 0, 3000);
	assert_int_equal(json_array_size(late), 0);
	json_decref(late);
	late = read_offers(h, "t1-p5", NULL, NULL, 0, 3000);
	assert_int_equal(json_array_size(late), 0);
	json_decref(late);
	json_decref(msgs);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 2: no offers for holdout customers ---- */

#define T2_VIEWS 100

/* Count the offers whose customer is in the holdout. */
static int
count_holdout_offers(json_t *msgs)
{
	size_t i;
	int n = 0;

	for (i = 0; i < json_array_size(msgs); i++)
		if (in_holdout(sfield(json_object_get(json_array_get(msgs, i),
		    "value"), "customer_id")))
			n++;
	return n;
}

static void
test_no_offers_in_holdout(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t2-p0" };
	static const int64_t price[] = { 5000 };
	char cust[64];
	json_t *plan, *offer, *msgs;
	int64_t ts;
	int i, seq = 0;

	catalog(h, "shop-t2", prod, price, 1);
	plan = create_plan(h, "shop-t2", prod, 1, 10, 30, NULL);
	ts = harness_now_ms();
	for (i = 0; i < T2_VIEWS; i++) {
		next_customer("t2-c", 1, &seq, cust, sizeof(cust));
		send_event(h, prod[0], view_event("shop-t2", prod[0], cust,
		    ts + i));
	}
	next_customer("t2-c", 0, &seq, cust, sizeof(cust));
	send_event(h, prod[0], view_event("shop-t2", prod[0], cust,
	    ts + T2_VIEWS));
	H_OK(h, harness_flush(h));
	offer = wait_offer(h, prod[0], cust);
	wait_day_counter(h, prod[0], ts, "pv", T2_VIEWS + 1);
	msgs = read_offers(h, NULL, prod[0], NULL, 0, 3000);
	print_message("holdout views %d: pv %lld pv_c %lld pv_t %lld, "
	    "offers %zu of which to holdout customers %d\n", T2_VIEWS,
	    day_counter(h, prod[0], ts, "pv"),
	    day_counter(h, prod[0], ts, "pv_c"),
	    day_counter(h, prod[0], ts, "pv_t"), json_array_size(msgs),
	    count_holdout_offers(msgs));
	assert_int_equal(count_holdout_offers(msgs), 0);
	assert_int_equal(json_array_size(msgs), 1);
	assert_int_equal(day_counter(h, prod[0], ts, "pv_c"), T2_VIEWS);
	assert_int_equal(day_counter(h, prod[0], ts, "pv_t"), 1);
	json_decref(msgs);
	json_decref(offer);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 3: an order with offer_id feeds the learner ---- */

/* The arm field "<ctx>:<level>" of a customer's stored offer record. */
static void
offer_arm(struct harness *h, const char *product, const char *customer,
    char *arm, size_t len)
{
	char key[256], ctx[32], level[32];
	char *rec;

	pkey(key, sizeof(key), product, "offers");
	H_OK(h, harness_hget(h, key, customer, &rec));
	if (rec == NULL)
		fail_msg("no field \"%s\" in \"%s\"", customer, key);
	print_message("offer record %s\n", rec);
	if (sscanf(rec, "%*[^|]|%*[^|]|%31[^|]|%31[^|]|", ctx, level) != 2)
		fail_msg("bad offer record \"%s\"", rec);
	snprintf(arm, len, "%s:%s", strcmp(ctx, "0") == 0 ? "new" :
	    strcmp(ctx, "1") == 0 ? "ret" : ctx, level);
	free(rec);
}

/* The conversions s of an arm "<n> <s>" (0 when absent). */
static double
arm_successes(struct harness *h, const char *product, const char *arm)
{
	char key[256];
	char *v;
	double n = 0, s = 0;

	pkey(key, sizeof(key), product, "arms");
	H_OK(h, harness_hget(h, key, arm, &v));
	if (v != NULL && sscanf(v, "%lf %lf", &n, &s) != 2)
		fail_msg("bad arm \"%s\" = \"%s\" in \"%s\"", arm, v, key);
	print_message("arm %s = \"%s\"\n", arm, v != NULL ? v : "(none)");
	free(v);
	return s;
}

/* An order line event that pays price per unit with offer_id. */
static json_t *
order_event(const char *shop, const char *product, const char *order_id,
    const char *customer, json_t *offer, int64_t qty, int64_t ts)
{
	json_t *ev = event_new("order", shop, product, ts);

	json_object_set_new(ev, "order_id", json_string(order_id));
	json_object_set_new(ev, "customer_id", json_string(customer));
	json_object_set_new(ev, "qty", json_integer(qty));
	json_object_set_new(ev, "unit_price", json_integer(ifield(offer,
	    "list_price")));
	json_object_set_new(ev, "paid_unit_price", json_integer(ifield(offer,
	    "offer_price")));
	json_object_set_new(ev, "offer_id", json_string(sfield(offer,
	    "offer_id")));
	return ev;
}

/* Check the day counters after one order line of qty using offer. */
static void
check_order_day(struct harness *h, const char *product, int64_t ts,
    json_t *offer, int64_t qty)
{
	int64_t list = ifield(offer, "list_price");
	int64_t paid = ifield(offer, "offer_price");
	long long ord_o = wait_day_counter(h, product, ts, "ord_o", 1);
	long long cost = day_counter(h, product, ts, "cost");
	long long gmv_t = day_counter(h, product, ts, "gmv_t");

	print_message("order qty %lld list %lld paid %lld: ord_o %lld "
	    "cost %lld (want %lld) gmv_t %lld (want %lld)\n", (long long)qty,
	    (long long)list, (long long)paid, ord_o, cost,
	    (long long)((list - paid) * qty), gmv_t,
	    (long long)(paid * qty));
	assert_int_equal(ord_o, 1);
	assert_int_equal(cost, (list - paid) * qty);
	assert_int_equal(gmv_t, paid * qty);
}

/*
 * GET /v1/explain of the customer who used offer: it reads the product's
 * state from Redis (the same load as a batch's) and shows that offer, now
 * converted, its plan and the learner's levels; an unknown product is 404.
 */
static void
check_explain(struct harness *h, const char *product, const char *customer,
    json_t *offer, const char *plan)
{
	char path[256];
	json_t *ex, *o, *levels;
	int status;

	snprintf(path, sizeof(path), "/v1/explain?product=%s&customer=%s",
	    product, customer);
	H_OK(h, harness_http(h, "GET", path, NULL, &status, &ex));
	assert_int_equal(status, 200);
	assert_non_null(ex);
	o = json_object_get(ex, "offer");
	levels = json_object_get(ex, "levels");
	assert_string_equal(sfield(o, "offer_id"), sfield(offer, "offer_id"));
	assert_int_equal(ifield(o, "offer_price"), ifield(offer,
	    "offer_price"));
	assert_true(json_is_true(json_object_get(o, "converted")));
	assert_string_equal(sfield(json_object_get(ex, "plan"), "plan_id"),
	    plan);
	assert_int_equal(ifield(ex, "list_price"), ifield(offer,
	    "list_price"));
	assert_true(json_array_size(levels) > 0);
	json_decref(ex);
	snprintf(path, sizeof(path), "/v1/explain?product=%s-none&"
	    "customer=%s", product, customer);
	H_OK(h, harness_http(h, "GET", path, NULL, &status, &ex));
	assert_int_equal(status, 404);
	json_decref(ex);
}

static void
test_order_updates_learning(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t3-p0" };
	static const int64_t price[] = { 8000 };
	char cust[64], arm[80];
	json_t *plan, *offer;
	double s0, s1;
	int64_t ts;
	int seq = 0;

	catalog(h, "shop-t3", prod, price, 1);
	plan = create_plan(h, "shop-t3", prod, 1, 10, 30, NULL);
	next_customer("t3-c", 0, &seq, cust, sizeof(cust));
	send_event(h, prod[0], view_event("shop-t3", prod[0], cust,
	    harness_now_ms()));
	H_OK(h, harness_flush(h));
	offer = wait_offer(h, prod[0], cust);
	offer_arm(h, prod[0], cust, arm, sizeof(arm));
	s0 = arm_successes(h, prod[0], arm);
	ts = harness_now_ms();
	send_event(h, prod[0], order_event("shop-t3", prod[0], "t3-o1", cust,
	    offer, 2, ts));
	H_OK(h, harness_flush(h));
	check_order_day(h, prod[0], ts, offer, 2);
	s1 = arm_successes(h, prod[0], arm);
	print_message("arm %s conversions %.4f -> %.4f\n", arm, s0, s1);
	assert_true(s1 > s0 + 0.9);
	check_explain(h, prod[0], cust, offer, plan_id(plan));
	json_decref(offer);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 4: malformed events go to the dead-letter topic ---- */

#define T4_BAD 6
#define T4_MAX_BYTES 65536      /* CONTRACT §3: an event is at most 64 KiB */
#define T4_OVERSIZE (T4_MAX_BYTES + 100)        /* bytes of bad[4] */

/* The reason each bad message must get; "*" at the end: a prefix. */
static const char *const t4_reasons[T4_BAD] = {
	"invalid JSON at line *",
	"missing field \"customer_id\"",
	"field \"price\" must be a non-negative integer (minor units)",
	"invalid UTF-8",
	"event is larger than 65536 bytes",
	"field \"customer_id\" must be a string",
};

/* Keep the dead letters of the given input positions. */
static int
match_dead(json_t *v, void *arg)
{
	const struct dead_match *m = arg;
	json_t *off = json_object_get(v, "offset");
	int i;

	if (strcmp(sfield(v, "type"), "dead_letter") != 0 ||
	    strcmp(sfield(v, "topic"), HARNESS_TOPIC_EVENTS) != 0 ||
	    json_integer_value(json_object_get(v, "partition")) !=
	    m->partition || !json_is_integer(off))
		return 0;
	for (i = 0; i < m->n; i++)
		if (json_integer_value(off) == m->offsets[i])
			return 1;
	return 0;
}

/* A page_view padded with an unknown field to len bytes (malloc'd). */
static char *
t4_oversize(int64_t ts, size_t len)
{
	char head[256], *s;
	int n;

	n = snprintf(head, sizeof(head), "{\"type\":\"page_view\","
	    "\"event_id\":\"t4-e5\",\"ts\":%lld,\"shop_id\":\"shop-t4\","
	    "\"product_id\":\"t4-p0\",\"customer_id\":\"t4-big\","
	    "\"pad\":\"", (long long)ts);
	assert_true(n > 0 && (size_t)n + 2 < len);
	assert_non_null(s = malloc(len + 1));
	memcpy(s, head, (size_t)n);
	memset(s + n, 'x', len - (size_t)n - 2);
	memcpy(s + len - 2, "\"}", 3);
	return s;
}

/* The six bad messages of test 4 (texts in bad[], malloc'd): truncated
 * JSON, a missing field, negative money, bad UTF-8, over 64 KiB, and a
 * field of the wrong JSON type. */
static void
t4_bad_messages(char **bad, int64_t ts)
{
	char buf[512];

	bad[0] = strdup("{\"type\":\"page_view\"");
	snprintf(buf, sizeof(buf), "{\"type\":\"page_view\",\"event_id\":"
	    "\"t4-e2\",\"ts\":%lld,\"shop_id\":\"shop-t4\",\"product_id\":"
	    "\"t4-p0\"}", (long long)ts);
	bad[1] = strdup(buf);
	snprintf(buf, sizeof(buf), "{\"type\":\"product\",\"event_id\":"
	    "\"t4-e3\",\"ts\":%lld,\"shop_id\":\"shop-t4\",\"product_id\":"
	    "\"t4-p0\",\"price\":-5,\"stock\":1,\"listed_at\":%lld}",
	    (long long)ts, (long long)ts);
	bad[2] = strdup(buf);
	snprintf(buf, sizeof(buf), "{\"type\":\"page_view\",\"event_id\":"
	    "\"t4-e4\",\"ts\":%lld,\"shop_id\":\"shop-t4\",\"product_id\":"
	    "\"t4-p0\",\"customer_id\":\"bad\xff\xfe\"}", (long long)ts);
	bad[3] = strdup(buf);
	bad[4] = t4_oversize(ts, T4_OVERSIZE);
	snprintf(buf, sizeof(buf), "{\"type\":\"page_view\",\"event_id\":"
	    "\"t4-e6\",\"ts\":%lld,\"shop_id\":\"shop-t4\",\"product_id\":"
	    "\"t4-p0\",\"customer_id\":42}", (long long)ts);
	bad[5] = strdup(buf);
}

/* Decode base64 into out (at least 3/4 of strlen(in)); the length. */
static size_t
base64_decode(const char *in, unsigned char *out)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;
	const char *d;

	for (; *in != '\0' && *in != '='; in++) {
		if ((d = strchr(digits, *in)) == NULL)
			fail_msg("bad base64 character '%c'", *in);
		acc = acc << 6 | (uint32_t)(d - digits);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

/* When the dead letter carries payload_base64, it must be the exact bytes. */
static void
t4_check_base64(json_t *v, const char *sent)
{
	const char *b64 = json_string_value(json_object_get(v,
	    "payload_base64"));
	unsigned char buf[1024];

	if (b64 == NULL || strlen(b64) >= sizeof(buf))
		return;
	assert_int_equal(base64_decode(b64, buf), strlen(sent));
	assert_memory_equal(buf, sent, strlen(sent));
}

/* The reason must be want ("...*": start with it). */
static void
t4_check_reason(const char *got, const char *want)
{
	size_t n = strlen(want);

	if (n > 0 && want[n - 1] == '*') {
		if (strncmp(got, want, n - 1) != 0)
			fail_msg("dead-letter reason \"%s\", want \"%s\"", got,
			    want);
	} else
		assert_string_equal(got, want);
}

/* Check the dead letter of bad message i against its reason. */
static void
t4_check_dead(json_t *v, const char *sent, int64_t offset,
    const char *reason)
{
	const char *payload = sfield(v, "payload");
	const char *bad = strstr(sent, "\xff");

	print_message("offset %lld: reason \"%s\" payload %.120s%s\n",
	    (long long)offset, sfield(v, "reason"), payload,
	    strlen(payload) > 120 ? "..." : "");
	t4_check_reason(sfield(v, "reason"), reason);
	if (bad == NULL)
		assert_string_equal(payload, sent);
	else
		assert_memory_equal(payload, sent, (size_t)(bad - sent));
	t4_check_base64(v, sent);
}

/* Find the dead letter of one input offset among msgs, or fail. */
static json_t *
t4_find_dead(json_t *msgs, int64_t offset)
{
	size_t i;
	json_t *v;

	for (i = 0; i < json_array_size(msgs); i++) {
		v = json_object_get(json_array_get(msgs, i), "value");
		if (json_integer_value(json_object_get(v, "offset")) == offset)
			return v;
	}
	fail_msg("no dead letter for input offset %lld", (long long)offset);
	return NULL;
}

/* Read the dead letters of the bad messages and check each. */
static void
t4_check_dead_letters(struct harness *h, char **bad,
    const struct harness_pos *pos)
{
	int64_t offs[T4_BAD];
	struct dead_match m = { pos[0].partition, offs, T4_BAD };
	json_t *msgs;
	int i;

	for (i = 0; i < T4_BAD; i++) {
		assert_int_equal(pos[i].partition, pos[0].partition);
		offs[i] = pos[i].offset;
	}
	H_OK(h, harness_consume(h, HARNESS_TOPIC_DEAD, match_dead, &m,
	    T4_BAD, WAIT_MS, &msgs));
	print_message("%zu dead letters for %d bad messages\n",
	    json_array_size(msgs), T4_BAD);
	for (i = 0; i < T4_BAD; i++)
		t4_check_dead(t4_find_dead(msgs, offs[i]), bad[i], offs[i],
		    t4_reasons[i]);
	json_decref(msgs);
}

/* Wait until a /metrics counter reaches want; its last value. */
static long long
wait_metric_ge(struct harness *h, const char *name, long long want)
{
	int64_t until = harness_now_ms() + WAIT_MS;
	long long v;

	while ((v = harness_metric(h, name)) < want &&
	    harness_now_ms() < until)
		harness_sleep_ms(100);
	return v;
}

static void
test_dead_letters(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t4-p0" };
	static const int64_t price[] = { 3000 };
	struct harness_pos pos[T4_BAD];
	char *bad[T4_BAD], cust[64];
	json_t *plan, *offer;
	long long price_after, dead_before, dead_after;
	int i, seq = 0;

	catalog(h, "shop-t4", prod, price, 1);
	plan = create_plan(h, "shop-t4", prod, 1, 10, 30, NULL);
	dead_before = harness_metric(h, "smartpromo_dead_letters_total");
	assert_true(dead_before >= 0);
	t4_bad_messages(bad, harness_now_ms());
	for (i = 0; i < T4_BAD; i++)
		H_OK(h, harness_send(h, HARNESS_TOPIC_EVENTS, prod[0], bad[i],
		    strlen(bad[i]), &pos[i]));
	next_customer("t4-c", 0, &seq, cust, sizeof(cust));
	send_event(h, prod[0], view_event("shop-t4", prod[0], cust,
	    harness_now_ms()));
	H_OK(h, harness_flush(h));
	offer = wait_offer(h, prod[0], cust);
	print_message("valid view after the bad ones: offer %s\n",
	    sfield(offer, "offer_id"));
	t4_check_dead_letters(h, bad, pos);
	dead_after = wait_metric_ge(h, "smartpromo_dead_letters_total",
	    dead_before + T4_BAD);
	print_message("smartpromo_dead_letters_total %lld -> %lld (want +%d)"
	    "\n", dead_before, dead_after, T4_BAD);
	assert_int_equal(dead_after, dead_before + T4_BAD);
	H_OK(h, harness_hget_ll(h, "sp:{t4-p0}:product", "price",
	    &price_after));
	assert_int_equal(price_after, 3000);
	for (i = 0; i < T4_BAD; i++)
		free(bad[i]);
	json_decref(offer);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 5: a duplicated event changes state once ---- */

/* Produce the same text twice under key. */
static void
send_twice(struct harness *h, const char *key, json_t *ev)
{
	char *text = json_dumps(ev, JSON_COMPACT);

	assert_non_null(text);
	H_OK(h, harness_send(h, HARNESS_TOPIC_EVENTS, key, text,
	    strlen(text), NULL));
	H_OK(h, harness_send(h, HARNESS_TOPIC_EVENTS, key, text,
	    strlen(text), NULL));
	free(text);
	json_decref(ev);
}

/* A fresh non-holdout view of product, flushed; waits for its offer. */
static json_t *
barrier_view(struct harness *h, const char *shop, const char *product,
    const char *prefix, int *seq)
{
	char cust[64];

	next_customer(prefix, 0, seq, cust, sizeof(cust));
	send_event(h, product, view_event(shop, product, cust,
	    harness_now_ms()));
	H_OK(h, harness_flush(h));
	return wait_offer(h, product, cust);
}

/* The number of distinct offer_ids among msgs. */
static int
distinct_offer_ids(json_t *msgs)
{
	json_t *seen = json_object();
	size_t i;
	int n;

	for (i = 0; i < json_array_size(msgs); i++)
		json_object_set_new(seen, sfield(json_object_get(
		    json_array_get(msgs, i), "value"), "offer_id"), json_true());
	n = (int)json_object_size(seen);
	json_decref(seen);
	return n;
}

/* The view half of test 5: *pv and the customer's offers (new ref). */
static json_t *
t5_views(struct harness *h, const char *prod, const char *cust, int *seq,
    int64_t ts, long long *pv)
{
	json_t *msgs;

	send_twice(h, prod, view_event("shop-t5", prod, cust, ts));
	json_decref(barrier_view(h, "shop-t5", prod, "t5-b", seq));
	*pv = wait_day_counter(h, prod, ts, "pv", 2);
	msgs = read_offers(h, NULL, prod, cust, 0, 3000);
	print_message("same view twice + 1 other view: pv %lld (want 2), "
	    "offers to the customer %zu, distinct ids %d (want 1)\n", *pv,
	    json_array_size(msgs), distinct_offer_ids(msgs));
	if (json_array_size(msgs) == 0)
		fail_msg("no offer for \"%s\"", cust);
	return msgs;
}

/* The order half of test 5: the same order line twice, then a barrier;
 * the offer's arm must have learnt one conversion, not two. */
static void
t5_orders(struct harness *h, const char *prod, const char *cust, int *seq,
    json_t *order, json_t *offer, int64_t ts)
{
	char arm[80];
	double s0, s1;

	offer_arm(h, prod, cust, arm, sizeof(arm));
	s0 = arm_successes(h, prod, arm);
	send_twice(h, prod, json_incref(order));
	json_decref(barrier_view(h, "shop-t5", prod, "t5-b", seq));
	s1 = arm_successes(h, prod, arm);
	print_message("same order line twice: ord %lld ord_o %lld gmv_t %lld "
	    "(want 1, 1, %lld); arm %s conversions %.4f -> %.4f (want +1)\n",
	    day_counter(h, prod, ts, "ord"), day_counter(h, prod, ts,
	    "ord_o"), day_counter(h, prod, ts, "gmv_t"),
	    (long long)ifield(offer, "offer_price"), arm, s0, s1);
	assert_true(s1 > s0 + 0.9 && s1 < s0 + 1.1);
}

/* The learning state sp:{P}:arms as a JSON object (new reference). */
static json_t *
t5_arms(struct harness *h, const char *prod)
{
	char key[256];
	json_t *arms;

	pkey(key, sizeof(key), prod, "arms");
	H_OK(h, harness_hgetall(h, key, &arms));
	assert_true(json_object_size(arms) > 0);
	return arms;
}

/*
 * The same order line once more, later: nothing it feeds may move.  The
 * barrier is a catalog row with a new stock, which touches no arm.
 */
static void
t5_redeliver(struct harness *h, const char *prod, json_t *order, int64_t ts)
{
	json_t *before = t5_arms(h, prod), *after, *row;
	long long ord = day_counter(h, prod, ts, "ord");
	long long gmv = day_counter(h, prod, ts, "gmv_t"), stock;
	char key[256];

	send_event(h, prod, json_incref(order));
	row = product_event("shop-t5", prod, 6000, harness_now_ms());
	json_object_set_new(row, "stock", json_integer(177));
	send_event(h, prod, row);
	H_OK(h, harness_flush(h));
	pkey(key, sizeof(key), prod, "product");
	H_OK(h, harness_wait_hash_ge(h, key, "stock", 177, WAIT_MS, &stock));
	after = t5_arms(h, prod);
	print_message("order line a third time: arms before %s\n"
	    "                               after  %s\n", jtext(before),
	    jtext(after));
	assert_true(json_equal(before, after));
	assert_int_equal(day_counter(h, prod, ts, "ord"), ord);
	assert_int_equal(day_counter(h, prod, ts, "gmv_t"), gmv);
	json_decref(before);
	json_decref(after);
}

static void
test_duplicates_apply_once(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t5-p0" };
	static const int64_t price[] = { 6000 };
	char cust[64];
	json_t *plan, *msgs, *offer, *order;
	long long pv;
	int64_t ts;
	int seq = 0;

	catalog(h, "shop-t5", prod, price, 1);
	plan = create_plan(h, "shop-t5", prod, 1, 10, 30, NULL);
	next_customer("t5-c", 0, &seq, cust, sizeof(cust));
	ts = harness_now_ms();
	msgs = t5_views(h, prod[0], cust, &seq, ts, &pv);
	offer = json_object_get(json_array_get(msgs, 0), "value");
	order = order_event("shop-t5", prod[0], "t5-o1", cust, offer, 1,
	    harness_now_ms());
	t5_orders(h, prod[0], cust, &seq, order, offer, ts);
	assert_int_equal(day_counter(h, prod[0], ts, "ord_o"), 1);
	assert_int_equal(day_counter(h, prod[0], ts, "ord"), 1);
	assert_int_equal(day_counter(h, prod[0], ts, "gmv_t"),
	    ifield(offer, "offer_price"));
	assert_int_equal(distinct_offer_ids(msgs), 1);
	assert_int_equal(pv, 2);
	t5_redeliver(h, prod[0], order, ts);
	json_decref(order);
	json_decref(msgs);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 8: an ended plan makes no more offers ---- */

#define T8_BEFORE 10
#define T8_AFTER 20

/* Send n views from fresh non-holdout customers; ids go to list. */
static void
t8_views(struct harness *h, const char *prod, int n, int *seq, json_t *list)
{
	char cust[64];
	int i;

	for (i = 0; i < n; i++) {
		next_customer("t8-c", 0, seq, cust, sizeof(cust));
		json_array_append_new(list, json_string(cust));
		send_event(h, prod, view_event("shop-t8", prod, cust,
		    harness_now_ms()));
	}
	H_OK(h, harness_flush(h));
}

/* Count the offers to customers in list. */
static int
count_offers_to(json_t *msgs, json_t *list)
{
	size_t i, j;
	int n = 0;
	const char *c;

	for (i = 0; i < json_array_size(msgs); i++) {
		c = sfield(json_object_get(json_array_get(msgs, i), "value"),
		    "customer_id");
		for (j = 0; j < json_array_size(list); j++)
			if (strcmp(c, json_string_value(json_array_get(list,
			    j))) == 0)
				n++;
	}
	return n;
}

/* POST /v1/plans/{id}/end and check the answer. */
static void
end_plan(struct harness *h, const char *id)
{
	char path[128];
	json_t *plan = NULL;
	int status;

	snprintf(path, sizeof(path), "/v1/plans/%s/end", id);
	H_OK(h, harness_http(h, "POST", path, NULL, &status, &plan));
	print_message("POST %s: %d status \"%s\" end_reason \"%s\"\n", path,
	    status, sfield(plan, "status"), sfield(plan, "end_reason"));
	assert_int_equal(status, 200);
	assert_string_equal(sfield(plan, "status"), "ended");
	json_decref(plan);
	H_OK(h, harness_http(h, "POST", path, NULL, &status, NULL));
	assert_int_equal(status, 409);
}

static void
test_end_plan(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t8-p0" };
	static const int64_t price[] = { 2500 };
	json_t *plan, *before = json_array(), *after = json_array(), *msgs;
	int64_t ts;
	int seq = 0;

	catalog(h, "shop-t8", prod, price, 1);
	plan = create_plan(h, "shop-t8", prod, 1, 10, 30, NULL);
	ts = harness_now_ms();
	t8_views(h, prod[0], T8_BEFORE, &seq, before);
	json_decref(read_offers(h, NULL, prod[0], NULL, T8_BEFORE, 5000));
	end_plan(h, plan_id(plan));
	t8_views(h, prod[0], T8_AFTER, &seq, after);
	wait_day_counter(h, prod[0], ts, "pv", T8_BEFORE + T8_AFTER);
	harness_sleep_ms(SETTLE_MS);
	msgs = read_offers(h, NULL, prod[0], NULL, 0, 3000);
	print_message("views before end %d, after %d: offers before %d, "
	    "after %d\n", T8_BEFORE, T8_AFTER, count_offers_to(msgs, before),
	    count_offers_to(msgs, after));
	assert_true(count_offers_to(msgs, before) >= 1);
	assert_int_equal(count_offers_to(msgs, after), 0);
	json_decref(msgs);
	json_decref(before);
	json_decref(after);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 9: smartpromoctl plan list, show and end ---- */

#define T9_ARGS 6

/*
 * Run the built smartpromoctl --url <daemon> with up to T9_ARGS more
 * arguments (NULL-terminated); *code gets its exit status.  Its stdout and
 * stderr, as text (malloc'd).
 */
static char *
ctl_run(struct harness *h, int *code, ...)
{
	char *argv[4 + T9_ARGS], out[HARNESS_PATH_MAX], *text;
	int n = 0, status;
	va_list ap;

	argv[n++] = SP_BIN_DIR "/smartpromoctl";
	argv[n++] = "--url";
	argv[n++] = h->url;
	va_start(ap, code);
	while (n < 3 + T9_ARGS && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/ctl.out", h->dir);
	H_OK(h, harness_run(h, argv, out, WAIT_MS, &status));
	assert_true(WIFEXITED(status));
	*code = WEXITSTATUS(status);
	assert_non_null(text = harness_read_file(out));
	print_message("$ smartpromoctl");
	for (int i = 3; i < n; i++)
		print_message(" %s", argv[i]);
	print_message("  (exit %d)\n%.800s%s\n", *code, text,
	    strlen(text) > 800 ? "\n..." : "");
	return text;
}

/* The value of a key/value line "KEY  VALUE" of a table, or fail. */
static void
ctl_kv_expect(const char *text, const char *key, const char *want)
{
	size_t k = strlen(key);
	const char *p, *v, *e;

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p ? p + 1 : NULL) {
		if (strncmp(p, key, k) != 0 || p[k] != ' ' || p[k + 1] != ' ')
			continue;
		for (v = p + k; *v == ' '; v++)
			;
		e = strchr(v, '\n');
		if (e == NULL)
			e = v + strlen(v);
		if ((size_t)(e - v) != strlen(want) ||
		    strncmp(v, want, (size_t)(e - v)) != 0)
			fail_msg("\"%s\" is \"%.*s\", want \"%s\"", key,
			    (int)(e - v), v, want);
		return;
	}
	fail_msg("no line \"%s\" in:\n%s", key, text);
}

/* Nonzero if a line of text is exactly the n words of cells. */
static int
ctl_has_row(const char *text, const char *const *cells, int n)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		const char *q = p;
		int i;

		for (i = 0; i < n; i++) {
			size_t w = strlen(cells[i]);

			while (*q == ' ')
				q++;
			if (strncmp(q, cells[i], w) != 0 ||
			    (q[w] != ' ' && q[w] != '\n' && q[w] != '\0'))
				break;
			q += w;
		}
		while (*q == ' ')
			q++;
		if (i == n && (*q == '\n' || *q == '\0'))
			return 1;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

/* The plan of id in a --json answer: the object itself or in "plans". */
static json_t *
ctl_json_plan(const char *text, const char *id)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e), *p;
	size_t i;

	if (j == NULL)
		fail_msg("--json output is not JSON (%s): %s", e.text, text);
	if (strcmp(sfield(j, "plan_id"), id) == 0)
		return j;
	json_array_foreach(json_object_get(j, "plans"), i, p)
		if (strcmp(sfield(p, "plan_id"), id) == 0) {
			json_incref(p);
			json_decref(j);
			return p;
		}
	fail_msg("plan %s not in --json output: %s", id, text);
	return NULL;
}

/* plan list, as a table and as JSON, shows the plan as it is. */
static void
t9_list(struct harness *h, json_t *plan)
{
	static const char *const head[] = { "ID", "NAME", "SHOP", "KIND",
	    "STATUS", "RANGE", "PRODUCTS", "START", "END" };
	char start[16], end[16];
	const char *row[] = { plan_id(plan), "shop-t9", "shop-t9", "custom",
	    "active", "10-30%", "2", start, end };
	json_t *p;
	char *text;
	int code;

	harness_date(ifield(plan, "start"), start, sizeof(start));
	harness_date(ifield(plan, "end"), end, sizeof(end));
	text = ctl_run(h, &code, "plan", "list", NULL);
	assert_int_equal(code, 0);
	if (!ctl_has_row(text, head, 9) || !ctl_has_row(text, row, 9))
		fail_msg("plan list: no header or no row of %s",
		    plan_id(plan));
	free(text);
	text = ctl_run(h, &code, "--json", "plan", "list", NULL);
	assert_int_equal(code, 0);
	p = ctl_json_plan(text, plan_id(plan));
	assert_string_equal(sfield(p, "status"), "active");
	assert_true(json_equal(json_object_get(p, "products"),
	    json_object_get(plan, "products")));
	json_decref(p);
	free(text);
}

/* plan show, as key/value lines and as JSON. */
static void
t9_show(struct harness *h, json_t *plan, const char *status)
{
	char path[128];
	json_t *api, *p;
	char *text;
	int code, st;

	text = ctl_run(h, &code, "plan", "show", plan_id(plan), NULL);
	assert_int_equal(code, 0);
	ctl_kv_expect(text, "plan", plan_id(plan));
	ctl_kv_expect(text, "name", "shop-t9");
	ctl_kv_expect(text, "shop", "shop-t9");
	ctl_kv_expect(text, "kind", "custom");
	ctl_kv_expect(text, "status", status);
	ctl_kv_expect(text, "products", "2: t9-p0, t9-p1");
	ctl_kv_expect(text, "discount", "10-30%");
	ctl_kv_expect(text, "days", "14");
	free(text);
	text = ctl_run(h, &code, "--json", "plan", "show", plan_id(plan),
	    NULL);
	assert_int_equal(code, 0);
	p = ctl_json_plan(text, plan_id(plan));
	snprintf(path, sizeof(path), "/v1/plans/%s", plan_id(plan));
	H_OK(h, harness_http(h, "GET", path, NULL, &st, &api));
	assert_int_equal(st, 200);
	json_object_del(p, "totals");
	json_object_del(api, "totals");
	if (!json_equal(p, api))
		fail_msg("--json plan show %s differs from GET %s: %s",
		    jtext(p), path, jtext(api));
	json_decref(api);
	json_decref(p);
	free(text);
}

/* plan end ends it once; a second end and an unknown plan exit 1. */
static void
t9_end(struct harness *h, json_t *plan)
{
	char line[128];
	char *text;
	int code;

	text = ctl_run(h, &code, "plan", "end", plan_id(plan), NULL);
	assert_int_equal(code, 0);
	snprintf(line, sizeof(line), "plan %s ended\n", plan_id(plan));
	assert_true(strncmp(text, line, strlen(line)) == 0);
	ctl_kv_expect(text, "status", "ended");
	ctl_kv_expect(text, "end reason", "ended by request");
	free(text);
	text = ctl_run(h, &code, "--json", "plan", "end", plan_id(plan),
	    NULL);
	assert_int_equal(code, 1);
	assert_non_null(strstr(text, "(HTTP 409)"));
	free(text);
	text = ctl_run(h, &code, "plan", "show", "pl-t9-none", NULL);
	assert_int_equal(code, 1);
	assert_non_null(strstr(text, "(HTTP 404)"));
	free(text);
}

static void
test_ctl_plans(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t9-p0", "t9-p1" };
	static const int64_t price[] = { 1500, 2500 };
	json_t *plan;

	catalog(h, "shop-t9", prod, price, 2);
	plan = create_plan(h, "shop-t9", prod, 2, 10, 30, NULL);
	t9_list(h, plan);
	t9_show(h, plan, "active");
	t9_end(h, plan);
	t9_show(h, plan, "ended");
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 6: plans survive a restart ---- */

/* GET /v1/plans/{id} without its live "totals" (new reference). */
static json_t *
get_plan(struct harness *h, const char *id)
{
	char path[128];
	json_t *plan = NULL;
	int status;

	snprintf(path, sizeof(path), "/v1/plans/%s", id);
	H_OK(h, harness_http(h, "GET", path, NULL, &status, &plan));
	if (status != 200 || plan == NULL)
		fail_msg("GET %s: status %d", path, status);
	json_object_del(plan, "totals");
	return plan;
}

static void
test_plans_survive_restart(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t6-p0", "t6-p1" };
	static const int64_t price[] = { 4000, 900 };
	json_t *plan, *before, *after, *offer;
	int seq = 0;

	catalog(h, "shop-t6", prod, price, 2);
	plan = create_plan(h, "shop-t6", prod, 2, 5, 25,
	    json_pack("{s:[f,f]}", "t6-p1", 7.5, 12.25));
	before = get_plan(h, plan_id(plan));
	H_OK(h, harness_restart_daemon(h));
	after = get_plan(h, plan_id(plan));
	print_message("before restart: %s\nafter restart:  %s\n",
	    jtext(before), jtext(after));
	assert_string_equal(sfield(after, "status"), "active");
	assert_true(json_equal(before, after));
	offer = barrier_view(h, "shop-t6", prod[1], "t6-c", &seq);
	print_message("offer after restart: %s\n",
	    jtext(offer));
	check_offer_range(offer, 900, 750, 1225);
	json_decref(offer);
	json_decref(before);
	json_decref(after);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 11: a budget's reservations survive a restart ---- */

/* A custom plan of one product with a budget (new reference). */
static json_t *
create_budget_plan(struct harness *h, const char *shop, const char *prod,
    long long budget)
{
	const char *const prods[] = { prod };
	char *body = plan_body(shop, shop, prods, 1, 10, 30, NULL);
	json_t *req = json_loads(body, 0, NULL);

	assert_non_null(req);
	json_object_set_new(req, "budget", json_integer(budget));
	free(body);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return post_plan(h, shop, body);
}

/*
 * An offer reserves its worst case (two units' discount) against the
 * plan's budget until its credit window ends; the reservation is kept in
 * sp:plan:<id>:budget, so the order a restart comes between is credited
 * against it: no cost is counted as overrun.  (Before, reservations lived
 * in memory only and the whole cost of that order was overrun.)
 */
static void
test_budget_survives_restart(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "t11-p0" };
	static const int64_t price[] = { 8000 };
	char cust[64], key[256], want[64], *resv;
	json_t *plan, *offer;
	long long per, overrun;
	int seq = 0;

	catalog(h, "shop-t11", prod, price, 1);
	plan = create_budget_plan(h, "shop-t11", prod[0], 10000000);
	next_customer("t11-c", 0, &seq, cust, sizeof(cust));
	send_event(h, prod[0], view_event("shop-t11", prod[0], cust,
	    harness_now_ms()));
	H_OK(h, harness_flush(h));
	offer = wait_offer(h, prod[0], cust);
	per = ifield(offer, "list_price") - ifield(offer, "offer_price");
	snprintf(key, sizeof(key), "sp:plan:%s:budget", plan_id(plan));
	H_OK(h, harness_wait_exists(h, key, WAIT_MS));
	H_OK(h, harness_hget(h, key, "resv", &resv));
	assert_non_null(resv);
	print_message("reservations before the restart: %s (offer %s, %lld "
	    "a unit)\n", resv, sfield(offer, "offer_id"), per);
	snprintf(want, sizeof(want), ":%lld:", 2 * per);
	assert_non_null(strstr(resv, want));
	free(resv);
	H_OK(h, harness_restart_daemon(h));
	send_event(h, prod[0], order_event("shop-t11", prod[0], "t11-o1", cust,
	    offer, 1, harness_now_ms()));
	H_OK(h, harness_flush(h));
	assert_int_equal(wait_day_counter(h, prod[0], harness_now_ms(),
	    "ord_o", 1), 1);
	overrun = harness_metric(h, "smartpromo_budget_overrun_total");
	print_message("overrun after the restart: %lld (the order's cost "
	    "%lld)\n", overrun, per);
	assert_int_equal(overrun, 0);
	json_decref(offer);
	json_decref(plan);
	harness_pass(h);
}

/* ---- test 10: the write script refuses a key of the wrong type ---- */

/* Run a Redis command (no reply wanted) or fail the test. */
static void
twc_redis(struct harness *h, const char *cmd, const char *key,
    const char *arg1, const char *arg2)
{
	redisReply *r = arg2 != NULL ? redisCommand(h->rc, "%s %s %s %s", cmd,
	    key, arg1, arg2) : arg1 != NULL ? redisCommand(h->rc, "%s %s %s",
	    cmd, key, arg1) : redisCommand(h->rc, "%s %s", cmd, key);

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		fail_msg("%s %s: %s", cmd, key, r != NULL ? r->str :
		    h->rc->errstr);
	freeReplyObject(r);
}

/*
 * Send a view of customer and wait until the daemon logged the refusal
 * want ("INVALID <key>: <why>; nothing written") for it; then the
 * product's kpos must still be kpos and the customer have no view record.
 */
static void
twc_refused(struct harness *h, const char *prod, const char *customer,
    int64_t ts, const char *kpos, const char *want)
{
	char key[256], *log = NULL, *pos, *view;
	int64_t until = harness_now_ms() + WAIT_MS;
	redisReply *r;

	send_event(h, prod, view_event("shop-twc", prod, customer, ts));
	H_OK(h, harness_flush(h));
	while (harness_now_ms() < until) {
		free(log);
		if ((log = harness_read_file(h->daemon.log)) != NULL &&
		    strstr(log, want) != NULL)
			break;
		harness_sleep_ms(100);
	}
	print_message("waited for \"%s\"\n", want);
	assert_non_null(log);
	assert_non_null(strstr(log, want));
	free(log);
	pkey(key, sizeof(key), prod, "product");
	H_OK(h, harness_hget(h, key, "kpos", &pos));
	assert_non_null(pos);
	assert_string_equal(pos, kpos);
	free(pos);
	pkey(key, sizeof(key), prod, "views");
	if ((r = redisCommand(h->rc, "TYPE %s", key)) == NULL)
		fail_msg("TYPE %s: %s", key, h->rc->errstr);
	if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "hash") == 0) {
		H_OK(h, harness_hget(h, key, customer, &view));
		assert_null(view);
	}
	freeReplyObject(r);
}

/*
 * Redis does not roll a script back, so the write script checks every key
 * before its first write (docs/reliability.md, "The write script"): a
 * counter that is not an integer (the HMGET check), a dated key of the
 * wrong type (found by its TTL, then the HMGET).  Each is refused with
 * nothing written (the product's kpos unchanged, no view record) and, once
 * the key is repaired, the retried batch applies the view exactly once.
 * (A view's other keys are read by the load, which fails first on a
 * wrong type; tests/fault/run.sh corrupt covers the HyperLogLogs.)
 */
static void
test_write_checks(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "twc-p0" };
	static const int64_t price[] = { 5000 };
	char pk[256], views[256], day[256], want[512], *kpos;
	int64_t ts = harness_now_ms();

	catalog(h, "shop-twc", prod, price, 1);
	pkey(pk, sizeof(pk), prod[0], "product");
	pkey(views, sizeof(views), prod[0], "views");
	day_key(day, sizeof(day), prod[0], ts);
	H_OK(h, harness_hget(h, pk, "kpos", &kpos));
	assert_non_null(kpos);

	twc_redis(h, "HSET", day, "pv", "many");
	snprintf(want, sizeof(want), "INVALID %s: field pv is not an "
	    "integer; nothing written", day);
	twc_refused(h, prod[0], "twc-c1", ts, kpos, want);
	assert_int_equal(harness_exists(h, views), 0);
	twc_redis(h, "HDEL", day, "pv", NULL);
	assert_int_equal(wait_day_counter(h, prod[0], ts, "pv", 1), 1);
	free(kpos);
	H_OK(h, harness_hget(h, pk, "kpos", &kpos));

	twc_redis(h, "DEL", day, NULL, NULL);
	twc_redis(h, "RPUSH", day, "not-a-hash", NULL);
	snprintf(want, sizeof(want), "INVALID %s: not a hash; nothing written",
	    day);
	twc_refused(h, prod[0], "twc-c3", ts, kpos, want);
	twc_redis(h, "DEL", day, NULL, NULL);
	assert_int_equal(wait_day_counter(h, prod[0], ts, "pv", 1), 1);
	free(kpos);
	harness_pass(h);
}

/* ---- fixtures ---- */

static struct harness harness_e2e, harness_cfg;

/* Start redis, the broker and the daemon for the e2e group. */
static int
setup_e2e(void **state)
{
	*state = &harness_e2e;
	return harness_start_group(&harness_e2e, NULL);
}

/* Only a temporary directory, for the config check group. */
static int
setup_cfg(void **state)
{
	*state = &harness_cfg;
	if (harness_init(&harness_cfg) == -1) {
		fprintf(stderr, "harness: %s\n", harness_cfg.err);
		return -1;
	}
	return 0;
}

/* Before each test: not passed yet; a dead daemon fails it at once. */
static int
setup_test(void **state)
{
	struct harness *h = *state;

	h->test_ok = 0;
	if (h->redis.pid > 0 && !harness_proc_alive(&h->daemon)) {
		fprintf(stderr, "smartpromod is not running (wait status "
		    "0x%x)\n", (unsigned)h->daemon.status);
		harness_log_tail(&h->daemon, 80);
		return -1;
	}
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_test, teardown_test)

int
main(void)
{
	const struct CMUnitTest cfg[] = {
		T(test_config_check),
	};
	const struct CMUnitTest e2e[] = {
		T(test_offers_in_plan_and_range),
		T(test_no_offers_in_holdout),
		T(test_order_updates_learning),
		T(test_dead_letters),
		T(test_duplicates_apply_once),
		T(test_end_plan),
		T(test_write_checks),
		T(test_ctl_plans),
		T(test_plans_survive_restart),
		T(test_budget_survives_restart),
	};
	int failed;

	failed = cmocka_run_group_tests_name("config", cfg, setup_cfg,
	    harness_teardown_group);
	failed += cmocka_run_group_tests_name("e2e", e2e, setup_e2e,
	    harness_teardown_group);
	return failed != 0;
}
