/* SPDX-License-Identifier: Apache-2.0 */
/*
 * segments.c - the segment recomputation job: read, compute, store, enroll.
 */
#include "segments.h"
#include "clock.h"
#include "log.h"
#include "segment.h"
#include "strmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_NSEG 5

static const unsigned sg_bits[SG_NSEG] = {
	SEG_TRENDING, SEG_CLEARANCE, SEG_BEST_SELLING, SEG_NON_COMPETITIVE,
	SEG_NEWLY_LISTED
};

struct sg_job;

/* The private data of one reply: which job, product, date or segment. */
struct sg_cell {
	struct sg_job *job;
	size_t i;
	int kind;               /* 0 catalog, 1 day, 2 previous set, 3 list */
	int d;
};

struct sg_job {
	struct segments *sg;
	segments_done_cb *cb;
	void *arg;
	char **shops;
	size_t nshops, cur;
	char **pids;
	size_t npids;
	struct segment_product *prods;
	char (*dates)[SEGMENT_DATE_MAX];
	int ndates;
	int64_t now;
	char **prev[SG_NSEG];
	size_t nprev[SG_NSEG];
	struct sg_cell *cells;
	size_t ncells, cellcap;
	int pending;
	int failed;
	char err[256];
	void (*next)(struct sg_job *);
	json_t *result;
};

struct segments {
	struct event_base *base;
	struct store *st;
	struct plans *plans;
	struct pipeline *pl;
	const struct sp_config *cfg;
	struct segment_params params;
	struct event *timer;
	struct sg_job *job;
};

static void sg_shop_begin(struct sg_job *job);

/* ---- lists -------------------------------------------------------------- */

/* Free a list of strings. */
static void
sg_list_free(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* The strings of an array reply, malloc'd. */
static char **
sg_list_from(const redisReply *r, size_t *n)
{
	char **l = calloc(r->elements + 1, sizeof(*l));

	if (l == NULL)
		fatalx("out of memory");
	*n = 0;
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    (l[(*n)++] = strdup(r->element[i]->str)) == NULL)
			fatalx("out of memory");
	return l;
}

/* ---- rounds ------------------------------------------------------------- */

/* A cell for the next command (cells never move during a round). */
static struct sg_cell *
sg_cell(struct sg_job *job, size_t i, int kind, int d)
{
	if (job->ncells == job->cellcap)
		fatalx("segments: too many commands in a round");
	job->cells[job->ncells] = (struct sg_cell){ job, i, kind, d };
	return &job->cells[job->ncells++];
}

/* Begin a round of at most ncmds commands. */
static void
sg_round(struct sg_job *job, size_t ncmds, void (*next)(struct sg_job *))
{
	free(job->cells);
	job->cells = calloc(ncmds + 1, sizeof(*job->cells));
	if (job->cells == NULL)
		fatalx("out of memory");
	job->ncells = 0;
	job->cellcap = ncmds + 1;
	job->pending = 1;
	job->next = next;
}

/* Free a job. */
static void
sg_job_free(struct sg_job *job)
{
	sg_list_free(job->shops, job->nshops);
	sg_list_free(job->pids, job->npids);
	for (int s = 0; s < SG_NSEG; s++)
		sg_list_free(job->prev[s], job->nprev[s]);
	free(job->prods);
	free(job->dates);
	free(job->cells);
	json_decref(job->result);
	free(job);
}

/* Finish the job: report, free. */
static void
sg_finish(struct sg_job *job)
{
	struct segments *sg = job->sg;

	if (job->cb != NULL)
		job->cb(job->result, job->failed ? job->err : NULL, job->arg);
	if (job->failed)
		log_warnx("segments: %s", job->err);
	sg_job_free(job);
	sg->job = NULL;
}

/* One reply is in; the last of a round moves on. */
static void
sg_unref(struct sg_job *job)
{
	if (--job->pending > 0)
		return;
	if (job->sg == NULL) {          /* abandoned at shutdown */
		sg_job_free(job);
		return;
	}
	if (job->failed)
		sg_finish(job);
	else
		job->next(job);
}

/* Send a command of the round. */
static void
sg_send(struct sg_job *job, redisCallbackFn *fn, struct sg_cell *c,
    int argc, const char **argv)
{
	if (job->sg != NULL &&
	    store_command(job->sg->st, fn, c, argc, argv, NULL) == 0)
		job->pending++;
	else if (!job->failed) {
		job->failed = 1;
		snprintf(job->err, sizeof(job->err), "the store is not "
		    "available");
	}
}

/* Note a failed reply. */
static void
sg_fail(struct sg_job *job, const redisReply *r)
{
	if (job->failed)
		return;
	job->failed = 1;
	snprintf(job->err, sizeof(job->err), "redis: %s", r == NULL ?
	    "connection lost" : r->type == REDIS_REPLY_ERROR ? r->str :
	    "unexpected reply");
}

/* ---- replies ------------------------------------------------------------ */

/* An integer field of an HMGET reply, 0 when absent. */
static int64_t
sg_int(const redisReply *r, size_t i)
{
	if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
		return 0;
	return strtoll(r->element[i]->str, NULL, 10);
}

/* A reply of the load round. */
static void
sg_reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct sg_cell *c = priv;
	struct sg_job *job = c->job;
	redisReply *reply = r;
	struct segment_product *p;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		sg_fail(job, reply);
	} else if (c->kind == 0) {
		p = &job->prods[c->i];
		p->known = sg_int(reply, 0) == 1;
		p->stock = sg_int(reply, 1);
		p->listed_at = sg_int(reply, 2);
	} else if (c->kind == 1) {
		p = &job->prods[c->i];
		p->views += sg_int(reply, 0);
		p->orders += sg_int(reply, 1);
		p->units += sg_int(reply, 2);
		p->gmv += sg_int(reply, 3);
	} else if (c->kind == 2) {
		job->prev[c->d] = sg_list_from(reply, &job->nprev[c->d]);
	} else {
		if (c->d == 0)
			job->shops = sg_list_from(reply, &job->nshops);
		else
			job->pids = sg_list_from(reply, &job->npids);
	}
	sg_unref(job);
}

/* A reply of a write round: only failures matter. */
static void
sg_write_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct sg_cell *c = priv;
	redisReply *reply = r;

	(void)ac;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		sg_fail(c->job, reply);
	sg_unref(c->job);
}

/* ---- stages ------------------------------------------------------------- */

/* SMEMBERS key into the job's shops (d 0) or products (d 1). */
static void
sg_read_list(struct sg_job *job, const char *key, int d,
    void (*next)(struct sg_job *))
{
	const char *argv[2] = { "SMEMBERS", key };

	sg_round(job, 1, next);
	sg_send(job, sg_reply_cb, sg_cell(job, 0, 3, d), 2, argv);
	sg_unref(job);
}

/* The evaluation time and the window's dates for the current shop. */
static int
sg_window(struct sg_job *job)
{
	const char *shop = job->shops[job->cur];
	char today[SEGMENT_DATE_MAX];
	int w = job->sg->params.window_days;

	job->now = pipeline_shop_time(job->sg->pl, shop);
	if (job->now < 0)
		job->now = clock_now_ms();
	clock_date(job->now, today);
	free(job->dates);
	if ((job->dates = calloc((size_t)w, sizeof(*job->dates))) == NULL)
		fatalx("out of memory");
	job->ndates = w;
	return segment_window_dates(today, w, job->dates, job->err,
	    sizeof(job->err));
}

/* Read every product's catalog row and window, and the stored sets. */
static void sg_compute(struct sg_job *job);

static void
sg_load(struct sg_job *job)
{
	const struct store *st = job->sg->st;
	const char *shop = job->shops[job->cur], *argv[6];
	char key[400];

	if (sg_window(job) == -1) {
		job->failed = 1;
		sg_finish(job);
		return;
	}
	free(job->prods);
	if ((job->prods = calloc(job->npids + 1, sizeof(*job->prods))) == NULL)
		fatalx("out of memory");
	sg_round(job, job->npids * (1 + (size_t)job->ndates) + SG_NSEG,
	    sg_compute);
	for (size_t i = 0; i < job->npids; i++) {
		snprintf(job->prods[i].product_id,
		    sizeof(job->prods[i].product_id), "%s", job->pids[i]);
		argv[0] = "HMGET";
		argv[1] = store_key(st, key, sizeof(key), "{%s}:product",
		    job->pids[i]);
		argv[2] = "known", argv[3] = "stock", argv[4] = "listed_at";
		sg_send(job, sg_reply_cb, sg_cell(job, i, 0, 0), 5, argv);
		for (int d = 0; d < job->ndates; d++) {
			argv[1] = store_key(st, key, sizeof(key), "{%s}:day:%s",
			    job->pids[i], job->dates[d]);
			argv[2] = "pv", argv[3] = "ord", argv[4] = "units";
			argv[5] = "gmv";
			sg_send(job, sg_reply_cb, sg_cell(job, i, 1, d), 6,
			    argv);
		}
	}
	for (int s = 0; s < SG_NSEG; s++) {
		argv[0] = "SMEMBERS";
		argv[1] = store_key(st, key, sizeof(key), "segment:%s:%s", shop,
		    plan_segment_name(sg_bits[s]));
		sg_send(job, sg_reply_cb, sg_cell(job, 0, 2, s), 2, argv);
	}
	sg_unref(job);
}

/* Replace a segment's stored set by its members (atomically, by RENAME). */
static void
sg_store_set(struct sg_job *job, int s, const unsigned *mask)
{
	const struct store *st = job->sg->st;
	const char *shop = job->shops[job->cur];
	const char **argv = calloc(job->npids + 3, sizeof(*argv));
	char key[400], tmp[420];
	size_t n = 0;

	if (argv == NULL)
		fatalx("out of memory");
	store_key(st, key, sizeof(key), "segment:%s:%s", shop,
	    plan_segment_name(sg_bits[s]));
	snprintf(tmp, sizeof(tmp), "%s:next", key);
	argv[0] = "DEL", argv[1] = tmp;
	sg_send(job, sg_write_cb, sg_cell(job, 0, 4, s), 2, argv);
	argv[0] = "SADD";
	for (size_t i = 0; i < job->npids; i++)
		if (mask[i] & sg_bits[s])
			argv[2 + n++] = job->prods[i].product_id;
	if (n == 0) {
		argv[0] = "DEL", argv[1] = key;
		sg_send(job, sg_write_cb, sg_cell(job, 0, 4, s), 2, argv);
	} else {
		sg_send(job, sg_write_cb, sg_cell(job, 0, 4, s), (int)n + 2,
		    argv);
		argv[0] = "RENAME", argv[1] = tmp, argv[2] = key;
		sg_send(job, sg_write_cb, sg_cell(job, 0, 4, s), 3, argv);
	}
	free(argv);
}

/* A plan enrollment finished. */
static void
sg_enrolled_cb(int ok, const char *err, void *arg)
{
	struct sg_cell *c = arg;

	if (!ok && !c->job->failed) {
		c->job->failed = 1;
		snprintf(c->job->err, sizeof(c->job->err), "enrolling: %s",
		    err);
	}
	sg_unref(c->job);
}

/* Enroll a segment's newcomers in the shop's plan for it; the count. */
static int
sg_enroll(struct sg_job *job, int s, const struct segment_diff *d)
{
	struct plan *p = plans_for_segment(job->sg->plans,
	    job->shops[job->cur], sg_bits[s]);
	int n;

	if (p == NULL || d->nentered == 0)
		return 0;
	job->pending++;
	n = plans_enroll(job->sg->plans, p, d->entered, d->nentered,
	    sg_enrolled_cb, sg_cell(job, 0, 5, s));
	if (n == -1) {
		job->pending--;
		sg_fail(job, NULL);
		return 0;
	}
	return n;
}

/* One segment: store it, enroll newcomers, note the figures. */
static void
sg_segment(struct sg_job *job, int s, const unsigned *mask, json_t *out)
{
	struct segment_diff d;
	size_t size = 0;
	int enrolled;

	for (size_t i = 0; i < job->npids; i++)
		size += (mask[i] & sg_bits[s]) != 0;
	if (segment_diff(&d, sg_bits[s], job->prods, mask, job->npids,
	    (const char *const *)job->prev[s], job->nprev[s], job->err,
	    sizeof(job->err)) == -1) {
		job->failed = 1;
		return;
	}
	sg_store_set(job, s, mask);
	enrolled = sg_enroll(job, s, &d);
	json_object_set_new(out, plan_segment_name(sg_bits[s]),
	    json_pack("{s:I, s:I, s:I, s:i}", "size", (json_int_t)size,
	    "entered", (json_int_t)d.nentered, "left", (json_int_t)d.nleft,
	    "enrolled", enrolled));
	segment_diff_release(&d);
}

/* The next shop once this one's writes are in. */
static void
sg_shop_done(struct sg_job *job)
{
	job->cur++;
	sg_shop_begin(job);
}

/* Compute the segments of the current shop and write them. */
static void
sg_compute(struct sg_job *job)
{
	unsigned *mask = calloc(job->npids + 1, sizeof(*mask));
	json_t *out = json_object();

	if (mask == NULL)
		fatalx("out of memory");
	if (segment_compute(&job->sg->params, job->prods, job->npids,
	    job->now, mask, job->err, sizeof(job->err)) == -1) {
		job->failed = 1;
		free(mask);
		json_decref(out);
		sg_finish(job);
		return;
	}
	sg_round(job, SG_NSEG * 4 + SG_NSEG, sg_shop_done);
	for (int s = 0; s < SG_NSEG && !job->failed; s++)
		sg_segment(job, s, mask, out);
	json_object_set_new(out, "products", json_integer((json_int_t)job->npids));
	json_object_set_new(job->result, job->shops[job->cur], out);
	log_info("segments of shop \"%s\" recomputed over %zu products",
	    job->shops[job->cur], job->npids);
	free(mask);
	sg_unref(job);
}

/* Read the current shop's products, or finish. */
static void
sg_shop_begin(struct sg_job *job)
{
	char key[400];

	sg_list_free(job->pids, job->npids);
	job->pids = NULL;
	job->npids = 0;
	for (int s = 0; s < SG_NSEG; s++) {
		sg_list_free(job->prev[s], job->nprev[s]);
		job->prev[s] = NULL;
		job->nprev[s] = 0;
	}
	if (job->cur >= job->nshops) {
		sg_finish(job);
		return;
	}
	sg_read_list(job, store_key(job->sg->st, key, sizeof(key),
	    "shop:%s:products", job->shops[job->cur]), 1, sg_load);
}

/* ---- members ------------------------------------------------------------ */

struct sg_members {
	segments_members_cb *cb;
	void *arg;
	int pending, failed;
	struct strmap seen;
	char **ids;
	size_t n, cap;
};

/* One SMEMBERS reply; the last one answers. */
static void
sg_members_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct sg_members *m = priv;
	redisReply *reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		m->failed = 1;
	else
		for (size_t i = 0; i < reply->elements; i++) {
			const char *id = reply->element[i]->str;

			if (id == NULL || strmap_get(&m->seen, id) != NULL)
				continue;
			if (m->n == m->cap && (m->ids = realloc(m->ids,
			    (m->cap = m->cap ? m->cap * 2 : 64) *
			    sizeof(*m->ids))) == NULL)
				fatalx("out of memory");
			if ((m->ids[m->n] = strdup(id)) == NULL ||
			    strmap_put(&m->seen, id, m) == -1)
				fatalx("out of memory");
			m->n++;
		}
	if (--m->pending > 0)
		return;
	m->cb((const char *const *)m->ids, m->n, m->failed ?
	    "cannot read the segments" : NULL, m->arg);
	sg_list_free(m->ids, m->n);
	strmap_release(&m->seen);
	free(m);
}

/* The union of the shop's segment sets named by bits. */
int
segments_members(struct segments *sg, const char *shop, unsigned bits,
    segments_members_cb *cb, void *arg)
{
	struct sg_members *m = calloc(1, sizeof(*m));
	char key[400];

	if (m == NULL)
		fatalx("out of memory");
	m->cb = cb;
	m->arg = arg;
	m->pending = 1;
	strmap_init(&m->seen);
	for (int s = 0; s < SG_NSEG; s++) {
		const char *argv[2] = { "SMEMBERS", store_key(sg->st, key,
		    sizeof(key), "segment:%s:%s", shop,
		    plan_segment_name(sg_bits[s])) };

		if (!(bits & sg_bits[s]))
			continue;
		if (store_command(sg->st, sg_members_cb, m, 2, argv, NULL) == 0)
			m->pending++;
		else
			m->failed = 1;
	}
	sg_members_cb(NULL, &(redisReply){ .type = REDIS_REPLY_ARRAY }, m);
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Start a run. */
int
segments_run(struct segments *sg, const char *shop, segments_done_cb *cb,
    void *arg)
{
	struct sg_job *job;
	char key[400];

	if (sg->job != NULL)
		return -1;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		fatalx("out of memory");
	job->sg = sg;
	job->cb = cb;
	job->arg = arg;
	job->result = json_object();
	sg->job = job;
	if (shop != NULL) {
		if ((job->shops = calloc(1, sizeof(*job->shops))) == NULL ||
		    (job->shops[0] = strdup(shop)) == NULL)
			fatalx("out of memory");
		job->nshops = 1;
		sg_shop_begin(job);
		return 0;
	}
	sg_read_list(job, store_key(sg->st, key, sizeof(key), "shops"), 0,
	    sg_shop_begin);
	return 0;
}

/* Log the outcome of a scheduled run. */
static void
sg_scheduled_cb(const json_t *result, const char *err, void *arg)
{
	(void)arg;
	if (err == NULL)
		log_debug("segments: scheduled run over %zu shops",
		    json_object_size(result));
}

/* The schedule. */
static void
sg_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct segments *sg = arg;

	(void)fd;
	(void)what;
	if (store_up(sg->st) && segments_run(sg, NULL, sg_scheduled_cb,
	    NULL) == -1)
		log_info("segments: previous run still going; skipping one");
}

/* Parameters and schedule from the config. */
void
segments_configure(struct segments *sg, const struct sp_config *cfg)
{
	const struct config_segments *c = &cfg->segments;
	int64_t ms = (int64_t)(c->recompute_minutes * 60000.0 + 0.5);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 *
	    1000) };

	sg->cfg = cfg;
	segment_params_default(&sg->params);
	sg->params.window_days = c->window_days;
	sg->params.clearance_min_stock = c->clearance_min_stock;
	sg->params.trending_top_pct = c->trending_top_pct;
	sg->params.trending_min_views = c->trending_min_views;
	sg->params.bestselling_top_pct = c->bestselling_top_pct;
	sg->params.bestselling_min_orders = c->bestselling_min_orders;
	sg->params.noncompetitive_top_n = c->noncompetitive_top_n;
	sg->params.noncompetitive_combine = strcmp(c->noncompetitive_combine,
	    "both") == 0 ? SEGMENT_COMBINE_BOTH : SEGMENT_COMBINE_RANK_SUM;
	if (sg->timer != NULL)
		evtimer_add(sg->timer, &tv);
}

/* The job's owner. */
struct segments *
segments_new(struct event_base *base, struct store *st, struct plans *plans,
    struct pipeline *pl, const struct sp_config *cfg)
{
	struct segments *sg = calloc(1, sizeof(*sg));

	if (sg == NULL)
		return NULL;
	sg->base = base;
	sg->st = st;
	sg->plans = plans;
	sg->pl = pl;
	sg->timer = event_new(base, -1, EV_PERSIST, sg_timer_cb, sg);
	if (sg->timer == NULL) {
		free(sg);
		return NULL;
	}
	segments_configure(sg, cfg);
	return sg;
}

/* Free; a run in progress is abandoned (its replies are ignored). */
void
segments_free(struct segments *sg)
{
	if (sg == NULL)
		return;
	if (sg->job != NULL) {
		sg->job->cb = NULL;
		sg->job->sg = NULL;     /* its pending replies free it */
	}
	event_free(sg->timer);
	free(sg);
}
