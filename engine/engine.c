/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c - one event applied to one product's state: catalog upserts,
 * page views that become offers, orders that reward the learner, order
 * updates that reverse what a cancelled line counted.  See engine.h.
 */
#include "engine.h"
#include "pacing.h"
#include "rng.h"
#include "util.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const engine_ctx_names[PLAN_CONTEXTS] = { "new", "ret" };

/* ---- effects ---------------------------------------------------------- */

/* Bytes of the first arena chunk: with its header under 1 KiB, which
 * malloc serves from its per-thread cache (a product's effects are made
 * and released once per batch). */
#define FX_CHUNK_MIN 1000

struct fx_chunk {
	struct fx_chunk *next;
	size_t cap, used;       /* bytes of data, and in use */
	char data[];
};

/* Empty effects. */
void
effects_init(struct effects *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->kpart = -1;
}

/* Free what the messages own, rewind the arena, keep the memory. */
void
effects_reset(struct effects *fx)
{
	for (size_t i = 0; i < fx->nm; i++) {
		free(fx->m[i].key);
		free(fx->m[i].payload);
	}
	for (struct fx_chunk *c = fx->arena; c != NULL; c = c->next)
		c->used = 0;
	fx->cur = fx->arena;
	fx->nw = fx->nm = 0;
	fx->kpart = -1;
	fx->koff = 0;
	memset(&fx->counts, 0, sizeof(fx->counts));
}

/* Free everything. */
void
effects_release(struct effects *fx)
{
	struct fx_chunk *c, *next;

	effects_reset(fx);
	for (c = fx->arena; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(fx->w);
	free(fx->m);
	effects_init(fx);
}

/* n bytes of the arena, valid until the next reset; NULL: out of memory. */
static char *
fx_alloc(struct effects *fx, size_t n)
{
	struct fx_chunk *c = fx->cur, *nc;
	size_t cap;

	while (c != NULL && c->cap - c->used < n && c->next != NULL)
		c = c->next;            /* rewound chunks after this one */
	if (c == NULL || c->cap - c->used < n) {
		cap = c != NULL ? c->cap * 2 : FX_CHUNK_MIN;
		while (cap < n)
			cap *= 2;
		if ((nc = malloc(sizeof(*nc) + cap)) == NULL)
			return NULL;
		*nc = (struct fx_chunk){ .next = NULL, .cap = cap, .used = 0 };
		if (c != NULL)
			c->next = nc;
		else
			fx->arena = nc;
		c = nc;
	}
	fx->cur = c;
	c->used += n;
	return c->data + c->used - n;
}

/* Grow an array of elements of size sz to hold one more. */
static int
engine_grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	void *na;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	na = realloc(*arr, nc * sz);
	if (na == NULL)
		return -1;
	*arr = na;
	*cap = nc;
	return 0;
}

/* Add one write of field and value (lf and lv bytes, copied into one
 * block of the arena); date may be NULL. */
static int
fx_write_n(struct effects *fx, enum fx_op op, enum fx_key key,
    const char *date, const char *field, size_t lf, const char *value,
    size_t lv)
{
	struct fx_write *w;
	size_t ld = date != NULL ? strlen(date) : 0;

	if (engine_grow((void **)&fx->w, &fx->wcap, fx->nw, sizeof(*w)) == -1)
		return -1;
	w = &fx->w[fx->nw];
	w->op = op;
	w->key = key;
	ld = ld < sizeof(w->date) ? ld : sizeof(w->date) - 1;
	memcpy(w->date, date != NULL ? date : "", ld);
	w->date[ld] = '\0';
	if ((w->field = fx_alloc(fx, lf + lv + 2)) == NULL)
		return -1;
	memcpy(w->field, field, lf);
	w->field[lf] = '\0';
	w->value = w->field + lf + 1;
	memcpy(w->value, value, lv);
	w->value[lv] = '\0';
	fx->nw++;
	return 0;
}

/* Add one write; field and value are copied, into one block. */
static int
fx_write(struct effects *fx, enum fx_op op, enum fx_key key,
    const char *date, const char *field, const char *value)
{
	return fx_write_n(fx, op, key, date, field, strlen(field), value,
	    strlen(value));
}

/* Add one write whose value is a decimal integer. */
static int
fx_write_num(struct effects *fx, enum fx_op op, enum fx_key key,
    const char *date, const char *field, int64_t v)
{
	char buf[24];

	return fx_write_n(fx, op, key, date, field, strlen(field), buf,
	    (size_t)(util_fmt_i64(buf, v) - buf));
}

/* HINCRBY on a day counter. */
static int
fx_incr(struct effects *fx, const char *date, const char *field, int64_t by)
{
	if (by == 0)
		return 0;
	return fx_write_num(fx, FX_HINCRBY, FX_DAY, date, field, by);
}

/* Add one message; payload is taken over (malloc'd), key copied. */
static int
fx_msg(struct effects *fx, enum fx_topic topic, const char *key,
    char *payload)
{
	struct fx_msg *m;

	if (payload == NULL ||
	    engine_grow((void **)&fx->m, &fx->mcap, fx->nm, sizeof(*m)) == -1) {
		free(payload);
		return -1;
	}
	m = &fx->m[fx->nm];
	m->topic = topic;
	m->payload = payload;
	m->key = strdup(key);
	if (m->key == NULL) {
		free(payload);
		return -1;
	}
	fx->nm++;
	return 0;
}

/* ---- product state ------------------------------------------------------ */

/* A fresh state. */
void
product_state_init(struct product_state *ps, const char *product_id)
{
	memset(ps, 0, sizeof(*ps));
	util_strlcpy(ps->product_id, product_id, sizeof(ps->product_id));
	ps->campaign_price = ps->campaign_start = ps->campaign_end = -1;
	ps->promo_bps = -1;
	ps->promo_start = ps->promo_end = -1;
	ps->kpart = -1;
}

/* Free the record arrays. */
void
product_state_release(struct product_state *ps)
{
	for (size_t i = 0; i < ps->noutbox; i++)
		free(ps->outbox[i].value);
	free(ps->outbox);
	ps->outbox = NULL;
	ps->noutbox = ps->outbox_cap = 0;
	free(ps->offers);
	free(ps->orders);
	ps->offers = NULL;
	ps->orders = NULL;
	ps->noffers = ps->norders = ps->offers_cap = ps->orders_cap = 0;
}

/* The offer slot of a customer, created empty. */
struct offer_rec *
product_state_offer(struct product_state *ps, const char *customer_id)
{
	struct offer_rec *o;

	for (size_t i = 0; i < ps->noffers; i++)
		if (strcmp(ps->offers[i].customer_id, customer_id) == 0)
			return &ps->offers[i];
	if (engine_grow((void **)&ps->offers, &ps->offers_cap, ps->noffers,
	    sizeof(*o)) == -1)
		return NULL;
	o = &ps->offers[ps->noffers++];
	memset(o, 0, sizeof(*o));
	util_strlcpy(o->customer_id, customer_id, sizeof(o->customer_id));
	return o;
}

/* Keep an outbox entry (replacing one of the same position). */
int
product_state_outbox(struct product_state *ps, int32_t partition,
    int64_t offset, const char *value)
{
	struct outbox_rec *o = NULL;
	char *v = value != NULL ? strdup(value) : NULL;

	if (value != NULL && v == NULL)
		return -1;
	for (size_t i = 0; i < ps->noutbox; i++)
		if (ps->outbox[i].partition == partition &&
		    ps->outbox[i].offset == offset)
			o = &ps->outbox[i];
	if (o == NULL) {
		if (engine_grow((void **)&ps->outbox, &ps->outbox_cap,
		    ps->noutbox, sizeof(*o)) == -1) {
			free(v);
			return -1;
		}
		o = &ps->outbox[ps->noutbox++];
		o->value = NULL;
	}
	free(o->value);
	*o = (struct outbox_rec){ partition, offset, v };
	return 0;
}

/* "<partition>:<offset>" */
void
engine_outbox_field(int32_t partition, int64_t offset, char *buf,
    size_t len)
{
	char tmp[48], *p = util_fmt_i64(tmp, partition);

	*p++ = ':';
	util_fmt_i64(p, offset);
	util_strlcpy(buf, tmp, len);    /* cut as snprintf would */
}

/* The order slot of an order line, created empty. */
struct order_rec *
product_state_order(struct product_state *ps, const char *order_id)
{
	struct order_rec *o;

	for (size_t i = 0; i < ps->norders; i++)
		if (strcmp(ps->orders[i].order_id, order_id) == 0)
			return &ps->orders[i];
	if (engine_grow((void **)&ps->orders, &ps->orders_cap, ps->norders,
	    sizeof(*o)) == -1)
		return NULL;
	o = &ps->orders[ps->norders++];
	memset(o, 0, sizeof(*o));
	util_strlcpy(o->order_id, order_id, sizeof(o->order_id));
	return o;
}

/* "partition:offset" of the last applied message. */
void
product_state_kpos(const struct product_state *ps, char *buf, size_t len)
{
	if (ps->kpart < 0)
		util_strlcpy(buf, "", len);
	else
		engine_outbox_field(ps->kpart, ps->koff, buf, len);
}

/* Parse a signed 64-bit decimal; 0 or -1. */
static int
engine_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Parse "partition:offset". */
static int
engine_parse_kpos(const char *s, int32_t *part, int64_t *off)
{
	char *end;
	long p;
	long long o;

	if (*s == '\0') {
		*part = -1;
		*off = 0;
		return 0;
	}
	p = strtol(s, &end, 10);
	if (*end != ':' || p < 0 || p > INT32_MAX)
		return -1;
	if (end[1] < '0' || end[1] > '9')
		return -1;
	o = strtoll(end + 1, &end, 10);
	if (*end != '\0' || o < 0)
		return -1;
	*part = (int32_t)p;
	*off = o;
	return 0;
}

/* Whether a recorded position covers a message (engine.h). */
int
engine_kpos_covers(const char *kpos, int32_t partition, int64_t offset)
{
	int32_t part;
	int64_t off;

	if (engine_parse_kpos(kpos, &part, &off) == -1 || part < 0)
		return 0;
	return part == partition && offset <= off;
}

enum ps_fkind { PSF_NUM, PSF_STR, PSF_BPS, PSF_KPOS, PSF_KNOWN };

/* The fields of the product hash product_state_field() reads. */
static const struct ps_fspec {
	const char *name;
	enum ps_fkind kind;
	size_t off, size;
} ps_fields[] = {
#define PSF(n, k, m) { n, k, offsetof(struct product_state, m), \
	    sizeof(((struct product_state *)0)->m) }
	PSF("price", PSF_NUM, price),
	PSF("stock", PSF_NUM, stock),
	PSF("listed_at", PSF_NUM, listed_at),
	PSF("campaign_price", PSF_NUM, campaign_price),
	PSF("campaign_start", PSF_NUM, campaign_start),
	PSF("campaign_end", PSF_NUM, campaign_end),
	PSF("promo_start", PSF_NUM, promo_start),
	PSF("promo_end", PSF_NUM, promo_end),
	PSF("shop_id", PSF_STR, shop_id),
	PSF("category", PSF_STR, category),
	PSF("campaign_id", PSF_STR, campaign_id),
	PSF("promo_id", PSF_STR, promo_id),
	PSF("promo_tool", PSF_STR, promo_tool),
	PSF("promo_bps", PSF_BPS, promo_bps),
	PSF("kpos", PSF_KPOS, kpart),
	PSF("known", PSF_KNOWN, known),
#undef PSF
};

/* A platform promotion slot "pp:<kind>" of the product hash. */
static int
product_state_pp_field(struct product_state *ps, const char *name,
    const char *value)
{
	for (int k = 0; k < TOOLS_PLATFORM_KINDS; k++)
		if (strcmp(name, tools_platform_field(
		    (enum platform_kind)k)) == 0)
			return value[0] == '\0' ? 0 :
			    tools_platform_parse(ps->pp, (enum platform_kind)k,
			    value);
	return 0;
}

/* Set one field of the spec table from the product hash. */
static int
product_state_set(struct product_state *ps, const struct ps_fspec *f,
    const char *value)
{
	char *dst = (char *)ps + f->off;
	int64_t v;

	switch (f->kind) {
	case PSF_NUM:
		return engine_parse_i64(value, (int64_t *)(void *)dst);
	case PSF_STR:
		util_strlcpy(dst, value, f->size);
		return 0;
	case PSF_BPS:
		if (engine_parse_i64(value, &v) == -1 || v < -1 || v > 10000)
			return -1;
		ps->promo_bps = (int32_t)v;
		return 0;
	case PSF_KPOS:
		return engine_parse_kpos(value, &ps->kpart, &ps->koff);
	case PSF_KNOWN:
		ps->known = strcmp(value, "1") == 0;
		return 0;
	}
	return 0;
}

/* Set one catalog field from the product hash; unknown names are
 * ignored. */
static int
product_state_field(struct product_state *ps, const char *name,
    const char *value)
{
	if (name[0] == 'p' && name[1] == 'p' && name[2] == ':')
		return product_state_pp_field(ps, name, value);
	for (size_t i = 0; i < sizeof(ps_fields) / sizeof(ps_fields[0]); i++)
		if (name[0] == ps_fields[i].name[0] &&
		    strcmp(name, ps_fields[i].name) == 0)
			return product_state_set(ps, &ps_fields[i], value);
	return 0;
}

/* Load the product hash. */
int
product_state_load(struct product_state *ps, const char *const *names,
    const char *const *values, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (product_state_field(ps, names[i], values[i]) == -1) {
			snprintf(err, errlen, "product \"%s\": bad field "
			    "\"%s\" value \"%s\"", ps->product_id, names[i],
			    values[i]);
			return -1;
		}
	return 0;
}

/* Set one arm field "<ctx>:<level>" = "<n> <s>". */
static int
product_state_arm_field(struct bandit_arms *a, const char *name,
    const char *value)
{
	int ctx = -1, level;
	double n, s;
	char *end;

	for (int c = 0; c < PLAN_CONTEXTS; c++) {
		size_t l = strlen(engine_ctx_names[c]);

		if (strncmp(name, engine_ctx_names[c], l) == 0 &&
		    name[l] == ':')
			ctx = c;
	}
	if (ctx < 0)
		return 0;
	level = (int)strtol(name + 4, &end, 10);
	if (*end != '\0' || level < 0 || level >= PLAN_MAX_LEVELS ||
	    util_scan_pair(value, &n, &s) != 2 || !isfinite(n) ||
	    !isfinite(s) || n < 0 || s < 0)
		return -1;
	a->n[ctx][level] = n;
	a->s[ctx][level] = s;
	return 0;
}

/* Load the arms hash. */
int
product_state_load_arms(struct product_state *ps, const char *const *names,
    const char *const *values, size_t n, char *err, size_t errlen)
{
	struct bandit_arms *a = &ps->arms;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (strcmp(names[i], "range") == 0)
			rc = sscanf(values[i], "%" SCNd32 "-%" SCNd32 "/%d",
			    &a->min_bps, &a->max_bps, &a->nlevels) == 3 &&
			    a->nlevels >= 1 && a->nlevels <= PLAN_MAX_LEVELS ?
			    0 : -1;
		else if (strcmp(names[i], "tref") == 0)
			rc = engine_parse_i64(values[i], &a->tref);
		else if ((rc = tools_field(&ps->tools, names[i],
		    values[i])) == 1)
			rc = product_state_arm_field(a, names[i], values[i]);
		if (rc == -1)
			snprintf(err, errlen, "arms of \"%s\": bad field "
			    "\"%s\" value \"%s\"", ps->product_id, names[i],
			    values[i]);
	}
	return rc;
}

/* ---- records ------------------------------------------------------------ */

/*
 * offer_id|plan_id|ctx|level|bps|list|offer|ts|expires|converted|tool|
 * min_spend|min_qty
 */
int
offer_rec_format(const struct offer_rec *o, char *buf, size_t len)
{
	const int64_t nums[11] = { o->ctx, o->level, o->bps, o->list_price,
	    o->offer_price, o->ts, o->expires_at, o->converted, o->tool,
	    o->min_spend, o->min_qty };
	size_t lo = strlen(o->offer_id), lp = strlen(o->plan_id);
	char *p = buf;
	int n;

	/* room for the longest record: formatted here, as printf would */
	if (len > lo + lp + 2 + 11 * 21) {
		memcpy(p, o->offer_id, lo);
		p += lo;
		*p++ = '|';
		memcpy(p, o->plan_id, lp);
		p += lp;
		for (int i = 0; i < 11; i++) {
			*p++ = '|';
			p = util_fmt_i64(p, nums[i]);
		}
		return 0;
	}
	n = snprintf(buf, len, "%s|%s|%d|%d|%" PRId32 "|%" PRId64 "|%"
	    PRId64 "|%" PRId64 "|%" PRId64 "|%d|%d|%" PRId64 "|%" PRId64,
	    o->offer_id, o->plan_id, o->ctx, o->level, o->bps, o->list_price,
	    o->offer_price, o->ts, o->expires_at, o->converted, o->tool,
	    o->min_spend, o->min_qty);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Copy the next '|'-separated token of *s into buf. */
static int
engine_token(const char **s, char *buf, size_t len)
{
	const char *bar = strchr(*s, '|');
	size_t n = bar ? (size_t)(bar - *s) : strlen(*s);

	if (n >= len)
		return -1;
	memcpy(buf, *s, n);
	buf[n] = '\0';
	*s += n + (bar ? 1 : 0);
	return 0;
}

/* Parse an offer record. */
int
offer_rec_parse(struct offer_rec *o, const char *s)
{
	int n;

	if (engine_token(&s, o->offer_id, sizeof(o->offer_id)) == -1 ||
	    engine_token(&s, o->plan_id, sizeof(o->plan_id)) == -1)
		return -1;
	if (sscanf(s, "%d|%d|%" SCNd32 "|%" SCNd64 "|%" SCNd64 "|%" SCNd64
	    "|%" SCNd64 "|%d|%d|%" SCNd64 "|%" SCNd64 "%n", &o->ctx, &o->level,
	    &o->bps, &o->list_price, &o->offer_price, &o->ts, &o->expires_at,
	    &o->converted, &o->tool, &o->min_spend, &o->min_qty, &n) != 11 ||
	    s[n] != '\0' || o->ctx < 0 || o->ctx >= PLAN_CONTEXTS ||
	    o->level < 0 || o->level >= PLAN_MAX_LEVELS || o->tool < 0 ||
	    o->tool >= TOOLS_N || o->min_spend < 0 || o->min_qty < 0)
		return -1;
	o->loaded = 1;
	return 0;
}

/* The last view's event_id hash. */
int
offer_rec_parse_view(struct offer_rec *o, const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 16);

	if (end - s != 8 || *end != '\0')
		return -1;
	o->last_view = (uint32_t)v;
	o->has_last_view = 1;
	return 0;
}

/*
 * plan_id|date|group|lines|qty|gmv|lines_o|gmv_o|cost|status|reviewed|keys|
 * creator_id US content_id [US customer_id US voucher offer record] (US:
 * the unit separator 0x1f, which ids cannot hold; the voucher part only
 * when a line used a voucher offer)
 */
int
order_rec_format(const struct order_rec *o, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s|%s|%d|%" PRId64 "|%" PRId64 "|%" PRId64
	    "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%d|%d|", o->plan_id, o->date,
	    o->group, o->lines, o->qty, o->gmv, o->lines_o, o->gmv_o, o->cost,
	    o->status, o->reviewed);

	for (int i = 0; i < o->nline_keys && n >= 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, "%s%08" PRIx32,
		    i ? "," : "", o->line_keys[i]);
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "|%s\037%s",
		    o->creator_id, o->content_id);
	if (o->has_voucher && n >= 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, "\037%s\037",
		    o->voucher.customer_id);
		if (n >= 0 && (size_t)n < len && offer_rec_format(&o->voucher,
		    buf + n, len - (size_t)n) == -1)
			return -1;
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Parse the voucher the order used: "customer_id US offer record". */
static int
order_rec_parse_voucher(struct order_rec *o, const char *s)
{
	const char *us = strchr(s, '\037');

	memset(&o->voucher, 0, sizeof(o->voucher));
	if (us == NULL || (size_t)(us - s) >= sizeof(o->voucher.customer_id) ||
	    offer_rec_parse(&o->voucher, us + 1) == -1 ||
	    o->voucher.tool != CHECKOUT_VOUCHER)
		return -1;
	memcpy(o->voucher.customer_id, s, (size_t)(us - s));
	o->voucher.customer_id[us - s] = '\0';
	o->has_voucher = 1;
	return 0;
}

/* Parse the creator and content ids after the line keys, then the
 * voucher the order used, if any (records before it have none). */
static int
order_rec_parse_ids(struct order_rec *o, const char *s)
{
	const char *us = strchr(s, '\037'), *v;
	size_t lc;

	if (us == NULL || (size_t)(us - s) >= sizeof(o->creator_id))
		return -1;
	v = strchr(us + 1, '\037');
	lc = v != NULL ? (size_t)(v - us - 1) : strlen(us + 1);
	if (lc >= sizeof(o->content_id))
		return -1;
	memcpy(o->creator_id, s, (size_t)(us - s));
	o->creator_id[us - s] = '\0';
	memcpy(o->content_id, us + 1, lc);
	o->content_id[lc] = '\0';
	o->has_voucher = 0;
	return v != NULL ? order_rec_parse_voucher(o, v + 1) : 0;
}

/* Parse the comma list of line keys, then the ids. */
static int
order_rec_parse_keys(struct order_rec *o, const char *s)
{
	o->nline_keys = 0;
	while (*s != '\0' && *s != '|') {
		char *end;
		unsigned long v = strtoul(s, &end, 16);

		if (end - s != 8 || o->nline_keys == ORDER_MAX_LINES)
			return -1;
		o->line_keys[o->nline_keys++] = (uint32_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '|')
			return -1;
	}
	return *s == '|' ? order_rec_parse_ids(o, s + 1) : -1;
}

/* Parse an order record. */
int
order_rec_parse(struct order_rec *o, const char *s)
{
	int n;

	if (engine_token(&s, o->plan_id, sizeof(o->plan_id)) == -1 ||
	    engine_token(&s, o->date, sizeof(o->date)) == -1)
		return -1;
	if (sscanf(s, "%d|%" SCNd64 "|%" SCNd64 "|%" SCNd64 "|%" SCNd64 "|%"
	    SCNd64 "|%" SCNd64 "|%d|%d|%n", &o->group, &o->lines, &o->qty,
	    &o->gmv, &o->lines_o, &o->gmv_o, &o->cost, &o->status, &o->reviewed,
	    &n) != 9 || o->reviewed < 0 || o->reviewed > 1 ||
	    o->group < 0 || o->group > 2 || o->status < 0 || o->status > 3 ||
	    o->lines < 1 || o->qty < 1 || o->gmv < 0 || o->lines_o < 0 ||
	    o->lines_o > o->lines || o->gmv_o < 0 || o->cost < 0 ||
	    order_rec_parse_keys(o, s + n) == -1)
		return -1;
	o->loaded = 1;
	return 0;
}

/* HSET of an offer record. */
static int
engine_put_offer(struct effects *fx, const struct offer_rec *o)
{
	char buf[512];

	if (offer_rec_format(o, buf, sizeof(buf)) == -1)
		return -1;
	return fx_write(fx, FX_HSET, FX_OFFERS, NULL, o->customer_id, buf);
}

/* HSET of an order record. */
static int
engine_put_order(struct effects *fx, const struct order_rec *o)
{
	char buf[2048];

	if (order_rec_format(o, buf, sizeof(buf)) == -1)
		return -1;
	return fx_write(fx, FX_HSET, FX_ORDERS, NULL, o->order_id, buf);
}

/* ---- offers ------------------------------------------------------------- */

/* Stable holdout membership: FNV-1a of the id, in units of 0.01%. */
int
engine_in_holdout(const char *customer_id, double holdout_pct)
{
	uint64_t h = rng_hash_str(customer_id, 0);

	return (double)(h % 10000) < holdout_pct * 100.0;
}

/* of-<seed>-<partition>-<offset> */
void
engine_offer_id(uint64_t seed, int32_t partition, int64_t offset, char *buf,
    size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t s32 = (uint32_t)(seed & 0xffffffffu);
	char tmp[64], *p = tmp;

	p = stpcpy(p, "of-");
	for (int i = 7; i >= 0; i--)
		*p++ = hex[(s32 >> (4 * i)) & 15];
	*p++ = '-';
	p = util_fmt_i64(p, partition);
	*p++ = '-';
	util_fmt_i64(p, offset);
	util_strlcpy(buf, tmp, len);    /* cut as snprintf would */
}

/*
 * Append s to p as a JSON string, escaped as jansson escapes it (quote,
 * backslash and control characters; UTF-8 passes through), and return the
 * end.  p needs 6 * strlen(s) + 3 bytes.
 */
static char *
engine_json_str(char *p, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			const char *sh = c == '\b' ? "b" : c == '\f' ? "f" :
			    c == '\n' ? "n" : c == '\r' ? "r" : c == '\t' ? "t" :
			    NULL;

			*p++ = '\\';
			if (sh != NULL)
				*p++ = *sh;
			else {
				p = stpcpy(p, "u00");
				*p++ = hex[c >> 4];
				*p++ = hex[c & 15];
			}
		} else
			*p++ = (char)c;
	}
	*p++ = '"';
	*p = '\0';
	return p;
}

/* The offer message of a record. */
static char *
engine_offer_json(const struct offer_rec *o, const struct product_state *ps)
{
	const char *strs[6] = { o->offer_id, o->plan_id, ps->shop_id,
	    ps->product_id, o->customer_id,
	    checkout_kind_name((enum checkout_kind)o->tool) };
	size_t cap = 512;
	char *buf, *p;

	for (int i = 0; i < 6; i++)
		cap += 6 * strlen(strs[i]);
	if ((buf = malloc(cap)) == NULL)
		return NULL;
	p = stpcpy(buf, "{\"type\":\"offer\",\"offer_id\":");
	p = engine_json_str(p, strs[0]);
	p = engine_json_str(stpcpy(p, ",\"plan_id\":"), strs[1]);
	p = engine_json_str(stpcpy(p, ",\"shop_id\":"), strs[2]);
	p = engine_json_str(stpcpy(p, ",\"product_id\":"), strs[3]);
	p = engine_json_str(stpcpy(p, ",\"customer_id\":"), strs[4]);
	p = engine_json_str(stpcpy(p, ",\"tool\":"), strs[5]);
	p = util_fmt_i64(stpcpy(p, ",\"list_price\":"), o->list_price);
	p = util_fmt_i64(stpcpy(p, ",\"offer_price\":"), o->offer_price);
	p = util_fmt_i64(stpcpy(p, ",\"discount_bps\":"), o->bps);
	p = util_fmt_i64(stpcpy(p, ",\"expires_at\":"), o->expires_at);
	p = util_fmt_i64(stpcpy(p, ",\"ts\":"), o->ts);
	if (o->min_spend > 0)
		p = util_fmt_i64(stpcpy(p, ",\"min_spend\":"), o->min_spend);
	if (o->min_qty > 0)
		p = util_fmt_i64(stpcpy(p, ",\"min_qty\":"), o->min_qty);
	if (engine_max_qty(o->tool) > 0)
		p = util_fmt_i64(stpcpy(p, ",\"max_qty\":"),
		    engine_max_qty(o->tool));
	strcpy(p, "}");
	return buf;
}

/* Seed of the decision made for the event at this position. */
static uint64_t
engine_seed(const struct engine_params *ep, const struct engine_input *in)
{
	return rng_mix(ep->offer_seed ^ rng_mix(((uint64_t)in->partition <<
	    48) ^ (uint64_t)in->offset));
}

/* Forget old tool evidence at the rate of the level arms. */
static void
engine_decay_tools(const struct engine_params *ep, struct product_state *ps,
    int64_t ts)
{
	int64_t tref = ps->arms.tref;

	if (tref > 0 && ts > tref && ep->bandit.half_life_ms > 0)
		tools_decay(&ps->tools, exp2(-(double)(ts - tref) /
		    ep->bandit.half_life_ms));
}

/* The units per order a tool's price holds for (a flash sale's per-buyer
 * cap, tools_shape()); 0: no cap. */
int64_t
engine_max_qty(int tool)
{
	struct checkout_tool shape;

	if (tool < 0 || tool >= TOOLS_N)
		return 0;
	tools_shape((enum checkout_kind)tool, &shape);
	return tool == CHECKOUT_FLASH_SALE ? shape.cap.per_buyer : 0;
}

/* The offer's expiry: its TTL, a flash sale's end, the plan's end (a
 * voucher, once claimed, may outlive the plan). */
static int64_t
engine_expiry(const struct engine_params *ep, const struct plan *p,
    int tool, int64_t ts)
{
	struct checkout_tool shape;
	int64_t exp = ts + ep->offer_ttl_ms;

	tools_shape((enum checkout_kind)tool, &shape);
	if (tool == CHECKOUT_FLASH_SALE && shape.window.end > 0 &&
	    ts + shape.window.end < exp)
		exp = ts + shape.window.end;
	if (tool != CHECKOUT_VOUCHER && exp > p->end_ms)
		exp = p->end_ms;        /* no other offer outlives its plan */
	return exp;
}

/* Nonzero when offer_price is list_price less a discount of min_bps to
 * max_bps basis points (both inclusive), and between 0 and list_price. */
int
engine_price_in_range(int64_t list_price, int64_t offer_price,
    int32_t min_bps, int32_t max_bps)
{
	int64_t off;

	if (list_price < 0 || list_price > INT64_MAX / 10000 ||
	    offer_price < 0 || offer_price > list_price || min_bps < 0 ||
	    min_bps > max_bps || max_bps > 10000)
		return 0;
	off = list_price - offer_price;
	return off * 10000 >= (int64_t)min_bps * list_price &&
	    off * 10000 <= (int64_t)max_bps * list_price;
}


/* The moment an offer made at ts and expiring at exp first meets the
 * product's known campaign, -1: never. */
static int64_t
engine_campaign_meets(const struct product_state *ps, int64_t ts,
    int64_t exp)
{
	if (ps->campaign_price < 0 || ps->campaign_end <= ts ||
	    ps->campaign_start >= exp || ps->campaign_end <= ps->campaign_start)
		return -1;
	return ps->campaign_start > ts ? ps->campaign_start : ts;
}

/*
 * Nonzero if offer co, made at ts, keeps the guarantee stacked on the
 * product's known campaign when the two first meet (the campaign's start,
 * or ts if it is open then), or if they never meet.
 */
static int
engine_campaign_ok(const struct product_state *ps,
    const struct checkout_offer *co, int new_customer, int32_t min_bps,
    int32_t max_bps, int64_t ts)
{
	int64_t at = engine_campaign_meets(ps, ts, co->expires_at);

	if (at < 0)
		return 1;
	return tools_guard_ok(co, ps->pp, ps->campaign_price,
	    ps->campaign_start, ps->campaign_end, new_customer, min_bps,
	    max_bps, at);
}

/*
 * Make the offer of a tool at a level: 0, 1 when it was made to end at
 * the start of a campaign it would stack on beyond the range, -1 when
 * none fits, -2 when the guarantee would not hold with what else is
 * active on the product, -4 when the price made is outside the range (a
 * bug: refused, counted).
 */
static int
engine_make(const struct engine_params *ep, const struct product_state *ps,
    const struct engine_input *in, int tool, int32_t bps, int32_t min_bps,
    int32_t max_bps, struct checkout_offer *co)
{
	struct checkout_tool shape;
	int64_t ts = in->ev->ts, exp = engine_expiry(ep, in->plan, tool, ts);
	int tries, cut = 0;

	tools_shape((enum checkout_kind)tool, &shape);
	/* a tool's per-unit price is rounded down: deepen until the discount
	 * reaches the range's minimum, or give up */
	for (tries = 0; tries < 8; tries++) {
		int64_t off;

		if (checkout_offer_make(&shape, ps->price, bps, min_bps,
		    max_bps, ts, exp, co) == -1)
			return -1;
		off = ps->price - co->offer_price;
		if (off * 10000 >= (int64_t)min_bps * ps->price)
			break;
		bps += (int32_t)(((int64_t)min_bps * ps->price - off * 10000) /
		    ps->price) + 1;
		if (bps > max_bps)
			return -1;
	}
	if (tries == 8)
		return -1;
	if (!tools_guard_ok(co, ps->pp, ps->campaign_price, ps->campaign_start,
	    ps->campaign_end, !in->returning, min_bps, max_bps, ts))
		return -2;
	if (!engine_campaign_ok(ps, co, !in->returning, min_bps, max_bps, ts)) {
		/* it would stack on a campaign that opens before it expires:
		 * end it when the campaign starts */
		if (checkout_offer_make(&shape, ps->price, bps, min_bps,
		    max_bps, ts, ps->campaign_start, co) == -1)
			return -1;
		cut = 1;
	}
	/* The guarantee: never a price outside the seller's range.  Checked
	 * in every build; a debug build stops on it to show the bug. */
	if (!engine_price_in_range(ps->price, co->offer_price, min_bps,
	    max_bps)) {
		assert(!"offer price outside the product's range");
		return -4;
	}
	return cut;
}

/* Fill the record of a made offer. */
static void
engine_fill(const struct engine_params *ep, const struct engine_input *in,
    const struct checkout_offer *co, int tool, int level,
    struct offer_rec *o)
{
	engine_offer_id(ep->offer_seed, in->partition, in->offset, o->offer_id,
	    sizeof(o->offer_id));
	util_strlcpy(o->plan_id, in->plan->plan_id, sizeof(o->plan_id));
	o->ctx = in->returning ? 1 : 0;
	o->level = level;
	o->tool = tool;
	o->list_price = co->list_price;
	o->offer_price = co->offer_price;
	o->bps = co->discount_bps;
	o->min_spend = co->min_spend;
	o->min_qty = co->min_qty;
	o->ts = in->ev->ts;
	o->expires_at = co->expires_at;
	o->converted = 0;
	o->loaded = 1;
}

/* Start the budget figures of a new day (days only move forward). */
static void
engine_budget_roll(struct plan_runtime *rt, int64_t day)
{
	if (rt->budget_day >= day)
		return;
	if (rt->budget_day != 0)
		rt->spent_before += rt->spent_today;
	rt->budget_day = day;
	rt->spent_today = 0;
}

/* Count a realized cost on its day (a late order on a past day's). */
static void
engine_budget_account(struct plan_runtime *rt, int64_t day, int64_t cost)
{
	engine_budget_roll(rt, day);
	if (day < rt->budget_day)
		rt->spent_before += cost;
	else
		rt->spent_today += cost;
}

/* Take a cancelled or refunded cost back off the day it counted on
 * (never below zero: a figure restored without it stays as it is). */
static void
engine_budget_unspend(struct plan_runtime *rt, int64_t day, int64_t cost)
{
	int64_t *v = day < rt->budget_day ? &rt->spent_before :
	    &rt->spent_today;

	if (day > rt->budget_day)
		return;         /* not counted yet on a day to come */
	*v = *v > cost ? *v - cost : 0;
}

/* The worst-case cost of an offer: per_unit on ENGINE_BUDGET_UNITS units,
 * or on its min_qty if that is more. */
static int64_t
engine_budget_worst(int64_t per_unit, int64_t min_qty)
{
	int64_t units = min_qty > ENGINE_BUDGET_UNITS ? min_qty :
	    ENGINE_BUDGET_UNITS;

	return per_unit > 0 ? per_unit * units : 0;
}

/* The hour slot an offer's reservation is released at: its credit window's
 * end (expiry, at most the attribution window) plus the grace, rounded up. */
static int64_t
engine_budget_slot(const struct engine_params *ep, int64_t ts,
    int64_t expires_at)
{
	int64_t end = ts + ep->attribution_ms;

	if (expires_at < end)
		end = expires_at;
	end += ENGINE_BUDGET_GRACE_MS;
	return (end + ENGINE_BUDGET_SLOT_MS - 1) / ENGINE_BUDGET_SLOT_MS;
}

/* Release the reservations whose slot the plan's clock (the latest event
 * time seen, ts) has reached. */
static void
engine_budget_advance(struct plan_runtime *rt, int64_t ts)
{
	int64_t now = ts / ENGINE_BUDGET_SLOT_MS;
	int64_t from = now - rt->resv_upto >= PLAN_RESV_SLOTS ?
	    now - PLAN_RESV_SLOTS + 1 : rt->resv_upto + 1;

	if (now <= rt->resv_upto)
		return;
	for (int64_t s = from; s <= now; s++) {
		struct plan_resv *e = &rt->resv[s % PLAN_RESV_SLOTS];

		if (e->slot != 0 && e->slot <= now) {
			rt->resv_worst -= e->worst;
			rt->resv_exp -= e->exp;
			memset(e, 0, sizeof(*e));
		}
	}
	if (rt->resv_exp < 0)
		rt->resv_exp = 0;       /* rounding */
	rt->resv_upto = now;
}

/* The units an offer's expected cost counts: one, or its min_qty if that
 * is more (the worst case's ENGINE_BUDGET_UNITS are for the cap only). */
static int64_t
engine_budget_units(int64_t min_qty)
{
	return min_qty > 1 ? min_qty : 1;
}

/* The conversion rate an offer's expected cost counts: a high estimate,
 * the posterior mean plus two standard deviations. */
static double
engine_budget_rate(const struct engine_params *ep,
    const struct product_state *ps, const struct plan *p, int ctx, int level)
{
	double m = bandit_mean(&ps->arms, &p->rt, ctx, level, &ep->bandit);
	double n = ps->arms.n[ctx][level] + ep->bandit.prior_strength;
	double hi = m + 2.0 * sqrt(m * (1.0 - m) / (n > 1.0 ? n : 1.0));

	return hi < 1.0 ? hi : 1.0;
}

/* Today's paced share of the budget. */
int64_t
engine_budget_share(const struct plan *p, int64_t day, int64_t ts)
{
	int64_t left_days, left;

	(void)day;
	if (p->budget < 0)
		return -1;
	left_days = (p->end_ms - ts + PLAN_DAY_MS - 1) / PLAN_DAY_MS;
	if (left_days < 1)
		left_days = 1;
	left = p->budget - p->rt.spent_before;
	return left > 0 ? left / left_days : 0;
}

/* What is left of a plan's budget once an offer is reserved: of the cap
 * (what is left of the budget, less the reservations) and of the spread
 * (today's share with its tolerance, less today's spend and reservations);
 * a negative margin means the offer would break it. */
struct budget_room {
	int64_t left, cap;      /* budget less spend; cap's margin */
	double lim, spread;     /* today's limit; spread's margin */
};

/* The room an offer of worst case worst and expected cost exp leaves. */
static void
engine_budget_room(const struct plan *p, int64_t day, int64_t ts,
    int64_t worst, double exp, struct budget_room *r)
{
	const struct plan_runtime *rt = &p->rt;
	double today = (double)rt->spent_today + rt->resv_exp + exp;

	r->left = p->budget - rt->spent_before - rt->spent_today;
	r->cap = r->left - rt->resv_worst - worst;
	r->lim = (double)engine_budget_share(p, day, ts) * (1.0 +
	    ENGINE_BUDGET_TOLERANCE);
	r->spread = r->lim - today;
}

/* The room as a share in [0, 1]: the tighter of the cap and the spread. */
static double
engine_budget_headroom(const struct budget_room *r)
{
	double cap = r->left > 0 ? (double)r->cap / (double)r->left : 0;
	double spread = r->lim > 0 ? r->spread / r->lim : 0;
	double h = cap < spread ? cap : spread;

	return h < 0 ? 0 : h > 1 ? 1 : h;
}

/*
 * The expiry of an admitted offer of a plan with a budget: its lifetime
 * (expires_at - ts) scaled by the headroom squared, so that reservations
 * are released sooner the fuller the budget is, but never below
 * ENGINE_BUDGET_MIN_LIFE_MS (nor above its own lifetime).
 */
static int64_t
engine_budget_expiry(const struct budget_room *r, int64_t ts,
    int64_t expires_at)
{
	double h = engine_budget_headroom(r);
	int64_t life = expires_at - ts;
	int64_t want = (int64_t)((double)life * h * h);

	if (life <= ENGINE_BUDGET_MIN_LIFE_MS)
		return expires_at;
	if (want < ENGINE_BUDGET_MIN_LIFE_MS)
		want = ENGINE_BUDGET_MIN_LIFE_MS;
	return want < life ? ts + want : expires_at;
}

/* Admit an offer under the plan's budget, choose its expiry (a shorter
 * lifetime the fuller the budget) and reserve its cost: 0, or -1 when the
 * budget holds it back. */
static int
engine_budget_admit(const struct engine_params *ep,
    const struct product_state *ps, struct plan *p,
    const struct engine_input *in, int ctx, int level,
    struct checkout_offer *co)
{
	struct plan_runtime *rt = &p->rt;
	int64_t day = pacing_day(in->date), per = co->list_price -
	    co->offer_price, worst = engine_budget_worst(per, co->min_qty);
	int64_t expires, slot;
	struct budget_room room;
	struct plan_resv *e;
	double exp;

	if (p->budget < 0)
		return 0;
	/* the high-estimate conversion of the offer's expected units */
	exp = worst > 0 ? engine_budget_rate(ep, ps, p, ctx, level) *
	    (double)per * (double)engine_budget_units(co->min_qty) : 0;
	engine_budget_advance(rt, in->ev->ts);
	engine_budget_roll(rt, day);
	engine_budget_room(p, day, in->ev->ts, worst, exp, &room);
	if (room.cap < 0 || room.spread < 0)
		return -1;      /* past the cap or the day's spread */
	expires = engine_budget_expiry(&room, in->ev->ts, co->expires_at);
	slot = engine_budget_slot(ep, in->ev->ts, expires);
	e = &rt->resv[slot % PLAN_RESV_SLOTS];
	/* a window already past the plan's clock, or beyond the slots */
	if (slot <= rt->resv_upto || slot > rt->resv_upto + PLAN_RESV_SLOTS ||
	    (e->slot != 0 && e->slot != slot))
		return -1;
	co->expires_at = expires;
	e->slot = slot;
	e->worst += worst;
	e->exp += exp;
	rt->resv_worst += worst;
	rt->resv_exp += exp;
	return 0;
}

/*
 * An order line of cost credited to offer o at ts: the offer's first line
 * takes its reservation's place; what no reservation covers is overrun.
 */
static void
engine_budget_convert(const struct engine_params *ep, struct plan *p,
    const struct offer_rec *o, int64_t ts, int64_t cost,
    struct fx_counts *counts)
{
	struct plan_runtime *rt = &p->rt;
	int64_t slot = engine_budget_slot(ep, o->ts, o->expires_at), rel = 0;
	struct plan_resv *e = &rt->resv[slot % PLAN_RESV_SLOTS];

	if (p->budget < 0)
		return;
	engine_budget_advance(rt, ts);
	if (!o->converted && e->slot == slot &&
	    strcmp(o->plan_id, p->plan_id) == 0) {
		rel = engine_budget_worst(o->list_price - o->offer_price,
		    o->min_qty);
		if (rel > e->worst)
			rel = e->worst;
		e->worst -= rel;
		rt->resv_worst -= rel;
	}
	if (cost > rel) {
		rt->overrun += cost - rel;
		counts->budget_overrun += (uint64_t)(cost - rel);
	}
}

/* A cancelled or refunded order line of the plan: its cost and GMV come
 * off the plan's spend and the day's pacing figures. */
static void
engine_budget_refund(struct plan *p, const struct order_rec *r)
{
	int64_t day = pacing_day(r->date);

	if (p == NULL || r->group != 1 || strcmp(p->plan_id, r->plan_id) != 0)
		return;
	pacing_reverse(&p->rt, day, r->gmv, r->cost);
	if (p->budget >= 0)
		engine_budget_unspend(&p->rt, day, r->cost);
}

/*
 * Choose a tool and a level and fill a new offer record: 0 (1: it ends at
 * a campaign's start, engine_make()), -1 when no
 * price fits the range, -2 when the guarantee withholds it, -3 when the
 * plan's budget is paced out for today, -4 when the price made was
 * outside the range and refused.
 */
static int
engine_decide(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct offer_rec *o)
{
	struct plan *p = in->plan;
	double target = p->roi_target > 0 ? p->roi_target :
	    ep->default_roi_target;
	int ctx = in->returning ? 1 : 0, tool, rc;
	int32_t min_bps, max_bps;
	struct bandit_choice ch;
	struct checkout_offer co;
	struct rng r;

	plan_range_for(p, ps->product_id, &min_bps, &max_bps);
	bandit_arms_fit(&ps->arms, min_bps, max_bps, &ep->bandit);
	engine_decay_tools(ep, ps, in->ev->ts);
	bandit_decay(&ps->arms, &p->rt, in->ev->ts, &ep->bandit);
	pacing_roll(&p->rt, pacing_day(in->date));
	rng_seed(&r, engine_seed(ep, in));
	bandit_choose(&ps->arms, &p->rt, ctx, ps->price, target,
	    pacing_allowed_bps(&p->rt, target, max_bps), &ep->bandit, &r, &ch);
	tool = tools_choose(&ps->tools, tools_eligible(ep->tools ? ep->tools :
	    1u << CHECKOUT_PRODUCT_DISCOUNT, ctx, ps->pp, in->ev->ts), ctx, &r);
	if (tool < 0)
		return -1;
	if ((rc = engine_make(ep, ps, in, tool, ch.bps, min_bps, max_bps,
	    &co)) < 0)
		return rc;
	if (engine_budget_admit(ep, ps, p, in, ctx, ch.level, &co) == -1)
		return -3;
	engine_fill(ep, in, &co, tool, ch.level, o);
	return rc;      /* 1: cut at a campaign's start */
}

/*
 * The checkout offer of a stored record, rebuilt at the deepest level in
 * the range that gives its offer_price (so a stack check errs on the safe
 * side); -1 when none does.
 */
static int
engine_rebuild(const struct offer_rec *o, int32_t min_bps, int32_t max_bps,
    struct checkout_offer *co)
{
	struct checkout_tool shape;
	struct checkout_offer t;
	int64_t top = (int64_t)o->bps + 10000 / (o->list_price > 0 ?
	    o->list_price : 1) + 2;
	int found = -1;

	if (o->list_price <= 0 || o->tool < 0 || o->tool >= TOOLS_N)
		return -1;
	tools_shape((enum checkout_kind)o->tool, &shape);
	for (int64_t l = o->bps; l <= max_bps && l <= top; l++)
		if (checkout_offer_make(&shape, o->list_price, (int32_t)l,
		    min_bps, max_bps, o->ts, o->expires_at, &t) == 0 &&
		    t.offer_price == o->offer_price) {
			*co = t;
			found = 0;
		}
	return found;
}

/*
 * A standing offer that, stacked on a campaign known now to start before
 * its expiry, would make the seller fund more than the range: re-issue
 * it with the same offer_id, ending at the campaign's start (a repeated
 * offer_id supersedes the earlier message).  One it cannot rebuild is
 * re-issued too.
 */
static int
engine_supersede(const struct product_state *ps, const struct plan *p,
    struct offer_rec *o, struct effects *fx)
{
	struct checkout_offer co;
	int32_t min_bps, max_bps;
	int64_t at;

	if (p == NULL || !o->loaded || o->converted == 1 ||
	    o->expires_at <= o->ts ||
	    (at = engine_campaign_meets(ps, o->ts, o->expires_at)) < 0 ||
	    strcmp(o->plan_id, p->plan_id) != 0)
		return 0;
	plan_range_for(p, ps->product_id, &min_bps, &max_bps);
	if (engine_rebuild(o, min_bps, max_bps, &co) == 0 &&
	    engine_campaign_ok(ps, &co, o->ctx == 0, min_bps, max_bps, o->ts))
		return 0;
	o->expires_at = at;     /* ts itself if the campaign was open then */
	fx->counts.superseded++;
	if (engine_put_offer(fx, o) == -1)
		return -1;
	return fx_msg(fx, FX_TOPIC_OFFERS, ps->product_id,
	    engine_offer_json(o, ps));
}

/* ---- handlers ----------------------------------------------------------- */

/* Upsert the catalog row. */
static int
engine_on_product(struct product_state *ps, const struct event *ev)
{
	const struct event_product *e = &ev->u.product;

	util_strlcpy(ps->shop_id, ev->shop_id, sizeof(ps->shop_id));
	ps->price = e->price;
	ps->stock = e->stock;
	ps->listed_at = e->listed_at;
	util_strlcpy(ps->category, e->category, sizeof(ps->category));
	ps->known = 1;
	ps->product_dirty = 1;
	return 0;
}

/* Record a platform campaign price for its window; the standing offers
 * this batch loaded that would stack on it beyond the range are
 * re-issued to end at its start. */
static int
engine_on_campaign(struct product_state *ps, const struct engine_input *in,
    struct effects *fx)
{
	const struct event_campaign *e = &in->ev->u.campaign;
	const struct plan *p = in->plan;

	util_strlcpy(ps->campaign_id, e->campaign_id, sizeof(ps->campaign_id));
	ps->campaign_price = e->campaign_price;
	ps->campaign_start = e->start;
	ps->campaign_end = e->end;
	ps->product_dirty = 1;
	if (p != NULL && !plan_has_product(p, ps->product_id))
		p = NULL;
	for (size_t i = 0; i < ps->noffers && p != NULL; i++)
		if (ps->offers[i].expires_at > in->ev->ts &&
		    engine_supersede(ps, p, &ps->offers[i], fx) == -1)
			return -1;
	return 0;
}

/* A promotion_deactivated message. */
static int
engine_deactivated(struct effects *fx, const struct product_state *ps,
    const char *promotion_id, const struct plan *p, const char *reason,
    int64_t ts)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "type",
	    "promotion_deactivated", "promotion_id", promotion_id, "product_id",
	    ps->product_id, "shop_id", ps->shop_id, "plan_id", p->plan_id,
	    "reason", reason, "ts", (json_int_t)ts);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return fx_msg(fx, FX_TOPIC_OFFERS, ps->product_id, s);
}

/* Forget the seller's promotion. */
static void
engine_clear_promo(struct product_state *ps)
{
	ps->promo_id[0] = ps->promo_tool[0] = '\0';
	ps->promo_bps = -1;
	ps->promo_start = ps->promo_end = -1;
	ps->product_dirty = 1;
}

/* An enrolled product's own seller promotion is replaced by the plan. */
static int
engine_replace_promo(struct product_state *ps, const struct plan *p,
    int64_t ts, struct effects *fx)
{
	char reason[PLAN_ID_MAX + 64];

	if (ps->promo_id[0] == '\0' || ps->promo_end <= ts)
		return 0;
	snprintf(reason, sizeof(reason), "replaced by smart promotion plan "
	    "\"%s\"", p->plan_id);
	if (engine_deactivated(fx, ps, ps->promo_id, p, reason, ts) == -1)
		return -1;
	fx->counts.deactivated++;
	engine_clear_promo(ps);
	return 0;
}

/* Nonzero while a platform campaign price holds at ts. */
static int
engine_in_campaign(const struct product_state *ps, int64_t ts)
{
	return ps->campaign_price >= 0 && ps->campaign_start <= ts &&
	    ts < ps->campaign_end;
}

/* The plan of this event when it is active and enrolls the product. */
static struct plan *
engine_plan(const struct engine_input *in, const struct product_state *ps)
{
	struct plan *p = in->plan;

	if (p == NULL || !plan_is_active(p, in->ev->ts) ||
	    !plan_has_product(p, ps->product_id))
		return NULL;
	return p;
}

/* Make (or keep) an offer for a treatment customer's view. */
static int
engine_offer(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct effects *fx)
{
	const struct event_page_view *e = &in->ev->u.page_view;
	struct offer_rec *o = product_state_offer(ps, e->customer_id);
	struct offer_rec nw;
	int rc = 0;

	if (o == NULL)
		return -1;
	if (o->loaded && o->converted != 1 && o->expires_at > in->ev->ts &&
	    strcmp(o->plan_id, in->plan->plan_id) == 0)
		return 0;       /* the customer's offer still stands */
	if (!ep->late_view_offers && in->now_ms > 0 &&
	    in->ev->ts + ep->offer_ttl_ms <= in->now_ms) {
		fx->counts.late++;      /* its offer would be born expired */
		return 0;
	}
	memset(&nw, 0, sizeof(nw));
	util_strlcpy(nw.customer_id, e->customer_id, sizeof(nw.customer_id));
	if (!ps->known || (rc = engine_decide(ep, ps, in, &nw)) < 0) {
		if (rc == -2)
			fx->counts.withheld++;
		else if (rc == -3)
			fx->counts.budget_held++;
		else if (rc == -4)
			fx->counts.range_refused++;
		else
			fx->counts.no_offer++;
		return 0;
	}
	if (rc == 1)
		fx->counts.campaign_cut++;
	nw.last_view = o->last_view;
	nw.has_last_view = o->has_last_view;
	*o = nw;
	bandit_expose(&ps->arms, &in->plan->rt, o->ctx, o->level);
	tools_expose(&ps->tools, o->ctx, o->tool);
	ps->arms_dirty = 1;
	fx->counts.offers++;
	fx->counts.by_tool[o->tool]++;
	if (engine_put_offer(fx, o) == -1 ||
	    fx_incr(fx, in->date, "offers", 1) == -1)
		return -1;
	return fx_msg(fx, FX_TOPIC_OFFERS, ps->product_id,
	    engine_offer_json(o, ps));
}

/* Nonzero if this view was already counted (re-sent with its event_id). */
static int
engine_seen_view(struct product_state *ps, const struct event *ev,
    struct effects *fx)
{
	struct offer_rec *o = product_state_offer(ps,
	    ev->u.page_view.customer_id);
	uint32_t h = (uint32_t)rng_hash_str(ev->event_id, 0);
	char v[16];

	if (o == NULL)
		return -1;
	if (o->has_last_view && o->last_view == h)
		return 1;
	o->last_view = h;
	o->has_last_view = 1;
	snprintf(v, sizeof(v), "%08" PRIx32, h);
	return fx_write(fx, FX_HSET, FX_VIEWS, NULL, o->customer_id, v);
}

/* Count a view; treatment views may get an offer. */
static int
engine_on_page_view(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct effects *fx)
{
	struct engine_input pin = *in;
	struct offer_rec *o;
	int seen = engine_seen_view(ps, in->ev, fx);

	if (seen == -1)
		return -1;
	if (seen == 1) {
		fx->counts.skipped++;
		return 0;
	}
	if (fx_incr(fx, in->date, "pv", 1) == -1)
		return -1;
	if ((pin.plan = engine_plan(in, ps)) == NULL)
		return 0;
	if (fx_write(fx, FX_HSET, FX_DAY, in->date, "plan",
	    pin.plan->plan_id) == -1)
		return -1;
	if (engine_in_holdout(in->ev->u.page_view.customer_id,
	    ep->holdout_pct)) {
		fx->counts.holdout++;
		return fx_incr(fx, in->date, "pv_c", 1);
	}
	if (fx_incr(fx, in->date, "pv_t", 1) == -1 ||
	    engine_replace_promo(ps, pin.plan, in->ev->ts, fx) == -1)
		return -1;
	if ((o = product_state_offer(ps,
	    in->ev->u.page_view.customer_id)) == NULL ||
	    engine_supersede(ps, pin.plan, o, fx) == -1)
		return -1;
	if (engine_in_campaign(ps, in->ev->ts)) {
		fx->counts.campaign++;
		return 0;
	}
	return engine_offer(ep, ps, &pin, fx);
}

/*
 * The seller-funded discount of a line that used offer o: the smaller of
 * the offer's discount and the one given, on at most the tool's max_qty
 * units (a flash sale's units above its cap were not bought at its price).
 */
static int64_t
engine_line_cost(const struct offer_rec *o, const struct event_order *e)
{
	int64_t per_unit = o->list_price - o->offer_price;
	int64_t given = e->unit_price - e->paid_unit_price;
	int64_t units = e->qty, cap = engine_max_qty(o->tool);

	if (given < per_unit)
		per_unit = given;
	if (cap > 0 && units > cap)
		units = cap;
	return per_unit > 0 ? per_unit * units : 0;
}

/* Credit the offer an order line used; returns the line's cost. */
static int
engine_attribute(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct order_rec *r, struct effects *fx)
{
	const struct event_order *e = &in->ev->u.order;
	struct offer_rec *o;

	if (e->offer_id[0] == '\0' ||
	    (o = product_state_offer(ps, e->customer_id)) == NULL ||
	    !o->loaded || strcmp(o->offer_id, e->offer_id) != 0 ||
	    (o->tool == CHECKOUT_VOUCHER ? in->ev->ts >= o->expires_at :
	    in->ev->ts > o->ts + ep->attribution_ms))
		return 0;       /* a voucher lives until its expiry */
	r->cost = engine_line_cost(o, e);
	r->lines_o = 1;
	r->gmv_o = r->gmv;
	if (fx_incr(fx, r->date, "ord_o", 1) == -1 ||
	    fx_incr(fx, r->date, "gmv_o", r->gmv) == -1 ||
	    fx_incr(fx, r->date, "cost", r->cost) == -1)
		return -1;
	engine_budget_convert(ep, in->plan, o, in->ev->ts, r->cost,
	    &fx->counts);
	if (o->tool == CHECKOUT_VOUCHER && o->converted != 1) {
		r->voucher = *o;        /* to give it back on cancellation */
		r->voucher.converted = 0;
		r->has_voucher = 1;
	}
	if (o->converted == 2) {        /* a returned voucher used again */
		o->converted = 1;
		return engine_put_offer(fx, o);
	}
	if (o->converted)
		return 0;
	if (o->level < ps->arms.nlevels) {
		engine_decay_tools(ep, ps, in->ev->ts);
		bandit_decay(&ps->arms, &in->plan->rt, in->ev->ts, &ep->bandit);
		bandit_convert(&ps->arms, &in->plan->rt, o->ctx, o->level);
		tools_convert(&ps->tools, o->ctx, o->tool);
		ps->arms_dirty = 1;
	}
	o->converted = 1;
	fx->counts.conversions++;
	return engine_put_offer(fx, o);
}

/* Count a treatment or control line. */
static int
engine_count_group(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct order_rec *r, struct effects *fx)
{
	const struct event_order *e = &in->ev->u.order;
	const char *sfx = r->group == 2 ? "_c" : "_t";
	char f[16];

	snprintf(f, sizeof(f), "ord%s", sfx);
	if (fx_incr(fx, r->date, f, 1) == -1)
		return -1;
	snprintf(f, sizeof(f), "units%s", sfx);
	if (fx_incr(fx, r->date, f, e->qty) == -1)
		return -1;
	snprintf(f, sizeof(f), "gmv%s", sfx);
	if (fx_incr(fx, r->date, f, r->gmv) == -1 ||
	    fx_write(fx, FX_PFADD, r->group == 2 ? FX_UNIQ_C : FX_UNIQ_T,
	    r->date, "", e->customer_id) == -1 ||
	    fx_write(fx, FX_HSET, FX_DAY, r->date, "plan", r->plan_id) == -1)
		return -1;
	if (r->group == 2)
		return 0;
	if (engine_attribute(ep, ps, in, r, fx) == -1)
		return -1;
	pacing_roll(&in->plan->rt, pacing_day(r->date));
	pacing_record(&in->plan->rt, in->plan->roi_target, r->gmv, r->cost,
	    e->unit_price * e->qty);
	engine_budget_account(&in->plan->rt, pacing_day(r->date), r->cost);
	return 0;
}

/* The key of an order line: a hash of its variant. */
static uint32_t
engine_line_key(const struct event_order *e)
{
	return (uint32_t)rng_hash_str(e->variant_id, 0);
}

/* Nonzero if the order record already holds this line. */
static int
engine_has_line(const struct order_rec *r, uint32_t key)
{
	for (int i = 0; i < r->nline_keys; i++)
		if (r->line_keys[i] == key)
			return 1;
	return 0;
}

/* The customer's stored voucher offer that an order line names, while
 * the voucher is unexpired; NULL: none. */
static struct offer_rec *
engine_order_voucher(struct product_state *ps, const struct event *ev)
{
	const struct event_order *e = &ev->u.order;
	struct offer_rec *o = NULL;

	if (ev->type != EV_ORDER || e->offer_id[0] == '\0')
		return NULL;
	for (size_t i = 0; i < ps->noffers && o == NULL; i++)
		if (strcmp(ps->offers[i].customer_id, e->customer_id) == 0)
			o = &ps->offers[i];
	if (o == NULL || !o->loaded || o->tool != CHECKOUT_VOUCHER ||
	    strcmp(o->offer_id, e->offer_id) != 0 || ev->ts >= o->expires_at)
		return NULL;
	return o;
}

/* The plan id the caller looks up for engine_input.offer_plan. */
const char *
engine_order_offer_plan(struct product_state *ps, const struct event *ev)
{
	const struct offer_rec *o = engine_order_voucher(ps, ev);

	return o != NULL ? o->plan_id : NULL;
}

/* The plan a voucher order is credited to: the voucher's own. */
static struct plan *
engine_voucher_plan(const struct engine_input *in, struct product_state *ps)
{
	const struct offer_rec *o = engine_order_voucher(ps, in->ev);

	if (o == NULL || in->offer_plan == NULL ||
	    strcmp(in->offer_plan->plan_id, o->plan_id) != 0)
		return NULL;
	return in->offer_plan;
}

/* Count one new line into ln (a record of that line alone). */
static int
engine_count_line(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct order_rec *ln, struct effects *fx)
{
	const struct event_order *e = &in->ev->u.order;
	struct engine_input pin = *in;

	util_strlcpy(ln->date, in->date, sizeof(ln->date));
	ln->lines = 1;
	ln->qty = e->qty;
	ln->gmv = e->paid_unit_price * e->qty;
	if (fx_incr(fx, ln->date, "ord", 1) == -1 ||
	    fx_incr(fx, ln->date, "units", e->qty) == -1 ||
	    fx_incr(fx, ln->date, "gmv", ln->gmv) == -1)
		return -1;
	if ((pin.plan = engine_voucher_plan(in, ps)) != NULL)
		ln->group = 1;  /* its voucher's plan, even ended */
	else if ((pin.plan = engine_plan(in, ps)) == NULL)
		return 0;
	else
		ln->group = engine_in_holdout(e->customer_id,
		    ep->holdout_pct) ? 2 : 1;
	util_strlcpy(ln->plan_id, pin.plan->plan_id, sizeof(ln->plan_id));
	return engine_count_group(ep, ps, &pin, ln, fx);
}

/* Add a line's figures to the order's record. */
static void
engine_merge_line(struct order_rec *r, const struct order_rec *ln,
    uint32_t key)
{
	if (!r->loaded) {
		util_strlcpy(r->plan_id, ln->plan_id, sizeof(r->plan_id));
		util_strlcpy(r->date, ln->date, sizeof(r->date));
		r->group = ln->group;
		r->loaded = 1;
	}
	r->lines += ln->lines;
	r->qty += ln->qty;
	r->gmv += ln->gmv;
	r->lines_o += ln->lines_o;
	r->gmv_o += ln->gmv_o;
	r->cost += ln->cost;
	if (ln->has_voucher && !r->has_voucher) {
		r->voucher = ln->voucher;
		r->has_voucher = 1;
	}
	if (r->nline_keys < ORDER_MAX_LINES)
		r->line_keys[r->nline_keys++] = key;
}

/* ---- creators' facts (docs/pps.md) ----------------------------------- */

/*
 * A creator fact of this product, field "<creator> US <date> US <stat>"
 * of sp:{P}:pps (US: 0x1f, which ids cannot hold); content orders are
 * "<creator> US <date> US c US <content>".
 */
static int
engine_pps(struct effects *fx, enum fx_op op, const char *creator,
    const char *date, const char *stat, const char *content,
    const char *value)
{
	char field[3 * EVENT_ID_MAX + 32];

	if (content != NULL)
		snprintf(field, sizeof(field), "%s\037%s\037c\037%s", creator,
		    date, content);
	else
		snprintf(field, sizeof(field), "%s\037%s\037%s", creator, date,
		    stat);
	return fx_write(fx, op, FX_PPS, NULL, field, value);
}

/* Add by to a creator's counter (and its content's, if any). */
static int
engine_pps_add(struct effects *fx, const struct order_rec *r,
    const char *stat, int64_t by, int with_content)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRId64, by);
	if (engine_pps(fx, FX_HINCRBY, r->creator_id, r->date, stat, NULL,
	    v) == -1)
		return -1;
	if (!with_content || r->content_id[0] == '\0')
		return 0;
	return engine_pps(fx, FX_HINCRBY, r->creator_id, r->date, NULL,
	    r->content_id, v);
}

/* An order line a creator drove: its count, content and the shop's SPS. */
static int
engine_pps_order(struct order_rec *r, const struct event_order *e,
    double sps, struct effects *fx)
{
	char v[32];

	if (e->creator_id[0] == '\0')
		return 0;
	if (r->creator_id[0] == '\0') {
		util_strlcpy(r->creator_id, e->creator_id,
		    sizeof(r->creator_id));
		util_strlcpy(r->content_id, e->content_id,
		    sizeof(r->content_id));
	}
	if (engine_pps_add(fx, r, "o", 1, 1) == -1)
		return -1;
	if (sps < 0)
		return 0;
	snprintf(v, sizeof(v), "%.4g", sps);
	return engine_pps(fx, FX_HSET, r->creator_id, r->date, "sps", NULL, v);
}

/* A status change of a creator's order: delivered, or taken back. */
static int
engine_pps_update(const struct order_rec *r, int was, int now,
    struct effects *fx)
{
	if (r->creator_id[0] == '\0')
		return 0;
	if (now == 3)
		return engine_pps_add(fx, r, "d", r->lines, 0);
	if ((now == 1 || now == 2) && engine_pps_add(fx, r, "o", -r->lines,
	    1) == -1)
		return -1;
	if ((now == 1 || now == 2) && was == 3)
		return engine_pps_add(fx, r, "d", -r->lines, 0);
	return 0;
}

/* The first review of an order: the product's counts, the creator's. */
static int
engine_on_review(struct product_state *ps, const struct engine_input *in,
    struct effects *fx)
{
	const struct event_review *e = &in->ev->u.review;
	struct order_rec *r = product_state_order(ps, e->order_id);
	int positive = e->rating >= 4, shipping = !positive &&
	    e->shipping_related;

	if (r == NULL)
		return -1;
	if (!r->loaded || r->reviewed)
		return 0;       /* unknown order, or reviewed already */
	r->reviewed = 1;
	if (r->creator_id[0] == '\0' && e->creator_id[0] != '\0')
		util_strlcpy(r->creator_id, e->creator_id,
		    sizeof(r->creator_id));
	if ((positive && fx_write(fx, FX_HINCRBY, FX_PRODUCT, NULL, "rev_pos",
	    "1") == -1) || (!shipping && fx_write(fx, FX_HINCRBY, FX_PRODUCT,
	    NULL, "rev_cnt", "1") == -1))
		return -1;
	if (r->creator_id[0] != '\0' && engine_pps_add(fx, r, positive ? "p" :
	    shipping ? "s" : "n", 1, 0) == -1)
		return -1;
	return engine_put_order(fx, r);
}

/* Count an order line once; credit the learner if it used an offer. */
static int
engine_on_order(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct effects *fx)
{
	const struct event_order *e = &in->ev->u.order;
	struct order_rec *r = product_state_order(ps, e->order_id);
	struct order_rec ln;
	uint32_t key = engine_line_key(e);

	if (r == NULL)
		return -1;
	if (r->loaded && (engine_has_line(r, key) ||
	    r->nline_keys == ORDER_MAX_LINES)) {
		fx->counts.skipped++;   /* the same line sent again */
		return 0;
	}
	memset(&ln, 0, sizeof(ln));
	if (engine_count_line(ep, ps, in, &ln, fx) == -1)
		return -1;
	engine_merge_line(r, &ln, key);
	if (engine_pps_order(r, e, in->sps, fx) == -1)
		return -1;
	return engine_put_order(fx, r);
}

/* Subtract a cancelled or refunded order from the day it counted in. */
static int
engine_reverse(const struct order_rec *r, struct effects *fx)
{
	const char *sfx = r->group == 2 ? "_c" : "_t";
	char f[16];

	if (fx_incr(fx, r->date, "ord", -r->lines) == -1 ||
	    fx_incr(fx, r->date, "units", -r->qty) == -1 ||
	    fx_incr(fx, r->date, "gmv", -r->gmv) == -1 ||
	    fx_incr(fx, r->date, "cancelled", r->lines) == -1)
		return -1;
	if (r->group == 0)
		return 0;
	snprintf(f, sizeof(f), "ord%s", sfx);
	if (fx_incr(fx, r->date, f, -r->lines) == -1)
		return -1;
	snprintf(f, sizeof(f), "units%s", sfx);
	if (fx_incr(fx, r->date, f, -r->qty) == -1)
		return -1;
	snprintf(f, sizeof(f), "gmv%s", sfx);
	if (fx_incr(fx, r->date, f, -r->gmv) == -1 ||
	    fx_incr(fx, r->date, "ord_o", -r->lines_o) == -1 ||
	    fx_incr(fx, r->date, "gmv_o", -r->gmv_o) == -1)
		return -1;
	return fx_incr(fx, r->date, "cost", -r->cost);
}

/*
 * A cancelled or refunded order (a refund event is a full refund) gives
 * the voucher it used back while the voucher is unexpired: the customer's
 * offer record is the voucher again, marked given back (converted 2), so
 * that it stands at the next view and a later order using it is credited.
 */
static int
engine_give_back(struct product_state *ps, struct order_rec *r, int64_t ts,
    struct effects *fx)
{
	struct checkout_claim c = { r->voucher.ts, r->voucher.expires_at, 1 };
	struct offer_rec *o;

	if (!r->has_voucher || !checkout_claim_return(&c, r->status == 1 ?
	    ORDER_CANCELLED : ORDER_REFUNDED, 1, ts))
		return 0;
	if ((o = product_state_offer(ps, r->voucher.customer_id)) == NULL)
		return -1;
	r->voucher.last_view = o->last_view;
	r->voucher.has_last_view = o->has_last_view;
	*o = r->voucher;
	o->converted = 2;
	o->loaded = 1;
	r->has_voucher = 0;     /* given back once */
	fx->counts.vouchers_returned++;
	return engine_put_offer(fx, o);
}

/* Apply a status change of a known order line. */
static int
engine_on_order_update(struct product_state *ps, const struct engine_input *in,
    struct effects *fx)
{
	const struct event_order_update *e = &in->ev->u.order_update;
	struct order_rec *r = product_state_order(ps, e->order_id);
	int was_paid;

	if (r == NULL)
		return -1;
	if (!r->loaded)
		return 0;       /* unknown line: nothing to change */
	was_paid = r->status == 0 || r->status == 3;
	if (e->status == ORDER_DELIVERED) {
		if (r->status != 0)
			return 0;
		r->status = 3;
		if (engine_pps_update(r, 0, 3, fx) == -1)
			return -1;
		return engine_put_order(fx, r);
	}
	if (!was_paid)
		return 0;
	{
		int was = r->status;

		r->status = e->status == ORDER_CANCELLED ? 1 : 2;
		if (engine_reverse(r, fx) == -1 ||
		    engine_pps_update(r, was, r->status, fx) == -1 ||
		    engine_give_back(ps, r, in->ev->ts, fx) == -1)
			return -1;
		engine_budget_refund(in->plan, r);
	}
	return engine_put_order(fx, r);
}

/* A seller's own promotion: refused on an enrolled product, else kept. */
static int
engine_on_seller_promotion(struct product_state *ps,
    const struct engine_input *in, struct effects *fx)
{
	const struct event_seller_promotion *e = &in->ev->u.seller_promotion;
	const struct plan *p = engine_plan(in, ps);
	char reason[PLAN_ID_MAX + 64];

	if (ps->shop_id[0] == '\0')
		util_strlcpy(ps->shop_id, in->ev->shop_id, sizeof(ps->shop_id));
	if (p != NULL && e->end > in->ev->ts) {
		snprintf(reason, sizeof(reason), "refused: the product is in "
		    "smart promotion plan \"%s\"", p->plan_id);
		fx->counts.refused++;
		return engine_deactivated(fx, ps, e->promotion_id, p, reason,
		    in->ev->ts);
	}
	util_strlcpy(ps->promo_id, e->promotion_id, sizeof(ps->promo_id));
	util_strlcpy(ps->promo_tool, e->tool, sizeof(ps->promo_tool));
	ps->promo_bps = e->discount_bps;
	ps->promo_start = e->start;
	ps->promo_end = e->end;
	ps->product_dirty = 1;
	return 0;
}

/* A platform promotion on this product: kept for the guarantee check. */
static int
engine_on_platform(struct product_state *ps, const struct event *ev)
{
	const struct event_platform_promotion *e = &ev->u.platform_promotion;

	if (tools_platform_set(ps->pp, e->promotion_id, e->kind,
	    e->discount_bps, e->amount, e->min_spend, e->start, e->end) == -1)
		return 0;
	ps->product_dirty = 1;
	return 0;
}

/*
 * An outbox entry holds the messages of one position, each "<topic digit>
 * <key> US <payload>", separated by RS (0x1e; JSON text holds neither).
 */
#define ENGINE_RS '\036'
#define ENGINE_US '\037'

/* Record the messages fx gained since message n in the outbox. */
static int
engine_outbox_put(struct product_state *ps, const struct engine_input *in,
    struct effects *fx, size_t n)
{
	size_t len = 1;
	char field[48], *v, *w;
	int rc;

	if (fx->nm == n)
		return 0;
	for (size_t i = n; i < fx->nm; i++)
		len += strlen(fx->m[i].key) + strlen(fx->m[i].payload) + 3;
	if ((v = w = malloc(len)) == NULL)
		return -1;
	for (size_t i = n; i < fx->nm; i++) {
		if (i > n)
			*w++ = '\036';
		w = util_fmt_i64(w, (int)fx->m[i].topic);
		w = stpcpy(w, fx->m[i].key);
		*w++ = ENGINE_US;
		w = stpcpy(w, fx->m[i].payload);
	}
	engine_outbox_field(in->partition, in->offset, field, sizeof(field));
	rc = fx_write_n(fx, FX_HSET, FX_OUTBOX, NULL, field, strlen(field), v,
	    (size_t)(w - v)) == -1 ||
	    product_state_outbox(ps, in->partition, in->offset, v) == -1 ?
	    -1 : 0;
	free(v);
	return rc;
}

/* Emit one stored message "<topic digit><key> US <payload>". */
static int
engine_outbox_emit(struct effects *fx, const char *m, size_t len)
{
	const char *us = memchr(m, ENGINE_US, len);
	char *key, *payload;
	int topic = m[0] - '0';

	if (us == NULL || len < 2 || topic < 0 || topic > FX_TOPIC_METRICS)
		return 0;       /* not ours: ignore */
	key = strndup(m + 1, (size_t)(us - m - 1));
	payload = strndup(us + 1, len - (size_t)(us - m) - 1);
	if (key == NULL || payload == NULL) {
		free(key);
		free(payload);
		return -1;
	}
	if (fx_msg(fx, (enum fx_topic)topic, key, payload) == -1) {
		free(key);
		return -1;
	}
	free(key);
	return 0;
}

/* Re-emit what a re-delivered event caused, from the outbox. */
static int
engine_replay(struct product_state *ps, const struct engine_input *in,
    struct effects *fx)
{
	const char *v = NULL, *end;

	fx->counts.skipped++;
	for (size_t i = 0; i < ps->noutbox; i++)
		if (ps->outbox[i].partition == in->partition &&
		    ps->outbox[i].offset == in->offset)
			v = ps->outbox[i].value;
	for (; v != NULL && *v != '\0'; v = *end ? end + 1 : end) {
		end = strchr(v, ENGINE_RS);
		if (end == NULL)
			end = v + strlen(v);
		if (engine_outbox_emit(fx, v, (size_t)(end - v)) == -1)
			return -1;
	}
	return 0;
}

/* Dispatch an event to its handler. */
static int
engine_dispatch(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct effects *fx)
{
	const struct event *ev = in->ev;

	switch (ev->type) {
	case EV_PRODUCT:
		return engine_on_product(ps, ev);
	case EV_PAGE_VIEW:
		return engine_on_page_view(ep, ps, in, fx);
	case EV_ORDER:
		return engine_on_order(ep, ps, in, fx);
	case EV_ORDER_UPDATE:
		return engine_on_order_update(ps, in, fx);
	case EV_CAMPAIGN:
		return engine_on_campaign(ps, in, fx);
	case EV_SELLER_PROMOTION:
		return engine_on_seller_promotion(ps, in, fx);
	case EV_PLATFORM_PROMOTION:
		return engine_on_platform(ps, ev);
	case EV_REVIEW:
		return engine_on_review(ps, in, fx);
	default:
		return 0;       /* recorded position only, for now */
	}
}

/* Apply one event. */
int
engine_apply(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct effects *fx)
{
	size_t n = fx->nm;

	if (ps->kpart == in->partition && in->offset <= ps->koff)
		return engine_replay(ps, in, fx);
	ps->kpart = fx->kpart = in->partition;
	ps->koff = fx->koff = in->offset;
	if (engine_dispatch(ep, ps, in, fx) == -1)
		return -1;
	return engine_outbox_put(ps, in, fx, n);
}

/* ---- flush -------------------------------------------------------------- */

/* HSET one product field from a number. */
static int
engine_put_num(struct effects *fx, enum fx_key key, const char *field,
    int64_t v)
{
	return fx_write_num(fx, FX_HSET, key, NULL, field, v);
}

/* The product hash writes. */
static int
engine_flush_product(const struct product_state *ps, struct effects *fx)
{
	return fx_write(fx, FX_HSET, FX_PRODUCT, NULL, "shop_id",
	    ps->shop_id) == -1 ||
	    fx_write(fx, FX_HSET, FX_PRODUCT, NULL, "category",
	    ps->category) == -1 ||
	    fx_write(fx, FX_HSET, FX_PRODUCT, NULL, "known",
	    ps->known ? "1" : "0") == -1 ||
	    fx_write(fx, FX_HSET, FX_PRODUCT, NULL, "campaign_id",
	    ps->campaign_id) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "price", ps->price) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "stock", ps->stock) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "listed_at", ps->listed_at) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "campaign_price",
	    ps->campaign_price) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "campaign_start",
	    ps->campaign_start) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "campaign_end",
	    ps->campaign_end) == -1 ||
	    fx_write(fx, FX_HSET, FX_PRODUCT, NULL, "promo_id",
	    ps->promo_id) == -1 ||
	    fx_write(fx, FX_HSET, FX_PRODUCT, NULL, "promo_tool",
	    ps->promo_tool) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "promo_bps", ps->promo_bps) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "promo_start",
	    ps->promo_start) == -1 ||
	    engine_put_num(fx, FX_PRODUCT, "promo_end", ps->promo_end) == -1 ?
	    -1 : 0;
}

/* The arms hash writes. */
static int
engine_flush_arms(const struct bandit_arms *a, struct effects *fx)
{
	char name[16], val[64], *e;

	e = util_fmt_i64(val, a->min_bps);
	*e++ = '-';
	e = util_fmt_i64(e, a->max_bps);
	*e++ = '/';
	util_fmt_i64(e, a->nlevels);
	if (fx_write(fx, FX_HSET, FX_ARMS, NULL, "range", val) == -1 ||
	    engine_put_num(fx, FX_ARMS, "tref", a->tref) == -1)
		return -1;
	for (int c = 0; c < PLAN_CONTEXTS; c++)
		for (int l = 0; l < a->nlevels; l++) {
			util_fmt_i64(stpcpy(stpcpy(name, engine_ctx_names[c]),
			    ":"), l);
			e = util_fmt_fixed6(val, a->n[c][l]);
			*e++ = ' ';
			util_fmt_fixed6(e, a->s[c][l]);
			if (fx_write(fx, FX_HSET, FX_ARMS, NULL, name,
			    val) == -1)
				return -1;
		}
	return 0;
}

/* The platform promotion slots that hold one. */
static int
engine_flush_platform(const struct product_state *ps, struct effects *fx)
{
	char buf[512];

	for (int k = 0; k < TOOLS_PLATFORM_KINDS; k++) {
		if (ps->pp[k].id[0] == '\0')
			continue;
		if (tools_platform_format(&ps->pp[k], buf, sizeof(buf)) == -1 ||
		    fx_write(fx, FX_HSET, FX_PRODUCT, NULL,
		    tools_platform_field((enum platform_kind)k), buf) == -1)
			return -1;
	}
	return 0;
}

/* The tool arms. */
static int
engine_flush_tools(const struct tools_arms *t, struct effects *fx)
{
	char name[64], val[64], *e;

	for (int c = 0; c < PLAN_CONTEXTS; c++)
		for (int k = 0; k < TOOLS_N; k++) {
			if (t->n[c][k] == 0 && t->s[c][k] == 0)
				continue;
			stpcpy(stpcpy(stpcpy(stpcpy(name, "tool:"),
			    engine_ctx_names[c]), ":"), checkout_kind_name(
			    (enum checkout_kind)k));
			e = util_fmt_fixed6(val, t->n[c][k]);
			*e++ = ' ';
			util_fmt_fixed6(e, t->s[c][k]);
			if (fx_write(fx, FX_HSET, FX_ARMS, NULL, name,
			    val) == -1)
				return -1;
		}
	return 0;
}

/* Writes of whatever changed in the product and arms hashes. */
int
engine_flush(const struct product_state *ps, struct effects *fx)
{
	if (ps->product_dirty && (engine_flush_product(ps, fx) == -1 ||
	    engine_flush_platform(ps, fx) == -1))
		return -1;
	if (ps->arms_dirty && (engine_flush_arms(&ps->arms, fx) == -1 ||
	    engine_flush_tools(&ps->tools, fx) == -1))
		return -1;
	return 0;
}

/* ---- dead letters ------------------------------------------------------- */

/* Base64 of bytes, malloc'd. */
static char *
engine_base64(const unsigned char *p, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t
engine_utf8_len(const unsigned char *p, size_t left)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return p[0] != 0 ? 1 : 0;
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* The payload as text, invalid bytes replaced by U+FFFD; malloc'd. */
static char *
engine_sanitize(const char *payload, size_t len)
{
	const unsigned char *p = (const unsigned char *)payload;
	char *out = malloc(len * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = engine_utf8_len(p + i, len - i);

		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(o, p + i, n);
		o += n;
		i += n;
	}
	*o = '\0';
	return out;
}

/* The dead-letter message for a rejected payload. */
char *
engine_dead_letter(const char *reason, const char *payload, size_t len,
    const char *topic, int32_t partition, int64_t offset, int64_t now_ms)
{
	char *text = engine_sanitize(payload ? payload : "", payload ? len : 0);
	char *b64 = engine_base64((const unsigned char *)(payload ?
	    payload : ""), payload ? len : 0);
	json_t *j = NULL;
	char *s = NULL;

	if (text != NULL && b64 != NULL)
		j = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s}",
		    "type", "dead_letter", "reason", reason, "topic", topic,
		    "partition", (int)partition,
		    "offset", (json_int_t)offset, "ts", (json_int_t)now_ms,
		    "payload", text, "payload_base64", b64);
	if (j != NULL) {
		s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	free(text);
	free(b64);
	return s;
}
