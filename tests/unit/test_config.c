/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c - unit tests of config/: defaults, the example file, every
 * error message with its line, comments and quoting, bounds, the cross-key
 * rules, time zones, host:port helpers, and a fuzz loop over mutated
 * buffers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "pps.h"

#ifndef SP_EXAMPLE_CONF
#error "SP_EXAMPLE_CONF must name smartpromo.conf.example"
#endif

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Every key of the contract, with its default as written in the file. */
static const struct test_key {
	const char	*section;
	const char	*key;
	const char	*def;
} test_keys[] = {
	{ "kafka", "brokers", "127.0.0.1:9092" },
	{ "kafka", "group_id", "smartpromo" },
	{ "kafka", "client_id", "smartpromod" },
	{ "kafka", "input_topic", "smartpromo.events" },
	{ "kafka", "offers_topic", "smartpromo.offers" },
	{ "kafka", "metrics_topic", "smartpromo.metrics" },
	{ "kafka", "dead_letter_topic", "smartpromo.dead-letter" },
	{ "kafka", "batch_max", "10000" },
	{ "kafka", "commit_interval_ms", "500" },
	{ "kafka", "queue_max_kbytes", "65536" },
	{ "kafka", "fetch_wait_max_ms", "20" },
	{ "kafka", "linger_ms", "2" },
	{ "redis", "host", "127.0.0.1" },
	{ "redis", "port", "6379" },
	{ "redis", "key_prefix", "sp:" },
	{ "redis", "db", "0" },
	{ "redis", "timeout_ms", "5000" },
	{ "redis", "day_ttl_days", "400" },
	{ "admin", "listen", "127.0.0.1:8470" },
	{ "admin", "token_file", "" },
	{ "admin", "max_body_bytes", "1048576" },
	{ "admin", "timeout_s", "30" },
	{ "engine", "roi_target", "5.0" },
	{ "engine", "holdout_pct", "5" },
	{ "engine", "offer_ttl_minutes", "1440" },
	{ "engine", "attribution_hours", "72" },
	{ "engine", "levels", "5" },
	{ "engine", "prior_conversion", "0.05" },
	{ "engine", "prior_strength", "20" },
	{ "engine", "decay_half_life_hours", "168" },
	{ "engine", "max_discount_pct", "80" },
	{ "schedule", "snapshot_time", "00:00" },
	{ "schedule", "timezone", "UTC" },
	{ "creators", "window_days", "90" },
	{ "creators", "min_category_orders", "30" },
	{ "creators", "min_videos", "20" },
	{ "creators", "min_lives", "5" },
	{ "log", "level", "info" },
};

/* Integer keys with their bounds. */
static const struct test_bound {
	const char	*section;
	const char	*key;
	long long	 min, max;
} int_bounds[] = {
	{ "kafka", "batch_max", 1, 100000 },
	{ "kafka", "commit_interval_ms", 10, 60000 },
	{ "kafka", "queue_max_kbytes", 1024, 2097151 },
	{ "kafka", "fetch_wait_max_ms", 1, 1000 },
	{ "kafka", "linger_ms", 0, 1000 },
	{ "redis", "port", 1, 65535 },
	{ "redis", "db", 0, 15 },
	{ "redis", "timeout_ms", 100, 600000 },
	{ "redis", "day_ttl_days", 2, 3650 },
	{ "admin", "max_body_bytes", 1024, 67108864 },
	{ "admin", "timeout_s", 1, 3600 },
	{ "engine", "offer_ttl_minutes", 1, 43200 },
	{ "engine", "attribution_hours", 1, 720 },
	{ "engine", "levels", 1, 8 },
	{ "engine", "max_discount_pct", 1, 95 },
	{ "creators", "window_days", 1, 365 },
	{ "creators", "min_category_orders", 1, 1000000 },
	{ "creators", "min_videos", 1, 1000000 },
	{ "creators", "min_lives", 1, 1000000 },
};

/* Number keys: bounds as written, as values, and a value just outside. */
static const struct test_dbound {
	const char	*section;
	const char	*key;
	const char	*min, *max, *above, *below;
	double		 dmin, dmax;
} dbl_bounds[] = {
	{ "engine", "roi_target", "1", "100", "100.01", "0.999", 1.0, 100.0 },
	{ "engine", "holdout_pct", "0", "50", "50.5", "-0.1", 0, 50 },
	{ "engine", "prior_conversion", "0.0001", "0.9", "0.90001",
	    "0.00009", 0.0001, 0.9 },
	{ "engine", "prior_strength", "1", "10000", "10000.1", "0.99", 1,
	    10000 },
	{ "engine", "decay_half_life_hours", "0", "87600", "87601", "-0.5", 0,
	    87600 },
};

/* Parse text over defaults into cfg, collecting into errs. */
static int
parse(struct sp_config *cfg, const char *text, struct config_errors *errs)
{
	config_defaults(cfg);
	return config_parse(cfg, "t.conf", text, strlen(text), errs);
}

/* Assert that text gives exactly one error, msg. */
static void
expect_error(const char *text, const char *msg)
{
	struct config_errors	errs = { 0 };
	struct sp_config	cfg;

	assert_int_equal(parse(&cfg, text, &errs), -1);
	if (errs.count != 1 || strcmp(errs.msg[0], msg) != 0) {
		for (size_t i = 0; i < errs.count; i++)
			print_error("got: %s\n", errs.msg[i]);
		print_error("want: %s\n", msg);
	}
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], msg);
	config_errors_release(&errs);
}

/* Assert that text parses cleanly into cfg. */
static void
expect_ok(struct sp_config *cfg, const char *text)
{
	struct config_errors	errs = { 0 };
	int			rc = parse(cfg, text, &errs);

	for (size_t i = 0; i < errs.count; i++)
		print_error("unexpected: %s\n", errs.msg[i]);
	assert_int_equal(rc, 0);
	assert_int_equal(errs.count, 0);
	config_errors_release(&errs);
}

/* Read a whole file into a malloc'd buffer. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f = fopen(path, "r");
	char	*buf;
	size_t	 len;

	assert_non_null(f);
	buf = malloc(1 << 20);
	assert_non_null(buf);
	len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* The embedded defaults are the documented ones. */
static void
test_defaults(void **state)
{
	struct sp_config	c;

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.kafka.brokers, "127.0.0.1:9092");
	assert_string_equal(c.kafka.group_id, "smartpromo");
	assert_string_equal(c.kafka.client_id, "smartpromod");
	assert_string_equal(c.kafka.input_topic, "smartpromo.events");
	assert_string_equal(c.kafka.offers_topic, "smartpromo.offers");
	assert_string_equal(c.kafka.metrics_topic, "smartpromo.metrics");
	assert_string_equal(c.kafka.dead_letter_topic,
	    "smartpromo.dead-letter");
	assert_int_equal(c.kafka.batch_max, 10000);
	assert_int_equal(c.kafka.commit_interval_ms, 500);
	assert_int_equal(c.kafka.queue_max_kbytes, 65536);
	assert_int_equal(c.kafka.fetch_wait_max_ms, 20);
	assert_int_equal(c.kafka.linger_ms, 2);
	assert_string_equal(c.redis.host, "127.0.0.1");
	assert_int_equal(c.redis.port, 6379);
	assert_string_equal(c.redis.key_prefix, "sp:");
	assert_int_equal(c.redis.db, 0);
	assert_int_equal(c.redis.timeout_ms, 5000);
	assert_int_equal(c.redis.day_ttl_days, 400);
	assert_string_equal(c.admin.listen, "127.0.0.1:8470");
	assert_string_equal(c.admin.token_file, "");
	assert_int_equal(c.admin.max_body_bytes, 1048576);
	assert_int_equal(c.admin.timeout_s, 30);
	assert_true(c.engine.roi_target == 5.0);
	assert_true(c.engine.holdout_pct == 5.0);
	assert_int_equal(c.engine.offer_ttl_minutes, 1440);
	assert_int_equal(c.engine.attribution_hours, 72);
	assert_int_equal(c.engine.levels, 5);
	assert_true(c.engine.prior_conversion == 0.05);
	assert_true(c.engine.prior_strength == 20.0);
	assert_true(c.engine.decay_half_life_hours == 168.0);
	assert_int_equal(c.engine.max_discount_pct, 80);
	assert_string_equal(c.schedule.snapshot_time, "00:00");
	assert_int_equal(c.schedule.snapshot_minute, 0);
	assert_string_equal(c.schedule.timezone, "UTC");
	assert_int_equal(c.creators.window_days, 90);
	assert_int_equal(c.creators.min_category_orders, 30);
	assert_int_equal(c.creators.min_videos, 20);
	assert_int_equal(c.creators.min_lives, 5);
	assert_string_equal(c.log.level, "info");
}

/* An empty buffer (even a NULL one) changes nothing and passes. */
static void
test_empty(void **state)
{
	struct config_errors	errs = { 0 };
	struct sp_config	a, b;

	(void)state;
	config_defaults(&a);
	config_defaults(&b);
	assert_int_equal(config_parse(&b, "e.conf", NULL, 0, &errs), 0);
	assert_int_equal(config_parse(&b, "e.conf", "\n\n# c\n; c\n  \t\n",
	    13, &errs), 0);
	assert_int_equal(errs.count, 0);
	assert_memory_equal(&a, &b, sizeof(a));
}

/* The example file parses, holds every key once, each after a comment. */
static void
test_example(void **state)
{
	struct config_errors	 errs = { 0 };
	struct sp_config	 a, b;
	char			*buf, *line, *sec, *end, *next, want[128];
	size_t			 len, i;

	(void)state;
	config_defaults(&a);
	assert_int_equal(config_load(&b, SP_EXAMPLE_CONF, &errs), 0);
	assert_int_equal(errs.count, 0);
	assert_memory_equal(&a, &b, sizeof(a));
	buf = slurp(SP_EXAMPLE_CONF, &len);
	for (i = 0; i < nitems(test_keys); i++) {
		/* a key name may recur in another section, not in its own */
		snprintf(want, sizeof(want), "\n[%s]\n", test_keys[i].section);
		if ((sec = strstr(buf, want)) == NULL)
			fail_msg("section [%s] missing", test_keys[i].section);
		assert_null(strstr(sec + 1, want));
		end = strstr(sec + 1, "\n[");
		snprintf(want, sizeof(want), "\n%s =", test_keys[i].key);
		line = strstr(sec, want);
		if (line == NULL || (end != NULL && line > end))
			fail_msg("key \"%s\" missing in [%s]",
			    test_keys[i].key, test_keys[i].section);
		next = strstr(line + 1, want);
		assert_true(next == NULL || (end != NULL && next > end));
		while (line > buf && line[-1] != '\n')
			line--;		/* to the start of the line above */
		if (line[0] != '#')
			fail_msg("no comment above \"%s\"", test_keys[i].key);
	}
	free(buf);
}

/* Every contract key is known in its section and takes its default. */
static void
test_every_key(void **state)
{
	struct sp_config	a, b;
	char			text[256];
	size_t			i;

	(void)state;
	config_defaults(&a);
	for (i = 0; i < nitems(test_keys); i++) {
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n",
		    test_keys[i].section, test_keys[i].key, test_keys[i].def);
		expect_ok(&b, text);
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

/*
 * The [creators] keys land in their fields, and their defaults are the
 * engine's own (pps_params_default), so the two cannot drift apart.
 */
static void
test_creators(void **state)
{
	struct pps_params	p;
	struct sp_config	cfg;

	(void)state;
	pps_params_default(&p);
	config_defaults(&cfg);
	assert_int_equal(cfg.creators.window_days, p.window_days);
	assert_int_equal(cfg.creators.min_category_orders,
	    p.min_category_orders);
	assert_int_equal(cfg.creators.min_videos, p.min_videos);
	assert_int_equal(cfg.creators.min_lives, p.min_lives);
	expect_ok(&cfg, "[creators]\nwindow_days = 60\nmin_category_orders "
	    "= 12\nmin_videos = 7\nmin_lives = 2\n");
	assert_int_equal(cfg.creators.window_days, 60);
	assert_int_equal(cfg.creators.min_category_orders, 12);
	assert_int_equal(cfg.creators.min_videos, 7);
	assert_int_equal(cfg.creators.min_lives, 2);
	assert_int_equal(cfg.segments.window_days, 30);
	expect_error("[creators]\nmin_lives = 0\n", "t.conf:2: \"min_lives\" "
	    "must be an integer from 1 to 1000000, got \"0\"");
	expect_error("[creators]\nmin_stars = 3\n", "t.conf:2: unknown key "
	    "\"min_stars\" in section [creators]");
}

/* Each syntax error has its exact message and line. */
static void
test_syntax_errors(void **state)
{
	(void)state;
	expect_error("[kafka]\nbrokerz = x\n",
	    "t.conf:2: unknown key \"brokerz\" in section [kafka]");
	expect_error("[kafkaa]\nbrokers = x\n",
	    "t.conf:1: unknown section \"[kafkaa]\"");
	expect_error("port = 1\n[redis]\n",
	    "t.conf:1: key \"port\" outside any section");
	expect_error("[redis]\nport = 1\n\nport = 2\n",
	    "t.conf:4: duplicate key \"port\" in section [redis]");
	expect_error("[redis]\nport 6379\n",
	    "t.conf:2: expected \"key = value\", got \"port 6379\"");
	expect_error("[redis]\n = 6379\n", "t.conf:2: missing key before \"=\"");
	expect_error("[redis\nport = 1\n",
	    "t.conf:1: unterminated section header \"[redis\"");
	expect_error("[redis] x\nport = 1\n",
	    "t.conf:1: unexpected text after section header \"[redis] x\"");
	expect_error("[kafka]\ngroup_id = \"abc\n",
	    "t.conf:2: unterminated quoted value of \"group_id\"");
	expect_error("[kafka]\ngroup_id = \"abc\" d\n",
	    "t.conf:2: unexpected text after the quoted value of \"group_id\"");
	expect_error("[redis]\nport = 70000\n",
	    "t.conf:2: \"port\" must be an integer from 1 to 65535, "
	    "got \"70000\"");
	expect_error("[kafka]\ngroup_id = a\x01z\n",
	    "t.conf:2: \"group_id\" contains a control character, "
	    "got \"a\\x01z\"");
	expect_error("[kafka]\nbatch_max = \"1\"2\"\n",
	    "t.conf:2: unexpected text after the quoted value of "
	    "\"batch_max\"");
}

/* A line over 4096 bytes is an error; exactly 4096 is fine. */
static void
test_long_line(void **state)
{
	struct sp_config	 cfg;
	char			*text = malloc(9000);
	size_t			 n;

	(void)state;
	assert_non_null(text);
	n = (size_t)sprintf(text, "[kafka]\n# ");
	memset(text + n, 'x', 4094);
	strcpy(text + n + 4094, "\n");
	expect_ok(&cfg, text);
	strcpy(text + n + 4094, "\r\nbrokers = h:1\n");
	expect_ok(&cfg, text);
	assert_string_equal(cfg.kafka.brokers, "h:1");
	strcpy(text + n + 4094, "x\nbrokers = h:1\n");
	expect_error(text, "t.conf:2: line too long (more than 4096 bytes)");
	free(text);
}

/* Value errors of every type, with the bound in the message. */
static void
test_value_errors(void **state)
{
	(void)state;
	expect_error("[kafka]\nbrokers =\n",
	    "t.conf:2: \"brokers\" must not be empty");
	expect_error("[kafka]\nbrokers = a:1,,b:2\n",
	    "t.conf:2: \"brokers\" must be a comma-separated list of "
	    "HOST:PORT, got \"a:1,,b:2\"");
	expect_error("[kafka]\nbrokers = a:1, b\n",
	    "t.conf:2: \"brokers\" must be a comma-separated list of "
	    "HOST:PORT, got \"a:1, b\"");
	expect_error("[kafka]\ninput_topic = a b\n",
	    "t.conf:2: \"input_topic\" must be a kafka topic name (1 to 249 "
	    "of a-z A-Z 0-9 . _ -), got \"a b\"");
	expect_error("[kafka]\noffers_topic = ..\n",
	    "t.conf:2: \"offers_topic\" must be a kafka topic name (1 to 249 "
	    "of a-z A-Z 0-9 . _ -), got \"..\"");
	expect_error("[kafka]\ngroup_id = \"\"\n",
	    "t.conf:2: \"group_id\" must not be empty");
	expect_error("[redis]\nkey_prefix = \"a b\"\n",
	    "t.conf:2: \"key_prefix\" must be 1 to 63 bytes without spaces or "
	    "braces, got \"a b\"");
	expect_error("[redis]\nkey_prefix = {x}\n",
	    "t.conf:2: \"key_prefix\" must be 1 to 63 bytes without spaces or "
	    "braces, got \"{x}\"");
	expect_error("[redis]\nkey_prefix =\n",
	    "t.conf:2: \"key_prefix\" must not be empty");
	expect_error("[redis]\nkey_prefix = "
	    "0123456789012345678901234567890123456789012345678901234567890123\n",
	    "t.conf:2: \"key_prefix\" is too long (at most 63 bytes)");
	expect_error("[redis]\nhost = a/b\n",
	    "t.conf:2: \"host\" must be a host name or address, got \"a/b\"");
	expect_error("[admin]\nlisten = 127.0.0.1\n",
	    "t.conf:2: \"listen\" must be HOST:PORT with a port from 1 to "
	    "65535, got \"127.0.0.1\"");
	expect_error("[admin]\nlisten = ::1:80\n",
	    "t.conf:2: \"listen\" must be HOST:PORT with a port from 1 to "
	    "65535, got \"::1:80\"");
	expect_error("[log]\nlevel = verbose\n",
	    "t.conf:2: \"level\" must be one of debug, info, notice, warning, "
	    "err, got \"verbose\"");
	expect_error("[schedule]\nsnapshot_time = 24:00\n",
	    "t.conf:2: \"snapshot_time\" must be a time HH:MM from 00:00 to "
	    "23:59, got \"24:00\"");
	expect_error("[schedule]\nsnapshot_time = 7:30\n",
	    "t.conf:2: \"snapshot_time\" must be a time HH:MM from 00:00 to "
	    "23:59, got \"7:30\"");
	expect_error("[engine]\nroi_target = 0x10\n",
	    "t.conf:2: \"roi_target\" must be a number from 1 to 100, "
	    "got \"0x10\"");
	expect_error("[engine]\nholdout_pct = nan\n",
	    "t.conf:2: \"holdout_pct\" must be a number from 0 to 50, "
	    "got \"nan\"");
	expect_error("[engine]\nprior_strength = 1e999\n",
	    "t.conf:2: \"prior_strength\" must be a number from 1 to 10000, "
	    "got \"1e999\"");
}

/* Integers: decimal only, sign, junk and overflow. */
static void
test_integers(void **state)
{
	static const char *const bad[] = {
		"", "+5", "5x", "0x10", "1e3", "5.0", " -", "-",
		"99999999999999999999999", "-9223372036854775809",
		"9223372036854775807",
	};
	struct sp_config	 cfg;
	char			 text[128], msg[256];
	size_t			 i;

	(void)state;
	expect_ok(&cfg, "[redis]\ndb = 007\n");
	assert_int_equal(cfg.redis.db, 7);
	expect_ok(&cfg, "[redis]\ndb = -0\n");
	assert_int_equal(cfg.redis.db, 0);
	for (i = 0; i < nitems(bad); i++) {
		snprintf(text, sizeof(text), "[redis]\ndb = \"%s\"\n", bad[i]);
		snprintf(msg, sizeof(msg), "t.conf:2: \"db\" must be an integer "
		    "from 0 to 15, got \"%s\"", bad[i]);
		expect_error(text, msg);
	}
}

/* Min and max pass, one past either end fails, for every integer key. */
static void
test_int_bounds(void **state)
{
	const struct test_bound	*b;
	struct sp_config	 cfg;
	char			 text[256], msg[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(int_bounds); i++) {
		/* the shortest TTL needs the shortest segment window */
		b = &int_bounds[i];
		snprintf(text, sizeof(text), "[%s]\n%s = %lld\n%s", b->section,
		    b->key, b->min, strcmp(b->key, "day_ttl_days") == 0 ?
		    "[segments]\nwindow_days = 1\n" : "");
		expect_ok(&cfg, text);
		snprintf(text, sizeof(text), "[%s]\n%s = %lld\n", b->section,
		    b->key, b->max);
		expect_ok(&cfg, text);
		snprintf(text, sizeof(text), "[%s]\n%s = %lld\n", b->section,
		    b->key, b->max + 1);
		snprintf(msg, sizeof(msg), "t.conf:2: \"%s\" must be an integer "
		    "from %lld to %lld, got \"%lld\"", b->key, b->min, b->max,
		    b->max + 1);
		expect_error(text, msg);
		snprintf(text, sizeof(text), "[%s]\n%s = %lld\n", b->section,
		    b->key, b->min - 1);
		snprintf(msg, sizeof(msg), "t.conf:2: \"%s\" must be an integer "
		    "from %lld to %lld, got \"%lld\"", b->key, b->min, b->max,
		    b->min - 1);
		expect_error(text, msg);
	}
	expect_ok(&cfg, "[redis]\nport = 65535\n");
	assert_int_equal(cfg.redis.port, 65535);
	/* cross-key: the day counters must outlive the segment window */
	expect_error("[redis]\nday_ttl_days = 30\n", "t.conf:2: "
	    "\"day_ttl_days\" (30) must exceed the segment \"window_days\" "
	    "(30)");
}

/* Min and max pass, just outside fails, for every number key. */
static void
test_double_bounds(void **state)
{
	const struct test_dbound	*b;
	struct sp_config		 cfg;
	char				 text[256], msg[256];
	size_t				 i;

	(void)state;
	for (i = 0; i < nitems(dbl_bounds); i++) {
		b = &dbl_bounds[i];
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", b->section,
		    b->key, b->min);
		expect_ok(&cfg, text);
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", b->section,
		    b->key, b->max);
		expect_ok(&cfg, text);
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", b->section,
		    b->key, b->above);
		snprintf(msg, sizeof(msg), "t.conf:2: \"%s\" must be a number "
		    "from %s to %s, got \"%s\"", b->key, b->min, b->max,
		    b->above);
		expect_error(text, msg);
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", b->section,
		    b->key, b->below);
		snprintf(msg, sizeof(msg), "t.conf:2: \"%s\" must be a number "
		    "from %s to %s, got \"%s\"", b->key, b->min, b->max,
		    b->below);
		expect_error(text, msg);
	}
	expect_ok(&cfg, "[engine]\nholdout_pct = 12.5\nroi_target = 1e1\n");
	assert_true(cfg.engine.holdout_pct == 12.5);
	assert_true(cfg.engine.roi_target == 10.0);
}

/* All errors of a buffer are collected, in line order, good keys kept. */
static void
test_many_errors(void **state)
{
	struct config_errors	errs = { 0 };
	struct sp_config	cfg;
	const char		*text =
	    "[redis]\n"
	    "port = 0\n"
	    "db = 3\n"
	    "bogus = 1\n"
	    "[nope]\n"
	    "x = y\n"
	    "[engine]\n"
	    "levels = 9\n"
	    "levels = 4\n"
	    "roi_target = 2.5\n";

	(void)state;
	assert_int_equal(parse(&cfg, text, &errs), -1);
	assert_int_equal(errs.count, 5);
	assert_string_equal(errs.msg[0], "t.conf:2: \"port\" must be an "
	    "integer from 1 to 65535, got \"0\"");
	assert_string_equal(errs.msg[1],
	    "t.conf:4: unknown key \"bogus\" in section [redis]");
	assert_string_equal(errs.msg[2], "t.conf:5: unknown section \"[nope]\"");
	assert_string_equal(errs.msg[3], "t.conf:8: \"levels\" must be an "
	    "integer from 1 to 8, got \"9\"");
	assert_string_equal(errs.msg[4],
	    "t.conf:9: duplicate key \"levels\" in section [engine]");
	assert_int_equal(cfg.redis.port, 6379);	/* bad value: untouched */
	assert_int_equal(cfg.redis.db, 3);
	assert_int_equal(cfg.engine.levels, 5);	/* the duplicate is ignored */
	assert_true(cfg.engine.roi_target == 2.5);
	/* A second parse appends; release empties and allows reuse. */
	assert_int_equal(config_parse(&cfg, "u.conf", "x\n", 2, &errs), -1);
	assert_int_equal(errs.count, 6);
	assert_string_equal(errs.msg[5],
	    "u.conf:1: expected \"key = value\", got \"x\"");
	config_errors_release(&errs);
	assert_int_equal(errs.count, 0);
	assert_null(errs.msg);
	assert_int_equal(config_parse(&cfg, "u.conf", "x\n", 2, &errs), -1);
	assert_int_equal(errs.count, 1);
	config_errors_release(&errs);
	/* With no error list, the result still says it failed. */
	assert_int_equal(config_parse(&cfg, "u.conf", "x\n", 2, NULL), -1);
}

/* Past 1000 errors, one last message says the rest are not shown. */
static void
test_error_cap(void **state)
{
	struct config_errors	 errs = { 0 };
	struct sp_config	 cfg;
	char			*text = malloc(3 * 1500 + 1);
	size_t			 i;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 1500; i++)
		memcpy(text + 3 * i, "x\n\n", 3);
	text[3 * 1500] = '\0';
	assert_int_equal(parse(&cfg, text, &errs), -1);
	assert_int_equal(errs.count, 1001);
	assert_string_equal(errs.msg[999],
	    "t.conf:1999: expected \"key = value\", got \"x\"");
	assert_string_equal(errs.msg[1000],
	    "t.conf:2001: too many errors, the rest are not shown");
	config_errors_release(&errs);
	free(text);
}

/* Comments: full-line, and trailing only after whitespace. */
static void
test_comments(void **state)
{
	struct sp_config	cfg;

	(void)state;
	expect_ok(&cfg,
	    "# top\n"
	    "  ; indented\n"
	    "[redis] # section comment\n"
	    "port = 6380 # trailing\n"
	    "key_prefix = sp:#x\n"
	    "host = h\t;1\n"
	    "db = 2\t; tab before\n"
	    "[admin]\n"
	    "token_file = # nothing\n");
	assert_int_equal(cfg.redis.port, 6380);
	assert_string_equal(cfg.redis.key_prefix, "sp:#x");
	assert_string_equal(cfg.redis.host, "h");
	assert_int_equal(cfg.redis.db, 2);
	assert_string_equal(cfg.admin.token_file, "");
	expect_ok(&cfg, "[kafka]\nclient_id = c;1 ;x\n");
	assert_string_equal(cfg.kafka.client_id, "c;1");
	expect_ok(&cfg, "[admin]\ntoken_file = x\n");
	assert_string_equal(cfg.admin.token_file, "x");
	expect_ok(&cfg, "[admin]\ntoken_file =#x\n");
	assert_string_equal(cfg.admin.token_file, "");
}

/* Values may be empty, surrounded by blanks, or double-quoted. */
static void
test_quoting(void **state)
{
	struct sp_config	cfg;

	(void)state;
	expect_ok(&cfg,
	    "\t[ kafka ]\t\n"
	    "  group_id\t=\t\"a # b ; c\"  # comment\n"
	    "client_id = \"  padded  \"\n"
	    "brokers = \"h1:1, [::1]:2,h3:3\"\n"
	    "[redis]\n"
	    "port=\"6381\"\n"
	    "key_prefix = a\"b\n"
	    "[admin]\n"
	    "token_file = \"\"\n"
	    "listen = \"[::1]:9000\"\n");
	assert_string_equal(cfg.kafka.group_id, "a # b ; c");
	assert_string_equal(cfg.kafka.client_id, "  padded  ");
	assert_string_equal(cfg.kafka.brokers, "h1:1, [::1]:2,h3:3");
	assert_int_equal(cfg.redis.port, 6381);
	assert_string_equal(cfg.redis.key_prefix, "a\"b");
	assert_string_equal(cfg.admin.token_file, "");
	assert_string_equal(cfg.admin.listen, "[::1]:9000");
}

/* CRLF line ends, a byte order mark and a missing final newline. */
static void
test_line_ends(void **state)
{
	struct sp_config	cfg;

	(void)state;
	expect_ok(&cfg, "\xef\xbb\xbf[redis]\r\nport = 6390\r\ndb = 4");
	assert_int_equal(cfg.redis.port, 6390);
	assert_int_equal(cfg.redis.db, 4);
	expect_error("\xef\xbb\xbf[redis]\r\nport = x\r\n",
	    "t.conf:2: \"port\" must be an integer from 1 to 65535, "
	    "got \"x\"");
}

/* A NUL byte is an error at its line; the buffer is not read past len. */
static void
test_nul_byte(void **state)
{
	static const char	 src[] = "[redis]\nport = 63\00080\ndb = 5\n";
	struct config_errors	 errs = { 0 };
	struct sp_config	 cfg;
	char			*buf;

	(void)state;
	buf = malloc(sizeof(src) - 1);	/* no terminator: ASan checks reads */
	assert_non_null(buf);
	memcpy(buf, src, sizeof(src) - 1);
	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "n.conf", buf, sizeof(src) - 1,
	    &errs), -1);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "n.conf:2: line contains a NUL byte");
	assert_int_equal(cfg.redis.port, 6379);
	assert_int_equal(cfg.redis.db, 5);
	config_errors_release(&errs);
	/* Only len bytes count: "db = 5" cut to "db = ". */
	assert_int_equal(config_parse(&cfg, "n.conf", buf, sizeof(src) - 3,
	    &errs), -1);
	assert_string_equal(errs.msg[1], "n.conf:3: \"db\" must be an integer "
	    "from 0 to 15, got \"\"");
	config_errors_release(&errs);
	free(buf);
}

/* Without token_file, admin.listen must be loopback. */
static void
test_admin_rule(void **state)
{
	static const char *const ok[] = {
		"127.0.0.1:8470", "127.9.8.7:1", "[::1]:8470",
		"localhost:8470", "LOCALHOST:1", "[::ffff:127.0.0.1]:80",
	};
	struct sp_config	 cfg;
	char			 text[128];
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(ok); i++) {
		snprintf(text, sizeof(text), "[admin]\nlisten = %s\n", ok[i]);
		expect_ok(&cfg, text);
	}
	expect_error("[admin]\ntoken_file =\n\nlisten = 0.0.0.0:8470\n",
	    "t.conf:4: admin listen \"0.0.0.0:8470\" is not loopback and no "
	    "token_file is set");
	expect_error("[admin]\nlisten = [::]:8470\n",
	    "t.conf:2: admin listen \"[::]:8470\" is not loopback and no "
	    "token_file is set");
	expect_error("[admin]\nlisten = example.com:80\n",
	    "t.conf:2: admin listen \"example.com:80\" is not loopback and no "
	    "token_file is set");
	expect_ok(&cfg, "[admin]\nlisten = 0.0.0.0:8470\n"
	    "token_file = /etc/smartpromo/token\n");
	assert_string_equal(cfg.admin.token_file, "/etc/smartpromo/token");
}

/* The cross-key rule also applies to values from an earlier parse. */
static void
test_admin_rule_layered(void **state)
{
	struct config_errors	errs = { 0 };
	struct sp_config	cfg;
	const char		*a = "[admin]\nlisten = 10.0.0.1:1\ntoken_file = t\n";
	const char		*b = "\n[admin]\ntoken_file =\n";

	(void)state;
	assert_int_equal(parse(&cfg, a, &errs), 0);
	assert_int_equal(config_parse(&cfg, "b.conf", b, strlen(b), &errs), -1);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "b.conf:3: admin listen "
	    "\"10.0.0.1:1\" is not loopback and no token_file is set");
	config_errors_release(&errs);
}

/* The four topics must differ; the later line is blamed. */
static void
test_topics_differ(void **state)
{
	struct config_errors	errs = { 0 };
	struct sp_config	cfg;

	(void)state;
	expect_error("[kafka]\noffers_topic = smartpromo.events\n",
	    "t.conf:2: \"offers_topic\" must differ from \"input_topic\", "
	    "both are \"smartpromo.events\"");
	expect_error("[kafka]\ndead_letter_topic = x\nmetrics_topic = x\n",
	    "t.conf:3: \"metrics_topic\" must differ from "
	    "\"dead_letter_topic\", both are \"x\"");
	assert_int_equal(parse(&cfg, "[kafka]\ninput_topic = t\n"
	    "offers_topic = t\nmetrics_topic = t\ndead_letter_topic = t\n",
	    &errs), -1);
	assert_int_equal(errs.count, 6);
	config_errors_release(&errs);
	expect_ok(&cfg, "[kafka]\ninput_topic = a\noffers_topic = b\n"
	    "metrics_topic = c\ndead_letter_topic = d\n");
}

/* Time zones: UTC, real zone files, and no escape from zoneinfo. */
static void
test_timezone(void **state)
{
	static const char *const bad[] = {
		"../../etc/passwd", "/etc/passwd", "Europe/../UTC", "./UTC",
		"Europe//Paris", "Europe/", "utc zone", "",
	};
	struct sp_config	 cfg;
	char			 text[256], msg[512];
	size_t			 i;

	(void)state;
	expect_ok(&cfg, "[schedule]\ntimezone = UTC\n");
	for (i = 0; i < nitems(bad); i++) {
		snprintf(text, sizeof(text), "[schedule]\ntimezone = \"%s\"\n",
		    bad[i]);
		if (*bad[i] == '\0')
			snprintf(msg, sizeof(msg),
			    "t.conf:2: \"timezone\" must not be empty");
		else
			snprintf(msg, sizeof(msg), "t.conf:2: \"timezone\" must "
			    "be \"UTC\" or a zone name such as \"Europe/Paris\", "
			    "got \"%s\"", bad[i]);
		expect_error(text, msg);
	}
	expect_error("[schedule]\ntimezone = Mars/Olympus_Mons\n",
	    "t.conf:2: unknown time zone \"Mars/Olympus_Mons\" (not found "
	    "under /usr/share/zoneinfo)");
	if (access("/usr/share/zoneinfo/Europe/Paris", R_OK) != 0)
		skip();
	expect_ok(&cfg, "[schedule]\ntimezone = Europe/Paris\n"
	    "snapshot_time = 23:59\n");
	assert_string_equal(cfg.schedule.timezone, "Europe/Paris");
	assert_int_equal(cfg.schedule.snapshot_minute, 23 * 60 + 59);
	expect_error("[schedule]\ntimezone = Europe\n",
	    "t.conf:2: unknown time zone \"Europe\" (not found under "
	    "/usr/share/zoneinfo)");
	if (access("/usr/share/zoneinfo/zone.tab", R_OK) == 0)
		expect_error("[schedule]\ntimezone = zone.tab\n",
		    "t.conf:2: unknown time zone \"zone.tab\" (not found "
		    "under /usr/share/zoneinfo)");
}

/* The time of day fills snapshot_minute. */
static void
test_snapshot_time(void **state)
{
	struct sp_config	cfg;

	(void)state;
	expect_ok(&cfg, "[schedule]\nsnapshot_time = 02:30\n");
	assert_string_equal(cfg.schedule.snapshot_time, "02:30");
	assert_int_equal(cfg.schedule.snapshot_minute, 150);
	expect_ok(&cfg, "[schedule]\nsnapshot_time = 23:59\n");
	assert_int_equal(cfg.schedule.snapshot_minute, 1439);
	expect_error("[schedule]\nsnapshot_time = 12:60\n",
	    "t.conf:2: \"snapshot_time\" must be a time HH:MM from 00:00 to "
	    "23:59, got \"12:60\"");
}

/* config_split_hostport() on good and bad input. */
static void
test_split_hostport(void **state)
{
	static const char *const bad[] = {
		"", ":80", "h:", "h:0", "h:65536", "h:+80", "h:-1", "h:8x",
		"::1:80", "[::1]80", "[::1]:", "[]:80", "[::1", "h",
		"a b:80", "h:80:81", "h: 80", "a#b:80", "a/b:80", "[a b]:1",
	};
	char	host[64];
	int	port;
	size_t	i;

	(void)state;
	assert_int_equal(config_split_hostport("h.example:9092", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "h.example");
	assert_int_equal(port, 9092);
	assert_int_equal(config_split_hostport("[fe80::1]:65535", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, 65535);
	assert_int_equal(config_split_hostport("abcd:1", host, 4, &port), -1);
	assert_int_equal(config_split_hostport("abc:1", host, 4, &port), 0);
	for (i = 0; i < nitems(bad); i++) {
		if (config_split_hostport(bad[i], host, sizeof(host),
		    &port) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

/* config_is_loopback() on addresses and names. */
static void
test_is_loopback(void **state)
{
	(void)state;
	assert_true(config_is_loopback("127.0.0.1"));
	assert_true(config_is_loopback("127.255.255.254"));
	assert_true(config_is_loopback("::1"));
	assert_true(config_is_loopback("localhost"));
	assert_false(config_is_loopback("0.0.0.0"));
	assert_false(config_is_loopback("128.0.0.1"));
	assert_false(config_is_loopback("::"));
	assert_false(config_is_loopback("localhost.example"));
	assert_false(config_is_loopback("127.0.0.1.nip.io"));
	assert_false(config_is_loopback(""));
}

/* config_load(): missing file, too large file, a good file. */
static void
test_load(void **state)
{
	struct config_errors	 errs = { 0 };
	struct sp_config	 cfg;
	char			 path[] = "/tmp/test_config.XXXXXX";
	char			 msg[256];
	FILE			*f;
	int			 fd;

	(void)state;
	assert_int_equal(config_load(&cfg, "/nonexistent/sp.conf", &errs), -1);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0],
	    "/nonexistent/sp.conf:0: cannot open: No such file or directory");
	config_errors_release(&errs);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("[redis]\nport = 7000\n", f);
	fflush(f);
	assert_int_equal(config_load(&cfg, path, &errs), 0);
	assert_int_equal(cfg.redis.port, 7000);
	for (int i = 0; i < 1024 * 1024 / 8; i++)
		fputs("#.....\n\n", f);
	fclose(f);
	assert_int_equal(config_load(&cfg, path, &errs), -1);
	snprintf(msg, sizeof(msg), "%s:0: file too large (more than 1048576 "
	    "bytes)", path);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], msg);
	config_errors_release(&errs);
	unlink(path);
}

/* A small fixed-seed generator for the fuzz loop. */
static uint64_t
fuzz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Fill buf with a random or mutated buffer; returns its length. */
static size_t
fuzz_make(uint64_t *s, const char *seed, size_t seedlen, char *buf,
    size_t cap)
{
	static const char alphabet[] = "[]=#;\" \t\r\n:,.-_0123456789azAZ\\";
	size_t	 len, i, n, at;

	if (fuzz_next(s) % 4 == 0) {
		len = fuzz_next(s) % 600;
		for (i = 0; i < len; i++)
			buf[i] = fuzz_next(s) % 3 == 0 ?
			    (char)(fuzz_next(s) & 0xff) :
			    alphabet[fuzz_next(s) % (sizeof(alphabet) - 1)];
		return len;
	}
	len = seedlen < cap ? seedlen : cap;
	memcpy(buf, seed, len);
	n = 1 + fuzz_next(s) % 16;
	for (i = 0; i < n && len > 0; i++) {
		at = fuzz_next(s) % len;
		switch (fuzz_next(s) % 4) {
		case 0:
			buf[at] = (char)(fuzz_next(s) & 0xff);
			break;
		case 1:
			buf[at] = alphabet[fuzz_next(s) %
			    (sizeof(alphabet) - 1)];
			break;
		case 2:
			len = at;	/* truncate */
			break;
		default:
			memmove(buf + at, buf + at + 1, len - at - 1);
			len--;
		}
	}
	return len;
}

/* Nonzero if msg is "fuzz.conf:<digits>: <something>". */
static int
fuzz_msg_ok(const char *msg)
{
	const char	*p;

	if (strncmp(msg, "fuzz.conf:", 10) != 0)
		return 0;
	p = msg + 10;
	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	return p[0] == ':' && p[1] == ' ' && p[2] != '\0';
}

/* 20,000 random and mutated buffers: no crash, well-formed messages. */
static void
test_fuzz(void **state)
{
	struct config_errors	 errs = { 0 };
	struct sp_config	 cfg;
	uint64_t		 s = 0x5eed5eed12345678ULL;
	char			*seed, *buf, *scratch;
	size_t			 seedlen, len, i, j, failures = 0;
	int			 rc;

	(void)state;
	seed = slurp(SP_EXAMPLE_CONF, &seedlen);
	assert_non_null(scratch = malloc(1 << 16));
	for (i = 0; i < 20000; i++) {
		len = fuzz_make(&s, seed, seedlen, scratch, 1 << 16);
		buf = malloc(len ? len : 1);
		assert_non_null(buf);
		memcpy(buf, scratch, len);
		config_defaults(&cfg);
		rc = config_parse(&cfg, "fuzz.conf", buf, len, &errs);
		assert_int_equal(rc == -1, errs.count > 0);
		failures += rc == -1;
		for (j = 0; j < errs.count; j++)
			if (!fuzz_msg_ok(errs.msg[j]))
				fail_msg("bad message \"%s\"", errs.msg[j]);
		config_errors_release(&errs);
		free(buf);
	}
	assert_true(failures > 1000);	/* the mutations did find errors */
	free(scratch);
	free(seed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_creators),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_int_bounds),
		cmocka_unit_test(test_double_bounds),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_admin_rule),
		cmocka_unit_test(test_admin_rule_layered),
		cmocka_unit_test(test_topics_differ),
		cmocka_unit_test(test_timezone),
		cmocka_unit_test(test_snapshot_time),
		cmocka_unit_test(test_split_hostport),
		cmocka_unit_test(test_is_loopback),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
