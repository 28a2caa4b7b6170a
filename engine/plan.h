/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan.h - a seller's promotion plan: which products, for how long, which
 * discount range, which ROI target and budget.
 *
 * Pure (uses jansson for JSON, no I/O).  plan_from_request() validates an
 * admin API request body; plan_to_json() gives the API's view;
 * plan_to_fields() and plan_from_fields() convert to and from the Redis hash
 * `sp:plan:<id>` (docs/keyspace.md).  A struct plan owns its arrays and its
 * lookup maps; plan_release() frees them, so a plan must not be copied by
 * value.  The runtime part (struct plan_runtime) is the learner's plan-level
 * state, kept in memory only.
 */
#ifndef SP_PLAN_H
#define SP_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "event.h"
#include "strmap.h"

#define PLAN_ID_MAX 40
#define PLAN_NAME_MAX 128
#define PLAN_MAX_PRODUCTS 10000
#define PLAN_MAX_LEVELS 8
#define PLAN_CONTEXTS 2         /* 0: new to the shop, 1: returning buyer */
#define PLAN_DAY_MS 86400000LL
#define PLAN_RESV_SLOTS 768     /* hours of budget reservations: 32 days */

enum plan_status { PLAN_ACTIVE, PLAN_ENDED };

enum plan_segment {
	SEG_TRENDING = 1 << 0,
	SEG_CLEARANCE = 1 << 1,
	SEG_BEST_SELLING = 1 << 2,
	SEG_NON_COMPETITIVE = 1 << 3,
	SEG_NEWLY_LISTED = 1 << 4
};

struct plan_range {
	char product_id[EVENT_ID_MAX];
	int32_t min_bps, max_bps;
};

/* Plan-wide learner state: the pooled prior and the ROI pacing multiplier. */
struct plan_runtime {
	int64_t pool_tref;      /* event time the pool was last decayed to */
	double pool_n[PLAN_CONTEXTS][PLAN_MAX_LEVELS];  /* decayed exposures */
	double pool_s[PLAN_CONTEXTS][PLAN_MAX_LEVELS];  /* decayed conversions */
	/* The same counts with a fast half-life, for change detection */
	int64_t fast_tref;
	double fast_n[PLAN_CONTEXTS][PLAN_MAX_LEVELS];
	double fast_s[PLAN_CONTEXTS][PLAN_MAX_LEVELS];
	int64_t drift_hour;     /* event-time hour of the last test */
	int64_t drift_ms[PLAN_CONTEXTS];        /* last detected change; 0 */
	uint64_t drifts;        /* changes detected */
	int64_t pace_day;       /* day index (event time) of the figures below */
	int64_t day_gmv;        /* treatment GMV today, minor units */
	int64_t day_cost;       /* seller-funded promotion cost today */
	double lambda;          /* ROI multiplier, >= 0 */
	double pace_list;       /* running mean list value of an order line */
	/* Budget pacing (engine.c): spend so far before today, and today's */
	int64_t budget_day;     /* day number of the two figures below */
	int64_t spent_before;   /* promotion cost of the plan's past days */
	int64_t spent_today;    /* realized promotion cost today */
	/* Reservations of live offers, by the hour their credit window ends */
	int64_t resv_upto;      /* hour slots up to this one are released */
	int64_t resv_worst;     /* sum of the live slots' worst cases */
	double resv_exp;        /* sum of the live slots' expected costs */
	int64_t overrun;        /* cost credited beyond its reservation */
	struct plan_resv {
		int64_t slot;   /* hour number; 0: empty */
		int64_t worst;  /* worst-case cost still reserved */
		double exp;     /* high-estimate cost */
	} resv[PLAN_RESV_SLOTS];
};

struct plan {
	char plan_id[PLAN_ID_MAX];
	char name[PLAN_NAME_MAX];
	char shop_id[EVENT_ID_MAX];
	unsigned segments;      /* enum plan_segment bits; 0: custom plan */
	char (*products)[EVENT_ID_MAX];
	size_t nproducts;
	char (*exclude)[EVENT_ID_MAX];
	size_t nexclude;
	int days;
	int32_t min_bps, max_bps;
	struct plan_range *ranges;
	size_t nranges;
	double roi_target;
	int64_t budget;         /* minor units; -1: none */
	enum plan_status status;
	int64_t start_ms, end_ms, created_ms, ended_ms; /* ended_ms 0: not */
	char end_reason[64];
	struct plan_runtime rt;
	struct strmap index;    /* product id -> its products[] entry */
	struct strmap xindex;   /* product id -> its exclude[] entry */
	struct strmap rindex;   /* product id -> its ranges[] entry */
};

/*
 * Plans start on publish: a request's "start" may lie in the future, or at
 * most PLAN_START_SLACK_MS before now (clock skew between the seller's
 * client and the daemon), unless allow_past_start is set.
 */
#define PLAN_START_SLACK_MS (5 * 60 * 1000LL)

/* Limits and defaults a request is checked against (from the config). */
struct plan_limits {
	double default_roi_target;
	int max_discount_pct;
	int allow_past_start;   /* [plans] allow_past_start: replays only */
};

/*
 * Build a plan from a POST /v1/plans body.  plan_id, created_ms and
 * start_ms come from the caller (now_ms); status is active.  Returns 0, or
 * -1 with a message for a 422 in err.  On -1, p holds nothing to free.
 */
int plan_from_request(struct plan *p, const char *body, size_t len,
    const struct plan_limits *lim, int64_t now_ms, char *err, size_t errlen);

/* The plan as a JSON object (new reference), as the admin API shows it. */
json_t *plan_to_json(const struct plan *p);

/*
 * The plan as flat string fields for a Redis hash: fills names[] and
 * values[] (malloc'd strings the caller frees with plan_fields_release)
 * and returns the count, or -1.
 */
int plan_to_fields(const struct plan *p, char ***names, char ***values);
void plan_fields_release(char **names, char **values, int n);

/* Rebuild a plan from hash fields (pairs name, value); 0 or -1 with err. */
int plan_from_fields(struct plan *p, const char *const *names,
    const char *const *values, size_t n, char *err, size_t errlen);

/*
 * Replace the enrolled members of a segment plan (ids need not be sorted,
 * must be unique); 0, or -1 with err and the plan unchanged.
 */
int plan_set_products(struct plan *p, const char *const *ids, size_t n,
    char *err, size_t errlen);

/* Free the plan's arrays and maps and zero it; p may then be reused. */
void plan_release(struct plan *p);

/* Nonzero if the plan is active at event time ts. */
int plan_is_active(const struct plan *p, int64_t ts);

/* Nonzero if product_id is enrolled (listed and not excluded). */
int plan_has_product(const struct plan *p, const char *product_id);

/* The discount range of a product, per-product range first. */
void plan_range_for(const struct plan *p, const char *product_id,
    int32_t *min_bps, int32_t *max_bps);

/* The wire name of a segment bit ("best_selling"), or NULL. */
const char *plan_segment_name(unsigned bit);

/*
 * The budget's reservations of live offers as one line, to keep across a
 * restart: "1 <resv_upto> <overrun>" then " <slot>:<worst>:<exp>" per
 * held slot.  Like snprintf: writes at most len bytes (NUL included) and
 * returns the length the whole line needs.
 */
size_t plan_resv_format(const struct plan_runtime *rt, char *buf,
    size_t len);

/*
 * Restore what plan_resv_format() wrote into rt's reservations, overrun
 * and their sums (the spend figures are left alone); 0, or -1 with the
 * reason and rt's reservations unchanged.
 */
int plan_resv_parse(struct plan_runtime *rt, const char *s, char *reason,
    size_t reasonlen);

#endif
