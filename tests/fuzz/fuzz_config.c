/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c - libFuzzer target for the configuration parser
 * (config/config.c, config_parse()).
 *
 * For every input it checks, and aborts on a violation:
 * - every error message is "fuzz.conf:LINE: text", LINE a decimal number
 *   no greater than the input's line count, text non-empty, printable (no
 *   control byte can reach a log line), no final full stop;
 * - the result is -1 exactly when there are messages, at most 1001 of them;
 * - parsing twice gives the same result, messages and configuration, and
 *   so does parsing without an error list;
 * - every setting keeps the bounds of docs/configuration.md, strings are
 *   NUL-terminated within their arrays, the log level is known, and the
 *   snapshot minute matches snapshot_time;
 * - the configuration written back as INI (every key, quoted when it can
 *   be) parses, into the released and reused error list, to the same
 *   configuration, without errors when the input had none.
 * ASan's leak check covers config_errors_release().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FUZZ_FILE "fuzz.conf"
#define FUZZ_ERRORS_MAX 1001            /* 1000 and "too many errors" */

#define CHECK(c)	fuzz_check((c), #c, __LINE__)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum fuzz_type { FT_STR, FT_INT, FT_DBL };

/*
 * One setting of struct sp_config, as written in the file, with its bounds
 * (numbers only; docs/configuration.md).  A key missing here is still
 * parsed and compared, only not written back.
 */
struct fuzz_key {
	const char *section;
	const char *key;
	enum fuzz_type type;
	size_t off, size;
	double min, max;
};

#define K(s, k, t, lo, hi) { #s, #k, t, offsetof(struct sp_config, s.k), \
	sizeof(((struct sp_config *)0)->s.k), lo, hi }
#define S(s, k)	K(s, k, FT_STR, 0, 0)

static const struct fuzz_key fuzz_keys[] = {
	S(kafka, brokers), S(kafka, group_id), S(kafka, client_id),
	S(kafka, input_topic), S(kafka, offers_topic), S(kafka, metrics_topic),
	S(kafka, dead_letter_topic),
	K(kafka, batch_max, FT_INT, 1, 100000),
	K(kafka, commit_interval_ms, FT_INT, 10, 60000),
	K(kafka, queue_max_kbytes, FT_INT, 1024, 2097151),
	K(kafka, session_timeout_ms, FT_INT, 6000, 300000),
	S(redis, host),
	K(redis, port, FT_INT, 1, 65535),
	S(redis, key_prefix),
	K(redis, db, FT_INT, 0, 15),
	K(redis, timeout_ms, FT_INT, 100, 600000),
	K(redis, day_ttl_days, FT_INT, 2, 3650),
	S(admin, listen), S(admin, token_file),
	K(admin, max_body_bytes, FT_INT, 1024, 67108864),
	K(admin, timeout_s, FT_INT, 1, 3600),
	K(engine, roi_target, FT_DBL, 1.0, 100.0),
	K(engine, holdout_pct, FT_DBL, 0, 50),
	K(engine, offer_ttl_minutes, FT_INT, 1, 43200),
	K(engine, attribution_hours, FT_INT, 1, 720),
	K(engine, levels, FT_INT, 1, 8),
	K(engine, prior_conversion, FT_DBL, 0.0001, 0.9),
	K(engine, prior_strength, FT_DBL, 1, 10000),
	K(engine, decay_half_life_hours, FT_DBL, 0, 87600),
	K(engine, max_discount_pct, FT_INT, 1, 95),
	S(engine, tools),
	K(plans, min_sps, FT_DBL, 0, 5),
	K(plans, min_orders_90d, FT_INT, 0, 1000000),
	S(plans, require_shop_data), S(plans, allow_past_start),
	K(plans, max_days, FT_INT, 7, 3650),
	K(segments, window_days, FT_INT, 1, 365),
	K(segments, clearance_min_stock, FT_INT, 0, 1000000000),
	K(segments, trending_top_pct, FT_INT, 1, 100),
	K(segments, trending_min_views, FT_INT, 0, 1000000000),
	K(segments, bestselling_top_pct, FT_INT, 1, 100),
	K(segments, bestselling_min_orders, FT_INT, 0, 1000000000),
	K(segments, noncompetitive_top_n, FT_INT, 1, 1000000),
	S(segments, noncompetitive_combine),
	K(segments, recompute_minutes, FT_DBL, 0.05, 10080),
	S(schedule, snapshot_time), S(schedule, timezone),
	S(log, level),
};

#define FUZZ_NKEYS (sizeof(fuzz_keys) / sizeof(fuzz_keys[0]))

/* Abort with the failed condition when c is false. */
static void
fuzz_check(int c, const char *what, int line)
{
	if (c)
		return;
	fprintf(stderr, "fuzz_config.c:%d: invariant violated: %s\n", line,
	    what);
	abort();
}

/* The number of lines the parser can count in the input. */
static unsigned long
fuzz_lines(const uint8_t *data, size_t size)
{
	unsigned long n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

/* One message: "fuzz.conf:LINE: text", printable, LINE in range. */
static void
fuzz_check_message(const char *m, unsigned long nlines)
{
	const char *p = m + strlen(FUZZ_FILE ":");
	char *end;
	unsigned long line;
	size_t n;

	CHECK(strncmp(m, FUZZ_FILE ":", strlen(FUZZ_FILE ":")) == 0);
	CHECK(*p >= '0' && *p <= '9');
	line = strtoul(p, &end, 10);
	CHECK(line <= nlines);
	CHECK(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
	for (n = 0; m[n] != '\0'; n++)
		CHECK((unsigned char)m[n] >= 0x20 && (unsigned char)m[n] != 0x7f);
	CHECK(m[n - 1] != '.');
}

/* The outcome of a parse: rc agrees with the messages, all well formed. */
static void
fuzz_check_errors(int rc, const struct config_errors *errs,
    unsigned long nlines)
{
	CHECK(rc == 0 || rc == -1);
	CHECK((rc == -1) == (errs->count > 0));
	CHECK(errs->count <= FUZZ_ERRORS_MAX);
	CHECK(errs->count <= errs->cap);
	for (size_t i = 0; i < errs->count; i++)
		fuzz_check_message(errs->msg[i], nlines);
}

/* Nonzero if two lists of messages are identical. */
static int
fuzz_same_errors(const struct config_errors *a, const struct config_errors *b)
{
	if (a->count != b->count)
		return 0;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->msg[i], b->msg[i]) != 0)
			return 0;
	return 1;
}

/* One setting: a string ends within its array, a number is in bounds. */
static void
fuzz_check_value(const struct sp_config *cfg, const struct fuzz_key *k)
{
	const char *at = (const char *)cfg + k->off;
	int i;
	double d;

	if (k->type == FT_STR) {
		CHECK(memchr(at, '\0', k->size) != NULL);
		CHECK(at[0] != '\0' || strcmp(k->key, "token_file") == 0);
	} else if (k->type == FT_INT) {
		memcpy(&i, at, sizeof(i));
		CHECK(i >= k->min && i <= k->max);
	} else {
		memcpy(&d, at, sizeof(d));
		CHECK(d >= k->min && d <= k->max);
	}
}

/* Every setting is valid; the snapshot minute matches its time. */
static void
fuzz_check_values(const struct sp_config *cfg)
{
	static const char *const levels[] = {
		"debug", "info", "notice", "warning", "err"
	};
	const char *t = cfg->schedule.snapshot_time;
	int known = 0;

	for (size_t i = 0; i < FUZZ_NKEYS; i++)
		fuzz_check_value(cfg, &fuzz_keys[i]);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		known |= strcmp(cfg->log.level, levels[i]) == 0;
	CHECK(known);
	CHECK(strlen(t) == 5 && t[2] == ':');
	CHECK(cfg->schedule.snapshot_minute ==
	    ((t[0] - '0') * 10 + t[1] - '0') * 60 + (t[3] - '0') * 10 +
	    t[4] - '0');
	CHECK(cfg->schedule.snapshot_minute >= 0 &&
	    cfg->schedule.snapshot_minute < 24 * 60);
}

/* Append one "key = value" line for k to f. */
static void
fuzz_write_key(FILE *f, const struct sp_config *cfg, const struct fuzz_key *k)
{
	const char *at = (const char *)cfg + k->off;
	int i;
	double d;

	if (k->type == FT_INT) {
		memcpy(&i, at, sizeof(i));
		fprintf(f, "%s = %d\n", k->key, i);
	} else if (k->type == FT_DBL) {
		memcpy(&d, at, sizeof(d));
		fprintf(f, "%s = %.17g\n", k->key, d);
	} else if (strchr(at, '"') == NULL)
		fprintf(f, "%s = \"%s\"\n", k->key, at);
	else
		fprintf(f, "%s = %s\n", k->key, at);   /* was unquoted */
}

/* The whole configuration as INI text (malloc'd), every key written. */
static char *
fuzz_write_ini(const struct sp_config *cfg, size_t *len)
{
	const char *section = "";
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	CHECK(f != NULL);
	for (size_t i = 0; i < FUZZ_NKEYS; i++) {
		if (strcmp(section, fuzz_keys[i].section) != 0) {
			section = fuzz_keys[i].section;
			fprintf(f, "[%s]\n", section);
		}
		fuzz_write_key(f, cfg, &fuzz_keys[i]);
	}
	CHECK(fclose(f) == 0 && text != NULL);
	return text;
}

/*
 * Written back and parsed again (over a copy, so that keys this file does
 * not know keep their values; into the reused errs), the same settings.
 */
static void
fuzz_check_rewrite(const struct sp_config *cfg, int rc,
    struct config_errors *errs)
{
	struct sp_config again;
	size_t len;
	char *text = fuzz_write_ini(cfg, &len);
	int rc2;

	memcpy(&again, cfg, sizeof(again));
	rc2 = config_parse(&again, FUZZ_FILE, text, len, errs);
	fuzz_check_errors(rc2, errs, fuzz_lines((const uint8_t *)text, len));
	if ((rc == 0 && rc2 != 0) || memcmp(cfg, &again, sizeof(again)) != 0) {
		fprintf(stderr, "rewritten configuration differs:\n%s", text);
		for (size_t i = 0; i < errs->count; i++)
			fprintf(stderr, "%s\n", errs->msg[i]);
	}
	CHECK(rc != 0 || rc2 == 0);
	CHECK(memcmp(cfg, &again, sizeof(again)) == 0);
	config_errors_release(errs);
	free(text);
}

/* One input: parse, check, parse again, write back. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_config *cfg = malloc(sizeof(*cfg) * 3);
	struct config_errors errs = { 0 }, first = { 0 };
	unsigned long nlines = fuzz_lines(data, size);
	int rc;

	CHECK(cfg != NULL);
	config_defaults(&cfg[0]);
	rc = config_parse(&cfg[0], FUZZ_FILE, (const char *)data, size, &first);
	fuzz_check_errors(rc, &first, nlines);
	fuzz_check_values(&cfg[0]);

	config_defaults(&cfg[1]);
	CHECK(config_parse(&cfg[1], FUZZ_FILE, (const char *)data, size,
	    &errs) == rc);
	CHECK(fuzz_same_errors(&first, &errs));
	CHECK(memcmp(&cfg[0], &cfg[1], sizeof(cfg[0])) == 0);
	config_errors_release(&errs);
	CHECK(errs.msg == NULL && errs.count == 0 && errs.cap == 0);

	config_defaults(&cfg[2]);
	CHECK(config_parse(&cfg[2], NULL, (const char *)data, size, NULL) == rc);
	CHECK(memcmp(&cfg[0], &cfg[2], sizeof(cfg[0])) == 0);

	fuzz_check_rewrite(&cfg[0], rc, &errs);
	config_errors_release(&first);
	free(cfg);
	return 0;
}
