/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.c - gathering a plan's day figures and the nightly T+1 job.
 */
#define _GNU_SOURCE             /* asprintf */
#include "report.h"
#include "clock.h"
#include "log.h"
#include "rng.h"
#include "stats.h"
#include "strmap.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct report {
	struct event_base *base;
	struct store *st;
	struct plans *plans;
	struct kafka *kafka;
	const struct sp_config *cfg;
	struct snapshot_params sp;
	struct event *nightly;
	struct event *resend;           /* sweeps the metrics outbox */
	struct strmap inflight;         /* "%p" of an rp_out -> it */
	struct strmap busy;             /* metrics_id -> messages in flight */
	int sweeping;                   /* an outbox read is pending */
};

/* ---- gathering ---------------------------------------------------------- */

enum rp_kind { RP_COUNTERS, RP_UNIQ_T, RP_UNIQ_C, RP_UNION_T, RP_UNION_C,
	RP_STORED };

struct rp_gather;

struct rp_cell {
	struct rp_gather *g;
	size_t d, i;
	enum rp_kind kind;
};

struct rp_gather {
	struct report *rp;
	report_rows_cb *cb;
	void *arg;
	struct report_rows rows;
	char (*pids)[EVENT_ID_MAX];
	struct snapshot_day *stored;    /* [ndays] */
	struct rp_cell *cells;
	size_t ncells, cap;
	int pending, failed;
	char err[256];
};

/* The plan's dates in the schedule's zone, filtered. */
size_t
report_plan_dates(const struct plan *p, const char *from, const char *to,
    char (**dates)[SNAPSHOT_DATE_MAX])
{
	size_t n = 0, cap = (size_t)p->days + 2;
	char (*d)[SNAPSHOT_DATE_MAX] = calloc(cap, sizeof(*d));
	char date[SNAPSHOT_DATE_MAX], last[SNAPSHOT_DATE_MAX], prev[16] = "";

	if (d == NULL)
		fatalx("out of memory");
	clock_date(p->end_ms - 1, last);
	for (int64_t t = p->start_ms; n < cap; t += PLAN_DAY_MS) {
		clock_date(t, date);
		if (strcmp(date, last) > 0)
			break;
		if (strcmp(date, prev) == 0)
			continue;
		memcpy(prev, date, sizeof(date));
		if ((from[0] == '\0' || strcmp(date, from) >= 0) &&
		    (to[0] == '\0' || strcmp(date, to) <= 0))
			memcpy(d[n++], date, sizeof(date));
	}
	*dates = d;
	return n;
}

/* Free a gathering. */
static void
rp_gather_free(struct rp_gather *g)
{
	free(g->rows.dates);
	free(g->rows.plan);
	free(g->rows.prod);
	free(g->rows.final);
	free(g->pids);
	free(g->stored);
	free(g->cells);
	free(g);
}

/* The product row of (d, i). */
static struct snapshot_day *
rp_prod(struct rp_gather *g, size_t d, size_t i)
{
	return &g->rows.prod[d * g->rows.nprod + i];
}

/* A stored snapshot reply. */
static void
rp_stored_reply(struct rp_gather *g, size_t d, const redisReply *r)
{
	size_t n = r->elements / 2;
	const char **names, **values;
	char err[256];

	if (n == 0)
		return;
	names = calloc(n + 1, sizeof(*names));
	values = calloc(n + 1, sizeof(*values));
	if (names == NULL || values == NULL)
		fatalx("out of memory");
	for (size_t k = 0; k < n; k++) {
		names[k] = r->element[2 * k]->str;
		values[k] = r->element[2 * k + 1]->str;
	}
	if (snapshot_from_fields(&g->stored[d], names, values, n, err,
	    sizeof(err)) == 0)
		g->rows.final[d] = 1;
	else
		log_warnx("stored snapshot of \"%s\" on %s: %s",
		    g->rows.plan_id, g->rows.dates[d], err);
	free(names);
	free(values);
}

/* Build the plan rows once every reply is in. */
static void
rp_finish(struct rp_gather *g)
{
	char err[256];

	for (size_t d = 0; d < g->rows.ndays && !g->failed; d++) {
		struct snapshot_day *p = &g->rows.plan[d];
		int64_t ct = p->customers_t, cc = p->customers_c;

		for (size_t i = 0; i < g->rows.nprod; i++)
			snapshot_derive(rp_prod(g, d, i), &g->rp->sp);
		snapshot_init(p, g->rows.dates[d], g->rows.plan_id, "", err,
		    sizeof(err));
		snapshot_sum(p, rp_prod(g, d, 0), g->rows.nprod);
		p->customers_t = ct;
		p->customers_c = cc;
		snapshot_derive(p, &g->rp->sp);
		if (g->rows.final[d])
			*p = g->stored[d];
	}
	g->cb(g->failed ? NULL : &g->rows, g->failed ? g->err : NULL, g->arg);
	rp_gather_free(g);
}

/* One reply. */
static void
rp_cell_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rp_cell *c = priv;
	struct rp_gather *g = c->g;
	redisReply *reply = r;
	char err[256];

	(void)ac;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		g->failed = 1;
		snprintf(g->err, sizeof(g->err), "redis: %s", reply ?
		    reply->str : "connection lost");
	} else if (c->kind == RP_COUNTERS && reply->type == REDIS_REPLY_ARRAY) {
		for (size_t k = 0; k < reply->elements &&
		    k < SNAPSHOT_NCOUNTERS; k++)
			snapshot_set_counter(rp_prod(g, c->d, c->i),
			    snapshot_counter_names[k], reply->element[k]->str,
			    err, sizeof(err));
	} else if (c->kind == RP_UNIQ_T)
		rp_prod(g, c->d, c->i)->customers_t = reply->integer;
	else if (c->kind == RP_UNIQ_C)
		rp_prod(g, c->d, c->i)->customers_c = reply->integer;
	else if (c->kind == RP_UNION_T)
		g->rows.plan[c->d].customers_t = reply->integer;
	else if (c->kind == RP_UNION_C)
		g->rows.plan[c->d].customers_c = reply->integer;
	else if (c->kind == RP_STORED && reply->type == REDIS_REPLY_ARRAY)
		rp_stored_reply(g, c->d, reply);
	if (--g->pending == 0)
		rp_finish(g);
}

/* Send one command of the gathering. */
static void
rp_send(struct rp_gather *g, size_t d, size_t i, enum rp_kind kind, int argc,
    const char **argv)
{
	struct rp_cell *c = &g->cells[g->ncells++];

	*c = (struct rp_cell){ g, d, i, kind };
	if (store_command(g->rp->st, rp_cell_cb, c, argc, argv, NULL) == 0)
		g->pending++;
	else {
		g->failed = 1;
		snprintf(g->err, sizeof(g->err), "the store is not available");
	}
}

/* PFCOUNT over every product's uniq key of a date and group. */
static void
rp_send_union(struct rp_gather *g, size_t d, const char *grp,
    enum rp_kind kind)
{
	const char **argv = calloc(g->rows.nprod + 1, sizeof(*argv));
	char (*keys)[400] = calloc(g->rows.nprod + 1, sizeof(*keys));

	if (argv == NULL || keys == NULL)
		fatalx("out of memory");
	argv[0] = "PFCOUNT";
	for (size_t i = 0; i < g->rows.nprod; i++)
		argv[1 + i] = store_key(g->rp->st, keys[i], sizeof(keys[i]),
		    "{%s}:uniq:%s:%s", g->pids[i], g->rows.dates[d], grp);
	rp_send(g, d, 0, kind, (int)g->rows.nprod + 1, argv);
	free(argv);
	free(keys);
}

/* The commands of one date. */
static void
rp_send_date(struct rp_gather *g, size_t d, int stored)
{
	const char *argv[2 + SNAPSHOT_NCOUNTERS];
	char key[400], err[256];

	argv[0] = "HMGET";
	for (size_t k = 0; k < SNAPSHOT_NCOUNTERS; k++)
		argv[2 + k] = snapshot_counter_names[k];
	for (size_t i = 0; i < g->rows.nprod; i++) {
		snapshot_init(rp_prod(g, d, i), g->rows.dates[d],
		    g->rows.plan_id, g->pids[i], err, sizeof(err));
		argv[1] = store_key(g->rp->st, key, sizeof(key), "{%s}:day:%s",
		    g->pids[i], g->rows.dates[d]);
		rp_send(g, d, i, RP_COUNTERS, 2 + SNAPSHOT_NCOUNTERS, argv);
		argv[0] = "PFCOUNT";
		argv[1] = store_key(g->rp->st, key, sizeof(key),
		    "{%s}:uniq:%s:t", g->pids[i], g->rows.dates[d]);
		rp_send(g, d, i, RP_UNIQ_T, 2, argv);
		argv[1] = store_key(g->rp->st, key, sizeof(key),
		    "{%s}:uniq:%s:c", g->pids[i], g->rows.dates[d]);
		rp_send(g, d, i, RP_UNIQ_C, 2, argv);
		argv[0] = "HMGET";
	}
	if (g->rows.nprod > 0) {
		rp_send_union(g, d, "t", RP_UNION_T);
		rp_send_union(g, d, "c", RP_UNION_C);
	}
	if (stored) {
		argv[0] = "HGETALL";
		argv[1] = store_key(g->rp->st, key, sizeof(key), "daily:%s:%s",
		    g->rows.plan_id, g->rows.dates[d]);
		rp_send(g, d, 0, RP_STORED, 2, argv);
	}
}

/* Allocate a gathering's rows. */
static struct rp_gather *
rp_gather_new(struct report *rp, const struct plan *p, size_t ndates)
{
	struct rp_gather *g = calloc(1, sizeof(*g));
	size_t np = p->nproducts;

	if (g == NULL)
		fatalx("out of memory");
	g->rp = rp;
	snprintf(g->rows.plan_id, sizeof(g->rows.plan_id), "%s", p->plan_id);
	g->rows.ndays = ndates;
	g->rows.nprod = np;
	g->rows.dates = calloc(ndates + 1, sizeof(*g->rows.dates));
	g->rows.plan = calloc(ndates + 1, sizeof(*g->rows.plan));
	g->rows.prod = calloc(ndates * np + 1, sizeof(*g->rows.prod));
	g->rows.final = calloc(ndates + 1, sizeof(*g->rows.final));
	g->pids = calloc(np + 1, sizeof(*g->pids));
	g->stored = calloc(ndates + 1, sizeof(*g->stored));
	g->cap = ndates * (3 * np + 3) + 1;
	g->cells = calloc(g->cap, sizeof(*g->cells));
	if (g->rows.dates == NULL || g->rows.plan == NULL ||
	    g->rows.prod == NULL || g->rows.final == NULL || g->pids == NULL ||
	    g->stored == NULL || g->cells == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < np; i++)
		memcpy(g->pids[i], p->products[i], sizeof(g->pids[i]));
	return g;
}

/* Gather a plan's rows. */
int
report_gather(struct report *rp, const struct plan *p,
    const char (*dates)[SNAPSHOT_DATE_MAX], size_t ndates, int stored,
    report_rows_cb *cb, void *arg)
{
	struct rp_gather *g;

	if (!store_up(rp->st))
		return -1;
	g = rp_gather_new(rp, p, ndates);
	g->cb = cb;
	g->arg = arg;
	memcpy(g->rows.dates, dates, ndates * sizeof(*dates));
	g->pending = 1;
	for (size_t d = 0; d < ndates; d++)
		rp_send_date(g, d, stored);
	if (--g->pending == 0)
		rp_finish(g);
	return 0;
}

/* ---- the metrics outbox ------------------------------------------------- */

/*
 * A daily_metrics message waits in sp:metrics:outbox (field = its
 * metrics_id, value = the message) from the transaction that stores its
 * day until its delivery report says delivered; then the field is deleted
 * if it still holds that message.  A failed delivery, a lost connection
 * or a restart leaves it there and it is sent again.
 */
struct rp_out {
	struct report *rp;
	char *field, *payload;
};

/* The in-flight map key of an output. */
static const char *
rp_out_key(const void *o, char *buf, size_t len)
{
	snprintf(buf, len, "%p", o);
	return buf;
}

/* Count a field in flight up (+1) or down (-1). */
static void
rp_busy(struct report *rp, const char *field, int delta)
{
	uintptr_t n = (uintptr_t)strmap_get(&rp->busy, field);

	if (delta < 0 && n <= 1)
		(void)strmap_del(&rp->busy, field);
	else if (strmap_put(&rp->busy, field, (void *)(n + (uintptr_t)delta))
	    == -1)
		fatalx("out of memory");
}

/* Free an output and count its field down. */
static void
rp_out_free(struct rp_out *o)
{
	rp_busy(o->rp, o->field, -1);
	free(o->field);
	free(o->payload);
	free(o);
}

/* Sweep the outbox again in ms. */
static void
rp_resend_in(struct report *rp, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (!evtimer_pending(rp->resend, NULL))
		evtimer_add(rp->resend, &tv);
}

/* Produce one outbox entry (copied), tracked by its delivery report. */
static void
rp_produce(struct report *rp, const char *field, const char *payload)
{
	struct rp_out *o = calloc(1, sizeof(*o));
	const char *colon = strchr(field, ':');
	char key[32];

	if (o == NULL || (o->field = strdup(field)) == NULL ||
	    (o->payload = strdup(payload)) == NULL)
		fatalx("out of memory");
	o->rp = rp;
	rp_busy(rp, field, 1);
	rp_out_key(o, key, sizeof(key));
	if (rp->kafka == NULL || colon == NULL ||
	    strmap_put(&rp->inflight, key, o) == -1 ||
	    kafka_produce(rp->kafka, rp->cfg->kafka.metrics_topic, field,
	    (size_t)(colon - field), payload, strlen(payload), o) == -1) {
		(void)strmap_del(&rp->inflight, key);
		rp_out_free(o);
		rp_resend_in(rp, REPORT_RESEND_MS);
	}
}

/* The outbox entry is gone (or the store could not say): done with it. */
static void
rp_dropped_cb(redisAsyncContext *ac, void *r, void *priv)
{
	(void)ac;
	(void)r;
	rp_out_free(priv);
}

/* Delivered: delete the outbox field if it still holds this message. */
static void
rp_drop(struct rp_out *o)
{
	static const char lua[] =
	    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then\n"
	    "  return redis.call('HDEL', KEYS[1], ARGV[1])\n"
	    "end\n"
	    "return 0\n";
	char key[400];
	const char *argv[6] = { "EVAL", lua, "1", key, o->field, o->payload };

	store_key(o->rp->st, key, sizeof(key), "%s", REPORT_OUTBOX_KEY);
	/* the field stays busy until the reply, so that a sweep read
	 * before the delete does not send it again */
	if (store_command(o->rp->st, rp_dropped_cb, o, 6, argv, NULL) == -1)
		rp_out_free(o);
}

/* A delivery report of a daily_metrics message (see report.h). */
int
report_delivered(struct report *rp, const rd_kafka_message_t *m,
    void *opaque)
{
	struct rp_out *o;
	char key[32];

	if (rp == NULL || opaque == NULL || rp->inflight.count == 0 ||
	    (o = strmap_del(&rp->inflight, rp_out_key(opaque, key,
	    sizeof(key)))) == NULL)
		return 0;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		rp_drop(o);
		return 1;
	}
	log_warnx("kafka: delivery of daily_metrics \"%s\" failed: %s; "
	    "retrying", o->field, rd_kafka_err2str(m->err));
	stats.produce_retries++;
	rp_out_free(o);
	rp_resend_in(rp, REPORT_RETRY_MS);
	return 1;
}

/* The outbox as read: send what is not in flight. */
static void
rp_sweep_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct report *rp = priv;
	redisReply *reply = r;
	size_t sent = 0;

	(void)ac;
	rp->sweeping = 0;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		rp_resend_in(rp, REPORT_RESEND_MS);
		return;
	}
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const char *field = reply->element[i]->str;

		if (strmap_get(&rp->busy, field) != NULL)
			continue;
		rp_produce(rp, field, reply->element[i + 1]->str);
		sent++;
	}
	if (sent > 0)
		log_info("daily_metrics: sending %zu messages again from the "
		    "outbox", sent);
	if (reply->elements > 0)
		rp_resend_in(rp, REPORT_RESEND_MS);
}

/* Read the outbox and send again what waits there. */
static void
rp_sweep(struct report *rp)
{
	char key[400];
	const char *argv[2] = { "HGETALL", key };

	if (rp->sweeping || rp->kafka == NULL || !store_up(rp->st))
		return;         /* report_resume() comes when it is up */
	store_key(rp->st, key, sizeof(key), "%s", REPORT_OUTBOX_KEY);
	if (store_command(rp->st, rp_sweep_cb, rp, 2, argv, NULL) == 0)
		rp->sweeping = 1;
}

/* The retry timer. */
static void
rp_resend_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rp_sweep(arg);
}

/* The store is up (at start or again): send what the outbox holds. */
void
report_resume(struct report *rp)
{
	if (rp != NULL)
		rp_sweep(rp);
}

/* The metrics_id of a row: plan:date, and :product for a product row. */
static char *
rp_metrics_id(const struct snapshot_day *row)
{
	char *id;

	if (asprintf(&id, "%s:%s%s%s", row->plan_id, row->date,
	    row->product_id[0] != '\0' ? ":" : "", row->product_id) == -1)
		return NULL;
	return id;
}

/* A row's daily_metrics message with its metrics_id and revision. */
int
report_metrics_message(const struct snapshot_day *row, char **id,
    char **payload)
{
	char *base = snapshot_kafka_payload(row), rev[24];
	json_t *o = base != NULL ? json_loads(base, 0, NULL) : NULL;

	*id = rp_metrics_id(row);
	*payload = NULL;
	if (o != NULL && *id != NULL) {
		snprintf(rev, sizeof(rev), "%016" PRIx64, rng_hash_str(base,
		    0));
		json_object_set_new(o, "metrics_id", json_string(*id));
		json_object_set_new(o, "revision", json_string(rev));
		*payload = json_dumps(o, JSON_COMPACT |
		    JSON_REAL_PRECISION(15));
	}
	json_decref(o);
	free(base);
	if (*payload == NULL) {
		free(*id);
		*id = NULL;
		return -1;
	}
	return 0;
}

/* ---- the T+1 snapshot --------------------------------------------------- */

struct rp_snap {
	struct report *rp;
	report_done_cb *cb;
	void *arg;
	char date[SNAPSHOT_DATE_MAX];
	char **plan_ids;
	size_t nplans, cur;
	json_t *result;
	int pending, failed;
	char err[256];
};

static void rp_snap_next(struct rp_snap *s);

/* Nonzero if plan p ran on date (its window overlaps the day). */
static int
rp_ran_on(const struct plan *p, const char *date)
{
	int64_t start = clock_day_start(date), end;
	char next[SNAPSHOT_DATE_MAX];

	clock_date(start + PLAN_DAY_MS + 3600000, next);
	end = clock_day_start(next);
	if (start < 0 || end <= start || p->start_ms >= end ||
	    p->end_ms <= start)
		return 0;
	return p->status == PLAN_ACTIVE || p->ended_ms > start;
}

/* The Redis commands of one plan's day, queued inside MULTI/EXEC. */
struct rp_tx {
	struct rp_snap *s;
	int bad;                /* a command could not be queued */
	char **fields, **payloads;      /* the daily_metrics to send */
	size_t nmsgs;
};

/* Queue one command of the transaction (its reply is "QUEUED"). */
static void
rp_tx_queue(struct rp_tx *tx, int argc, const char **argv)
{
	if (store_command(tx->s->rp->st, NULL, NULL, argc, argv, NULL) == -1)
		tx->bad = 1;
}

/* EXPIRE key after the day TTL. */
static void
rp_tx_expire(struct rp_tx *tx, const char *key)
{
	char ttl[24];
	const char *argv[3] = { "EXPIRE", key, ttl };

	snprintf(ttl, sizeof(ttl), "%lld",
	    (long long)tx->s->rp->cfg->redis.day_ttl_days * 86400);
	rp_tx_queue(tx, 3, argv);
}

/* Store the plan row: HSET sp:daily:<plan>:<date> + EXPIRE. */
static void
rp_store_plan_row(struct rp_tx *tx, const struct snapshot_day *row)
{
	char **names, **values, key[400];
	int n = snapshot_to_fields(row, &names, &values);
	const char **argv;

	if (n < 0 || (argv = calloc((size_t)n * 2 + 3, sizeof(*argv))) == NULL)
		fatalx("out of memory");
	argv[0] = "HSET";
	argv[1] = store_key(tx->s->rp->st, key, sizeof(key), "daily:%s:%s",
	    row->plan_id, row->date);
	for (int i = 0; i < n; i++) {
		argv[2 + 2 * i] = names[i];
		argv[3 + 2 * i] = values[i];
	}
	rp_tx_queue(tx, n * 2 + 2, argv);
	rp_tx_expire(tx, key);
	free(argv);
	snapshot_fields_release(names, values, n);
}

/* Store the product rows as JSON fields of ...:products. */
static void
rp_store_product_rows(struct rp_tx *tx, const struct report_rows *rows)
{
	const char **argv = calloc(rows->nprod * 2 + 3, sizeof(*argv));
	char **texts = calloc(rows->nprod + 1, sizeof(*texts));
	char key[400];

	if (argv == NULL || texts == NULL)
		fatalx("out of memory");
	argv[0] = "HSET";
	argv[1] = store_key(tx->s->rp->st, key, sizeof(key),
	    "daily:%s:%s:products", rows->plan_id, rows->dates[0]);
	for (size_t i = 0; i < rows->nprod; i++) {
		json_t *j = snapshot_to_json(&rows->prod[i]);

		texts[i] = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
		json_decref(j);
		argv[2 + 2 * i] = rows->prod[i].product_id;
		argv[3 + 2 * i] = texts[i] ? texts[i] : "{}";
	}
	if (rows->nprod > 0) {
		rp_tx_queue(tx, (int)rows->nprod * 2 + 2, argv);
		rp_tx_expire(tx, key);
	}
	for (size_t i = 0; i < rows->nprod; i++)
		free(texts[i]);
	free(texts);
	free(argv);
}

/* Record every message of the day in the metrics outbox (one HSET). */
static void
rp_store_outbox(struct rp_tx *tx)
{
	const char **argv = calloc(tx->nmsgs * 2 + 2, sizeof(*argv));
	char key[400];

	if (argv == NULL)
		fatalx("out of memory");
	argv[0] = "HSET";
	argv[1] = store_key(tx->s->rp->st, key, sizeof(key), "%s",
	    REPORT_OUTBOX_KEY);
	for (size_t i = 0; i < tx->nmsgs; i++) {
		argv[2 + 2 * i] = tx->fields[i];
		argv[3 + 2 * i] = tx->payloads[i];
	}
	if (tx->nmsgs > 0)
		rp_tx_queue(tx, (int)tx->nmsgs * 2 + 2, argv);
	free(argv);
}

/* Add one row's daily_metrics message to the transaction. */
static void
rp_tx_add_msg(struct rp_tx *tx, const struct snapshot_day *row)
{
	size_t n = tx->nmsgs;

	tx->fields = realloc(tx->fields, (n + 1) * sizeof(*tx->fields));
	tx->payloads = realloc(tx->payloads, (n + 1) * sizeof(*tx->payloads));
	if (tx->fields == NULL || tx->payloads == NULL)
		fatalx("out of memory");
	if (report_metrics_message(row, &tx->fields[n], &tx->payloads[n]) ==
	    -1)
		fatalx("out of memory");
	tx->nmsgs++;
}

/* Free a transaction. */
static void
rp_tx_free(struct rp_tx *tx)
{
	for (size_t i = 0; i < tx->nmsgs; i++) {
		free(tx->fields[i]);
		free(tx->payloads[i]);
	}
	free(tx->fields);
	free(tx->payloads);
	free(tx);
}

/* The day is stored with its outbox: send its messages, next plan. */
static void
rp_snap_exec_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rp_tx *tx = priv;
	struct rp_snap *s = tx->s;
	redisReply *reply = r;
	const char *why = NULL;

	(void)ac;
	if (reply == NULL)
		why = "connection lost";
	else if (reply->type == REDIS_REPLY_ERROR)
		why = reply->str;
	else if (reply->type != REDIS_REPLY_ARRAY)
		why = "transaction aborted";
	for (size_t i = 0; why == NULL && i < reply->elements; i++)
		if (reply->element[i]->type == REDIS_REPLY_ERROR)
			why = reply->element[i]->str;
	if (why != NULL) {
		s->failed = 1;
		snprintf(s->err, sizeof(s->err), "redis: %s", why);
	} else
		for (size_t i = 0; i < tx->nmsgs; i++)
			rp_produce(s->rp, tx->fields[i], tx->payloads[i]);
	rp_tx_free(tx);
	s->cur++;
	rp_snap_next(s);
}

/* Nonzero if a product row has anything to report. */
static int
rp_row_active(const struct snapshot_day *r)
{
	return r->pv_t + r->pv_c + r->ord_t + r->ord_c + r->offers != 0;
}

/*
 * Store the plan's day and record its daily_metrics in the outbox in one
 * MULTI/EXEC; the messages are produced only once Redis has it.
 */
static void
rp_snap_store(struct rp_snap *s, const struct report_rows *rows)
{
	struct rp_tx *tx = calloc(1, sizeof(*tx));
	const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };

	if (tx == NULL)
		fatalx("out of memory");
	tx->s = s;
	rp_tx_add_msg(tx, &rows->plan[0]);
	for (size_t i = 0; i < rows->nprod; i++)
		if (rp_row_active(&rows->prod[i]))
			rp_tx_add_msg(tx, &rows->prod[i]);
	rp_tx_queue(tx, 1, multi);
	rp_store_plan_row(tx, &rows->plan[0]);
	rp_store_product_rows(tx, rows);
	rp_store_outbox(tx);
	if (tx->bad || store_command(s->rp->st, rp_snap_exec_cb, tx, 1, exec,
	    NULL) == -1) {
		if (store_up(s->rp->st))        /* never stay inside MULTI */
			store_reset(s->rp->st);
		rp_tx_free(tx);
		s->failed = 1;
		snprintf(s->err, sizeof(s->err), "the store is not available");
		s->cur++;
		rp_snap_next(s);
	}
}

/* The plan's day is gathered: store it with its outbox, next plan. */
static void
rp_snap_rows_cb(const struct report_rows *rows, const char *err, void *arg)
{
	struct rp_snap *s = arg;
	json_t *row;

	if (rows == NULL) {
		s->failed = 1;
		snprintf(s->err, sizeof(s->err), "%s", err);
		s->cur++;
		rp_snap_next(s);
		return;
	}
	row = snapshot_to_json(&rows->plan[0]);
	json_object_set_new(row, "plan_id", json_string(rows->plan_id));
	json_array_append_new(json_object_get(s->result, "plans"), row);
	rp_snap_store(s, rows);
}

/* The next plan, or the end. */
static void
rp_snap_next(struct rp_snap *s)
{
	struct plan *p;

	while (s->cur < s->nplans &&
	    (p = plans_get(s->rp->plans, s->plan_ids[s->cur])) == NULL)
		s->cur++;
	if (s->cur < s->nplans) {
		if (report_gather(s->rp, p, (const char (*)[SNAPSHOT_DATE_MAX])
		    &s->date, 1, 0, rp_snap_rows_cb, s) == -1) {
			s->failed = 1;
			snprintf(s->err, sizeof(s->err), "the store is not "
			    "available");
			s->cur = s->nplans;
		} else
			return;
	}
	log_info("T+1 snapshot of %s: %zu plans%s", s->date, s->nplans,
	    s->failed ? " (with errors)" : "");
	if (s->cb != NULL)
		s->cb(s->result, s->failed ? s->err : NULL, s->arg);
	for (size_t i = 0; i < s->nplans; i++)
		free(s->plan_ids[i]);
	free(s->plan_ids);
	json_decref(s->result);
	free(s);
}

/* Snapshot a date. */
int
report_snapshot(struct report *rp, const char *date, const char *plan_id,
    report_done_cb *cb, void *arg)
{
	struct rp_snap *s = calloc(1, sizeof(*s));
	struct plan *const *all;
	size_t n = plans_all(rp->plans, &all);

	if (s == NULL || (s->plan_ids = calloc(n + 1, sizeof(char *))) == NULL)
		fatalx("out of memory");
	if (!snapshot_date_ok(date) || !store_up(rp->st)) {
		free(s->plan_ids);
		free(s);
		return -1;
	}
	s->rp = rp;
	s->cb = cb;
	s->arg = arg;
	snprintf(s->date, sizeof(s->date), "%s", date);
	s->result = json_pack("{s:s, s:[]}", "date", date, "plans");
	for (size_t i = 0; i < n; i++)
		if ((plan_id == NULL || strcmp(plan_id, all[i]->plan_id) == 0) &&
		    rp_ran_on(all[i], date) &&
		    (s->plan_ids[s->nplans++] = strdup(all[i]->plan_id)) == NULL)
			fatalx("out of memory");
	rp_snap_next(s);
	return 0;
}

/* ---- the nightly job ---------------------------------------------------- */

/* Log a nightly run's failure. */
static void
rp_nightly_done(const json_t *result, const char *err, void *arg)
{
	(void)result;
	(void)arg;
	if (err != NULL)
		log_warnx("T+1 snapshot: %s", err);
}

/*
 * Arm the timer for the next snapshot_time: today's, else tomorrow's, each
 * as a local wall time of its own date (a day is 23 or 25 hours when the
 * clocks change, so "today's plus 24 h" would be an hour off).
 */
static void
rp_arm(struct report *rp)
{
	int64_t now = clock_now_ms(), at;
	char day[SNAPSHOT_DATE_MAX];
	struct timeval tv;

	clock_date(now, day);
	at = clock_local_ms(day, rp->cfg->schedule.snapshot_minute);
	if (at <= now && util_date_add(day, 1, day) == 0)
		at = clock_local_ms(day, rp->cfg->schedule.snapshot_minute);
	if (at <= now)          /* cannot happen: tomorrow is after now */
		at = now + PLAN_DAY_MS;
	tv.tv_sec = (time_t)((at - now) / 1000);
	tv.tv_usec = (suseconds_t)((at - now) % 1000) * 1000;
	evtimer_add(rp->nightly, &tv);
}

/* Yesterday and the grace days before it, by calendar date (stepping back
 * 24 h per day would skip yesterday after a 23-hour day). */
static void
rp_nightly_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report *rp = arg;
	char today[SNAPSHOT_DATE_MAX], date[SNAPSHOT_DATE_MAX];

	(void)fd;
	(void)what;
	clock_date(clock_now_ms(), today);
	for (int back = 1 + REPORT_GRACE_DAYS; back >= 1; back--) {
		if (util_date_add(today, -back, date) == -1)
			continue;
		if (report_snapshot(rp, date, NULL, rp_nightly_done, NULL) == -1)
			log_warnx("T+1 snapshot of %s: the store is not "
			    "available", date);
	}
	rp_arm(rp);
}

/* Settings. */
void
report_configure(struct report *rp, const struct sp_config *cfg)
{
	rp->cfg = cfg;
	snapshot_params_default(&rp->sp);
	if (rp->nightly != NULL)
		rp_arm(rp);
}

struct report *
report_new(struct event_base *base, struct store *st, struct plans *plans,
    const struct sp_config *cfg)
{
	struct report *rp = calloc(1, sizeof(*rp));

	if (rp == NULL)
		return NULL;
	rp->base = base;
	rp->st = st;
	rp->plans = plans;
	strmap_init(&rp->inflight);
	strmap_init(&rp->busy);
	if ((rp->nightly = evtimer_new(base, rp_nightly_cb, rp)) == NULL ||
	    (rp->resend = evtimer_new(base, rp_resend_cb, rp)) == NULL) {
		if (rp->nightly != NULL)
			event_free(rp->nightly);
		free(rp);
		return NULL;
	}
	report_configure(rp, cfg);
	return rp;
}

void
report_set_kafka(struct report *rp, struct kafka *k)
{
	rp->kafka = k;
}

void
report_free(struct report *rp)
{
	size_t pos = 0;
	const char *key;
	void *o;

	if (rp == NULL)
		return;
	/* messages still in flight stay in the outbox for the next start */
	while (strmap_next(&rp->inflight, &pos, &key, &o))
		rp_out_free(o);
	strmap_release(&rp->inflight);
	strmap_release(&rp->busy);
	event_free(rp->nightly);
	event_free(rp->resend);
	free(rp);
}
