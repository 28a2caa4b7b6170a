/* SPDX-License-Identifier: Apache-2.0 */
/*
 * page.c - the seller's HTML page of a plan: a growing text buffer with
 * HTML escaping, number formatting, the header, KPI tiles, inline SVG line
 * and bar charts, and the tables of days, products, diagnosis and
 * recommendations.  Hooks and inputs are listed in page.h.
 */
#include "page.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_CHUNK 16384
#define PAGE_NUM_MAX 48          /* a formatted figure */
#define PAGE_GROUP_MAX 32        /* 20 digits and 6 commas */
#define PAGE_W 640              /* chart size, SVG user units */
#define PAGE_H 220
#define PAGE_ML 72              /* margins: left, right, top, bottom */
#define PAGE_MR 16
#define PAGE_MT 16
#define PAGE_MB 30

/* The document being built. */
struct page_buf {
	char *s;
	size_t len, cap;
	int oom;
};

/* How a figure is shown. */
enum page_fmt {
	PAGE_MONEY,             /* minor units as "1,234.00" */
	PAGE_COUNT,             /* "1,234" */
	PAGE_RATIO,             /* "6.43" */
	PAGE_PCT                /* 0.0213 as "2.13%" */
};

/* One series of a chart: a value per day, or none. */
struct page_series {
	const char *name;       /* data-series */
	const char *label;      /* legend */
	const char *cls;        /* CSS class */
	double *v;
	int *has;
};

/* A chart being drawn. */
struct page_chart {
	const char *id, *title;
	const json_t *days;
	size_t n;
	double lo, hi;          /* value range of the y axis */
	enum page_fmt fmt;
	int slots;              /* days are slots (bars), not points */
};

static const char page_css[] =
	"body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,"
	"sans-serif;margin:0;background:#f6f7f9;color:#1d2430}"
	"main{max-width:1100px;margin:0 auto;padding:24px}"
	"h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}"
	".meta{color:#5b6575}.meta span{margin-right:14px}"
	".badge{display:inline-block;padding:1px 8px;border-radius:10px;"
	"background:#e3f4e8;color:#17663a;font-weight:600}"
	".badge.ended{background:#eceef1;color:#5b6575}"
	".tiles{display:grid;grid-template-columns:repeat(auto-fill,"
	"minmax(160px,1fr));gap:12px}"
	".tile{background:#fff;border:1px solid #dfe3e8;border-radius:8px;"
	"padding:12px}.tile .k{color:#5b6575;font-size:12px;text-transform:"
	"uppercase;letter-spacing:.04em}.tile .v{font-size:22px;font-weight:"
	"600}.tile .ci{color:#5b6575;font-size:12px}"
	".charts{display:grid;grid-template-columns:repeat(auto-fill,"
	"minmax(480px,1fr));gap:12px}"
	"figure{margin:0;background:#fff;border:1px solid #dfe3e8;"
	"border-radius:8px;padding:8px}figcaption{font-weight:600;margin:"
	"4px 8px}svg{width:100%;height:auto}"
	"svg text{font-size:11px;fill:#5b6575}.axis{stroke:#c4cad3}"
	".grid{stroke:#eceef1}.s0{stroke:#2563eb;fill:#2563eb}"
	".s1{stroke:#9aa3b0;fill:#9aa3b0}.line{fill:none;stroke-width:2}"
	".target{stroke:#d97706;stroke-dasharray:6 4}.bar{fill:#2563eb}"
	"table{border-collapse:collapse;width:100%;background:#fff;"
	"border:1px solid #dfe3e8}th,td{padding:6px 8px;border-bottom:1px "
	"solid #eceef1;text-align:right;vertical-align:top}"
	"th:first-child,td:first-child{text-align:left}th{background:#f0f2f5;"
	"font-weight:600}.muted{color:#5b6575}"
	"ul#diagnosis{background:#fff;border:1px solid #dfe3e8;border-radius:"
	"8px;padding:10px 10px 10px 30px}"
	".strong{color:#17663a}.weak{color:#b42318}"
	"details{color:#5b6575;text-align:left}"
	"#days td:first-child{white-space:nowrap}"
	"p .s0{color:#2563eb}p .s1{color:#9aa3b0}";

static void page_printf(struct page_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Make room for need more bytes (and a NUL); 0 or -1. */
static int
page_grow(struct page_buf *b, size_t need)
{
	char *s;
	size_t cap = b->cap;

	if (b->oom)
		return -1;
	if (b->len + need + 1 <= b->cap)
		return 0;
	while (cap < b->len + need + 1)
		cap = cap == 0 ? PAGE_CHUNK : cap * 2;
	if ((s = realloc(b->s, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

/* Append len bytes. */
static void
page_putn(struct page_buf *b, const char *s, size_t len)
{
	if (page_grow(b, len) == -1)
		return;
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

/* Append a string as it is (trusted markup). */
static void
page_puts(struct page_buf *b, const char *s)
{
	page_putn(b, s, strlen(s));
}

/* Append formatted trusted markup. */
static void
page_printf(struct page_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || page_grow(b, (size_t)n) == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append untrusted text, HTML-escaped (for text and attribute values). */
static void
page_esc(struct page_buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&': page_puts(b, "&amp;"); break;
		case '<': page_puts(b, "&lt;"); break;
		case '>': page_puts(b, "&gt;"); break;
		case '"': page_puts(b, "&quot;"); break;
		case '\'': page_puts(b, "&#39;"); break;
		default: page_putn(b, s, 1); break;
		}
	}
}

/* Digits of u with a comma every three. */
static void
page_group(char *buf, size_t len, uint64_t u)
{
	char tmp[PAGE_GROUP_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, u), k = 0;

	for (int i = 0; i < n && (size_t)k + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = tmp[i];
	}
	buf[k] = '\0';
}

/* Minor units as "-1,234.00". */
static void
page_money(char *buf, size_t len, int64_t v)
{
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	char g[PAGE_GROUP_MAX];

	page_group(g, sizeof(g), u / 100);
	snprintf(buf, len, "%s%s.%02u", v < 0 ? "-" : "", g,
	    (unsigned)(u % 100));
}

/* A figure formatted as fmt says. */
static void
page_format(char *buf, size_t len, double v, enum page_fmt fmt)
{
	char g[PAGE_GROUP_MAX];

	if (fmt == PAGE_MONEY)
		page_money(buf, len, (int64_t)llround(v));
	else if (fmt == PAGE_COUNT) {
		page_group(g, sizeof(g), (uint64_t)llround(fabs(v)));
		snprintf(buf, len, "%s%s", v < 0 ? "-" : "", g);
	} else if (fmt == PAGE_PCT)
		snprintf(buf, len, "%.2f%%", v * 100);
	else
		snprintf(buf, len, "%.2f", v);
}

/* The number at o[key] into *v; 0 when absent or not a number. */
static int
page_num(const json_t *o, const char *key, double *v)
{
	const json_t *x = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (!json_is_number(x))
		return 0;
	*v = json_number_value(x);
	return 1;
}

/* The string at o[key], or def. */
static const char *
page_str(const json_t *o, const char *key, const char *def)
{
	const char *s = json_is_object(o) ?
	    json_string_value(json_object_get(o, key)) : NULL;

	return s != NULL ? s : def;
}

/* A raw number as data-value text ("" for none). */
static void
page_raw(char *buf, size_t len, int has, double v)
{
	if (!has)
		buf[0] = '\0';
	else if (v == floor(v) && fabs(v) < 9e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.15g", v);
}

/* A table cell of o[key] (path "control.gmv" looks one level down). */
static void
page_cell(struct page_buf *b, const json_t *o, const char *path,
    enum page_fmt fmt)
{
	char key[64], raw[PAGE_NUM_MAX], txt[PAGE_NUM_MAX];
	const char *dot = strchr(path, '.');
	double v = 0;
	int has;

	if (dot != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		has = page_num(json_object_get(o, key), dot + 1, &v);
	} else
		has = page_num(o, path, &v);
	page_raw(raw, sizeof(raw), has, v);
	page_format(txt, sizeof(txt), v, fmt);
	page_printf(b, "<td data-field=\"%s\" data-value=\"%s\">%s</td>",
	    path, raw, has ? txt : "&mdash;");
}

/* Epoch ms as "YYYY-MM-DD HH:MM UTC". */
static void
page_time(char *buf, size_t len, double ms)
{
	time_t t = (time_t)floor(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, len, "?");
}

/* The document's head and the opening of main. */
static void
page_head(struct page_buf *b, const json_t *plan)
{
	page_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>");
	page_esc(b, page_str(plan, "name", ""));
	page_puts(b, " &middot; smartpromo</title>\n<style>");
	page_puts(b, page_css);
	page_puts(b, "</style>\n</head>\n<body>\n<main>\n");
}

/* A header item with a time. */
static void
page_header_time(struct page_buf *b, const json_t *plan, const char *key,
    const char *id, const char *label)
{
	char raw[PAGE_NUM_MAX], txt[PAGE_NUM_MAX];
	double v = 0;
	int has = page_num(plan, key, &v);

	page_raw(raw, sizeof(raw), has, v);
	if (has)
		page_time(txt, sizeof(txt), v);
	page_printf(b, "<span>%s <time id=\"%s\" data-value=\"%s\">%s</time>"
	    "</span>", label, id, raw, has ? txt : "&mdash;");
}

/* The plan's name, id, status, range and dates. */
static void
page_header(struct page_buf *b, const json_t *plan)
{
	const char *status = page_str(plan, "status", "");
	double lo = 0, hi = 0, roi = 0;
	int hl = page_num(plan, "discount_min_pct", &lo);
	int hh = page_num(plan, "discount_max_pct", &hi);
	int hr = page_num(plan, "roi_target", &roi);
	char rlo[PAGE_NUM_MAX], rhi[PAGE_NUM_MAX], rroi[PAGE_NUM_MAX];

	page_puts(b, "<header>\n<h1 id=\"plan-name\">");
	page_esc(b, page_str(plan, "name", ""));
	page_puts(b, "</h1>\n<p class=\"meta\"><span>Plan "
	    "<code id=\"plan-id\">");
	page_esc(b, page_str(plan, "plan_id", ""));
	page_printf(b, "</code></span><span id=\"plan-status\" "
	    "class=\"badge%s\" data-value=\"",
	    strcmp(status, "active") == 0 ? "" : " ended");
	page_esc(b, status);
	page_puts(b, "\">");
	page_esc(b, status);
	page_raw(rlo, sizeof(rlo), hl, lo);
	page_raw(rhi, sizeof(rhi), hh, hi);
	page_raw(rroi, sizeof(rroi), hr, roi);
	page_printf(b, "</span><span>Discount <span id=\"plan-range\" "
	    "data-min=\"%s\" data-max=\"%s\">%.2f%% &ndash; %.2f%%</span>"
	    "</span><span>ROI target <span id=\"plan-roi-target\" "
	    "data-value=\"%s\">%.2f</span></span></p>\n<p class=\"meta\">",
	    rlo, rhi, lo, hi, rroi, roi);
	page_header_time(b, plan, "start", "plan-start", "From");
	page_header_time(b, plan, "end", "plan-end", "to");
	page_puts(b, "</p>\n</header>\n");
}

/* One KPI tile. */
static void
page_tile(struct page_buf *b, const char *id, const char *label, int has,
    double v, enum page_fmt fmt)
{
	char raw[PAGE_NUM_MAX], txt[PAGE_NUM_MAX];

	page_raw(raw, sizeof(raw), has, v);
	page_format(txt, sizeof(txt), v, fmt);
	page_printf(b, "<div class=\"tile\"><div class=\"k\">%s</div>"
	    "<div class=\"v\"><span id=\"%s\" data-value=\"%s\">%s</span>"
	    "</div></div>\n", label, id, raw, has ? txt : "&mdash;");
}

/* The incremental GMV tile, with its interval. */
static void
page_tile_incr(struct page_buf *b, const json_t *tot)
{
	const json_t *ci = json_is_object(tot) ?
	    json_object_get(tot, "incremental_gmv_ci") : NULL;
	double v = 0, lo = 0, hi = 0;
	int has = page_num(tot, "incremental_gmv", &v);
	int hci = json_is_array(ci) && json_is_number(json_array_get(ci, 0)) &&
	    json_is_number(json_array_get(ci, 1));
	char raw[PAGE_NUM_MAX], rlo[PAGE_NUM_MAX], rhi[PAGE_NUM_MAX];
	char txt[PAGE_NUM_MAX], tlo[PAGE_NUM_MAX], thi[PAGE_NUM_MAX];

	if (hci) {
		lo = json_number_value(json_array_get(ci, 0));
		hi = json_number_value(json_array_get(ci, 1));
	}
	page_raw(raw, sizeof(raw), has, v);
	page_raw(rlo, sizeof(rlo), hci, lo);
	page_raw(rhi, sizeof(rhi), hci, hi);
	page_format(txt, sizeof(txt), v, PAGE_MONEY);
	page_format(tlo, sizeof(tlo), lo, PAGE_MONEY);
	page_format(thi, sizeof(thi), hi, PAGE_MONEY);
	page_printf(b, "<div class=\"tile\"><div class=\"k\">Incremental GMV"
	    "</div><div class=\"v\"><span id=\"kpi-incremental-gmv\" "
	    "data-value=\"%s\" data-lo=\"%s\" data-hi=\"%s\">%s</span></div>"
	    "<div class=\"ci\">95%% CI %s%s%s</div></div>\n", raw, rlo, rhi,
	    has ? txt : "&mdash;", hci ? tlo : "&mdash;", hci ? " to " : "",
	    hci ? thi : "");
}

/* Sum the additive figures of the days into a totals object. */
static json_t *
page_sum_days(const json_t *days)
{
	static const char *const keys[] = { "page_views", "offers", "orders",
	    "units", "gmv", "promotion_cost" };     /* gmv, cost: last two */
	enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
	double sum[NKEYS] = { 0 }, v;
	size_t i;
	json_t *d, *t = json_object();

	json_array_foreach(days, i, d)
		for (size_t k = 0; k < NKEYS; k++)
			if (page_num(d, keys[k], &v))
				sum[k] += v;
	for (size_t k = 0; t != NULL && k < NKEYS; k++)
		json_object_set_new(t, keys[k], json_integer(
		    (json_int_t)llround(sum[k])));
	if (t != NULL && sum[NKEYS - 1] > 0)
		json_object_set_new(t, "roi", json_real(round(sum[NKEYS - 2] /
		    sum[NKEYS - 1] * 1e4) / 1e4));
	return t;
}

/* The KPI tiles: id, label, key in the totals, format. */
static const struct page_kpi {
	const char *id, *label, *key;
	enum page_fmt fmt;
} page_kpi_tiles[] = {
	{ "kpi-gmv", "GMV", "gmv", PAGE_MONEY },
	{ "kpi-orders", "Orders", "orders", PAGE_COUNT },
	{ "kpi-customers", "Customers", "customers", PAGE_COUNT },
	{ "kpi-roi", "ROI", "roi", PAGE_RATIO },
	{ "kpi-page-views", "Page views", "page_views", PAGE_COUNT },
	{ "kpi-promotion-cost", "Promotion cost", "promotion_cost",
	    PAGE_MONEY },
};

/* The KPI tiles from the plan's totals (or the days' sums). */
static void
page_kpis(struct page_buf *b, const json_t *plan, const json_t *days)
{
	const json_t *tot = json_object_get(plan, "totals");
	json_t *own = NULL;

	if (!json_is_object(tot))
		tot = own = page_sum_days(days);
	page_puts(b, "<section id=\"kpis\">\n<h2>So far</h2>\n"
	    "<div class=\"tiles\">\n");
	for (size_t i = 0; i < sizeof(page_kpi_tiles) /
	    sizeof(page_kpi_tiles[0]); i++) {
		const struct page_kpi *k = &page_kpi_tiles[i];
		double v = 0;
		int has = page_num(tot, k->key, &v);

		page_tile(b, k->id, k->label, has, v, k->fmt);
	}
	page_tile_incr(b, tot);
	page_puts(b, "</div>\n</section>\n");
	json_decref(own);
}

/* Allocate a series of n days; 0 or -1. */
static int
page_series_alloc(struct page_series *s, size_t n)
{
	s->v = calloc(n + 1, sizeof(*s->v));
	s->has = calloc(n + 1, sizeof(*s->has));
	return s->v != NULL && s->has != NULL ? 0 : -1;
}

/* Free a series' arrays. */
static void
page_series_free(struct page_series *s)
{
	free(s->v);
	free(s->has);
}

/* Nice round upper bound of an axis. */
static double
page_nice(double v)
{
	static const double steps[] = { 1, 2, 2.5, 5, 10 };
	double e;

	if (!(v > 0))
		return 1;
	e = pow(10, floor(log10(v)));
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] * e >= v)
			return steps[i] * e;
	return 10 * e;
}

/* The axis range covering the series (and extra, if has_extra). */
static void
page_range(struct page_chart *c, const struct page_series *s, int ns,
    int has_extra, double extra)
{
	double lo = 0, hi = has_extra ? extra : 0;

	for (int k = 0; k < ns; k++)
		for (size_t i = 0; i < c->n; i++)
			if (s[k].has[i]) {
				lo = fmin(lo, s[k].v[i]);
				hi = fmax(hi, s[k].v[i]);
			}
	c->hi = page_nice(hi);
	c->lo = lo < 0 ? -page_nice(-lo) : 0;
}

/* x of day i. */
static double
page_x(const struct page_chart *c, size_t i)
{
	double w = PAGE_W - PAGE_ML - PAGE_MR;

	if (c->slots || c->n <= 1)
		return PAGE_ML + w * ((double)i + 0.5) /
		    (double)(c->n > 0 ? c->n : 1);
	return PAGE_ML + w * (double)i / (double)(c->n - 1);
}

/* y of value v. */
static double
page_y(const struct page_chart *c, double v)
{
	double h = PAGE_H - PAGE_MT - PAGE_MB;

	return PAGE_MT + h - (v - c->lo) / (c->hi - c->lo) * h;
}

/* The date of day i (escaped by the caller). */
static const char *
page_date(const struct page_chart *c, size_t i)
{
	return page_str(json_array_get(c->days, i), "date", "");
}

/* A y-axis label in the chart's units (money in major units). */
static void
page_axis_label(char *buf, size_t len, const struct page_chart *c, double v)
{
	if (c->fmt == PAGE_MONEY)
		page_format(buf, len, v, PAGE_MONEY);
	else if (c->fmt == PAGE_COUNT)
		page_format(buf, len, v, PAGE_COUNT);
	else
		snprintf(buf, len, "%g", v);
}

/* The opening of a chart: frame, grid, axis labels, first/last date. */
static void
page_chart_open(struct page_buf *b, const struct page_chart *c)
{
	char top[PAGE_NUM_MAX], bot[PAGE_NUM_MAX];
	double yb = PAGE_H - PAGE_MB;

	page_axis_label(top, sizeof(top), c, c->hi);
	page_axis_label(bot, sizeof(bot), c, c->lo);
	page_printf(b, "<figure>\n<figcaption>%s</figcaption>\n<svg id=\"%s\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "role=\"img\" aria-label=\"%s\">\n", c->title, c->id, PAGE_W,
	    PAGE_H, c->title);
	page_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
	    "y2=\"%d\"/><line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
	    "y2=\"%.1f\"/>\n", PAGE_ML, PAGE_MT, PAGE_W - PAGE_MR, PAGE_MT,
	    PAGE_ML, yb, PAGE_W - PAGE_MR, yb);
	page_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>"
	    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
	    PAGE_ML - 6, PAGE_MT + 4, top, PAGE_ML - 6, yb + 4, bot);
	if (c->n == 0) {
		page_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
		    "no figures yet</text>\n", PAGE_W / 2, PAGE_H / 2);
		return;
	}
	page_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\">",
	    PAGE_ML, PAGE_H - 8);
	page_esc(b, page_date(c, 0));
	page_printf(b, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
	    PAGE_W - PAGE_MR, PAGE_H - 8);
	page_esc(b, page_date(c, c->n - 1));
	page_puts(b, "</text>\n");
}

/* One data point's attributes and tooltip. */
static void
page_point_attrs(struct page_buf *b, const struct page_chart *c,
    const struct page_series *s, size_t i)
{
	char raw[PAGE_NUM_MAX], txt[PAGE_NUM_MAX];

	page_raw(raw, sizeof(raw), 1, s->v[i]);
	page_format(txt, sizeof(txt), s->v[i], c->fmt);
	page_printf(b, " data-series=\"%s\" data-date=\"", s->name);
	page_esc(b, page_date(c, i));
	page_printf(b, "\" data-value=\"%s\"><title>%s ", raw, s->label);
	page_esc(b, page_date(c, i));
	page_printf(b, ": %s</title>", txt);
}

/* A series as a line (broken where a day has no value) with points. */
static void
page_line(struct page_buf *b, const struct page_chart *c,
    const struct page_series *s)
{
	int pen = 0;

	page_printf(b, "<path class=\"line %s\" d=\"", s->cls);
	for (size_t i = 0; i < c->n; i++) {
		if (!s->has[i]) {
			pen = 0;
			continue;
		}
		page_printf(b, "%s%.1f %.1f ", pen ? "L" : "M", page_x(c, i),
		    page_y(c, s->v[i]));
		pen = 1;
	}
	page_puts(b, "\"/>\n");
	for (size_t i = 0; i < c->n; i++) {
		if (!s->has[i])
			continue;
		page_printf(b, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" "
		    "r=\"3\"", s->cls, page_x(c, i), page_y(c, s->v[i]));
		page_point_attrs(b, c, s, i);
		page_puts(b, "</circle>\n");
	}
}

/* A series as bars. */
static void
page_bars(struct page_buf *b, const struct page_chart *c,
    const struct page_series *s)
{
	double slot = (double)(PAGE_W - PAGE_ML - PAGE_MR) /
	    (double)(c->n > 0 ? c->n : 1);
	double w = fmax(1, fmin(slot * 0.7, 40));

	for (size_t i = 0; i < c->n; i++) {
		double y0 = page_y(c, 0), y;

		if (!s->has[i])
			continue;
		y = page_y(c, s->v[i]);
		page_printf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" "
		    "width=\"%.1f\" height=\"%.1f\"", page_x(c, i) - w / 2,
		    fmin(y, y0), w, fabs(y0 - y));
		page_point_attrs(b, c, s, i);
		page_puts(b, "</rect>\n");
	}
}

/* The legend under a chart and its closing tags. */
static void
page_chart_close(struct page_buf *b, const struct page_series *s, int ns,
    const char *extra)
{
	page_puts(b, "</svg>\n<p class=\"muted\">");
	for (int k = 0; k < ns; k++)
		page_printf(b, "<span class=\"%s\">&#9679;</span> %s &nbsp; ",
		    s[k].cls, s[k].label);
	page_printf(b, "%s</p>\n</figure>\n", extra);
}

/* Fill a series from day objects: o[key], or o[sub][key]. */
static void
page_series_fill(struct page_series *s, const json_t *days, const char *sub,
    const char *key)
{
	size_t i;
	json_t *d;

	json_array_foreach(days, i, d)
		s->has[i] = page_num(sub != NULL ? json_object_get(d, sub) : d,
		    key, &s->v[i]);
}

/* Control GMV scaled to the treatment's page views, per day. */
static void
page_series_scaled(struct page_series *s, const json_t *days)
{
	double g, pvc, pvt;
	size_t i;
	json_t *d;

	json_array_foreach(days, i, d) {
		const json_t *c = json_object_get(d, "control");

		s->has[i] = page_num(c, "gmv", &g) &&
		    page_num(c, "page_views", &pvc) && pvc > 0 &&
		    page_num(d, "page_views", &pvt);
		s->v[i] = s->has[i] ? round(g * pvt / pvc) : 0;
	}
}

/* The GMV chart: treatment against control scaled by page views. */
static void
page_chart_gmv(struct page_buf *b, struct page_chart *c)
{
	struct page_series s[2] = {
		{ "treatment", "Treatment GMV", "s0", NULL, NULL },
		{ "control_scaled", "Control GMV scaled to treatment views",
		    "s1", NULL, NULL } };

	if (page_series_alloc(&s[0], c->n) == 0 &&
	    page_series_alloc(&s[1], c->n) == 0) {
		page_series_fill(&s[0], c->days, NULL, "gmv");
		page_series_scaled(&s[1], c->days);
		page_range(c, s, 2, 0, 0);
		page_chart_open(b, c);
		page_line(b, c, &s[1]);
		page_line(b, c, &s[0]);
		page_chart_close(b, s, 2, "");
	} else
		b->oom = 1;
	page_series_free(&s[0]);
	page_series_free(&s[1]);
}

/* The ROI chart with the target line. */
static void
page_chart_roi(struct page_buf *b, struct page_chart *c, int has_target,
    double target)
{
	struct page_series s = { "roi", "ROI", "s0", NULL, NULL };
	char extra[96] = "";

	if (page_series_alloc(&s, c->n) == -1) {
		b->oom = 1;
		page_series_free(&s);
		return;
	}
	page_series_fill(&s, c->days, NULL, "roi");
	page_range(c, &s, 1, has_target, target);
	page_chart_open(b, c);
	if (has_target) {
		page_printf(b, "<line id=\"chart-roi-target\" class=\"target\" "
		    "x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		    "data-value=\"%g\"/>\n", PAGE_ML, page_y(c, target),
		    PAGE_W - PAGE_MR, page_y(c, target), target);
		snprintf(extra, sizeof(extra), "<span style=\"color:#d97706\">"
		    "- - -</span> target %.2f", target);
	}
	page_line(b, c, &s);
	page_chart_close(b, &s, 1, extra);
	page_series_free(&s);
}

/* The orders chart (bars). */
static void
page_chart_orders(struct page_buf *b, struct page_chart *c)
{
	struct page_series s = { "orders", "Orders (treatment)", "s0", NULL,
	    NULL };

	if (page_series_alloc(&s, c->n) == -1) {
		b->oom = 1;
		page_series_free(&s);
		return;
	}
	page_series_fill(&s, c->days, NULL, "orders");
	page_range(c, &s, 1, 0, 0);
	page_chart_open(b, c);
	page_bars(b, c, &s);
	page_chart_close(b, &s, 1, "");
	page_series_free(&s);
}

/* The three charts of the daily figures. */
static void
page_charts(struct page_buf *b, const json_t *plan, const json_t *days)
{
	size_t n = json_is_array(days) ? json_array_size(days) : 0;
	struct page_chart c = { NULL, NULL, days, n, 0, 1, PAGE_MONEY, 0 };
	double target = 0;
	int has_target = page_num(plan, "roi_target", &target);

	page_puts(b, "<section id=\"charts\">\n<h2>Day by day</h2>\n"
	    "<div class=\"charts\">\n");
	c.id = "chart-gmv";
	c.title = "GMV per day";
	page_chart_gmv(b, &c);
	c.id = "chart-roi";
	c.title = "ROI per day";
	c.fmt = PAGE_RATIO;
	page_chart_roi(b, &c, has_target, target);
	c.id = "chart-orders";
	c.title = "Orders per day";
	c.fmt = PAGE_COUNT;
	c.slots = 1;
	page_chart_orders(b, &c);
	page_puts(b, "</div>\n</section>\n");
}

/* The columns of the days and products tables. */
static const struct page_col {
	const char *path, *label;
	enum page_fmt fmt;
} page_cols[] = {
	{ "page_views", "Views", PAGE_COUNT },
	{ "offers", "Offers", PAGE_COUNT },
	{ "orders", "Orders", PAGE_COUNT },
	{ "customers", "Customers", PAGE_COUNT },
	{ "gmv", "GMV", PAGE_MONEY },
	{ "promotion_cost", "Promotion cost", PAGE_MONEY },
	{ "roi", "ROI", PAGE_RATIO },
	{ "control.page_views", "Control views", PAGE_COUNT },
	{ "control.orders", "Control orders", PAGE_COUNT },
	{ "control.gmv", "Control GMV", PAGE_MONEY },
	{ "incremental_gmv", "Incremental GMV", PAGE_MONEY },
};
#define PAGE_NCOLS (sizeof(page_cols) / sizeof(page_cols[0]))

/* A table's header row, first column named first. */
static void
page_table_head(struct page_buf *b, const char *id, const char *first)
{
	page_printf(b, "<table id=\"%s\">\n<thead><tr><th>%s</th>", id, first);
	for (size_t k = 0; k < PAGE_NCOLS; k++)
		page_printf(b, "<th>%s</th>", page_cols[k].label);
	page_puts(b, "</tr></thead>\n<tbody>\n");
}

/* The figures cells of one row. */
static void
page_row_cells(struct page_buf *b, const json_t *o)
{
	for (size_t k = 0; k < PAGE_NCOLS; k++)
		page_cell(b, o, page_cols[k].path, page_cols[k].fmt);
	page_puts(b, "</tr>\n");
}

/* The table of days. */
static void
page_days(struct page_buf *b, const json_t *days)
{
	size_t i;
	json_t *d;

	page_puts(b, "<section>\n<h2>Daily figures</h2>\n");
	page_table_head(b, "days", "Date");
	json_array_foreach(days, i, d) {
		page_puts(b, "<tr data-date=\"");
		page_esc(b, page_str(d, "date", ""));
		page_puts(b, "\"><td>");
		page_esc(b, page_str(d, "date", ""));
		page_puts(b, "</td>");
		page_row_cells(b, d);
	}
	page_puts(b, "</tbody>\n</table>\n</section>\n");
}

/* The table of products. */
static void
page_products(struct page_buf *b, const json_t *products)
{
	size_t i;
	json_t *p;

	page_puts(b, "<section>\n<h2>Products</h2>\n");
	page_table_head(b, "products", "Product");
	json_array_foreach(products, i, p) {
		const char *id = page_str(p, "product_id", "");

		page_puts(b, "<tr data-product-id=\"");
		page_esc(b, id);
		page_puts(b, "\"><td>");
		page_esc(b, page_str(p, "name", id));
		page_puts(b, "</td>");
		page_row_cells(b, p);
	}
	if (json_array_size(products) == 0)
		page_printf(b, "<tr><td colspan=\"%zu\" class=\"muted\">no "
		    "products yet</td></tr>\n", PAGE_NCOLS + 1);
	page_puts(b, "</tbody>\n</table>\n</section>\n");
}

/* One flagged check of a diagnosis. */
static void
page_finding(struct page_buf *b, const json_t *dg, const json_t *ck)
{
	const char *verdict = page_str(ck, "verdict", "");
	const char *product = page_str(dg, "product_id", NULL);

	page_puts(b, "<li data-verdict=\"");
	page_esc(b, verdict);
	page_puts(b, "\" data-metric=\"");
	page_esc(b, page_str(ck, "metric", ""));
	page_puts(b, "\" data-date=\"");
	page_esc(b, page_str(dg, "date", ""));
	page_puts(b, "\" data-product-id=\"");
	page_esc(b, product != NULL ? product : "");
	page_printf(b, "\"><strong class=\"%s\">Unusually %s</strong> "
	    "&middot; ", strcmp(verdict, "strong") == 0 ? "strong" : "weak",
	    strcmp(verdict, "strong") == 0 ? "strong" : "weak");
	page_esc(b, page_str(dg, "date", ""));
	page_puts(b, " &middot; ");
	if (product != NULL) {
		page_puts(b, "product ");
		page_esc(b, product);
	} else
		page_puts(b, "whole plan");
	page_puts(b, ": ");
	page_esc(b, page_str(ck, "reason", ""));
	page_puts(b, "</li>\n");
}

/* The diagnosis list: flagged checks, then a count of the others. */
static void
page_diagnosis(struct page_buf *b, const json_t *diagnosis)
{
	size_t i, j, other = 0, flagged = 0;
	json_t *dg, *ck;

	page_puts(b, "<section>\n<h2>Diagnosis</h2>\n<ul id=\"diagnosis\">\n");
	json_array_foreach(diagnosis, i, dg)
		json_array_foreach(json_object_get(dg, "checks"), j, ck) {
			const char *v = page_str(ck, "verdict", "");

			if (strcmp(v, "strong") == 0 ||
			    strcmp(v, "weak") == 0) {
				page_finding(b, dg, ck);
				flagged++;
			} else
				other++;
		}
	page_printf(b, "<li class=\"muted\" data-verdict=\"none\">%s%zu "
	    "other check%s normal or without enough history</li>\n",
	    flagged == 0 ? "Nothing unusual. " : "", other,
	    other == 1 ? "" : "s");
	page_puts(b, "</ul>\n</section>\n");
}

/* A recommendation's discount cell. */
static void
page_rec_pct(struct page_buf *b, const json_t *p, const char *key)
{
	char raw[PAGE_NUM_MAX];
	double v = 0;
	int has = page_num(p, key, &v);

	page_raw(raw, sizeof(raw), has, v);
	if (has)
		page_printf(b, "<td data-field=\"%s\" data-value=\"%s\">%.2f%%"
		    "</td>", key, raw, v);
	else
		page_printf(b, "<td data-field=\"%s\" data-value=\"\">&mdash;"
		    "</td>", key);
}

/* A recommendation's tool mix cell. */
static void
page_rec_tools(struct page_buf *b, const json_t *p)
{
	size_t i;
	json_t *t;
	double share = 0;

	page_puts(b, "<td data-field=\"tools\">");
	json_array_foreach(json_object_get(p, "tools"), i, t) {
		page_puts(b, i > 0 ? ", " : "");
		page_esc(b, page_str(t, "tool", ""));
		if (page_num(t, "share_pct", &share))
			page_printf(b, " %.0f%%", share);
	}
	page_puts(b, "</td>");
}

/* One recommended product. */
static void
page_rec_row(struct page_buf *b, const json_t *p)
{
	const json_t *ex = json_object_get(p, "expected");

	page_puts(b, "<tr data-product-id=\"");
	page_esc(b, page_str(p, "product_id", ""));
	page_puts(b, "\"><td>");
	page_esc(b, page_str(p, "product_id", ""));
	page_puts(b, "</td><td>");
	page_esc(b, page_str(p, "category", ""));
	page_puts(b, "</td>");
	page_rec_pct(b, p, "discount_min_pct");
	page_rec_pct(b, p, "discount_max_pct");
	page_rec_pct(b, p, "best_pct");
	page_rec_tools(b, p);
	page_cell(b, ex, "extra_orders_per_1000_views", PAGE_RATIO);
	page_cell(b, ex, "extra_gmv_per_1000_views", PAGE_MONEY);
	page_cell(b, ex, "roi", PAGE_RATIO);
	page_cell(b, ex, "incremental_roi", PAGE_RATIO);
	page_puts(b, "<td><details><summary>");
	page_esc(b, page_str(p, "lift_from", ""));
	page_puts(b, "</summary>");
	page_esc(b, page_str(p, "assumptions", ""));
	page_puts(b, "</details></td></tr>\n");
}

/* One recommendation set; the first table is #recommendations. */
static void
page_rec_set(struct page_buf *b, const json_t *rec, size_t nth)
{
	size_t i;
	json_t *p;

	page_puts(b, "<section class=\"rec\" data-recommendation-id=\"");
	page_esc(b, page_str(rec, "recommendation_id", ""));
	page_puts(b, "\">\n<p class=\"meta\">Recommendation <code>");
	page_esc(b, page_str(rec, "recommendation_id", ""));
	page_puts(b, "</code> of ");
	page_esc(b, page_str(rec, "date", ""));
	page_puts(b, " &middot; apply with POST /v1/recommendations/");
	page_esc(b, page_str(rec, "recommendation_id", ""));
	if (nth == 0)
		page_puts(b, "/apply</p>\n<table id=\"recommendations\">\n");
	else
		page_printf(b, "/apply</p>\n<table "
		    "id=\"recommendations-%zu\">\n", nth + 1);
	page_puts(b, "<thead><tr>"
	    "<th>Product</th><th>Category</th><th>Min</th><th>Max</th>"
	    "<th>Best</th><th>Tools</th><th>Extra orders / 1,000 views</th>"
	    "<th>Extra GMV / 1,000 views</th><th>ROI</th>"
	    "<th>Incremental ROI</th><th>Based on</th></tr></thead>\n"
	    "<tbody>\n");
	json_array_foreach(json_object_get(rec, "products"), i, p)
		page_rec_row(b, p);
	page_puts(b, "</tbody>\n</table>\n</section>\n");
}

/* The recommendations: one object or an array of them. */
static void
page_recommendations(struct page_buf *b, const json_t *recs)
{
	size_t i;
	json_t *r;

	page_puts(b, "<section id=\"recommended\">\n<h2>Recommended "
	    "strategies</h2>\n");
	if (json_is_object(recs))
		page_rec_set(b, recs, 0);
	else if (json_is_array(recs) && json_array_size(recs) > 0)
		json_array_foreach(recs, i, r)
			page_rec_set(b, r, i);
	else
		page_puts(b, "<p class=\"muted\">No recommendation yet.</p>\n");
	page_puts(b, "</section>\n");
}

/* The seller's page of a plan. */
char *
page_plan_html(const json_t *plan, const json_t *days,
    const json_t *products, const json_t *diagnosis,
    const json_t *recommendations)
{
	struct page_buf b = { NULL, 0, 0, 0 };

	if (!json_is_object(plan))
		return NULL;
	if (!json_is_array(days))
		days = NULL;
	page_head(&b, plan);
	page_header(&b, plan);
	page_kpis(&b, plan, days);
	page_charts(&b, plan, days);
	page_products(&b, products);
	page_diagnosis(&b, diagnosis);
	page_recommendations(&b, recommendations);
	page_days(&b, days);
	page_puts(&b, "</main>\n</body>\n</html>\n");
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
