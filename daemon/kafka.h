/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kafka.h - the Kafka consumer (group member, manual offset store and
 * commit) and the idempotent producer, both woken through the libevent
 * loop with rd_kafka_queue_io_event_enable().
 *
 * Messages returned by kafka_consume() belong to the caller, who stores
 * their offsets once their effects are durable and then destroys them.
 */
#ifndef SP_KAFKA_H
#define SP_KAFKA_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/event.h>
#include <librdkafka/rdkafka.h>

#include "config.h"

struct kafka;

struct kafka_cbs {
	/* Input may be available: call kafka_consume(). */
	void (*readable)(void *arg);
	/* A produced message was delivered (err 0) or failed. */
	void (*delivered)(const rd_kafka_message_t *m, void *opaque,
	    void *arg);
	/* The assignment changed; n partitions are now assigned. */
	void (*assigned)(int n, void *arg);
};

/* Create consumer and producer; NULL with a reason in err. */
struct kafka *kafka_new(struct event_base *base, const struct config_kafka *cfg,
    const struct kafka_cbs *cbs, void *arg, char *err, size_t errlen);
void kafka_free(struct kafka *k);

/* Join the group on the input topic; 0 or -1. */
int kafka_subscribe(struct kafka *k);

/* Up to max messages now (never blocks); serves rebalances too. */
ssize_t kafka_consume(struct kafka *k, rd_kafka_message_t **msgs,
    size_t max);

/* Produce a copy of payload; opaque comes back in the delivery callback. */
int kafka_produce(struct kafka *k, const char *topic, const char *key,
    size_t keylen, const char *payload, size_t len, void *opaque);

/* Mark messages processed: their offset + 1 is stored for commit. */
void kafka_store(struct kafka *k, rd_kafka_message_t **msgs, size_t n);

/* Commit stored offsets (async, or sync when async is 0). */
void kafka_commit(struct kafka *k, int async);

/*
 * Pause or resume fetching on the whole assignment (also on partitions
 * assigned while paused).  Pausing drops what was prefetched; fetching
 * resumes after the last message kafka_consume() returned.
 */
void kafka_pause(struct kafka *k, int paused);
int kafka_paused(const struct kafka *k);

/* Partitions assigned now. */
int kafka_assigned(const struct kafka *k);

/* Leave the group and flush the producer, waiting at most timeout_ms. */
void kafka_close(struct kafka *k, int timeout_ms);

/* Sum of (high watermark - position) over the assignment, or -1. */
int64_t kafka_lag(struct kafka *k);

#endif
