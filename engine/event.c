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
 * points into the JSON tree once it is freed.  Most messages skip jansson:
 * see "the fast path" below.
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

/*
 * The fast path: most events are short ASCII objects, which a small
 * parser reads into a tape of slices of the message without allocating.
 * It accepts only what jansson accepts with the same meaning: strings of
 * printable ASCII without escapes, integers of at most 18 digits, true,
 * false, null, objects without duplicate keys and arrays, at most
 * EVENT_TAPE_MAX values deep EVENT_DEPTH_MAX; anything else (a real, an
 * escape, UTF-8, an error) goes to jansson, which says what is wrong.
 * The decoder reads either through struct event_val.
 */
#define EVENT_TAPE_MAX 256
#define EVENT_DEPTH_MAX 16

enum event_jtype { EJ_NULL, EJ_TRUE, EJ_FALSE, EJ_INT, EJ_REAL, EJ_STR,
	EJ_OBJ, EJ_ARR, EJ_OTHER };

struct event_jnode {
	enum event_jtype type;
	const char *key;                /* as an object's member */
	size_t klen;
	const char *s;                  /* EJ_STR */
	size_t len;
	int64_t i;                      /* EJ_INT */
	int kid, next;                  /* first child, next sibling, -1 */
	int nkids;
};

struct event_tape {
	struct event_jnode n[EVENT_TAPE_MAX];
	int count;
	const char *p, *end;
};

/* A JSON value of either tree: jansson's (j) or the tape's node n of t. */
struct event_val {
	const json_t *j;
	const struct event_tape *t;
	int n;
};

static int event_tape_value(struct event_tape *, int);

/* Skip JSON whitespace. */
static void
event_tape_ws(struct event_tape *t)
{
	while (t->p < t->end && (*t->p == ' ' || *t->p == '\t' ||
	    *t->p == '\n' || *t->p == '\r'))
		t->p++;
}

/* A new node of type ty, or -1 when the tape is full. */
static int
event_tape_node(struct event_tape *t, enum event_jtype ty)
{
	struct event_jnode *n;

	if (t->count == EVENT_TAPE_MAX)
		return -1;
	n = &t->n[t->count];
	memset(n, 0, sizeof(*n));
	n->type = ty;
	n->kid = n->next = -1;
	return t->count++;
}

/* A string of printable ASCII without escapes, after its '"'. */
static int
event_tape_str(struct event_tape *t, const char **s, size_t *len)
{
	const char *q = ++t->p;

	while (q < t->end && *q != '"') {
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x80 ||
		    *q == '\\')
			return -1;
		q++;
	}
	if (q == t->end)
		return -1;
	*s = t->p;
	*len = (size_t)(q - t->p);
	t->p = q + 1;
	return 0;
}

/* An integer of at most 18 digits, not followed by a fraction or an
 * exponent. */
static int
event_tape_int(struct event_tape *t, int64_t *out)
{
	int neg = 0, nd = 0;
	int64_t v = 0;

	if (*t->p == '-') {
		neg = 1;
		t->p++;
	}
	if (t->p == t->end || *t->p < '0' || *t->p > '9')
		return -1;
	if (*t->p == '0')
		t->p++;         /* no digit may follow a leading zero */
	else
		for (; t->p < t->end && *t->p >= '0' && *t->p <= '9'; t->p++) {
			if (++nd > 18)
				return -1;
			v = v * 10 + (*t->p - '0');
		}
	if (t->p < t->end && ((*t->p >= '0' && *t->p <= '9') || *t->p == '.' ||
	    *t->p == 'e' || *t->p == 'E'))
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* true, false or null, not followed by a letter. */
static int
event_tape_word(struct event_tape *t)
{
	static const struct { const char *w; size_t n; enum event_jtype ty; }
	    words[] = { { "true", 4, EJ_TRUE }, { "false", 5, EJ_FALSE },
	    { "null", 4, EJ_NULL } };

	for (size_t i = 0; i < 3; i++)
		if ((size_t)(t->end - t->p) >= words[i].n &&
		    memcmp(t->p, words[i].w, words[i].n) == 0) {
			t->p += words[i].n;
			if (t->p < t->end && ((*t->p >= 'a' && *t->p <= 'z') ||
			    (*t->p >= 'A' && *t->p <= 'Z')))
				return -1;
			return event_tape_node(t, words[i].ty);
		}
	return -1;
}

/* Whether an object node already has a member named key. */
static int
event_tape_dup(const struct event_tape *t, int obj, const char *key,
    size_t klen)
{
	for (int k = t->n[obj].kid; k != -1; k = t->n[k].next)
		if (t->n[k].klen == klen && memcmp(t->n[k].key, key, klen) == 0)
			return 1;
	return 0;
}

/* Link child as the last of parent's children (last: the one before). */
static void
event_tape_link(struct event_tape *t, int parent, int *last, int child)
{
	if (*last == -1)
		t->n[parent].kid = child;
	else
		t->n[*last].next = child;
	*last = child;
	t->n[parent].nkids++;
}

/* An object or array after its opening bracket; depth: its own. */
static int
event_tape_container(struct event_tape *t, enum event_jtype ty, int depth)
{
	int me = event_tape_node(t, ty), last = -1, kid;
	const char *key = NULL;
	size_t klen = 0;
	char close = ty == EJ_OBJ ? '}' : ']';

	if (me == -1 || depth > EVENT_DEPTH_MAX)
		return -1;
	t->p++;
	event_tape_ws(t);
	if (t->p < t->end && *t->p == close) {
		t->p++;
		return me;
	}
	for (;;) {
		if (ty == EJ_OBJ) {
			if (t->p == t->end || *t->p != '"' ||
			    event_tape_str(t, &key, &klen) == -1 ||
			    event_tape_dup(t, me, key, klen))
				return -1;
			event_tape_ws(t);
			if (t->p == t->end || *t->p++ != ':')
				return -1;
		}
		if ((kid = event_tape_value(t, depth + 1)) == -1)
			return -1;
		t->n[kid].key = key;
		t->n[kid].klen = klen;
		event_tape_link(t, me, &last, kid);
		event_tape_ws(t);
		if (t->p == t->end)
			return -1;
		if (*t->p == close) {
			t->p++;
			return me;
		}
		if (*t->p++ != ',')
			return -1;
		event_tape_ws(t);
	}
}

/* Any value, after leading whitespace; depth: its container's. */
static int
event_tape_value(struct event_tape *t, int depth)
{
	const char *s;
	size_t len;
	int64_t v;
	int n;

	event_tape_ws(t);
	if (t->p == t->end)
		return -1;
	switch (*t->p) {
	case '{':
		return event_tape_container(t, EJ_OBJ, depth);
	case '[':
		return event_tape_container(t, EJ_ARR, depth);
	case '"':
		if (event_tape_str(t, &s, &len) == -1 ||
		    (n = event_tape_node(t, EJ_STR)) == -1)
			return -1;
		t->n[n].s = s;
		t->n[n].len = len;
		return n;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (event_tape_int(t, &v) == -1 ||
		    (n = event_tape_node(t, EJ_INT)) == -1)
			return -1;
		t->n[n].i = v;
		return n;
	default:
		return event_tape_word(t);
	}
}

/* Read the message into the tape: 0 when it is one object the fast path
 * takes, else -1 (jansson decides). */
static int
event_tape_parse(struct event_tape *t, const char *buf, size_t len)
{
	t->count = 0;
	t->p = buf;
	t->end = buf + len;
	event_tape_ws(t);
	if (t->p == t->end || *t->p != '{' ||
	    event_tape_container(t, EJ_OBJ, 1) != 0)
		return -1;
	event_tape_ws(t);
	return t->p == t->end ? 0 : -1;
}

/* The type of a value. */
static enum event_jtype
event_val_type(const struct event_val *v)
{
	if (v->t != NULL)
		return v->t->n[v->n].type;
	switch (json_typeof(v->j)) {
	case JSON_OBJECT:
		return EJ_OBJ;
	case JSON_ARRAY:
		return EJ_ARR;
	case JSON_STRING:
		return EJ_STR;
	case JSON_INTEGER:
		return EJ_INT;
	case JSON_REAL:
		return EJ_REAL;
	case JSON_TRUE:
		return EJ_TRUE;
	case JSON_FALSE:
		return EJ_FALSE;
	case JSON_NULL:
		return EJ_NULL;
	}
	return EJ_OTHER;
}

/* A string's bytes (no NUL inside: both trees refuse it) and length. */
static const char *
event_val_str(const struct event_val *v, size_t *len)
{
	if (v->t != NULL) {
		*len = v->t->n[v->n].len;
		return v->t->n[v->n].s;
	}
	*len = json_string_length(v->j);
	return json_string_value(v->j);
}

/* An integer's value. */
static int64_t
event_val_int(const struct event_val *v)
{
	return v->t != NULL ? v->t->n[v->n].i : json_integer_value(v->j);
}

/* A number's value, integer or real. */
static double
event_val_num(const struct event_val *v)
{
	return v->t != NULL ? (double)v->t->n[v->n].i :
	    json_number_value(v->j);
}

/* An array's length. */
static size_t
event_val_size(const struct event_val *v)
{
	return v->t != NULL ? (size_t)v->t->n[v->n].nkids :
	    json_array_size(v->j);
}

/* An array's element i (< its length). */
static struct event_val
event_val_at(const struct event_val *v, size_t i)
{
	struct event_val e = *v;
	int k;

	if (v->t == NULL) {
		e.j = json_array_get(v->j, i);
		return e;
	}
	for (k = v->t->n[v->n].kid; i > 0; i--)
		k = v->t->n[k].next;
	e.n = k;
	return e;
}

/* An object's member name: 1 with *out set, or 0 when absent. */
static int
event_val_get(const struct event_val *obj, const char *name,
    struct event_val *out)
{
	const struct event_tape *t = obj->t;
	size_t len;

	*out = *obj;
	if (t == NULL)
		return (out->j = json_object_get(obj->j, name)) != NULL;
	len = strlen(name);
	for (int k = t->n[obj->n].kid; k != -1; k = t->n[k].next)
		if (t->n[k].klen == len &&
		    memcmp(t->n[k].key, name, len) == 0) {
			out->n = k;
			return 1;
		}
	return 0;
}

/* Whether a string value is word. */
static int
event_val_is(const struct event_val *v, const char *word)
{
	size_t len, wl = strlen(word);
	const char *s = event_val_str(v, &len);

	return len == wl && memcmp(s, word, len) == 0;
}

static int event_fields(const struct event_val *, const struct event_field *,
    void *, const char *, char *);

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

/* Copy a value (len bytes, no NUL) for quoting in a reason: printable
 * ASCII, at most 64 bytes. */
static void
event_echo(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < dstlen && i < EVENT_ECHO_MAX; i++)
		dst[i] = event_printable(s[i]) && s[i] != '"' && s[i] != '\\' ?
		    s[i] : '?';
	dst[i] = '\0';
	if (i < len && i >= 3)
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
event_get_id(const struct event_val *v, const char *name, char *dst,
    size_t size, char *why)
{
	const char *s;
	size_t n, i;

	if (event_val_type(v) != EJ_STR)
		return event_err(why, "field \"%s\" must be a string", name);
	s = event_val_str(v, &n);
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
event_get_int(const struct event_val *v, const struct event_field *f,
    const char *name, void *dst, char *why)
{
	int64_t n;

	if (event_val_type(v) != EJ_INT)
		return event_int_err(f, name, why);
	n = event_val_int(v);
	if (n < f->min || n > f->max)
		return event_int_err(f, name, why);
	event_store_int(dst, f->size, n);
	return 0;
}

/* Money: a JSON integer of minor units, 0..10^12. */
static int
event_get_money(const struct event_val *v, const char *name, void *dst,
    char *why)
{
	int64_t n;

	if (event_val_type(v) != EJ_INT || (n = event_val_int(v)) < 0)
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
event_get_real(const struct event_val *v, const struct event_field *f,
    const char *name, void *dst, char *why)
{
	enum event_jtype ty = event_val_type(v);
	double d;

	if ((ty != EJ_INT && ty != EJ_REAL) ||
	    (d = event_val_num(v)) < (double)f->min ||
	    d > (double)f->max)
		return event_err(why, "field \"%s\" must be a number from %lld "
		    "to %lld", name, (long long)f->min, (long long)f->max);
	memcpy(dst, &d, sizeof(d));
	return 0;
}

/* A boolean, stored as int 0 or 1. */
static int
event_get_bool(const struct event_val *v, const char *name, void *dst,
    char *why)
{
	enum event_jtype ty = event_val_type(v);

	if (ty != EJ_TRUE && ty != EJ_FALSE)
		return event_err(why, "field \"%s\" must be true or false", name);
	event_store_int(dst, sizeof(int), ty == EJ_TRUE ? 1 : 0);
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
event_get_word(const struct event_val *v, const struct event_field *f,
    const char *name, char *why)
{
	if (event_val_type(v) == EJ_STR)
		for (int i = 0; f->words[i] != NULL; i++)
			if (event_val_is(v, f->words[i]))
				return i;
	return event_word_err(f->words, name, why);
}

/* The product's variants: an array of at most 32 {variant_id, price}. */
static int
event_get_variants(const struct event_val *v, const char *name,
    struct event_product *p, char *why)
{
	struct event_val e;
	char path[128];
	size_t i;

	if (event_val_type(v) != EJ_ARR)
		return event_err(why, "field \"%s\" must be an array", name);
	if (event_val_size(v) > EVENT_MAX_VARIANTS)
		return event_err(why, "field \"%s\" must have at most %d "
		    "elements", name, EVENT_MAX_VARIANTS);
	for (i = 0; i < event_val_size(v); i++) {
		e = event_val_at(v, i);
		if (event_val_type(&e) != EJ_OBJ)
			return event_err(why, "field \"%s[%zu]\" must be an "
			    "object", name, i);
		snprintf(path, sizeof(path), "%s[%zu].", name, i);
		if (event_fields(&e, event_variant_fields, &p->variants[i],
		    path, why) == -1)
			return -1;
	}
	p->nvariants = (int)i;
	return 0;
}

/* Decode one present, non-null field into base. */
static int
event_field(const struct event_val *v, const struct event_field *f,
    const char *name, void *base, char *why)
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
event_fields(const struct event_val *obj, const struct event_field *fields,
    void *base, const char *prefix, char *why)
{
	const struct event_field *f;
	struct event_val v;
	const char *name;
	char buf[96];

	for (f = fields; f->name != NULL; f++) {
		name = f->name;
		if (prefix[0] != '\0') {
			snprintf(buf, sizeof(buf), "%s%s", prefix, f->name);
			name = buf;
		}
		if (!event_val_get(obj, f->name, &v) ||
		    event_val_type(&v) == EJ_NULL) {
			if (f->required)
				return event_err(why, "missing field \"%s\"",
				    name);
			event_absent(f, base);
			continue;
		}
		if (event_field(&v, f, name, base, why) == -1)
			return -1;
	}
	return 0;
}

/* The event's type, from its "type" field; -1 with a reason. */
static int
event_find_type(const struct event_val *root, char *why)
{
	char echo[EVENT_ECHO_MAX + 1];
	struct event_val v;
	const char *s;
	size_t len;

	if (!event_val_get(root, "type", &v) || event_val_type(&v) == EJ_NULL)
		return event_err(why, "missing field \"type\"");
	if (event_val_type(&v) != EJ_STR)
		return event_err(why, "field \"type\" must be a string");
	for (int t = 0; t < EV__COUNT; t++)
		if (event_val_is(&v, event_schemas[t].name))
			return t;
	s = event_val_str(&v, &len);
	event_echo(echo, sizeof(echo), s, len);
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
event_decode_object(const struct event_val *root, struct event *ev,
    char *why)
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

/* Decode a message into ev: through the tape when fast is set and the
 * fast path takes the message, else through jansson's tree. */
static int
event_decode_buf(const char *buf, size_t len, struct event *ev, char *why,
    int fast)
{
	struct event_tape tape;
	struct event_val root = { NULL, NULL, 0 };
	json_t *j;
	int rc;

	if (fast && buf != NULL && event_tape_parse(&tape, buf, len) == 0) {
		root.t = &tape;
		return event_decode_object(&root, ev, why);
	}
	if ((j = event_parse(buf, len, why)) == NULL)
		return -1;
	root.j = j;
	rc = event_decode_object(&root, ev, why);
	json_decref(j);
	return rc;
}

/* Decode one message into ev, or fail with a reason and a cleared ev. */
static int
event_decode_with(const char *buf, size_t len, struct event *ev,
    char *reason, size_t reasonlen, int fast)
{
	char why[EVENT_REASON_MAX] = "";
	int rc = -1;

	memset(ev, 0, sizeof(*ev));
	if (len > EVENT_MAX_BYTES)
		event_err(why, "event is larger than %d bytes", EVENT_MAX_BYTES);
	else
		rc = event_decode_buf(buf, len, ev, why, fast);
	if (rc == -1) {
		memset(ev, 0, sizeof(*ev));
		if (why[0] == '\0')
			event_err(why, "invalid event");
		event_reason_out(reason, reasonlen, why);
	} else if (reason != NULL && reasonlen > 0)
		reason[0] = '\0';
	return rc;
}

/* Decode one message (event.h). */
int
event_decode(const char *buf, size_t len, struct event *ev, char *reason,
    size_t reasonlen)
{
	return event_decode_with(buf, len, ev, reason, reasonlen, 1);
}

/* Decode one message through jansson only (event.h). */
int
event_decode_reference(const char *buf, size_t len, struct event *ev,
    char *reason, size_t reasonlen)
{
	return event_decode_with(buf, len, ev, reason, reasonlen, 0);
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
