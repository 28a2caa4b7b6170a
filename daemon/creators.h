/* SPDX-License-Identifier: Apache-2.0 */
/*
 * creators.h - the creators' Promotion Performance Score (engine/pps.h),
 * computed daily with the nightly run and on demand: it reads the facts the
 * engine keeps per product (sp:{P}:pps), the creators' content records
 * (sp:pps:content:<creator>) and the products' review counts, scores every
 * creator for a day, ranks them within their category, and stores what a
 * creator sees in sp:pps:score:<creator> (and the day's score in
 * sp:pps:history:<creator>).
 */
#ifndef SP_CREATORS_H
#define SP_CREATORS_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "store.h"

struct creators;

typedef void creators_done_cb(const json_t *result, int status,
    const char *err, void *arg);

struct creators *creators_new(struct event_base *base, struct store *st,
    const struct sp_config *cfg);
void creators_free(struct creators *cr);

/* Re-arm the nightly timer (after a reload). */
void creators_configure(struct creators *cr, const struct sp_config *cfg);

/* Score every creator for date; -1 if a run is going or the store is down. */
int creators_run(struct creators *cr, const char *date, creators_done_cb *cb,
    void *arg);

/* What creator_id sees (404 when never scored). */
int creators_show(struct creators *cr, const char *creator_id,
    creators_done_cb *cb, void *arg);

#endif
