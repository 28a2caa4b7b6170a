/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tools.c - promotion tools against campaigns and vouchers across
 * their plan's end (issue 4, docs/pricing.md), with the real smartpromod,
 * redis-server and smartpromo-devbroker (tests/integration/harness.h).
 * The daemon offers only the stacking tools ([engine] tools = voucher,
 * bmsm).
 *
 * - A campaign price (8500 on a list price of 10000, plan range 20-20 %)
 *   known to start in one hour: every offer made now ends at the
 *   campaign's start, since either tool stacked on the campaign would make
 *   the seller fund more than 2000 a unit (bmsm 2+ 20 %: 1500 + 1700).
 * - The same campaign announced after the offers: each standing offer is
 *   re-issued (same offer_id) to end at the campaign's start, so that no
 *   offer's last message runs into the campaign.
 * - A voucher used after its plan was ended is credited to that plan
 *   (treatment line, offer line, cost, learner conversion); cancelled
 *   before its expiry it is given back, and used again it is credited
 *   again.
 * - /metrics counts what the guarantee did: the offers cut at the
 *   campaign's start, the offers re-issued, the voucher given back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "httpc.h"
#define ITEST_EVENT_PREFIX "tl-ev-"
#include "itest.h"

#define HOLDOUT_PCT 10.0        /* [engine] holdout_pct the harness sets */
#define HOUR_MS 3600000LL
#define LIST 10000
#define CAMPAIGN 8500
#define NVIEWS 12

/* The next treatment customer "<prefix>-<n>". */
static void
next_customer(const char *prefix, int *seq, char *buf, size_t len)
{
	do
		snprintf(buf, len, "%s-%d", prefix, (*seq)++);
	while (harness_in_holdout(buf, HOLDOUT_PCT));
}

/* Queue an event keyed by its product and drop the reference. */
static void
send_event(struct harness *h, const char *product, json_t *ev)
{
	assert_non_null(ev);
	H_OK(h, harness_send_event(h, product, ev));
	json_decref(ev);
}

/* An integer field of an object, fails the test when absent. */
static int64_t
ifield(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v))
		fail_msg("field \"%s\" is not an integer in %s", name,
		    harness_jtext(o));
	return json_integer_value(v);
}

/* A catalog row, stored before the function returns. */
static void
catalog(struct harness *h, const char *shop, const char *product)
{
	json_t *ev = event_new("product", shop, product, harness_now_ms());
	char key[256];

	json_object_set_new(ev, "price", json_integer(LIST));
	json_object_set_new(ev, "stock", json_integer(100));
	json_object_set_new(ev, "listed_at", json_integer(1690000000000LL));
	send_event(h, product, ev);
	H_OK(h, harness_flush(h));
	pkey(key, sizeof(key), product, "product");
	H_OK(h, harness_wait_exists(h, key, WAIT_MS));
}

/* POST /v1/plans for one product; returns the plan id (malloc'd). */
static char *
create_plan(struct harness *h, const char *shop, const char *product,
    double min_pct, double max_pct)
{
	json_t *body = json_pack("{s:s, s:s, s:[s], s:f, s:f}", "name", shop,
	    "shop_id", shop, "products", product, "discount_min_pct", min_pct,
	    "discount_max_pct", max_pct), *plan = NULL;
	char *text = json_dumps(body, JSON_COMPACT), *id;
	int status;

	H_OK(h, harness_http(h, "POST", "/v1/plans", text, &status, &plan));
	if (status != 201 || !json_is_string(json_object_get(plan, "plan_id")))
		fail_msg("POST /v1/plans %s: status %d", text, status);
	id = strdup(json_string_value(json_object_get(plan, "plan_id")));
	free(text);
	json_decref(body);
	json_decref(plan);
	return id;
}

/* A campaign event for product; waits until the daemon stored it. */
static void
campaign(struct harness *h, const char *shop, const char *product,
    int64_t start, int64_t end)
{
	json_t *ev = event_new("campaign", shop, product, harness_now_ms());
	char key[256], *v = NULL;
	int64_t until = harness_now_ms() + WAIT_MS;

	json_object_set_new(ev, "campaign_id", json_string("tl-cmp"));
	json_object_set_new(ev, "campaign_price", json_integer(CAMPAIGN));
	json_object_set_new(ev, "start", json_integer(start));
	json_object_set_new(ev, "end", json_integer(end));
	send_event(h, product, ev);
	H_OK(h, harness_flush(h));
	pkey(key, sizeof(key), product, "product");
	for (;;) {
		free(v);
		H_OK(h, harness_hget(h, key, "campaign_price", &v));
		if (v != NULL && atoll(v) == CAMPAIGN)
			break;
		if (harness_now_ms() > until)
			fail_msg("campaign of \"%s\" not stored", product);
		harness_sleep_ms(50);
	}
	free(v);
}

/* Keep the offer messages of one product (arg). */
static int
match_product(json_t *v, void *arg)
{
	return strcmp(harness_sfield(v, "type"), "offer") == 0 &&
	    strcmp(harness_sfield(v, "product_id"), arg) == 0;
}

/* The offer messages of a product, at least want (new reference). */
static json_t *
read_offers(struct harness *h, const char *product, int want)
{
	json_t *out;

	H_OK(h, harness_consume(h, HARNESS_TOPIC_OFFERS, match_product,
	    (void *)product, want, 5000, &out));
	return out;
}

/* Views of n new treatment customers; their ids go to custs. */
static void
views(struct harness *h, const char *shop, const char *product,
    const char *prefix, int n, char custs[][48])
{
	int seq = 0;

	for (int i = 0; i < n; i++) {
		next_customer(prefix, &seq, custs[i], sizeof(custs[i]));
		send_event(h, product, view_event(shop, product, custs[i],
		    harness_now_ms()));
	}
	H_OK(h, harness_flush(h));
}

/*
 * A campaign from one hour on is known before the views: no offer may run
 * into it (both tools would stack on the campaign price beyond 2000).
 */
static void
test_campaign_known_before_offers(void **state)
{
	struct harness *h = *state;
	const char *prod = "tl-p0", *shop = "tl-shop0";
	int64_t start = harness_now_ms() + HOUR_MS, end = start + 4 * HOUR_MS;
	char custs[NVIEWS][48], *pid;
	json_t *msgs;
	size_t i;

	catalog(h, shop, prod);
	pid = create_plan(h, shop, prod, 20, 20);
	campaign(h, shop, prod, start, end);
	views(h, shop, prod, "tl-a", NVIEWS, custs);
	msgs = read_offers(h, prod, NVIEWS);
	print_message("%zu offers for %d views, campaign from %lld\n",
	    json_array_size(msgs), NVIEWS, (long long)start);
	assert_int_equal(json_array_size(msgs), NVIEWS);
	for (i = 0; i < json_array_size(msgs); i++) {
		json_t *o = json_object_get(json_array_get(msgs, i), "value");

		assert_string_equal(harness_sfield(o, "plan_id"), pid);
		assert_int_equal(ifield(o, "list_price") - ifield(o,
		    "offer_price"), 2000);
		if (ifield(o, "expires_at") > start)
			fail_msg("offer runs into the campaign and stacks on it "
			    "beyond the range: %s", harness_jtext(o));
	}
	json_decref(msgs);
	free(pid);
	harness_pass(h);
}

/* The last message of each offer_id: none may run into the campaign. */
static void
check_last_messages(json_t *msgs, int64_t start, int want_ids)
{
	json_t *last = json_object();
	const char *id;
	json_t *o;

	for (size_t i = 0; i < json_array_size(msgs); i++) {
		o = json_object_get(json_array_get(msgs, i), "value");
		json_object_set(last, harness_sfield(o, "offer_id"), o);
	}
	assert_int_equal(json_object_size(last), want_ids);
	json_object_foreach(last, id, o) {
		if (ifield(o, "expires_at") > start)
			fail_msg("offer %s still runs into the campaign: %s", id,
			    harness_jtext(o));
		assert_true(ifield(o, "expires_at") == start);
	}
	json_decref(last);
}

/*
 * Offers first, then the campaign (from one hour on) is announced: every
 * standing offer is re-issued with its offer_id to end at the campaign's
 * start, without the customers coming back.
 */
static void
test_campaign_announced_after_offers(void **state)
{
	struct harness *h = *state;
	const char *prod = "tl-p1", *shop = "tl-shop1";
	char custs[NVIEWS][48], *pid;
	int64_t start, end;
	json_t *msgs;

	catalog(h, shop, prod);
	pid = create_plan(h, shop, prod, 20, 20);
	views(h, shop, prod, "tl-b", NVIEWS, custs);
	msgs = read_offers(h, prod, NVIEWS);
	assert_int_equal(json_array_size(msgs), NVIEWS);
	for (size_t i = 0; i < NVIEWS; i++)
		assert_true(ifield(json_object_get(json_array_get(msgs, i),
		    "value"), "expires_at") > harness_now_ms() + 2 * HOUR_MS);
	json_decref(msgs);
	start = harness_now_ms() + HOUR_MS;
	end = start + 4 * HOUR_MS;
	campaign(h, shop, prod, start, end);
	msgs = read_offers(h, prod, 2 * NVIEWS);
	print_message("%zu offer messages after the campaign event\n",
	    json_array_size(msgs));
	assert_int_equal(json_array_size(msgs), 2 * NVIEWS);
	check_last_messages(msgs, start, NVIEWS);
	json_decref(msgs);
	free(pid);
	harness_pass(h);
}

/* The offer record field n (0-based, '|'-separated) of a customer. */
static long long
offer_field(struct harness *h, const char *product, const char *cust, int n)
{
	char key[256], *v = NULL, *p;
	long long r;

	pkey(key, sizeof(key), product, "offers");
	H_OK(h, harness_hget(h, key, cust, &v));
	if (v == NULL)
		fail_msg("no offer record of \"%s\"", cust);
	for (p = v; n > 0 && p != NULL; n--)
		if ((p = strchr(p, '|')) != NULL)
			p++;
	if (p == NULL)
		fail_msg("short offer record \"%s\"", v);
	r = atoll(p);
	free(v);
	return r;
}

/* An order line using offer_id, 2 units paid at price. */
static void
order(struct harness *h, const char *shop, const char *product,
    const char *oid, const char *cust, int64_t price, const char *offer_id)
{
	json_t *ev = event_new("order", shop, product, harness_now_ms());

	json_object_set_new(ev, "order_id", json_string(oid));
	json_object_set_new(ev, "customer_id", json_string(cust));
	json_object_set_new(ev, "qty", json_integer(2));
	json_object_set_new(ev, "unit_price", json_integer(LIST));
	json_object_set_new(ev, "paid_unit_price", json_integer(price));
	json_object_set_new(ev, "offer_id", json_string(offer_id));
	send_event(h, product, ev);
	H_OK(h, harness_flush(h));
}

/* Wait until a customer's offer record has converted == want. */
static void
wait_converted(struct harness *h, const char *product, const char *cust,
    int want)
{
	int64_t until = harness_now_ms() + WAIT_MS;

	while (offer_field(h, product, cust, 9) != want) {
		if (harness_now_ms() > until)
			fail_msg("offer of \"%s\": converted is not %d", cust,
			    want);
		harness_sleep_ms(50);
	}
}

/*
 * A voucher offer, then its plan is ended: an order with the voucher is
 * credited to the plan (ord_t, ord_o, cost 2 x (list - offer_price), a
 * learner conversion in the arms); cancelled, it is given back
 * (converted 2, cost reversed); used again, credited again.
 */
static void
test_voucher_after_plan_end(void **state)
{
	struct harness *h = *state;
	const char *prod = "tl-p2", *shop = "tl-shop2";
	char custs[NVIEWS][48], *pid, path[128], key[256], field[32];
	char offer_id[64] = "", cust[48] = "", *arm = NULL;
	int64_t price = 0, ts;
	long long level, cost;
	json_t *msgs, *upd;
	int status;

	catalog(h, shop, prod);
	pid = create_plan(h, shop, prod, 10, 30);
	views(h, shop, prod, "tl-c", NVIEWS, custs);
	msgs = read_offers(h, prod, NVIEWS);
	for (size_t i = 0; i < json_array_size(msgs) && !offer_id[0]; i++) {
		json_t *o = json_object_get(json_array_get(msgs, i), "value");

		if (strcmp(harness_sfield(o, "tool"), "voucher") != 0)
			continue;
		snprintf(offer_id, sizeof(offer_id), "%s",
		    harness_sfield(o, "offer_id"));
		snprintf(cust, sizeof(cust), "%s",
		    harness_sfield(o, "customer_id"));
		price = ifield(o, "offer_price");
	}
	json_decref(msgs);
	if (offer_id[0] == '\0')
		fail_msg("no voucher among %d offers", NVIEWS);
	snprintf(path, sizeof(path), "/v1/plans/%s/end", pid);
	H_OK(h, harness_http(h, "POST", path, NULL, &status, NULL));
	assert_int_equal(status, 200);
	ts = harness_now_ms();
	cost = 2 * (LIST - price);
	order(h, shop, prod, "tl-o1", cust, price, offer_id);
	assert_int_equal(wait_day_counter(h, prod, ts, "ord_t", 1), 1);
	assert_int_equal(day_counter(h, prod, ts, "ord_o"), 1);
	assert_int_equal(day_counter(h, prod, ts, "cost"), cost);
	wait_converted(h, prod, cust, 1);
	level = offer_field(h, prod, cust, 3);
	pkey(key, sizeof(key), prod, "arms");
	snprintf(field, sizeof(field), "new:%lld", level);
	H_OK(h, harness_hget(h, key, field, &arm));
	assert_non_null(arm);
	print_message("voucher %s of %s after the plan's end: cost %lld, arm "
	    "%s = %s\n", offer_id, cust, cost, field, arm);
	assert_true(strtod(strchr(arm, ' ') + 1, NULL) >= 1.0);
	free(arm);
	/* cancelled: reversed and given back */
	upd = event_new("order_update", shop, prod, harness_now_ms());
	json_object_set_new(upd, "order_id", json_string("tl-o1"));
	json_object_set_new(upd, "status", json_string("cancelled"));
	send_event(h, prod, upd);
	H_OK(h, harness_flush(h));
	wait_day_counter(h, prod, ts, "cancelled", 1);
	assert_int_equal(day_counter(h, prod, ts, "cost"), 0);
	wait_converted(h, prod, cust, 2);
	/* used again: credited again */
	order(h, shop, prod, "tl-o2", cust, price, offer_id);
	wait_converted(h, prod, cust, 1);
	assert_int_equal(day_counter(h, prod, ts, "ord_o"), 1);
	assert_int_equal(day_counter(h, prod, ts, "cost"), cost);
	free(pid);
	harness_pass(h);
}

/* After the tests above: the guarantee's counters moved as they did. */
static void
test_guard_metrics(void **state)
{
	struct harness *h = *state;
	long long cut = harness_metric(h,
	    "smartpromo_checkout_guard_total{guard=\"campaign_cut\"}");
	long long sup = harness_metric(h,
	    "smartpromo_checkout_guard_total{guard=\"superseded\"}");
	long long wh = harness_metric(h,
	    "smartpromo_checkout_guard_total{guard=\"withheld\"}");
	long long ret = harness_metric(h, "smartpromo_vouchers_returned_total");

	print_message("campaign_cut %lld superseded %lld withheld %lld "
	    "vouchers returned %lld\n", cut, sup, wh, ret);
	assert_true(cut == NVIEWS && sup == NVIEWS && wh == 0 && ret == 1);
}

/* The group: the stacking tools only. */
static int
setup_group(void **state)
{
	static struct harness h;

	if (harness_start_group(&h, "[engine]\ntools = voucher,bmsm\n") == -1)
		return -1;
	*state = &h;
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup_test, \
	harness_teardown_test)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_campaign_known_before_offers),
		T(test_campaign_announced_after_offers),
		T(test_voucher_after_plan_end),
		T(test_guard_metrics),
	};

	return cmocka_run_group_tests_name("tools", tests, setup_group,
	    harness_teardown_group) != 0;
}
