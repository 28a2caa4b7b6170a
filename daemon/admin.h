/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admin.h - the admin HTTP API (docs/admin-api.md) on libevent's evhttp:
 * plans, status, metrics.  Requests that need Redis answer once it replied;
 * a client that hangs up meanwhile is forgotten safely.
 */
#ifndef SP_ADMIN_H
#define SP_ADMIN_H

#include <stddef.h>

#include <event2/event.h>

#include "config.h"
#include "creators.h"
#include "pipeline.h"
#include "plans.h"
#include "report.h"
#include "segments.h"
#include "store.h"

struct admin;

struct admin_deps {
	struct plans *plans;
	struct store *st;
	struct segments *segments;
	struct report *report;
	struct pipeline *pipeline;
	struct creators *creators;
	const struct sp_config *cfg;
	int (*assigned)(void *arg);     /* input partitions assigned */
	int (*ready)(void *arg);        /* serving: store, plans, Kafka */
	void *arg;
};

/* Listen on [admin] listen; NULL with a reason in err. */
struct admin *admin_new(struct event_base *base, const struct admin_deps *deps,
    char *err, size_t errlen);
void admin_free(struct admin *ad);

/* Re-read settings that may change on reload (limits, token). */
int admin_configure(struct admin *ad, const struct sp_config *cfg, char *err,
    size_t errlen);

#endif
