/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_event.c - libFuzzer target for the input event decoder
 * (engine/event.c) and the dead-letter builder (engine_dead_letter()).
 *
 * For every input it checks, and aborts on a violation:
 * - a decoded event keeps every rule of docs/events.md: ids NUL-terminated,
 *   1..127 bytes of UTF-8 without control bytes, money 0..10^12, times in
 *   range, qty 1..100000, paid <= unit price, start < end, enums in range;
 * - a failed decode gives a printable ASCII reason and a zeroed event;
 * - decoding is deterministic, and a short reason buffer gets a prefix of
 *   the full reason;
 * - event_decode() (its fast path included) and event_decode_reference()
 *   (jansson only) agree: result, reason and event bytes;
 * - a decoded event re-encoded as JSON decodes to the same struct;
 * - engine_dead_letter() of the raw bytes is valid JSON whose payload is
 *   the input (when it is valid UTF-8 without NUL) or has U+FFFD in it, and
 *   whose payload_base64 decodes to the exact input bytes.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "event.h"

#define FUZZ_MONEY_MAX 1000000000000LL
#define FUZZ_TIME_MAX 253402300799999LL
#define FUZZ_QTY_MAX 100000
#define FUZZ_BPS_MAX 10000

#define CHECK(c)	fuzz_check((c), #c, __LINE__)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_status_words[] = {
	"cancelled", "refunded", "delivered"
};
static const char *const fuzz_platform_words[] = {
	"shipping_voucher", "product_voucher", "fixed_discount", "bmsm"
};
static const char *const fuzz_content_words[] = { "video", "live" };
static const char *const fuzz_tool_words[] = {
	"product_discount", "flash_sale", "voucher", "new_customer_discount",
	"bmsm"
};

/* Abort with the failed condition when c is false. */
static void
fuzz_check(int c, const char *what, int line)
{
	if (c)
		return;
	fprintf(stderr, "fuzz_event.c:%d: invariant violated: %s\n", line,
	    what);
	abort();
}

/* Nonzero if s is an id: NUL within the array, 1..127 bytes, UTF-8. */
static int
fuzz_id_ok(const char *s, int required)
{
	json_t *utf8;
	size_t n;

	if (memchr(s, '\0', EVENT_ID_MAX) == NULL)
		return 0;
	if ((n = strlen(s)) == 0)
		return !required;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return 0;
	if ((utf8 = json_string(s)) == NULL)
		return 0;
	json_decref(utf8);
	return 1;
}

/* Nonzero if v is money: 0..10^12 minor units. */
static int
fuzz_money_ok(int64_t v)
{
	return v >= 0 && v <= FUZZ_MONEY_MAX;
}

/* Nonzero if v is an event time: 0..9999-12-31 in epoch ms. */
static int
fuzz_time_ok(int64_t v)
{
	return v >= 0 && v <= FUZZ_TIME_MAX;
}

/* Nonzero if the product_id presence matches the type. */
static int
fuzz_product_id_ok(const struct event *ev)
{
	switch (ev->type) {
	case EV_SHOP:
	case EV_CONTENT:
		return ev->product_id[0] == '\0' &&
		    fuzz_id_ok(ev->product_id, 0);
	case EV_PLATFORM_PROMOTION:
		return fuzz_id_ok(ev->product_id, 0);
	default:
		return fuzz_id_ok(ev->product_id, 1);
	}
}

/* The fields every event has, and its key. */
static void
fuzz_check_common(const struct event *ev)
{
	const char *key;

	CHECK((int)ev->type >= 0 && ev->type < EV__COUNT);
	CHECK(strcmp(event_type_name(ev->type), "unknown") != 0);
	CHECK(fuzz_id_ok(ev->event_id, 1));
	CHECK(ev->ts >= 1 && ev->ts <= FUZZ_TIME_MAX);
	CHECK(fuzz_id_ok(ev->shop_id, 1));
	CHECK(fuzz_product_id_ok(ev));
	key = event_key(ev);
	CHECK(key[0] != '\0');
	CHECK(key == ev->product_id || key == ev->shop_id);
	CHECK(ev->product_id[0] == '\0' || key == ev->product_id);
}

/* A product: prices are money, variants bounded and complete. */
static void
fuzz_check_product(const struct event_product *p)
{
	CHECK(fuzz_money_ok(p->price));
	CHECK(p->stock >= 0);
	CHECK(fuzz_time_ok(p->listed_at));
	CHECK(fuzz_id_ok(p->category, 0));
	CHECK(p->nvariants >= 0 && p->nvariants <= EVENT_MAX_VARIANTS);
	for (int i = 0; i < p->nvariants; i++) {
		CHECK(fuzz_id_ok(p->variants[i].variant_id, 1));
		CHECK(fuzz_money_ok(p->variants[i].price));
	}
}

/* An order line: ids, qty, and the paid price within the list price. */
static void
fuzz_check_order(const struct event_order *o)
{
	CHECK(fuzz_id_ok(o->order_id, 1));
	CHECK(fuzz_id_ok(o->variant_id, 0));
	CHECK(fuzz_id_ok(o->customer_id, 1));
	CHECK(o->qty >= 1 && o->qty <= FUZZ_QTY_MAX);
	CHECK(fuzz_money_ok(o->unit_price));
	CHECK(fuzz_money_ok(o->paid_unit_price));
	CHECK(o->paid_unit_price <= o->unit_price);
	CHECK(fuzz_id_ok(o->offer_id, 0));
	CHECK(fuzz_id_ok(o->voucher_id, 0));
	CHECK(fuzz_id_ok(o->creator_id, 0));
	CHECK(fuzz_id_ok(o->content_id, 0));
}

/* A time window: both times in range, start strictly before end. */
static void
fuzz_check_window(int64_t start, int64_t end)
{
	CHECK(fuzz_time_ok(start));
	CHECK(fuzz_time_ok(end));
	CHECK(start < end);
}

/* Nonzero if s is one of n words. */
static int
fuzz_is_word(const char *s, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

/* Promotions: ids, discounts in basis points, amounts, windows. */
static void
fuzz_check_promotion(const struct event *ev)
{
	const struct event_seller_promotion *s = &ev->u.seller_promotion;
	const struct event_platform_promotion *p = &ev->u.platform_promotion;

	if (ev->type == EV_SELLER_PROMOTION) {
		CHECK(fuzz_id_ok(s->promotion_id, 1));
		CHECK(fuzz_is_word(s->tool, fuzz_tool_words, 5));
		CHECK(s->discount_bps >= 0 && s->discount_bps <= FUZZ_BPS_MAX);
		fuzz_check_window(s->start, s->end);
		return;
	}
	CHECK(fuzz_id_ok(p->promotion_id, 1));
	CHECK((int)p->kind >= 0 && p->kind <= PLATFORM_BMSM);
	CHECK(p->amount == -1 || fuzz_money_ok(p->amount));
	CHECK(p->discount_bps == -1 ||
	    (p->discount_bps >= 0 && p->discount_bps <= FUZZ_BPS_MAX));
	CHECK(p->amount != -1 || p->discount_bps != -1);
	CHECK(fuzz_money_ok(p->min_spend));
	fuzz_check_window(p->start, p->end);
}

/* Shops, reviews and content. */
static void
fuzz_check_other(const struct event *ev)
{
	const struct event_review *r = &ev->u.review;
	const struct event_content *c = &ev->u.content;

	if (ev->type == EV_SHOP) {
		CHECK(isfinite(ev->u.shop.sps));
		CHECK(ev->u.shop.sps >= 0.0 && ev->u.shop.sps <= 5.0);
		CHECK(ev->u.shop.orders_90d >= -1);
	} else if (ev->type == EV_REVIEW) {
		CHECK(fuzz_id_ok(r->order_id, 1));
		CHECK(r->rating >= 1 && r->rating <= 5);
		CHECK(r->shipping_related == 0 || r->shipping_related == 1);
		CHECK(fuzz_id_ok(r->creator_id, 0));
		CHECK(fuzz_id_ok(r->content_id, 0));
	} else {
		CHECK(fuzz_id_ok(c->creator_id, 1));
		CHECK(fuzz_id_ok(c->content_id, 1));
		CHECK((int)c->kind >= 0 && c->kind <= CONTENT_LIVE);
		CHECK(fuzz_id_ok(c->category, 0));
		CHECK(c->removed == 0 || c->removed == 1);
	}
}

/* Every rule a decoded event must keep. */
static void
fuzz_check_event(const struct event *ev)
{
	fuzz_check_common(ev);
	switch (ev->type) {
	case EV_PRODUCT:
		fuzz_check_product(&ev->u.product);
		break;
	case EV_PAGE_VIEW:
		CHECK(fuzz_id_ok(ev->u.page_view.customer_id, 1));
		CHECK(fuzz_id_ok(ev->u.page_view.session_id, 0));
		break;
	case EV_ORDER:
		fuzz_check_order(&ev->u.order);
		break;
	case EV_ORDER_UPDATE:
		CHECK(fuzz_id_ok(ev->u.order_update.order_id, 1));
		CHECK((int)ev->u.order_update.status >= 0 &&
		    ev->u.order_update.status <= ORDER_DELIVERED);
		break;
	case EV_CAMPAIGN:
		CHECK(fuzz_id_ok(ev->u.campaign.campaign_id, 1));
		CHECK(fuzz_money_ok(ev->u.campaign.campaign_price));
		fuzz_check_window(ev->u.campaign.start, ev->u.campaign.end);
		break;
	case EV_SELLER_PROMOTION:
	case EV_PLATFORM_PROMOTION:
		fuzz_check_promotion(ev);
		break;
	default:
		fuzz_check_other(ev);
		break;
	}
}

/* A rejection: a printable ASCII reason and nothing left in ev. */
static void
fuzz_check_rejected(const struct event *ev, const char *reason)
{
	static const struct event zero;
	size_t n = strnlen(reason, EVENT_REASON_MAX);

	CHECK(n > 0 && n < EVENT_REASON_MAX);
	for (size_t i = 0; i < n; i++)
		CHECK(reason[i] >= 0x20 && reason[i] <= 0x7e);
	CHECK(reason[n - 1] != '.');
	CHECK(memcmp(ev, &zero, sizeof(zero)) == 0);
}

/* Set key to an id unless it is empty (absent). */
static void
fuzz_put_id(json_t *o, const char *key, const char *id)
{
	if (id[0] != '\0')
		json_object_set_new(o, key, json_string(id));
}

/* Set key to an integer. */
static void
fuzz_put_int(json_t *o, const char *key, int64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* Set start and end. */
static void
fuzz_put_window(json_t *o, int64_t start, int64_t end)
{
	fuzz_put_int(o, "start", start);
	fuzz_put_int(o, "end", end);
}

/* Encode a product's fields. */
static void
fuzz_enc_product(json_t *o, const struct event_product *p)
{
	json_t *a, *v;

	fuzz_put_int(o, "price", p->price);
	fuzz_put_int(o, "stock", p->stock);
	fuzz_put_int(o, "listed_at", p->listed_at);
	fuzz_put_id(o, "category", p->category);
	if (p->nvariants == 0)
		return;
	a = json_array();
	for (int i = 0; i < p->nvariants; i++) {
		v = json_object();
		fuzz_put_id(v, "variant_id", p->variants[i].variant_id);
		fuzz_put_int(v, "price", p->variants[i].price);
		json_array_append_new(a, v);
	}
	json_object_set_new(o, "variants", a);
}

/* Encode an order line's fields. */
static void
fuzz_enc_order(json_t *o, const struct event_order *e)
{
	fuzz_put_id(o, "order_id", e->order_id);
	fuzz_put_id(o, "variant_id", e->variant_id);
	fuzz_put_id(o, "customer_id", e->customer_id);
	fuzz_put_int(o, "qty", e->qty);
	fuzz_put_int(o, "unit_price", e->unit_price);
	fuzz_put_int(o, "paid_unit_price", e->paid_unit_price);
	fuzz_put_id(o, "offer_id", e->offer_id);
	fuzz_put_id(o, "voucher_id", e->voucher_id);
	fuzz_put_id(o, "creator_id", e->creator_id);
	fuzz_put_id(o, "content_id", e->content_id);
}

/* Encode a promotion's fields (seller or platform). */
static void
fuzz_enc_promotion(json_t *o, const struct event *ev)
{
	const struct event_seller_promotion *s = &ev->u.seller_promotion;
	const struct event_platform_promotion *p = &ev->u.platform_promotion;

	if (ev->type == EV_SELLER_PROMOTION) {
		fuzz_put_id(o, "promotion_id", s->promotion_id);
		fuzz_put_id(o, "tool", s->tool);
		fuzz_put_int(o, "discount_bps", s->discount_bps);
		fuzz_put_window(o, s->start, s->end);
		return;
	}
	fuzz_put_id(o, "promotion_id", p->promotion_id);
	json_object_set_new(o, "kind", json_string(
	    fuzz_platform_words[p->kind]));
	if (p->amount != -1)
		fuzz_put_int(o, "amount", p->amount);
	if (p->discount_bps != -1)
		fuzz_put_int(o, "discount_bps", p->discount_bps);
	fuzz_put_int(o, "min_spend", p->min_spend);
	fuzz_put_window(o, p->start, p->end);
}

/* Encode a shop, review or content event's fields. */
static void
fuzz_enc_other(json_t *o, const struct event *ev)
{
	const struct event_review *r = &ev->u.review;
	const struct event_content *c = &ev->u.content;

	if (ev->type == EV_SHOP) {
		json_object_set_new(o, "sps", json_real(ev->u.shop.sps));
		if (ev->u.shop.orders_90d != -1)
			fuzz_put_int(o, "orders_90d", ev->u.shop.orders_90d);
	} else if (ev->type == EV_REVIEW) {
		fuzz_put_id(o, "order_id", r->order_id);
		fuzz_put_int(o, "rating", r->rating);
		json_object_set_new(o, "shipping_related",
		    json_boolean(r->shipping_related));
		fuzz_put_id(o, "creator_id", r->creator_id);
		fuzz_put_id(o, "content_id", r->content_id);
	} else {
		fuzz_put_id(o, "creator_id", c->creator_id);
		fuzz_put_id(o, "content_id", c->content_id);
		json_object_set_new(o, "kind", json_string(
		    fuzz_content_words[c->kind]));
		fuzz_put_id(o, "category", c->category);
		json_object_set_new(o, "removed", json_boolean(c->removed));
	}
}

/* A checked event as the JSON a producer would send (new reference). */
static json_t *
fuzz_encode(const struct event *ev)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string(event_type_name(ev->type)));
	fuzz_put_id(o, "event_id", ev->event_id);
	fuzz_put_int(o, "ts", ev->ts);
	fuzz_put_id(o, "shop_id", ev->shop_id);
	fuzz_put_id(o, "product_id", ev->product_id);
	if (ev->type == EV_PRODUCT)
		fuzz_enc_product(o, &ev->u.product);
	else if (ev->type == EV_PAGE_VIEW) {
		fuzz_put_id(o, "customer_id", ev->u.page_view.customer_id);
		fuzz_put_id(o, "session_id", ev->u.page_view.session_id);
	} else if (ev->type == EV_ORDER)
		fuzz_enc_order(o, &ev->u.order);
	else if (ev->type == EV_ORDER_UPDATE) {
		fuzz_put_id(o, "order_id", ev->u.order_update.order_id);
		json_object_set_new(o, "status", json_string(
		    fuzz_status_words[ev->u.order_update.status]));
	} else if (ev->type == EV_CAMPAIGN) {
		fuzz_put_id(o, "campaign_id", ev->u.campaign.campaign_id);
		fuzz_put_int(o, "campaign_price", ev->u.campaign.campaign_price);
		fuzz_put_window(o, ev->u.campaign.start, ev->u.campaign.end);
	} else if (ev->type == EV_SELLER_PROMOTION ||
	    ev->type == EV_PLATFORM_PROMOTION)
		fuzz_enc_promotion(o, ev);
	else
		fuzz_enc_other(o, ev);
	return o;
}

/* Re-encode a decoded event and decode it again: the same struct. */
static void
fuzz_check_reencode(const struct event *ev)
{
	struct event *again = malloc(sizeof(*again));
	char reason[EVENT_REASON_MAX];
	json_t *o = fuzz_encode(ev);
	char *text = json_dumps(o, 0);

	json_decref(o);
	CHECK(again != NULL && text != NULL);
	if (event_decode(text, strlen(text), again, reason,
	    sizeof(reason)) == -1)
		fprintf(stderr, "re-encoded event rejected: %s\n%s\n", reason,
		    text);
	CHECK(memcmp(ev, again, sizeof(*ev)) == 0);
	free(text);
	free(again);
}

/* The value of one base64 digit, or -1. */
static int
fuzz_b64_digit(char c)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(tab, c) : NULL;

	return p != NULL ? (int)(p - tab) : -1;
}

/* Nonzero if the padded base64 text s decodes to exactly data[0..n). */
static int
fuzz_b64_equals(const char *s, const uint8_t *data, size_t n)
{
	size_t len = strlen(s), o = 0;

	if (len != (n + 2) / 3 * 4)
		return 0;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int pad = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = fuzz_b64_digit(s[i + j]);

			if (s[i + j] == '=' && i + 4 == len && j >= 2)
				d = 0, pad++;
			else if (d < 0 || pad > 0)
				return 0;
			v = v << 6 | (uint32_t)d;
		}
		for (int k = 0; k < 3 - pad; k++, o++)
			if (o >= n || data[o] != (uint8_t)(v >> (16 - 8 * k)))
				return 0;
	}
	return o == n;
}

/* Nonzero if the n bytes are valid UTF-8 without NUL. */
static int
fuzz_clean_text(const uint8_t *data, size_t n)
{
	json_t *s;

	if (memchr(data, '\0', n) != NULL)
		return 0;
	if ((s = json_stringn((const char *)data, n)) == NULL)
		return 0;
	json_decref(s);
	return 1;
}

/* Nonzero if v is the JSON string s. */
static int
fuzz_str_is(const json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* The dead letter of the raw bytes is JSON carrying them faithfully. */
static void
fuzz_check_dead_letter(const uint8_t *data, size_t n, const char *reason)
{
	json_error_t e;
	json_t *dl, *payload;
	char *text;
	const char *p, *b64;

	text = engine_dead_letter(reason, (const char *)data, n,
	    "smartpromo.events", 3, 81723, 1700000123456LL);
	CHECK(text != NULL);
	dl = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	if (dl == NULL)
		fprintf(stderr, "dead letter is not JSON: %s\n", e.text);
	CHECK(dl != NULL);
	CHECK(fuzz_str_is(json_object_get(dl, "type"), "dead_letter"));
	CHECK(fuzz_str_is(json_object_get(dl, "reason"), reason));
	payload = json_object_get(dl, "payload");
	CHECK(json_is_string(payload));
	p = json_string_value(payload);
	CHECK(strlen(p) == json_string_length(payload));
	if (fuzz_clean_text(data, n))
		CHECK(json_string_length(payload) == n &&
		    memcmp(p, data, n) == 0);
	else
		CHECK(strstr(p, "\xef\xbf\xbd") != NULL);
	b64 = json_string_value(json_object_get(dl, "payload_base64"));
	CHECK(b64 != NULL && fuzz_b64_equals(b64, data, n));
	json_decref(dl);
	free(text);
}

/* Decode once more with a short reason buffer: same outcome, a prefix. */
static void
fuzz_check_again(const uint8_t *data, size_t n, const struct event *ev,
    int rc, const char *reason)
{
	struct event *again = malloc(sizeof(*again));
	char small[24];
	size_t k = n % sizeof(small);   /* 0: no buffer at all */

	CHECK(again != NULL);
	memset(small, 'x', sizeof(small));
	CHECK(event_decode((const char *)data, n, again, k ? small : NULL,
	    k) == rc);
	CHECK(memcmp(ev, again, sizeof(*ev)) == 0);
	if (k > 0) {
		CHECK(memchr(small, '\0', k) != NULL);
		CHECK(strncmp(small, reason, k - 1) == 0);
		CHECK(strlen(small) == strnlen(reason, k - 1));
	}
	free(again);
}

/* The reference decode (jansson's tree only): the same outcome, the same
 * reason and the same event bytes as event_decode()'s fast path. */
static void
fuzz_check_reference(const uint8_t *data, size_t n, const struct event *ev,
    int rc, const char *reason)
{
	struct event *ref = malloc(sizeof(*ref));
	char why[EVENT_REASON_MAX];

	CHECK(ref != NULL);
	CHECK(event_decode_reference((const char *)data, n, ref, why,
	    sizeof(why)) == rc);
	CHECK(strcmp(why, reason) == 0);
	CHECK(memcmp(ev, ref, sizeof(*ev)) == 0);
	free(ref);
}

/* One input: decode, check, re-encode, dead-letter. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event *ev = malloc(sizeof(*ev));
	char reason[EVENT_REASON_MAX];
	int rc;

	CHECK(ev != NULL);
	memset(reason, 'x', sizeof(reason));
	rc = event_decode((const char *)data, size, ev, reason, sizeof(reason));
	CHECK(rc == 0 || rc == -1);
	CHECK(memchr(reason, '\0', sizeof(reason)) != NULL);
	if (rc == 0) {
		CHECK(reason[0] == '\0');
		fuzz_check_event(ev);
		fuzz_check_reencode(ev);
	} else
		fuzz_check_rejected(ev, reason);
	fuzz_check_again(data, size, ev, rc, reason);
	fuzz_check_reference(data, size, ev, rc, reason);
	fuzz_check_dead_letter(data, size, rc == 0 ? "accepted" : reason);
	free(ev);
	return 0;
}
