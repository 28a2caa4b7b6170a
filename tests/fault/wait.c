/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wait.c - spfault wait: poll the offsets a consumer group has committed on
 * a topic (OffsetFetch, without joining the group) until their sum reaches
 * a share of the expected message count, or a timeout passes.
 *
 * The daemon stores an offset only when the message's effects are in Redis
 * and its outputs are delivered, so "committed" is a lower bound of what is
 * done: the fault script kills the daemon after a committed share, and
 * waits for everything committed before it checks.  Two rates are printed:
 * messages committed per second from the first commit seen to the end, and
 * the steady rate between two shares of the total (--window, default 20%
 * to 90%), which leaves out the start (group join, first metadata of each
 * output topic) and the tail; with the input produced beforehand it is the
 * daemon's throughput.
 */
#include "fault.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

struct wait_opts {
	const char *brokers, *group, *topic;
	int64_t total;
	double fraction, timeout_s;
	double from, to;        /* the window of the steady rate */
};

/* When the committed sum first reached a mark. */
struct wait_mark {
	double share;           /* of the total */
	double t;               /* seconds since start, -1: not yet */
	int64_t at;             /* the sum then */
};

/* librdkafka's log lines: not wanted while brokers come and go. */
static void
wait_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

/* A consumer of the group that never subscribes. */
static rd_kafka_t *
wait_client(const struct wait_opts *o)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err,
	    sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "group.id", o->group, err,
	    sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err,
	    sizeof(err)) != RD_KAFKA_CONF_OK) {
		fault_warnx("%s", err);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_log_cb(conf, wait_log_cb);
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err,
	    sizeof(err))) == NULL)
		fault_warnx("%s", err);
	return rk;
}

/* The topic's partition count, or -1 (not known yet). */
static int
wait_partitions(rd_kafka_t *rk, const char *topic)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	int n = -1;

	if (t == NULL)
		return -1;
	if (rd_kafka_metadata(rk, 0, t, &md, 2000) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (md->topic_cnt == 1 && md->topics[0].err == 0)
			n = md->topics[0].partition_cnt;
		rd_kafka_metadata_destroy(md);
	}
	rd_kafka_topic_destroy(t);
	return n;
}

/* Sum of the committed offsets, or -1 when the broker did not answer. */
static int64_t
wait_committed(rd_kafka_t *rk, const char *topic, int nparts)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new(nparts);
	int64_t sum = 0;

	for (int i = 0; i < nparts; i++)
		rd_kafka_topic_partition_list_add(l, topic, i);
	if (rd_kafka_committed(rk, l, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		sum = -1;
	for (int i = 0; i < l->cnt && sum >= 0; i++) {
		if (l->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
			sum = -1;
		else if (l->elems[i].offset > 0)
			sum += l->elems[i].offset;
	}
	rd_kafka_topic_partition_list_destroy(l);
	return sum;
}

/* Sleep ms milliseconds. */
static void
wait_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Note the first time the sum reaches a mark. */
static void
wait_mark(struct wait_mark *m, int64_t total, int64_t got, double t)
{
	if (m->t < 0 && (double)got >= m->share * (double)total) {
		m->t = t;
		m->at = got;
	}
}

/* Print the steady rate between the two marks, if both were seen. */
static void
wait_steady(const struct wait_mark *a, const struct wait_mark *b)
{
	if (a->t < 0 || b->t <= a->t)
		return;
	printf("; steady %.0f messages/s between %.0f%% and %.0f%%",
	    (double)(b->at - a->at) / (b->t - a->t), a->share * 100,
	    b->share * 100);
}

/* Poll until the goal or the deadline; the exit status. */
static int
wait_poll(rd_kafka_t *rk, const struct wait_opts *o)
{
	double t0 = fault_mono_s(), t_first = -1, now = t0;
	int64_t goal = (int64_t)((double)o->total * o->fraction + 0.5);
	int64_t got = 0, first = 0, c;
	struct wait_mark ma = { o->from, -1, 0 }, mb = { o->to, -1, 0 };
	int nparts = -1;

	for (; now - t0 < o->timeout_s; wait_sleep_ms(50)) {
		now = fault_mono_s();
		if (nparts <= 0 && (nparts = wait_partitions(rk, o->topic)) <= 0)
			continue;
		if ((c = wait_committed(rk, o->topic, nparts)) < 0)
			continue;
		if (c > got && t_first < 0 && got == 0) {
			t_first = now;
			first = c;
		}
		got = c > got ? c : got;
		wait_mark(&ma, o->total, got, now - t0);
		wait_mark(&mb, o->total, got, now - t0);
		if (got >= goal)
			break;
	}
	printf("committed %" PRId64 " of %" PRId64 " after %.2f s", got,
	    o->total, now - t0);
	if (t_first >= 0 && now > t_first)
		printf("; first commit at %.2f s (%" PRId64 "), %.0f messages/s "
		    "since", t_first - t0, first, (double)(got - first) /
		    (now - t_first));
	wait_steady(&ma, &mb);
	printf("\n");
	if (got < goal)
		fault_warnx("stuck: %" PRId64 " of the %" PRId64 " messages "
		    "wanted are committed after %.0f s", got, goal, o->timeout_s);
	return got >= goal ? 0 : 1;
}

/* Parse the options. */
static int
wait_args(int argc, char **argv, struct wait_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (v == NULL) {
			fault_warnx("option \"%s\" needs a value", a);
			return -1;
		}
		i++;
		if (strcmp(a, "-b") == 0)
			o->brokers = v;
		else if (strcmp(a, "-g") == 0)
			o->group = v;
		else if (strcmp(a, "-t") == 0)
			o->topic = v;
		else if (strcmp(a, "--total") == 0)
			rc = fault_parse_i64(v, 1, INT64_MAX / 2, &o->total);
		else if (strcmp(a, "--fraction") == 0)
			rc = fault_parse_dbl(v, 0, 1, &o->fraction);
		else if (strcmp(a, "--timeout") == 0)
			rc = fault_parse_dbl(v, 0.1, 86400, &o->timeout_s);
		else if (strcmp(a, "--window") == 0)
			rc = sscanf(v, "%lf,%lf", &o->from, &o->to) == 2 &&
			    o->from >= 0 && o->from < o->to && o->to <= 1 ?
			    0 : -1;
		else
			rc = -1;
		if (rc == -1) {
			fault_warnx("bad option \"%s\" \"%s\"", a, v);
			return -1;
		}
	}
	return o->brokers && o->group && o->topic && o->total > 0 ? 0 : -1;
}

/* spfault wait: poll the committed offsets until the goal. */
int
wait_main(int argc, char **argv)
{
	struct wait_opts o = { .group = "smartpromo",
	    .topic = "smartpromo.events", .fraction = 1, .timeout_s = 120,
	    .from = 0.2, .to = 0.9 };
	rd_kafka_t *rk;
	int rc;

	if (wait_args(argc, argv, &o) == -1) {
		fprintf(stderr, "usage: spfault wait -b BROKERS --total N "
		    "[-g GROUP] [-t TOPIC] [--fraction F] [--timeout S]\n"
		    "           [--window FROM,TO]\n");
		return 2;
	}
	if ((rk = wait_client(&o)) == NULL)
		return 1;
	rc = wait_poll(rk, &o);
	rd_kafka_destroy(rk);
	return rc;
}
