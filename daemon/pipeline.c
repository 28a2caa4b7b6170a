/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.c - batches of events: take, load, apply, write, emit, commit.
 * See pipeline.h for the steps and their guarantees.
 */
#include "pipeline.h"
#include "clock.h"
#include "log.h"
#include "pps.h"
#include "rng.h"
#include "stats.h"
#include "strmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PL_SPS_HISTORY 1000     /* shop events kept per shop's SPS history */
#define PL_SPS_AROUND 64        /* history entries read at or before the
				 * batch's last creator order: enough unless
				 * its orders span more shop events */

/* PL_LOADED: an ahead batch, loaded, waits for the head to be written */
enum pl_phase { PL_IDLE, PL_LOADING, PL_LOADED, PL_WRITING, PL_WAITING };

struct pl_msg {
	rd_kafka_message_t *m;
	struct event ev;
	int ok;                 /* decoded */
	int prod;               /* index in prods, -1: names no product */
	int dlq;                /* poison: index in dlqs, -1: none */
	char date[ENGINE_DATE_MAX];
	char reason[EVENT_REASON_MAX];
};

struct pl_prod {
	struct product_state ps;
	struct effects fx;
	char kpos[48];          /* as loaded */
	int all_offers;         /* a campaign event: load every offer */
};

struct pl_shop {
	char shop_id[EVENT_ID_MAX];
	char **asked;           /* customers to look up */
	size_t nasked, askcap;
	char **bought;          /* customers who ordered in this batch */
	size_t nbought, boughtcap;
	char **products;        /* products with a catalog event */
	size_t nproducts, productcap;
	int64_t shop_ts;        /* the latest shop event, -1: none */
	double sps;
	int64_t orders_90d;
	int sps_asked;          /* read the stored SPS (for creators' facts) */
	double sps_now;         /* the stored SPS, -1: unknown */
	int64_t sps_now_ts;     /* its shop event's time */
	struct pps_sps *evs;    /* this batch's shop events, any order */
	size_t nevs, evcap;
	struct pps_sps *hist;   /* stored SPS history around the orders */
	size_t nhist, histcap;
	int64_t order_ts_max;   /* latest creator order of the batch */
};

struct pl_flight;

struct pl_out {
	enum fx_topic topic;
	char *key, *payload;
	int delivered;
	struct pl_flight *fl;   /* set when produced */
};

struct pl_saved {
	struct plan *plan;
	char plan_id[PLAN_ID_MAX];      /* to check the plan still exists */
	struct plan_runtime rt;
};

struct pl_req {
	struct pipeline *pl;
	size_t idx;
	unsigned gen;
};

/*
 * A struct pipeline is also one batch slot.  The handle (main) is slot 0
 * and holds the shared state (flights, held messages, timers, shop
 * times); slot 1 is main->peer.  head is the slot of the oldest batch not
 * yet emitted; once the head's writes are sent the other slot takes the
 * next batch and sends its load ("ahead"), and the roles alternate.
 */
struct pipeline {
	struct pipeline *main;  /* the handle: its shared fields are used */
	struct pipeline *peer;  /* the other slot */
	struct pipeline *head;  /* main only: the oldest batch's slot */
	int discard;            /* ahead: the head failed, put it back */
	int retried;            /* a round failed: no batch loads behind
				   this one until it is written */
	struct event_base *base;
	const struct sp_config *cfg;
	struct engine_params ep;
	struct store *st;
	struct plans *plans;
	struct kafka *kafka;
	enum pl_phase phase;
	unsigned gen;           /* bumps on every load or write round */
	rd_kafka_message_t **raw;
	struct pl_msg *msgs;
	size_t nmsgs, maxmsgs;
	struct pl_prod *prods;
	size_t nprods, prodcap;
	struct strmap prod_index;       /* product_id -> index + 1 */
	struct pl_shop *shops;
	size_t nshops, shopcap;
	struct strmap shop_index;       /* shop_id -> index + 1 */
	struct strmap buyers;           /* "shop\037customer" -> 1 or 2 */
	struct strmap pps_seen;         /* "c:<creator>", "p:<product>" */
	char **pps_creators, **pps_products;
	size_t npps_creators, npps_creatorcap, npps_products, npps_productcap;
	struct pl_req *reqs;
	size_t nreqs, reqcap;
	int pending;
	int failed;
	struct pl_out *outs;            /* the batch's, until it flies */
	size_t nouts, outcap;
	struct pl_dlq *dlqs;            /* poison messages per Kafka key */
	size_t ndlqs, dlqcap;
	struct strmap dlq_index;        /* key -> index + 1 */
	struct pl_saved *saved;         /* plan state before the apply step */
	size_t nsaved, savedcap;
	int backoff_ms;
	int64_t took_mono;
	int64_t took_ms;                /* wall clock at the take */
	int64_t t_loaded, t_applied;    /* for the debug log of a batch */
	struct event *retry_ev;
	/* shared: only main's are used */
	struct strmap shop_time;        /* shop_id -> int64_t latest event ts */
	struct pl_flight *flights, *flights_tail;
	int nflights;
	struct event *kick_ev, *commit_ev, *flight_ev;
	struct event *alive_ev, *ahead_ev;
	rd_kafka_message_t **held;      /* taken while paused or put back,
					   not yet in a batch */
	size_t nheld, heldcap;
	int draining;
	void (*drained)(void *);
	void *drained_arg;
};

static void pl_load(struct pipeline *pl);
static void pl_emit(struct pipeline *pl);
struct pl_dlq;
struct pl_flight;
static int pl_dlq_key_ok(const rd_kafka_message_t *m);
static void pl_dlq_note(struct pipeline *pl, struct pl_msg *pm, size_t idx);
static void pl_dlq_reset(struct pipeline *pl);
static void pl_dlq_send_load(struct pipeline *pl, size_t idx);
static void pl_dlq_apply(struct pipeline *pl, size_t idx);
static void pl_dlq_send_write(struct pipeline *pl, size_t idx);
static void pl_dlq_collect(struct pipeline *pl);
static void pl_dlq_outbox(struct pipeline *pl, struct pl_flight *fl);

/* ---- helpers ------------------------------------------------------------ */

/* Grow an array to hold one more element. */
static void
pl_grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	void *na;

	if (n < *cap)
		return;
	na = realloc(*arr, (*cap ? *cap * 2 : 16) * sz);
	if (na == NULL)
		fatalx("out of memory");
	*arr = na;
	*cap = *cap ? *cap * 2 : 16;
}

/* Append a copy of s to a string list. */
static void
pl_strlist_add(char ***list, size_t *n, size_t *cap, const char *s)
{
	pl_grow((void **)list, cap, *n, sizeof(**list));
	if (((*list)[*n] = strdup(s)) == NULL)
		fatalx("out of memory");
	(*n)++;
}

/* Free a string list. */
static void
pl_strlist_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* "shop\037customer" into buf (cut to len - 1 bytes; ids are short). */
static const char *
pl_buyer_key(char *buf, size_t len, const char *shop, const char *customer)
{
	size_t ls = strlen(shop), lc = strlen(customer);

	ls = ls < len - 1 ? ls : len - 1;
	memcpy(buf, shop, ls);
	if (ls < len - 1)
		buf[ls++] = '\037';
	lc = lc < len - 1 - ls ? lc : len - 1 - ls;
	memcpy(buf + ls, customer, lc);
	buf[ls + lc] = '\0';
	return buf;
}

/* Run the retry step in ms milliseconds. */
static void
pl_retry_in(struct pipeline *pl, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(pl->retry_ev, &tv);
}

/* A request slot for reply idx of the current round. */
static struct pl_req *
pl_req(struct pipeline *pl, size_t idx)
{
	pl_grow((void **)&pl->reqs, &pl->reqcap, pl->nreqs, sizeof(*pl->reqs));
	pl->reqs[pl->nreqs] = (struct pl_req){ pl, idx, pl->gen };
	return &pl->reqs[pl->nreqs++];
}

/* ---- batch state -------------------------------------------------------- */

/* Forget everything derived from the messages (not the messages). */
static void
pl_reset_state(struct pipeline *pl)
{
	for (size_t i = 0; i < pl->nprods; i++) {
		product_state_release(&pl->prods[i].ps);
		effects_release(&pl->prods[i].fx);
	}
	for (size_t i = 0; i < pl->nshops; i++) {
		pl_strlist_free(pl->shops[i].asked, pl->shops[i].nasked);
		pl_strlist_free(pl->shops[i].bought, pl->shops[i].nbought);
		pl_strlist_free(pl->shops[i].products, pl->shops[i].nproducts);
		free(pl->shops[i].evs);
		free(pl->shops[i].hist);
	}
	pl->nprods = pl->nshops = 0;
	pl_strlist_free(pl->pps_creators, pl->npps_creators);
	pl_strlist_free(pl->pps_products, pl->npps_products);
	pl->pps_creators = pl->pps_products = NULL;
	pl->npps_creators = pl->npps_products = 0;
	pl->npps_creatorcap = pl->npps_productcap = 0;
	strmap_release(&pl->pps_seen);
	strmap_release(&pl->prod_index);
	strmap_release(&pl->shop_index);
	strmap_release(&pl->buyers);
	pl_dlq_reset(pl);
	pl->failed = 0;
	pl->pending = 0;
}

/* Free the outputs of the batch. */
static void
pl_reset_outs(struct pipeline *pl)
{
	for (size_t i = 0; i < pl->nouts; i++) {
		free(pl->outs[i].key);
		free(pl->outs[i].payload);
	}
	pl->nouts = 0;
}

/* The product entry for an id, created on first use. */
static size_t
pl_prod(struct pipeline *pl, const char *product_id)
{
	uintptr_t i = (uintptr_t)strmap_get(&pl->prod_index, product_id);
	struct pl_prod *p;

	if (i != 0)
		return i - 1;
	pl_grow((void **)&pl->prods, &pl->prodcap, pl->nprods,
	    sizeof(*pl->prods));
	p = &pl->prods[pl->nprods];
	product_state_init(&p->ps, product_id);
	effects_init(&p->fx);
	p->kpos[0] = '\0';
	p->all_offers = 0;
	if (strmap_put(&pl->prod_index, product_id,
	    (void *)(uintptr_t)(pl->nprods + 1)) == -1)
		fatalx("out of memory");
	return pl->nprods++;
}

/* The shop entry for an id, created on first use. */
static struct pl_shop *
pl_shop(struct pipeline *pl, const char *shop_id)
{
	uintptr_t i = (uintptr_t)strmap_get(&pl->shop_index, shop_id);
	struct pl_shop *s;

	if (i != 0)
		return &pl->shops[i - 1];
	pl_grow((void **)&pl->shops, &pl->shopcap, pl->nshops,
	    sizeof(*pl->shops));
	s = &pl->shops[pl->nshops];
	memset(s, 0, sizeof(*s));
	s->shop_ts = -1;
	s->sps_now = -1;
	snprintf(s->shop_id, sizeof(s->shop_id), "%s", shop_id);
	if (strmap_put(&pl->shop_index, shop_id,
	    (void *)(uintptr_t)(pl->nshops + 1)) == -1)
		fatalx("out of memory");
	pl->nshops++;
	return s;
}

/* Ask whether this customer has bought from the shop (once per batch). */
static void
pl_ask_buyer(struct pipeline *pl, const char *shop, const char *customer)
{
	char key[2 * EVENT_ID_MAX + 2];
	struct pl_shop *s;

	pl_buyer_key(key, sizeof(key), shop, customer);
	if (strmap_get(&pl->buyers, key) != NULL)
		return;
	if (strmap_put(&pl->buyers, key, (void *)(uintptr_t)2) == -1)
		fatalx("out of memory");
	s = pl_shop(pl, shop);
	pl_strlist_add(&s->asked, &s->nasked, &s->askcap, customer);
}

/* Note a creator (and a product it drove) for the creators' indexes. */
static void
pl_pps_note(struct pipeline *pl, const char *creator, const char *product)
{
	char key[EVENT_ID_MAX + 4];

	snprintf(key, sizeof(key), "c:%s", creator);
	if (strmap_get(&pl->pps_seen, key) == NULL) {
		strmap_put(&pl->pps_seen, key, pl);
		pl_strlist_add(&pl->pps_creators, &pl->npps_creators,
		    &pl->npps_creatorcap, creator);
	}
	if (product == NULL)
		return;
	snprintf(key, sizeof(key), "p:%s", product);
	if (strmap_get(&pl->pps_seen, key) == NULL) {
		strmap_put(&pl->pps_seen, key, pl);
		pl_strlist_add(&pl->pps_products, &pl->npps_products,
		    &pl->npps_productcap, product);
	}
}

/* Note shop-level facts: its catalog index, its performance, its time. */
static void
pl_prepare_shop(struct pipeline *pl, const struct event *ev)
{
	struct pl_shop *s;
	int64_t *last = strmap_get(&pl->main->shop_time, ev->shop_id);

	if (last == NULL) {
		if ((last = malloc(sizeof(*last))) == NULL ||
		    strmap_put(&pl->main->shop_time, ev->shop_id, last) == -1)
			fatalx("out of memory");
		*last = ev->ts;
	} else if (ev->ts > *last)
		*last = ev->ts;
	if (ev->type == EV_PRODUCT) {
		s = pl_shop(pl, ev->shop_id);
		pl_strlist_add(&s->products, &s->nproducts, &s->productcap,
		    ev->product_id);
	} else if (ev->type == EV_SHOP) {
		s = pl_shop(pl, ev->shop_id);
		pl_grow((void **)&s->evs, &s->evcap, s->nevs, sizeof(*s->evs));
		s->evs[s->nevs++] = (struct pps_sps){ ev->ts, ev->u.shop.sps };
		if (ev->ts >= s->shop_ts) {
			s->shop_ts = ev->ts;
			s->sps = ev->u.shop.sps;
			s->orders_90d = ev->u.shop.orders_90d;
		}
	} else if (ev->type == EV_ORDER && ev->u.order.creator_id[0] != '\0') {
		s = pl_shop(pl, ev->shop_id);
		if (!s->sps_asked || ev->ts > s->order_ts_max)
			s->order_ts_max = ev->ts;
		s->sps_asked = 1;
		pl_pps_note(pl, ev->u.order.creator_id, ev->product_id);
	} else if (ev->type == EV_CONTENT)
		pl_pps_note(pl, ev->u.content.creator_id, NULL);
}

/* Note what one event needs loaded. */
static void
pl_prepare_msg(struct pipeline *pl, struct pl_msg *pm)
{
	struct event *ev = &pm->ev;
	struct product_state *ps;

	pm->prod = -1;
	pm->dlq = -1;
	if (!pm->ok) {
		if (pm->m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
		    pl_dlq_key_ok(pm->m))
			pl_dlq_note(pl, pm, (size_t)(pm - pl->msgs));
		return;
	}
	pl_prepare_shop(pl, ev);
	if (ev->product_id[0] == '\0')
		return;
	pm->prod = (int)pl_prod(pl, ev->product_id);
	ps = &pl->prods[pm->prod].ps;
	if (ev->type == EV_CAMPAIGN)    /* it may re-issue standing offers */
		pl->prods[pm->prod].all_offers = 1;
	if ((ev->type == EV_PAGE_VIEW || ev->type == EV_SELLER_PROMOTION ||
	    ev->type == EV_CAMPAIGN) &&
	    product_state_outbox(ps, pm->m->partition, pm->m->offset,
	    NULL) == -1)
		fatalx("out of memory");
	if (ev->type == EV_PAGE_VIEW) {
		if (product_state_offer(ps, ev->u.page_view.customer_id) == NULL)
			fatalx("out of memory");
		pl_ask_buyer(pl, ev->shop_id, ev->u.page_view.customer_id);
	} else if (ev->type == EV_ORDER) {
		if (product_state_offer(ps, ev->u.order.customer_id) == NULL ||
		    product_state_order(ps, ev->u.order.order_id) == NULL)
			fatalx("out of memory");
		pl_ask_buyer(pl, ev->shop_id, ev->u.order.customer_id);
	} else if (ev->type == EV_ORDER_UPDATE) {
		if (product_state_order(ps, ev->u.order_update.order_id) == NULL)
			fatalx("out of memory");
	} else if (ev->type == EV_REVIEW) {
		if (product_state_order(ps, ev->u.review.order_id) == NULL)
			fatalx("out of memory");
	}
}

/* Decode every message; bad ones get their reason. */
static void
pl_decode(struct pipeline *pl)
{
	for (size_t i = 0; i < pl->nmsgs; i++) {
		struct pl_msg *pm = &pl->msgs[i];
		rd_kafka_message_t *m = pm->m;

		pm->ok = 0;
		pm->reason[0] = '\0';
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
			continue;
		if (event_decode(m->payload, m->len, &pm->ev, pm->reason,
		    sizeof(pm->reason)) == 0) {
			pm->ok = 1;
			clock_date(pm->ev.ts, pm->date);
		}
	}
}

/* ---- load --------------------------------------------------------------- */

/* Flat name/value arrays of an HGETALL reply (pointers into it). */
static size_t
pl_flat(const redisReply *r, const char ***names, const char ***values)
{
	size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements / 2 : 0;

	*names = calloc(n + 1, sizeof(**names));
	*values = calloc(n + 1, sizeof(**values));
	if (*names == NULL || *values == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < n; i++) {
		(*names)[i] = r->element[2 * i]->str ? r->element[2 * i]->str :
		    "";
		(*values)[i] = r->element[2 * i + 1]->str ?
		    r->element[2 * i + 1]->str : "";
	}
	return n;
}

/* Fill a product's state from its load reply (store_load_parts). */
static int
pl_fill_prod(struct pl_prod *p, const redisReply *const *slot)
{
	const char **names, **values;
	char err[256];
	size_t n;
	int rc = 0;

	n = pl_flat(slot[0], &names, &values);
	if (product_state_load(&p->ps, names, values, n, err,
	    sizeof(err)) == -1)
		rc = -1;
	free(names);
	free(values);
	n = pl_flat(slot[1], &names, &values);
	if (rc == 0 && product_state_load_arms(&p->ps, names, values, n, err,
	    sizeof(err)) == -1)
		log_warnx("%s; learning restarts for this product", err);
	free(names);
	free(values);
	if (rc == -1)
		log_warnx("%s", err);
	product_state_kpos(&p->ps, p->kpos, sizeof(p->kpos));
	return rc;
}

/* Every offer record of the product (HGETALL pairs), for a campaign
 * event; the customers the batch asked for are loaded already. */
static void
pl_fill_all_offers(struct pl_prod *p, const redisReply *all)
{
	for (size_t i = 0; i + 1 < all->elements; i += 2) {
		const redisReply *k = all->element[i], *v = all->element[i + 1];
		struct offer_rec *o;

		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if ((o = product_state_offer(&p->ps, k->str)) == NULL)
			fatalx("out of memory");
		if (!o->loaded && offer_rec_parse(o, v->str) == -1)
			log_warnx("product \"%s\": bad offer record \"%s\"",
			    p->ps.product_id, v->str);
	}
}

/* Fill the offer and order records a product's load reply returned. */
static void
pl_fill_records(struct pl_prod *p, const redisReply *const *slot)
{
	const redisReply *offers = slot[2], *orders = slot[3];
	const redisReply *views = slot[4], *outbox = slot[5];

	for (size_t i = 0; i < p->ps.noutbox && i < outbox->elements; i++)
		if (outbox->element[i]->type == REDIS_REPLY_STRING &&
		    product_state_outbox(&p->ps, p->ps.outbox[i].partition,
		    p->ps.outbox[i].offset, outbox->element[i]->str) == -1)
			fatalx("out of memory");

	for (size_t i = 0; i < p->ps.noffers && i < offers->elements; i++) {
		const redisReply *v = offers->element[i];

		if (v->type == REDIS_REPLY_STRING &&
		    offer_rec_parse(&p->ps.offers[i], v->str) == -1)
			log_warnx("product \"%s\": bad offer record \"%s\"",
			    p->ps.product_id, v->str);
	}
	for (size_t i = 0; i < p->ps.noffers && i < views->elements; i++) {
		const redisReply *v = views->element[i];

		if (v->type == REDIS_REPLY_STRING &&
		    offer_rec_parse_view(&p->ps.offers[i], v->str) == -1)
			log_warnx("product \"%s\": bad view record \"%s\"",
			    p->ps.product_id, v->str);
	}
	pl_fill_all_offers(p, slot[STORE_LOAD_ALL_OFFERS]);
	for (size_t i = 0; i < p->ps.norders && i < orders->elements; i++) {
		const redisReply *v = orders->element[i];

		if (v->type == REDIS_REPLY_STRING &&
		    order_rec_parse(&p->ps.orders[i], v->str) == -1)
			log_warnx("product \"%s\": bad order record \"%s\"",
			    p->ps.product_id, v->str);
	}
}

/* Keep the learner state of plan p (NULL: none) once per batch. */
static void
pl_save_plan(struct pipeline *pl, struct plan *p)
{
	size_t j;

	if (p == NULL)
		return;
	for (j = 0; j < pl->nsaved && pl->saved[j].plan != p; j++)
		;
	if (j < pl->nsaved)
		return;
	pl_grow((void **)&pl->saved, &pl->savedcap, pl->nsaved,
	    sizeof(*pl->saved));
	pl->saved[pl->nsaved].plan = p;
	memcpy(pl->saved[pl->nsaved].plan_id, p->plan_id, sizeof(p->plan_id));
	pl->saved[pl->nsaved++].rt = p->rt;
}

/* Keep the learner state of every plan the batch touches. */
static void
pl_save_plans(struct pipeline *pl)
{
	pl->nsaved = 0;
	for (size_t i = 0; i < pl->nmsgs; i++) {
		struct pl_msg *pm = &pl->msgs[i];
		const char *vplan;

		if (pm->prod < 0)
			continue;
		pl_save_plan(pl, plans_for_product_at(pl->plans,
		    pm->ev.product_id, pm->ev.ts));
		/* a voucher order may credit its own, even ended, plan */
		if ((vplan = engine_order_offer_plan(&pl->prods[pm->prod].ps,
		    &pm->ev)) != NULL)
			pl_save_plan(pl, plans_get(pl->plans, vplan));
	}
}

/* A failed write: the retry must not count the batch in them twice. */
static void
pl_restore_plans(struct pipeline *pl)
{
	for (size_t i = 0; i < pl->nsaved; i++)
		if (plans_get(pl->plans, pl->saved[i].plan_id) ==
		    pl->saved[i].plan)
			pl->saved[i].plan->rt = pl->saved[i].rt;
	pl->nsaved = 0;
}

static void pl_ahead_drop(struct pipeline *b);

/* The head's write failed: its ahead batch read Redis too early. */
static void
pl_ahead_cancel(struct pipeline *b)
{
	if (b->phase == PL_LOADED)
		pl_ahead_drop(b);
	else if (b->phase == PL_LOADING)
		b->discard = 1;         /* dropped once its replies are in */
}

/* A round of the head batch ended: on failure retry it after the
 * backoff (from the load step), else go on with next. */
static void
pl_round_end(struct pipeline *pl, void (*next)(struct pipeline *))
{
	if (pl->failed) {
		struct timeval tv = { pl->backoff_ms / 1000,
		    (pl->backoff_ms % 1000) * 1000 };

		if (pl->phase == PL_WRITING) {
			pl_restore_plans(pl);
			pl_ahead_cancel(pl->peer);
		}
		pl->retried = 1;
		pl->phase = PL_WAITING;
		evtimer_add(pl->retry_ev, &tv);
		pl->backoff_ms = pl->backoff_ms * 2 > 5000 ? 5000 :
		    pl->backoff_ms * 2;
		return;
	}
	next(pl);
}

/*
 * One reply of a round finished; the last one moves on.  An ahead
 * batch's load (not the head's) then waits for the head's writes to be
 * acknowledged (pl_emit applies it), or is put back if they failed.
 */
static void
pl_round_done(struct pipeline *pl, void (*next)(struct pipeline *))
{
	if (--pl->pending > 0)
		return;
	if (pl->discard || (pl != pl->main->head &&
	    pl->peer->phase != PL_WRITING))
		pl_ahead_drop(pl);
	else if (pl != pl->main->head)
		pl->phase = PL_LOADED;
	else
		pl_round_end(pl, next);
}

/* Note a failed reply (not counted again for an ahead batch whose head
 * failed: the same failure). */
static void
pl_reply_failed(struct pipeline *pl, const redisReply *r, const char *what)
{
	if (pl->discard) {
		pl->failed = 1;
		return;
	}
	if (!pl->failed)
		log_warnx("redis %s failed: %s", what,
		    r == NULL ? "connection lost or timed out" :
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	if (store_reply_is(r, "CONFLICT"))
		stats.redis_conflicts++;
	else
		stats.redis_errors++;
	pl->failed = 1;
}

static void pl_apply(struct pipeline *pl);

/* What a product's load asks for; ids (NULL: counts only) holds the
 * customers, orders and outbox positions, in that order. */
static void
pl_load_ask(const struct pl_prod *p, const char **ids,
    struct store_load_ask *ask)
{
	const struct product_state *ps = &p->ps;

	*ask = (struct store_load_ask){ ids, ps->noffers,
	    ids ? ids + ps->noffers : NULL, ps->norders,
	    ids ? ids + ps->noffers + ps->norders : NULL, ps->noutbox,
	    p->all_offers };
}

/* Reply to a product's load transaction. */
static void
pl_load_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct pl_req *rq = priv;
	struct pipeline *pl = rq->pl;
	redisReply *reply = r;
	const redisReply *slot[STORE_LOAD_PARTS];
	struct store_load_ask ask;

	(void)ac;
	if (rq->gen != pl->gen)
		return;
	pl_load_ask(&pl->prods[rq->idx], NULL, &ask);
	if (store_load_parts(reply, &ask, slot) == -1)
		pl_reply_failed(pl, reply, "load");
	else if (pl_fill_prod(&pl->prods[rq->idx], slot) == 0)
		pl_fill_records(&pl->prods[rq->idx], slot);
	pl_round_done(pl, pl_apply);
}

/* Reply to a shop's SMISMEMBER. */
static void
pl_buyers_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct pl_req *rq = priv;
	struct pipeline *pl = rq->pl;
	redisReply *reply = r;
	struct pl_shop *s;
	char key[2 * EVENT_ID_MAX + 2];

	(void)ac;
	if (rq->gen != pl->gen)
		return;
	s = &pl->shops[rq->idx];
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != s->nasked)
		pl_reply_failed(pl, reply, "buyers lookup");
	else
		for (size_t i = 0; i < s->nasked; i++)
			if (reply->element[i]->integer == 1)
				strmap_put(&pl->buyers, pl_buyer_key(key,
				    sizeof(key), s->shop_id, s->asked[i]),
				    (void *)(uintptr_t)1);
	pl_round_done(pl, pl_apply);
}

/* Send a command of the current round. */
static void
pl_send(struct pipeline *pl, redisCallbackFn *fn, size_t idx, int argc,
    const char **argv, const size_t *lens)
{
	if (store_command(pl->st, fn, pl_req(pl, idx), argc, argv, lens) == 0)
		pl->pending++;
	else
		pl->failed = 1;
}

/* Load one product's state (store_load: one transaction of reads). */
static void
pl_send_load(struct pipeline *pl, size_t idx)
{
	struct product_state *ps = &pl->prods[idx].ps;
	const char **ids = calloc(ps->noffers + ps->norders + ps->noutbox + 1,
	    sizeof(*ids));
	struct store_load_ask ask;
	char (*pos)[48];
	size_t a = 0;

	pos = calloc(ps->noutbox + 1, sizeof(*pos));
	if (ids == NULL || pos == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < ps->noffers; i++)
		ids[a++] = ps->offers[i].customer_id;
	for (size_t i = 0; i < ps->norders; i++)
		ids[a++] = ps->orders[i].order_id;
	for (size_t i = 0; i < ps->noutbox; i++) {
		engine_outbox_field(ps->outbox[i].partition,
		    ps->outbox[i].offset, pos[i], sizeof(pos[i]));
		ids[a++] = pos[i];
	}
	pl_load_ask(&pl->prods[idx], ids, &ask);
	if (store_load(pl->st, ps->product_id, &ask, pl_load_cb,
	    pl_req(pl, idx)) == 0)
		pl->pending++;
	else
		pl->failed = 1;
	free(pos);
	free(ids);
}

/* cmd (SMISMEMBER or SADD) on a set with members. */
static void
pl_send_members(struct pipeline *pl, size_t idx, const char *cmd,
    const char *key, char **members, size_t n, redisCallbackFn *cb)
{
	const char **argv = calloc(n + 2, sizeof(*argv));

	if (argv == NULL)
		fatalx("out of memory");
	argv[0] = cmd;
	argv[1] = key;
	for (size_t i = 0; i < n; i++)
		argv[2 + i] = members[i];
	pl_send(pl, cb, idx, (int)n + 2, argv, NULL);
	free(argv);
}

/* cmd (SMISMEMBER or SADD) on a shop's buyers set with customers. */
static void
pl_send_buyers(struct pipeline *pl, size_t idx, const char *cmd,
    char **customers, size_t n, redisCallbackFn *cb)
{
	char key[300];

	pl_send_members(pl, idx, cmd, store_key(pl->st, key, sizeof(key),
	    "buyers:%s", pl->shops[idx].shop_id), customers, n, cb);
}

static void pl_write_cb(redisAsyncContext *, void *, void *);

/* SADD of members to a set, as part of the write round. */
static void
pl_send_set(struct pipeline *pl, size_t idx, const char *key,
    char **members, size_t n)
{
	pl_send_members(pl, idx, "SADD", key, members, n, pl_write_cb);
}

/* The stored SPS of a shop. */
static void
pl_sps_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct pl_req *rq = priv;
	struct pipeline *pl = rq->pl;
	redisReply *reply = r;

	(void)ac;
	if (rq->gen != pl->gen)
		return;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		pl_reply_failed(pl, reply, "shop figures");
	else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING) {
		pl->shops[rq->idx].sps_now = strtod(reply->element[0]->str,
		    NULL);
		if (reply->element[1]->type == REDIS_REPLY_STRING)
			pl->shops[rq->idx].sps_now_ts = strtoll(
			    reply->element[1]->str, NULL, 10);
	}
	pl_round_done(pl, pl_apply);
}

/* Entries "ts|sps" of sp:shop:<shop>:sps into the shop's history. */
static void
pl_sps_hist_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct pl_req *rq = priv;
	struct pipeline *pl = rq->pl;
	redisReply *reply = r;
	struct pl_shop *s;
	char *bar;

	(void)ac;
	if (rq->gen != pl->gen)
		return;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		pl_reply_failed(pl, reply, "shop SPS history");
	else if (reply->type == REDIS_REPLY_ARRAY) {
		s = &pl->shops[rq->idx];
		for (size_t k = 0; k < reply->elements; k++) {
			if (reply->element[k]->type != REDIS_REPLY_STRING ||
			    (bar = strchr(reply->element[k]->str, '|')) == NULL)
				continue;
			pl_grow((void **)&s->hist, &s->histcap, s->nhist,
			    sizeof(*s->hist));
			s->hist[s->nhist++] = (struct pps_sps){ strtoll(
			    reply->element[k]->str, NULL, 10), strtod(bar + 1,
			    NULL) };
		}
	}
	pl_round_done(pl, pl_apply);
}

/*
 * What the SPS was around the batch's creator orders: HMGET sp:shop:<shop>
 * sps ts (the latest), and from sp:shop:<shop>:sps the PL_SPS_AROUND
 * latest at or before the batch's last order and the first after it.
 */
static void
pl_send_sps(struct pipeline *pl, size_t idx)
{
	char key[300], hkey[300], max[24], after[24], lim[16];
	const char *argv[4] = { "HMGET", store_key(pl->st, key, sizeof(key),
	    "shop:%s", pl->shops[idx].shop_id), "sps", "ts" };
	const char *before[7] = { "ZREVRANGEBYSCORE", store_key(pl->st, hkey,
	    sizeof(hkey), "shop:%s:sps", pl->shops[idx].shop_id), max, "-inf",
	    "LIMIT", "0", lim };
	const char *next[7] = { "ZRANGEBYSCORE", hkey, after, "+inf", "LIMIT",
	    "0", "1" };

	snprintf(max, sizeof(max), "%" PRId64, pl->shops[idx].order_ts_max);
	snprintf(after, sizeof(after), "(%" PRId64,
	    pl->shops[idx].order_ts_max);
	snprintf(lim, sizeof(lim), "%d", PL_SPS_AROUND);
	pl_send(pl, pl_sps_cb, idx, 4, argv, NULL);
	pl_send(pl, pl_sps_hist_cb, idx, 7, before, NULL);
	pl_send(pl, pl_sps_hist_cb, idx, 7, next, NULL);
}

/* Start a round of Redis commands: a new generation of requests.  No
 * timer of its own: the store fails every command that has no reply
 * within [redis] timeout_ms (store.h), which ends the round as failed. */
static void
pl_round_begin(struct pipeline *pl, enum pl_phase phase)
{
	pl->phase = phase;
	pl->gen++;
	pl->nreqs = 0;
	free(pl->reqs);
	/* reqs must not move while replies are pending: size it first */
	pl->reqcap = pl->nprods + 6 * pl->nshops + pl->nmsgs + pl->ndlqs + 3;
	if ((pl->reqs = calloc(pl->reqcap, sizeof(*pl->reqs))) == NULL)
		fatalx("out of memory");
	pl->pending = 1;        /* released by the round's own call below */
}

/* Start (or restart) the load round of the batch. */
static void
pl_load(struct pipeline *pl)
{
	pl_reset_state(pl);
	for (size_t i = 0; i < pl->nmsgs; i++)
		pl_prepare_msg(pl, &pl->msgs[i]);
	pl_round_begin(pl, PL_LOADING);
	for (size_t i = 0; i < pl->nprods; i++)
		pl_send_load(pl, i);
	for (size_t i = 0; i < pl->ndlqs; i++)
		pl_dlq_send_load(pl, i);
	for (size_t i = 0; i < pl->nshops; i++) {
		if (pl->shops[i].nasked > 0)
			pl_send_buyers(pl, i, "SMISMEMBER", pl->shops[i].asked,
			    pl->shops[i].nasked, pl_buyers_cb);
		if (pl->shops[i].sps_asked)
			pl_send_sps(pl, i);
	}
	pl_round_done(pl, pl_apply);
}

/* ---- apply -------------------------------------------------------------- */

/* Note an order's customer as a buyer of the shop from now on. */
static void
pl_note_buyer(struct pipeline *pl, const struct event *ev)
{
	char key[2 * EVENT_ID_MAX + 2];
	struct pl_shop *s;

	pl_buyer_key(key, sizeof(key), ev->shop_id, ev->u.order.customer_id);
	if ((uintptr_t)strmap_get(&pl->buyers, key) == 1)
		return;
	strmap_put(&pl->buyers, key, (void *)(uintptr_t)1);
	s = pl_shop(pl, ev->shop_id);
	pl_strlist_add(&s->bought, &s->nbought, &s->boughtcap,
	    ev->u.order.customer_id);
}

/* Whether the event's customer is a returning buyer of the shop. */
static int
pl_returning(struct pipeline *pl, const struct event *ev)
{
	char key[2 * EVENT_ID_MAX + 2];
	const char *c = ev->type == EV_PAGE_VIEW ? ev->u.page_view.customer_id :
	    ev->type == EV_ORDER ? ev->u.order.customer_id : NULL;

	if (c == NULL)
		return 0;
	return (uintptr_t)strmap_get(&pl->buyers, pl_buyer_key(key,
	    sizeof(key), ev->shop_id, c)) == 1;
}

/*
 * The shop's SPS at the time ts of an order (docs/pps.md): of the stored
 * history, the stored latest and this batch's shop events, the latest
 * whose event time is <= ts, else the earliest after ts; -1 if none.
 */
static double
pl_shop_sps(struct pipeline *pl, const char *shop_id, int64_t ts)
{
	uintptr_t i = (uintptr_t)strmap_get(&pl->shop_index, shop_id);
	const struct pl_shop *s;
	const struct pps_sps *best = NULL;
	struct pps_sps stored;

	if (i == 0)
		return -1;
	s = &pl->shops[i - 1];
	stored = (struct pps_sps){ s->sps_now_ts, s->sps_now };
	if (s->sps_now >= 0)
		best = &stored;
	best = pps_sps_pick(best, s->evs, s->nevs, ts);
	best = pps_sps_pick(best, s->hist, s->nhist, ts);
	return best != NULL ? best->sps : -1;
}

/* Apply one decoded event to its product. */
static void
pl_apply_msg(struct pipeline *pl, struct pl_msg *pm)
{
	struct pl_prod *p = &pl->prods[pm->prod];
	struct engine_input in = {
		.ev = &pm->ev, .partition = pm->m->partition,
		.offset = pm->m->offset, .date = pm->date,
		.returning = pl_returning(pl, &pm->ev),
		.plan = plans_for_product_at(pl->plans, pm->ev.product_id,
		    pm->ev.ts),
		.sps = pm->ev.type == EV_ORDER ? pl_shop_sps(pl,
		    pm->ev.shop_id, pm->ev.ts) : -1,
		.now_ms = pl->took_ms,
	};
	const char *vplan = engine_order_offer_plan(&p->ps, &pm->ev);
	int view = pm->ev.type == EV_PAGE_VIEW;
	int64_t t0 = view ? clock_mono_ns() : 0;

	in.offer_plan = vplan != NULL ? plans_get(pl->plans, vplan) : NULL;
	if (engine_apply(&pl->ep, &p->ps, &in, &p->fx) == -1)
		fatalx("out of memory applying an event");
	if (view)
		stats_observe_decision((double)(clock_mono_ns() - t0) / 1e9);
	if (pm->ev.type == EV_ORDER)
		pl_note_buyer(pl, &pm->ev);
}

static void pl_write(struct pipeline *pl);

/* Run the engine over the batch in Kafka order. */
static void
pl_apply(struct pipeline *pl)
{
	pl->t_loaded = clock_mono_ms();
	if (kafka_paused(pl->kafka))
		kafka_pause(pl->kafka, 0);
	pl_save_plans(pl);
	for (size_t i = 0; i < pl->nmsgs; i++)
		if (pl->msgs[i].prod >= 0)
			pl_apply_msg(pl, &pl->msgs[i]);
	for (size_t i = 0; i < pl->nprods; i++)
		if (engine_flush(&pl->prods[i].ps, &pl->prods[i].fx) == -1)
			fatalx("out of memory");
	for (size_t i = 0; i < pl->ndlqs; i++)
		pl_dlq_apply(pl, i);
	pl->t_applied = clock_mono_ms();
	pl_write(pl);
}

/* ---- write -------------------------------------------------------------- */

struct pl_keys {
	char (*names)[320];     /* KEYS of the script call, in order */
	size_t *lens;
	enum fx_key *kind;      /* of each */
	const char **date;      /* of each dated key (day, uniq) */
	size_t n;               /* keys so far */
	int fixed[FX_OUTBOX + 1];       /* 1-based index of a per-product
					   key, 0: not named yet */
	char *ttl;              /* comma list of the dated keys' indexes */
	size_t nttl;
};

/* Name the next key of the call: prefix, "{pid", then parts (NULL-ended
 * by the caller's sentinel). */
#define PL_KEY_NAME(pl, k, pid, ...) \
	((k)->lens[(k)->n] = store_keycat((pl)->st, (k)->names[(k)->n], \
	    sizeof((k)->names[0]), "{", (pid), __VA_ARGS__, (const char *)NULL))

/* The index (1-based) of a key in the script call, added when new: only
 * the keys the writes touch are passed, KEYS[1] always the product. */
static int
pl_key_index(struct pipeline *pl, struct pl_keys *k, const char *pid,
    const struct fx_write *w)
{
	static const char *const kinds[FX_OUTBOX + 1] = { "}:product",
	    "}:arms", "}:offers", "}:orders", "}:views", "}:pps", "}:outbox" };

	if (w->key <= FX_OUTBOX) {
		if (k->fixed[w->key] == 0) {
			PL_KEY_NAME(pl, k, pid, kinds[w->key]);
			k->kind[k->n] = w->key;
			k->fixed[w->key] = (int)++k->n;
		}
		return k->fixed[w->key];
	}
	for (size_t i = 1; i < k->n; i++)
		if (k->kind[i] == w->key && strcmp(k->date[i], w->date) == 0)
			return (int)i + 1;
	if (w->key == FX_DAY)
		PL_KEY_NAME(pl, k, pid, "}:day:", w->date);
	else
		PL_KEY_NAME(pl, k, pid, "}:uniq:", w->date,
		    w->key == FX_UNIQ_T ? ":t" : ":c");
	k->kind[k->n] = w->key;
	k->date[k->n] = w->date;
	if (k->nttl > 0)
		k->ttl[k->nttl++] = ',';
	k->nttl += store_fmt_int(k->ttl + k->nttl, (long long)k->n + 1);
	return (int)++k->n;
}

/* Reply to a write script or SADD: only failures matter. */
static void
pl_write_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct pl_req *rq = priv;
	struct pipeline *pl = rq->pl;
	redisReply *reply = r;

	(void)ac;
	if (rq->gen != pl->gen)
		return;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		pl_reply_failed(pl, reply, "write");
	pl_round_done(pl, pl_emit);
}

/*
 * The writes of one product grouped per (operation, key): one multi-field
 * HSET per hash (a field written twice keeps its last value), one HINCRBY
 * per counter with the deltas summed, one PFADD per HyperLogLog.
 */
struct pl_group {
	char op;                /* 'H', 'I' or 'P' */
	int key;                /* 1-based index in KEYS */
	const char **item;      /* H: field, value pairs; I: fields; P: elems */
	int64_t *sum;           /* I: the summed deltas */
	size_t n, cap;
	struct strmap pos;      /* field -> index + 1 (H and I), once the
				   group has more than PL_GROUP_SCAN */
};

#define PL_GROUP_SCAN 16        /* fields found by a scan, not a map */

struct pl_groups {
	struct pl_group *g;
	size_t n, cap;
};

/* The group of (op, key), created on first use. */
static struct pl_group *
pl_group(struct pl_groups *gs, char op, int key)
{
	struct pl_group *g;

	for (size_t i = 0; i < gs->n; i++)
		if (gs->g[i].op == op && gs->g[i].key == key)
			return &gs->g[i];
	pl_grow((void **)&gs->g, &gs->cap, gs->n, sizeof(*gs->g));
	g = &gs->g[gs->n++];
	memset(g, 0, sizeof(*g));
	g->op = op;
	g->key = key;
	strmap_init(&g->pos);
	return g;
}

/* Room for one more item (two pointers for H). */
static void
pl_group_room(struct pl_group *g)
{
	size_t need = g->op == 'H' ? 2 * g->n + 2 : g->n + 1;

	if (need <= g->cap)
		return;
	g->cap = need < 16 ? 32 : need * 2;
	g->item = realloc(g->item, g->cap * sizeof(*g->item));
	if (g->op == 'I' && (g->sum = realloc(g->sum, g->cap *
	    sizeof(*g->sum))) == NULL)
		fatalx("out of memory");
	if (g->item == NULL)
		fatalx("out of memory");
}

/* The field's index + 1 in an H or I group, 0: not there. */
static size_t
pl_group_find(const struct pl_group *g, const char *field)
{
	size_t per = g->op == 'H' ? 2 : 1;

	if (g->n > PL_GROUP_SCAN)
		return (uintptr_t)strmap_get(&g->pos, field);
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->item[per * i], field) == 0)
			return i + 1;
	return 0;
}

/* Note the field of item i (0-based) for pl_group_find(). */
static void
pl_group_note(struct pl_group *g, size_t i)
{
	size_t per = g->op == 'H' ? 2 : 1;

	if (g->n < PL_GROUP_SCAN)
		return;
	if (g->n == PL_GROUP_SCAN)      /* the first past the scan: map all */
		for (size_t j = 0; j < i; j++)
			if (strmap_put(&g->pos, g->item[per * j],
			    (void *)(uintptr_t)(j + 1)) == -1)
				fatalx("out of memory");
	if (strmap_put(&g->pos, g->item[per * i], (void *)(uintptr_t)(i +
	    1)) == -1)
		fatalx("out of memory");
}

/* Add one write to its group. */
static void
pl_group_add(struct pl_groups *gs, const struct fx_write *w, int key)
{
	char op = w->op == FX_HSET ? 'H' : w->op == FX_HINCRBY ? 'I' : 'P';
	struct pl_group *g = pl_group(gs, op, key);
	size_t at = op == 'P' ? 0 : pl_group_find(g, w->field);

	if (at != 0) {
		if (op == 'H')
			g->item[2 * (at - 1) + 1] = w->value;
		else
			g->sum[at - 1] += strtoll(w->value, NULL, 10);
		return;
	}
	pl_group_room(g);
	if (op == 'H') {
		g->item[2 * g->n] = w->field;
		g->item[2 * g->n + 1] = w->value;
	} else if (op == 'I') {
		g->item[g->n] = w->field;
		g->sum[g->n] = strtoll(w->value, NULL, 10);
	} else
		g->item[g->n] = w->value;
	if (op != 'P')
		pl_group_note(g, g->n);
	g->n++;
}

/* Free the groups. */
static void
pl_groups_free(struct pl_groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->g[i].item);
		free(gs->g[i].sum);
		strmap_release(&gs->g[i].pos);
	}
	free(gs->g);
}

#define PL_CHUNK 1000   /* items per HSET/PFADD call (Lua unpack limit) */

/* The arguments of a script call being built, with their lengths; the
 * numbers' text in num (PL_NUM bytes each). */
struct pl_args {
	const char **argv;
	size_t *lens;
	size_t a;
	char *num;
	size_t nnum;
};

#define PL_NUM 24

/* Append one argument of length len. */
static void
pl_arg(struct pl_args *x, const char *s, size_t len)
{
	x->argv[x->a] = s;
	x->lens[x->a++] = len;
}

/* Append a number as an argument. */
static void
pl_arg_int(struct pl_args *x, long long v)
{
	char *t = x->num + PL_NUM * x->nnum++;

	pl_arg(x, t, store_fmt_int(t, v));
}

/* Append the ops of one group. */
static void
pl_group_args(const struct pl_group *g, struct pl_args *x)
{
	size_t per = g->op == 'H' ? 2 : 1;
	const char *op = g->op == 'H' ? "H" : g->op == 'I' ? "I" : "P";
	char *key = x->num + PL_NUM * x->nnum++;
	size_t at = store_fmt_int(key, g->key), nz = 0;

	for (size_t i = 0; g->op == 'I' && i < g->n; i++)
		nz += g->sum[i] != 0;
	if (nz > 0) {           /* "I" key n, then field, delta pairs */
		pl_arg(x, op, 1);
		pl_arg(x, key, at);
		pl_arg_int(x, (long long)nz);
	}
	for (size_t i = 0; nz > 0 && i < g->n; i++) {
		if (g->sum[i] == 0)
			continue;
		pl_arg(x, g->item[i], strlen(g->item[i]));
		pl_arg_int(x, g->sum[i]);
	}
	for (size_t from = 0; g->op != 'I' && from < g->n; from += PL_CHUNK) {
		size_t n = g->n - from < PL_CHUNK ? g->n - from : PL_CHUNK;

		pl_arg(x, op, 1);
		pl_arg(x, key, at);
		pl_arg_int(x, (long long)n);
		for (size_t j = from * per; j < (from + n) * per; j++)
			pl_arg(x, g->item[j], strlen(g->item[j]));
	}
}

/* The product's HSET group, to go last with kpos as its last field
 * (one command fewer), or NULL: it has none, or an increment of the
 * product touches one of its fields (the order of the two groups then
 * matters). */
static struct pl_group *
pl_group_product(struct pl_groups *gs)
{
	struct pl_group *h = NULL, *inc = NULL;

	for (size_t i = 0; i < gs->n; i++)
		if (gs->g[i].key == 1 && gs->g[i].op == 'H')
			h = &gs->g[i];
		else if (gs->g[i].key == 1 && gs->g[i].op == 'I')
			inc = &gs->g[i];
	for (size_t i = 0; h != NULL && inc != NULL && i < inc->n; i++)
		if (pl_group_find(h, inc->item[i]) != 0)
			return NULL;
	return h;
}

/* Build and send the write script call of one product. */
static void
pl_send_write(struct pipeline *pl, size_t idx)
{
	struct pl_prod *p = &pl->prods[idx];
	struct effects *fx = &p->fx;
	struct pl_keys k = { .n = 0 };
	struct pl_groups gs = { 0 };
	struct pl_group *last = NULL;
	struct fx_write prod = { .key = FX_PRODUCT };
	struct pl_args x = { 0 };
	char newpos[48];
	size_t nchunks = 0, nmax;

	k.names = malloc((fx->nw + 1) * (sizeof(*k.names) + sizeof(*k.lens) +
	    sizeof(*k.kind) + sizeof(*k.date)));
	k.ttl = malloc(12 * (fx->nw + 1));
	if (k.names == NULL || k.ttl == NULL)
		fatalx("out of memory");
	k.lens = (size_t *)(k.names + fx->nw + 1);
	k.date = (const char **)(k.lens + fx->nw + 1);
	k.kind = (enum fx_key *)(k.date + fx->nw + 1);
	k.ttl[0] = '\0';
	pl_key_index(pl, &k, p->ps.product_id, &prod);  /* KEYS[1] */
	for (size_t i = 0; i < fx->nw; i++)
		pl_group_add(&gs, &fx->w[i], pl_key_index(pl, &k,
		    p->ps.product_id, &fx->w[i]));
	for (size_t i = 0; i < gs.n; i++)
		nchunks += gs.g[i].n / PL_CHUNK + 1;
	product_state_kpos(&p->ps, newpos, sizeof(newpos));
	if (newpos[0] != '\0' && (last = pl_group_product(&gs)) != NULL) {
		pl_group_room(last);    /* kpos, the last field it writes */
		last->item[2 * last->n] = "kpos";
		last->item[2 * last->n++ + 1] = newpos;
	}
	nmax = 8 + k.n + 4 * fx->nw + 3 * nchunks + 2;
	x.argv = malloc(nmax * (sizeof(*x.argv) + sizeof(*x.lens)));
	x.num = malloc(PL_NUM * (4 + fx->nw + 2 * gs.n + nchunks));
	if (x.argv == NULL || x.num == NULL)
		fatalx("out of memory");
	x.lens = (size_t *)(x.argv + nmax);
	pl_arg(&x, "EVALSHA", 7);
	pl_arg(&x, store_sha_write(pl->st), strlen(store_sha_write(pl->st)));
	pl_arg_int(&x, (long long)k.n);
	for (size_t i = 0; i < k.n; i++)
		pl_arg(&x, k.names[i], k.lens[i]);
	pl_arg(&x, p->kpos, strlen(p->kpos));
	/* the script writes kpos last: if a command before it fails, the
	 * batch is retried whole, not half-skipped (no rollback in Redis) */
	if (last != NULL)
		pl_arg(&x, "", 0);      /* the product's last HSET has it */
	else
		pl_arg(&x, newpos, strlen(newpos));
	pl_arg_int(&x, (long long)pl->cfg->redis.day_ttl_days * 86400);
	pl_arg(&x, k.ttl, k.nttl);
	for (size_t i = 0; i < gs.n; i++)
		if (&gs.g[i] != last)
			pl_group_args(&gs.g[i], &x);
	if (last != NULL)
		pl_group_args(last, &x);
	pl_send(pl, pl_write_cb, idx, (int)x.a, x.argv, x.lens);
	free(x.argv);
	free(x.num);
	free(k.names);
	free(k.ttl);
	pl_groups_free(&gs);
}

/* The shop's figures, newest event time wins. */
static void
pl_send_shop_figures(struct pipeline *pl, size_t idx)
{
	struct pl_shop *s = &pl->shops[idx];
	char key[300], ts[24], sps[32], o90[24];
	const char *argv[7] = { "EVALSHA", store_sha_shop(pl->st), "1",
	    store_key(pl->st, key, sizeof(key), "shop:%s", s->shop_id), ts,
	    sps, o90 };

	snprintf(ts, sizeof(ts), "%" PRId64, s->shop_ts);
	snprintf(sps, sizeof(sps), "%.4g", s->sps);
	snprintf(o90, sizeof(o90), "%" PRId64, s->orders_90d);
	pl_send(pl, pl_write_cb, idx, 7, argv, NULL);
}

/*
 * The batch's shop events into sp:shop:<shop>:sps (score the event time,
 * member "ts|sps": a re-delivery adds nothing), keeping the newest
 * PL_SPS_HISTORY.
 */
static void
pl_send_sps_history(struct pipeline *pl, size_t idx)
{
	struct pl_shop *s = &pl->shops[idx];
	const char **argv = calloc(2 + 2 * s->nevs, sizeof(*argv));
	char (*txt)[2][48] = calloc(s->nevs, sizeof(*txt));
	char key[300], keep[24];
	const char *trim[5] = { "ZREMRANGEBYRANK", key, "0", keep };
	size_t a = 0;

	if (argv == NULL || txt == NULL)
		fatalx("out of memory");
	argv[a++] = "ZADD";
	argv[a++] = store_key(pl->st, key, sizeof(key), "shop:%s:sps",
	    s->shop_id);
	for (size_t k = 0; k < s->nevs; k++) {
		snprintf(txt[k][0], sizeof(txt[k][0]), "%" PRId64, s->evs[k].ts);
		snprintf(txt[k][1], sizeof(txt[k][1]), "%" PRId64 "|%.4g",
		    s->evs[k].ts, s->evs[k].sps);
		argv[a++] = txt[k][0];
		argv[a++] = txt[k][1];
	}
	pl_send(pl, pl_write_cb, idx, (int)a, argv, NULL);
	snprintf(keep, sizeof(keep), "%d", -PL_SPS_HISTORY - 1);
	pl_send(pl, pl_write_cb, idx, 4, trim, NULL);
	free(argv);
	free(txt);
}

/* The shop-level writes: buyers, catalog index, figures (idempotent). */
static void
pl_send_shop_writes(struct pipeline *pl, size_t i)
{
	struct pl_shop *s = &pl->shops[i];
	char key[300];
	const char *shops[1] = { s->shop_id };

	if (s->nbought > 0)
		pl_send_buyers(pl, i, "SADD", s->bought, s->nbought,
		    pl_write_cb);
	if (s->nproducts > 0) {
		pl_send_set(pl, i, store_key(pl->st, key, sizeof(key),
		    "shop:%s:products", s->shop_id), s->products,
		    s->nproducts);
		pl_send_set(pl, i, store_key(pl->st, key, sizeof(key),
		    "shops"), (char **)shops, 1);
	}
	if (s->shop_ts >= 0)
		pl_send_shop_figures(pl, i);
	if (s->nevs > 0)
		pl_send_sps_history(pl, i);
}

/* A content event: kind, category, first day, removal. */
static void
pl_send_content(struct pipeline *pl, const struct pl_msg *pm)
{
	const struct event_content *c = &pm->ev.u.content;
	char key[300];
	const char *argv[8] = { "EVALSHA", store_sha_content(pl->st), "1",
	    store_key(pl->st, key, sizeof(key), "pps:content:%s",
	    c->creator_id), c->content_id, c->kind == CONTENT_LIVE ? "live" :
	    "video", c->category, pm->date };
	const char *all[9];

	memcpy(all, argv, sizeof(argv));
	all[8] = c->removed ? "1" : "0";
	pl_send(pl, pl_write_cb, 0, 9, all, NULL);
}

/* The creators' indexes and content records (idempotent). */
static void
pl_send_pps_writes(struct pipeline *pl)
{
	char key[300];

	if (pl->npps_creators > 0)
		pl_send_set(pl, 0, store_key(pl->st, key, sizeof(key),
		    "pps:creators"), pl->pps_creators, pl->npps_creators);
	if (pl->npps_products > 0)
		pl_send_set(pl, 0, store_key(pl->st, key, sizeof(key),
		    "pps:products"), pl->pps_products, pl->npps_products);
	for (size_t i = 0; i < pl->nmsgs; i++)
		if (pl->msgs[i].ok && pl->msgs[i].ev.type == EV_CONTENT)
			pl_send_content(pl, &pl->msgs[i]);
}

/*
 * The reservations of every budgeted plan the batch touched
 * (sp:plan:<id>:budget), written after its products' writes: a restart
 * restores them (plans_refresh_budgets).  A crash between the two forgets
 * one batch's reservations; a failed product write that is retried
 * rewrites them.
 */
static void
pl_send_budget_writes(struct pipeline *pl)
{
	char key[300], *line;

	for (size_t i = 0; i < pl->nsaved; i++) {
		struct plan *p = pl->saved[i].plan;
		size_t n;
		const char *argv[4];

		if (plans_get(pl->plans, pl->saved[i].plan_id) != p ||
		    p->budget < 0)
			continue;
		n = plan_resv_format(&p->rt, NULL, 0);
		if ((line = malloc(n + 1)) == NULL)
			fatalx("out of memory");
		plan_resv_format(&p->rt, line, n + 1);
		argv[0] = "HSET";
		argv[1] = store_key(pl->st, key, sizeof(key), "plan:%s:budget",
		    p->plan_id);
		argv[2] = "resv";
		argv[3] = line;
		pl_send(pl, pl_write_cb, 0, 4, argv, NULL);
		free(line);
	}
}

/* Nonzero if a product has anything to write. */
static int
pl_has_writes(const struct pl_prod *p)
{
	char pos[48];

	product_state_kpos(&p->ps, pos, sizeof(pos));
	return p->fx.nw > 0 || strcmp(pos, p->kpos) != 0;
}

static void pl_take(struct pipeline *pl);

/* Start the write round; then the next batch may be taken and loaded
 * (pl_take): Redis answers in order, so its load reads what these writes
 * wrote. */
static void
pl_write(struct pipeline *pl)
{
	pl_round_begin(pl, PL_WRITING);
	for (size_t i = 0; i < pl->nprods; i++)
		if (pl_has_writes(&pl->prods[i]))
			pl_send_write(pl, i);
	for (size_t i = 0; i < pl->nshops; i++)
		pl_send_shop_writes(pl, i);
	for (size_t i = 0; i < pl->ndlqs; i++)
		pl_dlq_send_write(pl, i);
	pl_send_pps_writes(pl);
	pl_send_budget_writes(pl);
	pl_round_done(pl, pl_emit);
	pl_take(pl->main);
}

/* ---- emit --------------------------------------------------------------- */

/*
 * Once a batch's writes are acknowledged its messages are produced and the
 * batch becomes a flight: the pipeline takes the next batch while the
 * flights wait for their delivery reports.  Flights finish in the order
 * they were taken, so offsets are stored in order: a message's offset is
 * stored only when it and every message before it had all its outputs
 * delivered.
 */
#define PL_MAX_FLIGHTS 4

struct pl_counts {
	uint64_t events[EV__COUNT];
	uint64_t dead_letters;
	struct fx_counts fx;
};

/* A product's outbox fields, deleted once the flight landed. */
struct pl_obx {
	char *key;
	char **fields;
	size_t n;
};

struct pl_flight {
	struct pl_obx *obx;
	size_t nobx;
	rd_kafka_message_t **raw;
	size_t nmsgs;
	struct pl_out *outs;
	size_t nouts;
	int undelivered;
	int failed;
	struct pl_counts counts;
	struct pl_flight *next;
};

/* Produce failed outputs again in a second. */
static void
pl_flight_retry_in(struct pipeline *pl)
{
	struct timeval tv = { 1, 0 };

	evtimer_add(pl->main->flight_ev, &tv);
}

/* Queue one output; payload and key are taken over. */
static void
pl_out(struct pipeline *pl, enum fx_topic topic, char *key, char *payload)
{
	pl_grow((void **)&pl->outs, &pl->outcap, pl->nouts, sizeof(*pl->outs));
	pl->outs[pl->nouts++] = (struct pl_out){ topic, key, payload, 0, NULL };
}

/* ---- keyed dead letters ------------------------------------------------- */

/*
 * A message that does not decode but has a usable Kafka key (a product's
 * or a shop's id) gets its dead letter recorded in sp:{K}:dlq by the write
 * script, with the key's last poison position (field kpos) compared and
 * set in the same call: the dead letter and the position move in one
 * atomic step.  The field "<partition>:<offset>" holds the dead letter
 * until it is delivered.  A re-delivered poison message at or below kpos
 * is not recorded again: its dead letter is re-sent from the entry if the
 * entry is still there (a crash before the delivery), else it was
 * delivered and nothing is sent.  Messages without a usable key keep the
 * plain path (pl_collect_dead): produced after the batch, at least once.
 */
struct pl_dlq {
	char *key;              /* the Kafka key */
	char kpos[48];          /* as loaded, "" none */
	size_t *msg;            /* indexes in msgs, in Kafka order */
	char (*field)[48];      /* their "<partition>:<offset>" */
	char **have;            /* their stored entries, NULL: none */
	char **out;             /* the dead letters to send, NULL: none */
	int *write;             /* out[i] is new: written by this batch */
	size_t n, cap;
	char newpos[48];
};

/* Nonzero if a Kafka key can name a dead-letter slot: an id of 1..127
 * bytes without control bytes or braces (the hash tag). */
static int
pl_dlq_key_ok(const rd_kafka_message_t *m)
{
	const unsigned char *k = m->key;

	if (k == NULL || m->key_len == 0 || m->key_len >= EVENT_ID_MAX)
		return 0;
	for (size_t i = 0; i < m->key_len; i++)
		if (k[i] < 0x20 || k[i] == 0x7f || k[i] == '{' || k[i] == '}')
			return 0;
	return 1;
}

/* Note a poison message under its key's slot. */
static void
pl_dlq_note(struct pipeline *pl, struct pl_msg *pm, size_t idx)
{
	char key[EVENT_ID_MAX];
	uintptr_t i;
	struct pl_dlq *d;

	memcpy(key, pm->m->key, pm->m->key_len);
	key[pm->m->key_len] = '\0';
	if ((i = (uintptr_t)strmap_get(&pl->dlq_index, key)) == 0) {
		pl_grow((void **)&pl->dlqs, &pl->dlqcap, pl->ndlqs,
		    sizeof(*pl->dlqs));
		d = &pl->dlqs[pl->ndlqs];
		memset(d, 0, sizeof(*d));
		if ((d->key = strdup(key)) == NULL || strmap_put(&pl->dlq_index,
		    key, (void *)(uintptr_t)(++pl->ndlqs)) == -1)
			fatalx("out of memory");
		i = pl->ndlqs;
	}
	d = &pl->dlqs[i - 1];
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 4;
		d->msg = realloc(d->msg, d->cap * sizeof(*d->msg));
		d->field = realloc(d->field, d->cap * sizeof(*d->field));
		d->have = realloc(d->have, d->cap * sizeof(*d->have));
		d->out = realloc(d->out, d->cap * sizeof(*d->out));
		d->write = realloc(d->write, d->cap * sizeof(*d->write));
		if (d->msg == NULL || d->field == NULL || d->have == NULL ||
		    d->out == NULL || d->write == NULL)
			fatalx("out of memory");
	}
	d->msg[d->n] = idx;
	engine_outbox_field(pm->m->partition, pm->m->offset, d->field[d->n],
	    sizeof(d->field[d->n]));
	d->have[d->n] = d->out[d->n] = NULL;
	d->write[d->n] = 0;
	d->n++;
	pm->dlq = (int)i - 1;
}

/* Forget the batch's dead-letter slots. */
static void
pl_dlq_reset(struct pipeline *pl)
{
	for (size_t i = 0; i < pl->ndlqs; i++) {
		struct pl_dlq *d = &pl->dlqs[i];

		for (size_t j = 0; j < d->n; j++) {
			free(d->have[j]);
			free(d->out[j]);
		}
		free(d->key);
		free(d->msg);
		free(d->field);
		free(d->have);
		free(d->out);
		free(d->write);
	}
	pl->ndlqs = 0;
	strmap_release(&pl->dlq_index);
}

/* Reply to a slot's HMGET kpos and entries. */
static void
pl_dlq_load_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct pl_req *rq = priv;
	struct pipeline *pl = rq->pl;
	redisReply *reply = r;
	struct pl_dlq *d;

	(void)ac;
	if (rq->gen != pl->gen)
		return;
	d = &pl->dlqs[rq->idx];
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != d->n + 1)
		pl_reply_failed(pl, reply, "dead-letter load");
	else {
		if (reply->element[0]->type == REDIS_REPLY_STRING)
			snprintf(d->kpos, sizeof(d->kpos), "%s",
			    reply->element[0]->str);
		for (size_t j = 0; j < d->n; j++)
			if (reply->element[j + 1]->type == REDIS_REPLY_STRING &&
			    (d->have[j] = strdup(reply->element[j + 1]->str))
			    == NULL)
				fatalx("out of memory");
	}
	pl_round_done(pl, pl_apply);
}

/* Load a slot: its kpos and the entries of the batch's positions. */
static void
pl_dlq_send_load(struct pipeline *pl, size_t idx)
{
	struct pl_dlq *d = &pl->dlqs[idx];
	const char **argv = calloc(d->n + 3, sizeof(*argv));
	char key[300];

	if (argv == NULL)
		fatalx("out of memory");
	argv[0] = "HMGET";
	argv[1] = store_key(pl->st, key, sizeof(key), "{%s}:dlq", d->key);
	argv[2] = "kpos";
	for (size_t j = 0; j < d->n; j++)
		argv[3 + j] = d->field[j];
	pl_send(pl, pl_dlq_load_cb, idx, (int)d->n + 3, argv, NULL);
	free(argv);
}

/* Decide each poison message of a slot: new, re-sent, or done before. */
static void
pl_dlq_apply(struct pipeline *pl, size_t idx)
{
	struct pl_dlq *d = &pl->dlqs[idx];

	snprintf(d->newpos, sizeof(d->newpos), "%s", d->kpos);
	for (size_t j = 0; j < d->n; j++) {
		struct pl_msg *pm = &pl->msgs[d->msg[j]];
		rd_kafka_message_t *m = pm->m;

		if (engine_kpos_covers(d->kpos, m->partition, m->offset)) {
			d->out[j] = d->have[j];         /* NULL: delivered */
			d->have[j] = NULL;
			continue;
		}
		d->out[j] = engine_dead_letter(pm->reason, m->payload, m->len,
		    rd_kafka_topic_name(m->rkt), m->partition, m->offset,
		    pl->took_ms);
		if (d->out[j] == NULL)
			fatalx("out of memory");
		d->write[j] = 1;
		memcpy(d->newpos, d->field[j], sizeof(d->field[j]));
		log_info("dead letter at %s[%" PRId32 "]@%" PRId64 ": %s",
		    rd_kafka_topic_name(m->rkt), m->partition, m->offset,
		    pm->reason);
	}
}

/* The write script call of a slot: its new entries and kpos, if any. */
static void
pl_dlq_send_write(struct pipeline *pl, size_t idx)
{
	struct pl_dlq *d = &pl->dlqs[idx];
	const char **argv = calloc(2 * d->n + 8 + 3 * (d->n / PL_CHUNK + 1),
	    sizeof(*argv));
	char key[300], ttl[24], (*cnt)[12];
	size_t a = 0, w = 0, nc = 0;

	cnt = calloc(d->n / PL_CHUNK + 2, sizeof(*cnt));
	if (argv == NULL || cnt == NULL)
		fatalx("out of memory");
	argv[a++] = "EVALSHA";
	argv[a++] = store_sha_write(pl->st);
	argv[a++] = "1";
	argv[a++] = store_key(pl->st, key, sizeof(key), "{%s}:dlq", d->key);
	argv[a++] = d->kpos;
	argv[a++] = d->newpos;
	snprintf(ttl, sizeof(ttl), "%d", 0);
	argv[a++] = ttl;
	argv[a++] = "";                 /* no key gets a TTL */
	for (size_t j = 0; j < d->n; j++) {
		if (!d->write[j])
			continue;
		if (w % PL_CHUNK == 0) {        /* "H" 1 count, then pairs */
			argv[a++] = "H";
			argv[a++] = "1";
			argv[a++] = cnt[nc++];
		}
		argv[a++] = d->field[j];
		argv[a++] = d->out[j];
		snprintf(cnt[nc - 1], sizeof(cnt[0]), "%zu", w % PL_CHUNK + 1);
		w++;
	}
	if (w > 0)
		pl_send(pl, pl_write_cb, idx, (int)a, argv, NULL);
	free(argv);
	free(cnt);
}

/* Move the slots' dead letters to the batch's outputs. */
static void
pl_dlq_collect(struct pipeline *pl)
{
	for (size_t i = 0; i < pl->ndlqs; i++) {
		struct pl_dlq *d = &pl->dlqs[i];

		for (size_t j = 0; j < d->n; j++) {
			char *key;

			if (d->out[j] == NULL)
				continue;
			if ((key = strdup(d->key)) == NULL)
				fatalx("out of memory");
			pl_out(pl, FX_TOPIC_DEAD_LETTER, key, d->out[j]);
			d->out[j] = NULL;
			d->write[j] = 2;        /* sent: its field is dropped */
		}
	}
}

/* Note the slots' fields to delete once the flight landed. */
static void
pl_dlq_outbox(struct pipeline *pl, struct pl_flight *fl)
{
	char key[300];

	for (size_t i = 0; i < pl->ndlqs; i++) {
		struct pl_dlq *d = &pl->dlqs[i];
		struct pl_obx *o = &fl->obx[fl->nobx];
		size_t cap = 0;

		for (size_t j = 0; j < d->n; j++)
			if (d->write[j] == 2)
				pl_strlist_add(&o->fields, &o->n, &cap,
				    d->field[j]);
		if (o->n == 0)
			continue;
		if ((o->key = strdup(store_key(pl->st, key, sizeof(key),
		    "{%s}:dlq", d->key))) == NULL)
			fatalx("out of memory");
		fl->nobx++;
	}
}

/* The dead letters of messages that did not decode: those with a usable
 * key from their slots, the others produced from here. */
static void
pl_collect_dead(struct pipeline *pl)
{
	for (size_t i = 0; i < pl->nmsgs; i++) {
		struct pl_msg *pm = &pl->msgs[i];
		rd_kafka_message_t *m = pm->m;
		char *key, *dl;

		if (pm->ok || m->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
		    pm->dlq >= 0)
			continue;
		dl = engine_dead_letter(pm->reason, m->payload, m->len,
		    rd_kafka_topic_name(m->rkt), m->partition, m->offset,
		    clock_now_ms());
		key = m->key != NULL ? strndup(m->key, m->key_len) :
		    strdup("");
		if (dl == NULL || key == NULL)
			fatalx("out of memory");
		log_info("dead letter at %s[%" PRId32 "]@%" PRId64 ": %s",
		    rd_kafka_topic_name(m->rkt), m->partition, m->offset,
		    pm->reason);
		pl_out(pl, FX_TOPIC_DEAD_LETTER, key, dl);
	}
	pl_dlq_collect(pl);
}

/* Move every product's messages to the outputs. */
static void
pl_collect_fx(struct pipeline *pl)
{
	for (size_t i = 0; i < pl->nprods; i++) {
		struct effects *fx = &pl->prods[i].fx;

		for (size_t j = 0; j < fx->nm; j++) {
			pl_out(pl, fx->m[j].topic, fx->m[j].key,
			    fx->m[j].payload);
			fx->m[j].key = fx->m[j].payload = NULL;
		}
	}
}

/* The batch's counts, added to the daemon's when its flight lands. */
static void
pl_collect_counts(struct pipeline *pl, struct pl_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < pl->nmsgs; i++) {
		if (pl->msgs[i].ok)
			c->events[pl->msgs[i].ev.type]++;
		else if (pl->msgs[i].m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
			c->dead_letters++;
	}
	for (size_t i = 0; i < pl->nprods; i++) {
		const struct fx_counts *f = &pl->prods[i].fx.counts;

		c->fx.offers += f->offers;
		c->fx.holdout += f->holdout;
		c->fx.no_offer += f->no_offer;
		c->fx.conversions += f->conversions;
		c->fx.skipped += f->skipped;
		c->fx.campaign += f->campaign;
		c->fx.deactivated += f->deactivated;
		c->fx.refused += f->refused;
		c->fx.withheld += f->withheld;
		c->fx.campaign_cut += f->campaign_cut;
		c->fx.superseded += f->superseded;
		c->fx.vouchers_returned += f->vouchers_returned;
		c->fx.range_refused += f->range_refused;
		c->fx.budget_held += f->budget_held;
		c->fx.budget_overrun += f->budget_overrun;
		c->fx.late += f->late;
		for (int t = 0; t < TOOLS_N; t++)
			c->fx.by_tool[t] += f->by_tool[t];
	}
}

/* The topic name of an output kind. */
static const char *
pl_topic(const struct pipeline *pl, enum fx_topic t)
{
	switch (t) {
	case FX_TOPIC_OFFERS:
		return pl->cfg->kafka.offers_topic;
	case FX_TOPIC_DEAD_LETTER:
		return pl->cfg->kafka.dead_letter_topic;
	default:
		return pl->cfg->kafka.metrics_topic;
	}
}

/* Produce every output of a flight not yet delivered. */
static void
pl_produce_flight(struct pipeline *pl, struct pl_flight *fl)
{
	fl->undelivered = 0;
	fl->failed = 0;
	for (size_t i = 0; i < fl->nouts; i++) {
		struct pl_out *o = &fl->outs[i];

		if (o->delivered)
			continue;
		o->fl = fl;
		if (kafka_produce(pl->kafka, pl_topic(pl, o->topic), o->key,
		    strlen(o->key), o->payload, strlen(o->payload), o) == 0)
			fl->undelivered++;
		else
			fl->failed = 1;
	}
}

/* Note the outbox fields each product's writes add. */
static void
pl_collect_outbox(struct pipeline *pl, struct pl_flight *fl)
{
	char key[300];

	if ((fl->obx = calloc(pl->nprods + pl->ndlqs + 1,
	    sizeof(*fl->obx))) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < pl->nprods; i++) {
		const struct effects *fx = &pl->prods[i].fx;
		struct pl_obx *o = &fl->obx[fl->nobx];
		size_t cap = 0;

		for (size_t j = 0; j < fx->nw; j++)
			if (fx->w[j].key == FX_OUTBOX)
				pl_strlist_add(&o->fields, &o->n, &cap,
				    fx->w[j].field);
		if (o->n == 0)
			continue;
		if ((o->key = strdup(store_key(pl->st, key, sizeof(key),
		    "{%s}:outbox", pl->prods[i].ps.product_id))) == NULL)
			fatalx("out of memory");
		fl->nobx++;
	}
	pl_dlq_outbox(pl, fl);
}

/* The outputs are delivered: their outbox entries are no longer needed
 * (a failure here only leaves entries a replay would send again). */
static void
pl_drop_outbox(struct pipeline *pl, struct pl_flight *fl)
{
	for (size_t i = 0; i < fl->nobx; i++) {
		struct pl_obx *o = &fl->obx[i];
		const char **argv = calloc(o->n + 2, sizeof(*argv));

		if (argv == NULL)
			fatalx("out of memory");
		argv[0] = "HDEL";
		argv[1] = o->key;
		for (size_t j = 0; j < o->n; j++)
			argv[2 + j] = o->fields[j];
		(void)store_command(pl->st, NULL, NULL, (int)o->n + 2, argv,
		    NULL);
		free(argv);
	}
}

/* Free a landed flight. */
static void
pl_flight_free(struct pl_flight *fl)
{
	for (size_t i = 0; i < fl->nobx; i++) {
		free(fl->obx[i].key);
		pl_strlist_free(fl->obx[i].fields, fl->obx[i].n);
	}
	free(fl->obx);
	for (size_t i = 0; i < fl->nouts; i++) {
		free(fl->outs[i].key);
		free(fl->outs[i].payload);
	}
	for (size_t i = 0; i < fl->nmsgs; i++)
		rd_kafka_message_destroy(fl->raw[i]);
	free(fl->outs);
	free(fl->raw);
	free(fl);
}

/* Add a landed flight's counts to the daemon's. */
static void
pl_count(const struct pl_counts *c)
{
	for (int t = 0; t < EV__COUNT; t++)
		stats.events[t] += c->events[t];
	stats.dead_letters += c->dead_letters;
	stats.offers += c->fx.offers;
	stats.holdout_views += c->fx.holdout;
	stats.no_offer += c->fx.no_offer;
	stats.conversions += c->fx.conversions;
	stats.redeliveries += c->fx.skipped;
	stats.campaign_holds += c->fx.campaign;
	stats.promotions_deactivated += c->fx.deactivated;
	stats.promotions_refused += c->fx.refused;
	stats.withheld += c->fx.withheld;
	stats.campaign_cut += c->fx.campaign_cut;
	stats.superseded += c->fx.superseded;
	stats.vouchers_returned += c->fx.vouchers_returned;
	stats.range_refused += c->fx.range_refused;
	stats.budget_held += c->fx.budget_held;
	stats.budget_overrun += c->fx.budget_overrun;
	stats.late_views += c->fx.late;
	for (int t = 0; t < TOOLS_N; t++)
		stats.offers_by_tool[t] += c->fx.by_tool[t];
	stats.batches++;
}

/* Land every delivered flight at the head: store offsets, count, free
 * (pl: the handle). */
static void
pl_land(struct pipeline *pl)
{
	struct pl_flight *fl;

	while ((fl = pl->flights) != NULL && fl->undelivered == 0 &&
	    !fl->failed) {
		kafka_store(pl->kafka, fl->raw, fl->nmsgs);
		pl_drop_outbox(pl, fl);
		pl_count(&fl->counts);
		pl->flights = fl->next;
		if (pl->flights == NULL)
			pl->flights_tail = NULL;
		pl->nflights--;
		pl_flight_free(fl);
	}
	if (pl->draining && !pipeline_busy(pl)) {
		if (pl->drained != NULL)
			pl->drained(pl->drained_arg);
		pl->drained = NULL;
		return;
	}
	event_active(pl->kick_ev, EV_TIMEOUT, 0);
}

/* Turn the batch into a flight; the batch slot is free again. */
static struct pl_flight *
pl_launch(struct pipeline *pl)
{
	struct pl_flight *fl = calloc(1, sizeof(*fl));
	struct pipeline *m = pl->main;

	if (fl == NULL || (fl->raw = calloc(pl->nmsgs + 1,
	    sizeof(*fl->raw))) == NULL)
		fatalx("out of memory");
	memcpy(fl->raw, pl->raw, pl->nmsgs * sizeof(*fl->raw));
	fl->nmsgs = pl->nmsgs;
	pl_collect_outbox(pl, fl);
	fl->outs = pl->outs;
	fl->nouts = pl->nouts;
	pl_collect_counts(pl, &fl->counts);
	pl->outs = NULL;
	pl->nouts = pl->outcap = 0;
	pl->nmsgs = 0;
	if (m->flights_tail != NULL)
		m->flights_tail->next = fl;
	else
		m->flights = fl;
	m->flights_tail = fl;
	m->nflights++;
	return fl;
}

/* Emit the batch's messages now that its state is durable; the ahead
 * batch, if loaded, is applied now, on top of this one's results. */
static void
pl_emit(struct pipeline *pl)
{
	struct pipeline *m = pl->main;
	struct pl_flight *fl;

	pl->backoff_ms = 100;
	pl->failed = 0;
	pl_collect_dead(pl);
	pl_collect_fx(pl);
	stats_observe_latency((clock_mono_ms() - pl->took_mono) / 1000.0);
	log_debug("batch of %zu events, %zu products: load %" PRId64
	    " ms, apply %" PRId64 " ms, write %" PRId64 " ms", pl->nmsgs,
	    pl->nprods, pl->t_loaded - pl->took_mono,
	    pl->t_applied - pl->t_loaded, clock_mono_ms() - pl->t_applied);
	fl = pl_launch(pl);
	pl_reset_state(pl);
	pl->phase = PL_IDLE;
	m->head = pl->peer;
	pl_produce_flight(pl, fl);
	if (fl->failed && fl->undelivered == 0)
		pl_flight_retry_in(pl);
	if (pl->peer->phase == PL_LOADED)
		pl_round_end(pl->peer, pl_apply);
	pl_land(m);
}

/* A delivery report. */
void
pipeline_delivered(struct pipeline *pl, const rd_kafka_message_t *m,
    void *opaque)
{
	struct pl_out *o = opaque;
	struct pl_flight *fl;

	if (o == NULL || (fl = o->fl) == NULL)
		return;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_warnx("kafka: delivery to \"%s\" failed: %s; retrying",
		    rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		stats.produce_retries++;
		fl->failed = 1;
	} else
		o->delivered = 1;
	if (--fl->undelivered > 0)
		return;
	if (fl->failed) {
		pl_flight_retry_in(pl);
		return;
	}
	pl_land(pl);
}

/* Produce again what failed to be delivered. */
static void
pl_flight_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *pl = arg;

	(void)fd;
	(void)what;
	for (struct pl_flight *fl = pl->flights; fl != NULL; fl = fl->next)
		if (fl->failed && fl->undelivered == 0)
			pl_produce_flight(pl, fl);
	for (struct pl_flight *fl = pl->flights; fl != NULL; fl = fl->next)
		if (fl->failed && fl->undelivered == 0) {
			pl_flight_retry_in(pl);
			break;
		}
	pl_land(pl);
}

/* ---- take --------------------------------------------------------------- */

/* Move held messages (oldest first) into slot b. */
static size_t
pl_take_held(struct pipeline *pl, struct pipeline *b)
{
	size_t n = pl->nheld < b->maxmsgs ? pl->nheld : b->maxmsgs;

	if (n == 0)
		return 0;
	memcpy(b->raw, pl->held, n * sizeof(*b->raw));
	memmove(pl->held, pl->held + n, (pl->nheld - n) * sizeof(*pl->held));
	pl->nheld -= n;
	return n;
}

/* Put n messages back before the held ones (they are older). */
static void
pl_hold_front(struct pipeline *pl, rd_kafka_message_t **m, size_t n)
{
	if (pl->nheld + n > pl->heldcap) {
		size_t cap = 2 * (pl->nheld + n);
		rd_kafka_message_t **nh = realloc(pl->held, cap *
		    sizeof(*nh));

		if (nh == NULL)
			fatalx("out of memory");
		pl->held = nh;
		pl->heldcap = cap;
	}
	memmove(pl->held + n, pl->held, pl->nheld * sizeof(*pl->held));
	memcpy(pl->held, m, n * sizeof(*m));
	pl->nheld += n;
}

/*
 * Forget an ahead batch that read Redis before its head's failed writes:
 * nothing of it was applied; its messages go back before the held ones,
 * so they are taken again, in Kafka order, after the head's retry.
 */
static void
pl_ahead_drop(struct pipeline *b)
{
	struct pipeline *pl = b->main;

	log_info("putting back %zu events loaded before a failed write",
	    b->nmsgs);
	pl_hold_front(pl, b->raw, b->nmsgs);
	b->nmsgs = 0;
	pl_reset_state(b);
	pl_reset_outs(b);
	b->discard = 0;
	b->phase = PL_IDLE;
	pl_land(pl);
}

/* Log and count consumer errors (partition EOF is no error). */
static void
pl_consumed(rd_kafka_message_t **m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i]->err != RD_KAFKA_RESP_ERR_NO_ERROR &&
		    m[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			log_warnx("kafka: consume: %s",
			    rd_kafka_message_errstr(m[i]));
			stats.kafka_errors++;
		}
}

/*
 * While the store is away, pause the input and keep polling the consumer,
 * so the group keeps the partitions (max.poll.interval.ms) and rebalances
 * are served; what the poll still returns is held, in order, for later.
 */
static void
pl_alive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *pl = arg;
	rd_kafka_message_t *m[256];
	ssize_t n;

	(void)fd;
	(void)what;
	if (pl->kafka == NULL || (store_up(pl->st) &&
	    pl->head->phase != PL_WAITING))
		return;
	kafka_pause(pl->kafka, 1);
	while ((n = kafka_consume(pl->kafka, m, 256)) > 0) {
		pl_consumed(m, (size_t)n);
		for (ssize_t i = 0; i < n; i++) {
			pl_grow((void **)&pl->held, &pl->heldcap, pl->nheld,
			    sizeof(*pl->held));
			pl->held[pl->nheld++] = m[i];
		}
	}
}

/*
 * The slot to take a batch into (NULL: none now): the head's if it is
 * idle; else the other one once the head's writes are sent, so that the
 * next batch is decoded and its load queued while Redis writes (not
 * behind a retried batch: its writes may well fail again).
 */
static struct pipeline *
pl_take_slot(struct pipeline *pl)
{
	struct pipeline *h = pl->head;

	if (h->phase == PL_IDLE)
		return pl->nflights < PL_MAX_FLIGHTS ? h : NULL;
	if (h->phase == PL_WRITING && !h->retried &&
	    h->peer->phase == PL_IDLE && pl->nflights + 1 < PL_MAX_FLIGHTS)
		return h->peer;
	return NULL;
}

/* Take up to batch_max messages (held ones first) into slot b and
 * start loading them. */
static void
pl_take_into(struct pipeline *pl, struct pipeline *b)
{
	ssize_t n;

	if (kafka_paused(pl->kafka))
		kafka_pause(pl->kafka, 0);
	n = (ssize_t)pl_take_held(pl, b);
	if ((size_t)n < b->maxmsgs) {
		ssize_t more = kafka_consume(pl->kafka, b->raw + n,
		    b->maxmsgs - (size_t)n);

		if (more > 0) {
			pl_consumed(b->raw + n, (size_t)more);
			n += more;
		}
	}
	if (n <= 0)
		return;
	b->nmsgs = (size_t)n;
	b->took_mono = clock_mono_ms();
	b->took_ms = clock_now_ms();
	for (size_t i = 0; i < b->nmsgs; i++)
		b->msgs[i].m = b->raw[i];
	pl_decode(b);
	b->backoff_ms = 100;
	b->discard = 0;
	b->retried = 0;
	pl_load(b);
}

/* The slot to take into now, NULL: none (pl: the handle). */
static struct pipeline *
pl_take_ok(struct pipeline *pl)
{
	if (pl->draining || pl->kafka == NULL || !store_up(pl->st))
		return NULL;
	return pl_take_slot(pl);
}

/*
 * Take a batch if a slot is free and input is there (pl: the handle).
 * An ahead batch is taken from a zero timer: hiredis only queues the
 * head's writes, and the loop must send them to Redis before the daemon
 * spends its time decoding the next batch.
 */
static void
pl_take(struct pipeline *pl)
{
	struct pipeline *b = pl_take_ok(pl);
	struct timeval now = { 0, 0 };

	if (b == pl->head)
		pl_take_into(pl, b);
	else if (b != NULL && !evtimer_pending(pl->ahead_ev, NULL))
		evtimer_add(pl->ahead_ev, &now);
}

/* Timer: take the ahead batch, now that the head's writes are sent. */
static void
pl_ahead_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *pl = arg;
	struct pipeline *b;

	(void)fd;
	(void)what;
	if ((b = pl_take_ok(pl)) != NULL)
		pl_take_into(pl, b);
}

/* Kick event: try to take. */
static void
pl_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pl_take(arg);
}

/* Retry a batch whose Redis round failed. */
static void
pl_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *pl = arg;

	(void)fd;
	(void)what;
	if (pl->phase != PL_WAITING)
		return;
	if (!store_up(pl->st)) {
		pl_retry_in(pl, 200);
		return;
	}
	log_info("retrying a batch of %zu events", pl->nmsgs);
	pl_load(pl);
}

/* Commit stored offsets now and then. */
static void
pl_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *pl = arg;

	(void)fd;
	(void)what;
	if (pl->kafka != NULL)
		kafka_commit(pl->kafka, 1);
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Engine parameters from the config. */
void
pipeline_configure(struct pipeline *pl, const struct sp_config *cfg)
{
	const struct config_engine *e = &cfg->engine;
	struct timeval tv = { cfg->kafka.commit_interval_ms / 1000,
	    (cfg->kafka.commit_interval_ms % 1000) * 1000 };

	pl->cfg = cfg;
	pl->ep.default_roi_target = e->roi_target;
	pl->ep.holdout_pct = e->holdout_pct;
	pl->ep.offer_ttl_ms = (int64_t)e->offer_ttl_minutes * 60000;
	pl->ep.late_view_offers = strcmp(e->late_view_offers, "yes") == 0;
	pl->ep.attribution_ms = (int64_t)e->attribution_hours * 3600000;
	pl->ep.bandit.levels = e->levels;
	pl->ep.bandit.prior_conversion = e->prior_conversion;
	pl->ep.bandit.prior_strength = e->prior_strength;
	pl->ep.bandit.half_life_ms = e->decay_half_life_hours * 3600000.0;
	pl->ep.offer_seed = rng_hash_str(cfg->kafka.input_topic, 0);
	pl->ep.tools = tools_parse(e->tools);
	if (pl->peer != NULL) {
		pl->peer->cfg = cfg;
		pl->peer->ep = pl->ep;
	}
	if (pl->commit_ev != NULL)
		evtimer_add(pl->commit_ev, &tv);
}

/* Free the shops' latest event times. */
static void
pl_free_shop_time(struct pipeline *pl)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (strmap_next(&pl->shop_time, &pos, &k, &v))
		free(v);
	strmap_release(&pl->shop_time);
}

/* The engine parameters in use. */
const struct engine_params *
pipeline_params(const struct pipeline *pl)
{
	return &pl->ep;
}

/* The latest event time seen for a shop, or -1. */
int64_t
pipeline_shop_time(const struct pipeline *pl, const char *shop_id)
{
	const int64_t *t = strmap_get(&pl->shop_time, shop_id);

	return t != NULL ? *t : -1;
}

/* A batch slot (no shared state); NULL when out of memory. */
static struct pipeline *
pl_slot_new(struct event_base *base, const struct sp_config *cfg,
    struct store *st, struct plans *plans)
{
	struct pipeline *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->main = b;
	b->base = base;
	b->cfg = cfg;
	b->st = st;
	b->plans = plans;
	b->maxmsgs = (size_t)cfg->kafka.batch_max;
	b->backoff_ms = 100;
	strmap_init(&b->prod_index);
	strmap_init(&b->shop_index);
	strmap_init(&b->buyers);
	strmap_init(&b->pps_seen);
	strmap_init(&b->dlq_index);
	strmap_init(&b->shop_time);
	b->raw = calloc(b->maxmsgs, sizeof(*b->raw));
	b->msgs = calloc(b->maxmsgs, sizeof(*b->msgs));
	b->retry_ev = evtimer_new(base, pl_retry_cb, b);
	return b;
}

/* Free a batch slot; its messages are destroyed (offsets not stored). */
static void
pl_slot_free(struct pipeline *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nmsgs; i++)
		rd_kafka_message_destroy(b->raw[i]);
	pl_reset_state(b);
	pl_reset_outs(b);
	free(b->dlqs);
	free(b->prods);
	free(b->shops);
	free(b->outs);
	free(b->saved);
	free(b->reqs);
	free(b->raw);
	free(b->msgs);
	if (b->retry_ev)
		event_free(b->retry_ev);
	free(b);
}

/* A pipeline of two batch slots; takes nothing until
 * pipeline_set_kafka(). */
struct pipeline *
pipeline_new(struct event_base *base, const struct sp_config *cfg,
    struct store *st, struct plans *plans)
{
	struct pipeline *pl = pl_slot_new(base, cfg, st, plans);

	if (pl == NULL)
		return NULL;
	pl->head = pl;
	pl->peer = pl_slot_new(base, cfg, st, plans);
	if (pl->peer != NULL) {
		pl->peer->main = pl;
		pl->peer->peer = pl;
	}
	pl->kick_ev = event_new(base, -1, 0, pl_kick_cb, pl);
	pl->commit_ev = event_new(base, -1, EV_PERSIST, pl_commit_cb, pl);
	pl->flight_ev = evtimer_new(base, pl_flight_retry_cb, pl);
	pl->alive_ev = event_new(base, -1, EV_PERSIST, pl_alive_cb, pl);
	pl->ahead_ev = evtimer_new(base, pl_ahead_cb, pl);
	if (pl->ahead_ev == NULL || pl->peer == NULL || pl->raw == NULL ||
	    pl->msgs == NULL || pl->peer->raw == NULL || pl->peer->msgs == NULL ||
	    pl->retry_ev == NULL || pl->peer->retry_ev == NULL ||
	    pl->kick_ev == NULL || pl->flight_ev == NULL ||
	    pl->alive_ev == NULL || pl->commit_ev == NULL ||
	    event_add(pl->alive_ev, &(const struct timeval){ 1, 0 }) == -1) {
		pipeline_free(pl);
		return NULL;
	}
	pipeline_configure(pl, cfg);
	return pl;
}

/* Free; messages still held are destroyed (their offsets not stored). */
void
pipeline_free(struct pipeline *pl)
{
	if (pl == NULL)
		return;
	pl_slot_free(pl->peer);
	pl->peer = NULL;
	pl_free_shop_time(pl);
	if (pl->kick_ev)
		event_free(pl->kick_ev);
	if (pl->flight_ev)
		event_free(pl->flight_ev);
	if (pl->alive_ev)
		event_free(pl->alive_ev);
	if (pl->ahead_ev)
		event_free(pl->ahead_ev);
	for (size_t i = 0; i < pl->nheld; i++)
		rd_kafka_message_destroy(pl->held[i]);
	free(pl->held);
	while (pl->flights != NULL) {
		struct pl_flight *fl = pl->flights;

		pl->flights = fl->next;
		pl_flight_free(fl);
	}
	if (pl->commit_ev)
		event_free(pl->commit_ev);
	pl_slot_free(pl);
}

void
pipeline_set_kafka(struct pipeline *pl, struct kafka *k)
{
	pl->kafka = k;
	pl->peer->kafka = k;
}

void
pipeline_kick(struct pipeline *pl)
{
	pl_take(pl);
}

int
pipeline_busy(const struct pipeline *pl)
{
	return pl->phase != PL_IDLE || pl->peer->phase != PL_IDLE ||
	    pl->flights != NULL;
}

/* Stop taking; call done once idle. */
void
pipeline_drain(struct pipeline *pl, void (*done)(void *), void *arg)
{
	pl->draining = 1;
	if (pipeline_busy(pl) == 0) {
		done(arg);
		return;
	}
	pl->drained = done;
	pl->drained_arg = arg;
}
