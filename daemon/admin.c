/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admin.c - admin HTTP API: routing, auth, JSON, and the asynchronous
 * gathering of plan figures from the per-product day counters.
 */
#include "admin.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "diagnose.h"
#include "explain.h"
#include "reco.h"
#include "recommend.h"
#include "page.h"
#include "stats.h"
#include "strmap.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#define ADMIN_TOKEN_MAX 256

struct admin {
	struct event_base *base;
	struct admin_deps deps;
	struct evhttp *http;
	char token[ADMIN_TOKEN_MAX];
};

/* One request waiting for Redis. */
struct admin_wait {
	struct admin *ad;
	struct evhttp_request *req;     /* NULL once the client left */
	int pending;
	int failed;
	void (*finish)(struct admin_wait *);
	void *data;
	void (*free_data)(void *);
};

/* ---- responses ---------------------------------------------------------- */

/* Send a JSON value (reference taken) with a status. */
static void
admin_reply_json(struct evhttp_request *req, int status, json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) :
	    NULL;

	json_decref(j);
	if (b == NULL || s == NULL) {
		free(s);
		if (b)
			evbuffer_free(b);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, status < 300 ? "OK" : "Error", b);
	evbuffer_free(b);
}

/* {"error": msg} with a status. */
static void
admin_error(struct evhttp_request *req, int status, const char *msg)
{
	admin_reply_json(req, status, json_pack("{s:s}", "error", msg));
}

/* Plain text reply. */
static void
admin_reply_text(struct evhttp_request *req, const char *ctype,
    const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(b, text, strlen(text));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* ---- waiting on Redis --------------------------------------------------- */

/* The client went away: forget its request. */
static void
admin_closed_cb(struct evhttp_connection *conn, void *arg)
{
	struct admin_wait *w = arg;

	(void)conn;
	w->req = NULL;
}

/* A wait for req; finish() runs when every reply arrived. */
static struct admin_wait *
admin_wait_new(struct admin *ad, struct evhttp_request *req,
    void (*finish)(struct admin_wait *))
{
	struct admin_wait *w = calloc(1, sizeof(*w));

	if (w == NULL)
		fatalx("out of memory");
	w->ad = ad;
	w->req = req;
	w->finish = finish;
	w->pending = 1;
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    admin_closed_cb, w);
	return w;
}

/* Drop one hold; the last runs finish (if the client is still there). */
static void
admin_wait_unref(struct admin_wait *w)
{
	if (--w->pending > 0)
		return;
	if (w->req != NULL) {
		evhttp_connection_set_closecb(
		    evhttp_request_get_connection(w->req), NULL, NULL);
		if (w->failed)
			admin_error(w->req, 503, "the store did not answer");
		else
			w->finish(w);
	}
	if (w->free_data != NULL)
		w->free_data(w->data);
	free(w);
}

/* ---- auth and routing helpers ------------------------------------------- */

/* Constant-time comparison of the bearer token. */
static int
admin_authorized(const struct admin *ad, struct evhttp_request *req)
{
	const char *h;
	size_t tl = strlen(ad->token), hl;
	unsigned char diff = 0;

	if (tl == 0)
		return 1;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	hl = strlen(h);
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char)(ad->token[i] ^ (i < hl ? h[i] : 0));
	return diff == 0 && hl == tl;
}

/* The request body as a malloc'd string. */
static char *
admin_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	char *s;

	*len = evbuffer_get_length(b);
	if ((s = malloc(*len + 1)) == NULL)
		return NULL;
	evbuffer_remove(b, s, *len);
	s[*len] = '\0';
	return s;
}

/* A query parameter into buf ("" when absent); 0 or -1. */
static int
admin_query(struct evhttp_request *req, const char *name, char *buf,
    size_t len)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *q = u ? evhttp_uri_get_query(u) : NULL;
	struct evkeyvalq kv;
	const char *v;

	buf[0] = '\0';
	if (q == NULL)
		return 0;
	TAILQ_INIT(&kv);
	if (evhttp_parse_query_str(q, &kv) == -1)
		return -1;
	if ((v = evhttp_find_header(&kv, name)) != NULL)
		snprintf(buf, len, "%s", v);
	evhttp_clear_headers(&kv);
	return 0;
}

/* ---- figures: T+1 snapshots and live rows (daemon/report.h) ------------ */

enum admin_view { VIEW_SHOW, VIEW_METRICS, VIEW_DIAGNOSIS, VIEW_PAGE };

/* What a figures request asked for. */
struct admin_fig {
	struct admin_wait *w;
	char id[PLAN_ID_MAX];
	enum admin_view view;
	int products;                   /* metrics: per product rows too */
	char date[SNAPSHOT_DATE_MAX];   /* diagnosis: the judged day */
};

/* The sum of rows (over days or products) as a derived row. */
static struct snapshot_day
admin_total(const struct snapshot_day *rows, size_t n, size_t stride,
    const char *plan_id, const char *product_id)
{
	struct snapshot_day t, *tmp = calloc(n + 1, sizeof(*tmp));
	struct snapshot_params sp;
	char err[128];

	if (tmp == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < n; i++)
		tmp[i] = rows[i * stride];
	snapshot_init(&t, n > 0 ? rows[0].date : "1970-01-01", plan_id,
	    product_id, err, sizeof(err));
	snapshot_sum(&t, tmp, n);
	snapshot_params_default(&sp);
	snapshot_derive(&t, &sp);
	free(tmp);
	return t;
}

/* A product's rows over the days, as a contiguous array (malloc'd). */
static struct snapshot_day *
admin_product_series(const struct report_rows *r, size_t i)
{
	struct snapshot_day *s = calloc(r->ndays + 1, sizeof(*s));

	if (s == NULL)
		fatalx("out of memory");
	for (size_t d = 0; d < r->ndays; d++)
		s[d] = r->prod[d * r->nprod + i];
	return s;
}

/* The plan with its totals over every gathered day. */
static json_t *
admin_plan_totals(const struct plan *p, const struct report_rows *r)
{
	struct snapshot_day t = admin_total(r->plan, r->ndays, 1, r->plan_id,
	    "");
	json_t *j = plan_to_json(p);

	json_object_set_new(j, "totals", snapshot_to_json(&t));
	return j;
}

/* The days as day objects, each marked final or live. */
static json_t *
admin_days_json(const struct report_rows *r)
{
	json_t *days = json_array();

	for (size_t d = 0; d < r->ndays; d++) {
		json_t *o = snapshot_to_json(&r->plan[d]);

		json_object_set_new(o, "final", json_boolean(r->final[d]));
		json_array_append_new(days, o);
	}
	return days;
}

/* Each product's days, or its total when total is set. */
static json_t *
admin_products_json(const struct report_rows *r, int total)
{
	json_t *out = total ? json_array() : json_object();

	for (size_t i = 0; i < r->nprod; i++) {
		const struct snapshot_day *first = &r->prod[i];
		json_t *a;

		if (total) {
			struct snapshot_day t = admin_total(first, r->ndays,
			    r->nprod, r->plan_id, first->product_id);

			json_array_append_new(out, snapshot_to_json(&t));
			continue;
		}
		a = json_array();
		for (size_t d = 0; d < r->ndays; d++)
			json_array_append_new(a, snapshot_to_json(
			    &r->prod[d * r->nprod + i]));
		json_object_set_new(out, first->product_id, a);
	}
	return out;
}

/* The judged day: the asked one, else the last with treatment views. */
static const char *
admin_judged_day(const struct report_rows *r, const char *asked)
{
	const char *last = r->ndays > 0 ? r->dates[0] : "";

	if (asked[0] != '\0')
		return asked;
	for (size_t d = 0; d < r->ndays; d++)
		if (r->plan[d].pv_t > 0)
			last = r->dates[d];
	return last;
}

/* Diagnosis of the plan and its flagged products on one day. */
static json_t *
admin_diagnosis_json(const struct report_rows *r, const char *date,
    json_t **all)
{
	struct diagnose_params dp;
	struct diagnose_result res;
	json_t *plan = json_array(), *prods = json_object();
	char err[256];

	diagnose_params_default(&dp);
	*all = json_array();
	if (r->ndays > 0 && diagnose_day(&dp, r->plan, r->ndays, date, &res,
	    err, sizeof(err)) == 0) {
		json_array_append_new(plan, diagnose_to_json(&res));
		json_array_append_new(*all, diagnose_to_json(&res));
	}
	for (size_t i = 0; i < r->nprod && r->ndays > 0; i++) {
		struct snapshot_day *s = admin_product_series(r, i);

		if (diagnose_day(&dp, s, r->ndays, date, &res, err,
		    sizeof(err)) == 0 && res.flagged) {
			json_object_set_new(prods, s[0].product_id,
			    diagnose_to_json(&res));
			json_array_append_new(*all, diagnose_to_json(&res));
		}
		free(s);
	}
	return json_pack("{s:s, s:s, s:o, s:o}", "plan_id", r->plan_id,
	    "date", date, "plan", plan, "products", prods);
}

/* Reply with an HTML page. */
static void
admin_reply_html(struct evhttp_request *req, char *html)
{
	if (html == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	admin_reply_text(req, "text/html; charset=utf-8", html);
	free(html);
}

/* The page's parts while the shop's recommendations are computed. */
struct admin_page {
	struct admin_wait *w;
	json_t *plan, *days, *prods, *diag;
};

/* The recommendations are in (or not): build and send the page. */
static void
admin_page_reco_cb(const json_t *rec, int status, const char *err,
    void *arg)
{
	struct admin_page *pg = arg;
	struct admin_wait *w = pg->w;

	(void)err;
	if (w->req != NULL) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    w->req), NULL, NULL);
		admin_reply_html(w->req, page_plan_html(pg->plan, pg->days,
		    pg->prods, pg->diag, status == 200 ? rec : NULL));
		w->req = NULL;
	}
	json_decref(pg->plan);
	json_decref(pg->days);
	json_decref(pg->prods);
	json_decref(pg->diag);
	free(pg);
	admin_wait_unref(w);
}

/* The seller's page of a plan: figures now, recommendations next. */
static void
admin_page_reply(struct admin_wait *w, const struct plan *p,
    const struct report_rows *r)
{
	struct admin_page *pg = calloc(1, sizeof(*pg));
	json_t *dj;

	if (pg == NULL)
		fatalx("out of memory");
	pg->w = w;
	pg->plan = admin_plan_totals(p, r);
	pg->days = admin_days_json(r);
	pg->prods = admin_products_json(r, 1);
	dj = admin_diagnosis_json(r, admin_judged_day(r, ""), &pg->diag);
	json_decref(dj);
	w->pending++;
	if (reco_compute(w->ad->deps.st, w->ad->deps.plans,
	    w->ad->deps.pipeline, w->ad->deps.cfg, p->shop_id,
	    admin_page_reco_cb, pg) == -1)
		admin_page_reco_cb(NULL, 503, "the store is not available", pg);
}

/* The rows are in: answer the view. */
static void
admin_fig_cb(const struct report_rows *r, const char *err, void *arg)
{
	struct admin_fig *f = arg;
	struct admin_wait *w = f->w;
	struct plan *p = plans_get(w->ad->deps.plans, f->id);
	json_t *all = NULL;

	if (r == NULL || p == NULL) {
		if (w->req != NULL) {
			evhttp_connection_set_closecb(
			    evhttp_request_get_connection(w->req), NULL, NULL);
			admin_error(w->req, p == NULL ? 404 : 503, p == NULL ?
			    "plan disappeared" : err);
			w->req = NULL;
		}
	} else if (w->req != NULL && f->view == VIEW_PAGE) {
		admin_page_reply(w, p, r);
	} else if (w->req != NULL) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    w->req), NULL, NULL);
		if (f->view == VIEW_SHOW)
			admin_reply_json(w->req, 200, admin_plan_totals(p, r));
		else if (f->view == VIEW_METRICS)
			admin_reply_json(w->req, 200, f->products ?
			    json_pack("{s:s, s:o, s:o}", "plan_id", f->id,
			    "days", admin_days_json(r), "products",
			    admin_products_json(r, 0)) :
			    json_pack("{s:s, s:o}", "plan_id", f->id, "days",
			    admin_days_json(r)));
		else
			admin_reply_json(w->req, 200, admin_diagnosis_json(r,
			    admin_judged_day(r, f->date), &all));
		json_decref(all);
		w->req = NULL;
	}
	admin_wait_unref(w);
}

/* Nothing more to send once the figures answered. */
static void
admin_fig_done(struct admin_wait *w)
{
	(void)w;
}

/* ---- handlers ----------------------------------------------------------- */

/* Create reply once persisted. */
static void
admin_created_cb(int ok, const char *err, void *arg)
{
	struct admin_wait *w = arg;

	if (!ok) {
		w->failed = 1;
		log_warnx("plan write failed: %s", err);
	}
	admin_wait_unref(w);
}

/* A plan on its way to creation; the id comes first (see plan_finish). */
struct admin_np {
	char id[PLAN_ID_MAX];
	struct plan *p;         /* NULL once the registry took it */
	int dry_run;            /* preview: answer without creating */
	json_t *skipped;        /* segment plan: members held by other plans */
};

/* Reply with the plan whose id is in w->data. */
static void
admin_plan_finish(struct admin_wait *w)
{
	struct plan *p = plans_get(w->ad->deps.plans, w->data);
	const struct admin_np *np = w->data;
	json_t *out;

	if (p == NULL) {
		admin_error(w->req, 404, "plan disappeared");
		return;
	}
	out = plan_to_json(p);
	if (np->skipped != NULL)
		json_object_set(out, "skipped", np->skipped);
	admin_reply_json(w->req, w->pending == 0 && p->ended_ms == 0 ? 201 :
	    200, out);
}

/* Free a plan that was not created. */
static void
admin_np_free(void *arg)
{
	struct admin_np *np = arg;

	if (np->p != NULL) {
		plan_release(np->p);
		free(np->p);
	}
	json_decref(np->skipped);
	free(np);
}

/* A wait that answers with the plan id once a plan write is acknowledged. */
static struct admin_wait *
admin_wait_plan(struct admin *ad, struct evhttp_request *req, const char *id,
    struct plan *p)
{
	struct admin_wait *w = admin_wait_new(ad, req, admin_plan_finish);
	struct admin_np *np = calloc(1, sizeof(*np));

	if (np == NULL)
		fatalx("out of memory");
	snprintf(np->id, sizeof(np->id), "%s", id);
	np->p = p;
	w->data = np;
	w->free_data = admin_np_free;
	return w;
}

/* Answer now with an error; the wait's remaining holds just free it. */
static void
admin_wait_refused(struct admin_wait *w, int status, const char *err)
{
	if (w->req == NULL)
		return;
	evhttp_connection_set_closecb(evhttp_request_get_connection(w->req),
	    NULL, NULL);
	admin_error(w->req, status, err);
	w->req = NULL;
}

/* One product of a preview: the plan's range and what is suggested. */
static json_t *
admin_preview_product(const struct plan *p, const char *pid,
    const json_t *item, double *gain)
{
	int32_t mn, mx;
	json_t *o;

	plan_range_for(p, pid, &mn, &mx);
	o = json_pack("{s:s, s:[f, f]}", "product_id", pid, "plan_range",
	    mn / 100.0, mx / 100.0);
	if (item == NULL) {
		json_object_set_new(o, "suggested", json_null());
		json_object_set_new(o, "why", json_string("no recommendation: "
		    "no catalog row or price yet, or already in a plan"));
		return o;
	}
	json_object_set_new(o, "suggested", json_pack("{s:O, s:O, s:O, s:O}",
	    "discount_min_pct", json_object_get(item, "discount_min_pct"),
	    "discount_max_pct", json_object_get(item, "discount_max_pct"),
	    "best_pct", json_object_get(item, "best_pct"), "tools",
	    json_object_get(item, "tools")));
	json_object_set(o, "expected", json_object_get(item, "expected"));
	json_object_set(o, "lift_from", json_object_get(item, "lift_from"));
	json_object_set(o, "window_views", json_object_get(item,
	    "window_views"));
	*gain += json_number_value(json_object_get(json_object_get(item,
	    "expected"), "extra_gmv_per_1000_views")) / 1000.0 *
	    (double)json_integer_value(json_object_get(item, "window_views")) /
	    RECO_WINDOW_DAYS * p->days;
	return o;
}

/* The shop's recommendations are in: answer the preview. */
static void
admin_preview_cb(const json_t *rec, int status, const char *err, void *arg)
{
	struct admin_wait *w = arg;
	struct admin_np *np = w->data;
	json_t *items = rec ? json_object_get(rec, "products") : NULL;
	json_t *out, *plan, *prods = json_array(), *it;
	double gain = 0;
	size_t i;

	for (size_t k = 0; k < np->p->nproducts; k++) {
		const json_t *found = NULL;

		json_array_foreach(items, i, it) {
			const char *id = json_string_value(json_object_get(it,
			    "product_id"));

			if (id != NULL && strcmp(id, np->p->products[k]) == 0)
				found = it;
		}
		json_array_append_new(prods, admin_preview_product(np->p,
		    np->p->products[k], found, &gain));
	}
	plan = plan_to_json(np->p);
	json_object_del(plan, "plan_id");
	json_object_set_new(plan, "status", json_string("preview"));
	out = json_pack("{s:b, s:o, s:o, s:I, s:s}", "dry_run", 1, "plan",
	    plan, "products", prods, "potential_gmv_increase",
	    (json_int_t)llround(gain), "assumptions", status == 200 ?
	    "for each product: its page views over the last 30 days, spread "
	    "evenly over the plan's days, times the extra GMV per view the "
	    "recommendation expects at its best discount against no "
	    "promotion (GET /v1/recommendations: the lift of similar "
	    "products in its category, else the shop's, else a "
	    "price-elasticity prior, scaled by the product's own history); "
	    "treatment "
	    "shoppers only, before the control group is set aside; no "
	    "budget, campaign or stock limits" : "no recommendation could be "
	    "computed: nothing is estimated");
	if (status != 200 && err != NULL)
		json_object_set_new(out, "assumptions", json_sprintf("no "
		    "recommendation could be computed (%s): nothing is "
		    "estimated", err));
	if (np->skipped != NULL)
		json_object_set(out, "skipped", np->skipped);
	if (w->req != NULL) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    w->req), NULL, NULL);
		admin_reply_json(w->req, 200, out);
		w->req = NULL;
	} else
		json_decref(out);
	admin_wait_unref(w);
}

/* Hand the plan to the registry, which persists it (or, for a preview,
 * estimate instead). */
static void
admin_create_commit(struct admin_wait *w)
{
	struct admin_np *np = w->data;
	char err[512];
	int status;

	if (plans_check(w->ad->deps.plans, np->p, &status, err,
	    sizeof(err)) == -1) {
		admin_wait_refused(w, status, err);
		return;
	}
	if (np->dry_run) {
		w->pending++;
		if (reco_compute(w->ad->deps.st, w->ad->deps.plans,
		    w->ad->deps.pipeline, w->ad->deps.cfg, np->p->shop_id,
		    admin_preview_cb, w) == -1)
			admin_preview_cb(NULL, 503, NULL, w);
		return;
	}
	w->pending++;
	if (plans_create(w->ad->deps.plans, np->p, admin_created_cb, w,
	    &status, err, sizeof(err)) == -1) {
		w->pending--;
		admin_wait_refused(w, status, err);
		return;
	}
	np->p = NULL;
}

/* The segment members now: they become the plan's products. */
static void
admin_members_cb(const char *const *ids, size_t n, const char *err,
    void *arg)
{
	struct admin_wait *w = arg;
	struct admin_np *np = w->data;
	const char **keep = calloc(n + 1, sizeof(*keep));
	const struct plan *other;
	char e[256];
	size_t m = 0;

	if (keep == NULL || (np->skipped = json_array()) == NULL)
		fatalx("out of memory");
	if (err != NULL)
		w->failed = 1;
	for (size_t i = 0; i < n && err == NULL; i++) {
		if (strmap_get(&np->p->xindex, ids[i]) != NULL)
			continue;
		other = plans_for_product(w->ad->deps.plans, ids[i]);
		if (other == NULL)
			keep[m++] = ids[i];
		else
			json_array_append_new(np->skipped, json_pack("{s:s, "
			    "s:s}", "product_id", ids[i], "plan_id",
			    other->plan_id));
	}
	if (err == NULL && w->req != NULL) {
		if (plan_set_products(np->p, keep, m, e, sizeof(e)) == -1)
			admin_wait_refused(w, 422, e);
		else
			admin_create_commit(w);
	}
	free(keep);
	admin_wait_unref(w);
}

/* The eligibility rule: why the shop may not create plans, or NULL.
 * require_shop_data "yes" (the default): a missing figure fails its rule;
 * "no": it is not held against the shop. */
static const char *
admin_ineligible(const struct admin *ad, const redisReply *r,
    const char *shop, char *buf, size_t len)
{
	const struct config_plans *c = &ad->deps.cfg->plans;
	const char *sps = r->element[0]->str, *o90 = r->element[1]->str;
	int strict = strcmp(c->require_shop_data, "yes") == 0;
	int bad_sps, bad_orders;

	if (r->element[2]->str == NULL) {
		if (!strict)
			return NULL;
		snprintf(buf, len, "shop \"%s\" has no Shop Performance Score "
		    "yet (send a \"shop\" event first)", shop);
		return buf;
	}
	bad_sps = sps == NULL || strtod(sps, NULL) < c->min_sps;
	bad_orders = o90 == NULL ? strict :
	    strtoll(o90, NULL, 10) < c->min_orders_90d;
	if (!bad_sps && !bad_orders)
		return NULL;
	snprintf(buf, len, "shop \"%s\" is not eligible:%s%s%s%s%s", shop,
	    bad_sps ? " its Shop Performance Score " : "",
	    bad_sps ? (sps ? sps : "(none)") : "",
	    bad_sps ? " is below the required minimum" : "",
	    bad_sps && bad_orders ? ";" : "",
	    !bad_orders ? "" : o90 == NULL ? " no \"shop\" event gave its "
	    "orders in the last 90 days (orders_90d)" :
	    " it has fewer orders in the last 90 days than required");
	return buf;
}

/* The shop's figures: check eligibility, then gather or commit. */
static void
admin_shop_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct admin_wait *w = priv;
	struct admin_np *np = w->data;
	redisReply *reply = r;
	char why[512];

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3)
		w->failed = 1;
	else if (w->req == NULL)
		;
	else if (admin_ineligible(w->ad, reply, np->p->shop_id, why,
	    sizeof(why)) != NULL)
		admin_wait_refused(w, 422, why);
	else if (np->p->segments != 0) {
		w->pending++;
		segments_members(w->ad->deps.segments, np->p->shop_id,
		    np->p->segments, admin_members_cb, w);
	} else
		admin_create_commit(w);
	admin_wait_unref(w);
}

/* A plan's days within the configured maximum; 0 or -1 with err. */
static int
admin_check_days(const struct admin *ad, const struct plan *p, char *err,
    size_t len)
{
	if (p->days <= ad->deps.cfg->plans.max_days)
		return 0;
	snprintf(err, len, "field \"days\" must be at most %d (the configured "
	    "maximum)", ad->deps.cfg->plans.max_days);
	return -1;
}

/* Create a plan from a request body: validate, check the shop, gather
 * segment members, create. */
static void
admin_plan_create_body(struct admin *ad, struct evhttp_request *req,
    const char *body, size_t len, int dry_run)
{
	struct plan_limits lim = { ad->deps.cfg->engine.roi_target,
	    ad->deps.cfg->engine.max_discount_pct, strcmp(
	    ad->deps.cfg->plans.allow_past_start, "yes") == 0 };
	struct plan *p = calloc(1, sizeof(*p));
	char err[512], key[320];
	const char *argv[5] = { "HMGET", key, "sps", "orders_90d", "ts" };
	struct admin_wait *w;

	if (p == NULL)
		fatalx("out of memory");
	if (plan_from_request(p, body, len, &lim, clock_now_ms(), err,
	    sizeof(err)) == -1 || admin_check_days(ad, p, err,
	    sizeof(err)) == -1) {
		plan_release(p);
		free(p);
		admin_error(req, 422, err);
		return;
	}
	plans_new_id(p->plan_id, sizeof(p->plan_id));
	w = admin_wait_plan(ad, req, p->plan_id, p);
	((struct admin_np *)w->data)->dry_run = dry_run;
	store_key(ad->deps.st, key, sizeof(key), "shop:%s", p->shop_id);
	w->pending++;
	if (store_command(ad->deps.st, admin_shop_cb, w, 5, argv, NULL) == -1) {
		w->pending--;
		admin_wait_refused(w, 503, "the store is not available");
	}
	admin_wait_unref(w);
}

/* POST /v1/plans[?dry_run=1] */
static void
admin_plan_create(struct admin *ad, struct evhttp_request *req)
{
	size_t len;
	char *body = admin_body(req, &len), dry[8];

	if (body == NULL)
		fatalx("out of memory");
	if (admin_query(req, "dry_run", dry, sizeof(dry)) == -1) {
		free(body);
		admin_error(req, 422, "bad query string");
		return;
	}
	admin_plan_create_body(ad, req, body, len, strcmp(dry, "1") == 0 ||
	    strcmp(dry, "true") == 0);
	free(body);
}

/* POST /v1/plans/{id}/end */
static void
admin_plan_end(struct admin *ad, struct evhttp_request *req, const char *id)
{
	char err[256];
	int status;
	struct admin_wait *w = admin_wait_plan(ad, req, id, NULL);

	w->pending++;
	if (plans_end(ad->deps.plans, id, "ended by request", clock_now_ms(),
	    admin_created_cb, w, &status, err, sizeof(err)) == -1) {
		w->pending--;
		admin_wait_refused(w, status, err);
	}
	admin_wait_unref(w);
}

/* GET /v1/plans */
static void
admin_plan_list(struct admin *ad, struct evhttp_request *req)
{
	struct plan *const *all;
	size_t n = plans_all(ad->deps.plans, &all);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, plan_to_json(all[i]));
	admin_reply_json(req, 200, json_pack("{s:o}", "plans", arr));
}

/* Parse the query of a figures request; 0, or -1 after a 422. */
static int
admin_fig_query(struct evhttp_request *req, struct admin_fig *f, char *from,
    char *to)
{
	char prod[8];

	if (admin_query(req, "from", from, 32) == -1 ||
	    admin_query(req, "to", to, 32) == -1 ||
	    admin_query(req, "date", f->date, sizeof(f->date)) == -1 ||
	    admin_query(req, "products", prod, sizeof(prod)) == -1 ||
	    (from[0] && !snapshot_date_ok(from)) ||
	    (to[0] && !snapshot_date_ok(to)) ||
	    (f->date[0] && !snapshot_date_ok(f->date))) {
		admin_error(req, 422, "\"from\", \"to\" and \"date\" must be "
		    "dates YYYY-MM-DD");
		return -1;
	}
	f->products = strcmp(prod, "1") == 0 || strcmp(prod, "true") == 0;
	return 0;
}

/* GET /v1/plans/{id}, its /metrics, /diagnosis, and the page. */
static void
admin_plan_figures(struct admin *ad, struct evhttp_request *req,
    const char *id, enum admin_view view)
{
	struct plan *p = plans_get(ad->deps.plans, id);
	struct admin_fig *f = calloc(1, sizeof(*f));
	char from[32] = "", to[32] = "", (*dates)[SNAPSHOT_DATE_MAX];
	size_t n;

	if (f == NULL)
		fatalx("out of memory");
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->view = view;
	if (p == NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "no plan \"%s\"", id);
		free(f);
		admin_error(req, 404, msg);
		return;
	}
	if (admin_fig_query(req, f, from, to) == -1) {
		free(f);
		return;
	}
	if (view != VIEW_METRICS || to[0] == '\0') {
		/* no day after the latest the daemon knows of: wall clock, or
		 * the shop's latest event when its events run ahead */
		int64_t t = pipeline_shop_time(ad->deps.pipeline, p->shop_id);
		int64_t now = clock_now_ms();

		clock_date(t > now ? t : now, to);
	}
	n = report_plan_dates(p, view == VIEW_METRICS ? from : "", to, &dates);
	f->w = admin_wait_new(ad, req, admin_fig_done);
	f->w->data = f;
	f->w->free_data = free;
	f->w->pending++;
	if (report_gather(ad->deps.report, p, (const char (*)[11])dates, n,
	    1, admin_fig_cb, f) == -1) {
		f->w->pending--;
		admin_wait_refused(f->w, 503, "the store is not available");
	}
	free(dates);
	admin_wait_unref(f->w);
}

/* A snapshot run finished. */
static void
admin_snapshot_cb(const json_t *result, const char *err, void *arg)
{
	struct admin_wait *w = arg;

	if (w->req != NULL) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    w->req), NULL, NULL);
		if (err != NULL)
			admin_error(w->req, 503, err);
		else
			admin_reply_json(w->req, 200, json_incref(
			    (json_t *)result));
		w->req = NULL;
	}
	admin_wait_unref(w);
}

/* The explanation is ready. */
static void
admin_explained_cb(const json_t *out, int status, const char *err, void *arg)
{
	struct admin_wait *w = arg;

	if (w->req != NULL) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    w->req), NULL, NULL);
		if (out == NULL)
			admin_error(w->req, status, err);
		else
			admin_reply_json(w->req, 200, json_incref((json_t *)out));
		w->req = NULL;
	}
	admin_wait_unref(w);
}

/* GET /v1/explain?product=P&customer=C */
static void
admin_explain(struct admin *ad, struct evhttp_request *req)
{
	char prod[EVENT_ID_MAX], cust[EVENT_ID_MAX];
	struct admin_wait *w;

	if (admin_query(req, "product", prod, sizeof(prod)) == -1 ||
	    admin_query(req, "customer", cust, sizeof(cust)) == -1 ||
	    prod[0] == '\0' || cust[0] == '\0') {
		admin_error(req, 422, "give \"product\" and \"customer\"");
		return;
	}
	w = admin_wait_new(ad, req, admin_fig_done);
	w->pending++;
	if (explain_run(ad->deps.st, ad->deps.plans, ad->deps.pipeline, prod,
	    cust, admin_explained_cb, w) == -1) {
		w->pending--;
		admin_wait_refused(w, 503, "the store is not available");
	}
	admin_wait_unref(w);
}

/* A recommendation is ready (GET) or read back (apply). */
static void
admin_reco_cb(const json_t *rec, int status, const char *err, void *arg)
{
	struct admin_wait *w = arg;

	if (w->req != NULL) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    w->req), NULL, NULL);
		if (rec == NULL || status != 200)
			admin_error(w->req, status, err);
		else
			admin_reply_json(w->req, 200, json_incref((json_t *)rec));
		w->req = NULL;
	}
	admin_wait_unref(w);
}

/* GET /v1/recommendations?shop=S */
static void
admin_recommendations(struct admin *ad, struct evhttp_request *req)
{
	char shop[EVENT_ID_MAX];
	struct admin_wait *w;

	if (admin_query(req, "shop", shop, sizeof(shop)) == -1 ||
	    shop[0] == '\0') {
		admin_error(req, 422, "give \"shop\"");
		return;
	}
	w = admin_wait_new(ad, req, admin_fig_done);
	w->pending++;
	if (reco_compute(ad->deps.st, ad->deps.plans, ad->deps.pipeline,
	    ad->deps.cfg, shop, admin_reco_cb, w) == -1) {
		w->pending--;
		admin_wait_refused(w, 503, "the store is not available");
	}
	admin_wait_unref(w);
}

/* Apply the caller's edits (a JSON object) to a plan body. */
static int
admin_reco_edits(json_t *body, const char *edits, size_t len,
    const char ***only, size_t *nonly, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "days", "discount_min_pct",
	    "discount_max_pct", "roi_target", "budget", "start", "exclude" };
	json_error_t je;
	json_t *e, *prods;

	*nonly = 0;
	if (len == 0)
		return 0;
	if ((e = json_loadb(edits, len, 0, &je)) == NULL ||
	    !json_is_object(e)) {
		snprintf(err, errlen, "body is not a JSON object");
		json_decref(e);
		return -1;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(e, keys[i]) != NULL)
			json_object_set(body, keys[i], json_object_get(e,
			    keys[i]));
	if ((prods = json_object_get(e, "products")) != NULL &&
	    !json_is_array(prods)) {
		snprintf(err, errlen, "field \"products\" must be an array of "
		    "product ids");
		json_decref(e);
		return -1;
	}
	if (prods != NULL) {
		*only = calloc(json_array_size(prods) + 1, sizeof(**only));
		for (size_t i = 0; i < json_array_size(prods); i++)
			if (json_is_string(json_array_get(prods, i)))
				(*only)[(*nonly)++] = strdup(json_string_value(
				    json_array_get(prods, i)));
	}
	json_decref(e);
	return 0;
}

/* Keep every per-product range inside the plan's (edited) range. */
static void
admin_clip_ranges(json_t *body)
{
	json_t *ranges = json_object_get(body, "product_ranges"), *r;
	double lo = json_number_value(json_object_get(body,
	    "discount_min_pct"));
	double hi = json_number_value(json_object_get(body,
	    "discount_max_pct"));
	const char *pid;
	void *tmp;

	if (!json_is_object(ranges) || hi <= 0 || lo > hi)
		return;
	json_object_foreach_safe(ranges, tmp, pid, r) {
		double a = json_number_value(json_array_get(r, 0));
		double b = json_number_value(json_array_get(r, 1));

		a = a < lo ? lo : a > hi ? hi : a;
		b = b < lo ? lo : b > hi ? hi : b;
		json_object_set_new(ranges, pid, json_pack("[f, f]", a,
		    b < a ? a : b));
	}
}

struct admin_apply {
	struct admin *ad;
	struct evhttp_request *req;
	char *edits;
	size_t len;
	int gone;
	int dry_run;            /* preview the plan, create nothing */
};

/* The client of an apply went away. */
static void
admin_apply_closed_cb(struct evhttp_connection *conn, void *arg)
{
	struct admin_apply *a = arg;

	(void)conn;
	a->gone = 1;
}

/* The stored recommendation: build the plan body, create the plan. */
static void
admin_apply_cb(const json_t *rec, int status, const char *err, void *arg)
{
	struct admin_apply *a = arg;
	const char **only = NULL;
	size_t nonly = 0;
	json_t *body = NULL;
	char e[512], *text;

	if (!a->gone) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    a->req), NULL, NULL);
		if (rec == NULL)
			admin_error(a->req, status, err);
		else if ((body = json_object()) == NULL ||
		    admin_reco_edits(body, a->edits, a->len, &only, &nonly, e,
		    sizeof(e)) == -1)
			admin_error(a->req, 422, e);
		else {
			json_t *pb = recommend_plan_body(rec, only, nonly, e,
			    sizeof(e));

			if (pb == NULL)
				admin_error(a->req, 422, e);
			else {
				json_object_update(pb, body);
				admin_clip_ranges(pb);
				text = json_dumps(pb, JSON_COMPACT);
				admin_plan_create_body(a->ad, a->req, text,
				    strlen(text), a->dry_run);
				free(text);
				json_decref(pb);
			}
		}
	}
	for (size_t i = 0; i < nonly; i++)
		free((char *)only[i]);
	free(only);
	json_decref(body);
	free(a->edits);
	free(a);
}

/* POST /v1/recommendations/{id}/apply[?dry_run=1] */
static void
admin_reco_apply(struct admin *ad, struct evhttp_request *req, const char *id)
{
	struct admin_apply *a;
	char dry[8];

	if (admin_query(req, "dry_run", dry, sizeof(dry)) == -1) {
		admin_error(req, 422, "bad query string");
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->edits = admin_body(req, &a->len)) == NULL)
		fatalx("out of memory");
	a->ad = ad;
	a->req = req;
	a->dry_run = strcmp(dry, "1") == 0 || strcmp(dry, "true") == 0;
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    admin_apply_closed_cb, a);
	if (reco_get(ad->deps.st, id, admin_apply_cb, a) == -1) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(req),
		    NULL, NULL);
		free(a->edits);
		free(a);
		admin_error(req, 503, "the store is not available");
	}
}

/* Route /v1/recommendations... */
static void
admin_route_reco(struct admin *ad, struct evhttp_request *req,
    enum evhttp_cmd_type m, const char *rest)
{
	const char *slash;
	char id[64];

	if (rest[0] == '\0' && m == EVHTTP_REQ_GET) {
		admin_recommendations(ad, req);
		return;
	}
	slash = rest[0] == '/' ? strchr(rest + 1, '/') : NULL;
	if (slash == NULL || strcmp(slash, "/apply") != 0 ||
	    m != EVHTTP_REQ_POST || (size_t)(slash - rest - 1) >= sizeof(id) ||
	    slash == rest + 1) {
		admin_error(req, 404, "not found");
		return;
	}
	memcpy(id, rest + 1, (size_t)(slash - rest - 1));
	id[slash - rest - 1] = '\0';
	admin_reco_apply(ad, req, id);
}

/* A creator view or a scoring run is ready. */
static void
admin_creator_cb(const json_t *out, int status, const char *err, void *arg)
{
	admin_reco_cb(out, status, err, arg);
}

/* GET /v1/creators/{id}, POST /v1/creators/recompute?date=D */
static void
admin_route_creators(struct admin *ad, struct evhttp_request *req,
    enum evhttp_cmd_type m, const char *rest)
{
	char date[32];
	struct admin_wait *w;
	int rc;

	if (rest[0] != '/' || rest[1] == '\0' || strchr(rest + 1, '/') ||
	    strlen(rest + 1) >= EVENT_ID_MAX) {
		admin_error(req, 404, "not found");
		return;
	}
	if (strcmp(rest, "/recompute") == 0 && m == EVHTTP_REQ_POST) {
		if (admin_query(req, "date", date, sizeof(date)) == -1 ||
		    !snapshot_date_ok(date)) {
			admin_error(req, 422, "\"date\" must be a date "
			    "YYYY-MM-DD");
			return;
		}
	} else if (m != EVHTTP_REQ_GET) {
		admin_error(req, 405, "method not allowed");
		return;
	}
	w = admin_wait_new(ad, req, admin_fig_done);
	w->pending++;
	rc = m == EVHTTP_REQ_POST ? creators_run(ad->deps.creators, date,
	    admin_creator_cb, w) : creators_show(ad->deps.creators, rest + 1,
	    admin_creator_cb, w);
	if (rc == -1) {
		w->pending--;
		admin_wait_refused(w, m == EVHTTP_REQ_POST ? 409 : 503,
		    m == EVHTTP_REQ_POST ? "a scoring run is going, or the "
		    "store is not available" : "the store is not available");
	}
	admin_wait_unref(w);
}

/* POST /v1/snapshots?date=D[&plan=ID]: run or re-run a day. */
static void
admin_snapshots(struct admin *ad, struct evhttp_request *req)
{
	char date[32], plan[PLAN_ID_MAX + 8];
	struct admin_wait *w;

	if (admin_query(req, "date", date, sizeof(date)) == -1 ||
	    admin_query(req, "plan", plan, sizeof(plan)) == -1 ||
	    !snapshot_date_ok(date)) {
		admin_error(req, 422, "\"date\" must be a date YYYY-MM-DD");
		return;
	}
	if (plan[0] != '\0' && plans_get(ad->deps.plans, plan) == NULL) {
		admin_error(req, 404, "no such plan");
		return;
	}
	w = admin_wait_new(ad, req, admin_fig_done);
	w->pending++;
	if (report_snapshot(ad->deps.report, date, plan[0] ? plan : NULL,
	    admin_snapshot_cb, w) == -1) {
		w->pending--;
		admin_wait_refused(w, 503, "the store is not available");
	}
	admin_wait_unref(w);
}

/* GET /v1/status */
static void
admin_status(struct admin *ad, struct evhttp_request *req)
{
	json_t *ev = json_object();

	for (int t = 0; t < EV__COUNT; t++)
		json_object_set_new(ev, event_type_name((enum event_type)t),
		    json_integer((json_int_t)stats.events[t]));
	json_object_set_new(ev, "dead_letters",
	    json_integer((json_int_t)stats.dead_letters));
	json_object_set_new(ev, "offers",
	    json_integer((json_int_t)stats.offers));
	json_object_set_new(ev, "conversions",
	    json_integer((json_int_t)stats.conversions));
	json_object_set_new(ev, "redeliveries",
	    json_integer((json_int_t)stats.redeliveries));
	admin_reply_json(req, 200, json_pack("{s:s, s:I, s:b, s:s, "
	    "s:{s:i}, s:i, s:o}", "version", SP_VERSION, "uptime_s",
	    (json_int_t)((clock_now_ms() - stats.started_ms) / 1000), "ready",
	    ad->deps.ready(ad->deps.arg), "redis",
	    store_up(ad->deps.st) ? "connected" : "down", "kafka",
	    "assigned_partitions", ad->deps.assigned(ad->deps.arg),
	    "plans_active", plans_active(ad->deps.plans), "events", ev));
}

/* GET /metrics */
static void
admin_metrics(struct admin *ad, struct evhttp_request *req)
{
	char *t = stats_prometheus(store_up(ad->deps.st),
	    ad->deps.assigned(ad->deps.arg), plans_active(ad->deps.plans));

	if (t == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	admin_reply_text(req, "text/plain; version=0.0.4", t);
	free(t);
}

/* ---- segments ----------------------------------------------------------- */

/* A recomputation finished: answer with its figures. */
static void
admin_recomputed_cb(const json_t *result, const char *err, void *arg)
{
	struct admin_wait *w = arg;

	if (w->req != NULL) {
		evhttp_connection_set_closecb(
		    evhttp_request_get_connection(w->req), NULL, NULL);
		if (err != NULL)
			admin_error(w->req, 503, err);
		else
			admin_reply_json(w->req, 200, json_pack("{s:O}",
			    "shops", result));
		w->req = NULL;
	}
	admin_wait_unref(w);
}

/* Nothing more to send (the callback answered). */
static void
admin_nothing(struct admin_wait *w)
{
	(void)w;
}

/* POST /v1/segments/recompute[?shop=S] */
static void
admin_segments_recompute(struct admin *ad, struct evhttp_request *req)
{
	char shop[EVENT_ID_MAX];
	struct admin_wait *w;

	if (admin_query(req, "shop", shop, sizeof(shop)) == -1) {
		admin_error(req, 422, "bad query string");
		return;
	}
	if (!store_up(ad->deps.st)) {
		admin_error(req, 503, "the store is not available");
		return;
	}
	w = admin_wait_new(ad, req, admin_nothing);
	w->pending++;
	if (segments_run(ad->deps.segments, shop[0] ? shop : NULL,
	    admin_recomputed_cb, w) == -1) {
		w->pending--;
		admin_wait_refused(w, 409, "a segment recomputation is running");
	}
	admin_wait_unref(w);
}

struct admin_seglist {
	json_t *segs;
	char shop[EVENT_ID_MAX];
	struct admin_segq {
		struct admin_wait *w;
		unsigned bit;
	} q[5];
};

/* Free a segment listing. */
static void
admin_seglist_free(void *arg)
{
	struct admin_seglist *sl = arg;

	json_decref(sl->segs);
	free(sl);
}

/* One segment's members. */
static void
admin_segment_cb(const char *const *ids, size_t n, const char *err,
    void *arg)
{
	struct admin_segq *q = arg;
	struct admin_wait *w = q->w;
	struct admin_seglist *sl = w->data;
	json_t *a = json_array();

	if (err != NULL)
		w->failed = 1;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(ids[i]));
	json_object_set_new(sl->segs, plan_segment_name(q->bit), a);
	admin_wait_unref(w);
}

/* Answer with the listing. */
static void
admin_seglist_finish(struct admin_wait *w)
{
	struct admin_seglist *sl = w->data;

	admin_reply_json(w->req, 200, json_pack("{s:s, s:O}", "shop_id",
	    sl->shop, "segments", sl->segs));
}

/* GET /v1/segments/{shop}: the members of each segment, one at a time. */
static void
admin_segments_show(struct admin *ad, struct evhttp_request *req,
    const char *shop)
{
	struct admin_seglist *sl = calloc(1, sizeof(*sl));
	struct admin_wait *w;

	if (sl == NULL)
		fatalx("out of memory");
	if (!store_up(ad->deps.st)) {
		free(sl);
		admin_error(req, 503, "the store is not available");
		return;
	}
	snprintf(sl->shop, sizeof(sl->shop), "%s", shop);
	sl->segs = json_object();
	w = admin_wait_new(ad, req, admin_seglist_finish);
	w->data = sl;
	w->free_data = admin_seglist_free;
	for (int i = 0; i < 5; i++) {
		sl->q[i] = (struct admin_segq){ w, SEG_TRENDING << i };
		w->pending++;
		segments_members(ad->deps.segments, shop, sl->q[i].bit,
		    admin_segment_cb, &sl->q[i]);
	}
	admin_wait_unref(w);
}

/* Route /v1/segments/... */
static void
admin_route_segments(struct admin *ad, struct evhttp_request *req,
    enum evhttp_cmd_type m, const char *rest)
{
	if (strcmp(rest, "/recompute") == 0 && m == EVHTTP_REQ_POST)
		admin_segments_recompute(ad, req);
	else if (rest[0] == '/' && rest[1] != '\0' &&
	    strchr(rest + 1, '/') == NULL && strlen(rest + 1) < EVENT_ID_MAX &&
	    m == EVHTTP_REQ_GET)
		admin_segments_show(ad, req, rest + 1);
	else
		admin_error(req, 404, "not found");
}

/* Route /v1/plans/... */
static void
admin_route_plans(struct admin *ad, struct evhttp_request *req,
    enum evhttp_cmd_type m, const char *rest)
{
	char id[PLAN_ID_MAX + 1];
	const char *slash;
	size_t n;

	if (*rest == '\0') {
		if (m == EVHTTP_REQ_POST)
			admin_plan_create(ad, req);
		else if (m == EVHTTP_REQ_GET)
			admin_plan_list(ad, req);
		else
			admin_error(req, 405, "method not allowed");
		return;
	}
	slash = strchr(rest + 1, '/');
	n = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
	if (*rest != '/' || n == 0 || n >= sizeof(id)) {
		admin_error(req, 404, "no such plan");
		return;
	}
	memcpy(id, rest + 1, n);
	id[n] = '\0';
	if (slash == NULL && m == EVHTTP_REQ_GET)
		admin_plan_figures(ad, req, id, VIEW_SHOW);
	else if (slash && strcmp(slash, "/end") == 0 && m == EVHTTP_REQ_POST)
		admin_plan_end(ad, req, id);
	else if (slash && strcmp(slash, "/metrics") == 0 &&
	    m == EVHTTP_REQ_GET)
		admin_plan_figures(ad, req, id, VIEW_METRICS);
	else if (slash && strcmp(slash, "/diagnosis") == 0 &&
	    m == EVHTTP_REQ_GET)
		admin_plan_figures(ad, req, id, VIEW_DIAGNOSIS);
	else
		admin_error(req, 404, "not found");
}

/* Nonzero for a path of one method whose other methods answer 405. */
static int
admin_fixed_path(const char *path)
{
	static const char *const fixed[] = { "/metrics", "/v1/status",
	    "/v1/snapshots", "/v1/explain" };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(path, fixed[i]) == 0)
			return 1;
	return strncmp(path, "/plans/", 7) == 0 && path[7] != '\0' &&
	    strlen(path + 7) < PLAN_ID_MAX;
}

/* Every request. */
static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
	struct admin *ad = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);

	if (path == NULL) {
		admin_error(req, 400, "bad request");
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		if (m == EVHTTP_REQ_GET)
			admin_reply_json(req, 200, json_pack("{s:s}", "status",
			    "ok"));
		else
			admin_error(req, 405, "method not allowed");
		return;
	}
	if (!admin_authorized(ad, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		admin_error(req, 401, "missing or wrong bearer token");
		return;
	}
	if (strcmp(path, "/metrics") == 0 && m == EVHTTP_REQ_GET)
		admin_metrics(ad, req);
	else if (strcmp(path, "/v1/status") == 0 && m == EVHTTP_REQ_GET)
		admin_status(ad, req);
	else if (strncmp(path, "/v1/plans", 9) == 0)
		admin_route_plans(ad, req, m, path + 9);
	else if (strncmp(path, "/v1/segments", 12) == 0)
		admin_route_segments(ad, req, m, path + 12);
	else if (strcmp(path, "/v1/snapshots") == 0 && m == EVHTTP_REQ_POST)
		admin_snapshots(ad, req);
	else if (strcmp(path, "/v1/explain") == 0 && m == EVHTTP_REQ_GET)
		admin_explain(ad, req);
	else if (strncmp(path, "/v1/recommendations", 19) == 0)
		admin_route_reco(ad, req, m, path + 19);
	else if (strncmp(path, "/v1/creators", 12) == 0)
		admin_route_creators(ad, req, m, path + 12);
	else if (strncmp(path, "/plans/", 7) == 0 && m == EVHTTP_REQ_GET &&
	    path[7] != '\0' && strlen(path + 7) < PLAN_ID_MAX)
		admin_plan_figures(ad, req, path + 7, VIEW_PAGE);
	else if (admin_fixed_path(path))
		admin_error(req, 405, "method not allowed");
	else
		admin_error(req, 404, "not found");
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Read the token file (first line, trimmed). */
static int
admin_read_token(const char *path, char *tok, size_t len, char *err,
    size_t errlen)
{
	FILE *fp;
	size_t n;

	tok[0] = '\0';
	if (path[0] == '\0')
		return 0;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open token file \"%s\": %m",
		    path);
		return -1;
	}
	if (fgets(tok, (int)len, fp) == NULL)
		tok[0] = '\0';
	fclose(fp);
	n = strlen(tok);
	while (n > 0 && isspace((unsigned char)tok[n - 1]))
		tok[--n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "token file \"%s\" is empty", path);
		return -1;
	}
	return 0;
}

/* Limits and token. */
int
admin_configure(struct admin *ad, const struct sp_config *cfg, char *err,
    size_t errlen)
{
	char tok[ADMIN_TOKEN_MAX];

	if (admin_read_token(cfg->admin.token_file, tok, sizeof(tok), err,
	    errlen) == -1)
		return -1;
	memcpy(ad->token, tok, sizeof(tok));
	ad->deps.cfg = cfg;
	evhttp_set_max_body_size(ad->http, (ev_ssize_t)cfg->admin.max_body_bytes);
	evhttp_set_max_headers_size(ad->http, 16384);
	evhttp_set_timeout(ad->http, cfg->admin.timeout_s);
	return 0;
}

/* Bind and serve. */
struct admin *
admin_new(struct event_base *base, const struct admin_deps *deps, char *err,
    size_t errlen)
{
	struct admin *ad = calloc(1, sizeof(*ad));
	char host[256];
	int port;

	if (ad == NULL || (ad->http = evhttp_new(base)) == NULL) {
		free(ad);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ad->base = base;
	ad->deps = *deps;
	/* These methods reach the router, which answers 405 for one its path
	 * does not take; libevent answers 501 for any other. */
	evhttp_set_allowed_methods(ad->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(ad->http, admin_request_cb, ad);
	if (admin_configure(ad, deps->cfg, err, errlen) == -1 ||
	    config_split_hostport(deps->cfg->admin.listen, host, sizeof(host),
	    &port) == -1 ||
	    evhttp_bind_socket(ad->http, host, (ev_uint16_t)port) == -1) {
		if (err[0] == '\0')
			snprintf(err, errlen, "cannot listen on \"%s\"",
			    deps->cfg->admin.listen);
		admin_free(ad);
		return NULL;
	}
	log_info("admin API listening on %s", deps->cfg->admin.listen);
	return ad;
}

void
admin_free(struct admin *ad)
{
	if (ad == NULL)
		return;
	if (ad->http != NULL)
		evhttp_free(ad->http);
	free(ad);
}
