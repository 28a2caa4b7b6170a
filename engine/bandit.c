/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bandit.c - Thompson sampling over discount levels from a pooled
 * Gaussian posterior of the log-odds demand curve, made monotone, with
 * exponential forgetting and a test for a change in the plan's demand
 * (see bandit.h).
 */
#include "bandit.h"
#include "pacing.h"

#include <math.h>
#include <string.h>

/* The levels of a range, evenly spaced and rounded to 25 bps. */
int
bandit_levels(int32_t min_bps, int32_t max_bps, int wanted, int32_t *bps)
{
	int n = 0;

	if (wanted < 1)
		wanted = 1;
	if (wanted > PLAN_MAX_LEVELS)
		wanted = PLAN_MAX_LEVELS;
	if (max_bps <= min_bps || wanted == 1) {
		bps[0] = min_bps;
		return 1;
	}
	for (int i = 0; i < wanted; i++) {
		double x = min_bps + (double)(max_bps - min_bps) * i /
		    (wanted - 1);
		int32_t v = (int32_t)(lround(x / 25.0) * 25);

		if (v < min_bps)
			v = min_bps;
		if (v > max_bps)
			v = max_bps;
		if (i == 0)
			v = min_bps;
		if (i == wanted - 1)
			v = max_bps;
		if (n == 0 || v > bps[n - 1])
			bps[n++] = v;
	}
	return n;
}

/* Reset arms to the range when it changed. */
void
bandit_arms_fit(struct bandit_arms *a, int32_t min_bps, int32_t max_bps,
    const struct bandit_params *bp)
{
	int32_t lv[PLAN_MAX_LEVELS];
	int n = bandit_levels(min_bps, max_bps, bp->levels, lv);

	if (a->min_bps == min_bps && a->max_bps == max_bps &&
	    a->nlevels == n)
		return;
	memset(a->n, 0, sizeof(a->n));
	memset(a->s, 0, sizeof(a->s));
	a->min_bps = min_bps;
	a->max_bps = max_bps;
	a->nlevels = n;
}

/* Multiply counts by the decay factor from tref to ts. */
static void
bandit_decay_counts(double n[PLAN_CONTEXTS][PLAN_MAX_LEVELS],
    double s[PLAN_CONTEXTS][PLAN_MAX_LEVELS], int64_t *tref, int64_t ts,
    double half_life_ms)
{
	double f;

	if (*tref == 0 || ts <= *tref) {
		if (*tref == 0)
			*tref = ts;
		return;
	}
	if (half_life_ms > 0) {
		f = exp2(-(double)(ts - *tref) / half_life_ms);
		for (int c = 0; c < PLAN_CONTEXTS; c++)
			for (int l = 0; l < PLAN_MAX_LEVELS; l++) {
				n[c][l] *= f;
				s[c][l] *= f;
			}
	}
	*tref = ts;
}

/* ---- small dense linear algebra (n <= PLAN_MAX_LEVELS) -------------- */

/* Cholesky factor l (lower) of the symmetric positive a; 0 or -1. */
static int
bandit_chol(const double *a, double *l, int n)
{
	memset(l, 0, sizeof(double) * (size_t)(n * n));
	for (int i = 0; i < n; i++)
		for (int j = 0; j <= i; j++) {
			double v = a[i * n + j];

			for (int k = 0; k < j; k++)
				v -= l[i * n + k] * l[j * n + k];
			if (i == j) {
				if (!(v > 1e-12))
					return -1;
				l[i * n + i] = sqrt(v);
			} else
				l[i * n + j] = v / l[j * n + j];
		}
	return 0;
}

/* Solve (l l^T) x = b given the Cholesky factor l. */
static void
bandit_chol_solve(const double *l, const double *b, double *x, int n)
{
	double y[PLAN_MAX_LEVELS];

	for (int i = 0; i < n; i++) {
		double v = b[i];

		for (int k = 0; k < i; k++)
			v -= l[i * n + k] * y[k];
		y[i] = v / l[i * n + i];
	}
	for (int i = n - 1; i >= 0; i--) {
		double v = y[i];

		for (int k = i + 1; k < n; k++)
			v -= l[k * n + i] * x[k];
		x[i] = v / l[i * n + i];
	}
}

/* The inverse of a symmetric positive a; 0 or -1. */
static int
bandit_inverse(const double *a, double *inv, int n)
{
	double l[PLAN_MAX_LEVELS * PLAN_MAX_LEVELS], e[PLAN_MAX_LEVELS];
	double col[PLAN_MAX_LEVELS];

	if (bandit_chol(a, l, n) == -1)
		return -1;
	for (int j = 0; j < n; j++) {
		memset(e, 0, sizeof(e));
		e[j] = 1;
		bandit_chol_solve(l, e, col, n);
		for (int i = 0; i < n; i++)
			inv[i * n + j] = col[i];
	}
	return 0;
}

/* ---- the demand curve: a Gaussian over the log-odds of the levels ---- */

/*
 * The curve of one product and context is the vector eta of the log-odds
 * of conversion at its levels.  Its prior is Gaussian: a line in the
 * discount plus an independent departure per level,
 *     eta_l = a + b (d_l - d_mid) + e_l,
 * so the covariance is sa^2 + sb^2 x_i x_j + se^2 [i == j].  The plan's
 * pooled counts (all its products but this one) give a posterior for the
 * plan's curve; a product's prior is that posterior widened by how far a
 * product may depart from its plan; its own counts give its posterior.
 * Both posteriors are Laplace approximations (Newton on the binomial
 * likelihood, at most PLAN_MAX_LEVELS dimensions).
 */
struct bandit_gauss {
	int n;
	double m[PLAN_MAX_LEVELS];                      /* mean */
	double c[PLAN_MAX_LEVELS * PLAN_MAX_LEVELS];    /* covariance */
};

/* A Gaussian posterior, kept as mode and precision. */
struct bandit_post {
	int n;
	double mode[PLAN_MAX_LEVELS];
	double prec[PLAN_MAX_LEVELS * PLAN_MAX_LEVELS];
};

/* The logistic function. */
static double
bandit_sigmoid(double x)
{
	return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

/* Add the line-plus-departures covariance to c. */
static void
bandit_cov_add(double *c, const double *x, int n, double sa, double sb,
    double se)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			c[i * n + j] += sa * sa + sb * sb * x[i] * x[j] +
			    (i == j ? se * se : 0);
}

/* The discounts of the arms' levels, centred on their mean. */
static int
bandit_xs(const struct bandit_arms *a, const struct bandit_params *bp,
    double *x)
{
	int32_t lv[PLAN_MAX_LEVELS];
	int n = bandit_levels(a->min_bps, a->max_bps, bp->levels, lv);
	double mid = 0;

	if (n > a->nlevels)
		n = a->nlevels;
	for (int l = 0; l < n; l++)
		mid += lv[l] / 10000.0 / n;
	for (int l = 0; l < n; l++)
		x[l] = lv[l] / 10000.0 - mid;
	return n;
}

/* The plan's prior curve before any data. */
static void
bandit_plan_prior(const double *x, int n, const struct bandit_params *bp,
    struct bandit_gauss *g)
{
	double p0 = bp->prior_conversion;

	if (!(p0 > 0 && p0 < 1))
		p0 = 0.05;
	memset(g, 0, sizeof(*g));
	g->n = n;
	for (int l = 0; l < n; l++)
		g->m[l] = log(p0 / (1 - p0)) + BANDIT_SLOPE0 * x[l];
	bandit_cov_add(g->c, x, n, BANDIT_PLAN_SD_BASE, BANDIT_PLAN_SD_SLOPE,
	    BANDIT_SD_LEVEL);
}

/* One Newton step of the Laplace fit; returns the largest change. */
static double
bandit_newton(const double *cnt_n, const double *cnt_s, const double *prec0,
    const double *mu, struct bandit_post *po)
{
	double a[PLAN_MAX_LEVELS * PLAN_MAX_LEVELS], l[PLAN_MAX_LEVELS *
	    PLAN_MAX_LEVELS], rhs[PLAN_MAX_LEVELS] = { 0 }, nx[PLAN_MAX_LEVELS];
	double pm[PLAN_MAX_LEVELS] = { 0 }, step = 0;
	int n = po->n;

	for (int i = 0; i < n; i++) {
		pm[i] = 0;
		for (int j = 0; j < n; j++)
			pm[i] += prec0[i * n + j] * mu[j];
	}
	memcpy(a, prec0, sizeof(double) * (size_t)(n * n));
	for (int i = 0; i < n; i++) {
		double p = bandit_sigmoid(po->mode[i]);
		double w = cnt_n[i] * p * (1 - p);

		a[i * n + i] += w;
		rhs[i] = w * po->mode[i] + (cnt_s[i] - cnt_n[i] * p) + pm[i];
	}
	memcpy(po->prec, a, sizeof(double) * (size_t)(n * n));
	if (bandit_chol(a, l, n) == -1)
		return 0;
	bandit_chol_solve(l, rhs, nx, n);
	for (int i = 0; i < n; i++) {
		double d = nx[i] - po->mode[i];

		d = d > 5 ? 5 : d < -5 ? -5 : d;        /* damped */
		po->mode[i] += d;
		step = fmax(step, fabs(d));
	}
	return step;
}

/* Laplace posterior of a prior g and counts (n, s); 0 or -1. */
static int
bandit_laplace(const struct bandit_gauss *g, const double *cnt_n,
    const double *cnt_s, struct bandit_post *po)
{
	double prec0[PLAN_MAX_LEVELS * PLAN_MAX_LEVELS];
	int it;

	if (bandit_inverse(g->c, prec0, g->n) == -1)
		return -1;
	po->n = g->n;
	memcpy(po->mode, g->m, sizeof(po->mode));
	for (it = 0; it < 30; it++)
		if (bandit_newton(cnt_n, cnt_s, prec0, g->m, po) < 1e-9)
			break;
	bandit_newton(cnt_n, cnt_s, prec0, g->m, po);   /* prec at mode */
	return 0;
}

/* Counts of an arm set (n, s clamped to 0 <= s <= n). */
static void
bandit_counts(const double *an, const double *as, const double *sub_n,
    const double *sub_s, int n, double *cn, double *cs)
{
	for (int l = 0; l < n; l++) {
		cn[l] = an[l] - (sub_n ? sub_n[l] : 0);
		cs[l] = as[l] - (sub_s ? sub_s[l] : 0);
		cn[l] = cn[l] > 0 ? cn[l] : 0;
		cs[l] = cs[l] > 0 ? cs[l] : 0;
		cs[l] = cs[l] < cn[l] ? cs[l] : cn[l];
	}
}

/* The plan's curve from the pool (every product but this one). */
static int
bandit_plan_post(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, const double *x, int n, const struct bandit_params *bp,
    struct bandit_post *pp)
{
	struct bandit_gauss g;
	double cn[PLAN_MAX_LEVELS] = { 0 }, cs[PLAN_MAX_LEVELS] = { 0 };

	bandit_plan_prior(x, n, bp, &g);
	if (rt != NULL)
		bandit_counts(rt->pool_n[ctx], rt->pool_s[ctx], a->n[ctx],
		    a->s[ctx], n, cn, cs);
	return bandit_laplace(&g, cn, cs, pp);
}

/* ---- forgetting after a detected change ----------------------------- */

/* Decayed counts' variance over mean (bandit_drift_stat). */
#define BANDIT_DRIFT_SCALE 2.0

/*
 * The G statistic of the recent evidence of context ctx (the fast pool)
 * against the shape of the plan's curve fitted to the older evidence (the
 * pool less the fast pool: weights 2^(-age/h) - 2^(-age/h_fast), which
 * are 0 for what just happened): conversions spread over the levels in
 * proportion to exposures times that curve, its scale free.  Counts
 * weighted 2^(-age/h_fast) under steady traffic have a variance half
 * their mean, hence the statistic is doubled (BANDIT_DRIFT_SCALE) to be
 * chi-square.  dof: levels with exposures less one; 0 when either side
 * has too few conversions to test.
 */
static double
bandit_drift_stat(const struct plan_runtime *rt, int ctx, const double *x,
    int n, const struct bandit_params *bp, int *dof)
{
	struct bandit_gauss g;
	struct bandit_post pp;
	double cn[PLAN_MAX_LEVELS], cs[PLAN_MAX_LEVELS], fn[PLAN_MAX_LEVELS];
	double fs[PLAN_MAX_LEVELS], w[PLAN_MAX_LEVELS], tot_s = 0, tot_w = 0;
	double stat = 0, ref_s = 0;
	int k = 0;

	*dof = 0;
	bandit_counts(rt->fast_n[ctx], rt->fast_s[ctx], NULL, NULL, n, fn, fs);
	for (int l = 0; l < n; l++)
		tot_s += fs[l];
	if (tot_s < BANDIT_DRIFT_MIN)
		return 0;
	bandit_counts(rt->pool_n[ctx], rt->pool_s[ctx], rt->fast_n[ctx],
	    rt->fast_s[ctx], n, cn, cs);
	for (int l = 0; l < n; l++)
		ref_s += cs[l];
	if (ref_s < BANDIT_DRIFT_MIN)
		return 0;
	bandit_plan_prior(x, n, bp, &g);
	if (bandit_laplace(&g, cn, cs, &pp) == -1)
		return 0;
	for (int l = 0; l < n; l++) {
		w[l] = fn[l] * bandit_sigmoid(pp.mode[l]);
		tot_w += w[l];
		k += fn[l] >= 1.0;
	}
	if (k < 2 || !(tot_w > 0))
		return 0;
	for (int l = 0; l < n; l++)
		if (fs[l] > 0 && w[l] > 0)
			stat += 2 * fs[l] * log(fs[l] / (tot_s * w[l] / tot_w));
	*dof = k - 1;
	return BANDIT_DRIFT_SCALE * stat;
}

/* Divide one context's counts by BANDIT_DRIFT_RATIO. */
static void
bandit_forget_ctx(struct bandit_arms *a, int ctx)
{
	for (int l = 0; l < PLAN_MAX_LEVELS; l++) {
		a->n[ctx][l] /= BANDIT_DRIFT_RATIO;
		a->s[ctx][l] /= BANDIT_DRIFT_RATIO;
	}
}

/* Forget what the arms learned before a change the plan detected since
 * they were last decayed. */
static void
bandit_forget(struct bandit_arms *a, const struct plan_runtime *rt)
{
	for (int c = 0; c < PLAN_CONTEXTS; c++)
		if (a->tref != 0 && a->tref < rt->drift_ms[c])
			bandit_forget_ctx(a, c);
}

/* The chi-square critical values at level 1e-5, by degrees of freedom
 * 1..7: one test an hour per context is some 700 tests in a fortnight,
 * and a false alarm costs most of the plan's evidence. */
static const double bandit_drift_crit[PLAN_MAX_LEVELS] = {
	0, 19.511, 23.026, 25.902, 28.473, 30.856, 33.107, 35.259
};

/* The change test of both contexts (see bandit.h), a at hand. */
static void
bandit_drift_test(struct bandit_arms *a, struct plan_runtime *rt, int64_t ts,
    const struct bandit_params *bp)
{
	int64_t hour = ts / BANDIT_DRIFT_EVERY_MS;
	double x[PLAN_MAX_LEVELS], fast = bp->half_life_ms / BANDIT_DRIFT_RATIO;
	int n, dof;

	if (bp->half_life_ms <= 0 || hour <= rt->drift_hour)
		return;
	rt->drift_hour = hour;
	if ((n = bandit_xs(a, bp, x)) < 2)
		return;
	for (int c = 0; c < PLAN_CONTEXTS; c++) {
		if (rt->drift_ms[c] != 0 && (double)(ts - rt->drift_ms[c]) <
		    fast)
			continue;       /* just restarted */
		if (!(bandit_drift_stat(rt, c, x, n, bp, &dof) >
		    bandit_drift_crit[dof]))
			continue;
		memcpy(rt->pool_n[c], rt->fast_n[c], sizeof(rt->pool_n[c]));
		memcpy(rt->pool_s[c], rt->fast_s[c], sizeof(rt->pool_s[c]));
		rt->drift_ms[c] = ts;
		rt->drifts++;
		bandit_forget_ctx(a, c);        /* already decayed to ts */
	}
}

/* Decay arms and the plan pools to event time ts; test for a change. */
void
bandit_decay(struct bandit_arms *a, struct plan_runtime *rt, int64_t ts,
    const struct bandit_params *bp)
{
	if (rt != NULL)
		bandit_forget(a, rt);
	bandit_decay_counts(a->n, a->s, &a->tref, ts, bp->half_life_ms);
	if (rt == NULL)
		return;
	bandit_decay_counts(rt->pool_n, rt->pool_s, &rt->pool_tref, ts,
	    bp->half_life_ms);
	bandit_decay_counts(rt->fast_n, rt->fast_s, &rt->fast_tref, ts,
	    bp->half_life_ms / BANDIT_DRIFT_RATIO);
	bandit_drift_test(a, rt, ts, bp);
}

/* How far a product's curve may depart from its plan's (covariance). */
static void
bandit_departure(const double *x, int n, const double *plan_eta,
    const struct bandit_params *bp, double *c)
{
	double m = bp->prior_strength > 0 ? bp->prior_strength : 1.0;
	double pbar = 0, sa;

	for (int l = 0; l < n; l++)
		pbar += bandit_sigmoid(plan_eta[l]) / n;
	sa = 1 / sqrt(m * pbar * (1 - pbar));
	memset(c, 0, sizeof(double) * (size_t)(n * n));
	bandit_cov_add(c, x, n, sa, BANDIT_SLOPE_RATIO * sa,
	    BANDIT_SD_DEPART);
}

/* A draw z ~ N(0, prec^-1) scaled by k; 0 or -1. */
static int
bandit_draw(const double *prec, int n, double k, struct rng *r, double *z)
{
	double l[PLAN_MAX_LEVELS * PLAN_MAX_LEVELS];

	if (bandit_chol(prec, l, n) == -1)
		return -1;
	for (int i = n - 1; i >= 0; i--) {      /* solve l^T z = v */
		double v = rng_normal(r) * k;

		for (int j = i + 1; j < n; j++)
			v -= l[j * n + i] * z[j];
		z[i] = v / l[i * n + i];
	}
	return 0;
}

/*
 * The posterior of a product's curve in one context given the plan's
 * curve plan_eta (the plan's posterior mode, or a draw of it).
 */
static int
bandit_product_post(const struct bandit_arms *a, int ctx, const double *x,
    int n, const double *plan_eta, const struct bandit_params *bp,
    struct bandit_post *po)
{
	struct bandit_gauss g;
	double cn[PLAN_MAX_LEVELS], cs[PLAN_MAX_LEVELS];

	g.n = n;
	memcpy(g.m, plan_eta, sizeof(double) * (size_t)n);
	bandit_departure(x, n, plan_eta, bp, g.c);
	bandit_counts(a->n[ctx], a->s[ctx], NULL, NULL, n, cn, cs);
	return bandit_laplace(&g, cn, cs, po);
}

/* The posterior mode of a product's curve (no draw); 0 or -1. */
static int
bandit_posterior(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, const struct bandit_params *bp, struct bandit_post *po)
{
	struct bandit_post pp;
	double x[PLAN_MAX_LEVELS];
	int n = bandit_xs(a, bp, x);

	if (bandit_plan_post(a, rt, ctx, x, n, bp, &pp) == -1)
		return -1;
	return bandit_product_post(a, ctx, x, n, pp.mode, bp, po);
}

/* Posterior mean of one level's conversion (at the mode), for explain. */
double
bandit_mean(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int level, const struct bandit_params *bp)
{
	struct bandit_post po;

	if (level < 0 || level >= a->nlevels || bandit_posterior(a, rt, ctx,
	    bp, &po) == -1 || level >= po.n)
		return bp->prior_conversion;
	return bandit_sigmoid(po.mode[level]);
}

/* Pool adjacent violators: make v non-decreasing, weighted by w. */
static void
bandit_isotonic(double *v, const double *w, int n)
{
	double val[PLAN_MAX_LEVELS], wt[PLAN_MAX_LEVELS];
	int cnt[PLAN_MAX_LEVELS], b = 0;

	for (int i = 0; i < n; i++) {
		val[b] = v[i];
		wt[b] = w[i];
		cnt[b] = 1;
		while (b > 0 && val[b - 1] > val[b]) {
			double tw = wt[b - 1] + wt[b];

			val[b - 1] = (val[b - 1] * wt[b - 1] + val[b] * wt[b]) /
			    tw;
			wt[b - 1] = tw;
			cnt[b - 1] += cnt[b];
			b--;
		}
		b++;
	}
	for (int i = 0, k = 0; k < b; k++)
		for (int j = 0; j < cnt[k]; j++)
			v[i++] = val[k];
}

/*
 * One Thompson draw of the conversion of every level, in two stages: the
 * plan's curve is drawn from its posterior (exploration shared by the
 * plan), then the product's curve given that draw, its own spread scaled
 * by n / (n + BANDIT_EXPLORE_VIEWS) of its own exposures (a product
 * explores its departure from the plan only as its own traffic can repay
 * it).  Made non-decreasing in the discount.  Returns the level count.
 */
static int
bandit_sample(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, const struct bandit_params *bp, struct rng *r, double *theta)
{
	struct bandit_post pp, po;
	double x[PLAN_MAX_LEVELS], eta[PLAN_MAX_LEVELS], z[PLAN_MAX_LEVELS];
	double w[PLAN_MAX_LEVELS], own = 0, k;
	int n = bandit_xs(a, bp, x);

	for (int l = 0; l < n; l++)
		own += a->n[ctx][l];
	k = BANDIT_TEMPER * own / (own + BANDIT_EXPLORE_VIEWS);
	if (bandit_plan_post(a, rt, ctx, x, n, bp, &pp) == -1 ||
	    bandit_draw(pp.prec, n, BANDIT_TEMPER, r, z) == -1)
		goto fail;
	for (int l = 0; l < n; l++)
		eta[l] = pp.mode[l] + z[l];
	if (bandit_product_post(a, ctx, x, n, eta, bp, &po) == -1 ||
	    bandit_draw(po.prec, n, k, r, z) == -1)
		goto fail;
	for (int l = 0; l < n; l++) {
		theta[l] = bandit_sigmoid(po.mode[l] + z[l]);
		w[l] = po.prec[l * n + l];
	}
	bandit_isotonic(theta, w, n);
	return n;
fail:
	for (int l = 0; l < n; l++)
		theta[l] = bp->prior_conversion;
	return n;
}

/* Choose the level with the best sampled score, each level's use priced. */
int
bandit_choose_priced(const struct bandit_arms *a,
    const struct plan_runtime *rt, int ctx, int64_t price, double roi_target,
    int32_t allowed_max_bps, const double *use_cost,
    const struct bandit_params *bp, struct rng *r, struct bandit_choice *ch)
{
	int32_t lv[PLAN_MAX_LEVELS];
	double lambda = rt != NULL ? pacing_lambda(rt, roi_target) : 0.0;
	int best = 0, n;

	bandit_levels(a->min_bps, a->max_bps, bp->levels, lv);
	memset(ch, 0, sizeof(*ch));
	n = bandit_sample(a, rt, ctx, bp, r, ch->theta);
	for (int l = 0; l < n; l++) {
		double d = lv[l] / 10000.0;

		ch->score[l] = ch->theta[l] * ((double)price *
		    ((1.0 + lambda) * (1.0 - d) - lambda * roi_target * d) -
		    (use_cost != NULL ? use_cost[l] : 0.0));
		if (l > 0 && lv[l] > allowed_max_bps)
			continue;
		if (ch->score[l] > ch->score[best])
			best = l;
	}
	ch->lambda = lambda;
	ch->level = best;
	ch->bps = lv[best];
	return best;
}

/* Choose the level with the best sampled score. */
int
bandit_choose(const struct bandit_arms *a, const struct plan_runtime *rt,
    int ctx, int64_t price, double roi_target, int32_t allowed_max_bps,
    const struct bandit_params *bp, struct rng *r, struct bandit_choice *ch)
{
	return bandit_choose_priced(a, rt, ctx, price, roi_target,
	    allowed_max_bps, NULL, bp, r, ch);
}

/* One exposure of an arm. */
void
bandit_expose(struct bandit_arms *a, struct plan_runtime *rt, int ctx,
    int level)
{
	a->n[ctx][level] += 1.0;
	if (rt != NULL) {
		rt->pool_n[ctx][level] += 1.0;
		rt->fast_n[ctx][level] += 1.0;
	}
}

/* One conversion of an arm. */
void
bandit_convert(struct bandit_arms *a, struct plan_runtime *rt, int ctx,
    int level)
{
	a->s[ctx][level] += 1.0;
	if (a->s[ctx][level] > a->n[ctx][level])
		a->n[ctx][level] = a->s[ctx][level];
	if (rt != NULL) {
		rt->pool_s[ctx][level] += 1.0;
		if (rt->pool_s[ctx][level] > rt->pool_n[ctx][level])
			rt->pool_n[ctx][level] = rt->pool_s[ctx][level];
		rt->fast_s[ctx][level] += 1.0;
		if (rt->fast_s[ctx][level] > rt->fast_n[ctx][level])
			rt->fast_n[ctx][level] = rt->fast_s[ctx][level];
	}
}
