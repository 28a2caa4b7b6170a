/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the configuration table and its INI parser.
 *
 * One static table, config_options[], names every key the daemon knows:
 * section, key, type, field offset, default (as text, parsed by the same
 * code as the file), bounds and an optional validator.  config_defaults()
 * and config_parse() both go through config_set(), so a default can never
 * escape the checks a value from the file gets.
 *
 * The parser works on a buffer of known length, line by line, and never
 * stops at the first problem: each one becomes a "FILE:LINE: message" in
 * the caller's struct config_errors.  A value that fails its checks leaves
 * the field untouched.  The cross-key rules run once the whole buffer is
 * read and report the line that set the offending key (0 if no line did).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_LINE_MAX		4096		/* bytes per line, without EOL */
#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes per file */
#define CONFIG_ERRORS_MAX	1000		/* messages kept per parse */
#define CONFIG_QUOTE_MAX	128		/* value bytes shown in a message */
#define CONFIG_QBUF		(CONFIG_QUOTE_MAX * 4 + 8)
#define CONFIG_WHY_MAX		1024
#define CONFIG_ZONEINFO		"/usr/share/zoneinfo"
#define CONFIG_TOPIC_MAX	249
#define CONFIG_HOST_CHARS	"abcdefghijklmnopqrstuvwxyz" \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%"

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_DOUBLE,
	CONFIG_TOD,		/* time of day, HH:MM */
	CONFIG_ENUM,
	CONFIG_PATH,
	CONFIG_HOSTPORT
};

struct config_option;

/* A validator: 0, or -1 with the message in why. */
typedef int (*config_check_fn)(const struct config_option *, const char *,
    char *, size_t);

struct config_option {
	const char		*section;
	const char		*key;
	enum config_type	 type;
	size_t			 off;	/* of the field in struct sp_config */
	size_t			 size;	/* of the field */
	const char		*def;	/* default, as it would be written */
	double			 min;	/* numbers: bounds; strings: min length */
	double			 max;
	config_check_fn		 check;
	const char *const	*choices; /* CONFIG_ENUM: NULL-terminated */
	size_t			 aux;	/* CONFIG_TOD: offset of the minutes */
};

static int config_check_brokers(const struct config_option *, const char *,
    char *, size_t);
static int config_check_topic(const struct config_option *, const char *,
    char *, size_t);
static int config_check_host(const struct config_option *, const char *,
    char *, size_t);
static int config_check_prefix(const struct config_option *, const char *,
    char *, size_t);
static int config_check_timezone(const struct config_option *, const char *,
    char *, size_t);
static int config_check_tools(const struct config_option *, const char *,
    char *, size_t);

static const char *const config_yes_no[] = { "yes", "no", NULL };
static const char *const config_combine[] = { "rank_sum", "both", NULL };

static const char *const config_log_levels[] = {
	"debug", "info", "notice", "warning", "err", NULL
};

#define CONFIG_F(s, f) \
	offsetof(struct sp_config, s.f), sizeof(((struct sp_config *)0)->s.f)
#define CONFIG_STR(s, f, d, lo, chk) \
	{ #s, #f, CONFIG_STRING, CONFIG_F(s, f), d, lo, 0, chk, NULL, 0 }
#define CONFIG_INT(s, f, d, lo, hi) \
	{ #s, #f, CONFIG_INT, CONFIG_F(s, f), d, lo, hi, NULL, NULL, 0 }
#define CONFIG_DBL(s, f, d, lo, hi) \
	{ #s, #f, CONFIG_DOUBLE, CONFIG_F(s, f), d, lo, hi, NULL, NULL, 0 }

static const struct config_option config_options[] = {
	CONFIG_STR(kafka, brokers, "127.0.0.1:9092", 1, config_check_brokers),
	CONFIG_STR(kafka, group_id, "smartpromo", 1, NULL),
	CONFIG_STR(kafka, client_id, "smartpromod", 1, NULL),
	CONFIG_STR(kafka, input_topic, "smartpromo.events", 1,
	    config_check_topic),
	CONFIG_STR(kafka, offers_topic, "smartpromo.offers", 1,
	    config_check_topic),
	CONFIG_STR(kafka, metrics_topic, "smartpromo.metrics", 1,
	    config_check_topic),
	CONFIG_STR(kafka, dead_letter_topic, "smartpromo.dead-letter", 1,
	    config_check_topic),
	CONFIG_INT(kafka, batch_max, "10000", 1, 100000),
	CONFIG_INT(kafka, commit_interval_ms, "500", 10, 60000),
	CONFIG_INT(kafka, queue_max_kbytes, "65536", 1024, 2097151),
	CONFIG_INT(kafka, session_timeout_ms, "45000", 6000, 300000),
	CONFIG_INT(kafka, fetch_wait_max_ms, "20", 1, 1000),
	CONFIG_INT(kafka, linger_ms, "2", 0, 1000),

	CONFIG_STR(redis, host, "127.0.0.1", 1, config_check_host),
	CONFIG_INT(redis, port, "6379", 1, 65535),
	CONFIG_STR(redis, key_prefix, "sp:", 1, config_check_prefix),
	CONFIG_INT(redis, db, "0", 0, 15),
	CONFIG_INT(redis, timeout_ms, "5000", 100, 600000),
	CONFIG_INT(redis, day_ttl_days, "400", 2, 3650),

	{ "admin", "listen", CONFIG_HOSTPORT, CONFIG_F(admin, listen),
	    "127.0.0.1:8470", 0, 0, NULL, NULL, 0 },
	{ "admin", "token_file", CONFIG_PATH, CONFIG_F(admin, token_file),
	    "", 0, 0, NULL, NULL, 0 },
	CONFIG_INT(admin, max_body_bytes, "1048576", 1024, 67108864),
	CONFIG_INT(admin, timeout_s, "30", 1, 3600),

	CONFIG_DBL(engine, roi_target, "5.0", 1.0, 100.0),
	CONFIG_DBL(engine, holdout_pct, "5", 0, 50),
	CONFIG_INT(engine, offer_ttl_minutes, "1440", 1, 43200),
	CONFIG_INT(engine, attribution_hours, "72", 1, 720),
	CONFIG_INT(engine, levels, "5", 1, 8),
	CONFIG_DBL(engine, prior_conversion, "0.05", 0.0001, 0.9),
	CONFIG_DBL(engine, prior_strength, "20", 1, 10000),
	CONFIG_DBL(engine, decay_half_life_hours, "168", 0, 87600),
	CONFIG_INT(engine, max_discount_pct, "80", 1, 95),
	CONFIG_STR(engine, tools, "product_discount,flash_sale,voucher,"
	    "new_customer_discount,bmsm", 1, config_check_tools),
	{ "engine", "late_view_offers", CONFIG_ENUM,
	    CONFIG_F(engine, late_view_offers), "no", 0, 0, NULL,
	    config_yes_no, 0 },

	CONFIG_DBL(plans, min_sps, "3.5", 0, 5),
	CONFIG_INT(plans, min_orders_90d, "30", 0, 1000000),
	{ "plans", "require_shop_data", CONFIG_ENUM,
	    CONFIG_F(plans, require_shop_data), "yes", 0, 0, NULL,
	    config_yes_no, 0 },
	{ "plans", "allow_past_start", CONFIG_ENUM,
	    CONFIG_F(plans, allow_past_start), "no", 0, 0, NULL,
	    config_yes_no, 0 },
	CONFIG_INT(plans, max_days, "365", 7, 365),

	CONFIG_INT(segments, window_days, "30", 1, 365),
	CONFIG_INT(segments, clearance_min_stock, "25", 1, 1000000000),
	CONFIG_INT(segments, trending_top_pct, "10", 1, 100),
	CONFIG_INT(segments, trending_min_views, "100", 1, 1000000000),
	CONFIG_INT(segments, bestselling_top_pct, "10", 1, 100),
	CONFIG_INT(segments, bestselling_min_orders, "10", 1, 1000000000),
	CONFIG_INT(segments, noncompetitive_top_n, "200", 1, 1000000),
	{ "segments", "noncompetitive_combine", CONFIG_ENUM,
	    CONFIG_F(segments, noncompetitive_combine), "rank_sum", 0, 0,
	    NULL, config_combine, 0 },
	CONFIG_DBL(segments, recompute_minutes, "60", 0.05, 10080),

	{ "schedule", "snapshot_time", CONFIG_TOD,
	    CONFIG_F(schedule, snapshot_time), "00:00", 0, 0, NULL, NULL,
	    offsetof(struct sp_config, schedule.snapshot_minute) },
	CONFIG_STR(schedule, timezone, "UTC", 1, config_check_timezone),

	CONFIG_INT(creators, window_days, "90", 1, 365),
	CONFIG_INT(creators, min_category_orders, "30", 1, 1000000),
	CONFIG_INT(creators, min_videos, "20", 1, 1000000),
	CONFIG_INT(creators, min_lives, "5", 1, 1000000),

	{ "log", "level", CONFIG_ENUM, CONFIG_F(log, level), "info", 0, 0,
	    NULL, config_log_levels, 0 },
	{ "log", "rate_limit", CONFIG_ENUM, CONFIG_F(log, rate_limit), "yes",
	    0, 0, NULL, config_yes_no, 0 },
};

#define CONFIG_NOPTIONS (sizeof(config_options) / sizeof(config_options[0]))

/* The four topics that must all differ, in table order. */
static const char *const config_topics[] = {
	"input_topic", "offers_topic", "metrics_topic", "dead_letter_topic"
};

struct config_parser {
	struct sp_config	*cfg;
	const char		*file;
	struct config_errors	*errs;
	size_t			 nerr;		/* errors in this parse */
	unsigned		 line;
	const char		*section;	/* NULL before the first */
	int			 section_bad;	/* skip keys until the next */
	unsigned		 set_line[CONFIG_NOPTIONS];
};

/* Whitespace as the INI syntax sees it. */
static int
config_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A byte that must not appear in a value or a message. */
static int
config_isctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Strip surrounding whitespace in place; returns the new start. */
static char *
config_trim(char *s)
{
	char	*e;

	while (config_isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && config_isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Render s for a message: control bytes and quotes escaped, cut short. */
static const char *
config_quote(const char *s, char *dst, size_t dstlen)
{
	size_t	 n = 0, i;

	for (i = 0; s[i] != '\0' && i < CONFIG_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (n + 8 >= dstlen)
			break;
		if (config_isctl(c))
			n += (size_t)snprintf(dst + n, dstlen - n, "\\x%02x", c);
		else if (c == '"' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else
			dst[n++] = (char)c;
	}
	if (s[i] != '\0' && n + 4 < dstlen)
		n += (size_t)snprintf(dst + n, dstlen - n, "...");
	dst[n] = '\0';
	return dst;
}

/* Append "file:line: msg" to errs; silently drops it if out of memory. */
static void
config_errors_add(struct config_errors *errs, const char *file,
    unsigned line, const char *msg)
{
	char	**nmsg, *m;
	size_t	  ncap, len;

	if (errs->count == errs->cap) {
		ncap = errs->cap ? errs->cap * 2 : 8;
		nmsg = realloc(errs->msg, ncap * sizeof(*nmsg));
		if (nmsg == NULL)
			return;
		errs->msg = nmsg;
		errs->cap = ncap;
	}
	len = (size_t)snprintf(NULL, 0, "%s:%u: %s", file, line, msg) + 1;
	if ((m = malloc(len)) == NULL)
		return;
	snprintf(m, len, "%s:%u: %s", file, line, msg);
	errs->msg[errs->count++] = m;
}

/* Record one error of this parse at the given line. */
static void __attribute__((format(printf, 3, 4)))
config_error(struct config_parser *p, unsigned line, const char *fmt, ...)
{
	char	 msg[CONFIG_WHY_MAX];
	va_list	 ap;

	p->nerr++;
	if (p->errs == NULL || p->nerr > CONFIG_ERRORS_MAX + 1)
		return;
	if (p->nerr == CONFIG_ERRORS_MAX + 1) {
		config_errors_add(p->errs, p->file, line,
		    "too many errors, the rest are not shown");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_errors_add(p->errs, p->file, line, msg);
}

/* Free the messages; errs may be reused afterwards. */
void
config_errors_release(struct config_errors *errs)
{
	size_t	i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->count; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->count = errs->cap = 0;
}

/* Parse a whole decimal integer: optional '-', digits, no junk. */
static int
config_parse_ll(const char *s, long long *out)
{
	long long	 v = 0;
	int		 neg = 0, d;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = *s - '0';
		if (v > (LLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? -v : v;
	return 0;
}

/* Parse a whole finite decimal number (no hex, inf or nan). */
static int
config_parse_double(const char *s, double *out)
{
	char	*end;
	double	 v;

	if (*s == '\0' || s[strspn(s, "0123456789.eE+-")] != '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* Parse "HH:MM" into minutes after midnight. */
static int
config_parse_tod(const char *s, int *minute)
{
	int	h, m;

	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	if (strspn(s, "0123456789") != 2 || strspn(s + 3, "0123456789") != 2)
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	*minute = h * 60 + m;
	return 0;
}

/* Set a string or path field after its generic and specific checks. */
static int
config_set_string(struct sp_config *cfg, const struct config_option *o,
    const char *v, char *why, size_t whylen)
{
	char	 q[CONFIG_QBUF];
	size_t	 n = strlen(v);
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (config_isctl((unsigned char)v[i]) && v[i] != '\t') {
			snprintf(why, whylen, "\"%s\" contains a control "
			    "character, got \"%s\"", o->key,
			    config_quote(v, q, sizeof(q)));
			return -1;
		}
	}
	if (n >= o->size) {
		snprintf(why, whylen, "\"%s\" is too long (at most %zu bytes)",
		    o->key, o->size - 1);
		return -1;
	}
	if (n < (size_t)o->min) {
		snprintf(why, whylen, "\"%s\" must not be empty", o->key);
		return -1;
	}
	if (o->check != NULL && o->check(o, v, why, whylen) == -1)
		return -1;
	memcpy((char *)cfg + o->off, v, n + 1);
	return 0;
}

/* Set an int field from a bounded decimal integer. */
static int
config_set_int(struct sp_config *cfg, const struct config_option *o,
    const char *v, char *why, size_t whylen)
{
	char		 q[CONFIG_QBUF];
	long long	 ll;

	if (config_parse_ll(v, &ll) == -1 || ll < (long long)o->min ||
	    ll > (long long)o->max) {
		snprintf(why, whylen, "\"%s\" must be an integer from %lld to "
		    "%lld, got \"%s\"", o->key, (long long)o->min,
		    (long long)o->max, config_quote(v, q, sizeof(q)));
		return -1;
	}
	*(int *)(void *)((char *)cfg + o->off) = (int)ll;
	return 0;
}

/* Set a double field from a bounded finite number. */
static int
config_set_double(struct sp_config *cfg, const struct config_option *o,
    const char *v, char *why, size_t whylen)
{
	char	 q[CONFIG_QBUF];
	double	 d;

	if (config_parse_double(v, &d) == -1 || d < o->min || d > o->max) {
		snprintf(why, whylen, "\"%s\" must be a number from %g to %g, "
		    "got \"%s\"", o->key, o->min, o->max,
		    config_quote(v, q, sizeof(q)));
		return -1;
	}
	*(double *)(void *)((char *)cfg + o->off) = d;
	return 0;
}

/* Set a time-of-day field and the minutes it derives. */
static int
config_set_tod(struct sp_config *cfg, const struct config_option *o,
    const char *v, char *why, size_t whylen)
{
	char	 q[CONFIG_QBUF];
	int	 minute;

	if (config_parse_tod(v, &minute) == -1) {
		snprintf(why, whylen, "\"%s\" must be a time HH:MM from 00:00 "
		    "to 23:59, got \"%s\"", o->key,
		    config_quote(v, q, sizeof(q)));
		return -1;
	}
	memcpy((char *)cfg + o->off, v, 6);
	*(int *)(void *)((char *)cfg + o->aux) = minute;
	return 0;
}

/* Set an enum field to one of its choices. */
static int
config_set_enum(struct sp_config *cfg, const struct config_option *o,
    const char *v, char *why, size_t whylen)
{
	char	 q[CONFIG_QBUF], list[256] = "";
	size_t	 i;

	for (i = 0; o->choices[i] != NULL; i++) {
		if (strcmp(v, o->choices[i]) == 0) {
			snprintf((char *)cfg + o->off, o->size, "%s", v);
			return 0;
		}
	}
	for (i = 0; o->choices[i] != NULL; i++) {
		if (i > 0)
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, o->choices[i], sizeof(list) - strlen(list) - 1);
	}
	snprintf(why, whylen, "\"%s\" must be one of %s, got \"%s\"", o->key,
	    list, config_quote(v, q, sizeof(q)));
	return -1;
}

/* Set a HOST:PORT field. */
static int
config_set_hostport(struct sp_config *cfg, const struct config_option *o,
    const char *v, char *why, size_t whylen)
{
	char	 q[CONFIG_QBUF], host[256];
	int	 port;

	if (strlen(v) >= o->size ||
	    config_split_hostport(v, host, sizeof(host), &port) == -1) {
		snprintf(why, whylen, "\"%s\" must be HOST:PORT with a port "
		    "from 1 to 65535, got \"%s\"", o->key,
		    config_quote(v, q, sizeof(q)));
		return -1;
	}
	memcpy((char *)cfg + o->off, v, strlen(v) + 1);
	return 0;
}

/* Check and store one value of option o; 0, or -1 with the reason. */
static int
config_set(struct sp_config *cfg, const struct config_option *o,
    const char *v, char *why, size_t whylen)
{
	switch (o->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		return config_set_string(cfg, o, v, why, whylen);
	case CONFIG_INT:
		return config_set_int(cfg, o, v, why, whylen);
	case CONFIG_DOUBLE:
		return config_set_double(cfg, o, v, why, whylen);
	case CONFIG_TOD:
		return config_set_tod(cfg, o, v, why, whylen);
	case CONFIG_ENUM:
		return config_set_enum(cfg, o, v, why, whylen);
	case CONFIG_HOSTPORT:
		return config_set_hostport(cfg, o, v, why, whylen);
	}
	snprintf(why, whylen, "\"%s\" has an unknown type", o->key);
	return -1;
}

/* Validate a comma-separated list of HOST:PORT (spaces around items ok). */
static int
config_check_brokers(const struct config_option *o, const char *v, char *why,
    size_t whylen)
{
	char	 buf[CONFIG_STR_MAX], host[256], q[CONFIG_QBUF];
	char	*item, *next;
	int	 port;

	snprintf(buf, sizeof(buf), "%s", v);
	for (item = buf; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		item = config_trim(item);
		if (config_split_hostport(item, host, sizeof(host),
		    &port) == -1) {
			snprintf(why, whylen, "\"%s\" must be a comma-separated "
			    "list of HOST:PORT, got \"%s\"", o->key,
			    config_quote(v, q, sizeof(q)));
			return -1;
		}
	}
	return 0;
}

/* Validate a Kafka topic name: 1..249 of [a-zA-Z0-9._-], not . or .. */
static int
config_check_topic(const struct config_option *o, const char *v, char *why,
    size_t whylen)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	char	 q[CONFIG_QBUF];
	size_t	 n = strlen(v);

	if (n >= 1 && n <= CONFIG_TOPIC_MAX && v[strspn(v, ok)] == '\0' &&
	    strcmp(v, ".") != 0 && strcmp(v, "..") != 0)
		return 0;
	snprintf(why, whylen, "\"%s\" must be a kafka topic name (1 to 249 "
	    "of a-z A-Z 0-9 . _ -), got \"%s\"", o->key,
	    config_quote(v, q, sizeof(q)));
	return -1;
}

/* Validate a comma list of promotion tools, each known and once. */
static int
config_check_tools(const struct config_option *o, const char *v, char *why,
    size_t whylen)
{
	static const char *const names[] = { "product_discount", "flash_sale",
	    "voucher", "new_customer_discount", "bmsm" };
	char	 buf[CONFIG_STR_MAX], q[CONFIG_QBUF], *tok, *save = NULL;
	unsigned seen = 0;

	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]) ||
		    (seen & (1u << i))) {
			snprintf(why, whylen, "\"%s\" must list tools among "
			    "product_discount, flash_sale, voucher, "
			    "new_customer_discount, bmsm, each once, got \"%s\"",
			    o->key, config_quote(v, q, sizeof(q)));
			return -1;
		}
		seen |= 1u << i;
	}
	if (seen != 0)
		return 0;
	snprintf(why, whylen, "\"%s\" must name at least one tool", o->key);
	return -1;
}

/* Validate a host name or address (no port). */
static int
config_check_host(const struct config_option *o, const char *v, char *why,
    size_t whylen)
{
	char	 q[CONFIG_QBUF];

	if (*v != '\0' && v[strspn(v, CONFIG_HOST_CHARS)] == '\0')
		return 0;
	snprintf(why, whylen, "\"%s\" must be a host name or address, got "
	    "\"%s\"", o->key, config_quote(v, q, sizeof(q)));
	return -1;
}

/* Validate the Redis key prefix: no spaces, no hash-tag braces. */
static int
config_check_prefix(const struct config_option *o, const char *v, char *why,
    size_t whylen)
{
	char	 q[CONFIG_QBUF];

	if (v[strcspn(v, " \t{}")] == '\0')
		return 0;
	snprintf(why, whylen, "\"%s\" must be 1 to 63 bytes without spaces or "
	    "braces, got \"%s\"", o->key, config_quote(v, q, sizeof(q)));
	return -1;
}

/* Nonzero if name is a safe relative zone name: no "..", no "/x". */
static int
config_zone_name_ok(const char *name)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-.";
	const char	*c, *slash;
	size_t		 n;

	if (*name == '\0' || name[strspn(name, ok)] != '\0')
		return 0;
	for (c = name;; c = slash + 1) {
		slash = strchr(c, '/');
		n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (slash == NULL)
			return 1;
	}
}

/* Nonzero if the zoneinfo file for name exists and is a TZif file. */
static int
config_zone_exists(const char *name)
{
	char	 path[256], magic[4];
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof(path), "%s/%s", CONFIG_ZONEINFO, name);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return n == sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

/* Validate a time zone: "UTC" or a zone under /usr/share/zoneinfo. */
static int
config_check_timezone(const struct config_option *o, const char *v, char *why,
    size_t whylen)
{
	char	 q[CONFIG_QBUF];

	if (strcmp(v, "UTC") == 0)
		return 0;
	if (!config_zone_name_ok(v)) {
		snprintf(why, whylen, "\"%s\" must be \"UTC\" or a zone name "
		    "such as \"Europe/Paris\", got \"%s\"", o->key,
		    config_quote(v, q, sizeof(q)));
		return -1;
	}
	if (!config_zone_exists(v)) {
		snprintf(why, whylen, "unknown time zone \"%s\" (not found "
		    "under " CONFIG_ZONEINFO ")", config_quote(v, q, sizeof(q)));
		return -1;
	}
	return 0;
}

/* The table row of section.key, or NULL. */
static const struct config_option *
config_find(const char *section, const char *key)
{
	size_t	i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (strcmp(config_options[i].section, section) == 0 &&
		    strcmp(config_options[i].key, key) == 0)
			return &config_options[i];
	}
	return NULL;
}

/* The table's spelling of a section name, or NULL if unknown. */
static const char *
config_find_section(const char *name)
{
	size_t	i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (strcmp(config_options[i].section, name) == 0)
			return config_options[i].section;
	}
	return NULL;
}

/* The line of this parse that set section.key, or 0. */
static unsigned
config_line_of(const struct config_parser *p, const char *section,
    const char *key)
{
	const struct config_option	*o = config_find(section, key);

	return o != NULL ? p->set_line[o - config_options] : 0;
}

/* Fill every field with its embedded default. */
void
config_defaults(struct sp_config *cfg)
{
	char	why[CONFIG_WHY_MAX];
	size_t	i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (config_set(cfg, &config_options[i], config_options[i].def,
		    why, sizeof(why)) == -1)
			abort();	/* a bad default in the table */
	}
}

/* Handle a "[section]" line (t is trimmed and starts with '['). */
static void
config_section(struct config_parser *p, char *t)
{
	char		 q[CONFIG_QBUF];
	char		*end, *rest, *name;

	p->section = NULL;
	p->section_bad = 1;
	if ((end = strchr(t, ']')) == NULL) {
		config_error(p, p->line, "unterminated section header \"%s\"",
		    config_quote(t, q, sizeof(q)));
		return;
	}
	rest = end + 1;
	while (config_isspace((unsigned char)*rest))
		rest++;
	if (*rest != '\0' && *rest != '#' && *rest != ';') {
		config_error(p, p->line, "unexpected text after section "
		    "header \"%s\"", config_quote(t, q, sizeof(q)));
		return;
	}
	*end = '\0';
	name = config_trim(t + 1);
	if ((p->section = config_find_section(name)) == NULL) {
		config_error(p, p->line, "unknown section \"[%s]\"",
		    config_quote(name, q, sizeof(q)));
		return;
	}
	p->section_bad = 0;
}

/*
 * Extract the value after '=': a quoted string, or the text up to a
 * comment that follows whitespace.  0, or -1 after reporting.
 */
static int
config_value(struct config_parser *p, const char *key, char *s, char **out)
{
	char	*c, *end;

	while (config_isspace((unsigned char)*s))
		s++;
	if (*s == '"') {
		if ((end = strchr(s + 1, '"')) == NULL) {
			config_error(p, p->line, "unterminated quoted value "
			    "of \"%s\"", key);
			return -1;
		}
		*end = '\0';
		for (c = end + 1; config_isspace((unsigned char)*c); c++)
			;
		if (*c != '\0' && *c != '#' && *c != ';') {
			config_error(p, p->line, "unexpected text after the "
			    "quoted value of \"%s\"", key);
			return -1;
		}
		*out = s + 1;
		return 0;
	}
	for (c = s; *c != '\0'; c++) {
		if ((*c == '#' || *c == ';') &&
		    (c == s || config_isspace((unsigned char)c[-1]))) {
			*c = '\0';
			break;
		}
	}
	*out = config_trim(s);
	return 0;
}

/* Handle a "key = value" line (t is trimmed, not a comment or section). */
static void
config_keyvalue(struct config_parser *p, char *t)
{
	const struct config_option	*o;
	char				 q[CONFIG_QBUF], why[CONFIG_WHY_MAX];
	char				*eq, *key, *val;

	if ((eq = strchr(t, '=')) == NULL) {
		config_error(p, p->line, "expected \"key = value\", got \"%s\"",
		    config_quote(t, q, sizeof(q)));
		return;
	}
	*eq = '\0';
	if (*(key = config_trim(t)) == '\0') {
		config_error(p, p->line, "missing key before \"=\"");
		return;
	}
	if (p->section_bad)
		return;		/* the section header was reported */
	config_quote(key, q, sizeof(q));
	if (p->section == NULL) {
		config_error(p, p->line, "key \"%s\" outside any section", q);
		return;
	}
	if ((o = config_find(p->section, key)) == NULL) {
		config_error(p, p->line, "unknown key \"%s\" in section [%s]",
		    q, p->section);
		return;
	}
	if (p->set_line[o - config_options] != 0) {
		config_error(p, p->line, "duplicate key \"%s\" in section "
		    "[%s]", o->key, o->section);
		return;
	}
	p->set_line[o - config_options] = p->line;
	if (config_value(p, o->key, eq + 1, &val) == 0 &&
	    config_set(p->cfg, o, val, why, sizeof(why)) == -1)
		config_error(p, p->line, "%s", why);
}

/* Handle one line of n bytes (without its '\n'). */
static void
config_line(struct config_parser *p, const char *s, size_t n)
{
	char	 line[CONFIG_LINE_MAX + 1];
	char	*t;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > CONFIG_LINE_MAX) {
		config_error(p, p->line, "line too long (more than %d bytes)",
		    CONFIG_LINE_MAX);
		return;
	}
	if (memchr(s, '\0', n) != NULL) {
		config_error(p, p->line, "line contains a NUL byte");
		return;
	}
	memcpy(line, s, n);
	line[n] = '\0';
	t = config_trim(line);
	if (*t == '\0' || *t == '#' || *t == ';')
		return;
	if (*t == '[')
		config_section(p, t);
	else
		config_keyvalue(p, t);
}

/* Cross-key rule: without a token, the admin API listens on loopback. */
static void
config_check_admin(struct config_parser *p)
{
	const struct config_admin	*a = &p->cfg->admin;
	char				 host[256], q[CONFIG_QBUF];
	unsigned			 line;
	int				 port;

	if (a->token_file[0] != '\0')
		return;
	if (config_split_hostport(a->listen, host, sizeof(host), &port) == -1 ||
	    config_is_loopback(host))
		return;
	if ((line = config_line_of(p, "admin", "listen")) == 0)
		line = config_line_of(p, "admin", "token_file");
	config_error(p, line, "admin listen \"%s\" is not loopback and no "
	    "token_file is set", config_quote(a->listen, q, sizeof(q)));
}

/* Cross-key rule: the four Kafka topics differ. */
static void
config_check_topics(struct config_parser *p)
{
	const struct config_option	*a, *b, *t;
	const char			*va, *vb;
	char				 q[CONFIG_QBUF];
	size_t				 i, j, n;
	unsigned			 la, lb;

	n = sizeof(config_topics) / sizeof(config_topics[0]);
	for (j = 1; j < n; j++) {
		for (i = 0; i < j; i++) {
			a = config_find("kafka", config_topics[i]);
			b = config_find("kafka", config_topics[j]);
			va = (const char *)p->cfg + a->off;
			vb = (const char *)p->cfg + b->off;
			if (strcmp(va, vb) != 0)
				continue;
			la = p->set_line[a - config_options];
			lb = p->set_line[b - config_options];
			if (la > lb) {
				t = a, a = b, b = t;
				lb = la;
			}
			config_error(p, lb, "\"%s\" must differ from \"%s\", "
			    "both are \"%s\"", b->key, a->key,
			    config_quote(vb, q, sizeof(q)));
		}
	}
}

/* Cross-key rule: day counters live longer than the segment window. */
static void
config_check_window(struct config_parser *p)
{
	unsigned line;

	if (p->cfg->redis.day_ttl_days > p->cfg->segments.window_days)
		return;
	if ((line = config_line_of(p, "redis", "day_ttl_days")) == 0)
		line = config_line_of(p, "segments", "window_days");
	config_error(p, line, "\"day_ttl_days\" (%d) must exceed the segment "
	    "\"window_days\" (%d)", p->cfg->redis.day_ttl_days,
	    p->cfg->segments.window_days);
}

/* Parse a buffer over the values already in cfg; see config.h. */
int
config_parse(struct sp_config *cfg, const char *file, const char *buf,
    size_t len, struct config_errors *errs)
{
	struct config_parser	 p;
	const char		*nl;
	size_t			 pos = 0, n;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.file = file != NULL ? file : "(config)";
	p.errs = errs;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;	/* a UTF-8 byte order mark */
	while (pos < len) {
		p.line++;
		nl = memchr(buf + pos, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
		config_line(&p, buf + pos, n);
		pos += n + (nl != NULL);
	}
	config_check_admin(&p);
	config_check_topics(&p);
	config_check_window(&p);
	return p.nerr != 0 ? -1 : 0;
}

/* Read a whole file of at most CONFIG_FILE_MAX bytes; 0 or -1 with why. */
static int
config_read_file(const char *path, char **bufp, size_t *lenp, char *why,
    size_t whylen)
{
	FILE	*f;
	char	*buf;
	size_t	 len;
	int	 err;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		fclose(f);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	len = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err != 0 || len > CONFIG_FILE_MAX) {
		if (err != 0)
			snprintf(why, whylen, "cannot read: %s", strerror(err));
		else
			snprintf(why, whylen, "file too large (more than %d "
			    "bytes)", CONFIG_FILE_MAX);
		free(buf);
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* config_defaults() then config_parse() of the file at path. */
int
config_load(struct sp_config *cfg, const char *path,
    struct config_errors *errs)
{
	char	*buf, why[CONFIG_WHY_MAX];
	size_t	 len;
	int	 rc;

	config_defaults(cfg);
	if (config_read_file(path, &buf, &len, why, sizeof(why)) == -1) {
		if (errs != NULL)
			config_errors_add(errs, path, 0, why);
		return -1;
	}
	rc = config_parse(cfg, path, buf, len, errs);
	free(buf);
	return rc;
}

/* Check a port: 1..65535, decimal digits only. */
static int
config_parse_port(const char *s, int *port)
{
	long long	v;

	if (*s == '\0' || s[strspn(s, "0123456789")] != '\0' ||
	    config_parse_ll(s, &v) == -1 || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* Split "host:port" (IPv6 as "[addr]:port"); 0 or -1. */
int
config_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char	*h, *colon;
	size_t		 n;

	if (s == NULL || host == NULL || hostlen == 0)
		return -1;
	if (*s == '[') {
		h = s + 1;
		if ((colon = strchr(h, ']')) == NULL || colon[1] != ':')
			return -1;
		n = (size_t)(colon - h);
		colon++;
	} else {
		h = s;
		if ((colon = strchr(h, ':')) == NULL || strchr(colon + 1, ':'))
			return -1;
		n = (size_t)(colon - h);
	}
	if (n == 0 || n >= hostlen || strspn(h, CONFIG_HOST_CHARS) < n)
		return -1;
	if (config_parse_port(colon + 1, port) == -1)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

/* Nonzero if host is a loopback address or "localhost". */
int
config_is_loopback(const char *host)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (host == NULL)
		return 0;
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}
