/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smartpromoctl.c - command-line client of the smartpromod admin HTTP API
 * (docs/admin-api.md): status, health, Prometheus metrics, plans and their
 * daily figures and diagnosis, T+1 snapshots, segments, recommendations and
 * the explanation of one shopper's offer.
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
#define CTL_PATH_MAX 2048
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
	json_t *query;          /* query parameters from options (strings) */
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

/* Set obj's o->key to v, a non-empty UTF-8 string. */
static int
ctl_put_string(json_t *obj, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	json_t *s = json_string(v);

	if (s == NULL || *v == '\0') {
		json_decref(s);
		snprintf(err, errlen, "bad \"--%s\" value: empty or not UTF-8",
		    o->name);
		return -1;
	}
	json_object_set_new(obj, o->key, s);
	return 0;
}

/* A string field of the plan request. */
static int
ctl_set_string(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	return ctl_put_string(c->body, o, v, err, errlen);
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

/* --from, --to, --date: a YYYY-MM-DD day as a query parameter. */
static int
ctl_set_date(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	if (!ctl_is_date(v)) {
		snprintf(err, errlen, "bad \"--%s\" value \"%s\": expected "
		    "YYYY-MM-DD", o->name, v);
		return -1;
	}
	json_object_set_new(c->query, o->key, json_string(v));
	return 0;
}

/* --shop, --plan, --product, --customer: a query parameter. */
static int
ctl_set_query(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	return ctl_put_string(c->query, o, v, err, errlen);
}

/* --products of plan metrics: a query parameter set to 1. */
static int
ctl_set_query_flag(struct ctl *c, const struct ctl_option *o, const char *v,
    char *err, size_t errlen)
{
	(void)v, (void)err, (void)errlen;
	json_object_set_new(c->query, o->key, json_string("1"));
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
	{ "products", 0, 0, "products", ctl_set_query_flag },
	{ NULL, 0, 0, NULL, NULL }
};

static const struct ctl_option ctl_snapshot_options[] = {
	{ "date", 0, 1, "date", ctl_set_date },
	{ "plan", 0, 1, "plan", ctl_set_query },
	{ NULL, 0, 0, NULL, NULL }
};

static const struct ctl_option ctl_date_options[] = {
	{ "date", 0, 1, "date", ctl_set_date },
	{ NULL, 0, 0, NULL, NULL }
};

static const struct ctl_option ctl_shop_options[] = {
	{ "shop", 0, 1, "shop", ctl_set_query },
	{ NULL, 0, 0, NULL, NULL }
};

static const struct ctl_option ctl_apply_options[] = {
	{ "products", 0, 1, "products", ctl_set_list },
	{ "name", 0, 1, "name", ctl_set_string },
	{ "days", 0, 1, "days", ctl_set_int },
	{ "min", 0, 1, "discount_min_pct", ctl_set_number },
	{ "max", 0, 1, "discount_max_pct", ctl_set_number },
	{ "roi", 0, 1, "roi_target", ctl_set_number },
	{ "budget", 0, 1, "budget", ctl_set_int },
	{ "dry-run", 0, 0, "dry_run", ctl_set_query_flag },
	{ NULL, 0, 0, NULL, NULL }
};

static const struct ctl_option ctl_explain_options[] = {
	{ "product", 0, 1, "product", ctl_set_query },
	{ "customer", 0, 1, "customer", ctl_set_query },
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

/* Append "?k=v&..." of the query parameters (escaped) to path. */
static void
ctl_add_query(const struct ctl *c, char *path, size_t len)
{
	const char *key;
	json_t *v;
	char val[512];
	size_t n = strlen(path);
	int first = strchr(path, '?') == NULL;

	json_object_foreach(c->query, key, v) {
		if (n >= len)
			break;
		ctl_path_escape(json_string_value(v), val, sizeof(val));
		n += (size_t)snprintf(path + n, len - n, "%c%s=%s",
		    first ? '?' : '&', key, val);
		first = 0;
	}
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

/* Call the API and, without --json, print the answer with print. */
static int
ctl_call_print(struct ctl *c, const char *method, const char *path,
    const json_t *body, void (*print)(const json_t *))
{
	json_t *r;
	int rc;

	if ((rc = ctl_call_json(c, method, path, body, &r)) != CTL_OK)
		return rc;
	if (!c->json)
		print(r);
	json_decref(r);
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

/* Drop trailing zeros (and a trailing point) of a decimal number. */
static void
ctl_trim_zeros(char *buf)
{
	size_t n = strlen(buf);

	if (strchr(buf, '.') == NULL)
		return;
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

/* A number with at most dec decimals; "-" for null or absent. */
static const char *
ctl_fmt_real(const json_t *v, int dec, char *buf, size_t len)
{
	if (!json_is_number(v))
		return "-";
	snprintf(buf, len, "%.*f", dec, json_number_value(v));
	ctl_trim_zeros(buf);
	return buf;
}

/* A percentage value as "12.5%"; "-" for null or absent. */
static const char *
ctl_fmt_pctv(const json_t *v, char *buf, size_t len)
{
	char p[32];

	if (!json_is_number(v))
		return "-";
	ctl_fmt_pct(json_number_value(v), p, sizeof(p));
	snprintf(buf, len, "%s%%", p);
	return buf;
}

/* Basis points as a percentage "12.5%"; "-" for null or absent. */
static const char *
ctl_fmt_bps(const json_t *v, char *buf, size_t len)
{
	char p[32];

	if (!json_is_number(v))
		return "-";
	ctl_fmt_pct(json_number_value(v) / 100.0, p, sizeof(p));
	snprintf(buf, len, "%s%%", p);
	return buf;
}

/* A boolean as "yes" or "no"; "-" when absent. */
static const char *
ctl_fmt_bool(const json_t *v)
{
	if (!json_is_boolean(v))
		return "-";
	return json_is_true(v) ? "yes" : "no";
}

/* A money interval [lo, hi] as "[-12.00, 34.50]"; "-" when null. */
static const char *
ctl_fmt_ci(const json_t *ci, char *buf, size_t len)
{
	char lo[40], hi[40];

	if (!json_is_number(json_array_get(ci, 0)) ||
	    !json_is_number(json_array_get(ci, 1)))
		return "-";
	snprintf(buf, len, "[%s, %s]", ctl_fmt_money(json_array_get(ci, 0),
	    lo, sizeof(lo)), ctl_fmt_money(json_array_get(ci, 1), hi,
	    sizeof(hi)));
	return buf;
}

/* Nonzero if key is one of names or ends with "_" and one of them. */
static int
ctl_key_is(const char *key, const char *const *names)
{
	size_t kl = strlen(key), nl;

	for (; *names != NULL; names++) {
		nl = strlen(*names);
		if (strcmp(key, *names) == 0 || (kl > nl &&
		    key[kl - nl - 1] == '_' && strcmp(key + kl - nl,
		    *names) == 0))
			return 1;
	}
	return 0;
}

static const char *ctl_fmt_field(const char *, const json_t *, char *,
    size_t);

/* An object on one line: "key value, key value"; "-" when empty. */
static const char *
ctl_fmt_inline(const json_t *o, char *buf, size_t len)
{
	const char *key;
	json_t *v;
	char val[256];
	size_t off = 0;

	if (json_object_size(o) == 0)
		return "-";
	buf[0] = '\0';
	json_object_foreach((json_t *)o, key, v) {
		if (off >= len)
			break;
		off += (size_t)snprintf(buf + off, len - off, "%s%s %s",
		    off > 0 ? ", " : "", key, ctl_fmt_field(key, v, val,
		    sizeof(val)));
	}
	return buf;
}

/* An array of strings or scalars as "a, b, c"; "-" when empty. */
static const char *
ctl_fmt_array(const char *key, const json_t *a, char *buf, size_t len)
{
	json_t *v;
	char val[256];
	size_t i, off = 0;

	if (json_array_size(a) == 0)
		return "-";
	buf[0] = '\0';
	json_array_foreach(a, i, v) {
		if (off >= len)
			break;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i > 0 ? ", " : "", json_is_object(v) ?
		    ctl_fmt_inline(v, val, sizeof(val)) :
		    ctl_fmt_field(key, v, val, sizeof(val)));
	}
	return buf;
}

/*
 * Any JSON value as readable text, its unit guessed from its key: money
 * (gmv, cost, budget, price, spend, amount), basis points (*_bps),
 * percentages (*_pct), epoch ms times (ts, start, end, *_at).
 */
static const char *
ctl_fmt_field(const char *key, const json_t *v, char *buf, size_t len)
{
	static const char *const money[] = { "gmv", "cost", "budget",
	    "price", "spend", "amount", NULL };
	static const char *const times[] = { "ts", "at", "start", "end",
	    NULL };
	static const char *const bps[] = { "bps", NULL };
	static const char *const pct[] = { "pct", NULL };

	if (v == NULL || json_is_null(v))
		return "-";
	if (json_is_boolean(v))
		return ctl_fmt_bool(v);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_array(v))
		return ctl_fmt_array(key, v, buf, len);
	if (json_is_object(v))
		return ctl_fmt_inline(v, buf, len);
	if (json_is_integer(v) && ctl_key_is(key, money))
		return ctl_fmt_money(v, buf, len);
	if (json_is_integer(v) && ctl_key_is(key, times))
		return ctl_fmt_time(v, 0, buf, len);
	if (ctl_key_is(key, bps))
		return ctl_fmt_bps(v, buf, len);
	if (ctl_key_is(key, pct))
		return ctl_fmt_pctv(v, buf, len);
	return ctl_fmt_real(v, 4, buf, len);
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

/* How a column of day figures is shown. */
enum ctl_kind { CTL_K_INT, CTL_K_MONEY, CTL_K_RATIO, CTL_K_CI, CTL_K_BOOL };

/* The figure columns of a day object (plan metrics, snapshot). */
static const struct ctl_col {
	const char *head;
	const char *sub;        /* the member holding key ("control"), or NULL */
	const char *key;
	enum ctl_kind kind;
} ctl_day_cols[] = {
	{ "VIEWS", NULL, "page_views", CTL_K_INT },
	{ "OFFERS", NULL, "offers", CTL_K_INT },
	{ "ORDERS", NULL, "orders", CTL_K_INT },
	{ "GMV", NULL, "gmv", CTL_K_MONEY },
	{ "COST", NULL, "promotion_cost", CTL_K_MONEY },
	{ "ROI", NULL, "roi", CTL_K_RATIO },
	{ "CUSTOMERS", NULL, "customers", CTL_K_INT },
	{ "CTRL VIEWS", "control", "page_views", CTL_K_INT },
	{ "CTRL ORDERS", "control", "orders", CTL_K_INT },
	{ "CTRL GMV", "control", "gmv", CTL_K_MONEY },
	{ "INCR GMV", NULL, "incremental_gmv", CTL_K_MONEY },
	{ "95% CI", NULL, "incremental_gmv_ci", CTL_K_CI },
	{ "FINAL", NULL, "final", CTL_K_BOOL },
};
#define CTL_DAY_NCOLS (sizeof(ctl_day_cols) / sizeof(ctl_day_cols[0]))
#define CTL_DAY_CELL 64

/* One cell of a day object as its column shows it. */
static const char *
ctl_day_cell(const struct ctl_col *col, const json_t *d, char *buf,
    size_t len)
{
	const json_t *v = J(col->sub != NULL ? J(d, col->sub) : d, col->key);

	switch (col->kind) {
	case CTL_K_INT:
		return ctl_fmt_int(v, buf, len);
	case CTL_K_MONEY:
		return ctl_fmt_money(v, buf, len);
	case CTL_K_RATIO:
		return ctl_fmt_ratio(v, buf, len);
	case CTL_K_CI:
		return ctl_fmt_ci(v, buf, len);
	default:
		return ctl_fmt_bool(v);
	}
}

/* Start a table of day figures headed first (and FINAL if final). */
static void
ctl_day_table(struct ctl_table *t, const char *first, int final)
{
	static char align[CTL_DAY_NCOLS + 2];
	const char *head[CTL_DAY_NCOLS + 1];
	size_t i, n = CTL_DAY_NCOLS - (final ? 0 : 1);

	align[0] = 'l';
	head[0] = first;
	for (i = 0; i < n; i++) {
		align[i + 1] = ctl_day_cols[i].kind == CTL_K_BOOL ? 'l' : 'r';
		head[i + 1] = ctl_day_cols[i].head;
	}
	align[n + 1] = '\0';
	ctl_table_init(t, n + 1, align);
	ctl_table_add(t, head);
}

/* Add a day object as a row, its first cell first. */
static void
ctl_day_row(struct ctl_table *t, const char *first, const json_t *d)
{
	char b[CTL_DAY_NCOLS][CTL_DAY_CELL];
	const char *row[CTL_DAY_NCOLS + 1];
	size_t i;

	row[0] = first;
	for (i = 0; i + 1 < t->ncols; i++)
		row[i + 1] = ctl_day_cell(&ctl_day_cols[i], d, b[i],
		    sizeof(b[i]));
	ctl_table_add(t, row);
}

/* Print an array of day objects, one row a day. */
static void
ctl_print_days(const json_t *days, int final)
{
	struct ctl_table t;
	json_t *d;
	size_t i;

	ctl_day_table(&t, "DATE", final);
	json_array_foreach(days, i, d)
		ctl_day_row(&t, ctl_str(d, "date"), d);
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* Print a snapshot run: its date, then one row per plan. */
static void
ctl_print_snapshot(const json_t *r)
{
	struct ctl_table t;
	json_t *d;
	size_t i;

	printf("snapshot of %s: %zu plan%s\n", ctl_str(r, "date"),
	    json_array_size(J(r, "plans")),
	    json_array_size(J(r, "plans")) == 1 ? "" : "s");
	if (json_array_size(J(r, "plans")) == 0)
		return;
	ctl_day_table(&t, "PLAN", 0);
	json_array_foreach(J(r, "plans"), i, d)
		ctl_day_row(&t, ctl_str(d, "plan_id"), d);
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* Add the checks of one diagnosis result as rows, scoped by scope. */
static size_t
ctl_diagnosis_checks(struct ctl_table *t, const char *scope,
    const json_t *res)
{
	json_t *ck;
	size_t j, flagged = 0;
	char z[32];

	json_array_foreach(J(res, "checks"), j, ck) {
		const char *row[6] = { scope, ctl_str(res, "date"),
		    ctl_str(ck, "metric"), ctl_str(ck, "verdict"),
		    ctl_fmt_real(J(ck, "z"), 2, z, sizeof(z)),
		    ctl_str(ck, "reason") };

		flagged += strcmp(row[3], "strong") == 0 ||
		    strcmp(row[3], "weak") == 0;
		ctl_table_add(t, row);
	}
	return flagged;
}

/* Add diagnosis results (one object or an array of them) as rows. */
static size_t
ctl_diagnosis_rows(struct ctl_table *t, const char *scope,
    const json_t *results)
{
	json_t *res;
	size_t i, flagged = 0;

	if (json_is_object(results))
		return ctl_diagnosis_checks(t, scope, results);
	json_array_foreach(results, i, res)
		flagged += ctl_diagnosis_checks(t, scope, res);
	return flagged;
}

/* Print a plan's diagnosis: the plan's checks, then each product's. */
static void
ctl_print_diagnosis(const json_t *r)
{
	static const char *const head[] = { "SCOPE", "DATE", "METRIC",
	    "VERDICT", "Z", "REASON" };
	struct ctl_table t;
	const char *pid;
	json_t *res;
	size_t flagged;

	printf("diagnosis of plan %s, day %s\n", ctl_str(r, "plan_id"),
	    ctl_str(r, "date"));
	ctl_table_init(&t, 6, "llllrl");
	ctl_table_add(&t, head);
	flagged = ctl_diagnosis_rows(&t, "plan", J(r, "plan"));
	json_object_foreach(J(r, "products"), pid, res)
		flagged += ctl_diagnosis_rows(&t, pid, res);
	if (t.nrows > 1)
		ctl_table_print(&t);
	ctl_table_release(&t);
	printf("%zu unusual figure%s\n", flagged, flagged == 1 ? "" : "s");
}

/* The tool mix of a recommended product: "product_discount 100%". */
static const char *
ctl_fmt_tools(const json_t *tools, char *buf, size_t len)
{
	json_t *tl;
	size_t i, off = 0;

	if (json_array_size(tools) == 0)
		return "-";
	buf[0] = '\0';
	json_array_foreach(tools, i, tl)
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off,
			    "%s%s %lld%%", i > 0 ? ", " : "", ctl_str(tl,
			    "tool"), (long long)json_integer_value(J(tl,
			    "share_pct")));
	return buf;
}

/* Add a recommended product as a row. */
static void
ctl_recommend_row(struct ctl_table *t, const json_t *p)
{
	const json_t *ex = J(p, "expected");
	char b[8][128];
	const char *row[11];

	row[0] = ctl_str(p, "product_id");
	row[1] = ctl_str(p, "category");
	row[2] = ctl_fmt_money(J(p, "price"), b[0], sizeof(b[0]));
	row[3] = ctl_fmt_range(J(p, "discount_min_pct"),
	    J(p, "discount_max_pct"), b[1], sizeof(b[1]));
	row[4] = ctl_fmt_pctv(J(p, "best_pct"), b[2], sizeof(b[2]));
	row[5] = ctl_fmt_tools(J(p, "tools"), b[3], sizeof(b[3]));
	row[6] = ctl_fmt_ratio(J(ex, "extra_orders_per_1000_views"), b[4],
	    sizeof(b[4]));
	row[7] = ctl_fmt_money(J(ex, "extra_gmv_per_1000_views"), b[5],
	    sizeof(b[5]));
	row[8] = ctl_fmt_ratio(J(ex, "roi"), b[6], sizeof(b[6]));
	row[9] = ctl_fmt_ratio(J(ex, "incremental_roi"), b[7], sizeof(b[7]));
	row[10] = ctl_str(p, "lift_from");
	ctl_table_add(t, row);
}

/* Print a recommendation: its identity, products, assumptions. */
static void
ctl_print_recommendation(const json_t *r)
{
	static const char *const head[] = { "PRODUCT", "CATEGORY", "PRICE",
	    "RANGE", "BEST", "TOOLS", "+ORDERS/1K VIEWS", "+GMV/1K VIEWS",
	    "ROI", "INCR ROI", "LIFT FROM" };
	const json_t *prods = J(r, "products");
	struct ctl_table t;
	json_t *p;
	size_t i;
	char buf[64];

	ctl_table_init(&t, 2, "ll");
	ctl_table_kv(&t, "recommendation", ctl_str(r, "recommendation_id"));
	ctl_table_kv(&t, "shop", ctl_str(r, "shop_id"));
	ctl_table_kv(&t, "date", ctl_str(r, "date"));
	ctl_table_kv(&t, "roi target", ctl_fmt_ratio(J(r, "roi_target"), buf,
	    sizeof(buf)));
	ctl_table_kv(&t, "days", ctl_fmt_int(J(r, "days"), buf,
	    sizeof(buf)));
	ctl_table_print(&t);
	ctl_table_release(&t);
	if (json_array_size(prods) == 0) {
		printf("\nno product to recommend (every product is in a plan "
		    "or has no price)\n");
		return;
	}
	putchar('\n');
	ctl_table_init(&t, 11, "llrlllrrrrl");
	ctl_table_add(&t, head);
	json_array_foreach(prods, i, p)
		ctl_recommend_row(&t, p);
	ctl_table_print(&t);
	ctl_table_release(&t);
	printf("\nassumptions\n");
	json_array_foreach(prods, i, p)
		printf("  %s: %s\n", ctl_str(p, "product_id"),
		    ctl_str(p, "assumptions"));
	printf("\napply with: " CTL_NAME " recommend apply %s\n",
	    ctl_str(r, "recommendation_id"));
}

/* Print every member of o as "  key  value" lines, or "  none". */
static void
ctl_print_object(const json_t *o)
{
	struct ctl_table t;
	const char *key;
	json_t *v;
	char label[160], buf[2048];
	size_t i;

	if (!json_is_object(o)) {
		printf("  none\n");
		return;
	}
	ctl_table_init(&t, 2, "ll");
	json_object_foreach((json_t *)o, key, v) {
		snprintf(label, sizeof(label), "  %s", key);
		for (i = 0; label[i] != '\0'; i++)
			if (label[i] == '_')
				label[i] = ' ';
		ctl_table_kv(&t, label, ctl_fmt_field(key, v, buf,
		    sizeof(buf)));
	}
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* The explanation's identity: product, customer, context, plan. */
static void
ctl_explain_head(const json_t *r)
{
	const json_t *plan = J(r, "plan"), *range = J(plan, "range");
	struct ctl_table t;
	char rng[64], buf[512];

	ctl_table_init(&t, 2, "ll");
	ctl_table_kv(&t, "product", ctl_str(r, "product_id"));
	ctl_table_kv(&t, "customer", ctl_str(r, "customer_id"));
	ctl_table_kv(&t, "context", ctl_str(r, "context"));
	ctl_table_kv(&t, "holdout", ctl_fmt_bool(J(r, "holdout")));
	ctl_table_kv(&t, "list price", ctl_fmt_money(J(r, "list_price"), buf,
	    sizeof(buf)));
	if (json_is_object(plan)) {
		snprintf(buf, sizeof(buf), "%s, range %s", ctl_str(plan,
		    "plan_id"), ctl_fmt_range(json_array_get(range, 0),
		    json_array_get(range, 1), rng, sizeof(rng)));
		ctl_table_kv(&t, "plan", buf);
	} else
		ctl_table_kv(&t, "plan", "none");
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* The learner's levels for this product and context. */
static void
ctl_explain_levels(const json_t *levels)
{
	static const char *const head[] = { "LEVEL", "DISCOUNT",
	    "EXPOSURES", "CONVERSIONS", "POSTERIOR MEAN" };
	struct ctl_table t;
	json_t *l;
	size_t i;
	char b[5][48];

	printf("\nlevels\n");
	if (json_array_size(levels) == 0) {
		printf("  none\n");
		return;
	}
	ctl_table_init(&t, 5, "rrrrr");
	ctl_table_add(&t, head);
	json_array_foreach(levels, i, l) {
		const char *row[5] = {
		    ctl_fmt_int(J(l, "level"), b[0], sizeof(b[0])),
		    ctl_fmt_bps(J(l, "discount_bps"), b[1], sizeof(b[1])),
		    ctl_fmt_real(J(l, "exposures"), 2, b[2], sizeof(b[2])),
		    ctl_fmt_real(J(l, "conversions"), 2, b[3], sizeof(b[3])),
		    ctl_fmt_real(J(l, "posterior_mean"), 4, b[4],
		    sizeof(b[4])) };

		ctl_table_add(&t, row);
	}
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* The promotion tools and whether this shopper may get them. */
static void
ctl_explain_tools(const json_t *tools)
{
	static const char *const head[] = { "TOOL", "ENABLED", "ELIGIBLE",
	    "EXPOSURES", "CONVERSIONS" };
	struct ctl_table t;
	json_t *tl;
	size_t i;
	char b[2][48];

	printf("\ntools\n");
	if (json_array_size(tools) == 0) {
		printf("  none\n");
		return;
	}
	ctl_table_init(&t, 5, "lllrr");
	ctl_table_add(&t, head);
	json_array_foreach(tools, i, tl) {
		const char *row[5] = { ctl_str(tl, "tool"),
		    ctl_fmt_bool(J(tl, "enabled")),
		    ctl_fmt_bool(J(tl, "eligible")),
		    ctl_fmt_real(J(tl, "exposures"), 2, b[0], sizeof(b[0])),
		    ctl_fmt_real(J(tl, "conversions"), 2, b[1],
		    sizeof(b[1])) };

		ctl_table_add(&t, row);
	}
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* Print GET /v1/explain: why this shopper gets this offer. */
static void
ctl_print_explain(const json_t *r)
{
	ctl_explain_head(r);
	ctl_explain_levels(J(r, "levels"));
	ctl_explain_tools(J(r, "tools"));
	printf("\nconstraints\n");
	ctl_print_object(J(r, "constraints"));
	printf("\ncurrent offer\n");
	ctl_print_object(J(r, "offer"));
	printf("\nwhy: %s\n", ctl_str(r, "why"));
}

/* Print GET /v1/segments/SHOP: each segment and its products. */
static void
ctl_print_segments(const json_t *r)
{
	static const char *const head[] = { "SEGMENT", "PRODUCTS" };
	struct ctl_table t;
	const char *seg;
	json_t *ids;
	char buf[1024];

	printf("segments of shop %s\n", ctl_str(r, "shop_id"));
	ctl_table_init(&t, 2, "ll");
	ctl_table_add(&t, head);
	json_object_foreach(J(r, "segments"), seg, ids) {
		const char *row[2] = { seg, ctl_fmt_list(ids, buf,
		    sizeof(buf)) };

		ctl_table_add(&t, row);
	}
	ctl_table_print(&t);
	ctl_table_release(&t);
}

/* Add one shop's recomputation as rows, a segment each. */
static void
ctl_recompute_rows(struct ctl_table *t, const char *shop, const json_t *o)
{
	const char *seg;
	json_t *f;
	char b[5][32];

	json_object_foreach((json_t *)o, seg, f) {
		const char *row[7];

		if (!json_is_object(f))
			continue;
		row[0] = shop;
		row[1] = ctl_fmt_int(J(o, "products"), b[0], sizeof(b[0]));
		row[2] = seg;
		row[3] = ctl_fmt_int(J(f, "size"), b[1], sizeof(b[1]));
		row[4] = ctl_fmt_int(J(f, "entered"), b[2], sizeof(b[2]));
		row[5] = ctl_fmt_int(J(f, "left"), b[3], sizeof(b[3]));
		row[6] = ctl_fmt_int(J(f, "enrolled"), b[4], sizeof(b[4]));
		ctl_table_add(t, row);
	}
}

/* Print POST /v1/segments/recompute: per shop and segment. */
static void
ctl_print_recompute(const json_t *r)
{
	static const char *const head[] = { "SHOP", "PRODUCTS", "SEGMENT",
	    "SIZE", "ENTERED", "LEFT", "ENROLLED" };
	struct ctl_table t;
	const char *shop;
	json_t *o;

	if (json_object_size(J(r, "shops")) == 0) {
		printf("no shop recomputed\n");
		return;
	}
	ctl_table_init(&t, 7, "lrlrrrr");
	ctl_table_add(&t, head);
	json_object_foreach(J(r, "shops"), shop, o)
		ctl_recompute_rows(&t, shop, o);
	ctl_table_print(&t);
	ctl_table_release(&t);
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
	return ctl_call_print(c, "GET", "/v1/status", NULL, ctl_print_status);
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

/* Add a previewed product as a row. */
static void
ctl_preview_row(struct ctl_table *t, const json_t *p)
{
	const json_t *sg = J(p, "suggested"), *ex = J(p, "expected");
	const json_t *pr = J(p, "plan_range");
	char b[6][128];
	const char *row[8];

	row[0] = ctl_str(p, "product_id");
	row[1] = ctl_fmt_range(json_array_get(pr, 0), json_array_get(pr, 1),
	    b[0], sizeof(b[0]));
	if (!json_is_object(sg)) {
		row[2] = row[3] = row[4] = row[5] = row[6] = "-";
		row[7] = ctl_str(p, "why");
		ctl_table_add(t, row);
		return;
	}
	row[2] = ctl_fmt_range(J(sg, "discount_min_pct"),
	    J(sg, "discount_max_pct"), b[1], sizeof(b[1]));
	row[3] = ctl_fmt_pctv(J(sg, "best_pct"), b[2], sizeof(b[2]));
	row[4] = ctl_fmt_tools(J(sg, "tools"), b[3], sizeof(b[3]));
	row[5] = ctl_fmt_money(J(ex, "extra_gmv_per_1000_views"), b[4],
	    sizeof(b[4]));
	row[6] = ctl_fmt_int(J(p, "window_views"), b[5], sizeof(b[5]));
	row[7] = ctl_str(p, "lift_from");
	ctl_table_add(t, row);
}

/* Print a plan preview: the plan, each product, the estimate. */
static void
ctl_print_preview(const json_t *r)
{
	static const char *const head[] = { "PRODUCT", "PLAN RANGE",
	    "SUGGESTED", "BEST", "TOOLS", "+GMV/1K VIEWS", "VIEWS 30D",
	    "LIFT FROM" };
	struct ctl_table t;
	json_t *p;
	size_t i;
	char buf[64];

	printf("preview only: no plan was created\n");
	ctl_print_plan(J(r, "plan"));
	putchar('\n');
	ctl_table_init(&t, 8, "llllrrrl");
	ctl_table_add(&t, head);
	json_array_foreach(J(r, "products"), i, p)
		ctl_preview_row(&t, p);
	ctl_table_print(&t);
	ctl_table_release(&t);
	printf("\npotential GMV increase over the plan: %s\n",
	    ctl_fmt_money(J(r, "potential_gmv_increase"), buf, sizeof(buf)));
	printf("assumptions: %s\n", ctl_str(r, "assumptions"));
}

/* plan preview: POST /v1/plans?dry_run=1. */
static int
ctl_cmd_plan_preview(struct ctl *c)
{
	char err[256];

	if (ctl_create_check(c, err, sizeof(err)) == -1)
		return ctl_usage_error(c->cmd, err);
	return ctl_call_print(c, "POST", "/v1/plans?dry_run=1",
	    c->raw ? c->raw : c->body, ctl_print_preview);
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

	ctl_plan_path(c, "", path, sizeof(path));
	return ctl_call_print(c, "GET", path, NULL, ctl_print_plan);
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

/* plan metrics ID: GET /v1/plans/ID/metrics?from=&to=&products=. */
static int
ctl_cmd_plan_metrics(struct ctl *c)
{
	char path[CTL_PATH_MAX];
	const char *pid;
	json_t *r, *days;
	int rc;

	ctl_plan_path(c, "/metrics", path, sizeof(path));
	ctl_add_query(c, path, sizeof(path));
	if ((rc = ctl_call_json(c, "GET", path, NULL, &r)) != CTL_OK)
		return rc;
	if (!c->json) {
		ctl_print_days(J(r, "days"), 1);
		json_object_foreach(J(r, "products"), pid, days) {
			printf("\nproduct %s\n", pid);
			ctl_print_days(days, 0);
		}
	}
	json_decref(r);
	return CTL_OK;
}

/* plan diagnosis ID: GET /v1/plans/ID/diagnosis. */
static int
ctl_cmd_plan_diagnosis(struct ctl *c)
{
	char path[CTL_PATH_MAX];

	ctl_plan_path(c, "/diagnosis", path, sizeof(path));
	return ctl_call_print(c, "GET", path, NULL, ctl_print_diagnosis);
}

/* Fail with a usage error unless the query parameter key was given. */
static int
ctl_need(const struct ctl *c, const char *key, const char *option)
{
	char msg[128];

	if (J(c->query, key) != NULL)
		return 0;
	snprintf(msg, sizeof(msg), "missing \"%s\"", option);
	ctl_usage_error(c->cmd, msg);
	return -1;
}

/* snapshot --date D [--plan ID]: POST /v1/snapshots?date=D&plan=ID. */
static int
ctl_cmd_snapshot(struct ctl *c)
{
	char path[CTL_PATH_MAX] = "/v1/snapshots";

	if (ctl_need(c, "date", "--date") == -1)
		return CTL_EUSAGE;
	ctl_add_query(c, path, sizeof(path));
	return ctl_call_print(c, "POST", path, NULL, ctl_print_snapshot);
}

/* recommend --shop S: GET /v1/recommendations?shop=S. */
static int
ctl_cmd_recommend(struct ctl *c)
{
	char path[CTL_PATH_MAX] = "/v1/recommendations";

	if (ctl_need(c, "shop", "--shop") == -1)
		return CTL_EUSAGE;
	ctl_add_query(c, path, sizeof(path));
	return ctl_call_print(c, "GET", path, NULL, ctl_print_recommendation);
}

/* recommend apply ID [--dry-run]: POST /v1/recommendations/ID/apply with
 * overrides (a preview with --dry-run). */
static int
ctl_cmd_recommend_apply(struct ctl *c)
{
	char id[512], path[CTL_PATH_MAX];
	json_t *r;
	int rc;

	ctl_path_escape(c->pos[0], id, sizeof(id));
	snprintf(path, sizeof(path), "/v1/recommendations/%s/apply", id);
	ctl_add_query(c, path, sizeof(path));
	if (J(c->query, "dry_run") != NULL)
		return ctl_call_print(c, "POST", path, c->body,
		    ctl_print_preview);
	if ((rc = ctl_call_json(c, "POST", path, c->body, &r)) != CTL_OK)
		return rc;
	if (!c->json) {
		printf("plan %s created from recommendation %s\n",
		    ctl_str(r, "plan_id"), c->pos[0]);
		ctl_print_plan(r);
	}
	json_decref(r);
	return CTL_OK;
}

/* explain --product P --customer C: GET /v1/explain. */
static int
ctl_cmd_explain(struct ctl *c)
{
	char path[CTL_PATH_MAX] = "/v1/explain";

	if (ctl_need(c, "product", "--product") == -1 ||
	    ctl_need(c, "customer", "--customer") == -1)
		return CTL_EUSAGE;
	ctl_add_query(c, path, sizeof(path));
	return ctl_call_print(c, "GET", path, NULL, ctl_print_explain);
}

/* A JSON list of strings as "a, b" (or "-"). */
static const char *
ctl_creator_list(const json_t *a, const char *key, char *buf, size_t len)
{
	size_t n = 0, i;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(a, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) :
		    ctl_str(v, key);

		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
		    i ? ", " : "", s);
	}
	return buf[0] ? buf : "-";
}

/* Why a creator has no score: each threshold the daemon applied, unmet. */
static void
ctl_print_ineligible(const json_t *r)
{
	const json_t *t = J(r, "thresholds");

	if (!json_is_object(t)) {       /* stored by an older daemon */
		printf("  no score yet: not eligible\n");
		return;
	}
	printf("  no score yet: not eligible; in the last %lld days it has "
	    "%lld of %lld delivered orders in one category, %lld of %lld "
	    "videos and %lld of %lld livestreams (any one suffices)\n",
	    (long long)json_integer_value(J(t, "window_days")),
	    (long long)json_integer_value(J(r, "category_delivered")),
	    (long long)json_integer_value(J(t, "min_category_orders")),
	    (long long)json_integer_value(J(r, "videos")),
	    (long long)json_integer_value(J(t, "min_videos")),
	    (long long)json_integer_value(J(r, "lives")),
	    (long long)json_integer_value(J(t, "min_lives")));
}

/* What a creator sees, readable. */
static void
ctl_print_creator(const json_t *r)
{
	char b[1024];
	json_t *score = J(r, "score"), *change = J(r, "change_7d");

	printf("creator %s (scored for %s)\n", ctl_str(r, "creator_id"),
	    ctl_str(r, "date"));
	if (!json_is_true(J(r, "eligible"))) {
		ctl_print_ineligible(r);
		return;
	}
	printf("  score       %.2f of 5", json_number_value(score));
	if (json_is_number(change))
		printf("  (%+.2f over 7 days)", json_number_value(change));
	printf("\n  eligible by %s\n", ctl_str(r, "criteria"));
	printf("  category    %s, rank %lld of %lld\n", ctl_str(r, "category"),
	    (long long)json_integer_value(J(r, "rank")),
	    (long long)json_integer_value(J(r, "of")));
	printf("  parts       products %.2f, content %.2f (0..1)\n",
	    json_number_value(J(r, "product_part")),
	    json_number_value(J(r, "content_part")));
	printf("  benefits    %s\n", ctl_creator_list(J(r, "benefits"), NULL,
	    b, sizeof(b)));
	printf("  pulling down %s\n", ctl_creator_list(J(r, "drags"), "id", b,
	    sizeof(b)));
	printf("  recommended %s\n", ctl_creator_list(J(r, "recommendations"),
	    "product_id", b, sizeof(b)));
}

/* creator show ID: GET /v1/creators/ID. */
static int
ctl_cmd_creator_show(struct ctl *c)
{
	char id[512], path[CTL_PATH_MAX];

	ctl_path_escape(c->pos[0], id, sizeof(id));
	snprintf(path, sizeof(path), "/v1/creators/%s", id);
	return ctl_call_print(c, "GET", path, NULL, ctl_print_creator);
}

/* creator recompute --date D: POST /v1/creators/recompute. */
static int
ctl_cmd_creator_recompute(struct ctl *c)
{
	char path[CTL_PATH_MAX] = "/v1/creators/recompute";
	json_t *r;
	int rc;

	if (ctl_need(c, "date", "--date") == -1)
		return CTL_EUSAGE;
	ctl_add_query(c, path, sizeof(path));
	if ((rc = ctl_call_json(c, "POST", path, NULL, &r)) != CTL_OK)
		return rc;
	if (!c->json)
		printf("scored %lld creators for %s\n", (long long)
		    json_integer_value(J(r, "creators")), ctl_str(r, "date"));
	json_decref(r);
	return CTL_OK;
}

/* segments show SHOP: GET /v1/segments/SHOP. */
static int
ctl_cmd_segments_show(struct ctl *c)
{
	char shop[512], path[CTL_PATH_MAX];

	ctl_path_escape(c->pos[0], shop, sizeof(shop));
	snprintf(path, sizeof(path), "/v1/segments/%s", shop);
	return ctl_call_print(c, "GET", path, NULL, ctl_print_segments);
}

/* segments recompute [--shop S]: POST /v1/segments/recompute. */
static int
ctl_cmd_segments_recompute(struct ctl *c)
{
	char path[CTL_PATH_MAX] = "/v1/segments/recompute";

	ctl_add_query(c, path, sizeof(path));
	return ctl_call_print(c, "POST", path, NULL, ctl_print_recompute);
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
	{ "plan", "preview", 0, ctl_create_options, ctl_cmd_plan_preview,
	    "plan preview (the options of plan create)\n"
	    "plan preview --file BODY.json",
	    "Check a plan and estimate it without creating it\n"
	    "(POST /v1/plans?dry_run=1): the plan as it would be, each\n"
	    "product's range against the suggested one, and the potential GMV\n"
	    "increase over the plan's days, with its assumptions. Takes the\n"
	    "same options as plan create.\n" },
	{ "plan", "list", 0, NULL, ctl_cmd_plan_list, "plan list",
	    "List the plans, newest first (GET /v1/plans).\n" },
	{ "plan", "show", 1, NULL, ctl_cmd_plan_show, "plan show ID",
	    "Show a plan with its totals (GET /v1/plans/ID).\n" },
	{ "plan", "end", 1, NULL, ctl_cmd_plan_end, "plan end ID",
	    "End a plan now (POST /v1/plans/ID/end).\n" },
	{ "plan", "metrics", 1, ctl_metrics_options, ctl_cmd_plan_metrics,
	    "plan metrics ID [--from YYYY-MM-DD] [--to YYYY-MM-DD] "
	    "[--products]",
	    "Show a plan's daily figures with incremental GMV and its 95%\n"
	    "interval; FINAL is yes for a stored T+1 snapshot, no for a day\n"
	    "computed live (GET /v1/plans/ID/metrics).\n"
	    "  --from DATE, --to DATE the first and last day (default: the\n"
	    "                         plan's)\n"
	    "  --products             each product's days too\n" },
	{ "plan", "diagnosis", 1, NULL, ctl_cmd_plan_diagnosis,
	    "plan diagnosis ID",
	    "Show which figures of the plan's last day, and of its products',\n"
	    "are unusually strong or weak (GET /v1/plans/ID/diagnosis).\n" },
	{ NULL, "snapshot", 0, ctl_snapshot_options, ctl_cmd_snapshot,
	    "snapshot --date YYYY-MM-DD [--plan ID]",
	    "Take (or take again) the T+1 snapshot of a day and show each\n"
	    "plan's figures (POST /v1/snapshots).\n"
	    "  --date DATE            the day\n"
	    "  --plan ID              only this plan (default: every plan)\n" },
	{ "creator", "show", 1, NULL, ctl_cmd_creator_show,
	    "creator show CREATOR",
	    "Show a creator's Promotion Performance Score, its change over 7\n"
	    "days, rank in its category, benefits, what pulls it down and\n"
	    "recommended products (GET /v1/creators/CREATOR).\n" },
	{ "creator", "recompute", 0, ctl_date_options,
	    ctl_cmd_creator_recompute, "creator recompute --date YYYY-MM-DD",
	    "Score every creator for a day now (POST /v1/creators/recompute).\n"
	    "  --date DATE            the day\n" },
	{ "segments", "show", 1, NULL, ctl_cmd_segments_show,
	    "segments show SHOP",
	    "Show the products in each segment of a shop\n"
	    "(GET /v1/segments/SHOP).\n" },
	{ "segments", "recompute", 0, ctl_shop_options,
	    ctl_cmd_segments_recompute, "segments recompute [--shop SHOP]",
	    "Recompute the segments now and enroll newcomers in segment plans\n"
	    "(POST /v1/segments/recompute).\n"
	    "  --shop SHOP            only this shop (default: every shop)\n" },
	{ NULL, "recommend", 0, ctl_shop_options, ctl_cmd_recommend,
	    "recommend --shop SHOP",
	    "Recommend a discount range, tools and the expected effect for\n"
	    "the shop's products in no plan (GET /v1/recommendations).\n"
	    "  --shop SHOP            the seller\n" },
	{ "recommend", "apply", 1, ctl_apply_options, ctl_cmd_recommend_apply,
	    "recommend apply ID [--products LIST] [--name NAME] [--min PCT] "
	    "[--max PCT] [--days N] [--roi X] [--budget CENTS] [--dry-run]",
	    "Create a plan from a recommendation, with optional overrides\n"
	    "(POST /v1/recommendations/ID/apply).\n"
	    "  --products P1,P2,...   only these of the recommended products\n"
	    "  --name NAME            the plan's name\n"
	    "  --min PCT, --max PCT   the discount range in percent\n"
	    "  --days N               duration in days\n"
	    "  --roi X                ROI target (GMV / promotion cost)\n"
	    "  --budget CENTS         promotion cost cap in minor units\n"
	    "  --dry-run              preview the plan and its estimate; create\n"
	    "                         nothing (?dry_run=1)\n" },
	{ NULL, "explain", 0, ctl_explain_options, ctl_cmd_explain,
	    "explain --product PRODUCT --customer CUSTOMER",
	    "Explain the offer a shopper gets for a product: context, plan\n"
	    "range, the learner's levels, tools, the constraints that applied\n"
	    "and the current offer (GET /v1/explain).\n"
	    "  --product PRODUCT      the product\n"
	    "  --customer CUSTOMER    the shopper\n" },
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

/*
 * The command named by words argv[0..], and how many words it used: a
 * group's command ("recommend apply") before a lone word ("recommend").
 */
static const struct ctl_cmd *
ctl_cmd_find(int argc, char **argv, int *nwords, char *err, size_t errlen)
{
	const struct ctl_cmd *cmd;
	int group = 0;
	size_t i;

	for (i = 0; i < CTL_NCOMMANDS; i++) {
		cmd = &ctl_commands[i];
		if (cmd->group == NULL || strcmp(argv[0], cmd->group) != 0)
			continue;
		group = 1;
		if (argc > 1 && strcmp(argv[1], cmd->name) == 0) {
			*nwords = 2;
			return cmd;
		}
	}
	for (i = 0; i < CTL_NCOMMANDS; i++) {
		cmd = &ctl_commands[i];
		if (cmd->group == NULL && strcmp(argv[0], cmd->name) == 0) {
			*nwords = 1;
			return cmd;
		}
	}
	if (!group)
		snprintf(err, errlen, "unknown command \"%s\"", argv[0]);
	else if (argc > 1)
		snprintf(err, errlen, "unknown %s command \"%s\"", argv[0],
		    argv[1]);
	else
		snprintf(err, errlen, "missing %s command", argv[0]);
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
	if ((c.body = json_object()) == NULL ||
	    (c.query = json_object()) == NULL)
		ctl_oom();
	if ((rc = ctl_setup(&c, argc, argv)) == -1)
		rc = c.cmd->run(&c);
	if (fflush(stdout) == EOF && rc == CTL_OK) {
		ctl_warnx("cannot write the output: %s", strerror(errno));
		rc = CTL_EAPI;
	}
	json_decref(c.body);
	json_decref(c.query);
	json_decref(c.raw);
	free(c.token);
	return rc;
}
