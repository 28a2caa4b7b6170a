/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim.c - smartpromo-sim, the decision-quality benchmark.
 *
 * A simulated promotion market (products, new and returning shoppers, a
 * hidden demand curve per product and segment, orders that arrive minutes
 * to a day after the view) is played in a closed loop against several
 * pricing policies on the same shopper stream: no promotion, a uniformly
 * random level, every static level (the best one picked with hindsight),
 * epsilon-greedy, smartpromo (the real engine: engine_apply() on in-memory
 * product state and plan, with offer records and learner state
 * round-tripped through their stored form as the daemon does) and an
 * oracle that knows the demand curves (the best per-day randomised policy
 * under the ROI floor, and the budget if any: a small LP solved exactly).
 * A second mode plays the 4-price Bernoulli instance of Ferreira,
 * Simchi-Levi and Wang (2018) with its inventory constraint and LP bound.
 *
 * Everything is deterministic by seed.  Exit status 1 on a range
 * violation (an offer outside the plan's range) or an internal mismatch,
 * 2 on a usage or scenario error.  docs/simulator.md describes the
 * scenario format, the demand model, the policies and the output.
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "engine.h"
#include "pacing.h"
#include "plan.h"
#include "rng.h"

#define SIM_MAX_SEEDS 16
#define SIM_FMAX 8              /* Ferreira prices */
#define SIM_LPMAX 16            /* options per LP context */
#define SIM_DAY_MS PLAN_DAY_MS
#define SIM_MIN_MS 60000LL
#define SIM_EPSILON 0.1         /* epsilon-greedy exploration */
#define SIM_EG_ETA 0.1          /* epsilon-greedy dual step per order */
#define SIM_NPOL 6
#define SIM_ORACLE_SLOTS 24     /* the oracle re-solves every hour */

enum sim_model { SIM_LOGISTIC, SIM_EXPONENTIAL };

/* A scenario file, parsed. */
struct sim_scn {
	char path[256];
	char name[64];
	char start[16];
	int days, views_per_day;
	uint64_t seeds[SIM_MAX_SEEDS];
	int nseeds;
	int nproducts;
	double price_min, price_max, popularity;
	int ncustomers;
	double returning_share, delay_min, delay_max;
	int honour_expiry;              /* 1: an expired offer is not used */
	int model;
	double base[PLAN_CONTEXTS], elast[PLAN_CONTEXTS];
	double product_sd, elasticity_sd;
	int drift_day;
	double drift_scale[PLAN_CONTEXTS], drift_shift;
	double min_pct, max_pct, roi_target, holdout_pct;
	int64_t budget;
	int levels;
	double prior_conversion, prior_strength, half_life_hours;
	double ttl_minutes, attribution_hours;
	int ferreira, f_periods, f_nprice, f_nprob;
	double f_alpha, f_price[SIM_FMAX], f_prob[SIM_FMAX];
};

/* ---- scenario file -------------------------------------------------- */

enum sim_kt { SK_INT, SK_DBL, SK_I64, SK_STR, SK_SEEDS, SK_MODEL, SK_PRICES,
    SK_PROBS };

struct sim_key {
	const char *section, *key;
	enum sim_kt type;
	size_t off, size;
};

#define SK(sec, k, t, f) { sec, k, t, offsetof(struct sim_scn, f), \
	sizeof(((struct sim_scn *)0)->f) }

static const struct sim_key sim_keys[] = {
	SK("scenario", "name", SK_STR, name),
	SK("scenario", "days", SK_INT, days),
	SK("scenario", "views_per_day", SK_INT, views_per_day),
	SK("scenario", "seeds", SK_SEEDS, seeds),
	SK("scenario", "start", SK_STR, start),
	SK("products", "count", SK_INT, nproducts),
	SK("products", "price_min", SK_DBL, price_min),
	SK("products", "price_max", SK_DBL, price_max),
	SK("products", "popularity", SK_DBL, popularity),
	SK("shoppers", "count", SK_INT, ncustomers),
	SK("shoppers", "returning_share", SK_DBL, returning_share),
	SK("shoppers", "delay_min_minutes", SK_DBL, delay_min),
	SK("shoppers", "delay_max_minutes", SK_DBL, delay_max),
	SK("shoppers", "honour_expiry", SK_INT, honour_expiry),
	SK("demand", "model", SK_MODEL, model),
	SK("demand", "new_base", SK_DBL, base[0]),
	SK("demand", "new_elasticity", SK_DBL, elast[0]),
	SK("demand", "ret_base", SK_DBL, base[1]),
	SK("demand", "ret_elasticity", SK_DBL, elast[1]),
	SK("demand", "product_sd", SK_DBL, product_sd),
	SK("demand", "elasticity_sd", SK_DBL, elasticity_sd),
	SK("drift", "day", SK_INT, drift_day),
	SK("drift", "new_elasticity_scale", SK_DBL, drift_scale[0]),
	SK("drift", "ret_elasticity_scale", SK_DBL, drift_scale[1]),
	SK("drift", "base_shift", SK_DBL, drift_shift),
	SK("plan", "min_pct", SK_DBL, min_pct),
	SK("plan", "max_pct", SK_DBL, max_pct),
	SK("plan", "roi_target", SK_DBL, roi_target),
	SK("plan", "budget", SK_I64, budget),
	SK("plan", "holdout_pct", SK_DBL, holdout_pct),
	SK("engine", "levels", SK_INT, levels),
	SK("engine", "prior_conversion", SK_DBL, prior_conversion),
	SK("engine", "prior_strength", SK_DBL, prior_strength),
	SK("engine", "decay_half_life_hours", SK_DBL, half_life_hours),
	SK("engine", "offer_ttl_minutes", SK_DBL, ttl_minutes),
	SK("engine", "attribution_hours", SK_DBL, attribution_hours),
	SK("ferreira", "periods", SK_INT, f_periods),
	SK("ferreira", "alpha", SK_DBL, f_alpha),
	SK("ferreira", "prices", SK_PRICES, f_price),
	SK("ferreira", "probs", SK_PROBS, f_prob),
};

/* The defaults of every key (docs/simulator.md). */
static void
sim_scn_defaults(struct sim_scn *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", "unnamed");
	snprintf(s->start, sizeof(s->start), "%s", "2026-11-02");
	s->days = 14;
	s->views_per_day = 20000;
	s->seeds[0] = 1, s->seeds[1] = 2, s->seeds[2] = 3;
	s->nseeds = 3;
	s->nproducts = 50;
	s->price_min = 1000;
	s->price_max = 20000;
	s->popularity = 0.8;
	s->ncustomers = 20000;
	s->returning_share = 0.3;
	s->delay_min = 5;
	s->delay_max = 1440;
	s->base[0] = 0.03, s->elast[0] = 4.0;
	s->base[1] = 0.06, s->elast[1] = 2.0;
	s->product_sd = 0.3;
	s->elasticity_sd = 0.2;
	s->drift_day = -1;
	s->drift_scale[0] = s->drift_scale[1] = 1.0;
	s->min_pct = 5, s->max_pct = 30, s->roi_target = 5;
	s->holdout_pct = 5;
	s->levels = 5;
	s->prior_conversion = 0.05, s->prior_strength = 20;
	s->half_life_hours = 168;
	s->ttl_minutes = 1440, s->attribution_hours = 72;
	s->f_periods = 10000, s->f_alpha = 0.25;
}

/* Parse a comma list of numbers into v (at most max); count or -1. */
static int
sim_parse_list(const char *val, double *v, int max)
{
	int n = 0;
	char *end;

	for (;;) {
		if (n == max)
			return -1;
		v[n++] = strtod(val, &end);
		if (end == val)
			return -1;
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end == '\0')
			return n;
		if (*end != ',')
			return -1;
		val = end + 1;
	}
}

/* Store one typed value; 0 or -1. */
static int
sim_set_key(struct sim_scn *s, const struct sim_key *k, const char *val)
{
	char *p = (char *)s + k->off, *end;
	double v[SIM_MAX_SEEDS];
	int n;

	switch (k->type) {
	case SK_INT:
		*(int *)p = (int)strtol(val, &end, 10);
		return *end == '\0' && end != val ? 0 : -1;
	case SK_DBL:
		*(double *)p = strtod(val, &end);
		return *end == '\0' && end != val && isfinite(*(double *)p) ?
		    0 : -1;
	case SK_I64:
		*(int64_t *)p = strtoll(val, &end, 10);
		return *end == '\0' && end != val ? 0 : -1;
	case SK_STR:
		if (strlen(val) >= k->size || val[0] == '\0')
			return -1;
		memcpy(p, val, strlen(val) + 1);
		return 0;
	case SK_MODEL:
		if (strcmp(val, "logistic") != 0 &&
		    strcmp(val, "exponential") != 0)
			return -1;
		*(int *)p = val[0] == 'l' ? SIM_LOGISTIC : SIM_EXPONENTIAL;
		return 0;
	case SK_SEEDS:
		if ((n = sim_parse_list(val, v, SIM_MAX_SEEDS)) < 1)
			return -1;
		for (int i = 0; i < n; i++) {
			if (v[i] < 0 || v[i] != floor(v[i]))
				return -1;
			s->seeds[i] = (uint64_t)v[i];
		}
		s->nseeds = n;
		return 0;
	case SK_PRICES:
	case SK_PROBS:
		if ((n = sim_parse_list(val, (double *)p, SIM_FMAX)) < 1)
			return -1;
		*(k->type == SK_PRICES ? &s->f_nprice : &s->f_nprob) = n;
		return 0;
	}
	return -1;
}

/* The key of a section by name (it exists). */
static const struct sim_key *
sim_key_find(const char *section, const char *key)
{
	size_t i = 0;

	while (strcmp(sim_keys[i].section, section) != 0 ||
	    strcmp(sim_keys[i].key, key) != 0)
		i++;
	return &sim_keys[i];
}

/* Strip a comment and surrounding blanks in place. */
static char *
sim_trim(char *l)
{
	char *e;

	if ((e = strpbrk(l, "#;")) != NULL)
		*e = '\0';
	while (*l == ' ' || *l == '\t')
		l++;
	e = l + strlen(l);
	while (e > l && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return l;
}

/* One "key = value" line of section sec; 0 or -1 with err. */
static int
sim_scn_line(struct sim_scn *s, const char *sec, char *l, char *err,
    size_t errlen)
{
	char *eq = strchr(l, '='), *key, *val;

	if (eq == NULL) {
		snprintf(err, errlen, "expected \"key = value\"");
		return -1;
	}
	*eq = '\0';
	key = sim_trim(l);
	val = sim_trim(eq + 1);
	for (size_t i = 0; i < sizeof(sim_keys) / sizeof(sim_keys[0]); i++) {
		if (strcmp(sim_keys[i].section, sec) != 0 ||
		    strcmp(sim_keys[i].key, key) != 0)
			continue;
		if (sim_set_key(s, &sim_keys[i], val) == -1) {
			snprintf(err, errlen, "bad value \"%s\" for \"%s\"",
			    val, key);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown key \"%s\" in [%s]", key, sec);
	return -1;
}

/* Parse the text of a scenario file; 0 or -1 with err ("line N: ..."). */
static int
sim_scn_parse(struct sim_scn *s, char *text, char *err, size_t errlen)
{
	char sec[32] = "", msg[200], *line, *next;
	int lineno = 0;

	for (line = text; line != NULL; line = next) {
		char *l;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		l = sim_trim(line);
		if (*l == '\0')
			continue;
		if (*l == '[') {
			char *e = strchr(l, ']');

			if (e == NULL || e[1] != '\0' || e - l - 1 >=
			    (long)sizeof(sec)) {
				snprintf(err, errlen, "line %d: bad section",
				    lineno);
				return -1;
			}
			*e = '\0';
			snprintf(sec, sizeof(sec), "%s", l + 1);
			if (strcmp(sec, "ferreira") == 0)
				s->ferreira = 1;
			continue;
		}
		if (sim_scn_line(s, sec, l, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "line %d: %s", lineno, msg);
			return -1;
		}
	}
	return 0;
}

/* The first broken rule of a market scenario, or NULL. */
static const char *
sim_scn_check_market(const struct sim_scn *s)
{
	if (s->days < 6 || s->days > 364)
		return "\"days\" must be from 6 to 364";
	if (pacing_day(s->start) == 0)
		return "\"start\" must be a date, YYYY-MM-DD";
	if (s->views_per_day < 1 || s->views_per_day > 10000000)
		return "\"views_per_day\" must be from 1 to 10000000";
	if (s->nproducts < 1 || s->nproducts > PLAN_MAX_PRODUCTS)
		return "\"count\" of [products] must be from 1 to 10000";
	if (!(s->price_min >= 1 && s->price_max >= s->price_min))
		return "prices must satisfy 1 <= price_min <= price_max";
	if (s->ncustomers < 1 || s->popularity < 0)
		return "[shoppers] count must be >= 1, popularity >= 0";
	if (!(s->returning_share >= 0 && s->returning_share <= 1) ||
	    !(s->delay_min > 0 && s->delay_max >= s->delay_min &&
	    s->delay_max <= 1440))
		return "returning_share in 0..1, 0 < delay_min <= delay_max "
		    "<= 1440";
	if (s->honour_expiry != 0 && s->honour_expiry != 1)
		return "\"honour_expiry\" must be 0 or 1";
	for (int g = 0; g < PLAN_CONTEXTS; g++)
		if (!(s->base[g] > 0 && s->base[g] < 1) || s->elast[g] < 0 ||
		    s->drift_scale[g] < 0)
			return "bases in (0, 1), elasticities and scales >= 0";
	if (!(s->min_pct > 0 && s->max_pct >= s->min_pct &&
	    s->max_pct <= 95))
		return "the plan range must satisfy 0 < min_pct <= max_pct "
		    "<= 95";
	if (!(s->roi_target >= 1 && s->roi_target <= 100) ||
	    !(s->holdout_pct >= 0 && s->holdout_pct <= 50) || s->budget < 0)
		return "roi_target in 1..100, holdout_pct in 0..50, budget "
		    ">= 0";
	if (s->levels < 1 || s->levels > PLAN_MAX_LEVELS)
		return "\"levels\" must be from 1 to 8";
	if (!(s->ttl_minutes >= 1) || !(s->attribution_hours >= 1))
		return "offer_ttl_minutes and attribution_hours must be >= 1";
	return NULL;
}

/* The first broken rule of a Ferreira scenario, or NULL. */
static const char *
sim_scn_check_ferreira(const struct sim_scn *s)
{
	if (s->f_periods < 1 || s->f_periods > 100000000)
		return "\"periods\" must be from 1 to 100000000";
	if (!(s->f_alpha > 0 && s->f_alpha <= 1))
		return "\"alpha\" must be in (0, 1]";
	if (s->f_nprice < 2 || s->f_nprice != s->f_nprob)
		return "\"prices\" and \"probs\" need the same count, >= 2";
	for (int i = 0; i < s->f_nprice; i++)
		if (!(s->f_price[i] > 0) || !(s->f_prob[i] >= 0 &&
		    s->f_prob[i] <= 1) || (i > 0 &&
		    s->f_price[i] <= s->f_price[i - 1]))
			return "prices must rise, probabilities be in 0..1";
	return NULL;
}

/* Read and parse a scenario file; 0 or -1 with err. */
static int
sim_scn_load(struct sim_scn *s, const char *path, char *err, size_t errlen)
{
	char *text, msg[256];
	const char *bad;
	FILE *f = fopen(path, "r");
	long len;
	int rc;

	sim_scn_defaults(s);
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    len > 1 << 20 || fseek(f, 0, SEEK_SET) != 0 ||
	    (text = calloc(1, (size_t)len + 1)) == NULL) {
		snprintf(err, errlen, "\"%s\": cannot read", path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	rc = fread(text, 1, (size_t)len, f) == (size_t)len ?
	    sim_scn_parse(s, text, msg, sizeof(msg)) : -1;
	fclose(f);
	free(text);
	if (rc == -1) {
		snprintf(err, errlen, "\"%s\": %s", path, msg);
		return -1;
	}
	bad = s->ferreira ? sim_scn_check_ferreira(s) :
	    sim_scn_check_market(s);
	if (bad != NULL) {
		snprintf(err, errlen, "\"%s\": %s", path, bad);
		return -1;
	}
	return 0;
}

/* ---- calendar --------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
sim_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD" of a day number since 1970-01-01. */
static void
sim_civil(int64_t z, char *buf, size_t len)
{
	int64_t era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	snprintf(buf, len, "%04u-%02u-%02u",
	    (unsigned)((uint64_t)(y + (m <= 2)) % 10000),
	    (unsigned)((uint64_t)m % 100), (unsigned)((uint64_t)d % 100));
}

/* Epoch ms of midnight UTC of "YYYY-MM-DD"; -1 if malformed. */
static int64_t
sim_date_ms(const char *s)
{
	int64_t day = pacing_day(s);

	if (day == 0)
		return -1;
	return sim_days_from_civil(day / 10000, day / 100 % 100, day % 100) *
	    SIM_DAY_MS;
}

/* ---- the LP of the oracle ------------------------------------------ */

/*
 * One context of the oracle's LP: w expected views, and per option l the
 * expected GMV r[l] and promotion cost k[l] of one view.  The LP is
 *     max  sum_c w_c sum_l x_cl r_cl
 *     s.t. sum_c w_c sum_l x_cl (r_cl - T k_cl) >= 0      (ROI floor)
 *          sum_c w_c sum_l x_cl k_cl <= B                 (budget, if any)
 *          sum_l x_cl = 1, x >= 0                         (each context)
 * Solved by Lagrangian duality: for multipliers (lam, mu) every context
 * takes its best option of r + lam (r - T k) - mu k; lam is found by
 * bisection on the ROI slack for a fixed mu, mu by bisection on the cost,
 * and at each breakpoint the two neighbouring deterministic policies are
 * mixed so that the binding constraint holds with equality.  The result
 * mixes at most two options per context per breakpoint.
 */
struct sim_lpc {
	double w;
	int n;
	double r[SIM_LPMAX], k[SIM_LPMAX];
	double x[SIM_LPMAX];            /* the solution: option shares */
};

struct sim_lpsol {
	double value, slack, cost;      /* of the mixed policy */
	double lam, mu;
	double dual;                    /* Lagrangian bound at (lam, mu) */
	int feasible;
};

/* The best option of a context for multipliers lam and mu. */
static int
sim_lp_best(const struct sim_lpc *c, double t, double lam, double mu)
{
	int b = 0;
	double bv = -INFINITY;

	for (int l = 0; l < c->n; l++) {
		double v = c->r[l] - mu * c->k[l] +
		    lam * (c->r[l] - t * c->k[l]);

		if (v > bv) {
			bv = v;
			b = l;
		}
	}
	return b;
}

/* The options of every context for (lam, mu); totals of the picks. */
static void
sim_lp_pick(const struct sim_lpc *c, int n, double t, double lam, double mu,
    int *pick, double *slack, double *cost)
{
	*slack = *cost = 0;
	for (int i = 0; i < n; i++) {
		int l = sim_lp_best(&c[i], t, lam, mu);

		pick[i] = l;
		*slack += c[i].w * (c[i].r[l] - t * c[i].k[l]);
		*cost += c[i].w * c[i].k[l];
	}
}

/* x (n rows of SIM_LPMAX) = th * onehot(a) + (1 - th) * onehot(b). */
static void
sim_lp_mix(int n, const int *a, const int *b, double th, double *x)
{
	memset(x, 0, sizeof(double) * (size_t)n * SIM_LPMAX);
	for (int i = 0; i < n; i++) {
		x[i * SIM_LPMAX + a[i]] += th;
		x[i * SIM_LPMAX + b[i]] += 1.0 - th;
	}
}

/* Slack and cost of a mixed policy x. */
static void
sim_lp_totals(const struct sim_lpc *c, int n, double t, const double *x,
    double *value, double *slack, double *cost)
{
	*value = *slack = *cost = 0;
	for (int i = 0; i < n; i++)
		for (int l = 0; l < c[i].n; l++) {
			double q = c[i].w * x[i * SIM_LPMAX + l];

			*value += q * c[i].r[l];
			*slack += q * (c[i].r[l] - t * c[i].k[l]);
			*cost += q * c[i].k[l];
		}
}

/*
 * The ROI-constrained problem for a fixed budget multiplier mu: the mixed
 * policy into x; returns lam, sets *feasible.
 */
static double
sim_lp_roi(const struct sim_lpc *c, int n, double t, double mu, double *x,
    int *pa, int *pb, int *feasible)
{
	double lo = 0, hi = 1, slo, shi, cost;

	*feasible = 1;
	sim_lp_pick(c, n, t, 0, mu, pa, &slo, &cost);
	if (slo >= 0) {
		sim_lp_mix(n, pa, pa, 1.0, x);
		return 0;
	}
	for (sim_lp_pick(c, n, t, hi, mu, pb, &shi, &cost); shi < 0 &&
	    hi < 1e12; sim_lp_pick(c, n, t, hi, mu, pb, &shi, &cost))
		lo = hi, hi *= 4;
	if (shi < 0) {                  /* no policy meets the floor */
		*feasible = 0;
		sim_lp_mix(n, pb, pb, 1.0, x);
		return hi;
	}
	for (int it = 0; it < 200 && hi - lo > 1e-13 * (1 + hi); it++) {
		double mid = 0.5 * (lo + hi), s;

		sim_lp_pick(c, n, t, mid, mu, pa, &s, &cost);
		if (s < 0)
			lo = mid;
		else
			hi = mid;
	}
	sim_lp_pick(c, n, t, lo, mu, pa, &slo, &cost);
	sim_lp_pick(c, n, t, hi, mu, pb, &shi, &cost);
	if (slo >= 0)
		sim_lp_mix(n, pa, pa, 1.0, x);
	else
		sim_lp_mix(n, pa, pb, shi / (shi - slo), x);
	return 0.5 * (lo + hi);
}

/* The Lagrangian bound sum_c w_c max_l (...) + mu B. */
static double
sim_lp_dual(const struct sim_lpc *c, int n, double t, double lam, double mu,
    double budget)
{
	double d = budget >= 0 ? mu * budget : 0;

	for (int i = 0; i < n; i++) {
		int l = sim_lp_best(&c[i], t, lam, mu);

		d += c[i].w * (c[i].r[l] - mu * c[i].k[l] +
		    lam * (c[i].r[l] - t * c[i].k[l]));
	}
	return d;
}

/* Scratch arrays of a solve. */
struct sim_lpw {
	int *pa, *pb;
	double *xl, *xh;
};

/* Cost of the ROI solution at mu, into x; lam into *lam. */
static double
sim_lp_cost_at(const struct sim_lpc *c, int n, double t, double mu,
    double *x, struct sim_lpw *sw, double *lam, int *feasible)
{
	double v, s, k;

	*lam = sim_lp_roi(c, n, t, mu, x, sw->pa, sw->pb, feasible);
	sim_lp_totals(c, n, t, x, &v, &s, &k);
	return k;
}

/* Bisection on the budget multiplier; the mixed policy into sw->xl. */
static void
sim_lp_budget(const struct sim_lpc *c, int n, double t, double budget,
    struct sim_lpw *sw, struct sim_lpsol *so)
{
	double lo = 0, hi = 1, clo, chi, laml, lamh;
	int f1, f2;
	size_t sz = sizeof(double) * (size_t)n * SIM_LPMAX;

	clo = sim_lp_cost_at(c, n, t, 0, sw->xl, sw, &laml, &f1);
	so->lam = laml, so->mu = 0, so->feasible = f1;
	if (clo <= budget)
		return;
	while ((chi = sim_lp_cost_at(c, n, t, hi, sw->xh, sw, &lamh,
	    &f2)) > budget && hi < 1e12)
		lo = hi, hi *= 4;
	for (int it = 0; it < 200 && hi - lo > 1e-13 * (1 + hi); it++) {
		double mid = 0.5 * (lo + hi);

		if (sim_lp_cost_at(c, n, t, mid, sw->xh, sw, &lamh, &f2) >
		    budget)
			lo = mid;
		else
			hi = mid;
	}
	clo = sim_lp_cost_at(c, n, t, lo, sw->xl, sw, &laml, &f1);
	chi = sim_lp_cost_at(c, n, t, hi, sw->xh, sw, &lamh, &f2);
	so->feasible = f1 && f2 && chi <= budget * (1 + 1e-12);
	so->mu = 0.5 * (lo + hi);
	so->lam = sim_lp_dual(c, n, t, laml, so->mu, budget) <
	    sim_lp_dual(c, n, t, lamh, so->mu, budget) ? laml : lamh;
	if (clo > chi && chi <= budget) {
		double phi = (budget - chi) / (clo - chi);

		for (size_t i = 0; i < sz / sizeof(double); i++)
			sw->xl[i] = phi * sw->xl[i] + (1 - phi) * sw->xh[i];
	} else
		memcpy(sw->xl, sw->xh, sz);
}

/* Solve the LP (budget < 0: none); c[].x filled; 0 or -1 (no memory). */
static int
sim_lp_solve(struct sim_lpc *c, int n, double t, double budget,
    struct sim_lpsol *so)
{
	struct sim_lpw sw;
	size_t sz = (size_t)(n > 0 ? n : 1);

	memset(so, 0, sizeof(*so));
	sw.pa = calloc(sz, sizeof(int));
	sw.pb = calloc(sz, sizeof(int));
	sw.xl = calloc(sz * SIM_LPMAX, sizeof(double));
	sw.xh = calloc(sz * SIM_LPMAX, sizeof(double));
	if (sw.pa == NULL || sw.pb == NULL || sw.xl == NULL || sw.xh == NULL) {
		free(sw.pa), free(sw.pb), free(sw.xl), free(sw.xh);
		return -1;
	}
	sim_lp_budget(c, n, t, budget >= 0 ? budget : INFINITY, &sw, so);
	for (int i = 0; i < n; i++)
		memcpy(c[i].x, &sw.xl[i * SIM_LPMAX], sizeof(c[i].x));
	sim_lp_totals(c, n, t, sw.xl, &so->value, &so->slack, &so->cost);
	so->dual = sim_lp_dual(c, n, t, so->lam, so->mu, budget);
	free(sw.pa), free(sw.pb), free(sw.xl), free(sw.xh);
	return 0;
}

/* ---- LP self-check: exact solve by enumerating bases ----------------- */

/* Solve the m x m system a x = b in place (partial pivoting); 0 or -1. */
static int
sim_gauss(double *a, double *b, int m)
{
	for (int col = 0; col < m; col++) {
		int p = col;
		double tb;

		for (int r = col + 1; r < m; r++)
			if (fabs(a[r * m + col]) > fabs(a[p * m + col]))
				p = r;
		if (fabs(a[p * m + col]) < 1e-12)
			return -1;
		for (int j = 0; j < m; j++) {
			double tmp = a[col * m + j];

			a[col * m + j] = a[p * m + j];
			a[p * m + j] = tmp;
		}
		tb = b[col];
		b[col] = b[p];
		b[p] = tb;
		for (int r = 0; r < m; r++) {
			double f;

			if (r == col || a[r * m + col] == 0)
				continue;
			f = a[r * m + col] / a[col * m + col];
			for (int j = col; j < m; j++)
				a[r * m + j] -= f * a[col * m + j];
			b[r] -= f * b[col];
		}
	}
	for (int r = 0; r < m; r++)
		b[r] /= a[r * m + r];
	return 0;
}

#define SIM_BV 24               /* variables of a brute-force LP */
#define SIM_BM 8                /* rows */

/* An LP in equality form: A x = b, x >= 0, max obj x. */
struct sim_blp {
	int m, nv;
	double a[SIM_BM][SIM_BV], b[SIM_BM], obj[SIM_BV];
};

/* Build the equality form of the oracle LP (slack variables added). */
static void
sim_blp_build(struct sim_blp *q, const struct sim_lpc *c, int n, double t,
    double budget)
{
	int v = 0;

	memset(q, 0, sizeof(*q));
	q->m = n + 1 + (budget >= 0);
	for (int i = 0; i < n; i++)
		for (int l = 0; l < c[i].n; l++, v++) {
			q->a[i][v] = 1;
			q->a[n][v] = c[i].w * (c[i].r[l] - t * c[i].k[l]);
			if (budget >= 0)
				q->a[n + 1][v] = c[i].w * c[i].k[l];
			q->obj[v] = c[i].w * c[i].r[l];
		}
	for (int i = 0; i < n; i++)
		q->b[i] = 1;
	q->a[n][v++] = -1;              /* ROI surplus */
	if (budget >= 0) {
		q->a[n + 1][v++] = 1;   /* budget slack */
		q->b[n + 1] = budget;
	}
	q->nv = v;
}

/* Objective of one basis, or -INFINITY when singular or infeasible. */
static double
sim_blp_basis(const struct sim_blp *q, const int *idx)
{
	double a[SIM_BM * SIM_BM], b[SIM_BM], z = 0;
	int m = q->m;

	for (int r = 0; r < m; r++) {
		for (int j = 0; j < m; j++)
			a[r * m + j] = q->a[r][idx[j]];
		b[r] = q->b[r];
	}
	if (sim_gauss(a, b, m) == -1)
		return -INFINITY;
	for (int j = 0; j < m; j++) {
		if (b[j] < -1e-9)
			return -INFINITY;
		z += q->obj[idx[j]] * b[j];
	}
	return z;
}

/* The LP optimum by enumerating every basis (tiny LPs only). */
static double
sim_blp_solve(const struct sim_blp *q)
{
	int idx[SIM_BM], m = q->m, nv = q->nv;
	double best = -INFINITY;

	for (int j = 0; j < m; j++)
		idx[j] = j;
	for (;;) {
		double z = sim_blp_basis(q, idx);
		int j = m - 1;

		if (z > best)
			best = z;
		while (j >= 0 && idx[j] == nv - m + j)
			j--;
		if (j < 0)
			return best;
		idx[j]++;
		for (int k = j + 1; k < m; k++)
			idx[k] = idx[k - 1] + 1;
	}
}

/* A random small oracle LP: rising demand in the discount. */
static void
sim_lp_random(struct rng *r, struct sim_lpc *c, int n, double *t,
    double *budget)
{
	double kmax = 0;

	*t = 1 + 9 * rng_uniform(r);
	for (int i = 0; i < n; i++) {
		double p = 0.01 + 0.1 * rng_uniform(r), d = 0, price;

		price = 100 + 10000 * rng_uniform(r);
		c[i].w = 0.2 + 5 * rng_uniform(r);
		c[i].n = 2 + (int)(rng_uniform(r) * 3);
		for (int l = 0; l < c[i].n; l++) {
			d += 0.02 + 0.15 * rng_uniform(r);
			p *= 1 + 2 * rng_uniform(r);
			c[i].r[l] = p * price * (1 - d);
			c[i].k[l] = p * price * d;
			if (c[i].w * c[i].k[l] > kmax)
				kmax = c[i].w * c[i].k[l];
		}
	}
	*budget = rng_uniform(r) < 0.4 ? -1 : kmax * n * rng_uniform(r);
}

/* Check the oracle's solver against basis enumeration; 0 or -1. */
static int
sim_check_oracle(int rounds)
{
	struct sim_lpc c[3];
	struct sim_blp q;
	struct sim_lpsol so;
	struct rng r;
	double worst = 0;
	int bad = 0, infeasible = 0;

	rng_seed(&r, 20181122);
	for (int i = 0; i < rounds; i++) {
		int n = 1 + (int)(rng_uniform(&r) * 3);
		double t, budget, exact, gap;

		memset(c, 0, sizeof(c));
		sim_lp_random(&r, c, n, &t, &budget);
		sim_blp_build(&q, c, n, t, budget);
		exact = sim_blp_solve(&q);
		if (sim_lp_solve(c, n, t, budget, &so) == -1)
			return -1;
		if (exact == -INFINITY) {
			infeasible++;
			bad += so.feasible;
			continue;
		}
		gap = fabs(so.value - exact) / fmax(1.0, fabs(exact));
		if (gap > worst)
			worst = gap;
		if (gap > 1e-7 || !so.feasible || so.slack < -1e-6 *
		    fmax(1.0, exact) || (budget >= 0 && so.cost > budget *
		    (1 + 1e-9) + 1e-9))
			bad++;
	}
	printf("oracle LP check: %d random LPs (%d infeasible), largest "
	    "relative gap to basis enumeration %.3g, %d failures\n", rounds,
	    infeasible, worst, bad);
	return bad == 0 ? 0 : -1;
}

/* ---- the market ------------------------------------------------------ */

struct sim_product {
	char id[16];
	int64_t price;
	double a, b;                    /* product shifts: log-odds, slope */
	int64_t off[PLAN_MAX_LEVELS];   /* discount of each level; -1 none */
};

struct sim_world {
	const struct sim_scn *s;
	struct sim_product *p;
	double *cdf;                    /* cumulative view shares */
	unsigned char *hold, *ret0;     /* per customer */
	int np, nc, nlv;
	int32_t min_bps, max_bps;
	int32_t lv[PLAN_MAX_LEVELS];
	int64_t start_ms;
	char (*dates)[ENGINE_DATE_MAX]; /* date of day i, i <= days + 1 */
};

/* The discount of bps off price kept inside the range (engine rule). */
static int64_t
sim_discount(int64_t price, int32_t bps, int32_t min_bps, int32_t max_bps)
{
	int64_t want = (price * bps + 5000) / 10000;
	int64_t lo = (price * min_bps + 9999) / 10000;
	int64_t hi = price * max_bps / 10000;

	if (price <= 0 || lo > hi || lo <= 0)
		return -1;
	return want < lo ? lo : want > hi ? hi : want;
}

/* Nonzero if a discount lies inside the range of a price. */
static int
sim_in_range(int64_t price, int64_t off, int32_t min_bps, int32_t max_bps)
{
	return off > 0 && off * 10000 >= (int64_t)min_bps * price &&
	    off * 10000 <= (int64_t)max_bps * price;
}

/* Conversion of a view of product p by segment g at discount d. */
static double
sim_conv(const struct sim_world *w, const struct sim_product *p, int g,
    double d, int day)
{
	const struct sim_scn *s = w->s;
	double b = s->elast[g] * p->b, a = p->a, x;

	if (s->drift_day >= 0 && day >= s->drift_day) {
		b *= s->drift_scale[g];
		a += s->drift_shift;
	}
	if (s->model == SIM_LOGISTIC) {
		a += log(s->base[g] / (1 - s->base[g]));
		return 1 / (1 + exp(-(a + b * d)));
	}
	x = s->base[g] * exp(a + b * d);
	return x > 0.95 ? 0.95 : x;
}

/* The products: log-uniform prices, demand shifts, level discounts. */
static void
sim_world_products(struct sim_world *w, struct rng *r)
{
	const struct sim_scn *s = w->s;
	double tot = 0;

	for (int j = 0; j < w->np; j++) {
		struct sim_product *p = &w->p[j];
		double u = rng_uniform(r);

		snprintf(p->id, sizeof(p->id), "p-%d", j);
		p->price = (int64_t)llround(s->price_min *
		    pow(s->price_max / s->price_min, u));
		p->a = s->product_sd * rng_normal(r);
		p->b = exp(s->elasticity_sd * rng_normal(r));
		for (int l = 0; l < w->nlv; l++)
			p->off[l] = sim_discount(p->price, w->lv[l], w->min_bps,
			    w->max_bps);
		tot += pow(j + 1, -s->popularity);
		w->cdf[j] = tot;
	}
	for (int j = 0; j < w->np; j++)
		w->cdf[j] /= tot;
}

/* The shoppers: holdout (engine rule) and buyers at the start. */
static void
sim_world_customers(struct sim_world *w, struct rng *r)
{
	char id[32];

	for (int c = 0; c < w->nc; c++) {
		snprintf(id, sizeof(id), "c-%d", c);
		w->hold[c] = (unsigned char)engine_in_holdout(id,
		    w->s->holdout_pct);
		w->ret0[c] = rng_uniform(r) < w->s->returning_share;
	}
}

/* Free a world. */
static void
sim_world_release(struct sim_world *w)
{
	free(w->p), free(w->cdf), free(w->hold), free(w->ret0);
	free(w->dates);
	memset(w, 0, sizeof(*w));
}

/* Build the market of a seed; 0 or -1 (no memory). */
static int
sim_world_init(struct sim_world *w, const struct sim_scn *s, uint64_t seed)
{
	struct rng r;
	int64_t d0;

	memset(w, 0, sizeof(*w));
	w->s = s;
	w->np = s->nproducts;
	w->nc = s->ncustomers;
	w->min_bps = (int32_t)llround(s->min_pct * 100);
	w->max_bps = (int32_t)llround(s->max_pct * 100);
	w->nlv = bandit_levels(w->min_bps, w->max_bps, s->levels, w->lv);
	w->start_ms = sim_date_ms(s->start);
	w->p = calloc((size_t)w->np, sizeof(*w->p));
	w->cdf = calloc((size_t)w->np, sizeof(double));
	w->hold = calloc((size_t)w->nc, 1);
	w->ret0 = calloc((size_t)w->nc, 1);
	w->dates = calloc((size_t)s->days + 2, sizeof(*w->dates));
	if (w->p == NULL || w->cdf == NULL || w->hold == NULL ||
	    w->ret0 == NULL || w->dates == NULL || w->start_ms < 0) {
		sim_world_release(w);
		return -1;
	}
	d0 = w->start_ms / SIM_DAY_MS;
	for (int i = 0; i <= s->days + 1; i++)
		sim_civil(d0 + i, w->dates[i], sizeof(w->dates[i]));
	rng_seed(&r, rng_mix(seed * 0x9e3779b97f4a7c15ULL + 17));
	sim_world_products(w, &r);
	sim_world_customers(w, &r);
	return 0;
}

/* The product a view lands on, by popularity (u uniform). */
static int
sim_pick_product(const struct sim_world *w, double u)
{
	int lo = 0, hi = w->np - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (w->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the store: one record per (product, customer) ------------------- */

struct sim_rec {
	uint64_t key;                   /* 0: empty slot */
	char *offer;                    /* engine: the sp:{P}:offers value */
	char view[12];                  /* engine: the sp:{P}:views value */
	int has, level, ctx, converted; /* baselines: the standing offer */
	int64_t off, expires, oid;
};

struct sim_tab {
	struct sim_rec *r;
	size_t cap, n;
};

/* Free the table and the strings of its records. */
static void
sim_tab_release(struct sim_tab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->r[i].offer);
	free(t->r);
	memset(t, 0, sizeof(*t));
}

/* The slot of key in a table of capacity cap (a power of two). */
static size_t
sim_tab_slot(const struct sim_rec *r, size_t cap, uint64_t key)
{
	size_t i = (size_t)rng_mix(key) & (cap - 1);

	while (r[i].key != 0 && r[i].key != key)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Double the table; 0 or -1. */
static int
sim_tab_grow(struct sim_tab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 4096;
	struct sim_rec *r = calloc(cap, sizeof(*r));

	if (r == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->r[i].key != 0)
			r[sim_tab_slot(r, cap, t->r[i].key)] = t->r[i];
	free(t->r);
	t->r = r;
	t->cap = cap;
	return 0;
}

/* The record of (product, customer), created empty; NULL: no memory. */
static struct sim_rec *
sim_tab_get(struct sim_tab *t, int j, int c)
{
	uint64_t key = ((uint64_t)(uint32_t)j << 32 | (uint32_t)c) + 1;
	size_t i;

	if ((t->n + 1) * 2 > t->cap && sim_tab_grow(t) == -1)
		return NULL;
	i = sim_tab_slot(t->r, t->cap, key);
	if (t->r[i].key == 0) {
		t->r[i].key = key;
		t->n++;
	}
	return &t->r[i];
}

/* ---- pending orders: a binary heap by arrival time ------------------- */

struct sim_order {
	int64_t at;
	uint64_t seq;
	int32_t prod, cust;
	int64_t list, paid;
	int used, level, ctx;           /* used: it used an offer */
	int at_list;                    /* would buy at list price too */
	int64_t expires;                /* the offer's expiry (used) */
	int64_t oid;                    /* baselines: the offer's number */
	char offer_id[64];              /* engine: the offer's id */
};

struct sim_heap {
	struct sim_order *o;
	size_t n, cap;
};

/* Nonzero if order a comes before b. */
static int
sim_before(const struct sim_order *a, const struct sim_order *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Add an order; 0 or -1. */
static int
sim_heap_push(struct sim_heap *h, const struct sim_order *o)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct sim_order *no = realloc(h->o, cap * sizeof(*no));

		if (no == NULL)
			return -1;
		h->o = no;
		h->cap = cap;
	}
	for (i = h->n++; i > 0 && sim_before(o, &h->o[(i - 1) / 2]);
	    i = (i - 1) / 2)
		h->o[i] = h->o[(i - 1) / 2];
	h->o[i] = *o;
	return 0;
}

/* Remove the earliest order into o. */
static void
sim_heap_pop(struct sim_heap *h, struct sim_order *o)
{
	struct sim_order last = h->o[--h->n];
	size_t i = 0;

	*o = h->o[0];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && sim_before(&h->o[c + 1], &h->o[c]))
			c++;
		if (!sim_before(&h->o[c], &last))
			break;
		h->o[i] = h->o[c];
		i = c;
	}
	if (h->n > 0)
		h->o[i] = last;
}

/* ---- policies and their runs ----------------------------------------- */

enum sim_pol { POL_NONE, POL_RANDOM, POL_STATIC, POL_EGREEDY,
    POL_SMARTPROMO, POL_ORACLE };

static const char *const sim_pol_names[] = { "none", "random", "static",
    "egreedy", "smartpromo", "oracle" };

/* The figures of one day (orders counted on the day they arrive). */
struct sim_day {
	double gmv, cost, gmv_c;        /* treatment GMV and cost, control */
	int64_t views, offers, orders;
};

/* What one policy did over one seed. */
struct sim_res {
	enum sim_pol pol;
	int level;                      /* static: its level */
	struct sim_day *day;
	int ndays;
	double gmv, cost, gmv_c, lp_value, lp_gap;
	int roi_breach, budget_breach, lp_infeasible;
	int64_t offers, orders, range_viol;
	int skipped;                    /* not played (--policies) */
	int64_t mix[PLAN_CONTEXTS][PLAN_MAX_LEVELS];    /* offers made */
	int64_t stale;                  /* smartpromo: orders the engine did
					   not cost (their offer was replaced) */
	double stale_cost;
};

/* The engine and its in-memory state, for the smartpromo policy. */
struct sim_engine {
	struct engine_params ep;
	struct plan plan;
	struct product_state *ps;
	struct effects fx, flush;
	struct event ev;
	int64_t offset;
	double gmv_t, cost;             /* the engine's own day counters */
	int64_t conversions;
	double stale_cost;              /* cost of orders whose offer was
					   replaced before they came */
	int64_t stale;
};

struct sim_run {
	const struct sim_scn *s;
	const struct sim_world *w;
	enum sim_pol pol;
	int level, day;
	struct rng prng;
	struct sim_tab tab;
	struct sim_heap heap;
	unsigned char *ret;             /* customer is a buyer now */
	int64_t nret, oid;
	uint64_t seq;
	struct sim_res *res;
	double *eg_n, *eg_s, eg_lambda; /* egreedy: per product, ctx, level */
	double *ox;                     /* oracle: today's level shares */
	struct sim_engine *eng;
	int failed;                     /* an internal error happened */
};

/* What a shopper was shown at a view. */
struct sim_shown {
	int64_t off;                    /* 0: list price */
	int level, ctx;
	int64_t expires;                /* the offer's expires_at */
	int64_t oid;
	char offer_id[64];
};

/* Index of (product, ctx, level) in per-arm arrays. */
static size_t
sim_arm(int j, int ctx, int l)
{
	return ((size_t)j * PLAN_CONTEXTS + (size_t)ctx) * PLAN_MAX_LEVELS +
	    (size_t)l;
}

/* Epsilon-greedy: explore uniformly, else the best penalised estimate. */
static int
sim_eg_choose(struct sim_run *r, int j, int g)
{
	const struct sim_world *w = r->w;
	double lam = r->eg_lambda, t = r->s->roi_target, best = -INFINITY;
	int b = 0;

	if (rng_uniform(&r->prng) < SIM_EPSILON)
		return (int)(rng_uniform(&r->prng) * w->nlv);
	for (int l = 0; l < w->nlv; l++) {
		size_t a = sim_arm(j, g, l);
		double d = w->lv[l] / 10000.0, v;

		if (r->eg_n[a] < 1)
			return l;       /* every level once first */
		v = r->eg_s[a] / r->eg_n[a] * (double)w->p[j].price *
		    ((1 + lam) * (1 - d) - lam * t * d);
		if (v > best) {
			best = v;
			b = l;
		}
	}
	return b;
}

/* Oracle: draw today's level of (product, ctx) from the LP's shares. */
static int
sim_oracle_choose(struct sim_run *r, int j, int g)
{
	const double *x = &r->ox[sim_arm(j, g, 0)];
	double u = rng_uniform(&r->prng), acc = 0;

	for (int l = 0; l < r->w->nlv; l++) {
		acc += x[l];
		if (u < acc)
			return l;
	}
	return r->w->nlv - 1;
}

/* The level a baseline policy picks for a new decision. */
static int
sim_base_level(struct sim_run *r, int j, int g)
{
	switch (r->pol) {
	case POL_RANDOM:
		return (int)(rng_uniform(&r->prng) * r->w->nlv);
	case POL_STATIC:
		return r->level;
	case POL_EGREEDY:
		return sim_eg_choose(r, j, g);
	case POL_ORACLE:
		return sim_oracle_choose(r, j, g);
	default:
		return -1;
	}
}

/* Count one offer made, checking it against the plan's range. */
static void
sim_count_offer(struct sim_run *r, int64_t price, int64_t off, int ctx,
    int level)
{
	r->res->mix[ctx][level]++;
	r->res->offers++;
	r->res->day[r->day].offers++;
	if (!sim_in_range(price, off, r->w->min_bps, r->w->max_bps)) {
		r->res->range_viol++;
		fprintf(stderr, "smartpromo-sim: %s offered %" PRId64 " off "
		    "%" PRId64 ", outside %d-%d bps\n",
		    sim_pol_names[r->pol], off, price, r->w->min_bps,
		    r->w->max_bps);
	}
}

/* A baseline's offer for a treatment view: the standing one or new. */
static int
sim_base_view(struct sim_run *r, int64_t ts, int j, int c, int g,
    struct sim_shown *sh)
{
	const struct sim_product *p = &r->w->p[j];
	struct sim_rec *rec;
	int l;

	if (r->pol == POL_NONE)
		return 0;
	if ((rec = sim_tab_get(&r->tab, j, c)) == NULL)
		return -1;
	if (!rec->has || rec->converted || rec->expires <= ts) {
		if ((l = sim_base_level(r, j, g)) < 0 || p->off[l] < 0)
			return 0;
		rec->has = 1, rec->converted = 0;
		rec->level = l, rec->ctx = g, rec->off = p->off[l];
		rec->expires = ts + (int64_t)(r->s->ttl_minutes * SIM_MIN_MS);
		rec->oid = ++r->oid;
		if (r->pol == POL_EGREEDY)
			r->eg_n[sim_arm(j, g, l)] += 1;
		sim_count_offer(r, p->price, rec->off, g, l);
	}
	sh->off = rec->off, sh->level = rec->level, sh->ctx = rec->ctx;
	sh->oid = rec->oid, sh->expires = rec->expires;
	return 0;
}

/* Epsilon-greedy's dual step on one order line. */
static void
sim_eg_dual(struct sim_run *r, const struct sim_order *o)
{
	double t = r->s->roi_target;

	r->eg_lambda += SIM_EG_ETA * (t * (double)(o->list - o->paid) -
	    (double)o->paid) / (double)o->list;
	r->eg_lambda = r->eg_lambda < 0 ? 0 : r->eg_lambda > 20 ? 20 :
	    r->eg_lambda;
}

/* A baseline learns from an order: the dual step, the conversion. */
static int
sim_base_order(struct sim_run *r, const struct sim_order *o)
{
	struct sim_rec *rec;

	if (r->pol == POL_EGREEDY)
		sim_eg_dual(r, o);
	if (!o->used)
		return 0;
	if ((rec = sim_tab_get(&r->tab, o->prod, o->cust)) == NULL)
		return -1;
	if (rec->oid != o->oid || rec->converted)
		return 0;               /* replaced, or converted already */
	rec->converted = 1;
	if (r->pol == POL_EGREEDY)
		r->eg_s[sim_arm(o->prod, o->ctx, o->level)] += 1;
	return 0;
}

/* ---- the smartpromo policy: the real engine -------------------------- */

/* Settings of the engine from the scenario's [engine] and [plan]. */
static void
sim_engine_params(const struct sim_scn *s, struct engine_params *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->default_roi_target = s->roi_target;
	ep->holdout_pct = s->holdout_pct;
	ep->offer_ttl_ms = (int64_t)(s->ttl_minutes * SIM_MIN_MS);
	ep->attribution_ms = (int64_t)(s->attribution_hours * 60 * SIM_MIN_MS);
	ep->bandit.levels = s->levels;
	ep->bandit.prior_conversion = s->prior_conversion;
	ep->bandit.prior_strength = s->prior_strength;
	ep->bandit.half_life_ms = s->half_life_hours * 60 * SIM_MIN_MS;
	ep->offer_seed = 0x5eed0051ULL;
}

/* The plan as the admin API would create it; 0 or -1 with err. */
static int
sim_engine_plan(struct sim_engine *e, const struct sim_world *w, char *err,
    size_t errlen)
{
	const struct sim_scn *s = w->s;
	struct plan_limits lim = { s->roi_target, 95 };
	size_t cap = 256 + (size_t)w->np * 24, n;
	char *body = malloc(cap), budget[48] = "";
	int rc;

	if (body == NULL)
		return -1;
	if (s->budget > 0)
		snprintf(budget, sizeof(budget), ",\"budget\":%" PRId64,
		    s->budget);
	n = (size_t)snprintf(body, cap, "{\"name\":\"sim\",\"shop_id\":\"s-1\","
	    "\"products\":[");
	for (int j = 0; j < w->np; j++)
		n += (size_t)snprintf(body + n, cap - n, "%s\"%s\"", j ? "," :
		    "", w->p[j].id);
	snprintf(body + n, cap - n, "],\"days\":%d,\"discount_min_pct\":%.2f,"
	    "\"discount_max_pct\":%.2f,\"roi_target\":%.4f%s,\"start\":%"
	    PRId64 "}", s->days + 1, s->min_pct, s->max_pct, s->roi_target,
	    budget, w->start_ms);
	rc = plan_from_request(&e->plan, body, strlen(body), &lim,
	    w->start_ms, err, errlen);
	free(body);
	if (rc == 0)
		snprintf(e->plan.plan_id, sizeof(e->plan.plan_id), "pl-sim");
	return rc;
}

/* Free the engine state. */
static void
sim_engine_release(struct sim_engine *e, int np)
{
	if (e == NULL)
		return;
	for (int j = 0; e->ps != NULL && j < np; j++)
		product_state_release(&e->ps[j]);
	free(e->ps);
	effects_release(&e->fx);
	effects_release(&e->flush);
	plan_release(&e->plan);
	free(e);
}

/* The common fields of the next event. */
static struct event *
sim_event(struct sim_engine *e, enum event_type type, int64_t ts,
    const char *pid)
{
	struct event *ev = &e->ev;

	ev->type = type;
	ev->ts = ts;
	snprintf(ev->event_id, sizeof(ev->event_id), "e-%" PRId64, e->offset);
	snprintf(ev->shop_id, sizeof(ev->shop_id), "%s", "s-1");
	snprintf(ev->product_id, sizeof(ev->product_id), "%s", pid);
	return ev;
}

/*
 * Write the learner state as the daemon does (engine_flush) and load it
 * back (product_state_load_arms): what the learner keeps must survive its
 * stored form.  0 or -1.
 */
static int
sim_engine_roundtrip(struct sim_engine *e, struct product_state *ps)
{
	const char *names[64], *values[64];
	char err[256];
	size_t n = 0;

	if (!ps->arms_dirty && !ps->product_dirty)
		return 0;
	effects_reset(&e->flush);
	if (engine_flush(ps, &e->flush) == -1)
		return -1;
	for (size_t i = 0; i < e->flush.nw && n < 64; i++)
		if (e->flush.w[i].key == FX_ARMS) {
			names[n] = e->flush.w[i].field;
			values[n++] = e->flush.w[i].value;
		}
	if (ps->arms_dirty) {
		memset(&ps->arms, 0, sizeof(ps->arms));
		if (product_state_load_arms(ps, names, values, n, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "smartpromo-sim: %s\n", err);
			return -1;
		}
	}
	ps->arms_dirty = ps->product_dirty = 0;
	return 0;
}

/* Load the customer's stored records into the product state. */
static int
sim_engine_load(struct product_state *ps, const struct sim_rec *rec,
    const char *cid)
{
	struct offer_rec *o;

	ps->noffers = 0;
	ps->norders = 0;
	if ((o = product_state_offer(ps, cid)) == NULL)
		return -1;
	if (rec->offer != NULL && offer_rec_parse(o, rec->offer) == -1)
		return -1;
	if (rec->view[0] != '\0' && offer_rec_parse_view(o, rec->view) == -1)
		return -1;
	return 0;
}

/* Apply the writes of one event to the store and the day counters. */
static int
sim_engine_store(struct sim_engine *e, struct sim_rec *rec)
{
	for (size_t i = 0; i < e->fx.nw; i++) {
		const struct fx_write *w = &e->fx.w[i];

		if (w->key == FX_OFFERS) {
			free(rec->offer);
			if ((rec->offer = strdup(w->value)) == NULL)
				return -1;
		} else if (w->key == FX_VIEWS)
			snprintf(rec->view, sizeof(rec->view), "%s", w->value);
		else if (w->key == FX_DAY && w->op == FX_HINCRBY &&
		    strcmp(w->field, "gmv_t") == 0)
			e->gmv_t += strtod(w->value, NULL);
		else if (w->key == FX_DAY && w->op == FX_HINCRBY &&
		    strcmp(w->field, "cost") == 0)
			e->cost += strtod(w->value, NULL);
	}
	e->conversions += (int64_t)e->fx.counts.conversions;
	return 0;
}

/* Load, apply one event of product j for customer c, store; 0 or -1. */
static int
sim_engine_apply(struct sim_run *r, int j, int c, int returning)
{
	struct sim_engine *e = r->eng;
	struct product_state *ps = &e->ps[j];
	struct sim_rec *rec = sim_tab_get(&r->tab, j, c);
	struct engine_input in;
	char cid[32];

	snprintf(cid, sizeof(cid), "c-%d", c);
	if (rec == NULL || sim_engine_load(ps, rec, cid) == -1)
		return -1;
	memset(&in, 0, sizeof(in));
	in.ev = &e->ev;
	in.partition = 0;
	in.offset = e->offset++;
	in.date = r->w->dates[(e->ev.ts - r->w->start_ms) / SIM_DAY_MS];
	in.returning = returning;
	in.plan = &e->plan;
	effects_reset(&e->fx);
	if (engine_apply(&e->ep, ps, &in, &e->fx) == -1 ||
	    sim_engine_store(e, rec) == -1)
		return -1;
	return sim_engine_roundtrip(e, ps);
}

/* The engine at start: the plan and a catalog event per product. */
static int
sim_engine_init(struct sim_run *r)
{
	const struct sim_world *w = r->w;
	struct sim_engine *e = calloc(1, sizeof(*e));
	char err[256];

	if ((r->eng = e) == NULL || (e->ps = calloc((size_t)w->np,
	    sizeof(*e->ps))) == NULL)
		return -1;
	sim_engine_params(w->s, &e->ep);
	effects_init(&e->fx);
	effects_init(&e->flush);
	if (sim_engine_plan(e, w, err, sizeof(err)) == -1) {
		fprintf(stderr, "smartpromo-sim: plan: %s\n", err);
		return -1;
	}
	for (int j = 0; j < w->np; j++) {
		struct event *ev = sim_event(e, EV_PRODUCT, w->start_ms,
		    w->p[j].id);

		product_state_init(&e->ps[j], w->p[j].id);
		memset(&ev->u.product, 0, sizeof(ev->u.product));
		ev->u.product.price = w->p[j].price;
		ev->u.product.stock = 1000000;
		ev->u.product.listed_at = w->start_ms - 30 * SIM_DAY_MS;
		snprintf(ev->u.product.category, EVENT_ID_MAX, "%s", "sim");
		if (sim_engine_apply(r, j, 0, 0) == -1)
			return -1;
	}
	return 0;
}

/* The engine decides a view; what the shopper sees. */
static int
sim_engine_view(struct sim_run *r, int64_t ts, int j, int c, int g,
    struct sim_shown *sh)
{
	struct sim_engine *e = r->eng;
	struct event *ev = sim_event(e, EV_PAGE_VIEW, ts, r->w->p[j].id);
	const struct offer_rec *o;

	memset(&ev->u.page_view, 0, sizeof(ev->u.page_view));
	snprintf(ev->u.page_view.customer_id, EVENT_ID_MAX, "c-%d", c);
	if (sim_engine_apply(r, j, c, g) == -1)
		return -1;
	o = &e->ps[j].offers[0];
	if (e->fx.counts.offers > 0) {
		if (r->w->hold[c])
			return -1;      /* an offer to the control group */
		sim_count_offer(r, o->list_price, o->list_price -
		    o->offer_price, o->ctx, o->level);
	}
	if (!o->loaded || o->converted || o->expires_at <= ts ||
	    strcmp(o->plan_id, e->plan.plan_id) != 0)
		return 0;
	sh->off = o->list_price - o->offer_price;
	sh->level = o->level, sh->ctx = o->ctx, sh->expires = o->expires_at;
	snprintf(sh->offer_id, sizeof(sh->offer_id), "%s", o->offer_id);
	return 0;
}

/* Nonzero if the order's offer is no longer the customer's stored one. */
static int
sim_engine_stale(struct sim_run *r, const struct sim_order *o)
{
	struct sim_rec *rec = sim_tab_get(&r->tab, o->prod, o->cust);
	size_t n = strlen(o->offer_id);

	return rec == NULL || rec->offer == NULL ||
	    strncmp(rec->offer, o->offer_id, n) != 0 || rec->offer[n] != '|';
}

/* The engine applies an order line. */
static int
sim_engine_order(struct sim_run *r, const struct sim_order *o)
{
	struct sim_engine *e = r->eng;
	struct event *ev = sim_event(e, EV_ORDER, o->at, r->w->p[o->prod].id);
	struct event_order *eo = &ev->u.order;

	memset(eo, 0, sizeof(*eo));
	snprintf(eo->order_id, EVENT_ID_MAX, "o-%" PRIu64, o->seq);
	snprintf(eo->customer_id, EVENT_ID_MAX, "c-%d", o->cust);
	eo->qty = 1;
	if (o->used && sim_engine_stale(r, o)) {
		e->stale++;
		e->stale_cost += (double)(o->list - o->paid);
	}
	eo->unit_price = o->list;
	eo->paid_unit_price = o->paid;
	if (o->used)
		snprintf(eo->offer_id, EVENT_ID_MAX, "%s", o->offer_id);
	return sim_engine_apply(r, o->prod, o->cust, 0);
}

/* ---- the closed loop ------------------------------------------------- */

/*
 * The oracle's LP of one hour of a day: today's curves, the current view
 * mix (the share of returning shoppers grows as orders come in), the ROI
 * floor, and the hour's share of the daily budget.
 */
static int
sim_oracle_hour(struct sim_run *r)
{
	const struct sim_world *w = r->w;
	const struct sim_scn *s = r->s;
	double vt = s->views_per_day * (1 - s->holdout_pct / 100.0) /
	    SIM_ORACLE_SLOTS;
	double share[PLAN_CONTEXTS] = { 1 - (double)r->nret / w->nc,
	    (double)r->nret / w->nc };
	struct sim_lpc *c = calloc((size_t)w->np * PLAN_CONTEXTS, sizeof(*c));
	struct sim_lpsol so;

	if (c == NULL)
		return -1;
	for (int j = 0; j < w->np; j++)
		for (int g = 0; g < PLAN_CONTEXTS; g++) {
			const struct sim_product *p = &w->p[j];
			struct sim_lpc *q = &c[j * PLAN_CONTEXTS + g];

			q->w = vt * (w->cdf[j] - (j ? w->cdf[j - 1] : 0)) *
			    share[g];
			q->n = w->nlv;
			for (int l = 0; l < w->nlv; l++) {
				int64_t off = p->off[l] < 0 ? 0 : p->off[l];
				double cv = sim_conv(w, p, g,
				    (double)off / p->price, r->day);

				q->r[l] = cv * (double)(p->price - off);
				q->k[l] = cv * (double)off;
			}
		}
	if (sim_lp_solve(c, w->np * PLAN_CONTEXTS, s->roi_target,
	    s->budget > 0 ? (double)s->budget / s->days / SIM_ORACLE_SLOTS :
	    -1, &so) == -1) {
		free(c);
		return -1;
	}
	for (int i = 0; i < w->np * PLAN_CONTEXTS; i++)
		memcpy(&r->ox[sim_arm(i / PLAN_CONTEXTS, i % PLAN_CONTEXTS, 0)],
		    c[i].x, sizeof(double) * PLAN_MAX_LEVELS);
	r->res->lp_value += so.value;
	r->res->lp_infeasible += !so.feasible;
	if (so.dual - so.value > r->res->lp_gap * fmax(1, so.value))
		r->res->lp_gap = (so.dual - so.value) / fmax(1, so.value);
	free(c);
	return 0;
}

/* The accounting day of a time (late orders count on the last day). */
static int
sim_day_of(const struct sim_run *r, int64_t ts)
{
	int64_t d = (ts - r->w->start_ms) / SIM_DAY_MS;

	return d >= r->s->days ? r->s->days - 1 : (int)d;
}

/*
 * With honour_expiry, an order arriving at or after its offer's expiry
 * cannot use it: the shopper buys at list price if they would have at the
 * view (the same draw u), else not at all.  0: no order; 1: order o.
 */
static int
sim_order_expired(const struct sim_run *r, struct sim_order *o)
{
	if (!r->s->honour_expiry || !o->used || o->at < o->expires)
		return 1;
	if (!o->at_list)
		return 0;
	o->paid = o->list;
	o->used = 0;
	o->offer_id[0] = '\0';
	return 1;
}

/* An order arrives: count it, mark the buyer, tell the policy. */
static int
sim_order_arrive(struct sim_run *r, struct sim_order *o)
{
	struct sim_day *d = &r->res->day[sim_day_of(r, o->at)];
	int rc = 0;

	if (!sim_order_expired(r, o))
		return 0;
	if (r->w->hold[o->cust])
		d->gmv_c += (double)o->paid;
	else {
		d->gmv += (double)o->paid;
		d->cost += (double)(o->list - o->paid);
		d->orders++;
	}
	if (r->pol == POL_SMARTPROMO)
		rc = sim_engine_order(r, o);
	else if (!r->w->hold[o->cust])
		rc = sim_base_order(r, o);
	if (!r->ret[o->cust]) {
		r->ret[o->cust] = 1;
		r->nret++;
	}
	return rc;
}

/* Apply every order due by ts. */
static int
sim_drain(struct sim_run *r, int64_t ts)
{
	struct sim_order o;

	while (r->heap.n > 0 && r->heap.o[0].at <= ts) {
		sim_heap_pop(&r->heap, &o);
		if (sim_order_arrive(r, &o) == -1)
			return -1;
	}
	return 0;
}

/* One view: the policy's price, then maybe an order later. */
static int
sim_view(struct sim_run *r, int64_t ts, int j, int c, double u,
    double delay_ms)
{
	const struct sim_product *p = &r->w->p[j];
	struct sim_shown sh;
	struct sim_order o;
	int g = r->ret[c];

	memset(&sh, 0, sizeof(sh));
	if (!r->w->hold[c])
		r->res->day[r->day].views++;
	if (r->pol == POL_SMARTPROMO) {
		if (sim_engine_view(r, ts, j, c, g, &sh) == -1)
			return -1;
	} else if (!r->w->hold[c] && sim_base_view(r, ts, j, c, g, &sh) == -1)
		return -1;
	if (u >= sim_conv(r->w, p, g, (double)sh.off / p->price, r->day))
		return 0;
	memset(&o, 0, sizeof(o));
	o.at = ts + (int64_t)delay_ms;
	o.seq = ++r->seq;
	o.prod = j, o.cust = c;
	o.list = p->price;
	o.paid = p->price - sh.off;
	o.used = sh.off > 0;
	o.at_list = u < sim_conv(r->w, p, g, 0, r->day);
	o.expires = sh.expires;
	o.level = sh.level, o.ctx = sh.ctx, o.oid = sh.oid;
	snprintf(o.offer_id, sizeof(o.offer_id), "%s", sh.offer_id);
	return sim_heap_push(&r->heap, &o);
}

/* The views of one day, in time order, from the shared stream. */
static int
sim_run_day(struct sim_run *r, struct rng *vr)
{
	const struct sim_scn *s = r->s;
	int64_t t0 = r->w->start_ms + r->day * SIM_DAY_MS;
	double lmin = log(s->delay_min), lmax = log(s->delay_max);

	for (int i = 0; i < s->views_per_day; i++) {
		int64_t ts = t0 + (int64_t)((i + rng_uniform(vr)) *
		    (double)SIM_DAY_MS / s->views_per_day);
		int c = (int)(rng_uniform(vr) * r->w->nc);
		int j = sim_pick_product(r->w, rng_uniform(vr));
		double u = rng_uniform(vr);
		double delay = exp(lmin + (lmax - lmin) * rng_uniform(vr)) *
		    SIM_MIN_MS;

		if (r->pol == POL_ORACLE && (i == 0 || (int64_t)i *
		    SIM_ORACLE_SLOTS / s->views_per_day != (int64_t)(i - 1) *
		    SIM_ORACLE_SLOTS / s->views_per_day) &&
		    sim_oracle_hour(r) == -1)
			return -1;
		if (sim_drain(r, ts) == -1 || sim_view(r, ts, j, c, u,
		    delay) == -1)
			return -1;
	}
	return 0;
}

/* Totals and breaches of a finished run. */
static void
sim_res_close(struct sim_res *res, const struct sim_scn *s)
{
	double cap = s->budget > 0 ? (double)s->budget / s->days : -1;

	for (int d = 0; d < res->ndays; d++) {
		const struct sim_day *x = &res->day[d];

		res->gmv += x->gmv;
		res->cost += x->cost;
		res->gmv_c += x->gmv_c;
		res->orders += x->orders;
		if (x->cost > 0 && x->gmv < s->roi_target * x->cost)
			res->roi_breach++;
		if (cap >= 0 && x->cost > cap)
			res->budget_breach++;
	}
}

/* Allocate what a policy needs; 0 or -1. */
static int
sim_run_init(struct sim_run *r, const struct sim_world *w, enum sim_pol pol,
    int level, uint64_t seed, struct sim_res *res)
{
	size_t arms = sim_arm(w->np, 0, 0);

	memset(r, 0, sizeof(*r));
	r->s = w->s, r->w = w, r->pol = pol, r->level = level, r->res = res;
	rng_seed(&r->prng, rng_mix(seed ^ (0x9011c7ULL + (uint64_t)pol *
	    1000 + (uint64_t)level)));
	if ((r->ret = malloc((size_t)w->nc)) == NULL)
		return -1;
	memcpy(r->ret, w->ret0, (size_t)w->nc);
	for (int c = 0; c < w->nc; c++)
		r->nret += r->ret[c];
	if (pol == POL_EGREEDY && ((r->eg_n = calloc(arms, sizeof(double))) ==
	    NULL || (r->eg_s = calloc(arms, sizeof(double))) == NULL))
		return -1;
	if (pol == POL_ORACLE && (r->ox = calloc(arms, sizeof(double))) ==
	    NULL)
		return -1;
	if (pol == POL_SMARTPROMO && sim_engine_init(r) == -1)
		return -1;
	return 0;
}

/* Free a run (not its result). */
static void
sim_run_release(struct sim_run *r)
{
	sim_engine_release(r->eng, r->w->np);
	sim_tab_release(&r->tab);
	free(r->heap.o);
	free(r->ret), free(r->eg_n), free(r->eg_s), free(r->ox);
}

/* The engine's own counters must match what the market saw. */
static int
sim_engine_check(const struct sim_run *r)
{
	const struct sim_engine *e = r->eng;

	if (fabs(e->gmv_t - r->res->gmv) > 0.5 ||
	    fabs(e->cost + e->stale_cost - r->res->cost) > 0.5) {
		fprintf(stderr, "smartpromo-sim: engine counted gmv_t %.0f "
		    "cost %.0f, the market %.0f and %.0f\n", e->gmv_t, e->cost,
		    r->res->gmv, r->res->cost);
		return -1;
	}
	r->res->stale = e->stale;
	r->res->stale_cost = e->stale_cost;
	return 0;
}

/* Play one policy over one seed into res; 0 or -1. */
static int
sim_play(const struct sim_world *w, uint64_t seed, enum sim_pol pol,
    int level, struct sim_res *res)
{
	struct sim_run r;
	struct rng vr;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->pol = pol, res->level = level, res->ndays = w->s->days;
	if ((res->day = calloc((size_t)res->ndays, sizeof(*res->day))) ==
	    NULL)
		return -1;
	rng_seed(&vr, rng_mix(seed ^ 0x71e55ULL));
	if (sim_run_init(&r, w, pol, level, seed, res) == -1)
		rc = -1;
	for (r.day = 0; rc == 0 && r.day < w->s->days; r.day++)
		rc = sim_run_day(&r, &vr);
	if (rc == 0)
		rc = sim_drain(&r, INT64_MAX);
	sim_res_close(res, w->s);
	if (rc == 0 && pol == POL_SMARTPROMO)
		rc = sim_engine_check(&r);
	sim_run_release(&r);
	return rc;
}

/* ---- seeds, medians and tables --------------------------------------- */

#define SIM_SHOW 6              /* policies shown in the summary */

/* Every run of one seed. */
struct sim_seed {
	uint64_t seed;
	struct sim_res res[SIM_NPOL + PLAN_MAX_LEVELS];
	int nres;
	int show[SIM_SHOW];             /* index into res of each row */
	int static_ok;                  /* the best static level kept the
					   floor (and budget) every day */
};

static const char *const sim_show_names[SIM_SHOW] = { "none", "random",
    "static-best", "egreedy", "smartpromo", "oracle" };

/* Free the results of a seed. */
static void
sim_seed_release(struct sim_seed *sd)
{
	for (int i = 0; i < sd->nres; i++)
		free(sd->res[i].day);
	sd->nres = 0;
}

/* The static level with hindsight: best GMV among those never breaching. */
static void
sim_pick_static(struct sim_seed *sd, int first, int n)
{
	int best = -1, fewest = first;

	for (int i = first; i < first + n; i++) {
		const struct sim_res *x = &sd->res[i];
		const struct sim_res *f = &sd->res[fewest];
		int bx = x->roi_breach + x->budget_breach;
		int bf = f->roi_breach + f->budget_breach;

		if (bx == 0 && (best < 0 || x->gmv > sd->res[best].gmv))
			best = i;
		if (bx < bf || (bx == bf && x->gmv > f->gmv))
			fewest = i;
	}
	sd->static_ok = best >= 0;
	sd->show[2] = best >= 0 ? best : fewest;
}

/* Play a policy into the next result if the mask selects it. */
static int
sim_play_if(const struct sim_world *w, uint64_t seed, enum sim_pol pol,
    int level, struct sim_seed *sd, unsigned mask)
{
	struct sim_res *res = &sd->res[sd->nres++];

	if (mask & 1u << pol)
		return sim_play(w, seed, pol, level, res);
	memset(res, 0, sizeof(*res));
	res->pol = pol, res->level = level, res->ndays = w->s->days;
	res->skipped = 1;
	res->day = calloc((size_t)res->ndays, sizeof(*res->day));
	return res->day == NULL ? -1 : 0;
}

/* Play the policies of mask over one seed; 0 or -1. */
static int
sim_seed_play(const struct sim_scn *s, uint64_t seed, unsigned mask,
    struct sim_seed *sd)
{
	struct sim_world w;
	int nlv, rc = 0;

	memset(sd, 0, sizeof(*sd));
	sd->seed = seed;
	if (sim_world_init(&w, s, seed) == -1)
		return -1;
	nlv = w.nlv;
	rc |= sim_play_if(&w, seed, POL_NONE, -1, sd, mask);
	rc |= sim_play_if(&w, seed, POL_RANDOM, -1, sd, mask);
	for (int l = 0; l < nlv && rc == 0; l++)
		rc |= sim_play_if(&w, seed, POL_STATIC, l, sd, mask);
	rc |= sim_play_if(&w, seed, POL_EGREEDY, -1, sd, mask);
	rc |= sim_play_if(&w, seed, POL_SMARTPROMO, -1, sd, mask);
	rc |= sim_play_if(&w, seed, POL_ORACLE, -1, sd, mask);
	sd->show[0] = 0, sd->show[1] = 1;
	sim_pick_static(sd, 2, nlv);
	sd->show[3] = 2 + nlv, sd->show[4] = 3 + nlv, sd->show[5] = 4 + nlv;
	sim_world_release(&w);
	return rc;
}

/* qsort comparator of doubles. */
static int
sim_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n values (n >= 1); v is reordered. */
static double
sim_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), sim_cmp);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ROI of GMV and cost (infinite without cost). */
static double
sim_roi(double gmv, double cost)
{
	return cost > 0 ? gmv / cost : INFINITY;
}

/* A number of a result, by column. */
static double
sim_col(const struct sim_seed *sd, int row, int col)
{
	const struct sim_res *x = &sd->res[row];
	const struct sim_res *o = &sd->res[sd->show[5]];

	switch (col) {
	case 0: return x->gmv / 100;
	case 1: return x->cost / 100;
	case 2: return sim_roi(x->gmv, x->cost);
	case 3: return o->gmv > 0 ? 100 * x->gmv / o->gmv : 0;
	case 4: return x->roi_breach;
	case 5: return x->budget_breach;
	case 6: return (double)x->range_viol;
	default: return (double)x->offers;
	}
}

/* The median over seeds of a column of a summary row. */
static double
sim_med(const struct sim_seed *sds, int n, int row, int col, int show)
{
	double v[SIM_MAX_SEEDS];

	for (int i = 0; i < n; i++)
		v[i] = sim_col(&sds[i], show ? sds[i].show[row] : row, col);
	return sim_median(v, n);
}

/* Print a ROI that may be infinite. */
static void
sim_print_roi(double roi)
{
	if (isinf(roi))
		printf(" %7s", "inf");
	else
		printf(" %7.2f", roi);
}

/* One row of medians. */
static void
sim_print_row(const struct sim_seed *sds, int n, int row, int show,
    const char *name)
{
	printf("%-12s %13.2f %12.2f", name, sim_med(sds, n, row, 0, show),
	    sim_med(sds, n, row, 1, show));
	sim_print_roi(sim_med(sds, n, row, 2, show));
	printf(" %8.2f %6.1f %6.1f %6.0f %9.0f\n",
	    sim_med(sds, n, row, 3, show), sim_med(sds, n, row, 4, show),
	    sim_med(sds, n, row, 5, show), sim_med(sds, n, row, 6, show),
	    sim_med(sds, n, row, 7, show));
}

/* The scenario line. */
static void
sim_print_head(const struct sim_scn *s, const struct sim_world *w, int n,
    const struct sim_seed *sds)
{
	printf("scenario \"%s\" (%s)\n", s->name, s->path);
	printf("  %d products, %d views/day, %d days, %d shoppers (%.0f%% "
	    "buyers at start), holdout %.1f%%\n", s->nproducts,
	    s->views_per_day, s->days, s->ncustomers,
	    100 * s->returning_share, s->holdout_pct);
	printf("  range %.2f-%.2f%% in %d levels (", s->min_pct, s->max_pct,
	    w->nlv);
	for (int l = 0; l < w->nlv; l++)
		printf("%s%.2f", l ? " " : "", w->lv[l] / 100.0);
	printf("%%), ROI target %.2f, budget ", s->roi_target);
	if (s->budget > 0)
		printf("%.2f (%.2f a day)", s->budget / 100.0,
		    s->budget / 100.0 / s->days);
	else
		printf("none");
	printf(", drift %s\n  seeds", s->drift_day >= 0 ? "yes" : "no");
	for (int i = 0; i < n; i++)
		printf(" %" PRIu64, sds[i].seed);
	printf("; medians over seeds\n\n");
}

/* The summary table, the static levels and the oracle's LP figures. */
static void
sim_print_summary(const struct sim_scn *s, const struct sim_world *w,
    const struct sim_seed *sds, int n)
{
	double lpv[SIM_MAX_SEEDS], gap = 0;
	int inf = 0;

	sim_print_head(s, w, n, sds);
	printf("%-12s %13s %12s %7s %8s %6s %6s %6s %9s\n", "policy", "GMV",
	    "cost", "ROI", "%oracle", "ROIbr", "budbr", "range", "offers");
	for (int row = 0; row < SIM_SHOW; row++)
		if (!sds[0].res[sds[0].show[row]].skipped)
			sim_print_row(sds, n, row, 1, sim_show_names[row]);
	printf("\nstatic-best per seed:");
	for (int i = 0; i < n && !sds[i].res[2].skipped; i++) {
		const struct sim_res *x = &sds[i].res[sds[i].show[2]];

		printf(" %.2f%%%s", w->lv[x->level] / 100.0,
		    sds[i].static_ok ? "" : " (none kept the floor: fewest "
		    "breaches)");
	}
	printf("\nstatic levels:\n");
	for (int l = 0; l < w->nlv; l++) {
		char name[32];

		snprintf(name, sizeof(name), "  %.2f%%", w->lv[l] / 100.0);
		if (!sds[0].res[2 + l].skipped)
			sim_print_row(sds, n, 2 + l, 0, name);
	}
	for (int i = 0; i < n; i++) {
		const struct sim_res *o = &sds[i].res[sds[i].show[5]];

		lpv[i] = o->lp_value / 100;
		gap = fmax(gap, o->lp_gap);
		inf += o->lp_infeasible;
	}
	printf("oracle: LP expected GMV %.2f (median), largest duality gap "
	    "%.2g, infeasible days %d\n", sim_median(lpv, n), gap, inf);
}

/* The per-day table of the first seed. */
static void
sim_print_days(const struct sim_scn *s, const struct sim_seed *sd)
{
	double cap = s->budget > 0 ? (double)s->budget / s->days : -1;

	printf("\nper day, seed %" PRIu64 " (GMV / ROI; * below the ROI "
	    "floor, $ over the daily budget)\n%-4s", sd->seed, "day");
	for (int row = 0; row < SIM_SHOW; row++)
		if (!sd->res[sd->show[row]].skipped)
			printf(" %20s", sim_show_names[row]);
	printf("\n");
	for (int d = 0; d < s->days; d++) {
		printf("%-4d", d);
		for (int row = 0; row < SIM_SHOW; row++) {
			const struct sim_day *x = &sd->res[sd->show[row]].day[d];
			double roi = sim_roi(x->gmv, x->cost);
			char cell[40];

			if (sd->res[sd->show[row]].skipped)
				continue;
			snprintf(cell, sizeof(cell), "%.0f/%.2f%s%s",
			    x->gmv / 100, isinf(roi) ? 0.0 : roi,
			    x->cost > 0 && roi < s->roi_target ? "*" : "",
			    cap >= 0 && x->cost > cap ? "$" : "");
			printf(" %20s", isinf(roi) ? "-" : cell);
		}
		printf("\n");
	}
}

/* The share of offers at each level and context, first seed. */
static void
sim_print_mix(const struct sim_world *w, const struct sim_seed *sd)
{
	printf("\noffers per level, seed %" PRIu64 " (%% of the policy's "
	    "offers; new shoppers | returning buyers)\n%-12s", sd->seed,
	    "policy");
	for (int g = 0; g < PLAN_CONTEXTS; g++)
		for (int l = 0; l < w->nlv; l++)
			printf(" %6.2f", w->lv[l] / 100.0);
	printf("\n");
	for (int row = 0; row < SIM_SHOW; row++) {
		const struct sim_res *x = &sd->res[sd->show[row]];

		if (x->skipped || x->offers == 0)
			continue;
		printf("%-12s", sim_show_names[row]);
		for (int g = 0; g < PLAN_CONTEXTS; g++)
			for (int l = 0; l < w->nlv; l++)
				printf(" %6.1f", 100.0 * (double)x->mix[g][l] /
				    (double)x->offers);
		printf("\n");
	}
}

/* Run a market scenario over its seeds; exit status. */
static int
sim_market(const struct sim_scn *s, int days_table, unsigned mask)
{
	struct sim_seed *sds = calloc((size_t)s->nseeds, sizeof(*sds));
	struct sim_world w;
	int rc = 0, viol = 0;

	if (sds == NULL || sim_world_init(&w, s, s->seeds[0]) == -1) {
		free(sds);
		return 1;
	}
	for (int i = 0; i < s->nseeds && rc == 0; i++)
		rc = sim_seed_play(s, s->seeds[i], mask, &sds[i]);
	if (rc == 0) {
		sim_print_summary(s, &w, sds, s->nseeds);
		if (days_table) {
			sim_print_days(s, &sds[0]);
			sim_print_mix(&w, &sds[0]);
		}
	}
	for (int i = 0; i < s->nseeds; i++) {
		for (int k = 0; k < sds[i].nres; k++)
			viol += sds[i].res[k].range_viol > 0;
		sim_seed_release(&sds[i]);
	}
	free(sds);
	sim_world_release(&w);
	if (rc != 0)
		fprintf(stderr, "smartpromo-sim: a run failed\n");
	if (viol)
		fprintf(stderr, "smartpromo-sim: %d runs made offers outside "
		    "the range\n", viol);
	return rc != 0 || viol ? 1 : 0;
}

/* ---- Ferreira, Simchi-Levi and Wang (2018): 4 prices, inventory ----- */

enum sim_fpol { FP_ORACLE, FP_RANDOM, FP_EGREEDY, FP_BLIND, FP_SMARTPROMO,
    FP_STATIC };

#define SIM_FETA 0.02           /* inventory price step, list-price units */

#define SIM_FROWS (FP_STATIC + SIM_FMAX)

/* One Ferreira run. */
struct sim_frun {
	const struct sim_scn *s;
	enum sim_fpol pol;
	int k;                          /* static: the price index */
	struct rng prng;
	double x[SIM_LPMAX];            /* oracle: LP shares, last = none */
	double n[SIM_FMAX], sales[SIM_FMAX];
	struct bandit_arms arms;
	struct bandit_params bp;
	struct pacing_resource inv;     /* smartpromo: the price of a unit */
	int64_t list;
};

/* The LP bound: per period, max sum x p d s.t. sum x d <= alpha. */
static int
sim_ferreira_lp(const struct sim_scn *s, struct sim_lpc *c,
    struct sim_lpsol *so)
{
	memset(c, 0, sizeof(*c));
	c->w = 1;
	c->n = s->f_nprice + 1;         /* the last option sells nothing */
	for (int k = 0; k < s->f_nprice; k++) {
		c->r[k] = s->f_price[k] * s->f_prob[k];
		c->k[k] = s->f_prob[k];
	}
	return sim_lp_solve(c, 1, 0, s->f_alpha, so);
}

/* Epsilon-greedy on revenue, blind to inventory. */
static int
sim_ferreira_eg(struct sim_frun *f)
{
	int n = f->s->f_nprice, b = 0;
	double best = -1;

	if (rng_uniform(&f->prng) < SIM_EPSILON)
		return (int)(rng_uniform(&f->prng) * n);
	for (int k = 0; k < n; k++) {
		if (f->n[k] < 1)
			return k;
		if (f->s->f_price[k] * f->sales[k] / f->n[k] > best) {
			best = f->s->f_price[k] * f->sales[k] / f->n[k];
			b = k;
		}
	}
	return b;
}

/*
 * The smartpromo learner as a price chooser (ROI target off): each sale
 * uses a unit of stock, priced by the learner's resource pacing (none for
 * the inventory-blind row).
 */
static int
sim_ferreira_sp(struct sim_frun *f)
{
	struct bandit_choice ch;
	double use[PLAN_MAX_LEVELS];
	int n = f->s->f_nprice;

	for (int l = 0; l < n; l++)
		use[l] = f->pol == FP_SMARTPROMO ? f->inv.mu : 0;
	return n - 1 - bandit_choose_priced(&f->arms, NULL, 0, f->list, 0.0,
	    f->arms.max_bps, use, &f->bp, &f->prng, &ch);
}

/* The price index of a period (-1: offer nothing). */
static int
sim_ferreira_choose(struct sim_frun *f)
{
	double u, acc = 0;

	switch (f->pol) {
	case FP_ORACLE:
		u = rng_uniform(&f->prng);
		for (int k = 0; k < f->s->f_nprice; k++)
			if (u < (acc += f->x[k]))
				return k;
		return -1;
	case FP_RANDOM:
		return (int)(rng_uniform(&f->prng) * f->s->f_nprice);
	case FP_EGREEDY:
		return sim_ferreira_eg(f);
	case FP_BLIND:
	case FP_SMARTPROMO:
		return sim_ferreira_sp(f);
	default:
		return f->k;
	}
}

/* Learn from one period's outcome. */
static void
sim_ferreira_learn(struct sim_frun *f, int k, int sold)
{
	int l = f->s->f_nprice - 1 - k;

	f->n[k] += 1;
	f->sales[k] += sold;
	if (f->pol != FP_SMARTPROMO && f->pol != FP_BLIND)
		return;
	bandit_expose(&f->arms, NULL, 0, l);
	if (sold)
		bandit_convert(&f->arms, NULL, 0, l);
}

/* Play one policy over T periods; revenue (major units), units sold. */
static double
sim_ferreira_play(const struct sim_scn *s, const struct sim_lpc *lp,
    uint64_t seed, enum sim_fpol pol, int k, int64_t *sold)
{
	struct sim_frun f;
	struct rng dr;
	int64_t inv = (int64_t)floor(s->f_alpha * s->f_periods);
	double rev = 0;

	memset(&f, 0, sizeof(f));
	f.s = s, f.pol = pol, f.k = k;
	memcpy(f.x, lp->x, sizeof(f.x));
	rng_seed(&f.prng, rng_mix(seed ^ (0xfe44ULL + (uint64_t)pol * 31 +
	    (uint64_t)k)));
	rng_seed(&dr, rng_mix(seed ^ 0xde3a9dULL));
	f.list = llround(s->f_price[s->f_nprice - 1] * 100);
	f.bp.levels = s->f_nprice;
	f.bp.prior_conversion = 0.5;    /* Beta(1, 1), as in the paper */
	f.bp.prior_strength = 2;
	f.inv.eta = SIM_FETA * (double)f.list;
	bandit_arms_fit(&f.arms, 0, (int32_t)llround((1 - s->f_price[0] /
	    s->f_price[s->f_nprice - 1]) * 10000), &f.bp);
	*sold = 0;
	for (int t = 0; t < s->f_periods; t++) {
		double u = rng_uniform(&dr);
		int c = inv > 0 ? sim_ferreira_choose(&f) : -1;
		int buy = c >= 0 && u < s->f_prob[c];

		if (c < 0)
			continue;
		rev += buy ? s->f_price[c] : 0;
		inv -= buy;
		*sold += buy;
		sim_ferreira_learn(&f, c, buy);
		pacing_resource_step(&f.inv, buy, (double)(inv + buy) /
		    (s->f_periods - t));
	}
	return rev;
}

/* The Ferreira scenario's header: the instance and its LP bound. */
static void
sim_ferreira_head(const struct sim_scn *s, const struct sim_lpc *lp,
    const struct sim_lpsol *so)
{
	printf("scenario \"%s\" (%s): Ferreira, Simchi-Levi and Wang (2018), "
	    "Bernoulli demand\n  T = %d periods, inventory %.0f (alpha %.2f), "
	    "prices", s->name, s->path, s->f_periods,
	    floor(s->f_alpha * s->f_periods), s->f_alpha);
	for (int k = 0; k < s->f_nprice; k++)
		printf(" %.2f (p %.2f)", s->f_price[k], s->f_prob[k]);
	printf("\n  LP upper bound %.2f (per period %.4f:", so->value *
	    s->f_periods, so->value);
	for (int k = 0; k < lp->n; k++) {
		if (lp->x[k] <= 1e-9)
			continue;
		if (k < s->f_nprice)
			printf(" %.4f at price %.2f", lp->x[k], s->f_price[k]);
		else
			printf(" %.4f no sale", lp->x[k]);
	}
	printf("); seeds %d, medians\n\n%-16s %12s %9s %8s\n", s->nseeds,
	    "policy", "revenue", "%LP", "sold");
}

/* The Ferreira scenario over its seeds; exit status. */
static int
sim_ferreira(const struct sim_scn *s)
{
	static const char *const names[] = { "oracle-LP", "random", "egreedy",
	    "smartpromo-blind", "smartpromo" };
	double rev[SIM_FROWS][SIM_MAX_SEEDS], units[SIM_FROWS][SIM_MAX_SEEDS];
	double best[SIM_MAX_SEEDS], bound;
	struct sim_lpc lp;
	struct sim_lpsol so;
	int nrow = FP_STATIC + s->f_nprice;

	if (sim_ferreira_lp(s, &lp, &so) == -1)
		return 1;
	bound = so.value * s->f_periods;
	for (int i = 0; i < s->nseeds; i++) {
		best[i] = 0;
		for (int p = 0; p < nrow; p++) {
			int64_t sold;

			rev[p][i] = sim_ferreira_play(s, &lp, s->seeds[i],
			    p < FP_STATIC ? (enum sim_fpol)p : FP_STATIC,
			    p - FP_STATIC, &sold);
			units[p][i] = (double)sold;
			if (p >= FP_STATIC && rev[p][i] > best[i])
				best[i] = rev[p][i];
		}
	}
	sim_ferreira_head(s, &lp, &so);
	for (int p = 0; p < nrow; p++) {
		char name[32];
		double r = sim_median(rev[p], s->nseeds);

		if (p < FP_STATIC)
			snprintf(name, sizeof(name), "%s", names[p]);
		else
			snprintf(name, sizeof(name), "static %.2f",
			    s->f_price[p - FP_STATIC]);
		printf("%-16s %12.2f %9.2f %8.0f\n", name, r, 100 * r / bound,
		    sim_median(units[p], s->nseeds));
	}
	printf("%-16s %12.2f %9.2f\n", "static-best", sim_median(best,
	    s->nseeds), 100 * sim_median(best, s->nseeds) / bound);
	return 0;
}

/* ---- main ------------------------------------------------------------ */

/* The policies of a comma list ("smartpromo,oracle"); 0 or -1. */
static int
sim_mask(const char *list, unsigned *mask)
{
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", list);
	*mask = 1u << POL_ORACLE;       /* the reference of every row */
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		int k = 0;

		while (k < SIM_NPOL && strcmp(sim_pol_names[k], tok) != 0)
			k++;
		if (k == SIM_NPOL)
			return -1;
		*mask |= 1u << k;
	}
	return 0;
}

/* Usage, to stderr; exit status 2. */
static int
sim_usage(void)
{
	fprintf(stderr, "usage: smartpromo-sim [--days-table] [--seeds "
	    "1,2,3] [--policies none,random,static,egreedy,smartpromo,oracle]"
	    " scenario.ini\n       smartpromo-sim --check-oracle\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct sim_scn s;
	const char *path = NULL, *seeds = NULL;
	char err[512];
	int days_table = 0;
	unsigned mask = (1u << SIM_NPOL) - 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--days-table") == 0)
			days_table = 1;
		else if (strcmp(argv[i], "--check-oracle") == 0)
			return sim_check_oracle(2000) == 0 ? 0 : 1;
		else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			seeds = argv[++i];
		else if (strcmp(argv[i], "--policies") == 0 && i + 1 < argc) {
			if (sim_mask(argv[++i], &mask) == -1)
				return sim_usage();
		}
		else if (argv[i][0] == '-' || path != NULL)
			return sim_usage();
		else
			path = argv[i];
	}
	if (path == NULL)
		return sim_usage();
	if (sim_scn_load(&s, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "smartpromo-sim: %s\n", err);
		return 2;
	}
	if (seeds != NULL && sim_set_key(&s, sim_key_find("scenario",
	    "seeds"), seeds) == -1) {
		fprintf(stderr, "smartpromo-sim: bad --seeds \"%s\"\n", seeds);
		return 2;
	}
	return s.ferreira ? sim_ferreira(&s) : sim_market(&s, days_table,
	    mask);
}
