/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reco.h - Recommended Strategies for a shop (engine/recommend.h): reads
 * the shop's products, their catalog rows, learnt arms and trailing-window
 * counters, pools what plans taught per category, computes the
 * recommendation, and keeps it as sp:reco:<id> for seven days so that
 * POST /v1/recommendations/{id}/apply can turn it into a plan.
 */
#ifndef SP_RECO_H
#define SP_RECO_H

#include <jansson.h>

#include "config.h"
#include "pipeline.h"
#include "plans.h"
#include "store.h"

#define RECO_WINDOW_DAYS 30
#define RECO_TTL_S (7 * 86400)

/* The recommendation (borrowed), or an HTTP status and err. */
typedef void reco_cb(const json_t *rec, int status, const char *err,
    void *arg);

/* Compute and store the shop's recommendation. */
int reco_compute(struct store *st, struct plans *plans,
    const struct pipeline *pl, const struct sp_config *cfg,
    const char *shop_id, reco_cb *cb, void *arg);

/* Read a stored recommendation by id (404 when unknown or expired). */
int reco_get(struct store *st, const char *id, reco_cb *cb, void *arg);

#endif
