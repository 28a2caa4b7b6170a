/* SPDX-License-Identifier: Apache-2.0 */
/*
 * page_test.c - the seller's page in a real headless Chromium (issue 5).
 * Starts redis-server, smartpromo-devbroker and smartpromod through the
 * integration harness (with [engine] late_view_offers = yes, as the days
 * are past), sends three past days of catalog, page views and orders
 * (every day must get offers and treatment orders; treatment orders use
 * the offers the daemon emitted, holdout customers buy at list price),
 * takes the T+1 snapshot of each day with
 * POST /v1/snapshots, then lets Chromium load GET /plans/{id} and dumps the
 * DOM it rendered.  Every figure the page shows through its stable hooks
 * (daemon/page.h) is compared with the admin API: the header with
 * GET /v1/plans/{id}, the KPI tiles with its totals, the table of days and
 * the charts with GET /v1/plans/{id}/metrics, the product table with the
 * products' days, the diagnosis and the recommendations with their
 * endpoints.  A screenshot (plan.png) and the DOM (plan.html) are kept in
 * $SP_ARTIFACT_DIR, default tests/artifacts/ of the source tree.
 *
 * Exit status: 0 all passed, 1 a test failed (or $SP_CHROMIUM names no
 * executable), 77 (skipped) when no chromium or chromium-browser is on
 * PATH (Debian: apt-get install chromium; tools/deps.sh installs it).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Shared helpers of the harness, under this file's short names. */
#define jtext(o) harness_jtext(o)
#define sfield(o, name) harness_sfield((o), (name))
#define fnv1a64(s) harness_fnv1a64(s)

#define SHOP "shop-bt"
#define NPROD 4                 /* catalog products; the last in no plan */
#define NPLAN 3                 /* products in the plan */
#define NDAYS 3                 /* past days of events */
#define T_VIEWS 12              /* treatment views per product and day */
#define C_VIEWS 4               /* holdout views per product and day */
#define T_ORDERS 4              /* orders with an offer, per product, day */
#define C_ORDERS 1              /* holdout orders per product and day */
#define HOLDOUT_PCT 10.0        /* the harness's [engine] holdout_pct */
#define DAY_MS 86400000LL
#define WAIT_MS 30000
#define CHROMIUM_MS 120000
#define PLAN_NAME "Spring & summer <sale> \"bt\""
#define FIG_MAX 128

/* The group's state: processes, what was sent, what the API said. */
struct page_state {
	struct harness h;
	char chromium[HARNESS_PATH_MAX];
	char artifacts[HARNESS_PATH_MAX];
	char plan_id[64];
	char dates[NDAYS][16];
	int64_t day0;           /* 00:00 UTC of the first day */
	int64_t sent_gmv_t, sent_gmv_c, sent_pv_t, sent_pv_c;
	int64_t sent_ord_t, sent_ord_c;
	json_t *offers;         /* "customer|product" -> offer */
	json_t *plan;           /* GET /v1/plans/{id} */
	json_t *metrics;        /* GET /v1/plans/{id}/metrics?products=1 */
	json_t *diagnosis;      /* GET /v1/plans/{id}/diagnosis */
	json_t *recs;           /* GET /v1/recommendations?shop= */
	char *dom;              /* what Chromium rendered */
	int compared, mismatched;
};

static struct page_state page_st;

static const char *const prod[NPROD] = { "bt-p0", "bt-p1", "bt-p2",
    "bt-p3" };
static const int64_t price[NPROD] = { 2500, 4000, 12000, 3000 };

static int event_seq;

/* Fail the test with the harness's reason when call returns -1. */
#define H_OK(h, call) do { \
	if ((call) == -1) \
		fail_msg("%s: %s", #call, (h)->err); \
} while (0)

/* ---- small helpers ---- */

/* The next customer id "<prefix>-<n>" in (holdout 1) or out of it. */
static void
next_customer(const char *prefix, int holdout, int *seq, char *buf,
    size_t len)
{
	do
		snprintf(buf, len, "%s-%d", prefix, (*seq)++);
	while (((double)(fnv1a64(buf) % 10000) < HOLDOUT_PCT * 100) !=
	    holdout);
}

/* The member at a dotted path ("control.gmv") of o, or NULL. */
static const json_t *
jpath(const json_t *o, const char *path)
{
	char key[64];
	const char *dot = strchr(path, '.');

	if (dot == NULL)
		return json_object_get(o, path);
	snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
	return jpath(json_object_get(o, key), dot + 1);
}

/* An integer member; fails the test when it is not one. */
static int64_t
ifield(const json_t *o, const char *name)
{
	const json_t *v = jpath(o, name);

	if (!json_is_integer(v))
		fail_msg("field \"%s\" is not an integer in %s", name,
		    jtext(o));
	return json_integer_value(v);
}

/* An admin API call that must answer want; the JSON body (new ref). */
static json_t *
api(struct harness *h, const char *method, const char *path, int want)
{
	json_t *out = NULL;
	int status;

	H_OK(h, harness_http(h, method, path, NULL, &status, &out));
	if (status != want)
		fail_msg("%s %s: status %d, want %d; body %s", method, path,
		    status, want, out != NULL ? jtext(out) : "(not JSON)");
	if (out == NULL)
		fail_msg("%s %s: the body is not JSON", method, path);
	return out;
}

/* ---- the events ---- */

/* The common fields of an event (new reference). */
static json_t *
event_new(const char *type, int64_t ts)
{
	char id[64];

	snprintf(id, sizeof(id), "bt-ev-%d", ++event_seq);
	return json_pack("{s:s, s:s, s:I, s:s}", "type", type, "event_id", id,
	    "ts", (json_int_t)ts, "shop_id", SHOP);
}

/* Queue an event keyed by key and drop the reference. */
static void
send_event(struct harness *h, const char *key, json_t *ev)
{
	assert_non_null(ev);
	H_OK(h, harness_send_event(h, key, ev));
	json_decref(ev);
}

/* The shop's performance and the catalog; waits until stored. */
static void
send_catalog(struct harness *h, int64_t now)
{
	char key[128];
	json_t *ev = event_new("shop", now);
	int i;

	json_object_set_new(ev, "sps", json_real(4.8));
	json_object_set_new(ev, "orders_90d", json_integer(500));
	send_event(h, SHOP, ev);
	for (i = 0; i < NPROD; i++) {
		ev = event_new("product", now);
		json_object_set_new(ev, "product_id", json_string(prod[i]));
		json_object_set_new(ev, "price", json_integer(price[i]));
		json_object_set_new(ev, "stock", json_integer(500));
		json_object_set_new(ev, "listed_at", json_integer(now -
		    60 * DAY_MS));
		json_object_set_new(ev, "category", json_string("home"));
		send_event(h, prod[i], ev);
	}
	H_OK(h, harness_flush(h));
	for (i = 0; i < NPROD; i++) {
		snprintf(key, sizeof(key), "sp:{%s}:product", prod[i]);
		H_OK(h, harness_wait_exists(h, key, WAIT_MS));
	}
}

/* A page view of product k by customer at ts. */
static void
send_view(struct harness *h, int k, const char *customer, int64_t ts)
{
	json_t *ev = event_new("page_view", ts);

	json_object_set_new(ev, "product_id", json_string(prod[k]));
	json_object_set_new(ev, "customer_id", json_string(customer));
	send_event(h, prod[k], ev);
}

/* An order line of product k: paid per unit, with offer_id or NULL. */
static void
send_order(struct harness *h, int k, const char *customer, int64_t qty,
    int64_t paid, const char *offer_id, int64_t ts)
{
	json_t *ev = event_new("order", ts);
	char oid[64];

	snprintf(oid, sizeof(oid), "bt-o-%d", event_seq);
	json_object_set_new(ev, "order_id", json_string(oid));
	json_object_set_new(ev, "product_id", json_string(prod[k]));
	json_object_set_new(ev, "customer_id", json_string(customer));
	json_object_set_new(ev, "qty", json_integer(qty));
	json_object_set_new(ev, "unit_price", json_integer(price[k]));
	json_object_set_new(ev, "paid_unit_price", json_integer(paid));
	if (offer_id != NULL)
		json_object_set_new(ev, "offer_id", json_string(offer_id));
	send_event(h, prod[k], ev);
}

/* The customer id of view n of product k on day d (t: treatment). */
static void
view_customer(int d, int k, int n, int holdout, char *buf, size_t len)
{
	char prefix[32];
	int seq = n * 50;

	snprintf(prefix, sizeof(prefix), "bt-%c%d%d", holdout ? 'h' : 't', d,
	    k);
	next_customer(prefix, holdout, &seq, buf, len);
}

/* Every view of every day; the product in no plan gets a few too. */
static void
send_views(struct page_state *st)
{
	char cust[64];
	int d, k, n;

	for (d = 0; d < NDAYS; d++)
		for (k = 0; k < NPROD; k++)
			for (n = 0; n < T_VIEWS + C_VIEWS; n++) {
				view_customer(d, k, n, n >= T_VIEWS, cust,
				    sizeof(cust));
				send_view(&st->h, k, cust, st->day0 +
				    d * DAY_MS + 36000000 + n * 1000);
				if (k < NPLAN && n < T_VIEWS)
					st->sent_pv_t++;
				else if (k < NPLAN)
					st->sent_pv_c++;
			}
	H_OK(&st->h, harness_flush(&st->h));
}

/* Keep offers of this test's products. */
static int
match_offer(json_t *msg, void *arg)
{
	(void)arg;
	return strcmp(sfield(msg, "type"), "offer") == 0 &&
	    strncmp(sfield(msg, "product_id"), "bt-", 3) == 0;
}

/* Read the offers the views brought into st->offers. */
static void
read_offers(struct page_state *st)
{
	json_t *msgs, *m, *v;
	char key[128];
	size_t i;
	int n;

	n = harness_consume(&st->h, HARNESS_TOPIC_OFFERS, match_offer, NULL,
	    NDAYS * NPLAN * T_VIEWS, 8000, &msgs);
	if (n == -1)
		fail_msg("consume offers: %s", st->h.err);
	st->offers = json_object();
	json_array_foreach(msgs, i, m) {
		v = json_object_get(m, "value");
		snprintf(key, sizeof(key), "%s|%s", sfield(v, "customer_id"),
		    sfield(v, "product_id"));
		json_object_set(st->offers, key, v);
	}
	json_decref(msgs);
	print_message("%d offers for %d treatment views\n", n,
	    NDAYS * NPLAN * T_VIEWS);
	if (n < NDAYS * NPLAN * T_ORDERS)
		fail_msg("only %d offers: too few to place the orders", n);
}

/* Treatment orders with offers and holdout orders of day d, product k. */
static void
send_day_orders(struct page_state *st, int d, int k, int *ord_t,
    int *ord_c)
{
	int64_t ts = st->day0 + d * DAY_MS + 43200000;
	char cust[64], key[128];
	const json_t *o;
	int n, qty;

	for (n = 0; n < T_VIEWS && *ord_t < T_ORDERS; n++) {
		view_customer(d, k, n, 0, cust, sizeof(cust));
		snprintf(key, sizeof(key), "%s|%s", cust, prod[k]);
		if ((o = json_object_get(st->offers, key)) == NULL)
			continue;
		qty = 1 + (n + d) % 2;
		send_order(&st->h, k, cust, qty, ifield(o, "offer_price"),
		    sfield(o, "offer_id"), ts + n * 1000);
		st->sent_gmv_t += qty * ifield(o, "offer_price");
		(*ord_t)++;
	}
	for (n = T_VIEWS; n < T_VIEWS + C_ORDERS; n++) {
		view_customer(d, k, n, 1, cust, sizeof(cust));
		send_order(&st->h, k, cust, 1, price[k], NULL, ts + n * 1000);
		st->sent_gmv_c += price[k];
		(*ord_c)++;
	}
}

/* Place the orders and wait until every day counter has them. */
static void
send_orders(struct page_state *st)
{
	int ord_t[NDAYS][NPLAN] = { { 0 } }, ord_c[NDAYS][NPLAN] = { { 0 } };
	char key[128];
	long long got;
	int d, k;

	for (d = 0; d < NDAYS; d++)
		for (k = 0; k < NPLAN; k++)
			send_day_orders(st, d, k, &ord_t[d][k], &ord_c[d][k]);
	H_OK(&st->h, harness_flush(&st->h));
	for (d = 0; d < NDAYS; d++)
		for (k = 0; k < NPLAN; k++) {
			snprintf(key, sizeof(key), "sp:{%s}:day:%s", prod[k],
			    st->dates[d]);
			H_OK(&st->h, harness_wait_hash_ge(&st->h, key, "ord_t",
			    ord_t[d][k], WAIT_MS, &got));
			H_OK(&st->h, harness_wait_hash_ge(&st->h, key, "ord_c",
			    ord_c[d][k], WAIT_MS, &got));
			H_OK(&st->h, harness_wait_hash_ge(&st->h, key, "pv_t",
			    T_VIEWS, WAIT_MS, &got));
			st->sent_ord_t += ord_t[d][k];
			st->sent_ord_c += ord_c[d][k];
		}
}

/* POST /v1/plans: the plan over the first NPLAN products. */
static void
create_plan(struct page_state *st)
{
	json_t *body = json_pack("{s:s, s:s, s:[s,s,s], s:i, s:i, s:i, s:I}",
	    "name", PLAN_NAME, "shop_id", SHOP, "products", prod[0], prod[1],
	    prod[2], "days", 14, "discount_min_pct", 5, "discount_max_pct",
	    25, "start", (json_int_t)st->day0);
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *plan = NULL;
	int status;

	H_OK(&st->h, harness_http(&st->h, "POST", "/v1/plans", text, &status,
	    &plan));
	if (status != 201)
		fail_msg("POST /v1/plans %s: status %d, body %s", text, status,
		    jtext(plan));
	snprintf(st->plan_id, sizeof(st->plan_id), "%s", sfield(plan,
	    "plan_id"));
	print_message("plan %s from %s\n", st->plan_id, st->dates[0]);
	free(text);
	json_decref(body);
	json_decref(plan);
}

/* POST /v1/snapshots for each day; the plan must be in every answer. */
static void
take_snapshots(struct page_state *st)
{
	char path[256];
	json_t *r, *p;
	size_t i;
	int d, seen;

	for (d = 0; d < NDAYS; d++) {
		snprintf(path, sizeof(path), "/v1/snapshots?date=%s",
		    st->dates[d]);
		r = api(&st->h, "POST", path, 200);
		seen = 0;
		json_array_foreach(json_object_get(r, "plans"), i, p)
			seen += strcmp(sfield(p, "plan_id"), st->plan_id) == 0;
		if (seen != 1 || strcmp(sfield(r, "date"), st->dates[d]) != 0)
			fail_msg("POST %s: plan %s %d times in %s", path,
			    st->plan_id, seen, jtext(r));
		print_message("snapshot %s: %s\n", st->dates[d], jtext(r));
		json_decref(r);
	}
}

/* The API's view of the plan, after the snapshots. */
static void
read_api(struct page_state *st)
{
	char path[256];

	snprintf(path, sizeof(path), "/v1/plans/%s", st->plan_id);
	st->plan = api(&st->h, "GET", path, 200);
	snprintf(path, sizeof(path), "/v1/plans/%s/metrics?products=1",
	    st->plan_id);
	st->metrics = api(&st->h, "GET", path, 200);
	snprintf(path, sizeof(path), "/v1/plans/%s/diagnosis", st->plan_id);
	st->diagnosis = api(&st->h, "GET", path, 200);
	st->recs = api(&st->h, "GET", "/v1/recommendations?shop=" SHOP, 200);
}

/* ---- Chromium ---- */

/* Nonzero if path is an executable file. */
static int
is_exec(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    access(path, X_OK) == 0;
}

/* Find Chromium: $SP_CHROMIUM, else chromium or chromium-browser on PATH. */
static int
find_chromium(char *out, size_t len)
{
	static const char *const names[] = { "chromium", "chromium-browser" };
	const char *env = getenv("SP_CHROMIUM"), *path = getenv("PATH");
	char *dirs, *dir, *save;
	size_t i;

	if (env != NULL && *env != '\0') {
		snprintf(out, len, "%s", env);
		return is_exec(out) ? 0 : -1;
	}
	if (path == NULL || *path == '\0')
		path = "/usr/bin:/bin";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((dirs = strdup(path)) == NULL)
			return -1;
		save = NULL;
		for (dir = strtok_r(dirs, ":", &save); dir != NULL;
		    dir = strtok_r(NULL, ":", &save)) {
			snprintf(out, len, "%s/%s", dir, names[i]);
			if (is_exec(out)) {
				free(dirs);
				return 0;
			}
		}
		free(dirs);
	}
	return -1;
}

/* Run Chromium headless on the plan's page with extra arguments. */
static void
run_chromium(struct page_state *st, const char *extra, const char *out)
{
	char cmd[4096], log[HARNESS_PATH_MAX + 16], sh[HARNESS_PATH_MAX + 16];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	int status;

	snprintf(log, sizeof(log), "%s/chromium.log", st->h.dir);
	snprintf(sh, sizeof(sh), "%s/chromium.sh.out", st->h.dir);
	snprintf(cmd, sizeof(cmd), "exec '%s' --headless --no-sandbox "
	    "--disable-gpu --disable-quic --no-first-run "
	    "--disable-background-networking --disable-component-update "
	    "--disable-sync --disable-dev-shm-usage --hide-scrollbars "
	    "--user-data-dir='%s/chromium-profile' %s '%s/plans/%s' "
	    ">'%s' 2>>'%s'", st->chromium, st->h.dir, extra, st->h.url,
	    st->plan_id, out, log);
	H_OK(&st->h, harness_run(&st->h, argv, sh, CHROMIUM_MS, &status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *text = harness_read_file(log);

		fail_msg("chromium %s: wait status 0x%x; log:\n%s", extra,
		    (unsigned)status, text != NULL ? text : "(none)");
	}
}

/* Make the artifact directory ($SP_ARTIFACT_DIR or tests/artifacts). */
static int
make_artifacts(struct page_state *st)
{
	const char *env = getenv("SP_ARTIFACT_DIR");
	char *p, c;

	snprintf(st->artifacts, sizeof(st->artifacts), "%s", env != NULL &&
	    *env != '\0' ? env : SP_SOURCE_DIR "/tests/artifacts");
	for (p = st->artifacts + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(st->artifacts, 0755) == -1 && errno != EEXIST) {
			fprintf(stderr, "page_test: mkdir \"%s\": %s\n",
			    st->artifacts, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/* ---- reading the rendered DOM ---- */

/* Decode the entities Chromium's serializer writes into out. */
static void
dom_decode(const char *s, size_t n, char *out, size_t len)
{
	static const char *const ent[][2] = { { "&amp;", "&" },
	    { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
	    { "&#39;", "'" }, { "&nbsp;", " " } };
	size_t i, k = 0, e;

	for (i = 0; i < n && k + 1 < len; ) {
		for (e = 0; e < sizeof(ent) / sizeof(ent[0]); e++)
			if (strncmp(s + i, ent[e][0], strlen(ent[e][0])) == 0)
				break;
		if (s[i] == '&' && e < sizeof(ent) / sizeof(ent[0])) {
			out[k++] = ent[e][1][0];
			i += strlen(ent[e][0]);
		} else
			out[k++] = s[i++];
	}
	out[k] = '\0';
}

/* The next tag in [from, end) with attribute name (="value" if value). */
static const char *
dom_next(const char *from, const char *end, const char *name,
    const char *value)
{
	char needle[256];
	const char *p = from, *lt;

	if (value != NULL)
		snprintf(needle, sizeof(needle), " %s=\"%s\"", name, value);
	else
		snprintf(needle, sizeof(needle), " %s=\"", name);
	while (p != NULL && (p = strstr(p, needle)) != NULL &&
	    (end == NULL || p < end)) {
		for (lt = p; lt > from && *lt != '<' && *lt != '>'; lt--)
			;
		if (*lt == '<')
			return lt;
		p += strlen(needle);
	}
	return NULL;
}

/* Attribute name of the tag at tag into out; 0, or -1 when absent. */
static int
dom_attr(const char *tag, const char *name, char *out, size_t len)
{
	const char *gt = strchr(tag, '>'), *p, *q;
	char needle[128];

	snprintf(needle, sizeof(needle), " %s=\"", name);
	out[0] = '\0';
	if (gt == NULL || (p = strstr(tag, needle)) == NULL || p > gt)
		return -1;
	p += strlen(needle);
	if ((q = strchr(p, '"')) == NULL)
		return -1;
	dom_decode(p, (size_t)(q - p), out, len);
	return 0;
}

/* The text right after the tag at tag (up to the next tag). */
static void
dom_text(const char *tag, char *out, size_t len)
{
	const char *p = strchr(tag, '>'), *q;

	out[0] = '\0';
	if (p == NULL)
		return;
	p++;
	q = strchr(p, '<');
	dom_decode(p, q != NULL ? (size_t)(q - p) : strlen(p), out, len);
}

/* The element with id, and the end of its part (closing); fails if none. */
static const char *
dom_part(const char *dom, const char *id, const char *closing,
    const char **end)
{
	const char *tag = dom_next(dom, NULL, "id", id);

	if (tag == NULL)
		fail_msg("the page has no element with id \"%s\"", id);
	*end = closing != NULL ? strstr(tag, closing) : NULL;
	if (closing != NULL && *end == NULL)
		fail_msg("element \"%s\" has no \"%s\"", id, closing);
	return tag;
}

/* ---- comparing ---- */

/* Digits of v with a comma every three. */
static void
fmt_group(char *buf, size_t len, unsigned long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", v), k = 0, i;

	for (i = 0; i < n && (size_t)k + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = tmp[i];
	}
	buf[k] = '\0';
}

/* How the page shows a figure: 'm' money, 'c' count, 'r' ratio. */
static void
fmt_figure(char *buf, size_t len, const json_t *v, char kind)
{
	long long x = llround(json_number_value(v));
	unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x :
	    (unsigned long long)x;
	char g[32];

	if (!json_is_number(v))
		snprintf(buf, len, "\xe2\x80\x94");     /* an em dash */
	else if (kind == 'm') {
		fmt_group(g, sizeof(g), u / 100);
		snprintf(buf, len, "%s%s.%02llu", x < 0 ? "-" : "", g, u % 100);
	} else if (kind == 'c') {
		fmt_group(g, sizeof(g), u);
		snprintf(buf, len, "%s%s", x < 0 ? "-" : "", g);
	} else
		snprintf(buf, len, "%.2f", json_number_value(v));
}

/* Nonzero if the raw text equals the JSON value ("" for null). */
static int
same_value(const char *raw, const json_t *want)
{
	char *end;
	double got, w;

	if (!json_is_number(want))
		return raw[0] == '\0' && (want == NULL || json_is_null(want));
	got = strtod(raw, &end);
	if (raw[0] == '\0' || *end != '\0')
		return 0;
	w = json_number_value(want);
	return fabs(got - w) <= 1e-9 * fmax(1, fabs(w));
}

/* Compare a raw figure of the page with the API's value; print it. */
static void
check_raw(struct page_state *st, const char *what, const char *raw,
    const json_t *want)
{
	int ok = same_value(raw, want);
	char api[64];

	if (json_is_real(want))
		snprintf(api, sizeof(api), "%.15g", json_real_value(want));
	else
		snprintf(api, sizeof(api), "%s", want != NULL ? jtext(want) :
		    "(absent)");
	st->compared++;
	st->mismatched += !ok;
	printf("  %-8s %-52s page %-14s api %s\n", ok ? "ok" : "MISMATCH",
	    what, raw[0] != '\0' ? raw : "null", api);
}

/* Compare a shown text with the expected one; print it. */
static void
check_text(struct page_state *st, const char *what, const char *shown,
    const char *want)
{
	int ok = strcmp(shown, want) == 0;

	st->compared++;
	st->mismatched += !ok;
	printf("  %-8s %-52s page \"%s\" want \"%s\"\n", ok ? "ok" :
	    "MISMATCH", what, shown, want);
}

/* Compare an element's data-value and its text with a figure. */
static void
check_figure(struct page_state *st, const char *what, const char *tag,
    const json_t *want, char kind)
{
	char raw[FIG_MAX], text[FIG_MAX], expect[FIG_MAX], label[128];

	dom_attr(tag, "data-value", raw, sizeof(raw));
	check_raw(st, what, raw, want);
	dom_text(tag, text, sizeof(text));
	fmt_figure(expect, sizeof(expect), want, kind);
	snprintf(label, sizeof(label), "%s (shown)", what);
	check_text(st, label, text, expect);
}

/* Fail the test if a comparison failed since mark. */
static void
check_done(struct page_state *st, int mark, const char *part)
{
	print_message("%s: %d figures compared, %d mismatched\n", part,
	    st->compared - mark, st->mismatched);
	if (st->mismatched > 0)
		fail_msg("%s: %d figures of the page differ from the API",
		    part, st->mismatched);
	harness_pass(&st->h);
}

/* The day object of the metrics with date, or NULL. */
static const json_t *
metrics_day(const json_t *days, const char *date)
{
	const json_t *d;
	size_t i;

	json_array_foreach(days, i, d)
		if (strcmp(sfield(d, "date"), date) == 0)
			return d;
	return NULL;
}

/* ---- the tests ---- */

/* Every fed day has offers and treatment orders: the page shows data. */
static void
check_days_filled(struct page_state *st)
{
	const json_t *days = json_object_get(st->metrics, "days"), *day;
	int d;

	for (d = 0; d < NDAYS; d++) {
		if ((day = metrics_day(days, st->dates[d])) == NULL)
			fail_msg("no metrics for %s in %s", st->dates[d],
			    jtext(st->metrics));
		if (ifield(day, "offers") <= 0 || ifield(day, "orders") <= 0)
			fail_msg("day %s has %lld offers and %lld treatment "
			    "orders: want both > 0", st->dates[d],
			    (long long)ifield(day, "offers"),
			    (long long)ifield(day, "orders"));
	}
}

/* Send three days of events, take their snapshots, read the API. */
static void
test_feed_and_snapshot(void **state)
{
	struct page_state *st = *state;
	int64_t now = harness_now_ms();
	int d;

	st->day0 = (now / DAY_MS - NDAYS) * DAY_MS;
	for (d = 0; d < NDAYS; d++)
		harness_date(st->day0 + d * DAY_MS, st->dates[d],
		    sizeof(st->dates[d]));
	send_catalog(&st->h, now);
	create_plan(st);
	send_views(st);
	read_offers(st);
	send_orders(st);
	take_snapshots(st);
	read_api(st);
	check_days_filled(st);
	print_message("sent: treatment %lld views %lld orders GMV %lld; "
	    "control %lld views %lld orders GMV %lld\n",
	    (long long)st->sent_pv_t, (long long)st->sent_ord_t,
	    (long long)st->sent_gmv_t, (long long)st->sent_pv_c,
	    (long long)st->sent_ord_c, (long long)st->sent_gmv_c);
	harness_pass(&st->h);
}

/* Sum of a field over the days of the metrics. */
static int64_t
days_sum(const json_t *days, const char *path)
{
	const json_t *d;
	int64_t sum = 0;
	size_t i;

	json_array_foreach(days, i, d)
		sum += json_integer_value(jpath(d, path));
	return sum;
}

/* The API itself: totals = sum of the days = what was sent. */
static void
test_api_figures(void **state)
{
	struct page_state *st = *state;
	static const struct { const char *path; int sent; } f[] = {
		{ "page_views", 0 }, { "orders", 1 }, { "gmv", 2 },
		{ "control.page_views", 3 }, { "control.orders", 4 },
		{ "control.gmv", 5 }, { "offers", -1 },
		{ "promotion_cost", -1 }, { "units", -1 } };
	const int64_t sent[] = { st->sent_pv_t, st->sent_ord_t,
	    st->sent_gmv_t, st->sent_pv_c, st->sent_ord_c, st->sent_gmv_c };
	const json_t *tot = json_object_get(st->plan, "totals");
	const json_t *days = json_object_get(st->metrics, "days");
	char what[128];
	json_t *v;
	int mark = st->compared, d;
	size_t i;

	assert_non_null(st->plan);
	printf("API: GET /v1/plans/%s totals against the sum of its days and "
	    "what was sent\n", st->plan_id);
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(what, sizeof(what), "totals.%s = sum of days", f[i].path);
		v = json_integer(days_sum(days, f[i].path));
		check_raw(st, what, json_is_integer(jpath(tot, f[i].path)) ?
		    jtext(jpath(tot, f[i].path)) : "", v);
		json_decref(v);
		if (f[i].sent < 0)
			continue;
		snprintf(what, sizeof(what), "totals.%s = sent", f[i].path);
		v = json_integer(sent[f[i].sent]);
		check_raw(st, what, jtext(jpath(tot, f[i].path)), v);
		json_decref(v);
	}
	for (d = 0; d < NDAYS; d++) {
		const json_t *day = metrics_day(days, st->dates[d]);

		snprintf(what, sizeof(what), "days[%s].final", st->dates[d]);
		check_text(st, what, day != NULL ? jtext(json_object_get(day,
		    "final")) : "(no day)", "true");
	}
	check_done(st, mark, "API");
}

/* Let Chromium render the page and keep its DOM. */
static void
test_render(void **state)
{
	struct page_state *st = *state;
	char out[HARNESS_PATH_MAX + 16];

	assert_true(st->plan_id[0] != '\0');
	snprintf(out, sizeof(out), "%s/plan.html", st->artifacts);
	run_chromium(st, "--dump-dom", out);
	st->dom = harness_read_file(out);
	if (st->dom == NULL || strstr(st->dom, "id=\"plan-name\"") == NULL)
		fail_msg("chromium rendered no plan page into %s: %.400s", out,
		    st->dom != NULL ? st->dom : "(nothing)");
	print_message("chromium rendered %zu bytes of DOM into %s\n",
	    strlen(st->dom), out);
	harness_pass(&st->h);
}

/* The header: name, id, status, range, ROI target, dates. */
static void
test_header(void **state)
{
	struct page_state *st = *state;
	const json_t *p = st->plan;
	const char *tag;
	char buf[FIG_MAX];
	int mark = st->compared;

	assert_non_null(st->dom);
	printf("header against GET /v1/plans/%s\n", st->plan_id);
	dom_text(dom_next(st->dom, NULL, "id", "plan-name"), buf, sizeof(buf));
	check_text(st, "#plan-name", buf, sfield(p, "name"));
	dom_text(dom_next(st->dom, NULL, "id", "plan-id"), buf, sizeof(buf));
	check_text(st, "#plan-id", buf, sfield(p, "plan_id"));
	dom_attr(dom_next(st->dom, NULL, "id", "plan-status"), "data-value",
	    buf, sizeof(buf));
	check_text(st, "#plan-status", buf, sfield(p, "status"));
	tag = dom_next(st->dom, NULL, "id", "plan-range");
	assert_non_null(tag);
	dom_attr(tag, "data-min", buf, sizeof(buf));
	check_raw(st, "#plan-range data-min", buf, jpath(p,
	    "discount_min_pct"));
	dom_attr(tag, "data-max", buf, sizeof(buf));
	check_raw(st, "#plan-range data-max", buf, jpath(p,
	    "discount_max_pct"));
	dom_attr(dom_next(st->dom, NULL, "id", "plan-roi-target"),
	    "data-value", buf, sizeof(buf));
	check_raw(st, "#plan-roi-target", buf, jpath(p, "roi_target"));
	dom_attr(dom_next(st->dom, NULL, "id", "plan-start"), "data-value",
	    buf, sizeof(buf));
	check_raw(st, "#plan-start", buf, jpath(p, "start"));
	dom_attr(dom_next(st->dom, NULL, "id", "plan-end"), "data-value",
	    buf, sizeof(buf));
	check_raw(st, "#plan-end", buf, jpath(p, "end"));
	check_done(st, mark, "header");
}

/* The KPI tiles against the plan's totals. */
static void
test_kpis(void **state)
{
	struct page_state *st = *state;
	static const struct { const char *id, *key; char kind; } k[] = {
		{ "kpi-gmv", "gmv", 'm' }, { "kpi-orders", "orders", 'c' },
		{ "kpi-customers", "customers", 'c' },
		{ "kpi-roi", "roi", 'r' },
		{ "kpi-page-views", "page_views", 'c' },
		{ "kpi-promotion-cost", "promotion_cost", 'm' },
		{ "kpi-incremental-gmv", "incremental_gmv", 'm' } };
	const json_t *tot = json_object_get(st->plan, "totals");
	const json_t *ci = json_object_get(tot, "incremental_gmv_ci");
	const char *tag;
	char buf[FIG_MAX], what[64];
	int mark = st->compared;
	size_t i;

	assert_non_null(st->dom);
	printf("KPI tiles against GET /v1/plans/%s totals\n", st->plan_id);
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		snprintf(what, sizeof(what), "#%s", k[i].id);
		if ((tag = dom_next(st->dom, NULL, "id", k[i].id)) == NULL)
			fail_msg("the page has no #%s", k[i].id);
		check_figure(st, what, tag, json_object_get(tot, k[i].key),
		    k[i].kind);
	}
	tag = dom_next(st->dom, NULL, "id", "kpi-incremental-gmv");
	dom_attr(tag, "data-lo", buf, sizeof(buf));
	check_raw(st, "#kpi-incremental-gmv data-lo", buf,
	    json_array_get(ci, 0));
	dom_attr(tag, "data-hi", buf, sizeof(buf));
	check_raw(st, "#kpi-incremental-gmv data-hi", buf,
	    json_array_get(ci, 1));
	check_done(st, mark, "KPI tiles");
}

/* The columns of the days and products tables: field and format. */
static const struct { const char *field; char kind; } table_cols[] = {
	{ "page_views", 'c' }, { "offers", 'c' }, { "orders", 'c' },
	{ "customers", 'c' }, { "gmv", 'm' }, { "promotion_cost", 'm' },
	{ "roi", 'r' }, { "control.page_views", 'c' },
	{ "control.orders", 'c' }, { "control.gmv", 'm' },
	{ "incremental_gmv", 'm' } };

/* Compare every cell of the row at row with the object want. */
static void
check_row(struct page_state *st, const char *row, const char *label,
    const json_t *want)
{
	const char *end = strstr(row, "</tr>"), *td;
	char what[160];
	size_t i;

	for (i = 0; i < sizeof(table_cols) / sizeof(table_cols[0]); i++) {
		snprintf(what, sizeof(what), "%s %s", label,
		    table_cols[i].field);
		td = dom_next(row, end, "data-field", table_cols[i].field);
		if (td == NULL) {
			check_text(st, what, "(no cell)", "a cell");
			continue;
		}
		check_figure(st, what, td, jpath(want, table_cols[i].field),
		    table_cols[i].kind);
	}
}

/* The table of days against GET /v1/plans/{id}/metrics. */
static void
test_days_table(void **state)
{
	struct page_state *st = *state;
	const json_t *days = json_object_get(st->metrics, "days");
	const char *end, *row, *p;
	char date[32], label[64];
	int mark = st->compared, rows = 0, d;

	assert_non_null(st->dom);
	printf("table#days against GET /v1/plans/%s/metrics\n", st->plan_id);
	p = dom_part(st->dom, "days", "</table>", &end);
	while ((row = dom_next(p, end, "data-date", NULL)) != NULL) {
		dom_attr(row, "data-date", date, sizeof(date));
		snprintf(label, sizeof(label), "days %s", date);
		if (metrics_day(days, date) == NULL)
			check_text(st, label, "a row", "no such day in the API");
		else
			check_row(st, row, label, metrics_day(days, date));
		rows++;
		p = row + 1;
	}
	for (d = 0; d < NDAYS; d++) {
		snprintf(label, sizeof(label), "tr[data-date=\"%s\"]",
		    st->dates[d]);
		p = dom_part(st->dom, "days", "</table>", &end);
		check_text(st, label, dom_next(p, end, "data-date",
		    st->dates[d]) != NULL ? "present" : "missing", "present");
	}
	snprintf(label, sizeof(label), "%d", rows);
	snprintf(date, sizeof(date), "%zu", json_array_size(days));
	check_text(st, "number of day rows", label, date);
	check_done(st, mark, "days table");
}

/* Control GMV scaled to treatment views, as the GMV chart draws it. */
static json_t *
scaled_control(const json_t *day)
{
	const json_t *g = jpath(day, "control.gmv");
	const json_t *pvc = jpath(day, "control.page_views");
	const json_t *pvt = jpath(day, "page_views");

	if (!json_is_integer(g) || json_integer_value(pvc) <= 0 ||
	    !json_is_integer(pvt))
		return json_null();
	return json_real(round((double)json_integer_value(g) *
	    (double)json_integer_value(pvt) / (double)json_integer_value(pvc)));
}

/* One chart series: each point against its day, and the point count. */
static void
check_series(struct page_state *st, const char *chart, const char *series,
    const char *key)
{
	const json_t *days = json_object_get(st->metrics, "days"), *day;
	const char *end, *p, *pt;
	char date[32], raw[FIG_MAX], what[128], n[2][16];
	int points = 0, want = 0;
	json_t *v;
	size_t i;

	p = dom_part(st->dom, chart, "</svg>", &end);
	while ((pt = dom_next(p, end, "data-series", series)) != NULL) {
		dom_attr(pt, "data-date", date, sizeof(date));
		dom_attr(pt, "data-value", raw, sizeof(raw));
		snprintf(what, sizeof(what), "#%s %s %s", chart, series, date);
		day = metrics_day(days, date);
		v = key != NULL ? json_incref((json_t *)jpath(day, key)) :
		    scaled_control(day);
		check_raw(st, what, raw, v);
		json_decref(v);
		points++;
		p = pt + 1;
	}
	json_array_foreach(days, i, day) {
		v = key != NULL ? json_incref((json_t *)jpath(day, key)) :
		    scaled_control(day);
		want += json_is_number(v);
		json_decref(v);
	}
	snprintf(what, sizeof(what), "#%s %s points", chart, series);
	snprintf(n[0], sizeof(n[0]), "%d", points);
	snprintf(n[1], sizeof(n[1]), "%d", want);
	check_text(st, what, n[0], n[1]);
}

/* The SVG charts: GMV, control scaled, ROI and its target, orders. */
static void
test_charts(void **state)
{
	struct page_state *st = *state;
	const char *tag;
	char buf[FIG_MAX];
	int mark = st->compared;

	assert_non_null(st->dom);
	printf("charts against GET /v1/plans/%s/metrics\n", st->plan_id);
	check_series(st, "chart-gmv", "treatment", "gmv");
	check_series(st, "chart-gmv", "control_scaled", NULL);
	check_series(st, "chart-roi", "roi", "roi");
	check_series(st, "chart-orders", "orders", "orders");
	tag = dom_next(st->dom, NULL, "id", "chart-roi-target");
	if (tag != NULL)
		dom_attr(tag, "data-value", buf, sizeof(buf));
	check_raw(st, "#chart-roi-target", tag != NULL ? buf : "",
	    jpath(st->plan, "roi_target"));
	check_done(st, mark, "charts");
}

/* A product's total over its days of the metrics (new reference). */
static json_t *
product_total(const json_t *days)
{
	static const char *const add[] = { "page_views", "offers", "orders",
	    "units", "gmv", "promotion_cost", "customers",
	    "control.page_views", "control.orders", "control.gmv" };
	json_t *t = json_object(), *c = json_object();
	int64_t gmv, cost, pvt, pvc;
	size_t i;

	json_object_set_new(t, "control", c);
	for (i = 0; i < sizeof(add) / sizeof(add[0]); i++)
		json_object_set_new(strchr(add[i], '.') ? c : t,
		    strchr(add[i], '.') ? strchr(add[i], '.') + 1 : add[i],
		    json_integer(days_sum(days, add[i])));
	gmv = days_sum(days, "gmv");
	cost = days_sum(days, "promotion_cost");
	pvt = days_sum(days, "page_views");
	pvc = days_sum(days, "control.page_views");
	json_object_set_new(t, "roi", cost > 0 ? json_real(round((double)gmv /
	    (double)cost * 1e4) / 1e4) : json_null());
	json_object_set_new(t, "incremental_gmv", pvt > 0 && pvc > 0 ?
	    json_integer(llround((double)gmv - (double)days_sum(days,
	    "control.gmv") * ((double)pvt / (double)pvc))) : json_null());
	return t;
}

/* The product table against each product's days of the metrics. */
static void
test_products(void **state)
{
	struct page_state *st = *state;
	const json_t *prods = json_object_get(st->metrics, "products");
	const char *end, *p, *row;
	char label[64], n[2][16];
	int mark = st->compared, k, rows = 0;
	json_t *t;

	assert_non_null(st->dom);
	printf("table#products against GET /v1/plans/%s/metrics?products=1\n",
	    st->plan_id);
	p = dom_part(st->dom, "products", "</table>", &end);
	for (k = 0; k < NPLAN; k++) {
		snprintf(label, sizeof(label), "products %s", prod[k]);
		if ((row = dom_next(p, end, "data-product-id", prod[k])) ==
		    NULL || json_object_get(prods, prod[k]) == NULL) {
			check_text(st, label, row == NULL ? "no row" : "a row",
			    "a row and API days");
			continue;
		}
		t = product_total(json_object_get(prods, prod[k]));
		check_row(st, row, label, t);
		json_decref(t);
	}
	for (row = dom_next(p, end, "data-product-id", NULL); row != NULL;
	    row = dom_next(row + 1, end, "data-product-id", NULL))
		rows++;
	snprintf(n[0], sizeof(n[0]), "%d", rows);
	snprintf(n[1], sizeof(n[1]), "%d", NPLAN);
	check_text(st, "number of product rows", n[0], n[1]);
	check_done(st, mark, "products table");
}

/* Count the strong/weak and the other checks of diagnosis results. */
static void
count_checks(const json_t *results, int *flagged, int *other)
{
	const json_t *res, *ck;
	size_t i, j;

	if (json_is_object(results) && json_object_get(results, "checks")) {
		json_array_foreach(json_object_get(results, "checks"), j, ck) {
			const char *v = sfield(ck, "verdict");
			int f = !strcmp(v, "strong") || !strcmp(v, "weak");

			*flagged += f;
			*other += !f;
		}
		return;
	}
	json_array_foreach(results, i, res)
		count_checks(res, flagged, other);
}

/* The diagnosis list against GET /v1/plans/{id}/diagnosis. */
static void
test_diagnosis(void **state)
{
	struct page_state *st = *state;
	const json_t *dg = st->diagnosis, *res;
	const char *end, *p, *li, *pid;
	char n[2][16], text[256], want[64];
	int flagged = 0, other = 0, shown = 0;
	int mark = st->compared;

	assert_non_null(st->dom);
	printf("ul#diagnosis against GET /v1/plans/%s/diagnosis\n",
	    st->plan_id);
	count_checks(json_object_get(dg, "plan"), &flagged, &other);
	json_object_foreach((json_t *)json_object_get(dg, "products"), pid,
	    res)
		count_checks(res, &flagged, &other);
	p = dom_part(st->dom, "diagnosis", "</ul>", &end);
	for (li = dom_next(p, end, "data-verdict", "strong"); li != NULL;
	    li = dom_next(li + 1, end, "data-verdict", "strong"))
		shown++;
	for (li = dom_next(p, end, "data-verdict", "weak"); li != NULL;
	    li = dom_next(li + 1, end, "data-verdict", "weak"))
		shown++;
	snprintf(n[0], sizeof(n[0]), "%d", shown);
	snprintf(n[1], sizeof(n[1]), "%d", flagged);
	check_text(st, "flagged checks", n[0], n[1]);
	li = dom_next(p, end, "data-verdict", "none");
	if (li != NULL)
		dom_text(li, text, sizeof(text));
	snprintf(want, sizeof(want), "%d other check%s", other,
	    other == 1 ? "" : "s");
	check_text(st, "other checks", li != NULL && strstr(text, want) !=
	    NULL ? want : text, want);
	check_done(st, mark, "diagnosis");
}

/* The recommendations against GET /v1/recommendations?shop=. */
static void
test_recommendations(void **state)
{
	struct page_state *st = *state;
	static const char *const pct[] = { "discount_min_pct",
	    "discount_max_pct", "best_pct" };
	const json_t *rp;
	const char *sec, *end, *row;
	char buf[FIG_MAX], what[128], n[2][16];
	int mark = st->compared, rows = 0;
	size_t i, j;

	assert_non_null(st->dom);
	printf("recommendations against GET /v1/recommendations?shop=%s\n",
	    SHOP);
	sec = dom_next(st->dom, NULL, "data-recommendation-id", NULL);
	if (sec != NULL)
		dom_attr(sec, "data-recommendation-id", buf, sizeof(buf));
	check_text(st, "data-recommendation-id", sec != NULL ? buf :
	    "(no recommendation on the page)", sfield(st->recs,
	    "recommendation_id"));
	if (sec == NULL) {
		check_done(st, mark, "recommendations");
		return;
	}
	end = strstr(sec, "</table>");
	json_array_foreach(json_object_get(st->recs, "products"), i, rp) {
		row = dom_next(sec, end, "data-product-id", sfield(rp,
		    "product_id"));
		for (j = 0; j < 3; j++) {
			const char *td = row != NULL ? dom_next(row,
			    strstr(row, "</tr>"), "data-field", pct[j]) : NULL;

			snprintf(what, sizeof(what), "recommendation %s %s",
			    sfield(rp, "product_id"), pct[j]);
			if (td != NULL)
				dom_attr(td, "data-value", buf, sizeof(buf));
			check_raw(st, what, td != NULL ? buf : "(no cell)",
			    json_object_get(rp, pct[j]));
		}
	}
	for (row = dom_next(sec, end, "data-product-id", NULL); row != NULL;
	    row = dom_next(row + 1, end, "data-product-id", NULL))
		rows++;
	snprintf(n[0], sizeof(n[0]), "%d", rows);
	snprintf(n[1], sizeof(n[1]), "%zu", json_array_size(json_object_get(
	    st->recs, "products")));
	check_text(st, "number of recommended products", n[0], n[1]);
	check_done(st, mark, "recommendations");
}

/* Big-endian 32-bit integer at p. */
static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* A screenshot of the page, kept as an artifact; a PNG of the size. */
static void
test_screenshot(void **state)
{
	struct page_state *st = *state;
	char png[HARNESS_PATH_MAX + 16], extra[HARNESS_PATH_MAX + 64];
	unsigned char head[24];
	struct stat sb;
	FILE *f;

	assert_non_null(st->dom);
	snprintf(png, sizeof(png), "%s/plan.png", st->artifacts);
	unlink(png);
	snprintf(extra, sizeof(extra), "--screenshot='%s' "
	    "--window-size=1280,2000", png);
	run_chromium(st, extra, "/dev/null");
	if ((f = fopen(png, "rb")) == NULL || stat(png, &sb) == -1)
		fail_msg("no screenshot at %s", png);
	assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	if (memcmp(head, "\x89PNG\r\n\x1a\n", 8) != 0 ||
	    memcmp(head + 12, "IHDR", 4) != 0)
		fail_msg("%s is not a PNG", png);
	print_message("screenshot %s: %ux%u, %lld bytes\n", png,
	    be32(head + 16), be32(head + 20), (long long)sb.st_size);
	assert_int_equal(be32(head + 16), 1280);
	assert_int_equal(be32(head + 20), 2000);
	assert_true(sb.st_size > 20000);
	harness_pass(&st->h);
}

/* ---- the group ---- */

/* Start redis-server, the broker and the daemon. */
static int
setup_group(void **state)
{
	struct page_state *st = &page_st;

	*state = st;
	if (make_artifacts(st) == -1)
		return -1;
	/* the plan starts at day 0's midnight, days ago, and the views of
	 * past days must get offers even after 10:00 UTC, when the last
	 * day's views are older than the offer TTL */
	if (harness_start_group(&st->h, "[plans]\nallow_past_start = yes\n"
	    "[engine]\nlate_view_offers = yes\n") == -1)
		return -1;
	print_message("artifacts in %s; chromium %s\n", st->artifacts,
	    st->chromium);
	return 0;
}

/* Stop everything and free what the tests kept. */
static int
teardown_group(void **state)
{
	struct page_state *st = *state;

	harness_release(&st->h);
	json_decref(st->offers);
	json_decref(st->plan);
	json_decref(st->metrics);
	json_decref(st->diagnosis);
	json_decref(st->recs);
	free(st->dom);
	return 0;
}

/* Before each test: not passed yet, no mismatch yet, daemon alive. */
static int
setup_test(void **state)
{
	struct page_state *st = *state;

	st->h.test_ok = 0;
	st->mismatched = 0;
	if (!harness_proc_alive(&st->h.daemon)) {
		fprintf(stderr, "smartpromod is not running (wait status "
		    "0x%x)\n", (unsigned)st->h.daemon.status);
		harness_log_tail(&st->h.daemon, 80);
		return -1;
	}
	return 0;
}

/* After each test: show what the daemon said if the test failed. */
static int
teardown_test(void **state)
{
	struct page_state *st = *state;

	if (!st->h.test_ok) {
		fprintf(stderr, "test failed; temporary directory %s\n",
		    st->h.dir);
		harness_log_tail(&st->h.daemon, 60);
	}
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_test, teardown_test)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_feed_and_snapshot),
		T(test_api_figures),
		T(test_render),
		T(test_header),
		T(test_kpis),
		T(test_days_table),
		T(test_charts),
		T(test_products),
		T(test_diagnosis),
		T(test_recommendations),
		T(test_screenshot),
	};
	int failed;

	if (find_chromium(page_st.chromium, sizeof(page_st.chromium)) == -1) {
		if (getenv("SP_CHROMIUM") != NULL &&
		    *getenv("SP_CHROMIUM") != '\0') {
			printf("page_test: SP_CHROMIUM \"%s\" is not an "
			    "executable file\n", page_st.chromium);
			return 1;
		}
		printf("page_test: SKIP: no chromium on PATH (apt-get "
		    "install chromium, or set SP_CHROMIUM)\n");
		return 77;
	}
	failed = cmocka_run_group_tests_name("browser", tests, setup_group,
	    teardown_group);
	if (page_st.compared > 0)
		printf("page_test: %d figures of the page compared with the "
		    "API\n", page_st.compared);
	return failed != 0;
}
