/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_event.c - unit tests of the input event decoder (engine/event.c):
 * one valid example per type, every missing required field, wrong types,
 * money rules, size limits, UTF-8 and NUL, duplicate keys, trailing
 * garbage, id lengths, nulls, and a fixed-seed mutation loop.  Every
 * decode is checked against event_decode_reference() (jansson's tree only),
 * so the fast path must agree with it on all of these inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "event.h"

#define T0 "\"event_id\":\"e-1\",\"ts\":1700000000000,\"shop_id\":\"s-1\""

/* A valid example of every type, indexed by enum event_type. */
static const char *const valid[EV__COUNT] = {
	[EV_PRODUCT] = "{\"type\":\"product\"," T0 ",\"product_id\":\"p-1\","
	    "\"price\":129900,\"stock\":12,\"listed_at\":1690000000000,"
	    "\"category\":\"phones\",\"variants\":[{\"variant_id\":\"v-1\","
	    "\"price\":129900},{\"variant_id\":\"v-2\",\"price\":139900}]}",
	[EV_PAGE_VIEW] = "{\"type\":\"page_view\"," T0 ",\"product_id\":"
	    "\"p-1\",\"customer_id\":\"c-1\",\"session_id\":\"sess-1\"}",
	[EV_ORDER] = "{\"type\":\"order\"," T0 ",\"order_id\":\"o-1\","
	    "\"product_id\":\"p-1\",\"variant_id\":\"v-2\",\"customer_id\":"
	    "\"c-1\",\"qty\":2,\"unit_price\":139900,\"paid_unit_price\":"
	    "125910,\"offer_id\":\"of-1\",\"voucher_id\":\"vo-1\","
	    "\"creator_id\":\"cr-1\",\"content_id\":\"ct-1\"}",
	[EV_ORDER_UPDATE] = "{\"type\":\"order_update\"," T0 ",\"order_id\":"
	    "\"o-1\",\"product_id\":\"p-1\",\"status\":\"refunded\"}",
	[EV_CAMPAIGN] = "{\"type\":\"campaign\"," T0 ",\"product_id\":\"p-1\","
	    "\"campaign_id\":\"cmp-1\",\"campaign_price\":99900,"
	    "\"start\":1700000000000,\"end\":1700086400000}",
	[EV_SELLER_PROMOTION] = "{\"type\":\"seller_promotion\"," T0 ","
	    "\"promotion_id\":\"sp-1\",\"product_id\":\"p-1\",\"tool\":"
	    "\"flash_sale\",\"discount_bps\":1500,\"start\":1700000000000,"
	    "\"end\":1700086400000}",
	[EV_PLATFORM_PROMOTION] = "{\"type\":\"platform_promotion\"," T0 ","
	    "\"promotion_id\":\"pp-1\",\"product_id\":\"p-1\",\"kind\":"
	    "\"product_voucher\",\"amount\":5000,\"discount_bps\":1000,"
	    "\"min_spend\":50000,\"start\":1700000000000,"
	    "\"end\":1700086400000}",
	[EV_SHOP] = "{\"type\":\"shop\"," T0 ",\"sps\":4.7,\"orders_90d\":1234}",
	[EV_REVIEW] = "{\"type\":\"review\"," T0 ",\"order_id\":\"o-1\","
	    "\"product_id\":\"p-1\",\"rating\":4,\"shipping_related\":true,"
	    "\"creator_id\":\"cr-1\",\"content_id\":\"ct-1\"}",
	[EV_CONTENT] = "{\"type\":\"content\"," T0 ",\"creator_id\":\"cr-1\","
	    "\"content_id\":\"ct-1\",\"kind\":\"live\",\"category\":\"phones\","
	    "\"removed\":false}",
};

/* The required fields of every type, beyond type/event_id/ts/shop_id. */
static const char *const required[EV__COUNT][8] = {
	[EV_PRODUCT] = { "product_id", "price", "stock", "listed_at" },
	[EV_PAGE_VIEW] = { "product_id", "customer_id" },
	[EV_ORDER] = { "order_id", "product_id", "customer_id", "qty",
	    "unit_price", "paid_unit_price" },
	[EV_ORDER_UPDATE] = { "order_id", "product_id", "status" },
	[EV_CAMPAIGN] = { "product_id", "campaign_id", "campaign_price",
	    "start", "end" },
	[EV_SELLER_PROMOTION] = { "promotion_id", "product_id", "tool",
	    "discount_bps", "start", "end" },
	[EV_PLATFORM_PROMOTION] = { "promotion_id", "kind", "start", "end" },
	[EV_SHOP] = { "sps" },
	[EV_REVIEW] = { "order_id", "product_id", "rating",
	    "shipping_related" },
	[EV_CONTENT] = { "creator_id", "content_id", "kind" },
};

static char reason[EVENT_REASON_MAX];

/*
 * event_decode(), checked against event_decode_reference() (jansson's
 * tree only): the same result, the same reason, the same event bytes.
 */
static int
decode_both(const char *s, size_t len, struct event *ev, char *why,
    size_t whylen)
{
	static struct event ref;
	char rwhy[EVENT_REASON_MAX];
	int rc, rrc;

	rc = event_decode(s, len, ev, why, whylen);
	rrc = event_decode_reference(s, len, &ref, rwhy,
	    whylen < sizeof(rwhy) ? whylen : sizeof(rwhy));
	if (rc != rrc || memcmp(ev, &ref, sizeof(ref)) != 0 ||
	    (why != NULL && whylen > 0 && strcmp(why, rwhy) != 0))
		fail_msg("fast and reference decodes differ: %d \"%s\" vs %d "
		    "\"%s\"\n  input: %.*s", rc, why != NULL && whylen > 0 ?
		    why : "", rrc, whylen > 0 ? rwhy : "", (int)(len < 300 ?
		    len : 300), s);
	return rc;
}

/* Decode a NUL-terminated string. */
static int
decode(const char *s, struct event *ev)
{
	return decode_both(s, strlen(s), ev, reason, sizeof(reason));
}

/* Decode and insist on success. */
static void
ok(const char *s, struct event *ev)
{
	if (decode(s, ev) != 0)
		fail_msg("decode failed: %s\n  input: %.300s", reason, s);
}

/* Decode bytes and insist on failure with a reason containing want. */
static void
bad_n(const char *s, size_t len, const char *want)
{
	struct event ev;

	if (decode_both(s, len, &ev, reason, sizeof(reason)) == 0)
		fail_msg("decode succeeded, wanted \"%s\"\n  input: %.300s",
		    want, s);
	if (reason[0] == '\0' || strstr(reason, want) == NULL)
		fail_msg("reason \"%s\", wanted \"%s\"\n  input: %.300s",
		    reason, want, s);
}

/* Decode a string and insist on failure with a reason containing want. */
static void
bad(const char *s, const char *want)
{
	bad_n(s, strlen(s), want);
}

/* The valid example of type t with field set to v (NULL: removed). */
static char *
with_field(enum event_type t, const char *field, json_t *v)
{
	json_t *o = json_loads(valid[t], 0, NULL);
	char *s;

	assert_non_null(o);
	if (v == NULL)
		json_object_del(o, field);
	else
		json_object_set_new(o, field, v);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_non_null(s);
	return s;
}

/* Set one field of type t's example and expect failure mentioning want. */
static void
bad_field(enum event_type t, const char *field, json_t *v, const char *want)
{
	char *s = with_field(t, field, v);

	bad(s, want);
	free(s);
}

/* Set one field of type t's example and expect success. */
static void
ok_field(enum event_type t, const char *field, json_t *v, struct event *ev)
{
	char *s = with_field(t, field, v);

	ok(s, ev);
	free(s);
}

/* The common fields of every example. */
static void
check_common(const struct event *ev, enum event_type t)
{
	assert_int_equal(ev->type, t);
	assert_string_equal(ev->event_id, "e-1");
	assert_int_equal(ev->ts, 1700000000000LL);
	assert_string_equal(ev->shop_id, "s-1");
}

static void
test_product(void **state)
{
	struct event ev;

	(void)state;
	ok(valid[EV_PRODUCT], &ev);
	check_common(&ev, EV_PRODUCT);
	assert_string_equal(ev.product_id, "p-1");
	assert_int_equal(ev.u.product.price, 129900);
	assert_int_equal(ev.u.product.stock, 12);
	assert_int_equal(ev.u.product.listed_at, 1690000000000LL);
	assert_string_equal(ev.u.product.category, "phones");
	assert_int_equal(ev.u.product.nvariants, 2);
	assert_string_equal(ev.u.product.variants[0].variant_id, "v-1");
	assert_int_equal(ev.u.product.variants[0].price, 129900);
	assert_string_equal(ev.u.product.variants[1].variant_id, "v-2");
	assert_int_equal(ev.u.product.variants[1].price, 139900);
	assert_string_equal(event_key(&ev), "p-1");
}

static void
test_page_view(void **state)
{
	struct event ev;

	(void)state;
	ok(valid[EV_PAGE_VIEW], &ev);
	check_common(&ev, EV_PAGE_VIEW);
	assert_string_equal(ev.product_id, "p-1");
	assert_string_equal(ev.u.page_view.customer_id, "c-1");
	assert_string_equal(ev.u.page_view.session_id, "sess-1");
}

static void
test_order(void **state)
{
	struct event ev;
	const struct event_order *o = &ev.u.order;

	(void)state;
	ok(valid[EV_ORDER], &ev);
	check_common(&ev, EV_ORDER);
	assert_string_equal(ev.product_id, "p-1");
	assert_string_equal(o->order_id, "o-1");
	assert_string_equal(o->variant_id, "v-2");
	assert_string_equal(o->customer_id, "c-1");
	assert_int_equal(o->qty, 2);
	assert_int_equal(o->unit_price, 139900);
	assert_int_equal(o->paid_unit_price, 125910);
	assert_string_equal(o->offer_id, "of-1");
	assert_string_equal(o->voucher_id, "vo-1");
	assert_string_equal(o->creator_id, "cr-1");
	assert_string_equal(o->content_id, "ct-1");
}

static void
test_order_update(void **state)
{
	struct event ev;
	static const char *const words[] = { "cancelled", "refunded",
	    "delivered" };
	static const enum order_status want[] = { ORDER_CANCELLED,
	    ORDER_REFUNDED, ORDER_DELIVERED };

	(void)state;
	ok(valid[EV_ORDER_UPDATE], &ev);
	check_common(&ev, EV_ORDER_UPDATE);
	assert_string_equal(ev.product_id, "p-1");
	assert_string_equal(ev.u.order_update.order_id, "o-1");
	assert_int_equal(ev.u.order_update.status, ORDER_REFUNDED);
	for (int i = 0; i < 3; i++) {
		ok_field(EV_ORDER_UPDATE, "status", json_string(words[i]), &ev);
		assert_int_equal(ev.u.order_update.status, want[i]);
	}
	bad_field(EV_ORDER_UPDATE, "status", json_string("returned"),
	    "field \"status\" must be one of \"cancelled\", \"refunded\", "
	    "\"delivered\"");
}

static void
test_campaign(void **state)
{
	struct event ev;

	(void)state;
	ok(valid[EV_CAMPAIGN], &ev);
	check_common(&ev, EV_CAMPAIGN);
	assert_string_equal(ev.product_id, "p-1");
	assert_string_equal(ev.u.campaign.campaign_id, "cmp-1");
	assert_int_equal(ev.u.campaign.campaign_price, 99900);
	assert_int_equal(ev.u.campaign.start, 1700000000000LL);
	assert_int_equal(ev.u.campaign.end, 1700086400000LL);
	bad_field(EV_CAMPAIGN, "end", json_integer(1700000000000LL),
	    "field \"end\" must be later than \"start\"");
}

static void
test_seller_promotion(void **state)
{
	struct event ev;
	static const char *const tools[] = { "product_discount", "flash_sale",
	    "voucher", "new_customer_discount", "bmsm" };

	(void)state;
	ok(valid[EV_SELLER_PROMOTION], &ev);
	check_common(&ev, EV_SELLER_PROMOTION);
	assert_string_equal(ev.product_id, "p-1");
	assert_string_equal(ev.u.seller_promotion.promotion_id, "sp-1");
	assert_string_equal(ev.u.seller_promotion.tool, "flash_sale");
	assert_int_equal(ev.u.seller_promotion.discount_bps, 1500);
	assert_int_equal(ev.u.seller_promotion.start, 1700000000000LL);
	assert_int_equal(ev.u.seller_promotion.end, 1700086400000LL);
	for (int i = 0; i < 5; i++) {
		ok_field(EV_SELLER_PROMOTION, "tool", json_string(tools[i]),
		    &ev);
		assert_string_equal(ev.u.seller_promotion.tool, tools[i]);
	}
	bad_field(EV_SELLER_PROMOTION, "tool", json_string("coupon"),
	    "field \"tool\" must be one of");
	bad_field(EV_SELLER_PROMOTION, "discount_bps", json_integer(10001),
	    "field \"discount_bps\" must be an integer from 0 to 10000");
	bad_field(EV_SELLER_PROMOTION, "discount_bps", json_integer(-1),
	    "field \"discount_bps\" must be an integer from 0 to 10000");
	ok_field(EV_SELLER_PROMOTION, "discount_bps", json_integer(10000), &ev);
	bad_field(EV_SELLER_PROMOTION, "start", json_integer(1800000000000LL),
	    "field \"end\" must be later than \"start\"");
}

static void
test_platform_promotion(void **state)
{
	struct event ev;
	const struct event_platform_promotion *p = &ev.u.platform_promotion;

	(void)state;
	ok(valid[EV_PLATFORM_PROMOTION], &ev);
	check_common(&ev, EV_PLATFORM_PROMOTION);
	assert_string_equal(ev.product_id, "p-1");
	assert_string_equal(p->promotion_id, "pp-1");
	assert_int_equal(p->kind, PLATFORM_PRODUCT_VOUCHER);
	assert_int_equal(p->amount, 5000);
	assert_int_equal(p->discount_bps, 1000);
	assert_int_equal(p->min_spend, 50000);
	assert_int_equal(p->start, 1700000000000LL);
	assert_int_equal(p->end, 1700086400000LL);
}

static void
test_platform_optional(void **state)
{
	struct event ev;
	const struct event_platform_promotion *p = &ev.u.platform_promotion;
	static const char *const kinds[] = { "shipping_voucher",
	    "product_voucher", "fixed_discount", "bmsm" };
	const char *only_bps = "{\"type\":\"platform_promotion\"," T0 ","
	    "\"promotion_id\":\"pp-2\",\"kind\":\"shipping_voucher\","
	    "\"discount_bps\":500,\"start\":1,\"end\":2}";
	const char *neither = "{\"type\":\"platform_promotion\"," T0 ","
	    "\"promotion_id\":\"pp-2\",\"kind\":\"bmsm\",\"start\":1,\"end\":2}";

	(void)state;
	ok(only_bps, &ev);
	assert_string_equal(ev.product_id, "");
	assert_string_equal(event_key(&ev), "s-1");
	assert_int_equal(p->amount, -1);
	assert_int_equal(p->discount_bps, 500);
	assert_int_equal(p->min_spend, 0);
	assert_int_equal(p->kind, PLATFORM_SHIPPING_VOUCHER);
	bad(neither, "missing field \"amount\" or \"discount_bps\"");
	ok_field(EV_PLATFORM_PROMOTION, "discount_bps", NULL, &ev);
	assert_int_equal(p->discount_bps, -1);
	assert_int_equal(p->amount, 5000);
	for (int i = 0; i < 4; i++) {
		ok_field(EV_PLATFORM_PROMOTION, "kind", json_string(kinds[i]),
		    &ev);
		assert_int_equal(p->kind, (enum platform_kind)i);
	}
	bad_field(EV_PLATFORM_PROMOTION, "kind", json_string("cashback"),
	    "field \"kind\" must be one of");
}

static void
test_shop(void **state)
{
	struct event ev;

	(void)state;
	ok(valid[EV_SHOP], &ev);
	check_common(&ev, EV_SHOP);
	assert_string_equal(ev.product_id, "");
	assert_string_equal(event_key(&ev), "s-1");
	assert_true(ev.u.shop.sps > 4.69 && ev.u.shop.sps < 4.71);
	assert_int_equal(ev.u.shop.orders_90d, 1234);
	ok_field(EV_SHOP, "sps", json_integer(5), &ev);
	assert_true(ev.u.shop.sps == 5.0);
	ok_field(EV_SHOP, "sps", json_integer(0), &ev);
	ok_field(EV_SHOP, "orders_90d", NULL, &ev);
	assert_int_equal(ev.u.shop.orders_90d, -1);
	bad_field(EV_SHOP, "sps", json_real(5.01),
	    "field \"sps\" must be a number from 0 to 5");
	bad_field(EV_SHOP, "sps", json_real(-0.5), "field \"sps\" must be");
	bad_field(EV_SHOP, "sps", json_string("4.5"), "field \"sps\" must be");
	bad_field(EV_SHOP, "orders_90d", json_integer(-1),
	    "field \"orders_90d\" must be an integer of at least 0");
	bad_field(EV_SHOP, "orders_90d", json_real(3.0),
	    "field \"orders_90d\" must be an integer");
}

static void
test_review(void **state)
{
	struct event ev;

	(void)state;
	ok(valid[EV_REVIEW], &ev);
	check_common(&ev, EV_REVIEW);
	assert_string_equal(ev.product_id, "p-1");
	assert_string_equal(ev.u.review.order_id, "o-1");
	assert_int_equal(ev.u.review.rating, 4);
	assert_int_equal(ev.u.review.shipping_related, 1);
	assert_string_equal(ev.u.review.creator_id, "cr-1");
	assert_string_equal(ev.u.review.content_id, "ct-1");
	ok_field(EV_REVIEW, "shipping_related", json_false(), &ev);
	assert_int_equal(ev.u.review.shipping_related, 0);
	bad_field(EV_REVIEW, "rating", json_integer(0),
	    "field \"rating\" must be an integer from 1 to 5");
	bad_field(EV_REVIEW, "rating", json_integer(6), "field \"rating\"");
	bad_field(EV_REVIEW, "shipping_related", json_integer(1),
	    "field \"shipping_related\" must be true or false");
}

static void
test_content(void **state)
{
	struct event ev;

	(void)state;
	ok(valid[EV_CONTENT], &ev);
	check_common(&ev, EV_CONTENT);
	assert_string_equal(ev.product_id, "");
	assert_string_equal(event_key(&ev), "s-1");
	assert_string_equal(ev.u.content.creator_id, "cr-1");
	assert_string_equal(ev.u.content.content_id, "ct-1");
	assert_int_equal(ev.u.content.kind, CONTENT_LIVE);
	assert_string_equal(ev.u.content.category, "phones");
	assert_int_equal(ev.u.content.removed, 0);
	ok_field(EV_CONTENT, "removed", json_true(), &ev);
	assert_int_equal(ev.u.content.removed, 1);
	ok_field(EV_CONTENT, "kind", json_string("video"), &ev);
	assert_int_equal(ev.u.content.kind, CONTENT_VIDEO);
	bad_field(EV_CONTENT, "kind", json_string("reel"),
	    "field \"kind\" must be one of \"video\", \"live\"");
}

/* Every required field of every type, removed or null, fails by name. */
static void
test_missing_fields(void **state)
{
	static const char *const common[] = { "type", "event_id", "ts",
	    "shop_id" };
	char want[64];

	(void)state;
	for (int t = 0; t < EV__COUNT; t++) {
		for (int i = 0; i < 4; i++) {
			snprintf(want, sizeof(want), "missing field \"%s\"",
			    common[i]);
			bad_field(t, common[i], NULL, want);
			bad_field(t, common[i], json_null(), want);
		}
		for (int i = 0; required[t][i] != NULL; i++) {
			snprintf(want, sizeof(want), "missing field \"%s\"",
			    required[t][i]);
			bad_field(t, required[t][i], NULL, want);
			bad_field(t, required[t][i], json_null(), want);
		}
	}
}

static void
test_wrong_types(void **state)
{
	(void)state;
	bad_field(EV_ORDER, "qty", json_string("2"),
	    "field \"qty\" must be an integer from 1 to 100000");
	bad_field(EV_ORDER, "qty", json_real(2.0), "field \"qty\" must be");
	bad_field(EV_ORDER, "qty", json_integer(0), "field \"qty\" must be");
	bad_field(EV_ORDER, "qty", json_integer(100001), "field \"qty\"");
	bad_field(EV_PRODUCT, "price", json_string("100"),
	    "field \"price\" must be a non-negative integer (minor units)");
	bad_field(EV_PRODUCT, "price", json_true(), "field \"price\"");
	bad_field(EV_PRODUCT, "stock", json_integer(-1), "field \"stock\"");
	bad_field(EV_PRODUCT, "listed_at", json_integer(-1),
	    "field \"listed_at\" must be an integer from 0 to");
	bad_field(EV_PRODUCT, "variants", json_object(),
	    "field \"variants\" must be an array");
	bad_field(EV_PRODUCT, "category", json_integer(3),
	    "field \"category\" must be a string");
	bad_field(EV_PAGE_VIEW, "event_id", json_integer(5),
	    "field \"event_id\" must be a string");
	bad_field(EV_PAGE_VIEW, "customer_id", json_array(),
	    "field \"customer_id\" must be a string");
	bad_field(EV_PAGE_VIEW, "ts", json_string("1700000000000"),
	    "field \"ts\" must be an integer from 1 to 253402300799999 "
	    "(epoch ms)");
	bad_field(EV_PAGE_VIEW, "ts", json_integer(0), "field \"ts\"");
	bad_field(EV_PAGE_VIEW, "ts", json_integer(253402300800000LL),
	    "field \"ts\"");
	bad_field(EV_PAGE_VIEW, "type", json_integer(1),
	    "field \"type\" must be a string");
	bad_field(EV_PAGE_VIEW, "type", json_string("pageview"),
	    "unknown event type \"pageview\"");
	bad_field(EV_ORDER_UPDATE, "status", json_integer(1),
	    "field \"status\" must be one of");
	bad_field(EV_CONTENT, "removed", json_string("yes"),
	    "field \"removed\" must be true or false");
}

/* Negative, real and too-large money fails for every money field. */
static void
test_money(void **state)
{
	static const struct { enum event_type t; const char *f; } money[] = {
		{ EV_PRODUCT, "price" }, { EV_ORDER, "unit_price" },
		{ EV_ORDER, "paid_unit_price" },
		{ EV_CAMPAIGN, "campaign_price" },
		{ EV_PLATFORM_PROMOTION, "amount" },
		{ EV_PLATFORM_PROMOTION, "min_spend" },
	};
	char want[96];

	(void)state;
	for (size_t i = 0; i < sizeof(money) / sizeof(money[0]); i++) {
		snprintf(want, sizeof(want), "field \"%s\" must be a "
		    "non-negative integer (minor units)", money[i].f);
		bad_field(money[i].t, money[i].f, json_integer(-1), want);
		bad_field(money[i].t, money[i].f, json_real(12.5), want);
		bad_field(money[i].t, money[i].f, json_real(12.0), want);
		bad_field(money[i].t, money[i].f,
		    json_integer(1000000000001LL), "must be at most");
	}
	bad("{\"type\":\"product\"," T0 ",\"product_id\":\"p\",\"price\":12.0,"
	    "\"stock\":1,\"listed_at\":1}", "field \"price\" must be a "
	    "non-negative integer (minor units)");
	bad("{\"type\":\"product\"," T0 ",\"product_id\":\"p\",\"price\":1e3,"
	    "\"stock\":1,\"listed_at\":1}", "field \"price\"");
	bad("{\"type\":\"product\"," T0 ",\"product_id\":\"p\",\"price\":"
	    "99999999999999999999,\"stock\":1,\"listed_at\":1}",
	    "invalid JSON at line 1 column");
}

static void
test_money_bounds_ok(void **state)
{
	struct event ev;

	(void)state;
	ok_field(EV_PRODUCT, "price", json_integer(1000000000000LL), &ev);
	assert_int_equal(ev.u.product.price, 1000000000000LL);
	ok_field(EV_PRODUCT, "price", json_integer(0), &ev);
	assert_int_equal(ev.u.product.price, 0);
}

static void
test_paid_above_unit(void **state)
{
	struct event ev;

	(void)state;
	bad_field(EV_ORDER, "paid_unit_price", json_integer(139901),
	    "field \"paid_unit_price\" must not exceed \"unit_price\"");
	ok_field(EV_ORDER, "paid_unit_price", json_integer(139900), &ev);
	assert_int_equal(ev.u.order.paid_unit_price, 139900);
	ok_field(EV_ORDER, "paid_unit_price", json_integer(0), &ev);
}

/* A valid event padded with spaces to exactly n bytes (caller frees). */
static char *
padded(size_t n)
{
	size_t len = strlen(valid[EV_ORDER]);
	char *buf = malloc(n);

	assert_non_null(buf);
	assert_true(n > len);
	memcpy(buf, valid[EV_ORDER], len);
	memset(buf + len, ' ', n - len);
	return buf;
}

static void
test_size_limit(void **state)
{
	struct event ev;
	char *buf;

	(void)state;
	buf = padded(EVENT_MAX_BYTES);
	assert_int_equal(decode_both(buf, EVENT_MAX_BYTES, &ev, reason,
	    sizeof(reason)), 0);
	assert_string_equal(ev.u.order.order_id, "o-1");
	free(buf);
	buf = padded(EVENT_MAX_BYTES + 1);
	bad_n(buf, EVENT_MAX_BYTES + 1, "event is larger than 65536 bytes");
	assert_string_equal(reason, "event is larger than 65536 bytes");
	free(buf);
}

static void
test_utf8(void **state)
{
	struct event ev;
	const char *head = "{\"type\":\"page_view\"," T0 ",\"product_id\":"
	    "\"p-1\",\"customer_id\":\"";
	static const char *const badseq[] = { "\xff", "\xc0\xaf",
	    "\xed\xa0\x80", "\xe2\x82", "\xf8\x88\x80\x80\x80" };
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(badseq) / sizeof(badseq[0]); i++) {
		snprintf(buf, sizeof(buf), "%sc%s\"}", head, badseq[i]);
		bad(buf, "invalid UTF-8");
		assert_string_equal(reason, "invalid UTF-8");
	}
	snprintf(buf, sizeof(buf), "%sc\\ud800\"}", head);
	bad(buf, "invalid UTF-8");
	snprintf(buf, sizeof(buf), "%sc\\udc00x\"}", head);
	bad(buf, "invalid UTF-8");
	snprintf(buf, sizeof(buf), "%sc\xc3\xa9\xf0\x9f\x98\x80\"}", head);
	ok(buf, &ev);
	assert_string_equal(ev.u.page_view.customer_id,
	    "c\xc3\xa9\xf0\x9f\x98\x80");
	snprintf(buf, sizeof(buf), "%sc\\u00e9\\ud83d\\ude00\"}", head);
	ok(buf, &ev);
	assert_string_equal(ev.u.page_view.customer_id,
	    "c\xc3\xa9\xf0\x9f\x98\x80");
}

static void
test_nul(void **state)
{
	static const char rawnul[] = "{\"type\":\"page_view\"," T0 ","
	    "\"product_id\":\"p\0\",\"customer_id\":\"c\"}";

	(void)state;
	bad("{\"type\":\"page_view\"," T0 ",\"product_id\":\"p\\u0000x\","
	    "\"customer_id\":\"c\"}", "NUL");
	bad("{\"type\":\"page_view\"," T0 ",\"product_id\":\"p\","
	    "\"customer_id\":\"c\",\"x\\u0000\":1}", "NUL");
	bad_n(rawnul, sizeof(rawnul) - 1, "invalid JSON");
}

static void
test_duplicate_keys(void **state)
{
	(void)state;
	bad("{\"type\":\"page_view\"," T0 ",\"product_id\":\"p\","
	    "\"customer_id\":\"c\",\"customer_id\":\"d\"}", "duplicate");
	bad("{\"type\":\"page_view\",\"type\":\"page_view\"," T0 ","
	    "\"product_id\":\"p\",\"customer_id\":\"c\"}", "duplicate");
}

static void
test_trailing_garbage(void **state)
{
	struct event ev;
	char buf[512];

	(void)state;
	snprintf(buf, sizeof(buf), "%s x", valid[EV_SHOP]);
	bad(buf, "invalid JSON at line 1 column");
	snprintf(buf, sizeof(buf), "%s{}", valid[EV_SHOP]);
	bad(buf, "invalid JSON");
	snprintf(buf, sizeof(buf), "%s\n\t \r\n", valid[EV_SHOP]);
	ok(buf, &ev);
}

static void
test_not_object(void **state)
{
	struct event ev;

	(void)state;
	bad("[]", "event must be a JSON object");
	bad("\"shop\"", "event must be a JSON object");
	bad("42", "event must be a JSON object");
	bad("null", "event must be a JSON object");
	bad("", "invalid JSON");
	bad("{", "invalid JSON");
	bad("{\"type\":\"shop\"", "invalid JSON");
	assert_int_equal(decode_both(NULL, 0, &ev, reason, sizeof(reason)),
	    -1);
	assert_true(reason[0] != '\0');
}

static void
test_id_length(void **state)
{
	struct event ev;
	char id[130];

	(void)state;
	memset(id, 'a', sizeof(id));
	id[127] = '\0';
	ok_field(EV_PAGE_VIEW, "customer_id", json_string(id), &ev);
	assert_string_equal(ev.u.page_view.customer_id, id);
	ok_field(EV_PAGE_VIEW, "event_id", json_string(id), &ev);
	assert_string_equal(ev.event_id, id);
	id[128] = '\0';
	id[127] = 'a';
	bad_field(EV_PAGE_VIEW, "customer_id", json_string(id),
	    "field \"customer_id\" must be 1 to 127 bytes long");
	bad_field(EV_PAGE_VIEW, "shop_id", json_string(id), "field \"shop_id\"");
	bad_field(EV_PAGE_VIEW, "session_id", json_string(id),
	    "field \"session_id\"");
	bad_field(EV_PAGE_VIEW, "product_id", json_string(""),
	    "field \"product_id\" must be 1 to 127 bytes long");
	bad_field(EV_PAGE_VIEW, "product_id", json_string("a\tb"),
	    "field \"product_id\" must not contain control characters");
	bad_field(EV_PAGE_VIEW, "product_id", json_string("a\x1f"),
	    "control characters");
	/* 127 bytes of multibyte UTF-8 is fine: the limit is in bytes. */
	memset(id, 0, sizeof(id));
	for (int i = 0; i < 63; i++)
		memcpy(id + 2 * i, "\xc3\xa9", 2);
	id[126] = 'x';
	ok_field(EV_PAGE_VIEW, "customer_id", json_string(id), &ev);
	assert_int_equal(strlen(ev.u.page_view.customer_id), 127);
}

static void
test_unknown_fields(void **state)
{
	struct event ev;

	(void)state;
	ok("{\"type\":\"shop\",\"future\":{\"a\":[1,2,{\"b\":null}]}," T0 ","
	    "\"sps\":3,\"x\":1.5,\"price\":-7}", &ev);
	assert_int_equal(ev.type, EV_SHOP);
	assert_true(ev.u.shop.sps == 3.0);
	/* product_id on a type that names none is ignored, keyed by shop. */
	ok("{\"type\":\"content\"," T0 ",\"product_id\":\"p-9\",\"creator_id\":"
	    "\"cr\",\"content_id\":\"ct\",\"kind\":\"video\"}", &ev);
	assert_string_equal(ev.product_id, "");
	assert_string_equal(event_key(&ev), "s-1");
}

static void
test_null_optional(void **state)
{
	struct event ev;

	(void)state;
	ok("{\"type\":\"order\"," T0 ",\"order_id\":\"o\",\"product_id\":\"p\","
	    "\"variant_id\":null,\"customer_id\":\"c\",\"qty\":1,"
	    "\"unit_price\":10,\"paid_unit_price\":9,\"offer_id\":null,"
	    "\"voucher_id\":null,\"creator_id\":null,\"content_id\":null}",
	    &ev);
	assert_string_equal(ev.u.order.variant_id, "");
	assert_string_equal(ev.u.order.offer_id, "");
	assert_string_equal(ev.u.order.content_id, "");
	ok("{\"type\":\"platform_promotion\"," T0 ",\"promotion_id\":\"pp\","
	    "\"product_id\":null,\"kind\":\"fixed_discount\",\"amount\":100,"
	    "\"discount_bps\":null,\"min_spend\":null,\"start\":1,\"end\":2}",
	    &ev);
	assert_int_equal(ev.u.platform_promotion.discount_bps, -1);
	assert_int_equal(ev.u.platform_promotion.min_spend, 0);
	assert_string_equal(event_key(&ev), "s-1");
	ok("{\"type\":\"product\"," T0 ",\"product_id\":\"p\",\"price\":1,"
	    "\"stock\":0,\"listed_at\":0,\"category\":null,\"variants\":null}",
	    &ev);
	assert_int_equal(ev.u.product.nvariants, 0);
	assert_string_equal(ev.u.product.category, "");
	ok("{\"type\":\"shop\"," T0 ",\"sps\":1,\"orders_90d\":null}", &ev);
	assert_int_equal(ev.u.shop.orders_90d, -1);
	ok("{\"type\":\"content\"," T0 ",\"creator_id\":\"cr\",\"content_id\":"
	    "\"ct\",\"kind\":\"video\",\"removed\":null,\"category\":null}",
	    &ev);
	assert_int_equal(ev.u.content.removed, 0);
}

/* A product JSON with n variants (caller frees). */
static char *
with_variants(int n)
{
	json_t *a = json_array();
	char id[16];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "v-%d", i);
		json_array_append_new(a, json_pack("{s:s,s:I}", "variant_id",
		    id, "price", (json_int_t)(100 + i)));
	}
	return with_field(EV_PRODUCT, "variants", a);
}

static void
test_variants(void **state)
{
	struct event ev;
	char *s;

	(void)state;
	s = with_variants(EVENT_MAX_VARIANTS);
	ok(s, &ev);
	assert_int_equal(ev.u.product.nvariants, EVENT_MAX_VARIANTS);
	assert_string_equal(ev.u.product.variants[31].variant_id, "v-31");
	assert_int_equal(ev.u.product.variants[31].price, 131);
	free(s);
	s = with_variants(EVENT_MAX_VARIANTS + 1);
	bad(s, "field \"variants\" must have at most 32 elements");
	free(s);
	s = with_variants(0);
	ok(s, &ev);
	assert_int_equal(ev.u.product.nvariants, 0);
	free(s);
	bad_field(EV_PRODUCT, "variants", json_pack("[{s:s}]", "variant_id",
	    "v"), "missing field \"variants[0].price\"");
	bad_field(EV_PRODUCT, "variants", json_pack("[{s:s,s:i},{s:i}]",
	    "variant_id", "v", "price", 1, "price", 2),
	    "missing field \"variants[1].variant_id\"");
	bad_field(EV_PRODUCT, "variants", json_pack("[{s:s,s:f}]",
	    "variant_id", "v", "price", 1.5), "field \"variants[0].price\" "
	    "must be a non-negative integer (minor units)");
	bad_field(EV_PRODUCT, "variants", json_pack("[i]", 1),
	    "field \"variants[0]\" must be an object");
}

static void
test_reason_truncation(void **state)
{
	struct event ev;
	char small[8];
	const char *s = "{\"type\":\"pageview\"}";

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(decode_both(s, strlen(s), &ev, small, sizeof(small)),
	    -1);
	assert_string_equal(small, "unknown");
	assert_int_equal(decode_both(s, strlen(s), &ev, small, 0), -1);
	assert_int_equal(decode_both(s, strlen(s), &ev, NULL, 0), -1);
	/* A long unknown type is echoed cut and in printable ASCII. */
	bad("{\"type\":\"\\u00e9\\n\\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	    "unknown event type \"????aaa");
	assert_non_null(strstr(reason, "...\""));
	assert_true(strlen(reason) < 100);
}

static void
test_failure_clears_event(void **state)
{
	struct event ev;
	char *s = with_field(EV_ORDER, "paid_unit_price", json_integer(999999));

	(void)state;
	assert_int_equal(decode(s, &ev), -1);
	free(s);
	assert_string_equal(ev.event_id, "");
	assert_string_equal(ev.u.order.order_id, "");
	assert_int_equal(ev.u.order.unit_price, 0);
}

static void
test_names_and_keys(void **state)
{
	static const char *const names[EV__COUNT] = { "product", "page_view",
	    "order", "order_update", "campaign", "seller_promotion",
	    "platform_promotion", "shop", "review", "content" };
	struct event ev;

	(void)state;
	for (int t = 0; t < EV__COUNT; t++) {
		assert_string_equal(event_type_name(t), names[t]);
		ok(valid[t], &ev);
		assert_int_equal(ev.type, t);
		assert_string_equal(event_key(&ev),
		    ev.product_id[0] != '\0' ? "p-1" : "s-1");
	}
	assert_string_equal(event_type_name(EV__COUNT), "unknown");
	assert_string_equal(event_type_name((enum event_type)-1), "unknown");
}

/* A small deterministic PRNG for the mutation loop (splitmix64). */
static uint64_t
next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Whether an id field is a properly terminated 0..127 byte string. */
static int
id_ok(const char *id, int required_id)
{
	size_t n = strnlen(id, EVENT_ID_MAX);

	if (n >= EVENT_ID_MAX || (required_id && n == 0))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20)
			return 0;
	return 1;
}

/* The invariants every successfully decoded event must hold. */
static void
check_invariants(const struct event *ev)
{
	assert_true((int)ev->type >= 0 && (int)ev->type < EV__COUNT);
	assert_true(id_ok(ev->event_id, 1) && id_ok(ev->shop_id, 1));
	assert_true(id_ok(ev->product_id, 0));
	assert_true(ev->ts > 0 && ev->ts <= 253402300799999LL);
	switch (ev->type) {
	case EV_PRODUCT:
		assert_true(ev->u.product.price >= 0);
		assert_true(ev->u.product.price <= 1000000000000LL);
		assert_true(ev->u.product.nvariants >= 0);
		assert_true(ev->u.product.nvariants <= EVENT_MAX_VARIANTS);
		break;
	case EV_ORDER:
		assert_true(ev->u.order.qty >= 1 && ev->u.order.qty <= 100000);
		assert_true(ev->u.order.paid_unit_price >= 0);
		assert_true(ev->u.order.paid_unit_price <=
		    ev->u.order.unit_price);
		break;
	case EV_SHOP:
		assert_true(ev->u.shop.sps >= 0 && ev->u.shop.sps <= 5);
		break;
	case EV_REVIEW:
		assert_true(ev->u.review.rating >= 1 && ev->u.review.rating <= 5);
		break;
	case EV_CAMPAIGN:
		assert_true(ev->u.campaign.start < ev->u.campaign.end);
		break;
	default:
		break;
	}
}

/* Apply one random mutation to buf (len bytes, capacity cap). */
static size_t
mutate(uint64_t *rs, char *buf, size_t len, size_t cap)
{
	static const char special[] = "\"{}[]:,\\0-9.e \xff\xc0\x80\xed\n";
	size_t pos = len > 0 ? next_rand(rs) % len : 0;
	char c = (next_rand(rs) & 1) ? (char)next_rand(rs) :
	    special[next_rand(rs) % (sizeof(special) - 1)];

	switch (next_rand(rs) % 4) {
	case 0:         /* byte flip */
		if (len > 0)
			buf[pos] ^= (char)(1u << (next_rand(rs) % 8));
		return len;
	case 1:         /* truncation */
		return pos;
	case 2:         /* insertion */
		if (len + 1 >= cap)
			return len;
		memmove(buf + pos + 1, buf + pos, len - pos);
		buf[pos] = c;
		return len + 1;
	default:        /* overwrite */
		if (len > 0)
			buf[pos] = c;
		return len;
	}
}

/* 50,000 mutated valid events: never a crash, always a reason or a valid
 * event. */
static void
test_mutations(void **state)
{
	uint64_t rs = 20240601;
	char buf[1024], why[EVENT_REASON_MAX];
	struct event ev;
	size_t len;
	int fails = 0;

	(void)state;
	for (int i = 0; i < 50000; i++) {
		const char *src = valid[next_rand(&rs) % EV__COUNT];
		int n = 1 + (int)(next_rand(&rs) % 3);

		len = strlen(src);
		memcpy(buf, src, len);
		while (n-- > 0)
			len = mutate(&rs, buf, len, sizeof(buf));
		memset(why, 0x7f, sizeof(why));
		/* Decode from an exact-size heap copy so ASan sees overreads. */
		char *copy = malloc(len > 0 ? len : 1);
		assert_non_null(copy);
		memcpy(copy, buf, len);
		if (decode_both(copy, len, &ev, why, sizeof(why)) == 0)
			check_invariants(&ev);
		else {
			fails++;
			assert_true(why[0] != '\0');
			assert_true(memchr(why, '\0', sizeof(why)) != NULL);
		}
		free(copy);
	}
	assert_true(fails > 25000);
}

/* Inputs at the edges of the fast path's JSON: each decodes as jansson's
 * tree says (decode_both() checks), whichever path takes it. */
static void
test_fast_path_edges(void **state)
{
	static const char *const pv = "{\"type\":\"page_view\"," T0 ","
	    "\"product_id\":\"p-1\",\"customer_id\":";
	static const char *const tails[] = {
		"\"c-1\"}", "\"c-1\" }", " \"c-1\"}\n", "\"c-1\"}\r\t ",
		"\"c\\u0031\"}", "\"c\\n\"}", "\"c\\\"\"}", "\"\xc3\xa9\"}",
		"\"\x7f\"}", "\"c\x01\"}", "\"c-1\",\"x\":1.5}",
		"\"c-1\",\"x\":1e5}", "\"c-1\",\"x\":-0}", "\"c-1\",\"x\":01}",
		"\"c-1\",\"x\":-}", "\"c-1\",\"x\":123456789012345678}",
		"\"c-1\",\"x\":1234567890123456789}",
		"\"c-1\",\"x\":99999999999999999999}",
		"\"c-1\",\"x\":truex}", "\"c-1\",\"x\":tru}",
		"\"c-1\",\"x\":nulll}", "\"c-1\",\"x\":[1,[2,{\"a\":[]}],{}]}",
		"\"c-1\",\"x\":[1,]}", "\"c-1\",\"x\":{\"a\":1,}}",
		"\"c-1\",\"x\":{\"a\":1,\"a\":2}}",
		"\"c-1\",\"customer_id\":\"c\"}",
		"\"c-1\",\"\":0}", "\"c-1\",}", "\"c-1\"", "\"c-1\"}}",
		"\"c-1\"} x", "\"c-1\",\"session_id\":null}",
		"\"c-1\",\"session_id\":true}", "\"c-1\",\"session_id\":\"\"}",
		"\"c-1\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}",
		"\"c-1\",\"x\"  :  [ 1 , 2 ] }", "12}",
	};
	static const char *const whole[] = {
		"", " ", "{}", "[]", "1", "\"x\"", "null", "{\"type\":null}",
		"{\"type\":1}", "{\"type\":\"nope\"}", "{\"type\":\"shop\"," T0
		",\"sps\":4}", "{\"type\":\"shop\"," T0 ",\"sps\":4.5}",
		"{\"type\":\"shop\"," T0 ",\"sps\":6}",
		"{\"type\":\"review\"," T0 ",\"order_id\":\"o\",\"product_id\":"
		"\"p\",\"rating\":5,\"shipping_related\":false}",
		"{\"type\":\"product\"," T0 ",\"product_id\":\"p\",\"price\":1,"
		"\"stock\":1,\"variants\":[{\"variant_id\":\"v\",\"price\":2},"
		"{\"variant_id\":\"w\",\"price\":3,\"x\":[{}]}]}",
		"{\"type\":\"product\"," T0 ",\"product_id\":\"p\",\"price\":1,"
		"\"stock\":1,\"variants\":[{\"variant_id\":\"v\"},1]}",
		"{\"type\":\"product\"," T0 ",\"product_id\":\"p\",\"price\":1,"
		"\"stock\":1,\"variants\":[1]}",
	};
	char buf[4096];
	struct event ev;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		n = (size_t)snprintf(buf, sizeof(buf), "%s%s", pv, tails[i]);
		decode_both(buf, n, &ev, reason, sizeof(reason));
	}
	/* a NUL byte after the object and inside a string */
	n = (size_t)snprintf(buf, sizeof(buf), "%s\"c-1\"}", pv);
	decode_both(buf, n + 1, &ev, reason, sizeof(reason));
	buf[n - 3] = '\0';
	decode_both(buf, n, &ev, reason, sizeof(reason));
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		decode_both(whole[i], strlen(whole[i]), &ev, reason,
		    sizeof(reason));
	/* more values than the tape holds: jansson's turn */
	n = (size_t)snprintf(buf, sizeof(buf), "%s\"c-1\",\"x\":[", pv);
	for (int i = 0; i < 400; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d",
		    i ? "," : "", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]}");
	assert_int_equal(decode_both(buf, n, &ev, reason, sizeof(reason)), 0);
	assert_string_equal(ev.u.page_view.customer_id, "c-1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_product),
		cmocka_unit_test(test_page_view),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_order_update),
		cmocka_unit_test(test_campaign),
		cmocka_unit_test(test_seller_promotion),
		cmocka_unit_test(test_platform_promotion),
		cmocka_unit_test(test_platform_optional),
		cmocka_unit_test(test_shop),
		cmocka_unit_test(test_review),
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_money),
		cmocka_unit_test(test_money_bounds_ok),
		cmocka_unit_test(test_paid_above_unit),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_id_length),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_null_optional),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_reason_truncation),
		cmocka_unit_test(test_failure_clears_event),
		cmocka_unit_test(test_names_and_keys),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_fast_path_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
