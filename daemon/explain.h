/* SPDX-License-Identifier: Apache-2.0 */
/*
 * explain.h - why a price was chosen for a product and a shopper: the
 * product's learnt arms with their posteriors, the tools and their
 * eligibility, the constraints that applied (range, ROI multiplier and the
 * day's ROI guard, budget pacing, campaign and platform promotions), the
 * shopper's context and holdout status, and the offer they hold.  Read
 * from Redis and the plan's in-memory learner state; changes nothing.
 */
#ifndef SP_EXPLAIN_H
#define SP_EXPLAIN_H

#include <jansson.h>

#include "pipeline.h"
#include "plans.h"
#include "store.h"

/* The explanation (borrowed during the call), or err. */
typedef void explain_cb(const json_t *out, int status, const char *err,
    void *arg);

int explain_run(struct store *st, struct plans *plans,
    const struct pipeline *pl, const char *product_id,
    const char *customer_id, explain_cb *cb, void *arg);

#endif
