/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay.c - smartpromo-replay: a closed-loop market simulation that drives
 * a running smartpromod through Kafka and its admin API, and prints per
 * simulated day what happened.
 *
 * It loads a product sample (data/online-retail-products.csv, derived from
 * UCI Online Retail), announces the products as `product` events, creates a
 * custom plan over them, then for each simulated day produces page views in
 * one-hour slices, waits for the daemon's offers, lets each shopper decide
 * under a hidden demand model whether to buy, produces the orders and reads
 * the day's figures back from GET /v1/plans/{id}/metrics.  At the end it
 * checks that every offer was inside the plan's range, that the daemon
 * counted every order and that it made offers at all; any failure exits 1.
 * Days whose ROI fell below the plan's floor are marked (information, not
 * a failure).  docs/demo.md describes the demand model and the table.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "engine.h"
#include "httpc.h"
#include "rng.h"

#define DAY_MS          86400000LL
#define HOUR_MS         3600000LL
#define MINUTE_MS       60000LL
#define SLICES_PER_DAY  24
#define MAX_FIELDS      16
#define ID_LEN          64
#define ERR_LEN         512
#define HTTP_TIMEOUT_MS 10000
#define BETA_NEW        6.0     /* discount response of new shoppers */
#define BETA_RETURNING  3.0     /* ... and of returning ones */
#define BASE_MIN        0.01    /* clip of a product's base conversion */
#define BASE_MAX        0.20
#define P_MAX           0.95    /* cap of any purchase probability */
#define REPLAY_SHOP_SPS 4.5     /* the shop event's score (min_sps 3.5) */
#define REPLAY_SHOP_ORDERS_90D 500      /* ... and orders_90d (min 30) */

struct opts {
	const char *brokers, *url, *input_topic, *offers_topic;
	const char *data, *customers, *shop, *token;
	int days, views_per_day, shoppers, stock, quiet;
	double min_pct, max_pct, holdout_pct, conversion_pct;
	uint64_t seed;
	int offer_wait_ms, idle_ms, settle_ms;
};

struct product {
	char id[ID_LEN];
	int64_t list_price;
	double olpd;            /* real order lines per day */
	long customers;         /* real distinct buyers in the window */
	int64_t listed_at;      /* first sale, epoch ms */
	double base;            /* hidden: conversion per view at list price */
	double views_per_day;   /* expected simulated views */
};

struct shopper {
	char id[16];
	int returning;          /* hidden: has bought from the shop */
	int holdout;            /* in the daemon's control group */
	double cum;             /* cumulative draw weight */
};

struct view {
	int64_t ts;
	uint64_t seq;
	int prod, shopper;
	int want_offer;         /* not in the holdout: the daemon should offer */
	int has_offer;
	int32_t bps;
	int64_t offer_price, expires_at;
	char offer_id[ID_LEN];
};

/* What one day (or the whole run) looked like from the simulator's side. */
struct tally {
	long views, views_t, views_c, offers, late_offers;
	long orders, orders_t, orders_c, orders_offer;
	int64_t gmv, gmv_c, cost, bps_sum;
};

/* The daemon's figures for one day or for the plan. */
struct dfig {
	int found;
	long views, offers, orders, views_c, orders_c;
	int64_t gmv, cost, gmv_c;
	double roi;             /* < 0: null */
};

struct sim {
	struct opts o;
	struct product *p;
	size_t np;
	struct shopper *s;
	size_t ns;
	rd_kafka_t *prod, *cons;
	long dr_errors;
	char dr_err[ERR_LEN];
	struct rng traffic;
	char plan_id[ID_LEN];
	int64_t plan_start, sim_start;
	int32_t min_bps, max_bps;
	double roi_target;      /* the plan's floor, < 0: unknown */
	long days_below;        /* days whose daemon ROI was below the floor */
	double roi_low;         /* the lowest daily ROI, < 0: none yet */
	uint64_t seq;           /* ids of produced events */
	uint64_t vseq;          /* views drawn, for per-view randomness */
	long violations, offers_any;
	long produced;          /* events sent to the input topic */
	long status_base;       /* the daemon's event count before; -1: none */
	struct view *v;
	size_t nv, vcap;
	struct tally day, total;
};

/* Print a message to stderr unless --quiet. */

/* Format an error message into err (truncated to fit). */
static void __attribute__((format(printf, 3, 4)))
replay_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
replay_info(const struct sim *sm, const char *fmt, ...)
{
	va_list ap;

	if (sm->o.quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print the usage text. */
static void
replay_usage(FILE *f)
{
	fprintf(f,
	    "usage: smartpromo-replay [--brokers B] [--url URL] "
	    "[--input-topic T]\n"
	    "        [--offers-topic T] [--data FILE] [--customers FILE] "
	    "[--days N]\n"
	    "        [--views-per-day N] [--shoppers N] [--shop ID] "
	    "[--min PCT] [--max PCT]\n"
	    "        [--seed S] [--holdout-pct P] [--conversion PCT] "
	    "[--stock N]\n"
	    "        [--offer-wait-ms MS] [--quiet]\n");
}

/* The defaults of every option. */
static void
replay_opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->brokers = "127.0.0.1:9092";
	o->url = getenv("SMARTPROMO_URL") ? getenv("SMARTPROMO_URL") :
	    "http://127.0.0.1:8470";
	o->token = getenv("SMARTPROMO_TOKEN");
	o->input_topic = "smartpromo.events";
	o->offers_topic = "smartpromo.offers";
	o->data = "data/online-retail-products.csv";
	o->shop = "uk-retail";
	o->days = 14;
	o->views_per_day = 3000;
	o->shoppers = 5000;
	o->stock = 500;
	o->min_pct = 5;
	o->max_pct = 30;
	o->holdout_pct = 5;
	o->conversion_pct = 5;
	o->seed = 1;
	o->offer_wait_ms = 10000;
	o->idle_ms = 1000;
	o->settle_ms = 10000;
}

/* Parse a number option within bounds; 0 or -1. */
static int
replay_num(const char *name, const char *s, double lo, double hi,
    double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || *out < lo || *out > hi) {
		fprintf(stderr, "smartpromo-replay: option \"%s\" must be a "
		    "number in [%g, %g]\n", name, lo, hi);
		return -1;
	}
	return 0;
}

static const struct option replay_longopts[] = {
	{ "brokers", required_argument, NULL, 'b' },
	{ "url", required_argument, NULL, 'u' },
	{ "input-topic", required_argument, NULL, 'i' },
	{ "offers-topic", required_argument, NULL, 'o' },
	{ "data", required_argument, NULL, 'd' },
	{ "customers", required_argument, NULL, 'c' },
	{ "days", required_argument, NULL, 'n' },
	{ "views-per-day", required_argument, NULL, 'v' },
	{ "shoppers", required_argument, NULL, 'S' },
	{ "shop", required_argument, NULL, 's' },
	{ "min", required_argument, NULL, 'm' },
	{ "max", required_argument, NULL, 'M' },
	{ "seed", required_argument, NULL, 'r' },
	{ "holdout-pct", required_argument, NULL, 'H' },
	{ "conversion", required_argument, NULL, 'C' },
	{ "stock", required_argument, NULL, 'k' },
	{ "offer-wait-ms", required_argument, NULL, 'w' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The bounds of each numeric option, by its short code. */
static const struct {
	int c;
	double lo, hi;
} replay_bounds[] = {
	{ 'n', 1, 365 }, { 'v', 1, 1e7 }, { 'S', 1, 1e7 }, { 'm', 0.01, 100 },
	{ 'M', 0.01, 100 }, { 'r', 0, 9e15 }, { 'H', 0, 50 },
	{ 'C', 0.01, 100 }, { 'k', 0, 1e9 }, { 'w', 0, 600000 }
};

/* The long name of an option, for messages. */
static const char *
replay_opt_name(int c)
{
	size_t i;

	for (i = 0; replay_longopts[i].name != NULL; i++)
		if (replay_longopts[i].val == c)
			return replay_longopts[i].name;
	return "?";
}

/* Apply one numeric option; 0 or -1. */
static int
replay_opt_num(struct opts *o, int c, const char *arg)
{
	double x = 0;
	size_t i;

	for (i = 0; i < sizeof(replay_bounds) / sizeof(replay_bounds[0]); i++)
		if (replay_bounds[i].c == c)
			break;
	if (i == sizeof(replay_bounds) / sizeof(replay_bounds[0]) ||
	    replay_num(replay_opt_name(c), arg, replay_bounds[i].lo,
	    replay_bounds[i].hi, &x) == -1)
		return -1;
	switch (c) {
	case 'n': o->days = (int)x; break;
	case 'v': o->views_per_day = (int)x; break;
	case 'S': o->shoppers = (int)x; break;
	case 'm': o->min_pct = x; break;
	case 'M': o->max_pct = x; break;
	case 'r': o->seed = (uint64_t)x; break;
	case 'H': o->holdout_pct = x; break;
	case 'C': o->conversion_pct = x; break;
	case 'k': o->stock = (int)x; break;
	case 'w': o->offer_wait_ms = (int)x; break;
	}
	return 0;
}

/* Parse the command line; 0, or -1 (message printed). */
static int
replay_opts_parse(struct opts *o, int argc, char **argv)
{
	int c;

	replay_opts_defaults(o);
	while ((c = getopt_long(argc, argv, "qh", replay_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'b': o->brokers = optarg; break;
		case 'u': o->url = optarg; break;
		case 'i': o->input_topic = optarg; break;
		case 'o': o->offers_topic = optarg; break;
		case 'd': o->data = optarg; break;
		case 'c': o->customers = optarg; break;
		case 's': o->shop = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'h': replay_usage(stdout); exit(0);
		case '?': replay_usage(stderr); return -1;
		default:
			if (replay_opt_num(o, c, optarg) == -1)
				return -1;
		}
	}
	if (optind != argc || o->min_pct > o->max_pct) {
		fprintf(stderr, "smartpromo-replay: %s\n", optind != argc ?
		    "unexpected arguments" : "\"--min\" is above \"--max\"");
		return -1;
	}
	return 0;
}

/* Split a CSV line in place (RFC 4180 quoting); the number of fields. */
static int
replay_csv_split(char *line, char **f, int max)
{
	char *r = line, *w = line;
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		int quoted = *r == '"';

		f[n++] = w;
		if (quoted)
			r++;
		while (*r != '\0') {
			if (quoted && r[0] == '"' && r[1] == '"')
				r++;
			else if (quoted && *r == '"') {
				quoted = 0;
				r++;
				continue;
			} else if (!quoted && *r == ',')
				break;
			*w++ = *r++;
		}
		if (*r != ',') {
			*w = '\0';
			break;
		}
		*w++ = '\0';
		r++;
	}
	return n;
}

/* Epoch ms of midnight UTC of a YYYY-MM-DD date; -1 if malformed. */
static int64_t
replay_date_ms(const char *s)
{
	struct tm tm;
	int y, m, d;

	if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (int64_t)timegm(&tm) * 1000;
}

/* The UTC date of an epoch ms time, as YYYY-MM-DD. */
static void
replay_ms_date(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* Fill one product from the fields of a sample row; 0 or -1. */
static int
replay_product_parse(struct product *p, char **f, int nf)
{
	if (nf < 7 || strlen(f[0]) == 0 || strlen(f[0]) >= ID_LEN)
		return -1;
	snprintf(p->id, sizeof(p->id), "%s", f[0]);
	p->list_price = strtoll(f[2], NULL, 10);
	p->olpd = strtod(f[4], NULL);
	p->customers = strtol(f[5], NULL, 10);
	p->listed_at = replay_date_ms(f[6]);
	if (p->list_price <= 0 || p->olpd <= 0 || p->customers <= 0 ||
	    p->listed_at < 0)
		return -1;
	return 0;
}

/* Load the product sample; 0 or -1 with err. */
static int
replay_products_load(struct sim *sm, const char *path, char *err,
    size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024], *fld[MAX_FIELDS];
	size_t cap = 0, lineno = 0;

	if (f == NULL) {
		replay_err(err, errlen, "cannot open \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		int nf = replay_csv_split(line, fld, MAX_FIELDS);

		if (lineno++ == 0)
			continue;
		if (sm->np == cap) {
			cap = cap ? cap * 2 : 256;
			sm->p = realloc(sm->p, cap * sizeof(*sm->p));
			if (sm->p == NULL)
				abort();
		}
		if (replay_product_parse(&sm->p[sm->np], fld, nf) == -1) {
			replay_err(err, errlen, "\"%s\" line %zu: bad product "
			    "row", path, lineno);
			fclose(f);
			return -1;
		}
		sm->np++;
	}
	fclose(f);
	if (sm->np == 0)
		replay_err(err, errlen, "\"%s\" holds no products", path);
	return sm->np > 0 ? 0 : -1;
}

/*
 * The hidden market per product: expected views in proportion to its real
 * reach (distinct buyers), and a base conversion such that the shop as a
 * whole converts at --conversion while each product keeps its real ratio of
 * order lines to buyers.
 */
static void
replay_products_model(struct sim *sm)
{
	double lines = 0, cust = 0, c0 = sm->o.conversion_pct / 100;
	size_t i;

	for (i = 0; i < sm->np; i++) {
		lines += sm->p[i].olpd;
		cust += (double)sm->p[i].customers;
	}
	for (i = 0; i < sm->np; i++) {
		struct product *p = &sm->p[i];
		double rel = (p->olpd / (double)p->customers) / (lines / cust);

		p->views_per_day = sm->o.views_per_day *
		    (double)p->customers / cust;
		p->base = fmin(BASE_MAX, fmax(BASE_MIN, c0 * rel));
	}
}

/* One histogram row of the customer file. */
struct crow {
	int past;
	double orders, count;
};

/* Load the customer histogram; the number of rows, or -1 with err. */
static int
replay_customers_load(const char *path, struct crow *rows, int max,
    char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[256], *fld[MAX_FIELDS];
	int n = 0, lineno = 0;

	if (f == NULL) {
		replay_err(err, errlen, "cannot open \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		if (replay_csv_split(line, fld, MAX_FIELDS) < 3 ||
		    lineno++ == 0)
			continue;
		rows[n].past = atoi(fld[0]) != 0;
		rows[n].orders = strtod(fld[1], NULL);
		rows[n].count = strtod(fld[2], NULL);
		if (rows[n].orders > 0 && rows[n].count > 0)
			n++;
	}
	fclose(f);
	if (n == 0)
		replay_err(err, errlen, "\"%s\" holds no customer rows", path);
	return n > 0 ? n : -1;
}

/* The customer file next to the product file, unless given. */
static void
replay_customers_path(const struct opts *o, char *buf, size_t len)
{
	const char *slash = strrchr(o->data, '/');

	if (o->customers != NULL)
		snprintf(buf, len, "%s", o->customers);
	else if (slash == NULL)
		snprintf(buf, len, "online-retail-customers.csv");
	else
		snprintf(buf, len, "%.*s/online-retail-customers.csv",
		    (int)(slash - o->data), o->data);
}

/* Index of a histogram row drawn in proportion to its customer count. */
static int
replay_crow_draw(const struct crow *rows, int n, double total, double u)
{
	double acc = 0;
	int i;

	for (i = 0; i < n - 1; i++) {
		acc += rows[i].count;
		if (u * total < acc)
			return i;
	}
	return n - 1;
}

/*
 * Build the shopper pool: each shopper copies a real window customer drawn
 * from the histogram (returning if that customer had ordered before the
 * window; drawn to view in proportion to the customer's orders).
 */
static int
replay_pool_build(struct sim *sm, char *err, size_t errlen)
{
	struct crow rows[512];
	char path[1024];
	double total = 0, cum = 0;
	int n, i;
	struct rng r;

	replay_customers_path(&sm->o, path, sizeof(path));
	if ((n = replay_customers_load(path, rows, 512, err, errlen)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		total += rows[i].count;
	sm->ns = (size_t)sm->o.shoppers;
	if ((sm->s = calloc(sm->ns, sizeof(*sm->s))) == NULL)
		abort();
	rng_seed(&r, rng_mix(sm->o.seed ^ 0x5350504f4f4cULL));
	for (i = 0; i < (int)sm->ns; i++) {
		const struct crow *c = &rows[replay_crow_draw(rows, n, total,
		    rng_uniform(&r))];

		snprintf(sm->s[i].id, sizeof(sm->s[i].id), "c-%05d", i + 1);
		sm->s[i].returning = c->past;
		sm->s[i].holdout = engine_in_holdout(sm->s[i].id,
		    sm->o.holdout_pct);
		cum += c->orders;
		sm->s[i].cum = cum;
	}
	return 0;
}

/* Draw a shopper in proportion to its weight. */
static int
replay_pool_draw(const struct sim *sm, double u)
{
	double x = u * sm->s[sm->ns - 1].cum;
	size_t lo = 0, hi = sm->ns - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sm->s[mid].cum > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (int)lo;
}

/* A Poisson draw (Knuth for small means, normal beyond). */
static long
replay_poisson(struct rng *r, double lambda)
{
	double l, p = 1;
	long k = 0;

	if (lambda <= 0)
		return 0;
	if (lambda > 30) {
		double x = lambda + sqrt(lambda) * rng_normal(r) + 0.5;

		return x < 0 ? 0 : (long)x;
	}
	l = exp(-lambda);
	do {
		k++;
		p *= rng_uniform(r);
	} while (p > l);
	return k - 1;
}

/* A uniform in [0, 1) fixed by the seed, a stream and an index. */
static double
replay_u(uint64_t seed, uint64_t stream, uint64_t i)
{
	uint64_t x = rng_mix(seed ^ rng_mix(stream ^ rng_mix(i)));

	return (double)(x >> 11) * 0x1.0p-53;
}

/* Wall-clock time, epoch ms. */
static int64_t
replay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic time, ms. */
static int64_t
replay_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Delivery report: count failures, keep the first reason. */
static void
replay_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct sim *sm = opaque;

	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (sm->dr_errors++ == 0)
		snprintf(sm->dr_err, sizeof(sm->dr_err), "%s",
		    rd_kafka_err2str(m->err));
}

/* Set one librdkafka property; 0 or -1 with err. */
static int
replay_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
    char *err, size_t errlen)
{
	return rd_kafka_conf_set(conf, k, v, err, errlen) == RD_KAFKA_CONF_OK ?
	    0 : -1;
}

/* The producer of input events; 0 or -1 with err. */
static int
replay_producer_new(struct sim *sm, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (replay_conf_set(conf, "bootstrap.servers", sm->o.brokers, err,
	    errlen) || replay_conf_set(conf, "linger.ms", "5", err, errlen) ||
	    replay_conf_set(conf, "enable.idempotence", "true", err, errlen) ||
	    replay_conf_set(conf, "client.id", "smartpromo-replay", err,
	    errlen)) {
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, replay_dr_cb);
	rd_kafka_conf_set_opaque(conf, sm);
	sm->prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
	return sm->prod != NULL ? 0 : -1;
}

/* The number of partitions of a topic; -1 with err. */
static int
replay_partitions(rd_kafka_t *rk, const char *topic, char *err,
    size_t errlen)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e;
	int n = -1;

	e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		replay_err(err, errlen, "metadata of \"%s\": %s", topic,
		    rd_kafka_err2str(e));
	} else if (md->topic_cnt != 1 || md->topics[0].err ||
	    md->topics[0].partition_cnt == 0) {
		replay_err(err, errlen, "topic \"%s\" does not exist", topic);
		rd_kafka_metadata_destroy(md);
	} else {
		n = md->topics[0].partition_cnt;
		rd_kafka_metadata_destroy(md);
	}
	rd_kafka_topic_destroy(rkt);
	return n;
}

/* Assign every partition of the offers topic at its current end. */
static int
replay_assign_end(struct sim *sm, char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;
	int n, i;

	n = replay_partitions(sm->cons, sm->o.offers_topic, err, errlen);
	if (n == -1)
		return -1;
	l = rd_kafka_topic_partition_list_new(n);
	for (i = 0; i < n; i++) {
		int64_t lo, hi;

		e = rd_kafka_query_watermark_offsets(sm->cons,
		    sm->o.offers_topic, i, &lo, &hi, 10000);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			replay_err(err, errlen, "offsets of \"%s\" [%d]: %s",
			    sm->o.offers_topic, i, rd_kafka_err2str(e));
			rd_kafka_topic_partition_list_destroy(l);
			return -1;
		}
		rd_kafka_topic_partition_list_add(l, sm->o.offers_topic,
		    i)->offset = hi;
	}
	e = rd_kafka_assign(sm->cons, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		replay_err(err, errlen, "assign: %s", rd_kafka_err2str(e));
	return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* The consumer of offers, positioned at the end; 0 or -1 with err. */
static int
replay_consumer_new(struct sim *sm, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (replay_conf_set(conf, "bootstrap.servers", sm->o.brokers, err,
	    errlen) ||
	    replay_conf_set(conf, "group.id", "smartpromo-replay", err,
	    errlen) ||
	    replay_conf_set(conf, "enable.auto.commit", "false", err,
	    errlen) ||
	    replay_conf_set(conf, "fetch.wait.max.ms", "20", err, errlen)) {
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	sm->cons = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
	if (sm->cons == NULL)
		return -1;
	rd_kafka_poll_set_consumer(sm->cons);
	return replay_assign_end(sm, err, errlen);
}

/* Queue one JSON event on the input topic (the value is copied). */
static int
replay_produce(struct sim *sm, const char *key, json_t *ev)
{
	char *buf = json_dumps(ev, JSON_COMPACT);
	rd_kafka_resp_err_t e;

	json_decref(ev);
	if (buf == NULL)
		return -1;
	for (;;) {
		e = rd_kafka_producev(sm->prod,
		    RD_KAFKA_V_TOPIC(sm->o.input_topic),
		    RD_KAFKA_V_KEY(key, strlen(key)),
		    RD_KAFKA_V_VALUE(buf, strlen(buf)),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(sm->prod, 50);
	}
	free(buf);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		sm->produced++;
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR && sm->dr_errors++ == 0)
		snprintf(sm->dr_err, sizeof(sm->dr_err), "%s",
		    rd_kafka_err2str(e));
	return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* Wait until everything queued is delivered; 0 or -1 with err. */
static int
replay_flush(struct sim *sm, char *err, size_t errlen)
{
	if (rd_kafka_flush(sm->prod, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		replay_err(err, errlen, "producer flush timed out");
		return -1;
	}
	if (sm->dr_errors > 0) {
		replay_err(err, errlen, "%ld events not delivered to \"%s\": %s",
		    sm->dr_errors, sm->o.input_topic, sm->dr_err);
		return -1;
	}
	return 0;
}

/* The fields every event has. */
static json_t *
replay_event(const struct sim *sm, const char *type, const char *event_id,
    int64_t ts)
{
	return json_pack("{s:s, s:s, s:I, s:s}", "type", type,
	    "event_id", event_id, "ts", (json_int_t)ts, "shop_id", sm->o.shop);
}

/* The shop's figures, so that it may create plans ([plans] min_sps and
 * min_orders_90d): a good score and a shop with steady orders. */
static int
replay_send_shop(struct sim *sm, int64_t ts)
{
	char eid[128];
	json_t *ev;

	snprintf(eid, sizeof(eid), "replay-%" PRId64 "-shop", ts);
	ev = replay_event(sm, "shop", eid, ts);
	json_object_set_new(ev, "sps", json_real(REPLAY_SHOP_SPS));
	json_object_set_new(ev, "orders_90d",
	    json_integer(REPLAY_SHOP_ORDERS_90D));
	return replay_produce(sm, sm->o.shop, ev);
}

/* Announce the shop and every product of the sample. */
static int
replay_send_products(struct sim *sm, int64_t ts, char *err, size_t errlen)
{
	char eid[128];
	size_t i;

	if (replay_send_shop(sm, ts) == -1)
		return replay_flush(sm, err, errlen);
	for (i = 0; i < sm->np; i++) {
		json_t *ev;

		snprintf(eid, sizeof(eid), "replay-%" PRId64 "-p%zu", ts, i);
		ev = replay_event(sm, "product", eid, ts);
		json_object_set_new(ev, "product_id", json_string(sm->p[i].id));
		json_object_set_new(ev, "price",
		    json_integer(sm->p[i].list_price));
		json_object_set_new(ev, "stock", json_integer(sm->o.stock));
		json_object_set_new(ev, "listed_at",
		    json_integer(sm->p[i].listed_at));
		if (replay_produce(sm, sm->p[i].id, ev) == -1)
			break;
	}
	return replay_flush(sm, err, errlen);
}

/* One HTTP call to the admin API; the parsed body or NULL with err. */
static json_t *
replay_http(const struct sim *sm, const char *method, const char *path,
    const char *body, int *status, char *err, size_t errlen)
{
	struct httpc_response r;
	json_error_t je;
	json_t *j;

	if (httpc_request(sm->o.url, method, path, body, sm->o.token,
	    HTTP_TIMEOUT_MS, &r, err, errlen) == -1)
		return NULL;
	*status = r.status;
	j = json_loadb(r.body, r.len, 0, &je);
	if (j == NULL)
		replay_err(err, errlen, "%s %s: status %d, body not JSON: "
		    "%.100s", method, path, r.status, r.body);
	httpc_response_release(&r);
	return j;
}

/* The POST /v1/plans body: a custom plan over the whole sample. */
static char *
replay_plan_body(const struct sim *sm)
{
	json_t *b, *prods = json_array();
	char name[128], *s;
	size_t i;

	for (i = 0; i < sm->np; i++)
		json_array_append_new(prods, json_string(sm->p[i].id));
	snprintf(name, sizeof(name), "smartpromo-replay seed %" PRIu64,
	    sm->o.seed);
	/* one day more than simulated (the days start at the next midnight),
	   and at least the API's minimum of 7 */
	b = json_pack("{s:s, s:s, s:o, s:i, s:f, s:f}", "name", name,
	    "shop_id", sm->o.shop, "products", prods,
	    "days", sm->o.days + 1 < 7 ? 7 : sm->o.days + 1,
	    "discount_min_pct", sm->o.min_pct,
	    "discount_max_pct", sm->o.max_pct);
	s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

/* Take plan_id and start from a created plan; 0 or -1 with err. */
static int
replay_plan_take(struct sim *sm, json_t *plan, char *err, size_t errlen)
{
	const char *id = json_string_value(json_object_get(plan, "plan_id"));
	json_t *start = json_object_get(plan, "start");
	json_t *roi = json_object_get(plan, "roi_target");

	if (id == NULL || strlen(id) >= sizeof(sm->plan_id) ||
	    !json_is_integer(start)) {
		replay_err(err, errlen, "plan without \"plan_id\" or \"start\"");
		return -1;
	}
	snprintf(sm->plan_id, sizeof(sm->plan_id), "%s", id);
	sm->plan_start = json_integer_value(start);
	sm->sim_start = (sm->plan_start + DAY_MS - 1) / DAY_MS * DAY_MS;
	sm->min_bps = (int32_t)lround(sm->o.min_pct * 100);
	sm->max_bps = (int32_t)lround(sm->o.max_pct * 100);
	sm->roi_target = json_is_number(roi) ? json_number_value(roi) : -1;
	return 0;
}

/*
 * Create the plan.  A 422 that names a product or the shop event is retried
 * for a while: the daemon may not have applied those events yet.
 */
static int
replay_plan_create(struct sim *sm, char *err, size_t errlen)
{
	char *body = replay_plan_body(sm);
	int64_t until = replay_mono_ms() + sm->o.settle_ms;
	int status = 0, rc = -1;
	const char *msg;
	json_t *j;

	for (;;) {
		j = replay_http(sm, "POST", "/v1/plans", body, &status, err,
		    errlen);
		if (j != NULL && status == 201) {
			rc = replay_plan_take(sm, j, err, errlen);
			break;
		}
		msg = json_string_value(json_object_get(j, "error"));
		if (j != NULL)
			replay_err(err, errlen, "POST /v1/plans: %d %s", status,
			    msg ? msg : "(no error message)");
		if (status != 422 || msg == NULL || (strstr(msg, "product") ==
		    NULL && strstr(msg, "\"shop\" event") == NULL) ||
		    replay_mono_ms() > until)
			break;
		json_decref(j);
		usleep(250 * 1000);
	}
	json_decref(j);
	free(body);
	return rc;
}

/* Next id of this run, unique per plan. */
static void
replay_id(struct sim *sm, const char *kind, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s%" PRIu64, sm->plan_id, kind, ++sm->seq);
}

/* Order views by time, then by sequence. */
static int
replay_view_cmp(const void *a, const void *b)
{
	const struct view *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Append one view to the slice. */
static struct view *
replay_view_add(struct sim *sm)
{
	if (sm->nv == sm->vcap) {
		sm->vcap = sm->vcap ? sm->vcap * 2 : 1024;
		sm->v = realloc(sm->v, sm->vcap * sizeof(*sm->v));
		if (sm->v == NULL)
			abort();
	}
	memset(&sm->v[sm->nv], 0, sizeof(sm->v[0]));
	return &sm->v[sm->nv++];
}

/* Draw the views of one hour slice starting at t0, in time order. */
static void
replay_slice_views(struct sim *sm, int64_t t0)
{
	size_t i;

	sm->nv = 0;
	for (i = 0; i < sm->np; i++) {
		long k = replay_poisson(&sm->traffic,
		    sm->p[i].views_per_day / SLICES_PER_DAY);

		while (k-- > 0) {
			struct view *v = replay_view_add(sm);

			v->seq = ++sm->vseq;
			v->prod = (int)i;
			v->ts = t0 + (int64_t)(rng_uniform(&sm->traffic) *
			    HOUR_MS);
			v->shopper = replay_pool_draw(sm,
			    rng_uniform(&sm->traffic));
			v->want_offer = !sm->s[v->shopper].holdout;
		}
	}
	qsort(sm->v, sm->nv, sizeof(*sm->v), replay_view_cmp);
}

/* Produce the slice's page views; 0 or -1 with err. */
static int
replay_send_views(struct sim *sm, char *err, size_t errlen)
{
	char eid[128];
	size_t i;

	for (i = 0; i < sm->nv; i++) {
		const struct view *v = &sm->v[i];
		json_t *ev;

		replay_id(sm, "v", eid, sizeof(eid));
		ev = replay_event(sm, "page_view", eid, v->ts);
		json_object_set_new(ev, "product_id",
		    json_string(sm->p[v->prod].id));
		json_object_set_new(ev, "customer_id",
		    json_string(sm->s[v->shopper].id));
		if (replay_produce(sm, sm->p[v->prod].id, ev) == -1)
			break;
		sm->day.views++;
		if (v->want_offer)
			sm->day.views_t++;
		else
			sm->day.views_c++;
	}
	return replay_flush(sm, err, errlen);
}

/* An integer member of an object, or -1. */
static int64_t
replay_jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Check an offer against the plan's range; 1 if it violates it. */
static int
replay_offer_violates(const struct sim *sm, const char *prod, int64_t list,
    int64_t price, int64_t bps)
{
	int64_t lo, hi;

	if (bps < sm->min_bps || bps > sm->max_bps || list <= 0 ||
	    price < 0 || price > list) {
		if (!sm->o.quiet)
			fprintf(stderr, "violation: offer for \"%s\" at %"
			    PRId64 " bps (%" PRId64 " -> %" PRId64 ")\n",
			    prod, bps, list, price);
		return 1;
	}
	/* the price itself: within the range, one minor unit of rounding */
	lo = list - (list * sm->max_bps + 9999) / 10000 - 1;
	hi = list - list * sm->min_bps / 10000 + 1;
	if (price < lo || price > hi) {
		if (!sm->o.quiet)
			fprintf(stderr, "violation: offer price %" PRId64
			    " of \"%s\" outside [%" PRId64 ", %" PRId64 "]\n",
			    price, prod, lo, hi);
		return 1;
	}
	return 0;
}

/* Attach an offer to the first waiting view it answers; 1 if matched. */
static int
replay_offer_match(struct sim *sm, json_t *o)
{
	const char *cust = json_string_value(json_object_get(o, "customer_id"));
	const char *prod = json_string_value(json_object_get(o, "product_id"));
	const char *oid = json_string_value(json_object_get(o, "offer_id"));
	size_t i;

	if (cust == NULL || prod == NULL || oid == NULL)
		return 0;
	for (i = 0; i < sm->nv; i++) {
		struct view *v = &sm->v[i];

		if (v->has_offer || strcmp(sm->s[v->shopper].id, cust) != 0 ||
		    strcmp(sm->p[v->prod].id, prod) != 0)
			continue;
		v->has_offer = 1;
		v->bps = (int32_t)replay_jint(o, "discount_bps");
		v->offer_price = replay_jint(o, "offer_price");
		v->expires_at = replay_jint(o, "expires_at");
		snprintf(v->offer_id, sizeof(v->offer_id), "%s", oid);
		return 1;
	}
	return 0;
}

/* Handle one message of the offers topic; 1 if it matched a view. */
static int
replay_offer_handle(struct sim *sm, const rd_kafka_message_t *m)
{
	json_t *o = json_loadb(m->payload, m->len, 0, NULL);
	const char *type, *plan, *prod;
	int matched = 0;

	type = json_string_value(json_object_get(o, "type"));
	plan = json_string_value(json_object_get(o, "plan_id"));
	prod = json_string_value(json_object_get(o, "product_id"));
	if (type != NULL && strcmp(type, "offer") == 0 && plan != NULL &&
	    strcmp(plan, sm->plan_id) == 0) {
		sm->offers_any++;
		sm->day.offers++;
		sm->day.bps_sum += replay_jint(o, "discount_bps");
		sm->violations += replay_offer_violates(sm, prod ? prod : "?",
		    replay_jint(o, "list_price"), replay_jint(o, "offer_price"),
		    replay_jint(o, "discount_bps"));
		matched = replay_offer_match(sm, o);
		if (!matched)
			sm->day.late_offers++;
	}
	json_decref(o);
	return matched;
}

/* The number of views in the slice that wait for an offer. */
static size_t
replay_waiting(const struct sim *sm)
{
	size_t i, n = 0;

	for (i = 0; i < sm->nv; i++)
		if (sm->v[i].want_offer && !sm->v[i].has_offer)
			n++;
	return n;
}

/*
 * The number of input events the daemon has finished (applied, offers
 * delivered, or dead-lettered), from GET /v1/status; -1 if unavailable.
 */
static long
replay_status_count(const struct sim *sm)
{
	static const char *keys[] = { "product", "page_view", "order",
	    "dead_letters" };
	char err[ERR_LEN];
	json_t *j, *ev;
	long n = 0;
	int status = 0;
	size_t i;

	j = replay_http(sm, "GET", "/v1/status", NULL, &status, err,
	    sizeof(err));
	ev = json_object_get(j, "events");
	if (status != 200 || !json_is_object(ev))
		n = -1;
	for (i = 0; n >= 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
		n += (long)json_integer_value(json_object_get(ev, keys[i]));
	json_decref(j);
	return n;
}

/* Nonzero once the daemon has finished every event we produced. */
static int
replay_caught_up(const struct sim *sm)
{
	long n;

	if (sm->status_base < 0 || (n = replay_status_count(sm)) < 0)
		return 0;
	return n - sm->status_base >= sm->produced;
}

/* Read one offer message if one comes within 20 ms; 1 if one came. */
static int
replay_poll_offer(struct sim *sm, size_t *waiting)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(sm->cons, 20);

	if (m == NULL)
		return 0;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		*waiting -= (size_t)replay_offer_handle(sm, m);
	rd_kafka_message_destroy(m);
	return 1;
}

/*
 * Read offers until every view that should get one got one, or the daemon
 * says (GET /v1/status) it has finished every event we sent and no offer
 * came for 100 ms more, or offer_wait_ms passes.  Without /v1/status, a
 * quiet spell of idle_ms after the daemon was seen answering ends the wait.
 */
static void
replay_collect_offers(struct sim *sm)
{
	int64_t start = replay_mono_ms(), last = start, check = start;
	int64_t done_at = -1;
	size_t waiting = replay_waiting(sm);

	while (waiting > 0) {
		int64_t now = replay_mono_ms();

		if (now - start >= sm->o.offer_wait_ms ||
		    (done_at >= 0 && now - last >= 100) ||
		    (sm->status_base < 0 && sm->offers_any > 0 &&
		    now - last >= sm->o.idle_ms))
			break;
		if (replay_poll_offer(sm, &waiting))
			last = replay_mono_ms();
		if (done_at < 0 && now - check >= 100) {
			check = now;
			if (replay_caught_up(sm))
				done_at = last = replay_mono_ms();
		}
	}
}

/* Drain offers already waiting in the consumer, without blocking. */
static void
replay_drain_offers(struct sim *sm)
{
	rd_kafka_message_t *m;

	while ((m = rd_kafka_consumer_poll(sm->cons, 0)) != NULL) {
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
			replay_offer_handle(sm, m);
		rd_kafka_message_destroy(m);
	}
}

/* The hidden purchase probability of a view and what it would pay. */
static double
replay_buy_p(const struct sim *sm, const struct view *v, int64_t order_ts,
    int64_t *paid, int *used)
{
	const struct product *p = &sm->p[v->prod];
	double beta, f;

	*paid = p->list_price;
	*used = 0;
	if (!v->has_offer || v->offer_price < 0 || v->offer_price >
	    p->list_price || (v->expires_at > 0 && order_ts > v->expires_at))
		return p->base;
	*paid = v->offer_price;
	*used = 1;
	f = (double)(p->list_price - v->offer_price) / (double)p->list_price;
	beta = sm->s[v->shopper].returning ? BETA_RETURNING : BETA_NEW;
	return fmin(P_MAX, p->base * exp(beta * f));
}

/* Produce the order line of a view that bought. */
static int
replay_send_order(struct sim *sm, const struct view *v, int64_t ts,
    int64_t paid, int used)
{
	const struct product *p = &sm->p[v->prod];
	char oid[128], eid[160];
	json_t *ev;

	replay_id(sm, "o", oid, sizeof(oid));
	snprintf(eid, sizeof(eid), "%s-e", oid);
	ev = replay_event(sm, "order", eid, ts);
	json_object_set_new(ev, "order_id", json_string(oid));
	json_object_set_new(ev, "product_id", json_string(p->id));
	json_object_set_new(ev, "customer_id",
	    json_string(sm->s[v->shopper].id));
	json_object_set_new(ev, "qty", json_integer(1));
	json_object_set_new(ev, "unit_price", json_integer(p->list_price));
	json_object_set_new(ev, "paid_unit_price", json_integer(paid));
	if (used)
		json_object_set_new(ev, "offer_id", json_string(v->offer_id));
	return replay_produce(sm, p->id, ev);
}

/* Count an order line in the day's tally. */
static void
replay_tally_order(struct tally *t, const struct view *v, int64_t list,
    int64_t paid, int used)
{
	t->orders++;
	if (v->want_offer)
		t->orders_t++;
	else {
		t->orders_c++;
		t->gmv_c += paid;
	}
	t->gmv += paid;
	if (used) {
		t->orders_offer++;
		t->cost += list - paid;
	}
}

/*
 * Let every viewer of the slice decide; buyers order 1 to 30 minutes after
 * the view, within the same day.  Orders go out in view order.
 */
static int
replay_decide(struct sim *sm, int64_t day_end, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sm->nv; i++) {
		struct view *v = &sm->v[i];
		int64_t paid, ts;
		int used;
		double p;

		ts = v->ts + MINUTE_MS + (int64_t)(replay_u(sm->o.seed, 2,
		    v->seq) * 29 * MINUTE_MS);
		if (ts >= day_end)
			ts = day_end - 1;
		p = replay_buy_p(sm, v, ts, &paid, &used);
		if (replay_u(sm->o.seed, 1, v->seq) >= p)
			continue;
		if (replay_send_order(sm, v, ts, paid, used) == -1)
			break;
		replay_tally_order(&sm->day, v, sm->p[v->prod].list_price,
		    paid, used);
		sm->s[v->shopper].returning = 1;
	}
	return replay_flush(sm, err, errlen);
}

/* Read the daemon's figures from a metrics day or plan totals object. */
static void
replay_dfig_read(struct dfig *d, json_t *o)
{
	json_t *c = json_object_get(o, "control"), *roi;

	memset(d, 0, sizeof(*d));
	d->found = json_is_object(o);
	d->views = (long)replay_jint(o, "page_views");
	d->offers = (long)replay_jint(o, "offers");
	d->orders = (long)replay_jint(o, "orders");
	d->gmv = replay_jint(o, "gmv");
	d->cost = replay_jint(o, "promotion_cost");
	roi = json_object_get(o, "roi");
	d->roi = json_is_number(roi) ? json_number_value(roi) : -1;
	d->views_c = (long)replay_jint(c, "page_views");
	d->orders_c = (long)replay_jint(c, "orders");
	d->gmv_c = replay_jint(c, "gmv");
}

/* GET the daemon's figures for one date; found = 0 if it has none. */
static void
replay_day_fetch(const struct sim *sm, const char *date, struct dfig *d)
{
	char path[256], err[ERR_LEN];
	json_t *j, *days, *day;
	int status = 0;
	size_t i;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "/v1/plans/%s/metrics?from=%s&to=%s",
	    sm->plan_id, date, date);
	if ((j = replay_http(sm, "GET", path, NULL, &status, err,
	    sizeof(err))) == NULL)
		return;
	days = json_object_get(j, "days");
	json_array_foreach(days, i, day) {
		const char *dd = json_string_value(json_object_get(day,
		    "date"));

		if (status == 200 && dd != NULL && strcmp(dd, date) == 0)
			replay_dfig_read(d, day);
	}
	json_decref(j);
}

/* GET the plan's live totals; found = 0 on failure. */
static void
replay_totals_fetch(const struct sim *sm, struct dfig *d)
{
	char path[256], err[ERR_LEN];
	json_t *j;
	int status = 0;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "/v1/plans/%s", sm->plan_id);
	if ((j = replay_http(sm, "GET", path, NULL, &status, err,
	    sizeof(err))) == NULL)
		return;
	if (status == 200)
		replay_dfig_read(d, json_object_get(j, "totals"));
	json_decref(j);
}

/*
 * Poll the daemon (one date, or the totals when date is NULL) until it has
 * counted the orders the simulator sent, or settle_ms passes.
 */
static void
replay_settle(struct sim *sm, const char *date, long orders, struct dfig *d)
{
	int64_t until = replay_mono_ms() + sm->o.settle_ms;

	for (;;) {
		if (date != NULL)
			replay_day_fetch(sm, date, d);
		else
			replay_totals_fetch(sm, d);
		if ((d->found && d->orders + d->orders_c >= orders) ||
		    replay_mono_ms() > until)
			break;
		replay_drain_offers(sm);
		usleep(200 * 1000);
	}
}

/* Money in minor units as major.minor. */
static void
replay_money(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRId64 ".%02" PRId64, v / 100, v % 100);
}

/* A count, or "-" when unknown. */
static void
replay_count(char *buf, size_t len, long v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%ld", v);
}

/* Print s centred in a field of width w. */
static void
replay_centre(const char *s, int w)
{
	int n = (int)strlen(s), left = (w - n) / 2;

	printf("%*s%s%*s", left, "", s, w - n - left, "");
}

/* A rate as a percentage, or 0 for no denominator. */
static double
replay_pct(double num, double den)
{
	return den > 0 ? 100 * num / den : 0;
}

/* The table header. */
static void
replay_header(void)
{
	printf("%14s | ", "");
	replay_centre("daemon: treatment", 49);
	printf(" | ");
	replay_centre("daemon: control", 22);
	printf(" | ");
	replay_centre("treatment", 13);
	printf(" |      simulator\n");
	printf("%3s %-10s | %6s %6s %6s %10s %9s %7s | %5s %6s %9s |"
	    " %6s %6s | %6s %6s %6s\n", "day", "date", "views", "offers",
	    "orders", "GMV", "cost", "ROI ", "views", "orders", "GMV", "mean%",
	    "conv%", "views", "offers", "orders");
}

/* Nonzero when a day's ROI lies below the plan's floor. */
static int
replay_below_floor(const struct sim *sm, const struct dfig *d)
{
	return d->found && d->roi >= 0 && sm->roi_target > 0 &&
	    d->roi < sm->roi_target;
}

/* Count a day's ROI against the floor, for the summary. */
static void
replay_floor_count(struct sim *sm, const struct dfig *d)
{
	if (!d->found || d->roi < 0)
		return;
	if (replay_below_floor(sm, d))
		sm->days_below++;
	if (sm->roi_low < 0 || d->roi < sm->roi_low)
		sm->roi_low = d->roi;
}

/* One table row: the daemon's figures d beside the simulator's t; a ROI
 * below the plan's floor is marked "*". */
static void
replay_row(const struct sim *sm, const char *label, const char *date,
    const struct dfig *d, const struct tally *t)
{
	char v[24], of[24], or[24], g[24], c[24], roi[16], vc[24], oc[24];
	char gc[24], disc[16], conv[16];
	int k = d->found;

	replay_count(v, sizeof(v), k ? d->views : -1);
	replay_count(of, sizeof(of), k ? d->offers : -1);
	replay_count(or, sizeof(or), k ? d->orders : -1);
	replay_money(g, sizeof(g), k ? d->gmv : -1);
	replay_money(c, sizeof(c), k ? d->cost : -1);
	if (k && d->roi >= 0)
		snprintf(roi, sizeof(roi), "%.2f%c", d->roi,
		    replay_below_floor(sm, d) ? '*' : ' ');
	else
		snprintf(roi, sizeof(roi), "- ");
	replay_count(vc, sizeof(vc), k ? d->views_c : -1);
	replay_count(oc, sizeof(oc), k ? d->orders_c : -1);
	replay_money(gc, sizeof(gc), k ? d->gmv_c : -1);
	if (t->offers > 0)
		snprintf(disc, sizeof(disc), "%.1f",
		    (double)t->bps_sum / (double)t->offers / 100);
	else
		snprintf(disc, sizeof(disc), "-");
	if (t->views_t > 0)
		snprintf(conv, sizeof(conv), "%.2f", replay_pct(
		    (double)t->orders_t, (double)t->views_t));
	else
		snprintf(conv, sizeof(conv), "-");
	printf("%3s %-10s | %6s %6s %6s %10s %9s %7s | %5s %6s %9s |"
	    " %6s %6s | %6ld %6ld %6ld\n", label, date, v, of, or, g, c, roi,
	    vc, oc, gc, disc, conv, t->views, t->offers, t->orders);
	fflush(stdout);
}

/* Add a day's tally to the run's. */
static void
replay_tally_add(struct tally *a, const struct tally *b)
{
	a->views += b->views;
	a->views_t += b->views_t;
	a->views_c += b->views_c;
	a->offers += b->offers;
	a->late_offers += b->late_offers;
	a->orders += b->orders;
	a->orders_t += b->orders_t;
	a->orders_c += b->orders_c;
	a->orders_offer += b->orders_offer;
	a->gmv += b->gmv;
	a->gmv_c += b->gmv_c;
	a->cost += b->cost;
	a->bps_sum += b->bps_sum;
}

/* One hour slice: views, offers, decisions. */
static int
replay_slice(struct sim *sm, int64_t t0, int64_t day_end, char *err,
    size_t errlen)
{
	replay_slice_views(sm, t0);
	if (replay_send_views(sm, err, errlen) == -1)
		return -1;
	replay_collect_offers(sm);
	return replay_decide(sm, day_end, err, errlen);
}

/* Simulate day d and print its row. */
static int
replay_day(struct sim *sm, int d, char *err, size_t errlen)
{
	int64_t t0 = sm->sim_start + (int64_t)d * DAY_MS;
	char date[16], label[16];
	struct dfig fig;
	int h;

	memset(&sm->day, 0, sizeof(sm->day));
	replay_ms_date(t0, date, sizeof(date));
	for (h = 0; h < SLICES_PER_DAY; h++)
		if (replay_slice(sm, t0 + h * HOUR_MS, t0 + DAY_MS, err,
		    errlen) == -1)
			return -1;
	replay_settle(sm, date, sm->day.orders, &fig);
	snprintf(label, sizeof(label), "%d", d + 1);
	replay_row(sm, label, date, &fig, &sm->day);
	replay_floor_count(sm, &fig);
	replay_tally_add(&sm->total, &sm->day);
	return 0;
}

/* The simulator's totals and the conversion per view of both groups. */
static void
replay_summary_sim(const struct sim *sm)
{
	const struct tally *t = &sm->total;
	char gt[24], gc[24], c[24];

	replay_money(gt, sizeof(gt), t->gmv - t->gmv_c);
	replay_money(gc, sizeof(gc), t->gmv_c);
	replay_money(c, sizeof(c), t->cost);
	printf("\nsimulator: %ld views, %ld offers (%ld late), %ld orders "
	    "(%ld with an offer)\n", t->views, t->offers, t->late_offers,
	    t->orders, t->orders_offer);
	printf("simulator: GMV %s treatment + %s control, promotion cost %s",
	    gt, gc, c);
	if (t->cost > 0)
		printf(", ROI %.2f", (double)(t->gmv - t->gmv_c) /
		    (double)t->cost);
	printf("\nconversion per view: treatment %.2f%% (%ld/%ld), control "
	    "%.2f%% (%ld/%ld, holdout %g%%)\n",
	    replay_pct((double)t->orders_t, (double)t->views_t), t->orders_t,
	    t->views_t, replay_pct((double)t->orders_c, (double)t->views_c),
	    t->orders_c, t->views_c, sm->o.holdout_pct);
}

/* Compare the daemon's totals with the simulator's (information only). */
static void
replay_summary_compare(const struct sim *sm, const struct dfig *d)
{
	const struct tally *t = &sm->total;

	if (!d->found) {
		printf("daemon: no totals from GET /v1/plans/%s\n",
		    sm->plan_id);
		return;
	}
	printf("daemon vs simulator: orders %ld/%ld, treatment GMV %" PRId64
	    "/%" PRId64 ", promotion cost %" PRId64 "/%" PRId64 ", control "
	    "GMV %" PRId64 "/%" PRId64 " (minor units)%s\n",
	    d->orders + d->orders_c, t->orders, d->gmv, t->gmv - t->gmv_c,
	    d->cost, t->cost, d->gmv_c, t->gmv_c,
	    d->gmv == t->gmv - t->gmv_c && d->cost == t->cost &&
	    d->gmv_c == t->gmv_c ? "" : "  (money differs)");
}

/* The closing summary and checks; the exit status. */
static int
replay_summary(struct sim *sm, const struct dfig *tot)
{
	long dorders = tot->found ? tot->orders + tot->orders_c : -1;
	int rc = 0;

	replay_summary_sim(sm);
	replay_summary_compare(sm, tot);
	if (sm->roi_target > 0 && sm->roi_low >= 0)
		printf("days with ROI below the floor of %g: %ld of %d "
		    "(lowest %.2f)\n", sm->roi_target, sm->days_below,
		    sm->o.days, sm->roi_low);
	printf("offers outside %g-%g%%: %ld of %ld\n", sm->o.min_pct,
	    sm->o.max_pct, sm->violations, sm->total.offers);
	if (sm->total.views_t > 0 && sm->total.offers == 0) {
		printf("FAIL: no offer for any of the %ld treatment views\n",
		    sm->total.views_t);
		rc = 1;
	}
	if (sm->violations > 0) {
		printf("FAIL: %ld offers outside the plan's range\n",
		    sm->violations);
		rc = 1;
	}
	if (dorders != sm->total.orders) {
		printf("FAIL: the daemon counted %ld orders, the simulator "
		    "sent %ld\n", dorders, sm->total.orders);
		rc = 1;
	}
	if (rc == 0)
		printf("OK: every offer inside the range, every order "
		    "counted\n");
	return rc;
}

/* End the plan so that the products are free for another run. */
static void
replay_plan_end(const struct sim *sm)
{
	char path[256], err[ERR_LEN];
	int status = 0;
	json_t *j;

	snprintf(path, sizeof(path), "/v1/plans/%s/end", sm->plan_id);
	j = replay_http(sm, "POST", path, "{}", &status, err, sizeof(err));
	if (j == NULL || status != 200)
		fprintf(stderr, "smartpromo-replay: could not end plan "
		    "\"%s\": %s\n", sm->plan_id, j ? "bad status" : err);
	json_decref(j);
}

/* Load the sample and connect; 0 or -1 with err. */
static int
replay_setup(struct sim *sm, char *err, size_t errlen)
{
	if (replay_products_load(sm, sm->o.data, err, errlen) == -1 ||
	    replay_pool_build(sm, err, errlen) == -1)
		return -1;
	replay_products_model(sm);
	rng_seed(&sm->traffic, rng_mix(sm->o.seed));
	if (replay_producer_new(sm, err, errlen) == -1 ||
	    replay_consumer_new(sm, err, errlen) == -1)
		return -1;
	return 0;
}

/* Announce the products and create the plan; 0 or -1 with err. */
static int
replay_start(struct sim *sm, char *err, size_t errlen)
{
	long ret = 0, hold = 0;
	size_t i;

	for (i = 0; i < sm->ns; i++) {
		ret += sm->s[i].returning;
		hold += sm->s[i].holdout;
	}
	replay_info(sm, "smartpromo-replay: %zu products from \"%s\", %zu "
	    "shoppers (%ld past buyers, %ld in the holdout), %d views/day, "
	    "%d days, seed %" PRIu64, sm->np, sm->o.data, sm->ns, ret, hold,
	    sm->o.views_per_day, sm->o.days, sm->o.seed);
	sm->status_base = replay_status_count(sm);
	if (sm->status_base < 0)
		replay_info(sm, "no event counts in GET /v1/status: waiting "
		    "for offers by time");
	if (replay_send_products(sm, replay_now_ms(), err, errlen) == -1 ||
	    replay_plan_create(sm, err, errlen) == -1)
		return -1;
	replay_info(sm, "plan \"%s\": discount %g-%g%%, created at %" PRId64
	    "; simulated days start %" PRId64 " (UTC midnight)\n", sm->plan_id,
	    sm->o.min_pct, sm->o.max_pct, sm->plan_start, sm->sim_start);
	return 0;
}

/* Run every day and the final checks; the exit status. */
static int
replay_run(struct sim *sm, char *err, size_t errlen)
{
	struct dfig tot;
	int d, rc;

	replay_header();
	for (d = 0; d < sm->o.days; d++)
		if (replay_day(sm, d, err, errlen) == -1)
			return -1;
	replay_settle(sm, NULL, sm->total.orders, &tot);
	replay_drain_offers(sm);
	replay_row(sm, "all", "", &tot, &sm->total);
	if (sm->roi_target > 0)
		printf("(ROI*: below the plan's floor of %g; see docs/demo.md)"
		    "\n", sm->roi_target);
	rc = replay_summary(sm, &tot);
	replay_plan_end(sm);
	return rc;
}

/* Free everything. */
static void
replay_release(struct sim *sm)
{
	if (sm->cons != NULL) {
		rd_kafka_consumer_close(sm->cons);
		rd_kafka_destroy(sm->cons);
	}
	if (sm->prod != NULL) {
		rd_kafka_flush(sm->prod, 5000);
		rd_kafka_destroy(sm->prod);
	}
	free(sm->p);
	free(sm->s);
	free(sm->v);
}

int
main(int argc, char **argv)
{
	struct sim sm;
	char err[ERR_LEN] = "";
	int rc;

	memset(&sm, 0, sizeof(sm));
	sm.roi_target = -1;
	sm.roi_low = -1;
	if (replay_opts_parse(&sm.o, argc, argv) == -1)
		return 2;
	if (replay_setup(&sm, err, sizeof(err)) == -1 ||
	    replay_start(&sm, err, sizeof(err)) == -1 ||
	    (rc = replay_run(&sm, err, sizeof(err))) == -1) {
		fprintf(stderr, "smartpromo-replay: %s\n", err);
		replay_release(&sm);
		return 1;
	}
	replay_release(&sm);
	return rc;
}
