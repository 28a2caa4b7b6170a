/* SPDX-License-Identifier: Apache-2.0 */
/*
 * segments.h - recomputes the shops' product segments (engine/segment.h)
 * from the per-product day counters, on a schedule and on demand, stores
 * them as sp:segment:<shop>:<segment> sets, and enrolls the products that
 * entered a segment in the shop's active plan for it (docs/plans.md).
 *
 * A run reads sp:shops, each shop's sp:shop:<shop>:products, each
 * product's catalog row and the window's day counters; "now" is the
 * latest event time seen for the shop (wall clock if none yet).  One run
 * at a time.
 */
#ifndef SP_SEGMENTS_H
#define SP_SEGMENTS_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "pipeline.h"
#include "plans.h"
#include "store.h"

struct segments;

/*
 * A run finished: result (borrowed, valid during the call) maps each shop
 * to its segment sizes and enrollments; err is set when it failed.
 */
typedef void segments_done_cb(const json_t *result, const char *err,
    void *arg);

struct segments *segments_new(struct event_base *base, struct store *st,
    struct plans *plans, struct pipeline *pl, const struct sp_config *cfg);
void segments_free(struct segments *sg);

/* Settings from [segments] (again after a reload). */
void segments_configure(struct segments *sg, const struct sp_config *cfg);

/* Start a run for one shop (NULL: every shop); -1 if one is running. */
int segments_run(struct segments *sg, const char *shop, segments_done_cb *cb,
    void *arg);

/*
 * The products now in the shop's segments named by bits; async, cb gets
 * the ids (borrowed) or err.
 */
typedef void segments_members_cb(const char *const *ids, size_t n,
    const char *err, void *arg);
int segments_members(struct segments *sg, const char *shop, unsigned bits,
    segments_members_cb *cb, void *arg);

#endif
