/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plans.c - plan registry in memory, persisted to Redis.
 */
#include "plans.h"
#include "clock.h"
#include "log.h"
#include "pacing.h"
#include "strmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct plans {
	struct store *st;
	struct strmap by_id;
	struct strmap by_product;       /* product -> struct plans_link list
					   of the active plans enrolling it
					   (windows that do not overlap) */
	struct plan **all;
	size_t n, cap;
};

/* One asynchronous operation: a count of outstanding replies. */
struct plans_op {
	struct plans *ps;
	plans_done_cb *cb;
	void *arg;
	int pending;
	int failed;
	char err[256];
	struct plan *plan;      /* create: undone on failure */
};

/* An empty registry. */
struct plans *
plans_new(struct store *st)
{
	struct plans *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	ps->st = st;
	strmap_init(&ps->by_id);
	strmap_init(&ps->by_product);
	return ps;
}

static void plans_index_free(struct plans *ps);

/* Drop every plan. */
static void
plans_clear(struct plans *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		plan_release(ps->all[i]);
		free(ps->all[i]);
	}
	ps->n = 0;
	strmap_release(&ps->by_id);
	plans_index_free(ps);
}

/* Free the registry and its plans. */
void
plans_free(struct plans *ps)
{
	if (ps == NULL)
		return;
	plans_clear(ps);
	free(ps->all);
	free(ps);
}

struct plans_link {
	struct plan *plan;
	struct plans_link *next;
};

/* Nonzero if the product's list already holds p. */
static int
plans_linked(const struct plans_link *l, const struct plan *p)
{
	for (; l != NULL; l = l->next)
		if (l->plan == p)
			return 1;
	return 0;
}

/* Index the products of an active plan. */
static void
plans_index(struct plans *ps, struct plan *p)
{
	if (p->status != PLAN_ACTIVE)
		return;
	for (size_t i = 0; i < p->nproducts; i++) {
		struct plans_link *head, *l;

		if (!plan_has_product(p, p->products[i]))
			continue;
		head = strmap_get(&ps->by_product, p->products[i]);
		if (plans_linked(head, p))
			continue;
		if ((l = malloc(sizeof(*l))) == NULL)
			fatalx("out of memory");
		*l = (struct plans_link){ p, head };
		if (strmap_put(&ps->by_product, p->products[i], l) == -1)
			fatalx("out of memory");
	}
}

/* Remove a plan from a product's list. */
static void
plans_unlink(struct plans *ps, const char *product_id, const struct plan *p)
{
	struct plans_link *head = strmap_get(&ps->by_product, product_id);
	struct plans_link **pp = &head, *l;

	while ((l = *pp) != NULL && l->plan != p)
		pp = &l->next;
	if (l == NULL)
		return;
	*pp = l->next;
	free(l);
	if (head == NULL)
		strmap_del(&ps->by_product, product_id);
	else
		strmap_put(&ps->by_product, product_id, head);
}

/* Remove a plan's products from the index. */
static void
plans_unindex(struct plans *ps, struct plan *p)
{
	for (size_t i = 0; i < p->nproducts; i++)
		plans_unlink(ps, p->products[i], p);
}

/* Free the index's lists. */
static void
plans_index_free(struct plans *ps)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (strmap_next(&ps->by_product, &pos, &k, &v))
		while (v != NULL) {
			struct plans_link *l = v;

			v = l->next;
			free(l);
		}
	strmap_release(&ps->by_product);
}

/* Add to memory, newest first by creation time. */
static int
plans_insert(struct plans *ps, struct plan *p)
{
	size_t i;

	if (ps->n == ps->cap) {
		size_t nc = ps->cap ? ps->cap * 2 : 16;
		struct plan **na = realloc(ps->all, nc * sizeof(*na));

		if (na == NULL)
			return -1;
		ps->all = na;
		ps->cap = nc;
	}
	for (i = 0; i < ps->n && ps->all[i]->created_ms >= p->created_ms; i++)
		;
	memmove(&ps->all[i + 1], &ps->all[i], (ps->n - i) * sizeof(*ps->all));
	ps->all[i] = p;
	ps->n++;
	if (strmap_put(&ps->by_id, p->plan_id, p) == -1)
		return -1;
	plans_index(ps, p);
	return 0;
}

/* Take a plan out of memory (not freed). */
static void
plans_remove(struct plans *ps, struct plan *p)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->all[i] == p) {
			memmove(&ps->all[i], &ps->all[i + 1],
			    (ps->n - i - 1) * sizeof(*ps->all));
			ps->n--;
			break;
		}
	strmap_del(&ps->by_id, p->plan_id);
	plans_unindex(ps, p);
}

/* Lookups. */
struct plan *
plans_get(struct plans *ps, const char *id)
{
	return strmap_get(&ps->by_id, id);
}

/* The active plan enrolling the product at event time ts: the one whose
 * window holds ts, else the nearest one to come, else the latest. */
struct plan *
plans_for_product_at(struct plans *ps, const char *product_id, int64_t ts)
{
	struct plans_link *l = strmap_get(&ps->by_product, product_id);
	struct plan *next = NULL, *last = NULL;

	for (; l != NULL; l = l->next) {
		struct plan *p = l->plan;

		if (p->start_ms <= ts && ts < p->end_ms)
			return p;
		if (p->start_ms > ts && (next == NULL ||
		    p->start_ms < next->start_ms))
			next = p;
		if (last == NULL || p->end_ms > last->end_ms)
			last = p;
	}
	return next != NULL ? next : last;
}

/* The active plan enrolling the product now (wall clock). */
struct plan *
plans_for_product(struct plans *ps, const char *product_id)
{
	return plans_for_product_at(ps, product_id, clock_now_ms());
}

size_t
plans_all(struct plans *ps, struct plan *const **out)
{
	*out = ps->all;
	return ps->n;
}

int
plans_active(const struct plans *ps)
{
	int n = 0;

	for (size_t i = 0; i < ps->n; i++)
		n += ps->all[i]->status == PLAN_ACTIVE;
	return n;
}

/* A random id. */
void
plans_new_id(char *buf, size_t len)
{
	unsigned char r[6];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		fatal("getrandom");
	snprintf(buf, len, "pl-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
	    r[3], r[4], r[5]);
}

/* A new operation. */
static struct plans_op *
plans_op_new(struct plans *ps, plans_done_cb *cb, void *arg)
{
	struct plans_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->ps = ps;
	op->cb = cb;
	op->arg = arg;
	op->pending = 1;        /* the creator's hold, see plans_op_settle */
	return op;
}

/* Drop one hold on a write operation; the last one finishes it. */
static void
plans_op_unref(struct plans_op *op)
{
	if (--op->pending > 0)
		return;
	if (op->failed && op->plan != NULL) {
		plans_remove(op->ps, op->plan);
		plan_release(op->plan);
		free(op->plan);
	}
	if (op->cb != NULL)
		op->cb(!op->failed, op->err, op->arg);
	free(op);
}

/* One reply of a write operation. */
static void
plans_write_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct plans_op *op = priv;
	redisReply *reply = r;

	(void)ac;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		op->failed = 1;
		snprintf(op->err, sizeof(op->err), "redis: %s",
		    reply ? reply->str : "connection lost");
	}
	plans_op_unref(op);
}

/* Queue one command of an operation. */
static void
plans_send(struct plans_op *op, int argc, const char **argv)
{
	if (store_command(op->ps->st, plans_write_cb, op, argc, argv,
	    NULL) == 0)
		op->pending++;
	else {
		op->failed = 1;
		snprintf(op->err, sizeof(op->err), "redis is not connected");
	}
}

/* HSET product plan_id for every enrolled product. */
static void
plans_send_products(struct plans_op *op, const struct plan *p,
    const char *value)
{
	char key[300];

	for (size_t i = 0; i < p->nproducts; i++) {
		const char *argv[4] = { "HSET", store_key(op->ps->st, key,
		    sizeof(key), "{%s}:product", p->products[i]), "plan_id",
		    value };

		plans_send(op, 4, argv);
	}
}

/* HSET sp:plan:<id> with every field. */
static int
plans_send_plan(struct plans_op *op, const struct plan *p)
{
	char **names, **values, key[128];
	int n = plan_to_fields(p, &names, &values);
	const char **argv;

	if (n < 0 || (argv = calloc((size_t)n * 2 + 2, sizeof(*argv))) == NULL) {
		if (n >= 0)
			plan_fields_release(names, values, n);
		return -1;
	}
	argv[0] = "HSET";
	argv[1] = store_key(op->ps->st, key, sizeof(key), "plan:%s",
	    p->plan_id);
	for (int i = 0; i < n; i++) {
		argv[2 + 2 * i] = names[i];
		argv[3 + 2 * i] = values[i];
	}
	plans_send(op, n * 2 + 2, argv);
	free(argv);
	plan_fields_release(names, values, n);
	return 0;
}

/* Release the creator's hold once every command is queued. */
static void
plans_op_settle(struct plans_op *op)
{
	plans_op_unref(op);
}

/* The first enrolled product already in an active plan whose window
 * overlaps p's, or NULL. */
static const char *
plans_overlap(struct plans *ps, const struct plan *p, struct plan **other)
{
	for (size_t i = 0; i < p->nproducts; i++) {
		const struct plans_link *l;

		if (!plan_has_product(p, p->products[i]))
			continue;
		for (l = strmap_get(&ps->by_product, p->products[i]); l != NULL;
		    l = l->next)
			if (l->plan->end_ms > p->start_ms &&
			    l->plan->start_ms < p->end_ms) {
				*other = l->plan;
				return p->products[i];
			}
	}
	return NULL;
}

/* The 409 rules a new plan must pass: no product in another active plan
 * in the same period, one segment plan per segment per shop. */
int
plans_check(struct plans *ps, const struct plan *p, int *status, char *err,
    size_t errlen)
{
	struct plan *other = NULL;
	const char *dup = plans_overlap(ps, p, &other);

	if (dup != NULL) {
		*status = 409;
		snprintf(err, errlen, "product \"%s\" is already in active "
		    "plan \"%s\"", dup, other->plan_id);
		return -1;
	}
	for (unsigned bit = 1; bit <= SEG_NEWLY_LISTED; bit <<= 1)
		if ((p->segments & bit) &&
		    (other = plans_for_segment(ps, p->shop_id, bit)) != NULL) {
			*status = 409;
			snprintf(err, errlen, "shop \"%s\" already has active "
			    "plan \"%s\" for segment \"%s\"", p->shop_id,
			    other->plan_id, plan_segment_name(bit));
			return -1;
		}
	return 0;
}

/* Register and persist a new plan. */
int
plans_create(struct plans *ps, struct plan *p, plans_done_cb *cb, void *arg,
    int *status, char *err, size_t errlen)
{
	struct plans_op *op;
	char key[128];

	if (plans_check(ps, p, status, err, errlen) == -1)
		return -1;
	if (!store_up(ps->st) || (op = plans_op_new(ps, cb, arg)) == NULL) {
		*status = 503;
		snprintf(err, errlen, "the store is not available");
		return -1;
	}
	if (plans_insert(ps, p) == -1)
		fatalx("out of memory");
	op->plan = p;
	if (plans_send_plan(op, p) == 0) {
		const char *argv[3] = { "SADD", store_key(ps->st, key,
		    sizeof(key), "plans"), p->plan_id };

		plans_send(op, 3, argv);
		plans_send_products(op, p, p->plan_id);
	} else
		op->failed = 1;
	log_info("plan \"%s\" created for shop \"%s\": %zu products, %.2f-%.2f%%",
	    p->plan_id, p->shop_id, p->nproducts, p->min_bps / 100.0,
	    p->max_bps / 100.0);
	plans_op_settle(op);
	return 0;
}

/* Whether a product may join p: not excluded, not a member, free. */
static int
plans_may_join(struct plans *ps, const struct plan *p, const char *id)
{
	return strmap_get(&p->xindex, id) == NULL &&
	    !plan_has_product(p, id) && plans_for_product(ps, id) == NULL;
}

/* Enroll new members in a segment plan and persist them. */
int
plans_enroll(struct plans *ps, struct plan *p, const char *const *ids,
    size_t n, plans_done_cb *cb, void *arg)
{
	const char **all = calloc(p->nproducts + n + 1, sizeof(*all));
	struct plans_op *op;
	size_t m = 0, joined = 0;
	char err[256];

	if (all == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < p->nproducts; i++)
		all[m++] = p->products[i];
	for (size_t i = 0; i < n; i++)
		if (plans_may_join(ps, p, ids[i])) {
			all[m++] = ids[i];
			joined++;
		}
	if (joined == 0 || !store_up(ps->st)) {
		free(all);
		if (joined > 0)
			return -1;
		if (cb != NULL)
			cb(1, "", arg);
		return 0;
	}
	if (plan_set_products(p, all, m, err, sizeof(err)) == -1)
		fatalx("plan \"%s\": %s", p->plan_id, err);
	free(all);
	plans_index(ps, p);
	if ((op = plans_op_new(ps, cb, arg)) == NULL)
		fatalx("out of memory");
	if (plans_send_plan(op, p) == -1)
		op->failed = 1;
	plans_send_products(op, p, p->plan_id);
	log_info("plan \"%s\": %zu products joined from its segments",
	    p->plan_id, joined);
	plans_op_settle(op);
	return (int)joined;
}

/* The active segment plan of a shop for a segment. */
struct plan *
plans_for_segment(struct plans *ps, const char *shop_id, unsigned bit)
{
	for (size_t i = 0; i < ps->n; i++) {
		struct plan *p = ps->all[i];

		if (p->status == PLAN_ACTIVE && (p->segments & bit) &&
		    strcmp(p->shop_id, shop_id) == 0)
			return p;
	}
	return NULL;
}

/* Mark a plan ended in memory. */
static void
plans_mark_ended(struct plans *ps, struct plan *p, const char *reason,
    int64_t now_ms)
{
	p->status = PLAN_ENDED;
	p->ended_ms = now_ms;
	snprintf(p->end_reason, sizeof(p->end_reason), "%s", reason);
	plans_unindex(ps, p);
	log_info("plan \"%s\" ended: %s", p->plan_id, reason);
}

/* Persist an ended plan. */
static void
plans_persist_end(struct plans *ps, struct plan *p, plans_done_cb *cb,
    void *arg)
{
	struct plans_op *op = plans_op_new(ps, cb, arg);

	if (op == NULL)
		fatalx("out of memory");
	if (plans_send_plan(op, p) == -1)
		op->failed = 1;
	plans_send_products(op, p, "");
	plans_op_settle(op);
}

/* End a plan now. */
int
plans_end(struct plans *ps, const char *id, const char *reason,
    int64_t now_ms, plans_done_cb *cb, void *arg, int *status, char *err,
    size_t errlen)
{
	struct plan *p = plans_get(ps, id);

	if (p == NULL) {
		*status = 404;
		snprintf(err, errlen, "no plan \"%s\"", id);
		return -1;
	}
	if (p->status != PLAN_ACTIVE) {
		*status = 409;
		snprintf(err, errlen, "plan \"%s\" has already ended", id);
		return -1;
	}
	if (!store_up(ps->st)) {
		*status = 503;
		snprintf(err, errlen, "the store is not available");
		return -1;
	}
	plans_mark_ended(ps, p, reason, now_ms);
	plans_persist_end(ps, p, cb, arg);
	return 0;
}

/* Log a failed background write. */
static void
plans_bg_cb(int ok, const char *err, void *arg)
{
	(void)arg;
	if (!ok)
		log_warnx("plans: cannot persist: %s", err);
}

/* End plans whose time is up. */
void
plans_expire(struct plans *ps, int64_t now_ms)
{
	for (size_t i = 0; i < ps->n; i++) {
		struct plan *p = ps->all[i];

		if (p->status == PLAN_ACTIVE && now_ms >= p->end_ms &&
		    store_up(ps->st)) {
			plans_mark_ended(ps, p, "completed", now_ms);
			plans_persist_end(ps, p, plans_bg_cb, NULL);
		}
	}
}

/* ---- budgets ------------------------------------------------------------ */

struct plans_cost {
	struct plans_op *op;
	struct plan *plan;
	char plan_id[PLAN_ID_MAX];
	int today;              /* the reply is today's cost */
	int64_t day;
};

/* A product-day or reservations reply is in: count it towards the op. */
static void
plans_cost_done(redisAsyncContext *ac, redisReply *reply, struct plans_cost *c)
{
	plans_write_cb(ac, reply == NULL || reply->type == REDIS_REPLY_ERROR ?
	    reply : &(redisReply){ .type = REDIS_REPLY_STATUS }, c->op);
	free(c);
}

/* Send one read of the budget refresh of plan p; its reply goes to fn. */
static void
plans_cost_ask(struct plans_op *op, struct plan *p, int today, int64_t day,
    redisCallbackFn *fn, const char **argv)
{
	struct plans_cost *c = calloc(1, sizeof(*c));

	if (c == NULL)
		fatalx("out of memory");
	*c = (struct plans_cost){ op, p, "", today, day };
	snprintf(c->plan_id, sizeof(c->plan_id), "%s", p->plan_id);
	if (store_command(op->ps->st, fn, c, 3, argv, NULL) == 0)
		op->pending++;
	else
		free(c);
}

/* One product-day cost. */
static void
plans_cost_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct plans_cost *c = priv;
	redisReply *reply = r;
	int64_t v;

	(void)ac;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING &&
	    plans_get(c->op->ps, c->plan_id) == c->plan) {
		v = strtoll(reply->str, NULL, 10);
		c->plan->rt.budget_day = c->day;
		if (c->today)
			c->plan->rt.spent_today += v;
		else
			c->plan->rt.spent_before += v;
	}
	plans_cost_done(ac, r, c);
}

/* The plan's kept reservations (sp:plan:<id>:budget resv). */
static void
plans_resv_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct plans_cost *c = priv;
	redisReply *reply = r;
	char reason[128];

	(void)ac;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING &&
	    plans_get(c->op->ps, c->plan_id) == c->plan &&
	    plan_resv_parse(&c->plan->rt, reply->str, reason,
	    sizeof(reason)) == -1)
		log_warnx("plan \"%s\": ignoring its kept budget "
		    "reservations: %s", c->plan_id, reason);
	plans_cost_done(ac, r, c);
}

/* Ask for the reservations the plan's offers held before a restart. */
static void
plans_refresh_resv(struct plans_op *op, struct plan *p)
{
	char key[400];
	const char *argv[3] = { "HGET", store_key(op->ps->st, key,
	    sizeof(key), "plan:%s:budget", p->plan_id), "resv" };

	plans_cost_ask(op, p, 0, 0, plans_resv_cb, argv);
}

/* HGET cost of every product-day of a plan up to today. */
static void
plans_refresh_one(struct plans_op *op, struct plan *p, const char *today)
{
	char date[16], key[400];
	int64_t day = pacing_day(today);

	p->rt.spent_before = p->rt.spent_today = 0;
	p->rt.resv_upto = p->rt.resv_worst = p->rt.overrun = 0;
	p->rt.resv_exp = 0;
	memset(p->rt.resv, 0, sizeof(p->rt.resv));
	plans_refresh_resv(op, p);
	for (int64_t t = p->start_ms; t < p->end_ms; t += PLAN_DAY_MS) {
		clock_date(t, date);
		if (strcmp(date, today) > 0)
			break;
		for (size_t i = 0; i < p->nproducts; i++) {
			const char *argv[3] = { "HGET", store_key(op->ps->st,
			    key, sizeof(key), "{%s}:day:%s", p->products[i],
			    date), "cost" };

			plans_cost_ask(op, p, strcmp(date, today) == 0, day,
			    plans_cost_cb, argv);
		}
	}
}

/* Restore the budget figures of plans with a budget. */
int
plans_refresh_budgets(struct plans *ps, int64_t now_ms, plans_done_cb *cb,
    void *arg)
{
	struct plans_op *op = plans_op_new(ps, cb, arg);
	char today[16];

	if (op == NULL)
		return -1;
	clock_date(now_ms, today);
	for (size_t i = 0; i < ps->n; i++)
		if (ps->all[i]->status == PLAN_ACTIVE && ps->all[i]->budget >= 0)
			plans_refresh_one(op, ps->all[i], today);
	plans_op_settle(op);
	return 0;
}

/* ---- loading ------------------------------------------------------------ */

/* One HGETALL sp:plan:<id> reply. */
static void
plans_load_one_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct plans_op *op = priv;
	redisReply *reply = r;
	struct plan *p;
	char err[256];

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		op->failed = 1;
		snprintf(op->err, sizeof(op->err), "cannot read a plan");
	} else if (reply->elements > 0) {
		size_t n = reply->elements / 2;
		const char **names = calloc(n + 1, sizeof(*names));
		const char **values = calloc(n + 1, sizeof(*values));

		if (names == NULL || values == NULL)
			fatalx("out of memory");
		for (size_t i = 0; i < n; i++) {
			names[i] = reply->element[2 * i]->str;
			values[i] = reply->element[2 * i + 1]->str;
		}
		if ((p = calloc(1, sizeof(*p))) == NULL)
			fatalx("out of memory");
		if (plan_from_fields(p, names, values, n, err,
		    sizeof(err)) == 0)
			plans_insert(op->ps, p);
		else {
			log_warnx("plans: skipping a stored plan: %s", err);
			free(p);
		}
		free(names);
		free(values);
	}
	if (--op->pending > 0)
		return;
	op->cb(!op->failed, op->err, op->arg);
	free(op);
}

/* SMEMBERS sp:plans reply: read each plan. */
static void
plans_load_ids_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct plans_op *op = priv;
	redisReply *reply = r;
	char key[128];

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		op->cb(0, "cannot list plans", op->arg);
		free(op);
		return;
	}
	plans_clear(op->ps);
	op->pending = 1;
	for (size_t i = 0; i < reply->elements; i++) {
		const char *argv[2] = { "HGETALL", store_key(op->ps->st, key,
		    sizeof(key), "plan:%s", reply->element[i]->str) };

		if (store_command(op->ps->st, plans_load_one_cb, op, 2, argv,
		    NULL) == 0)
			op->pending++;
	}
	plans_load_one_cb(NULL, &(redisReply){ .type = REDIS_REPLY_ARRAY },
	    op);
}

/* Read every plan. */
int
plans_load(struct plans *ps, plans_done_cb *cb, void *arg)
{
	struct plans_op *op = plans_op_new(ps, cb, arg);
	char key[128];
	const char *argv[2] = { "SMEMBERS", store_key(ps->st, key, sizeof(key),
	    "plans") };

	if (op == NULL)
		return -1;
	if (store_command(ps->st, plans_load_ids_cb, op, 2, argv, NULL) == -1) {
		free(op);
		return -1;
	}
	return 0;
}
