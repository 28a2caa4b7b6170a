/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pps.h - the Creator Promotion Performance Score (PPS): a creator's score
 * from 0 to 5, from the orders they drove and the content they posted over
 * the last 90 days (docs/pps.md has every formula and default).
 *
 * Pure: every function is fed the creator's facts, the day to score and the
 * parameters; nothing here reads a clock, logs or keeps state.  Facts are
 * per-day counts that a daemon can keep idempotently (one counter per
 * creator, product or content item and day), so the score of any day can
 * be recomputed from them: facts dated after the scored day are ignored.
 * The facts and the strings they point to are owned by the caller; output
 * strings (category, ids) point into the caller's facts and live as long as
 * they do.  The only allocation is a scratch array inside pps_compute(),
 * freed before it returns.
 *
 * Days are day numbers: days since 1970-01-01 (pps_day_parse() converts a
 * "YYYY-MM-DD" date of the daemon's timezone).  Errors: 0 or -1 with the
 * reason in reason (always NUL-terminated, at most reasonlen bytes).
 */
#ifndef SP_PPS_H
#define SP_PPS_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define PPS_SCORE_MAX_X100 500
#define PPS_CHANGE_DAYS 7       /* "change over the last 7 days" */
#define PPS_DRAGS_MAX 3         /* items shown as pulling the score down */

/* The tunables, with their defaults (pps_params_default) and bounds. */
struct pps_params {
	int window_days;        /* 90; 1..365: facts of the last N days count */
	int64_t min_category_orders;    /* 30; >= 1: delivered, one category */
	int64_t min_videos;     /* 20; >= 1: videos posted in the window */
	int64_t min_lives;      /* 5; >= 1: livestreams in the window */
	double half_life_days;  /* 30; 1..3650: recency w(a) = 0.5^(a/h) */
	double prior_reviews;   /* 2; 0..1000: pseudo-reviews at the SPS */
	double sps_unknown;     /* 3.5; 0..5: SPS used when none is known */
	double content_half_orders;     /* 5; 0.01..1e6: reach 1/2 at N */
	double product_share;   /* 0.7; 0..1: product part, content 1 - it */
	int64_t rec_min_reviews;        /* 20; >= 1: to be recommended */
	double rec_z;           /* 1.96; 0.1..10: Wilson bound's z */
	double rec_min_lower;   /* 0.8; 0..1: least Wilson lower bound */
};

/* One day of a product the creator promoted: the orders of that day. */
struct pps_product_day {
	int32_t day;            /* day of the orders */
	int64_t orders;         /* order lines driven, net of cancellations */
	int64_t delivered;      /* of those, delivered */
	int64_t positive;       /* reviews of those orders rated 4 or 5 */
	int64_t negative;       /* rated 1 to 3, not about shipping */
	int64_t negative_shipping;      /* rated 1 to 3, about shipping:
					 * never counted (kept for display) */
	double sps;             /* the seller's SPS when the orders were
				 * made, 0..5; < 0: unknown */
};

/* A product the creator promoted, with its days (any order). */
struct pps_product {
	const char *product_id;         /* not NULL */
	const char *category;           /* NULL or "": uncategorised */
	const struct pps_product_day *days;
	size_t ndays;
};

/* Orders a content item drove on one day. */
struct pps_order_day {
	int32_t day;
	int64_t orders;
};

/* A video or livestream the creator posted. */
struct pps_content {
	const char *content_id;         /* not NULL */
	enum content_kind kind;
	const char *category;           /* NULL or "": none */
	int32_t day;                    /* day it was posted (first seen) */
	int removed;                    /* 0 or 1; ignored for a livestream */
	int32_t removed_day;            /* day the removal was seen */
	const struct pps_order_day *orders;
	size_t norders;
};

/* Everything known about one creator. */
struct pps_facts {
	const char *creator_id;
	const struct pps_product *products;
	size_t nproducts;
	const struct pps_content *contents;
	size_t ncontents;
};

/* Why a creator is eligible (bits of pps_score.criteria). */
#define PPS_BY_ORDERS 0x1       /* min_category_orders in one category */
#define PPS_BY_VIDEOS 0x2
#define PPS_BY_LIVES 0x4

/* The score of one day and its parts. */
struct pps_score {
	int eligible;                   /* criteria != 0 */
	unsigned criteria;              /* PPS_BY_* */
	const char *category;           /* the creator's category, "" none */
	int64_t category_delivered;     /* delivered orders in it (window) */
	int64_t videos, lives;          /* posted in the window */
	int has_product, has_content;   /* whether each part has any weight */
	double product;                 /* product performance, 0..1 */
	double content;                 /* content performance, 0..1 */
	double product_weight;          /* sum of orders x recency */
	double content_weight;          /* sum of recency of content items */
	double score;                   /* 0..5, exact; -1: no score */
	int score_x100;                 /* score in hundredths, rounded;
					 * -1: no score (not eligible) */
};

/* The defaults above. */
void pps_params_default(struct pps_params *p);

/* Check every parameter against its bounds. */
int pps_params_check(const struct pps_params *p, char *reason,
    size_t reasonlen);

/* The score of day today from the facts; fails on invalid facts or params. */
int pps_compute(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_score *out, char *reason,
    size_t reasonlen);

/*
 * The change of the score over days days (PPS_CHANGE_DAYS):
 * score_x100(today) - score_x100(today - days) in *delta_x100, and
 * *has_change 0 (delta 0) unless the creator has a score on both days.
 */
int pps_change(const struct pps_facts *f, int32_t today, int32_t days,
    const struct pps_params *p, int *delta_x100, int *has_change,
    char *reason, size_t reasonlen);

/* A product or content item that pulls the score down. */
enum pps_item_kind { PPS_ITEM_PRODUCT, PPS_ITEM_CONTENT };

struct pps_drag {
	enum pps_item_kind kind;
	const char *id;         /* product_id or content_id, into the facts */
	double points;          /* < 0: the score would be higher by -points
				 * if this item did as well as the creator's
				 * average of its part */
};

/*
 * The at most max items with the most negative points, most negative
 * first (ties: products first, then by id), into out; their number in *n.
 */
int pps_drags(const struct pps_facts *f, int32_t today,
    const struct pps_params *p, struct pps_drag *out, size_t max, size_t *n,
    char *reason, size_t reasonlen);

/* One creator to rank. */
struct pps_rank_entry {
	const char *creator_id;         /* not NULL */
	const char *category;           /* NULL same as "" */
	int score_x100;
	size_t rank;    /* out: 1 + creators of the category scoring higher */
	size_t of;      /* out: creators in the category */
};

/*
 * Rank creators within their category (ties share a rank: 1, 2, 2, 4).
 * Sorts e in place: by category, then score (highest first), then id.
 */
void pps_rank(struct pps_rank_entry *e, size_t n);

/* The benefits a score unlocks. */
enum pps_benefit {
	PPS_BENEFIT_WIDER_REACH,        /* from 2.00 */
	PPS_BENEFIT_PRIORITY_SAMPLES,   /* from 3.50; placeholder name */
	PPS_BENEFIT_LIVE_GIVEAWAYS,     /* from 4.00 */
	PPS_BENEFIT__COUNT
};

/* The benefit's name ("wider_reach"), or "unknown". */
const char *pps_benefit_name(enum pps_benefit b);

/* The least score_x100 that unlocks the benefit; -1 if unknown. */
int pps_benefit_min_x100(enum pps_benefit b);

/* Whether score_x100 unlocks the benefit (a score of -1 unlocks none). */
int pps_benefit_unlocked(enum pps_benefit b, int score_x100);

/* Review counts of a product over all its orders, to recommend it. */
struct pps_product_stat {
	const char *product_id;         /* not NULL */
	const char *category;           /* NULL or "": uncategorised */
	int64_t positive;       /* reviews rated 4 or 5 */
	int64_t reviews;        /* reviews counted: all but those rated 1 to 3
				 * about shipping; >= positive */
};

struct pps_recommendation {
	size_t index;           /* into the stats array */
	double rate;            /* positive / reviews */
	double lower;           /* Wilson lower bound at rec_z */
};

/*
 * The at most max products with rec_min_reviews reviews or more and a
 * Wilson lower bound of rec_min_lower or more, highest bound first (ties:
 * more reviews, then product_id); only those of category unless it is
 * NULL.  Fails on a stat with negative counts or positive > reviews.
 */
int pps_recommend(const struct pps_product_stat *s, size_t n,
    const char *category, const struct pps_params *p,
    struct pps_recommendation *out, size_t max, size_t *nout, char *reason,
    size_t reasonlen);

/* The Wilson score interval's lower bound of positive / n; 0 if n <= 0. */
double pps_wilson_lower(int64_t positive, int64_t n, double z);

/* The day number of a "YYYY-MM-DD" date (0001-01-01 to 9999-12-31). */
int pps_day_parse(const char *date, int32_t *day, char *reason,
    size_t reasonlen);

/* "YYYY-MM-DD" of a day number into buf (11 bytes or more). */
void pps_day_format(int32_t day, char *buf, size_t len);

/* One SPS reading and the event time of the shop event that gave it. */
struct pps_sps {
	int64_t ts;
	double sps;
};

/*
 * The shop's SPS in force at the time ts of an order (docs/pps.md, "SPS
 * at the time of promotion"): of best (NULL: none yet) and v[0..n), the
 * latest reading whose ts is <= ts, else the earliest after ts.  Called
 * once per source of readings, it returns the pick so far (NULL if none).
 */
const struct pps_sps *pps_sps_pick(const struct pps_sps *best,
    const struct pps_sps *v, size_t n, int64_t ts);

#endif
