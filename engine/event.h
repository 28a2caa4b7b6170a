/* SPDX-License-Identifier: Apache-2.0 */
/*
 * event.h - decode and validate the input events of the smartpromo v1 schema
 * (docs/events.md).
 *
 * Pure: event_decode() is fed bytes and fills a caller-owned struct event;
 * it allocates nothing that outlives the call and never logs.  Decoding is
 * strict: a missing required field, a field of the wrong type, negative
 * money, an id too long, a value out of its range, bad UTF-8, an embedded
 * NUL, trailing garbage or a message over EVENT_MAX_BYTES all fail, with a
 * short reason ("field \"qty\" must be a positive integer").  Unknown fields
 * are ignored so that producers can add fields before consumers know them.
 * A failed decode leaves no partial event behind: callers must not use ev.
 */
#ifndef SP_EVENT_H
#define SP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define EVENT_MAX_BYTES 65536
#define EVENT_ID_MAX 128          /* ids: 1..127 bytes of UTF-8 */
#define EVENT_MAX_VARIANTS 32
#define EVENT_REASON_MAX 256

enum event_type {
	EV_PRODUCT,
	EV_PAGE_VIEW,
	EV_ORDER,
	EV_ORDER_UPDATE,
	EV_CAMPAIGN,
	EV_SELLER_PROMOTION,
	EV_PLATFORM_PROMOTION,
	EV_SHOP,
	EV_REVIEW,
	EV_CONTENT,
	EV__COUNT
};

enum order_status { ORDER_CANCELLED, ORDER_REFUNDED, ORDER_DELIVERED };

enum platform_kind {
	PLATFORM_SHIPPING_VOUCHER,
	PLATFORM_PRODUCT_VOUCHER,
	PLATFORM_FIXED_DISCOUNT,
	PLATFORM_BMSM
};

enum content_kind { CONTENT_VIDEO, CONTENT_LIVE };

struct event_variant {
	char variant_id[EVENT_ID_MAX];
	int64_t price;
};

struct event_product {
	int64_t price;          /* list price, minor units, >= 0 */
	int64_t stock;          /* >= 0 */
	int64_t listed_at;      /* epoch ms */
	char category[EVENT_ID_MAX];    /* "" when absent */
	int nvariants;
	struct event_variant variants[EVENT_MAX_VARIANTS];
};

struct event_page_view {
	char customer_id[EVENT_ID_MAX];
	char session_id[EVENT_ID_MAX];  /* "" when absent */
};

struct event_order {
	char order_id[EVENT_ID_MAX];
	char variant_id[EVENT_ID_MAX];  /* optional fields: "" when absent */
	char customer_id[EVENT_ID_MAX];
	int64_t qty;                    /* >= 1 */
	int64_t unit_price;             /* list price, >= 0 */
	int64_t paid_unit_price;        /* >= 0 and <= unit_price */
	char offer_id[EVENT_ID_MAX];
	char voucher_id[EVENT_ID_MAX];
	char creator_id[EVENT_ID_MAX];
	char content_id[EVENT_ID_MAX];
};

struct event_order_update {
	char order_id[EVENT_ID_MAX];
	enum order_status status;
};

struct event_campaign {
	char campaign_id[EVENT_ID_MAX];
	int64_t campaign_price;         /* >= 0 */
	int64_t start, end;             /* epoch ms, start < end */
};

struct event_seller_promotion {
	char promotion_id[EVENT_ID_MAX];
	char tool[EVENT_ID_MAX];
	int32_t discount_bps;           /* 0..10000 */
	int64_t start, end;
};

struct event_platform_promotion {
	char promotion_id[EVENT_ID_MAX];
	enum platform_kind kind;
	int64_t amount;                 /* -1 when absent */
	int32_t discount_bps;           /* -1 when absent */
	int64_t min_spend;              /* 0 when absent */
	int64_t start, end;
};

struct event_shop {
	double sps;                     /* 0..5 */
	int64_t orders_90d;             /* -1 when absent */
};

struct event_review {
	char order_id[EVENT_ID_MAX];
	int rating;                     /* 1..5 */
	int shipping_related;           /* 0 or 1 */
	char creator_id[EVENT_ID_MAX];
	char content_id[EVENT_ID_MAX];
};

struct event_content {
	char creator_id[EVENT_ID_MAX];
	char content_id[EVENT_ID_MAX];
	enum content_kind kind;
	char category[EVENT_ID_MAX];
	int removed;                    /* 0 or 1 */
};

struct event {
	enum event_type type;
	char event_id[EVENT_ID_MAX];
	int64_t ts;                     /* event time, epoch ms, > 0 */
	char shop_id[EVENT_ID_MAX];
	char product_id[EVENT_ID_MAX];  /* "" for types that name none */
	union {
		struct event_product product;
		struct event_page_view page_view;
		struct event_order order;
		struct event_order_update order_update;
		struct event_campaign campaign;
		struct event_seller_promotion seller_promotion;
		struct event_platform_promotion platform_promotion;
		struct event_shop shop;
		struct event_review review;
		struct event_content content;
	} u;
};

/*
 * Decode one message.  Returns 0 with ev filled, or -1 with a reason in
 * reason (always NUL-terminated, at most reasonlen bytes).
 */
int event_decode(const char *buf, size_t len, struct event *ev,
    char *reason, size_t reasonlen);

/*
 * The same decode through jansson's tree only, never the fast path that
 * event_decode() takes for plain ASCII messages (no allocation); the two
 * must agree on every input: for the tests that check it.
 */
int event_decode_reference(const char *buf, size_t len, struct event *ev,
    char *reason, size_t reasonlen);

/* The wire name of a type ("page_view"), or "unknown". */
const char *event_type_name(enum event_type type);

/* The partition key of an event: product_id when it names one, else shop_id. */
const char *event_key(const struct event *ev);

#endif
