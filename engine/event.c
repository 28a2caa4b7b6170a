/* SPDX-License-Identifier: Apache-2.0 */
/*
 * event.c - decode and validate the input events (docs/events.md).
 *
 * The schema is a table: one list of field specs per event type, each spec
 * naming the JSON field, its kind, whether it is required, its bounds and
 * where it lands in struct event.  A small number of cross-field rules
 * (start before end, paid price within the list price, ...) are per-type
 * check functions.  jansson parses; it already refuses invalid UTF-8, NUL
 * in strings, duplicate keys and trailing garbage with the flags used here.
 * Every string is copied into the fixed arrays of struct event, so nothing
 * points into the JSON tree once it is freed.
 */
#include "event.h"
#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EVENT_MONEY_MAX 1000000000000LL         /* 10^12 minor units */
#define EVENT_TIME_MAX 253402300799999LL        /* 9999-12-31T23:59:59.999Z */
#define EVENT_QTY_MAX 100000
#define EVENT_BPS_MAX 10000
#define EVENT_ECHO_MAX 64               /* bytes of a bad value quoted back */

/* Integer fields are stored as int64_t or as 32-bit int/enum. */
_Static_assert(sizeof(int) == sizeof(int32_t), "int is not 32 bits");
_Static_assert(sizeof(enum order_status) == sizeof(int32_t), "enum size");
_Static_assert(sizeof(enum platform_kind) == sizeof(int32_t), "enum size");
_Static_assert(sizeof(enum content_kind) == sizeof(int32_t), "enum size");

enum event_fkind {
	EF_ID,          /* string, 1..127 bytes, no control character */
	EF_INT,         /* JSON integer in [min, max] */
	EF_MONEY,       /* JSON integer in [0, EVENT_MONEY_MAX], minor units */
	EF_REAL,        /* JSON number in [min, max], stored as double */
	EF_BOOL,        /* JSON true or false, stored as int 0 or 1 */
	EF_ENUM,        /* one of words, stored as its index */
	EF_WORD,        /* one of words, stored as the string */
	EF_VARIANTS     /* the product's variants array */
};

struct event_field {
	const char *name;
	enum event_fkind kind;
	int required;
	size_t off;                     /* where the value lands in the base */
	size_t size;                    /* and its size */
	int64_t min, max;               /* EF_INT, EF_REAL */
	int64_t absent;                 /* stored when absent (numbers only) */
	const char *unit;               /* EF_INT: said in the reason, or NULL */
	const char *const *words;       /* EF_ENUM, EF_WORD: NULL-terminated */
};

struct event_schema {
	const char *name;
	const struct event_field *fields;
	int (*check)(const struct event *, char *);
};

#define AT(T, m)	.off = offsetof(T, m), .size = sizeof(((T *)0)->m)
#define EV(m)		AT(struct event, m)
#define ID(n, m, req)	{ .name = n, .kind = EF_ID, .required = req, EV(m) }
#define MONEY(n, m, req, abs) \
	{ .name = n, .kind = EF_MONEY, .required = req, EV(m), .absent = abs }
#define TIME(n, m, lo) \
	{ .name = n, .kind = EF_INT, .required = 1, EV(m), .min = lo, \
	  .max = EVENT_TIME_MAX, .unit = "epoch ms" }
#define INT(n, m, req, lo, hi, abs) \
	{ .name = n, .kind = EF_INT, .required = req, EV(m), .min = lo, \
	  .max = hi, .absent = abs }
#define BOOL(n, m, req)	{ .name = n, .kind = EF_BOOL, .required = req, EV(m) }
#define ENUM(n, m, w)	{ .name = n, .kind = EF_ENUM, .required = 1, EV(m), \
	  .words = w }
#define END		{ .name = NULL }

static const char *const event_status_words[] = {
	"cancelled", "refunded", "delivered", NULL
};
static const char *const event_platform_words[] = {
	"shipping_voucher", "product_voucher", "fixed_discount", "bmsm", NULL
};
static const char *const event_content_words[] = { "video", "live", NULL };
static const char *const event_tool_words[] = {
	"product_discount", "flash_sale", "voucher", "new_customer_discount",
	"bmsm", NULL
};

static const struct event_field event_common_fields[] = {
	ID("event_id", event_id, 1),
	TIME("ts", ts, 1),
	ID("shop_id", shop_id, 1),
	END
};

static const struct event_field event_variant_fields[] = {
	{ .name = "variant_id", .kind = EF_ID, .required = 1,
	  AT(struct event_variant, variant_id) },
	{ .name = "price", .kind = EF_MONEY, .required = 1,
	  AT(struct event_variant, price) },
	END
};

static const struct event_field event_product_fields[] = {
	ID("product_id", product_id, 1),
	MONEY("price", u.product.price, 1, 0),
	INT("stock", u.product.stock, 1, 0, INT64_MAX, 0),
	TIME("listed_at", u.product.listed_at, 0),
	ID("category", u.product.category, 0),
	{ .name = "variants", .kind = EF_VARIANTS, EV(u.product) },
	END
};

static const struct event_field event_page_view_fields[] = {
	ID("product_id", product_id, 1),
	ID("customer_id", u.page_view.customer_id, 1),
	ID("session_id", u.page_view.session_id, 0),
	END
};

static const struct event_field event_order_fields[] = {
	ID("order_id", u.order.order_id, 1),
	ID("product_id", product_id, 1),
	ID("variant_id", u.order.variant_id, 0),
	ID("customer_id", u.order.customer_id, 1),
	INT("qty", u.order.qty, 1, 1, EVENT_QTY_MAX, 0),
	MONEY("unit_price", u.order.unit_price, 1, 0),
	MONEY("paid_unit_price", u.order.paid_unit_price, 1, 0),
	ID("offer_id", u.order.offer_id, 0),
	ID("voucher_id", u.order.voucher_id, 0),
	ID("creator_id", u.order.creator_id, 0),
	ID("content_id", u.order.content_id, 0),
	END
};

static const struct event_field event_order_update_fields[] = {
	ID("order_id", u.order_update.order_id, 1),
	ID("product_id", product_id, 1),
	ENUM("status", u.order_update.status, event_status_words),
	END
};

static const struct event_field event_campaign_fields[] = {
	ID("product_id", product_id, 1),
	ID("campaign_id", u.campaign.campaign_id, 1),
	MONEY("campaign_price", u.campaign.campaign_price, 1, 0),
	TIME("start", u.campaign.start, 0),
	TIME("end", u.campaign.end, 0),
	END
};

static const struct event_field event_seller_promotion_fields[] = {
	ID("promotion_id", u.seller_promotion.promotion_id, 1),
	ID("product_id", product_id, 1),
	{ .name = "tool", .kind = EF_WORD, .required = 1,
	  EV(u.seller_promotion.tool), .words = event_tool_words },
	INT("discount_bps", u.seller_promotion.discount_bps, 1, 0,
	    EVENT_BPS_MAX, 0),
	TIME("start", u.seller_promotion.start, 0),
	TIME("end", u.seller_promotion.end, 0),
	END
};

static const struct event_field event_platform_promotion_fields[] = {
	ID("promotion_id", u.platform_promotion.promotion_id, 1),
	ID("product_id", product_id, 0),
	ENUM("kind", u.platform_promotion.kind, event_platform_words),
	MONEY("amount", u.platform_promotion.amount, 0, -1),
	INT("discount_bps", u.platform_promotion.discount_bps, 0, 0,
	    EVENT_BPS_MAX, -1),
	MONEY("min_spend", u.platform_promotion.min_spend, 0, 0),
	TIME("start", u.platform_promotion.start, 0),
	TIME("end", u.platform_promotion.end, 0),
	END
};

static const struct event_field event_shop_fields[] = {
	{ .name = "sps", .kind = EF_REAL, .required = 1, EV(u.shop.sps),
	  .min = 0, .max = 5 },
	INT("orders_90d", u.shop.orders_90d, 0, 0, INT64_MAX, -1),
	END
};

static const struct event_field event_review_fields[] = {
	ID("order_id", u.review.order_id, 1),
	ID("product_id", product_id, 1),
	INT("rating", u.review.rating, 1, 1, 5, 0),
	BOOL("shipping_related", u.review.shipping_related, 1),
	ID("creator_id", u.review.creator_id, 0),
	ID("content_id", u.review.content_id, 0),
	END
};

static const struct event_field event_content_fields[] = {
	ID("creator_id", u.content.creator_id, 1),
	ID("content_id", u.content.content_id, 1),
	ENUM("kind", u.content.kind, event_content_words),
	ID("category", u.content.category, 0),
	BOOL("removed", u.content.removed, 0),
	END
};

static int event_check_order(const struct event *, char *);
static int event_check_window(const struct event *, char *);
static int event_check_platform(const struct event *, char *);

static const struct event_schema event_schemas[EV__COUNT] = {
	[EV_PRODUCT] = { "product", event_product_fields, NULL },
	[EV_PAGE_VIEW] = { "page_view", event_page_view_fields, NULL },
	[EV_ORDER] = { "order", event_order_fields, event_check_order },
	[EV_ORDER_UPDATE] = { "order_update", event_order_update_fields,
	    NULL },
	[EV_CAMPAIGN] = { "campaign", event_campaign_fields,
	    event_check_window },
	[EV_SELLER_PROMOTION] = { "seller_promotion",
	    event_seller_promotion_fields, event_check_window },
	[EV_PLATFORM_PROMOTION] = { "platform_promotion",
	    event_platform_promotion_fields, event_check_platform },
	[EV_SHOP] = { "shop", event_shop_fields, NULL },
	[EV_REVIEW] = { "review", event_review_fields, NULL },
	[EV_CONTENT] = { "content", event_content_fields, NULL },
};

static int event_fields(const json_t *, const struct event_field *, void *,
    const char *, char *);

/* Write a reason into why (EVENT_REASON_MAX bytes); always returns -1. */
static int __attribute__((format(printf, 2, 3)))
event_err(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, EVENT_REASON_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* Whether a byte is printable ASCII. */
static int
event_printable(char c)
{
	return (unsigned char)c >= 0x20 && (unsigned char)c <= 0x7e;
}

/* Copy a value for quoting in a reason: printable ASCII, at most 64 bytes. */
static void
event_echo(char *dst, size_t dstlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < dstlen && i < EVENT_ECHO_MAX; i++)
		dst[i] = event_printable(s[i]) && s[i] != '"' && s[i] != '\\' ?
		    s[i] : '?';
	dst[i] = '\0';
	if (s[i] != '\0' && i >= 3)
		memcpy(dst + i - 3, "...", 3);
}

/* Hand the reason to the caller: printable ASCII, NUL-terminated, cut. */
static void
event_reason_out(char *reason, size_t reasonlen, const char *why)
{
	size_t i;

	if (reason == NULL || reasonlen == 0)
		return;
	for (i = 0; why[i] != '\0' && i + 1 < reasonlen; i++)
		reason[i] = event_printable(why[i]) ? why[i] : '?';
	reason[i] = '\0';
}

/* Turn a jansson error into a reason. */
static int
event_json_err(const json_error_t *e, char *why)
{
	switch (json_error_code(e)) {
	case json_error_invalid_utf8:
		return event_err(why, "invalid UTF-8");
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return event_err(why, "string contains NUL (\\u0000)");
	default:
		break;
	}
	if (strncmp(e->text, "invalid Unicode", 15) == 0)
		return event_err(why, "invalid UTF-8: unpaired surrogate "
		    "escape at line %d column %d", e->line, e->column);
	return event_err(why, "invalid JSON at line %d column %d: %s",
	    e->line, e->column, e->text);
}

/* Parse the bytes into a JSON object, or NULL with a reason. */
static json_t *
event_parse(const char *buf, size_t len, char *why)
{
	json_error_t e;
	json_t *root;

	if (buf == NULL)
		buf = "";
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &e);
	if (root == NULL) {
		event_json_err(&e, why);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		event_err(why, "event must be a JSON object");
		return NULL;
	}
	return root;
}

/* Store an integer into a 64- or 32-bit slot. */
static void
event_store_int(void *dst, size_t size, int64_t v)
{
	int32_t v32 = (int32_t)v;

	if (size == sizeof(int64_t))
		memcpy(dst, &v, sizeof(v));
	else
		memcpy(dst, &v32, sizeof(v32));
}

/* An id: a string of 1..127 bytes without control characters. */
static int
event_get_id(const json_t *v, const char *name, char *dst, size_t size,
    char *why)
{
	const char *s;
	size_t n, i;

	if (!json_is_string(v))
		return event_err(why, "field \"%s\" must be a string", name);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n >= size)
		return event_err(why, "field \"%s\" must be 1 to %zu bytes long",
		    name, size - 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return event_err(why, "field \"%s\" must not contain "
			    "control characters", name);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* The reason for an integer out of [min, max]. */
static int
event_int_err(const struct event_field *f, const char *name, char *why)
{
	char unit[32] = "";

	if (f->unit != NULL)
		snprintf(unit, sizeof(unit), " (%s)", f->unit);
	if (f->max == INT64_MAX)
		return event_err(why, "field \"%s\" must be an integer of at "
		    "least %lld%s", name, (long long)f->min, unit);
	return event_err(why, "field \"%s\" must be an integer from %lld to "
	    "%lld%s", name, (long long)f->min, (long long)f->max, unit);
}

/* A bounded integer. */
static int
event_get_int(const json_t *v, const struct event_field *f, const char *name,
    void *dst, char *why)
{
	json_int_t n;

	if (!json_is_integer(v))
		return event_int_err(f, name, why);
	n = json_integer_value(v);
	if (n < f->min || n > f->max)
		return event_int_err(f, name, why);
	event_store_int(dst, f->size, n);
	return 0;
}

/* Money: a JSON integer of minor units, 0..10^12. */
static int
event_get_money(const json_t *v, const char *name, void *dst, char *why)
{
	json_int_t n;

	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0)
		return event_err(why, "field \"%s\" must be a non-negative "
		    "integer (minor units)", name);
	if (n > EVENT_MONEY_MAX)
		return event_err(why, "field \"%s\" must be at most %lld "
		    "(minor units)", name, EVENT_MONEY_MAX);
	event_store_int(dst, sizeof(int64_t), n);
	return 0;
}

/* A bounded number, integer or real. */
static int
event_get_real(const json_t *v, const struct event_field *f, const char *name,
    void *dst, char *why)
{
	double d;

	if (!json_is_number(v) || (d = json_number_value(v)) < (double)f->min ||
	    d > (double)f->max)
		return event_err(why, "field \"%s\" must be a number from %lld "
		    "to %lld", name, (long long)f->min, (long long)f->max);
	memcpy(dst, &d, sizeof(d));
	return 0;
}

/* A boolean, stored as int 0 or 1. */
static int
event_get_bool(const json_t *v, const char *name, void *dst, char *why)
{
	if (!json_is_boolean(v))
		return event_err(why, "field \"%s\" must be true or false", name);
	event_store_int(dst, sizeof(int), json_is_true(v) ? 1 : 0);
	return 0;
}

/* The reason for a word not in the list: names every allowed word. */
static int
event_word_err(const char *const *words, const char *name, char *why)
{
	size_t n;

	n = (size_t)snprintf(why, EVENT_REASON_MAX, "field \"%s\" must be one "
	    "of", name);
	for (size_t i = 0; words[i] != NULL && n < EVENT_REASON_MAX; i++)
		n += (size_t)snprintf(why + n, EVENT_REASON_MAX - n, "%s \"%s\"",
		    i == 0 ? "" : ",", words[i]);
	return -1;
}

/* One of a fixed list of words: its index into words, or -1. */
static int
event_get_word(const json_t *v, const struct event_field *f, const char *name,
    char *why)
{
	const char *s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		for (int i = 0; f->words[i] != NULL; i++)
			if (strcmp(s, f->words[i]) == 0)
				return i;
	}
	return event_word_err(f->words, name, why);
}

/* The product's variants: an array of at most 32 {variant_id, price}. */
static int
event_get_variants(const json_t *v, const char *name,
    struct event_product *p, char *why)
{
	char path[128];
	size_t i;

	if (!json_is_array(v))
		return event_err(why, "field \"%s\" must be an array", name);
	if (json_array_size(v) > EVENT_MAX_VARIANTS)
		return event_err(why, "field \"%s\" must have at most %d "
		    "elements", name, EVENT_MAX_VARIANTS);
	for (i = 0; i < json_array_size(v); i++) {
		if (!json_is_object(json_array_get(v, i)))
			return event_err(why, "field \"%s[%zu]\" must be an "
			    "object", name, i);
		snprintf(path, sizeof(path), "%s[%zu].", name, i);
		if (event_fields(json_array_get(v, i), event_variant_fields,
		    &p->variants[i], path, why) == -1)
			return -1;
	}
	p->nvariants = (int)i;
	return 0;
}

/* Decode one present, non-null field into base. */
static int
event_field(const json_t *v, const struct event_field *f, const char *name,
    void *base, char *why)
{
	char *dst = (char *)base + f->off;
	int i;

	switch (f->kind) {
	case EF_ID:
		return event_get_id(v, name, dst, f->size, why);
	case EF_INT:
		return event_get_int(v, f, name, dst, why);
	case EF_MONEY:
		return event_get_money(v, name, dst, why);
	case EF_REAL:
		return event_get_real(v, f, name, dst, why);
	case EF_BOOL:
		return event_get_bool(v, name, dst, why);
	case EF_ENUM:
	case EF_WORD:
		if ((i = event_get_word(v, f, name, why)) == -1)
			return -1;
		if (f->kind == EF_WORD)
			util_strlcpy(dst, f->words[i], f->size);
		else
			event_store_int(dst, f->size, i);
		return 0;
	case EF_VARIANTS:
		return event_get_variants(v, name, (void *)dst, why);
	}
	return event_err(why, "field \"%s\" has no decoder", name);
}

/* Store the value an absent optional field stands for. */
static void
event_absent(const struct event_field *f, void *base)
{
	char *dst = (char *)base + f->off;

	if (f->kind == EF_INT || f->kind == EF_MONEY)
		event_store_int(dst, f->size, f->absent);
}

/* Decode every field of a spec list from obj into base; null is absent. */
static int
event_fields(const json_t *obj, const struct event_field *fields, void *base,
    const char *prefix, char *why)
{
	const struct event_field *f;
	const json_t *v;
	const char *name;
	char buf[96];

	for (f = fields; f->name != NULL; f++) {
		name = f->name;
		if (prefix[0] != '\0') {
			snprintf(buf, sizeof(buf), "%s%s", prefix, f->name);
			name = buf;
		}
		v = json_object_get(obj, f->name);
		if (v == NULL || json_is_null(v)) {
			if (f->required)
				return event_err(why, "missing field \"%s\"",
				    name);
			event_absent(f, base);
			continue;
		}
		if (event_field(v, f, name, base, why) == -1)
			return -1;
	}
	return 0;
}

/* The event's type, from its "type" field; -1 with a reason. */
static int
event_find_type(const json_t *root, char *why)
{
	const json_t *v = json_object_get(root, "type");
	char echo[EVENT_ECHO_MAX + 1];

	if (v == NULL || json_is_null(v))
		return event_err(why, "missing field \"type\"");
	if (!json_is_string(v))
		return event_err(why, "field \"type\" must be a string");
	for (int t = 0; t < EV__COUNT; t++)
		if (strcmp(json_string_value(v), event_schemas[t].name) == 0)
			return t;
	event_echo(echo, sizeof(echo), json_string_value(v));
	return event_err(why, "unknown event type \"%s\"", echo);
}

/* An order line: the paid price never exceeds the list price. */
static int
event_check_order(const struct event *ev, char *why)
{
	if (ev->u.order.paid_unit_price > ev->u.order.unit_price)
		return event_err(why, "field \"paid_unit_price\" must not exceed "
		    "\"unit_price\"");
	return 0;
}

/* A time window: start strictly before end. */
static int
event_check_window(const struct event *ev, char *why)
{
	int64_t start, end;

	if (ev->type == EV_CAMPAIGN) {
		start = ev->u.campaign.start;
		end = ev->u.campaign.end;
	} else {
		start = ev->u.seller_promotion.start;
		end = ev->u.seller_promotion.end;
	}
	if (start >= end)
		return event_err(why, "field \"end\" must be later than "
		    "\"start\"");
	return 0;
}

/* A platform promotion: an amount or a discount, and a window. */
static int
event_check_platform(const struct event *ev, char *why)
{
	const struct event_platform_promotion *p = &ev->u.platform_promotion;

	if (p->amount == -1 && p->discount_bps == -1)
		return event_err(why, "missing field \"amount\" or "
		    "\"discount_bps\"");
	if (p->start >= p->end)
		return event_err(why, "field \"end\" must be later than "
		    "\"start\"");
	return 0;
}

/* Decode a parsed object into ev. */
static int
event_decode_object(const json_t *root, struct event *ev, char *why)
{
	const struct event_schema *s;
	int t;

	if ((t = event_find_type(root, why)) == -1)
		return -1;
	ev->type = (enum event_type)t;
	s = &event_schemas[t];
	if (event_fields(root, event_common_fields, ev, "", why) == -1 ||
	    event_fields(root, s->fields, ev, "", why) == -1)
		return -1;
	return s->check != NULL ? s->check(ev, why) : 0;
}

/* Decode one message into ev, or fail with a reason and a cleared ev. */
int
event_decode(const char *buf, size_t len, struct event *ev, char *reason,
    size_t reasonlen)
{
	char why[EVENT_REASON_MAX] = "";
	json_t *root = NULL;
	int rc = -1;

	memset(ev, 0, sizeof(*ev));
	if (len > EVENT_MAX_BYTES)
		event_err(why, "event is larger than %d bytes", EVENT_MAX_BYTES);
	else if ((root = event_parse(buf, len, why)) != NULL)
		rc = event_decode_object(root, ev, why);
	json_decref(root);
	if (rc == -1) {
		memset(ev, 0, sizeof(*ev));
		if (why[0] == '\0')
			event_err(why, "invalid event");
		event_reason_out(reason, reasonlen, why);
	} else if (reason != NULL && reasonlen > 0)
		reason[0] = '\0';
	return rc;
}

/* The wire name of a type. */
const char *
event_type_name(enum event_type type)
{
	if ((int)type < 0 || type >= EV__COUNT)
		return "unknown";
	return event_schemas[type].name;
}

/* The partition key: product_id when the event names one, else shop_id. */
const char *
event_key(const struct event *ev)
{
	return ev->product_id[0] != '\0' ? ev->product_id : ev->shop_id;
}
