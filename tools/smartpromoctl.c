/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smartpromoctl.c - command-line client of the smartpromod admin HTTP API
 * (docs/admin-api.md): status, health, Prometheus metrics and plans.
 *
 * Commands live in a table (ctl_commands), each with its own option table,
 * its number of arguments, a handler and its usage.  Options of either kind
 * may come before or after the command words.  Handlers call the API
 * through httpc and print aligned tables or, with --json, the response
 * pretty-printed.  Exit status: 0 ok, 1 API error, 2 usage error, 3 the
 * daemon cannot be reached.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>             /* isfinite() only: no libm */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "httpc.h"

#define CTL_NAME "smartpromoctl"
#define CTL_DEFAULT_URL "http://127.0.0.1:8470"
#define CTL_DEFAULT_TIMEOUT_S 10
#define CTL_MAXPOS 4
#define CTL_LIST_SHOWN 10       /* ids shown by `plan show` before "more" */
#define CTL_JSON_OUT (JSON_INDENT(2) | JSON_REAL_PRECISION(15))
#define CTL_JSON_REQ (JSON_COMPACT | JSON_REAL_PRECISION(15))

enum ctl_exit { CTL_OK, CTL_EAPI, CTL_EUSAGE, CTL_ECONN };

struct ctl_cmd;

struct ctl {
	const char *url;
	const char *token_file;
	char *token;
	int timeout_ms;
	int json;
	int help;
	int version;
	json_t *body;           /* plan create: the request from options */
	json_t *raw;            /* plan create --file: the whole request */
	const char *from, *to;  /* plan metrics: YYYY-MM-DD or NULL */
	const char *pos[CTL_MAXPOS];
	int npos;
	const struct ctl_cmd *cmd;
};

struct ctl_option;
typedef int ctl_set_fn(struct ctl *, const struct ctl_option *, const char *,
    char *, size_t);

struct ctl_option {
	const char *name;       /* long name without "--"; NULL ends a table */
	char shortname;         /* -x, or 0 */
	int has_arg;
	const char *key;        /* the JSON field or setting it fills */
	ctl_set_fn *set;
};

struct ctl_cmd {
	const char *group;      /* "plan", or NULL for a top-level command */
	const char *name;
	int nargs;              /* positional arguments after the words */
	const struct ctl_option *options;
	int (*run)(struct ctl *);
	const char *usage;      /* lines, each after "smartpromoctl " */
	const char *help;       /* option lines, or NULL */
};

/* An aligned text table; cells are owned copies, row-major. */
struct ctl_table {
	size_t ncols, nrows, cap;
	const char *align;      /* per column: 'l' or 'r' */
	char **cells;
};

/* Print an out-of-memory message and exit: nothing sensible is left. */
static void
ctl_oom(void)
{
	fprintf(stderr, CTL_NAME ": out of memory\n");
	exit(CTL_EAPI);
}

/* strdup that cannot fail. */
static char *
ctl_xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		ctl_oom();
	return d;
}

/* Print "smartpromoctl: message" on stderr. */
static void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs(CTL_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- parsing of option values ---- */

/* Parse a whole decimal integer within [min, max]. */
static int
ctl_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parse a whole finite decimal number. */
static int
ctl_parse_number(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* A JSON number: an integer when the value is whole, else a real. */
static json_t *
ctl_json_number(double v)
{
	if (v >= -1e15 && v <= 1e15 && v == (double)(long long)v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* Nonzero if s is a calendar date written YYYY-MM-DD. */
static int
ctl_is_date(const char *s)
{
	int i, y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return 0;
	if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return 0;
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* Trim leading and trailing white space in place; the trimmed start. */
static char *
ctl_trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Read a whole file ("-": stdin) into a NUL-terminated buffer. */
static int
ctl_read_file(const char *path, char **out, char *err, size_t errlen)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t len = 0, cap = 4096, n;
	char *buf;

	if (fp == NULL) {
		snprintf(err, errlen, "cannot open \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	if ((buf = malloc(cap)) == NULL)
		ctl_oom();
	while ((n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
		len += n;
		if (len + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			ctl_oom();
	}
	buf[len] = '\0';
	if (ferror(fp)) {
		snprintf(err, errlen, "cannot read \"%s\"", path);
		free(buf);
		buf = NULL;
	}
	if (fp != stdin)
		fclose(fp);
	*out = buf;
	return buf != NULL ? 0 : -1;
}

/* ---- option setters ---- */

/* --url: the daemon's base URL. */
static int
ctl_set_url(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	(void)o;
	if (strncmp(v, "http://", 7) != 0 || v[7] == '\0') {
		snprintf(err, errlen, "bad url \"%s\": expected "
		    "http://HOST[:PORT]", v);
		return -1;
	}
	c->url = v;
	return 0;
}

/* --token-file: where the bearer token is. */
static int
ctl_set_token_file(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	(void)o, (void)err, (void)errlen;
	c->token_file = v;
	return 0;
}

/* --timeout: seconds for connect, send and receive each. */
static int
ctl_set_timeout(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	double s;

	if (ctl_parse_number(v, &s) == -1 || s <= 0 || s > 86400) {
		snprintf(err, errlen, "bad \"--%s\" value \"%s\": seconds, "
		    "more than 0 and at most 86400", o->name, v);
		return -1;
	}
	c->timeout_ms = (int)(s * 1000) > 0 ? (int)(s * 1000) : 1;
	return 0;
}

/* --json, -h/--help, -V/--version: flags named by key. */
static int
ctl_set_flag(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	(void)v, (void)err, (void)errlen;
	if (strcmp(o->key, "json") == 0)
		c->json = 1;
	else if (strcmp(o->key, "help") == 0)
		c->help = 1;
	else
		c->version = 1;
	return 0;
}

/* A string field of the plan request. */
static int
ctl_set_string(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	json_t *s = json_string(v);

	if (s == NULL || *v == '\0') {
		json_decref(s);
		snprintf(err, errlen, "bad \"--%s\" value: empty or not UTF-8",
		    o->name);
		return -1;
	}
	json_object_set_new(c->body, o->key, s);
	return 0;
}

/* Append the comma- or space-separated words of list to array. */
static int
ctl_append_words(json_t *array, char *list, const char *what, char *err,
    size_t errlen)
{
	char *save = NULL, *w;
	json_t *s;

	for (w = strtok_r(list, ", \t\r\n", &save); w != NULL;
	    w = strtok_r(NULL, ", \t\r\n", &save)) {
		if ((s = json_string(w)) == NULL) {
			snprintf(err, errlen, "%s: \"%s\" is not UTF-8", what,
			    w);
			return -1;
		}
		json_array_append_new(array, s);
	}
	return 0;
}

/* The array field key of the request, created if absent. */
static json_t *
ctl_body_array(struct ctl *c, const char *key)
{
	json_t *a = json_object_get(c->body, key);

	if (a == NULL) {
		a = json_array();
		json_object_set_new(c->body, key, a);
	}
	return a;
}

/* A list field (--products p1,p2; repeating the option appends). */
static int
ctl_set_list(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	json_t *a = ctl_body_array(c, o->key);
	size_t before = json_array_size(a);
	char *copy = ctl_xstrdup(v), what[64];
	int rc;

	snprintf(what, sizeof(what), "--%s", o->name);
	rc = ctl_append_words(a, copy, what, err, errlen);
	free(copy);
	if (rc == 0 && json_array_size(a) == before) {
		snprintf(err, errlen, "\"--%s\" lists nothing", o->name);
		rc = -1;
	}
	return rc;
}

/* A list field read from a file: ids separated by lines, commas or spaces. */
static int
ctl_set_list_file(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	json_t *a = ctl_body_array(c, o->key);
	size_t before = json_array_size(a);
	char *buf, *line, *save = NULL, *hash;
	int rc = 0;

	if (ctl_read_file(v, &buf, err, errlen) == -1)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line != NULL && rc == 0;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		rc = ctl_append_words(a, line, v, err, errlen);
	}
	free(buf);
	if (rc == 0 && json_array_size(a) == before) {
		snprintf(err, errlen, "\"%s\" lists no product", v);
		rc = -1;
	}
	return rc;
}

/* An integer field (--days, --budget, --start). */
static int
ctl_set_int(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	long long n;

	if (ctl_parse_int(v, 0, INT64_MAX, &n) == -1) {
		snprintf(err, errlen, "bad \"--%s\" value \"%s\": expected a "
		    "whole number, 0 or more", o->name, v);
		return -1;
	}
	json_object_set_new(c->body, o->key, json_integer((json_int_t)n));
	return 0;
}

/* A number field (--min, --max, --roi). */
static int
ctl_set_number(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	double d;

	if (ctl_parse_number(v, &d) == -1) {
		snprintf(err, errlen, "bad \"--%s\" value \"%s\": expected a "
		    "number", o->name, v);
		return -1;
	}
	json_object_set_new(c->body, o->key, ctl_json_number(d));
	return 0;
}

/* Parse "MIN:MAX" percentages into a two-number array. */
static json_t *
ctl_parse_range(char *s)
{
	char *colon = strchr(s, ':');
	double lo, hi;

	if (colon == NULL)
		return NULL;
	*colon = '\0';
	if (ctl_parse_number(s, &lo) == -1 ||
	    ctl_parse_number(colon + 1, &hi) == -1)
		return NULL;
	return json_pack("[oo]", ctl_json_number(lo), ctl_json_number(hi));
}

/* --range P=MIN:MAX: a per-product discount range. */
static int
ctl_set_range(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	char *copy = ctl_xstrdup(v), *eq = strrchr(copy, '=');
	json_t *ranges = json_object_get(c->body, o->key), *pair = NULL;
	int rc = -1;

	if (ranges == NULL) {
		ranges = json_object();
		json_object_set_new(c->body, o->key, ranges);
	}
	if (eq != NULL && eq != copy) {
		*eq = '\0';
		pair = ctl_parse_range(eq + 1);
	}
	if (pair != NULL)
		rc = json_object_set_new(ranges, copy, pair); /* UTF-8? */
	if (rc == -1)
		snprintf(err, errlen, "bad \"--%s\" value \"%s\": expected "
		    "PRODUCT=MIN:MAX", o->name, v);
	free(copy);
	return rc;
}

/* --file BODY.json: a whole plan request. */
static int
ctl_set_body_file(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;

	(void)o;
	if (strcmp(v, "-") == 0)
		j = json_loadf(stdin, 0, &jerr);
	else
		j = json_load_file(v, 0, &jerr);
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, errlen, "\"%s\": %s", v, j == NULL ? jerr.text :
		    "not a JSON object");
		json_decref(j);
		return -1;
	}
	json_decref(c->raw);
	c->raw = j;
	return 0;
}

/* --from / --to: a YYYY-MM-DD day. */
static int
ctl_set_date(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	if (!ctl_is_date(v)) {
		snprintf(err, errlen, "bad \"--%s\" value \"%s\": expected "
		    "YYYY-MM-DD", o->name, v);
		return -1;
	}
	if (strcmp(o->key, "from") == 0)
		c->from = v;
	else
		c->to = v;
	return 0;
}

/* ---- the option tables ---- */

static const struct ctl_option ctl_global_options[] = {
	{ "url", 0, 1, "url", ctl_set_url },
	{ "token-file", 0, 1, "token_file", ctl_set_token_file },
	{ "timeout", 0, 1, "timeout", ctl_set_timeout },
	{ "json", 0, 0, "json", ctl_set_flag },
	{ "help", 'h', 0, "help", ctl_set_flag },
	{ "version", 'V', 0, "version", ctl_set_flag },
	{ NULL, 0, 0, NULL, NULL }
};

static const struct ctl_option ctl_create_options[] = {
	{ "name", 0, 1, "name", ctl_set_string },
	{ "shop", 0, 1, "shop_id", ctl_set_string },
	{ "products", 0, 1, "products", ctl_set_list },
	{ "products-file", 0, 1, "products", ctl_set_list_file },
	{ "segments", 0, 1, "segments", ctl_set_list },
	{ "exclude", 0, 1, "exclude", ctl_set_list },
	{ "days", 0, 1, "days", ctl_set_int },
	{ "min", 0, 1, "discount_min_pct", ctl_set_number },
	{ "max", 0, 1, "discount_max_pct", ctl_set_number },
	{ "range", 0, 1, "product_ranges", ctl_set_range },
	{ "roi", 0, 1, "roi_target", ctl_set_number },
	{ "budget", 0, 1, "budget", ctl_set_int },
	{ "start", 0, 1, "start", ctl_set_int },
	{ "file", 0, 1, "file", ctl_set_body_file },
	{ NULL, 0, 0, NULL, NULL }
};

static const struct ctl_option ctl_metrics_options[] = {
	{ "from", 0, 1, "from", ctl_set_date },
	{ "to", 0, 1, "to", ctl_set_date },
	{ NULL, 0, 0, NULL, NULL }
};

/* ---- the command-line parser ---- */

/* The option that arg ("--name", "--name=value", "-x") names, or NULL. */
static const struct ctl_option *
ctl_option_find(const struct ctl_option *opts, const char *arg)
{
	size_t n;

	for (; opts != NULL && opts->name != NULL; opts++) {
		if (arg[1] != '-') {
			if (opts->shortname != 0 && arg[1] == opts->shortname &&
			    arg[2] == '\0')
				return opts;
			continue;
		}
		n = strlen(opts->name);
		if (strncmp(arg + 2, opts->name, n) == 0 &&
		    (arg[2 + n] == '\0' || arg[2 + n] == '='))
			return opts;
	}
	return NULL;
}

/* Apply the option at argv[*i], taking its value from the next word if
 * needed. */
static int
ctl_parse_option(struct ctl *c, int argc, char **argv, int *i,
    const struct ctl_option *opts, char *err, size_t errlen)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	const struct ctl_option *o;

	if ((o = ctl_option_find(opts, arg)) == NULL &&
	    (o = ctl_option_find(ctl_global_options, arg)) == NULL) {
		snprintf(err, errlen, "unknown option \"%s\"", arg);
		return -1;
	}
	if (!o->has_arg) {
		if (arg[1] == '-' && eq != NULL) {
			snprintf(err, errlen, "option \"--%s\" takes no value",
			    o->name);
			return -1;
		}
		return o->set(c, o, NULL, err, errlen);
	}
	if (arg[1] == '-' && eq != NULL)
		return o->set(c, o, eq + 1, err, errlen);
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "option \"--%s\" needs a value", o->name);
		return -1;
	}
	return o->set(c, o, argv[++*i], err, errlen);
}

/* Keep a positional argument. */
static int
ctl_add_pos(struct ctl *c, const char *arg, char *err, size_t errlen)
{
	if (c->npos == CTL_MAXPOS) {
		snprintf(err, errlen, "too many arguments at \"%s\"", arg);
		return -1;
	}
	c->pos[c->npos++] = arg;
	return 0;
}

/*
 * Parse argv[*i..] against opts and the global options.  Positional words
 * go to c->pos; with stop set, parsing ends at the first one instead.
 */
static int
ctl_parse(struct ctl *c, int argc, char **argv, int *i,
    const struct ctl_option *opts, int stop, char *err, size_t errlen)
{
	int dashdash = 0;

	for (; *i < argc; (*i)++) {
		const char *a = argv[*i];

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (stop)
				return 0;
			if (ctl_add_pos(c, a, err, errlen) == -1)
				return -1;
		} else if (strcmp(a, "--") == 0) {
			dashdash = 1;
		} else if (ctl_parse_option(c, argc, argv, i, opts, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

/* ---- the HTTP side ---- */

/* Percent-encode a path segment (a plan id) into out. */
static void
ctl_path_escape(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s != '\0' && n + 4 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || strchr("-._~", ch) != NULL)
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, outlen - n, "%%%02X",
			    ch);
	}
	out[n] = '\0';
}

/* Report a non-2xx answer: its "error" field, else its first line. */
static void
ctl_api_error(const struct httpc_response *resp)
{
	json_t *j = json_loadb(resp->body, resp->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "error"));
	char line[256];

	if (msg == NULL) {
		snprintf(line, sizeof(line), "%s", resp->body);
		line[strcspn(line, "\r\n")] = '\0';
		msg = ctl_trim(line)[0] != '\0' ? ctl_trim(line) :
		    "request failed";
	}
	ctl_warnx("%s (HTTP %d)", msg, resp->status);
	json_decref(j);
}

/* Make a request; 0 with a 2xx response in resp, else the exit status. */
static int
ctl_call(struct ctl *c, const char *method, const char *path,
    const char *body, struct httpc_response *resp)
{
	char err[512];

	if (httpc_request(c->url, method, path, body, c->token, c->timeout_ms,
	    resp, err, sizeof(err)) == -1) {
		ctl_warnx("%s", err);
		return CTL_ECONN;
	}
	if (resp->status < 200 || resp->status > 299) {
		ctl_api_error(resp);
		httpc_response_release(resp);
		return CTL_EAPI;
	}
	return CTL_OK;
}

/*
 * Make a request with an optional JSON body and parse the JSON answer into
 * *out (the caller's reference).  With --json the answer is printed too.
 */
static int
ctl_call_json(struct ctl *c, const char *method, const char *path,
    const json_t *body, json_t **out)
{
	struct httpc_response resp;
	json_error_t jerr;
	char *text = NULL;
	int rc;

	if (body != NULL && (text = json_dumps(body, CTL_JSON_REQ)) == NULL)
		ctl_oom();
	rc = ctl_call(c, method, path, text, &resp);
	free(text);
	if (rc != CTL_OK)
		return rc;
	*out = json_loadb(resp.body, resp.len, 0, &jerr);
	httpc_response_release(&resp);
	if (*out == NULL) {
		ctl_warnx("invalid JSON in the response: %s", jerr.text);
		return CTL_EAPI;
	}
	if (c->json) {
		json_dumpf(*out, stdout, CTL_JSON_OUT);
		putchar('\n');
	}
	return CTL_OK;
}

/* ---- formatting ---- */

/* Integer minor units as "1234.56"; "-" for null or absent. */
static const char *
ctl_fmt_money(const json_t *v, char *buf, size_t len)
{
	long long cents;
	unsigned long long u;

	if (!json_is_number(v))
		return "-";
	if (json_is_integer(v))
		cents = (long long)json_integer_value(v);
	else
		cents = (long long)(json_real_value(v) +
		    (json_real_value(v) < 0 ? -0.5 : 0.5));
	u = cents < 0 ? 0ULL - (unsigned long long)cents :
	    (unsigned long long)cents;
	snprintf(buf, len, "%s%llu.%02llu", cents < 0 ? "-" : "", u / 100,
	    u % 100);
	return buf;
}

/* A whole number; "-" for null or absent. */
static const char *
ctl_fmt_int(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.0f", json_real_value(v));
	else
		return "-";
	return buf;
}

/* A ratio with 2 decimals (ROI); "-" for null or absent. */
static const char *
ctl_fmt_ratio(const json_t *v, char *buf, size_t len)
{
	if (!json_is_number(v))
		return "-";
	snprintf(buf, len, "%.2f", json_number_value(v));
	return buf;
}

/* A percentage with at most 2 decimals, trailing zeros dropped. */
static void
ctl_fmt_pct(double v, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%.2f", v);
	if (strchr(buf, '.') == NULL)
		return;
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

/* A discount range "5-30%"; "-" when either end is missing. */
static const char *
ctl_fmt_range(const json_t *lo, const json_t *hi, char *buf, size_t len)
{
	char a[32], b[32];

	if (!json_is_number(lo) || !json_is_number(hi))
		return "-";
	ctl_fmt_pct(json_number_value(lo), a, sizeof(a));
	ctl_fmt_pct(json_number_value(hi), b, sizeof(b));
	snprintf(buf, len, "%s-%s%%", a, b);
	return buf;
}

/* Epoch ms as a UTC ISO date or date-time; "-" for null or absent. */
static const char *
ctl_fmt_time(const json_t *v, int date_only, char *buf, size_t len)
{
	time_t t;
	struct tm tm;

	if (!json_is_integer(v))
		return "-";
	t = (time_t)(json_integer_value(v) / 1000);
	if (gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, len, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ",
	    &tm);
	return buf;
}

/* Seconds as "2d 3h 4m 5s", leading zero units left out. */
static const char *
ctl_fmt_uptime(const json_t *v, char *buf, size_t len)
{
	long long s = json_is_integer(v) ? (long long)json_integer_value(v) :
	    -1;

	if (s < 0)
		return "-";
	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh %lldm %llds", s / 86400,
		    s / 3600 % 24, s / 60 % 60, s % 60);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm %llds", s / 3600, s / 60 % 60,
		    s % 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
	return buf;
}

/* A string array as "N: a, b, c", the first CTL_LIST_SHOWN of it. */
static const char *
ctl_fmt_list(const json_t *a, char *buf, size_t len)
{
	size_t i, n = json_array_size(a), off;

	if (n == 0)
		return "-";
	off = (size_t)snprintf(buf, len, "%zu:", n);
	for (i = 0; i < n && i < CTL_LIST_SHOWN && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s %s",
		    i > 0 ? "," : "",
		    json_string_value(json_array_get(a, i)) ?
		    json_string_value(json_array_get(a, i)) : "?");
	if (n > CTL_LIST_SHOWN && off < len)
		snprintf(buf + off, len - off, ", ... (%zu more)",
		    n - CTL_LIST_SHOWN);
	return buf;
}

/* ---- tables ---- */

/* Start an empty table of ncols columns aligned as align ("llr..."). */
static void
ctl_table_init(struct ctl_table *t, size_t ncols, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->align = align;
}

/* Append a row of ncols cells (copied). */
static void
ctl_table_add(struct ctl_table *t, const char *const *row)
{
	size_t i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols *
		    sizeof(*t->cells));
		if (t->cells == NULL)
			ctl_oom();
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = ctl_xstrdup(row[i]);
	t->nrows++;
}

/* Append a two-cell row (key, value). */
static void
ctl_table_kv(struct ctl_table *t, const char *key, const char *value)
{
	const char *row[2] = { key, value };

	ctl_table_add(t, row);
}

/* Width of a UTF-8 string in characters (continuation bytes skipped). */
static size_t
ctl_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Nonzero if every cell of row from column col on is empty. */
static int
ctl_table_rest_empty(const struct ctl_table *t, size_t row, size_t col)
{
	for (; col < t->ncols; col++)
		if (t->cells[row * t->ncols + col][0] != '\0')
			return 0;
	return 1;
}

/* Print one row padded to widths, without trailing blanks. */
static void
ctl_table_print_row(const struct ctl_table *t, size_t row,
    const size_t *widths)
{
	size_t col, pad;

	for (col = 0; col < t->ncols; col++) {
		const char *cell = t->cells[row * t->ncols + col];

		if (ctl_table_rest_empty(t, row, col))
			break;
		pad = widths[col] - ctl_width(cell);
		if (col > 0)
			fputs("  ", stdout);
		if (t->align[col] == 'r')
			printf("%*s%s", (int)pad, "", cell);
		else if (col + 1 < t->ncols &&
		    !ctl_table_rest_empty(t, row, col + 1))
			printf("%s%*s", cell, (int)pad, "");
		else
			fputs(cell, stdout);
	}
	putchar('\n');
}

/* Print the table with each column as wide as its widest cell. */
static void
ctl_table_print(const struct ctl_table *t)
{
	size_t *widths = calloc(t->ncols, sizeof(*widths)), r, col, w;

	if (widths == NULL)
		ctl_oom();
	for (r = 0; r < t->nrows; r++)
		for (col = 0; col < t->ncols; col++) {
			w = ctl_width(t->cells[r * t->ncols + col]);
			if (w > widths[col])
				widths[col] = w;
		}
	for (r = 0; r < t->nrows; r++)
		ctl_table_print_row(t, r, widths);
	free(widths);
}

/* Free the cells. */
static void
ctl_table_release(struct ctl_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ---- printing API objects ---- */

/* Shorthand: the member key of object o (NULL-safe). */
#define J(o, key) json_object_get((o), (key))

/* The per-product ranges as "p2 5-15%, p3 1-2%", the first few of them. */
static const char *
ctl_fmt_ranges(const json_t *ranges, char *buf, size_t len)
{
	const char *pid;
	json_t *r;
	size_t off = 0, i = 0;

	if (json_object_size(ranges) == 0)
		return "-";
	buf[0] = '\0';
	json_object_foreach((json_t *)ranges, pid, r) {
		char range[64];

		if (off >= len || i++ == CTL_LIST_SHOWN)
			break;
		off += (size_t)snprintf(buf + off, len - off, "%s%s %s",
		    off > 0 ? ", " : "", pid, ctl_fmt_range(json_array_get(r,
		    0), json_array_get(r, 1), range, sizeof(range)));
	}
	if (json_object_size(ranges) > CTL_LIST_SHOWN && off < len)
		snprintf(buf + off, len - off, ", ... (%zu more)",
		    json_object_size(ranges) - CTL_LIST_SHOWN);
	return buf;
}

/* The string field key, or "-". */
static const char *
ctl_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(J(o, key));

	return s != NULL && *s != '\0' ? s : "-";
}

/* Add a plan's identity rows to a key/value table. */
static void
ctl_plan_kv_head(struct ctl_table *t, const json_t *p)
{
	char buf[1024];

	ctl_table_kv(t, "plan", ctl_str(p, "plan_id"));
	ctl_table_kv(t, "name", ctl_str(p, "name"));
	ctl_table_kv(t, "shop", ctl_str(p, "shop_id"));
	ctl_table_kv(t, "kind", ctl_str(p, "kind"));
	ctl_table_kv(t, "status", ctl_str(p, "status"));
	ctl_table_kv(t, "segments", ctl_fmt_list(J(p, "segments"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "products", ctl_fmt_list(J(p, "products"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "exclude", ctl_fmt_list(J(p, "exclude"), buf,
	    sizeof(buf)));
}

/* Add a plan's settings and life-cycle rows to a key/value table. */
static void
ctl_plan_kv_settings(struct ctl_table *t, const json_t *p)
{
	char buf[1024];

	ctl_table_kv(t, "days", ctl_fmt_int(J(p, "days"), buf, sizeof(buf)));
	ctl_table_kv(t, "discount", ctl_fmt_range(J(p, "discount_min_pct"),
	    J(p, "discount_max_pct"), buf, sizeof(buf)));
	ctl_table_kv(t, "product ranges", ctl_fmt_ranges(J(p,
	    "product_ranges"), buf, sizeof(buf)));
	ctl_table_kv(t, "roi target", ctl_fmt_ratio(J(p, "roi_target"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "budget", ctl_fmt_money(J(p, "budget"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "start", ctl_fmt_time(J(p, "start"), 0, buf,
	    sizeof(buf)));
	ctl_table_kv(t, "end", ctl_fmt_time(J(p, "end"), 0, buf, sizeof(buf)));
	ctl_table_kv(t, "created", ctl_fmt_time(J(p, "created_at"), 0, buf,
	    sizeof(buf)));
	ctl_table_kv(t, "ended", ctl_fmt_time(J(p, "ended_at"), 0, buf,
	    sizeof(buf)));
	ctl_table_kv(t, "end reason", ctl_str(p, "end_reason"));
}

/* Add the plan's totals rows (plan show) to a key/value table. */
static void
ctl_plan_kv_totals(struct ctl_table *t, const json_t *tot)
{
	const json_t *ctrl = J(tot, "control");
	char buf[64];

	ctl_table_kv(t, "", "");
	ctl_table_kv(t, "totals", "");
	ctl_table_kv(t, "  page views", ctl_fmt_int(J(tot, "page_views"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "  offers", ctl_fmt_int(J(tot, "offers"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "  orders", ctl_fmt_int(J(tot, "orders"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "  units", ctl_fmt_int(J(tot, "units"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "  gmv", ctl_fmt_money(J(tot, "gmv"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "  promotion cost", ctl_fmt_money(J(tot,
	    "promotion_cost"), buf, sizeof(buf)));
	ctl_table_kv(t, "  roi", ctl_fmt_ratio(J(tot, "roi"), buf,
	    sizeof(buf)));
	ctl_table_kv(t, "  control page views", ctl_fmt_int(J(ctrl,
	    "page_views"), buf, sizeof(buf)));
	ctl_table_kv(t, "  control orders", ctl_fmt_int(J(ctrl, "orders"),
	    buf, sizeof(buf)));
	ctl_table_kv(t, "  control gmv", ctl_fmt_money(J(ctrl, "gmv"), buf,
	    sizeof(buf)));
}

/* Print a plan as key/value lines, with its totals when it has them. */
static void
ctl_print_plan(const json_t *p)
{
	struct ctl_table t;

	ctl_table_init(&t, 2, "ll");
	ctl_plan_kv_head(&t, p);
	ctl_plan_kv_settings(&t, p);
	if (json_is_object(J(p, "totals")))
		ctl_plan_kv_totals(&t, J(p, "totals"));
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* Add one plan as a row of the `plan list` table. */
static void
ctl_plan_row(struct ctl_table *t, const json_t *p)
{
	char range[64], count[32], start[32], end[32];
	const char *row[9];

	snprintf(count, sizeof(count), "%zu", json_array_size(J(p,
	    "products")));
	row[0] = ctl_str(p, "plan_id");
	row[1] = ctl_str(p, "name");
	row[2] = ctl_str(p, "shop_id");
	row[3] = ctl_str(p, "kind");
	row[4] = ctl_str(p, "status");
	row[5] = ctl_fmt_range(J(p, "discount_min_pct"),
	    J(p, "discount_max_pct"), range, sizeof(range));
	row[6] = count;
	row[7] = ctl_fmt_time(J(p, "start"), 1, start, sizeof(start));
	row[8] = ctl_fmt_time(J(p, "end"), 1, end, sizeof(end));
	ctl_table_add(t, row);
}

/* Add one day of `plan metrics` as a table row. */
static void
ctl_day_row(struct ctl_table *t, const json_t *d)
{
	const json_t *ctrl = J(d, "control");
	char b[10][40];
	const char *row[11];

	row[0] = ctl_str(d, "date");
	row[1] = ctl_fmt_int(J(d, "page_views"), b[0], sizeof(b[0]));
	row[2] = ctl_fmt_int(J(d, "offers"), b[1], sizeof(b[1]));
	row[3] = ctl_fmt_int(J(d, "orders"), b[2], sizeof(b[2]));
	row[4] = ctl_fmt_money(J(d, "gmv"), b[3], sizeof(b[3]));
	row[5] = ctl_fmt_money(J(d, "promotion_cost"), b[4], sizeof(b[4]));
	row[6] = ctl_fmt_ratio(J(d, "roi"), b[5], sizeof(b[5]));
	row[7] = ctl_fmt_int(J(d, "customers"), b[6], sizeof(b[6]));
	row[8] = ctl_fmt_int(J(ctrl, "page_views"), b[7], sizeof(b[7]));
	row[9] = ctl_fmt_int(J(ctrl, "orders"), b[8], sizeof(b[8]));
	row[10] = ctl_fmt_money(J(ctrl, "gmv"), b[9], sizeof(b[9]));
	ctl_table_add(t, row);
}

/* Add a status scalar as a key/value row ("-" when absent). */
static void
ctl_status_scalar(struct ctl_table *t, const char *label, const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		ctl_table_kv(t, label, json_string_value(v));
	else if (json_is_boolean(v))
		ctl_table_kv(t, label, json_is_true(v) ? "yes" : "no");
	else if (json_is_integer(v) || json_is_real(v))
		ctl_table_kv(t, label, json_is_integer(v) ? ctl_fmt_int(v,
		    buf, sizeof(buf)) : ctl_fmt_ratio(v, buf, sizeof(buf)));
	else
		ctl_table_kv(t, label, "-");
}

/* Print GET /v1/status as key/value lines. */
static void
ctl_print_status(const json_t *s)
{
	static const char *const known[] = { "version", "uptime_s", "redis",
	    "kafka", "plans_active", "events", NULL };
	struct ctl_table t;
	const char *key;
	json_t *v;
	char buf[128], label[160];
	int i;

	ctl_table_init(&t, 2, "ll");
	ctl_status_scalar(&t, "version", J(s, "version"));
	ctl_table_kv(&t, "uptime", ctl_fmt_uptime(J(s, "uptime_s"), buf,
	    sizeof(buf)));
	ctl_status_scalar(&t, "redis", J(s, "redis"));
	ctl_status_scalar(&t, "kafka partitions", J(J(s, "kafka"),
	    "assigned_partitions"));
	ctl_status_scalar(&t, "active plans", J(s, "plans_active"));
	json_object_foreach(J(s, "events"), key, v) {
		snprintf(label, sizeof(label), "events %s", key);
		ctl_status_scalar(&t, label, v);
	}
	json_object_foreach((json_t *)s, key, v) {
		for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++)
			;
		if (known[i] == NULL && !json_is_object(v) && !json_is_array(v))
			ctl_status_scalar(&t, key, v);
	}
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* ---- command handlers ---- */

/* Print a command's usage lines, each after prefix. */
static void
ctl_print_usage_lines(FILE *fp, const struct ctl_cmd *cmd, const char *first,
    const char *next)
{
	const char *line = cmd->usage, *nl;

	for (; line != NULL; line = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		fprintf(fp, "%s%.*s\n", line == cmd->usage ? first : next,
		    nl != NULL ? (int)(nl - line) : (int)strlen(line), line);
	}
}

/* Print a usage error for the current command and return 2. */
static int
ctl_usage_error(const struct ctl_cmd *cmd, const char *msg)
{
	ctl_warnx("%s", msg);
	if (cmd != NULL)
		ctl_print_usage_lines(stderr, cmd, "usage: " CTL_NAME " ",
		    "       " CTL_NAME " ");
	else
		fprintf(stderr, "try \"" CTL_NAME " --help\"\n");
	return CTL_EUSAGE;
}

/* status: GET /v1/status. */
static int
ctl_cmd_status(struct ctl *c)
{
	json_t *r;
	int rc;

	if ((rc = ctl_call_json(c, "GET", "/v1/status", NULL, &r)) != CTL_OK)
		return rc;
	if (!c->json)
		ctl_print_status(r);
	json_decref(r);
	return CTL_OK;
}

/* health: GET /healthz. */
static int
ctl_cmd_health(struct ctl *c)
{
	json_t *r;
	int rc;

	if ((rc = ctl_call_json(c, "GET", "/healthz", NULL, &r)) != CTL_OK)
		return rc;
	if (!c->json)
		printf("%s\n", ctl_str(r, "status"));
	json_decref(r);
	return CTL_OK;
}

/* metrics: GET /metrics, printed as it comes (Prometheus text). */
static int
ctl_cmd_metrics(struct ctl *c)
{
	struct httpc_response resp;
	int rc;

	if ((rc = ctl_call(c, "GET", "/metrics", NULL, &resp)) != CTL_OK)
		return rc;
	fwrite(resp.body, 1, resp.len, stdout);
	httpc_response_release(&resp);
	return CTL_OK;
}

/* Check that the plan create options make one whole request. */
static int
ctl_create_check(const struct ctl *c, char *err, size_t errlen)
{
	static const char *const need[][2] = { { "name", "--name" },
	    { "shop_id", "--shop" }, { "discount_min_pct", "--min" },
	    { "discount_max_pct", "--max" } };
	int has_products = J(c->body, "products") != NULL;
	size_t i;

	if (c->raw != NULL) {
		if (json_object_size(c->body) > 0)
			snprintf(err, errlen, "--file cannot be combined with "
			    "other plan options");
		return json_object_size(c->body) > 0 ? -1 : 0;
	}
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (J(c->body, need[i][0]) == NULL) {
			snprintf(err, errlen, "missing \"%s\"", need[i][1]);
			return -1;
		}
	if (has_products == (J(c->body, "segments") != NULL)) {
		snprintf(err, errlen, "give exactly one of --products, "
		    "--products-file or --segments");
		return -1;
	}
	return 0;
}

/* plan create: POST /v1/plans. */
static int
ctl_cmd_plan_create(struct ctl *c)
{
	char err[256];
	json_t *r;
	int rc;

	if (ctl_create_check(c, err, sizeof(err)) == -1)
		return ctl_usage_error(c->cmd, err);
	rc = ctl_call_json(c, "POST", "/v1/plans", c->raw ? c->raw : c->body,
	    &r);
	if (rc != CTL_OK)
		return rc;
	if (!c->json) {
		printf("plan %s created\n", ctl_str(r, "plan_id"));
		ctl_print_plan(r);
	}
	json_decref(r);
	return CTL_OK;
}

/* plan list: GET /v1/plans. */
static int
ctl_cmd_plan_list(struct ctl *c)
{
	static const char *const head[] = { "ID", "NAME", "SHOP", "KIND",
	    "STATUS", "RANGE", "PRODUCTS", "START", "END" };
	struct ctl_table t;
	json_t *r, *p;
	size_t i;
	int rc;

	if ((rc = ctl_call_json(c, "GET", "/v1/plans", NULL, &r)) != CTL_OK)
		return rc;
	if (!c->json) {
		ctl_table_init(&t, 9, "llllllrll");
		ctl_table_add(&t, head);
		json_array_foreach(J(r, "plans"), i, p)
			ctl_plan_row(&t, p);
		ctl_table_print(&t);
		ctl_table_release(&t);
	}
	json_decref(r);
	return CTL_OK;
}

/* The path /v1/plans/ID[suffix] for the command's plan id. */
static void
ctl_plan_path(const struct ctl *c, const char *suffix, char *out,
    size_t outlen)
{
	char id[256];

	ctl_path_escape(c->pos[0], id, sizeof(id));
	snprintf(out, outlen, "/v1/plans/%s%s", id, suffix);
}

/* plan show ID: GET /v1/plans/ID. */
static int
ctl_cmd_plan_show(struct ctl *c)
{
	char path[512];
	json_t *r;
	int rc;

	ctl_plan_path(c, "", path, sizeof(path));
	if ((rc = ctl_call_json(c, "GET", path, NULL, &r)) != CTL_OK)
		return rc;
	if (!c->json)
		ctl_print_plan(r);
	json_decref(r);
	return CTL_OK;
}

/* plan end ID: POST /v1/plans/ID/end. */
static int
ctl_cmd_plan_end(struct ctl *c)
{
	char path[512];
	json_t *r;
	int rc;

	ctl_plan_path(c, "/end", path, sizeof(path));
	if ((rc = ctl_call_json(c, "POST", path, NULL, &r)) != CTL_OK)
		return rc;
	if (!c->json) {
		printf("plan %s ended\n", ctl_str(r, "plan_id"));
		ctl_print_plan(r);
	}
	json_decref(r);
	return CTL_OK;
}

/* The "/metrics?from=...&to=..." tail of a plan metrics path. */
static void
ctl_metrics_query(const struct ctl *c, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "/metrics");

	if (c->from != NULL)
		n += snprintf(out + n, outlen - (size_t)n, "?from=%s", c->from);
	if (c->to != NULL)
		snprintf(out + n, outlen - (size_t)n, "%cto=%s",
		    c->from != NULL ? '&' : '?', c->to);
}

/* plan metrics ID: GET /v1/plans/ID/metrics?from=&to=. */
static int
ctl_cmd_plan_metrics(struct ctl *c)
{
	static const char *const head[] = { "DATE", "VIEWS", "OFFERS",
	    "ORDERS", "GMV", "COST", "ROI", "CUSTOMERS", "CTRL VIEWS",
	    "CTRL ORDERS", "CTRL GMV" };
	char query[64], path[512];
	struct ctl_table t;
	json_t *r, *d;
	size_t i;
	int rc;

	ctl_metrics_query(c, query, sizeof(query));
	ctl_plan_path(c, query, path, sizeof(path));
	if ((rc = ctl_call_json(c, "GET", path, NULL, &r)) != CTL_OK)
		return rc;
	if (!c->json) {
		ctl_table_init(&t, 11, "lrrrrrrrrrr");
		ctl_table_add(&t, head);
		json_array_foreach(J(r, "days"), i, d)
			ctl_day_row(&t, d);
		ctl_table_print(&t);
		ctl_table_release(&t);
	}
	json_decref(r);
	return CTL_OK;
}

/* ---- the command table ---- */

static const struct ctl_cmd ctl_commands[] = {
	{ NULL, "status", 0, NULL, ctl_cmd_status, "status",
	    "Show the daemon's version, uptime, Redis and Kafka state, active\n"
	    "plans and event counts (GET /v1/status).\n" },
	{ NULL, "health", 0, NULL, ctl_cmd_health, "health",
	    "Check that the daemon answers (GET /healthz).\n" },
	{ NULL, "metrics", 0, NULL, ctl_cmd_metrics, "metrics",
	    "Print the Prometheus metrics text (GET /metrics).\n" },
	{ "plan", "create", 0, ctl_create_options, ctl_cmd_plan_create,
	    "plan create --name NAME --shop SHOP (--products LIST | "
	    "--products-file FILE | --segments LIST) --min PCT --max PCT "
	    "[options]\nplan create --file BODY.json",
	    "Create a plan (POST /v1/plans).\n"
	    "  --name NAME            the plan's name\n"
	    "  --shop SHOP            the seller (shop_id)\n"
	    "  --products P1,P2,...   a custom plan of these products\n"
	    "  --products-file FILE   product ids, one a line (\"-\": stdin)\n"
	    "  --segments S1,S2,...   trending, clearance, best_selling,\n"
	    "                         non_competitive, newly_listed\n"
	    "  --exclude P1,P2,...    products never enrolled\n"
	    "  --days N               duration in days (default 14)\n"
	    "  --min PCT, --max PCT   the discount range in percent\n"
	    "  --range P=MIN:MAX      a range for one product (repeatable)\n"
	    "  --roi X                ROI target (GMV / promotion cost)\n"
	    "  --budget CENTS         promotion cost cap in minor units\n"
	    "  --start MS             start time, epoch ms (default now)\n"
	    "  --file BODY.json       post this request body as it is\n" },
	{ "plan", "list", 0, NULL, ctl_cmd_plan_list, "plan list",
	    "List the plans, newest first (GET /v1/plans).\n" },
	{ "plan", "show", 1, NULL, ctl_cmd_plan_show, "plan show ID",
	    "Show a plan with its totals (GET /v1/plans/ID).\n" },
	{ "plan", "end", 1, NULL, ctl_cmd_plan_end, "plan end ID",
	    "End a plan now (POST /v1/plans/ID/end).\n" },
	{ "plan", "metrics", 1, ctl_metrics_options, ctl_cmd_plan_metrics,
	    "plan metrics ID [--from YYYY-MM-DD] [--to YYYY-MM-DD]",
	    "Show a plan's daily T+1 figures (GET /v1/plans/ID/metrics).\n"
	    "  --from DATE, --to DATE the first and last day (default: the\n"
	    "                         plan's)\n" },
};

#define CTL_NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

/* Print the overall usage on fp. */
static void
ctl_usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: " CTL_NAME " [options] command [arguments]\n\n"
	    "options:\n"
	    "  --url URL           the daemon (SMARTPROMO_URL, default "
	    CTL_DEFAULT_URL ")\n"
	    "  --token-file FILE   bearer token file (SMARTPROMO_TOKEN_FILE)\n"
	    "  --timeout SECONDS   request timeout (default 10)\n"
	    "  --json              print the JSON response, pretty-printed\n"
	    "  -h, --help          this help; after a command, its help\n"
	    "  -V, --version       print the version\n\ncommands:\n");
	for (i = 0; i < CTL_NCOMMANDS; i++)
		ctl_print_usage_lines(fp, &ctl_commands[i], "  ", "  ");
}

/* Print one command's usage and help on stdout. */
static void
ctl_cmd_usage(const struct ctl_cmd *cmd)
{
	ctl_print_usage_lines(stdout, cmd, "usage: " CTL_NAME " ",
	    "       " CTL_NAME " ");
	printf("\n%s", cmd->help);
}

/* The command named by words argv[0..], and how many words it used. */
static const struct ctl_cmd *
ctl_cmd_find(int argc, char **argv, int *nwords, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < CTL_NCOMMANDS; i++) {
		const struct ctl_cmd *cmd = &ctl_commands[i];

		if (cmd->group == NULL && strcmp(argv[0], cmd->name) == 0) {
			*nwords = 1;
			return cmd;
		}
		if (cmd->group != NULL && strcmp(argv[0], cmd->group) == 0 &&
		    argc > 1 && strcmp(argv[1], cmd->name) == 0) {
			*nwords = 2;
			return cmd;
		}
	}
	if (strcmp(argv[0], "plan") == 0)
		snprintf(err, errlen, argc > 1 ? "unknown plan command \"%s\"" :
		    "missing plan command%s", argc > 1 ? argv[1] : "");
	else
		snprintf(err, errlen, "unknown command \"%s\"", argv[0]);
	return NULL;
}

/* ---- setup and main ---- */

/* Read the bearer token from file into c->token. */
static int
ctl_load_token(struct ctl *c, const char *file, char *err, size_t errlen)
{
	char *buf, *tok, *p;

	if (ctl_read_file(file, &buf, err, errlen) == -1)
		return -1;
	tok = ctl_trim(buf);
	for (p = tok; *p != '\0' && isgraph((unsigned char)*p); p++)
		;
	if (*tok == '\0' || *p != '\0') {
		snprintf(err, errlen, "token file \"%s\": %s", file,
		    *tok == '\0' ? "empty" : "not one printable word");
		free(buf);
		return -1;
	}
	c->token = ctl_xstrdup(tok);
	free(buf);
	return 0;
}

/* Fill what the options left unset from the environment and defaults. */
static int
ctl_prepare(struct ctl *c, char *err, size_t errlen)
{
	const char *env;

	if (c->url == NULL && (env = getenv("SMARTPROMO_URL")) != NULL &&
	    *env != '\0' && ctl_set_url(c, NULL, env, err, errlen) == -1)
		return -1;
	if (c->url == NULL)
		c->url = CTL_DEFAULT_URL;
	if (c->token_file == NULL &&
	    (env = getenv("SMARTPROMO_TOKEN_FILE")) != NULL && *env != '\0')
		c->token_file = env;
	if (c->token_file != NULL &&
	    ctl_load_token(c, c->token_file, err, errlen) == -1)
		return -1;
	return 0;
}

/* -V or -h: print the version, a command's help or the usage; exit 0. */
static int
ctl_print_help(const struct ctl *c)
{
	if (c->version)
		printf(CTL_NAME " " SP_VERSION "\n");
	else if (c->cmd != NULL)
		ctl_cmd_usage(c->cmd);
	else
		ctl_usage(stdout);
	return CTL_OK;
}

/* Parse the whole command line; an exit status, or -1 to go on. */
static int
ctl_setup(struct ctl *c, int argc, char **argv)
{
	char err[512];
	int i = 1, nwords;

	if (ctl_parse(c, argc, argv, &i, NULL, 1, err, sizeof(err)) == -1)
		return ctl_usage_error(NULL, err);
	if (c->version || (i == argc && c->help))
		return ctl_print_help(c);
	if (i == argc)
		return ctl_usage_error(NULL, "missing command");
	if ((c->cmd = ctl_cmd_find(argc - i, argv + i, &nwords, err,
	    sizeof(err))) == NULL)
		return ctl_usage_error(NULL, err);
	i += nwords;
	if (ctl_parse(c, argc, argv, &i, c->cmd->options, 0, err,
	    sizeof(err)) == -1)
		return ctl_usage_error(c->cmd, err);
	if (c->help || c->version)
		return ctl_print_help(c);
	if (c->npos != c->cmd->nargs)
		return ctl_usage_error(c->cmd, c->npos < c->cmd->nargs ?
		    "missing argument" : "too many arguments");
	if (ctl_prepare(c, err, sizeof(err)) == -1)
		return ctl_usage_error(NULL, err);
	return -1;
}

int
main(int argc, char **argv)
{
	struct ctl c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.timeout_ms = CTL_DEFAULT_TIMEOUT_S * 1000;
	if ((c.body = json_object()) == NULL)
		ctl_oom();
	if ((rc = ctl_setup(&c, argc, argv)) == -1)
		rc = c.cmd->run(&c);
	if (fflush(stdout) == EOF && rc == CTL_OK) {
		ctl_warnx("cannot write the output: %s", strerror(errno));
		rc = CTL_EAPI;
	}
	json_decref(c.body);
	json_decref(c.raw);
	free(c.token);
	return rc;
}
