/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model.c - the fault tests' model: the input replayed once, in Kafka
 * order, through engine_apply() with one product state per product that
 * lives for the whole stream, and its writes applied to an in-memory
 * keyspace the way the daemon's write script applies them to Redis.  What
 * that keyspace holds is what Redis must hold if every event took effect
 * exactly once; the offers and the dead letters it collects are what the
 * output topics must carry (at least once).
 *
 * The model shares the engine with the daemon on purpose: the fault tests
 * check that the daemon's pipeline, store and Kafka layers deliver the
 * engine's effects exactly once through crashes and outages, not what the
 * engine decides (tests/unit/test_engine.c does that).  It reads the plans
 * the test created from Redis and the engine settings from the daemon's
 * config file, so both run with the same plans and parameters.  Decisions
 * (discount levels) depend on plan-level learner state that a restarted
 * daemon rebuilds differently, so the check ignores the decision-dependent
 * fields; the model still computes them, with its own learner state.
 */
#include "fault.h"
#include "rng.h"
#include "tools.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

static const char *const model_kinds[] = {
	"product", "arms", "offers", "orders", "views", "pps", "outbox"
};

/* A key name with the configured prefix. */
static const char *
model_name(const struct model *m, char *buf, size_t len, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static const char *
model_name(const struct model *m, char *buf, size_t len, const char *fmt,
    ...)
{
	va_list ap;
	int n = snprintf(buf, len, "%s", m->cfg->redis.key_prefix);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return buf;
}

/* The key of that name, created empty with the type if new. */
static struct model_key *
model_key(struct model *m, const char *name, char type)
{
	struct model_key *k = strmap_get(&m->keys, name);

	if (k != NULL)
		return k;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		fault_oom();
	k->type = type;
	strmap_init(&k->f);
	if (strmap_put(&m->keys, name, k) == -1)
		fault_oom();
	return k;
}

/* HSET name field value. */
static void
model_hset(struct model *m, const char *name, const char *field,
    const char *value)
{
	struct model_key *k = model_key(m, name, 'h');

	free(strmap_get(&k->f, field));
	if (strmap_put(&k->f, field, fault_strdup(value)) == -1)
		fault_oom();
}

/* HINCRBY name field delta (an absent field counts 0). */
static void
model_hincr(struct model *m, const char *name, const char *field,
    const char *delta)
{
	struct model_key *k = model_key(m, name, 'h');
	const char *cur = strmap_get(&k->f, field);
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (cur ? strtoll(cur, NULL, 10) : 0) +
	    strtoll(delta, NULL, 10));
	model_hset(m, name, field, buf);
}

/* SADD or PFADD name member (type 's' or 'p'). */
static void
model_add(struct model *m, const char *name, char type, const char *member)
{
	struct model_key *k = model_key(m, name, type);

	if (strmap_get(&k->f, member) == NULL &&
	    strmap_put(&k->f, member, fault_strdup("")) == -1)
		fault_oom();
}

/* The name of the key a write goes to. */
static const char *
model_fx_key(const struct model *m, const char *pid,
    const struct fx_write *w, char *buf, size_t len)
{
	if (w->key <= FX_OUTBOX)
		return model_name(m, buf, len, "{%s}:%s", pid,
		    model_kinds[w->key]);
	if (w->key == FX_DAY)
		return model_name(m, buf, len, "{%s}:day:%s", pid, w->date);
	return model_name(m, buf, len, "{%s}:uniq:%s:%s", pid, w->date,
	    w->key == FX_UNIQ_T ? "t" : "c");
}

/* A JSON text with sorted keys, compact (malloc'd), or NULL. */
char *
model_canonical(const char *json)
{
	json_t *j = json_loads(json, 0, NULL);
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) :
	    NULL;

	json_decref(j);
	return s;
}

/* Keep a message for the offers topic: an offer by its id, another
 * (promotion_deactivated) by its canonical text. */
static void
model_offer(struct model *m, const char *payload)
{
	json_t *j = json_loads(payload, 0, NULL);
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *id = json_string_value(json_object_get(j, "offer_id"));
	char *canon;

	if (type != NULL && strcmp(type, "offer") == 0 && id != NULL) {
		free(strmap_get(&m->offers, id));
		if (strmap_put(&m->offers, id, fault_strdup(payload)) == -1)
			fault_oom();
	} else if ((canon = model_canonical(payload)) != NULL) {
		free(strmap_get(&m->others, canon));
		if (strmap_put(&m->others, canon, fault_strdup(payload)) == -1)
			fault_oom();
		free(canon);
	}
	json_decref(j);
}

/* Apply one event's effects: writes to the keyspace, offers kept. */
static void
model_fx(struct model *m, const struct product_state *ps,
    const struct effects *fx)
{
	char name[512];

	for (size_t i = 0; i < fx->nw; i++) {
		const struct fx_write *w = &fx->w[i];

		model_fx_key(m, ps->product_id, w, name, sizeof(name));
		if (w->op == FX_HSET)
			model_hset(m, name, w->field, w->value);
		else if (w->op == FX_HINCRBY)
			model_hincr(m, name, w->field, w->value);
		else
			model_add(m, name, 'p', w->value);
	}
	for (size_t i = 0; i < fx->nm; i++)
		if (fx->m[i].topic == FX_TOPIC_OFFERS)
			model_offer(m, fx->m[i].payload);
}

/* The state of a product, fresh on first use. */
static struct product_state *
model_prod(struct model *m, const char *pid)
{
	struct product_state *ps = strmap_get(&m->prods, pid);

	if (ps != NULL)
		return ps;
	if ((ps = malloc(sizeof(*ps))) == NULL)
		fault_oom();
	product_state_init(ps, pid);
	if (strmap_put(&m->prods, pid, ps) == -1)
		fault_oom();
	return ps;
}

/* The active plan that enrolls a product, or NULL. */
struct plan *
model_plan(const struct model *m, const char *product_id)
{
	for (size_t i = 0; i < m->nplans; i++)
		if (m->plans[i]->status == PLAN_ACTIVE &&
		    plan_has_product(m->plans[i], product_id))
			return m->plans[i];
	return NULL;
}

/* The plan of that id, or NULL. */
struct plan *
model_plan_by_id(const struct model *m, const char *plan_id)
{
	for (size_t i = 0; i < m->nplans; i++)
		if (strcmp(m->plans[i]->plan_id, plan_id) == 0)
			return m->plans[i];
	return NULL;
}

/* Did the customer order from the shop earlier in the stream? */
static int
model_returning(const struct model *m, const struct event *ev)
{
	char key[2 * EVENT_ID_MAX + 2];
	const char *c = ev->type == EV_PAGE_VIEW ? ev->u.page_view.customer_id :
	    ev->type == EV_ORDER ? ev->u.order.customer_id : NULL;

	if (c == NULL)
		return 0;
	snprintf(key, sizeof(key), "%s\037%s", ev->shop_id, c);
	return strmap_get(&m->buyers, key) != NULL;
}

/* An order's customer is a buyer of the shop from now on (sp:buyers). */
static void
model_buyer(struct model *m, const struct event *ev)
{
	char key[2 * EVENT_ID_MAX + 2], name[512];

	snprintf(key, sizeof(key), "%s\037%s", ev->shop_id,
	    ev->u.order.customer_id);
	if (strmap_put(&m->buyers, key, m) == -1)
		fault_oom();
	model_add(m, model_name(m, name, sizeof(name), "buyers:%s",
	    ev->shop_id), 's', ev->u.order.customer_id);
}

/* The event's date in the configured zone, as the daemon's clock_date(). */
static void
model_date(int64_t ts, char *buf)
{
	time_t t = (time_t)(ts / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(buf, ENGINE_DATE_MAX, "%Y-%m-%d", &tm) == 0)
		buf[0] = '\0';
}

/* A catalog event lists the product under its shop (sp:shop:<s>:products,
 * sp:shops), as the daemon's shop-level writes do. */
static void
model_shop(struct model *m, const struct event *ev)
{
	char name[512];

	if (ev->type != EV_PRODUCT)
		return;
	model_add(m, model_name(m, name, sizeof(name), "shop:%s:products",
	    ev->shop_id), 's', ev->product_id);
	model_add(m, model_name(m, name, sizeof(name), "shops"), 's',
	    ev->shop_id);
}

/* Apply a decoded event to its product. */
static int
model_event(struct model *m, struct event *ev, int32_t part, int64_t off)
{
	struct product_state *ps = model_prod(m, ev->product_id);
	char date[ENGINE_DATE_MAX];
	struct engine_input in = { .ev = ev, .partition = part,
	    .offset = off, .date = date, .returning = model_returning(m, ev),
	    .plan = model_plan(m, ev->product_id) };
	struct effects fx;
	int rc;

	model_date(ev->ts, date);
	effects_init(&fx);
	if ((rc = engine_apply(&m->ep, ps, &in, &fx)) == 0)
		model_fx(m, ps, &fx);
	effects_release(&fx);
	if (ev->type == EV_ORDER)
		model_buyer(m, ev);
	return rc;
}

/* Note where an input message sits; counts gaps in the offsets. */
static void
model_position(struct model *m, int64_t **next, int32_t part, int64_t off)
{
	if (part >= m->in.partitions) {
		int64_t *nn = realloc(*next, (size_t)(part + 1) *
		    sizeof(**next));

		if (nn == NULL)
			fault_oom();
		memset(nn + m->in.partitions, 0, (size_t)(part + 1 -
		    m->in.partitions) * sizeof(*nn));
		*next = nn;
		m->in.partitions = part + 1;
	}
	if ((*next)[part] != off)
		m->in.gaps++;
	(*next)[part] = off + 1;
}

/* One input message: a dead letter or an event. */
static int
model_message(struct model *m, int32_t part, int64_t off, const char *payload,
    size_t len)
{
	static struct event ev;
	char reason[EVENT_REASON_MAX], key[48];

	m->in.messages++;
	if (event_decode(payload, len, &ev, reason, sizeof(reason)) == -1) {
		snprintf(key, sizeof(key), "%" PRId32 ":%" PRId64, part, off);
		m->in.poison++;
		free(strmap_get(&m->dead, key));
		if (strmap_put(&m->dead, key, fault_strdup(reason)) == -1)
			fault_oom();
		return 0;
	}
	m->in.events++;
	m->in.by_type[ev.type]++;
	model_shop(m, &ev);
	if (ev.product_id[0] == '\0')
		return 0;
	return model_event(m, &ev, part, off);
}

/* Parse "PARTITION<tab>OFFSET<tab>PAYLOAD"; payload points into line. */
static int
model_parse_line(char *line, int32_t *part, int64_t *off,
    const char **payload)
{
	char *t1 = strchr(line, '\t'), *t2;
	int64_t p;

	if (t1 == NULL || (t2 = strchr(t1 + 1, '\t')) == NULL)
		return -1;
	*t1 = *t2 = '\0';
	if (fault_parse_i64(line, 0, INT32_MAX, &p) == -1 ||
	    fault_parse_i64(t1 + 1, 0, INT64_MAX, off) == -1)
		return -1;
	*part = (int32_t)p;
	*payload = t2 + 1;
	return 0;
}

/* After the stream: product and arms hashes, kpos, the plans' plan_id. */
static void
model_finish(struct model *m)
{
	size_t pos = 0;
	const char *pid;
	void *v;
	char name[512], kpos[48];

	while (strmap_next(&m->prods, &pos, &pid, &v)) {
		struct product_state *ps = v;
		struct effects fx;

		effects_init(&fx);
		if (engine_flush(ps, &fx) == -1)
			fault_oom();
		model_fx(m, ps, &fx);
		effects_release(&fx);
		product_state_kpos(ps, kpos, sizeof(kpos));
		if (kpos[0] != '\0')
			model_hset(m, model_name(m, name, sizeof(name),
			    "{%s}:product", pid), "kpos", kpos);
	}
	for (size_t i = 0; i < m->nplans; i++) {
		const struct plan *p = m->plans[i];

		for (size_t j = 0; j < p->nproducts; j++)
			model_hset(m, model_name(m, name, sizeof(name),
			    "{%s}:product", p->products[j]), "plan_id",
			    p->status == PLAN_ACTIVE ? p->plan_id : "");
	}
}

/* Replay the input file. */
int
model_replay(struct model *m, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int64_t *next = NULL, off;
	long n, lineno = 0;
	int32_t part;
	const char *payload;
	int rc = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "cannot read \"%s\"", path);
		return -1;
	}
	while (rc == 0 && (n = fault_getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (model_parse_line(line, &part, &off, &payload) == -1) {
			snprintf(err, errlen, "\"%s\" line %ld: not PARTITION "
			    "<tab> OFFSET <tab> PAYLOAD", path, lineno);
			rc = -1;
		} else {
			model_position(m, &next, part, off);
			if (model_message(m, part, off, payload,
			    strlen(payload)) == -1) {
				snprintf(err, errlen, "engine failed at %"
				    PRId32 ":%" PRId64, part, off);
				rc = -1;
			}
		}
	}
	free(line);
	free(next);
	fclose(fp);
	if (rc == 0)
		model_finish(m);
	return rc;
}

/* The engine parameters, as daemon/pipeline.c pipeline_configure(). */
static void
model_params(struct model *m)
{
	const struct config_engine *e = &m->cfg->engine;

	m->ep.default_roi_target = e->roi_target;
	m->ep.holdout_pct = e->holdout_pct;
	m->ep.offer_ttl_ms = (int64_t)e->offer_ttl_minutes * 60000;
	m->ep.attribution_ms = (int64_t)e->attribution_hours * 3600000;
	m->ep.bandit.levels = e->levels;
	m->ep.bandit.prior_conversion = e->prior_conversion;
	m->ep.bandit.prior_strength = e->prior_strength;
	m->ep.bandit.half_life_ms = e->decay_half_life_hours * 3600000.0;
	m->ep.offer_seed = rng_hash(m->cfg->kafka.input_topic,
	    strlen(m->cfg->kafka.input_topic), 0);
	m->ep.tools = tools_parse(e->tools);
}

/* Read one stored plan (HGETALL sp:plan:<id>). */
static int
model_load_plan(struct model *m, redisContext *rc, const char *id,
    char *err, size_t errlen)
{
	char name[512];
	redisReply *r = redisCommand(rc, "HGETALL %s", model_name(m, name,
	    sizeof(name), "plan:%s", id));
	const char **names, **values;
	struct plan *p, **np;
	size_t n;
	int ret;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "cannot read \"%s\"", name);
		freeReplyObject(r);
		return -1;
	}
	n = r->elements / 2;
	names = calloc(n + 1, sizeof(*names));
	values = calloc(n + 1, sizeof(*values));
	p = calloc(1, sizeof(*p));
	np = realloc(m->plans, (m->nplans + 1) * sizeof(*np));
	if (names == NULL || values == NULL || p == NULL || np == NULL)
		fault_oom();
	m->plans = np;
	for (size_t i = 0; i < n; i++) {
		names[i] = r->element[2 * i]->str;
		values[i] = r->element[2 * i + 1]->str;
	}
	if ((ret = plan_from_fields(p, names, values, n, err, errlen)) == 0)
		m->plans[m->nplans++] = p;
	else
		free(p);
	free(names);
	free(values);
	freeReplyObject(r);
	return ret;
}

/* Read every stored plan. */
static int
model_load_plans(struct model *m, redisContext *rc, char *err, size_t errlen)
{
	char name[512];
	redisReply *r = redisCommand(rc, "SMEMBERS %s", model_name(m, name,
	    sizeof(name), "plans"));
	int ret = 0;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "cannot read \"%s\"", name);
		freeReplyObject(r);
		return -1;
	}
	for (size_t i = 0; i < r->elements && ret == 0; i++)
		ret = model_load_plan(m, rc, r->element[i]->str, err, errlen);
	freeReplyObject(r);
	return ret;
}

/* A model for cfg with the plans stored in Redis. */
int
model_init(struct model *m, const struct sp_config *cfg, redisContext *rc,
    char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	strmap_init(&m->keys);
	strmap_init(&m->prods);
	strmap_init(&m->offers);
	strmap_init(&m->others);
	strmap_init(&m->dead);
	strmap_init(&m->buyers);
	model_params(m);
	if (setenv("TZ", cfg->schedule.timezone, 1) == -1) {
		snprintf(err, errlen, "cannot set the time zone");
		return -1;
	}
	tzset();
	return model_load_plans(m, rc, err, errlen);
}

/* Free everything. */
void
model_release(struct model *m)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (strmap_next(&m->keys, &pos, &k, &v)) {
		fault_free_values(&((struct model_key *)v)->f);
		free(v);
	}
	strmap_release(&m->keys);
	for (pos = 0; strmap_next(&m->prods, &pos, &k, &v);) {
		product_state_release(v);
		free(v);
	}
	strmap_release(&m->prods);
	fault_free_values(&m->offers);
	fault_free_values(&m->others);
	fault_free_values(&m->dead);
	strmap_release(&m->buyers);
	for (size_t i = 0; i < m->nplans; i++) {
		plan_release(m->plans[i]);
		free(m->plans[i]);
	}
	free(m->plans);
}
