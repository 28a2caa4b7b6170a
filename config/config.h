/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - smartpromo configuration: a table-driven INI parser.
 *
 * Every key the daemon knows is a row of one table (section, key, type,
 * default, bounds, validator).  config_parse() reads from a buffer, so it can
 * be fuzzed; config_load() reads a file and calls it.  Nothing here links an
 * I/O library; the only I/O is reading the file and checking that a named
 * time zone exists.
 *
 * Errors are collected, never printed: every problem becomes one message of
 * the form "FILE:LINE: message" (lowercase, no final full stop) in a
 * struct config_errors that the caller owns and frees with
 * config_errors_release().  Unknown sections and keys are errors.
 */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_STR_MAX 512

struct config_kafka {
	char brokers[CONFIG_STR_MAX];
	char group_id[256];
	char client_id[256];
	char input_topic[250];
	char offers_topic[250];
	char metrics_topic[250];
	char dead_letter_topic[250];
	int batch_max;          /* events taken from Kafka per batch */
	int commit_interval_ms; /* how often stored offsets are committed */
	int queue_max_kbytes;   /* librdkafka queued.max.messages.kbytes */
	int session_timeout_ms; /* group session timeout */
	int fetch_wait_max_ms;  /* librdkafka fetch.wait.max.ms */
	int linger_ms;          /* producer linger.ms */
};

struct config_redis {
	char host[256];
	int port;
	char key_prefix[64];
	int db;
	int timeout_ms;         /* per-command timeout */
	int day_ttl_days;       /* how long per-day keys are kept */
};

struct config_admin {
	char listen[256];       /* HOST:PORT */
	char token_file[CONFIG_STR_MAX];
	int max_body_bytes;
	int timeout_s;
};

struct config_engine {
	double roi_target;          /* default per plan: GMV / promotion cost */
	double holdout_pct;         /* share of customers in the control group */
	int offer_ttl_minutes;
	int attribution_hours;
	int levels;                 /* discrete discount levels per range */
	double prior_conversion;    /* conversion assumed before any data */
	double prior_strength;      /* pseudo-views behind a pooled prior */
	double decay_half_life_hours; /* forgetting rate of the learner */
	int max_discount_pct;       /* cap on any plan's discount_max_pct */
	char tools[CONFIG_STR_MAX]; /* comma list of the tools offered */
	char late_view_offers[8];   /* "yes": offers for views older than
				       the TTL too (replays of past days) */
};

struct config_plans {
	double min_sps;             /* Shop Performance Score to create plans */
	int min_orders_90d;         /* orders in the last 90 days */
	char require_shop_data[8];  /* "yes": missing figures fail the rules */
	char allow_past_start[8];   /* "yes": a plan may start in the past
				       (replays of past days) */
	int max_days;               /* longest plan */
};

struct config_segments {
	int window_days;
	int clearance_min_stock;
	int trending_top_pct;
	int trending_min_views;
	int bestselling_top_pct;
	int bestselling_min_orders;
	int noncompetitive_top_n;
	char noncompetitive_combine[16];        /* rank_sum or both */
	double recompute_minutes;   /* 0.05 (3 s) to 10080 */
};

struct config_schedule {
	char snapshot_time[8];      /* HH:MM, local to timezone */
	int snapshot_minute;        /* derived: minutes after midnight */
	char timezone[128];
};

struct config_creators {
	int window_days;            /* facts of the last N days count */
	int min_category_orders;    /* delivered orders in one category */
	int min_videos;             /* videos posted in the window */
	int min_lives;              /* livestreams posted in the window */
};

struct config_log {
	char level[16];             /* debug, info, notice, warning, err */
	char rate_limit[8];         /* "yes": lines per format are limited */
};

struct sp_config {
	struct config_kafka kafka;
	struct config_redis redis;
	struct config_admin admin;
	struct config_engine engine;
	struct config_plans plans;
	struct config_segments segments;
	struct config_schedule schedule;
	struct config_creators creators;
	struct config_log log;
};

/* Collected error messages, each "FILE:LINE: message". */
struct config_errors {
	char **msg;
	size_t count;
	size_t cap;
};

/* Fill every field with its embedded default. */
void config_defaults(struct sp_config *cfg);

/*
 * Parse a buffer (need not be NUL-terminated) over the values already in
 * cfg; file names the source in messages.  Checks every value against its
 * bounds and the cross-key rules.  Returns 0, or -1 with errs filled.
 */
int config_parse(struct sp_config *cfg, const char *file, const char *buf,
    size_t len, struct config_errors *errs);

/* config_defaults() then config_parse() of the file at path. */
int config_load(struct sp_config *cfg, const char *path,
    struct config_errors *errs);

/* Free the messages; errs may be reused afterwards. */
void config_errors_release(struct config_errors *errs);

/* Split "host:port" (IPv6 as "[addr]:port"); 0 or -1. */
int config_split_hostport(const char *s, char *host, size_t hostlen,
    int *port);

/* Nonzero if host is a loopback address or "localhost". */
int config_is_loopback(const char *host);

#endif
