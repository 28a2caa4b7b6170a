/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check.c - spfault check: replay the input through the model (model.c)
 * and compare, after a fault test, what the daemon left behind:
 *
 *  - Redis, key by key: every key the model holds must be there, and no
 *    other key of the families events write (per product, sp:buyers:*,
 *    sp:shops, sp:shop:*:products).  Compared exactly: the product hash
 *    (catalog and promotion fields, plan_id, kpos = the product's last
 *    input position), the views hash, the buyers and shop catalog sets, the
 *    unique-customer HyperLogLogs (PFCOUNT against the model's members
 *    PFADDed to a scratch key), the day counters pv, pv_t, pv_c, offers,
 *    ord, units, gmv, ord_t, units_t, gmv_t, ord_c, units_c, gmv_c, ord_o,
 *    gmv_o, cancelled and the plan field (an absent counter is 0), the
 *    order records but their cost, and the offer records' id, plan, tool,
 *    list price, time, expiry and converted flag.  Not compared, because
 *    they follow from decisions that a restarted daemon's rebuilt learner
 *    may take differently: the arms (only their existence), an offer's
 *    level, context, discount and price, and the seller-funded cost.
 *  - The offers topic: every offer id of the model at least once, no other
 *    id, every copy of an id identical but for the expires_at of a
 *    re-issue (the copy read last stands), the standing copy's
 *    decision-independent fields equal to the model's, its discount inside the plan's range, and
 *    the stored offer record's price equal to the emitted one; every other
 *    message of the model (promotion_deactivated) at least once, no other.
 *  - The dead-letter topic: every poison message (its partition and offset)
 *    at least once with the model's reason, nothing else, and every copy
 *    of one identical (a keyed dead letter is re-sent from its record in
 *    sp:{K}:dlq, never made again).
 *
 * Prints the figures and "check: PASS", or the first mismatches and
 * "check: FAIL"; the exit status is 0 only on PASS.
 */
#include "fault.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CHECK_SHOW 20           /* mismatches printed */
#define CHECK_SCRATCH "spfault:scratch:hll"

enum { CK_VIEWS, CK_LINES, CK_CANCELS, CK__N };

struct check_tally {
	long keys, fields, missing_keys, unexpected_keys, mismatches;
	long model_n[CK__N], redis_n[CK__N], lost[CK__N], dup[CK__N];
	long conv_model, conv_redis;
	long products, kpos_ok;
	long rec_offers, rec_orders, rec_views, hlls, sets;
	long record_price_bad;
	long o_msgs, o_distinct, o_model, o_missing, o_unexpected, o_differ;
	long o_field_bad, o_range_bad;
	long d_msgs, d_distinct, d_model, d_missing, d_unexpected, d_reason_bad;
	long d_differ, dlq_keys;
	long x_msgs, x_distinct, x_model, x_missing, x_unexpected;
};

/* What a topic carried for one id: how often, the first and last copy. */
struct check_seen {
	long count;
	json_t *first;
	json_t *last;           /* offers: the copy that stands (supersedes) */
};

struct check {
	const char *conf, *input, *offers, *dead;
	struct sp_config cfg;
	redisContext *rc;
	struct model m;
	struct strmap seen_offers;      /* offer_id -> struct check_seen * */
	struct strmap seen_dead;        /* "partition:offset" -> same */
	struct strmap seen_others;      /* canonical JSON -> same */
	struct check_tally t;
	long shown;
};

typedef void check_field_fn(struct check *c, const char *key,
    const char *field, const char *exp, const char *act);

/* Count a mismatch and print the first ones. */
static void
check_bad(struct check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
check_bad(struct check *c, const char *fmt, ...)
{
	va_list ap;

	c->t.mismatches++;
	if (c->shown++ >= CHECK_SHOW)
		return;
	fputs("check: mismatch: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* A Redis command's reply, or NULL with a message. */
static redisReply *
check_cmd(struct check *c, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(c->rc, argc, argv, NULL);

	if (r == NULL)
		fault_warnx("redis: %s", c->rc->errstr);
	else if (r->type == REDIS_REPLY_ERROR) {
		fault_warnx("redis %s: %s", argv[0], r->str);
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

/* A flat name/value array reply as a map (values point into the reply). */
static void
check_flat(const redisReply *r, struct strmap *out)
{
	strmap_init(out);
	for (size_t i = 0; r != NULL && i + 1 < r->elements; i += 2)
		if (strmap_put(out, r->element[i]->str,
		    r->element[i + 1]->str) == -1)
			fault_oom();
}

/* Call fn for every field in either map (absent: NULL). */
static void
check_union(struct check *c, const char *key, const struct strmap *exp,
    const struct strmap *act, check_field_fn *fn)
{
	size_t pos = 0;
	const char *f;
	void *v;

	while (strmap_next(exp, &pos, &f, &v))
		fn(c, key, f, v, strmap_get(act, f));
	for (pos = 0; strmap_next(act, &pos, &f, &v);)
		if (strmap_get(exp, f) == NULL)
			fn(c, key, f, NULL, v);
}

/* Exact comparison of a field. */
static void
check_exact_cb(struct check *c, const char *key, const char *field,
    const char *exp, const char *act)
{
	c->t.fields++;
	if (exp == NULL || act == NULL || strcmp(exp, act) != 0)
		check_bad(c, "%s field \"%s\": model \"%s\", redis \"%s\"", key,
		    field, exp ? exp : "(absent)", act ? act : "(absent)");
}

/* A product hash field; kpos is also tallied. */
static void
check_product_cb(struct check *c, const char *key, const char *field,
    const char *exp, const char *act)
{
	if (strcmp(field, "kpos") == 0 && exp != NULL && act != NULL &&
	    strcmp(exp, act) == 0)
		c->t.kpos_ok++;
	check_exact_cb(c, key, field, exp, act);
}

/* A day counter or the day's plan; cost is decision-dependent. */
static void
check_day_cb(struct check *c, const char *key, const char *field,
    const char *exp, const char *act)
{
	if (strcmp(field, "cost") == 0)
		return;
	if (strcmp(field, "plan") == 0) {
		check_exact_cb(c, key, field, exp, act);
		return;
	}
	c->t.fields++;
	if (strtoll(exp ? exp : "0", NULL, 10) != strtoll(act ? act : "0",
	    NULL, 10))
		check_bad(c, "%s field \"%s\": model %s, redis %s", key, field,
		    exp ? exp : "0", act ? act : "0");
}

/* A counter of a day hash map, absent 0. */
static long
check_num(const struct strmap *h, const char *field)
{
	const char *v = strmap_get(h, field);

	return v != NULL ? strtol(v, NULL, 10) : 0;
}

/* Views, order lines and cancellations counted by a day hash. */
static void
check_day_events(const struct strmap *h, long n[CK__N])
{
	n[CK_VIEWS] = check_num(h, "pv");
	n[CK_LINES] = check_num(h, "ord") + check_num(h, "cancelled");
	n[CK_CANCELS] = check_num(h, "cancelled");
}

/* Lost and doubly counted events of one day hash. */
static void
check_day(struct check *c, const char *key, const struct strmap *exp,
    const struct strmap *act)
{
	long e[CK__N], a[CK__N];

	check_union(c, key, exp, act, check_day_cb);
	check_day_events(exp, e);
	check_day_events(act, a);
	for (int i = 0; i < CK__N; i++) {
		c->t.model_n[i] += e[i];
		c->t.redis_n[i] += a[i];
		if (a[i] < e[i])
			c->t.lost[i] += e[i] - a[i];
		else
			c->t.dup[i] += a[i] - e[i];
	}
	c->t.conv_model += check_num(exp, "ord_o");
	c->t.conv_redis += check_num(act, "ord_o");
}

/* The emitted offer of an id, or NULL. */
static json_t *
check_emitted(struct check *c, const char *offer_id)
{
	struct check_seen *s = strmap_get(&c->seen_offers, offer_id);

	return s != NULL ? s->last : NULL;
}

/* The stored record's price must be the price that was emitted. */
static void
check_record_price(struct check *c, const char *key, const struct offer_rec *r)
{
	json_t *o = check_emitted(c, r->offer_id);

	if (o == NULL)
		return;         /* counted as a missing offer */
	if (json_integer_value(json_object_get(o, "offer_price")) !=
	    r->offer_price || json_integer_value(json_object_get(o,
	    "discount_bps")) != r->bps) {
		c->t.record_price_bad++;
		check_bad(c, "%s: offer \"%s\" stored at %" PRId64 " (%" PRId32
		    " bps) but emitted at %" JSON_INTEGER_FORMAT, key,
		    r->offer_id, r->offer_price, r->bps,
		    json_integer_value(json_object_get(o, "offer_price")));
	}
}

/* An offer record: its decision-independent fields. */
static void
check_offer_cb(struct check *c, const char *key, const char *field,
    const char *exp, const char *act)
{
	struct offer_rec e, a;

	c->t.rec_offers++;
	c->t.fields++;
	memset(&e, 0, sizeof(e));
	memset(&a, 0, sizeof(a));
	if (exp == NULL || act == NULL || offer_rec_parse(&e, exp) == -1 ||
	    offer_rec_parse(&a, act) == -1 ||
	    strcmp(e.offer_id, a.offer_id) != 0 ||
	    strcmp(e.plan_id, a.plan_id) != 0 || e.tool != a.tool ||
	    e.list_price != a.list_price || e.ts != a.ts ||
	    e.expires_at != a.expires_at || e.converted != a.converted) {
		check_bad(c, "%s customer \"%s\": model \"%s\", redis \"%s\"",
		    key, field, exp ? exp : "(absent)", act ? act : "(absent)");
		return;
	}
	check_record_price(c, key, &a);
}

/* An order record: everything but the seller-funded cost. */
static void
check_order_cb(struct check *c, const char *key, const char *field,
    const char *exp, const char *act)
{
	struct order_rec e, a;

	c->t.rec_orders++;
	c->t.fields++;
	memset(&e, 0, sizeof(e));
	memset(&a, 0, sizeof(a));
	if (exp == NULL || act == NULL || order_rec_parse(&e, exp) == -1 ||
	    order_rec_parse(&a, act) == -1 ||
	    strcmp(e.plan_id, a.plan_id) != 0 || strcmp(e.date, a.date) != 0 ||
	    e.group != a.group || e.lines != a.lines || e.qty != a.qty ||
	    e.gmv != a.gmv || e.lines_o != a.lines_o || e.gmv_o != a.gmv_o ||
	    e.status != a.status || e.nline_keys != a.nline_keys ||
	    memcmp(e.line_keys, a.line_keys, sizeof(e.line_keys[0]) *
	    (size_t)e.nline_keys) != 0)
		check_bad(c, "%s order \"%s\": model \"%s\", redis \"%s\"", key,
		    field, exp ? exp : "(absent)", act ? act : "(absent)");
}

/* A view record. */
static void
check_view_cb(struct check *c, const char *key, const char *field,
    const char *exp, const char *act)
{
	c->t.rec_views++;
	check_exact_cb(c, key, field, exp, act);
}

/* The kind of a per-product key ("product", "day:...") or NULL. */
static const char *
check_kind(const struct check *c, const char *name)
{
	const char *s = name + strlen(c->cfg.redis.key_prefix), *e;

	if (*s != '{' || (e = strstr(s, "}:")) == NULL)
		return NULL;
	return e + 2;
}

/* Compare one hash key of the model with Redis. */
static void
check_hash(struct check *c, const char *name, const struct model_key *k)
{
	const char *argv[2] = { "HGETALL", name };
	const char *kind = check_kind(c, name);
	redisReply *r = check_cmd(c, 2, argv);
	struct strmap act;

	check_flat(r, &act);
	if (r != NULL && r->elements == 0 && (kind == NULL ||
	    strncmp(kind, "day:", 4) != 0)) {
		c->t.missing_keys++;
		check_bad(c, "%s: missing in redis", name);
	} else if (kind == NULL)
		check_union(c, name, &k->f, &act, check_exact_cb);
	else if (strcmp(kind, "product") == 0) {
		c->t.products++;
		check_union(c, name, &k->f, &act, check_product_cb);
	} else if (strcmp(kind, "offers") == 0)
		check_union(c, name, &k->f, &act, check_offer_cb);
	else if (strcmp(kind, "orders") == 0)
		check_union(c, name, &k->f, &act, check_order_cb);
	else if (strcmp(kind, "views") == 0)
		check_union(c, name, &k->f, &act, check_view_cb);
	else if (strncmp(kind, "day:", 4) == 0)
		check_day(c, name, &k->f, &act);
	strmap_release(&act);
	freeReplyObject(r);
}

/* A set (sp:buyers:<shop>): the same members. */
static void
check_set(struct check *c, const char *name, const struct model_key *k)
{
	const char *argv[2] = { "SMEMBERS", name };
	redisReply *r = check_cmd(c, 2, argv);
	struct strmap act;

	c->t.sets++;
	strmap_init(&act);
	for (size_t i = 0; r != NULL && i < r->elements; i++)
		if (strmap_put(&act, r->element[i]->str, "") == -1)
			fault_oom();
	check_union(c, name, &k->f, &act, check_exact_cb);
	strmap_release(&act);
	freeReplyObject(r);
}

/* PFCOUNT of a key, -1 on error. */
static long long
check_pfcount(struct check *c, const char *name)
{
	const char *argv[2] = { "PFCOUNT", name };
	redisReply *r = check_cmd(c, 2, argv);
	long long n = r != NULL ? r->integer : -1;

	freeReplyObject(r);
	return n;
}

/* A HyperLogLog: the model's members PFADDed afresh give the same count. */
static void
check_hll(struct check *c, const char *name, const struct model_key *k)
{
	const char *argv[3] = { "PFADD", CHECK_SCRATCH, NULL };
	const char *del[2] = { "DEL", CHECK_SCRATCH };
	size_t pos = 0;
	const char *member;
	void *v;
	long long e, a;

	c->t.hlls++;
	c->t.fields++;
	freeReplyObject(check_cmd(c, 2, del));
	while (strmap_next(&k->f, &pos, &member, &v)) {
		argv[2] = member;
		freeReplyObject(check_cmd(c, 3, argv));
	}
	e = check_pfcount(c, CHECK_SCRATCH);
	a = check_pfcount(c, name);
	freeReplyObject(check_cmd(c, 2, del));
	if (e != a || e < 0)
		check_bad(c, "%s: PFCOUNT model %lld, redis %lld", name, e, a);
}

/* Does the key exist in Redis? */
static int
check_exists(struct check *c, const char *name)
{
	const char *argv[2] = { "EXISTS", name };
	redisReply *r = check_cmd(c, 2, argv);
	int n = r != NULL && r->integer == 1;

	freeReplyObject(r);
	return n;
}

/* Every key of the model against Redis. */
static void
check_keys(struct check *c)
{
	size_t pos = 0;
	const char *name, *kind;
	void *v;

	while (strmap_next(&c->m.keys, &pos, &name, &v)) {
		const struct model_key *k = v;

		kind = check_kind(c, name);
		/* the outbox holds a batch's messages only until they are
		 * delivered: the offers topic is checked instead */
		if (kind != NULL && strcmp(kind, "outbox") == 0)
			continue;
		c->t.keys++;
		if (kind != NULL && strcmp(kind, "arms") == 0) {
			if (!check_exists(c, name)) {
				c->t.missing_keys++;
				check_bad(c, "%s: missing in redis", name);
			}
		} else if (k->type == 'h')
			check_hash(c, name, k);
		else if (k->type == 's')
			check_set(c, name, k);
		else
			check_hll(c, name, k);
	}
}

/*
 * Is a key of Redis one the model must know?  The per-product keys, the
 * buyers sets and the shops' catalog sets are effects of events; plans,
 * shop figures, segments and snapshots are not modelled.
 */
static int
check_owned(const struct check *c, const char *name)
{
	const char *s = name + strlen(c->cfg.redis.key_prefix);
	size_t n = strlen(s);

	return s[0] == '{' || strncmp(s, "buyers:", 7) == 0 ||
	    strcmp(s, "shops") == 0 || (strncmp(s, "shop:", 5) == 0 &&
	    n > 9 && strcmp(s + n - 9, ":products") == 0);
}

/* Keys in Redis the model does not have. */
static void
check_unexpected(struct check *c)
{
	char cursor[32] = "0", match[128];
	const char *argv[6] = { "SCAN", cursor, "MATCH", match, "COUNT",
	    "1000" };
	redisReply *r;

	snprintf(match, sizeof(match), "%s*", c->cfg.redis.key_prefix);
	do {
		if ((r = check_cmd(c, 6, argv)) == NULL || r->elements != 2)
			break;
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const char *k = r->element[1]->element[i]->str;

			size_t kl = strlen(k);

			if (kl > 7 && strcmp(k + kl - 7, ":outbox") == 0)
				continue;       /* transient, see check_keys */
			if (kl > 4 && strcmp(k + kl - 4, ":dlq") == 0) {
				c->t.dlq_keys++;        /* dead-letter slots */
				continue;
			}
			if (check_owned(c, k) && strmap_get(&c->m.keys,
			    k) == NULL) {
				c->t.unexpected_keys++;
				check_bad(c, "%s: in redis, not in the model", k);
			}
		}
		freeReplyObject(r);
		r = NULL;
	} while (strcmp(cursor, "0") != 0);
	freeReplyObject(r);
}

/* ---- topics ------------------------------------------------------------- */

/*
 * The identity of a topic message (malloc'd) and the map it goes to: a
 * dead letter by "partition:offset", an offer by its id, another message
 * of the offers topic by its canonical text; NULL if it is none of them.
 */
static char *
check_identity(struct check *c, json_t *j, const char *line, int dead,
    struct strmap **seen)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *id = json_string_value(json_object_get(j, "offer_id"));
	char key[64];

	if (j == NULL || type == NULL)
		return NULL;
	if (dead) {
		snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT ":%"
		    JSON_INTEGER_FORMAT, json_integer_value(json_object_get(j,
		    "partition")), json_integer_value(json_object_get(j,
		    "offset")));
		*seen = &c->seen_dead;
		return strcmp(type, "dead_letter") == 0 ? fault_strdup(key) :
		    NULL;
	}
	if (strcmp(type, "offer") == 0) {
		*seen = &c->seen_offers;
		return id != NULL ? fault_strdup(id) : NULL;
	}
	*seen = &c->seen_others;
	return model_canonical(line);
}

/*
 * Nonzero when offer b re-issues offer a: the same message but for
 * expires_at (an offer ended at a campaign's start is sent again under
 * its id, docs/events.md); the copy read last is the one that stands.
 */
static int
check_supersedes(json_t *a, json_t *b)
{
	json_t *x = json_deep_copy(b);
	int same;

	if (x == NULL)
		fault_oom();
	json_object_set(x, "expires_at", json_object_get(a, "expires_at"));
	same = json_equal(a, x);
	json_decref(x);
	return same;
}

/* Count one copy of a message under its identity. */
static void
check_seen_add(struct check *c, struct strmap *seen, const char *id,
    json_t *j)
{
	struct check_seen *s = strmap_get(seen, id);

	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    strmap_put(seen, id, s) == -1)
			fault_oom();
		s->first = json_incref(j);
	} else if (seen == &c->seen_offers && !json_equal(s->first, j) &&
	    !check_supersedes(s->first, j)) {
		c->t.o_differ++;
		check_bad(c, "offer \"%s\" emitted twice, differently", id);
	} else if (seen == &c->seen_dead && !json_equal(s->first, j)) {
		c->t.d_differ++;
		check_bad(c, "dead letter %s emitted twice, differently", id);
	}
	s->count++;
	if (seen == &c->seen_offers) {
		json_decref(s->last);
		s->last = json_incref(j);
	}
	if (seen == &c->seen_offers)
		c->t.o_msgs++;
	else if (seen == &c->seen_others)
		c->t.x_msgs++;
	else
		c->t.d_msgs++;
}

/* Read a topic dump (one JSON value per line) into identity -> copies. */
static int
check_read_topic(struct check *c, const char *path, int dead)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, *id;
	size_t cap = 0;
	struct strmap *seen = NULL;

	if (fp == NULL) {
		fault_warnx("cannot read \"%s\"", path);
		return -1;
	}
	while (fault_getline(&line, &cap, fp) >= 0) {
		json_t *j = json_loads(line, 0, NULL);

		if ((id = check_identity(c, j, line, dead, &seen)) == NULL)
			check_bad(c, "%s: not an offer or dead letter: %.200s",
			    path, line);
		else
			check_seen_add(c, seen, id, j);
		free(id);
		json_decref(j);
	}
	free(line);
	fclose(fp);
	return 0;
}

/* A string field of a JSON object, "" when absent. */
static const char *
check_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* An offer's discount is inside its plan's range for the product. */
static void
check_range(struct check *c, const char *id, json_t *o)
{
	const struct plan *p = model_plan_by_id(&c->m, check_str(o,
	    "plan_id"));
	json_int_t list = json_integer_value(json_object_get(o, "list_price"));
	json_int_t price = json_integer_value(json_object_get(o,
	    "offer_price"));
	json_int_t bps = json_integer_value(json_object_get(o, "discount_bps"));
	int32_t lo, hi;

	if (p == NULL || list <= 0) {
		c->t.o_range_bad++;
		check_bad(c, "offer \"%s\": no plan or no list price", id);
		return;
	}
	plan_range_for(p, check_str(o, "product_id"), &lo, &hi);
	if ((list - price) * 10000 < (json_int_t)lo * list ||
	    (list - price) * 10000 > (json_int_t)hi * list ||
	    bps != (list - price) * 10000 / list) {
		c->t.o_range_bad++;
		check_bad(c, "offer \"%s\": price %" JSON_INTEGER_FORMAT " of %"
		    JSON_INTEGER_FORMAT " outside %d-%d bps", id, price, list,
		    lo, hi);
	}
}

/* The emitted offer against the model's, decision fields aside. */
static void
check_offer_fields(struct check *c, const char *id, json_t *model, json_t *got)
{
	const char *k;
	json_t *v;

	json_object_foreach(model, k, v) {
		if (strcmp(k, "offer_price") == 0 ||
		    strcmp(k, "discount_bps") == 0)
			continue;
		if (!json_equal(v, json_object_get(got, k))) {
			c->t.o_field_bad++;
			check_bad(c, "offer \"%s\" field \"%s\" differs from "
			    "the model", id, k);
			return;
		}
	}
	if (json_object_size(model) != json_object_size(got)) {
		c->t.o_field_bad++;
		check_bad(c, "offer \"%s\" has other fields than the model's",
		    id);
	}
}

/* The offers topic against the model. */
static void
check_offers(struct check *c)
{
	size_t pos = 0;
	const char *id;
	void *v;

	while (strmap_next(&c->m.offers, &pos, &id, &v)) {
		json_t *model = json_loads(v, 0, NULL), *got;

		c->t.o_model++;
		if ((got = check_emitted(c, id)) == NULL) {
			c->t.o_missing++;
			check_bad(c, "offer \"%s\" never emitted", id);
		} else
			check_offer_fields(c, id, model, got);
		json_decref(model);
	}
	for (pos = 0; strmap_next(&c->seen_offers, &pos, &id, &v);) {
		c->t.o_distinct++;
		check_range(c, id, ((struct check_seen *)v)->first);
		if (strmap_get(&c->m.offers, id) == NULL) {
			c->t.o_unexpected++;
			check_bad(c, "offer \"%s\" emitted, not in the model", id);
		}
	}
}

/* The other messages of the offers topic against the model. */
static void
check_others(struct check *c)
{
	size_t pos = 0;
	const char *key;
	void *v;

	while (strmap_next(&c->m.others, &pos, &key, &v)) {
		c->t.x_model++;
		if (strmap_get(&c->seen_others, key) == NULL) {
			c->t.x_missing++;
			check_bad(c, "never emitted: %.300s", (char *)v);
		}
	}
	for (pos = 0; strmap_next(&c->seen_others, &pos, &key, &v);) {
		c->t.x_distinct++;
		if (strmap_get(&c->m.others, key) == NULL) {
			c->t.x_unexpected++;
			check_bad(c, "emitted, not in the model: %.300s", key);
		}
	}
}

/* The dead-letter topic against the model. */
static void
check_dead(struct check *c)
{
	size_t pos = 0;
	const char *key;
	void *v;

	while (strmap_next(&c->m.dead, &pos, &key, &v)) {
		struct check_seen *s = strmap_get(&c->seen_dead, key);
		const char *reason = s ? json_string_value(json_object_get(
		    s->first, "reason")) : NULL;
		const char *topic = s ? json_string_value(json_object_get(
		    s->first, "topic")) : NULL;

		c->t.d_model++;
		if (s == NULL) {
			c->t.d_missing++;
			check_bad(c, "dead letter %s (\"%s\") never emitted",
			    key, (char *)v);
		} else if (reason == NULL || strcmp(reason, v) != 0 ||
		    topic == NULL || strcmp(topic, c->cfg.kafka.input_topic)) {
			c->t.d_reason_bad++;
			check_bad(c, "dead letter %s: reason \"%s\", model \"%s\"",
			    key, reason ? reason : "", (char *)v);
		}
	}
	for (pos = 0; strmap_next(&c->seen_dead, &pos, &key, &v);) {
		c->t.d_distinct++;
		if (strmap_get(&c->m.dead, key) == NULL) {
			c->t.d_unexpected++;
			check_bad(c, "dead letter %s emitted, not in the model",
			    key);
		}
	}
}

/* ---- report ------------------------------------------------------------- */

/* The figures. */
static void
check_print(const struct check *c)
{
	const struct check_tally *t = &c->t;
	const struct model_input *in = &c->m.in;
	static const char *const what[CK__N] = { "page views", "order lines",
	    "cancellations and refunds" };

	printf("check: input %ld messages on %d partitions (offset gaps %ld): "
	    "%ld events, %ld poison; %ld page views, %ld order lines, %ld "
	    "order updates, %ld catalog; %zu plans\n", in->messages,
	    in->partitions, in->gaps, in->events, in->poison,
	    in->by_type[EV_PAGE_VIEW], in->by_type[EV_ORDER],
	    in->by_type[EV_ORDER_UPDATE], in->by_type[EV_PRODUCT],
	    c->m.nplans);
	for (int i = 0; i < CK__N; i++)
		printf("check: %s counted: model %ld, redis %ld; lost %ld, "
		    "counted twice %ld\n", what[i], t->model_n[i], t->redis_n[i],
		    t->lost[i], t->dup[i]);
	printf("check: order lines that used an offer (ord_o): model %ld, "
	    "redis %ld\n", t->conv_model, t->conv_redis);
	printf("check: products at their last input position (kpos): %ld of "
	    "%ld\n", t->kpos_ok, t->products);
	printf("check: redis keys compared %ld, fields %ld (offer records %ld, "
	    "order records %ld, view records %ld, HyperLogLogs %ld, sets "
	    "of buyers and shop catalogs %ld); missing keys %ld, unexpected keys %ld\n", t->keys,
	    t->fields, t->rec_offers, t->rec_orders, t->rec_views, t->hlls,
	    t->sets, t->missing_keys, t->unexpected_keys);
	printf("check: offers: model %ld ids; topic %ld messages, %ld distinct "
	    "ids (%ld extra copies); missing %ld, unexpected %ld, copies that "
	    "differ %ld, fields unlike the model %ld, outside the plan range "
	    "%ld, stored price unlike the emitted one %ld\n", t->o_model,
	    t->o_msgs, t->o_distinct, t->o_msgs - t->o_distinct, t->o_missing,
	    t->o_unexpected, t->o_differ, t->o_field_bad, t->o_range_bad,
	    t->record_price_bad);
	printf("check: other messages on the offers topic "
	    "(promotion_deactivated): model %ld; topic %ld messages, %ld "
	    "distinct; missing %ld, unexpected %ld\n", t->x_model, t->x_msgs,
	    t->x_distinct, t->x_missing, t->x_unexpected);
	printf("check: dead letters: model %ld; topic %ld messages, %ld "
	    "distinct; missing %ld, unexpected %ld, wrong reason %ld, copies "
	    "that differ %ld; %ld dead-letter slots in redis\n",
	    t->d_model, t->d_msgs, t->d_distinct, t->d_missing,
	    t->d_unexpected, t->d_reason_bad, t->d_differ, t->dlq_keys);
	printf("check: mismatches %ld\n", t->mismatches);
}

/* Nothing lost, doubled, missing or unexpected? */
static int
check_passed(const struct check *c)
{
	const struct check_tally *t = &c->t;
	long bad = t->mismatches + c->m.in.gaps;

	for (int i = 0; i < CK__N; i++)
		bad += t->lost[i] + t->dup[i];
	return bad == 0 && t->kpos_ok == t->products &&
	    t->conv_model == t->conv_redis;
}

/* ---- main --------------------------------------------------------------- */

/* Parse the options. */
static int
check_args(int argc, char **argv, struct check *c)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-c") == 0)
			c->conf = argv[i + 1];
		else if (strcmp(argv[i], "--input") == 0)
			c->input = argv[i + 1];
		else if (strcmp(argv[i], "--offers") == 0)
			c->offers = argv[i + 1];
		else if (strcmp(argv[i], "--dead") == 0)
			c->dead = argv[i + 1];
		else
			return -1;
	}
	return argc % 2 == 1 && c->conf && c->input && c->offers && c->dead ?
	    0 : -1;
}

/* Read the daemon's config and connect to its Redis. */
static int
check_setup(struct check *c)
{
	struct config_errors errs = { 0 };
	char err[512];

	if (config_load(&c->cfg, c->conf, &errs) == -1) {
		for (size_t i = 0; i < errs.count; i++)
			fault_warnx("%s", errs.msg[i]);
		config_errors_release(&errs);
		return -1;
	}
	c->rc = redisConnect(c->cfg.redis.host, c->cfg.redis.port);
	if (c->rc == NULL || c->rc->err) {
		fault_warnx("redis %s:%d: %s", c->cfg.redis.host,
		    c->cfg.redis.port, c->rc ? c->rc->errstr : "out of memory");
		return -1;
	}
	freeReplyObject(redisCommand(c->rc, "SELECT %d", c->cfg.redis.db));
	if (model_init(&c->m, &c->cfg, c->rc, err, sizeof(err)) == -1 ||
	    model_replay(&c->m, c->input, err, sizeof(err)) == -1) {
		fault_warnx("model: %s", err);
		return -1;
	}
	return 0;
}

/* Free what the topic maps hold. */
static void
check_free_seen(struct strmap *m)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (strmap_next(m, &pos, &k, &v)) {
		json_decref(((struct check_seen *)v)->first);
		json_decref(((struct check_seen *)v)->last);
		free(v);
	}
	strmap_release(m);
}

/* spfault check: model, compare, print the figures. */
int
check_main(int argc, char **argv)
{
	struct check *c = calloc(1, sizeof(*c));
	int rc = 1;

	if (c == NULL)
		fault_oom();
	strmap_init(&c->seen_offers);
	strmap_init(&c->seen_dead);
	strmap_init(&c->seen_others);
	if (check_args(argc, argv, c) == -1) {
		fprintf(stderr, "usage: spfault check -c CONF --input FILE "
		    "--offers FILE --dead FILE\n");
		free(c);
		return 2;
	}
	if (check_setup(c) == 0 &&
	    check_read_topic(c, c->offers, 0) == 0 &&
	    check_read_topic(c, c->dead, 1) == 0) {
		check_offers(c);
		check_others(c);
		check_dead(c);
		check_keys(c);
		check_unexpected(c);
		check_print(c);
		rc = check_passed(c) ? 0 : 1;
		printf("check: %s\n", rc == 0 ? "PASS" : "FAIL");
	}
	check_free_seen(&c->seen_offers);
	check_free_seen(&c->seen_dead);
	check_free_seen(&c->seen_others);
	model_release(&c->m);
	if (c->rc != NULL)
		redisFree(c->rc);
	free(c);
	return rc;
}
