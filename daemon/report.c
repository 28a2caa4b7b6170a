/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.c - gathering a plan's day figures and the nightly T+1 job.
 */
#include "report.h"
#include "clock.h"
#include "log.h"
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

/* A write reply of the snapshot. */
static void
rp_snap_write_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rp_snap *s = priv;
	redisReply *reply = r;

	(void)ac;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		s->failed = 1;
		snprintf(s->err, sizeof(s->err), "redis: %s", reply ?
		    reply->str : "connection lost");
	}
	if (--s->pending == 0) {
		s->cur++;
		rp_snap_next(s);
	}
}

/* Send a command of the snapshot's writes. */
static void
rp_snap_send(struct rp_snap *s, int argc, const char **argv)
{
	if (store_command(s->rp->st, rp_snap_write_cb, s, argc, argv,
	    NULL) == 0)
		s->pending++;
	else
		s->failed = 1;
}

/* Store the plan row: HSET sp:daily:<plan>:<date> + EXPIRE. */
static void
rp_store_plan_row(struct rp_snap *s, const struct snapshot_day *row)
{
	char **names, **values, key[400], ttl[24];
	int n = snapshot_to_fields(row, &names, &values);
	const char **argv;

	if (n < 0 || (argv = calloc((size_t)n * 2 + 3, sizeof(*argv))) == NULL)
		fatalx("out of memory");
	argv[0] = "HSET";
	argv[1] = store_key(s->rp->st, key, sizeof(key), "daily:%s:%s",
	    row->plan_id, row->date);
	for (int i = 0; i < n; i++) {
		argv[2 + 2 * i] = names[i];
		argv[3 + 2 * i] = values[i];
	}
	rp_snap_send(s, n * 2 + 2, argv);
	snprintf(ttl, sizeof(ttl), "%lld",
	    (long long)s->rp->cfg->redis.day_ttl_days * 86400);
	argv[0] = "EXPIRE", argv[2] = ttl;
	rp_snap_send(s, 3, argv);
	free(argv);
	snapshot_fields_release(names, values, n);
}

/* Store the product rows as JSON fields of ...:products. */
static void
rp_store_product_rows(struct rp_snap *s, const struct report_rows *rows)
{
	const char **argv = calloc(rows->nprod * 2 + 3, sizeof(*argv));
	char **texts = calloc(rows->nprod + 1, sizeof(*texts));
	char key[400], ttl[24];

	if (argv == NULL || texts == NULL)
		fatalx("out of memory");
	argv[0] = "HSET";
	argv[1] = store_key(s->rp->st, key, sizeof(key), "daily:%s:%s:products",
	    rows->plan_id, rows->dates[0]);
	for (size_t i = 0; i < rows->nprod; i++) {
		json_t *j = snapshot_to_json(&rows->prod[i]);

		texts[i] = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
		json_decref(j);
		argv[2 + 2 * i] = rows->prod[i].product_id;
		argv[3 + 2 * i] = texts[i] ? texts[i] : "{}";
	}
	if (rows->nprod > 0) {
		rp_snap_send(s, (int)rows->nprod * 2 + 2, argv);
		snprintf(ttl, sizeof(ttl), "%lld",
		    (long long)s->rp->cfg->redis.day_ttl_days * 86400);
		argv[0] = "EXPIRE", argv[2] = ttl;
		rp_snap_send(s, 3, argv);
	}
	for (size_t i = 0; i < rows->nprod; i++)
		free(texts[i]);
	free(texts);
	free(argv);
}

/* Emit one row as daily_metrics (at least once, keyed by the plan). */
static void
rp_emit(struct report *rp, const struct snapshot_day *row)
{
	char *payload;

	if (rp->kafka == NULL || (payload = snapshot_kafka_payload(row)) ==
	    NULL)
		return;
	kafka_produce(rp->kafka, rp->cfg->kafka.metrics_topic, row->plan_id,
	    strlen(row->plan_id), payload, strlen(payload), NULL);
	free(payload);
}

/* Nonzero if a product row has anything to report. */
static int
rp_row_active(const struct snapshot_day *r)
{
	return r->pv_t + r->pv_c + r->ord_t + r->ord_c + r->offers != 0;
}

/* The plan's day is gathered: store it, emit it, next plan. */
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
	rp_emit(s->rp, &rows->plan[0]);
	for (size_t i = 0; i < rows->nprod; i++)
		if (rp_row_active(&rows->prod[i]))
			rp_emit(s->rp, &rows->prod[i]);
	s->pending = 1;
	rp_store_plan_row(s, &rows->plan[0]);
	rp_store_product_rows(s, rows);
	rp_snap_write_cb(NULL, &(redisReply){ .type = REDIS_REPLY_STATUS }, s);
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
	if ((rp->nightly = evtimer_new(base, rp_nightly_cb, rp)) == NULL) {
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
	if (rp == NULL)
		return;
	event_free(rp->nightly);
	free(rp);
}
