/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.h - applies one decoded event to one product's state and says what
 * follows: the state writes and the messages to emit.
 *
 * Pure: no I/O, no clock, no global state.  The caller (daemon/pipeline.c)
 * loads a struct product_state from the store, calls engine_apply() for each
 * of the product's events in Kafka order, then writes the accumulated
 * struct effects in one atomic step and emits the messages after the store
 * acknowledged.  Randomness is seeded from the event's Kafka position, so a
 * replayed event makes the same decision and yields the same offer_id.
 *
 * An event at or below the product's recorded position is skipped (a
 * re-delivery).  Every message an event causes is also written, in the
 * same atomic step, to the product's outbox (sp:{P}:outbox, field
 * "<partition>:<offset>"); a skipped event whose outbox entry was loaded
 * emits those messages again, with their original ids, so that a crash
 * between store and producer loses nothing.  The daemon deletes an
 * entry once its messages were delivered.
 *
 * Memory: struct effects and struct product_state own their arrays and
 * strings; release them with effects_release() / product_state_release().
 * The writes' strings live in the effects' arena until effects_reset();
 * the messages' key and payload are malloc'd, each (a caller may take
 * them over and set them to NULL).
 */
#ifndef SP_ENGINE_H
#define SP_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "bandit.h"
#include "event.h"
#include "plan.h"
#include "tools.h"

#define ENGINE_DATE_MAX 11      /* "YYYY-MM-DD" */

/* Settings from [engine] and the plan limits, fixed for a batch. */
struct engine_params {
	double default_roi_target;
	double holdout_pct;             /* 0..50 */
	int64_t offer_ttl_ms;
	int64_t attribution_ms;
	struct bandit_params bandit;
	uint64_t offer_seed;            /* mixes the topic into offer ids */
	unsigned tools;                 /* bit mask of enum checkout_kind */
	int late_view_offers;           /* offer even for views older than
					   the TTL at now_ms (replays) */
};

/*
 * What the engine keeps per customer of a product: the last offer
 * (sp:{P}:offers field) and the last page view (sp:{P}:views field), so a
 * page view re-sent with its event_id is counted once.
 */
struct offer_rec {
	char customer_id[EVENT_ID_MAX];
	char offer_id[64];
	char plan_id[PLAN_ID_MAX];
	int ctx, level;
	int tool;                       /* enum checkout_kind */
	int32_t bps;
	int64_t list_price, offer_price;
	int64_t min_spend, min_qty;     /* voucher / bmsm thresholds, else 0 */
	int64_t ts, expires_at;
	int converted;                  /* 0: unused; 1: an order used it;
					   2: a voucher given back by a
					   cancellation or full refund,
					   usable again (the learner already
					   counted its conversion) */
	int loaded;                     /* 0: none stored for this customer */
	uint32_t last_view;             /* hash of the customer's last view's
					   event_id (sp:{P}:views) */
	int has_last_view;
};

#define ORDER_MAX_LINES 32

/*
 * The lines of one order for this product already applied (sp:{P}:orders
 * field order_id).  Lines are told apart by variant: each line's key is a
 * hash of its variant_id, so a re-sent line is recognised and a second
 * variant of the same order is added.
 */
struct order_rec {
	char order_id[EVENT_ID_MAX];
	char plan_id[PLAN_ID_MAX];
	char date[ENGINE_DATE_MAX];
	int group;                      /* 0 none, 1 treatment, 2 control */
	int64_t lines;                  /* order lines counted */
	int64_t qty, gmv;
	int64_t lines_o, gmv_o;         /* lines that used an offer */
	int64_t cost;                   /* seller-funded discount */
	int status;                     /* 0 paid, 1 cancelled, 2 refunded,
					   3 delivered */
	uint32_t line_keys[ORDER_MAX_LINES];
	int nline_keys;
	char creator_id[EVENT_ID_MAX];  /* the affiliate who drove it, "" */
	char content_id[EVENT_ID_MAX];
	int reviewed;                   /* a review was counted */
	int has_voucher;                /* a line used a voucher offer: */
	struct offer_rec voucher;       /* its record when used, so that a
					   cancellation or full refund before
					   its expiry gives it back */
	int loaded;                     /* 0: none stored for this order */
};

/* The messages one input position caused (sp:{P}:outbox field). */
struct outbox_rec {
	int32_t partition;
	int64_t offset;
	char *value;            /* malloc'd; NULL: none stored */
};

struct product_state {
	char product_id[EVENT_ID_MAX];
	char shop_id[EVENT_ID_MAX];
	int known;                      /* a product event was applied */
	int64_t price, stock, listed_at;
	char category[EVENT_ID_MAX];
	int64_t campaign_price, campaign_start, campaign_end; /* -1: none */
	char campaign_id[EVENT_ID_MAX];
	/* The seller's own promotion on the product, if any (-1: none). */
	char promo_id[EVENT_ID_MAX];
	char promo_tool[EVENT_ID_MAX];
	int32_t promo_bps;
	int64_t promo_start, promo_end;
	int32_t kpart;                  /* last applied position, -1: none */
	int64_t koff;
	struct bandit_arms arms;
	struct tools_arms tools;        /* which tool sells, per context */
	struct tools_platform pp[TOOLS_PLATFORM_KINDS];
	int arms_dirty, product_dirty;
	struct offer_rec *offers;       /* only the customers this batch needs */
	size_t noffers, offers_cap;
	struct order_rec *orders;       /* only the orders this batch needs */
	size_t norders, orders_cap;
	struct outbox_rec *outbox;      /* entries of this batch's positions */
	size_t noutbox, outbox_cap;
};

/* The kinds of key a write goes to; the daemon turns them into names. */
enum fx_key {
	FX_PRODUCT,     /* sp:{P}:product */
	FX_ARMS,        /* sp:{P}:arms */
	FX_OFFERS,      /* sp:{P}:offers */
	FX_ORDERS,      /* sp:{P}:orders */
	FX_VIEWS,       /* sp:{P}:views */
	FX_PPS,         /* sp:{P}:pps: creators' facts (docs/pps.md) */
	FX_OUTBOX,      /* sp:{P}:outbox: messages per input position */
	FX_DAY,         /* sp:{P}:day:<date> (date in the op) */
	FX_UNIQ_T,      /* sp:{P}:uniq:<date>:t  (HyperLogLog) */
	FX_UNIQ_C       /* sp:{P}:uniq:<date>:c */
};

enum fx_op { FX_HSET, FX_HINCRBY, FX_PFADD };

struct fx_write {
	enum fx_op op;
	enum fx_key key;
	char date[ENGINE_DATE_MAX];     /* for FX_DAY, FX_UNIQ_* */
	char *field;                    /* field, NUL, value, NUL, in the
					   effects' arena: valid until
					   effects_reset() */
	char *value;                    /* in field's block; for HINCRBY a
					   decimal */
};

enum fx_topic { FX_TOPIC_OFFERS, FX_TOPIC_DEAD_LETTER, FX_TOPIC_METRICS };

/*
 * Conflicts with other promotions (docs/plans.md): while a platform
 * campaign's window is open the product keeps its campaign price and gets
 * no offer; an offer that would stack on a campaign starting before its
 * expiry beyond the range ends at the campaign's start, and a standing
 * one is re-issued so (same offer_id) when the campaign becomes known
 * (docs/pricing.md); a seller promotion found on an enrolled product is
 * deactivated and replaced (a promotion_deactivated message) at the
 * product's first event in the plan; one arriving for an enrolled product
 * is refused the same way, so promotions never stack.
 */

struct fx_msg {
	enum fx_topic topic;
	char *key;                      /* owned */
	char *payload;                  /* owned JSON text */
};

/* Counters for the daemon's /metrics. */
struct fx_counts {
	uint64_t skipped;               /* re-deliveries */
	uint64_t offers;
	uint64_t holdout;
	uint64_t no_offer;              /* in a plan but no price in range */
	uint64_t conversions;
	uint64_t campaign;              /* no offer: a campaign price holds */
	uint64_t deactivated;           /* seller promotions deactivated */
	uint64_t refused;               /* seller promotions refused */
	uint64_t withheld;              /* offers the guarantee kept back */
	uint64_t campaign_cut;          /* new offers ended at the start of a
					   campaign they would stack on
					   beyond the range */
	uint64_t superseded;            /* standing offers re-issued to end
					   at such a campaign's start */
	uint64_t vouchers_returned;     /* given back by a cancellation or
					   full refund before expiry */
	uint64_t range_refused;         /* offers refused: price outside the
					   range (a bug; should stay 0) */
	uint64_t budget_held;           /* views with no offer: budget paced */
	uint64_t budget_overrun;        /* cost (minor units) credited beyond
					   its offer's budget reservation */
	uint64_t late;                  /* views with no offer: older than the
					   offer TTL when applied */
	uint64_t by_tool[TOOLS_N];      /* offers made, per tool */
};

/* The effects' own memory for the writes' fields and values: chunks
 * that never move, rewound (not freed) by effects_reset(). */
struct fx_chunk;

struct effects {
	struct fx_write *w;
	size_t nw, wcap;
	struct fx_chunk *arena;         /* first chunk, NULL: none yet */
	struct fx_chunk *cur;           /* the chunk being filled */
	struct fx_msg *m;
	size_t nm, mcap;
	int32_t kpart;                  /* the position to record, -1: none */
	int64_t koff;
	struct fx_counts counts;
};

/* What the caller knows about the event beyond its fields. */
struct engine_input {
	const struct event *ev;
	int32_t partition;
	int64_t offset;
	const char *date;               /* event day in the schedule's zone */
	int returning;                  /* customer has bought from the shop */
	double sps;                     /* the shop's Performance Score, -1 */
	struct plan *plan;              /* active plan of the product, or NULL */
	int64_t now_ms;                 /* wall clock when applied, 0: none; a
					   view older than the offer TTL then
					   gets no offer (it would be expired) */
	struct plan *offer_plan;        /* for an order: the plan of the
					   stored voucher offer it names
					   (engine_order_offer_plan()), even
					   ended; NULL: none */
};

/* Empty effects. */
void effects_init(struct effects *fx);
/* Drop all writes and messages, keep the memory. */
void effects_reset(struct effects *fx);
void effects_release(struct effects *fx);

/* A fresh state for product_id; nothing stored yet. */
void product_state_init(struct product_state *ps, const char *product_id);
void product_state_release(struct product_state *ps);

/* The loaded customer record slot (created empty if new). */
struct offer_rec *product_state_offer(struct product_state *ps,
    const char *customer_id);
/* Keep a loaded outbox entry of a position (value copied; NULL: none). */
int product_state_outbox(struct product_state *ps, int32_t partition,
    int64_t offset, const char *value);

/* The loaded order record slot of an order line (created empty if new). */
struct order_rec *product_state_order(struct product_state *ps,
    const char *order_id);

/*
 * Apply one event of this product.  Returns 0, or -1 when out of memory
 * (fx then holds partial writes the caller must discard).
 */
int engine_apply(const struct engine_params *ep, struct product_state *ps,
    const struct engine_input *in, struct effects *fx);

/*
 * Budget pacing (docs/pricing.md, "Budget pacing").  The cap: an offer is
 * made only if the plan's spend plus the worst-case cost of its live
 * offers, this one included, stays within the budget B; an offer's worst
 * case is its discount per unit times ENGINE_BUDGET_UNITS units (at least
 * its min_qty), reserved until ENGINE_BUDGET_GRACE_MS after its credit
 * window ends (expires_at, at most attribution_ms after it was made),
 * rounded up to the hour.  The first order line of an offer replaces its
 * reservation with the line's real cost; cost no reservation covers (more
 * units, a second line, an offer made before a restart, an order after
 * its window) is still credited and counted as overrun, so spend never
 * exceeds B plus the overrun.  The spread: today may spend at most
 * (B - spent before today) / (days left, today included) times
 * 1 + ENGINE_BUDGET_TOLERANCE, counting the live offers at their high
 * expected cost (posterior mean plus two standard deviations).  The
 * lifetime: an admitted offer's lifetime (expires_at - ts) is scaled by
 * h^2, h in [0, 1] the headroom left once it is reserved (the tighter of
 * the cap, over what is left of B, and the spread), never below
 * ENGINE_BUDGET_MIN_LIFE_MS (an offer already shorter keeps its own), so
 * reservations are released sooner the fuller the budget is.
 */
#define ENGINE_BUDGET_TOLERANCE 0.10
#define ENGINE_BUDGET_UNITS 2
#define ENGINE_BUDGET_GRACE_MS 3600000LL
#define ENGINE_BUDGET_SLOT_MS 3600000LL
#define ENGINE_BUDGET_MIN_LIFE_MS 3600000LL /* 1 hour */

/* Today's paced share of a plan's budget at event time ts (-1: none). */
int64_t engine_budget_share(const struct plan *p, int64_t day, int64_t ts);

/*
 * For an order naming the customer's stored voucher offer: that offer's
 * plan id (the caller looks the plan up, even ended, and passes it as
 * engine_input.offer_plan), else NULL.  The voucher's order is credited
 * to its own plan until the voucher's expiry, even after the plan ended.
 */
const char *engine_order_offer_plan(struct product_state *ps,
    const struct event *ev);

/* Nonzero if customer_id falls in the holdout (stable hash). */
int engine_in_holdout(const char *customer_id, double holdout_pct);

/* The units of one order line a tool's offer prices: a flash sale's cap
 * (its offer's "max_qty"; docs/events.md), else 0 (every unit). */
int64_t engine_max_qty(int tool);

/* Nonzero when offer_price is list_price less min_bps..max_bps basis
 * points (inclusive) and within [0, list_price]: the range guarantee. */
int engine_price_in_range(int64_t list_price, int64_t offer_price,
    int32_t min_bps, int32_t max_bps);

/* The offer id of the offer made for the event at this position. */
void engine_offer_id(uint64_t seed, int32_t partition, int64_t offset,
    char *buf, size_t len);

/* The outbox field name of a position, "<partition>:<offset>". */
void engine_outbox_field(int32_t partition, int64_t offset, char *buf,
    size_t len);

/* Serialise / parse the hash values of offers and orders. */
int offer_rec_format(const struct offer_rec *o, char *buf, size_t len);
int offer_rec_parse(struct offer_rec *o, const char *s);
/* The sp:{P}:views value ("%08x" hash of the last view's event_id). */
int offer_rec_parse_view(struct offer_rec *o, const char *s);
int order_rec_format(const struct order_rec *o, char *buf, size_t len);
int order_rec_parse(struct order_rec *o, const char *s);

/*
 * Load the product hash and the arms hash (flat name/value pairs as HGETALL
 * returns them).  Unknown fields are ignored; a malformed value is an error
 * (0 or -1 with err).
 */
int product_state_load(struct product_state *ps, const char *const *names,
    const char *const *values, size_t n, char *err, size_t errlen);
int product_state_load_arms(struct product_state *ps,
    const char *const *names, const char *const *values, size_t n,
    char *err, size_t errlen);

/*
 * After the last event of a batch: add the writes of the product and arms
 * hashes if they changed.  Returns 0 or -1 (out of memory).
 */
int engine_flush(const struct product_state *ps, struct effects *fx);

/* The position recorded as "partition:offset", "" when none. */
void product_state_kpos(const struct product_state *ps, char *buf,
    size_t len);

/* Nonzero if a position recorded as product_state_kpos() writes it covers
 * message partition@offset: the same partition, at or past its offset
 * (the rule by which engine_apply() skips a re-delivered event). */
int engine_kpos_covers(const char *kpos, int32_t partition, int64_t offset);

/* A dead-letter payload for a message that failed (malloc'd JSON). */
char *engine_dead_letter(const char *reason, const char *payload,
    size_t len, const char *topic, int32_t partition, int64_t offset,
    int64_t now_ms);

#endif
