/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c - the event loop, signals, reload, readiness and shutdown.
 */
#include "server.h"
#include "admin.h"
#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "pipeline.h"
#include "plans.h"
#include "creators.h"
#include "report.h"
#include "segments.h"
#include "stats.h"
#include "store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#define SERVER_DRAIN_MS 30000

struct server {
	struct event_base *base;
	struct sp_config *cfg;
	const char *path;
	struct store *st;
	struct plans *plans;
	struct pipeline *pl;
	struct segments *segments;
	struct report *report;
	struct creators *creators;
	struct kafka *kafka;
	struct admin *admin;
	struct event *sig_term, *sig_int, *sig_hup, *watchdog, *minute, *lag,
	    *deadline;
	int plans_loaded;
	int subscribed;
	int joined;             /* a rebalance callback came: broker reached */
	int notified;
	int stopping;
	int exit_status;
};

/* Nonzero when serving: store up, plans loaded, partitions assigned. */
static int
server_ready(void *arg)
{
	struct server *s = arg;

	return store_up(s->st) && s->plans_loaded && s->subscribed &&
	    kafka_assigned(s->kafka) > 0;
}

static int
server_assigned(void *arg)
{
	struct server *s = arg;

	return s->kafka != NULL ? kafka_assigned(s->kafka) : 0;
}

/*
 * Tell systemd once we serve: Redis up, plans loaded, and the consumer a
 * member of its group (its first assignment, even an empty one: a broker
 * answered).  Subscribing alone is local and proves nothing.
 */
static void
server_check_ready(struct server *s)
{
	if (s->notified || !s->plans_loaded || !s->subscribed ||
	    !store_up(s->st))
		return;
	if (!s->joined) {
		sd_notify(0, "STATUS=waiting for the Kafka consumer group");
		return;
	}
	s->notified = 1;
	sd_notify(0, "READY=1\nSTATUS=consuming");
	log_notice("smartpromod %s ready", SP_VERSION);
}

/* Plans are in memory: start consuming. */
static void
server_plans_loaded_cb(int ok, const char *err, void *arg)
{
	struct server *s = arg;

	if (!ok) {
		log_warnx("cannot load plans: %s; retrying", err);
		return;         /* the next store-up retries */
	}
	s->plans_loaded = 1;
	log_info("%zu plans loaded", plans_all(s->plans,
	    &(struct plan *const *){ NULL }));
	plans_refresh_budgets(s->plans, clock_now_ms(), NULL, NULL);
	if (!s->subscribed && kafka_subscribe(s->kafka) == 0)
		s->subscribed = 1;
	server_check_ready(s);
	pipeline_kick(s->pl);
}

/* Redis came up or went away. */
static void
server_store_cb(int up, void *arg)
{
	struct server *s = arg;

	if (!up) {
		sd_notify(0, "STATUS=redis unavailable");
		return;
	}
	if (!s->plans_loaded && plans_load(s->plans, server_plans_loaded_cb,
	    s) == -1)
		log_warnx("cannot start loading plans");
	sd_notify(0, "STATUS=consuming");
	report_resume(s->report);
	pipeline_kick(s->pl);
}

/* Kafka callbacks. */
static void
server_readable_cb(void *arg)
{
	struct server *s = arg;

	pipeline_kick(s->pl);
}

static void
server_delivered_cb(const rd_kafka_message_t *m, void *opaque, void *arg)
{
	struct server *s = arg;

	if (!report_delivered(s->report, m, opaque))
		pipeline_delivered(s->pl, m, opaque);
}

/* The group assigned partitions (or took them back). */
static void
server_assigned_cb(int n, void *arg)
{
	struct server *s = arg;

	(void)n;
	s->joined = 1;
	server_check_ready(s);
}

/* Drained: commit, leave the group, flush, stop the loop. */
static void
server_drained_cb(void *arg)
{
	struct server *s = arg;

	log_info("drained; closing Kafka clients");
	kafka_close(s->kafka, 10000);
	event_base_loopbreak(s->base);
}

/* SIGTERM / first SIGINT: drain then exit 0. */
static void
server_stop(struct server *s)
{
	struct timeval tv = { SERVER_DRAIN_MS / 1000, 0 };

	if (s->stopping)
		return;
	s->stopping = 1;
	sd_notify(0, "STOPPING=1");
	log_notice("stopping: finishing the batch in flight");
	evtimer_add(s->deadline, &tv);
	pipeline_drain(s->pl, server_drained_cb, s);
}

static void
server_term_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	server_stop(arg);
}

/* A second SIGINT exits at once. */
static void
server_int_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	(void)sig;
	(void)what;
	if (s->stopping) {
		log_warnx("second interrupt: exiting now");
		_exit(1);
	}
	server_stop(s);
}

/* The drain took too long. */
static void
server_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	log_warnx("drain deadline passed; exiting with work in flight");
	s->exit_status = 1;
	event_base_loopbreak(s->base);
}

/* Log keys whose change needs a restart. */
static void
server_restart_keys(const struct sp_config *old, const struct sp_config *nw)
{
	if (memcmp(&old->kafka, &nw->kafka, sizeof(old->kafka)) != 0)
		log_warnx("reload: [kafka] changes need a restart");
	if (memcmp(&old->redis, &nw->redis, sizeof(old->redis)) != 0)
		log_warnx("reload: [redis] changes need a restart");
	if (strcmp(old->admin.listen, nw->admin.listen) != 0)
		log_warnx("reload: [admin] listen changes need a restart");
}

/* Nonzero if the running admin address is loopback. */
static int
server_loopback(const struct sp_config *cfg)
{
	char host[256];
	int port;

	return config_split_hostport(cfg->admin.listen, host, sizeof(host),
	    &port) == 0 && config_is_loopback(host);
}

/* SIGHUP: parse anew, validate, swap what can change. */
static void
server_reload(struct server *s)
{
	struct sp_config nw;
	struct config_errors errs = { 0 };
	char err[512];

	if (s->path == NULL) {
		log_info("reload: running on embedded defaults, nothing to read");
		return;
	}
	sd_notify(0, "RELOADING=1");
	if (config_load(&nw, s->path, &errs) == -1) {
		for (size_t i = 0; i < errs.count; i++)
			log_warnx("%s", errs.msg[i]);
		log_warnx("reload: keeping the running configuration");
		config_errors_release(&errs);
		sd_notify(0, "READY=1");
		return;
	}
	if (nw.admin.token_file[0] == '\0' && !server_loopback(s->cfg)) {
		log_warnx("reload: refusing to drop the admin token while "
		    "listening on \"%s\", which is not loopback (a restart "
		    "applies a new listen address)", s->cfg->admin.listen);
		sd_notify(0, "READY=1");
		return;
	}
	server_restart_keys(s->cfg, &nw);
	s->cfg->engine = nw.engine;
	s->cfg->schedule = nw.schedule;
	s->cfg->log = nw.log;
	s->cfg->admin.max_body_bytes = nw.admin.max_body_bytes;
	s->cfg->admin.timeout_s = nw.admin.timeout_s;
	memcpy(s->cfg->admin.token_file, nw.admin.token_file,
	    sizeof(nw.admin.token_file));
	log_set_level(s->cfg->log.level);
	log_set_rate_limit(strcmp(s->cfg->log.rate_limit, "no") != 0);
	clock_set_zone(s->cfg->schedule.timezone);
	s->cfg->segments = nw.segments;
	s->cfg->plans = nw.plans;
	s->cfg->creators = nw.creators;
	pipeline_configure(s->pl, s->cfg);
	segments_configure(s->segments, s->cfg);
	report_configure(s->report, s->cfg);
	creators_configure(s->creators, s->cfg);
	if (admin_configure(s->admin, s->cfg, err, sizeof(err)) == -1)
		log_warnx("reload: %s", err);
	log_notice("configuration reloaded from \"%s\"", s->path);
	sd_notify(0, "READY=1");
}

static void
server_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	server_reload(arg);
}

/* systemd watchdog ping from the loop itself. */
static void
server_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

/* Once a minute: end plans whose time is up. */
static void
server_minute_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	plans_expire(s->plans, clock_now_ms());
}

/* Consumer lag for /metrics; the log's due suppression summaries. */
static void
server_lag_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	if (s->subscribed)
		stats.consumer_lag = kafka_lag(s->kafka);
	log_flush();            /* "N similar messages suppressed" when due */
}

/* A persistent timer every ms milliseconds. */
static struct event *
server_timer(struct server *s, int64_t ms, event_callback_fn fn)
{
	struct event *ev = event_new(s->base, -1, EV_PERSIST, fn, s);
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)((ms % 1000) * 1000) };

	if (ev == NULL || event_add(ev, &tv) == -1)
		fatalx("cannot add a timer");
	return ev;
}

/* Signals and timers. */
static void
server_events(struct server *s)
{
	uint64_t usec = 0;

	signal(SIGPIPE, SIG_IGN);
	s->sig_term = evsignal_new(s->base, SIGTERM, server_term_cb, s);
	s->sig_int = evsignal_new(s->base, SIGINT, server_int_cb, s);
	s->sig_hup = evsignal_new(s->base, SIGHUP, server_hup_cb, s);
	s->deadline = evtimer_new(s->base, server_deadline_cb, s);
	if (s->sig_term == NULL || s->sig_int == NULL || s->sig_hup == NULL ||
	    s->deadline == NULL || evsignal_add(s->sig_term, NULL) == -1 ||
	    evsignal_add(s->sig_int, NULL) == -1 ||
	    evsignal_add(s->sig_hup, NULL) == -1)
		fatalx("cannot install signal handlers");
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		s->watchdog = server_timer(s, (int64_t)(usec / 2000),
		    server_watchdog_cb);
	s->minute = server_timer(s, 60000, server_minute_cb);
	s->lag = server_timer(s, 5000, server_lag_cb);
}

/* Create the components. */
static void
server_start(struct server *s)
{
	struct kafka_cbs cbs = { server_readable_cb, server_delivered_cb,
	    server_assigned_cb };
	struct admin_deps deps;
	char err[512] = "";

	if ((s->st = store_new(s->base, &s->cfg->redis, server_store_cb,
	    s)) == NULL || (s->plans = plans_new(s->st)) == NULL ||
	    (s->pl = pipeline_new(s->base, s->cfg, s->st, s->plans)) == NULL)
		fatalx("out of memory");
	if ((s->kafka = kafka_new(s->base, &s->cfg->kafka, &cbs, s, err,
	    sizeof(err))) == NULL)
		fatalx("kafka: %s", err);
	pipeline_set_kafka(s->pl, s->kafka);
	if ((s->segments = segments_new(s->base, s->st, s->plans, s->pl,
	    s->cfg)) == NULL)
		fatalx("out of memory");
	if ((s->report = report_new(s->base, s->st, s->plans, s->cfg)) == NULL)
		fatalx("out of memory");
	report_set_kafka(s->report, s->kafka);
	if ((s->creators = creators_new(s->base, s->st, s->cfg)) == NULL)
		fatalx("out of memory");
	deps = (struct admin_deps){ s->plans, s->st, s->segments, s->report,
	    s->pl, s->creators, s->cfg, server_assigned, server_ready, s };
	if ((s->admin = admin_new(s->base, &deps, err, sizeof(err))) == NULL)
		fatalx("admin: %s", err);
}

/* Free everything in reverse order. */
static void
server_free(struct server *s)
{
	struct event *evs[] = { s->sig_term, s->sig_int, s->sig_hup,
	    s->watchdog, s->minute, s->lag, s->deadline };

	/* the store first: its pending callbacks still find their owners */
	store_free(s->st);
	admin_free(s->admin);
	creators_free(s->creators);
	report_free(s->report);
	segments_free(s->segments);
	pipeline_free(s->pl);
	kafka_free(s->kafka);
	plans_free(s->plans);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	event_base_free(s->base);
}

/* Run the daemon. */
int
server_run(struct sp_config *cfg, const char *path)
{
	struct server s = { .cfg = cfg, .path = path };

	log_set_level(cfg->log.level);
	log_set_rate_limit(strcmp(cfg->log.rate_limit, "no") != 0);
	if (clock_set_zone(cfg->schedule.timezone) == -1)
		fatal("cannot set the time zone");
	stats.started_ms = clock_now_ms();
	if ((s.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	server_events(&s);
	server_start(&s);
	log_info("smartpromod %s starting: kafka %s, redis %s:%d",
	    SP_VERSION, cfg->kafka.brokers, cfg->redis.host, cfg->redis.port);
	event_base_dispatch(s.base);
	server_free(&s);
	log_notice("smartpromod stopped");
	return s.exit_status;
}
