/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_page.c - unit tests of daemon/page.c: the document's structure
 * (doctype, charset, balanced elements, one SVG per chart, no external
 * asset, no script), the KPI tiles' ids, raw values and "1,234.00" money,
 * the chart points against the inputs (control GMV scaled by page views,
 * ROI target line, a null ROI day left out), the product, diagnosis and
 * recommendation sections, HTML escaping of every input string, totals
 * summed from the days when the plan has none, empty inputs, and a page
 * made from the engine's own snapshot, diagnosis and recommendation JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diagnose.h"
#include "page.h"
#include "recommend.h"
#include "snapshot.h"

#define EVIL "<script>alert(\"x\")</script>&'"
#define EVIL_ESC "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"

/* Load JSON text, failing the test on a syntax error. */
static json_t *
load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (j == NULL)
		fail_msg("bad test JSON: %s", je.text);
	return j;
}

/* The occurrences of needle in s. */
static int
count(const char *s, const char *needle)
{
	int n = 0;

	for (s = strstr(s, needle); s != NULL; s = strstr(s + 1, needle))
		n++;
	return n;
}

/* Check that <name> or <name ...> opens as often as </name> closes. */
static void
assert_balanced(const char *html, const char *name)
{
	char open1[32], open2[32], close[32];

	snprintf(open1, sizeof(open1), "<%s>", name);
	snprintf(open2, sizeof(open2), "<%s ", name);
	snprintf(close, sizeof(close), "</%s>", name);
	if (count(html, open1) + count(html, open2) != count(html, close))
		fail_msg("<%s> opened %d times, closed %d", name,
		    count(html, open1) + count(html, open2),
		    count(html, close));
}

/* The plan of the tests, named name, with totals unless bare. */
static json_t *
plan(const char *name, int bare)
{
	json_t *p = load("{\"plan_id\": \"pl-6f1c2a9e4b7d\", \"shop_id\": "
	    "\"shop-1\", \"status\": \"active\", \"discount_min_pct\": 5, "
	    "\"discount_max_pct\": 30, \"roi_target\": 5.0, \"start\": "
	    "1764000000000, \"end\": 1765209600000, \"totals\": {"
	    "\"page_views\": 1200, \"offers\": 1100, \"orders\": 80, "
	    "\"units\": 95, \"gmv\": 123400, \"promotion_cost\": 21000, "
	    "\"roi\": 5.88, \"customers\": 70, \"incremental_gmv\": 40000, "
	    "\"incremental_gmv_ci\": [-100312, 180312], \"control\": "
	    "{\"page_views\": 60, \"orders\": 3, \"gmv\": 4100}}}");

	json_object_set_new(p, "name", json_string(name));
	if (bare)
		json_object_del(p, "totals");
	return p;
}

/* Three days; the second has no promotion cost (ROI null). */
static json_t *
days(void)
{
	return load("[{\"date\": \"2026-11-22\", \"page_views\": 400, "
	    "\"offers\": 380, \"orders\": 30, \"units\": 33, \"gmv\": 45000, "
	    "\"promotion_cost\": 7000, \"roi\": 6.4286, \"customers\": 28, "
	    "\"control\": {\"page_views\": 20, \"orders\": 1, \"gmv\": 1500, "
	    "\"customers\": 1}, \"incremental_gmv\": 15000, "
	    "\"incremental_gmv_ci\": [1000, 29000]},"
	    "{\"date\": \"2026-11-23\", \"page_views\": 300, \"offers\": 0, "
	    "\"orders\": 10, \"units\": 10, \"gmv\": 12000, "
	    "\"promotion_cost\": 0, \"roi\": null, \"customers\": 9, "
	    "\"control\": {\"page_views\": 0, \"orders\": 0, \"gmv\": 0, "
	    "\"customers\": 0}, \"incremental_gmv\": null},"
	    "{\"date\": \"2026-11-24\", \"page_views\": 500, \"offers\": 470, "
	    "\"orders\": 40, \"units\": 52, \"gmv\": 66400, "
	    "\"promotion_cost\": 14000, \"roi\": 4.7429, \"customers\": 33, "
	    "\"control\": {\"page_views\": 40, \"orders\": 2, \"gmv\": 2600, "
	    "\"customers\": 2}, \"incremental_gmv\": 33900}]");
}

/* Render with the test's inputs; name is the plan's name. */
static char *
render(const char *name, int bare, const char *product_id)
{
	json_t *p = plan(name, bare), *d = days();
	json_t *prods = load("[{\"product_id\": \"p1\", \"name\": \"Red "
	    "shoes\", \"page_views\": 700, \"orders\": 50, \"gmv\": 90000, "
	    "\"promotion_cost\": 15000, \"roi\": 6.0, \"customers\": 45, "
	    "\"control\": {\"page_views\": 35, \"orders\": 2, \"gmv\": 2500}, "
	    "\"incremental_gmv\": 40000}]");
	json_t *diag = load("[{\"date\": \"2026-11-24\", \"plan_id\": "
	    "\"pl-1\", \"flagged\": true, \"checks\": [{\"metric\": "
	    "\"gmv_per_view\", \"verdict\": \"strong\", \"reason\": "
	    "\"GMV per view 1.33 vs median 0.40 over 14 days (z = 5.1)\"}, "
	    "{\"metric\": "
	    "\"conversion\", \"verdict\": \"normal\", \"reason\": \"ok\"}, "
	    "{\"metric\": \"roi\", \"verdict\": \"short_history\", "
	    "\"reason\": \"ROI: 3 days of history, 5 needed\"}]}]");
	json_t *rec = load("{\"recommendation_id\": \"rc-00112233aabbccdd\", "
	    "\"shop_id\": \"shop-1\", \"date\": \"2026-11-24\", \"products\": "
	    "[{\"product_id\": \"p9\", \"category\": \"shoes\", "
	    "\"discount_min_pct\": 7.5, \"discount_max_pct\": 15, "
	    "\"best_pct\": 10, \"tools\": [{\"tool\": \"product_discount\", "
	    "\"share_pct\": 100}], \"expected\": {\"extra_orders_per_1000_"
	    "views\": 27.26, \"extra_gmv_per_1000_views\": 224944, \"roi\": "
	    "9.0, \"incremental_roi\": 4.7175}, \"lift_from\": \"category\", "
	    "\"assumptions\": \"one offer per view\"}]}");
	char *html;

	json_array_append_new(prods, json_pack("{s:s, s:s, s:i}", "product_id",
	    product_id, "name", product_id, "gmv", 5));
	json_array_append_new(json_object_get(json_array_get(diag, 0),
	    "checks"), json_pack("{s:s, s:s, s:s}", "metric", "roi",
	    "verdict", "weak", "reason", product_id));
	html = page_plan_html(p, d, prods, diag, rec);
	json_decref(p);
	json_decref(d);
	json_decref(prods);
	json_decref(diag);
	json_decref(rec);
	assert_non_null(html);
	return html;
}

/* A complete, balanced HTML5 document with three charts and no script. */
static void
test_structure(void **state)
{
	static const char *const tags[] = { "html", "head", "body", "main",
	    "section", "table", "thead", "tbody", "tr", "td", "th", "svg",
	    "figure", "ul", "li", "span", "div", "p", "details", "title",
	    "text", "circle", "rect", "code", "header", "h1", "h2", "time" };
	char *html = render("Winter", 0, "p2");

	(void)state;
	assert_int_equal(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">",
	    32), 0);
	assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
	assert_int_equal(strcmp(html + strlen(html) - 8, "</html>\n"), 0);
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		assert_balanced(html, tags[i]);
	assert_int_equal(count(html, "<svg "), 3);
	assert_int_equal(count(html, "<svg id=\"chart-gmv\""), 1);
	assert_int_equal(count(html, "<svg id=\"chart-roi\""), 1);
	assert_int_equal(count(html, "<svg id=\"chart-orders\""), 1);
	assert_int_equal(count(html, "<script"), 0);
	assert_int_equal(count(html, "<link"), 0);
	assert_int_equal(count(html, "src="), 0);
	assert_int_equal(count(html, "href="), 0);
	assert_int_equal(count(html, "http"), 3);       /* the SVG xmlns */
	free(html);
}

/* The tiles show the totals, formatted, with their raw values. */
static void
test_kpis(void **state)
{
	char *html = render("Winter", 0, "p2");

	(void)state;
	assert_non_null(strstr(html,
	    "<span id=\"kpi-gmv\" data-value=\"123400\">1,234.00</span>"));
	assert_non_null(strstr(html,
	    "<span id=\"kpi-orders\" data-value=\"80\">80</span>"));
	assert_non_null(strstr(html,
	    "<span id=\"kpi-customers\" data-value=\"70\">70</span>"));
	assert_non_null(strstr(html,
	    "<span id=\"kpi-roi\" data-value=\"5.88\">5.88</span>"));
	assert_non_null(strstr(html,
	    "<span id=\"kpi-page-views\" data-value=\"1200\">1,200</span>"));
	assert_non_null(strstr(html, "<span id=\"kpi-promotion-cost\" "
	    "data-value=\"21000\">210.00</span>"));
	assert_non_null(strstr(html, "<span id=\"kpi-incremental-gmv\" "
	    "data-value=\"40000\" data-lo=\"-100312\" data-hi=\"180312\">"
	    "400.00</span>"));
	assert_non_null(strstr(html, "95% CI -1,003.12 to 1,803.12"));
	assert_non_null(strstr(html, "<span id=\"plan-range\" data-min=\"5\" "
	    "data-max=\"30\">5.00% &ndash; 30.00%</span>"));
	assert_non_null(strstr(html, "id=\"plan-start\" data-value="
	    "\"1764000000000\">2025-11-24 16:00 UTC</time>"));
	assert_non_null(strstr(html, "<code id=\"plan-id\">pl-6f1c2a9e4b7d"));
	assert_non_null(strstr(html, "id=\"plan-status\" class=\"badge\" "
	    "data-value=\"active\">active</span>"));
	free(html);
}

/* The charts' points equal the inputs. */
static void
test_charts(void **state)
{
	char *html = render("Winter", 0, "p2");
	const char *roi = strstr(html, "<svg id=\"chart-roi\"");
	const char *orders = strstr(html, "<svg id=\"chart-orders\"");

	(void)state;
	assert_non_null(roi);
	assert_non_null(orders);
	assert_non_null(strstr(html, "data-series=\"treatment\" "
	    "data-date=\"2026-11-22\" data-value=\"45000\""));
	assert_non_null(strstr(html, "data-series=\"treatment\" "
	    "data-date=\"2026-11-24\" data-value=\"66400\""));
	/* control scaled: 1500 * 400 / 20 = 30000; 2600 * 500 / 40 = 32500 */
	assert_non_null(strstr(html, "data-series=\"control_scaled\" "
	    "data-date=\"2026-11-22\" data-value=\"30000\""));
	assert_non_null(strstr(html, "data-series=\"control_scaled\" "
	    "data-date=\"2026-11-24\" data-value=\"32500\""));
	assert_null(strstr(html, "data-series=\"control_scaled\" "
	    "data-date=\"2026-11-23\""));
	assert_int_equal(count(html, "data-series=\"treatment\""), 3);
	/* ROI: two points (the null day is left out) and the target */
	assert_int_equal(count(html, "data-series=\"roi\""), 2);
	assert_non_null(strstr(html, "data-series=\"roi\" "
	    "data-date=\"2026-11-22\" data-value=\"6.4286\""));
	assert_non_null(strstr(html, "<line id=\"chart-roi-target\""));
	assert_non_null(strstr(html, "data-value=\"5\"/>"));
	/* orders: one bar per day */
	assert_int_equal(count(orders, "<rect class=\"bar\""), 3);
	assert_non_null(strstr(orders, "data-series=\"orders\" "
	    "data-date=\"2026-11-23\" data-value=\"10\""));
	assert_true(strstr(roi, "data-series=\"roi\"") < orders);
	free(html);
}

/* Tables, diagnosis and recommendations hold the inputs. */
static void
test_sections(void **state)
{
	char *html = render("Winter", 0, "p2");

	(void)state;
	assert_non_null(strstr(html, "<tr data-product-id=\"p1\"><td>Red shoes"
	    "</td>"));
	assert_non_null(strstr(html, "<td data-field=\"gmv\" "
	    "data-value=\"90000\">900.00</td>"));
	assert_non_null(strstr(html, "<td data-field=\"control.gmv\" "
	    "data-value=\"2500\">25.00</td>"));
	assert_non_null(strstr(html, "<td data-field=\"gmv\" "
	    "data-value=\"5\">0.05</td>"));
	assert_non_null(strstr(html, "<tr data-date=\"2026-11-23\">"));
	assert_non_null(strstr(html, "<td data-field=\"roi\" data-value=\"\">"
	    "&mdash;</td>"));
	assert_non_null(strstr(html, "data-verdict=\"strong\" "
	    "data-metric=\"gmv_per_view\""));
	assert_non_null(strstr(html, "GMV per view 1.33 vs median 0.40 over "
	    "14 days (z = 5.1)"));
	assert_int_equal(count(html, "<li data-verdict=\""), 2);
	assert_non_null(strstr(html, "<li data-verdict=\"weak\" "
	    "data-metric=\"roi\""));
	assert_non_null(strstr(html, "data-verdict=\"none\""));
	assert_non_null(strstr(html, "2 other checks normal"));
	assert_non_null(strstr(html,
	    "data-recommendation-id=\"rc-00112233aabbccdd\""));
	assert_non_null(strstr(html, "<td data-field=\"discount_min_pct\" "
	    "data-value=\"7.5\">7.50%</td>"));
	assert_non_null(strstr(html, "<td data-field=\"tools\">"
	    "product_discount 100%</td>"));
	assert_non_null(strstr(html, "<td data-field=\"extra_gmv_per_1000_"
	    "views\" data-value=\"224944\">2,249.44</td>"));
	free(html);
}

/* Every input string is escaped. */
static void
test_escaping(void **state)
{
	char *html = render(EVIL, 0, EVIL);

	(void)state;
	assert_int_equal(count(html, "<script"), 0);
	assert_int_equal(count(html, "alert(\""), 0);
	assert_non_null(strstr(html, "<title>" EVIL_ESC " &middot;"));
	assert_non_null(strstr(html, "<h1 id=\"plan-name\">" EVIL_ESC "</h1>"));
	assert_non_null(strstr(html, "<tr data-product-id=\"" EVIL_ESC "\">"));
	/* title, heading, product row and name, finding's reason */
	assert_int_equal(count(html, EVIL_ESC), 5);
	assert_balanced(html, "tr");
	assert_balanced(html, "li");
	free(html);
}

/* Without totals the tiles sum the days; unknown figures show a dash. */
static void
test_totals_from_days(void **state)
{
	char *html = render("Winter", 1, "p2");

	(void)state;
	assert_non_null(strstr(html,
	    "<span id=\"kpi-gmv\" data-value=\"123400\">1,234.00</span>"));
	assert_non_null(strstr(html,
	    "<span id=\"kpi-orders\" data-value=\"80\">80</span>"));
	/* 123400 / 21000 = 5.876190 -> 5.8762 */
	assert_non_null(strstr(html,
	    "<span id=\"kpi-roi\" data-value=\"5.8762\">5.88</span>"));
	assert_non_null(strstr(html,
	    "<span id=\"kpi-customers\" data-value=\"\">&mdash;</span>"));
	assert_non_null(strstr(html, "<span id=\"kpi-incremental-gmv\" "
	    "data-value=\"\" data-lo=\"\" data-hi=\"\">&mdash;</span>"));
	free(html);
}

/* Money: negatives, cents, large sums. */
static void
test_money(void **state)
{
	static const struct { json_int_t v; const char *text; } cases[] = {
		{ 0, ">0.00<" }, { 5, ">0.05<" }, { -123456, ">-1,234.56<" },
		{ 1234567890, ">12,345,678.90<" }, { 100000, ">1,000.00<" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *p = plan("m", 0);
		char *html;

		json_object_set_new(json_object_get(p, "totals"), "gmv",
		    json_integer(cases[i].v));
		html = page_plan_html(p, NULL, NULL, NULL, NULL);
		assert_non_null(html);
		assert_non_null(strstr(html, cases[i].text));
		free(html);
		json_decref(p);
	}
}

/* A new plan: no days, products, diagnosis or recommendation. */
static void
test_empty(void **state)
{
	json_t *p = plan("New", 1), *none = json_array();
	char *html = page_plan_html(p, none, none, none, NULL);

	(void)state;
	assert_non_null(html);
	assert_int_equal(count(html, "<svg "), 3);
	assert_int_equal(count(html, "no figures yet"), 3);
	assert_non_null(strstr(html, "no products yet"));
	assert_non_null(strstr(html, "Nothing unusual."));
	assert_non_null(strstr(html, "No recommendation yet."));
	assert_non_null(strstr(html,
	    "<span id=\"kpi-gmv\" data-value=\"0\">0.00</span>"));
	assert_balanced(html, "svg");
	free(html);
	assert_null(page_plan_html(none, none, none, none, NULL));
	assert_null(page_plan_html(NULL, NULL, NULL, NULL, NULL));
	json_decref(none);
	json_decref(p);
}

/* Twelve plan days of the engine's snapshots, the last one strong. */
static json_t *
engine_days(struct snapshot_day *rows, struct snapshot_day *tot)
{
	struct snapshot_params sp;
	json_t *a = json_array();
	char date[16];

	snapshot_params_default(&sp);
	for (int i = 0; i < 12; i++) {
		snprintf(date, sizeof(date), "2026-11-%02d", 10 + i);
		snapshot_init(&rows[i], date, "pl-e", "", NULL, 0);
		rows[i].pv_t = 1000 + 10 * i;
		rows[i].pv_c = 50;
		rows[i].ord_t = 20 + i % 3;
		rows[i].gmv_t = i == 11 ? 90000 : 30000 + 500 * (i % 4);
		rows[i].cost = rows[i].gmv_t / 6;
		rows[i].ord_c = 1;
		rows[i].gmv_c = 1400;
		rows[i].customers_t = rows[i].ord_t - 1;
		snapshot_derive(&rows[i], &sp);
		json_array_append_new(a, snapshot_to_json(&rows[i]));
	}
	snapshot_init(tot, "2026-11-21", "pl-e", "", NULL, 0);
	snapshot_sum(tot, rows, 12);
	snapshot_derive(tot, &sp);
	return a;
}

/* The page shows what the engine computed, figure for figure. */
static void
test_engine_shapes(void **state)
{
	struct snapshot_day rows[12], tot;
	struct diagnose_params dp;
	struct diagnose_result dr;
	struct recommend_params rp;
	struct recommend_product rpd;
	struct recommend_set rs;
	json_t *p = plan("Engine", 1), *d = engine_days(rows, &tot);
	json_t *diag = json_array(), *rec;
	char *html, want[160];

	(void)state;
	json_object_set_new(p, "totals", snapshot_to_json(&tot));
	diagnose_params_default(&dp);
	assert_int_equal(diagnose_day(&dp, rows, 12, "2026-11-21", &dr, NULL,
	    0), 0);
	assert_true(dr.flagged);
	json_array_append_new(diag, diagnose_to_json(&dr));
	recommend_params_default(&rp);
	memset(&rpd, 0, sizeof(rpd));
	snprintf(rpd.product_id, sizeof(rpd.product_id), "%s", "p-x");
	rpd.price = 2500;
	assert_int_equal(recommend_compute(&rp, "shop-1", "2026-11-21", &rpd,
	    1, NULL, 0, &rs, NULL, 0), 0);
	rec = recommend_to_json(&rs);
	html = page_plan_html(p, d, NULL, diag, rec);
	assert_non_null(html);
	snprintf(want, sizeof(want), "<span id=\"kpi-gmv\" "
	    "data-value=\"%lld\">", (long long)tot.gmv_t);
	assert_non_null(strstr(html, want));
	snprintf(want, sizeof(want), "<span id=\"kpi-incremental-gmv\" "
	    "data-value=\"%lld\" data-lo=\"%lld\" data-hi=\"%lld\">",
	    (long long)tot.incr_gmv, (long long)tot.incr_lo,
	    (long long)tot.incr_hi);
	assert_non_null(strstr(html, want));
	snprintf(want, sizeof(want), "<span id=\"kpi-roi\" "
	    "data-value=\"%.4f\">", tot.roi);
	assert_non_null(strstr(html, want));
	assert_int_equal(count(html, "data-series=\"treatment\""), 12);
	assert_non_null(strstr(html, "data-series=\"treatment\" "
	    "data-date=\"2026-11-21\" data-value=\"90000\""));
	assert_non_null(strstr(html, "<li data-verdict=\"strong\" "
	    "data-metric=\"gmv_per_view\""));
	assert_non_null(strstr(html, dr.checks[0].reason));
	snprintf(want, sizeof(want), "data-recommendation-id=\"%s\"", rs.id);
	assert_non_null(strstr(html, want));
	assert_non_null(strstr(html, "<tr data-product-id=\"p-x\">"));
	free(html);
	recommend_set_release(&rs);
	json_decref(rec);
	json_decref(diag);
	json_decref(d);
	json_decref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_kpis),
		cmocka_unit_test(test_charts),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_totals_from_days),
		cmocka_unit_test(test_money),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_engine_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
