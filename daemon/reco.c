/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reco.c - gathering the inputs of Recommended Strategies and storing them.
 */
#include "reco.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "recommend.h"
#include "strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rc_job;

struct rc_cell {
	struct rc_job *job;
	size_t i;
	int kind;               /* 0 catalog, 1 arms, 2 day, 3 ids, 4 set */
};

struct rc_job {
	struct store *st;
	struct plans *plans;
	const struct pipeline *pl;
	const struct sp_config *cfg;
	reco_cb *cb;
	void *arg;
	char shop[EVENT_ID_MAX];
	char today[SNAPSHOT_DATE_MAX];
	char **pids;
	size_t npids;
	struct recommend_product *prods;
	int64_t *base_views, *base_orders;      /* control, per product */
	struct bandit_arms *arms;
	struct rc_cell *cells;
	size_t ncells, cap;
	int pending, failed;
	json_t *result;
};

/* Free the job. */
static void
rc_free(struct rc_job *j)
{
	for (size_t i = 0; i < j->npids; i++)
		free(j->pids[i]);
	free(j->pids);
	free(j->prods);
	free(j->base_views);
	free(j->base_orders);
	free(j->arms);
	free(j->cells);
	json_decref(j->result);
	free(j);
}

/* Answer and free. */
static void
rc_done(struct rc_job *j, int status, const char *err)
{
	j->cb(j->result, status, err, j->arg);
	rc_free(j);
}

static void rc_cell_cb(redisAsyncContext *, void *, void *);

/* Send one command. */
static void
rc_send(struct rc_job *j, size_t i, int kind, int argc, const char **argv)
{
	struct rc_cell *c;

	if (j->ncells == j->cap)
		fatalx("reco: too many commands");
	c = &j->cells[j->ncells++];
	*c = (struct rc_cell){ j, i, kind };
	if (store_command(j->st, rc_cell_cb, c, argc, argv, NULL) == 0)
		j->pending++;
	else
		j->failed = 1;
}

/* A field of an HMGET reply as an integer (0 when absent). */
static int64_t
rc_int(const redisReply *r, size_t k)
{
	return k < r->elements && r->element[k]->str != NULL ?
	    strtoll(r->element[k]->str, NULL, 10) : 0;
}

/* Pools of what plans taught, per category and for the whole shop. */
static size_t
rc_pools(struct rc_job *j, struct recommend_pool **out)
{
	struct recommend_pool *pools = calloc(j->npids + 2, sizeof(*pools));
	struct strmap idx;
	size_t n = 1;

	if (pools == NULL)
		fatalx("out of memory");
	strmap_init(&idx);
	recommend_pool_init(&pools[0], "");
	for (size_t i = 0; i < j->npids; i++) {
		struct recommend_product *p = &j->prods[i];
		uintptr_t k = 0;

		if (!p->in_plan)
			continue;
		if (p->category[0] != '\0' && (k = (uintptr_t)strmap_get(&idx,
		    p->category)) == 0) {
			recommend_pool_init(&pools[n], p->category);
			strmap_put(&idx, p->category, (void *)(uintptr_t)(n + 1));
			k = ++n;
		}
		for (size_t q = 0; q < 2; q++) {
			struct recommend_pool *pool = q == 0 ? &pools[0] :
			    p->category[0] ? &pools[k - 1] : NULL;

			if (pool == NULL)
				continue;
			recommend_pool_add(pool, p->levels, p->nlevels);
			pool->base_views += j->base_views[i];
			pool->base_orders += j->base_orders[i];
		}
	}
	strmap_release(&idx);
	*out = pools;
	return n;
}

/* Store the recommendation, then answer. */
static void
rc_store(struct rc_job *j)
{
	const char *id = json_string_value(json_object_get(j->result,
	    "recommendation_id"));
	char *text = json_dumps(j->result, JSON_COMPACT);
	char key[400], ttl[24];
	const char *argv[5] = { "SET", key, text, "EX", ttl };

	if (id == NULL || text == NULL)
		fatalx("out of memory");
	store_key(j->st, key, sizeof(key), "reco:%s", id);
	snprintf(ttl, sizeof(ttl), "%d", RECO_TTL_S);
	j->ncells = 0;
	rc_send(j, 0, 4, 5, argv);
	free(text);
	if (j->pending == 0)
		rc_done(j, 503, "the store is not available");
}

/* Every input is in: compute. */
static void
rc_compute(struct rc_job *j)
{
	struct recommend_params rp;
	struct recommend_pool *pools;
	struct recommend_set set;
	char err[256];
	size_t np;

	for (size_t i = 0; i < j->npids; i++)
		j->prods[i].nlevels = recommend_levels_from_arms(&j->arms[i],
		    j->cfg->engine.levels, j->prods[i].levels);
	np = rc_pools(j, &pools);
	recommend_params_default(&rp);
	rp.roi_target = j->cfg->engine.roi_target;
	rp.prior_conversion = j->cfg->engine.prior_conversion;
	rp.prior_strength = j->cfg->engine.prior_strength;
	rp.max_bps = j->cfg->engine.max_discount_pct * 100;
	if (recommend_compute(&rp, j->shop, j->today, j->prods, j->npids,
	    pools, np, &set, err, sizeof(err)) == -1) {
		free(pools);
		rc_done(j, 422, err);
		return;
	}
	j->result = recommend_to_json(&set);
	recommend_set_release(&set);
	free(pools);
	rc_store(j);
}

/* Load a product's arms from an HGETALL reply. */
static void
rc_arms(struct rc_job *j, size_t i, const redisReply *r)
{
	struct product_state ps;
	size_t n = r->elements / 2;
	const char **nm = calloc(n + 1, sizeof(*nm)), **vl = calloc(n + 1,
	    sizeof(*vl));
	char err[256];

	if (nm == NULL || vl == NULL)
		fatalx("out of memory");
	for (size_t k = 0; k < n; k++) {
		nm[k] = r->element[2 * k]->str;
		vl[k] = r->element[2 * k + 1]->str;
	}
	product_state_init(&ps, j->pids[i]);
	if (product_state_load_arms(&ps, nm, vl, n, err, sizeof(err)) == 0)
		j->arms[i] = ps.arms;
	product_state_release(&ps);
	free(nm);
	free(vl);
}

/* One reply of the product round. */
static void
rc_cell_cb(redisAsyncContext *ac, void *rp, void *priv)
{
	struct rc_cell *c = priv;
	struct rc_job *j = c->job;
	redisReply *r = rp;
	struct recommend_product *p = j->prods ? &j->prods[c->i] : NULL;

	(void)ac;
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		j->failed = 1;
	else if (c->kind == 0 && r->type == REDIS_REPLY_ARRAY) {
		p->price = rc_int(r, 0);
		if (r->elements > 1 && r->element[1]->str != NULL)
			snprintf(p->category, sizeof(p->category), "%s",
			    r->element[1]->str);
	} else if (c->kind == 1 && r->type == REDIS_REPLY_ARRAY)
		rc_arms(j, c->i, r);
	else if (c->kind == 2 && r->type == REDIS_REPLY_ARRAY) {
		p->views += rc_int(r, 0) ;
		p->orders += rc_int(r, 1);
		p->units += rc_int(r, 2);
		j->base_views[c->i] += rc_int(r, 3);
		j->base_orders[c->i] += rc_int(r, 4);
	}
	if (--j->pending > 0)
		return;
	if (j->failed)
		rc_done(j, 503, "the store did not answer");
	else if (c->kind == 4)
		rc_done(j, 200, NULL);
	else
		rc_compute(j);
}

/* Ask for every product's catalog row, arms and window counters. */
static void
rc_products(struct rc_job *j)
{
	char key[400], date[SNAPSHOT_DATE_MAX];
	const char *argv[7];
	int64_t start = clock_day_start(j->today);

	j->prods = calloc(j->npids + 1, sizeof(*j->prods));
	j->base_views = calloc(j->npids + 1, sizeof(int64_t));
	j->base_orders = calloc(j->npids + 1, sizeof(int64_t));
	j->arms = calloc(j->npids + 1, sizeof(*j->arms));
	j->cap = j->npids * (2 + RECO_WINDOW_DAYS) + 2;
	free(j->cells);
	j->cells = calloc(j->cap, sizeof(*j->cells));
	if (j->prods == NULL || j->base_views == NULL || j->base_orders ==
	    NULL || j->arms == NULL || j->cells == NULL)
		fatalx("out of memory");
	j->ncells = 0;
	j->pending = 1;
	for (size_t i = 0; i < j->npids; i++) {
		struct recommend_product *p = &j->prods[i];

		snprintf(p->product_id, sizeof(p->product_id), "%s", j->pids[i]);
		p->in_plan = plans_for_product(j->plans, j->pids[i]) != NULL;
		argv[0] = "HMGET";
		argv[1] = store_key(j->st, key, sizeof(key), "{%s}:product",
		    j->pids[i]);
		argv[2] = "price", argv[3] = "category";
		rc_send(j, i, 0, 4, argv);
		argv[0] = "HGETALL";
		argv[1] = store_key(j->st, key, sizeof(key), "{%s}:arms",
		    j->pids[i]);
		rc_send(j, i, 1, 2, argv);
		for (int d = 1; d <= RECO_WINDOW_DAYS; d++) {
			clock_date(start - (int64_t)d * PLAN_DAY_MS + 3600000,
			    date);
			argv[0] = "HMGET";
			argv[1] = store_key(j->st, key, sizeof(key),
			    "{%s}:day:%s", j->pids[i], date);
			argv[2] = "pv", argv[3] = "ord", argv[4] = "units";
			argv[5] = "pv_c", argv[6] = "ord_c";
			rc_send(j, i, 2, 7, argv);
		}
	}
	if (--j->pending == 0)
		j->failed ? rc_done(j, 503, "the store is not available") :
		    rc_compute(j);
}

/* The shop's product ids. */
static void
rc_ids_cb(redisAsyncContext *ac, void *rp, void *priv)
{
	struct rc_cell *c = priv;
	struct rc_job *j = c->job;
	redisReply *r = rp;

	(void)ac;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		rc_done(j, 503, "the store did not answer");
		return;
	}
	if ((j->pids = calloc(r->elements + 1, sizeof(*j->pids))) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->str != NULL &&
		    (j->pids[j->npids++] = strdup(r->element[i]->str)) == NULL)
			fatalx("out of memory");
	if (j->npids == 0) {
		rc_done(j, 404, "the shop has no products");
		return;
	}
	rc_products(j);
}

/* Start. */
int
reco_compute(struct store *st, struct plans *plans, const struct pipeline *pl,
    const struct sp_config *cfg, const char *shop_id, reco_cb *cb, void *arg)
{
	struct rc_job *j = calloc(1, sizeof(*j));
	int64_t now = pipeline_shop_time(pl, shop_id);
	char key[400];
	const char *argv[2] = { "SMEMBERS", key };

	if (j == NULL || (j->cells = calloc(2, sizeof(*j->cells))) == NULL)
		fatalx("out of memory");
	j->st = st;
	j->plans = plans;
	j->pl = pl;
	j->cfg = cfg;
	j->cb = cb;
	j->arg = arg;
	j->cap = 2;
	snprintf(j->shop, sizeof(j->shop), "%s", shop_id);
	clock_date(now >= 0 ? now : clock_now_ms(), j->today);
	store_key(st, key, sizeof(key), "shop:%s:products", shop_id);
	j->cells[0] = (struct rc_cell){ j, 0, 3 };
	if (store_command(st, rc_ids_cb, &j->cells[0], 2, argv, NULL) == -1) {
		rc_free(j);
		return -1;
	}
	return 0;
}

/* ---- reading a stored one ----------------------------------------------- */

struct rc_get {
	reco_cb *cb;
	void *arg;
};

/* The stored JSON. */
static void
rc_get_cb(redisAsyncContext *ac, void *rp, void *priv)
{
	struct rc_get *g = priv;
	redisReply *r = rp;
	json_error_t je;
	json_t *j;

	(void)ac;
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		g->cb(NULL, 503, "the store did not answer", g->arg);
	else if (r->type != REDIS_REPLY_STRING ||
	    (j = json_loads(r->str, 0, &je)) == NULL)
		g->cb(NULL, 404, "no such recommendation (they are kept seven "
		    "days)", g->arg);
	else {
		g->cb(j, 200, NULL, g->arg);
		json_decref(j);
	}
	free(g);
}

/* GET sp:reco:<id>. */
int
reco_get(struct store *st, const char *id, reco_cb *cb, void *arg)
{
	struct rc_get *g = calloc(1, sizeof(*g));
	char key[400];
	const char *argv[2] = { "GET", key };

	if (g == NULL)
		fatalx("out of memory");
	g->cb = cb;
	g->arg = arg;
	store_key(st, key, sizeof(key), "reco:%s", id);
	if (store_command(st, rc_get_cb, g, 2, argv, NULL) == -1) {
		free(g);
		return -1;
	}
	return 0;
}
