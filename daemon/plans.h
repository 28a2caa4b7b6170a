/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plans.h - the registry of plans: all plans in memory, indexed by id and
 * by enrolled product, persisted in Redis (sp:plan:<id>, sp:plans, and the
 * plan_id field of each product's hash) so they survive a restart.
 *
 * Writes are asynchronous: the callback runs once Redis acknowledged (ok)
 * or failed.  The registry owns every struct plan it holds.
 */
#ifndef SP_PLANS_H
#define SP_PLANS_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "store.h"

struct plans;

/* ok is 1 on success; err says why not. */
typedef void plans_done_cb(int ok, const char *err, void *arg);

struct plans *plans_new(struct store *st);
void plans_free(struct plans *ps);

/* Load every plan from Redis (replaces what is in memory); async. */
int plans_load(struct plans *ps, plans_done_cb *cb, void *arg);

/* The plan with this id, or NULL. */
struct plan *plans_get(struct plans *ps, const char *id);

/*
 * The active plan that enrolls this product at event time ts (a product may
 * be in several plans whose windows do not overlap): the one whose window
 * holds ts, else the nearest to come, else the latest; NULL when none.
 */
struct plan *plans_for_product_at(struct plans *ps, const char *product_id,
    int64_t ts);

/* The same at the wall clock's now. */
struct plan *plans_for_product(struct plans *ps, const char *product_id);

/* All plans, newest first; the array is the registry's. */
size_t plans_all(struct plans *ps, struct plan *const **out);

/* Number of active plans. */
int plans_active(const struct plans *ps);

/*
 * Whether p may be created now: 0, or -1 with status 409 and a message (a
 * product of p in another active plan whose window overlaps p's, or the
 * shop's active plan for one of p's segments).  The preview asks it too.
 */
int plans_check(struct plans *ps, const struct plan *p, int *status,
    char *err, size_t errlen);

/*
 * Register a new plan (taken over on success) and persist it, after
 * plans_check().  Returns 0 (cb follows), or -1 with an HTTP status (409,
 * 503) and a message; then p is still the caller's.
 */
int plans_create(struct plans *ps, struct plan *p, plans_done_cb *cb,
    void *arg, int *status, char *err, size_t errlen);

/* End a plan now; same conventions (404, 409, 503). */
int plans_end(struct plans *ps, const char *id, const char *reason,
    int64_t now_ms, plans_done_cb *cb, void *arg, int *status, char *err,
    size_t errlen);

/*
 * Enroll products in a segment plan (its members grow; persisted).
 * Products excluded by the plan, already members, or in another active
 * plan are skipped.  Returns how many joined (cb follows when > 0... and
 * also when 0, so callers can count on it), or -1 when the store is down.
 */
int plans_enroll(struct plans *ps, struct plan *p, const char *const *ids,
    size_t n, plans_done_cb *cb, void *arg);

/* The active segment plan of a shop covering a segment bit, or NULL. */
struct plan *plans_for_segment(struct plans *ps, const char *shop_id,
    unsigned bit);

/*
 * Restore the budget figures of active plans with a budget from their
 * products' day counters (after a restart): the cost of days before
 * today and of today, today being the date of now_ms in the schedule's
 * zone.  Async; cb may be NULL.
 */
int plans_refresh_budgets(struct plans *ps, int64_t now_ms,
    plans_done_cb *cb, void *arg);

/* End every active plan whose end time passed (wall clock). */
void plans_expire(struct plans *ps, int64_t now_ms);

/* A fresh random plan id "pl-" + 12 hex digits. */
void plans_new_id(char *buf, size_t len);

#endif
