/* SPDX-License-Identifier: Apache-2.0 */
/*
 * creators.c - gathering creators' facts, scoring, ranking, storing.
 */
#include "creators.h"
#include "clock.h"
#include "log.h"
#include "pps.h"
#include "strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CR_RECOMMEND_MAX 5

/* One (creator, product) and its days. */
struct cr_prod {
	char product_id[EVENT_ID_MAX];
	char category[EVENT_ID_MAX];
	struct pps_product_day *days;
	size_t ndays, cap;
};

/* One content item and the orders it drove per day. */
struct cr_content {
	char content_id[EVENT_ID_MAX];
	char category[EVENT_ID_MAX];
	struct pps_content c;
	struct pps_order_day *orders;
	size_t norders, cap;
};

struct cr_creator {
	char id[EVENT_ID_MAX];
	struct strmap prods, contents;  /* id -> struct cr_prod/cr_content */
	struct pps_score score;
	int change, has_change;
};

/* A product's catalog figures (for categories and recommendations). */
struct cr_pstat {
	char product_id[EVENT_ID_MAX];
	char category[EVENT_ID_MAX];
	int64_t positive, reviews;
};

struct cr_job {
	struct creators *cr;
	creators_done_cb *cb;
	void *arg;
	char date[16];
	int32_t today;
	struct strmap creators;         /* id -> struct cr_creator */
	char **pids, **cids;
	size_t npids, ncids;
	struct cr_pstat *pstats;
	int pending, failed, stage;
	json_t *result;
};

struct cr_cell {
	struct cr_job *job;
	size_t i;
	int kind;               /* 0 pps facts, 1 product, 2 content, 3 ids */
};

struct creators {
	struct event_base *base;
	struct store *st;
	const struct sp_config *cfg;
	struct pps_params params;
	struct event *nightly;
	struct cr_job *job;
};

static void cr_stage(struct cr_job *job);

/* ---- memory ------------------------------------------------------------- */

/* The creator entry, created on first use. */
static struct cr_creator *
cr_creator(struct cr_job *job, const char *id)
{
	struct cr_creator *c = strmap_get(&job->creators, id);

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    strmap_put(&job->creators, id, c) == -1)
		fatalx("out of memory");
	snprintf(c->id, sizeof(c->id), "%s", id);
	strmap_init(&c->prods);
	strmap_init(&c->contents);
	return c;
}

/* Free a creator and what it holds. */
static void
cr_creator_free(struct cr_creator *c)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (strmap_next(&c->prods, &pos, &k, &v)) {
		free(((struct cr_prod *)v)->days);
		free(v);
	}
	pos = 0;
	while (strmap_next(&c->contents, &pos, &k, &v)) {
		free(((struct cr_content *)v)->orders);
		free(v);
	}
	strmap_release(&c->prods);
	strmap_release(&c->contents);
	free(c);
}

/* Free a job. */
static void
cr_job_free(struct cr_job *job)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (strmap_next(&job->creators, &pos, &k, &v))
		cr_creator_free(v);
	strmap_release(&job->creators);
	for (size_t i = 0; i < job->npids; i++)
		free(job->pids[i]);
	for (size_t i = 0; i < job->ncids; i++)
		free(job->cids[i]);
	free(job->pids);
	free(job->cids);
	free(job->pstats);
	json_decref(job->result);
	free(job);
}

/* ---- facts -------------------------------------------------------------- */

/* The day record of (creator, product, day), created on first use. */
static struct pps_product_day *
cr_day(struct cr_creator *c, const char *pid, int32_t day)
{
	struct cr_prod *p = strmap_get(&c->prods, pid);

	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL ||
		    strmap_put(&c->prods, pid, p) == -1)
			fatalx("out of memory");
		snprintf(p->product_id, sizeof(p->product_id), "%s", pid);
	}
	for (size_t i = 0; i < p->ndays; i++)
		if (p->days[i].day == day)
			return &p->days[i];
	if (p->ndays == p->cap && (p->days = realloc(p->days, (p->cap =
	    p->cap ? p->cap * 2 : 8) * sizeof(*p->days))) == NULL)
		fatalx("out of memory");
	memset(&p->days[p->ndays], 0, sizeof(*p->days));
	p->days[p->ndays].day = day;
	p->days[p->ndays].sps = -1;
	return &p->days[p->ndays++];
}

/* The content entry of a creator, created on first use. */
static struct cr_content *
cr_content(struct cr_creator *c, const char *cid)
{
	struct cr_content *t = strmap_get(&c->contents, cid);

	if (t != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    strmap_put(&c->contents, cid, t) == -1)
		fatalx("out of memory");
	snprintf(t->content_id, sizeof(t->content_id), "%s", cid);
	t->c.day = -1;          /* unknown until its content event is read */
	return t;
}

/* Add orders a content item drove on a day. */
static void
cr_content_orders(struct cr_creator *c, const char *cid, int32_t day,
    int64_t n)
{
	struct cr_content *t = cr_content(c, cid);

	for (size_t i = 0; i < t->norders; i++)
		if (t->orders[i].day == day) {
			t->orders[i].orders += n;
			return;
		}
	if (t->norders == t->cap && (t->orders = realloc(t->orders, (t->cap =
	    t->cap ? t->cap * 2 : 8) * sizeof(*t->orders))) == NULL)
		fatalx("out of memory");
	t->orders[t->norders++] = (struct pps_order_day){ day, n };
}

/* One field of sp:{P}:pps. */
static void
cr_fact(struct cr_job *job, const char *pid, const char *field,
    const char *value)
{
	char creator[EVENT_ID_MAX], date[16], rest[EVENT_ID_MAX + 4], why[64];
	const char *a = strchr(field, '\037'), *b;
	struct pps_product_day *d;
	int32_t day;

	if (a == NULL || (b = strchr(a + 1, '\037')) == NULL ||
	    (size_t)(a - field) >= sizeof(creator) || b - a - 1 >= 16)
		return;
	memcpy(creator, field, (size_t)(a - field));
	creator[a - field] = '\0';
	memcpy(date, a + 1, (size_t)(b - a - 1));
	date[b - a - 1] = '\0';
	snprintf(rest, sizeof(rest), "%s", b + 1);
	if (pps_day_parse(date, &day, why, sizeof(why)) == -1)
		return;
	if (rest[0] == 'c' && rest[1] == '\037') {
		cr_content_orders(cr_creator(job, creator), rest + 2, day,
		    strtoll(value, NULL, 10));
		return;
	}
	d = cr_day(cr_creator(job, creator), pid, day);
	if (strcmp(rest, "sps") == 0)
		d->sps = strtod(value, NULL);
	else if (strcmp(rest, "o") == 0)
		d->orders += strtoll(value, NULL, 10);
	else if (strcmp(rest, "d") == 0)
		d->delivered += strtoll(value, NULL, 10);
	else if (strcmp(rest, "p") == 0)
		d->positive += strtoll(value, NULL, 10);
	else if (strcmp(rest, "n") == 0)
		d->negative += strtoll(value, NULL, 10);
	else if (strcmp(rest, "s") == 0)
		d->negative_shipping += strtoll(value, NULL, 10);
}

/* One content record "kind|date|removed|removed_date|category". */
static void
cr_content_rec(struct cr_job *job, const char *creator, const char *cid,
    const char *v)
{
	struct cr_content *t = cr_content(cr_creator(job, creator), cid);
	char kind[16] = "", date[16] = "", rdate[16] = "", why[64];
	int removed = 0, n = 0;

	if (sscanf(v, "%15[^|]|%15[^|]|%d|%n", kind, date, &removed, &n) < 3)
		return;
	v += n;
	if (*v != '|')
		sscanf(v, "%15[^|]", rdate);
	v = strchr(v, '|');
	snprintf(t->category, sizeof(t->category), "%s", v ? v + 1 : "");
	t->c.kind = strcmp(kind, "live") == 0 ? CONTENT_LIVE : CONTENT_VIDEO;
	if (pps_day_parse(date, &t->c.day, why, sizeof(why)) == -1)
		t->c.day = -1;
	t->c.removed = removed;
	if (!removed || pps_day_parse(rdate, &t->c.removed_day, why,
	    sizeof(why)) == -1)
		t->c.removed_day = 0;
}

/* ---- replies and stages ------------------------------------------------- */

/* One reply. */
static void
cr_cell_cb(redisAsyncContext *ac, void *rp, void *priv)
{
	struct cr_cell *c = priv;
	struct cr_job *job = c->job;
	redisReply *r = rp;

	(void)ac;
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		job->failed = 1;
	else if (r->type == REDIS_REPLY_ARRAY && c->kind == 0)
		for (size_t k = 0; k + 1 < r->elements; k += 2)
			cr_fact(job, job->pids[c->i], r->element[k]->str,
			    r->element[k + 1]->str);
	else if (r->type == REDIS_REPLY_ARRAY && c->kind == 1) {
		struct cr_pstat *s = &job->pstats[c->i];

		if (r->elements == 3 && r->element[0]->str != NULL)
			snprintf(s->category, sizeof(s->category), "%s",
			    r->element[0]->str);
		s->positive = r->elements == 3 && r->element[1]->str ?
		    strtoll(r->element[1]->str, NULL, 10) : 0;
		s->reviews = r->elements == 3 && r->element[2]->str ?
		    strtoll(r->element[2]->str, NULL, 10) : 0;
	} else if (r->type == REDIS_REPLY_ARRAY && c->kind == 2)
		for (size_t k = 0; k + 1 < r->elements; k += 2)
			cr_content_rec(job, job->cids[c->i],
			    r->element[k]->str, r->element[k + 1]->str);
	else if (r->type == REDIS_REPLY_ARRAY && c->kind == 3) {
		char ***l = c->i == 0 ? &job->pids : &job->cids;
		size_t *n = c->i == 0 ? &job->npids : &job->ncids;

		if ((*l = calloc(r->elements + 1, sizeof(**l))) == NULL)
			fatalx("out of memory");
		for (size_t k = 0; k < r->elements; k++)
			if (((*l)[(*n)++] = strdup(r->element[k]->str)) == NULL)
				fatalx("out of memory");
	}
	free(c);
	if (--job->pending == 0)
		cr_stage(job);
}

/* Send one command. */
static void
cr_send(struct cr_job *job, size_t i, int kind, int argc, const char **argv)
{
	struct cr_cell *c = calloc(1, sizeof(*c));

	if (c == NULL)
		fatalx("out of memory");
	*c = (struct cr_cell){ job, i, kind };
	if (store_command(job->cr->st, cr_cell_cb, c, argc, argv, NULL) == 0)
		job->pending++;
	else {
		job->failed = 1;
		free(c);
	}
}

/* Stage 1: the product and creator ids. */
static void
cr_read_ids(struct cr_job *job)
{
	char k1[300], k2[300];
	const char *a1[2] = { "SMEMBERS", store_key(job->cr->st, k1, sizeof(k1),
	    "pps:products") }, *a2[2] = { "SMEMBERS", store_key(job->cr->st,
	    k2, sizeof(k2), "pps:creators") };

	cr_send(job, 0, 3, 2, a1);
	cr_send(job, 1, 3, 2, a2);
}

/* Stage 2: every product's facts and figures, every creator's content. */
static void
cr_read_facts(struct cr_job *job)
{
	char key[400];
	const char *argv[5];

	if ((job->pstats = calloc(job->npids + 1, sizeof(*job->pstats))) ==
	    NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < job->npids; i++) {
		snprintf(job->pstats[i].product_id,
		    sizeof(job->pstats[i].product_id), "%s", job->pids[i]);
		argv[0] = "HGETALL";
		argv[1] = store_key(job->cr->st, key, sizeof(key), "{%s}:pps",
		    job->pids[i]);
		cr_send(job, i, 0, 2, argv);
		argv[0] = "HMGET";
		argv[1] = store_key(job->cr->st, key, sizeof(key),
		    "{%s}:product", job->pids[i]);
		argv[2] = "category", argv[3] = "rev_pos", argv[4] = "rev_cnt";
		cr_send(job, i, 1, 5, argv);
	}
	for (size_t i = 0; i < job->ncids; i++) {
		argv[0] = "HGETALL";
		argv[1] = store_key(job->cr->st, key, sizeof(key),
		    "pps:content:%s", job->cids[i]);
		cr_send(job, i, 2, 2, argv);
	}
}

/* ---- scoring ------------------------------------------------------------ */

/* A product's category from the catalog figures. */
static const char *
cr_category(const struct cr_job *job, const char *pid)
{
	for (size_t i = 0; i < job->npids; i++)
		if (strcmp(job->pstats[i].product_id, pid) == 0)
			return job->pstats[i].category;
	return "";
}

/* The creator's facts as engine/pps.h wants them (arrays malloc'd). */
static void
cr_facts(const struct cr_job *job, struct cr_creator *c, struct pps_facts *f)
{
	struct pps_product *pp = calloc(c->prods.count + 1, sizeof(*pp));
	struct pps_content *pc = calloc(c->contents.count + 1, sizeof(*pc));
	size_t pos = 0, np = 0, nc = 0;
	const char *k;
	void *v;

	if (pp == NULL || pc == NULL)
		fatalx("out of memory");
	while (strmap_next(&c->prods, &pos, &k, &v)) {
		struct cr_prod *p = v;

		snprintf(p->category, sizeof(p->category), "%s",
		    cr_category(job, p->product_id));
		pp[np++] = (struct pps_product){ p->product_id, p->category,
		    p->days, p->ndays };
	}
	pos = 0;
	while (strmap_next(&c->contents, &pos, &k, &v)) {
		struct cr_content *t = v;

		t->c.content_id = t->content_id;
		t->c.category = t->category;
		t->c.orders = t->orders;
		t->c.norders = t->norders;
		if (t->c.day < 0) {     /* no content event: its first order */
			t->c.day = job->today;
			for (size_t o = 0; o < t->norders; o++)
				if (t->orders[o].day < t->c.day)
					t->c.day = t->orders[o].day;
		}
		pc[nc++] = t->c;
	}
	*f = (struct pps_facts){ c->id, pp, np, pc, nc };
}

/* Text of a JSON value (malloc'd), consuming the reference. */
static char *
cr_text(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));

	json_decref(j);
	if (s == NULL)
		fatalx("out of memory");
	return s;
}

/* The items pulling the score down, as JSON text. */
static char *
cr_drags(const struct cr_creator *c, const struct pps_facts *f,
    const struct cr_job *job)
{
	struct pps_drag d[PPS_DRAGS_MAX];
	size_t n = 0;
	char why[128];
	json_t *a = json_array();

	if (pps_drags(f, job->today, &job->cr->params, d, PPS_DRAGS_MAX, &n,
	    why, sizeof(why)) == -1)
		n = 0;
	(void)c;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:f}", "kind",
		    d[i].kind == PPS_ITEM_PRODUCT ? "product" : "content", "id",
		    d[i].id, "points", d[i].points));
	return cr_text(a);
}

/*
 * Whether the creator promotes the product: drove an order line of it
 * (even one cancelled later) dated in the window of the scored day.
 */
static int
cr_promotes(const struct cr_job *job, const struct cr_creator *c,
    const char *pid)
{
	const struct cr_prod *p = strmap_get(&c->prods, pid);

	for (size_t i = 0; p != NULL && i < p->ndays; i++)
		if (p->days[i].day <= job->today && job->today -
		    p->days[i].day < job->cr->params.window_days)
			return 1;
	return 0;
}

/*
 * Recommended products in the creator's category, leaving out those the
 * creator already promotes, as JSON text.
 */
static char *
cr_recommend(const struct cr_job *job, const struct cr_creator *c,
    const char *category)
{
	struct pps_product_stat *st = calloc(job->npids + 1, sizeof(*st));
	struct pps_recommendation rec[CR_RECOMMEND_MAX];
	size_t n = 0, ns = 0;
	char why[128];
	json_t *a = json_array();

	if (st == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < job->npids; i++)
		if (!cr_promotes(job, c, job->pstats[i].product_id))
			st[ns++] = (struct pps_product_stat){
			    job->pstats[i].product_id, job->pstats[i].category,
			    job->pstats[i].positive, job->pstats[i].reviews <
			    job->pstats[i].positive ? job->pstats[i].positive :
			    job->pstats[i].reviews };
	if (pps_recommend(st, ns, category[0] ? category : NULL,
	    &job->cr->params, rec, CR_RECOMMEND_MAX, &n, why,
	    sizeof(why)) == -1)
		n = 0;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:f, s:f}",
		    "product_id", st[rec[i].index].product_id,
		    "positive_rate", rec[i].rate, "wilson_lower", rec[i].lower));
	free(st);
	return cr_text(a);
}

/* The benefits a score unlocks, as JSON text. */
static char *
cr_benefits(int score_x100)
{
	json_t *a = json_array();

	for (int b = 0; b < PPS_BENEFIT__COUNT; b++)
		if (pps_benefit_unlocked((enum pps_benefit)b, score_x100))
			json_array_append_new(a, json_string(pps_benefit_name(
			    (enum pps_benefit)b)));
	return cr_text(a);
}

/* The eligibility thresholds the run applied, as JSON text. */
static char *
cr_thresholds(const struct pps_params *p)
{
	return cr_text(json_pack("{s:i, s:I, s:I, s:I}", "window_days",
	    p->window_days, "min_category_orders", (json_int_t)
	    p->min_category_orders, "min_videos", (json_int_t)p->min_videos,
	    "min_lives", (json_int_t)p->min_lives));
}

/* Score one creator. */
static void
cr_score(struct cr_job *job, struct cr_creator *c)
{
	struct pps_facts f;
	char why[256];

	cr_facts(job, c, &f);
	if (pps_compute(&f, job->today, &job->cr->params, &c->score, why,
	    sizeof(why)) == -1) {
		log_warnx("creator \"%s\": %s", c->id, why);
		c->score.score_x100 = -1;
		c->score.category = "";
	}
	if (pps_change(&f, job->today, PPS_CHANGE_DAYS, &job->cr->params,
	    &c->change, &c->has_change, why, sizeof(why)) == -1)
		c->has_change = 0;
	free((void *)f.products);
	free((void *)f.contents);
}

/* HSET of the creator's view, and the day's score in the history. */
static void
cr_store(struct cr_job *job, struct cr_creator *c, size_t rank, size_t of)
{
	struct pps_facts f;
	const struct pps_score *s = &c->score;
	char key[400], score[16], x100[16], change[16], rk[24], ofs[24];
	char parts[2][24], crit[64], counts[3][24];
	char *drags, *recs, *bens, *thr;
	const char *argv[48];
	int a = 0;

	cr_facts(job, c, &f);
	drags = cr_drags(c, &f, job);
	free((void *)f.products);
	free((void *)f.contents);
	recs = cr_recommend(job, c, s->category ? s->category : "");
	bens = cr_benefits(s->score_x100);
	thr = cr_thresholds(&job->cr->params);
	snprintf(counts[0], sizeof(counts[0]), "%lld",
	    (long long)s->category_delivered);
	snprintf(counts[1], sizeof(counts[1]), "%lld", (long long)s->videos);
	snprintf(counts[2], sizeof(counts[2]), "%lld", (long long)s->lives);
	score[0] = change[0] = '\0';
	if (s->score_x100 >= 0)
		snprintf(score, sizeof(score), "%.2f", s->score_x100 / 100.0);
	snprintf(x100, sizeof(x100), "%d", s->score_x100);
	if (c->has_change)
		snprintf(change, sizeof(change), "%.2f", c->change / 100.0);
	snprintf(rk, sizeof(rk), "%zu", rank);
	snprintf(ofs, sizeof(ofs), "%zu", of);
	snprintf(parts[0], sizeof(parts[0]), "%.4f", s->product);
	snprintf(parts[1], sizeof(parts[1]), "%.4f", s->content);
	snprintf(crit, sizeof(crit), "%s%s%s%s%s", s->criteria & PPS_BY_ORDERS ?
	    "orders" : "", (s->criteria & PPS_BY_ORDERS) && (s->criteria &
	    (PPS_BY_VIDEOS | PPS_BY_LIVES)) ? "," : "", s->criteria &
	    PPS_BY_VIDEOS ? "videos" : "", (s->criteria & PPS_BY_VIDEOS) &&
	    (s->criteria & PPS_BY_LIVES) ? "," : "", s->criteria &
	    PPS_BY_LIVES ? "lives" : "");
	argv[a++] = "HSET";
	argv[a++] = store_key(job->cr->st, key, sizeof(key), "pps:score:%s",
	    c->id);
#define CR_F(n, v) (argv[a++] = (n), argv[a++] = (v))
	CR_F("creator_id", c->id);
	CR_F("date", job->date);
	CR_F("score", score);
	CR_F("score_x100", x100);
	CR_F("eligible", s->eligible ? "1" : "0");
	CR_F("criteria", crit);
	CR_F("category", s->category ? s->category : "");
	CR_F("category_delivered", counts[0]);
	CR_F("videos", counts[1]);
	CR_F("lives", counts[2]);
	CR_F("thresholds", thr);
	CR_F("change_7d", change);
	CR_F("rank", s->eligible ? rk : "");
	CR_F("of", s->eligible ? ofs : "");
	CR_F("product_part", parts[0]);
	CR_F("content_part", parts[1]);
	CR_F("benefits", bens);
	CR_F("drags", drags);
	CR_F("recommendations", recs);
#undef CR_F
	cr_send(job, 0, 4, a, argv);
	argv[0] = "HSET";
	argv[1] = store_key(job->cr->st, key, sizeof(key), "pps:history:%s",
	    c->id);
	argv[2] = job->date;
	argv[3] = x100;
	cr_send(job, 0, 4, 4, argv);
	free(drags);
	free(recs);
	free(bens);
	free(thr);
}

/* Stage 3: score, rank, store. */
static void
cr_score_all(struct cr_job *job)
{
	size_t n = job->creators.count, pos = 0, i = 0, nr = 0;
	struct pps_rank_entry *e = calloc(n + 1, sizeof(*e));
	const char *k;
	void *v;

	if (e == NULL)
		fatalx("out of memory");
	while (strmap_next(&job->creators, &pos, &k, &v)) {
		struct cr_creator *c = v;

		cr_score(job, c);
		if (c->score.score_x100 < 0) {  /* unranked: no score */
			cr_store(job, c, 0, 0);
			continue;
		}
		e[nr++] = (struct pps_rank_entry){ c->id, c->score.category ?
		    c->score.category : "", c->score.score_x100, 0, 0 };
	}
	pps_rank(e, nr);
	for (i = 0; i < nr; i++)
		cr_store(job, strmap_get(&job->creators, e[i].creator_id),
		    e[i].rank, e[i].of);
	json_object_set_new(job->result, "creators", json_integer((json_int_t)
	    n));
	free(e);
}

/* Move to the next stage when a round's replies are in. */
static void
cr_stage(struct cr_job *job)
{
	struct creators *cr = job->cr;

	if (job->failed) {
		job->cb(NULL, 503, "the store did not answer", job->arg);
		cr->job = NULL;
		cr_job_free(job);
		return;
	}
	job->pending = 1;
	switch (job->stage++) {
	case 0:
		cr_read_ids(job);
		break;
	case 1:
		cr_read_facts(job);
		break;
	case 2:
		cr_score_all(job);
		break;
	default:
		log_info("creator scores for %s: %zu creators", job->date,
		    job->creators.count);
		job->cb(job->result, 200, NULL, job->arg);
		cr->job = NULL;
		cr_job_free(job);
		return;
	}
	if (--job->pending == 0)
		cr_stage(job);
}

/* Start a run. */
int
creators_run(struct creators *cr, const char *date, creators_done_cb *cb,
    void *arg)
{
	struct cr_job *job;
	char why[64];
	int32_t today;

	if (cr->job != NULL || !store_up(cr->st) ||
	    pps_day_parse(date, &today, why, sizeof(why)) == -1)
		return -1;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		fatalx("out of memory");
	job->cr = cr;
	job->cb = cb;
	job->arg = arg;
	job->today = today;
	snprintf(job->date, sizeof(job->date), "%s", date);
	strmap_init(&job->creators);
	job->result = json_pack("{s:s}", "date", date);
	cr->job = job;
	cr_stage(job);
	return 0;
}

/* ---- reading a creator's view -------------------------------------------- */

struct cr_show {
	creators_done_cb *cb;
	void *arg;
};

/* A stored field as the right JSON type. */
static json_t *
cr_field_json(const char *name, const char *v)
{
	static const char *const jsonf[] = { "benefits", "drags",
	    "recommendations", "thresholds" };
	static const char *const numf[] = { "score", "change_7d",
	    "product_part", "content_part" };
	static const char *const intf[] = { "score_x100", "rank", "of",
	    "category_delivered", "videos", "lives" };
	json_error_t je;

	for (size_t i = 0; i < sizeof(jsonf) / sizeof(jsonf[0]); i++)
		if (strcmp(name, jsonf[i]) == 0)
			return json_loads(v, 0, &je);
	if (strcmp(name, "eligible") == 0)
		return json_boolean(strcmp(v, "1") == 0);
	for (size_t i = 0; i < sizeof(numf) / sizeof(numf[0]); i++)
		if (strcmp(name, numf[i]) == 0)
			return v[0] ? json_real(strtod(v, NULL)) : json_null();
	for (size_t i = 0; i < sizeof(intf) / sizeof(intf[0]); i++)
		if (strcmp(name, intf[i]) == 0)
			return v[0] ? json_integer(strtoll(v, NULL, 10)) :
			    json_null();
	return json_string(v);
}

/* HGETALL sp:pps:score:<id>. */
static void
cr_show_cb(redisAsyncContext *ac, void *rp, void *priv)
{
	struct cr_show *s = priv;
	redisReply *r = rp;
	json_t *out;

	(void)ac;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		s->cb(NULL, 503, "the store did not answer", s->arg);
	else if (r->elements == 0)
		s->cb(NULL, 404, "no score for this creator yet (scores are "
		    "computed nightly, or by POST /v1/creators/recompute)",
		    s->arg);
	else {
		out = json_object();
		for (size_t k = 0; k + 1 < r->elements; k += 2) {
			json_t *v = cr_field_json(r->element[k]->str,
			    r->element[k + 1]->str);

			json_object_set_new(out, r->element[k]->str, v ? v :
			    json_null());
		}
		s->cb(out, 200, NULL, s->arg);
		json_decref(out);
	}
	free(s);
}

/* What a creator sees. */
int
creators_show(struct creators *cr, const char *creator_id,
    creators_done_cb *cb, void *arg)
{
	struct cr_show *s = calloc(1, sizeof(*s));
	char key[400];
	const char *argv[2] = { "HGETALL", key };

	if (s == NULL)
		fatalx("out of memory");
	s->cb = cb;
	s->arg = arg;
	store_key(cr->st, key, sizeof(key), "pps:score:%s", creator_id);
	if (store_command(cr->st, cr_show_cb, s, 2, argv, NULL) == -1) {
		free(s);
		return -1;
	}
	return 0;
}

/* ---- the nightly run ----------------------------------------------------- */

/* Log a nightly run. */
static void
cr_nightly_done(const json_t *result, int status, const char *err, void *arg)
{
	(void)result;
	(void)arg;
	if (status != 200)
		log_warnx("creator scores: %s", err);
}

/* Arm the timer for the next snapshot time. */
static void
cr_arm(struct creators *cr)
{
	int64_t now = clock_now_ms(), at;
	char today[16];
	struct timeval tv;

	clock_date(now, today);
	at = clock_day_start(today) + (int64_t)cr->cfg->schedule.snapshot_minute
	    * 60000 + 60000;    /* a minute after the T+1 snapshot */
	if (at <= now)
		at += 86400000;
	tv.tv_sec = (time_t)((at - now) / 1000);
	tv.tv_usec = (suseconds_t)((at - now) % 1000) * 1000;
	evtimer_add(cr->nightly, &tv);
}

/* Score yesterday. */
static void
cr_nightly_cb(evutil_socket_t fd, short what, void *arg)
{
	struct creators *cr = arg;
	char date[16];

	(void)fd;
	(void)what;
	clock_date(clock_now_ms() - 86400000, date);
	if (creators_run(cr, date, cr_nightly_done, NULL) == -1)
		log_warnx("creator scores of %s not computed (busy or the "
		    "store is down)", date);
	cr_arm(cr);
}

void
creators_configure(struct creators *cr, const struct sp_config *cfg)
{
	cr->cfg = cfg;
	pps_params_default(&cr->params);
	cr->params.window_days = cfg->creators.window_days;
	cr->params.min_category_orders = cfg->creators.min_category_orders;
	cr->params.min_videos = cfg->creators.min_videos;
	cr->params.min_lives = cfg->creators.min_lives;
	if (cr->nightly != NULL)
		cr_arm(cr);
}

struct creators *
creators_new(struct event_base *base, struct store *st,
    const struct sp_config *cfg)
{
	struct creators *cr = calloc(1, sizeof(*cr));

	if (cr == NULL)
		return NULL;
	cr->base = base;
	cr->st = st;
	if ((cr->nightly = evtimer_new(base, cr_nightly_cb, cr)) == NULL) {
		free(cr);
		return NULL;
	}
	creators_configure(cr, cfg);
	return cr;
}

void
creators_free(struct creators *cr)
{
	if (cr == NULL)
		return;
	if (cr->job != NULL) {
		cr->job->cb = cr_nightly_done;  /* nobody to answer */
		cr->job->arg = NULL;
	}
	event_free(cr->nightly);
	free(cr);
}
