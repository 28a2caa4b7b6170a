/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kafka.c - librdkafka consumer and producer on the libevent loop.
 */
#define _GNU_SOURCE
#include "kafka.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kafka {
	struct event_base *base;
	const struct config_kafka *cfg;
	struct kafka_cbs cbs;
	void *arg;
	rd_kafka_t *consumer, *producer;
	rd_kafka_queue_t *cq, *pq;
	int cpipe[2], ppipe[2];
	struct event *cev, *pev, *tick;
	int assigned;
	int stored;             /* offsets stored since the last commit */
	int paused;
};

/* Set one property or fail with the reason. */
static int
kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value,
    char *err, size_t errlen)
{
	if (rd_kafka_conf_set(conf, name, value, err, errlen) !=
	    RD_KAFKA_CONF_OK)
		return -1;
	return 0;
}

/* Client errors: log, count; fatal ones stop the daemon. */
static void
kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)opaque;
	stats.kafka_errors++;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char buf[512];

		rd_kafka_fatal_error(rk, buf, sizeof(buf));
		fatalx("kafka %s: fatal error: %s", rd_kafka_name(rk), buf);
	}
	log_warnx("kafka %s: %s: %s", rd_kafka_name(rk),
	    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* librdkafka's own log lines, at their level. */
static void
kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	(void)rk;
	if (level <= 4)
		log_warnx("kafka %s: %s", fac, buf);
	else
		log_debug("kafka %s: %s", fac, buf);
}

/* Eager rebalance: commit what is stored before giving partitions up. */
static void
kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kafka *k = opaque;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		rd_kafka_assign(rk, parts);
		if (k->paused)
			rd_kafka_pause_partitions(rk, parts);
		k->assigned = parts->cnt;
		log_info("kafka: %d partitions of \"%s\" assigned", parts->cnt,
		    k->cfg->input_topic);
	} else {
		if (k->stored)
			rd_kafka_commit(rk, NULL, 0);
		k->stored = 0;
		rd_kafka_assign(rk, NULL);
		k->assigned = 0;
		log_info("kafka: partitions revoked (%s)",
		    rd_kafka_err2name(err));
	}
	if (k->cbs.assigned != NULL)
		k->cbs.assigned(k->assigned, k->arg);
}

/* Delivery report of one produced message. */
static void
kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka *k = opaque;

	(void)rk;
	if (k->cbs.delivered != NULL)
		k->cbs.delivered(m, m->_private, k->arg);
}

/* The consumer's configuration. */
static rd_kafka_conf_t *
kafka_consumer_conf(struct kafka *k, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_conf_t *tconf;
	char qk[32], st[32], fw[32];

	snprintf(qk, sizeof(qk), "%d", k->cfg->queue_max_kbytes);
	snprintf(fw, sizeof(fw), "%d", k->cfg->fetch_wait_max_ms);
	snprintf(st, sizeof(st), "%d", k->cfg->session_timeout_ms);
	if (kafka_set(conf, "bootstrap.servers", k->cfg->brokers, err,
	    errlen) == -1 ||
	    kafka_set(conf, "group.id", k->cfg->group_id, err, errlen) == -1 ||
	    kafka_set(conf, "client.id", k->cfg->client_id, err, errlen) == -1 ||
	    kafka_set(conf, "enable.auto.commit", "false", err, errlen) == -1 ||
	    kafka_set(conf, "enable.auto.offset.store", "false", err,
	    errlen) == -1 ||
	    kafka_set(conf, "queued.max.messages.kbytes", qk, err,
	    errlen) == -1 ||
	    kafka_set(conf, "session.timeout.ms", st, err, errlen) == -1 ||
	    kafka_set(conf, "fetch.wait.max.ms", fw, err, errlen) == -1) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	tconf = rd_kafka_topic_conf_new();
	if (rd_kafka_topic_conf_set(tconf, "auto.offset.reset", "earliest",
	    err, errlen) != RD_KAFKA_CONF_OK) {
		rd_kafka_topic_conf_destroy(tconf);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_default_topic_conf(conf, tconf);
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rd_kafka_conf_set_rebalance_cb(conf, kafka_rebalance_cb);
	if (kafka_set(conf, "log.queue", "true", err, errlen) == -1) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

/* The producer's configuration: idempotent, small linger. */
static rd_kafka_conf_t *
kafka_producer_conf(struct kafka *k, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char lg[32];

	snprintf(lg, sizeof(lg), "%d", k->cfg->linger_ms);
	if (kafka_set(conf, "bootstrap.servers", k->cfg->brokers, err,
	    errlen) == -1 ||
	    kafka_set(conf, "client.id", k->cfg->client_id, err, errlen) == -1 ||
	    kafka_set(conf, "enable.idempotence", "true", err, errlen) == -1 ||
	    kafka_set(conf, "linger.ms", lg, err, errlen) == -1 ||
	    kafka_set(conf, "queue.buffering.max.messages", "1000000", err,
	    errlen) == -1) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
	if (kafka_set(conf, "log.queue", "true", err, errlen) == -1) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

/* Drain a wake-up pipe. */
static void
kafka_drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The consumer queue became non-empty. */
static void
kafka_consumer_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka *k = arg;

	(void)what;
	kafka_drain(fd);
	if (k->cbs.readable != NULL)
		k->cbs.readable(k->arg);
}

/* The producer's main queue has delivery reports. */
static void
kafka_producer_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka *k = arg;

	(void)what;
	kafka_drain(fd);
	rd_kafka_poll(k->producer, 0);
}

/* Safety net: wake-ups are edge-triggered, so poll now and then. */
static void
kafka_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka *k = arg;

	(void)fd;
	(void)what;
	rd_kafka_poll(k->producer, 0);
	if (k->cbs.readable != NULL)
		k->cbs.readable(k->arg);
}

/* A non-blocking pipe whose read end wakes the loop for a queue. */
static struct event *
kafka_wire(struct kafka *k, rd_kafka_queue_t *q, int p[2],
    event_callback_fn fn)
{
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return NULL;
	rd_kafka_queue_io_event_enable(q, p[1], "1", 1);
	return event_new(k->base, p[0], EV_READ | EV_PERSIST, fn, k);
}

/* Create both clients and wire them into the loop. */
static int
kafka_start(struct kafka *k, char *err, size_t errlen)
{
	rd_kafka_conf_t *cc, *pc;
	struct timeval tv = { 0, 100000 };

	if ((cc = kafka_consumer_conf(k, err, errlen)) == NULL ||
	    (k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err,
	    errlen)) == NULL)
		return -1;
	rd_kafka_poll_set_consumer(k->consumer);
	if ((pc = kafka_producer_conf(k, err, errlen)) == NULL ||
	    (k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err,
	    errlen)) == NULL)
		return -1;
	/* librdkafka's log lines come through the polled queues, so they
	 * are written from the loop's thread (log.c keeps state) */
	rd_kafka_set_log_queue(k->consumer, NULL);
	rd_kafka_set_log_queue(k->producer, NULL);
	k->cq = rd_kafka_queue_get_consumer(k->consumer);
	k->pq = rd_kafka_queue_get_main(k->producer);
	k->cev = kafka_wire(k, k->cq, k->cpipe, kafka_consumer_ev_cb);
	k->pev = kafka_wire(k, k->pq, k->ppipe, kafka_producer_ev_cb);
	k->tick = event_new(k->base, -1, EV_PERSIST, kafka_tick_cb, k);
	if (k->cev == NULL || k->pev == NULL || k->tick == NULL) {
		snprintf(err, errlen, "cannot wire kafka queues: %s",
		    strerror(errno));
		return -1;
	}
	event_add(k->cev, NULL);
	event_add(k->pev, NULL);
	event_add(k->tick, &tv);
	return 0;
}

/* Consumer and producer. */
struct kafka *
kafka_new(struct event_base *base, const struct config_kafka *cfg,
    const struct kafka_cbs *cbs, void *arg, char *err, size_t errlen)
{
	struct kafka *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->base = base;
	k->cfg = cfg;
	k->cbs = *cbs;
	k->arg = arg;
	k->cpipe[0] = k->cpipe[1] = k->ppipe[0] = k->ppipe[1] = -1;
	if (kafka_start(k, err, errlen) == -1) {
		kafka_free(k);
		return NULL;
	}
	return k;
}

/* Subscribe to the input topic. */
int
kafka_subscribe(struct kafka *k)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t e;

	rd_kafka_topic_partition_list_add(l, k->cfg->input_topic,
	    RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(k->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_warnx("kafka: cannot subscribe to \"%s\": %s",
		    k->cfg->input_topic, rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

/* Take what is there. */
ssize_t
kafka_consume(struct kafka *k, rd_kafka_message_t **msgs, size_t max)
{
	return rd_kafka_consume_batch_queue(k->cq, 0, msgs, max);
}

/* Produce a copy. */
int
kafka_produce(struct kafka *k, const char *topic, const char *key,
    size_t keylen, const char *payload, size_t len, void *opaque)
{
	rd_kafka_resp_err_t e;

	for (int tries = 0; tries < 100; tries++) {
		e = rd_kafka_producev(k->producer, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_KEY(key, keylen),
		    RD_KAFKA_V_VALUE((void *)payload, len),
		    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(k->producer, 10);
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_warnx("kafka: cannot produce to \"%s\": %s", topic,
		    rd_kafka_err2str(e));
		stats.kafka_errors++;
		return -1;
	}
	return 0;
}

/* Store offset + 1 of every message: one element per partition, set by
 * its last message (what storing each message in turn leaves). */
void
kafka_store(struct kafka *k, rd_kafka_message_t **msgs, size_t n)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_topic_partition_t *e;

	if (n == 0)
		return;
	l = rd_kafka_topic_partition_list_new(16);
	for (size_t i = 0; i < n; i++) {
		rd_kafka_message_t *m = msgs[i];
		const char *topic;

		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
			continue;
		topic = rd_kafka_topic_name(m->rkt);
		if ((e = rd_kafka_topic_partition_list_find(l, topic,
		    m->partition)) == NULL)
			e = rd_kafka_topic_partition_list_add(l, topic,
			    m->partition);
		e->offset = m->offset + 1;
	}
	if (l->cnt > 0 && rd_kafka_offsets_store(k->consumer, l) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		k->stored = 1;
	rd_kafka_topic_partition_list_destroy(l);
}

/* Commit stored offsets. */
void
kafka_commit(struct kafka *k, int async)
{
	rd_kafka_resp_err_t e;

	if (!k->stored || k->assigned == 0)
		return;
	e = rd_kafka_commit(k->consumer, NULL, async);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR &&
	    e != RD_KAFKA_RESP_ERR__NO_OFFSET)
		log_warnx("kafka: commit failed: %s", rd_kafka_err2str(e));
	k->stored = 0;
}

/* Pause or resume the whole assignment. */
void
kafka_pause(struct kafka *k, int paused)
{
	rd_kafka_topic_partition_list_t *a = NULL;

	if (k->paused == paused)
		return;
	k->paused = paused;
	if (rd_kafka_assignment(k->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (paused)
		rd_kafka_pause_partitions(k->consumer, a);
	else
		rd_kafka_resume_partitions(k->consumer, a);
	rd_kafka_topic_partition_list_destroy(a);
	log_info("kafka: input %s", paused ? "paused while the store is "
	    "unavailable" : "resumed");
}

int
kafka_paused(const struct kafka *k)
{
	return k->paused;
}

/* Assigned partitions. */
int
kafka_assigned(const struct kafka *k)
{
	return k->assigned;
}

/* Lag over the assignment from cached watermarks. */
int64_t
kafka_lag(struct kafka *k)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	int64_t lag = 0;

	if (rd_kafka_assignment(k->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	rd_kafka_position(k->consumer, a);
	for (int i = 0; i < a->cnt; i++) {
		int64_t lo, hi;

		if (rd_kafka_get_watermark_offsets(k->consumer, a->elems[i].topic,
		    a->elems[i].partition, &lo, &hi) != 0 || hi < 0)
			continue;
		if (a->elems[i].offset >= 0 && hi > a->elems[i].offset)
			lag += hi - a->elems[i].offset;
		else if (a->elems[i].offset < 0 && hi > lo)
			lag += hi - lo;
	}
	rd_kafka_topic_partition_list_destroy(a);
	return lag;
}

/* Commit, leave the group, flush. */
void
kafka_close(struct kafka *k, int timeout_ms)
{
	kafka_commit(k, 0);
	rd_kafka_consumer_close(k->consumer);
	if (rd_kafka_flush(k->producer, timeout_ms) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		log_warnx("kafka: %d messages not delivered at exit",
		    rd_kafka_outq_len(k->producer));
}

/* Free everything. */
void
kafka_free(struct kafka *k)
{
	if (k == NULL)
		return;
	if (k->cev != NULL)
		event_free(k->cev);
	if (k->pev != NULL)
		event_free(k->pev);
	if (k->tick != NULL)
		event_free(k->tick);
	if (k->cq != NULL) {
		rd_kafka_queue_io_event_enable(k->cq, -1, NULL, 0);
		rd_kafka_queue_destroy(k->cq);
	}
	if (k->pq != NULL) {
		rd_kafka_queue_io_event_enable(k->pq, -1, NULL, 0);
		rd_kafka_queue_destroy(k->pq);
	}
	if (k->consumer != NULL)
		rd_kafka_destroy(k->consumer);
	if (k->producer != NULL)
		rd_kafka_destroy(k->producer);
	for (int i = 0; i < 2; i++) {
		if (k->cpipe[i] != -1)
			close(k->cpipe[i]);
		if (k->ppipe[i] != -1)
			close(k->ppipe[i]);
	}
	free(k);
}
