/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.h - moves batches of input events through the engine:
 *
 *   take    up to [kafka] batch_max messages; decode each (a bad one
 *           becomes a dead letter); group the good ones by product;
 *   load    one script call per product reads its state, the offers of the
 *           batch's customers and the order lines it names; one SMISMEMBER
 *           per shop says which customers are returning buyers;
 *   apply   engine_apply() for every event in Kafka order;
 *   write   one script call per product applies the batch's writes if the
 *           product's recorded position is still the one loaded (else the
 *           batch is loaded and applied again);
 *   emit    offers and dead letters are produced once Redis acknowledged;
 *   commit  offsets are stored once every message was delivered, and
 *           committed every [kafka] commit_interval_ms.
 *
 * Two batches overlap: once batch N's writes are sent, batch N+1 is
 * taken, decoded and its load sent on the same connection, so Redis runs
 * it after N's writes and it reads what they wrote.  N+1 is applied only
 * once every write of N was acknowledged and N emitted, on top of N's
 * results in memory; if a write of N fails, N+1's load is discarded and
 * its messages are put back before any held ones, to be taken again
 * after N's retry (a retried batch is written with nothing behind it).
 * Applying, emitting and landing stay in Kafka order.
 * Once written and emitted a batch becomes a flight awaiting its
 * delivery reports (at most four flights; they land, and their offsets
 * are stored, in order).  A Redis failure or timeout retries the batch
 * from the load step after a backoff, so nothing is lost or applied
 * twice; while Redis is away the input is paused and the consumer still
 * polled.
 */
#ifndef SP_PIPELINE_H
#define SP_PIPELINE_H

#include <event2/event.h>

#include "config.h"
#include "engine.h"
#include "kafka.h"
#include "plans.h"
#include "store.h"

struct pipeline;

struct pipeline *pipeline_new(struct event_base *base,
    const struct sp_config *cfg, struct store *st, struct plans *plans);
void pipeline_free(struct pipeline *pl);

/* The Kafka client to take from (set once both exist). */
void pipeline_set_kafka(struct pipeline *pl, struct kafka *k);

/* Engine parameters from the config (again after a reload). */
void pipeline_configure(struct pipeline *pl, const struct sp_config *cfg);

/* Input may be available, or the store came back: take a batch if idle. */
void pipeline_kick(struct pipeline *pl);

/* Kafka delivery report of a message the pipeline produced. */
void pipeline_delivered(struct pipeline *pl, const rd_kafka_message_t *m,
    void *opaque);

/* Stop taking batches; done() runs once no batch is in flight. */
void pipeline_drain(struct pipeline *pl, void (*done)(void *), void *arg);

/* The latest event time seen for a shop (epoch ms), or -1. */
int64_t pipeline_shop_time(const struct pipeline *pl, const char *shop_id);

/* The engine parameters in use (for explain). */
const struct engine_params *pipeline_params(const struct pipeline *pl);

/* Nonzero while a batch is in flight. */
int pipeline_busy(const struct pipeline *pl);

#endif
